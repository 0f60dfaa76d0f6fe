//! The bump allocators through the shared harness, plus the edge cases the
//! chapter talks about: huge sizes, every alignment, rewinding, resetting,
//! growing chunks, the arena on top, and the global-allocator adapter.

use crate::harness;
use crate::harness::{HEAP, assert_intact, filled};
use allocators::arena::Arena;
use allocators::bump::BumpAllocator;
use allocators::global::Locked;
use allocators::growing_bump::GrowingBump;
use allocators::os::{Mapping, page_size};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::{Buffer, OwnedRegion};
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn owned_bump(len: usize) -> BumpAllocator<OwnedRegion> {
    BumpAllocator::new(OwnedRegion::new(len, 4096).unwrap())
}

fn addr(ptr: NonNull<u8>) -> usize {
    ptr.as_ptr().addr()
}

// ---- The shared properties -------------------------------------------------

#[test]
fn bump_over_an_owned_region_passes_the_harness() {
    harness::check_random_ops(|| owned_bump(HEAP));
}

#[test]
fn bump_over_a_mapping_passes_the_harness() {
    harness::check_random_ops(|| BumpAllocator::new(Mapping::new(HEAP).unwrap()));
}

#[test]
fn growing_bump_passes_the_harness() {
    // Small chunks so programs cross chunk boundaries, and a limit so that
    // huge requests fail instead of mapping terabytes.
    harness::check_random_ops(|| GrowingBump::with_limits(page_size(), 4 * HEAP));
}

#[test]
fn bump_over_a_borrowed_buffer_passes_the_harness() {
    // A Buffer borrows, so a closure cannot return a fresh one; replay
    // a few fixed programs instead, each on its own stack buffer.
    use harness::Op::*;
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..if cfg!(miri) { 2 } else { 32 } {
        let program = harness::program().new_tree(&mut runner).unwrap().current();
        let mut memory = [0u8; 8192];
        let mut bump = BumpAllocator::new(Buffer::new(&mut memory));
        harness::replay(&mut bump, &program).unwrap();
    }
    let mut memory = [0u8; 64];
    let mut bump = BumpAllocator::new(Buffer::new(&mut memory));
    let program = [Alloc { size: 64, align: 1 }, Alloc { size: 1, align: 1 }];
    harness::replay(&mut bump, &program).unwrap();
    assert_eq!(
        bump.heap_size(),
        0,
        "the harness frees what it allocated, newest first"
    );
}

// ---- Sizes and alignments --------------------------------------------------

#[test]
fn sizes_near_the_top_of_the_address_space_fail_cleanly() {
    let mut bump = owned_bump(4096);
    let small = filled(&mut bump, layout(16, 8), 1);
    for size in [
        isize::MAX as usize,
        isize::MAX as usize - 4095,
        1 << 40,
        4097,
    ] {
        assert_eq!(
            bump.allocate(layout(size, 1)),
            Err(AllocError::OutOfMemory),
            "size {size}"
        );
    }
    // A size that rounds past isize::MAX cannot even become a Layout, and a
    // reallocation to it says so.
    for new_size in [usize::MAX, usize::MAX - 7, isize::MAX as usize] {
        // SAFETY: `small` is live with this layout; the call fails, so it stays.
        let result = unsafe { bump.reallocate(small, layout(16, 8), new_size) };
        assert_eq!(result, Err(AllocError::SizeOverflow), "new size {new_size}");
    }
    // `small` is the newest block, so it may grow over its own bytes to fill
    // the whole region, but not one byte more.
    // SAFETY: as above.
    let result = unsafe { bump.reallocate(small, layout(16, 8), 4097) };
    assert_eq!(result, Err(AllocError::OutOfMemory));
    assert_intact(small, 16, 1);
    bump.check().unwrap();
}

#[test]
fn every_alignment_from_one_byte_to_sixteen_pages() {
    let page = page_size();
    let mut bump = BumpAllocator::new(OwnedRegion::new(64 * page, 16 * page).unwrap());
    let mut align = 1;
    while align <= 16 * page {
        for size in [0, 1, align] {
            let block = bump.allocate(layout(size, align)).unwrap();
            assert_eq!(addr(block) % align, 0, "size {size}, align {align}");
            assert!(bump.owns(addr(block)..addr(block) + size));
        }
        align *= 2;
    }
    bump.check().unwrap();
    // More alignment than the region can provide is an error, not a panic.
    bump.reset();
    assert_eq!(
        bump.allocate(layout(1, 1 << 40)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(
        bump.allocate(layout(0, 1 << 40)),
        Err(AllocError::OutOfMemory)
    );
}

#[test]
fn zero_size_blocks_cost_at_most_padding() {
    let mut bump = owned_bump(64);
    let a = bump.allocate(layout(0, 1)).unwrap();
    assert_eq!(bump.heap_size(), 0);
    assert_eq!(
        addr(a),
        bump.bounds().end,
        "a zero-size block may sit at the end"
    );
    filled(&mut bump, layout(3, 1), 0);
    let b = bump.allocate(layout(0, 8)).unwrap();
    assert_eq!(addr(b) % 8, 0);
    assert_eq!(bump.heap_size(), 8, "3 bytes, then 5 of padding");
    // SAFETY: `b` is live with this layout.
    unsafe { bump.deallocate(b, layout(0, 8)) };
    assert_eq!(bump.heap_size(), 8, "freeing zero bytes gives back nothing");
}

// ---- Rewinding, resetting and reallocating ---------------------------------

#[test]
fn freeing_the_newest_block_rewinds() {
    let mut bump = owned_bump(1024);
    let a = filled(&mut bump, layout(32, 8), 1);
    let b = filled(&mut bump, layout(16, 8), 2);
    assert_eq!(bump.heap_size(), 48);
    // Not the newest: nothing happens.
    // SAFETY: `a` is live; it is not used again.
    unsafe { bump.deallocate(a, layout(32, 8)) };
    assert_eq!(bump.heap_size(), 48);
    // SAFETY: `b` is live and the newest.
    unsafe { bump.deallocate(b, layout(16, 8)) };
    assert_eq!(bump.heap_size(), 32, "b's bytes came back");
    let c = bump.allocate(layout(16, 8)).unwrap();
    assert_eq!(c, b, "and are handed out again");
    assert_eq!(bump.footprint(), 48);
}

#[test]
fn rewinding_does_not_recover_padding_above_the_block() {
    let mut bump = owned_bump(1024);
    filled(&mut bump, layout(3, 1), 0);
    let b = filled(&mut bump, layout(8, 8), 1); // 5 bytes of padding above it
    assert_eq!(bump.heap_size(), 16);
    // SAFETY: `b` is live and the newest.
    unsafe { bump.deallocate(b, layout(8, 8)) };
    assert_eq!(bump.heap_size(), 8, "the bump pointer stops at b's end");
    // The same request lands in the same place: repeated alloc/free does not creep.
    for _ in 0..10 {
        let again = bump.allocate(layout(8, 8)).unwrap();
        assert_eq!(again, b);
        // SAFETY: `again` is live and the newest.
        unsafe { bump.deallocate(again, layout(8, 8)) };
    }
    assert_eq!(bump.footprint(), 16);
}

#[test]
fn reset_frees_everything_and_keeps_the_buffer() {
    let mut memory = vec![0u8; 4096];
    let start = memory.as_ptr().addr();
    let mut bump = BumpAllocator::new(Buffer::new(&mut memory));
    let first = filled(&mut bump, layout(100, 4), 1);
    while bump.allocate(layout(64, 8)).is_ok() {}
    assert!(bump.remaining() < 64);
    bump.reset();
    assert_eq!(bump.heap_size(), 0);
    assert_eq!(
        bump.bounds().start,
        start,
        "same buffer, not a new or a null one"
    );
    assert_eq!(bump.allocate(layout(100, 4)).unwrap(), first);
    assert!(
        bump.footprint() > 4000,
        "the high-water mark survives a reset"
    );
    bump.check().unwrap();
}

#[test]
fn reallocating_the_newest_block_moves_it_in_place() {
    let mut bump = owned_bump(1024);
    let end = bump.bounds().end;
    let a = filled(&mut bump, layout(16, 8), 1);
    // Grow: the block slides down over its old self (an overlapping copy).
    // SAFETY: `a` is live with this layout.
    let grown = unsafe { bump.reallocate(a, layout(16, 8), 64) }.unwrap();
    assert_eq!(addr(grown), end - 64);
    assert_intact(grown, 16, 1);
    assert_eq!(bump.heap_size(), 64, "the old 16 bytes were not wasted");
    // Shrink: the block slides up and gives the bytes back.
    // SAFETY: `grown` is live with the new layout.
    let shrunk = unsafe { bump.reallocate(grown, layout(64, 8), 8) }.unwrap();
    assert_eq!(addr(shrunk), end - 8);
    assert_intact(shrunk, 8, 1);
    assert_eq!(bump.heap_size(), 8);
}

#[test]
fn reallocating_an_older_block() {
    let mut bump = owned_bump(1024);
    let a = filled(&mut bump, layout(32, 8), 1);
    filled(&mut bump, layout(8, 8), 2);
    // Shrinking keeps the block where it is.
    // SAFETY: `a` is live with this layout.
    let same = unsafe { bump.reallocate(a, layout(32, 8), 16) }.unwrap();
    assert_eq!(same, a);
    // Growing copies it below everything else.
    // SAFETY: `a` is live with its new layout.
    let moved = unsafe { bump.reallocate(a, layout(16, 8), 48) }.unwrap();
    assert!(addr(moved) < addr(a));
    assert_intact(moved, 16, 1);
    assert_eq!(bump.heap_size(), 32 + 8 + 48);
}

// ---- Growing chunks --------------------------------------------------------

#[test]
fn growing_bump_maps_chunks_as_needed() {
    let page = page_size();
    let mut heap = GrowingBump::with_limits(page, usize::MAX);
    assert_eq!(
        (heap.chunks(), heap.heap_size()),
        (0, 0),
        "nothing is mapped before the first block"
    );
    let mut blocks = Vec::new();
    for tag in 0..64u8 {
        blocks.push((filled(&mut heap, layout(page / 8, 16), tag), tag));
        heap.check().unwrap();
    }
    assert!(heap.chunks() >= 3, "{} chunks", heap.chunks());
    let mut regions = Vec::new();
    heap.for_each_region(&mut |region| regions.push(region));
    assert_eq!(regions.len(), heap.chunks());
    regions.sort_by_key(|r| r.start);
    assert!(
        regions.windows(2).all(|w| w[0].end <= w[1].start),
        "chunks are disjoint"
    );
    for &(block, tag) in &blocks {
        assert!(heap.owns(addr(block)..addr(block) + page / 8));
        assert_intact(block, page / 8, tag);
    }
    // A request larger than any chunk so far gets a chunk of its own size.
    let big = filled(&mut heap, layout(64 * page, page), 99);
    assert!(heap.owns(addr(big)..addr(big) + 64 * page));
    assert!(heap.footprint() >= heap.heap_size());

    heap.reset();
    assert_eq!(heap.chunks(), 1, "reset keeps only the newest chunk");
    assert!(heap.heap_size() < 64, "only the chunk header is left");
    heap.check().unwrap();
    let again = heap.allocate(layout(64 * page, page)).unwrap();
    assert_eq!(again, big, "the kept chunk is reused from its end");
}

#[test]
fn growing_bump_respects_its_limit() {
    let page = page_size();
    let mut heap = GrowingBump::with_limits(page, 4 * page);
    let mut count = 0;
    while heap.allocate(layout(page / 2, 8)).is_ok() {
        count += 1;
    }
    assert!(heap.mapped() <= 4 * page);
    assert!(count >= 4, "{count} blocks in 4 pages");
    assert_eq!(
        heap.allocate(layout(usize::MAX / 2, 1)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(
        heap.allocate(layout(1, 1 << 40)),
        Err(AllocError::OutOfMemory)
    );
    heap.check().unwrap();
}

#[test]
fn growing_bump_reallocates_across_chunks() {
    let page = page_size();
    let mut heap = GrowingBump::with_limits(page, usize::MAX);
    let a = filled(&mut heap, layout(64, 8), 7);
    filled(&mut heap, layout(8, 8), 8); // so `a` is not the newest
    // SAFETY: `a` is live with this layout; a page and more cannot fit in
    // the first chunk, so it moves to a new one.
    let moved = unsafe { heap.reallocate(a, layout(64, 8), 2 * page) }.unwrap();
    assert_eq!(heap.chunks(), 2);
    assert_intact(moved, 64, 7);
    // SAFETY: `moved` is live, and the newest block of the new chunk.
    let shrunk = unsafe { heap.reallocate(moved, layout(2 * page, 8), 32) }.unwrap();
    assert_intact(shrunk, 32, 7);
    heap.check().unwrap();
}

// ---- The arena on top ------------------------------------------------------

#[test]
fn arena_over_growing_chunks_runs_destructors() {
    use std::cell::Cell;
    use std::rc::Rc;
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    let mut arena = Arena::new(GrowingBump::with_limits(page_size(), usize::MAX));
    let n = if cfg!(miri) { 300 } else { 1000 };
    let values: Vec<&mut (u64, Counted)> = (0..n)
        .map(|i| arena.alloc((i, Counted(drops.clone()))))
        .collect();
    assert!(values.iter().enumerate().all(|(i, v)| v.0 == i as u64));
    assert!(arena.allocator().chunks() > 1);
    arena.reset();
    assert_eq!(drops.get(), n as usize);
    assert_eq!(arena.allocator().chunks(), 1);
    arena.alloc(Counted(drops.clone()));
    drop(arena);
    assert_eq!(drops.get(), n as usize + 1);
}

// ---- As the global allocator -----------------------------------------------

/// A `Locked` allocator in a `static`, as `#[global_allocator]` needs: its
/// first chunk is mapped lazily, on the first allocation.
static LAZY: Locked<GrowingBump> = Locked::new(GrowingBump::with_limits(4096, 1 << 20));

#[test]
fn a_static_growing_bump_maps_lazily_and_returns_null_when_exhausted() {
    assert_eq!(LAZY.stats().heap_size, 0);
    let layout = layout(1000, 8);
    let mut blocks = Vec::new();
    loop {
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { LAZY.alloc(layout) };
        if block.is_null() {
            break;
        }
        blocks.push(block);
    }
    let stats = LAZY.stats();
    assert_eq!(stats.failures, 1);
    assert_eq!(stats.live_bytes, 1000 * blocks.len());
    assert!(stats.heap_size <= 1 << 20 && blocks.len() > 900);
    LAZY.with_allocator(|heap| heap.check()).unwrap();
    for block in blocks.into_iter().rev() {
        // SAFETY: each block is live with `layout`.
        unsafe { LAZY.dealloc(block, layout) };
    }
    assert_eq!(LAZY.stats().live_bytes, 0);
}

#[test]
fn a_bump_in_a_static_buffer_is_const() {
    const LEN: usize = 4096;
    #[repr(align(4096))]
    struct Memory(#[allow(dead_code)] [u8; LEN]);
    static mut MEMORY: Memory = Memory([0; LEN]);
    static STATIC: Locked<BumpAllocator<Buffer<'static>>> =
        Locked::new(BumpAllocator::with_buffer(
            // SAFETY: only STATIC uses MEMORY.
            unsafe {
                Buffer::from_raw_parts(NonNull::new_unchecked((&raw mut MEMORY).cast::<u8>()), LEN)
            },
        ));
    let layout = layout(LEN, 4096);
    // SAFETY: non-zero size.
    let all = unsafe { STATIC.alloc(layout) };
    assert_eq!(
        all,
        (&raw mut MEMORY).cast::<u8>(),
        "the whole buffer, from its start"
    );
    // SAFETY: non-zero size.
    assert!(unsafe { STATIC.alloc(Layout::new::<u8>()) }.is_null());
}
