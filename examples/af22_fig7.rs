//! af22 Fig 7: the functions a one-hidden-layer ReLU network (100 units) learns on the 12-point
//! 1-D regression problem of Blanc et al. with ERM (full-batch GD) and with SAM (normalized ascent
//! w + ρg/‖g‖, full batch, ρ decaying linearly from 0.3 to 0 over the iteration budget), for five
//! initializations (`Relu1d::init_random(seed)`, seeds 0–4). Loss ½ Σ (f(xᵢ) − yᵢ)², γ = 5e-5; a
//! run stops once the loss is ≤ 1e-5 (checked every `check_every` steps) or after 10⁶ iterations.
//! Panels: (a) ERM's and (b) SAM's learned functions with the data points, (c) every kink −bₖ/wₖ
//! in the plotted window against its slope change |vₖ wₖ| (log scale), the threshold of an
//! *effective* kink dashed.
//!
//! An effective kink: a group of kinks within `merge` (0.01, 4 % of the data spacing) of its
//! leftmost one is one point of the learned function (their slope changes vₖ|wₖ| add up; groups do
//! not chain); a point counts when it lies in the plotted window and its total slope change is at
//! least `threshold` (0.5) in absolute value. The parameter-free companion is TV(f′), the total
//! variation of the slope on the window (Σ |slope change|).
//!
//! `cargo run --release --example af22_fig7 [-- --steps N --seeds K --quick --out DIR]` writes
//! `DIR/af22_fig7.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::error::{Result, non_negative, positive};
use samlab::optim::{Method, Schedule, StepSizes, Workspace, step};
use samlab::plot::{Figure, Legend, Marker, Panel, Scale, Series, save, write_csv};
use samlab::problem::{Problem, Relu1d};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Iteration budget per run (also the horizon of the ρ decay).
    #[arg(long, default_value_t = 1_000_000)]
    pub steps: usize,
    /// A run stops once the loss is at most this.
    #[arg(long, default_value_t = 1e-5)]
    pub tol: f64,
    /// Learning rate γ.
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// SAM's initial radius ρ (decays linearly to 0 at `steps`).
    #[arg(long, default_value_t = 0.3)]
    pub rho: f64,
    /// Initializations: seeds 0, 1, …, seeds − 1.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Hidden units m.
    #[arg(long, default_value_t = 100)]
    pub hidden: usize,
    /// Check the stopping rule every this many steps.
    #[arg(long, default_value_t = 100)]
    pub check_every: usize,
    /// The plotted window extends the data's x range by this much on each side.
    #[arg(long, default_value_t = 0.5)]
    pub margin: f64,
    /// Points of each plotted function.
    #[arg(long, default_value_t = 400)]
    pub n_grid: usize,
    /// Kinks closer than this are one point of the function.
    #[arg(long, default_value_t = 0.01)]
    pub merge: f64,
    /// An effective kink changes the slope by at least this much.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (100,000 iterations, γ = 2e-4, 100 points per function).
    #[arg(long)]
    pub quick: bool,
}

/// The methods of the figure: ERM (`gd`) and normalized SAM (`sam-star`, full batch).
pub const METHODS: [&str; 2] = ["gd", "sam-star"];

/// One trained network.
#[derive(Clone, Debug)]
pub struct Trained {
    /// Index into [`METHODS`].
    pub method: usize,
    /// The initialization seed.
    pub seed: u64,
    /// The final parameters.
    pub params: Vec<f64>,
    /// Iterations run.
    pub steps: usize,
    /// The final loss.
    pub loss: f64,
    /// Effective kinks (position, total slope change), in increasing position.
    pub effective: Vec<(f64, f64)>,
    /// The total variation of f′ on the plotted window: Σ |slope change| over the kinks there
    /// (units whose kinks coincide exactly are summed first).
    pub slope_tv: f64,
}

/// Train one network from `init` with `method` for at most `steps` iterations of γ = `lr`, ρ
/// decaying linearly from `rho` (ignored by `gd`); stop once the loss is ≤ `tol` (checked every
/// `check_every` steps) or is not finite. Returns (parameters, iterations, final loss).
pub fn train(
    net: &Relu1d,
    method: &Method,
    init: Vec<f64>,
    sizes: StepSizes,
    args: &Args,
    steps: usize,
) -> (Vec<f64>, usize, f64) {
    let mut w = init;
    let mut ws = Workspace::new(net.dim(), net.n_examples());
    // Full-batch and deterministic: the stream is never drawn from.
    let mut rng = samlab::rng::stream(0, 0);
    let every = args.check_every.max(1);
    let mut t = 0;
    while t < steps {
        if t % every == 0 {
            let l = net.loss(&w);
            if l <= args.tol || !l.is_finite() {
                break;
            }
        }
        let (lr, rho) = sizes.at(t, steps);
        step(net, method, &mut w, lr, rho, &mut ws, &mut rng);
        t += 1;
    }
    let loss = net.loss(&w);
    (w, t, loss)
}

/// The kinks of `w` in [lo, hi], merged within `merge`: (position, Σ vₖ|wₖ|), sorted by position.
pub fn merged_kinks(net: &Relu1d, w: &[f64], lo: f64, hi: f64, merge: f64) -> Vec<(f64, f64)> {
    let m = net.width();
    let mut k: Vec<(f64, f64)> = (0..m)
        .filter(|&j| w[j] != 0.0)
        .map(|j| (-w[m + j] / w[j], w[2 * m + j] * w[j].abs()))
        .filter(|(x, _)| (lo..=hi).contains(x))
        .collect();
    k.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (x, jump) in k {
        match out.last_mut() {
            Some(last) if x - last.0 <= merge => last.1 += jump,
            _ => out.push((x, jump)),
        }
    }
    out
}

/// Settings after `--quick`: (iterations, learning rate, grid points).
fn sizes(args: &Args) -> (usize, f64, usize) {
    if args.quick {
        (100_000, 2e-4, 100)
    } else {
        (args.steps, args.lr, args.n_grid.max(2))
    }
}

/// Run the experiment, write the figure and its CSV; return every trained network.
pub fn run_figure(args: &Args) -> Result<Vec<Trained>> {
    let (steps, lr, n_grid) = sizes(args);
    positive("lr", lr)?;
    non_negative("rho", args.rho)?;
    non_negative("tol", args.tol)?;
    non_negative("merge", args.merge)?;
    non_negative("threshold", args.threshold)?;
    non_negative("margin", args.margin)?;
    let net = Relu1d::af22_fig7(args.hidden);
    let (xmin, xmax) = net
        .xs()
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (lo, hi) = (xmin - args.margin, xmax + args.margin);
    let methods: Vec<Method> = METHODS
        .iter()
        .map(|m| Method::from_name(m, None, false))
        .collect::<Result<_>>()?;
    let schedule = |m: usize| StepSizes::Separate {
        lr: Schedule::Constant(lr),
        rho: if m == 0 {
            Schedule::Constant(0.0)
        } else {
            Schedule::Linear {
                start: args.rho,
                end: 0.0,
            }
        },
    };
    let tasks: Vec<(usize, u64)> = (0..METHODS.len())
        .flat_map(|m| (0..args.seeds).map(move |s| (m, s)))
        .collect();
    let bar = ProgressBar::new(tasks.len() as u64);
    let trained: Vec<Trained> = tasks
        .par_iter()
        .map(|&(m, seed)| {
            let (params, t, loss) = train(
                &net,
                &methods[m],
                net.init_random(seed),
                schedule(m),
                args,
                steps,
            );
            let effective = merged_kinks(&net, &params, lo, hi, args.merge)
                .into_iter()
                .filter(|k| k.1.abs() >= args.threshold)
                .collect();
            let slope_tv = merged_kinks(&net, &params, lo, hi, 0.0)
                .iter()
                .map(|k| k.1.abs())
                .sum();
            bar.inc(1);
            Trained {
                method: m,
                seed,
                params,
                steps: t,
                loss,
                effective,
                slope_tv,
            }
        })
        .collect();
    bar.finish_and_clear();

    let grid: Vec<f64> = (0..n_grid)
        .map(|i| lo + (hi - lo) * i as f64 / (n_grid - 1) as f64)
        .collect();
    // panel, method, seed, x, y, slope change
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (x, y) in net.xs().iter().zip(net.ys()) {
        rows.push(vec![0.0, f64::NAN, f64::NAN, *x, *y, f64::NAN]);
    }
    let titles = ["(a) ERM (GD)", "(b) SAM (normalized, ρ decaying)"];
    let mut fpanels: Vec<Panel> = titles
        .iter()
        .map(|t| Panel::new(*t, "x", "f(x)").legend(Legend::LowerLeft))
        .collect();
    let mut kinks = Panel::new(
        "(c) kinks in the window",
        "kink position −b/w",
        "slope change |v w|",
    )
    .scales(Scale::Linear, Scale::Log)
    .x_range(lo, hi)
    .hline(format!("effective: ≥ {}", args.threshold), args.threshold)
    .legend(Legend::LowerRight);
    let (mut fmin, mut fmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for tr in &trained {
        let f: Vec<f64> = grid.iter().map(|&x| net.output(&tr.params, x)).collect();
        fmin = f.iter().copied().fold(fmin, f64::min);
        fmax = f.iter().copied().fold(fmax, f64::max);
        for (x, y) in grid.iter().zip(&f) {
            rows.push(vec![
                1.0,
                tr.method as f64,
                tr.seed as f64,
                *x,
                *y,
                f64::NAN,
            ]);
        }
        fpanels[tr.method].series.push(
            Series::line(
                format!(
                    "seed {}: {} effective kinks, TV(f′) {:.0}",
                    tr.seed,
                    tr.effective.len(),
                    tr.slope_tv
                ),
                grid.clone(),
                f,
            )
            .with_color(tr.seed as usize),
        );
        for (x, jump) in merged_kinks(&net, &tr.params, lo, hi, 0.0) {
            rows.push(vec![
                2.0,
                tr.method as f64,
                tr.seed as f64,
                x,
                f64::NAN,
                jump,
            ]);
        }
    }
    let pad = 0.05 * (fmax - fmin);
    for p in fpanels.iter_mut() {
        p.series.push(
            Series::line("data", net.xs().to_vec(), net.ys().to_vec())
                .with_marker(Marker::Circle)
                .with_color(6),
        );
        *p = p.clone().y_range(fmin - pad, fmax + pad);
    }
    for (m, marker) in [(0, Marker::Circle), (1, Marker::Triangle)] {
        let k: Vec<&Vec<f64>> = rows
            .iter()
            .filter(|r| r[0] == 2.0 && r[1] == m as f64)
            .collect();
        let mean = mean_effective(&trained, m);
        kinks.series.push(
            Series::line(
                format!("{} (mean {mean:.1} effective)", ["ERM", "SAM"][m]),
                k.iter().map(|r| r[3]).collect(),
                k.iter().map(|r| r[5].abs()).collect(),
            )
            .with_marker(marker)
            .with_color(m),
        );
    }
    let mut panels = fpanels;
    panels.push(kinks);
    let fig = Figure::new(
        format!(
            "af22 Fig 7: ReLU net, {} units, γ = {lr}, ERM vs SAM (ρ = {} → 0), {} seeds",
            args.hidden, args.rho, args.seeds
        ),
        panels,
    );
    let stem = args.out.join("af22_fig7");
    save(&fig, &stem)?;
    let runs: Vec<String> = trained
        .iter()
        .map(|t| {
            format!(
                "{} seed {}: {} steps, loss {:.3e}, {} effective kinks, TV(f') {:.2}",
                METHODS[t.method],
                t.seed,
                t.steps,
                t.loss,
                t.effective.len(),
                t.slope_tv
            )
        })
        .collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 7".into()),
            (
                "data",
                "x = linspace(-5.5, 5.5, 12)/4 + 0.07, y = 0.345 + [-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1]".into(),
            ),
            ("hidden", args.hidden.to_string()),
            (
                "init",
                "Relu1d::init_random(seed): hidden weights +-2.5, biases N(0, 2.5^2), output N(0, 4^2)".into(),
            ),
            ("loss", "1/2 sum_i (f(x_i) - y_i)^2".into()),
            ("lr", lr.to_string()),
            ("max_steps", steps.to_string()),
            ("tol", format!("{} (checked every {} steps)", args.tol, args.check_every)),
            (
                "methods",
                format!(
                    "0 = gd (ERM), 1 = sam-star (full batch, w + rho g/|g|, rho linear {} -> 0 over max_steps)",
                    args.rho
                ),
            ),
            ("seeds", format!("0..{}", args.seeds)),
            ("window", format!("[{lo}, {hi}] (data range +- {})", args.margin)),
            (
                "effective_kink",
                format!(
                    "kinks within {} of the first of a group merged (slope changes v|w| summed); in the window and |total| >= {}; TV(f') = sum of |slope change| in the window",
                    args.merge, args.threshold
                ),
            ),
            ("runs", runs.join("; ")),
            (
                "panel",
                "0 = data (x, y); 1 = learned function (method, seed, x, y); 2 = kink (method, seed, x = -b/w, slope_change = v|w|, every kink in the window; units whose kinks coincide exactly summed)".into(),
            ),
        ],
        &["panel", "method", "seed", "x", "y", "slope_change"],
        &rows,
    )?;
    Ok(trained)
}

/// The mean number of effective kinks of method `m` over its runs.
pub fn mean_effective(trained: &[Trained], m: usize) -> f64 {
    let runs: Vec<&Trained> = trained.iter().filter(|t| t.method == m).collect();
    runs.iter().map(|t| t.effective.len() as f64).sum::<f64>() / runs.len().max(1) as f64
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig7",
        &args.out,
        || run_figure(&args),
        |trained| {
            for t in trained {
                println!(
                    "{:>8} seed {}: {:>7} steps, loss {:.3e}, {:>3} effective kinks, TV(f') {:.1}",
                    METHODS[t.method],
                    t.seed,
                    t.steps,
                    t.loss,
                    t.effective.len(),
                    t.slope_tv
                );
            }
            for (m, name) in METHODS.iter().enumerate() {
                println!(
                    "{name:>8}: mean effective kinks {:.1}",
                    mean_effective(trained, m)
                );
            }
        },
    )
}
