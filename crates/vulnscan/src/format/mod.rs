//! Documents written from a [`ScanResult`]: the terminal table and the Grype-style match
//! document that storage's VulnerabilityManifest carries as `payload`.

use crate::{ScanResult, SCANNER_NAME, SCANNER_VERSION};
use kubescape_vulndb::severity;
use serde_json::{json, Value};

/// The findings as an aligned text table, or a sentence when there are none.
pub fn table(r: &ScanResult) -> String {
    if r.matches.is_empty() {
        return "No vulnerabilities found".to_string();
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN", "TYPE"]);
    for m in &r.matches {
        let p = r.package(m);
        t.add_row([
            m.severity.as_str().to_string(),
            m.finding.id.clone(),
            p.name.clone(),
            p.version.clone(),
            m.finding.fixed_in.join(", "),
            p.kind.syft_type().to_string(),
        ]);
    }
    t.to_string()
}

/// A Grype-style match document, as storage's VulnerabilityManifest `payload` holds.
/// `target` is what the user asked for (the image reference).
pub fn manifest(r: &ScanResult, target: &str) -> Value {
    let matches: Vec<Value> = r
        .matches
        .iter()
        .map(|m| {
            let f = &m.finding;
            let p = r.package(m);
            let cvss: Vec<Value> = f
                .severity
                .iter()
                .filter(|s| s.starts_with("CVSS:"))
                .map(|v| json!({"vector": v, "metrics": {"baseScore": severity::cvss3_base_score(v)}}))
                .collect();
            json!({
                "vulnerability": {
                    "id": f.id,
                    "dataSource": format!("https://osv.dev/vulnerability/{}", f.id),
                    "namespace": f.ecosystem,
                    "severity": m.severity.as_str(),
                    "description": f.summary,
                    "cvss": cvss,
                    "fix": {
                        "versions": f.fixed_in,
                        "state": if f.fixed_in.is_empty() { "not-fixed" } else { "fixed" },
                    },
                },
                "relatedVulnerabilities": f.aliases.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
                "matchDetails": [{
                    "type": "exact-direct-match",
                    "matcher": "kubescape-osv-matcher",
                    "searchedBy": {"ecosystem": f.ecosystem, "package": f.package, "version": f.installed},
                }],
                "artifact": {
                    "name": p.name,
                    "version": p.version,
                    "type": p.kind.syft_type(),
                    "purl": p.purl,
                    "cpes": p.cpes,
                    "locations": p.locations.iter().map(|l| json!({"path": l.path, "layerID": l.layer})).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    let source = &r.catalog.source;
    json!({
        "matches": matches,
        "source": {"type": "image", "target": {
            "userInput": target,
            "imageID": source.image_id,
            "manifestDigest": source.manifest_digest,
            "repoDigests": source.repo_digests,
        }},
        "distro": r.catalog.distro.as_ref().map(|d| json!({"name": d.id, "version": d.version_id})),
        "descriptor": {
            "name": SCANNER_NAME,
            "version": SCANNER_VERSION,
            "db": {"built": r.db.built, "schemaVersion": r.db.schema, "records": r.db.records},
        },
    })
}
