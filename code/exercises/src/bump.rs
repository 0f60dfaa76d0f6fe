//! Exercises of the chapter "A bump allocator".

use std::alloc::Layout;

#[cfg(not(feature = "solutions"))]
// ANCHOR: bump_up_stub
/// Exercise 1: a bump allocator that bumps *upward*.
///
/// `offset` is how many bytes of a buffer that starts at address `base` are
/// in use. Return the offset of a new block for `layout` (the first aligned
/// address at or after `base + offset`, minus `base`) and the new `offset`,
/// or `None` if the block would end past `capacity` or any sum overflows.
pub fn bump_up(
    base: usize,
    offset: usize,
    capacity: usize,
    layout: Layout,
) -> Option<(usize, usize)> {
    let _ = (base, offset, capacity, layout);
    crate::unsolved("A bump allocator", 1)
}
// ANCHOR_END: bump_up_stub

// Deliberately repeats the stub's signature: the chapter shows the stub and
// the solution each whole.
// ANCHOR: bump_up
/// Exercise 1, solved: round the address up, then add the size. Both steps
/// can overflow, so both are checked; bumping down needs only one check.
#[cfg(feature = "solutions")]
pub fn bump_up(
    base: usize,
    offset: usize,
    capacity: usize,
    layout: Layout,
) -> Option<(usize, usize)> {
    let addr = base.checked_add(offset)?;
    let start = addr.checked_add(layout.align() - 1)? & !(layout.align() - 1);
    let end = start.checked_add(layout.size())?;
    let new_offset = end - base;
    (new_offset <= capacity).then_some((start - base, new_offset))
}
// ANCHOR_END: bump_up

// ANCHOR: scratch_struct
/// Exercise 2: a scratch allocator with marks.
///
/// A bump allocator over its own buffer, like the chapter's first version,
/// but with offsets instead of addresses: `top` is the offset of the lowest
/// allocated byte, and blocks go down from `capacity`. `alloc` is given.
#[derive(Debug)]
pub struct Scratch {
    memory: Vec<u8>,
    top: usize,
}

/// Where the bump pointer was when [`Scratch::mark`] was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark(usize);

impl Scratch {
    /// A scratch allocator over `capacity` bytes, all free.
    pub fn new(capacity: usize) -> Scratch {
        Scratch {
            memory: vec![0; capacity],
            top: capacity,
        }
    }

    /// The offset of a new block of `size` bytes aligned (as an offset) to
    /// `align`, a power of two, or `None` if it does not fit.
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<usize> {
        let block = self.top.checked_sub(size)? & !(align - 1);
        self.top = block;
        Some(block)
    }

    /// Bytes in use: from `top` to the end.
    pub fn used(&self) -> usize {
        self.memory.len() - self.top
    }
}
// ANCHOR_END: scratch_struct

#[cfg(not(feature = "solutions"))]
// ANCHOR: scratch_stub
impl Scratch {
    /// Remembers where the bump pointer is now.
    pub fn mark(&self) -> Mark {
        crate::unsolved("A bump allocator", 2)
    }

    /// Frees every block allocated since `mark` was taken, at once.
    /// A mark taken before an earlier rewind may be *below* `top`: then
    /// there is nothing to free, and the bump pointer must not move down.
    pub fn rewind_to(&mut self, mark: Mark) {
        let _ = mark;
        crate::unsolved("A bump allocator", 2)
    }
}
// ANCHOR_END: scratch_stub

// ANCHOR: scratch
/// Exercise 2, solved: a mark is the bump pointer itself, and rewinding
/// moves the pointer back up to it, never down.
#[cfg(feature = "solutions")]
impl Scratch {
    /// Remembers where the bump pointer is now.
    pub fn mark(&self) -> Mark {
        Mark(self.top)
    }

    /// Frees every block allocated since `mark` was taken, at once.
    pub fn rewind_to(&mut self, mark: Mark) {
        self.top = self.top.max(mark.0);
    }
}
// ANCHOR_END: scratch
