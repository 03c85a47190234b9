//! af22 Lemma 16 (m-SAM, Eq. 4: the same batch I for ascent and descent), one step from a fixed w:
//! E⟨∇L_I(w + ρ∇L_I(w)), ∇L(w)⟩ ≥ (1/2 − ρβ)‖∇L(w)‖² − β²ρ²σ²/(2b) under (A1), (A2), ρ ≥ 0
//! (β: individual smoothness).
//!
//! The expectation is exact: the average over every batch I of the sampling model. As in
//! af22.lem13 (see there), the model is b i.i.d. uniform indices (all n^b ordered tuples, batch
//! variance exactly σ_w²/b, the worst case the proof's "σ²/b" allows), or, on one instance
//! coordinate, uniform b-subsets without replacement (all C(n, b)).

use super::lem13::{Setup, setup};
use crate::problem::{Batch, dot};
use crate::theory::{Check, Constant, Instance, Observation};

/// The exact E_I ⟨∇L_I(w + ρ∇L_I(w)), ∇L(w)⟩ and the sum of the terms' magnitudes.
fn lhs(s: &Setup, rho: f64) -> (f64, f64) {
    let d = s.p.dim();
    let (mut v, mut x, mut u) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let (mut sum, mut mag) = (0.0, 0.0);
    let all = s.batches();
    for i in &all {
        s.p.batch_grad(&s.w, Batch::Indices(i), &mut v);
        for k in 0..d {
            x[k] = s.w[k] + rho * v[k];
        }
        s.p.batch_grad(&x, Batch::Indices(i), &mut u);
        sum += dot(&u, &s.g);
        mag += dot(&u, &u).sqrt() * s.g2.sqrt();
    }
    (sum / all.len() as f64, mag)
}

/// af22.lem16 as printed.
pub struct Lem16;

impl Check for Lem16 {
    fn id(&self) -> &'static str {
        "af22.lem16"
    }
    fn statement(&self) -> &'static str {
        "m-SAM: E<grad L_I(w + r grad L_I(w)), grad L(w)> >= (1/2 - r b)|grad|^2 - b^2 r^2 s^2/(2 batch)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let s = setup(&t[1..7], inst.seed, 1);
        let beta = s.beta_individual;
        // For all ρ ≥ 0: ρβ ∈ [0, 2].
        let rho = 2.0 * t[0] / beta;
        let (l, mag) = lhs(&s, rho);
        let count = s.batches().len() as f64;
        let noise = 0.5 * beta * beta * rho * rho * s.sigma2 / s.b as f64;
        let rhs = (0.5 - beta * rho) * s.g2 - noise;
        Observation::ge(
            l,
            rhs,
            mag / count * (count + s.p.dim() as f64) + s.g2 + noise,
            vec![
                Constant::exact("beta", beta),
                Constant::exact("sigma2", s.sigma2),
            ],
            format!(
                "{}; rho*beta = {:.4}, |grad|^2 = {:.4e}, sigma2 = {:.4e}",
                s.what,
                rho * beta,
                s.g2,
                s.sigma2
            ),
        )
    }
}
