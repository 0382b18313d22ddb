//! OpenVEX v0.2.0: one `affected` statement per vulnerability of the image, naming the matched
//! packages as subcomponents. The same document is what storage's
//! OpenVulnerabilityExchangeContainer kind holds as its spec, so the top-level keys stay within
//! that kind's schema (`@context`, `@id`, `author`, `timestamp`, `version`, `tooling`,
//! `statements`).

use super::{aliases, by_vulnerability, fix_phrase, image_purl, recommendation};
use crate::{Match, ScanResult, SCANNER_NAME, SCANNER_VERSION};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// The document IRI: a UUID URN hashed from the image and the database, so that scanning the
/// same image against the same database names the same document, and anything else a new one.
/// The UUID is RFC 9562 version 8 (custom), the version meant for hashes other than MD5/SHA-1.
fn document_id(r: &ScanResult, target: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        target,
        r.catalog.source.manifest_digest.as_deref().unwrap_or(""),
        &r.db.label(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h.finalize()[..16]);
    format!(
        "urn:uuid:{}",
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    )
}

/// What to do: "Upgrade to 3.7" when every package of the statement has the same fix, else one
/// sentence per package.
fn action(r: &ScanResult, ms: &[&Match]) -> String {
    let fixes: Vec<Option<String>> = ms.iter().map(|m| fix_phrase(&m.finding)).collect();
    if fixes.iter().all(|f| *f == fixes[0]) {
        return match &fixes[0] {
            Some(v) => format!("Upgrade to {v}"),
            None => "No fix available".to_string(),
        };
    }
    let mut out: Vec<String> = Vec::new();
    for m in ms {
        let a = recommendation(&r.package(m).name, &m.finding);
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out.join(". ")
}

/// The OpenVEX document of a scan, issued at `timestamp`. The product is the image: its OCI
/// purl when the manifest digest is known, else `target` as the user named it.
pub fn openvex(r: &ScanResult, target: &str, timestamp: DateTime<Utc>) -> Value {
    let product = image_purl(r, target).unwrap_or_else(|| target.to_string());
    let statements: Vec<Value> = by_vulnerability(r)
        .iter()
        .map(|(id, ms)| {
            let mut subcomponents: Vec<Value> = Vec::new();
            for m in ms {
                let s = json!({"@id": r.package(m).purl});
                if !subcomponents.contains(&s) {
                    subcomponents.push(s);
                }
            }
            json!({
                "vulnerability": {"name": id, "aliases": aliases(ms)},
                "products": [{"@id": product, "subcomponents": subcomponents}],
                "status": "affected",
                "action_statement": action(r, ms),
            })
        })
        .collect();
    json!({
        "@context": CONTEXT,
        "@id": document_id(r, target),
        "author": "kubescape",
        "timestamp": timestamp.to_rfc3339_opts(SecondsFormat::Secs, true),
        "version": 1,
        "tooling": format!("{SCANNER_NAME}/{SCANNER_VERSION}"),
        "statements": statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::sample;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn statements_per_vulnerability() {
        let r = sample();
        let v = openvex(&r, "registry.example/app:1", at());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "@context",
                "@id",
                "author",
                "timestamp",
                "version",
                "tooling",
                "statements"
            ]
        );
        assert_eq!(v["@context"], CONTEXT);
        assert_eq!(v["author"], "kubescape");
        assert_eq!(v["timestamp"], "2024-05-01T12:00:00Z");
        assert_eq!(v["version"], 1);
        let id = v["@id"].as_str().unwrap();
        assert!(id.starts_with("urn:uuid:"), "{id}");
        assert_eq!(
            uuid::Uuid::parse_str(&id["urn:uuid:".len()..])
                .unwrap()
                .get_version_num(),
            8
        );
        // Stable for the same image and database; another image is another document.
        assert_eq!(openvex(&r, "registry.example/app:1", Utc::now())["@id"], id);
        assert_ne!(openvex(&r, "registry.example/other:1", at())["@id"], id);

        let st = v["statements"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0]["vulnerability"]["name"], "CVE-2024-0001");
        assert_eq!(
            st[0]["vulnerability"]["aliases"],
            json!(["GHSA-aaaa-bbbb-cccc"])
        );
        assert_eq!(st[0]["status"], "affected");
        let product = &st[0]["products"][0];
        assert_eq!(
            product["@id"],
            "pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111?repository_url=registry.example%2Fapp&tag=1"
        );
        let subs: Vec<&str> = product["subcomponents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["@id"].as_str().unwrap())
            .collect();
        assert_eq!(
            subs,
            [
                "pkg:apk/alpine/openssl@3.0.12-r0?arch=x86_64",
                "pkg:apk/alpine/libcrypto3@3.0.12-r0?arch=x86_64"
            ]
        );
        // Different fixes per package: one sentence each.
        assert_eq!(
            st[0]["action_statement"],
            "Upgrade openssl to 3.0.13-r0. No fix available for libcrypto3"
        );
        assert_eq!(st[1]["action_statement"], "Upgrade to 3.7");
    }

    #[test]
    fn without_a_digest_the_product_is_the_target() {
        let mut r = sample();
        r.catalog.source.manifest_digest = None;
        r.matches.retain(|m| m.finding.id == "PYSEC-2024-60");
        r.matches[0].finding.fixed_in.clear();
        let v = openvex(&r, "dir:/srv/rootfs", at());
        let st = &v["statements"][0];
        assert_eq!(st["products"][0]["@id"], "dir:/srv/rootfs");
        assert_eq!(st["action_statement"], "No fix available");
    }
}
