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
        let text = label_rust_blocks(&text, &relative);
        let path = out.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("create OUT_DIR");
        // Only rewrite a copy whose text changed, so its timestamp stays put.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("write an expanded chapter");
        }
        paths.push(path);
    }
    skeptic::generate_doc_tests(&paths);

    // Route the generated tests through `chapters.rs`'s `retry` module (see
    // there why), by rewriting skeptic's output into a file of our own.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let generated =
        std::fs::read_to_string(out_dir.join("skeptic-tests.rs")).expect("skeptic wrote its tests");
    let routed = generated
        .replace("extern crate skeptic;\n", "")
        .replace("skeptic::rt::", "crate::retry::");
    if std::fs::read_to_string(out_dir.join("chapter-tests.rs")).ok() != Some(routed.clone()) {
        std::fs::write(out_dir.join("chapter-tests.rs"), routed).expect("write the chapter tests");
    }
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

/// Gives every ```` ```rust ```` block of a chapter a hidden first line naming
/// the chapter and the block, `# // src/FILE.md, rust block N`.
///
/// skeptic caches compiled snippets by their text, and two blocks that
/// include the same example with different anchors have the same text once
/// the hidden `# ` lines are unhidden. Two tests that compile the same text
/// at the same moment race for one cache entry, and one of them can fail.
/// The label makes every block's text its own. It is added only to the
/// copies skeptic reads: the book, and the comparison with mdBook in CI, see
/// the chapters as written.
fn label_rust_blocks(text: &str, relative: &Path) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut in_block = false;
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        out.push_str(line);
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_block {
                in_block = false;
            } else {
                in_block = true;
                let info = info.trim();
                if info.split(',').next() == Some("rust") {
                    count += 1;
                    out.push_str(&format!(
                        "# // src/{}, rust block {count}\n",
                        relative.display()
                    ));
                }
            }
        }
    }
    out
}
