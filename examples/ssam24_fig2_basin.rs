//! The basins of attraction behind ssam24 Fig 2: on the quartic saddle
//! f(x) = x₁⁴/4 − x₁x₂ + x₂²/2 (strict saddle at 0, minimizers ±(1, 1)), for one learning rate and
//! one ρ (default η = 0.1, ρ = 0.4, where Fig 2's success rates differ most: SGD and SSAM ≈ 100 %,
//! SAM ≈ 77 %, SAM* ≈ 5 %), which end each start of a grid over [−2, 2]² reaches after T steps:
//! (1, 1), (−1, −1) (within `tol`), neither (a finite iterate farther than `tol` from both), or
//! divergence (a non-finite iterate or |xᵢ| > `blowup`). One panel per method: SGD, SAM (w + ρg),
//! SAM* (w + ρg/‖g‖), SSAM (SAM's descent rescaled by ‖g‖/‖g_asc‖). Each panel also gives the
//! median final distance to the nearer minimizer over the runs that did not diverge (it tells a
//! run that settles at a minimizer from one that keeps moving about it farther than `tol`).
//!
//! The noise settings are Fig 2's (`examples/ssam24_fig2.rs`): every gradient evaluation gets
//! N(0, s²I) noise with s² = 0.005, T = 10⁴, tol = 0.1, blowup 1e6. Starts are the centres of an
//! N × N grid (default 200 × 200; the grid is symmetric under x → −x, as f is). Randomness: the
//! start in column i, row j of method m draws its noise from `stream(seed, (m·N + j)·N + i)`, so the
//! map does not depend on the thread count.
//!
//! `cargo run --release --example ssam24_fig2_basin [-- --lr η --rho ρ --grid N --quick --out DIR]`
//! writes `DIR/ssam24_fig2_basin.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::error::{Error, Result, non_negative, positive};
use samlab::optim::{Method, Workspace, step};
use samlab::plot::{CellMap, Figure, Legend, Marker, Panel, RGBColor, Series, save, write_csv};
use samlab::problem::QuarticSaddle;

#[path = "ssam24_fig2.rs"]
#[allow(dead_code)]
mod fig2;

use fig2::{METHODS, label};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Learning rate η.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// The radius ρ of SAM, SAM* and SSAM.
    #[arg(long, default_value_t = 0.4)]
    pub rho: f64,
    /// Starts per side: an N × N grid of cell centres.
    #[arg(long, default_value_t = 200)]
    pub grid: usize,
    /// Steps T per run.
    #[arg(long, default_value_t = 10_000)]
    pub steps: usize,
    /// Variance s² of the N(0, s²I) noise added to every gradient evaluation.
    #[arg(long, default_value_t = 0.005)]
    pub noise: f64,
    /// The grid covers [−box, box]².
    #[arg(long = "box", default_value_t = 2.0)]
    pub half_width: f64,
    /// A run reaches a minimizer when its final iterate is within this distance of it.
    #[arg(long, default_value_t = 0.1)]
    pub tol: f64,
    /// A run diverges (and stops) once |xᵢ| exceeds this or an iterate is not finite.
    #[arg(long, default_value_t = 1e6)]
    pub blowup: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (a 40 × 40 grid).
    #[arg(long)]
    pub quick: bool,
}

/// Where a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Within `tol` of (1, 1).
    Plus = 0,
    /// Within `tol` of (−1, −1).
    Minus = 1,
    /// Finite, farther than `tol` from both minimizers.
    Neither = 2,
    /// A non-finite iterate or |xᵢ| > `blowup`.
    Diverged = 3,
}

/// Legend labels and colours of the ends, in [`End`] order.
pub fn categories() -> Vec<(String, RGBColor)> {
    vec![
        ("reached (1, 1)".into(), RGBColor(120, 180, 230)),
        ("reached (−1, −1)".into(), RGBColor(240, 170, 110)),
        ("neither (finite)".into(), RGBColor(200, 200, 200)),
        ("diverged".into(), RGBColor(60, 60, 60)),
    ]
}

impl End {
    /// The end of x → −x: the two minimizers swap.
    pub fn mirrored(self) -> End {
        match self {
            End::Plus => End::Minus,
            End::Minus => End::Plus,
            e => e,
        }
    }
}

/// Run `steps` steps of `method` from `x0` with noise from `stream(seed, index)`; classify the end
/// and return it with the final distance to the nearer minimizer (NaN after divergence).
#[allow(clippy::too_many_arguments)]
pub fn run_start(
    method: &Method,
    lr: f64,
    rho: f64,
    x0: [f64; 2],
    steps: usize,
    args: &Args,
    index: u64,
    ws: &mut Workspace,
) -> (End, f64) {
    let q = QuarticSaddle::new();
    let mut rng = samlab::rng::stream(args.seed, index);
    let mut x = x0;
    for _ in 0..steps {
        step(&q, method, &mut x, lr, rho, ws, &mut rng);
        // `!(a <= b)` is also true for NaN.
        if !(x[0].abs() <= args.blowup && x[1].abs() <= args.blowup) {
            return (End::Diverged, f64::NAN);
        }
    }
    let d = |s: f64| ((x[0] - s).powi(2) + (x[1] - s).powi(2)).sqrt();
    let (plus, minus) = (d(1.0), d(-1.0));
    let end = if plus <= args.tol {
        End::Plus
    } else if minus <= args.tol {
        End::Minus
    } else {
        End::Neither
    };
    (end, plus.min(minus))
}

/// The basin map of one method: ends of the N × N starts, row j (y) major.
#[derive(Clone, Debug)]
pub struct Map {
    /// Index into [`METHODS`].
    pub method: usize,
    /// `ends[j * n + i]`: the end of the start in column i, row j.
    pub ends: Vec<End>,
    /// The final distance to the nearer minimizer, in the same order (NaN after divergence).
    pub dist: Vec<f64>,
}

impl Map {
    /// The fraction of starts that end in `e`.
    pub fn share(&self, e: End) -> f64 {
        self.ends.iter().filter(|&&x| x == e).count() as f64 / self.ends.len().max(1) as f64
    }
    /// The fraction of starts whose end, mirrored, equals the end of the mirrored start
    /// (1 for a map symmetric under x → −x).
    pub fn symmetry(&self, n: usize) -> f64 {
        let same = (0..n * n)
            .filter(|&k| {
                let (i, j) = (k % n, k / n);
                let m = (n - 1 - j) * n + (n - 1 - i);
                self.ends[k] == self.ends[m].mirrored()
            })
            .count();
        same as f64 / (n * n).max(1) as f64
    }
    /// The median final distance to the nearer minimizer over the runs that did not diverge.
    pub fn median_distance(&self) -> f64 {
        let mut d: Vec<f64> = self
            .dist
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if d.is_empty() {
            return f64::NAN;
        }
        d.sort_by(f64::total_cmp);
        d[d.len() / 2]
    }
}

/// Run the experiment, write the figure and its CSV; return the four maps and the grid size.
pub fn run_figure(args: &Args) -> Result<(Vec<Map>, usize)> {
    let n = if args.quick { 40 } else { args.grid };
    if n == 0 {
        return Err(Error::invalid("grid", "must be >= 1"));
    }
    positive("lr", args.lr)?;
    non_negative("rho", args.rho)?;
    positive("box", args.half_width)?;
    non_negative("tol", args.tol)?;
    positive("blowup", args.blowup)?;
    let methods: Vec<Method> = METHODS
        .iter()
        .map(|m| Method::from_name(m, None, false)?.with_noise(args.noise))
        .collect::<Result<_>>()?;
    let h = args.half_width;
    let centre = |i: usize| -h + (i as f64 + 0.5) * 2.0 * h / n as f64;
    // One task per (method, row): a workspace per task, rows in parallel.
    let tasks: Vec<(usize, usize)> = (0..METHODS.len())
        .flat_map(|m| (0..n).map(move |j| (m, j)))
        .collect();
    let bar = ProgressBar::new(tasks.len() as u64);
    let rows: Vec<Vec<(End, f64)>> = tasks
        .par_iter()
        .map(|&(m, j)| {
            let mut ws = Workspace::new(2, 1);
            let rho = if m == 0 { 0.0 } else { args.rho };
            let row = (0..n)
                .map(|i| {
                    let index = ((m * n + j) * n + i) as u64;
                    let x0 = [centre(i), centre(j)];
                    run_start(
                        &methods[m],
                        args.lr,
                        rho,
                        x0,
                        args.steps,
                        args,
                        index,
                        &mut ws,
                    )
                })
                .collect();
            bar.inc(1);
            row
        })
        .collect();
    bar.finish_and_clear();
    let maps: Vec<Map> = (0..METHODS.len())
        .map(|m| Map {
            method: m,
            ends: rows[m * n..(m + 1) * n]
                .concat()
                .iter()
                .map(|r| r.0)
                .collect(),
            dist: rows[m * n..(m + 1) * n]
                .concat()
                .iter()
                .map(|r| r.1)
                .collect(),
        })
        .collect();

    let edges: Vec<f64> = (0..=n)
        .map(|i| -h + i as f64 * 2.0 * h / n as f64)
        .collect();
    let mut csv_rows: Vec<Vec<f64>> = Vec::new();
    let panels: Vec<Panel> = maps
        .iter()
        .map(|map| {
            // One CSV row per run of equal ends along a grid row (the rectangles drawn).
            for j in 0..n {
                let row = &map.ends[j * n..(j + 1) * n];
                let mut start = 0;
                for i in 1..=n {
                    if i == n || row[i] != row[start] {
                        csv_rows.push(vec![
                            map.method as f64,
                            centre(j),
                            centre(start),
                            centre(i - 1),
                            (i - start) as f64,
                            row[start] as usize as f64,
                        ]);
                        start = i;
                    }
                }
            }
            let cells = CellMap {
                x_edges: edges.clone(),
                y_edges: edges.clone(),
                cells: map.ends.iter().map(|e| *e as usize).collect(),
                categories: categories(),
            };
            let name = label(METHODS[map.method]);
            let mut p = Panel::new(
                format!(
                    "{name}: {:.0} % / {:.0} % / {:.0} % / {:.0} %, median d {:.2}",
                    100.0 * map.share(End::Plus),
                    100.0 * map.share(End::Minus),
                    100.0 * map.share(End::Neither),
                    100.0 * map.share(End::Diverged),
                    map.median_distance()
                ),
                "x₁ (start)",
                "x₂ (start)",
            )
            .with_cells(cells)
            .x_range(-h, h)
            .y_range(-h, h)
            .legend(if map.method == 0 {
                Legend::UpperLeft
            } else {
                Legend::None
            });
            p.series.push(
                Series::line("minimizers ±(1, 1)", vec![1.0, -1.0], vec![1.0, -1.0])
                    .with_marker(Marker::Cross)
                    .with_color(6),
            );
            p.series.push(
                Series::line("saddle 0", vec![0.0], vec![0.0])
                    .with_marker(Marker::Triangle)
                    .with_color(6),
            );
            p
        })
        .collect();
    let fig = Figure::new(
        format!(
            "ssam24 Fig 2 basins: where each start ends (η = {}, ρ = {}, s² = {}, T = {}, tol {}); shares (1,1) / (−1,−1) / neither / diverged; d: final distance to the nearer minimizer",
            args.lr, args.rho, args.noise, args.steps, args.tol
        ),
        panels,
    )
    .size(460, 500);
    let stem = args.out.join("ssam24_fig2_basin");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 2, basin map".into()),
            ("lr", args.lr.to_string()),
            ("rho", format!("{} (SGD: 0)", args.rho)),
            ("grid", format!("{n} x {n} cell centres of [-{h}, {h}]^2")),
            ("steps", args.steps.to_string()),
            ("noise_variance", args.noise.to_string()),
            ("tol", args.tol.to_string()),
            ("blowup", args.blowup.to_string()),
            ("seed", args.seed.to_string()),
            (
                "streams",
                "start in column i, row j of method m uses stream(seed, (m*N + j)*N + i)".into(),
            ),
            (
                "method_index",
                "0 = sgd (gd + noise), 1 = sam, 2 = sam-star, 3 = ssam".into(),
            ),
            (
                "end",
                "0 = within tol of (1, 1), 1 = within tol of (-1, -1), 2 = neither (finite), 3 = diverged".into(),
            ),
            (
                "median_final_distance",
                maps.iter()
                    .map(|m| format!("{}: {:.4}", METHODS[m.method], m.median_distance()))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " (to the nearer minimizer, over the runs that did not diverge)",
            ),
            (
                "rows",
                "one per run of equal ends along a grid row: starts (x1_from..x1_to, x2), count of starts".into(),
            ),
        ],
        &["method_index", "x2", "x1_from", "x1_to", "count", "end"],
        &csv_rows,
    )?;
    Ok((maps, n))
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_fig2_basin",
        &args.out,
        || run_figure(&args),
        |(maps, n)| {
            for m in maps {
                println!(
                    "{:>5}: (1,1) {:.3}, (-1,-1) {:.3}, neither {:.3}, diverged {:.3}; median final distance {:.4}; symmetric under x -> -x: {:.3}",
                    label(METHODS[m.method]),
                    m.share(End::Plus),
                    m.share(End::Minus),
                    m.share(End::Neither),
                    m.share(End::Diverged),
                    m.median_distance(),
                    m.symmetry(*n)
                );
            }
        },
    )
}
