//! Monte Carlo expectations for the checks: i.i.d. replicates evaluated in parallel and reduced in
//! index order (so the estimate is the same for any thread count), with a normal confidence
//! interval at level 99.9 % (z = 3.29). A violation claimed from a Monte Carlo left side needs the
//! whole interval beyond the bound.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Constant, Observation, Sense, rounding};

/// The normal quantile of the two-sided 99.9 % interval.
pub const Z: f64 = 3.29;

/// A Monte Carlo estimate of a mean.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Number of replicates.
    pub n: usize,
    /// mean ± Z·sd/√n.
    pub ci: [f64; 2],
}

/// The mean of `f(r)` over replicates r = 0..n (f gets the replicate index and must derive its
/// randomness from it), computed in parallel and summed in index order.
pub fn replicate<F: Fn(u64) -> f64 + Sync>(n: usize, f: F) -> Estimate {
    assert!(n >= 2, "at least two replicates");
    let xs: Vec<f64> = (0..n as u64).into_par_iter().map(&f).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let h = Z * sd / (n as f64).sqrt();
    Estimate {
        mean,
        sd,
        n,
        ci: [mean - h, mean + h],
    }
}

impl Observation {
    /// A bound on an expectation estimated by Monte Carlo: LHS is the estimate's mean, its CI is
    /// carried, and `scale` sets the rounding allowance as for exact observations.
    pub fn monte_carlo(
        est: Estimate,
        sense: Sense,
        rhs: f64,
        scale: f64,
        constants: Vec<Constant>,
        note: String,
    ) -> Self {
        Observation {
            lhs: est.mean,
            rhs,
            sense,
            slack: rounding(scale),
            ci: Some(est.ci),
            constants,
            note: format!("{note}; {} replicates, sd {:.3e}", est.n, est.sd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::Status;

    #[test]
    fn estimate_and_interval() {
        let e = replicate(1000, |r| (r % 2) as f64);
        assert!((e.mean - 0.5).abs() < 1e-15);
        assert!(e.ci[0] < 0.5 && e.ci[1] > 0.5);
        let o = |rhs| Observation::monte_carlo(e, Sense::Le, rhs, 1.0, vec![], String::new());
        assert_eq!(o(0.6).status(), Status::Holds);
        assert_eq!(o(0.5).status(), Status::Inconclusive);
        assert_eq!(o(0.4).status(), Status::Violated);
    }

    #[test]
    fn same_estimate_on_any_thread_count() {
        let f = |r: u64| ((r as f64) * 0.37).sin();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| replicate(999, f));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| replicate(999, f));
        assert_eq!(one, three);
    }
}
