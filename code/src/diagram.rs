//! Memory diagrams, drawn as SVG from real allocator states.
//!
//! A figure is a stack of [`Strip`]s, one per moment in time. A strip is one
//! region of memory, from its lowest address on the left to its highest on the
//! right, cut into [`Segment`]s (a block's header, its payload, padding, free
//! space...) and annotated with [`Marker`]s (pointers into the region).
//!
//! The book's figures are made by running an allocator, reading back where its
//! blocks landed, and describing that with these types; `code/tests/figures.rs`
//! redraws every figure and fails when a committed one is stale. Widths are
//! proportional to bytes, with a minimum so that small pieces stay visible;
//! the output is deterministic, so a figure only changes when the allocator does.

use std::fmt::Write;

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
}

impl Part {
    fn fill(self) -> &'static str {
        match self {
            Part::Header => "#8da0cb",
            Part::Footer => "#b3bde0",
            Part::Payload => "#66c2a5",
            Part::Padding => "#fc8d62",
            Part::Free => "#f4f4f4",
            Part::Lost => "#c9c9c9",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Footer => "footer",
            Part::Payload => "payload",
            Part::Padding => "padding",
            Part::Free => "free",
            Part::Lost => "freed, not reusable",
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
        if self.links.is_empty() {
            0
        } else {
            LINK_H
        }
    }
}

const CAPTION_W: usize = 220;
const STRIP_W: usize = 640;
const ROW_H: usize = 96;
const BAR_H: usize = 36;
const MARGIN: usize = 16;
const MIN_SEG_W: usize = 6;
/// Room right of the strips for a marker label at the region's end.
const RIGHT_PAD: usize = 48;
/// Room above a strip for its links' arrows.
const LINK_H: usize = 56;

/// Renders the strips, top to bottom, with a legend of the parts used and
/// `title` as the figure's accessible name.
///
/// # Panics
///
/// If a segment or marker lies outside its strip or segments overlap: the
/// figure would be a lie about the allocator.
pub fn render(title: &str, strips: &[Strip]) -> String {
    let rows: usize = strips.iter().map(|s| ROW_H + s.link_room()).sum();
    let height = MARGIN * 2 + rows + 16;
    let width = MARGIN * 2 + CAPTION_W + STRIP_W + RIGHT_PAD;
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
        draw_strip(&mut svg, strip, row_top + strip.link_room(), &mut used);
        row_top += ROW_H + strip.link_room();
    }
    // Legend, in a fixed order, listing only what the figure uses.
    let mut x = MARGIN + CAPTION_W;
    let y = MARGIN + rows + 8;
    for part in [
        Part::Header,
        Part::Payload,
        Part::Footer,
        Part::Padding,
        Part::Free,
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
            x += 40 + 8 * part.name().len();
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_strip(svg: &mut String, strip: &Strip, top: usize, used: &mut Vec<Part>) {
    assert!(strip.size > 0, "a strip needs at least one byte");
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

    // Proportional widths, but never thinner than MIN_SEG_W: give every piece
    // its minimum, then share out what is left by bytes.
    let spare = STRIP_W.saturating_sub(MIN_SEG_W * pieces.len());
    let mut edges = vec![0usize];
    let mut bytes_before = 0usize;
    for (i, piece) in pieces.iter().enumerate() {
        bytes_before += piece.len;
        edges.push(MIN_SEG_W * (i + 1) + spare * bytes_before / strip.size);
    }
    let x_of = |offset: usize| -> usize {
        // The x of a byte offset: find its piece, interpolate inside it.
        let mut start = 0;
        for (i, piece) in pieces.iter().enumerate() {
            if offset < start + piece.len || i + 1 == pieces.len() {
                let within = (offset - start).min(piece.len);
                return MARGIN
                    + CAPTION_W
                    + edges[i]
                    + (edges[i + 1] - edges[i]) * within / piece.len;
            }
            start += piece.len;
        }
        MARGIN + CAPTION_W + STRIP_W
    };

    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{}" fill="#222222">{}</text>"##,
        top + BAR_H / 2 + 4,
        escape(&strip.caption)
    );
    for (i, piece) in pieces.iter().enumerate() {
        if !used.contains(&piece.part) {
            used.push(piece.part);
        }
        let x = MARGIN + CAPTION_W + edges[i];
        let w = edges[i + 1] - edges[i];
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{top}" width="{w}" height="{BAR_H}" fill="{}" stroke="#333333"/>"##,
            piece.part.fill()
        );
        // Roughly 7 px per character at 12 px.
        if !piece.label.is_empty() && piece.label.len() * 7 + 4 <= w {
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#111111">{}</text>"##,
                x + w / 2,
                top + BAR_H / 2 + 4,
                escape(&piece.label)
            );
        }
    }
    // Byte offsets of the region's two ends.
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" fill="#555555" font-size="10">0</text><text x="{}" y="{}" text-anchor="end" fill="#555555" font-size="10">{}</text>"##,
        MARGIN + CAPTION_W,
        top - 3,
        MARGIN + CAPTION_W + STRIP_W,
        top - 3,
        strip.size
    );
    let mut markers = strip.markers.clone();
    markers.sort_by_key(|m| m.at);
    for (i, m) in markers.iter().enumerate() {
        assert!(m.at <= strip.size, "marker outside the strip: {m:?}");
        let x = if m.at == strip.size {
            MARGIN + CAPTION_W + STRIP_W
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
            None => MARGIN + CAPTION_W - 24,
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
            r##"<text x="{label_x}" y="{label_y}" text-anchor="middle" fill="#1f4e99" font-size="11">{}</text>"##,
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
        let with = render("t", &[linked]);
        // Two arrows (a curve and a head each), their labels, a taller row.
        assert_eq!(
            with.matches("<path d=\"M").count(),
            4 + without.matches("<path d=\"M").count()
        );
        assert!(with.contains(">head<") && with.contains(">next<"));
        assert!(with.contains(&format!("height=\"{}\"", MARGIN * 2 + ROW_H + LINK_H + 16)));
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
