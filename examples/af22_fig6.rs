//! af22 Fig 6 (and Fig 13's full-batch panels): the implicit bias of ERM, n-SAM and 1-SAM on the
//! diagonal linear network. Data: the authors' seed-0 set (d = 30, n = 20, κ = 3, 1000 test points);
//! α = 0.01, γ = ρ = 1/d, full batch; train and test loss against the iteration (log scale).
//!
//! The loading, running and loss panels are shared with af22 Fig 13 (`examples/af22_fig13.rs`).
//!
//! `cargo run --release --example af22_fig6 [-- --steps N --quick --out DIR]` writes
//! `DIR/af22_fig6.{png,svg,csv}`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::data::RegressionData;
use samlab::error::Result;
use samlab::optim::{Method, Phase, RunConfig, RunResult, StepSizes, run};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{DiagNet, Problem};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Iterations per method.
    #[arg(long, default_value_t = 100_000)]
    pub steps: usize,
    /// Initialization scale α.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Learning rate γ and radius ρ in units of 1/d (the paper: γ = ρ = 1/d).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The data file (default: the authors' seed-0 data shipped in data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run (2,000 iterations) for tests.
    #[arg(long)]
    pub quick: bool,
}

/// The methods of the figure.
pub const METHODS: [&str; 3] = ["gd", "nsam", "1sam"];

/// One curve of a loss-against-iteration figure on the diagonal network.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Legend label.
    pub label: &'static str,
    /// The update rule.
    pub method: Method,
    /// Its radius ρ (0 for ERM).
    pub rho: f64,
}

/// Load the data (default: the authors' seed-0 set shipped in data/) and build the network with
/// initialization scale α: (data path, network, d).
pub fn load_net(data: &Option<PathBuf>, alpha: f64) -> Result<(PathBuf, DiagNet, f64)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data_path = data
        .clone()
        .unwrap_or_else(|| root.join("data/diag_net_seed0.json"));
    let data = RegressionData::load(&data_path)?;
    let net = DiagNet::new(&data, &[alpha])?;
    let d = data.d() as f64;
    Ok((data_path, net, d))
}

/// The file name of a data path, for a CSV header.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Run every curve from the network's initialization for `steps` iterations with γ = `lr`,
/// recording about 200 points; run k draws from stream (seed, k). In parallel over the curves.
pub fn run_curves(
    net: &DiagNet,
    curves: &[Curve],
    lr: f64,
    steps: usize,
    seed: u64,
) -> Vec<RunResult> {
    let every = (steps / 200).max(1);
    let bar = ProgressBar::new(curves.len() as u64);
    let results = curves
        .par_iter()
        .enumerate()
        .map(|(k, c)| {
            let mut cfg = RunConfig::new(vec![Phase {
                method: c.method,
                sizes: StepSizes::constant(lr, c.rho),
                steps,
            }]);
            cfg.record_every = every;
            cfg.seed = seed;
            cfg.stream = k as u64;
            let r = run(net, &net.init(), &cfg);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    results
}

/// The train- and test-loss panels (log y) of the runs, and their CSV rows
/// (curve index, step, train loss, test MSE).
pub fn loss_panels(curves: &[Curve], results: &[RunResult]) -> (Panel, Panel, Vec<Vec<f64>>) {
    let mut train = Panel::new("train loss", "iteration", "L(w) = (1/4n) Σ r²")
        .scales(Scale::Linear, Scale::Log);
    let mut test =
        Panel::new("test loss", "iteration", "test MSE").scales(Scale::Linear, Scale::Log);
    let mut rows = Vec::new();
    for (k, (c, r)) in curves.iter().zip(results).enumerate() {
        let x: Vec<f64> = r.records.iter().map(|p| p.step as f64).collect();
        train.series.push(Series::line(
            c.label,
            x.clone(),
            r.records.iter().map(|p| p.train_loss).collect(),
        ));
        test.series.push(Series::line(
            c.label,
            x,
            r.records
                .iter()
                .map(|p| p.test_metric.unwrap_or(f64::NAN))
                .collect(),
        ));
        rows.extend(r.records.iter().map(|p| {
            vec![
                k as f64,
                p.step as f64,
                p.train_loss,
                p.test_metric.unwrap_or(f64::NAN),
            ]
        }));
    }
    (train, test, rows)
}

/// Each curve's final (name, train loss, test MSE).
pub fn finals(names: &[&str], results: &[RunResult]) -> Vec<(String, f64, f64)> {
    names
        .iter()
        .zip(results)
        .map(|(m, r)| {
            (
                m.to_string(),
                r.last().train_loss,
                r.last().test_metric.unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// Run the experiment, write the figure and its CSV; return the final (train, test) loss per method.
pub fn run_figure(args: &Args) -> Result<Vec<(String, f64, f64)>> {
    let (data_path, net, d) = load_net(&args.data, args.alpha)?;
    let steps = if args.quick { 2_000 } else { args.steps };
    let (lr, rho) = (args.scale / d, args.scale / d);
    let labels = ["ERM (GD)", "n-SAM", "1-SAM"];
    let curves: Vec<Curve> = METHODS
        .iter()
        .zip(labels)
        .map(|(name, label)| {
            Ok(Curve {
                label,
                method: Method::from_name(name, None, false)?,
                rho: if *name == "gd" { 0.0 } else { rho },
            })
        })
        .collect::<Result<_>>()?;
    let results = run_curves(&net, &curves, lr, steps, 0);
    let (train, test, rows) = loss_panels(&curves, &results);
    let fig = Figure::new(
        format!(
            "af22 Fig 6: implicit bias on the diagonal network (α = {}, γ = ρ = {}/d)",
            args.alpha, args.scale
        ),
        vec![train, test],
    );
    let stem = args.out.join("af22_fig6");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 6".into()),
            ("data", file_name(&data_path)),
            ("alpha", args.alpha.to_string()),
            ("lr", lr.to_string()),
            ("rho", rho.to_string()),
            ("steps", steps.to_string()),
            ("batch", "full".into()),
            ("method_index", "0 = gd, 1 = nsam, 2 = 1sam".into()),
        ],
        &["method_index", "step", "train_loss", "test_mse"],
        &rows,
    )?;
    Ok(finals(&METHODS, &results))
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig6",
        &args.out,
        || run_figure(&args),
        |finals| {
            for (m, tr, te) in finals {
                println!("{m:>5}: final train loss {tr:.3e}, test MSE {te:.4e}");
            }
        },
    )
}
