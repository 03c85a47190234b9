//! af22 Lemma 14 (stochastic n-SAM, iterates (21)), one step from a fixed w_t under (A1), (A2′),
//! γ ≤ 1/(2β), ρ ≤ 1/(2β) (β: smoothness of L):
//! E L(w_{t+1}) ≤ L(w_t) − (γ/4)‖∇L(w_t)‖² + γβσ²(γ + ρ²β), as printed (σ² without /b),
//! checked as a lower bound on the expected decrease L(w_t) − E L(w_{t+1}).
//!
//! The expectation is exact: the average over every pair (I, J) of independent batches of the
//! sampling model (n^b · n^b pairs of ordered tuples of i.i.d. indices, or, on one instance
//! coordinate, C(n, b)² pairs of b-subsets without replacement; see af22.lem13 for the choice).

use super::lem13::{Setup, setup};
use crate::problem::Batch;
use crate::theory::{Check, Constant, Instance, Observation};

/// The exact E L(w − γ∇L_I(w + ρ∇L_J(w))) and the sum of the terms' magnitudes.
fn expected_loss(s: &Setup, lr: f64, rho: f64) -> (f64, f64) {
    let d = s.p.dim();
    let (mut v, mut x, mut u, mut y) = (vec![0.0; d], vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let (mut sum, mut mag) = (0.0, 0.0);
    let all = s.batches();
    for j in &all {
        s.p.batch_grad(&s.w, Batch::Indices(j), &mut v);
        for k in 0..d {
            x[k] = s.w[k] + rho * v[k];
        }
        for i in &all {
            s.p.batch_grad(&x, Batch::Indices(i), &mut u);
            for k in 0..d {
                y[k] = s.w[k] - lr * u[k];
            }
            let l = s.p.loss(&y);
            sum += l;
            mag += l.abs();
        }
    }
    (sum / (all.len() * all.len()) as f64, mag)
}

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
        let l0 = s.p.loss(&s.w);
        let (l1, mag) = expected_loss(&s, lr, rho);
        let noise = lr * beta * s.sigma2 * (lr + rho * rho * beta);
        let rhs = 0.25 * lr * s.g2 - noise;
        let count = s.batches().len().pow(2) as f64;
        Observation::ge(
            l0 - l1,
            rhs,
            (mag / count + l0.abs()) * (count + (s.n * s.p.dim()) as f64)
                + 0.25 * lr * s.g2
                + noise,
            vec![
                Constant::exact("beta", beta),
                Constant::exact("sigma2", s.sigma2),
            ],
            format!(
                "{}; gamma*beta = {:.4}, rho*beta = {:.4}, L(w) = {l0:.6e}, E L(w+) = {l1:.6e}, |grad|^2 = {:.4e}, sigma2 = {:.4e}",
                s.what,
                lr * beta,
                rho * beta,
                s.g2,
                s.sigma2
            ),
        )
    }
}
