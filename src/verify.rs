//! `samlab verify`: runs the registered checks with a progress bar, prints one row per check (id,
//! statement, verdict, LHS, RHS, ratio, exact/measured constants, time) or the Markdown theorem
//! table, writes the JSON report, and replays saved instances bit-for-bit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use samlab::error::{Error, Result};
use samlab::io::write_atomic;
use samlab::theory::{self, Ctx, Mode, Provenance, Saved, Verdict};
use serde_json::json;

/// Arguments of `samlab verify`.
pub struct Args {
    pub ids: Vec<String>,
    pub mode: Mode,
    pub json: Option<PathBuf>,
    pub markdown: bool,
    pub threads: Option<usize>,
    pub seed: u64,
    pub save_worst: Option<PathBuf>,
}

fn fmt(v: f64) -> String {
    format!("{v:.4e}")
}

fn constants(v: &Verdict) -> String {
    let list = |p: Provenance| {
        v.constants
            .iter()
            .filter(|c| c.provenance == p)
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (e, m) = (list(Provenance::Exact), list(Provenance::Measured));
    match (e.is_empty(), m.is_empty()) {
        (false, false) => format!("exact {e}; measured {m}"),
        (false, true) => format!("exact {e}"),
        (true, false) => format!("measured {m}"),
        (true, true) => "-".into(),
    }
}

fn status(v: &Verdict) -> &'static str {
    match v.verdict {
        theory::Status::Holds => "Holds",
        theory::Status::Violated => "Violated",
        theory::Status::Inconclusive => "Inconclusive",
    }
}

/// The theorem table in Markdown (README's table is this output).
pub fn markdown(verdicts: &[Verdict]) -> String {
    let mut s = String::from(
        "| id | statement | verdict | best ratio | constants | finding |\n|---|---|---|---:|---|---|\n",
    );
    for v in verdicts {
        s += &format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            v.id,
            v.statement.replace('|', "\\|"),
            status(v),
            v.ratio.map_or("-".into(), |r| format!("{r:.4}")),
            constants(v),
            v.finding
                .as_deref()
                .map_or("-".into(), |f| format!("[FINDINGS.md]({f})")),
        );
    }
    s
}

pub fn verify(args: &Args) -> Result<()> {
    let checks = theory::select(&args.ids)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::invalid("threads", e.to_string()))?;
    let ctx = Ctx {
        mode: args.mode,
        seed: args.seed,
    };
    let bar = ProgressBar::new(checks.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} checks  {msg}").expect("valid template"),
    );
    let t0 = Instant::now();
    let mut verdicts = Vec::with_capacity(checks.len());
    for c in &checks {
        bar.set_message(c.id());
        verdicts.push(pool.install(|| theory::run_check(c.as_ref(), &ctx)));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let json_to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
    if json_to_stdout {
        // The JSON report alone on stdout (below).
    } else if args.markdown {
        print!("{}", markdown(&verdicts));
    } else {
        println!(
            "{:<24} {:<13} {:>11} {:>11} {:>8} {:>6} {:>7}  {:<26} statement",
            "id", "verdict", "lhs", "rhs", "ratio", "inst", "time", "constants"
        );
        for v in &verdicts {
            println!(
                "{:<24} {:<13} {:>11} {:>11} {:>8} {:>6} {:>6.2}s  {:<26} {}",
                v.id,
                status(v),
                fmt(v.lhs),
                fmt(v.rhs),
                v.ratio.map_or("-".into(), |r| format!("{r:.4}")),
                v.instances,
                v.seconds,
                constants(v),
                v.statement
            );
        }
        println!(
            "{} checks in {:.1}s ({} mode, seed {}): {} hold, {} violated, {} inconclusive",
            verdicts.len(),
            t0.elapsed().as_secs_f64(),
            if args.mode == Mode::Full {
                "full"
            } else {
                "quick"
            },
            args.seed,
            verdicts
                .iter()
                .filter(|v| v.verdict == theory::Status::Holds)
                .count(),
            verdicts
                .iter()
                .filter(|v| v.verdict == theory::Status::Violated)
                .count(),
            verdicts
                .iter()
                .filter(|v| v.verdict == theory::Status::Inconclusive)
                .count(),
        );
    }
    if let Some(file) = &args.json {
        let doc = json!({ "format": "samlab-verify-v1", "version": env!("CARGO_PKG_VERSION"), "checks": verdicts });
        let text = serde_json::to_string_pretty(&doc).expect("serializable");
        if json_to_stdout {
            println!("{text}");
        } else {
            write_atomic(file, text.as_bytes())?;
        }
    }
    if let Some(dir) = &args.save_worst {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            file: dir.clone(),
            source,
        })?;
        for (v, c) in verdicts.iter().zip(&checks) {
            let saved = Saved {
                id: v.id.clone(),
                instance: v.worst.clone(),
                observation: c.evaluate(&v.worst),
            };
            let text = serde_json::to_string_pretty(&saved).expect("serializable");
            write_atomic(&dir.join(format!("{}.json", v.id)), text.as_bytes())?;
        }
    }
    Ok(())
}

pub fn replay_file(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
        file: file.into(),
        source,
    })?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| Error::Parse {
        file: file.into(),
        format: "saved instance (JSON)",
        message: e.to_string(),
    })?;
    let (o, s) = theory::replay(&saved).map_err(|e| e.in_file(file))?;
    let same = o == saved.observation;
    println!(
        "{}: {:?}  lhs {}  rhs {}  ({})",
        saved.id,
        s,
        fmt(o.lhs),
        fmt(o.rhs),
        o.note
    );
    println!(
        "replay {} the saved observation bit-for-bit",
        if same {
            "reproduces"
        } else {
            "DOES NOT reproduce"
        }
    );
    if same {
        Ok(())
    } else {
        Err(Error::invalid(
            "observation",
            "the replayed observation differs from the saved one",
        ))
    }
}
