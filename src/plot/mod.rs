//! One house style for every figure: line plots in one or more panels, linear or log axes, an
//! optional confidence band per series, horizontal reference lines, one palette, embedded DejaVu
//! Sans (no system fonts needed), written as PNG and SVG. Also the CSV writer every example uses:
//! a `#`-comment header with the settings and the samlab version, then one row per plotted point.
//! Every file is written atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Once;

use plotters::prelude::*;

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

/// One curve.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// A band (lower, upper) around the curve, e.g. a confidence interval.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Draw points instead of a line.
    pub points: bool,
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
        }
    }
    /// Set the scales.
    pub fn scales(mut self, x: Scale, y: Scale) -> Self {
        self.x_scale = x;
        self.y_scale = y;
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

fn range(vals: impl Iterator<Item = f64>, s: Scale) -> (f64, f64) {
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

type PlotResult = std::result::Result<(), Box<dyn std::error::Error>>;

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
        let xs = panel.series.iter().flat_map(|s| s.x.iter().copied());
        let ys = panel
            .series
            .iter()
            .flat_map(|s| {
                let band = s
                    .band
                    .iter()
                    .flat_map(|(l, u)| l.iter().chain(u.iter()).copied());
                s.y.iter().copied().chain(band)
            })
            .chain(panel.hlines.iter().map(|h| h.1));
        let (x0, x1) = range(xs, panel.x_scale);
        let (y0, y1) = range(ys, panel.y_scale);
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, ("sans-serif", 16).into_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let (xs_, ys_) = (panel.x_scale, panel.y_scale);
        chart
            .configure_mesh()
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .x_label_formatter(&|v| tick(*v, xs_))
            .y_label_formatter(&|v| tick(*v, ys_))
            .label_style(("sans-serif", 13))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (k, s) in panel.series.iter().enumerate() {
            let c = PALETTE[k % PALETTE.len()];
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
                chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))?;
            }
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .filter_map(|(x, y)| Some((tr(*x, xs_)?, tr(*y, ys_)?)))
                    .collect();
            let anno = if s.points {
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))?
            } else {
                chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?
            };
            anno.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
            });
        }
        for (k, (label, y)) in panel.hlines.iter().enumerate() {
            if let Some(y) = tr(*y, ys_) {
                let c = RGBColor(90, 90, 90);
                let n = 40;
                let seg = (x1 - x0) / (2 * n) as f64;
                chart
                    .draw_series((0..n).map(|i| {
                        let a = x0 + (2 * i) as f64 * seg;
                        PathElement::new(
                            vec![(a, y), (a + seg, y)],
                            c.stroke_width(if k == 0 { 2 } else { 1 }),
                        )
                    }))?
                    .label(label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
        }
        if !panel.series.is_empty() || !panel.hlines.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }
    }
    root.present()?;
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
}
