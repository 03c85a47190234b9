//! Lane gradients of the problems the batched engine runs: the quartic saddle, the quadratic
//! family (full batch) and the diagonal network (full batch, and per example for 1-SAM). Each
//! performs, lane by lane, exactly the floating-point operations of the problem's own
//! `batch_grad` (or `example_grad`), in the same order, so a lane's gradient is bitwise the
//! single-trajectory gradient; the loops run over the contiguous lanes of one coordinate, which
//! the compiler vectorizes, and the diagonal network's full-batch gradient has an AVX-512
//! intrinsics kernel for 8 lanes at a time with its accumulators in registers (with an opt-in
//! variant that fuses its multiply-adds in its own order and, when d < 2n, sums through the Gram
//! matrix XᵀX, [`super::BatchConfig::fma`], and one that takes a step
//! `base − c·∇` in its output stage, [`LaneProblem::grad_step_lanes`]), as has its noise-free 1-SAM
//! direction, which reuses the full-batch residuals and keeps each ascent point in L1.

use super::{LaneProblem, StepInto, lane_dot, step_rows};
use crate::problem::{DiagNet, Problem, Quadratic, QuarticSaddle};

impl LaneProblem for QuarticSaddle {
    fn dim(&self) -> usize {
        2
    }
    /// ∇f = (x₁³ − x₂, x₂ − x₁), lane by lane ([`LaneProblem::grad2`] at each lane).
    #[inline(always)]
    fn grad_lanes(&self, x: &[f64], width: usize, live: usize, out: &mut [f64], _: &mut [f64]) {
        let (x1, x2) = (&x[..live], &x[width..width + live]);
        let (g1, g2) = out.split_at_mut(width);
        for (((g1, g2), a), b) in g1[..live].iter_mut().zip(&mut g2[..live]).zip(x1).zip(x2) {
            (*g1, *g2) = self.grad2(*a, *b);
        }
    }
    fn pointwise2(&self) -> bool {
        true
    }
    /// ∇f = (x₁³ − x₂, x₂ − x₁).
    #[inline(always)]
    fn grad2(&self, a: f64, b: f64) -> (f64, f64) {
        (a * a * a - b, b - a)
    }
}

impl LaneProblem for Quadratic {
    fn dim(&self) -> usize {
        Problem::dim(self)
    }
    /// A(w − c̄): row r accumulates Σ_q A_rq (w_q − c̄_q) in the order q = 0, 1, … as
    /// `Quadratic::batch_grad` does for the full batch.
    #[inline(always)]
    fn grad_lanes(&self, x: &[f64], width: usize, live: usize, out: &mut [f64], _: &mut [f64]) {
        let p = Problem::dim(self);
        let (a, cm) = (self.a(), self.center_mean());
        for r in 0..p {
            let o = &mut out[r * width..r * width + live];
            o.fill(0.0);
            for q in 0..p {
                let (arq, cq) = (a[r * p + q], cm[q]);
                let xq = &x[q * width..q * width + live];
                for (ol, xl) in o.iter_mut().zip(xq) {
                    *ol += arq * (xl - cq);
                }
            }
        }
    }
}

/// The step of a plain gradient (never read: `STEP` is false).
const NO_STEP: StepInto<'static> = StepInto {
    base: &[],
    coef: &[],
    bound: f64::INFINITY,
    fma: false,
};

impl LaneProblem for DiagNet {
    fn dim(&self) -> usize {
        Problem::dim(self)
    }
    /// β = w₊² − w₋² (d lanes rows), the dot products ⟨xᵢ, β⟩ in `dot`'s order, s = Σᵢ rᵢxᵢ, then
    /// ∇ = (w₊ ⊙ s, −w₋ ⊙ s)/n, as `DiagNet::batch_grad` on the full batch. On a CPU with
    /// AVX-512, whole chunks of 8 lanes go through the register-tiled kernel `avx512::chunk`
    /// (picked at run time like `DiagNet::batch_grad`'s own kernel, whatever the engine's
    /// [`super::Isa`]); the other lanes through the lane loop `diag_lanes`. Both perform the
    /// same operations in the same order.
    #[inline(always)]
    fn grad_lanes(
        &self,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        diag_grad::<false, false>(self, x, &NO_STEP, width, live, out, scratch);
    }
    /// On a CPU with AVX-512: the gradient of `grad_lanes` from the chunk kernel's fused variant
    /// (`avx512::chunk::<true, _>`: fused multiply-adds in its own order, through the Gram matrix
    /// when d < 2n); the lane loop of the remaining lanes is unchanged.
    #[inline(always)]
    fn grad_lanes_fma(
        &self,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) -> bool {
        let fma = super::Isa::detected() == "avx512";
        if fma {
            diag_grad::<true, false>(self, x, &NO_STEP, width, live, out, scratch);
        }
        fma
    }
    /// `grad_lanes` (or `grad_lanes_fma`) with the step taken in the kernel's output stage.
    #[inline(always)]
    fn grad_step_lanes(
        &self,
        x: &[f64],
        step: StepInto<'_>,
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) -> Option<bool> {
        Some(if step.fma && super::Isa::detected() == "avx512" {
            diag_grad::<true, true>(self, x, &step, width, live, out, scratch)
        } else {
            diag_grad::<false, true>(self, x, &step, width, live, out, scratch)
        })
    }
    fn example_lanes(&self) -> Option<usize> {
        Some(self.n_examples())
    }
    /// ∇ℓᵢ = rᵢ (xᵢ ⊙ w₊, −xᵢ ⊙ w₋), rᵢ = ⟨xᵢ, β⟩ − yᵢ in `dot`'s order, as `DiagNet::example_grad`.
    #[inline(always)]
    fn example_grad_lanes(
        &self,
        i: usize,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        let d = self.d();
        let design = self.x().as_slice().expect("standard layout");
        let xi = &design[i * d..(i + 1) * d];
        let rows = |j: usize| j * width..j * width + live;
        let (wp, wm) = x.split_at(d * width);
        let (gp, gm) = out.split_at_mut(d * width);
        for j in 0..d {
            beta_row(&mut gp[rows(j)], &wp[rows(j)], &wm[rows(j)]);
        }
        let (r, acc) = scratch.split_at_mut(width);
        let r = &mut r[..live];
        residual_lanes(xi, self.y()[i], gp, rows, acc, r);
        for (j, &xij) in xi.iter().enumerate() {
            let (gp, gm) = (&mut gp[rows(j)], &mut gm[rows(j)]);
            let lanes = gp.iter_mut().zip(gm).zip(&wp[rows(j)]).zip(&wm[rows(j)]);
            for ((((gp, gm), p), m), rl) in lanes.zip(r.iter()) {
                let sj = rl * xij;
                *gp = p * sj;
                *gm = -m * sj;
            }
        }
    }
    /// 1-SAM's direction in two passes per example over the features: the ascent point
    /// (w₊ + ρ∇₊ℓᵢ, w₋ + ρ∇₋ℓᵢ), its β and its residual, then its gradient added into `out`;
    /// the residuals at w are those of the full batch. Whole chunks of 8 lanes go through the
    /// AVX-512 kernel `avx512::one_sam_chunk` on a CPU that has it, the other lanes through the
    /// lane loop `one_sam_range`; both perform the engine's per-example operations in its order.
    #[inline(always)]
    fn one_sam_lanes(
        &self,
        x: &[f64],
        rho: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) -> bool {
        let (head, rest) = scratch.split_at_mut((3 * self.d() + self.n_examples()) * 8);
        let design = self.x().as_slice().expect("standard layout");
        let done = avx512_chunks(live, |_c0| {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `avx512_chunks` calls this only on a CPU with AVX-512.
            unsafe {
                avx512::one_sam_chunk(design, self.y(), x, rho, width, _c0, out, head)
            };
        });
        if done < live {
            one_sam_range(self, x, rho, width, done..live, out, rest);
        }
        true
    }
    /// A chunk of 8 lanes: β, the residuals and the ascent point ((3d + n)·8); then, for the lane
    /// loops, β, the ascent point and its β (4d rows), two rows of residuals and the four partial
    /// sums of the dot products.
    fn scratch_len(&self, width: usize) -> usize {
        let d = self.d();
        (3 * d + self.n_examples()) * 8 + (4 * d + 6) * width
    }
}

/// The AVX-512 kernels of the diagonal network's lane gradient and of its noise-free 1-SAM
/// direction: 8 lanes (one vector) at a time, the accumulators in registers, in the order of the
/// lane loops [`diag_lanes`] and [`one_sam_range`]; no fused multiply-add except in `chunk::<true>`
/// ([`super::BatchConfig::fma`]), which has an order of its own.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::StepInto;
    use std::arch::x86_64::*;

    /// Lanes `c0..c0 + 8` of the gradient: β into `scratch[..8d]`, the residuals of 4 examples
    /// at a time into `scratch[8d..8(d + n)]` (dot products in `dot`'s order: four interleaved
    /// partial sums, then the tail), then s = Σᵢ rᵢxᵢ (from 0, i = 0, 1, …) for 16, 8, 4, 2, 1
    /// features at a time, scaled into `out` as (w₊ ⊙ (c·s), −w₋ ⊙ (c·s)), c = 1/n.
    /// With `STEP`, what goes into `out` is instead `step.base − step.coef[l]·∇` (see
    /// [`super::super::step_rows`]), and the return value says whether some entry has
    /// `|v| ≤ step.bound` false; without, it is false. With `FMA`, the kernel is `fused`
    /// instead: the same gradient from fused multiply-adds in another order (and, given `gram`,
    /// s = XᵀXβ − Xᵀy), with the same output stage. `xt` is Xᵀ with rows of stride `np` and
    /// `gram` is [`crate::problem::DiagNet::gram`] (read only by `fused`).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn chunk<const FMA: bool, const STEP: bool>(
        design: &[f64],
        (xt, np): (&[f64], usize),
        gram: Option<&[f64]>,
        y: &[f64],
        x: &[f64],
        width: usize,
        c0: usize,
        out: &mut [f64],
        scratch: &mut [f64],
        step: &StepInto<'_>,
    ) -> bool {
        let n = y.len();
        let d = design.len().checked_div(n).unwrap_or(0);
        assert!(design.len() == n * d && c0 + 8 <= width);
        assert!(x.len() >= 2 * d * width && out.len() >= 2 * d * width);
        assert!(scratch.len() >= 8 * (d + n) && np >= n && xt.len() >= d * np);
        assert!(gram.is_none_or(|g| g.len() >= d * d + d));
        assert!(!STEP || (step.base.len() >= 2 * d * width && step.coef.len() >= c0 + 8));
        // SAFETY: every pointer below is at row j < 2d of x, out or step.base (stride width,
        // lanes c0..c0 + 8 ≤ width), at entry < n·d of the design, at entry j·np + i (j < d,
        // i < n) of xt, at entry < d² + d of gram, at lanes c0..c0 + 8 of step.coef, or below
        // 8(d + n) in scratch (asserted above).
        unsafe {
            let (bc, r) = scratch.split_at_mut(8 * d);
            let (xp, op) = (x.as_ptr().add(c0), out.as_mut_ptr().add(c0));
            let c = _mm512_set1_pd(if n == 0 { 0.0 } else { 1.0 / n as f64 });
            let to = Out {
                xp,
                op,
                width,
                d,
                c,
                base: if STEP { step.base.as_ptr().add(c0) } else { xp },
                coef: if STEP {
                    _mm512_loadu_pd(step.coef.as_ptr().add(c0))
                } else {
                    c
                },
                bound: _mm512_set1_pd(step.bound),
            };
            if FMA {
                return fused::<STEP>((design, xt, np), gram, y, d, xp, width, bc, r, &to) != 0;
            }
            beta_residuals(design, y, d, xp, width, bc, r);
            let mut bad: __mmask8 = 0;
            let mut j0 = 0;
            macro_rules! features {
                ($($f:literal)*) => {
                    $(while d - j0 >= $f {
                        bad |= accumulate::<$f, STEP>(design, n, j0, r, &to);
                        j0 += $f;
                    })*
                };
            }
            features!(16 8 4 2 1);
            bad != 0
        }
    }

    /// 1-SAM's direction for lanes `c0..c0 + 8` (see `one_sam_lanes`): β into `scratch[..8d]`
    /// and the residuals rᵢ at w into `scratch[8d..8(d + n)]` as in [`chunk`]; then, example by
    /// example, the ascent point a = w + ρ(w₊ ⊙ rᵢxᵢ, −w₋ ⊙ rᵢxᵢ) into `scratch[8(d + n)..]`
    /// with the dot product of its β and xᵢ (`dot`'s order), and its gradient
    /// (a₊ ⊙ r̃ᵢxᵢ, −a₋ ⊙ r̃ᵢxᵢ) added into `out` (from 0); finally `out` times 1/n.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn one_sam_chunk(
        design: &[f64],
        y: &[f64],
        x: &[f64],
        rho: &[f64],
        width: usize,
        c0: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        let n = y.len();
        let d = design.len().checked_div(n).unwrap_or(0);
        assert!(design.len() == n * d && c0 + 8 <= width && c0 + 8 <= rho.len());
        assert!(x.len() >= 2 * d * width && out.len() >= 2 * d * width);
        assert!(scratch.len() >= 8 * (3 * d + n));
        // SAFETY: every pointer below is at row j < 2d of x or out (stride width, lanes c0..c0 + 8
        // ≤ width), at entry < n·d of the design, at lanes c0..c0 + 8 of rho, or below
        // 8(3d + n) in scratch (asserted above).
        unsafe {
            let (bc, rest) = scratch.split_at_mut(8 * d);
            let (r, asc) = rest.split_at_mut(8 * n);
            let (xp, op) = (x.as_ptr().add(c0), out.as_mut_ptr().add(c0));
            beta_residuals(design, y, d, xp, width, bc, r);
            for j in 0..2 * d {
                _mm512_storeu_pd(op.add(j * width), _mm512_setzero_pd());
            }
            let (rv, sign) = (_mm512_loadu_pd(rho.as_ptr().add(c0)), _mm512_set1_pd(-0.0));
            let full = d / 4 * 4;
            let ap = asc.as_mut_ptr();
            for (i, &yi) in y.iter().enumerate() {
                let row = design.as_ptr().add(i * d);
                let ri = _mm512_loadu_pd(r.as_ptr().add(8 * i));
                // The ascent point of feature j (stored) and the term xᵢⱼ·β̃ⱼ of its dot product.
                let ascend = |j: usize| {
                    let xv = _mm512_set1_pd(*row.add(j));
                    let s = _mm512_mul_pd(ri, xv);
                    let p = _mm512_loadu_pd(xp.add(j * width));
                    let m = _mm512_loadu_pd(xp.add((d + j) * width));
                    let gp = _mm512_mul_pd(p, s);
                    let gm = _mm512_mul_pd(_mm512_xor_pd(m, sign), s);
                    let a = _mm512_add_pd(p, _mm512_mul_pd(rv, gp));
                    let b = _mm512_add_pd(m, _mm512_mul_pd(rv, gm));
                    _mm512_storeu_pd(ap.add(16 * j), a);
                    _mm512_storeu_pd(ap.add(16 * j + 8), b);
                    let beta = _mm512_sub_pd(_mm512_mul_pd(a, a), _mm512_mul_pd(b, b));
                    _mm512_mul_pd(xv, beta)
                };
                let mut acc = [_mm512_setzero_pd(); 4];
                for j0 in (0..full).step_by(4) {
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_add_pd(*a, ascend(j0 + k));
                    }
                }
                let [a0, a1, a2, a3] = acc;
                let mut t = _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
                for j in full..d {
                    t = _mm512_add_pd(t, ascend(j));
                }
                t = _mm512_sub_pd(t, _mm512_set1_pd(yi));
                for j in 0..d {
                    let s = _mm512_mul_pd(t, _mm512_set1_pd(*row.add(j)));
                    let a = _mm512_loadu_pd(ap.add(16 * j));
                    let b = _mm512_xor_pd(_mm512_loadu_pd(ap.add(16 * j + 8)), sign);
                    let (pp, pm) = (op.add(j * width), op.add((d + j) * width));
                    _mm512_storeu_pd(pp, _mm512_add_pd(_mm512_loadu_pd(pp), _mm512_mul_pd(a, s)));
                    _mm512_storeu_pd(pm, _mm512_add_pd(_mm512_loadu_pd(pm), _mm512_mul_pd(b, s)));
                }
            }
            let c = _mm512_set1_pd(1.0 / n as f64);
            for j in 0..2 * d {
                let p = op.add(j * width);
                _mm512_storeu_pd(p, _mm512_mul_pd(_mm512_loadu_pd(p), c));
            }
        }
    }

    /// β = w₊² − w₋² of the 8 lanes at `xp` (rows of stride `width`) into `bc[..8d]`, then the
    /// residuals rᵢ = ⟨xᵢ, β⟩ − yᵢ of 4 examples at a time (then one at a time) into `r[..8n]`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `xp` must point at 8 readable lanes of rows 0..2d; `design`
    /// has n·d entries, `bc` 8d and `r` 8n.
    #[inline(always)]
    unsafe fn beta_residuals(
        design: &[f64],
        y: &[f64],
        d: usize,
        xp: *const f64,
        width: usize,
        bc: &mut [f64],
        r: &mut [f64],
    ) {
        let n = y.len();
        debug_assert!(design.len() == n * d && bc.len() >= 8 * d && r.len() >= 8 * n);
        // SAFETY: the caller's contract.
        unsafe {
            beta_rows::<false>(d, xp, width, bc);
            let tiles = n / 4 * 4;
            for i0 in (0..tiles).step_by(4) {
                residuals::<4>(design, y, d, i0, bc, r);
            }
            for i0 in tiles..n {
                residuals::<1>(design, y, d, i0, bc, r);
            }
        }
    }

    /// β = w₊² − w₋² of the 8 lanes at `xp` (rows of stride `width`) into `bc[..8d]`: two
    /// multiplies and a subtract, or with `FMA` a multiply and a fused multiply-subtract.
    ///
    /// # Safety
    /// As [`beta_residuals`].
    #[inline(always)]
    unsafe fn beta_rows<const FMA: bool>(d: usize, xp: *const f64, width: usize, bc: &mut [f64]) {
        debug_assert!(bc.len() >= 8 * d);
        // SAFETY: rows j, d + j < 2d at `xp`, β rows j < d (the caller's contract).
        unsafe {
            for j in 0..d {
                let p = _mm512_loadu_pd(xp.add(j * width));
                let m = _mm512_loadu_pd(xp.add((d + j) * width));
                let b = if FMA {
                    _mm512_fmsub_pd(p, p, _mm512_mul_pd(m, m))
                } else {
                    _mm512_sub_pd(_mm512_mul_pd(p, p), _mm512_mul_pd(m, m))
                };
                _mm512_storeu_pd(bc.as_mut_ptr().add(8 * j), b);
            }
        }
    }

    /// a·b + c: a multiply, then an add (never fused: the bitwise kernels' rule).
    #[inline(always)]
    unsafe fn madd(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
        // SAFETY: the callers are compiled with AVX-512F.
        unsafe { _mm512_add_pd(c, _mm512_mul_pd(a, b)) }
    }

    /// rᵢ = ⟨xᵢ, β⟩ − yᵢ for the examples `i0..i0 + E`, into `r[8i..8i + 8]`.
    #[inline(always)]
    unsafe fn residuals<const E: usize>(
        design: &[f64],
        y: &[f64],
        d: usize,
        i0: usize,
        bc: &[f64],
        r: &mut [f64],
    ) {
        // SAFETY: rows i0..i0 + E ≤ n of the design, β rows j < d, residual rows < n (see `chunk`).
        unsafe {
            let full = d / 4 * 4;
            let row = |e: usize| design.as_ptr().add((i0 + e) * d);
            let b = |j: usize| _mm512_loadu_pd(bc.as_ptr().add(8 * j));
            let mut acc = [[_mm512_setzero_pd(); 4]; E];
            for j0 in (0..full).step_by(4) {
                for k in 0..4 {
                    let bj = b(j0 + k);
                    for (e, a) in acc.iter_mut().enumerate() {
                        let xv = _mm512_set1_pd(*row(e).add(j0 + k));
                        a[k] = madd(xv, bj, a[k]);
                    }
                }
            }
            for (e, [a0, a1, a2, a3]) in acc.into_iter().enumerate() {
                let mut t = _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
                for j in full..d {
                    t = madd(_mm512_set1_pd(*row(e).add(j)), b(j), t);
                }
                t = _mm512_sub_pd(t, _mm512_set1_pd(y[i0 + e]));
                _mm512_storeu_pd(r.as_mut_ptr().add(8 * (i0 + e)), t);
            }
        }
    }

    /// Where `accumulate` writes 8 lanes of the gradient rows: pointers at lane c0 of x, out and
    /// the step's base (rows of stride `width`, 2d rows), c = 1/n, and the step's coefficients
    /// and bound (see [`chunk`]).
    struct Out {
        xp: *const f64,
        op: *mut f64,
        width: usize,
        d: usize,
        c: __m512d,
        base: *const f64,
        coef: __m512d,
        bound: __m512d,
    }

    /// sⱼ = Σᵢ rᵢxᵢⱼ for the features `j0..j0 + F`, then the gradient rows j and d + j of `out`
    /// (with `STEP`, the step from them, and a mask of the lanes whose entries left the bound).
    #[inline(always)]
    unsafe fn accumulate<const F: usize, const STEP: bool>(
        design: &[f64],
        n: usize,
        j0: usize,
        r: &[f64],
        to: &Out,
    ) -> __mmask8 {
        let d = to.d;
        // SAFETY: features j0..j0 + F ≤ d of rows i < n, rows j, d + j < 2d of x, out and base.
        unsafe {
            let mut acc = [_mm512_setzero_pd(); F];
            for i in 0..n {
                let ri = _mm512_loadu_pd(r.as_ptr().add(8 * i));
                let row = design.as_ptr().add(i * d + j0);
                for (f, a) in acc.iter_mut().enumerate() {
                    *a = madd(ri, _mm512_set1_pd(*row.add(f)), *a);
                }
            }
            let mut bad = 0;
            for (f, a) in acc.into_iter().enumerate() {
                bad |= emit::<STEP>(j0 + f, a, to);
            }
            bad
        }
    }

    /// The gradient rows j and d + j of `out` from sⱼ (8 lanes): (w₊ ⊙ (c·s), −w₋ ⊙ (c·s)), or
    /// with `STEP` the step `base − coef·∇` from them and a mask of the lanes whose entries left
    /// the bound.
    #[inline(always)]
    unsafe fn emit<const STEP: bool>(j: usize, s: __m512d, to: &Out) -> __mmask8 {
        let (d, width) = (to.d, to.width);
        // SAFETY: rows j, d + j < 2d of x, out and base (the callers' contract).
        unsafe {
            let sign = _mm512_set1_pd(-0.0);
            let mut bad = 0;
            let at = j * width;
            let v = _mm512_mul_pd(to.c, s);
            let p = _mm512_loadu_pd(to.xp.add(at));
            let m = _mm512_xor_pd(_mm512_loadu_pd(to.xp.add(d * width + at)), sign);
            for (k, g) in [
                (at, _mm512_mul_pd(p, v)),
                (d * width + at, _mm512_mul_pd(m, v)),
            ] {
                let o = if STEP {
                    let b = _mm512_loadu_pd(to.base.add(k));
                    let o = _mm512_sub_pd(b, _mm512_mul_pd(to.coef, g));
                    let mag = _mm512_andnot_pd(sign, o);
                    bad |= _mm512_cmp_pd_mask::<_CMP_NLE_UQ>(mag, to.bound);
                    o
                } else {
                    g
                };
                _mm512_storeu_pd(to.op.add(k), o);
            }
            bad
        }
    }

    /// The fused kernel of `chunk::<true, _>`: β by one fused multiply-subtract per feature,
    /// then s as dot products of fused multiply-adds in the order that keeps the two FMA ports
    /// busy (`tiled`), not `dot`'s: given `gram` (G = XᵀX, then c = Xᵀy), sⱼ = (Gβ)ⱼ − cⱼ, d²
    /// multiply-adds; otherwise the residuals rᵢ = ⟨xᵢ, β⟩ − yᵢ (one chain per example over
    /// the rows of Xᵀ, whose entries sit at fixed offsets) and sⱼ = Σᵢ rᵢxᵢⱼ, 2nd.
    ///
    /// # Safety
    /// As [`beta_residuals`], and `to` as in [`chunk`].
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn fused<const STEP: bool>(
        (design, xt, np): (&[f64], &[f64], usize),
        gram: Option<&[f64]>,
        y: &[f64],
        d: usize,
        xp: *const f64,
        width: usize,
        bc: &mut [f64],
        r: &mut [f64],
        to: &Out,
    ) -> __mmask8 {
        let n = y.len();
        debug_assert!(design.len() == n * d && bc.len() >= 8 * d && r.len() >= 8 * n);
        // SAFETY: the caller's contract; `tiled` reads rows < n, features < d of the design,
        // β rows < d and residual rows < n.
        unsafe {
            beta_rows::<true>(d, xp, width, bc);
            let mut bad = 0;
            if let Some(g) = gram {
                let c = g.as_ptr().add(d * d);
                tiled(
                    d,
                    (g.as_ptr(), 1, d),
                    d,
                    bc.as_ptr(),
                    #[inline(always)]
                    |j0, ss| {
                        for (f, &s) in ss.iter().enumerate() {
                            let s = _mm512_sub_pd(s, _mm512_set1_pd(*c.add(j0 + f)));
                            bad |= emit::<STEP>(j0 + f, s, to);
                        }
                    },
                );
                return bad;
            }
            let (dp, rp) = (design.as_ptr(), r.as_mut_ptr());
            tiled(
                n,
                (xt.as_ptr(), 1, np),
                d,
                bc.as_ptr(),
                #[inline(always)]
                |i0, rs| {
                    for (e, &a) in rs.iter().enumerate() {
                        let t = _mm512_sub_pd(a, _mm512_set1_pd(y[i0 + e]));
                        _mm512_storeu_pd(rp.add(8 * (i0 + e)), t);
                    }
                },
            );
            tiled(
                d,
                (dp, 1, d),
                n,
                rp,
                #[inline(always)]
                |j0, ss| {
                    for (f, &s) in ss.iter().enumerate() {
                        bad |= emit::<STEP>(j0 + f, s, to);
                    }
                },
            );
            bad
        }
    }

    /// Dot products `t = 0..len` of the rows of a strided matrix with a column of 8-lane vectors,
    /// `Σ_k m[t·ts + k·ks] · v[8k..8k + 8]` over k < `klen`, in tiles of 16, 8, 4, 2 and 1 rows
    /// (`T` fused multiply-add chains each, times `P` partial chains over k for the narrow
    /// tiles), each tile handed to `f(t0, sums)`.
    ///
    /// # Safety
    /// `m.0` must have every entry t·ts + k·ks (t < len, k < klen), and `v` 8·klen entries.
    #[inline(always)]
    unsafe fn tiled(
        len: usize,
        m: (*const f64, usize, usize),
        klen: usize,
        v: *const f64,
        mut f: impl FnMut(usize, &[__m512d]),
    ) {
        let (mp, ts, ks) = m;
        let mut t0 = 0;
        macro_rules! tiles {
            ($(($t:literal, $p:literal))*) => {$(
                while len - t0 >= $t {
                    // SAFETY: rows t0..t0 + T < len (the caller's contract).
                    f(t0, &unsafe { dots::<$t, $p>(mp.add(t0 * ts), ts, ks, klen, v) });
                    t0 += $t;
                }
            )*};
        }
        tiles!((16, 1)(8, 1)(4, 2)(2, 4)(1, 8));
    }

    /// Term k of `T` dot products: a[t] += m[t·ts + k·ks] · v[8k..8k + 8], fused.
    ///
    /// # Safety
    /// As [`dots`].
    #[inline(always)]
    unsafe fn column_terms<const T: usize>(
        a: &mut [__m512d; T],
        (m, ts, ks): (*const f64, usize, usize),
        k: usize,
        v: *const f64,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            let vk = _mm512_loadu_pd(v.add(8 * k));
            for (t, a) in a.iter_mut().enumerate() {
                *a = _mm512_fmadd_pd(_mm512_set1_pd(*m.add(t * ts + k * ks)), vk, *a);
            }
        }
    }

    /// `T` dot products `Σ_k m[t·ts + k·ks] · v[8k..8k + 8]` (k < `klen`), each as `P` chains
    /// of fused multiply-adds over k mod P (the tail on chain 0), added together at the end.
    ///
    /// # Safety
    /// As [`tiled`], for rows t < T.
    #[inline(always)]
    unsafe fn dots<const T: usize, const P: usize>(
        m: *const f64,
        ts: usize,
        ks: usize,
        klen: usize,
        v: *const f64,
    ) -> [__m512d; T] {
        // SAFETY: the caller's contract.
        unsafe {
            let mut acc = [[_mm512_setzero_pd(); T]; P];
            let full = klen / P * P;
            for k0 in (0..full).step_by(P) {
                for (p, a) in acc.iter_mut().enumerate() {
                    column_terms(a, (m, ts, ks), k0 + p, v);
                }
            }
            for k in full..klen {
                column_terms(&mut acc[0], (m, ts, ks), k, v);
            }
            let mut sum = acc[0];
            for a in &acc[1..] {
                for (s, &a) in sum.iter_mut().zip(a) {
                    *s = _mm512_add_pd(*s, a);
                }
            }
            sum
        }
    }
}

/// [`DiagNet`]'s lane gradient: chunks of 8 lanes through `avx512::chunk::<FMA, STEP>` on a CPU
/// with AVX-512, the other lanes through `diag_lanes` (then, with `STEP`, [`step_rows`]). Returns
/// whether some entry of the step left the bound (false without `STEP`).
#[inline(always)]
fn diag_grad<const FMA: bool, const STEP: bool>(
    net: &DiagNet,
    x: &[f64],
    step: &StepInto<'_>,
    width: usize,
    live: usize,
    out: &mut [f64],
    scratch: &mut [f64],
) -> bool {
    let (head, rest) = scratch.split_at_mut((net.d() + net.n_examples()) * 8);
    let design = net.x().as_slice().expect("standard layout");
    let (d, n) = (net.d(), net.n_examples());
    let gram = (FMA && d < 2 * n).then(|| net.gram());
    let mut bad = false;
    let done = avx512_chunks(live, |_c0| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `avx512_chunks` calls this only on a CPU with AVX-512.
        unsafe {
            bad |= avx512::chunk::<FMA, STEP>(
                design,
                net.x_transposed(),
                gram,
                net.y(),
                x,
                width,
                _c0,
                out,
                head,
                step,
            )
        };
    });
    if done < live {
        diag_lanes(net, x, width, done..live, out, rest);
        if STEP {
            bad |= step_rows(out, step, 2 * net.d(), width, done..live);
        }
    }
    bad
}

/// Calls `kernel(c0)` for every whole chunk of 8 lanes `c0..c0 + 8` below `live` when the CPU
/// has AVX-512 (the contract of the `avx512` kernels), and returns the number of lanes so done
/// (0 without AVX-512: the lane loops then take them all).
#[inline(always)]
fn avx512_chunks(live: usize, mut kernel: impl FnMut(usize)) -> usize {
    if super::Isa::detected() != "avx512" {
        return 0;
    }
    for c0 in (0..live / 8 * 8).step_by(8) {
        kernel(c0);
    }
    live / 8 * 8
}

/// Lanes `lanes` of [`DiagNet`]'s lane gradient, one pass per example over the lanes.
#[inline(always)]
fn diag_lanes(
    net: &DiagNet,
    x: &[f64],
    width: usize,
    lanes: std::ops::Range<usize>,
    out: &mut [f64],
    scratch: &mut [f64],
) {
    let (d, n) = (net.d(), net.n_examples());
    let design = net.x().as_slice().expect("standard layout");
    let (lo, live) = (lanes.start, lanes.len());
    let rows = |j: usize| j * width + lo..j * width + lanes.end;
    let (wp, wm) = x.split_at(d * width);
    let (beta, s) = out.split_at_mut(d * width);
    let (r, acc) = scratch.split_at_mut(width);
    let r = &mut r[..live];
    for j in 0..d {
        beta_row(&mut beta[rows(j)], &wp[rows(j)], &wm[rows(j)]);
        s[rows(j)].fill(0.0);
    }
    for (i, &yi) in net.y().iter().enumerate() {
        let xi = &design[i * d..(i + 1) * d];
        residual_lanes(xi, yi, beta, rows, acc, r);
        for (j, &xij) in xi.iter().enumerate() {
            for (sl, rl) in s[rows(j)].iter_mut().zip(r.iter()) {
                *sl += rl * xij;
            }
        }
    }
    let c = if n == 0 { 0.0 } else { 1.0 / n as f64 };
    for j in 0..d {
        let (b, sj) = (&mut beta[rows(j)], &mut s[rows(j)]);
        for (((b, sj), p), m) in b.iter_mut().zip(sj).zip(&wp[rows(j)]).zip(&wm[rows(j)]) {
            let v = c * *sj;
            *b = p * v;
            *sj = -m * v;
        }
    }
}

/// Lanes `lanes` of [`DiagNet`]'s 1-SAM direction (`one_sam_lanes`), example by example over
/// the lanes, with the operations of the engine's per-example path in its order.
#[inline(always)]
fn one_sam_range(
    net: &DiagNet,
    x: &[f64],
    rho: &[f64],
    width: usize,
    lanes: std::ops::Range<usize>,
    out: &mut [f64],
    scratch: &mut [f64],
) {
    let (d, n) = (net.d(), net.n_examples());
    let design = net.x().as_slice().expect("standard layout");
    let (lo, live) = (lanes.start, lanes.len());
    let rows = |j: usize| j * width + lo..j * width + lanes.end;
    let rho = &rho[lanes.clone()];
    let (wp, wm) = x.split_at(d * width);
    let (beta, rest) = scratch.split_at_mut(d * width);
    let (ap, rest) = rest.split_at_mut(d * width);
    let (am, rest) = rest.split_at_mut(d * width);
    let (beta_asc, rest) = rest.split_at_mut(d * width);
    let (r, rest) = rest.split_at_mut(width);
    let (r_asc, acc) = rest.split_at_mut(width);
    let (r, r_asc) = (&mut r[..live], &mut r_asc[..live]);
    for j in 0..d {
        beta_row(&mut beta[rows(j)], &wp[rows(j)], &wm[rows(j)]);
    }
    for j in 0..2 * d {
        out[rows(j)].fill(0.0);
    }
    let (op, om) = out.split_at_mut(d * width);
    for (i, &yi) in net.y().iter().enumerate() {
        let xi = &design[i * d..(i + 1) * d];
        residual_lanes(xi, yi, beta, rows, acc, r);
        for (j, &xij) in xi.iter().enumerate() {
            let (a, b) = (&mut ap[rows(j)], &mut am[rows(j)]);
            let lanes = a.iter_mut().zip(b).zip(&wp[rows(j)]).zip(&wm[rows(j)]);
            for ((((a, b), p), m), (rl, rho)) in lanes.zip(r.iter().zip(rho)) {
                let sj = rl * xij;
                *a = p + rho * (p * sj);
                *b = m + rho * (-m * sj);
            }
            beta_row(&mut beta_asc[rows(j)], &ap[rows(j)], &am[rows(j)]);
        }
        residual_lanes(xi, yi, beta_asc, rows, acc, r_asc);
        for (j, &xij) in xi.iter().enumerate() {
            let (p, m) = (&mut op[rows(j)], &mut om[rows(j)]);
            let lanes = p.iter_mut().zip(m).zip(&ap[rows(j)]).zip(&am[rows(j)]);
            for ((((p, m), a), b), rl) in lanes.zip(r_asc.iter()) {
                let sj = rl * xij;
                *p += a * sj;
                *m += -b * sj;
            }
        }
    }
    let c = 1.0 / n as f64;
    for j in 0..2 * d {
        out[rows(j)].iter_mut().for_each(|v| *v *= c);
    }
}

/// One row of β = w₊² − w₋² over lanes.
#[inline(always)]
fn beta_row(beta: &mut [f64], wp: &[f64], wm: &[f64]) {
    for ((b, p), m) in beta.iter_mut().zip(wp).zip(wm) {
        *b = p * p - m * m;
    }
}

/// The residuals rₗ = ⟨xᵢ, β⟩ − yᵢ of the lanes `rows(j)` of β's rows (r has one entry per lane),
/// the dot products in `dot`'s order ([`lane_dot`]).
#[inline(always)]
fn residual_lanes(
    xi: &[f64],
    yi: f64,
    beta: &[f64],
    rows: impl Fn(usize) -> std::ops::Range<usize>,
    acc: &mut [f64],
    r: &mut [f64],
) {
    lane_dot(xi.len(), r.len(), acc, r, |j, a| {
        let xij = xi[j];
        for (a, b) in a.iter_mut().zip(&beta[rows(j)]) {
            *a += xij * b;
        }
    });
    r.iter_mut().for_each(|v| *v -= yi);
}
