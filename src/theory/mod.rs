//! The check engine. A [`Check`] turns one printed statement into a deterministic function from an
//! *instance* — a point θ of the unit cube, mapped by the check onto problems and hyper-parameters
//! inside the statement's conditions, plus a seed — to an [`Observation`]: a measured left side, the
//! bound, and the constants used (each exact or measured). The engine evaluates many instances
//! (random points, and the corners of the cube, where conditions hold with equality), runs a
//! tightness search from the worst ones, and folds everything into a [`Verdict`]. Violations are
//! claimed only beyond the rounding allowance of the observation (or the confidence interval of a
//! Monte Carlo left side), and the violating instance is kept so that it replays bit-for-bit.

pub mod af22;
pub mod mc;
mod search;
pub mod ssam24;

use std::time::Instant;

use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::stream;

/// Which way a bound goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sense {
    /// LHS ≤ RHS.
    Le,
    /// LHS ≥ RHS.
    Ge,
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every instance satisfied the bound (beyond rounding, or with its whole confidence interval).
    Holds,
    /// Some instance violates the bound with certainty.
    Violated,
    /// The evidence decides neither way (e.g. a confidence interval straddles the bound).
    Inconclusive,
}

/// Where a constant's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// A closed form or an eigenvalue computed to machine precision.
    Exact,
    /// Measured on the region the check visited.
    Measured,
}

/// A constant used by a bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    /// Its name (β, µ, σ², L*, …).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Exact or measured.
    pub provenance: Provenance,
}

impl Constant {
    /// An exact constant.
    pub fn exact(name: &str, value: f64) -> Self {
        Constant {
            name: name.into(),
            value,
            provenance: Provenance::Exact,
        }
    }
    /// A measured constant.
    pub fn measured(name: &str, value: f64) -> Self {
        Constant {
            name: name.into(),
            value,
            provenance: Provenance::Measured,
        }
    }
}

/// A point of a check's instance space: θ ∈ [0, 1]^k and a seed for whatever is drawn at random.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Coordinates in the unit cube.
    pub theta: Vec<f64>,
    /// Seed of the instance's random draws.
    pub seed: u64,
}

/// One evaluation of a statement on one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The measured left side.
    pub lhs: f64,
    /// The bound.
    pub rhs: f64,
    /// Which way the bound goes.
    pub sense: Sense,
    /// Rounding allowance: a violation must exceed it to count (64 units of roundoff of the terms).
    pub slack: f64,
    /// A confidence interval of the left side when it is a Monte Carlo estimate.
    pub ci: Option<[f64; 2]>,
    /// The constants the bound used.
    pub constants: Vec<Constant>,
    /// What the instance was, in words (problem, γ, ρ, …).
    pub note: String,
}

impl Observation {
    /// LHS ≤ RHS with a rounding allowance of 64 units of roundoff of `scale` (see [`rounding`]).
    pub fn le(lhs: f64, rhs: f64, scale: f64, constants: Vec<Constant>, note: String) -> Self {
        Observation {
            lhs,
            rhs,
            sense: Sense::Le,
            slack: rounding(scale),
            ci: None,
            constants,
            note,
        }
    }
    /// LHS ≥ RHS, likewise.
    pub fn ge(lhs: f64, rhs: f64, scale: f64, constants: Vec<Constant>, note: String) -> Self {
        Observation {
            sense: Sense::Ge,
            ..Observation::le(lhs, rhs, scale, constants, note)
        }
    }

    /// The signed excess of the bound, normalized to [−2, 2]: positive exactly when LHS is on the
    /// wrong side of RHS. Used to rank instances (the tightness search maximizes it).
    pub fn margin(&self) -> f64 {
        let (a, b) = match self.sense {
            Sense::Le => (self.lhs, self.rhs),
            Sense::Ge => (self.rhs, self.lhs),
        };
        let m = (a - b) / a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
        if m.is_nan() { f64::INFINITY } else { m }
    }

    /// The tightness ratio LHS/RHS (RHS/LHS for a lower bound) when both sides are positive.
    pub fn ratio(&self) -> Option<f64> {
        let (a, b) = match self.sense {
            Sense::Le => (self.lhs, self.rhs),
            Sense::Ge => (self.rhs, self.lhs),
        };
        (a >= 0.0 && b > 0.0).then(|| a / b)
    }

    /// The status this observation alone supports.
    pub fn status(&self) -> Status {
        let (lo, hi) = match self.ci {
            Some([l, h]) => (l, h),
            None => (self.lhs, self.lhs),
        };
        let bad = |x: f64| match self.sense {
            Sense::Le => x > self.rhs + self.slack,
            Sense::Ge => x < self.rhs - self.slack,
        };
        let (sure_bad, maybe_bad) = match self.sense {
            Sense::Le => (bad(lo), bad(hi)),
            Sense::Ge => (bad(hi), bad(lo)),
        };
        if !self.lhs.is_finite() || !self.rhs.is_finite() {
            Status::Inconclusive
        } else if sure_bad {
            Status::Violated
        } else if maybe_bad {
            Status::Inconclusive
        } else {
            Status::Holds
        }
    }
}

/// A rounding allowance for quantities of magnitude `scale`: 64 units of roundoff.
pub fn rounding(scale: f64) -> f64 {
    64.0 * f64::EPSILON * scale.abs()
}

/// How much work a check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A few seconds a check: what `cargo test` and `samlab verify --quick` run.
    Quick,
    /// Many more instances and a longer tightness search.
    Full,
}

/// Settings of a verification run.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Quick or full.
    pub mode: Mode,
    /// Master seed; a check draws from stream (seed, FNV-1a hash of its id) ([`crate::rng::label_index`]),
    /// so its instances do not depend on which other checks exist or run.
    pub seed: u64,
}

impl Ctx {
    /// `quick` in quick mode, `full` in full mode.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        match self.mode {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// One printed statement, as a check.
pub trait Check: Sync {
    /// The id, e.g. `af22.lem8` (`<id>.corrected` for a corrected statement).
    fn id(&self) -> &'static str;
    /// The statement in a few words.
    fn statement(&self) -> &'static str;
    /// The dimension k of the instance cube.
    fn dims(&self) -> usize;
    /// Evaluate the statement on one instance (deterministic in the instance).
    fn evaluate(&self, inst: &Instance) -> Observation;
    /// The finding (see FINDINGS.md) when the printed statement is known to fail.
    fn finding(&self) -> Option<&'static str> {
        None
    }
    /// Instances every run re-evaluates besides the drawn ones: the saved counter-example of a
    /// finding, so that a violation found once (e.g. by a full-mode search) is never lost by a
    /// quick run that happens not to sample its region.
    fn known(&self) -> Vec<Instance> {
        Vec::new()
    }
}

/// The verdict on one check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Check id.
    pub id: String,
    /// The statement in a few words.
    pub statement: String,
    /// Holds, Violated or Inconclusive.
    pub verdict: Status,
    /// LHS at the worst instance.
    pub lhs: f64,
    /// RHS at the worst instance.
    pub rhs: f64,
    /// The largest tightness ratio LHS/RHS found (None where no instance had both sides positive).
    pub ratio: Option<f64>,
    /// The confidence interval of the worst LHS, for Monte Carlo checks.
    pub ci: Option<[f64; 2]>,
    /// Number of instances evaluated (including the tightness search).
    pub instances: usize,
    /// The constants at the worst instance.
    pub constants: Vec<Constant>,
    /// The worst instance (the counter-example when Violated): replays with `samlab verify --replay`.
    pub worst: Instance,
    /// The finding, when the printed statement is known to fail.
    pub finding: Option<String>,
    /// The worst instance in words.
    pub details: String,
    /// Wall time in seconds.
    pub seconds: f64,
}

fn draw_instances(check: &dyn Check, ctx: &Ctx) -> Vec<Instance> {
    let k = check.dims();
    let mut rng = stream(ctx.seed, crate::rng::label_index(check.id()));
    let mut out = Vec::new();
    // The corners of the cube (capped at 2^6), where the conditions hold with equality.
    let corners = 1usize << k.min(6);
    for c in 0..corners {
        let theta = (0..k)
            .map(|j| if j < 6 && (c >> j) & 1 == 1 { 1.0 } else { 0.0 })
            .collect();
        out.push(Instance {
            theta,
            seed: rng.random(),
        });
    }
    for _ in 0..ctx.pick(48, 768) {
        let theta = (0..k).map(|_| rng.random::<f64>()).collect();
        out.push(Instance {
            theta,
            seed: rng.random(),
        });
    }
    out.extend(check.known());
    out
}

/// Run one check: evaluate its instances in parallel (the result does not depend on the thread
/// count), refine the worst ones by a pattern search, and fold everything into a verdict.
pub fn run_check(check: &dyn Check, ctx: &Ctx) -> Verdict {
    let t0 = Instant::now();
    let instances = draw_instances(check, ctx);
    let mut evaluated: Vec<(Instance, Observation)> = instances
        .into_par_iter()
        .map(|i| {
            let o = check.evaluate(&i);
            (i, o)
        })
        .collect();
    let mut order: Vec<usize> = (0..evaluated.len()).collect();
    order.sort_by(|&a, &b| evaluated[b].1.margin().total_cmp(&evaluated[a].1.margin()));
    let starts: Vec<Instance> = order
        .iter()
        .take(ctx.pick(2, 6))
        .map(|&i| evaluated[i].0.clone())
        .collect();
    let refined: Vec<Vec<(Instance, Observation)>> = starts
        .into_par_iter()
        .map(|s| search::pattern_search(check, s, ctx.pick(60, 400)))
        .collect();
    evaluated.extend(refined.into_iter().flatten());
    fold(check, evaluated, t0.elapsed().as_secs_f64())
}

/// Fold evaluated instances into a verdict: Violated if any is certainly violated, else
/// Inconclusive if any is undecided, else Holds; the worst instance (largest margin) is reported.
pub fn fold(check: &dyn Check, evaluated: Vec<(Instance, Observation)>, seconds: f64) -> Verdict {
    let status = |s: Status| evaluated.iter().any(|(_, o)| o.status() == s);
    let verdict = if status(Status::Violated) {
        Status::Violated
    } else if status(Status::Inconclusive) {
        Status::Inconclusive
    } else {
        Status::Holds
    };
    let ratio = evaluated
        .iter()
        .filter_map(|(_, o)| o.ratio())
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let (worst, obs) = evaluated
        .iter()
        .filter(|(_, o)| verdict != Status::Violated || o.status() == Status::Violated)
        .max_by(|a, b| a.1.margin().total_cmp(&b.1.margin()))
        .expect("at least one instance")
        .clone();
    Verdict {
        id: check.id().into(),
        statement: check.statement().into(),
        verdict,
        lhs: obs.lhs,
        rhs: obs.rhs,
        ratio,
        ci: obs.ci,
        instances: evaluated.len(),
        constants: obs.constants,
        worst,
        finding: check.finding().map(str::to_string),
        details: obs.note,
        seconds,
    }
}

/// Every registered check, in report order.
pub fn registry() -> Vec<Box<dyn Check>> {
    let mut v = af22::checks();
    v.extend(ssam24::checks());
    v
}

/// The checks whose id starts with one of `ids` (all when `ids` is empty).
pub fn select(ids: &[String]) -> Result<Vec<Box<dyn Check>>> {
    let all = registry();
    if ids.is_empty() {
        return Ok(all);
    }
    for id in ids {
        if !all.iter().any(|c| c.id().starts_with(id.as_str())) {
            let known: Vec<&str> = all.iter().map(|c| c.id()).collect();
            return Err(Error::invalid(
                "IDS",
                format!("no check matches `{id}`; known: {}", known.join(", ")),
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|c| ids.iter().any(|id| c.id().starts_with(id.as_str())))
        .collect())
}

/// A saved instance of a check, as written by `samlab verify --save-worst` and read by `--replay`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// Check id.
    pub id: String,
    /// The instance.
    pub instance: Instance,
    /// The observation when it was saved (replay must reproduce it bit-for-bit).
    pub observation: Observation,
}

/// Re-evaluate a saved instance; an error when the check is unknown.
pub fn replay(saved: &Saved) -> Result<(Observation, Status)> {
    let check = registry()
        .into_iter()
        .find(|c| c.id() == saved.id)
        .ok_or_else(|| Error::invalid("id", format!("unknown check `{}`", saved.id)))?;
    if saved.instance.theta.len() != check.dims() {
        return Err(Error::invalid(
            "instance.theta",
            format!(
                "has {} entries, check `{}` takes {}",
                saved.instance.theta.len(),
                saved.id,
                check.dims()
            ),
        ));
    }
    let o = check.evaluate(&saved.instance);
    let s = o.status();
    Ok((o, s))
}
