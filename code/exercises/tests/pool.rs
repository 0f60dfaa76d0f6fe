//! Checks the exercises of the chapter "Pools".

use exercises::pool::{CheckedPool, FreeError};
use std::alloc::Layout;

#[test]
fn exercise_1_double_free_is_caught() {
    let mut pool = CheckedPool::new(4, Layout::new::<[u64; 2]>()).expect("memory for the test");
    let a = pool.allocate().expect("room");
    let b = pool.allocate().expect("room");
    assert_eq!(pool.free(a), Ok(()));
    // The bug of broken_pool, caught: the second free is refused.
    assert_eq!(pool.free(a), Err(FreeError::NotInUse));
    assert_eq!(pool.free(b), Ok(()));
    assert_eq!(pool.free(a), Err(FreeError::NotInUse));
    assert_eq!(pool.live(), 0);
    // The free list is intact: two allocations, two different slots.
    let c = pool.allocate().expect("room");
    let d = pool.allocate().expect("room");
    assert_ne!(c, d);
    // A pointer into the middle of a slot is not a slot.
    let inside = c.map_addr(|addr| addr.checked_add(8).expect("in the slot"));
    assert_eq!(pool.free(inside), Err(FreeError::NotASlot));
    assert_eq!(pool.free(c), Ok(()));
    assert_eq!(pool.free(d), Ok(()));
}
