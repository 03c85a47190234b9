//! ssam24 Fig 2 in quick mode (both stream layouts): success rate against the learning rate on the
//! quartic saddle.
//! The run writes its PNG, SVG and CSV into a temporary folder; the CSV has one row per
//! (curve, learning rate), rates in [0, 1] inside their Wilson interval, finite values, and the
//! figure's fact: SGD at η = 0.001 nearly always reaches a minimizer.

use samlab::plot::read_csv;

#[path = "common/figures.rs"]
mod common;
use common::{column, setting};

#[path = "../examples/ssam24_fig2.rs"]
#[allow(dead_code)]
mod ssam24_fig2;

fn quick_args(streams: &str, out: &std::path::Path) -> ssam24_fig2::Args {
    ssam24_fig2::Args {
        lrs: 0,
        lr_min: 1e-3,
        lr_max: 0.3,
        starts: 0,
        steps: 0,
        rhos: vec![0.05, 0.2, 0.4],
        noise: 0.005,
        half_width: 2.0,
        tol: 0.1,
        blowup: 1e6,
        generator: "xoshiro".into(),
        streams: streams.into(),
        seed: 0,
        out: out.to_path_buf(),
        quick: true,
    }
}

/// Both stream layouts (common random numbers across learning rates, and one stream per cell).
#[test]
fn ssam24_fig2_sgd_succeeds_at_small_learning_rates() {
    for streams in ["shared", "independent"] {
        quick_run(streams);
    }
}

/// An unknown stream layout is a typed error naming the flag.
#[test]
fn ssam24_fig2_rejects_unknown_streams() {
    let dir = tempfile::tempdir().unwrap();
    match ssam24_fig2::run_figure(&quick_args("both", dir.path())) {
        Err(samlab::Error::Invalid { field, .. }) => assert_eq!(field, "streams"),
        other => panic!("expected an invalid-field error, got {other:?}"),
    }
}

fn quick_run(streams: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = ssam24_fig2::run_figure(&quick_args(streams, dir.path())).unwrap();
    for ext in ["png", "svg", "csv"] {
        assert!(
            dir.path().join(format!("ssam24_fig2.{ext}")).exists(),
            "{ext}"
        );
    }
    let (settings, cols, rows) = read_csv(&dir.path().join("ssam24_fig2.csv")).unwrap();
    assert_eq!(setting(&settings, "lrs"), "6");
    assert_eq!(setting(&settings, "starts"), "100");
    assert_eq!(setting(&settings, "steps"), "10000");
    // SGD once + 3 methods × 3 radii, 6 learning rates each.
    assert_eq!(out.curves.len(), 10);
    assert_eq!(rows.len(), 10 * 6);
    assert_eq!(cols.len(), 8);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (mi, ri, li, ki, rate, lo, hi) = (
        column(&cols, "method_index"),
        column(&cols, "rho"),
        column(&cols, "lr"),
        column(&cols, "successes"),
        column(&cols, "rate"),
        column(&cols, "wilson_lo"),
        column(&cols, "wilson_hi"),
    );
    for r in &rows {
        assert!((0.0..=1.0).contains(&r[rate]), "{r:?}");
        assert!(r[lo] <= r[rate] && r[rate] <= r[hi] && r[lo] >= 0.0 && r[hi] <= 1.0);
        assert_eq!(r[rate], r[ki] / 100.0);
        assert!(r[li] >= 1e-3 * (1.0 - 1e-12) && r[li] <= 0.3 * (1.0 + 1e-12));
        assert_eq!(r[mi] == 0.0, r[ri] == 0.0);
    }
    // The fact: SGD at η = 0.001 nearly always ends at a minimizer.
    let sgd = rows
        .iter()
        .find(|r| r[mi] == 0.0 && (r[li] - 1e-3).abs() < 1e-12)
        .unwrap();
    assert!(sgd[rate] >= 0.9, "SGD success at η = 0.001: {}", sgd[rate]);
    assert_eq!(out.rate(0, 0), sgd[rate]);
}

/// The Wilson interval: known values and its edge cases.
#[test]
fn ssam24_fig2_wilson_interval() {
    let (lo, hi) = ssam24_fig2::wilson(50, 100);
    assert!(
        (lo - 0.4038).abs() < 1e-4 && (hi - 0.5962).abs() < 1e-4,
        "{lo} {hi}"
    );
    let (lo, hi) = ssam24_fig2::wilson(0, 100);
    assert!(lo == 0.0 && (hi - 0.0370).abs() < 1e-4, "{hi}");
    let (lo, hi) = ssam24_fig2::wilson(100, 100);
    assert!((lo - 0.9630).abs() < 1e-4 && hi == 1.0, "{lo}");
}
