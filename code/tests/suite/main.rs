//! The allocators' integration tests, in one binary so that the property
//! harness and proptest are compiled and linked once, not once per file.
//!
//! Each module tests one allocator or one concern; a test's full name says
//! which (`bump::...`, `segregated::...`). Run one module with, e.g.,
//! `cargo test -p allocators --test suite segregated::`.
//!
//! Three tests stay binaries of their own, because they need the whole
//! process: `counting.rs` and `global_abort.rs` install their own
//! `#[global_allocator]`, and `sbrk.rs` moves the program break, which no
//! other thread of the process may touch meanwhile.

mod harness;

mod free_lists;

mod bad_inputs;
mod bump;
mod explicit;
mod implicit;
mod pool;
mod segregated;
mod stress;
mod thread_cache;
