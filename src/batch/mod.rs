//! The batched trajectory engine: many independent trajectories of one problem and one method,
//! advanced together. The iterates are stored structure-of-arrays, coordinate-major with the
//! lanes of a block contiguous (`x[j·width + l]` is coordinate j of lane l), so every update is a
//! loop over lanes that the compiler vectorizes; a lane whose iterate becomes non-finite or leaves
//! the divergence bound is reported as the single runner reports it and dropped from the block
//! (the last live lane takes its slot), and a block stops when no lane is left. Nothing is
//! allocated per step.
//!
//! Randomness: trajectory k (global index `first_stream + k`) draws its start and its gradient
//! noise from its own generator `R::lane(seed, first_stream + k)`, in the order the single runner
//! draws them, so its result depends neither on the block width nor on the thread count, and with
//! the same generator it is bitwise the result of [`crate::optim::step`] run on it alone. The
//! generator is the runner's ChaCha8 stream ([`crate::rng::stream`], the default), the
//! counter-based [`crate::rng::Philox`], or xoshiro256++ ([`crate::rng::Xoshiro`], the fastest:
//! its lanes' states are arrays advanced together, and the ziggurat's fast path is taken for all
//! lanes at once, see `noise`), each keyed by (seed, trajectory index).
//!
//! Families ([`run_family`]): every start is run with several constant step-size pairs (η, ρ),
//! and the members of a start share its stream — the same start point, the same gradient noise
//! (common random numbers). A block then holds members of one start, draws each row of normals
//! once and writes it into every lane, so a noisy learning-rate sweep costs little more than its
//! arithmetic; each member is still bitwise the independent run of that stream.
//!
//! Instruction sets: the lane loops are compiled three times (baseline, AVX2, AVX-512, chosen at
//! run time by [`Isa`]); they never fuse a multiply-add or reorder a sum, so all three give the
//! same bits (`tests/batch.rs` compares them). A problem may also carry its own intrinsics kernel,
//! picked by CPU detection (the diagonal network's AVX-512 gradient of 8 lanes at a time, and its
//! fused noise-free 1-SAM direction), under the same rule. Without gradient noise, a gradient whose
//! only use is a step — SAM's ascent w + ρg, the update w − ηd when SSAM does not rescale d — is
//! taken in the kernel's output stage ([`LaneProblem::grad_step_lanes`]), the same operations
//! without a pass over the lanes in between. The one exception is opt-in:
//! [`BatchConfig::fma`] lets a gradient kernel fuse its multiply-adds and choose its order of
//! summation, faster but within 1e-12 of the single runner instead of bitwise.
//!
//! Methods: GD/SGD with gradient noise (`gd`), SAM (`sam`/`nsam`, ascent w + ρg), SAM*
//! (`sam-star`, w + ρg/‖g‖), SSAM and SSAM* (`ssam`, `ssam-star`), all on the full batch, and
//! 1-SAM (`1sam`, per-example ascents) on problems with per-example lane gradients (the diagonal
//! network; without noise through the problem's fused [`LaneProblem::one_sam_lanes`] when it has
//! one), with N(0, s²I) noise added at every gradient evaluation ([`Method::with_noise`]).

mod noise;
pub mod problems;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::optim::{Ascent, Method, Sampling, StepSizes};
use crate::rng::{Philox, Xoshiro};
use noise::{NoiseLanes, PerLane, Shared, XoshiroLanes};

/// A problem whose full-batch gradient can be evaluated at many points at once.
pub trait LaneProblem: Sync {
    /// Number of parameters p.
    fn dim(&self) -> usize;
    /// The gradient at the points of lanes `0..live` of `x` (coordinate-major with row length
    /// `width`: `x[j·width + l]`), written into `out` in the same layout (other lanes untouched or
    /// arbitrary). `scratch` has [`LaneProblem::scratch_len`]`(width)` entries.
    fn grad_lanes(
        &self,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    );
    /// `grad_lanes` with fused multiply-adds (and any summation order) where the problem's kernel
    /// has them: faster, not bitwise the single runner. Returns `false`,
    /// touching nothing, when the problem (or the CPU) has no such kernel.
    fn grad_lanes_fma(
        &self,
        _x: &[f64],
        _width: usize,
        _live: usize,
        _out: &mut [f64],
        _scratch: &mut [f64],
    ) -> bool {
        false
    }
    /// The gradient of `grad_lanes` (or of `grad_lanes_fma` when `step.fma`) at lanes `0..live` of
    /// `x`, turned on its way out into the step `out = step.base − step.coef[l]·∇f` (one multiply,
    /// one subtract, as [`step_rows`]): bitwise those two passes, in one. Returns whether some
    /// entry of the step left the bounds (`|v| ≤ step.bound` false, NaN included), or `None`,
    /// touching nothing, when the problem has no such fused kernel.
    fn grad_step_lanes(
        &self,
        _x: &[f64],
        _step: StepInto<'_>,
        _width: usize,
        _live: usize,
        _out: &mut [f64],
        _scratch: &mut [f64],
    ) -> Option<bool> {
        None
    }
    /// Scratch space `grad_lanes` (and `example_grad_lanes`) needs for `width` lanes.
    fn scratch_len(&self, _width: usize) -> usize {
        0
    }
    /// The number of examples n when the problem has [`LaneProblem::example_grad_lanes`] (then
    /// the engine runs 1-SAM, averaging over the n examples), else `None`.
    fn example_lanes(&self) -> Option<usize> {
        None
    }
    /// The gradient of example i's loss ℓᵢ at the points of lanes `0..live` of `x`, in the
    /// layout of `grad_lanes`, bitwise the problem's `example_grad` at each lane (only called
    /// when [`LaneProblem::example_lanes`] is `Some`).
    fn example_grad_lanes(
        &self,
        _i: usize,
        _x: &[f64],
        _width: usize,
        _live: usize,
        _out: &mut [f64],
        _scratch: &mut [f64],
    ) {
        unreachable!("example_grad_lanes of a problem without per-example lanes")
    }
    /// 1-SAM's direction without gradient noise, (1/n) Σᵢ ∇ℓᵢ(w + ρₗ∇ℓᵢ(w)) at the points of
    /// lanes `0..live` of `x` (lane l with radius `rho[l]`), into `out` in the layout of
    /// `grad_lanes`: bitwise what the engine's example-by-example path computes from
    /// [`LaneProblem::example_grad_lanes`]. Returns `false`, touching nothing, when the problem
    /// has no such fused kernel (the engine then takes that path).
    fn one_sam_lanes(
        &self,
        _x: &[f64],
        _rho: &[f64],
        _width: usize,
        _live: usize,
        _out: &mut [f64],
        _scratch: &mut [f64],
    ) -> bool {
        false
    }
    /// Whether the problem has two parameters and [`LaneProblem::grad2`]: the engine then makes a
    /// whole step of a lane in one loop over the lanes (the same operations in the same order).
    fn pointwise2(&self) -> bool {
        false
    }
    /// The gradient at (x₁, x₂), bitwise what `grad_lanes` writes for a lane at that point (only
    /// called when [`LaneProblem::pointwise2`] is true).
    fn grad2(&self, _x1: f64, _x2: f64) -> (f64, f64) {
        unreachable!("grad2 of a problem without pointwise2")
    }
}

/// The step a fused gradient kernel takes on its way out ([`LaneProblem::grad_step_lanes`]):
/// `base − coef[l]·g` at lane l, in the layout of the lanes.
#[derive(Clone, Copy, Debug)]
pub struct StepInto<'a> {
    /// The point the step starts from (rows of `width`, as the iterates).
    pub base: &'a [f64],
    /// The coefficient of lane l (η for the update; −ρ for SAM's ascent w + ρg).
    pub coef: &'a [f64],
    /// Entries of the result with `|v| ≤ bound` false (NaN included) are reported.
    pub bound: f64,
    /// Whether the gradient may fuse multiply-adds ([`BatchConfig::fma`]).
    pub fma: bool,
}

/// `out = base − coef[l]·out` at lanes `lanes` of `rows` rows of `width` (one multiply, one
/// subtract); returns whether some result has `|v| ≤ bound` false (NaN included).
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // !(|v| <= bound) is the NaN-aware test
pub fn step_rows(
    out: &mut [f64],
    step: &StepInto<'_>,
    rows: usize,
    width: usize,
    lanes: std::ops::Range<usize>,
) -> bool {
    let mut bad = false;
    let coef = &step.coef[lanes.clone()];
    for j in 0..rows {
        let at = j * width + lanes.start..j * width + lanes.end;
        for ((o, b), c) in out[at.clone()].iter_mut().zip(&step.base[at]).zip(coef) {
            *o = b - c * *o;
            bad |= !(o.abs() <= step.bound);
        }
    }
    bad
}

/// `$f::<8>(args…, c0)` for every whole chunk of 8 lanes `c0..c0 + 8` below `$live`, then
/// `$f::<1>(args…, l)` for each remaining lane l (each result OR-ed into `$acc` when given): the
/// passes that go down the columns of a block (every row of a few lanes, their per-lane factors
/// held in registers) instead of along its rows.
macro_rules! down_columns {
    ($live:expr, $acc:ident |= $f:ident($($arg:expr),*)) => {
        down_columns!(@ $live, ($acc |=), $f($($arg),*))
    };
    ($live:expr, $f:ident($($arg:expr),*)) => {
        down_columns!(@ $live, (), $f($($arg),*))
    };
    (@ $live:expr, ($($acc:tt)*), $f:ident($($arg:expr),*)) => {{
        let chunks = $live / 8 * 8;
        for c0 in (0..chunks).step_by(8) {
            $($acc)* $f::<8>($($arg,)* c0);
        }
        for l in chunks..$live {
            $($acc)* $f::<1>($($arg,)* l);
        }
    }};
}

/// Lanes `c0..c0 + L` of row j of `v` (rows of `width`).
#[inline(always)]
fn column<const L: usize>(v: &[f64], j: usize, width: usize, c0: usize) -> &[f64; L] {
    let at = j * width + c0;
    v[at..at + L].try_into().expect("L lanes")
}

/// [`column`], writable.
#[inline(always)]
fn column_mut<const L: usize>(v: &mut [f64], j: usize, width: usize, c0: usize) -> &mut [f64; L] {
    let at = j * width + c0;
    (&mut v[at..at + L]).try_into().expect("L lanes")
}

/// The ascent point a = x + c[l]·g of lanes `c0..c0 + L`, every row.
#[inline(always)]
fn ascend<const L: usize>(
    a: &mut [f64],
    x: &[f64],
    g: &[f64],
    c: &[f64],
    dim: usize,
    width: usize,
    c0: usize,
) {
    let c: [f64; L] = c[c0..c0 + L].try_into().expect("L lanes");
    for j in 0..dim {
        let (x, g) = (*column::<L>(x, j, width, c0), *column::<L>(g, j, width, c0));
        *column_mut::<L>(a, j, width, c0) = std::array::from_fn(|l| x[l] + c[l] * g[l]);
    }
}

/// SSAM's update of lanes `c0..c0 + L`, every row: d ← x − η·v with v = ‖g‖·(d·(1/‖d‖)), or
/// v = 0 when ‖d‖ = 0; `per_lane` holds η, ‖g‖, ‖d‖ and 1/‖d‖ per lane. Returns whether some
/// result has `|v| ≤ bound` false (NaN included).
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // !(|v| <= bound) is the NaN-aware test
fn rescaled_step<const L: usize>(
    d: &mut [f64],
    x: &[f64],
    per_lane: [&[f64]; 4],
    bound: f64,
    dim: usize,
    width: usize,
    c0: usize,
) -> bool {
    let [lr, ng, na, inv] =
        per_lane.map(|v| -> [f64; L] { v[c0..c0 + L].try_into().expect("L lanes") });
    let mut bad = [false; L];
    for j in 0..dim {
        let (x, dj) = (*column::<L>(x, j, width, c0), *column::<L>(d, j, width, c0));
        let new: [f64; L] = std::array::from_fn(|l| {
            let v = if na[l] > 0.0 {
                ng[l] * (dj[l] * inv[l])
            } else {
                0.0
            };
            x[l] - lr[l] * v
        });
        for (b, v) in bad.iter_mut().zip(&new) {
            *b |= !(v.abs() <= bound);
        }
        *column_mut::<L>(d, j, width, c0) = new;
    }
    bad.contains(&true)
}

/// The ascent of a fused two-parameter step: none (plain gradient), w + ρg, or w + ρg/‖g‖.
const ASCENT_NONE: u8 = 0;
const ASCENT_GRAD: u8 = 1;
const ASCENT_NORMALIZED: u8 = 2;

/// One step of every live lane of a two-parameter problem in one loop: the gradient at x (plus
/// s·z₀, s·z₁ when `NOISE`), the ascent point, the gradient there (plus s·z₂, s·z₃), the SSAM rescaling when
/// `RENORM`, and the update x − η·d into `new`, with exactly the operations of the engine's general
/// path (a two-term `dot` is (0 + a²) + b², and 0 + a² = a²). Returns whether some lane left the
/// bounds. `z` holds the normals as rows of `width`; lane l steps with η = `lr[l]`, ρ = `rho[l]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fused_step2<P: LaneProblem + ?Sized, const ASCENT: u8, const RENORM: bool, const NOISE: bool>(
    problem: &P,
    x: &[f64],
    new: &mut [f64],
    z: &[f64],
    width: usize,
    live: usize,
    (lr, rho): (&[f64], &[f64]),
    (s, bound): (f64, f64),
) -> bool {
    let (lr, rho) = (&lr[..live], &rho[..live]);
    let (x1, x2) = (&x[..live], &x[width..width + live]);
    let (n1, n2) = new.split_at_mut(width);
    let (n1, n2) = (&mut n1[..live], &mut n2[..live]);
    let row = |r: usize| &z[r * width..r * width + live];
    let (z0, z1, z2, z3) = if ASCENT == ASCENT_NONE {
        (row(0), row(1), row(0), row(1))
    } else {
        (row(0), row(1), row(2), row(3))
    };
    let mut bad = false;
    for l in 0..live {
        let (a, b, lr, rho) = (x1[l], x2[l], lr[l], rho[l]);
        let (mut g1, mut g2) = problem.grad2(a, b);
        if NOISE {
            g1 += s * z0[l];
            g2 += s * z1[l];
        }
        let (d1, d2) = if ASCENT == ASCENT_NONE {
            (g1, g2)
        } else {
            let ng = if ASCENT == ASCENT_NORMALIZED || RENORM {
                (g1 * g1 + g2 * g2).sqrt()
            } else {
                0.0
            };
            let scale = if ASCENT == ASCENT_NORMALIZED {
                if ng > 0.0 { rho / ng } else { 0.0 }
            } else {
                rho
            };
            let (mut d1, mut d2) = problem.grad2(a + scale * g1, b + scale * g2);
            if NOISE {
                d1 += s * z2[l];
                d2 += s * z3[l];
            }
            if RENORM {
                let nd = (d1 * d1 + d2 * d2).sqrt();
                if nd > 0.0 {
                    let inv = 1.0 / nd;
                    (ng * (d1 * inv), ng * (d2 * inv))
                } else {
                    (0.0, 0.0)
                }
            } else {
                (d1, d2)
            }
        };
        let (y1, y2) = (a - lr * d1, b - lr * d2);
        n1[l] = y1;
        n2[l] = y2;
        bad |= y1.is_nan() | (y1.abs() > bound) | y2.is_nan() | (y2.abs() > bound);
    }
    bad
}

/// A per-trajectory generator the engine can use.
pub trait LaneRng: Rng + Clone + Send + Sized {
    /// The generator of trajectory `index` under `seed`.
    fn lane(seed: u64, index: u64) -> Self;
}

impl LaneRng for ChaCha8Rng {
    fn lane(seed: u64, index: u64) -> Self {
        crate::rng::stream(seed, index)
    }
}

impl LaneRng for Philox {
    fn lane(seed: u64, index: u64) -> Self {
        Philox::new(seed, index)
    }
}

impl LaneRng for Xoshiro {
    fn lane(seed: u64, index: u64) -> Self {
        Xoshiro::new(seed, index)
    }
}

/// Which generator a batched run uses (all keyed by (seed, trajectory index)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generator {
    /// ChaCha8, the single runner's stream ([`crate::rng::stream`]).
    ChaCha8,
    /// Philox4x32-10 ([`crate::rng::Philox`]).
    Philox,
    /// xoshiro256++ ([`crate::rng::Xoshiro`]), drawn for all lanes of a block at once: the fastest.
    Xoshiro,
}

impl Generator {
    /// Every generator, by name.
    pub const NAMES: [(&'static str, Generator); 3] = [
        ("chacha8", Generator::ChaCha8),
        ("philox", Generator::Philox),
        ("xoshiro", Generator::Xoshiro),
    ];

    /// The generator called `name` (`chacha8`, `philox` or `xoshiro`).
    pub fn from_name(name: &str) -> Result<Generator> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, g)| *g)
            .ok_or_else(|| {
                Error::invalid(
                    "generator",
                    format!("unknown generator {name:?} (chacha8, philox or xoshiro)"),
                )
            })
    }

    /// The generator's name.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, g)| *g == self)
            .map_or("", |(n, _)| n)
    }
}

/// The instruction set the engine's lane loops run on. The loops only add, multiply, divide and
/// take square roots lane by lane, in the order of the scalar code (no fused multiply-add, no
/// reordered sums), so every choice gives the same bits; wider vectors only go faster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Isa {
    /// The widest this CPU has: AVX-512, else AVX2, else the build's baseline (x86-64: SSE2).
    #[default]
    Auto,
    /// The build's baseline only.
    Baseline,
}

impl Isa {
    /// The instruction set `Auto` picks on this machine, by name.
    pub fn detected() -> &'static str {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return "avx512";
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return "avx2";
            }
        }
        "baseline"
    }
}

/// `out[l] = Σ_j t_j[l]` for every lane l < width, summed in the order of
/// [`crate::problem::dot`] (four interleaved partial sums over the first ⌊dim/4⌋·4 terms, then the
/// rest), so that a lane's value is bitwise the `dot` of its vectors. `add(j, a)` adds the terms
/// t_j of all lanes into the accumulator row `a` (`a[l] += t_j[l]`, length `width`); `acc` has
/// 4·width entries.
#[inline(always)]
pub fn lane_dot(
    dim: usize,
    width: usize,
    acc: &mut [f64],
    out: &mut [f64],
    add: impl Fn(usize, &mut [f64]),
) {
    let full = dim / 4 * 4;
    let acc = &mut acc[..4 * width];
    acc.fill(0.0);
    for j0 in (0..full).step_by(4) {
        for (k, a) in acc.chunks_exact_mut(width).enumerate() {
            add(j0 + k, a);
        }
    }
    let (a01, a23) = acc.split_at(2 * width);
    let (a0, a1) = a01.split_at(width);
    let (a2, a3) = a23.split_at(width);
    for ((((o, a0), a1), a2), a3) in out[..width].iter_mut().zip(a0).zip(a1).zip(a2).zip(a3) {
        *o = (a0 + a1) + (a2 + a3);
    }
    for j in full..dim {
        add(j, &mut out[..width]);
    }
}

/// Settings of a batched run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchConfig {
    /// Seed of every trajectory's generator.
    pub seed: u64,
    /// Global index of trajectory 0 (trajectory k uses stream `first_stream + k`).
    pub first_stream: u64,
    /// Number of trajectories.
    pub count: usize,
    /// Lanes per block (trajectories advanced together by one thread).
    pub width: usize,
    /// A trajectory diverges at the first step where some |wⱼ| exceeds this or is NaN.
    pub diverge_above: f64,
    /// The generator.
    pub generator: Generator,
    /// The instruction set of the lane loops (the same bits either way).
    pub isa: Isa,
    /// Let the problem's gradient kernel fuse multiply-adds and pick its own summation order
    /// ([`LaneProblem::grad_lanes_fma`]: the diagonal network's full-batch gradient on AVX-512,
    /// which then also takes Σᵢ rᵢxᵢ as XᵀXβ − Xᵀy from its Gram matrix when d < 2n, d² instead
    /// of 2nd multiply-adds). Faster, but no longer bitwise the single runner: within 1e-12
    /// relative on the runs `tests/batch.rs` checks (4e-14 measured over 1000 steps). Not for
    /// SAM* or SSAM* without noise: at a minimum their ascent
    /// direction g/‖g‖ is set by rounding, so any change of arithmetic moves their iterates
    /// (by up to 2e-2 relative after 1000 steps in those runs). Off by default.
    pub fma: bool,
}

impl BatchConfig {
    /// `count` trajectories from stream 0 of `seed`, 64 lanes per block, bound 1e100, ChaCha8,
    /// the widest instruction set.
    pub fn new(seed: u64, count: usize) -> Self {
        BatchConfig {
            seed,
            first_stream: 0,
            count,
            width: 64,
            diverge_above: 1e100,
            generator: Generator::ChaCha8,
            isa: Isa::Auto,
            fma: false,
        }
    }

    /// Validate, naming the field.
    pub fn check(&self) -> Result<()> {
        if self.width == 0 {
            return Err(Error::invalid("width", "must be >= 1"));
        }
        if self.diverge_above.is_nan() || self.diverge_above <= 0.0 {
            return Err(Error::invalid("diverge_above", "must be > 0"));
        }
        if self.first_stream.checked_add(self.count as u64).is_none() {
            return Err(Error::invalid("count", "stream indices overflow u64"));
        }
        Ok(())
    }
}

/// The outcome of every trajectory of a batched run (trajectory k at index k).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResult {
    /// Parameters per trajectory.
    pub dim: usize,
    /// Final parameters, trajectory-major (`params[k·dim + j]`): the last iterate within bounds
    /// when the trajectory diverged, as the single runner reports it.
    pub params: Vec<f64>,
    /// Steps completed per trajectory (excluding the diverging one).
    pub steps: Vec<usize>,
    /// The update (1-based) whose iterate was non-finite or beyond the bound, if any.
    pub diverged_at: Vec<Option<usize>>,
}

impl BatchResult {
    /// Final parameters of trajectory `k`.
    pub fn params(&self, k: usize) -> &[f64] {
        &self.params[k * self.dim..(k + 1) * self.dim]
    }
}

/// The methods the engine runs: full batch, ascent none / gradient / normalized, and per example
/// (1-SAM) on problems with per-example lane gradients.
fn check_method<P: LaneProblem + ?Sized>(problem: &P, m: &Method) -> Result<()> {
    if m.sampling != Sampling::Full {
        return Err(Error::invalid(
            "method",
            "the batched engine runs full-batch methods (gd, sam, sam-star, ssam, ssam-star, 1sam)",
        ));
    }
    if m.ascent == Ascent::Random {
        return Err(Error::invalid(
            "method",
            "the batched engine runs gd, sam, sam-star, ssam, ssam-star and 1sam",
        ));
    }
    if m.ascent == Ascent::PerExample && problem.example_lanes().is_none() {
        return Err(Error::invalid(
            "method",
            "1sam in the batched engine needs per-example lane gradients (the diagonal network has them)",
        ));
    }
    Ok(())
}

/// Run `cfg.count` trajectories of `steps` updates of `method` with step sizes `sizes` on
/// `problem`. `init(index, rng, x)` writes the start of trajectory `index` (its global stream
/// index) into `x`, drawing from that trajectory's generator if it wants a random start.
/// Blocks of `cfg.width` trajectories run in parallel on rayon's pool.
pub fn run_batch<P, F>(
    problem: &P,
    method: &Method,
    sizes: StepSizes,
    steps: usize,
    cfg: &BatchConfig,
    init: F,
) -> Result<BatchResult>
where
    P: LaneProblem + ?Sized,
    F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]) + Sync,
{
    check_method(problem, method)?;
    sizes.check()?;
    cfg.check()?;
    let layout = Layout::Independent(sizes);
    Ok(run_layout(problem, method, layout, steps, cfg, init))
}

/// Run every one of `cfg.count` starts with every constant step-size pair (η, ρ) of `family`
/// (common random numbers): trajectory `k·m + i` (m = `family.len()`) is start k run with
/// `family[i]`, and all m members of start k use stream `cfg.first_stream + k`, so they begin at
/// the same point and receive the same gradient noise. Each trajectory is bitwise what
/// [`run_batch`] gives for stream `first_stream + k` with `StepSizes::constant(family[i])`, but a
/// row of normals is drawn once per block of members instead of once per lane, which makes noisy
/// learning-rate or radius sweeps several times cheaper. The ρ of the family must be all zero or
/// all positive (every member then draws the same normals per step). A block holds members of one
/// start only: ⌈m / ⌈m / width⌉⌉ or fewer lanes.
pub fn run_family<P, F>(
    problem: &P,
    method: &Method,
    family: &[(f64, f64)],
    steps: usize,
    cfg: &BatchConfig,
    init: F,
) -> Result<BatchResult>
where
    P: LaneProblem + ?Sized,
    F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]) + Sync,
{
    check_method(problem, method)?;
    cfg.check()?;
    if family.is_empty() {
        return Err(Error::invalid(
            "family",
            "needs at least one (lr, rho) pair",
        ));
    }
    for &(lr, rho) in family {
        StepSizes::constant(lr, rho).check()?;
    }
    if family.iter().any(|f| f.1 == 0.0) && family.iter().any(|f| f.1 > 0.0) {
        return Err(Error::invalid(
            "family",
            "the radii must be all zero or all positive (the members share their noise draws)",
        ));
    }
    if cfg.count.checked_mul(family.len()).is_none() {
        return Err(Error::invalid("count", "count × family size overflows"));
    }
    let layout = Layout::Family(family);
    Ok(run_layout(problem, method, layout, steps, cfg, init))
}

/// The run with the noise lanes of the layout and generator: one generator per lane for
/// independent trajectories, one per block for a family.
fn run_layout<P, F>(
    problem: &P,
    method: &Method,
    layout: Layout<'_>,
    steps: usize,
    cfg: &BatchConfig,
    init: F,
) -> BatchResult
where
    P: LaneProblem + ?Sized,
    F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]) + Sync,
{
    let args = (problem, method, layout, steps, cfg, init);
    match (layout, cfg.generator) {
        (Layout::Independent(_), Generator::ChaCha8) => run_with::<P, PerLane<ChaCha8Rng>, F>(args),
        (Layout::Independent(_), Generator::Philox) => run_with::<P, PerLane<Philox>, F>(args),
        (Layout::Independent(_), Generator::Xoshiro) => run_with::<P, XoshiroLanes, F>(args),
        (Layout::Family(_), Generator::ChaCha8) => run_with::<P, Shared<ChaCha8Rng>, F>(args),
        (Layout::Family(_), Generator::Philox) => run_with::<P, Shared<Philox>, F>(args),
        (Layout::Family(_), Generator::Xoshiro) => run_with::<P, Shared<Xoshiro>, F>(args),
    }
}

/// How the trajectories of a run map to streams and step sizes.
#[derive(Clone, Copy, Debug)]
enum Layout<'a> {
    /// Trajectory k: stream `first_stream + k`, step sizes the given ones.
    Independent(StepSizes),
    /// Trajectory k·m + i: stream `first_stream + k`, constant (η, ρ) = `family[i]`.
    Family(&'a [(f64, f64)]),
}

impl Layout<'_> {
    /// Trajectories of a run of `count` starts.
    fn trajectories(&self, count: usize) -> usize {
        match self {
            Layout::Independent(_) => count,
            Layout::Family(f) => count * f.len(),
        }
    }

    /// The blocks of a run as (first trajectory, lanes): consecutive chunks of at most `width`
    /// trajectories; a family's chunks split its members evenly and never mix two starts.
    fn blocks(&self, count: usize, width: usize) -> Vec<(usize, usize)> {
        let chunks = |first: usize, n: usize, w: usize| {
            (0..n.div_ceil(w)).map(move |c| (first + c * w, w.min(n - c * w)))
        };
        match self {
            Layout::Independent(_) => chunks(0, count, width).collect(),
            Layout::Family(f) => {
                let m = f.len();
                let w = m.div_ceil(m.div_ceil(width));
                (0..count).flat_map(|k| chunks(k * m, m, w)).collect()
            }
        }
    }

    /// (stream offset, member) of trajectory `t`.
    fn lane(&self, t: usize) -> (usize, usize) {
        match self {
            Layout::Independent(_) => (t, 0),
            Layout::Family(f) => (t / f.len(), t % f.len()),
        }
    }
}

/// The arguments of a run: problem, method, layout, steps, settings, start.
type RunArgs<'a, P, F> = (&'a P, &'a Method, Layout<'a>, usize, &'a BatchConfig, F);

fn run_with<P, N, F>((problem, method, layout, steps, cfg, init): RunArgs<'_, P, F>) -> BatchResult
where
    P: LaneProblem + ?Sized,
    N: NoiseLanes,
    F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]) + Sync,
{
    let dim = problem.dim();
    let total = layout.trajectories(cfg.count);
    let blocks = layout.blocks(cfg.count, cfg.width);
    let width = blocks.iter().map(|b| b.1).max().unwrap_or(1);
    let mut result = BatchResult {
        dim,
        params: vec![0.0; total * dim],
        steps: vec![0; total],
        diverged_at: vec![None; total],
    };
    // Each block's slices of the result, in order.
    let mut outs = Vec::with_capacity(blocks.len());
    let (mut params, mut done, mut diverged) = (
        &mut result.params[..],
        &mut result.steps[..],
        &mut result.diverged_at[..],
    );
    for &(first, lanes) in &blocks {
        let (p, rest_p) = std::mem::take(&mut params).split_at_mut(lanes * dim);
        let (d, rest_d) = std::mem::take(&mut done).split_at_mut(lanes);
        let (v, rest_v) = std::mem::take(&mut diverged).split_at_mut(lanes);
        (params, done, diverged) = (rest_p, rest_d, rest_v);
        let out = Out {
            params: p,
            steps: d,
            diverged_at: v,
        };
        outs.push((first, out));
    }
    outs.into_par_iter().for_each_init(
        || Lanes::<N>::new(problem, width, cfg),
        |lanes, (first, out)| {
            let task = Task {
                problem,
                method,
                layout,
                steps,
                cfg,
                first,
                init: &init,
            };
            lanes.run(&task, out);
        },
    );
    result
}

/// What one block runs.
struct Task<'a, P: ?Sized, F> {
    problem: &'a P,
    method: &'a Method,
    layout: Layout<'a>,
    steps: usize,
    cfg: &'a BatchConfig,
    /// Index of the block's first trajectory within the run.
    first: usize,
    init: &'a F,
}

/// Where one block writes its trajectories' outcomes (slices of the result).
struct Out<'a> {
    params: &'a mut [f64],
    steps: &'a mut [usize],
    diverged_at: &'a mut [Option<usize>],
}

/// The buffers of one block, allocated once per thread.
struct Lanes<N> {
    width: usize,
    /// Whether the gradient may fuse multiply-adds ([`BatchConfig::fma`]).
    fma: bool,
    x: Vec<f64>,
    g: Vec<f64>,
    w_asc: Vec<f64>,
    /// 1-SAM: the gradient of one example at its ascent point.
    g_asc: Vec<f64>,
    descent: Vec<f64>,
    scratch: Vec<f64>,
    /// ‖g‖ and ‖descent‖ per lane.
    norm_g: Vec<f64>,
    norm_d: Vec<f64>,
    /// A per-lane factor computed once per step: ρ/‖g‖ (SAM*), 1/‖g_asc‖ (SSAM) or −ρ (SAM's
    /// ascent as a step).
    scale: Vec<f64>,
    /// Block-local trajectory of each slot (slots are reordered as lanes die).
    slot: Vec<usize>,
    /// η and ρ of each slot at the current step.
    lr: Vec<f64>,
    rho: Vec<f64>,
    noise: N,
    /// The normals of a fused step: four rows of `width`.
    z: Vec<f64>,
    start: Vec<f64>,
}

impl<N: NoiseLanes> Lanes<N> {
    fn new<P: LaneProblem + ?Sized>(problem: &P, width: usize, cfg: &BatchConfig) -> Self {
        let n = problem.dim() * width;
        Lanes {
            width,
            fma: cfg.fma,
            x: vec![0.0; n],
            g: vec![0.0; n],
            w_asc: vec![0.0; n],
            g_asc: vec![0.0; problem.example_lanes().map_or(0, |_| n)],
            descent: vec![0.0; n],
            scratch: vec![0.0; problem.scratch_len(width)],
            norm_g: vec![0.0; width],
            norm_d: vec![0.0; width],
            scale: vec![0.0; width],
            slot: Vec::with_capacity(width),
            lr: vec![0.0; width],
            rho: vec![0.0; width],
            noise: N::with_width(width, cfg.isa),
            z: vec![0.0; 4 * width],
            start: vec![0.0; problem.dim()],
        }
    }

    /// ‖v‖ per lane (in `dot`'s order, [`lane_dot`]) into `out`, lanes `0..live`: whole chunks
    /// of 8 lanes with their partial sums in registers ([`down_columns`]), then lane by lane.
    #[inline(always)]
    fn norms(v: &[f64], dim: usize, width: usize, live: usize, out: &mut [f64]) {
        #[inline(always)]
        fn norms_of<const L: usize>(
            v: &[f64],
            dim: usize,
            width: usize,
            out: &mut [f64],
            c0: usize,
        ) {
            let row = |j: usize| -> [f64; L] { *column(v, j, width, c0) };
            let mut acc = [[0.0; L]; 4];
            let full = dim / 4 * 4;
            for j0 in (0..full).step_by(4) {
                for (k, a) in acc.iter_mut().enumerate() {
                    let e = row(j0 + k);
                    *a = std::array::from_fn(|l| a[l] + e[l] * e[l]);
                }
            }
            let mut o: [f64; L] =
                std::array::from_fn(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
            for j in full..dim {
                let e = row(j);
                o = std::array::from_fn(|l| o[l] + e[l] * e[l]);
            }
            for (out, o) in out[c0..c0 + L].iter_mut().zip(o) {
                *out = o.sqrt();
            }
        }
        down_columns!(live, norms_of(v, dim, width, out));
    }

    /// The gradient at lanes `0..live` of `x` into `out`: the problem's fused multiply-add kernel
    /// when `fma` and it has one, else `grad_lanes`.
    #[inline(always)]
    fn grad<P: LaneProblem + ?Sized>(
        problem: &P,
        fma: bool,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        if !(fma && problem.grad_lanes_fma(x, width, live, out, scratch)) {
            problem.grad_lanes(x, width, live, out, scratch);
        }
    }

    /// One step of the live lanes through the problem's `grad_lanes`, pass by pass; the new
    /// iterates go into `descent`. Without noise, SAM's ascent w + ρg and (without SSAM's
    /// rescaling) the update are fused into the gradient when the problem has
    /// [`LaneProblem::grad_step_lanes`]. Returns whether some lane left the bounds.
    #[inline(always)]
    fn general_step<P: LaneProblem + ?Sized>(
        &mut self,
        problem: &P,
        method: &Method,
        ascent: Ascent,
        (s, bound): (f64, f64),
        live: usize,
    ) -> bool {
        let dim = problem.dim();
        let (lr, rho) = (&self.lr[..live], &self.rho[..live]);
        let w = self.width;
        let row = |j: usize| j * w..j * w + live;
        // Nothing between a gradient and the step it feeds: no noise, no SSAM rescaling.
        let plain = s == 0.0 && !method.renormalize;
        match ascent {
            Ascent::None => {}
            Ascent::PerExample
                if s == 0.0
                    && problem.one_sam_lanes(
                        &self.x,
                        rho,
                        w,
                        live,
                        &mut self.descent,
                        &mut self.scratch,
                    ) => {}
            Ascent::PerExample => {
                // (1/n) Σᵢ ∇ℓᵢ(w + ρ∇ℓᵢ(w)), each example's gradients with their own noise, as
                // `optim::step` (which never renormalizes a per-example step).
                for j in 0..dim {
                    self.descent[row(j)].fill(0.0);
                }
                let m = problem.example_lanes().unwrap_or(0);
                for i in 0..m {
                    problem.example_grad_lanes(i, &self.x, w, live, &mut self.g, &mut self.scratch);
                    if s > 0.0 {
                        self.noise.add_noise(&mut self.g, dim, w, live, s);
                    }
                    for j in 0..dim {
                        let (a, x, g) = (&mut self.w_asc[row(j)], &self.x[row(j)], &self.g[row(j)]);
                        for (((a, x), g), rho) in a.iter_mut().zip(x).zip(g).zip(rho) {
                            *a = x + rho * g;
                        }
                    }
                    let (w_asc, g_asc) = (&self.w_asc, &mut self.g_asc);
                    problem.example_grad_lanes(i, w_asc, w, live, g_asc, &mut self.scratch);
                    if s > 0.0 {
                        self.noise.add_noise(&mut self.g_asc, dim, w, live, s);
                    }
                    for j in 0..dim {
                        for (d, ga) in self.descent[row(j)].iter_mut().zip(&self.g_asc[row(j)]) {
                            *d += ga;
                        }
                    }
                }
                let c = 1.0 / m as f64;
                for j in 0..dim {
                    self.descent[row(j)].iter_mut().for_each(|d| *d *= c);
                }
            }
            // SAM's w + ρg is w − (−ρ)·g, bitwise.
            Ascent::Gradient
                if plain && {
                    for (c, rho) in self.scale.iter_mut().zip(rho) {
                        *c = -rho;
                    }
                    let step = StepInto {
                        base: &self.x,
                        coef: &self.scale,
                        bound: f64::INFINITY,
                        fma: self.fma,
                    };
                    let (out, scratch) = (&mut self.w_asc, &mut self.scratch);
                    problem
                        .grad_step_lanes(&self.x, step, w, live, out, scratch)
                        .is_some()
                } => {}
            _ => {
                Self::grad(
                    problem,
                    self.fma,
                    &self.x,
                    w,
                    live,
                    &mut self.g,
                    &mut self.scratch,
                );
                if s > 0.0 {
                    self.noise.add_noise(&mut self.g, dim, w, live, s);
                }
                let normalized = ascent == Ascent::Normalized;
                if normalized || method.renormalize {
                    Self::norms(&self.g, dim, w, live, &mut self.norm_g);
                }
                if normalized {
                    // The lane's radius over ‖g‖, once per lane.
                    for ((sc, ng), rho) in self.scale.iter_mut().zip(&self.norm_g).zip(rho) {
                        *sc = if *ng > 0.0 { rho / ng } else { 0.0 };
                    }
                }
                // a = x + c·g, c = ρ/‖g‖ or ρ.
                let c = if normalized { &self.scale[..] } else { rho };
                let (a, x, g) = (&mut self.w_asc, &self.x, &self.g);
                down_columns!(live, ascend(a, x, g, c, dim, w));
            }
        }
        let step = StepInto {
            base: &self.x,
            coef: lr,
            bound,
            fma: self.fma,
        };
        // SSAM's rescaling of the descent, done in the update's pass.
        let rescale = ascent != Ascent::PerExample && method.renormalize;
        if ascent != Ascent::PerExample {
            // The descent direction: the gradient at x (gd) or at the ascent point.
            let at = if ascent == Ascent::None {
                &self.x
            } else {
                &self.w_asc
            };
            let (out, scratch) = (&mut self.descent, &mut self.scratch);
            if plain && let Some(bad) = problem.grad_step_lanes(at, step, w, live, out, scratch) {
                return bad;
            }
            Self::grad(problem, self.fma, at, w, live, out, scratch);
            if s > 0.0 {
                self.noise.add_noise(&mut self.descent, dim, w, live, s);
            }
            if method.renormalize {
                Self::norms(&self.descent, dim, w, live, &mut self.norm_d);
                // 1/‖g_asc‖, once per lane.
                for (sc, na) in self.scale.iter_mut().zip(&self.norm_d[..live]) {
                    *sc = 1.0 / na;
                }
            }
        }
        // The new iterate x − η·d goes into `descent` (SSAM's d is ‖g‖·(d/‖d‖), 0 when d = 0);
        // a lane that left the bounds keeps its old one. Leaving the bounds is rare: the same
        // pass notes whether some entry did (|v| ≤ bound is false for NaN too).
        if !rescale {
            return step_rows(&mut self.descent, &step, dim, w, 0..live);
        }
        let (d, x) = (&mut self.descent, &self.x);
        let per_lane = [lr, &self.norm_g[..], &self.norm_d[..], &self.scale[..]];
        let mut bad = false;
        down_columns!(live, bad |= rescaled_step(d, x, per_lane, bound, dim, w));
        bad
    }

    /// One step of the live lanes of a two-parameter problem in one loop ([`fused_step2`]), the
    /// normals drawn beforehand; the new iterates go into `descent`.
    #[inline(always)]
    fn fused_step<P: LaneProblem + ?Sized>(
        &mut self,
        problem: &P,
        ascent: Ascent,
        renormalize: bool,
        sizes: (f64, f64),
        live: usize,
    ) -> bool {
        let (w, s) = (self.width, sizes.0);
        let evaluations = if ascent == Ascent::None { 1 } else { 2 };
        if s > 0.0 {
            self.noise.fill(&mut self.z, 2 * evaluations, w, live);
        }
        let (x, new, z) = (&self.x, &mut self.descent, &self.z);
        let lr_rho = (&self.lr[..], &self.rho[..]);
        macro_rules! go {
            ($a:expr, $r:expr, $n:expr) => {
                fused_step2::<P, $a, $r, $n>(problem, x, new, z, w, live, lr_rho, sizes)
            };
        }
        match (ascent, renormalize, s > 0.0) {
            (Ascent::None, _, true) => go!(ASCENT_NONE, false, true),
            (Ascent::None, _, false) => go!(ASCENT_NONE, false, false),
            (Ascent::Normalized, false, true) => go!(ASCENT_NORMALIZED, false, true),
            (Ascent::Normalized, false, false) => go!(ASCENT_NORMALIZED, false, false),
            (Ascent::Normalized, true, true) => go!(ASCENT_NORMALIZED, true, true),
            (Ascent::Normalized, true, false) => go!(ASCENT_NORMALIZED, true, false),
            (_, false, true) => go!(ASCENT_GRAD, false, true),
            (_, false, false) => go!(ASCENT_GRAD, false, false),
            (_, true, true) => go!(ASCENT_GRAD, true, true),
            (_, true, false) => go!(ASCENT_GRAD, true, false),
        }
    }

    /// Run the block on the widest instruction set `task.cfg.isa` allows.
    fn run<P, F>(&mut self, task: &Task<'_, P, F>, out: Out<'_>)
    where
        P: LaneProblem + ?Sized,
        F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]),
    {
        #[cfg(target_arch = "x86_64")]
        if task.cfg.isa == Isa::Auto {
            match Isa::detected() {
                // SAFETY: the CPU has the features the functions are compiled for (checked above).
                "avx512" => return unsafe { self.run_avx512(task, out) },
                "avx2" => return unsafe { self.run_avx2(task, out) },
                _ => {}
            }
        }
        self.run_lanes(task, out)
    }

    /// [`Lanes::run_lanes`] compiled for AVX-512 (no FMA: the same bits as the baseline).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,avx")]
    unsafe fn run_avx512<P, F>(&mut self, task: &Task<'_, P, F>, out: Out<'_>)
    where
        P: LaneProblem + ?Sized,
        F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]),
    {
        self.run_lanes(task, out)
    }

    /// [`Lanes::run_lanes`] compiled for AVX2 (no FMA: the same bits as the baseline).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,avx")]
    unsafe fn run_avx2<P, F>(&mut self, task: &Task<'_, P, F>, out: Out<'_>)
    where
        P: LaneProblem + ?Sized,
        F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]),
    {
        self.run_lanes(task, out)
    }

    /// The block's trajectories, step by step.
    #[inline(always)]
    fn run_lanes<P, F>(&mut self, task: &Task<'_, P, F>, out: Out<'_>)
    where
        P: LaneProblem + ?Sized,
        F: Fn(u64, &mut dyn rand::RngCore, &mut [f64]),
    {
        let Task {
            problem,
            method,
            layout,
            steps,
            cfg,
            first,
            init,
        } = *task;
        let dim = problem.dim();
        let w = self.width;
        let count = out.steps.len();
        // Starts: slot l holds block-local trajectory l.
        self.slot.clear();
        self.noise.clear();
        for l in 0..count {
            let (offset, member) = layout.lane(first + l);
            let index = cfg.first_stream + offset as u64;
            if let Layout::Family(f) = layout {
                (self.lr[l], self.rho[l]) = f[member];
            }
            let start = &mut self.start;
            self.noise
                .push(cfg.seed, index, &mut |rng| init(index, rng, start));
            for (j, v) in self.start.iter().enumerate() {
                self.x[j * w + l] = *v;
            }
            self.slot.push(l);
        }
        let s = method.noise_std;
        let bound = cfg.diverge_above;
        let fused = dim == 2 && problem.pointwise2() && method.ascent != Ascent::PerExample;
        let mut live = count;
        let mut current = None;
        for t in 0..steps {
            if live == 0 {
                break;
            }
            if let Layout::Independent(sizes) = layout {
                // Every lane has the same (η, ρ): refresh them when the schedule moves.
                let now = sizes.at(t, steps);
                if current != Some(now) {
                    current = Some(now);
                    self.lr[..live].fill(now.0);
                    self.rho[..live].fill(now.1);
                }
            }
            // A family's radii are all zero or all positive (checked by `run_family`).
            let ascent = if self.rho[0] == 0.0 {
                Ascent::None
            } else {
                method.ascent
            };
            let any_bad = if fused {
                self.fused_step(problem, ascent, method.renormalize, (s, bound), live)
            } else {
                self.general_step(problem, method, ascent, (s, bound), live)
            };
            let mut l = 0;
            while any_bad && l < live {
                let bad = (0..dim).any(|j| {
                    let v = self.descent[j * w + l];
                    v.is_nan() || v.abs() > bound
                });
                if !bad {
                    l += 1;
                    continue;
                }
                let k = self.slot[l];
                for j in 0..dim {
                    out.params[k * dim + j] = self.x[j * w + l];
                }
                out.steps[k] = t;
                out.diverged_at[k] = Some(t + 1);
                // The last live lane takes this slot.
                live -= 1;
                for j in 0..dim {
                    self.descent[j * w + l] = self.descent[j * w + live];
                    self.x[j * w + l] = self.x[j * w + live];
                }
                self.slot.swap(l, live);
                self.lr.swap(l, live);
                self.rho.swap(l, live);
                self.noise.swap(l, live);
            }
            std::mem::swap(&mut self.x, &mut self.descent);
        }
        for l in 0..live {
            let k = self.slot[l];
            for j in 0..dim {
                out.params[k * dim + j] = self.x[j * w + l];
            }
            out.steps[k] = steps;
        }
    }
}
