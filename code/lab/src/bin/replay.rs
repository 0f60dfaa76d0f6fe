//! `replay`: runs CS:APP malloc-lab traces against the book's allocators and
//! their peers. `cargo run --release --bin replay -- --help` says how.

use lab::cli::Stop;
use lab::machine::Machine;
use lab::registry::{self, ALLOCATORS};
use lab::replay::Options;
use lab::report::{self, Input};
use lab::trace::Trace;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: replay [OPTIONS] TRACE...

Replays CS:APP malloc-lab traces (`a ID SIZE`, `f ID`, `r ID SIZE` after a
four-integer header) against allocators and prints throughput and
utilization.

options:
  --allocators LIST  comma-separated names (default: all, see below)
  --reps N           timed repetitions per trace and allocator; the median
                     is reported (default 5)
  --check            verify every operation in the warm-up pass: alignment,
                     no overlap with a live block, payload bytes intact
                     through realloc and free (a pattern derived from the
                     block id), and the allocator's heap checker. A
                     violation names the trace file and line; the exit
                     status is then 1
  --csv              print CSV: trace,allocator,ops,seconds,kops,util
  --heap BYTES       the heap every allocator gets (suffix K, M or G);
                     default: every request of the trace added up, plus 64
                     bytes per request and 1 MiB, at most 1 GiB
  --align N          alignment of every block (default 16, malloc's)
  --overhead         instead of the table: time the replay loop against a
                     bare loop of the same calls (layouts built beforehand,
                     blocks in a plain pointer array) for each allocator
                     given, and print the ratio: what the tool itself costs
  --list             list the allocators and how their footprint is measured
  -h, --help         this text

method: for each trace and allocator, a fresh mmap'd heap of the same size;
a warm-up pass (which --check verifies), then N timed passes, each with a
fresh allocator over the same heap; the median time is reported. Kops/s is
operations per second over that median; `vs system` divides it by glibc's
on the same trace in the same run; `vs talc` and `vs lla` divide it by
talc's and linked_list_allocator's.

After the table comes the aggregate over all the traces given, scored as
the CS:APP malloc lab scores: throughput is all operations divided by all
seconds (so long traces weigh more), utilization the mean over traces.

util = peak live payload / peak heap footprint, where the footprint is:
  book allocators          their own footprint(): the most heap they used
  linked_list_allocator,
  talc                     highest offset used in the heap (end of the
                           highest block ever handed out - heap start)
  bumpalo                  address span of its blocks (one chunk, bumping
                           down)
  system                   glibc malloc: peak of mallinfo2() arena+hblkhd,
                           minus its value before the trace, measured in a
                           fresh child process (so holes left by other runs
                           cannot flatter it)

system is glibc's malloc/realloc/free as a C program gets it. Its behaviour
depends on GLIBC_TUNABLES, which the output header prints, e.g.
  GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432
serves every request below 32 MiB from the brk heap (the largest
M_MMAP_THRESHOLD that mallopt(3) documents for 64-bit; some glibc versions
silently ignore a larger one), never trims it, and stops both thresholds
from adjusting themselves, which makes it comparable with allocators that
own one region.

exit status: 0 (also when an allocator runs out of memory: the table says
`OOM at line N`), 1 if --check found a violation, 2 for bad usage or a bad
trace (the message names the file and line).
";

fn parse_bytes(s: &str) -> Option<usize> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.parse::<usize>().ok()?.checked_mul(1usize << shift)
}

struct Args {
    options: Options,
    allocators: Vec<&'static registry::Entry>,
    csv: bool,
    overhead: bool,
    traces: Vec<PathBuf>,
}

/// Prints `--list`: every allocator and how its footprint is measured.
fn list() {
    for e in ALLOCATORS.iter() {
        println!(
            "{:<22} {:?}: {}\n{:<22} footprint: {}",
            e.name, e.kind, e.about, "", e.footprint
        );
    }
}

fn parse_args() -> Result<Args, Stop> {
    use lexopt::prelude::*;
    let mut options = Options::default();
    let mut allocators: Vec<&'static registry::Entry> = ALLOCATORS.iter().collect();
    let mut csv = false;
    let mut overhead = false;
    let mut traces = Vec::new();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Long("list") => {
                list();
                return Err(Stop::Help);
            }
            Long("allocators") => {
                allocators = registry::parse_list(&parser.value()?.string()?)?;
            }
            Long("reps") => options.reps = lab::cli::positive(&mut parser, "--reps")?,
            Long("heap") => {
                let v = parser.value()?.string()?;
                options.heap = Some(parse_bytes(&v).filter(|&n| n > 0).ok_or(format!(
                    "--heap: `{v}` is not a byte count like 65536, 64K or 512M"
                ))?);
            }
            Long("align") => {
                options.align = parser
                    .value()?
                    .parse()
                    .ok()
                    .filter(|n: &usize| n.is_power_of_two() && *n <= 4096)
                    .ok_or("--align needs a power of two up to 4096")?;
            }
            Long("check") => options.check = true,
            Long("csv") => csv = true,
            Long("overhead") => overhead = true,
            Value(path) => traces.push(PathBuf::from(path)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    if traces.is_empty() {
        return Err("no trace given".into());
    }
    Ok(Args {
        options,
        allocators,
        csv,
        overhead,
        traces,
    })
}

fn main() -> ExitCode {
    lab::system_footprint::serve_child_if_asked();
    let args = match parse_args() {
        Ok(args) => args,
        Err(stop) => return lab::cli::stopped("replay", stop),
    };
    // Read every trace before measuring anything: a bad one stops the run
    // at once, not after minutes of measuring the others.
    let mut inputs = Vec::new();
    let mut bad = false;
    for path in &args.traces {
        match Trace::read(path) {
            Ok(trace) => inputs.push(Input {
                trace,
                path: path.clone(),
            }),
            Err(e) => {
                eprintln!("replay: {e}");
                bad = true;
            }
        }
    }
    if bad {
        return ExitCode::from(2);
    }
    let machine = Machine::current();
    let header = report::header_lines(&machine, &args.options);
    if !args.csv {
        for line in &header {
            println!("{line}");
        }
        println!();
    } else {
        for line in &header {
            eprintln!("{line}");
        }
    }
    if args.overhead {
        return overhead(&inputs, &args);
    }
    let rows = report::run_all(&inputs, &args.allocators, &args.options, |row| {
        if row.is_violation() {
            eprintln!("replay: {}", row.note());
        }
    });
    if args.csv {
        print!("{}", report::csv(&rows));
    } else {
        print!("{}", report::text_table(&rows));
        println!();
        println!(
            "aggregate over {} trace(s): all ops / all seconds; mean utilization",
            inputs.len()
        );
        print!("{}", report::aggregate_text(&rows));
    }
    if rows.iter().any(report::Row::is_violation) {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `--overhead`: the replay loop against the bare loop, per trace and
/// allocator. Only the book's allocators and the peers that run over the
/// heap are supported (glibc and the growing bump have no bare loop here).
fn overhead(inputs: &[Input], args: &Args) -> ExitCode {
    use allocators::bump::BumpAllocator;
    use allocators::explicit::{ExplicitFreeList, Insertion};
    use allocators::heap::RegionBreak;
    use allocators::segregated::SegregatedFreeList;
    use lab::region::TraceHeap;
    use lab::replay::Job;
    println!(
        "{:<20} {:<12} {:>12} {:>12} {:>8}",
        "trace", "allocator", "replay ns/op", "bare ns/op", "ratio"
    );
    for input in inputs {
        for entry in &args.allocators {
            let job = Job {
                trace: &input.trace,
                options: &args.options,
                path: Some(&input.path),
                allocator: entry.name,
            };
            let Ok(heap) = TraceHeap::new(job.heap_size()) else {
                eprintln!("replay: cannot map a heap");
                return ExitCode::FAILURE;
            };
            let result = match entry.name {
                "bump" => job.overhead(&heap, |r| Some(BumpAllocator::new(r))),
                "explicit" => job.overhead(&heap, |r| {
                    Some(ExplicitFreeList::new(RegionBreak::new(r), Insertion::Lifo))
                }),
                "segregated" => job.overhead(&heap, |r| {
                    Some(SegregatedFreeList::new(RegionBreak::new(r)))
                }),
                other => Err(format!(
                    "--overhead supports bump, explicit and segregated, not {other}"
                )),
            };
            let ops = input.trace.ops.len().max(1) as f64;
            match result {
                Ok(o) => println!(
                    "{:<20} {:<12} {:>12.2} {:>12.2} {:>7.2}x",
                    input.short_name(),
                    entry.name,
                    o.replay / ops * 1e9,
                    o.bare / ops * 1e9,
                    o.ratio()
                ),
                Err(e) => println!("{:<20} {:<12} {e}", input.short_name(), entry.name),
            }
        }
    }
    ExitCode::SUCCESS
}
