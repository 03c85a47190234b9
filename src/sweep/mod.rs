//! Sweeps: a grid of experiments (the `[sweep]` table of a spec, [`grid`]) run in parallel with
//! rayon, one CSV row per finished cell ([`cell`]), sharded across processes and resumable after a
//! kill ([`store`]). A cell's result depends only on its own spec — never on the thread count, the
//! shard count or the order cells finish in — so the merged `cells.csv` of any split is the same
//! bytes as that of one uninterrupted run.
//!
//! ```no_run
//! use samlab::sweep::{Shard, ShardRun, SweepSpec, merge};
//! use std::path::Path;
//!
//! let spec = SweepSpec::load(Path::new("specs/af22_fig14_rho_sweep.toml"))?;
//! let run = ShardRun::open(&spec, "af22_fig14_rho_sweep.toml", Path::new("out"), Shard::ALL, true)?;
//! run.run(|| {})?;
//! merge(Path::new("out"))?;
//! # Ok::<(), samlab::Error>(())
//! ```

pub mod cell;
pub mod grid;
pub mod parquet;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, Result};
pub use grid::{Axis, SweepSpec};
use store::{Appender, FORMAT, read_rows, shard_files};
pub use store::{Manifest, Merged, Shard, merge};

/// The manifest is rewritten at most this often while cells finish (and always at the end).
const MANIFEST_EVERY: Duration = Duration::from_secs(2);

/// One shard of a sweep, opened in its output folder: the cells still to run, and the files the
/// finished ones go to.
pub struct ShardRun<'a> {
    spec: &'a SweepSpec,
    todo: Vec<usize>,
    manifest_path: PathBuf,
    out: Mutex<Output>,
}

/// The open output of a shard.
struct Output {
    cells: Appender,
    times: Appender,
    manifest: Manifest,
    written: Instant,
}

impl<'a> ShardRun<'a> {
    /// Open shard `shard` of `spec` in `dir` (created if missing); `spec_name` is recorded in the
    /// manifest. Without `resume`, a folder that already holds this shard is an error; with it,
    /// the finished rows are kept (a torn last line dropped), the manifest's spec hash must match,
    /// and only the missing cells will run. Every cell to run is validated here, before any runs.
    pub fn open(
        spec: &'a SweepSpec,
        spec_name: &str,
        dir: &Path,
        shard: Shard,
        resume: bool,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            file: dir.to_path_buf(),
            source,
        })?;
        if let Some(n) = shard_files(dir)?.keys().find(|&&n| n != shard.count) {
            return Err(Error::invalid(
                "out",
                format!(
                    "{} holds a sweep split into {n} shards; use the same split, or another folder",
                    dir.display()
                ),
            ));
        }
        let metric = cell::experiment(spec, 0)?
            .problem
            .test_metric_name()
            .to_string();
        let columns = cell::columns(spec, &metric);
        let header = columns.join(",");
        let manifest_path = shard.file(dir, "manifest", "json");
        let cells_path = shard.file(dir, "cells", "csv");
        let started = manifest_path.exists() || cells_path.exists();
        let data_files = spec.data_files()?;
        let here = format!("{}/{}", shard.index, shard.count);
        if started && !resume {
            return Err(Error::invalid(
                "out",
                format!(
                    "{} already holds shard {here}; continue it with --resume, or choose another folder",
                    dir.display()
                ),
            ));
        }
        let done = if started {
            check_resumable(spec, &data_files, &manifest_path, shard)?;
            if cells_path.exists() {
                read_rows(&cells_path, &header, shard, spec.len())?
            } else {
                Default::default()
            }
        } else {
            Default::default()
        };
        let todo: Vec<usize> = shard
            .cells(spec.len())
            .filter(|k| !done.contains_key(k))
            .collect();
        todo.par_iter()
            .try_for_each(|&k| cell::experiment(spec, k).map(drop))?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            spec: spec_name.into(),
            spec_hash: spec.hash(),
            seed: spec.seed(),
            cells: spec.len(),
            replicates: spec.replicates(),
            columns,
            shard,
            shard_cells: shard.cells(spec.len()).count(),
            completed: done.len(),
            canonical_spec: spec.canonical().into(),
            data_files,
        };
        manifest.write(&manifest_path)?;
        let out = Output {
            cells: Appender::open(&cells_path, &header)?,
            times: Appender::open(&shard.file(dir, "times", "csv"), "cell,seconds")?,
            manifest,
            written: Instant::now(),
        };
        Ok(ShardRun {
            spec,
            todo,
            manifest_path,
            out: Mutex::new(out),
        })
    }

    /// Cells of this shard still to run.
    pub fn todo(&self) -> usize {
        self.todo.len()
    }

    /// Cells of this shard already finished.
    pub fn done(&self) -> usize {
        self.lock().manifest.completed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.out.lock().expect("no writer panicked")
    }

    /// Run the missing cells in parallel (on the current rayon pool), appending each row as its
    /// cell finishes and calling `on_cell` after it; returns the final manifest.
    pub fn run(self, on_cell: impl Fn() + Sync) -> Result<Manifest> {
        self.todo.par_iter().try_for_each(|&k| -> Result<()> {
            let t0 = Instant::now();
            let outcomes = cell::run_cell(self.spec, k)?;
            let row = cell::row(self.spec, k, &outcomes);
            let seconds = t0.elapsed().as_secs_f64();
            let mut out = self.lock();
            out.cells.line(&row)?;
            out.times.line(&format!("{k},{seconds:.6}"))?;
            out.manifest.completed += 1;
            if out.written.elapsed() >= MANIFEST_EVERY {
                out.manifest.write(&self.manifest_path)?;
                out.written = Instant::now();
            }
            drop(out);
            on_cell();
            Ok(())
        })?;
        let out = self.out.into_inner().expect("no writer panicked");
        out.manifest.write(&self.manifest_path)?;
        Ok(out.manifest)
    }
}

/// A shard may resume when its manifest is of this samlab version, this spec, these data files
/// (`now`: their current hashes) and this shard.
fn check_resumable(
    spec: &SweepSpec,
    now: &BTreeMap<String, String>,
    manifest_path: &Path,
    shard: Shard,
) -> Result<()> {
    if !manifest_path.exists() {
        return Err(Error::invalid(
            "out",
            format!(
                "{} is missing: this is not a samlab sweep folder",
                manifest_path.display()
            ),
        ));
    }
    let m = Manifest::read(manifest_path)?;
    let bad = |field: &str, msg: String| Err(Error::invalid(field, msg).in_file(manifest_path));
    if m.spec_hash != spec.hash() {
        return bad(
            "spec_hash",
            format!(
                "the sweep here ran a spec with hash {}, this spec has hash {}: the spec changed \
                 since (restore it, or start a new sweep in another folder)",
                m.spec_hash,
                spec.hash()
            ),
        );
    }
    if let Some((path, hash)) = m
        .data_files
        .iter()
        .find(|(path, hash)| now.get(*path) != Some(*hash))
    {
        return bad(
            "data_files",
            format!(
                "data file {path} had hash {hash} when the sweep here ran and has {} now: it \
                 changed since (restore it, or start a new sweep in another folder)",
                now.get(path).map_or("none", String::as_str)
            ),
        );
    }
    if m.version != env!("CARGO_PKG_VERSION") {
        return bad(
            "version",
            format!(
                "the sweep here ran with samlab {}, this is {}; its rows may differ in the last bits",
                m.version,
                env!("CARGO_PKG_VERSION")
            ),
        );
    }
    if m.shard != shard {
        return bad(
            "shard",
            format!(
                "is {}/{}, expected {}/{}",
                m.shard.index, m.shard.count, shard.index, shard.count
            ),
        );
    }
    Ok(())
}
