//! af22 Fig 14: the final test loss of n-SAM and 1-SAM on the diagonal linear network against the
//! radius ρ (log grid), ERM as a horizontal line. Data: the authors' seed-0 set (d = 30, n = 20);
//! α = 0.05, full batch, 10,001 iterations, γ = 15/d for every method (the caption). The authors'
//! script ran n-SAM with γ = 10/d instead: that setting is a third curve (on by default), with ERM
//! at 10/d as a second line. ρ is in our units (1-SAM: ours = 2 × the authors').
//!
//! `cargo run --release --example af22_fig14 [-- --steps N --n-rho K --quick --out DIR]` writes
//! `DIR/af22_fig14.{png,svg,csv}`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgAction, Parser};
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::data::RegressionData;
use samlab::error::Result;
use samlab::optim::{Method, Phase, RunConfig, run};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{DiagNet, Problem};
use samlab::sweep::grid::spaced;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Full-batch iterations per run.
    #[arg(long, default_value_t = 10_001)]
    pub steps: usize,
    /// Initialization scale α.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Learning rate γ of every method, in units of 1/d (the caption: 15/d).
    #[arg(long, default_value_t = 15.0)]
    pub lr_scale: f64,
    /// Smallest ρ of the grid (our units).
    #[arg(long, default_value_t = 1e-3)]
    pub rho_min: f64,
    /// Largest ρ of the grid (our units).
    #[arg(long, default_value_t = 1.0)]
    pub rho_max: f64,
    /// Number of log-spaced ρ values.
    #[arg(long, default_value_t = 12)]
    pub n_rho: usize,
    /// Also run n-SAM with the authors' script's γ (`--script-nsam false` to skip).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub script_nsam: bool,
    /// The script's n-SAM learning rate, in units of 1/d.
    #[arg(long, default_value_t = 10.0)]
    pub script_lr_scale: f64,
    /// The data file (default: the authors' seed-0 data shipped in data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run (5 ρ values, 3,000 iterations) for tests.
    #[arg(long)]
    pub quick: bool,
}

/// Curve indices in the CSV.
pub const CURVES: [&str; 5] = [
    "n-SAM (γ = caption)",
    "1-SAM (γ = caption)",
    "n-SAM (γ = script)",
    "ERM (γ = caption)",
    "ERM (γ = script)",
];

/// One point: (curve, ρ, final train loss, final test MSE, diverged at).
#[derive(Clone, Debug)]
pub struct Point {
    pub curve: usize,
    pub rho: f64,
    pub train: f64,
    pub test: f64,
    pub diverged_at: Option<usize>,
}

/// Final (train loss, test MSE, diverged at) of one full-batch run.
pub fn final_losses(
    net: &DiagNet,
    name: &str,
    lr: f64,
    rho: f64,
    steps: usize,
) -> Result<(f64, f64, Option<usize>)> {
    let method = Method::from_name(name, None, false)?;
    let mut cfg = RunConfig::new(vec![Phase {
        method,
        sizes: samlab::optim::StepSizes::constant(lr, rho),
        steps,
    }]);
    cfg.record_every = 0;
    let r = run(net, &net.init(), &cfg);
    let nan = |v: f64| if r.diverged_at.is_some() { f64::NAN } else { v };
    Ok((
        nan(r.last().train_loss),
        nan(r.last().test_metric.unwrap_or(f64::NAN)),
        r.diverged_at,
    ))
}

/// Run the experiment, write the figure and its CSV; return every point.
pub fn run_figure(args: &Args) -> Result<Vec<Point>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data_path = args
        .data
        .clone()
        .unwrap_or_else(|| root.join("data/diag_net_seed0.json"));
    let data = RegressionData::load(&data_path)?;
    let net = DiagNet::new(&data, &[args.alpha])?;
    let d = data.d() as f64;
    let (steps, n_rho) = if args.quick {
        (3_000, 5)
    } else {
        (args.steps, args.n_rho)
    };
    let rhos = spaced(args.rho_min, args.rho_max, n_rho, true);
    let lr = args.lr_scale / d;
    let lr_script = args.script_lr_scale / d;
    // Jobs: (curve, method, lr, ρ).
    let mut jobs: Vec<(usize, &str, f64, f64)> = Vec::new();
    for &rho in &rhos {
        jobs.push((0, "nsam", lr, rho));
        jobs.push((1, "1sam", lr, rho));
        if args.script_nsam {
            jobs.push((2, "nsam", lr_script, rho));
        }
    }
    jobs.push((3, "gd", lr, 0.0));
    if args.script_nsam {
        jobs.push((4, "gd", lr_script, 0.0));
    }
    let bar = ProgressBar::new(jobs.len() as u64);
    let points: Vec<Point> = jobs
        .par_iter()
        .map(|&(curve, name, lr, rho)| {
            let (train, test, diverged_at) = final_losses(&net, name, lr, rho, steps)?;
            bar.inc(1);
            Ok(Point {
                curve,
                rho,
                train,
                test,
                diverged_at,
            })
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();

    let erm = |c: usize| points.iter().find(|p| p.curve == c).map(|p| p.test);
    let mut panel = Panel::new(
        format!("final test loss after {steps} iterations"),
        "ρ (our units; 1-SAM: 2 × authors')",
        "test MSE",
    )
    .scales(Scale::Log, Scale::Log);
    let labels = [
        format!("n-SAM, γ = {}/d (caption)", args.lr_scale),
        format!("1-SAM, γ = {}/d (caption)", args.lr_scale),
        format!("n-SAM, γ = {}/d (script)", args.script_lr_scale),
    ];
    for (c, label) in labels.iter().enumerate() {
        let pts: Vec<&Point> = points
            .iter()
            .filter(|p| p.curve == c && p.test.is_finite())
            .collect();
        if pts.is_empty() {
            continue;
        }
        let s = Series::line(
            label.clone(),
            pts.iter().map(|p| p.rho).collect(),
            pts.iter().map(|p| p.test).collect(),
        );
        // The two n-SAM curves nearly coincide: the script's one as points.
        panel.series.push(if c == 2 { s.as_points() } else { s });
    }
    if let Some(v) = erm(3) {
        panel
            .hlines
            .push((format!("ERM, γ = {}/d", args.lr_scale), v));
    }
    if let Some(v) = erm(4) {
        panel
            .hlines
            .push((format!("ERM, γ = {}/d", args.script_lr_scale), v));
    }
    // Room for the legend (the plot module puts it in the upper right and has no axis-range
    // setting): a band longer than its series widens the y range without drawing anything.
    let top = points
        .iter()
        .map(|p| p.test)
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if let Some(s) = panel.series.first_mut() {
        let mut up = s.y.clone();
        up.push(top * 10f64.powf(2.5));
        *s = s.clone().with_band(s.y.clone(), up);
    }
    let mut fig = Figure::new(
        format!(
            "af22 Fig 14: test loss vs ρ, diagonal net (α = {})",
            args.alpha
        ),
        vec![panel],
    );
    fig.panel_width = 900;
    fig.height = 600;
    let stem = args.out.join("af22_fig14");
    save(&fig, &stem)?;
    let rows: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            let lr = if matches!(p.curve, 2 | 4) {
                lr_script
            } else {
                lr
            };
            let rho_authors = if p.curve == 1 { p.rho / 2.0 } else { p.rho };
            vec![
                p.curve as f64,
                p.rho,
                rho_authors,
                lr,
                p.train,
                p.test,
                p.diverged_at.map_or(0.0, |s| s as f64),
            ]
        })
        .collect();
    let diverged: Vec<String> = points
        .iter()
        .filter_map(|p| {
            p.diverged_at
                .map(|s| format!("{} rho={} at step {s}", CURVES[p.curve], p.rho))
        })
        .collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 14".into()),
            (
                "data",
                data_path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            ("alpha", args.alpha.to_string()),
            ("lr", format!("{lr} (= {}/d, caption)", args.lr_scale)),
            (
                "lr_script",
                format!(
                    "{lr_script} (= {}/d, the authors' script's n-SAM; curves 2 and 4)",
                    args.script_lr_scale
                ),
            ),
            ("steps", steps.to_string()),
            ("batch", "full".into()),
            ("rho_grid", format!("{n_rho} log-spaced in [{}, {}]", args.rho_min, args.rho_max)),
            (
                "rho_units",
                "rho is ours; rho_authors = rho/2 for 1-SAM, = rho for n-SAM".into(),
            ),
            (
                "curve_index",
                "0 = n-SAM (caption lr), 1 = 1-SAM (caption lr), 2 = n-SAM (script lr), 3 = ERM (caption lr), 4 = ERM (script lr)".into(),
            ),
            (
                "diverged",
                if diverged.is_empty() {
                    "none".into()
                } else {
                    diverged.join("; ")
                },
            ),
        ],
        &[
            "curve_index",
            "rho",
            "rho_authors",
            "lr",
            "train_loss",
            "test_mse",
            "diverged_at",
        ],
        &rows,
    )?;
    Ok(points)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig14",
        &args.out,
        || run_figure(&args),
        |points| {
            for p in points {
                match p.diverged_at {
                    Some(s) => println!(
                        "{:>20} ρ = {:.3e}: DIVERGED at step {s}",
                        CURVES[p.curve], p.rho
                    ),
                    None => println!(
                        "{:>20} ρ = {:.3e}: train {:.3e}, test MSE {:.5e}",
                        CURVES[p.curve], p.rho, p.train, p.test
                    ),
                }
            }
        },
    )
}
