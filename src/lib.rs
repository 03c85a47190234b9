//! samlab: sharpness-aware minimization (SAM), put to a numerical test.
//!
//! A [`problem::Problem`] knows its loss, per-example and batch gradients (written into a caller's
//! buffer) and, where it can, its exact constants. A [`optim::Method`] is one composition of a
//! batch, an ascent point, the descent gradient there and an optional SSAM renormalization; the
//! names `gd`, `nsam`, `1sam`, `ssam`, … are aliases of compositions. [`optim::step`] makes one
//! update without allocating; [`optim::run`] executes the phases of a [`optim::RunConfig`] and
//! records the trajectory. Every random number comes from a stream keyed by (seed, stream index)
//! ([`rng::stream`]). User input is validated at the edge ([`spec`], [`data`]) into typed
//! [`Error`]s that name the file and field.
//!
//! ```
//! use samlab::data::RegressionData;
//! use samlab::optim::{Method, Phase, RunConfig, StepSizes, run};
//! use samlab::problem::{DiagNet, Problem};
//!
//! // af22 sparse regression: d = 30, n = 20, 3 non-zero coefficients.
//! let data = RegressionData::generate_sparse(30, 20, 3, 100, 0)?;
//! let net = DiagNet::new(&data, &[0.05])?;
//! // ERM for 2000 steps, then 1-SAM for 2000 more.
//! let phases = vec![
//!     Phase { method: Method::from_name("gd", None, false)?, sizes: StepSizes::constant(0.5, 0.0), steps: 2000 },
//!     Phase { method: Method::from_name("1sam", None, false)?, sizes: StepSizes::constant(0.5, 0.1), steps: 2000 },
//! ];
//! let result = run(&net, &net.init(), &RunConfig::new(phases));
//! assert!(result.last().train_loss < 1e-6);
//! assert!(result.diverged_at.is_none());
//! # Ok::<(), samlab::Error>(())
//! ```
#![warn(missing_docs)]

pub mod batch;
pub mod convex;
pub mod data;
pub mod error;
pub mod flow;
#[cfg(feature = "torch")]
pub mod gpu;
pub mod images;
pub mod io;
pub mod optim;
pub mod plot;
pub mod problem;
pub mod rng;
pub mod spec;
pub mod sweep;
pub mod theory;

pub use error::{Error, Result};
