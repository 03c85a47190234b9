//! No allocation inside an optimizer step: a counting global allocator, enabled on this thread
//! only while steps run, must count zero allocations for every method.

use samlab::data::RegressionData;
use samlab::optim::{Method, Workspace, step};
use samlab::problem::{DiagNet, Problem};
use samlab::rng::stream;

#[path = "common/alloc.rs"]
mod alloc_count;
use alloc_count::allocations;

/// Allocations made by `steps` updates of `method` (after the workspace is built).
fn step_allocations(p: &dyn Problem, method: &Method, steps: usize) -> usize {
    let mut w = p.init();
    let mut ws = Workspace::new(p.dim(), p.n_examples());
    let mut rng = stream(0, 0);
    allocations(|| {
        for _ in 0..steps {
            step(p, method, &mut w, 0.01, 0.05, &mut ws, &mut rng);
        }
    })
    .0
}

#[test]
fn steps_do_not_allocate() {
    let data = RegressionData::generate_sparse(30, 20, 3, 0, 0).unwrap();
    let net = DiagNet::new(&data, &[0.05]).unwrap();
    // Sanity: the counter does count.
    let (count, v) = allocations(|| std::hint::black_box(vec![1u8; 10]));
    drop(v);
    assert!(count >= 1);

    let problems: Vec<Box<dyn Problem>> = vec![Box::new(net)];
    for p in &problems {
        for name in samlab::optim::METHOD_NAMES {
            for (batch, replace) in [(None, false), (Some(5), false), (Some(5), true)] {
                let Ok(m) = Method::from_name(name, batch, replace) else {
                    continue;
                };
                for noise in [0.0, 0.01] {
                    let m = m.with_noise(noise).unwrap();
                    assert_eq!(
                        step_allocations(p.as_ref(), &m, 50),
                        0,
                        "{} {name} batch {batch:?}",
                        p.name()
                    );
                }
            }
        }
    }
}
