//! af22 Theorem 11 ((A2′), L convex, γβ(1 + ρβ) < 2, full-batch n-SAM, Eq. 20), two parts:
//! `af22.thm11`: w̄_T = (1/T) Σ_{t<T} w_t satisfies
//! L(w̄_T) − L* ≤ (2ρβ + 1)‖w₀ − w*‖² / (γ(2 − γβ(1 + ρβ))T);
//! `af22.thm11.strong` (µ-strongly convex): ‖w_T − w*‖² ≤ (1 − γµ(2 − γβ(1 + ρβ)))^T (2ρ + 1)‖w₀ − w*‖²
//! (the factor (2ρ + 1) as printed). Both are checked at every horizon T' ≤ T of one trajectory,
//! the worst reported. Instances: convex quadratics (λ_min = 0, w* = c̄ a minimizer), strongly
//! convex quadratics (all constants exact) and ℓ2-regularized logistic regression (β, µ = λ
//! exact; L* and w* by Newton's method to machine precision, reported as measured); ρβ ∈ [0, 10],
//! γ up to the boundary 2/(β(1 + ρβ)).

use super::class_of;
use super::thm9::{Case, convex_case, nsam_run, worst_of};
use crate::theory::{Check, Constant, Instance, Observation};

/// γ with γβ(1 + ρβ) < 2 strictly, and ρ, from coordinates (ρβ ∈ [0, 10]).
fn sizes(t_lr: f64, t_rho: f64, beta: f64) -> (f64, f64) {
    let rb = 10.0 * t_rho;
    let s = (1e-3 + (1.0 - 1e-3) * t_lr).min(1.0 - 1e-9);
    (s * 2.0 / (beta * (1.0 + rb)), rb / beta)
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn setup(inst: &Instance, kinds: &[usize]) -> (Case, f64, f64, usize, Vec<Vec<f64>>) {
    let kind = kinds[class_of(inst.theta[0], kinds.len())];
    let r = nsam_run(inst, kind, convex_case, sizes);
    (r.c, r.lr, r.rho, r.big_t, r.path)
}

/// The constants of the bound with D₀² = ‖w₀ − w*‖² (measured when w* is).
fn constants_d0(c: &Case, with_mu: bool, d0: f64) -> Vec<Constant> {
    let mut consts = c.constants(with_mu);
    if c.measured {
        consts.push(Constant::measured("D0^2 = dist(w0, w*)^2", d0));
    } else {
        consts.push(Constant::exact("D0^2 = dist(w0, w*)^2", d0));
    }
    consts
}

/// af22.thm11 (convex, averaged iterate).
pub struct Thm11;

impl Check for Thm11 {
    fn id(&self) -> &'static str {
        "af22.thm11"
    }
    fn statement(&self) -> &'static str {
        "convex: L(avg w) - L* <= (2 rb + 1)|w0 - w*|^2 / (g (2 - gb(1 + rb)) T), gb(1+rb) < 2"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let (c, lr, rho, big_t, path) = setup(inst, &[0, 1, 2]);
        let p = c.prob.dim();
        let rb = rho * c.beta;
        let x = lr * c.beta * (1.0 + rb);
        let d0 = dist2(&path[0], &c.wstar);
        let wn = c.path_norm(&path);
        let mut sum = vec![0.0; p];
        let mut avg = vec![0.0; p];
        let mut rows = Vec::with_capacity(big_t);
        for tt in 1..=big_t {
            sum.iter_mut().zip(&path[tt - 1]).for_each(|(s, w)| *s += w);
            avg.iter_mut()
                .zip(&sum)
                .for_each(|(a, s)| *a = s / tt as f64);
            let l = c.prob.loss(&avg);
            let rhs = (2.0 * rb + 1.0) * d0 / (lr * (2.0 - x) * tt as f64);
            let scale = (p as f64 + 4.0) * (l.abs() + c.lstar.abs() + c.beta * wn * wn + rhs);
            rows.push((tt, l - c.lstar, rhs, scale));
        }
        let (tt, lhs, rhs, scale) = worst_of(&rows);
        Observation::le(
            lhs,
            rhs,
            scale,
            constants_d0(&c, false, d0),
            format!(
                "{}; p = {p}, gamma*beta = {:.6}, rho*beta = {rb:.6}, gamma*beta*(1+rho*beta) = {x:.9}, T = {tt} (of {big_t}), |w0 - w*|^2 = {d0:.6e}",
                c.what,
                lr * c.beta,
            ),
        )
    }
}

/// af22.thm11 second part (µ-strongly convex, last iterate), factor (2ρ + 1) as printed.
pub struct Thm11Strong;

impl Check for Thm11Strong {
    fn id(&self) -> &'static str {
        "af22.thm11.strong"
    }
    fn statement(&self) -> &'static str {
        "strongly convex: |wT - w*|^2 <= (1 - g mu (2 - gb(1 + rb)))^T (2 r + 1)|w0 - w*|^2, gb(1+rb) < 2"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let (c, lr, rho, big_t, path) = setup(inst, &[1, 2]);
        let p = c.prob.dim();
        let rb = rho * c.beta;
        let x = lr * c.beta * (1.0 + rb);
        let q = 1.0 - lr * c.mu * (2.0 - x);
        let d0 = dist2(&path[0], &c.wstar);
        let wn = c.path_norm(&path);
        // w* by Newton carries an error of a few ulps times the condition number.
        let cond = if c.measured { c.beta / c.mu } else { 1.0 };
        let rows: Vec<(usize, f64, f64, f64)> = path
            .iter()
            .enumerate()
            .skip(1)
            .map(|(tt, w)| {
                let lhs = dist2(w, &c.wstar);
                let rhs = q.powi(tt as i32) * (2.0 * rho + 1.0) * d0;
                let scale = (p as f64 + 4.0) * (cond * wn * wn + rhs);
                (tt, lhs, rhs, scale)
            })
            .collect();
        let (tt, lhs, rhs, scale) = worst_of(&rows);
        Observation::le(
            lhs,
            rhs,
            scale,
            constants_d0(&c, true, d0),
            format!(
                "{}; p = {p}, gamma*beta = {:.6}, rho = {rho:.6e}, rho*beta = {rb:.6}, mu/beta = {:.4e}, q = {q:.9}, T = {tt} (of {big_t}), |w0 - w*|^2 = {d0:.6e}",
                c.what,
                lr * c.beta,
                c.mu / c.beta,
            ),
        )
    }
}
