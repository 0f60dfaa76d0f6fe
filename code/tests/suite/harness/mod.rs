//! The property-test harness that every allocator of the book goes through.
//!
//! [`check_random_ops`] generates random programs: sequences of allocate,
//! deallocate and reallocate calls with random sizes (zero and absurdly large
//! ones included) and alignments (1 to 64 KiB). [`replay`] runs one program
//! against an allocator wrapped in `allocators::checked::Checked`, the
//! crate's *shadow model* of the blocks that should be live (the lab's replay
//! tool uses the same adapter), which checks after every step that:
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
//! minimal one before reporting it. Each run tries new programs; the failure
//! message names the seed (`HARNESS_SEED=...`) that brings them back. The harness only needs a constructor,
//! so the free-list allocators reuse it as it is.
//!
//! The harness writes every byte of every block, so give it an allocator
//! with a bounded heap: a block that *succeeds* at `usize::MAX / 2` bytes
//! would take the test down with it.

// The exercises crate includes this file too, and uses only part of it.
#![allow(dead_code)]

use allocators::checked::Checked;
use allocators::raw_allocator::RawAllocator;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
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

/// The seed of this run's random programs: `HARNESS_SEED` if it is set (to
/// replay a failure), else the clock. Miri, cut off from the clock, uses 0.
fn seed() -> u64 {
    if let Some(text) = std::env::var_os("HARNESS_SEED") {
        let text = text.to_string_lossy();
        return text
            .parse()
            .unwrap_or_else(|_| panic!("HARNESS_SEED={text}: not a number (u64)"));
    }
    if cfg!(miri) {
        return 0;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |since| since.as_nanos() as u64)
}

/// What a panic said, for a failure report.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    format!("panicked: {}", text.unwrap_or("(no message)"))
}

/// One `#[test]` per `name => allocator` pair, each running
/// [`check_random_ops`] on fresh allocators built by the expression: for the
/// policies of one allocator, each its own test. (Unused where another
/// crate's tests take this module in by `#[path]`.)
#[allow(unused_macros)]
macro_rules! passes_the_harness {
    ($($name:ident => $make:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::harness::check_random_ops(|| $make);
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use passes_the_harness;

/// Runs random programs against fresh allocators from `make`, and panics with
/// the smallest failing program if one breaks a rule or panics.
pub fn check_random_ops<A: RawAllocator>(make: impl Fn() -> A) {
    let seed = seed();
    let mut bytes = [0; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(config(), rng);
    let result = runner.run(&program(), |program| {
        // proptest without std does not catch panics; we do, so that a
        // panicking program is shrunk like any other failure.
        let run = std::panic::AssertUnwindSafe(|| replay(&mut make(), &program));
        std::panic::catch_unwind(run)
            .unwrap_or_else(|panic| Err(TestCaseError::fail(panic_message(&*panic))))
    });
    if let Err(error) = result {
        panic!("{error}\n(HARNESS_SEED={seed} runs the same programs again)");
    }
}

/// The byte at `offset` of a block with `tag`, for the hand-written tests:
/// differs between neighbouring blocks and along a block, so a shifted copy
/// is caught too.
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

/// Fails the test case with the first promise the allocator broke.
fn verdict<A: RawAllocator>(alloc: &Checked<A>, step: usize) -> Result<(), TestCaseError> {
    match alloc.violation() {
        None => Ok(()),
        Some(violation) => Err(TestCaseError::fail(format!("step {step}: {violation}"))),
    }
}

/// Runs `program` against `alloc`, through `Checked` (the crate's shadow
/// model, which checks everything after every call), then frees every block
/// that is still live, newest first.
pub fn replay<A: RawAllocator>(alloc: &mut A, program: &[Op]) -> Result<(), TestCaseError> {
    let mut checked = Checked::new(alloc);
    // Live blocks in allocation order, so that `newest` picks the last one.
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    verdict(&checked, 0)?;
    for (i, op) in program.iter().enumerate() {
        let step = i + 1;
        match *op {
            Op::Alloc { size, align } => {
                // Sizes a Layout cannot describe never reach an allocator.
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                if let Ok(ptr) = checked.allocate(layout) {
                    live.push((ptr, layout));
                }
            }
            Op::Free { ref pick, newest } => {
                let Some(i) = pick_index(&live, pick, newest) else {
                    continue;
                };
                let (ptr, layout) = live.remove(i);
                // SAFETY: a live block with this layout, forgotten from now on.
                unsafe { checked.deallocate(ptr, layout) };
            }
            Op::Realloc {
                ref pick,
                newest,
                new_size,
            } => {
                let Some(i) = pick_index(&live, pick, newest) else {
                    continue;
                };
                let (ptr, layout) = live[i];
                // SAFETY: a live block with this layout; on success it is
                // replaced, on failure it stays.
                if let Ok(new) = unsafe { checked.reallocate(ptr, layout, new_size) } {
                    let new_layout =
                        Layout::from_size_align(new_size, layout.align()).map_err(|_| {
                            TestCaseError::fail(format!(
                                "step {step}: resized to an invalid layout"
                            ))
                        })?;
                    live.remove(i);
                    live.push((new, new_layout));
                }
            }
        }
        verdict(&checked, step)?;
    }
    let end = program.len() + 1;
    while let Some((ptr, layout)) = live.pop() {
        // SAFETY: a live block with this layout.
        unsafe { checked.deallocate(ptr, layout) };
        verdict(&checked, end)?;
    }
    Ok(())
}

/// Which live block an operation names: the newest, or one picked at random.
fn pick_index(live: &[(NonNull<u8>, Layout)], pick: &Index, newest: bool) -> Option<usize> {
    match live.len() {
        0 => None,
        n if newest => Some(n - 1),
        n => Some(pick.index(n)),
    }
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
