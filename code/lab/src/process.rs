//! The `workload` binary's two modes: a **child** runs one program once on
//! the allocator `LAB_ALLOCATOR` names (the [`Dispatch`](crate::dispatch::Dispatch)
//! global allocator picked it before `main`), and the **driver** runs itself
//! as such a child for every allocator, program and thread count, checks
//! that every child printed the same digest, and hands the medians to
//! [`workload_report`] for the tables.
//!
//! The child prints a few `key: value` lines on standard output; the driver
//! reads back the two it needs (`digest:` and `processing (s):`) and the
//! book allocators' `heap:` line.

use crate::dispatch::{self, NAMES};
use crate::machine::Machine;
use crate::replay::median;
use crate::workload_report;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How the driver is run, as the generated files say.
pub const COMMAND: &str = "cargo run --release -p lab --bin workload";

/// The JSON document's size in MB unless `--size-mb` says otherwise.
pub const DEFAULT_SIZE_MB: f64 = 32.0;

/// The indexer's corpus size in MB unless `--index-mb` says otherwise.
pub const DEFAULT_INDEX_MB: f64 = 16.0;

/// The programs, by name, with what the table calls them.
pub const PROGRAMS: [(&str, &str); 2] = [("json", "JSON + Markdown"), ("index", "inverted index")];

/// The seed of both generated documents.
pub const SEED: u64 = 2024;

/// What a command line asks of either mode.
#[derive(Debug, Clone)]
pub struct Options {
    /// The program a child runs.
    pub program: String,
    /// The programs the driver runs.
    pub programs: Vec<String>,
    /// The JSON document's size, in MB.
    pub size_mb: f64,
    /// The indexer's corpus size, in MB.
    pub index_mb: f64,
    /// Runs of each allocator, program and thread count.
    pub reps: usize,
    /// The allocators the driver runs, by [`NAMES`] name.
    pub allocators: Vec<String>,
    /// Allocators run at `small_mb` instead, because they are too slow.
    pub small: Vec<String>,
    /// The input size of the slow allocators, in MB.
    pub small_mb: f64,
    /// Where the driver writes its table; `None` prints it only.
    pub out: Option<PathBuf>,
    /// Thread counts: the driver runs every one; a child runs the first.
    pub threads: Vec<usize>,
    /// Whether `--threads` was given: the driver then writes
    /// `imgs/workload-threads.md` by default.
    pub threads_given: bool,
}

impl Default for Options {
    /// Every program on every allocator, the implicit lists on small inputs.
    fn default() -> Options {
        Options {
            program: "json".into(),
            programs: PROGRAMS.iter().map(|(p, _)| p.to_string()).collect(),
            size_mb: DEFAULT_SIZE_MB,
            index_mb: DEFAULT_INDEX_MB,
            reps: 5,
            allocators: NAMES.iter().map(|n| n.to_string()).collect(),
            small: vec![
                "implicit".into(),
                "implicit-next".into(),
                "implicit-best".into(),
            ],
            small_mb: 0.25,
            out: Some(imgs("workload-table.md")),
            threads: vec![1],
            threads_given: false,
        }
    }
}

/// A file in the book's `imgs/`.
pub fn imgs(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../imgs")
        .join(file)
}

/// What the table calls a program.
pub fn program_label(program: &str) -> &'static str {
    PROGRAMS
        .iter()
        .find(|(p, _)| *p == program)
        .map_or("?", |(_, label)| label)
}

// ---------------------------------------------------------------------------
// Child mode.

/// Runs `program` once on `threads` threads, on the allocator `name` (the
/// one this process runs on), and prints what the driver reads back.
pub fn child(name: &str, program: &str, size_mb: f64, threads: usize) -> Result<(), String> {
    let start = Instant::now();
    let bytes = (size_mb * f64::from(1u32 << 20)) as usize;
    println!("allocator: {name}, {threads} thread(s)");
    let (mut phases, digest) = if program == "index" {
        let (index, shape, corpus_bytes, phases) =
            crate::workload::index_threaded(bytes, SEED, threads);
        println!(
            "index: {corpus_bytes} bytes of text, {} documents, {} terms, {} postings, {} queries, {} bytes out",
            shape.documents, shape.terms, shape.postings, shape.queries, index.bytes
        );
        (phases, format!("index {:016x}/{}", index.hash, index.bytes))
    } else {
        let (json, shape, input_bytes, mut phases) =
            crate::workload::json_threaded(bytes, SEED, threads)?;
        let (markdown, markdown_bytes, md_phases) =
            crate::workload::markdown_threaded(bytes / 4, SEED, threads);
        phases.extend(md_phases);
        println!(
            "json: {input_bytes} bytes in, {} nodes ({} objects, {} arrays, {} strings), {} bytes out",
            shape.nodes(),
            shape.objects,
            shape.arrays,
            shape.strings,
            json.bytes
        );
        println!(
            "markdown: {markdown_bytes} bytes in, {} bytes of HTML out",
            markdown.bytes
        );
        (
            phases,
            format!(
                "json {:016x}/{} markdown {:016x}/{}",
                json.hash, json.bytes, markdown.hash, markdown.bytes
            ),
        )
    };
    let total = start.elapsed();
    // The real work: everything but making the input up.
    let processing: f64 = phases
        .iter()
        .filter(|(phase, _)| !phase.ends_with("generate"))
        .map(|(_, d)| d.as_secs_f64())
        .sum();
    let lines: Vec<String> = phases
        .drain(..)
        .map(|(phase, d)| format!("{phase} {:.3}", d.as_secs_f64()))
        .collect();
    println!(
        "phases (s): {}; total {:.3}",
        lines.join(", "),
        total.as_secs_f64()
    );
    println!("processing (s): {processing:.4}");
    if let Some((stats, check)) = dispatch::heap_stats() {
        println!(
            "heap: {} allocations, {} reallocations, {} deallocations, {} failures; {} MiB requested in all; peak live {:.1} MiB; footprint {:.1} MiB; utilization {:.2}",
            stats.allocations,
            stats.reallocations,
            stats.deallocations,
            stats.failures,
            stats.bytes_allocated >> 20,
            mib(stats.peak_live_bytes as f64),
            mib(stats.footprint as f64),
            stats.utilization()
        );
        check.map_err(|e| format!("heap checker: {e}"))?;
        println!("heap check: ok");
    }
    println!("digest: {digest}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Driver mode.

/// One child run.
struct Run {
    wall: Duration,
    /// The child's own time for everything but generating the documents.
    processing: f64,
    /// `ru_maxrss`, in bytes.
    max_rss: u64,
    digest: String,
    output: String,
}

/// Why a child failed: how it ended, and everything it printed.
#[cold]
fn child_failed(name: &str, status: libc::c_int, output: &str, errors: &str) -> String {
    let how = if libc::WIFSIGNALED(status) {
        format!("was killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    };
    format!("the {name} child {how}\n--- stdout\n{output}--- stderr\n{errors}")
}

/// The value of the child's output line that starts with `prefix`, parsed;
/// `what` names it in the error.
fn field<T: std::str::FromStr>(
    output: &str,
    name: &str,
    prefix: &str,
    what: &str,
) -> Result<T, String> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the {name} child printed no {what}:\n{output}"))
}

fn run_child(name: &str, program: &str, size_mb: f64, threads: usize) -> Result<Run, String> {
    let start = Instant::now();
    // /proc/self/exe, not current_exe(): a rebuild during the run cannot take
    // the binary away from under us.
    let mut child = Command::new("/proc/self/exe")
        .env("LAB_ALLOCATOR", name)
        .args(["--program", program, "--size-mb", &size_mb.to_string()])
        .args(["--threads", &threads.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the {name} child: {e}"))?;
    let pid = child.id() as libc::pid_t;
    // Read stderr on another thread, so that neither pipe can fill up and
    // stall the child.
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut output = String::new();
    child
        .stdout
        .take()
        .ok_or("no stdout pipe")?
        .read_to_string(&mut output)
        .map_err(|e| format!("reading the {name} child's output: {e}"))?;
    let mut status = 0;
    // SAFETY: rusage is plain integers, for which all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for (the `Child` handle is
    // never waited on); `status` and `usage` are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    let errors = errors.join().unwrap_or_default();
    if waited != pid {
        return Err(format!(
            "waiting for the {name} child: {}",
            std::io::Error::last_os_error()
        ));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(child_failed(name, status, &output, &errors));
    }
    let digest = field(&output, name, "digest: ", "digest")?;
    let processing = field(&output, name, "processing (s): ", "processing time")?;
    Ok(Run {
        wall,
        processing,
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        digest,
        output,
    })
}

/// The driver's own peak RSS (`VmHWM`). A child started by `posix_spawn`
/// shares the driver's memory until it execs, and Linux carries that
/// memory's high-water mark into the child's `ru_maxrss`: a floor under
/// every child's figure. (`getrusage` would not do: the driver's own
/// `ru_maxrss` carries *its* parent's, cargo's, in the same way.)
fn own_max_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .unwrap_or(0)
        * 1024
}

/// One allocator on one program, input and thread count: every run of it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The allocator, by [`NAMES`] name.
    pub name: &'static str,
    /// What the tables call it.
    pub label: &'static str,
    /// The program, by [`PROGRAMS`] name.
    pub program: &'static str,
    /// The input size, in MB.
    pub size_mb: f64,
    /// The thread count.
    pub threads: usize,
    /// Each run's wall time, in seconds.
    pub walls: Vec<f64>,
    /// Each run's processing time, in seconds.
    pub processing: Vec<f64>,
    /// Each run's peak RSS, in bytes.
    pub rss: Vec<f64>,
    /// The digest every run printed.
    pub digest: String,
    /// The first run's `heap:` line, for the book's allocators.
    pub heap_line: Option<String>,
}

impl Row {
    /// The same program on the same input and thread count: what a ratio
    /// compares.
    pub fn same_input(&self, other: &Row) -> bool {
        self.same_output(other) && self.threads == other.threads
    }

    /// The same program on the same input, at any thread count: it must
    /// print the same output.
    pub fn same_output(&self, other: &Row) -> bool {
        self.program == other.program && self.size_mb == other.size_mb
    }

    /// Medians of the runs: wall time, processing, peak RSS.
    pub fn medians(&self) -> (f64, f64, f64) {
        (
            median(&self.walls).unwrap_or(f64::NAN),
            median(&self.processing).unwrap_or(f64::NAN),
            median(&self.rss).unwrap_or(f64::NAN),
        )
    }
}

/// Bytes in MiB.
pub fn mib(bytes: f64) -> f64 {
    bytes / f64::from(1u32 << 20)
}

/// The rows to measure, in order: per program and thread count, every
/// allocator on the full input except the slow ones, which run on a small
/// one after the system allocator (their baseline) does.
fn plan(options: &Options) -> Result<Vec<Row>, String> {
    let is_small = |name: &str| options.small.iter().any(|s| s == name);
    let small: Vec<&str> = options
        .allocators
        .iter()
        .map(String::as_str)
        .filter(|n| is_small(n))
        .collect();
    let mut jobs: Vec<(&str, &'static str, f64, usize)> = Vec::new();
    for program in &options.programs {
        let (program, _) = *PROGRAMS
            .iter()
            .find(|(p, _)| p == program)
            .ok_or_else(|| format!("no program named {program:?}"))?;
        let size = if program == "index" {
            options.index_mb
        } else {
            options.size_mb
        };
        for &threads in &options.threads {
            jobs.extend(
                options
                    .allocators
                    .iter()
                    .filter(|n| !is_small(n))
                    .map(|n| (n.as_str(), program, size, threads)),
            );
            if !small.is_empty() {
                jobs.push(("system", program, options.small_mb, threads));
                jobs.extend(
                    small
                        .iter()
                        .map(|n| (*n, program, options.small_mb, threads)),
                );
            }
        }
    }
    jobs.into_iter()
        .map(|(name, program, size_mb, threads)| {
            let (name, label) = NAMES
                .iter()
                .find(|n| **n == name)
                .and_then(|n| Some((*n, dispatch::label(n)?)))
                .ok_or_else(|| format!("no allocator named {name:?}"))?;
            Ok(Row {
                name,
                label,
                program,
                size_mb,
                threads,
                walls: Vec::new(),
                processing: Vec::new(),
                rss: Vec::new(),
                digest: String::new(),
                heap_line: None,
            })
        })
        .collect()
}

/// The rows whose output differs from the first row on the same input
/// (the system allocator's, which runs first): the same program on the
/// same input must print the same output under every allocator, at every
/// thread count.
fn mismatched(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|r| {
            rows.iter()
                .find(|first| first.same_output(r))
                .is_some_and(|first| first.digest != r.digest)
        })
        .map(|r| {
            format!(
                "{} ({} {} MB, {} threads)",
                r.name, r.program, r.size_mb, r.threads
            )
        })
        .collect()
}

/// The driver: runs every child, checks the digests, prints the report and
/// writes it to `options.out`.
pub fn driver(options: &Options) -> Result<(), String> {
    let machine = Machine::current();
    if machine.profile != "release" {
        eprintln!("note: a debug build; measure with `{COMMAND}`");
    }
    let mut rows = plan(options)?;
    // Round robin: each repetition runs every allocator once, so a burst of
    // load from elsewhere on a shared machine hits all of them alike.
    for rep in 0..options.reps {
        for row in &mut rows {
            let (name, program, size_mb, threads) =
                (row.name, row.program, row.size_mb, row.threads);
            let run = run_child(name, program, size_mb, threads)?;
            eprintln!(
                "{name:>14} {program:>5} {size_mb:>4} MB {threads} thr  run {}/{}: {:7.2} s, peak RSS {:7.1} MiB",
                rep + 1,
                options.reps,
                run.wall.as_secs_f64(),
                mib(run.max_rss as f64)
            );
            if row.digest.is_empty() {
                row.digest = run.digest.clone();
                row.heap_line = run
                    .output
                    .lines()
                    .find(|l| l.starts_with("heap: "))
                    .map(str::to_string);
                print!("{}", run.output);
            } else if row.digest != run.digest {
                return Err(format!(
                    "{name} ({program}): two runs printed different digests:\n{}\n{}",
                    row.digest, run.digest
                ));
            }
            row.walls.push(run.wall.as_secs_f64());
            row.processing.push(run.processing);
            row.rss.push(run.max_rss as f64);
        }
    }
    let mismatched = mismatched(&rows);
    if !mismatched.is_empty() {
        for row in &rows {
            eprintln!(
                "{} {} {} MB {} threads: {}",
                row.name, row.program, row.size_mb, row.threads, row.digest
            );
        }
        return Err(format!(
            "DIFFERENT OUTPUT under {}: an allocator corrupted the program's data; nothing written",
            mismatched.join(", ")
        ));
    }
    let report = workload_report::Report {
        rows: &rows,
        options,
        machine: &machine,
        driver_rss: own_max_rss(),
    };
    let text = if options.threads_given {
        report.threads()
    } else {
        report.single()
    };
    println!("\n{text}");
    if let Some(path) = &options.out {
        std::fs::write(path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
