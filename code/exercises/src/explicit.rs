//! Exercises of the chapter "The explicit free list".
//!
//! They work on the heap of `code/examples/first_explicit.rs`: the words and
//! blocks of the implicit exercises (see [`crate::implicit`]), and a doubly
//! linked list of the free blocks. A free block's `next` link is the word
//! after its header, its `prev` link the word after that; `NIL` (0) ends the
//! list.

// ANCHOR: helpers
pub use crate::implicit::{FIRST, W, size};

/// No block.
pub const NIL: usize = 0;
/// Where the links sit, in words after a free block's header.
pub const NEXT: usize = 1;
/// See [`NEXT`].
pub const PREV: usize = 2;

/// The link `which` (`NEXT` or `PREV`) of the free block at `b`.
pub fn link(words: &[usize], b: usize, which: usize) -> usize {
    words[b / W + which]
}

/// Sets the link `which` of the free block at `b` to `to`.
pub fn set_link(words: &mut [usize], b: usize, which: usize, to: usize) {
    words[b / W + which] = to;
}
// ANCHOR_END: helpers

#[cfg(not(feature = "solutions"))]
// ANCHOR: insert_by_address_stub
/// Exercise 1: address-ordered insertion.
///
/// Link the free block `b` (not yet on the list) into the list that starts
/// at `*head`, so that the list stays sorted by address. Set both links of
/// `b` and fix its neighbours' links (and `*head`, if `b` becomes first).
pub fn insert_by_address(words: &mut [usize], head: &mut usize, b: usize) {
    let _ = (words, head, b);
    crate::unsolved("The explicit free list", 1)
}
// ANCHOR_END: insert_by_address_stub

// ANCHOR: insert_by_address
/// Exercise 1, solved: walk to the first block above `b`, and link `b` in
/// front of it.
#[cfg(feature = "solutions")]
pub fn insert_by_address(words: &mut [usize], head: &mut usize, b: usize) {
    let (mut prev, mut next) = (NIL, *head);
    while next != NIL && next < b {
        prev = next;
        next = link(words, next, NEXT);
    }
    set_link(words, b, NEXT, next);
    set_link(words, b, PREV, prev);
    if next != NIL {
        set_link(words, next, PREV, b);
    }
    if prev == NIL {
        *head = b;
    } else {
        set_link(words, prev, NEXT, b);
    }
}
// ANCHOR_END: insert_by_address

#[cfg(not(feature = "solutions"))]
// ANCHOR: next_fit_stub
/// Exercise 2: next fit.
///
/// Search the list that starts at `head` for the first free block of at
/// least `asize` bytes, starting at `rover` (a block on the list, or `NIL`
/// for the head), running to the end, then wrapping around to the head and
/// stopping where it started. Return the block found; the caller makes it
/// the new rover.
pub fn next_fit(words: &[usize], head: usize, rover: usize, asize: usize) -> Option<usize> {
    let _ = (words, head, rover, asize);
    crate::unsolved("The explicit free list", 2)
}
// ANCHOR_END: next_fit_stub

// ANCHOR: next_fit
/// Exercise 2, solved: two walks, one from the rover to the end and one
/// from the head to the rover.
#[cfg(feature = "solutions")]
pub fn next_fit(words: &[usize], head: usize, rover: usize, asize: usize) -> Option<usize> {
    let start = if rover == NIL { head } else { rover };
    let walk = |from: usize, to: usize| {
        let mut b = from;
        while b != to {
            if size(words, b) >= asize {
                return Some(b);
            }
            b = link(words, b, NEXT);
        }
        None
    };
    walk(start, NIL).or_else(|| walk(head, start))
}
// ANCHOR_END: next_fit
