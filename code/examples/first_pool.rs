//! The smallest pool: slots of one type, and a free list threaded through
//! the free slots themselves. No trait, no statistics. The chapter "Pools"
//! starts here.
//!
//! `cargo run --example first_pool`
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

// ANCHOR: pool
/// A slot holds a value while it is in use, and a link while it is free.
#[repr(C)] // every field at offset 0: a slot's address is its value's
pub union Slot<T> {
    value: ManuallyDrop<T>,
    next: Option<NonNull<Slot<T>>>,
}

/// `capacity` slots of `T`, each allocated and freed in O(1).
pub struct Pool<T> {
    slots: Vec<Slot<T>>,            // the memory; never resized, so slots never move
    free: Option<NonNull<Slot<T>>>, // the first free slot
}

impl<T> Pool<T> {
    /// A pool with room for `capacity` values, all of its slots free.
    pub fn new(capacity: usize) -> Pool<T> {
        let mut slots: Vec<Slot<T>> = (0..capacity).map(|_| Slot { next: None }).collect();
        let base = slots.as_mut_ptr();
        let mut free = None;
        for i in (0..capacity).rev() {
            // SAFETY: `i < capacity`: the slot is inside the vector.
            let slot = unsafe { base.add(i) };
            // SAFETY: as above; every slot is free, so it holds a link.
            unsafe { (*slot).next = free };
            free = NonNull::new(slot); // slot i -> slot i + 1 -> ...
        }
        Pool { slots, free }
    }
    // ANCHOR_END: pool

    // ANCHOR: alloc_free
    /// Moves `value` into a free slot, or gives it back if the pool is full.
    pub fn alloc(&mut self, value: T) -> Result<NonNull<T>, T> {
        let Some(slot) = self.free else {
            return Err(value);
        };
        // SAFETY: a slot on the free list is free, so it holds a link; we
        // read it before the value overwrites it.
        unsafe {
            self.free = (*slot.as_ptr()).next;
            slot.as_ptr().write(Slot {
                value: ManuallyDrop::new(value),
            });
        }
        Ok(slot.cast())
    }

    /// Drops the value at `ptr` and puts its slot back on the free list.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `alloc` on this pool, and must not be freed yet.
    pub unsafe fn free(&mut self, ptr: NonNull<T>) {
        let slot = ptr.cast::<Slot<T>>();
        // SAFETY: the caller promises a live value in a slot of this pool.
        unsafe {
            ptr.drop_in_place();
            slot.as_ptr().write(Slot { next: self.free });
        }
        self.free = Some(slot);
    }
    // ANCHOR_END: alloc_free

    /// The slot number of `ptr`, for printing.
    pub fn index(&self, ptr: NonNull<T>) -> usize {
        (ptr.as_ptr() as usize - self.slots.as_ptr() as usize) / size_of::<Slot<T>>()
    }

    /// The address the head of the free list holds, for printing.
    pub fn head(&self) -> Option<usize> {
        self.free.map(|slot| slot.as_ptr().addr())
    }
}

fn main() {
    // ANCHOR: main
    let mut pool: Pool<[f64; 3]> = Pool::new(4);
    let a = pool.alloc([1.0, 0.0, 0.0]).unwrap();
    let b = pool.alloc([0.0, 1.0, 0.0]).unwrap();
    let c = pool.alloc([0.0, 0.0, 1.0]).unwrap();
    println!(
        "a in slot {}, b in {}, c in {}",
        pool.index(a),
        pool.index(b),
        pool.index(c)
    );
    // SAFETY: `b` came from `alloc` and is freed once, then not used.
    unsafe { pool.free(b) };
    // The slot freed last is the next one handed out.
    let d = pool.alloc([2.0; 3]).unwrap();
    assert_eq!(d, b);
    let e = pool.alloc([3.0; 3]).unwrap();
    println!("d in slot {} (b's), e in {}", pool.index(d), pool.index(e));
    // Four slots, four values: the fifth is handed back.
    assert_eq!(pool.alloc([4.0; 3]), Err([4.0; 3]));
    // SAFETY: `a` is live and not freed yet.
    assert_eq!(unsafe { a.read() }, [1.0, 0.0, 0.0]);
    // ANCHOR_END: main
}
