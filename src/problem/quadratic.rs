//! Per-example quadratics ℓᵢ(w) = ½(w − cᵢ)ᵀA(w − cᵢ) with one symmetric positive semidefinite
//! A and n centres cᵢ: the problem whose every constant is exact (β = λ_max(A), µ = λ_min(A),
//! σ² = (1/n)Σ‖A(cᵢ − c̄)‖², w* = c̄, L* in closed form), including the ssam24 quadratic
//! ½xᵀ(AAᵀ/(2d) + δI)x and centres drawn from N(m, s²I) with a closed-form population risk.

use rand_distr::{Distribution, StandardNormal};

use super::{Batch, Const, Constants, Problem, dot, sym_eigenvalues};
use crate::error::{Error, Result, finite, non_negative};

/// Per-example quadratics ℓᵢ(w) = ½(w − cᵢ)ᵀA(w − cᵢ), L(w) = ½(w − c̄)ᵀA(w − c̄) + L*.
#[derive(Clone, Debug)]
pub struct Quadratic {
    name: &'static str,
    p: usize,
    n: usize,
    /// A, symmetrized ((A + Aᵀ)/2 of the input), p×p row-major.
    a: Vec<f64>,
    /// Centres cᵢ, n×p row-major.
    centers: Vec<f64>,
    /// A cᵢ, n×p row-major.
    a_centers: Vec<f64>,
    /// c̄ = (1/n) Σ cᵢ.
    center_mean: Vec<f64>,
    lambda_min: f64,
    lambda_max: f64,
    loss_min: f64,
    sigma2: f64,
    /// (m, s) when the centres were drawn from N(m, s²I).
    population: Option<(Vec<f64>, f64)>,
}

impl Quadratic {
    /// The quadratic with matrix `a` (p×p, row-major) and the given centres (each of length p).
    ///
    /// `a` must be finite, symmetric to a relative tolerance of 1e-12 (|Aᵢⱼ − Aⱼᵢ| ≤
    /// 1e-12 · maxₖₗ|Aₖₗ|) and positive semidefinite (λ_min ≥ −1e-12 · λ_max); it is stored
    /// symmetrized. An eigenvalue within p·ε·λ_max of 0 counts as 0.
    pub fn new(a: Vec<f64>, p: usize, centers: Vec<Vec<f64>>) -> Result<Self> {
        if p == 0 {
            return Err(Error::invalid("p", "must be >= 1"));
        }
        if a.len() != p * p {
            return Err(Error::invalid(
                "a",
                format!("has {} entries, expected p*p = {}", a.len(), p * p),
            ));
        }
        for (k, v) in a.iter().enumerate() {
            finite(&format!("a[{}][{}]", k / p, k % p), *v)?;
        }
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..p {
            for j in (i + 1)..p {
                if (a[i * p + j] - a[j * p + i]).abs() > 1e-12 * scale {
                    return Err(Error::invalid(
                        "a",
                        format!(
                            "must be symmetric: a[{i}][{j}] = {} but a[{j}][{i}] = {}",
                            a[i * p + j],
                            a[j * p + i]
                        ),
                    ));
                }
            }
        }
        let mut sym = a;
        for i in 0..p {
            for j in (i + 1)..p {
                let m = 0.5 * (sym[i * p + j] + sym[j * p + i]);
                sym[i * p + j] = m;
                sym[j * p + i] = m;
            }
        }
        let ev = sym_eigenvalues(&sym, p);
        let (mut lambda_min, lambda_max) = (ev[0], ev[p - 1]);
        if lambda_min < -1e-12 * lambda_max.max(0.0) {
            return Err(Error::invalid(
                "a",
                format!("must be positive semidefinite, has eigenvalue {lambda_min}"),
            ));
        }
        if lambda_min.abs() <= p as f64 * f64::EPSILON * lambda_max {
            lambda_min = 0.0;
        }

        let n = centers.len();
        if n == 0 {
            return Err(Error::invalid("centers", "must have at least one centre"));
        }
        let mut flat = Vec::with_capacity(n * p);
        for (i, c) in centers.iter().enumerate() {
            if c.len() != p {
                return Err(Error::invalid(
                    format!("centers[{i}]"),
                    format!("has {} entries, expected p = {p}", c.len()),
                ));
            }
            for (j, v) in c.iter().enumerate() {
                finite(&format!("centers[{i}][{j}]"), *v)?;
            }
            flat.extend_from_slice(c);
        }
        Ok(Self::build(sym, p, flat, lambda_min, lambda_max))
    }

    /// The ssam24 quadratic ½xᵀ(AAᵀ/(2d) + δI)x with A ∈ ℝ^{d×2d} standard Gaussian (drawn
    /// row-major from stream 0 of `seed`); one example, centred at 0.
    pub fn ssam24(d: usize, delta: f64, seed: u64) -> Result<Self> {
        if d == 0 {
            return Err(Error::invalid("d", "must be >= 1"));
        }
        non_negative("delta", delta)?;
        let mut rng = crate::rng::stream(seed, 0);
        let g: Vec<f64> = (0..2 * d * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let k = 2 * d;
        let mut h = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let v = dot(&g[i * k..(i + 1) * k], &g[j * k..(j + 1) * k]) / k as f64;
                h[i * d + j] = v;
                h[j * d + i] = v;
            }
            h[i * d + i] += delta;
        }
        let mut q = Self::new(h, d, vec![vec![0.0; d]])?;
        q.name = "ssam24-quadratic";
        Ok(q)
    }

    /// The quadratic with matrix `a` (p×p) and n centres cᵢ ~ N(m, s²I), m = `mean`, drawn
    /// row-major from stream 0 of `seed`. Keeps (m, s) for [`Quadratic::population_risk`].
    pub fn random_centers(
        a: Vec<f64>,
        p: usize,
        n: usize,
        mean: &[f64],
        s: f64,
        seed: u64,
    ) -> Result<Self> {
        if n == 0 {
            return Err(Error::invalid("n", "must be >= 1"));
        }
        if mean.len() != p {
            return Err(Error::invalid(
                "mean",
                format!("has {} entries, expected p = {p}", mean.len()),
            ));
        }
        for (j, v) in mean.iter().enumerate() {
            finite(&format!("mean[{j}]"), *v)?;
        }
        non_negative("s", s)?;
        let mut rng = crate::rng::stream(seed, 0);
        let centers: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                mean.iter()
                    .map(|m| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        m + s * z
                    })
                    .collect()
            })
            .collect();
        let mut q = Self::new(a, p, centers)?;
        q.population = Some((mean.to_vec(), s));
        Ok(q)
    }

    fn build(a: Vec<f64>, p: usize, centers: Vec<f64>, lambda_min: f64, lambda_max: f64) -> Self {
        let n = centers.len() / p;
        let mut a_centers = vec![0.0; n * p];
        for i in 0..n {
            let c = &centers[i * p..(i + 1) * p];
            for r in 0..p {
                a_centers[i * p + r] = dot(&a[r * p..(r + 1) * p], c);
            }
        }
        let mut center_mean = vec![0.0; p];
        for c in centers.chunks_exact(p) {
            for (m, v) in center_mean.iter_mut().zip(c) {
                *m += v;
            }
        }
        center_mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut q = Quadratic {
            name: "quadratic",
            p,
            n,
            a,
            centers,
            a_centers,
            center_mean,
            lambda_min,
            lambda_max,
            loss_min: 0.0,
            sigma2: 0.0,
            population: None,
        };
        let (mut lm, mut s2) = (0.0, 0.0);
        for i in 0..n {
            lm += q.form_at(&q.center_mean, &q.centers[i * p..(i + 1) * p]);
            for r in 0..p {
                // (A(cᵢ − c̄))_r
                let row = &q.a[r * p..(r + 1) * p];
                let ci = &q.centers[i * p..(i + 1) * p];
                let g: f64 = (0..p).map(|s| row[s] * (ci[s] - q.center_mean[s])).sum();
                s2 += g * g;
            }
        }
        q.loss_min = lm / n as f64;
        q.sigma2 = s2 / n as f64;
        q
    }

    /// ½(w − c)ᵀA(w − c), computed on the fly.
    fn form_at(&self, w: &[f64], c: &[f64]) -> f64 {
        let p = self.p;
        let mut s = 0.0;
        for r in 0..p {
            let row = &self.a[r * p..(r + 1) * p];
            let mut ar = 0.0;
            for q in 0..p {
                ar += row[q] * (w[q] - c[q]);
            }
            s += (w[r] - c[r]) * ar;
        }
        0.5 * s
    }

    /// The matrix A (symmetrized), p×p row-major.
    pub fn a(&self) -> &[f64] {
        &self.a
    }

    /// The centre cᵢ.
    pub fn center(&self, i: usize) -> &[f64] {
        &self.centers[i * self.p..(i + 1) * self.p]
    }

    /// The mean centre c̄, a minimizer of L (the unique one when λ_min(A) > 0).
    pub fn center_mean(&self) -> &[f64] {
        &self.center_mean
    }

    /// λ_min(A) (0 when within p·ε·λ_max of 0).
    pub fn lambda_min(&self) -> f64 {
        self.lambda_min
    }

    /// λ_max(A).
    pub fn lambda_max(&self) -> f64 {
        self.lambda_max
    }

    /// The population risk E_c ½(w − c)ᵀA(w − c) = ½(w − m)ᵀA(w − m) + ½ s² tr(A) for
    /// c ~ N(m, s²I), when the centres were drawn by [`Quadratic::random_centers`]; None otherwise.
    pub fn population_risk(&self, w: &[f64]) -> Option<f64> {
        let (m, s) = self.population.as_ref()?;
        let trace: f64 = (0..self.p).map(|r| self.a[r * self.p + r]).sum();
        Some(self.form_at(w, m) + 0.5 * s * s * trace)
    }
}

impl Problem for Quadratic {
    fn name(&self) -> &str {
        self.name
    }
    fn dim(&self) -> usize {
        self.p
    }
    fn n_examples(&self) -> usize {
        self.n
    }
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        self.form_at(w, self.center(i))
    }
    /// ½(w − c̄)ᵀA(w − c̄) + L*, equal to (1/n) Σᵢ ℓᵢ(w) and exact at the minimum.
    fn loss(&self, w: &[f64]) -> f64 {
        self.form_at(w, &self.center_mean) + self.loss_min
    }
    /// A(w − c̄) for the full batch; A w − (1/|I|) Σ_{i∈I} A cᵢ otherwise, in O(p² + p|I|).
    /// An empty batch gives 0.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        let p = self.p;
        match batch {
            Batch::All => {
                for (r, o) in out.iter_mut().enumerate() {
                    let row = &self.a[r * p..(r + 1) * p];
                    let mut s = 0.0;
                    for q in 0..p {
                        s += row[q] * (w[q] - self.center_mean[q]);
                    }
                    *o = s;
                }
            }
            Batch::Indices(ix) => {
                if ix.is_empty() {
                    out.fill(0.0);
                    return;
                }
                for (r, o) in out.iter_mut().enumerate() {
                    *o = dot(&self.a[r * p..(r + 1) * p], w);
                }
                let c = 1.0 / ix.len() as f64;
                for &i in ix {
                    for (o, ac) in out.iter_mut().zip(&self.a_centers[i * p..(i + 1) * p]) {
                        *o -= c * ac;
                    }
                }
            }
        }
    }
    fn hessian(&self, _w: &[f64]) -> Option<Vec<f64>> {
        Some(self.a.clone())
    }
    /// β = individual smoothness = λ_max(A), µ = λ_min(A), σ² = (1/n)Σ‖A(cᵢ − c̄)‖²,
    /// L* = (1/n)Σ ½(c̄ − cᵢ)ᵀA(c̄ − cᵢ), minimizer c̄ (a minimizer for every PSD A; unique
    /// when λ_min > 0).
    fn constants(&self) -> Constants {
        Constants {
            smoothness: Const::Exact(self.lambda_max),
            individual_smoothness: Const::Exact(self.lambda_max),
            mu: Const::Exact(self.lambda_min.max(0.0)),
            strongly_convex: self.lambda_min > 0.0,
            sigma2: Const::Exact(self.sigma2),
            loss_min: Const::Exact(self.loss_min),
            minimizer: Some(self.center_mean.clone()),
        }
    }
    /// The population risk (see [`Quadratic::population_risk`]), when the centres were drawn.
    fn test_metric(&self, w: &[f64]) -> Option<f64> {
        self.population_risk(w)
    }
    fn test_metric_name(&self) -> &str {
        "population_risk"
    }
    /// The origin.
    fn init(&self) -> Vec<f64> {
        vec![0.0; self.p]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(d: &[f64]) -> Vec<f64> {
        let p = d.len();
        let mut a = vec![0.0; p * p];
        for (i, v) in d.iter().enumerate() {
            a[i * p + i] = *v;
        }
        a
    }

    #[test]
    fn diagonal_constants() {
        let q = Quadratic::new(
            diag(&[0.5, 3.0, 1.0]),
            3,
            vec![vec![1.0, 0.0, 2.0], vec![-1.0, 2.0, 0.0]],
        )
        .unwrap();
        let c = q.constants();
        assert_eq!(c.smoothness.exact().unwrap(), 3.0);
        assert_eq!(c.individual_smoothness.exact().unwrap(), 3.0);
        assert!((c.mu.exact().unwrap() - 0.5).abs() < 1e-15);
        assert!(c.strongly_convex);
        assert_eq!(c.minimizer.as_deref().unwrap(), &[0.0, 1.0, 1.0]);
        // cᵢ − c̄ = ±(1, −1, 1); A(cᵢ − c̄) = ±(0.5, −3, 1), squared norm 10.25 each.
        assert!((c.sigma2.exact().unwrap() - 10.25).abs() < 1e-12);
        // ½(c̄ − cᵢ)ᵀA(c̄ − cᵢ) = ½(0.5 + 3 + 1) = 2.25 each.
        assert!((c.loss_min.exact().unwrap() - 2.25).abs() < 1e-12);
        let w = [0.3, -0.7, 1.1];
        let direct = (q.example_loss(0, &w) + q.example_loss(1, &w)) / 2.0;
        assert!((q.loss(&w) - direct).abs() < 1e-12);
        assert!((q.loss(&[0.0, 1.0, 1.0]) - 2.25).abs() < 1e-15);
    }

    #[test]
    fn sigma2_matches_gradient_variance() {
        // A random PSD A; σ² = (1/n)Σ‖∇ℓᵢ(w) − ∇L(w)‖² at any w.
        let p = 4;
        let mut rng = crate::rng::stream(7, 0);
        let b: Vec<f64> = (0..p * p)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                a[i * p + j] = dot(&b[i * p..(i + 1) * p], &b[j * p..(j + 1) * p]);
            }
        }
        let q = Quadratic::random_centers(a, p, 5, &[1.0, 0.0, -1.0, 2.0], 0.7, 3).unwrap();
        let w = [0.2, -0.4, 1.5, 0.0];
        let mut g = vec![0.0; p];
        let mut gi = vec![0.0; p];
        q.grad(&w, &mut g);
        let mut s2 = 0.0;
        for i in 0..5 {
            q.example_grad(i, &w, &mut gi);
            s2 += gi.iter().zip(&g).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
        }
        s2 /= 5.0;
        let c = q.constants().sigma2.exact().unwrap();
        assert!((s2 - c).abs() <= 1e-10 * c, "{s2} vs {c}");
        // The gradient vanishes at the minimizer and L there is L*.
        let cst = q.constants();
        q.grad(cst.minimizer.as_ref().unwrap(), &mut g);
        assert!(g.iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn population_risk_closed_form() {
        let a = diag(&[2.0, 1.0]);
        let q = Quadratic::random_centers(a.clone(), 2, 20_000, &[1.0, -2.0], 0.5, 11).unwrap();
        let w = [0.5, 0.5];
        let exact = q.population_risk(&w).unwrap();
        // ½(2·0.25 + 1·6.25) + ½·0.25·3
        assert!((exact - (0.5 * (0.5 + 6.25) + 0.375)).abs() < 1e-12);
        // The empirical risk over many centres is close to it.
        assert!((q.loss(&w) - exact).abs() < 0.05 * exact);
        let q2 = Quadratic::new(a, 2, vec![vec![0.0, 0.0]]).unwrap();
        assert!(q2.population_risk(&w).is_none());
        assert_eq!(q.test_metric(&w), Some(exact));
        assert_eq!(q2.test_metric(&w), None);
    }

    #[test]
    fn ssam24_is_strongly_convex() {
        let q = Quadratic::ssam24(6, 0.01, 0).unwrap();
        let c = q.constants();
        assert!(c.strongly_convex);
        assert!(c.mu.exact().unwrap() >= 0.01 - 1e-12);
        assert_eq!(c.sigma2.exact().unwrap(), 0.0);
        assert_eq!(c.loss_min.exact().unwrap(), 0.0);
        assert_eq!(q.name(), "ssam24-quadratic");
        // Deterministic from the seed.
        assert_eq!(q.a(), Quadratic::ssam24(6, 0.01, 0).unwrap().a());
    }

    #[test]
    fn rejects_bad_input() {
        let bad = |r: Result<Quadratic>, field: &str| match r {
            Err(Error::Invalid { field: f, .. }) => assert!(f.starts_with(field), "{f}"),
            other => panic!("expected an error naming {field}, got {other:?}"),
        };
        bad(Quadratic::new(vec![1.0; 3], 2, vec![vec![0.0; 2]]), "a");
        bad(
            Quadratic::new(vec![1.0, 2.0, 0.0, 1.0], 2, vec![vec![0.0; 2]]),
            "a",
        );
        bad(
            Quadratic::new(diag(&[1.0, -1.0]), 2, vec![vec![0.0; 2]]),
            "a",
        );
        bad(
            Quadratic::new(diag(&[1.0, f64::NAN]), 2, vec![vec![0.0; 2]]),
            "a[1][1]",
        );
        bad(Quadratic::new(diag(&[1.0, 1.0]), 2, vec![]), "centers");
        bad(
            Quadratic::new(diag(&[1.0, 1.0]), 2, vec![vec![0.0; 3]]),
            "centers[0]",
        );
        bad(Quadratic::new(vec![], 0, vec![vec![]]), "p");
        bad(Quadratic::ssam24(3, -1.0, 0), "delta");
        bad(
            Quadratic::random_centers(diag(&[1.0]), 1, 3, &[0.0], f64::INFINITY, 0),
            "s",
        );
        bad(
            Quadratic::random_centers(diag(&[1.0]), 1, 3, &[0.0, 1.0], 1.0, 0),
            "mean",
        );
    }

    #[test]
    fn singular_a_has_zero_mu() {
        let q = Quadratic::new(vec![1.0, 1.0, 1.0, 1.0], 2, vec![vec![1.0, 0.0]]).unwrap();
        let c = q.constants();
        assert_eq!(c.mu.exact().unwrap(), 0.0);
        assert!(!c.strongly_convex);
        assert!((c.smoothness.exact().unwrap() - 2.0).abs() < 1e-14);
    }
}
