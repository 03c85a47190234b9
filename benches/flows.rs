//! Time to integrate one n-SAM and one 1-SAM flow (ρ = 0.1) on the af22 diagonal network, with
//! every af22 integral carried as extra state, from w₊ = w₋ = α to L ≤ 1e-12 (DOP853, rtol 1e-10,
//! atol 1e-14: `FlowConfig::default()`), on `RegressionData::generate_sparse(d, n, 3, 0, 0)`:
//! d = 30, n = 20 at α = 0.05 and 0.01, and d = 1000, n = 100 at α = 0.05. Before timing, each
//! case prints its flow time, solver steps, rejections and evaluations.
//!
//! Benchmark ids: `flow_to_convergence/<flow>_d<d>_n<n>_a<α>`. Run: `cargo bench --bench flows`
//! (about 3 minutes on 2 cores).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use samlab::data::RegressionData;
use samlab::flow::{DiagNetIntegrals, Flow, FlowConfig, integrate_with};
use samlab::problem::{DiagNet, Problem};

/// (d, n, α).
const CASES: [(usize, usize, f64); 3] = [(30, 20, 0.05), (30, 20, 0.01), (1000, 100, 0.05)];
const RHO: f64 = 0.1;

fn bench_flows(c: &mut Criterion) {
    let mut group = c.benchmark_group("flow_to_convergence");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    let cfg = FlowConfig::default();
    for (d, n, alpha) in CASES {
        let data = RegressionData::generate_sparse(d, n, 3, 0, 0).expect("data");
        let net = DiagNet::new(&data, &[alpha]).expect("diagonal net");
        let ints = DiagNetIntegrals::new(&net);
        let w0 = net.init();
        for (name, flow) in [
            ("nsam", Flow::NSam { rho: RHO }),
            ("1sam", Flow::OneSam { rho: RHO }),
        ] {
            let id = format!("{name}_d{d}_n{n}_a{alpha}");
            let r = integrate_with(&net, flow, &w0, &ints, &cfg).expect("flow");
            assert!(r.converged(), "{id}: {:?}", r.end);
            println!(
                "{id}: t_end {:.4e}, L {:.2e}, {} steps, {} rejected, {} evaluations ({} gradient calls)",
                r.t_end, r.loss, r.stats.steps, r.stats.rejected, r.stats.evals, r.stats.grad_evals
            );
            group.bench_function(&id, |b| {
                b.iter(|| integrate_with(black_box(&net), flow, &w0, &ints, &cfg).expect("flow"))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_flows
}
criterion_main!(benches);
