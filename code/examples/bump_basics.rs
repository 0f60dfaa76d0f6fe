//! The bump allocator step by step: allocate, pad for alignment, rewind,
//! waste, reset. Every claim the chapter "A bump allocator" makes about these
//! steps is an assertion here.
//!
//! `cargo run --example bump_basics`
use allocators::bump::BumpAllocator;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::alloc::Layout;

fn main() -> Result<(), AllocError> {
    // ANCHOR: allocate
    // 128 bytes, aligned to 64 so that offsets and addresses align alike.
    let mut bump = BumpAllocator::new(OwnedRegion::new(128, 64)?);
    let base = bump.bounds().start;
    let offset = |p: std::ptr::NonNull<u8>| p.as_ptr() as usize - base;

    let a = bump.allocate(Layout::from_size_align(24, 8).unwrap())?;
    let b = bump.allocate(Layout::from_size_align(3, 1).unwrap())?;
    let c_layout = Layout::from_size_align(16, 16).unwrap();
    let c = bump.allocate(c_layout)?;
    println!("a at {}, b at {}, c at {}", offset(a), offset(b), offset(c));
    assert_eq!((offset(a), offset(b), offset(c)), (104, 101, 80));
    // 24 + 3 + 16 = 43 bytes asked for, 48 used: 5 bytes of padding above c.
    assert_eq!(bump.heap_size(), 48);
    // ANCHOR_END: allocate

    // ANCHOR: free
    // SAFETY: c is the block just allocated, with this layout.
    unsafe { bump.deallocate(c, c_layout) }; // newest: the pointer rewinds
    assert_eq!(offset(bump.top()), 96); // ...to c's end: the padding stays

    // SAFETY: a is a live block of this allocator, with this layout.
    unsafe { bump.deallocate(a, Layout::from_size_align(24, 8).unwrap()) };
    assert_eq!(bump.heap_size(), 32); // not the newest: nothing happens

    bump.reset(); // everything at once
    assert_eq!(bump.heap_size(), 0);
    assert_eq!(bump.footprint(), 48); // the high-water mark remembers
    // ANCHOR_END: free

    // ANCHOR: full
    // A full region is an error value, not a crash.
    let too_big = Layout::from_size_align(129, 1).unwrap();
    assert_eq!(bump.allocate(too_big), Err(AllocError::OutOfMemory));
    let huge = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
    assert_eq!(bump.allocate(huge), Err(AllocError::OutOfMemory));
    println!("129 bytes: {}", bump.allocate(too_big).unwrap_err());
    // ANCHOR_END: full
    Ok(())
}
