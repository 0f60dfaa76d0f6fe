//! Exercises of the chapter "How real allocators do it".

#[cfg(not(feature = "solutions"))]
// ANCHOR: block_sizes_stub
/// Exercise 1: what dropping footers from allocated blocks saves.
///
/// Return the block size for a payload of `payload` bytes in the first
/// implicit list's format (a header and a footer on every block) and in the
/// crate's format (a footer only on free blocks): each rounded up to 16 and
/// at least 32 bytes. `None` if a sum overflows.
pub fn block_sizes(payload: usize) -> Option<(usize, usize)> {
    let _ = payload;
    crate::unsolved("How real allocators do it", 1)
}
// ANCHOR_END: block_sizes_stub

// ANCHOR: block_sizes
/// Exercise 1, solved: two words of overhead against one.
#[cfg(feature = "solutions")]
pub fn block_sizes(payload: usize) -> Option<(usize, usize)> {
    let round = |overhead: usize| -> Option<usize> {
        Some((payload.checked_add(overhead + 15)? & !15).max(32))
    };
    Some((round(16)?, round(8)?))
}
// ANCHOR_END: block_sizes
