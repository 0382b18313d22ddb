//! Syft JSON: the document the storage's SBOMSyft kind carries in `spec.syft`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{image_name, package_id};
use crate::license::spdx_id;
use crate::model::Catalog;
use crate::{TOOL_NAME, TOOL_VERSION};

/// Syft JSON schema version whose field names we write.
pub const SYFT_SCHEMA_VERSION: &str = "16.0.18";

/// Stable identifier of a file path (16 hex digits).
fn file_id(path: &str) -> String {
    let d = Sha256::digest(path.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn to_syft(c: &Catalog) -> Value {
    let b64 = |b: &Option<Vec<u8>>| {
        b.as_ref()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .unwrap_or_default()
    };
    let artifacts: Vec<Value> = c
        .packages
        .iter()
        .map(|p| {
            json!({
                "id": package_id(p),
                "name": p.name,
                "version": p.version,
                "type": p.kind.syft_type(),
                "foundBy": p.found_by,
                "locations": p.locations.iter().enumerate().map(|(i, l)| json!({
                    "path": l.path,
                    "layerID": l.layer.clone().unwrap_or_default(),
                    "accessPath": l.path,
                    "annotations": {"evidence": if i == 0 { "primary" } else { "supporting" }},
                })).collect::<Vec<_>>(),
                "licenses": p.licenses.iter().map(|l| json!({
                    "value": l,
                    "spdxExpression": spdx_id(l).unwrap_or(""),
                    "type": "declared",
                    "urls": [],
                    "locations": [],
                })).collect::<Vec<_>>(),
                "language": p.kind.language(),
                "cpes": p.cpes.iter().map(|c| json!({"cpe": c, "source": "kubescape-generated"})).collect::<Vec<_>>(),
                "purl": p.purl,
                "metadataType": p.metadata_type,
                "metadata": p.metadata,
            })
        })
        .collect();
    // files: the evidence of each package (with its layer) and the files it owns (from the
    // package manager's records; their layer is not tracked); relationships tie them together
    let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut relationships = Vec::new();
    for p in &c.packages {
        let pid = package_id(p);
        for (i, l) in p.locations.iter().enumerate() {
            let fid = file_id(&l.path);
            let entry = files
                .entry(l.path.clone())
                .or_insert_with(|| (fid.clone(), String::new()));
            if entry.1.is_empty() {
                entry.1 = l.layer.clone().unwrap_or_default();
            }
            if i == 0 {
                relationships.push(json!({"parent": pid, "child": fid, "type": "evident-by"}));
            }
        }
        for f in &p.files {
            let fid = file_id(f);
            files
                .entry(f.clone())
                .or_insert_with(|| (fid.clone(), String::new()));
            relationships.push(json!({"parent": pid, "child": fid, "type": "contains"}));
        }
    }
    let files: Vec<Value> = files
        .into_iter()
        .map(|(path, (id, layer))| json!({"id": id, "location": {"path": path, "layerID": layer}}))
        .collect();
    let s = &c.source;
    let source = json!({
        "id": s.image_id.clone().or_else(|| s.manifest_digest.clone()).unwrap_or_default(),
        "name": image_name(c),
        "version": s.manifest_digest.clone().unwrap_or_default(),
        "type": if s.source_kind == "dir" { "directory" } else { "image" },
        "metadata": if s.source_kind == "dir" {
            json!({"path": s.user_input})
        } else {
            json!({
                "userInput": s.user_input,
                "imageID": s.image_id.clone().unwrap_or_default(),
                "manifestDigest": s.manifest_digest.clone().unwrap_or_default(),
                "mediaType": s.manifest_media_type.clone().unwrap_or_default(),
                "tags": s.tags,
                "imageSize": s.size,
                "layers": s.layers.iter().map(|l| json!({
                    "mediaType": l.media_type, "digest": l.diff_id.clone().unwrap_or_else(|| l.digest.clone()), "size": l.size,
                })).collect::<Vec<_>>(),
                "manifest": b64(&s.raw_manifest),
                "config": b64(&s.raw_config),
                "repoDigests": s.repo_digests,
                "architecture": s.architecture.clone().unwrap_or_default(),
                "os": s.os.clone().unwrap_or_default(),
            })
        },
    });
    let distro = match &c.distro {
        Some(d) => json!({
            "prettyName": d.pretty_name, "name": d.name, "id": d.id, "idLike": d.id_like,
            "version": "", "versionID": d.version_id, "versionCodename": d.version_codename,
            "homeURL": d.home_url, "bugReportURL": d.bug_report_url,
        }),
        None => json!({}),
    };
    json!({
        "artifacts": artifacts,
        "artifactRelationships": relationships,
        "files": files,
        "source": source,
        "distro": distro,
        "descriptor": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "schema": {
            "version": SYFT_SCHEMA_VERSION,
            "url": format!("https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-{SYFT_SCHEMA_VERSION}.json"),
        },
    })
}
