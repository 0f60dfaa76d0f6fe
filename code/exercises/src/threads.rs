//! Exercises of the chapter "Allocators and threads".
//!
//! Both exercises predict, with pencil-and-paper rules, what the crate's
//! `ThreadCached::with_batch(heap, batch)` does when one thread, starting
//! with an empty cache, allocates `n` blocks of one size class and then
//! frees all of them. The rules: an allocation from an empty class first
//! refills `batch` blocks (one lock trip); a free into a class that holds
//! `2 * batch` blocks first drains `batch` of them (one lock trip). A batch
//! of 0 counts as 1. The tests run the real allocator and compare.

#[cfg(not(feature = "solutions"))]
// ANCHOR: cached_after_stub
/// Exercise 1: how many blocks the thread's cache holds at the end.
pub fn cached_after(n: u32, batch: u32) -> u32 {
    let _ = (n, batch);
    crate::unsolved("Allocators and threads", 1)
}
// ANCHOR_END: cached_after_stub

// ANCHOR: cached_after
/// Exercise 1: how many blocks the thread's cache holds at the end.
#[cfg(feature = "solutions")]
pub fn cached_after(n: u32, batch: u32) -> u32 {
    let batch = batch.max(1);
    let mut len = 0;
    for _ in 0..n {
        if len == 0 {
            len += batch; // refill
        }
        len -= 1;
    }
    for _ in 0..n {
        if len >= 2 * batch {
            len -= batch; // drain
        }
        len += 1;
    }
    len
}
// ANCHOR_END: cached_after

#[cfg(not(feature = "solutions"))]
// ANCHOR: trips_after_stub
/// Exercise 2: how many times the thread took the lock, as `(refills,
/// drains)`, the pair `ThreadCached::lock_trips` returns.
pub fn trips_after(n: u32, batch: u32) -> (u64, u64) {
    let _ = (n, batch);
    crate::unsolved("Allocators and threads", 2)
}
// ANCHOR_END: trips_after_stub

// ANCHOR: trips_after
/// Exercise 2: how many times the thread took the lock, as `(refills,
/// drains)`, the pair `ThreadCached::lock_trips` returns.
#[cfg(feature = "solutions")]
pub fn trips_after(n: u32, batch: u32) -> (u64, u64) {
    let batch = u64::from(batch.max(1));
    let n = u64::from(n);
    // Allocating n blocks: one refill per batch, rounded up.
    let refills = n.div_ceil(batch);
    // Left over after the allocations: less than one batch.
    let left = refills * batch - n;
    // Freeing: a drain runs before a push that finds 2 * batch blocks, so
    // the first drain comes with block 2 * batch + 1, then one per batch.
    let drains = (left + n).saturating_sub(batch + 1) / batch;
    (refills, drains)
}
// ANCHOR_END: trips_after
