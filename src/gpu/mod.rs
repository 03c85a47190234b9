//! Deep networks on libtorch (feature `torch`, `tch` 0.24 / libtorch 2.11): the SAM family of
//! [`crate::optim`] as tensor code ([`Optimizer`], same names and compositions, plus momentum,
//! weight decay, m-SAM chunks, batch-norm handling and gradient accumulation), the papers'
//! networks ([`Arch`]), and a training loop that logs loss, accuracy, γ_t, m-sharpness and
//! throughput per epoch ([`train()`]). Data come from [`crate::images`]. Runs on the CPU, or on
//! CUDA with `--device cuda` where libtorch's CUDA library can be loaded ([`device`]).

pub mod models;
pub mod optim;
pub mod train;

pub use models::{ARCH_NAMES, Arch};
pub use optim::{DEEP_METHOD_NAMES, DeepMethod, Optimizer, Pass, Sgd, StepStats, global_norm};
pub use train::{
    CrossEntropy, EPOCH_COLUMNS, EpochRecord, Event, TrainConfig, TrainRun, cross_entropy, train,
};

use tch::Device;

use crate::error::{Error, Result};

/// Load libtorch's CUDA library when the binary was linked without it (a CPU-only link, or a
/// linker that dropped the unused library); returns whether CUDA is then available. The library
/// must be loaded before libtorch is first asked about CUDA: libtorch caches that answer.
fn load_cuda() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        // SAFETY: dlopen with a valid C string; the handle is kept for the life of the process.
        let _ = unsafe {
            libc::dlopen(
                c"libtorch_cuda.so".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_GLOBAL,
            )
        };
        tch::Cuda::is_available()
    })
}

/// The device named `name`: `cpu`, `cuda` (device 0) or `cuda:N`.
pub fn device(name: &str) -> Result<Device> {
    let index = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        _ => name
            .strip_prefix("cuda:")
            .and_then(|i| i.parse::<usize>().ok())
            .ok_or_else(|| {
                Error::invalid("device", format!("`{name}`: expected cpu, cuda or cuda:N"))
            })?,
    };
    if !load_cuda() {
        return Err(Error::invalid(
            "device",
            "CUDA is not available: no GPU, or libtorch_cuda.so is not on LD_LIBRARY_PATH \
             (see README, feature `torch`)",
        ));
    }
    let count = tch::Cuda::device_count() as usize;
    if index >= count {
        return Err(Error::invalid(
            "device",
            format!("cuda:{index} requested but {count} CUDA device(s) found"),
        ));
    }
    Ok(Device::Cuda(index))
}
