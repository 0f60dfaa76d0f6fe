//! One request sequence under the three placement policies of the implicit
//! free list: first fit, next fit and best fit. The same seeded stream of
//! allocations and frees (up to 500 live blocks of 16 to 512 bytes) runs on
//! each, and the heap is compared at the end: its size, how many free blocks
//! it has, and the largest one.
//!
//! `cargo run -q --release --example placement_policies > imgs/placement-policies-output.txt`
//! writes the output the book shows.
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::raw_allocator::{AllocError, RawAllocator};
use allocators::region::OwnedRegion;
use std::alloc::Layout;
use std::ptr::NonNull;

/// What fragmentation looks like at the end of a run.
#[derive(Debug)]
struct Outcome {
    heap_size: usize,
    free_blocks: usize,
    largest_free: usize,
    free_bytes: usize,
}

// ANCHOR: workload
/// Replays the same pseudo-random stream of requests under `placement`.
fn run(placement: Placement) -> Result<Outcome, AllocError> {
    let memory = RegionBreak::new(OwnedRegion::new(1 << 22, 16)?);
    let mut heap = ImplicitFreeList::new(memory, placement);
    let mut state: u32 = 42; // xorshift: the same stream for every policy
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    for _ in 0..20_000 {
        if live.len() < 500 && (live.is_empty() || random() % 2 == 0) {
            let size = 16 * (1 + random() % 32);
            let layout = Layout::from_size_align(size, 8).unwrap();
            live.push((heap.allocate(layout)?, layout));
        } else {
            let (ptr, layout) = live.swap_remove(random() % live.len());
            // SAFETY: `ptr` is live in `heap` with `layout`, freed once.
            unsafe { heap.deallocate(ptr, layout) };
        }
    }
    heap.check().expect("the heap checker finds nothing wrong");
    let free: Vec<usize> = heap
        .blocks()
        .filter(|b| b.is_free())
        .map(|b| b.size)
        .collect();
    Ok(Outcome {
        heap_size: heap.heap_size(),
        free_blocks: free.len(),
        largest_free: free.iter().copied().max().unwrap_or(0),
        free_bytes: free.iter().sum(),
    })
}
// ANCHOR_END: workload

fn main() -> Result<(), AllocError> {
    // ANCHOR: compare
    let first = run(Placement::FirstFit)?;
    let next = run(Placement::NextFit)?;
    let best = run(Placement::BestFit)?;
    for (name, o) in [
        ("first fit", &first),
        ("next fit", &next),
        ("best fit", &best),
    ] {
        println!(
            "{name:<9}  heap {:>6} B  free blocks {:>3}  largest free {:>6} B  free bytes {:>6}",
            o.heap_size, o.free_blocks, o.largest_free, o.free_bytes
        );
    }
    // Next fit scatters blocks over the whole heap: the most free blocks,
    // the most free bytes, the smallest largest block, and the largest heap.
    assert!(next.free_blocks > first.free_blocks && next.free_blocks > best.free_blocks);
    assert!(next.free_bytes > first.free_bytes && next.free_bytes > best.free_bytes);
    assert!(next.largest_free < first.largest_free && next.largest_free < best.largest_free);
    assert!(next.heap_size > first.heap_size && next.heap_size > best.heap_size);
    // Best fit leaves the fewest splinters.
    assert!(best.free_blocks < first.free_blocks);
    // First fit keeps the largest free block of the three.
    assert!(first.largest_free > best.largest_free);
    // ANCHOR_END: compare
    Ok(())
}
