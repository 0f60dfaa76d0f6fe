//! Where a free-list heap gets its memory: a *break* that only moves up.
//!
//! A free-list allocator wants one contiguous heap that it can extend at the
//! top, the way a C `malloc` extends its heap with `sbrk`. [`HeapMemory`] is
//! that interface: [`extend`](HeapMemory::extend) moves a break up and
//! returns the old one, the start of the new memory.
//!
//! - [`RegionBreak`] keeps a break *inside* a [`Region`] that is already
//!   there: an [`OwnedRegion`](crate::region::OwnedRegion) in tests (Miri
//!   checks every access), a static [`Buffer`](crate::region::Buffer) for a
//!   `#[global_allocator]`, or a large [`Mapping`](crate::os::Mapping) whose
//!   pages the kernel only backs once they are touched. Reserving a large
//!   mapping and moving a break through it is how a heap grows "from the
//!   OS" without `sbrk`'s hazards.
//! - The real program break implements it in the `sbrk_heap` example, a
//!   process of its own: the break is shared with glibc's `malloc` and `sbrk`
//!   is not thread-safe (see [`os`](crate::os)).
//!
//! The allocators never give memory back: the heap's size is its high-water
//! mark, and a free block at the top is simply reused when the heap grows.
//!
//! `Heap` is what the allocators share on top of that memory: the heap's
//! two ends, growing, the walk over its blocks ([`Blocks`]) and the
//! block-level half of every heap checker.

use super::block::{ALIGN, Block, BlockInfo, BlockKind, Header, MIN_BLOCK, WORD};
use crate::align::align_up;
use crate::raw_allocator::{AllocError, HeapError};
use crate::region::Region;
use std::alloc::Layout;
use std::marker::PhantomData;
use std::ops::Range;
use std::ptr::NonNull;

// ANCHOR: heap_memory
/// Memory that grows at one end, like the program break.
///
/// # Safety
///
/// An implementor guarantees that a successful `extend(n)` returns the old
/// break `b` and that from then on the `n` bytes from `b` are valid for reads
/// and writes and used by nothing else, for as long as the value lives (even
/// after it moves). `extend(0)` returns the current break and adds nothing.
/// Memory returned earlier stays valid, and new memory normally starts where
/// the previous extension ended (the heap checks that, because the real
/// program break can be moved by someone else in between).
pub unsafe trait HeapMemory {
    /// Moves the break up by `bytes` and returns the old break, or
    /// `OutOfMemory` if there is no more memory.
    fn extend(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError>;
}
// ANCHOR_END: heap_memory

// ANCHOR: region_break
/// A break that moves up through a fixed `Region`: the heap can grow
/// until the region is used up.
#[derive(Debug)]
pub struct RegionBreak<R> {
    region: R,
    /// How many bytes of the region are below the break.
    used: usize,
}

impl<R> RegionBreak<R> {
    /// A break at the start of `region`. `const`, so that a heap over a
    /// static buffer can live in a `static`.
    pub const fn new(region: R) -> RegionBreak<R> {
        RegionBreak { region, used: 0 }
    }

    /// Bytes below the break: what the heap has taken so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The region.
    pub fn region(&self) -> &R {
        &self.region
    }
}

// SAFETY: every extension is a fresh part of the region, past all earlier
// ones (`used` only grows, and never past the region's length), and its
// pointer derives from `region.start()`, which is valid for the whole region.
unsafe impl<R: Region> HeapMemory for RegionBreak<R> {
    fn extend(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        let used = self
            .used
            .checked_add(bytes)
            .filter(|&used| used <= self.region.len())
            .ok_or(AllocError::OutOfMemory)?;
        // SAFETY: `self.used <= len`, so the old break is inside the region
        // or one past its end.
        let old = unsafe { self.region.start().add(self.used) };
        self.used = used;
        Ok(old)
    }
}
// ANCHOR_END: region_break

/// The least a heap grows by, so that a run of small requests does not call
/// [`HeapMemory::extend`] for each one (CS:APP's `CHUNKSIZE`).
pub const GROW_CHUNK: usize = 4096;

/// How the heap of the segregated lists grows: by at least
/// `1/GROW_FRACTION` of its size, rounded down to a multiple of
/// `GROW_CHUNK / GROW_FRACTION`, and at most [`GROW_CHUNK`]. A heap below
/// 4 KiB so grows by exactly what each request needs: a whole chunk at the
/// top of a 6 KiB heap would be mostly unused memory, which utilization
/// counts against the allocator. The steps grow with the heap, so the
/// number of extensions stays small.
pub const GROW_FRACTION: usize = 16;

/// The part every free-list allocator shares: the memory, the heap's ends,
/// growing, the block walk and the block-level half of the heap checker.
pub(crate) struct Heap<M> {
    memory: M,
    /// Where the heap starts: the break before the first extension.
    start: usize,
    /// The first block's header (the epilogue while the heap is empty).
    first: Block,
    /// The epilogue header; the break is one word above it.
    epilogue: Block,
    /// `false` until the first extension; `first` and `epilogue` are
    /// dangling until then.
    ready: bool,
    /// Grow in chunks proportional to the heap (see [`GROW_FRACTION`])
    /// instead of whole [`GROW_CHUNK`]s.
    proportional: bool,
}

impl<M> Heap<M> {
    pub(crate) const fn new(memory: M) -> Heap<M> {
        Heap {
            memory,
            start: 0,
            first: Block::at(NonNull::dangling()),
            epilogue: Block::at(NonNull::dangling()),
            ready: false,
            proportional: false,
        }
    }

    /// A heap that grows in steps proportional to its size (see
    /// [`GROW_FRACTION`]), not in whole chunks.
    pub(crate) const fn proportional(memory: M) -> Heap<M> {
        let mut heap = Heap::new(memory);
        heap.proportional = true;
        heap
    }

    pub(crate) fn memory(&self) -> &M {
        &self.memory
    }

    /// The first block. Equal to the epilogue for an empty (or not yet
    /// created) heap, so a walk from here to the epilogue visits nothing.
    #[inline]
    pub(crate) fn first(&self) -> Block {
        self.first
    }

    #[inline]
    pub(crate) fn epilogue(&self) -> Block {
        self.epilogue
    }

    /// The break: one past the epilogue header.
    fn end(&self) -> usize {
        self.epilogue.addr() + WORD
    }

    pub(crate) fn heap_size(&self) -> usize {
        if self.ready {
            self.end() - self.start
        } else {
            0
        }
    }

    pub(crate) fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        if self.ready {
            visit(self.start..self.end());
        }
    }

    /// `true` if `addr` could be a block header of this heap: inside it, below
    /// the epilogue, one word below an [`ALIGN`]ed address.
    #[inline]
    pub(crate) fn is_header_addr(&self, addr: usize) -> bool {
        self.ready
            && self.first.addr() <= addr
            && addr < self.epilogue.addr()
            && addr % ALIGN == ALIGN - WORD
    }

    /// The block at `addr`, with this heap's provenance (strict provenance:
    /// no integer-to-pointer cast).
    pub(crate) fn block_at(&self, addr: usize) -> Block {
        let ptr = self.first.as_ptr().as_ptr().with_addr(addr);
        Block::at(NonNull::new(ptr).unwrap_or(NonNull::dangling()))
    }

    /// A walk over every block.
    pub(crate) fn blocks(&self) -> Blocks<'_> {
        Blocks::new(
            self.ready
                .then_some((self.start, self.first, self.epilogue)),
        )
    }

    // ANCHOR: debug_free_check
    /// In debug builds, panics unless `block` (from a payload pointer given to
    /// `deallocate`) is an allocated block of this heap large enough for
    /// `layout`. Catches a double free (the allocated bit is already clear)
    /// and a foreign or misaligned pointer; the segregated lists also
    /// check their quick lists. Release builds trust the caller, as
    /// `RawAllocator::deallocate` allows them to.
    #[inline]
    pub(crate) fn debug_check_live(&self, block: Block, layout: Layout) {
        if cfg!(debug_assertions) {
            assert!(
                self.is_header_addr(block.addr()),
                "{:#x} is not a payload of this heap (foreign or misaligned pointer)",
                block.addr() + WORD
            );
            // SAFETY: the address is a header position inside the heap, so
            // reading the word is in bounds (a foreign pointer would have
            // failed above).
            let header = unsafe { block.header() };
            assert!(
                header.is_allocated(),
                "{:#x} is not allocated (double free?)",
                block.addr() + WORD
            );
            assert!(
                header.size() >= layout.size() + WORD,
                "{:#x}: the layout is larger than the block",
                block.addr() + WORD
            );
        }
    }
    // ANCHOR_END: debug_free_check
}

impl<M: HeapMemory> Heap<M> {
    /// Takes the first word of memory: padding up to an aligned header
    /// position, and the epilogue.
    #[cold]
    fn init(&mut self) -> Result<(), AllocError> {
        let brk = self.memory.extend(0)?;
        let first =
            align_up(brk.as_ptr().addr() + WORD, ALIGN).ok_or(AllocError::OutOfMemory)? - WORD;
        let pad = first - brk.as_ptr().addr();
        let old = self.memory.extend(pad + WORD)?;
        if old != brk {
            return Err(AllocError::OutOfMemory);
        }
        // SAFETY: `pad + WORD` bytes from `brk` are ours now.
        let epilogue = Block::at(unsafe { brk.add(pad) });
        // SAFETY: the epilogue header is the last word of that memory.
        unsafe { epilogue.set_header(Header::allocated(0, true)) };
        self.start = brk.as_ptr().addr();
        self.first = epilogue;
        self.epilogue = epilogue;
        self.ready = true;
        Ok(())
    }

    /// Extends the memory by `bytes` right at the break, or fails.
    #[cold]
    fn extend_at_break(&mut self, bytes: usize) -> Result<(), AllocError> {
        let old = self.memory.extend(bytes)?;
        // The program break may have been moved by someone else (malloc):
        // then the new memory is not next to our heap. It is lost to us,
        // and the heap cannot grow.
        if old.as_ptr().addr() != self.end() {
            return Err(AllocError::OutOfMemory);
        }
        Ok(())
    }

    // ANCHOR: grow
    /// Grows the heap so that a free block of at least `need` bytes ends at
    /// the top: the old epilogue becomes the header of a new free block, and
    /// a new epilogue goes at the new break. A free block already at the top
    /// counts towards `need`.
    ///
    /// Returns the new block, *not* coalesced with a free block below it and
    /// in no free list: that is the caller's job.
    #[cold]
    pub(crate) fn grow(&mut self, need: usize) -> Result<Block, AllocError> {
        if !self.ready {
            self.init()?;
        }
        let epilogue = self.epilogue;
        // SAFETY: the epilogue is a header of this heap, and when its
        // PREV_ALLOCATED bit is clear a free block lies below it.
        let top = unsafe {
            if epilogue.prev_allocated() {
                0
            } else {
                epilogue.prev().size()
            }
        };
        let want = align_up(need.saturating_sub(top), ALIGN)
            .ok_or(AllocError::OutOfMemory)?
            .max(MIN_BLOCK);
        // Ask for a whole chunk if we can; near the end of a region, for
        // just what this request needs.
        let chunk = if self.proportional {
            let step = GROW_CHUNK / GROW_FRACTION;
            (self.heap_size() / GROW_FRACTION / step * step).min(GROW_CHUNK)
        } else {
            GROW_CHUNK
        };
        let bytes = if want < chunk && self.extend_at_break(chunk).is_ok() {
            chunk
        } else {
            self.extend_at_break(want)?;
            want
        };
        // SAFETY: the old epilogue word and the `bytes` after it are ours;
        // the new block spans exactly those, and the new epilogue is the
        // last word.
        unsafe {
            epilogue.set_free(bytes, epilogue.prev_allocated());
            let new_epilogue = epilogue.next();
            new_epilogue.set_header(Header::allocated(0, false));
            self.epilogue = new_epilogue;
        }
        Ok(epilogue)
    }
    // ANCHOR_END: grow
}

impl<M> Heap<M> {
    // ANCHOR: check_blocks
    /// The block half of every heap checker. Walks every block from the
    /// first to the epilogue and checks that the blocks tile the heap
    /// exactly, that sizes and alignment are valid, that each free block's
    /// footer equals its header, that each PREV_ALLOCATED bit tells the truth,
    /// and that no two free blocks are adjacent (coalescing missed them).
    ///
    /// Calls `visit` with each block and whether it is free, and returns the
    /// number of free blocks.
    pub(crate) fn check_blocks(
        &self,
        mut visit: impl FnMut(Block, bool) -> Result<(), HeapError>,
    ) -> Result<usize, HeapError> {
        if !self.ready {
            return Ok(0);
        }
        if self.first.addr() % ALIGN != ALIGN - WORD || self.first.addr() < self.start {
            return Err(HeapError::new(self.first.addr(), "first header misplaced"));
        }
        let mut block = self.first;
        let mut prev_allocated = true;
        let mut free_blocks = 0;
        loop {
            let addr = block.addr();
            // SAFETY: `block` is the first block or lies `size` past the last
            // one, whose size was checked to end at or below the epilogue.
            let header = unsafe { block.header() };
            if header.prev_allocated() != prev_allocated {
                return Err(HeapError::new(addr, "PREV_ALLOCATED bit is wrong"));
            }
            if block == self.epilogue {
                if header.with_prev_allocated(false) != Header::allocated(0, false) {
                    return Err(HeapError::new(addr, "epilogue header is damaged"));
                }
                return Ok(free_blocks);
            }
            let size = header.size();
            if size < MIN_BLOCK {
                return Err(HeapError::new(addr, "block smaller than the minimum"));
            }
            if addr
                .checked_add(size)
                .is_none_or(|end| end > self.epilogue.addr())
            {
                return Err(HeapError::new(addr, "block runs past the end of the heap"));
            }
            let free = !header.is_allocated();
            if free {
                // SAFETY: the block lies inside the heap (checked above), so
                // its last word does too.
                if unsafe { block.footer() } != header {
                    return Err(HeapError::new(addr, "footer differs from header"));
                }
                if !prev_allocated {
                    return Err(HeapError::new(addr, "two adjacent free blocks"));
                }
                free_blocks += 1;
            }
            visit(block, free)?;
            prev_allocated = !free;
            // SAFETY: the next header is inside the heap (checked above).
            block = unsafe { block.next() };
        }
    }
    // ANCHOR_END: check_blocks
}

/// A walk over a heap's blocks, in address order: the padding (if any), every
/// block, and the epilogue.
///
/// The walk trusts the headers only as far as they make sense: a header
/// whose size is not a multiple of [`ALIGN`], is below [`MIN_BLOCK`], or runs
/// past the epilogue is reported, and the walk ends there. So a corrupted
/// heap ends the walk early instead of sending it outside the heap; the
/// allocators' `check` says what is wrong.
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    state: WalkState,
    start: usize,
    first: Block,
    epilogue: Block,
    _heap: PhantomData<&'a ()>,
}

#[derive(Debug, Clone, Copy)]
enum WalkState {
    Padding,
    At(Block),
    Done,
}

impl Blocks<'_> {
    /// A walk from `first` to `epilogue`; `start` is where padding begins.
    /// `None` for a heap that has no memory yet.
    pub(crate) fn new(heap: Option<(usize, Block, Block)>) -> Self {
        let (state, start, first, epilogue) = match heap {
            Some((start, first, epilogue)) => (WalkState::Padding, start, first, epilogue),
            None => (
                WalkState::Done,
                0,
                Block::at(NonNull::dangling()),
                Block::at(NonNull::dangling()),
            ),
        };
        Blocks {
            state,
            start,
            first,
            epilogue,
            _heap: PhantomData,
        }
    }
}

impl Iterator for Blocks<'_> {
    type Item = BlockInfo;

    fn next(&mut self) -> Option<BlockInfo> {
        match self.state {
            WalkState::Done => None,
            WalkState::Padding => {
                self.state = WalkState::At(self.first);
                let pad = self.first.addr() - self.start;
                if pad == 0 {
                    return self.next();
                }
                Some(BlockInfo {
                    addr: self.start,
                    size: pad,
                    kind: BlockKind::Padding,
                    prev_allocated: true,
                })
            }
            WalkState::At(block) => {
                // SAFETY: `block` is the first block, the epilogue, or lies
                // `size` past a block whose size was checked to end at or
                // below the epilogue: a header inside the heap, which the
                // borrow `'a` keeps alive and unchanged.
                let header = unsafe { block.header() };
                let prev_allocated = header.prev_allocated();
                if block == self.epilogue {
                    self.state = WalkState::Done;
                    return Some(BlockInfo {
                        addr: block.addr(),
                        size: 0,
                        kind: BlockKind::Epilogue,
                        prev_allocated,
                    });
                }
                let size = header.size();
                let sane = size >= MIN_BLOCK
                    && block
                        .addr()
                        .checked_add(size)
                        .is_some_and(|end| end <= self.epilogue.addr());
                self.state = if sane {
                    // SAFETY: the next header lies inside the heap (checked).
                    WalkState::At(unsafe { block.plus(size) })
                } else {
                    WalkState::Done
                };
                Some(BlockInfo {
                    addr: block.addr(),
                    size,
                    kind: if header.is_allocated() {
                        BlockKind::Allocated
                    } else {
                        BlockKind::Free
                    },
                    prev_allocated,
                })
            }
        }
    }
}

// SAFETY: the pointers point into the memory `M` owns (or, for a borrowed
// buffer, exclusively borrows); sending the heap sends that ownership.
unsafe impl<M: Send> Send for Heap<M> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::OwnedRegion;

    #[test]
    fn a_region_break_hands_out_its_bytes_in_order() {
        let region = OwnedRegion::new(100, 16).unwrap();
        let start = region.start().as_ptr().addr();
        let mut memory = RegionBreak::new(region);
        assert_eq!(memory.extend(0).unwrap().as_ptr().addr(), start);
        assert_eq!(memory.extend(60).unwrap().as_ptr().addr(), start);
        assert_eq!(memory.extend(40).unwrap().as_ptr().addr(), start + 60);
        assert_eq!(memory.extend(1), Err(AllocError::OutOfMemory));
        assert_eq!(memory.extend(usize::MAX), Err(AllocError::OutOfMemory));
        assert_eq!(memory.used(), 100);
    }

    #[test]
    fn the_heap_grows_in_chunks_and_then_in_what_is_left() {
        let mut heap = Heap::new(RegionBreak::new(
            OwnedRegion::new(GROW_CHUNK + 256, 16).unwrap(),
        ));
        assert_eq!(heap.heap_size(), 0);
        let block = heap.grow(MIN_BLOCK).unwrap();
        // One word of padding (the region is aligned), the chunk, the epilogue.
        assert_eq!(heap.heap_size(), WORD + GROW_CHUNK + WORD);
        // SAFETY: `block` is the heap's one block.
        assert_eq!(unsafe { block.size() }, GROW_CHUNK);
        assert_eq!(heap.check_blocks(|_, _| Ok(())), Ok(1));
        // Not enough room left for another chunk: grow by what fits.
        assert!(heap.grow(GROW_CHUNK + 512).is_err());
        let second = heap.grow(GROW_CHUNK + 128).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { second.size() }, 128);
        // The two free blocks are adjacent until someone coalesces them.
        assert!(heap.check_blocks(|_, _| Ok(())).is_err());
    }

    #[test]
    fn a_proportional_heap_grows_with_its_size() {
        let len = 2 * GROW_FRACTION * GROW_CHUNK;
        let mut heap = Heap::proportional(RegionBreak::new(OwnedRegion::new(len, 16).unwrap()));
        // A small heap grows by what is asked for.
        let block = heap.grow(MIN_BLOCK).unwrap();
        assert_eq!(heap.heap_size(), WORD + MIN_BLOCK + WORD);
        // SAFETY: `block` is the heap's one block.
        assert_eq!(unsafe { block.size() }, MIN_BLOCK);
        // A large one by a whole chunk, even for a small request (the free
        // block at the top counts towards it).
        heap.grow(GROW_FRACTION * GROW_CHUNK).unwrap();
        let before = heap.heap_size();
        heap.grow(MIN_BLOCK).unwrap();
        assert_eq!(heap.heap_size(), before + GROW_CHUNK);
        // In between, by a sixteenth of the heap, in steps of 256 bytes.
        let mut mid = Heap::proportional(RegionBreak::new(OwnedRegion::new(len, 16).unwrap()));
        mid.grow(20_000).unwrap();
        let before = mid.heap_size();
        mid.grow(20_000 + MIN_BLOCK).unwrap();
        assert_eq!(mid.heap_size(), before + 1024, "20 KiB / 16, rounded down");
    }
}
