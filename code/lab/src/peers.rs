//! The peers, wrapped in the book's [`RawAllocator`] trait so that the
//! replay engine is written once for all of them.
//!
//! Each adapter keeps the peer's own behaviour (its placement policy, its
//! in-place reallocation) and adds only what the trait needs. The region
//! peers (`linked_list_allocator`, `talc`) and `bumpalo` track their
//! footprint the same way, as the *highest offset used*: the distance from
//! the start of their memory to the end of the highest block they ever
//! handed out. That is one comparison per allocation, cheap enough to leave
//! on in timed runs, and it counts everything below that point (metadata,
//! headers, free holes) as heap, which is what the CS:APP lab's
//! "heap high-water mark" means. `system` (glibc malloc) has no region; its
//! footprint is measured from outside, see
//! [`system_footprint`](crate::system_footprint).

use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::{Buffer, Region};
use std::alloc::Layout;
use std::cell::Cell;
use std::ops::Range;
use std::ptr::NonNull;

/// The layout a peer is asked for. Several peers (and `GlobalAlloc`) do not
/// accept zero-size requests, which the book's trait allows, so a zero-size
/// block is served as one byte. Both the allocation and the matching free go
/// through here, so the peer sees a consistent layout.
fn nonzero(layout: Layout) -> Layout {
    if layout.size() == 0 {
        // A size of 1 with an alignment that was valid stays valid.
        Layout::from_size_align(1, layout.align()).unwrap_or(layout)
    } else {
        layout
    }
}

/// The alignment every glibc `malloc` block has on this target:
/// `MALLOC_ALIGNMENT`, which is `2 * sizeof(size_t)` (16 bytes on 64-bit
/// Linux; glibc on i386 uses 16 as well, so this is the safe lower bound).
const MALLOC_ALIGNMENT: usize = 2 * size_of::<usize>();

/// `new()` for a handle to a process-wide allocator: it has no state, and
/// only `new` makes one.
macro_rules! handle {
    ($peer:ident, $doc:literal) => {
        impl $peer {
            #[doc = $doc]
            pub fn new() -> $peer {
                $peer { _private: () }
            }
        }
    };
}

/// The `RawAllocator` methods of a peer whose heap is its own, outside the
/// lab's region: no regions to visit, and a size and footprint of 0 (the
/// lab measures such a heap from outside, in a process of its own).
macro_rules! heap_of_its_own {
    () => {
        fn for_each_region(&self, _visit: &mut dyn FnMut(Range<usize>)) {}

        fn heap_size(&self) -> usize {
            0
        }

        fn footprint(&self) -> usize {
            0
        }
    };
}

/// glibc's `malloc`, `realloc` and `free`, called directly.
///
/// This is what `std::alloc::System` uses on Linux, minus one detour:
/// `System` sends a request smaller than its alignment (say 8 bytes at
/// alignment 16) to `posix_memalign`, a slower path that a C program would
/// never take. Calling `malloc` directly measures the allocator C programs
/// get. Alignments above `malloc`'s own guarantee use `posix_memalign`, as
/// `System` does.
///
/// Its [`footprint`](RawAllocator::footprint) is 0: glibc keeps its heap to
/// itself. The replay tool measures it in a child process through
/// `mallinfo2()` instead.
#[derive(Debug, Default)]
pub struct SystemMalloc {
    _private: (),
}

handle!(SystemMalloc, "The process's glibc malloc.");

// SAFETY: every block comes from the peer allocator, which hands out
// distinct, aligned blocks of its own memory.
unsafe impl RawAllocator for SystemMalloc {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let layout = nonzero(layout);
        let ptr = if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: malloc has no preconditions; a null result is handled.
            unsafe { libc::malloc(layout.size()) }
        } else {
            let mut out = std::ptr::null_mut();
            // SAFETY: the alignment is a power of two and a multiple of
            // sizeof(void *) (it exceeds MALLOC_ALIGNMENT), as
            // posix_memalign requires; `out` is a valid place to write.
            let rc = unsafe { libc::posix_memalign(&mut out, layout.align(), layout.size()) };
            if rc != 0 { std::ptr::null_mut() } else { out }
        };
        NonNull::new(ptr.cast()).ok_or(AllocError::OutOfMemory)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: `ptr` came from malloc or posix_memalign (caller's
        // guarantee through the trait), both of which free() accepts.
        unsafe { libc::free(ptr.as_ptr().cast()) }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        if old.align() > MALLOC_ALIGNMENT {
            // realloc would lose the extra alignment.
            // SAFETY: the caller's guarantees carry over.
            return unsafe {
                allocators::raw_allocator::reallocate_by_copy(self, ptr, old, new_size)
            };
        }
        // realloc(p, 0) frees p in glibc; keep the block alive instead.
        let size = new_size.max(1);
        // SAFETY: `ptr` is a live malloc block (caller's guarantee); on
        // failure realloc leaves it untouched, as the trait requires.
        let new = unsafe { libc::realloc(ptr.as_ptr().cast(), size) };
        NonNull::new(new.cast()).ok_or(AllocError::OutOfMemory)
    }

    // glibc's arenas are not ours to enumerate.
    heap_of_its_own!();
}

/// Tracks the highest end of any block, as an offset from a base address.
#[derive(Debug, Clone, Copy)]
struct HighWater {
    base: usize,
    highest: usize,
}

impl HighWater {
    fn new(base: usize) -> HighWater {
        HighWater { base, highest: 0 }
    }

    #[inline]
    fn note(&mut self, block: NonNull<u8>, size: usize) {
        let end = block.as_ptr().addr().saturating_add(size);
        self.highest = self.highest.max(end.saturating_sub(self.base));
    }
}

/// A region a peer's heap was handed whole: its bounds, and the highest
/// offset any block reached in it.
struct Claimed<'h> {
    bounds: Range<usize>,
    high: HighWater,
    _region: Buffer<'h>,
}

impl<'h> Claimed<'h> {
    fn new(region: Buffer<'h>) -> Claimed<'h> {
        let base = region.start().as_ptr().addr();
        Claimed {
            bounds: base..base + region.len(),
            high: HighWater::new(base),
            _region: region,
        }
    }
}

/// The `RawAllocator` methods of a peer over a [`Claimed`] region (a field
/// `claimed`): the region is its one region, and its size and footprint
/// are both the high-water mark.
macro_rules! claimed_region {
    () => {
        fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
            visit(self.claimed.bounds.clone());
        }

        fn heap_size(&self) -> usize {
            self.claimed.high.highest
        }

        fn footprint(&self) -> usize {
            self.claimed.high.highest
        }
    };
}

/// `linked_list_allocator` 0.10's [`Heap`](linked_list_allocator::Heap) over
/// a region: a first-fit free list sorted by address, which coalesces on
/// free. It has no in-place reallocation, so `reallocate` copies.
pub struct LinkedListPeer<'h> {
    heap: linked_list_allocator::Heap,
    claimed: Claimed<'h>,
}

impl<'h> LinkedListPeer<'h> {
    /// A heap over all of `region`.
    pub fn new(region: Buffer<'h>) -> LinkedListPeer<'h> {
        let mut heap = linked_list_allocator::Heap::empty();
        let start = region.start();
        // SAFETY: the region is valid, writable memory that only this heap
        // uses while it lives (the Buffer lends it exclusively), and `len` is its size.
        unsafe { heap.init(start.as_ptr(), region.len()) };
        LinkedListPeer {
            heap,
            claimed: Claimed::new(region),
        }
    }
}

// SAFETY: every block comes from the peer allocator, which hands out
// distinct, aligned blocks of its own memory.
unsafe impl RawAllocator for LinkedListPeer<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let layout = nonzero(layout);
        let block = self
            .heap
            .allocate_first_fit(layout)
            .map_err(|()| AllocError::OutOfMemory)?;
        self.claimed.high.note(block, layout.size());
        Ok(block)
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` is a live block of this heap with this layout
        // (caller's guarantee), made non-zero the same way as when allocated.
        unsafe { self.heap.deallocate(ptr, nonzero(layout)) }
    }

    // lla's `used()` counts its own rounding of every block, and the
    // highest offset counts requested sizes: the two do not compare. As for
    // talc, the high-water mark is what the lab reports, and it keeps
    // `heap_size <= footprint`, which `RawAllocator` promises.
    claimed_region!();
}

/// The talc configuration measured: the default binning, and heaps that are
/// claimed by hand (no automatic growth).
type TalcCore = talc::base::Talc<talc::source::Manual, talc::DefaultBinning>;

/// `talc` 5's allocator core over a region claimed once: segregated free
/// lists with a bitmap of non-empty bins, boundary tags, and in-place
/// growth and shrinking.
pub struct TalcPeer<'h> {
    talc: TalcCore,
    claimed: Claimed<'h>,
}

impl<'h> TalcPeer<'h> {
    /// A talc heap over all of `region`, or `None` if the region is too
    /// small to hold talc's metadata.
    pub fn new(region: Buffer<'h>) -> Option<TalcPeer<'h>> {
        let mut talc = TalcCore::new(talc::source::Manual);
        let start = region.start();
        // SAFETY: the region is valid, writable memory that only this
        // allocator uses while it lives (the Buffer lends it exclusively); the Manual
        // source allows claiming by hand.
        unsafe { talc.claim(start.as_ptr(), region.len()) }?;
        Some(TalcPeer {
            talc,
            claimed: Claimed::new(region),
        })
    }
}

// SAFETY: every block comes from the peer allocator, which hands out
// distinct, aligned blocks of its own memory.
unsafe impl RawAllocator for TalcPeer<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let layout = nonzero(layout);
        // SAFETY: the size is non-zero.
        let block = unsafe { self.talc.allocate(layout) }.ok_or(AllocError::OutOfMemory)?;
        self.claimed.high.note(block, layout.size());
        Ok(block)
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` is a live talc block with this (non-zero) layout.
        unsafe { self.talc.deallocate(ptr.as_ptr(), nonzero(layout)) }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        let old = nonzero(old);
        let new_size = new_size.max(1);
        // SAFETY: `ptr` is a live talc block with layout `old`, and the
        // new size is non-zero.
        if unsafe { self.talc.try_realloc_in_place(ptr.as_ptr(), old, new_size) } {
            self.claimed.high.note(ptr, new_size);
            return Ok(ptr);
        }
        // SAFETY: as above; the helper allocates, copies and frees through
        // this adapter, so the high-water mark stays right.
        unsafe { allocators::raw_allocator::reallocate_by_copy(self, ptr, old, new_size) }
    }

    // talc keeps no running total without its "counters" feature; the
    // high-water mark is what the lab reports anyway.
    claimed_region!();
}

/// `bumpalo`'s [`Bump`](bumpalo::Bump) with one chunk as large as the
/// region, and an allocation limit that stops it from adding a second one,
/// so that it runs out exactly where the book's bump allocator does.
///
/// bumpalo cannot run in memory it is handed, so its chunk comes from the
/// global allocator. To give it the same warm memory as the region
/// allocators (whose region is reused across timed repetitions), the chunk
/// is reused too: dropping the adapter resets the `Bump` and parks it in
/// `spare`, where the next adapter picks it up.
///
/// Freeing the most recent block rewinds the bump pointer, and reallocation
/// uses bumpalo's own grow and shrink (in place for the most recent block),
/// through its `allocator-api2` implementation. The footprint is the address
/// span of the blocks it handed out, which for one chunk bumping down is the
/// highest offset used from the chunk's top.
pub struct BumpaloPeer<'s> {
    bump: bumpalo::Bump,
    spare: &'s Cell<Option<bumpalo::Bump>>,
    lowest: usize,
    highest: usize,
}

impl<'s> BumpaloPeer<'s> {
    /// A bumpalo arena of `capacity` bytes, reusing the one parked in
    /// `spare` if there is one.
    pub fn new(capacity: usize, spare: &'s Cell<Option<bumpalo::Bump>>) -> BumpaloPeer<'s> {
        let bump = match spare.take() {
            Some(mut bump) => {
                bump.reset();
                bump
            }
            None => {
                let bump = bumpalo::Bump::with_capacity(capacity);
                // The limit applies only to new chunks: with the first chunk
                // counted, none more fits.
                bump.set_allocation_limit(Some(bump.allocated_bytes()));
                bump
            }
        };
        BumpaloPeer {
            bump,
            spare,
            lowest: usize::MAX,
            highest: 0,
        }
    }
}

impl Drop for BumpaloPeer<'_> {
    fn drop(&mut self) {
        // Bump::new() allocates nothing until its first allocation.
        let bump = std::mem::replace(&mut self.bump, bumpalo::Bump::new());
        self.spare.set(Some(bump));
    }
}

impl BumpaloPeer<'_> {
    #[inline]
    fn note(&mut self, block: NonNull<u8>, size: usize) {
        // bumpalo answers a zero-size request with a dangling pointer
        // outside its chunk; it takes no memory, so it does not count.
        if size == 0 {
            return;
        }
        let start = block.as_ptr().addr();
        self.lowest = self.lowest.min(start);
        self.highest = self.highest.max(start.saturating_add(size));
    }
}

// SAFETY: every block comes from the peer allocator, which hands out
// distinct, aligned blocks of its own memory.
unsafe impl RawAllocator for BumpaloPeer<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let block = self
            .bump
            .try_alloc_layout(layout)
            .map_err(|_| AllocError::OutOfMemory)?;
        self.note(block, layout.size());
        Ok(block)
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        use allocator_api2::alloc::Allocator;
        // SAFETY: `ptr` is a live block of this Bump with `layout`.
        unsafe { (&self.bump).deallocate(ptr, layout) }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        use allocator_api2::alloc::Allocator;
        let new =
            Layout::from_size_align(new_size, old.align()).map_err(|_| AllocError::SizeOverflow)?;
        // SAFETY: `ptr` is a live block of this Bump with layout `old`, and
        // the new layout keeps its alignment and is larger (grow) or not
        // larger (shrink), as each method requires.
        let block = unsafe {
            if new_size >= old.size() {
                (&self.bump).grow(ptr, old, new)
            } else {
                (&self.bump).shrink(ptr, old, new)
            }
        }
        .map_err(|_| AllocError::OutOfMemory)?;
        let block = block.cast::<u8>();
        self.note(block, new_size);
        Ok(block)
    }

    fn for_each_region(&self, _visit: &mut dyn FnMut(Range<usize>)) {
        // bumpalo does not expose its chunk bounds as a stable API.
    }

    fn heap_size(&self) -> usize {
        self.footprint()
    }

    fn footprint(&self) -> usize {
        self.highest.saturating_sub(self.lowest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::TraceHeap;

    fn exercise(a: &mut dyn RawAllocator) {
        let l = Layout::from_size_align(24, 16).unwrap();
        let p = a.allocate(l).unwrap();
        assert_eq!(p.as_ptr().addr() % 16, 0);
        // SAFETY: p is live with 24 bytes.
        unsafe { p.as_ptr().write_bytes(9, 24) };
        // SAFETY: p is live with layout l.
        let q = unsafe { a.reallocate(p, l, 100) }.unwrap();
        // SAFETY: q is live with 100 bytes, the first 24 kept.
        let kept = unsafe { std::slice::from_raw_parts(q.as_ptr(), 24) };
        assert!(kept.iter().all(|&b| b == 9));
        let z = a.allocate(Layout::from_size_align(0, 16).unwrap()).unwrap();
        // SAFETY: both are live with these layouts.
        unsafe {
            a.deallocate(z, Layout::from_size_align(0, 16).unwrap());
            a.deallocate(q, Layout::from_size_align(100, 16).unwrap());
        }
    }

    #[test]
    fn every_peer_serves_the_trait() {
        exercise(&mut SystemMalloc::new());
        let heap = TraceHeap::new(1 << 20).unwrap();
        {
            // SAFETY: one region of `heap` at a time: each allocator goes
            // out of scope before the next region is taken.
            let mut lla = LinkedListPeer::new(unsafe { heap.region() });
            exercise(&mut lla);
            assert!(lla.footprint() >= 100);
        }
        {
            // SAFETY: as above.
            let mut talc = TalcPeer::new(unsafe { heap.region() }).unwrap();
            exercise(&mut talc);
            assert!(talc.footprint() >= 100);
        }
        let spare = Cell::new(None);
        let mut bump = BumpaloPeer::new(1 << 16, &spare);
        exercise(&mut bump);
        assert!(bump.footprint() >= 100);
        drop(bump);
        assert!(spare.take().is_some(), "the chunk is parked for reuse");
    }

    #[test]
    fn bumpalo_runs_out_at_its_capacity() {
        let spare = Cell::new(None);
        let mut bump = BumpaloPeer::new(4096, &spare);
        let big = Layout::from_size_align(1 << 20, 8).unwrap();
        assert_eq!(bump.allocate(big), Err(AllocError::OutOfMemory));
    }
}

/// mimalloc (crate `mimalloc`, Microsoft's allocator, built from its C
/// source), called through its `GlobalAlloc` implementation.
///
/// Like glibc it manages a heap of its own, outside the lab's region, so its
/// [`footprint`](RawAllocator::footprint) is 0 here and the replay tool
/// reports no utilization for it: mimalloc reserves and commits memory in
/// large segments per thread, and its statistics (`mi_process_info`) count
/// whole process memory, which would charge the lab's own data to the trace.
/// The book compares its memory on a real workload, by peak resident memory
/// in a process of its own, instead.
#[derive(Debug, Default)]
pub struct MiMallocPeer {
    _private: (),
}

handle!(MiMallocPeer, "The process's mimalloc heap.");

// SAFETY: every block comes from the peer allocator, which hands out
// distinct, aligned blocks of its own memory.
unsafe impl RawAllocator for MiMallocPeer {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        use std::alloc::GlobalAlloc;
        // SAFETY: `nonzero` makes the size non-zero, as GlobalAlloc requires.
        let ptr = unsafe { mimalloc::MiMalloc.alloc(nonzero(layout)) };
        NonNull::new(ptr).ok_or(AllocError::OutOfMemory)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        use std::alloc::GlobalAlloc;
        // SAFETY: `ptr` came from `allocate` with this layout (made non-zero
        // the same way), that is, from MiMalloc.alloc.
        unsafe { mimalloc::MiMalloc.dealloc(ptr.as_ptr(), nonzero(layout)) }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        use std::alloc::GlobalAlloc;
        let old = nonzero(old);
        // SAFETY: a live MiMalloc block with layout `old` (caller's
        // guarantee), and a non-zero new size; on failure the old block
        // stays, as GlobalAlloc::realloc promises.
        let new = unsafe { mimalloc::MiMalloc.realloc(ptr.as_ptr(), old, new_size.max(1)) };
        NonNull::new(new).ok_or(AllocError::OutOfMemory)
    }

    // mimalloc's segments are not ours to enumerate.
    heap_of_its_own!();
}
