//! Problems: a loss L(w) = (1/n) Σᵢ ℓᵢ(w) over a flat parameter vector, its per-example and batch
//! gradients written into a caller's buffer (never allocating), and the exact constants where the
//! problem has them. A new problem is one file implementing [`Problem`].

pub mod autoencoder;
pub mod diag_net;
pub mod hyperbolic;
pub mod logistic;
pub mod quadratic;
pub mod quartic;
pub mod relu1d;
pub mod shared_linear;

pub use autoencoder::LinearAutoencoder;
pub use diag_net::DiagNet;
pub use hyperbolic::HyperbolicEntropy;
pub use logistic::Logistic;
pub use quadratic::Quadratic;
pub use quartic::QuarticSaddle;
pub use relu1d::Relu1d;
pub use shared_linear::{SharedLinear, SharedPart};

/// Which examples a gradient averages over.
#[derive(Clone, Copy, Debug)]
pub enum Batch<'a> {
    /// All n examples: ∇L(w).
    All,
    /// The listed examples (repeats allowed): (1/|I|) Σ_{i∈I} ∇ℓᵢ(w).
    Indices(&'a [usize]),
}

impl Batch<'_> {
    /// Number of examples in the batch, given the problem's n.
    pub fn len(&self, n: usize) -> usize {
        match self {
            Batch::All => n,
            Batch::Indices(ix) => ix.len(),
        }
    }

    /// True when the batch is an empty index list.
    pub fn is_empty(&self, n: usize) -> bool {
        self.len(n) == 0
    }
}

/// A constant of a problem: known exactly (closed form), or not known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Const {
    /// Exact (closed form, or an eigenvalue computed to machine precision).
    Exact(f64),
    /// No global value is known; a check must measure it on the region it visits.
    Unknown,
}

impl Const {
    /// The value, if exact.
    pub fn exact(self) -> Option<f64> {
        match self {
            Const::Exact(v) => Some(v),
            Const::Unknown => None,
        }
    }
}

/// The constants of the statements: β (smoothness of L, (A2′)), the individual smoothness of
/// every ℓᵢ ((A2)), µ (PL or strong convexity, (A3)), σ² ((A1)), L* and a minimizer.
#[derive(Clone, Debug)]
pub struct Constants {
    /// β: smoothness of L.
    pub smoothness: Const,
    /// Smoothness shared by every ℓᵢ.
    pub individual_smoothness: Const,
    /// µ: the PL constant (strong-convexity constant where [`Constants::strongly_convex`]).
    pub mu: Const,
    /// True when µ is a strong-convexity constant of L (not only PL).
    pub strongly_convex: bool,
    /// σ² of (A1): sup_w E_i ‖∇ℓᵢ(w) − ∇L(w)‖².
    pub sigma2: Const,
    /// L* = inf L.
    pub loss_min: Const,
    /// A minimizer of L, when known exactly.
    pub minimizer: Option<Vec<f64>>,
}

impl Constants {
    /// Nothing known.
    pub fn unknown() -> Self {
        Constants {
            smoothness: Const::Unknown,
            individual_smoothness: Const::Unknown,
            mu: Const::Unknown,
            strongly_convex: false,
            sigma2: Const::Unknown,
            loss_min: Const::Unknown,
            minimizer: None,
        }
    }
}

/// A finite-sum objective L(w) = (1/n) Σᵢ ℓᵢ(w) on ℝᵖ.
///
/// Implementations must not allocate in [`Problem::batch_grad`] or the loss functions: the
/// optimizers call them inside their steps.
pub trait Problem: Sync {
    /// Short name (e.g. `diag-net`).
    fn name(&self) -> &str;
    /// Number of parameters p.
    fn dim(&self) -> usize;
    /// Number of examples n.
    fn n_examples(&self) -> usize;
    /// ℓᵢ(w).
    fn example_loss(&self, i: usize, w: &[f64]) -> f64;
    /// L(w) = (1/n) Σᵢ ℓᵢ(w).
    fn loss(&self, w: &[f64]) -> f64 {
        let n = self.n_examples();
        (0..n).map(|i| self.example_loss(i, w)).sum::<f64>() / n as f64
    }
    /// Batch gradient (1/|I|) Σ_{i∈I} ∇ℓᵢ(w), written into `out` (length [`Problem::dim`]).
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]);
    /// ∇ℓᵢ(w) into `out`.
    fn example_grad(&self, i: usize, w: &[f64], out: &mut [f64]) {
        self.batch_grad(w, Batch::Indices(&[i]), out)
    }
    /// ∇L(w) into `out`.
    fn grad(&self, w: &[f64], out: &mut [f64]) {
        self.batch_grad(w, Batch::All, out)
    }
    /// The Hessian of L at w, row-major p×p, where the problem provides it.
    fn hessian(&self, _w: &[f64]) -> Option<Vec<f64>> {
        None
    }
    /// Exact constants, where known.
    fn constants(&self) -> Constants {
        Constants::unknown()
    }
    /// The problem's natural test metric (e.g. test MSE), when it has held-out data.
    fn test_metric(&self, _w: &[f64]) -> Option<f64> {
        None
    }
    /// The name of [`Problem::test_metric`] in reports (e.g. `test_mse`).
    fn test_metric_name(&self) -> &str {
        "test_metric"
    }
    /// A derived quantity worth reporting with the parameters (e.g. `beta` of the diagonal
    /// network), as (name, values).
    fn readout(&self, _w: &[f64]) -> Option<(&'static str, Vec<f64>)> {
        None
    }
    /// The default initial point (e.g. w₊ = w₋ = α for the diagonal network).
    fn init(&self) -> Vec<f64>;
}

/// Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

/// Inner product with four interleaved partial sums (a fixed order, so deterministic, and one the
/// compiler can vectorize).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let (ca, ra) = a.split_at(a.len() / 4 * 4);
    let (cb, rb) = b.split_at(ca.len());
    let mut acc = [0.0f64; 4];
    for (x, y) in ca.chunks_exact(4).zip(cb.chunks_exact(4)) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Eigenvalues of a symmetric p×p matrix given row-major, ascending.
pub fn sym_eigenvalues(a: &[f64], p: usize) -> Vec<f64> {
    assert_eq!(a.len(), p * p, "sym_eigenvalues: shape");
    let m = faer::Mat::<f64>::from_fn(p, p, |i, j| a[i * p + j]);
    let mut ev: Vec<f64> = m
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .expect("eigenvalues of a finite symmetric matrix");
    ev.sort_by(f64::total_cmp);
    ev
}
