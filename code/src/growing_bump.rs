//! A bump allocator that never runs out while the OS has pages: when its
//! current chunk is full, it maps a bigger one and bumps in that.
//!
//! A plain [`BumpAllocator`] fails once its region is used up. This one keeps
//! a list of *chunks*, each an anonymous [`Mapping`], and only the newest
//! (the *current* chunk) takes new blocks. The leftover space at the bottom
//! of a chunk that was too small for the next request is never used again:
//! that is the bump allocator's fragmentation, and chunk sizes double (as in
//! `bumpalo`) so that it stays a small fraction of the heap.
//!
//! The list of chunks lives *in* the chunks: each chunk starts with a header
//! that owns the previous chunk. So the allocator itself never allocates,
//! which lets it serve as a global allocator (see
//! [`Locked`](crate::global::Locked)), and its constructor is `const`: the
//! first chunk is mapped on the first allocation.
//!
//! ```text
//!   newest chunk                          older chunk
//!   +--------+---------+---------------+  +--------+-----+--------------+
//!   | header | free    | blocks  <- top|  | header |lost | blocks       |
//!   | prev --|---------|---------------|->|        |     |              |
//!   +--------+---------+---------------+  +--------+-----+--------------+
//! ```

use crate::bump::{BumpAllocator, Reset};
use crate::os::{Mapping, round_to_pages};
use crate::raw_allocator::{AllocError, HeapError, RawAllocator, reallocate_by_copy};
use crate::region::Region;
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

/// The first chunk's size, unless [`GrowingBump::with_limits`] says otherwise.
pub const DEFAULT_FIRST_CHUNK: usize = 64 * 1024;

/// Chunk sizes double up to this size, and stay there: a larger chunk would
/// risk leaving hundreds of megabytes unused at its bottom.
pub const MAX_CHUNK: usize = 256 * 1024 * 1024;

// ANCHOR: chunk
/// What sits at the start of every chunk: the link to the previous chunk.
struct ChunkHeader {
    prev: Option<Chunk>,
}

/// One mapping: a `ChunkHeader`, then the bytes handed out as blocks.
#[derive(Debug)]
struct Chunk {
    mapping: Mapping,
}

const HEADER: usize = size_of::<ChunkHeader>();
// ANCHOR_END: chunk

impl Chunk {
    /// Maps a chunk of `len` bytes (a non-zero whole number of pages) with an
    /// empty header.
    #[cold]
    fn new(len: usize) -> Result<Chunk, AllocError> {
        debug_assert!(
            len > HEADER && round_to_pages(len) == Some(len),
            "a chunk of {len} bytes is not a whole number of pages above the {HEADER}-byte header"
        );
        // Any error here is the kernel's ENOMEM (the length was checked);
        // io::Error from an OS error code does not allocate.
        let mapping = Mapping::new(len).map_err(|_| AllocError::OutOfMemory)?;
        let chunk = Chunk { mapping };
        // SAFETY: the mapping is page-aligned (so aligned for the header),
        // writable, and longer than the header.
        unsafe { chunk.header().write(ChunkHeader { prev: None }) };
        Ok(chunk)
    }

    fn header(&self) -> *mut ChunkHeader {
        self.mapping.as_ptr().cast()
    }

    fn prev(&self) -> Option<&Chunk> {
        // SAFETY: the header was written in `new` and lives as long as the
        // mapping, which `&self` keeps alive.
        unsafe { (*self.header()).prev.as_ref() }
    }

    /// Unlinks the older chunks. It writes through the mapping's pointer,
    /// not through `&self`, so a shared borrow is enough.
    fn take_prev(&self) -> Option<Chunk> {
        // SAFETY: as in `prev`; nothing holds a reference into the header
        // across this call (`prev` borrows end before any `take_prev`).
        unsafe { (*self.header()).prev.take() }
    }

    fn set_prev(&self, prev: Chunk) {
        // SAFETY: as in `take_prev`.
        let old = unsafe { (*self.header()).prev.replace(prev) };
        debug_assert!(
            old.is_none(),
            "set_prev would leak the chunk list at {:?}",
            old.as_ref().map(|chunk| chunk.mapping.as_ptr())
        );
    }

    fn data(&self) -> Range<usize> {
        let start = self.mapping.as_ptr().addr();
        start + HEADER..start + self.mapping.len()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // Unmap the older chunks in a loop rather than by recursion, so a
        // long list cannot overflow the stack.
        let mut prev = self.take_prev();
        while let Some(chunk) = prev {
            prev = chunk.take_prev();
        }
    }
}

// SAFETY: the data part of a chunk is valid, page-backed memory for as long as
// the mapping lives; `start` derives it from the mapping's pointer every time
// without creating a reference, and the header bytes are outside it.
unsafe impl Region for Chunk {
    fn start(&self) -> NonNull<u8> {
        // SAFETY: a chunk is longer than its header, so this stays inside the
        // mapping, and a mapping does not start at null.
        unsafe { NonNull::new_unchecked(self.mapping.as_ptr().add(HEADER)) }
    }
    fn len(&self) -> usize {
        self.mapping.len() - HEADER
    }
}

// ANCHOR: growing_bump
/// A bump allocator over a growing list of mapped chunks.
///
/// ```
/// use allocators::growing_bump::GrowingBump;
/// use allocators::raw_allocator::RawAllocator;
/// use std::alloc::Layout;
///
/// let mut heap = GrowingBump::with_limits(4096, usize::MAX);
/// for _ in 0..100 {
///     heap.allocate(Layout::new::<[u64; 16]>()).unwrap(); // 128 bytes each
/// }
/// assert!(heap.chunks() > 1); // 12.5 KiB did not fit in the first page
/// ```
#[derive(Debug)]
pub struct GrowingBump {
    /// The newest chunk, which takes new blocks. Its header owns the rest.
    current: Option<BumpAllocator<Chunk>>,
    /// The size to map next time a chunk fills up.
    next_chunk: usize,
    /// Bytes mapped in all chunks, to enforce `limit`.
    mapped: usize,
    /// Bytes of all chunks but the current one: all used or lost.
    retired: usize,
    /// The number of chunks.
    chunks: usize,
    /// Refuse to map more than this many bytes in total.
    limit: usize,
    footprint: usize,
}
// ANCHOR_END: growing_bump

impl Default for GrowingBump {
    fn default() -> Self {
        GrowingBump::new()
    }
}

impl GrowingBump {
    /// An empty allocator; the first allocation maps a
    /// [`DEFAULT_FIRST_CHUNK`]-byte chunk.
    pub const fn new() -> GrowingBump {
        GrowingBump::with_limits(DEFAULT_FIRST_CHUNK, usize::MAX)
    }

    /// An empty allocator whose first chunk has `first_chunk` bytes (rounded
    /// up to pages), and which maps at most `limit` bytes in all: past that,
    /// allocation fails with [`AllocError::OutOfMemory`].
    pub const fn with_limits(first_chunk: usize, limit: usize) -> GrowingBump {
        GrowingBump {
            current: None,
            next_chunk: first_chunk,
            mapped: 0,
            retired: 0,
            chunks: 0,
            limit,
            footprint: 0,
        }
    }

    /// How many chunks are mapped.
    pub fn chunks(&self) -> usize {
        self.chunks
    }

    /// How many bytes are mapped, in all chunks.
    pub fn mapped(&self) -> usize {
        self.mapped
    }

    /// Frees every block. The newest chunk, the largest, is kept for reuse;
    /// the older ones are unmapped.
    pub fn reset(&mut self) {
        self.note_heap_size();
        if let Some(bump) = &mut self.current {
            drop(bump.region().take_prev());
            bump.reset();
            self.mapped = bump.region().mapping.len();
            self.retired = 0;
            self.chunks = 1;
        }
    }

    #[inline]
    fn note_heap_size(&mut self) {
        self.footprint = self.footprint.max(self.heap_size());
    }

    // ANCHOR: new_chunk
    /// The slow path: map a chunk big enough for `layout` and allocate there.
    #[cold]
    #[inline(never)]
    fn allocate_in_new_chunk(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        // Room for the header, the block, and the worst-case padding (the
        // chunk's end is only page-aligned).
        let needed = layout
            .size()
            .checked_add(layout.align() - 1)
            .and_then(|n| n.checked_add(HEADER))
            .and_then(round_to_pages)
            .ok_or(AllocError::SizeOverflow)?;
        let preferred = round_to_pages(self.next_chunk)
            .unwrap_or(needed)
            .max(needed);
        let fits = |len: usize| {
            self.mapped
                .checked_add(len)
                .is_some_and(|total| total <= self.limit)
        };
        let len = match (fits(preferred), fits(needed)) {
            (true, _) => preferred,
            (false, true) => needed,
            (false, false) => return Err(AllocError::OutOfMemory),
        };
        let chunk = Chunk::new(len)?;
        if let Some(old) = self.current.take() {
            let old = old.into_region();
            self.retired += old.mapping.len();
            chunk.set_prev(old);
        }
        self.mapped += len;
        self.chunks += 1;
        self.next_chunk = self.next_chunk.saturating_mul(2).min(MAX_CHUNK);
        let bump = self.current.insert(BumpAllocator::new(chunk));
        // Cannot fail: the chunk was sized for this block.
        let block = bump.allocate(layout)?;
        self.note_heap_size();
        Ok(block)
    }
    // ANCHOR_END: new_chunk
}

impl Reset for GrowingBump {
    fn reset(&mut self) {
        GrowingBump::reset(self);
    }
}

// SAFETY: every block lies in a chunk this allocator mapped, below the
// previous block, aligned as asked; chunks live until the allocator drops.
unsafe impl RawAllocator for GrowingBump {
    // ANCHOR: growing_allocate
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        if let Some(bump) = &mut self.current {
            // The fast path records no statistics: the heap only shrinks in
            // `deallocate`, `reallocate` and `reset`, which note the peak.
            if let Ok(block) = bump.allocate(layout) {
                return Ok(block);
            }
        }
        self.allocate_in_new_chunk(layout)
    }
    // ANCHOR_END: growing_allocate

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // Only the current chunk can rewind; a block in an older chunk stays
        // allocated until `reset`.
        self.note_heap_size();
        if let Some(bump) = &mut self.current
            && bump.contains(ptr)
        {
            // SAFETY: `ptr` is a live block (caller's guarantee) and lies
            // in the current chunk, so it came from `bump`.
            unsafe { bump.deallocate(ptr, layout) };
        }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // Rewinding the block may lower the heap size: note the peak first.
        self.note_heap_size();
        match &mut self.current {
            Some(bump) if bump.contains(ptr) => {
                // SAFETY: as in `deallocate`, the block belongs to `bump`.
                match unsafe { bump.reallocate(ptr, old, new_size) } {
                    Ok(block) => {
                        self.note_heap_size();
                        return Ok(block);
                    }
                    // The current chunk is full: copy into a new one below.
                    Err(AllocError::OutOfMemory) => {}
                    Err(error) => return Err(error),
                }
            }
            // A block in an older chunk can only shrink in place.
            _ if new_size <= old.size() => return Ok(ptr),
            _ => {}
        }
        // SAFETY: the caller's guarantees for `ptr` and `old` carry over.
        unsafe { reallocate_by_copy(self, ptr, old, new_size) }
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        let mut chunk = self.current.as_ref().map(|bump| bump.region());
        while let Some(c) = chunk {
            visit(c.data());
            chunk = c.prev();
        }
    }

    fn heap_size(&self) -> usize {
        match &self.current {
            Some(bump) => self.retired + HEADER + bump.heap_size(),
            None => 0,
        }
    }

    fn footprint(&self) -> usize {
        self.footprint.max(self.heap_size())
    }

    fn check(&self) -> Result<(), HeapError> {
        let Some(bump) = &self.current else {
            return match self.chunks {
                0 => Ok(()),
                _ => Err(HeapError::new(0, "chunks counted but none mapped")),
            };
        };
        bump.check()?;
        let (mut chunks, mut older) = (1, 0);
        let mut chunk = bump.region().prev();
        while let Some(c) = chunk {
            if c.mapping.len() <= HEADER {
                return Err(HeapError::new(
                    c.data().start,
                    "chunk smaller than its header",
                ));
            }
            chunks += 1;
            older += c.mapping.len();
            chunk = c.prev();
        }
        if chunks != self.chunks || older != self.retired {
            return Err(HeapError::new(
                bump.bounds().start,
                "chunk list disagrees with its totals",
            ));
        }
        if self.retired + bump.region().mapping.len() != self.mapped {
            return Err(HeapError::new(
                bump.bounds().start,
                "mapped bytes miscounted",
            ));
        }
        Ok(())
    }
}
