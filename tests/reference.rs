//! Works like the reference: `data/diag_net_seed0_reference.json` holds final train losses and test
//! MSEs produced by the af22 authors' numpy code (mapped to our units); samlab must reproduce
//! every number to a relative error of 1e-8.

use std::path::Path;

use samlab::data::RegressionData;
use samlab::optim::{Method, Phase, RunConfig, StepSizes, run};
use samlab::problem::{DiagNet, Problem};
use serde_json::Value;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn diag_net_reproduces_the_authors_numbers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = RegressionData::load(&root.join("data/diag_net_seed0.json")).unwrap();
    let text = std::fs::read_to_string(root.join("data/diag_net_seed0_reference.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let runs = reference["runs"].as_array().unwrap();
    assert!(runs.len() >= 8);
    for r in runs {
        let alpha = r["alpha"].as_f64().unwrap();
        let net = DiagNet::new(&data, &[alpha]).unwrap();
        let phases = r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ph| Phase {
                method: Method::from_name(ph["method"].as_str().unwrap(), None, false).unwrap(),
                sizes: StepSizes::constant(ph["lr"].as_f64().unwrap(), ph["rho"].as_f64().unwrap()),
                steps: ph["steps"].as_u64().unwrap() as usize,
            })
            .collect();
        let res = run(&net, &net.init(), &RunConfig::new(phases));
        let last = res.last();
        let (tl, tm) = (
            r["train_loss"].as_f64().unwrap(),
            r["test_mse"].as_f64().unwrap(),
        );
        let beta = net.beta(&res.params);
        println!(
            "{}: train {:.6e} vs {:.6e} ({:.1e}), test {:.6e} vs {:.6e} ({:.1e}) beta0 {} vs {}",
            r["phases"],
            last.train_loss,
            tl,
            rel(last.train_loss, tl),
            last.test_metric.unwrap(),
            tm,
            rel(last.test_metric.unwrap(), tm),
            beta[0],
            r["beta"][0]
        );
        assert!(rel(last.train_loss, tl) <= 1e-8, "train loss");
        assert!(rel(last.test_metric.unwrap(), tm) <= 1e-8, "test mse");
    }
}
