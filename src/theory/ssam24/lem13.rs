//! ssam24 Lemma 13: for 0 < γ_k < 1 (k = 1..T), γ^k_max = max(γ_1, …, γ_k), α > 0,
//! 0 < β < 1/γ^T_max and i ≥ 1: (1 − γ_{k+1}β)Ψ(k) + γ_{k+1}^i α ≤ Ψ(k + 1), where
//! Ψ(k) = [Σ_{j=0}^{k−1} (1 − γ^k_max β)^j](γ^k_max)^i α. A pure inequality over
//! θ ↦ (T ≤ 6, γ_1..γ_T, β, i ∈ {1, 2, 3}, k, α).

use super::log_map;
use crate::theory::{Check, Instance, Observation};

/// Ψ(k) for the sequence `g` (γ_1 = g[0]).
fn psi(g: &[f64], k: usize, beta: f64, i: i32, alpha: f64) -> f64 {
    let gm = g[..k].iter().copied().fold(0.0f64, f64::max);
    let base = 1.0 - gm * beta;
    let sum: f64 = (0..k).map(|j| base.powi(j as i32)).sum();
    sum * gm.powi(i) * alpha
}

/// ssam24.lem13.
pub struct Lem13;

impl Check for Lem13 {
    fn id(&self) -> &'static str {
        "ssam24.lem13"
    }
    fn statement(&self) -> &'static str {
        "(1 - g_{k+1} b) Psi(k) + g_{k+1}^i a <= Psi(k+1), Psi(k) = [sum_{j<k}(1 - g^k_max b)^j](g^k_max)^i a"
    }
    fn dims(&self) -> usize {
        11
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let big_t = 2 + ((t[0] * 5.0) as usize).min(4);
        let g: Vec<f64> = t[1..1 + big_t]
            .iter()
            .map(|x| 1e-9 + x * (1.0 - 2e-9))
            .collect();
        let gmax = g.iter().copied().fold(0.0f64, f64::max);
        let beta = t[7].max(1e-9) * (1.0 - 1e-12) / gmax;
        let i = 1 + ((t[8] * 3.0) as i32).min(2);
        let k = 1 + ((t[9] * (big_t - 1) as f64) as usize).min(big_t - 2);
        let alpha = log_map(t[10], 1e-2, 1e2);
        let lhs = (1.0 - g[k] * beta) * psi(&g, k, beta, i, alpha) + g[k].powi(i) * alpha;
        let rhs = psi(&g, k + 1, beta, i, alpha);
        Observation::le(
            lhs,
            rhs,
            4.0 * (big_t as f64) * (lhs.abs() + rhs.abs()),
            vec![],
            format!(
                "T = {big_t}, gamma = {g:.6?}, k = {k}, gamma_(k+1) = {:.6}, gamma^k_max = {:.6}, beta*gamma^T_max = {:.6}, i = {i}, alpha = {alpha:.4e}",
                g[k],
                g[..k].iter().copied().fold(0.0f64, f64::max),
                beta * gmax
            ),
        )
    }
}
