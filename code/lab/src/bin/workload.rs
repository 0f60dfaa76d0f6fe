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
//! The modes live in [`lab::process`], the tables in
//! [`lab::workload_report`]; this file parses the command line.
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

use lab::cli::{self, Stop};
use lab::dispatch::{self, Dispatch, NAMES};
use lab::process::{Options, PROGRAMS, imgs};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: Dispatch = Dispatch;

fn usage() -> String {
    format!(
        "usage: workload [--programs json,index] [--size-mb N] [--index-mb N] [--reps N] [--allocators a,b,..] [--small a,b,.. --small-mb N] [--threads 1,2,4] [--out FILE | --no-write]\n\
         allocators: {}\n\
         programs: {}\n\
         child mode: LAB_ALLOCATOR=NAME workload [--program json|index] [--size-mb N] [--threads N]\n",
        NAMES.join(", "),
        PROGRAMS.map(|(p, _)| p).join(", ")
    )
}

/// A program's name, if it is one.
fn program(name: &str) -> Result<String, String> {
    match PROGRAMS.iter().find(|(p, _)| *p == name) {
        Some((p, _)) => Ok(p.to_string()),
        None => Err(format!("no program named {name:?}")),
    }
}

/// An allocator's name, if `flag` may name it.
fn allocator(flag: &str) -> impl Fn(&str) -> Result<String, String> {
    move |name| match NAMES.contains(&name) {
        true => Ok(name.to_string()),
        false => Err(format!("{flag}: no allocator named {name:?}")),
    }
}

/// The value after `flag`: a size in MB, above 0 and below 64 GiB.
fn megabytes(parser: &mut lexopt::Parser, flag: &str) -> Result<f64, Stop> {
    use lexopt::prelude::*;
    let value = parser.value()?.string()?;
    value
        .parse()
        .ok()
        .filter(|&n: &f64| n > 0.0 && n < 65536.0)
        .ok_or_else(|| format!("{flag} needs a size in MB, like 32 or 0.5, not {value:?}").into())
}

fn parse_args() -> Result<Options, Stop> {
    use lexopt::prelude::*;
    let mut options = Options::default();
    let mut out_given = false;
    let usage = usage();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = cli::next(&mut parser, &usage)? {
        match arg {
            Long("program") => options.program = program(&parser.value()?.string()?)?,
            Long("programs") => options.programs = cli::list(&mut parser, program)?,
            Long("size-mb") => options.size_mb = megabytes(&mut parser, "--size-mb")?,
            Long("index-mb") => options.index_mb = megabytes(&mut parser, "--index-mb")?,
            Long("small-mb") => options.small_mb = megabytes(&mut parser, "--small-mb")?,
            Long("reps") => options.reps = cli::positive(&mut parser, "--reps")?,
            Long("allocators") => {
                options.allocators = cli::list(&mut parser, allocator("--allocators"))?;
            }
            Long("small") => options.small = cli::list(&mut parser, allocator("--small"))?,
            Long("out") => {
                options.out = Some(parser.value()?.into());
                out_given = true;
            }
            Long("no-write") => {
                options.out = None;
                out_given = true;
            }
            Long("threads") => {
                options.threads = cli::list(&mut parser, |n| match n.parse() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("--threads needs positive whole numbers, not {n:?}")),
                })?;
                if options.threads.is_empty() {
                    return Err("--threads needs a list".into());
                }
                options.threads_given = true;
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if options.threads_given && !out_given {
        options.out = Some(imgs("workload-threads.md"));
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(stop) => return cli::stopped("workload", stop),
    };
    let result = if std::env::var_os("LAB_ALLOCATOR").is_some() {
        match dispatch::chosen() {
            Some(name) => {
                lab::process::child(name, &options.program, options.size_mb, options.threads[0])
            }
            None => Err(format!("LAB_ALLOCATOR names no allocator\n{}", usage())),
        }
    } else {
        lab::process::driver(&options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("workload: {message}");
            ExitCode::FAILURE
        }
    }
}
