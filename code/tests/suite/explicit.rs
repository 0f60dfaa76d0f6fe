//! The explicit free list: both insertion policies through the shared
//! harness (heap checker after every step), the shared free-list edge cases,
//! and the list itself: its order, and a damaged link.

use crate::free_lists;
use crate::free_lists::{addr, layout, real_blocks};
use crate::harness;
use crate::harness::{HEAP, assert_intact, filled};
use allocators::block::{BlockInfo, WORD};
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::heap::RegionBreak;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;

type Heap = ExplicitFreeList<RegionBreak<OwnedRegion>>;

fn heap(len: usize, insertion: Insertion) -> Heap {
    ExplicitFreeList::new(
        RegionBreak::new(OwnedRegion::new(len, 16).unwrap()),
        insertion,
    )
}

fn blocks(heap: &Heap) -> Vec<BlockInfo> {
    real_blocks(heap.blocks())
}

const POLICIES: [Insertion; 2] = [Insertion::Lifo, Insertion::AddressOrdered];

harness::passes_the_harness! {
    lifo_passes_the_harness => heap(HEAP, Insertion::Lifo),
    address_ordered_passes_the_harness => heap(HEAP, Insertion::AddressOrdered),
}

#[test]
fn edge_cases_for_every_policy() {
    for insertion in POLICIES {
        free_lists::every_edge_case(|len| heap(len, insertion), blocks, HEAP);
    }
}

/// Frees three separated blocks in the order 2, 0, 1, and returns the list
/// (header addresses) and the blocks' headers.
fn freed_in_a_mixed_order(heap: &mut Heap) -> (Vec<usize>, Vec<usize>) {
    let l = layout(48, 8);
    let mut kept = Vec::new();
    let mut freed = Vec::new();
    for i in 0..3 {
        freed.push(filled(heap, l, i));
        kept.push(filled(heap, l, 10 + i));
    }
    for i in [2, 0, 1] {
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(freed[i], l) };
        heap.check().unwrap();
    }
    let headers = freed.iter().map(|&p| addr(p) - WORD).collect();
    (heap.free_list().collect(), headers)
}

#[test]
fn lifo_puts_the_newest_free_block_first() {
    let mut heap = heap(HEAP, Insertion::Lifo);
    let (list, freed) = freed_in_a_mixed_order(&mut heap);
    // Most recent first, and the rest of the heap's chunk (freed when the
    // heap grew) last.
    assert_eq!(list[..3], [freed[1], freed[0], freed[2]]);
    assert_eq!(list.len(), 4);
    // First fit along a LIFO list reuses the block freed last.
    assert_eq!(addr(heap.allocate(layout(40, 8)).unwrap()), freed[1] + WORD);
}

#[test]
fn address_order_keeps_the_list_sorted() {
    let mut heap = heap(HEAP, Insertion::AddressOrdered);
    let (list, freed) = freed_in_a_mixed_order(&mut heap);
    assert_eq!(list[..3], freed[..]);
    assert!(list.windows(2).all(|w| w[0] < w[1]));
    // First fit along an address-ordered list takes the lowest block.
    assert_eq!(addr(heap.allocate(layout(40, 8)).unwrap()), freed[0] + WORD);
    heap.check().unwrap();
}

#[test]
fn a_damaged_link_is_detected() {
    for insertion in POLICIES {
        let mut heap = heap(HEAP, insertion);
        let l = layout(48, 8);
        let a = filled(&mut heap, l, 1);
        let b = filled(&mut heap, l, 2);
        filled(&mut heap, l, 3);
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(b, l) };
        heap.check().unwrap();
        // The freed block's `next` link is the first word of its payload,
        // `b` itself: point it at `a`, an allocated block. A use after free
        // through `b` does exactly this.
        // SAFETY: the word lies in the heap; `b` carries its provenance.
        unsafe { b.cast::<*mut u8>().write(a.as_ptr().sub(WORD)) };
        let error = heap.check().unwrap_err();
        assert!(
            [
                "allocated block in a free list",
                "free block not in the free list",
                "prev link does not match"
            ]
            .contains(&error.what),
            "{insertion:?}: {error}"
        );
        // A `prev` link that points back at the block itself.
        let mut heap2 = self::heap(HEAP, insertion);
        let c = filled(&mut heap2, l, 1);
        filled(&mut heap2, l, 2);
        // SAFETY: as above.
        unsafe {
            heap2.deallocate(c, l);
            c.add(WORD).cast::<*mut u8>().write(c.as_ptr().sub(WORD));
        }
        assert!(heap2.check().is_err(), "{insertion:?}");
    }
}

#[cfg(debug_assertions)]
mod debug_checks {
    use super::*;

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_panics() {
        free_lists::double_free(heap(HEAP, Insertion::Lifo));
    }

    #[test]
    #[should_panic(expected = "not a payload of this heap")]
    fn foreign_pointer_panics() {
        let make = || heap(HEAP, Insertion::AddressOrdered);
        free_lists::foreign_block(make(), make());
    }
}

#[test]
fn reallocate_resizes_in_place_when_it_can() {
    let mut heap = heap(HEAP, Insertion::Lifo);
    let l = layout(100, 8);
    let a = filled(&mut heap, l, 1);
    let b = filled(&mut heap, layout(300, 8), 2);
    let c = filled(&mut heap, l, 3);
    // SAFETY: `b` is live, freed once; then `a` grows into b's block,
    // shrinks, and finally needs more than there is next to it.
    unsafe {
        heap.deallocate(b, layout(300, 8));
        let grown = heap.reallocate(a, l, 250).unwrap();
        assert_eq!(grown, a, "grown into the free block after it");
        assert_intact(a, 100, 1);
        heap.check().unwrap();
        let shrunk = heap.reallocate(a, layout(250, 8), 40).unwrap();
        assert_eq!(shrunk, a);
        heap.check().unwrap();
        let moved = heap.reallocate(a, layout(40, 8), 2000).unwrap();
        assert_ne!(moved, a);
        assert_intact(moved, 40, 1);
        heap.check().unwrap();
    }
    assert_intact(c, 100, 3);
}
