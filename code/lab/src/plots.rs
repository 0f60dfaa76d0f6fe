//! The SVG figures, drawn with plotters' SVG backend.
//!
//! Every figure has an opaque white background, so it reads on the book's
//! dark themes as well as the light one, and a footer that names the
//! command that drew it and the machine it measured.

use plotters::prelude::*;
use std::path::Path;

/// One bar series: an allocator and its value per trace (`None`: no bar,
/// e.g. it ran out of memory).
pub struct Series {
    /// The allocator's name, for the legend.
    pub name: String,
    /// Its colour, as an index into the palette: the same allocator keeps
    /// its colour in every figure.
    pub color: u32,
    /// One value per group.
    pub values: Vec<Option<f64>>,
}

/// A grouped bar chart: one group per trace, one bar per series.
pub struct BarChart<'a> {
    /// The title at the top.
    pub title: &'a str,
    /// What the y axis measures.
    pub y_label: &'a str,
    /// The group names (traces), left to right.
    pub groups: &'a [String],
    /// The bars of each group.
    pub series: &'a [Series],
    /// A logarithmic y axis (for ratios), or a linear one from zero.
    pub log: bool,
    /// A horizontal reference line (1.0 for ratios), if any.
    pub reference: Option<f64>,
    /// Footer lines: the command and the machine.
    pub footer: &'a [String],
}

/// Colours from Paul Tol's "bright" and "muted" schemes (plus one orange
/// from Okabe and Ito), which stay apart with colour-blindness and on white.
/// Each allocator keeps its colour: the registry's `colour`, which for the
/// book's allocators is `allocators::catalog::Book::colour`.
pub const fn rgb(hex: u32) -> RGBColor {
    RGBColor((hex >> 16) as u8, (hex >> 8) as u8, hex as u8)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// The canvas width: the book's content column.
const WIDTH: u32 = 760;
/// The smallest text, in pixels: legend, tick labels, footer.
const SMALL: u32 = 12;
/// The height of one footer line.
const LINE: u32 = 16;

impl BarChart<'_> {
    /// Draws the chart into an SVG file at `path`.
    ///
    /// The canvas is as wide as the book's text column (about 750 pixels),
    /// so the SVG is shown at about its own size and the smallest text (the
    /// legend, the axes' labels, the footer) stays 12 pixels high.
    pub fn draw(&self, path: &Path) -> DrawResult {
        let width = WIDTH;
        let height = 480 + LINE * self.footer.len() as u32;
        let root = SVGBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, footer) = root.split_vertically(height - 8 - LINE * self.footer.len() as u32);
        // The legend gets a column of its own, so it never hides a bar.
        let (plot, legend) = top.split_horizontally(width - 150);
        for (i, series) in self.series.iter().enumerate() {
            let y = 48 + 20 * i as i32;
            let color = rgb(series.color);
            legend.draw(&Rectangle::new([(4, y), (16, y + 12)], color.filled()))?;
            legend.draw(&Text::new(
                series.name.as_str(),
                (21, y),
                ("sans-serif", SMALL).into_font(),
            ))?;
        }
        for (i, line) in self.footer.iter().enumerate() {
            footer.draw(&Text::new(
                line.as_str(),
                (8, 2 + LINE as i32 * i as i32),
                ("sans-serif", SMALL)
                    .into_font()
                    .color(&RGBColor(0x44, 0x44, 0x44)),
            ))?;
        }
        let values = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied());
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let groups = self.groups.len().max(1);
        let n = self.series.len().max(1) as f64;
        let label = |x: &f64| {
            let i = x.floor();
            if (x - i - 0.5).abs() < 1e-6 && i >= 0.0 {
                self.groups.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let mut builder = ChartBuilder::on(&plot);
        builder
            .caption(self.title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(62);
        // Bars start at the bottom of the axis.
        let bars = |bottom: f64| {
            self.series.iter().enumerate().flat_map(move |(s, series)| {
                series.values.iter().enumerate().filter_map(move |(g, v)| {
                    let v = (*v)?;
                    let x0 = g as f64 + 0.1 + 0.8 * s as f64 / n;
                    let style = rgb(series.color).filled();
                    Some(Rectangle::new(
                        [(x0, bottom), (x0 + 0.8 / n, v.max(bottom))],
                        style,
                    ))
                })
            })
        };
        // The mesh both scales share. A macro, not a function: the log and
        // the linear chart are of different types.
        macro_rules! mesh {
            ($chart:ident) => {
                $chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(2 * groups + 1)
                    .x_label_formatter(&label)
                    .label_style(("sans-serif", SMALL))
                    .axis_desc_style(("sans-serif", 13))
                    .y_desc(self.y_label)
            };
        }
        if self.log {
            let lo = if lo.is_finite() {
                lo.min(self.reference.unwrap_or(lo)) / 1.5
            } else {
                0.1
            };
            let hi = hi.max(self.reference.unwrap_or(hi)) * 1.5;
            let mut chart =
                builder.build_cartesian_2d(0f64..groups as f64, (lo..hi).log_scale())?;
            mesh!(chart)
                // 0.001 must not read as 0.00: print up to three decimals
                // and drop the trailing zeros.
                .y_label_formatter(&|y| {
                    format!("{y:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                })
                .draw()?;
            chart.draw_series(bars(lo))?;
            if let Some(r) = self.reference {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, r), (groups as f64, r)],
                    BLACK.stroke_width(1),
                )))?;
            }
        } else {
            let hi = if hi > 0.0 { (hi * 1.1).max(0.1) } else { 1.0 };
            let mut chart = builder.build_cartesian_2d(0f64..groups as f64, 0f64..hi)?;
            mesh!(chart)
                .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
                .draw()?;
            chart.draw_series(bars(0.0))?;
        }
        root.present()?;
        Ok(())
    }
}
