//! The smallest bump allocator: one region, one pointer that moves down.
//! No trait, no statistics. The chapter "A bump allocator" starts here.
//!
//! `cargo run --example first_bump`
use std::ptr::NonNull;

// ANCHOR: bump
/// Hands out the bytes of `memory`, from the end down to the start.
struct Bump {
    memory: Vec<u8>,
    start: usize, // the address of the first byte
    end: usize,   // one past the last byte
    top: usize,   // the lowest allocated byte: everything below it is free
}

impl Bump {
    fn new(size: usize) -> Bump {
        let mut memory = vec![0u8; size];
        let start = memory.as_mut_ptr() as usize;
        let end = start + size;
        Bump {
            memory,
            start,
            end,
            top: end,
        }
    }

    /// A block of `size` bytes whose address is a multiple of `align`
    /// (a power of two), or `None` if it does not fit.
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let below = self.top.checked_sub(size)?; // subtract the size...
        let block = below & !(align - 1); // ...and round down to `align`
        if block < self.start {
            return None; // the region is full
        }
        self.top = block;
        let offset = block - self.start;
        NonNull::new(self.memory.as_mut_ptr().wrapping_add(offset))
    }
}
// ANCHOR_END: bump

fn main() {
    // ANCHOR: main
    let mut bump = Bump::new(128);
    let a = bump.alloc(24, 8).unwrap();
    let b = bump.alloc(3, 1).unwrap();
    let c = bump.alloc(16, 16).unwrap();
    let offset = |p: NonNull<u8>| p.as_ptr() as usize - bump.start;
    println!("a at {}, b at {}, c at {}", offset(a), offset(b), offset(c));
    // Each block sits right below the one before, and is aligned.
    assert_eq!(offset(b) + 3, offset(a));
    assert_eq!(c.as_ptr() as usize % 16, 0);
    // The blocks are real memory: we can write them.
    // SAFETY: `a` is 24 bytes of `bump.memory`, which is still alive.
    unsafe { a.as_ptr().write_bytes(0xAB, 24) };
    // 200 bytes do not fit in 128: the answer is `None`, not a crash.
    assert!(bump.alloc(200, 1).is_none());
    println!("used {} of 128 bytes", bump.end - bump.top);
    // ANCHOR_END: main
}
