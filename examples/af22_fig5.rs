//! af22 Fig 5: level sets of the hyperbolic entropy φ_α on ℝ², normalized by φ_α(β₀), for
//! α ∈ {0.01, 0.1, 1, 10}: ℓ1-ball-like for small α, ℓ2-ball-like for large α. For each level c and
//! angle θ the radius t with φ_α(t (cos θ, sin θ)) = c φ_α(β₀) is found by bisection (φ_α increases
//! along every ray from 0).
//!
//! `cargo run --release --example af22_fig5 [-- --n-theta N --quick --out DIR]` writes
//! `DIR/af22_fig5.{png,svg,csv}`.

use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::ProgressBar;
use rayon::prelude::*;
use samlab::error::Result;
use samlab::plot::{Figure, Panel, Series, save, write_csv};
use samlab::problem::HyperbolicEntropy;

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// The scales α, one panel each (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.01, 0.1, 1.0, 10.0])]
    pub alphas: Vec<f64>,
    /// The levels c of φ_α(β)/φ_α(β₀) (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.25, 0.5, 1.0, 2.0])]
    pub levels: Vec<f64>,
    /// The reference point β₀ (two comma-separated coordinates).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 0.0], allow_hyphen_values = true)]
    pub beta0: Vec<f64>,
    /// Angles per closed curve.
    #[arg(long, default_value_t = 400)]
    pub n_theta: usize,
    /// Also draw the unit ℓ1 and ℓ2 spheres for comparison (`--reference false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub reference: bool,
    /// Width of one panel in pixels.
    #[arg(long, default_value_t = 380)]
    pub panel_width: u32,
    /// Height of the figure in pixels.
    #[arg(long, default_value_t = 420)]
    pub height: u32,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run (80 angles) for tests.
    #[arg(long)]
    pub quick: bool,
}

/// The radius t > 0 with φ(t u) = target along the unit direction u (bisection to relative 1e-13).
pub fn radius(phi: &HyperbolicEntropy, u: [f64; 2], target: f64) -> f64 {
    let f = |t: f64| phi.value(&[t * u[0], t * u[1]]);
    let mut hi = 1.0;
    while f(hi) < target {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    while hi - lo > 1e-13 * hi {
        let mid = 0.5 * (lo + hi);
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Run the computation, write the figure and its CSV; return the rows
/// (alpha, level, theta, x, y).
pub fn run_figure(args: &Args) -> Result<Vec<Vec<f64>>> {
    if args.beta0.len() != 2 {
        return Err(samlab::error::Error::invalid(
            "beta0",
            "needs two coordinates",
        ));
    }
    let n_theta = if args.quick { 80 } else { args.n_theta.max(8) };
    let beta0 = [args.beta0[0], args.beta0[1]];
    let bar = ProgressBar::new(args.alphas.len() as u64);
    let curves: Vec<Vec<Vec<f64>>> = args
        .alphas
        .par_iter()
        .map(|&alpha| {
            let phi = HyperbolicEntropy::new(vec![alpha; 2])?;
            let phi0 = phi.value(&beta0);
            let mut rows = Vec::new();
            for &c in &args.levels {
                for k in 0..=n_theta {
                    // The last angle repeats the first: a closed curve.
                    let theta = 2.0 * PI * (k % n_theta) as f64 / n_theta as f64;
                    let u = [theta.cos(), theta.sin()];
                    let t = radius(&phi, u, c * phi0);
                    rows.push(vec![alpha, c, theta, t * u[0], t * u[1]]);
                }
            }
            bar.inc(1);
            Ok(rows)
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();

    let mut panels = Vec::new();
    for (alpha, rows) in args.alphas.iter().zip(&curves) {
        let mut p = Panel::new(format!("α = {alpha}: φ_α(β)/φ_α(β₀) = c"), "β₁", "β₂");
        // The extent of the curves; the axes span [−1.55R, 1.55R] × [−R, 2.1R] (equal lengths, so
        // circles look round in the near-square plot area, with the legend's room at the top).
        let r_max = rows
            .iter()
            .map(|r| r[3].abs().max(r[4].abs()))
            .fold(1.0, f64::max)
            * 1.02;
        if args.reference {
            let m = n_theta;
            let ang: Vec<f64> = (0..=m)
                .map(|k| 2.0 * PI * (k % m) as f64 / m as f64)
                .collect();
            let l1: Vec<f64> = ang
                .iter()
                .map(|a| 1.0 / (a.cos().abs() + a.sin().abs()))
                .collect();
            p.series.push(Series::line(
                "|β|₁ = 1",
                ang.iter().zip(&l1).map(|(a, r)| r * a.cos()).collect(),
                ang.iter().zip(&l1).map(|(a, r)| r * a.sin()).collect(),
            ));
            p.series.push(Series::line(
                "|β|₂ = 1",
                ang.iter().map(|a| a.cos()).collect(),
                ang.iter().map(|a| a.sin()).collect(),
            ));
        }
        for &c in &args.levels {
            let pts: Vec<&Vec<f64>> = rows.iter().filter(|r| r[1] == c).collect();
            p.series.push(Series::line(
                format!("c = {c}"),
                pts.iter().map(|r| r[3]).collect(),
                pts.iter().map(|r| r[4]).collect(),
            ));
        }
        // The plot module has no axis-range setting: the y range is widened by a band longer than
        // its series (not drawn), the x range by two points with a NaN ordinate (not drawn).
        if let Some(s) = p.series.first_mut() {
            let mut t = s.clone();
            t.x.extend([-1.55 * r_max, 1.55 * r_max]);
            t.y.extend([f64::NAN, f64::NAN]);
            // The band: the curve itself (zero width), NaN at the two extra points, then one
            // entry past the end of x that only counts for the range.
            let (mut lo, mut up) = (t.y.clone(), t.y.clone());
            lo.push(-r_max);
            up.push(2.1 * r_max);
            *s = t.with_band(lo, up);
        }
        panels.push(p);
    }
    let mut fig = Figure::new(
        format!(
            "af22 Fig 5: level sets of φ_α(β)/φ_α(β₀), β₀ = ({}, {}): ℓ1-like (small α) to ℓ2-like (large α)",
            beta0[0], beta0[1]
        ),
        panels,
    );
    fig.panel_width = args.panel_width;
    fig.height = args.height;
    let stem = args.out.join("af22_fig5");
    save(&fig, &stem)?;
    let rows: Vec<Vec<f64>> = curves.into_iter().flatten().collect();
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "af22 Fig 5".into()),
            (
                "potential",
                "phi_alpha(beta) = sum_i alpha^2 q(beta_i/alpha^2), q(z) = 2 - sqrt(4 + z^2) + z asinh(z/2) (af22 Eq. 12)"
                    .into(),
            ),
            ("alphas", format!("{:?}", args.alphas)),
            ("levels", format!("{:?}", args.levels)),
            ("beta0", format!("({}, {})", beta0[0], beta0[1])),
            ("n_theta", n_theta.to_string()),
            (
                "method",
                "per angle theta, bisection for t with phi(t (cos, sin)) = level * phi(beta0); x, y = t (cos, sin); the last angle repeats the first".into(),
            ),
        ],
        &["alpha", "level", "theta", "x", "y"],
        &rows,
    )?;
    Ok(rows)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "af22_fig5",
        &args.out,
        || run_figure(&args),
        |rows| {
            for &alpha in &args.alphas {
                let at = |theta: f64| {
                    rows.iter()
                        .filter(|r| r[0] == alpha && r[1] == 1.0)
                        .min_by(|a, b| (a[2] - theta).abs().total_cmp(&(b[2] - theta).abs()))
                        .map(|r| (r[3], r[4]))
                };
                if let (Some(d), Some(u)) = (at(PI / 4.0), at(PI / 2.0)) {
                    println!(
                        "α = {alpha:>5}: level 1 at θ = π/4: ({:.3}, {:.3}); at θ = π/2: ({:.3}, {:.3})",
                        d.0, d.1, u.0, u.1
                    );
                }
            }
        },
    )
}
