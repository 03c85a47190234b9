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

use super::{Step, dist, eta_max, log_map, measured_g, points, points_two, rho_of, setting};
use crate::theory::{Check, Constant, Instance, Observation};

/// θ = (case, µ/L, L, ρ, η, r, gap); `different`: z′ ≠ z on the run from v; `corrected`: the
/// bound of `ssam24.lem12.corrected` instead of the printed one.
fn observe(inst: &Instance, different: bool, corrected: bool) -> Observation {
    let t = &inst.theta;
    let n = 3;
    // Two examples: µ/L log-uniform on [0.05, 1] (logistic λ ≥ 0.35), where γ varies most.
    let t_ratio = if different {
        0.566 + 0.434 * t[1]
    } else {
        t[1]
    };
    let s = setting(t[0], t_ratio, t[2], n, inst.seed);
    let (mu, l) = (s.mu, s.l);
    let rho = rho_of(t[3], mu, l);
    let p = s.prob.dim();
    let gap = log_map(t[6], 1e-3, 3.0);
    let (w, v, z, z2) = if different {
        points_two(&s, n, log_map(t[5], 1e-3, 5.0), gap, inst.seed)
    } else {
        points(p, n, log_map(t[5], 0.05, 5.0), gap, inst.seed)
    };
    let zv = if different { z2 } else { z };
    let sw = Step::new(s.prob.as_ref(), z, &w, rho);
    let sv = Step::new(s.prob.as_ref(), zv, &v, rho);
    let gamma = sw.gamma;
    let gamma_v = sv.gamma;
    let gamma_upp = sw.gamma.max(sv.gamma);
    let emax = eta_max(mu, l, rho) / gamma_upp;
    let eta = t[4].max(1e-3) * emax;
    let (w1, v1) = (sw.descend(&w, eta * gamma), sv.descend(&v, eta * gamma_v));
    let lhs = dist(&v1, &w1);
    let gamma_f = if corrected { gamma_v } else { gamma };
    let factor = 1.0 - (1.0 + mu * rho) * gamma_f * eta * mu * l / (mu + l);
    let d0 = dist(&v, &w);
    let mut consts = vec![
        Constant::exact("mu", mu),
        Constant::exact("L", l),
        Constant::measured("gamma_t", gamma),
        Constant::measured("gamma_upp", gamma_upp),
    ];
    let mut rhs = factor * d0;
    let mut extra = String::new();
    if different {
        let g = measured_g(s.prob.as_ref(), z, z2, &w, &v, rho);
        rhs += if corrected {
            eta * (gamma + gamma_v) * g
        } else {
            2.0 * eta * gamma * g
        };
        consts.push(Constant::measured("G", g));
        extra = format!(
            ", G = {g:.4e} measured (max |grad f(x, z)| over z, z' and x in w, v and their ascent points)"
        );
    }
    let scale =
        4.0 * p as f64 * (sw.scale(&w, rho, eta * gamma, l) + sv.scale(&v, rho, eta * gamma_v, l));
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
