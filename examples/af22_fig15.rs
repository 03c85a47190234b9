//! af22 Fig 15: switching between ERM and 1-SAM on the diagonal linear network. Data: the authors'
//! seed-0 set (d = 30, n = 20); α = 0.05, γ = 1/d (the authors' notebook: `gamma = 1 / d`,
//! u₀ = 0.1 = 2α; `--lr-scale 15` runs γ = 15/d, where ERM→1-SAM diverges), full batch. Runs: plain ERM, plain 1-SAM
//! (ρ_1SAM), ERM→1-SAM (ρ_GD→1SAM after the switch) and 1-SAM→ERM (ρ_1SAM before it), the switch
//! after 10k of 20k iterations. The paper's ρ are the authors' units: ours = 2 × theirs for 1-SAM.
//! Panels: (a) test loss, (b) train loss against the iteration, (c) the train loss along the
//! segment w(λ) = (1−λ) w_GD + λ w_GD→1SAM.
//!
//! `cargo run --release --example af22_fig15 [-- --steps N --switch-at K --quick --out DIR]` writes
//! `DIR/af22_fig15.{png,svg,csv}`.

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
    /// Total iterations per run.
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    /// Iteration of the switch.
    #[arg(long, default_value_t = 10_000)]
    pub switch_at: usize,
    /// Initialization scale α.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Learning rate γ in units of 1/d. The authors' notebook uses γ = 1/d for this figure; with
    /// γ = 15/d (the Fig 14 setting) ERM→1-SAM at ρ_GD→1SAM = 10 diverges a few steps after the switch.
    #[arg(long, default_value_t = 1.0)]
    pub lr_scale: f64,
    /// ρ of plain 1-SAM and of 1-SAM→ERM, in the AUTHORS' units (ours = 2 × this).
    #[arg(long, default_value_t = 0.175)]
    pub rho_1sam_authors: f64,
    /// ρ of 1-SAM after the switch in ERM→1-SAM, in the AUTHORS' units (ours = 2 × this).
    #[arg(long, default_value_t = 10.0)]
    pub rho_switch_authors: f64,
    /// Points on the segment.
    #[arg(long, default_value_t = 301)]
    pub n_lambda: usize,
    /// Smallest λ of the segment (the authors' notebook: −1; it contains [−0.5, 1.5]).
    #[arg(long, default_value_t = -1.0, allow_hyphen_values = true)]
    pub lambda_min: f64,
    /// Largest λ of the segment (the authors' notebook: 2).
    #[arg(long, default_value_t = 2.0)]
    pub lambda_max: f64,
    /// The data file (default: the authors' seed-0 data shipped in data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A smaller run (10,000 iterations, switch at 5,000, 61 segment points) for tests (at 4,000/2,000
    /// ERM has not converged far enough and ERM→1-SAM diverges).
    #[arg(long)]
    pub quick: bool,
}

/// The runs of the figure.
pub const RUNS: [&str; 4] = ["ERM", "1-SAM", "ERM→1-SAM", "1-SAM→ERM"];

/// One run's outcome.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: &'static str,
    pub train: f64,
    pub test: f64,
    pub diverged_at: Option<usize>,
}

/// Run the experiment, write the figure and its CSV; return each run's final losses.
pub fn run_figure(args: &Args) -> Result<Vec<Outcome>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data_path = args
        .data
        .clone()
        .unwrap_or_else(|| root.join("data/diag_net_seed0.json"));
    let data = RegressionData::load(&data_path)?;
    let net = DiagNet::new(&data, &[args.alpha])?;
    let d = data.d() as f64;
    let (steps, switch, n_lambda) = if args.quick {
        (10_000, 5_000, 61)
    } else {
        (
            args.steps,
            args.switch_at.min(args.steps),
            args.n_lambda.max(2),
        )
    };
    let lr = args.lr_scale / d;
    // Our units: the per-example ascent is along ∇(¼ r²), the authors' along ∇(r²).
    let rho_1sam = 2.0 * args.rho_1sam_authors;
    let rho_switch = 2.0 * args.rho_switch_authors;
    let every = (steps / 400).max(1);
    let gd = Method::from_name("gd", None, false)?;
    let one = Method::from_name("1sam", None, false)?;
    let phase = |m: &Method, rho: f64, n: usize| Phase {
        method: m.clone(),
        sizes: StepSizes::constant(lr, rho),
        steps: n,
    };
    let configs: Vec<Vec<Phase>> = vec![
        vec![phase(&gd, 0.0, steps)],
        vec![phase(&one, rho_1sam, steps)],
        vec![
            phase(&gd, 0.0, switch),
            phase(&one, rho_switch, steps - switch),
        ],
        vec![
            phase(&one, rho_1sam, switch),
            phase(&gd, 0.0, steps - switch),
        ],
    ];
    let bar = ProgressBar::new(configs.len() as u64);
    let results: Vec<RunResult> = configs
        .into_par_iter()
        .map(|phases| {
            let mut cfg = RunConfig::new(phases.into_iter().filter(|p| p.steps > 0).collect());
            cfg.record_every = every;
            let r = run(&net, &net.init(), &cfg);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();

    let mut test =
        Panel::new("(a) test loss", "iteration", "test MSE").scales(Scale::Linear, Scale::Log);
    let mut train = Panel::new("(b) train loss", "iteration", "L(w) = (1/4n) Σ r²")
        .scales(Scale::Linear, Scale::Log);
    if switch > 0 && switch < steps {
        let at = format!("switch at {switch}");
        test = test.vline(at.clone(), switch as f64);
        train = train.vline(at, switch as f64);
    }
    let mut rows = Vec::new();
    for (k, r) in results.iter().enumerate() {
        let label = match r.diverged_at {
            Some(s) => format!("{} (diverged at {s})", RUNS[k]),
            None => RUNS[k].to_string(),
        };
        let x: Vec<f64> = r.records.iter().map(|p| p.step as f64).collect();
        let te: Vec<f64> = r
            .records
            .iter()
            .map(|p| p.test_metric.unwrap_or(f64::NAN))
            .collect();
        train.series.push(Series::line(
            label.clone(),
            x.clone(),
            r.records.iter().map(|p| p.train_loss).collect(),
        ));
        test.series.push(Series::line(label, x, te));
        rows.extend(r.records.iter().map(|p| {
            vec![
                0.0,
                k as f64,
                p.step as f64,
                p.train_loss,
                p.test_metric.unwrap_or(f64::NAN),
            ]
        }));
    }
    // (c): the segment between the ERM solution and the ERM→1-SAM solution.
    let (w_gd, w_sw) = (&results[0].params, &results[2].params);
    let lambdas: Vec<f64> = (0..n_lambda)
        .map(|i| {
            args.lambda_min + (args.lambda_max - args.lambda_min) * i as f64 / (n_lambda - 1) as f64
        })
        .collect();
    let (mut seg_train, mut seg_test) = (Vec::new(), Vec::new());
    for &l in &lambdas {
        let w: Vec<f64> = w_gd
            .iter()
            .zip(w_sw)
            .map(|(a, b)| (1.0 - l) * a + l * b)
            .collect();
        let (tr, te) = (net.loss(&w), net.test_mse(&w));
        seg_train.push(tr);
        seg_test.push(te);
        rows.push(vec![1.0, 2.0, l, tr, te]);
    }
    let mut seg = Panel::new("(c) w(λ) = (1−λ)w_GD + λ w_GD→1SAM", "λ", "loss at w(λ)")
        .scales(Scale::Linear, Scale::Log);
    seg.series
        .push(Series::line("train loss", lambdas.clone(), seg_train));
    seg.series.push(Series::line("test MSE", lambdas, seg_test));
    let fig = Figure::new(
        format!(
            "af22 Fig 15: switching ERM ↔ 1-SAM (α = {}, γ = {}/d, ρ_1SAM = {}, ρ_GD→1SAM = {}, authors' units)",
            args.alpha, args.lr_scale, args.rho_1sam_authors, args.rho_switch_authors
        ),
        vec![test, train, seg],
    );
    let stem = args.out.join("af22_fig15");
    save(&fig, &stem)?;
    let diverged: Vec<String> = results
        .iter()
        .enumerate()
        .filter_map(|(k, r)| r.diverged_at.map(|s| format!("{} at step {s}", RUNS[k])))
        .collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 15".into()),
            (
                "data",
                data_path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            ("alpha", args.alpha.to_string()),
            ("lr", format!("{lr} (= {}/d)", args.lr_scale)),
            ("steps", steps.to_string()),
            ("switch_at", switch.to_string()),
            ("batch", "full".into()),
            (
                "rho_1sam",
                format!(
                    "{rho_1sam} (ours; = 2 x {} in the authors' units, which the paper quotes)",
                    args.rho_1sam_authors
                ),
            ),
            (
                "rho_switch",
                format!(
                    "{rho_switch} (ours; = 2 x {} in the authors' units, which the paper quotes)",
                    args.rho_switch_authors
                ),
            ),
            (
                "run_index",
                "0 = ERM, 1 = 1-SAM (rho_1sam), 2 = ERM->1-SAM (rho_switch), 3 = 1-SAM (rho_1sam)->ERM"
                    .into(),
            ),
            (
                "panel",
                "0 = (a)/(b) x = iteration; 1 = (c) (train and test loss) segment w(lambda) = (1-lambda) w_GD + lambda w_GD->1SAM, x = lambda (w_GD = run 0's final iterate)".into(),
            ),
            (
                "diverged",
                if diverged.is_empty() {
                    "none".into()
                } else {
                    format!("{} (the run stops at the last finite iterate)", diverged.join("; "))
                },
            ),
        ],
        &["panel", "run_index", "x", "train_loss", "test_mse"],
        &rows,
    )?;
    Ok(results
        .iter()
        .enumerate()
        .map(|(k, r)| Outcome {
            name: RUNS[k],
            train: r.last().train_loss,
            test: r.last().test_metric.unwrap_or(f64::NAN),
            diverged_at: r.diverged_at,
        })
        .collect())
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig15",
        &args.out,
        || run_figure(&args),
        |finals| {
            for o in finals {
                if let Some(s) = o.diverged_at {
                    println!("{:>10}: DIVERGED at step {s} (stopped there)", o.name);
                }
                println!(
                    "{:>10}: final train loss {:.3e}, test MSE {:.4e}",
                    o.name, o.train, o.test
                );
            }
        },
    )
}
