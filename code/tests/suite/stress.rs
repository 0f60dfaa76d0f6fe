//! Multi-threaded stress through the global-allocator adapter.
//!
//! Several threads share one [`Locked`] allocator, the way a program's
//! threads share its `#[global_allocator]`, and each does a random mix of
//! `alloc`, `alloc_zeroed`, `realloc` and `dealloc` through the
//! [`GlobalAlloc`] interface. Every block is filled with a pattern unique to
//! it (the thread, the block, the byte's offset), and the pattern is checked
//! before the block is freed and, up to the old size, after it is resized.
//! Two threads handed overlapping blocks, or a header written over a live
//! payload, would break a pattern. Meanwhile one thread runs the heap
//! checker now and then, under the lock, so the heap is checked while the
//! others are mid-flight, and once more at the end.
//!
//! A watchdog fails the test if the threads have not finished in time: a
//! lock that is never released shows up as a failure, not a hung `cargo
//! test`.
//!
//! The bump allocator reuses only its newest block, so for it the test
//! checks only that live blocks keep their contents, and it may run out of
//! memory (a null pointer, counted, never a crash).
//!
//! Under Miri the same test runs with two threads and a few dozen steps
//! each.

use allocators::catalog::{Book, STRESSED};
use allocators::global::Locked;
use allocators::growing_bump::GrowingBump;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc;
use std::time::Duration;

/// Threads sharing the allocator.
const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
/// Random steps each thread takes.
const STEPS: usize = if cfg!(miri) { 100 } else { 3000 };
/// Live blocks a thread holds at most.
const SLOTS: usize = if cfg!(miri) { 6 } else { 48 };
/// The largest block (most are far smaller).
const MAX_SIZE: usize = if cfg!(miri) { 200 } else { 3000 };
/// Thread 0 runs the heap checker every this many steps.
const CHECK_EVERY: usize = if cfg!(miri) { 25 } else { 500 };
/// The heap of the free lists: far more than `THREADS * SLOTS * MAX_SIZE`,
/// so a failure is a bug, not exhaustion.
const HEAP: usize = if cfg!(miri) { 64 * 1024 } else { 8 << 20 };
/// The watchdog's limit: generous, since a debug build on a busy two-core
/// machine is slow, but far below "hung".
const LIMIT: Duration = Duration::from_secs(if cfg!(miri) { 3600 } else { 60 });

/// A small deterministic generator (xorshift64*), one per thread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n
    }
}

/// The byte at `offset` of the block tagged `tag`.
fn pattern(tag: u32, offset: usize) -> u8 {
    (tag.wrapping_mul(0x9e37_79b9) >> 24) as u8 ^ (offset as u8).wrapping_mul(31)
}

/// Fills `size` bytes at `ptr` with the pattern of `tag`.
///
/// # Safety
///
/// `ptr` must be valid for writes of `size` bytes.
unsafe fn fill(ptr: *mut u8, size: usize, tag: u32) {
    for offset in 0..size {
        // SAFETY: `offset < size` (caller's guarantee).
        unsafe { ptr.add(offset).write(pattern(tag, offset)) };
    }
}

/// Panics unless the first `size` bytes at `ptr` hold the pattern of `tag`.
///
/// # Safety
///
/// `ptr` must be valid for reads of `size` bytes.
unsafe fn verify(ptr: *const u8, size: usize, tag: u32, what: &str) {
    // SAFETY: the caller's guarantee.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, size) };
    if let Some(offset) = (0..size).find(|&i| bytes[i] != pattern(tag, i)) {
        panic!(
            "{what}: block {tag:#x} at {ptr:p} ({size} bytes) corrupted at offset {offset}: {:#04x}, expected {:#04x}",
            bytes[offset],
            pattern(tag, offset)
        );
    }
}

/// A live block: where, its layout, and the tag of its pattern.
struct Live {
    ptr: *mut u8,
    layout: Layout,
    tag: u32,
}

/// What one thread saw.
#[derive(Default)]
struct Counts {
    allocs: usize,
    reallocs: usize,
    frees: usize,
    failures: usize,
}

fn random_layout(rng: &mut Rng) -> Layout {
    // Mostly small blocks, some medium, a few large; mostly word alignment.
    let size = match rng.below(10) {
        0..=6 => 1 + rng.below(64),
        7 | 8 => 65 + rng.below(MAX_SIZE / 4),
        _ => 1 + rng.below(MAX_SIZE),
    };
    let align = match rng.below(10) {
        0..=7 => 8,
        8 => 1 << rng.below(4),
        _ => 1 << (4 + rng.below(5)), // 16 to 256
    };
    Layout::from_size_align(size, align).unwrap()
}

/// One thread's random program on the shared allocator.
fn worker<A: RawAllocator>(heap: &Locked<A>, thread: usize, may_fail: bool) -> Counts {
    let mut rng = Rng(0x5eed_0000 + thread as u64 * 0x1_0001);
    let mut slots: Vec<Option<Live>> = (0..SLOTS).map(|_| None).collect();
    let mut counts = Counts::default();
    let mut next_tag = (thread as u32) << 24;
    let mut new_tag = || {
        next_tag += 1;
        next_tag
    };
    let fail = |counts: &mut Counts, what: &str, layout: Layout| {
        assert!(may_fail, "thread {thread}: {what} of {layout:?} failed");
        counts.failures += 1;
    };
    for step in 0..STEPS {
        if thread == 0 && step % CHECK_EVERY == 0 {
            heap.with_allocator(|a| a.check())
                .unwrap_or_else(|e| panic!("heap checker at step {step}: {e}"));
        }
        let slot = rng.below(SLOTS);
        match slots[slot].take() {
            None => {
                let layout = random_layout(&mut rng);
                let zeroed = rng.below(4) == 0;
                // SAFETY: the layout's size is at least 1.
                let ptr = unsafe {
                    if zeroed {
                        heap.alloc_zeroed(layout)
                    } else {
                        heap.alloc(layout)
                    }
                };
                if ptr.is_null() {
                    fail(&mut counts, "alloc", layout);
                    continue;
                }
                assert_eq!(ptr.addr() % layout.align(), 0, "misaligned {layout:?}");
                if zeroed {
                    // SAFETY: a fresh block of `layout.size()` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                    assert!(bytes.iter().all(|&b| b == 0), "alloc_zeroed not zeroed");
                }
                let tag = new_tag();
                // SAFETY: the block is ours, `layout.size()` bytes.
                unsafe { fill(ptr, layout.size(), tag) };
                counts.allocs += 1;
                slots[slot] = Some(Live { ptr, layout, tag });
            }
            Some(live) if rng.below(3) == 0 => {
                // Resize: the old contents must survive up to the smaller
                // size; then the whole block gets a fresh pattern.
                let new_size = random_layout(&mut rng).size();
                // SAFETY: the block is live with `live.layout`.
                unsafe { verify(live.ptr, live.layout.size(), live.tag, "before realloc") };
                // SAFETY: a live block of this allocator with its layout, and
                // a non-zero new size that fits a Layout.
                let ptr = unsafe { heap.realloc(live.ptr, live.layout, new_size) };
                if ptr.is_null() {
                    fail(&mut counts, "realloc", live.layout);
                    // The old block is untouched and still ours.
                    slots[slot] = Some(live);
                    continue;
                }
                assert_eq!(ptr.addr() % live.layout.align(), 0, "realloc misaligned");
                let kept = live.layout.size().min(new_size);
                // SAFETY: the new block holds at least `kept` bytes.
                unsafe { verify(ptr, kept, live.tag, "after realloc") };
                let layout = Layout::from_size_align(new_size, live.layout.align()).unwrap();
                let tag = new_tag();
                // SAFETY: the block is ours, `new_size` bytes.
                unsafe { fill(ptr, new_size, tag) };
                counts.reallocs += 1;
                slots[slot] = Some(Live { ptr, layout, tag });
            }
            Some(live) => {
                // SAFETY: the block is live with `live.layout`; freed once.
                unsafe {
                    verify(live.ptr, live.layout.size(), live.tag, "before dealloc");
                    heap.dealloc(live.ptr, live.layout);
                }
                counts.frees += 1;
            }
        }
    }
    for live in slots.into_iter().flatten() {
        // SAFETY: as for the frees above.
        unsafe {
            verify(live.ptr, live.layout.size(), live.tag, "at the end");
            heap.dealloc(live.ptr, live.layout);
        }
        counts.frees += 1;
    }
    counts
}

/// Runs `THREADS` workers on `heap` under a watchdog, then checks the heap
/// and the counters.
fn stress<A: RawAllocator + Send + 'static>(name: &'static str, heap: Locked<A>, may_fail: bool) {
    let (done, finished) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        let counts: Vec<Counts> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let heap = &heap;
                    s.spawn(move || worker(heap, t, may_fail))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let _ = done.send(());
        (heap, counts)
    });
    match finished.recv_timeout(LIMIT) {
        // Finished, or a worker panicked (the channel closes): `join` tells.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: {THREADS} threads did not finish in {LIMIT:?}: a deadlock?")
        }
    }
    let (heap, counts) = runner
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    heap.with_allocator(|a| a.check())
        .unwrap_or_else(|e| panic!("{name}: heap checker at the end: {e}"));
    let stats = heap.stats();
    let allocs: usize = counts.iter().map(|c| c.allocs).sum();
    let reallocs: usize = counts.iter().map(|c| c.reallocs).sum();
    let frees: usize = counts.iter().map(|c| c.frees).sum();
    let failures: usize = counts.iter().map(|c| c.failures).sum();
    assert_eq!(stats.allocations, allocs as u64, "{name}: allocations");
    assert_eq!(
        stats.reallocations, reallocs as u64,
        "{name}: reallocations"
    );
    assert_eq!(stats.deallocations, frees as u64, "{name}: deallocations");
    assert_eq!(stats.failures, failures as u64, "{name}: failures");
    assert_eq!(allocs, frees, "{name}: every block was freed");
    assert_eq!(stats.live_bytes, 0, "{name}: live bytes");
    assert!(
        allocs > THREADS * STEPS / 8,
        "{name}: only {allocs} allocations"
    );
    assert!(
        may_fail || failures == 0,
        "{name}: {failures} failures in a heap with room to spare"
    );
}

/// Whether `which` may run out of room: the bumps reuse only their newest
/// block (and the growing one stops at its limit).
fn may_fail(which: Book) -> bool {
    matches!(which, Book::Bump | Book::GrowingBump)
}

/// One test per allocator of the catalog's `STRESSED` list, each built by
/// `with_book!`, so a new allocator in the book is stressed at once.
macro_rules! stress_tests {
    ($($test:ident: $which:expr),* $(,)?) => {
        $(#[test]
        fn $test() {
            let which: Book = $which;
            allocators::with_book!(which, |r| r,
                // Maps chunks as it fills up; a limit keeps a bug from
                // mapping forever.
                growing: GrowingBump::with_limits(64 * 1024, 256 << 20),
                |make| {
                    let heap = make(OwnedRegion::new(HEAP, 4096).unwrap()).unwrap();
                    stress(which.name(), Locked::new(heap), may_fail(which))
                })
        })*

        #[test]
        fn every_stressed_allocator_has_a_test() {
            let tested = [$($which),*];
            assert_eq!(tested, STRESSED);
            assert_eq!(STRESSED, Book::ALL);
        }
    };
}

stress_tests!(
    bump_keeps_live_blocks_intact: Book::Bump,
    growing_bump_keeps_live_blocks_intact: Book::GrowingBump,
    implicit_free_list_first_fit: Book::Implicit,
    implicit_free_list_next_fit: Book::ImplicitNext,
    implicit_free_list_best_fit: Book::ImplicitBest,
    explicit_free_list_lifo: Book::Explicit,
    explicit_free_list_address_ordered: Book::ExplicitAddr,
    segregated_free_lists: Book::Segregated,
);
