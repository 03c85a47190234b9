//! What the af22 implicit-bias checks (Section 4 and App. B: Theorems 1, 3, 4, 5 and App. B.3)
//! share: random sparse-regression instances of the diagonal network with a vector initialization
//! α, flows run to convergence in log-coordinates with the af22 integrals and a watch on every
//! point the solver evaluates (the App. B.3 gap I_1SAM − I_nSAM and ‖β‖), the effective
//! initializations α ⊙ exp(−cρe), the argmin of φ_α on {Xβ = y}, the solver-precision tolerance
//! of a comparison, and the least-squares slope of a log–log error curve with its interval.

use std::cell::Cell;

use rand::Rng;

use crate::convex::{Interpolation, PhiInfo};
use crate::data::RegressionData;
use crate::flow::{Coordinates, DiagNetIntegrals, Flow, FlowConfig, Integrals, integrate_with};
use crate::problem::{DiagNet, Problem, norm};
use crate::rng::stream;

/// Relative tolerance (and absolute, on ln w and the integrals) of the flows' error control.
pub const RTOL: f64 = 1e-14;
/// A flow stops at L ≤ `LOSS_REL` · L(w₀): its residual is then 10⁻¹² of the initial one, a hundred
/// times the error control, so that the integration noise does not keep it from stopping.
pub const LOSS_REL: f64 = 1e-24;
/// Accepted steps a flow may take (the instances converge in a few hundred).
pub const MAX_STEPS: usize = 20_000;

/// One diagonal-network instance: the af22 sparse-regression data (xᵢ ~ N(0, I_d), β* ≥ 0 on
/// min(3, d) coordinates, ‖β*‖₂ = 1, y = Xβ*) and α = α₀ ⊙ e^{uⱼ}, uⱼ uniform in [−½, ½].
pub struct Case {
    /// The network (its α is the vector initialization).
    pub net: DiagNet,
    /// The data it was built from.
    pub data: RegressionData,
    /// Examples n.
    pub n: usize,
    /// Features d.
    pub d: usize,
    /// L(w₀) = ‖y‖²/(4n).
    pub l0: f64,
    /// The constraint set {Xβ = y} for argmin φ_α.
    pub interp: Interpolation,
}

impl Case {
    /// The instance with `d` features, `n` examples, scale α₀ and data seed `seed`.
    pub fn new(d: usize, n: usize, alpha0: f64, seed: u64) -> Case {
        let data = RegressionData::generate_sparse(d, n, 3.min(d), 0, seed).expect("valid sizes");
        let mut rng = stream(seed, 1);
        let alpha: Vec<f64> = (0..d)
            .map(|_| alpha0 * rng.random_range(-0.5..=0.5f64).exp())
            .collect();
        let net = DiagNet::new(&data, &alpha).expect("positive alpha");
        let l0 = net.loss(&net.init());
        let interp = Interpolation::from_data(&data).expect("Gaussian designs have full row rank");
        Case {
            interp,
            net,
            data,
            n,
            d,
            l0,
        }
    }

    /// α (length d).
    pub fn alpha(&self) -> &[f64] {
        self.net.alpha()
    }

    /// The instance in words.
    pub fn what(&self) -> String {
        let a = self.alpha();
        let (lo, hi) = a
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
        format!(
            "Gaussian design d = {}, n = {}, alpha in [{lo:.4e}, {hi:.4e}]",
            self.d, self.n
        )
    }

    /// ‖β*‖₂ (exact: the generator's ground truth).
    pub fn beta_star_norm(&self) -> f64 {
        norm(
            self.data
                .beta_star
                .as_deref()
                .expect("generated data has beta*"),
        )
    }

    /// R = maxᵢ ‖xᵢ‖₂ (exact).
    pub fn r_max(&self) -> f64 {
        self.net
            .x()
            .rows()
            .into_iter()
            .map(|r| r.dot(&r).sqrt())
            .fold(0.0, f64::max)
    }

    /// The size of the first ascent step relative to w, per unit ρ: n-SAM moves w± by the factor
    /// 1 ± (ρ/n)(Xᵀr)ⱼ, 1-SAM by 1 ± ρ rᵢ xᵢⱼ; at w₀, r = −y. A radius ρ = κ/scale makes the
    /// relative ascent at most κ.
    pub fn ascent_scale(&self, sam: Sam) -> f64 {
        let x = self.net.x();
        let y = self.net.y();
        match sam {
            Sam::NSam => {
                let xty = x.t().dot(&ndarray::ArrayView1::from(y));
                xty.iter().fold(0.0f64, |m, v| m.max(v.abs())) / self.n as f64
            }
            Sam::OneSam => x
                .rows()
                .into_iter()
                .zip(y)
                .map(|(r, yi)| yi.abs() * r.iter().fold(0.0f64, |m, v| m.max(v.abs())))
                .fold(0.0, f64::max),
        }
    }
}

/// Which SAM flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sam {
    /// n-SAM (af22 Eq. 10).
    NSam,
    /// 1-SAM (af22 Eq. 11).
    OneSam,
}

impl Sam {
    /// The flow with radius ρ.
    pub fn flow(self, rho: f64) -> Flow {
        match self {
            Sam::NSam => Flow::NSam { rho },
            Sam::OneSam => Flow::OneSam { rho },
        }
    }

    /// The power of n under ρ in the exponent: ρ/n² (n-SAM), ρ/n (1-SAM).
    pub fn n_power(self) -> i32 {
        match self {
            Sam::NSam => 2,
            Sam::OneSam => 1,
        }
    }
}

/// The integrals of a [`DiagNetIntegrals`] plus a watch on every point the solver evaluates.
struct Watch<'a> {
    inner: DiagNetIntegrals<'a>,
    n: f64,
    /// min over points and j of (I_1SAM,j − I_nSAM,j)/I_1SAM,j.
    gap: Cell<f64>,
    /// max over points of ‖β‖₂.
    sup_beta: Cell<f64>,
}

impl Integrals for Watch<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn integrands(&self, flow: Flow, w: &[f64], out: &mut [f64]) {
        self.inner.integrands(flow, w, out);
        let p = self.inner.split(out);
        let n = self.n;
        let mut gap = self.gap.get();
        for (g2, e2) in p.grad_sq.iter().zip(p.example_sq) {
            let (i_n, i_1) = (g2 / (n * n), e2 / n);
            let rel = if i_1 > 0.0 {
                (i_1 - i_n) / i_1
            } else if i_n > 0.0 {
                f64::NEG_INFINITY
            } else {
                0.0
            };
            gap = gap.min(rel);
        }
        self.gap.set(gap);
        let d = w.len() / 2;
        let (wp, wm) = w.split_at(d);
        let b2: f64 = wp
            .iter()
            .zip(wm)
            .map(|(p, m)| (p * p - m * m) * (p * p - m * m))
            .sum();
        self.sup_beta.set(self.sup_beta.get().max(b2.sqrt()));
    }
}

/// A flow run to convergence with its integrals and watch.
pub struct Run {
    /// Final w = (w₊, w₋).
    pub w: Vec<f64>,
    /// Final β = w₊² − w₋² (the limit β∞ to the flow's tolerance).
    pub beta: Vec<f64>,
    /// The integrals (see [`DiagNetIntegrals`]; name them with [`Run::part`]).
    pub ints: Vec<f64>,
    /// min over every evaluated point and coordinate of (I_1SAM − I_nSAM)/I_1SAM.
    pub gap: f64,
    /// sup over every evaluated point of ‖β‖₂.
    pub sup_beta: f64,
    /// Time at the stop.
    pub t_end: f64,
    /// L at the stop relative to L(w₀).
    pub loss_rel: f64,
    /// Accepted solver steps.
    pub steps: usize,
    /// True when the loss reached `LOSS_REL` · L(w₀).
    pub converged: bool,
}

impl Run {
    /// The integral named `part` (by [`DiagNetIntegrals::split`]) of this run on `c`.
    pub fn part(&self, c: &Case, part: Part) -> Vec<f64> {
        let ints = DiagNetIntegrals::new(&c.net);
        let p = ints.split(&self.ints);
        match part {
            Part::NSam => p.n_sam.to_vec(),
            Part::OneSam => p.one_sam.to_vec(),
            Part::GradSq => p.grad_sq.to_vec(),
            Part::ExampleSq => p.example_sq.to_vec(),
        }
    }

    /// ∫ L ds.
    pub fn loss_integral(&self) -> f64 {
        self.ints[0]
    }

    /// √(w₊ ⊙ w₋) at the stop: the exact effective initialization of the SAM flows (both are
    /// multiplicative, w± = α ⊙ exp(∓(1/n)Xᵀ∫… − E) with the same E, so w₊w₋ = α² e^{−2E}).
    pub fn alpha_flow(&self) -> Vec<f64> {
        let d = self.w.len() / 2;
        (0..d).map(|j| (self.w[j] * self.w[d + j]).sqrt()).collect()
    }
}

/// A named integral of [`DiagNetIntegrals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// ∫ (Xᵀr_sam) ⊙ (Xᵀr) ds (af22 Eq. 14).
    NSam,
    /// Σᵢ xᵢ² ∫ r_sam,i rᵢ ds (af22 Eq. 15).
    OneSam,
    /// ∫ (Xᵀr)² ds (af22 Thm 4).
    GradSq,
    /// ∫ Σᵢ xᵢ² rᵢ² ds (af22 Thm 5).
    ExampleSq,
}

/// Integrate `flow` on `c` from α in log-coordinates (DOP853, rtol = atol = [`RTOL`]) until
/// L ≤ [`LOSS_REL`] · L(w₀), at most [`MAX_STEPS`] steps. A solver failure is a non-converged run.
pub fn run_flow(c: &Case, flow: Flow) -> Run {
    let watch = Watch {
        inner: DiagNetIntegrals::new(&c.net),
        n: c.n as f64,
        gap: Cell::new(f64::INFINITY),
        sup_beta: Cell::new(0.0),
    };
    let config = FlowConfig {
        rtol: RTOL,
        atol: RTOL,
        loss_tol: LOSS_REL * c.l0,
        t_max: 1e15,
        max_steps: MAX_STEPS,
        coordinates: Coordinates::Log,
        ..FlowConfig::default()
    };
    match integrate_with(&c.net, flow, &c.net.init(), &watch, &config) {
        Ok(r) => Run {
            beta: c.net.beta(&r.w),
            converged: r.converged(),
            loss_rel: r.loss / c.l0,
            w: r.w,
            ints: r.integrals,
            gap: watch.gap.get(),
            sup_beta: watch.sup_beta.get(),
            t_end: r.t_end,
            steps: r.stats.steps,
        },
        Err(_) => Run {
            w: c.net.init(),
            beta: vec![f64::NAN; c.d],
            ints: vec![f64::NAN; watch.len()],
            gap: f64::NAN,
            sup_beta: f64::NAN,
            t_end: f64::NAN,
            loss_rel: f64::NAN,
            steps: 0,
            converged: false,
        },
    }
}

/// α ⊙ exp(−k·e).
pub fn scaled_alpha(alpha: &[f64], k: f64, e: &[f64]) -> Vec<f64> {
    alpha
        .iter()
        .zip(e)
        .map(|(a, e)| a * (-k * e).exp())
        .collect()
}

/// argmin φ_a(β) s.t. Xβ = y on the data of `c`, with the solver's information (None when the
/// solver fails or does not converge).
pub fn argmin(c: &Case, a: &[f64]) -> Option<(Vec<f64>, PhiInfo)> {
    c.interp
        .min_phi(a)
        .ok()
        .filter(|s| s.info.converged)
        .map(|s| (s.beta, s.info))
}

/// ‖a − b‖₂/‖b‖₂.
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    diff.sqrt() / norm(b)
}

/// The accuracy to which a flow limit and an argmin can agree: 64 units of the two solvers'
/// accuracies — the flow's relative tolerance, the relative residual √(L/L₀) at which it stopped,
/// and the argmin's relative KKT residual ‖Xβ − y‖/‖y‖.
pub fn tolerance(run: &Run, kkt: f64) -> f64 {
    64.0 * (RTOL + run.loss_rel.sqrt() + kkt)
}

/// Two-sided 99.9 % quantiles of Student's t with 1..=10 degrees of freedom.
const T999: [f64; 10] = [
    636.62, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587,
];

/// A least-squares slope of ln y against ln x with its 99.9 % interval.
#[derive(Clone, Copy, Debug)]
pub struct Slope {
    /// The slope.
    pub slope: f64,
    /// slope ± t·se.
    pub ci: [f64; 2],
    /// Points used.
    pub points: usize,
}

/// The log–log slope of (x, y) (x, y > 0); NaN with fewer than 3 points.
pub fn loglog_slope(x: &[f64], y: &[f64]) -> Slope {
    let m = x.len();
    if m < 3 {
        return Slope {
            slope: f64::NAN,
            ci: [f64::NAN; 2],
            points: m,
        };
    }
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let mx = lx.iter().sum::<f64>() / m as f64;
    let my = ly.iter().sum::<f64>() / m as f64;
    let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let sse: f64 = lx
        .iter()
        .zip(&ly)
        .map(|(a, b)| {
            let e = b - my - slope * (a - mx);
            e * e
        })
        .sum();
    let se = (sse / (m - 2) as f64 / sxx).sqrt();
    let t = T999[(m - 3).min(T999.len() - 1)];
    Slope {
        slope,
        ci: [slope - t * se, slope + t * se],
        points: m,
    }
}

/// Features d ∈ 2n..=4n drawn from stream (seed, 2).
pub fn features(n: usize, seed: u64) -> usize {
    stream(seed, 2).random_range(2 * n..=4 * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_power_law() {
        let x: Vec<f64> = (0..6).map(|k| 10f64.powf(-4.0 + 0.5 * k as f64)).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v * v).collect();
        let s = loglog_slope(&x, &y);
        assert!(
            (s.slope - 2.0).abs() < 1e-12 && s.ci[1] - s.ci[0] < 1e-9,
            "{s:?}"
        );
    }
}
