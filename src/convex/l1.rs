//! The minimum-ℓ1 interpolator argmin ‖β‖₁ s.t. Xβ = y (the α → 0 limit of the min-φ_α one),
//! as the linear program min 1ᵀp + 1ᵀq s.t. X(p − q) = y, p, q ≥ 0, β = p − q, solved by the
//! Clarabel interior-point method at tolerances 1e-12. This module owns the LP, its certificate
//! and the polish that makes the interior-point answer exactly feasible.
//!
//! **Certificate.** Clarabel's multiplier z of the equality block gives ν = −z with
//! |Xᵀν| ≤ 1 up to the solver's tolerance; after scaling ν by 1/max(1, ‖Xᵀν‖∞) it is exactly dual
//! feasible, so yᵀν ≤ ‖β‖₁ for every interpolator β (weak duality: ‖β‖₁ ≥ (Xᵀν)ᵀβ = νᵀy).
//! [`L1Info::gap`] = ‖β‖₁ − yᵀν bounds how far the returned β is from optimal.
//!
//! **Polish.** An interior-point solution is feasible only to the solver's tolerance and has tiny
//! non-zeros off the support. The support S = {j : |βⱼ| > 1e-9 ‖β‖∞} of a vertex has at most n
//! columns; solving X_S β_S = y by least squares (column-pivoted QR) gives the vertex itself. The
//! polished β is kept only when it is at least as feasible, has the same signs on S, and its
//! certified gap is no larger; [`L1Info::polished`] says which one was returned.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use faer::Mat;
use faer::linalg::solvers::SolveLstsq;

use super::{Interpolation, xt_times};

/// Clarabel's gap and feasibility tolerances.
const LP_TOL: f64 = 1e-12;
/// Relative size below which an LP coordinate is treated as off the support when polishing.
const SUPPORT_TOL: f64 = 1e-9;

/// The min-ℓ1 interpolator and its certificate.
#[derive(Clone, Debug)]
pub struct L1Solution {
    /// β = p − q.
    pub beta: Vec<f64>,
    /// The dual certificate ν (‖Xᵀν‖∞ ≤ 1 exactly, after scaling).
    pub nu: Vec<f64>,
    /// What the solver did.
    pub info: L1Info,
}

/// What the LP solve did.
#[derive(Clone, Debug)]
pub struct L1Info {
    /// Clarabel's status, e.g. `Solved`.
    pub status: String,
    /// Whether Clarabel reported `Solved` (`AlmostSolved` and failures are false).
    pub solved: bool,
    /// Interior-point iterations.
    pub iterations: u32,
    /// ‖Xβ − y‖/‖y‖ at the returned β.
    pub kkt_residual: f64,
    /// ‖β‖₁ − yᵀν ≥ 0 up to rounding: a certified bound on ‖β‖₁ − min ‖·‖₁ (for a feasible β).
    pub gap: f64,
    /// Whether the support polish was kept.
    pub polished: bool,
}

impl Interpolation {
    /// argmin ‖β‖₁ s.t. Xβ = y (module docs). Check `info.solved` and `info.gap`.
    pub fn min_l1(&self) -> L1Solution {
        let (n, d) = (self.n(), self.d());
        // Columns of A: p_j (X[:, j] in rows 0..n, −1 in row n + j), q_j (−X[:, j], −1 in row n + d + j).
        let mut colptr = Vec::with_capacity(2 * d + 1);
        let mut rowval = Vec::with_capacity(2 * d * (n + 1));
        let mut nzval = Vec::with_capacity(2 * d * (n + 1));
        colptr.push(0);
        for (sign, offset) in [(1.0, n), (-1.0, n + d)] {
            for j in 0..d {
                for i in 0..n {
                    rowval.push(i);
                    nzval.push(sign * self.x[(i, j)]);
                }
                rowval.push(offset + j);
                nzval.push(-1.0);
                colptr.push(rowval.len());
            }
        }
        let a = CscMatrix::new(n + 2 * d, 2 * d, colptr, rowval, nzval);
        let p = CscMatrix::<f64>::zeros((2 * d, 2 * d));
        let q = vec![1.0; 2 * d];
        let mut b = vec![0.0; n + 2 * d];
        b[..n].copy_from_slice(&self.y);
        let cones = [ZeroConeT(n), NonnegativeConeT(2 * d)];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(200)
            .tol_gap_abs(LP_TOL)
            .tol_gap_rel(LP_TOL)
            .tol_feas(LP_TOL)
            .tol_ktratio(1e-10)
            .build()
            .expect("valid Clarabel settings");
        let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
            .expect("a well-formed LP (shapes are built here)");
        solver.solve();
        let sol = &solver.solution;
        let lp: Vec<f64> = (0..d).map(|j| sol.x[j] - sol.x[d + j]).collect();
        let nu = self.certificate(sol.z[..n].iter().map(|z| -z).collect());
        let mut beta = lp.clone();
        let mut polished = false;
        if let Some(pb) = self.polish(&lp)
            && self.relative_residual(&pb) <= self.relative_residual(&lp)
            && self.gap(&pb, &nu) <= self.gap(&lp, &nu).max(0.0) + 1e-14 * l1_norm(&lp)
        {
            beta = pb;
            polished = true;
        }
        L1Solution {
            info: L1Info {
                status: format!("{:?}", sol.status),
                solved: sol.status == SolverStatus::Solved,
                iterations: sol.iterations,
                kkt_residual: self.relative_residual(&beta),
                gap: self.gap(&beta, &nu),
                polished,
            },
            beta,
            nu,
        }
    }

    /// ν / max(1, ‖Xᵀν‖∞): exactly dual feasible.
    fn certificate(&self, mut nu: Vec<f64>) -> Vec<f64> {
        let mut xtn = vec![0.0; self.d()];
        xt_times(self.x.as_ref(), &nu, &mut xtn);
        let m = xtn.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        nu.iter_mut().for_each(|v| *v /= m);
        nu
    }

    /// ‖β‖₁ − yᵀν.
    fn gap(&self, beta: &[f64], nu: &[f64]) -> f64 {
        l1_norm(beta) - self.y.iter().zip(nu).map(|(a, b)| a * b).sum::<f64>()
    }

    /// The least-squares solution of X_S β_S = y on the support S of `beta`, with the same signs;
    /// None when S is empty, has more than n columns, or a sign flips.
    fn polish(&self, beta: &[f64]) -> Option<Vec<f64>> {
        let big = beta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let support: Vec<usize> = (0..beta.len())
            .filter(|&j| beta[j].abs() > SUPPORT_TOL * big)
            .collect();
        if support.is_empty() || support.len() > self.n() {
            return None;
        }
        let xs = Mat::<f64>::from_fn(self.n(), support.len(), |i, k| self.x[(i, support[k])]);
        let rhs = Mat::<f64>::from_fn(self.n(), 1, |i, _| self.y[i]);
        let sol = xs.col_piv_qr().solve_lstsq(&rhs);
        let mut out = vec![0.0; beta.len()];
        for (k, &j) in support.iter().enumerate() {
            if sol[(k, 0)].signum() != beta[j].signum() || !sol[(k, 0)].is_finite() {
                return None;
            }
            out[j] = sol[(k, 0)];
        }
        Some(out)
    }
}

fn l1_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x.abs()).sum()
}
