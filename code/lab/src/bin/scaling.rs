//! `scaling`: what the global allocator's lock costs when threads allocate
//! at once.
//!
//! Each thread runs the same random program: `STEPS` steps, each of which
//! allocates a block (8 to 512 bytes) into an empty slot, or frees the
//! block in a full slot or resizes it; every block gets its first and last
//! byte written, as a program would. The program runs on 1, 2 and 4 threads
//! at once, every thread doing the same amount of work, through
//! `GlobalAlloc`:
//!
//! - `Locked<SegregatedFreeList>`: the book's fastest allocator behind the
//!   book's lock (a `std::sync::Mutex`), as a `#[global_allocator]` would be;
//! - `Locked<glibc malloc>`: glibc behind the very same lock, which shows
//!   what the lock alone does;
//! - glibc malloc (`System`) and `mimalloc` as they are: per-thread caches
//!   and arenas, no global lock.
//! - a control: the same steps with no allocator at all, which shows how
//!   far any program could scale on the (shared) machine during the run.
//!
//! Throughput is steps per second over all threads (median of `--reps`
//! runs, 9 by default, round robin). Each run of a book allocator gets a
//! fresh allocator over the same mapping, so its pages are already present
//! after the first.
//! Writes `imgs/scaling-table.md`.
//!
//! `cargo run --release -p lab --bin scaling`

use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::region::Buffer;
use allocators::segregated::SegregatedFreeList;
use lab::machine::Machine;
use lab::peers::SystemMalloc;
use lab::region::TraceHeap;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::Instant;

const COMMAND: &str = "cargo run --release -p lab --bin scaling";

/// Steps per thread in one run.
const STEPS: usize = 4_000_000;
/// Live blocks per thread at most.
const SLOTS: usize = 512;
/// Thread counts measured.
const THREADS: [usize; 3] = [1, 2, 4];
/// The heap each book allocator runs in: far more than 4 threads' live
/// blocks need.
const HEAP: usize = 256 << 20;

/// Touches a block's first and last byte.
///
/// # Safety
///
/// `ptr` must be valid for writes of `size > 0` bytes.
unsafe fn touch(ptr: *mut u8, size: usize) {
    // SAFETY: both offsets are inside the block (caller's guarantee).
    unsafe {
        ptr.write(size as u8);
        ptr.add(size - 1).write(size as u8);
    }
}

/// One thread's program. Returns the number of failed calls (always 0 for
/// a heap with room to spare).
fn program(heap: &(impl GlobalAlloc + ?Sized), seed: u64) -> usize {
    let mut rng = lab::generate::SplitMix64::new(seed);
    let mut slots: Vec<(*mut u8, usize)> = vec![(std::ptr::null_mut(), 0); SLOTS];
    let mut failures = 0;
    for _ in 0..STEPS {
        let slot = &mut slots[rng.below(SLOTS as u64) as usize];
        let size = 8 + (rng.below(505) as usize);
        if slot.0.is_null() {
            let layout = Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>());
            // SAFETY: the size is at least 8.
            let ptr = unsafe { heap.alloc(layout) };
            if ptr.is_null() {
                failures += 1;
                continue;
            }
            // SAFETY: a fresh block of `size` bytes.
            unsafe { touch(ptr, size) };
            *slot = (ptr, size);
        } else if (rng.below(4) as usize) == 0 {
            let old = Layout::from_size_align(slot.1, 8).unwrap_or(Layout::new::<u64>());
            // SAFETY: a live block of this heap with its layout; size > 0.
            let ptr = unsafe { heap.realloc(slot.0, old, size) };
            if ptr.is_null() {
                failures += 1;
                continue;
            }
            // SAFETY: the resized block has `size` bytes.
            unsafe { touch(ptr, size) };
            *slot = (ptr, size);
        } else {
            let layout = Layout::from_size_align(slot.1, 8).unwrap_or(Layout::new::<u64>());
            // SAFETY: a live block of this heap with its layout, freed once.
            unsafe { heap.dealloc(slot.0, layout) };
            *slot = (std::ptr::null_mut(), 0);
        }
    }
    for (ptr, size) in slots {
        if !ptr.is_null() {
            let layout = Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>());
            // SAFETY: as above.
            unsafe { heap.dealloc(ptr, layout) };
        }
    }
    failures
}

/// Runs the program on `threads` threads at once, on `heap`.
fn run(heap: &(impl GlobalAlloc + Sync), threads: usize) -> Result<f64, String> {
    run_with(threads, |t| program(heap, t))
}

/// The control: the same steps without an allocator. Each slot is a fixed
/// 512-byte piece of a buffer the thread owns, and a step writes the bytes
/// an allocation would have touched. Nothing is shared, so it scales as far
/// as the machine lets any program scale at that moment.
fn control(seed: u64) -> usize {
    let mut rng = lab::generate::SplitMix64::new(seed);
    let mut memory = vec![0u8; SLOTS * 512];
    let mut sizes = [0usize; SLOTS];
    for _ in 0..STEPS {
        let slot = rng.below(SLOTS as u64) as usize;
        let size = 8 + (rng.below(505) as usize);
        let block = &mut memory[slot * 512..slot * 512 + 512];
        if sizes[slot] == 0 || (rng.below(4) as usize) == 0 {
            block[0] = size as u8;
            block[size - 1] = size as u8;
            sizes[slot] = size;
        } else {
            sizes[slot] = 0;
        }
    }
    black_box(&memory);
    0
}

/// Runs `program(thread)` on `threads` threads at once; returns the seconds
/// from the moment all are ready to the moment the last one is done.
/// `program` returns its number of failed calls.
fn run_with(threads: usize, program: impl Fn(u64) -> usize + Sync) -> Result<f64, String> {
    let program = &program;
    let ready = Barrier::new(threads + 1);
    let (seconds, failures) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ready = &ready;
                s.spawn(move || {
                    ready.wait();
                    program(t as u64)
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let failures: usize = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(usize::MAX))
            .sum();
        (start.elapsed().as_secs_f64(), failures)
    });
    if failures != 0 {
        return Err(format!("{failures} calls failed (or a thread panicked)"));
    }
    Ok(black_box(seconds))
}

/// An allocator under test: a name, and a way to run it on `threads`.
struct Contender {
    name: &'static str,
    run: Box<dyn Fn(usize) -> Result<f64, String>>,
}

fn contenders(heap: &'static TraceHeap) -> Vec<Contender> {
    vec![
        Contender {
            name: "`Locked<SegregatedFreeList>` (book)",
            run: Box::new(move |threads| {
                // SAFETY: only this allocator uses the heap during the run;
                // it is dropped before the next run builds another.
                let region: Buffer<'static> = unsafe { heap.region() };
                let locked = Locked::new(SegregatedFreeList::new(RegionBreak::new(region)));
                run(&locked, threads)
            }),
        },
        Contender {
            name: "`Locked<glibc malloc>` (same lock)",
            run: Box::new(|threads| run(&Locked::new(SystemMalloc::new()), threads)),
        },
        Contender {
            name: "glibc malloc (`System`)",
            run: Box::new(|threads| run(&System, threads)),
        },
        Contender {
            name: "`mimalloc`",
            run: Box::new(|threads| run(&mimalloc::MiMalloc, threads)),
        },
        Contender {
            name: "control: the same steps, no allocator",
            run: Box::new(|threads| run_with(threads, control)),
        },
    ]
}

const USAGE: &str = "usage: scaling [--reps N] [--out FILE | --no-write]
  --reps N      timed repetitions per thread count (default 9)
  --out FILE    where the table goes (default imgs/scaling-table.md)
  --no-write    print only
  -h, --help    this text
";

/// The repetitions and the output file, or `None` after `--help`.
fn parse_args() -> Result<Option<(usize, Option<PathBuf>)>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut reps = 9;
    let mut out =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../imgs/scaling-table.md"));
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(None);
            }
            Long("reps") => reps = lab::cli::positive(&mut parser, "--reps")?,
            Long("out") => out = Some(parser.value()?.into()),
            Long("no-write") => out = None,
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some((reps, out)))
}

fn main() -> ExitCode {
    let (reps, out) = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return lab::cli::usage_error("scaling", e),
    };
    match scaling(reps, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scaling: {message}");
            ExitCode::FAILURE
        }
    }
}

fn scaling(reps: usize, out: Option<PathBuf>) -> Result<(), String> {
    let machine = Machine::current();
    if machine.profile != "release" {
        eprintln!("note: a debug build; measure with `{COMMAND}`");
    }
    let heap: &'static TraceHeap = Box::leak(Box::new(
        TraceHeap::new(HEAP).map_err(|e| format!("mapping a {HEAP}-byte heap: {e}"))?,
    ));
    let contenders = contenders(heap);
    for contender in &contenders {
        // Warm-up: page faults, glibc's arenas, mimalloc's thread heaps.
        (contender.run)(THREADS[THREADS.len() - 1])
            .map_err(|e| format!("{}: {e}", contender.name))?;
    }
    // rates[contender][threads] holds one rate per repetition. Round robin:
    // each repetition measures every cell once, so a burst of load from
    // elsewhere on a shared machine hits all of them alike.
    let mut rates = vec![vec![Vec::new(); THREADS.len()]; contenders.len()];
    for _ in 0..reps {
        for (c, contender) in contenders.iter().enumerate() {
            for (t, &threads) in THREADS.iter().enumerate() {
                let seconds =
                    (contender.run)(threads).map_err(|e| format!("{}: {e}", contender.name))?;
                rates[c][t].push((threads * STEPS) as f64 / seconds / 1e6);
            }
        }
    }
    let mut rows = Vec::new();
    let mut spread: f64 = 1.0;
    for (contender, cells) in contenders.iter().zip(rates) {
        let mut medians = Vec::new();
        for (threads, cell) in THREADS.iter().zip(cells) {
            let (min, max) = cell.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
            spread = spread.max(max / min);
            let rate = lab::replay::median(&cell).unwrap_or(f64::NAN);
            eprintln!(
                "{:40} {threads} threads: {rate:7.2} M steps/s (runs {min:.1} to {max:.1})",
                contender.name
            );
            medians.push(rate);
        }
        rows.push((contender.name, medians));
    }
    let mut text = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n| allocator |");
    for threads in THREADS {
        text.push_str(&format!(
            " {threads} thread{} |",
            if threads == 1 { "" } else { "s" }
        ));
    }
    text.push_str(" 2 threads vs 1 | 4 threads vs 1 |\n|---|");
    for _ in 0..THREADS.len() + 2 {
        text.push_str("--:|");
    }
    text.push('\n');
    for (name, rates) in &rows {
        text.push_str(&format!("| {name} |"));
        for rate in rates {
            text.push_str(&format!(" {rate:.1} |"));
        }
        text.push_str(&format!(
            " {:.2}× | {:.2}× |\n",
            rates[1] / rates[0],
            rates[2] / rates[0]
        ));
    }
    text.push_str(&format!(
        "\nMillions of steps per second, all threads together: the median of {reps} runs, after a warm-up run; each \
         repetition measures every cell once, round robin. The runs of one cell differ by up to {spread:.1}× (the \
         machine is shared). Every \
         thread takes {STEPS} steps on its own {SLOTS} slots: allocate 8 to 512 bytes into an empty slot, or free \
         (three times in four) or resize the block in a full one, writing the block's first and last byte. Perfect \
         scaling would double the rate from 1 to 2 threads. **The machine has {cores} cores**, so 4 threads cannot \
         run faster than 2: they only add contention and context switches. \
         The control row runs the same steps without allocating (each slot a fixed piece of the thread's own buffer): \
         nothing is shared, so its scaling is what the machine (a VM whose cores other jobs share) gave any \
         program during this run; read the allocators' scaling against it.\n\n\
         Measured by `{COMMAND}` on {summary}.\n",
        cores = machine.cores,
        spread = spread,
        summary = machine.summary(),
    ));
    // The control's 2-thread scaling: how much of a second core this run had.
    let control = rows.last().map_or(0.0, |(_, rates)| rates[1] / rates[0]);
    if control < 1.6 {
        text.push_str(&format!(
            "\n**Warning**: the control scaled only {control:.2}× on 2 threads: other jobs held the second core for \
             much of this run, so these numbers understate every allocator's scaling. Run it again on a quiet machine.\n"
        ));
        eprintln!("warning: the control scaled only {control:.2}× on 2 threads (a busy machine)");
    }
    println!("\n{text}");
    if let Some(path) = out {
        std::fs::write(&path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
