//! af22 Theorem 2 ((A1), (A2), m-SAM, Eq. 4, batches of size b), γ_t = 1/(√T β),
//! ρ_t = 1/(T^{1/4} β): (1/T) E Σ_{t<T} ‖∇L(w_t)‖² ≤ 4β(L(w₀) − L*)/√T + 8σ²/(b√T);
//! PL part as in Theorem 18.
//!
//! The paper derives it from Theorem 18, whose condition ρ ≤ 1/(4β) holds only for T ≥ 256; the
//! check takes T ∈ 1..=100, where ρ_t = 1/(T^{1/4} β) ∈ (0.316/β, 1/β], i.e. outside Theorem 18's
//! conditions, since the statement itself puts no condition on T. The PL part `af22.thm2.pl` is
//! the same statement, with the same code, as `af22.thm18.pl` (registered under both ids).
//! Expectations are Monte Carlo (see af22.thm15).

use super::thm12::{pl_eval, sqrt_t_eval};
use crate::theory::{Check, Instance, Observation};

/// af22.thm2 first part as printed.
pub struct Thm2;

impl Check for Thm2 {
    fn id(&self) -> &'static str {
        "af22.thm2"
    }
    fn statement(&self) -> &'static str {
        "m-SAM, g = 1/(sqrt(T) b), r = 1/(T^(1/4) b): (1/T) E sum_{t<T} |grad L(w_t)|^2 <= 4 b (L(w0) - L*)/sqrt(T) + 8 s^2/(batch sqrt(T))"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        sqrt_t_eval(inst, "msam", |beta| 4.0 * beta)
    }
}

/// af22.thm2 PL part: the statement and code of af22.thm18.pl under Theorem 2's id.
pub struct Thm2Pl;

impl Check for Thm2Pl {
    fn id(&self) -> &'static str {
        "af22.thm2.pl"
    }
    fn statement(&self) -> &'static str {
        "m-SAM, PL, g_t = min{(8t+4)/(3m(t+1)^2), 1/(2b)}, r_t = sqrt(g_t/b): E L(wT) - L* <= 3b^2(L(w0) - L*)/(m^2 T^2) + 22 b s^2/(m^2 batch T) (= af22.thm18.pl)"
    }
    fn dims(&self) -> usize {
        8
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        pl_eval(inst, "msam")
    }
}
