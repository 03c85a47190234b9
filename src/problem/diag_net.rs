//! The diagonal linear network of af22 Eq. 5: w = (w₊, w₋) ∈ ℝ²ᵈ, β = w₊² − w₋² (elementwise),
//! L(w) = (1/(4n)) Σᵢ (⟨xᵢ, β⟩ − yᵢ)², so ℓᵢ = ¼ rᵢ²; initialization w₊ = w₋ = α.

use ndarray::Array2;

use super::{Batch, Problem, dot};
use crate::data::RegressionData;
use crate::error::Result;

/// The diagonal linear network on a regression data set.
#[derive(Clone, Debug)]
pub struct DiagNet {
    x: Array2<f64>,
    y: Vec<f64>,
    x_test: Array2<f64>,
    y_test: Vec<f64>,
    alpha: Vec<f64>,
}

impl DiagNet {
    /// The network on `data` with initialization scale `alpha` (length 1 for a scalar α, or d).
    pub fn new(data: &RegressionData, alpha: &[f64]) -> Result<Self> {
        let d = data.d();
        let alpha = super::hyperbolic::alpha_vector(alpha, d)?;
        Ok(DiagNet {
            x: data.x.as_standard_layout().into_owned(),
            y: data.y.clone(),
            x_test: data.x_test.as_standard_layout().into_owned(),
            y_test: data.y_test.clone(),
            alpha,
        })
    }

    /// Number of features d (the parameter vector has 2d entries).
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// The initialization scale α (length d).
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// The training design X (n×d).
    pub fn x(&self) -> &Array2<f64> {
        &self.x
    }

    /// The training targets y.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// β = w₊² − w₋² written into `beta` (length d).
    pub fn beta_into(&self, w: &[f64], beta: &mut [f64]) {
        let d = self.d();
        let (wp, wm) = w.split_at(d);
        for ((b, p), m) in beta.iter_mut().zip(wp).zip(wm) {
            *b = p * p - m * m;
        }
    }

    /// β = w₊² − w₋².
    pub fn beta(&self, w: &[f64]) -> Vec<f64> {
        let mut b = vec![0.0; self.d()];
        self.beta_into(w, &mut b);
        b
    }

    fn row(&self, i: usize) -> &[f64] {
        let d = self.d();
        &self.x.as_slice().expect("standard layout")[i * d..(i + 1) * d]
    }

    /// Residual rᵢ = ⟨xᵢ, β⟩ − yᵢ computed from w directly.
    fn residual(&self, i: usize, w: &[f64]) -> f64 {
        let d = self.d();
        let (wp, wm) = w.split_at(d);
        let xi = self.row(i);
        let mut s = 0.0;
        for j in 0..d {
            s += xi[j] * (wp[j] * wp[j] - wm[j] * wm[j]);
        }
        s - self.y[i]
    }

    /// Mean squared residual on the test set (NaN when there is no test set).
    pub fn test_mse(&self, w: &[f64]) -> f64 {
        let beta = self.beta(w);
        let m = self.x_test.nrows();
        let mut s = 0.0;
        for (row, y) in self.x_test.rows().into_iter().zip(&self.y_test) {
            let r = dot(row.to_slice().expect("standard layout"), &beta) - y;
            s += r * r;
        }
        s / m as f64
    }
}

impl Problem for DiagNet {
    fn name(&self) -> &str {
        "diag-net"
    }
    fn dim(&self) -> usize {
        2 * self.d()
    }
    fn n_examples(&self) -> usize {
        self.x.nrows()
    }
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        let r = self.residual(i, w);
        0.25 * r * r
    }
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        // out[..d] holds β while out[d..] accumulates s = Σ rᵢ xᵢ; then ∇ = (w₊ ⊙ s, −w₋ ⊙ s)/|I|.
        let d = self.d();
        let x = self.x.as_slice().expect("standard layout");
        let (beta, s) = out.split_at_mut(d);
        self.beta_into(w, beta);
        s.fill(0.0);
        let one = |i: usize, beta: &[f64], s: &mut [f64]| {
            let xi = &x[i * d..(i + 1) * d];
            let r = dot(xi, beta) - self.y[i];
            for (sj, xj) in s.iter_mut().zip(xi) {
                *sj += r * xj;
            }
        };
        let m = match batch {
            Batch::All => {
                (0..self.n_examples()).for_each(|i| one(i, beta, s));
                self.n_examples()
            }
            Batch::Indices(ix) => {
                ix.iter().for_each(|&i| one(i, beta, s));
                ix.len()
            }
        };
        let c = if m == 0 { 0.0 } else { 1.0 / m as f64 };
        let (wp, wm) = w.split_at(d);
        for j in 0..d {
            let sj = c * s[j];
            beta[j] = wp[j] * sj;
            s[j] = -wm[j] * sj;
        }
    }
    fn example_grad(&self, i: usize, w: &[f64], out: &mut [f64]) {
        // ∇ℓᵢ = rᵢ (xᵢ ⊙ w₊, −xᵢ ⊙ w₋): one pass for rᵢ, one for the gradient. The same arithmetic
        // as `batch_grad` on the one-element batch [i], so both give the same values.
        let d = self.d();
        let xi = self.row(i);
        let (gp, gm) = out.split_at_mut(d);
        self.beta_into(w, gp);
        let r = dot(xi, gp) - self.y[i];
        let (wp, wm) = w.split_at(d);
        for j in 0..d {
            let sj = r * xi[j];
            gp[j] = wp[j] * sj;
            gm[j] = -wm[j] * sj;
        }
    }
    fn test_metric(&self, w: &[f64]) -> Option<f64> {
        (self.x_test.nrows() > 0).then(|| self.test_mse(w))
    }
    fn test_metric_name(&self) -> &str {
        "test_mse"
    }
    fn readout(&self, w: &[f64]) -> Option<(&'static str, Vec<f64>)> {
        Some(("beta", self.beta(w)))
    }
    fn init(&self) -> Vec<f64> {
        [self.alpha.as_slice(), self.alpha.as_slice()].concat()
    }
}
