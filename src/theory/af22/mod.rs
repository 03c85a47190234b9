//! The af22 statements (Andriushchenko & Flammarion 2022) as checks, and the instance builders
//! they share: random quadratics with a prescribed spectrum (β, µ exact), the shared-linear
//! families (β, µ, σ² exact), and points and directions drawn from an instance's seed. The
//! implicit-bias statements of Section 4 (flows on the diagonal network) share [`bias`].

pub mod appb3;
pub mod bias;
pub mod implicit;
mod lem13;
mod lem14;
mod lem16;
mod lem17;
mod lem7;
mod lem8;
mod thm10;
mod thm11;
mod thm12;
mod thm15;
mod thm18;
mod thm2;
mod thm6;
mod thm9;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::Check;
use crate::problem::{Quadratic, SharedLinear, SharedPart};
use crate::rng::stream;

/// The af22 checks, in report order.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut v: Vec<Box<dyn Check>> = vec![
        Box::new(lem7::Lem7),
        Box::new(lem8::Lem8Descent),
        Box::new(lem8::Lem8Pl),
        Box::new(lem8::Lem8PlCorrected),
        Box::new(thm6::Thm6),
        Box::new(thm6::Thm6Pl),
        Box::new(thm6::Thm6Remark),
        Box::new(thm9::Thm9),
        Box::new(thm9::Thm9Corrected),
        Box::new(thm10::Thm10),
        Box::new(thm11::Thm11),
        Box::new(thm11::Thm11Strong),
        Box::new(lem13::Lem13),
        Box::new(lem14::Lem14),
        Box::new(lem16::Lem16),
        Box::new(lem17::Lem17),
        Box::new(thm15::Thm15),
        Box::new(thm12::Thm12),
        Box::new(thm12::Thm12Corrected),
        Box::new(thm12::Thm12Pl),
        Box::new(thm18::Thm18),
        Box::new(thm18::Thm18Pl),
        Box::new(thm2::Thm2),
        Box::new(thm2::Thm2Pl),
    ];
    v.extend(implicit::checks());
    v.push(Box::new(appb3::Thm1));
    v.push(Box::new(appb3::AppB3));
    v
}

/// A log-uniform map of t ∈ [0, 1] onto [lo, hi].
pub fn log_map(t: f64, lo: f64, hi: f64) -> f64 {
    (lo.ln() + t * (hi.ln() - lo.ln())).exp()
}

/// The class k ∈ 0..n that the coordinate t ∈ [0, 1] selects (n equal slices, 1 in the last).
pub fn class_of(t: f64, n: usize) -> usize {
    ((t * n as f64) as usize).min(n - 1)
}

/// The instance's random generator (stream 0 of its seed).
pub fn rng_of(seed: u64) -> ChaCha8Rng {
    stream(seed, 0)
}

/// A standard Gaussian vector of length p.
pub fn gaussian(rng: &mut ChaCha8Rng, p: usize) -> Vec<f64> {
    (0..p).map(|_| StandardNormal.sample(rng)).collect()
}

/// A random orthogonal p×p matrix (Gram–Schmidt of a Gaussian matrix), row-major.
fn orthogonal(rng: &mut ChaCha8Rng, p: usize) -> Vec<f64> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(p);
    while q.len() < p {
        let mut v = gaussian(rng, p);
        for u in &q {
            let c = crate::problem::dot(&v, u);
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= c * b);
        }
        let nv = crate::problem::norm(&v);
        if nv > 1e-8 {
            v.iter_mut().for_each(|a| *a /= nv);
            q.push(v);
        }
    }
    q.concat()
}

/// A quadratic with n per-example centres cᵢ ~ N(0, s²I) and Hessian A = Q diag(λ) Qᵀ whose
/// eigenvalues span [µ, β] (both attained; the others uniform in between), p from the seed in 2..=5.
pub fn quadratic(rng: &mut ChaCha8Rng, beta: f64, mu: f64, n: usize, s: f64) -> Quadratic {
    let p = rng.random_range(2..=5usize);
    let mut lam: Vec<f64> = (0..p).map(|_| rng.random_range(mu..=beta)).collect();
    lam[0] = beta;
    lam[1] = mu;
    let q = orthogonal(rng, p);
    let mut a = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            a[i * p + j] = (0..p).map(|k| q[k * p + i] * lam[k] * q[k * p + j]).sum();
        }
    }
    for i in 0..p {
        for j in 0..i {
            let m = 0.5 * (a[i * p + j] + a[j * p + i]);
            a[i * p + j] = m;
            a[j * p + i] = m;
        }
    }
    let centers = (0..n)
        .map(|_| gaussian(rng, p).iter().map(|c| s * c).collect())
        .collect();
    Quadratic::new(a, p, centers).expect("a valid quadratic by construction")
}

/// A shared-linear problem ℓᵢ = h(w) + ⟨aᵢ, w⟩ with aᵢ of scale `s`, p in 2..=5 from the seed.
pub fn shared_linear(rng: &mut ChaCha8Rng, part: SharedPart, n: usize, s: f64) -> SharedLinear {
    let p = rng.random_range(2..=5usize);
    let seed: u64 = rng.random();
    SharedLinear::random(part, p, n, s, seed).expect("valid by construction")
}
