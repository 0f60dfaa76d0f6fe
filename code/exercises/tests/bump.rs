//! Checks the exercises of the chapter "A bump allocator".

use exercises::bump::bump_up;
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
