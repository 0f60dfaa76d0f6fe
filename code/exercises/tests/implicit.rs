//! Checks the exercises of the chapter "The implicit free list".

use exercises::implicit::{FIRST, W, best_fit, check};

/// Builds a heap of the first implicit list from (size, allocated) blocks.
fn heap(blocks: &[(usize, bool)]) -> Vec<usize> {
    let total: usize = blocks.iter().map(|b| b.0).sum();
    let mut words = vec![0; (FIRST + total + W) / W];
    words[1] = 16 | 1;
    words[2] = 16 | 1;
    let mut b = FIRST;
    for &(size, allocated) in blocks {
        let tag = size | usize::from(allocated);
        words[b / W] = tag;
        words[(b + size) / W - 1] = tag;
        b += size;
    }
    *words.last_mut().unwrap() = 1;
    words
}

#[test]
fn exercise_1_check() {
    let good = heap(&[(48, true), (96, false), (48, true), (32, false)]);
    assert_eq!(check(&good), Ok(4));
    assert_eq!(check(&heap(&[(64, false)])), Ok(1));

    // The broken split: the remainder at 72 has a header of 48 and the old
    // footer of 96.
    let mut broken = heap(&[(48, true), (96, false), (48, true)]);
    broken[72 / W] = 48 | 1;
    broken[(72 + 48) / W - 1] = 48 | 1;
    broken[120 / W] = 48;
    let err = check(&broken).unwrap_err();
    assert!(err.contains("120"), "names the bad block: {err}");

    let side_by_side = heap(&[(48, true), (48, false), (48, false)]);
    assert!(check(&side_by_side).unwrap_err().contains("120"));

    let mut overrun = heap(&[(48, true), (48, false)]);
    overrun[72 / W] = 96; // runs over the epilogue
    assert!(check(&overrun).is_err());

    let mut tiny = heap(&[(48, true), (48, false)]);
    tiny[72 / W] = 16;
    assert!(check(&tiny).is_err());

    let mut no_epilogue = heap(&[(48, true)]);
    *no_epilogue.last_mut().unwrap() = 0;
    assert!(check(&no_epilogue).is_err());
}

#[test]
fn exercise_2_best_fit() {
    // Free blocks of 96, 64, 128 and 64 bytes, between allocated ones.
    let words = heap(&[
        (32, true),
        (96, false),
        (32, true),
        (64, false),
        (32, true),
        (128, false),
        (32, true),
        (64, false),
        (32, true),
    ]);
    let at = |i: usize| FIRST + [0, 32, 128, 160, 224, 256, 384, 416][i];
    assert_eq!(
        best_fit(&words, 48),
        Some(at(3)),
        "the first of the two 64s"
    );
    assert_eq!(best_fit(&words, 64), Some(at(3)), "an exact fit");
    assert_eq!(best_fit(&words, 80), Some(at(1)));
    assert_eq!(best_fit(&words, 112), Some(at(5)));
    assert_eq!(best_fit(&words, 144), None);
}
