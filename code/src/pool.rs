//! A pool allocator: many objects of one size, each allocated and freed in
//! O(1).
//!
//! A program that allocates lots of objects of the *same* type (the nodes of
//! a tree, the entities of a game, the connections of a server) does not need
//! an allocator that can cut a block of any size. A [`PoolAllocator`] divides
//! its region into equal *slots*, one object each, chosen once, when the pool
//! is made. Every slot fits every request, so there is nothing to search,
//! split or coalesce:
//!
//! - A free slot holds one pointer, the next free slot: the free list is
//!   *intrusive*, threaded through the free slots themselves, so it costs no
//!   memory of its own. Freeing pushes a slot on the list, allocating pops
//!   the head (LIFO, so the most recently freed slot, likely still in the
//!   cache, is reused first).
//! - Slots that were never handed out are not on the list: a *fresh* pointer
//!   moves through them like a bump pointer. Making a pool is O(1) and
//!   touches no memory, however large the region.
//!
//! ```text
//!  slots:  0        1        2        3        4        5      fresh
//!         +--------+--------+--------+--------+--------+--------+---- - -
//!         | object | next --|--.     | object | next:∅ | object | never
//!         +--------+--------+--|-----+--------+--------+--------+ used
//!                     ^        '------------------^
//!  free list: head ---'   (slot 1 -> slot 4 -> end)
//! ```
//!
//! The costs: each object takes a whole slot (internal fragmentation when
//! objects are smaller than the slot), the slot size is fixed, and a block
//! larger or more aligned than a slot is refused:
//!
//! - a size above [`slot_size`](PoolAllocator::slot_size) fails with
//!   [`AllocError::OutOfMemory`]: no block of the pool is large enough;
//! - an alignment above [`slot_align`](PoolAllocator::slot_align) fails
//!   with [`AllocError::UnsupportedAlignment`]: no slot will ever have it;
//! - a zero-size request takes a slot, like any other (so it is a distinct,
//!   aligned pointer that can be freed).
//!
//! [`Pool`] puts typed values in a pool and hands back a [`PoolBox`], which
//! gives its slot back when dropped.
//!
//! ```
//! use allocators::pool::PoolAllocator;
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::OwnedRegion;
//! use std::alloc::Layout;
//!
//! let node = Layout::new::<[u64; 3]>();
//! let mut pool = PoolAllocator::new(OwnedRegion::new(4096, 64).unwrap(), node).unwrap();
//! let a = pool.allocate(node).unwrap();
//! let b = pool.allocate(node).unwrap();
//! // SAFETY: `a` is live with this layout, and not used again.
//! unsafe { pool.deallocate(a, node) };
//! assert_eq!(pool.allocate(node).unwrap(), a); // LIFO: the freed slot comes back
//! # let _ = b;
//! pool.check().unwrap();
//! ```

use crate::align::align_up;
use crate::raw_allocator::{AllocError, HeapError, RawAllocator, resized_layout};
use crate::region::Region;
use std::alloc::Layout;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut, Range};
use std::ptr::NonNull;

// ANCHOR: free_slot
/// What a free slot holds: the next free slot, or `None` at the end of the
/// list. Every slot is at least this large and this aligned.
struct FreeSlot {
    next: Option<NonNull<FreeSlot>>,
}
// ANCHOR_END: free_slot

// ANCHOR: struct
/// A pool of same-size slots over the region `R`, with an intrusive LIFO
/// free list.
pub struct PoolAllocator<R> {
    /// The head of the free list: the most recently freed slot.
    free: Option<NonNull<FreeSlot>>,
    /// The first slot that was never handed out. Slots from here to `end`
    /// are free but not on the list. Blocks derive from it, so it carries
    /// the region's provenance.
    fresh: NonNull<u8>,
    /// The first slot: the region's start, rounded up to `slot_align`.
    slots: NonNull<u8>,
    /// One past the last whole slot.
    end: usize,
    /// Bytes per slot: a multiple of `slot_align`, at least a `FreeSlot`.
    slot_size: usize,
    /// Alignment of every slot: at least a `FreeSlot`'s.
    slot_align: usize,
    /// Slots on the free list.
    free_count: usize,
    /// Slots handed out and not freed.
    live: usize,
    /// Owns the memory; every pointer comes from its `start`.
    region: R,
}
// ANCHOR_END: struct

impl<R: Region> PoolAllocator<R> {
    // ANCHOR: new
    /// A pool whose slots fit `object`: its size rounded up to its alignment,
    /// and at least one pointer large and aligned (a free slot holds a link).
    ///
    /// Fails with `AllocError::SizeOverflow` only if that rounding
    /// overflows. A region too small for a single slot makes a pool of
    /// capacity zero, whose every request fails.
    pub fn new(region: R, object: Layout) -> Result<PoolAllocator<R>, AllocError> {
        let slot = object
            .align_to(align_of::<FreeSlot>())
            .map_err(|_| AllocError::SizeOverflow)?
            .pad_to_align();
        let slot_align = slot.align();
        // A padded size is a multiple of the alignment, and the alignment is
        // at least a FreeSlot's size; only a zero-size object needs more.
        let slot_size = slot.size().max(slot_align);
        let start = region.start();
        let region_end = start
            .as_ptr()
            .addr()
            .checked_add(region.len())
            .ok_or(AllocError::SizeOverflow)?;
        let first = align_up(start.as_ptr().addr(), slot_align)
            .filter(|&first| first <= region_end)
            .unwrap_or(region_end);
        let capacity = (region_end - first) / slot_size;
        // Derived from `start` (strict provenance), and inside the region or
        // one past its end; a region's start is not null, nor above it.
        let slots =
            NonNull::new(start.as_ptr().with_addr(first)).ok_or(AllocError::SizeOverflow)?;
        Ok(PoolAllocator {
            free: None,
            fresh: slots,
            slots,
            // Cannot overflow: `capacity` slots fit between `first` and the
            // region's end.
            end: first + capacity * slot_size,
            slot_size,
            slot_align,
            free_count: 0,
            live: 0,
            region,
        })
    }
    // ANCHOR_END: new
}

impl<R> PoolAllocator<R> {
    /// The size of every slot: the largest block this pool hands out.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// The alignment of every slot: the largest alignment this pool serves.
    pub fn slot_align(&self) -> usize {
        self.slot_align
    }

    /// How many slots the region holds.
    pub fn capacity(&self) -> usize {
        (self.end - self.slots.as_ptr().addr()) / self.slot_size
    }

    /// How many slots are allocated now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// How many more slots can be allocated: the free list plus the slots
    /// never used.
    pub fn available(&self) -> usize {
        self.capacity() - self.live
    }

    /// The region the slots come from.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// The address of the first slot that was never handed out (the end of
    /// the slots when every slot has been), for tests and figures. Slots from
    /// here on are free but on no list.
    pub fn fresh(&self) -> usize {
        self.fresh.as_ptr().addr()
    }

    /// The addresses of the slots on the free list, head first.
    ///
    /// The walk stops after as many slots as the list should hold, so a
    /// corrupted (cyclic) list cannot make it loop forever.
    pub fn free_list(&self) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.free;
        std::iter::from_fn(move || {
            let slot = next?;
            // SAFETY: slots on the list hold the link `deallocate` wrote, and
            // `&self` keeps the pool (and so its region) alive.
            next = unsafe { (*slot.as_ptr()).next };
            Some(slot.as_ptr().addr())
        })
        .take(self.free_count)
    }

    /// `true` if `addr` is the start of a slot that has been handed out at
    /// least once.
    fn is_used_slot(&self, addr: usize) -> bool {
        let first = self.slots.as_ptr().addr();
        first <= addr
            && addr < self.fresh.as_ptr().addr()
            && (addr - first).is_multiple_of(self.slot_size)
    }

    /// Why a request that does not fit a slot is refused.
    #[cold]
    fn refuse(&self, layout: Layout) -> AllocError {
        if layout.align() > self.slot_align {
            AllocError::UnsupportedAlignment
        } else {
            AllocError::OutOfMemory
        }
    }

    /// The slow path: no freed slot to reuse, so take a never-used one.
    #[inline]
    fn allocate_fresh(&mut self) -> Result<NonNull<u8>, AllocError> {
        let slot = self.fresh;
        if slot.as_ptr().addr() == self.end {
            return Err(AllocError::OutOfMemory);
        }
        // SAFETY: `slot` is below `end`, so a whole slot follows it inside
        // the region; the result is at most `end`, in or one past the region.
        self.fresh = unsafe { slot.add(self.slot_size) };
        self.live += 1;
        Ok(slot)
    }

    // ANCHOR: debug_check
    /// In debug builds, panics unless `ptr` can be a live slot of this pool.
    /// Catches a foreign or misaligned pointer, freeing a slot that is
    /// already at the head of the free list (the common `free(p); free(p)`),
    /// and more frees than allocations. A slot freed twice with others freed
    /// in between is not caught here (that would need a walk of the list or
    /// a bit per slot), but it makes the free list cyclic, which
    /// `check` reports. Release builds trust the
    /// caller, as `RawAllocator::deallocate` allows them to.
    #[inline]
    fn debug_check_live(&self, ptr: NonNull<u8>) {
        if cfg!(debug_assertions) {
            let addr = ptr.as_ptr().addr();
            assert!(
                self.is_used_slot(addr),
                "{addr:#x} is not a slot of this pool (foreign or misaligned pointer)"
            );
            assert!(
                self.free != Some(ptr.cast()),
                "{addr:#x} is already free (double free)"
            );
            assert!(
                self.live > 0,
                "{addr:#x}: more frees than allocations (double free?)"
            );
        }
    }
    // ANCHOR_END: debug_check
}

// SAFETY: every block is a slot of the region, aligned to `slot_align`,
// handed out only while it is off the free list (the module's invariants,
// which `check` verifies and the tests exercise).
unsafe impl<R> RawAllocator for PoolAllocator<R> {
    // ANCHOR: allocate
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if layout.size() > self.slot_size || layout.align() > self.slot_align {
            return Err(self.refuse(layout));
        }
        let Some(slot) = self.free else {
            return self.allocate_fresh();
        };
        // SAFETY: a slot on the free list is a free slot of this region that
        // holds the link `deallocate` wrote into it.
        self.free = unsafe { (*slot.as_ptr()).next };
        self.free_count -= 1;
        self.live += 1;
        Ok(slot.cast())
    }
    // ANCHOR_END: allocate

    // ANCHOR: deallocate
    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        self.debug_check_live(ptr);
        // Rebuilt from the pool's own pointer: `ptr` may carry permission for
        // the object only (a `Box<u8>` hands back one byte's), and the link
        // fills the whole slot. (`NonNull::new` cannot fail: the address is
        // `ptr`'s, which is not zero.)
        let slot = NonNull::new(self.slots.as_ptr().with_addr(ptr.as_ptr().addr()))
            .unwrap_or(ptr)
            .cast::<FreeSlot>();
        // SAFETY: `ptr` is a live slot of this pool (the caller's guarantee):
        // inside the region, aligned and large enough for a FreeSlot, and the
        // caller will not use it again, so the pool may write the link.
        unsafe { slot.write(FreeSlot { next: self.free }) };
        self.free = Some(slot);
        self.free_count += 1;
        self.live -= 1;
    }
    // ANCHOR_END: deallocate

    /// Resizes in place within the slot; a size above the slot fails with
    /// [`AllocError::OutOfMemory`] (no block of this pool is larger), a size
    /// no `Layout` can describe with [`AllocError::SizeOverflow`].
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        resized_layout(old, new_size)?;
        if new_size <= self.slot_size {
            // The slot already holds `new_size` bytes at `old.align()`.
            Ok(ptr)
        } else {
            Err(AllocError::OutOfMemory)
        }
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        visit(self.slots.as_ptr().addr()..self.end);
    }

    /// The slots ever handed out: like a heap's break, `fresh` never moves
    /// back.
    fn heap_size(&self) -> usize {
        self.fresh.as_ptr().addr() - self.slots.as_ptr().addr()
    }

    fn footprint(&self) -> usize {
        self.heap_size()
    }

    // ANCHOR: check
    fn check(&self) -> Result<(), HeapError> {
        let first = self.slots.as_ptr().addr();
        let fresh = self.fresh.as_ptr().addr();
        if !first.is_multiple_of(self.slot_align) || !self.slot_size.is_multiple_of(self.slot_align)
        {
            return Err(HeapError::new(first, "slots are not aligned"));
        }
        if fresh < first || fresh > self.end || !(fresh - first).is_multiple_of(self.slot_size) {
            return Err(HeapError::new(
                fresh,
                "fresh pointer is not a slot boundary",
            ));
        }
        // Walk at most `free_count` links: a cycle (a slot freed twice)
        // shows up as a list longer than its count, not as a hang.
        let mut next = self.free;
        for _ in 0..self.free_count {
            let Some(slot) = next else {
                return Err(HeapError::new(first, "free list shorter than its count"));
            };
            let addr = slot.as_ptr().addr();
            if !self.is_used_slot(addr) {
                return Err(HeapError::new(addr, "free list link is not a used slot"));
            }
            // SAFETY: `addr` is a slot of this region, so reading its link is
            // in bounds; slots on the list hold a link `deallocate` wrote.
            next = unsafe { (*slot.as_ptr()).next };
        }
        if let Some(slot) = next {
            return Err(HeapError::new(
                slot.as_ptr().addr(),
                "free list longer than its count (a cycle: double free?)",
            ));
        }
        let used = (fresh - first) / self.slot_size;
        if self.free_count.checked_add(self.live) != Some(used) {
            return Err(HeapError::new(
                fresh,
                "free and live slots do not add up to the slots used",
            ));
        }
        Ok(())
    }
    // ANCHOR_END: check
}

impl<R> fmt::Debug for PoolAllocator<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolAllocator")
            .field("slot_size", &self.slot_size)
            .field("slot_align", &self.slot_align)
            .field("capacity", &self.capacity())
            .field("live", &self.live)
            .field("free_count", &self.free_count)
            .finish_non_exhaustive()
    }
}

// SAFETY: every pointer points into `region`, which the pool owns; moving the
// pool to another thread moves that ownership with it.
unsafe impl<R: Send> Send for PoolAllocator<R> {}

// ANCHOR: pool
/// A pool of `T`s: `alloc` moves a value into a slot and
/// returns a `PoolBox`, which drops the value and frees the slot when it
/// goes out of scope.
///
/// ```
/// use allocators::pool::Pool;
/// use allocators::region::OwnedRegion;
///
/// let pool: Pool<(u32, String), _> = Pool::new(OwnedRegion::new(1024, 64).unwrap()).unwrap();
/// let mut a = pool.alloc((1, "one".to_string())).unwrap();
/// let b = pool.alloc((2, "two".to_string())).unwrap();
/// a.1.push('!');
/// assert_eq!((a.1.as_str(), b.0), ("one!", 2));
/// drop(a);
/// assert_eq!(pool.live(), 1);
/// ```
pub struct Pool<T, R> {
    /// `alloc` takes `&self` so that many boxes can be alive at once, and
    /// the allocator needs `&mut`: a `RefCell` gives it that.
    allocator: RefCell<PoolAllocator<R>>,
    _values: PhantomData<T>,
}

/// A value in a `Pool`: like a `Box<T>`, but its memory is a slot of the
/// pool it borrows.
pub struct PoolBox<'p, T, R> {
    value: NonNull<T>,
    pool: &'p Pool<T, R>,
    /// The box owns a `T` (for the drop checker).
    _owns: PhantomData<T>,
}
// ANCHOR_END: pool

impl<T, R: Region> Pool<T, R> {
    /// A pool whose slots fit a `T`, over `region`.
    pub fn new(region: R) -> Result<Pool<T, R>, AllocError> {
        Ok(Pool {
            allocator: RefCell::new(PoolAllocator::new(region, Layout::new::<T>())?),
            _values: PhantomData,
        })
    }
}

impl<T, R> Pool<T, R> {
    // ANCHOR: pool_alloc
    /// Moves `value` into a free slot, or returns an error (dropping `value`)
    /// if the pool is full.
    pub fn alloc(&self, value: T) -> Result<PoolBox<'_, T, R>, AllocError> {
        let slot = self.allocator.borrow_mut().allocate(Layout::new::<T>())?;
        let value_ptr = slot.cast::<T>();
        // SAFETY: the slot is fresh, at least as large and aligned as a `T`
        // (the pool was made for `Layout::new::<T>()`), and nothing else
        // refers to it until the box frees it.
        unsafe { value_ptr.write(value) };
        Ok(PoolBox {
            value: value_ptr,
            pool: self,
            _owns: PhantomData,
        })
    }
    // ANCHOR_END: pool_alloc

    /// How many values are in the pool now.
    pub fn live(&self) -> usize {
        self.allocator.borrow().live()
    }

    /// How many values fit in the pool.
    pub fn capacity(&self) -> usize {
        self.allocator.borrow().capacity()
    }

    /// Runs the pool's heap checker.
    pub fn check(&self) -> Result<(), HeapError> {
        self.allocator.borrow().check()
    }
}

impl<T, R> fmt::Debug for Pool<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pool")
            .field(&*self.allocator.borrow())
            .finish()
    }
}

impl<T, R> Deref for PoolBox<'_, T, R> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the box owns a live, initialised `T` in its slot.
        unsafe { self.value.as_ref() }
    }
}

impl<T, R> DerefMut for PoolBox<'_, T, R> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.value.as_mut() }
    }
}

impl<T: fmt::Debug, R> fmt::Debug for PoolBox<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::fmt(self, f)
    }
}

// ANCHOR: pool_box_drop
impl<T, R> Drop for PoolBox<'_, T, R> {
    fn drop(&mut self) {
        // SAFETY: the value is live and owned by this box, and is never used
        // again. (If its destructor panics, the slot leaks; that is safe.)
        unsafe { self.value.drop_in_place() };
        // SAFETY: the slot came from this pool's allocator with this layout
        // in `alloc`, and only this box frees it, once. No borrow of the
        // allocator is held across user code, so `borrow_mut` succeeds.
        unsafe {
            self.pool
                .allocator
                .borrow_mut()
                .deallocate(self.value.cast(), Layout::new::<T>())
        };
    }
}
// ANCHOR_END: pool_box_drop

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::OwnedRegion;

    fn pool(len: usize, object: Layout) -> PoolAllocator<OwnedRegion> {
        PoolAllocator::new(OwnedRegion::new(len, 4096).unwrap(), object).unwrap()
    }

    #[test]
    fn slots_fit_a_link() {
        let p = pool(64, Layout::new::<u8>());
        assert_eq!((p.slot_size(), p.slot_align()), (8, 8));
        assert_eq!(p.capacity(), 8);
        let p = pool(64, Layout::new::<()>());
        assert_eq!(p.slot_size(), 8);
        let p = pool(256, Layout::from_size_align(0, 64).unwrap());
        assert_eq!((p.slot_size(), p.capacity()), (64, 4));
        let p = pool(256, Layout::from_size_align(24, 16).unwrap());
        assert_eq!((p.slot_size(), p.slot_align(), p.capacity()), (32, 16, 8));
    }

    #[test]
    fn lifo_reuse_and_fresh_slots() {
        let l = Layout::new::<[u64; 2]>();
        let mut p = pool(64, l);
        let a = p.allocate(l).unwrap();
        let b = p.allocate(l).unwrap();
        assert_eq!(b.as_ptr().addr() - a.as_ptr().addr(), 16);
        assert_eq!(p.heap_size(), 32);
        // SAFETY: live, freed once each.
        unsafe {
            p.deallocate(a, l);
            p.deallocate(b, l);
        }
        assert_eq!(
            p.free_list().collect::<Vec<_>>(),
            [b.as_ptr().addr(), a.as_ptr().addr()]
        );
        assert_eq!(p.allocate(l).unwrap(), b);
        assert_eq!(p.allocate(l).unwrap(), a);
        p.check().unwrap();
    }
}
