//! The segregated lists' *quick lists* (deferred coalescing): a freed block
//! of an exact size waits, still marked allocated, for the next request of
//! its size, as in glibc's tcache and fastbins. One list per exact class,
//! linked through the blocks' first payload words; a flag in the header
//! (one of the block format's spare bits) marks the blocks on them.

use super::{EXACT_CLASSES, EXACT_LIMIT, SegregatedFreeList, size_class};
use crate::free_lists::block::{Block, Header, MIN_BLOCK};
use crate::free_lists::heap::HeapMemory;
use crate::raw_allocator::HeapError;

/// Header flag: this block sits on a quick list: freed, but kept allocated
/// (not coalesced) for the next request of its size. The other allocators
/// never set it.
pub(super) const QUICK: usize = 0b100;

const _: () = assert!(
    QUICK & Header::SPARE == QUICK,
    "QUICK must be a spare header bit"
);

/// Block sizes below this are freed onto a quick list instead of being
/// coalesced at once: the exact classes.
pub const QUICK_LIMIT: usize = EXACT_LIMIT;

/// How many blocks one quick list holds, by default, before a free of its
/// size coalesces as usual. glibc's tcache holds 7 per size by default; a
/// few more pays off here, where there is no per-thread cache in front.
pub const QUICK_MAX: usize = 32;

impl<M: HeapMemory> SegregatedFreeList<M> {
    // ANCHOR: quick_list
    // ANCHOR: push_quick
    /// Tries to free `block` (of `size` bytes, header word `header`) onto
    /// its quick list: it stays marked allocated, so neither neighbour is
    /// read or written, and it is not coalesced. `false` if the block is
    /// too large for a quick list or its list is full.
    ///
    /// # Safety
    ///
    /// `block` is an allocated block of this heap being freed, whose header
    /// word is `header`.
    #[inline]
    pub(super) unsafe fn push_quick(&mut self, block: Block, header: Header) -> bool {
        let size = header.size();
        if size >= QUICK_LIMIT {
            return false;
        }
        let class = size_class(size);
        if self.quick_len[class] >= self.quick_max {
            return false;
        }
        // SAFETY: the block is ours again; its first payload word holds the
        // link (an allocated block of MIN_BLOCK bytes has room for it).
        unsafe {
            block.set_header(header.with_flag(QUICK, true));
            block.set_next_free(self.quick[class]);
        }
        self.quick[class] = Some(block);
        self.quick_len[class] += 1;
        true
    }
    // ANCHOR_END: push_quick

    // ANCHOR: pop_quick
    /// Takes a block of exactly `size` bytes (below `QUICK_LIMIT`) off
    /// its quick list, ready to use: nothing is split, nothing unlinked.
    #[inline]
    pub(super) fn pop_quick(&mut self, size: usize) -> Option<Block> {
        let class = size_class(size);
        let block = self.quick[class]?;
        // SAFETY: quick-listed blocks are allocated blocks of this heap
        // with their link in the first payload word.
        unsafe {
            self.quick[class] = block.next_free();
            block.set_header(block.header().with_flag(QUICK, false));
        }
        self.quick_len[class] -= 1;
        Some(block)
    }

    /// Empties every quick list, freeing and coalescing each block as
    /// `deallocate` would without them (glibc's `malloc_consolidate`).
    /// Called before the heap grows, so that no request makes the heap
    /// larger while free memory waits uncoalesced.
    #[cold]
    #[inline(never)]
    pub fn consolidate(&mut self) {
        for class in 0..EXACT_CLASSES {
            while let Some(block) = self.quick[class] {
                // SAFETY: as in `pop_quick`; the block then is freed like
                // any other (allocated bit cleared first, see `deallocate`).
                unsafe {
                    self.quick[class] = block.next_free();
                    let header = block.header().with_flag(QUICK, false);
                    block.set_header(header.with_allocated(false));
                    self.coalesce(block);
                }
            }
            self.quick_len[class] = 0;
        }
    }
    // ANCHOR_END: pop_quick
    // ANCHOR_END: quick_list
}

impl<M> SegregatedFreeList<M> {
    /// The quick-list half of the checker: every quick list holds as many
    /// blocks as its length says (so no cycle), each a flagged block of
    /// the list's exact size, and together they hold exactly the
    /// `flagged` blocks the walk found. A block in two lists, or twice in
    /// one, would make some list longer than its length or leave a flagged
    /// block out.
    pub(super) fn check_quick_lists(&self, flagged: usize) -> Result<(), HeapError> {
        let mut listed = 0;
        for (class, &head) in self.quick.iter().enumerate() {
            let mut cursor = head;
            let mut length = 0;
            while let Some(link) = cursor {
                if !self.heap.is_header_addr(link.addr()) || length >= self.quick_len[class] {
                    return Err(HeapError::new(link.addr(), "quick list broken"));
                }
                let block = self.heap.block_at(link.addr());
                // SAFETY: a header position inside the heap: its header
                // and first payload word are in bounds.
                let header = unsafe { block.header() };
                if !header.is_allocated()
                    || !header.has_flag(QUICK)
                    || size_class(header.size().max(MIN_BLOCK)) != class
                {
                    return Err(HeapError::new(block.addr(), "bad block in a quick list"));
                }
                length += 1;
                // SAFETY: as above.
                cursor = unsafe { block.next_free() };
            }
            if length != self.quick_len[class] {
                return Err(HeapError::new(0, "quick list shorter than its length"));
            }
            listed += length as usize;
        }
        if listed != flagged {
            return Err(HeapError::new(0, "quick lists and heap disagree"));
        }
        Ok(())
    }
}
