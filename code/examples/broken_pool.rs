//! Break it: free the same slot twice in the first pool, whose `free` pushes
//! without checking. The free list now holds one slot twice, and two live
//! values end up in the same memory. Then the same mistake in the crate's
//! `PoolAllocator`, whose heap checker reports it.
//!
//! `cargo run -q --example broken_pool > imgs/broken-pool-output.txt`
use allocators::pool::PoolAllocator;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use std::alloc::Layout;

// The first pool, exactly as the chapter shows it (its own `main` unused).
#[allow(dead_code)]
#[path = "first_pool.rs"]
mod first_pool;
use first_pool::Pool;

fn main() {
    // ANCHOR: double_free
    let mut pool: Pool<u64> = Pool::new(4);
    let a = pool.alloc(10).unwrap();
    // SAFETY: none. This is the bug: `a` is freed twice. With `u64`, which
    // has no destructor, the only harm is to the free list, and that is
    // what we want to see.
    unsafe {
        pool.free(a);
        pool.free(a); // the list is now a -> a -> a -> ...
    }
    let x = pool.alloc(1).unwrap();
    let y = pool.alloc(2).unwrap(); // the same slot, again
    println!("x in slot {}, y in slot {}", pool.index(x), pool.index(y));
    // SAFETY: x points into the pool, which is alive (that is the problem).
    let x_now = unsafe { x.read() };
    println!("we stored 1 in x, and x now reads {x_now}");
    assert_eq!(x, y, "two live values share one slot");
    assert_eq!(x_now, 2, "writing y overwrote x");
    // Popping y read the next link from the slot, which held x's value.
    let head = pool.head().expect("the list has a head, if a bad one");
    println!("the free list's head is now address {head:#x}: the 1 we stored in x");
    assert_eq!(head, 1);
    // ANCHOR_END: double_free

    // ANCHOR: caught
    let node = Layout::new::<u64>();
    let region = OwnedRegion::new(4096, 64).expect("memory for the test");
    let mut pool = PoolAllocator::new(region, node).expect("a valid layout");
    let [a, b, _c] = [(); 3].map(|_| pool.allocate(node).expect("room for three"));
    // SAFETY: none, again: `a` is freed twice, with `b` freed in between, so
    // that the cheap debug checks in `deallocate` do not stop us first.
    unsafe {
        pool.deallocate(a, node);
        pool.deallocate(b, node);
        pool.deallocate(a, node);
    }
    let report = pool.check().expect_err("the checker finds the cycle");
    println!("PoolAllocator::check: {}", report.what);
    assert!(report.what.contains("cycle"));
    // ANCHOR_END: caught
}
