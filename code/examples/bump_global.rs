//! A whole program whose every allocation comes from a bump allocator.
//!
//! The allocator bumps down through a 64 MiB static buffer. The program counts
//! the words of a generated text with a `Vec`, a sort and a `BTreeMap`, then
//! prints what the allocator saw: how much memory the program used, and how
//! much it freed that the bump allocator could never hand out again.
//!
//! `cargo run --example bump_global`
use allocators::bump::BumpAllocator;
use allocators::global::Locked;
use allocators::region::Buffer;
use std::collections::BTreeMap;
use std::ptr::NonNull;

mod common;

// ANCHOR: allocator
const HEAP_SIZE: usize = 64 * 1024 * 1024;

/// The heap: zero-initialised, so it costs no space in the binary (it lands
/// in `.bss`) and no memory until a page is touched.
#[repr(C, align(4096))]
struct Heap([u8; HEAP_SIZE]);
static mut HEAP: Heap = Heap([0; HEAP_SIZE]);

#[global_allocator]
static ALLOCATOR: Locked<BumpAllocator<Buffer<'static>>> = Locked::new(BumpAllocator::with_buffer(
    // SAFETY: `&raw mut` takes HEAP's address without creating a reference,
    // and nothing but this allocator ever touches HEAP.
    unsafe {
        Buffer::from_raw_parts(
            NonNull::new_unchecked((&raw mut HEAP).cast::<u8>()),
            HEAP_SIZE,
        )
    },
));
// ANCHOR_END: allocator

/// Made-up words of one to three syllables (see `common::words`).
fn words(count: usize) -> impl Iterator<Item = String> {
    common::words(count, 3)
}

fn main() {
    // ANCHOR: workload
    const DOCUMENTS: usize = 20;
    const WORDS: usize = 5_000; // per document
    let mut stream = words(DOCUMENTS * WORDS);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..DOCUMENTS {
        // Read a document, count its words, and drop it: a bump allocator
        // cannot reuse its memory, because the map's new nodes and keys were
        // bumped after it.
        let document: Vec<String> = stream.by_ref().take(WORDS).collect();
        for word in &document {
            match counts.get_mut(word) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(word.clone(), 1);
                }
            }
        }
    }
    let stats = ALLOCATOR.stats(); // copies counters; does not allocate
    // ANCHOR_END: workload

    // Check the map against a second count: sort all the words, then each
    // run of equal words is one entry.
    let mut all: Vec<String> = words(DOCUMENTS * WORDS).collect();
    all.sort_unstable();
    let mut runs = all.chunk_by(|a, b| a == b).map(|run| (&run[0], run.len()));
    assert!(runs.by_ref().eq(counts.iter().map(|(word, &n)| (word, n))));
    drop(all);
    let (most, times) = counts
        .iter()
        .max_by_key(|&(_, &n)| n)
        .expect("there are words");
    println!(
        "{} words, {} different; \"{most}\" appears {times} times",
        DOCUMENTS * WORDS,
        counts.len()
    );
    drop(counts);

    // ANCHOR: report
    println!("allocations:      {:>10}", stats.allocations);
    println!("frees:            {:>10}", stats.deallocations);
    println!("reallocations:    {:>10}", stats.reallocations);
    println!("bytes requested:  {:>10}", stats.bytes_allocated);
    println!("live now:         {:>10} bytes", stats.live_bytes);
    println!("peak live:        {:>10} bytes", stats.peak_live_bytes);
    println!("heap (bumped):    {:>10} bytes", stats.heap_size);
    println!("never reused:     {:>10} bytes", stats.unused_heap_bytes());
    println!("utilization:      {:>10.1} %", 100.0 * stats.utilization());
    // ANCHOR_END: report

    // The numbers must add up: every live byte is inside the bumped heap,
    // the heap is inside the buffer, and the bump allocator wasted most of
    // what was freed.
    assert!(stats.live_bytes <= stats.heap_size);
    assert!(stats.peak_live_bytes <= stats.footprint);
    assert!(stats.heap_size <= stats.footprint && stats.footprint <= HEAP_SIZE);
    assert_eq!(
        stats.live_bytes + stats.unused_heap_bytes(),
        stats.heap_size
    );
    assert!(stats.deallocations > 0 && stats.unused_heap_bytes() > stats.live_bytes);
    assert_eq!(stats.failures, 0);
    assert!(
        ALLOCATOR
            .with_allocator(|heap| allocators::raw_allocator::RawAllocator::check(heap))
            .is_ok()
    );
}
