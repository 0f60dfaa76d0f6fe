//! The bump allocator: one pointer that moves through a region.
//!
//! A bump allocator keeps a single pointer, the *bump pointer*. Allocating
//! moves it past the new block; that is all. There are no headers and no free
//! list, so it is as fast as an allocator can be, and it wastes only alignment
//! padding. The price is freeing: a block can be given back only if it is the
//! most recent one (the pointer moves back, like a stack), and otherwise the
//! memory stays used until [`BumpAllocator::reset`] frees everything at once.
//!
//! # Why the pointer moves down
//!
//! This allocator starts at the *end* of its region and bumps *downward*, as
//! `bumpalo` does. For a block of `size` bytes aligned to `align`, compare the
//! two directions:
//!
//! - **Up**: round the pointer up to `align`
//!   (`(ptr + align - 1) & !(align - 1)`), then add `size`. That is two
//!   additions, and *each* can overflow, so each needs a check; the block
//!   starts at the rounded pointer.
//! - **Down**: subtract `size`, then round down to `align` (`& !(align - 1)`).
//!   Rounding down is a single mask and can never overflow, so the one
//!   subtraction is the only arithmetic that needs a check, and the result is
//!   the block's start *and* the new bump pointer.
//!
//! Down needs one checked operation instead of two, and no separate "block
//! start" variable. Nick Fitzgerald's post "Always Bump Downwards" (2019)
//! compares the machine code of both versions: the downward one is shorter
//! and faster, and bumpalo switched to it. The padding that alignment needs
//! lands *above* the block instead of below it, which costs nothing.
//!
//! # Where the memory comes from
//!
//! [`BumpAllocator`] runs on any [`Region`]: a borrowed
//! [`Buffer`], an [`OwnedRegion`](crate::region::OwnedRegion), or a
//! [`Mapping`](crate::os::Mapping). When the region is full, allocation fails;
//! [`GrowingBump`](crate::growing_bump::GrowingBump) maps new chunks instead.
//!
//! ```
//! use allocators::bump::BumpAllocator;
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::Buffer;
//! use std::alloc::Layout;
//!
//! let mut memory = [0u8; 64];
//! let mut bump = BumpAllocator::new(Buffer::new(&mut memory));
//! let a = bump.allocate(Layout::new::<u32>()).unwrap();
//! let b = bump.allocate(Layout::new::<u32>()).unwrap();
//! assert_eq!(b.as_ptr() as usize + 4, a.as_ptr() as usize); // b sits below a
//! assert_eq!(bump.heap_size(), 8);
//! ```

use crate::align::{align_down, is_aligned};
use crate::raw_allocator::{AllocError, HeapError, RawAllocator, reallocate_by_copy};
use crate::region::{Buffer, Region};
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

// ANCHOR: struct
/// A bump allocator over the region `R`, bumping downward from its end.
///
/// Every byte from `top` to the region's end is allocated (to a
/// block or to padding); every byte below `top` is free.
#[derive(Debug)]
pub struct BumpAllocator<R> {
    /// The bump pointer. Blocks are derived from it, so it carries the
    /// region's provenance.
    top: NonNull<u8>,
    /// The lowest address a block may use: the region's first byte.
    start: NonNull<u8>,
    /// One past the region's last byte: where `top` starts.
    end: NonNull<u8>,
    /// The largest heap size (`end - top`) so far, a high-water mark; see
    /// `note_footprint` below.
    footprint: usize,
    /// Owns the memory. It is never touched after construction: every
    /// pointer comes from `start`.
    region: R,
}
// ANCHOR_END: struct

impl<R: Region> BumpAllocator<R> {
    /// A bump allocator that hands out the bytes of `region`.
    pub fn new(region: R) -> BumpAllocator<R> {
        let start = region.start();
        // SAFETY: `region` is valid for `len` bytes, so one past its end is
        // in bounds (or one past) of the same allocation.
        let end = unsafe { start.add(region.len()) };
        BumpAllocator {
            top: end,
            start,
            end,
            footprint: 0,
            region,
        }
    }
}

impl<'a> BumpAllocator<Buffer<'a>> {
    /// Like [`new`](Self::new), but `const`, so that an allocator over a
    /// static buffer can be put in a `static` (see the `bump_global`
    /// example).
    pub const fn with_buffer(buffer: Buffer<'a>) -> BumpAllocator<Buffer<'a>> {
        let start = buffer.start;
        // SAFETY: as in `new`: a Buffer is valid for `len` bytes.
        let end = unsafe { start.add(buffer.len) };
        BumpAllocator {
            top: end,
            start,
            end,
            footprint: 0,
            region: buffer,
        }
    }
}

impl<R> BumpAllocator<R> {
    /// The bump pointer: the lowest allocated byte. The next block ends at or
    /// below it.
    pub fn top(&self) -> NonNull<u8> {
        self.top
    }

    /// The addresses of the region this allocator hands out.
    pub fn bounds(&self) -> Range<usize> {
        self.start.as_ptr().addr()..self.end.as_ptr().addr()
    }

    /// Bytes still free below the bump pointer. A block may need up to
    /// `align - 1` of them for padding.
    pub fn remaining(&self) -> usize {
        self.top.as_ptr().addr() - self.start.as_ptr().addr()
    }

    /// `true` if `ptr` points into the region, or one past its end.
    pub fn contains(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        self.start.as_ptr().addr() <= addr && addr <= self.end.as_ptr().addr()
    }

    // ANCHOR: reset
    /// Frees every block at once by moving the bump pointer back to the end
    /// of the region. The region itself is kept, ready for reuse.
    ///
    /// Taking `&mut self` is what makes this safe: no *reference* to a block
    /// (for example from an `Arena` on top) can still be alive. Raw pointers
    /// from `allocate` can, but only `unsafe` code can use one after a reset.
    pub fn reset(&mut self) {
        self.note_footprint();
        self.top = self.end;
    }
    // ANCHOR_END: reset

    /// Records the current heap size in the high-water mark. Called just
    /// before `top` moves back up (a rewind or a reset), the only moments a
    /// peak can end: allocation only moves `top` down, so it has nothing to
    /// record, and the fast path stays free of bookkeeping.
    #[inline]
    fn note_footprint(&mut self) {
        let in_use = self.end.as_ptr().addr() - self.top.as_ptr().addr();
        self.footprint = self.footprint.max(in_use);
    }

    /// The region the blocks come from.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// Gives back the region, e.g. to take the `Mapping` back.
    pub fn into_region(self) -> R {
        self.region
    }
}

/// An allocator that can free all its blocks at once: the bumps (this one
/// and [`GrowingBump`](crate::growing_bump::GrowingBump)). An
/// [`Arena`](crate::arena::Arena) needs it for its `reset`.
pub trait Reset {
    /// Frees every block; the allocator stays usable.
    fn reset(&mut self);
}

impl<R> Reset for BumpAllocator<R> {
    fn reset(&mut self) {
        BumpAllocator::reset(self);
    }
}

// SAFETY: every block lies in the region between `start` and the old
// `top`, aligned as asked, and `top` moves past it, so no two live blocks
// overlap (see `allocate`).
unsafe impl<R> RawAllocator for BumpAllocator<R> {
    // ANCHOR: allocate
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let top = self.top.as_ptr().addr();
        // The only arithmetic that can overflow: a size larger than the
        // address itself certainly does not fit.
        let Some(below) = top.checked_sub(layout.size()) else {
            return Err(AllocError::OutOfMemory);
        };
        let block = align_down(below, layout.align());
        if block < self.start.as_ptr().addr() {
            return Err(AllocError::OutOfMemory);
        }
        // Deriving the block from `top` keeps the region's provenance
        // (strict provenance: no integer-to-pointer cast).
        let block = self.top.as_ptr().with_addr(block);
        // SAFETY: `block >= start`, and `start` is not null.
        self.top = unsafe { NonNull::new_unchecked(block) };
        debug_assert!(
            is_aligned(block.addr(), layout.align()),
            "block {block:p} is not aligned to {}",
            layout.align()
        );
        debug_assert!(
            block.addr() + layout.size() <= top,
            "block {block:p} of {} bytes ends above the old top {top:#x}",
            layout.size()
        );
        Ok(self.top)
    }
    // ANCHOR_END: allocate

    // ANCHOR: deallocate
    /// Frees `ptr` if it is the most recent block: the bump pointer moves
    /// back to its end (the padding above it is not recovered). Any other
    /// block stays allocated until `reset`.
    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if ptr == self.top {
            self.note_footprint();
            // SAFETY: `ptr` is a live block of this region (caller's
            // guarantee), so its end is inside the region or one past it.
            // From `top`, not `ptr`: the same address, but `ptr` may be
            // allowed to touch its own block only (a `Box` passes such a
            // pointer), and `top` must reach the whole region.
            self.top = unsafe { self.top.add(layout.size()) };
            debug_assert!(
                self.top <= self.end,
                "top {:p} is above the end {:p}",
                self.top,
                self.end
            );
        }
    }
    // ANCHOR_END: deallocate

    // ANCHOR: reallocate
    /// Resizes in place when it can:
    ///
    /// - The most recent block is re-bumped: the pointer is rewound past it
    ///   and the new size is bumped again, then the contents are moved with
    ///   `ptr::copy` (a `memmove`: old and new block may overlap). This both
    ///   grows and shrinks without wasting the old block.
    /// - Any other block shrinks in place (its tail is wasted) and grows by
    ///   copying into a new block.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        let new_layout =
            Layout::from_size_align(new_size, old.align()).map_err(|_| AllocError::SizeOverflow)?;
        if ptr == self.top {
            self.note_footprint();
            let saved_top = self.top;
            // SAFETY: as in `deallocate`, the block's end is in the region
            // (and, as there, the pointer is built from `top`).
            self.top = unsafe { self.top.add(old.size()) };
            match self.allocate(new_layout) {
                Ok(block) => {
                    // SAFETY: both ranges lie in the region; the old contents
                    // are still there, because the rewind wrote nothing.
                    // `copy` allows them to overlap.
                    unsafe {
                        std::ptr::copy(ptr.as_ptr(), block.as_ptr(), old.size().min(new_size))
                    };
                    Ok(block)
                }
                Err(error) => {
                    self.top = saved_top;
                    Err(error)
                }
            }
        } else if new_size <= old.size() {
            Ok(ptr)
        } else {
            // SAFETY: the caller's guarantees for `ptr` and `old` carry over.
            unsafe { reallocate_by_copy(self, ptr, old, new_size) }
        }
    }
    // ANCHOR_END: reallocate

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        visit(self.bounds());
    }

    fn heap_size(&self) -> usize {
        self.end.as_ptr().addr() - self.top.as_ptr().addr()
    }

    fn footprint(&self) -> usize {
        self.footprint.max(self.heap_size())
    }

    fn check(&self) -> Result<(), HeapError> {
        let top = self.top.as_ptr().addr();
        if top < self.start.as_ptr().addr() {
            return Err(HeapError::new(top, "bump pointer below the region"));
        }
        if top > self.end.as_ptr().addr() {
            return Err(HeapError::new(
                top,
                "bump pointer past the end of the region",
            ));
        }
        if self.footprint > self.end.as_ptr().addr() - self.start.as_ptr().addr() {
            return Err(HeapError::new(
                top,
                "high-water mark larger than the region",
            ));
        }
        Ok(())
    }
}

// SAFETY: the pointers all point into `region`, which the allocator owns;
// moving the allocator to another thread moves that ownership with it.
unsafe impl<R: Send> Send for BumpAllocator<R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::OwnedRegion;

    fn bump(len: usize) -> BumpAllocator<OwnedRegion> {
        BumpAllocator::new(OwnedRegion::new(len, 4096).unwrap())
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_go_down_from_the_end() {
        let mut b = bump(64);
        let end = b.bounds().end;
        let x = b.allocate(layout(10, 1)).unwrap();
        assert_eq!(x.as_ptr().addr(), end - 10);
        let y = b.allocate(layout(4, 4)).unwrap();
        // end - 14 rounded down to 4: two bytes of padding above y.
        assert_eq!(y.as_ptr().addr(), (end - 14) & !3);
        assert_eq!(b.heap_size(), end - y.as_ptr().addr());
        b.check().unwrap();
    }

    #[test]
    fn exhaustion_is_an_error_and_changes_nothing() {
        let mut b = bump(64);
        b.allocate(layout(60, 1)).unwrap();
        let top = b.top();
        assert_eq!(b.allocate(layout(8, 1)), Err(AllocError::OutOfMemory));
        assert_eq!(
            b.allocate(layout(isize::MAX as usize, 1)),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(b.top(), top);
        assert!(b.allocate(layout(4, 1)).is_ok());
    }
}
