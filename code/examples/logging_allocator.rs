//! A global allocator that logs every large allocation, without allocating
//! while it logs.
//!
//! `cargo run --example logging_allocator`
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

// ANCHOR: allocator
/// Logs allocations of at least 1 MiB to standard error, then lets the
/// system allocator serve them.
struct Logging;

/// How many lines were logged (the demo checks it).
static LOGGED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments; the
// logging reads only `layout` and allocates nothing.
unsafe impl GlobalAlloc for Logging {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        log(layout);
        // SAFETY: the caller's guarantees for `alloc` carry over.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Forwarded rather than left to the default (alloc, then write
        // zeros), so that `vec![0; n]` keeps System's free zeroed pages.
        log(layout);
        // SAFETY: the caller's guarantees for `alloc_zeroed` carry over.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Logs a request of at least 1 MiB to standard error.
fn log(layout: Layout) {
    if layout.size() >= 1 << 20 {
        // Not `eprintln!`: formatting into a `String` would allocate, and
        // this *is* the allocator. Write into a buffer on the stack and hand
        // it straight to the kernel.
        let mut line = [0u8; 64];
        let len = format_line(&mut line, layout.size());
        // SAFETY: `line[..len]` is initialized; fd 2 is stderr.
        unsafe { libc::write(2, line.as_ptr().cast(), len) };
        LOGGED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes "alloc N bytes\n" into `buf` and returns its length: integer
/// formatting by hand, because `format!` allocates.
fn format_line(buf: &mut [u8; 64], mut n: usize) -> usize {
    let mut digits = [0u8; 20];
    let mut count = 0;
    loop {
        digits[count] = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut len = 0;
    for &b in b"alloc "
        .iter()
        .chain(digits[..count].iter().rev())
        .chain(b" bytes\n")
    {
        buf[len] = b;
        len += 1;
    }
    len
}

#[global_allocator]
static GLOBAL: Logging = Logging;
// ANCHOR_END: allocator

fn main() {
    // ANCHOR: main
    let small = vec![0u8; 1000]; // not logged
    let big = vec![0u8; 3 << 20]; // logged: "alloc 3145728 bytes"
    assert_eq!(small.len() + big.len(), 1000 + (3 << 20));
    assert_eq!(LOGGED.load(Ordering::Relaxed), 1);
    // ANCHOR_END: main
}
