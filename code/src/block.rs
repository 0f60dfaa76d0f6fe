//! The block format that the free-list allocators share: headers, footers
//! (boundary tags), the minimum block size, and a walk over every block.
//!
//! A free-list heap is a sequence of *blocks* that tile it exactly. Each
//! block starts with a one-word *header* holding the block's size, and the
//! *payload* (the bytes the program gets) follows it. The size is a multiple
//! of [`ALIGN`], 16 bytes on x86_64 (two words, like glibc), so its low four
//! bits are always zero and can hold flags:
//!
//! ```text
//!   header word:  | size (a multiple of 16) ......... | 0 | 0 | p | a |
//!                                                              |   |
//!                          the previous block is allocated ---+   |
//!                                      this block is allocated ----+
//! ```
//!
//! A *free* block also ends with a *footer*, a copy of its header (Knuth's
//! *boundary tag*). When a block is freed, its right neighbour is found
//! through its own header (`block + size`), and its left neighbour through
//! the footer just below its header: both in O(1), which makes *immediate
//! coalescing* cheap. An allocated block needs no footer, because nobody
//! looks for the start of a block that will not be merged; the `p` bit in
//! the next block's header says whether the footer is there. That saves a
//! word in every allocated block (glibc does the same), and costs a second
//! header write when a neighbour changes state. A free block's payload has
//! room for the two links of an explicit free list:
//!
//! ```text
//!   allocated:  | header |  payload ...........................|
//!   free:       | header |  next  |  prev  |  (unused) | footer |
//!               ^        ^
//!               block    payload: block + WORD, aligned to ALIGN
//! ```
//!
//! So the smallest block, [`MIN_BLOCK`], is four words (header, two links,
//! footer): 32 bytes on x86_64. The implicit list needs no links and could go
//! down to two words; it shares this format to keep one set of code.
//!
//! # The heap's ends
//!
//! Headers sit one word below an [`ALIGN`]ed address, so that payloads are
//! aligned. The heap starts with padding up to the first header, and ends
//! with an *epilogue*: a lone header of size zero marked allocated. A walk
//! stops at it, and the last block never tries to merge with what lies
//! beyond the heap. No prologue block is needed: the first block's `p` bit
//! is set, so it never looks for a left neighbour.
//!
//! ```text
//!   start                                                     break
//!   |pad| hdr | payload ... | hdr | payload ...   | ftr | hdr 0/a |
//!         first block         a free block              epilogue
//! ```
//!
//! When the heap grows, the old epilogue becomes the header of the new
//! block, and a new epilogue is written at the new break.
//!
//! [`Blocks`] walks the blocks of a heap and reports each one as a
//! [`BlockInfo`]; the allocators' `blocks()` methods return it, for tests and
//! for drawing the book's figures.

use crate::align::align_up;
use crate::raw_allocator::AllocError;
use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// The size of a machine word: one header, footer or link.
pub const WORD: usize = std::mem::size_of::<usize>();

/// The alignment of every payload and the granularity of block sizes: two
/// words, 16 bytes on x86_64, as in glibc's malloc.
pub const ALIGN: usize = 2 * WORD;

/// The smallest block: a header, two free-list links and a footer.
pub const MIN_BLOCK: usize = 4 * WORD;

/// Header flag: this block is allocated.
pub const ALLOCATED: usize = 0b01;

/// Header flag: the block just below this one is allocated, so there is no
/// footer below this header to read.
pub const PREV_ALLOCATED: usize = 0b10;

/// Header flag: this block sits on a *quick list* of the segregated lists:
/// freed, but kept allocated (not coalesced) for the next request of its
/// size (deferred coalescing; see
/// [`segregated`](crate::segregated)). The other allocators never set it.
pub const QUICK: usize = 0b100;

/// The low bits of a header that hold flags instead of size.
const FLAGS: usize = ALIGN - 1;

// ANCHOR: pack
/// A header (or footer) word: the block size with the flags in its low bits.
#[inline]
pub const fn pack(size: usize, flags: usize) -> usize {
    debug_assert!(size.is_multiple_of(ALIGN) && flags & !FLAGS == 0);
    size | flags
}

/// The block size stored in a header word.
#[inline]
pub const fn unpack_size(word: usize) -> usize {
    word & !FLAGS
}
// ANCHOR_END: pack

// ANCHOR: block_size
/// The size of the block that holds a payload of `payload` bytes: one header
/// word more, rounded up to `ALIGN`, and at least `MIN_BLOCK` (so that
/// the block can hold the links and footer once it is freed). `None` if that
/// overflows.
#[inline]
pub const fn block_size(payload: usize) -> Option<usize> {
    let Some(with_header) = payload.checked_add(WORD) else {
        return None;
    };
    match align_up(with_header, ALIGN) {
        Some(size) if size < MIN_BLOCK => Some(MIN_BLOCK),
        size => size,
    }
}
// ANCHOR_END: block_size

/// [`block_size`] for a payload that a [`Layout`] describes, without the
/// overflow check: a `Layout`'s size is at most `isize::MAX` (rounded up to
/// its alignment), so adding a header word and rounding up to [`ALIGN`]
/// stays far below `usize::MAX`. The allocators' fast paths use it.
#[inline]
pub(crate) const fn layout_block_size(layout: Layout) -> usize {
    let size = (layout.size() + WORD + (ALIGN - 1)) & !(ALIGN - 1);
    debug_assert!(matches!(block_size(layout.size()), Some(s) if s == size || s == MIN_BLOCK));
    if size < MIN_BLOCK {
        MIN_BLOCK
    } else {
        size
    }
}

/// What an allocation needs from a free block, worked out once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// The block size, from [`block_size`].
    pub(crate) size: usize,
    /// The payload's alignment.
    pub(crate) align: usize,
    /// A block at least this large surely fits the request, wherever it
    /// starts. It equals `size` unless the alignment is above [`ALIGN`].
    pub(crate) search: usize,
}

impl Request {
    /// The request for `layout`, or `SizeOverflow` if its block size does not
    /// fit in a `usize`.
    #[inline]
    pub(crate) fn new(layout: Layout) -> Result<Request, AllocError> {
        let size = layout_block_size(layout);
        let align = layout.align();
        let search = if align <= ALIGN {
            size
        } else {
            // Worst case: the aligned payload lies `align - ALIGN` bytes past
            // the first spot that leaves a whole free block in front of it.
            size.checked_add(MIN_BLOCK + (align - ALIGN))
                .ok_or(AllocError::SizeOverflow)?
        };
        Ok(Request {
            size,
            align,
            search,
        })
    }
}

// ANCHOR: fit
/// Where a request fits in a free block of `size` bytes at `block`: the
/// *gap* in front of the block it would use, or `None` if it does not fit.
///
/// For the usual alignment the gap is zero. A larger alignment may need the
/// payload further in; the gap in front then must be large enough to stay
/// behind as a free block of its own.
#[inline]
pub(crate) fn fit(block: Block, size: usize, request: &Request) -> Option<usize> {
    if request.align <= ALIGN {
        return (size >= request.size).then_some(0);
    }
    let payload = block.addr() + WORD;
    let gap = if payload.is_multiple_of(request.align) {
        0
    } else {
        align_up(payload.checked_add(MIN_BLOCK)?, request.align)? - payload
    };
    (gap.checked_add(request.size)? <= size).then_some(gap)
}
// ANCHOR_END: fit

/// Splits `gap` bytes off the front of the free block `block` as a free block
/// of their own (for a large alignment), and returns the rest, free.
///
/// # Safety
///
/// `block` is a free block and `gap` (at least [`MIN_BLOCK`]) leaves at
/// least [`MIN_BLOCK`] bytes behind it.
pub(crate) unsafe fn split_front(block: Block, gap: usize) -> Block {
    debug_assert!(gap >= MIN_BLOCK);
    // SAFETY: both pieces lie inside `block`.
    unsafe {
        let size = block.size();
        block.set_free(gap, block.prev_flag());
        let rest = block.next();
        rest.set_free(size - gap, 0);
        rest
    }
}

/// A block of a heap, named by the address of its header.
///
/// The methods read and write the block's words. They are `unsafe` because a
/// `Block` is only an address: each one requires that `self` is a block of a
/// live heap whose header the allocator wrote (and, where it says so, that
/// the block is free, so that its footer and links are there too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block(NonNull<u8>);

impl Block {
    /// The block whose header is at `header`.
    #[inline]
    pub(crate) const fn at(header: NonNull<u8>) -> Block {
        Block(header)
    }

    /// The address of the header.
    #[inline]
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The pointer to the header.
    #[inline]
    pub(crate) fn as_ptr(self) -> NonNull<u8> {
        self.0
    }

    /// The block that owns `payload`.
    ///
    /// # Safety
    ///
    /// `payload` must be a payload pointer of a block of a live heap (one
    /// word above its header, in the same allocation).
    #[inline]
    pub(crate) unsafe fn from_payload(payload: NonNull<u8>) -> Block {
        // SAFETY: the header lies one word below the payload, in the heap.
        Block(unsafe { payload.sub(WORD) })
    }

    /// The block's payload, one word above the header.
    ///
    /// # Safety
    ///
    /// `self` is a block of a live heap (not the epilogue).
    #[inline]
    pub(crate) unsafe fn payload(self) -> NonNull<u8> {
        // SAFETY: a block is at least MIN_BLOCK bytes, all in the heap.
        unsafe { self.0.add(WORD) }
    }

    /// The header word.
    ///
    /// # Safety
    ///
    /// `self` is a block (or the epilogue) of a live heap.
    #[inline]
    pub(crate) unsafe fn header(self) -> usize {
        // SAFETY: the header is an aligned, initialised word of the heap.
        unsafe { self.0.cast::<usize>().read() }
    }

    /// Overwrites the header word.
    ///
    /// # Safety
    ///
    /// `self` is a word-aligned address inside a live heap, which the caller
    /// is turning into (or keeping as) a block header.
    #[inline]
    pub(crate) unsafe fn set_header(self, word: usize) {
        // SAFETY: the caller guarantees the word is in the heap.
        unsafe { self.0.cast::<usize>().write(word) }
    }

    /// The size from the header.
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: the caller's guarantee.
        unpack_size(unsafe { self.header() })
    }

    /// `true` if the header's allocated bit is set.
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn is_allocated(self) -> bool {
        // SAFETY: the caller's guarantee.
        (unsafe { self.header() }) & ALLOCATED != 0
    }

    /// `true` if the block below is allocated (so there is no footer below
    /// this header).
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn prev_allocated(self) -> bool {
        // SAFETY: the caller's guarantee.
        (unsafe { self.header() }) & PREV_ALLOCATED != 0
    }

    /// The header's [`PREV_ALLOCATED`] bit, ready to be packed again.
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn prev_flag(self) -> usize {
        // SAFETY: the caller's guarantee.
        (unsafe { self.header() }) & PREV_ALLOCATED
    }

    /// Sets or clears the [`PREV_ALLOCATED`] bit in the header only.
    ///
    /// # Safety
    ///
    /// `self` is an allocated block or the epilogue (a free block would need
    /// its footer updated too).
    #[inline]
    pub(crate) unsafe fn set_prev_allocated(self, allocated: bool) {
        // SAFETY: the caller's guarantee; the header is in the heap.
        unsafe {
            debug_assert!(self.is_allocated());
            let header = self.header() & !PREV_ALLOCATED;
            self.set_header(header | if allocated { PREV_ALLOCATED } else { 0 });
        }
    }

    /// The block (or epilogue) `bytes` above this one, for a caller that
    /// already holds this block's size or is cutting it in two.
    ///
    /// # Safety
    ///
    /// `self + bytes` is a word-aligned address inside the same live heap.
    #[inline]
    pub(crate) unsafe fn plus(self, bytes: usize) -> Block {
        // SAFETY: the caller's guarantee.
        Block(unsafe { self.0.add(bytes) })
    }

    /// Hints the CPU to start loading the cache line at `self + bytes`; no
    /// memory is read, so any address is fine, even a wrong guess. Used to
    /// fetch the next block's header while the block's own header, whose
    /// size says where the next block really is, is still on its way.
    #[inline(always)]
    pub(crate) fn prefetch(self, bytes: usize) {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        {
            let addr = self.0.as_ptr().wrapping_add(bytes);
            // SAFETY: `prefetch` is a hint: it never faults and never reads
            // memory into the program's view (the SSE instruction is part
            // of the x86_64 baseline).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    addr.cast::<i8>(),
                )
            };
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let _ = bytes;
    }

    /// The next block (or the epilogue), `size` bytes up.
    ///
    /// # Safety
    ///
    /// `self` is a block (not the epilogue) of a live heap with a valid size.
    #[inline]
    pub(crate) unsafe fn next(self) -> Block {
        // SAFETY: blocks tile the heap, so the next header is inside it.
        Block(unsafe { self.0.add(self.size()) })
    }

    /// The footer word, the last word of the block.
    ///
    /// # Safety
    ///
    /// `self` is a free block of a live heap.
    #[inline]
    pub(crate) unsafe fn footer(self) -> usize {
        // SAFETY: a free block's last word is its footer, inside the block.
        unsafe { self.0.add(self.size() - WORD).cast::<usize>().read() }
    }

    /// The previous block, found through its footer just below our header.
    ///
    /// # Safety
    ///
    /// `self` is a block of a live heap whose [`PREV_ALLOCATED`] bit is clear,
    /// so the block below is free and has a footer.
    #[inline]
    pub(crate) unsafe fn prev(self) -> Block {
        // SAFETY: the block below is free, so the word below our header is its
        // footer, which holds its size.
        unsafe {
            debug_assert!(!self.prev_allocated());
            let footer = self.0.sub(WORD).cast::<usize>().read();
            Block(self.0.sub(unpack_size(footer)))
        }
    }

    // ANCHOR: set_free
    /// Makes this a free block of `size` bytes: header and footer (the
    /// boundary tag) both say so.
    ///
    /// # Safety
    ///
    /// `size` bytes from `self` lie in a live heap and belong to no other
    /// block; `size >= MIN_BLOCK`.
    #[inline]
    pub(crate) unsafe fn set_free(self, size: usize, flags: usize) {
        debug_assert!(size >= MIN_BLOCK && flags & ALLOCATED == 0);
        let word = pack(size, flags);
        // SAFETY: the header and the last word are both inside the block.
        unsafe {
            self.set_header(word);
            self.0.add(size - WORD).cast::<usize>().write(word);
        }
    }
    // ANCHOR_END: set_free

    /// The next free block in this block's free list.
    ///
    /// # Safety
    ///
    /// `self` is a free block that is in a free list (its links are set).
    #[inline]
    pub(crate) unsafe fn next_free(self) -> Option<Block> {
        // SAFETY: the first payload word of a listed free block is its link.
        NonNull::new(unsafe { self.0.add(WORD).cast::<*mut u8>().read() }).map(Block)
    }

    /// The previous free block in this block's free list.
    ///
    /// # Safety
    ///
    /// As for [`next_free`](Self::next_free).
    #[inline]
    pub(crate) unsafe fn prev_free(self) -> Option<Block> {
        // SAFETY: the second payload word of a listed free block is its link.
        NonNull::new(unsafe { self.0.add(2 * WORD).cast::<*mut u8>().read() }).map(Block)
    }

    /// Sets the next-free link.
    ///
    /// # Safety
    ///
    /// `self` is a free block of a live heap (its payload is ours to use).
    #[inline]
    pub(crate) unsafe fn set_next_free(self, next: Option<Block>) {
        let link = next.map_or(std::ptr::null_mut(), |block| block.0.as_ptr());
        // SAFETY: a free block's payload holds its links.
        unsafe { self.0.add(WORD).cast::<*mut u8>().write(link) }
    }

    /// Sets the previous-free link.
    ///
    /// # Safety
    ///
    /// As for [`set_next_free`](Self::set_next_free).
    #[inline]
    pub(crate) unsafe fn set_prev_free(self, prev: Option<Block>) {
        let link = prev.map_or(std::ptr::null_mut(), |block| block.0.as_ptr());
        // SAFETY: a free block's payload holds its links.
        unsafe { self.0.add(2 * WORD).cast::<*mut u8>().write(link) }
    }
}

/// What a piece of a heap is, as [`Blocks`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Bytes at the heap's start that align the first header. Not a block:
    /// `addr` is the heap's start, and `size` the padding's length.
    Padding,
    /// An allocated block: header, then payload to the block's end.
    Allocated,
    /// A free block: header, links, and a footer in its last word.
    Free,
    /// The epilogue: a header of size zero that ends the heap. It occupies
    /// one word, at `addr`.
    Epilogue,
}

/// One block of a heap, as the walk finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// The address of the block's header.
    pub addr: usize,
    /// The block's size in bytes, header (and footer) included, as its header
    /// says; zero for the epilogue.
    pub size: usize,
    /// What it is.
    pub kind: BlockKind,
    /// The header's [`PREV_ALLOCATED`] bit.
    pub prev_allocated: bool,
}

impl BlockInfo {
    /// The address of the payload (meaningful for blocks, not for padding or
    /// the epilogue).
    pub fn payload(&self) -> usize {
        self.addr + WORD
    }

    /// `true` for an allocated block.
    pub fn is_allocated(&self) -> bool {
        self.kind == BlockKind::Allocated
    }

    /// `true` for a free block.
    pub fn is_free(&self) -> bool {
        self.kind == BlockKind::Free
    }
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
                Block(NonNull::dangling()),
                Block(NonNull::dangling()),
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
                let prev_allocated = header & PREV_ALLOCATED != 0;
                if block == self.epilogue {
                    self.state = WalkState::Done;
                    return Some(BlockInfo {
                        addr: block.addr(),
                        size: 0,
                        kind: BlockKind::Epilogue,
                        prev_allocated,
                    });
                }
                let size = unpack_size(header);
                let sane = size >= MIN_BLOCK
                    && block
                        .addr()
                        .checked_add(size)
                        .is_some_and(|end| end <= self.epilogue.addr());
                self.state = if sane {
                    // SAFETY: the next header lies inside the heap (checked).
                    WalkState::At(Block(unsafe { block.0.add(size) }))
                } else {
                    WalkState::Done
                };
                Some(BlockInfo {
                    addr: block.addr(),
                    size,
                    kind: if header & ALLOCATED != 0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes() {
        assert_eq!(block_size(0), Some(MIN_BLOCK));
        assert_eq!(block_size(1), Some(MIN_BLOCK));
        assert_eq!(block_size(MIN_BLOCK - WORD), Some(MIN_BLOCK));
        assert_eq!(block_size(MIN_BLOCK - WORD + 1), Some(MIN_BLOCK + ALIGN));
        assert_eq!(block_size(100), Some(align_up(100 + WORD, ALIGN).unwrap()));
        assert_eq!(block_size(usize::MAX), None);
        assert_eq!(block_size(usize::MAX - WORD - 1), None);
        let largest = isize::MAX as usize; // the largest size a Layout allows
        assert!(block_size(largest).is_some());
    }

    #[test]
    fn headers_pack_size_and_flags() {
        let word = pack(48, ALLOCATED | PREV_ALLOCATED);
        assert_eq!(unpack_size(word), 48);
        assert_eq!(word & ALLOCATED, ALLOCATED);
        assert_eq!(word & PREV_ALLOCATED, PREV_ALLOCATED);
        assert_eq!(ALIGN, 2 * std::mem::size_of::<usize>());
    }

    #[test]
    fn requests_with_large_alignments_search_for_room() {
        let small = Request::new(Layout::from_size_align(10, 8).unwrap()).unwrap();
        assert_eq!((small.size, small.search), (MIN_BLOCK, MIN_BLOCK));
        let page = Request::new(Layout::from_size_align(10, 4096).unwrap()).unwrap();
        assert_eq!(page.search, MIN_BLOCK + MIN_BLOCK + 4096 - ALIGN);
        // The largest layout there is still has a search size: it then
        // fails as out of memory, not as an overflow.
        let huge = Layout::from_size_align(1 << 62, 1 << 62).unwrap();
        assert!(Request::new(huge).unwrap().search > 1 << 63);
    }
}
