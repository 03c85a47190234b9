//! af22 Lemma 13 (stochastic n-SAM, Eq. 21), one step from a fixed w:
//! E⟨∇L_I(w + ρ∇L_J(w)), ∇L(w)⟩ ≥ (1/2 − βρ)‖∇L(w)‖² − β²ρ²σ²/2 under (A1), (A2), for all ρ ≥ 0,
//! I and J independent mini-batches of size b (β: individual smoothness).
//!
//! The expectation is exact. Sampling model: the proof's only use of the batch distribution is
//! E ∇L_I = ∇L and "the variance of a mini-batch of size b is bounded by σ²/b", the model of
//! Gower et al. (2019) that the paper follows: b indices drawn i.i.d. uniformly on 1..n (ordered
//! b-tuples with replacement, all n^b enumerated with equal weight), for which the batch variance
//! is exactly σ_w²/b — the worst case the σ²/b bound allows. One instance coordinate switches to
//! uniform b-subsets without replacement (all C(n, b) enumerated), whose variance
//! σ_w²(n − b)/(b(n − 1)) is smaller, so both readings of "a mini-batch of size b" are covered.
//! Here I is independent of J, so E_I ∇L_I(x_J) = ∇L(x_J) exactly (linearity, under either
//! model): the left side is the exact average of ⟨∇L(w + ρ∇L_J(w)), ∇L(w)⟩ over all batches J.
//!
//! This file also holds the batch enumeration and the instance space shared by af22.lem14,
//! af22.lem16 and af22.lem17.

use super::{class_of, gaussian, log_map, quadratic, rng_of, shared_linear};
use crate::problem::{Batch, Problem, SharedPart, dot};
use crate::rng::stream;
use crate::theory::{Check, Constant, Instance, Observation};

/// Every batch of size b from 1..n: all n^b ordered tuples (with replacement) or all C(n, b)
/// subsets (without replacement), each of equal probability.
pub(super) fn batches(n: usize, b: usize, with_replacement: bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut idx = vec![0usize; b];
    if with_replacement {
        loop {
            out.push(idx.clone());
            let mut k = b;
            loop {
                if k == 0 {
                    return out;
                }
                k -= 1;
                idx[k] += 1;
                if idx[k] < n {
                    break;
                }
                idx[k] = 0;
            }
        }
    } else {
        for (k, v) in idx.iter_mut().enumerate() {
            *v = k;
        }
        loop {
            out.push(idx.clone());
            // The next combination in lexicographic order.
            let mut k = b;
            loop {
                if k == 0 {
                    return out;
                }
                k -= 1;
                if idx[k] < n - b + k {
                    break;
                }
                if k == 0 {
                    return out;
                }
            }
            idx[k] += 1;
            for j in k + 1..b {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }
}

/// The (n, b) pairs of the instance space: n ∈ 2..=6, b ∈ 1..=n, with n^(b·power) ≤ 4096
/// (power 2 where a check enumerates pairs of batches).
fn sizes(power: u32) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for n in 2..=6usize {
        for b in 1..=n {
            if (n as u64).pow(b as u32 * power) <= 4096 {
                v.push((n, b));
            }
        }
    }
    v
}

/// One instance of the shared space: a problem with exact constants, the batch model and a point.
pub(super) struct Setup {
    /// The problem.
    pub p: Box<dyn Problem>,
    /// Number of examples.
    pub n: usize,
    /// Batch size.
    pub b: usize,
    /// True for i.i.d. indices (ordered tuples), false for b-subsets.
    pub with_replacement: bool,
    /// The point w.
    pub w: Vec<f64>,
    /// ∇L(w).
    pub g: Vec<f64>,
    /// ‖∇L(w)‖².
    pub g2: f64,
    /// (A2): the smoothness of every ℓᵢ (exact).
    pub beta_individual: f64,
    /// (A2′): the smoothness of L (exact).
    pub beta_l: f64,
    /// (A1): σ² (exact).
    pub sigma2: f64,
    /// The instance in words.
    pub what: String,
}

impl Setup {
    /// Every batch of the instance's model.
    pub fn batches(&self) -> Vec<Vec<usize>> {
        batches(self.n, self.b, self.with_replacement)
    }

    /// The ascent point x = w + ρ∇L_J(w) of batch J into `x` (∇L_J(w) into `v`).
    fn ascent(&self, j: &[usize], rho: f64, v: &mut [f64], x: &mut [f64]) {
        self.p.batch_grad(&self.w, Batch::Indices(j), v);
        for k in 0..self.p.dim() {
            x[k] = self.w[k] + rho * v[k];
        }
    }
}

/// The shared instance space, from six coordinates `t`: problem class, (n, b), sampling model,
/// scale of the point, scale of the per-example noise, β of the quadratics.
pub(super) fn setup(t: &[f64], seed: u64, power: u32) -> Setup {
    let sz = sizes(power);
    let (n, b) = sz[((t[1] * sz.len() as f64) as usize).min(sz.len() - 1)];
    let with_replacement = t[2] < 0.5;
    let r = log_map(t[3], 0.05, 5.0);
    let s = log_map(t[4], 0.05, 5.0);
    let qbeta = log_map(t[5], 0.1, 10.0);
    let mut rng = rng_of(seed);
    let case = class_of(t[0], 4);
    let (p, name): (Box<dyn Problem>, &str) = match case {
        0 => (
            Box::new(quadratic(&mut rng, qbeta, 0.0, n, s)),
            "convex quadratic (mu = 0)",
        ),
        1 => (
            Box::new(quadratic(&mut rng, qbeta, 0.1 * qbeta, n, s)),
            "strongly convex quadratic",
        ),
        2 => (
            Box::new(shared_linear(&mut rng, SharedPart::LogOnePlusSq, n, s)),
            "log(1+w^2) shared-linear family",
        ),
        _ => (
            Box::new(shared_linear(&mut rng, SharedPart::SqPlusSin, n, s)),
            "w^2 + 3 sin^2 w shared-linear family",
        ),
    };
    let c = p.constants();
    let beta_individual = c
        .individual_smoothness
        .exact()
        .expect("exact by construction");
    let beta_l = c.smoothness.exact().expect("exact by construction");
    let sigma2 = c.sigma2.exact().expect("exact by construction");
    let mut wr = stream(seed, 1);
    let w: Vec<f64> = gaussian(&mut wr, p.dim()).iter().map(|x| x * r).collect();
    let mut g = vec![0.0; p.dim()];
    p.grad(&w, &mut g);
    let g2 = dot(&g, &g);
    let what = format!(
        "{name}; p = {}, n = {n}, b = {b}, {}, |w| scale = {r:.3}, noise scale = {s:.3}",
        p.dim(),
        if with_replacement {
            "i.i.d. indices (n^b tuples)"
        } else {
            "b-subsets without replacement"
        }
    );
    Setup {
        p,
        n,
        b,
        with_replacement,
        w,
        g,
        g2,
        beta_individual,
        beta_l,
        sigma2,
        what,
    }
}

/// The exact E ⟨∇L_I(w + ρ∇L_J(w)), ∇L(w)⟩ and the sum of the terms' magnitudes: with I
/// independent of J (`same_batch` false, af22.lem13) E_I ∇L_I = ∇L, so the average of
/// ⟨∇L(w + ρ∇L_J(w)), ∇L(w)⟩ over all J; with I = J (af22.lem16) the average over all I.
fn inner_lhs(s: &Setup, rho: f64, same_batch: bool) -> (f64, f64) {
    let d = s.p.dim();
    let (mut v, mut x, mut u) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let (mut sum, mut mag) = (0.0, 0.0);
    let all = s.batches();
    for j in &all {
        s.ascent(j, rho, &mut v, &mut x);
        if same_batch {
            s.p.batch_grad(&x, Batch::Indices(j), &mut u);
        } else {
            s.p.grad(&x, &mut u);
        }
        sum += dot(&u, &s.g);
        mag += dot(&u, &u).sqrt() * s.g2.sqrt();
    }
    (sum / all.len() as f64, mag)
}

/// The shared evaluation of af22.lem13 (`same_batch` false: σ² without /b, as printed) and
/// af22.lem16 (`same_batch` true: σ²/b): θ = (ρβ/2, the six coordinates of [`setup`]).
pub(super) fn inner_observation(t: &[f64], seed: u64, same_batch: bool) -> Observation {
    let s = setup(&t[1..7], seed, 1);
    let beta = s.beta_individual;
    // For all ρ ≥ 0: ρβ ∈ [0, 2].
    let rho = 2.0 * t[0] / beta;
    let (lhs, mag) = inner_lhs(&s, rho, same_batch);
    let count = s.batches().len() as f64;
    let per_batch = if same_batch { s.b as f64 } else { 1.0 };
    let noise = 0.5 * beta * beta * rho * rho * s.sigma2 / per_batch;
    let rhs = (0.5 - beta * rho) * s.g2 - noise;
    Observation::ge(
        lhs,
        rhs,
        mag / count * (count + s.p.dim() as f64) + s.g2 + noise,
        vec![
            Constant::exact("beta", beta),
            Constant::exact("sigma2", s.sigma2),
        ],
        format!(
            "{}; rho*beta = {:.4}, |grad|^2 = {:.4e}, sigma2 = {:.4e}",
            s.what,
            rho * beta,
            s.g2,
            s.sigma2
        ),
    )
}

/// The exact E L(w − γ∇L_I(w + ρ∇L_J(w))) and the sum of the terms' magnitudes: over every pair
/// (I, J) of independent batches (`nested`, af22.lem14), or over every batch I = J (af22.lem17).
fn expected_loss(s: &Setup, lr: f64, rho: f64, nested: bool) -> (f64, f64) {
    let d = s.p.dim();
    let (mut v, mut x, mut u, mut y) = (vec![0.0; d], vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let (mut sum, mut mag) = (0.0, 0.0);
    let all = s.batches();
    for j in &all {
        s.ascent(j, rho, &mut v, &mut x);
        let descents = if nested {
            &all[..]
        } else {
            std::slice::from_ref(j)
        };
        for i in descents {
            s.p.batch_grad(&x, Batch::Indices(i), &mut u);
            for k in 0..d {
                y[k] = s.w[k] - lr * u[k];
            }
            let l = s.p.loss(&y);
            sum += l;
            mag += l.abs();
        }
    }
    let count = if nested {
        all.len() * all.len()
    } else {
        all.len()
    };
    (sum / count as f64, mag)
}

/// The shared evaluation of the one-step descent bounds af22.lem14 (`nested`: independent I, J)
/// and af22.lem17 (I = J): L(w) − E L(w⁺) ≥ coef·γ‖∇L(w)‖² − noise, with β the smoothness the
/// lemma assumes.
pub(super) fn descent_observation(
    s: &Setup,
    (beta, lr, rho): (f64, f64, f64),
    coef: f64,
    noise: f64,
    nested: bool,
) -> Observation {
    let l0 = s.p.loss(&s.w);
    let (l1, mag) = expected_loss(s, lr, rho, nested);
    let rhs = coef * lr * s.g2 - noise;
    let len = s.batches().len();
    let count = if nested { len.pow(2) } else { len } as f64;
    Observation::ge(
        l0 - l1,
        rhs,
        (mag / count + l0.abs()) * (count + (s.n * s.p.dim()) as f64) + coef * lr * s.g2 + noise,
        vec![
            Constant::exact("beta", beta),
            Constant::exact("sigma2", s.sigma2),
        ],
        format!(
            "{}; gamma*beta = {:.4}, rho*beta = {:.4}, L(w) = {l0:.6e}, E L(w+) = {l1:.6e}, |grad|^2 = {:.4e}, sigma2 = {:.4e}",
            s.what,
            lr * beta,
            rho * beta,
            s.g2,
            s.sigma2
        ),
    )
}

/// af22.lem13 as printed (σ² without /b).
pub struct Lem13;

impl Check for Lem13 {
    fn id(&self) -> &'static str {
        "af22.lem13"
    }
    fn statement(&self) -> &'static str {
        "stochastic n-SAM: E<grad L_I(w + r grad L_J(w)), grad L(w)> >= (1/2 - b r)|grad|^2 - b^2 r^2 s^2/2"
    }
    fn dims(&self) -> usize {
        7
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        inner_observation(&inst.theta, inst.seed, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_counts() {
        assert_eq!(batches(3, 2, true).len(), 9);
        assert_eq!(batches(5, 3, true).len(), 125);
        assert_eq!(batches(5, 3, false).len(), 10);
        assert_eq!(batches(4, 4, false), vec![vec![0, 1, 2, 3]]);
        assert_eq!(batches(4, 1, false).len(), 4);
        let c = batches(6, 2, false);
        assert_eq!(c.len(), 15);
        assert!(c.iter().all(|v| v[0] < v[1]));
    }

    /// With i.i.d. indices, E_I ∇L_I = ∇L and E_I ‖∇L_I − ∇L‖² = σ²/b exactly on the families
    /// (σ² is attained at every w); without replacement the variance is σ²(n − b)/(b(n − 1)).
    #[test]
    fn batch_moments() {
        for case in 0..4 {
            for (nb, repl) in [(0.1, true), (0.5, true), (0.9, true), (0.6, false)] {
                let t = [
                    case as f64 / 4.0 + 0.01,
                    nb,
                    if repl { 0.0 } else { 1.0 },
                    0.5,
                    0.5,
                    0.5,
                ];
                let s = setup(&t, 7 + case, 1);
                let d = s.p.dim();
                let mut v = vec![0.0; d];
                let mut mean = vec![0.0; d];
                let mut var = 0.0;
                let all = s.batches();
                for i in &all {
                    s.p.batch_grad(&s.w, Batch::Indices(i), &mut v);
                    for k in 0..d {
                        mean[k] += v[k] / all.len() as f64;
                        var += (v[k] - s.g[k]).powi(2) / all.len() as f64;
                    }
                }
                for k in 0..d {
                    assert!((mean[k] - s.g[k]).abs() < 1e-12 * (1.0 + s.g[k].abs()));
                }
                let (n, b) = (s.n as f64, s.b as f64);
                let want = if repl {
                    s.sigma2 / b
                } else if s.n == 1 {
                    0.0
                } else {
                    s.sigma2 * (n - b) / (b * (n - 1.0))
                };
                assert!((var - want).abs() < 1e-10 * (1.0 + want), "{var} vs {want}");
            }
        }
    }
}
