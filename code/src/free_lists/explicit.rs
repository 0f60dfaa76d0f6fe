//! The explicit free list: the free blocks, and only they, linked through
//! their payloads.
//!
//! The implicit list walks past every allocated block to find a free one.
//! [`ExplicitFreeList`] keeps the free blocks in a doubly linked list
//! ([`list`](super::list)) whose links live in the free blocks'
//! payloads, so a search walks only the free blocks (CS:APP §9.9.13). The
//! price is a larger minimum block (two links) and keeping the list right
//! through every split and coalesce.
//!
//! Searches are first fit along the list. What that finds depends on where
//! freed blocks go, the *insertion policy* ([`Insertion`]):
//!
//! - **LIFO**: at the front. Freeing is O(1), and a block freed a moment ago
//!   (still in cache) is the first one reused. Utilization is worse.
//! - **Address-ordered**: in address order. Freeing walks the list to find
//!   the spot, but first fit in address order comes close to best fit
//!   (Wilson et al., 1995).
//!
//! ```
//! use allocators::explicit::{ExplicitFreeList, Insertion};
//! use allocators::heap::RegionBreak;
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::OwnedRegion;
//! use std::alloc::Layout;
//!
//! let memory = RegionBreak::new(OwnedRegion::new(64 * 1024, 16).unwrap());
//! let mut heap = ExplicitFreeList::new(memory, Insertion::Lifo);
//! let layout = Layout::new::<[u64; 4]>();
//! let a = heap.allocate(layout).unwrap();
//! let _b = heap.allocate(layout).unwrap();
//! // SAFETY: `a` is live with `layout`.
//! unsafe { heap.deallocate(a, layout) };
//! assert_eq!(heap.free_list().count(), 2); // `a`, and the rest of the heap
//! heap.check().unwrap();
//! ```

use super::block::{ALIGN, Block, MIN_BLOCK};
use super::fit::{Request, fit, split_front};
use super::heap::{Blocks, Heap, HeapMemory};
use super::list::{FreeBlocks, FreeList};
use super::shared::{FreeListHeap, free_list_heap, heap_queries, reallocate_in_place};
use crate::raw_allocator::{AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::ptr::NonNull;

/// Where a freed block goes in the free list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insertion {
    /// At the front: last in, first out.
    Lifo,
    /// Sorted by address.
    AddressOrdered,
}

/// An explicit-free-list allocator with a choice of [`Insertion`] policy,
/// over memory `M` that grows at a break.
pub struct ExplicitFreeList<M> {
    heap: Heap<M>,
    free: FreeList,
    insertion: Insertion,
}

impl<M> ExplicitFreeList<M> {
    /// An empty heap over `memory`, taking its first bytes on the first
    /// allocation. `const`, so it can initialise a `static`.
    pub const fn new(memory: M, insertion: Insertion) -> ExplicitFreeList<M> {
        ExplicitFreeList {
            heap: Heap::new(memory),
            free: FreeList::new(),
            insertion,
        }
    }

    /// The insertion policy.
    pub fn insertion(&self) -> Insertion {
        self.insertion
    }

    /// Every block of the heap in address order, for tests and figures.
    pub fn blocks(&self) -> Blocks<'_> {
        self.heap.blocks()
    }

    /// The header addresses of the free blocks, in list order.
    pub fn free_list(&self) -> FreeBlocks<'_, M> {
        self.free.walk(&self.heap)
    }

    /// The memory the heap grows in.
    pub fn memory(&self) -> &M {
        self.heap.memory()
    }
}

impl<M: HeapMemory> ExplicitFreeList<M> {
    // ANCHOR: find_fit
    /// First fit along the free list: only free blocks are visited.
    #[inline]
    fn find_fit(&self, request: &Request) -> Option<(Block, usize)> {
        if request.align <= ALIGN {
            return self.first_fit(request.size);
        }
        let mut cursor = self.free.head();
        while let Some(block) = cursor {
            // SAFETY: blocks in the list are free blocks of this heap.
            let size = unsafe { block.size() };
            if let Some(gap) = fit(block, size, request) {
                return Some((block, gap));
            }
            // SAFETY: as above.
            cursor = unsafe { block.next_free() };
        }
        None
    }
    // ANCHOR_END: find_fit

    /// [`find_fit`](Self::find_fit) for the usual alignment, where a block
    /// fits if it is large enough: the loop compares sizes and nothing else.
    #[inline]
    fn first_fit(&self, size: usize) -> Option<(Block, usize)> {
        let mut cursor = self.free.head();
        while let Some(block) = cursor {
            // SAFETY: blocks in the list are free blocks of this heap.
            if unsafe { block.size() } >= size {
                return Some((block, 0));
            }
            // SAFETY: as above.
            cursor = unsafe { block.next_free() };
        }
        None
    }

    // ANCHOR: insert
    /// Puts a free block (in no list) into the free list, by the policy.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, in no list.
    unsafe fn insert(&mut self, block: Block) {
        // SAFETY: the caller's guarantee; the list holds free blocks of this
        // heap, sorted by address if the policy says so.
        unsafe {
            match self.insertion {
                Insertion::Lifo => self.free.push(block),
                Insertion::AddressOrdered => self.free.insert_by_address(block),
            }
        }
    }

    /// The merged block `merged` takes the list entry of `old`, one of the
    /// blocks it was merged from.
    ///
    /// # Safety
    ///
    /// `old` is in the list; `merged` is a free block, and either is `old`
    /// or is in no list.
    unsafe fn relink(&mut self, old: Block, merged: Block) {
        // SAFETY: the caller's guarantee.
        unsafe {
            match self.insertion {
                // A freed (merged) block goes to the front.
                Insertion::Lifo => {
                    self.free.remove(old);
                    self.free.push(merged);
                }
                // No free block lies between `old` and `merged`, so `merged`
                // belongs exactly where `old` was.
                Insertion::AddressOrdered => {
                    if old != merged {
                        self.free.replace(old, merged);
                    }
                }
            }
        }
    }
    // ANCHOR_END: insert

    // ANCHOR: coalesce
    /// Merges the freed block `block` with its free neighbours, and puts the
    /// result in the free list. The four cases, each keeping the list right:
    /// a free neighbour is already listed, so the merged block takes its
    /// entry (and a second free neighbour leaves the list).
    ///
    /// # Safety
    ///
    /// `block` is a block of this heap being freed, in no list, whose header
    /// holds its size and PREV_ALLOCATED bit.
    unsafe fn coalesce(&mut self, block: Block) -> Block {
        // SAFETY: as in the implicit list's `coalesce`; free neighbours are
        // in the list (the heap invariant), so removing them is allowed.
        unsafe {
            let next = block.next();
            let size = block.size();
            match (block.prev_allocated(), next.is_allocated()) {
                (true, true) => {
                    next.set_prev_allocated(false);
                    block.set_free(size, true);
                    self.insert(block);
                    block
                }
                (true, false) => {
                    block.set_free(size + next.size(), true);
                    // `next` is now inside the merged block, but only its
                    // footer was rewritten: its links, which `relink`
                    // reads, are intact.
                    self.relink(next, block);
                    block
                }
                (false, true) => {
                    next.set_prev_allocated(false);
                    let prev = block.prev();
                    prev.set_free(prev.size() + size, true);
                    // Not a no-op: with LIFO, the grown `prev` moves to the
                    // front; in address order it stays where it is.
                    self.relink(prev, prev);
                    prev
                }
                (false, false) => {
                    let prev = block.prev();
                    self.free.remove(next);
                    prev.set_free(prev.size() + size + next.size(), true);
                    // As in the case above.
                    self.relink(prev, prev);
                    prev
                }
            }
        }
    }
    // ANCHOR_END: coalesce

    // ANCHOR: place
    /// Allocates `asize` bytes of the listed free block `block`, `gap` bytes
    /// in. The gap stays in the list where the block was; a remainder of at
    /// least `MIN_BLOCK` takes the block's list entry.
    ///
    /// # Safety
    ///
    /// `block` is a free block in the list, and `gap` and `asize` come from
    /// `fit` for it.
    ///
    /// The split is the implicit list's, written out again on purpose, with
    /// the list updates in between, so that the function reads on its own.
    unsafe fn place(&mut self, block: Block, gap: usize, asize: usize) -> Block {
        // SAFETY: every block touched lies inside `block`, or is the block
        // after it (allocated, or the epilogue). The remainder starts at
        // least MIN_BLOCK past `block`, so its links do not overlap.
        unsafe {
            let block = if gap > 0 {
                let rest = split_front(block, gap);
                self.free.insert_after(Some(block), rest);
                rest
            } else {
                block
            };
            let header = block.header().with_allocated(true);
            let size = header.size();
            if size - asize >= MIN_BLOCK {
                block.set_header(header.with_size(asize));
                let rest = block.next();
                rest.set_free(size - asize, true);
                self.free.replace(block, rest);
            } else {
                self.free.remove(block);
                block.set_header(header);
                block.next().set_prev_allocated(true);
            }
            block
        }
    }
    // ANCHOR_END: place
}

// SAFETY: a block is handed out only from the free list, and is unlinked
// and marked allocated before it is returned; blocks tile the heap (the
// module's invariants, verified by `check`).
unsafe impl<M: HeapMemory> RawAllocator for ExplicitFreeList<M> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let request = Request::new(layout)?;
        let (block, gap) = match self.find_fit(&request) {
            Some(found) => found,
            None => self.extend_heap(&request)?,
        };
        // SAFETY: a listed free block with the gap `fit` computed.
        unsafe { Ok(self.place(block, gap, request.size).payload()) }
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee.
        unsafe { self.free(ptr, layout) }
    }

    reallocate_in_place!();

    heap_queries!();

    // ANCHOR: check
    /// Checks the blocks (see the implicit list), then the list: every free
    /// block is linked in (its neighbours in the list point back at it),
    /// the list holds exactly as many blocks as the heap has free ones, each
    /// free, with links that agree both ways and, for address order, in
    /// increasing order.
    fn check(&self) -> Result<(), HeapError> {
        let free_blocks = self.heap.check_blocks(|block, free| {
            if free && !self.free.links_to(&self.heap, block) {
                return Err(HeapError::new(
                    block.addr(),
                    "free block not in the free list",
                ));
            }
            Ok(())
        })?;
        let mut last = 0;
        let listed = self.free.check(&self.heap, free_blocks, |block| {
            if self.insertion == Insertion::AddressOrdered && block.addr() <= last {
                return Err(HeapError::new(
                    block.addr(),
                    "free list out of address order",
                ));
            }
            last = block.addr();
            Ok(())
        })?;
        if listed != free_blocks {
            return Err(HeapError::new(
                0,
                "free list and heap disagree on the free blocks",
            ));
        }
        Ok(())
    }
    // ANCHOR_END: check
}

free_list_heap!(ExplicitFreeList, fn unlink(&mut self, block, _size) {
    // SAFETY: the caller's guarantee: `block` is in the list.
    unsafe { self.free.remove(block) }
});
