//! The tightness search: a deterministic pattern search in a check's instance cube that maximizes
//! the margin of the bound (LHS/RHS when both are positive), keeping the instance's seed fixed.

use super::{Check, Instance, Observation};

/// From `start`, try ± steps along every coordinate (clamped to [0, 1]), move to the first
/// improvement, halve the step when none improves; stop after `budget` evaluations. Returns every
/// evaluated instance.
pub fn pattern_search(
    check: &dyn Check,
    start: Instance,
    budget: usize,
) -> Vec<(Instance, Observation)> {
    let mut best_obs = check.evaluate(&start);
    let mut best = start;
    let mut seen = vec![(best.clone(), best_obs.clone())];
    let mut step = 0.25;
    while seen.len() < budget && step > 1e-6 {
        let mut moved = false;
        'coords: for j in 0..best.theta.len() {
            for dir in [1.0, -1.0] {
                let mut cand = best.clone();
                cand.theta[j] = (cand.theta[j] + dir * step).clamp(0.0, 1.0);
                if cand.theta[j] == best.theta[j] {
                    continue;
                }
                let o = check.evaluate(&cand);
                seen.push((cand.clone(), o.clone()));
                if o.margin() > best_obs.margin() {
                    best = cand;
                    best_obs = o;
                    moved = true;
                    break 'coords;
                }
                if seen.len() >= budget {
                    break 'coords;
                }
            }
        }
        if !moved {
            step *= 0.5;
        }
    }
    seen
}
