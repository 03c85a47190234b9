//! The trajectory runner: owns the loop over the phases of a run, draws every random number from
//! the run's stream (seed, stream index), records every k steps (step, train loss, test metric,
//! ‖∇L‖, SSAM ratio, gradient evaluations, parameters on request) and stops cleanly at the first
//! step whose iterate is non-finite or beyond the divergence bound, reporting that step.

use serde::Serialize;

use super::{Method, StepInfo, StepSizes, Workspace, step};
use crate::error::{Error, Result};
use crate::problem::{Problem, norm};
use crate::rng::stream;

/// One phase of a run: a method, its step sizes and its number of parameter updates.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// The update rule.
    pub method: Method,
    /// γ_t and ρ_t.
    pub sizes: StepSizes,
    /// Number of parameter updates.
    pub steps: usize,
}

/// Settings of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// The phases, run in order.
    pub phases: Vec<Phase>,
    /// Seed of the random stream.
    pub seed: u64,
    /// Stream index (e.g. the trajectory's index in a sweep).
    pub stream: u64,
    /// Record every this many steps (and always the first and last); 0 records only those two.
    pub record_every: usize,
    /// Include the parameters in every record.
    pub record_params: bool,
    /// A run diverges at the first step where some |wⱼ| exceeds this bound or is non-finite.
    pub diverge_above: f64,
}

impl RunConfig {
    /// A run of the given phases with seed 0, stream 0, recording every 100 steps.
    pub fn new(phases: Vec<Phase>) -> Self {
        RunConfig {
            phases,
            seed: 0,
            stream: 0,
            record_every: 100,
            record_params: false,
            diverge_above: 1e100,
        }
    }

    /// Validate the run against a problem, naming the offending field.
    pub fn check(&self, problem: &dyn Problem) -> Result<()> {
        if self.phases.is_empty() {
            return Err(Error::invalid("phase", "a run needs at least one phase"));
        }
        for (k, ph) in self.phases.iter().enumerate() {
            let at = format!("phase[{k}]");
            ph.sizes.check().map_err(|e| e.under(&at))?;
            ph.method
                .check(problem.n_examples())
                .map_err(|e| e.under(&at))?;
        }
        if self.diverge_above.is_nan() || self.diverge_above <= 0.0 {
            return Err(Error::invalid("run.diverge_above", "must be > 0"));
        }
        Ok(())
    }
}

/// One recorded point of a trajectory.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Record {
    /// Number of parameter updates made so far (over all phases).
    pub step: usize,
    /// Index of the phase the step belongs to.
    pub phase: usize,
    /// L(w).
    pub train_loss: f64,
    /// The problem's test metric, if it has one.
    pub test_metric: Option<f64>,
    /// ‖∇L(w)‖ (full batch, noise-free).
    pub grad_norm: f64,
    /// SSAM ratio γ_t of the last step (renormalized methods).
    pub ssam_ratio: Option<f64>,
    /// Cumulative batch-gradient oracle calls.
    pub grad_evals: usize,
    /// Cumulative per-example gradients.
    pub example_grads: usize,
    /// The parameters, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<f64>>,
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunResult {
    /// The recorded points.
    pub records: Vec<Record>,
    /// The final parameters (the last iterate within bounds when the run diverged).
    pub params: Vec<f64>,
    /// Steps completed (excluding the diverging one).
    pub steps: usize,
    /// The update (1-based) whose result was non-finite or beyond the bound, if any.
    pub diverged_at: Option<usize>,
    /// Total batch-gradient oracle calls.
    pub grad_evals: usize,
    /// Total per-example gradients.
    pub example_grads: usize,
}

impl RunResult {
    /// The last record.
    pub fn last(&self) -> &Record {
        self.records.last().expect("a run always records its start")
    }
}

/// Makes records: owns the gradient buffer for ‖∇L‖.
struct Recorder<'a> {
    problem: &'a dyn Problem,
    g: Vec<f64>,
    params: bool,
}

impl Recorder<'_> {
    /// The record of iterate `w` after `step` updates; `totals` = (oracle calls, example grads).
    fn at(
        &mut self,
        w: &[f64],
        step: usize,
        phase: usize,
        info: &StepInfo,
        totals: (usize, usize),
    ) -> Record {
        let p = self.problem;
        p.grad(w, &mut self.g);
        Record {
            step,
            phase,
            train_loss: p.loss(w),
            test_metric: p.test_metric(w),
            grad_norm: norm(&self.g),
            ssam_ratio: info.ssam_ratio,
            grad_evals: totals.0,
            example_grads: totals.1,
            params: self.params.then(|| w.to_vec()),
        }
    }
}

/// The phase index of the update that produced step `t` (phase 0 for t = 0).
fn phase_of(cfg: &RunConfig, t: usize) -> usize {
    let mut end = 0;
    for (k, ph) in cfg.phases.iter().enumerate() {
        end += ph.steps;
        if t <= end {
            return k;
        }
    }
    cfg.phases.len().saturating_sub(1)
}

/// Run `cfg` on `problem` from `init`. Calls `on_step(step, w, info)` after every update (use it
/// for per-step statistics; it may be a no-op closure). Never panics on divergence: the result
/// reports the step instead.
pub fn run_with(
    problem: &dyn Problem,
    init: &[f64],
    cfg: &RunConfig,
    mut on_step: impl FnMut(usize, &[f64], &StepInfo),
) -> RunResult {
    assert_eq!(
        init.len(),
        problem.dim(),
        "init has the problem's dimension"
    );
    let mut w = init.to_vec();
    let mut prev = w.clone();
    let mut ws = Workspace::new(problem.dim(), problem.n_examples());
    let mut rec = Recorder {
        problem,
        g: vec![0.0; problem.dim()],
        params: cfg.record_params,
    };
    let mut rng = stream(cfg.seed, cfg.stream);
    let (mut evals, mut examples) = (0usize, 0usize);
    let mut t = 0usize;
    let mut info = StepInfo::default();
    let mut records = vec![rec.at(&w, 0, 0, &info, (0, 0))];
    let mut diverged_at = None;
    'phases: for (k, ph) in cfg.phases.iter().enumerate() {
        for s in 0..ph.steps {
            let (lr, rho) = ph.sizes.at(s, ph.steps);
            prev.copy_from_slice(&w);
            info = step(problem, &ph.method, &mut w, lr, rho, &mut ws, &mut rng);
            if w.iter().any(|x| x.is_nan() || x.abs() > cfg.diverge_above) {
                diverged_at = Some(t + 1);
                w.copy_from_slice(&prev);
                break 'phases;
            }
            t += 1;
            evals += info.grad_evals;
            examples += info.example_grads;
            on_step(t, &w, &info);
            if cfg.record_every > 0 && t.is_multiple_of(cfg.record_every) {
                records.push(rec.at(&w, t, k, &info, (evals, examples)));
            }
        }
    }
    if records.last().map(|r| r.step) != Some(t) {
        let phase = phase_of(cfg, t);
        records.push(rec.at(&w, t, phase, &info, (evals, examples)));
    }
    RunResult {
        records,
        params: w,
        steps: t,
        diverged_at,
        grad_evals: evals,
        example_grads: examples,
    }
}

/// [`run_with`] without a per-step callback.
pub fn run(problem: &dyn Problem, init: &[f64], cfg: &RunConfig) -> RunResult {
    run_with(problem, init, cfg, |_, _, _| {})
}
