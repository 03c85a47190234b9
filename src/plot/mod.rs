//! One house style for every figure: line and point plots in one or more panels, linear or log
//! axes, an optional confidence band per series, labelled horizontal and vertical reference lines,
//! category maps drawn as filled rectangles, legend placement, explicit axis ranges (curves are
//! clipped to them), one palette, embedded DejaVu Sans (no system fonts needed), written as PNG and
//! SVG. Also the CSV writer every example uses: a `#`-comment header with the settings and the
//! samlab version, then one row per plotted point. Every file is written atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
/// The colour type of [`PALETTE`] and [`CellMap`] categories.
pub use plotters::style::RGBColor;

use crate::error::{Error, Result};
use crate::io::write_atomic;

/// The palette: colour-blind-safe (Okabe–Ito), in series order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// An axis scale. Log axes plot log₁₀ of the data and label ticks as powers of ten; non-positive
/// values are left out of a log axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic.
    Log,
}

/// Where a panel's legend goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Legend {
    /// Upper right corner (the default).
    #[default]
    UpperRight,
    /// Upper left corner.
    UpperLeft,
    /// Lower left corner.
    LowerLeft,
    /// Lower right corner.
    LowerRight,
    /// No legend.
    None,
}

/// The shape drawn at each point of a point series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle (the default).
    #[default]
    Circle,
    /// A filled square.
    Square,
    /// A filled upward triangle.
    Triangle,
    /// A cross (×).
    Cross,
    /// A short vertical tick (for positions on an axis, e.g. a rug).
    Tick,
}

/// One curve.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend label (an empty label gives no legend entry).
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// A band (lower, upper) around the curve, e.g. a confidence interval.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Draw points instead of a line.
    pub points: bool,
    /// The marker of a point series.
    pub marker: Marker,
    /// Palette index of the colour (default: the series' position in its panel).
    pub color: Option<usize>,
}

impl Series {
    /// A line series.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Series {
            label: label.into(),
            x,
            y,
            ..Default::default()
        }
    }
    /// With a band (lower, upper).
    pub fn with_band(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        self.band = Some((lower, upper));
        self
    }
    /// Drawn as points.
    pub fn as_points(mut self) -> Self {
        self.points = true;
        self
    }
    /// Drawn as points with the given marker.
    pub fn with_marker(mut self, marker: Marker) -> Self {
        self.points = true;
        self.marker = marker;
        self
    }
    /// In colour `k` of the [`PALETTE`] (taken modulo its length).
    pub fn with_color(mut self, k: usize) -> Self {
        self.color = Some(k);
        self
    }
}

/// A map of categories on a rectangular grid, drawn as filled rectangles below the curves (e.g.
/// which minimum each start of a grid reaches).
#[derive(Clone, Debug)]
pub struct CellMap {
    /// Cell edges along x (nx + 1 values, increasing).
    pub x_edges: Vec<f64>,
    /// Cell edges along y (ny + 1 values, increasing).
    pub y_edges: Vec<f64>,
    /// Category of cell (ix, iy) at `iy * nx + ix`, an index into `categories`.
    pub cells: Vec<usize>,
    /// Legend label and colour of each category.
    pub categories: Vec<(String, RGBColor)>,
}

/// One panel: axes, labels and curves.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// x-axis label (with units).
    pub x_label: String,
    /// y-axis label (with units).
    pub y_label: String,
    /// x scale.
    pub x_scale: Scale,
    /// y scale.
    pub y_scale: Scale,
    /// The curves.
    pub series: Vec<Series>,
    /// Horizontal reference lines (label, y), dashed.
    pub hlines: Vec<(String, f64)>,
    /// Vertical reference lines (label, x), dashed.
    pub vlines: Vec<(String, f64)>,
    /// Where the legend goes.
    pub legend: Legend,
    /// The x range (in data units, also on a log axis), overriding the data's.
    pub x_range: Option<(f64, f64)>,
    /// The y range (in data units, also on a log axis), overriding the data's.
    pub y_range: Option<(f64, f64)>,
    /// A category map drawn below the curves.
    pub cells: Option<CellMap>,
}

impl Panel {
    /// An empty panel with linear axes.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Panel {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            legend: Legend::UpperRight,
            x_range: None,
            y_range: None,
            cells: None,
        }
    }
    /// Set the scales.
    pub fn scales(mut self, x: Scale, y: Scale) -> Self {
        self.x_scale = x;
        self.y_scale = y;
        self
    }
    /// Place the legend.
    pub fn legend(mut self, at: Legend) -> Self {
        self.legend = at;
        self
    }
    /// Show x in [lo, hi] (data units); curves are clipped to the range.
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }
    /// Show y in [lo, hi] (data units); curves are clipped to the range.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }
    /// Add a dashed horizontal reference line at `y` with a legend label.
    pub fn hline(mut self, label: impl Into<String>, y: f64) -> Self {
        self.hlines.push((label.into(), y));
        self
    }
    /// Add a dashed vertical reference line at `x` with a legend label.
    pub fn vline(mut self, label: impl Into<String>, x: f64) -> Self {
        self.vlines.push((label.into(), x));
        self
    }
    /// Draw a category map below the curves.
    pub fn with_cells(mut self, cells: CellMap) -> Self {
        self.cells = Some(cells);
        self
    }
}

/// A figure: a title and panels side by side.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Figure title.
    pub title: String,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
    /// Width of one panel in pixels.
    pub panel_width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Figure {
    /// A figure of the given panels (560×420 pixels each).
    pub fn new(title: impl Into<String>, panels: Vec<Panel>) -> Self {
        Figure {
            title: title.into(),
            panels,
            panel_width: 560,
            height: 420,
        }
    }
    /// Set the size of one panel in pixels.
    pub fn size(mut self, panel_width: u32, height: u32) -> Self {
        self.panel_width = panel_width;
        self.height = height;
        self
    }
}

static FONTS: Once = Once::new();

fn register_fonts() {
    FONTS.call_once(|| {
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            let bytes = match style {
                FontStyle::Bold => dejavu::sans::bold(),
                FontStyle::Italic | FontStyle::Oblique => dejavu::sans::oblique(),
                FontStyle::Normal => dejavu::sans::regular(),
            };
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                unreachable!("DejaVu Sans is a valid font");
            }
        }
    });
}

fn tr(v: f64, s: Scale) -> Option<f64> {
    match s {
        Scale::Linear => v.is_finite().then_some(v),
        Scale::Log => (v > 0.0 && v.is_finite()).then(|| v.log10()),
    }
}

/// The plotted range: `fixed` (transformed) when given and valid, else the padded data range.
fn range(vals: impl Iterator<Item = f64>, s: Scale, fixed: Option<(f64, f64)>) -> (f64, f64) {
    if let Some((a, b)) = fixed
        && let (Some(a), Some(b)) = (tr(a, s), tr(b, s))
        && a < b
    {
        return (a, b);
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter_map(|v| tr(v, s)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

fn tick(v: f64, s: Scale) -> String {
    match s {
        Scale::Linear => {
            let a = v.abs();
            if a != 0.0 && !(1e-3..1e4).contains(&a) {
                format!("{v:.1e}")
            } else {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            }
        }
        Scale::Log if (v - v.round()).abs() < 1e-9 => format!("1e{}", v.round() as i64),
        Scale::Log => format!("{:.1e}", 10f64.powf(v)),
    }
}

/// The plotting window in transformed coordinates.
#[derive(Clone, Copy, Debug)]
struct Window {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Window {
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }

    /// The part of the segment a–b inside the window (Liang–Barsky), if any.
    fn clip(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - self.x0),
            (dx, self.x1 - a.0),
            (-dy, a.1 - self.y0),
            (dy, self.y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        (t0 <= t1).then(|| {
            let at = |t: f64| (a.0 + t * dx, a.1 + t * dy);
            (at(t0), at(t1))
        })
    }

    /// The polyline through `pts` cut to the window: one or more pieces.
    fn clip_polyline(&self, pts: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut open = false;
        for w in pts.windows(2) {
            match self.clip(w[0], w[1]) {
                Some((a, b)) => {
                    match pieces.last_mut() {
                        Some(p) if open && p.last() == Some(&a) => p.push(b),
                        _ => pieces.push(vec![a, b]),
                    }
                    open = b == w[1];
                }
                None => open = false,
            }
        }
        if pts.len() == 1 && self.contains(pts[0]) {
            pieces.push(vec![pts[0]]);
        }
        pieces
    }

    /// The polygon `poly` cut to the window (Sutherland–Hodgman, one edge at a time).
    fn clip_polygon(&self, poly: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
        // Each edge: inside test and the crossing point of a segment with the edge's line.
        let edges: [(usize, f64, bool); 4] = [
            (0, self.x0, true),
            (0, self.x1, false),
            (1, self.y0, true),
            (1, self.y1, false),
        ];
        let mut out = poly;
        for (axis, c, lower) in edges {
            let coord = |p: (f64, f64)| if axis == 0 { p.0 } else { p.1 };
            let inside = |p: (f64, f64)| if lower { coord(p) >= c } else { coord(p) <= c };
            let cross = |a: (f64, f64), b: (f64, f64)| {
                let t = (c - coord(a)) / (coord(b) - coord(a));
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            };
            let input = std::mem::take(&mut out);
            for (k, &cur) in input.iter().enumerate() {
                let prev = input[(k + input.len() - 1) % input.len()];
                match (inside(prev), inside(cur)) {
                    (true, true) => out.push(cur),
                    (true, false) => out.push(cross(prev, cur)),
                    (false, true) => {
                        out.push(cross(prev, cur));
                        out.push(cur);
                    }
                    (false, false) => {}
                }
            }
        }
        out
    }
}

type PlotResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The reference-line colour.
const REFERENCE: RGBColor = RGBColor(90, 90, 90);

/// A dashed line from a to b (transformed coordinates) in `n` dashes.
fn dashes(
    a: (f64, f64),
    b: (f64, f64),
    width: u32,
) -> impl Iterator<Item = PathElement<(f64, f64)>> {
    let n = 40;
    (0..n).map(move |i| {
        let at = |t: f64| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        let t = (2 * i) as f64 / (2 * n) as f64;
        PathElement::new(
            vec![at(t), at(t + 1.0 / (2 * n) as f64)],
            REFERENCE.stroke_width(width),
        )
    })
}

/// The legend position of `at` (None: no legend).
fn legend_position(at: Legend) -> Option<SeriesLabelPosition> {
    match at {
        Legend::UpperRight => Some(SeriesLabelPosition::UpperRight),
        Legend::UpperLeft => Some(SeriesLabelPosition::UpperLeft),
        Legend::LowerLeft => Some(SeriesLabelPosition::LowerLeft),
        Legend::LowerRight => Some(SeriesLabelPosition::LowerRight),
        Legend::None => None,
    }
}

/// The data of a panel along x and y (curves, bands, reference lines, cell edges), for its range.
fn extents(panel: &Panel) -> (Vec<f64>, Vec<f64>) {
    let mut xs: Vec<f64> = panel.series.iter().flat_map(|s| s.x.clone()).collect();
    let mut ys: Vec<f64> = Vec::new();
    for s in &panel.series {
        ys.extend(&s.y);
        if let Some((l, u)) = &s.band {
            ys.extend(l.iter().chain(u));
        }
    }
    ys.extend(panel.hlines.iter().map(|h| h.1));
    xs.extend(panel.vlines.iter().map(|v| v.1));
    if let Some(c) = &panel.cells {
        xs.extend(&c.x_edges);
        ys.extend(&c.y_edges);
    }
    (xs, ys)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(&fig.title, ("sans-serif", 22).into_font())?;
    let areas = root.split_evenly((1, fig.panels.len().max(1)));
    for (panel, area) in fig.panels.iter().zip(areas) {
        let (xs_, ys_) = (panel.x_scale, panel.y_scale);
        let (xs, ys) = extents(panel);
        let (x0, x1) = range(xs.into_iter(), xs_, panel.x_range);
        let (y0, y1) = range(ys.into_iter(), ys_, panel.y_range);
        let win = Window { x0, x1, y0, y1 };
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, ("sans-serif", 16).into_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .x_label_formatter(&|v| tick(*v, xs_))
            .y_label_formatter(&|v| tick(*v, ys_))
            .label_style(("sans-serif", 13))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut labelled = false;
        if let Some(map) = &panel.cells {
            draw_cells(&mut chart, map, xs_, ys_, &win)?;
            for (label, c) in &map.categories {
                let c = *c;
                chart
                    .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                    .label(label.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled())
                    });
                labelled = true;
            }
        }
        for (k, s) in panel.series.iter().enumerate() {
            let c = PALETTE[s.color.unwrap_or(k) % PALETTE.len()];
            if let Some((lo, up)) = &s.band {
                let mut poly: Vec<(f64, f64)> = Vec::new();
                for (x, u) in s.x.iter().zip(up) {
                    if let (Some(x), Some(u)) = (tr(*x, xs_), tr(*u, ys_)) {
                        poly.push((x, u));
                    }
                }
                for (x, l) in s.x.iter().zip(lo).rev() {
                    if let (Some(x), Some(l)) = (tr(*x, xs_), tr(*l, ys_)) {
                        poly.push((x, l));
                    }
                }
                let poly = win.clip_polygon(poly);
                if poly.len() >= 3 {
                    chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))?;
                }
            }
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .filter_map(|(x, y)| Some((tr(*x, xs_)?, tr(*y, ys_)?)))
                    .collect();
            let label = (!s.label.is_empty()).then(|| s.label.clone());
            labelled |= label.is_some();
            // Draws the elements `$e` at the points `$p` inside the window, and the same element
            // as the legend sample.
            macro_rules! markers {
                (|$p:ident| $e:expr) => {{
                    let inside = pts.iter().copied().filter(|p| win.contains(*p));
                    let anno = chart.draw_series(inside.map(|$p| $e))?;
                    if let Some(l) = label {
                        anno.label(l).legend(move |(x, y)| {
                            let $p = (x + 9, y);
                            $e
                        });
                    }
                }};
            }
            match (s.points, s.marker) {
                (false, _) => {
                    let pieces = win.clip_polyline(&pts);
                    let anno = chart.draw_series(
                        pieces
                            .into_iter()
                            .map(|piece| PathElement::new(piece, c.stroke_width(2))),
                    )?;
                    if let Some(l) = label {
                        anno.label(l).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                        });
                    }
                }
                (true, Marker::Circle) => markers!(|p| Circle::new(p, 3, c.filled())),
                (true, Marker::Triangle) => markers!(|p| TriangleMarker::new(p, 4, c.filled())),
                (true, Marker::Cross) => markers!(|p| Cross::new(p, 3, c.stroke_width(2))),
                (true, Marker::Square) => markers!(
                    |p| EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], c.filled())
                ),
                (true, Marker::Tick) => markers!(|p| EmptyElement::at(p)
                    + PathElement::new(vec![(0, -6), (0, 6)], c.stroke_width(1))),
            }
        }
        let lines = panel
            .hlines
            .iter()
            .filter_map(|(l, y)| Some((l, (x0, tr(*y, ys_)?), (x1, tr(*y, ys_)?))))
            .chain(
                panel
                    .vlines
                    .iter()
                    .filter_map(|(l, x)| Some((l, (tr(*x, xs_)?, y0), (tr(*x, xs_)?, y1)))),
            );
        for (k, (label, a, b)) in lines.enumerate() {
            let Some((a, b)) = win.clip(a, b) else {
                continue;
            };
            let anno = chart.draw_series(dashes(a, b, if k == 0 { 2 } else { 1 }))?;
            if !label.is_empty() {
                anno.label(label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], REFERENCE.stroke_width(2))
                });
                labelled = true;
            }
        }
        if let (true, Some(pos)) = (labelled, legend_position(panel.legend)) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 13))
                .position(pos)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

/// Fill the cells of `map`, one rectangle per run of equal cells along a row.
fn draw_cells<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    map: &CellMap,
    xs: Scale,
    ys: Scale,
    win: &Window,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let nx = map.x_edges.len().saturating_sub(1);
    let mut rects = Vec::new();
    for (iy, yy) in map.y_edges.windows(2).enumerate() {
        let row = &map.cells[iy * nx..(iy + 1) * nx];
        let mut start = 0;
        for ix in 1..=nx {
            if ix < nx && row[ix] == row[start] {
                continue;
            }
            let corners = (
                tr(map.x_edges[start], xs),
                tr(map.x_edges[ix], xs),
                tr(yy[0], ys),
                tr(yy[1], ys),
            );
            if let (Some(a), Some(b), Some(lo), Some(hi)) = corners {
                let (a, b) = (a.max(win.x0), b.min(win.x1));
                let (lo, hi) = (lo.max(win.y0), hi.min(win.y1));
                if a < b && lo < hi {
                    let c = map.categories[row[start]].1;
                    rects.push(Rectangle::new([(a, lo), (b, hi)], c.filled()));
                }
            }
            start = ix;
        }
    }
    chart.draw_series(rects)?;
    Ok(())
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        file: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Write `fig` to `<stem>.png` and `<stem>.svg`, each atomically. Returns the two paths.
pub fn save(fig: &Figure, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    register_fonts();
    let size = (fig.panel_width * fig.panels.len().max(1) as u32, fig.height);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            file: dir.to_path_buf(),
            source,
        })?;
    }
    // PNG: render into a temporary file with the right extension beside the target, then rename.
    let tmp = stem.with_extension(format!("tmp{}.png", std::process::id()));
    draw(BitMapBackend::new(&tmp, size).into_drawing_area(), fig).map_err(|e| plot_err(&png, e))?;
    std::fs::rename(&tmp, &png).map_err(|source| Error::Write {
        file: png.clone(),
        source,
    })?;
    let mut text = String::new();
    draw(
        SVGBackend::with_string(&mut text, size).into_drawing_area(),
        fig,
    )
    .map_err(|e| plot_err(&svg, e))?;
    write_atomic(&svg, text.as_bytes())?;
    Ok((png, svg))
}

/// The `main` of a figure example: run the figure, print its summary with `report`, then where the
/// files went and the wall time; on error, print it and return exit code 2.
pub fn example_main<T>(
    name: &str,
    out: &Path,
    run: impl FnOnce() -> Result<T>,
    report: impl FnOnce(&T),
) -> ExitCode {
    let t = std::time::Instant::now();
    match run() {
        Ok(result) => {
            report(&result);
            println!(
                "wrote {}/{name}.{{png,svg,csv}} in {:.2}s",
                out.display(),
                t.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Write a CSV file atomically: `# key: value` header lines (the samlab version first, then
/// `settings`), a column header, then the rows (full precision, `nan` for missing values).
pub fn write_csv(
    path: &Path,
    settings: &[(&str, String)],
    columns: &[&str],
    rows: &[Vec<f64>],
) -> Result<()> {
    let mut s = format!("# samlab {}\n", env!("CARGO_PKG_VERSION"));
    for (k, v) in settings {
        s += &format!("# {k}: {v}\n");
    }
    s += &columns.join(",");
    s.push('\n');
    for r in rows {
        assert_eq!(r.len(), columns.len(), "row width matches the columns");
        s += &r
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        s.push('\n');
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            file: dir.to_path_buf(),
            source,
        })?;
    }
    write_atomic(path, s.as_bytes())
}

/// Read back a CSV written by [`write_csv`]: (settings, columns, rows).
pub fn read_csv(path: &Path) -> Result<(Vec<(String, String)>, Vec<String>, Vec<Vec<f64>>)> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let mut settings = Vec::new();
    let mut lines = text.lines();
    let mut header = None;
    for l in lines.by_ref() {
        if let Some(c) = l.strip_prefix("# ") {
            let (k, v) = c.split_once(": ").unwrap_or((c, ""));
            settings.push((k.to_string(), v.to_string()));
        } else {
            header = Some(l.split(',').map(str::to_string).collect::<Vec<_>>());
            break;
        }
    }
    let columns = header.unwrap_or_default();
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate() {
        let r: std::result::Result<Vec<f64>, _> = l.split(',').map(str::parse::<f64>).collect();
        rows.push(r.map_err(|e| Error::Parse {
            file: path.to_path_buf(),
            format: "samlab CSV",
            message: format!("row {i}: {e}"),
        })?);
    }
    Ok((settings, columns, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_and_its_csv_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f64> = (1..50).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
        let lo: Vec<f64> = y.iter().map(|v| v * 0.8).collect();
        let hi: Vec<f64> = y.iter().map(|v| v * 1.2).collect();
        let mut p = Panel::new("decay", "step", "loss").scales(Scale::Log, Scale::Log);
        p.series
            .push(Series::line("1/t", x.clone(), y.clone()).with_band(lo, hi));
        p.hlines.push(("floor".into(), 0.05));
        let fig = Figure::new("test figure", vec![p.clone(), p]);
        let (png, svg) = save(&fig, &dir.path().join("f")).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
        let csv = dir.path().join("f.csv");
        let rows: Vec<Vec<f64>> = x.iter().zip(&y).map(|(a, b)| vec![*a, *b]).collect();
        write_csv(&csv, &[("alpha", "0.05".into())], &["t", "loss"], &rows).unwrap();
        let (s, c, r) = read_csv(&csv).unwrap();
        assert_eq!(s[1], ("alpha".to_string(), "0.05".to_string()));
        assert_eq!(c, vec!["t", "loss"]);
        assert_eq!(r, rows);
    }

    #[test]
    fn clipping_keeps_what_is_inside() {
        let w = Window {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        };
        assert_eq!(
            w.clip((-1.0, 0.5), (2.0, 0.5)),
            Some(((0.0, 0.5), (1.0, 0.5)))
        );
        assert_eq!(w.clip((-1.0, 2.0), (2.0, 2.0)), None);
        // In, out, back in: two pieces; the first ends on the edge y = 1.
        let pieces = w.clip_polyline(&[(0.1, 0.1), (0.5, 2.0), (0.9, 0.1)]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0][1].1, 1.0);
        assert_eq!(pieces[1][0].1, 1.0);
        // A square twice the window's size is cut to the window.
        let mut sq = w.clip_polygon(vec![(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)]);
        sq.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(sq, vec![(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]);
    }

    #[test]
    fn every_option_draws() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let mut p = Panel::new("options", "x", "y")
            .legend(Legend::LowerRight)
            .x_range(2.0, 15.0)
            .y_range(1.0, 100.0)
            .vline("switch", 10.0)
            .hline("", 50.0)
            .scales(Scale::Linear, Scale::Log);
        p.series
            .push(Series::line("x²", x.clone(), y.clone()).with_color(3));
        for (k, m) in [
            Marker::Square,
            Marker::Triangle,
            Marker::Cross,
            Marker::Tick,
        ]
        .into_iter()
        .enumerate()
        {
            p.series.push(
                Series::line(format!("{m:?}"), x.clone(), vec![k as f64 + 2.0; 20]).with_marker(m),
            );
        }
        let cells = CellMap {
            x_edges: vec![0.0, 5.0, 10.0, 20.0],
            y_edges: vec![1.0, 10.0, 1000.0],
            cells: vec![0, 0, 1, 1, 0, 0],
            categories: vec![("a".into(), PALETTE[5]), ("b".into(), PALETTE[4])],
        };
        let q = Panel::new("cells", "x", "y")
            .with_cells(cells)
            .legend(Legend::None);
        let (png, svg) = save(
            &Figure::new("options", vec![p, q]).size(400, 300),
            &dir.path().join("o"),
        )
        .unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("switch") && text.contains("Triangle"));
        assert!(!text.contains(">a<"), "no legend in the cell panel");
    }
}
