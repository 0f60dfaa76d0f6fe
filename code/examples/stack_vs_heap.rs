//! A stack frame dies with its call; a heap block lives until it is freed,
//! and its size can be decided while the program runs.
//!
//! `cargo run --example stack_vs_heap`
use std::hint::black_box;

// ANCHOR: all
/// Returns the address of a buffer in this call's stack frame. The buffer
/// is gone as soon as the function returns: the address is all we keep.
#[inline(never)]
fn stack_buffer_address() -> usize {
    let buf = [0u8; 64]; // 64 is fixed when the program is compiled
    black_box(&buf).as_ptr() as usize
}

/// Returns a buffer whose size is only known now, and that outlives the call.
fn heap_buffer(len: usize) -> Box<[u8]> {
    vec![0u8; len].into_boxed_slice()
}

fn main() -> std::io::Result<()> {
    // Two calls from the same place get the same stack memory: the second
    // frame reuses the first, which no longer exists.
    let first = stack_buffer_address();
    let second = stack_buffer_address();
    assert_eq!(
        first, second,
        "the second frame reuses the first one's memory"
    );

    // A size the compiler cannot know: how long this file is right now.
    let len = std::fs::read_to_string("/proc/self/status")?.len();
    let a = heap_buffer(len);
    let b = heap_buffer(2 * len);
    // Both blocks are alive at once, in different places, until dropped.
    assert_eq!((a.len(), b.len()), (len, 2 * len));
    assert_ne!(a.as_ptr(), b.as_ptr(), "two live blocks never share memory");
    println!("stack buffer at {first:#x} both times");
    println!(
        "heap blocks of {} and {} bytes at {:p} and {:p}",
        a.len(),
        b.len(),
        a.as_ptr(),
        b.as_ptr()
    );
    Ok(())
}
// ANCHOR_END: all
