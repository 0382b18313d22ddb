//! SPDX 2.3 JSON.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{image_name, package_id};
use crate::license::{license_ref, spdx_id};
use crate::model::Catalog;
use crate::{TOOL_NAME, TOOL_VERSION};

fn spdx_ref(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

pub fn to_spdx(c: &Catalog) -> Value {
    let name = image_name(c);
    let root_id = format!("SPDXRef-DocumentRoot-Image-{}", spdx_ref(&name));
    let mut extracted: BTreeMap<String, String> = BTreeMap::new();
    let mut packages = Vec::with_capacity(c.packages.len() + 1);
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    let mut root = json!({
        "name": name,
        "SPDXID": root_id,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER",
        "supplier": "NOASSERTION",
    });
    if let Some(d) = &c.source.manifest_digest {
        root["versionInfo"] = json!(d);
        root["checksums"] =
            json!([{"algorithm": "SHA256", "checksumValue": d.trim_start_matches("sha256:")}]);
    }
    packages.push(root);
    if let Some(d) = &c.distro {
        let os_id = format!("SPDXRef-OperatingSystem-{}", spdx_ref(&d.id));
        packages.push(json!({
            "name": d.id, "SPDXID": os_id, "versionInfo": d.version_id,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION", "primaryPackagePurpose": "OPERATING-SYSTEM",
            "description": d.pretty_name,
        }));
        relationships.push(json!({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": os_id}));
    }
    for p in &c.packages {
        let id = format!(
            "SPDXRef-Package-{}-{}-{}",
            p.kind.syft_type(),
            spdx_ref(&p.name),
            package_id(p)
        );
        let mut terms: Vec<String> = Vec::new();
        for l in &p.licenses {
            let t = match spdx_id(l) {
                Some(id) => id.to_string(),
                None => {
                    let r = license_ref(l);
                    extracted.entry(r.clone()).or_insert_with(|| l.clone());
                    r
                }
            };
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        let declared = if terms.is_empty() {
            "NOASSERTION".to_string()
        } else if terms.len() == 1 {
            terms.remove(0)
        } else {
            terms.join(" AND ")
        };
        let mut refs = vec![json!({
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl,
        })];
        for cpe in &p.cpes {
            refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe}));
        }
        let loc = p.locations.first().map(|l| l.path.as_str()).unwrap_or("");
        let mut pkg = json!({
            "name": p.name,
            "SPDXID": id,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "sourceInfo": format!("acquired package info from {}: {loc}", p.found_by),
            "externalRefs": refs,
            "primaryPackagePurpose": if p.kind.is_os() { "INSTALL" } else { "LIBRARY" },
        });
        if let Some(s) = &p.source_name {
            if s != &p.name {
                pkg["comment"] = json!(format!(
                    "source package: {s} {}",
                    p.source_version.as_deref().unwrap_or("")
                ));
            }
        }
        packages.push(pkg);
        relationships.push(json!({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://kubescape.io/spdx/image/{}-{}", spdx_ref(&name), uuid::Uuid::new_v4()),
        "creationInfo": {
            "created": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "creators": ["Organization: Kubescape", format!("Tool: {TOOL_NAME}-{TOOL_VERSION}")],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = extracted
            .into_iter()
            .map(|(id, text)| json!({"licenseId": id, "extractedText": text, "name": text}))
            .collect();
    }
    doc
}
