//! Build script of the book's test package (the workspace root).
//!
//! It expands the mdBook includes of every chapter into `OUT_DIR/chapters/`
//! and has skeptic turn each ```` ```rust ```` block of those copies into a
//! test, so `cargo test` compiles and runs the code exactly as a reader sees
//! it, hidden lines included.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // BOOK_SRC points the tests at another copy of the chapters; CI uses it
    // to prove that a broken snippet fails.
    println!("cargo:rerun-if-env-changed=BOOK_SRC");
    let src = std::env::var_os("BOOK_SRC").map_or_else(|| root.join("src"), PathBuf::from);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("chapters");

    // Chapters, and everything they include, live under these folders.
    println!("cargo:rerun-if-changed={}", src.display());
    for watched in ["code/src", "code/examples"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let chapters = snippets::expand_book(&src).unwrap_or_else(|e| {
        panic!("expanding the chapters' includes failed: {e}");
    });
    // Start from an empty folder, so a chapter that was deleted or renamed
    // leaves no stale copy behind.
    let wanted: std::collections::HashSet<PathBuf> = chapters
        .iter()
        .map(|(relative, _)| out.join(relative))
        .collect();
    remove_stale(&out, &wanted);
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

/// Deletes the expanded copies of chapters that no longer exist.
fn remove_stale(dir: &Path, wanted: &std::collections::HashSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_stale(&path, wanted);
        } else if !wanted.contains(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}
