//! `ThreadCached`: the hard parts of per-thread caches, each with a test.
//! Blocks freed by another thread, threads that exit holding blocks, calls
//! after a thread's cache is gone, requests the cache does not serve, two
//! allocators and one thread-local, and a stress test with four threads.
//!
//! Every test ends the same way: after its threads exit, the shared heap's
//! checker passes and every block of the heap is free (nothing lost, nothing
//! still cached). Every block carries a byte pattern of its own, checked
//! before it is freed (nothing owned twice).
//!
//! Small under Miri: `cargo +nightly miri test -p allocators --test suite thread_cache`.

use allocators::block::BlockKind;
use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use allocators::segregated::SegregatedFreeList;
use allocators::thread_cache::{BATCH, CACHE_LIMIT, ThreadCached};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

type Heap = SegregatedFreeList<RegionBreak<OwnedRegion>>;

const HEAP_LEN: usize = if cfg!(miri) { 256 * 1024 } else { 8 << 20 };

/// The shared heap of one test, in a `static` of that test: it must outlive
/// every thread (`ThreadCached::new` takes a `&'static Locked`).
fn shared(slot: &'static OnceLock<Locked<Heap>>) -> &'static Locked<Heap> {
    slot.get_or_init(|| {
        Locked::new(SegregatedFreeList::new(RegionBreak::new(
            OwnedRegion::new(HEAP_LEN, 16).unwrap(),
        )))
    })
}

/// Once every thread that used `heap` has exited: the checker passes and
/// every block is free, so no block was lost or is still cached.
fn assert_all_back(heap: &ThreadCached<Heap>) {
    heap.flush();
    heap.check().unwrap();
    // No panic under the lock: it would poison it.
    let (checked, live) = heap.shared().with_allocator(|h| {
        h.consolidate();
        let live = h
            .blocks()
            .filter(|b| b.kind == BlockKind::Allocated)
            .count();
        (h.check(), live)
    });
    checked.unwrap();
    assert_eq!(live, 0, "blocks never given back");
}

/// Runs `f` on a new thread and waits until the thread has exited, its
/// thread-locals' destructors included. (`thread::scope` only waits for the
/// closures: a scoped thread's destructors may still be running when it
/// returns. `join` waits for the thread itself.)
fn on_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Allocates a block and fills it with `tag`.
fn filled(heap: &ThreadCached<Heap>, layout: Layout, tag: u8) -> *mut u8 {
    // SAFETY: every layout in these tests has a non-zero size.
    let p = unsafe { heap.alloc(layout) };
    assert!(!p.is_null());
    assert!(p.addr().is_multiple_of(layout.align()));
    // SAFETY: the block is ours, `layout.size()` bytes long.
    unsafe { p.write_bytes(tag, layout.size()) };
    p
}

/// Checks that the block still holds `tag` everywhere, then frees it.
///
/// # Safety
///
/// `p` is a live block of `heap` with `layout`, filled by `filled`.
unsafe fn checked_free(heap: &ThreadCached<Heap>, p: *mut u8, layout: Layout, tag: u8) {
    // SAFETY: the caller's guarantee: `layout.size()` initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
    assert!(bytes.iter().all(|&b| b == tag), "a block was overwritten");
    // SAFETY: the caller's guarantee.
    unsafe { heap.dealloc(p, layout) };
}

/// A raw pointer that may cross to another thread (it is handed over, not
/// shared).
struct Handed(*mut u8, Layout, u8);
// SAFETY: the sending thread gives the block up when it sends it.
unsafe impl Send for Handed {}

// ANCHOR: cross_thread
#[test]
fn a_block_freed_by_another_thread_goes_into_that_threads_cache() {
    static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
    let heap = ThreadCached::new(shared(&SLOT));
    let count = if cfg!(miri) { 8 } else { 200 };
    let (send, receive) = mpsc::channel::<Handed>();
    std::thread::scope(|s| {
        let heap = &heap;
        let allocating = s.spawn(move || {
            for i in 0..count {
                let l = layout(24, 8);
                send.send(Handed(filled(heap, l, i as u8), l, i as u8))
                    .unwrap();
            }
            // What the allocating thread still caches is the rest of its
            // refills: the freed blocks did not come back here.
            assert!(heap.cached_blocks() < BATCH as usize);
        });
        let freeing = s.spawn(move || {
            for Handed(p, l, tag) in receive {
                // SAFETY: the block was handed to us, live, with this layout.
                unsafe { checked_free(heap, p, l, tag) };
            }
            // The freeing thread holds them now (up to its cache's bound).
            assert!(heap.cached_blocks() >= count.min(BATCH as usize));
            heap.check().unwrap();
        });
        // `join`, not just the end of the scope: see `on_thread`.
        allocating.join().unwrap();
        freeing.join().unwrap();
    });
    assert_all_back(&heap);
}
// ANCHOR_END: cross_thread

#[test]
fn a_thread_that_exits_gives_its_cache_back() {
    static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
    let heap = ThreadCached::new(shared(&SLOT));
    let threads = if cfg!(miri) { 2 } else { 8 };
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..threads {
            let heap = &heap;
            handles.push(s.spawn(move || {
                let blocks: Vec<_> = (0..40)
                    .map(|i| {
                        let l = layout(8 + 16 * (i % 16), 8);
                        (filled(heap, l, t), l)
                    })
                    .collect();
                for (p, l) in blocks {
                    // SAFETY: live, with this layout, freed once.
                    unsafe { checked_free(heap, p, l, t) };
                }
                assert!(heap.cached_blocks() > 0, "the thread exits holding blocks");
            }));
        }
        for handle in handles {
            handle.join().unwrap();
        }
    });
    assert_all_back(&heap);
}

#[test]
fn calls_after_the_cache_is_destroyed_go_to_the_shared_heap() {
    static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
    static HEAP: OnceLock<ThreadCached<Heap>> = OnceLock::new();
    static LATE_CALL_WORKED: AtomicBool = AtomicBool::new(false);
    let heap = HEAP.get_or_init(|| ThreadCached::new(shared(&SLOT)));

    /// A thread-local whose destructor allocates. Touched before the cache,
    /// it is destroyed after it (destructors run in reverse order).
    struct Late;
    impl Drop for Late {
        fn drop(&mut self) {
            let heap = HEAP.get().unwrap();
            let l = layout(40, 8);
            let p = filled(heap, l, 0x5a);
            // SAFETY: live, with this layout, freed once.
            unsafe { checked_free(heap, p, l, 0x5a) };
            LATE_CALL_WORKED.store(true, Ordering::Relaxed);
        }
    }
    thread_local! {
        static LATE: Late = const { Late };
    }

    std::thread::spawn(move || {
        LATE.with(|_| {});
        let l = layout(40, 8);
        let p = filled(heap, l, 1);
        // SAFETY: live, with this layout, freed once.
        unsafe { checked_free(heap, p, l, 1) };
    })
    .join()
    .unwrap();
    assert!(LATE_CALL_WORKED.load(Ordering::Relaxed));
    assert_all_back(heap);
}

#[test]
fn large_and_over_aligned_requests_skip_the_cache() {
    static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
    let heap = ThreadCached::new(shared(&SLOT));
    on_thread(|| {
        {
            for l in [layout(CACHE_LIMIT + 1, 8), layout(64, 32), layout(4096, 8)] {
                let p = filled(&heap, l, 7);
                assert_eq!(heap.cached_blocks(), 0);
                // SAFETY: live, with this layout, freed once.
                unsafe { checked_free(&heap, p, l, 7) };
                assert_eq!(heap.cached_blocks(), 0);
            }
            assert_eq!(heap.lock_trips(), (0, 0));
            // Growing a cached block past the cache, and back: the contents
            // move along.
            let small = layout(100, 8);
            let p = filled(&heap, small, 3);
            // SAFETY: live with `small`; each realloc returns the new block.
            unsafe {
                let big = heap.realloc(p, small, 1000);
                let big_layout = layout(1000, 8);
                assert!(std::slice::from_raw_parts(big, 100).iter().all(|&b| b == 3));
                big.write_bytes(3, 1000);
                let again = heap.realloc(big, big_layout, 200);
                checked_free(&heap, again, layout(200, 8), 3);
            }
        }
    });
    assert_all_back(&heap);
}

#[test]
fn a_second_allocator_bypasses_a_cache_it_does_not_own() {
    static FIRST: OnceLock<Locked<Heap>> = OnceLock::new();
    static SECOND: OnceLock<Locked<Heap>> = OnceLock::new();
    let first = ThreadCached::new(shared(&FIRST));
    let second = ThreadCached::new(shared(&SECOND));
    on_thread(|| {
        {
            let l = layout(32, 8);
            let a = filled(&first, l, 1); // the cache is now `first`'s
            let b = filled(&second, l, 2);
            assert!(first.shared().with_allocator(|h| h.blocks().count()) > 1);
            assert_eq!(second.cached_blocks(), 0, "not second's cache");
            // SAFETY: each block goes back to the allocator it came from.
            unsafe {
                checked_free(&second, b, l, 2);
                checked_free(&first, a, l, 1);
            }
            assert_eq!(second.cached_blocks(), 0);
            assert_eq!(second.lock_trips(), (0, 0));
            assert!(first.cached_blocks() > 0);
        }
    });
    assert_all_back(&first);
    assert_all_back(&second);
}

// ANCHOR: stress
/// Four threads in a ring: each allocates blocks of many sizes and
/// alignments, frees some itself, hands some to the next thread, frees what
/// the previous one hands it, and exits holding whatever its cache holds.
#[test]
fn stress_four_threads_in_a_ring() {
    static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
    let heap = ThreadCached::new(shared(&SLOT));
    const THREADS: usize = 4;
    let rounds = if cfg!(miri) { 30 } else { 20_000 };
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Handed>()).unzip();
    let leftovers = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (t, receive) in receivers.into_iter().enumerate() {
            let next = senders[(t + 1) % THREADS].clone();
            let heap = &heap;
            handles.push(s.spawn(move || {
                let mut state = 0x9e37_79b9_u32.wrapping_mul(t as u32 + 1);
                let mut mine = Vec::new();
                for round in 0..rounds {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let size = 1 + (state as usize % 400);
                    let align = if state & 0x7000 == 0 { 64 } else { 8 };
                    let l = layout(size, align);
                    let tag = (t * 64 + round % 64) as u8;
                    let p = filled(heap, l, tag);
                    match state >> 30 {
                        0 => next.send(Handed(p, l, tag)).unwrap(),
                        1 => mine.push((p, l, tag)),
                        // SAFETY: just allocated with `l`, freed once.
                        _ => unsafe { checked_free(heap, p, l, tag) },
                    }
                    if mine.len() > 64 {
                        let (p, l, tag) = mine.swap_remove(state as usize % mine.len());
                        // SAFETY: ours, live, with this layout.
                        unsafe { checked_free(heap, p, l, tag) };
                    }
                    while let Ok(Handed(p, l, tag)) = receive.try_recv() {
                        // SAFETY: handed to us, live, with this layout.
                        unsafe { checked_free(heap, p, l, tag) };
                    }
                }
                for (p, l, tag) in mine {
                    // SAFETY: ours, live, with this layout.
                    unsafe { checked_free(heap, p, l, tag) };
                }
                heap.check().unwrap();
                drop(next);
                // Blocks sent to us after our last look: freed below.
                receive
            }));
        }
        let receivers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        receivers
    });
    drop(senders);
    // Every thread has exited. The blocks still in flight are freed here,
    // by a thread that allocated none of them.
    for receive in leftovers {
        for Handed(p, l, tag) in receive.try_iter() {
            // SAFETY: handed over, live, with this layout.
            unsafe { checked_free(&heap, p, l, tag) };
        }
    }
    assert_all_back(&heap);
}
// ANCHOR_END: stress
