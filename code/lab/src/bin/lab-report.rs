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
//! as they are; `--replot` measures nothing and rewrites only the two plots,
//! from the `replay-results.csv` and `replay-machine.md` already in the
//! output directory (so a change to how they are drawn does not change the
//! numbers the book quotes). A full run draws them through the same code,
//! from the same values.

use allocators::bump::BumpAllocator;
use lab::machine::Machine;
use lab::plots::{BarChart, Series};
use lab::region::TraceHeap;
use lab::registry::ALLOCATORS;
use lab::replay::Options;
use lab::replay::{Job, Overhead};
use lab::report::{self, Input, Record, Row};
use lab::trace::Trace;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const COMMAND: &str = "cargo run --release -p lab --bin lab-report";

/// Traces shorter than this are smoke tests: their times are too short to
/// plot, so they appear only in the table.
const PLOT_MIN_OPS: usize = 1000;

fn main() -> ExitCode {
    lab::system_footprint::serve_child_if_asked();
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = match parse_args(&lab) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return lab::cli::usage_error("lab-report", e),
    };
    match run(&lab, args) {
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
    replot: bool,
}

const USAGE: &str = "usage: lab-report [--quick] [--reps N] [--out DIR] [--replot]
  --quick     for CI: 2 repetitions, written to target/lab-report-quick/
  --reps N    timed repetitions (default LAB_REPS, or 11)
  --out DIR   where the outputs go (default imgs/)
  --replot    measure nothing: redraw the two plots in DIR from the
              replay-results.csv and replay-machine.md already there
  -h, --help  this text
";

/// The options, or `None` after `--help`.
fn parse_args(lab: &Path) -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut reps = std::env::var("LAB_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r >= 1);
    let mut out = None;
    let mut quick = false;
    let mut replot = false;
    let mut reps_flag = false;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("quick") => quick = true,
            Long("reps") => {
                reps = Some(lab::cli::positive(&mut parser, "--reps")?);
                reps_flag = true;
            }
            Long("replot") => replot = true,
            Long("out") => out = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(None);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let out = out.unwrap_or_else(|| {
        if quick {
            lab.join("../../target/lab-report-quick")
        } else {
            lab.join("../../imgs")
        }
    });
    if replot && reps_flag {
        return Err("--replot measures nothing: it reads the repetitions from replay-machine.md, so --reps does not apply".into());
    }
    let reps = reps.unwrap_or(if quick { 2 } else { 11 });
    Ok(Some(Args {
        reps,
        out,
        quick,
        replot,
    }))
}

/// The allocators whose spread over the traces the book discusses.
const SPREAD: [&str; 4] = ["mimalloc", "talc", "segregated", "explicit"];

/// What an aggregate hides, for the allocators in [`SPREAD`]: on how many
/// traces each is faster than glibc, and its lowest rank by throughput
/// among all allocators, with the trace. Generated, so the text that cites
/// it cannot go stale.
fn spread(rows: &[Row], inputs: &[Input]) -> String {
    let mut out = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    for name in SPREAD {
        let mut faster = 0;
        let mut timed = 0;
        let mut worst: Option<(usize, usize, String)> = None;
        for input in inputs {
            let trace = input.short_name();
            let on_trace: Vec<&Row> = rows.iter().filter(|r| r.trace == trace).collect();
            let Some(mine) = on_trace.iter().find(|r| r.allocator == name) else {
                continue;
            };
            let Some(kops) = mine.kops() else { continue };
            timed += 1;
            if report::vs_system(rows, mine).is_some_and(|x| x > 1.0) {
                faster += 1;
            }
            let ranked = on_trace.iter().filter(|r| r.kops().is_some()).count();
            let rank = 1 + on_trace
                .iter()
                .filter(|r| r.kops().is_some_and(|k| k > kops))
                .count();
            if worst.as_ref().is_none_or(|(w, _, _)| rank > *w) {
                worst = Some((rank, ranked, trace.trim_end_matches(".rep").to_string()));
            }
        }
        let worst = worst.map_or_else(String::new, |(rank, of, trace)| {
            format!("; its lowest rank by throughput: {rank} of {of}, on `{trace}`")
        });
        out.push_str(&format!(
            "- `{name}`: faster than glibc on {faster} of {timed} traces{worst}.\n"
        ));
    }
    out
}

/// The allocators the per-trace plots draw: one of each design and the three
/// peers a reader is likely to choose between. Thirteen bars per trace do
/// not read at the book's width; the tables list every allocator.
const PLOTTED: [&str; 7] = [
    "bump",
    "implicit",
    "explicit",
    "segregated",
    "system",
    "mimalloc",
    "talc",
];

/// The throughput figure as a Markdown image whose alt text says what the
/// bars show: the three fastest allocators on each trace, and which are
/// more than ten times slower than glibc somewhere. Generated, so it cannot
/// go stale.
fn throughput_figure(groups: &[String], series: &[Series]) -> String {
    let mut per_trace = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let mut ranked: Vec<(&str, f64)> = series
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.values.get(g).copied().flatten()?)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<&str> = ranked.iter().take(3).map(|(name, _)| *name).collect();
        per_trace.push(format!("{group}: {}", top.join(", ")));
    }
    let slow: Vec<&str> = series
        .iter()
        .filter(|s| s.values.iter().flatten().any(|&v| v < 0.1))
        .map(|s| s.name.as_str())
        .collect();
    format!(
        "<!-- Generated by `{COMMAND}`; do not edit. -->\n\n![Throughput of six allocators on every trace of {PLOT_MIN_OPS} operations or more (one of each design in the book, mimalloc and talc), relative to glibc malloc in the same run, as grouped bars on a logarithmic axis; the per-trace table on the Measuring page has every allocator. The three fastest on each trace are, {}. More than ten times slower than glibc on at least one trace: {}.](imgs/lab-throughput.svg)\n",
        per_trace.join("; "),
        if slow.is_empty() {
            "none".to_string()
        } else {
            slow.join(", ")
        }
    )
}

/// What the measurements ran on, for the plots' footers: the machine and
/// glibc's tunables (as `replay-machine.md` lists them), and the timed
/// repetitions per measurement.
struct Conditions {
    /// [`Machine::summary`].
    machine: String,
    /// [`Machine::tunables_line`].
    tunables: String,
    /// Timed repetitions: each throughput is their median.
    reps: usize,
}

impl Conditions {
    /// The conditions a full run wrote into `replay-machine.md`: its
    /// `machine:` and `malloc:` lines, and the repetitions its `method:`
    /// line names (`median of N timed reps`).
    fn read(path: &Path) -> Result<Conditions, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let item = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix("- ")?.strip_prefix(key))
                .map(str::to_string)
                .ok_or_else(|| format!("{}: no `- {key}` line", path.display()))
        };
        let method = item("method: ")?;
        let reps = method
            .split_once("median of ")
            .and_then(|(_, rest)| rest.split_once(" timed reps"))
            .and_then(|(n, _)| n.parse().ok())
            .ok_or_else(|| {
                format!(
                    "{}: the method line names no `median of N timed reps`",
                    path.display()
                )
            })?;
        Ok(Conditions {
            machine: item("machine: ")?,
            tunables: item("malloc: ")?,
            reps,
        })
    }
}

/// Which plot a footer is for.
#[derive(Clone, Copy, PartialEq)]
enum Plot {
    /// Throughput relative to glibc, on a logarithmic axis: every value
    /// gets a bar that can be seen.
    Throughput,
    /// Utilization, on a linear axis from zero: a value under 1% is a bar
    /// too short to see.
    Utilization,
}

/// A plot's footer: the command, the machine, glibc's tunables, how a bar
/// was measured, and (if any) why a bar is missing or cannot be seen and
/// which allocators are `not_shown` at all. Every clause is there only when
/// it is true of `series`.
fn footer(
    conditions: &Conditions,
    plot: Plot,
    series: &[Series],
    not_shown: &[String],
) -> Vec<String> {
    let mut lines = vec![
        format!("made by: {COMMAND}"),
        format!("machine: {}", conditions.machine),
        format!("malloc: {}", conditions.tunables),
        match plot {
            Plot::Throughput => format!(
                "median of {} timed runs per bar; traces under {PLOT_MIN_OPS} operations are left out",
                conditions.reps
            ),
            Plot::Utilization => format!(
                "footprint read once per bar, after the warm-up pass (glibc's in a child process); traces under {PLOT_MIN_OPS} operations are left out"
            ),
        },
    ];
    let values = || series.iter().flat_map(|s| s.values.iter());
    let mut notes = Vec::new();
    if values().any(Option::is_none) {
        notes.push(
            "a missing bar: the allocator ran out of memory on that trace, or has no value there (see the table)"
                .to_string(),
        );
    }
    if plot == Plot::Utilization && values().flatten().any(|&v| v < 0.01) {
        notes.push("values under 1% are too small to see; the table has every value".to_string());
    }
    if !not_shown.is_empty() {
        notes.push(format!(
            "not measured, so not shown: {}",
            not_shown.join(", ")
        ));
    }
    if !notes.is_empty() {
        lines.push(notes.join("; "));
    }
    lines
}

/// The bars of the two plots.
struct Plots {
    /// The traces plotted (those of [`PLOT_MIN_OPS`] operations or more),
    /// without `.rep`, in the order of the records.
    groups: Vec<String>,
    /// Throughput relative to glibc, per allocator in [`PLOTTED`] but
    /// glibc itself.
    throughput: Vec<Series>,
    /// Allocators in [`PLOTTED`] with no throughput on any trace.
    not_timed: Vec<String>,
    /// Utilization, per allocator in [`PLOTTED`].
    utilization: Vec<Series>,
    /// Allocators in [`PLOTTED`] with no utilization on any trace.
    not_measured: Vec<String>,
}

impl Plots {
    /// The bars, from one record per trace and allocator: a full run's
    /// rows, or the CSV it wrote, read back. Allocators come in registry
    /// order with their registry colours. Throughput is glibc's seconds ÷
    /// the allocator's on the same trace (the same run); utilization is the
    /// record's. An allocator with no value on any trace is left out of
    /// its plot (and named in the footer), so that a missing bar is a
    /// missing value on that one trace.
    fn of(records: &[Record]) -> Plots {
        let mut traces: Vec<&str> = Vec::new();
        for r in records.iter().filter(|r| r.ops >= PLOT_MIN_OPS) {
            if !traces.contains(&r.trace.as_str()) {
                traces.push(&r.trace);
            }
        }
        let find = |trace: &str, allocator: &str| {
            records
                .iter()
                .find(|r| r.trace == trace && r.allocator == allocator)
        };
        let timed = |r: &Record| r.seconds.filter(|&s| s > 0.0);
        let series = |value: &dyn Fn(&Record) -> Option<f64>, skip_system: bool| {
            let (shown, hidden): (Vec<Series>, Vec<Series>) = ALLOCATORS
                .iter()
                .filter(|e| PLOTTED.contains(&e.name))
                .filter(|e| !(skip_system && e.name == "system"))
                .map(|e| Series {
                    name: e.name.to_string(),
                    color: e.colour,
                    values: traces
                        .iter()
                        .map(|t| find(t, e.name).and_then(value))
                        .collect(),
                })
                .partition(|s| s.values.iter().any(Option::is_some));
            (shown, hidden.into_iter().map(|s| s.name).collect())
        };
        let (throughput, not_timed) = series(
            &|r| Some(timed(find(&r.trace, "system")?)? / timed(r)?),
            true,
        );
        let (utilization, not_measured) = series(&|r| r.util, false);
        Plots {
            groups: traces
                .iter()
                .map(|t| t.trim_end_matches(".rep").to_string())
                .collect(),
            throughput,
            not_timed,
            utilization,
            not_measured,
        }
    }

    /// Draws `lab-throughput.svg` and `lab-utilization.svg` into `imgs`.
    fn draw(&self, imgs: &Path, conditions: &Conditions) -> Result<(), Box<dyn std::error::Error>> {
        BarChart {
            title: "Throughput relative to glibc malloc (same run; higher is faster; a selection)",
            y_label: "ops/s ÷ glibc's ops/s (log scale)",
            groups: &self.groups,
            series: &self.throughput,
            log: true,
            reference: Some(1.0),
            footer: &footer(
                conditions,
                Plot::Throughput,
                &self.throughput,
                &self.not_timed,
            ),
        }
        .draw(&imgs.join("lab-throughput.svg"))?;
        BarChart {
            title:
                "Utilization: peak live payload ÷ peak heap footprint (higher is better; a selection)",
            y_label: "utilization",
            groups: &self.groups,
            series: &self.utilization,
            log: false,
            reference: None,
            footer: &footer(
                conditions,
                Plot::Utilization,
                &self.utilization,
                &self.not_measured,
            ),
        }
        .draw(&imgs.join("lab-utilization.svg"))?;
        Ok(())
    }
}

/// `--replot`: redraws the two plots in `imgs` from the `replay-results.csv`
/// and `replay-machine.md` a full run wrote there, without measuring, and
/// writes nothing else. Says so if `lab-throughput.md`, the alt text, no
/// longer matches the plot.
fn replot(imgs: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let csv = imgs.join("replay-results.csv");
    let text =
        std::fs::read_to_string(&csv).map_err(|e| format!("cannot read {}: {e}", csv.display()))?;
    let records = report::parse_csv(&text).map_err(|e| format!("{}: {e}", csv.display()))?;
    let conditions = Conditions::read(&imgs.join("replay-machine.md"))?;
    let plots = Plots::of(&records);
    plots.draw(imgs, &conditions)?;
    for f in ["lab-throughput.svg", "lab-utilization.svg"] {
        println!("wrote {}", imgs.join(f).display());
    }
    let alt = imgs.join("lab-throughput.md");
    let figure = throughput_figure(&plots.groups, &plots.throughput);
    match std::fs::read_to_string(&alt) {
        Ok(text) if text == figure => {}
        Ok(_) => eprintln!(
            "lab-report: {} does not match the CSV; a full run rewrites it",
            alt.display()
        ),
        Err(e) => eprintln!("lab-report: {} not checked: {e}", alt.display()),
    }
    Ok(())
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
        let heap = TraceHeap::new(job.heap_size())?;
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

fn run(lab: &Path, args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.replot {
        return replot(&args.out);
    }
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
        "\n{made_by} Kops/s: thousands of trace operations per second (median of {reps} timed runs); vs glibc: that throughput divided by glibc malloc's on the same trace in the same run; utilization: peak live payload / peak heap footprint. The machine and the build are listed on the Measuring page.\n"
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
    // Allocators measured the same way share one line.
    let mut methods: Vec<(Vec<&str>, &str)> = Vec::new();
    for e in ALLOCATORS.iter() {
        match methods
            .iter_mut()
            .find(|(_, method)| *method == e.footprint)
        {
            Some((names, _)) => names.push(e.name),
            None => methods.push((vec![e.name], e.footprint)),
        }
    }
    for (names, method) in methods {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        note.push_str(&format!("  - {}: {method}\n", names.join(", ")));
    }
    std::fs::write(imgs.join("replay-machine.md"), note)?;

    let mut aggregate = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    aggregate.push_str(&report::aggregate_markdown(&rows));
    aggregate.push_str(&format!(
        "\nEvery allocator over all {} traces of `code/lab/traces/` together: throughput is all operations ÷ all seconds, as a ratio to glibc's and talc's in the same run, and utilization is peak live payload ÷ peak heap footprint, averaged over the traces (the lowest names its trace). Measured by `{COMMAND}` on {}.\n\n",
        inputs.len(),
        machine.summary()
    ));
    aggregate.push_str("<details><summary>How this was measured, and the full table</summary>\n\n");
    aggregate.push_str(&format!(
        "Scored as the CS:APP malloc lab scores: Kops/s (thousands of operations per second) is all operations divided by all seconds, the sum of the per-trace medians of {reps} timed runs, so long traces weigh more, and *largest share of the time* names the trace that took the most of an allocator's summed time; the ratios are left empty for an allocator that failed a trace. Mean utilization weighs every trace the same, however small. Conditions and footprint methods: see [Measuring allocators](measuring.md#footprints-are-measured-differently-and-the-table-says-how).\n\n"
    ));
    aggregate.push_str(&report::aggregate_full_markdown(&rows));
    aggregate.push_str("\n</details>\n");
    std::fs::write(imgs.join("replay-aggregate.md"), aggregate)?;
    std::fs::write(imgs.join("replay-spread.md"), spread(&rows, &inputs))?;

    let (overhead, measured) = overhead_table(&inputs, reps)?;
    let worst = measured
        .iter()
        .map(|(_, o)| o.ratio())
        .fold(f64::NAN, f64::max);
    std::fs::write(
        imgs.join("replay-overhead.md"),
        format!(
            "<!-- Generated by `{COMMAND}`; do not edit. -->\n\n{overhead}\n{made_by} The replay tool's timed loop (the trace's operations with their layout checks, block slots and error handling) against a bare loop of the same `bump` allocator calls in the same order (layouts built beforehand, blocks in a plain array), alternating, each pass with a fresh allocator, median of {} runs each. The worst ratio is {worst:.2}×: the tool's bookkeeping costs {} the bump allocator itself, the cheapest allocator there is, so for every other allocator it is a smaller share still.\n",
            reps.max(5),
            if worst <= 2.0 {
                "at most as much again as"
            } else {
                "MORE than as much again as"
            }
        ),
    )?;
    eprintln!("overhead (replay ÷ bare, bump): worst {worst:.2}x");
    if args.quick {
        eprint!("{}", report::aggregate_text(&rows));
    }
    let csv = report::csv(&rows);
    std::fs::write(imgs.join("replay-results.csv"), &csv)?;

    // The plots are drawn from the CSV, read back, as `--replot` draws
    // them: its rounding (to the nanosecond, and 0.01% of utilization)
    // cannot show in a bar, but it can move a grid line by a pixel, and the
    // two must draw the same figure.
    let plots = Plots::of(&report::parse_csv(&csv)?);
    let conditions = Conditions {
        machine: machine.summary(),
        tunables: machine.tunables_line(),
        reps,
    };
    plots.draw(&imgs, &conditions)?;
    std::fs::write(
        imgs.join("lab-throughput.md"),
        throughput_figure(&plots.groups, &plots.throughput),
    )?;
    for f in [
        "replay-table.md",
        "replay-machine.md",
        "replay-aggregate.md",
        "replay-spread.md",
        "replay-overhead.md",
        "replay-results.csv",
        "lab-throughput.svg",
        "lab-throughput.md",
        "lab-utilization.svg",
    ] {
        println!("wrote {}", imgs.join(f).display());
    }
    Ok(())
}
