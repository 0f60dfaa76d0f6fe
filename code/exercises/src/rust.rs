//! Exercises of the chapter "Plugging an allocator into Rust".

use std::alloc::{GlobalAlloc, Layout};

// ANCHOR: capped_stub
/// Exercise 1: a `GlobalAlloc` that refuses any single request larger than
/// `limit` bytes (it returns null, as `GlobalAlloc` reports failure) and
/// forwards everything else to `inner`. Handy to test what a program does
/// when memory runs out.
pub struct Capped<A> {
    /// Where the allowed requests go.
    pub inner: A,
    /// The largest request that succeeds.
    pub limit: usize,
}
// ANCHOR_END: capped_stub

#[cfg(not(feature = "solutions"))]
// SAFETY: not solved yet: every method panics before touching memory.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Capped<A> {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        crate::unsolved("Plugging an allocator into Rust", 1)
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {
        crate::unsolved("Plugging an allocator into Rust", 1)
    }
}

// ANCHOR: capped
#[cfg(feature = "solutions")]
// SAFETY: a request is either refused (null, which the contract allows) or
// forwarded unchanged, so every promise is `inner`'s. The default `realloc`
// would go through our capped `alloc`; forwarding it instead lets `inner`
// grow a block in place, but then it must check the limit itself, or a
// block could grow past it.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Capped<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > self.limit {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > self.limit {
            return std::ptr::null_mut(); // the old block stays as it was
        }
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}
// ANCHOR_END: capped
