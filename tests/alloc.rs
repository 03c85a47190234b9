//! No allocation inside an optimizer step: a counting global allocator, enabled on this thread
//! only while steps run, must count zero allocations for every method.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use samlab::data::RegressionData;
use samlab::optim::{Method, Workspace, step};
use samlab::problem::{DiagNet, Problem};
use samlab::rng::stream;

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ON.with(|c| c.get()) {
            COUNT.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ON.with(|c| c.get()) {
            COUNT.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations made by `steps` updates of `method` (after the workspace is built).
fn allocations(p: &dyn Problem, method: &Method, steps: usize) -> usize {
    let mut w = p.init();
    let mut ws = Workspace::new(p.dim(), p.n_examples());
    let mut rng = stream(0, 0);
    COUNT.store(0, Ordering::SeqCst);
    ON.with(|c| c.set(true));
    for _ in 0..steps {
        step(p, method, &mut w, 0.01, 0.05, &mut ws, &mut rng);
    }
    ON.with(|c| c.set(false));
    COUNT.load(Ordering::SeqCst)
}

#[test]
fn steps_do_not_allocate() {
    let data = RegressionData::generate_sparse(30, 20, 3, 0, 0).unwrap();
    let net = DiagNet::new(&data, &[0.05]).unwrap();
    // Sanity: the counter does count.
    ON.with(|c| c.set(true));
    let v = std::hint::black_box(vec![1u8; 10]);
    ON.with(|c| c.set(false));
    drop(v);
    assert!(COUNT.load(Ordering::SeqCst) >= 1);

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
                        allocations(p.as_ref(), &m, 50),
                        0,
                        "{} {name} batch {batch:?}",
                        p.name()
                    );
                }
            }
        }
    }
}
