//! ssam24 Fig 2: success rate against the learning rate on the quartic saddle
//! f(x) = x₁⁴/4 − x₁x₂ + x₂²/2 (strict saddle at 0, minimizers ±(1, 1)) for SGD, SAM (w + ρg),
//! SAM* (w + ρg/‖g‖) and SSAM (SAM's descent rescaled by ‖g‖/‖g_asc‖), one panel per ρ
//! (default ρ ∈ {0.05, 0.2, 0.4}), log-scaled learning-rate axis. Every gradient evaluation gets
//! N(0, s²I) noise (s² = 0.005); starts are uniform in [−2, 2]²; a run succeeds when it ends
//! within `tol` (0.1) of (1, 1) or (−1, −1) after T steps; a non-finite iterate or |xᵢ| > 1e6 is a
//! failure (that trajectory stops early). The shaded band is the 95 % Wilson interval.
//!
//! The paper's grid is 100 learning rates log-spaced on [0.001, 0.3] × 10,000 starts × T = 10⁴
//! (T and the tolerance are unstated there): 1.2·10¹¹ steps. The defaults here are smaller —
//! 30 learning rates, 1,000 starts, T = 10⁴ — and every one is a flag
//! (`--lrs 100 --starts 10000` is the paper's grid). SGD does not depend on ρ: it is run once
//! per learning rate and drawn in every panel.
//!
//! Randomness (`--streams shared`, the default: common random numbers across learning rates):
//! start `k` of curve `c` (curves numbered SGD first, then (method, ρ)) draws its start and its
//! noise from stream `c·starts + k` of `seed`, and that one stream serves the curve's every
//! learning rate: the runs of one curve at two learning rates begin at the same point and receive
//! the same noise. Each cell's success count is still an average over independent starts and
//! noise, so its Wilson interval holds as before; the differences between neighbouring learning
//! rates are less noisy, and a row of normals is drawn once for all learning rates, which makes
//! the full grid several times faster (`samlab::batch::run_family`). With `--streams independent`
//! run `k` of cell `c·lrs + i` (learning rate i) has its own stream `(c·lrs + i)·starts + k`.
//! The generator is xoshiro256++ (`samlab::rng::Xoshiro`, seeded from that ChaCha8 stream;
//! `--generator chacha8` or `philox` for the others); the result does not depend on the thread
//! count. The trajectories run on the batched engine (`samlab::batch`), which gives bitwise the
//! iterates of the single runner's `step` loop on the same generator and stream (`tests/batch.rs`).
//!
//! `cargo run --release --example ssam24_fig2 [-- --lrs N --starts K --steps T --quick --out DIR]`
//! writes `DIR/ssam24_fig2.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rand::Rng;
use rayon::prelude::*;
use samlab::batch::{BatchConfig, BatchResult, Generator, run_batch, run_family};
use samlab::error::{Error, Result};
use samlab::optim::{Method, StepSizes};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::QuarticSaddle;
use samlab::sweep::grid::spaced;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Number of learning rates, log-spaced on [lr_min, lr_max] (the paper: 100).
    #[arg(long, default_value_t = 30)]
    pub lrs: usize,
    /// Smallest learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr_min: f64,
    /// Largest learning rate.
    #[arg(long, default_value_t = 0.3)]
    pub lr_max: f64,
    /// Starts per (method, ρ, learning rate) cell (the paper: 10,000).
    #[arg(long, default_value_t = 1000)]
    pub starts: usize,
    /// Steps T per run (the paper: unstated; 10⁴ here).
    #[arg(long, default_value_t = 10_000)]
    pub steps: usize,
    /// The radii ρ of SAM, SAM* and SSAM (comma-separated), one panel each.
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.2,0.4")]
    pub rhos: Vec<f64>,
    /// Variance s² of the N(0, s²I) noise added to every gradient evaluation.
    #[arg(long, default_value_t = 0.005)]
    pub noise: f64,
    /// Starts are uniform in [−box, box]².
    #[arg(long = "box", default_value_t = 2.0)]
    pub half_width: f64,
    /// Success: the final iterate within this (Euclidean) distance of (1, 1) or (−1, −1).
    #[arg(long, default_value_t = 0.1)]
    pub tol: f64,
    /// A run fails (and stops) once |xᵢ| exceeds this or an iterate is not finite.
    #[arg(long, default_value_t = 1e6)]
    pub blowup: f64,
    /// The trajectories' generator: xoshiro (xoshiro256++, the fastest), chacha8 or philox.
    #[arg(long, default_value = "xoshiro")]
    pub generator: String,
    /// `shared`: a curve's learning rates share each start's stream (common random numbers, the
    /// fast default); `independent`: every (curve, learning rate, start) has its own stream.
    #[arg(long, default_value = "shared")]
    pub streams: String,
    /// Seed of the starts and the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (6 learning rates, 100 starts, T = 10⁴: at T = 2000 SGD at η = 0.001
    /// has moved only ηT = 2 time units and mostly sits near the saddle).
    #[arg(long)]
    pub quick: bool,
}

/// The methods of the figure (`gd` + noise is SGD on this data-free loss).
pub const METHODS: [&str; 4] = ["gd", "sam", "sam-star", "ssam"];

/// Legend label of a method name.
pub fn label(m: &str) -> &'static str {
    match m {
        "gd" => "SGD",
        "sam" => "SAM",
        "sam-star" => "SAM*",
        _ => "SSAM",
    }
}

/// One curve: method index into [`METHODS`], ρ (0 for SGD), successes per learning rate.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Index into [`METHODS`].
    pub method: usize,
    /// The radius (0 for SGD).
    pub rho: f64,
    /// Successful runs per learning rate.
    pub successes: Vec<usize>,
}

/// What the figure computed.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The learning rates.
    pub lrs: Vec<f64>,
    /// Starts per cell.
    pub starts: usize,
    /// SGD first, then (method 1..4) × ρ.
    pub curves: Vec<Curve>,
}

impl Outcome {
    /// Success rate of curve `c` at learning-rate index `i`.
    pub fn rate(&self, c: usize, i: usize) -> f64 {
        self.curves[c].successes[i] as f64 / self.starts as f64
    }
    /// The smallest learning rate at which curve `c`'s success rate is below `level`, if any.
    pub fn cliff(&self, c: usize, level: f64) -> Option<f64> {
        (0..self.lrs.len())
            .find(|&i| self.rate(c, i) < level)
            .map(|i| self.lrs[i])
    }
}

/// The 95 % Wilson score interval of k successes in n trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, z) = (n as f64, 1.959_963_984_540_054);
    let p = k as f64 / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z / (1.0 + z2n) * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// Settings after `--quick`: (learning rates, starts, steps).
fn sizes(args: &Args) -> (usize, usize, usize) {
    if args.quick {
        (6, 100, 10_000)
    } else {
        (args.lrs.max(1), args.starts.max(1), args.steps)
    }
}

/// The batched engine's settings for `starts` runs from stream `first_stream` on.
fn batch_config(args: &Args, starts: usize, first_stream: u64) -> Result<BatchConfig> {
    let mut cfg = BatchConfig::new(args.seed, starts);
    cfg.first_stream = first_stream;
    cfg.diverge_above = args.blowup;
    cfg.generator = Generator::from_name(&args.generator)?;
    Ok(cfg)
}

/// A start uniform in [−h, h]², drawn from the run's generator.
fn start(h: f64) -> impl Fn(u64, &mut dyn rand::RngCore, &mut [f64]) + Sync {
    move |_, rng, x| {
        x[0] = rng.random_range(-h..=h);
        x[1] = rng.random_range(-h..=h);
    }
}

/// Whether run `k` of `res` ended within `tol` of (1, 1) or (−1, −1) without diverging.
fn success(res: &BatchResult, k: usize, tol: f64) -> bool {
    let x = res.params(k);
    let d2 = |s: f64| (x[0] - s).powi(2) + (x[1] - s).powi(2);
    res.diverged_at[k].is_none() && (d2(1.0) <= tol * tol || d2(-1.0) <= tol * tol)
}

/// Count the successes of one (method, ρ, lr) cell: `starts` runs of `steps` steps, run `k`
/// drawing its start and noise from stream `first_stream + k`, on the batched engine.
#[allow(clippy::too_many_arguments)]
pub fn run_cell(
    method: &Method,
    rho: f64,
    lr: f64,
    starts: usize,
    steps: usize,
    args: &Args,
    first_stream: u64,
) -> Result<usize> {
    let cfg = batch_config(args, starts, first_stream)?;
    let sizes = StepSizes::constant(lr, rho);
    let res = run_batch(
        &QuarticSaddle::new(),
        method,
        sizes,
        steps,
        &cfg,
        start(args.half_width),
    )?;
    Ok((0..starts).filter(|&k| success(&res, k, args.tol)).count())
}

/// Count the successes of one (method, ρ) curve at every learning rate with common random
/// numbers: start `k` (stream `first_stream + k`) is run at every learning rate.
pub fn run_curve(
    method: &Method,
    rho: f64,
    lrs: &[f64],
    starts: usize,
    steps: usize,
    args: &Args,
    first_stream: u64,
) -> Result<Vec<usize>> {
    let cfg = batch_config(args, starts, first_stream)?;
    let family: Vec<(f64, f64)> = lrs.iter().map(|&lr| (lr, rho)).collect();
    let res = run_family(
        &QuarticSaddle::new(),
        method,
        &family,
        steps,
        &cfg,
        start(args.half_width),
    )?;
    let m = lrs.len();
    Ok((0..m)
        .map(|i| {
            (0..starts)
                .filter(|&k| success(&res, k * m + i, args.tol))
                .count()
        })
        .collect())
}

/// Run the experiment, write the figure and its CSV; return the success counts.
pub fn run_figure(args: &Args) -> Result<Outcome> {
    let (n_lr, starts, steps) = sizes(args);
    if !(args.lr_min > 0.0 && args.lr_max >= args.lr_min) {
        return Err(Error::invalid("lr_min", "need 0 < lr_min <= lr_max"));
    }
    if args.blowup.is_nan() || args.blowup <= 0.0 {
        return Err(Error::invalid("blowup", "must be > 0"));
    }
    let lrs = spaced(args.lr_min, args.lr_max, n_lr, true);
    let rhos: Vec<f64> = args.rhos.iter().copied().filter(|r| *r > 0.0).collect();
    // Curves: SGD (ρ = 0) once, then each ascent method at each ρ.
    let mut specs = vec![(0usize, 0.0)];
    for m in 1..METHODS.len() {
        specs.extend(rhos.iter().map(|&r| (m, r)));
    }
    let methods: Vec<Method> = METHODS
        .iter()
        .map(|m| Method::from_name(m, None, false)?.with_noise(args.noise))
        .collect::<Result<_>>()?;
    let shared = match args.streams.as_str() {
        "shared" => true,
        "independent" => false,
        other => {
            return Err(Error::invalid(
                "streams",
                format!("unknown stream layout {other:?} (shared or independent)"),
            ));
        }
    };
    Generator::from_name(&args.generator)?;
    let bar = ProgressBar::new((specs.len() * n_lr) as u64);
    let mut counts = Vec::with_capacity(specs.len() * n_lr);
    for (c, &(m, rho)) in specs.iter().enumerate() {
        if shared {
            let first = (c * starts) as u64;
            counts.extend(run_curve(
                &methods[m],
                rho,
                &lrs,
                starts,
                steps,
                args,
                first,
            )?);
            bar.inc(n_lr as u64);
        } else {
            let curve: Vec<usize> = (0..n_lr)
                .into_par_iter()
                .map(|i| {
                    let first = ((c * n_lr + i) * starts) as u64;
                    let k = run_cell(&methods[m], rho, lrs[i], starts, steps, args, first);
                    bar.inc(1);
                    k
                })
                .collect::<Result<_>>()?;
            counts.extend(curve);
        }
    }
    bar.finish_and_clear();
    let curves: Vec<Curve> = specs
        .iter()
        .enumerate()
        .map(|(c, &(method, rho))| Curve {
            method,
            rho,
            successes: counts[c * n_lr..(c + 1) * n_lr].to_vec(),
        })
        .collect();
    let out = Outcome {
        lrs,
        starts,
        curves,
    };

    let series = |c: usize| -> Series {
        let cv = &out.curves[c];
        let ci: Vec<(f64, f64)> = cv.successes.iter().map(|&k| wilson(k, starts)).collect();
        Series::line(
            label(METHODS[cv.method]),
            out.lrs.clone(),
            (0..n_lr).map(|i| out.rate(c, i)).collect(),
        )
        .with_band(
            ci.iter().map(|b| b.0).collect(),
            ci.iter().map(|b| b.1).collect(),
        )
    };
    let panels: Vec<Panel> = rhos
        .iter()
        .map(|&rho| {
            let mut p = Panel::new(
                format!("ρ = {rho}"),
                "learning rate η",
                "success rate (band: 95 % Wilson)",
            )
            .scales(Scale::Log, Scale::Linear);
            p.series.push(series(0));
            for (c, cv) in out.curves.iter().enumerate().skip(1) {
                if cv.rho == rho {
                    p.series.push(series(c));
                }
            }
            // Pins the y range to [0, 1]; nothing is drawn (x is NaN).
            p.series.push(Series::line(
                "(band: 95 % Wilson)",
                vec![f64::NAN; 2],
                vec![0.0, 1.0],
            ));
            p
        })
        .collect();
    let fig = Figure::new(
        format!(
            "ssam24 Fig 2: success rate on the quartic saddle (s² = {}, {starts} starts in [−{h}, {h}]², T = {steps}, tol {})",
            args.noise,
            args.tol,
            h = args.half_width
        ),
        panels,
    );
    let stem = args.out.join("ssam24_fig2");
    save(&fig, &stem)?;
    let mut rows = Vec::new();
    for (c, cv) in out.curves.iter().enumerate() {
        for (i, &lr) in out.lrs.iter().enumerate() {
            let k = cv.successes[i];
            let (lo, hi) = wilson(k, starts);
            rows.push(vec![
                cv.method as f64,
                cv.rho,
                lr,
                k as f64,
                starts as f64,
                out.rate(c, i),
                lo,
                hi,
            ]);
        }
    }
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 2".into()),
            (
                "paper_grid",
                "100 lr log-spaced on [0.001, 0.3], 10000 starts, T = 1e4 (T, tol unstated)".into(),
            ),
            ("lrs", n_lr.to_string()),
            ("lr_min", args.lr_min.to_string()),
            ("lr_max", args.lr_max.to_string()),
            ("starts", starts.to_string()),
            ("steps", steps.to_string()),
            (
                "rhos",
                rhos.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ("noise_variance", args.noise.to_string()),
            ("start_box", format!("[-{h}, {h}]^2", h = args.half_width)),
            ("tol", args.tol.to_string()),
            ("blowup", args.blowup.to_string()),
            ("seed", args.seed.to_string()),
            (
                "streams",
                if shared {
                    format!(
                        "shared: start k of curve c uses stream c*starts + k of seed ({}) at every lr (common random numbers); curves: SGD, then (method, rho)",
                        args.generator
                    )
                } else {
                    format!(
                        "independent: run k of cell c*lrs + i uses stream (c*lrs + i)*starts + k of seed ({}); curves c: SGD, then (method, rho); i: lr index",
                        args.generator
                    )
                },
            ),
            (
                "method_index",
                "0 = sgd (rho 0, shared by all panels), 1 = sam, 2 = sam-star, 3 = ssam".into(),
            ),
        ],
        &[
            "method_index",
            "rho",
            "lr",
            "successes",
            "starts",
            "rate",
            "wilson_lo",
            "wilson_hi",
        ],
        &rows,
    )?;
    Ok(out)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_fig2",
        &args.out,
        || run_figure(&args),
        |out| {
            for (c, cv) in out.curves.iter().enumerate() {
                let cliff = out
                    .cliff(c, 0.5)
                    .map_or("none".to_string(), |l| format!("{l:.4}"));
                println!(
                    "{:>5} ρ = {:<5}: rate at η = {:.4}: {:.3}; first η with rate < 0.5: {cliff}",
                    label(METHODS[cv.method]),
                    cv.rho,
                    out.lrs[0],
                    out.rate(c, 0)
                );
            }
        },
    )
}
