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
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

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

/// Runs the examples that chapters show whole (see `book_build.rs`): the
/// program a reader sees is the example's file, which cargo builds once.
mod examples {
    use std::path::PathBuf;
    use std::process::Command;

    /// Where cargo put the example `name`: `target/<profile>/examples/`,
    /// beside the `deps/` folder that holds this test.
    fn binary(name: &str) -> PathBuf {
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests live in target/<profile>/deps");
        profile.join("examples").join(name)
    }

    pub fn run(chapter: &str, name: &str) {
        let path = binary(name);
        if !path.exists() {
            // `cargo test --test chapters` alone does not build the examples.
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "allocators", "--example", name])
                .status()
                .expect("run cargo");
            assert!(
                status.success(),
                "{chapter}: building the example {name} failed"
            );
        }
        // QUICK: the few programs that measure or loop long take a short
        // run here; CI runs them in full and compares their output.
        let output = Command::new(&path)
            .env("QUICK", "1")
            .output()
            .unwrap_or_else(|e| panic!("{chapter}: running {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "{chapter} shows the example {name}, and it failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

include!(concat!(env!("OUT_DIR"), "/chapter-tests.rs"));
include!(concat!(env!("OUT_DIR"), "/example-tests.rs"));
