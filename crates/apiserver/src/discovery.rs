//! Discovery documents: `/apis`, `/apis/<group>`, `/apis/<group>/<version>` and the aggregated
//! discovery form (`apidiscovery.k8s.io/v2`) that kubectl asks for first.

use crate::resource::Registry;
use serde_json::{json, Value};

pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

fn version_entry(reg: &Registry) -> Value {
    json!({"groupVersion": reg.group_version(), "version": reg.version})
}

pub fn group(reg: &Registry) -> Value {
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": reg.group,
        "versions": [version_entry(reg)],
        "preferredVersion": version_entry(reg),
    })
}

pub fn group_list(reg: &Registry) -> Value {
    let mut g = group(reg);
    let o = g.as_object_mut().expect("object");
    o.remove("kind");
    o.remove("apiVersion");
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [g]})
}

pub fn resource_list(reg: &Registry) -> Value {
    let resources: Vec<Value> = reg
        .resources
        .iter()
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": r.verbs(),
                "shortNames": r.short_names,
            })
        })
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": reg.group_version(),
        "resources": resources,
    })
}

/// `api_version` is the discovery version the client asked for (`v2` or `v2beta1`).
pub fn aggregated(reg: &Registry, api_version: &str) -> Value {
    let resources: Vec<Value> = reg
        .resources
        .iter()
        .map(|r| {
            json!({
                "resource": r.plural,
                "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": r.singular,
                "verbs": r.verbs(),
                "shortNames": r.short_names,
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{api_version}"),
        "metadata": {},
        "items": [{
            "metadata": {"name": reg.group},
            "versions": [{"version": reg.version, "resources": resources, "freshness": "Current"}],
        }],
    })
}
