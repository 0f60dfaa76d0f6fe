//! Is `Mine` correct? The book's own property harness runs random programs
//! (allocate, free, resize, odd sizes and alignments) against it, through
//! `allocators::checked::Checked`, which checks every call and runs `Mine`'s
//! heap checker after each one. A failure prints the smallest program that
//! breaks it.
//!
//! `cargo test -p exercises --test mine`; under Miri, which also catches
//! undefined behaviour: `cargo +nightly miri test -p exercises --test mine`
//! (or `cargo check-mine`, which runs both).

#[path = "../../tests/suite/harness/mod.rs"]
mod harness;

use allocators::heap::RegionBreak;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use exercises::mine::Mine;
use std::alloc::Layout;

fn mine() -> Mine<RegionBreak<OwnedRegion>> {
    Mine::new(RegionBreak::new(
        OwnedRegion::new(harness::HEAP, 16).expect("a test heap"),
    ))
}

#[test]
fn mine_passes_the_harness() {
    harness::check_random_ops(mine);
}

#[test]
fn mine_hands_out_aligned_distinct_blocks() {
    let mut a = mine();
    let l = Layout::from_size_align(24, 8).expect("a valid layout");
    let p = a.allocate(l).expect("room");
    let q = a.allocate(l).expect("room");
    assert_ne!(p, q);
    assert_eq!(p.as_ptr() as usize % 8, 0);
    // SAFETY: live blocks with this layout.
    unsafe {
        a.deallocate(p, l);
        a.deallocate(q, l);
    }
    assert_eq!(a.check(), Ok(()));
}
