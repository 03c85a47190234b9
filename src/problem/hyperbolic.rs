//! The hyperbolic entropy of af22 Eq. 12, φ_α(β) = Σᵢ αᵢ² q(βᵢ/αᵢ²) with
//! q(z) = 2 − √(4 + z²) + z asinh(z/2): the potential whose minimum-norm interpolator the diagonal
//! network's flow selects. It owns the numerically stable value, gradient asinh(βᵢ/(2αᵢ²)) and
//! diagonal Hessian 1/√(4αᵢ⁴ + βᵢ²) for αᵢ down to 1e-150 and |βᵢ| up to 1e6 and beyond.

use std::f64::consts::LN_2;

use super::{Batch, Const, Constants, Problem};
use crate::error::{Error, Result, positive};

/// Above this |x| = |β|/(2α²), asinh(x) is evaluated as sign(x)(ln 2 + ln|x|) with ln|x| taken
/// from logarithms of β and α (the neglected term is 1/(4x²) ≤ 2.5e-17).
const LOG_DOMAIN: f64 = 1e8;

/// The scales α of a d-coordinate model from a scalar (one entry) or one entry per coordinate,
/// every entry finite and > 0; errors name `alpha` or `alpha[j]`.
pub fn alpha_vector(alpha: &[f64], d: usize) -> Result<Vec<f64>> {
    let alpha = match alpha.len() {
        1 => vec![alpha[0]; d],
        l if l == d => alpha.to_vec(),
        l => {
            return Err(Error::invalid(
                "alpha",
                format!("has {l} entries, expected 1 or d = {d}"),
            ));
        }
    };
    for (j, a) in alpha.iter().enumerate() {
        positive(&format!("alpha[{j}]"), *a)?;
    }
    Ok(alpha)
}

/// The potential φ_α on ℝᵈ (also a [`Problem`] with one example, L = φ_α).
#[derive(Clone, Debug)]
pub struct HyperbolicEntropy {
    alpha: Vec<f64>,
    ln_alpha: Vec<f64>,
}

/// asinh(β/(2α²)) and the term α² q(β/α²) for one coordinate.
///
/// With x = β/(2α²) (formed as β/α/(2α), so α² is never formed), α² q(β/α²) =
/// β·asinh(x) − β²/(2α² + √(4α⁴ + β²)) = β·(asinh(x) − x/(1 + √(1 + x²))): no cancellation of
/// 2 − √(4 + z²) and no overflow or underflow of α² or α⁴. For |x| > [`LOG_DOMAIN`] (or when x
/// overflows) both pieces come from ln|x| = ln|β| − ln 2 − 2 ln α.
#[inline]
fn coordinate(beta: f64, alpha: f64, ln_alpha: f64) -> (f64, f64) {
    if beta == 0.0 {
        return (0.0, 0.0);
    }
    let x = beta / alpha / (2.0 * alpha);
    if x.is_finite() && x.abs() <= LOG_DOMAIN {
        let a = x.asinh();
        let r = x / (1.0 + 1f64.hypot(x));
        (a, beta * (a - r))
    } else {
        let lx = beta.abs().ln() - LN_2 - 2.0 * ln_alpha;
        let a = LN_2 + lx;
        // x/(1 + √(1 + x²)) = 1/(u + √(u² + 1)) with u = 1/|x| (underflows harmlessly to 0).
        let u = (-lx).exp();
        let r = 1.0 / (u + u.hypot(1.0));
        (a.copysign(beta), beta.abs() * (a - r))
    }
}

impl HyperbolicEntropy {
    /// The potential with scales `alpha` (length d ≥ 1, every entry finite and > 0).
    pub fn new(alpha: Vec<f64>) -> Result<Self> {
        if alpha.is_empty() {
            return Err(Error::invalid("alpha", "must have at least one entry"));
        }
        for (i, a) in alpha.iter().enumerate() {
            positive(&format!("alpha[{i}]"), *a)?;
        }
        let ln_alpha = alpha.iter().map(|a| a.ln()).collect();
        Ok(HyperbolicEntropy { alpha, ln_alpha })
    }

    /// The scales α.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// φ_α(β) = Σᵢ αᵢ² q(βᵢ/αᵢ²) (≥ 0, 0 only at β = 0).
    pub fn value(&self, beta: &[f64]) -> f64 {
        let mut s = 0.0;
        for ((b, a), la) in beta.iter().zip(&self.alpha).zip(&self.ln_alpha) {
            s += coordinate(*b, *a, *la).1;
        }
        s
    }

    /// ∇φ_α(β)ᵢ = asinh(βᵢ/(2αᵢ²)) into `out`.
    pub fn grad_into(&self, beta: &[f64], out: &mut [f64]) {
        for (((o, b), a), la) in out
            .iter_mut()
            .zip(beta)
            .zip(&self.alpha)
            .zip(&self.ln_alpha)
        {
            *o = coordinate(*b, *a, *la).0;
        }
    }

    /// The (diagonal) Hessian 1/√(4αᵢ⁴ + βᵢ²) into `out`, with √(4αᵢ⁴ + βᵢ²) = hypot(2αᵢ², βᵢ);
    /// +∞ where 2αᵢ² underflows and βᵢ = 0.
    pub fn hessian_diag_into(&self, beta: &[f64], out: &mut [f64]) {
        for ((o, b), a) in out.iter_mut().zip(beta).zip(&self.alpha) {
            *o = 1.0 / (2.0 * a * a).hypot(*b);
        }
    }
}

impl Problem for HyperbolicEntropy {
    fn name(&self) -> &str {
        "hyperbolic-entropy"
    }
    fn dim(&self) -> usize {
        self.alpha.len()
    }
    fn n_examples(&self) -> usize {
        1
    }
    fn example_loss(&self, _i: usize, w: &[f64]) -> f64 {
        self.value(w)
    }
    fn loss(&self, w: &[f64]) -> f64 {
        self.value(w)
    }
    /// ∇φ_α, for every non-empty batch (one example); 0 for an empty one.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        match batch {
            Batch::Indices(&[]) => out.fill(0.0),
            _ => self.grad_into(w, out),
        }
    }
    /// diag(1/√(4αᵢ⁴ + βᵢ²)).
    fn hessian(&self, w: &[f64]) -> Option<Vec<f64>> {
        let d = self.dim();
        let mut diag = vec![0.0; d];
        self.hessian_diag_into(w, &mut diag);
        let mut h = vec![0.0; d * d];
        for (i, v) in diag.into_iter().enumerate() {
            h[i * d + i] = v;
        }
        Some(h)
    }
    /// β = individual smoothness = 1/(2 minᵢ αᵢ²) (the Hessian at 0; unknown if that
    /// overflows), L* = 0 at β = 0, σ² = 0 (one example); µ unknown (the curvature vanishes as
    /// |β| → ∞ and φ grows like |β| log|β|: not PL).
    fn constants(&self) -> Constants {
        let amin = self.alpha.iter().copied().fold(f64::INFINITY, f64::min);
        let beta = 1.0 / (2.0 * amin * amin);
        let beta = if beta.is_finite() {
            Const::Exact(beta)
        } else {
            Const::Unknown
        };
        Constants {
            smoothness: beta,
            individual_smoothness: beta,
            sigma2: Const::Exact(0.0),
            loss_min: Const::Exact(0.0),
            minimizer: Some(vec![0.0; self.dim()]),
            ..Constants::unknown()
        }
    }
    /// All ones.
    fn init(&self) -> Vec<f64> {
        vec![1.0; self.dim()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The textbook formula α² q(β/α²), fine at moderate values.
    fn naive(beta: f64, alpha: f64) -> f64 {
        let z = beta / (alpha * alpha);
        alpha * alpha * (2.0 - (4.0 + z * z).sqrt() + z * (z / 2.0).asinh())
    }

    fn one(alpha: f64) -> HyperbolicEntropy {
        HyperbolicEntropy::new(vec![alpha]).unwrap()
    }

    #[test]
    fn agrees_with_the_naive_formula_at_moderate_values() {
        let mut rng = crate::rng::stream(0, 0);
        for _ in 0..10_000 {
            let alpha = 10f64.powf(rng.random_range(-1.0..1.0));
            let beta = rng.random_range(-10.0..10.0) * alpha * alpha * rng.random_range(0.1..10.0);
            let (v, n) = (one(alpha).value(&[beta]), naive(beta, alpha));
            // The naive formula loses 2 − √(4 + z²) to cancellation at small z: compare only
            // where it is itself accurate.
            if (beta / (alpha * alpha)).abs() > 0.1 {
                assert!((v - n).abs() <= 1e-12 * n, "α={alpha} β={beta}: {v} vs {n}");
            }
            let mut g = [0.0];
            one(alpha).grad_into(&[beta], &mut g);
            let ng = (beta / (2.0 * alpha * alpha)).asinh();
            assert!((g[0] - ng).abs() <= 1e-14 * (1.0 + ng.abs()));
        }
    }

    #[test]
    fn finite_at_extreme_scales() {
        for alpha in [1e-6, 1e-150, 1e-200, 1e-300, 1.0, 1e100, 1e200] {
            let h = one(alpha);
            for beta in [0.0, 1e-300, -1e-12, 1e-3, -1.0, 1e6, -1e6, 1e300] {
                let v = h.value(&[beta]);
                let mut g = [0.0];
                h.grad_into(&[beta], &mut g);
                assert!(v.is_finite() && v >= 0.0, "α={alpha} β={beta}: {v}");
                assert!(g[0].is_finite(), "α={alpha} β={beta}: {}", g[0]);
                assert!(g[0] * beta >= 0.0);
            }
        }
        let mut hd = [0.0];
        one(1e-150).hessian_diag_into(&[1e6], &mut hd);
        assert!((hd[0] - 1e-6).abs() < 1e-20);
        one(1e-150).hessian_diag_into(&[0.0], &mut hd);
        assert!(hd[0].is_finite() && (hd[0] - 5e299).abs() < 1e285);
    }

    #[test]
    fn zero_at_origin_and_positive_elsewhere() {
        let h = HyperbolicEntropy::new(vec![0.01, 0.1, 1.0, 10.0]).unwrap();
        assert_eq!(h.value(&[0.0; 4]), 0.0);
        let mut rng = crate::rng::stream(1, 0);
        for _ in 0..10_000 {
            let b: Vec<f64> = (0..4)
                .map(|_| rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-8..7)))
                .collect();
            assert!(h.value(&b) > 0.0, "{b:?}");
        }
    }

    #[test]
    fn small_and_large_z_asymptotics() {
        // z → 0: α²q(β/α²) = β²/(4α²) − β⁴/(192α⁶) + …
        for (alpha, beta) in [(1.0, 1e-6), (1e-6, 1e-20), (3.0, -2e-6), (1e-150, 1e-302)] {
            let v = one(alpha).value(&[beta]);
            let z = beta / alpha / alpha;
            let approx = beta / alpha * (beta / alpha) / 4.0 * (1.0 - z * z / 48.0);
            assert!(
                (v - approx).abs() <= 1e-10 * approx,
                "α={alpha} β={beta}: {v} vs {approx}"
            );
        }
        // z → ∞: α²q(β/α²) = |β|(ln(|β|/α²) − 1) + 2α² + O(α⁶/β²).
        for (alpha, beta) in [(1e-6, 1e6), (1e-150, -1e6), (1e-3, 1e3)] {
            let v = one(alpha).value(&[beta]);
            let approx =
                beta.abs() * (beta.abs().ln() - 2.0 * f64::ln(alpha) - 1.0) + 2.0 * alpha * alpha;
            assert!(
                (v - approx).abs() <= 1e-14 * approx,
                "α={alpha} β={beta}: {v} vs {approx}"
            );
        }
    }

    #[test]
    fn continuous_across_the_log_domain_switch() {
        let alpha = 1e-3;
        let at = LOG_DOMAIN * 2.0 * alpha * alpha;
        let h = one(alpha);
        let (below, above) = (
            h.value(&[at * (1.0 - 1e-12)]),
            h.value(&[at * (1.0 + 1e-12)]),
        );
        assert!((above - below).abs() <= 1e-10 * below, "{below} vs {above}");
        let (mut g1, mut g2) = ([0.0], [0.0]);
        h.grad_into(&[at * (1.0 - 1e-12)], &mut g1);
        h.grad_into(&[at * (1.0 + 1e-12)], &mut g2);
        assert!((g1[0] - g2[0]).abs() <= 1e-12 * g1[0]);
    }

    #[test]
    fn constants_and_errors() {
        let h = HyperbolicEntropy::new(vec![0.5, 2.0]).unwrap();
        assert_eq!(h.constants().smoothness, Const::Exact(2.0));
        assert_eq!(one(1e-200).constants().smoothness, Const::Unknown);
        let field = |r: Result<HyperbolicEntropy>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(field(HyperbolicEntropy::new(vec![])), "alpha");
        assert_eq!(field(HyperbolicEntropy::new(vec![1.0, 0.0])), "alpha[1]");
        assert_eq!(field(HyperbolicEntropy::new(vec![f64::NAN])), "alpha[0]");
    }
}
