//! `score`: the malloc lab's score for your allocator `Mine`
//! (`cargo score-mine`).
//!
//! It replays every trace in `code/lab/traces` (and any trace paths given)
//! against `Mine`, the book's implicit, explicit and segregated free lists,
//! talc and glibc, and scores each one as the CS:APP malloc lab does:
//!
//! - `U`: the mean utilization over the traces (peak live payload over
//!   peak heap footprint);
//! - `T`: the aggregate throughput, all operations over all seconds (the
//!   median of `--reps` timed passes per trace);
//! - the performance index `P = 100 × (w·U + (1 − w)·min(1, T / T_ref))`
//!   with `w = 0.6` and `T_ref` glibc's aggregate throughput in the same run,
//!   as CS:APP's driver takes libc's as its reference.
//!
//! `Mine` is checked first: every operation of every trace is verified (the
//! replay's `--check`). A violation prints its trace file and line, and the
//! score is refused (exit status 1).
//!
//! With `--features solutions`, `Mine` is the reference solution.
//! `--write-imgs` writes the score table to `imgs/score-starter.md` (or
//! `imgs/score-solution.md` for the reference), for the capstone chapter.

use allocators::heap::RegionBreak;
use exercises::mine::Mine;
use lab::registry::{self, Entry, Kind, Run};
use lab::replay::{Options, Outcome};
use lab::report::{self, Aggregate, Input, Row};
use lab::trace::Trace;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The weight of utilization in the performance index; throughput gets the
/// rest (the CS:APP lab's weights).
const W: f64 = 0.6;

/// The allocator the throughput is measured against.
const REFERENCE: &str = "system";

/// The allocators scored next to `Mine`, by their registry names.
const OTHERS: [&str; 5] = ["implicit", "explicit", "segregated", "talc", REFERENCE];

const USAGE: &str = "\
usage: score [OPTIONS] [TRACE...]

Scores your allocator `Mine` (code/exercises/src/mine.rs) as the CS:APP
malloc lab does: it replays every trace in code/lab/traces, and any TRACE
given, against Mine, the book's implicit, explicit and segregated free
lists, talc and glibc, and prints for each one

  U    the mean utilization over the traces (peak live payload / peak
       heap footprint)
  T    the aggregate throughput: all operations / all seconds, each trace
       timed as the median of --reps passes
  P    the performance index, 100 * (w*U + (1 - w)*min(1, T/T_ref)),
       with w = 0.6 and T_ref = glibc's aggregate throughput in the same run

Mine is checked first: every operation of every trace is verified
(alignment, overlap, payload bytes, its heap checker). A violation prints
the trace file and line, and the score is refused (exit status 1).

options:
  --reps N       timed repetitions per trace; the median is used (default 5)
  --write-imgs   also write the table to imgs/score-starter.md
                 (imgs/score-solution.md with --features solutions)
  -h, --help     this text

  cargo score-mine                                             # your Mine
  cargo run --release -p lab --features solutions --bin score  # the reference
";

/// The entry that measures `Mine`, as the registry's free lists are.
static MINE: Entry = Entry {
    name: "mine",
    kind: Kind::Book,
    about: "your allocator, exercises::mine::Mine, in a break moving through the heap",
    footprint: "its own `footprint()`",
    colour: 0x000000,
    run: Run::Peer(|job, heap| job.measure(heap, |r| Some(Mine::new(RegionBreak::new(r))))),
};

struct Args {
    reps: usize,
    write_imgs: bool,
    traces: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, lab::cli::Stop> {
    use lexopt::prelude::*;
    let mut args = Args {
        reps: 5,
        write_imgs: false,
        traces: Vec::new(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Long("reps") => args.reps = lab::cli::positive(&mut parser, "--reps")?,
            Long("write-imgs") => args.write_imgs = true,
            Value(path) => args.traces.push(path.into()),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(args)
}

/// The lab's directory, `code/lab`, wherever the command runs from.
fn lab_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's traces, sorted, then the ones given.
fn trace_paths(given: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lab_dir().join("traces"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "rep"));
    paths.sort();
    paths.extend(given.iter().cloned());
    Ok(paths)
}

/// One allocator's score.
struct Score {
    allocator: &'static str,
    util: Option<f64>,
    kops: Option<f64>,
    vs_ref: Option<f64>,
    index: Option<f64>,
}

/// The performance index for utilization `u` and throughput ratio `t`.
fn index(u: f64, t: f64) -> f64 {
    100.0 * (W * u + (1.0 - W) * t.min(1.0))
}

fn scores(rows: &[Row]) -> Vec<Score> {
    let all = report::aggregates(rows);
    all.iter()
        .map(|a: &Aggregate| {
            let vs_ref = report::aggregate_vs(&all, a, REFERENCE);
            let util = a.complete().then_some(a.mean_util).flatten();
            Score {
                allocator: a.allocator,
                util,
                kops: a.complete().then(|| a.kops()).flatten(),
                vs_ref,
                index: util.zip(vs_ref).map(|(u, t)| index(u, t)),
            }
        })
        .collect()
}

fn cell(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or_else(|| "–".to_string(), f)
}

impl Score {
    /// Its five cells: name, utilization, throughput, throughput over the
    /// reference's, and the index (`index` formats that one).
    fn cells(&self, index: fn(f64) -> String) -> [String; 5] {
        [
            self.allocator.to_string(),
            cell(self.util, report::percent),
            cell(self.kops, |k| format!("{k:.0}")),
            cell(self.vs_ref, report::ratio),
            cell(self.index, index),
        ]
    }
}

/// The score table as Markdown (five columns).
fn markdown(scores: &[Score]) -> String {
    let mut out = String::from(
        "| allocator | utilization U | Kops/s | T ÷ glibc's | index P |\n|---|---:|---:|---:|---:|\n",
    );
    for s in scores {
        out += &format!("| {} |\n", s.cells(|p| format!("**{p:.1}**")).join(" | "));
    }
    out
}

/// One line of the text table.
fn text_line(c: &[String; 5]) -> String {
    format!(
        "{:<12} {:>8} {:>10} {:>9} {:>7}\n",
        c[0], c[1], c[2], c[3], c[4]
    )
}

fn text(scores: &[Score]) -> String {
    let head = ["allocator", "U", "Kops/s", "T/T_ref", "P"].map(String::from);
    let mut out = text_line(&head);
    for s in scores {
        out += &text_line(&s.cells(|p| format!("{p:.1}")));
    }
    out
}

fn main() -> ExitCode {
    // glibc's footprint is measured in a fresh child: this program, rerun.
    lab::system_footprint::serve_child_if_asked();
    let args = match parse_args() {
        Ok(args) => args,
        Err(stop) => return lab::cli::stopped("score", stop),
    };
    let inputs = match trace_paths(&args.traces)
        .map_err(|e| e.to_string())
        .and_then(|paths| {
            paths
                .into_iter()
                .map(|path| {
                    Ok(Input {
                        trace: Trace::read(&path).map_err(|e| e.to_string())?,
                        path,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        }) {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("score: {e}");
            return ExitCode::from(2);
        }
    };

    // Mine first, checked on every trace: no score for a broken allocator.
    let checking = Options {
        reps: 1,
        check: true,
        ..Options::default()
    };
    let checked = report::run_all(&inputs, &[&MINE], &checking, |_| {});
    if let Some(bad) = checked.iter().find(|r| r.is_violation()) {
        eprintln!("score: {}", bad.note());
        eprintln!(
            "score: Mine broke a promise, so it gets no score; `cargo check-mine` finds it faster"
        );
        return ExitCode::from(1);
    }
    if let Some(row) = checked
        .iter()
        .find(|r| !matches!(r.outcome, Outcome::Measured(_)))
    {
        eprintln!("score: Mine on {}: {}", row.trace, row.note());
    }

    let options = Options {
        reps: args.reps,
        ..Options::default()
    };
    let mut entries: Vec<&Entry> = vec![&MINE];
    entries.extend(
        OTHERS
            .iter()
            .map(|n| registry::find(n).expect("a registry name")),
    );
    eprintln!(
        "score: {} traces × {} allocators, {} timed passes each",
        inputs.len(),
        entries.len(),
        args.reps
    );
    let rows = report::run_all(&inputs, &entries, &options, |_| {});
    let scores = scores(&rows);
    print!("{}", text(&scores));
    println!(
        "P = 100 × ({W}·U + {}·min(1, T/T_ref)), T_ref = glibc's aggregate throughput in this run",
        1.0 - W
    );
    if args.write_imgs {
        let name = if cfg!(feature = "solutions") {
            "score-solution.md"
        } else {
            "score-starter.md"
        };
        let path = lab_dir().join("../../imgs").join(name);
        if let Err(e) = std::fs::write(&path, markdown(&scores)) {
            eprintln!("score: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("score: wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
