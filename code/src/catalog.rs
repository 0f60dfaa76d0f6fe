//! The book's allocators, listed once.
//!
//! Every tool that measures or tests "all of the book's allocators" (the
//! replay tool, the real-program driver, the scaling and cost-curve runs,
//! the stress and bad-input tests) takes its list from [`Book::ALL`], so that
//! adding an allocator starts here: a variant, its name, a line about it and
//! a colour for the plots; then its constructor in [`with_book!`](crate::with_book),
//! and its type in [`AnyBook`] if it is a new one.
//!
//! [`with_book!`](crate::with_book) is the one place that says how each of
//! them is built. Its `match` is exhaustive, so a new variant does not compile
//! until it has a constructor, and every tool built on it has the new
//! allocator at once.

use crate::bump::BumpAllocator;
use crate::explicit::ExplicitFreeList;
use crate::growing_bump::GrowingBump;
use crate::heap::RegionBreak;
use crate::implicit::ImplicitFreeList;
use crate::raw_allocator::{AllocError, HeapError, RawAllocator};
use crate::region::Region;
use crate::segregated::SegregatedFreeList;
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;

/// One of the allocators built in the book.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Book {
    /// `BumpAllocator`: one pointer moving down through a region.
    Bump,
    /// `GrowingBump`: a bump allocator that maps a new chunk when one is full.
    GrowingBump,
    /// `ImplicitFreeList` with first fit.
    Implicit,
    /// `ImplicitFreeList` with next fit.
    ImplicitNext,
    /// `ImplicitFreeList` with best fit.
    ImplicitBest,
    /// `ExplicitFreeList` with LIFO insertion.
    Explicit,
    /// `ExplicitFreeList` with address-ordered insertion.
    ExplicitAddr,
    /// `SegregatedFreeList`: one list per size class.
    Segregated,
}

/// How one of the book's allocators finds a block: a property of its design,
/// which decides which measurements and tables can take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// It never searches, and never reuses a block other than the newest
    /// (the bump allocators).
    Bump,
    /// It walks blocks, or a free list, whose length grows with the heap
    /// (the implicit and explicit free lists).
    Walk,
    /// It looks in the request's size class and jumps to the next
    /// non-empty one through a bitmap: no walk (the segregated lists).
    SizeClass,
}

impl Book {
    /// How it finds a block. The `match` has no catch-all, so a new
    /// allocator does not compile until it says how it searches.
    pub const fn search(self) -> Search {
        match self {
            Book::Bump | Book::GrowingBump => Search::Bump,
            Book::Implicit
            | Book::ImplicitNext
            | Book::ImplicitBest
            | Book::Explicit
            | Book::ExplicitAddr => Search::Walk,
            Book::Segregated => Search::SizeClass,
        }
    }

    /// Whether it is one of the free lists: every allocator that searches.
    pub const fn is_free_list(self) -> bool {
        !matches!(self.search(), Search::Bump)
    }

    /// Every one of the book's allocators, in the order tables list them.
    pub const ALL: [Book; 8] = [
        Book::Bump,
        Book::GrowingBump,
        Book::Implicit,
        Book::ImplicitNext,
        Book::ImplicitBest,
        Book::Explicit,
        Book::ExplicitAddr,
        Book::Segregated,
    ];

    /// The short name command lines and tables use.
    pub const fn name(self) -> &'static str {
        match self {
            Book::Bump => "bump",
            Book::GrowingBump => "growing-bump",
            Book::Implicit => "implicit",
            Book::ImplicitNext => "implicit-next",
            Book::ImplicitBest => "implicit-best",
            Book::Explicit => "explicit",
            Book::ExplicitAddr => "explicit-addr",
            Book::Segregated => "segregated",
        }
    }

    /// What it is, in one line.
    pub const fn about(self) -> &'static str {
        match self {
            Book::Bump => "the book's bump allocator (downward) over the heap",
            Book::GrowingBump => {
                "the book's bump allocator that maps chunks of its own, limited to the heap size"
            }
            Book::Implicit => {
                "the book's implicit free list, first fit, boundary tags, in a break moving through the heap"
            }
            Book::ImplicitNext => "the book's implicit free list, next fit",
            Book::ImplicitBest => "the book's implicit free list, best fit",
            Book::Explicit => "the book's explicit free list, LIFO insertion",
            Book::ExplicitAddr => "the book's explicit free list, address-ordered insertion",
            Book::Segregated => "the book's segregated free lists (size classes with a bitmap)",
        }
    }

    /// Its colour in the book's plots, as `0xRRGGBB` (Paul Tol's
    /// colour-blind-safe palette).
    pub const fn colour(self) -> u32 {
        match self {
            Book::Bump => 0x4477AA,
            Book::GrowingBump => 0xEE6677,
            Book::Implicit => 0x228833,
            Book::ImplicitNext => 0xCCBB44,
            Book::ImplicitBest => 0x66CCEE,
            Book::Explicit => 0xAA3377,
            Book::ExplicitAddr => 0x332288,
            Book::Segregated => 0x44AA99,
        }
    }

    /// The allocator called `name`, if it is one of the book's.
    pub fn from_name(name: &str) -> Option<Book> {
        Book::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The book's allocators that exist only as a global allocator, as
/// `(name, what it is)`: they need a `'static` shared heap and per-thread
/// state, so they are not `RawAllocator`s and [`with_book!`](crate::with_book)
/// cannot build them. The real-program driver (the lab's `dispatch`) and the
/// scaling bench run them as `#[global_allocator]`;
/// `tests/suite/thread_cache.rs` tests them.
pub const GLOBAL_ONLY: [(&str, &str); 1] = [(
    "thread-cached",
    "the book's `ThreadCached`: per-thread caches in front of segregated free lists behind a lock",
)];

/// The allocators of [`Book::ALL`] that the stress test (`tests/suite/stress.rs`)
/// runs: all of them, from [`with_book!`](crate::with_book).
pub const STRESSED: [Book; 8] = Book::ALL;

/// Runs `$body` with `$make` bound to a constructor of the book's allocator
/// `$which`: a closure from `$r` to `Option<allocator>`.
///
/// The allocators over a region are built over `$region`, an expression in
/// `$r` (it may use `?` on an `Option`); `GrowingBump`, which maps chunks of
/// its own, is `$growing`, and never evaluates `$region`. Each arm has its
/// own allocator type, so `$body` is compiled once per type: no dynamic
/// dispatch in a timed loop.
///
/// ```
/// use allocators::catalog::Book;
/// use allocators::growing_bump::GrowingBump;
/// use allocators::raw_allocator::RawAllocator;
/// use allocators::region::OwnedRegion;
///
/// for which in Book::ALL {
///     let heap_size = allocators::with_book!(which, |r| r,
///         growing: GrowingBump::with_limits(4096, 1 << 20),
///         |make| {
///             let region = OwnedRegion::new(1 << 16, 16).expect("64 KiB");
///             let mut a = make(region).expect("built");
///             let layout = std::alloc::Layout::new::<u64>();
///             let ptr = a.allocate(layout).expect("room");
///             // SAFETY: just allocated with this layout.
///             unsafe { a.deallocate(ptr, layout) };
///             a.heap_size()
///         });
///     assert!(heap_size <= 1 << 20, "{}", which.name());
/// }
/// ```
#[macro_export]
macro_rules! with_book {
    // One arm: a free list over the region, built by `$new` with `$policy`.
    (@list |$r:ident| $region:expr, |$make:ident| $body:expr, $new:path, $policy:expr) => {{
        let $make = |$r| Some($new($crate::heap::RegionBreak::new($region), $policy));
        $body
    }};
    ($which:expr, |$r:ident| $region:expr, growing: $growing:expr, |$make:ident| $body:expr) => {
        match $which {
            $crate::catalog::Book::Bump => {
                let $make = |$r| Some($crate::bump::BumpAllocator::new($region));
                $body
            }
            $crate::catalog::Book::GrowingBump => {
                let $make = |$r| {
                    let _ = $r;
                    Some($growing)
                };
                $body
            }
            $crate::catalog::Book::Implicit => $crate::with_book!(@list |$r| $region, |$make| $body,
                $crate::implicit::ImplicitFreeList::new, $crate::implicit::Placement::FirstFit),
            $crate::catalog::Book::ImplicitNext => $crate::with_book!(@list |$r| $region, |$make| $body,
                $crate::implicit::ImplicitFreeList::new, $crate::implicit::Placement::NextFit),
            $crate::catalog::Book::ImplicitBest => $crate::with_book!(@list |$r| $region, |$make| $body,
                $crate::implicit::ImplicitFreeList::new, $crate::implicit::Placement::BestFit),
            $crate::catalog::Book::Explicit => $crate::with_book!(@list |$r| $region, |$make| $body,
                $crate::explicit::ExplicitFreeList::new, $crate::explicit::Insertion::Lifo),
            $crate::catalog::Book::ExplicitAddr => $crate::with_book!(@list |$r| $region, |$make| $body,
                $crate::explicit::ExplicitFreeList::new, $crate::explicit::Insertion::AddressOrdered),
            $crate::catalog::Book::Segregated => {
                let $make = |$r| {
                    Some($crate::segregated::SegregatedFreeList::new(
                        $crate::heap::RegionBreak::new($region),
                    ))
                };
                $body
            }
        }
    };
}

/// Any one of the book's allocators over regions of type `R`, chosen at run
/// time: for a `static` that must hold whichever one a process picks (the
/// lab's real-program driver). Every call is one `match` on the variant
/// away from the allocator.
// The segregated lists' heads make one variant large. Boxing it is no way
// out: a global allocator cannot allocate its own state.
#[allow(clippy::large_enum_variant)]
pub enum AnyBook<R> {
    /// A `BumpAllocator`.
    Bump(BumpAllocator<R>),
    /// A `GrowingBump`.
    GrowingBump(GrowingBump),
    /// An `ImplicitFreeList`, with any placement policy.
    Implicit(ImplicitFreeList<RegionBreak<R>>),
    /// An `ExplicitFreeList`, with any insertion policy.
    Explicit(ExplicitFreeList<RegionBreak<R>>),
    /// A `SegregatedFreeList`.
    Segregated(SegregatedFreeList<RegionBreak<R>>),
}

impl<R: Region> AnyBook<R> {
    /// Builds `which`: over the region `region` returns, or, for
    /// `GrowingBump`, as `growing` returns it (then `region` is not called).
    /// `None` if `region` returns `None`.
    pub fn new(
        which: Book,
        region: impl FnOnce() -> Option<R>,
        growing: impl FnOnce() -> GrowingBump,
    ) -> Option<AnyBook<R>> {
        crate::with_book!(which, |_unit| region()?, growing: growing(), |make| {
            make(()).map(AnyBook::from)
        })
    }
}

/// `From` for each variant of [`AnyBook`].
macro_rules! any_book_from {
    ($($variant:ident($ty:ty)),*) => {
        $(impl<R: Region> From<$ty> for AnyBook<R> {
            fn from(a: $ty) -> AnyBook<R> {
                AnyBook::$variant(a)
            }
        })*
    };
}

any_book_from!(
    Bump(BumpAllocator<R>),
    GrowingBump(GrowingBump),
    Implicit(ImplicitFreeList<RegionBreak<R>>),
    Explicit(ExplicitFreeList<RegionBreak<R>>),
    Segregated(SegregatedFreeList<RegionBreak<R>>)
);

/// Runs `$call` with `$a` bound to the allocator inside an [`AnyBook`].
macro_rules! each {
    ($any:expr, |$a:ident| $call:expr) => {
        match $any {
            AnyBook::Bump($a) => $call,
            AnyBook::GrowingBump($a) => $call,
            AnyBook::Implicit($a) => $call,
            AnyBook::Explicit($a) => $call,
            AnyBook::Segregated($a) => $call,
        }
    };
}

// SAFETY: every call goes to the book allocator inside, which keeps the
// promises.
unsafe impl<R: Region> RawAllocator for AnyBook<R> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        each!(self, |a| a.allocate(layout))
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's guarantee, passed on to the one allocator.
        each!(self, |a| unsafe { a.deallocate(ptr, layout) })
    }

    #[inline]
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the caller's guarantee, passed on to the one allocator.
        each!(self, |a| unsafe { a.reallocate(ptr, layout, new_size) })
    }

    fn for_each_region(&self, visit: &mut dyn FnMut(Range<usize>)) {
        each!(self, |a| a.for_each_region(visit))
    }

    fn owns(&self, block: Range<usize>) -> bool {
        each!(self, |a| a.owns(block))
    }

    fn heap_size(&self) -> usize {
        each!(self, |a| a.heap_size())
    }

    fn footprint(&self) -> usize {
        each!(self, |a| a.footprint())
    }

    fn check(&self) -> Result<(), HeapError> {
        each!(self, |a| a.check())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for (i, b) in Book::ALL.into_iter().enumerate() {
            assert_eq!(b as usize, i, "ALL is in declaration order");
            assert_eq!(Book::from_name(b.name()), Some(b));
        }
    }

    #[test]
    fn every_book_allocator_is_built_and_allocates() {
        use crate::region::OwnedRegion;
        for which in Book::ALL {
            let mut a = AnyBook::new(
                which,
                || OwnedRegion::new(1 << 16, 16).ok(),
                || GrowingBump::with_limits(4096, 1 << 20),
            )
            .expect("built");
            let layout = Layout::new::<u64>();
            let ptr = a.allocate(layout).expect("room");
            assert!(a.owns(ptr.as_ptr().addr()..ptr.as_ptr().addr() + 8));
            // SAFETY: just allocated with this layout.
            unsafe { a.deallocate(ptr, layout) };
            a.check().expect("a sound heap");
        }
    }
}
