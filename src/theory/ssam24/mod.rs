//! The ssam24 statements (Tan et al. 2024, "Stabilizing Sharpness-aware Minimization Through A
//! Simple Renormalization Strategy") as checks, and the instance builders they share.
//!
//! Setting: the per-example loss f(w, z) is µ-strongly convex and L-smooth in w. Problems: per-example
//! quadratics ℓᵢ = ½(w − cᵢ)ᵀA(w − cᵢ) (µ = λ_min(A), L = λ_max(A), exact eigenvalues) and
//! ℓ2-regularized logistic regression (µ = λ, L = λ + maxᵢ‖xᵢ‖²/4, exact). SAM is unnormalized, one
//! example per step, the same example for ascent and descent: w_asc = w + ρ∇f(w, z),
//! w ← w − η∇f(w_asc, z); SSAM: w ← w − ηγ_t∇f(w_asc, z), γ_t = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖.
//! Condition (3): η ≤ 2/(µ + L) − (µ + L)/(2µL(µ/(ρL²) + 1)), whose right side is positive iff
//! µ = L or ρ < ρ* = 4µ²/(L(L − µ)²) (Remark 3): the checks draw ρ below ρ*.

mod conv;
mod cor6;
mod excess;
mod generr;
mod lem13;
mod lem2;
mod lem20;
mod lem7;
mod rem3;
mod rem9;
mod ssam;
mod thm1;
mod traj;

pub use conv::{opt_steady, opt_steady_corrected};
pub use generr::gen_bound;

use rand::Rng;

use super::Check;
use crate::optim::coupled::{ExampleBuffers, Rule, example_step};
use crate::problem::{Logistic, Problem, norm};
use crate::theory::af22::{gaussian, log_map, quadratic, rng_of};

/// The ssam24 checks, in report order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(lem2::Lem2),
        Box::new(rem3::Rem3),
        Box::new(rem3::Rem3Bound),
        Box::new(rem3::Rem3BoundCorrected),
        Box::new(lem2::Lem4),
        Box::new(generr::Thm5),
        Box::new(cor6::Cor6),
        Box::new(lem7::Lem7),
        Box::new(conv::Thm8),
        Box::new(conv::Thm8Corrected),
        Box::new(ssam::Lem11),
        Box::new(ssam::Lem12),
        Box::new(ssam::Lem12Corrected),
        Box::new(lem13::Lem13),
        Box::new(generr::Thm14),
        Box::new(conv::Thm16),
        Box::new(conv::Assumption1),
        Box::new(thm1::Thm1),
        Box::new(excess::Thm10),
        Box::new(excess::Thm18),
        Box::new(rem9::Rem9),
        Box::new(rem9::Rem9Corrected),
        Box::new(lem20::Lem20),
    ]
}

/// µ/L from t ∈ [0, 1], log-uniform on [1e-3, 1], exactly 1 at t = 1.
pub fn ratio_of(t: f64) -> f64 {
    if t >= 1.0 { 1.0 } else { log_map(t, 1e-3, 1.0) }
}

/// The right side of condition (3), as printed: 2/(µ + L) − (µ + L)/(2µL(µ/(ρL²) + 1)).
pub fn eta_max(mu: f64, l: f64, rho: f64) -> f64 {
    2.0 / (mu + l) - (mu + l) / (2.0 * mu * l * (mu / (rho * l * l) + 1.0))
}

/// ρ* = 4µ²/(L(L − µ)²) (infinite when µ = L): condition (3) is feasible iff ρ < ρ*.
pub fn rho_star(mu: f64, l: f64) -> f64 {
    if mu >= l {
        f64::INFINITY
    } else {
        4.0 * mu * mu / (l * (l - mu) * (l - mu))
    }
}

/// ρ from t ∈ [0, 1], uniform on [1e-4, 0.999]·min(ρ*, 100/L): always inside Remark 3's
/// feasibility region, up to 0.1% of its boundary.
pub fn rho_of(t: f64, mu: f64, l: f64) -> f64 {
    rho_star(mu, l).min(100.0 / l) * (1e-4 + t * (0.999 - 1e-4))
}

/// A per-example problem with exact µ (strong convexity) and L (smoothness of every f(·, z)).
pub struct Setting {
    /// The problem.
    pub prob: Box<dyn Problem>,
    /// µ, exact.
    pub mu: f64,
    /// L, exact.
    pub l: f64,
    /// In words.
    pub what: &'static str,
    /// The per-example minimizers cᵢ, where known in closed form (quadratics; empty otherwise).
    pub centers: Vec<Vec<f64>>,
}

/// A quadratic (t_case < 1/2; µ/L from `t_ratio`, L ∈ [0.1, 10] from `t_scale`) or an
/// ℓ2-regularized logistic regression (λ ∈ [1e-3, 30] from `t_ratio`), n examples, from `seed`.
pub fn setting(t_case: f64, t_ratio: f64, t_scale: f64, n: usize, seed: u64) -> Setting {
    if t_case < 0.5 {
        let mut rng = rng_of(seed);
        let l = log_map(t_scale, 0.1, 10.0);
        let mu = l * ratio_of(t_ratio);
        let q = quadratic(&mut rng, l, mu, n, 1.0);
        let (mu, l) = (q.lambda_min(), q.lambda_max());
        let centers = (0..n).map(|i| q.center(i).to_vec()).collect();
        Setting {
            centers,
            prob: Box::new(q),
            mu,
            l,
            what: "per-example quadratic (mu = lambda_min(A), L = lambda_max(A))",
        }
    } else {
        let lambda = log_map(t_ratio, 1e-3, 30.0);
        let p = 2 + (seed % 3) as usize;
        let lg = Logistic::random(p, n, lambda, seed).expect("valid by construction");
        let l = lg.constants().individual_smoothness.exact().expect("exact");
        Setting {
            prob: Box::new(lg),
            mu: lambda,
            l,
            what: "l2-regularized logistic (mu = lambda, L = lambda + max|x_i|^2/4)",
            centers: Vec::new(),
        }
    }
}

/// Two points w, v: w ~ N(0, r²I), v = w + gap·r·u with u a Gaussian direction (stream 1 of seed),
/// and two distinct example indices z, z′ (z′ = z when n = 1).
pub fn points(
    p: usize,
    n: usize,
    r: f64,
    gap: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, usize, usize) {
    points_at(&vec![0.0; p], n, r, gap, seed)
}

/// As [`points`], with w ~ N(x₀, r²I) around `x0`.
pub fn points_at(
    x0: &[f64],
    n: usize,
    r: f64,
    gap: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, usize, usize) {
    let p = x0.len();
    let mut rng = crate::rng::stream(seed, 1);
    let z = rng.random_range(0..n);
    let z2 = if n > 1 {
        (z + rng.random_range(1..n)) % n
    } else {
        z
    };
    let w: Vec<f64> = gaussian(&mut rng, p)
        .iter()
        .zip(x0)
        .map(|(x, c)| c + r * x)
        .collect();
    let u = gaussian(&mut rng, p);
    let nu = norm(&u).max(f64::MIN_POSITIVE);
    let v: Vec<f64> = w
        .iter()
        .zip(&u)
        .map(|(a, b)| a + gap * r * b / nu)
        .collect();
    (w, v, z, z2)
}

/// The points of the two-example lemmas (4, 12): for quadratics, w is drawn around the midpoint of
/// the minimizers c_z, c_z′ (where the two examples' gradients oppose: the additive term is
/// tight), for logistic around 0; v = w + gap·r·u.
pub fn points_two(
    s: &Setting,
    n: usize,
    r: f64,
    gap: f64,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, usize, usize) {
    let p = s.prob.dim();
    let (_, _, z, z2) = points_at(&vec![0.0; p], n, r, gap, seed);
    let x0: Vec<f64> = if s.centers.is_empty() {
        vec![0.0; p]
    } else {
        s.centers[z]
            .iter()
            .zip(&s.centers[z2])
            .map(|(a, b)| 0.5 * (a + b))
            .collect()
    };
    points_at(&x0, n, r, gap, seed)
}

/// One step of unnormalized SAM / SSAM on example `z` from `w`.
#[derive(Clone, Debug)]
pub struct Step {
    /// ∇f(w, z).
    pub g: Vec<f64>,
    /// w_asc = w + ρ∇f(w, z).
    pub asc: Vec<f64>,
    /// ∇f(w_asc, z).
    pub g_asc: Vec<f64>,
    /// γ = ‖∇f(w, z)‖/‖∇f(w_asc, z)‖ (1 when both vanish).
    pub gamma: f64,
}

impl Step {
    /// The ascent of example `z` from `w` with radius ρ (SAM's
    /// [`crate::optim::coupled::example_step`], without the descent).
    pub fn new(prob: &dyn Problem, z: usize, w: &[f64], rho: f64) -> Self {
        let mut b = ExampleBuffers::new(w.len());
        let mut x = w.to_vec();
        let st = example_step(prob, Rule::Sam, z, &mut x, 0.0, rho, &mut b);
        Step {
            g: b.grad().to_vec(),
            asc: b.ascent_point().to_vec(),
            g_asc: b.ascent_grad().to_vec(),
            gamma: st.gamma,
        }
    }

    /// The descent w − lr·∇f(w_asc, z) (lr = η for SAM, ηγ for SSAM).
    pub fn descend(&self, w: &[f64], lr: f64) -> Vec<f64> {
        w.iter().zip(&self.g_asc).map(|(a, b)| a - lr * b).collect()
    }

    /// The magnitudes that set the rounding of the step: ‖w‖ + ρ‖g‖ + ‖w_asc‖ + lr‖g_asc‖, with the
    /// gradient errors (of order L times the point) folded in.
    pub fn scale(&self, w: &[f64], rho: f64, lr: f64, l: f64) -> f64 {
        let (nw, na) = (norm(w), norm(&self.asc));
        nw + rho * (norm(&self.g) + l * nw) + na + lr * (norm(&self.g_asc) + l * na)
    }
}

/// G measured: the largest ‖∇f(x, ζ)‖ over ζ ∈ {z, z′} and the points x the two runs visit (w, v
/// and the ascent points of both examples from both).
pub fn measured_g(prob: &dyn Problem, z: usize, z2: usize, w: &[f64], v: &[f64], rho: f64) -> f64 {
    let mut pts: Vec<Vec<f64>> = vec![w.to_vec(), v.to_vec()];
    for &x in &[w, v] {
        for &e in &[z, z2] {
            pts.push(Step::new(prob, e, x, rho).asc);
        }
    }
    let mut g = vec![0.0; w.len()];
    let mut best = 0.0f64;
    for x in &pts {
        for &e in &[z, z2] {
            prob.example_grad(e, x, &mut g);
            best = best.max(norm(&g));
        }
    }
    best
}

/// The two runs of ssam24's one-step lemmas, θ = (case, µ/L, L, ρ, η, r, gap): the setting (n = 3
/// examples), ρ, the points w, v, the examples z (run from w) and z_v (run from v: z′ ≠ z when
/// `different`, else z), and the ascent of each run.
pub struct Pair {
    /// The problem setting (µ, L exact).
    pub s: Setting,
    /// The ascent radius ρ.
    pub rho: f64,
    /// The dimension.
    pub p: usize,
    /// The point of the run on S.
    pub w: Vec<f64>,
    /// The point of the run on S′.
    pub v: Vec<f64>,
    /// The example of the run from w.
    pub z: usize,
    /// The other example (z′ ≠ z).
    pub z2: usize,
    /// The example of the run from v (z′ when the examples differ, else z).
    pub zv: usize,
    /// The ascent of the run from w.
    pub sw: Step,
    /// The ascent of the run from v.
    pub sv: Step,
}

/// The [`Pair`] of an instance.
pub fn pair(inst: &crate::theory::Instance, different: bool) -> Pair {
    let t = &inst.theta;
    let n = 3;
    // Two examples: µ/L log-uniform on [0.05, 1] (logistic λ ≥ 0.35), where γ varies most.
    let t_ratio = if different {
        0.566 + 0.434 * t[1]
    } else {
        t[1]
    };
    let s = setting(t[0], t_ratio, t[2], n, inst.seed);
    let rho = rho_of(t[3], s.mu, s.l);
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
    Pair {
        s,
        rho,
        p,
        w,
        v,
        z,
        z2,
        zv,
        sw,
        sv,
    }
}

impl Pair {
    /// G measured for the two examples (see [`measured_g`]), pushed on `consts`, with its note
    /// for the details.
    pub fn g(&self, consts: &mut Vec<crate::theory::Constant>) -> (f64, String) {
        let g = measured_g(
            self.s.prob.as_ref(),
            self.z,
            self.z2,
            &self.w,
            &self.v,
            self.rho,
        );
        consts.push(crate::theory::Constant::measured("G", g));
        let extra = format!(
            ", G = {g:.4e} measured (max |grad f(x, z)| over z, z' and x in w, v and their ascent points)"
        );
        (g, extra)
    }
}

pub use crate::optim::coupled::distance as dist;
