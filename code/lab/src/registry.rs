//! Every allocator the lab can measure, by the short name the command line
//! uses.
//!
//! The book's allocators come from the crate's one list,
//! [`allocators::catalog::Book`] (name, description, colour), and are built
//! by its one constructor, [`allocators::with_book!`], over the heap's
//! [`Buffer`](allocators::region::Buffer). Adding one to the book adds it
//! here; only a footprint measured differently needs a line in
//! `book_footprint`. A peer is one entry in `PEERS`, with its colour in
//! [`colour`].

use crate::peers::{BumpaloPeer, LinkedListPeer, TalcPeer};
use crate::region::TraceHeap;
use crate::replay::{Job, Outcome};
use allocators::catalog::Book;
use allocators::growing_bump::GrowingBump;
use std::cell::Cell;
use std::sync::LazyLock;

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
    /// Its colour in the plots, `0xRRGGBB`.
    pub colour: u32,
    /// How it is measured.
    pub run: Run,
}

/// How an entry is measured.
#[derive(Clone, Copy)]
pub enum Run {
    /// One of the book's, built by [`allocators::with_book!`].
    Book(Book),
    /// A peer, by its own function.
    Peer(fn(&Job<'_>, &TraceHeap) -> Outcome),
}

impl Entry {
    /// Measures it on a job, in a heap of the job's size.
    pub fn measure(&self, job: &Job<'_>, heap: &TraceHeap) -> Outcome {
        match self.run {
            Run::Book(which) => measure_book(which, job, heap),
            Run::Peer(run) => run(job, heap),
        }
    }
}

/// How the book's allocators report their footprint.
const OWN: &str = "its own `footprint()`: the most memory it ever used, from the heap's start to its break, which only rises";
/// How region peers report it.
const HIGHEST: &str = "the highest offset used: from the heap's start to the end of the highest block it ever handed out (its metadata, and holes below that block, count)";

/// The peers' colours in the plots; the book's come from [`Book::colour`].
pub mod colour {
    /// glibc.
    pub const SYSTEM: u32 = 0x999933;
    /// mimalloc.
    pub const MIMALLOC: u32 = 0xDDAA33;
    /// linked_list_allocator.
    pub const LLA: u32 = 0xE69F00;
    /// talc.
    pub const TALC: u32 = 0xBBBBBB;
    /// bumpalo.
    pub const BUMPALO: u32 = 0x000000;
}

const fn peer(
    name: &'static str,
    about: &'static str,
    footprint: &'static str,
    colour: u32,
    run: fn(&Job<'_>, &TraceHeap) -> Outcome,
) -> Entry {
    Entry {
        name,
        kind: Kind::Peer,
        about,
        footprint,
        colour,
        run: Run::Peer(run),
    }
}

/// How the book's allocator `which` reports its footprint.
const fn book_footprint(which: Book) -> &'static str {
    match which {
        Book::Bump => {
            "its own `footprint()`: the most memory it ever used, from the heap's end down to its lowest bump pointer"
        }
        Book::GrowingBump => {
            "its own `footprint()`: the most memory in use at once, older chunks whole (with their headers) and the used part of the newest"
        }
        _ => OWN,
    }
}

/// Measures the book's allocator `which`, built by
/// [`allocators::with_book!`] over each pass's heap.
fn measure_book(which: Book, job: &Job<'_>, heap: &TraceHeap) -> Outcome {
    allocators::with_book!(which, |r| r,
        growing: GrowingBump::with_limits(64 * 1024, heap.len()),
        |make| job.measure(heap, make))
}

/// Every allocator, book first ([`Book::ALL`]), then the peers, in the order
/// tables list them.
pub static ALLOCATORS: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let books = Book::ALL.into_iter().map(|which| Entry {
        name: which.name(),
        kind: Kind::Book,
        about: which.about(),
        footprint: book_footprint(which),
        colour: which.colour(),
        run: Run::Book(which),
    });
    books.chain(PEERS.iter().map(|p| Entry { ..*p })).collect()
});

/// The peers, in the order tables list them.
static PEERS: &[Entry] = &[
    peer(
        "system",
        "glibc malloc/realloc/free (what std::alloc::System calls)",
        "measured in a fresh child process: the peak of `mallinfo2()`'s `arena + hblkhd`, sampled after every allocation and reallocation, minus its value at the start",
        colour::SYSTEM,
        crate::system_footprint::run_system,
    ),
    peer(
        "mimalloc",
        "mimalloc (crate mimalloc 0.1, Microsoft's allocator) through its GlobalAlloc",
        "not measured: its heap, and its statistics, belong to the whole process; the real-program table compares its peak resident memory instead",
        colour::MIMALLOC,
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
    peer(
        "linked_list_allocator",
        "linked_list_allocator 0.10 Heap (first fit, address-ordered free list)",
        HIGHEST,
        colour::LLA,
        |job, heap| job.measure(heap, |r| Some(LinkedListPeer::new(r))),
    ),
    peer(
        "talc",
        "talc 5 (segregated free lists, boundary tags) claimed over the heap",
        HIGHEST,
        colour::TALC,
        |job, heap| job.measure(heap, TalcPeer::new),
    ),
    peer(
        "bumpalo",
        "bumpalo 3 Bump, one chunk of the heap size from the global allocator",
        "the address span of the blocks it handed out: one chunk, bumping down, from the chunk's top to the lowest block",
        colour::BUMPALO,
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

/// The names of the book's allocators in [`ALLOCATORS`], in order: the
/// replay tool's list, which a test compares with [`Book::ALL`].
pub fn book_names() -> Vec<&'static str> {
    ALLOCATORS
        .iter()
        .filter(|e| e.kind == Kind::Book)
        .map(|e| e.name)
        .collect()
}

use allocators::catalog::Search;

/// The book's allocators `cost-curve` measures: every free list (every
/// allocator that searches), in catalog order. The bumps are left out:
/// they never search, so they have no curve to draw.
pub fn cost_curve_books() -> Vec<Book> {
    Book::ALL.into_iter().filter(|b| b.is_free_list()).collect()
}

/// The book's allocators `scaling` puts behind the book's lock: those that
/// reuse blocks without a walk. A thread there frees and allocates four
/// million times among 512 live blocks of its own, so a bump would run out
/// of memory, and a walk would measure the walk, not the lock.
pub fn scaling_books() -> Vec<Book> {
    Book::ALL
        .into_iter()
        .filter(|b| b.search() == Search::SizeClass)
        .collect()
}
