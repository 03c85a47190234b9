//! ssam24 Lemmas 11 and 12: one step of SSAM, w ← w − ηγ_t∇f(w_asc, z) with
//! γ_t = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖, from two points v, w, for
//! η ≤ (1/γ_upp)[2/(µ + L) − (µ + L)/(2µL(µ/(ρL²) + 1))].
//! Lemma 11 (same z): ‖v⁺ − w⁺‖ ≤ (1 − (1 + µρ)γ_tηµL/(µ + L))‖v − w‖; Lemma 12 (z′ ≠ z on the run
//! from v): the same plus 2ηγ_tG.
//!
//! The real algorithm computes its own γ on each run (γ_w from w, γ_v from v); the paper's proof
//! uses one γ_t for both. The printed checks run the real algorithm and take γ_t = γ_w in the
//! bound; γ_upp is measured as max(γ_w, γ_v). `ssam24.lem12.corrected` is what the proof's argument
//! gives for the real algorithm (Lemma 11 with γ_v on example z′, then the triangle inequality):
//! ‖v⁺ − w⁺‖ ≤ (1 − (1 + µρ)γ_vηµL/(µ + L))‖v − w‖ + η(γ_w + γ_v)G.

use super::{Pair, dist, eta_max, pair};
use crate::theory::{Check, Constant, Instance, Observation};

/// θ = (case, µ/L, L, ρ, η, r, gap); `different`: z′ ≠ z on the run from v; `corrected`: the
/// bound of `ssam24.lem12.corrected` instead of the printed one.
fn observe(inst: &Instance, different: bool, corrected: bool) -> Observation {
    let t = &inst.theta;
    let pr = pair(inst, different);
    let Pair {
        s,
        rho,
        p,
        w,
        v,
        z,
        zv,
        sw,
        sv,
        ..
    } = &pr;
    let (mu, l, rho, p, z, zv) = (s.mu, s.l, *rho, *p, *z, *zv);
    let gamma = sw.gamma;
    let gamma_v = sv.gamma;
    let gamma_upp = sw.gamma.max(sv.gamma);
    let emax = eta_max(mu, l, rho) / gamma_upp;
    let eta = t[4].max(1e-3) * emax;
    let (w1, v1) = (sw.descend(w, eta * gamma), sv.descend(v, eta * gamma_v));
    let lhs = dist(&v1, &w1);
    let gamma_f = if corrected { gamma_v } else { gamma };
    let factor = 1.0 - (1.0 + mu * rho) * gamma_f * eta * mu * l / (mu + l);
    let d0 = dist(v, w);
    let mut consts = vec![
        Constant::exact("mu", mu),
        Constant::exact("L", l),
        Constant::measured("gamma_t", gamma),
        Constant::measured("gamma_upp", gamma_upp),
    ];
    let mut rhs = factor * d0;
    let mut extra = String::new();
    if different {
        let (g, note) = pr.g(&mut consts);
        rhs += if corrected {
            eta * (gamma + gamma_v) * g
        } else {
            2.0 * eta * gamma * g
        };
        extra = note;
    }
    let scale =
        4.0 * p as f64 * (sw.scale(w, rho, eta * gamma, l) + sv.scale(v, rho, eta * gamma_v, l));
    let steps = if corrected {
        "real SSAM: each run its own gamma; corrected bound (1 - (1+mu rho) gamma_v eta mu L/(mu+L))|v-w| + eta (gamma_w + gamma_v) G"
    } else {
        "real SSAM: each run its own gamma; gamma_t = gamma_w (run on w) in the bound"
    };
    Observation::le(
        lhs,
        rhs,
        scale,
        consts,
        format!(
            "{}; {steps}; gamma_w = {:.6}, gamma_v = {:.6}, gamma_upp = {gamma_upp:.6} measured, Assumption 1 (gamma_upp < 1): {}; p = {p}, z = {z}, z' = {zv}, mu/L = {:.4e}, rho*L = {:.4e}, eta/eta_max(5) = {:.4}, eta*L = {:.4e}, factor = {factor:.6}, |v-w| = {d0:.4e}, |v+ - w+| = {lhs:.4e}{extra}",
            s.what,
            sw.gamma,
            sv.gamma,
            if gamma_upp < 1.0 { "holds" } else { "FAILS" },
            mu / l,
            rho * l,
            eta / emax,
            eta * l
        ),
    )
}

/// The finding on Lemma 12 (FINDINGS.md).
const FINDING: &str = "FINDINGS.md#ssam24lem12";

/// ssam24.lem11.
pub struct Lem11;

impl Check for Lem11 {
    fn id(&self) -> &'static str {
        "ssam24.lem11"
    }
    fn statement(&self) -> &'static str {
        "SSAM, same z: |v+ - w+| <= (1 - (1+mu rho) g_t eta mu L/(mu+L))|v - w| for eta <= (1/g_upp)(3)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, false, false)
    }
}

/// ssam24.lem12.
pub struct Lem12;

impl Check for Lem12 {
    fn id(&self) -> &'static str {
        "ssam24.lem12"
    }
    fn statement(&self) -> &'static str {
        "SSAM, z != z': |v+ - w+| <= (1 - (1+mu rho) g_t eta mu L/(mu+L))|v - w| + 2 eta g_t G"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, true, false)
    }
    fn finding(&self) -> Option<&'static str> {
        Some(FINDING)
    }
    fn known(&self) -> Vec<Instance> {
        // The full-mode counter-example of the finding (findings/ssam24.lem12.json).
        vec![Instance {
            theta: vec![
                0.11294367236897129,
                0.8073085447243761,
                0.59375,
                0.7281840158312572,
                1.0,
                0.8593962523213124,
                0.0,
            ],
            seed: 15054882709202867960,
        }]
    }
}

/// ssam24.lem12 as the proof's argument supports it for the real algorithm.
pub struct Lem12Corrected;

impl Check for Lem12Corrected {
    fn id(&self) -> &'static str {
        "ssam24.lem12.corrected"
    }
    fn statement(&self) -> &'static str {
        "real SSAM, z != z': |v+ - w+| <= (1 - (1+mu rho) g_v eta mu L/(mu+L))|v - w| + eta (g_w + g_v) G"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, true, true)
    }
}
