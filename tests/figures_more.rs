//! af22 Figs 7 and 13 and the ssam24 Fig 2 basin map in quick mode: each runs at small size,
//! writes its PNG, SVG and CSV, and the CSV has the expected shape, finite values and the figure's
//! qualitative fact.

use std::path::Path;

#[path = "common/figures.rs"]
mod common;
use common::{assert_written, column, setting};

use samlab::plot::read_csv;

#[path = "../examples/af22_fig7.rs"]
#[allow(dead_code)]
mod af22_fig7;

#[path = "../examples/af22_fig13.rs"]
#[allow(dead_code)]
mod af22_fig13;

#[path = "../examples/ssam24_fig2_basin.rs"]
#[allow(dead_code)]
mod ssam24_fig2_basin;

#[test]
fn af22_fig7_sam_has_fewer_effective_kinks_than_erm() {
    let dir = tempfile::tempdir().unwrap();
    let args = af22_fig7::Args {
        steps: 0,
        tol: 1e-5,
        lr: 5e-5,
        rho: 0.3,
        seeds: 5,
        hidden: 100,
        check_every: 100,
        margin: 0.5,
        n_grid: 0,
        merge: 0.01,
        threshold: 0.5,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let trained = af22_fig7::run_figure(&args).unwrap();
    assert_written(dir.path(), "af22_fig7");
    let (settings, cols, rows) = read_csv(&dir.path().join("af22_fig7.csv")).unwrap();
    assert_eq!(setting(&settings, "max_steps"), "100000");
    let (panel, y, jump) = (
        column(&cols, "panel"),
        column(&cols, "y"),
        column(&cols, "slope_change"),
    );
    let count = |p: f64| rows.iter().filter(|r| r[panel] == p).count();
    // 12 data points, 2 methods × 5 seeds × 100 grid points, at most 100 kinks per run.
    assert_eq!(count(0.0), 12);
    assert_eq!(count(1.0), 2 * 5 * 100);
    assert!(count(2.0) <= 2 * 5 * 100);
    for r in &rows {
        let v = if r[panel] == 2.0 { r[jump] } else { r[y] };
        assert!(v.is_finite(), "{r:?}");
    }
    assert_eq!(trained.len(), 10);
    assert!(trained.iter().all(|t| t.loss.is_finite() && t.loss < 1.0));
    // The figure's fact: SAM's learned functions have fewer effective kinks than ERM's on average
    // (and a smaller total variation of the slope).
    let (erm, sam) = (
        af22_fig7::mean_effective(&trained, 0),
        af22_fig7::mean_effective(&trained, 1),
    );
    assert!(sam < erm, "SAM {sam} vs ERM {erm}");
    let tv = |m: usize| {
        trained
            .iter()
            .filter(|t| t.method == m)
            .map(|t| t.slope_tv)
            .sum::<f64>()
    };
    assert!(tv(1) < tv(0), "TV(f') SAM {} vs ERM {}", tv(1), tv(0));
}

#[test]
fn af22_fig13_stochastic_one_sam_generalizes_better_than_erm() {
    let dir = tempfile::tempdir().unwrap();
    let args = af22_fig13::Args {
        steps: 0,
        alpha: 0.01,
        scale: 1.0,
        batch: 1,
        seed: 0,
        data: None,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let finals = af22_fig13::run_figure(&args).unwrap();
    assert_written(dir.path(), "af22_fig13");
    let (settings, cols, rows) = read_csv(&dir.path().join("af22_fig13.csv")).unwrap();
    assert!(setting(&settings, "method_index").contains("nsam-stoch"));
    // 6 curves × (200 records + the start).
    assert_eq!(rows.len(), 6 * 201);
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let test = column(&cols, "test_mse");
    let last = |m: f64| rows.iter().rfind(|r| r[0] == m).unwrap()[test];
    // The figure's fact: 1-SAM (full batch and b = 1) ends with a lower test loss than ERM (GD and
    // SGD).
    for one in [2.0, 5.0] {
        for erm in [0.0, 3.0] {
            assert!(
                last(one) < last(erm),
                "curve {one}: {} vs curve {erm}: {}",
                last(one),
                last(erm)
            );
        }
    }
    assert_eq!(finals.len(), 6);
}

#[test]
fn af22_fig13_one_sam_with_batch_one_is_m_sam() {
    // With b = 1 the batch version of 1-SAM and m-SAM are the same update, bit for bit.
    use samlab::optim::{Method, Phase, RunConfig, StepSizes, run};
    use samlab::problem::Problem;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = samlab::data::RegressionData::load(&root.join("data/diag_net_seed0.json")).unwrap();
    let net = samlab::problem::DiagNet::new(&data, &[0.01]).unwrap();
    let go = |name: &str| {
        let mut cfg = RunConfig::new(vec![Phase {
            method: Method::from_name(name, Some(1), false).unwrap(),
            sizes: StepSizes::constant(1.0 / 30.0, 1.0 / 30.0),
            steps: 500,
        }]);
        cfg.stream = 5;
        run(&net, &net.init(), &cfg).params
    };
    assert_eq!(go("1sam"), go("msam"));
}

#[test]
fn ssam24_fig2_basins_are_symmetric() {
    let dir = tempfile::tempdir().unwrap();
    let args = ssam24_fig2_basin::Args {
        lr: 0.1,
        rho: 0.4,
        grid: 0,
        steps: 10_000,
        noise: 0.005,
        half_width: 2.0,
        tol: 0.1,
        blowup: 1e6,
        seed: 0,
        out: dir.path().to_path_buf(),
        quick: true,
    };
    let (maps, n) = ssam24_fig2_basin::run_figure(&args).unwrap();
    assert_eq!(n, 40);
    assert_written(dir.path(), "ssam24_fig2_basin");
    let (_, cols, rows) = read_csv(&dir.path().join("ssam24_fig2_basin.csv")).unwrap();
    assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
    let (method, count, end) = (
        column(&cols, "method_index"),
        column(&cols, "count"),
        column(&cols, "end"),
    );
    // The runs of each method cover the grid; the CSV agrees with the returned maps.
    for m in &maps {
        let mine: Vec<&Vec<f64>> = rows
            .iter()
            .filter(|r| r[method] == m.method as f64)
            .collect();
        assert_eq!(mine.iter().map(|r| r[count]).sum::<f64>(), (n * n) as f64);
        let plus: f64 = mine
            .iter()
            .filter(|r| r[end] == 0.0)
            .map(|r| r[count])
            .sum();
        assert_eq!(
            plus,
            (m.share(ssam24_fig2_basin::End::Plus) * (n * n) as f64).round()
        );
    }
    // The fact: f is symmetric under x → −x, so each basin map is, up to the noise (which flips
    // only starts near a basin boundary): at least 85 % of the starts end as their mirror image.
    for m in &maps {
        assert!(
            m.symmetry(n) >= 0.85,
            "method {}: {}",
            m.method,
            m.symmetry(n)
        );
        let (p, q) = (
            m.share(ssam24_fig2_basin::End::Plus),
            m.share(ssam24_fig2_basin::End::Minus),
        );
        assert!((p - q).abs() <= 0.05, "method {}: {p} vs {q}", m.method);
    }
    // SAM* mostly ends farther than tol from both minimizers because it keeps moving about one:
    // its median final distance exceeds tol, while SGD's and SSAM's are well inside it.
    assert!(
        maps[2].median_distance() > args.tol,
        "{}",
        maps[2].median_distance()
    );
    for m in [0, 3] {
        assert!(maps[m].median_distance() < 0.5 * args.tol);
    }
    // SGD and SSAM reach a minimizer from every start.
    for m in [0, 3] {
        let s = maps[m].share(ssam24_fig2_basin::End::Plus)
            + maps[m].share(ssam24_fig2_basin::End::Minus);
        assert!(s > 0.99, "method {m}: {s}");
    }
}
