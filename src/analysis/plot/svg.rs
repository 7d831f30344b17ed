//! Drawing: axes (linear or logarithmic, with round ticks), panels of
//! lines with a marker shape and dash pattern each, a legend that says
//! which lines coincide, and the SVG text of panels stacked.

use std::fmt::Write as _;

/// How an axis maps values to positions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Evenly.
    Linear,
    /// By powers of ten (values must be positive).
    Log,
}

/// One axis of a panel.
#[derive(Clone, Debug)]
pub struct Axis {
    /// What the axis shows, with its unit.
    pub label: String,
    /// How values map to positions.
    pub scale: Scale,
    /// Tick positions and labels; `None` picks them from the data.
    pub ticks: Option<Vec<(f64, String)>>,
    /// The range shown; `None` fits the data (from 0 on linear axes).
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// An axis that picks its ticks and range from the data.
    pub fn auto(label: &str, scale: Scale) -> Axis {
        Axis {
            label: label.to_owned(),
            scale,
            ticks: None,
            range: None,
        }
    }
}

/// One line of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Error bars: (x, low, high), a vertical bar each.
    pub bars: Vec<(f64, f64, f64)>,
}

/// One chart.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The title above it.
    pub title: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The lines.
    pub series: Vec<Series>,
    /// Vertical lines across the panel at these x values, each labelled:
    /// the events of a run.
    pub markers: Vec<(f64, String)>,
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 260.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// Distinct colours, one per series in turn.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

/// Dash patterns, one per series in turn (with the colours, ten series
/// differ in both).
const DASHES: [&str; 5] = ["", "7 3", "2 3", "9 3 2 3", "4 4"];

/// Marker shapes, one per series in turn, so that series drawn at the
/// same place stay told apart.
const SHAPES: [Shape; 5] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
    Shape::TriangleDown,
];

#[derive(Clone, Copy, Debug)]
enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    TriangleDown,
}

impl Shape {
    /// The outline of the shape of radius `r` around (x, y), as SVG path
    /// data.
    fn path(self, x: f64, y: f64, r: f64) -> String {
        match self {
            Shape::Circle => format!(
                "M{:.1},{y:.1}a{r:.1},{r:.1} 0 1,0 {:.1},0a{r:.1},{r:.1} 0 1,0 {:.1},0Z",
                x - r,
                2.0 * r,
                -2.0 * r
            ),
            Shape::Square => format!(
                "M{:.1},{:.1}h{:.1}v{:.1}h{:.1}Z",
                x - r,
                y - r,
                2.0 * r,
                2.0 * r,
                -2.0 * r
            ),
            Shape::Triangle => format!(
                "M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z",
                y - 1.2 * r,
                x + 1.1 * r,
                y + 0.8 * r,
                x - 1.1 * r,
                y + 0.8 * r
            ),
            Shape::Diamond => format!(
                "M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z",
                y - 1.3 * r,
                x + 1.3 * r,
                y + 1.3 * r,
                x - 1.3 * r
            ),
            Shape::TriangleDown => format!(
                "M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z",
                y + 1.2 * r,
                x + 1.1 * r,
                y - 0.8 * r,
                x - 1.1 * r,
                y - 0.8 * r
            ),
        }
    }
}

/// Two points this close, as shares of an axis, are drawn on top of each
/// other (a pixel of the smallest plot).
const SAME_PLACE: f64 = 1.0 / 300.0;

/// Where a panel's series hide each other.
struct Overlaps {
    /// For each series and each of its points: how many later series
    /// (drawn over it) have a point at the same place.
    covered: Vec<Vec<usize>>,
    /// For each series: the other series drawn at the same place at every
    /// point (equal values, or within a pixel of each other).
    same_as: Vec<Vec<usize>>,
}

impl Overlaps {
    fn of(panel: &Panel, x_range: (f64, f64), y_range: (f64, f64)) -> Overlaps {
        let place = |&(x, y): &(f64, f64)| {
            (
                unit(x, panel.x.scale, x_range),
                unit(y, panel.y.scale, y_range),
            )
        };
        let places: Vec<Vec<(f64, f64)>> = panel
            .series
            .iter()
            .map(|series| series.points.iter().map(place).collect())
            .collect();
        let near = |a: (f64, f64), b: &(f64, f64)| {
            (a.0 - b.0).abs() < SAME_PLACE && (a.1 - b.1).abs() < SAME_PLACE
        };
        let covers = |a: &[(f64, f64)], b: &[(f64, f64)]| {
            a.iter()
                .all(|&point| b.iter().any(|other| near(point, other)))
        };
        let covered = places
            .iter()
            .enumerate()
            .map(|(index, points)| {
                points
                    .iter()
                    .map(|&point| {
                        places[index + 1..]
                            .iter()
                            .filter(|later| later.iter().any(|other| near(point, other)))
                            .count()
                    })
                    .collect()
            })
            .collect();
        let same_as = places
            .iter()
            .enumerate()
            .map(|(index, points)| {
                (0..places.len())
                    .filter(|&other| {
                        other != index
                            && !points.is_empty()
                            && covers(points, &places[other])
                            && covers(&places[other], points)
                    })
                    .collect()
            })
            .collect();
        Overlaps { covered, same_as }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step near `span / 5`: 1, 2 or 5 times a power of ten.
fn nice_step(span: f64) -> f64 {
    let rough = (span / 5.0).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(rough.log10().floor());
    let fraction = rough / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A number as a short tick label.
pub(crate) fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{}M", trim(value / 1e6))
    } else if magnitude >= 1e4 {
        format!("{}k", trim(value / 1e3))
    } else {
        trim(value)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The range and ticks an axis shows for `values`.
fn layout(axis: &Axis, values: &[f64]) -> ((f64, f64), Vec<(f64, String)>) {
    let finite: Vec<f64> = values
        .iter()
        .copied()
        .filter(|value| value.is_finite() && (axis.scale == Scale::Linear || *value > 0.0))
        .collect();
    let low = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let high = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if finite.is_empty() {
        match axis.scale {
            Scale::Linear => (0.0, 1.0),
            Scale::Log => (1.0, 10.0),
        }
    } else {
        (low, high)
    };
    let range = axis.range.unwrap_or(match axis.scale {
        Scale::Linear => {
            let low = low.min(0.0);
            let step = nice_step((high - low).max(f64::EPSILON));
            (
                (low / step).floor() * step,
                ((high / step).ceil() * step).max(low + step),
            )
        }
        Scale::Log => {
            let low = 10f64.powf(low.log10().floor());
            let high = 10f64.powf(high.log10().ceil()).max(low * 10.0);
            (low, high)
        }
    });
    let ticks = axis.ticks.clone().unwrap_or_else(|| match axis.scale {
        Scale::Linear => {
            let step = nice_step(range.1 - range.0);
            let mut ticks = Vec::new();
            let mut tick = (range.0 / step).ceil() * step;
            while tick <= range.1 + step * 1e-9 {
                ticks.push((tick, short_number(tick)));
                tick += step;
            }
            ticks
        }
        Scale::Log => {
            let mut ticks = Vec::new();
            let mut tick = range.0;
            while tick <= range.1 * 1.000_001 {
                ticks.push((tick, short_number(tick)));
                tick *= 10.0;
            }
            ticks
        }
    });
    (range, ticks)
}

/// Maps `value` into [0, 1] on an axis of `scale` over `range`.
fn unit(value: f64, scale: Scale, range: (f64, f64)) -> f64 {
    let (value, low, high) = match scale {
        Scale::Linear => (value, range.0, range.1),
        Scale::Log => (
            value.max(f64::MIN_POSITIVE).log10(),
            range.0.log10(),
            range.1.log10(),
        ),
    };
    if high > low {
        ((value - low) / (high - low)).clamp(-0.05, 1.05)
    } else {
        0.5
    }
}

/// Legend lines are this far apart.
const LEGEND_STEP: f64 = 16.0;

/// A panel's height: tall enough for its legend, each entry with room for
/// a note that it coincides with others.
fn panel_height(panel: &Panel) -> f64 {
    HEIGHT.max(TOP + 8.0 + 2.0 * panel.series.len() as f64 * LEGEND_STEP + BOTTOM)
}

/// Draws `panel` with its top edge at `top`: the title, the axes with
/// their grid, the event markers, then each series and its legend entry.
fn render_panel(out: &mut String, panel: &Panel, top: f64) {
    let frame = Frame::of(panel, top);
    title_and_axes(out, panel, &frame);
    event_markers(out, panel, &frame);
    // Lines, marks and the legend. A series drawn over others at the same
    // place leaves them visible: each has its own dash and marker shape,
    // and one that later series cover is drawn wider, its marks larger,
    // so that it shows around them; the legend says which coincide.
    let overlaps = Overlaps::of(panel, frame.x_range, frame.y_range);
    let mut legend_y = top + TOP + 8.0;
    for index in 0..panel.series.len() {
        draw_series(out, panel, &frame, &overlaps, index);
        legend_entry(out, panel, &frame, &overlaps, (index, &mut legend_y));
    }
}

/// Where a panel's plot area lies on the page, and how its values map
/// into it.
struct Frame {
    /// The panel's top edge.
    top: f64,
    /// The panel's height.
    height: f64,
    plot_width: f64,
    plot_height: f64,
    /// The axes' ranges, and their ticks with their labels.
    x_range: (f64, f64),
    y_range: (f64, f64),
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    x_scale: Scale,
    y_scale: Scale,
}

impl Frame {
    /// The frame of `panel` at `top`, its axes laid out over every point
    /// and error bar it draws.
    fn of(panel: &Panel, top: f64) -> Frame {
        let height = panel_height(panel);
        let xs: Vec<f64> = panel
            .series
            .iter()
            .flat_map(|series| series.points.iter().map(|point| point.0))
            .collect();
        let ys: Vec<f64> = panel
            .series
            .iter()
            .flat_map(|series| {
                let bars = series.bars.iter().flat_map(|bar| [bar.1, bar.2]);
                series.points.iter().map(|point| point.1).chain(bars)
            })
            .collect();
        let (x_range, x_ticks) = layout(&panel.x, &xs);
        let (y_range, y_ticks) = layout(&panel.y, &ys);
        Frame {
            top,
            height,
            plot_width: WIDTH - LEFT - RIGHT,
            plot_height: height - TOP - BOTTOM,
            x_range,
            y_range,
            x_ticks,
            y_ticks,
            x_scale: panel.x.scale,
            y_scale: panel.y.scale,
        }
    }

    /// Where `x` lies across the page.
    fn x_at(&self, x: f64) -> f64 {
        LEFT + unit(x, self.x_scale, self.x_range) * self.plot_width
    }

    /// Where `y` lies down the page.
    fn y_at(&self, y: f64) -> f64 {
        self.top + TOP + (1.0 - unit(y, self.y_scale, self.y_range)) * self.plot_height
    }
}

/// The panel's title, its grid with the ticks' labels, the plot's border
/// and the axes' labels.
fn title_and_axes(out: &mut String, panel: &Panel, frame: &Frame) {
    let (top, plot_width, plot_height) = (frame.top, frame.plot_width, frame.plot_height);
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="15" font-weight="bold">{}</text>"#,
        LEFT,
        top + TOP - 14.0,
        escape(&panel.title)
    );
    // Grid and ticks.
    for (value, label) in &frame.y_ticks {
        let y = frame.y_at(*value);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            LEFT + plot_width,
            LEFT - 6.0,
            y + 4.0,
            escape(label)
        );
    }
    for (value, label) in &frame.x_ticks {
        let x = frame.x_at(*value);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e0e0e0"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            top + TOP,
            top + TOP + plot_height,
            top + TOP + plot_height + 16.0,
            escape(label)
        );
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT:.1}" y="{:.1}" width="{plot_width:.1}" height="{plot_height:.1}" fill="none" stroke="#333"/>"##,
        top + TOP
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
        LEFT + plot_width / 2.0,
        top + frame.height - 18.0,
        escape(&panel.x.label)
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="12" text-anchor="middle">{}</text>"#,
        18.0,
        top + TOP + plot_height / 2.0,
        escape(&panel.y.label)
    );
}

/// Event markers: a dashed vertical line and its label, the labels
/// staggered so that close events stay readable.
fn event_markers(out: &mut String, panel: &Panel, frame: &Frame) {
    let top = frame.top;
    for (index, (x, label)) in panel.markers.iter().enumerate() {
        if !x.is_finite() {
            continue;
        }
        let at = frame.x_at(*x);
        let label_y = top + TOP + 14.0 + (index % 4) as f64 * 14.0;
        let _ = writeln!(
            out,
            r##"<line class="event" x1="{at:.1}" y1="{:.1}" x2="{at:.1}" y2="{:.1}" stroke="#555" stroke-width="1" stroke-dasharray="4 3"/><text x="{:.1}" y="{label_y:.1}" font-size="10" fill="#333">{}</text>"##,
            top + TOP,
            top + TOP + frame.plot_height,
            at + 3.0,
            escape(label)
        );
    }
}

/// The series at `index`: its line, its marks (wider and larger where
/// later series cover it) and its error bars.
fn draw_series(out: &mut String, panel: &Panel, frame: &Frame, overlaps: &Overlaps, index: usize) {
    let series = &panel.series[index];
    let colour = PALETTE[index % PALETTE.len()];
    let dash = DASHES[index % DASHES.len()];
    let shape = SHAPES[index % SHAPES.len()];
    let drawn_over = overlaps.same_as[index]
        .iter()
        .filter(|&&other| other > index)
        .count();
    let width = 2.0 + 2.5 * drawn_over as f64;
    let points: Vec<(f64, f64, usize)> = series
        .points
        .iter()
        .zip(&overlaps.covered[index])
        .filter(|((x, y), _)| x.is_finite() && y.is_finite())
        .map(|(&(x, y), &covered)| (frame.x_at(x), frame.y_at(y), covered))
        .collect();
    let line: Vec<String> = points
        .iter()
        .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = writeln!(
        out,
        r#"<polyline class="line s{index}" points="{}" fill="none" stroke="{colour}" stroke-width="{width:.1}" stroke-dasharray="{dash}"/>"#,
        line.join(" ")
    );
    for &(x, y, covered) in &points {
        let radius = 3.0 + 2.0 * covered as f64;
        let _ = writeln!(
            out,
            r#"<path class="mark s{index}" d="{}" fill="{colour}" stroke="white" stroke-width="0.8"/>"#,
            shape.path(x, y, radius)
        );
    }
    // Error bars: the interval of each point, capped at both ends, each
    // series' a little apart so that bars at one x stay visible.
    let nudge = (index as f64 - (panel.series.len() as f64 - 1.0) / 2.0) * 3.0;
    for &(x, low, high) in &series.bars {
        if !(x.is_finite() && low.is_finite() && high.is_finite()) {
            continue;
        }
        let (x, low, high) = (frame.x_at(x) + nudge, frame.y_at(low), frame.y_at(high));
        let _ = writeln!(
            out,
            r#"<path class="bar" d="M{:.1},{low:.1}H{:.1}M{x:.1},{low:.1}V{high:.1}M{:.1},{high:.1}H{:.1}" stroke="{colour}" stroke-width="1.2" fill="none"/>"#,
            x - 4.0,
            x + 4.0,
            x - 4.0,
            x + 4.0
        );
    }
}

/// The legend's entry of the series at `index`, at `legend_y`, which it
/// moves down past itself: its line and mark, its name, and which series
/// it coincides with.
fn legend_entry(
    out: &mut String,
    panel: &Panel,
    frame: &Frame,
    overlaps: &Overlaps,
    (index, legend_y): (usize, &mut f64),
) {
    let series = &panel.series[index];
    let colour = PALETTE[index % PALETTE.len()];
    let dash = DASHES[index % DASHES.len()];
    let shape = SHAPES[index % SHAPES.len()];
    let legend_x = LEFT + frame.plot_width + 16.0;
    let y = *legend_y;
    let _ = writeln!(
        out,
        r#"<line x1="{legend_x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><path class="legend-mark s{index}" d="{}" fill="{colour}" stroke="white" stroke-width="0.8"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
        legend_x + 22.0,
        shape.path(legend_x + 11.0, y, 3.5),
        legend_x + 28.0,
        y + 4.0,
        escape(&legend_name(&series.name))
    );
    *legend_y += LEGEND_STEP;
    if !overlaps.same_as[index].is_empty() {
        let others: Vec<String> = overlaps.same_as[index]
            .iter()
            .map(|&other| legend_name(&panel.series[other].name))
            .collect();
        let _ = writeln!(
            out,
            r##"<text class="coincides s{index}" x="{:.1}" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
            legend_x + 28.0,
            *legend_y + 2.0,
            escape(&legend_name(&format!(
                "coincides with {}",
                others.join(", ")
            )))
        );
        *legend_y += LEGEND_STEP;
    }
}

/// The most characters of a series' name the legend has room for.
const LEGEND_CHARS: usize = 36;

fn legend_name(name: &str) -> String {
    if name.chars().count() <= LEGEND_CHARS {
        name.to_owned()
    } else {
        let kept: String = name.chars().take(LEGEND_CHARS - 1).collect();
        format!("{kept}…")
    }
}

/// Panels stacked in one SVG document.
pub fn render(panels: &[Panel]) -> String {
    let height: f64 = panels.iter().map(panel_height).sum::<f64>().max(HEIGHT);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let mut top = 0.0;
    for panel in panels {
        render_panel(&mut out, panel, top);
        top += panel_height(panel);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(1.0), 0.2);
        assert_eq!(nice_step(100.0), 20.0);
        assert_eq!(nice_step(23.0), 5.0);
        assert_eq!(nice_step(0.9), 0.2);
        assert_eq!(short_number(25_000.0), "25k");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(3_000_000.0), "3M");
    }

    #[test]
    fn the_svg_has_a_line_and_a_legend_entry_per_series_and_escapes_text() {
        let panel = Panel {
            title: "a <b> & c".to_owned(),
            x: Axis::auto("x", Scale::Log),
            y: Axis::auto("y", Scale::Linear),
            series: vec![
                Series {
                    name: "one".to_owned(),
                    points: vec![(1.0, 0.5), (10.0, 0.7), (100.0, 0.9)],
                    bars: Vec::new(),
                },
                Series {
                    name: "two".to_owned(),
                    points: vec![(1.0, 0.1), (100.0, 0.2)],
                    bars: vec![(1.0, 0.05, 0.15), (100.0, 0.15, 0.3)],
                },
            ],
            markers: Vec::new(),
        };
        let svg = render(&[panel.clone(), panel]);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches(r#"class="mark"#).count(), 10);
        // One error bar per interval given (two panels of two), none for
        // the series without.
        assert_eq!(svg.matches(r#"class="bar""#).count(), 4);
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(!svg.contains("a <b>"));
        assert!(!svg.contains("NaN"));
        // Log ticks at powers of ten over the data.
        assert!(svg.contains(">100</text>"));
    }

    #[test]
    fn series_with_equal_values_stay_visible_and_the_legend_says_they_coincide() {
        let line = |name: &str, ys: [f64; 3]| Series {
            name: name.to_owned(),
            points: vec![(1.0, ys[0]), (10.0, ys[1]), (100.0, ys[2])],
            bars: Vec::new(),
        };
        // The 50-replica line would vanish behind the 1000-replica one.
        let panel = Panel {
            title: "loads".to_owned(),
            x: Axis::auto("cache", Scale::Log),
            y: Axis::auto("loads / request", Scale::Linear),
            series: vec![
                line("10 replicas", [0.5, 0.4, 0.3]),
                line("50 replicas", [0.25, 0.25, 0.25]),
                line("1000 replicas", [0.25, 0.25, 0.25]),
                line("1 replica", [0.6, 0.25, 0.1]),
            ],
            markers: Vec::new(),
        };
        let svg = render(std::slice::from_ref(&panel));
        let attribute = |element: &str, name: &str| -> String {
            let start = element.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            element[start..].split('"').next().unwrap().to_owned()
        };
        let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline")).collect();
        assert_eq!(lines.len(), 4);
        // One mark per series and point.
        for index in 0..4 {
            assert_eq!(svg.matches(&format!(r#"class="mark s{index}""#)).count(), 3);
        }
        // Every series has its own dash pattern and marker shape.
        let dashes: std::collections::BTreeSet<String> = lines
            .iter()
            .map(|line| attribute(line, "stroke-dasharray"))
            .collect();
        assert_eq!(dashes.len(), 4);
        let shape_of = |index: usize| {
            let legend = svg
                .lines()
                .find(|l| l.contains(&format!(r#"class="legend-mark s{index}""#)))
                .unwrap();
            let d = attribute(&legend[legend.find("<path").unwrap()..], "d");
            // The path's commands, without the coordinates.
            d.chars()
                .filter(char::is_ascii_alphabetic)
                .collect::<String>()
        };
        let shapes: std::collections::BTreeSet<String> = (0..4).map(shape_of).collect();
        assert_eq!(shapes.len(), 4, "{shapes:?}");
        // The covered line is drawn wider than the one over it, and its
        // marks larger, so it shows around it.
        assert!(attribute(lines[1], "stroke-width").parse::<f64>().unwrap() > 2.0);
        assert_eq!(attribute(lines[2], "stroke-width"), "2.0");
        let overlaps = Overlaps::of(&panel, (1.0, 100.0), (0.0, 0.6));
        // 1 replica meets them at the middle point only: there the marks
        // under it are enlarged once more, and its line coincides with
        // neither.
        assert_eq!(overlaps.covered[1], [1, 2, 1]);
        assert_eq!(overlaps.covered[2], [0, 1, 0]);
        assert_eq!(overlaps.covered[3], [0, 0, 0]);
        assert_eq!(overlaps.covered[0], [0, 0, 0]);
        assert_eq!(overlaps.same_as, [vec![], vec![2], vec![1], vec![]]);
        // The legend says which coincide, and only those.
        assert!(svg.contains(r#"class="coincides s1""#));
        assert!(svg.contains("coincides with 1000 replicas"));
        assert!(svg.contains("coincides with 50 replicas"));
        assert_eq!(svg.matches(r#"class="coincides"#).count(), 2);
    }
}
