//! A failure inside the global allocator ends the process with `SIGABRT`
//! and a message, instead of unwinding (undefined behaviour) or deadlocking.
//!
//! This test binary's global allocator is a `Locked` segregated free list
//! over a static buffer, with a tripwire that panics on one request size, as
//! a failed invariant check would. Each test re-runs this same binary as a
//! child process with `GLOBAL_ABORT_CASE` set; the child trips a check while
//! the allocator's lock is held, and the parent asserts that the child was
//! killed by `SIGABRT` within a time limit and said why on standard error.
//! Without the abort, the child would hang: the panic allocates, and that
//! allocation waits for the lock its own thread holds.
//!
//! Miri cannot run child processes, so these tests are skipped under it.

use allocators::bump::BumpAllocator;
use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::raw_allocator::{AllocError, HeapError, RawAllocator};
use allocators::region::{Buffer, OwnedRegion};
use allocators::segregated::SegregatedFreeList;
use std::alloc::{GlobalAlloc, Layout};
use std::io::Read;
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// The environment variable that makes a run of this binary a child, and
/// names the case it runs.
const CASE: &str = "GLOBAL_ABORT_CASE";

/// The request size that trips the wire. Nothing else asks for exactly this.
const TRIP_SIZE: usize = 987_653;

/// A wrapper that panics on one request size, the way a failed invariant
/// check panics, and otherwise forwards to the allocator it wraps.
struct Tripwire<A>(A);

// SAFETY: every call goes to `A`, which keeps the promises (the tripwire
// only aborts).
unsafe impl<A: RawAllocator> RawAllocator for Tripwire<A> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        assert!(layout.size() != TRIP_SIZE, "tripwire: invariant violated");
        self.0.allocate(layout)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantees are the wrapped allocator's.
        unsafe { self.0.deallocate(ptr, layout) }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: as in `deallocate`.
        unsafe { self.0.reallocate(ptr, old, new_size) }
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        self.0.for_each_region(visit)
    }

    fn heap_size(&self) -> usize {
        self.0.heap_size()
    }

    fn footprint(&self) -> usize {
        self.0.footprint()
    }

    fn check(&self) -> Result<(), HeapError> {
        self.0.check()
    }
}

const HEAP_SIZE: usize = 64 * 1024 * 1024;

/// The heap, in `.bss`: no memory until a page is touched.
#[repr(C, align(4096))]
struct Memory([u8; HEAP_SIZE]);
static mut MEMORY: Memory = Memory([0; HEAP_SIZE]);

type Heap = Tripwire<SegregatedFreeList<RegionBreak<Buffer<'static>>>>;

// Not under Miri: these tests start child processes, which Miri cannot, and
// Stacked Borrows forbids what every free-list allocator does in `dealloc`
// when a `Box` is freed while it is still a protected function argument
// (std frees a thread's boxed closure so): writing the free-list links into
// the freed bytes. The rule is an open question of Rust's aliasing model.
#[cfg_attr(not(miri), global_allocator)]
static HEAP: Locked<Heap> = Locked::new(Tripwire(SegregatedFreeList::new(RegionBreak::new(
    // SAFETY: `&raw mut` takes MEMORY's address without a reference, and
    // only this allocator ever touches MEMORY.
    unsafe {
        Buffer::from_raw_parts(
            NonNull::new_unchecked((&raw mut MEMORY).cast::<u8>()),
            HEAP_SIZE,
        )
    },
))));

/// Runs this test binary again, with only the test `name` and with
/// `GLOBAL_ABORT_CASE=name`, and returns how it ended and its standard
/// error. Fails if it runs for more than a minute: a deadlock.
fn run_child(name: &str) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, name)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).unwrap();
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{name}: the child hung (a deadlock?) instead of aborting");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().unwrap())
}

/// In the parent, runs the child and checks how it died; in the child,
/// runs `trip`, which must not return.
fn expect_abort(name: &str, trip: impl FnOnce(), message: &str) {
    if std::env::var_os(CASE).is_some_and(|case| case == name) {
        trip();
        // Reached only if nothing aborted: the parent sees a normal exit.
        return;
    }
    let (status, stderr) = run_child(name);
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "{name}: expected SIGABRT, got {status}; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("allocators: ") && stderr.contains(message),
        "{name}: stderr lacks {message:?}:\n{stderr}"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn panic_inside_alloc_aborts() {
    expect_abort(
        "panic_inside_alloc_aborts",
        || {
            let layout = Layout::from_size_align(TRIP_SIZE, 1).unwrap();
            // SAFETY: a non-zero size. The call is meant to abort.
            let block = unsafe { HEAP.alloc(layout) };
            std::hint::black_box(block);
        },
        // The panic allocates its payload through HEAP, on this thread.
        "re-entered by the thread that holds its lock",
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn allocating_inside_the_allocator_aborts() {
    expect_abort(
        "allocating_inside_the_allocator_aborts",
        || {
            HEAP.with_allocator(|_| {
                // Allocates through HEAP while holding its lock.
                std::hint::black_box(vec![1u8; 64]);
            });
        },
        "re-entered by the thread that holds its lock",
    );
}

/// The segregated list catches a double free in debug builds only.
#[test]
#[cfg(debug_assertions)]
#[cfg_attr(miri, ignore)]
fn double_free_aborts() {
    expect_abort(
        "double_free_aborts",
        || {
            let layout = Layout::from_size_align(32, 8).unwrap();
            // SAFETY: deliberately wrong: the second `dealloc` frees a block
            // that is already free. The heap checker of debug builds
            // catches it before it touches the heap.
            unsafe {
                let a = HEAP.alloc(layout);
                let b = HEAP.alloc(layout);
                HEAP.dealloc(a, layout);
                HEAP.dealloc(a, layout);
                HEAP.dealloc(b, layout);
            }
        },
        "re-entered by the thread that holds its lock",
    );
}

/// A `Locked` that is not the global allocator: the panic can allocate
/// (through HEAP) and start unwinding, and the guard aborts before it
/// leaves the `GlobalAlloc` method.
#[test]
#[cfg_attr(miri, ignore)]
fn panic_in_a_local_locked_aborts() {
    expect_abort(
        "panic_in_a_local_locked_aborts",
        || {
            let region = OwnedRegion::new(4096, 16).unwrap();
            let local = Locked::new(Tripwire(BumpAllocator::new(region)));
            let layout = Layout::from_size_align(TRIP_SIZE, 1).unwrap();
            // SAFETY: a non-zero size. The call is meant to abort.
            let block = unsafe { local.alloc(layout) };
            std::hint::black_box(block);
        },
        "a panic inside the allocator",
    );
}

/// The global allocator still works normally in the parent.
#[test]
#[cfg_attr(miri, ignore = "HEAP is not the global allocator under Miri")]
fn normal_use_does_not_abort() {
    let v: Vec<u64> = (0..10_000).collect();
    assert_eq!(v.iter().sum::<u64>(), 49_995_000);
    assert!(HEAP.stats().allocations > 0);
    HEAP.with_allocator(|heap| heap.check()).unwrap();
}
