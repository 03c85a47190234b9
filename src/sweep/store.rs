//! The files of a sweep in its output folder. Shard i of N owns `cells-<i>-of-<N>.csv` (a header,
//! then one row per finished cell, appended and flushed as each cell finishes, in finishing
//! order), `times-<i>-of-<N>.csv` (`cell,seconds`: wall times, kept apart so that results compare
//! bit-for-bit) and `manifest-<i>-of-<N>.json` (written atomically). Reading a shard back drops a
//! torn last line; merging checks that every shard is complete and writes `cells.csv` and
//! `times.csv` sorted by cell index.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;

/// The format tag of a sweep manifest.
pub const FORMAT: &str = "samlab-sweep-v1";

/// Which part of the grid a process runs: cell k belongs to shard k mod `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parse `i/N` (0 ≤ i < N).
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = |m: &str| Error::invalid("shard", format!("`{s}`: {m}"));
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("expected i/N, e.g. 0/4"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("i is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 || index >= count {
            return Err(bad("needs 0 <= i < N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether cell `k` belongs to this shard.
    pub fn owns(&self, k: usize) -> bool {
        k % self.count == self.index
    }

    /// The cells of this shard in a grid of `len` cells, in index order.
    pub fn cells(&self, len: usize) -> impl Iterator<Item = usize> {
        (self.index..len).step_by(self.count)
    }

    /// `dir/<stem>-<i>-of-<N>.<ext>`.
    pub fn file(&self, dir: &Path, stem: &str, ext: &str) -> PathBuf {
        dir.join(format!("{stem}-{}-of-{}.{ext}", self.index, self.count))
    }
}

/// What a shard records about itself (`manifest-<i>-of-<N>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The samlab version that ran the shard.
    pub version: String,
    /// The spec file as given on the command line (informational).
    pub spec: String,
    /// FNV-1a hash of the canonical spec text.
    pub spec_hash: String,
    /// `run.seed` of the base spec.
    pub seed: u64,
    /// Cells in the whole grid.
    pub cells: usize,
    /// Trajectories per cell.
    pub replicates: usize,
    /// The CSV columns.
    pub columns: Vec<String>,
    /// This shard.
    pub shard: Shard,
    /// Cells of this shard.
    pub shard_cells: usize,
    /// Cells of this shard finished so far.
    pub completed: usize,
    /// The canonical spec text (sorted keys, no comments).
    pub canonical_spec: String,
    /// The data files the spec names, each with the FNV-1a hash of its bytes
    /// ([`super::SweepSpec::data_files`]).
    #[serde(default)]
    pub data_files: BTreeMap<String, String>,
}

impl Manifest {
    /// Whether every cell of the shard is finished.
    pub fn complete(&self) -> bool {
        self.completed == self.shard_cells
    }

    /// Read a manifest.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = read(path)?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| Error::Parse {
            file: path.to_path_buf(),
            format: "samlab-sweep-v1 manifest (JSON)",
            message: e.to_string(),
        })?;
        if m.format != FORMAT {
            return Err(
                Error::invalid("format", format!("expected {FORMAT}, got {}", m.format))
                    .in_file(path),
            );
        }
        Ok(m)
    }

    /// Write the manifest atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("serializable");
        write_atomic(path, text.as_bytes())
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        file: path.to_path_buf(),
        source,
    }
}

/// The complete lines of a file written line by line, without their line ends; a last line with
/// no line end (a write cut short) is not among them. Also returns the length in bytes of the
/// complete lines.
fn complete_lines(text: &str) -> (Vec<&str>, usize) {
    let end = text.rfind('\n').map_or(0, |i| i + 1);
    (text[..end].lines().collect(), end)
}

/// The rows of a shard's CSV by cell index, checked against `header` and the shard; a torn last
/// line is dropped.
pub fn read_rows(
    path: &Path,
    header: &str,
    shard: Shard,
    len: usize,
) -> Result<BTreeMap<usize, String>> {
    let text = read(path)?;
    let (lines, _) = complete_lines(&text);
    let mut rows = BTreeMap::new();
    let Some((first, rest)) = lines.split_first() else {
        return Ok(rows);
    };
    if *first != header {
        return Err(
            Error::invalid("header", format!("is `{first}`, expected `{header}`")).in_file(path),
        );
    }
    for (j, line) in rest.iter().enumerate() {
        let bad = |m: String| Error::invalid(format!("line {}", j + 2), m).in_file(path);
        let k: usize = line
            .split(',')
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("does not start with a cell index".into()))?;
        if k >= len || !shard.owns(k) {
            return Err(bad(format!(
                "cell {k} is not a cell of shard {}/{} of a grid of {len}",
                shard.index, shard.count
            )));
        }
        if rows.insert(k, (*line).to_string()).is_some() {
            return Err(bad(format!("cell {k} appears twice")));
        }
    }
    Ok(rows)
}

/// A file that rows are appended to, each flushed as it is written.
pub struct Appender {
    file: File,
    path: PathBuf,
}

impl Appender {
    /// Open `path` for appending: a torn last line is cut off, and a file without a complete
    /// first line starts over with `header`.
    pub fn open(path: &Path, header: &str) -> Result<Appender> {
        let err = write_err(path);
        let text = if path.exists() {
            read(path)?
        } else {
            String::new()
        };
        let (lines, end) = complete_lines(&text);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(&err)?;
        let mut a = Appender {
            file,
            path: path.to_path_buf(),
        };
        if lines.is_empty() {
            a.file.set_len(0).map_err(&err)?;
            a.line(header)?;
        } else if end < text.len() {
            a.file.set_len(end as u64).map_err(&err)?;
        }
        Ok(a)
    }

    /// Append one line (the line end is added) in one write.
    pub fn line(&mut self, line: &str) -> Result<()> {
        let err = write_err(&self.path);
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .map_err(&err)?;
        self.file.flush().map_err(err)
    }
}

/// The shard counts N of the `cells-<i>-of-<N>.csv` files in `dir`, with their shard indices.
pub fn shard_files(dir: &Path) -> Result<BTreeMap<usize, Vec<usize>>> {
    let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        file: dir.to_path_buf(),
        source,
    })?;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("cells-"))
            .and_then(|n| n.strip_suffix(".csv"))
        else {
            continue;
        };
        if let Some((i, n)) = rest.split_once("-of-")
            && let (Ok(i), Ok(n)) = (i.parse(), n.parse())
        {
            out.entry(n).or_default().push(i);
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    Ok(out)
}

/// What [`merge`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// Number of shards merged.
    pub shards: usize,
    /// Number of cells (rows of `cells.csv`).
    pub cells: usize,
    /// Total wall time of the cells, in seconds (from the times files).
    pub seconds: f64,
    /// The merged file.
    pub path: PathBuf,
}

/// Check that every shard in `dir` is complete and of the same spec, then write `dir/cells.csv`
/// (all rows, sorted by cell index: the same bytes for any number of shards) and `dir/times.csv`.
pub fn merge(dir: &Path) -> Result<Merged> {
    let splits = shard_files(dir)?;
    let (count, found) = match splits.len() {
        0 => {
            return Err(Error::invalid(
                "out",
                format!("{} holds no cells-<i>-of-<N>.csv", dir.display()),
            ));
        }
        1 => splits.into_iter().next().expect("one split"),
        _ => {
            let ns: Vec<String> = splits.keys().map(|n| n.to_string()).collect();
            return Err(Error::invalid(
                "out",
                format!(
                    "{} mixes sweeps split into {} shards; keep one split per folder",
                    dir.display(),
                    ns.join(" and ")
                ),
            ));
        }
    };
    let mut first: Option<Manifest> = None;
    let mut rows = BTreeMap::new();
    let mut times = BTreeMap::new();
    for index in 0..count {
        let shard = Shard { index, count };
        if !found.contains(&index) {
            return Err(Error::invalid(
                "shard",
                format!("{index}/{count} has no output in {}; run it", dir.display()),
            ));
        }
        let mpath = shard.file(dir, "manifest", "json");
        let m = Manifest::read(&mpath)?;
        if let Some(f) = &first
            && f.data_files != m.data_files
        {
            return Err(Error::invalid(
                "data_files",
                format!(
                    "shard {index}/{count} read data files {:?} but shard 0/{count} read {:?}: a \
                     data file changed between the shards",
                    m.data_files, f.data_files
                ),
            )
            .in_file(mpath));
        }
        if let Some(f) = &first
            && (f.spec_hash != m.spec_hash || f.columns != m.columns || f.cells != m.cells)
        {
            return Err(Error::invalid(
                "spec_hash",
                format!(
                    "shard {index}/{count} ran spec {} but shard 0/{count} ran {}",
                    m.spec_hash, f.spec_hash
                ),
            )
            .in_file(mpath));
        }
        if m.shard != shard || !m.complete() {
            return Err(Error::invalid(
                "shard",
                format!(
                    "{index}/{count} is not complete ({} of {} cells); rerun it with --resume",
                    m.completed, m.shard_cells
                ),
            ));
        }
        let part = read_rows(
            &shard.file(dir, "cells", "csv"),
            &m.columns.join(","),
            shard,
            m.cells,
        )?;
        if part.len() != m.shard_cells {
            return Err(Error::invalid(
                "shard",
                format!(
                    "{index}/{count}: the manifest counts {} cells, the CSV holds {}",
                    m.shard_cells,
                    part.len()
                ),
            ));
        }
        rows.extend(part);
        let tpath = shard.file(dir, "times", "csv");
        if tpath.exists() {
            let text = read(&tpath)?;
            for line in complete_lines(&text).0.iter().skip(1) {
                if let Some((k, s)) = line.split_once(',')
                    && let (Ok(k), Ok(s)) = (k.parse::<usize>(), s.parse::<f64>())
                {
                    times.insert(k, (s, line.to_string()));
                }
            }
        }
        first.get_or_insert(m);
    }
    let m = first.expect("at least one shard");
    debug_assert_eq!(rows.len(), m.cells);
    let mut out = m.columns.join(",");
    out.push('\n');
    for r in rows.values() {
        out.push_str(r);
        out.push('\n');
    }
    let path = dir.join("cells.csv");
    write_atomic(&path, out.as_bytes())?;
    let mut t = String::from("cell,seconds\n");
    for (_, line) in times.values() {
        t.push_str(line);
        t.push('\n');
    }
    write_atomic(&dir.join("times.csv"), t.as_bytes())?;
    Ok(Merged {
        shards: count,
        cells: rows.len(),
        seconds: times.values().map(|(s, _)| s).sum(),
        path,
    })
}
