//! An arena of typed values on top of any allocator, usually a bump allocator.
//!
//! An [`Arena`] turns an allocator into a place to put values: `alloc` moves a
//! value in and returns `&mut T` to it. All values live exactly as long as the
//! arena (or until [`Arena::reset`]), so the borrow checker, not the
//! programmer, proves that no reference outlives its memory:
//!
//! ```compile_fail,E0502
//! use allocators::arena::Arena;
//! use allocators::growing_bump::GrowingBump;
//!
//! let mut arena = Arena::new(GrowingBump::new());
//! let x = arena.alloc(1u32);
//! arena.reset(); // error[E0502]: cannot borrow `arena` as mutable ...
//! *x += 1;       // ... because `x` still borrows it
//! ```
//!
//! # Destructors run
//!
//! Unlike `bumpalo`, which never runs `Drop`, this arena runs every value's
//! destructor when it is reset or dropped, newest value first (as locals are
//! dropped). A `Vec` or `String` in the arena therefore does not leak its
//! heap buffer. Values that need no drop (`needs_drop::<T>()` is false) cost
//! nothing extra; the others get a small header, a [`DropHeader`], placed in
//! front of them in the same block, and the headers form an intrusive singly
//! linked list, so the arena itself never allocates anywhere else.
//!
//! Running destructors later than the values' last use is only sound if
//! everything those destructors can touch is still alive. Hence the
//! lifetime `'a`: every value put in with `alloc` must outlive it (`T: 'a`),
//! and `'a` must outlive the arena. `'a` is *invariant*, so a
//! `&Arena<'static, _>` cannot be shortened to accept a value that borrows a
//! short-lived local (the trick that makes heterogeneous arenas with
//! destructors unsound if forgotten).
//!
//! ```compile_fail,E0597
//! # use allocators::{arena::Arena, growing_bump::GrowingBump};
//! let arena = Arena::new(GrowingBump::new());
//! {
//!     let name = String::from("short-lived");
//!     arena.alloc(Some(&name)); // error[E0597]: `name` does not live long enough
//! } // ... because the arena keeps the reference until it is dropped, below
//! ```
//!
//! [`std::mem::forget`]-ing the arena skips the destructors, which is safe
//! (leaking is), just wasteful.

use crate::bump::Reset;
use crate::raw_allocator::{AllocError, RawAllocator};
use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ptr::NonNull;

// ANCHOR: drop_entry
/// The header in front of an arena value that needs dropping: a link in the
/// list of values to drop, and the function that drops this one.
#[derive(Debug)]
pub struct DropHeader {
    /// The value allocated before this one that also needs dropping.
    next: Option<NonNull<DropHeader>>,
    /// Drops the value behind this header, given the header's address.
    drop_value: unsafe fn(NonNull<DropHeader>),
}

/// A value with its drop header. `repr(C)` puts the header first, so a
/// pointer to the entry is a pointer to its header.
#[repr(C)]
struct DropEntry<T> {
    header: DropHeader,
    value: T,
}

/// # Safety
///
/// `header` must point to the header of a live `DropEntry<T>`, whose value is
/// dropped here and must not be used afterwards.
unsafe fn drop_entry<T>(header: NonNull<DropHeader>) {
    let entry = header.cast::<DropEntry<T>>();
    // SAFETY: the caller guarantees the entry is live and is never used again;
    // the pointer was cast from the entry's own pointer, so it has provenance
    // over all of it.
    unsafe { std::ptr::drop_in_place(&raw mut (*entry.as_ptr()).value) };
}
// ANCHOR_END: drop_entry

// ANCHOR: arena
/// A typed arena over the allocator `A`.
///
/// ```
/// use allocators::arena::Arena;
/// use allocators::bump::BumpAllocator;
/// use allocators::region::Buffer;
///
/// let mut memory = [0u8; 1024];
/// let arena = Arena::new(BumpAllocator::new(Buffer::new(&mut memory)));
/// let a = arena.alloc(String::from("hello"));
/// let b = arena.alloc(vec![1, 2, 3]); // `a` is still usable: both borrow `arena`
/// a.push_str(", world");
/// assert_eq!((a.as_str(), b.len()), ("hello, world", 3));
/// ```
#[derive(Debug)]
pub struct Arena<'a, A: RawAllocator> {
    /// `alloc` takes `&self` (so that many values can be borrowed at once),
    /// and the allocator needs `&mut`: a `RefCell` gives it that.
    allocator: RefCell<A>,
    /// The newest value that needs dropping; its header links the older ones.
    drop_list: Cell<Option<NonNull<DropHeader>>>,
    /// What the values put in with `alloc` borrow lives at least as long as
    /// `'a`, and `'a` outlives the arena, whose destructor may use them.
    _values: PhantomData<Cell<&'a ()>>,
}
// ANCHOR_END: arena
// The `Cell` makes `Arena` invariant in `'a`: the compiler may not shrink
// `'a` to let in a value that borrows something shorter-lived.

impl<'a, A: RawAllocator> Arena<'a, A> {
    /// An arena that takes its memory from `allocator`.
    pub fn new(allocator: A) -> Arena<'a, A> {
        Arena {
            allocator: RefCell::new(allocator),
            drop_list: Cell::new(None),
            _values: PhantomData,
        }
    }

    // ANCHOR: try_alloc
    /// Moves `value` into the arena and returns a reference to it, or an
    /// error (dropping `value`) if the allocator has no room.
    // Handing out `&mut` from `&self` is the point of an arena: each call
    // returns a different, freshly allocated value, never one already lent.
    #[allow(clippy::mut_from_ref)]
    pub fn try_alloc<T: 'a>(&self, value: T) -> Result<&mut T, AllocError> {
        if !std::mem::needs_drop::<T>() {
            return self.put(value);
        }
        let block = self
            .allocator
            .borrow_mut()
            .allocate(Layout::new::<DropEntry<T>>())?;
        let entry = block.cast::<DropEntry<T>>();
        let header = DropHeader {
            next: self.drop_list.get(),
            drop_value: drop_entry::<T>,
        };
        // SAFETY: the block is fresh, sized and aligned for a DropEntry<T>,
        // and nobody else refers to it. The list keeps a pointer to the
        // entry's header and the caller gets one to its value: disjoint
        // fields, and the list only uses its pointer after the caller's
        // borrow has ended (in `reset` or `drop`, which need `&mut self`).
        unsafe {
            entry.write(DropEntry { header, value });
            self.drop_list.set(Some(entry.cast::<DropHeader>()));
            Ok(&mut (*entry.as_ptr()).value)
        }
    }

    /// Moves `value` into the arena without registering a destructor: the
    /// arena never touches it again, so it need not outlive `'a`.
    #[allow(clippy::mut_from_ref)] // as in `try_alloc`
    fn put<T>(&self, value: T) -> Result<&mut T, AllocError> {
        let block = self.allocator.borrow_mut().allocate(Layout::new::<T>())?;
        let slot = block.cast::<T>();
        // SAFETY: the block is fresh, sized and aligned for T, and nobody
        // else refers to it; it lives until `reset` or drop, which need
        // `&mut self` and so end the returned borrow first.
        Ok(unsafe {
            slot.write(value);
            &mut *slot.as_ptr()
        })
    }
    // ANCHOR_END: try_alloc

    // ANCHOR: alloc_copy
    /// Moves a `Copy` value into the arena, like `try_alloc`, but the value
    /// may borrow from the arena.
    ///
    /// A `Copy` type has no destructor, so the arena never needs to look at
    /// the value again, and the value may borrow things that die before the
    /// arena does, *including the arena itself*. That is what a graph of
    /// nodes that point at each other needs (rustc's `DroplessArena` makes the
    /// same trade):
    ///
    /// ```
    /// use allocators::{arena::Arena, growing_bump::GrowingBump};
    /// #[derive(Clone, Copy)]
    /// struct Node<'n> { value: u32, next: Option<&'n Node<'n>> }
    ///
    /// let arena = Arena::new(GrowingBump::new());
    /// let tail = arena.alloc_copy(Node { value: 2, next: None }).unwrap();
    /// let head = arena.alloc_copy(Node { value: 1, next: Some(tail) }).unwrap();
    /// assert_eq!(head.next.map(|n| n.value), Some(2));
    /// ```
    #[allow(clippy::mut_from_ref)] // as in `try_alloc`
    pub fn alloc_copy<T: Copy>(&self, value: T) -> Result<&mut T, AllocError> {
        self.put(value)
    }
    // ANCHOR_END: alloc_copy

    /// Moves `value` into the arena and returns a reference to it.
    ///
    // ANCHOR: alloc_fails
    /// The arena may run `value`'s destructor when it is reset or dropped,
    /// so whatever `value` borrows must outlive the arena. That rules out
    /// borrowing from the arena itself: the nodes of
    /// [`alloc_copy`](Self::alloc_copy)'s example, where `head` holds `tail`,
    /// a borrow of the arena, do not compile with `alloc`.
    ///
    /// ```compile_fail,E0597
    /// # use allocators::{arena::Arena, growing_bump::GrowingBump};
    /// # #[derive(Clone, Copy)]
    /// # struct Node<'n> { value: u32, next: Option<&'n Node<'n>> }
    /// let arena = Arena::new(GrowingBump::new());
    /// let tail = arena.alloc(Node { value: 2, next: None });
    /// let head = arena.alloc(Node { value: 1, next: Some(tail) });
    /// assert_eq!(head.next.map(|n| n.value), Some(2));
    /// ```
    // ANCHOR_END: alloc_fails
    ///
    /// # Panics
    ///
    /// If the allocator is out of memory. (`Box::new` aborts instead, through
    /// `handle_alloc_error`.) Use [`try_alloc`](Self::try_alloc) to handle
    /// that case.
    #[allow(clippy::mut_from_ref)] // as in `try_alloc`
    pub fn alloc<T: 'a>(&self, value: T) -> &mut T {
        match self.try_alloc(value) {
            Ok(value) => value,
            Err(error) => alloc_failed(size_of::<T>(), error),
        }
    }

    /// Runs the destructors of the values that need it, newest first.
    fn drop_values(&mut self) {
        // Take the whole list first: if a destructor panics, the values after
        // it leak instead of being dropped twice.
        let mut next = self.drop_list.take();
        while let Some(header) = next {
            // SAFETY: every header in the list belongs to a live entry that
            // `try_alloc` wrote, `&mut self` means no reference into it is
            // alive, and the list was taken, so each is dropped once.
            unsafe {
                next = (*header.as_ptr()).next;
                ((*header.as_ptr()).drop_value)(header);
            }
        }
    }

    // ANCHOR: arena_reset
    /// Drops every value and frees all their memory at once, keeping the
    /// allocator for reuse. The allocator must free everything on `reset`.
    pub fn reset(&mut self)
    where
        A: Reset,
    {
        self.drop_values();
        self.allocator.get_mut().reset();
    }
    // ANCHOR_END: arena_reset

    /// The allocator, for its statistics.
    pub fn allocator(&self) -> std::cell::Ref<'_, A> {
        self.allocator.borrow()
    }

    /// The addresses of the drop headers of the values that need dropping,
    /// newest first (the order `reset` and drop run them in), for tests and
    /// figures. Reads the links, changes nothing.
    pub fn drop_list(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.drop_list.get(), |header| {
            // SAFETY: every header in the list belongs to a live entry that
            // `try_alloc` wrote; the caller's `&mut T`s point at the values,
            // not at the headers, and `&self` keeps the entries alive.
            unsafe { (*header.as_ptr()).next }
        })
        .map(|header| header.as_ptr().addr())
    }

    /// Drops every value and gives the allocator back.
    pub fn into_allocator(mut self) -> A {
        self.drop_values();
        // `self` has no values left to drop; take the allocator out of it.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the allocator is
        // moved out exactly once, and the other fields need no drop.
        unsafe { std::ptr::read(&this.allocator) }.into_inner()
    }
}

impl<A: RawAllocator> Drop for Arena<'_, A> {
    fn drop(&mut self) {
        self.drop_values();
    }
}

/// [`Arena::alloc`]'s failure, out of line and out of the generic fast path.
#[cold]
#[inline(never)]
fn alloc_failed(bytes: usize, error: AllocError) -> ! {
    panic!("arena allocation of {bytes} bytes failed: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::BumpAllocator;
    use crate::region::OwnedRegion;
    use std::rc::Rc;

    fn arena<'a>(len: usize) -> Arena<'a, BumpAllocator<OwnedRegion>> {
        Arena::new(BumpAllocator::new(OwnedRegion::new(len, 4096).unwrap()))
    }

    /// Counts its drops in a shared counter.
    #[derive(Debug)]
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn values_are_where_they_were_put() {
        let arena = arena(1024);
        let a = arena.alloc(1u8);
        let b = arena.alloc(2u64);
        let c = arena.alloc([3u16; 5]);
        *a += 10;
        assert_eq!((*a, *b, *c), (11, 2, [3; 5]));
        assert_eq!(b as *mut u64 as usize % 8, 0);
    }

    #[test]
    fn destructors_run_once_on_reset_and_on_drop() {
        let drops = Rc::new(Cell::new(0));
        let mut arena = arena(4096);
        for _ in 0..3 {
            arena.alloc(Counted(drops.clone()));
        }
        assert_eq!(drops.get(), 0);
        arena.reset();
        assert_eq!(drops.get(), 3);
        arena.alloc(Counted(drops.clone()));
        drop(arena);
        assert_eq!(drops.get(), 4);
    }

    #[test]
    fn destructors_run_newest_first() {
        struct Log<'a>(u32, &'a RefCell<Vec<u32>>);
        impl Drop for Log<'_> {
            fn drop(&mut self) {
                self.1.borrow_mut().push(self.0);
            }
        }
        let order = RefCell::new(Vec::new());
        {
            let arena = arena(4096);
            for i in 0..4 {
                arena.alloc(Log(i, &order));
                arena.alloc(i); // values without drop glue in between
            }
        }
        assert_eq!(*order.borrow(), [3, 2, 1, 0]);
    }

    #[test]
    fn heap_owning_values_do_not_leak() {
        // Miri's leak checker fails this test if the Strings' buffers leak.
        let arena = arena(4096);
        let s = arena.alloc(String::from("owned"));
        s.push_str(" buffer");
        arena.alloc(vec![1u64; 100]);
    }

    #[test]
    fn exhaustion_is_an_error_and_the_value_is_dropped() {
        let drops = Rc::new(Cell::new(0));
        let arena = arena(64);
        assert!(arena.try_alloc([0u8; 48]).is_ok());
        assert_eq!(
            arena.try_alloc(Counted(drops.clone())).unwrap_err(),
            AllocError::OutOfMemory
        );
        assert_eq!(drops.get(), 1);
        assert_eq!(
            arena.try_alloc([0u8; 64]).unwrap_err(),
            AllocError::OutOfMemory
        );
    }

    #[test]
    #[should_panic(expected = "arena allocation of 64 bytes failed: out of memory")]
    fn alloc_panics_with_a_clear_message() {
        let arena = arena(32);
        arena.alloc([0u8; 64]);
    }

    #[test]
    fn zero_sized_values() {
        thread_local!(static DROPS: Cell<usize> = const { Cell::new(0) });
        struct Zst;
        impl Drop for Zst {
            fn drop(&mut self) {
                DROPS.with(|drops| drops.set(drops.get() + 1));
            }
        }
        let arena = arena(64);
        let unit: &mut () = arena.alloc(());
        *unit = ();
        arena.alloc(Zst);
        arena.alloc(Zst);
        let allocator = arena.into_allocator();
        assert_eq!(DROPS.with(Cell::get), 2);
        // A zero-sized value takes no bytes, only its drop header.
        assert_eq!(allocator.heap_size(), 2 * size_of::<DropHeader>());
    }

    #[test]
    fn reset_reuses_the_memory() {
        let mut arena = arena(256);
        for round in 0..10u64 {
            for i in 0..16u64 {
                assert_eq!(*arena.alloc(round * i), round * i);
            }
            assert_eq!(arena.allocator().heap_size(), 128);
            arena.reset();
        }
        assert_eq!(arena.allocator().footprint(), 128);
    }
}
