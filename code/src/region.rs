//! Where an allocator's memory comes from.
//!
//! An allocator manages a *region*: a contiguous range of bytes that it alone
//! reads and writes. The region is its own type so that one allocator can run
//! on several sources:
//!
//! - [`Buffer`]: memory the caller lends for a lifetime `'a`, such as a local
//!   array or a `static`. A `const fn` makes one, so an allocator over a
//!   static buffer can itself live in a `static`.
//! - [`OwnedRegion`]: memory taken from Rust's global allocator at any
//!   alignment and given back on drop. Tests use it because Miri checks every
//!   access to it.
//! - [`Mapping`]: pages straight from the kernel (`mmap`).
//!
//! The [`Region`] trait hands out the region's start *once*, as a raw pointer
//! whose provenance covers all of it, and the allocator derives every block
//! from that pointer. Keeping a `&mut [u8]` or a `Box<[u8]>` around instead
//! and re-borrowing it would, under Rust's aliasing rules, invalidate every
//! block handed out before.

use crate::os::Mapping;
use crate::raw_allocator::AllocError;
use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::NonNull;

// ANCHOR: region
/// A contiguous range of memory that an allocator owns.
///
/// # Safety
///
/// An implementor guarantees that for as long as the value lives (even after
/// it is moved), `start` returns the same pointer every
/// time, that the pointer is valid for reads and writes of
/// `len` bytes, that nothing else accesses those bytes, and
/// that calling `start` or `len` does not invalidate pointers derived from an
/// earlier `start` (so it must not create a `&mut` to the memory).
pub unsafe trait Region {
    /// The first byte of the region.
    fn start(&self) -> NonNull<u8>;
    /// The region's length in bytes.
    fn len(&self) -> usize;
    /// `true` if the region has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: region

/// A region borrowed from the caller for the lifetime `'a`.
///
/// ```
/// use allocators::region::{Buffer, Region};
/// let mut memory = [0u8; 256];
/// let buffer = Buffer::new(&mut memory);
/// assert_eq!(buffer.len(), 256);
/// ```
#[derive(Debug)]
pub struct Buffer<'a> {
    pub(crate) start: NonNull<u8>,
    pub(crate) len: usize,
    // The buffer is mutably borrowed for 'a, but only through `start`.
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> Buffer<'a> {
    /// Lends `bytes` to an allocator for `'a`.
    pub const fn new(bytes: &'a mut [u8]) -> Buffer<'a> {
        let len = bytes.len();
        // SAFETY: a slice's pointer is never null (empty slices use a
        // dangling, non-null one).
        let start = unsafe { NonNull::new_unchecked(bytes.as_mut_ptr()) };
        Buffer {
            start,
            len,
            _borrow: PhantomData,
        }
    }

    /// Makes a buffer from a raw pointer and a length, in a `const` context:
    /// this is how a `static` allocator gets a `static mut` array.
    ///
    /// # Safety
    ///
    /// `start` must be valid for reads and writes of `len` bytes for `'a`,
    /// and nothing else may access those bytes during `'a`.
    pub const unsafe fn from_raw_parts(start: NonNull<u8>, len: usize) -> Buffer<'a> {
        Buffer {
            start,
            len,
            _borrow: PhantomData,
        }
    }
}

// SAFETY: `start` was taken once from an exclusive borrow for 'a (or the
// caller of `from_raw_parts` vouched for it); it never changes, and `start()`
// only copies the pointer.
unsafe impl Region for Buffer<'_> {
    #[inline]
    fn start(&self) -> NonNull<u8> {
        self.start
    }
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
}

// SAFETY: a Buffer is an exclusive borrow of plain bytes, which may move to
// another thread like a `&mut [u8]`.
unsafe impl Send for Buffer<'_> {}

/// A region allocated from Rust's global allocator with a chosen alignment,
/// and freed when dropped: a `Box<[u8]>` that can be aligned to a page.
///
/// ```
/// use allocators::region::{OwnedRegion, Region};
/// let region = OwnedRegion::new(4096, 4096).unwrap();
/// assert_eq!(region.start().as_ptr() as usize % 4096, 0);
/// ```
#[derive(Debug)]
pub struct OwnedRegion {
    start: NonNull<u8>,
    layout: Layout,
}

impl OwnedRegion {
    /// Allocates `len` bytes aligned to `align` (a power of two).
    ///
    /// The bytes are zeroed, so tests see the same memory every run.
    pub fn new(len: usize, align: usize) -> Result<OwnedRegion, AllocError> {
        let layout = Layout::from_size_align(len, align).map_err(|_| AllocError::SizeOverflow)?;
        if len == 0 {
            // The global allocator must not be asked for zero bytes; an empty
            // region needs no memory, only an aligned address.
            let start = NonNull::new(std::ptr::without_provenance_mut(align))
                .ok_or(AllocError::SizeOverflow)?;
            return Ok(OwnedRegion { start, layout });
        }
        // SAFETY: the layout's size is not zero.
        let start = unsafe { std::alloc::alloc_zeroed(layout) };
        let start = NonNull::new(start).ok_or(AllocError::OutOfMemory)?;
        Ok(OwnedRegion { start, layout })
    }
}

impl Drop for OwnedRegion {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: `start` came from `alloc_zeroed` with this layout, and
            // is freed only here.
            unsafe { std::alloc::dealloc(self.start.as_ptr(), self.layout) };
        }
    }
}

// SAFETY: the memory is allocated once in `new` and freed only in `drop`;
// `start()` only copies the pointer.
unsafe impl Region for OwnedRegion {
    #[inline]
    fn start(&self) -> NonNull<u8> {
        self.start
    }
    #[inline]
    fn len(&self) -> usize {
        self.layout.size()
    }
}

// SAFETY: OwnedRegion owns its bytes like a Box<[u8]>.
unsafe impl Send for OwnedRegion {}

// SAFETY: a Mapping owns its pages until it is dropped, `as_ptr` returns the
// pointer mmap gave it without creating a reference, and its pages stay put
// when the Mapping value moves.
unsafe impl Region for Mapping {
    #[inline]
    fn start(&self) -> NonNull<u8> {
        // The mapping's start is never null: mmap reports failure as
        // MAP_FAILED, and `Mapping::new` rejects null.
        NonNull::new(self.as_ptr()).unwrap_or(NonNull::dangling())
    }
    #[inline]
    fn len(&self) -> usize {
        Mapping::len(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_regions_are_aligned_and_zeroed() {
        for align in [1, 8, 64, 4096, 1 << 16] {
            let region = OwnedRegion::new(100, align).unwrap();
            assert_eq!(region.start().as_ptr() as usize % align, 0);
            // SAFETY: the region is 100 readable bytes that nobody else uses.
            let bytes =
                unsafe { std::slice::from_raw_parts(region.start().as_ptr(), region.len()) };
            assert!(bytes.iter().all(|&b| b == 0));
        }
        let empty = OwnedRegion::new(0, 4096).unwrap();
        assert!(empty.is_empty());
        assert_eq!(
            OwnedRegion::new(usize::MAX, 8).unwrap_err(),
            AllocError::SizeOverflow
        );
        assert_eq!(
            OwnedRegion::new(8, 3).unwrap_err(),
            AllocError::SizeOverflow
        );
    }

    #[test]
    fn a_buffer_keeps_its_slice() {
        let mut memory = [7u8; 10];
        let ptr = memory.as_mut_ptr();
        let buffer = Buffer::new(&mut memory);
        assert_eq!(buffer.start().as_ptr(), ptr);
        assert_eq!(buffer.len(), 10);
    }
}
