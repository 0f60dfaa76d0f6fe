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
//! - `ThreadCached<SegregatedFreeList>`: the same heap and lock behind the
//!   book's per-thread caches. Its threads are joined, so every cache goes
//!   back to the heap (in its thread-local destructor) inside the timed run;
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
use allocators::growing_bump::GrowingBump;
use allocators::heap::RegionBreak;
use allocators::os::page_size;
use allocators::region::Buffer;
use allocators::segregated::SegregatedFreeList;
use allocators::thread_cache::{BATCH, CACHE_LIMIT, ThreadCached};
use lab::machine::Machine;
use lab::peers::SystemMalloc;
use lab::region::TraceHeap;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const COMMAND: &str = "cargo run --release -p lab --bin scaling";

/// Steps per thread in one run.
const STEPS: usize = 4_000_000;
/// Live blocks per thread at most.
const SLOTS: usize = 512;
/// The largest request (the smallest is 8 bytes).
const MAX_SIZE: usize = 512;
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
        let size = 8 + (rng.below(MAX_SIZE as u64 - 7) as usize);
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
        let size = 8 + (rng.below(MAX_SIZE as u64 - 7) as usize);
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

/// The lock trips (refills and drains) of the last `ThreadCached` run, and
/// its calls: `ThreadCached::lock_trips` after the threads are joined.
static TRIPS: AtomicU64 = AtomicU64::new(0);

/// Runs the program on `threads` threads with per-thread caches of `batch`
/// in front of a fresh `Locked<SegregatedFreeList>` over `heap`.
fn thread_cached(heap: &'static TraceHeap, batch: u32, threads: usize) -> Result<f64, String> {
    // SAFETY: only this allocator uses the heap during the run; the threads
    // are joined (their caches given back) before the next run builds
    // another over it.
    let region: Buffer<'static> = unsafe { heap.region() };
    // A cache's owner must be `'static`: one small leak per run.
    let shared: &'static Locked<_> = Box::leak(Box::new(Locked::new(SegregatedFreeList::new(
        RegionBreak::new(region),
    ))));
    let cached = ThreadCached::with_batch(shared, batch);
    let seconds = run(&cached, threads)?;
    let (refills, drains) = cached.lock_trips();
    TRIPS.store(refills + drains, Ordering::Relaxed);
    shared
        .with_allocator(|a| allocators::raw_allocator::RawAllocator::check(a))
        .map_err(|e| format!("heap check after the run: {e}"))?;
    Ok(seconds)
}

/// An allocator under test: a name, and a way to run it on `threads`.
struct Contender {
    name: String,
    run: Box<dyn Fn(usize) -> Result<f64, String>>,
}

/// The short name of the type `make` builds: `SegregatedFreeList` for a
/// `SegregatedFreeList<RegionBreak<Buffer>>`.
fn built_type<A>(_make: &impl FnOnce(Buffer<'static>) -> Option<A>) -> &'static str {
    let path = std::any::type_name::<A>();
    let path = path.split('<').next().unwrap_or(path);
    path.rsplit("::").next().unwrap_or(path)
}

/// The book's allocators behind the book's lock: the catalog's entries that
/// [`lab::registry::scaling_books`] picks, each a fresh allocator over `heap`
/// in every run.
fn locked_books(heap: &'static TraceHeap) -> Vec<Contender> {
    lab::registry::scaling_books()
        .into_iter()
        .map(|which| {
            let growing = || GrowingBump::with_limits(page_size(), HEAP);
            let ty = allocators::with_book!(which, |r| r, growing: growing(), |make| {
                built_type(&make)
            });
            Contender {
                name: format!("`Locked<{ty}>` (book)"),
                run: Box::new(move |threads| {
                    // SAFETY: only this allocator uses the heap during the
                    // run; it is dropped before the next run builds another.
                    let region: Buffer<'static> = unsafe { heap.region() };
                    allocators::with_book!(which, |r| r, growing: growing(), |make| {
                        let allocator = make(region).ok_or("no room for the allocator")?;
                        run(&Locked::new(allocator), threads)
                    })
                }),
            }
        })
        .collect()
}

fn contenders(heap: &'static TraceHeap, batches: &[u32]) -> Vec<Contender> {
    let mut list = locked_books(heap);
    list.extend([
        Contender {
            name: "`Locked<glibc malloc>` (same lock)".to_string(),
            run: Box::new(|threads| run(&Locked::new(SystemMalloc::new()), threads)),
        },
        Contender {
            name: "glibc malloc (`System`)".to_string(),
            run: Box::new(|threads| run(&System, threads)),
        },
        Contender {
            name: "`mimalloc`".to_string(),
            run: Box::new(|threads| run(&mimalloc::MiMalloc, threads)),
        },
    ]);
    for &batch in batches {
        list.push(Contender {
            name: if batch == BATCH {
                "`ThreadCached<SegregatedFreeList>` (book)".to_string()
            } else {
                format!("`ThreadCached` (book), batch {batch}")
            },
            run: Box::new(move |threads| thread_cached(heap, batch, threads)),
        });
    }
    list.push(Contender {
        name: "control: the same steps, no allocator".to_string(),
        run: Box::new(|threads| run_with(threads, control)),
    });
    list
}

const USAGE: &str = "usage: scaling [--reps N] [--batches LIST] [--out FILE | --no-write]
  --reps N        timed repetitions per thread count (default 9)
  --batches LIST  ThreadCached batch sizes, comma-separated (default: its BATCH)
  --out FILE    where the table goes (default imgs/scaling-table.md)
  --no-write    print only
  -h, --help    this text
";

/// What the command line asks for.
struct Args {
    reps: usize,
    batches: Vec<u32>,
    out: Option<PathBuf>,
}

/// The arguments, or `None` after `--help`.
fn parse_args() -> Result<Args, lab::cli::Stop> {
    use lexopt::prelude::*;
    let mut reps = 9;
    let mut batches = vec![BATCH];
    let mut out =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../imgs/scaling-table.md"));
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Long("reps") => reps = lab::cli::positive(&mut parser, "--reps")?,
            Long("batches") => {
                let list = parser.value()?.string()?;
                batches = list
                    .split(',')
                    .map(|b| match b.trim().parse::<u32>() {
                        Ok(b) if b > 0 => Ok(b),
                        _ => Err(lexopt::Error::from(format!(
                            "--batches: bad batch size {b:?}"
                        ))),
                    })
                    .collect::<Result<_, _>>()?;
            }
            Long("out") => out = Some(parser.value()?.into()),
            Long("no-write") => out = None,
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Args { reps, batches, out })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(stop) => return lab::cli::stopped("scaling", stop),
    };
    match scaling(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scaling: {message}");
            ExitCode::FAILURE
        }
    }
}

fn scaling(Args { reps, batches, out }: Args) -> Result<(), String> {
    let machine = Machine::current();
    if machine.profile != "release" {
        eprintln!("note: a debug build; measure with `{COMMAND}`");
    }
    let heap: &'static TraceHeap = Box::leak(Box::new(
        TraceHeap::new(HEAP).map_err(|e| format!("mapping a {HEAP}-byte heap: {e}"))?,
    ));
    let contenders = contenders(heap, &batches);
    for contender in &contenders {
        // Warm-up: page faults, glibc's arenas, mimalloc's thread heaps.
        (contender.run)(THREADS[THREADS.len() - 1])
            .map_err(|e| format!("{}: {e}", contender.name))?;
    }
    // The warm-up's lock trips belong to no timed cell.
    TRIPS.store(0, Ordering::Relaxed);
    // rates[contender][threads] holds one rate per repetition. Round robin:
    // each repetition measures every cell once, so a burst of load from
    // elsewhere on a shared machine hits all of them alike.
    let mut rates = vec![vec![Vec::new(); THREADS.len()]; contenders.len()];
    // Lock trips per 1,000 calls of each `ThreadCached` cell, likewise.
    let mut trips = vec![vec![Vec::new(); THREADS.len()]; contenders.len()];
    for _ in 0..reps {
        for (c, contender) in contenders.iter().enumerate() {
            for (t, &threads) in THREADS.iter().enumerate() {
                let seconds =
                    (contender.run)(threads).map_err(|e| format!("{}: {e}", contender.name))?;
                rates[c][t].push((threads * STEPS) as f64 / seconds / 1e6);
                let trip_count = TRIPS.swap(0, Ordering::Relaxed);
                trips[c][t].push(trip_count as f64 * 1000.0 / (threads * STEPS) as f64);
            }
        }
    }
    let mut rows = Vec::new();
    let mut spread: f64 = 1.0;
    for ((contender, cells), trip_cells) in contenders.iter().zip(rates).zip(trips) {
        let mut medians = Vec::new();
        for (threads, cell) in THREADS.iter().zip(cells) {
            let (min, max) = cell.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
            spread = spread.max(max / min);
            let rate = lab::replay::median(&cell).unwrap_or(f64::NAN);
            eprintln!(
                "{:45} {threads} threads: {rate:7.2} M steps/s (runs {min:.1} to {max:.1})",
                contender.name
            );
            medians.push(rate);
        }
        let trip_medians: Vec<f64> = trip_cells
            .iter()
            .map(|cell| lab::replay::median(cell).unwrap_or(0.0))
            .collect();
        rows.push((contender.name.as_str(), medians, trip_medians));
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
    for (name, rates, _) in &rows {
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
    // One sentence that says what the run shows for the book's thread cache,
    // so the chapter can state its conclusion without copying numbers.
    let rate_at_2 = |prefix: &str| {
        rows.iter()
            .find(|(name, _, _)| name.starts_with(prefix))
            .map(|(_, rates, _)| rates[1])
    };
    let verdict = match (
        rate_at_2("`ThreadCached<"),
        rate_at_2("`Locked<SegregatedFreeList>`"),
        rate_at_2("glibc malloc"),
    ) {
        (Some(cached), Some(locked), Some(glibc)) => format!(
            " On 2 threads, `ThreadCached` ran at {:.2}× the rate of the same heap behind the bare lock, \
             and at {:.2}× glibc's.",
            cached / locked,
            cached / glibc
        ),
        _ => String::new(),
    };
    text.push_str(&format!(
        "\nMillions of steps per second, all threads together (the median of the runs); perfect scaling would \
         double the rate from 1 to 2 threads.{verdict}\n",
    ));
    // Lock trips of the ThreadCached rows, per 1,000 calls.
    let mut trip_lines = String::new();
    for (name, _, trips) in rows.iter().filter(|(_, _, t)| t.iter().any(|&x| x > 0.0)) {
        trip_lines.push_str(&format!(
            "- {name}: {} lock trips (refills and drains) per 1,000 calls on 1, 2 and 4 threads.\n",
            trips
                .iter()
                .map(|t| format!("{t:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The control's 2-thread scaling: how much of a second core this run had.
    let control = rows.last().map_or(0.0, |(_, rates, _)| rates[1] / rates[0]);
    text.push_str(&format!(
        "\n<details><summary>How it was measured</summary>\n\n\
         The median of {reps} runs, after a warm-up run; each repetition measures every cell once, round robin. The \
         runs of one cell differ by up to {spread:.1}× (the machine is shared). Every thread takes {STEPS} steps on \
         its own {SLOTS} slots: allocate 8 to {MAX_SIZE} bytes into an empty slot, or free (three times in four) or resize \
         the block in a full one, writing the block's first and last byte. **The machine has {cores} cores**, so 4 \
         threads cannot run faster than 2: they only add contention and context switches. The control row runs the \
         same steps without allocating (each slot a fixed piece of the thread's own buffer): nothing is shared, so \
         its scaling is what the machine (a VM whose cores other jobs share) gave any program during this run; read \
         the allocators' scaling against it. The `ThreadCached` threads are joined inside the timed run, so giving \
         their caches back (in each thread's thread-local destructor) is timed too, and the shared heap's checker \
         runs after every run (untimed). {cache_note}\n\n\
         {trip_lines}\n\
         Measured by `{COMMAND}` on {summary}.\n\n</details>\n",
        cores = machine.cores,
        summary = machine.summary(),
        cache_note = if CACHE_LIMIT >= MAX_SIZE {
            format!(
                "Its caches serve requests of up to {CACHE_LIMIT} bytes, so every request of this program \
                 (at most {MAX_SIZE} bytes) goes through a cache, and the lock is taken only to refill or \
                 drain a batch of {BATCH} blocks:"
            )
        } else {
            format!(
                "Its caches serve requests of up to {CACHE_LIMIT} bytes: larger ones (this program asks for up \
                 to {MAX_SIZE}) take the lock on every call, and only the trips of the cached classes count below:"
            )
        },
    ));
    if control < 1.6 {
        text.push_str(&format!(
            "\nOn this run the machine gave the second core little: the control, which shares nothing, scaled only \
             {control:.2}× from 1 to 2 threads. Read every allocator's ratio with that in mind.\n"
        ));
        eprintln!("warning: the control scaled only {control:.2}× on 2 threads (a busy machine)");
    }
    print!("{trip_lines}");
    println!("\n{text}");
    if let Some(path) = out {
        std::fs::write(&path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_book_allocator_is_named_by_its_type() {
        let heap: &'static TraceHeap = Box::leak(Box::new(TraceHeap::new(1 << 20).unwrap()));
        let names: Vec<String> = locked_books(heap).into_iter().map(|c| c.name).collect();
        if lab::registry::scaling_books() == [allocators::catalog::Book::Segregated] {
            assert_eq!(names, ["`Locked<SegregatedFreeList>` (book)"]);
        }
        assert_eq!(names.len(), lab::registry::scaling_books().len());
    }
}
