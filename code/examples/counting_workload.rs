//! How does an ordinary Rust program allocate? Count it before writing an
//! allocator for it.
//!
//! `Counting<System>` is the global allocator here: every `String`, `Vec`
//! and `BTreeMap` node below goes through it. The workload is plain std
//! code: generate text, count its words in a `BTreeMap`, sort them by
//! frequency, and format a summary.
//!
//! Run it with `cargo run --example counting_workload`.

use allocators::counting::Counting;
use allocators::stats::{StackText, Stats};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

// ANCHOR: global
#[global_allocator]
static A: Counting<std::alloc::System> = Counting::new(std::alloc::System);
// ANCHOR_END: global

/// A deterministic pseudo-random text of `words` words, built from a few
/// syllables (xorshift, so every run counts the same allocations).
fn generate_text(words: usize) -> String {
    const SYLLABLES: [&str; 12] = [
        "al", "lo", "ca", "tor", "heap", "block", "free", "list", "bump", "pool", "page", "map",
    ];
    let mut state: u32 = 0x2545_f491;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let mut text = String::new(); // grows by reallocation as it fills
    for i in 0..words {
        if i > 0 {
            text.push(if next() % 12 == 0 { '\n' } else { ' ' });
        }
        // Word lengths follow a skewed distribution: short words are common.
        for _ in 0..1 + next() % 3 + (next() % 8 == 0) as usize * 2 {
            text.push_str(SYLLABLES[next() % SYLLABLES.len()]);
        }
    }
    text
}

// ANCHOR: workload
/// The workload: word frequencies of a generated text, the ten most common
/// words formatted as lines, and the lines sorted.
fn workload() -> (usize, String) {
    let text = generate_text(20_000);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for word in text.split_whitespace() {
        match counts.get_mut(word) {
            Some(count) => *count += 1,
            None => {
                counts.insert(word.to_owned(), 1);
            }
        }
    }
    let mut by_frequency: Vec<(&str, usize)> =
        counts.iter().map(|(w, &c)| (w.as_str(), c)).collect();
    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut lines: Vec<String> = by_frequency
        .iter()
        .take(10)
        .map(|(word, count)| format!("{count:>6} {word}"))
        .collect();
    lines.sort();
    (counts.len(), lines.join("\n"))
}
// ANCHOR_END: workload

fn main() {
    // ANCHOR: measure
    A.reset_peak();
    let before = A.snapshot();
    let (distinct, top) = workload();
    let top_len = top.len();
    drop(top);
    let after = A.snapshot();
    let work: Stats = after.since(&before);
    // ANCHOR_END: measure

    // Formatting the report allocates nothing: the counters do not move.
    let mut report = StackText::new();
    write!(report, "{work}").expect("the report fits in 4 KiB");
    assert_eq!(A.snapshot(), after, "formatting the report allocated");

    // ANCHOR: consistency
    // Everything the workload allocated, it freed: the program is back to
    // the blocks and bytes it had before.
    assert_eq!(after.live_blocks(), before.live_blocks());
    assert_eq!(after.live_bytes, before.live_bytes);
    assert_eq!(work.allocations, work.deallocations);
    assert_eq!(work.live_bytes, 0);
    // Every successful call landed in exactly one histogram bucket.
    assert_eq!(work.requests(), work.allocations + work.reallocations);
    // The peak is at least the text itself (20,000 words of 2+ letters),
    // and no more than everything ever requested.
    assert!(work.peak_live_bytes >= 40_000);
    assert!(work.peak_live_bytes as u64 <= after.bytes_allocated);
    assert_eq!(work.failures, 0);
    // Most requests are small: a third or more are 32 bytes or less.
    let small: u64 = work.histogram[..=5].iter().sum();
    assert!(
        small * 3 >= work.requests(),
        "{small} of {}",
        work.requests()
    );
    // ANCHOR_END: consistency

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{distinct} distinct words; the top ten take {top_len} bytes to print.\n"
    )
    .expect("stdout");
    out.write_all(report.as_str().as_bytes()).expect("stdout");
}
