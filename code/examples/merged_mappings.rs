//! Does one mapping per object run into the kernel's limit on mappings?
//! Side by side, with the same permissions, the kernel merges them into one
//! region; a guard page between them keeps every one apart.
//!
//! `cargo run --example merged_mappings`
use allocators::os::{Mapping, page_size};
use std::io::{self, BufRead};

/// How many regions `/proc/self/maps` lists for this process right now.
fn regions() -> io::Result<usize> {
    let maps = std::fs::File::open("/proc/self/maps")?;
    // Stream it line by line: a big buffer would be a mapping of its own.
    Ok(io::BufReader::new(maps).lines().count())
}

/// The most regions a process may have: the `vm.max_map_count` sysctl.
fn max_map_count() -> io::Result<usize> {
    let text = std::fs::read_to_string("/proc/sys/vm/max_map_count")?;
    text.trim().parse().map_err(io::Error::other)
}

fn main() -> io::Result<()> {
    // ANCHOR: main
    const N: usize = 10_000;
    let page = page_size();

    // N objects of one page each, every one in a mapping of its own.
    let before = regions()?;
    let mut plain = Vec::with_capacity(N);
    for _ in 0..N {
        let mut object = Mapping::new(page)?;
        object.as_mut_slice()[0] = 1; // use it
        plain.push(object);
    }
    let merged = regions()? - before;
    drop(plain); // unmaps all N

    // The same, with a guard page after each object: the second page of
    // each mapping can be neither read nor written.
    let before = regions()?;
    let mut guarded = Vec::with_capacity(N);
    for _ in 0..N {
        let mut object = Mapping::new(2 * page)?;
        object.as_mut_slice()[0] = 1;
        // SAFETY: the second page is part of the mapping we own; nothing
        // reads or writes it from now on, and Drop unmaps the whole range
        // whatever its protection.
        let rc = unsafe { libc::mprotect(object.as_ptr().add(page).cast(), page, libc::PROT_NONE) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        guarded.push(object);
    }
    let apart = regions()? - before;
    drop(guarded);

    println!("{N} one-page mappings, side by side:   +{merged} regions");
    println!("{N} with a guard page after each:      +{apart} regions");
    println!(
        "the limit, vm.max_map_count:            {}",
        max_map_count()?
    );
    // Neighbours with the same permissions merge into a few regions...
    assert!(merged < N / 100);
    // ...but a guard page splits every object into two regions of its own.
    assert!(apart >= 2 * N);
    // ANCHOR_END: main
    Ok(())
}
