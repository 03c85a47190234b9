//! af22 Theorem 6 ((A2′), γ < 1/β, ρ < 1/β, full-batch n-SAM, Eq. 20) and its remark:
//! `af22.thm6`: (1/T) Σ_{t<T} ‖∇L(w_t)‖² ≤ 2(L(w₀) − L*)/(γ(1 − ρβ)T), every T' ≤ T checked;
//! `af22.thm6.pl` (with (A3)): L(w_T) − L* ≤ (1 − γ(1 − ρβ)µ/2)^T (L(w₀) − L*), every 1 ≤ t ≤ T (t = 0 is an identity);
//! `af22.thm6.remark`: ρ < 1/β is necessary — a construction in which w + (1/β)∇L(w) is a local
//! maximum of L, so that n-SAM with ρ = 1/β stalls at a non-stationary point.

use super::thm9::{
    Run, lr_rho_strict, nsam_path, nsam_run, pl_kind, rate_rows, smooth_case, worst_of,
};
use super::{class_of, log_map, rng_of};
use crate::problem::{Batch, Problem, norm};
use crate::theory::{Check, Constant, Instance, Observation};
use rand::Rng;

/// af22.thm6 (non-convex, average squared gradient norm).
pub struct Thm6;

impl Check for Thm6 {
    fn id(&self) -> &'static str {
        "af22.thm6"
    }
    fn statement(&self) -> &'static str {
        "(1/T) sum_{t<T} |grad L(w_t)|^2 <= 2(L(w0) - L*)/(g (1 - rb) T), g, r < 1/b"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let Run {
            c,
            lr,
            rho,
            big_t,
            w0,
            path,
        } = nsam_run(inst, class_of(inst.theta[0], 4), smooth_case, lr_rho_strict);
        let g2 = super::thm9::grad_sq(c.prob.as_ref(), &path);
        let rb = rho * c.beta;
        let l0 = c.prob.loss(&w0);
        let dim = c.prob.dim() as f64;
        let mut sum = 0.0;
        let mut rows = Vec::with_capacity(big_t);
        for tt in 1..=big_t {
            sum += g2[tt - 1];
            let lhs = sum / tt as f64;
            let rhs = 2.0 * (l0 - c.lstar) / (lr * (1.0 - rb) * tt as f64);
            let scale = (dim + 4.0)
                * (lhs + 2.0 * (l0.abs() + c.lstar.abs()) / (lr * (1.0 - rb) * tt as f64));
            rows.push((tt, lhs, rhs, scale));
        }
        let (tt, lhs, rhs, scale) = worst_of(&rows);
        Observation::le(
            lhs,
            rhs,
            scale,
            c.constants(false),
            format!(
                "{}; p = {}, gamma*beta = {:.6}, rho*beta = {rb:.6}, T = {tt} (of {big_t}), L(w0) - L* = {:.6e}",
                c.what,
                c.prob.dim(),
                lr * c.beta,
                l0 - c.lstar
            ),
        )
    }
}

/// af22.thm6 second part (PL).
pub struct Thm6Pl;

impl Check for Thm6Pl {
    fn id(&self) -> &'static str {
        "af22.thm6.pl"
    }
    fn statement(&self) -> &'static str {
        "PL: L(w_T) - L* <= (1 - g (1 - rb) mu / 2)^T (L(w0) - L*), g, r < 1/b"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let Run {
            c,
            lr,
            rho,
            big_t,
            w0,
            path,
        } = nsam_run(inst, pl_kind(inst.theta[0]), smooth_case, lr_rho_strict);
        let rb = rho * c.beta;
        let q = 1.0 - 0.5 * lr * (1.0 - rb) * c.mu;
        let l0 = c.prob.loss(&w0) - c.lstar;
        let rows = rate_rows(&c, &path, l0, q);
        let (tt, lhs, rhs, scale) = worst_of(&rows);
        Observation::le(
            lhs,
            rhs,
            scale,
            c.constants(true),
            format!(
                "{}; p = {}, gamma*beta = {:.6}, rho*beta = {rb:.6}, mu/beta = {:.4e}, q = {q:.6}, t = {tt} (of {big_t}), L(w0) - L* = {l0:.6e}",
                c.what,
                c.prob.dim(),
                lr * c.beta,
                c.mu / c.beta
            ),
        )
    }
}

/// The construction of the remark: L(w) = Σⱼ g(wⱼ) with g(x) = −(β/2)x² for |x| ≤ 1 and
/// g(x) = (β/2)(|x| − 2)² − β for |x| ≥ 1. g is C¹ with |g''| ≤ β (β-smooth), bounded below
/// (L* = −βp at wⱼ = ±2), and the origin is a strict local maximum. For every w in (−1, 1)^p,
/// w + (1/β)∇L(w) = w − w = 0: the ascent point of n-SAM with ρ = 1/β is the local maximum, where
/// the gradient vanishes, so w is a fixed point of Eq. 20 although ∇L(w) = −βw ≠ 0.
struct Dome {
    beta: f64,
    p: usize,
}

impl Dome {
    fn g(&self, x: f64) -> f64 {
        if x.abs() <= 1.0 {
            -0.5 * self.beta * x * x
        } else {
            let d = x.abs() - 2.0;
            0.5 * self.beta * d * d - self.beta
        }
    }
    fn dg(&self, x: f64) -> f64 {
        if x.abs() <= 1.0 {
            -self.beta * x
        } else {
            self.beta * (x.abs() - 2.0) * x.signum()
        }
    }
}

impl Problem for Dome {
    fn name(&self) -> &str {
        "dome"
    }
    fn dim(&self) -> usize {
        self.p
    }
    fn n_examples(&self) -> usize {
        1
    }
    fn example_loss(&self, _i: usize, w: &[f64]) -> f64 {
        w.iter().map(|&x| self.g(x)).sum()
    }
    fn batch_grad(&self, w: &[f64], _batch: Batch<'_>, out: &mut [f64]) {
        for (o, &x) in out.iter_mut().zip(w) {
            *o = self.dg(x);
        }
    }
    fn init(&self) -> Vec<f64> {
        vec![0.5; self.p]
    }
}

/// af22.thm6 remark: a construction, so `Holds` means that it works — n-SAM with ρ = 1/β started
/// at a non-stationary w₀ (‖∇L(w₀)‖ = β‖w₀‖ > 0) moves by at most 1e-9‖w₀‖ (rounding only) in T
/// steps, for any γ ∈ (0, 1/β) and T ≤ 1000.
pub struct Thm6Remark;

impl Check for Thm6Remark {
    fn id(&self) -> &'static str {
        "af22.thm6.remark"
    }
    fn statement(&self) -> &'static str {
        "construction: with rho = 1/b, n-SAM stalls at a non-stationary w (w + grad L(w)/b is a local max)"
    }
    fn dims(&self) -> usize {
        4
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let mut rng = rng_of(inst.seed);
        let p = rng.random_range(1..=5usize);
        let beta = log_map(t[0], 0.1, 10.0);
        let lr = (1e-3 + (1.0 - 1e-3) * t[1]).min(1.0 - 1e-9) / beta;
        let rho = 1.0 / beta;
        let r = 0.05 + 0.9 * t[2];
        let w0: Vec<f64> = (0..p)
            .map(|_| {
                let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
                s * r * rng.random_range(0.5..=1.0)
            })
            .collect();
        let big_t = 1 + ((t[3] * 999.0).round() as usize).min(999);
        let dome = Dome { beta, p };
        let path = nsam_path(&dome, &w0, lr, rho, big_t);
        let moved = path
            .iter()
            .map(|w| {
                w.iter()
                    .zip(&w0)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0.0, f64::max);
        let mut g = vec![0.0; p];
        dome.grad(&w0, &mut g);
        let gn = norm(&g);
        // Non-stationarity is part of the construction: report it as the bound's other side
        // would be meaningless if ∇L(w₀) = 0, so require it explicitly.
        let rhs = if gn > 0.0 { 1e-9 * norm(&w0) } else { -1.0 };
        Observation::le(
            moved,
            rhs,
            norm(&w0),
            vec![Constant::exact("beta", beta), Constant::exact("rho", rho)],
            format!(
                "dome g(x) = -(b/2)x^2 on |x| <= 1, (b/2)(|x|-2)^2 - b beyond; p = {p}, gamma*beta = {:.6}, rho = 1/beta, T = {big_t}, |w0| = {:.4e}, |grad L(w0)| = {gn:.4e}, max_t |w_t - w0| = {moved:.3e}",
                lr * beta,
                norm(&w0)
            ),
        )
    }
}
