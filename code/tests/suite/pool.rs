//! The pool allocator through the shared harness, plus what makes a pool a
//! pool: one slot size, LIFO reuse, requests that do not fit a slot, the
//! checker on a damaged free list, debug-build double-free detection, and
//! the typed `Pool`.

use crate::harness;
use crate::harness::{HEAP, assert_intact, filled};
use allocators::pool::{Pool, PoolAllocator};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::{Buffer, OwnedRegion};
use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn pool(len: usize, object: Layout) -> PoolAllocator<OwnedRegion> {
    PoolAllocator::new(OwnedRegion::new(len, 4096).unwrap(), object).unwrap()
}

fn addr(ptr: NonNull<u8>) -> usize {
    ptr.as_ptr().addr()
}

// ---- The shared properties -------------------------------------------------

/// The harness with fewer cases than its default: a pool has no placement
/// or coalescing to get wrong, and the root `cargo test` must stay fast.
fn check_random_ops<A: RawAllocator>(make: impl Fn() -> A) {
    let config = harness::config();
    let config = proptest::test_runner::Config {
        cases: config.cases.min(64),
        ..config
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    if let Err(error) = runner.run(&harness::program(), |program| {
        harness::replay(&mut make(), &program)
    }) {
        panic!("{error}");
    }
}

#[test]
fn a_pool_of_64_byte_slots_passes_the_harness() {
    // Most of the harness's requests (0..=64 bytes, align up to 64) fit a
    // slot; the rest must fail cleanly.
    check_random_ops(|| pool(HEAP, layout(64, 64)));
}

#[test]
fn a_small_pool_of_small_slots_passes_the_harness() {
    // 16-byte slots in 1 KiB: the pool fills up, and most requests are
    // refused for their size or alignment.
    check_random_ops(|| pool(1024, layout(16, 16)));
}

// ---- Slots -------------------------------------------------------------------

#[test]
fn every_block_is_a_slot_and_slots_are_reused_lifo() {
    let l = layout(24, 8);
    let mut p = pool(4096, l);
    assert_eq!((p.slot_size(), p.slot_align(), p.capacity()), (24, 8, 170));
    let blocks: Vec<_> = (0..5).map(|tag| filled(&mut p, l, tag)).collect();
    let first = addr(blocks[0]);
    for (i, &b) in blocks.iter().enumerate() {
        assert_eq!(
            addr(b),
            first + 24 * i,
            "fresh slots are handed out in order"
        );
    }
    assert_eq!(p.heap_size(), 5 * 24);
    // SAFETY: live, freed once each.
    unsafe {
        p.deallocate(blocks[1], l);
        p.deallocate(blocks[3], l);
    }
    p.check().unwrap();
    assert_eq!(
        p.free_list().collect::<Vec<_>>(),
        [addr(blocks[3]), addr(blocks[1])]
    );
    // The most recently freed slot comes back first, before any fresh one.
    assert_eq!(p.allocate(l).unwrap(), blocks[3]);
    assert_eq!(p.allocate(l).unwrap(), blocks[1]);
    assert_eq!(addr(p.allocate(l).unwrap()), first + 5 * 24);
    for (tag, &b) in [0, 2, 4]
        .iter()
        .zip([blocks[0], blocks[2], blocks[4]].iter())
    {
        assert_intact(b, 24, *tag as u8);
    }
    assert_eq!((p.live(), p.available()), (6, 164));
    p.check().unwrap();
}

#[test]
fn smaller_requests_take_a_whole_slot_and_larger_ones_fail() {
    let mut p = pool(1024, layout(32, 16));
    let small = p.allocate(layout(1, 1)).unwrap();
    let zero = p.allocate(layout(0, 1)).unwrap();
    assert_eq!(addr(zero) - addr(small), 32, "one slot each");
    assert_eq!(addr(zero) % 16, 0);
    assert_eq!(p.allocate(layout(33, 1)), Err(AllocError::OutOfMemory));
    assert_eq!(
        p.allocate(layout(8, 32)),
        Err(AllocError::UnsupportedAlignment)
    );
    assert_eq!(
        p.allocate(layout(isize::MAX as usize, 1)),
        Err(AllocError::OutOfMemory)
    );
    assert_eq!(p.live(), 2, "failed requests take nothing");
    p.check().unwrap();
}

#[test]
fn reallocation_stays_in_the_slot() {
    let l = layout(16, 8);
    let mut p = pool(1024, layout(48, 8));
    let a = filled(&mut p, l, 7);
    // SAFETY: `a` is live with layout `l`, then with the new size.
    unsafe {
        let grown = p.reallocate(a, l, 48).unwrap();
        assert_eq!(grown, a);
        assert_intact(grown, 16, 7);
        assert_eq!(
            p.reallocate(a, layout(48, 8), 49),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(
            p.reallocate(a, layout(48, 8), usize::MAX),
            Err(AllocError::SizeOverflow)
        );
        let shrunk = p.reallocate(a, layout(48, 8), 0).unwrap();
        assert_eq!(shrunk, a);
        p.deallocate(shrunk, layout(0, 8));
    }
    assert_eq!(p.live(), 0);
    p.check().unwrap();
}

#[test]
fn exhaustion_fails_cleanly_and_freed_slots_come_back() {
    let l = layout(64, 64);
    let mut p = pool(1024, l);
    let mut live = Vec::new();
    while let Ok(ptr) = p.allocate(l) {
        live.push(ptr);
    }
    assert_eq!(live.len(), 16);
    assert_eq!(p.allocate(l), Err(AllocError::OutOfMemory));
    assert_eq!(p.available(), 0);
    for ptr in live.drain(..8) {
        // SAFETY: live, freed once.
        unsafe { p.deallocate(ptr, l) };
    }
    p.check().unwrap();
    for _ in 0..8 {
        live.push(p.allocate(l).unwrap());
    }
    assert_eq!(p.allocate(l), Err(AllocError::OutOfMemory));
    p.check().unwrap();
}

#[test]
fn regions_that_are_misaligned_or_too_small() {
    // A buffer that starts one byte past an aligned address: the first slot
    // is rounded up, and the tail that holds no whole slot is left unused.
    let mut memory = vec![0u8; 256];
    let mut p = PoolAllocator::new(Buffer::new(&mut memory[1..]), layout(32, 32)).unwrap();
    let first = p.allocate(layout(32, 32)).unwrap();
    assert_eq!(addr(first) % 32, 0);
    assert!(p.capacity() >= 6 && p.capacity() <= 7);
    p.check().unwrap();

    // Less than a slot: capacity zero, and every request fails.
    let mut tiny = pool(16, layout(32, 8));
    assert_eq!(tiny.capacity(), 0);
    assert_eq!(tiny.allocate(layout(8, 8)), Err(AllocError::OutOfMemory));
    tiny.check().unwrap();
    let mut empty = pool(0, layout(8, 8));
    assert_eq!(empty.allocate(layout(0, 1)), Err(AllocError::OutOfMemory));
    empty.check().unwrap();

    // A slot size that does not fit a Layout is an error at construction.
    assert!(
        PoolAllocator::new(
            OwnedRegion::new(64, 8).unwrap(),
            layout(isize::MAX as usize, 1)
        )
        .is_err()
    );
}

// ---- The checker and debug checks --------------------------------------------

#[test]
fn the_checker_finds_a_damaged_free_list() {
    let l = layout(16, 8);
    let mut p = pool(1024, l);
    let a = p.allocate(l).unwrap();
    let b = p.allocate(l).unwrap();
    p.allocate(l).unwrap();
    // SAFETY: live, freed once each.
    unsafe {
        p.deallocate(a, l);
        p.deallocate(b, l);
    }
    p.check().unwrap();
    // A use after free writes into `b`, the head: its link now points into
    // the middle of a slot.
    // SAFETY: the slot is inside the pool's region (a test playing a buggy
    // program, through a pointer with the region's provenance).
    unsafe { b.cast::<*mut u8>().write(a.as_ptr().wrapping_add(4)) };
    assert_eq!(
        p.check().unwrap_err().what,
        "free list link is not a used slot"
    );
    // A link back to the head: a cycle, found by the bounded walk.
    // SAFETY: as above.
    unsafe { a.cast::<*mut u8>().write(b.as_ptr()) };
    // SAFETY: as above.
    unsafe { b.cast::<*mut u8>().write(a.as_ptr()) };
    assert_eq!(
        p.check().unwrap_err().what,
        "free list longer than its count (a cycle: double free?)"
    );
    // A list cut short.
    // SAFETY: as above.
    unsafe { b.cast::<*mut u8>().write(std::ptr::null_mut()) };
    assert_eq!(
        p.check().unwrap_err().what,
        "free list shorter than its count"
    );
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "is already free (double free)")]
fn debug_builds_catch_an_immediate_double_free() {
    let l = layout(16, 8);
    let mut p = pool(1024, l);
    let a = p.allocate(l).unwrap();
    p.allocate(l).unwrap();
    // SAFETY: deliberately wrong, to see the debug check: the second call
    // panics before it touches anything.
    unsafe {
        p.deallocate(a, l);
        p.deallocate(a, l);
    }
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "is not a slot of this pool")]
fn debug_builds_catch_a_pointer_into_the_middle_of_a_slot() {
    let l = layout(16, 8);
    let mut p = pool(1024, l);
    let a = p.allocate(l).unwrap();
    // SAFETY: deliberately wrong: the debug check panics first.
    unsafe { p.deallocate(a.add(8), l) };
}

// ---- The typed pool ------------------------------------------------------------

#[test]
fn pool_boxes_drop_their_values_and_free_their_slots() {
    #[derive(Debug)]
    struct Counted<'a>(u64, &'a Cell<usize>);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }
    let drops = Cell::new(0);
    let pool: Pool<Counted<'_>, _> = Pool::new(OwnedRegion::new(256, 64).unwrap()).unwrap();
    assert_eq!(pool.capacity(), 16);
    let mut boxes: Vec<_> = (0..16)
        .map(|i| pool.alloc(Counted(i, &drops)).unwrap())
        .collect();
    // Full: the value comes back as an error, and is dropped.
    assert_eq!(
        pool.alloc(Counted(99, &drops)).unwrap_err(),
        AllocError::OutOfMemory
    );
    assert_eq!(drops.get(), 1);
    boxes[3].0 += 100;
    assert_eq!(boxes[3].0, 103);
    boxes.truncate(10);
    assert_eq!((drops.get(), pool.live()), (7, 10));
    pool.check().unwrap();
    let again = pool.alloc(Counted(7, &drops)).unwrap();
    assert_eq!(again.0, 7);
    drop(again);
    drop(boxes);
    assert_eq!((drops.get(), pool.live()), (18, 0));
    pool.check().unwrap();
}

#[test]
fn a_pool_of_strings_does_not_leak_and_zero_sized_values_work() {
    // Miri's leak checker fails this test if a String's buffer leaks.
    let strings: Pool<String, _> = Pool::new(OwnedRegion::new(1024, 8).unwrap()).unwrap();
    let mut s = strings.alloc(String::from("pooled")).unwrap();
    s.push_str(" string");
    assert_eq!(format!("{s:?}"), "\"pooled string\"");
    let units: Pool<(), _> = Pool::new(OwnedRegion::new(64, 8).unwrap()).unwrap();
    let u = units.alloc(()).unwrap();
    assert_eq!((*u, units.live(), units.capacity()), ((), 1, 8));
}
