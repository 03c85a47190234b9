//! ssam24 Fig 7: SGD vs SAM (w + ρg) vs SAM* (w + ρg/‖g‖) vs SSAM (SAM's descent rescaled by
//! ‖g‖/‖g_asc‖) on the noisy quadratic of Fig 6 (f = ½xᵀ(AAᵀ/(2d) + δI)x, d = 20, δ = 0.01,
//! x₀ ~ N(0, I), lr 1e-3, N(0, 1e-4·I) noise at every gradient evaluation), one ρ (default 0.5).
//! Panel (a): loss curves (noise stream 0); panel (b): the mean loss over the last `window` steps
//! per method (mean ± 2 s.e. over noise streams) with the closed-form stationary losses of SGD and
//! SAM (derived in ssam24_fig6.rs) as horizontal lines.
//!
//! `cargo run --release --example ssam24_fig7 [-- --rho R --steps N --streams K --quick --out DIR]`
//! writes `DIR/ssam24_fig7.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use samlab::error::Result;
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{Quadratic, sym_eigenvalues};

#[path = "ssam24_fig6.rs"]
#[allow(dead_code)]
mod fig6;

use fig6::{RunOut, closed_form, mean_se, run_one};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Iterations per run.
    #[arg(long, default_value_t = 1_000_000)]
    pub steps: usize,
    /// The radius ρ of SAM, SAM* and SSAM.
    #[arg(long, default_value_t = 0.5)]
    pub rho: f64,
    /// Dimension d.
    #[arg(long, default_value_t = 20)]
    pub d: usize,
    /// δ in H = AAᵀ/(2d) + δI.
    #[arg(long, default_value_t = 0.01)]
    pub delta: f64,
    /// Learning rate η.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Variance s² of the N(0, s²I) noise added to every gradient evaluation.
    #[arg(long, default_value_t = 1e-4)]
    pub noise: f64,
    /// Independent noise streams per method.
    #[arg(long, default_value_t = 16)]
    pub streams: usize,
    /// The last `window` steps are averaged.
    #[arg(long, default_value_t = 1000)]
    pub window: usize,
    /// Record the loss every this many steps.
    #[arg(long, default_value_t = 1000)]
    pub record_every: usize,
    /// Seed of A, x₀ (stream 1) and the noise (streams 2, 3, …).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (120,000 steps, 16 streams, window 40,000, record every 500).
    #[arg(long)]
    pub quick: bool,
}

/// The methods of the figure (`gd` + noise is SGD on this data-free loss).
pub const METHODS: [&str; 4] = ["gd", "sam", "sam-star", "ssam"];

/// Per method: (name, mean of the window means, its s.e.).
pub type Summary = Vec<(String, f64, f64)>;

/// Run the experiment, write the figure and its CSV; return the per-method summary and the
/// closed-form stationary losses (SGD, SAM).
pub fn run_figure(args: &Args) -> Result<(Summary, f64, f64)> {
    let (steps, streams, every, window) = if args.quick {
        (120_000, 16, 500, 40_000)
    } else {
        (
            args.steps,
            args.streams.max(1),
            args.record_every.max(1),
            args.window,
        )
    };
    let window = window.clamp(1, steps.max(1));
    let q = Quadratic::ssam24(args.d, args.delta, args.seed)?;
    let eigs = sym_eigenvalues(q.a(), args.d);
    let (cf_sgd, cf_sam) = (
        closed_form(&eigs, args.lr, args.noise, 0.0),
        closed_form(&eigs, args.lr, args.noise, args.rho),
    );
    let mut x_rng = samlab::rng::stream(args.seed, 1);
    let x0: Vec<f64> = (0..args.d)
        .map(|_| StandardNormal.sample(&mut x_rng))
        .collect();
    let jobs: Vec<(usize, usize)> = (0..METHODS.len())
        .flat_map(|i| (0..streams).map(move |k| (i, k)))
        .collect();
    let bar = ProgressBar::new(jobs.len() as u64);
    let outs: Vec<RunOut> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let rho = if i == 0 { 0.0 } else { args.rho };
            let r = run_one(
                &q,
                &x0,
                METHODS[i],
                rho,
                args.lr,
                args.noise,
                steps,
                window,
                every,
                args.seed,
                2 + k as u64,
            );
            bar.inc(1);
            r
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();

    let label = |m: &str| match m {
        "gd" => "SGD",
        "sam" => "SAM",
        "sam-star" => "SAM*",
        _ => "SSAM",
    };
    let summary: Summary = METHODS
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let means: Vec<f64> = (0..streams)
                .map(|k| outs[i * streams + k].window_mean)
                .collect();
            let (mean, se) = mean_se(&means);
            (m.to_string(), mean, se)
        })
        .collect();

    let mut curves = Panel::new(
        format!("(a) loss curves, ρ = {} (noise stream 0)", args.rho),
        "iteration",
        "f(x) = ½xᵀHx",
    )
    .scales(Scale::Linear, Scale::Log);
    let mut stat = Panel::new(
        format!("(b) mean f over the last {window} steps ± 2 s.e. ({streams} streams)"),
        "method: 1 = SGD, 2 = SAM, 3 = SAM*, 4 = SSAM",
        "stationary loss",
    )
    .scales(Scale::Linear, Scale::Log);
    let mut rows = Vec::new();
    for (i, m) in METHODS.iter().enumerate() {
        let out = &outs[i * streams];
        curves.series.push(Series::line(
            label(m),
            out.curve.iter().map(|c| c.0 as f64).collect(),
            out.curve.iter().map(|c| c.1).collect(),
        ));
        let (_, mean, se) = summary[i];
        let x = (i + 1) as f64;
        // A short horizontal bar at the mean, shaded ±2 s.e., in the method's colour of panel (a).
        stat.series.push(
            Series::line(
                format!("{} {mean:.3e}", label(m)),
                vec![x - 0.2, x + 0.2],
                vec![mean, mean],
            )
            .with_band(vec![mean - 2.0 * se; 2], vec![mean + 2.0 * se; 2]),
        );
        rows.extend(
            out.curve
                .iter()
                .map(|c| vec![i as f64, c.0 as f64, c.1, mean, se]),
        );
    }
    // Widen the x range so the legend (upper right) does not cover the bars; nothing is drawn.
    stat.series.push(Series::line(
        "(shaded: ±2 s.e.)",
        vec![0.5, 7.0],
        vec![f64::NAN, f64::NAN],
    ));
    stat.hlines
        .push((format!("SGD closed form {cf_sgd:.3e}"), cf_sgd));
    stat.hlines
        .push((format!("SAM closed form {cf_sam:.3e}"), cf_sam));
    let fig = Figure::new(
        format!(
            "ssam24 Fig 7: SGD, SAM, SAM*, SSAM on a noisy quadratic (ρ = {}, d = {}, η = {}, s² = {})",
            args.rho, args.d, args.lr, args.noise
        ),
        vec![curves, stat],
    );
    let stem = args.out.join("ssam24_fig7");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 7".into()),
            ("rho", args.rho.to_string()),
            ("d", args.d.to_string()),
            ("delta", args.delta.to_string()),
            ("lr", args.lr.to_string()),
            ("noise_variance", args.noise.to_string()),
            ("steps", steps.to_string()),
            ("streams", streams.to_string()),
            ("window", window.to_string()),
            ("record_every", every.to_string()),
            ("seed", args.seed.to_string()),
            ("closed_form_sgd", cf_sgd.to_string()),
            ("closed_form_sam", cf_sam.to_string()),
            (
                "method_index",
                "0 = sgd, 1 = sam, 2 = sam-star, 3 = ssam".into(),
            ),
        ],
        &["method_index", "step", "loss", "window_mean", "window_se"],
        &rows,
    )?;
    Ok((summary, cf_sgd, cf_sam))
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_fig7",
        &args.out,
        || run_figure(&args),
        |(summary, cf_sgd, cf_sam)| {
            for (m, mean, se) in summary {
                println!("{m:>8}: last-window mean {mean:.4e} ± {se:.1e}");
            }
            println!("closed form: SGD {cf_sgd:.4e}, SAM {cf_sam:.4e}");
        },
    )
}
