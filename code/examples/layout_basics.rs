//! What a `Layout` says, and how Rust computes the layout of a struct.
//!
//! `cargo run --example layout_basics`
use std::alloc::Layout;
use std::mem::offset_of;

// ANCHOR: all
#[allow(dead_code)] // only its layout matters here
#[repr(C)] // fields in the order written, so the padding is predictable
struct Record {
    tag: u8,    // 1 byte at offset 0
    value: u64, // 8 bytes, aligned to 8: offset 8, after 7 bytes of padding
    flag: u16,  // 2 bytes at offset 16
}

fn main() {
    // Every type has a size and an alignment; a Layout is the pair.
    let record = Layout::new::<Record>();
    println!("Record: size {}, align {}", record.size(), record.align());

    // Build the same layout by hand, the way #[repr(C)] does: extend field by
    // field (extend inserts the padding and returns each field's offset), then
    // round the size up to the alignment, so that arrays of it stay aligned.
    let (l, tag_at) = (Layout::new::<u8>(), 0);
    let (l, value_at) = l.extend(Layout::new::<u64>()).expect("small sizes");
    let (l, flag_at) = l.extend(Layout::new::<u16>()).expect("small sizes");
    let by_hand = l.pad_to_align();
    println!(
        "offsets {tag_at}, {value_at}, {flag_at}; {} bytes",
        by_hand.size()
    );
    assert_eq!((value_at, flag_at), (8, 16));
    assert_eq!(by_hand, record);

    // Where the bytes go: the fields' own sizes, the gap before `value`, and
    // the tail that rounds the size up to the alignment.
    let data = size_of::<u8>() + size_of::<u64>() + size_of::<u16>();
    let gap = offset_of!(Record, value) - (offset_of!(Record, tag) + size_of::<u8>());
    let tail = size_of::<Record>() - (offset_of!(Record, flag) + size_of::<u16>());
    println!(
        "{data} bytes of data, {} of padding ({gap} before value, {tail} at the end)",
        gap + tail
    );
    assert_eq!(data + gap + tail, record.size());
    assert_eq!((data, gap, tail), (11, 7, 6));

    // An array of n Records is n times the padded size.
    let array = Layout::array::<Record>(1000).expect("fits in isize");
    assert_eq!(array.size(), 24_000);

    // Layouts that could not describe real memory are errors, not UB.
    assert!(Layout::from_size_align(8, 3).is_err()); // not a power of two
    assert!(Layout::from_size_align(usize::MAX, 8).is_err()); // over isize::MAX
    assert!(Layout::array::<Record>(usize::MAX / 8).is_err()); // overflows
}
// ANCHOR_END: all
