//! ssam24 Lemma 7: E_z⟨∇f(w_asc, z), ∇F_S(w)⟩ ≥ ρ(µ + L)‖∇F_S(w)‖² − ρ²L²G²/2, w_asc = w + ρ∇f(w, z),
//! the expectation exact (the n examples enumerated), for per-example quadratics and
//! ℓ2-regularized logistic losses, any ρ > 0 (the lemma has no condition on ρ). G is measured:
//! max_z ‖∇f(x, z)‖ over x ∈ {w} ∪ {w_asc(z)}.
//!
//! The proof's last step uses ½ + µρ + ρ²L²/2 ≥ ρ(µ + L), i.e. (1 − ρL)² ≥ 0: the printed
//! coefficient is weaker than what the proof derives (tight only at ρL = 1).

use super::traj::grad_sup;
use super::{Step, log_map, points, setting};
use crate::problem::{dot, norm};
use crate::theory::{Check, Constant, Instance, Observation};

/// ssam24.lem7.
pub struct Lem7;

impl Check for Lem7 {
    fn id(&self) -> &'static str {
        "ssam24.lem7"
    }
    fn statement(&self) -> &'static str {
        "E_z <grad f(w + rho grad f(w,z), z), grad F_S(w)> >= rho(mu+L)|grad F_S(w)|^2 - rho^2 L^2 G^2/2"
    }
    fn dims(&self) -> usize {
        6
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let n = 1 + ((t[5] * 10.0) as usize).min(9);
        let s = setting(t[0], t[1], t[2], n, inst.seed);
        let (mu, l) = (s.mu, s.l);
        let p = s.prob.dim();
        let rho = log_map(t[3], 1e-3, 1e2) / l;
        let (w, _, _, _) = points(p, n, log_map(t[4], 1e-2, 10.0), 0.0, inst.seed);
        let mut gf = vec![0.0; p];
        s.prob.grad(&w, &mut gf);
        let mut buf = vec![0.0; p];
        let mut g = grad_sup(s.prob.as_ref(), &w, &mut buf);
        let mut lhs = 0.0;
        let mut scale = 0.0;
        let ngf = norm(&gf);
        for z in 0..n {
            let st = Step::new(s.prob.as_ref(), z, &w, rho);
            g = g.max(grad_sup(s.prob.as_ref(), &st.asc, &mut buf));
            lhs += dot(&st.g_asc, &gf);
            scale +=
                (norm(&st.g_asc) + l * (norm(&st.asc) + rho * norm(&st.g))) * (ngf + l * norm(&w));
        }
        lhs /= n as f64;
        scale /= n as f64;
        let a = rho * (mu + l) * ngf * ngf;
        let b = rho * rho * l * l * g * g / 2.0;
        let rhs = a - b;
        Observation::ge(
            lhs,
            rhs,
            8.0 * p as f64 * (scale + a + b),
            vec![
                Constant::exact("mu", mu),
                Constant::exact("L", l),
                Constant::measured("G", g),
            ],
            format!(
                "{}; p = {p}, n = {n}, mu/L = {:.4e}, rho*L = {:.4e}, |grad F_S(w)| = {ngf:.4e}, rho(mu+L)|grad F_S|^2 = {a:.4e}, rho^2L^2G^2/2 = {b:.4e}; G = {g:.4e} measured (max_z |grad f(x,z)| over x = w and the n ascent points); the proof's own coefficient 1/2 + mu rho + rho^2L^2/2 would give {:.4e}",
                s.what,
                mu / l,
                rho * l,
                (0.5 + mu * rho + 0.5 * rho * rho * l * l) * ngf * ngf - b
            ),
        )
    }
}
