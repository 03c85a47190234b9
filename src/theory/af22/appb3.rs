//! af22 App. B.3 and Theorem 1 (informal): how large the implicit-bias exponents are.
//!
//! `af22.appB3`: I_nSAM = (1/n²)(Xᵀr)² and I_1SAM = (1/n)Σᵢxᵢ²rᵢ² (elementwise) satisfy
//! I_1SAM ≥ I_nSAM (Cauchy–Schwarz: (Σᵢaᵢ)² ≤ nΣᵢaᵢ²) at every w. Checked at every point the solver
//! evaluates along a GD, n-SAM or 1-SAM flow (first ascent 10 % of w) on Gaussian designs with
//! d ∈ 5n..=15n, n ∈ 2..=8, drawn from the instance's seed: LHS = min over points and coordinates of (I_1SAM − I_nSAM)/I_1SAM ≥ 0,
//! exact up to rounding. The note reports the integrated ratio ‖∫I_1SAM‖₁/‖∫I_nSAM‖₁ against the
//! paper's "≈ n" (the example af22_thm1 draws its distribution).
//!
//! `af22.thm1`: α_x = α ⊙ e^{−ρΔ_x + O(ρ²)} with ‖Δ_1SAM‖₁ ≈ d∫L and ‖Δ_nSAM‖₁ ≈ (d/n)∫L for d ≫ n.
//! Δ_x is the first-order coefficient of ln α_x, which the corrected Theorems 4–5 (the checks
//! `af22.thm4.corrected`, `af22.thm5.corrected`) give as Δ_nSAM = ∫I_nSAM, Δ_1SAM = ∫I_1SAM along
//! the GD flow (ρ = 0). "≈" is read as: the ratios ‖Δ_1SAM‖₁/(d∫L) and ‖Δ_nSAM‖₁/((d/n)∫L) are
//! the same constant on every Gaussian design, up to the concentration error of the paper's own
//! argument (Bai–Yin: the spectrum of XXᵀ/d fills [(1 − √(n/d))², (1 + √(n/d))²], relative
//! half-width ≈ 2√(n/d); the n-SAM ratio is 4 × a weighted mean of that spectrum, the 1-SAM ratio
//! 4 × a weighted mean of ‖xᵢ‖²/d). One instance draws n ∈ 2..=4, d/n ∈ 10..=25 and
//! α₀ ∈ [0.05, 0.5] from its seed and M = 8 designs; LHS = the larger coefficient of variation of
//! the two ratios over the designs, bound 2√(n/d). The CV is the spread of the instance's own M
//! designs (a property of that fixed sample, not an estimate of an expectation: no interval). The
//! centres (the constant "≈" hides) are in the note:
//! with the paper's L = (1/(4n))Σrᵢ² the argument of App. B.3 (Eqs. 18–19, where L stands for
//! ‖r‖²/n) predicts 4 for both.

use rand::Rng;

use super::bias::{Case, Run, Sam, run_flow};
use super::{class_of, log_map};
use crate::flow::Flow;
use crate::rng::stream;
use crate::theory::{Check, Constant, Instance, Observation};

/// ‖∫I_1SAM‖₁ and ‖∫I_nSAM‖₁ of a run.
pub fn integrated(case: &Case, run: &Run) -> (f64, f64) {
    let n = case.n as f64;
    let one: f64 = run.part(case, super::bias::Part::ExampleSq).iter().sum();
    let nsam: f64 = run.part(case, super::bias::Part::GradSq).iter().sum();
    (one / n, nsam / (n * n))
}

/// The Theorem 1 ratios (‖Δ_1SAM‖₁/(d∫L), ‖Δ_nSAM‖₁/((d/n)∫L)) of a GD run.
pub fn thm1_ratios(case: &Case, run: &Run) -> (f64, f64) {
    let (one, nsam) = integrated(case, run);
    let (d, n) = (case.d as f64, case.n as f64);
    let l = run.loss_integral();
    (one / (d * l), nsam / (d / n * l))
}

/// af22.appB3.
pub struct AppB3;

impl Check for AppB3 {
    fn id(&self) -> &'static str {
        "af22.appB3"
    }
    fn statement(&self) -> &'static str {
        "I_1SAM = (1/n) sum_i x_i^2 r_i^2 >= I_nSAM = (1/n^2)(X^T r)^2 elementwise along the flows (and |I_1SAM|_1/|I_nSAM|_1 ~ n for d >> n)"
    }
    fn dims(&self) -> usize {
        0
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let mut rng = stream(inst.seed, 3);
        let n = rng.random_range(2..=8usize);
        let d = n * rng.random_range(5..=15usize);
        let case = Case::new(d, n, log_map(rng.random(), 0.05, 1.0), inst.seed);
        let flow = match class_of(rng.random(), 3) {
            0 => Flow::Gd,
            1 => Sam::NSam.flow(0.1 / case.ascent_scale(Sam::NSam)),
            _ => Sam::OneSam.flow(0.1 / case.ascent_scale(Sam::OneSam)),
        };
        let run = run_flow(&case, flow);
        let (one, nsam) = integrated(&case, &run);
        let lhs = if run.converged { run.gap } else { f64::NAN };
        Observation::ge(
            lhs,
            0.0,
            1.0,
            vec![],
            format!(
                "{}; {flow:?}; min over {} steps' evaluated points and j of (I_1SAM - I_nSAM)/I_1SAM = {lhs:.6e}; |int I_1SAM|_1/|int I_nSAM|_1 = {:.4} = {:.4} n",
                case.what(),
                run.steps,
                one / nsam,
                one / nsam / n as f64,
            ),
        )
    }
}

/// Designs per thm1 instance.
pub const DESIGNS: usize = 8;

/// The mean and coefficient of variation of `xs`.
fn mean_cv(xs: &[f64]) -> (f64, f64) {
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (m - 1.0);
    (mean, var.sqrt() / mean)
}

/// af22.thm1.
pub struct Thm1;

impl Check for Thm1 {
    fn id(&self) -> &'static str {
        "af22.thm1"
    }
    fn statement(&self) -> &'static str {
        "|Delta_1SAM|_1 ~ d int L ds, |Delta_nSAM|_1 ~ (d/n) int L ds for d >> n (ratios concentrated over designs: CV <= 2 sqrt(n/d))"
    }
    fn dims(&self) -> usize {
        0
    }
    fn evaluate(&self, inst: &Instance) -> Observation {
        let mut rng = stream(inst.seed, 3);
        let n = rng.random_range(2..=4usize);
        let d = n * rng.random_range(10..=25usize);
        let alpha0 = log_map(rng.random::<f64>(), 0.05, 0.5);
        let mut r1 = Vec::with_capacity(DESIGNS);
        let mut rn = Vec::with_capacity(DESIGNS);
        let mut converged = true;
        for _ in 0..DESIGNS {
            let case = Case::new(d, n, alpha0, rng.random());
            let run = run_flow(&case, Flow::Gd);
            converged &= run.converged;
            let (a, b) = thm1_ratios(&case, &run);
            r1.push(a);
            rn.push(b);
        }
        let (m1, cv1) = mean_cv(&r1);
        let (mn, cvn) = mean_cv(&rn);
        let cv = if converged { cv1.max(cvn) } else { f64::NAN };
        let bound = 2.0 * (n as f64 / d as f64).sqrt();
        Observation::le(
            cv,
            bound,
            bound,
            vec![
                Constant::measured("centre 1-SAM", m1),
                Constant::measured("centre n-SAM", mn),
            ],
            format!(
                "{DESIGNS} Gaussian designs d = {d}, n = {n}, alpha0 = {alpha0:.4}; |Delta_1SAM|_1/(d int L): mean {m1:.4}, CV {cv1:.4}; |Delta_nSAM|_1/((d/n) int L): mean {mn:.4}, CV {cvn:.4}; bound 2 sqrt(n/d) = {bound:.4}"
            ),
        )
    }
}
