//! Checks the exercises of the chapter "Arenas".

use allocators::raw_allocator::AllocError;
use exercises::arena::SliceArena;

#[test]
fn exercise_1_alloc_slice_copy() {
    let arena = SliceArena::new(256).expect("memory for the test");
    let words = arena.alloc_slice_copy(&[1u32, 2, 3]).expect("room");
    let bytes = arena.alloc_slice_copy(b"hello").expect("room");
    let wide = arena.alloc_slice_copy(&[7u64; 4]).expect("room");
    // All three are usable at once, and are copies.
    words[0] = 10;
    bytes[0] = b'j';
    assert_eq!(words, &[10, 2, 3]);
    assert_eq!(bytes, b"jello");
    assert_eq!(wide, &[7; 4]);
    assert_eq!(wide.as_ptr() as usize % 8, 0, "aligned for u64");
    // 12 + 5 bytes, then 32 aligned to 8: at least 49 bytes used.
    assert!(arena.used() >= 49 && arena.used() <= 56);
    // An empty slice is fine, and too much is an error, not a panic.
    assert!(arena.alloc_slice_copy::<u8>(&[]).expect("room").is_empty());
    assert_eq!(
        arena.alloc_slice_copy(&[0u8; 300]).unwrap_err(),
        AllocError::OutOfMemory
    );
}
