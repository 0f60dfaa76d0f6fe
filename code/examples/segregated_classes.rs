//! Segregated free lists: size classes, which end of a free block a request
//! takes, the bitmap of non-empty classes, and resizing in place.
//!
//! `cargo run --example segregated_classes`
use allocators::heap::RegionBreak;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use allocators::segregated::{
    CLASSES, EXACT_LIMIT, QUICK_LIMIT, QUICK_MAX, SegregatedFreeList, size_class,
};
use std::alloc::Layout;

fn main() -> Result<(), AllocError> {
    // Quick lists (see "How real allocators do it") take blocks below 256
    // bytes, at most 32 of each size.
    assert_eq!((QUICK_LIMIT, QUICK_MAX), (256, 32));

    // ANCHOR: classes
    // 64 classes; the exact ones, one size each, end at 256 bytes.
    assert_eq!((CLASSES, EXACT_LIMIT), (64, 256));

    // Small blocks: one class per 16 bytes, so a class holds one size.
    assert_eq!(
        [size_class(32), size_class(48), size_class(240)],
        [0, 1, 13]
    );
    // Larger ones: four classes per power of two.
    assert_eq!(
        [size_class(256), size_class(320), size_class(512)],
        [14, 15, 18]
    );
    assert_eq!(size_class(256 + 48), size_class(256)); // both in [256, 320)

    // The last class is the exception: it takes every size from 1.25 MiB
    // (5 << 18 bytes) up, however large.
    assert_eq!(size_class((5 << 18) - 16), CLASSES - 2);
    assert_eq!(size_class(5 << 18), CLASSES - 1);
    assert_eq!(size_class(usize::MAX & !15), CLASSES - 1);
    // ANCHOR_END: classes

    // ANCHOR: carve
    let memory = RegionBreak::new(OwnedRegion::new(1 << 16, 16)?);
    let mut heap = SegregatedFreeList::plain(memory);
    let big = Layout::from_size_align(2032, 8).unwrap(); // a 2048-byte block
    let small = Layout::from_size_align(40, 8).unwrap(); // 48-byte blocks
    let large = Layout::from_size_align(500, 8).unwrap(); // 512-byte blocks
    let hole = heap.allocate(big)?;
    // A small block above the hole keeps it from merging with the top.
    let _guard = heap.allocate(small)?;
    // SAFETY: `hole` is live with `big`, freed once.
    unsafe { heap.deallocate(hole, big) };
    // The hole is now the heap's only free block: 2048 bytes, from `hole`.
    assert_eq!(heap.blocks().filter(|b| b.is_free()).count(), 1);
    // A small request takes the hole's last 48 bytes...
    let s = heap.allocate(small)?;
    assert_eq!(s.as_ptr() as usize, hole.as_ptr() as usize + 2048 - 48);
    // ...and a large one its first 512, so the free rest stays in one piece
    // between them.
    let l = heap.allocate(large)?;
    assert_eq!(l, hole);
    assert_eq!(heap.blocks().filter(|b| b.is_free()).count(), 1);
    heap.check().expect("the heap checker finds nothing wrong");
    // ANCHOR_END: carve

    // ANCHOR: bitmap
    let memory = RegionBreak::new(OwnedRegion::new(1 << 20, 16)?);
    // The plain lists: no quick lists and no wilderness (see "How real
    // allocators do it"), so that every free goes straight to its class list.
    // Carving from the high end stays on: small blocks are handed out
    // downwards, from the top of each free block.
    let mut heap = SegregatedFreeList::plain(memory);
    let small = Layout::from_size_align(40, 8).unwrap(); // 48-byte blocks
    let large = Layout::from_size_align(500, 8).unwrap(); // 512-byte blocks
    let mut blocks = (0..200)
        .map(|_| heap.allocate(small))
        .collect::<Result<Vec<_>, _>>()?;
    blocks.sort(); // by address, lowest first

    // Free every other block, so that no two free blocks touch: 99 free
    // blocks, in the small classes, whose bits the bitmap sets.
    let freed: Vec<_> = blocks[1..199].iter().step_by(2).copied().collect();
    for &ptr in &freed {
        // SAFETY: a live block of `heap`, allocated with `small`, freed once.
        unsafe { heap.deallocate(ptr, small) };
    }
    let below_512 = |heap: &SegregatedFreeList<_>| -> usize {
        (0..size_class(512))
            .map(|c| heap.class_list(c).count())
            .sum()
    };
    // At least the 99 freed blocks. A piece of free memory left over where
    // the heap grew is listed too, unless a freed neighbour absorbed it.
    let listed = below_512(&heap);
    assert!(listed >= 99);
    assert_ne!(heap.bitmap() & 1 << size_class(48), 0);
    // A 512-byte request skips those classes without looking at their
    // blocks: the bitmap says which classes above its own have blocks.
    let block = heap.allocate(large)?;
    assert_eq!(below_512(&heap), listed);
    // A 48-byte request reuses one of the freed blocks; the heap stays put.
    let size = heap.heap_size();
    assert!(freed.contains(&heap.allocate(small)?));
    assert_eq!(heap.heap_size(), size);
    // ANCHOR_END: bitmap

    // ANCHOR: realloc
    // Growing the last block of the heap extends the heap under it: the
    // block does not move, and nothing is copied.
    // SAFETY: `block` is live with layout `large`.
    let grown = unsafe { heap.reallocate(block, large, 4000) }?;
    assert_eq!(grown, block);
    // Shrinking splits the tail off as a free block, in place too.
    let grown_layout = Layout::from_size_align(4000, 8).unwrap();
    // SAFETY: `grown` is live with `grown_layout`.
    let shrunk = unsafe { heap.reallocate(grown, grown_layout, 100) }?;
    assert_eq!(shrunk, block);
    heap.check().expect("the heap checker finds nothing wrong");
    // ANCHOR_END: realloc
    println!("segregated: bitmap {:#b}", heap.bitmap());
    Ok(())
}
