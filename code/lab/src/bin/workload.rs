//! `workload`: real programs under each allocator, one process per
//! allocator and program.
//!
//! Two programs ([`lab::workload`]), with different allocation shapes:
//!
//! - `json`: generates a JSON document of tens of MB (many small strings,
//!   maps and arrays), parses it with `serde_json`, walks it, transforms it,
//!   serializes the result and parses that again; then it renders a
//!   generated Markdown document with `pulldown-cmark`. Most of what it
//!   allocates lives as long as one tree.
//! - `index`: builds an inverted index over a generated corpus and answers
//!   queries. The index (hundreds of thousands of keys and posting lists)
//!   lives for the whole run while every document churns short-lived
//!   strings, vectors and maps.
//!
//! Each prints a digest (FNV-1a hash and size) of its output, which must be
//! the same under every allocator: the driver fails if any differs.
//!
//! # Two modes, one binary
//!
//! - **Child**: with `LAB_ALLOCATOR=NAME` set, the process runs the workload
//!   once with allocator `NAME` as its global allocator, and prints its
//!   digest, phase times and (for the book's allocators) the heap's counters
//!   and the heap checker's verdict.
//! - **Driver**: without it, the process runs itself (`/proc/self/exe`) as a
//!   child for each allocator, `--reps` times, measures each child's wall time
//!   and peak resident memory (`ru_maxrss` from `wait4`), checks that every
//!   digest is the same, prints a table and writes `imgs/workload-table.md`.
//!
//! The global allocator is a dispatcher that picks its allocator on its very
//! first call, before `main`, from `LAB_ALLOCATOR` read with `libc::getenv`
//! (which does not allocate). Every block of the process then comes from the
//! one allocator: nothing needs routing back.
//!
//! ```text
//! cargo run --release -p lab --bin workload                      # the table
//! LAB_ALLOCATOR=segregated target/release/workload --program index --size-mb 16  # one run
//! ```

use lab::dispatch::{self, Dispatch, NAMES};
use lab::machine::Machine;
use lab::replay::median;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const COMMAND: &str = "cargo run --release -p lab --bin workload";

/// The JSON document's size in MB unless `--size-mb` says otherwise.
const DEFAULT_SIZE_MB: f64 = 32.0;

/// The indexer's corpus size in MB unless `--index-mb` says otherwise.
const DEFAULT_INDEX_MB: f64 = 16.0;

/// The programs, by name, with what the table calls them.
const PROGRAMS: [(&str, &str); 2] = [("json", "JSON + Markdown"), ("index", "inverted index")];

/// The seed of both generated documents.
const SEED: u64 = 2024;

#[global_allocator]
static ALLOCATOR: Dispatch = Dispatch;

// ---------------------------------------------------------------------------
// Command line.

#[derive(Debug)]
struct Options {
    /// The program a child runs.
    program: String,
    /// The programs the driver runs.
    programs: Vec<String>,
    size_mb: f64,
    index_mb: f64,
    reps: usize,
    allocators: Vec<String>,
    /// Allocators run at `small_mb` instead, because they are too slow.
    small: Vec<String>,
    small_mb: f64,
    out: Option<PathBuf>,
    /// Thread counts: the driver runs every one; a child runs the first.
    threads: Vec<usize>,
    /// Whether `--threads` was given: the driver then writes
    /// `imgs/workload-threads.md` by default.
    threads_given: bool,
}

fn usage() -> String {
    let names = NAMES;
    format!(
        "usage: workload [--programs json,index] [--size-mb N] [--index-mb N] [--reps N] [--allocators a,b,..] [--small a,b,.. --small-mb N] [--threads 1,2,4] [--out FILE | --no-write]\n\
         allocators: {}\n\
         programs: {}\n\
         child mode: LAB_ALLOCATOR=NAME workload [--program json|index] [--size-mb N] [--threads N]",
        names.join(", "),
        PROGRAMS.map(|(p, _)| p).join(", ")
    )
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
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
    };
    let mut out_given = false;
    let mut args = std::env::args().skip(1);
    let count = |flag: &str, value: Option<String>| -> Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive whole number\n{}", usage()))
    };
    let megabytes = |flag: &str, value: Option<String>| -> Result<f64, String> {
        value
            .and_then(|v| v.parse().ok())
            .filter(|&n: &f64| n > 0.0 && n < 65536.0)
            .ok_or_else(|| format!("{flag} needs a size in MB, like 32 or 0.5\n{}", usage()))
    };
    let list = |flag: &str, value: Option<String>| -> Result<Vec<String>, String> {
        let value = value.ok_or_else(|| format!("{flag} needs a list\n{}", usage()))?;
        let names: Vec<String> = value
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        match names.iter().find(|n| !NAMES.contains(&n.as_str())) {
            Some(bad) => Err(format!("{flag}: no allocator named {bad:?}\n{}", usage())),
            None => Ok(names),
        }
    };
    let program = |value: Option<String>| -> Result<String, String> {
        match value {
            Some(p) if PROGRAMS.iter().any(|(name, _)| *name == p) => Ok(p),
            other => Err(format!("no program named {other:?}\n{}", usage())),
        }
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--program" => options.program = program(args.next())?,
            "--programs" => {
                let value = args.next().unwrap_or_default();
                options.programs = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|p| program(Some(p.to_string())))
                    .collect::<Result<_, _>>()?;
            }
            "--size-mb" => options.size_mb = megabytes("--size-mb", args.next())?,
            "--index-mb" => options.index_mb = megabytes("--index-mb", args.next())?,
            "--reps" => options.reps = count("--reps", args.next())?,
            "--small-mb" => options.small_mb = megabytes("--small-mb", args.next())?,
            "--allocators" => options.allocators = list("--allocators", args.next())?,
            "--small" => options.small = list("--small", args.next())?,
            "--out" => {
                out_given = true;
                options.out = Some(
                    args.next()
                        .ok_or_else(|| format!("--out needs a file\n{}", usage()))?
                        .into(),
                )
            }
            "--no-write" => {
                options.out = None;
                out_given = true;
            }
            "--threads" => {
                let value = args.next().unwrap_or_default();
                options.threads = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|n| count("--threads", Some(n.to_string())))
                    .collect::<Result<_, _>>()?;
                if options.threads.is_empty() {
                    return Err(format!("--threads needs a list\n{}", usage()));
                }
                options.threads_given = true;
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    if options.threads_given && !out_given {
        options.out = Some(imgs("workload-threads.md"));
    }
    Ok(options)
}

/// A file in the book's `imgs/`.
fn imgs(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../imgs")
        .join(file)
}

// ---------------------------------------------------------------------------
// Child mode.

fn child(program: &str, size_mb: f64, threads: usize) -> Result<(), String> {
    let Some(name) = dispatch::chosen() else {
        return Err(format!("LAB_ALLOCATOR names no allocator\n{}", usage()));
    };
    let start = Instant::now();
    let bytes = (size_mb * f64::from(1u32 << 20)) as usize;
    println!("allocator: {name}, {threads} thread(s)");
    let (mut phases, digest) = if program == "index" {
        let (index, shape, corpus_bytes, phases) =
            lab::workload::index_threaded(bytes, SEED, threads);
        println!(
            "index: {corpus_bytes} bytes of text, {} documents, {} terms, {} postings, {} queries, {} bytes out",
            shape.documents, shape.terms, shape.postings, shape.queries, index.bytes
        );
        (phases, format!("index {:016x}/{}", index.hash, index.bytes))
    } else {
        let (json, shape, input_bytes, mut phases) =
            lab::workload::json_threaded(bytes, SEED, threads)?;
        let (markdown, markdown_bytes, md_phases) =
            lab::workload::markdown_threaded(bytes / 4, SEED, threads);
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
            stats.peak_live_bytes as f64 / (1 << 20) as f64,
            stats.footprint as f64 / (1 << 20) as f64,
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
        let how = if libc::WIFSIGNALED(status) {
            format!("was killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("exited with status {}", libc::WEXITSTATUS(status))
        };
        return Err(format!(
            "the {name} child {how}\n--- stdout\n{output}--- stderr\n{errors}"
        ));
    }
    let digest = output
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .ok_or_else(|| format!("the {name} child printed no digest:\n{output}"))?
        .to_string();
    let processing = output
        .lines()
        .find_map(|l| l.strip_prefix("processing (s): "))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the {name} child printed no processing time:\n{output}"))?;
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

struct Row {
    name: &'static str,
    label: &'static str,
    program: &'static str,
    size_mb: f64,
    threads: usize,
    walls: Vec<f64>,
    processing: Vec<f64>,
    rss: Vec<f64>,
    digest: String,
    heap_line: Option<String>,
}

impl Row {
    /// The same program on the same input and thread count: what a ratio
    /// compares.
    fn same_input(&self, other: &Row) -> bool {
        self.same_output(other) && self.threads == other.threads
    }

    /// The same program on the same input, at any thread count: it must
    /// print the same output.
    fn same_output(&self, other: &Row) -> bool {
        self.program == other.program && self.size_mb == other.size_mb
    }
}

fn mib(bytes: f64) -> f64 {
    bytes / f64::from(1u32 << 20)
}

/// What the table calls a program.
fn program_label(program: &str) -> &'static str {
    PROGRAMS
        .iter()
        .find(|(p, _)| *p == program)
        .map_or("?", |(_, label)| label)
}

/// Medians of one row: wall time, processing, peak RSS.
fn medians(row: &Row) -> (f64, f64, f64) {
    (
        median(&row.walls).unwrap_or(f64::NAN),
        median(&row.processing).unwrap_or(f64::NAN),
        median(&row.rss).unwrap_or(f64::NAN),
    )
}

fn driver(options: Options) -> Result<(), String> {
    let machine = Machine::current();
    if machine.profile != "release" {
        eprintln!("note: a debug build; measure with `{COMMAND}`");
    }
    // Per program: every allocator on the full input, except the slow ones,
    // which run on a small one after the system allocator (their baseline)
    // does.
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
    let mut rows: Vec<Row> = Vec::new();
    for (name, program, size_mb, threads) in jobs {
        let (name, label) = NAMES
            .iter()
            .find(|n| **n == name)
            .and_then(|n| Some((*n, dispatch::label(n)?)))
            .ok_or_else(|| format!("no allocator named {name:?}"))?;
        rows.push(Row {
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
        });
    }
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
    // Every row must match the first row on the same input (the system
    // allocator's, which runs first): the same program on the same input
    // must print the same output under every allocator, at every thread
    // count.
    let mismatched: Vec<String> = rows
        .iter()
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
        .collect();
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
    let baseline = |row: &Row| {
        rows.iter()
            .find(|r| r.name == "system" && r.same_input(row))
            .map(medians)
    };
    let driver_rss = own_max_rss();
    if options.threads_given {
        let text = threads_report(&rows, &options, &machine, &baseline, driver_rss);
        println!("\n{text}");
        if let Some(path) = &options.out {
            std::fs::write(path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(());
    }
    let mut text = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    for program in &options.programs {
        let program_rows: Vec<&Row> = rows.iter().filter(|r| r.program == program).collect();
        let Some(first) = program_rows.first() else {
            continue;
        };
        text.push_str(&format!(
            "**{}**, {}:\n\n{}\n{}\n",
            program_label(first.program),
            if first.program == "index" {
                "an inverted index that lives for the whole run, built while every document churns short-lived strings and maps"
            } else {
                "a JSON tree parsed, transformed and serialized with `serde_json`, then Markdown rendered with `pulldown-cmark`"
            },
            chapter_table(&program_rows, &baseline),
            summary(&program_rows, &baseline)
        ));
    }
    text.push_str(&format!(
        "Processing time and peak resident memory of each program with each allocator as its `#[global_allocator]`, as \
         ratios to glibc's on the same input (below 1: faster, or smaller); every allocator printed the same output. \
         Measured by `{COMMAND}` on {}.\n\n",
        machine.summary()
    ));
    text.push_str("<details><summary>How this was measured, and the full table</summary>\n\n");
    text.push_str(&format!(
        "Each allocator ran each program as the global allocator of its own process. *JSON + Markdown*: generate a \
         JSON document (seed {SEED}; users with names, e-mail addresses, tags, an address map, friends and events), \
         parse it with `serde_json` into a `Value` tree, walk it, transform it (active users grouped by city, sorted \
         by score, tags deduplicated, event amounts summed per kind), serialize the result (pretty) and parse that \
         back to check the round trip; then render a generated Markdown document of a quarter of the size with \
         `pulldown-cmark`. *Inverted index*: generate a corpus one document at a time (seed {SEED}; words drawn \
         with a skew from a vocabulary of 100000), lower-case every document's tokens, count them in a map of its \
         own, and append to a `BTreeMap<String, Vec<(u32, u16)>>` of posting lists that lives to the end; then \
         answer one query of two or three terms per four documents (intersect, rank, keep ten) and list the whole \
         index. *Input*: the JSON document's size, or the corpus's. *Processing*: the child's own clock around \
         everything but making the input up. *Wall time*: the whole process, from spawn to exit. Both are medians \
         of {reps} runs, one process each; each repetition runs every allocator once, round robin. *Peak RSS*: the \
         child's `ru_maxrss` from `wait4` (median), which includes a floor of the driver's own {floor:.1} MiB that a \
         `posix_spawn`ed child inherits. *Output*: FNV-1a hash and length of what the program produced (the \
         serialized JSON result and the HTML; the query answers and the index listing); the tool fails and writes \
         nothing if any allocator's differs.\n\n",
        reps = options.reps,
        floor = mib(driver_rss as f64),
    ));
    text.push_str(&full_table(&rows, &baseline));
    text.push('\n');
    let mut inputs: Vec<&Row> = Vec::new();
    for row in &rows {
        if !inputs.iter().any(|r| r.same_input(row)) {
            inputs.push(row);
        }
    }
    for first in &inputs {
        let same = rows.iter().filter(|r| r.same_input(first)).count();
        text.push_str(&format!(
            "- {} on {} MB: {same} allocators, output `{}`, identical for every one\n",
            program_label(first.program),
            first.size_mb,
            first.digest
        ));
    }
    if !small.is_empty() {
        text.push_str(&format!(
            "- {} ran on {} MB inputs only, compared with the system allocator on the same input: an implicit \
             list's search walks every block, allocated or free, so its time grows about with the square of the \
             input, and the full-size ones would take hours.\n",
            small.join(", "),
            options.small_mb,
        ));
    }
    text.push_str(
        "- The book's allocators and talc sit behind `Locked` (a `std::sync::Mutex`), each heap over a 32 GiB \
         `MAP_NORESERVE` reservation that it grows into (talc claims the whole reservation at its first \
         allocation; the bump allocator moves down from the top of one). The programs are single-threaded, so the \
         lock is never contended. The bump allocators free only their newest block, so their footprint is nearly \
         everything the program ever asked for.\n",
    );
    for row in &rows {
        if let Some(heap) = &row.heap_line {
            text.push_str(&format!(
                "- `{}` ({}, {} MB): {}\n",
                row.name,
                row.program,
                row.size_mb,
                heap.trim_start_matches("heap: ")
            ));
        }
    }
    text.push_str("\n</details>\n");
    println!("\n{text}");
    if let Some(path) = &options.out {
        std::fs::write(path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

type Baseline<'a> = dyn Fn(&Row) -> Option<(f64, f64, f64)> + 'a;

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "—".to_string(),
    }
}

/// The table a chapter shows: six columns.
fn chapter_table(rows: &[&Row], baseline: &Baseline) -> String {
    let mut table = String::from(
        "| allocator | input | processing | vs glibc | peak RSS | vs glibc |\n|---|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let (_, processing, rss) = medians(row);
        let base = baseline(row);
        table.push_str(&format!(
            "| {} | {} MB | {:.3} s | {} | {:.0} MiB | {} |\n",
            row.label,
            row.size_mb,
            processing,
            ratio(processing, base.map(|b| b.1)),
            mib(rss),
            ratio(rss, base.map(|b| b.2)),
        ));
    }
    table
}

/// One line under a program's table: who beat glibc on each column, so
/// the text can refer to it instead of copying numbers.
fn summary(rows: &[&Row], baseline: &Baseline) -> String {
    let mut faster = Vec::new();
    let mut fastest: Option<(&str, f64)> = None;
    let mut big = Vec::new();
    for row in rows {
        let (_, processing, rss) = medians(row);
        let Some((_, base_processing, base_rss)) = baseline(row) else {
            continue;
        };
        if row.name == "system" {
            continue;
        }
        let speed = processing / base_processing;
        if speed < 1.0 {
            faster.push(format!("`{}`", row.name));
        }
        if fastest.is_none_or(|(_, best)| speed < best) {
            fastest = Some((row.name, speed));
        }
        if rss / base_rss > 1.2 {
            big.push(format!("`{}`", row.name));
        }
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    format!(
        "Less processing time than glibc: {}; the least: `{}`. More than 1.2× glibc's peak RSS: {}.\n",
        list(&faster),
        fastest.map_or("—", |(name, _)| name),
        list(&big)
    )
}

/// Every column, for the folded part.
fn full_table(rows: &[Row], baseline: &Baseline) -> String {
    let mut table = String::from(
        "| allocator | program | input | wall time | vs glibc | processing | vs glibc | peak RSS | vs glibc | output |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for row in rows {
        let (wall, processing, rss) = medians(row);
        let base = baseline(row);
        table.push_str(&format!(
            "| {} | {} | {} MB | {:.2} s | {} | {:.3} s | {} | {:.0} MiB | {} | identical |\n",
            row.label,
            program_label(row.program),
            row.size_mb,
            wall,
            ratio(wall, base.map(|b| b.0)),
            processing,
            ratio(processing, base.map(|b| b.1)),
            mib(rss),
            ratio(rss, base.map(|b| b.2)),
        ));
    }
    table
}

/// `imgs/workload-threads.md`: each program at each thread count, with
/// ratios to glibc at the same count.
fn threads_report(
    rows: &[Row],
    options: &Options,
    machine: &Machine,
    baseline: &Baseline,
    driver_rss: u64,
) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("{COMMAND} -- {}", args.join(" "));
    let counts: Vec<String> = options.threads.iter().map(|t| t.to_string()).collect();
    let counts = match counts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => counts.join(""),
    };
    let mut text = format!("<!-- Generated by `{command}`; do not edit. -->\n\n");
    for program in &options.programs {
        let program_rows: Vec<&Row> = rows.iter().filter(|r| r.program == program).collect();
        let Some(first) = program_rows.first() else {
            continue;
        };
        text.push_str(&format!(
            "**{}** on {} MB, {}:\n\n| allocator | threads | processing | vs glibc | peak RSS | vs glibc |\n|---|--:|--:|--:|--:|--:|\n",
            program_label(first.program),
            first.size_mb,
            if first.program == "index" {
                "worker threads tokenize the documents and one merging thread builds the index and frees what they sent"
            } else {
                "worker threads parse, summarize and serialize a share of the users each, and the main thread merges and frees their results"
            },
        ));
        for row in &program_rows {
            let (_, processing, rss) = medians(row);
            let base = baseline(row);
            text.push_str(&format!(
                "| {} | {} | {:.3} s | {} | {:.0} MiB | {} |\n",
                row.label,
                row.threads,
                processing,
                ratio(processing, base.map(|b| b.1)),
                mib(rss),
                ratio(rss, base.map(|b| b.2)),
            ));
        }
        text.push('\n');
        for &threads in &options.threads {
            let same: Vec<&Row> = program_rows
                .iter()
                .copied()
                .filter(|r| r.threads == threads)
                .collect();
            text.push_str(&format!(
                "At {threads} thread{}: {}",
                if threads == 1 { "" } else { "s" },
                summary(&same, baseline)
            ));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Processing time and peak resident memory of each program at {counts} threads, as ratios to glibc's at the \
         same thread count (below 1: faster, or smaller); every allocator printed the same output at every thread \
         count. Measured by `{command}` on {}.\n\n",
        machine.summary()
    ));
    text.push_str("<details><summary>How this was measured, and the full table</summary>\n\n");
    text.push_str(&format!(
        "Each allocator ran each program as the global allocator of its own process, as in `imgs/workload-table.md`, \
         with `--threads N`. At 1 thread the programs are the single-threaded ones. At N threads, *JSON + Markdown*: \
         the main thread makes the document up (seed {SEED}) and notes where each user starts; N workers each parse, \
         walk and summarize a run of consecutive users; the main thread merges their per-city lists in input order \
         (freeing the lists the workers allocated) and ranks each city; N workers each serialize a run of cities \
         (pretty) and parse them back, and the main thread joins the pieces; N workers then render a run of whole \
         Markdown sections each. *Inverted index*: the main thread makes the corpus up first (the same documents); \
         worker k tokenizes documents k, k + N, k + 2N, ... and sends each one's terms, title and snippet through a \
         channel to the main thread, which inserts them into the index in document order (holding back any that \
         arrive early) and frees the terms the index already has; N workers answer a run of the queries each. \
         *Processing*: the child's own clock around everything but making the input up. Medians of {reps} runs, \
         one process each, round robin. *Peak RSS*: `ru_maxrss` from `wait4`, with a floor of the driver's own \
         {floor:.1} MiB. On a machine with fewer cores than threads, the threads take turns.\n\n",
        reps = options.reps,
        floor = mib(driver_rss as f64),
    ));
    text.push_str(
        "| allocator | program | threads | wall time | vs glibc | processing | vs glibc | peak RSS | vs glibc |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let (wall, processing, rss) = medians(row);
        let base = baseline(row);
        text.push_str(&format!(
            "| {} | {} | {} | {:.2} s | {} | {:.3} s | {} | {:.0} MiB | {} |\n",
            row.label,
            program_label(row.program),
            row.threads,
            wall,
            ratio(wall, base.map(|b| b.0)),
            processing,
            ratio(processing, base.map(|b| b.1)),
            mib(rss),
            ratio(rss, base.map(|b| b.2)),
        ));
    }
    text.push('\n');
    let mut inputs: Vec<&Row> = Vec::new();
    for row in rows {
        if !inputs.iter().any(|r| r.same_output(row)) {
            inputs.push(row);
        }
    }
    for first in &inputs {
        let same = rows.iter().filter(|r| r.same_output(first)).count();
        text.push_str(&format!(
            "- {} on {} MB: {same} runs (allocator × threads), output `{}`, identical for every one\n",
            program_label(first.program),
            first.size_mb,
            first.digest
        ));
    }
    text.push_str(
        "- The book's allocators sit behind `Locked` (a `std::sync::Mutex`), so their threads queue on one lock; \
         `ThreadCached` takes it only to refill or drain a batch.\n\
         - The threaded JSON program parses each user on its own and keeps only the summaries, so it never holds \
         the whole parsed tree: compare peak RSS within a thread count, not across 1 and N.\n",
    );
    for row in rows {
        if let Some(heap) = &row.heap_line {
            text.push_str(&format!(
                "- `{}` ({}, {} thread{}): {}\n",
                row.name,
                row.program,
                row.threads,
                if row.threads == 1 { "" } else { "s" },
                heap.trim_start_matches("heap: ")
            ));
        }
    }
    text.push_str("\n</details>\n");
    text
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let result = if std::env::var_os("LAB_ALLOCATOR").is_some() {
        child(&options.program, options.size_mb, options.threads[0])
    } else {
        driver(options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("workload: {message}");
            ExitCode::FAILURE
        }
    }
}
