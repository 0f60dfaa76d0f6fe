//! A `Vec` and a `Box` that live in a bump allocator instead of the global
//! heap, on stable Rust, through `allocator-api2`.
//!
//! `cargo run --example collections_in_arena`
use allocators::bump::BumpAllocator;
use allocators::collections::{Box, Vec};
use allocators::global::Locked;
use allocators::region::OwnedRegion;

fn main() -> Result<(), allocators::raw_allocator::AllocError> {
    // ANCHOR: main
    let arena = Locked::new(BumpAllocator::new(OwnedRegion::new(64 * 1024, 16)?));

    // The allocator is part of the type: Vec<T, A>.
    let mut squares: Vec<u64, &Locked<_>> = Vec::new_in(&arena);
    for i in 0..1000 {
        squares.push(i * i); // grows with realloc, inside the arena
    }
    let total: Box<u64, &Locked<_>> = Box::new_in(squares.iter().sum(), &arena);
    assert_eq!(*total, 332_833_500);

    let stats = arena.stats();
    println!(
        "{} allocations, {} reallocations, {} bytes live, heap {} bytes",
        stats.allocations, stats.reallocations, stats.live_bytes, stats.heap_size
    );
    // Every byte of both collections is in the arena...
    assert_eq!(stats.live_bytes, 1000_usize.next_power_of_two() * 8 + 8);
    // ...and none is wasted: the vector was always the newest block, so each
    // growth re-bumped it (see the bump allocator's `reallocate`).
    assert_eq!((stats.allocations, stats.reallocations), (2, 8));
    assert_eq!(stats.heap_size, stats.live_bytes);
    // ANCHOR_END: main
    Ok(())
}
