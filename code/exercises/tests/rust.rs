//! Checks the exercises of the chapter "Plugging an allocator into Rust".

use exercises::rust::Capped;
use std::alloc::{GlobalAlloc, Layout, System};

#[test]
fn exercise_1_capped() {
    let capped = Capped {
        inner: System,
        limit: 1024,
    };
    let small = Layout::from_size_align(1024, 8).expect("a valid layout");
    let large = Layout::from_size_align(1025, 8).expect("a valid layout");
    // SAFETY: valid layouts; every non-null block is freed with its layout.
    unsafe {
        assert!(capped.alloc(large).is_null(), "1025 bytes must be refused");
        let p = capped.alloc(small);
        assert!(!p.is_null(), "1024 bytes must succeed");
        p.write(7);
        assert!(
            capped.realloc(p, small, 4096).is_null(),
            "growing past the limit must fail"
        );
        assert_eq!(p.read(), 7, "a failed realloc leaves the block alone");
        let q = capped.realloc(p, small, 16);
        assert!(!q.is_null());
        assert_eq!(q.read(), 7);
        capped.dealloc(q, Layout::from_size_align(16, 8).expect("a valid layout"));
    }
}
