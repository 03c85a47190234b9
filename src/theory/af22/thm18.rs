//! af22 Theorem 18 ((A1), (A2), γ ≤ 1/β, ρ ≤ 1/(4β), m-SAM, Eq. 4: the same batch I of size b for
//! ascent and descent; β the individual smoothness):
//! (1/T) E Σ_{t<T} ‖∇L(w_t)‖² ≤ 8(L(w₀) − E L(w_T))/(3Tγ) + 8σ²β(γ + ρ²β)/(3b);
//! with (A3), γ_t = min{(8t+4)/(3µ(t+1)²), 1/(2β)}, ρ_t = √(γ_t/β):
//! E L(w_T) − L* ≤ 3β²(L(w₀) − L*)/(µ²T²) + 22βσ²/(µ²bT).
//!
//! Summing Lemma 17 gives the noise term 8σ²β(γ + 2ρ²β)/(3b); the printed (γ + ρ²β) is smaller,
//! so the printed first part is checked as printed. The loss terms are moved to the left (as in
//! af22.thm15): per replicate X = (1/T) Σ_{t<T} ‖∇L(w_t)‖² − 8(L(w₀) − L(w_T))/(3Tγ), and
//! E X ≤ 8σ²β(γ + ρ²β)/(3b). Expectations are Monte Carlo (see af22.thm15); the PL part runs on
//! strongly convex quadratics and the sin family.

use super::thm12::pl_eval;
use super::thm15::constant_step_eval;
use crate::theory::{Check, Instance, Observation};

/// af22.thm18 first part as printed.
pub struct Thm18;

impl Check for Thm18 {
    fn id(&self) -> &'static str {
        "af22.thm18"
    }
    fn statement(&self) -> &'static str {
        "m-SAM, g <= 1/b, r <= 1/(4b): (1/T) E sum_{t<T} |grad L(w_t)|^2 <= 8(L(w0) - E L(wT))/(3T g) + 8 s^2 b (g + r^2 b)/(3 batch)"
    }
    fn dims(&self) -> usize {
        10
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        constant_step_eval(inst, "msam", 1.0, 0.25, 8.0 / 3.0, |_| 8.0 / 3.0)
    }
}

/// af22.thm18 PL part as printed.
pub struct Thm18Pl;

impl Check for Thm18Pl {
    fn id(&self) -> &'static str {
        "af22.thm18.pl"
    }
    fn statement(&self) -> &'static str {
        "m-SAM, PL, g_t = min{(8t+4)/(3m(t+1)^2), 1/(2b)}, r_t = sqrt(g_t/b): E L(wT) - L* <= 3b^2(L(w0) - L*)/(m^2 T^2) + 22 b s^2/(m^2 batch T)"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        pl_eval(inst, "msam")
    }
}
