//! The counting allocator: every counter, the histogram, the report, and the
//! promise that counting (and reporting) allocates nothing.
//!
//! This test binary's own global allocator counts the allocations of each
//! thread, so a test can prove that a piece of code did not allocate even
//! while other tests run in parallel.

use allocators::counting::Counting;
use allocators::stats::{BUCKETS, StackText, Stats};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::ptr::null_mut;

// ---- A per-thread allocation counter for this binary ---------------------------

thread_local! {
    /// Global allocations made by this thread. `const`-initialised and
    /// without a destructor, so touching it never allocates.
    static THREAD_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct PerThread;

// SAFETY: forwards to System unchanged; the counting touches a thread-local
// `Cell` only.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        THREAD_ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees are passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        THREAD_ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: PerThread = PerThread;

fn thread_allocations() -> u64 {
    THREAD_ALLOCATIONS.with(Cell::get)
}

/// An allocator that always fails, to count failures.
struct Refuses;

// SAFETY: it never hands out memory, so it has nothing to get wrong.
unsafe impl GlobalAlloc for Refuses {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

// ---- The tests --------------------------------------------------------------------

/// It is `const`, so it can be a `static` (and so the global allocator).
static STATIC: Counting<System> = Counting::new(System);

#[test]
fn every_call_is_counted() {
    let counting = Counting::new(System);
    // SAFETY: non-zero sizes; each block is used within its size and freed
    // once with its current layout.
    unsafe {
        let a = counting.alloc(layout(100));
        let z = counting.alloc_zeroed(layout(30));
        assert!(std::slice::from_raw_parts(z, 30).iter().all(|&b| b == 0));
        a.write_bytes(7, 100);
        let a = counting.realloc(a, layout(100), 1000);
        assert!(std::slice::from_raw_parts(a, 100).iter().all(|&b| b == 7));
        let s = counting.snapshot();
        assert_eq!((s.allocations, s.reallocations, s.deallocations), (2, 1, 0));
        assert_eq!(s.bytes_allocated, 100 + 30 + 1000);
        assert_eq!((s.live_bytes, s.peak_live_bytes), (1030, 1030));
        let a = counting.realloc(a, layout(1000), 10);
        counting.dealloc(a, layout(10));
        counting.dealloc(z, layout(30));
    }
    let s = counting.snapshot();
    assert_eq!((s.allocations, s.reallocations, s.deallocations), (2, 2, 2));
    assert_eq!(s.bytes_allocated, 100 + 30 + 1000 + 10);
    assert_eq!((s.live_bytes, s.peak_live_bytes), (0, 1030));
    assert_eq!((s.live_blocks(), s.failures), (0, 0));
    // One request per bucket: 100 and 30 and 1000 and 10.
    let bucket = Stats::bucket;
    for size in [100, 30, 1000, 10] {
        assert_eq!(s.histogram[bucket(size)], 1, "size {size}");
    }
    assert_eq!(s.requests(), s.allocations + s.reallocations);
}

#[test]
fn failures_are_counted_and_change_nothing_else() {
    let counting = Counting::new(Refuses);
    // SAFETY: non-zero sizes; nothing is returned, so nothing is freed.
    unsafe {
        assert!(counting.alloc(layout(8)).is_null());
        assert!(counting.alloc_zeroed(layout(8)).is_null());
    }
    let s = counting.snapshot();
    assert_eq!(s.failures, 2);
    assert_eq!(
        s,
        Stats {
            failures: 2,
            ..Counting::new(Refuses).snapshot()
        }
    );
}

#[test]
fn the_peak_and_a_window_of_work() {
    let counting = Counting::new(System);
    // SAFETY: non-zero sizes, each block freed once with its layout.
    unsafe {
        let big = counting.alloc(layout(4096));
        counting.dealloc(big, layout(4096));
        counting.reset_peak();
        let before = counting.snapshot();
        let small = counting.alloc(layout(64));
        let work = counting.snapshot().since(&before);
        assert_eq!((work.allocations, work.live_bytes), (1, 64));
        assert_eq!(
            work.peak_live_bytes, 64,
            "reset_peak forgot the 4 KiB block"
        );
        assert_eq!(work.requests(), 1);
        counting.dealloc(small, layout(64));
    }
}

#[test]
fn threads_count_together() {
    let counting = Counting::new(System);
    let per_thread = if cfg!(miri) { 20 } else { 1000 };
    std::thread::scope(|s| {
        for t in 0..4 {
            let counting = &counting;
            s.spawn(move || {
                for i in 0..per_thread {
                    let l = layout(8 << ((i + t) % 4));
                    // SAFETY: non-zero size; freed at once with its layout.
                    unsafe { counting.dealloc(counting.alloc(l), l) };
                }
            });
        }
    });
    let s = counting.snapshot();
    assert_eq!(
        (s.allocations, s.deallocations),
        (4 * per_thread, 4 * per_thread)
    );
    assert_eq!(s.live_bytes, 0);
    assert!(s.peak_live_bytes >= 64 && s.peak_live_bytes <= 4 * 64);
    assert_eq!(s.requests(), 4 * per_thread);
}

#[test]
fn counting_and_reporting_allocate_nothing() {
    let mut text = StackText::new();
    let counting = Counting::new(System);
    let before = thread_allocations();
    // SAFETY: non-zero sizes, each block freed once with its layout.
    unsafe {
        let a = counting.alloc(layout(24));
        let a = counting.realloc(a, layout(24), 48);
        counting.dealloc(a, layout(48));
    }
    let snapshot = counting.snapshot();
    write!(text, "{snapshot}").unwrap();
    write!(text, "{:?}", STATIC).unwrap();
    assert_eq!(
        thread_allocations(),
        before,
        "counting, snapshots and the report went through the global allocator"
    );
    let report = text.as_str();
    assert!(
        report.contains("allocations                   1\n"),
        "{report}"
    );
    assert!(
        report.contains("reallocations                 1\n"),
        "{report}"
    );
    assert!(
        report.contains("peak live bytes              48\n"),
        "{report}"
    );
    assert!(report.contains("  <=   32               1 #"), "{report}");
    assert!(report.contains("  <=   64               1 #"), "{report}");
}

#[test]
fn the_report_groups_digits_and_scales_the_bars() {
    let mut histogram = [0; BUCKETS];
    histogram[4] = 1_234_567;
    histogram[12] = 10;
    histogram[BUCKETS - 1] = 1;
    let snapshot = Stats {
        allocations: 1_234_578,
        deallocations: 1_000_000,
        reallocations: 0,
        failures: 3,
        bytes_allocated: 40_000_000_000,
        live_bytes: 0,
        peak_live_bytes: 1 << 30,
        histogram,
        heap_size: 0,
        footprint: 0,
    };
    let report = snapshot.to_string();
    assert!(
        report.contains("live blocks             234,578\n"),
        "{report}"
    );
    assert!(
        report.contains("bytes allocated  40,000,000,000\n"),
        "{report}"
    );
    assert!(report.contains("<=   16       1,234,567 ########################################\n"));
    // A bucket with a tiny share still gets one `#`.
    assert!(report.contains("<=    4K             10 #\n"), "{report}");
    assert!(report.contains("<=  max               1 #\n"), "{report}");
    assert_eq!(report.lines().count(), 8 + 1 + 3);
}
