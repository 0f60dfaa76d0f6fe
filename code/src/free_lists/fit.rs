//! Fitting a request into a free block: the block size and alignment it
//! needs ([`Request`]), whether a free block can serve it and where (`fit`),
//! and cutting off the gap in front of an over-aligned payload
//! (`split_front`). Every free-list allocator searches with these; how each
//! one splits the rest is its own `place`.

use super::block::{ALIGN, Block, MIN_BLOCK, WORD, layout_block_size};
use crate::align::align_up;
use crate::raw_allocator::AllocError;
use std::alloc::Layout;

// ANCHOR: request
/// What an allocation needs from a free block, worked out once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// The block size, from [`block_size`](super::block::block_size).
    pub(crate) size: usize,
    /// The payload's alignment.
    pub(crate) align: usize,
    // ANCHOR_END: request
    // ANCHOR: request_search
    /// A block at least this large surely fits the request, wherever it
    /// starts. It equals `size` unless the alignment is above [`ALIGN`].
    /// When nothing fits, the heap grows until a free block this large ends
    /// it; the segregated lists also pick the class for an over-aligned
    /// request from it.
    pub(crate) search: usize,
    // ANCHOR_END: request_search
    // ANCHOR: request_end
}
// ANCHOR_END: request_end

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
    debug_assert!(gap >= MIN_BLOCK, "gap of {gap} bytes is below MIN_BLOCK");
    // SAFETY: both pieces lie inside `block`.
    unsafe {
        let size = block.size();
        debug_assert!(
            size - gap >= MIN_BLOCK,
            "block of {size} bytes leaves less than MIN_BLOCK behind a gap of {gap}"
        );
        block.set_free(gap, block.prev_allocated());
        let rest = block.next();
        rest.set_free(size - gap, false);
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
