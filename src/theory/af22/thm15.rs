//! af22 Theorem 15 ((A1), (A2′), γ ≤ 1/(2β), ρ ≤ 1/(2β), stochastic n-SAM, Eq. 21, batches of
//! size b): (1/T) Σ_{t<T} E‖∇L(w_t)‖² ≤ 4(L(w₀) − E L(w_T))/(Tγ) + 4Tσ²β(γ + ρ²β)/b, checked as
//! printed (with the factor T in the noise term, which summing Lemma 14 does not produce: the sum
//! gives 4σ²β(γ + ρ²β)/b; the printed bound is the weaker one, so a failure of the printed bound
//! would also refute the sum of Lemma 14). The loss terms are moved to the left: per replicate
//! X = (1/T) Σ_{t<T} ‖∇L(w_t)‖² − 4(L(w₀) − L(w_T))/(Tγ), and E X ≤ 4Tσ²β(γ + ρ²β)/b, the noise
//! term alone (an equivalent form; with L(w₀) on the right both sides carry the common term
//! 4(L(w₀) − L*)/(Tγ), which for small γ dwarfs everything else, pins the ratio at ≈ 1 and steers
//! the tightness search towards γ → 0 instead of towards tight instances).
//!
//! This file also holds the Monte Carlo engine of the stochastic af22 convergence theorems
//! (thm12, thm15, thm18, thm2): problem classes with exact β, µ, σ², L*; batches of b i.i.d.
//! uniform indices (with replacement: the batch variance is exactly σ²/b, the worst case the
//! proofs' σ²/b bound allows); trajectories run by the real optimizer ([`crate::optim::step`]);
//! expectations over replicates r = 0..R ([`replicates`]), replicate r drawing its batches from stream
//! (seed, 2 + r) of the instance seed (streams 0 and 1 build the problem and w₀).

use super::thm9::start;
use super::{log_map, quadratic, rng_of, shared_linear};
use crate::optim::{Method, StepSizes, Workspace, step};
use rand::Rng;

use crate::problem::{Batch, Problem, SharedPart, dot};
use crate::rng::stream;
use crate::theory::mc::{Estimate, replicate};
use crate::theory::{Check, Constant, Instance, Observation, Sense};

/// Replicates of an instance with horizon T: about 32 768 steps in all, at least 256 and at most
/// 8192 replicates (short horizons get many: their single-step left sides have a spread comparable
/// to their mean, and the tightness search, which maximizes the estimated margin, would otherwise
/// select instances where the estimate happened to come out high).
pub(super) fn replicates(big_t: usize) -> usize {
    (32_768 / big_t.max(1)).clamp(256, 8192)
}

/// The largest horizon T.
pub(super) const T_MAX: usize = 100;

/// A stochastic instance: a problem with exact constants and a batch size.
pub(super) struct StochCase {
    /// The problem.
    pub prob: Box<dyn Problem>,
    /// β: the smoothness of L (A2′), equal to the individual smoothness (A2) in every class here.
    pub beta: f64,
    /// µ (PL constant; 0 when not PL).
    pub mu: f64,
    /// L* (exact).
    pub lstar: f64,
    /// σ² of (A1) (exact).
    pub sigma2: f64,
    /// Batch size.
    pub b: usize,
    /// The instance in words.
    pub what: String,
}

impl StochCase {
    /// The constants the bounds use.
    pub fn constants(&self, with_mu: bool) -> Vec<Constant> {
        let mut c = vec![
            Constant::exact("beta", self.beta),
            Constant::exact("sigma2", self.sigma2),
            Constant::exact("L*", self.lstar),
        ];
        if with_mu {
            c.push(Constant::exact("mu", self.mu));
        }
        c
    }
}

/// The problem class and sizes from six coordinates `t`: class, n ∈ 2..=8, b ∈ 1..=n, β of the
/// quadratics (log-uniform in [0.1, 10]), µ/β of the strongly convex quadratics (log-uniform in
/// [1e-2, 1]), scale of the per-example noise (log-uniform in [0.05, 5]).
/// Classes (`pl` false): 0 convex quadratic (µ = 0), 1 strongly convex quadratic, 2 log(1+w²)
/// shared-linear family (β = 2, not PL), 3 w² + 3 sin² w family (β = 8, PL µ = 1/32);
/// (`pl` true): 0 strongly convex quadratic, 1 the sin family.
pub(super) fn stoch_case(t: &[f64], seed: u64, pl: bool) -> StochCase {
    let classes = if pl { 2 } else { 4 };
    let mut class = ((t[0] * classes as f64) as usize).min(classes - 1);
    if pl {
        class = [1, 3][class];
    }
    let n = 2 + ((t[1] * 7.0) as usize).min(6);
    let b = 1 + ((t[2] * n as f64) as usize).min(n - 1);
    let qbeta = log_map(t[3], 0.1, 10.0);
    let qmu = qbeta * log_map(t[4], 1e-2, 1.0);
    let s = log_map(t[5], 0.05, 5.0);
    let mut rng = rng_of(seed);
    let (prob, name): (Box<dyn Problem>, &str) = match class {
        0 => (
            Box::new(quadratic(&mut rng, qbeta, 0.0, n, s)),
            "convex quadratic (mu = 0)",
        ),
        1 => (
            Box::new(quadratic(&mut rng, qbeta, qmu, n, s)),
            "strongly convex quadratic",
        ),
        2 => (
            Box::new(shared_linear(&mut rng, SharedPart::LogOnePlusSq, n, s)),
            "log(1+w^2) shared-linear family (not PL)",
        ),
        _ => (
            Box::new(shared_linear(&mut rng, SharedPart::SqPlusSin, n, s)),
            "w^2 + 3 sin^2 w shared-linear family (PL mu = 1/32)",
        ),
    };
    let c = prob.constants();
    let beta = c.smoothness.exact().expect("exact beta");
    let beta_i = c.individual_smoothness.exact().expect("exact beta_i");
    debug_assert_eq!(beta, beta_i);
    let what = format!(
        "{name}; p = {}, n = {n}, b = {b} (i.i.d. indices), noise scale = {s:.3}",
        prob.dim()
    );
    StochCase {
        beta: beta.max(beta_i),
        mu: c.mu.exact().unwrap_or(0.0).max(0.0),
        lstar: c.loss_min.exact().expect("exact L*"),
        sigma2: c.sigma2.exact().expect("exact sigma2"),
        b,
        what,
        prob,
    }
}

/// The horizon T ∈ 1..=[`T_MAX`] from a coordinate.
pub(super) fn horizon(t: f64) -> usize {
    1 + ((t * (T_MAX - 1) as f64).round() as usize).min(T_MAX - 1)
}

/// One replicate of a trajectory w₀, …, w_T of `method` with step sizes `sizes` (horizon T):
/// (Σ_{t<T} ‖∇L(w_t)‖², L(w_T), Σ_{t<T} ⟨∇L(w_t), ∇L_{I_t}(w_t) − ∇L(w_t)⟩ when `with_cv`, else 0).
///
/// The last sum is a control variate: I_t is the step's descent batch, uniform and independent of
/// w_t, so every term has conditional mean 0 and the sum has mean exactly 0; it carries the
/// first-order batch noise of L(w_{t+1}) − L(w_t) ≈ −γ⟨∇L(w_t), ∇L_{I_t}(w_t)⟩. I_t (and J_t for
/// n-SAM-stoch) are re-drawn from a clone of the step's generator, and the step's descent
/// direction is recomputed from them and compared with the optimizer's (a mismatch panics), so
/// the batch used is provably the step's own.
#[allow(clippy::too_many_arguments)]
pub(super) fn replicate_path(
    c: &StochCase,
    method: &Method,
    sizes: StepSizes,
    w0: &[f64],
    big_t: usize,
    seed: u64,
    r: u64,
    with_cv: bool,
) -> (f64, f64, f64) {
    let prob = c.prob.as_ref();
    let d = prob.dim();
    let n = prob.n_examples();
    let mut ws = Workspace::new(d, n);
    let mut rng = stream(seed, 2 + r);
    let mut w = w0.to_vec();
    let (mut g, mut gi, mut gj, mut x, mut desc) = (
        vec![0.0; d],
        vec![0.0; d],
        vec![0.0; d],
        vec![0.0; d],
        vec![0.0; d],
    );
    let (mut bi, mut bj) = (Vec::with_capacity(c.b), Vec::with_capacity(c.b));
    let (mut sum, mut cv) = (0.0, 0.0);
    for t in 0..big_t {
        prob.grad(&w, &mut g);
        sum += dot(&g, &g);
        let (lr, rho) = sizes.at(t, big_t);
        if !with_cv {
            step(prob, method, &mut w, lr, rho, &mut ws, &mut rng);
            continue;
        }
        let mut twin = rng.clone();
        bi.clear();
        bi.extend((0..c.b).map(|_| twin.random_range(0..n)));
        bj.clear();
        if method.independent_ascent_batch {
            bj.extend((0..c.b).map(|_| twin.random_range(0..n)));
        } else {
            bj.extend_from_slice(&bi);
        }
        prob.batch_grad(&w, Batch::Indices(&bi), &mut gi);
        prob.batch_grad(&w, Batch::Indices(&bj), &mut gj);
        cv += dot(&g, &gi) - dot(&g, &g);
        for k in 0..d {
            x[k] = w[k] + rho * gj[k];
        }
        let at = if rho == 0.0 { &w } else { &x };
        prob.batch_grad(at, Batch::Indices(&bi), &mut desc);
        step(prob, method, &mut w, lr, rho, &mut ws, &mut rng);
        let mag = desc.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let off = desc
            .iter()
            .zip(ws.last_descent())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            off <= 1e-9 * mag.max(1e-300),
            "the re-drawn batch does not reproduce the optimizer's step ({off:e} vs {mag:e})"
        );
    }
    (sum, prob.loss(&w), cv)
}

/// The method by name with batches of size b drawn with replacement.
pub(super) fn method(name: &str, b: usize) -> Method {
    Method::from_name(name, Some(b), true).expect("known method")
}

/// The Monte Carlo estimate of E X with X = (1/T) Σ_{t<T} ‖∇L(w_t)‖² − k (L(w₀) − L(w_T)) (k = 0
/// for the bare average), with the mean-zero control variate (kγ/T)·Σ_t ⟨∇L(w_t), ∇L_{I_t}(w_t) −
/// ∇L(w_t)⟩ added (kγ = `cv_factor`; see [`replicate_path`]): the same expectation, without the
/// first-order batch noise that k (L(w_T) − L(w₀)) carries and that for small γ swamps the mean.
#[allow(clippy::too_many_arguments)]
pub(super) fn grad_avg_estimate(
    c: &StochCase,
    m: &Method,
    sizes: StepSizes,
    w0: &[f64],
    big_t: usize,
    k: f64,
    cv_factor: f64,
    seed: u64,
) -> Estimate {
    let l0 = c.prob.loss(w0);
    replicate(replicates(big_t), |r| {
        let (sum, lt, cv) = replicate_path(c, m, sizes, w0, big_t, seed, r, cv_factor != 0.0);
        (sum + cv_factor * cv) / big_t as f64 - k * (l0 - lt)
    })
}

/// The Monte Carlo estimate of E L(w_T) − L*.
pub(super) fn gap_estimate(
    c: &StochCase,
    m: &Method,
    sizes: StepSizes,
    w0: &[f64],
    big_t: usize,
    seed: u64,
) -> Estimate {
    replicate(replicates(big_t), |r| {
        let (_, lt, _) = replicate_path(c, m, sizes, w0, big_t, seed, r, false);
        lt - c.lstar
    })
}

/// A starting point of scale log-uniform in [1e-2, 5] from a coordinate.
pub(super) fn start_point(c: &StochCase, t: f64, seed: u64) -> Vec<f64> {
    start(c.prob.as_ref(), log_map(t, 1e-2, 5.0), seed)
}

/// A rounding scale for a Monte Carlo observation: the magnitudes that enter it, times a factor
/// for the accumulated roundoff of T steps in dimension p.
pub(super) fn mc_scale(c: &StochCase, big_t: usize, mags: f64) -> f64 {
    (c.prob.dim() as f64 + 4.0) * (big_t as f64 + 1.0) * mags
}

/// Constant-step evaluation shared by thm15 (n-SAM-stoch, γ, ρ ≤ 1/(2β), factors 4 and 4T) and
/// thm18 (m-SAM, γ ≤ 1/β, ρ ≤ 1/(4β), factors 8/3 and 8/3). `lr_max`, `rho_max` are multiples of
/// 1/β; the noise term is `noise_factor`·σ²β(γ + ρ²β)/b.
pub(super) fn constant_step_eval(
    inst: &Instance,
    name: &str,
    lr_max: f64,
    rho_max: f64,
    loss_factor: f64,
    noise_factor: impl Fn(usize) -> f64,
) -> Observation {
    let t = &inst.theta;
    let c = stoch_case(&t[4..10], inst.seed, false);
    let lr = t[0].max(1e-3) * lr_max / c.beta;
    let rho = t[1] * rho_max / c.beta;
    let big_t = horizon(t[2]);
    let w0 = start_point(&c, t[3], inst.seed);
    let l0 = c.prob.loss(&w0);
    let m = method(name, c.b);
    let k = loss_factor / (big_t as f64 * lr);
    let est = grad_avg_estimate(
        &c,
        &m,
        StepSizes::constant(lr, rho),
        &w0,
        big_t,
        k,
        loss_factor,
        inst.seed,
    );
    let noise = noise_factor(big_t) * c.sigma2 * c.beta * (lr + rho * rho * c.beta) / c.b as f64;
    let scale = mc_scale(
        &c,
        big_t,
        est.mean.abs() + est.sd + noise + 2.0 * k * l0.abs(),
    );
    Observation::monte_carlo(
        est,
        Sense::Le,
        noise,
        scale,
        c.constants(false),
        format!(
            "{}; gamma*beta = {:.6}, rho*beta = {:.6}, T = {big_t}, L(w0) - L* = {:.6e}, lhs = E[(1/T) sum_(t<T) |grad L(w_t)|^2 - {loss_factor:.4} (L(w0) - L(w_T))/(T gamma)], rhs = noise term; control variate (see replicate_path)",
            c.what,
            lr * c.beta,
            rho * c.beta,
            l0 - c.lstar,
        ),
    )
}

/// af22.thm15 as printed (noise term with the factor T).
pub struct Thm15;

impl Check for Thm15 {
    fn id(&self) -> &'static str {
        "af22.thm15"
    }
    fn statement(&self) -> &'static str {
        "stoch. n-SAM, g, r <= 1/(2b): (1/T) sum_{t<T} E|grad L(w_t)|^2 <= 4(L(w0) - E L(wT))/(T g) + 4T s^2 b (g + r^2 b)/batch"
    }
    fn dims(&self) -> usize {
        10
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        constant_step_eval(inst, "nsam-stoch", 0.5, 0.5, 4.0, |big_t| {
            4.0 * big_t as f64
        })
    }
}
