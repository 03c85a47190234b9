//! ssam24 Remark 9: SAM's steady-state optimization error against ρ, with the steady term of
//! Theorem 8 as printed, LG²(ρ²L + η)/(4µρ(µ + L)) (which falls and then rises, minimal at
//! ρ = √(η/L)), and as corrected in FINDINGS.md (b/(1 − c₊), c₊ = max(1 − 2ηµρ(µ + L), 0),
//! b = ηρ²L²G²/2 + η²LG²/2) — both from `samlab::theory::ssam24` (the functions the checks use) —
//! and the exact stationary error. One matrix A = diag(linspace(µ, L, p)), two noise models:
//!
//! (a) the paper's setting: per-example quadratics f(w, c) = ½(w − c)ᵀA(w − c), c ∈ S
//!     (n centres ~ N(0, I)), one example per step, the SAME example for ascent and descent. With
//!     K = A(I + ρA), e = w − c̄: e⁺ = (I − ηK)e + ηK(c_z − c̄), so the stationary
//!     E[F_S(w) − F_S(w*)] = ½ Σᵢ λᵢ ηκᵢCᵢᵢ/(2 − ηκᵢ), κᵢ = λᵢ(1 + ρλᵢ), C the centres'
//!     covariance (1/n)Σ(cᵢ − c̄)(cᵢ − c̄)ᵀ — increasing in ρ ([`closed_form_same_example`],
//!     tested against the Lyapunov series [`stationary_error_series`]).
//! (b) the noisy quadratic of ssam24 Fig 6: f = ½wᵀAw, fresh N(0, s²I) noise at the ascent and
//!     the descent gradient; stationary E f = Σ ηs²(1 + ρ²λ²)/(2(1 + ρλ)(2 − ηλ(1 + ρλ)))
//!     (EXPERIMENTS.md; derived and tested in `ssam24_fig6.rs`, reused here), which first falls
//!     and then rises.
//!
//! Measured: the time average of the error over (B, B + W] after a burn-in B = ⌈7/(ηµ)⌉
//! (transient below e⁻⁷ of the start w₀ = w*), W = `window`·B, per stream (seed, k), mean ± 1.96 s.e.
//! over the streams. G is measured per ρ: in (a) the largest ‖∇f(x, z_t)‖ at the visited iterates
//! and ascent points; in (b) the largest second moment of the descent gradient,
//! G² = maxₜ ‖(A + ρA²)wₜ‖² + ρ²s²tr(A²) + ps² (the sup of a Gaussian gradient is infinite; the
//! bounded-second-moment reading of G).
//!
//! `cargo run --release --example ssam24_rem9 [-- --streams K --window W --quick --out DIR]`
//! writes `DIR/ssam24_rem9.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;
use samlab::error::Result;
use samlab::optim::coupled::{ExampleBuffers, Rule, draw_index, example_step};
use samlab::optim::trajectory::run_with;
use samlab::optim::{Method, Phase, RunConfig, StepSizes};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::{Problem, Quadratic, dot};
use samlab::rng::stream;
use samlab::sweep::grid::spaced;
use samlab::theory::mc::replicate;
use samlab::theory::ssam24::{opt_steady, opt_steady_corrected};

#[path = "ssam24_fig6.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod fig6;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Dimension p.
    #[arg(long, default_value_t = 5)]
    pub p: usize,
    /// µ = λ_min(A).
    #[arg(long, default_value_t = 0.25)]
    pub mu: f64,
    /// L = λ_max(A).
    #[arg(long, default_value_t = 1.0)]
    pub l: f64,
    /// Examples n of the per-example quadratics (a).
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Step size η as a multiple of 1/L.
    #[arg(long, default_value_t = 0.05)]
    pub lr_l: f64,
    /// Noise variance s² of (b).
    #[arg(long, default_value_t = 1e-2)]
    pub noise: f64,
    /// Grid of ρL: log-spaced from `rho_min` to `rho_max` (times 1/L), `points` points.
    #[arg(long, default_value_t = 1e-3)]
    pub rho_min: f64,
    /// See `rho_min`.
    #[arg(long, default_value_t = 10.0)]
    pub rho_max: f64,
    /// See `rho_min`.
    #[arg(long, default_value_t = 17)]
    pub points: usize,
    /// Independent streams per ρ.
    #[arg(long, default_value_t = 32)]
    pub streams: usize,
    /// Averaging window W in units of the burn-in B.
    #[arg(long, default_value_t = 40)]
    pub window: usize,
    /// Seed (centres: stream 2⁶⁴ − 1; stream k of the runs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (7 radii, 8 streams, window 10 B).
    #[arg(long)]
    pub quick: bool,
}

/// The exact stationary E[F_S(w) − F_S(w*)] of SAM with the same example at ascent and descent on
/// per-example quadratics with diagonal A (eigenvalues `eigs`) and centre covariance diagonal
/// `cov` (Cᵢᵢ): ½ Σᵢ λᵢ ηκᵢCᵢᵢ/(2 − ηκᵢ), κᵢ = λᵢ(1 + ρλᵢ).
pub fn closed_form_same_example(eigs: &[f64], cov: &[f64], lr: f64, rho: f64) -> f64 {
    eigs.iter()
        .zip(cov)
        .map(|(&l, &c)| {
            let k = l * (1.0 + rho * l);
            0.5 * l * lr * k * c / (2.0 - lr * k)
        })
        .sum()
}

/// The same quantity for any symmetric A (p×p) and covariance C, without eigenvectors:
/// Σ∞ = Σₖ Mᵏ Q Mᵏᵀ, M = I − ηK, Q = η²KCK, K = A(I + ρA) (summed by doubling), E = ½tr(AΣ∞).
pub fn stationary_error_series(a: &[f64], c: &[f64], p: usize, lr: f64, rho: f64) -> f64 {
    let mul = |x: &[f64], y: &[f64]| -> Vec<f64> {
        (0..p * p)
            .map(|ij| (0..p).map(|k| x[ij / p * p + k] * y[k * p + ij % p]).sum())
            .collect()
    };
    let t = |x: &[f64]| -> Vec<f64> { (0..p * p).map(|ij| x[ij % p * p + ij / p]).collect() };
    let a2 = mul(a, a);
    let k: Vec<f64> = a.iter().zip(&a2).map(|(x, y)| x + rho * y).collect();
    let mut m: Vec<f64> = (0..p * p)
        .map(|ij| f64::from(u8::from(ij % (p + 1) == 0)) - lr * k[ij])
        .collect();
    let mut s: Vec<f64> = mul(&mul(&k, c), &k).iter().map(|x| lr * lr * x).collect();
    for _ in 0..60 {
        let msm = mul(&mul(&m, &s), &t(&m));
        s.iter_mut().zip(&msm).for_each(|(x, y)| *x += y);
        m = mul(&m, &m);
    }
    0.5 * (0..p)
        .map(|i| dot(&a[i * p..(i + 1) * p], &t(&s)[i * p..(i + 1) * p]))
        .sum::<f64>()
}

/// One ρ of one panel: the measured steady error (mean, 95 % half-width), the exact value, the
/// printed and corrected Theorem 8 steady terms with G measured, and G.
pub type Point = (f64, f64, f64, f64, f64, f64, f64);

/// Everything the figure shows.
pub struct Out {
    /// Panel (a): per ρ (ρ, mean, half, exact, printed, corrected, G).
    pub same: Vec<Point>,
    /// Panel (b): the same for the noisy quadratic.
    pub noisy: Vec<Point>,
    /// SGD (ρ = 0) measured / exact in (a) and (b).
    pub sgd: [(f64, f64); 2],
}

fn band(v: &[f64]) -> (f64, f64) {
    let e = replicate(v.len(), |r| v[r as usize]);
    (e.mean, 1.96 * e.sd / (v.len() as f64).sqrt())
}

/// Panel (a): per stream the window average and the largest gradient norm seen.
fn measure_same(
    q: &Quadratic,
    lr: f64,
    rho: f64,
    burn: usize,
    win: usize,
    streams: usize,
    seed: u64,
) -> (Vec<f64>, f64) {
    let res: Vec<(f64, f64)> = (0..streams as u64)
        .into_par_iter()
        .map(|k| {
            let mut rng = stream(seed, k);
            let mut w = q.center_mean().to_vec();
            let mut buf = ExampleBuffers::new(w.len());
            let (mut acc, mut g) = (0.0, 0.0f64);
            let fmin = q.constants().loss_min.exact().expect("exact");
            for t in 0..burn + win {
                let z = draw_index(&mut rng, q.n_examples());
                let st = example_step(q, Rule::Sam, z, &mut w, lr, rho, &mut buf);
                g = g.max(st.grad_norm).max(st.asc_grad_norm);
                if t >= burn {
                    acc += q.loss(&w) - fmin;
                }
            }
            (acc / win as f64, g)
        })
        .collect();
    (
        res.iter().map(|x| x.0).collect(),
        res.iter().map(|x| x.1).fold(0.0, f64::max),
    )
}

/// Panel (b): per stream the window average and the largest second moment of the descent gradient.
#[allow(clippy::too_many_arguments)]
fn measure_noisy(
    q: &Quadratic,
    a: &[f64],
    lr: f64,
    rho: f64,
    noise: f64,
    burn: usize,
    win: usize,
    streams: usize,
    seed: u64,
) -> Result<(Vec<f64>, f64)> {
    let p = q.dim();
    let name = if rho > 0.0 { "sam" } else { "gd" };
    let method = Method::from_name(name, None, false)?.with_noise(noise)?;
    let tr_a2: f64 = a.iter().map(|x| x * x).sum();
    let res: Vec<(f64, f64)> = (0..streams as u64)
        .into_par_iter()
        .map(|k| {
            let mut cfg = RunConfig::new(vec![Phase {
                method,
                sizes: StepSizes::constant(lr, rho),
                steps: burn + win,
            }]);
            cfg.record_every = burn + win;
            cfg.seed = seed;
            cfg.stream = 1 + k;
            let (mut acc, mut g2) = (0.0, 0.0f64);
            let mut aw = vec![0.0; p];
            run_with(q, &vec![0.0; p], &cfg, |t, w, _| {
                if t > burn {
                    acc += q.loss(w);
                }
                q.grad(w, &mut aw);
                // ‖(A + ρA²)w‖ = ‖(I + ρA)Aw‖ for diagonal A.
                let m: f64 = (0..p)
                    .map(|i| ((1.0 + rho * a[i * p + i]) * aw[i]).powi(2))
                    .sum();
                g2 = g2.max(m + rho * rho * noise * tr_a2 + p as f64 * noise);
            });
            (acc / win as f64, g2.sqrt())
        })
        .collect();
    Ok((
        res.iter().map(|x| x.0).collect(),
        res.iter().map(|x| x.1).fold(0.0, f64::max),
    ))
}

/// Run both panels, write the figure and its CSV.
pub fn run_figure(args: &Args) -> Result<Out> {
    let (points, streams, window) = if args.quick {
        (7, 8, 10)
    } else {
        (args.points.max(2), args.streams.max(2), args.window.max(1))
    };
    let p = args.p.max(1);
    samlab::error::positive("mu", args.mu)?;
    samlab::error::positive("l", args.l)?;
    samlab::error::positive("lr_l", args.lr_l)?;
    samlab::error::positive("rho_min", args.rho_min)?;
    samlab::error::positive("rho_max", args.rho_max)?;
    if args.mu > args.l {
        return Err(samlab::Error::invalid("mu", "must be <= l"));
    }
    let (mu, l) = (args.mu, args.l);
    let eigs: Vec<f64> = (0..p)
        .map(|i| {
            mu + (l - mu)
                * if p > 1 {
                    i as f64 / (p - 1) as f64
                } else {
                    1.0
                }
        })
        .collect();
    let mut a = vec![0.0; p * p];
    (0..p).for_each(|i| a[i * p + i] = eigs[i]);
    let cseed: u64 = rand::Rng::random(&mut stream(args.seed, u64::MAX));
    let q = Quadratic::random_centers(a.clone(), p, args.n.max(2), &vec![0.0; p], 1.0, cseed)?;
    let q0 = Quadratic::new(a.clone(), p, vec![vec![0.0; p]])?;
    let cov: Vec<f64> = (0..p)
        .map(|j| {
            (0..q.n_examples())
                .map(|i| (q.center(i)[j] - q.center_mean()[j]).powi(2))
                .sum::<f64>()
                / q.n_examples() as f64
        })
        .collect();
    let lr = args.lr_l / l;
    let burn = (7.0 / (lr * mu)).ceil() as usize;
    let win = window * burn;
    let rhos: Vec<f64> = spaced(args.rho_min, args.rho_max, points, true)
        .into_iter()
        .map(|r| r / l)
        .collect();
    for (i, &r) in rhos.iter().enumerate() {
        if lr * l * (1.0 + r * l) >= 2.0 {
            return Err(samlab::Error::invalid(
                "rho_max",
                format!("rho = {r}: eta L (1 + rho L) >= 2, SAM diverges (grid point {i})"),
            ));
        }
    }
    let point = |rho: f64, v: &[f64], exact: f64, g: f64| -> Point {
        let (m, h) = band(v);
        (
            rho,
            m,
            h,
            exact,
            opt_steady(mu, l, g, rho, lr),
            opt_steady_corrected(mu, l, g, rho, lr).1,
            g,
        )
    };
    let mut same = Vec::new();
    let mut noisy = Vec::new();
    for &rho in &rhos {
        let (v, g) = measure_same(&q, lr, rho, burn, win, streams, args.seed);
        same.push(point(
            rho,
            &v,
            closed_form_same_example(&eigs, &cov, lr, rho),
            g,
        ));
        let (v, g) = measure_noisy(&q0, &a, lr, rho, args.noise, burn, win, streams, args.seed)?;
        noisy.push(point(
            rho,
            &v,
            fig6::closed_form(&eigs, lr, args.noise, rho),
            g,
        ));
    }
    let (v0, _) = measure_same(&q, lr, 0.0, burn, win, streams, args.seed);
    let (n0, _) = measure_noisy(&q0, &a, lr, 0.0, args.noise, burn, win, streams, args.seed)?;
    let sgd = [
        (band(&v0).0, closed_form_same_example(&eigs, &cov, lr, 0.0)),
        (band(&n0).0, fig6::closed_form(&eigs, lr, args.noise, 0.0)),
    ];
    let xs: Vec<f64> = rhos.iter().map(|r| r * l).collect();
    let panel = |title: String, pts: &[Point], sgd: (f64, f64)| {
        let mut pn =
            Panel::new(title, "ρL", "steady-state E[F(w) − F*]").scales(Scale::Log, Scale::Log);
        pn.series.push(Series::line(
            "exact (closed form)",
            xs.clone(),
            pts.iter().map(|x| x.3).collect(),
        ));
        pn.series.push(
            Series::line(
                "measured ± 95 %",
                xs.clone(),
                pts.iter().map(|x| x.1).collect(),
            )
            .with_band(
                pts.iter().map(|x| x.1 - x.2).collect(),
                pts.iter().map(|x| x.1 + x.2).collect(),
            )
            .as_points(),
        );
        pn.series.push(Series::line(
            "thm8 steady term, printed",
            xs.clone(),
            pts.iter().map(|x| x.4).collect(),
        ));
        pn.series.push(Series::line(
            "thm8 corrected b/(1 − c₊)",
            xs.clone(),
            pts.iter().map(|x| x.5).collect(),
        ));
        pn.hlines.push(("SGD exact".into(), sgd.1));
        pn
    };
    // (c): both errors relative to SGD's exact value for ρL ≤ 2, on a linear axis (the dip of (b)
    // is about 15 %).
    let keep = xs.iter().filter(|&&x| x <= 2.0).count();
    let xs = xs[..keep].to_vec();
    let mut zoom = Panel::new(
        "(c) error / SGD's exact error (ρL ≤ 2)",
        "ρL",
        "relative to SGD",
    )
    .scales(Scale::Log, Scale::Linear);
    for (label, pts, s0) in [
        ("same example", &same[..keep], sgd[0].1),
        ("fresh noise", &noisy[..keep], sgd[1].1),
    ] {
        zoom.series.push(Series::line(
            format!("{label}: exact"),
            xs.clone(),
            pts.iter().map(|x| x.3 / s0).collect(),
        ));
        zoom.series.push(
            Series::line(
                format!("{label}: measured"),
                xs.clone(),
                pts.iter().map(|x| x.1 / s0).collect(),
            )
            .with_band(
                pts.iter().map(|x| (x.1 - x.2) / s0).collect(),
                pts.iter().map(|x| (x.1 + x.2) / s0).collect(),
            )
            .as_points(),
        );
    }
    zoom.hlines.push(("SGD".into(), 1.0));
    let fig = Figure::new(
        format!(
            "ssam24 Remark 9: SAM's steady optimization error vs ρ (p = {p}, µ = {mu}, L = {l}, ηL = {}; bounds with G measured)",
            args.lr_l
        ),
        vec![
            panel(
                format!(
                    "(a) per-example quadratics, same example (n = {})",
                    q.n_examples()
                ),
                &same,
                sgd[0],
            ),
            panel(
                format!("(b) noisy quadratic, fresh noise s² = {}", args.noise),
                &noisy,
                sgd[1],
            ),
            zoom,
        ],
    );
    let stem = args.out.join("ssam24_rem9");
    save(&fig, &stem)?;
    let rows: Vec<Vec<f64>> = [&same, &noisy]
        .iter()
        .enumerate()
        .flat_map(|(pi, pts)| {
            pts.iter()
                .map(move |x| vec![pi as f64, x.0, x.1, x.2, x.3, x.4, x.5, x.6])
        })
        .collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Remark 9".into()),
            ("p", p.to_string()),
            ("mu", mu.to_string()),
            ("L", l.to_string()),
            ("eta", lr.to_string()),
            ("n", q.n_examples().to_string()),
            ("noise_variance", args.noise.to_string()),
            ("burn_in", burn.to_string()),
            ("window", win.to_string()),
            ("streams", streams.to_string()),
            ("seed", args.seed.to_string()),
            ("sgd_same_measured_exact", format!("{} {}", sgd[0].0, sgd[0].1)),
            ("sgd_noisy_measured_exact", format!("{} {}", sgd[1].0, sgd[1].1)),
            (
                "columns",
                "panel 0 = same example (paper's setting), 1 = noisy quadratic; half = 95% half-width over streams; printed/corrected = thm8 steady terms with G measured".into(),
            ),
        ],
        &["panel", "rho", "measured", "half", "exact", "thm8_printed", "thm8_corrected", "G"],
        &rows,
    )?;
    Ok(Out { same, noisy, sgd })
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_rem9",
        &args.out,
        || run_figure(&args),
        |out| {
            for (name, pts, sgd) in [
                ("same example", &out.same, out.sgd[0]),
                ("noisy", &out.noisy, out.sgd[1]),
            ] {
                println!("{name}: SGD measured {:.4e}, exact {:.4e}", sgd.0, sgd.1);
                for x in pts.iter() {
                    println!(
                        "  rho {:.3e}: measured {:.4e} ± {:.1e}, exact {:.4e}, thm8 printed {:.4e}, corrected {:.4e} (G {:.3e})",
                        x.0, x.1, x.2, x.3, x.4, x.5, x.6
                    );
                }
            }
        },
    )
}
