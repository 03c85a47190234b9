//! af22 Lemma 16 (m-SAM, Eq. 4: the same batch I for ascent and descent), one step from a fixed w:
//! E⟨∇L_I(w + ρ∇L_I(w)), ∇L(w)⟩ ≥ (1/2 − ρβ)‖∇L(w)‖² − β²ρ²σ²/(2b) under (A1), (A2), ρ ≥ 0
//! (β: individual smoothness).
//!
//! The expectation is exact: the average over every batch I of the sampling model. As in
//! af22.lem13 (see there), the model is b i.i.d. uniform indices (all n^b ordered tuples, batch
//! variance exactly σ_w²/b, the worst case the proof's "σ²/b" allows), or, on one instance
//! coordinate, uniform b-subsets without replacement (all C(n, b)).

use super::lem13::inner_observation;
use crate::theory::{Check, Instance, Observation};

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
        inner_observation(&inst.theta, inst.seed, true)
    }
}
