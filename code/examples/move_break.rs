//! Move the program break with `sbrk`, look at the addresses it hands back,
//! and give the memory back.
//!
//! `cargo run --example move_break`
//!
//! The break is shared with glibc's `malloc`, so everything between the first
//! `sbrk` and the last one is done without allocating: no `println!`, no `Vec`.
use allocators::os::{page_size, program_break, sbrk};

fn main() -> std::io::Result<()> {
    // Warm up stdout now, so that its buffer is malloc'd before we start.
    println!("page size: {} bytes", page_size());

    // ANCHOR: moves
    let page = page_size() as isize;
    let start = program_break();

    // SAFETY: this process has one thread, nothing allocates between these
    // calls and the last one below, and all the memory is given back there.
    let (a, b, c) = unsafe { (sbrk(page)?, sbrk(2 * page)?, sbrk(24)?) };
    let end = program_break();

    // Each call returns the *old* break: the start of the memory it added.
    // The last one moved the break by 24 bytes, not by a page.
    assert_eq!(a, start);
    assert_eq!(b as usize, a as usize + page as usize);
    assert_eq!(c as usize, b as usize + 2 * page as usize);
    assert_eq!(end as usize, c as usize + 24);

    // SAFETY: [a, end) is the memory we just added; nobody else has it.
    unsafe {
        a.write_bytes(0xA1, page as usize);
        b.write_bytes(0xB2, 2 * page as usize);
        c.write_bytes(0xC3, 24);
        assert_eq!(*c.add(23), 0xC3);
    }

    // Nothing has moved the break since: giving the memory back is safe.
    assert_eq!(program_break(), end, "someone else moved the break");
    let total = end as isize - start as isize;
    // SAFETY: [start, end) is exactly the memory we added above, and we no
    // longer use it; a, b and c are not read again.
    let old = unsafe { sbrk(-total) }?;
    assert_eq!(old, end);
    assert_eq!(program_break(), start);
    // ANCHOR_END: moves

    let rows = [
        ("break before".to_string(), start),
        (format!("sbrk({page}) returned"), a),
        (format!("sbrk({}) returned", 2 * page), b),
        ("sbrk(24) returned".to_string(), c),
        ("break after growing".to_string(), end),
        (format!("break after sbrk(-{total})"), program_break()),
    ];
    for (what, addr) in rows {
        println!("{what:<26} {addr:p}");
    }
    Ok(())
}
