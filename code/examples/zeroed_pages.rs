//! `alloc_zeroed` can be free: fresh pages from the kernel are already zero.
//!
//! `cargo run --example zeroed_pages`
use std::alloc::{Layout, alloc, alloc_zeroed, dealloc};

/// Resident memory of this process in bytes (the second field of
/// /proc/self/statm, in pages).
fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux has /proc");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm");
    // SAFETY: sysconf only reads a constant.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

fn main() {
    // ANCHOR: main
    const SIZE: usize = 64 << 20; // 64 MiB: glibc serves it with mmap
    let layout = Layout::from_size_align(SIZE, 16).expect("a valid layout");

    let before = resident();
    // SAFETY: the size is not zero.
    let zeroed = unsafe { alloc_zeroed(layout) };
    assert!(!zeroed.is_null());
    let after_zeroed = resident();
    // SAFETY: sysconf only reads a constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: the block is valid for SIZE bytes; we read one byte per page.
    let all_zero = (0..SIZE)
        .step_by(page)
        .all(|i| unsafe { *zeroed.add(i) } == 0);
    assert!(all_zero);

    // The same size, zeroed by hand: every page gets written.
    // SAFETY: the size is not zero.
    let by_hand = unsafe { alloc(layout) };
    assert!(!by_hand.is_null());
    // The optimizer may merge alloc and zeroing into alloc_zeroed, or drop
    // zeroing that nothing reads: `black_box` hides the value written from
    // it, and says that the bytes are used.
    let zero = std::hint::black_box(0);
    // SAFETY: the block is valid for SIZE bytes.
    unsafe { by_hand.write_bytes(zero, SIZE) };
    std::hint::black_box(by_hand);
    let after_by_hand = resident();

    let mib = |bytes: usize| bytes >> 20;
    println!(
        "alloc_zeroed: +{} MiB resident",
        mib(after_zeroed.saturating_sub(before))
    );
    println!(
        "alloc + write_bytes(0): +{} MiB resident",
        mib(after_by_hand.saturating_sub(after_zeroed))
    );
    // calloc on fresh mmap'd pages writes nothing: reading them maps the
    // kernel's shared zero page, so they take (almost) no memory...
    assert!(after_zeroed - before < SIZE / 8);
    // ...while zeroing by hand makes every page resident.
    assert!(after_by_hand - after_zeroed > SIZE / 2);
    // SAFETY: both blocks came from the global allocator with `layout`.
    unsafe {
        dealloc(zeroed, layout);
        dealloc(by_hand, layout);
    }
    // ANCHOR_END: main
}
