//! `record-trace [WORKLOAD...]`: runs well-known Rust workloads under a
//! recording global allocator and writes each one's allocations as a trace
//! into `code/lab/traces/rec-WORKLOAD.rep`.
//!
//! Workloads:
//!
//! - `json`: builds a JSON document of user records (deterministic, from a
//!   seeded generator), parses it into a `serde_json::Value`, walks it, and
//!   serializes it again;
//! - `collections`: makes a `Vec<String>` of generated words and sorts it,
//!   builds a `BTreeMap<String, Vec<u32>>` index of them, removes half of the
//!   keys, and drops everything.
//!
//! Nothing in a workload depends on addresses or on hashing seeds (no
//! `HashMap`), so the recorded trace is the same on every run.

use lab::generate::SplitMix64;
use lab::recorder::Recorder;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static RECORDER: Recorder = Recorder::new();

/// Events the buffer holds: far more than either workload makes.
const CAPACITY: usize = 4 << 20;

fn word(rng: &mut SplitMix64) -> String {
    let len = rng.range(3, 12);
    (0..len)
        .map(|_| (b'a' + rng.range(0, 25) as u8) as char)
        .collect()
}

fn json() {
    let mut rng = SplitMix64::new(0x5EED_0001);
    let mut doc = String::from("{\"users\":[");
    for i in 0..700 {
        if i > 0 {
            doc.push(',');
        }
        let name = word(&mut rng);
        let _ = write!(
            doc,
            "{{\"id\":{i},\"name\":\"{name}\",\"email\":\"{name}@example.org\",\"score\":{:.3},\"active\":{},\"tags\":[",
            rng.range(0, 100_000) as f64 / 7.0,
            rng.chance(0.5)
        );
        for t in 0..rng.range(0, 5) {
            if t > 0 {
                doc.push(',');
            }
            let _ = write!(doc, "\"{}\"", word(&mut rng));
        }
        let _ = write!(
            doc,
            "],\"address\":{{\"city\":\"{}\",\"zip\":\"{:05}\"}},\"friends\":[",
            word(&mut rng),
            rng.range(0, 99_999)
        );
        for f in 0..rng.range(0, 6) {
            if f > 0 {
                doc.push(',');
            }
            let _ = write!(doc, "{}", rng.range(0, 699));
        }
        doc.push_str("]}");
    }
    doc.push_str("]}");
    let value: serde_json::Value = match serde_json::from_str(&doc) {
        Ok(v) => v,
        Err(e) => panic!("the generated JSON does not parse: {e}"),
    };
    // Walk it: count the strings, as a program reading the document would.
    let mut strings = 0usize;
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(_) => strings += 1,
            serde_json::Value::Array(a) => stack.extend(a.iter()),
            serde_json::Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    let again = serde_json::to_string(&value).unwrap_or_default();
    black_box((strings, again.len()));
}

fn collections() {
    let mut rng = SplitMix64::new(0x5EED_0002);
    let mut words: Vec<String> = (0..3000).map(|_| word(&mut rng)).collect();
    words.sort();
    let mut index: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        index.entry(w.clone()).or_default().push(i as u32);
        // Some words get long posting lists, which grow by reallocation.
        if rng.chance(0.05) {
            let list = index.entry(w.clone()).or_default();
            list.extend((0..rng.range(10, 200)).map(|x| x as u32));
        }
    }
    let doomed: Vec<String> = index.keys().step_by(2).cloned().collect();
    for k in &doomed {
        index.remove(k);
    }
    black_box(index.len());
}

/// A workload, by name.
type Workload = (&'static str, fn());

/// The workloads.
const WORKLOADS: [Workload; 2] = [("json", json), ("collections", collections)];

const USAGE: &str = "usage: record-trace [WORKLOAD...]
  runs each workload (json, collections; default: both) under a recording
  global allocator and writes its trace to code/lab/traces/rec-WORKLOAD.rep
  -h, --help  this text
";

/// The workloads to record, in order.
fn parse_args() -> Result<Vec<Workload>, lab::cli::Stop> {
    use lexopt::prelude::*;
    let mut workloads = Vec::new();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = lab::cli::next(&mut parser, USAGE)? {
        match arg {
            Value(name) => {
                let name = name.string()?;
                let Some(&workload) = WORKLOADS.iter().find(|(n, _)| *n == name) else {
                    return Err(format!("unknown workload `{name}` (json, collections)").into());
                };
                workloads.push(workload);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if workloads.is_empty() {
        workloads = WORKLOADS.to_vec();
    }
    Ok(workloads)
}

fn main() -> ExitCode {
    let workloads = match parse_args() {
        Ok(workloads) => workloads,
        Err(stop) => return lab::cli::stopped("record-trace", stop),
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
    for (name, workload) in workloads {
        if let Err(e) = RECORDER.start(CAPACITY) {
            eprintln!("record-trace: cannot map the event buffer: {e}");
            return ExitCode::FAILURE;
        }
        workload();
        let recording = RECORDER.finish();
        if recording.overflowed {
            eprintln!("record-trace: {name}: the event buffer filled up; raise CAPACITY");
            return ExitCode::FAILURE;
        }
        let path = dir.join(format!("rec-{name}.rep"));
        if let Err(e) = std::fs::write(&path, &recording.text) {
            eprintln!("record-trace: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!(
            "{}: {} calls recorded, {} bytes, largest alignment {}",
            path.display(),
            recording.events,
            recording.text.len(),
            recording.max_align
        );
    }
    ExitCode::SUCCESS
}
