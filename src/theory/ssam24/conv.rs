//! ssam24 Theorems 8 and 16 (optimization error with constant η, ρ) and Assumption 1, on
//! per-example quadratics f(w, cᵢ) = ½(w − cᵢ)ᵀA(w − cᵢ): µ = λ_min(A), L = λ_max(A) exact,
//! w* = c̄ and F_S(w) − F_S(w*) = ½(w − c̄)ᵀA(w − c̄) exact; w₀ deterministic, so
//! E[F_S(w₀) − F_S(w*)] is exact; E[F_S(w_T) − F_S(w*)] is a Monte Carlo mean over replicates of
//! the index sequence (stream (seed, r)). G is measured on the region the runs visit (every iterate
//! and ascent point of every replicate, all examples); γ_upp is measured as the largest γ_t over all
//! steps of all replicates.
//!
//! Theorem 8 states no condition on η; the check draws η ∈ (0, RHS of (3)] (the setting of Theorem
//! 5 and 10), ρ inside Remark 3's region. Theorem 16: η ∈ (0, (1 + µρ)·RHS(3)], within condition
//! (5) since every γ_t ≤ 1/(1 + µρ) for a µ-strongly convex f (so γ_upp ≤ 1/(1 + µρ)).
//!
//! The proof of Theorem 8 ends with E a_{t+1} ≤ c·E a_t + b (a_t = F_S(w_t) − F_S(w*),
//! c = 1 − 2ηµρ(µ + L), b = ηρ²L²G²/2 + η²LG²/2) and unrolls it to c^T a₀ + b/(1 − c). Unrolling
//! needs c ≥ 0: for c < 0 and T odd, c^T a₀ + b/(1 − c) can be negative. `ssam24.thm8.corrected`:
//! E a_T ≤ c₊^T a₀ + b/(1 − c₊), c₊ = max(c, 0) (for c < 0, a_{t+1} ≤ c a_t + b ≤ b as a_t ≥ 0).

use rand::Rng;
use rayon::prelude::*;

use super::traj::{MaxF, floor_of, form, run, size_of};
use super::{eta_max, log_map, ratio_of, rho_of, setting};
use crate::problem::{Problem, Quadratic, norm};
use crate::rng::stream;
use crate::theory::af22::{gaussian, quadratic, rng_of};
use crate::theory::mc::replicate;
use crate::theory::{Check, Constant, Instance, Observation, Sense};

/// The steady term of Theorems 8 and 16 as printed: LG²(ρ²L + η′)/(4µρ(µ + L)), η′ = η (SAM) or
/// γ_upp·η (SSAM, the caller passes the product).
pub fn opt_steady(mu: f64, l: f64, g: f64, rho: f64, eta_term: f64) -> f64 {
    let k = rho * (mu + l);
    l * g * g * (rho * rho * l + eta_term) / (4.0 * mu * k)
}

/// The corrected Theorem 8 (FINDINGS.md#ssam24thm8): (c₊, b/(1 − c₊)) with
/// c₊ = max(1 − 2ηµρ(µ + L), 0) and b = ηρ²L²G²/2 + η²LG²/2; the bound is c₊^T a₀ + b/(1 − c₊).
pub fn opt_steady_corrected(mu: f64, l: f64, g: f64, rho: f64, eta: f64) -> (f64, f64) {
    let k = rho * (mu + l);
    let f = (1.0 - 2.0 * eta * mu * k).max(0.0);
    let b = eta * rho * rho * l * l * g * g / 2.0 + eta * eta * l * g * g / 2.0;
    (f, b / (1.0 - f))
}

/// Replicates of the index sequence.
const REPS: usize = 128;

/// The instance of Theorems 8 / 16: θ = (µ/L, L, ρ, η, T, n, r).
struct Conv {
    q: Quadratic,
    mu: f64,
    l: f64,
    rho: f64,
    eta: f64,
    eta3: f64,
    steps: usize,
    w0: Vec<f64>,
    a0: f64,
}

fn build(inst: &Instance, ssam: bool) -> Conv {
    let t = &inst.theta;
    let pseed: u64 = stream(inst.seed, u64::MAX).random();
    let n = 1 + ((t[5] * 10.0) as usize).min(9);
    let l0 = log_map(t[1], 0.1, 10.0);
    let q = quadratic(&mut rng_of(pseed), l0, l0 * ratio_of(t[0]), n, 1.0);
    let (mu, l) = (q.lambda_min(), q.lambda_max());
    let rho = rho_of(t[2], mu, l);
    let eta3 = eta_max(mu, l, rho);
    let eta = t[3].max(1e-3) * eta3 * if ssam { 1.0 + mu * rho } else { 1.0 };
    let steps = log_map(t[4], 1.0, 200.0).round() as usize;
    let r = log_map(t[6], 1e-2, 10.0);
    let u = gaussian(&mut stream(pseed, 1), q.dim());
    let cbar = q.center_mean().to_vec();
    let w0: Vec<f64> = cbar.iter().zip(&u).map(|(c, x)| c + r * x).collect();
    let a0 = form(q.a(), &w0, &cbar);
    Conv {
        q,
        mu,
        l,
        rho,
        eta,
        eta3,
        steps,
        w0,
        a0,
    }
}

/// Which bound: printed Theorem 8, corrected Theorem 8, printed Theorem 16.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Thm8,
    Thm8Corrected,
    Thm16,
}

fn observe(inst: &Instance, kind: Kind) -> Observation {
    let ssam = kind == Kind::Thm16;
    let c = build(inst, ssam);
    let (mu, l, rho, eta) = (c.mu, c.l, c.rho, c.eta);
    let gmax = MaxF::default();
    let gam = MaxF::default();
    let cbar = c.q.center_mean();
    let floor = floor_of(l, size_of(&c.q, &c.w0));
    let skipped = std::sync::atomic::AtomicUsize::new(0);
    let est = replicate(REPS, |r| {
        let mut rng = stream(inst.seed, r);
        let run = run(&c.q, &c.w0, rho, eta, c.steps, ssam, floor, &mut rng);
        skipped.fetch_add(run.skipped, std::sync::atomic::Ordering::Relaxed);
        gmax.add(run.g);
        run.gammas.iter().for_each(|&x| gam.add(x));
        form(c.q.a(), &run.w, cbar)
    });
    let g = gmax.get();
    let gu = gam.get();
    let tt = c.steps as i32;
    let k = rho * (mu + l);
    let mut consts = vec![
        Constant::exact("mu", mu),
        Constant::exact("L", l),
        Constant::measured("G", g),
    ];
    let (factor, rhs, what) = match kind {
        Kind::Thm8 => {
            let f = 1.0 - 2.0 * eta * mu * k;
            (
                f,
                f.powi(tt) * c.a0 + opt_steady(mu, l, g, rho, eta),
                "SAM; printed bound",
            )
        }
        Kind::Thm8Corrected => {
            let (f, steady) = opt_steady_corrected(mu, l, g, rho, eta);
            (
                f,
                f.powi(tt) * c.a0 + steady,
                "SAM; corrected bound c+^T a0 + b/(1 - c+), c+ = max(1 - 2 eta mu rho(mu+L), 0)",
            )
        }
        Kind::Thm16 => {
            consts.push(Constant::measured("gamma_upp", gu));
            let f = 1.0 - gu * eta * mu * k;
            (
                f,
                f.powi(tt) * c.a0 + opt_steady(mu, l, g, rho, gu * eta),
                "SSAM; printed bound, gamma_upp measured = max gamma_t over all steps of all replicates",
            )
        }
    };
    let p = c.q.dim();
    let scale = 8.0 * p as f64 * (c.a0 + rhs.abs() + est.mean.abs() + l * g * g / (mu * k));
    let eta_cond = if ssam {
        format!(
            "eta/((1+mu rho) RHS(3)) = {:.4}",
            eta / (c.eta3 * (1.0 + mu * rho))
        )
    } else {
        format!("eta/RHS(3) = {:.4}", eta / c.eta3)
    };
    Observation::monte_carlo(
        est,
        Sense::Le,
        rhs,
        scale,
        consts,
        format!(
            "{what}; per-example quadratic p = {p}, n = {}, mu/L = {:.4e}, rho*L = {:.4e}, {eta_cond}, eta*L = {:.4e}, T = {}, contraction factor = {factor:.6}, F_S(w0) - F* = {:.4e} (exact), G = {g:.4e} measured (max_z |grad f(x,z)| over all visited iterates and ascent points), gamma max = {gu:.6} ({} steps with |grad f(w_t,z_t)| <= {floor:.1e} (rounding level) not counted)",
            c.q.n_examples(),
            mu / l,
            rho * l,
            eta * l,
            c.steps,
            c.a0,
            skipped.into_inner()
        ),
    )
}

/// The finding on Theorem 8 (FINDINGS.md).
const FINDING: &str = "FINDINGS.md#ssam24thm8";

/// ssam24.thm8.
pub struct Thm8;

impl Check for Thm8 {
    fn id(&self) -> &'static str {
        "ssam24.thm8"
    }
    fn statement(&self) -> &'static str {
        "SAM: E[F_S(w_T) - F*] <= [1 - 2 eta mu rho(mu+L)]^T (F_S(w0) - F*) + L G^2(rho^2 L + eta)/(4 mu rho(mu+L))"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, Kind::Thm8)
    }
    fn finding(&self) -> Option<&'static str> {
        Some(FINDING)
    }
    fn known(&self) -> Vec<Instance> {
        // µ = L, ρL ≈ 2, η = RHS(3), T = 5, n = 6: contraction factor ≈ −1.67 (the printed
        // bound is negative).
        vec![Instance {
            theta: vec![1.0, 0.5, 0.0199, 1.0, 0.30375, 0.5, 1.0],
            seed: 14882037572176054725,
        }]
    }
}

/// ssam24.thm8 with the unrolling the proof supports.
pub struct Thm8Corrected;

impl Check for Thm8Corrected {
    fn id(&self) -> &'static str {
        "ssam24.thm8.corrected"
    }
    fn statement(&self) -> &'static str {
        "SAM: E[F_S(w_T) - F*] <= c+^T (F_S(w0) - F*) + (eta rho^2 L^2 G^2 + eta^2 L G^2)/(2(1 - c+)), c+ = max(1 - 2 eta mu rho(mu+L), 0)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, Kind::Thm8Corrected)
    }
    fn known(&self) -> Vec<Instance> {
        Thm8.known()
    }
}

/// ssam24.thm16.
pub struct Thm16;

impl Check for Thm16 {
    fn id(&self) -> &'static str {
        "ssam24.thm16"
    }
    fn statement(&self) -> &'static str {
        "SSAM: E[F_S(w_T) - F*] <= [1 - g_upp eta mu rho(mu+L)]^T (F_S(w0) - F*) + L G^2(rho^2 L + g_upp eta)/(4 mu rho(mu+L))"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        observe(inst, Kind::Thm16)
    }
}

/// ssam24 Assumption 1 as a report: along SSAM runs (η within (5)), max γ_t < 1.
pub struct Assumption1;

impl Check for Assumption1 {
    fn id(&self) -> &'static str {
        "ssam24.assumption1"
    }
    fn statement(&self) -> &'static str {
        "SSAM runs: gamma_t = |grad f(w_t,z)|/|grad f(w_asc,z)| <= gamma_upp < 1 for all t (max gamma_t < 1, strict)"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let t = &inst.theta;
        let n = 5;
        let s = setting(t[0], t[1], t[2], n, inst.seed);
        let (mu, l) = (s.mu, s.l);
        let rho = rho_of(t[3], mu, l);
        let eta = t[4].max(1e-3) * eta_max(mu, l, rho) * (1.0 + mu * rho);
        let steps = log_map(t[5], 1.0, 200.0).round() as usize;
        let p = s.prob.dim();
        let r = log_map(t[6], 1e-2, 10.0);
        let (w0, _, _, _) = super::points(p, n, r, 0.0, inst.seed);
        let prob: &dyn Problem = s.prob.as_ref();
        let size = s.centers.iter().map(|c| norm(c)).fold(0.0f64, f64::max) + norm(&w0);
        let floor = floor_of(l, size);
        let runs: Vec<_> = (0..32u64)
            .into_par_iter()
            .map(|k| {
                run(
                    prob,
                    &w0,
                    rho,
                    eta,
                    steps,
                    true,
                    floor,
                    &mut stream(inst.seed, k + 2),
                )
            })
            .collect();
        let skipped: usize = runs.iter().map(|r| r.skipped).sum();
        let mut gs: Vec<f64> = runs.into_iter().flat_map(|r| r.gammas).collect();
        if gs.is_empty() {
            gs.push(0.0);
        }
        gs.sort_by(f64::total_cmp);
        let max = *gs.last().expect("at least one step");
        let frac = gs.iter().filter(|&&x| x >= 1.0).count() as f64 / gs.len() as f64;
        Observation {
            slack: -f64::MIN_POSITIVE,
            ..Observation::le(
                max,
                1.0,
                0.0,
                vec![
                    Constant::exact("mu", mu),
                    Constant::exact("L", l),
                    Constant::measured("gamma_upp", max),
                ],
                format!(
                    "{}; p = {p}, n = {n}, mu/L = {:.4e}, rho*L = {:.4e}, eta/((1+mu rho) RHS(3)) = {:.4}, T = {steps}, 32 SSAM runs, {} steps: gamma_t min = {:.6}, median = {:.6}, max = {max:.6} (1 - max = {:.3e}); fraction of steps with gamma_t >= 1: {frac:.4}; {skipped} steps with |grad f(w_t,z_t)| <= {floor:.1e} (rounding level, gamma 0/0) not counted; a priori bound 1/(1+mu rho) = {:.6} (strong convexity: |grad f(w_asc)| >= (1+mu rho)|grad f(w)|)",
                    s.what,
                    mu / l,
                    rho * l,
                    t[4].max(1e-3),
                    gs.len(),
                    gs[0],
                    gs[gs.len() / 2],
                    1.0 - max,
                    1.0 / (1.0 + mu * rho)
                ),
            )
        }
    }
}
