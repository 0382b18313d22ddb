//! Kubernetes API machinery for the project's own API servers (storage first): the REST verbs
//! with kube-apiserver's semantics on top of a blocking [`Backend`], a global resourceVersion
//! with resumable watches, selectors, patches, discovery, OpenAPI, `Table` and
//! `PartialObjectMetadata` responses, TLS, delegated authentication and authorization.

pub mod auth;
pub mod backend;
pub mod discovery;
pub mod metrics;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod resource;
pub mod selector;
pub mod server;
pub mod status;
pub mod tls;
pub mod watch;

pub use backend::{Backend, Row, Visit, WriteOp};
pub use resource::{Column, Registry, ResourceDef};
pub use server::{serve, App, ServeOptions};
pub use status::{ApiError, ApiResult};
pub use watch::{Event, EventLog, EventType};
