//! Checks the exercises of the chapter "How real allocators do it".

use exercises::refinements::block_sizes;

#[test]
fn exercise_1_block_sizes() {
    assert_eq!(block_sizes(24), Some((48, 32)), "the chapter's example");
    assert_eq!(block_sizes(1), Some((32, 32)));
    assert_eq!(block_sizes(16), Some((32, 32)));
    assert_eq!(block_sizes(40), Some((64, 48)));
    // The crate's own block_size is the second number.
    for payload in 0..2000 {
        let (_, footer_free) = block_sizes(payload).unwrap();
        assert_eq!(Some(footer_free), allocators::block::block_size(payload));
    }
    assert_eq!(block_sizes(usize::MAX - 4), None);
}
