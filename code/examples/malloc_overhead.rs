//! Internal fragmentation, measured: how many bytes does glibc's `malloc`
//! really set aside for a request?
//!
//! `cargo run --example malloc_overhead`
use std::io;

fn main() -> io::Result<()> {
    // ANCHOR: main
    let align = std::mem::align_of::<libc::max_align_t>();
    println!("{:>9} {:>7} {:>7}", "requested", "usable", "unasked");
    for requested in [1, 8, 24, 25, 40, 100, 1000, 4000] {
        // SAFETY: malloc may be called with any size; we check for null.
        let block = unsafe { libc::malloc(requested) };
        if block.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `block` came from malloc and has not been freed.
        let usable = unsafe { libc::malloc_usable_size(block) };
        assert!(usable >= requested, "at least the size asked for");
        assert_eq!(block as usize % align, 0, "aligned for any type");
        println!("{requested:>9} {usable:>7} {:>7}", usable - requested);
        // SAFETY: `block` came from malloc, and is freed once.
        unsafe { libc::free(block) };
    }
    // ANCHOR_END: main
    Ok(())
}
