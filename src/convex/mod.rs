//! The implicit-bias problems of af22 Section 4: among the interpolators {β : Xβ = y} of an
//! underdetermined design X ∈ ℝⁿˣᵈ (n ≤ d, full row rank), the one that minimizes the hyperbolic
//! entropy φ_α (the limit of the diagonal network's gradient flow from scale α, af22 Thm 3), and
//! its two limits, the minimum-ℓ1 (α → 0) and the minimum-ℓ2 (α → ∞) interpolators. This module
//! owns the validated constraint set [`Interpolation`] (shapes, finite entries, rank, feasibility,
//! checked once through a thin SVD of X), the min-ℓ2 interpolator (from that SVD), the min-φ_α
//! interpolator through Newton's method on the smooth dual ([`dual`]) and the min-ℓ1 interpolator
//! as a linear program solved by Clarabel ([`l1`]).
//!
//! ```
//! use samlab::convex::Interpolation;
//! use samlab::data::RegressionData;
//!
//! // af22 sparse regression: d = 30, n = 20, 3 non-zero coefficients.
//! let data = RegressionData::generate_sparse(30, 20, 3, 0, 0)?;
//! let problem = Interpolation::new(data.x.view(), &data.y)?;
//! let small = problem.min_phi(&[1e-6])?; // α = 1e-6 for every coordinate
//! assert!(small.info.converged && small.info.kkt_residual <= 1e-12);
//! let l1 = problem.min_l1();
//! assert!(l1.info.solved);
//! // Small α: the min-φ_α interpolator is close to the min-ℓ1 one (here, the planted β*).
//! let dist: f64 = small.beta.iter().zip(&l1.beta).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
//! assert!(dist < 0.1);
//! // Large α: close to the min-ℓ2 interpolator.
//! let large = problem.min_phi(&[100.0])?;
//! let l2 = problem.min_l2();
//! let dist: f64 = large.beta.iter().zip(&l2).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
//! assert!(dist < 1e-6);
//! # Ok::<(), samlab::Error>(())
//! ```

pub mod dual;
pub mod l1;

use faer::{Mat, MatRef};
use ndarray::ArrayView2;

use crate::error::{Error, Result, finite};

pub use dual::{PhiInfo, PhiSolution};
pub use l1::{L1Info, L1Solution};

/// The constraint set {β ∈ ℝᵈ : Xβ = y}, validated: X is n×d with n ≥ 1 and full row rank n,
/// every entry of X and y finite (so every y is reachable and the set is non-empty).
///
/// The rank is decided on the singular values of X: rank < n when σ_min ≤ σ_max · max(n, d) · ε.
#[derive(Clone, Debug)]
pub struct Interpolation {
    x: Mat<f64>,
    y: Vec<f64>,
    /// Thin SVD X = U S Vᵀ: U is n×n, V is d×n, S is n.
    u: Mat<f64>,
    s: Vec<f64>,
    v: Mat<f64>,
}

impl Interpolation {
    /// Validate X (n×d) and y (n) into a constraint set. Errors name the field: `x` or `y` for
    /// empty or mismatched shapes, `x[i][j]` / `y[i]` for a non-finite entry, `x` when the rows
    /// of X are linearly dependent but y is in the range of X (drop the redundant rows), `y` when
    /// y is not in the range of X (no interpolator exists; this includes most y when n > d).
    pub fn new(x: ArrayView2<'_, f64>, y: &[f64]) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(Error::invalid(
                "x",
                format!("must have at least one row and one column, got {n}×{d}"),
            ));
        }
        if y.len() != n {
            return Err(Error::invalid(
                "y",
                format!("has {} entries, expected n = {n} (rows of x)", y.len()),
            ));
        }
        for ((i, j), v) in x.indexed_iter() {
            finite(&format!("x[{i}][{j}]"), *v)?;
        }
        for (i, v) in y.iter().enumerate() {
            finite(&format!("y[{i}]"), *v)?;
        }
        let xm = Mat::<f64>::from_fn(n, d, |i, j| x[(i, j)]);
        let svd = xm.thin_svd().map_err(|e| {
            Error::invalid("x", format!("singular value decomposition failed: {e:?}"))
        })?;
        let k = n.min(d);
        let s: Vec<f64> = (0..k).map(|i| svd.S().column_vector()[i]).collect();
        let tol = s[0] * (n.max(d) as f64) * f64::EPSILON;
        let rank = s.iter().filter(|&&v| v > tol).count();
        if rank < n {
            // Distance of y from range(X) = ‖y − U_r U_rᵀ y‖.
            let ur = svd.U().subcols(0, rank);
            let mut r = y.to_vec();
            for c in 0..rank {
                let col = ur.col(c);
                let p: f64 = (0..n).map(|i| col[i] * y[i]).sum();
                for (i, ri) in r.iter_mut().enumerate() {
                    *ri -= p * col[i];
                }
            }
            let dist = norm(&r);
            let ny = norm(y);
            return Err(
                if dist > 1e3 * f64::EPSILON * (n as f64) * ny.max(f64::MIN_POSITIVE) {
                    Error::invalid(
                        "y",
                        format!(
                            "infeasible: no β solves Xβ = y (x has rank {rank} < n = {n}; the distance of y from the range of x is {dist:.3e}, ‖y‖ = {ny:.3e})"
                        ),
                    )
                } else {
                    Error::invalid(
                        "x",
                        format!(
                            "rows are linearly dependent (rank {rank} < n = {n}, singular values down to {:.3e}); drop the redundant rows",
                            s[k - 1]
                        ),
                    )
                },
            );
        }
        Ok(Interpolation {
            x: xm,
            y: y.to_vec(),
            u: svd.U().to_owned(),
            s,
            v: svd.V().to_owned(),
        })
    }

    /// The constraint set of a data set's training part.
    pub fn from_data(data: &crate::data::RegressionData) -> Result<Self> {
        Self::new(data.x.view(), &data.y)
    }

    /// Number of constraints n.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Number of coordinates d.
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// The targets y.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// The design X (n×d).
    pub fn x(&self) -> MatRef<'_, f64> {
        self.x.as_ref()
    }

    /// The singular values of X, largest first (n of them, all > 0).
    pub fn singular_values(&self) -> &[f64] {
        &self.s
    }

    /// The relative residual ‖Xβ − y‖/‖y‖ (the absolute one when y = 0).
    pub fn relative_residual(&self, beta: &[f64]) -> f64 {
        let r = self.residual(beta);
        norm(&r) / nonzero(norm(&self.y))
    }

    /// The residual Xβ − y.
    pub fn residual(&self, beta: &[f64]) -> Vec<f64> {
        assert_eq!(beta.len(), self.d(), "residual: beta has the wrong length");
        let mut r = vec![0.0; self.n()];
        x_times(self.x.as_ref(), beta, &mut r);
        for (ri, yi) in r.iter_mut().zip(&self.y) {
            *ri -= yi;
        }
        r
    }

    /// The minimum-ℓ2 interpolator argmin ‖β‖₂ s.t. Xβ = y, β = X⁺y = V S⁻¹ Uᵀ y from the thin
    /// SVD of X (not the normal equations XXᵀ, whose condition number is the square of X's).
    pub fn min_l2(&self) -> Vec<f64> {
        let (n, d) = (self.n(), self.d());
        let mut c = vec![0.0; n];
        for (k, ck) in c.iter_mut().enumerate() {
            let col = self.u.col(k);
            *ck = (0..n).map(|i| col[i] * self.y[i]).sum::<f64>() / self.s[k];
        }
        let mut beta = vec![0.0; d];
        for (k, ck) in c.iter().enumerate() {
            let col = self.v.col(k);
            for (j, b) in beta.iter_mut().enumerate() {
                *b += ck * col[j];
            }
        }
        beta
    }
}

/// ‖v‖₂.
pub(crate) fn norm(v: &[f64]) -> f64 {
    crate::problem::norm(v)
}

/// `v`, or 1 when `v` is 0 (to form relative quantities that fall back to absolute ones).
fn nonzero(v: f64) -> f64 {
    if v > 0.0 { v } else { 1.0 }
}

/// out = X b (X n×d, b of length d, out of length n), without allocating.
pub(crate) fn x_times(x: MatRef<'_, f64>, b: &[f64], out: &mut [f64]) {
    for (i, o) in out.iter_mut().enumerate() {
        let row = x.row(i);
        *o = b.iter().enumerate().map(|(j, bj)| row[j] * bj).sum();
    }
}

/// out = Xᵀ c (c of length n, out of length d), without allocating.
pub(crate) fn xt_times(x: MatRef<'_, f64>, c: &[f64], out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        let col = x.col(j);
        *o = c.iter().enumerate().map(|(i, ci)| col[i] * ci).sum();
    }
}
