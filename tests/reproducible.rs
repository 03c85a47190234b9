//! Reproducibility and schedules: a run's bits depend on (seed, stream) alone — not on the thread
//! that runs it or on how many run in parallel — and the schedules give the printed values.

use rayon::prelude::*;
use samlab::data::RegressionData;
use samlab::optim::{Method, Phase, RunConfig, Schedule, StepSizes, run};
use samlab::problem::{DiagNet, Problem};

fn stochastic_run(p: &DiagNet, stream: u64) -> Vec<f64> {
    let phases = vec![
        Phase {
            method: Method::from_name("nsam-stoch", Some(4), false)
                .unwrap()
                .with_noise(1e-4)
                .unwrap(),
            sizes: StepSizes::constant(0.05, 0.05),
            steps: 300,
        },
        Phase {
            method: Method::from_name("1sam", Some(3), true).unwrap(),
            sizes: StepSizes::constant(0.05, 0.05),
            steps: 200,
        },
    ];
    let mut cfg = RunConfig::new(phases);
    cfg.seed = 11;
    cfg.stream = stream;
    run(p, &p.init(), &cfg).params
}

#[test]
fn runs_are_the_same_on_any_number_of_threads() {
    let data = RegressionData::generate_sparse(20, 12, 3, 0, 5).unwrap();
    let p = DiagNet::new(&data, &[0.1]).unwrap();
    let seq: Vec<Vec<f64>> = (0..16).map(|s| stochastic_run(&p, s)).collect();
    for threads in [1, 2, 7] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let par: Vec<Vec<f64>> = pool.install(|| {
            (0..16)
                .into_par_iter()
                .map(|s| stochastic_run(&p, s))
                .collect()
        });
        assert_eq!(par, seq, "{threads} threads");
    }
    // Different streams are different runs.
    assert_ne!(seq[0], seq[1]);
}

#[test]
fn schedules_give_the_printed_values() {
    let lin = Schedule::Linear {
        start: 0.3,
        end: 0.0,
    };
    assert_eq!(lin.at(0, 100), 0.3);
    assert!((lin.at(50, 100) - 0.15).abs() < 1e-15);
    // af22 thm12: γ = 1/(√T β), ρ = 1/(T^{1/4} β).
    let (g, r) = StepSizes::Thm12 { beta: 4.0 }.at(17, 10_000);
    assert!((g - 1.0 / (100.0 * 4.0)).abs() < 1e-15 && (r - 1.0 / (10.0 * 4.0)).abs() < 1e-15);
    // PL: γ_t = min{(8t+4)/(3µ(t+1)²), 1/(2β)}, ρ_t = √(γ_t/β).
    let pl = StepSizes::Pl { mu: 0.5, beta: 2.0 };
    let (g0, r0) = pl.at(0, 10);
    assert_eq!(g0, 0.25); // min{4/1.5, 1/4}
    assert!((r0 - (0.25f64 / 2.0).sqrt()).abs() < 1e-15);
    let (g, _) = pl.at(99, 10);
    assert!((g - (8.0 * 99.0 + 4.0) / (3.0 * 0.5 * 100.0 * 100.0)).abs() < 1e-15);
    assert!(StepSizes::constant(-1.0, 0.0).check().is_err());
    assert!(StepSizes::Pl { mu: 0.0, beta: 1.0 }.check().is_err());
}

#[test]
fn records_follow_record_every_and_report_the_ssam_ratio() {
    let data = RegressionData::generate_sparse(10, 8, 2, 5, 2).unwrap();
    let p = DiagNet::new(&data, &[0.2]).unwrap();
    let mut cfg = RunConfig::new(vec![Phase {
        method: Method::from_name("ssam", None, false).unwrap(),
        sizes: StepSizes::constant(0.05, 0.1),
        steps: 25,
    }]);
    cfg.record_every = 10;
    cfg.record_params = true;
    let res = run(&p, &p.init(), &cfg);
    let steps: Vec<usize> = res.records.iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![0, 10, 20, 25]);
    assert_eq!(res.last().params.as_deref(), Some(res.params.as_slice()));
    assert!((res.last().train_loss - p.loss(&res.params)).abs() == 0.0);
    let ratio = res.last().ssam_ratio.unwrap();
    assert!(ratio > 0.0 && ratio.is_finite());
    assert_eq!(res.grad_evals, 50);
}
