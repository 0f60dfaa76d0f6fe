//! The companion crate of *Memory Allocators*.
//!
//! Every module holds one topic of the book:
//!
//! - [`os`]: how a process gets memory from the kernel: the page size, anonymous
//!   `mmap` mappings, and the program break (`sbrk`).
//! - [`align`]: rounding addresses to an alignment, without overflow.
//! - [`raw_allocator`]: the [`RawAllocator`](raw_allocator::RawAllocator) trait that every allocator implements.
//! - [`region`]: the memory an allocator manages: a borrowed buffer, an owned one, or a mapping.
//! - [`bump`]: the bump allocator, one pointer moving down through a region,
//!   and `Reset`, which the bumps implement to free everything at once.
//! - [`growing_bump`]: a bump allocator that maps a new chunk when one is full.
//! - [`arena`]: typed values in a bump allocator, with lifetimes checked by the compiler.
//! - [`global`]: `Locked`, which makes any allocator Rust's `#[global_allocator]`.
//! - [`thread_cache`]: `ThreadCached`, per-thread caches of small blocks in
//!   front of a `Locked` heap, so that threads rarely take its lock.
//! - [`checked`]: `Checked`, which checks every call of any allocator against a shadow model.
//! - [`catalog`]: `Book`, every one of the book's allocators listed once, with its name.
//! - [`counting`]: `Counting`, a global allocator that counts calls, bytes, the peak and sizes.
//! - [`stats`]: `Stats`, the counters that `Counting` and `Locked` keep, and their report.
//! - [`pool`]: the pool allocator: same-size slots on an intrusive free list, O(1) each way.
//! - [`collections`]: `Locked` behind the `Allocator` trait (via
//!   `allocator-api2`), so single collections (`Vec`, `Box`) can live in any
//!   of the book's allocators.
//! - [`free_lists`]: the free-list allocators and what they share. Their
//!   modules are re-exported here, under their short names:
//!   - [`block`]: the block format: headers, footers (boundary tags), the
//!     minimum block.
//!   - [`heap`]: a heap that grows at a break, inside a region (`RegionBreak`)
//!     or (in an example) through `sbrk`, and the walk over its blocks.
//!   - [`free_list`]: a doubly linked list threaded through free blocks.
//!   - [`implicit`]: the implicit free list, with first-, next- and best-fit
//!     placement.
//!   - [`explicit`]: the explicit free list, with LIFO or address-ordered
//!     insertion.
//!   - [`segregated`]: segregated free lists, one per size class, found
//!     through a bitmap, with quick lists; resizes blocks in place.
//!
//! The book's figures are drawn by a crate of their own, `figures`
//! (`code/figures/`). The chapters include this code; `cargo test` at the
//! workspace root runs the unit tests here, the figures' test and every
//! snippet of the book.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod align;
pub mod arena;
pub mod bump;
pub mod catalog;
pub mod checked;
pub mod collections;
pub mod counting;
pub mod free_lists;
pub mod global;
pub mod growing_bump;
pub mod os;
pub mod pool;
pub mod raw_allocator;
pub mod region;
pub mod stats;
pub mod thread_cache;

pub use free_lists::list as free_list;
pub use free_lists::{block, explicit, heap, implicit, segregated};
