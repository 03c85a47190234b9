//! samlab: sharpness-aware minimization (SAM) put to a numerical test.
pub mod data;
pub mod error;
pub mod io;
pub mod optim;
pub mod problem;
pub mod rng;
pub mod spec;

pub use error::{Error, Result};
