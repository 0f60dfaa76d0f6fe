//! Edge cases that every free-list allocator must get right, written once
//! and run by `implicit.rs`, `explicit.rs` and `segregated.rs`.
//!
//! Each function takes a constructor for a fresh allocator over a bounded
//! heap, and a way to walk its blocks (each allocator has its own
//! `blocks()`).

#![allow(dead_code)]

use crate::harness::{assert_intact, filled};
use allocators::block::{ALIGN, BlockInfo, BlockKind, MIN_BLOCK, WORD};
use allocators::raw_allocator::{AllocError, RawAllocator};
use std::alloc::Layout;
use std::ptr::NonNull;

/// The region for [`splitting`]: a word of padding, blocks of 1008 and 32
/// bytes, and the epilogue.
pub const SPLIT_HEAP: usize = WORD + 1008 + 32 + WORD;

pub fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

pub fn addr(ptr: NonNull<u8>) -> usize {
    ptr.as_ptr().addr()
}

/// The blocks of a heap, without the padding and the epilogue.
pub fn real_blocks(all: impl Iterator<Item = BlockInfo>) -> Vec<BlockInfo> {
    all.filter(|b| matches!(b.kind, BlockKind::Allocated | BlockKind::Free))
        .collect()
}

/// The kinds of the blocks, as a string: `A` allocated, `F` free.
pub fn shape(blocks: &[BlockInfo]) -> String {
    blocks
        .iter()
        .map(|b| if b.is_free() { 'F' } else { 'A' })
        .collect()
}

/// Zero-size requests get a real, aligned, distinct block each.
pub fn zero_size<A: RawAllocator>(mut heap: A) {
    let a = heap.allocate(layout(0, 1)).unwrap();
    let b = heap.allocate(layout(0, 64)).unwrap();
    assert_ne!(a, b);
    assert_eq!(addr(a) % ALIGN, 0);
    assert_eq!(addr(b) % 64, 0);
    heap.check().unwrap();
    // SAFETY: both are live with these layouts.
    unsafe {
        heap.deallocate(a, layout(0, 1));
        heap.deallocate(b, layout(0, 64));
    }
    heap.check().unwrap();
}

/// Sizes that overflow are errors, and leave the heap as it was.
pub fn bad_sizes<A: RawAllocator>(mut heap: A) {
    let block = filled(&mut heap, layout(40, 8), 3);
    let before = heap.heap_size();
    // The largest size a Layout allows: its block size still fits in a
    // usize, but no heap of ours can hold it.
    assert_eq!(
        heap.allocate(layout(isize::MAX as usize, 1)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(
        heap.allocate(layout(isize::MAX as usize - 4095, 4096)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(
        heap.allocate(layout(1, 1 << 40)),
        Err(AllocError::OutOfMemory)
    );
    for new_size in [usize::MAX, usize::MAX - 7, isize::MAX as usize + 1] {
        // SAFETY: `block` is live; the call fails, so it stays live.
        let result = unsafe { heap.reallocate(block, layout(40, 8), new_size) };
        assert_eq!(result, Err(AllocError::SizeOverflow), "new size {new_size}");
    }
    // SAFETY: as above. (`isize::MAX` itself is not a valid size at
    // alignment 8: rounded up, it passes `isize::MAX`.)
    let result = unsafe { heap.reallocate(block, layout(40, 8), isize::MAX as usize - 7) };
    assert_eq!(result, Err(AllocError::OutOfMemory));
    assert_intact(block, 40, 3);
    assert_eq!(
        heap.heap_size(),
        before,
        "failed calls do not grow the heap"
    );
    heap.check().unwrap();
}

/// Every alignment from 1 byte to 4 KiB is served (the gap in front of an
/// over-aligned block becomes a free block), and freeing everything gives
/// back one free block.
pub fn alignments<A: RawAllocator>(mut heap: A, blocks: impl Fn(&A) -> Vec<BlockInfo>) {
    let mut live = Vec::new();
    for shift in 0..=12 {
        let align = 1 << shift;
        for size in [0, 1, 24, align] {
            let tag = live.len() as u8;
            let ptr = filled(&mut heap, layout(size, align), tag);
            assert_eq!(addr(ptr) % align, 0);
            heap.check().unwrap();
            live.push((ptr, layout(size, align), tag));
        }
    }
    for &(ptr, layout, tag) in &live {
        assert_intact(ptr, layout.size(), tag);
    }
    for (ptr, layout, _) in live {
        // SAFETY: each block is live with its layout, and freed once.
        unsafe { heap.deallocate(ptr, layout) };
        heap.check().unwrap();
    }
    assert_eq!(shape(&blocks(&heap)), "F", "everything coalesced");
}

/// Allocating until the heap is full fails cleanly; freeing everything
/// coalesces the heap back into one block, which serves the next request.
pub fn exhaustion<A: RawAllocator>(mut heap: A, blocks: impl Fn(&A) -> Vec<BlockInfo>) {
    let mut live = Vec::new();
    loop {
        match heap.allocate(layout(200, 8)) {
            Ok(ptr) => live.push(ptr),
            Err(error) => {
                assert_eq!(error, AllocError::OutOfMemory);
                break;
            }
        }
    }
    assert!(live.len() > 10);
    heap.check().unwrap();
    let size = heap.heap_size();
    // Free every other block, then the rest: the first pass leaves holes
    // that the second pass must merge from both sides.
    for ptr in live.iter().step_by(2) {
        // SAFETY: live with this layout, freed once.
        unsafe { heap.deallocate(*ptr, layout(200, 8)) };
    }
    heap.check().unwrap();
    for ptr in live.iter().skip(1).step_by(2) {
        // SAFETY: as above.
        unsafe { heap.deallocate(*ptr, layout(200, 8)) };
    }
    heap.check().unwrap();
    let all = blocks(&heap);
    assert_eq!(shape(&all), "F");
    let whole = all[0].size - WORD;
    let big = filled(&mut heap, layout(whole, 8), 9);
    assert_eq!(heap.heap_size(), size, "the whole heap in one block");
    assert_intact(big, whole, 9);
    heap.check().unwrap();
}

/// The four coalescing cases, seen through the block walk. Blocks are
/// allocated before a guard block, so the top of the heap stays out of it.
pub fn coalescing<A: RawAllocator>(mut heap: A, blocks: impl Fn(&A) -> Vec<BlockInfo>) {
    let l = layout(48, 8);
    let p: Vec<NonNull<u8>> = (0..7).map(|i| filled(&mut heap, l, i)).collect();
    // The seven blocks, without the free block at the top of the heap that
    // a heap growing in whole chunks has (the rest of its first chunk).
    let shape_now = |heap: &A| {
        heap.check().unwrap();
        let all = shape(&blocks(heap));
        all.strip_suffix('F').unwrap_or(&all).to_string()
    };
    assert_eq!(shape_now(&heap), "AAAAAAA");
    // SAFETY: every block is live with layout `l`, and freed once.
    unsafe {
        heap.deallocate(p[1], l); // case 1: both neighbours allocated
        assert_eq!(shape_now(&heap), "AFAAAAA");
        heap.deallocate(p[4], l);
        assert_eq!(shape_now(&heap), "AFAAFAA");
        heap.deallocate(p[3], l); // case 2: the next block is free
        assert_eq!(shape_now(&heap), "AFAFAA");
        heap.deallocate(p[5], l); // case 3: the previous block is free
        assert_eq!(shape_now(&heap), "AFAFA");
        heap.deallocate(p[2], l); // case 4: both are free
        assert_eq!(shape_now(&heap), "AFA");
    }
    let all = blocks(&heap);
    let size = all[1].size;
    assert!(size >= 5 * MIN_BLOCK, "blocks 1..=5 merged: {size}");
    // SAFETY: the rest are live.
    unsafe {
        heap.deallocate(p[0], l);
        heap.deallocate(p[6], l);
    }
    heap.check().unwrap();
    assert_eq!(shape(&blocks(&heap)), "F");
}

/// A large free block is split, and a remainder too small to be a block
/// stays in the allocated block. Give it a heap of exactly
/// [`SPLIT_HEAP`] bytes, so that no free space is left at the top for a
/// policy (next fit) to prefer.
pub fn splitting<A: RawAllocator>(mut heap: A, blocks: impl Fn(&A) -> Vec<BlockInfo>) {
    let big = filled(&mut heap, layout(1000, 8), 1);
    let guard = filled(&mut heap, layout(8, 8), 2);
    let big_size = blocks(&heap)[0].size;
    assert_eq!(shape(&blocks(&heap)), "AA", "the heap is full");
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(big, layout(1000, 8)) };
    // A small request takes one end of the free block (the front, except
    // in the segregated lists, which put small requests at the back); the
    // rest stays free.
    let small = filled(&mut heap, layout(100, 8), 3);
    let all = blocks(&heap);
    let (used, rest) = if all[0].is_allocated() {
        (all[0], all[1])
    } else {
        (all[1], all[0])
    };
    assert_eq!(addr(small), used.payload());
    assert!(used.is_allocated() && rest.is_free() && all[2].is_allocated());
    assert_eq!(used.size + rest.size, big_size);
    heap.check().unwrap();
    // SAFETY: live, freed once.
    unsafe { heap.deallocate(small, layout(100, 8)) };
    // A request that would leave less than MIN_BLOCK takes the whole block.
    let almost = big_size - WORD - (MIN_BLOCK - ALIGN);
    let whole = filled(&mut heap, layout(almost, 8), 4);
    let all = blocks(&heap);
    assert_eq!(addr(whole), all[0].payload());
    assert_eq!(all[0].size, big_size, "no splinter split off");
    assert_eq!(shape(&all[..2]), "AA");
    heap.check().unwrap();
    assert_intact(guard, 8, 2);
}

/// Header and footer damage, and a free block that claims to be allocated,
/// are all caught by the checker.
pub fn corruption_is_detected<A: RawAllocator>(make: impl Fn() -> A) {
    let l = layout(48, 8);
    // A header whose size runs past the heap.
    let mut heap = make();
    let a = filled(&mut heap, l, 1);
    filled(&mut heap, l, 2);
    heap.check().unwrap();
    // SAFETY: the header is the word below the payload, inside the heap; the
    // test writes it through a pointer derived from the block (so with the
    // heap's provenance), as a buffer underflow in a program would.
    unsafe { a.as_ptr().sub(WORD).cast::<usize>().write(1 << 40 | 1) };
    assert!(heap.check().is_err());

    // A footer that no longer matches its header.
    let mut heap = make();
    let a = filled(&mut heap, l, 1);
    let b = filled(&mut heap, l, 2);
    filled(&mut heap, l, 3);
    // SAFETY: `b` is live with `l`, and freed once.
    unsafe { heap.deallocate(b, l) };
    heap.check().unwrap();
    // The free block `b` starts right after `a`'s block; its footer is its
    // last word. Find both through the header words.
    // SAFETY: `a`'s header is below it; `b`'s block follows.
    unsafe {
        let a_header = a.as_ptr().sub(WORD).cast::<usize>();
        let a_size = a_header.read() & !(ALIGN - 1);
        let b_header = a_header.cast::<u8>().add(a_size).cast::<usize>();
        let b_size = b_header.read() & !(ALIGN - 1);
        let b_footer = b_header.cast::<u8>().add(b_size - WORD).cast::<usize>();
        b_footer.write(b_footer.read() + ALIGN);
    }
    assert_eq!(heap.check().unwrap_err().what, "footer differs from header");

    // An allocated block whose allocated bit was cleared: the next block's
    // PREV_ALLOCATED bit no longer tells the truth (and no list holds it).
    let mut heap = make();
    let a = filled(&mut heap, l, 1);
    filled(&mut heap, l, 2);
    // SAFETY: as above.
    unsafe {
        let header = a.as_ptr().sub(WORD).cast::<usize>();
        header.write(header.read() & !1);
    }
    assert!(heap.check().is_err());
}

/// Every edge case above, on fresh allocators from `heap(len)`: what the
/// implicit and explicit lists run for each of their policies. (`heap_len`
/// is the size for the cases that need no particular one.)
pub fn every_edge_case<A: RawAllocator>(
    heap: impl Fn(usize) -> A,
    blocks: impl Fn(&A) -> Vec<BlockInfo> + Copy,
    heap_len: usize,
) {
    zero_size(heap(heap_len));
    bad_sizes(heap(heap_len));
    alignments(heap(64 * 1024), blocks);
    exhaustion(heap(16 * 1024), blocks);
    coalescing(heap(heap_len), blocks);
    splitting(heap(SPLIT_HEAP), blocks);
    corruption_is_detected(|| heap(heap_len));
}

// ---- Misuse that the debug checks catch -----------------------------------
// Each function breaks `deallocate`'s contract on purpose; the tests that
// call them expect the panic of the allocators' debug-build checks.

/// Frees the same block twice ("double free").
pub fn double_free<A: RawAllocator>(mut heap: A) {
    let a = filled(&mut heap, layout(32, 8), 1);
    filled(&mut heap, layout(32, 8), 2);
    // SAFETY: deliberately wrong: the second call frees a free block.
    unsafe {
        heap.deallocate(a, layout(32, 8));
        heap.deallocate(a, layout(32, 8));
    }
}

/// Frees, in `heap`, a block of `other` ("not a payload of this heap").
pub fn foreign_block<A: RawAllocator>(mut heap: A, mut other: A) {
    filled(&mut heap, layout(32, 8), 1);
    let foreign = filled(&mut other, layout(32, 8), 1);
    // SAFETY: deliberately wrong: the block belongs to another heap.
    unsafe { heap.deallocate(foreign, layout(32, 8)) };
}

/// Frees a pointer `offset` bytes into a live block, as if it were a block
/// with layout `as_if` ("not a payload of this heap").
pub fn pointer_into_a_block<A: RawAllocator>(mut heap: A, offset: usize, as_if: Layout) {
    let a = filled(&mut heap, layout(64, 8), 1);
    // SAFETY: deliberately wrong: a pointer into the middle of a block.
    unsafe { heap.deallocate(a.add(offset), as_if) };
}
