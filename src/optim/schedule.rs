//! Step-size schedules: the learning rate γ_t and perturbation radius ρ_t of each step of a phase,
//! either two independent schedules (constant or linear) or the coupled schedules of the af22
//! theorems (thm12/thm2: γ = 1/(√T β), ρ = 1/(T^{1/4} β); PL: γ_t = min{(8t+4)/(3µ(t+1)²), 1/(2β)},
//! ρ_t = √(γ_t/β)).

use crate::error::{Result, non_negative, positive};

/// One scalar schedule over the steps t = 0..T of a phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The same value at every step.
    Constant(f64),
    /// Linear interpolation from `start` (t = 0) to `end` (t = T): start + (end − start)·t/T.
    Linear {
        /// Value at the first step.
        start: f64,
        /// Value reached after the last step (t = T).
        end: f64,
    },
}

impl Schedule {
    /// The value at step `t` of a phase of `horizon` steps.
    pub fn at(&self, t: usize, horizon: usize) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { start, end } => {
                start + (end - start) * (t as f64 / horizon.max(1) as f64)
            }
        }
    }

    fn check(&self, field: &str, strict: bool) -> Result<()> {
        let f = |v| {
            if strict {
                positive(field, v)
            } else {
                non_negative(field, v)
            }
        };
        match *self {
            Schedule::Constant(v) => f(v).map(drop),
            Schedule::Linear { start, end } => {
                f(start)?;
                non_negative(field, end).map(drop)
            }
        }
    }
}

/// How γ_t and ρ_t are set in a phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepSizes {
    /// Independent schedules for γ and ρ.
    Separate {
        /// Learning rate γ_t.
        lr: Schedule,
        /// Perturbation radius ρ_t.
        rho: Schedule,
    },
    /// af22 thm12 / thm2: γ = 1/(√T β), ρ = 1/(T^{1/4} β), T the phase length.
    Thm12 {
        /// The smoothness β.
        beta: f64,
    },
    /// af22 PL schedule: γ_t = min{(8t+4)/(3µ(t+1)²), 1/(2β)}, ρ_t = √(γ_t/β).
    Pl {
        /// The PL constant µ.
        mu: f64,
        /// The smoothness β.
        beta: f64,
    },
}

impl StepSizes {
    /// Constant γ and ρ.
    pub fn constant(lr: f64, rho: f64) -> Self {
        StepSizes::Separate {
            lr: Schedule::Constant(lr),
            rho: Schedule::Constant(rho),
        }
    }

    /// (γ_t, ρ_t) at step `t` of a phase of `horizon` steps.
    pub fn at(&self, t: usize, horizon: usize) -> (f64, f64) {
        match *self {
            StepSizes::Separate { lr, rho } => (lr.at(t, horizon), rho.at(t, horizon)),
            StepSizes::Thm12 { beta } => {
                let tt = horizon.max(1) as f64;
                (1.0 / (tt.sqrt() * beta), 1.0 / (tt.powf(0.25) * beta))
            }
            StepSizes::Pl { mu, beta } => {
                let t = t as f64;
                let g =
                    ((8.0 * t + 4.0) / (3.0 * mu * (t + 1.0) * (t + 1.0))).min(1.0 / (2.0 * beta));
                (g, (g / beta).sqrt())
            }
        }
    }

    /// Validate every value (γ > 0, ρ ≥ 0, β > 0, µ > 0), naming the field.
    pub fn check(&self) -> Result<()> {
        match self {
            StepSizes::Separate { lr, rho } => {
                lr.check("lr", true)?;
                rho.check("rho", false)
            }
            StepSizes::Thm12 { beta } => positive("beta", *beta).map(drop),
            StepSizes::Pl { mu, beta } => {
                positive("mu", *mu)?;
                positive("beta", *beta).map(drop)
            }
        }
    }
}
