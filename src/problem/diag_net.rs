//! The diagonal linear network of af22 Eq. 5: w = (w₊, w₋) ∈ ℝ²ᵈ, β = w₊² − w₋² (elementwise),
//! L(w) = (1/(4n)) Σᵢ (⟨xᵢ, β⟩ − yᵢ)², so ℓᵢ = ¼ rᵢ²; initialization w₊ = w₋ = α. The full-batch
//! gradient computes the residuals of 32 examples at once (the examples as vector lanes, from a
//! padded copy of Xᵀ) on the widest vector unit the CPU has, bitwise what the per-example loop
//! gives.

use std::sync::OnceLock;

use ndarray::Array2;

use super::{Batch, Problem, dot};
use crate::data::RegressionData;
use crate::error::Result;

/// Examples per block of the full-batch gradient (its copy of Xᵀ pads each row to a multiple).
const BLOCK: usize = 32;

/// The diagonal linear network on a regression data set.
#[derive(Clone, Debug)]
pub struct DiagNet {
    x: Array2<f64>,
    /// Xᵀ with each row (a feature over the examples) zero-padded to a multiple of `BLOCK`.
    xt: Vec<f64>,
    /// X with each row (an example) zero-padded to a multiple of `BLOCK` features (read by the
    /// AVX-512 kernel).
    xp: Vec<f64>,
    y: Vec<f64>,
    x_test: Array2<f64>,
    y_test: Vec<f64>,
    alpha: Vec<f64>,
    /// XᵀX (d×d, row-major) then Xᵀy (d), built on first use by [`DiagNet::gram`].
    gram: OnceLock<Vec<f64>>,
}

impl DiagNet {
    /// The network on `data` with initialization scale `alpha` (length 1 for a scalar α, or d).
    pub fn new(data: &RegressionData, alpha: &[f64]) -> Result<Self> {
        let d = data.d();
        let alpha = super::hyperbolic::alpha_vector(alpha, d)?;
        let n = data.x.nrows();
        let (np, dp) = (n.next_multiple_of(BLOCK), d.next_multiple_of(BLOCK));
        let (mut xt, mut xp) = (vec![0.0; d * np], vec![0.0; n * dp]);
        for ((i, j), v) in data.x.indexed_iter() {
            xt[j * np + i] = *v;
            xp[i * dp + j] = *v;
        }
        Ok(DiagNet {
            x: data.x.as_standard_layout().into_owned(),
            xt,
            xp,
            y: data.y.clone(),
            x_test: data.x_test.as_standard_layout().into_owned(),
            y_test: data.y_test.clone(),
            alpha,
            gram: OnceLock::new(),
        })
    }

    /// Number of features d (the parameter vector has 2d entries).
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// The initialization scale α (length d).
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// The training design X (n×d).
    pub fn x(&self) -> &Array2<f64> {
        &self.x
    }

    /// Xᵀ as the full-batch gradient stores it: row j (feature j over the examples) at
    /// `j · stride`, zero-padded from n to `stride` entries; returns (the rows, stride).
    pub fn x_transposed(&self) -> (&[f64], usize) {
        (&self.xt, self.y.len().next_multiple_of(BLOCK))
    }

    /// The Gram matrix G = XᵀX (d×d, row-major) followed by c = Xᵀy (d entries), computed on
    /// the first call (d²n multiply-adds) and kept: the full-batch sum Σᵢ rᵢxᵢ is Gβ − c, which
    /// the batched engine's fused kernel uses when it is cheaper (d < 2n).
    pub fn gram(&self) -> &[f64] {
        self.gram.get_or_init(|| {
            let (x, d) = (&self.x, self.d());
            let mut g = vec![0.0; d * d + d];
            for (xi, yi) in x.rows().into_iter().zip(&self.y) {
                for (j, xij) in xi.iter().enumerate() {
                    let row = &mut g[j * d..(j + 1) * d];
                    for (gjk, xik) in row.iter_mut().zip(xi.iter()) {
                        *gjk += xij * xik;
                    }
                    g[d * d + j] += xij * yi;
                }
            }
            g
        })
    }

    /// The training targets y.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// β = w₊² − w₋² written into `beta` (length d).
    pub fn beta_into(&self, w: &[f64], beta: &mut [f64]) {
        let d = self.d();
        let (wp, wm) = w.split_at(d);
        for ((b, p), m) in beta.iter_mut().zip(wp).zip(wm) {
            *b = p * p - m * m;
        }
    }

    /// β = w₊² − w₋².
    pub fn beta(&self, w: &[f64]) -> Vec<f64> {
        let mut b = vec![0.0; self.d()];
        self.beta_into(w, &mut b);
        b
    }

    fn row(&self, i: usize) -> &[f64] {
        let d = self.d();
        &self.x.as_slice().expect("standard layout")[i * d..(i + 1) * d]
    }

    /// Residual rᵢ = ⟨xᵢ, β⟩ − yᵢ computed from w directly.
    fn residual(&self, i: usize, w: &[f64]) -> f64 {
        let d = self.d();
        let (wp, wm) = w.split_at(d);
        let xi = self.row(i);
        let mut s = 0.0;
        for j in 0..d {
            s += xi[j] * (wp[j] * wp[j] - wm[j] * wm[j]);
        }
        s - self.y[i]
    }

    /// The full-batch sum s = Σᵢ rᵢxᵢ into `s` (length d), given β: bitwise what the per-example
    /// loop computes (rᵢ = `dot`(xᵢ, β) − yᵢ with `dot`'s four partial sums, then s += rᵢxᵢ for
    /// i = 0, 1, …), but with the dot products of `BLOCK` examples at once: their partial sums run
    /// over the examples as vector lanes (from the padded Xᵀ), so no loop carries a short
    /// reduction. (The AVX-512 kernel also keeps s in registers, reading the padded X.)
    #[inline(always)]
    fn full_residual_sum(&self, beta: &[f64], s: &mut [f64]) {
        let (d, n) = (self.d(), self.y.len());
        let (np, full) = (n.next_multiple_of(BLOCK), d / 4 * 4);
        let x = self.x.as_slice().expect("standard layout");
        s.fill(0.0);
        let (mut r, mut acc) = ([0.0f64; BLOCK], [0.0f64; 4 * BLOCK]);
        for c0 in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - c0);
            let col = |j: usize| &self.xt[j * np + c0..j * np + c0 + len];
            let acc = &mut acc[..4 * len];
            acc.fill(0.0);
            for j0 in (0..full).step_by(4) {
                for (k, a) in acc.chunks_exact_mut(len).enumerate() {
                    let b = beta[j0 + k];
                    for (a, x) in a.iter_mut().zip(col(j0 + k)) {
                        *a += x * b;
                    }
                }
            }
            let (a01, a23) = acc.split_at(2 * len);
            let (a0, a1) = a01.split_at(len);
            let (a2, a3) = a23.split_at(len);
            for ((((r, a0), a1), a2), a3) in r.iter_mut().zip(a0).zip(a1).zip(a2).zip(a3) {
                *r = (a0 + a1) + (a2 + a3);
            }
            for (j, b) in beta.iter().enumerate().skip(full) {
                for (r, x) in r[..len].iter_mut().zip(col(j)) {
                    *r += x * b;
                }
            }
            for (rl, y) in r[..len].iter_mut().zip(&self.y[c0..c0 + len]) {
                *rl -= y;
            }
            for (i, ri) in r[..len].iter().enumerate() {
                let xi = &x[(c0 + i) * d..(c0 + i + 1) * d];
                for (sj, xj) in s.iter_mut().zip(xi) {
                    *sj += ri * xj;
                }
            }
        }
    }

    /// [`DiagNet::full_residual_sum`] on the widest vector unit the CPU has (AVX-512: the
    /// hand-vectorized `avx512::residual_sum`); no fused multiply-add, so every instruction set
    /// gives the same bits.
    fn residual_sum(&self, beta: &[f64], s: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,avx")]
            unsafe fn avx2(net: &DiagNet, beta: &[f64], s: &mut [f64]) {
                net.full_residual_sum(beta, s)
            }
            match crate::batch::Isa::detected() {
                // SAFETY: the CPU has the features the functions are compiled for (checked).
                "avx512" => return unsafe { avx512::residual_sum(self, beta, s) },
                "avx2" => return unsafe { avx2(self, beta, s) },
                _ => {}
            }
        }
        self.full_residual_sum(beta, s)
    }

    /// Mean squared residual on the test set (NaN when there is no test set).
    pub fn test_mse(&self, w: &[f64]) -> f64 {
        let beta = self.beta(w);
        let m = self.x_test.nrows();
        let mut s = 0.0;
        for (row, y) in self.x_test.rows().into_iter().zip(&self.y_test) {
            let r = dot(row.to_slice().expect("standard layout"), &beta) - y;
            s += r * r;
        }
        s / m as f64
    }
}

impl Problem for DiagNet {
    fn name(&self) -> &str {
        "diag-net"
    }
    fn dim(&self) -> usize {
        2 * self.d()
    }
    fn n_examples(&self) -> usize {
        self.x.nrows()
    }
    fn example_loss(&self, i: usize, w: &[f64]) -> f64 {
        let r = self.residual(i, w);
        0.25 * r * r
    }
    fn batch_grad(&self, w: &[f64], batch: Batch<'_>, out: &mut [f64]) {
        // out[..d] holds β while out[d..] accumulates s = Σ rᵢ xᵢ; then ∇ = (w₊ ⊙ s, −w₋ ⊙ s)/|I|.
        let d = self.d();
        let x = self.x.as_slice().expect("standard layout");
        let (beta, s) = out.split_at_mut(d);
        self.beta_into(w, beta);
        s.fill(0.0);
        let one = |i: usize, beta: &[f64], s: &mut [f64]| {
            let xi = &x[i * d..(i + 1) * d];
            let r = dot(xi, beta) - self.y[i];
            for (sj, xj) in s.iter_mut().zip(xi) {
                *sj += r * xj;
            }
        };
        let m = match batch {
            Batch::All => {
                self.residual_sum(beta, s);
                self.n_examples()
            }
            Batch::Indices(ix) => {
                ix.iter().for_each(|&i| one(i, beta, s));
                ix.len()
            }
        };
        let c = if m == 0 { 0.0 } else { 1.0 / m as f64 };
        let (wp, wm) = w.split_at(d);
        for j in 0..d {
            let sj = c * s[j];
            beta[j] = wp[j] * sj;
            s[j] = -wm[j] * sj;
        }
    }
    fn example_grad(&self, i: usize, w: &[f64], out: &mut [f64]) {
        // ∇ℓᵢ = rᵢ (xᵢ ⊙ w₊, −xᵢ ⊙ w₋): one pass for rᵢ, one for the gradient. The same arithmetic
        // as `batch_grad` on the one-element batch [i], so both give the same values.
        let d = self.d();
        let xi = self.row(i);
        let (gp, gm) = out.split_at_mut(d);
        self.beta_into(w, gp);
        let r = dot(xi, gp) - self.y[i];
        let (wp, wm) = w.split_at(d);
        for j in 0..d {
            let sj = r * xi[j];
            gp[j] = wp[j] * sj;
            gm[j] = -wm[j] * sj;
        }
    }
    fn test_metric(&self, w: &[f64]) -> Option<f64> {
        (self.x_test.nrows() > 0).then(|| self.test_mse(w))
    }
    fn test_metric_name(&self) -> &str {
        "test_mse"
    }
    fn readout(&self, w: &[f64]) -> Option<(&'static str, Vec<f64>)> {
        Some(("beta", self.beta(w)))
    }
    fn init(&self) -> Vec<f64> {
        [self.alpha.as_slice(), self.alpha.as_slice()].concat()
    }
}

/// The full-batch residual sum with AVX-512 intrinsics: the operations of
/// `DiagNet::full_residual_sum` lane by lane (a multiply, then an add; no FMA), with the partial
/// sums of the dot products and the accumulators of s held in registers.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{BLOCK, DiagNet};

    /// rₗ = `dot`(x_{c0+l}, β) for the lanes l < 8V of the block at c0 (dot's four partial sums,
    /// then the remainder), from the padded Xᵀ (row stride `np`).
    #[target_feature(enable = "avx512f")]
    unsafe fn residuals<const V: usize>(
        xt: &[f64],
        np: usize,
        c0: usize,
        beta: &[f64],
        r: &mut [f64; BLOCK],
    ) {
        // SAFETY: the loads read lanes c0..c0 + 8V ≤ np of rows j < d of the padded Xᵀ
        // (d·np entries, checked by the caller), and the stores write r's first 8V ≤ 32 entries.
        unsafe {
            let (d, full) = (beta.len(), beta.len() / 4 * 4);
            debug_assert!(xt.len() >= (d.max(1) - 1) * np + c0 + 8 * V);
            let base = xt.as_ptr().add(c0);
            let mut acc = [[_mm512_setzero_pd(); V]; 4];
            for j0 in (0..full).step_by(4) {
                for (k, a) in acc.iter_mut().enumerate() {
                    let b = _mm512_set1_pd(beta[j0 + k]);
                    let p = base.add((j0 + k) * np);
                    for (v, av) in a.iter_mut().enumerate() {
                        *av = _mm512_add_pd(*av, _mm512_mul_pd(_mm512_loadu_pd(p.add(8 * v)), b));
                    }
                }
            }
            let [a0, a1, a2, a3] = acc;
            for (v, (((a0, a1), a2), a3)) in a0.into_iter().zip(a1).zip(a2).zip(a3).enumerate() {
                let (a01, a23) = (_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
                let mut t = _mm512_add_pd(a01, a23);
                for (j, &bj) in beta.iter().enumerate().skip(full) {
                    let x = _mm512_loadu_pd(base.add(j * np + 8 * v));
                    t = _mm512_add_pd(t, _mm512_mul_pd(x, _mm512_set1_pd(bj)));
                }
                _mm512_storeu_pd(r.as_mut_ptr().add(8 * v), t);
            }
        }
    }

    /// The lanes of a vector that hold features below `left` (all eight when `left` ≥ 8).
    fn mask(left: usize) -> __mmask8 {
        if left >= 8 { 0xff } else { (1u8 << left) - 1 }
    }

    /// s += rᵢ x_{c0+i} for i = 0, 1, … < r.len(), 32 features at a time in four registers, from
    /// the padded X (row stride `dp`, a multiple of 32).
    #[target_feature(enable = "avx512f")]
    unsafe fn accumulate(xp: &[f64], dp: usize, c0: usize, r: &[f64], s: &mut [f64]) {
        // SAFETY: the loads read features jb..jb + 32 ≤ dp of rows c0 + i < n of the padded X
        // (n·dp entries, checked by the caller); s is read and written only below d, by mask.
        unsafe {
            let d = s.len();
            debug_assert!(xp.len() >= (c0 + r.len()) * dp && dp.is_multiple_of(BLOCK));
            for jb in (0..d).step_by(BLOCK) {
                let mut a = [_mm512_setzero_pd(); 4];
                for (v, av) in a.iter_mut().enumerate() {
                    let j = jb + 8 * v;
                    if j < d {
                        *av = _mm512_maskz_loadu_pd(mask(d - j), s.as_ptr().add(j));
                    }
                }
                for (i, &ri) in r.iter().enumerate() {
                    let rb = _mm512_set1_pd(ri);
                    let p = xp.as_ptr().add((c0 + i) * dp + jb);
                    for (v, av) in a.iter_mut().enumerate() {
                        *av = _mm512_add_pd(*av, _mm512_mul_pd(rb, _mm512_loadu_pd(p.add(8 * v))));
                    }
                }
                for (v, av) in a.iter().enumerate() {
                    let j = jb + 8 * v;
                    if j < d {
                        _mm512_mask_storeu_pd(s.as_mut_ptr().add(j), mask(d - j), *av);
                    }
                }
            }
        }
    }

    /// s = Σᵢ rᵢxᵢ with rᵢ = `dot`(xᵢ, β) − yᵢ, bitwise `DiagNet::full_residual_sum`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn residual_sum(net: &DiagNet, beta: &[f64], s: &mut [f64]) {
        let (d, n) = (beta.len(), net.y.len());
        assert!(s.len() == d && net.xt.len() == d * n.next_multiple_of(BLOCK));
        assert!(net.xp.len() == n * d.next_multiple_of(BLOCK));
        // SAFETY: AVX-512F is present (the caller's contract) and the padded copies have the
        // sizes the kernels read (asserted above).
        unsafe {
            let (np, dp) = (n.next_multiple_of(BLOCK), d.next_multiple_of(BLOCK));
            s.fill(0.0);
            let mut r = [0.0f64; BLOCK];
            for c0 in (0..n).step_by(BLOCK) {
                let len = BLOCK.min(n - c0);
                match len.div_ceil(8) {
                    1 => residuals::<1>(&net.xt, np, c0, beta, &mut r),
                    2 => residuals::<2>(&net.xt, np, c0, beta, &mut r),
                    3 => residuals::<3>(&net.xt, np, c0, beta, &mut r),
                    _ => residuals::<4>(&net.xt, np, c0, beta, &mut r),
                }
                for (rl, y) in r[..len].iter_mut().zip(&net.y[c0..c0 + len]) {
                    *rl -= y;
                }
                accumulate(&net.xp, dp, c0, &r[..len], s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::RegressionData;

    /// The blocked full-batch sum (on this CPU's widest vector unit and on the baseline) is
    /// bitwise the per-example loop: rᵢ = `dot`(xᵢ, β) − yᵢ, s += rᵢxᵢ for i = 0, 1, …; sizes
    /// with several blocks of examples, a partial block, and d below, at and above four.
    #[test]
    fn blocked_residual_sum_is_the_per_example_loop() {
        for (d, n) in [(30, 20), (3, 5), (13, 70), (1, 1), (8, 32), (41, 33)] {
            let data = RegressionData::generate_sparse(d, n, 1.min(d), 0, 7).unwrap();
            let net = DiagNet::new(&data, &[0.1]).unwrap();
            let beta: Vec<f64> = (0..d).map(|j| ((j as f64 + 0.3) * 1.7).sin()).collect();
            let x = net.x.as_slice().unwrap();
            let mut want = vec![0.0; d];
            for i in 0..n {
                let xi = &x[i * d..(i + 1) * d];
                let r = dot(xi, &beta) - net.y[i];
                for (s, xj) in want.iter_mut().zip(xi) {
                    *s += r * xj;
                }
            }
            let (mut wide, mut base) = (vec![1.0; d], vec![1.0; d]);
            net.residual_sum(&beta, &mut wide);
            net.full_residual_sum(&beta, &mut base);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&wide), bits(&want), "d = {d}, n = {n} (dispatched)");
            assert_eq!(bits(&base), bits(&want), "d = {d}, n = {n} (baseline)");
        }
    }

    /// `gram` is (XᵀX, Xᵀy): Gβ − c is the full-batch sum Σᵢ rᵢxᵢ within 1e-13 of its scale.
    #[test]
    fn gram_gives_the_residual_sum() {
        for (d, n) in [(30, 20), (13, 23), (1, 3)] {
            let data = RegressionData::generate_sparse(d, n, 1, 0, 5).unwrap();
            let net = DiagNet::new(&data, &[0.1]).unwrap();
            let beta: Vec<f64> = (0..d).map(|j| ((j as f64 + 0.3) * 1.7).sin()).collect();
            let mut want = vec![0.0; d];
            net.residual_sum(&beta, &mut want);
            let g = net.gram();
            assert_eq!(g.len(), d * d + d);
            let scale = want.iter().fold(1.0f64, |a, v| a.max(v.abs()));
            for (j, w) in want.iter().enumerate() {
                let got = dot(&g[j * d..(j + 1) * d], &beta) - g[d * d + j];
                assert!(
                    (got - w).abs() <= 1e-13 * scale,
                    "d = {d}, n = {n}, j = {j}"
                );
                assert_eq!(
                    g[j * d..(j + 1) * d].to_vec(),
                    (0..d).map(|k| g[k * d + j]).collect::<Vec<_>>()
                );
            }
        }
    }
}
