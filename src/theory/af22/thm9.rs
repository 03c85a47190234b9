//! af22 Theorem 9 ((A2′), γ < 1/β, ρ < 1/β, full-batch n-SAM, Eq. 20):
//! (1/T) Σ_{t=0}^{T} ‖∇L(w_t)‖² ≤ (L(w₀) − L(w_T)) / (Tγ(1 − ρβ)[1 − (γβ/2)(1 − ρβ)]).
//!
//! As printed the sum has T + 1 terms; the proof (Lemma 8 summed over t = 0, …, T − 1) bounds
//! only the first T, and on an isotropic quadratic with ρ = 0 every step of Lemma 8 is an
//! equality, so the extra term ‖∇L(w_T)‖² > 0 breaks the printed bound. `af22.thm9.corrected`
//! checks the sum over t = 0, …, T − 1, which is what the proof supports.
//!
//! This file also holds the instance helpers of the af22 convergence theorems (thm6, thm9–thm11):
//! problem classes with their constants, and full-batch n-SAM trajectories run with the real
//! optimizer ([`crate::optim::step`]).

use super::{class_of, gaussian, log_map, quadratic, rng_of, shared_linear};
use crate::optim::{Method, Workspace, step};
use crate::problem::{Logistic, Problem, SharedPart, dot, norm};
use crate::rng::stream;
use crate::theory::{Check, Constant, Instance, Observation, rounding};

/// A problem of an instance with its constants.
pub(super) struct Case {
    /// The problem.
    pub prob: Box<dyn Problem>,
    /// β (exact).
    pub beta: f64,
    /// µ: PL or strong-convexity constant (0 when not PL), exact.
    pub mu: f64,
    /// L* = inf L.
    pub lstar: f64,
    /// A minimizer.
    pub wstar: Vec<f64>,
    /// True when L* and w* were computed numerically (Newton), not known in closed form.
    pub measured: bool,
    /// The class in words.
    pub what: &'static str,
}

impl Case {
    /// The constants the bounds use.
    pub fn constants(&self, with_mu: bool) -> Vec<Constant> {
        let mut c = vec![Constant::exact("beta", self.beta)];
        if with_mu {
            c.push(Constant::exact("mu", self.mu));
        }
        if self.measured {
            c.push(Constant::measured("L*", self.lstar));
        } else {
            c.push(Constant::exact("L*", self.lstar));
        }
        c
    }
}

impl Case {
    /// max(‖w*‖, max_t ‖w_t‖) over a trajectory: the size of the points a bound's rounding sees.
    pub fn path_norm(&self, path: &[Vec<f64>]) -> f64 {
        path.iter()
            .map(|w| norm(w))
            .fold(norm(&self.wstar), f64::max)
    }
}

/// The PL classes of [`smooth_case`] (w² + 3 sin² w family, strongly convex quadratic), from θ₀.
pub(super) fn pl_kind(t: f64) -> usize {
    if t < 0.5 { 1 } else { 3 }
}

/// A full-batch n-SAM run of an instance: the problem, γ, ρ, the horizon T, w₀ and w₀..w_T.
pub(super) struct Run {
    pub c: Case,
    pub lr: f64,
    pub rho: f64,
    pub big_t: usize,
    pub w0: Vec<f64>,
    pub path: Vec<Vec<f64>>,
}

/// The run of θ = (class, γ, ρ, T, β, µ, start scale): class `kind` (chosen from θ₀ by the
/// caller) built by `case`, (γ, ρ) from (θ₁, θ₂, β) by `sizes`.
pub(super) fn nsam_run(
    inst: &Instance,
    kind: usize,
    case: fn(usize, f64, f64, u64) -> Case,
    sizes: fn(f64, f64, f64) -> (f64, f64),
) -> Run {
    let t = &inst.theta;
    let c = case(kind, t[4], t[5], inst.seed);
    let (lr, rho) = sizes(t[1], t[2], c.beta);
    let big_t = horizon(t[3]);
    let w0 = start(c.prob.as_ref(), log_map(t[6], 0.05, 5.0), inst.seed);
    let path = nsam_path(c.prob.as_ref(), &w0, lr, rho, big_t);
    Run {
        c,
        lr,
        rho,
        big_t,
        w0,
        path,
    }
}

/// The rows of a linear rate L(w_t) − L* ≤ qᵗ·`l0` (`l0` = L(w₀) − L*) at every 1 ≤ t ≤ T.
pub(super) fn rate_rows(c: &Case, path: &[Vec<f64>], l0: f64, q: f64) -> Vec<Row> {
    let dim = c.prob.dim() as f64;
    let wn = c.path_norm(path);
    let floor = c.lstar.abs() + c.beta * wn * wn;
    path.iter()
        .enumerate()
        .skip(1)
        .map(|(tt, w)| {
            let l = c.prob.loss(w);
            let rhs = q.powi(tt as i32) * l0;
            let scale = (dim + 4.0) * (l.abs() + floor + rhs.abs());
            (tt, l - c.lstar, rhs, scale)
        })
        .collect()
}

fn from_constants(prob: Box<dyn Problem>, what: &'static str) -> Case {
    let c = prob.constants();
    Case {
        beta: c.smoothness.exact().expect("exact beta"),
        mu: c.mu.exact().unwrap_or(0.0).max(0.0),
        lstar: c.loss_min.exact().expect("exact L*"),
        wstar: c.minimizer.expect("known minimizer"),
        measured: false,
        what,
        prob,
    }
}

/// Smooth problem classes with exact β, µ, L*, w*:
/// 0 = log(1+w²) family (non-convex, not PL, β = 2), 1 = w² + 3 sin² w family (non-convex, PL
/// µ = 1/32, β = 8), 2 = convex quadratic (λ_min = 0), 3 = strongly convex quadratic.
pub(super) fn smooth_case(kind: usize, t_beta: f64, t_mu: f64, seed: u64) -> Case {
    let mut rng = rng_of(seed);
    let beta = log_map(t_beta, 0.1, 10.0);
    match kind {
        0 => from_constants(
            Box::new(shared_linear(&mut rng, SharedPart::LogOnePlusSq, 3, 1.0)),
            "log(1+w^2) family (non-convex, not PL)",
        ),
        1 => from_constants(
            Box::new(shared_linear(&mut rng, SharedPart::SqPlusSin, 3, 1.0)),
            "w^2 + 3 sin^2 w family (non-convex, PL mu = 1/32)",
        ),
        2 => from_constants(
            Box::new(quadratic(&mut rng, beta, 0.0, 3, 1.0)),
            "convex quadratic (lambda_min = 0)",
        ),
        _ => {
            let mu = beta * log_map(t_mu, 1e-3, 1.0);
            from_constants(
                Box::new(quadratic(&mut rng, beta, mu, 3, 1.0)),
                "strongly convex quadratic",
            )
        }
    }
}

/// Solve the symmetric positive definite system H x = g (p small) by Gaussian elimination with
/// partial pivoting.
fn solve(mut h: Vec<f64>, mut g: Vec<f64>, p: usize) -> Vec<f64> {
    for k in 0..p {
        let piv = (k..p)
            .max_by(|&a, &b| h[a * p + k].abs().total_cmp(&h[b * p + k].abs()))
            .expect("non-empty");
        if piv != k {
            for j in 0..p {
                h.swap(k * p + j, piv * p + j);
            }
            g.swap(k, piv);
        }
        for r in k + 1..p {
            let f = h[r * p + k] / h[k * p + k];
            for j in k..p {
                h[r * p + j] -= f * h[k * p + j];
            }
            g[r] -= f * g[k];
        }
    }
    let mut x = vec![0.0; p];
    for k in (0..p).rev() {
        let s: f64 = (k + 1..p).map(|j| h[k * p + j] * x[j]).sum();
        x[k] = (g[k] - s) / h[k * p + k];
    }
    x
}

/// The minimizer of a strongly convex problem with a Hessian, by damped Newton to machine
/// precision (a measured quantity).
fn newton_minimizer(prob: &dyn Problem) -> Vec<f64> {
    let p = prob.dim();
    let mut w = vec![0.0; p];
    let mut g = vec![0.0; p];
    let mut trial = vec![0.0; p];
    for _ in 0..100 {
        prob.grad(&w, &mut g);
        if norm(&g) == 0.0 {
            break;
        }
        let d = solve(prob.hessian(&w).expect("a Hessian"), g.clone(), p);
        let l0 = prob.loss(&w);
        let mut s = 1.0;
        loop {
            for j in 0..p {
                trial[j] = w[j] - s * d[j];
            }
            if prob.loss(&trial) <= l0 || s < 1e-8 {
                break;
            }
            s *= 0.5;
        }
        let moved = trial.iter().zip(&w).any(|(a, b)| a != b);
        w.copy_from_slice(&trial);
        if !moved {
            break;
        }
    }
    w
}

/// Convex problem classes: 0 = convex quadratic (λ_min = 0), 1 = strongly convex quadratic
/// (exact constants), 2 = ℓ2-regularized logistic regression (β, µ = λ exact; L*, w* by Newton,
/// measured).
pub(super) fn convex_case(kind: usize, t_beta: f64, t_mu: f64, seed: u64) -> Case {
    match kind {
        0 => smooth_case(2, t_beta, t_mu, seed),
        1 => smooth_case(3, t_beta, t_mu, seed),
        _ => {
            let lambda = log_map(t_mu, 1e-3, 1.0);
            let l = Logistic::random(3, 8, lambda, seed).expect("valid by construction");
            let beta = l.constants().smoothness.exact().expect("exact");
            let wstar = newton_minimizer(&l);
            Case {
                beta,
                mu: lambda,
                lstar: l.loss(&wstar),
                wstar,
                measured: true,
                what: "l2-regularized logistic regression",
                prob: Box::new(l),
            }
        }
    }
}

/// A starting point: a Gaussian vector of scale `r` around the origin (stream 1 of the seed).
pub(super) fn start(prob: &dyn Problem, r: f64, seed: u64) -> Vec<f64> {
    let mut rng = stream(seed, 1);
    gaussian(&mut rng, prob.dim())
        .iter()
        .map(|x| x * r)
        .collect()
}

/// The iterates w₀, …, w_T of full-batch n-SAM (Eq. 20) with constant γ, ρ, run by the real
/// optimizer.
pub(super) fn nsam_path(
    prob: &dyn Problem,
    w0: &[f64],
    lr: f64,
    rho: f64,
    steps: usize,
) -> Vec<Vec<f64>> {
    let nsam = Method::from_name("nsam", None, false).expect("known method");
    let mut ws = Workspace::new(prob.dim(), prob.n_examples());
    let mut rng = stream(0, 2);
    let mut w = w0.to_vec();
    let mut out = Vec::with_capacity(steps + 1);
    out.push(w.clone());
    for _ in 0..steps {
        step(prob, &nsam, &mut w, lr, rho, &mut ws, &mut rng);
        out.push(w.clone());
    }
    out
}

/// ‖∇L(w)‖² along a path.
pub(super) fn grad_sq(prob: &dyn Problem, path: &[Vec<f64>]) -> Vec<f64> {
    let mut g = vec![0.0; prob.dim()];
    path.iter()
        .map(|w| {
            prob.grad(w, &mut g);
            dot(&g, &g)
        })
        .collect()
}

/// γ ∈ (0, 1/β) strictly and ρ ∈ [0, 1/β) strictly from two coordinates.
pub(super) fn lr_rho_strict(t_lr: f64, t_rho: f64, beta: f64) -> (f64, f64) {
    let lr = (1e-3 + (1.0 - 1e-3) * t_lr).min(1.0 - 1e-9) / beta;
    let rho = t_rho.min(1.0 - 1e-9) / beta;
    (lr, rho)
}

/// The horizon T ∈ 1..=200 from a coordinate.
pub(super) fn horizon(t: f64) -> usize {
    1 + ((t * 199.0).round() as usize).min(199)
}

/// One per-horizon observation: (t, lhs, rhs, rounding scale).
pub(super) type Row = (usize, f64, f64, f64);

/// The row to report among per-t observations given as (t, lhs, rhs, scale): the worst (largest
/// margin) certain violation if there is one (beyond the rounding allowance of its scale);
/// otherwise the tightest row whose bound is resolvable (RHS far above the rounding allowance, so
/// that rows where both sides are rounding noise do not pose as tight); otherwise the first row.
pub(super) fn worst_of(rows: &[Row]) -> Row {
    let margin = |&(_, a, b, _): &Row| {
        let m = (a - b) / f64::abs(a).max(b.abs()).max(f64::MIN_POSITIVE);
        if m.is_nan() { f64::INFINITY } else { m }
    };
    let pick = |f: &dyn Fn(&Row) -> bool| {
        rows.iter()
            .filter(|r| f(r))
            .max_by(|x, y| margin(x).total_cmp(&margin(y)))
            .copied()
    };
    pick(&|&(_, a, b, s)| a > b + rounding(s) || a.is_nan() || b.is_nan())
        .or_else(|| pick(&|&(_, _, b, s)| b.abs() > 1e6 * rounding(s)))
        .unwrap_or(rows[0])
}

/// Shared evaluation of thm9 (printed: T + 1 terms) and its correction (T terms): every prefix
/// T' = 1..=T of one trajectory is checked, and the worst T' reported.
fn thm9_eval(inst: &Instance, extra_term: bool) -> Observation {
    let Run {
        c,
        lr,
        rho,
        big_t,
        path,
        ..
    } = nsam_run(inst, class_of(inst.theta[0], 4), smooth_case, lr_rho_strict);
    let g2 = grad_sq(c.prob.as_ref(), &path);
    let losses: Vec<f64> = path.iter().map(|w| c.prob.loss(w)).collect();
    let k = lr * (1.0 - rho * c.beta) * (1.0 - 0.5 * lr * c.beta * (1.0 - rho * c.beta));
    let dim = c.prob.dim() as f64;
    let mut rows = Vec::with_capacity(big_t);
    let mut sum = 0.0;
    let mut lmax: f64 = losses[0].abs();
    for tt in 1..=big_t {
        sum += g2[tt - 1];
        lmax = lmax.max(losses[tt].abs());
        let s = if extra_term { sum + g2[tt] } else { sum };
        let lhs = s / tt as f64;
        let rhs = (losses[0] - losses[tt]) / (tt as f64 * k);
        let scale = (dim + 4.0) * (lhs + (tt as f64 + 1.0) * 2.0 * lmax / (tt as f64 * k));
        rows.push((tt, lhs, rhs, scale));
    }
    let (tt, lhs, rhs, scale) = worst_of(&rows);
    Observation::le(
        lhs,
        rhs,
        scale,
        vec![Constant::exact("beta", c.beta)],
        format!(
            "{}; p = {}, gamma*beta = {:.6}, rho*beta = {:.6}, T = {tt} (of {big_t}), L(w0) = {:.6e}, L(w_T) = {:.6e}, |grad L(w_T)|^2 = {:.6e}",
            c.what,
            c.prob.dim(),
            lr * c.beta,
            rho * c.beta,
            losses[0],
            losses[tt],
            g2[tt]
        ),
    )
}

/// af22.thm9 as printed (sum over t = 0..T, T + 1 terms).
pub struct Thm9;

/// The finding on af22.thm9 (FINDINGS.md).
const THM9_FINDING: &str = "FINDINGS.md#af22thm9";

impl Check for Thm9 {
    fn id(&self) -> &'static str {
        "af22.thm9"
    }
    fn statement(&self) -> &'static str {
        "(1/T) sum_{t=0}^{T} |grad L(w_t)|^2 <= (L(w0) - L(wT)) / (T g (1-rb)[1 - (gb/2)(1-rb)]), g, r < 1/b"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        thm9_eval(inst, true)
    }
    fn finding(&self) -> Option<&'static str> {
        Some(THM9_FINDING)
    }
}

/// af22.thm9 as its proof supports it: the sum over t = 0..T−1 (T terms).
pub struct Thm9Corrected;

impl Check for Thm9Corrected {
    fn id(&self) -> &'static str {
        "af22.thm9.corrected"
    }
    fn statement(&self) -> &'static str {
        "(1/T) sum_{t=0}^{T-1} |grad L(w_t)|^2 <= (L(w0) - L(wT)) / (T g (1-rb)[1 - (gb/2)(1-rb)]), g, r < 1/b"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        thm9_eval(inst, false)
    }
}
