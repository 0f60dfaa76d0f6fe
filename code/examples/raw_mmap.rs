//! Map, touch and unmap pages with nothing but `libc`, and watch the pages
//! arrive only when they are first touched: one page fault each.
//!
//! `cargo run --example raw_mmap`
use std::io;

// Deliberately repeats the `mmap` call of src/os.rs (`Mapping::new`): this
// example shows raw mmap, with nothing of the crate's wrapper in between.
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

    let faults_before = minor_faults();
    let bytes = ptr.cast::<u8>();
    for i in 0..3 {
        // SAFETY: i * page + 1 < len, and the mapping is ours, readable and
        // writable.
        unsafe {
            *bytes.add(i * page) = b'A' + i as u8; // the first touch: a write
            assert_eq!(*bytes.add(i * page + 1), 0, "the rest reads as zero");
        }
    }
    let faults = minor_faults() - faults_before;
    assert!(faults >= 3, "one page fault per page");
    assert_eq!(
        resident_pages(ptr, len)?,
        3,
        "each touched page is now in RAM"
    );
    println!("page size {page}: mapped {len} bytes at {ptr:p}");
    println!("wrote to all 3 pages: {faults} page faults, 3 pages resident");

    // SAFETY: ptr and len are exactly what mmap returned, and nothing uses
    // the pages after this.
    if unsafe { libc::munmap(ptr, len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // ANCHOR_END: main
    read_then_write(page)
}

/// A page read before it is written takes two faults: the read maps the
/// kernel's shared zero page, read-only, and the first write copies it.
fn read_then_write(page: usize) -> io::Result<()> {
    // Deliberately the raw `mmap` of `main` again, not a helper: `main` is
    // what the chapter shows, whole.
    // SAFETY: as above: the kernel picks the address of a fresh mapping.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let byte = ptr.cast::<u8>();
    let start = minor_faults();
    // SAFETY: the page is ours, readable and writable; volatile, so that the
    // compiler keeps the read before the write.
    let zero = unsafe { byte.read_volatile() };
    let after_read = minor_faults();
    // SAFETY: as above.
    unsafe { byte.write_volatile(1) };
    let after_write = minor_faults();
    assert_eq!(zero, 0);
    assert!(after_read - start >= 1, "the read faults in the zero page");
    assert!(after_write - after_read >= 1, "the write faults again");
    println!(
        "read first, then wrote: page faults {} for the read, {} for the write",
        after_read - start,
        after_write - after_read
    );
    // SAFETY: ptr and page are what mmap returned, and nothing uses them now.
    if unsafe { libc::munmap(ptr, page) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Minor page faults this process has taken so far, from `getrusage(2)`.
fn minor_faults() -> libc::c_long {
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) cannot fail");
    usage.ru_minflt
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
