//! What sharing costs: a lock taken by one thread alone, a lock handed from
//! thread to thread through the kernel (a `futex` wait and wake), and two
//! threads adding at once to one cache line or to two.
//!
//! `cargo run --release --example lock_cost > imgs/lock-cost-output.txt`
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

fn ns_per(ops: u64, start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

// ANCHOR: lock
/// One thread takes and releases an uncontended mutex `n` times.
fn uncontended(n: u64) -> f64 {
    let lock = Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..n {
        *black_box(&lock).lock().unwrap() += 1;
    }
    ns_per(n, start)
}

/// Two threads take turns `n` times: each waits (in the kernel) until the
/// other hands it the turn, so every turn is a futex wake and a wait.
fn hand_over(n: u64) -> f64 {
    let turn = Arc::new((Mutex::new(0u64), Condvar::new()));
    let start = Instant::now();
    std::thread::scope(|s| {
        for me in 0..2 {
            let turn = &turn;
            s.spawn(move || {
                let (lock, changed) = &**turn;
                let mut count = lock.lock().unwrap();
                while *count < 2 * n {
                    if *count % 2 == me {
                        *count += 1;
                        changed.notify_one();
                    } else {
                        count = changed.wait(count).unwrap();
                    }
                }
                changed.notify_one();
            });
        }
    });
    ns_per(2 * n, start)
}
// ANCHOR_END: lock

// ANCHOR: cache_lines
/// A counter alone on its cache line (64 bytes on x86-64).
#[repr(align(64))]
struct Padded(AtomicU64);

/// Two threads each add 1 `n` times: to one shared counter, or to two
/// counters on separate cache lines. Only the first shares a line, which
/// must move between the two threads' caches if they run on separate cores.
/// Returns the run's time divided by `n`: per add, both threads adding at once.
fn two_threads_adding(n: u64, shared: bool) -> f64 {
    let counters = [Padded(AtomicU64::new(0)), Padded(AtomicU64::new(0))];
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let counter = &counters[if shared { 0 } else { t }].0;
            s.spawn(move || {
                for _ in 0..n {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    ns_per(n, start)
}
// ANCHOR_END: cache_lines

fn main() {
    // `QUICK=1` (the chapter tests run it so) takes a twentieth of the
    // steps: enough to check the assertion below, not to measure. It keeps
    // the best of five short runs of the lone lock, so that one run slowed
    // by a busy machine cannot fail the check.
    let quick = std::env::var_os("QUICK").is_some();
    let (scale, tries) = if quick { (20, 5) } else { (1, 1) };
    let alone = (0..tries)
        .map(|_| uncontended(2_000_000 / scale))
        .fold(f64::INFINITY, f64::min);
    let private = two_threads_adding(2_000_000 / scale, false);
    let bouncing = two_threads_adding(2_000_000 / scale, true);
    let handed = hand_over(20_000 / scale);
    for (what, ns) in [
        ("lock and unlock, one thread", alone),
        ("atomic add, two threads, own lines", private),
        ("atomic add, two threads, one line", bouncing),
        ("hand over through the kernel (Condvar ping-pong)", handed),
    ] {
        println!("{what:<40}{ns:>8.0} ns");
    }
    // A futex wait and wake are system calls and a context switch: far more
    // than an uncontended lock, which is one atomic instruction each way.
    assert!(handed > 10.0 * alone, "{handed} vs {alone}");
}
