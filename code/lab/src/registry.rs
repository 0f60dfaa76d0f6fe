//! Every allocator the lab can measure, by the short name the command line
//! uses.
//!
//! Adding one of the book's allocators is one line in [`ALLOCATORS`]: a
//! name, what it is, how its footprint is measured, and a constructor over
//! the heap's [`Buffer`](allocators::region::Buffer), as the free-list
//! entries show:
//!
//! ```text
//! book("segregated", "...", OWN, |job, heap| job.measure(heap, |r| Some(SegregatedFreeList::new(BreakRegion::new(r))))),
//! ```

use crate::peers::{BumpaloPeer, LinkedListPeer, TalcPeer};
use crate::region::OwnedHeap;
use crate::replay::{Job, Outcome};
use allocators::bump::BumpAllocator;
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::growing_bump::GrowingBump;
use allocators::heap::BreakRegion;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::segregated::SegregatedFreeList;
use std::cell::Cell;

/// Whose allocator it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Built in the book (`allocators` crate).
    Book,
    /// A peer it is compared with.
    Peer,
}

/// One measurable allocator.
pub struct Entry {
    /// The name `--allocators` takes.
    pub name: &'static str,
    /// Book or peer.
    pub kind: Kind,
    /// What it is, in a few words.
    pub about: &'static str,
    /// How its footprint (the utilization's denominator) is measured.
    pub footprint: &'static str,
    /// Measures it on a job, in a heap of the job's size.
    pub run: fn(&Job<'_>, &OwnedHeap) -> Outcome,
}

/// How the book's allocators report their footprint.
const OWN: &str = "its own footprint(): the most heap bytes it ever used (a bump: end of region - lowest bump pointer; a free-list heap: heap start to its break, which only rises)";
/// How region peers report it.
const HIGHEST: &str = "highest offset used: end of the highest block ever handed out - start of the region (metadata and holes below it count)";

const fn book(
    name: &'static str,
    about: &'static str,
    footprint: &'static str,
    run: fn(&Job<'_>, &OwnedHeap) -> Outcome,
) -> Entry {
    Entry {
        name,
        kind: Kind::Book,
        about,
        footprint,
        run,
    }
}

const fn peer(
    name: &'static str,
    about: &'static str,
    footprint: &'static str,
    run: fn(&Job<'_>, &OwnedHeap) -> Outcome,
) -> Entry {
    Entry {
        name,
        kind: Kind::Peer,
        about,
        footprint,
        run,
    }
}

/// Every allocator, book first, in the order tables list them.
pub static ALLOCATORS: &[Entry] = &[
    book("bump", "the book's bump allocator (downward) over the heap", OWN, |job, heap| {
        job.measure(heap, |r| Some(BumpAllocator::new(r)))
    }),
    book(
        "growing-bump",
        "the book's bump allocator that maps chunks of its own, limited to the heap size",
        "its own footprint(): the most heap bytes at once (older chunks whole, their headers, the used part of the newest)",
        |job, heap| job.measure(heap, |_| Some(GrowingBump::with_limits(64 * 1024, heap.len()))),
    ),
    book("implicit", "the book's implicit free list, first fit, boundary tags, in a break moving through the heap", OWN, |job, heap| {
        job.measure(heap, |r| Some(ImplicitFreeList::new(BreakRegion::new(r), Placement::FirstFit)))
    }),
    book("implicit-next", "the book's implicit free list, next fit", OWN, |job, heap| {
        job.measure(heap, |r| Some(ImplicitFreeList::new(BreakRegion::new(r), Placement::NextFit)))
    }),
    book("implicit-best", "the book's implicit free list, best fit", OWN, |job, heap| {
        job.measure(heap, |r| Some(ImplicitFreeList::new(BreakRegion::new(r), Placement::BestFit)))
    }),
    book("explicit", "the book's explicit free list, LIFO insertion", OWN, |job, heap| {
        job.measure(heap, |r| Some(ExplicitFreeList::new(BreakRegion::new(r), Insertion::Lifo)))
    }),
    book("explicit-addr", "the book's explicit free list, address-ordered insertion", OWN, |job, heap| {
        job.measure(heap, |r| Some(ExplicitFreeList::new(BreakRegion::new(r), Insertion::AddressOrdered)))
    }),
    book("segregated", "the book's segregated free lists (size classes with a bitmap)", OWN, |job, heap| {
        job.measure(heap, |r| Some(SegregatedFreeList::new(BreakRegion::new(r))))
    }),
    peer(
        "system",
        "glibc malloc/realloc/free (what std::alloc::System calls)",
        "mallinfo2() arena + hblkhd, peak minus start, sampled after every a/r in a fresh child process",
        crate::system_footprint::run_system,
    ),
    peer(
        "mimalloc",
        "mimalloc (crate mimalloc 0.1, Microsoft's allocator) through its GlobalAlloc",
        "not measured: mimalloc's heap is the process's own (see MiMallocPeer); the book compares its peak resident memory on a real workload instead",
        |job, heap| {
            let outcome = job.measure(heap, |_| Some(crate::peers::MiMallocPeer::new()));
            let Outcome::Measured(mut m) = outcome else {
                return outcome;
            };
            m.footprint = None;
            m.footprint_note = Some("mimalloc's heap is process-wide; no utilization".into());
            Outcome::Measured(m)
        },
    ),
    peer("linked_list_allocator", "linked_list_allocator 0.10 Heap (first fit, address-ordered free list)", HIGHEST, |job, heap| {
        job.measure(heap, |r| Some(LinkedListPeer::new(r)))
    }),
    peer("talc", "talc 5 (segregated free lists, boundary tags) claimed over the heap", HIGHEST, |job, heap| {
        job.measure(heap, TalcPeer::new)
    }),
    peer(
        "bumpalo",
        "bumpalo 3 Bump, one chunk of the heap size from the global allocator",
        "address span of the blocks it handed out (one chunk, bumping down: chunk top - lowest block)",
        |job, heap| {
            let spare = Cell::new(None);
            let out = job.measure(heap, |_| Some(BumpaloPeer::new(heap.len(), &spare)));
            drop(spare.take());
            out
        },
    ),
];

/// The entry called `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    ALLOCATORS.iter().find(|e| e.name == name)
}

/// Parses a comma-separated list of names, in the order given.
pub fn parse_list(list: &str) -> Result<Vec<&'static Entry>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let entry = find(name).ok_or_else(|| {
            let known: Vec<&str> = ALLOCATORS.iter().map(|e| e.name).collect();
            format!("unknown allocator `{name}` (known: {})", known.join(", "))
        })?;
        if !out.iter().any(|e: &&Entry| e.name == name) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        return Err("no allocator named".to_string());
    }
    Ok(out)
}
