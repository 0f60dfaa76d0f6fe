//! `lab-report`: measures every trace in `code/lab/traces/` with every
//! allocator and regenerates the book's measured tables and figures in
//! `imgs/`:
//!
//! - `imgs/replay-table.md`: throughput (as a ratio to glibc in the same
//!   run) and utilization, per trace and allocator, for `{{#include}}`;
//! - `imgs/replay-machine.md`: the machine, glibc, tunables, profile and the
//!   command, for the same;
//! - `imgs/replay-results.csv`: the raw numbers;
//! - `imgs/lab-throughput.svg` and `imgs/lab-utilization.svg`.
//!
//! - `imgs/replay-aggregate.md`: every allocator over all traces together,
//!   scored as the CS:APP lab scores (all operations ÷ all seconds; mean
//!   utilization), with ratios to glibc, talc and linked_list_allocator;
//! - `imgs/replay-overhead.md`: the replay loop's time against a bare loop
//!   of the same calls, with the bump allocator (what the tool itself costs).
//!
//! Everything but the measured numbers and the machine comes out the same
//! on every run: traces in file-name order, allocators in registry order.
//!
//! Options: `--reps N` (or `LAB_REPS`) sets the timed repetitions (default
//! 11); `--out DIR` writes the files to `DIR` instead of `imgs/`;
//! `--quick` is for CI: 2 repetitions, and unless `--out` says otherwise
//! the files go to `target/lab-report-quick/`, so the committed figures stay
//! as they are.

use allocators::bump::BumpAllocator;
use lab::machine::Machine;
use lab::plots::{BarChart, Series};
use lab::region::OwnedHeap;
use lab::registry::ALLOCATORS;
use lab::replay::Options;
use lab::replay::{Job, Overhead};
use lab::report::{self, Input, Row};
use lab::trace::Trace;
use std::path::PathBuf;
use std::process::ExitCode;

const COMMAND: &str = "cargo run --release -p lab --bin lab-report";

/// Traces shorter than this are smoke tests: their times are too short to
/// plot, so they appear only in the table.
const PLOT_MIN_OPS: usize = 1000;

fn main() -> ExitCode {
    lab::system_footprint::serve_child_if_asked();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab-report: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    reps: usize,
    out: PathBuf,
    quick: bool,
}

fn parse_args(lab: &std::path::Path) -> Result<Args, String> {
    let mut reps = std::env::var("LAB_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r >= 1);
    let mut out = None;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--reps" => {
                reps = Some(
                    args.next()
                        .and_then(|r| r.parse().ok())
                        .filter(|&r| r >= 1)
                        .ok_or("--reps needs a whole number of at least 1")?,
                );
            }
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a directory")?)),
            "-h" | "--help" => {
                return Err(
                    "usage: lab-report [--quick] [--reps N] [--out DIR]  (see the source's doc comment)"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    let out = out.unwrap_or_else(|| {
        if quick {
            lab.join("../../target/lab-report-quick")
        } else {
            lab.join("../../imgs")
        }
    });
    let reps = reps.unwrap_or(if quick { 2 } else { 11 });
    Ok(Args { reps, out, quick })
}

/// Per trace: its short name and what the overhead check measured.
type Measured = Vec<(String, Overhead)>;

/// The overhead check on every plotted trace: a Markdown table, and the
/// numbers.
fn overhead_table(
    inputs: &[Input],
    reps: usize,
) -> Result<(String, Measured), Box<dyn std::error::Error>> {
    let options = Options {
        reps: reps.max(5),
        ..Options::default()
    };
    let mut results = Vec::new();
    for input in inputs.iter().filter(|i| i.trace.ops.len() >= PLOT_MIN_OPS) {
        let job = Job {
            trace: &input.trace,
            options: &options,
            path: Some(&input.path),
            allocator: "bump",
        };
        let heap = OwnedHeap::new(job.heap_size())?;
        match job.overhead(&heap, |r| Some(BumpAllocator::new(r))) {
            Ok(o) => results.push((input.short_name(), o)),
            // A trace the bump allocator runs out of memory on has no
            // bare loop to compare with.
            Err(e) => eprintln!("overhead: {}: {e}", input.short_name()),
        }
    }
    let mut table = String::from(
        "| trace | replay loop, ns/op | bare loop, ns/op | replay ÷ bare |\n|---|--:|--:|--:|\n",
    );
    for (name, o) in &results {
        let ops = inputs
            .iter()
            .find(|i| &i.short_name() == name)
            .map_or(1, |i| i.trace.ops.len()) as f64;
        table.push_str(&format!(
            "| {name} | {:.2} | {:.2} | {:.2}× |\n",
            o.replay / ops * 1e9,
            o.bare / ops * 1e9,
            o.ratio()
        ));
    }
    Ok((table, results))
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = parse_args(&lab)?;
    let imgs = args.out.clone();
    std::fs::create_dir_all(&imgs)?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lab.join("traces"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rep"))
        .collect();
    paths.sort();
    let mut inputs = Vec::new();
    for path in paths {
        let trace = Trace::read(&path)?;
        inputs.push(Input { trace, path });
    }
    let reps = args.reps;
    let options = Options {
        reps,
        check: true,
        ..Options::default()
    };
    let entries: Vec<_> = ALLOCATORS.iter().collect();
    let rows = report::run_all(&inputs, &entries, &options, |row| {
        eprintln!(
            "{:<20} {:<22} {}",
            row.trace,
            row.allocator,
            row.kops()
                .map_or_else(|| row.note(), |k| format!("{k:.0} Kops/s"))
        );
    });
    if let Some(bad) = rows.iter().find(|r| r.is_violation()) {
        return Err(bad.note().into());
    }

    let machine = Machine::current();
    let header = report::header_lines(&machine, &options);
    let made_by = format!("Measured by `{COMMAND}`.");

    let mut table = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    table.push_str(&report::markdown_table(&rows));
    table.push_str(&format!(
        "\n{made_by} Kops/s: thousands of trace operations per second (median of {reps} timed runs); vs glibc: that throughput divided by glibc malloc's on the same trace in the same run; utilization: peak live payload / peak heap footprint. Conditions: see the machine note.\n"
    ));
    std::fs::write(imgs.join("replay-table.md"), table)?;

    let mut note = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    for line in &header {
        note.push_str(&format!("- {line}\n"));
    }
    note.push_str(&format!(
        "- command: `{COMMAND}` (traces: `code/lab/traces/*.rep`)\n"
    ));
    note.push_str("- footprint per allocator:\n");
    for e in ALLOCATORS {
        note.push_str(&format!("  - `{}`: {}\n", e.name, e.footprint));
    }
    std::fs::write(imgs.join("replay-machine.md"), note)?;

    let mut aggregate = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    aggregate.push_str(&report::aggregate_markdown(&rows));
    aggregate.push_str(&format!(
        "\n{made_by} Every allocator over all {} traces of `code/lab/traces/` together, scored as the CS:APP malloc lab scores: Kops/s is all operations divided by all seconds (the sum of the per-trace medians of {reps} timed runs), so long traces weigh more; the ratios divide that by the peer's on the same traces in the same run, and are left empty for an allocator that failed a trace; mean utilization is the mean over traces of peak live payload ÷ peak heap footprint, so every trace weighs the same.\n",
        inputs.len()
    ));
    std::fs::write(imgs.join("replay-aggregate.md"), aggregate)?;

    let (overhead, measured) = overhead_table(&inputs, reps)?;
    let worst = measured
        .iter()
        .map(|(_, o)| o.ratio())
        .fold(f64::NAN, f64::max);
    std::fs::write(
        imgs.join("replay-overhead.md"),
        format!(
            "<!-- Generated by `{COMMAND}`; do not edit. -->\n\n{overhead}\n{made_by} The replay tool's timed loop (`pass` in `code/lab/src/replay.rs`: trace operations, layout checks, slots, error mapping) against a bare loop of the same `bump` allocator calls in the same order (layouts built beforehand, blocks in a plain pointer array: `bare_pass`), alternating, each pass with a fresh allocator, median of {} runs each. The worst ratio is {worst:.2}×: the tool's bookkeeping costs {} the bump allocator itself, the cheapest allocator there is, so for every other allocator it is a smaller share still.\n",
            reps.max(5),
            if worst <= 2.0 { "at most as much again as" } else { "MORE than as much again as" }
        ),
    )?;
    eprintln!("overhead (replay ÷ bare, bump): worst {worst:.2}x");
    if args.quick {
        eprint!("{}", report::aggregate_text(&rows));
    }
    std::fs::write(imgs.join("replay-results.csv"), report::csv(&rows))?;

    let footer = vec![
        format!("made by: {COMMAND}"),
        format!("machine: {}", machine.summary()),
        format!("malloc: {}", machine.tunables_line()),
        format!("median of {reps} timed runs per bar; traces under {PLOT_MIN_OPS} operations are left out; a missing bar: out of memory"),
    ];
    let plotted: Vec<&Input> = inputs
        .iter()
        .filter(|i| i.trace.ops.len() >= PLOT_MIN_OPS)
        .collect();
    let groups: Vec<String> = plotted
        .iter()
        .map(|i| i.short_name().trim_end_matches(".rep").to_string())
        .collect();
    let series = |value: &dyn Fn(&[Row], &Row) -> Option<f64>, skip_system: bool| -> Vec<Series> {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !(skip_system && e.name == "system"))
            .map(|(color, e)| Series {
                name: e.name.to_string(),
                color,
                values: plotted
                    .iter()
                    .map(|i| {
                        let short = i.short_name();
                        rows.iter()
                            .find(|r| r.trace == short && r.allocator == e.name)
                            .and_then(|r| value(&rows, r))
                    })
                    .collect(),
            })
            .collect()
    };
    BarChart {
        title: "Throughput relative to glibc malloc (same run; higher is faster)",
        y_label: "ops/s ÷ glibc's ops/s (log scale)",
        groups: &groups,
        series: &series(&|rows, r| report::vs_system(rows, r), true),
        log: true,
        reference: Some(1.0),
        footer: &footer,
    }
    .draw(&imgs.join("lab-throughput.svg"))?;
    BarChart {
        title: "Utilization: peak live payload ÷ peak heap footprint (higher is better)",
        y_label: "utilization",
        groups: &groups,
        series: &series(&|_, r| r.util(), false),
        log: false,
        reference: None,
        footer: &footer,
    }
    .draw(&imgs.join("lab-utilization.svg"))?;
    for f in [
        "replay-table.md",
        "replay-machine.md",
        "replay-aggregate.md",
        "replay-overhead.md",
        "replay-results.csv",
        "lab-throughput.svg",
        "lab-utilization.svg",
    ] {
        println!("wrote {}", imgs.join(f).display());
    }
    Ok(())
}
