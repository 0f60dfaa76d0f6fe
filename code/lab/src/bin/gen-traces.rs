//! `gen-traces [DIR]`: writes the project's generated traces (default
//! directory: `code/lab/traces`, next to this crate). The generator is
//! seeded, so the files come out the same every time.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces"),
        PathBuf::from,
    );
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
