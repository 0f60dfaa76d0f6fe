//! Segregated free lists through the shared harness (heap checker after
//! every step) and the shared free-list edge cases, plus what is special
//! here: size classes, the bitmap, and resizing in place.

use crate::free_lists;
use crate::free_lists::{addr, layout, real_blocks, shape};
use crate::harness;
use crate::harness::{HEAP, assert_intact, filled};
use allocators::block::{ALIGN, BlockInfo, WORD};
use allocators::heap::RegionBreak;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use allocators::segregated::{CLASSES, QUICK_MAX, SegregatedFreeList, size_class};
use std::ptr::NonNull;

type Heap = SegregatedFreeList<RegionBreak<OwnedRegion>>;

fn heap(len: usize) -> Heap {
    SegregatedFreeList::new(RegionBreak::new(OwnedRegion::new(len, 16).unwrap()))
}

/// A heap without quick lists: every free coalesces at once, so the tests
/// of block layouts see the coalescing they check for.
fn immediate(len: usize) -> Heap {
    SegregatedFreeList::with_quick_lists(RegionBreak::new(OwnedRegion::new(len, 16).unwrap()), 0)
}

fn blocks(heap: &Heap) -> Vec<BlockInfo> {
    real_blocks(heap.blocks())
}

/// A heap in which the block `a` (`layout(size, 8)`) has just been freed,
/// with a live block after it: for the tests that damage a free block.
fn freed_block(size: usize) -> (Heap, NonNull<u8>) {
    let mut heap = heap(HEAP);
    let l = layout(size, 8);
    let a = filled(&mut heap, l, 1);
    filled(&mut heap, l, 2);
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(a, l) };
    (heap, a)
}

#[test]
fn passes_the_harness() {
    harness::check_random_ops(|| heap(HEAP));
}

#[test]
fn passes_the_harness_in_a_small_heap() {
    // A heap that fills up: growing in place at the top, and failing to,
    // happen often.
    harness::check_random_ops(|| heap(HEAP / 8));
}

#[test]
fn passes_the_harness_without_quick_lists() {
    harness::check_random_ops(|| immediate(HEAP / 8));
}

#[test]
fn edge_cases() {
    free_lists::zero_size(heap(HEAP));
    free_lists::bad_sizes(heap(HEAP));
    free_lists::alignments(immediate(64 * 1024), blocks);
    free_lists::exhaustion(immediate(16 * 1024), blocks);
    free_lists::coalescing(immediate(HEAP), blocks);
    free_lists::splitting(immediate(free_lists::SPLIT_HEAP), blocks);
    free_lists::corruption_is_detected(|| immediate(HEAP));
}

#[test]
fn free_blocks_go_to_their_class_and_the_bitmap_follows() {
    let mut heap = immediate(HEAP);
    let l = layout(100, 8); // a 112-byte block
    let a = filled(&mut heap, l, 1);
    filled(&mut heap, l, 2);
    // A small heap grows by exactly what is asked for: nothing is free.
    assert_eq!(shape(&blocks(&heap)), "AA");
    assert_eq!(heap.bitmap(), 0);
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(a, l) };
    let class = size_class(112);
    assert_eq!(heap.class_list(class).collect::<Vec<_>>(), [addr(a) - WORD]);
    assert_eq!(heap.bitmap(), 1 << class);
    heap.check().unwrap();
    // The same size comes straight back from its class.
    let again = heap.allocate(l).unwrap();
    assert_eq!(again, a);
    assert_eq!(heap.bitmap(), 0);
    assert_eq!(heap.class_list(CLASSES).count(), 0);
}

#[test]
fn small_frees_wait_on_quick_lists_until_the_heap_would_grow() {
    let mut heap = heap(HEAP);
    let l = layout(40, 8); // a 48-byte block: a quick size
    let a = filled(&mut heap, l, 1);
    let b = filled(&mut heap, l, 2);
    filled(&mut heap, l, 3);
    // SAFETY: live, freed once each.
    unsafe {
        heap.deallocate(a, l);
        heap.deallocate(b, l);
    }
    // Not coalesced: both still look allocated, and wait on a quick list.
    assert_eq!(shape(&blocks(&heap)), "AAA");
    assert_eq!(heap.quick_blocks(), 2);
    assert_eq!(heap.bitmap(), 0);
    heap.check().unwrap();
    // The same size comes straight back, last freed first.
    assert_eq!(heap.allocate(l).unwrap(), b);
    assert_eq!(heap.quick_blocks(), 1);
    heap.check().unwrap();
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(b, l) };
    // A request that nothing free can serve consolidates before the heap
    // grows: a and b merge into one 96-byte block, which serves it.
    let size = heap.heap_size();
    let c = heap.allocate(layout(80, 8)).unwrap();
    assert_eq!((c, heap.heap_size(), heap.quick_blocks()), (a, size, 0));
    heap.check().unwrap();
}

#[test]
fn a_damaged_quick_list_is_detected() {
    let (heap, a) = freed_block(40);
    // SAFETY: `a` is a free block; its link is pointed back at itself, as a
    // write after free might.
    unsafe { a.as_ptr().cast::<usize>().write(addr(a) - WORD) };
    assert!(heap.check().is_err());
}

#[test]
fn a_larger_class_is_found_through_the_bitmap_and_split() {
    let mut heap = heap(HEAP);
    let big = filled(&mut heap, layout(2000, 8), 1);
    filled(&mut heap, layout(8, 8), 2);
    let big_size = blocks(&heap)[0].size;
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(big, layout(2000, 8)) };
    // 40 bytes (a 48-byte block): its own class is empty, so the search
    // takes the lowest non-empty class above, the 2 KiB block, and splits
    // it. A small request takes the high end; the rest stays where it was.
    let small = heap.allocate(layout(40, 8)).unwrap();
    assert_eq!(addr(small), addr(big) + big_size - 48);
    let all = blocks(&heap);
    assert_eq!(shape(&all), "FAA");
    assert_eq!((all[0].size, all[1].size), (big_size - 48, 48));
    assert_eq!(
        heap.class_list(size_class(all[0].size)).next(),
        Some(all[0].addr)
    );
    heap.check().unwrap();
    // A large request (256 bytes or more) takes the low end.
    let large = heap.allocate(layout(500, 8)).unwrap();
    assert_eq!(large, big);
    assert_eq!(shape(&blocks(&heap)), "AFAA");
    heap.check().unwrap();
}

#[test]
fn small_and_large_blocks_carved_from_one_free_block_stay_apart() {
    // Alternate small and large requests out of one free block, free the
    // small ones: their holes merge into one.
    let mut heap = heap(HEAP);
    let room = filled(&mut heap, layout(8000, 8), 0);
    filled(&mut heap, layout(8, 8), 1);
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(room, layout(8000, 8)) };
    let mut small = Vec::new();
    for i in 0..5 {
        small.push(filled(&mut heap, layout(48, 8), 10 + i));
        filled(&mut heap, layout(400, 8), 20 + i);
    }
    for &p in &small {
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(p, layout(48, 8)) };
    }
    heap.check().unwrap();
    let free: Vec<usize> = blocks(&heap)
        .iter()
        .filter(|b| b.is_free())
        .map(|b| b.size)
        .collect();
    // The small blocks sat together at the high end, the large ones at the
    // low end, with the unused middle between them: all of it is one free
    // block now, not five 64-byte holes between large blocks.
    assert_eq!(free.len(), 1, "the small holes merged: {free:?}");
    assert!(free[0] >= 5 * 64);
}

#[test]
fn freeing_the_top_block_makes_it_the_wilderness_and_loses_nothing() {
    // Small requests take the high end of a free block, so the first one
    // ends the heap, with the others below it.
    let mut heap = heap(HEAP);
    let mut small: Vec<_> = (0..=QUICK_MAX)
        .map(|i| filled(&mut heap, layout(40, 8), i as u8))
        .collect();
    small.sort(); // by address
    let top = small.pop().unwrap();
    assert_eq!(blocks(&heap).last().map(|b| b.is_free()), Some(false));
    // Fill the quick list, so that the next free of this size coalesces.
    for &p in &small {
        // SAFETY: live, freed once.
        unsafe { heap.deallocate(p, layout(40, 8)) };
    }
    // The block below the top one is allocated (it waits on a quick list),
    // and the heap has no wilderness: the freed top block becomes it.
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(top, layout(40, 8)) };
    heap.check().unwrap();
    let last = *blocks(&heap).last().unwrap();
    assert!(last.is_free());
    assert_eq!(last.addr, addr(top) - WORD);
    // A large request that nothing fits first empties the quick lists,
    // whose blocks merge into the wilderness, then grows the heap under it:
    // the wilderness serves it from its low end, at or below the old top.
    let big = filled(&mut heap, layout(HEAP / 4, 8), 99);
    assert!(addr(big) <= addr(top));
    assert_eq!(heap.quick_blocks(), 0);
    heap.check().unwrap();
}

#[test]
fn reallocate_shrinks_in_place() {
    let mut heap = heap(HEAP);
    let a = filled(&mut heap, layout(1000, 8), 1);
    let b = filled(&mut heap, layout(100, 8), 2);
    // SAFETY: `a` is live with this layout.
    let shrunk = unsafe { heap.reallocate(a, layout(1000, 8), 200) }.unwrap();
    assert_eq!(shrunk, a);
    assert_intact(a, 200, 1);
    let all = blocks(&heap);
    assert_eq!(shape(&all), "AFA", "the tail became a free block");
    assert_eq!(all[0].size, 208);
    // Shrinking by less than a block keeps the block as it is.
    // SAFETY: `a` is live with its new layout.
    let same = unsafe { heap.reallocate(a, layout(200, 8), 180) }.unwrap();
    assert_eq!(same, a);
    assert_eq!(blocks(&heap)[0].size, 208);
    heap.check().unwrap();
    assert_intact(b, 100, 2);
}

#[test]
fn reallocate_grows_into_the_next_free_block() {
    let mut heap = heap(HEAP);
    let a = filled(&mut heap, layout(100, 8), 1);
    let b = filled(&mut heap, layout(300, 8), 2);
    let c = filled(&mut heap, layout(100, 8), 3);
    // SAFETY: `b` is live, freed once.
    unsafe { heap.deallocate(b, layout(300, 8)) };
    // SAFETY: `a` is live with this layout.
    let grown = unsafe { heap.reallocate(a, layout(100, 8), 250) }.unwrap();
    assert_eq!(grown, a, "grown in place into b's old block");
    assert_intact(a, 100, 1);
    assert_eq!(
        shape(&blocks(&heap)),
        "AFA",
        "the rest of b's block is still free"
    );
    heap.check().unwrap();
    // Taking all of it, and more than it has: then it must move.
    // SAFETY: `a` is live with its new layout.
    let moved = unsafe { heap.reallocate(a, layout(250, 8), 600) }.unwrap();
    assert_ne!(moved, a);
    assert_intact(moved, 100, 1);
    assert_intact(c, 100, 3);
    heap.check().unwrap();
}

#[test]
fn reallocate_grows_the_heap_under_the_last_block() {
    let mut heap = heap(1 << 20);
    filled(&mut heap, layout(100, 8), 1);
    let last = filled(&mut heap, layout(1000, 8), 2);
    let size = heap.heap_size();
    // Far more than the free top block holds: the heap grows under `last`.
    // SAFETY: `last` is live with this layout.
    let grown = unsafe { heap.reallocate(last, layout(1000, 8), 50_000) }.unwrap();
    assert_eq!(grown, last, "grown in place");
    assert_intact(last, 1000, 2);
    assert!(
        heap.heap_size() > size && heap.heap_size() < size + 50_000,
        "{}",
        heap.heap_size()
    );
    heap.check().unwrap();
    // And once more, now that it is the last block with nothing after it.
    // SAFETY: `grown` is live with its new layout.
    let again = unsafe { heap.reallocate(grown, layout(50_000, 8), 100_000) }.unwrap();
    assert_eq!(again, last);
    heap.check().unwrap();
    // Past the end of the region: it cannot move either, so it fails and
    // stays.
    // SAFETY: as above.
    let result = unsafe { heap.reallocate(again, layout(100_000, 8), 2 << 20) };
    assert!(result.is_err());
    assert_intact(last, 1000, 2);
    heap.check().unwrap();
}

#[test]
fn reallocate_keeps_a_large_alignment() {
    let mut heap = heap(HEAP);
    let a = filled(&mut heap, layout(100, 4096), 1);
    // SAFETY: live with this layout.
    let grown = unsafe { heap.reallocate(a, layout(100, 4096), 5000) }.unwrap();
    assert_eq!(addr(grown) % 4096, 0);
    assert_intact(grown, 100, 1);
    heap.check().unwrap();
}

#[test]
fn a_damaged_bitmap_or_class_is_detected() {
    let (heap, a) = freed_block(100);
    // SAFETY: `a` is a free block. Its header is rewritten with a size from
    // another class (footer to match), as a stray write might.
    unsafe {
        let header = a.as_ptr().sub(WORD).cast::<usize>();
        let word = header.read();
        let smaller = (word & !(ALIGN - 1)) - ALIGN;
        let new = smaller | (word & (ALIGN - 1));
        header.write(new);
        a.as_ptr()
            .add(smaller - 2 * WORD)
            .cast::<usize>()
            .write(new);
    }
    // The 16 bytes left over are not a block; the walk finds that first, or
    // the class check does.
    assert!(heap.check().is_err());
}

#[cfg(debug_assertions)]
mod debug_checks {
    use super::*;

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_panics() {
        free_lists::double_free(heap(HEAP));
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn reallocating_a_freed_block_panics() {
        let mut heap = heap(HEAP);
        let a = filled(&mut heap, layout(32, 8), 1);
        filled(&mut heap, layout(32, 8), 2);
        // SAFETY: deliberately wrong: `a` is no longer live.
        unsafe {
            heap.deallocate(a, layout(32, 8));
            let _ = heap.reallocate(a, layout(32, 8), 64);
        }
    }

    #[test]
    #[should_panic(expected = "not a payload of this heap")]
    fn misaligned_pointer_panics() {
        free_lists::pointer_into_a_block(heap(HEAP), 4, layout(8, 1));
    }
}
