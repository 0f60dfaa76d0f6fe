//! The measurement lab of *Memory Allocators*: everything that turns the
//! book's allocators into numbers.
//!
//! - [`trace`]: the CS:APP malloc-lab trace format, parsed strictly.
//! - [`region`]: `TraceHeap`, the heap every region allocator replays a
//!   trace in.
//! - [`peers`]: glibc malloc, `linked_list_allocator`, `talc` and `bumpalo`
//!   behind the book's `RawAllocator` trait.
//! - [`registry`]: every allocator by its short name: the book's from
//!   `allocators::catalog::Book`, then the peers, each with its colour.
//! - [`replay`]: the engine: warm-up and checking pass, timed repetitions.
//! - [`system_footprint`]: glibc's footprint, measured in a child process.
//! - [`machine`]: the conditions: CPU, glibc, build profile, tunables.
//! - [`report`]: running traces against allocators; text, CSV and Markdown.
//! - [`plots`]: the SVG figures.
//! - [`generate`]: the seeded generator of the project's traces.
//! - [`recorder`]: a global allocator that records a program's allocations
//!   as a trace.
//! - [`reserve`]: heaps for whole programs: a lazily touched `MAP_NORESERVE`
//!   mapping (`Mapping::reserve`), and an allocator built on its first call.
//! - [`cli`]: what the command lines share (lexopt, exit status 2).
//! - [`dispatch`]: the real-program driver's global allocator, which runs
//!   every block of a process through the one allocator `LAB_ALLOCATOR` names.
//! - [`workload`]: real workloads (`serde_json`, `pulldown-cmark`) to run
//!   under each allocator.
//! - [`process`]: the `workload` binary's child (one program on one
//!   allocator) and driver (every allocator, one process each).
//! - [`workload_report`]: the driver's Markdown tables, from one writer
//!   given its columns.
//!
//! The binaries: `replay` (the command-line tool), `gen-traces`,
//! `record-trace`, `lab-report`, `workload` (a real program under every
//! allocator, one process each), `scaling` (threads against the lock),
//! `cost-curve` (time per operation against the number of live blocks) and
//! `score` (the capstone's score for `Mine`, `cargo score-mine`) and `stepper` (a reader's
//! own trace, recorded for the heap stepper).
//! See `code/lab/README.md`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod cli;
pub mod dispatch;
pub mod generate;
pub mod machine;
pub mod peers;
pub mod plots;
pub mod process;
pub mod recorder;
pub mod region;
pub mod registry;
pub mod replay;
pub mod report;
pub mod reserve;
pub mod system_footprint;
pub mod trace;
pub mod workload;
pub mod workload_report;
