//! The interface every allocator in the book implements.
//!
//! [`RawAllocator`] is deliberately close to `core::alloc::Allocator` (still
//! unstable) and to C's `malloc`/`free`/`realloc`, with three differences that
//! make allocators easy to write, test and measure:
//!
//! - It takes `&mut self`. An allocator is a data structure, and Rust's
//!   borrow rules then hold inside it without any locking. Sharing one
//!   allocator between threads (as `#[global_allocator]` does) is the job of a
//!   wrapper, [`Locked`](crate::global::Locked).
//! - Failure is a value, [`AllocError`], saying *why*: no memory left, a size
//!   that overflows, or an alignment the allocator cannot serve. It is never a
//!   panic and never undefined behaviour.
//! - It can be inspected: which memory it hands blocks out of
//!   ([`for_each_region`](RawAllocator::for_each_region),
//!   [`owns`](RawAllocator::owns)), how much of it the heap takes
//!   ([`heap_size`](RawAllocator::heap_size),
//!   [`footprint`](RawAllocator::footprint)), and whether its data structures
//!   are consistent ([`check`](RawAllocator::check)). The shared property
//!   tests, the trace replay tool and the figure generators only use this
//!   trait, so each new allocator gets all of them for free.
//!
//! # Zero-size requests
//!
//! C leaves `malloc(0)` implementation-defined and Rust's `GlobalAlloc` makes
//! it undefined behaviour. Here it is defined: a layout of size zero is a
//! valid request. On success the allocator returns a non-null pointer aligned
//! to `layout.align()` that must not be read or written (there are no bytes
//! behind it), and that the caller hands back to
//! [`deallocate`](RawAllocator::deallocate) like any other block. Whether it
//! costs heap space is up to the allocator (a bump allocator spends at most
//! alignment padding on it), and it may fail like any other request.

use std::alloc::Layout;
use std::fmt;
use std::ops::Range;
use std::ptr::NonNull;

// ANCHOR: alloc_error
/// Why an allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllocError {
    /// The allocator has no free memory large enough, and could not get more.
    OutOfMemory,
    /// The size (with padding or a header added) does not fit in a `usize`,
    /// or is too large to describe with a `Layout`.
    SizeOverflow,
    /// The allocator does not serve this alignment at all (not merely "not
    /// right now"): asking again with more memory would not help.
    UnsupportedAlignment,
}
// ANCHOR_END: alloc_error

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::OutOfMemory => "out of memory",
            AllocError::SizeOverflow => "allocation size overflows",
            AllocError::UnsupportedAlignment => "alignment not supported by this allocator",
        })
    }
}

impl std::error::Error for AllocError {}

/// The layout of a block resized to `new_size` bytes: `old`'s alignment, or
/// [`AllocError::SizeOverflow`] if no `Layout` can describe that size. What a
/// `reallocate` checks first, even when the block stays where it is.
#[inline]
pub(crate) fn resized_layout(old: Layout, new_size: usize) -> Result<Layout, AllocError> {
    Layout::from_size_align(new_size, old.align()).map_err(|_| AllocError::SizeOverflow)
}

/// A broken invariant found by a heap checker ([`RawAllocator::check`]).
///
/// It holds no heap data, only an address and a fixed message, so building
/// one never allocates: a checker may run inside a global allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapError {
    /// The address of the block (or pointer) where the checker noticed the
    /// problem.
    pub addr: usize,
    /// What is wrong, e.g. `"block overlaps the next block"`.
    pub what: &'static str,
}

impl HeapError {
    /// A heap error at `addr`.
    pub const fn new(addr: usize, what: &'static str) -> HeapError {
        HeapError { addr, what }
    }
}

impl fmt::Display for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "heap corrupted at {:#x}: {}", self.addr, self.what)
    }
}

impl std::error::Error for HeapError {}

// ANCHOR: raw_allocator
/// An allocator: hands out blocks of memory and takes them back.
///
/// Unlike `GlobalAlloc`, it takes `&mut self`, it reports failure as an
/// `AllocError`, it can be inspected, and a zero-size request is valid: the
/// block it returns is non-null and aligned, and has no bytes behind it.
///
/// # Safety
///
/// The trait is `unsafe` because code that uses an allocator trusts it:
/// `Locked` hands its blocks to Rust as a `GlobalAlloc`, and an `Arena`
/// writes values into them. An implementor promises that a block `allocate`
/// or `reallocate` returns is valid for reads and writes of the requested
/// size, aligned as asked, and used by nothing else until it is given back;
/// that `reallocate` keeps the contents as documented; and that a failure
/// leaves every live block as it was.
// ANCHOR: trait_open
pub unsafe trait RawAllocator {
    // ANCHOR_END: trait_open
    // ANCHOR: contract
    /// Allocates a block of at least `layout.size()` bytes, aligned to
    /// `layout.align()`.
    ///
    /// The block's contents are unspecified. It stays valid until it is
    /// passed to `deallocate` or `reallocate`, or the allocator is dropped
    /// or reset.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError>;

    /// Gives a block back to the allocator.
    ///
    /// # Safety
    ///
    /// `ptr` must have come from `allocate` or `reallocate` on this same
    /// allocator, with this `layout`, and must not have been deallocated or
    /// reallocated since. (A block that `reallocate` resized keeps its
    /// alignment and has its new size.) The caller must not use the block
    /// afterwards.
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout);
    // ANCHOR_END: contract

    /// Resizes a block to `new_size` bytes, keeping its alignment and the
    /// first `min(old.size(), new_size)` bytes of its contents.
    ///
    /// On success the old block is gone (it may have moved: use the returned
    /// pointer). On failure the old block is still allocated and untouched.
    ///
    /// The default allocates a new block, copies, and frees the old one; an
    /// allocator that can grow or shrink a block in place overrides it.
    ///
    /// # Safety
    ///
    /// As for `deallocate`: `ptr` is a live block of this allocator,
    /// allocated with layout `old`.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the caller's guarantees are exactly the ones the helper needs.
        unsafe { reallocate_by_copy(self, ptr, old, new_size) }
    }

    /// Calls `visit` with the address range of each region of memory that
    /// this allocator carves blocks out of (its heap, or each chunk of it).
    ///
    /// Every byte of every block it hands out lies in one of these ranges.
    /// Tools use it to draw the heap; tests use it through `owns`.
    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>));

    /// Returns `true` if the addresses `block` lie inside one region of this
    /// allocator (see `for_each_region`).
    fn owns(&self, block: Range<usize>) -> bool {
        let mut found = false;
        self.for_each_region(&mut |region| {
            found |= region.start <= block.start && block.end <= region.end;
        });
        found
    }

    /// The bytes of its regions that the heap occupies now: blocks in use,
    /// their headers and padding, and free memory inside the heap that the
    /// allocator cannot hand back to the OS. For a bump allocator this is
    /// how far the bump pointer has moved; for a free-list allocator it is
    /// the heap from its start to its break.
    fn heap_size(&self) -> usize;

    /// The high-water mark of `heap_size`: the most memory the heap ever
    /// took since the allocator was created.
    ///
    /// Peak live payload bytes divided by the footprint is the allocator's
    /// *peak utilization* (CS:APP 3e §9.9.3).
    fn footprint(&self) -> usize;

    /// The heap checker: walks the allocator's data structures and reports
    /// the first inconsistency it finds.
    ///
    /// Tests call it after every operation. The default finds nothing to
    /// check; allocators with headers and free lists override it.
    fn check(&self) -> Result<(), HeapError> {
        Ok(())
    }
    // ANCHOR: trait_close
}
// ANCHOR_END: trait_close
// ANCHOR_END: raw_allocator

// ANCHOR: reallocate_by_copy
/// Reallocation the slow, always-correct way: allocate a new block with the
/// same alignment, copy `min(old.size(), new_size)` bytes, free the old one.
///
/// This is [`RawAllocator::reallocate`]'s default, and what an allocator's own
/// `reallocate` falls back to when it cannot resize in place. If the new block
/// cannot be allocated, the old one is left as it was.
///
/// # Safety
///
/// `ptr` must be a live block of `alloc` allocated with layout `old`, as for
/// [`RawAllocator::deallocate`].
pub unsafe fn reallocate_by_copy<A: RawAllocator + ?Sized>(
    alloc: &mut A,
    ptr: NonNull<u8>,
    old: Layout,
    new_size: usize,
) -> Result<NonNull<u8>, AllocError> {
    let new = alloc.allocate(resized_layout(old, new_size)?)?;
    // SAFETY: `ptr` is live for `old.size()` bytes (caller's guarantee) and
    // `new` for `new_size` bytes; they are distinct live blocks of the same
    // allocator, so they do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(ptr.as_ptr(), new.as_ptr(), old.size().min(new_size)) };
    // SAFETY: `ptr` is live with layout `old`, and the caller gave it to us.
    unsafe { alloc.deallocate(ptr, old) };
    Ok(new)
}
// ANCHOR_END: reallocate_by_copy

/// A borrowed allocator is an allocator: tools and adapters (such as
/// `checked::Checked`) can wrap `&mut A` and leave the caller its allocator.
// SAFETY: every call goes to `A`, which keeps the promises.
unsafe impl<A: RawAllocator + ?Sized> RawAllocator for &mut A {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        (**self).allocate(layout)
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { (**self).deallocate(ptr, layout) }
    }

    #[inline]
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { (**self).reallocate(ptr, old, new_size) }
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        (**self).for_each_region(visit)
    }

    fn owns(&self, block: Range<usize>) -> bool {
        (**self).owns(block)
    }

    fn heap_size(&self) -> usize {
        (**self).heap_size()
    }

    fn footprint(&self) -> usize {
        (**self).footprint()
    }

    fn check(&self) -> Result<(), HeapError> {
        (**self).check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_well() {
        assert_eq!(AllocError::OutOfMemory.to_string(), "out of memory");
        let e = HeapError::new(0x1000, "block overlaps the next block");
        assert_eq!(
            e.to_string(),
            "heap corrupted at 0x1000: block overlaps the next block"
        );
        // Both are real errors, so `?` into Box<dyn Error> works.
        let _: Box<dyn std::error::Error> = Box::new(AllocError::SizeOverflow);
        let _: Box<dyn std::error::Error> = Box::new(e);
    }
}
