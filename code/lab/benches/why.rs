//! When does writing your own allocator pay off? Three measurements for the
//! "Why write your own allocator?" chapter, each against peers in the same
//! run.
//!
//! `cargo bench -p lab --bench why` measures, then writes `imgs/bench-why.md`
//! with the medians, their ratios and the machine.
//!
//! 1. **Phase-shaped work** (`why_arena_tree`): build a complete binary tree
//!    of 131,071 nodes, walk it, drop it. With `Box` every node is a `malloc`
//!    and a `free`; in an [`Arena`] over a [`GrowingBump`] a node is a bump
//!    and the whole tree goes at once.
//! 2. **Same-size objects** (`why_pool`): allocate 10,000 objects of 64
//!    bytes, then free them in a random order; `Box` against the book's
//!    [`PoolAllocator`] (and its typed [`Pool`]).
//! 3. **A general workload** (`why_general`): random sizes (8 bytes to
//!    32 KiB, mostly small) with random lifetimes. The book's best
//!    general-purpose allocator, [`SegregatedFreeList`], against glibc's
//!    malloc and mimalloc. Here a hand-written allocator has no shape to
//!    exploit, and the one from crates.io is the right default.

use allocators::arena::Arena;
use allocators::global::Locked;
use allocators::growing_bump::GrowingBump;
use allocators::heap::RegionBreak;
use allocators::os::Mapping;
use allocators::pool::{Pool, PoolAllocator};
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use allocators::segregated::SegregatedFreeList;
use criterion::{BenchmarkId, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Depth of the tree: 2^17 - 1 = 131,071 nodes.
const TREE_DEPTH: u32 = 17;
const TREE_NODES: u64 = (1 << TREE_DEPTH) - 1;
/// Objects in the pool benchmark.
const OBJECTS: usize = 10_000;
/// Calls in one run of the general workload, and its most live blocks.
const GENERAL_OPS: usize = 20_000;
const GENERAL_SLOTS: usize = 1_000;

/// The same pseudo-random numbers every run: the lab's one generator.
struct Rng(lab::generate::SplitMix64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0.next_u64() as usize
    }
}

// ---- 1. A tree, built and dropped ---------------------------------------------

// ANCHOR: box_tree
/// A tree node on the heap: every node is its own `malloc`.
struct BoxNode {
    value: u64,
    left: Option<Box<BoxNode>>,
    right: Option<Box<BoxNode>>,
}

fn build_boxed(depth: u32, next: &mut u64) -> Box<BoxNode> {
    *next += 1;
    let value = *next;
    let (left, right) = match depth {
        1 => (None, None),
        _ => (
            Some(build_boxed(depth - 1, next)),
            Some(build_boxed(depth - 1, next)),
        ),
    };
    Box::new(BoxNode { value, left, right })
}

fn sum_boxed(node: &BoxNode) -> u64 {
    node.value
        + node.left.as_deref().map_or(0, sum_boxed)
        + node.right.as_deref().map_or(0, sum_boxed)
}
// ANCHOR_END: box_tree

// ANCHOR: arena_tree
/// The same node in an arena: children are plain references into it, and
/// nothing is freed node by node.
#[derive(Clone, Copy)]
struct ArenaNode<'t> {
    value: u64,
    left: Option<&'t ArenaNode<'t>>,
    right: Option<&'t ArenaNode<'t>>,
}

fn build_in_arena<'t>(
    arena: &'t Arena<'_, GrowingBump>,
    depth: u32,
    next: &mut u64,
) -> &'t ArenaNode<'t> {
    *next += 1;
    let value = *next;
    let (left, right) = match depth {
        1 => (None, None),
        _ => (
            Some(build_in_arena(arena, depth - 1, next)),
            Some(build_in_arena(arena, depth - 1, next)),
        ),
    };
    let node = ArenaNode { value, left, right };
    arena.alloc_copy(node).expect("the OS has memory")
}

fn sum_in_arena(node: &ArenaNode<'_>) -> u64 {
    node.value + node.left.map_or(0, sum_in_arena) + node.right.map_or(0, sum_in_arena)
}
// ANCHOR_END: arena_tree

/// 1 + 2 + ... + n: what summing every node must give.
const TREE_SUM: u64 = TREE_NODES * (TREE_NODES + 1) / 2;

/// A benchmark variant: its name (criterion's id) and one iteration.
type Variant<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Rounds of the interleaved pass, and timed iterations of each variant
/// per round.
const ROUNDS: usize = 31;
const REPS: usize = 4;

/// Runs each variant under criterion (one after another, as criterion
/// does), then [`ROUNDS`] interleaved rounds that run every variant in
/// turn ([`REPS`] timed iterations after a warm one), and returns each variant's median time in the interleaved rounds,
/// in ns. On a shared machine the load changes over the seconds a criterion
/// benchmark takes; interleaving puts every variant under the same load.
fn run_group(c: &mut Criterion, group: &str, elements: u64, variants: &mut [Variant]) -> Vec<f64> {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(elements));
    for (name, iteration) in variants.iter_mut() {
        g.bench_function(BenchmarkId::from_parameter(*name), |b| {
            b.iter(&mut *iteration)
        });
    }
    g.finish();
    let mut times = vec![Vec::with_capacity(ROUNDS); variants.len()];
    for _ in 0..ROUNDS {
        for (time, (_, iteration)) in times.iter_mut().zip(variants.iter_mut()) {
            // One untimed iteration warms the caches that the other
            // variants evicted, as criterion's warm-up does.
            iteration();
            let start = Instant::now();
            for _ in 0..REPS {
                iteration();
            }
            time.push(start.elapsed().as_nanos() as f64 / REPS as f64);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[ROUNDS / 2]
        })
        .collect()
}

fn bench_tree(c: &mut Criterion) -> Vec<f64> {
    let mut arena = Arena::new(GrowingBump::new());
    let mut variants: Vec<Variant> = vec![
        (
            "box",
            Box::new(|| {
                let tree = build_boxed(TREE_DEPTH, &mut 0);
                assert_eq!(sum_boxed(black_box(&tree)), TREE_SUM);
                drop(tree); // 131,071 frees
            }),
        ),
        (
            "arena_new",
            Box::new(|| {
                // A new arena each time: its chunks are mapped and unmapped
                // in every iteration.
                let arena = Arena::new(GrowingBump::new());
                let tree = build_in_arena(&arena, TREE_DEPTH, &mut 0);
                assert_eq!(sum_in_arena(black_box(tree)), TREE_SUM);
                drop(arena); // a few munmaps
            }),
        ),
        (
            "arena_reset",
            Box::new(move || {
                // One arena for every phase, reset in between (it keeps its
                // largest chunk): the way a server reuses a per-request arena.
                {
                    let tree = build_in_arena(&arena, TREE_DEPTH, &mut 0);
                    assert_eq!(sum_in_arena(black_box(tree)), TREE_SUM);
                }
                arena.reset();
            }),
        ),
    ];
    run_group(c, "why_arena_tree", TREE_NODES, &mut variants)
}

// ---- 2. Same-size objects in random order ----------------------------------------

/// A 64-byte object, such as a particle in a simulation.
#[derive(Clone, Copy)]
#[allow(dead_code)] // written, never read: the allocation is what is measured
struct Particle {
    position: [f64; 3],
    velocity: [f64; 3],
    id: u64,
    flags: u64,
}

fn particle(id: usize) -> Particle {
    Particle {
        position: [id as f64; 3],
        velocity: [1.0; 3],
        id: id as u64,
        flags: 0,
    }
}

/// A random order of 0..n (Fisher-Yates).
fn shuffled(n: usize, seed: u32) -> Vec<usize> {
    let mut rng = Rng(lab::generate::SplitMix64::new(u64::from(seed)));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.next() % (i + 1));
    }
    order
}

fn bench_pool(c: &mut Criterion) -> Vec<f64> {
    let order = shuffled(OBJECTS, 0x1234_5678);
    let order = &order;

    let mut boxes: Vec<Option<Box<Particle>>> = Vec::with_capacity(OBJECTS);
    let boxed = move || {
        boxes.extend((0..OBJECTS).map(|i| Some(Box::new(particle(i)))));
        for &i in order {
            drop(black_box(boxes[i].take()));
        }
        boxes.clear();
    };

    // ANCHOR: pool_bench
    let object = Layout::new::<Particle>();
    let region = OwnedRegion::new(OBJECTS * size_of::<Particle>(), 64).expect("region");
    let mut pool = PoolAllocator::new(region, object).expect("a pool of particles");
    let mut slots: Vec<NonNull<Particle>> = Vec::with_capacity(OBJECTS);
    let pooled = move || {
        for i in 0..OBJECTS {
            let slot = pool.allocate(object).expect("fits").cast::<Particle>();
            // SAFETY: a fresh slot, sized and aligned for a Particle.
            unsafe { slot.write(particle(i)) };
            slots.push(slot);
        }
        for &i in order {
            // SAFETY: each slot is live, freed once, with its layout.
            unsafe { pool.deallocate(black_box(slots[i]).cast(), object) };
        }
        slots.clear();
    };
    // ANCHOR_END: pool_bench

    let typed: Pool<Particle, _> =
        Pool::new(OwnedRegion::new(OBJECTS * size_of::<Particle>(), 64).expect("region"))
            .expect("a pool of particles");
    let typed = &typed;
    let mut typed_boxes = Vec::with_capacity(OBJECTS);
    let typed_pooled = move || {
        typed_boxes.extend((0..OBJECTS).map(|i| Some(typed.alloc(particle(i)).expect("fits"))));
        for &i in order {
            drop(black_box(typed_boxes[i].take()));
        }
        typed_boxes.clear();
    };
    let mut variants: Vec<Variant> = vec![
        ("box", Box::new(boxed)),
        ("pool", Box::new(pooled)),
        ("typed_pool", Box::new(typed_pooled)),
    ];
    run_group(c, "why_pool", OBJECTS as u64, &mut variants)
}

// ---- 3. A general workload ------------------------------------------------------------

/// One call of the general workload: allocate into a slot, or free a slot.
#[derive(Clone, Copy)]
enum Op {
    Alloc { slot: usize, layout: Layout },
    Free { slot: usize },
}

/// Random sizes, mostly small (60% up to 64 bytes, 30% up to 512, 9% up to
/// 4 KiB, 1% up to 32 KiB), with random lifetimes: each call frees a random
/// live block or allocates, keeping up to GENERAL_SLOTS blocks live. Every
/// block is freed by the end.
fn general_trace() -> Vec<Op> {
    let mut rng = Rng(lab::generate::SplitMix64::new(0xdead_beef));
    let mut live: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = (0..GENERAL_SLOTS).rev().collect();
    let mut ops = Vec::with_capacity(GENERAL_OPS + GENERAL_SLOTS);
    for _ in 0..GENERAL_OPS {
        let allocate = live.is_empty() || (!free.is_empty() && rng.next() % 100 < 55);
        if allocate {
            let slot = free.pop().expect("a free slot");
            let size = match rng.next() % 100 {
                0..60 => 8 + rng.next() % 57,
                60..90 => 65 + rng.next() % 448,
                90..99 => 513 + rng.next() % 3584,
                _ => 4097 + rng.next() % 28672,
            };
            let layout = Layout::from_size_align(size, 8).expect("small sizes");
            live.push(slot);
            ops.push(Op::Alloc { slot, layout });
        } else {
            let slot = live.swap_remove(rng.next() % live.len());
            free.push(slot);
            ops.push(Op::Free { slot });
        }
    }
    ops.extend(live.into_iter().map(|slot| Op::Free { slot }));
    ops
}

/// Replays the trace through a `RawAllocator`, touching each new block.
fn replay_raw<A: RawAllocator>(a: &mut A, trace: &[Op], blocks: &mut [(*mut u8, Layout)]) {
    for op in trace {
        match *op {
            Op::Alloc { slot, layout } => {
                let ptr = a.allocate(layout).expect("the heap is large enough");
                // SAFETY: a fresh block of at least 8 bytes.
                unsafe { ptr.as_ptr().write(slot as u8) };
                blocks[slot] = (ptr.as_ptr(), layout);
            }
            Op::Free { slot } => {
                let (ptr, layout) = blocks[slot];
                // SAFETY: the trace frees only live blocks, once, with the
                // layout they were allocated with.
                unsafe { a.deallocate(NonNull::new_unchecked(black_box(ptr)), layout) };
            }
        }
    }
}

/// Replays the trace through a `GlobalAlloc`, touching each new block.
fn replay_global<G: GlobalAlloc>(g: &G, trace: &[Op], blocks: &mut [(*mut u8, Layout)]) {
    for op in trace {
        match *op {
            Op::Alloc { slot, layout } => {
                // SAFETY: the layout has a non-zero size.
                let ptr = unsafe { g.alloc(layout) };
                assert!(!ptr.is_null());
                // SAFETY: a fresh block of at least 8 bytes.
                unsafe { ptr.write(slot as u8) };
                blocks[slot] = (ptr, layout);
            }
            Op::Free { slot } => {
                let (ptr, layout) = blocks[slot];
                // SAFETY: as in `replay_raw`.
                unsafe { g.dealloc(black_box(ptr), layout) };
            }
        }
    }
}

/// The book's segregated free lists, over a reserved mapping whose pages
/// the kernel backs when they are first touched.
fn segregated() -> SegregatedFreeList<RegionBreak<Mapping>> {
    SegregatedFreeList::new(RegionBreak::new(
        Mapping::new(256 << 20).expect("a 256 MiB reservation"),
    ))
}

fn bench_general(c: &mut Criterion) -> Vec<f64> {
    let trace = general_trace();
    let trace = &trace[..];
    let blocks = || vec![(std::ptr::null_mut(), Layout::new::<u8>()); GENERAL_SLOTS];
    let ours = &mut segregated();
    let locked = &Locked::new(segregated());
    let (mut b1, mut b2, mut b3, mut b4) = (blocks(), blocks(), blocks(), blocks());
    let mut variants: Vec<Variant> = vec![
        ("segregated", Box::new(|| replay_raw(ours, trace, &mut b1))),
        (
            "segregated_locked",
            Box::new(|| replay_global(locked, trace, &mut b2)),
        ),
        (
            "system",
            Box::new(|| replay_global(&System, trace, &mut b3)),
        ),
        (
            "mimalloc",
            Box::new(|| replay_global(&mimalloc::MiMalloc, trace, &mut b4)),
        ),
    ];
    let medians = run_group(c, "why_general", trace.len() as u64, &mut variants);
    drop(variants);
    ours.check().expect("the heap survived the benchmark");
    locked
        .with_allocator(|a| a.check())
        .expect("the heap survived the benchmark");
    medians
}

// ---- The table ------------------------------------------------------------------

/// Minor page faults of this process so far: pages the kernel backed on
/// first touch.
fn minor_faults() -> i64 {
    // SAFETY: rusage is plain integers, for which all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_minflt
}

/// Page faults during one more tree of each kind, after the benchmarks
/// (so every allocator is warm): Box, a new arena, the reused arena.
fn tree_faults() -> [i64; 3] {
    let before = minor_faults();
    drop(black_box(build_boxed(TREE_DEPTH, &mut 0)));
    let boxed = minor_faults() - before;
    let before = minor_faults();
    {
        let arena = Arena::new(GrowingBump::new());
        black_box(build_in_arena(&arena, TREE_DEPTH, &mut 0));
    }
    let fresh = minor_faults() - before;
    // Three rounds to reach the steady state: one chunk large enough for
    // the whole tree, every page of it touched.
    let mut arena = Arena::new(GrowingBump::new());
    for _ in 0..3 {
        black_box(build_in_arena(&arena, TREE_DEPTH, &mut 0));
        arena.reset();
    }
    let before = minor_faults();
    black_box(build_in_arena(&arena, TREE_DEPTH, &mut 0));
    arena.reset();
    [boxed, fresh, minor_faults() - before]
}

fn median_ns(criterion_dir: &Path, group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// The medians of one group, in ns per iteration, or `None` if one is
/// missing (a filtered run).
fn medians<const N: usize>(dir: &Path, group: &str, ids: [&str; N]) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    for (slot, id) in out.iter_mut().zip(ids) {
        *slot = median_ns(dir, group, id)?;
    }
    Some(out)
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    let tree_mixed = bench_tree(&mut c);
    let pool_mixed = bench_pool(&mut c);
    let general_mixed = bench_general(&mut c);
    c.final_summary();

    // Criterion writes under the target directory: CARGO_TARGET_DIR, or the
    // workspace's `target/` (two levels above this package).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("criterion");
    // The table shows one method, the interleaved rounds; criterion's own
    // results (variants one after another) stay in target/criterion. This
    // only checks that every benchmark ran.
    let (Some(_), Some(_), Some(_)) = (
        medians(&dir, "why_arena_tree", ["box", "arena_new", "arena_reset"]),
        medians(&dir, "why_pool", ["box", "pool", "typed_pool"]),
        medians(
            &dir,
            "why_general",
            ["segregated", "segregated_locked", "system", "mimalloc"],
        ),
    ) else {
        eprintln!("not every benchmark ran; imgs/bench-why.md left as it was");
        return;
    };
    let ops = general_trace().len() as f64;
    let machine = lab::machine::Machine::current();
    let [box_tree, arena_new, arena_reset] = [tree_mixed[0], tree_mixed[1], tree_mixed[2]];
    let [faults_box, faults_new, faults_reset] = tree_faults();
    let [box_pool, raw_pool, typed_pool] = [pool_mixed[0], pool_mixed[1], pool_mixed[2]];
    let [seg, seg_locked, system, mimalloc] = [
        general_mixed[0],
        general_mixed[1],
        general_mixed[2],
        general_mixed[3],
    ];
    // Ratios to a group's first variant, from the interleaved rounds.
    let mixed = |medians: &[f64], i: usize| medians[i] / medians[0];
    let nodes = TREE_NODES as f64;
    let objects = OBJECTS as f64;
    // "3.2× as fast as" for a ratio below 0.9, "1.30× as slow as" above
    // 1.1, "about as fast as" in between.
    let speed = |ratio: f64| {
        if (0.9..=1.1).contains(&ratio) {
            format!("about as fast as ({ratio:.2}× the time of)")
        } else if ratio < 1.0 {
            format!("{:.1}× as fast as", 1.0 / ratio)
        } else {
            format!("{ratio:.2}× as slow as")
        }
    };
    let mut table = format!(
        "Measured by `cargo bench -p lab --bench why` on {machine}. Every time is the median of \
         {ROUNDS} interleaved rounds, each running every variant of a table in turn, and ratios are \
         to the first row (below 1: faster).\n\n\
         <details><summary>Why interleaved, and the conditions</summary>\n\n\
         Each round runs every variant once untimed, then {REPS} timed iterations, so a change in the \
         load of this shared machine hits all of them alike. Criterion also runs each benchmark \
         (its reports are in `target/criterion`), but it runs the variants one after another, a few \
         seconds each, and on a shared machine the load can change in between, so its ratios can \
         differ from these by more than the differences they measure. The book uses these. glibc: {tunables}.\n\n\
         </details>\n\n",
        machine = machine.summary(),
        tunables = machine.tunables_line(),
    );
    table += &format!(
        "**Phase-shaped work**: build a complete binary tree of {TREE_NODES} nodes (24 bytes \
         each), sum it, drop it.\n\n\
         | allocator | median per tree | per node | page faults per tree | relative to `Box` |\n\
         |---|---|---|---|---|\n\
         | `Box` (glibc malloc + free) | {:.2} ms | {:.1} ns | {faults_box} | 1.00 |\n\
         | `Arena` over `GrowingBump`, new each time | {:.2} ms | {:.1} ns | {faults_new} | {:.2} |\n\
         | `Arena` over `GrowingBump`, reset and reused | {:.2} ms | {:.1} ns | {faults_reset} | {:.2} |\n\n\
         The reused arena is **{}** `Box`. A new arena each time is {} `Box`: its chunks are \
         fresh mappings, whose pages the kernel backs on first touch (the page faults, \
         counted with `getrusage` over one more tree after the benchmark), while glibc reuses \
         the memory it already has.\n\n",
        box_tree / 1e6,
        box_tree / nodes,
        arena_new / 1e6,
        arena_new / nodes,
        arena_new / box_tree,
        arena_reset / 1e6,
        arena_reset / nodes,
        arena_reset / box_tree,
        speed(mixed(&tree_mixed, 2)),
        speed(mixed(&tree_mixed, 1)),
    );
    table += &format!(
        "**Same-size objects**: allocate {OBJECTS} objects of 64 bytes, then free them in a \
         random order.\n\n\
         | allocator | median per round | per object (alloc + free) | relative to `Box` |\n\
         |---|---|---|---|\n\
         | `Box` (glibc malloc + free) | {:.1} µs | {:.2} ns | 1.00 |\n\
         | `PoolAllocator` (raw) | {:.1} µs | {:.2} ns | {:.2} |\n\
         | `Pool<T>` (typed, `PoolBox`) | {:.1} µs | {:.2} ns | {:.2} |\n\n\
         The pool is **{}** `Box` through the raw interface, and {} `Box` through the typed \
         one.\n\n",
        box_pool / 1e3,
        box_pool / objects,
        raw_pool / 1e3,
        raw_pool / objects,
        raw_pool / box_pool,
        typed_pool / 1e3,
        typed_pool / objects,
        typed_pool / box_pool,
        speed(mixed(&pool_mixed, 1)),
        speed(mixed(&pool_mixed, 2)),
    );
    table += &format!(
        "**A general workload**: {GENERAL_OPS} random calls (55% allocations of 8 bytes to \
         32 KiB, mostly small; 45% frees of a random live block; up to {GENERAL_SLOTS} live), \
         then everything freed.\n\n\
         | allocator | median per run | per call | relative to the book's segregated lists |\n\
         |---|---|---|---|\n\
         | book `SegregatedFreeList` (direct, no lock) | {:.1} µs | {:.2} ns | 1.00 |\n\
         | book `SegregatedFreeList` behind `Locked` | {:.1} µs | {:.2} ns | {:.2} |\n\
         | `System` (glibc malloc + free) | {:.1} µs | {:.2} ns | {:.2} |\n\
         | `mimalloc` 0.1 | {:.1} µs | {:.2} ns | {:.2} |\n\n\
         With no shape to exploit, the book's best general-purpose allocator, called directly \
         without the lock that a `#[global_allocator]` needs, is {} glibc; mimalloc is \
         **{}** the book's lists behind that lock.\n",
        seg / 1e3,
        seg / ops,
        seg_locked / 1e3,
        seg_locked / ops,
        seg_locked / seg,
        system / 1e3,
        system / ops,
        system / seg,
        mimalloc / 1e3,
        mimalloc / ops,
        mimalloc / seg,
        speed(mixed(&general_mixed, 0) / mixed(&general_mixed, 2)),
        speed(mixed(&general_mixed, 3) / mixed(&general_mixed, 1)),
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../imgs/bench-why.md");
    std::fs::write(&path, &table).expect("write imgs/bench-why.md");
    println!("\n{table}");
}
