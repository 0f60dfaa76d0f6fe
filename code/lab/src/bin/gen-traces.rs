//! `gen-traces [DIR]`: writes the project's generated traces (default
//! directory: `code/lab/traces`, next to this crate). The generator is
//! seeded, so the files come out the same every time.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: gen-traces [DIR]
  writes the project's generated traces into DIR (default: code/lab/traces)
  -h, --help  this text
";

/// The directory to write into, or `None` after `--help`.
fn parse_args() -> Result<PathBuf, lab::cli::Stop> {
    use lexopt::prelude::*;
    let mut dir = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Value(path) if dir.is_none() => dir = Some(PathBuf::from(path)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces")))
}

fn main() -> ExitCode {
    let dir = match parse_args() {
        Ok(dir) => dir,
        Err(stop) => return lab::cli::stopped("gen-traces", stop),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("gen-traces: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, text) in lab::generate::all() {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("gen-traces: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{} ({} bytes)", path.display(), text.len());
    }
    ExitCode::SUCCESS
}
