//! Rounding an address to an alignment with one add and one mask, and what
//! happens when the add overflows.
//!
//! `cargo run --example alignment`
use allocators::align::align_up;

fn main() {
    // ANCHOR: trick
    let addr: usize = 0b1011_0101; // 181
    let align: usize = 8; // 0b1000: a power of two
    let mask = align - 1; // 0b0111: the low bits a multiple of 8 must not have

    let bumped = addr + mask; // 188 = 0b1011_1100: at or past the next multiple
    let up = bumped & !mask; // 184 = 0b1011_1000: clear the low bits
    let down = addr & !mask; // 176 = 0b1011_0000: clearing alone rounds down
    let show = |what: &str, n: usize| println!("{what:<10}{n:4} = {n:#010b}");
    show("addr", addr);
    show("addr + 7", bumped);
    show("up", up);
    show("down", down);
    assert_eq!((bumped, up, down), (188, 184, 176));
    assert!(up.is_multiple_of(align) && down.is_multiple_of(align));
    assert!(down <= addr && addr <= up && up - down == align);

    // An address that is already aligned stays where it is.
    assert_eq!((184 + mask) & !mask, 184);
    // ANCHOR_END: trick

    // ANCHOR: not_power
    // With 24, which is not a power of two, "clear the low bits" means nothing:
    // 23 = 0b1_0111 is not a run of low ones, and the result is no multiple of 24.
    let (align24, mask24) = (24usize, 23usize);
    let wrong = (addr + mask24) & !mask24;
    println!(
        "with align 24: {wrong} (a multiple of 24? {})",
        wrong.is_multiple_of(align24)
    );
    assert_eq!(wrong, 200);
    assert!(!wrong.is_multiple_of(align24));
    // ANCHOR_END: not_power

    // ANCHOR: overflow
    // Near the top of the address space, the add wraps around to a small
    // number, and the "rounded up" address lies *below* the one we started at.
    let near_top = usize::MAX - 2;
    let wrapped = near_top.wrapping_add(mask) & !mask;
    println!("{near_top:#x} rounds up to {wrapped:#x} when the add wraps");
    assert_eq!(wrapped, 0);

    // The crate's align_up checks the add, and says "no" instead.
    assert_eq!(align_up(near_top, align), None);
    assert_eq!(align_up(addr, align), Some(184));
    // It also refuses an alignment that is not a power of two.
    assert_eq!(align_up(addr, 24), None);
    println!(
        "align_up({near_top:#x}, 8) = {:?}",
        align_up(near_top, align)
    );
    // ANCHOR_END: overflow
}
