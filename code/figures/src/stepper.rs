//! Heap steppers: a short trace played against the book's real allocators,
//! one recorded state per operation, for the interactive stepper in the
//! chapters (`src/js/stepper.js`).
//!
//! Nothing here simulates an allocator. [`record`] runs the trace against
//! allocators of the `allocators` crate and, after every operation, walks
//! what each one really holds: its blocks (`blocks()`), its free lists
//! (`free_list()`, `class_list()`), its break, or its bump pointer (`top()`).
//! [`Recording::to_json`] writes those states for the page, and
//! [`Recording::to_svg`] draws the final states as the static figure that a
//! reader without JavaScript (or a printed page) shows instead.
//!
//! The teaching traces of the chapters are [`teaching_traces`]; the
//! staleness test `tests/stepper.rs` keeps their JSON and SVG in `imgs/`
//! current. The lab's `stepper` binary records any CS:APP-format trace.

use crate::{Link, Marker, Part, Segment, Strip, render};
use allocators::block::{BlockInfo, BlockKind, MIN_BLOCK, WORD};
use allocators::bump::BumpAllocator;
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::RawAllocator;
use allocators::region::{OwnedRegion, Region};
use allocators::segregated::{CLASSES, SegregatedFreeList};
use std::alloc::Layout;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::ptr::NonNull;

/// One operation of a trace, as in the CS:APP malloc-lab format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `a ID SIZE`: allocate `size` bytes and call the block `id`.
    Alloc {
        /// The block's id.
        id: u32,
        /// Bytes requested.
        size: usize,
    },
    /// `f ID`: free block `id`.
    Free {
        /// The block's id.
        id: u32,
    },
    /// `r ID SIZE`: resize block `id` to `size` bytes, keeping its contents.
    Realloc {
        /// The block's id.
        id: u32,
        /// The new size in bytes.
        size: usize,
    },
}

impl Op {
    /// The operation as a reader would write it: `b = malloc(40)`.
    pub fn describe(self) -> String {
        match self {
            Op::Alloc { id, size } => format!("{} = malloc({size})", name(id)),
            Op::Free { id } => format!("free({})", name(id)),
            Op::Realloc { id, size } => format!("{0} = realloc({0}, {size})", name(id)),
        }
    }
}

/// The name a block with this id has in the stepper: `a` to `z`, then `#26`
/// and so on.
pub fn name(id: u32) -> String {
    match char::from_u32(u32::from(b'a') + id) {
        Some(c) if id < 26 => c.to_string(),
        _ => format!("#{id}"),
    }
}

/// Which allocator a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `BumpAllocator`: downward bump over the region.
    Bump,
    /// `ImplicitFreeList` with a placement policy.
    Implicit(Placement),
    /// `ExplicitFreeList` with an insertion order.
    Explicit(Insertion),
    /// `SegregatedFreeList` without quick lists: every free coalesces at once.
    Segregated,
}

impl Kind {
    /// Every kind, with the name `parse` accepts.
    pub const ALL: [(&'static str, Kind); 7] = [
        ("bump", Kind::Bump),
        ("first-fit", Kind::Implicit(Placement::FirstFit)),
        ("next-fit", Kind::Implicit(Placement::NextFit)),
        ("best-fit", Kind::Implicit(Placement::BestFit)),
        ("lifo", Kind::Explicit(Insertion::Lifo)),
        ("address-ordered", Kind::Explicit(Insertion::AddressOrdered)),
        ("segregated", Kind::Segregated),
    ];

    /// The kind called `name` in [`Kind::ALL`].
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
    }

    /// What the page calls this allocator.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Bump => "bump allocator",
            Kind::Implicit(Placement::FirstFit) => "implicit list, first fit",
            Kind::Implicit(Placement::NextFit) => "implicit list, next fit",
            Kind::Implicit(Placement::BestFit) => "implicit list, best fit",
            Kind::Explicit(Insertion::Lifo) => "explicit list, LIFO",
            Kind::Explicit(Insertion::AddressOrdered) => "explicit list, address order",
            Kind::Segregated => "segregated lists",
        }
    }
}

/// The heap after one operation, as offsets from the region's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The index of the operation just done; `None` for the empty start.
    pub op: Option<usize>,
    /// What the operation did, in words.
    pub say: String,
    /// Where the heap ends: the break (free lists) or the region's end (bump).
    pub end: usize,
    /// Headers, footers, payloads, padding and free space, in address order.
    pub segments: Vec<Segment>,
    /// Free-list links: from a list head (`None`) or a block's `next` word.
    pub links: Vec<Link>,
    /// The break (`brk`) or the bump pointer (`top`).
    pub markers: Vec<Marker>,
    /// Bytes the program asked for and still holds.
    pub live: usize,
    /// The heap's size, as `RawAllocator::heap_size` reports it.
    pub heap: usize,
    /// Whether the operation did more than take fresh memory or leave a
    /// lone free block: a reuse, split, coalesce, resize or bump rewind.
    pub event: bool,
}

/// One allocator's frames: the empty start, then one per operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// The allocator.
    pub kind: Kind,
    /// The states.
    pub frames: Vec<Frame>,
}

/// A trace played against one or more allocators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The trace's title, shown in the stepper's trace menu.
    pub title: String,
    /// One or two sentences on what to watch.
    pub about: String,
    /// The operations.
    pub ops: Vec<Op>,
    /// The frame the stepper opens at: the operations before it set the
    /// heap up, and stay a step back away.
    pub start: usize,
    /// One run per allocator, side by side in the stepper.
    pub runs: Vec<Run>,
}

/// A live block as the recorder remembers it.
#[derive(Clone, Copy)]
struct Live {
    ptr: NonNull<u8>,
    size: usize,
}

/// The allocator under the recorder, over a region of its own.
enum Heap {
    Bump(BumpAllocator<OwnedRegion>),
    Implicit(ImplicitFreeList<RegionBreak<OwnedRegion>>),
    Explicit(ExplicitFreeList<RegionBreak<OwnedRegion>>),
    Segregated(Box<SegregatedFreeList<RegionBreak<OwnedRegion>>>),
}

impl Heap {
    fn new(kind: Kind, region: usize) -> Result<Heap, String> {
        // Aligned to 64, so that offsets are the same on every run.
        let memory = OwnedRegion::new(region, 64).map_err(|e| format!("a region: {e}"))?;
        Ok(match kind {
            Kind::Bump => Heap::Bump(BumpAllocator::new(memory)),
            Kind::Implicit(p) => Heap::Implicit(ImplicitFreeList::new(RegionBreak::new(memory), p)),
            Kind::Explicit(i) => Heap::Explicit(ExplicitFreeList::new(RegionBreak::new(memory), i)),
            Kind::Segregated => Heap::Segregated(Box::new(SegregatedFreeList::plain(
                RegionBreak::new(memory),
            ))),
        })
    }

    fn raw(&mut self) -> &mut dyn RawAllocator {
        match self {
            Heap::Bump(h) => h,
            Heap::Implicit(h) => h,
            Heap::Explicit(h) => h,
            Heap::Segregated(h) => &mut **h,
        }
    }

    fn base(&self) -> usize {
        match self {
            Heap::Bump(h) => h.bounds().start,
            Heap::Implicit(h) => h.memory().region().start().as_ptr() as usize,
            Heap::Explicit(h) => h.memory().region().start().as_ptr() as usize,
            Heap::Segregated(h) => h.memory().region().start().as_ptr() as usize,
        }
    }

    /// Every block, from the allocator's own walk (empty for a bump).
    fn blocks(&self) -> Vec<BlockInfo> {
        match self {
            Heap::Bump(_) => Vec::new(),
            Heap::Implicit(h) => h.blocks().collect(),
            Heap::Explicit(h) => h.blocks().collect(),
            Heap::Segregated(h) => h.blocks().collect(),
        }
    }

    /// The free lists, each as a head's name and its blocks' headers.
    fn lists(&self) -> Vec<(String, Vec<usize>)> {
        match self {
            Heap::Bump(_) | Heap::Implicit(_) => Vec::new(),
            Heap::Explicit(h) => vec![("head".to_string(), h.free_list().collect())],
            Heap::Segregated(h) => (0..CLASSES)
                .filter(|&c| h.bitmap() & (1 << c) != 0)
                .map(|c| (format!("class {c}"), h.class_list(c).collect()))
                .collect(),
        }
    }

    /// The end of the heap, as an offset: the break, or the bump's region end.
    fn end(&self) -> usize {
        match self {
            Heap::Bump(h) => h.bounds().len(),
            Heap::Implicit(h) => h.memory().used(),
            Heap::Explicit(h) => h.memory().used(),
            Heap::Segregated(h) => h.memory().used(),
        }
    }
}

/// Records `ops` against each allocator in `kinds`, each over its own region
/// of `region` bytes, checking each heap after every operation.
///
/// # Errors
///
/// If the trace frees or resizes a block that is not live, allocates an id
/// that is live, runs out of the region, or a heap checker fails.
pub fn record(
    title: &str,
    about: &str,
    ops: &[Op],
    kinds: &[Kind],
    region: usize,
) -> Result<Recording, String> {
    let runs = kinds
        .iter()
        .map(|&kind| record_run(kind, ops, region))
        .collect::<Result<Vec<Run>, String>>()?;
    Ok(Recording {
        title: title.to_string(),
        about: about.to_string(),
        ops: ops.to_vec(),
        start: 0,
        runs,
    })
}

fn layout(size: usize) -> Result<Layout, String> {
    // A zero-byte request is still a block: ask for one byte.
    Layout::from_size_align(size.max(1), 8).map_err(|e| e.to_string())
}

fn record_run(kind: Kind, ops: &[Op], region: usize) -> Result<Run, String> {
    let mut heap = Heap::new(kind, region)?;
    let mut live: BTreeMap<u32, Live> = BTreeMap::new();
    // Freed blocks a bump allocator cannot take back, by id: still drawn.
    let mut lost: BTreeMap<u32, Live> = BTreeMap::new();
    let mut frames = vec![snapshot(
        &heap,
        &live,
        &lost,
        None,
        ("An empty heap.".into(), false),
    )];
    for (i, &op) in ops.iter().enumerate() {
        let before = frames.last().expect("the start frame").clone();
        let old_blocks = heap.blocks();
        let at = |what: &str| format!("operation {} ({}): {what}", i + 1, op.describe());
        let say = match op {
            Op::Alloc { id, size } => {
                if live.contains_key(&id) {
                    return Err(at("that block is already live"));
                }
                let ptr = heap
                    .raw()
                    .allocate(layout(size)?)
                    .map_err(|e| at(&e.to_string()))?;
                lost.remove(&id);
                live.insert(id, Live { ptr, size });
                say_alloc(&heap, &before, &old_blocks, ptr, id)
            }
            Op::Free { id } => {
                let block = live
                    .remove(&id)
                    .ok_or_else(|| at("that block is not live"))?;
                let raw = heap.raw();
                // SAFETY: the block is live in this heap, allocated (or last
                // resized) with this layout.
                unsafe { raw.deallocate(block.ptr, layout(block.size)?) };
                if matches!(heap, Heap::Bump(_)) {
                    lost.insert(id, block);
                }
                say_free(&heap, &before, &old_blocks, block, id)
            }
            Op::Realloc { id, size } => {
                let block = *live.get(&id).ok_or_else(|| at("that block is not live"))?;
                let raw = heap.raw();
                // SAFETY: as for the free: live, with this layout.
                let ptr = unsafe { raw.reallocate(block.ptr, layout(block.size)?, size.max(1)) }
                    .map_err(|e| at(&e.to_string()))?;
                live.insert(id, Live { ptr, size });
                if ptr != block.ptr && matches!(heap, Heap::Bump(_)) {
                    lost.insert(id, block);
                }
                say_realloc(&heap, &before, block, ptr, id)
            }
        };
        heap.raw()
            .check()
            .map_err(|e| at(&format!("the heap checker failed: {e}")))?;
        // A bump block below the bump pointer was rewound: nothing is left.
        if let Heap::Bump(b) = &heap {
            let top = b.top().as_ptr() as usize;
            lost.retain(|_, l| l.ptr.as_ptr() as usize >= top);
            // A block moved by an in-place rewind overlaps its old bytes.
            let spans: Vec<(usize, usize)> = live
                .values()
                .map(|l| (l.ptr.as_ptr() as usize, l.ptr.as_ptr() as usize + l.size))
                .collect();
            lost.retain(|_, l| {
                let (start, end) = (l.ptr.as_ptr() as usize, l.ptr.as_ptr() as usize + l.size);
                spans.iter().all(|&(s, e)| end <= s || start >= e)
            });
        }
        frames.push(snapshot(&heap, &live, &lost, Some(i), say));
    }
    Ok(Run { kind, frames })
}

/// The block whose header is at offset `at` in a list of blocks.
fn block_at(blocks: &[BlockInfo], base: usize, at: usize) -> Option<BlockInfo> {
    blocks.iter().copied().find(|b| b.addr - base == at)
}

/// The block that contains offset `at`.
fn block_around(blocks: &[BlockInfo], base: usize, at: usize) -> Option<BlockInfo> {
    blocks.iter().copied().find(|b| {
        b.kind != BlockKind::Padding
            && (b.addr - base..b.addr - base + b.size.max(WORD)).contains(&at)
    })
}

fn grew(heap: &Heap, before: &Frame) -> String {
    let end = heap.end();
    if end > before.end && !matches!(heap, Heap::Bump(_)) {
        format!(
            " The heap grew by {} bytes: brk moved to {end}.",
            end - before.end
        )
    } else {
        String::new()
    }
}

/// What an allocation did, and whether it reused a free block.
fn say_alloc(
    heap: &Heap,
    before: &Frame,
    old: &[BlockInfo],
    ptr: NonNull<u8>,
    id: u32,
) -> (String, bool) {
    let base = heap.base();
    let at = ptr.as_ptr() as usize - base;
    let n = name(id);
    if let Heap::Bump(b) = heap {
        let top = b.top().as_ptr() as usize - base;
        let old_top = before.end - before.heap;
        let say = format!(
            "{n} goes at offset {at}: top moves down {} bytes, from {old_top} to {top}.",
            old_top - top
        );
        return (say, false);
    }
    let blocks = heap.blocks();
    let header = at - WORD;
    let size = block_at(&blocks, base, header).map_or(0, |b| b.size);
    let reused = matches!(block_at(old, base, header), Some(f) if f.kind == BlockKind::Free);
    let mut say = match block_at(old, base, header) {
        Some(f) if f.kind == BlockKind::Free && f.size >= size => {
            if f.size - size >= MIN_BLOCK {
                format!(
                    "{n} takes the free block of {} bytes at offset {header} and splits it: \
                     {size} bytes for {n}, {} stay free.",
                    f.size,
                    f.size - size
                )
            } else {
                format!(
                    "{n} takes the free block of {} bytes at offset {header} whole.",
                    f.size
                )
            }
        }
        Some(f) if f.kind == BlockKind::Free => format!(
            "No free block fits, but the free block at the top ({} bytes) grows into a \
             {size}-byte block for {n}.",
            f.size
        ),
        _ => format!("No free block fits: {n} gets a new {size}-byte block at offset {header}."),
    };
    say += &grew(heap, before);
    (say, reused)
}

/// What a free did, and whether it coalesced (or, in a bump, whether
/// anything at all happened: both are the point of its trace).
fn say_free(
    heap: &Heap,
    before: &Frame,
    old: &[BlockInfo],
    block: Live,
    id: u32,
) -> (String, bool) {
    let base = heap.base();
    let at = block.ptr.as_ptr() as usize - base;
    let n = name(id);
    if let Heap::Bump(b) = heap {
        let top = b.top().as_ptr() as usize - base;
        let old_top = before.end - before.heap;
        let say = if top != old_top {
            format!(
                "{n} was the newest block, so top moves back up {} bytes, to {top}.",
                top - old_top
            )
        } else {
            format!(
                "{n} is not the newest block: nothing changes, and its {} bytes are lost \
                 until a reset.",
                block.size
            )
        };
        return (say, true);
    }
    let header = at - WORD;
    let size = block_at(old, base, header).map_or(0, |b| b.size);
    let Some(merged) = block_around(&heap.blocks(), base, header) else {
        return (format!("{n} is freed."), false);
    };
    let start = merged.addr - base;
    let (prev, next) = (start < header, start + merged.size > header + size);
    let case = match (prev, next) {
        (false, false) => {
            "Both neighbours are allocated (case 1): the block is free on its own".to_string()
        }
        (false, true) => format!(
            "The next block is free (case 2): they merge into one free block of {} bytes",
            merged.size
        ),
        (true, false) => format!(
            "The previous block is free (case 3): they merge into one free block of {} bytes",
            merged.size
        ),
        (true, true) => format!(
            "Both neighbours are free (case 4): all three merge into one free block of {} bytes",
            merged.size
        ),
    };
    (
        format!("{n}'s {size}-byte block is freed. {case}."),
        prev || next,
    )
}

/// What a resize did; always worth a mark.
fn say_realloc(
    heap: &Heap,
    before: &Frame,
    old: Live,
    ptr: NonNull<u8>,
    id: u32,
) -> (String, bool) {
    let n = name(id);
    let mut say = if ptr == old.ptr {
        format!("{n} is resized in place: the payload stays where it is.")
    } else {
        let base = heap.base();
        format!(
            "{n} cannot be resized in place: it moves from offset {} to {}, and its {} \
             bytes are copied.",
            old.ptr.as_ptr() as usize - base,
            ptr.as_ptr() as usize - base,
            old.size
        )
    };
    say += &grew(heap, before);
    (say, true)
}

fn segment(start: usize, len: usize, part: Part, label: &str) -> Segment {
    Segment {
        start,
        len,
        part,
        label: label.to_string(),
    }
}

/// Walks the heap and writes down what it holds.
fn snapshot(
    heap: &Heap,
    live: &BTreeMap<u32, Live>,
    lost: &BTreeMap<u32, Live>,
    op: Option<usize>,
    (say, event): (String, bool),
) -> Frame {
    let base = heap.base();
    let payload_of = |addr: usize| live.iter().find(|(_, l)| l.ptr.as_ptr() as usize == addr);
    let mut segments = Vec::new();
    let mut markers = Vec::new();
    let mut links = Vec::new();
    let end = heap.end();
    let heap_size;
    match heap {
        Heap::Bump(b) => {
            heap_size = RawAllocator::heap_size(b);
            let top = b.top().as_ptr() as usize - base;
            markers.push(Marker {
                at: top,
                label: "top".into(),
            });
            let mut shown: Vec<(usize, usize, Part, String)> =
                live.iter()
                    .map(|(&id, l)| {
                        (
                            l.ptr.as_ptr() as usize - base,
                            l.size,
                            Part::Payload,
                            name(id),
                        )
                    })
                    .chain(lost.iter().map(|(&id, l)| {
                        (l.ptr.as_ptr() as usize - base, l.size, Part::Lost, name(id))
                    }))
                    .filter(|s| s.0 >= top)
                    .collect();
            shown.sort_by_key(|s| s.0);
            // Below the bump pointer, the region is free.
            if top > 0 {
                segments.push(segment(0, top, Part::Free, ""));
            }
            let mut at = top;
            for (start, len, part, label) in shown {
                if start > at {
                    segments.push(segment(at, start - at, Part::Padding, ""));
                }
                segments.push(segment(start, len, part, &label));
                at = start + len;
            }
            if at < end {
                segments.push(segment(at, end - at, Part::Padding, ""));
            }
        }
        _ => {
            heap_size = match heap {
                Heap::Implicit(h) => h.heap_size(),
                Heap::Explicit(h) => h.heap_size(),
                Heap::Segregated(h) => h.heap_size(),
                Heap::Bump(_) => unreachable!(),
            };
            let linked = !matches!(heap, Heap::Implicit(_));
            for b in heap.blocks() {
                let at = b.addr - base;
                match b.kind {
                    BlockKind::Padding => segments.push(segment(at, b.size, Part::Padding, "")),
                    BlockKind::Epilogue => segments.push(segment(at, WORD, Part::Header, "end")),
                    BlockKind::Allocated => {
                        segments.push(segment(at, WORD, Part::Header, "hdr"));
                        let (label, size) = match payload_of(b.payload()) {
                            Some((&id, l)) => (name(id), l.size.min(b.size - WORD)),
                            None => (String::new(), b.size - WORD),
                        };
                        segments.push(segment(at + WORD, size, Part::Payload, &label));
                        let pad = b.size - WORD - size;
                        if pad > 0 {
                            segments.push(segment(at + WORD + size, pad, Part::Padding, ""));
                        }
                    }
                    BlockKind::Free => {
                        segments.push(segment(at, WORD, Part::Header, "hdr"));
                        let mut inner = at + WORD;
                        if linked {
                            segments.push(segment(inner, WORD, Part::Free, "next"));
                            segments.push(segment(inner + WORD, WORD, Part::Free, "prev"));
                            inner += 2 * WORD;
                        }
                        let room = at + b.size - WORD - inner;
                        if room > 0 {
                            segments.push(segment(inner, room, Part::Free, ""));
                        }
                        segments.push(segment(at + b.size - WORD, WORD, Part::Footer, "ftr"));
                    }
                }
            }
            if heap_size > 0 {
                markers.push(Marker {
                    at: end,
                    label: "brk".into(),
                });
            }
            for (head, list) in heap.lists() {
                let mut from = None;
                for (i, &block) in list.iter().enumerate() {
                    let label = if i == 0 { head.clone() } else { "next".into() };
                    links.push(Link {
                        from,
                        to: block - base + WORD / 2,
                        label,
                    });
                    from = Some(block - base + WORD + WORD / 2);
                }
            }
        }
    }
    Frame {
        op,
        say,
        end,
        segments,
        links,
        markers,
        live: live.values().map(|l| l.size).sum(),
        heap: heap_size,
        event,
    }
}

/// A string as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Header => "header",
        Part::Footer => "footer",
        Part::Payload => "payload",
        Part::Padding => "padding",
        Part::Free => "free",
        Part::Lost => "lost",
        Part::Cached => "cached",
    }
}

impl Recording {
    /// The widest heap any frame shows, in bytes: the stepper's scale.
    pub fn scale(&self) -> usize {
        self.runs
            .iter()
            .flat_map(|r| &r.frames)
            .map(|f| f.end)
            .max()
            .unwrap_or(0)
            .max(1)
    }

    /// The recording, opening at frame `start` (clamped to the last frame).
    pub fn starting_at(mut self, start: usize) -> Recording {
        self.start = start.min(self.ops.len());
        self
    }

    /// The frames worth stopping at, in order: where some run reused,
    /// split or coalesced a block (see [`Frame::event`]), and where two
    /// runs that drew the same heap part ways.
    pub fn marks(&self) -> Vec<usize> {
        let same = |i: usize| {
            self.runs.windows(2).all(|w| {
                let (a, b) = (&w[0].frames[i], &w[1].frames[i]);
                a.segments == b.segments && a.links == b.links
            })
        };
        (1..=self.ops.len())
            .filter(|&i| {
                self.runs.iter().any(|r| r.frames[i].event)
                    || (self.runs.len() > 1 && same(i - 1) && !same(i))
            })
            .collect()
    }

    /// The recording as JSON for `src/js/stepper.js`: one frame per line,
    /// so that a change to an allocator shows up as a readable diff.
    ///
    /// `start` is the frame the stepper opens at, `marks` the frames it
    /// highlights ([`Recording::marks`]). A segment is `[start, length, part, label]`, a link `[from, to,
    /// label]` (`from` is `null` for a list head), a marker `[at, label]`;
    /// all are byte offsets from the region's start.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "\"title\": {},", json_str(&self.title));
        let _ = writeln!(out, "\"about\": {},", json_str(&self.about));
        let _ = writeln!(out, "\"word\": {WORD},");
        let _ = writeln!(out, "\"scale\": {},", self.scale());
        let ops: Vec<String> = self.ops.iter().map(|o| json_str(&o.describe())).collect();
        let _ = writeln!(out, "\"ops\": [{}],", ops.join(", "));
        let _ = writeln!(out, "\"start\": {},", self.start);
        let marks: Vec<String> = self.marks().iter().map(|m| m.to_string()).collect();
        let _ = writeln!(out, "\"marks\": [{}],", marks.join(", "));
        out.push_str("\"runs\": [\n");
        for (r, run) in self.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                "{{\"allocator\": {}, \"frames\": [",
                json_str(run.kind.label())
            );
            for (i, f) in run.frames.iter().enumerate() {
                let op = f.op.map_or("null".to_string(), |o| o.to_string());
                let segs: Vec<String> = f
                    .segments
                    .iter()
                    .map(|s| {
                        format!(
                            "[{},{},\"{}\",{}]",
                            s.start,
                            s.len,
                            part_name(s.part),
                            json_str(&s.label)
                        )
                    })
                    .collect();
                let links: Vec<String> = f
                    .links
                    .iter()
                    .map(|l| {
                        let from = l.from.map_or("null".to_string(), |x| x.to_string());
                        format!("[{from},{},{}]", l.to, json_str(&l.label))
                    })
                    .collect();
                let marks: Vec<String> = f
                    .markers
                    .iter()
                    .map(|m| format!("[{},{}]", m.at, json_str(&m.label)))
                    .collect();
                let comma = if i + 1 < run.frames.len() { "," } else { "" };
                let _ = writeln!(
                    out,
                    "{{\"op\": {op}, \"say\": {}, \"end\": {}, \"live\": {}, \"heap\": {}, \
                     \"segments\": [{}], \"links\": [{}], \"markers\": [{}]}}{comma}",
                    json_str(&f.say),
                    f.end,
                    f.live,
                    f.heap,
                    segs.join(","),
                    links.join(","),
                    marks.join(",")
                );
            }
            let comma = if r + 1 < self.runs.len() { "," } else { "" };
            let _ = writeln!(out, "]}}{comma}");
        }
        out.push_str("]\n}\n");
        out
    }

    /// The static figure: each allocator's final state, drawn by
    /// [`render`], with an alt text that lists the blocks in words.
    pub fn to_svg(&self) -> String {
        let mut strips = Vec::new();
        let mut alt = format!(
            "{}: the final state of each allocator after the trace's {} operations, one \
             row each.",
            self.title,
            self.ops.len()
        );
        for run in &self.runs {
            let f = run.frames.last().expect("a start frame");
            let mut strip = Strip::new(run.kind.label(), f.end.max(1));
            let mut words = Vec::new();
            for s in &f.segments {
                // Colour tells headers, footers and links apart; names stay.
                let label = match s.part {
                    Part::Payload | Part::Lost => s.label.clone(),
                    _ => String::new(),
                };
                match s.part {
                    Part::Payload if !s.label.is_empty() => {
                        words.push(format!("{} ({} bytes)", s.label, s.len))
                    }
                    Part::Lost => words.push(format!("{} lost ({} bytes)", s.label, s.len)),
                    _ => {}
                }
                strip = strip.segment(s.start, s.len, s.part, label);
            }
            for m in &f.markers {
                strip = strip.marker(m.at, m.label.clone());
            }
            for l in &f.links {
                strip = strip.link(l.from, l.to, l.label.clone());
            }
            let _ = write!(
                alt,
                " {}: a heap of {} bytes holding {} bytes of live payload{}{}.",
                run.kind.label(),
                f.heap,
                f.live,
                if words.is_empty() { "" } else { ": " },
                words.join(", ")
            );
            strips.push(strip);
        }
        render(&alt, &strips)
    }
}

/// A teaching trace: its file name in `imgs/` (without extension) and its
/// recording.
pub struct Teaching {
    /// `stepper-NAME`: the JSON is `imgs/stepper-NAME.json`, the static
    /// figure `imgs/stepper-NAME.svg`.
    pub file: &'static str,
    /// The recording.
    pub recording: Recording,
}

fn a(id: u32, size: usize) -> Op {
    Op::Alloc { id, size }
}

fn f(id: u32) -> Op {
    Op::Free { id }
}

fn r(id: u32, size: usize) -> Op {
    Op::Realloc { id, size }
}

/// The teaching traces the chapters embed, recorded against the real
/// allocators.
///
/// # Panics
///
/// If an allocator rejects a teaching trace (a bug in the trace or in the
/// allocator; the staleness test finds it first).
pub fn teaching_traces() -> Vec<Teaching> {
    use Kind::*;
    let first = Implicit(Placement::FirstFit);
    let best = Implicit(Placement::BestFit);
    let lifo = Explicit(Insertion::Lifo);
    let ordered = Explicit(Insertion::AddressOrdered);
    // File, title, what to watch, the operations, how many of them set the
    // heap up (the stepper opens after them), the allocators, the region's size.
    type Trace = (
        &'static str,
        &'static str,
        &'static str,
        Vec<Op>,
        usize,
        Vec<Kind>,
        usize,
    );
    let traces: Vec<Trace> = vec![
        (
            "stepper-bump",
            "A bump allocator rewinds",
            "Three blocks are in place. Freeing the newest block moves top back; freeing \
             any other block changes nothing, and its bytes stay lost.",
            vec![
                a(0, 24),
                a(1, 40),
                a(2, 16),
                f(2),
                a(3, 8),
                f(0),
                f(3),
                a(4, 32),
                r(4, 48),
                f(4),
                f(1),
            ],
            3,
            vec![Bump],
            256,
        ),
        (
            "stepper-coalesce",
            "The four coalescing cases",
            "Six 48-byte blocks a to f, freed in the chapter's order b, c, e, d, a: no free \
             neighbour (case 1), a free previous block (case 3), one more lone free (case 1), \
             free blocks on both sides (case 4), and last a free next block (case 2).",
            vec![
                a(0, 40),
                a(1, 40),
                a(2, 40),
                a(3, 40),
                a(4, 40),
                a(5, 40),
                f(1),
                f(2),
                f(4),
                f(3),
                f(0),
            ],
            6,
            vec![first],
            1024,
        ),
        (
            "stepper-fit",
            "First fit and best fit part ways",
            "Two holes, 80 and 48 bytes. First fit splits the big one for a small request, \
             so the next large request no longer fits and the heap grows; best fit keeps it.",
            vec![
                a(0, 64),
                a(1, 16),
                a(2, 32),
                a(3, 16),
                f(0),
                f(2),
                a(4, 24),
                a(5, 64),
            ],
            6,
            vec![first, best],
            1024,
        ),
        (
            "stepper-realloc",
            "realloc grows in place, then moves",
            "With a free block right after it, the explicit list grows a in place; the \
             implicit list's realloc always allocates, copies and frees. Then an allocated \
             neighbour forces both to move.",
            vec![
                a(0, 32),
                a(1, 32),
                a(2, 32),
                f(1),
                r(0, 56),
                r(0, 200),
                f(2),
                f(0),
            ],
            4,
            vec![lifo, first],
            1024,
        ),
        (
            "stepper-lifo",
            "LIFO and address order",
            "The same frees build two different lists, so the same request lands in a \
             different block.",
            vec![
                a(0, 56),
                a(1, 56),
                a(2, 56),
                a(3, 56),
                a(4, 56),
                a(5, 56),
                a(6, 56),
                f(1),
                f(3),
                f(5),
                a(7, 56),
                a(8, 24),
                f(2),
            ],
            7,
            vec![lifo, ordered],
            1024,
        ),
        (
            "stepper-segregated",
            "Size classes keep big blocks whole",
            "Freed 48- and 80-byte blocks go to different lists. A 40-byte request finds a \
             48-byte block at once; the single LIFO list hands it the 80-byte block it \
             freed last, and splits it.",
            vec![
                a(0, 40),
                a(1, 72),
                a(2, 40),
                a(3, 72),
                a(4, 40),
                a(5, 72),
                a(6, 40),
                a(7, 72),
                f(0),
                f(5),
                f(2),
                f(7),
                a(8, 40),
                a(9, 72),
            ],
            8,
            vec![Segregated, lifo],
            1024,
        ),
    ];
    traces
        .into_iter()
        .map(|(file, title, about, ops, setup, kinds, region)| Teaching {
            file,
            recording: record(title, about, &ops, &kinds, region)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .starting_at(setup),
        })
        .collect()
}
