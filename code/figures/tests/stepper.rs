//! The heap stepper's recordings, kept current like the SVG figures.
//!
//! Each teaching trace is played against the real allocators, and the
//! recording is compared with the committed `imgs/stepper-NAME.json` (what
//! the page's stepper plays) and `imgs/stepper-NAME.svg` (what a reader
//! without JavaScript sees). Regenerate them with
//!
//! ```sh
//! UPDATE_FIGURES=1 cargo test -p figures
//! ```

use figures::stepper::{Op, teaching_traces};

mod common;
use common::check_committed;

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn stepper_recordings_are_current() {
    let traces = teaching_traces();
    assert!(traces.len() >= 4, "at least four teaching traces");
    for t in &traces {
        let rec = &t.recording;
        assert!(
            (1..=2).contains(&rec.runs.len()),
            "{}: one or two runs",
            t.file
        );
        for run in &rec.runs {
            assert_eq!(run.frames.len(), rec.ops.len() + 1, "{}", t.file);
            for f in &run.frames {
                // Segments tile the heap in address order, without overlap.
                let mut at = 0;
                for s in &f.segments {
                    assert!(s.start >= at, "{}: overlapping segments", t.file);
                    at = s.start + s.len;
                }
                assert!(at <= f.end, "{}: a segment past the end", t.file);
                assert!(f.live <= f.heap, "{}: more live bytes than heap", t.file);
            }
        }
        check_committed(&format!("{}.json", t.file), &rec.to_json());
        check_committed(&format!("{}.svg", t.file), &rec.to_svg());
    }
}

/// The traces teach what the chapters say they teach.
#[test]
fn teaching_traces_show_what_they_promise() {
    let traces = teaching_traces();
    let get = |file: &str| {
        &traces
            .iter()
            .find(|t| t.file == file)
            .expect("a teaching trace")
            .recording
    };
    let says = |file: &str, run: usize| -> Vec<String> {
        get(file).runs[run]
            .frames
            .iter()
            .map(|f| f.say.clone())
            .collect()
    };

    // The coalescing cases occur as in the implicit chapter's table (frees
    // b, c, e, d, a): 1, 3, 1, 4, 2, and the description lists them so.
    let cases: Vec<&str> = says("stepper-coalesce", 0)
        .iter()
        .filter_map(|s| {
            ["(case 1)", "(case 2)", "(case 3)", "(case 4)"]
                .into_iter()
                .find(|c| s.contains(c))
        })
        .collect();
    assert_eq!(
        cases,
        ["(case 1)", "(case 3)", "(case 1)", "(case 4)", "(case 2)"]
    );
    let about = &get("stepper-coalesce").about;
    let at = |c: &str| about.find(c).expect("the description names each case");
    assert!(at("(case 1)") < at("(case 3)") && at("(case 3)") < at("(case 4)"));
    assert!(at("(case 4)") < at("(case 2)"));

    // The stepper opens after the setup, and something worth a mark happens
    // within two steps of it; the setup stays a step back.
    for t in &traces {
        let rec = &t.recording;
        assert!(
            (1..rec.ops.len()).contains(&rec.start),
            "{}: a setup, then steps",
            t.file
        );
        let first = rec.marks().into_iter().find(|&m| m > rec.start);
        assert!(
            first.is_some_and(|m| m <= rec.start + 2),
            "{}: nothing happens soon after the start (marks {:?}, start {})",
            t.file,
            rec.marks(),
            rec.start
        );
    }

    // First fit and best fit end with different heap sizes: best fit smaller.
    let fit = get("stepper-fit");
    let last = |run: usize| fit.runs[run].frames.last().expect("frames").heap;
    assert!(last(1) < last(0), "best fit keeps the heap smaller here");

    // The explicit list grows in place once, then moves; the implicit list
    // moves both times.
    let rec = get("stepper-realloc");
    let reallocs: Vec<usize> = rec
        .ops
        .iter()
        .enumerate()
        .filter(|(_, op)| matches!(op, Op::Realloc { .. }))
        .map(|(i, _)| i + 1)
        .collect();
    let explicit = says("stepper-realloc", 0);
    let implicit = says("stepper-realloc", 1);
    assert!(explicit[reallocs[0]].contains("in place"));
    assert!(explicit[reallocs[1]].contains("moves"));
    assert!(implicit[reallocs[0]].contains("moves"));

    // The bump allocator rewinds on freeing the newest block, and only then.
    let bump = says("stepper-bump", 0).join(" ");
    assert!(bump.contains("top moves back up"));
    assert!(bump.contains("lost until a reset"));
}
