//! The explicit free list: what a search walks, and where freed blocks go.
//!
//! `cargo run --example explicit_lists`
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::alloc::Layout;

fn main() -> Result<(), AllocError> {
    let region = || OwnedRegion::new(1 << 20, 16).map(RegionBreak::new);

    // ANCHOR: walk
    // 40 bytes: with the 8-byte header, each block is 48 bytes.
    let l = Layout::from_size_align(40, 8).unwrap();
    // 1,000 blocks, and every tenth one freed: 100 free blocks among 1,000.
    let mut implicit = ImplicitFreeList::new(region()?, Placement::FirstFit);
    let mut explicit = ExplicitFreeList::new(region()?, Insertion::Lifo);
    for heap in [&mut implicit as &mut dyn RawAllocator, &mut explicit] {
        let blocks: Vec<_> = (0..1000)
            .map(|_| heap.allocate(l))
            .collect::<Result<_, _>>()?;
        for &ptr in blocks.iter().step_by(10) {
            // SAFETY: a live block of `heap`, allocated with `l`, freed once.
            unsafe { heap.deallocate(ptr, l) };
        }
    }
    // A search that finds no fit visits every block of the implicit list,
    // allocated or free, but only the free blocks of the explicit one. (The
    // walk also reports the padding at the heap's start and the epilogue,
    // which are not blocks: the filter drops them.)
    let every_block = implicit
        .blocks()
        .filter(|b| b.is_allocated() || b.is_free())
        .count();
    let free_blocks = explicit.free_list().count();
    println!("implicit walks {every_block} blocks, explicit walks {free_blocks}");
    // Our 1,000 blocks and the free space at the top of the heap; 100 holes
    // and that free space.
    assert_eq!((every_block, free_blocks), (1001, 101));
    // ANCHOR_END: walk

    // ANCHOR: order
    // Seven blocks; free d, then b, then f. g stays allocated, so f has no
    // free neighbour, and none of the three merges with another.
    for insertion in [Insertion::Lifo, Insertion::AddressOrdered] {
        let mut heap = ExplicitFreeList::new(region()?, insertion);
        let p: Vec<_> = (0..7).map(|_| heap.allocate(l)).collect::<Result<_, _>>()?;
        for i in [3, 1, 5] {
            // SAFETY: a live block of `heap`, allocated with `l`, freed once.
            unsafe { heap.deallocate(p[i], l) };
        }
        // The list, as block names (a free block's header is one word
        // below the payload pointer the program had).
        let name = |header: usize| match p.iter().position(|q| q.as_ptr() as usize == header + 8) {
            Some(i) => ["a", "b", "c", "d", "e", "f", "g"][i],
            None => "top",
        };
        let order: Vec<&str> = heap.free_list().map(name).collect();
        println!("{insertion:?}: {order:?}");
        match insertion {
            Insertion::Lifo => assert_eq!(order[..3], ["f", "b", "d"]),
            Insertion::AddressOrdered => assert_eq!(order[..3], ["b", "d", "f"]),
        }
        // LIFO reuses the block freed last; address order the lowest one.
        let reused = heap.allocate(l)?;
        let expect = if insertion == Insertion::Lifo {
            p[5]
        } else {
            p[1]
        };
        assert_eq!(reused, expect);
        heap.check().expect("the heap checker finds nothing wrong");
    }
    // ANCHOR_END: order
    Ok(())
}
