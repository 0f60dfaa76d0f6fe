//! Checks the exercises of the chapter "A bump allocator".

use exercises::bump::{Scratch, bump_up};
use std::alloc::Layout;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("a valid layout")
}

#[test]
fn exercise_1_bump_up() {
    // 24 bytes at offset 0, then 3, then 16 aligned to 16: padding goes
    // *below* each block when bumping up.
    let base = 0x1000;
    assert_eq!(bump_up(base, 0, 128, layout(24, 8)), Some((0, 24)));
    assert_eq!(bump_up(base, 24, 128, layout(3, 1)), Some((24, 27)));
    assert_eq!(bump_up(base, 27, 128, layout(16, 16)), Some((32, 48)));
    // Exactly full fits; one more byte does not.
    assert_eq!(bump_up(base, 48, 128, layout(80, 1)), Some((48, 128)));
    assert_eq!(bump_up(base, 48, 128, layout(81, 1)), None);
    // Near the top of the address space, the rounding overflows: None, not a wrap.
    assert_eq!(bump_up(usize::MAX - 8, 0, 64, layout(1, 16)), None);
    assert_eq!(bump_up(usize::MAX - 8, 4, 64, layout(8, 1)), None);
}

#[test]
fn exercise_2_mark_and_rewind() {
    let mut scratch = Scratch::new(256);
    scratch.alloc(16, 8).expect("room");
    let outer = scratch.mark();
    let a = scratch.alloc(32, 8).expect("room");
    let inner = scratch.mark();
    scratch.alloc(64, 16).expect("room");
    assert_eq!(scratch.used(), 112);
    // Rewinding to the inner mark frees only the block after it...
    scratch.rewind_to(inner);
    assert_eq!(scratch.used(), 48);
    // ...so the next block of the same size lands where that one was.
    assert_eq!(scratch.alloc(64, 16), Some(256 - 112));
    // Rewinding to the outer mark frees `a` too.
    scratch.rewind_to(outer);
    assert_eq!(scratch.used(), 16);
    assert_eq!(scratch.alloc(32, 8), Some(a));
    // A stale mark, below the pointer after an earlier rewind, frees nothing
    // and must not move the pointer down over free bytes.
    scratch.rewind_to(outer);
    scratch.rewind_to(inner);
    assert_eq!(scratch.used(), 16);
}
