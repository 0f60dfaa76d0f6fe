//! The `workload` binary's `--threads`: a child process on the book's
//! `ThreadCached`, whose blocks are freed on other threads than the ones
//! that allocated them, prints the same digest at every thread count, and
//! its heap checker passes.

use std::process::Command;

fn child(allocator: &str, program: &str, threads: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_workload"))
        .env("LAB_ALLOCATOR", allocator)
        .args([
            "--program",
            program,
            "--size-mb",
            "0.2",
            "--threads",
            threads,
        ])
        .output()
        .expect("the workload binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{allocator} {program} --threads {threads}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn digest(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .expect("a digest line")
}

#[test]
fn threaded_runs_print_the_single_threaded_digest() {
    for program in ["json", "index"] {
        let single = child("system", program, "1");
        for threads in ["2", "3"] {
            let cached = child("thread-cached", program, threads);
            assert_eq!(digest(&cached), digest(&single), "{program} {threads}");
            assert!(cached.contains("heap check: ok"), "{cached}");
        }
    }
}

#[test]
fn threads_must_be_positive() {
    let out = Command::new(env!("CARGO_BIN_EXE_workload"))
        .args(["--threads", "0", "--no-write"])
        .output()
        .expect("the workload binary runs");
    assert_eq!(out.status.code(), Some(2));
}
