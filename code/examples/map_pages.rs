//! Map, touch and unmap pages with the crate's `Mapping`.
use allocators::os::{page_size, Mapping};

fn main() -> std::io::Result<()> {
    // ANCHOR: main
    let page = page_size();
    let mut map = Mapping::new(1)?; // ask for one byte...
    assert_eq!(map.len(), page); // ...and get a whole page
    map.as_mut_slice()[0] = 42;
    println!("page size {page}, mapped {} bytes at {:p}", map.len(), map.as_ptr());
    drop(map); // munmap
    // ANCHOR_END: main
    Ok(())
}
