//! Training a network of [`super::Arch`] on an [`ImageSet`] with one method of the SAM family, and
//! the per-epoch log: train loss and accuracy (first pass), test loss and accuracy, γ_t (mean and
//! maximum over the epoch's steps), the m-sharpness of af22 (mean over chunks of m training
//! examples of L(w + δ) − L(w), δ found by normalized-gradient ascent on the ℓ2 ball of radius ρ,
//! batch norm in evaluation mode) and the throughput in images per second. The data set lives on
//! the device as one tensor; the learning rate is constant or cosine-decayed, ρ constant or linear
//! ([`crate::optim::Schedule`]); each epoch's order comes from stream (seed, epoch), model
//! initialization and random perturbations from libtorch's generator seeded with the run's seed.

use std::time::Instant;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

use super::Arch;
use super::optim::{DeepMethod, Optimizer, Pass, Sgd, zero_grads};
use crate::error::{Error, Result};
use crate::images::ImageSet;
use crate::optim::Schedule;

/// A method switch: after this many epochs, continue with this method.
pub type Switch = (usize, DeepMethod);

/// Everything a training run needs besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Architecture name (see [`super::ARCH_NAMES`]).
    pub model: String,
    /// Method name (see [`super::DEEP_METHOD_NAMES`]).
    pub method: String,
    /// Ascent chunk size m (m-SAM); None = the whole batch.
    pub m: Option<usize>,
    /// Learning rate (peak of the schedule).
    pub lr: f64,
    /// Cosine decay of the learning rate to 0 over the run (else constant).
    pub cosine: bool,
    /// SAM radius ρ (at the first step).
    pub rho: f64,
    /// When set, ρ moves linearly from `rho` to this value over the run
    /// ([`crate::optim::Schedule::Linear`]); else ρ is constant.
    pub rho_end: Option<f64>,
    /// Momentum μ.
    pub momentum: f64,
    /// Weight decay λ.
    pub weight_decay: f64,
    /// Batch size.
    pub batch: usize,
    /// Micro-batch size for gradient accumulation (None = whole chunks).
    pub micro: Option<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Random flips and 4-pixel crops of 3-channel images.
    pub augment: bool,
    /// Training examples on which the m-sharpness is measured each epoch (0 = none).
    pub sharpness_examples: usize,
    /// Chunk size m of the m-sharpness.
    pub sharpness_m: usize,
    /// Ascent steps of the m-sharpness.
    pub sharpness_steps: usize,
    /// Run in f64 (conformance) instead of f32.
    pub double: bool,
    /// Seed of every random stream.
    pub seed: u64,
    /// Switch to another method (same ρ, lr schedule and momentum buffer) after this many
    /// epochs: (epoch, method name), e.g. (10, "sgd") for SAM→ERM (af22).
    pub switch: Option<(usize, String)>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: "mlp".into(),
            method: "sam".into(),
            m: None,
            lr: 0.05,
            cosine: false,
            rho: 0.05,
            rho_end: None,
            momentum: 0.9,
            weight_decay: 5e-4,
            batch: 128,
            micro: None,
            epochs: 10,
            augment: false,
            sharpness_examples: 1024,
            sharpness_m: 128,
            sharpness_steps: 1,
            double: false,
            seed: 0,
            switch: None,
        }
    }
}

impl TrainConfig {
    /// Check every field.
    pub fn validate(&self) -> Result<(Arch, DeepMethod, Option<Switch>)> {
        use crate::error::{finite, non_negative, positive};
        positive("lr", self.lr)?;
        non_negative("rho", self.rho)?;
        if let Some(end) = self.rho_end {
            non_negative("rho_end", end)?;
        }
        finite("momentum", self.momentum)?;
        finite("weight_decay", self.weight_decay)?;
        for (field, v) in [
            ("batch", self.batch),
            ("epochs", self.epochs),
            ("sharpness_m", self.sharpness_m),
        ] {
            if v == 0 {
                return Err(Error::invalid(field, "must be >= 1"));
            }
        }
        if self.micro == Some(0) {
            return Err(Error::invalid("micro", "must be >= 1"));
        }
        let switch = match &self.switch {
            None => None,
            Some((epoch, _)) if *epoch == 0 || *epoch >= self.epochs => {
                return Err(Error::invalid(
                    "switch_epoch",
                    format!(
                        "must lie in 1..{} (the run has {} epochs)",
                        self.epochs, self.epochs
                    ),
                ));
            }
            Some((epoch, name)) => Some((
                *epoch,
                DeepMethod::from_name(name, (name == "msam").then_some(self.m).flatten()).map_err(
                    |e| match e {
                        Error::Invalid { field, message, .. } => {
                            Error::invalid(format!("switch_to ({field})"), message)
                        }
                        other => other,
                    },
                )?,
            )),
        };
        Ok((
            Arch::parse(&self.model)?,
            DeepMethod::from_name(&self.method, self.m)?,
            switch,
        ))
    }
}

/// One epoch of the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean first-pass training loss over the epoch.
    pub train_loss: f64,
    /// First-pass training accuracy over the epoch.
    pub train_acc: f64,
    /// Test loss (evaluation mode).
    pub test_loss: f64,
    /// Test accuracy.
    pub test_acc: f64,
    /// Mean γ_t = ‖g‖/‖g_asc‖ over the epoch's steps (NaN for sgd).
    pub gamma_mean: f64,
    /// Largest γ_t of the epoch (NaN for sgd).
    pub gamma_max: f64,
    /// m-sharpness at the end of the epoch (NaN when not measured).
    pub sharpness: f64,
    /// Training images per second (first and ascent passes included, evaluation excluded).
    pub images_per_s: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// ρ of the epoch's last step.
    pub rho: f64,
}

/// The columns of [`EpochRecord`], in CSV order.
pub const EPOCH_COLUMNS: [&str; 11] = [
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "gamma_mean",
    "gamma_max",
    "sharpness",
    "images_per_s",
    "lr",
    "rho",
];

impl EpochRecord {
    /// The record as CSV values in [`EPOCH_COLUMNS`] order.
    pub fn values(&self) -> [f64; 11] {
        [
            self.epoch as f64,
            self.train_loss,
            self.train_acc,
            self.test_loss,
            self.test_acc,
            self.gamma_mean,
            self.gamma_max,
            self.sharpness,
            self.images_per_s,
            self.lr,
            self.rho,
        ]
    }
}

/// Mean cross-entropy of `logits` (N, K) against class indices `y`, in the logits' own precision
/// (tch's `cross_entropy_for_logits` computes the log-softmax in f32 even for f64 logits).
pub fn cross_entropy(logits: &Tensor, y: &Tensor) -> Tensor {
    logits.log_softmax(-1, logits.kind()).nll_loss(y)
}

/// Cross-entropy as a method on logits, for chaining.
pub trait CrossEntropy {
    /// [`cross_entropy`] of `self` against `y`.
    fn apply_cross_entropy(&self, y: &Tensor) -> Tensor;
}

impl CrossEntropy for Tensor {
    fn apply_cross_entropy(&self, y: &Tensor) -> Tensor {
        cross_entropy(self, y)
    }
}

/// A data set on a device: images (N, C, H, W) and labels (N) as int64.
pub struct DeviceSet {
    /// Images.
    pub images: Tensor,
    /// Labels.
    pub labels: Tensor,
}

impl DeviceSet {
    /// Copy `set` to `device`, standardizing each channel with `stats` (mean, std).
    pub fn new(set: &ImageSet, stats: &[(f64, f64)], device: Device, kind: Kind) -> DeviceSet {
        let shape = [
            set.len() as i64,
            set.channels as i64,
            set.height as i64,
            set.width as i64,
        ];
        let mean: Vec<f64> = stats.iter().map(|s| s.0).collect();
        let std: Vec<f64> = stats
            .iter()
            .map(|s| if s.1 > 0.0 { s.1 } else { 1.0 })
            .collect();
        let c = set.channels as i64;
        let images = (Tensor::from_slice(&set.pixels)
            .view(shape)
            .to_kind(Kind::Double)
            - Tensor::from_slice(&mean).view([1, c, 1, 1]))
            / Tensor::from_slice(&std).view([1, c, 1, 1]);
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        DeviceSet {
            images: images.to_kind(kind).to_device(device),
            labels: Tensor::from_slice(&labels).to_device(device),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Mean loss and accuracy of `net` on `set` in evaluation mode, in chunks of 1000.
pub fn evaluate(net: &impl ModuleT, set: &DeviceSet) -> (f64, f64) {
    let _guard = tch::no_grad_guard();
    let n = set.len() as i64;
    let (mut loss, mut correct) = (0.0, 0.0);
    let mut s = 0;
    while s < n {
        let l = 1000.min(n - s);
        let logits = net.forward_t(&set.images.narrow(0, s, l), false);
        let y = set.labels.narrow(0, s, l);
        loss += logits
            .apply_cross_entropy(&y)
            .to_kind(Kind::Double)
            .double_value(&[])
            * l as f64;
        correct += logits
            .argmax(-1, false)
            .eq_tensor(&y)
            .sum(Kind::Double)
            .double_value(&[]);
        s += l;
    }
    (loss / n as f64, correct / n as f64)
}

/// The af22 m-sharpness of `net` on the first `examples` of `set` (see the module doc).
pub fn m_sharpness(
    net: &impl ModuleT,
    params: &[Tensor],
    set: &DeviceSet,
    examples: usize,
    m: usize,
    rho: f64,
    steps: usize,
) -> f64 {
    let n = examples.min(set.len());
    if n == 0 || rho == 0.0 || steps == 0 {
        return f64::NAN;
    }
    let loss_at = |s: i64, l: i64| {
        net.forward_t(&set.images.narrow(0, s, l), false)
            .apply_cross_entropy(&set.labels.narrow(0, s, l))
    };
    let mut total = 0.0;
    let mut chunks = 0usize;
    let mut s = 0usize;
    while s < n {
        let l = m.min(n - s);
        let base = tch::no_grad(|| {
            loss_at(s as i64, l as i64)
                .to_kind(Kind::Double)
                .double_value(&[])
        });
        let delta: Vec<Tensor> = params.iter().map(Tensor::zeros_like).collect();
        for _ in 0..steps {
            zero_grads(params);
            loss_at(s as i64, l as i64).backward();
            tch::no_grad(|| {
                let grads: Vec<Tensor> = params
                    .iter()
                    .map(|p| {
                        let g = p.grad();
                        if g.defined() { g } else { p.zeros_like() }
                    })
                    .collect();
                let gn = super::optim::global_norm(&grads).double_value(&[]);
                if gn == 0.0 {
                    return;
                }
                let step = rho / steps as f64 / gn;
                let mut moved: Vec<Tensor> = delta
                    .iter()
                    .zip(&grads)
                    .map(|(d, g)| d + g * step)
                    .collect();
                let dn = super::optim::global_norm(&moved).double_value(&[]);
                if dn > rho {
                    for t in moved.iter_mut() {
                        *t *= rho / dn;
                    }
                }
                for ((p, d), nd) in params.iter().zip(&delta).zip(&moved) {
                    let mut p = p.shallow_clone();
                    p += nd - d;
                }
                for (d, nd) in delta.iter().zip(&moved) {
                    let mut d = d.shallow_clone();
                    d.copy_(nd);
                }
            });
        }
        let perturbed = tch::no_grad(|| {
            loss_at(s as i64, l as i64)
                .to_kind(Kind::Double)
                .double_value(&[])
        });
        tch::no_grad(|| {
            for (p, d) in params.iter().zip(&delta) {
                let mut p = p.shallow_clone();
                p -= d;
            }
        });
        total += perturbed - base;
        chunks += 1;
        s += l;
    }
    zero_grads(params);
    total / chunks as f64
}

/// Random horizontal flips and 4-pixel translations (zero padding, then a crop at a random offset)
/// of a batch (N, C, H, W), all drawn from `rng` and applied by two gathers on the device.
pub fn augment_batch(x: &Tensor, rng: &mut impl rand::Rng) -> Tensor {
    let (n, c, h, w) = x.size4().expect("a batch of images");
    let device = x.device();
    let flips: Vec<i64> = (0..n).map(|_| rng.random_range(0..2)).collect();
    let oy: Vec<i64> = (0..n).map(|_| rng.random_range(0..=8)).collect();
    let ox: Vec<i64> = (0..n).map(|_| rng.random_range(0..=8)).collect();
    let to = |v: &[i64]| Tensor::from_slice(v).to_device(device).view([n, 1, 1, 1]);
    let mask = to(&flips).gt(0);
    let x = x.flip([3]).where_self(&mask, x);
    let padded = x.constant_pad_nd([4, 4, 4, 4]);
    let rows = (Tensor::arange(h, (Kind::Int64, device)).view([1, 1, h, 1]) + to(&oy))
        .expand([n, c, h, w + 8], false);
    let cropped = padded.gather(2, &rows, false);
    let cols = (Tensor::arange(w, (Kind::Int64, device)).view([1, 1, 1, w]) + to(&ox))
        .expand([n, c, h, w], false);
    cropped.gather(3, &cols, false)
}

/// A finished run: the epoch log and the trained parameters.
pub struct TrainRun {
    /// One record per epoch.
    pub epochs: Vec<EpochRecord>,
    /// The network's variables.
    pub vs: VarStore,
}

/// What [`train()`] reports while it runs.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A step finished: `done` of `total` steps of the run.
    Step {
        /// Steps done.
        done: usize,
        /// Steps in the whole run.
        total: usize,
    },
    /// An epoch finished (evaluation included).
    Epoch(&'a EpochRecord),
}

/// Train on `train`, evaluate on `test` after every epoch; `progress` hears of every step and
/// every epoch.
pub fn train(
    cfg: &TrainConfig,
    train_set: &ImageSet,
    test_set: &ImageSet,
    device: Device,
    mut progress: impl FnMut(Event<'_>),
) -> Result<TrainRun> {
    let (arch, method, switch) = cfg.validate()?;
    if train_set.is_empty() || test_set.is_empty() {
        return Err(Error::invalid("data", "empty training or test set"));
    }
    let shape = (train_set.channels, train_set.height, train_set.width);
    if shape != (test_set.channels, test_set.height, test_set.width) {
        return Err(Error::invalid(
            "data",
            "train and test images differ in shape",
        ));
    }
    let kind = if cfg.double {
        Kind::Double
    } else {
        Kind::Float
    };
    tch::manual_seed(cfg.seed as i64);
    let mut vs = VarStore::new(device);
    let net = arch.build(&vs.root(), shape, train_set.classes.max(test_set.classes))?;
    if cfg.double {
        vs.double();
    }
    let stats = train_set.channel_stats();
    let train_dev = DeviceSet::new(train_set, &stats, device, kind);
    let test_dev = DeviceSet::new(test_set, &stats, device, kind);
    let mut opt = Optimizer::for_var_store(
        &vs,
        method,
        Sgd {
            momentum: cfg.momentum,
            weight_decay: cfg.weight_decay,
        },
    )?;
    opt.micro = cfg.micro;
    let n = train_set.len();
    let steps_per_epoch = n.div_ceil(cfg.batch);
    let total_steps = (steps_per_epoch * cfg.epochs) as f64;
    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut records = Vec::with_capacity(cfg.epochs);
    let mut step_no = 0usize;
    let augment = cfg.augment && shape.0 == 3;
    for epoch in 1..=cfg.epochs {
        if let Some((after, next)) = switch
            && epoch == after + 1
        {
            opt.method = next;
        }
        let mut rng = crate::rng::stream(cfg.seed, epoch as u64);
        order.shuffle(&mut rng);
        let perm = Tensor::from_slice(&order).to_device(device);
        let started = Instant::now();
        let mut losses = Vec::with_capacity(steps_per_epoch);
        let mut gammas = Vec::with_capacity(steps_per_epoch);
        let mut correct = Tensor::zeros([], (Kind::Double, device));
        let mut lr = cfg.lr;
        let mut rho = cfg.rho;
        for b in 0..steps_per_epoch {
            let s = (b * cfg.batch) as i64;
            let l = (cfg.batch as i64).min(n as i64 - s);
            let idx = perm.narrow(0, s, l);
            let mut xb = train_dev.images.index_select(0, &idx);
            if augment {
                xb = augment_batch(&xb, &mut rng);
            }
            let yb = train_dev.labels.index_select(0, &idx);
            lr = if cfg.cosine {
                0.5 * cfg.lr * (1.0 + (std::f64::consts::PI * step_no as f64 / total_steps).cos())
            } else {
                cfg.lr
            };
            rho = match cfg.rho_end {
                Some(end) => Schedule::Linear {
                    start: cfg.rho,
                    end,
                }
                .at(step_no, total_steps as usize),
                None => cfg.rho,
            };
            let stats = opt.step(
                l as usize,
                |pass, start, len| {
                    let x = xb.narrow(0, start as i64, len as i64);
                    let y = yb.narrow(0, start as i64, len as i64);
                    let logits = net.forward_t(&x, true);
                    if pass == Pass::First {
                        let hits = tch::no_grad(|| {
                            logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Double)
                        });
                        correct += hits;
                    }
                    cross_entropy(&logits, &y)
                },
                lr,
                rho,
            )?;
            losses.push(stats.loss.to_kind(Kind::Double) * l as f64);
            if let Some(g) = stats.gamma {
                gammas.push(g.to_kind(Kind::Double));
            }
            step_no += 1;
            progress(Event::Step {
                done: step_no,
                total: total_steps as usize,
            });
        }
        let train_loss = Tensor::stack(&losses, 0)
            .sum(Kind::Double)
            .double_value(&[])
            / n as f64;
        let train_acc = correct.double_value(&[]) / n as f64;
        let (gamma_mean, gamma_max) = if gammas.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            let g = Tensor::stack(&gammas, 0);
            (
                g.mean(Kind::Double).double_value(&[]),
                g.max().double_value(&[]),
            )
        };
        let seconds = started.elapsed().as_secs_f64();
        let (test_loss, test_acc) = evaluate(&net, &test_dev);
        let sharpness = if cfg.sharpness_examples > 0 {
            m_sharpness(
                &net,
                opt.params(),
                &train_dev,
                cfg.sharpness_examples,
                cfg.sharpness_m,
                rho,
                cfg.sharpness_steps,
            )
        } else {
            f64::NAN
        };
        if !train_loss.is_finite() {
            return Err(Error::invalid(
                "lr",
                format!("training diverged in epoch {epoch} (loss {train_loss}); lower lr or rho"),
            ));
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            train_acc,
            test_loss,
            test_acc,
            gamma_mean,
            gamma_max,
            sharpness,
            images_per_s: n as f64 / seconds,
            lr,
            rho,
        };
        progress(Event::Epoch(&record));
        records.push(record);
    }
    Ok(TrainRun {
        epochs: records,
        vs,
    })
}
