//! What the three free-list allocators do the same way, written once: the
//! way a block is freed, how the heap grows for a request, and resizing a
//! block in place. Each allocator implements [`FreeListHeap`] (its heap, its
//! `coalesce`, and how a free block leaves its list) and gets the rest.

use super::block::{Block, Header, MIN_BLOCK};
use super::fit::{Request, fit};
use super::heap::{Heap, HeapMemory};
use crate::raw_allocator::{AllocError, RawAllocator, reallocate_by_copy, resized_layout};
use std::alloc::Layout;
use std::ptr::NonNull;

// ANCHOR: free_list_heap
/// A free-list allocator: a [`Heap`], and free blocks that coalesce.
pub(crate) trait FreeListHeap {
    /// The memory the heap grows in.
    type Memory: HeapMemory;

    /// The heap.
    fn heap(&self) -> &Heap<Self::Memory>;

    /// The heap, to grow it.
    fn heap_mut(&mut self) -> &mut Heap<Self::Memory>;

    /// Merges the block `block`, being freed, with its free neighbours,
    /// lists the result, and returns it.
    ///
    /// # Safety
    ///
    /// `block` is a block of this heap being freed, in no list, whose header
    /// holds its size and prev-allocated bit.
    unsafe fn coalesce(&mut self, block: Block) -> Block;

    /// Takes the free block `block` of `size` bytes out of its list.
    ///
    /// # Safety
    ///
    /// `block` is a listed free block of this heap of `size` bytes.
    unsafe fn unlink(&mut self, block: Block, size: usize);

    // The methods below come with the trait, written once for all three
    // lists: `live_block`, `free`, `grow_heap`, `trim`, `resize_in_place`...
    // ANCHOR_END: free_list_heap

    // ANCHOR: deallocate
    /// The block of the payload `ptr`. Debug builds check that it is a live
    /// block of this heap, large enough for `layout`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live payload of this heap, allocated with `layout`.
    #[inline]
    unsafe fn live_block(&self, ptr: NonNull<u8>, layout: Layout) -> Block {
        // SAFETY: `ptr` is a live payload of this heap (the caller's
        // guarantee), and the heap's first block points into the same heap.
        let block = unsafe { Block::from_payload(self.heap().first().as_ptr(), ptr) };
        self.heap().debug_check_live(block, layout);
        block
    }

    /// Frees the block of `ptr` and coalesces it with its free neighbours.
    ///
    /// # Safety
    ///
    /// As for `RawAllocator::deallocate`.
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee.
        let block = unsafe { self.live_block(ptr, layout) };
        // SAFETY: as above. Clearing the allocated bit first means that
        // freeing `ptr` again is caught in debug builds even when the block
        // merges into the one below and its header is never rewritten.
        unsafe {
            block.set_header(block.header().with_allocated(false));
            self.coalesce(block);
        }
    }
    // ANCHOR_END: deallocate

    /// Grows the heap so that a free block of at least `need` bytes ends it,
    /// merged with a free block below, and listed.
    #[cold]
    fn grow_heap(&mut self, need: usize) -> Result<Block, AllocError> {
        let block = self.heap_mut().grow(need)?;
        // SAFETY: `grow` returned a free block of this heap, in no list.
        Ok(unsafe { self.coalesce(block) })
    }

    /// Grows the heap so that a block for `request` ends it, and returns it
    /// with the gap `fit` computes for it.
    #[cold]
    fn extend_heap(&mut self, request: &Request) -> Result<(Block, usize), AllocError> {
        let block = self.grow_heap(request.search)?;
        // SAFETY: `block` is a free block of this heap.
        let size = unsafe { block.size() };
        // It fits by construction: the new top block holds `search` bytes.
        let gap = fit(block, size, request).ok_or(AllocError::OutOfMemory)?;
        Ok((block, gap))
    }

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
            let header = block.header();
            let size = header.size();
            if size - asize >= MIN_BLOCK {
                block.set_header(header.with_size(asize));
                let tail = block.plus(asize);
                tail.set_header(Header::free(size - asize, true));
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
                let mut next = block.plus(size);
                let mut room = size;
                let next_free = !next.is_allocated();
                if next_free {
                    room += next.size();
                }
                let epilogue = self.heap().epilogue();
                let at_top = next == epilogue || (next_free && next.next() == epilogue);
                if room < asize && at_top {
                    // The new memory lands right after the block (merged
                    // with the free block there, if any).
                    let Ok(grown) = self.heap_mut().grow(asize - size) else {
                        return false;
                    };
                    self.coalesce(grown);
                    next = block.plus(size);
                    room = size + next.size();
                }
                if room < asize {
                    return false;
                }
                self.unlink(next, room - size);
                block.set_header(block.header().with_size(room));
                block.plus(room).set_prev_allocated(true);
            }
            self.trim(block, asize);
            true
        }
    }
    // ANCHOR_END: resize_in_place

    /// `RawAllocator::reallocate` for a heap that resizes in place when it
    /// can, and moves the block when it cannot.
    ///
    /// # Safety
    ///
    /// As for `RawAllocator::reallocate`.
    unsafe fn resize_or_move(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError>
    where
        Self: RawAllocator + Sized,
    {
        // The new layout must be valid even when the block stays put.
        let new = resized_layout(old, new_size)?;
        // SAFETY: `ptr` is a live block with layout `old` (the caller's
        // guarantee).
        let block = unsafe { self.live_block(ptr, old) };
        let asize = super::block::layout_block_size(new);
        // SAFETY: as above. The block keeps its address, so its alignment.
        if unsafe { self.resize_in_place(block, asize) } {
            return Ok(ptr);
        }
        // SAFETY: as above; the block is unchanged when it cannot resize.
        unsafe { reallocate_by_copy(self, ptr, old, new_size) }
    }
}

/// The three `RawAllocator` methods that a free-list allocator answers from
/// its heap; the heap never shrinks, so its size is its high-water mark.
macro_rules! heap_queries {
    () => {
        fn for_each_region(&self, visit: &mut dyn FnMut(std::ops::Range<usize>)) {
            self.heap.for_each_region(visit);
        }

        fn heap_size(&self) -> usize {
            self.heap.heap_size()
        }

        fn footprint(&self) -> usize {
            // The heap never shrinks, so its size is its high-water mark.
            self.heap.heap_size()
        }
    };
}
pub(crate) use heap_queries;

/// `RawAllocator::reallocate` through `FreeListHeap::resize_or_move`: for
/// the allocators that resize in place.
macro_rules! reallocate_in_place {
    () => {
        unsafe fn reallocate(
            &mut self,
            ptr: NonNull<u8>,
            old: Layout,
            new_size: usize,
        ) -> Result<NonNull<u8>, AllocError> {
            // SAFETY: the caller's guarantee.
            unsafe { self.resize_or_move(ptr, old, new_size) }
        }
    };
}
pub(crate) use reallocate_in_place;

/// `FreeListHeap` and `Send` for a free-list allocator `$allocator<M>`
/// whose heap is its field `heap` and which has an inherent `coalesce`:
/// written once here, not in each allocator. The caller gives the body of
/// `unlink`, the one part that differs (the implicit list has no list to
/// unlink from).
macro_rules! free_list_heap {
    ($allocator:ident, fn unlink(&mut $this:ident, $block:pat_param, $size:pat_param) $unlink:block) => {
        impl<M: HeapMemory> FreeListHeap for $allocator<M> {
            type Memory = M;

            fn heap(&self) -> &Heap<M> {
                &self.heap
            }

            fn heap_mut(&mut self) -> &mut Heap<M> {
                &mut self.heap
            }

            unsafe fn coalesce(&mut self, block: Block) -> Block {
                // SAFETY: the caller's guarantee, which the inherent
                // `coalesce` shares.
                unsafe { $allocator::coalesce(self, block) }
            }

            unsafe fn unlink(&mut $this, $block: Block, $size: usize) $unlink
        }

        // SAFETY: the allocator owns its heap (see `Heap`'s `Send`); its
        // other pointers (a rover, list heads) point into that heap.
        unsafe impl<M: Send> Send for $allocator<M> {}
    };
}
pub(crate) use free_list_heap;
