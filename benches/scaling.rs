//! How the cost of one step grows with the problem size on the af22 diagonal network: GD and
//! n-SAM steps (single runner, preallocated `Workspace`) on sparse-regression data with
//! d ∈ {10, 100, 1000, 10000} features at n = 20 examples, and n ∈ {10, 100, 1000, 10000}
//! examples at d = 30 (`RegressionData::generate_sparse`, 3 non-zero coefficients, seed 0;
//! α = 0.05, γ = ρ = 1e-3; w is reset to the initialization every 1000 steps).
//!
//! Benchmark ids: `scaling_d/<method>_<d>` and `scaling_n/<method>_<n>`. After the measurements
//! the bench reads criterion's estimates back and draws `figures/bench_scaling.{png,svg,csv}`
//! (two log–log panels, ns per step against d and against n, with the flop count of the step
//! divided by the assumed per-core peak as the roofline).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use samlab::data::RegressionData;
use samlab::optim::{Method, Workspace, step};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{DiagNet, Problem};
use samlab::rng::stream;

const SIZES: [usize; 4] = [10, 100, 1000, 10_000];
const METHODS: [&str; 2] = ["gd", "nsam"];
const N_FIXED: usize = 20;
const D_FIXED: usize = 30;
const RESET: u64 = 1000;
/// Assumed per-core peak (GFLOP/s) when `SAMLAB_PEAK_GFLOPS` is unset (the script passes it from
/// the measured clock): the widest vector unit the full-batch gradient runs on (`batch::Isa`:
/// 8, 4 or 2 f64 lanes) × (1 add + 1 mul) per cycle at 2.1 GHz.
fn default_peak() -> f64 {
    let lanes = match samlab::batch::Isa::detected() {
        "avx512" => 8.0,
        "avx2" => 4.0,
        _ => 2.0,
    };
    2.0 * lanes * 2.1
}

/// Flops of one step as the code performs them (BENCHMARKS.md, roofline): a full-batch gradient
/// is 4nd + n + 6d + 1, the update 4d, n-SAM's ascent another 4d.
fn flops(method: &str, n: usize, d: usize) -> f64 {
    let g = (4 * n * d + n + 6 * d + 1) as f64;
    let upd = (4 * d) as f64;
    match method {
        "gd" => g + upd,
        _ => 2.0 * g + 2.0 * upd,
    }
}

fn net(d: usize, n: usize) -> DiagNet {
    let data = RegressionData::generate_sparse(d, n, 3.min(d), 1, 0).expect("data");
    DiagNet::new(&data, &[0.05]).expect("net")
}

fn bench_one(c: &mut Criterion, group: &str, id: String, p: &DiagNet, name: &str) {
    let mut g = c.benchmark_group(group);
    g.measurement_time(Duration::from_secs(2));
    g.warm_up_time(Duration::from_millis(300));
    g.sample_size(10);
    let m = Method::from_name(name, None, false).expect("method");
    let init = p.init();
    let mut w = init.clone();
    let mut ws = Workspace::new(p.dim(), p.n_examples());
    let mut rng = stream(0, 0);
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            w.copy_from_slice(&init);
            let t = Instant::now();
            for k in 0..iters {
                if k % RESET == RESET - 1 {
                    w.copy_from_slice(&init);
                }
                black_box(step(
                    p,
                    &m,
                    black_box(&mut w),
                    1e-3,
                    1e-3,
                    &mut ws,
                    &mut rng,
                ));
            }
            let elapsed = t.elapsed();
            assert!(w.iter().all(|v| v.is_finite()), "the iterate stays finite");
            elapsed
        })
    });
    g.finish();
}

fn estimate(crit: &Path, group: &str, id: &str) -> Option<f64> {
    let path = crit.join(group).join(id).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    for &d in &SIZES {
        let p = net(d, N_FIXED);
        for name in METHODS {
            bench_one(&mut c, "scaling_d", format!("{name}_{d}"), &p, name);
        }
    }
    for &n in &SIZES {
        let p = net(D_FIXED, n);
        for name in METHODS {
            bench_one(&mut c, "scaling_n", format!("{name}_{n}"), &p, name);
        }
    }
    c.final_summary();
    if let Err(e) = figure() {
        eprintln!("bench_scaling figure: {e}");
        std::process::exit(2);
    }
}

/// Draw figures/bench_scaling.{png,svg,csv} from criterion's estimates.
fn figure() -> samlab::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let crit = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("criterion");
    let peak = std::env::var("SAMLAB_PEAK_GFLOPS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(default_peak);
    let xs: Vec<f64> = SIZES.iter().map(|&s| s as f64).collect();
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    for (group, label, other) in [
        ("scaling_d", "features d (n = 20)", N_FIXED),
        ("scaling_n", "examples n (d = 30)", D_FIXED),
    ] {
        let mut panel = Panel::new(
            format!(
                "diagonal net: time per step against {}",
                &label[..label.find(' ').unwrap_or(0)]
            ),
            label,
            "ns per step (one core)",
        )
        .scales(Scale::Log, Scale::Log);
        for (mi, name) in METHODS.iter().enumerate() {
            let mut ys = Vec::new();
            let mut roof = Vec::new();
            for &s in &SIZES {
                let (n, d) = if group == "scaling_d" {
                    (other, s)
                } else {
                    (s, other)
                };
                let ns = estimate(&crit, group, &format!("{name}_{s}")).unwrap_or(f64::NAN);
                let f = flops(name, n, d);
                ys.push(ns);
                roof.push(f / peak);
                rows.push(vec![
                    f64::from(group == "scaling_n"),
                    mi as f64,
                    n as f64,
                    d as f64,
                    ns,
                    f,
                    f / ns,
                    f / peak,
                ]);
            }
            panel
                .series
                .push(Series::line(format!("{name} (measured)"), xs.clone(), ys).as_points());
            panel.series.push(Series::line(
                format!("{name}: flops / peak"),
                xs.clone(),
                roof,
            ));
        }
        panels.push(panel);
    }
    let fig = Figure::new(
        format!(
            "Cost of one step on the diagonal network (single runner; roofline at {peak:.1} GFLOP/s per core)"
        ),
        panels,
    );
    let stem = root.join("figures/bench_scaling");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            (
                "figure",
                "time per step against d and n, diagonal net".into(),
            ),
            (
                "source",
                "cargo bench --bench scaling (criterion mean)".into(),
            ),
            ("peak_gflops", peak.to_string()),
            ("sweep", "0 = d at n = 20, 1 = n at d = 30".into()),
            ("method_index", "0 = gd, 1 = nsam".into()),
        ],
        &[
            "sweep",
            "method_index",
            "n",
            "d",
            "ns_per_step",
            "flops_per_step",
            "gflops",
            "roofline_ns",
        ],
        &rows,
    )
}
