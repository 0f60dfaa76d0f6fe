//! Installing a [`RawAllocator`] as Rust's global allocator.
//!
//! `#[global_allocator]` needs a `static` whose type implements
//! [`GlobalAlloc`], whose methods take `&self`: every thread may allocate at
//! once. Our allocators take `&mut self`. [`Locked`] closes the gap the way
//! *Writing an OS in Rust* does: a lock around the allocator, so each call
//! gets the `&mut` it needs.
//!
//! # The lock
//!
//! The lock is a [`std::sync::Mutex`]. On Linux it is a single futex word:
//! `Mutex::new` is `const` (so `Locked::new` can initialise a `static`), and
//! locking and unlocking never allocate, which matters because allocating
//! here would call back into this same allocator. A waiting thread sleeps in
//! the kernel instead of spinning, which a spin lock would do on every
//! contended call. The lock is not reentrant: the allocator must never
//! allocate through the global allocator while it holds it. None of the
//! book's allocators do, and they do not panic either, except on a failed
//! `debug_assert!` (a bug), whose panic message would try to allocate.
//!
//! # Failure
//!
//! `GlobalAlloc` reports failure with a null pointer; every
//! [`AllocError`](crate::raw_allocator::AllocError) becomes one. Collections
//! then call `handle_alloc_error`, which aborts the process.
//!
//! # Statistics
//!
//! `Locked` counts what passes through it: calls, and the bytes the program
//! asked for. [`Locked::stats`] copies the counters out under the lock,
//! without allocating, so a program can print how its allocator did.

use crate::raw_allocator::RawAllocator;
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{null_mut, NonNull};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a [`Locked`] allocator has seen, copied out by [`Locked::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub allocations: u64,
    /// `dealloc` calls.
    pub deallocations: u64,
    /// Successful `realloc` calls.
    pub reallocations: u64,
    /// Calls that returned null.
    pub failures: u64,
    /// Bytes requested by all successful calls, added up (a `realloc`
    /// counts its new size).
    pub requested_bytes: u64,
    /// Bytes of the blocks that are allocated now, as requested (payload).
    pub live_bytes: usize,
    /// The most `live_bytes` ever were.
    pub peak_live_bytes: usize,
    /// The allocator's [`heap_size`](RawAllocator::heap_size) now.
    pub heap_size: usize,
    /// The allocator's [`footprint`](RawAllocator::footprint).
    pub footprint: usize,
}

impl Stats {
    /// All counters at zero. (`Default::default` is not `const`.)
    const ZERO: Stats = Stats {
        allocations: 0,
        deallocations: 0,
        reallocations: 0,
        failures: 0,
        requested_bytes: 0,
        live_bytes: 0,
        peak_live_bytes: 0,
        heap_size: 0,
        footprint: 0,
    };

    /// Heap bytes that hold no live block: freed but not reused, padding,
    /// headers. `heap_size - live_bytes`.
    pub fn unused_heap_bytes(&self) -> usize {
        self.heap_size.saturating_sub(self.live_bytes)
    }

    /// Peak live bytes over footprint, between 0 and 1 (CS:APP's
    /// *utilization*); 1 when nothing was ever allocated.
    pub fn utilization(&self) -> f64 {
        if self.footprint == 0 {
            1.0
        } else {
            self.peak_live_bytes as f64 / self.footprint as f64
        }
    }
}

struct Inner<A> {
    allocator: A,
    stats: Stats,
}

// ANCHOR: locked
/// A [`RawAllocator`] behind a mutex, usable as `#[global_allocator]`.
pub struct Locked<A> {
    inner: Mutex<Inner<A>>,
}

impl<A> Locked<A> {
    /// Wraps `allocator`. `const`, so it can initialise a `static`.
    pub const fn new(allocator: A) -> Locked<A> {
        Locked {
            inner: Mutex::new(Inner {
                allocator,
                stats: Stats::ZERO,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<A>> {
        // A panic while locked (a failed debug assertion) poisons the lock;
        // the counters may then be off, but the allocator is still the best
        // we have, and `GlobalAlloc` must not panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
// ANCHOR_END: locked

impl<A: RawAllocator> Locked<A> {
    /// A copy of the counters, with the allocator's heap size and footprint.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            heap_size: inner.allocator.heap_size(),
            footprint: inner.allocator.footprint(),
            ..inner.stats
        }
    }

    /// Runs `f` on the allocator under the lock, e.g. to run its checker.
    ///
    /// `f` must not allocate through this same allocator: if it is the
    /// global allocator, that includes formatting a `String` or pushing to a
    /// `Vec`. The lock is not reentrant, so that would deadlock.
    pub fn with_allocator<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        f(&mut self.lock().allocator)
    }

    /// Unwraps the allocator.
    pub fn into_inner(self) -> A {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .allocator
    }
}

impl<A> Inner<A> {
    fn note_allocation(&mut self, size: usize) {
        let stats = &mut self.stats;
        stats.requested_bytes = stats.requested_bytes.saturating_add(size as u64);
        stats.live_bytes = stats.live_bytes.saturating_add(size);
        stats.peak_live_bytes = stats.peak_live_bytes.max(stats.live_bytes);
    }
}

// ANCHOR: global_alloc
// SAFETY: every method forwards to a RawAllocator under the lock, so calls
// from different threads never overlap. Blocks come from `allocate` or
// `reallocate` with the caller's layout, which satisfy GlobalAlloc's size and
// alignment contract, and failures return null. `dealloc` and `realloc`
// receive blocks that this allocator returned (GlobalAlloc's contract), which
// is what RawAllocator's `deallocate` and `reallocate` require.
unsafe impl<A: RawAllocator> GlobalAlloc for Locked<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut inner = self.lock();
        match inner.allocator.allocate(layout) {
            Ok(block) => {
                inner.stats.allocations += 1;
                inner.note_allocation(layout.size());
                block.as_ptr()
            }
            Err(_) => {
                inner.stats.failures += 1;
                null_mut()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(ptr) = NonNull::new(ptr) else { return };
        let mut inner = self.lock();
        // SAFETY: the caller passes a block this allocator returned, with its
        // layout (GlobalAlloc's contract).
        unsafe { inner.allocator.deallocate(ptr, layout) };
        inner.stats.deallocations += 1;
        inner.stats.live_bytes = inner.stats.live_bytes.saturating_sub(layout.size());
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `alloc` are the same.
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            // A rewound bump pointer reuses old bytes, so fresh memory is not
            // necessarily zero.
            // SAFETY: the block is valid for `layout.size()` bytes.
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(old) = NonNull::new(ptr) else {
            return null_mut();
        };
        let mut inner = self.lock();
        // SAFETY: the caller passes a live block of this allocator with its
        // layout (GlobalAlloc's contract).
        match unsafe { inner.allocator.reallocate(old, layout, new_size) } {
            Ok(block) => {
                inner.stats.reallocations += 1;
                inner.stats.live_bytes = inner.stats.live_bytes.saturating_sub(layout.size());
                inner.note_allocation(new_size);
                block.as_ptr()
            }
            Err(_) => {
                inner.stats.failures += 1;
                null_mut()
            }
        }
    }
}
// ANCHOR_END: global_alloc

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::BumpAllocator;
    use crate::region::OwnedRegion;

    fn locked(len: usize) -> Locked<BumpAllocator<OwnedRegion>> {
        Locked::new(BumpAllocator::new(OwnedRegion::new(len, 4096).unwrap()))
    }

    #[test]
    fn exhaustion_returns_null() {
        let heap = locked(128);
        // Size a multiple of the alignment: no padding, so freeing the block
        // rewinds the heap all the way.
        let layout = Layout::from_size_align(100, 4).unwrap();
        // SAFETY: the layout has a non-zero size.
        let a = unsafe { heap.alloc(layout) };
        assert!(!a.is_null());
        // SAFETY: as above.
        assert!(unsafe { heap.alloc(layout) }.is_null());
        // SAFETY: as above.
        assert!(unsafe { heap.alloc_zeroed(layout) }.is_null());
        // SAFETY: `a` is live with `layout`; growing past the heap fails.
        assert!(unsafe { heap.realloc(a, layout, 1000) }.is_null());
        let stats = heap.stats();
        assert_eq!(
            (stats.allocations, stats.failures, stats.live_bytes),
            (1, 3, 100)
        );
        // SAFETY: `a` is still live after the failed realloc.
        unsafe { heap.dealloc(a, layout) };
        assert_eq!(heap.stats().live_bytes, 0);
        assert_eq!(heap.stats().heap_size, 0, "the last block was rewound");
    }

    #[test]
    fn zeroed_and_reallocated_blocks() {
        let heap = locked(4096);
        let layout = Layout::from_size_align(16, 8).unwrap();
        // SAFETY: non-zero size; every block is used within its size and
        // freed once with its layout.
        unsafe {
            let a = heap.alloc(layout);
            a.write_bytes(0xff, 16);
            heap.dealloc(a, layout);
            let z = heap.alloc_zeroed(layout);
            assert_eq!(z, a, "the rewound block comes back");
            assert!(std::slice::from_raw_parts(z, 16).iter().all(|&b| b == 0));
            z.write_bytes(7, 16);
            let big = heap.realloc(z, layout, 64);
            assert!(std::slice::from_raw_parts(big, 16).iter().all(|&b| b == 7));
            heap.dealloc(big, Layout::from_size_align(64, 8).unwrap());
        }
        let stats = heap.stats();
        assert_eq!(stats.requested_bytes, 16 + 16 + 64);
        assert_eq!(stats.peak_live_bytes, 64);
        assert_eq!(stats.live_bytes, 0);
        heap.with_allocator(|a| a.check()).unwrap();
    }

    #[test]
    fn threads_share_it() {
        let heap = locked(64 * 1024);
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let heap = &heap;
                s.spawn(move || {
                    let layout = Layout::new::<[u8; 32]>();
                    for _ in 0..50 {
                        // SAFETY: non-zero size; the block is ours alone.
                        unsafe {
                            let p = heap.alloc(layout);
                            assert!(!p.is_null());
                            p.write_bytes(t, 32);
                            assert!(std::slice::from_raw_parts(p, 32).iter().all(|&b| b == t));
                        }
                    }
                });
            }
        });
        assert_eq!(heap.stats().allocations, 200);
        assert_eq!(heap.into_inner().heap_size(), 200 * 32);
    }
}
