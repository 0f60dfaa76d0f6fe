//! External fragmentation, measured: plenty of free memory, none of it usable.
//!
//! `cargo run --example holes`
fn main() {
    // ANCHOR: main
    const BLOCK: usize = 4000;
    let mut blocks: Vec<Option<Vec<u8>>> = (0..17).map(|_| Some(vec![1u8; BLOCK])).collect();
    let starts: Vec<usize> = blocks
        .iter()
        .flatten()
        .map(|b| b.as_ptr() as usize)
        .collect();
    // malloc carved the blocks one after another, a fixed stride apart.
    let stride = starts[1] - starts[0];
    assert!(
        starts
            .windows(2)
            .all(|w| w[1].checked_sub(w[0]) == Some(stride))
    );

    // Free every other block: 1, 3, ..., 15. Each hole lies between two live
    // blocks, so no two holes can merge into a bigger one.
    let mut gaps = Vec::new();
    for i in (1..17).step_by(2) {
        blocks[i] = None;
        // All the room between its two live neighbours: the hole, plus the
        // next live block's bookkeeping (16 bytes wider than the hole), so
        // the check below that no hole holds the request is, if anything, strict.
        gaps.push((starts[i - 1] + BLOCK, starts[i + 1])); // [start, end)
    }
    // A hole is one stride: a freed block's bytes and the bookkeeping next to them.
    let hole = stride;
    let free = gaps.len() * hole;

    // Ask for twice a block. Each hole is at least a block long (the stride
    // is), so the eight of them hold at least four times the request.
    let request = 2 * BLOCK;
    let big = vec![2u8; request];
    let at = big.as_ptr() as usize;
    assert!(free >= 4 * request && hole < request);
    for &(start, end) in &gaps {
        assert!(at + request <= start || at >= end, "no hole can hold it");
    }
    if cfg!(target_env = "gnu") {
        // glibc found no free chunk big enough, so it carved the block from
        // the top of its heap: above all seventeen.
        assert!(at >= starts[16] + BLOCK);
    }
    println!(
        "17 blocks of {BLOCK} bytes, {stride} bytes apart, at {:#x}..{:#x}",
        starts[0],
        starts[16] + BLOCK
    );
    println!("after freeing 8 of them: {free} bytes free, in holes of {hole} bytes");
    println!("a request for {request} bytes went to {at:#x}, outside every hole");
    // ANCHOR_END: main
    drop(blocks);
}
