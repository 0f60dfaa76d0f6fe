//! The companion crate of *Memory Allocators*.
//!
//! Every module holds one topic of the book:
//!
//! - [`os`]: how a process gets memory from the kernel: the page size, anonymous
//!   `mmap` mappings, and the program break (`sbrk`).
//! - [`diagram`]: SVG memory diagrams drawn from real allocator states, for the
//!   book's figures.
//!
//! The chapters include this code; `cargo test` at the workspace root runs the
//! unit tests here and every snippet of the book.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod diagram;
pub mod os;
