//! Segregated free lists: one explicit free list per *size class*, and a
//! bitmap that says which lists have blocks.
//!
//! A single free list makes every search walk blocks of every size.
//! [`SegregatedFreeList`] keeps [`CLASSES`] lists instead, each holding the
//! free blocks of one range of sizes (CS:APP §9.9.14, "segregated fits"):
//!
//! - Small sizes get a class each, in steps of [`ALIGN`]: every block in
//!   such a class has exactly the size asked for.
//! - Larger sizes share classes, four per power of two (as in TLSF): the
//!   blocks of one class differ by less than 25%.
//!
//! To allocate, the search looks in the request's own class first (first
//! fit along it), then takes the head of the next non-empty class above,
//! where every block is large enough. One bit per class in a `u64` says
//! which classes are non-empty, so "the next non-empty class" is a mask and
//! a `trailing_zeros`: O(1), however many classes are empty. A block larger
//! than the request is split, and the remainder goes to its own class;
//! freed blocks are coalesced at once and pushed (LIFO) onto their class.
//!
//! [`reallocate`](RawAllocator::reallocate) resizes in place when it can: a
//! block shrinks by splitting off its tail, and grows into the free block
//! after it, or into new memory when it is the last block of the heap.
//!
//! ```
//! use allocators::heap::BreakRegion;
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::OwnedRegion;
//! use allocators::segregated::SegregatedFreeList;
//! use std::alloc::Layout;
//!
//! let memory = BreakRegion::new(OwnedRegion::new(64 * 1024, 16).unwrap());
//! let mut heap = SegregatedFreeList::new(memory);
//! let a = heap.allocate(Layout::new::<[u8; 100]>()).unwrap();
//! // SAFETY: `a` is live with this layout; growing it to 200 bytes finds
//! // free memory right behind it.
//! let b = unsafe { heap.reallocate(a, Layout::new::<[u8; 100]>(), 200) }.unwrap();
//! assert_eq!(a, b); // grown in place
//! heap.check().unwrap();
//! ```

use crate::block::{
    block_size, fit, pack, split_front, Block, Blocks, Request, ALIGN, ALLOCATED, MIN_BLOCK,
    PREV_ALLOCATED,
};
use crate::free_list::{FreeBlocks, FreeList};
use crate::heap::{Heap, HeapMemory};
use crate::raw_allocator::{reallocate_by_copy, AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

/// The number of size classes: one bit each in a `u64` bitmap.
pub const CLASSES: usize = 64;

/// Block sizes below this get a class of their own (one per [`ALIGN`]).
pub const EXACT_LIMIT: usize = 256;

/// How many classes the exact sizes take: 14 on 64-bit targets
/// (32, 48, ..., 240 bytes).
pub const EXACT_CLASSES: usize = (EXACT_LIMIT - MIN_BLOCK) / ALIGN;

// ANCHOR: size_class
/// The size class of a block of `size` bytes (a multiple of [`ALIGN`], at
/// least [`MIN_BLOCK`]).
///
/// Below [`EXACT_LIMIT`], one class per size. Above, each power of two is
/// cut into four classes by the two bits below its top bit; the largest
/// sizes all share the last class.
#[inline]
pub const fn size_class(size: usize) -> usize {
    debug_assert!(size >= MIN_BLOCK && size.is_multiple_of(ALIGN));
    if size < EXACT_LIMIT {
        return (size - MIN_BLOCK) / ALIGN;
    }
    let log2 = (usize::BITS - 1 - size.leading_zeros()) as usize; // >= 8
    let quarter = (size >> (log2 - 2)) & 3;
    let class = EXACT_CLASSES + (log2 - EXACT_LIMIT.trailing_zeros() as usize) * 4 + quarter;
    if class < CLASSES {
        class
    } else {
        CLASSES - 1
    }
}
// ANCHOR_END: size_class

/// A segregated-fits allocator over memory `M` that grows at a break.
pub struct SegregatedFreeList<M> {
    heap: Heap<M>,
    /// One LIFO free list per size class.
    lists: [FreeList; CLASSES],
    /// Bit `c` is set if and only if `lists[c]` is not empty.
    bitmap: u64,
}

impl<M> SegregatedFreeList<M> {
    /// An empty heap over `memory`, taking its first bytes on the first
    /// allocation. `const`, so it can initialise a `static`.
    pub const fn new(memory: M) -> SegregatedFreeList<M> {
        SegregatedFreeList {
            heap: Heap::new(memory),
            lists: [const { FreeList::new() }; CLASSES],
            bitmap: 0,
        }
    }

    /// Every block of the heap in address order, for tests and figures.
    pub fn blocks(&self) -> Blocks<'_> {
        self.heap.blocks()
    }

    /// The header addresses of the free blocks in size class `class`, in
    /// list order. Empty for a class out of range.
    pub fn class_list(&self, class: usize) -> FreeBlocks<'_, M> {
        match self.lists.get(class) {
            Some(list) => list.walk(&self.heap),
            None => FreeList::new().walk(&self.heap),
        }
    }

    /// Which size classes have free blocks: bit `c` for class `c`.
    pub fn bitmap(&self) -> u64 {
        self.bitmap
    }

    /// The memory the heap grows in.
    pub fn memory(&self) -> &M {
        self.heap.memory()
    }
}

impl<M: HeapMemory> SegregatedFreeList<M> {
    // ANCHOR: insert_remove
    /// Pushes a free block onto its class's list and marks the class
    /// non-empty.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, in no list.
    #[inline]
    unsafe fn insert(&mut self, block: Block) {
        // SAFETY: the caller's guarantee.
        let class = size_class(unsafe { block.size() });
        // SAFETY: the list holds free blocks of this heap.
        unsafe { self.lists[class].push(block) };
        self.bitmap |= 1 << class;
    }

    /// Unlinks a free block from its class's list, clearing the class's bit
    /// if that was its last block.
    ///
    /// # Safety
    ///
    /// `block` is in its class's list, and its header still holds the size
    /// it was inserted with.
    #[inline]
    unsafe fn remove(&mut self, block: Block) {
        // SAFETY: the caller's guarantee.
        let class = size_class(unsafe { block.size() });
        // SAFETY: as above.
        unsafe { self.lists[class].remove(block) };
        if self.lists[class].is_empty() {
            self.bitmap &= !(1 << class);
        }
    }
    // ANCHOR_END: insert_remove

    // ANCHOR: find_fit
    /// First fit in the request's own class, then the first block of the
    /// next non-empty class above it, found through the bitmap.
    #[inline]
    fn find_fit(&self, request: &Request) -> Option<(Block, usize)> {
        let class = size_class(request.search);
        if let Some(found) = self.first_fit_in(class, request) {
            return Some(found);
        }
        // The classes above `class` that have blocks.
        let mut above = self.bitmap & u64::MAX.checked_shl(class as u32 + 1).unwrap_or(0);
        while above != 0 {
            let class = above.trailing_zeros() as usize;
            // Every block here is larger than the request, so the head fits
            // (for a large alignment, the loop may look further).
            if let Some(found) = self.first_fit_in(class, request) {
                return Some(found);
            }
            above &= above - 1; // clear the lowest set bit
        }
        None
    }

    /// The first block in class `class`'s list that fits.
    #[inline]
    fn first_fit_in(&self, class: usize, request: &Request) -> Option<(Block, usize)> {
        let mut cursor = self.lists[class].head();
        while let Some(block) = cursor {
            // SAFETY: listed blocks are free blocks of this heap.
            if let Some(gap) = fit(block, unsafe { block.size() }, request) {
                return Some((block, gap));
            }
            // SAFETY: as above.
            cursor = unsafe { block.next_free() };
        }
        None
    }
    // ANCHOR_END: find_fit

    // ANCHOR: place
    /// Allocates `asize` bytes of the free block `block` (in no list), and
    /// frees the remainder to its class if it can be a block.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap in no list, at least `asize`
    /// bytes, whose next block is allocated (or the epilogue).
    #[inline]
    unsafe fn place(&mut self, block: Block, asize: usize) {
        // SAFETY: every block touched lies inside `block`, or is the block
        // after it.
        unsafe {
            let size = block.size();
            if size - asize >= MIN_BLOCK {
                block.set_header(pack(asize, ALLOCATED | block.prev_flag()));
                let rest = block.next();
                rest.set_free(size - asize, PREV_ALLOCATED);
                self.insert(rest);
            } else {
                block.set_header(pack(size, ALLOCATED | block.prev_flag()));
                block.next().set_prev_allocated(true);
            }
        }
    }
    // ANCHOR_END: place

    // ANCHOR: coalesce
    /// Merges the freed block `block` with its free neighbours (the four
    /// cases of the implicit list, one `if` per neighbour), and pushes the
    /// result onto its class's list. A merged block usually changes class,
    /// so the neighbours leave their lists.
    ///
    /// # Safety
    ///
    /// `block` is a block of this heap being freed, in no list, whose header
    /// holds its size and PREV_ALLOCATED bit.
    #[inline]
    unsafe fn coalesce(&mut self, block: Block) -> Block {
        // SAFETY: as in the implicit list; free neighbours are listed.
        unsafe {
            let mut start = block;
            let mut size = block.size();
            let next = block.next();
            if next.is_allocated() {
                next.set_prev_allocated(false);
            } else {
                self.remove(next);
                size += next.size();
            }
            if !block.prev_allocated() {
                start = block.prev();
                self.remove(start);
                size += start.size();
            }
            start.set_free(size, PREV_ALLOCATED);
            self.insert(start);
            start
        }
    }
    // ANCHOR_END: coalesce

    /// Frees the tail of the allocated block `block` beyond `asize` bytes,
    /// if the tail can be a block: it is coalesced with a free block after
    /// it.
    ///
    /// # Safety
    ///
    /// `block` is an allocated block of this heap of at least `asize` bytes.
    unsafe fn trim(&mut self, block: Block, asize: usize) {
        // SAFETY: the tail lies inside `block`.
        unsafe {
            let size = block.size();
            if size - asize >= MIN_BLOCK {
                block.set_header(pack(asize, ALLOCATED | block.prev_flag()));
                let tail = block.next();
                tail.set_header(pack(size - asize, PREV_ALLOCATED));
                self.coalesce(tail);
            }
        }
    }

    // ANCHOR: resize_in_place
    /// Resizes the allocated block `block` to `asize` bytes without moving
    /// it, if it can: shrinking always works; growing takes the free block
    /// after it, and when the block is the last in the heap, grows the heap
    /// under it first. Returns `false` if the block must move.
    ///
    /// # Safety
    ///
    /// `block` is an allocated block of this heap.
    unsafe fn resize_in_place(&mut self, block: Block, asize: usize) -> bool {
        // SAFETY: `block` is a block of this heap; `next` is its neighbour,
        // and everything merged is adjacent to it.
        unsafe {
            let size = block.size();
            if asize > size {
                let mut next = block.next();
                let mut room = size;
                if !next.is_allocated() {
                    room += next.size();
                }
                let at_top = next == self.heap.epilogue()
                    || (!next.is_allocated() && next.next() == self.heap.epilogue());
                if room < asize && at_top {
                    // The new memory lands right after the block (merged
                    // with the free block there, if any).
                    let Ok(grown) = self.heap.grow(asize - size) else {
                        return false;
                    };
                    self.coalesce(grown);
                    next = block.next();
                    room = size + next.size();
                }
                if room < asize {
                    return false;
                }
                self.remove(next);
                block.set_header(pack(room, ALLOCATED | block.prev_flag()));
                block.next().set_prev_allocated(true);
            }
            self.trim(block, asize);
            true
        }
    }
    // ANCHOR_END: resize_in_place

    /// Grows the heap so that a block for `request` ends it, and returns it
    /// (in its class's list).
    fn extend_heap(&mut self, request: &Request) -> Result<(Block, usize), AllocError> {
        let block = self.heap.grow(request.search)?;
        // SAFETY: `grow` returned a free block of this heap, in no list.
        let block = unsafe { self.coalesce(block) };
        // SAFETY: `block` is a free block of this heap.
        let size = unsafe { block.size() };
        let gap = fit(block, size, request).ok_or(AllocError::OutOfMemory)?;
        Ok((block, gap))
    }
}

impl<M: HeapMemory> RawAllocator for SegregatedFreeList<M> {
    // ANCHOR: allocate
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let request = Request::new(layout)?;
        let (block, gap) = match self.find_fit(&request) {
            Some(found) => found,
            None => self.extend_heap(&request)?,
        };
        // SAFETY: `block` is a listed free block and `gap` is what `fit`
        // computed for it; the gap in front goes back to its class.
        unsafe {
            self.remove(block);
            let block = if gap > 0 {
                let rest = split_front(block, gap);
                self.insert(block);
                rest
            } else {
                block
            };
            self.place(block, request.size);
            Ok(block.payload())
        }
    }
    // ANCHOR_END: allocate

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` is a live block of this allocator (the caller's
        // guarantee), so its header is one word below it.
        let block = unsafe { Block::from_payload(ptr) };
        self.heap.debug_check_live(block, layout);
        // SAFETY: as above; see the implicit list for why the allocated bit
        // is cleared first.
        unsafe {
            block.set_header(block.header() & !ALLOCATED);
            self.coalesce(block);
        }
    }

    // ANCHOR: reallocate
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // The new layout must be valid even when the block stays put.
        Layout::from_size_align(new_size, old.align()).map_err(|_| AllocError::SizeOverflow)?;
        let asize = block_size(new_size).ok_or(AllocError::SizeOverflow)?;
        // SAFETY: `ptr` is a live block with layout `old` (the caller's
        // guarantee).
        let block = unsafe { Block::from_payload(ptr) };
        self.heap.debug_check_live(block, old);
        // SAFETY: as above. The block keeps its address, so its alignment.
        if unsafe { self.resize_in_place(block, asize) } {
            return Ok(ptr);
        }
        // SAFETY: as above; the block is unchanged when it cannot resize.
        unsafe { reallocate_by_copy(self, ptr, old, new_size) }
    }
    // ANCHOR_END: reallocate

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        self.heap.for_each_region(visit);
    }

    fn heap_size(&self) -> usize {
        self.heap.heap_size()
    }

    fn footprint(&self) -> usize {
        self.heap.heap_size()
    }

    // ANCHOR: check
    /// Checks the blocks, then the lists: every free block is linked into
    /// the list of its class, every listed block is free and in the right
    /// class, the lists hold exactly the heap's free blocks, and the bitmap
    /// marks exactly the non-empty classes.
    fn check(&self) -> Result<(), HeapError> {
        let free_blocks = self.heap.check_blocks(|block, free| {
            if free {
                // SAFETY: the block walk checked that `block` is a block.
                let class = size_class(unsafe { block.size() });
                if !self.lists[class].links_to(&self.heap, block) {
                    return Err(HeapError::new(
                        block.addr(),
                        "free block not in its class's list",
                    ));
                }
            }
            Ok(())
        })?;
        let mut listed = 0;
        for (class, list) in self.lists.iter().enumerate() {
            listed += list.check(&self.heap, free_blocks - listed, |block| {
                // SAFETY: `check` only visits free blocks inside the heap.
                let size = unsafe { block.size() };
                if size < MIN_BLOCK || size_class(size) != class {
                    return Err(HeapError::new(
                        block.addr(),
                        "block in the wrong size class",
                    ));
                }
                Ok(())
            })?;
            if (self.bitmap >> class) & 1 != u64::from(!list.is_empty()) {
                return Err(HeapError::new(0, "bitmap disagrees with the class's list"));
            }
        }
        if listed != free_blocks {
            return Err(HeapError::new(
                0,
                "free lists and heap disagree on the free blocks",
            ));
        }
        Ok(())
    }
    // ANCHOR_END: check
}

// SAFETY: the allocator owns its heap (see `Heap`'s `Send`); the lists point
// into it.
unsafe impl<M: Send> Send for SegregatedFreeList<M> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_cover_every_size_in_order() {
        assert_eq!(size_class(MIN_BLOCK), 0);
        assert_eq!(size_class(EXACT_LIMIT - ALIGN), EXACT_CLASSES - 1);
        assert_eq!(size_class(EXACT_LIMIT), EXACT_CLASSES);
        let mut last = 0;
        let mut size = MIN_BLOCK;
        let limit = if cfg!(miri) { 1 << 14 } else { 1 << 24 };
        while size < limit {
            let class = size_class(size);
            assert!(
                class == last || class == last + 1,
                "size {size}: {last} -> {class}"
            );
            last = class;
            size += ALIGN;
        }
        assert_eq!(size_class(usize::MAX & !(ALIGN - 1)), CLASSES - 1);
        // Four classes per power of two above the exact ones.
        assert_eq!(size_class(512) - size_class(256), 4);
        assert_eq!(size_class(256 + 64), size_class(256) + 1);
    }
}
