//! One cell of a sweep: its replicates run and reduced to one CSV row. Replicate r of a cell runs
//! the cell's own spec with the random stream (run.seed, run.stream + r) — so replicate 0 is
//! exactly `samlab run` of the cell's spec, every cell sees the same noise for the same replicate
//! (common random numbers), and nothing depends on the cell's index, the thread count, the shard
//! count or the order cells finish in. With one replicate the row holds the final values; with K > 1
//! the mean and the half-width of a 95 % Student-t interval of each, reduced in replicate order.

use crate::error::{Error, Result};
use crate::optim::trajectory::run;
use crate::spec::Experiment;

use super::grid::{SweepSpec, show};

/// The end of one trajectory.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Final L(w).
    pub train_loss: f64,
    /// Final test metric, if the problem has one.
    pub test_metric: Option<f64>,
    /// Final ‖∇L(w)‖.
    pub grad_norm: f64,
    /// Updates completed.
    pub steps: usize,
    /// The update whose iterate was non-finite or out of bounds, if any.
    pub diverged_at: Option<usize>,
    /// Batch-gradient oracle calls.
    pub grad_evals: usize,
    /// Per-example gradients.
    pub example_grads: usize,
}

/// The validated experiment of cell `k`, checked to have room for its replicates' streams.
pub fn experiment(spec: &SweepSpec, k: usize) -> Result<Experiment> {
    let exp = spec.experiment(k)?;
    let extra = spec.replicates() as u64 - 1;
    if exp.config.stream.checked_add(extra).is_none() {
        return Err(Error::invalid(
            "run.stream",
            format!("cell {k}: run.stream + {extra} replicates overflows a u64"),
        ));
    }
    Ok(exp)
}

/// Run every replicate of cell `k` (sequentially, in replicate order).
pub fn run_cell(spec: &SweepSpec, k: usize) -> Result<Vec<Outcome>> {
    let exp = experiment(spec, k)?;
    let p = exp.problem.as_ref();
    let mut cfg = exp.config.clone();
    cfg.record_every = 0;
    cfg.record_params = false;
    Ok((0..spec.replicates() as u64)
        .map(|r| {
            cfg.stream = exp.config.stream + r;
            let res = run(p, &exp.init, &cfg);
            let last = res.last();
            Outcome {
                train_loss: last.train_loss,
                test_metric: last.test_metric,
                grad_norm: last.grad_norm,
                steps: res.steps,
                diverged_at: res.diverged_at,
                grad_evals: res.grad_evals,
                example_grads: res.example_grads,
            }
        })
        .collect())
}

/// The columns of the rows of `spec`: `cell`, one per axis (its path), then the results; `metric`
/// is the test metric's name (e.g. `test_mse`).
pub fn columns(spec: &SweepSpec, metric: &str) -> Vec<String> {
    let mut c = vec!["cell".to_string()];
    c.extend(spec.axes().iter().map(|a| a.path.clone()));
    let results: Vec<String> = if spec.replicates() == 1 {
        [
            "train_loss",
            metric,
            "grad_norm",
            "steps",
            "diverged_at",
            "grad_evals",
            "example_grads",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    } else {
        let mut r = vec!["diverged".to_string()];
        for m in ["train_loss", metric, "grad_norm"] {
            r.push(format!("{m}_mean"));
            r.push(format!("{m}_ci95"));
        }
        r.extend(["steps_mean", "grad_evals_mean", "example_grads_mean"].map(String::from));
        r
    };
    c.extend(results);
    c
}

/// The CSV row of cell `k` (no line end).
pub fn row(spec: &SweepSpec, k: usize, outcomes: &[Outcome]) -> String {
    let mut fields = vec![k.to_string()];
    fields.extend(spec.cell(k).into_iter().map(|v| escape(&show(v))));
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:?}"));
    if let [o] = outcomes {
        fields.extend([
            format!("{:?}", o.train_loss),
            opt(o.test_metric),
            format!("{:?}", o.grad_norm),
            o.steps.to_string(),
            o.diverged_at.map_or(String::new(), |t| t.to_string()),
            o.grad_evals.to_string(),
            o.example_grads.to_string(),
        ]);
    } else {
        let of = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).collect::<Vec<_>>();
        let metric: Option<Vec<f64>> = outcomes.iter().map(|o| o.test_metric).collect();
        fields.push(
            outcomes
                .iter()
                .filter(|o| o.diverged_at.is_some())
                .count()
                .to_string(),
        );
        for xs in [
            Some(of(&|o| o.train_loss)),
            metric,
            Some(of(&|o| o.grad_norm)),
        ] {
            let (m, h) = xs.map_or((None, None), |xs| {
                let (m, h) = mean_ci95(&xs);
                (Some(m), Some(h))
            });
            fields.push(opt(m));
            fields.push(opt(h));
        }
        for xs in [
            of(&|o| o.steps as f64),
            of(&|o| o.grad_evals as f64),
            of(&|o| o.example_grads as f64),
        ] {
            fields.push(format!("{:?}", mean_ci95(&xs).0));
        }
    }
    fields.join(",")
}

/// A CSV field: quoted (with `"` doubled) when it holds a comma, a quote or a line end.
fn escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Mean and half-width of the 95 % Student-t interval of `xs` (summed in order; half-width NaN
/// for fewer than two values).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, t975(xs.len() - 1) * (var / n).sqrt())
}

/// The 97.5 % quantile of Student's t with `df` ≥ 1 degrees of freedom: a table to 6 decimals up
/// to 30, then the Cornish–Fisher series in 1/df (error below 1e-6 there).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
        2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
        2.048407, 2.045230, 2.042272,
    ];
    assert!(df >= 1, "t quantile needs df >= 1");
    if df <= 30 {
        return TABLE[df - 1];
    }
    let z = 1.959_963_984_540_054_f64;
    let v = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * v.powi(4))
}
