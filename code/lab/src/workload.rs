//! Real, allocation-heavy workloads from well-known crates, for running a
//! whole program under each allocator (the `workload` binary).
//!
//! - [`json`](fn@json): generate a large JSON document (deterministically: many small
//!   strings, maps and arrays), print it, parse it back with `serde_json`
//!   into a `Value` tree, walk the tree, transform it (group, sort, dedupe,
//!   aggregate), serialize the result and parse that again to check the
//!   round trip.
//! - [`markdown`]: generate a Markdown document and render it to HTML with
//!   `pulldown-cmark`.
//! - [`index`]: a search engine's indexer, a different shape of program. It
//!   builds an inverted index (a `BTreeMap<String, Vec<u32>>` of posting
//!   lists, plus a store of document titles) over a generated corpus, so
//!   hundreds of thousands of objects live for the whole run, while every
//!   document churns short-lived ones (its text, its tokens, its term
//!   counts); then it answers generated queries against the index.
//!
//! Each returns a [`Digest`] of its output: the same input must give the
//! same bytes under every allocator, so the digests must match.

use crate::generate::SplitMix64;
use pulldown_cmark::{Options, Parser, html};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Made-up words from the lab's one generator ([`SplitMix64`]): the same
/// seed gives the same document on every machine and under every allocator.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    /// A made-up word of one to four syllables.
    pub fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ba", "ko", "ri", "tan", "mel", "su", "dor", "e", "qua", "lin", "o", "pe", "vus", "hi",
            "ga", "ny", "zer", "ul", "fa", "mon", "thi", "ca", "ro", "wen",
        ];
        let mut word = String::new();
        for _ in 0..1 + self.below(4) {
            word.push_str(SYLLABLES[self.below(SYLLABLES.len() as u64) as usize]);
        }
        word
    }

    /// A capitalised word.
    pub fn name(&mut self) -> String {
        let word = self.word();
        let mut chars = word.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }

    /// `words` words separated by spaces.
    pub fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&self.word());
        }
        s
    }
}

/// 64-bit FNV-1a: a stable hash of bytes, the same in every process (std's
/// hashers are randomly keyed or may change between Rust versions).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// What a workload produced: its output's size and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Bytes of output.
    pub bytes: usize,
    /// [`fnv1a`] of the output.
    pub hash: u64,
}

impl Digest {
    /// The digest of `output`.
    pub fn of(output: &str) -> Digest {
        Digest {
            bytes: output.len(),
            hash: fnv1a(output.as_bytes()),
        }
    }
}

/// Named durations of a workload's phases, in order.
pub type Phases = Vec<(&'static str, Duration)>;

/// Times a workload phase by phase: each `lap` records the time since the
/// previous one (or since `start`) under the phase's name.
struct Laps {
    phases: Phases,
    clock: Instant,
}

impl Laps {
    fn start() -> Laps {
        Laps {
            phases: Phases::new(),
            clock: Instant::now(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases.push((name, now - self.clock));
        self.clock = now;
    }
}

/// Counts of the nodes of a JSON tree, found by walking it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Objects (maps).
    pub objects: usize,
    /// Arrays.
    pub arrays: usize,
    /// Strings, keys not counted.
    pub strings: usize,
    /// Numbers, booleans and nulls.
    pub scalars: usize,
    /// Bytes of all strings and keys.
    pub string_bytes: usize,
    /// The deepest nesting.
    pub depth: usize,
}

impl Shape {
    /// All nodes.
    pub fn nodes(&self) -> usize {
        self.objects + self.arrays + self.strings + self.scalars
    }
}

/// Walks a JSON tree and counts its nodes.
pub fn walk(value: &Value) -> Shape {
    fn go(value: &Value, depth: usize, shape: &mut Shape) {
        shape.depth = shape.depth.max(depth);
        match value {
            Value::Object(map) => {
                shape.objects += 1;
                for (key, v) in map {
                    shape.string_bytes += key.len();
                    go(v, depth + 1, shape);
                }
            }
            Value::Array(items) => {
                shape.arrays += 1;
                for v in items {
                    go(v, depth + 1, shape);
                }
            }
            Value::String(s) => {
                shape.strings += 1;
                shape.string_bytes += s.len();
            }
            _ => shape.scalars += 1,
        }
    }
    let mut shape = Shape::default();
    go(value, 1, &mut shape);
    shape
}

/// The event kinds a user's history holds.
const EVENTS: [&str; 8] = [
    "login", "purchase", "refund", "comment", "upload", "share", "like", "logout",
];

/// About how many bytes one generated user takes as compact JSON, to turn
/// a target size into a number of users.
const USER_BYTES: usize = 700;

/// One user record: a map with strings, numbers, a nested map and arrays of
/// strings and of small maps.
fn user(id: u64, cities: &[String], rng: &mut Rng) -> Value {
    let first = rng.name();
    let last = rng.name();
    let email = format!("{}.{}@{}.example", first, last, rng.word()).to_lowercase();
    let tags: Vec<Value> = (0..2 + rng.below(7)).map(|_| rng.word().into()).collect();
    let friends: Vec<Value> = (0..rng.below(6))
        .map(|_| json!({ "id": rng.below(1 << 20), "name": rng.name() }))
        .collect();
    let events: Vec<Value> = (0..rng.below(10))
        .map(|_| {
            let words = 1 + rng.below(5) as usize;
            json!({
                "kind": EVENTS[rng.below(EVENTS.len() as u64) as usize],
                "amount": rng.below(10_000) as i64 - 2_000,
                "note": rng.sentence(words),
            })
        })
        .collect();
    json!({
        "id": id,
        "name": format!("{first} {last}"),
        "email": email,
        "active": rng.below(4) != 0,
        "score": rng.below(100_000),
        "city": cities[rng.below(cities.len() as u64) as usize],
        "tags": tags,
        "address": {
            "street": format!("{} {}", rng.name(), ["Street", "Road", "Lane", "Way"][rng.below(4) as usize]),
            "number": 1 + rng.below(300),
            "zip": format!("{:05}", rng.below(100_000)),
        },
        "friends": friends,
        "events": events,
    })
}

/// Generates a JSON document of about `target_bytes` bytes (compact): an
/// object with some metadata and an array of users.
pub fn generate_json(target_bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let cities: Vec<String> = (0..256).map(|_| rng.name()).collect();
    let users: Vec<Value> = (0..(target_bytes / USER_BYTES).max(1) as u64)
        .map(|id| user(id, &cities, &mut rng))
        .collect();
    let document = json!({
        "generator": "lab::workload::generate_json",
        "seed": seed,
        "users": users,
    });
    document.to_string()
}

/// One active user, reshaped: name upper-cased, tags sorted and deduplicated,
/// event amounts summed per kind, friends' names joined.
fn summarize_user(user: Map<String, Value>) -> Option<(String, u64, Value)> {
    let mut user = user;
    if user.get("active") != Some(&Value::Bool(true)) {
        return None;
    }
    let city = match user.remove("city")? {
        Value::String(city) => city,
        _ => return None,
    };
    let score = user.get("score")?.as_u64()?;
    let mut tags: Vec<String> = match user.remove("tags")? {
        Value::Array(tags) => tags
            .into_iter()
            .filter_map(|t| match t {
                Value::String(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    tags.sort_unstable();
    tags.dedup();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(Value::Array(events)) = user.remove("events") {
        for event in events {
            let (Some(kind), Some(amount)) = (event["kind"].as_str(), event["amount"].as_i64())
            else {
                return None;
            };
            *totals.entry(kind.to_string()).or_default() += amount;
        }
    }
    let friends: Vec<&str> = user
        .get("friends")?
        .as_array()?
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    let summary = json!({
        "id": user.get("id")?,
        "name": user.get("name")?.as_str()?.to_uppercase(),
        "score": score,
        "tags": tags,
        "totals": totals,
        "friends": friends.join(", "),
        "zip": user.get("address")?.get("zip")?,
    });
    Some((city, score, summary))
}

/// Transforms a parsed document: active users grouped by city, each city's
/// users sorted by score (highest first) and summed up. `Err` names what
/// was not where the generator puts it.
pub fn transform(document: Value) -> Result<Value, String> {
    let Value::Object(mut document) = document else {
        return Err("the document is not an object".into());
    };
    let Some(Value::Array(users)) = document.remove("users") else {
        return Err("the document has no \"users\" array".into());
    };
    let mut cities: BTreeMap<String, Vec<(u64, Value)>> = BTreeMap::new();
    for user in users {
        let Value::Object(user) = user else {
            return Err("a user is not an object".into());
        };
        if let Some((city, score, summary)) = summarize_user(user) {
            cities.entry(city).or_default().push((score, summary));
        }
    }
    Ok(json!({ "seed": document.remove("seed"), "cities": rank_cities(cities) }))
}

/// Each city's users sorted by score (highest first, then by id), counted
/// and summed up.
fn rank_cities(cities: BTreeMap<String, Vec<(u64, Value)>>) -> Map<String, Value> {
    cities
        .into_iter()
        .map(|(city, mut users)| {
            users.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then_with(|| a.1["id"].as_u64().cmp(&b.1["id"].as_u64()))
            });
            let total: u64 = users.iter().map(|(score, _)| score).sum();
            let users: Vec<Value> = users.into_iter().map(|(_, user)| user).collect();
            let city_value = json!({ "count": users.len(), "total_score": total, "users": users });
            (city, city_value)
        })
        .collect()
}

/// The JSON workload: generate a document of about `target_bytes`, parse,
/// walk, transform, serialize (pretty) and parse the result again. Returns
/// the digest of the serialized result, the input's shape, the input's size
/// and how long each phase took.
pub fn json(target_bytes: usize, seed: u64) -> Result<(Digest, Shape, usize, Phases), String> {
    let mut laps = Laps::start();
    let text = generate_json(target_bytes, seed);
    laps.lap("generate");
    let document: Value =
        serde_json::from_str(&text).map_err(|e| format!("parsing the generated JSON: {e}"))?;
    laps.lap("parse");
    let shape = walk(&document);
    laps.lap("walk");
    let input_bytes = text.len();
    drop(text);
    let result = transform(document)?;
    laps.lap("transform");
    let output = serde_json::to_string_pretty(&result)
        .map_err(|e| format!("serializing the result: {e}"))?;
    laps.lap("serialize");
    let again: Value =
        serde_json::from_str(&output).map_err(|e| format!("parsing the result again: {e}"))?;
    if again != result {
        return Err("the serialized result does not parse back to the same value".into());
    }
    laps.lap("round trip");
    Ok((Digest::of(&output), shape, input_bytes, laps.phases))
}

/// Generates a Markdown document of about `target_bytes` bytes: sections
/// with headings, paragraphs with emphasis, code and links, nested lists,
/// quotes, code blocks and tables.
pub fn generate_markdown(target_bytes: usize, seed: u64) -> String {
    markdown_sections(target_bytes, seed).0
}

/// The document [`generate_markdown`] makes, and where each of its sections
/// starts. A section ends every block it opens, so each renders on its own
/// to the same HTML as in the whole document.
fn markdown_sections(target_bytes: usize, seed: u64) -> (String, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let mut doc = String::new();
    let mut starts = Vec::new();
    let mut section = 0;
    while doc.len() < target_bytes {
        starts.push(doc.len());
        section += 1;
        // `write!` to a String cannot fail.
        let _ = writeln!(doc, "## {section}. {}\n", rng.sentence(3));
        for _ in 0..1 + rng.below(4) {
            for _ in 0..3 + rng.below(6) {
                let _ = match rng.below(6) {
                    0 => write!(doc, "*{}* ", rng.sentence(2)),
                    1 => write!(doc, "**{}** ", rng.word()),
                    2 => write!(doc, "`{}()` ", rng.word()),
                    3 => write!(doc, "[{}](https://example.org/{}) ", rng.word(), rng.word()),
                    _ => {
                        let words = 1 + rng.below(8) as usize;
                        write!(doc, "{} ", rng.sentence(words))
                    }
                };
            }
            doc.push_str("\n\n");
        }
        match rng.below(4) {
            0 => {
                for i in 0..2 + rng.below(5) {
                    let _ = writeln!(doc, "- item {i}: {}", rng.sentence(4));
                    for _ in 0..rng.below(3) {
                        let _ = writeln!(doc, "  1. {} _{}_", rng.sentence(2), rng.word());
                    }
                }
            }
            1 => {
                let _ = writeln!(doc, "> {}\n> {}", rng.sentence(6), rng.sentence(5));
            }
            2 => {
                let _ = writeln!(
                    doc,
                    "```rust\nfn {}() -> u32 {{ {} }}\n```",
                    rng.word(),
                    rng.below(1000)
                );
            }
            _ => {
                doc.push_str("| name | count | note |\n|---|--:|---|\n");
                for _ in 0..2 + rng.below(6) {
                    let _ = writeln!(
                        doc,
                        "| {} | {} | {} |",
                        rng.name(),
                        rng.below(10_000),
                        rng.sentence(2)
                    );
                }
            }
        }
        doc.push('\n');
    }
    (doc, starts)
}

/// The Markdown workload: generate a document of about `target_bytes` and
/// render it to HTML with `pulldown-cmark` (tables, strikethrough and
/// footnotes on). Returns the digest of the HTML and the phase times.
pub fn markdown(target_bytes: usize, seed: u64) -> (Digest, usize, Phases) {
    let start = Instant::now();
    let doc = generate_markdown(target_bytes, seed);
    let generated = Instant::now();
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&doc, options));
    let rendered = Instant::now();
    let phases = vec![
        ("md generate", generated - start),
        ("md render", rendered - generated),
    ];
    (Digest::of(&out), doc.len(), phases)
}

/// What the indexer built: counts that describe the index's shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexShape {
    /// Documents indexed.
    pub documents: usize,
    /// Distinct terms (keys of the index).
    pub terms: usize,
    /// Postings: (term, document) pairs, over all posting lists.
    pub postings: usize,
    /// Queries answered.
    pub queries: usize,
}

/// One document of the generated corpus: a title and a body of sentences,
/// with words drawn from `vocabulary` with a skew (a few words are very
/// common, most are rare), as in real text.
fn document(vocabulary: &Vocabulary, rng: &mut Rng) -> (String, String) {
    let pick = |rng: &mut Rng| {
        // below(below(n) + 1): small indexes are far more likely.
        let bound = rng.below(VOCABULARY as u64) + 1;
        vocabulary.word(rng.below(bound) as usize)
    };
    let mut title = String::new();
    for i in 0..2 + rng.below(4) {
        if i > 0 {
            title.push(' ');
        }
        title.push_str(pick(rng));
    }
    let mut body = String::new();
    for _ in 0..3 + rng.below(20) {
        let words = 4 + rng.below(12);
        for i in 0..words {
            let word = pick(rng);
            if i == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    body.push(c.to_ascii_uppercase());
                    body.push_str(chars.as_str());
                }
            } else {
                body.push(' ');
                body.push_str(word);
            }
        }
        body.push_str(". ");
    }
    (title, body)
}

/// Words in the indexer's vocabulary.
const VOCABULARY: usize = 100_000;

/// The indexer's vocabulary in two allocations (all words in one string,
/// and where each ends), so that the long-lived objects are the index's.
struct Vocabulary {
    text: String,
    ends: Vec<u32>,
}

impl Vocabulary {
    fn new(rng: &mut Rng) -> Vocabulary {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(VOCABULARY);
        for _ in 0..VOCABULARY {
            text.push_str(&rng.word());
            ends.push(text.len() as u32);
        }
        Vocabulary { text, ends }
    }

    fn word(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }
}

/// The indexer workload: generate a corpus of about `target_bytes` of text
/// one document at a time, index every document (lower-cased tokens, term
/// counts per document, a posting list per term), then answer queries of
/// two or three terms (intersect the posting lists, rank by the terms'
/// counts, keep the best ten). Returns the digest of the answers and of the
/// index itself, the index's shape, the corpus size and the phase times
/// (`generate` is the time spent making documents up).
pub fn index(target_bytes: usize, seed: u64) -> (Digest, IndexShape, usize, Phases) {
    let mut rng = Rng::new(seed);
    let mut generating = Duration::ZERO;
    let start = Instant::now();
    let vocabulary = Vocabulary::new(&mut rng);
    // Long-lived: the index, and per document its title and first sentence.
    let mut postings: Postings = BTreeMap::new();
    let mut titles: Vec<String> = Vec::new();
    let mut snippets: Vec<String> = Vec::new();
    let mut corpus_bytes = 0;
    while corpus_bytes < target_bytes {
        let made = Instant::now();
        let (title, body) = document(&vocabulary, &mut rng);
        generating += made.elapsed();
        corpus_bytes += title.len() + body.len();
        let id = titles.len() as u32;
        // Short-lived: the tokens and the document's term counts.
        let tokens = tokens(&title, &body);
        for (term, count) in term_counts(&tokens) {
            match postings.get_mut(term) {
                Some(list) => list.push((id, count)),
                None => {
                    postings.insert(term.to_string(), vec![(id, count)]);
                }
            }
        }
        titles.push(title);
        snippets.push(body.split(". ").next().unwrap_or_default().to_string());
    }
    let built = Instant::now();
    let mut phases: Phases = vec![
        ("generate", generating),
        ("index", built - start - generating),
    ];
    // Queries: one rare term and one or two common ones, all required.
    let mut answers = String::new();
    let queries = (titles.len() / 4).max(1);
    for q in 0..queries {
        let terms = query_terms(&vocabulary, &mut rng);
        answer(q, &terms, &postings, &titles, &snippets, &mut answers);
    }
    let queried = Instant::now();
    phases.push(("query", queried - built));
    let shape = list_index(&postings, titles.len(), queries, &mut answers);
    phases.push(("digest", queried.elapsed()));
    (Digest::of(&answers), shape, corpus_bytes, phases)
}

/// A document's tokens: its words, lower-cased.
fn tokens(title: &str, body: &str) -> Vec<String> {
    title
        .split_whitespace()
        .chain(body.split(|c: char| !c.is_alphanumeric()))
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How often each token occurs, in term order.
fn term_counts(tokens: &[String]) -> BTreeMap<&str, u16> {
    let mut counts: BTreeMap<&str, u16> = BTreeMap::new();
    for token in tokens {
        let count = counts.entry(token).or_default();
        *count = count.saturating_add(1);
    }
    counts
}

/// One query's terms: one rare term and one or two common ones.
fn query_terms(vocabulary: &Vocabulary, rng: &mut Rng) -> Vec<String> {
    (0..2 + rng.below(2))
        .map(|i| {
            let bound = if i == 0 { VOCABULARY } else { 1_000 };
            vocabulary
                .word(rng.below(bound as u64) as usize)
                .to_lowercase()
        })
        .collect()
}

/// The inverted index: every term's posting list of (document, count),
/// sorted by document.
type Postings = BTreeMap<String, Vec<(u32, u16)>>;

/// Answers query number `q` (all `terms` required): intersects the posting
/// lists, ranks by the terms' counts, keeps the best ten, and appends one
/// line to `answers`.
fn answer(
    q: usize,
    terms: &[String],
    postings: &Postings,
    titles: &[String],
    snippets: &[String],
    answers: &mut String,
) {
    let mut lists: Vec<&[(u32, u16)]> = terms
        .iter()
        .filter_map(|t| postings.get(t).map(Vec::as_slice))
        .collect();
    let mut hits: Vec<(u32, u32)> = Vec::new();
    if lists.len() == terms.len() {
        // Walk the shortest list; find each document in the others by
        // binary search (every list is sorted by document).
        lists.sort_by_key(|l| l.len());
        for &(doc, count) in lists[0] {
            let mut score = u32::from(count);
            let found = lists[1..].iter().all(|list| {
                list.binary_search_by_key(&doc, |&(d, _)| d)
                    .map(|i| score += u32::from(list[i].1))
                    .is_ok()
            });
            if found {
                hits.push((doc, score));
            }
        }
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(10);
    }
    let _ = write!(answers, "{q} [{}]:", terms.join(" "));
    for (doc, score) in hits {
        let (doc, title) = (doc as usize, &titles[doc as usize]);
        let _ = write!(answers, " {doc}={score} \"{title}: {}\"", snippets[doc]);
    }
    answers.push('\n');
}

/// Appends the index itself to `out` (every term with its list, so that it
/// goes into the digest too) and returns its shape.
fn list_index(
    postings: &Postings,
    documents: usize,
    queries: usize,
    out: &mut String,
) -> IndexShape {
    let mut shape = IndexShape {
        documents,
        terms: postings.len(),
        queries,
        ..IndexShape::default()
    };
    for (term, list) in postings {
        shape.postings += list.len();
        let _ = write!(out, "{term}:");
        for (doc, count) in list {
            let _ = write!(out, " {doc}/{count}");
        }
        out.push('\n');
    }
    shape
}

// ---------------------------------------------------------------------------
// The same programs on several threads.
//
// Each splits its work across `threads` worker threads, and hands what one
// thread allocated to another to free: the parsed users and the summaries
// cross threads in `json_threaded`, every document's text, tokens and terms
// in `index_threaded`. The results are put back together in input order, so
// the output is the same bytes as the single-threaded program's.

/// `items` cut into `parts` runs of consecutive items, as even as can be
/// (none empty unless there are fewer items than parts).
fn split_evenly<T>(items: Vec<T>, parts: usize) -> Vec<Vec<T>> {
    let parts = parts.max(1);
    let (len, mut items) = (items.len(), items.into_iter());
    (0..parts)
        .map(|i| {
            let take = len / parts + usize::from(i < len % parts);
            items.by_ref().take(take).collect()
        })
        .filter(|part: &Vec<T>| !part.is_empty())
        .collect()
}

/// Splits `items` evenly over at most `threads` scoped threads, runs `work`
/// on each part, and returns the parts' results in order; a thread that
/// panicked gives `panicked()` instead.
fn on_threads<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    work: impl Fn(Vec<T>) -> R + Sync,
    panicked: impl Fn() -> R,
) -> Vec<R> {
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = split_evenly(items, threads)
            .into_iter()
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| panicked()))
            .collect()
    })
}

/// The document [`generate_json`] makes, and the byte range of each user
/// in it: the same text, written one user at a time.
pub fn generate_json_split(
    target_bytes: usize,
    seed: u64,
) -> (String, Vec<std::ops::Range<usize>>) {
    let mut rng = Rng::new(seed);
    let cities: Vec<String> = (0..256).map(|_| rng.name()).collect();
    // serde_json's maps are sorted by key, so this is `to_string`'s order.
    let mut text =
        format!("{{\"generator\":\"lab::workload::generate_json\",\"seed\":{seed},\"users\":[");
    let mut users = Vec::new();
    for id in 0..(target_bytes / USER_BYTES).max(1) as u64 {
        if id > 0 {
            text.push(',');
        }
        let start = text.len();
        text.push_str(&user(id, &cities, &mut rng).to_string());
        users.push(start..text.len());
    }
    text.push_str("]}");
    (text, users)
}

/// What one JSON worker made of its users: their shape, and the active
/// ones summed up by city, in input order.
type Summaries = (Shape, BTreeMap<String, Vec<(u64, Value)>>);

/// Parses, walks and summarizes the users at `ranges` of `text`.
fn summarize_part(text: &str, ranges: &[std::ops::Range<usize>]) -> Result<Summaries, String> {
    let mut shape = Shape::default();
    let mut cities: BTreeMap<String, Vec<(u64, Value)>> = BTreeMap::new();
    for range in ranges {
        let user: Value = serde_json::from_str(&text[range.clone()])
            .map_err(|e| format!("parsing a generated user: {e}"))?;
        let s = walk(&user);
        shape.objects += s.objects;
        shape.arrays += s.arrays;
        shape.strings += s.strings;
        shape.scalars += s.scalars;
        shape.string_bytes += s.string_bytes;
        shape.depth = shape.depth.max(s.depth);
        let Value::Object(user) = user else {
            return Err("a user is not an object".into());
        };
        if let Some((city, score, summary)) = summarize_user(user) {
            cities.entry(city).or_default().push((score, summary));
        }
    }
    Ok((shape, cities))
}

/// Serializes cities as the pretty printer writes them inside the result
/// (each line indented by four more spaces), and checks that each parses
/// back to the same value.
fn serialize_part(cities: Vec<(String, Value)>) -> Result<String, String> {
    let mut out = String::new();
    for (city, value) in cities {
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| format!("serializing the result: {e}"))?;
        let again: Value =
            serde_json::from_str(&text).map_err(|e| format!("parsing the result again: {e}"))?;
        if again != value {
            return Err("the serialized result does not parse back to the same value".into());
        }
        let key = serde_json::to_string(&city).map_err(|e| format!("serializing a key: {e}"))?;
        if !out.is_empty() {
            out.push_str(",\n");
        }
        // Pretty JSON has no newline inside a string (they are escaped), so
        // every line break is the printer's.
        let _ = write!(out, "    {key}: {}", text.replace('\n', "\n    "));
    }
    Ok(out)
}

/// [`json`](fn@json) on `threads` threads: the workers parse, walk and summarize a
/// share of the users each; the main thread merges the cities in input
/// order and ranks them; the workers serialize a share of the cities each
/// (and parse them back), and the main thread joins the pieces. Same
/// digest as [`json`](fn@json), same shape.
pub fn json_threaded(
    target_bytes: usize,
    seed: u64,
    threads: usize,
) -> Result<(Digest, Shape, usize, Phases), String> {
    if threads <= 1 {
        return json(target_bytes, seed);
    }
    let mut laps = Laps::start();
    let (text, users) = generate_json_split(target_bytes, seed);
    laps.lap("generate");
    let summaries: Vec<Result<Summaries, String>> = on_threads(
        users,
        threads,
        |ranges| summarize_part(&text, &ranges),
        || Err("a worker panicked".into()),
    );
    // The document around the users: the root object, its keys and the
    // users array, one level above the users.
    let frame =
        walk(&json!({ "generator": "lab::workload::generate_json", "seed": seed, "users": [] }));
    let mut shape = frame;
    let mut cities: BTreeMap<String, Vec<(u64, Value)>> = BTreeMap::new();
    for part in summaries {
        let (s, part_cities) = part?;
        shape.objects += s.objects;
        shape.arrays += s.arrays;
        shape.strings += s.strings;
        shape.scalars += s.scalars;
        shape.string_bytes += s.string_bytes;
        shape.depth = shape.depth.max(s.depth + 2);
        for (city, users) in part_cities {
            cities.entry(city).or_default().extend(users);
        }
    }
    let input_bytes = text.len();
    drop(text);
    laps.lap("parse");
    let ranked: Vec<(String, Value)> = rank_cities(cities).into_iter().collect();
    laps.lap("transform");
    let empty = ranked.is_empty();
    let pieces: Vec<Result<String, String>> = on_threads(ranked, threads, serialize_part, || {
        Err("a worker panicked".into())
    });
    let mut output = String::from(if empty {
        "{\n  \"cities\": {}"
    } else {
        "{\n  \"cities\": {\n"
    });
    for (i, piece) in pieces.into_iter().enumerate() {
        if i > 0 {
            output.push_str(",\n");
        }
        output.push_str(&piece?);
    }
    if !empty {
        output.push_str("\n  }");
    }
    let _ = write!(output, ",\n  \"seed\": {seed}\n}}");
    laps.lap("serialize");
    Ok((Digest::of(&output), shape, input_bytes, laps.phases))
}

/// [`markdown`] on `threads` threads: each renders a run of whole sections
/// and the main thread joins the HTML in order. Same digest as [`markdown`].
pub fn markdown_threaded(
    target_bytes: usize,
    seed: u64,
    threads: usize,
) -> (Digest, usize, Phases) {
    if threads <= 1 {
        return markdown(target_bytes, seed);
    }
    let start = Instant::now();
    let (doc, starts) = markdown_sections(target_bytes, seed);
    let generated = Instant::now();
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let sections: Vec<(usize, usize)> = starts
        .iter()
        .zip(starts.iter().skip(1).chain(std::iter::once(&doc.len())))
        .map(|(&a, &b)| (a, b))
        .collect();
    let pieces: Vec<String> = on_threads(
        sections,
        threads,
        |part: Vec<(usize, usize)>| {
            let (from, to) = (part[0].0, part[part.len() - 1].1);
            let mut out = String::new();
            html::push_html(&mut out, Parser::new_ext(&doc[from..to], options));
            out
        },
        String::new,
    );
    let out = pieces.concat();
    let rendered = Instant::now();
    let phases = vec![
        ("md generate", generated - start),
        ("md render", rendered - generated),
    ];
    (Digest::of(&out), doc.len(), phases)
}

/// What an index worker sends the merging thread about one document.
struct Parsed {
    id: u32,
    title: String,
    snippet: String,
    /// The document's terms with their counts, in term order.
    counts: Vec<(String, u16)>,
}

/// [`index`] on `threads` worker threads and one merging thread. The main
/// thread makes the corpus up first (the same documents, in the same order);
/// worker `k` of `n` tokenizes documents `k`, `k + n`, ... and sends each
/// one's terms, title and snippet through a channel; the main thread merges
/// them into the index in document order (holding back any that arrive
/// early), so the index is the same. The queries are then answered by the
/// workers, a run each, and joined in order. Same digest as [`index`].
pub fn index_threaded(
    target_bytes: usize,
    seed: u64,
    threads: usize,
) -> (Digest, IndexShape, usize, Phases) {
    if threads <= 1 {
        return index(target_bytes, seed);
    }
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let vocabulary = Vocabulary::new(&mut rng);
    let made = Instant::now();
    let mut shares: Vec<Vec<(u32, String, String)>> = (0..threads).map(|_| Vec::new()).collect();
    let (mut corpus_bytes, mut documents) = (0, 0);
    while corpus_bytes < target_bytes {
        let (title, body) = document(&vocabulary, &mut rng);
        corpus_bytes += title.len() + body.len();
        shares[documents % threads].push((documents as u32, title, body));
        documents += 1;
    }
    let generated = Instant::now();
    let mut postings: Postings = BTreeMap::new();
    let mut titles: Vec<String> = Vec::with_capacity(documents);
    let mut snippets: Vec<String> = Vec::with_capacity(documents);
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Parsed>(1024);
        for share in shares {
            let sender = sender.clone();
            scope.spawn(move || {
                for (id, title, body) in share {
                    let tokens = tokens(&title, &body);
                    let counts = term_counts(&tokens)
                        .into_iter()
                        .map(|(term, count)| (term.to_string(), count))
                        .collect();
                    let snippet = body.split(". ").next().unwrap_or_default().to_string();
                    let parsed = Parsed {
                        id,
                        title,
                        snippet,
                        counts,
                    };
                    if sender.send(parsed).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        // Merge in document order: a document that arrives before its turn
        // waits in `early`.
        let mut early: BTreeMap<u32, Parsed> = BTreeMap::new();
        let mut next = 0u32;
        for parsed in receiver {
            early.insert(parsed.id, parsed);
            while let Some(doc) = early.remove(&next) {
                for (term, count) in doc.counts {
                    match postings.get_mut(&term) {
                        Some(list) => list.push((doc.id, count)),
                        None => {
                            postings.insert(term, vec![(doc.id, count)]);
                        }
                    }
                }
                titles.push(doc.title);
                snippets.push(doc.snippet);
                next += 1;
            }
        }
    });
    let built = Instant::now();
    let mut phases: Phases = vec![
        ("generate", generated - made),
        // Like `index`'s, the vocabulary counts as indexing.
        ("index", (made - start) + (built - generated)),
    ];
    let queries = (titles.len() / 4).max(1);
    let all_terms: Vec<(usize, Vec<String>)> = (0..queries)
        .map(|q| (q, query_terms(&vocabulary, &mut rng)))
        .collect();
    let answers: Vec<String> = on_threads(
        all_terms,
        threads,
        |part| {
            let mut out = String::new();
            for (q, terms) in part {
                answer(q, &terms, &postings, &titles, &snippets, &mut out);
            }
            out
        },
        String::new,
    );
    let mut answers = answers.concat();
    let queried = Instant::now();
    phases.push(("query", queried - built));
    let shape = list_index(&postings, titles.len(), queries, &mut answers);
    phases.push(("digest", queried.elapsed()));
    (Digest::of(&answers), shape, corpus_bytes, phases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_workload_is_deterministic_and_round_trips() {
        let (a, shape, input, _) = json(200_000, 7).unwrap();
        let (b, _, _, _) = json(200_000, 7).unwrap();
        assert_eq!(a, b);
        assert!(input > 100_000, "{input} bytes");
        assert!(shape.nodes() > 10_000);
        assert_ne!(
            json(200_000, 8).unwrap().0,
            a,
            "another seed, another document"
        );
    }

    #[test]
    fn transform_keeps_active_users_only() {
        let document: Value = serde_json::from_str(&generate_json(50_000, 3)).unwrap();
        let active = document["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["active"] == true)
            .count();
        let result = transform(document).unwrap();
        let counted: u64 = result["cities"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        assert_eq!(counted, active as u64);
        assert!(transform(json!([1, 2])).is_err());
    }

    #[test]
    fn the_index_workload_is_deterministic_and_finds_what_it_indexed() {
        let (a, shape, bytes, phases) = index(200_000, 5);
        assert!(bytes >= 200_000);
        assert_eq!(a, index(200_000, 5).0);
        assert_ne!(a, index(200_000, 6).0, "another seed, another corpus");
        assert!(shape.documents > 100 && shape.terms > 1_000, "{shape:?}");
        assert!(shape.postings > shape.terms, "{shape:?}");
        assert_eq!(phases[0].0, "generate");
    }

    #[test]
    fn markdown_renders_deterministically() {
        let (a, len, _) = markdown(50_000, 1);
        assert!(len >= 50_000);
        assert_eq!(a, markdown(50_000, 1).0);
        let html = {
            let mut out = String::new();
            html::push_html(
                &mut out,
                Parser::new_ext(&generate_markdown(2_000, 1), Options::ENABLE_TABLES),
            );
            out
        };
        assert!(html.contains("<h2>") && html.contains("<p>"), "{html}");
    }

    #[test]
    fn split_evenly_keeps_order_and_balance() {
        let parts = split_evenly((0..10).collect::<Vec<_>>(), 3);
        assert_eq!(parts, vec![vec![0, 1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]);
        assert_eq!(split_evenly(vec![1], 4), vec![vec![1]]);
    }

    #[test]
    fn the_split_json_is_the_same_text() {
        let (text, users) = generate_json_split(30_000, 9);
        assert_eq!(text, generate_json(30_000, 9));
        let first: Value = serde_json::from_str(&text[users[0].clone()]).unwrap();
        assert_eq!(first["id"], 0);
    }

    #[test]
    fn threaded_programs_print_what_single_threaded_ones_print() {
        for (size, seed) in [(120_000, 7), (30_000, 3), (700, 1)] {
            let (digest, shape, bytes, _) = json(size, seed).unwrap();
            for threads in [2, 3, 4] {
                let (d, s, b, _) = json_threaded(size, seed, threads).unwrap();
                assert_eq!(
                    (d, s, b),
                    (digest, shape, bytes),
                    "json {size} {seed} {threads}"
                );
            }
            let (md, len, _) = markdown(size, seed);
            let (digest, shape, corpus, _) = index(size, seed);
            for threads in [2, 3, 4] {
                assert_eq!(
                    markdown_threaded(size, seed, threads).0,
                    md,
                    "markdown {threads}"
                );
                assert_eq!(markdown_threaded(size, seed, threads).1, len);
                let (d, s, c, phases) = index_threaded(size, seed, threads);
                assert_eq!(
                    (d, s, c),
                    (digest, shape, corpus),
                    "index {size} {seed} {threads}"
                );
                assert_eq!(phases[0].0, "generate");
            }
        }
    }
}
