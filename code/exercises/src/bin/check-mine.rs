//! `cargo check-mine`: is `Mine` correct?
//!
//! Runs the book's property harness against `Mine`
//! (`cargo test -p exercises --test mine`), then, if a nightly toolchain
//! with Miri is installed, the same tests under Miri, which also catches
//! undefined behaviour (out-of-bounds reads, use after free, misaligned or
//! provenance-less pointers). Arguments after `--` go to both `cargo test`
//! runs, e.g. `cargo check-mine -- --features solutions`.

use std::process::{Command, ExitCode};

fn run(cargo: &str, toolchain: Option<&str>, extra: &[String]) -> bool {
    let mut command = Command::new(cargo);
    if let Some(toolchain) = toolchain {
        command.arg(toolchain).arg("miri");
    }
    command
        .args(["test", "-p", "exercises", "--test", "mine"])
        .args(extra);
    println!("$ {command:?}");
    match command.status() {
        Ok(status) => status.success(),
        Err(error) => {
            eprintln!("check-mine: could not run {cargo}: {error}");
            false
        }
    }
}

fn main() -> ExitCode {
    let extra: Vec<String> = std::env::args().skip(1).collect();
    // `cargo run` tells the program which cargo started it.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if !run(&cargo, None, &extra) {
        eprintln!("check-mine: Mine fails the harness (the smallest failing program is above)");
        return ExitCode::FAILURE;
    }
    // rustup's `cargo` proxy understands `+nightly`; the CARGO path of a
    // toolchain does not, so ask the proxy.
    let miri = Command::new("cargo")
        .args(["+nightly", "miri", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !miri {
        println!(
            "check-mine: the harness passes. Miri is not installed, so undefined behaviour was \
             not checked (rustup component add miri --toolchain nightly)."
        );
        return ExitCode::SUCCESS;
    }
    if !run("cargo", Some("+nightly"), &extra) {
        eprintln!("check-mine: Mine fails under Miri (its report is above)");
        return ExitCode::FAILURE;
    }
    println!("check-mine: the harness passes, natively and under Miri.");
    ExitCode::SUCCESS
}
