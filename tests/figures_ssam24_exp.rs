//! The ssam24 experiment examples in quick mode (γ_t ratio, stability on S vs S′, Remark 9): each
//! runs at small size into a temporary folder, writes its PNG, SVG and CSV, and the CSV has the
//! expected shape, finite values and the figure's fact. Also: the closed form of the paper-setting
//! stationary error against its Lyapunov series, and coupled steps that do not allocate (a
//! counting allocator, on for this thread only while steps run).

use samlab::optim::coupled::{Coupled, Rule, neighbour_quadratic};
use samlab::plot::read_csv;
use samlab::problem::{Logistic, Problem, Quadratic};

#[path = "common/figures.rs"]
mod common;
use common::{assert_written, column};

#[path = "common/alloc.rs"]
mod alloc_count;
use alloc_count::allocations;

#[path = "../examples/ssam24_ratio.rs"]
#[allow(dead_code)]
mod ssam24_ratio;
#[path = "../examples/ssam24_rem9.rs"]
#[allow(dead_code)]
mod ssam24_rem9;
#[path = "../examples/ssam24_stability.rs"]
#[allow(dead_code)]
mod ssam24_stability;

#[test]
fn coupled_steps_do_not_allocate() {
    let q = Quadratic::random_centers(vec![2.0, 0.3, 0.3, 1.0], 2, 5, &[1.0, 0.0], 1.0, 0).unwrap();
    let q2 = neighbour_quadratic(&q, 0, &[3.0, 3.0]).unwrap();
    let lg = Logistic::random(3, 6, 0.1, 1).unwrap();
    let (x, y) = lg.draw_example(&mut samlab::rng::stream(2, 0)).unwrap();
    let lg2 = lg.with_example(0, &x, y).unwrap();
    let pairs: [(&dyn Problem, &dyn Problem); 2] = [(&q, &q2), (&lg, &lg2)];
    for (s, s2) in pairs {
        for rule in Rule::ALL {
            let w0 = vec![0.5; s.dim()];
            let mut c =
                Coupled::new(s, s2, &w0, rule, 0.05, 0.1, samlab::rng::stream(0, 0)).unwrap();
            let (count, d) = allocations(|| {
                for _ in 0..100 {
                    c.step();
                }
                c.distance()
            });
            assert_eq!(count, 0, "{} {}", s.name(), rule.name());
            assert!(d.is_finite() && d > 0.0);
        }
    }
}

#[test]
fn ssam24_ratio_assumption1_holds_on_convex_problems_not_on_the_saddle() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_ratio::Args {
        rhos: vec![0.01, 0.05, 0.2, 0.5],
        rule: "sam".into(),
        runs: 0,
        steps: 0,
        n: 50,
        mu: 0.1,
        lambda: 0.01,
        lr_frac: 0.5,
        lr_saddle: 0.05,
        init_std: 3.0,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let curves = ssam24_ratio::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_ratio");
    let (_, cols, rows) = read_csv(&dir.path().join("ssam24_ratio.csv")).unwrap();
    assert_eq!(curves.len(), 3 * 4);
    let per_curve = curves[0].points.len();
    assert_eq!(rows.len(), 12 * per_curve);
    let (pi, bi) = (column(&cols, "problem"), column(&cols, "bound"));
    for r in &rows {
        for (k, v) in r.iter().enumerate() {
            assert!(v.is_finite() || (k == bi && r[pi] == 2.0), "{r:?}");
        }
    }
    // The fact: on the strongly convex problems γ_t ≤ 1/(1 + µρ) < 1 at every step (Assumption 1
    // holds); on the quartic saddle, at ρ = 0.5, some steps have γ_t ≥ 1 (it fails).
    for c in &curves {
        if c.problem < 2 {
            assert!(
                c.max <= c.bound * (1.0 + 1e-12) && c.max < 1.0,
                "{} {}",
                c.rho,
                c.max
            );
            assert_eq!(c.frac_ge1, 0.0);
        }
    }
    let saddle = curves
        .iter()
        .find(|c| c.problem == 2 && c.rho == 0.5)
        .unwrap();
    assert!(saddle.max > 1.0 && saddle.frac_ge1 > 0.0, "{}", saddle.max);
}

#[test]
fn ssam24_stability_measured_below_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_stability::Args {
        n: 20,
        epochs: 0,
        reps: 0,
        reps_logistic: 0,
        p: 5,
        mu: 0.5,
        l: 1.0,
        mean: 2.0,
        p_logistic: 3,
        lambda: 2.0,
        rho_frac: 0.5,
        eta_frac: 0.5,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let fams = ssam24_stability::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_stability");
    let (settings, cols, rows) = read_csv(&dir.path().join("ssam24_stability.csv")).unwrap();
    let epochs: usize = settings
        .iter()
        .find(|(k, _)| k == "epochs")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(rows.len(), 2 * 3 * (epochs + 1));
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    assert!(
        settings
            .iter()
            .any(|(_, v)| v.contains("population risk by a 10^6-sample"))
    );
    let (ei, di, gi, bi, gg) = (
        column(&cols, "epoch"),
        column(&cols, "distance"),
        column(&cols, "gap"),
        column(&cols, "bound"),
        column(&cols, "G"),
    );
    // The fact: the runs start together, then separate, and every mean distance and gap stays
    // below its bound (Theorems 5 and 14, SGD's with ρ = 0; distance against bound/G).
    for r in &rows {
        if r[ei] == 0.0 {
            assert_eq!(r[di], 0.0);
        } else {
            assert!(r[di] > 0.0, "{r:?}");
            assert!(r[di] <= r[bi] / r[gg] && r[gi] <= r[bi], "{r:?}");
        }
    }
    assert_eq!(fams.len(), 2);
    // γ_upp of the SSAM runs is below 1 (strongly convex problems).
    assert!(fams.iter().all(|f| f.consts[5] > 0.0 && f.consts[5] < 1.0));
}

#[test]
fn ssam24_rem9_error_rises_with_the_same_example_and_dips_with_fresh_noise() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_rem9::Args {
        p: 5,
        mu: 0.25,
        l: 1.0,
        n: 10,
        lr_l: 0.05,
        noise: 1e-2,
        rho_min: 1e-3,
        rho_max: 10.0,
        points: 0,
        streams: 0,
        window: 0,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let out = ssam24_rem9::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_rem9");
    let (_, _, rows) = read_csv(&dir.path().join("ssam24_rem9.csv")).unwrap();
    assert_eq!(rows.len(), 2 * 7);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    for pts in [&out.same, &out.noisy] {
        for x in pts.iter() {
            // Measured (mean ± 1.96 s.e.) agrees with the exact stationary error.
            assert!((x.1 - x.3).abs() <= 2.0 * x.2, "{x:?}");
            // The printed steady term bounds the error here (c ≥ 0 on the grid: printed = corrected).
            assert!(x.1 <= x.4 && (x.4 - x.5).abs() <= 1e-9 * x.4, "{x:?}");
        }
    }
    // (a) the paper's setting: the exact error increases with ρ (no fall).
    assert!(out.same.windows(2).all(|w| w[1].3 > w[0].3));
    // (b) fresh noise: some interior ρ is below both ends, exact and measured.
    let dips = |f: &dyn Fn(&ssam24_rem9::Point) -> f64| {
        let v: Vec<f64> = out.noisy.iter().map(f).collect();
        let m = v.iter().copied().fold(f64::INFINITY, f64::min);
        m < v[0] && m < v[v.len() - 1]
    };
    assert!(dips(&|x| x.3) && dips(&|x| x.1));
    // The printed bound falls then rises too (its minimum at ρ = √(η/L)).
    let b: Vec<f64> = out.same.iter().map(|x| x.4).collect();
    let m = b.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(m < b[0] && m < b[b.len() - 1]);
}

/// ½Σλᵢηκᵢ Cᵢᵢ/(2 − ηκᵢ) equals the exact stationary error of the linear recursion for a diagonal A
/// and a non-diagonal centre covariance C (only Cᵢᵢ matters).
#[test]
fn ssam24_rem9_closed_form_matches_the_lyapunov_series() {
    let eigs = [0.25, 0.5, 1.0];
    let p = 3;
    let mut a = vec![0.0; 9];
    (0..p).for_each(|i| a[i * p + i] = eigs[i]);
    let c = [1.0, 0.3, -0.2, 0.3, 0.8, 0.1, -0.2, 0.1, 0.5];
    for &(lr, rho) in &[(0.05, 0.0), (0.05, 0.5), (0.3, 2.0), (0.01, 10.0)] {
        let cf = ssam24_rem9::closed_form_same_example(&eigs, &[1.0, 0.8, 0.5], lr, rho);
        let s = ssam24_rem9::stationary_error_series(&a, &c, p, lr, rho);
        assert!((cf - s).abs() <= 1e-10 * s, "{lr} {rho}: {cf} vs {s}");
    }
}
