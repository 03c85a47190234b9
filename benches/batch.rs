//! Trajectory-steps per second per core, single runner against the batched engine, on the two
//! ssam24 problems with gradient noise:
//!
//! - `quartic/<variant>/<method>`: the quartic saddle of ssam24 Fig 2 (s² = 0.005, η = 0.01,
//!   ρ = 0.2, starts uniform in [−2, 2]², blow-up bound 1e6), methods gd (SGD), sam, sam-star,
//!   ssam. One iteration is one block of `LANES` trajectories of `STEPS` steps, so
//!   ns/trajectory-step = time per iteration / (LANES · STEPS). Variants: `single_chacha8` (the
//!   `step` loop of the single runner, one trajectory after the other, ChaCha8),
//!   `single_philox` (the same loop on Philox), `batch_chacha8` and `batch_philox` (the batched
//!   engine, one block of `LANES` lanes on one thread), `family_xoshiro` (`batch::run_family`: one
//!   start run with `LANES` step-size pairs that share its stream, so a row of normals is drawn
//!   once for the block; every member has η = 0.01, ρ = 0.2, the per-slot work of the other
//!   variants), and, without noise (the arithmetic alone), `single_nonoise` and `batch_nonoise`.
//! - `quadratic/<variant>/<method>`: the ssam24 Fig 6 quadratic (d = 20, δ = 0.01, s² = 1e-4,
//!   η = 1e-3, ρ = 0.5), methods gd, sam, sam-star, ssam; one iteration is `QSTEPS` steps of one
//!   trajectory (single) or of each of `QLANES` lanes (batched).
//!
//! `benches/run_benchmarks.sh` reads `target/criterion/<group>/<variant>_<method>/new/estimates.json`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::Rng;
use samlab::batch::{BatchConfig, Generator, LaneProblem, run_batch, run_family};
use samlab::optim::{Method, StepSizes, Workspace, step};
use samlab::problem::{Problem, Quadratic, QuarticSaddle};
use samlab::rng::{Philox, stream};

const METHODS: [&str; 4] = ["gd", "sam", "sam-star", "ssam"];
const LANES: usize = 64;
const STEPS: usize = 1000;
const QLANES: usize = 16;
const QSTEPS: usize = 1000;

fn method(name: &str, noise: f64) -> Method {
    Method::from_name(name, None, false)
        .and_then(|m| m.with_noise(noise))
        .expect("method")
}

/// `count` trajectories of `steps` steps, one after the other with `step`, starts uniform in
/// [−h, h]^p drawn from the trajectory's generator; returns the number that stayed within bounds.
fn single<P: Problem, R: Rng>(
    p: &P,
    m: &Method,
    (lr, rho): (f64, f64),
    steps: usize,
    count: usize,
    h: f64,
    generator: impl Fn(u64) -> R,
) -> usize {
    let mut ws = Workspace::new(p.dim(), p.n_examples());
    let mut x = vec![0.0; p.dim()];
    let mut alive = 0;
    for k in 0..count {
        let mut rng = generator(k as u64);
        x.iter_mut().for_each(|v| *v = rng.random_range(-h..=h));
        let mut ok = true;
        for _ in 0..steps {
            step(p, m, &mut x, lr, rho, &mut ws, &mut rng);
            if !x.iter().all(|v| v.abs() <= 1e6) {
                ok = false;
                break;
            }
        }
        alive += usize::from(ok);
    }
    alive
}

/// The same with the batched engine, one block on the calling thread's pool.
#[allow(clippy::too_many_arguments)]
fn batched<P: LaneProblem>(
    p: &P,
    m: &Method,
    (lr, rho): (f64, f64),
    steps: usize,
    count: usize,
    h: f64,
    generator: Generator,
) -> usize {
    let mut cfg = BatchConfig::new(0, count);
    cfg.width = count;
    cfg.diverge_above = 1e6;
    cfg.generator = generator;
    let res = run_batch(
        p,
        m,
        StepSizes::constant(lr, rho),
        steps,
        &cfg,
        |_, rng, x| x.iter_mut().for_each(|v| *v = rng.random_range(-h..=h)),
    )
    .expect("batched run");
    res.diverged_at.iter().filter(|d| d.is_none()).count()
}

/// One start run with `count` copies of (η, ρ) sharing its stream ([`run_family`]), one block.
fn family<P: LaneProblem>(
    p: &P,
    m: &Method,
    sizes: (f64, f64),
    steps: usize,
    count: usize,
    h: f64,
) -> usize {
    let mut cfg = BatchConfig::new(0, 1);
    cfg.width = count;
    cfg.diverge_above = 1e6;
    cfg.generator = Generator::Xoshiro;
    let members = vec![sizes; count];
    let res = run_family(p, m, &members, steps, &cfg, |_, rng, x| {
        x.iter_mut().for_each(|v| *v = rng.random_range(-h..=h))
    })
    .expect("family run");
    res.diverged_at.iter().filter(|d| d.is_none()).count()
}

fn bench_problem<P: Problem + LaneProblem>(
    c: &mut Criterion,
    group: &str,
    p: &P,
    noise: f64,
    sizes: (f64, f64),
    (lanes, steps, h): (usize, usize, f64),
) {
    let mut g = c.benchmark_group(group);
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    g.sample_size(20);
    for name in METHODS {
        let m = method(name, noise);
        // The single runner does `lanes` trajectories per iteration too only on the quartic;
        // on the quadratic one iteration is one trajectory (a run of the fig6 kind).
        let single_count = if group == "quartic" { lanes } else { 1 };
        g.bench_function(format!("single_chacha8_{name}"), |b| {
            b.iter(|| {
                black_box(single(p, &m, sizes, steps, single_count, h, |k| {
                    stream(1, k)
                }))
            })
        });
        g.bench_function(format!("single_philox_{name}"), |b| {
            b.iter(|| {
                black_box(single(p, &m, sizes, steps, single_count, h, |k| {
                    Philox::new(1, k)
                }))
            })
        });
        for (id, generator) in [
            ("chacha8", Generator::ChaCha8),
            ("philox", Generator::Philox),
            ("xoshiro", Generator::Xoshiro),
        ] {
            g.bench_function(format!("batch_{id}_{name}"), |b| {
                b.iter(|| black_box(batched(p, &m, sizes, steps, lanes, h, generator)))
            });
        }
        if group == "quartic" {
            g.bench_function(format!("family_xoshiro_{name}"), |b| {
                b.iter(|| black_box(family(p, &m, sizes, steps, lanes, h)))
            });
            let quiet = method(name, 0.0);
            g.bench_function(format!("single_nonoise_{name}"), |b| {
                b.iter(|| black_box(single(p, &quiet, sizes, steps, lanes, h, |k| stream(1, k))))
            });
            g.bench_function(format!("batch_nonoise_{name}"), |b| {
                b.iter(|| {
                    black_box(batched(
                        p,
                        &quiet,
                        sizes,
                        steps,
                        lanes,
                        h,
                        Generator::ChaCha8,
                    ))
                })
            });
        }
    }
    g.finish();
}

fn bench_all(c: &mut Criterion) {
    // One block per batched call: it runs as one rayon task, on one core.
    bench_problem(
        c,
        "quartic",
        &QuarticSaddle::new(),
        0.005,
        (0.01, 0.2),
        (LANES, STEPS, 2.0),
    );
    let q = Quadratic::ssam24(20, 0.01, 0).expect("quadratic");
    bench_problem(c, "quadratic", &q, 1e-4, (1e-3, 0.5), (QLANES, QSTEPS, 1.0));
}

criterion_group!(benches, bench_all);
criterion_main!(benches);
