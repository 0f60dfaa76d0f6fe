//! The smallest typed arena: values of one type, kept in chunks that never
//! move, handed out as `&T` for as long as the arena lives. The chapter
//! "Arenas" starts here.
//!
//! `cargo run --example first_arena`
use std::cell::RefCell;

// ANCHOR: arena
/// Values of type `T`, all dropped together when the arena is dropped.
struct TypedArena<T> {
    /// Full chunks, then the current one. A chunk never grows past its
    /// capacity, so its values never move.
    chunks: RefCell<Vec<Vec<T>>>,
}

impl<T> TypedArena<T> {
    fn new() -> TypedArena<T> {
        TypedArena {
            chunks: RefCell::new(vec![Vec::with_capacity(8)]),
        }
    }

    fn alloc(&self, value: T) -> &T {
        let mut chunks = self.chunks.borrow_mut();
        let current = chunks.last().expect("there is always a chunk");
        if current.len() == current.capacity() {
            // Full: start a chunk twice as large, and leave this one alone.
            let bigger = Vec::with_capacity(current.capacity() * 2);
            // This push may move the outer vector's buffer: each chunk's
            // pointer, length and capacity. The values, in the chunks' own
            // buffers, stay where they are.
            chunks.push(bigger);
        }
        let current = chunks.last_mut().expect("there is always a chunk");
        current.push(value); // within capacity: nothing moves
        let value: *const T = current.last().expect("just pushed");
        // SAFETY: the value stays at this address until the arena is
        // dropped (its chunk never reallocates, and values are never
        // removed), and the returned reference cannot outlive `&self`.
        unsafe { &*value }
    }
}
// ANCHOR_END: arena

// ANCHOR: tree
/// A syntax tree whose nodes point at each other with plain references.
enum Expr<'a> {
    Num(i64),
    Add(&'a Expr<'a>, &'a Expr<'a>),
    Mul(&'a Expr<'a>, &'a Expr<'a>),
}

fn eval(e: &Expr<'_>) -> i64 {
    match e {
        Expr::Num(n) => *n,
        Expr::Add(l, r) => eval(l) + eval(r),
        Expr::Mul(l, r) => eval(l) * eval(r),
    }
}
// ANCHOR_END: tree

fn main() {
    // ANCHOR: main
    let arena = TypedArena::new();
    // 1 + 2 * 3, built bottom-up: every node is a `&Expr` into the arena.
    let one = arena.alloc(Expr::Num(1));
    let two = arena.alloc(Expr::Num(2));
    let three = arena.alloc(Expr::Num(3));
    let product = arena.alloc(Expr::Mul(two, three));
    let sum = arena.alloc(Expr::Add(one, product));
    assert_eq!(eval(sum), 7);

    // Many more nodes: chunks of 8, 16, 32, ... and no node ever moves.
    let first: *const Expr = one;
    let mut total = sum;
    for n in 0..100 {
        let leaf = arena.alloc(Expr::Num(n));
        total = arena.alloc(Expr::Add(total, leaf));
    }
    assert!(std::ptr::eq(first, one));
    assert_eq!(eval(total), 7 + (0..100).sum::<i64>());
    println!(
        "1 + 2 * 3 = {}; after 200 more nodes, {}",
        eval(sum),
        eval(total)
    );
    let chunks = arena.chunks.borrow().len();
    println!("{chunks} chunks");
    assert_eq!(chunks, 5); // 8 + 16 + 32 + 64 + 128 places for 205 nodes
    // ANCHOR_END: main
} // the arena goes, and every node with it, in one step
