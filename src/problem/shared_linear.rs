//! A shared non-convex part plus per-example linear parts, ℓᵢ(w) = h(w) + ⟨aᵢ, w⟩ with
//! Σᵢ aᵢ = 0, so that L = h and ∇ℓᵢ − ∇L = aᵢ: σ² is exact, the individual smoothness is that of
//! h, and h is chosen separable with known β, PL constant and L* (see [`SharedPart`]).

use rand_distr::{Distribution, StandardNormal};

use super::{Batch, Const, Constants, Problem};
use crate::error::{Error, Result, finite, non_negative};

/// The shared part h(w) = Σⱼ g(wⱼ) of [`SharedLinear`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedPart {
    /// g(t) = log(1 + t²): g'' ∈ [−¼, 2] so β = 2; L* = 0 at 0; not PL (g' → 0 as |t| → ∞).
    LogOnePlusSq,
    /// g(t) = t² + 3 sin² t: g'' = 2 + 6 cos 2t ∈ [−4, 8] so β = 8; PL with µ = 1/32
    /// (½ g'(t)² ≥ g(t)/32, Karimi et al. 2016); non-convex; L* = 0 at 0.
    SqPlusSin,
}

impl SharedPart {
    /// g(t).
    #[inline]
    pub fn value(self, t: f64) -> f64 {
        match self {
            SharedPart::LogOnePlusSq => {
                if t.abs() < 1e100 {
                    (t * t).ln_1p()
                } else {
                    2.0 * t.abs().ln() + (1.0 / (t * t)).ln_1p()
                }
            }
            SharedPart::SqPlusSin => {
                let s = t.sin();
                t * t + 3.0 * s * s
            }
        }
    }

    /// g'(t).
    #[inline]
    pub fn deriv(self, t: f64) -> f64 {
        match self {
            SharedPart::LogOnePlusSq => 2.0 * t / (1.0 + t * t),
            SharedPart::SqPlusSin => 2.0 * t + 3.0 * (2.0 * t).sin(),
        }
    }

    /// g''(t).
    #[inline]
    pub fn second(self, t: f64) -> f64 {
        match self {
            SharedPart::LogOnePlusSq => {
                let u = 1.0 + t * t;
                2.0 * (1.0 - t * t) / (u * u)
            }
            SharedPart::SqPlusSin => 2.0 + 6.0 * (2.0 * t).cos(),
        }
    }

    /// sup |g''|: the smoothness of h and of every ℓᵢ.
    pub fn smoothness(self) -> f64 {
        match self {
            SharedPart::LogOnePlusSq => 2.0,
            SharedPart::SqPlusSin => 8.0,
        }
    }

    /// The PL constant of h, where h is PL.
    pub fn pl_constant(self) -> Option<f64> {
        match self {
            SharedPart::LogOnePlusSq => None,
            SharedPart::SqPlusSin => Some(1.0 / 32.0),
        }
    }

    /// The problem name using this part.
    pub fn problem_name(self) -> &'static str {
        match self {
            SharedPart::LogOnePlusSq => "shared-linear-log",
            SharedPart::SqPlusSin => "shared-linear-sin",
        }
    }
}

/// ℓᵢ(w) = h(w) + ⟨aᵢ, w⟩ with Σᵢ aᵢ = 0 and h given by a [`SharedPart`].
///
/// The full loss and full-batch gradient are evaluated as L = h and ∇L = ∇h exactly (the linear
/// parts cancel; the constructor checks Σᵢ aᵢ = 0 to 1e-12 relative), so L* = 0 and w* = 0 hold
/// exactly; per-example and index-batch quantities include the aᵢ.
#[derive(Clone, Debug)]
pub struct SharedLinear {
    part: SharedPart,
    p: usize,
    n: usize,
    /// aᵢ, n×p row-major.
    a: Vec<f64>,
    sigma2: f64,
}

impl SharedLinear {
    /// The problem with shared part `part` and linear parts `a` (n rows of length p), which must
    /// be finite and sum to 0 in every coordinate to 1e-12 relative (|Σᵢ aᵢⱼ| ≤ 1e-12 Σᵢ|aᵢⱼ|).
    pub fn new(part: SharedPart, a: Vec<Vec<f64>>) -> Result<Self> {
        let n = a.len();
        if n == 0 {
            return Err(Error::invalid("a", "must have at least one row"));
        }
        let p = a[0].len();
        if p == 0 {
            return Err(Error::invalid("a[0]", "must have at least one entry"));
        }
        let mut flat = Vec::with_capacity(n * p);
        for (i, row) in a.iter().enumerate() {
            if row.len() != p {
                return Err(Error::invalid(
                    format!("a[{i}]"),
                    format!("has {} entries, expected p = {p} (as a[0])", row.len()),
                ));
            }
            for (j, v) in row.iter().enumerate() {
                finite(&format!("a[{i}][{j}]"), *v)?;
            }
            flat.extend_from_slice(row);
        }
        for j in 0..p {
            let (s, abs) = (0..n).fold((0.0, 0.0), |(s, m), i| {
                (s + flat[i * p + j], m + flat[i * p + j].abs())
            });
            if s.abs() > 1e-12 * abs {
                return Err(Error::invalid(
                    "a",
                    format!("rows must sum to 0; coordinate {j} sums to {s}"),
                ));
            }
        }
        let sigma2 = flat.iter().map(|v| v * v).sum::<f64>() / n as f64;
        Ok(SharedLinear {
            part,
            p,
            n,
            a: flat,
            sigma2,
        })
    }

    /// n linear parts aᵢⱼ ~ N(0, scale²) (row-major from stream 0 of `seed`), then centred by
    /// subtracting the mean row (so n = 1 gives a = 0).
    pub fn random(part: SharedPart, p: usize, n: usize, scale: f64, seed: u64) -> Result<Self> {
        if p == 0 {
            return Err(Error::invalid("p", "must be >= 1"));
        }
        if n == 0 {
            return Err(Error::invalid("n", "must be >= 1"));
        }
        non_negative("scale", scale)?;
        let mut rng = crate::rng::stream(seed, 0);
        let mut a: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                (0..p)
                    .map(|_| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        scale * z
                    })
                    .collect()
            })
            .collect();
        for j in 0..p {
            let m = a.iter().map(|r| r[j]).sum::<f64>() / n as f64;
            a.iter_mut().for_each(|r| r[j] -= m);
        }
        Self::new(part, a)
    }

    /// The shared part.
    pub fn part(&self) -> SharedPart {
        self.part
    }

    /// The linear part aᵢ.
    pub fn a(&self, i: usize) -> &[f64] {
        &self.a[i * self.p..(i + 1) * self.p]
    }

    /// h(w) = Σⱼ g(wⱼ).
    pub fn shared_value(&self, w: &[f64]) -> f64 {
        w.iter().map(|&t| self.part.value(t)).sum()
    }
}

impl Problem for SharedLinear {
    fn name(&self) -> &str {
        self.part.problem_name()
    }
    fn dim(&self) -> usize {
        self.p
    }
    fn n_examples(&self) -> usize {
        self.n
    }
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        self.shared_value(w) + super::dot(self.a(i), w)
    }
    /// h(w) (the linear parts cancel).
    fn loss(&self, w: &[f64]) -> f64 {
        self.shared_value(w)
    }
    /// ∇h(w) + (1/|I|) Σ_{i∈I} aᵢ (the mean of aᵢ taken as 0 for the full batch). An empty
    /// batch gives 0.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        if let Batch::Indices(&[]) = batch {
            out.fill(0.0);
            return;
        }
        for (o, &t) in out.iter_mut().zip(w) {
            *o = self.part.deriv(t);
        }
        if let Batch::Indices(ix) = batch {
            let c = 1.0 / ix.len() as f64;
            for &i in ix {
                for (o, a) in out.iter_mut().zip(self.a(i)) {
                    *o += c * a;
                }
            }
        }
    }
    /// diag(g''(wⱼ)).
    fn hessian(&self, w: &[f64]) -> Option<Vec<f64>> {
        let p = self.p;
        let mut h = vec![0.0; p * p];
        for (j, &t) in w.iter().enumerate() {
            h[j * p + j] = self.part.second(t);
        }
        Some(h)
    }
    /// β = individual smoothness = sup|g''| (2 or 8), µ = 1/32 (PL, not strongly convex) for
    /// [`SharedPart::SqPlusSin`] and unknown (not PL) for [`SharedPart::LogOnePlusSq`],
    /// σ² = (1/n)Σ‖aᵢ‖², L* = 0, w* = 0.
    fn constants(&self) -> Constants {
        let beta = self.part.smoothness();
        Constants {
            smoothness: Const::Exact(beta),
            individual_smoothness: Const::Exact(beta),
            mu: self.part.pl_constant().map_or(Const::Unknown, Const::Exact),
            strongly_convex: false,
            sigma2: Const::Exact(self.sigma2),
            loss_min: Const::Exact(0.0),
            minimizer: Some(vec![0.0; self.p]),
        }
    }
    /// All ones.
    fn init(&self) -> Vec<f64> {
        vec![1.0; self.p]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn sq_plus_sin_is_pl_with_one_over_32() {
        let prob = SharedLinear::random(SharedPart::SqPlusSin, 3, 4, 1.0, 0).unwrap();
        let mut rng = crate::rng::stream(1, 0);
        let mut g = [0.0; 3];
        for k in 0..20_000 {
            let r = [0.01, 1.0, 5.0, 50.0][k % 4];
            let w: Vec<f64> = (0..3).map(|_| rng.random_range(-r..r)).collect();
            prob.grad(&w, &mut g);
            let lhs = 0.5 * super::super::dot(&g, &g);
            let rhs = prob.loss(&w) / 32.0;
            assert_eq!(prob.constants().mu.exact(), Some(1.0 / 32.0));
            assert!(
                lhs >= rhs * (1.0 - 1e-12),
                "PL fails at {w:?}: {lhs} < {rhs}"
            );
        }
        // Also on a fine 1-D grid (the separable sum is PL iff every coordinate is). The best
        // constant, inf ½g'²/g ≈ 0.17553 (near |t| ≈ 2.2017), is 5.6 times the reported 1/32.
        let mu = prob.constants().mu.exact().unwrap();
        let mut best = f64::INFINITY;
        for k in -200_000..=200_000 {
            let t = k as f64 * 1e-4;
            let (g, v) = (
                SharedPart::SqPlusSin.deriv(t),
                SharedPart::SqPlusSin.value(t),
            );
            assert!(0.5 * g * g >= mu * v * (1.0 - 1e-12), "t = {t}");
            if t != 0.0 {
                best = best.min(0.5 * g * g / v);
            }
        }
        assert!((0.1755..0.1756).contains(&best), "{best}");
    }

    #[test]
    fn smoothness_bounds_second_derivative() {
        for part in [SharedPart::LogOnePlusSq, SharedPart::SqPlusSin] {
            let mut sup = 0.0f64;
            for k in -100_000..=100_000 {
                let t = k as f64 * 1e-4;
                sup = sup.max(part.second(t).abs());
            }
            assert!(sup <= part.smoothness());
            assert!(sup >= part.smoothness() * (1.0 - 1e-9));
        }
    }

    #[test]
    fn constants_and_sigma2() {
        let a = vec![vec![1.0, -2.0], vec![-3.0, 0.5], vec![2.0, 1.5]];
        let prob = SharedLinear::new(SharedPart::LogOnePlusSq, a).unwrap();
        let c = prob.constants();
        assert_eq!(c.smoothness.exact(), Some(2.0));
        assert_eq!(c.mu, Const::Unknown);
        // (1 + 4 + 9 + 0.25 + 4 + 2.25)/3
        assert!((c.sigma2.exact().unwrap() - 20.5 / 3.0).abs() < 1e-14);
        assert_eq!(prob.loss(&[0.0, 0.0]), 0.0);
        let w = [0.3, -1.2];
        let mean = (0..3).map(|i| prob.example_loss(i, &w)).sum::<f64>() / 3.0;
        assert!((prob.loss(&w) - mean).abs() < 1e-14);
        let sin = SharedLinear::random(SharedPart::SqPlusSin, 2, 5, 1.0, 4).unwrap();
        let c = sin.constants();
        assert_eq!(c.smoothness.exact(), Some(8.0));
        assert_eq!(c.mu.exact(), Some(1.0 / 32.0));
        assert!(!c.strongly_convex);
    }

    #[test]
    fn log_value_is_finite_far_out() {
        let v = SharedPart::LogOnePlusSq.value(1e200);
        assert!((v - 2.0 * 1e200f64.ln()).abs() < 1e-12 * v);
        assert!((SharedPart::LogOnePlusSq.value(1e-3) - (1e-6 - 0.5e-12)).abs() < 1e-18);
    }

    #[test]
    fn rejects_bad_input() {
        let field = |r: Result<SharedLinear>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        };
        let part = SharedPart::SqPlusSin;
        assert_eq!(field(SharedLinear::new(part, vec![])), "a");
        assert_eq!(
            field(SharedLinear::new(part, vec![vec![1.0], vec![0.0]])),
            "a"
        );
        assert_eq!(
            field(SharedLinear::new(part, vec![vec![1.0], vec![-1.0, 0.0]])),
            "a[1]"
        );
        assert_eq!(
            field(SharedLinear::new(part, vec![vec![f64::NAN], vec![1.0]])),
            "a[0][0]"
        );
        assert_eq!(field(SharedLinear::random(part, 2, 3, -1.0, 0)), "scale");
        assert_eq!(field(SharedLinear::random(part, 0, 3, 1.0, 0)), "p");
    }
}
