//! CycloneDX 1.6 JSON.

use serde_json::{json, Value};

use super::{image_name, package_id};
use crate::license::spdx_id;
use crate::model::{Catalog, Distro, Package};
use crate::{TOOL_NAME, TOOL_VERSION};

pub fn to_cyclonedx(c: &Catalog) -> Value {
    inventory(c, &image_name(c))
}

/// The inventory BOM of a catalog, its root component (the image) named `root_name`. Public so
/// that documents built on it (the vulnerability BOM of `kubescape scan image`) describe the
/// image and its packages identically.
pub fn inventory(c: &Catalog, root_name: &str) -> Value {
    let root_ref = format!(
        "image:{}",
        c.source.manifest_digest.as_deref().unwrap_or(root_name)
    );
    let mut root = json!({"bom-ref": root_ref, "type": "container", "name": root_name});
    if let Some(d) = &c.source.manifest_digest {
        root["version"] = json!(d);
    }
    let mut components = Vec::with_capacity(c.packages.len() + 1);
    let mut refs = Vec::new();
    if let Some(d) = &c.distro {
        refs.push(os_component_ref(d));
        components.push(os_component(d));
    }
    for p in &c.packages {
        let r = component_ref(p);
        // bom-refs and dependsOn entries must be unique; identical packages are one component.
        if !refs.contains(&r) {
            refs.push(r);
            components.push(component(p));
        }
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        // Every BOM instance gets its own serial number, even for unchanged content (spec).
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "tools": {"components": [{"type": "application", "author": "Kubescape", "name": TOOL_NAME, "version": TOOL_VERSION}]},
            "component": root,
        },
        "components": components,
        "dependencies": [{"ref": root_ref, "dependsOn": refs}],
    })
}

/// The `bom-ref` of the image's operating-system component.
pub fn os_component_ref(d: &Distro) -> String {
    format!("os:{}-{}", d.id, d.version_id)
}

/// The operating-system component (from os-release).
pub fn os_component(d: &Distro) -> Value {
    json!({
        "bom-ref": os_component_ref(d), "type": "operating-system", "name": d.id,
        "version": d.version_id, "description": d.pretty_name,
    })
}

/// The `bom-ref` of a package's component: its purl made unique by the package id, since one
/// image can hold the same purl at several locations.
pub fn component_ref(p: &Package) -> String {
    format!("{}?package-id={}", p.purl, package_id(p))
}

/// The CycloneDX component of one cataloged package. Public so that documents built on top of
/// the inventory (the vulnerability BOM of `kubescape scan image`) describe packages the same way.
pub fn component(p: &Package) -> Value {
    let r = component_ref(p);
    let mut comp = json!({
        "bom-ref": r,
        "type": "library",
        "name": p.name,
        "version": p.version,
        "purl": p.purl,
    });
    if let Some(ns) = &p.namespace {
        comp["group"] = json!(ns);
    }
    if let Some(cpe) = p.cpes.first() {
        comp["cpe"] = json!(cpe);
    }
    if let Some(s) = &p.supplier {
        comp["supplier"] = json!({"name": s});
    }
    let mut lic: Vec<Value> = Vec::new();
    for l in &p.licenses {
        let v = match spdx_id(l) {
            Some(id) => json!({"license": {"id": id}}),
            None => json!({"license": {"name": l}}),
        };
        if !lic.contains(&v) {
            lic.push(v);
        }
    }
    if !lic.is_empty() {
        comp["licenses"] = Value::Array(lic);
    }
    let mut props = vec![
        json!({"name": "kubescape:package:type", "value": p.kind.syft_type()}),
        json!({"name": "kubescape:package:foundBy", "value": p.found_by}),
    ];
    if let Some(s) = &p.source_name {
        props.push(json!({"name": "kubescape:package:sourceName", "value": s}));
    }
    if let Some(s) = &p.source_version {
        props.push(json!({"name": "kubescape:package:sourceVersion", "value": s}));
    }
    for (i, l) in p.locations.iter().enumerate() {
        props.push(json!({"name": format!("kubescape:location:{i}:path"), "value": l.path}));
        if let Some(layer) = &l.layer {
            props.push(json!({"name": format!("kubescape:location:{i}:layerID"), "value": layer}));
        }
    }
    comp["properties"] = Value::Array(props);
    comp
}
