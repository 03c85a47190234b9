//! ssam24 Fig 1: escaping the saddle at 0 of the linear autoencoder ½‖W₂W₁ − I‖²_F
//! (W₁, W₂ ∈ ℝ²⁰ˣ²⁰, entries N(0, 1e-4), i.e. std 0.01), full batch, lr 1e-3, no noise:
//! GD vs SAM (unnormalized ascent w + ρg) vs SAM* (w + ρg/‖g‖) vs SSAM, one panel per
//! ρ ∈ {0.02, 0.05, 0.08, 0.4}, loss against the step (log y). "500 epochs" is undefined for a
//! data-free loss: 50,000 full-batch steps by default.
//!
//! `cargo run --release --example ssam24_fig1 [-- --steps N --rhos R,… --quick --out DIR]` writes
//! `DIR/ssam24_fig1.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::error::Result;
use samlab::optim::{Method, Phase, RunConfig, RunResult, StepSizes, run};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::LinearAutoencoder;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Full-batch steps per run.
    #[arg(long, default_value_t = 50_000)]
    pub steps: usize,
    /// Width d (W₁, W₂ ∈ ℝᵈˣᵈ).
    #[arg(long, default_value_t = 20)]
    pub d: usize,
    /// Standard deviation of the initial entries (variance 1e-4).
    #[arg(long, default_value_t = 0.01)]
    pub init_std: f64,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// The radii ρ, one panel each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.02,0.05,0.08,0.4")]
    pub rhos: Vec<f64>,
    /// Seed of the initialization (the same for every run).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (12,000 steps).
    #[arg(long)]
    pub quick: bool,
}

/// The methods of the figure.
pub const METHODS: [&str; 4] = ["gd", "sam", "sam-star", "ssam"];

/// Final loss per (ρ, method): `finals[r][m]`.
pub type Finals = Vec<Vec<f64>>;

/// Run the experiment, write the figure and its CSV; return the final losses.
pub fn run_figure(args: &Args) -> Result<Finals> {
    let steps = if args.quick { 12_000 } else { args.steps };
    let every = (steps / 250).max(1);
    let ae = LinearAutoencoder::new(args.d);
    let init = ae.init_random(args.init_std, args.seed);
    // GD does not depend on ρ: one run, shown in every panel.
    let mut jobs: Vec<(usize, usize)> = vec![(0, 0)];
    for r in 0..args.rhos.len() {
        jobs.extend((1..METHODS.len()).map(|m| (r, m)));
    }
    let bar = ProgressBar::new(jobs.len() as u64);
    let results: Vec<RunResult> = jobs
        .par_iter()
        .map(|&(r, m)| {
            let method = Method::from_name(METHODS[m], None, false)?;
            let rho = if m == 0 { 0.0 } else { args.rhos[r] };
            let mut cfg = RunConfig::new(vec![Phase {
                method,
                sizes: StepSizes::constant(args.lr, rho),
                steps,
            }]);
            cfg.record_every = every;
            let out = run(&ae, &init, &cfg);
            bar.inc(1);
            Ok(out)
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    let get = |r: usize, m: usize| -> &RunResult {
        if m == 0 {
            &results[0]
        } else {
            &results[1 + r * (METHODS.len() - 1) + (m - 1)]
        }
    };

    let label = |m: &str| match m {
        "gd" => "GD",
        "sam" => "SAM",
        "sam-star" => "SAM*",
        _ => "SSAM",
    };
    let mut panels = Vec::new();
    let mut rows = Vec::new();
    let mut finals = Vec::new();
    for (r, &rho) in args.rhos.iter().enumerate() {
        let mut panel = Panel::new(format!("ρ = {rho}"), "step", "½‖W₂W₁ − I‖²")
            .scales(Scale::Linear, Scale::Log);
        let mut fin = Vec::new();
        for (m, name) in METHODS.iter().enumerate() {
            let res = get(r, m);
            panel.series.push(Series::line(
                label(name),
                res.records.iter().map(|p| p.step as f64).collect(),
                res.records.iter().map(|p| p.train_loss).collect(),
            ));
            rows.extend(
                res.records
                    .iter()
                    .map(|p| vec![r as f64, rho, m as f64, p.step as f64, p.train_loss]),
            );
            fin.push(res.last().train_loss);
        }
        panels.push(panel);
        finals.push(fin);
    }
    let fig = Figure::new(
        format!(
            "ssam24 Fig 1: escaping the saddle of the linear autoencoder (d = {}, init std {}, lr {})",
            args.d, args.init_std, args.lr
        ),
        panels,
    );
    let stem = args.out.join("ssam24_fig1");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Fig 1".into()),
            ("d", args.d.to_string()),
            ("init_std", args.init_std.to_string()),
            ("lr", args.lr.to_string()),
            (
                "rhos",
                args.rhos
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ("steps", steps.to_string()),
            ("record_every", every.to_string()),
            ("seed", args.seed.to_string()),
            ("batch", "full".into()),
            (
                "method_index",
                "0 = gd (one run, repeated per rho), 1 = sam, 2 = sam-star, 3 = ssam".into(),
            ),
        ],
        &["rho_index", "rho", "method_index", "step", "loss"],
        &rows,
    )?;
    Ok(finals)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_fig1",
        &args.out,
        || run_figure(&args),
        |finals| {
            for (rho, fin) in args.rhos.iter().zip(finals) {
                let s: Vec<String> = METHODS
                    .iter()
                    .zip(fin)
                    .map(|(m, l)| format!("{m} {l:.3e}"))
                    .collect();
                println!("rho {rho:>5}: final loss {}", s.join(", "));
            }
        },
    )
}
