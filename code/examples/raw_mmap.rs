//! Map, touch and unmap pages with nothing but `libc`, and watch the pages
//! arrive only when they are first touched.
//!
//! `cargo run --example raw_mmap`
use std::io;

fn main() -> io::Result<()> {
    // ANCHOR: main
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).map_err(|_| io::Error::other("no page size"))?;
    let len = 3 * page;

    // SAFETY: a null hint lets the kernel pick the address, and an anonymous
    // mapping (fd -1, offset 0) cannot touch memory that anyone else owns.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    assert_eq!(
        ptr as usize % page,
        0,
        "a mapping starts on a page boundary"
    );
    assert_eq!(
        resident_pages(ptr, len)?,
        0,
        "no page exists until it is touched"
    );

    let bytes = ptr.cast::<u8>();
    for i in 0..3 {
        // SAFETY: i * page < len, and the mapping is ours, readable and writable.
        unsafe {
            assert_eq!(
                *bytes.add(i * page),
                0,
                "fresh anonymous memory reads as zero"
            );
            *bytes.add(i * page) = b'A' + i as u8;
        }
    }
    assert_eq!(
        resident_pages(ptr, len)?,
        3,
        "each touched page is now in RAM"
    );
    println!("page size {page}: mapped {len} bytes at {ptr:p}, touched all 3 pages");

    // SAFETY: ptr and len are exactly what mmap returned, and nothing uses
    // the pages after this.
    if unsafe { libc::munmap(ptr, len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // ANCHOR_END: main
    Ok(())
}

/// How many pages of `[ptr, ptr + len)` are in RAM right now, from `mincore(2)`.
fn resident_pages(ptr: *mut libc::c_void, len: usize) -> io::Result<usize> {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let mut status = vec![0u8; len.div_ceil(page)];
    // SAFETY: ptr is page aligned and [ptr, ptr + len) is mapped; `status`
    // has one byte per page, as mincore requires.
    if unsafe { libc::mincore(ptr, len, status.as_mut_ptr().cast()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The low bit of each byte says whether that page is resident.
    Ok(status.iter().filter(|&&s| s & 1 == 1).count())
}
