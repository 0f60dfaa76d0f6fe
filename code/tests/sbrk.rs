//! The program break, tested in a binary of its own.
//!
//! `sbrk` moves a per-process pointer that glibc's malloc moves too, so these
//! checks live in one test function (never run concurrently with each other)
//! in a test binary that runs nothing else. Miri has no `sbrk`, so they are
//! skipped there.

use allocators::os::{page_size, program_break, sbrk};

#[test]
#[cfg_attr(miri, ignore = "Miri does not implement sbrk")]
fn the_break_moves_and_comes_back() {
    let page = page_size() as isize;
    let before = program_break();
    // SAFETY: this test binary runs this one test; the memory is ours until
    // we give it back below, and nothing here allocates in between.
    let old = unsafe { sbrk(page) }.expect("grow the break by a page");
    assert_eq!(old, before, "sbrk returns the old break");
    assert_eq!(program_break() as usize, old as usize + page as usize);
    // SAFETY: the page between `old` and the new break was just added.
    unsafe {
        old.write_bytes(0xAB, page as usize);
        assert_eq!(*old.add(page as usize - 1), 0xAB);
    }
    // SAFETY: we give back exactly the page we took, and no longer use it.
    unsafe { sbrk(-page) }.expect("shrink the break");
    assert_eq!(program_break(), before);

    // Asking for more than the address space holds is an error value.
    // SAFETY: a failed sbrk does not move the break.
    let err = unsafe { sbrk(isize::MAX) }.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOMEM));
    assert_eq!(program_break(), before);
}
