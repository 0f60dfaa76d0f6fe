//! Exercises of the chapter "Arenas".

use allocators::bump::BumpAllocator;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::cell::RefCell;

// ANCHOR: slice_arena
/// Exercise 1: an arena of slices.
///
/// Like the crate's `Arena`, it takes `&self` and keeps its bump allocator
/// in a `RefCell`, so that many slices can be borrowed at once.
#[derive(Debug)]
pub struct SliceArena {
    bump: RefCell<BumpAllocator<OwnedRegion>>,
}

impl SliceArena {
    /// An arena over `capacity` bytes.
    pub fn new(capacity: usize) -> Result<SliceArena, AllocError> {
        Ok(SliceArena {
            bump: RefCell::new(BumpAllocator::new(OwnedRegion::new(capacity, 16)?)),
        })
    }

    /// Bytes in use, padding included.
    pub fn used(&self) -> usize {
        self.bump.borrow().heap_size()
    }
}
// ANCHOR_END: slice_arena

#[cfg(not(feature = "solutions"))]
// ANCHOR: alloc_slice_copy_stub
impl SliceArena {
    /// Copies `src` into the arena and returns the copy, or an error if
    /// the arena is full (or the slice is too long for any `Layout`).
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_slice_copy<T: Copy>(&self, src: &[T]) -> Result<&mut [T], AllocError> {
        let _ = src;
        crate::unsolved("Arenas", 1)
    }
}
// ANCHOR_END: alloc_slice_copy_stub

// ANCHOR: alloc_slice_copy
/// Exercise 1, solved: one block for the whole slice, sized and aligned by
/// `Layout::array`, then one copy. `T: Copy` means no destructor, so the
/// arena never needs to look at the values again.
#[cfg(feature = "solutions")]
impl SliceArena {
    /// Copies `src` into the arena and returns the copy, or an error if
    /// the arena is full (or the slice is too long for any `Layout`).
    #[allow(clippy::mut_from_ref)] // a fresh block each call, as in `Arena`
    pub fn alloc_slice_copy<T: Copy>(&self, src: &[T]) -> Result<&mut [T], AllocError> {
        let layout =
            std::alloc::Layout::array::<T>(src.len()).map_err(|_| AllocError::SizeOverflow)?;
        let block = self.bump.borrow_mut().allocate(layout)?.cast::<T>();
        // SAFETY: the block is fresh, sized and aligned for `src.len()`
        // values of `T`, and cannot overlap `src`. Nothing else refers to it,
        // and it lives as long as the arena, which `&self` borrows.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), block.as_ptr(), src.len());
            Ok(std::slice::from_raw_parts_mut(block.as_ptr(), src.len()))
        }
    }
}
// ANCHOR_END: alloc_slice_copy
