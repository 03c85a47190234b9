//! The `samlab-regression-v1` data format (JSON): loading with validation that names the field,
//! atomic saving, and the generator of the af22 sparse-regression data (`samlab data diag-net`).

use std::path::Path;

use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::rng::stream;

/// The format tag of a regression data file.
pub const REGRESSION_FORMAT: &str = "samlab-regression-v1";

/// A regression data set: training design `x` (n×d), targets `y`, optional test set and truth.
#[derive(Clone, Debug)]
pub struct RegressionData {
    /// Name of the data set.
    pub name: String,
    /// Training design, n×d.
    pub x: Array2<f64>,
    /// Training targets, n.
    pub y: Vec<f64>,
    /// Test design, n_test×d (may have 0 rows).
    pub x_test: Array2<f64>,
    /// Test targets, n_test.
    pub y_test: Vec<f64>,
    /// The planted coefficients, when known.
    pub beta_star: Option<Vec<f64>>,
}

#[derive(Deserialize, Serialize)]
struct RegressionFile {
    format: String,
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    #[serde(default)]
    x_test: Vec<Vec<f64>>,
    #[serde(default)]
    y_test: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    beta_star: Option<Vec<f64>>,
}

/// Validate rows of length `d` (finite entries) into an n×d matrix; errors name `field[i][j]`.
pub(crate) fn matrix(field: &str, rows: &[Vec<f64>], d: usize) -> Result<Array2<f64>> {
    let mut flat = Vec::with_capacity(rows.len() * d);
    for (i, row) in rows.iter().enumerate() {
        if row.len() != d {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!("has {} entries, expected d = {d}", row.len()),
            ));
        }
        for (j, v) in row.iter().enumerate() {
            crate::error::finite(&format!("{field}[{i}][{j}]"), *v)?;
        }
        flat.extend_from_slice(row);
    }
    Ok(Array2::from_shape_vec((rows.len(), d), flat).expect("shape checked"))
}

fn vector(field: &str, v: &[f64], len: usize, what: &str) -> Result<()> {
    if v.len() != len {
        return Err(Error::invalid(
            field,
            format!("has {} entries, expected {what} = {len}", v.len()),
        ));
    }
    for (i, x) in v.iter().enumerate() {
        crate::error::finite(&format!("{field}[{i}]"), *x)?;
    }
    Ok(())
}

impl RegressionData {
    /// Load and validate a `samlab-regression-v1` file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            Error::Parse {
                file,
                format,
                message,
            } if file.as_os_str() == "<data>" => Error::Parse {
                file: path.to_path_buf(),
                format,
                message,
            },
            other => other.in_file(path),
        })
    }

    /// Parse and validate the JSON text of a `samlab-regression-v1` file.
    pub fn parse(text: &str) -> Result<Self> {
        let f: RegressionFile = serde_json::from_str(text).map_err(|e| Error::Parse {
            file: "<data>".into(),
            format: "samlab-regression-v1 data (JSON)",
            message: e.to_string(),
        })?;
        if f.format != REGRESSION_FORMAT {
            return Err(Error::invalid(
                "format",
                format!("is {:?}, expected {REGRESSION_FORMAT:?}", f.format),
            ));
        }
        let n = f.x.len();
        if n == 0 {
            return Err(Error::invalid("x", "has no rows (n = 0)"));
        }
        let d = f.x[0].len();
        if d == 0 {
            return Err(Error::invalid("x[0]", "has no columns (d = 0)"));
        }
        let x = matrix("x", &f.x, d)?;
        vector("y", &f.y, n, "n (rows of x)")?;
        let x_test = matrix("x_test", &f.x_test, d)?;
        vector("y_test", &f.y_test, x_test.nrows(), "rows of x_test")?;
        if let Some(b) = &f.beta_star {
            vector("beta_star", b, d, "d (columns of x)")?;
        }
        Ok(RegressionData {
            name: f.name,
            x,
            y: f.y,
            x_test,
            y_test: f.y_test,
            beta_star: f.beta_star,
        })
    }

    /// Number of training examples.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features.
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// Write the data set atomically as `samlab-regression-v1` JSON.
    pub fn save(&self, path: &Path, source: &str) -> Result<()> {
        let rows = |m: &Array2<f64>| m.rows().into_iter().map(|r| r.to_vec()).collect();
        let f = RegressionFile {
            format: REGRESSION_FORMAT.into(),
            name: self.name.clone(),
            source: Some(source.into()),
            x: rows(&self.x),
            y: self.y.clone(),
            x_test: rows(&self.x_test),
            y_test: self.y_test.clone(),
            beta_star: self.beta_star.clone(),
        };
        let text = serde_json::to_string(&f).expect("serializable");
        write_atomic(path, text.as_bytes())
    }

    /// The af22 sparse-regression generator: xᵢ ~ N(0, I_d), β* ≥ 0 on its first κ coordinates
    /// (|N(0,1)| entries) with ‖β*‖₂ = 1, yᵢ = ⟨xᵢ, β*⟩ (no noise); the same for the test set.
    /// Deterministic from `seed` (stream 0 of the seed).
    pub fn generate_sparse(
        d: usize,
        n: usize,
        kappa: usize,
        n_test: usize,
        seed: u64,
    ) -> Result<Self> {
        if d == 0 {
            return Err(Error::invalid("d", "must be >= 1"));
        }
        if n == 0 {
            return Err(Error::invalid("n", "must be >= 1"));
        }
        if kappa == 0 || kappa > d {
            return Err(Error::invalid(
                "kappa",
                format!("must be in 1..={d} (d), got {kappa}"),
            ));
        }
        let mut rng = stream(seed, 0);
        let mut gauss = || -> f64 { StandardNormal.sample(&mut rng) };
        let x = Array2::from_shape_simple_fn((n, d), &mut gauss);
        let x_test = Array2::from_shape_simple_fn((n_test, d), &mut gauss);
        let mut beta = vec![0.0; d];
        for b in beta.iter_mut().take(kappa) {
            *b = gauss().abs();
        }
        let nb = crate::problem::norm(&beta);
        beta.iter_mut().for_each(|b| *b /= nb);
        let y = x.dot(&ndarray::ArrayView1::from(&beta)).to_vec();
        let y_test = x_test.dot(&ndarray::ArrayView1::from(&beta)).to_vec();
        Ok(RegressionData {
            name: format!("sparse-d{d}-n{n}-k{kappa}-seed{seed}"),
            x,
            y,
            x_test,
            y_test,
            beta_star: Some(beta),
        })
    }
}
