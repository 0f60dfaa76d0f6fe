//! A free-list heap that grows by moving the program break, as a C `malloc`
//! of the 1980s did: every allocation of this program, `Vec`s and `String`s
//! included, comes from a [`SegregatedFreeList`] whose memory is `sbrk`'s.
//!
//! `cargo run --example sbrk_heap`
//!
//! # Hazards
//!
//! - The break is one per process, and glibc's `malloc` moves it too. This
//!   program makes Rust's allocations go through our heap, so `malloc` is not
//!   called by Rust code; if C code in the process calls it between two of our
//!   `sbrk` calls, our new memory no longer follows our heap. The heap checks
//!   for that ([`HeapMemory::extend`] returns the old break, which must be
//!   the heap's end) and then reports out of memory rather than use memory
//!   that is not contiguous; it never hands out memory that `malloc` owns.
//! - `sbrk` is not thread-safe. [`Locked`] serialises our calls, and
//!   [`allocators::os::sbrk`] takes a lock; nothing can serialise them
//!   against `malloc` in another thread.
//! - brk/sbrk are LEGACY in SUSv2 and gone from POSIX.1-2001; Linux and glibc
//!   still provide them. Everything else in the book grows heaps inside
//!   `mmap`'d regions instead ([`RegionBreak`](allocators::heap::RegionBreak)).
use allocators::global::Locked;
use allocators::heap::HeapMemory;
use allocators::os::{program_break, sbrk};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::segregated::SegregatedFreeList;
use std::ptr::NonNull;

// ANCHOR: program_break
/// The program break as `HeapMemory`: `extend` is `sbrk`.
struct ProgramBreak;

// SAFETY: `sbrk(n)` returns the old break and makes the `n` bytes above it
// ours; the heap checks that each extension starts where the last one ended,
// so memory that someone else took in between is never used.
unsafe impl HeapMemory for ProgramBreak {
    fn extend(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        let increment = isize::try_from(bytes).map_err(|_| AllocError::OutOfMemory)?;
        // SAFETY: the new memory is used only by this heap, which never
        // shrinks the break; see the hazards above.
        let old = unsafe { sbrk(increment) }.map_err(|_| AllocError::OutOfMemory)?;
        NonNull::new(old).ok_or(AllocError::OutOfMemory)
    }
}

#[global_allocator]
static HEAP: Locked<SegregatedFreeList<ProgramBreak>> =
    Locked::new(SegregatedFreeList::new(ProgramBreak));
// ANCHOR_END: program_break

fn main() {
    // The runtime allocated a little before `main`: the heap exists.
    let start = HEAP.with_allocator(|heap| heap.blocks().next().map(|b| b.addr));
    let start = start.expect("the runtime allocated before main");
    let before = program_break();

    // ANCHOR: grow
    let mut lines: Vec<String> = (0..20_000).map(|i| format!("line {i:05}")).collect();
    lines.retain(|line| !line.ends_with('7'));
    let total: usize = lines.iter().map(String::len).sum();
    let after = program_break();
    // The heap grew by moving the break: it ends exactly there.
    let heap_size = HEAP.stats().heap_size;
    assert!(after > before, "the break moved up");
    assert!(start < after.addr() && after.addr() - heap_size <= start);
    // ANCHOR_END: grow
    assert_eq!(lines.len(), 18_000);
    assert_eq!(total, 18_000 * 10);
    drop(lines);
    HEAP.with_allocator(|heap| heap.check())
        .expect("a consistent heap");

    println!("heap starts at   {start:#x}");
    println!("break before     {before:p}");
    println!("break after      {after:p}");
    println!("heap size        {heap_size} bytes");
    println!("still live       {} bytes", HEAP.stats().live_bytes);
}
