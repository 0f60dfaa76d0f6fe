//! Allocation traces in the CS:APP malloc-lab format: parsing and writing.
//!
//! A trace is a header of four integers (suggested heap size, number of block
//! ids, number of operations, weight) followed by one operation per line:
//!
//! ```text
//! a ID SIZE    allocate SIZE bytes and call the block ID
//! f ID         free block ID
//! r ID SIZE    reallocate block ID to SIZE bytes
//! ```
//!
//! The original driver reads traces with `fscanf`, which skips any amount of
//! whitespace, so this parser accepts blank lines, extra spaces, tabs and
//! `\r\n` line ends, and the header's integers on one line or several.
//! Everything else is an error that names the file and the line: an unknown
//! operation, a missing or extra field, an id outside `0..ids`, a free or
//! reallocation of a block that is not live, an allocation of an id that is
//! already live, and an operation count that disagrees with the header.
//! Checking liveness here, once, keeps the replay loop free of checks: a
//! parsed [`Trace`] can be replayed without any input-dependent failure.
//!
//! ```
//! let trace = lab::trace::Trace::parse("demo.rep", "0 2 3 1\na 0 8\na 1 16\nf 0\n").unwrap();
//! assert_eq!(trace.ops.len(), 3);
//! assert_eq!(trace.peak_live, 24);
//! let err = lab::trace::Trace::parse("bad.rep", "0 2 1 1\nf 1\n").unwrap_err();
//! assert_eq!(err.to_string(), "bad.rep:2: free of block 1, which is not live");
//! ```

use std::fmt;
use std::path::Path;

/// One operation of a trace: `a ID SIZE`, `f ID` or `r ID SIZE`. The
/// heap stepper's recorder uses the same type, so a trace feeds it as is.
pub use figures::stepper::Op;

/// A parsed, validated trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Where it came from (a file path, or a name for generated traces).
    pub name: String,
    /// The suggested heap size from the header (the original driver ignores
    /// it, and so does the replay tool).
    pub suggested_heap: usize,
    /// Block ids run from 0 to `ids - 1`.
    pub ids: usize,
    /// The weight from the header (ignored, as by the original driver).
    pub weight: u64,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// The line of each operation in the file (1-based), for error messages.
    pub lines: Vec<u32>,
    /// The most payload bytes live at once: the numerator of utilization.
    pub peak_live: usize,
    /// Every byte any `a` or `r` asked for, added up: what a heap that never
    /// reuses memory would need.
    pub total_requested: usize,
    /// How many `a` and `r` operations there are.
    pub allocations: usize,
}

/// A trace that cannot be read or does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The file (or trace name).
    pub file: String,
    /// The 1-based line, or 0 when the problem is the whole file (it cannot
    /// be read).
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

/// The most ids a trace may declare. Replay keeps a slot per id, so a huge
/// header would make it allocate gigabytes before reading a single operation.
pub const MAX_IDS: usize = 1 << 24;

/// The most operations a trace may declare, for the same reason.
pub const MAX_OPS: usize = 1 << 26;

impl Trace {
    /// Reads and parses the trace file at `path`.
    pub fn read(path: &Path) -> Result<Trace, TraceError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TraceError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read the trace: {e}"),
        })?;
        Trace::parse(&name, &text)
    }

    /// Parses the text of a trace; `name` appears in error messages.
    pub fn parse(name: &str, text: &str) -> Result<Trace, TraceError> {
        let err = |line: usize, message: String| TraceError {
            file: name.to_string(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            message,
        };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));

        // The header: four integers, on as many lines as they take.
        let mut header = [0u64; 4];
        let mut got = 0;
        let mut last_line = 0;
        const WHAT: [&str; 4] = [
            "suggested heap size",
            "number of ids",
            "number of operations",
            "weight",
        ];
        while got < 4 {
            let Some((n, line)) = lines.next() else {
                return Err(err(
                    last_line.max(1),
                    format!("truncated header: expected the {} (4 integers)", WHAT[got]),
                ));
            };
            last_line = n;
            for token in line.split_whitespace() {
                if got == 4 {
                    return Err(err(
                        n,
                        format!("unexpected `{token}` after the 4 header integers"),
                    ));
                }
                header[got] = token.parse().map_err(|_| {
                    err(
                        n,
                        format!(
                            "the {} must be a non-negative integer, not `{token}`",
                            WHAT[got]
                        ),
                    )
                })?;
                got += 1;
            }
        }
        let to_usize = |v: u64, what: &str, limit: usize| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v <= limit)
                .ok_or_else(|| {
                    err(
                        last_line,
                        format!("the {what} ({v}) is larger than {limit}"),
                    )
                })
        };
        let suggested_heap = to_usize(header[0], "suggested heap size", usize::MAX)?;
        let ids = to_usize(header[1], "number of ids", MAX_IDS)?;
        let declared_ops = to_usize(header[2], "number of operations", MAX_OPS)?;
        let weight = header[3];

        let mut ops = Vec::with_capacity(declared_ops);
        let mut op_lines = Vec::with_capacity(declared_ops);
        // The size of each live block, to validate frees and reallocations
        // and to track the live payload.
        let mut live: Vec<Option<usize>> = vec![None; ids];
        let (mut live_bytes, mut peak_live, mut total, mut allocations) =
            (0usize, 0usize, 0usize, 0usize);
        let overflow = |n: usize| err(n, "byte counts overflow".to_string());

        for (n, line) in lines {
            last_line = n;
            let mut fields = line.split_whitespace();
            let Some(kind) = fields.next() else { continue };
            if ops.len() == declared_ops {
                return Err(err(
                    n,
                    format!("more operations than the {declared_ops} the header declares"),
                ));
            }
            let mut field = |what: &str| {
                fields
                    .next()
                    .ok_or_else(|| err(n, format!("`{kind}` is missing its {what}")))
            };
            let id_of = |token: &str| -> Result<u32, TraceError> {
                let id: usize = token.parse().map_err(|_| {
                    err(
                        n,
                        format!("the block id must be a non-negative integer, not `{token}`"),
                    )
                })?;
                if id >= ids {
                    return Err(err(
                        n,
                        format!(
                            "block id {id} is out of range: the header declares {ids} ids (0..{ids})"
                        ),
                    ));
                }
                u32::try_from(id).map_err(|_| err(n, format!("block id {id} is too large")))
            };
            let size_of = |token: &str| -> Result<usize, TraceError> {
                token.parse().map_err(|_| {
                    err(
                        n,
                        format!("the size must be a non-negative integer, not `{token}`"),
                    )
                })
            };
            let op = match kind {
                "a" => {
                    let id = id_of(field("block id")?)?;
                    let size = size_of(field("size")?)?;
                    Op::Alloc { id, size }
                }
                "f" => Op::Free {
                    id: id_of(field("block id")?)?,
                },
                "r" => {
                    let id = id_of(field("block id")?)?;
                    let size = size_of(field("size")?)?;
                    Op::Realloc { id, size }
                }
                other => {
                    return Err(err(
                        n,
                        format!("unknown operation `{other}` (expected a, f or r)"),
                    ));
                }
            };
            if let Some(extra) = fields.next() {
                return Err(err(n, format!("unexpected `{extra}` after the operation")));
            }
            match op {
                Op::Alloc { id, size } => {
                    let slot = &mut live[id as usize];
                    if slot.is_some() {
                        return Err(err(
                            n,
                            format!("allocation of block {id}, which is already live"),
                        ));
                    }
                    *slot = Some(size);
                    live_bytes = live_bytes.checked_add(size).ok_or_else(|| overflow(n))?;
                    total = total.checked_add(size).ok_or_else(|| overflow(n))?;
                    allocations += 1;
                }
                Op::Free { id } => {
                    let Some(size) = live[id as usize].take() else {
                        return Err(err(n, format!("free of block {id}, which is not live")));
                    };
                    live_bytes -= size;
                }
                Op::Realloc { id, size } => {
                    let Some(old) = live[id as usize].replace(size) else {
                        return Err(err(
                            n,
                            format!("reallocation of block {id}, which is not live"),
                        ));
                    };
                    live_bytes = (live_bytes - old)
                        .checked_add(size)
                        .ok_or_else(|| overflow(n))?;
                    total = total.checked_add(size).ok_or_else(|| overflow(n))?;
                    allocations += 1;
                }
            }
            peak_live = peak_live.max(live_bytes);
            ops.push(op);
            op_lines.push(u32::try_from(n).unwrap_or(u32::MAX));
        }
        if ops.len() != declared_ops {
            return Err(err(
                last_line.max(1),
                format!(
                    "truncated: the header declares {declared_ops} operations, the file has {}",
                    ops.len()
                ),
            ));
        }
        Ok(Trace {
            name: name.to_string(),
            suggested_heap,
            ids,
            weight,
            ops,
            lines: op_lines,
            peak_live,
            total_requested: total,
            allocations,
        })
    }

    /// The trace in the file format, as [`parse`](Self::parse) reads it.
    pub fn to_text(&self) -> String {
        write_trace(self.suggested_heap, self.ids, self.weight, &self.ops)
    }
}

/// Writes a trace in the file format. The suggested heap size is a hint for
/// other tools; the replay tool ignores it.
pub fn write_trace(suggested_heap: usize, ids: usize, weight: u64, ops: &[Op]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(16 * ops.len() + 64);
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{suggested_heap}\n{ids}\n{}\n{weight}", ops.len());
    for op in ops {
        let _ = match *op {
            Op::Alloc { id, size } => writeln!(out, "a {id} {size}"),
            Op::Free { id } => writeln!(out, "f {id}"),
            Op::Realloc { id, size } => writeln!(out, "r {id} {size}"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Trace, TraceError> {
        Trace::parse("t.rep", text)
    }

    fn message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_trace_round_trips() {
        let text = "100\n3\n5\n1\na 0 10\na 1 20\nr 0 30\nf 1\nf 0\n";
        let trace = parse(text).unwrap();
        assert_eq!(trace.ops[2], Op::Realloc { id: 0, size: 30 });
        assert_eq!(trace.lines, vec![5, 6, 7, 8, 9]);
        assert_eq!(trace.peak_live, 50);
        assert_eq!(trace.total_requested, 60);
        assert_eq!(trace.allocations, 3);
        assert_eq!(trace.to_text(), text);
    }

    #[test]
    fn whitespace_is_lenient() {
        let trace = parse("100 3\r\n 2 1\n\n\ta  0   10 \r\n\n  f 0\n\n").unwrap();
        assert_eq!(
            trace.ops,
            vec![Op::Alloc { id: 0, size: 10 }, Op::Free { id: 0 }]
        );
        assert_eq!(trace.lines, vec![4, 6]);
    }

    #[test]
    fn every_error_names_the_line() {
        assert_eq!(
            message("0 2 1 1\nx 0 8\n"),
            "t.rep:2: unknown operation `x` (expected a, f or r)"
        );
        assert_eq!(
            message("0 2 1 1\na 2 8\n"),
            "t.rep:2: block id 2 is out of range: the header declares 2 ids (0..2)"
        );
        assert_eq!(
            message("0 2 1 1\nf 0\n"),
            "t.rep:2: free of block 0, which is not live"
        );
        assert_eq!(
            message("0 2 2 1\na 0 8\nf 0\nf 0\n"),
            "t.rep:4: more operations than the 2 the header declares"
        );
        assert_eq!(
            message("0 2 3 1\na 0 8\nf 0\n"),
            "t.rep:3: truncated: the header declares 3 operations, the file has 2"
        );
        assert_eq!(
            message("0 2 1 1\na 0\n"),
            "t.rep:2: `a` is missing its size"
        );
        assert_eq!(
            message("0 2\n"),
            "t.rep:1: truncated header: expected the number of operations (4 integers)"
        );
        assert_eq!(
            message(""),
            "t.rep:1: truncated header: expected the suggested heap size (4 integers)"
        );
        assert_eq!(
            message("0 2 1 1\na 0 -8\n"),
            "t.rep:2: the size must be a non-negative integer, not `-8`"
        );
        assert_eq!(
            message("0 2 1 1\na 0 8 9\n"),
            "t.rep:2: unexpected `9` after the operation"
        );
        assert_eq!(
            message("0 2 1 1\nr 1 8\n"),
            "t.rep:2: reallocation of block 1, which is not live"
        );
        assert_eq!(
            message("0 2 2 1\na 1 8\na 1 8\n"),
            "t.rep:3: allocation of block 1, which is already live"
        );
        assert_eq!(
            message("0 x 1 1\n"),
            "t.rep:1: the number of ids must be a non-negative integer, not `x`"
        );
        assert_eq!(
            message("0 99999999999 1 1\n"),
            format!("t.rep:1: the number of ids (99999999999) is larger than {MAX_IDS}")
        );
        assert_eq!(
            message("0\n1\n1\n1 5\n"),
            "t.rep:4: unexpected `5` after the 4 header integers"
        );
    }

    #[test]
    fn unreadable_files_are_errors() {
        let e = Trace::read(Path::new("/nonexistent/x.rep")).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/x.rep: cannot read the trace:"),
            "{e}"
        );
    }
}
