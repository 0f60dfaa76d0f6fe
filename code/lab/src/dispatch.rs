//! The real-program driver's global allocator: one process, one allocator,
//! chosen by name before `main` runs.
//!
//! [`Dispatch`] picks its allocator on its very first call from
//! `LAB_ALLOCATOR`, read with `libc::getenv` (which does not allocate), and
//! keeps it for the life of the process, so every block comes from the one
//! allocator and nothing needs routing back. Unset, the process runs on
//! `System` (the driver itself).
//!
//! The names are the peers' ([`PEERS`]) and then every one of the book's
//! ([`Book::ALL`]), built by [`allocators::with_book!`] over a
//! `MAP_NORESERVE` reservation of [`RESERVE`] bytes on first use; then the
//! book's global-only allocators ([`GLOBAL_ONLY`]): `thread-cached`, the
//! book's `ThreadCached` in front of segregated free lists over such a
//! reservation.

use crate::peers::TalcPeer;
use crate::reserve::{OnFirstUse, reserve};
use allocators::catalog::{AnyBook, Book, GLOBAL_ONLY};
use allocators::global::Locked;
use allocators::growing_bump::GrowingBump;
use allocators::heap::RegionBreak;
use allocators::os::Mapping;
use allocators::raw_allocator::{AllocError, HeapError, RawAllocator};
use allocators::region::{Buffer, Region};
use allocators::segregated::SegregatedFreeList;
use allocators::stats::Stats;
use allocators::thread_cache::ThreadCached;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that makes a process a child, and names its
/// allocator.
pub const VAR: &CStr = c"LAB_ALLOCATOR";

/// Addresses reserved for each free-list and bump heap, and for talc. Only
/// the pages the heap grows into are ever touched (`MAP_NORESERVE`).
pub const RESERVE: usize = 32 << 30;

/// The peers, by name, with what the table calls them.
pub const PEERS: [(&str, &str); 3] = [
    ("system", "glibc malloc (`System`)"),
    ("mimalloc", "`mimalloc` 0.1"),
    ("talc", "`talc` 5 (behind a mutex)"),
];

/// Every allocator by name, in the order of the table: the peers, then
/// [`Book::ALL`], then [`GLOBAL_ONLY`].
pub const NAMES: [&str; PEERS.len() + Book::ALL.len() + GLOBAL_ONLY.len()] = {
    let mut names = [""; PEERS.len() + Book::ALL.len() + GLOBAL_ONLY.len()];
    let mut i = 0;
    while i < PEERS.len() {
        names[i] = PEERS[i].0;
        i += 1;
    }
    let mut j = 0;
    while j < Book::ALL.len() {
        names[PEERS.len() + j] = Book::ALL[j].name();
        j += 1;
    }
    let mut k = 0;
    while k < GLOBAL_ONLY.len() {
        names[PEERS.len() + Book::ALL.len() + k] = GLOBAL_ONLY[k].0;
        k += 1;
    }
    names
};

/// What the table calls the allocator `name`, if there is one.
pub fn label(name: &str) -> Option<&'static str> {
    if let Some((_, label)) = PEERS.iter().find(|(n, _)| *n == name) {
        return Some(label);
    }
    if name == THREAD_CACHED_NAME {
        return Some("book `ThreadCached` (segregated lists)");
    }
    Some(match Book::from_name(name)? {
        Book::Bump => "book `BumpAllocator` (never reuses)",
        Book::GrowingBump => "book `GrowingBump` (never reuses)",
        Book::Implicit => "book implicit list, first fit",
        Book::ImplicitNext => "book implicit list, next fit",
        Book::ImplicitBest => "book implicit list, best fit",
        Book::Explicit => "book explicit list, LIFO",
        Book::ExplicitAddr => "book explicit list, address-ordered",
        Book::Segregated => "book segregated lists",
    })
}

/// The book's allocator `which` over a reservation of its own, as
/// [`allocators::with_book!`] builds it; `GrowingBump` maps its own chunks.
fn build(which: Book) -> Result<AnyBook<Mapping>, AllocError> {
    AnyBook::new(which, || reserve(RESERVE).ok(), GrowingBump::new).ok_or(AllocError::OutOfMemory)
}

/// The chosen book allocator, built on its first call. Only a process that
/// chose one of the book's ever touches it.
static BOOK: Locked<OnFirstUse<AnyBook<Mapping>>> =
    Locked::new(OnFirstUse::new(|| match chosen_book() {
        Some(which) => build(which),
        None => Err(AllocError::OutOfMemory),
    }));

/// The name of the book's `ThreadCached`.
const THREAD_CACHED_NAME: &str = GLOBAL_ONLY[0].0;

/// The shared heap behind [`THREAD_CACHED`]: segregated free lists over a
/// reservation of their own, built on first use.
type CachedHeap = OnFirstUse<SegregatedFreeList<RegionBreak<Mapping>>>;
static CACHED_HEAP: Locked<CachedHeap> = Locked::new(OnFirstUse::new(|| {
    Ok(SegregatedFreeList::new(RegionBreak::new(reserve(RESERVE)?)))
}));

/// The book's per-thread caches in front of [`CACHED_HEAP`].
static THREAD_CACHED: ThreadCached<CachedHeap> = ThreadCached::new(&CACHED_HEAP);

/// talc over a reservation of its own, claimed whole on first use, behind
/// the same `Locked` (a `std::sync::Mutex`) as the book's allocators: talc's
/// core, like theirs, takes `&mut self`. The reservation is never unmapped
/// (the allocator lives as long as the process), so the `Buffer` lent to
/// talc is `'static`.
static TALC: Locked<OnFirstUse<TalcPeer<'static>>> = Locked::new(OnFirstUse::new(|| {
    let heap = reserve(RESERVE)?;
    let (start, len) = (heap.start(), heap.len());
    std::mem::forget(heap);
    // SAFETY: the mapping is valid for reads and writes of `len` bytes, and
    // since its owner was forgotten it stays mapped for the rest of the
    // process, used by nothing but this allocator.
    let region = unsafe { Buffer::from_raw_parts(start, len) };
    TalcPeer::new(region).ok_or(AllocError::OutOfMemory)
}));

/// The chosen allocator: 0 until the first call decides, then 1 + its index
/// in [`NAMES`], or `INVALID` if `LAB_ALLOCATOR` names none (the process
/// then runs on `System` and the driver reports the error).
static CHOICE: AtomicU8 = AtomicU8::new(0);
const INVALID: u8 = u8::MAX;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;
const TALC_CHOICE: u8 = 3;
/// The first choice that is one of the book's.
const FIRST_BOOK: u8 = PEERS.len() as u8 + 1;
/// The choice of `thread-cached`.
const THREAD_CACHED_CHOICE: u8 = FIRST_BOOK + Book::ALL.len() as u8;

/// Reads `LAB_ALLOCATOR` without allocating. Unset means the driver, which
/// runs on `System`.
fn choose() -> u8 {
    // SAFETY: `VAR` is a NUL-terminated string; getenv returns null or a
    // pointer into the environment, which nothing modifies during this call
    // (it runs on the first allocation, before `main` starts any thread).
    let value = unsafe { libc::getenv(VAR.as_ptr()) };
    if value.is_null() {
        return SYSTEM;
    }
    // SAFETY: a non-null getenv result is a NUL-terminated string.
    let value = unsafe { CStr::from_ptr(value) }.to_bytes();
    NAMES
        .iter()
        .position(|name| name.as_bytes() == value)
        .map_or(INVALID, |i| i as u8 + 1)
}

#[inline]
fn choice() -> u8 {
    match CHOICE.load(Ordering::Relaxed) {
        0 => {
            // Two threads deciding at once would decide the same.
            let c = choose();
            CHOICE.store(c, Ordering::Relaxed);
            c
        }
        c => c,
    }
}

/// The name of the allocator this process runs on, or `None` if
/// `LAB_ALLOCATOR` names none.
pub fn chosen() -> Option<&'static str> {
    NAMES.get(usize::from(choice()).wrapping_sub(1)).copied()
}

/// The book's allocator this process runs on, if it is one of them.
fn chosen_book() -> Option<Book> {
    let i = choice().checked_sub(FIRST_BOOK)?;
    Book::ALL.get(usize::from(i)).copied()
}

/// The `#[global_allocator]` of the `workload` binary.
pub struct Dispatch;

/// Runs `$call` on the chosen allocator: a `match`, so each arm inlines.
macro_rules! dispatch {
    (|$a:ident| $call:expr) => {
        match choice() {
            MIMALLOC => {
                let $a = &mimalloc::MiMalloc;
                $call
            }
            TALC_CHOICE => {
                let $a = &TALC;
                $call
            }
            THREAD_CACHED_CHOICE => {
                let $a = &THREAD_CACHED;
                $call
            }
            SYSTEM | INVALID => {
                let $a = &System;
                $call
            }
            _ => {
                let $a = &BOOK;
                $call
            }
        }
    };
}

// SAFETY: each call goes to one sound allocator, and always the same one:
// the choice is made on the first call and never changes, so a block is
// freed or resized by the allocator that made it.
unsafe impl GlobalAlloc for Dispatch {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        dispatch!(|a| unsafe { a.alloc(layout) })
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        dispatch!(|a| unsafe { a.alloc_zeroed(layout) })
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; the block came from this same allocator.
        dispatch!(|a| unsafe { a.dealloc(ptr, layout) })
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded; the block came from this same allocator.
        dispatch!(|a| unsafe { a.realloc(ptr, layout, new_size) })
    }
}

/// The counters and heap check of an allocator behind `Locked` (the book's,
/// and talc), or `None` for `System` and mimalloc, which keep their own
/// books. For `thread-cached`, the counters are the shared heap's: they
/// count the batches of refills and drains, not the program's calls, and
/// the check is `ThreadCached::check` (the shared heap, and the calling
/// thread's cache).
pub fn heap_stats() -> Option<(Stats, Result<(), HeapError>)> {
    fn of<A: RawAllocator>(heap: &Locked<A>) -> Option<(Stats, Result<(), HeapError>)> {
        Some((heap.stats(), heap.with_allocator(|a| a.check())))
    }
    match choice() {
        TALC_CHOICE => of(&TALC),
        THREAD_CACHED_CHOICE => Some((CACHED_HEAP.stats(), THREAD_CACHED.check())),
        SYSTEM | MIMALLOC | INVALID => None,
        _ => of(&BOOK),
    }
}
