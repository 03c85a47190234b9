//! The ssam24 quartic saddle f(x) = x₁⁴/4 − x₁x₂ + x₂²/2 on ℝ² (one example): a strict saddle
//! at 0 (Hessian eigenvalues (1 ± √5)/2) and two minimizers ±(1, 1) with f = −¼.

use super::{Batch, Const, Constants, Problem};

/// The quartic saddle f(x) = x₁⁴/4 − x₁x₂ + x₂²/2 (n = 1, p = 2).
#[derive(Clone, Copy, Debug, Default)]
pub struct QuarticSaddle;

impl QuarticSaddle {
    /// The problem (it has no parameters).
    pub fn new() -> Self {
        QuarticSaddle
    }

    /// f(x).
    #[inline]
    pub fn value(x: &[f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        let a2 = a * a;
        0.25 * a2 * a2 - a * b + 0.5 * b * b
    }
}

impl Problem for QuarticSaddle {
    fn name(&self) -> &str {
        "quartic-saddle"
    }
    fn dim(&self) -> usize {
        2
    }
    fn n_examples(&self) -> usize {
        1
    }
    fn example_loss(&self, _i: usize, w: &[f64]) -> f64 {
        Self::value(w)
    }
    fn loss(&self, w: &[f64]) -> f64 {
        Self::value(w)
    }
    /// ∇f = (x₁³ − x₂, x₂ − x₁), for every non-empty batch (one example); 0 for an empty one.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        if let Batch::Indices(&[]) = batch {
            out.fill(0.0);
            return;
        }
        let (a, b) = (w[0], w[1]);
        out[0] = a * a * a - b;
        out[1] = b - a;
    }
    /// [[3x₁², −1], [−1, 1]].
    fn hessian(&self, w: &[f64]) -> Option<Vec<f64>> {
        Some(vec![3.0 * w[0] * w[0], -1.0, -1.0, 1.0])
    }
    /// L* = −¼ at (1, 1) (and (−1, −1)); σ² = 0 (one example); β and µ unknown (the Hessian
    /// is unbounded and the saddle at 0 rules out PL).
    fn constants(&self) -> Constants {
        Constants {
            sigma2: Const::Exact(0.0),
            loss_min: Const::Exact(-0.25),
            minimizer: Some(vec![1.0, 1.0]),
            ..Constants::unknown()
        }
    }
    /// (0.5, −0.5): off the saddle and both minimizers (f = 0.390625).
    fn init(&self) -> Vec<f64> {
        vec![0.5, -0.5]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_points() {
        let q = QuarticSaddle::new();
        let mut g = [0.0; 2];
        for x in [[0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]] {
            q.grad(&x, &mut g);
            assert_eq!(g, [0.0, 0.0]);
        }
        assert_eq!(q.loss(&[1.0, 1.0]), -0.25);
        assert_eq!(q.loss(&[-1.0, -1.0]), -0.25);
        assert_eq!(q.loss(&q.init()), 0.390625);
        // The saddle: one negative Hessian eigenvalue (1 − √5)/2.
        let ev = super::super::sym_eigenvalues(&q.hessian(&[0.0, 0.0]).unwrap(), 2);
        assert!((ev[0] - (1.0 - 5f64.sqrt()) / 2.0).abs() < 1e-14);
        // −¼ is the minimum: f ≥ −¼ on a grid.
        for i in -40..=40 {
            for j in -40..=40 {
                let x = [i as f64 * 0.05, j as f64 * 0.05];
                assert!(q.loss(&x) >= -0.25);
            }
        }
    }
}
