//! What more than one example needs, kept in one place. Not an example of its
//! own: cargo builds only `examples/*.rs` (and `examples/*/main.rs`), and an
//! example takes this in with `mod common;`.

/// A deterministic stream of `count` made-up words of 1 to
/// `most_syllables` syllables (xorshift32, no `rand` crate: an example should
/// allocate only what its workload does, the same on every run).
pub fn words(count: usize, most_syllables: u32) -> impl Iterator<Item = String> {
    const SYLLABLES: [&str; 16] = [
        "ba", "ko", "ri", "tan", "mel", "su", "dor", "e", "qua", "lin", "o", "pe", "vus", "hi",
        "ga", "ny",
    ];
    let mut state: u32 = 0x2545_f491;
    (0..count).map(move |_| {
        let mut word = String::new();
        // xorshift32: enough randomness to make words repeat unevenly.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        for i in 0..1 + state % most_syllables {
            word.push_str(SYLLABLES[(state >> (4 * i + 8)) as usize % SYLLABLES.len()]);
        }
        word
    })
}
