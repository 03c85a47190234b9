//! The ssam24 linear autoencoder ½‖W₂W₁ − I_d‖²_F with W₁, W₂ ∈ ℝ^{d×d} (one example, data-free):
//! a saddle at 0 and global minima L* = 0 on {W₂W₁ = I}; params are W₁ then W₂, row-major.

use rand_distr::{Distribution, StandardNormal};

use super::{Batch, Const, Constants, Problem};

/// The linear autoencoder ½‖W₂W₁ − I_d‖²_F, params = (W₁ row-major, W₂ row-major), p = 2d².
#[derive(Clone, Copy, Debug)]
pub struct LinearAutoencoder {
    d: usize,
}

impl LinearAutoencoder {
    /// The autoencoder of width `d` (d = 0 gives the empty problem, p = 0, L = 0).
    pub fn new(d: usize) -> Self {
        LinearAutoencoder { d }
    }

    /// The width d.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Parameters with entries std·zₖ, zₖ ~ N(0, 1) drawn in order (W₁ then W₂, row-major) from
    /// stream 0 of `seed`: N(0, std²) entries (the caller validates `std` as finite, ≥ 0).
    pub fn init_random(&self, std: f64, seed: u64) -> Vec<f64> {
        let mut rng = crate::rng::stream(seed, 0);
        (0..2 * self.d * self.d)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                std * z
            })
            .collect()
    }

    /// E_ab = Σ_c W₂[a,c] W₁[c,b] − δ_ab.
    #[inline]
    fn residual(&self, w1: &[f64], w2: &[f64], a: usize, b: usize) -> f64 {
        let d = self.d;
        let row = &w2[a * d..(a + 1) * d];
        let mut s = 0.0;
        for (c, r) in row.iter().enumerate() {
            s += r * w1[c * d + b];
        }
        if a == b { s - 1.0 } else { s }
    }
}

impl Problem for LinearAutoencoder {
    fn name(&self) -> &str {
        "autoencoder"
    }
    fn dim(&self) -> usize {
        2 * self.d * self.d
    }
    fn n_examples(&self) -> usize {
        1
    }
    fn example_loss(&self, _i: usize, w: &[f64]) -> f64 {
        self.loss(w)
    }
    fn loss(&self, w: &[f64]) -> f64 {
        let d = self.d;
        let (w1, w2) = w.split_at(d * d);
        let mut s = 0.0;
        for a in 0..d {
            for b in 0..d {
                let e = self.residual(w1, w2, a, b);
                s += e * e;
            }
        }
        0.5 * s
    }
    /// ∇W₁ = W₂ᵀE, ∇W₂ = E W₁ᵀ with E = W₂W₁ − I, accumulated entry by entry of E (no scratch),
    /// for every non-empty batch (one example); 0 for an empty one.
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        let d = self.d;
        let (w1, w2) = w.split_at(d * d);
        out.fill(0.0);
        if let Batch::Indices(&[]) = batch {
            return;
        }
        let (g1, g2) = out.split_at_mut(d * d);
        for a in 0..d {
            let w2a = &w2[a * d..(a + 1) * d];
            for b in 0..d {
                let e = self.residual(w1, w2, a, b);
                let g2a = &mut g2[a * d..(a + 1) * d];
                for c in 0..d {
                    g1[c * d + b] += w2a[c] * e;
                    g2a[c] += e * w1[c * d + b];
                }
            }
        }
    }
    /// L* = 0, attained at W₁ = W₂ = I; σ² = 0 (one example); β, µ unknown.
    fn constants(&self) -> Constants {
        let d = self.d;
        let mut eye = vec![0.0; 2 * d * d];
        for k in 0..d {
            eye[k * d + k] = 1.0;
            eye[d * d + k * d + k] = 1.0;
        }
        Constants {
            sigma2: Const::Exact(0.0),
            loss_min: Const::Exact(0.0),
            minimizer: Some(eye),
            ..Constants::unknown()
        }
    }
    /// [`LinearAutoencoder::init_random`] with std 0.01 and seed 0 (the ssam24 Fig. 1 scale).
    fn init(&self) -> Vec<f64> {
        self.init_random(0.01, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_at_known_points() {
        let ae = LinearAutoencoder::new(3);
        assert_eq!(ae.loss(&[0.0; 18]), 1.5);
        let c = ae.constants();
        let eye = c.minimizer.unwrap();
        assert_eq!(ae.loss(&eye), 0.0);
        let mut g = vec![1.0; 18];
        ae.grad(&eye, &mut g);
        assert!(g.iter().all(|v| *v == 0.0));
        ae.grad(&[0.0; 18], &mut g);
        assert!(g.iter().all(|v| *v == 0.0), "0 is a critical point");
    }

    #[test]
    fn gradient_matches_matrix_formula() {
        let d = 4;
        let ae = LinearAutoencoder::new(d);
        let w = ae.init_random(0.7, 5);
        let (w1, w2) = w.split_at(d * d);
        let m = |v: &[f64]| ndarray::Array2::from_shape_vec((d, d), v.to_vec()).unwrap();
        let (m1, m2) = (m(w1), m(w2));
        let e = m2.dot(&m1) - ndarray::Array2::<f64>::eye(d);
        let g1 = m2.t().dot(&e);
        let g2 = e.dot(&m1.t());
        let mut g = vec![0.0; 2 * d * d];
        ae.grad(&w, &mut g);
        for (x, y) in g.iter().zip(g1.iter().chain(g2.iter())) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!((ae.loss(&w) - 0.5 * e.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn init_is_small_and_deterministic() {
        let ae = LinearAutoencoder::new(20);
        let w = ae.init();
        assert_eq!(w.len(), 800);
        let sd = (w.iter().map(|v| v * v).sum::<f64>() / 800.0).sqrt();
        assert!((sd - 0.01).abs() < 0.002, "{sd}");
        assert_eq!(w, ae.init_random(0.01, 0));
        let empty = LinearAutoencoder::new(0);
        assert_eq!((empty.dim(), empty.loss(&[])), (0, 0.0));
    }
}
