//! The implicit free list: every placement policy through the shared
//! harness (heap checker after every step), the shared free-list edge cases,
//! and what makes each policy different.

use crate::free_lists;
use crate::free_lists::{addr, layout, real_blocks, shape};
use crate::harness;
use crate::harness::{HEAP, filled};
use allocators::block::{BlockInfo, WORD};
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;

type Heap = ImplicitFreeList<RegionBreak<OwnedRegion>>;

fn heap(len: usize, placement: Placement) -> Heap {
    ImplicitFreeList::new(
        RegionBreak::new(OwnedRegion::new(len, 16).unwrap()),
        placement,
    )
}

fn blocks(heap: &Heap) -> Vec<BlockInfo> {
    real_blocks(heap.blocks())
}

const POLICIES: [Placement; 3] = [Placement::FirstFit, Placement::NextFit, Placement::BestFit];

harness::passes_the_harness! {
    first_fit_passes_the_harness => heap(HEAP, Placement::FirstFit),
    next_fit_passes_the_harness => heap(HEAP, Placement::NextFit),
    best_fit_passes_the_harness => heap(HEAP, Placement::BestFit),
}

#[test]
fn edge_cases_for_every_policy() {
    for placement in POLICIES {
        free_lists::every_edge_case(|len| heap(len, placement), blocks, HEAP);
    }
}

#[test]
fn each_policy_picks_its_own_hole() {
    for placement in POLICIES {
        let mut heap = heap(HEAP, placement);
        // Holes of 144, 80 and 112 bytes (blocks), each followed by a
        // small allocated block, and the rest of the chunk free at the top.
        let sizes = [128, 64, 96];
        let mut holes = Vec::new();
        for (i, size) in sizes.into_iter().enumerate() {
            holes.push(filled(&mut heap, layout(size, 8), i as u8));
            filled(&mut heap, layout(8, 8), 10 + i as u8);
        }
        for (hole, size) in holes.iter().zip(sizes) {
            // SAFETY: live, freed once.
            unsafe { heap.deallocate(*hole, layout(size, 8)) };
        }
        assert_eq!(shape(&blocks(&heap)), "FAFAFAF");
        // A 96-byte block: too big for the middle hole.
        let got = addr(heap.allocate(layout(80, 8)).unwrap());
        match placement {
            Placement::FirstFit => assert_eq!(got, addr(holes[0]), "the first hole that fits"),
            Placement::BestFit => assert_eq!(got, addr(holes[2]), "the tightest hole"),
            // The rover is at the last block allocated, past every hole.
            Placement::NextFit => assert!(got > addr(holes[2]), "the top of the heap"),
        }
        heap.check().unwrap();
    }
}

#[test]
fn next_fit_wraps_around() {
    let mut heap = heap(16 * 1024, Placement::NextFit);
    let first = filled(&mut heap, layout(100, 8), 1);
    filled(&mut heap, layout(8, 8), 2);
    // Fill the rest of the heap so the rover sits at its end.
    while heap.allocate(layout(64, 8)).is_ok() {}
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(first, layout(100, 8)) };
    let again = heap.allocate(layout(100, 8)).unwrap();
    assert_eq!(again, first, "the search wrapped around to the start");
    heap.check().unwrap();
}

#[test]
fn the_heap_grows_only_when_nothing_fits() {
    let mut heap = heap(1 << 20, Placement::FirstFit);
    assert_eq!(
        heap.heap_size(),
        0,
        "no memory is taken before the first block"
    );
    let a = filled(&mut heap, layout(100, 8), 1);
    let size = heap.heap_size();
    assert_eq!(size, WORD + 4096 + WORD, "padding, one chunk, the epilogue");
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(a, layout(100, 8)) };
    filled(&mut heap, layout(100, 8), 1);
    assert_eq!(heap.heap_size(), size);
    // A request larger than the free top block extends it by just the
    // difference: the new block ends exactly at the epilogue.
    filled(&mut heap, layout(10_000, 8), 2);
    assert_eq!(heap.heap_size(), WORD + 112 + 10_016 + WORD);
    assert_eq!(shape(&blocks(&heap)), "AA");
    heap.check().unwrap();
}

#[test]
fn a_reserved_mapping_grows_as_it_is_used() {
    if cfg!(miri) {
        return; // mmap of this size is slow to interpret
    }
    use allocators::os::Mapping;
    let mut heap = ImplicitFreeList::new(
        RegionBreak::new(Mapping::new(64 << 20).unwrap()),
        Placement::FirstFit,
    );
    let blocks: Vec<_> = (0..1000)
        .map(|i| filled(&mut heap, layout(1000, 8), i as u8))
        .collect();
    assert!(heap.heap_size() > 1000 * 1000 && heap.heap_size() < 1100 * 1000);
    assert_eq!(heap.memory().used(), heap.heap_size());
    for block in blocks {
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(block, layout(1000, 8)) };
    }
    heap.check().unwrap();
}

#[cfg(debug_assertions)]
mod debug_checks {
    use super::*;

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_panics() {
        free_lists::double_free(heap(HEAP, Placement::FirstFit));
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_after_merging_panics() {
        let mut heap = heap(HEAP, Placement::FirstFit);
        let a = filled(&mut heap, layout(32, 8), 1);
        let b = filled(&mut heap, layout(32, 8), 2);
        filled(&mut heap, layout(32, 8), 3);
        // SAFETY: deliberately wrong: `b` merges into `a`'s free block, and
        // is then freed again.
        unsafe {
            heap.deallocate(a, layout(32, 8));
            heap.deallocate(b, layout(32, 8));
            heap.deallocate(b, layout(32, 8));
        }
    }

    #[test]
    #[should_panic(expected = "not a payload of this heap")]
    fn foreign_pointer_panics() {
        let mut heap = heap(HEAP, Placement::FirstFit);
        filled(&mut heap, layout(32, 8), 1);
        let mut local = [0u64; 8];
        let foreign = std::ptr::NonNull::from(&mut local[4]).cast::<u8>();
        // SAFETY: deliberately wrong: the pointer is not from this heap.
        unsafe { heap.deallocate(foreign, layout(8, 8)) };
    }

    #[test]
    #[should_panic(expected = "not a payload of this heap")]
    fn misaligned_pointer_panics() {
        free_lists::pointer_into_a_block(heap(HEAP, Placement::FirstFit), 8, layout(8, 8));
    }
}
