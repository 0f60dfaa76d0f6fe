//! Numbers in the chapters' prose come from generated files, and every
//! generated file says where it comes from.
//!
//! A measured quantity in a sentence (a ratio like `2.1×`, a percentage, a
//! time in ns/µs/ms, a throughput in Kops/s or steps/s) must appear in one of
//! the files that the same chapter includes: a table, a program's output, a
//! CSV. So when a measurement is regenerated and a number changes, the prose
//! that quoted the old number fails here instead of going stale. Numbers that
//! are definitions rather than measurements (100% utilization, say) are
//! listed in `DEFINITIONS` with the reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (chapter, number with its unit, why it is not a measurement).
const DEFINITIONS: &[(&str, &str, &str)] = &[
    (
        "measuring.md",
        "100%",
        "the definition: all of the footprint is live payload",
    ),
    (
        "measuring.md",
        "1.8×",
        "an illustration of a ratio, not a result",
    ),
    (
        "measuring.md",
        "15 ns",
        "an illustration of an absolute time, not a result",
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The chapter's prose: without code blocks, include lines and HTML comments.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || line.contains("{{#") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    // HTML comments can span lines.
    while let Some(start) = out.find("<!--") {
        let end = out[start..]
            .find("-->")
            .map_or(out.len(), |e| start + e + 3);
        out.replace_range(start..end, "");
    }
    out
}

/// The text of every file the chapter includes, whole (anchors ignored).
fn included(chapter: &Path, text: &str) -> String {
    let mut all = String::new();
    let dir = chapter.parent().expect("chapters live in src/");
    for piece in text.split("{{#").skip(1) {
        let Some(end) = piece.find("}}") else {
            continue;
        };
        let mut words = piece[..end].split_whitespace();
        let (Some(kind), Some(target)) = (words.next(), words.next()) else {
            continue;
        };
        if !kind.ends_with("include") {
            continue;
        }
        let file = target.split(':').next().unwrap_or(target);
        if let Ok(body) = std::fs::read_to_string(dir.join(file)) {
            all.push_str(&body);
            all.push('\n');
        }
    }
    all
}

/// Each measured-looking number in `text`: the number, and the number with its unit.
fn measured(text: &str) -> Vec<(String, String)> {
    const UNITS: &[&str] = &[
        "×",
        "%",
        " ns",
        " µs",
        " ms",
        " Kops/s",
        " M steps/s",
        " steps/s",
    ];
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if !starts_number {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.' || bytes[j] == b',')
        {
            j += 1;
        }
        let number = text[i..j].trim_end_matches(['.', ',']);
        let rest = &text[i + number.len()..];
        if let Some(unit) = UNITS.iter().find(|u| rest.starts_with(**u)) {
            found.push((number.to_string(), format!("{number}{unit}")));
        }
        i = j;
    }
    found
}

/// Whether `number` occurs in `haystack` as a whole number (not inside a longer one).
fn contains_number(haystack: &str, number: &str) -> bool {
    haystack.match_indices(number).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + number.len()..].chars().next();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        // "2.7" must not match inside "12.7", "2.75" or "2.7.1".
        let longer = digit(after)
            || (after == Some('.') && digit(haystack[at + number.len() + 1..].chars().next()));
        !digit(before) && !longer
    })
}

#[test]
fn measured_numbers_in_prose_come_from_included_files() {
    let src = root().join("src");
    let mut problems = BTreeSet::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).expect("src/ exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("a chapter reads");
        let sources = included(&path, &text);
        for (number, token) in measured(&prose(&text)) {
            checked += 1;
            let defined = DEFINITIONS
                .iter()
                .any(|(c, t, _)| *c == name && *t == token);
            if !defined && !contains_number(&sources, &number) {
                problems.insert(format!(
                    "src/{name}: \"{token}\" is in the prose but in none of the files the chapter includes"
                ));
            }
        }
    }
    assert!(
        checked > 0,
        "the check found no numbers at all: is the pattern broken?"
    );
    assert!(
        problems.is_empty(),
        "numbers in prose must come from a generated file the chapter includes \
         (or be listed in DEFINITIONS with a reason):\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_check_catches_a_hand_copied_number() {
    let text = "Ours is **2.7×** faster and uses 93% of its heap.\n\n```text\n9.9× in code\n```\n";
    let found = measured(&prose(text));
    let tokens: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(tokens, ["2.7×", "93%"]);
    assert!(contains_number("| segregated | 2.7 |", "2.7"));
    assert!(!contains_number("| segregated | 12.7 |", "2.7"));
    assert!(!contains_number("| segregated | 2.75 |", "2.7"));
}

/// `imgs/README.md` says, for every file in `imgs/`, which command makes it
/// and what checks that it is current, so a contributor knows what may be
/// edited by hand. A file it does not list, or a listed file that is gone,
/// fails here.
#[test]
fn every_file_in_imgs_is_listed_in_its_readme() {
    let imgs = root().join("imgs");
    let readme = std::fs::read_to_string(imgs.join("README.md")).expect("imgs/README.md exists");
    let listed: BTreeSet<String> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(&imgs)
        .expect("imgs/ exists")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != "README.md")
        // A reader's own trace, written by the lab's `stepper` command.
        .filter(|name| name != "stepper-mine.json")
        .collect();
    let unlisted: Vec<_> = present.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&present).collect();
    assert!(
        unlisted.is_empty(),
        "files in imgs/ that imgs/README.md does not list: {unlisted:?}"
    );
    assert!(
        missing.is_empty(),
        "imgs/README.md lists files that are not there: {missing:?}"
    );
}

/// The chapters in reading order, from `SUMMARY.md`.
fn chapters_in_order() -> Vec<String> {
    let summary =
        std::fs::read_to_string(root().join("src/SUMMARY.md")).expect("src/SUMMARY.md exists");
    summary
        .lines()
        .filter_map(|line| {
            let start = line.find("](")? + 2;
            let end = start + line[start..].find(')')?;
            Some(line[start..end].to_string())
        })
        .collect()
}

/// Words of prose in a chapter: text outside code blocks, tables, include
/// lines and HTML tags (folded asides count: they are prose too).
fn prose_words(text: &str) -> usize {
    let mut words = 0;
    for line in prose(text).lines() {
        let line = line.trim_start();
        if line.starts_with('|') {
            continue; // a table row
        }
        let mut in_tag = false;
        let mut plain = String::with_capacity(line.len());
        for c in line.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => plain.push(c),
                _ => {}
            }
        }
        words += plain
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count();
    }
    words
}

/// A chapter a reader can finish: at most 3,000 words of prose each.
#[test]
fn no_chapter_has_more_than_3000_words_of_prose() {
    let mut report = Vec::new();
    let mut too_long = Vec::new();
    for chapter in chapters_in_order() {
        let text = std::fs::read_to_string(root().join("src").join(&chapter))
            .unwrap_or_else(|e| panic!("src/{chapter}: {e}"));
        let words = prose_words(&text);
        // A stricter count, as a quick word counter makes it: every token
        // outside code blocks and include lines, markup and table cells too.
        let tokens = prose(&text).split_whitespace().count();
        report.push(format!("{chapter}: {words} ({tokens} tokens)"));
        if words > 3000 || tokens > 3000 {
            too_long.push(format!(
                "src/{chapter}: {words} words of prose, {tokens} tokens with markup (at most 3,000 each)"
            ));
        }
    }
    println!("{}", report.join("\n"));
    assert!(too_long.is_empty(), "{}", too_long.join("\n"));
}

/// Results come after the method: no chapter before "Measuring allocators"
/// includes a measured table or plot (the files `imgs/README.md` says the
/// lab's benches and reports make).
#[test]
fn no_measured_table_before_the_measuring_chapter() {
    let readme = std::fs::read_to_string(root().join("imgs/README.md")).expect("imgs/README.md");
    let measured: Vec<String> = readme
        .lines()
        .filter(|line| line.contains("-p lab"))
        // Machine code printed by a bench is a listing, not a result.
        .filter(|line| !line.starts_with("| `bench-bump-fast-path.s`"))
        .filter_map(|line| {
            line.strip_prefix("| `")?
                .split('`')
                .next()
                .map(str::to_string)
        })
        .collect();
    assert!(
        !measured.is_empty(),
        "imgs/README.md names no lab measurement"
    );
    let order = chapters_in_order();
    let measuring = order
        .iter()
        .position(|c| c == "measuring.md")
        .expect("SUMMARY.md lists measuring.md");
    let mut early = Vec::new();
    for chapter in &order[..measuring] {
        let text = std::fs::read_to_string(root().join("src").join(chapter)).unwrap_or_default();
        for file in &measured {
            if text.contains(&format!("imgs/{file}")) {
                early.push(format!("src/{chapter} shows imgs/{file}"));
            }
        }
    }
    assert!(
        early.is_empty(),
        "measured results before the chapter that explains measuring:\n{}",
        early.join("\n")
    );
}

#[test]
fn prose_words_skip_code_tables_and_tags() {
    let text = "One two <b>three</b>.\n\n| a | b |\n|---|---|\n\n```rust\nlet x = 1;\n```\n{{#include x.md}}\n";
    assert_eq!(prose_words(text), 3);
}
