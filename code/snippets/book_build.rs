//! Build script of the book's test package (the workspace root).
//!
//! It expands the mdBook includes of every chapter into `OUT_DIR/chapters/`
//! and has skeptic turn each ```` ```rust ```` block of those copies into a
//! test, so `cargo test` compiles and runs the code exactly as a reader sees
//! it, hidden lines included.
//!
//! A block that is nothing but one whole example of `code/examples/`
//! (`{{#rustdoc_include ../code/examples/NAME.rs:ANCHOR}}`) is the same
//! program as the example itself, which cargo already builds: skeptic would
//! only compile it again, once per include. Such blocks become one test per
//! chapter and example that runs cargo's build of the example
//! (`example-tests.rs`, see `chapters.rs`), so an example a chapter shows
//! three times by three anchors is built once and runs once.

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
    let mut example_tests = String::new();
    for (relative, text) in chapters {
        let source = std::fs::read_to_string(src.join(&relative)).expect("a chapter reads");
        let (text, examples) = split_off_examples(&source, &text, &relative);
        for name in examples {
            let stem = relative
                .with_extension("")
                .display()
                .to_string()
                .replace(['/', '-'], "_");
            example_tests.push_str(&format!(
                "#[test]\nfn {stem}_md_example_{name}() {{\n    crate::examples::run({:?}, {name:?});\n}}\n\n",
                relative.display().to_string()
            ));
        }
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
    let out_dir_tests = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let tests_path = out_dir_tests.join("example-tests.rs");
    if std::fs::read_to_string(&tests_path).ok().as_deref() != Some(example_tests.as_str()) {
        std::fs::write(&tests_path, example_tests).expect("write the example tests");
    }

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
        if opens_rust_block(line, &mut in_block) {
            count += 1;
            out.push_str(&format!(
                "# // src/{}, rust block {count}\n",
                relative.display()
            ));
        }
    }
    out
}

/// Follows a chapter's code fences line by line: flips `in_block` at each
/// ```` ``` ```` line, and returns `true` if `line` opens a ```` ```rust ````
/// block.
fn opens_rust_block(line: &str, in_block: &mut bool) -> bool {
    let Some(info) = line.trim_start().strip_prefix("```") else {
        return false;
    };
    *in_block = !*in_block;
    *in_block && is_rust_info(info)
}

/// Whether a fence's info string (what follows ```` ``` ````) names Rust.
fn is_rust_info(info: &str) -> bool {
    info.trim().split(',').next() == Some("rust")
}

/// Finds the ```` ```rust ```` blocks of a chapter whose whole body is one
/// `{{#rustdoc_include ../code/examples/NAME.rs...}}`, turns them into
/// ```` ```text ```` blocks in the expanded copy (so skeptic leaves them
/// alone), and returns the copy and the examples' names, each once.
///
/// `source` is the chapter as written and `expanded` the same chapter with
/// its includes expanded; their ```` ```rust ```` blocks are the same blocks
/// in the same order, which is checked.
fn split_off_examples(source: &str, expanded: &str, relative: &Path) -> (String, Vec<String>) {
    let mut wholes = Vec::new(); // per rust block: Some(example) if it is one whole example
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let is_rust = is_rust_info(info);
        let mut body = Vec::new();
        for inner in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            body.push(inner.trim());
        }
        if is_rust {
            let example = match body.as_slice() {
                [one] => one
                    .strip_prefix("{{#rustdoc_include ../code/examples/")
                    .and_then(|rest| rest.split(['.', ':']).next())
                    .map(str::to_string),
                _ => None,
            };
            wholes.push(example);
        }
    }
    let mut out = String::with_capacity(expanded.len());
    let mut names: Vec<String> = Vec::new();
    let mut index = 0;
    let mut in_block = false;
    for line in expanded.split_inclusive('\n') {
        if opens_rust_block(line, &mut in_block) {
            let whole = wholes.get(index).unwrap_or_else(|| {
                panic!(
                    "{}: more rust blocks after expansion than before",
                    relative.display()
                )
            });
            index += 1;
            if let Some(name) = whole {
                if !names.contains(name) {
                    names.push(name.clone());
                }
                let indent = line.len() - line.trim_start().len();
                out.push_str(&line[..indent]);
                out.push_str("```text\n");
                continue;
            }
        }
        out.push_str(line);
    }
    assert_eq!(
        index,
        wholes.len(),
        "{}: the rust blocks before and after expansion differ",
        relative.display()
    );
    (out, names)
}
