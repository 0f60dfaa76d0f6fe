//! Checks the exercises of the chapter "Allocators and threads": the
//! predictions against the crate's real `ThreadCached`.

use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::region::Buffer;
use allocators::segregated::SegregatedFreeList;
use allocators::thread_cache::ThreadCached;
use exercises::threads::{cached_after, trips_after};
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

type Heap = SegregatedFreeList<RegionBreak<Buffer<'static>>>;
const BYTES: usize = 1 << 18;
static mut MEMORY: [u128; BYTES / 16] = [0; BYTES / 16];
// SAFETY: only this heap ever touches MEMORY.
static HEAP: Locked<Heap> = Locked::new(SegregatedFreeList::new(RegionBreak::new(unsafe {
    Buffer::from_raw_parts(NonNull::new_unchecked((&raw mut MEMORY).cast()), BYTES)
})));

/// Runs the exercises' program on a fresh thread (so with an empty cache):
/// `n` blocks of 32 bytes allocated, then all freed. Returns what the
/// thread's cache holds before it exits, and the lock trips.
fn run(n: u32, batch: u32) -> (u32, (u64, u64)) {
    std::thread::spawn(move || {
        let cached = ThreadCached::with_batch(&HEAP, batch);
        let layout = Layout::from_size_align(32, 16).expect("a valid layout");
        // SAFETY: a non-zero size.
        let blocks: Vec<*mut u8> = (0..n).map(|_| unsafe { cached.alloc(layout) }).collect();
        assert!(
            blocks.iter().all(|block| !block.is_null()),
            "heap too small"
        );
        for block in blocks {
            // SAFETY: allocated above with `layout`, freed once.
            unsafe { cached.dealloc(block, layout) };
        }
        cached.check().expect("a consistent heap and cache");
        let held = u32::try_from(cached.cached_blocks()).expect("a small count");
        (held, cached.lock_trips())
    })
    .join()
    .expect("the thread ran")
}

const CASES: [(u32, u32); 12] = [
    (0, 8),
    (1, 8),
    (7, 8),
    (8, 8),
    (9, 8),
    (16, 8),
    (20, 8),
    (41, 8),
    (20, 3),
    (100, 1),
    (5, 0),
    (64, 16),
];

#[test]
fn exercise_1_blocks_left_in_the_cache() {
    for (n, batch) in CASES {
        let predicted = cached_after(n, batch);
        assert_eq!(predicted, run(n, batch).0, "n = {n}, batch = {batch}");
    }
}

#[test]
fn exercise_2_lock_trips() {
    for (n, batch) in CASES {
        let predicted = trips_after(n, batch);
        assert_eq!(predicted, run(n, batch).1, "n = {n}, batch = {batch}");
    }
}
