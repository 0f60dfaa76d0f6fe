//! The book's allocators behind Rust's `Allocator` trait, on stable Rust.
//!
//! `#[global_allocator]` replaces the allocator of a whole program. The
//! `Allocator` trait (unstable in `std`, tracking issue rust-lang/rust#32838)
//! is the other way in: a *single* collection takes an allocator as a type
//! parameter, as in `Vec::new_in(&arena)`. The `allocator-api2` crate mirrors
//! that trait, and its `Vec` and `Box`, on stable Rust, so this module
//! implements it for [`Locked`]: any of the book's allocators, shared through
//! a lock, can hold collections.
//!
//! ```
//! use allocators::collections::Vec;
//! use allocators::{bump::BumpAllocator, global::Locked, region::OwnedRegion};
//!
//! let arena = Locked::new(BumpAllocator::new(OwnedRegion::new(4096, 16).unwrap()));
//! let mut v: Vec<u32, &Locked<_>> = Vec::new_in(&arena);
//! v.extend([1, 2, 3]);
//! assert_eq!(v.iter().sum::<u32>(), 6);
//! ```

/// The collections that take an allocator parameter, re-exported so that
/// code using them names the same `allocator-api2` as this crate (a program
/// may link more than one version of it).
pub use allocator_api2::{boxed::Box, vec::Vec};

use crate::global::Locked;
use crate::raw_allocator::RawAllocator;
use allocator_api2::alloc::{AllocError, Allocator};
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

// ANCHOR: allocator
// SAFETY: blocks come from the wrapped allocator through `GlobalAlloc`, which
// returns memory valid for the layout until it is deallocated; the lock makes
// `&self` calls from any thread safe; a `Locked` can be moved without moving
// its blocks (they live in its region, not in the `Locked` value), and every
// copy of `&Locked` refers to the same allocator, so a block may be freed
// through any of them.
unsafe impl<A: RawAllocator> Allocator for Locked<A> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        // `Allocator` allows zero-size requests and `GlobalAlloc` does not:
        // hand out a dangling, well-aligned pointer that owns no memory.
        if layout.size() == 0 {
            let dangling =
                NonNull::new(std::ptr::without_provenance_mut(layout.align())).ok_or(AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(dangling, 0));
        }
        // SAFETY: the size is not zero.
        let block = NonNull::new(unsafe { GlobalAlloc::alloc(self, layout) }).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, layout.size()))
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: `ptr` was allocated by `allocate` above with this
            // layout (the trait's contract), so by `GlobalAlloc::alloc`.
            unsafe { GlobalAlloc::dealloc(self, ptr.as_ptr(), layout) }
        }
    }

    /// Grows through the allocator's own `reallocate`, which can extend a
    /// block in place, instead of the trait's default (allocate, copy, free).
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller's guarantees (a live block with layout `old`,
        // `new` at least as large) are what `resize` needs.
        unsafe { self.resize(ptr, old, new) }
    }

    /// Shrinks in place where the allocator can, as `grow` does.
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: as in `grow`.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl<A: RawAllocator> Locked<A> {
    /// `grow` and `shrink`: `GlobalAlloc::realloc` keeps the alignment and
    /// needs non-zero sizes, so anything else goes the long way round.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this allocator, allocated with `old`.
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() != 0 && new.size() != 0 && old.align() == new.align() {
            // SAFETY: a live, non-empty block with layout `old`, and a
            // non-zero new size that `new` proves fits a Layout.
            let block = unsafe { GlobalAlloc::realloc(self, ptr.as_ptr(), old, new.size()) };
            let block = NonNull::new(block).ok_or(AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(block, new.size()));
        }
        let block = Allocator::allocate(self, new)?;
        // SAFETY: both blocks are live and distinct; the copy takes the
        // smaller size; the old block is freed once, with its layout.
        unsafe {
            let keep = old.size().min(new.size());
            std::ptr::copy_nonoverlapping(ptr.as_ptr(), block.cast::<u8>().as_ptr(), keep);
            Allocator::deallocate(self, ptr, old);
        }
        Ok(block)
    }
}
// ANCHOR_END: allocator
