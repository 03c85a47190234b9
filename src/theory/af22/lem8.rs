//! af22 Lemma 8, both parts, on one full-batch n-SAM step (Eq. 20).
//! Part 1 ((A2′), γ ≤ 1/β): L(w⁺) ≤ L(w) − γ(1 − ρβ)(1 − (γβ/2)(1 − ρβ))‖∇L(w)‖², any ρ ≥ 0.
//! Part 2 ((A2′) and (A3) with possibly µ = 0, γ, ρ ≥ 0 with γβ(2 − ρβ) ≤ 2):
//! L(w⁺) ≤ L(w) − γ(1 − γβ/2 + ρµ(1 − γβ − γρβ²/2))‖∇L(w)‖².
//! Both are checked as a lower bound on the decrease L(w) − L(w⁺).

use super::{class_of, gaussian, log_map, quadratic, rng_of, shared_linear};
use crate::optim::{Method, Workspace, step};
use crate::problem::{Logistic, Problem, SharedPart, dot};
use crate::rng::stream;
use crate::theory::{Check, Constant, Instance, Observation};

/// A problem class of the instance space, with its exact β and PL constant µ (0 when not PL).
fn problem(
    case: usize,
    t_beta: f64,
    t_mu: f64,
    seed: u64,
) -> (Box<dyn Problem>, f64, f64, &'static str) {
    let mut rng = rng_of(seed);
    let beta = log_map(t_beta, 0.1, 10.0);
    match case {
        0 => (
            Box::new(shared_linear(&mut rng, SharedPart::LogOnePlusSq, 3, 1.0)),
            2.0,
            0.0,
            "log(1+w^2) family (non-convex, mu = 0)",
        ),
        1 => (
            Box::new(shared_linear(&mut rng, SharedPart::SqPlusSin, 3, 1.0)),
            8.0,
            1.0 / 32.0,
            "w^2 + 3 sin^2 w family (non-convex, PL mu = 1/32)",
        ),
        2 => (
            Box::new(quadratic(&mut rng, beta, 0.0, 3, 1.0)),
            beta,
            0.0,
            "convex quadratic (mu = 0)",
        ),
        _ => {
            let mu = beta * log_map(t_mu, 1e-3, 1.0);
            (
                Box::new(quadratic(&mut rng, beta, mu, 3, 1.0)),
                beta,
                mu,
                "strongly convex quadratic",
            )
        }
    }
}

/// A convex problem class: quadratics (µ = λ_min, possibly 0) and ℓ2-regularized logistic
/// regression (µ = λ, β = λ + λ_max(XᵀX/n)/4), all constants exact.
fn convex_problem(
    case: usize,
    t_beta: f64,
    t_mu: f64,
    seed: u64,
) -> (Box<dyn Problem>, f64, f64, &'static str) {
    if case < 3 {
        return problem(2 + case.min(1), t_beta, t_mu, seed);
    }
    let lambda = log_map(t_mu, 1e-3, 1.0);
    let l = Logistic::random(3, 8, lambda, seed).expect("valid by construction");
    let beta = l.constants().smoothness.exact().expect("exact");
    (
        Box::new(l),
        beta,
        lambda,
        "l2-regularized logistic regression",
    )
}

/// One n-SAM step from a random point of scale `r`: (L(w), L(w⁺), ‖∇L(w)‖², dimension).
fn one_step(p: &dyn Problem, lr: f64, rho: f64, r: f64, seed: u64) -> (f64, f64, f64) {
    let mut rng = stream(seed, 1);
    let mut w: Vec<f64> = gaussian(&mut rng, p.dim()).iter().map(|x| x * r).collect();
    let mut g = vec![0.0; p.dim()];
    p.grad(&w, &mut g);
    let l0 = p.loss(&w);
    let mut ws = Workspace::new(p.dim(), p.n_examples());
    let nsam = Method::from_name("nsam", None, false).expect("known method");
    step(p, &nsam, &mut w, lr, rho, &mut ws, &mut rng);
    (l0, p.loss(&w), dot(&g, &g))
}

/// The observation of one n-SAM step: decrease L(w) − L(w⁺) against c‖∇L(w)‖², for constants
/// (β, µ), step sizes and coefficient (γ, ρ, c), and a start point of scale `r`.
fn observe(
    p: &dyn Problem,
    (beta, mu): (f64, f64),
    (lr, rho, c): (f64, f64, f64),
    r: f64,
    seed: u64,
    what: &str,
) -> Observation {
    let (l0, l1, g2) = one_step(p, lr, rho, r, seed);
    let mut consts = vec![Constant::exact("beta", beta)];
    if mu > 0.0 {
        consts.push(Constant::exact("mu", mu));
    }
    Observation::ge(
        l0 - l1,
        c * g2,
        (l0.abs() + l1.abs() + c.abs() * g2) * p.dim() as f64,
        consts,
        format!(
            "{what}; p = {}, gamma*beta = {:.4}, rho*beta = {:.4}, L(w) = {l0:.4e}, L(w+) = {l1:.4e}, |grad|^2 = {g2:.4e}",
            p.dim(),
            lr * beta,
            rho * beta
        ),
    )
}

/// The shared evaluation, θ = (class, γ, ρ, r, β, µ): the problem of the class (convex classes
/// only when `convex`), then `bound`(θ, class, β, µ) gives the constants (β, µ) the bound states
/// and (γ, ρ, c).
fn evaluate_with(
    inst: &Instance,
    convex: bool,
    bound: impl Fn(&[f64], usize, f64, f64) -> ((f64, f64), (f64, f64, f64)),
) -> Observation {
    let t = &inst.theta;
    let case = class_of(t[0], 4);
    let (p, beta, mu, what) = if convex {
        convex_problem(case, t[4], t[5], inst.seed)
    } else {
        problem(case, t[4], t[5], inst.seed)
    };
    let (consts, steps) = bound(t, case, beta, mu);
    observe(
        p.as_ref(),
        consts,
        steps,
        log_map(t[3], 0.05, 5.0),
        inst.seed,
        what,
    )
}

/// The coefficient of ‖∇L‖² in the part-2 bound: γ(1 − γβ/2 + ρµ(1 − γβ − γρβ²/2)).
fn pl_coefficient(lr: f64, rho: f64, beta: f64, mu: f64) -> f64 {
    lr * (1.0 - 0.5 * lr * beta + rho * mu * (1.0 - lr * beta - 0.5 * lr * rho * beta * beta))
}

/// af22.lem8 part 1.
pub struct Lem8Descent;

impl Check for Lem8Descent {
    fn id(&self) -> &'static str {
        "af22.lem8"
    }
    fn statement(&self) -> &'static str {
        "n-SAM descent: L(w+) <= L(w) - g(1-rb)(1-(gb/2)(1-rb))|grad|^2 for g <= 1/b"
    }
    fn dims(&self) -> usize {
        6
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        evaluate_with(inst, false, |t, case, beta, mu| {
            let lr = t[1].max(1e-3) / beta;
            let rho = 3.0 * t[2] / beta;
            let c = lr * (1.0 - rho * beta) * (1.0 - 0.5 * lr * beta * (1.0 - rho * beta));
            ((beta, if case == 1 { 0.0 } else { mu }), (lr, rho, c))
        })
    }
}

/// af22.lem8 part 2 (PL, possibly µ = 0).
pub struct Lem8Pl;

impl Check for Lem8Pl {
    fn id(&self) -> &'static str {
        "af22.lem8.pl"
    }
    fn finding(&self) -> Option<&'static str> {
        Some(LEM8_FINDING)
    }
    fn statement(&self) -> &'static str {
        "n-SAM under PL: L(w+) <= L(w) - g(1 - gb/2 + r mu (1 - gb - g r b^2/2))|grad|^2 for gb(2-rb) <= 2"
    }
    fn dims(&self) -> usize {
        6
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        evaluate_with(inst, false, |t, _, beta, mu| {
            let rb = 3.0 * t[2];
            // γβ(2 − ρβ) ≤ 2: γβ up to 2/(2 − ρβ) when ρβ < 2 (capped at 20), else up to 20.
            let gb_max = if rb < 2.0 {
                (2.0 / (2.0 - rb)).min(20.0)
            } else {
                20.0
            };
            let lr = t[1].max(1e-3) * gb_max / beta;
            let rho = rb / beta;
            let c = pl_coefficient(lr, rho, beta, mu);
            ((beta, mu), (lr, rho, c))
        })
    }
}

/// The finding on af22.lem8 part 2 (FINDINGS.md).
const LEM8_FINDING: &str = "FINDINGS.md#af22lem8-part-2";

/// af22.lem8 part 2 as its proof supports it: L convex (and µ-strongly convex, µ ≥ 0) and
/// γβ(2 + ρβ) ≤ 2, i.e. 1 − γβ − γρβ²/2 ≥ 0.
pub struct Lem8PlCorrected;

impl Check for Lem8PlCorrected {
    fn id(&self) -> &'static str {
        "af22.lem8.pl.corrected"
    }
    fn statement(&self) -> &'static str {
        "as af22.lem8.pl, for convex L (mu-strongly convex, mu >= 0) and gb(2+rb) <= 2"
    }
    fn dims(&self) -> usize {
        6
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        evaluate_with(inst, true, |t, _, beta, mu| {
            let rb = 3.0 * t[2];
            let lr = t[1].max(1e-3) * 2.0 / ((2.0 + rb) * beta);
            let rho = rb / beta;
            let c = pl_coefficient(lr, rho, beta, mu);
            ((beta, mu), (lr, rho, c))
        })
    }
}
