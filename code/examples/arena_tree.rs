//! A syntax tree in an arena: parse, evaluate, and drop the whole tree at
//! once, request after request, reusing the same memory.
//!
//! `cargo run --example arena_tree`
use allocators::arena::Arena;
use allocators::growing_bump::GrowingBump;
use allocators::raw_allocator::{AllocError, RawAllocator};

// ANCHOR: tree
/// An expression tree whose nodes point at each other with plain references.
/// Every node lives in the same arena, so they all live exactly as long. The
/// nodes are `Copy` (they own nothing that needs dropping), which is what
/// lets them borrow from the arena they live in (see `Arena::alloc_copy`).
#[derive(Clone, Copy)]
enum Expr<'t> {
    Num(i64),
    Add(&'t Expr<'t>, &'t Expr<'t>),
    Mul(&'t Expr<'t>, &'t Expr<'t>),
}

/// Parses sums of products of numbers, such as `1 + 2 * 3`, into `arena`.
fn parse<'t>(arena: &'t Arena<'_, GrowingBump>, text: &str) -> Result<&'t Expr<'t>, AllocError> {
    let mut sum: Option<&Expr> = None;
    for term in text.split('+') {
        let mut product: Option<&Expr> = None;
        for number in term.split('*') {
            let n = number
                .trim()
                .parse()
                .expect("the demo's input is well formed");
            let leaf = arena.alloc_copy(Expr::Num(n))?;
            product = Some(match product {
                None => leaf,
                Some(left) => arena.alloc_copy(Expr::Mul(left, leaf))?,
            });
        }
        let term = product.expect("split yields at least one piece");
        sum = Some(match sum {
            None => term,
            Some(left) => arena.alloc_copy(Expr::Add(left, term))?,
        });
    }
    Ok(sum.expect("split yields at least one piece"))
}

fn eval(e: &Expr<'_>) -> i64 {
    match e {
        Expr::Num(n) => *n,
        Expr::Add(l, r) => eval(l) + eval(r),
        Expr::Mul(l, r) => eval(l) * eval(r),
    }
}
// ANCHOR_END: tree

fn main() -> Result<(), AllocError> {
    // ANCHOR: requests
    let requests = ["1 + 2 * 3", "2 * 3 * 4 + 5", "10 + 20 + 30 * 0"];
    let mut answers = Vec::new();
    let mut heap_after_reset = Vec::new();
    let mut arena = Arena::new(GrowingBump::new());
    for request in requests {
        // One request: every node of its tree comes from the arena...
        let tree = parse(&arena, request)?;
        answers.push(eval(tree));
        // ...and goes in one step. `reset` takes `&mut`, so the borrow
        // checker has proved that no node is still referenced.
        arena.reset();
        heap_after_reset.push(arena.allocator().heap_size());
    }
    assert_eq!(answers, [7, 29, 30]);
    // ANCHOR_END: requests
    let mapped = arena.allocator().mapped();
    println!(
        "answers {answers:?}; heap after each reset {heap_after_reset:?} bytes (the chunk's header); {mapped} bytes mapped"
    );
    // Nothing accumulates from one request to the next.
    assert!(heap_after_reset.iter().all(|&h| h == heap_after_reset[0]));
    assert!(heap_after_reset[0] <= 64, "only the chunk header stays");
    assert_eq!(
        arena.allocator().chunks(),
        1,
        "one chunk served every request"
    );
    Ok(())
}
