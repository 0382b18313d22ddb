//! What a server's store provides to the HTTP layer. Calls block (they run on tokio's blocking
//! pool): stores are built around SQLite and a single writer thread.

use crate::resource::Registry;
use crate::status::ApiResult;
use crate::watch::EventLog;
use serde_json::{Map, Value};

/// One stored object as a list visits it; `object` is its stored JSON.
pub struct Row<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: Option<&'a Map<String, Value>>,
    pub object: &'a [u8],
}

pub enum Visit {
    /// Not part of the result (filtered out).
    Skip,
    /// Part of the result; keep going.
    Take,
    /// Enough: end the list here.
    Stop,
}

/// A change to apply durably. Identity (apiVersion, kind, namespace, name) is already checked
/// and create's fields filled in by the HTTP layer.
pub enum WriteOp {
    Create {
        resource: usize,
        namespace: String,
        name: String,
        object: Value,
    },
    Update {
        resource: usize,
        namespace: String,
        name: String,
        object: Value,
        /// Optimistic concurrency: fail with 409 when the stored version differs.
        expected_rv: Option<u64>,
    },
    Delete {
        resource: usize,
        namespace: String,
        name: String,
        expected_rv: Option<u64>,
        expected_uid: Option<String>,
    },
}

pub trait Backend: Send + Sync + 'static {
    fn registry(&self) -> &Registry;
    fn events(&self) -> &EventLog;
    /// The stored JSON of one object (404 when absent). `namespace` is "" for cluster scope.
    fn get(&self, resource: usize, namespace: &str, name: &str) -> ApiResult<Vec<u8>>;
    /// Visits objects in (namespace, name) order, starting after `after`, from one consistent
    /// snapshot; returns that snapshot's resourceVersion.
    fn list(
        &self,
        resource: usize,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
        visit: &mut dyn FnMut(Row) -> Visit,
    ) -> ApiResult<u64>;
    /// Applies a change once it is durable; returns the object as stored (for a delete, its
    /// last state with the deletion's resourceVersion).
    fn write(&self, op: WriteOp) -> ApiResult<bytes::Bytes>;
    /// Lines of Prometheus text exposition describing the store.
    fn metrics(&self) -> String {
        String::new()
    }
}
