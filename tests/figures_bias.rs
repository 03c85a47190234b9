//! The af22 Theorem 1 figure example in quick mode: it writes its PNG, SVG and CSV, the CSV has the
//! expected shape and finite values, and it shows the figure's facts: the printed effective
//! initializations are off at first order in ρ (slope ≈ 1), the corrected ones at second order
//! (slope ≈ 2), and the Theorem 1 ratios are near their centre 4.

use samlab::plot::read_csv;

#[path = "../examples/af22_thm1.rs"]
#[allow(dead_code)]
mod af22_thm1;

#[test]
fn af22_thm1_quick() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let args = af22_thm1::Args {
        d: 30,
        n: 10,
        alpha: 0.1,
        kappa_min: 1e-4,
        kappa_max: 1e-2,
        n_kappa: 13,
        designs: 200,
        n_min: 10,
        n_max: 30,
        ratio: 20,
        seed: 0,
        out: dir.clone(),
        quick: true,
    };
    let f = af22_thm1::run_figure(&args).unwrap();
    for ext in ["png", "svg", "csv"] {
        assert!(dir.join(format!("af22_thm1.{ext}")).exists(), "{ext}");
    }
    let (_, cols, rows) = read_csv(&dir.join("af22_thm1.csv")).unwrap();
    assert_eq!(cols.len(), 21);
    assert_eq!(rows.len(), f.rho.len() + f.designs.len());
    // Printed constants: first order in ρ; corrected: second order.
    for (c, want) in [(0, 1.0), (1, 2.0), (2, 1.0), (3, 2.0)] {
        assert!(
            (f.slopes[c] - want).abs() < 0.25,
            "curve {c}: slope {}",
            f.slopes[c]
        );
    }
    for r in &f.designs {
        assert!(r.iter().all(|v| v.is_finite()));
        assert!(
            r[2] > 2.0 && r[2] < 8.0 && r[3] > 2.0 && r[3] < 8.0,
            "{r:?}"
        );
    }
}
