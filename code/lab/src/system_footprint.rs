//! The footprint of glibc's malloc, measured honestly.
//!
//! glibc's heap is not a region the lab hands out: it is the process's own,
//! and by the time a trace is replayed it already holds the lab's data and
//! the free chunks of earlier replays. Replaying a trace there and reading
//! the heap's growth would let the trace reuse holes it did not make, and
//! report a utilization above 100%.
//!
//! So the footprint is measured in a *fresh child process* (the same
//! program, started with a hidden first argument). The child parses the
//! trace, copies the operations and its own bookkeeping into `mmap`ed
//! memory outside glibc's heap, frees everything the parse allocated, calls
//! `malloc_trim(0)`, and reads `mallinfo2()` as a baseline. (Keeping the
//! parsed trace on the heap would leave holes below it, freed buffers of the
//! parse, that a small trace fits into without growing the heap: with
//! `mmap_threshold` raised, its footprint then reads as zero.) Whatever
//! free memory glibc still holds at the baseline is charged to the trace:
//! the baseline is the bytes *in use* (`uordblks + hblkhd`), so the
//! footprint errs on the large side, by at most the little that
//! `malloc_trim` leaves. Then it replays the trace with glibc malloc
//! and samples `mallinfo2()` after every allocation and reallocation (the
//! only operations that can grow the heap). The footprint is the peak of
//! `arena + hblkhd` minus the baseline's bytes in use:
//!
//! - `arena`: bytes the arenas got from the system with `brk` (or `mmap`
//!   for non-main arenas), including free chunks and the top chunk that
//!   glibc has not trimmed;
//! - `hblkhd`: bytes in blocks that were `mmap`ped one by one (requests at
//!   or above `M_MMAP_THRESHOLD`), in whole pages.
//!
//! The child inherits the environment, so `GLIBC_TUNABLES` (for example
//! `glibc.malloc.mmap_threshold`, `glibc.malloc.trim_threshold`) applies to
//! it exactly as to the timed runs.

use crate::peers::SystemMalloc;
use crate::region::TraceHeap;
use crate::replay::{Job, Outcome};
use crate::trace::{Op, Trace};
use allocators::os::Mapping;
use allocators::raw_allocator::RawAllocator;
use std::alloc::Layout;
use std::path::Path;
use std::process::Command;
use std::ptr::NonNull;

/// The hidden first argument that turns a lab binary into the footprint
/// child.
pub const CHILD_FLAG: &str = "--lab-internal-system-footprint";

/// `arena + hblkhd` from `mallinfo2()`: the bytes glibc holds from the
/// system right now.
pub fn glibc_heap_bytes() -> usize {
    // SAFETY: mallinfo2 only reads malloc's statistics.
    let info = unsafe { libc::mallinfo2() };
    info.arena.saturating_add(info.hblkhd)
}

/// `uordblks + hblkhd` from `mallinfo2()`: the bytes of glibc's heap in
/// use (allocated chunks with their headers, and blocks parked in the
/// per-thread cache), that is, [`glibc_heap_bytes`] minus free memory.
pub fn glibc_used_bytes() -> usize {
    // SAFETY: mallinfo2 only reads malloc's statistics.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks.saturating_add(info.hblkhd)
}

/// Measures `system`: times it in this process like every other allocator,
/// then measures its footprint in a child process.
pub fn run_system(job: &Job<'_>, heap: &TraceHeap) -> Outcome {
    let outcome = job.measure(heap, |_| Some(SystemMalloc::new()));
    let Outcome::Measured(mut m) = outcome else {
        return outcome;
    };
    m.footprint = None;
    match job.path {
        None => m.footprint_note = Some("no trace file to replay in a child process".into()),
        Some(path) => match footprint_in_child(path, job.options.align) {
            Ok(bytes) => m.footprint = Some(bytes),
            Err(why) => m.footprint_note = Some(why),
        },
    }
    Outcome::Measured(m)
}

/// Runs this program again as the footprint child for the trace at `path`.
pub fn footprint_in_child(path: &Path, align: usize) -> Result<usize, String> {
    // /proc/self/exe runs this very program even when its file was replaced
    // or removed in the meantime (a rebuild of the lab while a long report
    // runs), which the path from current_exe() would not.
    let proc_exe = std::path::PathBuf::from("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe
    } else {
        std::env::current_exe().map_err(|e| format!("cannot find this program to rerun it: {e}"))?
    };
    let out = Command::new(exe)
        .arg(CHILD_FLAG)
        .arg(path)
        .arg(align.to_string())
        .output()
        .map_err(|e| format!("cannot start the footprint child: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the footprint child failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    text.trim().parse().map_err(|_| {
        format!(
            "the footprint child printed `{}`, not a byte count",
            text.trim()
        )
    })
}

/// If this process was started as the footprint child, does the child's
/// work and exits; otherwise returns. Every lab binary that measures
/// `system` calls this first thing in `main`.
pub fn serve_child_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(CHILD_FLAG) {
        return;
    }
    let result = match (
        args.get(2),
        args.get(3).and_then(|a| a.parse::<usize>().ok()),
    ) {
        (Some(path), Some(align)) => Trace::read(Path::new(path))
            .map_err(|e| e.to_string())
            .and_then(|t| measure_here(t, align, path)),
        _ => Err(format!("usage: {CHILD_FLAG} TRACE ALIGN")),
    };
    match result {
        Ok(bytes) => {
            println!("{bytes}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

/// A fixed-length array of `T` in an anonymous mapping: memory that
/// glibc's heap does not see.
struct MappedArray<T> {
    mapping: Mapping,
    len: usize,
    _type: std::marker::PhantomData<T>,
}

impl<T: Copy> MappedArray<T> {
    /// `len` copies of `fill`.
    fn new(len: usize, fill: T) -> Result<MappedArray<T>, String> {
        let bytes = len
            .checked_mul(size_of::<T>())
            .ok_or("the trace is too large to map")?;
        // A mapping cannot be empty; one page holds an empty array too.
        let mapping =
            Mapping::new(bytes.max(1)).map_err(|e| format!("cannot map {bytes} bytes: {e}"))?;
        debug_assert!(
            align_of::<T>() <= allocators::os::page_size(),
            "align_of::<T>() {} > page size {}",
            align_of::<T>(),
            allocators::os::page_size()
        );
        let base = mapping.as_ptr().cast::<T>();
        for i in 0..len {
            // SAFETY: the mapping is page-aligned (so aligned for T) and
            // holds `len` values of T.
            unsafe { base.add(i).write(fill) };
        }
        Ok(MappedArray {
            mapping,
            len,
            _type: std::marker::PhantomData,
        })
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: `len` initialized values (written in `new`), borrowed
        // through `&mut self` only.
        unsafe { std::slice::from_raw_parts_mut(self.mapping.as_ptr().cast::<T>(), self.len) }
    }
}

/// Replays `trace` with glibc malloc in this process and returns the peak
/// growth of `arena + hblkhd`. Meant for a fresh process, and it drops the
/// trace before measuring: see the module documentation.
/// `name` (the trace's file, say) appears in error messages.
pub fn measure_here(trace: Trace, align: usize, name: &str) -> Result<usize, String> {
    let mut ops = MappedArray::new(trace.ops.len(), Op::Free { id: 0 })?;
    ops.as_mut_slice().copy_from_slice(&trace.ops);
    let mut lines = MappedArray::new(trace.lines.len(), 0u32)?;
    lines.as_mut_slice().copy_from_slice(&trace.lines);
    let mut slots = MappedArray::<Option<(NonNull<u8>, usize)>>::new(trace.ids, None)?;
    // Everything the parse allocated goes back now, while nothing newer
    // sits above it: it merges into glibc's top chunk, which
    // malloc_trim(0) then gives back to the system.
    drop(trace);
    let slots = slots.as_mut_slice();
    let mut malloc = SystemMalloc::new();
    let layout =
        |size: usize| Layout::from_size_align(size, align).map_err(|e| format!("bad layout: {e}"));
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe { libc::malloc_trim(0) };
    let base = glibc_used_bytes();
    let mut peak = glibc_heap_bytes();
    for (op, line) in ops.as_mut_slice().iter().zip(lines.as_mut_slice().iter()) {
        let oom = |_| format!("{name}:{line}: out of memory");
        match *op {
            Op::Alloc { id, size } => {
                let ptr = malloc.allocate(layout(size)?).map_err(oom)?;
                slots[id as usize] = Some((ptr, size));
                peak = peak.max(glibc_heap_bytes());
            }
            Op::Free { id } => {
                if let Some((ptr, size)) = slots[id as usize].take() {
                    // SAFETY: a live malloc block with this layout.
                    unsafe { malloc.deallocate(ptr, layout(size)?) };
                }
            }
            Op::Realloc { id, size } => {
                if let Some((ptr, old)) = slots[id as usize] {
                    // SAFETY: a live malloc block with this layout.
                    let new = unsafe { malloc.reallocate(ptr, layout(old)?, size) }.map_err(oom)?;
                    slots[id as usize] = Some((new, size));
                    peak = peak.max(glibc_heap_bytes());
                }
            }
        }
    }
    for slot in slots.iter_mut() {
        if let Some((ptr, size)) = slot.take() {
            // SAFETY: a live malloc block with this layout.
            unsafe { malloc.deallocate(ptr, layout(size)?) };
        }
    }
    Ok(peak.saturating_sub(base))
}
