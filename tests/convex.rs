//! The implicit-bias solvers of `samlab::convex`: the KKT conditions of the min-φ_α interpolator,
//! its limits (min-ℓ1 as α → 0, min-ℓ2 as α → ∞, with the rates printed), robustness at
//! d = 1000, n = 100 over α ∈ [1e-6, 1e2], vector α, a brute-force check on a tiny problem and
//! the typed errors of bad input. Run with `--nocapture` to see the measured numbers.

use std::time::Instant;

use faer::Mat;
use faer::linalg::solvers::SolveLstsq;
use ndarray::{Array2, array};
use samlab::Error;
use samlab::convex::{Interpolation, PhiSolution};
use samlab::data::RegressionData;
use samlab::problem::HyperbolicEntropy;

fn problem(d: usize, n: usize, kappa: usize, seed: u64) -> Interpolation {
    let data = RegressionData::generate_sparse(d, n, kappa, 0, seed).unwrap();
    Interpolation::from_data(&data).unwrap()
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn norm(a: &[f64]) -> f64 {
    dist(a, &vec![0.0; a.len()])
}

fn full_alpha(alpha: &[f64], d: usize) -> Vec<f64> {
    if alpha.len() == 1 {
        vec![alpha[0]; d]
    } else {
        alpha.to_vec()
    }
}

/// The KKT conditions of argmin φ_α s.t. Xβ = y, checked independently of the solver's ν:
/// feasibility ‖Xβ − y‖ ≤ 1e-12 ‖y‖, and stationarity: ∇φ_α(β) = asinh(β/(2α²)) lies in
/// range(Xᵀ) (least-squares distance ≤ 1e-9 of its norm), and equals Xᵀν for the returned ν.
fn assert_kkt(p: &Interpolation, alpha: &[f64], sol: &PhiSolution) {
    let d = p.d();
    assert!(sol.info.converged, "α = {:?}: {:?}", &alpha[..1], sol.info);
    let res = p.relative_residual(&sol.beta);
    assert!(res <= 1e-12, "residual {res:e}");
    let h = HyperbolicEntropy::new(full_alpha(alpha, d)).unwrap();
    let mut grad = vec![0.0; d];
    h.grad_into(&sol.beta, &mut grad);
    let gmat = Mat::<f64>::from_fn(d, 1, |j, _| grad[j]);
    let xt = p.x().transpose().to_owned();
    let c = xt.col_piv_qr().solve_lstsq(&gmat);
    let proj = &xt * &c;
    let off: f64 = (0..d)
        .map(|j| (proj[(j, 0)] - grad[j]).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(off <= 1e-9 * norm(&grad), "distance from range(Xᵀ) {off:e}");
    let u: Vec<f64> = (0..d)
        .map(|j| (0..p.n()).map(|i| p.x()[(i, j)] * sol.nu[i]).sum())
        .collect();
    assert!(dist(&u, &grad) <= 1e-10 * norm(&grad).max(1.0));
}

#[test]
fn kkt_conditions_and_optimality_over_the_alpha_range() {
    let p = problem(30, 20, 5, 1);
    let h_of = |a: f64| HyperbolicEntropy::new(vec![a; 30]).unwrap();
    let l2 = p.min_l2();
    let l1 = p.min_l1();
    // Null-space directions (I − X⁺X) e_k, with X⁺X e_k the min-ℓ2 solution of X b = X e_k.
    let xa = Array2::from_shape_fn((20, 30), |(i, j)| p.x()[(i, j)]);
    let null_dirs: Vec<Vec<f64>> = (0..2)
        .map(|k| {
            let xe: Vec<f64> = (0..20).map(|i| p.x()[(i, k)]).collect();
            let q = Interpolation::new(xa.view(), &xe).unwrap().min_l2();
            (0..30)
                .map(|j| f64::from(u8::from(j == k)) - q[j])
                .collect()
        })
        .collect();
    for a in [1e-6, 1e-3, 1e-1, 1.0, 10.0, 100.0] {
        let sol = p.min_phi(&[a]).unwrap();
        assert_kkt(&p, &[a], &sol);
        // No other interpolator has a smaller φ_α: the two other solutions and random moves
        // along the null space of X.
        let h = h_of(a);
        let v = h.value(&sol.beta);
        let slack = 1e-12 * v.abs();
        assert!(v <= h.value(&l2) + slack && v <= h.value(&l1.beta) + slack);
        for (dir, eps) in null_dirs.iter().zip([1e-3, 1e-6]) {
            for s in [eps, -eps] {
                let moved: Vec<f64> = (0..30).map(|j| sol.beta[j] + s * dir[j]).collect();
                assert!(h.value(&moved) >= v - slack, "α={a} moved by {s}");
            }
        }
    }
}

#[test]
fn small_alpha_approaches_min_l1_and_large_alpha_min_l2() {
    let p = problem(30, 20, 5, 2);
    let l1 = p.min_l1();
    println!("min-l1 (Clarabel): {:?}", l1.info);
    assert!(
        l1.info.solved && l1.info.kkt_residual <= 1e-12,
        "{:?}",
        l1.info
    );
    let n1: f64 = l1.beta.iter().map(|b| b.abs()).sum();
    assert!(l1.info.gap.abs() <= 1e-10 * n1, "{:?}", l1.info);

    println!("alpha      |b_a - b_l1|   |b_a - b_l1| * ln(1/alpha)");
    let mut prev = f64::INFINITY;
    for k in 1..=6 {
        let a = 10f64.powi(-k);
        let sol = p.min_phi(&[a]).unwrap();
        let e = dist(&sol.beta, &l1.beta);
        println!("{a:8.0e}   {e:12.4e}   {:12.4e}", e * (1.0 / a).ln());
        assert!(e < prev, "not decreasing at α = {a}");
        prev = e;
    }
    // The approach is logarithmically slow; at α = 1e-6 it is within a few percent.
    assert!(prev < 0.05 * norm(&l1.beta), "{prev}");

    let l2 = p.min_l2();
    println!("alpha  |b_a - b_l2|/|b_l2|   * alpha^2     * alpha^4");
    let mut pts = Vec::new();
    let mut prev = f64::INFINITY;
    for a in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0] {
        let sol = p.min_phi(&[a]).unwrap();
        let e = dist(&sol.beta, &l2) / norm(&l2);
        println!(
            "{a:5}  {e:14.4e}   {:10.4e}   {:10.4e}",
            e * a * a,
            e * a.powi(4)
        );
        assert!(e < prev, "not decreasing at α = {a}");
        prev = e;
        if a >= 10.0 {
            pts.push((a.ln(), e.ln()));
        }
    }
    // β_α = 2α² sinh(Xᵀν) = 2α²(Xᵀν) + (2α²/6)(Xᵀν)³ + …, with Xᵀν = O(1/α²): the cubic term,
    // hence the distance to min-ℓ2, is O(1/α⁴). Fitted slope on α = 10..100:
    let m = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / m, sy / m);
    let slope = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
        / pts.iter().map(|(x, _)| (x - mx).powi(2)).sum::<f64>();
    println!("log-log slope of |b_a - b_l2|/|b_l2| against alpha (10..100): {slope:.4}");
    assert!((slope + 4.0).abs() < 0.2, "slope {slope}");
}

#[test]
fn robust_and_fast_from_tiny_to_huge_alpha() {
    println!("   d    n     alpha  iterations  halvings  kkt_residual  dual_grad_norm   time");
    for (d, n, kappa) in [(30, 20, 5), (1000, 100, 10)] {
        let p = problem(d, n, kappa, 3);
        for a in [1e-6, 1e-3, 1.0, 1e2] {
            let t = Instant::now();
            let sol = p.min_phi(&[a]).unwrap();
            let el = t.elapsed();
            println!(
                "{d:4} {n:4}  {a:8.0e}  {:10}  {:8}  {:12.3e}  {:14.3e}  {el:.2?}",
                sol.info.iterations,
                sol.info.halvings,
                sol.info.kkt_residual,
                sol.info.dual_grad_norm
            );
            assert!(sol.info.converged, "d={d} α={a}: {:?}", sol.info);
            assert!(p.relative_residual(&sol.beta) <= 1e-12);
            assert!(sol.beta.iter().all(|b| b.is_finite()));
        }
        // Per-coordinate scales over the whole range 1e-6..1e2 at once.
        let alpha: Vec<f64> = (0..d)
            .map(|j| 10f64.powf(-6.0 + 8.0 * ((j * 7919) % d) as f64 / (d - 1) as f64))
            .collect();
        let t = Instant::now();
        let sol = p.min_phi(&alpha).unwrap();
        println!(
            "{d:4} {n:4}  1e-6..1e2  {:9}  {:8}  {:12.3e}  {:14.3e}  {:.2?}",
            sol.info.iterations,
            sol.info.halvings,
            sol.info.kkt_residual,
            sol.info.dual_grad_norm,
            t.elapsed()
        );
        // Not 1e-12: β = 2α² sinh(Xᵀν) amplifies the rounding of Xᵀν by 2α² cosh u, up to 2e4
        // here, while the small scales make ‖ν‖ large; this is the floor of double precision
        // for this parametrization (module docs of `convex::dual`), not a solver failure.
        assert!(
            sol.info.kkt_residual <= 1e-9,
            "d={d} vector α: {:?}",
            sol.info
        );
        let t = Instant::now();
        let l1 = p.min_l1();
        println!("{d:4} {n:4}  min-l1: {:?} in {:.2?}", l1.info, t.elapsed());
        assert!(l1.info.solved && l1.info.kkt_residual <= 1e-12);
    }
}

#[test]
fn vector_alpha() {
    let p = problem(30, 20, 5, 4);
    // Per-coordinate scales from 1e-5 to 10.
    let alpha: Vec<f64> = (0..30)
        .map(|j| 10f64.powf(-5.0 + 6.0 * j as f64 / 29.0))
        .collect();
    let sol = p.min_phi(&alpha).unwrap();
    assert_kkt(&p, &alpha, &sol);
    // A constant vector is the scalar, bit for bit.
    let a = p.min_phi(&[0.01]).unwrap();
    let b = p.min_phi(&[0.01; 30]).unwrap();
    assert_eq!(a.beta, b.beta);
    // Coordinates with a small α are sparser-biased: swapping the scales changes the solution.
    let rev: Vec<f64> = alpha.iter().rev().copied().collect();
    let other = p.min_phi(&rev).unwrap();
    assert!(dist(&other.beta, &sol.beta) > 1e-3);
}

/// min φ_α on the plane {β ∈ ℝ³ : xᵀβ = y} by nested bisection on the directional derivatives
/// (convex in each direction, and the minimum over t₂ of a jointly convex function is convex in t₁).
fn brute_force(x: [f64; 3], y: f64, alpha: &[f64]) -> Vec<f64> {
    let nx = norm(&x);
    let b0: Vec<f64> = x.iter().map(|v| v * y / (nx * nx)).collect();
    // An orthonormal basis k1, k2 of x⊥.
    let e = if x[0].abs() < 0.9 * nx {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    let proj = |v: [f64; 3], u: &[f64]| {
        let c: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
        let mut w = v;
        for j in 0..3 {
            w[j] -= c * u[j];
        }
        let nw = norm(&w);
        w.map(|a| a / nw)
    };
    let xu = x.map(|a| a / nx);
    let k1 = proj(e, &xu);
    let k2 = {
        let c = [
            xu[1] * k1[2] - xu[2] * k1[1],
            xu[2] * k1[0] - xu[0] * k1[2],
            xu[0] * k1[1] - xu[1] * k1[0],
        ];
        c
    };
    let h = HyperbolicEntropy::new(alpha.to_vec()).unwrap();
    let point = |t1: f64, t2: f64| -> Vec<f64> {
        (0..3).map(|j| b0[j] + t1 * k1[j] + t2 * k2[j]).collect()
    };
    let deriv = |b: &[f64], k: &[f64; 3]| {
        let mut g = [0.0; 3];
        h.grad_into(b, &mut g);
        g.iter().zip(k).map(|(a, c)| a * c).sum::<f64>()
    };
    let bisect = |f: &dyn Fn(f64) -> f64| {
        let (mut lo, mut hi) = (-100.0, 100.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let inner = |t1: f64| bisect(&|t2| deriv(&point(t1, t2), &k2));
    let t1 = bisect(&|t1| deriv(&point(t1, inner(t1)), &k1));
    point(t1, inner(t1))
}

#[test]
fn agrees_with_brute_force_on_a_tiny_problem() {
    let x = [0.7, -1.3, 0.4];
    let y = 0.9;
    let p = Interpolation::new(array![[x[0], x[1], x[2]]].view(), &[y]).unwrap();
    for alpha in [
        vec![1e-3],
        vec![0.1],
        vec![1.0],
        vec![10.0],
        vec![0.05, 1.0, 0.3],
    ] {
        let sol = p.min_phi(&alpha).unwrap();
        let full = full_alpha(&alpha, 3);
        let bf = brute_force(x, y, &full);
        let h = HyperbolicEntropy::new(full).unwrap();
        println!(
            "alpha {alpha:?}: newton {:?} brute force {:?} |diff| {:.2e}",
            sol.beta,
            bf,
            dist(&sol.beta, &bf)
        );
        assert!(dist(&sol.beta, &bf) <= 1e-9 * norm(&bf), "{alpha:?}");
        // Equal up to rounding (both points are feasible only to ~1e-16, and ∇φ_α ≠ 0).
        assert!(h.value(&sol.beta) <= h.value(&bf) * (1.0 + 1e-12));
    }
}

#[test]
fn zero_targets_give_zero() {
    let data = RegressionData::generate_sparse(10, 5, 2, 0, 0).unwrap();
    let p = Interpolation::new(data.x.view(), &[0.0; 5]).unwrap();
    let sol = p.min_phi(&[0.1]).unwrap();
    assert!(sol.beta.iter().all(|b| *b == 0.0) && sol.info.converged);
    assert!(p.min_l2().iter().all(|b| *b == 0.0));
}

fn field<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected an invalid-field error, got {other:?}"),
    }
}

#[test]
fn bad_input_is_a_typed_error_naming_the_field() {
    let x = array![[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]];
    assert_eq!(field(Interpolation::new(x.view(), &[1.0])), "y");
    assert_eq!(
        field(Interpolation::new(Array2::<f64>::zeros((0, 3)).view(), &[])),
        "x"
    );
    let mut bad = x.clone();
    bad[(1, 2)] = f64::NAN;
    assert_eq!(
        field(Interpolation::new(bad.view(), &[1.0, 2.0])),
        "x[1][2]"
    );
    assert_eq!(
        field(Interpolation::new(x.view(), &[1.0, f64::INFINITY])),
        "y[1]"
    );
    // Dependent rows: consistent targets → the design is at fault; inconsistent → infeasible y.
    let dep = array![[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]];
    assert_eq!(field(Interpolation::new(dep.view(), &[1.0, 2.0])), "x");
    assert_eq!(field(Interpolation::new(dep.view(), &[1.0, 3.0])), "y");
    // More equations than unknowns: generically infeasible.
    let tall = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    assert_eq!(
        field(Interpolation::new(tall.view(), &[1.0, 1.0, 3.0])),
        "y"
    );

    let p = Interpolation::new(x.view(), &[1.0, 2.0]).unwrap();
    assert_eq!(field(p.min_phi(&[])), "alpha");
    assert_eq!(field(p.min_phi(&[1.0, 2.0])), "alpha");
    assert_eq!(field(p.min_phi(&[0.0])), "alpha[0]");
    assert_eq!(field(p.min_phi(&[1.0, f64::NAN, 1.0])), "alpha[1]");
    assert_eq!(field(p.min_phi(&[1.0, 1.0, -2.0])), "alpha[2]");
}
