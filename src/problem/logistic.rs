//! ℓ₂-regularized logistic regression, ℓᵢ(w) = log(1 + exp(−yᵢ⟨xᵢ, w⟩)) + (λ/2)‖w‖² with labels
//! yᵢ ∈ {−1, +1}: a strongly convex finite sum with exact µ = λ and exact smoothness constants,
//! an optional held-out set scored by misclassification rate, a planted-model generator (many data
//! sets of one distribution, neighbouring data sets differing in one example) and the population
//! risk F_D of the planted model by a fixed 10⁶-point sample, with its standard error.

use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};

use super::{Batch, Const, Constants, Problem, dot, sym_eigenvalues};
use crate::error::{Error, Result, finite, non_negative};

/// Standard deviation of the Gaussian noise added to ⟨xᵢ, w_true⟩ before taking its sign in
/// [`Logistic::random`].
pub const LABEL_NOISE_STD: f64 = 0.5;

/// Stable log(1 + eᵗ).
#[inline]
fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

/// Stable 1/(1 + e⁻ᵗ).
#[inline]
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// ℓ₂-regularized logistic regression on a design X (n×p) with ±1 labels.
#[derive(Clone, Debug)]
pub struct Logistic {
    x: Array2<f64>,
    y: Vec<f64>,
    lambda: f64,
    x_test: Array2<f64>,
    y_test: Vec<f64>,
    max_row_sq: f64,
    gram_max: f64,
    /// w_true of the planted model the data were drawn from, when known.
    planted: Option<Vec<f64>>,
}

fn check_design(x: &Array2<f64>, y: &[f64], xf: &str, yf: &str) -> Result<()> {
    if y.len() != x.nrows() {
        return Err(Error::invalid(
            yf,
            format!(
                "has {} labels, expected {} (rows of {xf})",
                y.len(),
                x.nrows()
            ),
        ));
    }
    for ((i, j), v) in x.indexed_iter() {
        finite(&format!("{xf}[{i}][{j}]"), *v)?;
    }
    for (i, v) in y.iter().enumerate() {
        if *v != 1.0 && *v != -1.0 {
            return Err(Error::invalid(
                format!("{yf}[{i}]"),
                format!("must be -1 or +1, got {v}"),
            ));
        }
    }
    Ok(())
}

impl Logistic {
    /// The problem on design `x` (n×p, n, p ≥ 1), labels `y` ∈ {−1, +1}ⁿ and regularization
    /// `lambda` ≥ 0 (µ is reported only for λ > 0).
    pub fn new(x: Array2<f64>, y: Vec<f64>, lambda: f64) -> Result<Self> {
        if x.nrows() == 0 {
            return Err(Error::invalid("x", "must have at least one row"));
        }
        if x.ncols() == 0 {
            return Err(Error::invalid("x", "must have at least one column"));
        }
        check_design(&x, &y, "x", "y")?;
        non_negative("lambda", lambda)?;
        let x = x.as_standard_layout().into_owned();
        let (n, p) = x.dim();
        let max_row_sq = x
            .rows()
            .into_iter()
            .map(|r| r.dot(&r))
            .fold(0.0f64, f64::max);
        let gram = x.t().dot(&x) / n as f64;
        let gram: Vec<f64> = gram.iter().copied().collect();
        let gram_max = sym_eigenvalues(&gram, p)[p - 1].max(0.0);
        Ok(Logistic {
            x_test: Array2::zeros((0, p)),
            y_test: Vec::new(),
            x,
            y,
            lambda,
            max_row_sq,
            gram_max,
            planted: None,
        })
    }

    /// The same problem with a held-out set (p columns, ±1 labels) for [`Problem::test_metric`].
    pub fn with_test(mut self, x_test: Array2<f64>, y_test: Vec<f64>) -> Result<Self> {
        if x_test.ncols() != self.dim() {
            return Err(Error::invalid(
                "x_test",
                format!(
                    "has {} columns, expected p = {}",
                    x_test.ncols(),
                    self.dim()
                ),
            ));
        }
        check_design(&x_test, &y_test, "x_test", "y_test")?;
        self.x_test = x_test.as_standard_layout().into_owned();
        self.y_test = y_test;
        Ok(self)
    }

    /// A planted model without a test set: see [`Logistic::random_with_test`].
    pub fn random(p: usize, n: usize, lambda: f64, seed: u64) -> Result<Self> {
        Self::random_with_test(p, n, 0, lambda, seed)
    }

    /// A planted model: w_true uniform on the unit sphere, xᵢ ~ N(0, I_p),
    /// yᵢ = sign(⟨xᵢ, w_true⟩ + ξᵢ) with ξᵢ ~ N(0, [`LABEL_NOISE_STD`]²) (sign(0) = +1). w_true
    /// and the training set come from stream 0 of `seed`, the `n_test` test points from stream 1.
    pub fn random_with_test(
        p: usize,
        n: usize,
        n_test: usize,
        lambda: f64,
        seed: u64,
    ) -> Result<Self> {
        if p == 0 {
            return Err(Error::invalid("p", "must be >= 1"));
        }
        let mut rng = crate::rng::stream(seed, 0);
        let mut w_true: Vec<f64> = (0..p).map(|_| StandardNormal.sample(&mut rng)).collect();
        let nw = super::norm(&w_true);
        w_true.iter_mut().for_each(|v| *v /= nw);
        Self::planted_from(w_true, n, n_test, lambda, seed, rng)
    }

    /// A data set of the planted model with the given `w_true` (unit norm): the training set from
    /// stream 0 of `seed`, the test set from stream 1 (see [`Logistic::random_with_test`]). Many
    /// data sets from one distribution: one `w_true`, many seeds.
    pub fn planted_with(
        w_true: &[f64],
        n: usize,
        n_test: usize,
        lambda: f64,
        seed: u64,
    ) -> Result<Self> {
        if w_true.is_empty() {
            return Err(Error::invalid("w_true", "must have at least one entry"));
        }
        for (j, v) in w_true.iter().enumerate() {
            finite(&format!("w_true[{j}]"), *v)?;
        }
        let nw = super::norm(w_true);
        if (nw - 1.0).abs() > 1e-12 {
            return Err(Error::invalid(
                "w_true",
                format!("must have unit norm, has {nw}"),
            ));
        }
        let rng = crate::rng::stream(seed, 0);
        Self::planted_from(w_true.to_vec(), n, n_test, lambda, seed, rng)
    }

    fn planted_from(
        w_true: Vec<f64>,
        n: usize,
        n_test: usize,
        lambda: f64,
        seed: u64,
        mut rng: rand_chacha::ChaCha8Rng,
    ) -> Result<Self> {
        if n == 0 {
            return Err(Error::invalid("n", "must be >= 1"));
        }
        let (x, y) = draw_planted(&mut rng, &w_true, n);
        let (xt, yt) = draw_planted(&mut crate::rng::stream(seed, 1), &w_true, n_test);
        let mut prob = Self::new(x, y, lambda)?.with_test(xt, yt)?;
        prob.planted = Some(w_true);
        Ok(prob)
    }

    /// w_true of the planted model, when the data were drawn from one.
    pub fn planted(&self) -> Option<&[f64]> {
        self.planted.as_deref()
    }

    /// One example (x, y) of the planted model, drawn from `rng` as the training examples are
    /// (an error when the problem has no planted model).
    pub fn draw_example(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Result<(Vec<f64>, f64)> {
        let w = self.planted_or_err()?;
        let (x, y) = draw_planted(rng, w, 1);
        Ok((x.row(0).to_vec(), y[0]))
    }

    /// The neighbouring data set: example `index` replaced by (x, y); the test set and the
    /// planted model are kept.
    pub fn with_example(&self, index: usize, x: &[f64], y: f64) -> Result<Self> {
        let n = self.n_examples();
        if index >= n {
            return Err(Error::invalid(
                "neighbour",
                format!("index {index} is out of range (n = {n})"),
            ));
        }
        if x.len() != self.dim() {
            return Err(Error::invalid(
                "x",
                format!("has {} entries, expected p = {}", x.len(), self.dim()),
            ));
        }
        let mut xs = self.x.clone();
        xs.row_mut(index)
            .iter_mut()
            .zip(x)
            .for_each(|(a, b)| *a = *b);
        let mut ys = self.y.clone();
        ys[index] = y;
        let mut prob = Self::new(xs, ys, self.lambda)?;
        prob.x_test = self.x_test.clone();
        prob.y_test = self.y_test.clone();
        prob.planted = self.planted.clone();
        Ok(prob)
    }

    fn planted_or_err(&self) -> Result<&[f64]> {
        self.planted().ok_or_else(|| {
            Error::invalid(
                "planted",
                "the problem was not drawn from a planted model (use Logistic::random_with_test)",
            )
        })
    }

    /// The fixed population sample of the planted model: [`POPULATION_SIZE`] points drawn from
    /// stream 0 of [`POPULATION_SEED`] (the same points for every data set of one w_true).
    pub fn population(&self) -> Result<PopulationSample> {
        self.population_sample(POPULATION_SIZE, POPULATION_SEED)
    }

    /// A population sample of `size` ≥ 2 points of the planted model from stream 0 of `seed`.
    pub fn population_sample(&self, size: usize, seed: u64) -> Result<PopulationSample> {
        let w = self.planted_or_err()?;
        if size < 2 {
            return Err(Error::invalid("size", "must be >= 2"));
        }
        let (x, y) = draw_planted(&mut crate::rng::stream(seed, 0), w, size);
        let mut yx = x.into_raw_vec_and_offset().0;
        let p = self.dim();
        for (row, yk) in yx.chunks_exact_mut(p).zip(&y) {
            row.iter_mut().for_each(|v| *v *= yk);
        }
        Ok(PopulationSample {
            yx,
            p,
            lambda: self.lambda,
        })
    }

    /// The regularization λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    fn row(&self, i: usize) -> &[f64] {
        self.x.row(i).to_slice().expect("standard layout")
    }

    /// The margin yᵢ⟨xᵢ, w⟩.
    #[inline]
    fn margin(&self, i: usize, w: &[f64]) -> f64 {
        self.y[i] * dot(self.row(i), w)
    }

    /// Fraction of test points with yⱼ⟨xⱼ, w⟩ ≤ 0 (a zero margin counts as an error); NaN
    /// without a test set.
    pub fn test_error(&self, w: &[f64]) -> f64 {
        let m = self.x_test.nrows();
        let wrong = self
            .x_test
            .rows()
            .into_iter()
            .zip(&self.y_test)
            .filter(|(r, y)| *y * dot(r.as_slice().expect("standard layout"), w) <= 0.0)
            .count();
        wrong as f64 / m as f64
    }
}

/// m points of the planted model w_true from `rng`: per point, x ~ N(0, I) (p draws), then ξ.
fn draw_planted(
    rng: &mut rand_chacha::ChaCha8Rng,
    w_true: &[f64],
    m: usize,
) -> (Array2<f64>, Vec<f64>) {
    let p = w_true.len();
    let x = Array2::from_shape_simple_fn((m, p), || StandardNormal.sample(&mut *rng));
    let y: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| {
            let xi: f64 = StandardNormal.sample(&mut *rng);
            let s = dot(r.as_slice().expect("standard layout"), w_true) + LABEL_NOISE_STD * xi;
            if s >= 0.0 { 1.0 } else { -1.0 }
        })
        .collect();
    (x, y)
}

/// Points in the population sample of [`Logistic::population`].
pub const POPULATION_SIZE: usize = 1_000_000;

/// Seed of the population sample of [`Logistic::population`].
pub const POPULATION_SEED: u64 = 0x005e_ed0f_d15c;

/// A fixed sample of the planted model's distribution, standing in for the population D.
#[derive(Clone, Debug)]
pub struct PopulationSample {
    /// yₖxₖ, row-major (size × p).
    yx: Vec<f64>,
    p: usize,
    lambda: f64,
}

/// A Monte Carlo estimate with its standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RiskEstimate {
    /// The sample mean.
    pub mean: f64,
    /// Its standard error sd/√size.
    pub se: f64,
}

impl PopulationSample {
    /// Points in the sample.
    pub fn size(&self) -> usize {
        self.yx.len() / self.p
    }

    /// F_D(w) = E log(1 + exp(−y⟨x, w⟩)) + (λ/2)‖w‖² by the sample mean, with its standard
    /// error. Sums run over fixed chunks in a fixed order: the same bits on any thread count.
    pub fn risk(&self, w: &[f64]) -> RiskEstimate {
        use rayon::prelude::*;
        assert_eq!(w.len(), self.p, "PopulationSample::risk: dimension");
        let parts: Vec<(f64, f64)> = self
            .yx
            .par_chunks(self.p * 65_536)
            .map(|c| {
                c.chunks_exact(self.p).fold((0.0, 0.0), |(s, s2), r| {
                    let l = softplus(-dot(r, w));
                    (s + l, s2 + l * l)
                })
            })
            .collect();
        let (s, s2) = parts
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let m = self.size() as f64;
        let mean = s / m;
        let var = ((s2 - m * mean * mean) / (m - 1.0)).max(0.0);
        RiskEstimate {
            mean: mean + 0.5 * self.lambda * dot(w, w),
            se: (var / m).sqrt(),
        }
    }
}

impl Problem for Logistic {
    fn name(&self) -> &str {
        "logistic"
    }
    fn dim(&self) -> usize {
        self.x.ncols()
    }
    fn n_examples(&self) -> usize {
        self.x.nrows()
    }
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        softplus(-self.margin(i, w)) + 0.5 * self.lambda * dot(w, w)
    }
    fn loss(&self, w: &[f64]) -> f64 {
        let n = self.n_examples();
        let s: f64 = (0..n).map(|i| softplus(-self.margin(i, w))).sum();
        s / n as f64 + 0.5 * self.lambda * dot(w, w)
    }
    /// λw − (1/|I|) Σ_{i∈I} yᵢ σ(−yᵢ⟨xᵢ, w⟩) xᵢ. An empty batch gives 0.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        out.fill(0.0);
        let mut acc = |i: usize| {
            let c = -self.y[i] * sigmoid(-self.margin(i, w));
            for (o, x) in out.iter_mut().zip(self.row(i)) {
                *o += c * x;
            }
        };
        let m = match batch {
            Batch::All => {
                (0..self.n_examples()).for_each(&mut acc);
                self.n_examples()
            }
            Batch::Indices(ix) => {
                ix.iter().copied().for_each(&mut acc);
                ix.len()
            }
        };
        if m == 0 {
            return;
        }
        let c = 1.0 / m as f64;
        for (o, v) in out.iter_mut().zip(w) {
            *o = c * *o + self.lambda * v;
        }
    }
    /// (1/n) Σᵢ σ(mᵢ)σ(−mᵢ) xᵢxᵢᵀ + λI with mᵢ = yᵢ⟨xᵢ, w⟩.
    fn hessian(&self, w: &[f64]) -> Option<Vec<f64>> {
        let (n, p) = self.x.dim();
        let mut h = vec![0.0; p * p];
        for i in 0..n {
            let m = self.margin(i, w);
            let s = sigmoid(m) * sigmoid(-m) / n as f64;
            let xi = self.row(i);
            for a in 0..p {
                for b in 0..p {
                    h[a * p + b] += s * xi[a] * xi[b];
                }
            }
        }
        for a in 0..p {
            h[a * p + a] += self.lambda;
        }
        Some(h)
    }
    /// β = λ + λ_max(XᵀX/n)/4 (the supremum of ‖∇²L‖, attained at w = 0), individual
    /// smoothness λ + maxᵢ‖xᵢ‖²/4, µ = λ (strongly convex) when λ > 0; σ², L* unknown.
    fn constants(&self) -> Constants {
        Constants {
            smoothness: Const::Exact(self.lambda + 0.25 * self.gram_max),
            individual_smoothness: Const::Exact(self.lambda + 0.25 * self.max_row_sq),
            mu: if self.lambda > 0.0 {
                Const::Exact(self.lambda)
            } else {
                Const::Unknown
            },
            strongly_convex: self.lambda > 0.0,
            ..Constants::unknown()
        }
    }
    /// The test misclassification rate (see [`Logistic::test_error`]), when there is a test set.
    fn test_metric(&self, w: &[f64]) -> Option<f64> {
        (self.x_test.nrows() > 0).then(|| self.test_error(w))
    }
    fn test_metric_name(&self) -> &str {
        "test_error"
    }
    /// The origin.
    fn init(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_softplus_and_sigmoid() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-16);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        let w = [1e6, -1e6];
        let prob = Logistic::random(2, 10, 0.1, 0).unwrap();
        assert!(prob.loss(&w).is_finite());
    }

    #[test]
    fn constants() {
        let x = ndarray::arr2(&[[1.0, 2.0], [3.0, 0.0], [0.0, -1.0]]);
        let prob = Logistic::new(x, vec![1.0, -1.0, 1.0], 0.5).unwrap();
        let c = prob.constants();
        assert_eq!(c.mu.exact(), Some(0.5));
        assert!(c.strongly_convex);
        assert_eq!(c.individual_smoothness.exact(), Some(0.5 + 9.0 / 4.0));
        // At w = 0 the Hessian is XᵀX/(4n) + λI, whose top eigenvalue is β.
        let h = prob.hessian(&[0.0, 0.0]).unwrap();
        let top = sym_eigenvalues(&h, 2)[1];
        assert!((c.smoothness.exact().unwrap() - top).abs() < 1e-12);
        assert!(c.smoothness.exact().unwrap() <= c.individual_smoothness.exact().unwrap());
        assert!((prob.loss(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn test_metric_and_planted_model() {
        let prob = Logistic::random_with_test(5, 200, 500, 0.01, 3).unwrap();
        assert_eq!(prob.test_metric(&[0.0; 5]), Some(1.0));
        // A few hundred gradient steps learn something.
        let mut w = vec![0.0; 5];
        let mut g = vec![0.0; 5];
        for _ in 0..300 {
            prob.grad(&w, &mut g);
            w.iter_mut().zip(&g).for_each(|(w, g)| *w -= 1.0 * g);
        }
        assert!(prob.test_metric(&w).unwrap() < 0.3);
        assert!(
            Logistic::random(5, 20, 0.01, 3)
                .unwrap()
                .test_metric(&w)
                .is_none()
        );
    }

    /// F_D(w) − (λ/2)‖w‖² of the planted model exactly, by quadrature: with a = ⟨w, w_true⟩,
    /// b = ‖w − a·w_true‖, s² the label-noise variance and t = ⟨x, w_true⟩ + ξ ~ N(0, 1 + s²),
    /// y⟨x, w⟩ is distributed as a|g|/√(1 + s²) + σr with g, r ~ N(0, 1) independent and
    /// σ² = a²s²/(1 + s²) + b² (r's sign is symmetric). Simpson on g ∈ [0, 12], trapezoid on
    /// r ∈ [−12, 12] (exponentially accurate for a Gaussian weight).
    fn population_loss_quadrature(w: &[f64], w_true: &[f64]) -> f64 {
        let s2 = LABEL_NOISE_STD * LABEL_NOISE_STD;
        let a = dot(w, w_true);
        let b2 = (dot(w, w) - a * a).max(0.0);
        let sigma = (a * a * s2 / (1.0 + s2) + b2).sqrt();
        let c = a / (1.0 + s2).sqrt();
        let phi = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let (ng, nr) = (4000usize, 4800usize);
        let (hg, hr) = (12.0 / ng as f64, 24.0 / nr as f64);
        let inner = |g: f64| -> f64 {
            (0..=nr)
                .map(|k| {
                    let r = -12.0 + k as f64 * hr;
                    phi(r) * softplus(-(c * g + sigma * r))
                })
                .sum::<f64>()
                * hr
        };
        (0..=ng)
            .map(|k| {
                let g = k as f64 * hg;
                let wk = if k == 0 || k == ng {
                    1.0
                } else if k % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                wk * 2.0 * phi(g) * inner(g)
            })
            .sum::<f64>()
            * hg
            / 3.0
    }

    #[test]
    fn population_sample_agrees_with_quadrature() {
        let prob = Logistic::random_with_test(3, 20, 0, 0.1, 5).unwrap();
        let pop = prob.population().unwrap();
        assert_eq!(pop.size(), POPULATION_SIZE);
        let wt = prob.planted().unwrap().to_vec();
        for w in [
            vec![0.0; 3],
            vec![0.5, -1.0, 2.0],
            wt.iter().map(|v| 3.0 * v).collect(),
        ] {
            let est = pop.risk(&w);
            let exact = population_loss_quadrature(&w, &wt) + 0.05 * dot(&w, &w);
            assert!(
                (est.mean - exact).abs() < 4.0 * est.se && est.se < 2e-3,
                "{w:?}: {est:?} vs {exact}"
            );
        }
        // The neighbour keeps the planted model and changes one example only.
        let mut rng = crate::rng::stream(9, 0);
        let (x, y) = prob.draw_example(&mut rng).unwrap();
        let nb = prob.with_example(4, &x, y).unwrap();
        assert_eq!(nb.planted(), prob.planted());
        let w = [0.3, 0.1, -0.2];
        assert_eq!(nb.example_loss(3, &w), prob.example_loss(3, &w));
        assert_eq!(nb.row(4), &x[..]);
        // Data sets of one distribution: same w_true, another seed.
        let other = Logistic::planted_with(&wt, 20, 0, 0.1, 6).unwrap();
        assert_eq!(other.planted(), prob.planted());
        assert!(Logistic::random(3, 5, 0.1, 0).unwrap().planted().is_some());
    }

    #[test]
    fn rejects_bad_input() {
        let field = |r: Result<Logistic>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        };
        let x = ndarray::arr2(&[[1.0, 2.0], [3.0, 0.0]]);
        assert_eq!(field(Logistic::new(x.clone(), vec![1.0], 0.1)), "y");
        assert_eq!(field(Logistic::new(x.clone(), vec![1.0, 0.0], 0.1)), "y[1]");
        assert_eq!(
            field(Logistic::new(x.clone(), vec![1.0, 1.0], -0.1)),
            "lambda"
        );
        let mut bad = x.clone();
        bad[[1, 0]] = f64::NAN;
        assert_eq!(field(Logistic::new(bad, vec![1.0, 1.0], 0.1)), "x[1][0]");
        let ok = Logistic::new(x, vec![1.0, -1.0], 0.1).unwrap();
        assert_eq!(field(ok.population().map(|_| ok.clone())), "planted");
        assert_eq!(field(ok.with_example(2, &[0.0, 0.0], 1.0)), "neighbour");
        assert_eq!(field(ok.with_example(0, &[0.0], 1.0)), "x");
        assert_eq!(field(ok.with_example(0, &[0.0, 0.0], 0.5)), "y[0]");
        assert_eq!(
            field(Logistic::planted_with(&[1.0, 1.0], 3, 0, 0.1, 0)),
            "w_true"
        );
        assert_eq!(
            field(ok.with_test(ndarray::arr2(&[[1.0]]), vec![1.0])),
            "x_test"
        );
    }
}
