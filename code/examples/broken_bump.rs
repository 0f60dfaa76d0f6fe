//! Break it: the first bump allocator, but it makes each block's pointer from
//! the bare integer address. Natively it runs fine; Miri, which checks that
//! every pointer has provenance, reports the write through such a pointer.
//!
//! `cargo run --example broken_bump` (runs), and
//! `cargo +nightly miri run -q --example broken_bump` (Miri's report, in
//! `imgs/broken-bump-miri.txt`).
use std::ptr::NonNull;

/// The first bump allocator's fields, unchanged.
struct Bump {
    _memory: Vec<u8>,
    start: usize,
    top: usize,
}

impl Bump {
    fn new(size: usize) -> Bump {
        let mut memory = vec![0u8; size];
        let start = memory.as_mut_ptr() as usize;
        Bump {
            _memory: memory,
            start,
            top: start + size,
        }
    }

    // ANCHOR: alloc
    fn alloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let below = self.top.checked_sub(size)?;
        let block = below & !(align - 1);
        if block < self.start {
            return None;
        }
        self.top = block;
        // The bug: a pointer made from a bare integer has no provenance.
        NonNull::new(std::ptr::without_provenance_mut(block))
    }
    // ANCHOR_END: alloc
}

fn main() {
    let mut bump = Bump::new(128);
    let a = bump.alloc(24, 8).expect("fits");
    // SAFETY: none: `a` has the right address but no permission to use it.
    // Natively this write happens to work; it is undefined behaviour.
    unsafe { a.as_ptr().write_bytes(0xAB, 24) };
    println!(
        "wrote 24 bytes at offset {}",
        a.as_ptr() as usize - bump.start
    );
}
