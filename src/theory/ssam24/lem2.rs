//! ssam24 Lemma 2 and Lemma 4: one step of unnormalized SAM (one example, the same for ascent and
//! descent) from two points v, w with η satisfying condition (3).
//! Lemma 2 (same example z on both runs): ‖v⁺ − w⁺‖ ≤ (1 − (1 + µρ)ηµL/(µ + L))‖v − w‖.
//! Lemma 4 (z on the run from w, z′ ≠ z on the run from v): the same plus 2ηG.

use super::{Step, dist, eta_max, log_map, measured_g, points, points_two, rho_of, setting};
use crate::theory::{Check, Constant, Instance, Observation};

/// The common part of both lemmas: θ = (case, µ/L, L, ρ, η, r, gap).
fn observe(inst: &Instance, different: bool) -> Observation {
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
    let emax = eta_max(mu, l, rho);
    let eta = t[4].max(1e-3) * emax;
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
    let (w1, v1) = (sw.descend(&w, eta), sv.descend(&v, eta));
    let lhs = dist(&v1, &w1);
    let factor = 1.0 - (1.0 + mu * rho) * eta * mu * l / (mu + l);
    let d0 = dist(&v, &w);
    let mut consts = vec![Constant::exact("mu", mu), Constant::exact("L", l)];
    let mut rhs = factor * d0;
    let mut extra = String::new();
    if different {
        let g = measured_g(s.prob.as_ref(), z, z2, &w, &v, rho);
        rhs += 2.0 * eta * g;
        consts.push(Constant::measured("G", g));
        extra = format!(
            ", G = {g:.4e} measured (max |grad f(x, z)| over z, z' and x in w, v and their ascent points)"
        );
    }
    let scale = 4.0 * p as f64 * (sw.scale(&w, rho, eta, l) + sv.scale(&v, rho, eta, l));
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
