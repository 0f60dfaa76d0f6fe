//! The first implicit free list: CS:APP's plain design, in one page.
//!
//! Every block has a header *and* a footer (boundary tags), the search is
//! first fit, a block that is too large is split, and a free coalesces at
//! once with its free neighbours (the four cases). The heap is a vector of
//! 8-byte words, and blocks are named by byte offsets into it, so the whole
//! program is safe Rust: no pointers yet.
//!
//! `cargo run --example first_implicit`

// first_explicit.rs, first_segregated.rs and broken_split.rs deliberately
// repeat parts of this file: each first-version example stands alone for the
// reader.

// ANCHOR: format
/// One word: a header or a footer.
const W: usize = 8;
/// The smallest block: header, 16 bytes of payload, footer.
const MIN_BLOCK: usize = 32;
/// Where the first real block starts: one word of padding, then a
/// prologue block (a header and a footer, always allocated).
const FIRST: usize = 3 * W;

/// A heap of words. Blocks are named by the byte offset of their header.
struct Heap {
    words: Vec<usize>,
}

impl Heap {
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
}
// ANCHOR_END: format

// ANCHOR: new
impl Heap {
    /// A heap of `bytes` (a multiple of 16): the prologue, one free block,
    /// and the epilogue, a lone header of size 0 marked allocated.
    fn new(bytes: usize) -> Heap {
        let mut heap = Heap {
            words: vec![0; bytes / W],
        };
        heap.set(W, 2 * W, true); // the prologue
        heap.set(FIRST, bytes - FIRST - W, false);
        heap.words[bytes / W - 1] = 1; // the epilogue: size 0, allocated
        heap
    }
}
// ANCHOR_END: new

impl Heap {
    // ANCHOR: allocate
    /// First fit: returns the offset of a payload of at least `size` bytes.
    fn allocate(&mut self, size: usize) -> Option<usize> {
        // Header + payload + footer, rounded up to 16 bytes.
        let asize = (size.checked_add(2 * W + 15)? & !15).max(MIN_BLOCK);
        let b = self.find_fit(asize)?;
        self.place(b, asize);
        Some(b + W) // the payload starts after the header
    }

    /// Walks every block, allocated or free, from the first to the epilogue.
    fn find_fit(&self, asize: usize) -> Option<usize> {
        let mut b = FIRST;
        while self.size(b) > 0 {
            if !self.is_allocated(b) && self.size(b) >= asize {
                return Some(b);
            }
            b += self.size(b); // the next block starts `size` bytes on
        }
        None // reached the epilogue
    }

    /// Allocates the front of free block `b`; splits off the rest if it
    /// is large enough to be a block of its own.
    fn place(&mut self, b: usize, asize: usize) {
        let size = self.size(b);
        if size - asize >= MIN_BLOCK {
            self.set(b, asize, true);
            self.set(b + asize, size - asize, false);
        } else {
            self.set(b, size, true); // the rest stays inside, as padding
        }
    }
    // ANCHOR_END: allocate

    // ANCHOR: free
    fn free(&mut self, payload: usize) {
        let b = payload - W;
        self.set(b, self.size(b), false);
        self.coalesce(b);
    }

    /// Merges free block `b` with its free neighbours: the four cases.
    fn coalesce(&mut self, b: usize) -> usize {
        let size = self.size(b);
        let next = b + size; // found through our header
        let prev = b - self.size(b - W); // found through its footer
        let prev_free = !self.is_allocated(b - W);
        let next_free = !self.is_allocated(next);
        match (prev_free, next_free) {
            (false, false) => b, // case 1: nothing to merge
            (false, true) => {
                // case 2: absorb the next block
                self.set(b, size + self.size(next), false);
                b
            }
            (true, false) => {
                // case 3: the previous block absorbs us
                self.set(prev, self.size(prev) + size, false);
                prev
            }
            (true, true) => {
                // case 4: all three become one
                let merged = self.size(prev) + size + self.size(next);
                self.set(prev, merged, false);
                prev
            }
        }
    }
    // ANCHOR_END: free

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
    // Room for six 48-byte blocks (32-byte payloads), and nothing more.
    let mut heap = Heap::new(FIRST + 6 * 48 + W);
    let p: Vec<usize> = (0..6).map(|_| heap.allocate(32).unwrap()).collect();
    assert_eq!(heap.allocate(1), None, "the heap is full");
    let used = (48, true); // an allocated 48-byte block
    let free = |size| (size, false);

    heap.free(p[1]); // case 1: a and c are allocated
    assert_eq!(heap.blocks(), [used, free(48), used, used, used, used]);
    heap.free(p[2]); // case 3: b, before c, is free
    assert_eq!(heap.blocks(), [used, free(96), used, used, used]);
    heap.free(p[4]); // case 1 again
    assert_eq!(heap.blocks(), [used, free(96), used, free(48), used]);
    heap.free(p[3]); // case 4: both neighbours are free
    assert_eq!(heap.blocks(), [used, free(192), used]);
    heap.free(p[0]); // case 2: the block after a is free
    assert_eq!(heap.blocks(), [free(240), used]);

    // The merged block serves a request none of the pieces could, and
    // the split leaves the rest free.
    let big = heap.allocate(150).unwrap();
    assert_eq!(big, p[0]);
    assert_eq!(heap.blocks(), [(176, true), free(64), used]);
    println!("{:?}", heap.blocks());
    // ANCHOR_END: demo
}
