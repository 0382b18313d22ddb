//! The posture (misconfiguration) engine: control libraries, input selection, Rego evaluation with
//! upstream Kubescape semantics, statuses, exceptions and scores.

pub mod error;
pub mod exceptions;
mod findings;
mod gofmt;
mod goregex;
mod imageref;
pub mod inputs;
mod intern;
pub mod library;
pub mod memstat;
pub mod policytest;
pub mod rego;
mod rego_rewrite;
pub mod rego_shape;
pub mod results;
pub mod scan;
pub mod select;
pub mod yaml;

pub use error::{Error, Result};
pub use library::Library;
