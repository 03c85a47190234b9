//! ssam24 Corollary 6: with the same η satisfying (3) and T steps, the SAM bound of Theorem 5,
//! 2G²(µ + L)/(nµL(1 + µρ))·{1 − [1 − (1 + µρ)ηµL/(µ + L)]^T}, is at most the SGD bound
//! 2G²(µ + L)/(nµL)·{1 − [1 − ηµL/(µ + L)]^T}. A pure inequality in (µ, L, ρ, η, T, n); G cancels
//! (G = 1).

use super::{eta_max, log_map, ratio_of, rho_of};
use crate::theory::{Check, Constant, Instance, Observation};

/// 1 − (1 − x)^T, accurate for small x.
fn one_minus_pow(x: f64, t: f64) -> f64 {
    -(t * (-x).ln_1p()).exp_m1()
}

/// ssam24.cor6.
pub struct Cor6;

impl Check for Cor6 {
    fn id(&self) -> &'static str {
        "ssam24.cor6"
    }
    fn statement(&self) -> &'static str {
        "SAM bound 2G^2(mu+L)/(n mu L(1+mu rho)){1-[1-(1+mu rho)a]^T} <= SGD bound 2G^2(mu+L)/(n mu L){1-[1-a]^T}, a = eta mu L/(mu+L)"
    }
    fn dims(&self) -> usize {
        6
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let l = log_map(t[1], 0.1, 10.0);
        let mu = l * ratio_of(t[0]);
        let rho = rho_of(t[2], mu, l);
        let emax = eta_max(mu, l, rho);
        let eta = t[3].max(1e-3) * emax;
        let steps = log_map(t[4], 1.0, 1e4).round().max(1.0);
        let n = log_map(t[5], 1.0, 1e3).round().max(1.0);
        let g = 1.0;
        let a = eta * mu * l / (mu + l);
        let q = 1.0 + mu * rho;
        let c = 2.0 * g * g * (mu + l) / (n * mu * l);
        let sam = c / q * one_minus_pow(q * a, steps);
        let sgd = c * one_minus_pow(a, steps);
        Observation::le(
            sam,
            sgd,
            8.0 * (sam.abs() + sgd.abs()),
            vec![
                Constant::exact("mu", mu),
                Constant::exact("L", l),
                Constant::exact("G", g),
            ],
            format!(
                "mu/L = {:.4e}, rho*L = {:.4e}, eta/eta_max(3) = {:.4}, eta*L = {:.4e}, T = {steps}, n = {n}, (1+mu rho) a = {:.4e}",
                mu / l,
                rho * l,
                eta / emax,
                eta * l,
                q * a
            ),
        )
    }
}
