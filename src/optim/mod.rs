//! The SAM family of update rules as one composition: a batch is drawn, an *ascent* point is
//! formed (none, w + ρg, w + ρg/‖g‖, per-example w + ρ∇ℓᵢ, or a random direction of length ρ),
//! the *descent* gradient is taken there, optionally *renormalized* (SSAM: scaled by ‖g‖/‖g_asc‖),
//! and w ← w − γ·descent. Method names (`gd`, `nsam`, `1sam`, `ssam`, …) are aliases of
//! compositions; [`step`] performs one update without allocating.

pub mod coupled;
pub mod schedule;
pub mod trajectory;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::problem::{Batch, Problem, norm};

pub use schedule::{Schedule, StepSizes};
pub use trajectory::{Phase, Record, RunConfig, RunResult, run};

/// Where the descent gradient is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ascent {
    /// At w itself (GD / SGD).
    None,
    /// At w + ρ∇L_J(w) (n-SAM, m-SAM, stochastic n-SAM).
    Gradient,
    /// At w + ρ∇L_J(w)/‖∇L_J(w)‖ (SAM*, Foret et al.).
    Normalized,
    /// Per example: (1/|I|) Σ_{i∈I} ∇ℓᵢ(w + ρ∇ℓᵢ(w)) (1-SAM, af22 Eq. 8).
    PerExample,
    /// At w + ρu/‖u‖, u ~ N(0, I) (the random-perturbation baseline of af22 Fig 1).
    Random,
}

/// How the examples of a step are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// All n examples.
    Full,
    /// A batch of `size` indices per step: uniform without replacement (a random subset), or
    /// i.i.d. uniform with replacement.
    Batch {
        /// Batch size b.
        size: usize,
        /// Draw with replacement.
        replace: bool,
    },
}

/// An update rule: a composition of sampling, ascent, renormalization and gradient noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Method {
    /// The ascent piece.
    pub ascent: Ascent,
    /// Draw the ascent batch J independently of the descent batch I (af22 Eq. 21).
    pub independent_ascent_batch: bool,
    /// SSAM renormalization of the descent: scale by ‖g‖/‖g_asc‖ (ssam24 Alg. 1).
    pub renormalize: bool,
    /// Batch selection.
    pub sampling: Sampling,
    /// Standard deviation of additive N(0, s²I) noise added to every gradient evaluation.
    pub noise_std: f64,
}

/// The method names accepted by [`Method::from_name`] and the spec's `method` field.
pub const METHOD_NAMES: [&str; 11] = [
    "gd",
    "sgd",
    "nsam",
    "nsam-stoch",
    "msam",
    "1sam",
    "sam-star",
    "ssam",
    "ssam-star",
    "random",
    "sam",
];

impl Method {
    /// Full-batch gradient descent.
    pub const GD: Method = Method {
        ascent: Ascent::None,
        independent_ascent_batch: false,
        renormalize: false,
        sampling: Sampling::Full,
        noise_std: 0.0,
    };

    /// The composition behind a method name. `batch` is the batch size (None = full batch),
    /// `replace` selects sampling with replacement. Names:
    /// `gd` (full batch), `sgd` (needs a batch), `nsam` (Eq. 20, full batch), `msam` (Eq. 4, needs
    /// a batch), `sam` (n-SAM on the full batch or m-SAM on a batch), `nsam-stoch` (Eq. 21, needs
    /// a batch), `1sam` (Eq. 8, full batch or over a batch), `sam-star`, `ssam`, `ssam-star`,
    /// `random`.
    pub fn from_name(name: &str, batch: Option<usize>, replace: bool) -> Result<Method> {
        let need_batch = |b: Option<usize>| {
            b.ok_or_else(|| Error::invalid("batch", format!("method `{name}` needs a batch size")))
        };
        let no_batch = |b: Option<usize>, alt: &str| match b {
            None => Ok(()),
            Some(_) => Err(Error::invalid(
                "batch",
                format!("method `{name}` is full-batch; use `{alt}` for a stochastic batch"),
            )),
        };
        let (ascent, indep, renorm, size) = match name {
            "gd" => (
                Ascent::None,
                false,
                false,
                no_batch(batch, "sgd").map(|_| None)?,
            ),
            "sgd" => (Ascent::None, false, false, Some(need_batch(batch)?)),
            "nsam" => (
                Ascent::Gradient,
                false,
                false,
                no_batch(batch, "msam").map(|_| None)?,
            ),
            "msam" => (Ascent::Gradient, false, false, Some(need_batch(batch)?)),
            "sam" => (Ascent::Gradient, false, false, batch),
            "nsam-stoch" => (Ascent::Gradient, true, false, Some(need_batch(batch)?)),
            "1sam" => (Ascent::PerExample, false, false, batch),
            "sam-star" => (Ascent::Normalized, false, false, batch),
            "ssam" => (Ascent::Gradient, false, true, batch),
            "ssam-star" => (Ascent::Normalized, false, true, batch),
            "random" => (Ascent::Random, false, false, batch),
            _ => {
                return Err(Error::invalid(
                    "method",
                    format!(
                        "unknown method `{name}`; valid: {}",
                        METHOD_NAMES.join(", ")
                    ),
                ));
            }
        };
        let sampling = match size {
            None => Sampling::Full,
            Some(0) => return Err(Error::invalid("batch", "must be >= 1")),
            Some(size) => Sampling::Batch { size, replace },
        };
        Ok(Method {
            ascent,
            independent_ascent_batch: indep,
            renormalize: renorm,
            sampling,
            noise_std: 0.0,
        })
    }

    /// The same method with additive Gaussian gradient noise of variance `variance`.
    pub fn with_noise(mut self, variance: f64) -> Result<Method> {
        crate::error::non_negative("noise", variance)?;
        self.noise_std = variance.sqrt();
        Ok(self)
    }

    /// Check the method against a problem with `n` examples (batch size ≤ n without replacement).
    pub fn check(&self, n: usize) -> Result<()> {
        if let Sampling::Batch {
            size,
            replace: false,
        } = self.sampling
            && size > n
        {
            return Err(Error::invalid(
                "batch",
                format!("batch {size} exceeds n = {n} examples (without replacement)"),
            ));
        }
        Ok(())
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepInfo {
    /// Batch-gradient oracle calls (each adds fresh noise when the method has noise).
    pub grad_evals: usize,
    /// Per-example gradients computed (Σ over oracle calls of the batch size).
    pub example_grads: usize,
    /// SSAM's ratio γ_t = ‖g‖/‖g_asc‖ (renormalized methods; None where ‖g_asc‖ = 0).
    pub ssam_ratio: Option<f64>,
}

/// Buffers for [`step`], allocated once per trajectory.
#[derive(Clone, Debug)]
pub struct Workspace {
    g: Vec<f64>,
    w_asc: Vec<f64>,
    g_asc: Vec<f64>,
    descent: Vec<f64>,
    batch_i: Vec<usize>,
    batch_j: Vec<usize>,
    perm: Vec<usize>,
}

impl Workspace {
    /// Buffers for a problem of dimension `dim` with `n` examples.
    pub fn new(dim: usize, n: usize) -> Self {
        Workspace {
            g: vec![0.0; dim],
            w_asc: vec![0.0; dim],
            g_asc: vec![0.0; dim],
            descent: vec![0.0; dim],
            batch_i: Vec::with_capacity(n),
            batch_j: Vec::with_capacity(n),
            perm: (0..n).collect(),
        }
    }

    /// The descent direction of the last step (before scaling by γ).
    pub fn last_descent(&self) -> &[f64] {
        &self.descent
    }
}

/// Fill `out` with a batch drawn by `sampling` (empty for the full batch).
fn draw<R: Rng + ?Sized>(
    sampling: Sampling,
    perm: &mut [usize],
    out: &mut Vec<usize>,
    rng: &mut R,
) {
    out.clear();
    let n = perm.len();
    match sampling {
        Sampling::Full => {}
        Sampling::Batch {
            size,
            replace: true,
        } => {
            out.extend((0..size).map(|_| rng.random_range(0..n)));
        }
        Sampling::Batch { size, .. } if size >= n => {}
        Sampling::Batch { size, .. } => {
            // Partial Fisher–Yates: the first `size` entries become a uniform random subset.
            for k in 0..size {
                let j = rng.random_range(k..n);
                perm.swap(k, j);
            }
            out.extend_from_slice(&perm[..size]);
        }
    }
}

fn batch_of(ix: &[usize]) -> Batch<'_> {
    if ix.is_empty() {
        Batch::All
    } else {
        Batch::Indices(ix)
    }
}

/// One gradient evaluation: the batch gradient plus fresh noise when `noise_std > 0`.
fn oracle<P: Problem + ?Sized, R: Rng + ?Sized>(
    p: &P,
    w: &[f64],
    batch: Batch<'_>,
    out: &mut [f64],
    noise_std: f64,
    rng: &mut R,
    info: &mut StepInfo,
) {
    match batch {
        Batch::Indices(&[i]) => p.example_grad(i, w, out),
        _ => p.batch_grad(w, batch, out),
    }
    if noise_std > 0.0 {
        for o in out.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            *o += noise_std * z;
        }
    }
    info.grad_evals += 1;
    info.example_grads += batch.len(p.n_examples());
}

/// w_asc = w + s·g.
fn ascend(w: &[f64], s: f64, g: &[f64], w_asc: &mut [f64]) {
    for ((a, wj), gj) in w_asc.iter_mut().zip(w).zip(g) {
        *a = wj + s * gj;
    }
}

/// One update of `method` with learning rate `lr` and radius `rho`, in place on `w`.
///
/// With ρ = 0 every method takes exactly the step of its base method (GD/SGD on the same batch).
/// Divisions by a norm are guarded: a zero ascent gradient gives no ascent, a zero descent
/// gradient gives no SSAM step, so a stationary point is a fixed point and no NaN appears.
/// The generator is the run's stream ([`crate::rng::stream`], ChaCha8) or, as an option, the
/// counter-based [`crate::rng::Philox`].
pub fn step<P: Problem + ?Sized, R: Rng + ?Sized>(
    p: &P,
    method: &Method,
    w: &mut [f64],
    lr: f64,
    rho: f64,
    ws: &mut Workspace,
    rng: &mut R,
) -> StepInfo {
    let mut info = StepInfo::default();
    let s = method.noise_std;
    draw(method.sampling, &mut ws.perm, &mut ws.batch_i, rng);
    let bi = batch_of(&ws.batch_i);
    let ascent = if rho == 0.0 {
        Ascent::None
    } else {
        method.ascent
    };
    match ascent {
        Ascent::None => {
            oracle(p, w, bi, &mut ws.descent, s, rng, &mut info);
            if method.renormalize {
                info.ssam_ratio = Some(1.0);
            }
        }
        Ascent::PerExample => {
            ws.descent.fill(0.0);
            let m = bi.len(p.n_examples());
            for k in 0..m {
                let i = if ws.batch_i.is_empty() {
                    k
                } else {
                    ws.batch_i[k]
                };
                let one = Batch::Indices(std::slice::from_ref(&i));
                oracle(p, w, one, &mut ws.g, s, rng, &mut info);
                ascend(w, rho, &ws.g, &mut ws.w_asc);
                oracle(p, &ws.w_asc, one, &mut ws.g_asc, s, rng, &mut info);
                for (d, ga) in ws.descent.iter_mut().zip(&ws.g_asc) {
                    *d += ga;
                }
            }
            let c = 1.0 / m as f64;
            ws.descent.iter_mut().for_each(|d| *d *= c);
        }
        Ascent::Random => {
            for u in ws.g.iter_mut() {
                *u = StandardNormal.sample(rng);
            }
            let nu = norm(&ws.g);
            let scale = if nu > 0.0 { rho / nu } else { 0.0 };
            ascend(w, scale, &ws.g, &mut ws.w_asc);
            oracle(p, &ws.w_asc, bi, &mut ws.descent, s, rng, &mut info);
        }
        Ascent::Gradient | Ascent::Normalized => {
            let bj = if method.independent_ascent_batch {
                draw(method.sampling, &mut ws.perm, &mut ws.batch_j, rng);
                batch_of(&ws.batch_j)
            } else {
                bi
            };
            oracle(p, w, bj, &mut ws.g, s, rng, &mut info);
            let scale = match ascent {
                Ascent::Normalized => {
                    let ng = norm(&ws.g);
                    if ng > 0.0 { rho / ng } else { 0.0 }
                }
                _ => rho,
            };
            ascend(w, scale, &ws.g, &mut ws.w_asc);
            oracle(p, &ws.w_asc, bi, &mut ws.descent, s, rng, &mut info);
            if method.renormalize {
                let ng = norm(&ws.g);
                let na = norm(&ws.descent);
                if na > 0.0 {
                    info.ssam_ratio = Some(ng / na);
                    let unit = 1.0 / na;
                    ws.descent.iter_mut().for_each(|d| *d = ng * (*d * unit));
                } else {
                    ws.descent.fill(0.0);
                }
            }
        }
    }
    for (wj, d) in w.iter_mut().zip(&ws.descent) {
        *wj -= lr * d;
    }
    info
}
