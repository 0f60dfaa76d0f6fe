//! Map, touch and unmap pages with the crate's `Mapping`.
//!
//! `cargo run --example map_pages`
use allocators::os::{Mapping, page_size};

fn main() -> std::io::Result<()> {
    // ANCHOR: main
    let page = page_size();
    let mut map = Mapping::new(1)?; // ask for one byte...
    assert_eq!(map.len(), page); // ...and get a whole page
    assert_eq!(
        map.as_ptr() as usize % page,
        0,
        "it starts on a page boundary"
    );
    assert!(
        map.as_mut_slice().iter().all(|&b| b == 0),
        "and reads as zero"
    );
    map.as_mut_slice()[0] = 42;
    println!(
        "page size {page}, mapped {} bytes at {:p}",
        map.len(),
        map.as_ptr()
    );

    let bigger = Mapping::new(page + 1)?; // one byte more than a page...
    assert_eq!(bigger.len(), 2 * page); // ...costs a second page
    println!("asked for {} bytes, got {}", page + 1, bigger.len());
    // Dropping a Mapping unmaps it: `map` now, `bigger` when main returns.
    drop(map);
    // ANCHOR_END: main
    Ok(())
}
