//! A global allocator that counts: wrap any `GlobalAlloc` to see how a
//! program allocates before deciding whether to write an allocator at all.
//!
//! [`Counting`] forwards every call to the allocator it wraps and records,
//! with relaxed atomic counters and nothing else:
//!
//! - how many allocations, deallocations and reallocations there were, and
//!   how many returned null;
//! - the bytes requested in all, the bytes live now, and the most that were
//!   ever live at once (the *peak*);
//! - a histogram of requested sizes in power-of-two buckets.
//!
//! It must not allocate while it counts: an allocation inside `alloc` would
//! call `alloc` again. Atomics need no memory and no lock, so the counters
//! are plain `static` data. [`Counting::snapshot`] copies them into a
//! [`Snapshot`], a `Copy` struct, and `Snapshot`'s `Display` writes a report
//! straight into the formatter, without building a `String`.
//!
//! ```
//! use allocators::counting::Counting;
//! use std::alloc::{GlobalAlloc, Layout, System};
//!
//! static A: Counting<System> = Counting::new(System);
//! let layout = Layout::new::<[u8; 100]>();
//! // SAFETY: non-zero size; the block is freed once with its layout.
//! unsafe {
//!     let p = A.alloc(layout);
//!     A.dealloc(p, layout);
//! }
//! let s = A.snapshot();
//! assert_eq!((s.allocations, s.deallocations, s.peak_live_bytes), (1, 1, 100));
//! assert_eq!(s.histogram[Counting::<System>::bucket(100)], 1); // the "≤ 128" bucket
//! ```
//!
//! With `#[global_allocator] static A: Counting<System> = Counting::new(System);`
//! it counts everything a program allocates: see the `counting_workload`
//! example.
//!
//! # Precision
//!
//! Each counter is exact, but a snapshot reads them one after another, so
//! while other threads allocate it can mix moments (e.g. count an allocation
//! whose bytes it misses). The peak is kept with `fetch_max` after each
//! increase, so it is never below a live total some thread saw. Relaxed
//! ordering is enough: the counters order nothing else.

use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// The number of histogram buckets: bucket `k` counts sizes in
/// `(2^(k-1), 2^k]` (bucket 0: sizes 0 and 1), up to the largest size a
/// `Layout` allows.
pub const BUCKETS: usize = usize::BITS as usize;

// ANCHOR: struct
/// A global allocator that forwards to `A` and counts what passes through.
pub struct Counting<A> {
    inner: A,
    allocations: AtomicU64,
    deallocations: AtomicU64,
    reallocations: AtomicU64,
    failures: AtomicU64,
    /// Bytes requested by successful calls, added up.
    bytes_allocated: AtomicU64,
    live_bytes: AtomicUsize,
    peak_live_bytes: AtomicUsize,
    /// Requests per power-of-two size bucket.
    histogram: [AtomicU64; BUCKETS],
}
// ANCHOR_END: struct

/// The counters of a [`Counting`] allocator at one moment: plain numbers,
/// `Copy`, so that taking one never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub allocations: u64,
    /// `dealloc` calls.
    pub deallocations: u64,
    /// Successful `realloc` calls.
    pub reallocations: u64,
    /// Calls that returned null.
    pub failures: u64,
    /// Bytes requested by successful allocations and reallocations (a
    /// reallocation counts its new size), added up.
    pub bytes_allocated: u64,
    /// Bytes of the blocks allocated now, as requested.
    pub live_bytes: usize,
    /// The most `live_bytes` ever were.
    pub peak_live_bytes: usize,
    /// Successful allocations and reallocations by requested size: entry
    /// `k` counts sizes in `(2^(k-1), 2^k]`, entry 0 sizes 0 and 1. See
    /// [`Counting::bucket`].
    pub histogram: [u64; BUCKETS],
}

impl<A> Counting<A> {
    // ANCHOR: new
    /// Wraps `inner` with every counter at zero. `const`, so that it can
    /// initialise the `#[global_allocator]` static.
    pub const fn new(inner: A) -> Counting<A> {
        Counting {
            inner,
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            live_bytes: AtomicUsize::new(0),
            peak_live_bytes: AtomicUsize::new(0),
            histogram: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }
    // ANCHOR_END: new

    // ANCHOR: bucket
    /// The histogram bucket of a request of `size` bytes: the `k` with
    /// `2^(k-1) < size <= 2^k`, so 0 for sizes 0 and 1, and 7 for 65 to 128
    /// bytes.
    pub const fn bucket(size: usize) -> usize {
        if size <= 1 {
            0
        } else {
            // `size - 1` has its top bit at position k - 1.
            let k = (usize::BITS - (size - 1).leading_zeros()) as usize;
            if k < BUCKETS {
                k
            } else {
                BUCKETS - 1
            }
        }
    }
    // ANCHOR_END: bucket

    /// Starts a new peak: sets the peak live bytes to the bytes live now,
    /// so that the next [`snapshot`](Self::snapshot) reports the peak of
    /// what ran in between.
    pub fn reset_peak(&self) {
        self.peak_live_bytes
            .store(self.live_bytes.load(Relaxed), Relaxed);
    }

    /// The allocator it wraps.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    // ANCHOR: snapshot
    /// Copies the counters out. Never allocates.
    pub fn snapshot(&self) -> Snapshot {
        let mut histogram = [0; BUCKETS];
        for (count, bucket) in histogram.iter_mut().zip(&self.histogram) {
            *count = bucket.load(Relaxed);
        }
        Snapshot {
            allocations: self.allocations.load(Relaxed),
            deallocations: self.deallocations.load(Relaxed),
            reallocations: self.reallocations.load(Relaxed),
            failures: self.failures.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            live_bytes: self.live_bytes.load(Relaxed),
            peak_live_bytes: self.peak_live_bytes.load(Relaxed),
            histogram,
        }
    }
    // ANCHOR_END: snapshot

    // ANCHOR: record
    /// Counts `size` new bytes: the request total, the histogram, the live
    /// bytes and their peak.
    #[inline]
    fn record_request(&self, size: usize) {
        self.bytes_allocated.fetch_add(size as u64, Relaxed);
        self.histogram[Self::bucket(size)].fetch_add(1, Relaxed);
    }

    #[inline]
    fn grow_live(&self, bytes: usize) {
        // `fetch_add` returns the old total; the new one cannot wrap, since
        // the live blocks all fit in the address space.
        let live = self
            .live_bytes
            .fetch_add(bytes, Relaxed)
            .wrapping_add(bytes);
        self.peak_live_bytes.fetch_max(live, Relaxed);
    }
    // ANCHOR_END: record
}

// ANCHOR: global_alloc
// SAFETY: every method forwards to `inner` with the caller's arguments and
// returns what it returns, so `inner`'s guarantees carry over; the counting
// around it only touches atomics (no allocation, no lock, no panic).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `alloc` are passed on.
        let block = unsafe { self.inner.alloc(layout) };
        self.count_allocation(block, layout);
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`; forwarded so that `inner` can use memory
        // it knows is zero (fresh pages) instead of clearing it.
        let block = unsafe { self.inner.alloc_zeroed(layout) };
        self.count_allocation(block, layout);
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a block of this allocator, so of `inner`, with
        // this layout (the caller's guarantee).
        unsafe { self.inner.dealloc(ptr, layout) };
        self.deallocations.fetch_add(1, Relaxed);
        self.live_bytes.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is valid (the caller's
        // guarantee).
        let block = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if block.is_null() {
            self.failures.fetch_add(1, Relaxed);
        } else {
            self.reallocations.fetch_add(1, Relaxed);
            self.record_request(new_size);
            match new_size.checked_sub(layout.size()) {
                Some(grown) => self.grow_live(grown),
                None => {
                    self.live_bytes.fetch_sub(layout.size() - new_size, Relaxed);
                }
            }
        }
        block
    }
}
// ANCHOR_END: global_alloc

impl<A> Counting<A> {
    #[inline]
    fn count_allocation(&self, block: *mut u8, layout: Layout) {
        if block.is_null() {
            self.failures.fetch_add(1, Relaxed);
        } else {
            self.allocations.fetch_add(1, Relaxed);
            self.record_request(layout.size());
            self.grow_live(layout.size());
        }
    }
}

impl<A> fmt::Debug for Counting<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counting").field(&self.snapshot()).finish()
    }
}

impl Snapshot {
    /// Blocks allocated and not yet freed: allocations minus
    /// deallocations (a reallocation moves a block, it does not add one).
    pub fn live_blocks(&self) -> u64 {
        self.allocations.saturating_sub(self.deallocations)
    }

    /// Requests in the histogram: allocations plus reallocations.
    pub fn requests(&self) -> u64 {
        self.histogram.iter().sum()
    }

    /// The largest size that falls in histogram bucket `k`: `2^k`.
    pub const fn bucket_limit(k: usize) -> usize {
        if k + 1 >= BUCKETS {
            usize::MAX
        } else {
            1 << k
        }
    }

    /// What happened between `earlier` and this snapshot: the counters'
    /// differences, and the live bytes added since (0 if fewer are live
    /// now). The peak stays this snapshot's: call
    /// [`Counting::reset_peak`] when `earlier` is taken to get the peak of
    /// the part in between.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let mut histogram = self.histogram;
        for (now, then) in histogram.iter_mut().zip(&earlier.histogram) {
            *now = now.saturating_sub(*then);
        }
        Snapshot {
            allocations: self.allocations.saturating_sub(earlier.allocations),
            deallocations: self.deallocations.saturating_sub(earlier.deallocations),
            reallocations: self.reallocations.saturating_sub(earlier.reallocations),
            failures: self.failures.saturating_sub(earlier.failures),
            bytes_allocated: self.bytes_allocated.saturating_sub(earlier.bytes_allocated),
            live_bytes: self.live_bytes.saturating_sub(earlier.live_bytes),
            peak_live_bytes: self.peak_live_bytes,
            histogram,
        }
    }
}

/// Writes `n` with thousands separators (`1,234,567`), digit by digit, so
/// that no `String` is built.
fn write_grouped(f: &mut fmt::Formatter<'_>, n: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Pad on the left to a fixed width of 15 (u64::MAX needs 26 with commas;
    // real counts are shorter), so columns line up.
    let width = len + (len - 1) / 3;
    for _ in width..15 {
        f.write_str(" ")?;
    }
    for i in (0..len).rev() {
        write!(f, "{}", digits[i])?;
        if i > 0 && i % 3 == 0 {
            f.write_str(",")?;
        }
    }
    Ok(())
}

/// Writes a bucket's upper limit the short way: `8`, `4K`, `16M`, `1G`,
/// `max`.
fn write_size(f: &mut fmt::Formatter<'_>, bytes: usize) -> fmt::Result {
    if bytes == usize::MAX {
        // The last bucket, which also holds everything above its power of two.
        return f.write_str(" max ");
    }
    let (value, unit) = match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => (b >> 30, "G"),
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => (b >> 20, "M"),
        b if b >= 1 << 10 && b.is_multiple_of(1 << 10) => (b >> 10, "K"),
        b => (b, ""),
    };
    write!(f, "{value:>4}{unit:1}")
}

// ANCHOR: display
/// The report: the counters, then one histogram line per non-empty bucket
/// with a bar of `#`s. Written piece by piece into the formatter; it builds
/// no `String`, so it allocates nothing of its own.
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, u64); 8] = [
            ("allocations", self.allocations),
            ("deallocations", self.deallocations),
            ("reallocations", self.reallocations),
            ("failed calls", self.failures),
            ("live blocks", self.live_blocks()),
            ("bytes allocated", self.bytes_allocated),
            ("live bytes", self.live_bytes as u64),
            ("peak live bytes", self.peak_live_bytes as u64),
        ];
        for (name, value) in rows {
            write!(f, "{name:<16}")?;
            write_grouped(f, value)?;
            f.write_str("\n")?;
        }
        f.write_str("requests by size (bytes, at most):\n")?;
        let most = self.histogram.iter().copied().max().unwrap_or(0).max(1);
        for (k, &count) in self.histogram.iter().enumerate() {
            if count == 0 {
                continue;
            }
            f.write_str("  <= ")?;
            write_size(f, Self::bucket_limit(k))?;
            write_grouped(f, count)?;
            f.write_str(" ")?;
            // At least one `#` for a bucket that is not empty.
            let bar = (count.saturating_mul(40) / most).max(1);
            for _ in 0..bar {
                f.write_str("#")?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}
// ANCHOR_END: display

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        let bucket = Counting::<()>::bucket;
        assert_eq!([bucket(0), bucket(1), bucket(2)], [0, 0, 1]);
        assert_eq!([bucket(3), bucket(4), bucket(5)], [2, 2, 3]);
        assert_eq!([bucket(64), bucket(65), bucket(128)], [6, 7, 7]);
        assert_eq!(bucket(isize::MAX as usize), BUCKETS - 1);
        assert_eq!(bucket(usize::MAX), BUCKETS - 1);
        for k in 0..BUCKETS - 1 {
            assert_eq!(bucket(Snapshot::bucket_limit(k)), k);
        }
    }
}
