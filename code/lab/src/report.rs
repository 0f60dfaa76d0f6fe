//! Running many traces against many allocators, and the tables that show
//! the results: a text table for people, CSV for tools, and Markdown for the
//! book.

use crate::machine::Machine;
use crate::region::TraceHeap;
use crate::registry::Entry;
use crate::replay::{Job, Options, Outcome};
use crate::trace::Trace;
use std::fmt::Write;
use std::path::PathBuf;

/// A trace to measure, and where it came from.
#[derive(Debug, Clone)]
pub struct Input {
    /// The parsed trace.
    pub trace: Trace,
    /// The file it was read from.
    pub path: PathBuf,
}

impl Input {
    /// The short name tables use: the file name.
    pub fn short_name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.trace.name.clone(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// One trace measured with one allocator.
#[derive(Debug, Clone)]
pub struct Row {
    /// The trace's short name.
    pub trace: String,
    /// The trace's path, for messages.
    pub path: String,
    /// The allocator's name.
    pub allocator: &'static str,
    /// Operations in the trace.
    pub ops: usize,
    /// Peak live payload of the trace.
    pub peak_live: usize,
    /// What happened.
    pub outcome: Outcome,
}

impl Row {
    /// Thousands of operations per second, from the median time.
    pub fn kops(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Measured(m) if m.seconds > 0.0 => Some(self.ops as f64 / m.seconds / 1000.0),
            _ => None,
        }
    }

    /// The median seconds per replay.
    pub fn seconds(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Measured(m) => Some(m.seconds),
            _ => None,
        }
    }

    /// Peak live payload over peak footprint.
    pub fn util(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Measured(m) => match m.footprint {
                Some(f) if f > 0 => Some(self.peak_live as f64 / f as f64),
                _ => None,
            },
            _ => None,
        }
    }

    /// What to say instead of (or next to) the numbers.
    pub fn note(&self) -> String {
        match &self.outcome {
            Outcome::Measured(m) => m.footprint_note.clone().unwrap_or_default(),
            Outcome::AllocFailed { line, error } => {
                if *error == allocators::raw_allocator::AllocError::OutOfMemory {
                    format!("OOM at line {line}")
                } else {
                    format!("failed at line {line}: {error}")
                }
            }
            Outcome::Violation { line, message } => {
                format!("CHECK FAILED at {}:{line}: {message}", self.path)
            }
            Outcome::Unavailable(why) => why.clone(),
        }
    }

    /// `true` if `--check` found a broken promise.
    pub fn is_violation(&self) -> bool {
        matches!(self.outcome, Outcome::Violation { .. })
    }
}

/// Measures every input with every entry, in order; `progress` hears about
/// each row as it completes.
pub fn run_all(
    inputs: &[Input],
    entries: &[&Entry],
    options: &Options,
    mut progress: impl FnMut(&Row),
) -> Vec<Row> {
    let mut rows = Vec::new();
    for input in inputs {
        for entry in entries {
            let job = Job {
                trace: &input.trace,
                options,
                path: Some(&input.path),
                allocator: entry.name,
            };
            // A fresh heap of the same size for every allocator.
            let outcome = match TraceHeap::new(job.heap_size()) {
                Ok(heap) => entry.measure(&job, &heap),
                Err(e) => {
                    Outcome::Unavailable(format!("cannot map a {} byte heap: {e}", job.heap_size()))
                }
            };
            let row = Row {
                trace: input.short_name(),
                path: input.path.display().to_string(),
                allocator: entry.name,
                ops: input.trace.ops.len(),
                peak_live: input.trace.peak_live,
                outcome,
            };
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

/// Throughput relative to `system` on the same trace in the same run.
pub fn vs_system(rows: &[Row], row: &Row) -> Option<f64> {
    let base = rows
        .iter()
        .find(|r| r.trace == row.trace && r.allocator == "system")?
        .kops()?;
    Some(row.kops()? / base)
}

/// Throughput of `row` relative to allocator `base` on the same trace in
/// the same run.
pub fn vs(rows: &[Row], row: &Row, base: &str) -> Option<f64> {
    let base = rows
        .iter()
        .find(|r| r.trace == row.trace && r.allocator == base)?
        .kops()?;
    Some(row.kops()? / base)
}

/// The peers whose ratios the tables show next to glibc's: the segregated
/// lists are measured against talc, the simpler lists against
/// linked_list_allocator.
pub const RATIO_BASES: [(&str, &str); 2] =
    [("talc", "vs talc"), ("linked_list_allocator", "vs lla")];

/// One allocator over a whole set of traces, scored as the CS:APP malloc
/// lab scores: throughput is all operations divided by all seconds (so a
/// long trace weighs more than a short one), utilization is the mean over
/// traces of each trace's utilization.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The allocator.
    pub allocator: &'static str,
    /// Traces it completed (with a time), out of `traces`.
    pub completed: usize,
    /// Traces it was given.
    pub traces: usize,
    /// Operations in the completed traces.
    pub ops: usize,
    /// Median seconds per trace, added up over the completed traces.
    pub seconds: f64,
    /// Mean utilization over the traces where it could be measured, and how
    /// many those are.
    pub mean_util: Option<f64>,
    /// How many traces the mean is over.
    pub util_traces: usize,
    /// The lowest utilization on any trace, and that trace.
    pub min_util: Option<(f64, String)>,
    /// The trace that took the largest share of the summed time, and that
    /// share (0 to 1).
    pub slowest: Option<(String, f64)>,
}

impl Aggregate {
    /// Thousands of operations per second over all completed traces.
    pub fn kops(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| self.ops as f64 / self.seconds / 1000.0)
    }

    /// `true` if it completed every trace, so that its numbers compare with
    /// another allocator's that did too.
    pub fn complete(&self) -> bool {
        self.completed == self.traces
    }
}

/// The aggregate of every allocator in `rows`, in the order they first
/// appear.
pub fn aggregates(rows: &[Row]) -> Vec<Aggregate> {
    let mut names: Vec<&'static str> = Vec::new();
    for r in rows {
        if !names.contains(&r.allocator) {
            names.push(r.allocator);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.allocator == name).collect();
            let timed: Vec<&&Row> = mine.iter().filter(|r| r.seconds().is_some()).collect();
            let utils: Vec<f64> = mine.iter().filter_map(|r| r.util()).collect();
            let seconds: f64 = timed.iter().filter_map(|r| r.seconds()).sum();
            let min_util = mine
                .iter()
                .filter_map(|r| Some((r.util()?, r.trace.clone())))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let slowest = timed
                .iter()
                .filter_map(|r| Some((r.trace.clone(), r.seconds()? / seconds)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            Aggregate {
                allocator: name,
                completed: timed.len(),
                traces: mine.len(),
                ops: timed.iter().map(|r| r.ops).sum(),
                seconds,
                mean_util: (!utils.is_empty())
                    .then(|| utils.iter().sum::<f64>() / utils.len() as f64),
                util_traces: utils.len(),
                min_util,
                slowest,
            }
        })
        .collect()
}

/// Aggregate throughput of `a` relative to allocator `base`'s, if both
/// completed every trace.
pub fn aggregate_vs(all: &[Aggregate], a: &Aggregate, base: &str) -> Option<f64> {
    let b = all.iter().find(|x| x.allocator == base)?;
    if !(a.complete() && b.complete()) {
        return None;
    }
    Some(a.kops()? / b.kops()?)
}

/// A table of the aggregates of `rows`: `head` (the heading lines), then
/// what `line` writes for each aggregate, given a way to print its
/// throughput as a ratio to another allocator's (`1.23` and `times`).
fn aggregate_table(
    rows: &[Row],
    head: &str,
    times: &str,
    line: impl Fn(&mut String, &Aggregate, &dyn Fn(&str) -> String),
) -> String {
    let all = aggregates(rows);
    let mut out = String::from(head);
    for a in &all {
        let vs = |base: &str| {
            opt(aggregate_vs(&all, a, base), |x| {
                format!("{}{times}", ratio(x))
            })
        };
        line(&mut out, a, &vs);
    }
    out
}

/// The aggregate as a text table.
pub fn aggregate_text(rows: &[Row]) -> String {
    let head = format!(
        "{:<22} {:>7} {:>10} {:>9} {:>8} {:>8} {:>8}  note\n",
        "allocator", "traces", "Kops/s", "vs system", "vs talc", "vs lla", "util"
    );
    aggregate_table(rows, &head, "x", |out, a, r| {
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>10} {:>9} {:>8} {:>8} {:>8}  {}",
            a.allocator,
            format!("{}/{}", a.completed, a.traces),
            opt(a.kops(), |k| format!("{k:.0}")),
            r("system"),
            r("talc"),
            r("linked_list_allocator"),
            opt(a.mean_util, percent),
            aggregate_note(a),
        );
    })
}

fn aggregate_note(a: &Aggregate) -> String {
    let mut note = Vec::new();
    if !a.complete() {
        note.push(format!(
            "failed {} trace(s): not comparable",
            a.traces - a.completed
        ));
    }
    if a.util_traces == 0 {
        note.push("utilization not measured (see the footprint methods)".to_string());
    } else if a.util_traces != a.traces {
        note.push(format!("utilization over {} trace(s)", a.util_traces));
    }
    note.join("; ")
}

/// The aggregate as a Markdown table for a chapter: six columns. An
/// allocator that failed a trace says so next to its name; utilization not
/// measured is a dash.
pub fn aggregate_markdown(rows: &[Row]) -> String {
    aggregate_table(
        rows,
        "| allocator | Kops/s | vs glibc | vs talc | mean utilization | lowest utilization |\n|---|--:|--:|--:|--:|--:|\n",
        "×",
        |out, a, r| {
            let name = if a.complete() {
                a.allocator.to_string()
            } else {
                format!("{} ({}/{} traces)", a.allocator, a.completed, a.traces)
            };
            let dash = |s: String| if s.is_empty() { "—".to_string() } else { s };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                name,
                opt(a.kops(), |k| format!("{k:.0}")),
                dash(r("system")),
                dash(r("talc")),
                dash(opt(a.mean_util, percent)),
                dash(
                    a.min_util
                        .as_ref()
                        .map_or_else(String::new, |(u, trace)| format!(
                            "{} ({})",
                            percent(*u),
                            trace.trim_end_matches(".rep")
                        ))
                ),
            );
        },
    )
}

/// The aggregate with every column, for a folded block: traces completed,
/// the ratio to linked_list_allocator, the trace that took the largest
/// share of the time, and the notes.
pub fn aggregate_full_markdown(rows: &[Row]) -> String {
    aggregate_table(
        rows,
        "| allocator | traces | Kops/s | vs glibc | vs talc | vs lla | mean utilization | largest share of the time | note |\n|---|--:|--:|--:|--:|--:|--:|---|---|\n",
        "×",
        |out, a, r| {
            let _ = writeln!(
                out,
                "| {} | {}/{} | {} | {} | {} | {} | {} | {} | {} |",
                a.allocator,
                a.completed,
                a.traces,
                opt(a.kops(), |k| format!("{k:.0}")),
                r("system"),
                r("talc"),
                r("linked_list_allocator"),
                opt(a.mean_util, percent),
                a.slowest
                    .as_ref()
                    .map_or_else(String::new, |(trace, share)| format!(
                        "{} ({:.0}%)",
                        trace.trim_end_matches(".rep"),
                        share * 100.0
                    )),
                aggregate_note(a),
            );
        },
    )
}

/// A utilization (0 to 1) as a percentage with enough digits that a small
/// one does not read as 0%: `84%`, `4.5%`, `0.13%`.
pub fn percent(u: f64) -> String {
    let p = u * 100.0;
    if p >= 10.0 {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else if p >= 0.01 {
        format!("{p:.2}%")
    } else if p > 0.0 {
        "<0.01%".to_string()
    } else {
        "0%".to_string()
    }
}

/// A throughput ratio with enough digits that a slow allocator does not
/// read as 0.00.
pub fn ratio(x: f64) -> String {
    if x >= 0.1 {
        format!("{x:.2}")
    } else if x >= 0.01 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(String::new, f)
}

/// The header lines every output starts with: machine, tunables, method.
pub fn header_lines(machine: &Machine, options: &Options) -> Vec<String> {
    vec![
        format!("machine: {}", machine.summary()),
        format!("malloc: {}", machine.tunables_line()),
        format!(
            "method: fresh allocator per pass over a heap of the same size for every allocator ({}); warm-up pass{}, then median of {} timed reps; blocks aligned to {}",
            options
                .heap
                .map_or("sized from the trace".to_string(), |h| format!("{h} bytes")),
            if options.check { " with --check" } else { "" },
            options.reps,
            options.align
        ),
    ]
}

/// The text table for people.
pub fn text_table(rows: &[Row]) -> String {
    let mut lines = vec![[
        "trace".to_string(),
        "allocator".into(),
        "ops".into(),
        "ms (median)".into(),
        "Kops/s".into(),
        "vs system".into(),
        RATIO_BASES[0].1.into(),
        RATIO_BASES[1].1.into(),
        "util".into(),
        "note".into(),
    ]];
    for r in rows {
        lines.push([
            r.trace.clone(),
            r.allocator.to_string(),
            r.ops.to_string(),
            opt(r.seconds(), |s| format!("{:.3}", s * 1e3)),
            opt(r.kops(), |k| format!("{k:.0}")),
            opt(vs_system(rows, r), |x| format!("{}x", ratio(x))),
            opt(vs(rows, r, RATIO_BASES[0].0), |x| format!("{}x", ratio(x))),
            opt(vs(rows, r, RATIO_BASES[1].0), |x| format!("{}x", ratio(x))),
            opt(r.util(), |u| format!("{:.1}%", u * 100.0)),
            r.note(),
        ]);
    }
    const COLUMNS: usize = 10;
    let widths: Vec<usize> = (0..COLUMNS)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let mut line = String::new();
        for c in 0..COLUMNS {
            // Names left, numbers right.
            if c < 2 || c == COLUMNS - 1 {
                let _ = write!(line, "{:<w$}  ", l[c], w = widths[c]);
            } else {
                let _ = write!(line, "{:>w$}  ", l[c], w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (COLUMNS - 1)));
            out.push('\n');
        }
    }
    out
}

/// CSV with the header `trace,allocator,ops,seconds,kops,util`. A run that
/// did not complete (out of memory, say) has empty numbers; so does `util`
/// when the footprint could not be measured.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from("trace,allocator,ops,seconds,kops,util\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            csv_field(&r.trace),
            r.allocator,
            r.ops,
            opt(r.seconds(), |s| format!("{s:.9}")),
            opt(r.kops(), |k| format!("{k:.1}")),
            opt(r.util(), |u| format!("{u:.4}")),
        );
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One line of the CSV that [`csv`] writes: one trace measured with one
/// allocator, as numbers only. Enough to redraw the plots without
/// measuring again.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The trace's short name.
    pub trace: String,
    /// The allocator's name.
    pub allocator: String,
    /// Operations in the trace.
    pub ops: usize,
    /// The median seconds per replay; `None` if the run did not complete.
    pub seconds: Option<f64>,
    /// Thousands of operations per second; `None` if the run did not
    /// complete.
    pub kops: Option<f64>,
    /// Peak live payload over peak footprint; `None` if not measured.
    pub util: Option<f64>,
}

impl Record {
    /// The record of a row, with its numbers unrounded.
    pub fn of(row: &Row) -> Record {
        Record {
            trace: row.trace.clone(),
            allocator: row.allocator.to_string(),
            ops: row.ops,
            seconds: row.seconds(),
            kops: row.kops(),
            util: row.util(),
        }
    }
}

/// The header line [`csv`] writes and [`parse_csv`] expects.
const CSV_HEADER: &str = "trace,allocator,ops,seconds,kops,util";

/// Reads back the CSV that [`csv`] writes. A bad line is an error that
/// names it (`line 7: ...`, counting the header as line 1).
pub fn parse_csv(text: &str) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut header = true;
    while chars.peek().is_some() {
        let start = line;
        let fields = csv_record(&mut chars, &mut line).map_err(|e| format!("line {start}: {e}"))?;
        if header {
            if fields.join(",") != CSV_HEADER {
                return Err(format!("line {start}: expected the header `{CSV_HEADER}`"));
            }
            header = false;
            continue;
        }
        records.push(record(&fields).map_err(|e| format!("line {start}: {e}"))?);
    }
    if header {
        return Err(format!("line 1: empty; expected the header `{CSV_HEADER}`"));
    }
    Ok(records)
}

/// The fields of the record that starts at `chars`, up to and including
/// its newline; `line` counts the newlines read, including those inside
/// quoted fields.
fn csv_record(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    line: &mut usize,
) -> Result<Vec<String>, String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("there is always a field");
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',' | '\n' | '\r')) {
                        return Err("text after a closing quote".to_string());
                    }
                }
            }
            '"' if field.is_empty() => quoted = true,
            '"' => return Err("a quote inside an unquoted field".to_string()),
            '\n' if quoted => {
                *line += 1;
                field.push('\n');
            }
            '\n' => {
                *line += 1;
                return Ok(fields);
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            ',' if !quoted => fields.push(String::new()),
            c => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_string());
    }
    Ok(fields)
}

/// A record from its six fields.
fn record(fields: &[String]) -> Result<Record, String> {
    let [trace, allocator, ops, seconds, kops, util] = fields else {
        return Err(format!(
            "{} fields, expected 6 ({CSV_HEADER})",
            fields.len()
        ));
    };
    if trace.is_empty() {
        return Err("no trace name".to_string());
    }
    if allocator.is_empty() {
        return Err("no allocator name".to_string());
    }
    let number = |name: &str, text: &str| -> Result<Option<f64>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(format!("{name} `{text}` is not a number of at least 0")),
        }
    };
    Ok(Record {
        trace: trace.clone(),
        allocator: allocator.clone(),
        ops: ops
            .parse()
            .map_err(|_| format!("ops `{ops}` is not a whole number"))?,
        seconds: number("seconds", seconds)?,
        kops: number("kops", kops)?,
        util: number("util", util)?,
    })
}

/// A Markdown table for the book: per trace and allocator, throughput as a
/// ratio to glibc measured in the same run, and utilization.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| trace | allocator | Kops/s | vs glibc | vs talc | vs lla | utilization | note |\n|---|---|--:|--:|--:|--:|--:|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.trace,
            r.allocator,
            opt(r.kops(), |k| format!("{k:.0}")),
            opt(vs_system(rows, r), |x| format!("{}×", ratio(x))),
            opt(vs(rows, r, RATIO_BASES[0].0), |x| format!("{}×", ratio(x))),
            opt(vs(rows, r, RATIO_BASES[1].0), |x| format!("{}×", ratio(x))),
            opt(r.util(), percent),
            r.note().replace('|', "\\|"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Measurement;

    fn row(allocator: &'static str, seconds: f64, footprint: Option<usize>) -> Row {
        Row {
            trace: "t.rep".into(),
            path: "dir/t.rep".into(),
            allocator,
            ops: 1000,
            peak_live: 500,
            outcome: Outcome::Measured(Measurement {
                seconds,
                samples: vec![seconds],
                footprint,
                footprint_note: None,
            }),
        }
    }

    #[test]
    fn csv_has_the_agreed_header_and_empty_numbers_for_oom() {
        let oom = Row {
            outcome: Outcome::AllocFailed {
                line: 7,
                error: allocators::raw_allocator::AllocError::OutOfMemory,
            },
            ..row("bump", 0.0, None)
        };
        let rows = vec![row("system", 0.001, None), oom];
        let text = csv(&rows);
        assert_eq!(
            text,
            "trace,allocator,ops,seconds,kops,util\nt.rep,system,1000,0.001000000,1000.0,\nt.rep,bump,1000,,,\n"
        );
        assert!(text_table(&rows).contains("OOM at line 7"));
    }

    #[test]
    fn ratios_are_against_system_in_the_same_run() {
        let rows = vec![
            row("system", 0.002, Some(1000)),
            row("talc", 0.001, Some(1000)),
        ];
        assert_eq!(vs_system(&rows, &rows[1]), Some(2.0));
        assert_eq!(rows[1].util(), Some(0.5));
        assert!(
            markdown_table(&rows).contains("| t.rep | talc | 1000 | 2.00× | 1.00× |  | 50% |  |")
        );
    }

    #[test]
    fn the_aggregate_weighs_traces_by_their_time_and_averages_utilization() {
        let mut rows = vec![
            row("talc", 0.001, Some(1000)),
            row("segregated", 0.002, Some(500)),
        ];
        let mut second = row("talc", 0.003, Some(2000));
        second.trace = "u.rep".into();
        second.ops = 3000;
        let mut third = row("segregated", 0.002, Some(1000));
        third.trace = "u.rep".into();
        third.ops = 3000;
        rows.push(second);
        rows.push(third);
        let all = aggregates(&rows);
        assert_eq!(all[0].allocator, "talc");
        // 4000 ops in 4 ms against 4000 ops in 4 ms: the same throughput.
        assert_eq!(all[0].kops(), Some(1000.0));
        assert_eq!(aggregate_vs(&all, &all[1], "talc"), Some(1.0));
        // Utilization: mean of 500/1000 and 500/2000 for talc.
        assert_eq!(all[0].mean_util, Some(0.375));
        assert_eq!(all[1].mean_util, Some(0.75));
        assert!(
            aggregate_full_markdown(&rows)
                .contains("| segregated | 2/2 | 1000 |  | 1.00× |  | 75% | u (50%) |  |")
        );
        assert!(
            aggregate_markdown(&rows).contains("| segregated | 1000 | — | 1.00× | 75% | 50% (u) |")
        );
        assert_eq!(all[0].min_util, Some((0.25, "u.rep".to_string())));
        assert_eq!(all[0].slowest, Some(("u.rep".to_string(), 0.75)));
    }

    #[test]
    fn small_utilizations_keep_their_digits() {
        assert_eq!(percent(0.8433), "84%");
        assert_eq!(percent(0.0454), "4.5%");
        assert_eq!(percent(0.0013), "0.13%");
        assert_eq!(percent(0.0), "0%");
    }
}
