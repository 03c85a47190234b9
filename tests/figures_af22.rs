//! af22 figure examples (Figs 5, 14, 15) in quick mode: each runs at small size, writes its PNG, SVG
//! and CSV, and the CSV has the expected shape, finite values and the figure's qualitative fact.

use std::f64::consts::PI;
use std::path::Path;

#[path = "common/figures.rs"]
mod common;
use common::{assert_written, column};

use samlab::plot::read_csv;

#[path = "../examples/af22_fig14.rs"]
#[allow(dead_code)]
mod af22_fig14;

#[path = "../examples/af22_fig15.rs"]
#[allow(dead_code)]
mod af22_fig15;

#[path = "../examples/af22_fig5.rs"]
#[allow(dead_code)]
mod af22_fig5;

fn fig14_args(dir: &Path) -> af22_fig14::Args {
    af22_fig14::Args {
        steps: 0,
        alpha: 0.05,
        lr_scale: 15.0,
        rho_min: 1e-3,
        rho_max: 1.0,
        n_rho: 0,
        script_nsam: true,
        script_lr_scale: 10.0,
        data: None,
        out: dir.to_path_buf(),
        quick: true,
    }
}

#[test]
fn af22_fig14_small_rho_matches_erm_and_one_sam_beats_it() {
    let dir = tempfile::tempdir().unwrap();
    af22_fig14::run_figure(&fig14_args(dir.path())).unwrap();
    assert_written(dir.path(), "af22_fig14");
    let (settings, cols, rows) = read_csv(&dir.path().join("af22_fig14.csv")).unwrap();
    assert!(settings.iter().any(|(k, v)| k == "alpha" && v == "0.05"));
    assert!(settings.iter().any(|(k, _)| k == "lr_script"));
    // Quick: 5 ρ × 3 curves + 2 ERM lines.
    assert_eq!(rows.len(), 5 * 3 + 2);
    let (curve, rho, test, div) = (
        column(&cols, "curve_index"),
        column(&cols, "rho"),
        column(&cols, "test_mse"),
        column(&cols, "diverged_at"),
    );
    for r in &rows {
        assert!(r[curve].is_finite() && r[rho].is_finite());
        if r[div] == 0.0 {
            assert!(r.iter().all(|v| v.is_finite()), "{r:?}");
        }
    }
    let erm = rows.iter().find(|r| r[curve] == 3.0).unwrap()[test];
    let at = |c: f64| -> Vec<&Vec<f64>> { rows.iter().filter(|r| r[curve] == c).collect() };
    let rho_min = rows
        .iter()
        .filter(|r| r[curve] < 3.0)
        .map(|r| r[rho])
        .fold(f64::INFINITY, f64::min);
    // The fact: at the smallest ρ, n-SAM and 1-SAM are within 5% of ERM (same γ) ...
    for c in [0.0, 1.0] {
        let v = at(c).iter().find(|r| r[rho] == rho_min).unwrap()[test];
        assert!((v - erm).abs() < 0.05 * erm, "curve {c}: {v} vs ERM {erm}");
    }
    // ... and the best 1-SAM over the grid is below ERM.
    let best = at(1.0)
        .iter()
        .map(|r| r[test])
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    assert!(best < erm, "best 1-SAM {best} vs ERM {erm}");
}

#[test]
fn af22_fig14_nsam_matches_the_authors_reference() {
    // The authors' n-SAM numbers at α = 0.05, γ = 15/d, 10,001 steps (data/…_reference.json).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("data/diag_net_seed0_reference.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let data = samlab::data::RegressionData::load(&root.join("data/diag_net_seed0.json")).unwrap();
    let net = samlab::problem::DiagNet::new(&data, &[0.05]).unwrap();
    let mut checked = 0;
    for run in v["runs"].as_array().unwrap() {
        if run["figure"] != "af22_fig14" {
            continue;
        }
        let ph = &run["phases"][0];
        let (m, lr, rho, steps) = (
            ph["method"].as_str().unwrap(),
            ph["lr"].as_f64().unwrap(),
            ph["rho"].as_f64().unwrap(),
            ph["steps"].as_u64().unwrap() as usize,
        );
        let (_, test, div) = af22_fig14::final_losses(&net, m, lr, rho, steps).unwrap();
        let want = run["test_mse"].as_f64().unwrap();
        assert!(div.is_none());
        assert!(
            (test - want).abs() < 1e-6 * want,
            "{m} ρ = {rho}: {test} vs {want}"
        );
        checked += 1;
    }
    assert!(checked >= 5);
}

fn fig15_args(dir: &Path, lr_scale: f64) -> af22_fig15::Args {
    af22_fig15::Args {
        steps: 0,
        switch_at: 0,
        alpha: 0.05,
        lr_scale,
        rho_1sam_authors: 0.175,
        rho_switch_authors: 10.0,
        n_lambda: 0,
        lambda_min: -1.0,
        lambda_max: 2.0,
        data: None,
        out: dir.to_path_buf(),
        quick: true,
    }
}

#[test]
fn af22_fig15_erm_then_one_sam_generalizes_better_than_erm() {
    let dir = tempfile::tempdir().unwrap();
    let finals = af22_fig15::run_figure(&fig15_args(dir.path(), 1.0)).unwrap();
    assert_written(dir.path(), "af22_fig15");
    assert!(finals.iter().all(|o| o.diverged_at.is_none()));
    let (settings, cols, rows) = read_csv(&dir.path().join("af22_fig15.csv")).unwrap();
    assert!(
        settings
            .iter()
            .any(|(k, v)| k == "rho_switch" && v.starts_with("20 ") && v.contains("authors"))
    );
    assert!(settings.iter().any(|(k, v)| k == "diverged" && v == "none"));
    // Quick: 10,000 steps recorded every 25 (401 rows) × 4 runs + 61 segment points.
    assert_eq!(rows.len(), 4 * 401 + 61);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (panel, run, test) = (
        column(&cols, "panel"),
        column(&cols, "run_index"),
        column(&cols, "test_mse"),
    );
    let last = |k: f64| {
        rows.iter()
            .filter(|r| r[panel] == 0.0 && r[run] == k)
            .last()
            .unwrap()[test]
    };
    // The fact: ERM→1-SAM ends with a (much) lower test loss than plain ERM.
    assert!(
        last(2.0) < 0.1 * last(0.0),
        "{} vs {}",
        last(2.0),
        last(0.0)
    );
    // And 1-SAM→ERM keeps 1-SAM's low test loss.
    assert!(last(3.0) < 0.1 * last(0.0));
}

#[test]
fn af22_fig15_reports_divergence_instead_of_panicking() {
    // γ = 15/d: ERM→1-SAM at the paper's ρ_GD→1SAM diverges shortly after the switch.
    let dir = tempfile::tempdir().unwrap();
    let finals = af22_fig15::run_figure(&fig15_args(dir.path(), 15.0)).unwrap();
    let sw = &finals[2];
    assert!(sw.diverged_at.is_some_and(|s| s > 5_000), "{sw:?}");
    let (settings, _, _) = read_csv(&dir.path().join("af22_fig15.csv")).unwrap();
    assert!(
        settings
            .iter()
            .any(|(k, v)| k == "diverged" && v.contains("ERM→1-SAM at step"))
    );
}

#[test]
fn af22_fig5_level_sets_go_from_l1_to_l2() {
    let dir = tempfile::tempdir().unwrap();
    let args = af22_fig5::Args {
        alphas: vec![0.01, 0.1, 1.0, 10.0],
        levels: vec![0.25, 0.5, 1.0, 2.0],
        beta0: vec![1.0, 0.0],
        n_theta: 0,
        reference: true,
        panel_width: 380,
        height: 420,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    af22_fig5::run_figure(&args).unwrap();
    assert_written(dir.path(), "af22_fig5");
    let (_, cols, rows) = read_csv(&dir.path().join("af22_fig5.csv")).unwrap();
    assert_eq!(rows.len(), 4 * 4 * 81);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (a, c, th, x, y) = (
        column(&cols, "alpha"),
        column(&cols, "level"),
        column(&cols, "theta"),
        column(&cols, "x"),
        column(&cols, "y"),
    );
    let at = |alpha: f64, theta: f64| {
        let r = rows
            .iter()
            .filter(|r| r[a] == alpha && r[c] == 1.0)
            .min_by(|p, q| (p[th] - theta).abs().total_cmp(&(q[th] - theta).abs()))
            .unwrap();
        (r[x], r[y])
    };
    let dist = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
    // The level set through β₀ = (1, 0) passes through (1, 0) itself.
    for alpha in [0.01, 0.1, 1.0, 10.0] {
        assert!(dist(at(alpha, 0.0), (1.0, 0.0)) < 1e-9);
    }
    // α = 0.01: ℓ1-like, through (0, 1) and near (0.5, 0.5) (|x| + |y| ≈ 1; exactly 1.08 here).
    assert!(dist(at(0.01, PI / 2.0), (0.0, 1.0)) < 1e-6);
    let d = at(0.01, PI / 4.0);
    assert!(dist(d, (0.5, 0.5)) < 0.1, "{d:?}");
    assert!(d.0 + d.1 < 1.15);
    // α = 10: ℓ2-like, near (0.707, 0.707).
    let d = at(10.0, PI / 4.0);
    assert!(dist(d, (0.5f64.sqrt(), 0.5f64.sqrt())) < 0.01, "{d:?}");
}
