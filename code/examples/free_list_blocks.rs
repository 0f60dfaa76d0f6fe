//! The free-list block format at work: block sizes, a split, and the four
//! cases of coalescing, read back from a real heap with `blocks()`. Every
//! claim the free-list chapter makes about these steps is an assertion here.
//!
//! `cargo run --example free_list_blocks`
use allocators::block::{BlockKind, MIN_BLOCK, WORD, block_size};
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::alloc::Layout;

/// The heap as (kind, size) pairs, blocks only.
fn shape<M>(heap: &ImplicitFreeList<M>) -> Vec<(BlockKind, usize)> {
    heap.blocks()
        .filter(|b| matches!(b.kind, BlockKind::Allocated | BlockKind::Free))
        .map(|b| (b.kind, b.size))
        .collect()
}

fn main() -> Result<(), AllocError> {
    // ANCHOR: sizes
    // A block is the payload plus a one-word header, rounded up to 16 bytes,
    // and never smaller than MIN_BLOCK (room for two links and a footer).
    assert_eq!((WORD, MIN_BLOCK), (8, 32));
    assert_eq!(block_size(1), Some(32)); // 1 byte asked, 32 used
    assert_eq!(block_size(24), Some(32)); // 24 + 8 = 32 exactly
    assert_eq!(block_size(25), Some(48)); // one byte more: 15 bytes of padding
    assert_eq!(block_size(100), Some(112));
    assert_eq!(block_size(usize::MAX), None); // overflow is a value, not a wrap

    // ANCHOR_END: sizes

    // ANCHOR: coalesce
    use BlockKind::{Allocated as A, Free as F};
    let memory = RegionBreak::new(OwnedRegion::new(64 * 1024, 16)?);
    let mut heap = ImplicitFreeList::new(memory, Placement::FirstFit);
    let l = Layout::from_size_align(40, 8).unwrap(); // a 48-byte block
    let blocks: Vec<_> = (0..6).map(|_| heap.allocate(l)).collect::<Result<_, _>>()?;
    let [a, b, c, d, e, _f] = blocks[..] else {
        unreachable!()
    };
    assert_eq!(shape(&heap)[..6], [(A, 48); 6]);
    // SAFETY: each pointer is a live block of `heap`, allocated with `l`,
    // and freed once.
    unsafe {
        heap.deallocate(b, l); // case 1: a and c allocated, no merge
        assert_eq!(shape(&heap)[..3], [(A, 48), (F, 48), (A, 48)]);
        heap.deallocate(c, l); // case 3: merges with b, the free block below
        assert_eq!(shape(&heap)[..3], [(A, 48), (F, 96), (A, 48)]);
        heap.deallocate(e, l); // case 1 again
        heap.deallocate(d, l); // case 4: merges with both neighbours
        assert_eq!(shape(&heap)[..3], [(A, 48), (F, 192), (A, 48)]);
        heap.deallocate(a, l); // case 2: merges with the free block above
    }
    assert_eq!(shape(&heap)[..2], [(F, 240), (A, 48)]);
    // ANCHOR_END: coalesce

    // ANCHOR: split
    // First fit takes the 240-byte free block for a 48-byte request, and
    // splits it: the 192 bytes behind the new block stay free.
    let x = heap.allocate(l)?;
    assert_eq!(x, a); // the same address a had
    assert_eq!(shape(&heap)[..3], [(A, 48), (F, 192), (A, 48)]);
    // A remainder smaller than MIN_BLOCK is not split off: it stays in the
    // block as padding. 192 - 176 = 16 bytes would be too small.
    let big = Layout::from_size_align(168, 8).unwrap(); // a 176-byte block
    heap.allocate(big)?;
    assert_eq!(shape(&heap)[..3], [(A, 48), (A, 192), (A, 48)]);
    heap.check().expect("the heap checker finds nothing wrong");
    // ANCHOR_END: split
    println!("split and coalesced: {:?}", shape(&heap));
    Ok(())
}
