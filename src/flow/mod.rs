//! Gradient flows: the continuous-time limits of GD, n-SAM, 1-SAM and SSAM (af22 Eqs. 9–11 and the
//! SSAM flow), for any [`Problem`], integrated to convergence by an error-controlled Runge–Kutta
//! method (DOP853 or DOPRI5 of `differential-equations`). The state may carry extra components —
//! integrals along the flow ([`Integrals`]), integrated with the same error control — and may be
//! written in log-coordinates when the flow keeps every parameter positive. Integration stops at
//! the first time L(w) ≤ `loss_tol` (located on the dense output) or at `t_max`.
//!
//! ```
//! use samlab::data::RegressionData;
//! use samlab::flow::{DiagNetIntegrals, Flow, FlowConfig, integrate_with};
//! use samlab::problem::{DiagNet, Problem};
//!
//! let data = RegressionData::generate_sparse(30, 20, 3, 0, 0)?;
//! let net = DiagNet::new(&data, &[0.05])?;
//! let integrals = DiagNetIntegrals::new(&net);
//! let flow = Flow::OneSam { rho: 0.1 };
//! let result = integrate_with(&net, flow, &net.init(), &integrals, &FlowConfig::default())?;
//! assert!(result.converged() && result.loss <= 1e-12);
//! let parts = integrals.split(&result.integrals);
//! // af22 Eq. 15: α_1SAM = α ⊙ exp(−(8ρ/n) Σᵢ xᵢ² ∫ r_sam,i rᵢ ds) < α.
//! assert!(parts.one_sam.iter().all(|&a| a > 0.0));
//! # Ok::<(), samlab::Error>(())
//! ```

mod diag_net;

use std::cell::{Cell, RefCell};

use differential_equations::error::Error as OdeError;
use differential_equations::ode::solve_ode;
use differential_equations::prelude::{
    ControlFlag, ExplicitRungeKutta, Interpolation, ODE, Solout, Solution,
};

use crate::error::{Error, Result, finite, non_negative, positive};
use crate::problem::{Problem, norm};

pub use diag_net::{DiagNetIntegrals, DiagNetParts, i_1sam, i_nsam};

/// Guard of the SSAM ratio ‖∇L(w)‖/‖∇L(w_asc)‖: the denominator is at least `EPS`.
pub const EPS: f64 = 1e-12;

/// A gradient flow ẇ = −v(w).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flow {
    /// ERM / GD flow (af22 Eq. 9): ẇ = −∇L(w).
    Gd,
    /// n-SAM flow (af22 Eq. 10): ẇ = −∇L(w + ρ∇L(w)).
    NSam {
        /// Ascent radius ρ ≥ 0.
        rho: f64,
    },
    /// 1-SAM flow (af22 Eq. 11): ẇ = −(1/n) Σᵢ ∇ℓᵢ(w + ρ∇ℓᵢ(w)).
    OneSam {
        /// Ascent radius ρ ≥ 0.
        rho: f64,
    },
    /// SSAM flow: ẇ = −(‖∇L(w)‖/max(‖∇L(w_asc)‖, [`EPS`])) ∇L(w_asc), w_asc = w + ρ∇L(w).
    Ssam {
        /// Ascent radius ρ ≥ 0.
        rho: f64,
    },
}

impl Flow {
    /// The ascent radius (0 for the GD flow).
    pub fn rho(&self) -> f64 {
        match *self {
            Flow::Gd => 0.0,
            Flow::NSam { rho } | Flow::OneSam { rho } | Flow::Ssam { rho } => rho,
        }
    }

    /// Check ρ: finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        non_negative("rho", self.rho()).map(|_| ())
    }
}

/// The Runge–Kutta pair, both with embedded error estimates and dense output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Solver {
    /// Dormand–Prince 8(5,3), 12 stages (+3 for dense output).
    #[default]
    Dop853,
    /// Dormand–Prince 5(4), 7 stages (first same as last).
    Dopri5,
}

/// The coordinates the solver integrates in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Coordinates {
    /// w itself.
    #[default]
    Plain,
    /// u = ln w (every entry of w₀ must be > 0 and the flow must keep it so, as the diagonal
    /// network's flows do: they are multiplicative in w₊ and w₋). u̇ = ẇ/w; the error control is
    /// then relative in every parameter, however small.
    Log,
}

/// Settings of an integration; validated by [`FlowConfig::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct FlowConfig {
    /// Runge–Kutta pair.
    pub solver: Solver,
    /// Relative tolerance of the error control (every component).
    pub rtol: f64,
    /// Absolute tolerance of the error control (every component).
    pub atol: f64,
    /// Stop at the first t with L(w(t)) ≤ `loss_tol` (0: never, run to `t_max`).
    pub loss_tol: f64,
    /// Stop at t = `t_max` (not converged).
    pub t_max: f64,
    /// Stop after this many accepted steps (not converged).
    pub max_steps: usize,
    /// Coordinates of the integration.
    pub coordinates: Coordinates,
    /// Times (ascending, in [0, t_max]) at which the dense output is recorded, up to the stop.
    pub dense_times: Vec<f64>,
}

impl Default for FlowConfig {
    /// DOP853, rtol 1e-10, atol 1e-14, loss_tol 1e-12, t_max 1e9, 10⁶ steps, plain coordinates.
    fn default() -> Self {
        FlowConfig {
            solver: Solver::Dop853,
            rtol: 1e-10,
            atol: 1e-14,
            loss_tol: 1e-12,
            t_max: 1e9,
            max_steps: 1_000_000,
            coordinates: Coordinates::Plain,
            dense_times: Vec::new(),
        }
    }
}

impl FlowConfig {
    /// Check every field, naming the first bad one.
    pub fn check(&self) -> Result<()> {
        positive("rtol", self.rtol)?;
        positive("atol", self.atol)?;
        non_negative("loss_tol", self.loss_tol)?;
        positive("t_max", self.t_max)?;
        if self.max_steps == 0 {
            return Err(Error::invalid("max_steps", "must be >= 1"));
        }
        let mut prev = 0.0;
        for (k, &t) in self.dense_times.iter().enumerate() {
            let field = format!("dense_times[{k}]");
            finite(&field, t)?;
            if t < prev || t > self.t_max {
                return Err(Error::invalid(
                    field,
                    format!("must be ascending in [0, t_max = {}], got {t}", self.t_max),
                ));
            }
            prev = t;
        }
        Ok(())
    }
}

/// Why the integration stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// L(w) reached `loss_tol`.
    Converged,
    /// t reached `t_max`.
    TimeLimit,
    /// `max_steps` accepted steps were taken.
    StepLimit,
}

/// Solver statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Evaluations of the vector field (each one costs the flow's gradients, see
    /// [`FlowStats::grad_evals`]).
    pub evals: usize,
    /// Batch-gradient or per-example-gradient calls made by those evaluations.
    pub grad_evals: usize,
}

/// A point of the dense output.
#[derive(Clone, Debug, PartialEq)]
pub struct DensePoint {
    /// Time.
    pub t: f64,
    /// w(t) (in plain coordinates).
    pub w: Vec<f64>,
    /// The integrals at t.
    pub integrals: Vec<f64>,
}

/// The outcome of [`integrate`] / [`integrate_with`].
#[derive(Clone, Debug, PartialEq)]
pub struct FlowResult {
    /// w at the stop (plain coordinates).
    pub w: Vec<f64>,
    /// The extra components at the stop (see the [`Integrals`] used; empty without).
    pub integrals: Vec<f64>,
    /// Time of the stop.
    pub t_end: f64,
    /// Why it stopped.
    pub end: End,
    /// L(w) at the stop.
    pub loss: f64,
    /// Solver statistics.
    pub stats: FlowStats,
    /// The dense output at [`FlowConfig::dense_times`] up to the stop.
    pub dense: Vec<DensePoint>,
}

impl FlowResult {
    /// True when L reached `loss_tol`.
    pub fn converged(&self) -> bool {
        self.end == End::Converged
    }
}

/// Extra state components integrated along a flow: J(t) = ∫₀ᵗ j(w(s)) ds with J(0) = 0.
pub trait Integrals {
    /// Number of components.
    fn len(&self) -> usize;
    /// True when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The integrand j(w) of the flow `flow` into `out` (length [`Integrals::len`]); must not
    /// allocate.
    fn integrands(&self, flow: Flow, w: &[f64], out: &mut [f64]);
}

/// No extra components (the generic flow).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIntegrals;

impl Integrals for NoIntegrals {
    fn len(&self) -> usize {
        0
    }
    fn integrands(&self, _flow: Flow, _w: &[f64], _out: &mut [f64]) {}
}

/// Buffers of the vector field, allocated once per integration.
struct Buffers {
    w: Vec<f64>,
    g: Vec<f64>,
    w_asc: Vec<f64>,
    g_asc: Vec<f64>,
}

/// v(w) with ẇ = −v(w), written into `v`; returns the gradient calls made. No allocation.
fn velocity<P: Problem + ?Sized>(
    p: &P,
    flow: Flow,
    w: &[f64],
    b: &mut Buffers,
    v: &mut [f64],
) -> usize {
    let ascend = |w: &[f64], rho: f64, g: &[f64], out: &mut [f64]| {
        for ((a, wj), gj) in out.iter_mut().zip(w).zip(g) {
            *a = wj + rho * gj;
        }
    };
    match flow {
        Flow::Gd => {
            p.grad(w, v);
            1
        }
        Flow::NSam { rho } => {
            p.grad(w, &mut b.g);
            ascend(w, rho, &b.g, &mut b.w_asc);
            p.grad(&b.w_asc, v);
            2
        }
        Flow::Ssam { rho } => {
            p.grad(w, &mut b.g);
            ascend(w, rho, &b.g, &mut b.w_asc);
            p.grad(&b.w_asc, &mut b.g_asc);
            let ratio = norm(&b.g) / norm(&b.g_asc).max(EPS);
            for (vj, ga) in v.iter_mut().zip(&b.g_asc) {
                *vj = ratio * ga;
            }
            2
        }
        Flow::OneSam { rho } => {
            let n = p.n_examples();
            v.fill(0.0);
            for i in 0..n {
                p.example_grad(i, w, &mut b.g);
                ascend(w, rho, &b.g, &mut b.w_asc);
                p.example_grad(i, &b.w_asc, &mut b.g_asc);
                for (vj, ga) in v.iter_mut().zip(&b.g_asc) {
                    *vj += ga;
                }
            }
            let c = 1.0 / n as f64;
            v.iter_mut().for_each(|vj| *vj *= c);
            2 * n
        }
    }
}

/// The ODE system of a flow: state y = (w or ln w, integrals), y' = (−v(w) or −v(w)/w, j(w)).
/// Owns its buffers, so an evaluation ([`FlowSystem::eval`]) does not allocate.
pub struct FlowSystem<'a, P: ?Sized, I> {
    problem: &'a P,
    flow: Flow,
    integrals: &'a I,
    coordinates: Coordinates,
    buffers: RefCell<Buffers>,
    grad_evals: Cell<usize>,
}

impl<'a, P: Problem + ?Sized, I: Integrals> FlowSystem<'a, P, I> {
    /// The system of `flow` on `problem` carrying `integrals`, in `coordinates`.
    pub fn new(problem: &'a P, flow: Flow, integrals: &'a I, coordinates: Coordinates) -> Self {
        let p = problem.dim();
        FlowSystem {
            problem,
            flow,
            integrals,
            coordinates,
            buffers: RefCell::new(Buffers {
                w: vec![0.0; p],
                g: vec![0.0; p],
                w_asc: vec![0.0; p],
                g_asc: vec![0.0; p],
            }),
            grad_evals: Cell::new(0),
        }
    }

    /// Length of the state: dim + number of integrals.
    pub fn len(&self) -> usize {
        self.problem.dim() + self.integrals.len()
    }

    /// True when the state is empty (a problem of dimension 0 without integrals).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// y' at the state y (both of length [`FlowSystem::len`]); no allocation.
    pub fn eval(&self, y: &[f64], dydt: &mut [f64]) {
        let p = self.problem.dim();
        let mut guard = self.buffers.borrow_mut();
        let b = &mut *guard;
        let mut w = std::mem::take(&mut b.w);
        self.plain_w(y, &mut w);
        let (dw, dj) = dydt.split_at_mut(p);
        let calls = velocity(self.problem, self.flow, &w, b, dw);
        self.grad_evals.set(self.grad_evals.get() + calls);
        match self.coordinates {
            Coordinates::Plain => dw.iter_mut().for_each(|v| *v = -*v),
            Coordinates::Log => dw.iter_mut().zip(&w).for_each(|(v, wj)| *v = -*v / wj),
        }
        self.integrals.integrands(self.flow, &w, dj);
        b.w = w;
    }

    /// w in plain coordinates from the state.
    fn plain_w(&self, y: &[f64], w: &mut [f64]) {
        let p = self.problem.dim();
        match self.coordinates {
            Coordinates::Plain => w.copy_from_slice(&y[..p]),
            Coordinates::Log => w.iter_mut().zip(&y[..p]).for_each(|(w, u)| *w = u.exp()),
        }
    }
}

impl<P: Problem + ?Sized, I: Integrals> ODE<f64, Vec<f64>> for FlowSystem<'_, P, I> {
    fn diff(&self, _t: f64, y: &Vec<f64>, dydt: &mut Vec<f64>) {
        self.eval(y, dydt);
    }
}

/// The output handler: records the dense output, detects L ≤ loss_tol on the dense output and
/// enforces the step limit; keeps the state at the stop.
struct Stop<'a, 'c, P: ?Sized, I> {
    system: &'a FlowSystem<'a, P, I>,
    config: &'c FlowConfig,
    w: Vec<f64>,
    next_dense: usize,
    dense: Vec<DensePoint>,
    calls: usize,
    end: End,
    t_end: f64,
    y_end: Vec<f64>,
}

impl<P: Problem + ?Sized, I: Integrals> Stop<'_, '_, P, I> {
    fn loss(&mut self, y: &[f64]) -> f64 {
        self.system.plain_w(y, &mut self.w);
        self.system.problem.loss(&self.w)
    }

    fn point(&mut self, t: f64, y: &[f64]) -> DensePoint {
        let p = self.system.problem.dim();
        self.system.plain_w(y, &mut self.w);
        DensePoint {
            t,
            w: self.w.clone(),
            integrals: y[p..].to_vec(),
        }
    }

    /// Record the dense points in (t_prev, t] (and t = t_prev on the first call).
    fn record<Q>(&mut self, t_prev: f64, t: f64, y: &[f64], interp: &mut Q)
    where
        Q: Interpolation<f64, Vec<f64>> + ?Sized,
    {
        while let Some(&td) = self.config.dense_times.get(self.next_dense) {
            if td > t {
                break;
            }
            let yd = if td == t || t == t_prev {
                y.to_vec()
            } else {
                interp
                    .interpolate(td.max(t_prev))
                    .expect("time inside the step")
            };
            let point = self.point(td, &yd);
            self.dense.push(point);
            self.next_dense += 1;
        }
    }

    /// The first time in [a, b] with L ≤ loss_tol (L(a) > loss_tol ≥ L(b)), by bisection on the
    /// dense output to a relative width of 4ε; returns (t, y) on the converged side.
    fn crossing<Q>(&mut self, mut a: f64, mut b: f64, yb: &[f64], interp: &mut Q) -> (f64, Vec<f64>)
    where
        Q: Interpolation<f64, Vec<f64>> + ?Sized,
    {
        let mut y_b = yb.to_vec();
        while b - a > 4.0 * f64::EPSILON * b.abs().max(1.0) {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            let ym = interp.interpolate(m).expect("time inside the step");
            if self.loss(&ym) <= self.config.loss_tol {
                b = m;
                y_b = ym;
            } else {
                a = m;
            }
        }
        (b, y_b)
    }
}

impl<P: Problem + ?Sized, I: Integrals> Solout<f64, Vec<f64>> for Stop<'_, '_, P, I> {
    fn solout<Q>(
        &mut self,
        t_curr: f64,
        t_prev: f64,
        y_curr: &Vec<f64>,
        _y_prev: &Vec<f64>,
        interp: &mut Q,
        _solution: &mut Solution<f64, Vec<f64>>,
    ) -> ControlFlag<f64, Vec<f64>>
    where
        Q: Interpolation<f64, Vec<f64>> + ?Sized,
    {
        self.calls += 1;
        if self.loss(y_curr) <= self.config.loss_tol {
            let (t, y) = if t_curr > t_prev {
                self.crossing(t_prev, t_curr, y_curr, interp)
            } else {
                (t_curr, y_curr.clone())
            };
            self.record(t_prev, t, &y, interp);
            self.end = End::Converged;
            self.t_end = t;
            self.y_end = y;
            return ControlFlag::Terminate;
        }
        self.record(t_prev, t_curr, y_curr, interp);
        self.t_end = t_curr;
        self.y_end.copy_from_slice(y_curr);
        if self.calls > self.config.max_steps {
            self.end = End::StepLimit;
            return ControlFlag::Terminate;
        }
        ControlFlag::Continue
    }
}

/// Integrate `flow` on `problem` from `w0` (no extra components).
pub fn integrate<P: Problem + ?Sized>(
    problem: &P,
    flow: Flow,
    w0: &[f64],
    config: &FlowConfig,
) -> Result<FlowResult> {
    integrate_with(problem, flow, w0, &NoIntegrals, config)
}

/// Integrate `flow` on `problem` from `w0`, carrying `integrals` (from 0) as extra components.
///
/// A solver failure (step size underflow, stiffness detected by the solver) is an error naming
/// `rtol`: the tolerances or the horizon do not suit the problem.
pub fn integrate_with<P: Problem + ?Sized, I: Integrals>(
    problem: &P,
    flow: Flow,
    w0: &[f64],
    integrals: &I,
    config: &FlowConfig,
) -> Result<FlowResult> {
    flow.check()?;
    config.check()?;
    let p = problem.dim();
    if w0.len() != p {
        return Err(Error::invalid(
            "w0",
            format!("has {} entries, expected {p}", w0.len()),
        ));
    }
    for (j, &v) in w0.iter().enumerate() {
        finite(&format!("w0[{j}]"), v)?;
        if config.coordinates == Coordinates::Log && v <= 0.0 {
            return Err(Error::invalid(
                format!("w0[{j}]"),
                format!("must be > 0 in log-coordinates, got {v}"),
            ));
        }
    }
    let mut y0 = vec![0.0; p + integrals.len()];
    match config.coordinates {
        Coordinates::Plain => y0[..p].copy_from_slice(w0),
        Coordinates::Log => y0[..p].iter_mut().zip(w0).for_each(|(u, w)| *u = w.ln()),
    }
    let system = FlowSystem::new(problem, flow, integrals, config.coordinates);
    let mut stop = Stop {
        system: &system,
        config,
        w: vec![0.0; p],
        next_dense: 0,
        dense: Vec::new(),
        calls: 0,
        end: End::TimeLimit,
        t_end: 0.0,
        y_end: y0.clone(),
    };
    // The step limit is enforced by `Stop`; the solver's own limit is one step beyond it.
    let limit = config.max_steps.saturating_add(2);
    let solution = match config.solver {
        Solver::Dop853 => {
            let mut m = ExplicitRungeKutta::dop853()
                .rtol(config.rtol)
                .atol(config.atol)
                .max_steps(limit);
            solve_ode(&mut m, &system, 0.0, config.t_max, &y0, &mut stop)
        }
        Solver::Dopri5 => {
            let mut m = ExplicitRungeKutta::dopri5()
                .rtol(config.rtol)
                .atol(config.atol)
                .max_steps(limit);
            solve_ode(&mut m, &system, 0.0, config.t_max, &y0, &mut stop)
        }
    }
    .map_err(solver_error)?;
    let w = stop.point(stop.t_end, &stop.y_end.clone()).w;
    Ok(FlowResult {
        loss: problem.loss(&w),
        w,
        integrals: stop.y_end[p..].to_vec(),
        t_end: stop.t_end,
        end: stop.end,
        stats: FlowStats {
            steps: solution.steps.accepted,
            rejected: solution.steps.rejected,
            evals: solution.evals.function,
            grad_evals: system.grad_evals.get(),
        },
        dense: std::mem::take(&mut stop.dense),
    })
}

/// A solver failure as an error naming `rtol` (the tolerances or the horizon do not suit).
fn solver_error(e: OdeError<f64, Vec<f64>>) -> Error {
    let what = match e {
        OdeError::StepSize { t, .. } => format!("the step size underflowed at t = {t}"),
        OdeError::Stiffness { t, .. } => format!("the solver detected stiffness at t = {t}"),
        OdeError::MaxSteps { t, .. } => format!("the solver's step limit was reached at t = {t}"),
        _ => "the ODE solver failed".to_string(),
    };
    Error::invalid("rtol", format!("{what}; loosen rtol/atol or shorten t_max"))
}
