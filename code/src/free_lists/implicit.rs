//! The implicit free list: every block, free or allocated, chained through
//! the sizes in the headers.
//!
//! There is no list to maintain: the heap *is* the list. To find a free
//! block, [`ImplicitFreeList`] walks from the first block, hopping `size`
//! bytes at a time, past allocated blocks and free ones alike, until one is
//! free and large enough (CS:APP §9.9.6). That makes allocation O(number of
//! blocks), which is this design's cost; freeing is O(1), because the
//! boundary tags ([`block`](super::block)) find both neighbours at once.
//!
//! Which free block a search takes is the *placement policy*
//! ([`Placement`]): the first that fits, the first after where the last
//! search stopped, or the one that fits best. A block larger than the request
//! is *split*, and its remainder stays free if it can be a block on its own.
//! A freed block is *coalesced* with its free neighbours at once (immediate
//! coalescing), so no two free blocks are ever adjacent.
//!
//! When nothing fits, the heap grows at its break (see [`heap`](crate::heap)).
//!
//! ```
//! use allocators::heap::RegionBreak;
//! use allocators::implicit::{ImplicitFreeList, Placement};
//! use allocators::raw_allocator::RawAllocator;
//! use allocators::region::OwnedRegion;
//! use std::alloc::Layout;
//!
//! let memory = RegionBreak::new(OwnedRegion::new(64 * 1024, 16).unwrap());
//! let mut heap = ImplicitFreeList::new(memory, Placement::FirstFit);
//! let layout = Layout::new::<[u64; 4]>();
//! let a = heap.allocate(layout).unwrap();
//! // SAFETY: `a` is live with `layout`.
//! unsafe { heap.deallocate(a, layout) };
//! assert_eq!(heap.allocate(layout).unwrap(), a); // first fit finds it again
//! heap.check().unwrap();
//! ```

use super::block::{Block, MIN_BLOCK};
use super::fit::{Request, fit, split_front};
use super::heap::{Blocks, Heap, HeapMemory};
use super::shared::{FreeListHeap, free_list_heap, heap_queries};
use crate::raw_allocator::{AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::ptr::NonNull;

/// A placement policy: which free block a search takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The first free block (from the start of the heap) that fits. Simple,
    /// and tends to leave small splinters near the start of the heap.
    FirstFit,
    /// Like first fit, but the search starts where the previous one ended
    /// (the *rover*), and wraps around. Faster searches, usually worse
    /// utilization (CS:APP §9.9.7).
    NextFit,
    /// The smallest free block that fits: searches the whole heap (unless it
    /// finds an exact fit), and wastes the least.
    BestFit,
}

/// An implicit-free-list allocator with a choice of [`Placement`], over
/// memory `M` that grows at a break.
pub struct ImplicitFreeList<M> {
    heap: Heap<M>,
    placement: Placement,
    /// Where the next-fit search starts: a block header, or `None` for the
    /// first block.
    rover: Option<Block>,
}

impl<M> ImplicitFreeList<M> {
    /// An empty heap over `memory`, taking its first bytes on the first
    /// allocation. `const`, so it can initialise a `static`.
    pub const fn new(memory: M, placement: Placement) -> ImplicitFreeList<M> {
        ImplicitFreeList {
            heap: Heap::new(memory),
            placement,
            rover: None,
        }
    }

    /// The placement policy.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Every block of the heap in address order, for tests and figures.
    pub fn blocks(&self) -> Blocks<'_> {
        self.heap.blocks()
    }

    /// The memory the heap grows in.
    pub fn memory(&self) -> &M {
        self.heap.memory()
    }
}

impl<M: HeapMemory> ImplicitFreeList<M> {
    // ANCHOR: find_fit
    /// Finds a free block for `request` by the placement policy, and the gap
    /// in front of it (non-zero only for large alignments).
    fn find_fit(&self, request: &Request) -> Option<(Block, usize)> {
        let (first, end) = (self.heap.first(), self.heap.epilogue());
        match self.placement {
            Placement::FirstFit => self.first_fit(first, end, request),
            Placement::NextFit => {
                let rover = self.rover.unwrap_or(first);
                // From the rover to the end, then wrap around to it.
                self.first_fit(rover, end, request)
                    .or_else(|| self.first_fit(first, rover, request))
            }
            Placement::BestFit => self.best_fit(request),
        }
    }
    // ANCHOR_END: find_fit

    // ANCHOR: first_fit
    /// The first free block from `from` (up to, not including, `to`) that
    /// fits: a walk over every block, allocated ones included.
    fn first_fit(&self, from: Block, to: Block, request: &Request) -> Option<(Block, usize)> {
        let mut block = from;
        while block != to {
            // SAFETY: `block` is a header of this heap: the first block, the
            // rover, or `size` past the previous one, and `to` is reached
            // before the epilogue is passed.
            let header = unsafe { block.header() };
            let size = header.size();
            if !header.is_allocated()
                && let Some(gap) = fit(block, size, request)
            {
                return Some((block, gap));
            }
            // SAFETY: as above; blocks tile the heap.
            block = unsafe { block.next() };
        }
        None
    }
    // ANCHOR_END: first_fit

    // ANCHOR: best_fit
    /// The smallest free block that fits: walks the whole heap, unless it
    /// meets a block of exactly the right size.
    fn best_fit(&self, request: &Request) -> Option<(Block, usize)> {
        let mut best: Option<(Block, usize, usize)> = None;
        let mut block = self.heap.first();
        while block != self.heap.epilogue() {
            // SAFETY: as in `first_fit`.
            let header = unsafe { block.header() };
            let size = header.size();
            if !header.is_allocated()
                && best.is_none_or(|(_, _, best)| size < best)
                && let Some(gap) = fit(block, size, request)
            {
                if gap == 0 && size == request.size {
                    return Some((block, 0)); // cannot do better
                }
                best = Some((block, gap, size));
            }
            // SAFETY: as in `first_fit`.
            block = unsafe { block.next() };
        }
        best.map(|(block, gap, _)| (block, gap))
    }
    // ANCHOR_END: best_fit

    // ANCHOR: place
    /// Allocates `asize` bytes of the free block `block`, `gap` bytes in:
    /// the gap stays a free block, and so does the remainder behind the new
    /// block if it is at least `MIN_BLOCK` (the *split*). A smaller
    /// remainder is left in the block as internal fragmentation.
    ///
    /// # Safety
    ///
    /// `block` is a free block of this heap, and `gap` and `asize` come from
    /// `fit` for it.
    unsafe fn place(&mut self, block: Block, gap: usize, asize: usize) -> Block {
        // SAFETY: every block touched lies inside `block`, or is the block
        // right after it (allocated, or the epilogue: it has a header).
        unsafe {
            let block = if gap > 0 {
                split_front(block, gap)
            } else {
                block
            };
            let header = block.header().with_allocated(true);
            let size = header.size();
            if size - asize >= MIN_BLOCK {
                block.set_header(header.with_size(asize));
                block.next().set_free(size - asize, true);
            } else {
                block.set_header(header);
                block.next().set_prev_allocated(true);
            }
            block
        }
    }
    // ANCHOR_END: place

    // ANCHOR: coalesce
    /// Merges the free block `block` with whichever neighbours are free, and
    /// returns the merged block. The four cases of CS:APP §9.9.11:
    ///
    /// ```text
    ///   1. [used][block][used]  ->  [used][ free ][used]
    ///   2. [used][block][free]  ->  [used][   free    ]
    ///   3. [free][block][used]  ->  [   free    ][used]
    ///   4. [free][block][free]  ->  [      free       ]
    /// ```
    ///
    /// # Safety
    ///
    /// `block` is a block of this heap whose header holds its size and
    /// PREV_ALLOCATED bit; it is being freed.
    unsafe fn coalesce(&mut self, block: Block) -> Block {
        // SAFETY: `block` is a block of this heap, so it has a next block (or
        // the epilogue), and when PREV_ALLOCATED is clear a free block with
        // a footer lies below it.
        unsafe {
            let next = block.next();
            // Cases 1 and 3 clear `next`'s PREV_ALLOCATED. In 2 and 4, `next`
            // was free, so the block after it has that flag clear already.
            let (start, size) = match (block.prev_allocated(), next.is_allocated()) {
                (true, true) => {
                    next.set_prev_allocated(false);
                    (block, block.size())
                }
                (true, false) => (block, block.size() + next.size()),
                (false, true) => {
                    next.set_prev_allocated(false);
                    let prev = block.prev();
                    (prev, prev.size() + block.size())
                }
                (false, false) => {
                    let prev = block.prev();
                    (prev, prev.size() + block.size() + next.size())
                }
            };
            // The block below a free block is always allocated.
            start.set_free(size, true);
            // A rover inside the merged block would point into its middle.
            if let Some(rover) = self.rover
                && (start.addr()..start.addr() + size).contains(&rover.addr())
            {
                self.rover = Some(start);
            }
            start
        }
    }
    // ANCHOR_END: coalesce
}

// SAFETY: a block is handed out only when its header says it is free,
// and is marked allocated before it is returned; blocks tile the heap, so
// they never overlap (the module's invariants, verified by `check`).
unsafe impl<M: HeapMemory> RawAllocator for ImplicitFreeList<M> {
    // ANCHOR: allocate
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let request = Request::new(layout)?;
        let (block, gap) = match self.find_fit(&request) {
            Some(found) => found,
            None => self.extend_heap(&request)?,
        };
        // SAFETY: `find_fit` and `extend_heap` return a free block of this
        // heap with the gap `fit` computed for this request.
        let block = unsafe { self.place(block, gap, request.size) };
        if self.placement == Placement::NextFit {
            self.rover = Some(block);
        }
        // SAFETY: `block` is an allocated block of this heap.
        Ok(unsafe { block.payload() })
    }
    // ANCHOR_END: allocate

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee.
        unsafe { self.free(ptr, layout) }
    }

    heap_queries!();

    fn check(&self) -> Result<(), HeapError> {
        let mut rover_found = self.rover.is_none();
        self.heap.check_blocks(|block, _| {
            rover_found |= Some(block) == self.rover;
            Ok(())
        })?;
        if !rover_found {
            let at = self.rover.map_or(0, Block::addr);
            return Err(HeapError::new(at, "next-fit rover is not at a block"));
        }
        Ok(())
    }
}

free_list_heap!(ImplicitFreeList, fn unlink(&mut self, _block, _size) {
    // No list: the heap is the list.
});
