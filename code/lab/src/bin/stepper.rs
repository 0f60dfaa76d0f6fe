//! `stepper`: your own trace, step by step, in the book's heap stepper.
//!
//! ```text
//! cargo run --release -p lab --bin stepper -- TRACE.rep [--allocators first-fit,best-fit] [--out FILE]
//! ```
//!
//! Replays a CS:APP-format trace against one or two of the book's
//! allocators, records every state from their own block walks and free
//! lists (`figures::stepper`, as for the book's teaching traces), and writes
//! the JSON the stepper on the free-list pages draws (default:
//! `imgs/stepper-mine.json`). Point a stepper at it by adding
//! `imgs/stepper-mine.json` to a page's `data-traces`, then `mdbook serve`.
//! Keep the trace short: a stepper is for 20 to 60 operations.

use figures::stepper::{self, Kind};
use lab::trace::Trace;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: stepper TRACE.rep [--allocators A[,B]] [--region BYTES] [--out FILE]
  TRACE.rep         a trace in the CS:APP malloc-lab format (at most 200 operations)
  --allocators A,B  one or two of: bump, first-fit, next-fit, best-fit, lifo,
                    address-ordered, segregated (default: first-fit,best-fit)
  --region BYTES    each allocator's memory (default 65536)
  --out FILE        where the JSON goes (default imgs/stepper-mine.json)
  -h, --help        this text
";

/// The most operations a stepper recording takes: more do not read.
const MAX_OPS: usize = 200;

struct Args {
    trace: PathBuf,
    kinds: Vec<Kind>,
    region: usize,
    out: PathBuf,
}

fn parse() -> Result<Args, lab::cli::Stop> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut trace = None;
    let mut kinds = vec![
        Kind::parse("first-fit").expect("a known kind"),
        Kind::parse("best-fit").expect("a known kind"),
    ];
    let mut region = 65536;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../imgs/stepper-mine.json");
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Long("allocators") => {
                let list = parser.value()?.string()?;
                kinds = list
                    .split(',')
                    .map(|name| {
                        Kind::parse(name)
                            .ok_or_else(|| format!("--allocators: no allocator called {name:?}"))
                    })
                    .collect::<Result<_, _>>()?;
                if !(1..=2).contains(&kinds.len()) {
                    return Err("--allocators takes one or two names".into());
                }
            }
            Long("region") => region = lab::cli::positive(&mut parser, "--region")?,
            Long("out") => out = parser.value()?.into(),
            Value(path) if trace.is_none() => trace = Some(PathBuf::from(path)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let trace = trace.ok_or("a trace file is needed")?;
    Ok(Args {
        trace,
        kinds,
        region,
        out,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(stop) => return lab::cli::stopped("stepper", stop),
    };
    let trace = match Trace::read(&args.trace) {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("stepper: {error}");
            return ExitCode::FAILURE;
        }
    };
    if trace.ops.len() > MAX_OPS {
        eprintln!(
            "stepper: {} has {} operations; a stepper is for at most {MAX_OPS}",
            args.trace.display(),
            trace.ops.len()
        );
        return ExitCode::FAILURE;
    }
    let ops = trace.ops;
    let title = args.trace.file_name().map_or_else(
        || "your trace".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let recording = match stepper::record(
        &title,
        "A trace of your own.",
        &ops,
        &args.kinds,
        args.region,
    ) {
        Ok(recording) => recording,
        Err(error) => {
            eprintln!("stepper: {}: {error}", args.trace.display());
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::write(&args.out, recording.to_json()) {
        eprintln!("stepper: writing {}: {error}", args.out.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {} ({} steps)", args.out.display(), ops.len());
    ExitCode::SUCCESS
}
