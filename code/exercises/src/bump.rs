//! Exercises of the chapter "A bump allocator".

use std::alloc::Layout;

/// Exercise 1: a bump allocator that bumps *upward*.
///
/// `offset` is how many bytes of a buffer that starts at address `base` are
/// in use. Return the offset of a new block for `layout` (the first aligned
/// address at or after `base + offset`, minus `base`) and the new `offset`,
/// or `None` if the block would end past `capacity` or any sum overflows.
#[cfg(not(feature = "solutions"))]
pub fn bump_up(
    base: usize,
    offset: usize,
    capacity: usize,
    layout: Layout,
) -> Option<(usize, usize)> {
    let _ = (base, offset, capacity, layout);
    crate::unsolved("A bump allocator", 1)
}

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
