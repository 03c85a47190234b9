//! ssam24 Remark 3, as deterministic algebraic inequalities over θ ↦ (µ/L, L, ρ, …).
//! (a) The right side of (3), 2/(µ + L) − (µ + L)/(2µL(µ/(ρL²) + 1)), is positive for every ρ > 0
//!     if µ = L, and if µ < L exactly when ρ < 4µ²/(L(L − µ)²).
//! (b) For all ρ > 0: 2/(µ + L) − (µ + L)/(2µL(µ/(ρL²) + 1)) < 2/((1 + µρ)(µ + L)).

use super::{eta_max, log_map, ratio_of, rho_star};
use crate::theory::{Check, Constant, Instance, Observation};

/// Remark 3 (a): sign(RHS of (3)) = sign(ρ* − ρ) (ρ* = ∞ when µ = L), checked as
/// −s₁s₂ ≤ 0 with s₁ = (µ + L)·RHS(3)/2 and s₂ = 1 − ρL(L − µ)²/(4µ²).
pub struct Rem3;

impl Check for Rem3 {
    fn id(&self) -> &'static str {
        "ssam24.rem3"
    }
    fn statement(&self) -> &'static str {
        "RHS of (3) > 0 for all rho > 0 if mu = L; for mu < L iff rho < 4mu^2/(L(L-mu)^2)"
    }
    fn dims(&self) -> usize {
        4
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let l = log_map(t[1], 0.1, 10.0);
        let mu = l * ratio_of(t[0]);
        let rs = rho_star(mu, l);
        let rho = if rs.is_finite() {
            if t[3] > 0.75 {
                rs
            } else {
                rs * log_map(t[2], 1e-2, 1e2)
            }
        } else {
            log_map(t[2], 1e-4, 1e4) / l
        };
        let second = (mu + l) * (mu + l) / (4.0 * mu * l * (mu / (rho * l * l) + 1.0));
        let s1 = 0.5 * (mu + l) * eta_max(mu, l, rho);
        let q = rho * l * (l - mu) * (l - mu) / (4.0 * mu * mu);
        let s2 = 1.0 - q;
        let (t1, t2) = (1.0 + second, 1.0 + q);
        let scale = t1 * s2.abs() + t2 * s1.abs() + f64::EPSILON * t1 * t2;
        Observation::le(
            -s1 * s2,
            0.0,
            scale,
            vec![Constant::exact("mu", mu), Constant::exact("L", l)],
            format!(
                "mu/L = {:.6e}, rho*L = {:.6e}, rho/rho* = {:.6e}; (mu+L)/2 * RHS(3) = {s1:.6e}, 1 - rho/rho* = {s2:.6e} (same sign required)",
                mu / l,
                rho * l,
                rho / rs
            ),
        )
    }
}

/// The printed sides of Remark 3 (b) and their exactly signed difference
/// RHS − LHS = ρ(L − µ)[(L − µ)L(1 + µρ) + 4µ(L + µ)] / (2µ(µ + L)(1 + µρ)(µ + ρL²)).
fn rem3b(inst: &Instance) -> (f64, f64, f64, f64, f64, f64, f64) {
    let t = &inst.theta;
    let l = log_map(t[1], 0.1, 10.0);
    let mu = l * ratio_of(t[0]);
    let rho = log_map(t[2], 1e-4, 1e4) / l;
    let lhs = eta_max(mu, l, rho);
    let rhs = 2.0 / ((1.0 + mu * rho) * (mu + l));
    let gap = rho * (l - mu) * ((l - mu) * l * (1.0 + mu * rho) + 4.0 * mu * (l + mu))
        / (2.0 * mu * (mu + l) * (1.0 + mu * rho) * (mu + rho * l * l));
    let scale = 2.0 / (mu + l) + (mu + l) / (2.0 * mu * l * (mu / (rho * l * l) + 1.0)) + rhs;
    (mu, l, rho, lhs, rhs, gap, scale)
}

/// The finding on Remark 3 (b) (FINDINGS.md).
const FINDING: &str = "FINDINGS.md#ssam24rem3-strict-inequality";

/// Remark 3 (b) as printed (strict), checked through the exactly signed gap: RHS − LHS > 0.
pub struct Rem3Bound;

impl Check for Rem3Bound {
    fn id(&self) -> &'static str {
        "ssam24.rem3.b"
    }
    fn statement(&self) -> &'static str {
        "for all rho > 0: 2/(mu+L) - (mu+L)/(2muL(mu/(rho L^2)+1)) < 2/((1+mu rho)(mu+L)) (strict)"
    }
    fn dims(&self) -> usize {
        3
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let (mu, l, rho, lhs, rhs, gap, _) = rem3b(inst);
        // Strict: a violation is gap <= 0, and the factored gap is exactly 0 iff µ = L exactly.
        Observation {
            slack: -f64::MIN_POSITIVE,
            ..Observation::ge(
                gap,
                0.0,
                0.0,
                vec![Constant::exact("mu", mu), Constant::exact("L", l)],
                format!(
                    "mu/L = {:.6e}, rho*L = {:.6e}; printed LHS = {lhs:.10e}, RHS = {rhs:.10e}; RHS - LHS (exactly signed, factored) = {gap:.6e}: strict '<' needs it > 0",
                    mu / l,
                    rho * l
                ),
            )
        }
    }
    fn finding(&self) -> Option<&'static str> {
        Some(FINDING)
    }
}

/// Remark 3 (b) as the algebra supports it: ≤ for all ρ > 0 (equality iff µ = L).
pub struct Rem3BoundCorrected;

impl Check for Rem3BoundCorrected {
    fn id(&self) -> &'static str {
        "ssam24.rem3.b.corrected"
    }
    fn statement(&self) -> &'static str {
        "for all rho > 0: 2/(mu+L) - (mu+L)/(2muL(mu/(rho L^2)+1)) <= 2/((1+mu rho)(mu+L)), = iff mu = L"
    }
    fn dims(&self) -> usize {
        3
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let (mu, l, rho, lhs, rhs, gap, scale) = rem3b(inst);
        Observation::le(
            lhs,
            rhs,
            4.0 * scale,
            vec![Constant::exact("mu", mu), Constant::exact("L", l)],
            format!(
                "mu/L = {:.6e}, rho*L = {:.6e}; RHS - LHS (factored) = {gap:.6e}",
                mu / l,
                rho * l
            ),
        )
    }
}
