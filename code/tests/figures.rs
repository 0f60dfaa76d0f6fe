//! The book's memory diagrams, drawn from real allocator states.
//!
//! Each figure runs an allocator, reads back where its blocks landed, and
//! draws that with `allocators::diagram`. The test compares the drawing with
//! the committed SVG in `imgs/` and fails if they differ, so a figure can never
//! drift from the code. After changing an allocator, regenerate them all with
//!
//! ```sh
//! UPDATE_FIGURES=1 cargo test -p allocators --test figures
//! ```

use allocators::bump::BumpAllocator;
use allocators::diagram::{render, Part, Strip};
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use std::alloc::Layout;
use std::path::PathBuf;
use std::ptr::NonNull;

/// Compares `svg` with `imgs/NAME`, or writes it there under UPDATE_FIGURES.
fn check_figure(name: &str, svg: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../imgs")
        .join(name);
    if std::env::var_os("UPDATE_FIGURES").is_some() {
        std::fs::write(&path, svg).expect("write the figure");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == svg,
        "imgs/{name} is stale: regenerate it with `UPDATE_FIGURES=1 cargo test -p allocators --test figures`"
    );
}

/// One live or dead block of a bump allocator, as the figure shows it.
struct Shown {
    ptr: NonNull<u8>,
    layout: Layout,
    label: &'static str,
    freed: bool,
}

/// The state of a bump allocator over `region`: its blocks, the padding
/// between them (bytes above a block up to the next block or the end that no
/// block covers), and the bump pointer.
fn bump_strip(caption: &str, bump: &BumpAllocator<OwnedRegion>, blocks: &[Shown]) -> Strip {
    let base = bump.bounds().start;
    let size = bump.bounds().len();
    let top = bump.top().as_ptr() as usize - base;
    let mut strip = Strip::new(caption, size).marker(top, "top");
    let mut live: Vec<&Shown> = blocks
        .iter()
        .filter(|b| b.ptr.as_ptr() as usize - base >= top)
        .collect();
    live.sort_by_key(|b| b.ptr.as_ptr() as usize);
    // Walk upward from the bump pointer: every byte above it is a block or
    // padding; below it everything is free.
    let mut at = top;
    for b in live {
        let start = b.ptr.as_ptr() as usize - base;
        if start > at {
            strip = strip.segment(at, start - at, Part::Padding, "");
        }
        let part = if b.freed { Part::Lost } else { Part::Payload };
        strip = strip.segment(start, b.layout.size(), part, b.label);
        at = start + b.layout.size();
    }
    if at < size {
        strip = strip.segment(at, size - at, Part::Padding, "");
    }
    strip
}

// Regions are allocated with the global allocator, which Miri runs fine, but
// reading imgs/ needs file system access that Miri's isolation forbids.
#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn bump_figures() {
    // A 128-byte region aligned to 64, so every offset's alignment is the
    // address's alignment and the figure is the same on every run.
    let mut bump = BumpAllocator::new(OwnedRegion::new(128, 64).expect("a tiny region"));
    let base = bump.bounds().start;
    let mut shown: Vec<Shown> = Vec::new();
    let mut strips = vec![bump_strip("new: top = end", &bump, &shown)];

    let mut alloc = |bump: &mut BumpAllocator<OwnedRegion>, size, align, label| {
        let layout = Layout::from_size_align(size, align).expect("a valid layout");
        let ptr = bump.allocate(layout).expect("fits in the region");
        Shown {
            ptr,
            layout,
            label,
            freed: false,
        }
    };
    shown.push(alloc(&mut bump, 24, 8, "a: 24 B"));
    strips.push(bump_strip("a = alloc(24, align 8)", &bump, &shown));
    shown.push(alloc(&mut bump, 3, 1, "b"));
    strips.push(bump_strip("b = alloc(3, align 1)", &bump, &shown));
    shown.push(alloc(&mut bump, 16, 16, "c: 16 B"));
    strips.push(bump_strip("c = alloc(16, align 16)", &bump, &shown));
    let steps_svg = render(
        "A bump allocator over a 128-byte region, four states from top to bottom. \
         New: the bump pointer top is at the end, offset 128, and everything is free. \
         After a = alloc(24, align 8) the block a fills offsets 104 to 128 and top = 104. \
         After b = alloc(3, align 1), b fills 101 to 104 and top = 101. \
         After c = alloc(16, align 16), c fills 80 to 96 and the five bytes from 96 to 101 \
         are padding, so that c starts at a multiple of 16; top = 80.",
        &strips,
    );
    // The figure must show what the chapter says it shows.
    let offsets: Vec<usize> = shown
        .iter()
        .map(|b| b.ptr.as_ptr() as usize - base)
        .collect();
    assert_eq!(offsets, [104, 101, 80]);
    check_figure("bump-steps.svg", &steps_svg);

    // Freeing: the newest block rewinds, the others are lost until reset.
    let mut strips = vec![bump_strip("a, b, c allocated", &bump, &shown)];
    let c = &mut shown[2];
    // SAFETY: c is the live block just allocated with this layout.
    unsafe { bump.deallocate(c.ptr, c.layout) };
    shown.remove(2);
    strips.push(bump_strip("free(c): newest, rewinds", &bump, &shown));
    let a = &mut shown[0];
    // SAFETY: a is live and allocated with this layout.
    unsafe { bump.deallocate(a.ptr, a.layout) };
    a.freed = true;
    strips.push(bump_strip("free(a): not newest, no-op", &bump, &shown));
    let top_before_reset = bump.top().as_ptr() as usize - base;
    assert_eq!(
        top_before_reset, 96,
        "rewinding c leaves its padding behind"
    );
    bump.reset();
    shown.clear();
    strips.push(bump_strip("reset(): all free again", &bump, &shown));
    assert_eq!(bump.heap_size(), 0);
    let free_svg = render(
        "The same bump allocator freeing, four states from top to bottom. \
         With a, b and c allocated, top = 80. Freeing c, the newest block, moves top back \
         to c's end, offset 96; the padding above c stays used. Freeing a, which is not the \
         newest block, changes nothing: a's 24 bytes are lost until a reset, and top stays 96. \
         reset() moves top back to the end, 128, and the whole region is free again.",
        &strips,
    );
    check_figure("bump-free.svg", &free_svg);
}
