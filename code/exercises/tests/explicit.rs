//! Checks the exercises of the chapter "The explicit free list".

use exercises::explicit::{NEXT, NIL, PREV, W, insert_by_address, link, next_fit, set_link};

/// A heap of `n` free 48-byte blocks (from byte 24 on); only their headers
/// and links matter here.
fn words(n: usize) -> Vec<usize> {
    let mut words = vec![0; (24 + 48 * n + W) / W];
    for i in 0..n {
        words[(24 + 48 * i) / W] = 48;
    }
    words
}

fn block(i: usize) -> usize {
    24 + 48 * i
}

/// The list from `head`, checking every `prev` link on the way.
fn list(words: &[usize], head: usize) -> Vec<usize> {
    let (mut out, mut prev, mut b) = (Vec::new(), NIL, head);
    while b != NIL {
        assert_eq!(link(words, b, PREV), prev, "prev link of {b}");
        out.push(b);
        (prev, b) = (b, link(words, b, NEXT));
    }
    out
}

#[test]
fn exercise_1_insert_by_address() {
    let mut w = words(6);
    let mut head = NIL;
    for i in [3, 1, 5, 0, 4, 2] {
        insert_by_address(&mut w, &mut head, block(i));
    }
    assert_eq!(list(&w, head), (0..6).map(block).collect::<Vec<_>>());
}

#[test]
fn exercise_2_next_fit() {
    // A list in the order 0, 2, 4, 6 with sizes 48, 96, 48, 96.
    let mut w = words(8);
    for (i, size) in [(0, 48), (2, 96), (4, 48), (6, 96)] {
        w[block(i) / W] = size;
    }
    let order = [0, 2, 4, 6].map(block);
    for (k, &b) in order.iter().enumerate() {
        set_link(&mut w, b, NEXT, order.get(k + 1).copied().unwrap_or(NIL));
        set_link(&mut w, b, PREV, if k == 0 { NIL } else { order[k - 1] });
    }
    let head = order[0];
    assert_eq!(next_fit(&w, head, NIL, 48), Some(block(0)));
    assert_eq!(next_fit(&w, head, block(2), 48), Some(block(2)));
    assert_eq!(next_fit(&w, head, block(4), 96), Some(block(6)));
    // The rover itself is the first candidate.
    assert_eq!(next_fit(&w, head, block(6), 48), Some(block(6)));
    // From the last block, the search wraps around to the head.
    w[block(6) / W] = 32;
    assert_eq!(next_fit(&w, head, block(6), 64), Some(block(2)));
    assert_eq!(next_fit(&w, head, block(4), 128), None);
}
