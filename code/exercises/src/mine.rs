//! The capstone: `Mine`, your own allocator, checked and scored like the
//! book's (see the chapter "The malloc lab: your own allocator").
//!
//! It starts as the smallest allocator that works: a bump that never reuses
//! memory. It passes every correctness check, and it scores badly on memory.
//! Make it better, one step at a time:
//!
//! ```text
//! cargo test -p exercises --test mine          # is it correct? (the book's harness, every call checked)
//! cargo run --release -p lab --bin score       # how good is it? (traces, next to the book's allocators and talc)
//! ```
//!
//! With `--features solutions`, `Mine` is the reference solution instead:
//! segregated explicit free lists with boundary tags, immediate coalescing
//! and in-place resizing.

use allocators::heap::HeapMemory;
use allocators::raw_allocator::{AllocError, RawAllocator};
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

#[cfg(not(feature = "solutions"))]
pub use starter::Mine;

#[cfg(feature = "solutions")]
pub use solution::Mine;

/// Where you start: a bump over the heap's break. Correct, fast, and it
/// never reuses a freed byte.
#[cfg(not(feature = "solutions"))]
mod starter {
    use super::*;

    // ANCHOR: starter
    /// Your allocator. Today: every block is new memory at the break.
    pub struct Mine<M> {
        memory: M,
        /// The heap's first byte and its break, as addresses (0: not started).
        start: usize,
        brk: usize,
    }

    impl<M: HeapMemory> Mine<M> {
        /// An allocator whose heap grows through `memory`.
        pub fn new(memory: M) -> Mine<M> {
            Mine {
                memory,
                start: 0,
                brk: 0,
            }
        }
    }

    // SAFETY: every block is fresh memory from `memory.extend`, aligned as
    // asked, and never handed out twice; `check-mine` tests it.
    unsafe impl<M: HeapMemory> RawAllocator for Mine<M> {
        fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
            let brk = self.memory.extend(0)?.as_ptr();
            // Pad up to the alignment, then take the block.
            let pad = brk.align_offset(layout.align());
            let total = pad
                .checked_add(layout.size())
                .ok_or(AllocError::SizeOverflow)?;
            let old = self.memory.extend(total)?;
            if self.start == 0 {
                self.start = old.as_ptr() as usize;
            }
            self.brk = old.as_ptr() as usize + total;
            // SAFETY: `extend` gave us `total` bytes from `old`, and `pad` is
            // inside them.
            Ok(unsafe { old.add(pad) })
        }

        unsafe fn deallocate(&mut self, _ptr: NonNull<u8>, _layout: Layout) {
            // A freed block is never used again. That is what to fix first.
        }

        // No `reallocate` here: the trait's default allocates a new block,
        // copies the old one into it and frees the old one, on every resize.

        fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
            visit(self.start..self.brk);
        }

        fn heap_size(&self) -> usize {
            self.brk - self.start
        }

        fn footprint(&self) -> usize {
            self.brk - self.start
        }
    }
    // ANCHOR_END: starter
}

/// The reference solution (`--features solutions`).
#[cfg(feature = "solutions")]
mod solution {
    use super::*;
    use allocators::raw_allocator::HeapError;

    /// Blocks are multiples of 16 bytes; payloads are 16-aligned.
    const ALIGN: usize = 16;
    const WORD: usize = 8;
    /// Header + next + prev + footer.
    const MIN_BLOCK: usize = 32;
    const ALLOCATED: usize = 1;
    /// Size classes by powers of two of the block size: 32, 64, ..., and
    /// everything from 2^20 up in the last.
    const CLASSES: usize = 16;
    /// The least the heap grows by when no free block fits, unless the
    /// request is smaller: small steps keep the footprint close to the need.
    const GROW_MIN: usize = 64;
    /// How many blocks of its own class a request looks at before it takes
    /// a block from a larger class.
    const SCAN: usize = 8;

    // ANCHOR: solution
    /// Segregated explicit free lists with a header and a footer on every
    /// block, good fit (a short scan of its class, then a larger class),
    /// immediate coalescing, and in-place resizing. Alignments above 16 are
    /// refused (`UnsupportedAlignment`), as the CS:APP lab allows.
    pub struct Mine<M> {
        memory: M,
        /// The first block's header address (0 until the heap starts).
        first: usize,
        /// Where the epilogue header sits: the end of the last block.
        end: usize,
        /// The heap's first byte, for `for_each_region`.
        start: usize,
        /// A pointer to the heap's first byte: every other pointer is made
        /// from it (`with_addr`), so it carries the memory's provenance.
        base: *mut u8,
        footprint: usize,
        /// The head of each class's list of free blocks (header addresses).
        heads: [usize; CLASSES],
        /// Bit `c` is set when class `c`'s list is not empty.
        nonempty: u32,
    }
    // ANCHOR_END: solution

    fn class(size: usize) -> usize {
        let log = usize::BITS - 1 - size.leading_zeros();
        (log as usize).saturating_sub(5).min(CLASSES - 1)
    }

    /// The block size a payload of `size` needs: header and footer, rounded
    /// up to 16, at least the minimum.
    fn block_size(size: usize) -> Option<usize> {
        let raw = size.checked_add(2 * WORD + ALIGN - 1)? & !(ALIGN - 1);
        Some(raw.max(MIN_BLOCK))
    }

    impl<M: HeapMemory> Mine<M> {
        /// An allocator whose heap grows through `memory`.
        pub fn new(memory: M) -> Mine<M> {
            Mine {
                memory,
                first: 0,
                end: 0,
                start: 0,
                base: std::ptr::null_mut(),
                footprint: 0,
                heads: [0; CLASSES],
                nonempty: 0,
            }
        }

        // ANCHOR: words
        /// Reads the word at `addr`.
        ///
        /// # Safety
        ///
        /// `addr` must be a word inside the heap.
        unsafe fn get(&self, addr: usize) -> usize {
            // SAFETY: inside the heap (caller's guarantee), and 8-aligned:
            // every header, footer and link sits at a multiple of 8.
            unsafe { self.base.with_addr(addr).cast::<usize>().read() }
        }

        /// Writes the word at `addr`.
        ///
        /// # Safety
        ///
        /// As for `get`.
        unsafe fn put(&mut self, addr: usize, value: usize) {
            // SAFETY: as for `get`.
            unsafe { self.base.with_addr(addr).cast::<usize>().write(value) }
        }
        // ANCHOR_END: words

        /// Lays out the empty heap: padding, so that payloads are
        /// 16-aligned, and the epilogue (an allocated header of size 0).
        fn start_heap(&mut self) -> Result<(), AllocError> {
            let base = self.memory.extend(0)?.as_ptr();
            let brk = base as usize;
            // The first header sits 8 bytes below a 16-aligned payload; one
            // word below it, a fake allocated footer stops coalescing.
            let first = (brk + 2 * WORD).next_multiple_of(ALIGN) - WORD;
            self.memory.extend(first + WORD - brk)?;
            self.start = brk;
            self.base = base;
            self.first = first;
            self.end = first;
            // SAFETY: both words were just extended into the heap.
            unsafe {
                self.put(first - WORD, ALLOCATED);
                self.put(first, ALLOCATED);
            }
            self.note_footprint();
            Ok(())
        }

        fn note_footprint(&mut self) {
            self.footprint = self.footprint.max(self.end + WORD - self.start);
        }

        /// Grows the heap so that a free block of at least `size` bytes ends
        /// at the epilogue, and returns that block (not on a list).
        fn grow(&mut self, size: usize) -> Result<usize, AllocError> {
            // A free last block only needs topping up.
            // SAFETY: the word below the epilogue is the last block's footer
            // (or the fake one).
            let last = unsafe { self.get(self.end - WORD) };
            let (block, have) = if last & ALLOCATED == 0 {
                (self.end - last, last)
            } else {
                (self.end, 0)
            };
            let more = (size - have).max(GROW_MIN.min(size));
            // Grow first: if that fails, the free last block stays listed.
            self.memory.extend(more)?;
            if have != 0 {
                self.unlink(block);
            }
            self.end += more;
            let size = have + more;
            // SAFETY: the block and the new epilogue lie in the heap.
            unsafe {
                self.put(block, size);
                self.put(block + size - WORD, size);
                self.put(self.end, ALLOCATED);
            }
            self.note_footprint();
            Ok(block)
        }

        fn push(&mut self, block: usize, size: usize) {
            let c = class(size);
            let head = self.heads[c];
            // SAFETY: `block` is a free block of at least MIN_BLOCK bytes:
            // its next and prev words are its own; `head` is a free block.
            unsafe {
                self.put(block + WORD, head);
                self.put(block + 2 * WORD, 0);
                if head != 0 {
                    self.put(head + 2 * WORD, block);
                }
            }
            self.heads[c] = block;
            self.nonempty |= 1 << c;
        }

        fn unlink(&mut self, block: usize) {
            // SAFETY: `block` is on a list, so its links and its
            // neighbours' are valid free-block words.
            unsafe {
                let (next, prev) = (self.get(block + WORD), self.get(block + 2 * WORD));
                if prev == 0 {
                    let c = class(self.get(block) & !ALLOCATED);
                    self.heads[c] = next;
                    if next == 0 {
                        self.nonempty &= !(1 << c);
                    }
                } else {
                    self.put(prev + WORD, next);
                }
                if next != 0 {
                    self.put(next + 2 * WORD, prev);
                }
            }
        }

        /// Good fit: a short first-fit scan of the request's own class, then
        /// the head of the first non-empty larger class, whose blocks are all
        /// large enough. A bitmap of non-empty classes skips the empty ones.
        fn find(&self, size: usize) -> Option<usize> {
            let c = class(size);
            let mut block = self.heads[c];
            let mut looked = 0;
            while block != 0 && looked < SCAN {
                // SAFETY: blocks on the lists are free blocks in the heap.
                unsafe {
                    if self.get(block) >= size {
                        return Some(block);
                    }
                    block = self.get(block + WORD);
                }
                looked += 1;
            }
            let larger = self.nonempty & !((2u32 << c) - 1);
            (larger != 0).then(|| self.heads[larger.trailing_zeros() as usize])
        }

        /// Marks `size` bytes of the free, unlisted `block` allocated, and
        /// frees the rest if it can hold a block.
        fn place(&mut self, block: usize, size: usize) {
            // SAFETY: `block` is a block of the heap, not on a list.
            unsafe {
                let have = self.get(block) & !ALLOCATED;
                if have - size >= MIN_BLOCK {
                    self.put(block, size | ALLOCATED);
                    self.put(block + size - WORD, size | ALLOCATED);
                    let rest = block + size;
                    self.put(rest, have - size);
                    self.put(rest + have - size - WORD, have - size);
                    self.release(rest);
                } else {
                    self.put(block, have | ALLOCATED);
                    self.put(block + have - WORD, have | ALLOCATED);
                }
            }
        }

        /// Coalesces the free `block` with free neighbours (the four cases)
        /// and puts the result on its list.
        fn release(&mut self, mut block: usize) {
            // SAFETY: `block` is a block of the heap with valid tags; its
            // neighbours' tags are valid (the fake footer and the epilogue
            // bound the heap).
            unsafe {
                let mut size = self.get(block) & !ALLOCATED;
                let next = self.get(block + size);
                if next & ALLOCATED == 0 {
                    self.unlink(block + size);
                    size += next;
                }
                let prev = self.get(block - WORD);
                if prev & ALLOCATED == 0 {
                    block -= prev;
                    self.unlink(block);
                    size += prev;
                }
                self.put(block, size);
                self.put(block + size - WORD, size);
                self.push(block, size);
            }
        }
    }

    // SAFETY: every block is fresh memory from `memory.extend`, aligned as
    // asked, and never handed out twice; `check-mine` tests it.
    unsafe impl<M: HeapMemory> RawAllocator for Mine<M> {
        fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
            if layout.align() > ALIGN {
                return Err(AllocError::UnsupportedAlignment);
            }
            let size = block_size(layout.size()).ok_or(AllocError::SizeOverflow)?;
            if self.first == 0 {
                self.start_heap()?;
            }
            let block = match self.find(size) {
                Some(block) => {
                    self.unlink(block);
                    block
                }
                None => self.grow(size)?,
            };
            self.place(block, size);
            NonNull::new((block + WORD) as *mut u8).ok_or(AllocError::OutOfMemory)
        }

        unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) {
            let block = ptr.as_ptr() as usize - WORD;
            // SAFETY: a live block of this heap (caller's guarantee).
            unsafe {
                let size = self.get(block) & !ALLOCATED;
                self.put(block, size);
                self.put(block + size - WORD, size);
            }
            self.release(block);
        }

        unsafe fn reallocate(
            &mut self,
            ptr: NonNull<u8>,
            old: Layout,
            new_size: usize,
        ) -> Result<NonNull<u8>, AllocError> {
            let need = block_size(new_size).ok_or(AllocError::SizeOverflow)?;
            let block = ptr.as_ptr() as usize - WORD;
            // SAFETY: a live block of this heap (caller's guarantee); the
            // block after it has a valid header.
            unsafe {
                let have = self.get(block) & !ALLOCATED;
                let next = self.get(block + have);
                let room = if next & ALLOCATED == 0 {
                    have + next
                } else {
                    have
                };
                if need <= room {
                    // Shrink, or grow into the free block after it.
                    if room > have {
                        self.unlink(block + have);
                    }
                    self.put(block, room);
                    self.place(block, need);
                    return Ok(ptr);
                }
                if block + room == self.end {
                    // The last block: grow the heap under it (first, so that
                    // a failure leaves everything as it was).
                    let more = need - room;
                    self.memory.extend(more)?;
                    if room > have {
                        self.unlink(block + have);
                    }
                    self.end += more;
                    self.put(block, need | ALLOCATED);
                    self.put(block + need - WORD, need | ALLOCATED);
                    self.put(self.end, ALLOCATED);
                    self.note_footprint();
                    return Ok(ptr);
                }
                allocators::raw_allocator::reallocate_by_copy(self, ptr, old, new_size)
            }
        }

        fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
            if self.first != 0 {
                visit(self.start..self.end + WORD);
            }
        }

        fn heap_size(&self) -> usize {
            if self.first == 0 {
                0
            } else {
                self.end + WORD - self.start
            }
        }

        fn footprint(&self) -> usize {
            self.footprint
        }

        /// Walks every block: tags agree, no two free blocks touch, and the
        /// lists hold exactly the free blocks, each in its class.
        fn check(&self) -> Result<(), HeapError> {
            if self.first == 0 {
                return Ok(());
            }
            let mut free = 0;
            let mut block = self.first;
            let mut prev_free = false;
            while block < self.end {
                // SAFETY: the walk stays between the first block and the
                // epilogue, moving by sizes the headers hold.
                let header = unsafe { self.get(block) };
                let size = header & !ALLOCATED;
                if size < MIN_BLOCK || !size.is_multiple_of(ALIGN) || size > self.end - block {
                    return Err(HeapError::new(block, "a block size is out of range"));
                }
                // SAFETY: the block lies inside the heap, checked just above.
                let footer = unsafe { self.get(block + size - WORD) };
                if header != footer {
                    return Err(HeapError::new(block, "header and footer disagree"));
                }
                let is_free = header & ALLOCATED == 0;
                if is_free && prev_free {
                    return Err(HeapError::new(
                        block,
                        "two free blocks touch: not coalesced",
                    ));
                }
                free += usize::from(is_free);
                prev_free = is_free;
                block += size;
            }
            let mut listed = 0;
            for (c, &head) in self.heads.iter().enumerate() {
                let mut b = head;
                while b != 0 {
                    // SAFETY: list members are free blocks in the heap.
                    let size = unsafe { self.get(b) };
                    if size & ALLOCATED != 0 || class(size) != c {
                        return Err(HeapError::new(
                            b,
                            "a listed block is allocated or in the wrong class",
                        ));
                    }
                    listed += 1;
                    if listed > free {
                        return Err(HeapError::new(
                            b,
                            "more listed blocks than free ones (a cycle?)",
                        ));
                    }
                    // SAFETY: as above.
                    b = unsafe { self.get(b + WORD) };
                }
            }
            if listed != free {
                return Err(HeapError::new(self.first, "a free block is on no list"));
            }
            Ok(())
        }
    }
}
