//! A whole program on a free-list allocator: one of the three, chosen by the
//! `FREELIST` environment variable (`implicit`, `explicit` or `segregated`,
//! the default).
//!
//! Each allocator has its own static heap. A small dispatcher is the
//! `#[global_allocator]`: new blocks come from the chosen allocator, and a
//! block is given back to whichever heap it lies in (the runtime allocates a
//! little before `main` can read the variable). The workload builds a large
//! collection of strings, sorts and dedupes it, counts words in a
//! `BTreeMap`, drops everything, and checks the heap.
//!
//! `FREELIST=explicit cargo run --release --example freelist_global`
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::{HeapError, RawAllocator};
use allocators::region::Buffer;
use allocators::segregated::SegregatedFreeList;
use allocators::stats::Stats;
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};

mod common;

const HEAP_SIZE: usize = 64 * 1024 * 1024;

/// A static heap: zero-initialised, so it lands in `.bss` and costs no
/// memory until a page is touched.
#[repr(C, align(4096))]
struct Memory([u8; HEAP_SIZE]);

/// A static buffer as a `Buffer`, in a `const` context.
macro_rules! buffer {
    ($memory:ident) => {
        // SAFETY: `&raw mut` takes the static's address without a reference,
        // and only the one allocator below ever touches it.
        unsafe {
            Buffer::from_raw_parts(
                NonNull::new_unchecked((&raw mut $memory).cast::<u8>()),
                HEAP_SIZE,
            )
        }
    };
}

// ANCHOR: statics
static mut SEGREGATED_HEAP: Memory = Memory([0; HEAP_SIZE]);
static SEGREGATED: Locked<SegregatedFreeList<RegionBreak<Buffer<'static>>>> = Locked::new(
    SegregatedFreeList::new(RegionBreak::new(buffer!(SEGREGATED_HEAP))),
);

static mut EXPLICIT_HEAP: Memory = Memory([0; HEAP_SIZE]);
static EXPLICIT: Locked<ExplicitFreeList<RegionBreak<Buffer<'static>>>> =
    Locked::new(ExplicitFreeList::new(
        RegionBreak::new(buffer!(EXPLICIT_HEAP)),
        Insertion::AddressOrdered,
    ));

static mut IMPLICIT_HEAP: Memory = Memory([0; HEAP_SIZE]);
static IMPLICIT: Locked<ImplicitFreeList<RegionBreak<Buffer<'static>>>> = Locked::new(
    ImplicitFreeList::new(RegionBreak::new(buffer!(IMPLICIT_HEAP)), Placement::NextFit),
);
// ANCHOR_END: statics

/// Which allocator serves new blocks: 0 segregated, 1 explicit, 2 implicit.
static CHOICE: AtomicU8 = AtomicU8::new(0);

struct Dispatch;

#[global_allocator]
static ALLOCATOR: Dispatch = Dispatch;

/// The allocator whose heap holds `ptr`.
fn owner(ptr: *mut u8) -> &'static dyn GlobalAlloc {
    let addr = ptr.addr();
    let inside = |memory: *mut Memory| (memory.addr()..memory.addr() + HEAP_SIZE).contains(&addr);
    if inside(&raw mut EXPLICIT_HEAP) {
        &EXPLICIT
    } else if inside(&raw mut IMPLICIT_HEAP) {
        &IMPLICIT
    } else {
        &SEGREGATED
    }
}

fn chosen() -> &'static dyn GlobalAlloc {
    match CHOICE.load(Ordering::Relaxed) {
        1 => &EXPLICIT,
        2 => &IMPLICIT,
        _ => &SEGREGATED,
    }
}

// SAFETY: every call goes to one of three sound allocators; a block is
// always freed or resized by the allocator whose heap holds it, which is the
// one that allocated it.
unsafe impl GlobalAlloc for Dispatch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { chosen().alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; `owner` picks the allocator that made `ptr`.
        unsafe { owner(ptr).dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        unsafe { owner(ptr).realloc(ptr, layout, new_size) }
    }
}

/// The chosen allocator's counters and heap check. Neither allocates.
fn report() -> (Stats, Result<(), HeapError>, usize) {
    fn check<A: RawAllocator>(heap: &Locked<A>) -> Result<(), HeapError> {
        heap.with_allocator(|heap| heap.check())
    }
    match CHOICE.load(Ordering::Relaxed) {
        1 => (
            EXPLICIT.stats(),
            check(&EXPLICIT),
            EXPLICIT.with_allocator(|h| h.blocks().filter(|b| b.is_free()).count()),
        ),
        2 => (
            IMPLICIT.stats(),
            check(&IMPLICIT),
            IMPLICIT.with_allocator(|h| h.blocks().filter(|b| b.is_free()).count()),
        ),
        _ => (
            SEGREGATED.stats(),
            check(&SEGREGATED),
            SEGREGATED.with_allocator(|h| h.blocks().filter(|b| b.is_free()).count()),
        ),
    }
}

/// Made-up words of one to four syllables (see `common::words`).
fn words(count: usize) -> impl Iterator<Item = String> {
    common::words(count, 4)
}

fn main() {
    let name = std::env::var("FREELIST").unwrap_or_else(|_| "segregated".into());
    let (choice, count) = match name.as_str() {
        "segregated" => (0, 200_000),
        "explicit" => (1, 50_000),
        // Every allocation walks the whole heap: keep it small.
        "implicit" => (2, 10_000),
        other => panic!("FREELIST={other}: use implicit, explicit or segregated"),
    };
    // `QUICK=1` (the chapter tests run it so) counts a tenth of the words.
    let count = if std::env::var_os("QUICK").is_some() {
        count / 10
    } else {
        count
    };
    CHOICE.store(choice, Ordering::Relaxed);
    let before = report().0;

    // ANCHOR: workload
    let mut all: Vec<String> = words(count).collect();
    all.sort_unstable();
    let mut distinct = all.clone();
    distinct.dedup();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for word in &all {
        *counts.entry(word).or_default() += 1;
    }
    assert_eq!(counts.len(), distinct.len());
    assert_eq!(counts.values().sum::<usize>(), count);
    assert!(
        counts
            .keys()
            .copied()
            .eq(distinct.iter().map(String::as_str))
    );
    let during = report().0;
    drop(counts);
    drop(distinct);
    drop(all);
    let (after, check, free_blocks) = report();
    // ANCHOR_END: workload

    check.expect("the heap checker finds nothing wrong");
    assert!(during.allocations > before.allocations + count as u64);
    assert!(
        after.live_bytes <= before.live_bytes + 1024,
        "everything was freed"
    );
    // Immediate coalescing: a handful of free blocks, not one per string.
    assert!(free_blocks < 64, "{free_blocks} free blocks");
    println!(
        "{name}: {count} words, {} allocations",
        after.allocations - before.allocations
    );
    println!("heap:        {:>10} bytes", after.heap_size);
    println!("peak live:   {:>10} bytes", during.peak_live_bytes);
    println!("utilization: {:>10.1} %", 100.0 * after.utilization());
    println!("free blocks: {free_blocks:>10} after dropping everything");
}
