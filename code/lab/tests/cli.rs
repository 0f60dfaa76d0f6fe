//! The `replay` binary, run as a user runs it: bad input gives a message
//! with file and line and a non-zero exit (never a panic), running out of
//! memory is reported and the run goes on, and the CSV has the agreed
//! header.

use std::path::PathBuf;
use std::process::{Command, Output};

fn replay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replay"))
        .args(args)
        .output()
        .expect("the replay binary runs")
}

/// Writes `text` to a fresh file named `name` and returns its path.
fn trace_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A bad trace: exit status 2, the message names file and line, no panic.
fn rejects(name: &str, text: &str, line: u32, what: &str) {
    let path = trace_file(name, text);
    let out = replay(&[
        "--reps",
        "1",
        "--allocators",
        "bump",
        path.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    let at = format!("{}:{line}: ", path.display());
    assert!(
        err.contains(&at) && err.contains(what),
        "{name}: expected `{at}...{what}` in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_operation() {
    rejects(
        "unknown.rep",
        "0\n2\n2\n1\na 0 8\nx 0\n",
        6,
        "unknown operation `x`",
    );
}

#[test]
fn id_out_of_range() {
    rejects(
        "range.rep",
        "0\n2\n1\n1\na 7 8\n",
        5,
        "block id 7 is out of range",
    );
}

#[test]
fn free_of_a_block_that_is_not_live() {
    rejects(
        "notlive.rep",
        "0\n2\n3\n1\na 0 8\nf 0\nf 0\n",
        7,
        "free of block 0, which is not live",
    );
}

#[test]
fn more_operations_than_the_header_says() {
    rejects(
        "many.rep",
        "0\n2\n1\n1\na 0 8\nf 0\n",
        6,
        "more operations than the 1 the header declares",
    );
}

#[test]
fn fewer_operations_than_the_header_says() {
    rejects(
        "few.rep",
        "0\n2\n3\n1\na 0 8\nf 0\n",
        6,
        "the header declares 3 operations, the file has 2",
    );
}

#[test]
fn truncated_in_the_header_and_mid_line() {
    rejects("header.rep", "0\n2\n", 2, "truncated header");
    rejects(
        "midline.rep",
        "0\n2\n2\n1\na 0 8\nr 0",
        6,
        "`r` is missing its size",
    );
}

#[test]
fn unreadable_file() {
    let out = replay(&["/nonexistent/nothing.rep"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("/nonexistent/nothing.rep: cannot read the trace"),
        "{err}"
    );
}

#[test]
fn bad_usage() {
    assert_eq!(replay(&[]).status.code(), Some(2));
    let out = replay(&["--allocators", "nope", "x.rep"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown allocator `nope`"));
    let help = replay(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("mallinfo2") && text.contains("GLIBC_TUNABLES"),
        "{text}"
    );
}

#[test]
fn out_of_memory_is_reported_and_the_run_goes_on() {
    // 40 blocks of 4000 bytes never freed: a bump allocator in a 64 KiB heap
    // runs out at the 17th allocation, line 4 + 17.
    let mut text = String::from("0\n40\n80\n1\n");
    for i in 0..40 {
        text.push_str(&format!("a {i} 4000\n"));
    }
    for i in 0..40 {
        text.push_str(&format!("f {i}\n"));
    }
    let path = trace_file("oom.rep", &text);
    let p = path.to_str().unwrap();
    let out = replay(&[
        "--heap",
        "64K",
        "--reps",
        "1",
        "--allocators",
        "bump,talc",
        p,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("OOM at line 21"), "{table}");
    let talc = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("talc"))
        .unwrap();
    assert!(talc.contains("OOM at line"), "talc also runs out: {table}");

    let out = replay(&[
        "--csv",
        "--heap",
        "64K",
        "--reps",
        "1",
        "--allocators",
        "bump",
        p,
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "trace,allocator,ops,seconds,kops,util\noom.rep,bump,80,,,\n"
    );
}

#[test]
fn check_passes_on_the_project_traces_and_prints_the_conditions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
    let smoke = dir.join("gen-smoke2.rep");
    let random = dir.join("gen-random.rep");
    let out = Command::new(env!("CARGO_BIN_EXE_replay"))
        .args([
            "--check",
            "--reps",
            "1",
            smoke.to_str().unwrap(),
            random.to_str().unwrap(),
        ])
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}\n{}", stderr(&out));
    assert!(
        table.contains("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576"),
        "{table}"
    );
    for name in ["bump", "system", "linked_list_allocator", "talc", "bumpalo"] {
        let row = table
            .lines()
            .find(|l| l.starts_with("gen-random.rep") && l.split_whitespace().nth(1) == Some(name));
        let row = row.unwrap_or_else(|| panic!("no row for {name}: {table}"));
        assert!(row.contains('%'), "{name} has a utilization: {row}");
    }
}
