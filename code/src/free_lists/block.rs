//! The block format that the free-list allocators share: headers, footers
//! (boundary tags), and the minimum block size.
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
//! `Header` is that word, with a method for each field, so no other
//! module does bit arithmetic on headers. The two bits above the flags are
//! left to the allocators: the segregated lists mark the blocks on their
//! quick lists with one.
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
//! A walk over the blocks reports each one as a [`BlockInfo`] (see
//! [`Blocks`](super::heap::Blocks)); the allocators' `blocks()` methods return
//! it, for tests and for drawing the book's figures. How a request is fitted
//! into a free block, and split, is in `fit`.

use crate::align::align_up;
use std::alloc::Layout;
use std::ptr::NonNull;

/// The size of a machine word: one header, footer or link.
pub const WORD: usize = std::mem::size_of::<usize>();

/// The alignment of every payload and the granularity of block sizes: two
/// words, 16 bytes on x86_64, as in glibc's malloc.
pub const ALIGN: usize = 2 * WORD;

/// The smallest block: a header, two free-list links and a footer.
pub const MIN_BLOCK: usize = 4 * WORD;

// ANCHOR: pack
/// A header (or footer) word: the block size, with flags in its low bits,
/// which are always zero in a multiple of `ALIGN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Header(usize);

impl Header {
    /// Flag: this block is allocated.
    const ALLOCATED: usize = 0b01;
    /// Flag: the block just below this one is allocated, so there is no
    /// footer below this header to read.
    const PREV_ALLOCATED: usize = 0b10;
    /// The low bits that hold flags instead of size.
    const FLAGS: usize = ALIGN - 1;
    /// The header of a free block of `size` bytes.
    #[inline]
    pub(crate) fn free(size: usize, prev_allocated: bool) -> Header {
        Header::sized(size).with_prev_allocated(prev_allocated)
    }

    /// The header of an allocated block of `size` bytes.
    #[inline]
    pub(crate) fn allocated(size: usize, prev_allocated: bool) -> Header {
        Header::free(size, prev_allocated).with_allocated(true)
    }

    /// A header of `size` bytes with no flags set.
    #[inline]
    fn sized(size: usize) -> Header {
        debug_assert!(
            size.is_multiple_of(ALIGN),
            "block size {size:#x} is not a multiple of {ALIGN}"
        );
        Header(size)
    }

    /// The block size.
    #[inline]
    pub(crate) fn size(self) -> usize {
        self.0 & !Self::FLAGS
    }

    /// `true` if this block is allocated.
    #[inline]
    pub(crate) fn is_allocated(self) -> bool {
        self.0 & Self::ALLOCATED != 0
    }

    /// `true` if the block below is allocated (so there is no footer below
    /// this header).
    #[inline]
    pub(crate) fn prev_allocated(self) -> bool {
        self.0 & Self::PREV_ALLOCATED != 0
    }

    /// The same header with the size `size`; the flags stay.
    #[inline]
    pub(crate) fn with_size(self, size: usize) -> Header {
        Header(Header::sized(size).0 | (self.0 & Self::FLAGS))
    }

    /// The same header with the allocated bit set or cleared.
    #[inline]
    pub(crate) fn with_allocated(self, allocated: bool) -> Header {
        self.with_flag(Self::ALLOCATED, allocated)
    }

    /// The same header with the prev-allocated bit set or cleared.
    #[inline]
    pub(crate) fn with_prev_allocated(self, allocated: bool) -> Header {
        self.with_flag(Self::PREV_ALLOCATED, allocated)
    }
}
// ANCHOR_END: pack

impl Header {
    /// The flag bits the format does not use, left to an allocator's own
    /// marks.
    pub(crate) const SPARE: usize = Self::FLAGS & !(Self::ALLOCATED | Self::PREV_ALLOCATED);
}

impl Header {
    /// `true` if the flag `flag` (one of the [`SPARE`](Self::SPARE) bits)
    /// is set.
    #[inline]
    pub(crate) fn has_flag(self, flag: usize) -> bool {
        debug_assert!(flag & !Self::SPARE == 0, "{flag:#b} is not a spare flag");
        self.0 & flag != 0
    }

    /// The same header with flag `flag` set or cleared.
    #[inline]
    pub(crate) fn with_flag(self, flag: usize, on: bool) -> Header {
        debug_assert!(flag & !Self::FLAGS == 0, "{flag:#b} is not a flag bit");
        Header(if on { self.0 | flag } else { self.0 & !flag })
    }
}

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
    debug_assert!(
        matches!(block_size(layout.size()), Some(s) if s == size || s == MIN_BLOCK),
        // A const fn cannot format a value into its panic message.
        "layout_block_size disagrees with block_size"
    );
    if size < MIN_BLOCK { MIN_BLOCK } else { size }
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

    /// The block that owns `payload`, as a pointer made from `heap`, a
    /// pointer into the same heap.
    ///
    /// The header is rebuilt from the heap's own pointer, not from
    /// `payload`: a pointer the program hands back may carry permission for
    /// the payload only (a `Box` gives its pointer back so), and the header
    /// lies outside the payload. Under Miri's Stacked Borrows, reading it
    /// through `payload` is undefined behaviour.
    ///
    /// # Safety
    ///
    /// `payload` must be a payload pointer of a block of the live heap that
    /// `heap` points into.
    #[inline]
    pub(crate) unsafe fn from_payload(heap: NonNull<u8>, payload: NonNull<u8>) -> Block {
        let header = payload.as_ptr().addr() - WORD;
        // SAFETY: a payload is one word above its header, and both lie in
        // the heap; the address is not zero, since the heap is not at zero.
        Block(unsafe { NonNull::new_unchecked(heap.as_ptr().with_addr(header)) })
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

    /// The header.
    ///
    /// # Safety
    ///
    /// `self` is a block (or the epilogue) of a live heap.
    #[inline]
    pub(crate) unsafe fn header(self) -> Header {
        // SAFETY: the header is an aligned, initialised word of the heap.
        Header(unsafe { self.0.cast::<usize>().read() })
    }

    /// Overwrites the header word.
    ///
    /// # Safety
    ///
    /// `self` is a word-aligned address inside a live heap, which the caller
    /// is turning into (or keeping as) a block header.
    #[inline]
    pub(crate) unsafe fn set_header(self, header: Header) {
        // SAFETY: the caller guarantees the word is in the heap.
        unsafe { self.0.cast::<usize>().write(header.0) }
    }

    /// The size from the header.
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: the caller's guarantee.
        unsafe { self.header() }.size()
    }

    /// `true` if the header's allocated bit is set.
    ///
    /// # Safety
    ///
    /// As for [`header`](Self::header).
    #[inline]
    pub(crate) unsafe fn is_allocated(self) -> bool {
        // SAFETY: the caller's guarantee.
        unsafe { self.header() }.is_allocated()
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
        unsafe { self.header() }.prev_allocated()
    }

    /// Sets or clears the prev-allocated bit in the header only.
    ///
    /// # Safety
    ///
    /// `self` is an allocated block or the epilogue (a free block would need
    /// its footer updated too).
    #[inline]
    pub(crate) unsafe fn set_prev_allocated(self, allocated: bool) {
        // SAFETY: the caller's guarantee; the header is in the heap.
        unsafe {
            let header = self.header();
            debug_assert!(
                header.is_allocated(),
                "block {:#x} is free: its footer would keep the old bit",
                self.addr()
            );
            self.set_header(header.with_prev_allocated(allocated));
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

    /// The footer, the last word of the block.
    ///
    /// # Safety
    ///
    /// `self` is a free block of a live heap.
    #[inline]
    pub(crate) unsafe fn footer(self) -> Header {
        // SAFETY: a free block's last word is its footer, inside the block.
        Header(unsafe { self.0.add(self.size() - WORD).cast::<usize>().read() })
    }

    /// The previous block, found through its footer just below our header.
    ///
    /// # Safety
    ///
    /// `self` is a block of a live heap whose prev-allocated bit is clear,
    /// so the block below is free and has a footer.
    #[inline]
    pub(crate) unsafe fn prev(self) -> Block {
        // SAFETY: the block below is free, so the word below our header is its
        // footer, which holds its size.
        unsafe {
            debug_assert!(
                !self.prev_allocated(),
                "block {:#x}: the block below is allocated and has no footer",
                self.addr()
            );
            let footer = Header(self.0.sub(WORD).cast::<usize>().read());
            Block(self.0.sub(footer.size()))
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
    pub(crate) unsafe fn set_free(self, size: usize, prev_allocated: bool) {
        debug_assert!(
            size >= MIN_BLOCK,
            "free block of {size} bytes is below MIN_BLOCK"
        );
        let header = Header::free(size, prev_allocated);
        // SAFETY: the header and the last word are both inside the block.
        unsafe {
            self.set_header(header);
            self.0.add(size - WORD).cast::<usize>().write(header.0);
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

/// What a piece of a heap is, as a walk over its blocks reports it.
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
    /// The header's prev-allocated bit.
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
    fn headers_hold_size_and_flags() {
        let header = Header::allocated(48, true);
        assert_eq!(header.size(), 48);
        assert!(header.is_allocated() && header.prev_allocated());
        let free = header.with_allocated(false).with_size(96);
        assert_eq!(free, Header::free(96, true));
        assert!(!free.has_flag(0b100) && free.with_flag(0b100, true).has_flag(0b100));
        assert_eq!(free.with_flag(0b100, true).size(), 96);
        assert_eq!(Header::SPARE, 0b1100);
        assert_eq!(ALIGN, 2 * std::mem::size_of::<usize>());
    }
}
