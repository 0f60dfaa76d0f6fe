//! `Checked`, an adapter that checks every promise an allocator makes, call
//! by call.
//!
//! It wraps any [`RawAllocator`] and keeps a *shadow model*: the blocks that
//! should be live, each with its layout and a byte pattern of its own. On
//! every call it checks that:
//!
//! - a new block is aligned as asked, lies inside the allocator's memory
//!   (`owns`), and overlaps no live block;
//! - a block's bytes are intact when it is freed or resized, a resized block
//!   keeps its prefix, and a failed resize leaves the block alone;
//! - a block is freed with the layout it was allocated with;
//! - the heap checker finds nothing, the heap holds at least the live bytes,
//!   and the footprint never shrinks.
//!
//! Ownership and the heap's size are checked against the regions the
//! allocator reports (`for_each_region`). An allocator that reports none,
//! such as the system allocator seen from outside, is not checked for them:
//! it has nothing to check against.
//!
//! The first broken promise is kept as a [`Violation`]; the caller asks for
//! it with [`Checked::violation`] after each call, and reports it in its own
//! terms (a proptest failure with the step, a trace line in the lab). Once
//! there is a violation, `Checked` stops checking and passes calls through.
//!
//! It fills every byte of every block, so give it an allocator with a bounded
//! heap.

use crate::raw_allocator::{AllocError, HeapError, RawAllocator};
use std::alloc::Layout;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::ptr::NonNull;

/// The first promise an allocator broke, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

/// A live block, as the model remembers it.
#[derive(Debug, Clone, Copy)]
struct Live {
    layout: Layout,
    tag: u32,
}

/// An allocator with every call checked against a shadow model.
pub struct Checked<A> {
    inner: A,
    /// Live blocks by start address. Zero-size blocks are not kept: they
    /// have no bytes to own, overlap or check.
    live: BTreeMap<usize, Live>,
    next_tag: u32,
    footprint: usize,
    violation: Option<Violation>,
}

/// The byte at `offset` of the block with `tag`: it differs between blocks
/// and along a block, so a block written over by its neighbour, or copied
/// shifted, is caught.
pub fn pattern(tag: u32, offset: usize) -> u8 {
    let seed = (u64::from(tag).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let seed = (seed >> 56) as u8;
    (seed ^ (offset >> 8) as u8).wrapping_add((offset as u8).wrapping_mul(31))
}

/// `31 * i` for `i` in `0..512` (mod 256): two periods of the pattern's
/// second term. Inside one 256-byte chunk, `pattern` is this sequence read
/// from a starting point that depends on the tag and the chunk (31 is odd, so
/// adding a constant to `31 * i` is a rotation of it). So filling and checking
/// a block are slice copies and compares: fast even in an unoptimized build,
/// where the property tests spend most of their time here.
static ROTATIONS: [u8; 512] = {
    let mut table = [0; 512];
    let mut i = 0;
    while i < 512 {
        table[i] = (i as u8).wrapping_mul(31);
        i += 1;
    }
    table
};

/// The pieces of `range` that lie in one 256-byte chunk each, with the bytes
/// `tag`'s pattern puts there.
fn expected(tag: u32, range: Range<usize>) -> impl Iterator<Item = (usize, &'static [u8])> {
    // 223 is 31's inverse mod 256: `k + 31 * i == 31 * (i + 223 * k)`.
    let seed = pattern(tag, 0);
    let mut at = range.start;
    std::iter::from_fn(move || {
        if at >= range.end {
            return None;
        }
        let chunk_end = (at | 0xff) + 1;
        let len = chunk_end.min(range.end) - at;
        let k = seed ^ (at >> 8) as u8;
        let from = (usize::from(k) * 223) % 256 + at % 256;
        let piece = (at, &ROTATIONS[from..from + len]);
        at += len;
        Some(piece)
    })
}

/// Writes `tag`'s pattern into `range` of the block at `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for writes of `range.end` bytes that nothing else uses.
unsafe fn fill(ptr: NonNull<u8>, range: Range<usize>, tag: u32) {
    for (offset, bytes) in expected(tag, range) {
        // SAFETY: `offset..offset + bytes.len()` is inside the block
        // (caller's guarantee), and the table is not in it.
        unsafe {
            ptr.as_ptr()
                .add(offset)
                .copy_from_nonoverlapping(bytes.as_ptr(), bytes.len())
        };
    }
}

/// The first offset in `0..len` whose byte lost `tag`'s pattern.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` bytes.
unsafe fn corrupted(ptr: NonNull<u8>, len: usize, tag: u32) -> Option<usize> {
    expected(tag, 0..len).find_map(|(offset, bytes)| {
        // SAFETY: valid for `len` bytes (caller's guarantee), and the piece
        // is inside `0..len`.
        let found = unsafe { std::slice::from_raw_parts(ptr.as_ptr().add(offset), bytes.len()) };
        // The slice compare is a `memcmp`; only a mismatch is searched.
        (found != bytes)
            .then(|| offset + found.iter().zip(bytes).take_while(|(a, b)| a == b).count())
    })
}

impl<A: RawAllocator> Checked<A> {
    /// Wraps `inner`, which must have no live blocks yet.
    pub fn new(inner: A) -> Checked<A> {
        let mut checked = Checked {
            footprint: inner.footprint(),
            inner,
            live: BTreeMap::new(),
            next_tag: 0,
            violation: None,
        };
        checked.check_heap("at the start");
        checked
    }

    /// The first promise the allocator broke, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// Unwraps the allocator.
    pub fn into_inner(self) -> A {
        self.inner
    }

    /// The number of live blocks with at least one byte.
    pub fn live_blocks(&self) -> usize {
        self.live.len()
    }

    /// The start addresses and layouts of the live blocks, in address order.
    pub fn live(&self) -> impl Iterator<Item = (NonNull<u8>, Layout)> + '_ {
        self.live.iter().map(|(&addr, live)| {
            // Every key is the address of a block the allocator returned.
            let ptr = NonNull::new(addr as *mut u8).expect("live blocks are not null");
            (ptr, live.layout)
        })
    }

    /// Records the first violation; later ones are ignored.
    #[cold]
    fn fail(&mut self, message: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation(message));
        }
    }

    fn checking(&self) -> bool {
        self.violation.is_none()
    }

    /// Whether the allocator reports any region to check ownership against.
    fn reports_regions(&self) -> bool {
        let mut any = false;
        self.inner.for_each_region(&mut |_| any = true);
        any
    }

    /// Checks a block the allocator just returned, then records and fills it.
    fn admit(&mut self, ptr: NonNull<u8>, layout: Layout, tag: u32, keep: usize, what: &str) {
        let start = ptr.as_ptr().addr();
        if !start.is_multiple_of(layout.align()) {
            return self.fail(format!(
                "{what}: {start:#x} is not aligned to {}",
                layout.align()
            ));
        }
        if layout.size() == 0 {
            return;
        }
        let Some(end) = start.checked_add(layout.size()) else {
            return self.fail(format!("{what}: {start:#x} wraps around the address space"));
        };
        if self.reports_regions() && !self.inner.owns(start..end) {
            return self.fail(format!(
                "{what}: {start:#x}..{end:#x} is outside the allocator's memory"
            ));
        }
        // Only the nearest live block below and the first above can overlap.
        let below = self.live.range(..=start).next_back();
        let above = self.live.range(start + 1..).next();
        for (&s, live) in below.into_iter().chain(above) {
            let e = s + live.layout.size();
            if s < end && start < e {
                return self.fail(format!(
                    "{what}: {start:#x}..{end:#x} overlaps the live block {s:#x}..{e:#x}"
                ));
            }
        }
        // SAFETY: a block the allocator just returned for `layout`: valid for
        // its size, and `keep <= size` bytes of it already hold the pattern.
        unsafe {
            if let Some(offset) = corrupted(ptr, keep, tag) {
                return self.fail(format!("{what}: byte {offset} of the kept prefix changed"));
            }
            fill(ptr, keep..layout.size(), tag);
        }
        self.live.insert(start, Live { layout, tag });
    }

    /// Checks that `ptr` is a live block with `layout` and intact bytes.
    ///
    /// `Err(true)` means the block is live as the caller says, so the call
    /// may go on to the allocator; `Err(false)` means the caller broke the
    /// contract (not a live block, or the wrong layout), and passing the call
    /// on would be undefined behaviour.
    fn verify(&mut self, ptr: NonNull<u8>, layout: Layout, what: &str) -> Result<Live, bool> {
        if layout.size() == 0 {
            return Ok(Live { layout, tag: 0 });
        }
        let start = ptr.as_ptr().addr();
        let Some(&live) = self.live.get(&start) else {
            self.fail(format!("{what}: {start:#x} is not a live block"));
            return Err(false);
        };
        if live.layout != layout {
            self.fail(format!(
                "{what}: {start:#x} was allocated as {:?}, not {layout:?}",
                live.layout
            ));
            return Err(false);
        }
        // SAFETY: a live block of `layout.size()` bytes, per the model.
        if let Some(offset) = unsafe { corrupted(ptr, layout.size(), live.tag) } {
            self.fail(format!(
                "{what}: byte {offset} of the block at {start:#x} changed"
            ));
            return Err(true);
        }
        Ok(live)
    }

    /// Drops a block from the model. A zero-size block was never in it, and
    /// may share its address with a real block, which must stay.
    fn forget(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            self.live.remove(&ptr.as_ptr().addr());
        }
    }

    fn check_heap(&mut self, what: &str) {
        if let Err(error) = self.inner.check() {
            return self.fail(format!("{what}: heap checker: {error}"));
        }
        let live: usize = self.live.values().map(|l| l.layout.size()).sum();
        let (heap, footprint) = (self.inner.heap_size(), self.inner.footprint());
        if live > heap && self.reports_regions() {
            return self.fail(format!("{what}: {live} live bytes in a heap of {heap}"));
        }
        if heap > footprint {
            return self.fail(format!("{what}: heap {heap} above footprint {footprint}"));
        }
        if footprint < self.footprint {
            return self.fail(format!(
                "{what}: footprint shrank from {} to {footprint}",
                self.footprint
            ));
        }
        self.footprint = footprint;
    }

    fn tag(&mut self) -> u32 {
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        tag
    }
}

// SAFETY: every call goes to `A` unchanged (the model only reads and
// writes the bytes of blocks `A` handed out), so `A`'s promises hold.
unsafe impl<A: RawAllocator> RawAllocator for Checked<A> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        let result = self.inner.allocate(layout);
        if self.checking() {
            if let Ok(ptr) = result {
                let tag = self.tag();
                self.admit(ptr, layout, tag, 0, "allocate");
            }
            self.check_heap("after allocate");
        }
        result
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if self.checking() {
            match self.verify(ptr, layout, "deallocate") {
                Ok(_) | Err(true) => self.forget(ptr, layout),
                // Not a block the allocator gave out with this layout: the
                // call stops here, with the violation recorded.
                Err(false) => return,
            }
        }
        // SAFETY: the caller's guarantee, checked above by the model.
        unsafe { self.inner.deallocate(ptr, layout) };
        if self.checking() {
            self.check_heap("after deallocate");
        }
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        let old = if self.checking() {
            match self.verify(ptr, layout, "reallocate") {
                Ok(old) => Some(old),
                Err(true) => None,
                // As in `deallocate`: the allocator never sees the bad call.
                Err(false) => return Err(AllocError::OutOfMemory),
            }
        } else {
            None
        };
        // SAFETY: the caller's guarantee, checked above by the model.
        let result = unsafe { self.inner.reallocate(ptr, layout, new_size) };
        let Some(old) = old else { return result };
        match result {
            Ok(new) => {
                self.forget(ptr, layout);
                match Layout::from_size_align(new_size, layout.align()) {
                    Ok(new_layout) => {
                        let keep = layout.size().min(new_size);
                        self.admit(new, new_layout, old.tag, keep, "reallocate");
                    }
                    Err(_) => self.fail(format!(
                        "reallocate: succeeded with {new_size} bytes, which no Layout describes"
                    )),
                }
            }
            Err(_) => {
                // The block must be untouched and still live.
                // SAFETY: still live for `layout.size()` bytes after a failure.
                if let Some(offset) = unsafe { corrupted(ptr, layout.size(), old.tag) } {
                    self.fail(format!(
                        "a failed reallocate changed byte {offset} of its block"
                    ));
                }
            }
        }
        self.check_heap("after reallocate");
        result
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        self.inner.for_each_region(visit);
    }

    fn heap_size(&self) -> usize {
        self.inner.heap_size()
    }

    fn footprint(&self) -> usize {
        self.inner.footprint()
    }

    fn check(&self) -> Result<(), HeapError> {
        self.inner.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::BumpAllocator;
    use crate::region::OwnedRegion;

    /// A checked bump allocator over 4 KiB.
    fn checked_bump() -> Checked<BumpAllocator<OwnedRegion>> {
        Checked::new(BumpAllocator::new(
            OwnedRegion::new(4096, 16).expect("4 KiB"),
        ))
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("a valid layout")
    }

    #[test]
    fn the_table_gives_the_pattern_byte_for_byte() {
        for tag in [0, 1, 2, 77, u32::MAX] {
            for range in [0..1, 0..700, 3..259, 255..257, 256..1300] {
                let mut bytes = Vec::new();
                let mut next = range.start;
                for (offset, piece) in expected(tag, range.clone()) {
                    assert_eq!(offset, next, "pieces are contiguous");
                    assert!(piece.len() <= 256 - offset % 256, "one chunk each");
                    next += piece.len();
                    bytes.extend_from_slice(piece);
                }
                let want: Vec<u8> = range.clone().map(|o| pattern(tag, o)).collect();
                assert_eq!(bytes, want, "tag {tag}, {range:?}");
            }
        }
    }

    #[test]
    fn corrupted_names_the_first_changed_byte() {
        let mut block = vec![0u8; 600];
        let ptr = NonNull::new(block.as_mut_ptr()).expect("a vec's pointer");
        // SAFETY: `block` is 600 bytes that nothing else uses.
        unsafe {
            fill(ptr, 0..600, 9);
            assert_eq!(corrupted(ptr, 600, 9), None);
            ptr.as_ptr().add(300).write(!pattern(9, 300));
            ptr.as_ptr().add(500).write(!pattern(9, 500));
            assert_eq!(corrupted(ptr, 600, 9), Some(300));
            assert_eq!(corrupted(ptr, 300, 9), None);
        }
    }

    #[test]
    fn a_correct_allocator_passes() {
        let mut a = checked_bump();
        let p = a.allocate(layout(24, 8)).expect("room");
        let q = a.allocate(layout(8, 16)).expect("room");
        // SAFETY: `q` is the newest live block, with this layout.
        let q = unsafe { a.reallocate(q, layout(8, 16), 40) }.expect("room");
        // SAFETY: live blocks with these layouts.
        unsafe {
            a.deallocate(q, layout(40, 16));
            a.deallocate(p, layout(24, 8));
        }
        assert_eq!(a.violation(), None);
        assert_eq!(a.live_blocks(), 0);
    }

    #[test]
    fn a_wrong_layout_and_a_scribble_are_caught() {
        let mut a = checked_bump();
        let p = a.allocate(layout(16, 8)).expect("room");
        // SAFETY: inside the 16-byte block; the point is to break its pattern.
        unsafe { p.as_ptr().add(3).write(0) };
        // SAFETY: a live block (with the wrong bytes, which is the test).
        unsafe { a.deallocate(p, layout(16, 8)) };
        let message = a.violation().expect("caught").to_string();
        assert!(message.contains("byte 3"), "{message}");

        let mut b = checked_bump();
        let p = b.allocate(layout(16, 8)).expect("room");
        // SAFETY: the allocator ignores the layout; the checker must not.
        unsafe { b.deallocate(p, layout(32, 8)) };
        let message = b.violation().expect("caught").to_string();
        assert!(message.contains("allocated as"), "{message}");
    }

    #[test]
    fn a_zero_size_block_may_share_an_address() {
        let mut a = checked_bump();
        let p = a.allocate(layout(16, 16)).expect("room");
        let z = a.allocate(layout(0, 16)).expect("room");
        // SAFETY: live blocks with these layouts, the empty one first.
        unsafe {
            a.deallocate(z, layout(0, 16));
            a.deallocate(p, layout(16, 16));
        }
        assert_eq!(a.violation(), None);
    }
}
