//! The bump allocator against bumpalo and glibc malloc, in the same run.
//!
//! `cargo bench -p lab --bench bump` measures, then writes
//! `imgs/bench-bump.md`, the table the linear-allocator chapter includes:
//! medians from criterion, ratios between them, the machine, and the
//! instructions one allocation executes on the fast path (counted by
//! callgrind, when valgrind is installed).
//!
//! The workload: 1,000 allocations of a fixed mix of small sizes (8 to 64
//! bytes) and alignments (1 to 16), then everything freed. A bump allocator
//! and bumpalo free with one `reset`; malloc needs one `free` per block, which
//! is part of what using malloc costs for phase-shaped work.

use allocators::bump::BumpAllocator;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use criterion::{BenchmarkId, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;

const BLOCKS: usize = 1000;
/// Room for every block of one round, with padding.
const REGION: usize = 256 * 1024;
/// Allocations the fast-path count averages over.
const FAST_PATH_CALLS: u64 = 100_000;

/// The same mix every run: sizes 8..=64, alignments 1..=16.
fn layouts() -> Vec<Layout> {
    let mut state: u32 = 0x9e37_79b9;
    (0..BLOCKS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let size = 8 + (state % 57) as usize;
            let align = 1 << ((state >> 8) % 5);
            Layout::from_size_align(size, align).expect("small sizes and powers of two")
        })
        .collect()
}

// ANCHOR: fast_path
/// One allocation, not inlined, so callgrind can count its instructions.
/// (The timed benchmarks call `allocate` directly, inlined, as a program
/// would.)
#[inline(never)]
#[unsafe(no_mangle)]
pub fn book_bump_fast_path(
    bump: &mut BumpAllocator<OwnedRegion>,
    layout: Layout,
) -> Result<NonNull<u8>, AllocError> {
    bump.allocate(layout)
}

/// bumpalo's fallible allocation, wrapped the same way.
#[inline(never)]
#[unsafe(no_mangle)]
pub fn bumpalo_fast_path(bump: &bumpalo::Bump, layout: Layout) -> Option<NonNull<u8>> {
    bump.try_alloc_layout(layout).ok()
}
// ANCHOR_END: fast_path

fn bench(c: &mut Criterion) {
    let layouts = layouts();
    let mut group = c.benchmark_group("bump_small_mix");
    group.throughput(Throughput::Elements(BLOCKS as u64));

    let mut ours = BumpAllocator::new(OwnedRegion::new(REGION, 4096).expect("a 256 KiB region"));
    group.bench_function(BenchmarkId::from_parameter("book_bump"), |b| {
        b.iter(|| {
            for &layout in &layouts {
                black_box(ours.allocate(black_box(layout)).expect("fits"));
            }
            ours.reset();
        })
    });

    let mut theirs = bumpalo::Bump::with_capacity(REGION);
    group.bench_function(BenchmarkId::from_parameter("bumpalo"), |b| {
        b.iter(|| {
            for &layout in &layouts {
                black_box(theirs.try_alloc_layout(black_box(layout)).expect("fits"));
            }
            theirs.reset();
        })
    });

    let mut blocks = Vec::with_capacity(BLOCKS);
    group.bench_function(BenchmarkId::from_parameter("system"), |b| {
        b.iter(|| {
            for &layout in &layouts {
                // SAFETY: every layout has a non-zero size.
                let block = unsafe { System.alloc(black_box(layout)) };
                assert!(!block.is_null());
                blocks.push((block, layout));
            }
            for (block, layout) in blocks.drain(..) {
                // SAFETY: each block came from System.alloc with this layout.
                unsafe { System.dealloc(block, layout) };
            }
        })
    });
    group.finish();
}

/// Runs the fast paths under callgrind's eye (LAB_FAST_PATH=ours|bumpalo).
fn fast_path_loop(which: &str) {
    let layout = Layout::from_size_align(24, 8).expect("a valid layout");
    let region = FAST_PATH_CALLS as usize * 32;
    match which {
        "ours" => {
            let mut bump = BumpAllocator::new(OwnedRegion::new(region, 4096).expect("region"));
            for _ in 0..FAST_PATH_CALLS {
                black_box(book_bump_fast_path(&mut bump, black_box(layout)).expect("fits"));
            }
        }
        _ => {
            let bump = bumpalo::Bump::with_capacity(region);
            for _ in 0..FAST_PATH_CALLS {
                black_box(bumpalo_fast_path(&bump, black_box(layout)).expect("fits"));
            }
        }
    }
}

/// Instructions per call of `function`, counted by callgrind over
/// FAST_PATH_CALLS calls, or `None` without valgrind.
fn instructions_per_call(which: &str, function: &str) -> Option<f64> {
    let out = std::env::temp_dir().join(format!("callgrind.{which}.{}", std::process::id()));
    let status = std::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--toggle-collect={function}"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe().ok()?)
        .env("LAB_FAST_PATH", which)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&out).ok()?;
    let _ = std::fs::remove_file(&out);
    if !status.success() {
        return None;
    }
    let total: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })?
        .trim()
        .parse()
        .ok()?;
    Some(total / FAST_PATH_CALLS as f64)
}

fn median_ns(criterion_dir: &std::path::Path, id: &str) -> Option<f64> {
    let path = criterion_dir
        .join("bump_small_mix")
        .join(id)
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn main() {
    if let Ok(which) = std::env::var("LAB_FAST_PATH") {
        fast_path_loop(&which);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();

    // Criterion writes under the target directory: CARGO_TARGET_DIR, or the
    // workspace's `target/` (two levels above this package).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let criterion_dir = target.join("criterion");
    let (Some(ours), Some(bumpalo), Some(system)) = (
        median_ns(&criterion_dir, "book_bump"),
        median_ns(&criterion_dir, "bumpalo"),
        median_ns(&criterion_dir, "system"),
    ) else {
        // A filtered run (e.g. `cargo bench -- bumpalo`) measured only part.
        eprintln!("not every benchmark ran; imgs/bench-bump.md left as it was");
        return;
    };
    let per_block = |ns: f64| ns / BLOCKS as f64;
    let ours_insns = instructions_per_call("ours", "book_bump_fast_path");
    let bumpalo_insns = instructions_per_call("bumpalo", "bumpalo_fast_path");
    let insns = |n: Option<f64>| {
        n.map_or("(valgrind not installed)".to_string(), |n| {
            format!("{n:.0}")
        })
    };
    let machine = lab::machine::Machine::current();
    let table = format!(
        "Measured by `cargo bench -p lab --bench bump` on {machine}, with criterion (median of \
         100 samples; each sample allocates the same {BLOCKS} blocks of 8 to 64 bytes, aligned to 1 \
         to 16, then frees them all). All three ran in the same process, one after another.\n\n\
         | allocator | median per block | relative to the book's bump | instructions per allocation (fast path) |\n\
         |---|---|---|---|\n\
         | book `BumpAllocator` | {:.2} ns | 1.00 | {} |\n\
         | `bumpalo` 3 | {:.2} ns | {:.2} | {} |\n\
         | `System` (glibc malloc + free) | {:.2} ns | {:.2} | — |\n\n\
         bumpalo takes **{:.2}×** as long per block as the book's bump, and glibc's malloc and \
         free **{:.2}×**. Instructions are counted by callgrind over {FAST_PATH_CALLS} calls \
         of a non-inlined wrapper around one 24-byte allocation, call and return included.\n",
        per_block(ours),
        insns(ours_insns),
        per_block(bumpalo),
        bumpalo / ours,
        insns(bumpalo_insns),
        per_block(system),
        system / ours,
        bumpalo / ours,
        system / ours,
        machine = machine.summary(),
    );
    write_disassembly();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../imgs/bench-bump.md");
    std::fs::write(&path, &table).expect("write imgs/bench-bump.md");
    println!("\n{table}");
}

/// Writes the machine code of the book's fast path to
/// `imgs/bench-bump-fast-path.s` (with binutils' objdump; skipped without it).
fn write_disassembly() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let Ok(out) = std::process::Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "--no-addresses", "-M", "intel"])
        .arg("--disassemble=book_bump_fast_path")
        .arg(&exe)
        .output()
    else {
        eprintln!("objdump not found; imgs/bench-bump-fast-path.s left as it was");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // Keep the function's body: from its label to the first padding `int3`.
    let body: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("<book_bump_fast_path>:"))
        .take_while(|l| !l.contains("int3") && !l.starts_with("Disassembly"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if body.is_empty() {
        return;
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../imgs/bench-bump-fast-path.s");
    let _ = std::fs::write(path, body.join("\n") + "\n");
}
