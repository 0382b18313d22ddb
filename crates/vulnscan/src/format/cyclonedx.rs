//! CycloneDX 1.6 JSON with vulnerabilities: the image's inventory (components rendered by the
//! SBOM writer of kubescape-sbom, so both documents describe a package identically) plus one
//! `vulnerabilities[]` entry per vulnerability id, whose `affects` names every matched package.

use super::{aliases, by_vulnerability, image_purl, recommendation, summary, worst};
use crate::{Match, ScanResult, SCANNER_NAME, SCANNER_VERSION};
use kubescape_sbom::format::{cyclonedx_component_ref, cyclonedx_inventory};
use kubescape_vulndb::severity::{cvss3_base_score, Severity};
use serde_json::{json, Value};

/// CycloneDX's severity vocabulary.
fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

/// Where an identifier is published: NVD for CVEs, GitHub for GHSAs, OSV (which indexes all of
/// the others) for the rest.
fn source_of(id: &str) -> Value {
    if id.starts_with("CVE-") {
        json!({"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{id}")})
    } else if id.starts_with("GHSA-") {
        json!({"name": "GitHub", "url": format!("https://github.com/advisories/{id}")})
    } else {
        osv(id)
    }
}

fn osv(id: &str) -> Value {
    json!({"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")})
}

/// One rating per distinct severity entry of the records: a CVSS v3 vector with its computed
/// base score; a CVSS v4 vector as is (its score is not computed here); a severity word alone.
fn ratings(id: &str, ms: &[&Match]) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for s in ms.iter().flat_map(|m| &m.finding.severity) {
        if seen.contains(&s.as_str()) {
            continue;
        }
        seen.push(s);
        let rating = if let Some(score) = cvss3_base_score(s) {
            let method = if s.starts_with("CVSS:3.1/") {
                "CVSSv31"
            } else {
                "CVSSv3"
            };
            // CVSS names a 0.0 score "none", which Severity folds into negligible.
            let word = if score == 0.0 {
                "none"
            } else {
                severity_word(Severity::from_score(score))
            };
            json!({"source": osv(id), "score": score, "severity": word, "method": method, "vector": s})
        } else if s.starts_with("CVSS:4.0/") {
            json!({"source": osv(id), "method": "CVSSv4", "vector": s})
        } else if let Some(w) = Severity::parse_word(s) {
            json!({"source": osv(id), "severity": severity_word(w)})
        } else {
            continue;
        };
        out.push(rating);
    }
    if !out.iter().any(|r| r.get("severity").is_some()) {
        // No entry we can read (or only v4 vectors): the severity the scan used, so that every
        // vulnerability carries one.
        out.push(json!({"source": osv(id), "severity": severity_word(worst(ms))}));
    }
    out
}

fn vulnerability(r: &ScanResult, id: &str, ms: &[&Match]) -> Value {
    let references: Vec<Value> = aliases(ms)
        .into_iter()
        .map(|a| json!({"id": a, "source": source_of(a)}))
        .collect();
    let mut affects: Vec<Value> = Vec::new();
    let mut advice: Vec<String> = Vec::new();
    for m in ms {
        let p = r.package(m);
        let entry = json!({
            "ref": cyclonedx_component_ref(p),
            "versions": [{"version": p.version, "status": "affected"}],
        });
        if !affects.contains(&entry) {
            affects.push(entry);
        }
        let a = recommendation(&p.name, &m.finding);
        if !advice.contains(&a) {
            advice.push(a);
        }
    }
    let mut v = json!({
        "bom-ref": format!("vulnerability:{id}"),
        "id": id,
        "source": osv(id),
    });
    if !references.is_empty() {
        v["references"] = json!(references);
    }
    v["ratings"] = json!(ratings(id, ms));
    let summary = summary(ms);
    if !summary.is_empty() {
        v["description"] = json!(summary);
    }
    v["recommendation"] = json!(advice.join(". "));
    v["affects"] = json!(affects);
    v
}

/// The vulnerability BOM of a scan. `target` is the image as the user named it: the name of the
/// root component.
pub fn cyclonedx(r: &ScanResult, target: &str) -> Value {
    let mut bom = cyclonedx_inventory(&r.catalog, target);
    if let Some(purl) = image_purl(r, target) {
        bom["metadata"]["component"]["purl"] = json!(purl);
    }
    bom["metadata"]["tools"] = json!({"components": [{"type": "application", "name": SCANNER_NAME, "version": SCANNER_VERSION}]});
    bom["metadata"]["properties"] =
        json!([{"name": "kubescape:vulndb:version", "value": r.db.label()}]);
    bom["vulnerabilities"] = by_vulnerability(r)
        .iter()
        .map(|(id, ms)| vulnerability(r, id, ms))
        .collect();
    bom
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::sample;
    use kubescape_sbom::format::cyclonedx_component;

    #[test]
    fn components_and_vulnerabilities() {
        let r = sample();
        let v = cyclonedx(&r, "registry.example/app:1");
        assert_eq!(v["bomFormat"], "CycloneDX");
        assert_eq!(v["specVersion"], "1.6");
        let root = &v["metadata"]["component"];
        assert_eq!(root["type"], "container");
        assert_eq!(root["name"], "registry.example/app:1");
        assert_eq!(
            root["version"],
            r.catalog.source.manifest_digest.as_deref().unwrap()
        );

        let components = v["components"].as_array().unwrap();
        // The distro plus every cataloged package, matched or not.
        assert_eq!(components.len(), 1 + r.catalog.packages.len());
        assert_eq!(components[0]["type"], "operating-system");
        for (c, p) in components[1..].iter().zip(&r.catalog.packages) {
            assert_eq!(c["type"], "library");
            assert_eq!(c["purl"], p.purl.as_str());
            assert_eq!(c, &cyclonedx_component(p), "the SBOM writer's rendering");
        }

        let vulns = v["vulnerabilities"].as_array().unwrap();
        assert_eq!(vulns.len(), 2);
        let cve = &vulns[0];
        assert_eq!(cve["id"], "CVE-2024-0001");
        assert_eq!(cve["source"]["name"], "OSV");
        assert_eq!(cve["references"][0]["id"], "GHSA-aaaa-bbbb-cccc");
        assert_eq!(cve["references"][0]["source"]["name"], "GitHub");
        let rating = &cve["ratings"][0];
        assert_eq!(rating["method"], "CVSSv31");
        assert_eq!(rating["score"], 9.8);
        assert_eq!(rating["severity"], "critical");
        assert_eq!(
            cve["recommendation"],
            "Upgrade openssl to 3.0.13-r0. No fix available for libcrypto3"
        );
        // Each affected ref is the bom-ref of a component of this document.
        let refs: Vec<&Value> = components.iter().map(|c| &c["bom-ref"]).collect();
        let affects = cve["affects"].as_array().unwrap();
        assert_eq!(affects.len(), 2);
        for a in affects {
            assert!(refs.contains(&&a["ref"]), "{a}");
            assert_eq!(a["versions"][0]["status"], "affected");
        }
        // A severity word alone is a rating with a severity and nothing else to score.
        let py = &vulns[1];
        assert_eq!(py["ratings"].as_array().unwrap().len(), 1);
        assert_eq!(py["ratings"][0]["severity"], "medium");
        assert!(py["ratings"][0].get("score").is_none());
        assert_eq!(py["recommendation"], "Upgrade idna to 3.7");
        assert_eq!(py["description"], "Resource exhaustion in idna.encode");
    }
}
