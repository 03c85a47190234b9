//! af22 Lemma 17 (m-SAM, iterates (4): the same batch I for ascent and descent), one step from a
//! fixed w_t under (A1), (A2), γ ≤ 1/β, ρ ≤ 1/(4β) (β: individual smoothness):
//! E L(w_{t+1}) ≤ L(w_t) − (3γ/8)‖∇L(w_t)‖² + γβ(σ²/b)(γ + 2ρ²β),
//! checked as a lower bound on the expected decrease L(w_t) − E L(w_{t+1}).
//!
//! The expectation is exact: the average over every batch I of the sampling model (all n^b
//! ordered tuples of i.i.d. indices, or, on one instance coordinate, all C(n, b) b-subsets
//! without replacement; see af22.lem13 for the choice).

use super::lem13::{descent_observation, setup};
use crate::theory::{Check, Instance, Observation};

/// af22.lem17 as printed.
pub struct Lem17;

impl Check for Lem17 {
    fn id(&self) -> &'static str {
        "af22.lem17"
    }
    fn statement(&self) -> &'static str {
        "m-SAM step, g <= 1/b, r <= 1/(4b): E L(w+) <= L(w) - (3g/8)|grad|^2 + g b (s^2/batch)(g + 2 r^2 b)"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let s = setup(&t[2..8], inst.seed, 1);
        let beta = s.beta_individual;
        let rho = t[0] / (4.0 * beta);
        let lr = t[1].max(1e-3) / beta;
        let noise = lr * beta * (s.sigma2 / s.b as f64) * (lr + 2.0 * rho * rho * beta);
        descent_observation(&s, (beta, lr, rho), 0.375, noise, false)
    }
}
