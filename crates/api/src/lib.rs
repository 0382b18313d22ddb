//! Object model shared by every Kubescape component.
//!
//! `posture` holds the posture report (upstream's v2 JSON report shape); `resource_id` the
//! identifiers Kubescape gives Kubernetes objects.

pub mod posture;
pub mod resource_id;
