//! The `samlab` command line: `run` an experiment spec, `sweep` a grid of them, `verify` the papers'
//! statements, `train` a deep network (feature `torch`), generate `data`. Every user error is
//! printed as one line naming the file and field, with exit code 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use samlab::data::RegressionData;
use samlab::error::{Error, Result};
use samlab::io::write_atomic;
use samlab::optim::trajectory::run_with;
use samlab::spec::Experiment;
use samlab::sweep::{Shard, ShardRun, SweepSpec};
use samlab::theory::Mode;
use serde_json::{Value, json};

mod train;
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
    /// Run the grid of a spec's [sweep] table: one CSV row per cell, sharded and resumable.
    Sweep(SweepArgs),
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
        /// Write the JSON report to FILE (`-`: print it to stdout instead of the table).
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
    /// Train a deep network with methods of the SAM family (feature `torch`).
    Train(Box<train::TrainArgs>),
    /// Generate a data set.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// The spec file with a [sweep] table (see README, "samlab sweep").
    #[arg(required = true)]
    spec: Option<PathBuf>,
    /// The output folder (created if missing).
    #[arg(long, value_name = "DIR", required = true)]
    out: Option<PathBuf>,
    /// Run only shard i of N: the cells k with k mod N = i.
    #[arg(long, value_name = "i/N", default_value = "0/1")]
    shard: String,
    /// Keep the finished cells of this shard in DIR and run only the missing ones.
    #[arg(long)]
    resume: bool,
    /// Worker threads (the results do not depend on it); default: all cores or RAYON_NUM_THREADS.
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also write the shard's rows as Parquet (cells-<i>-of-<N>.parquet, and cells.parquet after
    /// a merge) once the shard is complete.
    #[arg(long)]
    parquet: bool,
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Check that every shard in DIR is complete and write DIR/cells.csv sorted by cell index.
    Merge {
        /// The output folder of the shards.
        dir: PathBuf,
        /// Also write DIR/cells.parquet (the same table).
        #[arg(long)]
        parquet: bool,
    },
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
        Command::Sweep(args) => sweep(args),
        Command::Train(args) => train::train(*args),
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

fn sweep(args: SweepArgs) -> Result<()> {
    if let Some(SweepCommand::Merge { dir, parquet }) = args.command {
        return merge(&dir, parquet);
    }
    let (spec_path, dir) = match (args.spec, args.out) {
        (Some(s), Some(d)) => (s, d),
        _ => unreachable!("clap requires SPEC and --out without a subcommand"),
    };
    let shard = Shard::parse(&args.shard)?;
    let spec = SweepSpec::load(&spec_path)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::invalid("threads", e.to_string()))?;
    let t0 = Instant::now();
    let name = spec_path.display().to_string();
    let m = pool.install(|| -> Result<_> {
        let run = ShardRun::open(&spec, &name, &dir, shard, args.resume)?;
        let (todo, done) = (run.todo(), run.done());
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new((todo + done) as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} cells  {per_sec}  eta {eta}")
                .expect("valid template"),
        );
        bar.set_position(done as u64);
        bar.reset_eta();
        let m = run.run(|| bar.inc(1))?;
        bar.finish_and_clear();
        println!(
            "{name}: grid of {} cells x {} replicate(s); shard {}/{}: {} cells, {todo} run now, {done} already done ({:.2} s)",
            m.cells,
            m.replicates,
            shard.index,
            shard.count,
            m.shard_cells,
            t0.elapsed().as_secs_f64()
        );
        println!("wrote {}", shard.file(&dir, "cells", "csv").display());
        Ok(m)
    })?;
    if args.parquet && m.complete() {
        write_parquet(
            &shard.file(&dir, "cells", "csv"),
            &shard.file(&dir, "cells", "parquet"),
        )?;
    }
    if shard.count == 1 && m.complete() {
        merge(&dir, args.parquet)?;
    }
    Ok(())
}

fn merge(dir: &Path, parquet: bool) -> Result<()> {
    let m = samlab::sweep::merge(dir)?;
    println!(
        "merged {} shard(s): {} cells ({:.2} s of cell time) into {}",
        m.shards,
        m.cells,
        m.seconds,
        m.path.display()
    );
    if parquet {
        write_parquet(&m.path, &m.path.with_extension("parquet"))?;
    }
    Ok(())
}

fn write_parquet(csv: &Path, out: &Path) -> Result<()> {
    let rows = samlab::sweep::parquet::csv_to_parquet(csv, out)?;
    println!("wrote {} ({rows} rows)", out.display());
    Ok(())
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
