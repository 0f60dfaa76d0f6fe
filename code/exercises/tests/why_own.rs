//! Checks the exercises of the chapter "Why write your own?".

use exercises::why_own::{SizeHistogram, bucket};
use std::alloc::{GlobalAlloc, Layout};

#[test]
fn exercise_1_buckets() {
    let expected = [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (8, 3),
        (9, 4),
        (4096, 12),
    ];
    for (size, b) in expected {
        assert_eq!(bucket(size), b, "bucket({size})");
    }
    assert_eq!(
        bucket(usize::MAX),
        23,
        "the last bucket takes everything larger"
    );
}

#[test]
fn exercise_1_the_histogram_counts_what_it_forwards() {
    let histogram = SizeHistogram::new();
    let layout = Layout::from_size_align(100, 8).expect("a valid layout");
    // SAFETY: a valid layout; the block is freed with it below.
    let ptr = unsafe { histogram.alloc(layout) };
    assert!(!ptr.is_null());
    // SAFETY: allocated above with this layout.
    unsafe { histogram.dealloc(ptr, layout) };
    assert_eq!(histogram.counts()[bucket(100)], 1);
    assert_eq!(histogram.counts().iter().sum::<u64>(), 1);
}
