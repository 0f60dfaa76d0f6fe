//! The replay engine: runs a [`Trace`] against any [`RawAllocator`].
//!
//! For one trace and one allocator, [`Job::measure`]:
//!
//! 1. builds a fresh allocator over the job's heap and replays the trace
//!    once as a warm-up. With `check` on, this pass also verifies every
//!    operation (see `checked_pass`, through `allocators::checked::Checked`) and runs the allocator's heap checker
//!    after each one. It stops at the first allocation failure, which is
//!    reported as out of memory at that line;
//! 2. reads the allocator's footprint (its high-water mark) after the
//!    warm-up pass;
//! 3. replays the trace `reps` more times, each with a fresh allocator over
//!    the same heap, timing only the loop over the operations, and keeps the
//!    median.
//!
//! After every pass the blocks still live are freed (untimed), so that
//! glibc's malloc, which outlives the passes, starts each one in the same
//! state.

use crate::trace::{Op, Trace};
use allocators::checked::Checked;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::Buffer;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::time::Instant;

use crate::region::TraceHeap;

/// How to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed repetitions after the warm-up; the median is reported.
    pub reps: usize,
    /// Verify every operation in the warm-up pass.
    pub check: bool,
    /// The alignment every block is requested with.
    pub align: usize,
    /// The heap size for every allocator, or `None` for
    /// [`default_heap_size`].
    pub heap: Option<usize>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reps: 5,
            check: false,
            align: 16,
            heap: None,
        }
    }
}

/// The largest heap [`default_heap_size`] picks. Beyond it, an allocator
/// that does not reuse memory (a bump allocator) runs out, which is a fair
/// result; `--heap` can raise it.
pub const MAX_DEFAULT_HEAP: usize = 1 << 30;

/// The heap every allocator gets for `trace` unless told otherwise: enough
/// for an allocator that never reuses a byte (every request added up), plus
/// 64 bytes per request for headers and alignment, plus 1 MiB for
/// metadata, capped at [`MAX_DEFAULT_HEAP`]. Pages that are never touched
/// cost nothing, so generous is cheap.
pub fn default_heap_size(trace: &Trace) -> usize {
    trace
        .total_requested
        .saturating_add(trace.allocations.saturating_mul(64))
        .saturating_add(1 << 20)
        .min(MAX_DEFAULT_HEAP)
}

/// What a measurement found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The trace ran to its end.
    Measured(Measurement),
    /// An allocation failed at this line of the trace.
    AllocFailed {
        /// The trace line of the failing operation.
        line: u32,
        /// Why it failed.
        error: AllocError,
    },
    /// `--check` found a broken promise: a misaligned or overlapping block,
    /// changed payload bytes, or a heap checker error.
    Violation {
        /// The trace line of the operation after which it was found.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// The measurement could not be set up (e.g. the heap could not be
    /// mapped).
    Unavailable(String),
}

/// The numbers of a completed measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Seconds per replay of the whole trace: the median of the timed
    /// repetitions.
    pub seconds: f64,
    /// Every repetition's seconds, in the order they ran.
    pub samples: Vec<f64>,
    /// The allocator's peak footprint in bytes, if it could be measured.
    pub footprint: Option<usize>,
    /// Why the footprint is missing, if it is.
    pub footprint_note: Option<String>,
}

/// The median of `samples` (the mean of the middle two for an even count),
/// or `None` if there are none.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// One trace, the heap every allocator gets for it, and the options.
pub struct Job<'t> {
    /// The trace to replay.
    pub trace: &'t Trace,
    /// How.
    pub options: &'t Options,
    /// Where the trace was read from, for measurements that run in a child
    /// process (the glibc footprint).
    pub path: Option<&'t std::path::Path>,
    /// The name of the allocator being measured, for messages.
    pub allocator: &'static str,
}

/// A live block: where it is and how many bytes were asked for.
#[derive(Debug, Clone, Copy)]
struct Slot {
    ptr: Option<NonNull<u8>>,
    size: usize,
}

const EMPTY: Slot = Slot { ptr: None, size: 0 };

/// Why a pass stopped early.
enum Stop {
    Failed { line: u32, error: AllocError },
    Violation { line: u32, message: String },
}

impl<'t> Job<'t> {
    /// The heap size every allocator gets for this job.
    pub fn heap_size(&self) -> usize {
        self.options
            .heap
            .unwrap_or_else(|| default_heap_size(self.trace))
    }

    /// Measures the allocators that `make` builds over a heap of
    /// [`heap_size`](Self::heap_size) bytes: one for the warm-up pass and
    /// one for each timed repetition. The footprint is the allocator's
    /// [`footprint`](RawAllocator::footprint) after the warm-up.
    pub fn measure<'h, A, F>(&self, heap: &'h TraceHeap, mut make: F) -> Outcome
    where
        A: RawAllocator,
        F: FnMut(Buffer<'h>) -> Option<A>,
    {
        let trace = self.trace;
        let mut slots = vec![EMPTY; trace.ids];
        let mut fresh = || {
            // SAFETY: only one allocator over `heap` exists at a time: each
            // one is dropped at the end of its pass, before the next is made.
            make(unsafe { heap.region() })
        };
        let Some(mut alloc) = fresh() else {
            return Outcome::Unavailable(format!(
                "{} cannot be set up in a {} byte heap",
                self.allocator,
                heap.len()
            ));
        };
        let warm = if self.options.check {
            checked_pass(&mut alloc, trace, self.options.align, &mut slots)
        } else {
            pass(&mut alloc, trace, self.options.align, &mut slots)
        };
        free_all(&mut alloc, &mut slots, self.options.align);
        if let Err(stop) = warm {
            return match stop {
                Stop::Failed { line, error } => Outcome::AllocFailed { line, error },
                Stop::Violation { line, message } => Outcome::Violation { line, message },
            };
        }
        let footprint = alloc.footprint();
        drop(alloc);

        let mut samples = Vec::with_capacity(self.options.reps);
        for _ in 0..self.options.reps {
            let Some(mut alloc) = fresh() else {
                return Outcome::Unavailable(format!(
                    "{} could not be set up again",
                    self.allocator
                ));
            };
            let start = Instant::now();
            let result = pass(&mut alloc, trace, self.options.align, &mut slots);
            let seconds = start.elapsed().as_secs_f64();
            free_all(&mut alloc, &mut slots, self.options.align);
            if let Err(Stop::Failed { line, error }) = result {
                // Deterministic allocators fail in the warm-up already; only
                // glibc, whose state carries over, could differ.
                return Outcome::AllocFailed { line, error };
            }
            samples.push(seconds);
        }
        Outcome::Measured(Measurement {
            seconds: median(&samples).unwrap_or(f64::NAN),
            samples,
            footprint: Some(footprint),
            footprint_note: None,
        })
    }
}

fn layout(size: usize, align: usize, line: u32) -> Result<Layout, Stop> {
    Layout::from_size_align(size, align).map_err(|_| Stop::Failed {
        line,
        error: AllocError::SizeOverflow,
    })
}

/// The timed loop: the operations and nothing else. The trace was validated
/// when it was parsed, so every free and reallocation finds its block.
#[inline(never)]
fn pass<A: RawAllocator>(
    alloc: &mut A,
    trace: &Trace,
    align: usize,
    slots: &mut [Slot],
) -> Result<(), Stop> {
    for (i, op) in trace.ops.iter().enumerate() {
        apply(alloc, op, trace.lines[i], align, slots)?;
    }
    Ok(())
}

/// One operation of a trace: what `pass` times and `checked_pass` checks.
#[inline(always)]
fn apply<A: RawAllocator>(
    alloc: &mut A,
    op: &Op,
    line: u32,
    align: usize,
    slots: &mut [Slot],
) -> Result<(), Stop> {
    match *op {
        Op::Alloc { id, size } => {
            let layout = layout(size, align, line)?;
            let ptr = alloc
                .allocate(layout)
                .map_err(|error| Stop::Failed { line, error })?;
            slots[id as usize] = Slot {
                ptr: Some(ptr),
                size,
            };
        }
        Op::Free { id } => {
            let slot = std::mem::replace(&mut slots[id as usize], EMPTY);
            if let Some(ptr) = slot.ptr {
                let layout = layout(slot.size, align, line)?;
                // SAFETY: the slot holds a live block of this allocator,
                // allocated with this layout, and is emptied here.
                unsafe { alloc.deallocate(ptr, layout) };
            }
        }
        Op::Realloc { id, size } => {
            let slot = &mut slots[id as usize];
            if let Some(ptr) = slot.ptr {
                let old = layout(slot.size, align, line)?;
                // SAFETY: as for a free; on failure the old block stays
                // live and in its slot.
                let new = unsafe { alloc.reallocate(ptr, old, size) }
                    .map_err(|error| Stop::Failed { line, error })?;
                *slot = Slot {
                    ptr: Some(new),
                    size,
                };
            }
        }
    }
    Ok(())
}

/// Frees every block still live, so the next pass starts clean.
fn free_all<A: RawAllocator>(alloc: &mut A, slots: &mut [Slot], align: usize) {
    for slot in slots.iter_mut() {
        if let Some(ptr) = slot.ptr.take()
            && let Ok(layout) = Layout::from_size_align(slot.size, align)
        {
            // SAFETY: a live block of this allocator with this layout.
            unsafe { alloc.deallocate(ptr, layout) };
        }
    }
}

/// One operation of a trace, compiled for [`bare_pass`]: the layouts are
/// built and checked beforehand, and each block lives in a plain pointer
/// array, so the loop does nothing but call the allocator.
#[derive(Debug, Clone, Copy)]
enum BareOp {
    Alloc { slot: u32, layout: Layout },
    Free { slot: u32, layout: Layout },
    Realloc { slot: u32, old: Layout, size: usize },
}

/// The blocks still live at the end of a trace: slot and layout.
type Live = Vec<(u32, Layout)>;

/// Compiles `trace` into [`BareOp`]s, and the layouts of the blocks still
/// live at its end; `None` if a size does not make a layout.
fn compile(trace: &Trace, align: usize) -> Option<(Vec<BareOp>, Live)> {
    let mut sizes: Vec<Option<usize>> = vec![None; trace.ids];
    let mut ops = Vec::with_capacity(trace.ops.len());
    for op in &trace.ops {
        ops.push(match *op {
            Op::Alloc { id, size } => {
                sizes[id as usize] = Some(size);
                BareOp::Alloc {
                    slot: id,
                    layout: Layout::from_size_align(size, align).ok()?,
                }
            }
            Op::Free { id } => BareOp::Free {
                slot: id,
                layout: Layout::from_size_align(sizes[id as usize].take()?, align).ok()?,
            },
            Op::Realloc { id, size } => {
                let old = sizes[id as usize].replace(size)?;
                Layout::from_size_align(size, align).ok()?;
                BareOp::Realloc {
                    slot: id,
                    old: Layout::from_size_align(old, align).ok()?,
                    size,
                }
            }
        });
    }
    let live = sizes
        .iter()
        .enumerate()
        .filter_map(|(id, s)| Some((id as u32, Layout::from_size_align((*s)?, align).ok()?)))
        .collect();
    Some((ops, live))
}

/// The bare loop: the same allocator calls as [`pass`], in the same order,
/// with no trace bookkeeping (no line numbers, no layout checks, no
/// `Result` mapping). `false` if an allocation failed.
#[inline(never)]
fn bare_pass<A: RawAllocator>(alloc: &mut A, ops: &[BareOp], ptrs: &mut [NonNull<u8>]) -> bool {
    for op in ops {
        match *op {
            BareOp::Alloc { slot, layout } => match alloc.allocate(layout) {
                Ok(ptr) => ptrs[slot as usize] = ptr,
                Err(_) => return false,
            },
            // SAFETY: the trace was validated when it was parsed: the slot
            // holds the live block this layout was allocated with.
            BareOp::Free { slot, layout } => unsafe {
                alloc.deallocate(ptrs[slot as usize], layout)
            },
            BareOp::Realloc { slot, old, size } => {
                // SAFETY: as for a free.
                match unsafe { alloc.reallocate(ptrs[slot as usize], old, size) } {
                    Ok(ptr) => ptrs[slot as usize] = ptr,
                    Err(_) => return false,
                }
            }
        }
    }
    true
}

/// The replay loop's time against a bare loop's, for one trace and one
/// allocator: the cost of the replay tool's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    /// Median seconds of `pass`, the replay tool's timed loop.
    pub replay: f64,
    /// Median seconds of `bare_pass`.
    pub bare: f64,
}

impl Overhead {
    /// How many times longer the replay loop takes than the bare loop.
    pub fn ratio(&self) -> f64 {
        self.replay / self.bare
    }
}

impl Job<'_> {
    /// Times the replay's loop and the bare loop on the allocators `make`
    /// builds, alternating, `reps` times each, with a fresh allocator for
    /// every pass, and returns both medians. An error if the trace does not
    /// compile or an allocation fails.
    pub fn overhead<'h, A, F>(&self, heap: &'h TraceHeap, mut make: F) -> Result<Overhead, String>
    where
        A: RawAllocator,
        F: FnMut(Buffer<'h>) -> Option<A>,
    {
        let align = self.options.align;
        let (ops, live) = compile(self.trace, align).ok_or("a size does not make a layout")?;
        let mut fresh = || {
            // SAFETY: only one allocator over `heap` exists at a time.
            make(unsafe { heap.region() })
                .ok_or_else(|| format!("{} cannot be set up", self.allocator))
        };
        let mut slots = vec![EMPTY; self.trace.ids];
        let mut ptrs = vec![NonNull::<u8>::dangling(); self.trace.ids];
        let (mut replay, mut bare) = (Vec::new(), Vec::new());
        // One untimed round first, as a warm-up.
        for rep in 0..=self.options.reps {
            let mut alloc = fresh()?;
            let start = Instant::now();
            let result = pass(&mut alloc, self.trace, align, &mut slots);
            let seconds = start.elapsed().as_secs_f64();
            free_all(&mut alloc, &mut slots, align);
            if result.is_err() {
                return Err(format!("{} failed the trace", self.allocator));
            }
            drop(alloc);
            let mut alloc = fresh()?;
            let start = Instant::now();
            let ok = bare_pass(&mut alloc, &ops, &mut ptrs);
            let bare_seconds = start.elapsed().as_secs_f64();
            if !ok {
                return Err(format!(
                    "{} failed the trace in the bare loop",
                    self.allocator
                ));
            }
            for &(slot, layout) in &live {
                // SAFETY: these blocks are live at the end of the trace.
                unsafe { alloc.deallocate(ptrs[slot as usize], layout) };
            }
            if rep > 0 {
                replay.push(seconds);
                bare.push(bare_seconds);
            }
        }
        Ok(Overhead {
            replay: median(&replay).unwrap_or(f64::NAN),
            bare: median(&bare).unwrap_or(f64::NAN),
        })
    }
}

/// The warm-up pass with every check on: every operation goes through
/// `allocators::checked::Checked`, the crate's shadow model (the same one the
/// property tests use), and its first violation stops the pass with the
/// trace line that caused it.
fn checked_pass<A: RawAllocator>(
    alloc: &mut A,
    trace: &Trace,
    align: usize,
    slots: &mut [Slot],
) -> Result<(), Stop> {
    let mut checked = Checked::new(&mut *alloc);
    let mut result = Ok(());
    for (i, op) in trace.ops.iter().enumerate() {
        let line = trace.lines[i];
        result = apply(&mut checked, op, line, align, slots);
        if let Some(violation) = checked.violation() {
            return Err(Stop::Violation {
                line,
                message: violation.to_string(),
            });
        }
        if result.is_err() {
            break;
        }
    }
    // The blocks still live go back through the checker too.
    free_all(&mut checked, slots, align);
    match checked.violation() {
        Some(violation) => Err(Stop::Violation {
            line: trace.lines.last().copied().unwrap_or(0),
            message: format!("freeing the blocks left at the end: {violation}"),
        }),
        None => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocators::bump::BumpAllocator;

    fn trace(text: &str) -> Trace {
        Trace::parse("t.rep", text).unwrap()
    }

    /// A job replaying `trace` (read from no file) on `allocator`.
    fn job<'t>(trace: &'t Trace, options: &'t Options, allocator: &'static str) -> Job<'t> {
        Job {
            trace,
            options,
            path: None,
            allocator,
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn bump_replays_and_reports_its_footprint() {
        let t = trace("0 3 6 1\na 0 100\na 1 20\nr 1 50\nf 0\na 2 16\nf 2\n");
        let options = Options {
            reps: 3,
            check: true,
            ..Options::default()
        };
        let job = job(&t, &options, "bump");
        let heap = TraceHeap::new(job.heap_size()).unwrap();
        let Outcome::Measured(m) = job.measure(&heap, |r| Some(BumpAllocator::new(r))) else {
            panic!("bump failed")
        };
        assert_eq!(m.samples.len(), 3);
        // 100 bytes end at 112 below the top (alignment 16); block 1 is
        // re-bumped to 50 bytes and ends at 176; freeing block 0 (not the
        // last) gives nothing back, so block 2's 16 bytes end at 192.
        assert_eq!(m.footprint, Some(192));
    }

    #[test]
    fn the_bare_loop_makes_the_same_calls() {
        let t = trace("0 3 6 1\na 0 100\na 1 20\nr 1 50\nf 0\na 2 16\nf 2\n");
        let options = Options {
            reps: 3,
            ..Options::default()
        };
        let job = job(&t, &options, "bump");
        let heap = TraceHeap::new(job.heap_size()).unwrap();
        let o = job
            .overhead(&heap, |r| Some(BumpAllocator::new(r)))
            .unwrap();
        assert!(o.replay > 0.0 && o.bare > 0.0 && o.ratio().is_finite());
        let (ops, live) = compile(&t, 16).unwrap();
        assert_eq!(ops.len(), 6);
        assert_eq!(live, [(1, Layout::from_size_align(50, 16).unwrap())]);
    }

    #[test]
    fn running_out_names_the_line() {
        let t = trace("0 2 2 1\na 0 3000\na 1 3000\n");
        let options = Options {
            heap: Some(4096),
            ..Options::default()
        };
        let job = job(&t, &options, "bump");
        let heap = TraceHeap::new(4096).unwrap();
        // One page might be larger than 4096 bytes on this machine: build a
        // bump over exactly the first 4096 bytes through a sub-buffer.
        let out = job.measure(&heap, |r| {
            use allocators::region::Region;
            // SAFETY: the first 4096 bytes of the region, used only by this
            // allocator.
            Some(BumpAllocator::new(unsafe {
                Buffer::from_raw_parts(r.start(), 4096)
            }))
        });
        assert_eq!(
            out,
            Outcome::AllocFailed {
                line: 3,
                error: AllocError::OutOfMemory
            }
        );
    }

    /// An allocator that hands every block out at the same address: the
    /// checker must catch it.
    struct Liar(Vec<u8>);
    // SAFETY: it breaks the promise on purpose, and only the checker looks
    // at its blocks: the test is that the checker notices.
    unsafe impl RawAllocator for Liar {
        fn allocate(&mut self, _: Layout) -> Result<NonNull<u8>, AllocError> {
            NonNull::new(
                self.0
                    .as_mut_ptr()
                    .with_addr((self.0.as_ptr().addr() + 15) & !15),
            )
            .ok_or(AllocError::OutOfMemory)
        }
        unsafe fn deallocate(&mut self, _: NonNull<u8>, _: Layout) {}
        fn for_each_region(&self, _: &mut dyn FnMut(std::ops::Range<usize>)) {}
        fn heap_size(&self) -> usize {
            0
        }
        fn footprint(&self) -> usize {
            0
        }
    }

    #[test]
    fn the_checker_catches_overlap() {
        let t = trace("0 2 2 1\na 0 8\na 1 8\n");
        let options = Options {
            check: true,
            ..Options::default()
        };
        let job = job(&t, &options, "liar");
        let heap = TraceHeap::new(4096).unwrap();
        let out = job.measure(&heap, |_| Some(Liar(vec![0; 64])));
        let Outcome::Violation { line, message } = out else {
            panic!("{out:?}")
        };
        assert_eq!(line, 3);
        assert!(message.contains("overlaps the live block"), "{message}");
    }
}
