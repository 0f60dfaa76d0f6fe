//! The property-test harness that every allocator of the book goes through.
//!
//! [`check_random_ops`] generates random programs: sequences of allocate,
//! deallocate and reallocate calls with random sizes (zero and absurdly large
//! ones included) and alignments (1 to 64 KiB). [`replay`] runs one program
//! against an allocator and a *shadow model*, the list of blocks that should
//! be live, and checks after every step that:
//!
//! - a block is aligned as asked, lies inside the allocator's memory
//!   ([`RawAllocator::owns`]), and overlaps no other live block;
//! - the bytes written into a block when it was allocated (a pattern unique
//!   to the block) are intact when it is reallocated or freed, and a
//!   reallocated block keeps its prefix;
//! - a failed call returns an `Err` and leaves the block it was given alone;
//! - the heap checker ([`RawAllocator::check`]) finds nothing, the heap holds
//!   at least the live bytes, and the footprint never shrinks.
//!
//! A panic anywhere fails the test, and proptest shrinks the program to a
//! minimal one before reporting it. The harness only needs a constructor,
//! so the free-list allocators reuse it as it is.
//!
//! The harness writes every byte of every block, so give it an allocator
//! with a bounded heap: a block that *succeeds* at `usize::MAX / 2` bytes
//! would take the test down with it.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use allocators::raw_allocator::RawAllocator;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::alloc::Layout;
use std::ptr::NonNull;

/// The largest "ordinary" block size: small under Miri, which interprets
/// every byte the harness writes and reads.
pub const MAX_MEDIUM: usize = if cfg!(miri) { 2048 } else { 16 * 1024 };

/// A heap size that fits a few hundred small blocks and some medium ones.
pub const HEAP: usize = if cfg!(miri) { 16 * 1024 } else { 256 * 1024 };

/// One step of a random program.
#[derive(Debug, Clone)]
pub enum Op {
    /// Allocate `size` bytes aligned to `align`.
    Alloc { size: usize, align: usize },
    /// Free a live block chosen by `pick` (`newest`: the last one allocated,
    /// which stack-like allocators can take back).
    Free { pick: Index, newest: bool },
    /// Resize a live block chosen as for `Free`.
    Realloc {
        pick: Index,
        newest: bool,
        new_size: usize,
    },
}

/// Sizes: mostly small, some medium, and a few that no heap can hold.
pub fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0..=64usize,
        3 => 65..=1024usize,
        1 => 1025..=MAX_MEDIUM,
        1 => prop::sample::select(vec![
            0,
            1 << 40,
            usize::MAX / 2, // isize::MAX: the largest size a Layout allows
            usize::MAX / 2 - 4095,
            usize::MAX - 7, // too big for any Layout
            usize::MAX,
        ]),
    ]
}

/// Alignments: powers of two from 1 to 4096, and now and then up to 64 KiB.
pub fn align() -> impl Strategy<Value = usize> {
    prop_oneof![
        9 => (0..=12u32).prop_map(|shift| 1usize << shift),
        1 => (13..=16u32).prop_map(|shift| 1usize << shift),
    ]
}

/// One random step.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (size(), align()).prop_map(|(size, align)| Op::Alloc { size, align }),
        3 => (any::<Index>(), any::<bool>()).prop_map(|(pick, newest)| Op::Free { pick, newest }),
        2 => (any::<Index>(), any::<bool>(), size())
            .prop_map(|(pick, newest, new_size)| Op::Realloc { pick, newest, new_size }),
    ]
}

/// A random program of up to 100 steps (30 under Miri).
pub fn program() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..if cfg!(miri) { 30 } else { 100 })
}

/// Few cases under Miri, where each takes seconds; no failure files.
pub fn config() -> Config {
    Config {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs random programs against fresh allocators from `make`, and panics with
/// the smallest failing program if one breaks a rule.
pub fn check_random_ops<A: RawAllocator>(make: impl Fn() -> A) {
    let mut runner = TestRunner::new(config());
    if let Err(error) = runner.run(&program(), |program| replay(&mut make(), &program)) {
        panic!("{error}");
    }
}

/// A block the allocator handed out, as the model remembers it.
#[derive(Debug)]
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    /// Seeds the block's byte pattern.
    tag: u8,
}

/// The byte at `offset` of a block with `tag`: differs between neighbouring
/// blocks and along a block, so a shifted copy is caught too.
fn pattern(tag: u8, offset: usize) -> u8 {
    tag.wrapping_mul(31).wrapping_add((offset % 251) as u8)
}

fn fill(ptr: NonNull<u8>, len: usize, tag: u8) {
    for offset in 0..len {
        // SAFETY: the harness only fills blocks the allocator just returned,
        // which are valid for `len` bytes.
        unsafe { ptr.add(offset).write(pattern(tag, offset)) };
    }
}

/// The first offset in `0..len` whose byte is not the pattern.
fn corrupted(ptr: NonNull<u8>, len: usize, tag: u8) -> Option<usize> {
    // SAFETY: only called on live blocks with `len` at most their size.
    (0..len).find(|&offset| unsafe { ptr.add(offset).read() } != pattern(tag, offset))
}

/// The shadow model: what should be allocated, and the checks.
struct Model<'a, A: RawAllocator> {
    alloc: &'a mut A,
    live: Vec<Block>,
    next_tag: u8,
    footprint: usize,
}

impl<A: RawAllocator> Model<'_, A> {
    /// Checks a block the allocator just returned (but has not filled yet).
    fn check_new_block(
        &self,
        ptr: NonNull<u8>,
        layout: Layout,
        step: usize,
    ) -> Result<(), TestCaseError> {
        let addr = ptr.as_ptr().addr();
        prop_assert!(
            addr.is_multiple_of(layout.align()),
            "step {step}: {addr:#x} is not aligned to {}",
            layout.align()
        );
        if layout.size() == 0 {
            // No bytes: nothing to own or overlap.
            return Ok(());
        }
        let block = addr..addr + layout.size();
        prop_assert!(
            self.alloc.owns(block.clone()),
            "step {step}: {block:x?} is outside the allocator's memory"
        );
        for other in self.live.iter().filter(|other| other.layout.size() > 0) {
            let start = other.ptr.as_ptr().addr();
            let end = start + other.layout.size();
            prop_assert!(
                block.end <= start || end <= block.start,
                "step {step}: {block:x?} overlaps live block {:x?}",
                start..end
            );
        }
        Ok(())
    }

    /// Checks the whole allocator after a step.
    fn check_heap(&mut self, step: usize) -> Result<(), TestCaseError> {
        if let Err(error) = self.alloc.check() {
            return Err(TestCaseError::fail(format!(
                "step {step}: checker: {error}"
            )));
        }
        let live: usize = self.live.iter().map(|block| block.layout.size()).sum();
        let (heap, footprint) = (self.alloc.heap_size(), self.alloc.footprint());
        prop_assert!(
            live <= heap,
            "step {step}: {live} live bytes in a heap of {heap}"
        );
        prop_assert!(
            heap <= footprint,
            "step {step}: heap {heap} above footprint {footprint}"
        );
        prop_assert!(footprint >= self.footprint, "step {step}: footprint shrank");
        self.footprint = footprint;
        Ok(())
    }

    fn pick(&self, pick: &Index, newest: bool) -> Option<usize> {
        match self.live.len() {
            0 => None,
            n if newest => Some(n - 1),
            n => Some(pick.index(n)),
        }
    }

    fn free(&mut self, i: usize, step: usize) -> Result<(), TestCaseError> {
        let block = self.live.remove(i);
        if let Some(offset) = corrupted(block.ptr, block.layout.size(), block.tag) {
            return Err(TestCaseError::fail(format!(
                "step {step}: byte {offset} of {block:?} changed"
            )));
        }
        // SAFETY: the block is live, with this layout, and forgotten by the
        // model from now on.
        unsafe { self.alloc.deallocate(block.ptr, block.layout) };
        Ok(())
    }

    fn step(&mut self, op: &Op, step: usize) -> Result<(), TestCaseError> {
        match *op {
            Op::Alloc { size, align } => {
                // Sizes a Layout cannot describe never reach an allocator.
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    return Ok(());
                };
                if let Ok(ptr) = self.alloc.allocate(layout) {
                    self.check_new_block(ptr, layout, step)?;
                    let tag = self.next_tag;
                    self.next_tag = self.next_tag.wrapping_add(1);
                    fill(ptr, size, tag);
                    self.live.push(Block { ptr, layout, tag });
                }
            }
            Op::Free { ref pick, newest } => {
                let Some(i) = self.pick(pick, newest) else {
                    return Ok(());
                };
                self.free(i, step)?;
            }
            Op::Realloc {
                ref pick,
                newest,
                new_size,
            } => {
                let Some(i) = self.pick(pick, newest) else {
                    return Ok(());
                };
                let old = &self.live[i];
                let (ptr, layout, tag) = (old.ptr, old.layout, old.tag);
                if let Some(offset) = corrupted(ptr, layout.size(), tag) {
                    return Err(TestCaseError::fail(format!(
                        "step {step}: byte {offset} of {old:?} changed"
                    )));
                }
                // SAFETY: the block is live with this layout; on success the
                // model replaces it, on failure it stays.
                match unsafe { self.alloc.reallocate(ptr, layout, new_size) } {
                    Ok(new_ptr) => {
                        let block = self.live.remove(i);
                        let new_layout = Layout::from_size_align(new_size, layout.align())
                            .map_err(|_| {
                                TestCaseError::fail(format!(
                                    "step {step}: resized to an invalid layout"
                                ))
                            })?;
                        self.check_new_block(new_ptr, new_layout, step)?;
                        let kept = layout.size().min(new_size);
                        if let Some(offset) = corrupted(new_ptr, kept, block.tag) {
                            return Err(TestCaseError::fail(format!(
                                "step {step}: byte {offset} not kept when resizing {block:?} to {new_size}"
                            )));
                        }
                        fill(new_ptr, new_size, block.tag);
                        self.live.push(Block {
                            ptr: new_ptr,
                            layout: new_layout,
                            ..block
                        });
                    }
                    Err(_) => {
                        if let Some(offset) = corrupted(ptr, layout.size(), tag) {
                            return Err(TestCaseError::fail(format!(
                                "step {step}: failed resize changed byte {offset} of {:?}",
                                self.live[i]
                            )));
                        }
                    }
                }
            }
        }
        self.check_heap(step)
    }
}

/// Runs `program` against `alloc`, checking everything after every step,
/// then frees every block that is still live (checking its bytes first).
pub fn replay<A: RawAllocator>(alloc: &mut A, program: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model {
        alloc,
        live: Vec::new(),
        next_tag: 0,
        footprint: 0,
    };
    model.check_heap(0)?;
    for (step, op) in program.iter().enumerate() {
        model.step(op, step + 1)?;
    }
    let end = program.len() + 1;
    while let Some(newest) = model.live.len().checked_sub(1) {
        model.free(newest, end)?;
        model.check_heap(end)?;
    }
    Ok(())
}

/// Allocates `layout` and fills it, for hand-written tests.
pub fn filled<A: RawAllocator>(alloc: &mut A, layout: Layout, tag: u8) -> NonNull<u8> {
    let ptr = alloc
        .allocate(layout)
        .unwrap_or_else(|e| panic!("allocating {layout:?}: {e}"));
    assert_eq!(ptr.as_ptr().addr() % layout.align(), 0);
    fill(ptr, layout.size(), tag);
    ptr
}

/// Asserts that the first `len` bytes at `ptr` still hold `tag`'s pattern.
pub fn assert_intact(ptr: NonNull<u8>, len: usize, tag: u8) {
    assert_eq!(
        corrupted(ptr, len, tag),
        None,
        "block at {ptr:p} was overwritten"
    );
}
