//! What every allocator of the book does with bad input: one test per kind
//! of input, each asserting the behaviour of every allocator in the
//! catalog (`allocators::catalog::Book::ALL`: the bumps and every free
//! list) and of the pool,
//! through `RawAllocator` and, where the input is legal there, through
//! `Locked` as a `GlobalAlloc`.
//!
//! `imgs/bad-inputs.md` is the table of these results; each of its cells is
//! an assertion below, in the test its row names.
//!
//! Double frees and foreign pointers break `deallocate`'s contract, so what
//! happens is not promised: these tests pin down what the allocators *do*.
//! The free lists and the pool check in debug builds where it is cheap, and
//! panic with a clear message; those tests run in debug builds only. The
//! bump allocators take back only their newest block, so any other pointer
//! is ignored: that part is checked in every build.

use allocators::bump::BumpAllocator;
use allocators::catalog::Book;
use allocators::global::Locked;
use allocators::growing_bump::GrowingBump;
use allocators::heap::RegionBreak;
use allocators::os::page_size;
use allocators::pool::PoolAllocator;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use allocators::segregated::SegregatedFreeList;
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

/// Every heap's size: room for a 64 KiB-aligned block in the middle.
const HEAP: usize = 256 * 1024;

/// The heaps that `exhaustion_then_recovery` fills: a few hundred blocks
/// (fewer under Miri, where the implicit list's first-fit walks are slow).
const SMALL_HEAP: usize = if cfg!(miri) { 32 * 1024 } else { 64 * 1024 };

/// The pool's slots: large enough for the 200-byte blocks of
/// `exhaustion_then_recovery`.
const SLOT: usize = 256;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn addr(ptr: NonNull<u8>) -> usize {
    ptr.as_ptr().addr()
}

fn bump(len: usize) -> BumpAllocator<OwnedRegion> {
    BumpAllocator::new(OwnedRegion::new(len, 4096).unwrap())
}

fn growing(len: usize) -> GrowingBump {
    // Chunks of a page and up, and a limit so that huge requests fail
    // instead of mapping terabytes.
    GrowingBump::with_limits(page_size(), len)
}

fn heap_memory(len: usize) -> RegionBreak<OwnedRegion> {
    RegionBreak::new(OwnedRegion::new(len, 16).unwrap())
}

fn segregated(len: usize) -> SegregatedFreeList<RegionBreak<OwnedRegion>> {
    SegregatedFreeList::new(heap_memory(len))
}

fn pool(len: usize) -> PoolAllocator<OwnedRegion> {
    PoolAllocator::new(OwnedRegion::new(len, 4096).unwrap(), layout(SLOT, 16)).unwrap()
}

/// The column of `imgs/bad-inputs.md` that holds `which`'s results: the
/// free lists share one, named for their families (`implicit, explicit,
/// segregated free lists`); every other allocator has its own.
fn column(which: Book) -> String {
    if !which.is_free_list() {
        return which.name().replace('-', " ");
    }
    let mut families: Vec<&str> = Vec::new();
    for b in Book::ALL.into_iter().filter(|b| b.is_free_list()) {
        let family = b.name().split('-').next().unwrap_or(b.name());
        if !families.contains(&family) {
            families.push(family);
        }
    }
    format!("{} free lists", families.join(", "))
}

/// The table's columns come from the catalog: one for each allocator of
/// [`Book::ALL`] (the free lists sharing one), then the pool, which is not
/// in the catalog because it serves one size only.
#[test]
#[cfg_attr(miri, ignore = "Miri's isolation keeps it from reading the file")]
fn the_table_has_a_column_for_every_allocator() {
    let mut columns = vec!["input".to_string()];
    for which in Book::ALL {
        let column = column(which);
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    columns.extend(["pool".to_string(), "proved by".to_string()]);
    let header = format!("| {} |", columns.join(" | "));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../imgs/bad-inputs.md");
    let table = std::fs::read_to_string(path).unwrap();
    assert_eq!(table.lines().next(), Some(header.as_str()), "{path}");
}

/// Calls `$body` with `$a` bound to a fresh allocator over `$len` bytes
/// (the growing bump: mapping at most that) of each kind in the catalog,
/// [`Book::ALL`], built by `with_book!`, then of the pool; `$name` is bound
/// to its name (`pool` for the pool).
macro_rules! for_each_allocator {
    ($len:expr, |$name:ident, $a:ident| $body:block) => {
        for_each_allocator!(@built $len, |$name, built| {
            let mut $a = built;
            $body
        })
    };
    (@built $len:expr, |$name:ident, $built:ident| $body:block) => {{
        for which in Book::ALL {
            let $name = which.name();
            // The bump allocator's region is page-aligned, the free lists'
            // 16-byte aligned, as a break would give them.
            let align = if which == Book::Bump { 4096 } else { 16 };
            allocators::with_book!(which, |_unit| OwnedRegion::new($len, align).unwrap(),
                growing: growing($len),
                |make| {
                    let $built = make(()).expect("built");
                    $body
                });
        }
        {
            let $name = "pool";
            let $built = pool($len);
            $body
        }
    }};
}

/// The same, with each allocator behind `Locked`, as a `GlobalAlloc`.
macro_rules! for_each_locked {
    ($len:expr, |$name:ident, $g:ident| $body:block) => {
        for_each_allocator!(@built $len, |$name, built| {
            let $g = Locked::new(built);
            $body
        })
    };
}

/// Runs `free` and returns its panic message, or `None` if it returned.
fn panic_message(free: impl FnOnce()) -> Option<String> {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(free)).err()?;
    Some(
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

// ---- Zero size ----------------------------------------------------------------

/// A zero-size request succeeds everywhere with an aligned pointer that can
/// be freed. The bumps spend at most padding on it (so two of them may
/// share an address); the free lists and the pool give it a real block or
/// slot, so every zero-size block is distinct. (Through `GlobalAlloc` a
/// zero-size layout is the caller's undefined behaviour, so `Locked` is not
/// asked.)
#[test]
fn zero_size() {
    for_each_allocator!(HEAP, |name, a| {
        let before = a.heap_size();
        let x = a.allocate(layout(0, 1)).unwrap();
        let y = a.allocate(layout(0, 1)).unwrap();
        let z = a.allocate(layout(0, 16)).unwrap();
        assert_eq!(addr(z) % 16, 0, "{name}");
        match name {
            // The bump pointer does not move for 0 bytes at alignment 1:
            // both blocks are the same address.
            "bump" | "growing-bump" => assert_eq!(x, y, "{name}"),
            _ => {
                assert!(x != y && y != z && x != z, "{name}: a block each");
                assert!(a.heap_size() > before, "{name}: blocks cost memory");
            }
        }
        a.check().unwrap();
        // SAFETY: all three are live with these layouts, freed newest first.
        unsafe {
            a.deallocate(z, layout(0, 16));
            a.deallocate(y, layout(0, 1));
            a.deallocate(x, layout(0, 1));
        }
        a.check().unwrap();
    });
    // The bump's zero-size block at alignment 1 costs no bytes at all.
    let mut b = bump(HEAP);
    b.allocate(layout(0, 1)).unwrap();
    assert_eq!(b.heap_size(), 0);
    // The pool still refuses an alignment above its slots', size or not.
    assert_eq!(
        pool(HEAP).allocate(layout(0, 64)),
        Err(AllocError::UnsupportedAlignment)
    );
}

// ---- Sizes near usize::MAX --------------------------------------------------------

/// The largest size a `Layout` allows (`isize::MAX` at alignment 1) and
/// other absurd sizes fail with `OutOfMemory` (the pool: every size above a
/// slot, unless the alignment is already too large for it); a resize to a size no `Layout` allows (`usize::MAX`) fails with
/// `SizeOverflow`; through `Locked`, failures are null. Nothing changes.
#[test]
fn sizes_near_usize_max() {
    for_each_allocator!(HEAP, |name, a| {
        let small = a.allocate(layout(16, 8)).unwrap();
        // SAFETY: the block is live and 16 bytes long.
        unsafe { small.write_bytes(0xab, 16) };
        let before = a.heap_size();
        for (size, align) in [
            (isize::MAX as usize, 1),
            (isize::MAX as usize - 4095, 4096),
            (usize::MAX / 4, 8),
            (1 << 40, 1),
        ] {
            // The pool judges the alignment first.
            let expected = match name {
                "pool" if align > 16 => AllocError::UnsupportedAlignment,
                _ => AllocError::OutOfMemory,
            };
            assert_eq!(
                a.allocate(layout(size, align)),
                Err(expected),
                "{name}: size {size:#x}"
            );
        }
        for new_size in [usize::MAX, usize::MAX - 7, isize::MAX as usize + 1] {
            // SAFETY: `small` is live with this layout; the call fails, so it
            // stays live.
            let result = unsafe { a.reallocate(small, layout(16, 8), new_size) };
            assert_eq!(
                result,
                Err(AllocError::SizeOverflow),
                "{name}: {new_size:#x}"
            );
        }
        // SAFETY: as above; a valid but impossible size.
        let result = unsafe { a.reallocate(small, layout(16, 8), 1 << 40) };
        assert_eq!(result, Err(AllocError::OutOfMemory), "{name}");
        assert_eq!(a.heap_size(), before, "{name}: failed calls take nothing");
        // SAFETY: `small` is still live with 16 bytes.
        let bytes = unsafe { std::slice::from_raw_parts(small.as_ptr(), 16) };
        assert!(bytes.iter().all(|&b| b == 0xab), "{name}: block untouched");
        a.check().unwrap();
    });
    for_each_locked!(HEAP, |name, g| {
        // SAFETY: non-zero sizes; a null result is not used.
        let huge = unsafe { g.alloc(layout(isize::MAX as usize, 1)) };
        assert!(huge.is_null(), "{name}");
        // SAFETY: as above.
        let huge = unsafe { g.alloc_zeroed(layout(1 << 40, 4096)) };
        assert!(huge.is_null(), "{name}");
        assert_eq!(g.stats().failures, 2, "{name}");
        g.with_allocator(|a| a.check()).unwrap();
    });
}

// ---- Alignment up to and above the page size --------------------------------------

/// Alignments of 4 KiB, 8 KiB and 64 KiB are served by the bumps and the
/// free lists (through `RawAllocator` and through `Locked`); the pool
/// serves no alignment above its slots' (`UnsupportedAlignment`), and a pool
/// of page-aligned slots serves 4 KiB but not 8 KiB. An alignment larger
/// than any heap (2^40) is `OutOfMemory` for the others.
#[test]
fn alignments_up_to_and_above_the_page() {
    // Room for the worst case, which depends on where mmap puts the growing
    // bump's chunks: each over-aligned block may need a chunk of its own, of
    // twice its size, and chunk sizes double (8 chunks of up to 512 KiB).
    for_each_allocator!(8 * HEAP, |name, a| {
        let mut live = Vec::new();
        for align in [4096, 8192, 65536, page_size()] {
            for size in [1, align] {
                match a.allocate(layout(size, align)) {
                    Ok(ptr) => {
                        assert_ne!(name, "pool");
                        assert_eq!(addr(ptr) % align, 0, "{name}: align {align}");
                        assert!(a.owns(addr(ptr)..addr(ptr) + size), "{name}");
                        // SAFETY: the block is live and `size` bytes long.
                        unsafe { ptr.write_bytes(1, size) };
                        live.push((ptr, layout(size, align)));
                    }
                    Err(error) => {
                        assert_eq!(name, "pool", "{name}: align {align}: {error}");
                        assert_eq!(error, AllocError::UnsupportedAlignment);
                    }
                }
                a.check().unwrap();
            }
        }
        let expected = if name == "pool" { 0 } else { 8 };
        assert_eq!(live.len(), expected, "{name}");
        let too_much = a.allocate(layout(1, 1 << 40)).unwrap_err();
        let expected = match name {
            "pool" => AllocError::UnsupportedAlignment,
            _ => AllocError::OutOfMemory,
        };
        assert_eq!(too_much, expected, "{name}");
        for (ptr, layout) in live.into_iter().rev() {
            // SAFETY: each block is live with its layout, freed once.
            unsafe { a.deallocate(ptr, layout) };
        }
        a.check().unwrap();
    });
    // A pool made for page-aligned objects serves exactly that alignment.
    let page = layout(4096, 4096);
    let mut pages = PoolAllocator::new(OwnedRegion::new(4 * 4096, 4096).unwrap(), page).unwrap();
    assert_eq!(addr(pages.allocate(page).unwrap()) % 4096, 0);
    assert_eq!(
        pages.allocate(layout(4096, 8192)),
        Err(AllocError::UnsupportedAlignment)
    );
    for_each_locked!(HEAP, |name, g| {
        for align in [4096, 8192, 65536] {
            let l = layout(100, align);
            // SAFETY: non-zero size; a block is freed once with its layout.
            let ptr = unsafe { g.alloc(l) };
            if name == "pool" {
                assert!(ptr.is_null(), "{name}");
            } else {
                assert!(!ptr.is_null() && ptr.addr() % align == 0, "{name}");
                // SAFETY: as above.
                unsafe { g.dealloc(ptr, l) };
            }
        }
        g.with_allocator(|a| a.check()).unwrap();
    });
}

// ---- Double free ----------------------------------------------------------------

/// What each kind of allocator does with a free it must refuse: the bumps
/// ignore it (its heap size, `before` and `after`, stays the same), the pool
/// panics saying `pool_says`, and the free lists saying `lists_say`.
fn assert_refused(
    name: &str,
    message: Option<String>,
    (before, after): (usize, usize),
    pool_says: &str,
    lists_say: &str,
) {
    match (name, message) {
        ("bump" | "growing-bump", message) => {
            assert_eq!(message, None, "{name}");
            assert_eq!(after, before, "{name}: nothing moved");
        }
        (_, None) => panic!("{name} did not panic"),
        ("pool", Some(message)) => assert!(message.contains(pool_says), "{message}"),
        (_, Some(message)) => assert!(message.contains(lists_say), "{name}: {message}"),
    }
}

/// Freeing a block twice. In debug builds the free lists panic ("is not
/// allocated (double free?)") and so does the pool ("is already free
/// (double free)"), before they change anything. The bumps ignore the
/// second free: the block is no longer the newest, so nothing moves.
#[test]
#[cfg(debug_assertions)]
fn double_free() {
    for_each_allocator!(HEAP, |name, a| {
        let l = layout(48, 8);
        let x = a.allocate(l).unwrap();
        let y = a.allocate(l).unwrap();
        // SAFETY: `y` is live; freed once here.
        unsafe { a.deallocate(y, l) };
        let size = a.heap_size();
        // SAFETY: deliberately wrong (the second free of `y`), to see what
        // the allocator does: the debug checks panic before touching memory,
        // and the bumps only compare `y` with their bump pointer.
        let message = panic_message(|| unsafe { a.deallocate(y, l) });
        assert_refused(
            name,
            message,
            (size, a.heap_size()),
            "is already free (double free)",
            "is not allocated (double free?)",
        );
        a.check().unwrap();
        // The allocator still works after the refused free.
        // SAFETY: `x` is live; freed once.
        unsafe { a.deallocate(x, l) };
        a.allocate(l).unwrap();
        a.check().unwrap();
    });
    // A double free with other frees in between gets past the pool's O(1)
    // debug check, but it makes the free list cyclic, which the checker
    // reports.
    let l = layout(SLOT, 16);
    let mut p = pool(HEAP);
    let slots: Vec<_> = (0..3).map(|_| p.allocate(l).unwrap()).collect();
    // SAFETY: the third free of slots[0] is deliberately wrong; the pool
    // only writes a link into the slot, which is still its own memory.
    unsafe {
        p.deallocate(slots[0], l);
        p.deallocate(slots[1], l);
        p.deallocate(slots[0], l);
    }
    assert_eq!(
        p.check().unwrap_err().what,
        "free list longer than its count (a cycle: double free?)"
    );
}

// ---- Foreign pointers ---------------------------------------------------------------

/// Freeing a pointer that some other allocation owns. In debug builds the
/// free lists panic ("is not a payload of this heap") and so does the pool
/// ("is not a slot of this pool"). The bumps ignore it: it is not their
/// newest block.
#[test]
#[cfg(debug_assertions)]
fn foreign_pointer() {
    // A pointer into the middle of someone else's buffer (the free lists
    // look one word below it for a header; that must stay in bounds).
    let mut foreign = vec![0u64; 64];
    let stranger = NonNull::from(&mut foreign[16]).cast::<u8>();
    for_each_allocator!(HEAP, |name, a| {
        let l = layout(48, 8);
        let mine = a.allocate(l).unwrap();
        let size = a.heap_size();
        // SAFETY: deliberately wrong, to see what the allocator does: the
        // debug checks panic before touching memory, and the bumps only
        // compare the pointer with their bump pointer.
        let message = panic_message(|| unsafe { a.deallocate(stranger, l) });
        assert_refused(
            name,
            message,
            (size, a.heap_size()),
            "is not a slot of this pool",
            "is not a payload of this heap",
        );
        a.check().unwrap();
        // SAFETY: `mine` is live; freed once.
        unsafe { a.deallocate(mine, l) };
        a.check().unwrap();
    });
    assert!(
        foreign.iter().all(|&word| word == 0),
        "nobody wrote into it"
    );
}

// ---- Exhaustion -------------------------------------------------------------------

/// Allocating until the heap is full ends in `OutOfMemory` (null through
/// `Locked`), not a crash; after freeing (the newest blocks, for the bumps,
/// which take back only those), allocation succeeds again and the checker
/// passes.
#[test]
fn exhaustion_then_recovery() {
    let l = layout(200, 8);
    for_each_allocator!(SMALL_HEAP, |name, a| {
        let mut live = Vec::new();
        let error = loop {
            match a.allocate(l) {
                Ok(ptr) => live.push(ptr),
                Err(error) => break error,
            }
        };
        assert_eq!(error, AllocError::OutOfMemory, "{name}");
        assert!(live.len() > 100, "{name}: {}", live.len());
        a.check().unwrap();
        // Free the newest half: every allocator takes those back.
        let keep = live.len() / 2;
        for ptr in live.drain(keep..).rev() {
            // SAFETY: live, freed once, newest first.
            unsafe { a.deallocate(ptr, l) };
        }
        a.check().unwrap();
        for _ in 0..10 {
            live.push(a.allocate(l).unwrap());
        }
        a.check().unwrap();
    });
    for_each_locked!(SMALL_HEAP, |name, g| {
        let mut live = Vec::new();
        loop {
            // SAFETY: non-zero size.
            let ptr = unsafe { g.alloc(l) };
            if ptr.is_null() {
                break;
            }
            live.push(ptr);
        }
        assert_eq!(g.stats().failures, 1, "{name}");
        let newest = live.pop().unwrap();
        // SAFETY: live with this layout, freed once.
        unsafe { g.dealloc(newest, l) };
        // SAFETY: non-zero size.
        let again = unsafe { g.alloc(l) };
        assert!(!again.is_null(), "{name}");
        g.with_allocator(|a| a.check()).unwrap();
    });
}

// ---- ThreadCached ---------------------------------------------------------------

/// The same bad inputs for `ThreadCached`, over a segregated free list. It
/// is a `GlobalAlloc` only, so a zero-size request is the caller's undefined
/// behaviour and is not tried. Each test runs on a thread of its own, so
/// that the thread's cache belongs to this test's heap and goes back to it
/// when the thread exits. `imgs/bad-inputs.md` has a second table for it.
mod thread_cached {
    use super::{HEAP, SMALL_HEAP, layout, segregated};
    use allocators::global::Locked;
    use allocators::heap::RegionBreak;
    use allocators::os::page_size;
    use allocators::raw_allocator::RawAllocator;
    use allocators::region::OwnedRegion;
    use allocators::segregated::SegregatedFreeList;
    use allocators::thread_cache::ThreadCached;
    use std::alloc::GlobalAlloc;
    use std::sync::OnceLock;

    type Heap = SegregatedFreeList<RegionBreak<OwnedRegion>>;

    /// A `ThreadCached` over this test's heap, a `static` so that it
    /// outlives every thread.
    fn cached(slot: &'static OnceLock<Locked<Heap>>, len: usize) -> ThreadCached<Heap> {
        ThreadCached::new(slot.get_or_init(|| Locked::new(segregated(len))))
    }

    /// Runs `f` on a new thread and waits until it has exited, its cache's
    /// destructor included.
    fn on_thread(f: impl FnOnce() + Send) {
        std::thread::scope(|s| s.spawn(f).join().unwrap());
    }

    /// Runs `f` on a new thread with a `ThreadCached` over this test's heap
    /// (in `slot`), then checks the shared heap: once after `f`, and again
    /// after the thread's cache has been given back.
    fn on_own_heap(
        slot: &'static OnceLock<Locked<Heap>>,
        len: usize,
        f: impl FnOnce(&ThreadCached<Heap>) + Send,
    ) {
        let heap = cached(slot, len);
        on_thread(|| {
            f(&heap);
            heap.check().unwrap();
        });
        heap.check().unwrap();
    }

    /// Whether the shared heap holds `[ptr, ptr + size)`.
    fn in_shared(heap: &ThreadCached<Heap>, ptr: *mut u8, size: usize) -> bool {
        heap.shared()
            .with_allocator(|h| h.owns(ptr.addr()..ptr.addr() + size))
    }

    /// Sizes no heap can serve are null through `alloc` and `alloc_zeroed`
    /// (they bypass the cache, and `Locked` counts them); a `realloc` to a
    /// size no `Layout` allows, or to one no heap has, is null and the
    /// block stays, for a cached block and for an uncached one.
    #[test]
    fn sizes_near_usize_max() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        on_own_heap(&SLOT, HEAP, |heap| {
            for (size, align) in [(isize::MAX as usize, 1), (usize::MAX / 4, 8), (1 << 40, 1)] {
                // SAFETY: non-zero sizes; a null result is not used.
                assert!(unsafe { heap.alloc(layout(size, align)) }.is_null());
                // SAFETY: as above.
                assert!(unsafe { heap.alloc_zeroed(layout(size, align)) }.is_null());
            }
            assert_eq!(heap.shared().stats().failures, 6);
            // A cached size (16 bytes) and an uncached one (1000 bytes).
            for size in [16, 1000] {
                let l = layout(size, 8);
                // SAFETY: non-zero size.
                let block = unsafe { heap.alloc(l) };
                assert!(!block.is_null());
                // SAFETY: the block is live and `size` bytes long.
                unsafe { block.write_bytes(0xab, size) };
                for new_size in [usize::MAX, isize::MAX as usize + 1, 1 << 40] {
                    // SAFETY: `block` is live with `l`; the call fails, so
                    // it stays live.
                    let moved = unsafe { heap.realloc(block, l, new_size) };
                    assert!(moved.is_null(), "{size} -> {new_size:#x}");
                }
                // SAFETY: the block is still live, `size` bytes long.
                let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                assert!(bytes.iter().all(|&b| b == 0xab), "block untouched");
                heap.check().unwrap();
                // SAFETY: live with `l`, freed once.
                unsafe { heap.dealloc(block, l) };
            }
        });
    }

    /// Alignments above the cache's 16 bypass it: 4 KiB, 64 KiB and the page
    /// size are served by the shared heap, aligned; 2^40 is null.
    #[test]
    fn alignments_up_to_and_above_the_page() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        on_own_heap(&SLOT, HEAP, |heap| {
            for align in [4096, 65536, page_size()] {
                let l = layout(100, align);
                // SAFETY: non-zero size; freed once with its layout.
                let ptr = unsafe { heap.alloc(l) };
                assert!(!ptr.is_null(), "align {align}");
                assert_eq!(ptr.addr() % align, 0, "align {align}");
                assert!(in_shared(heap, ptr, 100), "align {align}");
                assert_eq!(heap.cached_blocks(), 0, "the cache is not involved");
                // SAFETY: as above.
                unsafe { heap.dealloc(ptr, l) };
                heap.check().unwrap();
            }
            // SAFETY: non-zero size; a null result is not used.
            assert!(unsafe { heap.alloc(layout(1, 1 << 40)) }.is_null());
        });
    }

    /// Allocating 200-byte blocks (a cached size) until the heap is full
    /// ends in null; after one `dealloc`, `alloc` succeeds; the checker
    /// passes throughout.
    #[test]
    fn exhaustion_then_recovery() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        let l = layout(200, 8);
        on_own_heap(&SLOT, SMALL_HEAP, |heap| {
            let mut live = Vec::new();
            loop {
                // SAFETY: non-zero size.
                let ptr = unsafe { heap.alloc(l) };
                if ptr.is_null() {
                    break;
                }
                live.push(ptr);
            }
            assert!(live.len() > 100, "{}", live.len());
            heap.check().unwrap();
            let newest = live.pop().unwrap();
            // SAFETY: live with this layout, freed once.
            unsafe { heap.dealloc(newest, l) };
            // SAFETY: non-zero size.
            let again = unsafe { heap.alloc(l) };
            assert!(!again.is_null());
            live.push(again);
            heap.check().unwrap();
            for ptr in live {
                // SAFETY: live with this layout, freed once.
                unsafe { heap.dealloc(ptr, l) };
            }
        });
    }

    /// A foreign pointer of a cached size is not checked: the cache takes
    /// it, writing its link into the foreign memory; the checker reports
    /// it, and the next request of that size gets it back.
    #[test]
    fn foreign_pointer_of_a_cached_size() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        let l = layout(48, 8);
        on_own_heap(&SLOT, HEAP, |heap| {
            let mut foreign = vec![0u64; 64];
            let stranger = std::ptr::from_mut(&mut foreign[16]).cast::<u8>();
            // SAFETY: non-zero size. The refill leaves blocks in the cache.
            let mine = unsafe { heap.alloc(l) };
            assert!(!mine.is_null());
            // SAFETY: deliberately wrong, to see what the cache does: it
            // writes one word (its link) into the first 8 bytes, which
            // `stranger` may write.
            unsafe { heap.dealloc(stranger, l) };
            assert_eq!(
                heap.check().unwrap_err().what,
                "cached block not in the heap"
            );
            // SAFETY: non-zero size; the foreign pointer comes back first.
            let back = unsafe { heap.alloc(l) };
            assert_eq!(back, stranger);
            heap.check().unwrap();
            assert_ne!(foreign[16], 0, "the link was written into it");
            assert!(foreign[..16].iter().chain(&foreign[17..]).all(|&w| w == 0));
            // SAFETY: `mine` is live with `l`, freed once.
            unsafe { heap.dealloc(mine, l) };
        });
    }

    /// The two cases that end the process run in a child: this test binary
    /// again, with only the test `name` and with this variable set to it.
    const CASE: &str = "BAD_INPUTS_CASE";

    /// In the parent, runs the test `name` in a child and asserts that it
    /// was killed by `SIGABRT` and printed every one of `messages`; in the
    /// child, runs `trip`, which must not return.
    #[cfg(debug_assertions)]
    fn expect_abort(name: &str, trip: impl FnOnce(), messages: &[&str]) {
        use std::os::unix::process::ExitStatusExt;
        if std::env::var_os(CASE).is_some_and(|case| case == name) {
            trip();
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CASE, name)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGABRT),
            "{name}: {}; stderr:\n{stderr}",
            output.status
        );
        for message in messages {
            assert!(
                stderr.contains(message),
                "{name}: no {message:?}:\n{stderr}"
            );
        }
    }

    /// A double free of a block that is still in this thread's cache aborts
    /// in debug builds, with a message, before the cache changes.
    #[test]
    #[cfg(debug_assertions)]
    #[cfg_attr(miri, ignore = "Miri cannot start a child process")]
    fn double_free_aborts() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        expect_abort(
            "bad_inputs::thread_cached::double_free_aborts",
            || {
                let heap = cached(&SLOT, HEAP);
                let l = layout(48, 8);
                on_thread(|| {
                    // SAFETY: deliberately wrong: the second `dealloc` frees
                    // a block that is already cached.
                    unsafe {
                        let x = heap.alloc(l);
                        heap.dealloc(x, l);
                        heap.dealloc(x, l);
                    }
                });
            },
            &["allocators: ThreadCached: block freed twice (it is already cached)"],
        );
    }

    /// A foreign pointer of an uncached size goes to the shared heap, whose
    /// debug check panics; `Locked` turns the panic into an abort.
    #[test]
    #[cfg(debug_assertions)]
    #[cfg_attr(miri, ignore = "Miri cannot start a child process")]
    fn foreign_pointer_of_an_uncached_size_aborts() {
        static SLOT: OnceLock<Locked<Heap>> = OnceLock::new();
        expect_abort(
            "bad_inputs::thread_cached::foreign_pointer_of_an_uncached_size_aborts",
            || {
                let heap = cached(&SLOT, HEAP);
                let l = layout(1000, 8);
                let mut foreign = vec![0u64; 256];
                let stranger = std::ptr::from_mut(&mut foreign[16]).cast::<u8>();
                // SAFETY: deliberately wrong: `stranger` is not the heap's.
                unsafe { heap.dealloc(stranger, l) };
            },
            &[
                "is not a payload of this heap",
                "allocators: a panic inside the allocator; aborting",
            ],
        );
    }
}
