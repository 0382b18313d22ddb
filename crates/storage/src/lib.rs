//! The storage service: the `spdx.softwarecomposition.kubescape.io` kinds served as
//! Kubernetes API objects, persisted durably in SQLite by one writer, with computed kinds.

mod computed;
pub mod kinds;
mod store;

pub use store::{OpenError, Store, StoreOptions};
