//! `expand-includes SRC OUT`: writes every chapter under SRC, with its mdBook
//! includes expanded, to the same relative path under OUT. `.ci/run` compares
//! the result with mdBook's own `[output.markdown]` renderer.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [src, out] = args.as_slice() else {
        eprintln!("usage: expand-includes SRC_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    match run(src, out) {
        Ok(count) => {
            println!("expanded {count} chapters into {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("expand-includes: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(src: &std::path::Path, out: &std::path::Path) -> Result<usize, Box<dyn std::error::Error>> {
    let chapters = snippets::expand_book(src)?;
    for (relative, text) in &chapters {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    Ok(chapters.len())
}
