//! `samlab train`: a deep network trained with one or more methods of the SAM family on an image
//! data set (feature `torch`); one CSV of per-epoch records per method and one figure comparing
//! them. Without the feature, the command explains how to enable it.

use std::path::PathBuf;

use samlab::error::Result;

/// Arguments of `samlab train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// The data: KIND:PATH with KIND one of mnist, cifar10, cifar100, digits (see README), or
    /// synthetic:C,H,W,CLASSES,N for random images (throughput measurements).
    #[arg(long)]
    data: String,
    /// Network: mlp, lenet, resnet18, resnet20, resnet56, wrn-D-K.
    #[arg(long, default_value = "mlp")]
    model: String,
    /// Methods, comma separated: sgd, sam, msam, 1sam, sam-star, ssam, ssam-star, random.
    #[arg(long, default_value = "sgd,sam,ssam")]
    methods: String,
    /// Chunk size m of `msam` (one ascent per m examples); the other methods ascend once per batch
    /// (`1sam`: once per example).
    #[arg(long)]
    m: Option<usize>,
    /// SAM radius ρ.
    #[arg(long, default_value_t = 0.05)]
    rho: f64,
    /// Switch every run to this method after --switch-epoch epochs (e.g. sam→sgd, af22's SAM→ERM);
    /// the files are then named METHOD-to-SWITCH.
    #[arg(long, requires = "switch_epoch")]
    switch_to: Option<String>,
    /// The epoch after which --switch-to takes over.
    #[arg(long, requires = "switch_to")]
    switch_epoch: Option<usize>,
    /// Move ρ linearly to this value over the run (default: constant ρ).
    #[arg(long)]
    rho_end: Option<f64>,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Cosine decay of the learning rate to 0.
    #[arg(long)]
    cosine: bool,
    /// Momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Weight decay.
    #[arg(long, default_value_t = 5e-4)]
    weight_decay: f64,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Micro-batch size for gradient accumulation.
    #[arg(long)]
    micro: Option<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Random flips and crops (3-channel images).
    #[arg(long)]
    augment: bool,
    /// Use at most this many training images (0 = all).
    #[arg(long, default_value_t = 0)]
    train_limit: usize,
    /// Use at most this many test images (0 = all).
    #[arg(long, default_value_t = 0)]
    test_limit: usize,
    /// Training examples for the per-epoch m-sharpness (0 = skip).
    #[arg(long, default_value_t = 1024)]
    sharpness_examples: usize,
    /// m of the m-sharpness.
    #[arg(long, default_value_t = 128)]
    sharpness_m: usize,
    /// Device: cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of every random stream.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Independent runs per method (seeds SEED, SEED+1, …): one CSV each, the figure shows their
    /// mean, summary.csv the final metrics with 95 % Student-t intervals.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// No per-epoch lines.
    #[arg(long)]
    quiet: bool,
}

/// Run `samlab train`.
#[cfg(not(feature = "torch"))]
pub fn train(_args: TrainArgs) -> Result<()> {
    Err(samlab::Error::invalid(
        "feature",
        "this samlab was built without the `torch` feature; see README \
         (\"Deep networks\") and rebuild with `cargo build --release --features torch`",
    ))
}

/// Run `samlab train`.
#[cfg(feature = "torch")]
pub fn train(args: TrainArgs) -> Result<()> {
    use samlab::Error;
    use samlab::gpu::{EPOCH_COLUMNS, Event, TrainConfig};
    use samlab::images::{ImageSet, Split};
    use samlab::plot::{Figure, Legend, Panel, Scale, Series, save, write_csv};

    let device = samlab::gpu::device(&args.device)?;
    let (kind, path) = args
        .data
        .split_once(':')
        .ok_or_else(|| Error::invalid("data", "expected KIND:PATH, e.g. digits:digits.csv.gz"))?;
    let split = if kind == "synthetic" {
        let v: Vec<usize> = path
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::invalid("data", "synthetic:C,H,W,CLASSES,N with integers"))?;
        let [c, h, w, k, n] = v[..] else {
            return Err(Error::invalid("data", "synthetic:C,H,W,CLASSES,N"));
        };
        if c * h * w * k * n == 0 || k > 256 {
            return Err(Error::invalid(
                "data",
                "synthetic sizes must be positive (classes ≤ 256)",
            ));
        }
        Split {
            train: ImageSet::synthetic(n, (c, h, w), k, args.seed),
            test: ImageSet::synthetic(n.div_ceil(5), (c, h, w), k, args.seed + 1),
        }
    } else {
        ImageSet::load(kind, std::path::Path::new(path), args.seed)?
    };
    let limit = |set: ImageSet, n: usize| if n == 0 { set } else { set.take(n) };
    let train_set = limit(split.train, args.train_limit);
    let test_set = limit(split.test, args.test_limit);
    let methods: Vec<&str> = args.methods.split(',').map(str::trim).collect();
    let configs = methods
        .iter()
        .map(|method| {
            let cfg = TrainConfig {
                model: args.model.clone(),
                method: method.to_string(),
                m: if *method == "msam" { args.m } else { None },
                lr: args.lr,
                cosine: args.cosine,
                rho: args.rho,
                rho_end: args.rho_end,
                momentum: args.momentum,
                weight_decay: args.weight_decay,
                batch: args.batch,
                micro: args.micro,
                epochs: args.epochs,
                augment: args.augment,
                sharpness_examples: args.sharpness_examples,
                sharpness_m: args.sharpness_m,
                sharpness_steps: 1,
                double: false,
                seed: args.seed,
                switch: args.switch_epoch.zip(args.switch_to.clone()),
            };
            cfg.validate().map(|_| cfg)
        })
        .collect::<Result<Vec<_>>>()?;
    if args.seeds == 0 {
        return Err(Error::invalid("seeds", "must be >= 1"));
    }
    let mut panels_data = Vec::new();
    let mut finals = Vec::new();
    for (method, cfg) in methods.iter().zip(&configs) {
        let label = match &args.switch_to {
            Some(to) => format!("{method}-to-{to}"),
            None => method.to_string(),
        };
        if !args.quiet {
            eprintln!(
                "{label}: {} on {} train / {} test images ({}×{}×{}), {device:?}",
                args.model,
                train_set.len(),
                test_set.len(),
                train_set.channels,
                train_set.height,
                train_set.width
            );
        }
        let mut runs = Vec::new();
        for s in 0..args.seeds {
            let cfg = &TrainConfig {
                seed: args.seed + s,
                ..cfg.clone()
            };
            let file = if args.seeds > 1 {
                format!("{label}-seed{}.csv", cfg.seed)
            } else {
                format!("{label}.csv")
            };
            let bar = if args.quiet {
                indicatif::ProgressBar::hidden()
            } else {
                indicatif::ProgressBar::new(0)
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}",
                )
                .expect("valid template"),
            );
            let run = samlab::gpu::train(
                cfg,
                &train_set,
                &test_set,
                device,
                |event| match event {
                    Event::Step { done, total } => {
                        bar.set_length(total as u64);
                        bar.set_position(done as u64);
                    }
                    Event::Epoch(r) if !args.quiet => {
                        bar.suspend(|| eprintln!(
                        "  epoch {:>3}  train loss {:.4} acc {:.4}  test loss {:.4} acc {:.4}  γ {:.3} (max {:.3})  sharpness {:.4}  {:.0} img/s",
                        r.epoch,
                        r.train_loss,
                        r.train_acc,
                        r.test_loss,
                        r.test_acc,
                        r.gamma_mean,
                        r.gamma_max,
                        r.sharpness,
                        r.images_per_s
                    ));
                        bar.set_message(format!("test acc {:.4}", r.test_acc));
                    }
                    Event::Epoch(_) => {}
                },
            )?;
            bar.finish_and_clear();
            let rows: Vec<Vec<f64>> = run.epochs.iter().map(|r| r.values().to_vec()).collect();
            let settings = vec![
                ("data", args.data.clone()),
                ("model", args.model.clone()),
                ("method", label.clone()),
                (
                    "config",
                    serde_json::to_string(cfg).expect("config serializes"),
                ),
                ("device", format!("{device:?}")),
            ];
            write_csv(&args.out.join(&file), &settings, &EPOCH_COLUMNS, &rows)?;
            runs.push(run.epochs);
        }
        panels_data.push((label.clone(), mean_records(&runs)));
        finals.push((label, runs));
    }
    let series = |f: &dyn Fn(&samlab::gpu::EpochRecord) -> f64, suffix: &str| -> Vec<Series> {
        panels_data
            .iter()
            .enumerate()
            .map(|(k, (m, recs))| {
                Series::line(
                    format!("{m}{suffix}"),
                    recs.iter().map(|r| r.epoch as f64).collect(),
                    recs.iter().map(f).collect(),
                )
                .with_color(k)
            })
            .collect()
    };
    let mut loss = series(&|r| r.train_loss, " train");
    loss.extend(
        series(&|r| r.test_loss, " test")
            .into_iter()
            .map(Series::as_points),
    );
    let mut acc = series(&|r| r.train_acc, " train");
    acc.extend(
        series(&|r| r.test_acc, " test")
            .into_iter()
            .map(Series::as_points),
    );
    let panel = |title: String, y: &str, series: Vec<Series>| {
        let mut p = Panel::new(title, "epoch", y);
        p.series = series;
        p
    };
    let fig = Figure::new(
        format!(
            "{} on {} — {}",
            args.model,
            kind,
            panels_data
                .iter()
                .map(|p| p.0.as_str())
                .collect::<Vec<_>>()
                .join(" vs ")
        ),
        vec![
            panel(
                "loss (line: train, points: test)".into(),
                "cross-entropy",
                loss,
            )
            .scales(Scale::Linear, Scale::Log),
            panel(
                "accuracy (line: train, points: test)".into(),
                "accuracy",
                acc,
            )
            .legend(Legend::LowerRight),
            panel(
                "γ_t = ‖g‖/‖g_asc‖, mean per epoch".into(),
                "γ",
                series(&|r| r.gamma_mean, ""),
            ),
            panel(
                format!("m-sharpness, m = {}", args.sharpness_m),
                "L(w+δ) − L(w)",
                series(&|r| r.sharpness, ""),
            ),
        ],
    );
    let fig = match args.switch_epoch {
        Some(k) => {
            let mut fig = fig;
            for p in fig.panels.iter_mut() {
                *p = std::mem::replace(p, Panel::new("", "", "")).vline("switch", k as f64 + 0.5);
            }
            fig
        }
        None => fig,
    };
    save(&fig, &args.out.join("train"))?;
    write_summary(&args.out.join("summary.csv"), &finals, args.quiet)?;
    if !args.quiet {
        eprintln!(
            "wrote {}: one CSV per method{}, summary.csv, train.{{png,svg}}",
            args.out.display(),
            if args.seeds > 1 { " and seed" } else { "" }
        );
    }
    Ok(())
}

/// The epoch-wise mean over seeds of every column.
#[cfg(feature = "torch")]
fn mean_records(runs: &[Vec<samlab::gpu::EpochRecord>]) -> Vec<samlab::gpu::EpochRecord> {
    let k = runs.len() as f64;
    (0..runs[0].len())
        .map(|e| {
            let mut v = [0.0; 11];
            for run in runs {
                for (acc, x) in v.iter_mut().zip(run[e].values()) {
                    *acc += x / k;
                }
            }
            let mut r = runs[0][e].clone();
            (r.train_loss, r.train_acc, r.test_loss, r.test_acc) = (v[1], v[2], v[3], v[4]);
            (r.gamma_mean, r.gamma_max, r.sharpness, r.images_per_s) = (v[5], v[6], v[7], v[8]);
            r
        })
        .collect()
}

/// summary.csv: per method, the final epoch's metrics over seeds as mean and 95 % half-width.
#[cfg(feature = "torch")]
fn write_summary(
    path: &std::path::Path,
    finals: &[(String, Vec<Vec<samlab::gpu::EpochRecord>>)],
    quiet: bool,
) -> Result<()> {
    use samlab::sweep::cell::mean_ci95;
    type Metric = (&'static str, fn(&samlab::gpu::EpochRecord) -> f64);
    let metrics: [Metric; 4] = [
        ("test_acc", |r| r.test_acc),
        ("test_loss", |r| r.test_loss),
        ("train_loss", |r| r.train_loss),
        ("sharpness", |r| r.sharpness),
    ];
    let mut text = format!(
        "# samlab {}\n# final epoch over seeds: mean and half-width of the 95 % Student-t interval\nmethod,seeds",
        env!("CARGO_PKG_VERSION")
    );
    for (m, _) in &metrics {
        text += &format!(",{m}_mean,{m}_ci95");
    }
    text.push('\n');
    for (label, runs) in finals {
        text += &format!("{label},{}", runs.len());
        let mut line = format!("{label:>16}");
        for (m, f) in &metrics {
            let xs: Vec<f64> = runs
                .iter()
                .map(|r| f(r.last().expect("an epoch")))
                .collect();
            let (mean, half) = mean_ci95(&xs);
            text += &format!(",{mean:?},{half:?}");
            line += &format!("  {m} {mean:.4} ± {half:.4}");
        }
        text.push('\n');
        if !quiet {
            eprintln!("{line}");
        }
    }
    samlab::io::write_atomic(path, text.as_bytes())
}
