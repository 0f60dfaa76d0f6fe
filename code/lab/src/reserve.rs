//! Heaps for allocators that serve a whole program: a large address range
//! reserved up front, and an allocator that is built on its first call.
//!
//! A `#[global_allocator]` must be a `static`, built in a `const` context,
//! before the program can ask the kernel for anything. The book's free lists
//! have `const` constructors over a static buffer (see the
//! `freelist_global` example), but a static array is limited to what the
//! linker can place (a few GiB at most on x86-64), and a real workload may
//! need more. [`OnFirstUse`] defers building the allocator to its first
//! allocation, and [`reserve`] gives it a region of any size: a
//! `MAP_NORESERVE` [`Mapping`] whose untouched pages cost nothing.
//!
//! Neither allocates through the global allocator, so both may sit under
//! it.

use allocators::os::Mapping;
use allocators::raw_allocator::{AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

/// Reserves at least `len` bytes for a heap: an [`Mapping::reserve`]
/// (`MAP_NORESERVE`), whose untouched pages cost nothing.
///
/// Fails with [`AllocError::SizeOverflow`] for a length of zero or one that
/// overflows when rounded, and with [`AllocError::OutOfMemory`] if the kernel
/// refuses. Never allocates, so it can run inside a global allocator.
///
/// ```
/// use allocators::region::Region;
/// let heap = lab::reserve::reserve(1 << 30).unwrap(); // 1 GiB of addresses
/// assert_eq!(heap.len(), 1 << 30);
/// ```
pub fn reserve(len: usize) -> Result<Mapping, AllocError> {
    Mapping::reserve(len).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => AllocError::SizeOverflow,
        _ => AllocError::OutOfMemory,
    })
}

/// An allocator built by `make` on its first allocation.
///
/// `const fn new` makes it usable in a `static` even when the allocator's
/// own constructor is not `const` (a [`BumpAllocator`] reads its region's
/// end) or needs a system call ([`reserve`]).
///
/// ```
/// use allocators::bump::BumpAllocator;
/// use allocators::global::Locked;
/// use allocators::os::Mapping;
/// use lab::reserve::{reserve, OnFirstUse};
///
/// static HEAP: Locked<OnFirstUse<BumpAllocator<Mapping>>> =
///     Locked::new(OnFirstUse::new(|| Ok(BumpAllocator::new(reserve(1 << 30)?))));
/// use std::alloc::{GlobalAlloc, Layout};
///
/// let layout = Layout::new::<u64>();
/// // SAFETY: the layout is not zero-sized; the block is freed with it.
/// unsafe {
///     let block = HEAP.alloc(layout); // maps the reservation, builds the bump
///     assert!(!block.is_null());
///     HEAP.dealloc(block, layout);
/// }
/// assert_eq!(HEAP.stats().allocations, 1);
/// ```
///
/// [`BumpAllocator`]: allocators::bump::BumpAllocator
pub struct OnFirstUse<A> {
    allocator: Option<A>,
    make: fn() -> Result<A, AllocError>,
}

impl<A> OnFirstUse<A> {
    /// An allocator that `make` will build when it is first asked for memory.
    pub const fn new(make: fn() -> Result<A, AllocError>) -> OnFirstUse<A> {
        OnFirstUse {
            allocator: None,
            make,
        }
    }

    /// The allocator, if it has been built.
    pub fn get(&self) -> Option<&A> {
        self.allocator.as_ref()
    }
}

// SAFETY: every call goes to `A`, which keeps the promises.
unsafe impl<A: RawAllocator> RawAllocator for OnFirstUse<A> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        match &mut self.allocator {
            Some(allocator) => allocator.allocate(layout),
            None => {
                let allocator = self.allocator.insert((self.make)()?);
                allocator.allocate(layout)
            }
        }
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if let Some(allocator) = &mut self.allocator {
            // SAFETY: `ptr` is a live block of this allocator (caller's
            // guarantee), so it came from the inner allocator.
            unsafe { allocator.deallocate(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        match &mut self.allocator {
            // SAFETY: as in `deallocate`.
            Some(allocator) => unsafe { allocator.reallocate(ptr, old, new_size) },
            // A live block means the allocator was built: this cannot
            // happen for a caller that keeps the contract.
            None => Err(AllocError::OutOfMemory),
        }
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        if let Some(allocator) = &self.allocator {
            allocator.for_each_region(visit);
        }
    }

    fn heap_size(&self) -> usize {
        self.allocator.as_ref().map_or(0, RawAllocator::heap_size)
    }

    fn footprint(&self) -> usize {
        self.allocator.as_ref().map_or(0, RawAllocator::footprint)
    }

    fn check(&self) -> Result<(), HeapError> {
        self.allocator.as_ref().map_or(Ok(()), RawAllocator::check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocators::heap::RegionBreak;
    use allocators::segregated::SegregatedFreeList;

    #[test]
    fn built_on_first_use_over_a_reservation() {
        let mut heap: OnFirstUse<SegregatedFreeList<RegionBreak<Mapping>>> =
            OnFirstUse::new(|| {
                Ok(SegregatedFreeList::new(RegionBreak::new(reserve(
                    64 << 30,
                )?)))
            });
        assert!(heap.get().is_none());
        assert_eq!(heap.heap_size(), 0);
        let layout = Layout::from_size_align(100, 8).unwrap();
        let a = heap.allocate(layout).unwrap();
        assert!(heap.get().is_some());
        assert!(heap.owns(a.addr().get()..a.addr().get() + 100));
        // SAFETY: `a` is live with `layout`.
        let b = unsafe { heap.reallocate(a, layout, 5000) }.unwrap();
        // SAFETY: `b` is live with the old alignment and the new size.
        unsafe { heap.deallocate(b, Layout::from_size_align(5000, 8).unwrap()) };
        heap.check().unwrap();
        assert!(heap.footprint() >= 5000);
    }

    #[test]
    fn a_failed_build_is_an_error() {
        let mut heap: OnFirstUse<SegregatedFreeList<RegionBreak<Mapping>>> =
            OnFirstUse::new(|| Err(AllocError::OutOfMemory));
        assert_eq!(
            heap.allocate(Layout::new::<u64>()),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(reserve(0).err(), Some(AllocError::SizeOverflow));
        assert_eq!(reserve(usize::MAX).err(), Some(AllocError::SizeOverflow));
    }
}
