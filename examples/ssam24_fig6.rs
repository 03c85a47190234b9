//! ssam24 Fig 6: SAM (unnormalized ascent w + ρg) on the noisy strongly convex quadratic
//! f = ½xᵀ(AAᵀ/(2d) + δI)x, d = 20, A ∈ ℝᵈˣ²ᵈ standard Gaussian, δ = 0.01, x₀ ~ N(0, I), lr 1e-3,
//! N(0, 1e-4·I) noise added to every gradient evaluation (ascent and descent), ρ from 0.01 to 2.
//! Panel (a): loss curves (stream 0); panel (b): the mean loss over the last 1000 steps against ρ
//! (mean ± 2 s.e. over independent noise streams) with the closed-form stationary loss overlaid.
//!
//! Closed form (derived here and checked in tests/figures_ssam24.rs against the exact covariance
//! recursion and Monte Carlo): along an eigenvector of H with eigenvalue λ, one SAM step is
//! x⁺ = (1 − ηµ)x − ηρλξ₁ − ηξ₂, µ = λ(1 + ρλ), ξ₁, ξ₂ ~ N(0, s²) independent, an AR(1) with
//! noise variance η²s²(1 + ρ²λ²), so Var∞ = η²s²(1 + ρ²λ²)/(1 − (1 − ηµ)²) =
//! ηs²(1 + ρ²λ²)/(µ(2 − ηµ)) and E f∞ = Σ ½λ·Var∞ = Σ ηs²(1 + ρ²λ²)/(2(1 + ρλ)(2 − ηµ))
//! (ρ = 0: SGD, Σ ηs²/(2(2 − ηλ))). This agrees with EXPERIMENTS.md.
//!
//! `cargo run --release --example ssam24_fig6 [-- --steps N --streams K --quick --out DIR]` writes
//! `DIR/ssam24_fig6.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use samlab::error::Result;
use samlab::optim::trajectory::run_with;
use samlab::optim::{Method, Phase, RunConfig, StepSizes};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{Problem, Quadratic, sym_eigenvalues};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Iterations per run.
    #[arg(long, default_value_t = 1_000_000)]
    pub steps: usize,
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
    /// The radii ρ (comma-separated); SGD (ρ = 0) is always run as the reference.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.05,0.2,0.5,1,2")]
    pub rhos: Vec<f64>,
    /// Independent noise streams per ρ (the window mean is averaged over them).
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
    /// A small run for tests (100,000 steps, 16 streams, record every 500).
    #[arg(long)]
    pub quick: bool,
}

/// The closed-form stationary E f of SAM (ρ = 0: SGD) with fresh noise at ascent and descent.
pub fn closed_form(eigs: &[f64], lr: f64, noise: f64, rho: f64) -> f64 {
    eigs.iter()
        .map(|&l| {
            let mu = l * (1.0 + rho * l);
            lr * noise * (1.0 + rho * rho * l * l) / (2.0 * (1.0 + rho * l) * (2.0 - lr * mu))
        })
        .sum()
}

/// The same quantity without the eigen-decomposition: Σ∞ = Σₖ Mᵏ Q Mᵏᵀ with M = I − ηH(I + ρH),
/// Q = η²s²(I + ρ²H²) (summed by doubling), E f∞ = ½ tr(HΣ∞).
pub fn stationary_loss_matrix(h: &[f64], d: usize, lr: f64, noise: f64, rho: f64) -> f64 {
    let mul = |a: &[f64], b: &[f64]| {
        let mut c = vec![0.0; d * d];
        for i in 0..d {
            for k in 0..d {
                let aik = a[i * d + k];
                for j in 0..d {
                    c[i * d + j] += aik * b[k * d + j];
                }
            }
        }
        c
    };
    let tr = |a: &[f64]| {
        let mut t = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                t[j * d + i] = a[i * d + j];
            }
        }
        t
    };
    let h2 = mul(h, h);
    let mut m = vec![0.0; d * d];
    let mut s = vec![0.0; d * d];
    for i in 0..d * d {
        let id = if i % (d + 1) == 0 { 1.0 } else { 0.0 };
        m[i] = id - lr * (h[i] + rho * h2[i]);
        s[i] = lr * lr * noise * (id + rho * rho * h2[i]);
    }
    // Doubling: S ← S + M S Mᵀ, M ← M², 60 times covers 2⁶⁰ steps.
    for _ in 0..60 {
        let msm = mul(&mul(&m, &s), &tr(&m));
        for (a, b) in s.iter_mut().zip(&msm) {
            *a += b;
        }
        m = mul(&m, &m);
    }
    0.5 * (0..d)
        .map(|i| (0..d).map(|k| h[i * d + k] * s[k * d + i]).sum::<f64>())
        .sum::<f64>()
}

/// One (ρ, stream) run: the recorded (step, loss) and the mean loss over the last `window` steps.
pub struct RunOut {
    /// (step, loss) every `record_every` steps.
    pub curve: Vec<(usize, f64)>,
    /// Mean of f over the last `window` iterates.
    pub window_mean: f64,
}

/// Run `method_name` with radius `rho` on `q` from `x0` on noise stream `stream`.
#[allow(clippy::too_many_arguments)]
pub fn run_one(
    q: &Quadratic,
    x0: &[f64],
    method_name: &str,
    rho: f64,
    lr: f64,
    noise: f64,
    steps: usize,
    window: usize,
    every: usize,
    seed: u64,
    stream: u64,
) -> Result<RunOut> {
    let method = Method::from_name(method_name, None, false)?.with_noise(noise)?;
    let mut cfg = RunConfig::new(vec![Phase {
        method,
        sizes: StepSizes::constant(lr, rho),
        steps,
    }]);
    cfg.record_every = every;
    cfg.seed = seed;
    cfg.stream = stream;
    let start = steps.saturating_sub(window);
    let mut sum = 0.0;
    let r = run_with(q, x0, &cfg, |t, w, _| {
        if t > start {
            sum += q.loss(w);
        }
    });
    Ok(RunOut {
        curve: r.records.iter().map(|p| (p.step, p.train_loss)).collect(),
        window_mean: sum / (steps - start) as f64,
    })
}

/// Mean and standard error of a sample.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Per ρ (ρ = 0 first): (ρ, mean of the window means, its s.e., closed form).
pub type Summary = Vec<(f64, f64, f64, f64)>;

/// Run the experiment, write the figure and its CSV; return the per-ρ summary.
pub fn run_figure(args: &Args) -> Result<Summary> {
    let (steps, streams, every) = if args.quick {
        (100_000, 16, 500)
    } else {
        (args.steps, args.streams.max(1), args.record_every.max(1))
    };
    let window = args.window.clamp(1, steps.max(1));
    let q = Quadratic::ssam24(args.d, args.delta, args.seed)?;
    let eigs = sym_eigenvalues(q.a(), args.d);
    let mut x_rng = samlab::rng::stream(args.seed, 1);
    let x0: Vec<f64> = (0..args.d)
        .map(|_| StandardNormal.sample(&mut x_rng))
        .collect();
    let mut rhos = vec![0.0];
    rhos.extend(args.rhos.iter().copied().filter(|r| *r > 0.0));
    let jobs: Vec<(usize, usize)> = (0..rhos.len())
        .flat_map(|i| (0..streams).map(move |k| (i, k)))
        .collect();
    let bar = ProgressBar::new(jobs.len() as u64);
    let outs: Vec<RunOut> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let name = if i == 0 { "gd" } else { "sam" };
            let r = run_one(
                &q,
                &x0,
                name,
                rhos[i],
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

    let summary: Summary = rhos
        .iter()
        .enumerate()
        .map(|(i, &rho)| {
            let means: Vec<f64> = (0..streams)
                .map(|k| outs[i * streams + k].window_mean)
                .collect();
            let (m, se) = mean_se(&means);
            (rho, m, se, closed_form(&eigs, args.lr, args.noise, rho))
        })
        .collect();

    let mut curves = Panel::new(
        "(a) loss curves (noise stream 0)",
        "iteration",
        "f(x) = ½xᵀHx",
    )
    .scales(Scale::Linear, Scale::Log);
    let mut rows = Vec::new();
    for (i, &rho) in rhos.iter().enumerate() {
        let out = &outs[i * streams];
        let label = if i == 0 {
            "SGD (ρ = 0)".to_string()
        } else {
            format!("SAM ρ = {rho}")
        };
        curves.series.push(Series::line(
            label,
            out.curve.iter().map(|c| c.0 as f64).collect(),
            out.curve.iter().map(|c| c.1).collect(),
        ));
        let (_, m, se, cf) = summary[i];
        rows.extend(
            out.curve
                .iter()
                .map(|c| vec![i as f64, rho, c.0 as f64, c.1, m, se, cf]),
        );
    }
    let sam = &summary[1..];
    let xs: Vec<f64> = sam.iter().map(|s| s.0).collect();
    let (lo_r, hi_r) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(0.0f64, f64::max),
    );
    let grid: Vec<f64> = (0..=100)
        .map(|j| lo_r * (hi_r / lo_r).powf(j as f64 / 100.0))
        .collect();
    let mut stat = Panel::new(
        format!("(b) mean f over the last {window} steps ({streams} streams)"),
        "ρ",
        "stationary loss",
    )
    .scales(Scale::Log, Scale::Log);
    stat.series.push(Series::line(
        "closed form (SAM)",
        grid.clone(),
        grid.iter()
            .map(|&r| closed_form(&eigs, args.lr, args.noise, r))
            .collect(),
    ));
    stat.series.push(
        Series::line(
            "measured SAM ± 2 s.e.",
            xs,
            sam.iter().map(|s| s.1).collect(),
        )
        .with_band(
            sam.iter().map(|s| s.1 - 2.0 * s.2).collect(),
            sam.iter().map(|s| s.1 + 2.0 * s.2).collect(),
        )
        .as_points(),
    );
    // Widen the x range to the right so the legend (upper right) leaves the points visible;
    // nothing is drawn for this series.
    stat.series.push(Series::line(
        "(shaded: ±2 s.e.)",
        vec![lo_r, hi_r * 10.0],
        vec![f64::NAN, f64::NAN],
    ));
    stat.hlines.push(("SGD closed form".into(), summary[0].3));
    stat.hlines.push(("SGD measured".into(), summary[0].1));
    let fig = Figure::new(
        format!(
            "ssam24 Fig 6: SAM on a noisy quadratic (d = {}, δ = {}, η = {}, s² = {})",
            args.d, args.delta, args.lr, args.noise
        ),
        vec![curves, stat],
    );
    let stem = args.out.join("ssam24_fig6");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 6".into()),
            ("d", args.d.to_string()),
            ("delta", args.delta.to_string()),
            ("lr", args.lr.to_string()),
            ("noise_variance", args.noise.to_string()),
            ("steps", steps.to_string()),
            ("streams", streams.to_string()),
            ("window", window.to_string()),
            ("record_every", every.to_string()),
            ("seed", args.seed.to_string()),
            ("lambda_min", q.lambda_min().to_string()),
            ("lambda_max", q.lambda_max().to_string()),
            (
                "rhos",
                rhos.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            (
                "columns",
                "curve of stream 0; window_mean/se (over streams) and closed_form per rho".into(),
            ),
        ],
        &[
            "rho_index",
            "rho",
            "step",
            "loss",
            "window_mean",
            "window_se",
            "closed_form",
        ],
        &rows,
    )?;
    Ok(summary)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_fig6",
        &args.out,
        || run_figure(&args),
        |summary| {
            for (rho, m, se, cf) in summary {
                println!(
                    "rho {rho:>5}: last-window mean {m:.4e} ± {se:.1e}, closed form {cf:.4e} (ratio {:.3})",
                    m / cf
                );
            }
        },
    )
}
