//! The memory each region allocator replays a trace in.
//!
//! Every allocator measured on a trace gets a heap of the same size: one
//! anonymous [`Mapping`], so the kernel hands out zeroed pages lazily and an
//! untouched part of a generous heap costs nothing. The same mapping is
//! reused for the warm-up pass and every timed repetition, each with a fresh
//! allocator over it: the pages the warm-up touched are then already
//! present, so the timed runs measure the allocator rather than page faults
//! (glibc's `malloc`, which keeps its own heap between runs, gets the same
//! treatment for free).

use allocators::os::Mapping;
use allocators::region::Buffer;
use std::io;

/// A heap of whole pages that allocators borrow one at a time.
#[derive(Debug)]
pub struct TraceHeap {
    mapping: Mapping,
}

impl TraceHeap {
    /// Maps at least `len` bytes (rounded up to whole pages).
    pub fn new(len: usize) -> io::Result<TraceHeap> {
        Ok(TraceHeap {
            mapping: Mapping::new(len)?,
        })
    }

    /// The heap's length in bytes.
    pub fn len(&self) -> usize {
        self.mapping.len()
    }

    /// Always `false`: an empty mapping cannot be made.
    pub fn is_empty(&self) -> bool {
        self.mapping.is_empty()
    }

    /// Lends all of the heap's memory to one allocator.
    ///
    /// The buffer borrows `self` only shared, so that one allocator type can
    /// be built over it again and again (a fresh allocator per repetition).
    ///
    /// # Safety
    ///
    /// While the returned buffer (or an allocator built on it) is in use, no
    /// other buffer from this heap may be used: the memory must have a
    /// single owner at a time, as [`Buffer::from_raw_parts`] requires.
    pub unsafe fn region(&self) -> Buffer<'_> {
        let start = allocators::region::Region::start(&self.mapping);
        // SAFETY: the mapping is valid for reads and writes of `len` bytes
        // while `self` lives, which the borrow ensures; exclusive use is the
        // caller's promise.
        unsafe { Buffer::from_raw_parts(start, self.mapping.len()) }
    }
}
