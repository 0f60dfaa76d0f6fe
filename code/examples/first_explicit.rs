//! The first explicit free list: the first implicit list, plus `next` and
//! `prev` links inside the free blocks, and LIFO insertion.
//!
//! It repeats parts of `first_implicit.rs` on purpose: every first version is a whole
//! program that a reader can run, read and change on its own.
//!
//! The block format, `allocate`, `free` and the heap's ends are the ones of
//! `first_implicit.rs`; what changed is the list, the search, `place` and
//! `coalesce`.
//!
//! `cargo run --example first_explicit`

// Deliberately repeats first_implicit.rs (the format, the heap's ends,
// `allocate`, `free`, `blocks`), as first_segregated.rs repeats this file:
// each first-version example stands alone for the reader.

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

/// A heap of words. Blocks are named by the byte offset of their header.
struct Heap {
    words: Vec<usize>,
    /// The first block on the free list, or `NIL`.
    head: usize,
}

impl Heap {
    /// A heap of `bytes` (a multiple of 16): the prologue, one free block,
    /// and the epilogue, a lone header of size 0 marked allocated.
    fn new(bytes: usize) -> Heap {
        let mut heap = Heap {
            words: vec![0; bytes / W],
            head: NIL,
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

    // ANCHOR: list
    /// The free list. A free block's payload holds its two links: the
    /// word after the header is `next`, the one after that `prev`.
    fn link(&self, b: usize, which: usize) -> usize {
        self.words[b / W + which]
    }

    fn set_link(&mut self, b: usize, which: usize, to: usize) {
        self.words[b / W + which] = to;
    }

    /// LIFO: a freed block goes to the front.
    fn push(&mut self, b: usize) {
        let old = self.head;
        self.set_link(b, NEXT, old);
        self.set_link(b, PREV, NIL);
        if old != NIL {
            self.set_link(old, PREV, b);
        }
        self.head = b;
    }

    /// Takes `b` out of the list, from anywhere, in O(1).
    fn unlink(&mut self, b: usize) {
        let (next, prev) = (self.link(b, NEXT), self.link(b, PREV));
        if prev == NIL {
            self.head = next;
        } else {
            self.set_link(prev, NEXT, next);
        }
        if next != NIL {
            self.set_link(next, PREV, prev);
        }
    }
    // ANCHOR_END: list

    // ANCHOR: allocate
    /// Walks the free blocks only.
    fn find_fit(&self, asize: usize) -> Option<usize> {
        let mut b = self.head;
        while b != NIL {
            if self.size(b) >= asize {
                return Some(b);
            }
            b = self.link(b, NEXT);
        }
        None
    }

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
    // ANCHOR_END: allocate

    // Deliberately first_implicit.rs's `free`, and below it the coalescing
    // that first_segregated.rs repeats: see the top of the file.
    fn free(&mut self, payload: usize) {
        let b = payload - W;
        self.set(b, self.size(b), false);
        self.coalesce(b);
    }

    // ANCHOR: coalesce
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
    // ANCHOR_END: coalesce

    // Deliberately repeats first_implicit.rs's walks (see the top of the file).
    /// The free list, front to back.
    fn free_list(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut b = self.head;
        while b != NIL {
            out.push(b);
            b = self.link(b, NEXT);
        }
        out
    }

    /// Every block as (size, allocated), for the checks below.
    fn blocks(&self) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        let mut b = FIRST;
        while self.size(b) > 0 {
            out.push((self.size(b), self.is_allocated(b)));
            b += self.size(b);
        }
        out
    }
}

fn main() {
    // ANCHOR: demo
    // Seven 48-byte blocks a to g fill the heap; free d, then b, then f.
    let mut heap = Heap::new(FIRST + 7 * 48 + W);
    let p: Vec<usize> = (0..7).map(|_| heap.allocate(32).unwrap()).collect();
    assert!(heap.free_list().is_empty(), "no free block at all");
    for i in [3, 1, 5] {
        heap.free(p[i]);
    }
    // The free list as payloads, like `p`: a block's header is one word
    // below the payload the program had.
    let payloads = |heap: &Heap| -> Vec<usize> { heap.free_list().iter().map(|b| b + W).collect() };
    // LIFO: the list runs from the block freed last.
    assert_eq!(payloads(&heap), [p[5], p[1], p[3]]);
    // The next request takes the first block on the list, f.
    assert_eq!(heap.allocate(32), Some(p[5]));
    // Freeing c merges b, c and d into one block of 144 bytes, at b.
    heap.free(p[2]);
    assert_eq!(payloads(&heap), [p[1]]);
    assert_eq!(heap.blocks()[1], (144, false));
    println!("{:?}", heap.blocks());
    // ANCHOR_END: demo
}
