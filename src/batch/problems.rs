//! Lane gradients of the problems the batched engine runs: the quartic saddle, the quadratic
//! family (full batch) and the diagonal network (full batch). Each performs, lane by lane, exactly
//! the floating-point operations of the problem's own `batch_grad` on the full batch, in the same
//! order, so a lane's gradient is bitwise the single-trajectory gradient; the loops run over the
//! contiguous lanes of one coordinate, which the compiler vectorizes.

use super::{LaneProblem, lane_dot};
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

impl LaneProblem for DiagNet {
    fn dim(&self) -> usize {
        Problem::dim(self)
    }
    /// β = w₊² − w₋² (d lanes rows), the dot products ⟨xᵢ, β⟩ in `dot`'s order, s = Σᵢ rᵢxᵢ, then
    /// ∇ = (w₊ ⊙ s, −w₋ ⊙ s)/n, as `DiagNet::batch_grad` on the full batch.
    #[inline(always)]
    fn grad_lanes(
        &self,
        x: &[f64],
        width: usize,
        live: usize,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        let d = self.d();
        let n = self.n_examples();
        let design = self.x().as_slice().expect("standard layout");
        let rows = |j: usize| j * width..j * width + live;
        let (wp, wm) = x.split_at(d * width);
        let (beta, s) = out.split_at_mut(d * width);
        let (r, acc) = scratch.split_at_mut(width);
        let r = &mut r[..live];
        for j in 0..d {
            for ((b, p), m) in beta[rows(j)].iter_mut().zip(&wp[rows(j)]).zip(&wm[rows(j)]) {
                *b = p * p - m * m;
            }
            s[rows(j)].fill(0.0);
        }
        for (i, yi) in self.y().iter().enumerate() {
            let xi = &design[i * d..(i + 1) * d];
            lane_dot(d, live, acc, r, |j, l| xi[j] * beta[j * width + l]);
            r.iter_mut().for_each(|v| *v -= yi);
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
    /// The residuals (one lane row) and the four partial sums of the dot products.
    fn scratch_len(&self, width: usize) -> usize {
        5 * width
    }
}
