//! Expands mdBook's include directives the way mdBook 0.5.4 does.
//!
//! skeptic tests the ```` ```rust ```` blocks of Markdown files, but it reads the
//! raw Markdown: it knows nothing of `{{#include}}` or `{{#rustdoc_include}}`.
//! The book's build script therefore expands every chapter first, with this
//! crate, and hands skeptic the expanded copies.
//!
//! The rules follow mdBook's `links` preprocessor
//! (`mdbook-driver/src/builtin_preprocessors/links.rs`, version 0.5.4):
//!
//! - `{{#include FILE}}`, `{{#include FILE:N}}`, `{{#include FILE:N:M}}`,
//!   `{{#include FILE:N:}}`, `{{#include FILE::M}}`: the whole file or a 1-based,
//!   inclusive range of its lines, joined with `\n` and without a final newline.
//! - `{{#include FILE:NAME}}`: the lines between `ANCHOR: NAME` and
//!   `ANCHOR_END: NAME`, minus any line that holds another anchor.
//! - `{{#rustdoc_include ...}}`: the whole file, with every line outside the
//!   range or anchor hidden behind `# ` (anchor lines themselves are dropped), so
//!   rustdoc, the playground and skeptic compile the whole program while the
//!   reader sees only the chosen part.
//! - `\{{#...}}` is an escape: the backslash goes, the rest stays.
//! - `{{#title ...}}` is removed. Included text is expanded again, relative to
//!   the included file, up to mdBook's depth of 10.
//!
//! `.ci/run` proves the match: it renders the book with mdBook's own
//! `[output.markdown]` renderer and compares every chapter with
//! [`expand_book`]'s output, byte for byte.
//!
//! ```
//! let dir = std::env::temp_dir().join("snippets-doc-example");
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("a.rs"), "fn main() {\n    // ANCHOR: body\n    let x = 1;\n    // ANCHOR_END: body\n}\n").unwrap();
//! let out = snippets::expand("{{#rustdoc_include a.rs:body}}", &dir).unwrap();
//! assert_eq!(out, "# fn main() {\n    let x = 1;\n# }");
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};

/// How deep includes may nest; the same limit as mdBook's.
const MAX_DEPTH: usize = 10;

/// Why a chapter could not be expanded.
#[derive(Debug)]
pub enum ExpandError {
    /// An included file could not be read.
    Read {
        /// The directive as written in the chapter.
        directive: String,
        /// The file it names, resolved against the including file's folder.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Includes nest deeper than mdBook allows (a cycle, most likely).
    TooDeep {
        /// The directive at which the limit was reached.
        directive: String,
    },
    /// A directive names an anchor that the file does not have.
    MissingAnchor {
        /// The directive as written in the chapter.
        directive: String,
        /// The anchor it names.
        anchor: String,
    },
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Read {
                directive,
                path,
                source,
            } => write!(f, "{directive}: cannot read {}: {source}", path.display()),
            ExpandError::TooDeep { directive } => write!(
                f,
                "{directive}: includes nest deeper than {MAX_DEPTH} levels (a cycle?)"
            ),
            ExpandError::MissingAnchor { directive, anchor } => {
                write!(f, "{directive}: no `ANCHOR: {anchor}` in the file")
            }
        }
    }
}

impl std::error::Error for ExpandError {}

/// Expands every directive in `content`, a Markdown text whose relative paths
/// start from the folder `base`.
pub fn expand(content: &str, base: &Path) -> Result<String, ExpandError> {
    expand_at_depth(content, base, 0)
}

/// Expands every Markdown file under `src_dir` except `SUMMARY.md`, and returns
/// each one's path relative to `src_dir` with its expanded text, sorted by path.
pub fn expand_book(src_dir: &Path) -> Result<Vec<(PathBuf, String)>, Box<dyn std::error::Error>> {
    let mut chapters = Vec::new();
    let mut pending = vec![src_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            // `src/imgs` is a link to the figures; it holds no chapters.
            if fs::symlink_metadata(&path)?.file_type().is_symlink() {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md")
                && path.file_name().is_some_and(|n| n != "SUMMARY.md")
            {
                let text = fs::read_to_string(&path)?;
                let base = path.parent().unwrap_or(src_dir);
                let expanded =
                    expand(&text, base).map_err(|e| format!("{}: {e}", path.display()))?;
                let relative = path.strip_prefix(src_dir)?.to_path_buf();
                chapters.push((relative, expanded));
            }
        }
    }
    chapters.sort();
    Ok(chapters)
}

fn expand_at_depth(content: &str, base: &Path, depth: usize) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(content.len());
    let mut copied_up_to = 0;
    for link in find_links(content) {
        out.push_str(&content[copied_up_to..link.start]);
        copied_up_to = link.end;
        let text = &content[link.start..link.end];
        match link.kind {
            // Only the backslash goes; mdBook does not expand escaped text again.
            Kind::Escaped => out.push_str(&text[1..]),
            Kind::Title => {}
            Kind::Include { path, rustdoc } => {
                if depth >= MAX_DEPTH {
                    return Err(ExpandError::TooDeep {
                        directive: text.to_owned(),
                    });
                }
                let (file, selector) = match path.split_once(':') {
                    Some((file, rest)) => (file, Some(rest)),
                    None => (path, None),
                };
                let target = base.join(file);
                let source = fs::read_to_string(&target).map_err(|source| ExpandError::Read {
                    directive: text.to_owned(),
                    path: target.clone(),
                    source,
                })?;
                let included = match parse_selector(selector) {
                    Selector::Lines(range) if rustdoc => rustdoc_lines(&source, range),
                    Selector::Lines(range) => take_lines(&source, range),
                    Selector::Anchor(anchor) => {
                        if !has_anchor(&source, anchor) {
                            return Err(ExpandError::MissingAnchor {
                                directive: text.to_owned(),
                                anchor: anchor.to_owned(),
                            });
                        }
                        if rustdoc {
                            rustdoc_anchored_lines(&source, anchor)
                        } else {
                            anchored_lines(&source, anchor)
                        }
                    }
                };
                // mdBook resolves nested includes against the included file's folder.
                let nested_base = target.parent().unwrap_or(base);
                out.push_str(&expand_at_depth(&included, nested_base, depth + 1)?);
            }
        }
    }
    out.push_str(&content[copied_up_to..]);
    Ok(out)
}

/// A directive found in the text, with its byte span.
struct Link<'a> {
    start: usize,
    end: usize,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Escaped,
    Title,
    Include { path: &'a str, rustdoc: bool },
}

/// Finds the directives, as mdBook's regex does:
/// `\\\{\{\#.*\}\}` (an escape, to the last `}}` on its line) or
/// `\{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}`. A match of an unknown kind is
/// consumed and left as it is, as in mdBook.
fn find_links(s: &str) -> Vec<Link<'_>> {
    let bytes = s.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let matched = if bytes[i] == b'\\' {
            match_escape(s, i)
        } else if bytes[i] == b'{' {
            match_directive(s, i)
        } else {
            None
        };
        match matched {
            Some((end, kind)) => {
                if let Some(kind) = kind {
                    links.push(Link {
                        start: i,
                        end,
                        kind,
                    });
                }
                i = end;
            }
            None => i += 1,
        }
    }
    links
}

/// `\{{#` followed by anything up to the last `}}` on the same line.
fn match_escape(s: &str, i: usize) -> Option<(usize, Option<Kind<'_>>)> {
    let rest = &s[i..];
    if !rest.starts_with("\\{{#") {
        return None;
    }
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let close = line.rfind("}}")?;
    // The `}}` must come after the `#` (the regex's `.*` sits between them).
    (close >= 4).then_some((i + close + 2, Some(Kind::Escaped)))
}

/// `{{`, optional white space, `#`, a name, white space, anything but `}`, `}}`.
fn match_directive(s: &str, i: usize) -> Option<(usize, Option<Kind<'_>>)> {
    let rest = s[i..].strip_prefix("{{")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('#')?;
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let after_space = rest.trim_start();
    let space_len = rest.len() - after_space.len();
    if space_len == 0 {
        return None;
    }
    let body_len = after_space.find('}').unwrap_or(after_space.len());
    // `\s+` is greedy, but gives one white-space character back when nothing
    // else is left for `[^}]+`.
    let body = if body_len > 0 {
        &after_space[..body_len]
    } else {
        let last_space = rest[..space_len].chars().next_back()?;
        &rest[space_len - last_space.len_utf8()..space_len]
    };
    if !after_space[body_len..].starts_with("}}") {
        return None;
    }
    let end = s.len() - after_space.len() + body_len + 2;
    let kind = match name {
        "title" => Some(Kind::Title),
        "include" | "rustdoc_include" => body.split_whitespace().next().map(|path| Kind::Include {
            path,
            rustdoc: name == "rustdoc_include",
        }),
        _ => None,
    };
    Some((end, kind))
}

/// What part of a file a directive takes.
enum Selector<'a> {
    /// 0-based line indexes.
    Lines((Bound<usize>, Bound<usize>)),
    Anchor(&'a str),
}

/// mdBook's `parse_range_or_anchor`: numbers are 1-based line numbers; a
/// first part that is neither empty nor a number is an anchor name.
fn parse_selector(selector: Option<&str>) -> Selector<'_> {
    let mut parts = selector.unwrap_or("").splitn(3, ':');
    let first = parts.next();
    let start = match first {
        Some(value) => match value.parse::<usize>() {
            Ok(n) => Some(n.saturating_sub(1)),
            Err(_) if value.is_empty() => None,
            Err(_) => return Selector::Anchor(value),
        },
        None => None,
    };
    let end = parts.next().map(str::parse::<usize>);
    let range = match (start, end) {
        (Some(start), Some(Ok(end))) => (Bound::Included(start), Bound::Excluded(end)),
        (Some(start), Some(Err(_))) => (Bound::Included(start), Bound::Unbounded),
        (Some(start), None) => (Bound::Included(start), Bound::Excluded(start + 1)),
        (None, Some(Ok(end))) => (Bound::Unbounded, Bound::Excluded(end)),
        (None, None) | (None, Some(Err(_))) => (Bound::Unbounded, Bound::Unbounded),
    };
    Selector::Lines(range)
}

fn take_lines(s: &str, range: (Bound<usize>, Bound<usize>)) -> String {
    s.lines()
        .enumerate()
        .filter(|(index, _)| range.contains(index))
        .map(|(_, line)| line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn rustdoc_lines(s: &str, range: (Bound<usize>, Bound<usize>)) -> String {
    let mut out = String::with_capacity(s.len());
    for (index, line) in s.lines().enumerate() {
        if !range.contains(&index) {
            out.push_str("# ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out.pop();
    out
}

/// The anchor name after `marker` in `line`, if the line holds one. mdBook's
/// pattern is `MARKER\s*([\w_-]+)`, searched anywhere in the line.
fn anchor_after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.match_indices(marker).find_map(|(at, _)| {
        let rest = line[at + marker.len()..].trim_start();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (len > 0).then(|| &rest[..len])
    })
}

fn anchor_start(line: &str) -> Option<&str> {
    anchor_after(line, "ANCHOR:")
}

fn anchor_end(line: &str) -> Option<&str> {
    anchor_after(line, "ANCHOR_END:")
}

fn has_anchor(s: &str, anchor: &str) -> bool {
    s.lines().any(|l| anchor_start(l) == Some(anchor))
}

fn anchored_lines(s: &str, anchor: &str) -> String {
    let mut kept = Vec::new();
    let mut inside = false;
    for line in s.lines() {
        if inside {
            match anchor_end(line) {
                Some(name) if name == anchor => break,
                Some(_) => {}
                None if anchor_start(line).is_none() => kept.push(line),
                None => {}
            }
        } else if anchor_start(line) == Some(anchor) {
            inside = true;
        }
    }
    kept.join("\n")
}

fn rustdoc_anchored_lines(s: &str, anchor: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    for line in s.lines() {
        if inside {
            match anchor_end(line) {
                Some(name) if name == anchor => inside = false,
                Some(_) => {}
                None if anchor_start(line).is_none() => {
                    out.push_str(line);
                    out.push('\n');
                }
                None => {}
            }
        } else if let Some(name) = anchor_start(line) {
            // Any anchor's start line is dropped; only ours opens the section.
            inside |= name == anchor;
        } else if anchor_end(line).is_none() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "line 1\n// ANCHOR: a\nline 3\n// ANCHOR: b\nline 5\n// ANCHOR_END: b\n// ANCHOR_END: a\nline 8\n";

    /// A folder of its own for each test (tests run in parallel), holding one
    /// file, and removed when the test ends.
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dir_with(test: &str, name: &str, text: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("snippets-{}-{test}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), text).unwrap();
        TempDir(dir)
    }

    #[test]
    fn line_ranges_follow_mdbook() {
        let dir = dir_with("line_ranges_follow_mdbook", "f.rs", FILE);
        let e = |d: &str| expand(d, &dir).unwrap();
        assert_eq!(e("{{#include f.rs}}"), FILE.trim_end());
        assert_eq!(e("{{#include f.rs:3}}"), "line 3");
        assert_eq!(e("{{#include f.rs:3:5}}"), "line 3\n// ANCHOR: b\nline 5");
        assert_eq!(e("{{#include f.rs:7:}}"), "// ANCHOR_END: a\nline 8");
        assert_eq!(e("{{#include f.rs::2}}"), "line 1\n// ANCHOR: a");
        assert_eq!(e("{{#include f.rs:0:1}}"), "line 1");
    }

    #[test]
    fn anchors_drop_nested_markers() {
        let dir = dir_with("anchors_drop_nested_markers", "f.rs", FILE);
        assert_eq!(
            expand("{{#include f.rs:a}}", &dir).unwrap(),
            "line 3\nline 5"
        );
        assert_eq!(
            expand("{{#rustdoc_include f.rs:b}}", &dir).unwrap(),
            // Every anchor line goes, inside the section and outside it.
            "# line 1\n# line 3\nline 5\n# line 8"
        );
        assert_eq!(
            expand("{{#rustdoc_include f.rs:2:3}}", &dir).unwrap(),
            "# line 1\n// ANCHOR: a\nline 3\n# // ANCHOR: b\n# line 5\n# // ANCHOR_END: b\n# // ANCHOR_END: a\n# line 8"
        );
    }

    #[test]
    fn escapes_titles_and_unknown_directives() {
        let dir = dir_with("escapes_titles_and_unknown_directives", "f.rs", FILE);
        assert_eq!(
            expand("a \\{{#include f.rs}} b", &dir).unwrap(),
            "a {{#include f.rs}} b"
        );
        assert_eq!(expand("{{#title New}}x", &dir).unwrap(), "x");
        assert_eq!(expand("{{#nope f.rs}}", &dir).unwrap(), "{{#nope f.rs}}");
        assert_eq!(expand("{{ #include  f.rs:3 }}", &dir).unwrap(), "line 3");
        assert_eq!(expand("{{#include}}", &dir).unwrap(), "{{#include}}");
    }

    #[test]
    fn errors_name_the_directive() {
        let dir = dir_with("errors_name_the_directive", "f.rs", FILE);
        let err = expand("{{#include missing.rs}}", &dir).unwrap_err();
        assert!(err.to_string().contains("{{#include missing.rs}}"), "{err}");
        let err = expand("{{#include f.rs:zzz}}", &dir).unwrap_err();
        assert!(err.to_string().contains("ANCHOR: zzz"), "{err}");
        let cyclic = dir_with("cycle", "self.md", "{{#include self.md}}");
        assert!(matches!(
            expand("{{#include self.md}}", &cyclic),
            Err(ExpandError::TooDeep { .. })
        ));
    }
}
