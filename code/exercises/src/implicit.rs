//! Exercises of the chapter "The implicit free list".
//!
//! They work on the heap of `code/examples/first_implicit.rs`: a slice of
//! 8-byte words, where a block is named by the byte offset of its header.
//! Word 0 is padding, words 1 and 2 are the prologue (a header and a footer,
//! size 16, allocated), the first block's header is at byte `FIRST`, and the
//! last word is the epilogue (size 0, allocated). Every block has a header
//! and a footer: its size (a multiple of 16) with the lowest bit set when it
//! is allocated.

// ANCHOR: helpers
/// One word.
pub const W: usize = 8;
/// The byte offset of the first block's header.
pub const FIRST: usize = 3 * W;
/// The smallest block: header, 16 bytes of payload, footer.
pub const MIN_BLOCK: usize = 32;

/// The size in the header or footer at byte offset `at`.
pub fn size(words: &[usize], at: usize) -> usize {
    words[at / W] & !0xf
}

/// `true` if the header or footer at byte offset `at` says "allocated".
pub fn is_allocated(words: &[usize], at: usize) -> bool {
    words[at / W] & 1 == 1
}
// ANCHOR_END: helpers

#[cfg(not(feature = "solutions"))]
// ANCHOR: check_stub
/// Exercise 1: a heap checker.
///
/// Walk the blocks from `FIRST`. Return the number of blocks (not counting
/// the prologue and the epilogue) if the heap is sound, or an error that
/// names the offset of the first bad block. Sound means: every size is a
/// multiple of 16 and at least `MIN_BLOCK`; no block runs past the
/// epilogue; every footer equals its header; no two free blocks are
/// neighbours; and the walk ends exactly at the last word, the epilogue.
pub fn check(words: &[usize]) -> Result<usize, String> {
    let _ = words;
    crate::unsolved("The implicit free list", 1)
}
// ANCHOR_END: check_stub

// ANCHOR: check
/// Exercise 1, solved: one walk, one rule per `if`.
#[cfg(feature = "solutions")]
pub fn check(words: &[usize]) -> Result<usize, String> {
    let epilogue = (words.len() - 1) * W;
    let (mut b, mut count, mut prev_free) = (FIRST, 0, false);
    while b != epilogue {
        let size = size(words, b);
        if size < MIN_BLOCK || !size.is_multiple_of(16) {
            return Err(format!("block at {b}: bad size {size}"));
        }
        if b + size > epilogue {
            return Err(format!("block at {b}: runs past the epilogue"));
        }
        if words[b / W] != words[(b + size) / W - 1] {
            return Err(format!("block at {b}: header and footer differ"));
        }
        let free = !is_allocated(words, b);
        if free && prev_free {
            return Err(format!("block at {b}: two free blocks side by side"));
        }
        (prev_free, count, b) = (free, count + 1, b + size);
    }
    if words[epilogue / W] != 1 {
        return Err(format!(
            "the epilogue at {epilogue} is not a header of size 0, allocated"
        ));
    }
    Ok(count)
}
// ANCHOR_END: check

#[cfg(not(feature = "solutions"))]
// ANCHOR: best_fit_stub
/// Exercise 2: best fit.
///
/// Return the header offset of the smallest free block of at least `asize`
/// bytes (the first one, if several are equally small), or `None`. Stop as
/// soon as a block fits exactly: nothing can beat it.
pub fn best_fit(words: &[usize], asize: usize) -> Option<usize> {
    let _ = (words, asize);
    crate::unsolved("The implicit free list", 2)
}
// ANCHOR_END: best_fit_stub

// ANCHOR: best_fit
/// Exercise 2, solved: remember the best block so far, and walk on.
#[cfg(feature = "solutions")]
pub fn best_fit(words: &[usize], asize: usize) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut b = FIRST;
    while size(words, b) > 0 {
        let s = size(words, b);
        if !is_allocated(words, b) && s >= asize {
            if s == asize {
                return Some(b);
            }
            if best.is_none_or(|best| s < size(words, best)) {
                best = Some(b);
            }
        }
        b += s;
    }
    best
}
// ANCHOR_END: best_fit
