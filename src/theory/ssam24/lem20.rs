//! ssam24 Lemma 20 (coercivity): f µ-strongly convex and L-smooth ⇒
//! ⟨∇f(v) − ∇f(w), v − w⟩ ≥ µL/(µ + L)‖v − w‖² + 1/(µ + L)‖∇f(v) − ∇f(w)‖², on random pairs of
//! points for per-example quadratics and ℓ2-regularized logistic losses f(·, z).

use super::{dist, log_map, points, setting};
use crate::problem::{dot, norm};
use crate::theory::{Check, Constant, Instance, Observation};

/// ssam24.lem20.
pub struct Lem20;

impl Check for Lem20 {
    fn id(&self) -> &'static str {
        "ssam24.lem20"
    }
    fn statement(&self) -> &'static str {
        "<grad f(v) - grad f(w), v - w> >= mu L/(mu+L)|v-w|^2 + |grad f(v) - grad f(w)|^2/(mu+L)"
    }
    fn dims(&self) -> usize {
        5
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let n = 3;
        let s = setting(t[0], t[1], t[2], n, inst.seed);
        let (mu, l) = (s.mu, s.l);
        let p = s.prob.dim();
        let r = log_map(t[3], 0.05, 5.0);
        let gap = log_map(t[4], 1e-3, 3.0);
        let (w, v, z, _) = points(p, n, r, gap, inst.seed);
        let (mut gw, mut gv) = (vec![0.0; p], vec![0.0; p]);
        s.prob.example_grad(z, &w, &mut gw);
        s.prob.example_grad(z, &v, &mut gv);
        let dg: Vec<f64> = gv.iter().zip(&gw).map(|(a, b)| a - b).collect();
        let dw: Vec<f64> = v.iter().zip(&w).map(|(a, b)| a - b).collect();
        let lhs = dot(&dg, &dw);
        let (ndw, ndg) = (norm(&dw), norm(&dg));
        let rhs = mu * l / (mu + l) * ndw * ndw + ndg * ndg / (mu + l);
        // Δg carries the gradients' rounding (of order ‖g‖ + L‖x‖), Δw that of ‖v‖ + ‖w‖.
        let eg = norm(&gv) + norm(&gw) + l * (norm(&v) + norm(&w));
        let ew = norm(&v) + norm(&w);
        let scale =
            4.0 * p as f64 * (eg * (ndw + 2.0 * ndg / (mu + l)) + ew * (ndg + 2.0 * l * ndw));
        Observation::ge(
            lhs,
            rhs,
            scale,
            vec![Constant::exact("mu", mu), Constant::exact("L", l)],
            format!(
                "{}; p = {p}, z = {z}, mu/L = {:.4e}, |v-w| = {:.4e}, |grad diff| = {ndg:.4e}",
                s.what,
                mu / l,
                dist(&v, &w)
            ),
        )
    }
}
