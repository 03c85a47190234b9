//! Trajectories of unnormalized SAM / SSAM with one example per step (drawn uniformly), for the
//! ssam24 convergence and generalization checks: the iterate, the γ_t of every step, and G
//! measured as the largest per-example gradient norm max_z ‖∇f(x, z)‖ over the points x the run
//! visits (every iterate w_t and every ascent point w_t + ρ∇f(w_t, z_t)).

use rand_chacha::ChaCha8Rng;

use crate::optim::coupled::{ExampleBuffers, Rule, draw_index, example_step};
use crate::problem::{Problem, dot, norm};

/// One run.
#[derive(Clone, Debug)]
pub struct Run {
    /// w_T.
    pub w: Vec<f64>,
    /// γ_t for t = 0..T (SSAM's renormalization factor, computed on SAM runs too), except the
    /// steps where ‖∇f(w_t, z_t)‖ ≤ `floor` (the rounding level of a gradient: there γ_t is a
    /// ratio of rounding errors, 0/0 in exact arithmetic).
    pub gammas: Vec<f64>,
    /// The number of steps left out of `gammas`.
    pub skipped: usize,
    /// max over visited x and all examples z of ‖∇f(x, z)‖.
    pub g: f64,
}

/// max_z ‖∇f(x, z)‖.
pub fn grad_sup(prob: &dyn Problem, x: &[f64], buf: &mut [f64]) -> f64 {
    (0..prob.n_examples())
        .map(|z| {
            prob.example_grad(z, x, buf);
            norm(buf)
        })
        .fold(0.0f64, f64::max)
}

/// T steps of SAM (`ssam` false: w ← w − η∇f(w_asc, z)) or SSAM (w ← w − ηγ_t∇f(w_asc, z))
/// from `w0`, the example of each step drawn uniformly from `rng`
/// ([`crate::optim::coupled::example_step`]); γ_t is recorded where ‖∇f(w_t, z_t)‖ > `floor`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    prob: &dyn Problem,
    w0: &[f64],
    rho: f64,
    eta: f64,
    steps: usize,
    ssam: bool,
    floor: f64,
    rng: &mut ChaCha8Rng,
) -> Run {
    let n = prob.n_examples();
    let rule = if ssam { Rule::Ssam } else { Rule::Sam };
    let mut buf = vec![0.0; w0.len()];
    let mut bufs = ExampleBuffers::new(w0.len());
    let mut w = w0.to_vec();
    let mut g = grad_sup(prob, &w, &mut buf);
    let mut gammas = Vec::with_capacity(steps);
    let mut skipped = 0;
    for _ in 0..steps {
        let z = draw_index(rng, n);
        let s = example_step(prob, rule, z, &mut w, eta, rho, &mut bufs);
        g = g.max(grad_sup(prob, bufs.ascent_point(), &mut buf));
        if s.grad_norm > floor {
            gammas.push(s.gamma);
        } else {
            skipped += 1;
        }
        g = g.max(grad_sup(prob, &w, &mut buf));
    }
    Run {
        w,
        gammas,
        skipped,
        g,
    }
}

/// ½(w − c)ᵀA(w − c) for a p×p row-major A.
pub fn form(a: &[f64], w: &[f64], c: &[f64]) -> f64 {
    let p = w.len();
    let d: Vec<f64> = w.iter().zip(c).map(|(x, y)| x - y).collect();
    let ad: Vec<f64> = (0..p).map(|r| dot(&a[r * p..(r + 1) * p], &d)).collect();
    0.5 * dot(&d, &ad)
}

/// A lock-free running maximum of non-negative floats (order-independent, so deterministic).
#[derive(Default)]
pub struct MaxF(std::sync::atomic::AtomicU64);

impl MaxF {
    /// Fold in x ≥ 0.
    pub fn add(&self, x: f64) {
        self.0
            .fetch_max(x.max(0.0).to_bits(), std::sync::atomic::Ordering::Relaxed);
    }
    /// The maximum so far (0 if none).
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// The rounding level of a gradient of a problem with smoothness L on points of size `size`:
/// 1e4·ε·L·(size + 1).
pub fn floor_of(l: f64, size: f64) -> f64 {
    1e4 * f64::EPSILON * l * (size + 1.0)
}

/// max_i ‖cᵢ‖ + ‖w₀‖ for a quadratic: the size of the points its runs visit.
pub fn size_of(q: &crate::problem::Quadratic, w0: &[f64]) -> f64 {
    (0..q.n_examples())
        .map(|i| norm(q.center(i)))
        .fold(0.0f64, f64::max)
        + norm(w0)
}
