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
//! The lock is a [`std::sync::Mutex`]. `Mutex::new` is `const`, so
//! `Locked::new` can initialise a `static`. On Linux, today's `std` builds
//! it from one atomic word and the `futex` system call
//! (`library/std/src/sys/sync/mutex/futex.rs`), so locking never allocates.
//! That is the current implementation, not a promise: the `GlobalAlloc`
//! documentation ("Re-entrance") warns that on some platforms `Mutex` may
//! allocate, which inside a global allocator would call back into it. A
//! waiting thread sleeps in the kernel instead of spinning.
//!
//! # Never unwind, never deadlock
//!
//! Unwinding out of a `GlobalAlloc` method is undefined behaviour, and a
//! panic while the lock is held cannot even get that far: the panic
//! machinery allocates (its message, the boxed payload), that allocation
//! comes back into this same allocator on the same thread, and the lock is
//! not reentrant. So `Locked` turns both into an abort with a message
//! written straight to file descriptor 2, which allocates nothing:
//!
//! - it remembers which thread holds the lock, and a call from that thread
//!   while it holds it (an allocation inside the allocator, or the panic
//!   machinery's) aborts instead of deadlocking;
//! - every call into the allocator runs under a guard that aborts if the
//!   call unwinds (which happens when `Locked` is *not* the global
//!   allocator, so the panic could allocate elsewhere);
//! - a poisoned lock aborts too: only a panic inside
//!   [`Locked::with_allocator`] can poison it, and such a panic may have
//!   left the heap half-updated.
//!
//! A failed check in the book's allocators (a `debug_assert!`, or the
//! double-free checks of debug builds) therefore ends the process with
//! `SIGABRT`, as glibc's `malloc` does when it finds its heap corrupted.
//!
//! # Failure
//!
//! `GlobalAlloc` reports failure with a null pointer; every
//! [`AllocError`](crate::raw_allocator::AllocError) becomes one. Collections
//! then call `handle_alloc_error`, which aborts the process.
//!
//! # Statistics
//!
//! `Locked` counts what passes through it: calls, the bytes the program
//! asked for and their sizes, the same [`Stats`] that
//! [`Counting`](crate::counting::Counting) keeps. [`Locked::stats`] copies
//! the counters out under the lock, without allocating, so a program can
//! print how its allocator did.

use crate::raw_allocator::RawAllocator;
use crate::stats::Stats;
use std::alloc::{GlobalAlloc, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::{NonNull, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

struct Inner<A> {
    allocator: A,
    stats: Stats,
}

// ANCHOR: locked
// ANCHOR: locked_struct
/// A `RawAllocator` behind a mutex, usable as `#[global_allocator]`.
pub struct Locked<A> {
    inner: Mutex<Inner<A>>,
    /// The thread that holds the lock (see `this_thread`), or 0.
    owner: AtomicUsize,
}
// ANCHOR_END: locked_struct

impl<A> Locked<A> {
    /// Wraps `allocator`. `const`, so it can initialise a `static`.
    pub const fn new(allocator: A) -> Locked<A> {
        Locked {
            inner: Mutex::new(Inner {
                allocator,
                stats: Stats::ZERO,
            }),
            owner: AtomicUsize::new(0),
        }
    }

    // ANCHOR: lock
    /// Takes the lock, or aborts where waiting could only deadlock or the
    /// heap cannot be trusted.
    fn lock(&self) -> Held<'_, A> {
        let me = this_thread();
        // Only this thread ever stores its own tag here, so reading it back
        // means we already hold the lock: something inside the allocator
        // allocated, or panicked (a panic allocates). Waiting would deadlock.
        if me != 0 && self.owner.load(Ordering::Relaxed) == me {
            abort_with(
                "the allocator was re-entered by the thread that holds its lock \
                 (an allocation or a panic inside the allocator)",
            );
        }
        let Ok(guard) = self.inner.lock() else {
            abort_with(
                "the allocator's lock is poisoned: a panic while it was held \
                 may have left the heap half-updated",
            );
        };
        self.owner.store(me, Ordering::Relaxed);
        Held {
            guard,
            owner: &self.owner,
        }
    }
    // ANCHOR_END: lock
}
// ANCHOR_END: locked

// ANCHOR: abort
/// Runs `f`, and aborts the process if it unwinds: a panic must not escape a
/// `GlobalAlloc` method.
#[inline(always)]
fn no_unwind<R>(f: impl FnOnce() -> R) -> R {
    /// Dropped only if `f` unwinds, because the normal path forgets it.
    struct AbortOnUnwind;
    impl Drop for AbortOnUnwind {
        fn drop(&mut self) {
            abort_with("a panic inside the allocator");
        }
    }
    let bomb = AbortOnUnwind;
    let result = f();
    std::mem::forget(bomb);
    result
}

/// Writes `allocators: {why}; aborting` to standard error with the `write`
/// system call (no formatting, no buffer, no allocation), then aborts.
#[cold]
fn abort_with(why: &str) -> ! {
    for part in ["allocators: ", why, "; aborting\n"] {
        write_stderr(part.as_bytes());
    }
    std::process::abort()
}

/// Writes all of `bytes` to file descriptor 2, retrying short writes and
/// interrupted calls; gives up silently on any other error.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live byte slice.
        let n = unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = bytes.get(n.unsigned_abs()..).unwrap_or_default();
        } else if n == 0
            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            return;
        }
    }
}
// ANCHOR_END: abort

/// An address that identifies the calling thread while it runs: that of a
/// thread-local byte. Thread-locals never use the global allocator (the
/// `GlobalAlloc` documentation promises it), and this one has a `const`
/// initialiser and no destructor, so it needs no memory at all.
fn this_thread() -> usize {
    thread_local! {
        static TAG: u8 = const { 0 };
    }
    TAG.try_with(|tag| std::ptr::from_ref(tag).addr())
        .unwrap_or(0)
}

/// The locked allocator. Dropping it clears the owner, then unlocks.
struct Held<'a, A> {
    guard: MutexGuard<'a, Inner<A>>,
    owner: &'a AtomicUsize,
}

impl<A> Drop for Held<'_, A> {
    fn drop(&mut self) {
        // Runs before `guard` is dropped, so while the lock is still held.
        self.owner.store(0, Ordering::Relaxed);
    }
}

impl<A> Deref for Held<'_, A> {
    type Target = Inner<A>;
    fn deref(&self) -> &Inner<A> {
        &self.guard
    }
}

impl<A> DerefMut for Held<'_, A> {
    fn deref_mut(&mut self) -> &mut Inner<A> {
        &mut self.guard
    }
}

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
    /// `f` must not allocate through this same allocator, nor panic: if it is
    /// the global allocator, that includes formatting a `String`, pushing to
    /// a `Vec`, and `unwrap`. The lock is not reentrant, so instead of
    /// deadlocking, the process aborts. A panic in `f` on an allocator that
    /// is not the global one poisons the lock, and its next use aborts.
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

// ANCHOR: global_alloc
// ANCHOR: global_alloc_short
// SAFETY: every method forwards to a RawAllocator under the lock, so calls
// from different threads never overlap. Blocks come from `allocate` or
// `reallocate` with the caller's layout, which satisfy GlobalAlloc's size and
// alignment contract, and failures return null. `dealloc` and `realloc`
// receive blocks that this allocator returned (GlobalAlloc's contract), which
// is what RawAllocator's `deallocate` and `reallocate` require. No method
// unwinds: `no_unwind` and `lock` abort instead.
unsafe impl<A: RawAllocator> GlobalAlloc for Locked<A> {
    // ANCHOR_END: global_alloc_short
    // ANCHOR: alloc_dealloc
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        no_unwind(|| {
            let mut inner = self.lock();
            match inner.allocator.allocate(layout) {
                Ok(block) => {
                    inner.stats.allocations += 1;
                    inner.stats.requested(layout.size());
                    block.as_ptr()
                }
                Err(_) => {
                    inner.stats.failures += 1;
                    null_mut()
                }
            }
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(ptr) = NonNull::new(ptr) else { return };
        no_unwind(|| {
            let mut inner = self.lock();
            // SAFETY: the caller passes a block this allocator returned, with
            // its layout (GlobalAlloc's contract).
            unsafe { inner.allocator.deallocate(ptr, layout) };
            inner.stats.deallocations += 1;
            inner.stats.freed(layout.size());
        })
    }
    // ANCHOR_END: alloc_dealloc

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
        no_unwind(|| {
            let mut inner = self.lock();
            // SAFETY: the caller passes a live block of this allocator with
            // its layout (GlobalAlloc's contract).
            match unsafe { inner.allocator.reallocate(old, layout, new_size) } {
                Ok(block) => {
                    inner.stats.reallocations += 1;
                    inner.stats.freed(layout.size());
                    inner.stats.requested(new_size);
                    block.as_ptr()
                }
                Err(_) => {
                    inner.stats.failures += 1;
                    null_mut()
                }
            }
        })
    }
    // ANCHOR: impl_close
}
// ANCHOR_END: impl_close
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
        assert_eq!(stats.bytes_allocated, 16 + 16 + 64);
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
