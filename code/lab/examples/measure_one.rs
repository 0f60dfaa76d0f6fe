//! Parse a trace, replay it against one of the book's allocators and one
//! peer with checking on, and compute utilization by hand.
//!
//! `cargo run --release -p lab --example measure_one`
use lab::region::TraceHeap;
use lab::registry;
use lab::replay::{Job, Options, Outcome};
use lab::trace::Trace;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ANCHOR: parse
    // Header: suggested heap size, number of ids, number of ops, weight.
    let text = "0\n3\n6\n1\na 0 100\na 1 4000\na 2 60\nf 1\nr 0 300\nf 0\n";
    let trace = Trace::parse("tiny.rep", text)?;
    // The peak of live payload: 100 + 4000 + 60 bytes, before `f 1`.
    assert_eq!(trace.peak_live, 4160);
    // A broken trace is an error that names the line.
    let broken = "0\n3\n2\n1\na 0 100\nf 2\n";
    let error = Trace::parse("broken.rep", broken).unwrap_err();
    println!("{error}");
    assert!(error.to_string().contains("broken.rep:6"));
    // ANCHOR_END: parse

    // ANCHOR: replay
    let options = Options {
        reps: 3,
        check: true,
        ..Options::default()
    };
    for name in ["segregated", "talc"] {
        let entry = registry::find(name).ok_or("unknown allocator")?;
        let job = Job {
            trace: &trace,
            options: &options,
            path: None,
            allocator: entry.name,
        };
        let heap = TraceHeap::new(job.heap_size())?;
        match entry.measure(&job, &heap) {
            Outcome::Measured(m) => {
                let footprint = m.footprint.ok_or("no footprint")?;
                let util = trace.peak_live as f64 / footprint as f64;
                println!(
                    "{name:>10}: footprint {footprint} bytes, utilization {:.0}%",
                    100.0 * util
                );
                assert!(footprint >= trace.peak_live, "a heap holds its live data");
            }
            other => return Err(format!("{name}: {other:?}").into()),
        }
    }
    // ANCHOR_END: replay
    Ok(())
}
