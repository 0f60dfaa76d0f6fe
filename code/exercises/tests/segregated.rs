//! Checks the exercises of the chapter "Segregated free lists".

use exercises::segregated::{best_in_class, size_class};

#[test]
fn exercise_1_size_class() {
    assert_eq!(size_class(32), 0);
    assert_eq!(size_class(240), 13);
    assert_eq!(size_class(256), 14);
    assert_eq!(size_class(448), 17);
    assert_eq!(size_class(512), 18);
    // Every block size up to 4 MiB agrees with the crate's.
    for size in (32..=4 << 20).step_by(16) {
        assert_eq!(
            size_class(size),
            allocators::segregated::size_class(size),
            "size {size}"
        );
    }
    assert_eq!(size_class(1 << 40), 63);
}

#[test]
fn exercise_2_best_in_class() {
    let sizes = [320, 288, 304, 272, 288];
    let best = |asize, candidates| best_in_class(&sizes, asize, candidates);
    assert_eq!(best(256, 3), Some(1), "the best of the first three");
    assert_eq!(best(256, 5), Some(3), "the best of all five");
    assert_eq!(best(280, 5), Some(1), "the first of two 288s");
    assert_eq!(best(256, 1), Some(0), "first fit");
    assert_eq!(best(304, 3), Some(2), "an exact fit");
    assert_eq!(best(296, 2), Some(2), "two candidates: 320 and 304");
    assert_eq!(best(336, 3), None);
}
