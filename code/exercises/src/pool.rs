//! Exercises of the chapter "Pools".

use allocators::pool::PoolAllocator;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::alloc::Layout;
use std::ptr::NonNull;

/// What [`CheckedPool::free`] reports instead of corrupting its free list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeError {
    /// The slot is not in use: it was never allocated, or is freed already.
    NotInUse,
    /// The pointer is not the start of a slot of this pool.
    NotASlot,
}

// ANCHOR: checked_pool
/// Exercise 1: a pool that catches every double free.
///
/// It wraps the crate's `PoolAllocator` and keeps one flag per slot, `true`
/// while the slot is in use. `allocate` is given: it sets the flag.
#[derive(Debug)]
pub struct CheckedPool {
    pool: PoolAllocator<OwnedRegion>,
    layout: Layout,
    in_use: Vec<bool>,
}

impl CheckedPool {
    /// The slot number of `ptr`, if it is the start of a slot of this pool.
    pub fn slot_index(&self, ptr: NonNull<u8>) -> Option<usize> {
        let mut first = 0;
        self.pool.for_each_region(&mut |slots| first = slots.start);
        let offset = ptr.as_ptr().addr().checked_sub(first)?;
        let index = offset / self.pool.slot_size();
        (offset % self.pool.slot_size() == 0 && index < self.in_use.len()).then_some(index)
    }

    /// A block from the pool; its slot is marked in use.
    pub fn allocate(&mut self) -> Result<NonNull<u8>, AllocError> {
        let block = self.pool.allocate(self.layout)?;
        let index = self
            .slot_index(block)
            .expect("the pool hands out its own slots");
        self.in_use[index] = true;
        Ok(block)
    }

    /// Slots in use.
    pub fn live(&self) -> usize {
        self.pool.live()
    }
}
// ANCHOR_END: checked_pool

impl CheckedPool {
    /// A pool of `capacity` slots for blocks of `layout`.
    pub fn new(capacity: usize, layout: Layout) -> Result<CheckedPool, AllocError> {
        let slot = layout.pad_to_align().size().max(size_of::<usize>());
        let bytes = slot.checked_mul(capacity).ok_or(AllocError::SizeOverflow)?;
        let region = OwnedRegion::new(bytes, layout.align().max(align_of::<usize>()))?;
        let pool = PoolAllocator::new(region, layout)?;
        let in_use = vec![false; pool.capacity()];
        Ok(CheckedPool {
            pool,
            layout,
            in_use,
        })
    }
}

#[cfg(not(feature = "solutions"))]
// ANCHOR: checked_free_stub
impl CheckedPool {
    /// Gives the slot at `ptr` back, or says why it cannot: `NotASlot` for
    /// a pointer that is not a slot's start, `NotInUse` for a slot that is
    /// free already. An error leaves the pool unchanged.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        let _ = ptr;
        crate::unsolved("Pools", 1)
    }
}
// ANCHOR_END: checked_free_stub

// ANCHOR: checked_free
/// Exercise 1, solved: look up the slot's flag before touching the free
/// list. A flag per slot costs one bit of memory per slot (a `Vec<bool>`
/// spends a byte; a real bitmap packs 64 in a word).
#[cfg(feature = "solutions")]
impl CheckedPool {
    /// Gives the slot at `ptr` back, or says why it cannot: `NotASlot` for
    /// a pointer that is not a slot's start, `NotInUse` for a slot that is
    /// free already. An error leaves the pool unchanged.
    pub fn free(&mut self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        let index = self.slot_index(ptr).ok_or(FreeError::NotASlot)?;
        if !self.in_use[index] {
            return Err(FreeError::NotInUse);
        }
        self.in_use[index] = false;
        // SAFETY: the flag says this slot was handed out by `allocate` and
        // not freed since: exactly what `deallocate` asks for.
        unsafe { self.pool.deallocate(ptr, self.layout) };
        Ok(())
    }
}
// ANCHOR_END: checked_free
