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
//! To allocate, the search looks in the request's own class first (the
//! best fit among its first [`FIT_CANDIDATES`] blocks; in an exact class the
//! head fits exactly), then takes the head of the next non-empty class
//! above, where every block is large enough. One bit per class in a `u64`
//! says which classes are non-empty, so "the next non-empty class" is a
//! mask and a `trailing_zeros`: O(1), however many classes are empty. A
//! block larger than the request is split: a small request takes its high
//! end and a large one its low end (see `place` in the source), so
//! that small and large blocks do not interleave. Freed blocks are coalesced
//! at once and pushed (LIFO) onto their class. The free block at the top of
//! the heap (the *wilderness*) is kept in no list: requests that no list
//! fits are cut from it, and frees next to it merge into it.
//!
//! The heap grows in steps proportional to its size
//! ([`GROW_FRACTION`](super::heap::GROW_FRACTION)), so a small heap is not
//! padded with a mostly unused 4 KiB chunk at its top.
//!
//! [`reallocate`](RawAllocator::reallocate) resizes in place when it can: a
//! block shrinks by splitting off its tail, and grows into the free block
//! after it, or into new memory when it is the last block of the heap.
//!
//! ```
//! use allocators::heap::RegionBreak;
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::OwnedRegion;
//! use allocators::segregated::SegregatedFreeList;
//! use std::alloc::Layout;
//!
//! let memory = RegionBreak::new(OwnedRegion::new(64 * 1024, 16).unwrap());
//! let mut heap = SegregatedFreeList::new(memory);
//! let a = heap.allocate(Layout::new::<[u8; 100]>()).unwrap();
//! // SAFETY: `a` is live with this layout; growing it to 200 bytes finds
//! // free memory right behind it.
//! let b = unsafe { heap.reallocate(a, Layout::new::<[u8; 100]>(), 200) }.unwrap();
//! assert_eq!(a, b); // grown in place
//! heap.check().unwrap();
//! ```

use super::block::{ALIGN, Block, Header, MIN_BLOCK, layout_block_size};
use super::fit::{Request, fit, split_front};
use super::heap::{Blocks, Heap, HeapMemory};
use super::list::{FreeBlocks, FreeList};
use super::shared::{FreeListHeap, free_list_heap, heap_queries, reallocate_in_place};
use crate::raw_allocator::{AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::ptr::NonNull;

mod quick;
use quick::QUICK;
pub use quick::{QUICK_LIMIT, QUICK_MAX};

/// The number of size classes: one bit each in a `u64` bitmap.
pub const CLASSES: usize = 64;

/// How many blocks of its own class a request looks at for the best fit,
/// before it takes a block from a larger class.
pub const FIT_CANDIDATES: usize = 3;

/// Block sizes below this get a class of their own (one per [`ALIGN`]).
pub const EXACT_LIMIT: usize = 256;

/// How many classes the exact sizes take: 14 on 64-bit targets
/// (32, 48, ..., 240 bytes).
pub const EXACT_CLASSES: usize = (EXACT_LIMIT - MIN_BLOCK) / ALIGN;

// ANCHOR: size_class
/// The size class of a block of `size` bytes (a multiple of `ALIGN`, at
/// least `MIN_BLOCK`).
///
/// Below `EXACT_LIMIT`, one class per size. Above, each power of two is
/// cut into four classes by the two bits below its top bit; the largest
/// sizes all share the last class.
#[inline]
pub const fn size_class(size: usize) -> usize {
    debug_assert!(
        size >= MIN_BLOCK && size.is_multiple_of(ALIGN),
        // A const fn cannot format a value into its panic message.
        "size_class: not a block size (below MIN_BLOCK, or not a multiple of ALIGN)"
    );
    if size < EXACT_LIMIT {
        return (size - MIN_BLOCK) / ALIGN;
    }
    let log2 = (usize::BITS - 1 - size.leading_zeros()) as usize; // >= 8
    let quarter = (size >> (log2 - 2)) & 3;
    let class = EXACT_CLASSES + (log2 - EXACT_LIMIT.trailing_zeros() as usize) * 4 + quarter;
    if class < CLASSES { class } else { CLASSES - 1 }
}
// ANCHOR_END: size_class

/// A segregated-fits allocator over memory `M` that grows at a break.
pub struct SegregatedFreeList<M> {
    heap: Heap<M>,
    /// One LIFO free list per size class.
    lists: [FreeList; CLASSES],
    /// Bit `c` is set if and only if `lists[c]` is not empty.
    bitmap: u64,
    /// One LIFO *quick list* per exact class: freed blocks that are still
    /// marked allocated (and flagged quick), linked through their first payload
    /// word, waiting for a request of their size.
    quick: [Option<Block>; EXACT_CLASSES],
    /// The length of each quick list.
    quick_len: [u32; EXACT_CLASSES],
    /// The most blocks a quick list holds; 0 coalesces every free at once.
    quick_max: u32,
    /// The *wilderness*: a free block that ends at the epilogue and is in
    /// no list. Requests that no list can serve are cut from its low end,
    /// and frees next to it merge into it, without touching a list.
    top: Option<Block>,
    /// Whether the heap keeps a wilderness block (off in [`plain`](Self::plain)).
    wilderness: bool,
}

impl<M> SegregatedFreeList<M> {
    /// An empty heap over `memory`, taking its first bytes on the first
    /// allocation. `const`, so it can initialise a `static`.
    pub const fn new(memory: M) -> SegregatedFreeList<M> {
        Self::with_quick_lists(memory, QUICK_MAX as u32)
    }

    /// The plain segregated lists: no quick lists and no wilderness. Every
    /// free coalesces at once, and the block at the top of the heap is
    /// listed like any other. Small requests are still carved from the high
    /// end of a free block, as in [`new`](Self::new). The book's segregated chapter, its
    /// figures and its layout tests use this one.
    pub const fn plain(memory: M) -> SegregatedFreeList<M> {
        Self::with_quick_lists(memory, 0)
    }

    /// An empty heap whose quick lists hold at most `max` blocks each. The
    /// wilderness comes with them: `max == 0` is [`plain`](Self::plain),
    /// which keeps neither.
    pub const fn with_quick_lists(memory: M, max: u32) -> SegregatedFreeList<M> {
        SegregatedFreeList {
            heap: Heap::proportional(memory),
            lists: [const { FreeList::new() }; CLASSES],
            bitmap: 0,
            quick: [None; EXACT_CLASSES],
            quick_len: [0; EXACT_CLASSES],
            quick_max: max,
            top: None,
            wilderness: max > 0,
        }
    }

    /// How many freed blocks wait on quick lists, not yet coalesced.
    pub fn quick_blocks(&self) -> usize {
        self.quick_len.iter().map(|&n| n as usize).sum()
    }

    /// The header addresses of the blocks on the quick list of exact class
    /// `class`, most recently freed first, for tests and figures. Empty for
    /// a class out of range. Reads the links, changes nothing.
    ///
    /// The walk stops after as many blocks as the list should hold, so a
    /// corrupted (cyclic) list cannot make it loop forever.
    pub fn quick_list(&self, class: usize) -> impl Iterator<Item = usize> + '_ {
        let len = self.quick_len.get(class).map_or(0, |&n| n as usize);
        let head = self.quick.get(class).copied().flatten();
        // SAFETY: quick-listed blocks are allocated blocks of this heap with
        // their link in the first payload word, and `&self` keeps the heap
        // alive and unchanged while the walk reads them.
        std::iter::successors(head, |block| unsafe { block.next_free() })
            .take(len)
            .map(Block::addr)
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
    /// Pushes a free block of `size` bytes onto its class's list and marks
    /// the class non-empty.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap of `size` bytes, in no list.
    #[inline]
    unsafe fn insert(&mut self, block: Block, size: usize) {
        let class = size_class(size);
        // SAFETY: the list holds free blocks of this heap.
        unsafe { self.lists[class].push(block) };
        self.bitmap |= 1 << class;
    }

    /// Unlinks a free block of `size` bytes from its class's list, clearing
    /// the class's bit if that was its last block.
    ///
    /// # Safety
    ///
    /// `block` is in the list of the class of `size`, the size it was
    /// inserted with.
    #[inline]
    unsafe fn remove(&mut self, block: Block, size: usize) {
        let class = size_class(size);
        // SAFETY: the caller's guarantee.
        unsafe { self.lists[class].remove(block) };
        if self.lists[class].is_empty() {
            self.bitmap &= !(1 << class);
        }
    }
    // ANCHOR_END: insert_remove

    // ANCHOR: find_fit
    /// A free block of at least `size` bytes, and its size. In the request's
    /// own class, the best of the first `FIT_CANDIDATES` blocks (in an
    /// exact class, the head fits exactly). Failing that, the head of the
    /// lowest non-empty class above, found through the bitmap: every block
    /// there is larger than the request. So the search takes O(1) steps,
    /// however many blocks are free.
    #[inline]
    fn find_fit(&self, size: usize) -> Option<(Block, usize)> {
        let class = size_class(size);
        // The request's class and the classes above it that have blocks.
        let mut candidates = self.bitmap & (u64::MAX << class);
        if candidates & (1 << class) != 0 {
            if let Some(found) = self.best_fit_in(class, size) {
                return Some(found);
            }
            candidates &= candidates - 1; // clear the lowest set bit: `class`
        }
        if candidates == 0 {
            return None;
        }
        let head = self.lists[candidates.trailing_zeros() as usize].head()?;
        // SAFETY: listed blocks are free blocks of this heap.
        Some((head, unsafe { head.size() }))
    }

    /// The smallest block that fits among the first `FIT_CANDIDATES` of
    /// class `class`, stopping early at an exact fit.
    #[inline]
    fn best_fit_in(&self, class: usize, size: usize) -> Option<(Block, usize)> {
        let mut best: Option<(Block, usize)> = None;
        let mut cursor = self.lists[class].head();
        for _ in 0..FIT_CANDIDATES {
            let Some(block) = cursor else { break };
            // SAFETY: listed blocks are free blocks of this heap.
            let free = unsafe { block.size() };
            if free == size {
                return Some((block, free));
            }
            if free > size && best.is_none_or(|(_, b)| free < b) {
                best = Some((block, free));
            }
            // SAFETY: as above.
            cursor = unsafe { block.next_free() };
        }
        best
    }
    // ANCHOR_END: find_fit

    /// For an alignment above [`ALIGN`]: first fit (see [`fit`]) in the
    /// request's own class, then in the non-empty classes above.
    fn find_aligned_fit(&self, request: &Request) -> Option<(Block, usize)> {
        let class = size_class(request.search);
        let mut candidates = self.bitmap & (u64::MAX << class);
        while candidates != 0 {
            let class = candidates.trailing_zeros() as usize;
            let mut cursor = self.lists[class].head();
            while let Some(block) = cursor {
                // SAFETY: listed blocks are free blocks of this heap.
                if let Some(gap) = fit(block, unsafe { block.size() }, request) {
                    return Some((block, gap));
                }
                // SAFETY: as above.
                cursor = unsafe { block.next_free() };
            }
            candidates &= candidates - 1;
        }
        None
    }

    // ANCHOR: place
    /// Allocates `asize` bytes of the listed free block `block` of `size`
    /// bytes, and returns the allocated block.
    ///
    /// A remainder too small to be a block stays in the allocated block.
    /// Otherwise the block is split, and *where* the request goes depends on
    /// its size: a small request (below `EXACT_LIMIT`) takes the block's
    /// high end, a large one its low end. Small and large blocks carved from
    /// the same free block then end up apart, so when the small ones are
    /// freed together their holes coalesce into room a large block can use,
    /// instead of a row of small holes between large blocks (the CS:APP
    /// `binary` traces show the effect; size-segregated slabs in jemalloc or
    /// tcmalloc get it by keeping sizes in separate pages).
    ///
    /// # Safety
    ///
    /// `block` is a free block of `size >= asize` bytes in its class's list.
    #[inline]
    unsafe fn place(&mut self, block: Block, size: usize, asize: usize) -> Block {
        // SAFETY: the caller's guarantee; the helpers need the same.
        unsafe {
            if size - asize < MIN_BLOCK {
                self.remove(block, size);
                block.set_header(block.header().with_allocated(true));
                block.plus(size).set_prev_allocated(true);
                block
            } else if asize < EXACT_LIMIT {
                self.carve_back(block, size, asize)
            } else {
                self.carve_front(block, size, asize)
            }
        }
    }
    // ANCHOR_END: place

    /// What stays free when `carve_front` or `carve_back` takes `asize`
    /// bytes of a `size`-byte block: at least [`MIN_BLOCK`] (their callers'
    /// guarantee, checked in debug builds).
    #[inline]
    fn carved_rest(size: usize, asize: usize) -> usize {
        debug_assert!(
            size - asize >= MIN_BLOCK,
            "carving {asize} bytes off a {size}-byte block leaves less than MIN_BLOCK"
        );
        size - asize
    }

    /// Allocates the first `asize` bytes of the listed free block `block`
    /// of `size` bytes; the rest, at least [`MIN_BLOCK`], stays free and
    /// takes the block's place in its list if its class is the same.
    ///
    /// # Safety
    ///
    /// `block` is a listed free block of `size >= asize + MIN_BLOCK` bytes.
    #[inline]
    unsafe fn carve_front(&mut self, block: Block, size: usize, asize: usize) -> Block {
        let rest = Self::carved_rest(size, asize);
        // SAFETY: both pieces lie inside `block`; the remainder starts at
        // least MIN_BLOCK bytes in, past `block`'s link words, which
        // `replace` and `remove` still read.
        unsafe {
            block.set_header(block.header().with_allocated(true).with_size(asize));
            let remainder = block.plus(asize);
            remainder.set_free(rest, true);
            let class = size_class(size);
            if size_class(rest) == class {
                self.lists[class].replace(block, remainder);
            } else {
                self.remove(block, size);
                self.insert(remainder, rest);
            }
            block
        }
    }

    /// Allocates the last `asize` bytes of the listed free block `block` of
    /// `size` bytes; the rest, at least [`MIN_BLOCK`], stays free where it
    /// is, and in its list if its class is the same.
    ///
    /// # Safety
    ///
    /// As for [`carve_front`](Self::carve_front).
    #[inline]
    unsafe fn carve_back(&mut self, block: Block, size: usize, asize: usize) -> Block {
        let rest = Self::carved_rest(size, asize);
        // SAFETY: both pieces lie inside `block`. The new footer is at least
        // MIN_BLOCK - WORD bytes in, past the link words.
        unsafe {
            block.set_free(rest, block.prev_allocated());
            if size_class(rest) != size_class(size) {
                self.remove(block, size);
                self.insert(block, rest);
            }
            let used = block.plus(rest);
            used.set_header(Header::allocated(asize, false)); // the block below is free
            used.plus(asize).set_prev_allocated(true);
            used
        }
    }

    // ANCHOR: coalesce
    /// Merges the freed block `block` with its free neighbours (the four
    /// cases of the implicit list, one `if` per neighbour), and lists the
    /// result in its class. A merged block usually changes class, so the
    /// neighbours leave their lists; a large block below that absorbs a
    /// small one often keeps its class, and then it stays where it is.
    ///
    /// # Safety
    ///
    /// `block` is a block of this heap being freed, in no list, whose header
    /// holds its size and PREV_ALLOCATED bit.
    #[inline]
    unsafe fn coalesce(&mut self, block: Block) -> Block {
        // SAFETY: as in the implicit list; free neighbours are listed with
        // the sizes their headers hold.
        unsafe {
            let header = block.header();
            let mut size = header.size();
            let next = block.plus(size);
            let next_header = next.header();
            if next_header.is_allocated() {
                next.set_header(next_header.with_prev_allocated(false));
            } else {
                self.detach(next, next_header.size());
                size += next_header.size();
            }
            if header.prev_allocated() {
                block.set_free(size, true);
                if !self.absorb_into_top(block, size, None) {
                    self.insert(block, size);
                }
                return block;
            }
            let prev = block.prev();
            let prev_size = prev.size();
            size += prev_size;
            prev.set_free(size, true);
            if !self.absorb_into_top(prev, size, Some(prev_size))
                && size_class(size) != size_class(prev_size)
            {
                self.remove(prev, prev_size);
                self.insert(prev, size);
            }
            prev
        }
    }
    // ANCHOR_END: coalesce

    // ANCHOR: wilderness_helpers
    /// Takes the free block `block` of `size` bytes out of whatever holds
    /// it: the list of its class or, if it is the wilderness, `top`.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap of `size` bytes, listed with
    /// that size or the wilderness.
    #[inline]
    unsafe fn detach(&mut self, block: Block, size: usize) {
        if Some(block) == self.top {
            self.top = None;
        } else {
            // SAFETY: the caller's guarantee: `block` is listed with `size`.
            unsafe { self.remove(block, size) }
        }
    }

    /// Makes the merged free block `block` of `size` bytes the wilderness if
    /// it ends the heap, taking it out of its list first if it was listed
    /// with `listed` bytes. `false`, and nothing changes, if it does not end
    /// the heap or the heap keeps no wilderness (`plain`).
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap of `size` bytes; with `listed`,
    /// it is listed with that size or is the wilderness, else in no list.
    #[inline]
    unsafe fn absorb_into_top(&mut self, block: Block, size: usize, listed: Option<usize>) -> bool {
        // SAFETY: the caller's guarantee: `block` spans `size` bytes of
        // this heap, so `plus(size)` is at most the epilogue.
        if !self.wilderness || unsafe { block.plus(size) } != self.heap.epilogue() {
            return false;
        }
        if let Some(listed) = listed {
            // SAFETY: the caller's guarantee. The block below new memory
            // from growing the heap is the old wilderness, in no list.
            unsafe { self.detach(block, listed) };
        }
        self.top = Some(block);
        true
    }
    // ANCHOR_END: wilderness_helpers

    /// Grows the heap so that a free block of at least `need` bytes ends
    /// it, and returns that block (in its class's list) and its size.
    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, need: usize) -> Result<(Block, usize), AllocError> {
        if self.quick_blocks() > 0 {
            self.consolidate();
            if let Some(found) = self.find_fit(need) {
                return Ok(found);
            }
        }
        let block = self.grow_heap(need)?;
        self.list_top();
        // SAFETY: `block` is a free block of this heap.
        Ok((block, unsafe { block.size() }))
    }

    /// Puts the wilderness block, if any, into the list of its class, for
    /// the paths that only search lists (large alignments).
    fn list_top(&mut self) {
        if let Some(top) = self.top.take() {
            // SAFETY: the wilderness is a free block of this heap in no list.
            unsafe { self.insert(top, top.size()) };
        }
    }

    // ANCHOR: take_top
    /// Cuts a block of `size` bytes from the low end of the wilderness, or
    /// `None` if the wilderness is missing or too small. No list changes:
    /// the rest stays the wilderness. A small request is the exception: it
    /// takes the high end, as `place` does, and the rest goes to a list.
    #[inline]
    fn take_top(&mut self, size: usize) -> Option<Block> {
        let top = self.top?;
        // SAFETY: the wilderness is a free block of this heap, in no list;
        // both pieces lie inside it.
        unsafe {
            let header = top.header();
            let free = header.size();
            if free < size {
                return None;
            }
            if size < EXACT_LIMIT && free - size >= MIN_BLOCK {
                // A small request takes the high end, as in `place`: the
                // rest is no longer on top, so it goes to its list.
                self.top = None;
                self.insert(top, free);
                return Some(self.carve_back(top, free, size));
            }
            if free - size < MIN_BLOCK {
                top.set_header(header.with_allocated(true));
                top.plus(free).set_prev_allocated(true);
                self.top = None;
            } else {
                top.set_header(header.with_allocated(true).with_size(size));
                let rest = top.plus(size);
                rest.set_free(free - size, true);
                self.top = Some(rest);
            }
            Some(top)
        }
    }
    // ANCHOR_END: take_top

    /// `allocate` when neither a list nor the wilderness can serve `size`
    /// bytes: empty the quick lists and search again, or grow the heap.
    #[cold]
    #[inline(never)]
    fn allocate_slow(&mut self, size: usize) -> Result<Block, AllocError> {
        if self.quick_blocks() > 0 {
            self.consolidate();
            if let Some((block, free)) = self.find_fit(size) {
                // SAFETY: `block` is a listed free block of `free >= size` bytes.
                return Ok(unsafe { self.place(block, free, size) });
            }
            if let Some(block) = self.take_top(size) {
                return Ok(block);
            }
        }
        let block = self.grow_heap(size)?;
        if Some(block) == self.top {
            return self.take_top(size).ok_or(AllocError::OutOfMemory);
        }
        // SAFETY: without a wilderness, the grown block is listed, and it
        // holds at least `size` bytes.
        unsafe { Ok(self.place(block, block.size(), size)) }
    }

    /// [`allocate`](RawAllocator::allocate) for an alignment above
    /// [`ALIGN`]: the payload may have to start further into a free block,
    /// and the gap in front becomes a free block of its own.
    #[inline(never)]
    fn allocate_aligned(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.list_top();
        let request = Request::new(layout)?;
        let (block, gap) = match self.find_aligned_fit(&request) {
            Some(found) => found,
            None if self.quick_blocks() > 0 => {
                self.consolidate();
                return self.allocate_aligned(layout);
            }
            None => {
                let (block, size) = self.grow_for(request.search)?;
                (
                    block,
                    fit(block, size, &request).ok_or(AllocError::OutOfMemory)?,
                )
            }
        };
        // SAFETY: `block` is a listed free block and `gap` is what `fit`
        // computed for it; the gap in front goes back to its class.
        unsafe {
            let size = block.size();
            let block = if gap > 0 {
                self.remove(block, size);
                let rest = split_front(block, gap);
                self.insert(block, gap);
                self.insert(rest, size - gap);
                rest
            } else {
                block
            };
            let size = block.size();
            let used = if size - request.size < MIN_BLOCK {
                self.place(block, size, request.size)
            } else {
                self.carve_front(block, size, request.size)
            };
            Ok(used.payload())
        }
    }
}

// SAFETY: a block is handed out only from a free list or a quick list, and
// is unlinked and marked allocated before it is returned; blocks tile the
// heap (the module's invariants, verified by `check`).
unsafe impl<M: HeapMemory> RawAllocator for SegregatedFreeList<M> {
    // ANCHOR: allocate
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if layout.align() > ALIGN {
            return self.allocate_aligned(layout);
        }
        let size = layout_block_size(layout);
        if size < QUICK_LIMIT
            && let Some(block) = self.pop_quick(size)
        {
            // SAFETY: a quick-listed block is an allocated block.
            return Ok(unsafe { block.payload() });
        }
        let block = match self.find_fit(size) {
            // SAFETY: `block` is a listed free block of `free >= size` bytes.
            Some((block, free)) => unsafe { self.place(block, free, size) },
            None => match self.take_top(size) {
                Some(block) => block,
                None => self.allocate_slow(size)?,
            },
        };
        // SAFETY: `block` is an allocated block of this heap.
        unsafe { Ok(block.payload()) }
    }
    // ANCHOR_END: allocate

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee.
        let block = unsafe { self.live_block(ptr, layout) };
        // SAFETY: as above; see `FreeListHeap::free` for why the allocated
        // bit is cleared first.
        unsafe {
            let header = block.header();
            debug_assert!(
                !header.has_flag(QUICK),
                "{:#x} is not allocated (double free?): it waits on a quick list",
                ptr.as_ptr().addr()
            );
            if self.push_quick(block, header) {
                return;
            }
            // The block is usually exactly what `layout` asked for: start
            // fetching its neighbour's header now.
            block.prefetch(layout_block_size(layout));
            block.set_header(header.with_allocated(false));
            self.coalesce(block);
        }
    }

    reallocate_in_place!();

    heap_queries!();

    // ANCHOR: check
    /// Checks the blocks, then the lists: every free block is linked into
    /// the list of its class, every listed block is free and in the right
    /// class, the lists hold exactly the heap's free blocks, and the bitmap
    /// marks exactly the non-empty classes.
    fn check(&self) -> Result<(), HeapError> {
        let mut quick_blocks = 0;
        let free_blocks = self.heap.check_blocks(|block, free| {
            // SAFETY: the block walk checked that `block` is a block.
            let header = unsafe { block.header() };
            if header.has_flag(QUICK) {
                if free || header.size() >= QUICK_LIMIT {
                    return Err(HeapError::new(block.addr(), "bad quick-list flag"));
                }
                quick_blocks += 1;
            }
            if free && Some(block) == self.top {
                // SAFETY: as above; the block's size was checked.
                if unsafe { block.next() } != self.heap.epilogue() {
                    return Err(HeapError::new(
                        block.addr(),
                        "wilderness is not the top block",
                    ));
                }
            } else if free {
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
        let free_blocks = free_blocks - usize::from(self.top.is_some());
        if self
            .top
            .is_some_and(|top| !self.heap.is_header_addr(top.addr()))
        {
            return Err(HeapError::new(0, "wilderness outside the heap"));
        }
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
        self.check_quick_lists(quick_blocks)
    }
    // ANCHOR_END: check
}

free_list_heap!(SegregatedFreeList, fn unlink(&mut self, block, size) {
    // SAFETY: the caller's guarantee: `block` is listed with `size` (the
    // wilderness counts as listed).
    unsafe { self.detach(block, size) }
});

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
