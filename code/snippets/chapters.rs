//! Every ```` ```rust ```` block of every chapter, as a test (see
//! `code/snippets/book_build.rs`). Test names are the chapter's file name, the
//! section and the line of the block in the expanded chapter.

/// What the generated tests call instead of `skeptic::rt` (the build script
/// routes them here), to retry one known race.
///
/// skeptic compiles snippets on worker threads and keeps the executables in
/// a cache. When one thread writes a cached executable while another starts
/// a process, the child inherits the open file for a moment, and running
/// that executable then fails with `ETXTBSY` ("Text file busy", os error 26):
/// a race of `fork` and `exec` in any multi-threaded program, not a problem
/// of the snippet. Such a run is tried again; every other failure, a snippet
/// that does not compile or panics included, fails the test at once.
mod retry {
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

    const TRIES: usize = 5;

    fn busy(payload: &(dyn std::any::Any + Send)) -> bool {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        message.contains("Text file busy") || message.contains("os error 26")
    }

    fn retry(run: impl Fn()) {
        for attempt in 1..=TRIES {
            match catch_unwind(AssertUnwindSafe(&run)) {
                Ok(()) => return,
                Err(payload) if attempt < TRIES && busy(payload.as_ref()) => {
                    std::thread::sleep(std::time::Duration::from_millis(50 * attempt as u64));
                }
                Err(payload) => resume_unwind(payload),
            }
        }
    }

    pub fn run_test(root: &str, out: &str, target: &str, text: &str) {
        retry(|| ::skeptic::rt::run_test(root, out, target, text));
    }

    /// For ```` ```rust,no_run ```` blocks (the book has none today).
    #[allow(dead_code)]
    pub fn compile_test(root: &str, out: &str, target: &str, text: &str) {
        retry(|| ::skeptic::rt::compile_test(root, out, target, text));
    }
}

include!(concat!(env!("OUT_DIR"), "/chapter-tests.rs"));
