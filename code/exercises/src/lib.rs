//! Exercises for *Memory Allocators*, one module per chapter.
//!
//! Each exercise that asks for code is a function or a type here, with a
//! stub that compiles and a test in `tests/` that checks it. Until you solve
//! it, its test fails with a message that names the chapter and the
//! exercise. The reference solutions sit behind the `solutions` feature:
//!
//! ```text
//! cargo test -p exercises                        # your answers
//! cargo test -p exercises --features solutions   # the book's answers
//! ```
//!
//! Solve an exercise by replacing the body of its stub (the item marked
//! `#[cfg(not(feature = "solutions"))]`); the solution next to it is what
//! the chapter shows, folded.

pub mod arena;
pub mod bump;
pub mod explicit;
pub mod implicit;
pub mod mine;
pub mod pool;
pub mod refinements;
pub mod rust;
pub mod segregated;
pub mod threads;
pub mod why_own;

/// What every stub returns: a panic that tells the reader where the
/// exercise is.
#[track_caller]
pub fn unsolved(chapter: &str, exercise: u32) -> ! {
    panic!(
        "not solved yet: exercise {exercise} of the chapter \"{chapter}\" \
         (write your answer in code/exercises/src, in place of the stub that called `unsolved`)"
    )
}
