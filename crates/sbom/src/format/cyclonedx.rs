//! CycloneDX 1.6 JSON.

use serde_json::{json, Value};

use super::{image_name, package_id};
use crate::license::spdx_id;
use crate::model::Catalog;
use crate::{TOOL_NAME, TOOL_VERSION};

pub fn to_cyclonedx(c: &Catalog) -> Value {
    let name = image_name(c);
    let root_ref = format!(
        "image:{}",
        c.source
            .manifest_digest
            .clone()
            .unwrap_or_else(|| name.clone())
    );
    let mut root = json!({"bom-ref": root_ref, "type": "container", "name": name});
    if let Some(d) = &c.source.manifest_digest {
        root["version"] = json!(d);
    }
    let mut components = Vec::with_capacity(c.packages.len() + 1);
    let mut refs = Vec::new();
    if let Some(d) = &c.distro {
        let r = format!("os:{}-{}", d.id, d.version_id);
        components.push(json!({
            "bom-ref": r, "type": "operating-system", "name": d.id, "version": d.version_id,
            "description": d.pretty_name,
        }));
        refs.push(r);
    }
    for p in &c.packages {
        let r = format!("{}?package-id={}", p.purl, package_id(p));
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
                props.push(
                    json!({"name": format!("kubescape:location:{i}:layerID"), "value": layer}),
                );
            }
        }
        comp["properties"] = Value::Array(props);
        refs.push(r);
        components.push(comp);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
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
