//! af22 Fig 13: the implicit bias of ERM, n-SAM and 1-SAM on the diagonal linear network, full
//! batch (as Fig 6) and stochastic with batch size b = 1. Data: the authors' seed-0 set (d = 30,
//! n = 20, κ = 3, 1000 test points); α = 0.01, γ = ρ = 1/d; (a) test and (b) train loss against
//! the iteration (log scale).
//!
//! The paper's names and ours (`Method::from_name`):
//! ERM (GD) = `gd`, n-SAM (GD) = `nsam`, 1-SAM (GD) = `1sam` (full batch);
//! ERM (SGD) = `sgd`, b = 1; n-SAM (SGD) = `nsam-stoch`, b = 1 (af22 Eq. 21: the ascent example J
//! drawn independently of the descent example I); 1-SAM (SGD) = `1sam` over a batch of b = 1,
//! which with b = 1 is the same update as m-SAM (`msam`, b = 1): ∇ℓᵢ(w + ρ∇ℓᵢ(w)).
//! Batches are uniform random subsets (without replacement); stochastic run k draws from stream
//! (seed, k).
//!
//! `cargo run --release --example af22_fig13 [-- --steps N --batch B --quick --out DIR]` writes
//! `DIR/af22_fig13.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use samlab::error::Result;
use samlab::optim::Method;
use samlab::plot::{Figure, save, write_csv};
use samlab::problem::Problem;

#[path = "af22_fig6.rs"]
#[allow(dead_code)]
mod fig6;

use fig6::{Curve, file_name, finals, load_net, loss_panels, run_curves};

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
    /// Batch size of the stochastic variants (the paper: 1).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Seed of the batches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The data file (default: the authors' seed-0 data shipped in data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run (5,000 iterations) for tests.
    #[arg(long)]
    pub quick: bool,
}

/// Our method names of the six curves (batch size `--batch` for the last three).
pub const METHODS: [&str; 6] = ["gd", "nsam", "1sam", "sgd", "nsam-stoch", "1sam"];

/// The paper's names of the six curves.
pub const LABELS: [&str; 6] = [
    "ERM (GD)",
    "n-SAM (GD)",
    "1-SAM (GD)",
    "ERM (SGD)",
    "n-SAM (SGD)",
    "1-SAM (SGD)",
];

/// Run the experiment, write the figure and its CSV; return the final (train, test) loss per curve
/// (named as in [`LABELS`]).
pub fn run_figure(args: &Args) -> Result<Vec<(String, f64, f64)>> {
    let (data_path, net, d) = load_net(&args.data, args.alpha)?;
    let steps = if args.quick { 5_000 } else { args.steps };
    let (lr, rho) = (args.scale / d, args.scale / d);
    let curves: Vec<Curve> = METHODS
        .iter()
        .zip(LABELS)
        .enumerate()
        .map(|(k, (name, label))| {
            let batch = (k >= 3).then_some(args.batch);
            let method = Method::from_name(name, batch, false)?;
            method.check(net.n_examples())?;
            Ok(Curve {
                label,
                method,
                rho: if k % 3 == 0 { 0.0 } else { rho },
            })
        })
        .collect::<Result<_>>()?;
    let results = run_curves(&net, &curves, lr, steps, args.seed);
    let (mut train, mut test, rows) = loss_panels(&curves, &results);
    train.title = "(b) train loss".into();
    test.title = "(a) test loss".into();
    let fig = Figure::new(
        format!(
            "af22 Fig 13: implicit bias, full batch and b = {} (α = {}, γ = ρ = {}/d)",
            args.batch, args.alpha, args.scale
        ),
        vec![test, train],
    );
    let stem = args.out.join("af22_fig13");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 13".into()),
            ("data", file_name(&data_path)),
            ("alpha", args.alpha.to_string()),
            ("lr", lr.to_string()),
            ("rho", rho.to_string()),
            ("steps", steps.to_string()),
            ("batch", format!("full (curves 0-2); {} (curves 3-5), uniform without replacement", args.batch)),
            ("seed", format!("{} (curve k draws from stream (seed, k))", args.seed)),
            (
                "method_index",
                "0 = ERM (GD): gd; 1 = n-SAM (GD): nsam; 2 = 1-SAM (GD): 1sam; 3 = ERM (SGD): sgd; 4 = n-SAM (SGD): nsam-stoch (Eq. 21, independent ascent batch); 5 = 1-SAM (SGD): 1sam over the batch (with b = 1 the same update as msam)".into(),
            ),
        ],
        &["method_index", "step", "train_loss", "test_mse"],
        &rows,
    )?;
    Ok(finals(&LABELS, &results))
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig13",
        &args.out,
        || run_figure(&args),
        |finals| {
            for (m, tr, te) in finals {
                println!("{m:>12}: final train loss {tr:.3e}, test MSE {te:.4e}");
            }
        },
    )
}
