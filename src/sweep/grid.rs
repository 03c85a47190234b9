//! The grid of a sweep: the `[sweep]` table of a spec, read into axes (a dotted path into the spec
//! and its list of values), the Cartesian product in a fixed order, and the spec of each cell —
//! the base spec with the cell's values put in, validated by the normal spec path
//! ([`Experiment::from_table`]). Also the canonical text of the spec and its hash, which tell a
//! resumed or merged sweep that it still runs the same spec.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::spec::{Experiment, in_spec_file, spec_error};

/// One axis of the grid: where in the spec its values go, and the values.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// A dotted path into the spec, list entries by index (`phase.0.rho`; `phase[0].rho` is read
    /// as the same path).
    pub path: String,
    /// The values, in order.
    pub values: Vec<Value>,
}

/// A spec with a `[sweep]` table: the base spec, the axes and the number of replicates per cell.
///
/// Cell `k` is the mixed-radix number whose digits index the axes, axes ordered by path (byte
/// order) and the last axis varying fastest.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    base: Table,
    dir: PathBuf,
    axes: Vec<Axis>,
    replicates: usize,
    len: usize,
    canonical: String,
    file: Option<PathBuf>,
}

impl SweepSpec {
    /// Read a spec file with a `[sweep]` table and check every axis value (see [`SweepSpec::parse`]).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut spec = Self::parse(&text, dir).map_err(|e| in_spec_file(e, path))?;
        spec.file = Some(path.to_path_buf());
        Ok(spec)
    }

    /// Parse spec text with a `[sweep]` table (relative data paths resolve against `dir`). Every
    /// value of every axis is put into the first cell and validated, so that a bad path, type or
    /// value is an error naming `sweep.<path>` before anything runs.
    pub fn parse(text: &str, dir: &Path) -> Result<Self> {
        let mut base: Table = toml::from_str(text).map_err(spec_error)?;
        let canonical = toml::to_string(&base).expect("a parsed TOML table serializes");
        let sweep = match base.remove("sweep") {
            Some(Value::Table(t)) => t,
            Some(_) => return Err(Error::invalid("sweep", "must be a table")),
            None => {
                return Err(Error::invalid(
                    "sweep",
                    "missing: a sweep spec needs a [sweep] table (see README, \"samlab sweep\")",
                ));
            }
        };
        let mut replicates = 1;
        let mut axes: Vec<Axis> = Vec::new();
        for (key, value) in sweep {
            if key == "replicates" {
                replicates = match value {
                    Value::Integer(k) if k >= 1 => k as usize,
                    other => {
                        return Err(Error::invalid(
                            "sweep.replicates",
                            format!("must be an integer >= 1, got {other}"),
                        ));
                    }
                };
                continue;
            }
            let path = normalize(&key)?;
            if axes.iter().any(|a| a.path == path) {
                return Err(Error::invalid(
                    format!("sweep.{key}"),
                    format!("the path `{path}` is given twice"),
                ));
            }
            let values = axis_values(&path, value)?;
            axes.push(Axis { path, values });
        }
        if axes.is_empty() {
            return Err(Error::invalid(
                "sweep",
                "no axis: give at least one `\"path\" = [values]`",
            ));
        }
        axes.sort_by(|a, b| a.path.cmp(&b.path));
        let len = axes.iter().try_fold(1usize, |n, a| {
            n.checked_mul(a.values.len())
                .ok_or_else(|| Error::invalid("sweep", "the grid has more cells than fit a usize"))
        })?;
        let spec = SweepSpec {
            base,
            dir: dir.to_path_buf(),
            axes,
            replicates,
            len,
            canonical,
            file: None,
        };
        spec.check_axes()?;
        Ok(spec)
    }

    /// Validate every axis value, the other axes at their first value.
    fn check_axes(&self) -> Result<()> {
        for (a, axis) in self.axes.iter().enumerate() {
            for (j, v) in axis.values.iter().enumerate() {
                let mut digits = vec![0; self.axes.len()];
                digits[a] = j;
                let field = format!("sweep.{}", axis.path);
                let mut table = self.base.clone();
                for (b, other) in self.axes.iter().enumerate() {
                    set(&mut table, &other.path, other.values[digits[b]].clone())
                        .map_err(|e| e.under("sweep"))?;
                }
                self.validate(table).map_err(|e| {
                    Error::invalid(
                        &field,
                        format!("value {j} ({}) gives {}", show(v), inner(&e)),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The axes, ordered by path.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Trajectories per cell (`sweep.replicates`, default 1).
    pub fn replicates(&self) -> usize {
        self.replicates
    }

    /// The number of cells (the product of the axis lengths).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a grid has at least one axis and every axis at least one value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The seed of the base spec (`run.seed`, default 0).
    pub fn seed(&self) -> u64 {
        self.base
            .get("run")
            .and_then(|r| r.get("seed"))
            .and_then(Value::as_integer)
            .map_or(0, |s| s as u64)
    }

    /// The spec as TOML with sorted keys and no comments: two specs that read the same have the
    /// same canonical text.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The 64-bit FNV-1a hash of [`SweepSpec::canonical`], as 16 hex digits.
    pub fn hash(&self) -> String {
        let h = crate::rng::label_index(&self.canonical);
        format!("{h:016x}")
    }

    /// The data files the grid reads — `problem.data` of the base spec and every value of a
    /// `problem.data` axis, as written in the spec — each with the FNV-1a hash of its bytes (16 hex
    /// digits), so that a resumed or merged sweep can tell that a data file changed under it.
    pub fn data_files(&self) -> Result<BTreeMap<String, String>> {
        let mut paths: Vec<&str> = Vec::new();
        if let Some(p) = self
            .base
            .get("problem")
            .and_then(|p| p.get("data"))
            .and_then(Value::as_str)
        {
            paths.push(p);
        }
        for axis in self.axes.iter().filter(|a| a.path == "problem.data") {
            paths.extend(axis.values.iter().filter_map(Value::as_str));
        }
        paths
            .into_iter()
            .map(|p| {
                let file = self.dir.join(p);
                let bytes = std::fs::read(&file).map_err(|source| Error::Read { file, source })?;
                Ok((p.to_string(), format!("{:016x}", crate::rng::fnv1a(&bytes))))
            })
            .collect()
    }

    /// The values of cell `k`, one per axis, in axis order.
    pub fn cell(&self, k: usize) -> Vec<&Value> {
        assert!(k < self.len, "cell {k} of a grid of {}", self.len);
        let mut rest = k;
        let mut out = vec![&self.axes[0].values[0]; self.axes.len()];
        for (a, axis) in self.axes.iter().enumerate().rev() {
            let n = axis.values.len();
            out[a] = &axis.values[rest % n];
            rest /= n;
        }
        out
    }

    /// The spec of cell `k`: the base spec with the cell's values put in.
    pub fn cell_table(&self, k: usize) -> Result<Table> {
        let mut table = self.base.clone();
        for (axis, v) in self.axes.iter().zip(self.cell(k)) {
            set(&mut table, &axis.path, v.clone()).map_err(|e| e.under("sweep"))?;
        }
        Ok(table)
    }

    /// The validated experiment of cell `k`; an error names the cell and its values.
    pub fn experiment(&self, k: usize) -> Result<Experiment> {
        let table = self.cell_table(k)?;
        self.validate(table).map_err(|e| {
            let values = self
                .axes
                .iter()
                .zip(self.cell(k))
                .map(|(a, v)| format!("{} = {}", a.path, show(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let e = Error::invalid("sweep", format!("cell {k} ({values}) gives {}", inner(&e)));
            match &self.file {
                Some(f) => e.in_file(f),
                None => e,
            }
        })
    }

    fn validate(&self, table: Table) -> Result<Experiment> {
        Experiment::from_table(table, &self.dir)
    }
}

/// The message of an error of a cell's spec, on one line and without the `<spec>` placeholder.
fn inner(e: &Error) -> String {
    let text = match e {
        Error::Parse { file, message, .. } if file.as_os_str() == "<spec>" => message.clone(),
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `phase[0].rho` → `phase.0.rho`; empty segments are an error.
fn normalize(key: &str) -> Result<String> {
    let path = key.replace('[', ".").replace(']', "");
    if path.split('.').any(str::is_empty) {
        return Err(Error::invalid(
            format!("sweep.{key}"),
            "not a dotted path into the spec (e.g. \"phase.0.rho\", \"run.seed\")",
        ));
    }
    Ok(path)
}

/// The values of one axis: a non-empty list, `{ linspace = [a, b, k] }` or
/// `{ logspace = [a, b, k] }` (k points from a to b, both included, evenly spaced in the value or
/// in its logarithm).
fn axis_values(path: &str, value: Value) -> Result<Vec<Value>> {
    let field = format!("sweep.{path}");
    let forms = "must be a list of values, { linspace = [a, b, k] } or { logspace = [a, b, k] }";
    match value {
        Value::Array(v) if !v.is_empty() => Ok(v),
        Value::Array(_) => Err(Error::invalid(field, "the list of values is empty")),
        Value::Table(t) if t.len() == 1 => {
            let (form, args) = t.into_iter().next().expect("one entry");
            let log = match form.as_str() {
                "linspace" => false,
                "logspace" => true,
                other => return Err(Error::invalid(field, format!("unknown `{other}`: {forms}"))),
            };
            let field = format!("{field}.{form}");
            let (a, b, k) = range_args(&field, &args)?;
            if log && !(a > 0.0 && b > 0.0) {
                return Err(Error::invalid(
                    field,
                    format!("needs a, b > 0, got {a:?}, {b:?}"),
                ));
            }
            Ok(spaced(a, b, k, log).into_iter().map(Value::Float).collect())
        }
        _ => Err(Error::invalid(field, forms)),
    }
}

fn range_args(field: &str, args: &Value) -> Result<(f64, f64, usize)> {
    let bad = || {
        Error::invalid(
            field,
            "must be [a, b, k]: two finite numbers and a count k >= 1",
        )
    };
    let v = args.as_array().filter(|v| v.len() == 3).ok_or_else(bad)?;
    let num = |x: &Value| match x {
        Value::Float(f) if f.is_finite() => Ok(*f),
        Value::Integer(i) => Ok(*i as f64),
        _ => Err(bad()),
    };
    let k = match v[2] {
        Value::Integer(k) if k >= 1 => k as usize,
        _ => return Err(bad()),
    };
    Ok((num(&v[0])?, num(&v[1])?, k))
}

/// k points from a to b (both exactly), evenly spaced in x or, for `log`, in ln x.
pub fn spaced(a: f64, b: f64, k: usize, log: bool) -> Vec<f64> {
    let (lo, hi) = if log { (a.ln(), b.ln()) } else { (a, b) };
    (0..k)
        .map(|i| {
            if i == 0 {
                a
            } else if i == k - 1 {
                b
            } else {
                let x = lo + (hi - lo) * (i as f64 / (k - 1) as f64);
                if log { x.exp() } else { x }
            }
        })
        .collect()
}

/// Put `value` at the dotted `path` of `table`; missing tables on the way are created, list
/// indices must exist.
fn set(table: &mut Table, path: &str, value: Value) -> Result<()> {
    let segs: Vec<&str> = path.split('.').collect();
    let (first, rest) = segs.split_first().expect("a path has a segment");
    if rest.is_empty() {
        table.insert((*first).to_string(), value);
        return Ok(());
    }
    let child = table
        .entry(*first)
        .or_insert_with(|| Value::Table(Table::new()));
    set_in(child, path, first.len(), rest, value)
}

/// [`set`] below the first `done` bytes of `path`.
fn set_in(node: &mut Value, path: &str, done: usize, segs: &[&str], value: Value) -> Result<()> {
    let (seg, rest) = segs.split_first().expect("a path has a segment");
    let here = &path[..done];
    let slot = match node {
        Value::Table(t) => {
            if rest.is_empty() {
                t.insert((*seg).to_string(), value);
                return Ok(());
            }
            t.entry(*seg).or_insert_with(|| Value::Table(Table::new()))
        }
        Value::Array(a) => {
            let n = a.len();
            let i: usize = seg.parse().map_err(|_| {
                Error::invalid(
                    path,
                    format!("`{here}` is a list: expected an index, got `{seg}`"),
                )
            })?;
            let slot = a.get_mut(i).ok_or_else(|| {
                Error::invalid(
                    path,
                    format!("`{here}` has {n} entries, index {i} is out of range"),
                )
            })?;
            if rest.is_empty() {
                *slot = value;
                return Ok(());
            }
            slot
        }
        other => {
            return Err(Error::invalid(
                path,
                format!("`{here}` is a {}, not a table or a list", other.type_str()),
            ));
        }
    };
    set_in(slot, path, done + 1 + seg.len(), rest, value)
}

/// A value as it appears in messages and CSV cells: numbers in shortest round-trip form, strings
/// bare, anything else as inline TOML.
pub fn show(v: &Value) -> String {
    match v {
        Value::Float(f) => format!("{f:?}"),
        Value::Integer(i) => i.to_string(),
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}
