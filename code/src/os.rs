//! How a process gets memory from the kernel.
//!
//! Two system interfaces hand memory to a process on Linux:
//!
//! - [`Mapping`] wraps `mmap(2)`: an anonymous, private mapping of whole pages,
//!   returned to the kernel with `munmap` when the `Mapping` is dropped.
//! - [`sbrk`] moves the *program break*, the end of the process's data segment.
//!
//! Every size here is a multiple of [`page_size`], which comes from
//! `sysconf(_SC_PAGESIZE)`. The base page is always 4 KiB on x86-64 Linux
//! (huge pages are opt-in), but arm64 kernels are built with 4, 16 or 64 KiB
//! pages and ppc64 ones usually with 64 KiB, so it is never assumed.
//!
//! # The break is shared
//!
//! glibc's `malloc` grows its main arena by moving the same break, and `sbrk`
//! itself is not thread-safe. A program that calls [`sbrk`] while `malloc` (in
//! any thread) also does can be handed memory that `malloc` thinks is its own.
//! This crate therefore never moves the break on its own: the book's
//! allocators, its tests and its replay tool use [`Mapping`]s, and only the
//! examples that demonstrate the break call [`sbrk`], in processes of their own.
//! [`sbrk`] also takes a lock, [`BREAK_LOCK`], so that callers *in this crate*
//! never race each other; nothing can make it safe against `malloc`.

use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

// ANCHOR: page_size
/// The size of a page in bytes, as the kernel reports it.
///
/// ```
/// let page = allocators::os::page_size();
/// assert!(page.is_power_of_two());
/// ```
pub fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // POSIX requires _SC_PAGESIZE, and it is at least 1; a failure (-1) would
    // be a broken libc. Report it loudly rather than guess a size.
    usize::try_from(size).expect("sysconf(_SC_PAGESIZE) failed")
}
// ANCHOR_END: page_size

/// Rounds `len` up to a whole number of pages, or `None` if that overflows.
pub fn round_to_pages(len: usize) -> Option<usize> {
    let page = page_size();
    // The page size is a power of two, so masking the low bits rounds down.
    Some(len.checked_add(page - 1)? & !(page - 1))
}

// ANCHOR: mapping
// ANCHOR: mapping_new
/// An anonymous, private, read-write `mmap` mapping, unmapped on drop.
///
/// The kernel hands out whole pages, so the mapping may be larger than asked
/// for: [`Mapping::len`] says how large. Fresh anonymous pages read as zero.
#[derive(Debug)]
pub struct Mapping {
    start: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps at least `len` bytes (rounded up to whole pages).
    ///
    /// Fails with `InvalidInput` for a length of zero or one that overflows
    /// when rounded up, and with the kernel's error (`ENOMEM`, say) otherwise.
    pub fn new(len: usize) -> io::Result<Mapping> {
        let len = match round_to_pages(len) {
            Some(0) => return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping")),
            Some(len) => len,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "length overflows",
                ));
            }
        };
        // SAFETY: a null hint lets the kernel choose the address, and an
        // anonymous mapping (fd -1, offset 0) touches no existing memory.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(start.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mapping { start, len })
    }
    // ANCHOR_END: mapping_new

    /// Reserves at least `len` bytes of address space (rounded up to whole
    /// pages) with no swap set aside for them (`MAP_NORESERVE`, see mmap(2)):
    /// the kernel backs a page only when it is first touched, so a heap of a
    /// few GiB costs nothing until it grows into them.
    ///
    /// Unlike [`Mapping::new`] it never allocates, so it can run inside a
    /// global allocator: its errors are a bare `InvalidInput` (zero, or a
    /// length that overflows when rounded) or the kernel's `errno`.
    pub fn reserve(len: usize) -> io::Result<Mapping> {
        let len = round_to_pages(len)
            .filter(|&len| len > 0)
            .ok_or(io::ErrorKind::InvalidInput)?;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: as in `new`: the kernel chooses the address, and an
        // anonymous mapping touches no existing memory.
        let start = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(start.cast::<u8>()).ok_or(io::ErrorKind::OutOfMemory)?;
        Ok(Mapping { start, len })
    }

    /// The first byte of the mapping. It is aligned to the page size.
    pub fn as_ptr(&self) -> *mut u8 {
        self.start.as_ptr()
    }

    /// The length in bytes: a whole number of pages.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: an empty mapping cannot be made.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapping's bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is readable and writable for `len` bytes for as
        // long as `self` lives, and `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

// ANCHOR: mapping_drop
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `start` and `len` are exactly what mmap returned, and the
        // mapping is unmapped only here, once.
        let rc = unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
        // munmap fails only for arguments mmap itself gave us; a failure here
        // is a bug, but a destructor must not panic in release builds.
        debug_assert_eq!(rc, 0, "munmap failed: {}", io::Error::last_os_error());
    }
}
// ANCHOR_END: mapping_drop

// SAFETY: a Mapping owns its pages outright, like a Box<[u8]>; nothing in it
// is tied to the thread that created it.
unsafe impl Send for Mapping {}
// SAFETY: a shared &Mapping only hands out the address and length.
unsafe impl Sync for Mapping {}
// ANCHOR_END: mapping

/// Serialises this crate's own callers of [`sbrk`]. It cannot stop glibc's
/// `malloc` from moving the break at the same time.
pub static BREAK_LOCK: Mutex<()> = Mutex::new(());

/// The current program break (`sbrk(0)`), which only reads it.
pub fn program_break() -> *mut u8 {
    // SAFETY: an increment of zero does not move the break.
    unsafe { libc::sbrk(0) }.cast()
}

// ANCHOR: sbrk
/// Moves the program break by `increment` bytes and returns the *old* break:
/// the start of the new memory when growing.
///
/// # Safety
///
/// The break is one per process and glibc's `malloc` moves it too. The caller
/// must make sure that nothing else moves the break while it uses the memory:
/// in practice, a single-threaded process that does not allocate with
/// `malloc` in between. Shrinking (`increment < 0`) must only give back memory
/// that the caller itself obtained and no longer uses.
pub unsafe fn sbrk(increment: isize) -> io::Result<*mut u8> {
    let _guard = BREAK_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: the caller guarantees that nobody else uses the memory that
    // the move adds or removes.
    let old = unsafe { libc::sbrk(increment as libc::intptr_t) };
    // sbrk signals failure with (void *) -1, and sets errno (ENOMEM).
    if old as isize == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(old.cast())
}
// ANCHOR_END: sbrk

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two() {
        let page = page_size();
        assert!(page.is_power_of_two());
        assert!(page >= 4096, "Linux pages are at least 4 KiB, got {page}");
    }

    #[test]
    fn rounding_to_pages() {
        let page = page_size();
        assert_eq!(round_to_pages(0), Some(0));
        assert_eq!(round_to_pages(1), Some(page));
        assert_eq!(round_to_pages(page), Some(page));
        assert_eq!(round_to_pages(page + 1), Some(2 * page));
        assert_eq!(round_to_pages(usize::MAX), None);
    }

    #[test]
    fn a_mapping_is_whole_pages_of_zeroes() {
        let mut map = Mapping::new(100).unwrap();
        assert_eq!(map.len(), page_size());
        assert_eq!(map.as_ptr() as usize % page_size(), 0);
        let bytes = map.as_mut_slice();
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[0] = 1;
        bytes[page_size() - 1] = 2;
        assert_eq!(bytes[0] + bytes[page_size() - 1], 3);
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert_eq!(
            Mapping::new(0).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            Mapping::new(usize::MAX).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // Larger than any address space: the kernel says no, and that is a
        // value. Miri has no kernel to ask: it stops the whole run with
        // "resource exhaustion" instead, so only the real kernel is asked.
        if !cfg!(miri) {
            assert!(Mapping::new(usize::MAX / 2).is_err());
        }
    }
}
