//! ssam24 Figs 4–5 on convex toy problems: parameter distance ‖w_t − v_t‖ and generalization gap
//! F_D(w_t) − F_S(w_t) against the epoch for SGD, SAM (unnormalized ascent) and SSAM, run on
//! neighbouring data sets S, S′ (example 0 replaced by a fresh draw; by exchangeability the
//! replaced index may be fixed) with the same index sequence, one example per step
//! (`samlab::optim::coupled`). Monte Carlo over replicates r (stream (seed, r): the data set, the
//! replacement and the index sequence, shared by the three methods) with 95 % bands
//! (mean ± 1.96 s.e.).
//!
//! Two families: per-example quadratics ½(w − c)ᵀA(w − c), A = diag(linspace(µ, L, p)),
//! c ~ N(m, I) (F_D closed form), and ℓ2-regularized logistic regression on a planted model
//! (F_D by the fixed 10⁶-point population sample of `Logistic::population`). The gap is
//! estimated minus the control variate F_D(w₀) − F_S(w₀) (mean 0: w₀ = 0 does not depend on S).
//!
//! Bounds over them, from `samlab::theory::ssam24::gen_bound` (the function the checks use):
//! Theorem 5 (SAM), Theorem 14 (SSAM, γ_upp measured as the largest γ_t of the SSAM runs) and the
//! same bound with ρ = 0 for SGD (Corollary 6's comparison), at T = t; the distance panels show
//! the stability bound behind them, gen_bound/G. µ exact; L exact for the quadratic, the largest
//! individual smoothness λ + maxᵢ‖xᵢ‖²/4 over all drawn data sets for logistic; G measured as
//! the largest ‖∇f(x, z)‖ seen at the runs' iterates and ascent points (both runs, all methods)
//! and over all examples at w₀ and w_T (a lower estimate of the theorems' sup: the bounds drawn
//! are if anything too low). ρ = `rho_frac`·min(ρ*, 10/L) inside Remark 3's region and
//! η = `eta_frac`·RHS(3) for all three methods.
//!
//! `cargo run --release --example ssam24_stability [-- --reps R --epochs E --quick --out DIR]`
//! writes `DIR/ssam24_stability.{png,svg,csv}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rand::Rng;
use rayon::prelude::*;
use samlab::error::Result;
use samlab::optim::coupled::{Coupled, Rule, neighbour_quadratic};
use samlab::plot::{Figure, Panel, Scale, Series, save, write_csv};
use samlab::problem::logistic::PopulationSample;
use samlab::problem::{Logistic, Problem, Quadratic, norm};
use samlab::rng::stream;
use samlab::theory::mc::replicate;
use samlab::theory::ssam24::{eta_max, gen_bound, rho_star};

/// Settings of the figure (every one a flag).
#[derive(Parser, Clone, Debug)]
pub struct Args {
    /// Examples per data set n.
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    /// Epochs (n steps each).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Monte Carlo replicates (data set, replacement, index sequence), quadratic family.
    #[arg(long, default_value_t = 2000)]
    pub reps: usize,
    /// Monte Carlo replicates of the logistic family (each gap costs a pass over the 10⁶-sample).
    #[arg(long, default_value_t = 200)]
    pub reps_logistic: usize,
    /// Quadratic: dimension p.
    #[arg(long, default_value_t = 5)]
    pub p: usize,
    /// Quadratic: µ = λ_min(A).
    #[arg(long, default_value_t = 0.5)]
    pub mu: f64,
    /// Quadratic: L = λ_max(A).
    #[arg(long, default_value_t = 1.0)]
    pub l: f64,
    /// Quadratic: |m| of the centres' mean m = |m|·(1, …, 1)/√p.
    #[arg(long, default_value_t = 2.0)]
    pub mean: f64,
    /// Logistic: dimension.
    #[arg(long, default_value_t = 3)]
    pub p_logistic: usize,
    /// Logistic: λ (= µ).
    #[arg(long, default_value_t = 2.0)]
    pub lambda: f64,
    /// ρ as a fraction of min(ρ*, 10/L) (Remark 3's region is ρ < ρ*).
    #[arg(long, default_value_t = 0.5)]
    pub rho_frac: f64,
    /// η as a fraction of the right side of condition (3).
    #[arg(long, default_value_t = 0.5)]
    pub eta_frac: f64,
    /// Seed (problem: stream 2⁶⁴ − 1; replicate r: stream r).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "figures")]
    pub out: PathBuf,
    /// A small run for tests (3 epochs, 16 replicates per family).
    #[arg(long)]
    pub quick: bool,
}

/// The methods compared, in CSV order.
pub const RULES: [Rule; 3] = [Rule::Sgd, Rule::Sam, Rule::Ssam];

/// One family's measurements: per method and epoch the distance and gap estimates, the bounds.
pub struct FamilyOut {
    /// "quadratic" or "logistic".
    pub name: &'static str,
    /// µ, L, G, ρ, η, γ_upp (SSAM).
    pub consts: [f64; 6],
    /// [method][epoch] (mean, half-width of the 95 % band) of ‖w − v‖.
    pub dist: Vec<Vec<(f64, f64)>>,
    /// [method][epoch] (mean, half-width) of the generalization gap.
    pub gap: Vec<Vec<(f64, f64)>>,
    /// [method][epoch] the generalization bound (Theorem 5 / 14 / SGD) at T = epoch·n.
    pub bound: Vec<Vec<f64>>,
}

/// The data sets S, S′ of one replicate and the rng of its index sequence.
struct Draw<P> {
    s: P,
    s2: P,
    rng: rand_chacha::ChaCha8Rng,
}

/// What one replicate of one method measured: per epoch (distance, gap), G seen, max γ.
struct RepOut {
    dist: Vec<f64>,
    gap: Vec<f64>,
    g: f64,
    gamma: f64,
}

/// The largest per-example gradient norm at `x` over the examples of `p`.
fn grad_sup<P: Problem>(p: &P, x: &[f64]) -> f64 {
    let mut buf = vec![0.0; x.len()];
    (0..p.n_examples())
        .map(|z| {
            p.example_grad(z, x, &mut buf);
            norm(&buf)
        })
        .fold(0.0, f64::max)
}

/// Run one method on one replicate's S, S′ for `epochs`·n steps, recording at every epoch.
#[allow(clippy::too_many_arguments)]
fn run_rep<P: Problem>(
    d: &Draw<P>,
    rule: Rule,
    lr: f64,
    rho: f64,
    epochs: usize,
    risk: &(dyn Fn(&P, &[f64]) -> f64 + Sync),
) -> Result<RepOut> {
    let p = d.s.dim();
    let n = d.s.n_examples();
    let w0 = vec![0.0; p];
    let cv = risk(&d.s, &w0) - d.s.loss(&w0);
    let mut c = Coupled::new(&d.s, &d.s2, &w0, rule, lr, rho, d.rng.clone())?;
    let mut g = grad_sup(&d.s, &w0).max(grad_sup(&d.s2, &w0));
    let (mut dist, mut gap) = (vec![0.0], vec![0.0]);
    let mut gamma = 0.0f64;
    for _ in 0..epochs {
        for _ in 0..n {
            let st = c.step();
            g = g
                .max(st.w.grad_norm)
                .max(st.w.asc_grad_norm)
                .max(st.v.grad_norm)
                .max(st.v.asc_grad_norm);
            gamma = gamma.max(st.w.gamma).max(st.v.gamma);
        }
        dist.push(c.distance());
        gap.push(risk(&d.s, c.w()) - d.s.loss(c.w()) - cv);
    }
    g = g.max(grad_sup(&d.s, c.w())).max(grad_sup(&d.s2, c.v()));
    Ok(RepOut {
        dist,
        gap,
        g,
        gamma,
    })
}

/// Mean and 95 % half-width of column `k` of per-replicate rows.
fn band(rows: &[Vec<f64>], k: usize) -> (f64, f64) {
    let e = replicate(rows.len(), |r| rows[r as usize][k]);
    (e.mean, 1.96 * e.sd / (rows.len() as f64).sqrt())
}

/// Run the three methods on every replicate of one family and summarize.
#[allow(clippy::too_many_arguments)]
fn family<P: Problem + Send + Sync>(
    name: &'static str,
    draws: &[Draw<P>],
    mu: f64,
    l: f64,
    args: &Args,
    epochs: usize,
    risk: &(dyn Fn(&P, &[f64]) -> f64 + Sync),
) -> Result<FamilyOut> {
    let rho = args.rho_frac * rho_star(mu, l).min(10.0 / l);
    let lr = args.eta_frac * eta_max(mu, l, rho);
    let n = args.n;
    let outs: Vec<Vec<RepOut>> = RULES
        .iter()
        .map(|&rule| {
            draws
                .par_iter()
                .map(|d| run_rep(d, rule, lr, rho, epochs, risk))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let g = outs.iter().flatten().map(|o| o.g).fold(0.0, f64::max);
    let gamma_upp = outs[2].iter().map(|o| o.gamma).fold(0.0, f64::max);
    let summarize = |f: &dyn Fn(&RepOut) -> &Vec<f64>| -> Vec<Vec<(f64, f64)>> {
        outs.iter()
            .map(|m| {
                let rows: Vec<Vec<f64>> = m.iter().map(|o| f(o).clone()).collect();
                (0..=epochs).map(|k| band(&rows, k)).collect()
            })
            .collect()
    };
    let bound = RULES
        .iter()
        .map(|&rule| {
            (0..=epochs)
                .map(|k| {
                    let (r, gm) = match rule {
                        Rule::Sgd => (0.0, 1.0),
                        Rule::Ssam => (rho, gamma_upp),
                        _ => (rho, 1.0),
                    };
                    gen_bound(mu, l, g, n, r, gm, lr, Some(k * n))
                })
                .collect()
        })
        .collect();
    Ok(FamilyOut {
        name,
        consts: [mu, l, g, rho, lr, gamma_upp],
        dist: summarize(&|o| &o.dist),
        gap: summarize(&|o| &o.gap),
        bound,
    })
}

/// The quadratic family: µ, L exact, F_D closed form.
fn quadratic(args: &Args, reps: usize, epochs: usize) -> Result<FamilyOut> {
    let p = args.p.max(1);
    let mut a = vec![0.0; p * p];
    for i in 0..p {
        let t = if p > 1 {
            i as f64 / (p - 1) as f64
        } else {
            1.0
        };
        a[i * p + i] = args.mu + t * (args.l - args.mu);
    }
    let m = vec![args.mean / (p as f64).sqrt(); p];
    let draws: Vec<Draw<Quadratic>> = (0..reps as u64)
        .map(|r| {
            let mut rng = stream(args.seed, r);
            let s = Quadratic::random_centers(a.clone(), p, args.n, &m, 1.0, rng.random())?;
            let c0: Vec<f64> = m
                .iter()
                .map(|x| x + rng.sample::<f64, _>(rand_distr::StandardNormal))
                .collect();
            let s2 = neighbour_quadratic(&s, 0, &c0)?;
            Ok(Draw { s, s2, rng })
        })
        .collect::<Result<_>>()?;
    let (mu, l) = (draws[0].s.lambda_min(), draws[0].s.lambda_max());
    let risk = |q: &Quadratic, w: &[f64]| q.population_risk(w).expect("random centres");
    family("quadratic", &draws, mu, l, args, epochs, &risk)
}

/// The logistic family: µ = λ exact, L the largest over the drawn data sets, F_D by the fixed
/// 10⁶-point population sample.
fn logistic(args: &Args, reps: usize, epochs: usize) -> Result<FamilyOut> {
    let pseed: u64 = stream(args.seed, u64::MAX).random();
    let base = Logistic::random(args.p_logistic, args.n, args.lambda, pseed)?;
    let w_true = base.planted().expect("planted").to_vec();
    let pop: PopulationSample = base.population()?;
    let draws: Vec<Draw<Logistic>> = (0..reps as u64)
        .map(|r| {
            let mut rng = stream(args.seed, r);
            let s = Logistic::planted_with(&w_true, args.n, 0, args.lambda, rng.random())?;
            let (x, y) = s.draw_example(&mut rng)?;
            let s2 = s.with_example(0, &x, y)?;
            Ok(Draw { s, s2, rng })
        })
        .collect::<Result<_>>()?;
    let smooth = |p: &Logistic| p.constants().individual_smoothness.exact().expect("exact");
    let l = draws
        .iter()
        .map(|d| smooth(&d.s).max(smooth(&d.s2)))
        .fold(0.0, f64::max);
    let risk = |_: &Logistic, w: &[f64]| pop.risk(w).mean;
    family("logistic", &draws, args.lambda, l, args, epochs, &risk)
}

/// Run both families, write the figure and its CSV; return the two summaries.
pub fn run_figure(args: &Args) -> Result<Vec<FamilyOut>> {
    let (reps, reps_lg, epochs) = if args.quick {
        (16, 16, 3)
    } else {
        (
            args.reps.max(2),
            args.reps_logistic.max(2),
            args.epochs.max(1),
        )
    };
    samlab::error::positive("rho_frac", args.rho_frac)?;
    samlab::error::positive("eta_frac", args.eta_frac)?;
    let fams = vec![
        quadratic(args, reps, epochs)?,
        logistic(args, reps_lg, epochs)?,
    ];
    let xs: Vec<f64> = (0..=epochs).map(|k| k as f64).collect();
    let mut panels = Vec::new();
    let mut rows = Vec::new();
    let names = ["SGD", "SAM", "SSAM"];
    let bnames = ["SGD bound (ρ = 0)", "thm5 (SAM)", "thm14 (SSAM)"];
    for (fi, f) in fams.iter().enumerate() {
        let [mu, l, g, rho, lr, gu] = f.consts;
        let mut pd = Panel::new(
            format!(
                "({}) {}: ‖w_t − v_t‖ (ρL = {:.2}, ηL = {:.2})",
                ["a", "c"][fi],
                f.name,
                rho * l,
                lr * l
            ),
            "epoch",
            "parameter distance",
        )
        .scales(Scale::Linear, Scale::Log);
        let mut pg = Panel::new(
            format!(
                "({}) {}: F_D(w_t) − F_S(w_t) (µ/L = {:.2})",
                ["b", "d"][fi],
                f.name,
                mu / l
            ),
            "epoch",
            "generalization gap",
        )
        .scales(Scale::Linear, Scale::Log);
        for (mi, name) in names.iter().enumerate() {
            let band_series = |label: String, v: &[(f64, f64)]| {
                Series::line(label, xs.clone(), v.iter().map(|x| x.0).collect()).with_band(
                    v.iter().map(|x| x.0 - x.1).collect(),
                    v.iter().map(|x| x.0 + x.1).collect(),
                )
            };
            pd.series.push(band_series(name.to_string(), &f.dist[mi]));
            pg.series.push(band_series(name.to_string(), &f.gap[mi]));
        }
        for (mi, bname) in bnames.iter().enumerate() {
            pd.series.push(Series::line(
                format!("{bname} / G"),
                xs.clone(),
                f.bound[mi].iter().map(|b| b / g).collect(),
            ));
            pg.series.push(Series::line(
                bname.to_string(),
                xs.clone(),
                f.bound[mi].clone(),
            ));
        }
        panels.push(pd);
        panels.push(pg);
        for mi in 0..3 {
            for k in 0..=epochs {
                rows.push(vec![
                    fi as f64,
                    mi as f64,
                    k as f64,
                    f.dist[mi][k].0,
                    f.dist[mi][k].1,
                    f.gap[mi][k].0,
                    f.gap[mi][k].1,
                    f.bound[mi][k],
                    mu,
                    l,
                    g,
                    rho,
                    lr,
                    gu,
                ]);
            }
        }
    }
    let mut fig = Figure::new(
        format!(
            "ssam24 stability: runs on S vs S′ (n = {}, {reps} / {reps_lg} replicates, 95 % bands; bounds with G measured)",
            args.n
        ),
        panels,
    );
    fig.panel_width = 500;
    let stem = args.out.join("ssam24_stability");
    save(&fig, &stem)?;
    write_csv(
        &stem.with_extension("csv"),
        &[
            ("figure", "ssam24 Figs 4-5 on convex toy problems".into()),
            ("n", args.n.to_string()),
            ("epochs", epochs.to_string()),
            ("reps", reps.to_string()),
            ("reps_logistic", reps_lg.to_string()),
            (
                "quadratic",
                format!(
                    "p = {}, A = diag(linspace({}, {})), c ~ N(m, I), |m| = {}, F_D closed form",
                    args.p, args.mu, args.l, args.mean
                ),
            ),
            (
                "logistic",
                format!(
                    "p = {}, lambda = {}, planted model (label noise sd 0.5), F_D by a 10^6-sample (population risk by a 10^6-sample, Logistic::population)",
                    args.p_logistic, args.lambda
                ),
            ),
            ("rho_frac", args.rho_frac.to_string()),
            ("eta_frac", args.eta_frac.to_string()),
            ("seed", args.seed.to_string()),
            (
                "columns",
                "family 0 quadratic / 1 logistic; method 0 SGD / 1 SAM / 2 SSAM; half = 95% half-width; bound = thm5 (SAM), thm14 (SSAM, gamma_upp), rho = 0 (SGD) at T = epoch*n; G measured".into(),
            ),
        ],
        &[
            "family",
            "method",
            "epoch",
            "distance",
            "distance_half",
            "gap",
            "gap_half",
            "bound",
            "mu",
            "L",
            "G",
            "rho",
            "eta",
            "gamma_upp",
        ],
        &rows,
    )?;
    Ok(fams)
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let args = Args::parse();
    samlab::plot::example_main(
        "ssam24_stability",
        &args.out,
        || run_figure(&args),
        |fams| {
            for f in fams {
                let [mu, l, g, rho, lr, gu] = f.consts;
                let fd = if f.name == "logistic" {
                    "population risk by a 10^6-sample"
                } else {
                    "population risk in closed form"
                };
                println!(
                    "{} ({fd}): mu = {mu:.3}, L = {l:.3}, G = {g:.3} (measured), rho = {rho:.4}, eta = {lr:.4}, gamma_upp = {gu:.4}",
                    f.name
                );
                for (mi, name) in ["SGD", "SAM", "SSAM"].iter().enumerate() {
                    let last = f.dist[mi].len() - 1;
                    let (d, gp, b) = (f.dist[mi][last], f.gap[mi][last], f.bound[mi][last]);
                    println!(
                        "  {name:>4}: final distance {:.4e} ± {:.1e}, gap {:.4e} ± {:.1e}, bound {b:.4e} (gap/bound {:.3})",
                        d.0,
                        d.1,
                        gp.0,
                        gp.1,
                        gp.0 / b
                    );
                }
            }
        },
    )
}
