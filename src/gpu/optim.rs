//! The SAM family on libtorch tensors, composed exactly as the CPU rules of [`crate::optim`]: the
//! batch is cut into ascent chunks of m examples (m-SAM; m = 1 is 1-SAM, m = the batch is n-SAM on
//! the batch), each chunk forms its ascent point (none, w + ρg, w + ρg/‖g‖, or a random direction
//! of length ρ), the descent gradient is taken there and optionally renormalized (SSAM: scaled by
//! ‖g‖/‖g_asc‖), the chunk descents are averaged, and SGD with momentum and weight decay (PyTorch's
//! convention) takes the step. Batch-norm running statistics are those of the first pass only: the
//! optimizer restores them after every ascent pass. Each gradient may be accumulated over
//! micro-batches to bound memory. The measured γ_t = ‖g‖/‖g_asc‖ is returned for every ascent
//! method, not only SSAM.

use tch::Tensor;

use crate::error::{Error, Result};
use crate::optim::{Ascent, Method};

/// The method names a deep-network run accepts.
pub const DEEP_METHOD_NAMES: [&str; 8] = [
    "sgd",
    "sam",
    "msam",
    "1sam",
    "sam-star",
    "ssam",
    "ssam-star",
    "random",
];

/// One deep-network update rule: the CPU composition plus the ascent chunk size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeepMethod {
    /// The ascent piece (PerExample is expressed as chunks of one example).
    pub ascent: Ascent,
    /// SSAM renormalization of each chunk's descent.
    pub renormalize: bool,
    /// Ascent chunk size m (None: one ascent for the whole batch).
    pub chunk: Option<usize>,
}

impl DeepMethod {
    /// The rule behind a name of [`DEEP_METHOD_NAMES`], with the same composition as
    /// [`Method::from_name`]. `m` is the ascent chunk size: required for `msam`, fixed to 1 by
    /// `1sam`, optional for the other ascent methods, refused for `sgd`.
    pub fn from_name(name: &str, m: Option<usize>) -> Result<DeepMethod> {
        if !DEEP_METHOD_NAMES.contains(&name) {
            return Err(Error::invalid(
                "method",
                format!(
                    "unknown deep-network method `{name}`; valid: {}",
                    DEEP_METHOD_NAMES.join(", ")
                ),
            ));
        }
        let cpu = Method::from_name(name, Some(1), false)?;
        if m == Some(0) {
            return Err(Error::invalid("m", "must be >= 1"));
        }
        let (ascent, chunk) = match (cpu.ascent, name) {
            (Ascent::None, _) if m.is_some() => {
                return Err(Error::invalid("m", "sgd has no ascent to chunk"));
            }
            (Ascent::None, _) => (Ascent::None, None),
            (Ascent::PerExample, _) if m.is_some_and(|m| m != 1) => {
                return Err(Error::invalid("m", "1sam is m-SAM with m = 1"));
            }
            (Ascent::PerExample, _) => (Ascent::Gradient, Some(1)),
            (_, "msam") if m.is_none() => {
                return Err(Error::invalid("m", "msam needs a chunk size m"));
            }
            (a, _) => (a, m),
        };
        Ok(DeepMethod {
            ascent,
            renormalize: cpu.renormalize,
            chunk,
        })
    }
}

/// Which of a step's forward passes a loss evaluation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// At w: the pass whose batch-norm statistics are kept.
    First,
    /// At the ascent point: batch-norm statistics are restored afterwards.
    Ascent,
}

/// What one step measured (device scalars; read them when convenient to avoid a sync per step).
#[derive(Debug)]
pub struct StepStats {
    /// Mean first-pass loss over the batch.
    pub loss: Tensor,
    /// Mean over ascent chunks of γ = ‖g‖/‖g_asc‖ (None for sgd or ρ = 0).
    pub gamma: Option<Tensor>,
}

/// SGD hyper-parameters shared by every method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Heavy-ball momentum μ (0 = plain SGD).
    pub momentum: f64,
    /// L2 weight decay added to the descent direction.
    pub weight_decay: f64,
}

/// A SAM-family optimizer over a list of parameter tensors (see the module doc).
pub struct Optimizer {
    /// The update rule.
    pub method: DeepMethod,
    /// Momentum and weight decay.
    pub sgd: Sgd,
    /// Micro-batch size for gradient accumulation (None: one pass per gradient).
    pub micro: Option<usize>,
    params: Vec<Tensor>,
    buffers: Vec<Tensor>,
    saved: Vec<Tensor>,
    g: Vec<Tensor>,
    e: Vec<Tensor>,
    descent: Vec<Tensor>,
    acc: Vec<Tensor>,
    velocity: Vec<Tensor>,
    steps: u64,
}

fn zeros_like(ts: &[Tensor]) -> Vec<Tensor> {
    ts.iter().map(Tensor::zeros_like).collect()
}

/// Zero the accumulated gradient of every tensor of `params` that has one.
pub fn zero_grads(params: &[Tensor]) {
    for p in params {
        let mut g = p.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    }
}

/// ‖(t₁, …, t_k)‖₂ over every entry of every tensor, as a device scalar.
pub fn global_norm(ts: &[Tensor]) -> Tensor {
    let sq: Vec<Tensor> = ts.iter().map(|t| t.square().sum(t.kind())).collect();
    Tensor::stack(&sq, 0).sum(ts[0].kind()).sqrt()
}

impl Optimizer {
    /// An optimizer over `params`; `buffers` are the batch-norm running statistics (restored after
    /// every ascent pass).
    pub fn new(
        params: Vec<Tensor>,
        buffers: Vec<Tensor>,
        method: DeepMethod,
        sgd: Sgd,
    ) -> Result<Self> {
        if params.is_empty() {
            return Err(Error::invalid("params", "no trainable parameter"));
        }
        crate::error::non_negative("momentum", sgd.momentum)?;
        crate::error::non_negative("weight_decay", sgd.weight_decay)?;
        if sgd.momentum >= 1.0 {
            return Err(Error::invalid("momentum", "must be < 1"));
        }
        let _guard = tch::no_grad_guard();
        Ok(Optimizer {
            method,
            sgd,
            micro: None,
            saved: zeros_like(&buffers),
            g: zeros_like(&params),
            e: zeros_like(&params),
            descent: zeros_like(&params),
            acc: zeros_like(&params),
            velocity: zeros_like(&params),
            params,
            buffers,
            steps: 0,
        })
    }

    /// An optimizer over every trainable variable of `vs`; its non-trainable variables (the
    /// batch-norm running means and variances) are the buffers.
    pub fn for_var_store(vs: &tch::nn::VarStore, method: DeepMethod, sgd: Sgd) -> Result<Self> {
        let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let (params, buffers): (Vec<_>, Vec<_>) =
            named.into_iter().partition(|(_, t)| t.requires_grad());
        Self::new(
            params.into_iter().map(|p| p.1).collect(),
            buffers.into_iter().map(|p| p.1).collect(),
            method,
            sgd,
        )
    }

    /// The parameters, in the optimizer's order.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Gradient of the mean loss over examples [start, start + len) into `out` (by micro-batches
    /// when set); returns the mean loss (detached).
    fn grad<F>(
        &mut self,
        loss: &mut F,
        pass: Pass,
        start: usize,
        len: usize,
        into_g: bool,
    ) -> Tensor
    where
        F: FnMut(Pass, usize, usize) -> Tensor,
    {
        let micro = self.micro.unwrap_or(len).max(1);
        let mut total: Option<Tensor> = None;
        zero_grads(&self.params);
        let mut s = start;
        while s < start + len {
            let l = micro.min(start + len - s);
            let value = loss(pass, s, l);
            let weighted = if l == len {
                value.shallow_clone()
            } else {
                &value * (l as f64 / len as f64)
            };
            weighted.backward();
            let v = weighted.detach();
            total = Some(match total {
                None => v,
                Some(t) => t + v,
            });
            s += l;
        }
        let _guard = tch::no_grad_guard();
        let out = if into_g {
            &mut self.g
        } else {
            &mut self.descent
        };
        for (o, p) in out.iter_mut().zip(&self.params) {
            let g = p.grad();
            if g.defined() {
                o.copy_(&g);
            } else {
                let _ = o.zero_();
            }
        }
        total.expect("len >= 1")
    }

    /// One update on a batch of `batch` examples with learning rate `lr` and radius `rho`.
    /// `loss(pass, start, len)` returns the mean loss over examples [start, start + len) of the
    /// batch, evaluated at the current parameters in training mode.
    pub fn step<F>(&mut self, batch: usize, mut loss: F, lr: f64, rho: f64) -> Result<StepStats>
    where
        F: FnMut(Pass, usize, usize) -> Tensor,
    {
        if batch == 0 {
            return Err(Error::invalid("batch", "empty batch"));
        }
        let ascent = if rho == 0.0 {
            Ascent::None
        } else {
            self.method.ascent
        };
        let m = self.method.chunk.unwrap_or(batch).min(batch);
        let chunks = batch.div_ceil(m);
        let mut loss_sum: Option<Tensor> = None;
        let mut gammas: Vec<Tensor> = Vec::new();
        for c in 0..chunks {
            let start = c * m;
            let len = m.min(batch - start);
            let weight = len as f64 / batch as f64;
            let first = match ascent {
                Ascent::None => self.grad(&mut loss, Pass::First, start, len, false),
                _ => {
                    let first = self.grad(&mut loss, Pass::First, start, len, true);
                    self.perturb(ascent, rho);
                    let _guard = tch::no_grad_guard();
                    for (s, b) in self.saved.iter_mut().zip(&self.buffers) {
                        s.copy_(b);
                    }
                    drop(_guard);
                    let _ = self.grad(&mut loss, Pass::Ascent, start, len, false);
                    let _guard = tch::no_grad_guard();
                    for (b, s) in self.buffers.iter_mut().zip(&self.saved) {
                        b.copy_(s);
                    }
                    for (p, e) in self.params.iter_mut().zip(&self.e) {
                        *p -= e;
                    }
                    let ng = global_norm(&self.g);
                    let na = global_norm(&self.descent);
                    let positive = na.gt(0.0);
                    let gamma = (&ng / &na).where_self(&positive, &na.zeros_like());
                    if self.method.renormalize {
                        let unit = na.reciprocal().where_self(&positive, &na.zeros_like());
                        for d in self.descent.iter_mut() {
                            *d *= &unit;
                            *d *= &ng;
                        }
                    }
                    gammas.push(gamma);
                    first
                }
            };
            let _guard = tch::no_grad_guard();
            loss_sum = Some(match loss_sum {
                None => &first * weight,
                Some(s) => s + &first * weight,
            });
            if chunks > 1 {
                for (a, d) in self.acc.iter_mut().zip(&self.descent) {
                    if c == 0 {
                        a.copy_(&(d * weight));
                    } else {
                        *a += d * weight;
                    }
                }
            }
        }
        let _guard = tch::no_grad_guard();
        let direction = if chunks == 1 {
            &mut self.descent
        } else {
            &mut self.acc
        };
        sgd_update(
            &mut self.params,
            direction,
            &mut self.velocity,
            self.sgd,
            self.steps == 0,
            lr,
        );
        let gamma = (!gammas.is_empty()).then(|| {
            let _guard = tch::no_grad_guard();
            Tensor::stack(&gammas, 0).mean(gammas[0].kind())
        });
        self.steps += 1;
        Ok(StepStats {
            loss: loss_sum.expect("at least one chunk"),
            gamma,
        })
    }

    /// e = the ascent offset for the gradient in `g`; w += e.
    fn perturb(&mut self, ascent: Ascent, rho: f64) {
        let _guard = tch::no_grad_guard();
        match ascent {
            Ascent::Random => {
                for e in self.e.iter_mut() {
                    let r = e.randn_like();
                    e.copy_(&r);
                }
                let n = global_norm(&self.e);
                let scale = (rho / &n).where_self(&n.gt(0.0), &n.zeros_like());
                for e in self.e.iter_mut() {
                    *e *= &scale;
                }
            }
            Ascent::Normalized => {
                let n = global_norm(&self.g);
                let scale = (rho / &n).where_self(&n.gt(0.0), &n.zeros_like());
                for (e, g) in self.e.iter_mut().zip(&self.g) {
                    e.copy_(&(g * &scale));
                }
            }
            _ => {
                for (e, g) in self.e.iter_mut().zip(&self.g) {
                    e.copy_(&(g * rho));
                }
            }
        }
        for (p, e) in self.params.iter_mut().zip(&self.e) {
            *p += e;
        }
    }
}

/// PyTorch's SGD on the direction `dir` (changed in place): w ← w − lr·v with v = μv + (d + λw)
/// (v = d + λw on the first step). Call without gradient recording.
fn sgd_update(
    params: &mut [Tensor],
    dir: &mut [Tensor],
    velocity: &mut [Tensor],
    Sgd {
        momentum,
        weight_decay,
    }: Sgd,
    first: bool,
    lr: f64,
) {
    for ((p, d), v) in params
        .iter_mut()
        .zip(dir.iter_mut())
        .zip(velocity.iter_mut())
    {
        if weight_decay != 0.0 {
            *d += &*p * weight_decay;
        }
        let step = if momentum != 0.0 {
            if first {
                v.copy_(d);
            } else {
                *v *= momentum;
                *v += &*d;
            }
            &*v
        } else {
            &*d
        };
        *p -= step * lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_cpu_compositions() {
        let sam = DeepMethod::from_name("sam", None).unwrap();
        assert_eq!(
            (sam.ascent, sam.renormalize, sam.chunk),
            (Ascent::Gradient, false, None)
        );
        let one = DeepMethod::from_name("1sam", None).unwrap();
        assert_eq!(one.chunk, Some(1));
        let ss = DeepMethod::from_name("ssam-star", Some(8)).unwrap();
        assert_eq!(
            (ss.ascent, ss.renormalize, ss.chunk),
            (Ascent::Normalized, true, Some(8))
        );
        for (name, m) in [
            ("msam", None),
            ("sgd", Some(4)),
            ("1sam", Some(2)),
            ("nsam", None),
        ] {
            assert!(DeepMethod::from_name(name, m).is_err(), "{name}");
        }
    }
}
