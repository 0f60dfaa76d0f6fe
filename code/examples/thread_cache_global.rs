//! A multi-threaded program on `ThreadCached` as its `#[global_allocator]`:
//! four threads build word lists and send them to the main thread through a
//! channel, which counts the words and frees the lists: blocks allocated on
//! one thread and freed on another. Afterwards, the heap checker passes.
//!
//! `cargo run --release --example thread_cache_global`
use allocators::global::Locked;
use allocators::heap::RegionBreak;
use allocators::region::Buffer;
use allocators::segregated::SegregatedFreeList;
use allocators::thread_cache::ThreadCached;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::mpsc;

const HEAP_SIZE: usize = 32 << 20;

/// A static heap, zero-initialised so it costs nothing until touched.
#[repr(C, align(4096))]
struct Memory([u8; HEAP_SIZE]);
static mut MEMORY: Memory = Memory([0; HEAP_SIZE]);

// ANCHOR: statics
type Heap = SegregatedFreeList<RegionBreak<Buffer<'static>>>;

static HEAP: Locked<Heap> = Locked::new(SegregatedFreeList::new(RegionBreak::new(
    // SAFETY: `&raw mut` takes the static's address without a reference, and
    // only this heap ever touches MEMORY.
    unsafe {
        Buffer::from_raw_parts(
            NonNull::new_unchecked((&raw mut MEMORY).cast::<u8>()),
            HEAP_SIZE,
        )
    },
)));

#[global_allocator]
static ALLOCATOR: ThreadCached<Heap> = ThreadCached::new(&HEAP);
// ANCHOR_END: statics

fn main() {
    // ANCHOR: workload
    let (send, receive) = mpsc::channel::<Vec<String>>();
    let workers: Vec<_> = (0..4u32)
        .map(|t| {
            let send = send.clone();
            std::thread::spawn(move || {
                for round in 0..200u32 {
                    let words = (0..50)
                        .map(|i| format!("w{}", (t * 7 + round * 3 + i) % 97))
                        .collect();
                    send.send(words).unwrap();
                }
            })
        })
        .collect();
    drop(send);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for words in receive {
        for word in words {
            *counts.entry(word).or_default() += 1;
        }
    }
    for worker in workers {
        worker.join().unwrap();
    }
    // ANCHOR_END: workload
    let total: usize = counts.values().sum();
    assert_eq!(total, 4 * 200 * 50);
    assert_eq!(counts.len(), 97);
    drop(counts);
    ALLOCATOR
        .check()
        .expect("the heap checker finds nothing wrong");
    let (refills, drains) = ALLOCATOR.lock_trips();
    // Far fewer trips to the lock than calls: 40,000 strings alone.
    assert!(
        refills + drains < 20_000,
        "{refills} refills, {drains} drains"
    );
    println!("{total} words, {} distinct; heap check: ok", 97);
}
