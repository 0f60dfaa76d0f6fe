//! The book's allocators, listed once.
//!
//! Every tool that measures or tests "all of the book's allocators" (the
//! replay tool, the real-program driver, the scaling and cost-curve runs,
//! the stress and bad-input tests) takes its list from [`Book::ALL`], so that
//! adding an allocator starts here: a variant, its name, a line about it and
//! a colour for the plots.

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

impl Book {
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
}
