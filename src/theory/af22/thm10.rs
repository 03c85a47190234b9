//! af22 Theorem 10 ((A2′), (A3), γ < 1/β, ρ < 1/β, full-batch n-SAM, Eq. 20):
//! L(w_t) − L* ≤ (1 − 2γµ(1 − ρβ)(1 − (γβ/2)(1 − ρβ)))^t (L(w₀) − L*), checked at every 1 ≤ t ≤ T
//! (t = 0 is an identity; the worst t is reported). Instances: the w² + 3 sin² w family (non-convex, PL µ = 1/32,
//! β = 8, L* = 0) and strongly convex quadratics (µ = λ_min, β = λ_max, L* exact), from a
//! Gaussian start of scale 0.05..5; on an isotropic quadratic with ρ = 0 the bound is an equality.

use super::thm9::{Run, lr_rho_strict, nsam_run, pl_kind, rate_rows, smooth_case, worst_of};
use crate::theory::{Check, Instance, Observation};

/// af22.thm10.
pub struct Thm10;

impl Check for Thm10 {
    fn id(&self) -> &'static str {
        "af22.thm10"
    }
    fn statement(&self) -> &'static str {
        "PL: L(w_t) - L* <= (1 - 2 g mu (1-rb)(1 - (gb/2)(1-rb)))^t (L(w0) - L*), g, r < 1/b"
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
        let q = 1.0 - 2.0 * lr * c.mu * (1.0 - rb) * (1.0 - 0.5 * lr * c.beta * (1.0 - rb));
        let l0 = c.prob.loss(&w0) - c.lstar;
        let rows = rate_rows(&c, &path, l0, q);
        let (tt, lhs, rhs, scale) = worst_of(&rows);
        Observation::le(
            lhs,
            rhs,
            scale,
            c.constants(true),
            format!(
                "{}; p = {}, gamma*beta = {:.6}, rho*beta = {:.6}, mu/beta = {:.4e}, q = {q:.6}, t = {tt} (of {big_t}), L(w0) - L* = {l0:.6e}",
                c.what,
                c.prob.dim(),
                lr * c.beta,
                rb,
                c.mu / c.beta,
            ),
        )
    }
}
