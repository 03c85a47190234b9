//! The ssam24 figure examples in quick mode: each runs at small size into a temporary folder,
//! writes its PNG, SVG and CSV, and the CSV has the expected shape, finite values and the
//! figure's fact. Also checks the closed-form stationary loss of SAM on the noisy quadratic.

use samlab::plot::read_csv;
use samlab::problem::{Quadratic, sym_eigenvalues};

#[path = "common/figures.rs"]
mod common;
use common::{assert_written, column, setting};

#[path = "../examples/ssam24_fig1.rs"]
#[allow(dead_code)]
mod ssam24_fig1;
// Also loaded inside ssam24_fig7 (which reuses its closed form and runner).
#[path = "../examples/ssam24_fig6.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod ssam24_fig6;
#[path = "../examples/ssam24_fig7.rs"]
#[allow(dead_code)]
mod ssam24_fig7;

#[test]
fn ssam24_fig1_unnormalized_sam_is_slowed_at_the_saddle() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_fig1::Args {
        steps: 0,
        d: 20,
        init_std: 0.01,
        lr: 1e-3,
        rhos: vec![0.02, 0.05, 0.08, 0.4],
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let finals = ssam24_fig1::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_fig1");
    let (settings, cols, rows) = read_csv(&dir.path().join("ssam24_fig1.csv")).unwrap();
    assert_eq!(setting(&settings, "steps"), "12000");
    let every: usize = setting(&settings, "record_every").parse().unwrap();
    assert_eq!(rows.len(), 4 * 4 * (12_000 / every + 1));
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (ri, mi, si, li) = (
        column(&cols, "rho_index"),
        column(&cols, "method_index"),
        column(&cols, "step"),
        column(&cols, "loss"),
    );
    let curve = |r: f64, m: f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|x| x[ri] == r && x[mi] == m)
            .map(|x| (x[si], x[li]))
            .collect()
    };
    // Every run starts at the saddle value ½‖I‖² = d/2 (up to the tiny initialization).
    assert!((curve(3.0, 1.0)[0].1 - 10.0).abs() < 0.1);
    // The fact (ρ = 0.4): unnormalized SAM ends above SSAM and GD …
    let f = &finals[3];
    assert!(
        f[1] > f[3] && f[1] > f[0],
        "SAM {} vs SSAM {} vs GD {}",
        f[1],
        f[3],
        f[0]
    );
    // … because it leaves the saddle later: first recorded step with loss < 1 (a tenth of the
    // saddle value) is GD < SSAM < SAM; SAM* (normalized, ρ = 0.4) never leaves it.
    let escape = |m: f64| {
        curve(3.0, m)
            .iter()
            .find(|p| p.1 < 1.0)
            .map_or(f64::INFINITY, |p| p.0)
    };
    let (gd, sam, star, ssam) = (escape(0.0), escape(1.0), escape(2.0), escape(3.0));
    assert!(
        gd < ssam && ssam < sam && sam.is_finite(),
        "{gd} {ssam} {sam}"
    );
    assert!(star.is_infinite() && f[2] > 5.0, "SAM* {star} {}", f[2]);
    // At small ρ all four escape and reach a loss below 1e-6.
    assert!(finals[0].iter().all(|l| *l < 1e-6), "{:?}", finals[0]);
}

/// The closed form Σ ηs²(1 + ρ²λ²)/(2(1 + ρλ)(2 − ηµ)) equals the exact stationary loss of the
/// linear recursion x⁺ = (I − ηH(I + ρH))x − ηρHξ₁ − ηξ₂ computed without eigenvectors.
#[test]
fn ssam24_closed_form_matches_the_covariance_recursion() {
    let d = 20;
    let q = Quadratic::ssam24(d, 0.01, 0).unwrap();
    let eigs = sym_eigenvalues(q.a(), d);
    for &lr in &[1e-3, 0.1] {
        for &rho in &[0.0, 0.01, 0.5, 2.0] {
            let cf = ssam24_fig6::closed_form(&eigs, lr, 1e-4, rho);
            let exact = ssam24_fig6::stationary_loss_matrix(q.a(), d, lr, 1e-4, rho);
            assert!(
                (cf - exact).abs() <= 1e-9 * exact,
                "lr {lr} rho {rho}: {cf} vs {exact}"
            );
        }
    }
    // ρ = 0 is SGD: Σ ηs²/(2(2 − ηλ)).
    let sgd: f64 = eigs
        .iter()
        .map(|l| 1e-3 * 1e-4 / (2.0 * (2.0 - 1e-3 * l)))
        .sum();
    assert!((ssam24_fig6::closed_form(&eigs, 1e-3, 1e-4, 0.0) - sgd).abs() < 1e-15);
}

#[test]
fn ssam24_fig6_stationary_loss_matches_the_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_fig6::Args {
        steps: 0,
        d: 20,
        delta: 0.01,
        lr: 1e-3,
        noise: 1e-4,
        rhos: vec![0.01, 0.05, 0.2, 0.5, 1.0, 2.0],
        streams: 0,
        window: 1000,
        record_every: 0,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let summary = ssam24_fig6::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_fig6");
    let (settings, cols, rows) = read_csv(&dir.path().join("ssam24_fig6.csv")).unwrap();
    assert_eq!(setting(&settings, "steps"), "100000");
    assert_eq!(setting(&settings, "streams"), "16");
    assert_eq!(rows.len(), 7 * (100_000 / 500 + 1));
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (wm, cfi) = (column(&cols, "window_mean"), column(&cols, "closed_form"));
    assert_eq!(summary.len(), 7);
    assert_eq!(summary[0].0, 0.0);
    for (k, &(rho, mean, se, cf)) in summary.iter().enumerate() {
        // The fact: the last-1000-step mean (averaged over 16 streams) is within 4 s.e. (+2 %)
        // of the closed form, for SGD (ρ = 0) and SAM at every ρ.
        assert!(se > 0.0 && se < 0.15 * mean, "rho {rho}: se {se}");
        assert!(
            (mean - cf).abs() < 4.0 * se + 0.02 * cf,
            "rho {rho}: measured {mean:.4e} ± {se:.1e} vs closed form {cf:.4e}"
        );
        let row = rows.iter().find(|r| r[0] == k as f64).unwrap();
        assert_eq!((row[wm], row[cfi]), (mean, cf));
    }
    // The closed form is not monotone in ρ: below SGD at ρ = 0.5, above it at ρ = 2.
    assert!(summary[4].3 < summary[0].3 && summary[6].3 > summary[0].3);
}

#[test]
fn ssam24_fig7_sam_stationary_loss_below_sgd() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_fig7::Args {
        steps: 0,
        rho: 0.5,
        d: 20,
        delta: 0.01,
        lr: 1e-3,
        noise: 1e-4,
        streams: 0,
        window: 0,
        record_every: 0,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let (summary, cf_sgd, cf_sam) = ssam24_fig7::run_figure(&args).unwrap();
    assert_written(dir.path(), "ssam24_fig7");
    let (settings, cols, rows) = read_csv(&dir.path().join("ssam24_fig7.csv")).unwrap();
    assert_eq!(setting(&settings, "steps"), "120000");
    assert_eq!(setting(&settings, "window"), "40000");
    let n_rec = 120_000 / 500 + 1;
    assert_eq!(rows.len(), 4 * n_rec);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (mi, si, li) = (
        column(&cols, "method_index"),
        column(&cols, "step"),
        column(&cols, "loss"),
    );
    // All four reach a finite stationary level: the stream-0 curve's mean over the third quarter
    // and over the last quarter agree within a factor 2, far below the start (f(x₀) ≈ 10).
    for (m, (_, mean, se)) in summary.iter().enumerate() {
        let mean_over = |a: f64, b: f64| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| r[mi] == m as f64 && r[si] > a && r[si] <= b)
                .map(|r| r[li])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let (q3, q4) = (
            mean_over(60_000.0, 90_000.0),
            mean_over(90_000.0, 120_000.0),
        );
        assert!(q3.is_finite() && q4.is_finite() && q4 < 1e-4);
        assert!(
            q4 / q3 < 2.0 && q3 / q4 < 2.0,
            "method {m}: {q3:.3e} {q4:.3e}"
        );
        assert!(mean.is_finite() && *se < 0.1 * mean);
    }
    // SGD and SAM agree with their closed forms (4 s.e. + 2 %).
    for (k, cf) in [(0, cf_sgd), (1, cf_sam)] {
        let (_, mean, se) = &summary[k];
        assert!(
            (mean - cf).abs() < 4.0 * se + 0.02 * cf,
            "{k}: {mean} vs {cf}"
        );
    }
    // The fact: the closed form puts SAM below SGD at ρ = 0.5, and so does the measurement.
    assert!(cf_sam < cf_sgd);
    assert!(
        summary[1].1 < summary[0].1,
        "SAM {} vs SGD {}",
        summary[1].1,
        summary[0].1
    );
}
