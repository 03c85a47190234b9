//! Cost of ONE optimizer step on the af22 diagonal network (d = 30, n = 20, α = 0.05), loaded from
//! `data/diag_net_seed0.json`. Every method runs with a preallocated `Workspace` and rng, in place
//! on the same `w`; `w` is reset to the initialization every `RESET` steps, so the timing covers
//! the first `RESET` steps of a trajectory (the regime of the af22 Fig 14 runs) and the iterate
//! never drifts into a different numerical regime (e.g. subnormals) during long measurements.
//!
//! Benchmark ids: `diag_net_step/<method>`; criterion writes the per-step estimates to
//! `target/criterion/diag_net_step/<method>/new/estimates.json` (read by
//! `benches/run_benchmarks.sh`, which compares them with `benches/numpy_reference.py`).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use samlab::batch::{BatchConfig, Generator, run_batch};
use samlab::data::RegressionData;
use samlab::optim::{Method, StepSizes, Workspace, step};
use samlab::problem::{DiagNet, Problem};
use samlab::rng::stream;

/// Learning rate and radius of every benchmarked step (paper units).
const LR: f64 = 0.5;
const RHO: f64 = 0.05;
/// Steps between resets of w to the initialization.
const RESET: u64 = 1000;

/// (benchmark id, method name, batch size).
const METHODS: [(&str, &str, Option<usize>); 6] = [
    ("gd", "gd", None),
    ("nsam", "nsam", None),
    ("1sam", "1sam", None),
    ("ssam", "ssam", None),
    ("sgd_b5", "sgd", Some(5)),
    ("msam_b5", "msam", Some(5)),
];

fn problem() -> DiagNet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diag_net_seed0.json");
    let data = RegressionData::load(&path).expect("load data/diag_net_seed0.json");
    assert_eq!((data.n(), data.d()), (20, 30), "unexpected data shape");
    DiagNet::new(&data, &[0.05]).expect("diagonal net")
}

fn bench_steps(c: &mut Criterion) {
    let net = problem();
    let init = net.init();
    let mut group = c.benchmark_group("diag_net_step");
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    for (id, name, batch) in METHODS {
        let method = Method::from_name(name, batch, false).expect("method");
        method.check(net.n_examples()).expect("batch fits");
        let mut w = init.clone();
        let mut ws = Workspace::new(net.dim(), net.n_examples());
        let mut rng = stream(0, 0);
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                w.copy_from_slice(&init);
                let start = Instant::now();
                for k in 0..iters {
                    if k % RESET == RESET - 1 {
                        w.copy_from_slice(&init);
                    }
                    black_box(step(
                        black_box(&net),
                        &method,
                        black_box(&mut w),
                        LR,
                        RHO,
                        &mut ws,
                        &mut rng,
                    ));
                }
                let elapsed = start.elapsed();
                assert!(
                    w.iter().all(|x| x.is_finite()),
                    "{id}: iterate left the finite range"
                );
                elapsed
            })
        });
    }
    group.finish();
}

/// Lanes of the one block of the batched engine (32 keeps a block's buffers in L1/L2; 64 is
/// slower on the diagonal network).
const LANES: usize = 32;

/// The same steps in the batched engine: one block of `LANES` trajectories (all from the
/// initialization) for `RESET` steps on the calling thread; the estimate is divided by
/// `LANES · RESET` by `benches/run_benchmarks.sh`, giving ns per trajectory-step. The `-fma`
/// ids run the full-batch methods with `BatchConfig::fma` (fused multiply-adds in an order of the
/// gradient kernel's own, through the Gram matrix when d < 2n: within 1e-12 of the runner, not
/// bitwise).
fn bench_batched(c: &mut Criterion) {
    let net = problem();
    let init = net.init();
    let mut group = c.benchmark_group("diag_net_batch");
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    group.sample_size(20);
    let ids = [
        "gd", "nsam", "1sam", "ssam", "gd-fma", "nsam-fma", "ssam-fma",
    ];
    for id in ids {
        let name = id.trim_end_matches("-fma");
        let method = Method::from_name(name, None, false).expect("method");
        let mut cfg = BatchConfig::new(0, LANES);
        cfg.width = LANES;
        cfg.fma = name != id;
        cfg.generator = Generator::Xoshiro;
        group.bench_function(id, |b| {
            b.iter(|| {
                let res = run_batch(
                    black_box(&net),
                    &method,
                    StepSizes::constant(LR, RHO),
                    RESET as usize,
                    &cfg,
                    |_, _, x| x.copy_from_slice(&init),
                )
                .expect("batched run");
                assert!(res.diverged_at.iter().all(|d| d.is_none()), "{id} diverged");
                black_box(res)
            })
        });
    }
    group.finish();
}

/// Independent chains of the core-peak loops: enough to hide the 4-cycle latency at 2 vector
/// operations per cycle, few enough to stay in registers (16 measured slower here).
const CHAINS: usize = 12;
/// Rounds of the core-peak loops per iteration: `CHAINS · PEAK_ROUNDS` vector operations.
const PEAK_ROUNDS: usize = 1000;

/// What this core can do, measured: `CHAINS · PEAK_ROUNDS` AVX-512 (8 × f64) operations per
/// iteration on independent register chains, for the roofline of `benches/run_benchmarks.sh`:
/// `mix` alternates multiplies and adds (the arithmetic of the bitwise kernels), `fma` is fused
/// multiply-adds. Skipped on a CPU without AVX-512.
#[cfg(target_arch = "x86_64")]
fn bench_core_peak(c: &mut Criterion) {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    fn chains<const FMA: bool>(scale: f64) -> f64 {
        let (b, e) = (_mm512_set1_pd(scale), _mm512_set1_pd(1e-9));
        let mut a = [_mm512_set1_pd(1.0); CHAINS];
        for _ in 0..PEAK_ROUNDS {
            for (k, v) in a.iter_mut().enumerate() {
                *v = match (FMA, k % 2) {
                    (true, _) => _mm512_fmadd_pd(*v, b, e),
                    (false, 0) => _mm512_mul_pd(*v, b),
                    (false, _) => _mm512_add_pd(*v, e),
                };
            }
        }
        a.iter().map(|v| _mm512_reduce_add_pd(*v)).sum()
    }

    if !std::arch::is_x86_feature_detected!("avx512f") {
        return;
    }
    let mut group = c.benchmark_group("core_peak");
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));
    // SAFETY (both): the CPU has AVX-512F (checked above).
    group.bench_function("mix", |b| {
        b.iter(|| unsafe { chains::<false>(black_box(0.999_999)) })
    });
    group.bench_function("fma", |b| {
        b.iter(|| unsafe { chains::<true>(black_box(0.999_999)) })
    });
    group.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn bench_core_peak(_: &mut Criterion) {}

criterion_group!(benches, bench_steps, bench_batched, bench_core_peak);
criterion_main!(benches);
