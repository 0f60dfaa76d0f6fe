//! Build script of the book's test package (the workspace root).
//!
//! It expands the mdBook includes of every chapter into `OUT_DIR/chapters/`
//! and has skeptic turn each ```` ```rust ```` block of those copies into a
//! test, so `cargo test` compiles and runs the code exactly as a reader sees
//! it, hidden lines included.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let src = root.join("src");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("chapters");

    // Chapters, and everything they include, live under these folders.
    for watched in ["src", "code/src", "code/examples", "imgs"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let chapters = snippets::expand_book(&src).unwrap_or_else(|e| {
        panic!("expanding the chapters' includes failed: {e}");
    });
    let mut paths = Vec::new();
    for (relative, text) in chapters {
        let path = out.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("create OUT_DIR");
        // Only rewrite a copy whose text changed, so its timestamp stays put.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("write an expanded chapter");
        }
        paths.push(path);
    }
    skeptic::generate_doc_tests(&paths);
}
