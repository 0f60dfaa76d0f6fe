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
//! [`Stats`], a `Copy` struct, and its `Display` writes a report straight
//! into the formatter, without building a `String`.
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

use crate::stats::Stats;
use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

pub use crate::stats::BUCKETS;

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
    /// bytes. The same as [`Stats::bucket`].
    pub const fn bucket(size: usize) -> usize {
        Stats::bucket(size)
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
    pub fn snapshot(&self) -> Stats {
        let mut histogram = [0; BUCKETS];
        for (count, bucket) in histogram.iter_mut().zip(&self.histogram) {
            *count = bucket.load(Relaxed);
        }
        Stats {
            allocations: self.allocations.load(Relaxed),
            deallocations: self.deallocations.load(Relaxed),
            reallocations: self.reallocations.load(Relaxed),
            failures: self.failures.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            live_bytes: self.live_bytes.load(Relaxed),
            peak_live_bytes: self.peak_live_bytes.load(Relaxed),
            histogram,
            // `inner` is a `GlobalAlloc`, which cannot say how big its heap is.
            heap_size: 0,
            footprint: 0,
        }
    }
    // ANCHOR_END: snapshot

    // ANCHOR: record
    /// Counts a request for `size` bytes: adds it to the request total and
    /// to its histogram bucket. (The live bytes change in `grow_live`.)
    #[inline]
    fn record_request(&self, size: usize) {
        self.bytes_allocated.fetch_add(size as u64, Relaxed);
        self.histogram[Self::bucket(size)].fetch_add(1, Relaxed);
    }

    /// Adds `bytes` to the live bytes, and raises the peak if they are now
    /// the most ever live at once.
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
