//! Figure examples in quick mode: each runs at small size, writes its PNG, SVG and CSV, and the CSV
//! has the expected shape, finite values and the figure's qualitative fact.

use samlab::plot::read_csv;

#[path = "common/figures.rs"]
mod common;
use common::column;

#[path = "../examples/af22_fig6.rs"]
#[allow(dead_code)]
mod af22_fig6;

#[test]
fn af22_fig6_one_sam_generalizes_better_than_erm() {
    let dir = tempfile::tempdir().unwrap();
    let args = af22_fig6::Args {
        steps: 0,
        alpha: 0.01,
        scale: 1.0,
        data: None,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let finals = af22_fig6::run_figure(&args).unwrap();
    for ext in ["png", "svg", "csv"] {
        assert!(
            dir.path().join(format!("af22_fig6.{ext}")).exists(),
            "{ext}"
        );
    }
    let (settings, cols, rows) = read_csv(&dir.path().join("af22_fig6.csv")).unwrap();
    assert!(settings.iter().any(|(k, v)| k == "alpha" && v == "0.01"));
    assert_eq!(rows.len(), 3 * 201);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let test = column(&cols, "test_mse");
    let last = |m: f64| rows.iter().filter(|r| r[0] == m).last().unwrap()[test];
    // The figure's fact: 1-SAM ends with a lower test loss than ERM.
    assert!(
        last(2.0) < last(0.0),
        "1-SAM {} vs ERM {}",
        last(2.0),
        last(0.0)
    );
    assert_eq!(finals.len(), 3);
}
