//! The batched engine against the single-trajectory runner: for every method it runs (gd, sam,
//! sam-star, ssam, ssam-star, with and without gradient noise) on the quartic saddle, the ssam24
//! quadratic (d = 20) and the diagonal network (also 1-SAM), each trajectory's final iterate, step count and
//! divergence step are bitwise those of `optim::run` (ChaCha8) or of a `step` loop (Philox); the
//! results do not depend on the block width or the thread count; the number of allocations of a
//! run does not depend on its number of steps; bad settings are typed errors. A family run
//! (`run_family`: every start with several step sizes, sharing its stream) gives each member
//! bitwise the independent run of that stream.

use rand::{Rng, RngCore};
use samlab::Error;
use samlab::batch::{BatchConfig, BatchResult, Generator, Isa, LaneProblem, run_batch, run_family};
use samlab::data::RegressionData;
use samlab::optim::{Method, Phase, RunConfig, StepSizes, Workspace, run, step};
use samlab::problem::{DiagNet, Problem, Quadratic, QuarticSaddle};
use samlab::rng::{Philox, Xoshiro};

#[path = "common/alloc.rs"]
mod alloc_count;
use alloc_count::allocations;

const GENERATORS: [Generator; 3] = [Generator::ChaCha8, Generator::Philox, Generator::Xoshiro];

const METHODS: [&str; 6] = ["gd", "sam", "nsam", "sam-star", "ssam", "ssam-star"];

/// A deterministic start per trajectory index: the problem's default ± `spread`·(0.5 + |wⱼ|).
fn start(base: &[f64], spread: f64, index: u64, x: &mut [f64]) {
    for (j, (xj, b)) in x.iter_mut().zip(base).enumerate() {
        let u = ((index as f64 + 1.0) * 0.618_033_988_7 + j as f64 * 0.414_213_562).fract();
        *xj = b + spread * (2.0 * u - 1.0) * (0.5 + b.abs());
    }
}

fn method(name: &str, noise: f64) -> Method {
    Method::from_name(name, None, false)
        .unwrap()
        .with_noise(noise)
        .unwrap()
}

/// `optim::run` of trajectory k of a batched run: from the same start on stream (seed, index).
fn runner(
    p: &dyn Problem,
    m: &Method,
    sizes: StepSizes,
    steps: usize,
    cfg: &BatchConfig,
    spread: f64,
    k: usize,
) -> samlab::optim::RunResult {
    let mut x = vec![0.0; p.dim()];
    let index = cfg.first_stream + k as u64;
    start(&p.init(), spread, index, &mut x);
    let mut rc = RunConfig::new(vec![Phase {
        method: *m,
        sizes,
        steps,
    }]);
    rc.seed = cfg.seed;
    rc.stream = index;
    rc.record_every = 0;
    rc.diverge_above = cfg.diverge_above;
    run(p, &x, &rc)
}

/// Each trajectory of `res` equals `optim::run` from the same start on stream (seed, index).
fn assert_matches_runner(
    p: &dyn Problem,
    m: &Method,
    sizes: StepSizes,
    steps: usize,
    cfg: &BatchConfig,
    spread: f64,
    res: &BatchResult,
) {
    for k in 0..cfg.count {
        let single = runner(p, m, sizes, steps, cfg, spread, k);
        let what = format!("{} {m:?} trajectory {k}", p.name());
        assert_eq!(res.params(k), &single.params[..], "{what}");
        assert_eq!(res.steps[k], single.steps, "{what}");
        assert_eq!(res.diverged_at[k], single.diverged_at, "{what}");
    }
}

fn batched<P: LaneProblem + Problem>(
    p: &P,
    m: &Method,
    sizes: StepSizes,
    steps: usize,
    cfg: &BatchConfig,
    spread: f64,
) -> BatchResult {
    let base = p.init();
    run_batch(p, m, sizes, steps, cfg, |index, _rng, x| {
        start(&base, spread, index, x)
    })
    .unwrap()
}

/// Blocks of 4 lanes and one block of 11 (a whole chunk of 8 lanes plus 3, for problems whose
/// lane gradient tiles the lanes).
fn check_all_methods<P: LaneProblem + Problem>(p: &P, lr: f64, rho: f64, noise: f64, steps: usize) {
    check_methods(p, &METHODS, (lr, rho), noise, steps);
}

fn check_methods<P: LaneProblem + Problem>(
    p: &P,
    methods: &[&str],
    (lr, rho): (f64, f64),
    noise: f64,
    steps: usize,
) {
    let mut cfg = BatchConfig::new(3, 11);
    cfg.first_stream = 40;
    for width in [4, 11] {
        cfg.width = width;
        for &name in methods {
            let m = method(name, noise);
            let sizes = StepSizes::constant(lr, rho);
            let res = batched(p, &m, sizes, steps, &cfg, 1.0);
            assert_matches_runner(p, &m, sizes, steps, &cfg, 1.0, &res);
        }
    }
}

#[test]
fn quartic_matches_runner_for_every_method() {
    check_all_methods(&QuarticSaddle::new(), 0.05, 0.2, 0.005, 400);
    check_all_methods(&QuarticSaddle::new(), 0.05, 0.2, 0.0, 400);
}

#[test]
fn quadratic_matches_runner_for_every_method() {
    let q = Quadratic::ssam24(20, 0.01, 0).unwrap();
    check_all_methods(&q, 1e-2, 0.5, 1e-4, 200);
    check_all_methods(&q, 1e-2, 0.5, 0.0, 50);
}

#[test]
fn diag_net_matches_runner_for_every_method() {
    // d = 30 exercises `dot`'s four partial sums and its remainder (30 = 7·4 + 2).
    let data = RegressionData::generate_sparse(30, 20, 3, 10, 0).unwrap();
    let net = DiagNet::new(&data, &[0.05]).unwrap();
    check_all_methods(&net, 0.3, 0.05, 1e-6, 100);
    check_all_methods(&net, 0.3, 0.05, 0.0, 100);
    // 1-SAM: per-example lane gradients, each with its own noise; without noise, the fused
    // kernel (8 lanes at a time, then the lane loop).
    check_methods(&net, &["1sam"], (0.3, 0.05), 1e-6, 60);
    check_methods(&net, &["1sam"], (0.3, 0.05), 0.0, 60);
    // n = 23, d = 13: the chunk kernel's example tiles (4 + 4 + … + 3 single examples) and
    // feature tiles (8, then 2, 2, then 1) all have a remainder.
    let data = RegressionData::generate_sparse(13, 23, 3, 0, 1).unwrap();
    let net = DiagNet::new(&data, &[0.3]).unwrap();
    check_all_methods(&net, 0.2, 0.05, 1e-6, 100);
    check_methods(&net, &["1sam"], (0.2, 0.05), 0.0, 60);
}

/// `BatchConfig::fma` on three diagonal networks: the benchmark's (`data/diag_net_seed0.json`,
/// d = 30, n = 20, α = 0.05, η = 0.5, ρ = 0.05, 1000 steps) and two generated ones (α = 0.3,
/// ρ = 0.05, 300 steps): d = 13, n = 23 (η = 0.2) and d = 45, n = 11 (η = 0.02; all runs stay
/// below 1e3). The first two take the
/// fused kernel's Gram path (d < 2n: s = XᵀXβ − Xᵀy), the third its residual path, and between
/// them every tile width of both. Starts spread around α: every full-batch method stays within
/// 1e-12 of the single runner (per trajectory, relative to the largest entry; measured: 4e-14)
/// with the same step counts, except SAM* and SSAM* without noise. Those two are left out
/// because, once at a minimum, their ascent direction g/‖g‖ is set by rounding, so any change
/// of arithmetic moves them (measured: 3e-8 and 3e-6 after 1000 steps on the first net, 2e-2
/// on another); they need the bitwise kernel. On a CPU with AVX-512 the fused kernel runs (a
/// block of 11: one chunk of 8 lanes, 3 in the lane loop) and some results differ from the
/// runner's bits.
#[test]
fn fma_gradients_stay_within_1e_12_of_the_runner() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diag_net_seed0.json");
    let generated = |d, n, seed| {
        let data = RegressionData::generate_sparse(d, n, 3, 0, seed).unwrap();
        DiagNet::new(&data, &[0.3]).unwrap()
    };
    let nets = [
        (
            DiagNet::new(&RegressionData::load(&path).unwrap(), &[0.05]).unwrap(),
            0.5,
            1000,
        ),
        (generated(13, 23, 1), 0.2, 300),
        (generated(45, 11, 2), 0.02, 300),
    ];
    let mut cfg = BatchConfig::new(3, 11);
    cfg.width = 11;
    cfg.fma = true;
    let (mut worst, mut differ) = (0.0f64, 0);
    for (net, lr, steps) in &nets {
        let sizes = StepSizes::constant(*lr, 0.05);
        for noise in [1e-6, 0.0] {
            for name in METHODS {
                if noise == 0.0 && name.ends_with("-star") {
                    continue;
                }
                let m = method(name, noise);
                let res = batched(net, &m, sizes, *steps, &cfg, 1.0);
                for k in 0..cfg.count {
                    let single = runner(net, &m, sizes, *steps, &cfg, 1.0, k);
                    let what = format!("d = {}: {name} noise {noise} trajectory {k}", net.d());
                    assert_eq!(res.steps[k], single.steps, "{what}");
                    assert_eq!(res.diverged_at[k], single.diverged_at, "{what}");
                    let scale = single.params.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    assert!(scale < 1e3, "{what}: the run blew up");
                    let lanes = res.params(k).iter().zip(&single.params);
                    let err = lanes.fold(0.0f64, |a, (u, v)| a.max((u - v).abs()));
                    assert!(err <= 1e-12 * scale, "{what}: {err:e} of {scale:e}");
                    worst = worst.max(err / scale);
                    differ += usize::from(res.params(k) != &single.params[..]);
                }
            }
        }
    }
    eprintln!("fma: worst relative difference {worst:e}, {differ} trajectories not bitwise");
    if Isa::detected() == "avx512" {
        assert!(differ > 0, "the fused kernel ran");
    }
}

/// Families on the diagonal network (1-SAM, GD, n-SAM, SSAM): each member is bitwise its
/// independent run (on ChaCha8 also the runner's), with and without noise, on every generator;
/// members with η = 40 diverge, so the bound test of the fused kernels (the gradient with its
/// step, 1-SAM's direction) and of their lane loops is exercised.
#[test]
fn diag_net_families_match_independent_runs() {
    let data = RegressionData::generate_sparse(12, 9, 3, 0, 2).unwrap();
    let net = DiagNet::new(&data, &[0.3]).unwrap();
    let family = [
        (0.2, 0.05),
        (40.0, 0.05),
        (0.4, 0.1),
        (0.1, 0.2),
        (0.3, 0.02),
        (0.25, 0.15),
        (0.15, 0.01),
        (0.35, 0.08),
        (0.05, 0.3),
    ];
    let base = net.init();
    let init = |index: u64, _: &mut dyn RngCore, x: &mut [f64]| start(&base, 0.5, index, x);
    for (generator, name) in GENERATORS
        .iter()
        .flat_map(|g| ["1sam", "gd", "nsam", "ssam"].map(|m| (*g, m)))
    {
        for noise in [1e-3, 0.0] {
            let m = method(name, noise);
            // A block of 9 members: the fused 1-SAM kernel takes 8 lanes (each with its own
            // radius), the lane loop the ninth.
            let mut cfg = BatchConfig::new(6, 3);
            cfg.width = 9;
            cfg.diverge_above = 1e3;
            cfg.generator = generator;
            let together = run_family(&net, &m, &family, 40, &cfg, init).unwrap();
            assert!(
                together.diverged_at.iter().any(|d| d.is_some()),
                "some member diverges"
            );
            for (i, &(lr, rho)) in family.iter().enumerate() {
                let alone = run_batch(&net, &m, StepSizes::constant(lr, rho), 40, &cfg, init);
                let alone = alone.unwrap();
                let sizes = StepSizes::constant(lr, rho);
                if generator == Generator::ChaCha8 {
                    assert_matches_runner(&net, &m, sizes, 40, &cfg, 0.5, &alone);
                }
                for k in 0..cfg.count {
                    let t = k * family.len() + i;
                    let what = format!("{name} {generator:?} noise {noise} start {k} member {i}");
                    assert_eq!(together.params(t), alone.params(k), "{what}");
                    assert_eq!(together.diverged_at[t], alone.diverged_at[k], "{what}");
                }
            }
        }
    }
}

/// Divergence: a lane that leaves the bound reports the 1-based update and its last iterate
/// within bounds, like the runner; the other lanes carry on (lanes die at different steps).
#[test]
fn diverged_lanes_are_reported_like_the_runner() {
    let q = QuarticSaddle::new();
    let mut cfg = BatchConfig::new(1, 40);
    cfg.width = 8;
    cfg.diverge_above = 3.0;
    for name in ["gd", "sam", "ssam-star"] {
        let m = method(name, 0.05);
        let sizes = StepSizes::constant(0.45, 0.05);
        let res = batched(&q, &m, sizes, 300, &cfg, 3.0);
        let died = res.diverged_at.iter().filter(|d| d.is_some()).count();
        assert!(
            died > 0 && died < cfg.count,
            "{name}: {died} of 40 diverged"
        );
        assert_matches_runner(&q, &m, sizes, 300, &cfg, 3.0, &res);
    }
    // Non-finite iterates are divergence too, whatever the bound.
    cfg.diverge_above = f64::INFINITY;
    let m = method("sam", 0.0);
    let sizes = StepSizes::constant(5.0, 1.0);
    let res = batched(&q, &m, sizes, 100, &cfg, 1.0);
    assert!(res.diverged_at.iter().all(|d| d.is_some()));
    assert_matches_runner(&q, &m, sizes, 100, &cfg, 1.0, &res);
}

/// Random starts drawn from the trajectory's own generator (as ssam24 Fig 2 does), with either
/// generator: each trajectory equals a `step` loop on that generator (for xoshiro256++, whose
/// lanes the engine draws together with its own ziggurat fast path, this also checks that path
/// against `StandardNormal`).
#[test]
fn random_starts_match_step_loop_for_every_generator() {
    let q = QuarticSaddle::new();
    for generator in GENERATORS {
        let mut cfg = BatchConfig::new(9, 30);
        cfg.first_stream = 1000;
        cfg.width = 16;
        cfg.diverge_above = 1e6;
        cfg.generator = generator;
        for name in ["gd", "sam", "sam-star", "ssam"] {
            let m = method(name, 0.005);
            let res = run_batch(
                &q,
                &m,
                StepSizes::constant(0.1, 0.4),
                500,
                &cfg,
                |_, rng, x| {
                    x[0] = rng.random_range(-2.0..=2.0);
                    x[1] = rng.random_range(-2.0..=2.0);
                },
            )
            .unwrap();
            for k in 0..cfg.count {
                let index = cfg.first_stream + k as u64;
                let mut rng: Box<dyn RngCore> = match generator {
                    Generator::ChaCha8 => Box::new(samlab::rng::stream(cfg.seed, index)),
                    Generator::Philox => Box::new(Philox::new(cfg.seed, index)),
                    Generator::Xoshiro => Box::new(Xoshiro::new(cfg.seed, index)),
                };
                let mut x = [rng.random_range(-2.0..=2.0), rng.random_range(-2.0..=2.0)];
                let mut ws = Workspace::new(2, 1);
                let mut done = 500;
                for t in 0..500 {
                    let prev = x;
                    step(&q, &m, &mut x, 0.1, 0.4, &mut ws, &mut rng);
                    if x.iter().any(|v| v.is_nan() || v.abs() > 1e6) {
                        x = prev;
                        done = t;
                        break;
                    }
                }
                assert_eq!(res.params(k), &x[..], "{generator:?} {name} {k}");
                assert_eq!(res.steps[k], done, "{generator:?} {name} {k}");
            }
        }
    }
}

/// The same trajectories for block widths 1, 5, 64 and on 1 or 3 threads.
#[test]
fn width_and_thread_independence() {
    let q = Quadratic::ssam24(20, 0.01, 1).unwrap();
    let m = method("ssam", 1e-4);
    let sizes = StepSizes::constant(0.05, 0.3);
    for generator in GENERATORS {
        let mut reference = None;
        for (width, threads) in [(1, 1), (5, 3), (64, 1), (64, 3)] {
            let mut cfg = BatchConfig::new(2, 70);
            cfg.width = width;
            cfg.generator = generator;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let res = pool.install(|| batched(&q, &m, sizes, 60, &cfg, 1.0));
            match &reference {
                None => reference = Some(res),
                Some(r) => assert_eq!(r, &res, "{generator:?} width {width}, {threads} threads"),
            }
        }
    }
}

/// The widest instruction set the CPU has gives the bits of the baseline build, for every
/// problem, method and generator (on a CPU without AVX2 both runs take the baseline).
#[test]
fn instruction_sets_give_the_same_bits() {
    let data = RegressionData::generate_sparse(30, 20, 3, 10, 0).unwrap();
    let net = DiagNet::new(&data, &[0.05]).unwrap();
    let quad = Quadratic::ssam24(20, 0.01, 1).unwrap();
    let quartic = QuarticSaddle::new();
    let problems: [(&dyn Fn(&BatchConfig, &Method) -> BatchResult, &str); 3] = [
        (
            &|c, m| batched(&quartic, m, StepSizes::constant(0.3, 0.2), 300, c, 3.0),
            "quartic",
        ),
        (
            &|c, m| batched(&quad, m, StepSizes::constant(0.05, 0.3), 100, c, 1.0),
            "quadratic",
        ),
        (
            &|c, m| batched(&net, m, StepSizes::constant(0.3, 0.05), 100, c, 1.0),
            "diag net",
        ),
    ];
    for generator in GENERATORS {
        for name in METHODS {
            let m = method(name, 1e-3);
            for (run, what) in problems {
                let mut cfg = BatchConfig::new(4, 37);
                cfg.width = 16;
                cfg.diverge_above = 50.0;
                cfg.generator = generator;
                let auto = run(&cfg, &m);
                cfg.isa = Isa::Baseline;
                assert_eq!(
                    auto,
                    run(&cfg, &m),
                    "{what} {name} {generator:?} ({})",
                    Isa::detected()
                );
            }
        }
    }
}

/// The quartic through the engine's general pass-by-pass path (no `pointwise2`).
struct Unfused(QuarticSaddle);

impl LaneProblem for Unfused {
    fn dim(&self) -> usize {
        2
    }
    fn grad_lanes(&self, x: &[f64], width: usize, live: usize, out: &mut [f64], s: &mut [f64]) {
        self.0.grad_lanes(x, width, live, out, s)
    }
}

/// The fused two-parameter step gives the bits of the general path, for every method, with and
/// without noise, with lanes diverging.
#[test]
fn fused_step_matches_the_general_path() {
    for generator in GENERATORS {
        for name in METHODS {
            for noise in [0.0, 0.005] {
                let m = method(name, noise);
                let mut cfg = BatchConfig::new(8, 45);
                cfg.width = 16;
                cfg.diverge_above = 1e3;
                cfg.generator = generator;
                let run = |p: &dyn LaneProblem| {
                    run_batch(
                        p,
                        &m,
                        StepSizes::constant(0.4, 0.3),
                        400,
                        &cfg,
                        |_, rng, x| {
                            x[0] = rng.random_range(-3.0..=3.0);
                            x[1] = rng.random_range(-3.0..=3.0);
                        },
                    )
                    .unwrap()
                };
                let fused = run(&QuarticSaddle::new());
                assert!(
                    fused.diverged_at.iter().any(|d| d.is_some()),
                    "{name}: none diverged"
                );
                assert_eq!(
                    fused,
                    run(&Unfused(QuarticSaddle::new())),
                    "{name} {generator:?}"
                );
            }
        }
    }
}

/// A random start from the trajectory's own generator (so sharing a stream shares the start).
fn random_start(_: u64, rng: &mut dyn RngCore, x: &mut [f64]) {
    for v in x.iter_mut() {
        *v = rng.random_range(-2.0..=2.0);
    }
}

/// Common random numbers: member i of start k of `run_family` is bitwise `run_batch` on stream
/// `first_stream + k` with `family[i]`, for every method and generator, with and without noise,
/// with members diverging at different steps; on the fused path (quartic) and the general one
/// (quadratic).
#[test]
fn family_members_match_independent_runs() {
    let quartic = QuarticSaddle::new();
    let quad = Quadratic::ssam24(6, 0.01, 2).unwrap();
    // η = 0.9 on the quartic and η = 3 on the quadratic diverge after a few steps.
    let quartic_family = [
        (0.01, 0.2),
        (0.3, 0.4),
        (0.9, 0.05),
        (0.1, 0.1),
        (0.05, 0.4),
    ];
    let quad_family = [(0.05, 0.3), (3.0, 0.3), (0.5, 0.1)];
    type Run<'a> = &'a dyn Fn(&Method, &BatchConfig, (f64, f64)) -> BatchResult;
    /// (name, family, the family run, one member's independent run).
    type Case<'a> = (&'a str, &'a [(f64, f64)], Run<'a>, Run<'a>);
    let cases: [Case<'_>; 2] = [
        (
            "quartic",
            &quartic_family,
            &|m, c, _| run_family(&quartic, m, &quartic_family, 300, c, random_start).unwrap(),
            &|m, c, (lr, rho)| {
                run_batch(
                    &quartic,
                    m,
                    StepSizes::constant(lr, rho),
                    300,
                    c,
                    random_start,
                )
                .unwrap()
            },
        ),
        (
            "quadratic",
            &quad_family,
            &|m, c, _| run_family(&quad, m, &quad_family, 60, c, random_start).unwrap(),
            &|m, c, (lr, rho)| {
                run_batch(&quad, m, StepSizes::constant(lr, rho), 60, c, random_start).unwrap()
            },
        ),
    ];
    for (name, family, together, alone) in cases {
        for generator in GENERATORS {
            for (m_name, noise) in METHODS.iter().flat_map(|m| [(m, 0.005), (m, 0.0)]) {
                let m = method(m_name, noise);
                let mut cfg = BatchConfig::new(5, 4);
                cfg.first_stream = 100;
                cfg.width = 2;
                cfg.diverge_above = 1e3;
                cfg.generator = generator;
                let res = together(&m, &cfg, (0.0, 0.0));
                assert_eq!(res.steps.len(), 4 * family.len());
                let mut diverged = 0;
                for k in 0..cfg.count {
                    for (i, &sizes) in family.iter().enumerate() {
                        let mut one = cfg;
                        one.first_stream = cfg.first_stream + k as u64;
                        one.count = 1;
                        let r = alone(&m, &one, sizes);
                        let t = k * family.len() + i;
                        let what =
                            format!("{name} {generator:?} {m_name} s={noise} start {k} {sizes:?}");
                        assert_eq!(res.params(t), r.params(0), "{what}");
                        assert_eq!(res.steps[t], r.steps[0], "{what}");
                        assert_eq!(res.diverged_at[t], r.diverged_at[0], "{what}");
                        diverged += usize::from(r.diverged_at[0].is_some());
                    }
                }
                assert!(diverged > 0, "{name} {m_name}: some member must diverge");
            }
        }
    }
}

/// A family run gives the same bits for block widths 1, 3, 64 and on 1 or 3 threads.
#[test]
fn family_width_and_thread_independence() {
    let q = QuarticSaddle::new();
    let m = method("ssam", 0.005);
    let family: Vec<(f64, f64)> = (0..7).map(|i| (0.02 * (i + 1) as f64, 0.2)).collect();
    let mut reference = None;
    for (width, threads) in [(1, 1), (3, 3), (64, 1), (64, 3)] {
        let mut cfg = BatchConfig::new(4, 9);
        cfg.width = width;
        cfg.generator = Generator::Xoshiro;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let res = pool.install(|| run_family(&q, &m, &family, 200, &cfg, random_start).unwrap());
        match &reference {
            None => reference = Some(res),
            Some(r) => assert_eq!(r, &res, "width {width}, {threads} threads"),
        }
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    let q = QuarticSaddle::new();
    let sizes = StepSizes::constant(0.1, 0.1);
    let field = |r: samlab::Result<BatchResult>| match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected an invalid-field error, got {other:?}"),
    };
    let noop = |_: u64, _: &mut dyn RngCore, _: &mut [f64]| {};
    let mut cfg = BatchConfig::new(0, 10);
    cfg.width = 0;
    assert_eq!(
        field(run_batch(&q, &method("gd", 0.0), sizes, 5, &cfg, noop)),
        "width"
    );
    let cfg = BatchConfig::new(0, 10);
    for name in ["1sam", "random"] {
        let m = Method::from_name(name, None, false).unwrap();
        assert_eq!(field(run_batch(&q, &m, sizes, 5, &cfg, noop)), "method");
    }
    let m = Method::from_name("sgd", Some(1), false).unwrap();
    assert_eq!(field(run_batch(&q, &m, sizes, 5, &cfg, noop)), "method");
    let mut cfg = BatchConfig::new(0, 10);
    cfg.diverge_above = f64::NAN;
    assert_eq!(
        field(run_batch(&q, &method("gd", 0.0), sizes, 5, &cfg, noop)),
        "diverge_above"
    );
    let bad = StepSizes::constant(-1.0, 0.1);
    assert_eq!(
        field(run_batch(
            &q,
            &method("gd", 0.0),
            bad,
            5,
            &BatchConfig::new(0, 1),
            noop
        )),
        "lr"
    );
    let family = |f: &[(f64, f64)]| {
        let m = method("sam", 0.0);
        field(run_family(&q, &m, f, 5, &BatchConfig::new(0, 2), noop))
    };
    assert_eq!(family(&[]), "family");
    assert_eq!(family(&[(0.1, 0.0), (0.1, 0.2)]), "family");
    assert_eq!(family(&[(0.1, 0.1), (f64::NAN, 0.2)]), "lr");
    assert_eq!(family(&[(0.1, -0.1)]), "rho");
}

/// No allocation per step: a run of 500 steps allocates exactly as often as a run of 5 (the
/// result, the blocks' buffers), counted on the single worker thread of a one-thread pool.
#[test]
fn steps_do_not_allocate() {
    let data = RegressionData::generate_sparse(30, 20, 3, 0, 0).unwrap();
    let net = DiagNet::new(&data, &[0.05]).unwrap();
    let quartic = QuarticSaddle::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut cfg = BatchConfig::new(0, 100);
    cfg.width = 32;
    for (name, generator) in METHODS.into_iter().zip(GENERATORS.into_iter().cycle()) {
        cfg.generator = generator;
        let m = method(name, 1e-6);
        let sizes = StepSizes::constant(0.01, 0.05);
        let count = |steps: usize, p: &(dyn Fn(usize) -> BatchResult + Sync)| {
            pool.install(|| allocations(|| std::hint::black_box(p(steps))).0)
        };
        let on_net = |steps: usize| batched(&net, &m, sizes, steps, &cfg, 1.0);
        let on_quartic = |steps: usize| batched(&quartic, &m, sizes, steps, &cfg, 1.0);
        assert!(count(5, &on_net) > 0, "the counter counts");
        assert_eq!(
            count(5, &on_net),
            count(500, &on_net),
            "{name} on the diagonal net"
        );
        assert_eq!(
            count(5, &on_quartic),
            count(500, &on_quartic),
            "{name} on the quartic"
        );
    }
}
