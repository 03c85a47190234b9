//! The `samlab` command line: `run` an experiment spec, generate `data`. Every user error is
//! printed as one line naming the file and field, with exit code 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use samlab::data::RegressionData;
use samlab::error::Result;
use samlab::io::write_atomic;
use samlab::optim::trajectory::run_with;
use samlab::spec::Experiment;
use samlab::theory::Mode;
use serde_json::{Value, json};

mod verify;

#[derive(Parser)]
#[command(
    name = "samlab",
    version,
    about = "Sharpness-aware minimization, put to a numerical test"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the experiment of a TOML spec and report its trajectory.
    Run {
        /// The spec file (see README, "Experiment spec").
        spec: PathBuf,
        /// Write the JSON result to FILE, or print it with `-` (the summary then goes to stderr).
        #[arg(long, value_name = "FILE|-")]
        json: Option<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Check printed statements of the papers and print a verdict for each.
    Verify {
        /// Check ids or id prefixes (e.g. `af22.lem8`, `af22`); all when none is given.
        ids: Vec<String>,
        /// Many more instances and a longer tightness search.
        #[arg(long, conflicts_with = "quick")]
        full: bool,
        /// A few seconds a check (the default).
        #[arg(long)]
        quick: bool,
        /// Write the JSON report to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Print the theorem table as Markdown instead of the plain table.
        #[arg(long)]
        markdown: bool,
        /// Worker threads (the verdicts do not depend on it).
        #[arg(long)]
        threads: Option<usize>,
        /// Master seed of the instances.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Re-evaluate a saved instance (a counter-example file) instead of running checks.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["ids", "full", "json", "markdown"])]
        replay: Option<PathBuf>,
        /// Write the worst instance of every check to DIR/<id>.json (replayable).
        #[arg(long, value_name = "DIR")]
        save_worst: Option<PathBuf>,
    },
    /// Generate a data set.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Subcommand)]
enum DataCommand {
    /// af22 sparse regression for the diagonal network: xᵢ ~ N(0, I), β* ≥ 0 on κ coordinates,
    /// ‖β*‖ = 1, yᵢ = ⟨xᵢ, β*⟩; written as samlab-regression-v1 JSON.
    DiagNet {
        /// Number of features.
        #[arg(long, default_value_t = 30)]
        d: usize,
        /// Number of training examples.
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Number of non-zero coefficients of β*.
        #[arg(long, default_value_t = 3)]
        kappa: usize,
        /// Number of test examples.
        #[arg(long, default_value_t = 1000)]
        n_test: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Run { spec, json, quiet } => run(&spec, json.as_deref(), quiet),
        Command::Verify {
            ids,
            full,
            quick: _,
            json,
            markdown,
            threads,
            seed,
            replay,
            save_worst,
        } => match replay {
            Some(file) => verify::replay_file(&file),
            None => verify::verify(&verify::Args {
                ids,
                mode: if full { Mode::Full } else { Mode::Quick },
                json,
                markdown,
                threads,
                seed,
                save_worst,
            }),
        },
        Command::Data(DataCommand::DiagNet {
            d,
            n,
            kappa,
            n_test,
            seed,
            out,
        }) => data_diag_net(d, n, kappa, n_test, seed, &out),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn data_diag_net(
    d: usize,
    n: usize,
    kappa: usize,
    n_test: usize,
    seed: u64,
    out: &Path,
) -> Result<()> {
    let data = RegressionData::generate_sparse(d, n, kappa, n_test, seed)?;
    let source = format!(
        "samlab {} data diag-net --d {d} --n {n} --kappa {kappa} --n-test {n_test} --seed {seed}",
        env!("CARGO_PKG_VERSION")
    );
    data.save(out, &source)?;
    println!(
        "wrote {} (n = {n}, d = {d}, kappa = {kappa}, n_test = {n_test})",
        out.display()
    );
    Ok(())
}

fn run(spec_path: &Path, json_out: Option<&str>, quiet: bool) -> Result<()> {
    let exp = Experiment::load(spec_path)?;
    let p = exp.problem.as_ref();
    let total: usize = exp.config.phases.iter().map(|ph| ph.steps).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let res = run_with(p, &exp.init, &exp.config, |t, _, _| {
        if t % 4096 == 0 {
            bar.set_position(t as u64);
        }
    });
    bar.finish_and_clear();

    let metric = p.test_metric_name().to_string();
    let rename = |mut v: Value| {
        if let Some(m) = v.as_object_mut()
            && let Some(x) = m.remove("test_metric")
        {
            m.insert(metric.clone(), x);
        }
        v
    };
    let last = res.last();
    let mut fin = json!({
        "step": last.step,
        "train_loss": last.train_loss,
        "test_metric": last.test_metric,
        "grad_norm": last.grad_norm,
        "params": res.params,
    });
    if let Some((name, values)) = p.readout(&res.params) {
        fin[name] = json!(values);
    }
    let doc = json!({
        "format": "samlab-run-v1",
        "version": env!("CARGO_PKG_VERSION"),
        "spec": spec_path.display().to_string(),
        "problem": p.name(),
        "final": rename(fin),
        "steps": res.steps,
        "diverged_at": res.diverged_at,
        "grad_evals": res.grad_evals,
        "example_grads": res.example_grads,
        "trajectory": res.records.iter().map(|r| rename(json!(r))).collect::<Vec<_>>(),
    });

    let mut summary = format!(
        "{}: problem {} (p = {}, n = {}), {} phase(s), {} steps, {} gradient evaluations ({} per-example)\n",
        spec_path.display(),
        p.name(),
        p.dim(),
        p.n_examples(),
        exp.config.phases.len(),
        res.steps,
        res.grad_evals,
        res.example_grads
    );
    summary += &format!(
        "final: train_loss {:.6e}  {} {}  |grad| {:.3e}\n",
        last.train_loss,
        metric,
        last.test_metric.map_or("-".into(), |v| format!("{v:.6e}")),
        last.grad_norm
    );
    if let Some(t) = res.diverged_at {
        summary += &format!(
            "diverged at step {t} (iterate non-finite or beyond run.diverge_above = {:e}); reporting step {}\n",
            exp.config.diverge_above, res.steps
        );
    }
    match json_out {
        Some("-") => {
            eprint!("{summary}");
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("serializable")
            );
        }
        Some(file) => {
            let text = serde_json::to_string_pretty(&doc).expect("serializable");
            write_atomic(Path::new(file), text.as_bytes())?;
            print!("{summary}");
            println!("wrote {file}");
        }
        None => print!("{summary}"),
    }
    Ok(())
}
