//! The integrals af22's implicit-bias statements need along a flow on the diagonal network
//! (THEOREMS.md, "af22 — implicit bias on diagonal linear networks"), carried as extra state, and
//! the integrands I_nSAM, I_1SAM of af22 App. B.3. With β = w₊² − w₋², r = Xβ − y, ρ the flow's
//! radius, r_sam the residual at the n-SAM ascent point w + ρ∇L(w) and r_sam,i the i-th residual
//! at the 1-SAM ascent point w + ρ∇ℓᵢ(w), the components (in this order) are
//!
//! | component | integral | symbol in THEOREMS.md |
//! |---|---|---|
//! | `loss` (1) | ∫ L(w(s)) ds | ∫ L ds of af22.thm1 |
//! | `n_sam` (d) | ∫ (Xᵀr_sam) ⊙ (Xᵀr) ds | exponent of af22.thm4 (Eq. 14): α_nSAM = α ⊙ exp(−(2ρ/n²)·`n_sam`) |
//! | `one_sam` (d) | Σᵢ xᵢ² ∫ r_sam,i rᵢ ds | exponent of af22.thm5 (Eq. 15): α_1SAM = α ⊙ exp(−(8ρ/n)·`one_sam`) |
//! | `grad_sq` (d) | ∫ (Xᵀr)² ds | af22.thm4 to first order: exp(−(2ρ/n²)·`grad_sq`); n²∫I_nSAM |
//! | `example_sq` (d) | ∫ Σᵢ xᵢ² rᵢ² ds | af22.thm5 to first order: exp(−(8ρ/n)·`example_sq`); n∫I_1SAM |
//!
//! (squares and products of vectors elementwise). For the GD flow (ρ = 0) `n_sam` = `grad_sq` and
//! `one_sam` = `example_sq`.

use std::cell::RefCell;

use super::{Flow, Integrals};
use crate::problem::{DiagNet, dot};

/// Scratch buffers of one integrand evaluation.
#[derive(Debug)]
struct Scratch {
    beta: Vec<f64>,
    beta_sam: Vec<f64>,
    xtr: Vec<f64>,
    xtr_sam: Vec<f64>,
    r: Vec<f64>,
}

/// The af22 integrals on a diagonal network: 1 + 4d extra components (see the module header).
#[derive(Debug)]
pub struct DiagNetIntegrals<'a> {
    net: &'a DiagNet,
    scratch: RefCell<Scratch>,
}

/// The components of a [`DiagNetIntegrals`] vector, by name.
#[derive(Clone, Copy, Debug)]
pub struct DiagNetParts<'v> {
    /// ∫ L ds.
    pub loss: f64,
    /// ∫ (Xᵀr_sam) ⊙ (Xᵀr) ds.
    pub n_sam: &'v [f64],
    /// Σᵢ xᵢ² ∫ r_sam,i rᵢ ds.
    pub one_sam: &'v [f64],
    /// ∫ (Xᵀr)² ds.
    pub grad_sq: &'v [f64],
    /// ∫ Σᵢ xᵢ² rᵢ² ds.
    pub example_sq: &'v [f64],
}

impl<'a> DiagNetIntegrals<'a> {
    /// The integrals on `net`.
    pub fn new(net: &'a DiagNet) -> Self {
        let (d, n) = (net.d(), net.x().nrows());
        DiagNetIntegrals {
            net,
            scratch: RefCell::new(Scratch {
                beta: vec![0.0; d],
                beta_sam: vec![0.0; d],
                xtr: vec![0.0; d],
                xtr_sam: vec![0.0; d],
                r: vec![0.0; n],
            }),
        }
    }

    /// Name the components of `v` (length 1 + 4d).
    pub fn split<'v>(&self, v: &'v [f64]) -> DiagNetParts<'v> {
        let d = self.net.d();
        assert_eq!(v.len(), 1 + 4 * d, "DiagNetIntegrals::split: length");
        let (n_sam, rest) = v[1..].split_at(d);
        let (one_sam, rest) = rest.split_at(d);
        let (grad_sq, example_sq) = rest.split_at(d);
        DiagNetParts {
            loss: v[0],
            n_sam,
            one_sam,
            grad_sq,
            example_sq,
        }
    }

    /// α ⊙ exp(−c·e): the effective initialization for an exponent vector e.
    fn scaled_alpha(&self, c: f64, e: &[f64]) -> Vec<f64> {
        let alpha = self.net.alpha();
        alpha
            .iter()
            .zip(e)
            .map(|(a, e)| a * (-c * e).exp())
            .collect()
    }

    /// af22 Eq. 14: α_nSAM = α ⊙ exp(−(2ρ/n²)·`n_sam`) from the integrals of an n-SAM flow.
    pub fn alpha_nsam(&self, v: &[f64], rho: f64) -> Vec<f64> {
        let n = self.net.x().nrows() as f64;
        self.scaled_alpha(2.0 * rho / (n * n), self.split(v).n_sam)
    }

    /// af22 Eq. 15: α_1SAM = α ⊙ exp(−(8ρ/n)·`one_sam`) from the integrals of a 1-SAM flow.
    pub fn alpha_1sam(&self, v: &[f64], rho: f64) -> Vec<f64> {
        let n = self.net.x().nrows() as f64;
        self.scaled_alpha(8.0 * rho / n, self.split(v).one_sam)
    }
}

/// r = Xβ − y into `r` and Xᵀr into `xtr`.
fn residuals(net: &DiagNet, beta: &[f64], r: &mut [f64], xtr: &mut [f64]) {
    let d = net.d();
    let x = net.x().as_slice().expect("standard layout");
    xtr.fill(0.0);
    for (i, (ri, yi)) in r.iter_mut().zip(net.y()).enumerate() {
        let xi = &x[i * d..(i + 1) * d];
        *ri = dot(xi, beta) - yi;
        for (s, xj) in xtr.iter_mut().zip(xi) {
            *s += *ri * xj;
        }
    }
}

impl Integrals for DiagNetIntegrals<'_> {
    fn len(&self) -> usize {
        1 + 4 * self.net.d()
    }

    fn integrands(&self, flow: Flow, w: &[f64], out: &mut [f64]) {
        let net = self.net;
        let (d, n) = (net.d(), net.x().nrows());
        let rho = flow.rho();
        let x = net.x().as_slice().expect("standard layout");
        let mut guard = self.scratch.borrow_mut();
        let s = &mut *guard;
        let (wp, wm) = w.split_at(d);
        net.beta_into(w, &mut s.beta);
        residuals(net, &s.beta, &mut s.r, &mut s.xtr);
        // n-SAM ascent point: w± (1 ± ρ(Xᵀr)/n), since ∇L = (w₊ ⊙ Xᵀr, −w₋ ⊙ Xᵀr)/n.
        let c = rho / n as f64;
        for j in 0..d {
            let (up, um) = (1.0 + c * s.xtr[j], 1.0 - c * s.xtr[j]);
            s.beta_sam[j] = wp[j] * wp[j] * up * up - wm[j] * wm[j] * um * um;
        }
        // Only Xᵀr_sam is kept; rᵢ is recomputed in the per-example loop below.
        residuals(net, &s.beta_sam, &mut s.r, &mut s.xtr_sam);
        let (loss, rest) = out.split_first_mut().expect("1 + 4d components");
        let (n_sam, rest) = rest.split_at_mut(d);
        let (one_sam, rest) = rest.split_at_mut(d);
        let (grad_sq, example_sq) = rest.split_at_mut(d);
        for j in 0..d {
            n_sam[j] = s.xtr_sam[j] * s.xtr[j];
            grad_sq[j] = s.xtr[j] * s.xtr[j];
        }
        one_sam.fill(0.0);
        example_sq.fill(0.0);
        let mut sum_r2 = 0.0;
        for i in 0..n {
            let xi = &x[i * d..(i + 1) * d];
            let ri = dot(xi, &s.beta) - net.y()[i];
            sum_r2 += ri * ri;
            // 1-SAM ascent point of example i: w± (1 ± ρ rᵢ xᵢ), since ∇ℓᵢ = rᵢ(xᵢ ⊙ w₊, −xᵢ ⊙ w₋).
            let mut r1 = -net.y()[i];
            for j in 0..d {
                let a = rho * ri * xi[j];
                let (up, um) = (1.0 + a, 1.0 - a);
                r1 += xi[j] * (wp[j] * wp[j] * up * up - wm[j] * wm[j] * um * um);
            }
            for j in 0..d {
                let x2 = xi[j] * xi[j];
                one_sam[j] += x2 * r1 * ri;
                example_sq[j] += x2 * ri * ri;
            }
        }
        *loss = sum_r2 / (4 * n) as f64;
    }
}

/// af22 App. B.3: I_nSAM(w) = (1/n²)(Xᵀr)² (elementwise), r = Xβ − y.
pub fn i_nsam(net: &DiagNet, w: &[f64]) -> Vec<f64> {
    let n = net.x().nrows() as f64;
    integrand_part(net, w, |p| p.grad_sq, 1.0 / (n * n))
}

/// af22 App. B.3: I_1SAM(w) = (1/n) Σᵢ xᵢ² rᵢ² (elementwise), r = Xβ − y.
pub fn i_1sam(net: &DiagNet, w: &[f64]) -> Vec<f64> {
    let n = net.x().nrows() as f64;
    integrand_part(net, w, |p| p.example_sq, 1.0 / n)
}

/// One named integrand of the GD flow at w, scaled by `c`.
fn integrand_part(
    net: &DiagNet,
    w: &[f64],
    part: impl for<'v> Fn(DiagNetParts<'v>) -> &'v [f64],
    c: f64,
) -> Vec<f64> {
    let ints = DiagNetIntegrals::new(net);
    let mut v = vec![0.0; ints.len()];
    ints.integrands(Flow::Gd, w, &mut v);
    part(ints.split(&v)).iter().map(|x| c * x).collect()
}
