//! The companion crate of *Memory Allocators*.
//!
//! Every module holds one topic of the book:
//!
//! - [`os`]: how a process gets memory from the kernel: the page size, anonymous
//!   `mmap` mappings, and the program break (`sbrk`).
//! - [`align`]: rounding addresses to an alignment, without overflow.
//! - [`raw_allocator`]: the [`RawAllocator`](raw_allocator::RawAllocator) trait that every allocator implements.
//! - [`region`]: the memory an allocator manages: a borrowed buffer, an owned one, or a mapping.
//! - [`bump`]: the bump allocator, one pointer moving down through a region.
//! - [`growing_bump`]: a bump allocator that maps a new chunk when one is full.
//! - [`arena`]: typed values in a bump allocator, with lifetimes checked by the compiler.
//! - [`global`]: `Locked`, which makes any allocator Rust's `#[global_allocator]`.
//! - [`diagram`]: SVG memory diagrams drawn from real allocator states, for the
//!   book's figures.
//!
//! The chapters include this code; `cargo test` at the workspace root runs the
//! unit tests here and every snippet of the book.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod align;
pub mod arena;
pub mod bump;
pub mod diagram;
pub mod global;
pub mod growing_bump;
pub mod os;
pub mod raw_allocator;
pub mod region;
