//! `cost-curve`: how the time of one allocation grows with the number of
//! blocks in the heap, for the book's free lists and the peers.
//!
//! For each `n`, every allocator gets the same heap state: `n` live blocks
//! (48-byte blocks) with a small free *hole* (a 32-byte block) in front of
//! each, and one large free block at the top of the heap. Then it serves a
//! batch of requests that no hole can satisfy, so each must find the top
//! block:
//!
//! - the implicit list (first fit) walks all `2n` blocks, allocated or free;
//! - the explicit list walks the `n` free holes;
//! - segregated lists look in the request's own class, then jump to the next
//!   non-empty class through the bitmap: the holes are never visited.
//!
//! The batch is timed; the result is the median, over `LAB_REPS` runs (31 by
//! default), of the time per allocation. Each run builds a fresh allocator
//! (building is not timed). Writes `imgs/lab-cost-curve.svg` and
//! `imgs/lab-cost-curve.md`.
//!
//! `cargo run --release -p lab --bin cost-curve`

use allocators::catalog::Book;
use allocators::growing_bump::GrowingBump;
use allocators::os::page_size;
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::Buffer;
use lab::machine::Machine;
use lab::peers::{LinkedListPeer, SystemMalloc, TalcPeer};
use lab::plots::rgb;
use lab::region::TraceHeap;
use lab::registry::colour;
use plotters::prelude::*;
use std::alloc::Layout;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr::NonNull;
use std::time::Instant;

const COMMAND: &str = "cargo run --release -p lab --bin cost-curve";

/// The numbers of live blocks measured.
const LIVE: [usize; 9] = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/// Timed allocations per run.
const BATCH: usize = 32;

/// A live block's payload (a 48-byte block in the book's format).
const LIVE_PAYLOAD: usize = 40;
/// A hole's payload (a 32-byte block, the minimum).
const HOLE_PAYLOAD: usize = 16;
/// The timed request: larger than any hole.
const REQUEST: usize = 256;

/// The heap every region allocator runs in: room for the largest state.
const HEAP: usize = 16 << 20;

/// One curve: a name, a colour (the allocator's colour in every plot of
/// the lab, so colours match `lab-throughput.svg`), and how to run it.
struct Curve {
    name: &'static str,
    color: RGBColor,
    run: Box<Measure>,
}

/// One run of a curve: the seconds per allocation with `n` live blocks.
type Measure = dyn Fn(&TraceHeap, usize) -> Result<f64, AllocError>;

/// The curves: the book's allocators that search (the catalog's, through
/// [`lab::registry::cost_curve_books`]), then the peers.
fn curves() -> Vec<Curve> {
    let mut curves: Vec<Curve> = lab::registry::cost_curve_books()
        .into_iter()
        .map(|which| Curve {
            name: which.name(),
            color: rgb(which.colour()),
            run: Box::new(move |h, n| {
                allocators::with_book!(which, |r| r,
                    growing: GrowingBump::with_limits(page_size(), HEAP),
                    |make| region(h, n, make))
            }),
        })
        .collect();
    curves.push(Curve {
        name: "system (glibc)",
        color: rgb(colour::SYSTEM),
        run: Box::new(|_, n| run_once(&mut SystemMalloc::new(), n)),
    });
    curves.push(Curve {
        name: "linked_list_allocator",
        color: rgb(colour::LLA),
        run: Box::new(|h, n| region(h, n, |r| Some(LinkedListPeer::new(r)))),
    });
    curves.push(Curve {
        name: "talc",
        color: rgb(colour::TALC),
        run: Box::new(|h, n| region(h, n, TalcPeer::new)),
    });
    curves
}

/// Builds the state for `n` in a fresh allocator and returns the seconds the
/// batch took per allocation. Everything is freed again, so that glibc's
/// malloc (whose heap outlives the run) starts each run the same way.
fn run_once<A: RawAllocator>(heap: &mut A, n: usize) -> Result<f64, AllocError> {
    let layout = |size| Layout::from_size_align(size, 16).map_err(|_| AllocError::SizeOverflow);
    let (live_l, hole_l, big_l) = (
        layout(LIVE_PAYLOAD)?,
        layout(HOLE_PAYLOAD)?,
        layout(REQUEST)?,
    );
    let reserve_l = layout(BATCH * (REQUEST + 64) + 4096)?;
    let mut live = Vec::with_capacity(n);
    let mut holes = Vec::with_capacity(n);
    for _ in 0..n {
        holes.push(heap.allocate(hole_l)?);
        live.push(heap.allocate(live_l)?);
    }
    // Room at the top for the batch, so that the heap need not grow while
    // it is timed; freeing it first leaves the top block at the end of a
    // LIFO list once the holes are pushed in front of it.
    let reserve = heap.allocate(reserve_l)?;
    // Each pointer freed below is a live block of `heap` with the layout it
    // was allocated with, freed once.
    // SAFETY: as just said.
    unsafe { heap.deallocate(reserve, reserve_l) };
    // Highest address first: an address-ordered list then inserts each at
    // its front, so building stays cheap.
    for &hole in holes.iter().rev() {
        // SAFETY: as above.
        unsafe { heap.deallocate(hole, hole_l) };
    }
    let mut batch: Vec<NonNull<u8>> = Vec::with_capacity(BATCH);
    let start = Instant::now();
    for _ in 0..BATCH {
        batch.push(black_box(heap.allocate(big_l)?));
    }
    let seconds = start.elapsed().as_secs_f64() / BATCH as f64;
    for ptr in batch {
        // SAFETY: as above.
        unsafe { heap.deallocate(ptr, big_l) };
    }
    for ptr in live {
        // SAFETY: as above.
        unsafe { heap.deallocate(ptr, live_l) };
    }
    Ok(seconds)
}

/// A region allocator over `heap`.
fn region<'h, A: RawAllocator>(
    heap: &'h TraceHeap,
    n: usize,
    make: impl FnOnce(Buffer<'h>) -> Option<A>,
) -> Result<f64, AllocError> {
    // SAFETY: one allocator at a time uses the heap; it is dropped before
    // the next run builds another.
    let mut allocator = make(unsafe { heap.region() }).ok_or(AllocError::OutOfMemory)?;
    run_once(&mut allocator, n)
}

const USAGE: &str = "usage: cost-curve
  writes imgs/lab-cost-curve.md and .svg; LAB_REPS sets the runs (default 31)
  -h, --help  this text
";

fn main() -> ExitCode {
    match lab::cli::help_only(USAGE) {
        Ok(true) => {}
        Ok(false) => return ExitCode::SUCCESS,
        Err(e) => return lab::cli::usage_error("cost-curve", e),
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cost-curve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let reps = std::env::var("LAB_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r: &usize| r >= 1)
        .unwrap_or(31);
    let heap = TraceHeap::new(HEAP)?;
    // nanoseconds per allocation: one row per curve, one column per `n`.
    let curves = curves();
    let mut table: Vec<Vec<f64>> = Vec::new();
    for curve in &curves {
        let mut row = Vec::new();
        for &n in &LIVE {
            // One untimed run touches the pages first.
            (curve.run)(&heap, n).map_err(|e| format!("{}: {e}", curve.name))?;
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                times.push((curve.run)(&heap, n).map_err(|e| format!("{}: {e}", curve.name))?);
            }
            let ns = lab::replay::median(&times).unwrap_or(f64::NAN) * 1e9;
            eprintln!("{:<24} n = {n:>6}: {ns:>10.1} ns", curve.name);
            row.push(ns);
        }
        table.push(row);
    }
    let machine = Machine::current();
    let imgs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../imgs");
    std::fs::write(
        imgs.join("lab-cost-curve.md"),
        markdown(&curves, &table, &machine, reps),
    )?;
    let footer = [
        format!("made by: {COMMAND}"),
        format!("machine: {}", machine.summary()),
        format!(
            "median of {reps} runs of {BATCH} allocations of {REQUEST} bytes; each live block has a {}-byte free hole in front of it",
            HOLE_PAYLOAD + 16
        ),
    ];
    plot(&imgs.join("lab-cost-curve.svg"), &curves, &table, &footer)?;
    println!("wrote imgs/lab-cost-curve.md");
    println!("wrote imgs/lab-cost-curve.svg");
    Ok(())
}

/// The curves a chapter's table shows: one per design, within six columns.
const CHAPTER: [&str; 5] = [
    Book::Implicit.name(),
    Book::Explicit.name(),
    Book::Segregated.name(),
    "system (glibc)",
    "talc",
];

/// A Markdown table of the curves for which `keep` is true.
fn table_of(curves: &[Curve], table: &[Vec<f64>], keep: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::from("| live blocks |");
    let mut rule = String::from("|--:|");
    for curve in curves.iter().filter(|c| keep(c.name)) {
        out.push_str(&format!(" {} |", curve.name));
        rule.push_str("--:|");
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for (i, n) in LIVE.iter().enumerate() {
        out.push_str(&format!("| {n} |"));
        for (curve, row) in curves.iter().zip(table) {
            if keep(curve.name) {
                out.push_str(&format!(" {:.0} |", row[i]));
            }
        }
        out.push('\n');
    }
    out
}

fn markdown(curves: &[Curve], table: &[Vec<f64>], machine: &Machine, reps: usize) -> String {
    let mut out = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
    out.push_str(&table_of(curves, table, &|name| CHAPTER.contains(&name)));
    out.push_str(&format!(
        "\nNanoseconds per allocation of {REQUEST} bytes, with the given number of live blocks in the heap and a \
         free {}-byte hole in front of each, so that no hole fits the request. Measured by `{COMMAND}` on {}.\n\n\
         <details><summary>The full table</summary>\n\n\
         Every curve of the plot; each number is the median of {reps} runs of {BATCH} allocations.\n\n",
        HOLE_PAYLOAD + 16,
        machine.summary()
    ));
    out.push_str(&table_of(curves, table, &|_| true));
    out.push_str("\n</details>\n");
    out
}

fn plot(
    path: &Path,
    curves: &[Curve],
    table: &[Vec<f64>],
    footer: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    // As wide as the book's text column, so that the smallest text (12 px)
    // is shown at about its own size.
    let (width, height) = (760u32, 480 + 16 * footer.len() as u32);
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(height - 8 - 16 * footer.len() as u32);
    let (area, legend) = top.split_horizontally(width - 170);
    for (i, line) in footer.iter().enumerate() {
        bottom.draw(&Text::new(
            line.as_str(),
            (8, 2 + 16 * i as i32),
            ("sans-serif", 12)
                .into_font()
                .color(&RGBColor(0x44, 0x44, 0x44)),
        ))?;
    }
    for (i, curve) in curves.iter().enumerate() {
        let y = 48 + 20 * i as i32;
        legend.draw(&PathElement::new(
            vec![(4, y + 6), (24, y + 6)],
            curve.color.stroke_width(3),
        ))?;
        legend.draw(&Circle::new((14, y + 6), 4, curve.color.filled()))?;
        legend.draw(&Text::new(
            curve.name,
            (30, y),
            ("sans-serif", 12).into_font(),
        ))?;
    }
    let all = table.iter().flatten().copied();
    let (lo, hi) = all.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let x_range = (LIVE[0] as f64 / 1.3)..(LIVE[LIVE.len() - 1] as f64 * 1.3);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "Time per allocation as the heap fills (lower is faster)",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(62)
        .build_cartesian_2d(x_range.log_scale(), ((lo / 1.5)..(hi * 1.5)).log_scale())?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .x_desc("live blocks in the heap (log scale)")
        .y_desc("ns per allocation (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| {
            if *y >= 1.0 {
                format!("{y:.0}")
            } else {
                format!("{y:.2}")
            }
        })
        .draw()?;
    for (curve, row) in curves.iter().zip(table) {
        let points: Vec<(f64, f64)> = LIVE
            .iter()
            .map(|&n| n as f64)
            .zip(row.iter().copied())
            .collect();
        chart.draw_series(std::iter::once(PathElement::new(
            points.clone(),
            curve.color.stroke_width(2),
        )))?;
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, curve.color.filled())),
        )?;
    }
    root.present()?;
    Ok(())
}
