//! af22 Lemma 7: ⟨∇L(w + ρ∇L(w)), ∇L(w)⟩ ≥ (1 + aρ)‖∇L(w)‖² with a = −β for β-smooth L, a = 0
//! for convex L, a = µ for µ-strongly convex L. Instances: the non-convex shared-linear families
//! (a = −β, β exact), singular quadratics (convex, a = 0) and strongly convex quadratics (a = µ,
//! exact); any ρ in (0, 4/β], any w.

use super::{class_of, gaussian, log_map, quadratic, rng_of, shared_linear};
use crate::problem::{Problem, SharedPart, dot};
use crate::theory::{Check, Constant, Instance, Observation};

/// af22.lem7.
pub struct Lem7;

impl Check for Lem7 {
    fn id(&self) -> &'static str {
        "af22.lem7"
    }
    fn statement(&self) -> &'static str {
        "<grad L(w+rho grad L), grad L> >= (1 + a rho)|grad L|^2"
    }
    fn dims(&self) -> usize {
        4
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let mut rng = rng_of(inst.seed);
        let case = class_of(t[0], 4);
        let beta = log_map(t[2], 0.1, 10.0);
        let (p, a, name): (Box<dyn Problem>, f64, &str) = match case {
            0 => (
                Box::new(shared_linear(&mut rng, SharedPart::LogOnePlusSq, 3, 1.0)),
                f64::NAN,
                "log(1+w^2) family, a = -beta",
            ),
            1 => (
                Box::new(shared_linear(&mut rng, SharedPart::SqPlusSin, 3, 1.0)),
                f64::NAN,
                "w^2 + 3 sin^2 w family, a = -beta",
            ),
            2 => (
                Box::new(quadratic(&mut rng, beta, 0.0, 3, 1.0)),
                0.0,
                "convex quadratic (mu = 0), a = 0",
            ),
            _ => {
                let mu = beta * log_map(t[3], 1e-3, 1.0);
                (
                    Box::new(quadratic(&mut rng, beta, mu, 3, 1.0)),
                    mu,
                    "strongly convex quadratic, a = mu",
                )
            }
        };
        let c = p.constants();
        let b = c.smoothness.exact().expect("exact beta");
        let a = if case < 2 { -b } else { a };
        let rho = 4.0 * t[1] / b;
        let w: Vec<f64> = gaussian(&mut rng, p.dim())
            .iter()
            .map(|x| x * log_map(t[3], 0.05, 5.0))
            .collect();
        let mut g = vec![0.0; p.dim()];
        p.grad(&w, &mut g);
        let wa: Vec<f64> = w.iter().zip(&g).map(|(x, y)| x + rho * y).collect();
        let mut ga = vec![0.0; p.dim()];
        p.grad(&wa, &mut ga);
        let lhs = dot(&ga, &g);
        let g2 = dot(&g, &g);
        let rhs = (1.0 + a * rho) * g2;
        let scale = (1.0 + rho * b) * g2 * p.dim() as f64;
        let mut consts = vec![Constant::exact("beta", b)];
        if case >= 2 {
            consts.push(Constant::exact("mu", a));
        }
        Observation::ge(
            lhs,
            rhs,
            scale,
            consts,
            format!(
                "{name}; p = {}, rho = {rho:.4e}, |grad| = {:.3e}",
                p.dim(),
                g2.sqrt()
            ),
        )
    }
}
