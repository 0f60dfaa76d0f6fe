//! The book's memory diagrams, drawn as SVG from real allocator states.
//!
//! The drawing knows no allocator. Its test
//! (`code/figures/tests/figures.rs`) runs the allocators of the `allocators`
//! crate and describes what it finds with these types. The [`stepper`]
//! module records a whole trace against the real allocators, one state per
//! operation, for the book's interactive heap stepper.
//!
//! A figure is a stack of [`Strip`]s, one per moment in time. A strip is one
//! region of memory, from its lowest address on the left to its highest on the
//! right, cut into [`Segment`]s (a block's header, its payload, padding, free
//! space...) and annotated with [`Marker`]s (pointers into the region).
//!
//! The book's figures are made by running an allocator, reading back where its
//! blocks landed, and describing that with these types; `tests/figures.rs`
//! redraws every figure and fails when a committed one is stale. A figure is
//! as wide as the book's text column, so its 12 px text is shown at 12 px.
//! Widths are proportional to bytes, except that every segment is at least as
//! wide as its label, so that no label is ever dropped; the output is
//! deterministic, so a figure only changes when the allocator does.

use std::fmt::Write;

pub mod stepper;

/// What a piece of memory is used for. Each kind has its own colour and a
/// legend entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Bookkeeping in front of a payload (size, allocated bit).
    Header,
    /// A copy of the header at the end of a block (a boundary tag).
    Footer,
    /// Bytes the program asked for and uses.
    Payload,
    /// Bytes skipped to align the next payload (internal fragmentation).
    Padding,
    /// A free block, or free space, the allocator can hand out.
    Free,
    /// Bytes the allocator gave out but cannot take back until a reset.
    Lost,
    /// A block the program freed that a cache holds for reuse (a quick
    /// list, a thread's cache): free to the program, still allocated to
    /// the heap under it, so it is neither coalesced nor listed as free.
    Cached,
}

impl Part {
    fn fill(self) -> &'static str {
        match self {
            Part::Header => "#8da0cb",
            Part::Footer => "#ffd92f",
            Part::Payload => "#66c2a5",
            Part::Padding => "#fc8d62",
            Part::Free => "#f4f4f4",
            Part::Lost => "#c9c9c9",
            Part::Cached => "#e78ac3",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Footer => "footer",
            Part::Payload => "payload",
            Part::Padding => "padding",
            Part::Free => "free",
            Part::Lost => "lost until a reset",
            Part::Cached => "cached (still allocated)",
        }
    }
}

/// A run of bytes inside a strip, as an offset from the strip's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the first byte.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// What the bytes are.
    pub part: Part,
    /// Text drawn inside the segment, if it fits.
    pub label: String,
}

/// A pointer into a strip, drawn as an arrow from below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Offset the pointer points at (may equal the strip's size: one past the end).
    pub at: usize,
    /// The pointer's name.
    pub label: String,
}

/// A pointer stored *inside* the region, such as a free list's `next` link,
/// drawn as a curved arrow above the strip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Offset of the word that holds the pointer, or `None` for a pointer
    /// held outside the region (a list head), drawn from the strip's left end.
    pub from: Option<usize>,
    /// Offset the pointer points at.
    pub to: usize,
    /// Text drawn above the arrow (may be empty).
    pub label: String,
}

/// One region of memory at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strip {
    /// What happened to get here, drawn to the left of the strip's row.
    pub caption: String,
    /// The region's size in bytes.
    pub size: usize,
    /// The pieces, in any order; they must not overlap. Gaps are drawn free.
    pub segments: Vec<Segment>,
    /// Pointers into the region.
    pub markers: Vec<Marker>,
    /// Pointers stored in the region, drawn as arrows above it. A strip with
    /// links gets a taller row to make room for them.
    pub links: Vec<Link>,
}

impl Strip {
    /// An empty strip of `size` bytes.
    pub fn new(caption: impl Into<String>, size: usize) -> Strip {
        Strip {
            caption: caption.into(),
            size,
            ..Strip::default()
        }
    }

    /// Adds a segment (builder style).
    pub fn segment(
        mut self,
        start: usize,
        len: usize,
        part: Part,
        label: impl Into<String>,
    ) -> Strip {
        self.segments.push(Segment {
            start,
            len,
            part,
            label: label.into(),
        });
        self
    }

    /// Adds a marker (builder style).
    pub fn marker(mut self, at: usize, label: impl Into<String>) -> Strip {
        self.markers.push(Marker {
            at,
            label: label.into(),
        });
        self
    }

    /// Adds a link (builder style): a pointer stored at `from` (or outside
    /// the region, for `None`) that points at `to`.
    pub fn link(mut self, from: Option<usize>, to: usize, label: impl Into<String>) -> Strip {
        self.links.push(Link {
            from,
            to,
            label: label.into(),
        });
        self
    }

    /// The extra height above the bar that this strip's links need.
    fn link_room(&self) -> usize {
        if self.links.is_empty() { 0 } else { LINK_H }
    }
}

/// The figure's width: the book's content column, so that the SVG is shown
/// at its natural size and its text at the size written here (12 px or more).
const WIDTH: usize = 750;
const MARGIN: usize = 12;
/// Room left of the strips, for the offset 0 and where list heads start.
const LEFT_PAD: usize = 32;
/// Room right of the strips, for the region's size and a marker at the end.
const RIGHT_PAD: usize = 40;
const STRIP_X: usize = MARGIN + LEFT_PAD;
const STRIP_W: usize = WIDTH - STRIP_X - RIGHT_PAD - MARGIN;
/// The caption line above each strip.
const CAPTION_H: usize = 20;
const BAR_H: usize = 36;
/// Room below a strip with markers, for their arrows and labels.
const MARKER_H: usize = 48;
/// Room above a strip with links (forward links) and below it (back links).
const LINK_H: usize = 56;
const ROW_GAP: usize = 14;
const MIN_SEG_W: usize = 6;
/// The legend's line.
const LEGEND_H: usize = 16;

/// A generous estimate of the width of `text` at 12 px, so that a label is
/// never drawn wider than its segment.
fn text_width(text: &str) -> usize {
    7 * text.chars().count()
}

impl Strip {
    /// The height of this strip's row: caption, link room, bar and the room
    /// below it for markers or back links.
    fn row_height(&self) -> usize {
        let below = if self.links.is_empty() { 0 } else { LINK_H };
        let below = below.max(if self.markers.is_empty() { 0 } else { MARKER_H });
        CAPTION_H + self.link_room() + BAR_H + below + ROW_GAP
    }
}

/// Renders the strips, top to bottom, with a legend of the parts used and
/// `title` as the figure's accessible name.
///
/// Every label is drawn: a segment is made at least as wide as its label,
/// and the rest of the width is shared out in proportion to bytes.
///
/// # Panics
///
/// If a segment or marker lies outside its strip or segments overlap (the
/// figure would be a lie about the allocator), or if a strip's labels do not
/// fit side by side in the figure's width.
pub fn render(title: &str, strips: &[Strip]) -> String {
    let rows: usize = strips.iter().map(Strip::row_height).sum();
    let height = MARGIN * 2 + rows + LEGEND_H;
    let width = WIDTH;
    let mut svg = String::new();
    // An opaque light background keeps the figure legible in dark themes too.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="title" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, "<title id=\"title\">{}</title>", escape(title));
    let _ = writeln!(
        svg,
        r##"<rect width="{width}" height="{height}" fill="#ffffff" rx="6"/>"##
    );
    let mut used = Vec::new();
    let mut row_top = MARGIN;
    for strip in strips {
        draw_strip(&mut svg, strip, row_top, &mut used);
        row_top += strip.row_height();
    }
    // Legend, in a fixed order, listing only what the figure uses.
    let mut x = STRIP_X;
    let y = MARGIN + rows;
    for part in [
        Part::Header,
        Part::Payload,
        Part::Footer,
        Part::Padding,
        Part::Free,
        Part::Cached,
        Part::Lost,
    ] {
        if used.contains(&part) {
            let _ = writeln!(
                svg,
                r##"<rect x="{x}" y="{y}" width="14" height="14" fill="{}" stroke="#333333"/><text x="{}" y="{}" fill="#222222">{}</text>"##,
                part.fill(),
                x + 20,
                y + 11,
                part.name()
            );
            x += 36 + text_width(part.name());
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Draws `strip` in the row that starts at `row_top`: its caption, then
/// (for a strip with links) the room for them, then the bar.
fn draw_strip(svg: &mut String, strip: &Strip, row_top: usize, used: &mut Vec<Part>) {
    assert!(strip.size > 0, "a strip needs at least one byte");
    let top = row_top + CAPTION_H + strip.link_room();
    let mut segments = strip.segments.clone();
    segments.sort_by_key(|s| s.start);
    for pair in segments.windows(2) {
        assert!(
            pair[0].start + pair[0].len <= pair[1].start,
            "segments overlap: {pair:?}"
        );
    }
    // Fill the gaps with free space, so every byte is drawn.
    let mut pieces = Vec::new();
    let mut at = 0;
    for seg in segments {
        assert!(
            seg.start + seg.len <= strip.size,
            "segment outside the strip: {seg:?}"
        );
        if seg.start > at {
            pieces.push(Segment {
                start: at,
                len: seg.start - at,
                part: Part::Free,
                label: String::new(),
            });
        }
        at = seg.start + seg.len;
        pieces.push(seg);
    }
    if at < strip.size {
        pieces.push(Segment {
            start: at,
            len: strip.size - at,
            part: Part::Free,
            label: String::new(),
        });
    }
    pieces.retain(|p| p.len > 0);

    // Every piece gets its minimum width (room for its label, or MIN_SEG_W),
    // and what is left is shared out by bytes.
    let min_width = |p: &Segment| {
        if p.label.is_empty() {
            MIN_SEG_W
        } else {
            (text_width(&p.label) + 6).max(MIN_SEG_W)
        }
    };
    let needed: usize = pieces.iter().map(min_width).sum();
    assert!(
        needed <= STRIP_W,
        "the labels of strip {:?} need {needed} px, more than the {STRIP_W} px there are",
        strip.caption
    );
    let spare = STRIP_W - needed;
    let mut edges = vec![0usize];
    let (mut bytes_before, mut min_before) = (0usize, 0usize);
    for piece in &pieces {
        bytes_before += piece.len;
        min_before += min_width(piece);
        edges.push(min_before + spare * bytes_before / strip.size);
    }
    let x_of = |offset: usize| -> usize {
        // The x of a byte offset: find its piece, interpolate inside it.
        let mut start = 0;
        for (i, piece) in pieces.iter().enumerate() {
            if offset < start + piece.len || i + 1 == pieces.len() {
                let within = (offset - start).min(piece.len);
                return STRIP_X + edges[i] + (edges[i + 1] - edges[i]) * within / piece.len;
            }
            start += piece.len;
        }
        STRIP_X + STRIP_W
    };

    let _ = writeln!(
        svg,
        r##"<text x="{STRIP_X}" y="{}" fill="#222222" font-weight="bold">{}</text>"##,
        row_top + 14,
        escape(&strip.caption)
    );
    for (i, piece) in pieces.iter().enumerate() {
        if !used.contains(&piece.part) {
            used.push(piece.part);
        }
        let x = STRIP_X + edges[i];
        let w = edges[i + 1] - edges[i];
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{top}" width="{w}" height="{BAR_H}" fill="{}" stroke="#333333"/>"##,
            piece.part.fill()
        );
        if !piece.label.is_empty() {
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#111111">{}</text>"##,
                x + w / 2,
                top + BAR_H / 2 + 4,
                escape(&piece.label)
            );
        }
    }
    // Byte offsets of the region's two ends, beside the bar.
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#555555">0</text><text x="{}" y="{}" fill="#555555">{}</text>"##,
        STRIP_X - 4,
        top + BAR_H / 2 + 4,
        STRIP_X + STRIP_W + 4,
        top + BAR_H / 2 + 4,
        strip.size
    );
    let mut markers = strip.markers.clone();
    markers.sort_by_key(|m| m.at);
    for (i, m) in markers.iter().enumerate() {
        assert!(m.at <= strip.size, "marker outside the strip: {m:?}");
        let x = if m.at == strip.size {
            STRIP_X + STRIP_W
        } else {
            x_of(m.at)
        };
        // Alternate label heights so neighbouring pointers stay readable.
        let label_y = top + BAR_H + 22 + 14 * (i % 2);
        let _ = writeln!(
            svg,
            r##"<path d="M{x} {} L{} {} L{} {} Z" fill="#222222"/><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#222222"/><text x="{x}" y="{label_y}" text-anchor="middle" fill="#222222" font-family="DejaVu Sans Mono, monospace">{} = {}</text>"##,
            top + BAR_H,
            x as isize - 4,
            top + BAR_H + 7,
            x + 4,
            top + BAR_H + 7,
            top + BAR_H + 7,
            label_y - 11,
            escape(&m.label),
            m.at
        );
    }
    for link in &strip.links {
        assert!(link.to < strip.size, "link outside the strip: {link:?}");
        let to = x_of(link.to);
        let from = match link.from {
            Some(at) => {
                assert!(at < strip.size, "link outside the strip: {link:?}");
                x_of(at)
            }
            None => STRIP_X - 20,
        };
        draw_link(svg, from, to, top, &link.label);
    }
}

/// A curved arrow from `from` to `to` for a bar whose top is at `top`.
/// Links that point forward (to a higher address) or come from outside the
/// region arc above the bar; links that point back arc below it, so that a
/// list that goes back and forth stays readable. Longer arrows rise higher.
fn draw_link(svg: &mut String, from: usize, to: usize, top: usize, label: &str) {
    let rise = (14 + from.abs_diff(to) / 6).min(LINK_H - 14);
    // The label sits where the curve is three quarters of the way across
    // (at t = 0.67, where the curve is at 0.66 of its rise), so that labels
    // of arrows that share a middle stay apart.
    let (base, peak, tip, label_y) = if to >= from {
        (top, top - rise, top - 7, top - rise * 66 / 100 - 4)
    } else {
        let base = top + BAR_H;
        (base, base + rise, base + 7, base + rise * 66 / 100 + 13)
    };
    let label_x = (from as isize + (to as isize - from as isize) * 3 / 4) as usize;
    let _ = writeln!(
        svg,
        r##"<path d="M{from} {base} C{from} {peak} {to} {peak} {to} {tip}" fill="none" stroke="#1f4e99" stroke-width="1.5"/><path d="M{to} {base} L{} {tip} L{} {tip} Z" fill="#1f4e99"/>"##,
        to as isize - 4,
        to + 4,
    );
    if !label.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="{label_x}" y="{label_y}" text-anchor="middle" fill="#1f4e99">{}</text>"##,
            escape(label)
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_piece_and_the_legend() {
        let strip = Strip::new("after two allocations", 64)
            .segment(48, 16, Part::Payload, "a")
            .segment(40, 8, Part::Padding, "")
            .segment(32, 8, Part::Payload, "b")
            .marker(32, "ptr");
        let svg = render("test", &[strip]);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("padding") && svg.contains("payload") && svg.contains("free"));
        assert!(svg.contains("ptr = 32"));
        // Free gap at [0, 32), two payloads, one padding.
        assert_eq!(svg.matches("<rect x=").count(), 4 + 3);
    }

    #[test]
    fn links_make_room_and_draw_arrows() {
        let plain = Strip::new("no links", 64).segment(0, 16, Part::Free, "");
        let linked = plain
            .clone()
            .link(None, 0, "head")
            .link(Some(8), 32, "next");
        let without = render("t", std::slice::from_ref(&plain));
        let with = render("t", std::slice::from_ref(&linked));
        // Two arrows (a curve and a head each), their labels, a taller row.
        assert_eq!(
            with.matches("<path d=\"M").count(),
            4 + without.matches("<path d=\"M").count()
        );
        assert!(with.contains(">head<") && with.contains(">next<"));
        assert!(linked.row_height() == plain.row_height() + 2 * LINK_H);
        assert!(with.contains(&format!(
            "height=\"{}\"",
            MARGIN * 2 + linked.row_height() + LEGEND_H
        )));
    }

    #[test]
    fn every_label_is_drawn() {
        // A word of 8 bytes in 1,000 is far too thin for its label by bytes
        // alone; it is widened to fit it.
        let strip = Strip::new("thin", 1000)
            .segment(0, 8, Part::Free, "prev")
            .segment(8, 992, Part::Payload, "rest");
        let svg = render("t", &[strip]);
        assert!(svg.contains(">prev<") && svg.contains(">rest<"));
    }

    #[test]
    #[should_panic(expected = "need")]
    fn labels_that_cannot_fit_are_refused() {
        let mut strip = Strip::new("crowded", 1000);
        for i in 0..100 {
            strip = strip.segment(i * 10, 10, Part::Payload, "label");
        }
        render("t", &[strip]);
    }

    #[test]
    #[should_panic(expected = "segments overlap")]
    fn overlapping_segments_are_refused() {
        let strip = Strip::new("bad", 16)
            .segment(0, 8, Part::Payload, "")
            .segment(4, 8, Part::Payload, "");
        render("bad", &[strip]);
    }
}
