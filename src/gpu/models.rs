//! The networks of the papers' deep experiments, written with `tch::nn`: the 2×500 ReLU MLP
//! (ssam24 MNIST), LeNet-5 (with "same" padding so that it accepts any image of side ≥ 4), the
//! CIFAR ResNets of He et al. (ResNet-20/56: three stages of 16/32/64 channels) and the CIFAR
//! ResNet-18 (four stages of 64…512 channels), and pre-activation wide ResNets WRN-d-k
//! (Zagoruyko & Komodakis). Every block with batch norm registers its running statistics as
//! non-trainable variables, which [`super::Optimizer::for_var_store`] treats as buffers.

use tch::Tensor;
use tch::nn::{self, ConvConfig, ModuleT, SequentialT};

use crate::error::{Error, Result};

/// The architectures [`Arch::parse`] accepts (`wrn-D-K` for any depth D = 6n + 4 and width K).
pub const ARCH_NAMES: [&str; 6] = [
    "mlp", "lenet", "resnet18", "resnet20", "resnet56", "wrn-D-K",
];

/// A network architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Flatten, 500 ReLU, 500 ReLU, linear.
    Mlp,
    /// LeNet-5: conv 6@5×5, pool, conv 16@5×5, pool, 120, 84, linear.
    LeNet,
    /// CIFAR ResNet of depth 6n + 2 (20, 56, …) with 16/32/64 channels.
    CifarResNet {
        /// Depth 6n + 2.
        depth: usize,
    },
    /// CIFAR ResNet-18: basic blocks [2, 2, 2, 2] with 64/128/256/512 channels.
    ResNet18,
    /// Wide ResNet WRN-depth-width (pre-activation, no dropout).
    Wrn {
        /// Depth 6n + 4.
        depth: usize,
        /// Widening factor k.
        width: usize,
    },
}

impl Arch {
    /// Parse a name of [`ARCH_NAMES`].
    pub fn parse(name: &str) -> Result<Arch> {
        let unknown = || {
            Error::invalid(
                "model",
                format!("unknown model `{name}`; valid: {}", ARCH_NAMES.join(", ")),
            )
        };
        Ok(match name {
            "mlp" => Arch::Mlp,
            "lenet" => Arch::LeNet,
            "resnet18" => Arch::ResNet18,
            "resnet20" => Arch::CifarResNet { depth: 20 },
            "resnet56" => Arch::CifarResNet { depth: 56 },
            _ => {
                let rest = name.strip_prefix("wrn-").ok_or_else(unknown)?;
                let (d, k) = rest.split_once('-').ok_or_else(unknown)?;
                let (depth, width) = (
                    d.parse::<usize>().map_err(|_| unknown())?,
                    k.parse::<usize>().map_err(|_| unknown())?,
                );
                if depth < 10 || (depth - 4) % 6 != 0 || width == 0 {
                    return Err(Error::invalid(
                        "model",
                        format!("WRN depth must be 6n + 4 ≥ 10 and width ≥ 1, got {name}"),
                    ));
                }
                Arch::Wrn { depth, width }
            }
        })
    }

    /// Build the network under `p` for images of shape (channels, height, width) and `classes`
    /// outputs.
    pub fn build(
        self,
        p: &nn::Path,
        (c, h, w): (usize, usize, usize),
        classes: usize,
    ) -> Result<SequentialT> {
        let (c, h, w, k) = (c as i64, h as i64, w as i64, classes as i64);
        if matches!(self, Arch::LeNet) && (h < 4 || w < 4) {
            return Err(Error::invalid("model", "LeNet needs images of side >= 4"));
        }
        Ok(match self {
            Arch::Mlp => nn::seq_t()
                .add_fn(|x| x.flatten(1, -1))
                .add(nn::linear(p / "fc1", c * h * w, 500, Default::default()))
                .add_fn(Tensor::relu)
                .add(nn::linear(p / "fc2", 500, 500, Default::default()))
                .add_fn(Tensor::relu)
                .add(nn::linear(p / "fc3", 500, k, Default::default())),
            Arch::LeNet => {
                let same = ConvConfig {
                    padding: 2,
                    ..Default::default()
                };
                nn::seq_t()
                    .add(nn::conv2d(p / "conv1", c, 6, 5, same))
                    .add_fn(|x| x.relu().max_pool2d_default(2))
                    .add(nn::conv2d(p / "conv2", 6, 16, 5, same))
                    .add_fn(|x| x.relu().max_pool2d_default(2).flatten(1, -1))
                    .add(nn::linear(
                        p / "fc1",
                        16 * (h / 4) * (w / 4),
                        120,
                        Default::default(),
                    ))
                    .add_fn(Tensor::relu)
                    .add(nn::linear(p / "fc2", 120, 84, Default::default()))
                    .add_fn(Tensor::relu)
                    .add(nn::linear(p / "fc3", 84, k, Default::default()))
            }
            Arch::CifarResNet { depth } => {
                resnet(p, c, k, &[16, 32, 64], &[(depth as i64 - 2) / 6; 3])
            }
            Arch::ResNet18 => resnet(p, c, k, &[64, 128, 256, 512], &[2, 2, 2, 2]),
            Arch::Wrn { depth, width } => wrn(p, c, k, (depth as i64 - 4) / 6, width as i64),
        })
    }
}

fn conv(p: nn::Path, cin: i64, cout: i64, ksize: i64, stride: i64) -> nn::Conv2D {
    let cfg = ConvConfig {
        stride,
        padding: ksize / 2,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, cin, cout, ksize, cfg)
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, Default::default())
}

/// Post-activation basic block (He et al.) with a 1×1 projection shortcut when the shape changes.
fn basic_block(p: nn::Path, cin: i64, cout: i64, stride: i64) -> impl ModuleT + use<> {
    let c1 = conv(&p / "conv1", cin, cout, 3, stride);
    let b1 = bn(&p / "bn1", cout);
    let c2 = conv(&p / "conv2", cout, cout, 3, 1);
    let b2 = bn(&p / "bn2", cout);
    let shortcut = (stride != 1 || cin != cout).then(|| {
        nn::seq_t()
            .add(conv(&p / "short_conv", cin, cout, 1, stride))
            .add(bn(&p / "short_bn", cout))
    });
    nn::func_t(move |x, train| {
        let y = x
            .apply(&c1)
            .apply_t(&b1, train)
            .relu()
            .apply(&c2)
            .apply_t(&b2, train);
        let s = match &shortcut {
            Some(s) => x.apply_t(s, train),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    })
}

fn resnet(p: &nn::Path, c: i64, k: i64, widths: &[i64], blocks: &[i64]) -> SequentialT {
    let mut net = nn::seq_t()
        .add(conv(p / "conv1", c, widths[0], 3, 1))
        .add(bn(p / "bn1", widths[0]))
        .add_fn(Tensor::relu);
    let mut cin = widths[0];
    for (s, (&cout, &n)) in widths.iter().zip(blocks).enumerate() {
        for b in 0..n {
            let stride = if s > 0 && b == 0 { 2 } else { 1 };
            net = net.add(basic_block(
                p / format!("layer{}_{b}", s + 1),
                cin,
                cout,
                stride,
            ));
            cin = cout;
        }
    }
    net.add_fn(|x| x.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
        .add(nn::linear(p / "fc", cin, k, Default::default()))
}

/// Pre-activation wide block: BN-ReLU-conv-BN-ReLU-conv, projection shortcut on shape change.
fn wide_block(p: nn::Path, cin: i64, cout: i64, stride: i64) -> impl ModuleT + use<> {
    let b1 = bn(&p / "bn1", cin);
    let c1 = conv(&p / "conv1", cin, cout, 3, stride);
    let b2 = bn(&p / "bn2", cout);
    let c2 = conv(&p / "conv2", cout, cout, 3, 1);
    let shortcut =
        (stride != 1 || cin != cout).then(|| conv(&p / "short_conv", cin, cout, 1, stride));
    nn::func_t(move |x, train| {
        let o = x.apply_t(&b1, train).relu();
        let y = o.apply(&c1).apply_t(&b2, train).relu().apply(&c2);
        let s = match &shortcut {
            Some(s) => o.apply(s),
            None => x.shallow_clone(),
        };
        y + s
    })
}

fn wrn(p: &nn::Path, c: i64, k: i64, n: i64, width: i64) -> SequentialT {
    let widths = [16, 16 * width, 32 * width, 64 * width];
    let mut net = nn::seq_t().add(conv(p / "conv1", c, widths[0], 3, 1));
    let mut cin = widths[0];
    for s in 0..3 {
        for b in 0..n {
            let stride = if s > 0 && b == 0 { 2 } else { 1 };
            net = net.add(wide_block(
                p / format!("block{}_{b}", s + 1),
                cin,
                widths[s + 1],
                stride,
            ));
            cin = widths[s + 1];
        }
    }
    let last = bn(p / "bn_last", cin);
    net.add_fn_t(move |x, train| {
        x.apply_t(&last, train)
            .relu()
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
    })
    .add(nn::linear(p / "fc", cin, k, Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(
            Arch::parse("wrn-28-10").unwrap(),
            Arch::Wrn {
                depth: 28,
                width: 10
            }
        );
        assert_eq!(
            Arch::parse("resnet56").unwrap(),
            Arch::CifarResNet { depth: 56 }
        );
        for bad in ["wrn-27-10", "wrn-28", "vgg16", "wrn-28-0"] {
            assert!(Arch::parse(bad).is_err(), "{bad}");
        }
    }
}
