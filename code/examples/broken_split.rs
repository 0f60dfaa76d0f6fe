//! "Break it": the first implicit free list with one line wrong.
//!
//! It repeats parts of `first_implicit.rs` on purpose: every first version is a whole
//! program that a reader can run, read and change on its own.
//!
//! `place` splits a free block but forgets the remainder's footer. Nothing
//! fails at once. The stale footer waits until a free reads it, and then the
//! allocator hands out a block that the program still holds.
//!
//! `cargo run -q --example broken_split > imgs/broken-split-output.txt`
//!
//! Everything except the marked line is a copy of `first_implicit.rs`.

// Deliberately repeats first_implicit.rs from here to `check`, but for the
// line marked BUG: the broken version stands alone, so a reader can run it
// and diff it against the working one.

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

    // ANCHOR: bug
    /// Allocates the front of free block `b`; splits off the rest if it
    /// is large enough to be a block of its own.
    fn place(&mut self, b: usize, asize: usize) {
        let size = self.size(b);
        if size - asize >= MIN_BLOCK {
            self.set(b, asize, true);
            // BUG: writes the remainder's header, but not its footer.
            self.words[(b + asize) / W] = size - asize;
        } else {
            self.set(b, size, true); // the rest stays inside, as padding
        }
    }
    // ANCHOR_END: bug

    // Deliberately first_implicit.rs again, as above: only `place` is broken.
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

    // ANCHOR: check
    /// The heap checker: every header matches its footer, and no two free
    /// blocks are neighbours.
    fn check(&self) -> Result<(), String> {
        let mut b = FIRST;
        let mut prev_free = false;
        while self.size(b) > 0 {
            let (size, footer) = (self.size(b), self.size(b + self.size(b) - W));
            if size != footer {
                return Err(format!(
                    "block at {b}: header says {size} bytes, footer says {footer}"
                ));
            }
            let free = !self.is_allocated(b);
            if free && prev_free {
                return Err(format!("block at {b}: two free blocks side by side"));
            }
            prev_free = free;
            b += size;
        }
        Ok(())
    }
    // ANCHOR_END: check
}

fn show(heap: &Heap) -> String {
    let blocks: Vec<String> = heap
        .blocks()
        .iter()
        .map(|&(size, used)| format!("{size} {}", if used { "used" } else { "free" }))
        .collect();
    blocks.join(" | ")
}

fn main() {
    // ANCHOR: demo
    // Four 48-byte blocks a, b, c, d fill the heap.
    let mut heap = Heap::new(FIRST + 4 * 48 + W);
    let p: Vec<usize> = (0..4).map(|_| heap.allocate(32).unwrap()).collect();
    heap.free(p[1]);
    heap.free(p[2]); // b and c merge: one free block of 96 bytes
    println!("b and c freed:    {}", show(&heap));
    let b = heap.allocate(32).unwrap(); // the broken split
    println!("b = allocate(32): {}", show(&heap));
    println!("checker:          {}", heap.check().unwrap_err());
    heap.free(p[3]); // reads the stale footer below d
    println!("d freed:          {}", show(&heap));
    let again = heap.allocate(32).unwrap();
    println!("allocate(32) returned offset {again}; b, still live, is at offset {b}");
    assert_eq!(again, b, "the same block is handed out twice");
    // ANCHOR_END: demo
}
