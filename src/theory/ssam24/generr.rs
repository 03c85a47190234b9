//! ssam24 Theorems 5 and 14 (generalization error of SAM / SSAM with constant η, T steps), on
//! per-example quadratics f(w, c) = ½(w − c)ᵀA(w − c) with c ~ N(m, I): µ = λ_min(A), L = λ_max(A)
//! exact, F_D(w) = ½(w − m)ᵀA(w − m) + ½tr(A) in closed form. ε_gen = E[F_D(w_S) − F_S(w_S)] is a
//! Monte Carlo mean over replicates r (stream (seed, r)) each drawing a data set S of n examples
//! and an index sequence; w₀ = 0, and since w₀ does not depend on S, E[F_D(w₀) − F_S(w₀)] = 0
//! exactly: each replicate subtracts it (a control variate: the same mean, far less variance). G is measured: max_z ‖∇f(x, z)‖ over the examples of the drawn
//! data sets and the points their runs visit (the theorems' G is a sup over all z: the measured one
//! is a lower estimate of it, which makes the check stricter). Theorem 5: η ∈ (0, RHS(3)];
//! Theorem 14: η ∈ (0, (1 + µρ)RHS(3)] (within (5), as γ_t ≤ 1/(1 + µρ)), γ_upp measured as the
//! largest γ_t over all steps of all replicates.

use rand::Rng;

use super::traj::{MaxF, floor_of, run, size_of};
use super::{eta_max, log_map, ratio_of, rho_of};
use crate::problem::{Problem, Quadratic};
use crate::rng::stream;
use crate::theory::af22::{gaussian, quadratic, rng_of};
use crate::theory::mc::replicate;
use crate::theory::{Check, Constant, Instance, Observation, Sense};

/// The generalization bound of Theorems 5 (SAM: γ = 1), 14 (SSAM: γ = γ_upp) and, with ρ = 0
/// and γ = 1, of SGD (Corollary 6's comparison):
/// 2G²(µ + L)/(nµL(1 + µρ))·{1 − [1 − (1 + µρ)γηµL/(µ + L)]^T}; `steps` None is T → ∞
/// (Theorems 10, 18).
#[allow(clippy::too_many_arguments)]
pub fn gen_bound(
    mu: f64,
    l: f64,
    g: f64,
    n: usize,
    rho: f64,
    gamma: f64,
    eta: f64,
    steps: Option<usize>,
) -> f64 {
    let q1 = 1.0 + mu * rho;
    let front = 2.0 * g * g * (mu + l) / (n as f64 * mu * l * q1);
    match steps {
        None => front,
        Some(t) => {
            let x = q1 * gamma * eta * mu * l / (mu + l);
            front * -(t as f64 * (-x).ln_1p()).exp_m1()
        }
    }
}

/// Replicates (data set and index sequence).
const REPS: usize = 128;

fn observe(inst: &Instance, ssam: bool) -> Observation {
    let t = &inst.theta;
    let pseed: u64 = stream(inst.seed, u64::MAX).random();
    let n = 1 + ((t[5] * 10.0) as usize).min(9);
    let l0 = log_map(t[1], 0.1, 10.0);
    let q0 = quadratic(&mut rng_of(pseed), l0, l0 * ratio_of(t[0]), 1, 1.0);
    let (mu, l) = (q0.lambda_min(), q0.lambda_max());
    let a = q0.a().to_vec();
    let p = q0.dim();
    let rho = rho_of(t[2], mu, l);
    let eta3 = eta_max(mu, l, rho);
    let eta = t[3].max(1e-3) * eta3 * if ssam { 1.0 + mu * rho } else { 1.0 };
    let steps = log_map(t[4], 1.0, 200.0).round() as usize;
    let mscale = log_map(t[6], 1e-2, 10.0);
    let m: Vec<f64> = gaussian(&mut stream(pseed, 1), p)
        .iter()
        .map(|x| mscale * x)
        .collect();
    let w0 = vec![0.0; p];
    let gmax = MaxF::default();
    let gam = MaxF::default();
    let mag = MaxF::default();
    let est = replicate(REPS, |r| {
        let mut rng = stream(inst.seed, r);
        let dseed: u64 = rng.random();
        let q = Quadratic::random_centers(a.clone(), p, n, &m, 1.0, dseed)
            .expect("valid by construction");
        let run = run(
            &q,
            &w0,
            rho,
            eta,
            steps,
            ssam,
            floor_of(l, size_of(&q, &w0)),
            &mut rng,
        );
        gmax.add(run.g);
        run.gammas.iter().for_each(|&x| gam.add(x));
        let fd = q.population_risk(&run.w).expect("random centres");
        let fs = q.loss(&run.w);
        // Control variate: w0 does not depend on S, so E[F_D(w0) - F_S(w0)] = 0 exactly.
        let (fd0, fs0) = (q.population_risk(&w0).expect("random centres"), q.loss(&w0));
        mag.add(fd.abs() + fs.abs() + fd0.abs() + fs0.abs());
        (fd - fs) - (fd0 - fs0)
    });
    let g = gmax.get();
    let gu = gam.get();
    let gq = if ssam { gu } else { 1.0 };
    let rhs = gen_bound(mu, l, g, n, rho, gq, eta, Some(steps));
    let mut consts = vec![
        Constant::exact("mu", mu),
        Constant::exact("L", l),
        Constant::measured("G", g),
    ];
    if ssam {
        consts.push(Constant::measured("gamma_upp", gu));
    }
    let eta_cond = if ssam {
        format!("eta/((1+mu rho) RHS(3)) = {:.4}", t[3].max(1e-3))
    } else {
        format!("eta/RHS(3) = {:.4}", t[3].max(1e-3))
    };
    Observation::monte_carlo(
        est,
        Sense::Le,
        rhs,
        8.0 * p as f64 * (mag.get() + rhs),
        consts,
        format!(
            "{}; per-example quadratic p = {p}, c ~ N(m, I), |m| = {:.3e}, n = {n}, w0 = 0, mu/L = {:.4e}, rho*L = {:.4e}, {eta_cond}, eta*L = {:.4e}, T = {steps}, LHS per replicate minus the control variate F_D(w0) - F_S(w0) (mean 0), G = {g:.4e} measured (max over drawn examples and visited points), gamma max = {gu:.6}",
            if ssam {
                "SSAM, gamma_upp measured"
            } else {
                "SAM"
            },
            crate::problem::norm(&m),
            mu / l,
            rho * l,
            eta * l
        ),
    )
}

/// ssam24.thm5.
pub struct Thm5;

impl Check for Thm5 {
    fn id(&self) -> &'static str {
        "ssam24.thm5"
    }
    fn statement(&self) -> &'static str {
        "SAM, eta <= (3): E[F_D(w_S) - F_S(w_S)] <= 2G^2(mu+L)/(n mu L(1+mu rho)){1 - [1 - (1+mu rho) eta mu L/(mu+L)]^T}"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, false)
    }
}

/// ssam24.thm14.
pub struct Thm14;

impl Check for Thm14 {
    fn id(&self) -> &'static str {
        "ssam24.thm14"
    }
    fn statement(&self) -> &'static str {
        "SSAM, eta <= (5): E[F_D(w_S) - F_S(w_S)] <= 2G^2(mu+L)/(n mu L(1+mu rho)){1 - [1 - (1+mu rho) g_upp eta mu L/(mu+L)]^T}"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, true)
    }
}
