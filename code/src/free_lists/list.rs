//! A doubly linked list of free blocks, threaded through their payloads.
//!
//! An *explicit* free list keeps two links in each free block's payload (the
//! program is not using those bytes, so they cost nothing): `next` and
//! `prev`. Finding a free block then walks only the free blocks, and
//! removing one (when it is allocated, or merged with a neighbour) is O(1)
//! because of the `prev` link. The list head lives in the allocator, not in
//! the heap.
//!
//! ```text
//!   head --> +--------+------+------+-----+     +--------+------+------+-----+
//!            | header | next-+ prev | ... | --> | header | next | prev-+ ... |
//!            +--------+------+------+-----+ <-- +--------+------+------+-----+
//! ```
//!
//! [`ExplicitFreeList`](crate::explicit::ExplicitFreeList) keeps one such
//! list, [`SegregatedFreeList`](crate::segregated::SegregatedFreeList) one per
//! size class.

use super::block::{Block, MIN_BLOCK};
use super::heap::Heap;
use crate::raw_allocator::HeapError;

/// The head of a free list. The links live in the blocks.
#[derive(Debug)]
pub(crate) struct FreeList {
    head: Option<Block>,
}

impl FreeList {
    pub(crate) const fn new() -> FreeList {
        FreeList { head: None }
    }

    #[inline]
    pub(crate) fn head(&self) -> Option<Block> {
        self.head
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    // ANCHOR: push
    /// Inserts `block` at the front (LIFO): O(1).
    ///
    /// # Safety
    ///
    /// `block` is a free block of the heap this list belongs to, in no list;
    /// every block in the list is a free block of that heap.
    #[inline]
    pub(crate) unsafe fn push(&mut self, block: Block) {
        // SAFETY: `block` and the old head are free blocks: their payloads
        // hold links.
        unsafe {
            block.set_prev_free(None);
            block.set_next_free(self.head);
            if let Some(head) = self.head {
                head.set_prev_free(Some(block));
            }
        }
        self.head = Some(block);
    }
    // ANCHOR_END: push

    /// Inserts `block` right after `prev` (at the front for `None`).
    ///
    /// # Safety
    ///
    /// As for [`push`](Self::push), and `prev` is in this list.
    pub(crate) unsafe fn insert_after(&mut self, prev: Option<Block>, block: Block) {
        let Some(prev) = prev else {
            // SAFETY: the caller's guarantee.
            return unsafe { self.push(block) };
        };
        // SAFETY: `prev`, its successor and `block` are free blocks.
        unsafe {
            let next = prev.next_free();
            block.set_prev_free(Some(prev));
            block.set_next_free(next);
            prev.set_next_free(Some(block));
            if let Some(next) = next {
                next.set_prev_free(Some(block));
            }
        }
    }

    // ANCHOR: insert_by_address
    /// Inserts `block` where its address belongs, keeping the list sorted:
    /// O(number of free blocks below it).
    ///
    /// # Safety
    ///
    /// As for `push`, and the list is sorted by address.
    pub(crate) unsafe fn insert_by_address(&mut self, block: Block) {
        let mut prev = None;
        let mut cursor = self.head;
        while let Some(current) = cursor {
            if current.addr() > block.addr() {
                break;
            }
            prev = cursor;
            // SAFETY: listed blocks are free blocks with links.
            cursor = unsafe { current.next_free() };
        }
        // SAFETY: the caller's guarantee; `prev` is in the list.
        unsafe { self.insert_after(prev, block) }
    }
    // ANCHOR_END: insert_by_address

    // ANCHOR: remove
    /// Unlinks `block`: O(1), thanks to the `prev` link.
    ///
    /// # Safety
    ///
    /// `block` is in this list.
    #[inline]
    pub(crate) unsafe fn remove(&mut self, block: Block) {
        // SAFETY: `block` and its neighbours are listed free blocks.
        unsafe {
            let (prev, next) = (block.prev_free(), block.next_free());
            match prev {
                Some(prev) => prev.set_next_free(next),
                None => self.head = next,
            }
            if let Some(next) = next {
                next.set_prev_free(prev);
            }
        }
    }
    // ANCHOR_END: remove

    /// Puts `new` in `old`'s place in the list, in O(1). Used when a block is
    /// split (its remainder takes its place) or merged with a neighbour: the
    /// order by address does not change, because no free block lies
    /// between the two.
    ///
    /// # Safety
    ///
    /// `old` is in this list; `new` is a free block in no list, whose link
    /// words do not overlap `old`'s.
    #[inline]
    pub(crate) unsafe fn replace(&mut self, old: Block, new: Block) {
        // SAFETY: as for `remove`, and `new` is a free block.
        unsafe {
            let (prev, next) = (old.prev_free(), old.next_free());
            new.set_prev_free(prev);
            new.set_next_free(next);
            match prev {
                Some(prev) => prev.set_next_free(Some(new)),
                None => self.head = Some(new),
            }
            if let Some(next) = next {
                next.set_prev_free(Some(new));
            }
        }
    }

    /// The list half of a heap checker. Walks the list and checks that every
    /// link stays inside `heap`, points at a free block, and is matched by
    /// the `prev` link coming back; a list longer than `limit` has a cycle.
    /// Calls `visit` on each block, and returns the list's length.
    pub(crate) fn check<M>(
        &self,
        heap: &Heap<M>,
        limit: usize,
        mut visit: impl FnMut(Block) -> Result<(), HeapError>,
    ) -> Result<usize, HeapError> {
        let mut prev: Option<Block> = None;
        let mut cursor = self.head;
        let mut length = 0;
        while let Some(link) = cursor {
            if !heap.is_header_addr(link.addr()) {
                let at = prev.map_or(0, Block::addr);
                return Err(HeapError::new(at, "free-list link points outside the heap"));
            }
            let block = heap.block_at(link.addr());
            // SAFETY: `block` is a header position inside the heap, so its
            // words (header, links, footer) are in bounds.
            unsafe {
                if block.is_allocated() {
                    return Err(HeapError::new(
                        block.addr(),
                        "allocated block in a free list",
                    ));
                }
                if block.prev_free().map(Block::addr) != prev.map(Block::addr) {
                    return Err(HeapError::new(block.addr(), "prev link does not match"));
                }
            }
            length += 1;
            if length > limit {
                return Err(HeapError::new(block.addr(), "free list has a cycle"));
            }
            visit(block)?;
            prev = Some(block);
            // SAFETY: as above.
            cursor = unsafe { block.next_free() };
        }
        Ok(length)
    }

    /// `true` if the free block `block` is linked into this list: its
    /// neighbours' links (or the head) point back at it.
    pub(crate) fn links_to<M>(&self, heap: &Heap<M>, block: Block) -> bool {
        // SAFETY: `block` is a free block of `heap` (checked by the caller's
        // block walk), and each neighbour is read only after checking that it
        // is a header position inside the heap.
        unsafe {
            let prev_ok = match block.prev_free() {
                None => self.head == Some(block),
                Some(prev) => {
                    heap.is_header_addr(prev.addr())
                        && heap.block_at(prev.addr()).next_free() == Some(block)
                }
            };
            let next_ok = match block.next_free() {
                None => true,
                Some(next) => {
                    heap.is_header_addr(next.addr())
                        && heap.block_at(next.addr()).prev_free() == Some(block)
                }
            };
            prev_ok && next_ok
        }
    }

    /// The addresses in the list, for [`FreeBlocks`]: stops at a link that
    /// leaves the heap, and after `limit` steps.
    pub(crate) fn walk<'a, M>(&self, heap: &'a Heap<M>) -> FreeBlocks<'a, M> {
        FreeBlocks {
            heap,
            cursor: self.head,
            left: heap.heap_size() / MIN_BLOCK + 1,
        }
    }
}

/// The header addresses of the blocks in a free list, in list order.
///
/// For the book's figures and for tests. It follows the links only while
/// they point at header positions inside the heap, so a corrupted list ends
/// the walk early (the allocator's `check` says what is wrong).
pub struct FreeBlocks<'a, M> {
    heap: &'a Heap<M>,
    cursor: Option<Block>,
    left: usize,
}

impl<M> Iterator for FreeBlocks<'_, M> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let link = self.cursor?;
        if self.left == 0 || !self.heap.is_header_addr(link.addr()) {
            self.cursor = None;
            return None;
        }
        self.left -= 1;
        let block = self.heap.block_at(link.addr());
        // SAFETY: a header position inside the heap: its link words are in
        // bounds, and initialised (the heap's memory is).
        self.cursor = unsafe { block.next_free() };
        Some(block.addr())
    }
}
