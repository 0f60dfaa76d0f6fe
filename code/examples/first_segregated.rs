//! The first segregated free lists: an array of the first explicit list's
//! free lists, one per size class. A search starts in the request's class,
//! takes the first block that fits, and moves up to larger classes.
//!
//! It repeats parts of `first_explicit.rs` on purpose: every first version is a whole
//! program that a reader can run, read and change on its own.
//!
//! Everything but the lists and the search is `first_explicit.rs`.
//!
//! `cargo run --example first_segregated`

// Deliberately repeats first_explicit.rs (and through it first_implicit.rs)
// but for the classes, the lists and the search: each first-version example
// stands alone for the reader.

/// One word: a header or a footer.
const W: usize = 8;
/// The smallest block: header, 16 bytes of payload, footer.
const MIN_BLOCK: usize = 32;
/// Where the first real block starts: one word of padding, then a
/// prologue block (a header and a footer, always allocated).
const FIRST: usize = 3 * W;

/// No block: offset 0 is never a block (it is padding).
const NIL: usize = 0;
/// Where the links sit, in words after a free block's header.
const NEXT: usize = 1;
const PREV: usize = 2;

// ANCHOR: classes
/// Size classes by powers of two: class 0 holds blocks of 32 to 63 bytes,
/// class 1 of 64 to 127, and so on; the last class holds everything larger.
const CLASSES: usize = 8;

fn class_of(size: usize) -> usize {
    let class = (size / MIN_BLOCK).ilog2() as usize;
    class.min(CLASSES - 1)
}
// ANCHOR_END: classes

/// A heap of words. Blocks are named by the byte offset of their header.
struct Heap {
    words: Vec<usize>,
    /// The first block of each size class's free list, or `NIL`.
    heads: [usize; CLASSES],
}

impl Heap {
    /// A heap of `bytes` (a multiple of 16): the prologue, one free block,
    /// and the epilogue, a lone header of size 0 marked allocated.
    fn new(bytes: usize) -> Heap {
        let mut heap = Heap {
            words: vec![0; bytes / W],
            heads: [NIL; CLASSES],
        };
        heap.set(W, 2 * W, true); // the prologue
        heap.set(FIRST, bytes - FIRST - W, false);
        heap.words[bytes / W - 1] = 1; // the epilogue: size 0, allocated
        heap.push(FIRST);
        heap
    }

    /// The size in a header or footer. Sizes are multiples of 16, so the
    /// low four bits are free; the lowest one means "allocated".
    fn size(&self, at: usize) -> usize {
        self.words[at / W] & !0xf
    }

    fn is_allocated(&self, at: usize) -> bool {
        self.words[at / W] & 1 == 1
    }

    /// Writes the header and the footer of the block at `b`.
    fn set(&mut self, b: usize, size: usize, allocated: bool) {
        let tag = size | usize::from(allocated);
        self.words[b / W] = tag;
        self.words[(b + size) / W - 1] = tag;
    }

    /// First fit: returns the offset of a payload of at least `size` bytes.
    fn allocate(&mut self, size: usize) -> Option<usize> {
        // Header + payload + footer, rounded up to 16 bytes.
        let asize = (size.checked_add(2 * W + 15)? & !15).max(MIN_BLOCK);
        let b = self.find_fit(asize)?;
        self.place(b, asize);
        Some(b + W) // the payload starts after the header
    }

    fn link(&self, b: usize, which: usize) -> usize {
        self.words[b / W + which]
    }

    fn set_link(&mut self, b: usize, which: usize, to: usize) {
        self.words[b / W + which] = to;
    }

    // ANCHOR: lists
    /// As before, but onto the list of `b`'s size class.
    fn push(&mut self, b: usize) {
        let class = class_of(self.size(b));
        let old = self.heads[class];
        self.set_link(b, NEXT, old);
        self.set_link(b, PREV, NIL);
        if old != NIL {
            self.set_link(old, PREV, b);
        }
        self.heads[class] = b;
    }

    /// As before; a block at the front of its list moves its class's head.
    fn unlink(&mut self, b: usize) {
        let (next, prev) = (self.link(b, NEXT), self.link(b, PREV));
        if prev == NIL {
            self.heads[class_of(self.size(b))] = next;
        } else {
            self.set_link(prev, NEXT, next);
        }
        if next != NIL {
            self.set_link(next, PREV, prev);
        }
    }

    /// First fit in the request's own class, then in each larger one.
    fn find_fit(&self, asize: usize) -> Option<usize> {
        for class in class_of(asize)..CLASSES {
            let mut b = self.heads[class];
            while b != NIL {
                if self.size(b) >= asize {
                    return Some(b);
                }
                b = self.link(b, NEXT);
            }
        }
        None
    }
    // ANCHOR_END: lists

    // Deliberately first_explicit.rs's `place`, `free` and `coalesce`, which
    // reach the lists only through `push` and `unlink` (see the top).
    /// As before, and the free list follows: `b` leaves it, and a split-off
    /// remainder joins it.
    fn place(&mut self, b: usize, asize: usize) {
        let size = self.size(b);
        self.unlink(b);
        if size - asize >= MIN_BLOCK {
            self.set(b, asize, true);
            self.set(b + asize, size - asize, false);
            self.push(b + asize);
        } else {
            self.set(b, size, true);
        }
    }

    fn free(&mut self, payload: usize) {
        let b = payload - W;
        self.set(b, self.size(b), false);
        self.coalesce(b);
    }

    /// The four cases, written as two `if`s: a free neighbour leaves the
    /// list, and the merged block joins it at the front.
    fn coalesce(&mut self, b: usize) -> usize {
        let (mut start, mut size) = (b, self.size(b));
        let next = b + size;
        if !self.is_allocated(next) {
            self.unlink(next);
            size += self.size(next);
        }
        if !self.is_allocated(b - W) {
            start = b - self.size(b - W);
            self.unlink(start);
            size += self.size(start);
        }
        self.set(start, size, false);
        self.push(start);
        start
    }

    /// The free list of one class, front to back.
    fn free_list(&self, class: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut b = self.heads[class];
        while b != NIL {
            out.push(b);
            b = self.link(b, NEXT);
        }
        out
    }
}

fn main() {
    // ANCHOR: demo
    assert_eq!(
        [32, 48, 64, 127, 128, 4096].map(class_of),
        [0, 0, 1, 1, 2, 7]
    );
    // Blocks of 48 and 80 bytes, alternately: a, b, c, d, e, f, g, h.
    let mut heap = Heap::new(FIRST + 4 * (48 + 80) + W);
    let p: Vec<usize> = (0..8)
        .map(|i| heap.allocate(if i % 2 == 0 { 32 } else { 64 }).unwrap())
        .collect();
    let name = |payload: usize| {
        ["a", "b", "c", "d", "e", "f", "g", "h"][p.iter().position(|&q| q == payload).unwrap()]
    };
    for i in [0, 5, 2, 7] {
        heap.free(p[i]); // a, f, c, h: no two are neighbours
    }
    for class in 0..2 {
        // A list holds headers; the program knows the payloads, one word on.
        let names: Vec<&str> = heap.free_list(class).iter().map(|b| name(b + W)).collect();
        println!("class {class}: {}", names.join(" -> "));
    }
    assert_eq!(heap.free_list(0), [p[2] - W, p[0] - W]); // the 48-byte blocks, LIFO
    assert_eq!(heap.free_list(1), [p[7] - W, p[5] - W]); // the 80-byte blocks

    // A 64-byte request skips class 0 without looking at its blocks.
    let got = heap.allocate(64);
    assert_eq!(got, Some(p[7]));
    println!("allocate(64) took {}", name(p[7]));
    // A 100-byte request needs a 128-byte block, class 2. Classes 2 and up
    // are empty, so the search gives up without visiting a single block.
    assert!((class_of(128)..CLASSES).all(|c| heap.free_list(c).is_empty()));
    assert_eq!(heap.allocate(100), None);
    println!("allocate(100) found nothing, and visited no block");
    // ANCHOR_END: demo
}
