//! ssam24 Fig 3 on toy problems: the ratio γ_t = ‖∇f(w_t, z_t)‖/‖∇f(w_asc, z_t)‖ along training
//! (SAM with the unnormalized ascent, one example per step, by default; `--rule` for the others)
//! for several ρ, and whether Assumption 1 (γ_t ≤ γ_upp < 1 for all t) holds. Three problems:
//! per-example quadratics ½(w − c)ᵀA(w − c) (A = diag(linspace(µ, L, p)), c ~ N(0, I)),
//! ℓ2-regularized logistic regression on a planted model, and the quartic saddle
//! x₁⁴/4 − x₁x₂ + x₂²/2 (one example: full-batch SAM). For a µ-strongly convex f,
//! ‖∇f(w_asc)‖ ≥ (1 + µρ)‖∇f(w)‖, so γ_t ≤ 1/(1 + µρ) < 1; the saddle is not convex.
//!
//! Runs k = 0..R start from w₀ ~ N(0, r₀²I) (quadratic, logistic) or uniform in [−2, 2]² (saddle),
//! stream (seed, k) for the start and the indices. Steps where ‖∇f(w_t, z_t)‖ ≤ 1e-10·(1 + ‖w_t‖)
//! are left out (there γ_t is a ratio of rounding errors). Per recorded step (log-spaced): the median and the
//! 5 % / 95 % quantiles of γ_t over the runs, its maximum, and the fraction of runs with γ_t ≥ 1;
//! per (problem, ρ) the maximum over all steps and the fraction of steps with γ_t ≥ 1.
//!
//! `cargo run --release --example ssam24_ratio [-- --runs R --steps T --quick --out DIR]` writes
//! `DIR/ssam24_ratio.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use samlab::error::Result;
use samlab::optim::coupled::{ExampleBuffers, Rule, draw_index, example_step};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{Logistic, Problem, Quadratic, QuarticSaddle, norm};
use samlab::rng::stream;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// The radii ρ (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.05,0.2,0.5")]
    pub rhos: Vec<f64>,
    /// The update rule: sam, sam-star, ssam, ssam-star (sgd has γ = 1).
    #[arg(long, default_value = "sam")]
    pub rule: String,
    /// Runs per (problem, ρ).
    #[arg(long, default_value_t = 64)]
    pub runs: usize,
    /// Steps per run.
    #[arg(long, default_value_t = 5000)]
    pub steps: usize,
    /// Examples n (quadratic and logistic).
    #[arg(long, default_value_t = 50)]
    pub n: usize,
    /// Quadratic: µ = λ_min(A) (L = 1, p = 5).
    #[arg(long, default_value_t = 0.1)]
    pub mu: f64,
    /// Logistic: λ (p = 5).
    #[arg(long, default_value_t = 0.01)]
    pub lambda: f64,
    /// Step size as a fraction of 1/L (quadratic, logistic: L the individual smoothness).
    #[arg(long, default_value_t = 0.5)]
    pub lr_frac: f64,
    /// Step size on the quartic saddle.
    #[arg(long, default_value_t = 0.05)]
    pub lr_saddle: f64,
    /// Standard deviation r₀ of the start (quadratic, logistic).
    #[arg(long, default_value_t = 3.0)]
    pub init_std: f64,
    /// Seed (problems: stream 2⁶⁴ − 1; run k: stream k).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (8 runs, 400 steps).
    #[arg(long)]
    pub quick: bool,
}

/// One (problem, ρ) curve and its summary.
pub struct Curve {
    /// 0 quadratic, 1 logistic, 2 quartic saddle.
    pub problem: usize,
    /// ρ.
    pub rho: f64,
    /// Per recorded step: (step, median, q05, q95, max, fraction of runs with γ ≥ 1).
    pub points: Vec<[f64; 6]>,
    /// The largest γ_t over all steps and runs.
    pub max: f64,
    /// The fraction of (run, step) pairs with γ_t ≥ 1.
    pub frac_ge1: f64,
    /// The a priori bound 1/(1 + µρ) (strongly convex problems; NaN for the saddle).
    pub bound: f64,
}

/// Problem names, in CSV order.
pub const PROBLEMS: [&str; 3] = ["quadratic", "logistic", "quartic saddle"];

/// γ_t of every step of R runs (NaN where the gradient is at rounding level), [run][step].
#[allow(clippy::too_many_arguments)]
fn gammas<P: Problem>(
    p: &P,
    rule: Rule,
    lr: f64,
    rho: f64,
    steps: usize,
    runs: usize,
    seed: u64,
    start: &(dyn Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<f64> + Sync),
) -> Vec<Vec<f64>> {
    (0..runs as u64)
        .into_par_iter()
        .map(|k| {
            let mut rng = stream(seed, k);
            let mut w = start(&mut rng);
            let mut buf = ExampleBuffers::new(w.len());
            (0..steps)
                .map(|_| {
                    let z = draw_index(&mut rng, p.n_examples());
                    let size = 1.0 + norm(&w);
                    let st = example_step(p, rule, z, &mut w, lr, rho, &mut buf);
                    if st.grad_norm > 1e-10 * size && st.gamma.is_finite() {
                        st.gamma
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect()
}

/// The q-quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// Whether step t is recorded: every step below 20, then with stride ⌊t/20⌋ (about 20 points per
/// e-fold, for a log axis), and the last.
fn recorded(t: usize, steps: usize) -> bool {
    t < 20 || t.is_multiple_of(t / 20) || t + 1 == steps
}

fn summarize(problem: usize, rho: f64, g: &[Vec<f64>], bound: f64) -> Curve {
    let steps = g[0].len();
    let points = (0..steps)
        .filter(|&t| recorded(t, steps))
        .map(|t| {
            let mut v: Vec<f64> = g.iter().map(|r| r[t]).filter(|x| !x.is_nan()).collect();
            v.sort_by(f64::total_cmp);
            let ge1 = v.iter().filter(|&&x| x >= 1.0).count() as f64 / v.len().max(1) as f64;
            [
                t as f64,
                quantile(&v, 0.5),
                quantile(&v, 0.05),
                quantile(&v, 0.95),
                v.last().copied().unwrap_or(f64::NAN),
                ge1,
            ]
        })
        .collect();
    let all: Vec<f64> = g
        .iter()
        .flatten()
        .copied()
        .filter(|x| !x.is_nan())
        .collect();
    Curve {
        problem,
        rho,
        points,
        max: all.iter().copied().fold(f64::NAN, f64::max),
        frac_ge1: all.iter().filter(|&&x| x >= 1.0).count() as f64 / all.len().max(1) as f64,
        bound,
    }
}

/// Run every (problem, ρ), write the figure and its CSV; return the curves.
pub fn run_figure(args: &Args) -> Result<Vec<Curve>> {
    let (runs, steps) = if args.quick {
        (8, 400)
    } else {
        (args.runs.max(1), args.steps.max(1))
    };
    let rule = Rule::from_name(&args.rule)?;
    samlab::error::positive("lr_frac", args.lr_frac)?;
    samlab::error::positive("lr_saddle", args.lr_saddle)?;
    samlab::error::non_negative("init_std", args.init_std)?;
    for (i, r) in args.rhos.iter().enumerate() {
        samlab::error::non_negative(&format!("rhos[{i}]"), *r)?;
    }
    let pseed: u64 = stream(args.seed, u64::MAX).random();
    let p = 5;
    let mut a = vec![0.0; p * p];
    for i in 0..p {
        a[i * p + i] = args.mu + (1.0 - args.mu) * i as f64 / (p - 1) as f64;
    }
    let quad = Quadratic::random_centers(a, p, args.n, &vec![0.0; p], 1.0, pseed)?;
    let logi = Logistic::random(p, args.n, args.lambda, pseed)?;
    let l_logi = logi
        .constants()
        .individual_smoothness
        .exact()
        .expect("exact");
    let r0 = args.init_std;
    let gauss = move |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
        (0..p)
            .map(|_| r0 * rng.sample::<f64, _>(StandardNormal))
            .collect()
    };
    let square = |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
        (0..2).map(|_| rng.random_range(-2.0..2.0)).collect()
    };
    let mut curves = Vec::new();
    for &rho in &args.rhos {
        let g = gammas(
            &quad,
            rule,
            args.lr_frac,
            rho,
            steps,
            runs,
            args.seed,
            &gauss,
        );
        curves.push(summarize(0, rho, &g, 1.0 / (1.0 + quad.lambda_min() * rho)));
        let g = gammas(
            &logi,
            rule,
            args.lr_frac / l_logi,
            rho,
            steps,
            runs,
            args.seed,
            &gauss,
        );
        curves.push(summarize(1, rho, &g, 1.0 / (1.0 + args.lambda * rho)));
        let g = gammas(
            &QuarticSaddle::new(),
            rule,
            args.lr_saddle,
            rho,
            steps,
            runs,
            args.seed,
            &square,
        );
        curves.push(summarize(2, rho, &g, f64::NAN));
    }
    let lr_of = |pi: usize| match pi {
        0 => args.lr_frac,
        1 => args.lr_frac / l_logi,
        _ => args.lr_saddle,
    };
    let panels: Vec<Panel> = (0..3)
        .map(|pi| {
            let mut panel = Panel::new(
                format!(
                    "({}) {} (η = {:.3})",
                    ["a", "b", "c"][pi],
                    PROBLEMS[pi],
                    lr_of(pi)
                ),
                "step t + 1",
                "γ_t = ‖∇f(w)‖/‖∇f(w_asc)‖",
            )
            .scales(Scale::Log, Scale::Linear);
            for c in curves.iter().filter(|c| c.problem == pi) {
                let x: Vec<f64> = c.points.iter().map(|q| q[0] + 1.0).collect();
                panel.series.push(
                    Series::line(
                        format!("ρ = {} (max {:.4})", c.rho, c.max),
                        x,
                        c.points.iter().map(|q| q[1]).collect(),
                    )
                    .with_band(
                        c.points.iter().map(|q| q[2]).collect(),
                        c.points.iter().map(|q| q[3]).collect(),
                    ),
                );
            }
            panel.hlines.push(("γ = 1".into(), 1.0));
            panel
        })
        .collect();
    let fig = Figure::new(
        format!(
            "ssam24 Fig 3 on toy problems: γ_t along {} runs (median, 5–95 % band over {runs} runs)",
            rule.name()
        ),
        panels,
    );
    let stem = args.out.join("ssam24_ratio");
    save(&fig, &stem)?;
    let rows: Vec<Vec<f64>> = curves
        .iter()
        .flat_map(|c| {
            c.points.iter().map(move |q| {
                let mut r = vec![c.problem as f64, c.rho];
                r.extend_from_slice(q);
                r.extend_from_slice(&[c.max, c.frac_ge1, c.bound]);
                r
            })
        })
        .collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 3 on toy problems".into()),
            ("rule", rule.name().into()),
            ("runs", runs.to_string()),
            ("steps", steps.to_string()),
            ("recorded", "steps t < 20, then every floor(t/20)-th, and the last".into()),
            (
                "quadratic",
                format!(
                    "p = 5, A = diag(linspace({}, 1)), n = {}, c ~ N(0, I), lr = {}",
                    args.mu, args.n, args.lr_frac
                ),
            ),
            (
                "logistic",
                format!(
                    "p = 5, n = {}, lambda = {}, planted model, lr = {} (L = {l_logi})",
                    args.n,
                    args.lambda,
                    args.lr_frac / l_logi
                ),
            ),
            (
                "quartic_saddle",
                format!("starts uniform in [-2, 2]^2, lr = {}", args.lr_saddle),
            ),
            ("init_std", args.init_std.to_string()),
            ("seed", args.seed.to_string()),
            (
                "columns",
                "problem 0 quadratic / 1 logistic / 2 quartic saddle; per recorded step quantiles over runs; max, frac_ge1 over all steps; bound = 1/(1 + mu rho) (NaN: not convex)".into(),
            ),
        ],
        &[
            "problem",
            "rho",
            "step",
            "median",
            "q05",
            "q95",
            "step_max",
            "step_frac_ge1",
            "max",
            "frac_ge1",
            "bound",
        ],
        &rows,
    )?;
    Ok(curves)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_ratio",
        &args.out,
        || run_figure(&args),
        |curves| {
            for c in curves {
                println!(
                    "{:>14} rho {:>5}: max gamma {:.6} (1/(1+mu rho) = {:.6}), fraction of steps with gamma >= 1: {:.4}; Assumption 1 {}",
                    PROBLEMS[c.problem],
                    c.rho,
                    c.max,
                    c.bound,
                    c.frac_ge1,
                    if c.max < 1.0 { "holds" } else { "FAILS" }
                );
            }
        },
    )
}
