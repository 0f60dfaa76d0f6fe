//! Heaps for allocators that serve a whole program: a large address range
//! reserved up front, and an allocator that is built on its first call.
//!
//! A `#[global_allocator]` must be a `static`, built in a `const` context,
//! before the program can ask the kernel for anything. The book's free lists
//! have `const` constructors over a static buffer (see the
//! `freelist_global` example), but a static array is limited to what the
//! linker can place (a few GiB at most on x86-64), and a real workload may
//! need more. [`OnFirstUse`] defers building the allocator to its first
//! allocation, and [`Reservation`] gives it a region of any size: a
//! `MAP_NORESERVE` mapping whose untouched pages cost nothing.
//!
//! Neither allocates through the global allocator, so both may sit under
//! it.

use allocators::raw_allocator::{AllocError, HeapError, RawAllocator};
use allocators::region::Region;
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

/// A private anonymous mapping with no swap reserved for it
/// (`MAP_NORESERVE`): the kernel hands out a page only when it is first
/// touched, so reserving a few GiB for a heap costs nothing until the heap
/// grows into them.
///
/// ```
/// use allocators::region::Region;
/// use lab::reserve::Reservation;
/// let heap = Reservation::new(1 << 30).unwrap(); // 1 GiB of addresses
/// assert_eq!(heap.len(), 1 << 30);
/// ```
#[derive(Debug)]
pub struct Reservation {
    start: NonNull<u8>,
    len: usize,
}

impl Reservation {
    /// Reserves at least `len` bytes (rounded up to whole pages).
    ///
    /// Fails with [`AllocError::SizeOverflow`] for a length of zero or one
    /// that overflows when rounded, and with [`AllocError::OutOfMemory`] if
    /// the kernel refuses. Never allocates (an `io::Error` with a message
    /// would), so it can run inside a global allocator.
    pub fn new(len: usize) -> Result<Reservation, AllocError> {
        let len = match allocators::os::round_to_pages(len) {
            Some(0) | None => return Err(AllocError::SizeOverflow),
            Some(len) => len,
        };
        // SAFETY: a null hint lets the kernel choose the address, and an
        // anonymous mapping (fd -1, offset 0) touches no existing memory.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(AllocError::OutOfMemory);
        }
        let start = NonNull::new(start.cast::<u8>()).ok_or(AllocError::OutOfMemory)?;
        Ok(Reservation { start, len })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: the range is the mapping `new` made, unmapped only here;
        // whoever borrowed it (an allocator owning this value) is gone.
        // A failure would leave the pages mapped, which is only a leak.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

// SAFETY: the mapping is made once in `new` and unmapped only in `drop`;
// `start()` only copies the pointer, and nothing else knows the address.
unsafe impl Region for Reservation {
    #[inline]
    fn start(&self) -> NonNull<u8> {
        self.start
    }
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
}

// SAFETY: a Reservation owns its pages like a Box<[u8]>.
unsafe impl Send for Reservation {}

/// An allocator built by `make` on its first allocation.
///
/// `const fn new` makes it usable in a `static` even when the allocator's
/// own constructor is not `const` (a [`BumpAllocator`] reads its region's
/// end) or needs a system call (mapping a [`Reservation`]).
///
/// ```
/// use allocators::bump::BumpAllocator;
/// use allocators::global::Locked;
/// use lab::reserve::{OnFirstUse, Reservation};
///
/// static HEAP: Locked<OnFirstUse<BumpAllocator<Reservation>>> =
///     Locked::new(OnFirstUse::new(|| Ok(BumpAllocator::new(Reservation::new(1 << 30)?))));
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

impl<A: RawAllocator> RawAllocator for OnFirstUse<A> {
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
        let mut heap: OnFirstUse<SegregatedFreeList<RegionBreak<Reservation>>> =
            OnFirstUse::new(|| {
                Ok(SegregatedFreeList::new(RegionBreak::new(Reservation::new(
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
        let mut heap: OnFirstUse<SegregatedFreeList<RegionBreak<Reservation>>> =
            OnFirstUse::new(|| Err(AllocError::OutOfMemory));
        assert_eq!(
            heap.allocate(Layout::new::<u64>()),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(Reservation::new(0).err(), Some(AllocError::SizeOverflow));
        assert_eq!(
            Reservation::new(usize::MAX).err(),
            Some(AllocError::SizeOverflow)
        );
    }
}
