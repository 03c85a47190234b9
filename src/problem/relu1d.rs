//! The one-hidden-layer ReLU network of af22 Fig. 7 on 1-D regression data,
//! f(x) = Σₖ vₖ relu(wₖx + bₖ), params = (w, b, v) each of length m, and the paper's loss
//! ½ Σᵢ (f(xᵢ) − yᵢ)² (a sum), written as L = (1/n) Σᵢ ℓᵢ with ℓᵢ = (n/2) rᵢ².

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{Batch, Const, Constants, Problem};
use crate::error::{Error, Result, finite};

/// Hidden-weight magnitude of the af22 Fig. 7 initialization (weights are ±2.5).
pub const AF22_HIDDEN_WEIGHT: f64 = 2.5;
/// Standard deviation of the hidden biases at initialization.
pub const AF22_BIAS_STD: f64 = 2.5;
/// Standard deviation of the output weights at initialization.
pub const AF22_OUTPUT_STD: f64 = 4.0;

/// A width-m ReLU network on 1-D data (xs, ys), with the loss ½ Σᵢ rᵢ², rᵢ = f(xᵢ) − yᵢ.
///
/// So that L = (1/n) Σᵢ ℓᵢ equals the paper's sum, ℓᵢ = (n/2) rᵢ² (n times the usual per-example
/// loss). At a kink (wₖxᵢ + bₖ = 0) the derivative of relu is taken as 0.
#[derive(Clone, Debug)]
pub struct Relu1d {
    xs: Vec<f64>,
    ys: Vec<f64>,
    m: usize,
}

impl Relu1d {
    /// The network of width `m` on the points (xs, ys) (equal lengths ≥ 1, finite). Width 0 is
    /// the empty network f = 0 (p = 0).
    pub fn new(xs: Vec<f64>, ys: Vec<f64>, m: usize) -> Result<Self> {
        if xs.is_empty() {
            return Err(Error::invalid("xs", "must have at least one point"));
        }
        if ys.len() != xs.len() {
            return Err(Error::invalid(
                "ys",
                format!("has {} values, expected {} (as xs)", ys.len(), xs.len()),
            ));
        }
        for (i, v) in xs.iter().enumerate() {
            finite(&format!("xs[{i}]"), *v)?;
        }
        for (i, v) in ys.iter().enumerate() {
            finite(&format!("ys[{i}]"), *v)?;
        }
        Ok(Relu1d { xs, ys, m })
    }

    /// The af22 Fig. 7 data: xs = linspace(−5.5, 5.5, 12)/4 + 0.07,
    /// ys = 0.345 + [−2, 1.5, 0, 0, 2, 1, 0, −1, 0, 1, 2, −1], with `m` hidden units (100 there).
    pub fn af22_fig7(m: usize) -> Self {
        let xs = (0..12).map(|k| (-5.5 + k as f64) / 4.0 + 0.07).collect();
        let ys = [
            -2.0, 1.5, 0.0, 0.0, 2.0, 1.0, 0.0, -1.0, 0.0, 1.0, 2.0, -1.0,
        ]
        .iter()
        .map(|y| 0.345 + y)
        .collect();
        Relu1d { xs, ys, m }
    }

    /// Number of hidden units m.
    pub fn width(&self) -> usize {
        self.m
    }

    /// The inputs xᵢ.
    pub fn xs(&self) -> &[f64] {
        &self.xs
    }

    /// The targets yᵢ.
    pub fn ys(&self) -> &[f64] {
        &self.ys
    }

    /// The af22 Fig. 7 initialization, from stream 0 of `seed`, drawn in this order: m signs of
    /// the hidden weights (±[`AF22_HIDDEN_WEIGHT`]), m biases N(0, [`AF22_BIAS_STD`]²), m output
    /// weights N(0, [`AF22_OUTPUT_STD`]²).
    pub fn init_random(&self, seed: u64) -> Vec<f64> {
        let m = self.m;
        let mut rng = crate::rng::stream(seed, 0);
        let mut w = vec![0.0; 3 * m];
        for wk in w.iter_mut().take(m) {
            *wk = if rng.random::<bool>() {
                AF22_HIDDEN_WEIGHT
            } else {
                -AF22_HIDDEN_WEIGHT
            };
        }
        for k in 0..m {
            let z: f64 = StandardNormal.sample(&mut rng);
            w[m + k] = AF22_BIAS_STD * z;
        }
        for k in 0..m {
            let z: f64 = StandardNormal.sample(&mut rng);
            w[2 * m + k] = AF22_OUTPUT_STD * z;
        }
        w
    }

    /// The network output f(x) at parameters `w`.
    #[inline]
    pub fn output(&self, w: &[f64], x: f64) -> f64 {
        let m = self.m;
        let (wh, rest) = w.split_at(m);
        let (b, v) = rest.split_at(m);
        let mut f = 0.0;
        for k in 0..m {
            let z = wh[k] * x + b[k];
            if z > 0.0 {
                f += v[k] * z;
            }
        }
        f
    }

    /// The kinks −bₖ/wₖ of the learned function, for every unit with wₖ ≠ 0 (in unit order).
    pub fn kinks(&self, w: &[f64]) -> Vec<f64> {
        let m = self.m;
        (0..m)
            .filter(|&k| w[k] != 0.0)
            .map(|k| -w[m + k] / w[k])
            .collect()
    }

    /// True when the xs are pairwise distinct.
    fn distinct_inputs(&self) -> bool {
        let mut s = self.xs.clone();
        s.sort_by(f64::total_cmp);
        s.windows(2).all(|p| p[0] != p[1])
    }
}

impl Problem for Relu1d {
    fn name(&self) -> &str {
        "relu1d"
    }
    fn dim(&self) -> usize {
        3 * self.m
    }
    fn n_examples(&self) -> usize {
        self.xs.len()
    }
    /// (n/2) rᵢ².
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        let r = self.output(w, self.xs[i]) - self.ys[i];
        0.5 * self.xs.len() as f64 * r * r
    }
    /// ½ Σᵢ rᵢ².
    fn loss(&self, w: &[f64]) -> f64 {
        let s: f64 = (0..self.xs.len())
            .map(|i| {
                let r = self.output(w, self.xs[i]) - self.ys[i];
                r * r
            })
            .sum();
        0.5 * s
    }
    /// (n/|I|) Σ_{i∈I} rᵢ ∇f(xᵢ): per example one pass over the units for rᵢ and one to
    /// accumulate (relu'(0) = 0). An empty batch gives 0.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        let m = self.m;
        let n = self.xs.len();
        out.fill(0.0);
        let len = batch.len(n);
        if len == 0 {
            return;
        }
        let scale = n as f64 / len as f64;
        let (wh, rest) = w.split_at(m);
        let (b, v) = rest.split_at(m);
        let (gw, grest) = out.split_at_mut(m);
        let (gb, gv) = grest.split_at_mut(m);
        let mut acc = |i: usize| {
            let x = self.xs[i];
            let c = scale * (self.output(w, x) - self.ys[i]);
            for k in 0..m {
                let z = wh[k] * x + b[k];
                if z > 0.0 {
                    let cv = c * v[k];
                    gw[k] += cv * x;
                    gb[k] += cv;
                    gv[k] += c * z;
                }
            }
        };
        match batch {
            Batch::All => (0..n).for_each(&mut acc),
            Batch::Indices(ix) => ix.iter().copied().for_each(&mut acc),
        }
    }
    /// L* = 0 when m ≥ n and the xᵢ are distinct (a constant unit, a linear unit and n − 2
    /// kinks interpolate any data); everything else unknown (L is not smooth).
    fn constants(&self) -> Constants {
        let interpolates = self.m >= self.xs.len() && self.distinct_inputs();
        Constants {
            loss_min: if interpolates {
                Const::Exact(0.0)
            } else {
                Const::Unknown
            },
            ..Constants::unknown()
        }
    }
    /// The kinks (see [`Relu1d::kinks`]).
    fn readout(&self, w: &[f64]) -> Option<(&'static str, Vec<f64>)> {
        Some(("kinks", self.kinks(w)))
    }
    /// [`Relu1d::init_random`] with seed 0.
    fn init(&self) -> Vec<f64> {
        self.init_random(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fig7_data_and_init() {
        let net = Relu1d::af22_fig7(100);
        assert_eq!(net.n_examples(), 12);
        assert!((net.xs()[0] - (-5.5 / 4.0 + 0.07)).abs() < 1e-15);
        assert!((net.xs()[11] - (5.5 / 4.0 + 0.07)).abs() < 1e-15);
        assert!((net.ys()[1] - 1.845).abs() < 1e-15);
        let w = net.init();
        assert_eq!(w.len(), 300);
        assert!(w[..100].iter().all(|v| v.abs() == 2.5));
        assert!(w[..100].iter().any(|v| *v > 0.0) && w[..100].iter().any(|v| *v < 0.0));
        assert_eq!(w, net.init_random(0));
        assert_ne!(w, net.init_random(1));
        assert_eq!(net.kinks(&w).len(), 100);
        assert_eq!(net.constants().loss_min, Const::Exact(0.0));
        assert_eq!(Relu1d::af22_fig7(5).constants().loss_min, Const::Unknown);
        let empty = Relu1d::af22_fig7(0);
        assert_eq!(empty.dim(), 0);
        let sq: f64 = empty.ys().iter().map(|y| y * y).sum();
        assert!((empty.loss(&[]) - 0.5 * sq).abs() < 1e-14);
    }

    #[test]
    fn loss_is_the_papers_sum() {
        let net = Relu1d::new(vec![0.0, 1.0, 2.0], vec![1.0, 0.0, -1.0], 2).unwrap();
        // f(x) = 1·relu(x + 1) + 0 → residuals (0, 2, 4): ½(0 + 4 + 16) = 10.
        let w = [1.0, 1.0, 1.0, -5.0, 1.0, 0.0];
        assert_eq!(net.loss(&w), 10.0);
        let mean = (0..3).map(|i| net.example_loss(i, &w)).sum::<f64>() / 3.0;
        assert!((mean - 10.0).abs() < 1e-14);
        assert_eq!(net.kinks(&w), vec![-1.0, 5.0]);
        assert_eq!(net.kinks(&[0.0, 1.0, 1.0, -5.0, 1.0, 0.0]), vec![5.0]);
    }

    #[test]
    fn interpolation_construction_reaches_zero() {
        // The construction behind L* = 0 for m ≥ n: constant + linear + n − 2 kinks.
        let net = Relu1d::af22_fig7(12);
        let (xs, ys) = (net.xs(), net.ys());
        let n = xs.len();
        let s: Vec<f64> = (0..n - 1)
            .map(|j| (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]))
            .collect();
        let mut w = vec![0.0; 3 * n];
        // Unit 0: relu(0·x + 1) = 1, weight y₁ − s₁.
        w[n] = 1.0;
        w[2 * n] = ys[0] - s[0];
        // Unit 1: relu(x − x₁ + 1), weight s₁.
        w[1] = 1.0;
        w[n + 1] = 1.0 - xs[0];
        w[2 * n + 1] = s[0];
        // Units 2..n−1: relu(x − x_j), weight s_j − s_{j−1}.
        for j in 1..n - 1 {
            w[j + 1] = 1.0;
            w[n + j + 1] = -xs[j];
            w[2 * n + j + 1] = s[j] - s[j - 1];
        }
        assert!(net.loss(&w) < 1e-25, "{}", net.loss(&w));
    }

    #[test]
    fn rejects_bad_input() {
        let field = |r: Result<Relu1d>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(field(Relu1d::new(vec![], vec![], 3)), "xs");
        assert_eq!(field(Relu1d::new(vec![1.0], vec![], 3)), "ys");
        assert_eq!(field(Relu1d::new(vec![f64::NAN], vec![1.0], 3)), "xs[0]");
    }
}
