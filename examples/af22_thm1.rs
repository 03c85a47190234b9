//! af22 Theorem 1 and Theorems 4–5, measured: (a) the error of the printed and corrected effective
//! initializations against ρ (log–log, with fitted slopes: 1 for the printed constants 2ρ/n² and
//! 8ρ/n, 2 for the corrected ρ/n² and ρ/n), on one sparse-regression instance; (b) the exponent
//! ‖ln(α/α_x)‖₁ of the effective α against ρ, the flow's own √(w₊w₋) next to the formulas; (c) the
//! histogram of the Theorem 1 ratios ‖Δ_1SAM‖₁/(d∫L) and ‖Δ_nSAM‖₁/((d/n)∫L) (Δ = ∫I along the GD
//! flow, the corrected first-order coefficients) and of ‖∫I_1SAM‖₁/(n‖∫I_nSAM‖₁) (App. B.3: ≈ 1)
//! over random Gaussian designs with d ≫ n.
//!
//! `cargo run --release --example af22_thm1 [-- --designs N --quick --out DIR]` writes
//! `DIR/af22_thm1.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rand::Rng;
use rayon::prelude::*;
use samlab::error::{Error, Result};
use samlab::flow::Flow;
use samlab::plot::{Figure, Panel, Scale, Series, example_main, save, write_csv};
use samlab::rng::stream;
use samlab::sweep::grid::spaced;
use samlab::theory::af22::appb3::{integrated, thm1_ratios};
use samlab::theory::af22::bias::{Case, Part, Sam, argmin, loglog_slope, rel_err, run_flow};
use samlab::theory::af22::implicit::{Form, exact_form};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Features d of the ρ-sweep instance.
    #[arg(long, default_value_t = 30)]
    pub d: usize,
    /// Examples n of the ρ-sweep instance.
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Initialization scale α₀ (α = α₀ e^u, u uniform in [−½, ½] per coordinate).
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    /// Smallest relative ascent κ of the ρ grid (ρ = κ / ascent scale).
    #[arg(long, default_value_t = 1e-4)]
    pub kappa_min: f64,
    /// Largest relative ascent κ.
    #[arg(long, default_value_t = 0.1)]
    pub kappa_max: f64,
    /// Points of the ρ grid.
    #[arg(long, default_value_t = 13)]
    pub n_kappa: usize,
    /// Random designs of the histogram.
    #[arg(long, default_value_t = 200)]
    pub designs: usize,
    /// Smallest n of the histogram's designs.
    #[arg(long, default_value_t = 10)]
    pub n_min: usize,
    /// Largest n of the histogram's designs.
    #[arg(long, default_value_t = 30)]
    pub n_max: usize,
    /// d/n of the histogram's designs.
    #[arg(long, default_value_t = 20)]
    pub ratio: usize,
    /// Seed (instance and designs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run (d = 12, n = 4, 5 ρ values, 12 designs with n = 3..5) for tests.
    #[arg(long)]
    pub quick: bool,
}

/// The curves of panels (a) and (b), in CSV order.
pub const CURVES: [&str; 6] = [
    "n-SAM printed 2ρ/n²",
    "n-SAM corrected ρ/n²",
    "1-SAM printed 8ρ/n",
    "1-SAM corrected ρ/n",
    "n-SAM flow √(w₊w₋)",
    "1-SAM flow √(w₊w₋)",
];

/// Everything the figure shows.
#[derive(Clone, Debug)]
pub struct Thm1Figure {
    /// κ grid and ρ of each SAM flow: (κ, ρ_nSAM, ρ_1SAM).
    pub rho: Vec<(f64, f64, f64)>,
    /// Panel (a): relative error of argmin φ_{α_x} against β∞, per curve 0..4, per κ.
    pub err: Vec<Vec<f64>>,
    /// Panel (a): the solvers' floor (error of the exact corrected α), per SAM, per κ.
    pub floor: Vec<Vec<f64>>,
    /// Fitted log–log slopes of curves 0..4.
    pub slopes: Vec<f64>,
    /// Panel (b): ‖ln(α/α_x)‖₁ per curve 0..6, per κ.
    pub exponent: Vec<Vec<f64>>,
    /// Panel (c): per design (d, n, ratio 1-SAM, ratio n-SAM, ‖∫I_1‖/(n‖∫I_n‖)).
    pub designs: Vec<[f64; 5]>,
}

fn l1_log_ratio(alpha: &[f64], ax: &[f64]) -> f64 {
    alpha.iter().zip(ax).map(|(a, x)| (a / x).ln().abs()).sum()
}

/// Panels (a), (b) for one SAM flow at one κ: errors of (printed, corrected) first-order α, the
/// floor, and the exponents of (printed, corrected, flow).
fn sweep_point(case: &Case, sam: Sam, kappa: f64) -> Result<(f64, [f64; 3], [f64; 3])> {
    let rho = kappa / case.ascent_scale(sam);
    let run = run_flow(case, sam.flow(rho));
    if !run.converged {
        return Err(Error::invalid(
            "kappa_max",
            format!("the {sam:?} flow at rho = {rho:.3e} did not converge"),
        ));
    }
    let (part, printed) = match sam {
        Sam::NSam => (Part::GradSq, 2.0),
        Sam::OneSam => (Part::ExampleSq, 8.0),
    };
    let forms = [
        Form {
            sam,
            part,
            c: printed,
        },
        Form { sam, part, c: 1.0 },
        exact_form(sam),
    ];
    let mut err = [0.0; 3];
    let mut expo = [0.0; 3];
    for (k, f) in forms.iter().enumerate() {
        let ax = f.alpha(case, &run, rho);
        err[k] = argmin(case, &ax).map_or(f64::NAN, |(b, _)| rel_err(&run.beta, &b));
        expo[k] = l1_log_ratio(case.alpha(), &ax);
    }
    let flow = l1_log_ratio(case.alpha(), &run.alpha_flow());
    Ok((rho, err, [expo[0], expo[1], flow]))
}

/// Run the experiment, write the figure and its CSV; return what it shows.
pub fn run_figure(args: &Args) -> Result<Thm1Figure> {
    let (d, n, n_kappa, designs, n_lo, n_hi) = if args.quick {
        (12, 4, 5, 12, 3, 5)
    } else {
        (
            args.d,
            args.n,
            args.n_kappa,
            args.designs,
            args.n_min,
            args.n_max,
        )
    };
    if n == 0 || d <= n {
        return Err(Error::invalid(
            "d",
            format!("need d > n >= 1, got d = {d}, n = {n}"),
        ));
    }
    if n_kappa < 2 || !(args.kappa_min > 0.0 && args.kappa_max > args.kappa_min) {
        return Err(Error::invalid(
            "kappa_max",
            "need 0 < kappa_min < kappa_max and n_kappa >= 2",
        ));
    }
    if n_lo == 0 || n_hi < n_lo || args.ratio < 2 {
        return Err(Error::invalid(
            "n_min",
            "need 1 <= n_min <= n_max and ratio >= 2",
        ));
    }
    let case = Case::new(d, n, args.alpha, args.seed);
    let kappas = spaced(args.kappa_min, args.kappa_max, n_kappa, true);
    let jobs: Vec<(Sam, f64)> = [Sam::NSam, Sam::OneSam]
        .iter()
        .flat_map(|&s| kappas.iter().map(move |&k| (s, k)))
        .collect();
    let pts: Vec<(f64, [f64; 3], [f64; 3])> = jobs
        .par_iter()
        .map(|&(s, k)| sweep_point(&case, s, k))
        .collect::<Result<_>>()?;
    let (pn, p1) = pts.split_at(n_kappa);
    let col = |p: &[(f64, [f64; 3], [f64; 3])], e: bool, k: usize| -> Vec<f64> {
        p.iter().map(|q| if e { q.1[k] } else { q.2[k] }).collect()
    };
    let err = vec![
        col(pn, true, 0),
        col(pn, true, 1),
        col(p1, true, 0),
        col(p1, true, 1),
    ];
    let floor = vec![col(pn, true, 2), col(p1, true, 2)];
    let exponent = vec![
        col(pn, false, 0),
        col(pn, false, 1),
        col(p1, false, 0),
        col(p1, false, 1),
        col(pn, false, 2),
        col(p1, false, 2),
    ];
    let rho: Vec<(f64, f64, f64)> = (0..n_kappa)
        .map(|k| (kappas[k], pn[k].0, p1[k].0))
        .collect();
    // Slopes on the points above 64 × the floor.
    let slopes: Vec<f64> = (0..4)
        .map(|c| {
            let fl = &floor[c / 2];
            let (x, y): (Vec<f64>, Vec<f64>) = (0..n_kappa)
                .filter(|&k| err[c][k] > 64.0 * fl[k])
                .map(|k| (kappas[k], err[c][k]))
                .unzip();
            loglog_slope(&x, &y).slope
        })
        .collect();
    // Panel (c): random designs.
    let mut rng = stream(args.seed, 7);
    let specs: Vec<(usize, u64)> = (0..designs)
        .map(|_| (rng.random_range(n_lo..=n_hi), rng.random()))
        .collect();
    let design_rows: Vec<[f64; 5]> = specs
        .par_iter()
        .map(|&(nn, seed)| {
            let c = Case::new(nn * args.ratio, nn, args.alpha, seed);
            let run = run_flow(&c, Flow::Gd);
            if !run.converged {
                return Err(Error::invalid(
                    "designs",
                    format!("GD flow on design seed {seed} did not converge"),
                ));
            }
            let (r1, rn) = thm1_ratios(&c, &run);
            let (i1, inn) = integrated(&c, &run);
            Ok([c.d as f64, nn as f64, r1, rn, i1 / (inn * nn as f64)])
        })
        .collect::<Result<_>>()?;
    let fig = Thm1Figure {
        rho,
        err,
        floor,
        slopes,
        exponent,
        designs: design_rows,
    };
    write(&fig, args, d, n)?;
    Ok(fig)
}

/// A histogram of `xs` with `bins` bins, as a step line (x: edges, y: counts).
fn histogram(label: String, xs: &[f64], lo: f64, hi: f64, bins: usize) -> Series {
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for &x in xs {
        let b = (((x - lo) / w).floor().max(0.0) as usize).min(bins - 1);
        counts[b] += 1.0;
    }
    let (mut x, mut y) = (vec![lo], vec![0.0]);
    for (b, c) in counts.iter().enumerate() {
        x.extend([lo + b as f64 * w, lo + (b + 1) as f64 * w]);
        y.extend([*c, *c]);
    }
    x.push(hi);
    y.push(0.0);
    Series::line(label, x, y)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (m - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn write(f: &Thm1Figure, args: &Args, d: usize, n: usize) -> Result<()> {
    let kappas: Vec<f64> = f.rho.iter().map(|r| r.0).collect();
    let mut a = Panel::new(
        format!("(a) |β∞ − argmin φ_αx| / |·|, d = {d}, n = {n}"),
        "relative first ascent κ (ρ = κ / ascent scale)",
        "relative error",
    )
    .scales(Scale::Log, Scale::Log);
    for c in 0..4 {
        a.series.push(Series::line(
            format!("{} (slope {:.2})", CURVES[c], f.slopes[c]),
            kappas.clone(),
            f.err[c].clone(),
        ));
    }
    for (s, name) in ["n-SAM", "1-SAM"].iter().enumerate() {
        a.series.push(
            Series::line(
                format!("{name} exact (corrected Eq. 14/15)"),
                kappas.clone(),
                f.floor[s].clone(),
            )
            .as_points(),
        );
    }
    let mut b = Panel::new(
        "(b) exponent |ln(α/α_x)|₁ of the effective α",
        "relative first ascent κ",
        "|ln(α/α_x)|₁",
    )
    .scales(Scale::Log, Scale::Log);
    for c in 0..6 {
        let s = Series::line(CURVES[c], kappas.clone(), f.exponent[c].clone());
        b.series.push(if c >= 4 { s.as_points() } else { s });
    }
    let col = |k: usize| -> Vec<f64> { f.designs.iter().map(|r| r[k]).collect() };
    let (r1, rn, rb) = (col(2), col(3), col(4));
    let all: Vec<f64> = r1.iter().chain(&rn).chain(&rb).copied().collect();
    let lo = all
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .min(0.5)
        .floor();
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil();
    let bins = 60;
    let (m1, s1) = mean_sd(&r1);
    let (mn, sn) = mean_sd(&rn);
    let (mb, sb) = mean_sd(&rb);
    let mut c = Panel::new(
        format!(
            "(c) {} Gaussian designs, d = {}n",
            f.designs.len(),
            args.ratio
        ),
        "ratio",
        "designs",
    );
    c.series.push(histogram(
        format!("|Δ_1SAM|₁/(d∫L): {m1:.3} ± {s1:.3}"),
        &r1,
        lo,
        hi,
        bins,
    ));
    c.series.push(histogram(
        format!("|Δ_nSAM|₁/((d/n)∫L): {mn:.3} ± {sn:.3}"),
        &rn,
        lo,
        hi,
        bins,
    ));
    c.series.push(histogram(
        format!("|∫I_1SAM|₁/(n|∫I_nSAM|₁): {mb:.3} ± {sb:.3}"),
        &rb,
        lo,
        hi,
        bins,
    ));
    let fig = Figure::new(
        "af22 Thm 1, 4, 5: effective initializations of n-SAM and 1-SAM",
        vec![a, b, c],
    );
    let stem = args.out.join("af22_thm1");
    save(&fig, &stem)?;
    let mut rows = Vec::new();
    for (k, r) in f.rho.iter().enumerate() {
        let mut row = vec![0.0, r.0, r.1, r.2];
        row.extend((0..4).map(|c| f.err[c][k]));
        row.extend((0..2).map(|s| f.floor[s][k]));
        row.extend((0..6).map(|c| f.exponent[c][k]));
        row.extend([f64::NAN; 5]);
        rows.push(row);
    }
    for r in &f.designs {
        let mut row = vec![1.0];
        row.extend([f64::NAN; 15]);
        row.extend(r.iter());
        rows.push(row);
    }
    write_csv(
        &stem.with_extension("csv"),
        &[
            (
                "figure",
                "af22 Thm 1, 4, 5: effective initializations".into(),
            ),
            (
                "instance",
                format!(
                    "d = {d}, n = {n}, alpha0 = {}, seed = {}",
                    args.alpha, args.seed
                ),
            ),
            (
                "designs",
                format!(
                    "{} designs, n in {}..={}, d = {} n",
                    f.designs.len(),
                    args.n_min,
                    args.n_max,
                    args.ratio
                ),
            ),
            ("slopes", format!("{:?} for curves 0..4", f.slopes)),
            ("curves", CURVES.join("; ")),
            (
                "rows",
                "panel = 0: the rho sweep; panel = 1: one design".into(),
            ),
        ],
        &[
            "panel",
            "kappa",
            "rho_nsam",
            "rho_1sam",
            "err_nsam_printed",
            "err_nsam_corrected",
            "err_1sam_printed",
            "err_1sam_corrected",
            "floor_nsam",
            "floor_1sam",
            "exp_nsam_printed",
            "exp_nsam_corrected",
            "exp_1sam_printed",
            "exp_1sam_corrected",
            "exp_nsam_flow",
            "exp_1sam_flow",
            "d",
            "n",
            "ratio_1sam",
            "ratio_nsam",
            "ratio_i1_over_n_in",
        ],
        &rows,
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    example_main(
        "af22_thm1",
        &args.out,
        || run_figure(&args),
        |f| {
            println!(
                "log-log slopes of the error (printed n-SAM, corrected n-SAM, printed 1-SAM, corrected 1-SAM): {:.3?}",
                f.slopes
            );
            let col = |k: usize| -> Vec<f64> { f.designs.iter().map(|r| r[k]).collect() };
            for (name, k) in [
                ("|Delta_1SAM|_1/(d int L)", 2),
                ("|Delta_nSAM|_1/((d/n) int L)", 3),
                ("|int I_1SAM|_1/(n |int I_nSAM|_1)", 4),
            ] {
                let (m, s) = mean_sd(&col(k));
                println!(
                    "{name}: mean {m:.4}, sd {s:.4} over {} designs",
                    f.designs.len()
                );
            }
        },
    )
}
