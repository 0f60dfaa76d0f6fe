//! The results CSV read back: `report::parse_csv` gives back what
//! `report::csv` wrote (to the digits it writes), and a bad line is an
//! error that names it. `lab-report --replot` redraws the plots from it.

use allocators::raw_allocator::AllocError;
use lab::replay::{Measurement, Outcome};
use lab::report::{self, Record, Row};

fn row(trace: &str, allocator: &'static str, outcome: Outcome) -> Row {
    Row {
        trace: trace.to_string(),
        path: format!("traces/{trace}"),
        allocator,
        ops: 14_400,
        peak_live: 8000,
        outcome,
    }
}

fn measured(seconds: f64, footprint: Option<usize>) -> Outcome {
    Outcome::Measured(Measurement {
        seconds,
        samples: vec![seconds],
        footprint,
        footprint_note: None,
    })
}

/// `a` and `b` agree to within the rounding of a field written with
/// `decimals` digits after the point.
fn close(a: Option<f64>, b: Option<f64>, decimals: i32) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 0.5 * 10f64.powi(-decimals) * (1.0 + 1e-9),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn the_parser_reads_back_what_csv_writes() {
    let rows = vec![
        row(
            "gen-coalescing.rep",
            "system",
            measured(0.000_332_065, Some(9543)),
        ),
        row(
            "gen-coalescing.rep",
            "segregated",
            measured(0.000_083_446, Some(8048)),
        ),
        // Measured, but no footprint (as for mimalloc): an empty `util`.
        row(
            "gen-coalescing.rep",
            "mimalloc",
            measured(0.000_233_866, None),
        ),
        // Out of memory: empty numbers.
        row(
            "gen-coalescing.rep",
            "bump",
            Outcome::AllocFailed {
                line: 7,
                error: AllocError::OutOfMemory,
            },
        ),
        // A name that needs quoting.
        row(
            "odd, \"quoted\".rep",
            "talc",
            measured(1.5, Some(6_000_000)),
        ),
    ];
    let text = report::csv(&rows);
    let read = report::parse_csv(&text).expect("the CSV that report::csv writes parses");
    assert_eq!(read.len(), rows.len());
    for (got, row) in read.iter().zip(&rows) {
        let want = Record::of(row);
        assert_eq!(got.trace, want.trace);
        assert_eq!(got.allocator, want.allocator);
        assert_eq!(got.ops, want.ops);
        assert!(close(got.seconds, want.seconds, 9), "{got:?} vs {want:?}");
        assert!(close(got.kops, want.kops, 1), "{got:?} vs {want:?}");
        assert!(close(got.util, want.util, 4), "{got:?} vs {want:?}");
    }
    assert_eq!(read[2].util, None);
    assert_eq!(
        (read[3].seconds, read[3].kops, read[3].util),
        (None, None, None)
    );
    assert_eq!(read[4].trace, "odd, \"quoted\".rep");
    // Written again, what it read reads back the same: reading loses
    // nothing more than the first writing rounded away.
    let again: Vec<Row> = read
        .iter()
        .zip(&rows)
        .map(|(r, original)| Row {
            trace: r.trace.clone(),
            outcome: match r.seconds {
                Some(s) => measured(
                    s,
                    r.util
                        .map(|u| (original.peak_live as f64 / u).round() as usize),
                ),
                None => original.outcome.clone(),
            },
            ..original.clone()
        })
        .collect();
    assert_eq!(report::parse_csv(&report::csv(&again)).unwrap(), read);
}

#[test]
fn the_committed_results_parse() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../imgs/replay-results.csv");
    let text = std::fs::read_to_string(path).expect("imgs/replay-results.csv is there");
    let records = report::parse_csv(&text).expect("imgs/replay-results.csv parses");
    assert!(records.iter().any(|r| r.allocator == "system"));
}

/// `text`'s error names `line` and says `what`.
fn rejects(text: &str, line: usize, what: &str) {
    let error = report::parse_csv(text).expect_err(text);
    assert!(
        error.starts_with(&format!("line {line}: ")) && error.contains(what),
        "{text:?} gave {error:?}, not line {line} and {what:?}"
    );
}

#[test]
fn a_bad_line_is_an_error_that_names_it() {
    let header = "trace,allocator,ops,seconds,kops,util\n";
    let good = "t.rep,bump,1000,0.000001000,1000000.0,0.5000\n";
    rejects("", 1, "header");
    rejects("trace,allocator,ops\n", 1, "header");
    rejects(
        &format!("{header}{good}t.rep,bump,1000,0.1\n"),
        3,
        "4 fields",
    );
    rejects(
        &format!("{header}{good}{good}t.rep,bump,many,,,\n"),
        4,
        "ops `many`",
    );
    rejects(
        &format!("{header}t.rep,bump,1000,soon,,\n"),
        2,
        "seconds `soon`",
    );
    rejects(
        &format!("{header}t.rep,bump,1000,,,-0.5\n"),
        2,
        "util `-0.5`",
    );
    rejects(&format!("{header}{good}\n{good}"), 3, "1 fields");
    rejects(&format!("{header},bump,1000,,,\n"), 2, "no trace name");
    rejects(&format!("{header}\"t.rep,bump,1000,,,\n"), 2, "not closed");
    rejects(&format!("{header}t\"x.rep,bump,1000,,,\n"), 2, "quote");
    // A quoted newline counts: the record after it is on line 4.
    rejects(
        &format!("{header}\"two\nlines.rep\",bump,1000,,,\nt.rep,bump,x,,,\n"),
        4,
        "ops `x`",
    );
    // Without a final newline, and with CRLF, it still reads.
    assert_eq!(
        report::parse_csv(&format!("{header}{}", good.trim_end()))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        report::parse_csv(&format!("{header}{good}").replace('\n', "\r\n"))
            .unwrap()
            .len(),
        1
    );
}
