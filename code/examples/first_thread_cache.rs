//! The smallest thread cache: a few free blocks per thread, in front of one
//! shared heap behind a lock. No trait, no statistics. The chapter
//! "Allocators and threads" starts here.
//!
//! `cargo run --example first_thread_cache`
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::Mutex;

// ANCHOR: cache
const CLASSES: usize = 4; // blocks of 16, 32, 48 and 64 bytes
const BATCH: usize = 8; // blocks moved per trip to the shared heap

/// The shared heap: `System` behind one lock. It counts the blocks it has
/// handed out and the times a thread took its lock.
struct Shared {
    out: usize,
    trips: usize,
}
static SHARED: Mutex<Shared> = Mutex::new(Shared { out: 0, trips: 0 });

fn layout(class: usize) -> Layout {
    Layout::from_size_align(16 * (class + 1), 16).unwrap()
}

/// A thread's cache: one stack of free blocks per class.
struct Cache([Vec<*mut u8>; CLASSES]);

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache([const { Vec::new() }; CLASSES])) };
}

/// The thread is exiting: every cached block goes back, in one trip.
impl Drop for Cache {
    fn drop(&mut self) {
        let mut shared = SHARED.lock().unwrap();
        shared.trips += 1;
        for (class, stack) in self.0.iter_mut().enumerate() {
            for block in stack.drain(..) {
                // SAFETY: a cached block came from `System` with this
                // class's layout, and nobody uses it.
                unsafe { System.dealloc(block, layout(class)) };
                shared.out -= 1;
            }
        }
    }
}
// ANCHOR_END: cache

// ANCHOR: alloc_free
/// A block of class `class`: from the cache, refilled by a batch when empty.
fn alloc(class: usize) -> *mut u8 {
    CACHE.with_borrow_mut(|cache| {
        let stack = &mut cache.0[class];
        if stack.is_empty() {
            let mut shared = SHARED.lock().unwrap();
            shared.trips += 1;
            for _ in 0..BATCH {
                // SAFETY: the layout's size is not zero.
                let block = unsafe { System.alloc(layout(class)) };
                assert!(!block.is_null(), "out of memory");
                stack.push(block);
                shared.out += 1;
            }
        }
        stack.pop().unwrap()
    })
}

/// Frees `block` into the cache; a full class drains its oldest batch.
fn free(class: usize, block: *mut u8) {
    CACHE.with_borrow_mut(|cache| {
        let stack = &mut cache.0[class];
        stack.push(block);
        if stack.len() > 2 * BATCH {
            let mut shared = SHARED.lock().unwrap();
            shared.trips += 1;
            for old in stack.drain(..BATCH) {
                // SAFETY: as in `Drop`: a free block of this class.
                unsafe { System.dealloc(old, layout(class)) };
                shared.out -= 1;
            }
        }
    })
}
// ANCHOR_END: alloc_free

fn main() {
    // ANCHOR: main
    const THREADS: usize = 4;
    const ROUNDS: usize = 1000;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let class = t % CLASSES;
                for _ in 0..ROUNDS {
                    // Ten blocks live at once, then all freed.
                    let blocks: [*mut u8; 10] = std::array::from_fn(|_| alloc(class));
                    blocks.iter().for_each(|&block| free(class, block));
                }
            })
        })
        .collect();
    // `join` waits for the whole thread, its cache's `Drop` included.
    workers.into_iter().for_each(|w| w.join().unwrap());
    let shared = SHARED.lock().unwrap();
    let calls = THREADS * ROUNDS * 20;
    println!("{calls} calls, {} trips to the shared heap", shared.trips);
    // Without the cache, every call would be a trip.
    assert!(shared.trips * 1000 < calls);
    // Every block came back.
    assert_eq!(shared.out, 0);
    // ANCHOR_END: main
}
