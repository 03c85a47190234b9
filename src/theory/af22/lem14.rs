//! af22 Lemma 14 (stochastic n-SAM, iterates (21)), one step from a fixed w_t under (A1), (A2′),
//! γ ≤ 1/(2β), ρ ≤ 1/(2β) (β: smoothness of L):
//! E L(w_{t+1}) ≤ L(w_t) − (γ/4)‖∇L(w_t)‖² + γβσ²(γ + ρ²β), as printed (σ² without /b),
//! checked as a lower bound on the expected decrease L(w_t) − E L(w_{t+1}).
//!
//! The expectation is exact: the average over every pair (I, J) of independent batches of the
//! sampling model (n^b · n^b pairs of ordered tuples of i.i.d. indices, or, on one instance
//! coordinate, C(n, b)² pairs of b-subsets without replacement; see af22.lem13 for the choice).

use super::lem13::{descent_observation, setup};
use crate::theory::{Check, Instance, Observation};

/// af22.lem14 as printed.
pub struct Lem14;

impl Check for Lem14 {
    fn id(&self) -> &'static str {
        "af22.lem14"
    }
    fn statement(&self) -> &'static str {
        "stochastic n-SAM step, g, r <= 1/(2b): E L(w+) <= L(w) - (g/4)|grad|^2 + g b s^2 (g + r^2 b)"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let s = setup(&t[2..8], inst.seed, 2);
        let beta = s.beta_l;
        let rho = t[0] / (2.0 * beta);
        let lr = t[1].max(1e-3) / (2.0 * beta);
        let noise = lr * beta * s.sigma2 * (lr + rho * rho * beta);
        descent_observation(&s, (beta, lr, rho), 0.25, noise, true)
    }
}
