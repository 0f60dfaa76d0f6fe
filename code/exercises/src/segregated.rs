//! Exercises of the chapter "Segregated free lists".

#[cfg(not(feature = "solutions"))]
// ANCHOR: size_class_stub
/// Exercise 1: the crate's size classes.
///
/// Return the class of a block of `size` bytes (a multiple of 16, at least
/// 32), as the chapter describes them: one class per 16 bytes below 256
/// (32 is class 0, 48 class 1, ..., 240 class 13); above, four classes per
/// power of two, by the two bits below the top bit (256 is class 14, 320
/// class 15, 384 class 16, 448 class 17, 512 class 18, ...); and every size
/// past the last of the 64 classes in class 63.
pub fn size_class(size: usize) -> usize {
    let _ = size;
    crate::unsolved("Segregated free lists", 1)
}
// ANCHOR_END: size_class_stub

// ANCHOR: size_class
/// Exercise 1, solved: the exact classes first, then the power of two and
/// the quarter within it.
#[cfg(feature = "solutions")]
pub fn size_class(size: usize) -> usize {
    if size < 256 {
        return (size - 32) / 16;
    }
    let log2 = size.ilog2() as usize; // 8 for 256..511
    let quarter = (size >> (log2 - 2)) & 3;
    (14 + (log2 - 8) * 4 + quarter).min(63)
}
// ANCHOR_END: size_class

#[cfg(not(feature = "solutions"))]
// ANCHOR: best_in_class_stub
/// Exercise 2: best fit within a class.
///
/// `sizes` are the sizes of the blocks on one class's list, front to back.
/// Return the index of the smallest one that holds `asize` bytes (the first,
/// if several are equally small), but look at no more than `candidates`
/// blocks that fit: after that many, take the best seen. Stop at once on an
/// exact fit.
pub fn best_in_class(sizes: &[usize], asize: usize, candidates: usize) -> Option<usize> {
    let _ = (sizes, asize, candidates);
    crate::unsolved("Segregated free lists", 2)
}
// ANCHOR_END: best_in_class_stub

// ANCHOR: best_in_class
/// Exercise 2, solved: blocks that are too small are skipped and not
/// counted. The crate's `best_fit_in` is cheaper: it looks at the first
/// `FIT_CANDIDATES` = 3 blocks of the list, whether they fit or not.
#[cfg(feature = "solutions")]
pub fn best_in_class(sizes: &[usize], asize: usize, candidates: usize) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut seen = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if size < asize {
            continue;
        }
        if size == asize {
            return Some(i);
        }
        if best.is_none_or(|b| size < sizes[b]) {
            best = Some(i);
        }
        seen += 1;
        if seen == candidates {
            break;
        }
    }
    best
}
// ANCHOR_END: best_in_class
