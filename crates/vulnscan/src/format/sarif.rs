//! SARIF 2.1.0, shaped for GitHub code scanning: one rule per vulnerability id, one result per
//! (vulnerability, package), located at the file that declares the package.
//!
//! GitHub's ingestion rules drive several choices here: `security-severity` must be a string
//! holding a number in 0.0–10.0 and only counts on rules tagged `security`; every result needs a
//! location with a relative `artifactLocation.uri` and a `region.startLine`; and results are
//! matched across uploads by `ruleId`, file path and `partialFingerprints`, so those must not
//! change between runs on the same image.

use super::{aliases, by_vulnerability, cvss_score, fix_phrase, recommendation, summary, worst};
use crate::{Match, ScanResult, SCANNER_VERSION};
use kubescape_vulndb::severity::Severity;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub truncates descriptions beyond this many characters; cutting them here keeps the cut
/// on a character boundary and marked.
const MAX_DESCRIPTION: usize = 1024;

/// Name of the `partialFingerprints` entry; versioned so that a change of what it hashes can
/// never be mistaken for the same alert.
const FINGERPRINT: &str = "kubescapeVulnerability/v1";

/// SARIF level: error for critical and high, warning for medium, note otherwise.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        _ => "note",
    }
}

/// A number for GitHub's severity bands (critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low
/// 0.1–3.9) when a record has only a severity word; None for an unknown severity, which has no
/// honest number.
fn word_score(s: Severity) -> Option<f64> {
    match s {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        Severity::Negligible => Some(1.0),
        Severity::Unknown => None,
    }
}

fn text(s: &str) -> Value {
    json!({ "text": s })
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_DESCRIPTION {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_DESCRIPTION - 1).collect();
    out.push('…');
    out
}

/// Characters a URI reference keeps as they are: RFC 3986 unreserved ones and the `/` separator.
const URI_PATH_KEEPS: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A path inside the image as a relative URI reference: no leading slash (GitHub resolves URIs
/// against the repository root), `/` kept, everything outside the unreserved set percent-encoded
/// (a `:` in the first segment would otherwise read as a URI scheme).
fn uri_reference(path: &str) -> String {
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = percent_encoding::utf8_percent_encode(path, URI_PATH_KEEPS).to_string();
    if out.is_empty() {
        // The root directory itself: an empty URI would name the repository root, not a file.
        out.push('.');
    }
    out
}

/// The SARIF log of a scan. `target` is the image as the user named it; it only stands in as
/// the location of packages that have none.
pub fn sarif(r: &ScanResult, target: &str) -> Value {
    let groups = by_vulnerability(r);
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let rules: Vec<Value> = groups.iter().map(|(id, ms)| rule(r, id, ms)).collect();
    let results: Vec<Value> = r
        .matches
        .iter()
        .map(|m| result(r, m, index[m.finding.id.as_str()], target))
        .collect();
    let mut props = Map::new();
    props.insert("imageName".into(), json!(target));
    if let Some(d) = &r.catalog.source.manifest_digest {
        props.insert("manifestDigest".into(), json!(d));
    }
    props.insert("databaseVersion".into(), json!(r.db.label()));
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubescape",
                "version": SCANNER_VERSION,
                "informationUri": "https://github.com/kubescape/kubescape",
                "rules": rules,
            }},
            "results": results,
            "properties": props,
        }],
    })
}

fn rule(r: &ScanResult, id: &str, ms: &[&Match]) -> Value {
    let sev = worst(ms);
    let summary = summary(ms);
    let short = if summary.is_empty() {
        let mut names: Vec<&str> = Vec::new();
        for m in ms {
            let n = r.package(m).name.as_str();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        format!("{id} in {}", names.join(", "))
    } else {
        format!("{id}: {}", summary.lines().next().unwrap_or(summary))
    };
    let full = if summary.is_empty() {
        short.clone()
    } else {
        summary.to_string()
    };

    // The help names the fix for every package the vulnerability was found in: it is what the
    // alert page shows under "Recommendation".
    let mut help = vec![format!("Vulnerability {id}, severity {}.", sev.as_str())];
    let mut markdown = vec![
        format!("**Vulnerability {id}** ({})", sev.as_str()),
        String::new(),
        "| Package | Installed | Fixed in | Recommendation |".to_string(),
        "| --- | --- | --- | --- |".to_string(),
    ];
    for m in ms {
        let p = r.package(m);
        let fix = fix_phrase(&m.finding);
        help.push(format!(
            "{} {}: {}.",
            p.name,
            p.version,
            recommendation(&p.name, &m.finding)
        ));
        markdown.push(format!(
            "| {} | {} | {} | {} |",
            md_cell(&p.name),
            md_cell(&p.version),
            md_cell(fix.as_deref().unwrap_or("no fix")),
            md_cell(&recommendation(&p.name, &m.finding))
        ));
    }
    let aliases = aliases(ms);
    if !aliases.is_empty() {
        help.push(format!("Also known as {}.", aliases.join(", ")));
        markdown.push(String::new());
        markdown.push(format!("Also known as {}.", aliases.join(", ")));
    }

    let mut props = Map::new();
    let mut tags = vec![
        "security".to_string(),
        "vulnerability".to_string(),
        sev.as_str().to_lowercase(),
    ];
    for m in ms {
        let t = r.package(m).kind.syft_type().to_string();
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    props.insert("tags".into(), json!(tags));
    if let Some(score) = cvss_score(ms).or_else(|| word_score(sev)) {
        props.insert("security-severity".into(), json!(format!("{score:.1}")));
    }
    // A version match against an advisory is not a heuristic.
    props.insert("precision".into(), json!("very-high"));

    json!({
        "id": id,
        "shortDescription": text(&truncate(&short)),
        "fullDescription": text(&truncate(&full)),
        "help": {"text": help.join("\n"), "markdown": markdown.join("\n")},
        "helpUri": format!("https://osv.dev/vulnerability/{id}"),
        "defaultConfiguration": {"level": level(sev)},
        "properties": props,
    })
}

/// Pipes and line breaks would break the help table.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn result(r: &ScanResult, m: &Match, rule_index: usize, target: &str) -> Value {
    let p = r.package(m);
    let f = &m.finding;
    let fixed = match fix_phrase(f) {
        Some(v) => format!("fixed in {v}"),
        None => "no fixed version is available".to_string(),
    };
    let message = format!(
        "Package {} {} ({}) is affected by {} ({}); {}.",
        p.name,
        p.version,
        p.kind.syft_type(),
        f.id,
        m.severity.as_str(),
        fixed
    );
    let path = p
        .locations
        .first()
        .map(|l| l.path.as_str())
        .unwrap_or(target);

    // Stable across runs and independent of the installed version, so that an upgrade that is
    // still vulnerable keeps the same alert and a fixing one closes it.
    let mut h = Sha256::new();
    for part in [&f.id, p.kind.syft_type(), &p.name, path] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let fingerprint: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let mut props = Map::new();
    props.insert("purl".into(), json!(p.purl));
    props.insert("packageType".into(), json!(p.kind.syft_type()));
    props.insert("installedVersion".into(), json!(p.version));
    props.insert("fixedVersions".into(), json!(f.fixed_in));
    props.insert("severity".into(), json!(m.severity.as_str()));
    if let Some(layer) = p.locations.first().and_then(|l| l.layer.as_deref()) {
        props.insert("layerID".into(), json!(layer));
    }
    json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(m.severity),
        "message": text(&message),
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri_reference(path)},
                "region": {"startLine": 1},
            },
        }],
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": props,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::sample;

    #[test]
    fn uri_references_are_relative() {
        assert_eq!(
            uri_reference("/usr/lib/python3/dist-packages/idna-3.6.dist-info/METADATA"),
            "usr/lib/python3/dist-packages/idna-3.6.dist-info/METADATA"
        );
        assert_eq!(uri_reference("alpine:3.18"), "alpine%3A3.18");
        assert_eq!(uri_reference("/"), ".");
    }

    #[test]
    fn rules_results_and_github_fields() {
        let r = sample();
        let v = sarif(&r, "registry.example/app:1");
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "kubescape");
        assert_eq!(driver["version"], SCANNER_VERSION);
        let rules = driver["rules"].as_array().unwrap();
        // Three matches, two vulnerability ids (CVE-2024-0001 hits two packages).
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["CVE-2024-0001", "PYSEC-2024-60"]);
        // A CVSS vector gives its base score; a severity word a number in its band.
        assert_eq!(rules[0]["properties"]["security-severity"], "9.8");
        assert_eq!(rules[1]["properties"]["security-severity"], "5.5");
        assert_eq!(rules[0]["properties"]["tags"][0], "security");
        let help = rules[0]["help"]["text"].as_str().unwrap();
        assert!(help.contains("Upgrade openssl to 3.0.13-r0"), "{help}");
        assert!(help.contains("No fix available for libcrypto3"), "{help}");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");

        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let levels: Vec<&str> = results
            .iter()
            .map(|r| r["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["error", "error", "warning"]);
        for res in results {
            let idx = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], res["ruleId"]);
            let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(!uri.starts_with('/'), "{uri}");
            assert_eq!(
                res["locations"][0]["physicalLocation"]["region"]["startLine"],
                1
            );
        }
        let msg = results[0]["message"]["text"].as_str().unwrap();
        assert!(
            msg.contains("openssl 3.0.12-r0") && msg.contains("fixed in 3.0.13-r0"),
            "{msg}"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "lib/apk/db/installed"
        );
        let msg = results[2]["message"]["text"].as_str().unwrap();
        assert!(msg.contains("idna 3.6") && msg.contains("3.7"), "{msg}");

        // Fingerprints: distinct per result, identical on a second rendering.
        let fps: Vec<&Value> = results
            .iter()
            .map(|r| &r["partialFingerprints"][FINGERPRINT])
            .collect();
        assert!(fps
            .iter()
            .all(|f| f.as_str().is_some_and(|s| s.len() == 32)));
        assert_ne!(fps[0], fps[1]);
        let again = sarif(&r, "registry.example/app:1");
        assert_eq!(again["runs"][0]["results"], run["results"]);
    }

    #[test]
    fn an_empty_scan_is_a_valid_empty_run() {
        let mut r = sample();
        r.matches.clear();
        let v = sarif(&r, "x");
        assert_eq!(v["runs"][0]["results"], json!([]));
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }
}
