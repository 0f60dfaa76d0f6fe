//! The book's memory diagrams, drawn from real allocator states.
//!
//! Each figure runs an allocator, reads back where its blocks landed, and
//! draws that with `figures`. The test compares the drawing with
//! the committed SVG in `imgs/` and fails if they differ, so a figure can never
//! drift from the code. After changing an allocator, regenerate them all with
//!
//! ```sh
//! UPDATE_FIGURES=1 cargo test -p figures
//! ```

use allocators::bump::BumpAllocator;
use allocators::raw_allocator::RawAllocator;
use allocators::region::OwnedRegion;
use figures::{Part, Strip, render};
use std::alloc::Layout;
use std::ptr::NonNull;

mod common;
use common::check_committed;

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

    let alloc = |bump: &mut BumpAllocator<OwnedRegion>, size, align, label| {
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
    check_committed("bump-steps.svg", &steps_svg);

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
    check_committed("bump-free.svg", &free_svg);
}

// ---------------------------------------------------------------------------
// The free-list chapter's figures. Each heap lives in a region far smaller
// than the heap's growth chunk, so it grows by exactly the block it needs and
// the figure shows the whole heap: padding to the first header, the blocks,
// and the epilogue.

use allocators::block::{BlockInfo, BlockKind, WORD};
use allocators::explicit::{ExplicitFreeList, Insertion};
use allocators::heap::RegionBreak;
use allocators::implicit::{ImplicitFreeList, Placement};
use allocators::segregated::{SegregatedFreeList, size_class};

/// A region for a figure heap: too small for a growth chunk, aligned so that
/// offsets are the same on every run.
fn figure_region() -> RegionBreak<OwnedRegion> {
    RegionBreak::new(OwnedRegion::new(1024, 64).expect("a tiny region"))
}

/// What the figure knows about a live block: its name and the size asked for.
struct Named {
    ptr: NonNull<u8>,
    size: usize,
    label: &'static str,
}

/// Draws an implicit list's heap from its block walk: each allocated block
/// as header, payload (the requested bytes) and padding (the rest of the
/// block); each free block as header, free space and footer; the epilogue
/// as a lone header.
fn heap_strip(caption: &str, blocks: &[BlockInfo], named: &[Named], freed: &[Named]) -> Strip {
    heap_strip_tagged(caption, blocks, named, freed, true, false)
}

/// As `heap_strip`, for an explicit or segregated list: a free block's first
/// two payload words are its links, drawn as `next` and `prev`.
fn list_strip(caption: &str, blocks: &[BlockInfo], named: &[Named], freed: &[Named]) -> Strip {
    heap_strip_tagged(caption, blocks, named, freed, true, true)
}

/// As `heap_strip`; with `tag_text` false, headers and footers are told
/// apart by their colour alone (the legend names it), which leaves room for
/// the labels of a heap with many small free blocks.
fn heap_strip_tagged(
    caption: &str,
    blocks: &[BlockInfo],
    named: &[Named],
    freed: &[Named],
    tag_text: bool,
    links: bool,
) -> Strip {
    heap_strip_cached(caption, blocks, named, freed, &[], tag_text, links)
}

/// A block the program freed that a cache in front of the heap holds (a
/// quick list, a thread's cache): allocated as far as the heap's blocks
/// say, with its cache's link in its first payload word.
struct CachedBlock<'a> {
    /// The address of the block's header.
    addr: usize,
    /// The name drawn in the rest of the block.
    label: &'a str,
    /// The text drawn in its header.
    hdr: &'a str,
}

/// As `heap_strip_tagged`, with the `cached` blocks drawn as a header, a
/// `next` word and the rest of the block, in the colour of cached blocks.
fn heap_strip_cached(
    caption: &str,
    blocks: &[BlockInfo],
    named: &[Named],
    freed: &[Named],
    cached: &[CachedBlock],
    tag_text: bool,
    links: bool,
) -> Strip {
    let (hdr, ftr) = if tag_text { ("hdr", "ftr") } else { ("", "") };
    let base = blocks.first().expect("a heap with blocks").addr;
    let end = blocks.last().expect("an epilogue").addr + WORD;
    let mut strip = Strip::new(caption, end - base);
    for b in blocks {
        let at = b.addr - base;
        match b.kind {
            BlockKind::Padding => strip = strip.segment(at, b.size, Part::Padding, ""),
            BlockKind::Epilogue => strip = strip.segment(at, WORD, Part::Header, "epilogue"),
            BlockKind::Allocated if let Some(c) = cached.iter().find(|c| c.addr == b.addr) => {
                strip = strip
                    .segment(at, WORD, Part::Header, c.hdr)
                    .segment(at + WORD, WORD, Part::Cached, "next")
                    .segment(at + 2 * WORD, b.size - 2 * WORD, Part::Cached, c.label);
            }
            BlockKind::Allocated => {
                let name = named
                    .iter()
                    .find(|n| n.ptr.as_ptr() as usize == b.payload())
                    .expect("every allocated block is named");
                strip = strip.segment(at, WORD, Part::Header, hdr).segment(
                    at + WORD,
                    name.size,
                    Part::Payload,
                    name.label,
                );
                let pad = b.size - WORD - name.size;
                if pad > 0 {
                    strip = strip.segment(at + WORD + name.size, pad, Part::Padding, "");
                }
            }
            BlockKind::Free => {
                // The names of the freed blocks this free block is made of.
                let inside =
                    |n: &&Named| (b.addr..b.addr + b.size).contains(&(n.ptr.as_ptr() as usize));
                let mut names: Vec<&Named> = freed.iter().filter(inside).collect();
                names.sort_by_key(|n| n.ptr);
                // A label's name is what comes before its ':' ("a: 24 B" is a).
                let names: Vec<&str> = names
                    .iter()
                    .map(|n| n.label.split(':').next().unwrap_or(n.label))
                    .collect();
                strip = strip.segment(at, WORD, Part::Header, hdr);
                let mut space = at + WORD;
                if links {
                    strip = strip.segment(space, WORD, Part::Free, "next").segment(
                        space + WORD,
                        WORD,
                        Part::Free,
                        "prev",
                    );
                    space += 2 * WORD;
                }
                strip = strip
                    .segment(
                        space,
                        at + b.size - WORD - space,
                        Part::Free,
                        names.join("+"),
                    )
                    .segment(at + b.size - WORD, WORD, Part::Footer, ftr);
            }
        }
    }
    strip
}

/// Adds a free list's links to a strip: the head points at the first block,
/// and each block's `next` word (the first payload word) at the one after.
/// Arrows start in the middle of the `next` word and end in the middle of
/// the header they point at, so that a thin header is still hit squarely.
fn with_list(strip: Strip, base: usize, list: &[usize], head: &str) -> Strip {
    let stops: Vec<(usize, usize)> = list
        .iter()
        .map(|&block| (block - base + WORD / 2, block - base + WORD + WORD / 2))
        .collect();
    with_chain(strip, &stops, head)
}

/// Draws a linked list as arrows: `head` points at the first stop, and each
/// stop's link at the next. A stop is (where an arrow arrives, where the
/// stop's own link leaves), as offsets in the strip.
fn with_chain(mut strip: Strip, stops: &[(usize, usize)], head: &str) -> Strip {
    let mut from = None;
    for (i, &(arrive, leave)) in stops.iter().enumerate() {
        let label = if i == 0 { head } else { "next" };
        strip = strip.link(from, arrive, label);
        from = Some(leave);
    }
    strip
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("a valid layout")
}

/// Allocates `size` bytes and remembers the block's name for the figure.
fn named<A: RawAllocator>(heap: &mut A, size: usize, label: &'static str) -> Named {
    let ptr = heap
        .allocate(layout(size))
        .expect("the figure heap has room");
    Named { ptr, size, label }
}

/// Frees the named block `label` and moves it to `freed`.
fn free_named<A: RawAllocator>(
    heap: &mut A,
    named: &mut Vec<Named>,
    freed: &mut Vec<Named>,
    label: &str,
) {
    let i = named
        .iter()
        .position(|n| n.label.starts_with(label))
        .expect("a live block by that name");
    let n = named.remove(i);
    // SAFETY: `n.ptr` is live in `heap`, allocated with this layout.
    unsafe { heap.deallocate(n.ptr, layout(n.size)) };
    heap.check().expect("the heap checker passes");
    freed.push(n);
}

fn sizes(blocks: &[BlockInfo]) -> Vec<(BlockKind, usize)> {
    blocks
        .iter()
        .filter(|b| matches!(b.kind, BlockKind::Allocated | BlockKind::Free))
        .map(|b| (b.kind, b.size))
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn free_list_figures() {
    use BlockKind::{Allocated as A, Free as F};

    // The block format: three blocks, the middle one freed.
    let mut heap = ImplicitFreeList::new(figure_region(), Placement::FirstFit);
    let mut freed = Vec::new();
    let mut live = vec![
        named(&mut heap, 24, "a: 24 B"),
        named(&mut heap, 60, "b: 60 B"),
        named(&mut heap, 36, "c: 36 B"),
    ];
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 32), (A, 80), (A, 48)]);
    let mut strips = vec![heap_strip("a, b, c allocated", &blocks, &live, &freed)];
    free_named(&mut heap, &mut live, &mut freed, "b");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 32), (F, 80), (A, 48)]);
    assert!(!blocks[3].prev_allocated, "c's header says b is free");
    strips.push(heap_strip("free(b)", &blocks, &live, &freed));
    check_committed(
        "freelist-block-format.svg",
        &render(
            "The block format, in a heap of 176 bytes. Top: 8 bytes of padding so that payloads \
             are 16-byte aligned, then three allocated blocks and the epilogue. Block a is 32 \
             bytes: an 8-byte header and a 24-byte payload. Block b is 80 bytes: header, 60-byte \
             payload and 12 bytes of padding. Block c is 48 bytes: header, 36-byte payload and \
             4 bytes of padding. The epilogue is a lone 8-byte header at the end, labelled \
             epilogue. Bottom: after \
             free(b), b's 80 bytes are a free block: header, 64 bytes of free space, and a \
             footer that copies the header. An allocated block has no footer.",
            &strips,
        ),
    );

    // Splitting: the freed 80-byte block serves a 24-byte request, and the
    // 48 bytes behind it stay free.
    let mut strips = vec![strips.remove(1)];
    live.push(named(&mut heap, 24, "d: 24 B"));
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 32), (A, 32), (F, 48), (A, 48)]);
    strips.push(heap_strip("d = alloc(24): split", &blocks, &live, &freed));
    check_committed(
        "freelist-split.svg",
        &render(
            "Splitting a free block in the crate's implicit list. Top: blocks a (32 bytes), a \
             free block of 80 bytes, and c (48 bytes). Bottom: after d = alloc(24), first fit \
             takes the free block and splits it: d gets the first 32 bytes (an 8-byte header and \
             the 24-byte payload, no footer), and the remaining 48 bytes become a free block of \
             their own: header, 32 bytes of free space and footer.",
            &strips,
        ),
    );

    // Coalescing: the four cases, in one heap of six blocks.
    let mut heap = ImplicitFreeList::new(figure_region(), Placement::FirstFit);
    let mut freed = Vec::new();
    let mut live: Vec<Named> = ["a", "b", "c", "d", "e", "f"]
        .into_iter()
        .map(|label| named(&mut heap, 40, label))
        .collect();
    let mut strips = vec![heap_strip(
        "six blocks",
        &heap.blocks().collect::<Vec<_>>(),
        &live,
        &freed,
    )];
    let steps = [
        (
            "b",
            "free(b): case 1",
            vec![(A, 48), (F, 48), (A, 48), (A, 48), (A, 48), (A, 48)],
        ),
        (
            "c",
            "free(c): case 3",
            vec![(A, 48), (F, 96), (A, 48), (A, 48), (A, 48)],
        ),
        (
            "e",
            "free(e): case 1",
            vec![(A, 48), (F, 96), (A, 48), (F, 48), (A, 48)],
        ),
        ("d", "free(d): case 4", vec![(A, 48), (F, 192), (A, 48)]),
        ("a", "free(a): case 2", vec![(F, 240), (A, 48)]),
    ];
    for (label, caption, expect) in steps {
        free_named(&mut heap, &mut live, &mut freed, label);
        let blocks: Vec<BlockInfo> = heap.blocks().collect();
        assert_eq!(sizes(&blocks), expect, "{caption}");
        strips.push(heap_strip(caption, &blocks, &live, &freed));
    }
    check_committed(
        "freelist-coalesce.svg",
        &render(
            "Immediate coalescing in the crate's implicit list, six states from top to \
             bottom, in a heap of six 48-byte blocks a to f: allocated blocks have a header \
             and no footer, free blocks a header and a footer. free(b): both neighbours are allocated (case 1), so b becomes a \
             free block on its own. free(c): the block before is free and the one after is \
             allocated (case 3), so b and c merge into one free block of 96 bytes. free(e): \
             case 1 again. free(d): both neighbours are free (case 4), and b, c, d and e merge \
             into one free block of 192 bytes. free(a): the block after is free (case 2), and \
             the free block grows to 240 bytes. Only f stays allocated.",
            &strips,
        ),
    );

    // The explicit free list: the same frees, in LIFO and in address order,
    // as in the `explicit_lists` example: seven 48-byte blocks (40 bytes
    // asked), d, b and f freed, and free space at the top of the heap. The
    // example's top is the rest of a growth chunk, pushed on the list
    // first; here the region is too small for a chunk, so a block above g
    // is freed first instead, and plays the top, drawn short.
    let mut strips = Vec::new();
    for (insertion, caption) in [
        (Insertion::Lifo, "LIFO: free d, b, f"),
        (Insertion::AddressOrdered, "address order: d, b, f"),
    ] {
        let mut heap = ExplicitFreeList::new(figure_region(), insertion);
        let mut freed = Vec::new();
        let mut live: Vec<Named> = ["a", "b", "c", "d", "e", "f", "g"]
            .into_iter()
            .map(|label| named(&mut heap, 40, label))
            .collect();
        live.push(named(&mut heap, 88, "top"));
        for label in ["top", "d", "b", "f"] {
            free_named(&mut heap, &mut live, &mut freed, label);
        }
        let blocks: Vec<BlockInfo> = heap.blocks().collect();
        let base = blocks[0].addr;
        let list: Vec<usize> = heap.free_list().collect();
        let name_of =
            |addr: usize| ["a", "b", "c", "d", "e", "f", "g", "top"][(addr - base - 8) / 48];
        let order: Vec<&str> = list.iter().map(|&a| name_of(a)).collect();
        // The order the example prints.
        match insertion {
            Insertion::Lifo => assert_eq!(order, ["f", "b", "d", "top"]),
            Insertion::AddressOrdered => assert_eq!(order, ["b", "d", "f", "top"]),
        }
        // Headers and footers told apart by colour: eight blocks leave no
        // room for their names.
        strips.push(with_list(
            heap_strip_tagged(caption, &blocks, &live, &freed, false, true),
            base,
            &list,
            "head",
        ));
    }
    check_committed(
        "freelist-explicit.svg",
        &render(
            "Two explicit free lists over the same heap of seven 48-byte blocks a to g and \
             free space at the top, after freeing d, then b, then f. Arrows are the list's \
             links: from the list head, and from each free block's next word to the next free \
             block; links that point to a higher address arc above the heap, links that point \
             back arc below it. Headers and footers are told apart by colour. Top, LIFO insertion: the head points at f, the block freed \
             last, f's next points back at b, b's next at d, and d's next at the top, which \
             was on the list first. Bottom, address-ordered insertion: head to b, b to d, d to \
             f, f to the top. Allocated blocks are never on the list.",
            &strips,
        ),
    );

    // Segregated lists: one list per size class. The plain lists, without
    // quick lists or a wilderness, so that every free goes straight to its
    // class (How real allocators do it shows both).
    let mut heap = SegregatedFreeList::plain(figure_region());
    let mut freed = Vec::new();
    let mut live: Vec<Named> = [
        (40, "a"),
        (72, "b"),
        (40, "c"),
        (72, "d"),
        (40, "e"),
        (72, "f"),
        (40, "g"),
        (72, "h"),
    ]
    .into_iter()
    .map(|(size, label)| named(&mut heap, size, label))
    .collect();
    for label in ["a", "f", "c", "h"] {
        free_named(&mut heap, &mut live, &mut freed, label);
    }
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    let base = blocks[0].addr;
    let (small, large) = (size_class(48), size_class(80));
    assert_eq!((small, large), (1, 3));
    assert_eq!(heap.bitmap(), 0b1010);
    let small_list: Vec<usize> = heap.class_list(small).collect();
    let large_list: Vec<usize> = heap.class_list(large).collect();
    // LIFO: each list starts with the block freed last, c and h, which lie
    // above a and f.
    assert!(small_list.len() == 2 && small_list[0] > small_list[1]);
    assert!(large_list.len() == 2 && large_list[0] > large_list[1]);
    // The caption shows the bitmap, low bit (class 0) on the right.
    let caption = format!(
        "classes 1 and 3 listed, bitmap ...{:04b} (not to scale)",
        heap.bitmap()
    );
    let strip = heap_strip_tagged(&caption, &blocks, &live, &freed, false, true);
    let strip = with_list(strip, base, &small_list, "class 1");
    let strip = with_list(strip, base, &large_list, "class 3");
    check_committed(
        "freelist-segregated.svg",
        &render(
            "Segregated free lists over one heap of eight blocks, alternately 48 and 80 bytes: \
             a, c, e and g of 48 bytes, b, d, f and h of 80 bytes, after freeing a, f, c and h. \
             The free 48-byte blocks are on the list of size class 1, whose head points at c, \
             the one freed last, and c's next link points back at a. The free 80-byte blocks \
             are on the list of class 3: head to h, h's next back to f. The arrows are the \
             heads and next links; prev links are not drawn. Links to a higher \
             address arc above the heap, links back arc below it. Headers and footers are \
             told apart by colour. The caption gives the low bits of the class bitmap, 1010: \
             bits 1 and 3 are set, one for each non-empty class. b, d, e and g stay \
             allocated. The blocks are not drawn to scale: a free block is drawn wide enough \
             to show its next and prev words.",
            &[strip],
        ),
    );
}

// ---------------------------------------------------------------------------
// The explicit chapter's list surgery: one LIFO list, step by step, as a
// split relinks, an exact fit unlinks, and a free pushes at the front.

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn list_surgery_figure() {
    let mut heap = ExplicitFreeList::new(figure_region(), Insertion::Lifo);
    let mut freed = Vec::new();
    let mut live: Vec<Named> = ["a", "b", "c", "d", "e"]
        .into_iter()
        .map(|label| named(&mut heap, 120, label))
        .collect();
    let base = heap.blocks().next().expect("a heap").addr;
    // The header of block `i` of the five 128-byte blocks.
    let block = |i: usize| base + WORD + 128 * i;
    let mut strips = Vec::new();
    let mut draw = |heap: &ExplicitFreeList<_>, live: &[Named], freed: &[Named], caption| {
        let blocks: Vec<BlockInfo> = heap.blocks().collect();
        let list: Vec<usize> = heap.free_list().collect();
        strips.push(with_list(
            list_strip(caption, &blocks, live, freed),
            base,
            &list,
            "head",
        ));
        list
    };

    for label in ["d", "b"] {
        free_named(&mut heap, &mut live, &mut freed, label);
    }
    let list = draw(&heap, &live, &freed, "free d, then b");
    assert_eq!(list, [block(1), block(3)]);

    // A split: the remainder takes b's place in the list.
    live.push(named(&mut heap, 56, "x"));
    heap.check().expect("the heap checker passes");
    let list = draw(&heap, &live, &freed, "x = alloc(56): split b");
    assert_eq!(list, [block(1) + 64, block(3)]);

    // An exact fit: d leaves the list, its neighbours' links close over it.
    live.push(named(&mut heap, 120, "y"));
    heap.check().expect("the heap checker passes");
    assert_eq!(
        live.last().map(|n| n.ptr.as_ptr() as usize),
        Some(block(3) + WORD)
    );
    let list = draw(&heap, &live, &freed, "y = alloc(120): unlink d");
    assert_eq!(list, [block(1) + 64]);

    // A free with no free neighbour: pushed at the front.
    free_named(&mut heap, &mut live, &mut freed, "a");
    let list = draw(&heap, &live, &freed, "free(a): push at the front");
    assert_eq!(list, [block(0), block(1) + 64]);

    check_committed(
        "freelist-surgery.svg",
        &render(
            "An explicit LIFO free list over a heap of five 128-byte blocks a to e, in four \
             steps from top to bottom. Arrows are the list's next links, from the head and \
             from each free block's next word; the prev links, which mirror them, are not \
             drawn. First, after freeing d and then b: head to b, b to \
             d. Second, x = alloc(56) takes the front 64 bytes of b, and the 64-byte \
             remainder takes b's place in the list: head to the remainder, then d. Third, \
             y = alloc(120) skips the remainder, too small, and takes d, which fits exactly: \
             d leaves the list, and the head points at the remainder alone. Fourth, free(a): \
             a has no free neighbour, so it goes to the front: head to a, a to the remainder.",
            &strips,
        ),
    );
}

// ---------------------------------------------------------------------------
// The bump chapter's chain of chunks: a GrowingBump whose first chunk filled
// up, drawn chunk by chunk, newest first, as its list links them.

use allocators::growing_bump::GrowingBump;

#[test]
#[cfg_attr(miri, ignore = "maps chunks with mmap, and reads imgs/")]
fn growing_bump_figure() {
    let page = allocators::os::page_size();
    if page != 4096 {
        // The figure shows 4 KiB and 8 KiB chunks; other page sizes map others.
        return;
    }
    let mut heap = GrowingBump::with_limits(4096, usize::MAX);
    let block = Layout::from_size_align(1200, 8).expect("a valid layout");
    let labels = ["a", "b", "c", "d", "e"];
    let blocks: Vec<NonNull<u8>> = labels
        .iter()
        .map(|_| heap.allocate(block).expect("the OS has pages"))
        .collect();
    assert_eq!((heap.chunks(), heap.mapped()), (2, 4096 + 8192));
    let mut chunks = Vec::new();
    heap.for_each_region(&mut |data| chunks.push(data));
    // The header sits right before each chunk's data, at the mapping's start.
    let header = 4096 - chunks[1].len();
    let mut strips = Vec::new();
    for (i, data) in chunks.iter().enumerate() {
        let base = data.start - header;
        let len = data.len() + header;
        let caption = match i {
            0 => format!("newest chunk, {} KiB", len / 1024),
            _ => format!("older chunk, {} KiB", len / 1024),
        };
        let mut strip = Strip::new(caption, len).segment(0, header, Part::Header, "");
        let mut lowest = data.end;
        for (ptr, label) in blocks.iter().zip(labels) {
            let addr = ptr.as_ptr() as usize;
            if data.contains(&addr) {
                strip = strip.segment(addr - base, block.size(), Part::Payload, label);
                lowest = lowest.min(addr);
            }
        }
        strip = if i == 0 {
            strip.marker(lowest - base, "top")
        } else {
            let lost = lowest - data.start;
            assert!(
                lost < block.size(),
                "the old chunk was too full for the next block"
            );
            strip.segment(header, lost, Part::Lost, "lost")
        };
        strips.push(strip);
    }
    let svg = render(
        "A GrowingBump after five allocations of 1,200 bytes, its chunks newest first. \
         The older chunk, 4 KiB, holds a, b and c at its end; the space left below c, \
         too small for d, is lost. The newest chunk, 8 KiB, was mapped for d; d and e sit \
         at its end, top is below e, and the rest of the chunk is free. Each chunk starts \
         with a small header that owns the next older chunk.",
        &strips,
    );
    check_committed("bump-chunks.svg", &svg);
}

// ---------------------------------------------------------------------------
// How real allocators do it: carving small blocks from the high end of the
// wilderness, and the wilderness coming back, in the segregated lists with
// every refinement on (`SegregatedFreeList::new`).

/// `n` with a comma between thousands, as the book writes numbers.
fn thousands(n: usize) -> String {
    if n < 1000 {
        n.to_string()
    } else {
        format!("{},{:03}", n / 1000, n % 1000)
    }
}

/// The segregated heap as `heap_strip_tagged` draws it, with each free block
/// labelled by its size and by what holds it: the list of its class, or
/// nothing, which makes it the wilderness.
fn wilderness_strip(
    caption: &str,
    heap: &SegregatedFreeList<RegionBreak<OwnedRegion>>,
    live: &[Named],
) -> Strip {
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    let base = blocks[0].addr;
    let mut strip = heap_strip_tagged(caption, &blocks, live, &[], false, false);
    for b in blocks.iter().filter(|b| b.is_free()) {
        let listed = heap.class_list(size_class(b.size)).any(|a| a == b.addr);
        let what = if listed { "listed" } else { "wilderness" };
        let segment = strip
            .segments
            .iter_mut()
            .find(|s| s.start == b.addr - base + WORD && s.part == Part::Free)
            .expect("a free block's free space");
        segment.label = format!("{what}: {} B", thousands(b.size));
    }
    strip
}

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn wilderness_figure() {
    use BlockKind::{Allocated as A, Free as F};

    // A wilderness of exactly 4,096 bytes and empty lists: an empty heap
    // grows by just what a request needs, and one 4,096-byte block, freed,
    // merges into the top and becomes the wilderness.
    let memory = RegionBreak::new(OwnedRegion::new(8192, 64).expect("a small region"));
    let mut heap = SegregatedFreeList::new(memory);
    let mut live = vec![named(&mut heap, 4096 - WORD, "w")];
    let mut freed = Vec::new();
    free_named(&mut heap, &mut live, &mut freed, "w");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(F, 4096)]);
    assert_eq!(heap.bitmap(), 0, "the wilderness is in no list");
    let mut strips = vec![wilderness_strip("a 4,096-byte wilderness", &heap, &live)];

    // The chapter's three requests, in block sizes: 48, 1,008, 48.
    live.push(named(&mut heap, 48 - WORD, "a"));
    heap.check().expect("the heap checker passes");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(F, 4048), (A, 48)]);
    strips.push(wilderness_strip("1. a (48 B): high end", &heap, &live));
    live.push(named(&mut heap, 1008 - WORD, "b"));
    heap.check().expect("the heap checker passes");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 1008), (F, 3040), (A, 48)]);
    strips.push(wilderness_strip("2. b (1,008 B): low end", &heap, &live));
    live.push(named(&mut heap, 48 - WORD, "c"));
    heap.check().expect("the heap checker passes");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 1008), (F, 2992), (A, 48), (A, 48)]);
    strips.push(wilderness_strip("3. c (48 B): high end", &heap, &live));

    // Freed, a and c wait on their quick list; consolidating merges them
    // with the free block below, and the result ends the heap again.
    free_named(&mut heap, &mut live, &mut freed, "a");
    free_named(&mut heap, &mut live, &mut freed, "c");
    assert_eq!(heap.quick_blocks(), 2);
    heap.consolidate();
    heap.check().expect("the heap checker passes");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(A, 1008), (F, 3088)]);
    strips.push(wilderness_strip("free a and c, coalesced", &heap, &live));

    check_committed(
        "freelist-wilderness.svg",
        &render(
            "The segregated lists with a wilderness, five states from top to bottom. First, a \
             4,096-byte wilderness, in no list. 1. A 48-byte block a takes its high end, and \
             the 4,048 bytes below go on a list. 2. A 1,008-byte block b takes the low end of \
             those, and 3,040 bytes stay listed. 3. A 48-byte block c takes their high end, \
             right below a, and 2,992 bytes stay listed. Last, a and c are freed and \
             coalesced: 3,088 free bytes above b end the heap, in no list, the wilderness \
             again.",
            &strips,
        ),
    );
}

// ---------------------------------------------------------------------------
// How real allocators do it: quick lists. Small freed blocks wait on the
// quick list of their size, still allocated, so even a free neighbour does
// not merge with them, until `consolidate` frees them for real.

/// The quick-listed blocks of class `class`, as the figure draws them: their
/// header marked with the QUICK flag, their rest named after the freed block.
fn quick_blocks<'a>(
    heap: &SegregatedFreeList<RegionBreak<OwnedRegion>>,
    class: usize,
    freed: &'a [Named],
) -> Vec<CachedBlock<'a>> {
    heap.quick_list(class)
        .map(|addr| CachedBlock {
            addr,
            label: freed
                .iter()
                .find(|n| n.ptr.as_ptr() as usize == addr + WORD)
                .expect("every quick-listed block was freed by name")
                .label,
            hdr: "hdr Q",
        })
        .collect()
}

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn quick_list_figure() {
    use BlockKind::{Allocated as A, Free as F};

    let mut heap = SegregatedFreeList::new(figure_region());
    let mut freed = Vec::new();
    let mut live: Vec<Named> = [
        (40, "a"),
        (40, "b"),
        (40, "c"),
        (280, "x"),
        (40, "d"),
        (40, "e"),
    ]
    .into_iter()
    .map(|(size, label)| named(&mut heap, size, label))
    .collect();
    heap.check().expect("the heap checker passes");
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(
        sizes(&blocks),
        [(A, 48), (A, 48), (A, 48), (A, 288), (A, 48), (A, 48)]
    );
    let base = blocks[0].addr;
    // The header address of the allocated block named `label`.
    let header = |live: &[Named], freed: &[Named], label: &str| {
        live.iter()
            .chain(freed)
            .find(|n| n.label == label)
            .map(|n| n.ptr.as_ptr() as usize - WORD)
            .expect("a block by that name")
    };
    let (a, c, x, d) = (
        header(&live, &freed, "a"),
        header(&live, &freed, "c"),
        header(&live, &freed, "x"),
        header(&live, &freed, "d"),
    );

    // Three 48-byte blocks go to their quick list, x (too large for one)
    // to the list of its class.
    for label in ["a", "c", "d", "x"] {
        free_named(&mut heap, &mut live, &mut freed, label);
    }
    let (small, big) = (size_class(48), size_class(288));
    assert_eq!((small, big), (1, 14));
    let quick: Vec<usize> = heap.quick_list(small).collect();
    assert_eq!(quick, [d, c, a], "LIFO: the block freed last first");
    assert_eq!(heap.quick_blocks(), 3);
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    // Still allocated as far as the heap can tell: x, between c and d,
    // merged with neither.
    assert_eq!(
        sizes(&blocks),
        [(A, 48), (A, 48), (A, 48), (F, 288), (A, 48), (A, 48)]
    );
    assert_eq!(heap.class_list(big).collect::<Vec<_>>(), [x]);
    assert_eq!(heap.bitmap(), 1 << big, "no 48-byte block is free");
    let cached = quick_blocks(&heap, small, &freed);
    let strip = heap_strip_cached(
        "free a, c, d (quick), then x (class 14)",
        &blocks,
        &live,
        &freed,
        &cached,
        true,
        true,
    );
    let strip = with_list(strip, base, &quick, "quick 48 B");
    let mut strips = vec![with_list(strip, base, &[x], "class 14")];

    // Consolidating frees them for real: c and d merge with x, a (between
    // padding and b) stays on its own.
    heap.consolidate();
    heap.check().expect("the heap checker passes");
    assert_eq!(heap.quick_blocks(), 0);
    let blocks: Vec<BlockInfo> = heap.blocks().collect();
    assert_eq!(sizes(&blocks), [(F, 48), (A, 48), (F, 384), (A, 48)]);
    let merged = size_class(384);
    assert_eq!(merged, 16);
    assert_eq!(heap.class_list(small).collect::<Vec<_>>(), [a]);
    assert_eq!(heap.class_list(merged).collect::<Vec<_>>(), [c]);
    assert_eq!(heap.bitmap(), (1 << small) | (1 << merged));
    let strip = heap_strip_cached(
        "consolidate(): merged and listed",
        &blocks,
        &live,
        &freed,
        &[],
        true,
        true,
    );
    let strip = with_list(strip, base, &[a], "class 1");
    strips.push(with_list(strip, base, &[c], "class 16"));

    check_committed(
        "refinements-quick.svg",
        &render(
            "Quick lists in SegregatedFreeList::new, in a heap of six blocks: a, b and c of 48 \
             bytes, x of 288, d and e of 48. Top: after freeing a, c and d, then x. The three \
             48-byte blocks wait on the quick list of their size, still allocated: their \
             headers, marked hdr Q, keep the allocated bit and set the QUICK flag, and the \
             first payload word of each holds the list's next link. The list is LIFO: its \
             head points at d, freed last, d's next at c, and c's next at a. x is too large \
             for a quick list; it is a free block with header, next and prev links, free \
             space and footer, alone on the list of class 14. Although c and d border it, x \
             merged with neither, because they still look allocated. Bottom: after \
             consolidate(), the quick list is empty. a is a free block of 48 bytes, alone on \
             the list of class 1, since b next to it is allocated. c, x and d merged into one \
             free block of 384 bytes, on the list of class 16. b and e stay allocated.",
            &strips,
        ),
    );
}

// ---------------------------------------------------------------------------
// The pool chapter: fixed-size slots, the free ones linked from the head
// through their first word (LIFO), and the never-used ones above `fresh`.

use allocators::pool::PoolAllocator;
use allocators::region::Region;

/// The pool's slots: live ones hold their object, free ones their `next`
/// link (or `None` at the end of the list) and unused bytes, named after
/// the slot (`names[i]` for slot `i`), and the slots from `fresh` on were
/// never handed out. The list is drawn from its head.
fn pool_strip(
    caption: &str,
    pool: &PoolAllocator<OwnedRegion>,
    live: &[(NonNull<u8>, &str)],
    names: &[&str],
) -> Strip {
    let base = pool.region().start().as_ptr() as usize;
    let (slot, size) = (pool.slot_size(), pool.region().len());
    let fresh = pool.fresh() - base;
    let list: Vec<usize> = pool.free_list().map(|a| a - base).collect();
    let mut strip = Strip::new(caption, size).marker(fresh, "fresh");
    for &(ptr, label) in live {
        // Labels of the same length as the free slots' draw every slot alike.
        let label = format!("{label} · live");
        strip = strip.segment(ptr.as_ptr() as usize - base, slot, Part::Payload, label);
    }
    for (i, &at) in list.iter().enumerate() {
        // One cell per slot, so every slot is drawn alike; the link lives in
        // the free slot's first word, and the label says where it points.
        let next = if i + 1 == list.len() { "None" } else { "next" };
        let label = format!("{} · {next}", names[at / slot]);
        strip = strip.segment(at, slot, Part::Free, label);
    }
    let stops: Vec<(usize, usize)> = list
        .iter()
        .map(|&at| (at + slot / 2, at + slot / 2))
        .collect();
    strip = with_chain(strip, &stops, "head");
    if fresh < size {
        strip = strip.segment(fresh, size - fresh, Part::Free, "never used");
    }
    strip
}

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn pool_figure() {
    // Eight 32-byte slots in a region aligned to 64, so the slots start at
    // its first byte on every run.
    let object = Layout::from_size_align(32, 8).expect("a valid layout");
    let region = OwnedRegion::new(256, 64).expect("a tiny region");
    let mut pool = PoolAllocator::new(region, object).expect("a pool");
    let base = pool.region().start().as_ptr() as usize;
    assert_eq!((pool.slot_size(), pool.capacity()), (32, 8));
    let labels = ["s0", "s1", "s2", "s3", "s4", "s5"];
    let mut live: Vec<(NonNull<u8>, &str)> = labels
        .iter()
        .map(|&label| (pool.allocate(object).expect("a free slot"), label))
        .collect();
    let slot_of = |ptr: NonNull<u8>| (ptr.as_ptr() as usize - base) / 32;
    assert_eq!(
        live.iter().map(|&(p, _)| slot_of(p)).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5],
        "fresh slots are handed out in address order"
    );
    for label in ["s1", "s4", "s2"] {
        let i = live
            .iter()
            .position(|&(_, l)| l == label)
            .expect("a live slot by that name");
        let (ptr, _) = live.remove(i);
        // SAFETY: `ptr` is live in `pool`, allocated with `object`.
        unsafe { pool.deallocate(ptr, object) };
        pool.check().expect("the pool checker passes");
    }
    let slots = |pool: &PoolAllocator<OwnedRegion>| {
        pool.free_list()
            .map(|a| (a - base) / 32)
            .collect::<Vec<_>>()
    };
    assert_eq!(slots(&pool), [2, 4, 1], "LIFO: s2, freed last, first");
    assert_eq!(pool.fresh() - base, 6 * 32);
    let mut strips = vec![pool_strip("free s1, s4, s2", &pool, &live, &labels)];

    let t = pool.allocate(object).expect("a free slot");
    pool.check().expect("the pool checker passes");
    assert_eq!(slot_of(t), 2, "the head comes back first");
    assert_eq!(slots(&pool), [4, 1]);
    assert_eq!(pool.fresh() - base, 6 * 32, "fresh waits for an empty list");
    live.push((t, "t"));
    strips.push(pool_strip(
        "t = alloc(): pops the head",
        &pool,
        &live,
        &labels,
    ));

    check_committed(
        "pool-free-list.svg",
        &render(
            "A pool of eight 32-byte slots in a 256-byte region, two states from top to \
             bottom. Top: six slots s0 to s5 were handed out, then s1, s4 and s2 freed. The \
             free slots, still labelled with their names, form a LIFO list threaded through their first word: the head points \
             at s2, freed last, s2's next at s4, s4's next back at s1, and s1's next is None, \
             the end of the list. The last two slots were never handed out: the fresh pointer \
             is at offset 192, and they are on no list. Bottom: t = alloc() pops the head and \
             gets s2's slot; the head now points at s4, then s1, and fresh has not moved.",
            &strips,
        ),
    );
}

// ---------------------------------------------------------------------------
// The threads chapter: one thread's cache in front of the shared heap. Its
// bins hold blocks that the shared heap counts as allocated.

use allocators::global::Locked;
use allocators::thread_cache::{ThreadCached, cache_class};

type SharedHeap = SegregatedFreeList<RegionBreak<OwnedRegion>>;

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn thread_cache_figure() {
    use std::alloc::GlobalAlloc;

    // A shared heap of its own, leaked so that it outlives every thread, as
    // `ThreadCached::new` asks. Batches of 2, not the crate's BATCH of 8,
    // so that two classes fit in one figure.
    let shared: &'static Locked<SharedHeap> = Box::leak(Box::new(Locked::new(
        SegregatedFreeList::new(figure_region()),
    )));
    let cached: &'static ThreadCached<SharedHeap> =
        Box::leak(Box::new(ThreadCached::with_batch(shared, 2)));
    // A thread of our own, whose cache nobody has used: the test harness's
    // thread may already hold a cache for another heap.
    let strip = std::thread::spawn(move || {
        let small = Layout::from_size_align(32, 16).expect("a valid layout");
        let large = Layout::from_size_align(64, 16).expect("a valid layout");
        assert_eq!((cache_class(small), cache_class(large)), (Some(1), Some(3)));
        // SAFETY: non-zero sizes; p is freed once, with its layout, and q
        // never (the figure shows it live).
        let (p, q) = unsafe {
            let p = cached.alloc(small);
            let q = cached.alloc(large);
            cached.dealloc(p, small);
            (p as usize, q as usize)
        };
        assert!(p != 0 && q != 0, "the shared heap has room");
        assert_eq!(cached.lock_trips(), (2, 0), "one refill per class");
        cached.check().expect("the heap and cache checkers pass");
        let bin = |class| {
            let mut blocks = Vec::new();
            cached.for_each_cached(class, &mut |block| blocks.push(block));
            blocks
        };
        let (bin1, bin3) = (bin(1), bin(3));
        let blocks: Vec<BlockInfo> = shared.with_allocator(|heap| heap.blocks().collect());
        // The two refills took four blocks, in address order: two of 48
        // bytes (32 asked, class 1), two of 80 (64 asked, class 3). p was
        // the second of the first pair, q the second of the second.
        let headers: Vec<usize> = blocks
            .iter()
            .filter(|b| b.kind != BlockKind::Padding && b.kind != BlockKind::Epilogue)
            .map(|b| b.addr)
            .collect();
        assert_eq!(
            sizes(&blocks),
            [
                (BlockKind::Allocated, 48),
                (BlockKind::Allocated, 48),
                (BlockKind::Allocated, 80),
                (BlockKind::Allocated, 80)
            ],
            "every cached block is allocated in the shared heap"
        );
        let payload = |i: usize| headers[i] + WORD;
        assert_eq!((p, q), (payload(1), payload(3)));
        assert_eq!(bin1, [payload(1), payload(0)], "LIFO: p, freed last, first");
        assert_eq!(bin3, [payload(2)]);
        assert_eq!(cached.cached_blocks(), 3);

        let live = [Named {
            ptr: NonNull::new(q as *mut u8).expect("not null"),
            size: 64,
            label: "q",
        }];
        let cache = [
            CachedBlock {
                addr: headers[0],
                label: "",
                hdr: "hdr",
            },
            CachedBlock {
                addr: headers[1],
                label: "p",
                hdr: "hdr",
            },
            CachedBlock {
                addr: headers[2],
                label: "",
                hdr: "hdr",
            },
        ];
        let base = blocks[0].addr;
        let strip = heap_strip_cached(
            "shared heap; bins 1 and 3 of one thread's cache",
            &blocks,
            &live,
            &[],
            &cache,
            true,
            false,
        );
        let to_headers = |bin: &[usize]| bin.iter().map(|&b| b - WORD).collect::<Vec<_>>();
        let strip = with_list(strip, base, &to_headers(&bin1), "bin 1");
        with_list(strip, base, &to_headers(&bin3), "bin 3")
    })
    .join()
    .expect("the figure's thread");
    // The thread exited: its cache went back to the shared heap.
    cached.check().expect("the heap checker passes");

    check_committed(
        "threads-bins.svg",
        &render(
            "One thread's cache in front of the shared heap, a ThreadCached made with batches \
             of 2 blocks so that two classes fit. The thread asked for p, 32 bytes, and q, 64 \
             bytes, then freed p. Each request found its bin empty and took the lock once to \
             refill it with two blocks: the shared heap holds two 48-byte blocks for class 1 \
             (32 bytes) and two 80-byte blocks for class 3 (64 bytes), all four marked \
             allocated in the heap, with a header and no footer. q is the program's. The other \
             three are in the thread's cache, drawn as cached, each linked through its first \
             word. Bin 1's head points at p's block, pushed last, and its next link points \
             back at the first block. Bin 3's head points at the first 80-byte block, alone \
             in its bin, its next link empty.",
            &[strip],
        ),
    );
}

// ---------------------------------------------------------------------------
// The arena chapter: values that need dropping sit behind a drop header,
// and the headers link the drop list, newest first.

use allocators::arena::{Arena, DropHeader};

#[test]
#[cfg_attr(miri, ignore = "reads imgs/ from the file system")]
fn arena_drop_list_figure() {
    // A 128-byte region aligned to 64, so the offsets are the same on
    // every run.
    let arena = Arena::new(BumpAllocator::new(
        OwnedRegion::new(128, 64).expect("a tiny region"),
    ));
    let a: *const String = arena.alloc(String::from("arena"));
    let n: *const u64 = arena.alloc(7u64);
    let b: *const Vec<u32> = arena.alloc(vec![1, 2, 3]);
    let (base, size, top) = {
        let bump = arena.allocator();
        let bounds = bump.bounds();
        (bounds.start, bounds.len(), bump.top().as_ptr() as usize)
    };
    let off = |p: usize| p - base;
    let hdr = size_of::<DropHeader>();
    assert_eq!(hdr, 2 * WORD, "a link and a function pointer");
    let (a, n, b) = (off(a as usize), off(n as usize), off(b as usize));
    // Bump allocation goes down: a at the end, then n, then b.
    assert_eq!((a, n, b), (128 - 24, 80, 40 + hdr));
    assert_eq!(off(top), 40);
    // Only a and b need dropping; the list starts at the newest.
    let list: Vec<usize> = arena.drop_list().map(off).collect();
    assert_eq!(list, [b - hdr, a - hdr]);

    let mut strip =
        Strip::new("a, n, b allocated, newest at the left", size).marker(off(top), "top");
    // a, the oldest, ends the list: its link is None.
    for (value, len, label, next) in [(a, 24, "a: String", "None"), (b, 24, "b: Vec<u32>", "next")]
    {
        strip = strip
            .segment(value - hdr, WORD, Part::Header, next)
            .segment(value - hdr + WORD, WORD, Part::Header, "drop_value")
            .segment(value, len, Part::Payload, label);
    }
    strip = strip.segment(n, 8, Part::Payload, "n: u64");
    // A header's link is its first word: arrows leave and arrive there.
    let stops: Vec<(usize, usize)> = list
        .iter()
        .map(|&header| (header + WORD / 2, header + WORD / 2))
        .collect();
    strip = with_chain(strip, &stops, "drop_list");
    check_committed(
        "arena-drop-list.svg",
        &render(
            "An Arena on a bump allocator over a 128-byte region, after alloc of a String a, \
             a u64 n and a Vec<u32> b, in that order. The bump pointer moves down, so a fills \
             the last 40 bytes, n the 8 below it, and b the 40 below those; top is at offset \
             40 and everything below it is free. a and b need dropping, so each sits behind a \
             16-byte drop header: a next link and drop_value, the function that drops the \
             value. n \
             needs no drop and has no header. The arena's drop_list points at b's header, the \
             newest, and b's next link points at a's header, whose link is None, the end of \
             the list: reset and \
             drop run b's destructor first, then a's.",
            &[strip],
        ),
    );
}
