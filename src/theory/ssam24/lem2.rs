//! ssam24 Lemma 2 and Lemma 4: one step of unnormalized SAM (one example, the same for ascent and
//! descent) from two points v, w with η satisfying condition (3).
//! Lemma 2 (same example z on both runs): ‖v⁺ − w⁺‖ ≤ (1 − (1 + µρ)ηµL/(µ + L))‖v − w‖.
//! Lemma 4 (z on the run from w, z′ ≠ z on the run from v): the same plus 2ηG.

use super::{Pair, dist, eta_max, pair};
use crate::theory::{Check, Constant, Instance, Observation};

/// The common part of both lemmas: θ = (case, µ/L, L, ρ, η, r, gap).
fn observe(inst: &Instance, different: bool) -> Observation {
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
    let emax = eta_max(mu, l, rho);
    let eta = t[4].max(1e-3) * emax;
    let (w1, v1) = (sw.descend(w, eta), sv.descend(v, eta));
    let lhs = dist(&v1, &w1);
    let factor = 1.0 - (1.0 + mu * rho) * eta * mu * l / (mu + l);
    let d0 = dist(v, w);
    let mut consts = vec![Constant::exact("mu", mu), Constant::exact("L", l)];
    let mut rhs = factor * d0;
    let mut extra = String::new();
    if different {
        let (g, note) = pr.g(&mut consts);
        rhs += 2.0 * eta * g;
        extra = note;
    }
    let scale = 4.0 * p as f64 * (sw.scale(w, rho, eta, l) + sv.scale(v, rho, eta, l));
    Observation::le(
        lhs,
        rhs,
        scale,
        consts,
        format!(
            "{}; p = {p}, z = {z}, z' = {zv}, mu/L = {:.4e}, rho*L = {:.4e} (rho/rho* = {:.3e}), eta/eta_max(3) = {:.4}, eta*L = {:.4e}, factor = {factor:.6}, |v-w| = {d0:.4e}, |v+ - w+| = {lhs:.4e}{extra}",
            s.what,
            mu / l,
            rho * l,
            rho / super::rho_star(mu, l),
            eta / emax,
            eta * l
        ),
    )
}

/// ssam24.lem2.
pub struct Lem2;

impl Check for Lem2 {
    fn id(&self) -> &'static str {
        "ssam24.lem2"
    }
    fn statement(&self) -> &'static str {
        "SAM, same z: |v+ - w+| <= (1 - (1+mu rho) eta mu L/(mu+L))|v - w| for eta <= (3)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, false)
    }
}

/// ssam24.lem4.
pub struct Lem4;

impl Check for Lem4 {
    fn id(&self) -> &'static str {
        "ssam24.lem4"
    }
    fn statement(&self) -> &'static str {
        "SAM, z != z': |v+ - w+| <= (1 - (1+mu rho) eta mu L/(mu+L))|v - w| + 2 eta G for eta <= (3)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, true)
    }
}
