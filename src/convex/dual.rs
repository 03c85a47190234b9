//! argmin φ_α(β) s.t. Xβ = y through the smooth dual, solved by Newton's method. This module owns
//! the numerically safe conjugate φ*_α (value differences, gradient, curvature), the initial point
//! and the damped Newton iteration.
//!
//! **Derivation.** φ_α(β) = Σⱼ αⱼ² q(βⱼ/αⱼ²) is separable, strictly convex and smooth with
//! ∂φ_α/∂βⱼ = asinh(βⱼ/(2αⱼ²)) (af22 Eq. 12; [`HyperbolicEntropy`]). Inverting the gradient,
//! ∇φ*_α(u)ⱼ = 2αⱼ² sinh(uⱼ), and since φ_α(0) = 0 = min φ_α, φ*_α(0) = 0, so
//! φ*_α(u) = Σⱼ 2αⱼ²(cosh uⱼ − 1). The Lagrangian φ_α(β) − νᵀ(Xβ − y) is minimized over β where
//! asinh(β/(2α²)) = Xᵀν, i.e. at **β(ν) = 2α² ⊙ sinh(Xᵀν)**, and its minimum is
//! νᵀy − φ*_α(Xᵀν). The dual problem (maximize that) is therefore the minimization of
//!
//! D(ν) = Σⱼ 2αⱼ²(cosh((Xᵀν)ⱼ) − 1) − νᵀy,  ∇D(ν) = Xβ(ν) − y,
//! ∇²D(ν) = X diag(2α² ⊙ cosh(Xᵀν)) Xᵀ,
//!
//! smooth and (X of full row rank) strictly convex; Slater holds (the constraints are affine and
//! φ_α is finite everywhere), so there is no duality gap, D has a unique minimizer ν* and
//! β(ν*) is the primal solution: its dual gradient Xβ − y is zero (feasibility) and its primal
//! gradient asinh(β/(2α²)) = Xᵀν* lies in range(Xᵀ) (stationarity). At any ν, the primal value
//! φ_α(β(ν)) and the dual value −D(ν) differ by exactly (Xβ(ν) − y)ᵀν (Fenchel–Young equality).
//!
//! **Safe form.** With E = αⱼ² e^{|u|} (formed as α² · exp|u| when both are in range, else as
//! exp(|u| + ln α²), so neither α² nor cosh u overflows or underflows on its own):
//! 2α² sinh u = sign(u) E (1 − e^{−2|u|}), 2α² cosh u = E (1 + e^{−2|u|}), and
//! 2α²(cosh u − 1) = E (1 − e^{−|u|})², with 1 − e^{−s} from `expm1`, so a small coordinate keeps
//! its relative accuracy. The line search compares D along the Newton direction through the
//! exact difference φ*(u + δ) − φ*(u) = 2 · [2α² sinh(u + δ/2)] · sinh(δ/2), free of the
//! cancellation of two large cosh values, so the Armijo test stays meaningful down to relative
//! residuals near 1e-15.
//!
//! **Attainable accuracy.** β = 2α² ⊙ sinh(Xᵀν) turns a rounding error δu of Xᵀν
//! (≈ ε ‖xⱼ‖ ‖ν‖) into 2αⱼ² cosh(uⱼ) δu, so no double-precision ν gives a relative residual below
//! about ε ‖ν‖ maxⱼ ‖xⱼ‖ 2αⱼ² cosh(uⱼ) / ‖y‖. For one α for all coordinates that is ~1e-15; when
//! α spans 1e-6..1e2 across coordinates (the small scales make ‖ν‖ large, the large ones amplify)
//! it can reach ~1e-10 (measured 4e-11 at d = 30, n = 20; 9e-15 at d = 1000, n = 100, where the
//! large scales dominate), and the iteration ends there with
//! `converged = false` and the residual reached.
//!
//! **Iteration.** The initial point is the first Newton step from ν = 0 (the weighted min-ℓ2
//! multiplier (X diag(2α²) Xᵀ)⁻¹ y, exact for α → ∞) scaled by an exact 1-D minimization of D
//! along it (O(d) per evaluation), which puts small-α problems at the right scale (|Xᵀν| ≈ ln(1/α²))
//! at once. Then Newton steps: the n×n Hessian is Jacobi-scaled (its diagonal spans many orders of
//! magnitude for small α) and factored by faer's Cholesky (a growing ridge on the scaled matrix if
//! a pivot fails), the step halved until Armijo's condition holds. It stops when the relative KKT
//! residual ‖Xβ − y‖/‖y‖ ≤ [`KKT_TOL`].
//!
//! [`HyperbolicEntropy`]: crate::problem::HyperbolicEntropy

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::{Accum, Mat, MatRef, Par};

use super::{Interpolation, norm, x_times, xt_times};
use crate::error::Result;

/// The relative KKT residual ‖Xβ − y‖/‖y‖ at which [`Interpolation::min_phi`] stops.
pub const KKT_TOL: f64 = 1e-12;
/// Most Newton iterations.
const MAX_ITER: usize = 200;
/// Most step halvings in one line search.
const MAX_HALVINGS: usize = 80;
/// Armijo's sufficient-decrease constant.
const ARMIJO: f64 = 1e-4;

/// The min-φ_α interpolator and its dual certificate.
#[derive(Clone, Debug)]
pub struct PhiSolution {
    /// β = 2α² ⊙ sinh(Xᵀν).
    pub beta: Vec<f64>,
    /// The dual variable ν (Lagrange multiplier of Xβ = y).
    pub nu: Vec<f64>,
    /// Convergence information.
    pub info: PhiInfo,
}

/// What the Newton iteration did and where it stopped.
#[derive(Clone, Copy, Debug)]
pub struct PhiInfo {
    /// Newton iterations (Hessian factorizations), not counting the initial 1-D scaling.
    pub iterations: usize,
    /// Step halvings in all line searches together.
    pub halvings: usize,
    /// ‖Xβ − y‖/‖y‖ at the returned β (‖Xβ − y‖ when y = 0).
    pub kkt_residual: f64,
    /// ‖∇D(ν)‖ = ‖Xβ − y‖ (absolute).
    pub dual_grad_norm: f64,
    /// Whether `kkt_residual` ≤ [`KKT_TOL`]; false when the iteration limit was reached or the
    /// line search could make no further progress (then the residual says how far it got).
    pub converged: bool,
}

/// α² e^{s} for s ≥ 0, without forming an overflowing or underflowing factor on its own.
#[inline]
fn scaled_exp(s: f64, a2: f64, ln_a2: f64) -> f64 {
    if s <= 700.0 && a2 >= f64::MIN_POSITIVE && a2.is_finite() {
        a2 * s.exp()
    } else {
        (s + ln_a2).exp()
    }
}

/// ∇φ*: 2α² sinh(u).
#[inline]
fn conj_grad(u: f64, a2: f64, ln_a2: f64) -> f64 {
    if u == 0.0 {
        return 0.0;
    }
    let s = u.abs();
    (scaled_exp(s, a2, ln_a2) * -(-2.0 * s).exp_m1()).copysign(u)
}

/// ∇²φ*: 2α² cosh(u).
#[inline]
fn conj_curv(u: f64, a2: f64, ln_a2: f64) -> f64 {
    let s = u.abs();
    scaled_exp(s, a2, ln_a2) * (1.0 + (-2.0 * s).exp())
}

/// φ*(u + δ) − φ*(u) = 2 · 2α² sinh(u + δ/2) · sinh(δ/2), without cancellation.
#[inline]
fn conj_diff(u: f64, delta: f64, a2: f64, ln_a2: f64) -> f64 {
    2.0 * conj_grad(u + 0.5 * delta, a2, ln_a2) * (0.5 * delta).sinh()
}

/// The per-coordinate scales α², ln α² (length d).
struct Scales {
    a2: Vec<f64>,
    ln_a2: Vec<f64>,
}

impl Scales {
    /// β = ∇φ*(u) into `beta`.
    fn beta_into(&self, u: &[f64], beta: &mut [f64]) {
        for (j, b) in beta.iter_mut().enumerate() {
            *b = conj_grad(u[j], self.a2[j], self.ln_a2[j]);
        }
    }

    /// Σⱼ vⱼ ∇φ*(u + t v)ⱼ: the derivative of t ↦ φ*(u + t v).
    fn slope_along(&self, u: &[f64], v: &[f64], t: f64) -> f64 {
        (0..u.len())
            .map(|j| v[j] * conj_grad(u[j] + t * v[j], self.a2[j], self.ln_a2[j]))
            .sum()
    }

    /// φ*(u + t v) − φ*(u) and the sum of the absolute values of its terms.
    fn diff_along(&self, u: &[f64], v: &[f64], t: f64) -> (f64, f64) {
        let (mut s, mut abs) = (0.0, 0.0);
        for j in 0..u.len() {
            let term = conj_diff(u[j], t * v[j], self.a2[j], self.ln_a2[j]);
            s += term;
            abs += term.abs();
        }
        (s, abs)
    }
}

/// Newton's workspace: every buffer the iteration needs, allocated once.
struct Newton<'a> {
    x: MatRef<'a, f64>,
    y: &'a [f64],
    scales: Scales,
    nu: Vec<f64>,
    u: Vec<f64>,
    beta: Vec<f64>,
    g: Vec<f64>,
    v: Vec<f64>,
    w: Vec<f64>,
    delta: Mat<f64>,
    sc: Vec<f64>,
    xw: Mat<f64>,
    h: Mat<f64>,
    l: Mat<f64>,
    mem: MemBuffer,
}

impl<'a> Newton<'a> {
    fn new(x: MatRef<'a, f64>, y: &'a [f64], scales: Scales) -> Self {
        let (n, d) = (x.nrows(), x.ncols());
        Newton {
            x,
            y,
            scales,
            nu: vec![0.0; n],
            u: vec![0.0; d],
            beta: vec![0.0; d],
            g: vec![0.0; n],
            v: vec![0.0; d],
            w: vec![0.0; d],
            delta: Mat::zeros(n, 1),
            sc: vec![0.0; n],
            xw: Mat::zeros(n, d),
            h: Mat::zeros(n, n),
            l: Mat::zeros(n, n),
            mem: MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
                n,
                Par::Seq,
                Default::default(),
            )),
        }
    }

    /// u = Xᵀν, β = β(u), g = Xβ − y; returns ‖g‖.
    fn evaluate(&mut self) -> f64 {
        xt_times(self.x, &self.nu, &mut self.u);
        self.scales.beta_into(&self.u, &mut self.beta);
        x_times(self.x, &self.beta, &mut self.g);
        for (gi, yi) in self.g.iter_mut().zip(self.y) {
            *gi -= yi;
        }
        norm(&self.g)
    }

    /// The Newton direction −(∇²D)⁻¹ g at the current u into `delta`, and v = Xᵀ delta.
    fn direction(&mut self) {
        let (n, d) = (self.x.nrows(), self.x.ncols());
        for j in 0..d {
            self.w[j] = conj_curv(self.u[j], self.scales.a2[j], self.scales.ln_a2[j]);
        }
        for j in 0..d {
            for i in 0..n {
                self.xw[(i, j)] = self.x[(i, j)] * self.w[j];
            }
        }
        faer::linalg::matmul::matmul(
            self.h.as_mut(),
            Accum::Replace,
            self.xw.as_ref(),
            self.x.transpose(),
            1.0,
            Par::Seq,
        );
        for i in 0..n {
            let hii = self.h[(i, i)];
            self.sc[i] = if hii > 0.0 && hii.is_finite() {
                1.0 / hii.sqrt()
            } else {
                1.0
            };
        }
        // Cholesky of the Jacobi-scaled Hessian S H S, with a ridge growing from 0 if a pivot
        // fails (S H S has unit diagonal, so the ridge is relative).
        let mut ridge = 0.0;
        loop {
            for j in 0..n {
                for i in 0..n {
                    self.l[(i, j)] = self.sc[i] * self.h[(i, j)] * self.sc[j];
                }
                self.l[(j, j)] += ridge;
            }
            let stack = MemStack::new(&mut self.mem);
            let ok = llt::factor::cholesky_in_place(
                self.l.as_mut(),
                llt::factor::LltRegularization {
                    dynamic_regularization_delta: 0.0,
                    dynamic_regularization_epsilon: 0.0,
                },
                Par::Seq,
                stack,
                Default::default(),
            )
            .is_ok();
            if ok {
                break;
            }
            ridge = if ridge == 0.0 {
                (n as f64) * f64::EPSILON
            } else {
                ridge * 100.0
            };
        }
        for i in 0..n {
            self.delta[(i, 0)] = -self.sc[i] * self.g[i];
        }
        let stack = MemStack::new(&mut self.mem);
        llt::solve::solve_in_place(self.l.as_ref(), self.delta.as_mut(), Par::Seq, stack);
        for i in 0..n {
            self.delta[(i, 0)] *= self.sc[i];
        }
        let dl: &[f64] = self.delta.col_as_slice(0);
        xt_times(self.x, dl, &mut self.v);
    }

    /// The step t minimizing D(ν + t·delta) exactly (a 1-D convex problem in O(d) per
    /// evaluation): a bracket by doubling from t = 1, then bisection on the derivative to a
    /// relative width of 1e-13 (Newton's 1-D steps would creep from the overflowing side).
    fn exact_step(&self) -> f64 {
        let dy: f64 = (0..self.y.len())
            .map(|i| self.delta[(i, 0)] * self.y[i])
            .sum();
        let f1 = |t: f64| self.scales.slope_along(&self.u, &self.v, t) - dy;
        let (mut lo, mut hi) = (0.0, 1.0);
        while f1(hi) < 0.0 && hi < 1e300 {
            lo = hi;
            hi *= 2.0;
        }
        while hi - lo > 1e-13 * hi {
            let mid = 0.5 * (lo + hi);
            // Not `< 0`: an overflowing (NaN-free, +∞) derivative is past the minimum.
            if f1(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Backtracking from t = 1 until Armijo holds (D computed as an exact difference); returns
    /// the step and the number of halvings, or None when no step of the allowed sizes decreases D.
    fn backtrack(&self) -> Option<(f64, usize)> {
        let (mut dy, mut slope) = (0.0, 0.0);
        for i in 0..self.y.len() {
            dy += self.delta[(i, 0)] * self.y[i];
            slope += self.delta[(i, 0)] * self.g[i];
        }
        let mut t = 1.0;
        for halvings in 0..=MAX_HALVINGS {
            let (dphi, abs) = self.scales.diff_along(&self.u, &self.v, t);
            let dd = dphi - t * dy;
            // Allow the rounding error of the difference itself (a few ulps of its terms).
            let rounding = 8.0 * f64::EPSILON * (abs + (t * dy).abs());
            if rounding.is_finite() && dd <= ARMIJO * t * slope + rounding {
                return Some((t, halvings));
            }
            t *= 0.5;
        }
        None
    }

    fn step(&mut self, t: f64) {
        for i in 0..self.nu.len() {
            self.nu[i] += t * self.delta[(i, 0)];
        }
    }
}

impl Interpolation {
    /// argmin φ_α(β) s.t. Xβ = y by Newton's method on the dual (module docs). `alpha` has one
    /// entry (the same α for every coordinate) or d; every entry finite and > 0 (errors name
    /// `alpha` or `alpha[j]`). Check `info.converged`: the iteration stops at a relative KKT
    /// residual ≤ [`KKT_TOL`], or earlier, reporting the residual reached.
    pub fn min_phi(&self, alpha: &[f64]) -> Result<PhiSolution> {
        let d = self.d();
        let alpha = crate::problem::hyperbolic::alpha_vector(alpha, d)?;
        let scales = Scales {
            a2: alpha.iter().map(|a| a * a).collect(),
            ln_a2: alpha.iter().map(|a| 2.0 * a.ln()).collect(),
        };
        let ny = norm(&self.y);
        let mut nt = Newton::new(self.x.as_ref(), &self.y, scales);
        let mut gnorm = nt.evaluate();
        let rel = |g: f64| if ny > 0.0 { g / ny } else { g };
        let (mut iterations, mut halvings) = (0, 0);
        if rel(gnorm) > KKT_TOL {
            // Initial point: the first Newton direction from ν = 0, exactly line-searched.
            nt.direction();
            let t = nt.exact_step();
            nt.step(t);
            gnorm = nt.evaluate();
        }
        while rel(gnorm) > KKT_TOL && iterations < MAX_ITER {
            nt.direction();
            iterations += 1;
            match nt.backtrack() {
                Some((t, h)) => {
                    halvings += h;
                    nt.step(t);
                    gnorm = nt.evaluate();
                }
                None => break,
            }
        }
        let kkt_residual = rel(gnorm);
        Ok(PhiSolution {
            beta: nt.beta,
            nu: nt.nu,
            info: PhiInfo {
                iterations,
                halvings,
                kkt_residual,
                dual_grad_norm: gnorm,
                converged: kkt_residual <= KKT_TOL,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_forms_agree_with_the_textbook_ones() {
        for alpha in [1e-6, 1e-2, 1.0, 30.0] {
            let (a2, la) = (alpha * alpha, 2.0 * f64::ln(alpha));
            for u in [-40.0, -3.0, -1e-9, 0.0, 1e-300, 0.5, 2.0, 35.0] {
                let g = conj_grad(u, a2, la);
                let want = 2.0 * a2 * f64::sinh(u);
                assert!(
                    (g - want).abs() <= 1e-14 * want.abs(),
                    "{alpha} {u}: {g} {want}"
                );
                let c = conj_curv(u, a2, la);
                let want = 2.0 * a2 * f64::cosh(u);
                assert!((c - want).abs() <= 1e-14 * want, "{alpha} {u}: {c} {want}");
                for delta in [1e-12, -0.3, 2.0] {
                    let df = conj_diff(u, delta, a2, la);
                    let want = 2.0 * a2 * (f64::cosh(u + delta) - f64::cosh(u));
                    let scale = 2.0 * a2 * f64::cosh(u).max(f64::cosh(u + delta));
                    assert!((df - want).abs() <= 1e-13 * scale, "{alpha} {u} {delta}");
                }
            }
        }
    }

    #[test]
    fn no_overflow_for_tiny_alpha() {
        // α = 1e-200: α² underflows; |u| ≈ 920 makes cosh overflow, not β.
        let (a2, la) = (0.0, 2.0 * f64::ln(1e-200));
        let g = conj_grad(921.0, a2, la);
        assert!(g.is_finite() && g > 0.0);
        let want = (921.0 + la).exp();
        assert!((g - want).abs() <= 1e-12 * want);
    }
}
