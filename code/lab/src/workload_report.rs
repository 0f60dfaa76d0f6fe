//! The `workload` driver's Markdown: `imgs/workload-table.md` (each program
//! on every allocator) and, with `--threads`, `imgs/workload-threads.md`
//! (each program at each thread count). Every table in them comes from one
//! writer, [`table`], given the [`Column`]s it shows; every ratio is to
//! glibc's on the same input and thread count.

use crate::machine::Machine;
use crate::process::{COMMAND, Options, Row, SEED, mib, program_label};

/// One column of a workload table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// What the tables call the allocator.
    Allocator,
    /// What the tables call the program.
    Program,
    /// The input size, in MB.
    Input,
    /// The thread count.
    Threads,
    /// The median wall time of the whole process.
    Wall,
    /// The median wall time over glibc's.
    WallRatio,
    /// The median of the child's own processing time.
    Processing,
    /// The median processing time over glibc's.
    ProcessingRatio,
    /// The median peak RSS.
    Rss,
    /// The median peak RSS over glibc's.
    RssRatio,
    /// That the output was the same as under every other allocator (the
    /// driver writes no table otherwise).
    Output,
}

impl Column {
    /// Its heading and its Markdown alignment rule.
    fn heading(self) -> (&'static str, &'static str) {
        match self {
            Column::Allocator => ("allocator", "---"),
            Column::Program => ("program", "---"),
            Column::Input => ("input", "--:"),
            Column::Threads => ("threads", "--:"),
            Column::Wall => ("wall time", "--:"),
            Column::Processing => ("processing", "--:"),
            Column::Rss => ("peak RSS", "--:"),
            Column::WallRatio | Column::ProcessingRatio | Column::RssRatio => ("vs glibc", "--:"),
            Column::Output => ("output", "---"),
        }
    }

    /// Its cell for `row`, whose medians are `medians` and glibc's `base`.
    fn cell(self, row: &Row, medians: (f64, f64, f64), base: Option<(f64, f64, f64)>) -> String {
        let (wall, processing, rss) = medians;
        match self {
            Column::Allocator => row.label.to_string(),
            Column::Program => program_label(row.program).to_string(),
            Column::Input => format!("{} MB", row.size_mb),
            Column::Threads => row.threads.to_string(),
            Column::Wall => format!("{wall:.2} s"),
            Column::WallRatio => ratio(wall, base.map(|b| b.0)),
            Column::Processing => format!("{processing:.3} s"),
            Column::ProcessingRatio => ratio(processing, base.map(|b| b.1)),
            Column::Rss => format!("{:.0} MiB", mib(rss)),
            Column::RssRatio => ratio(rss, base.map(|b| b.2)),
            Column::Output => "identical".to_string(),
        }
    }
}

/// `value / base` as `1.23×`, or a dash without a baseline.
fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "—".to_string(),
    }
}

/// The medians of glibc's row on the same input and thread count as `row`.
fn baseline(all: &[Row], row: &Row) -> Option<(f64, f64, f64)> {
    all.iter()
        .find(|r| r.name == "system" && r.same_input(row))
        .map(Row::medians)
}

/// A Markdown table of `rows` with `columns`; ratios are to glibc's row in
/// `all`.
pub fn table<'r>(
    columns: &[Column],
    rows: impl IntoIterator<Item = &'r Row>,
    all: &[Row],
) -> String {
    let mut text = String::from("|");
    let mut rule = String::from("|");
    for column in columns {
        let (heading, align) = column.heading();
        text.push_str(&format!(" {heading} |"));
        rule.push_str(&format!("{align}|"));
    }
    text.push('\n');
    text.push_str(&rule);
    text.push('\n');
    for row in rows {
        let (medians, base) = (row.medians(), baseline(all, row));
        text.push('|');
        for column in columns {
            text.push_str(&format!(" {} |", column.cell(row, medians, base)));
        }
        text.push('\n');
    }
    text
}

/// One program's table: the allocator, then `by` (the input size or the
/// thread count), then processing time and peak RSS, each against glibc's.
const fn per_program(by: Column) -> [Column; 6] {
    [
        Column::Allocator,
        by,
        Column::Processing,
        Column::ProcessingRatio,
        Column::Rss,
        Column::RssRatio,
    ]
}

/// Every measured column, for a folded table: the allocator, the program,
/// `by` (the input size or the thread count), then wall time, processing
/// time and peak RSS, each against glibc's.
const fn every(by: Column) -> [Column; 9] {
    [
        Column::Allocator,
        Column::Program,
        by,
        Column::Wall,
        Column::WallRatio,
        Column::Processing,
        Column::ProcessingRatio,
        Column::Rss,
        Column::RssRatio,
    ]
}

/// One line under a program's table: who beat glibc on each column, so
/// the text can refer to it instead of copying numbers.
fn summary(rows: &[&Row], all: &[Row]) -> String {
    let mut faster = Vec::new();
    let mut fastest: Option<(&str, f64)> = None;
    let mut big = Vec::new();
    for row in rows {
        let (_, processing, rss) = row.medians();
        let Some((_, base_processing, base_rss)) = baseline(all, row) else {
            continue;
        };
        if row.name == "system" {
            continue;
        }
        let speed = processing / base_processing;
        if speed < 1.0 {
            faster.push(format!("`{}`", row.name));
        }
        if fastest.is_none_or(|(_, best)| speed < best) {
            fastest = Some((row.name, speed));
        }
        if rss / base_rss > 1.2 {
            big.push(format!("`{}`", row.name));
        }
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    format!(
        "Less processing time than glibc: {}; the least: `{}`. More than 1.2× glibc's peak RSS: {}.\n",
        list(&faster),
        fastest.map_or("—", |(name, _)| name),
        list(&big)
    )
}

/// "s" unless `n` is 1.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Everything a report is made from: the measured rows and how they were
/// measured.
pub struct Report<'a> {
    /// Every row, in the order they ran.
    pub rows: &'a [Row],
    /// The command line's options.
    pub options: &'a Options,
    /// The machine they ran on.
    pub machine: &'a Machine,
    /// The driver's own peak RSS, a floor under every child's.
    pub driver_rss: u64,
}

impl Report<'_> {
    /// The rows of each program the options name, in their order; programs
    /// without rows are left out.
    fn by_program(&self) -> Vec<Vec<&Row>> {
        self.options
            .programs
            .iter()
            .map(|program| self.rows.iter().filter(|r| r.program == program).collect())
            .filter(|rows: &Vec<&Row>| !rows.is_empty())
            .collect()
    }

    /// One line per distinct input (rows that are `same` are one input):
    /// how many `runs` printed its output, and the output.
    fn outputs(&self, same: fn(&Row, &Row) -> bool, runs: &str) -> String {
        let mut firsts: Vec<&Row> = Vec::new();
        for row in self.rows {
            if !firsts.iter().any(|r| same(r, row)) {
                firsts.push(row);
            }
        }
        let mut text = String::new();
        for first in firsts {
            let count = self.rows.iter().filter(|r| same(r, first)).count();
            text.push_str(&format!(
                "- {} on {} MB: {count} {runs}, output `{}`, identical for every one\n",
                program_label(first.program),
                first.size_mb,
                first.digest
            ));
        }
        text
    }

    /// The heap counters of the book's allocators, one line each; `run`
    /// says which run it was.
    fn heap_lines(&self, run: impl Fn(&Row) -> String) -> String {
        let mut text = String::new();
        for row in self.rows {
            if let Some(heap) = &row.heap_line {
                text.push_str(&format!(
                    "- `{}` ({}): {}\n",
                    row.name,
                    run(row),
                    heap.trim_start_matches("heap: ")
                ));
            }
        }
        text
    }

    /// `imgs/workload-table.md`: a six-column table per program for the
    /// chapter, then the full table and how it was measured, folded.
    pub fn single(&self) -> String {
        let (rows, options) = (self.rows, self.options);
        let mut text = format!("<!-- Generated by `{COMMAND}`; do not edit. -->\n\n");
        for program_rows in self.by_program() {
            let first = program_rows[0];
            text.push_str(&format!(
                "**{}**, {}:\n\n{}\n{}\n",
                program_label(first.program),
                if first.program == "index" {
                    "an inverted index that lives for the whole run, built while every document churns short-lived strings and maps"
                } else {
                    "a JSON tree parsed, transformed and serialized with `serde_json`, then Markdown rendered with `pulldown-cmark`"
                },
                table(&per_program(Column::Input), program_rows.iter().copied(), rows),
                summary(&program_rows, rows)
            ));
        }
        text.push_str(&format!(
            "Processing time and peak resident memory of each program with each allocator as its `#[global_allocator]`, as \
             ratios to glibc's on the same input (below 1: faster, or smaller); every allocator printed the same output. \
             Measured by `{COMMAND}` on {}.\n\n",
            self.machine.summary()
        ));
        text.push_str("<details><summary>How this was measured, and the full table</summary>\n\n");
        text.push_str(&format!(
            "Each allocator ran each program as the global allocator of its own process. *JSON + Markdown*: generate a \
             JSON document (seed {SEED}; users with names, e-mail addresses, tags, an address map, friends and events), \
             parse it with `serde_json` into a `Value` tree, walk it, transform it (active users grouped by city, sorted \
             by score, tags deduplicated, event amounts summed per kind), serialize the result (pretty) and parse that \
             back to check the round trip; then render a generated Markdown document of a quarter of the size with \
             `pulldown-cmark`. *Inverted index*: generate a corpus one document at a time (seed {SEED}; words drawn \
             with a skew from a vocabulary of 100000), lower-case every document's tokens, count them in a map of its \
             own, and append to a `BTreeMap<String, Vec<(u32, u16)>>` of posting lists that lives to the end; then \
             answer one query of two or three terms per four documents (intersect, rank, keep ten) and list the whole \
             index. *Input*: the JSON document's size, or the corpus's. *Processing*: the child's own clock around \
             everything but making the input up. *Wall time*: the whole process, from spawn to exit. Both are medians \
             of {reps} runs, one process each; each repetition runs every allocator once, round robin. *Peak RSS*: the \
             child's `ru_maxrss` from `wait4` (median), which includes a floor of the driver's own {floor:.1} MiB that a \
             `posix_spawn`ed child inherits. *Output*: FNV-1a hash and length of what the program produced (the \
             serialized JSON result and the HTML; the query answers and the index listing); the tool fails and writes \
             nothing if any allocator's differs.\n\n",
            reps = options.reps,
            floor = mib(self.driver_rss as f64),
        ));
        let full = [&every(Column::Input)[..], &[Column::Output]].concat();
        text.push_str(&table(&full, rows, rows));
        text.push('\n');
        text.push_str(&self.outputs(Row::same_input, "allocators"));
        let small: Vec<&str> = options
            .allocators
            .iter()
            .filter(|n| options.small.contains(n))
            .map(String::as_str)
            .collect();
        if !small.is_empty() {
            text.push_str(&format!(
                "- {} ran on {} MB inputs only, compared with the system allocator on the same input: an implicit \
                 list's search walks every block, allocated or free, so its time grows about with the square of the \
                 input, and the full-size ones would take hours.\n",
                small.join(", "),
                options.small_mb,
            ));
        }
        text.push_str(
            "- The book's allocators and talc sit behind `Locked` (a `std::sync::Mutex`), each heap over a 32 GiB \
             `MAP_NORESERVE` reservation that it grows into (talc claims the whole reservation at its first \
             allocation; the bump allocator moves down from the top of one). The programs are single-threaded, so the \
             lock is never contended. The bump allocators free only their newest block, so their footprint is nearly \
             everything the program ever asked for.\n",
        );
        text.push_str(&self.heap_lines(|row| format!("{}, {} MB", row.program, row.size_mb)));
        text.push_str("\n</details>\n");
        text
    }

    /// `imgs/workload-threads.md`: each program at each thread count, with
    /// ratios to glibc at the same count.
    pub fn threads(&self) -> String {
        let (rows, options) = (self.rows, self.options);
        let args: Vec<String> = std::env::args().skip(1).collect();
        let command = format!("{COMMAND} -- {}", args.join(" "));
        let counts: Vec<String> = options.threads.iter().map(|t| t.to_string()).collect();
        let counts = match counts.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => counts.join(""),
        };
        let mut text = format!("<!-- Generated by `{command}`; do not edit. -->\n\n");
        for program_rows in self.by_program() {
            let first = program_rows[0];
            text.push_str(&format!(
                "**{}** on {} MB, {}:\n\n{}\n",
                program_label(first.program),
                first.size_mb,
                if first.program == "index" {
                    "worker threads tokenize the documents and one merging thread builds the index and frees what they sent"
                } else {
                    "worker threads parse, summarize and serialize a share of the users each, and the main thread merges and frees their results"
                },
                table(&per_program(Column::Threads), program_rows.iter().copied(), rows),
            ));
            for &threads in &options.threads {
                let same: Vec<&Row> = program_rows
                    .iter()
                    .copied()
                    .filter(|r| r.threads == threads)
                    .collect();
                text.push_str(&format!(
                    "At {threads} thread{}: {}",
                    plural(threads),
                    summary(&same, rows)
                ));
            }
            text.push('\n');
        }
        text.push_str(&format!(
            "Processing time and peak resident memory of each program at {counts} threads, as ratios to glibc's at the \
             same thread count (below 1: faster, or smaller); every allocator printed the same output at every thread \
             count. Measured by `{command}` on {}.\n\n",
            self.machine.summary()
        ));
        text.push_str("<details><summary>How this was measured, and the full table</summary>\n\n");
        text.push_str(&format!(
            "Each allocator ran each program as the global allocator of its own process, as in [Measured on real programs](proscons.md#measured-on-real-programs), \
             with `--threads N`. At 1 thread the programs are the single-threaded ones. At N threads, *JSON + Markdown*: \
             the main thread makes the document up (seed {SEED}) and notes where each user starts; N workers each parse, \
             walk and summarize a run of consecutive users; the main thread merges their per-city lists in input order \
             (freeing the lists the workers allocated) and ranks each city; N workers each serialize a run of cities \
             (pretty) and parse them back, and the main thread joins the pieces; N workers then render a run of whole \
             Markdown sections each. *Inverted index*: the main thread makes the corpus up first (the same documents); \
             worker k tokenizes documents k, k + N, k + 2N, ... and sends each one's terms, title and snippet through a \
             channel to the main thread, which inserts them into the index in document order (holding back any that \
             arrive early) and frees the terms the index already has; N workers answer a run of the queries each. \
             *Processing*: the child's own clock around everything but making the input up. Medians of {reps} runs, \
             one process each, round robin. *Peak RSS*: `ru_maxrss` from `wait4`, with a floor of the driver's own \
             {floor:.1} MiB. On a machine with fewer cores than threads, the threads take turns.\n\n",
            reps = options.reps,
            floor = mib(self.driver_rss as f64),
        ));
        text.push_str(&table(&every(Column::Threads), rows, rows));
        text.push('\n');
        text.push_str(&self.outputs(Row::same_output, "runs (allocator × threads)"));
        text.push_str(
            "- The book's allocators sit behind `Locked` (a `std::sync::Mutex`), so their threads queue on one lock; \
             `ThreadCached` takes it only to refill or drain a batch.\n\
             - The threaded JSON program parses each user on its own and keeps only the summaries, so it never holds \
             the whole parsed tree: compare peak RSS within a thread count, not across 1 and N.\n",
        );
        text.push_str(&self.heap_lines(|row| {
            format!(
                "{}, {} thread{}",
                row.program,
                row.threads,
                plural(row.threads)
            )
        }));
        text.push_str("\n</details>\n");
        text
    }
}
