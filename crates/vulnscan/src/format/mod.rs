//! Documents written from a [`ScanResult`]: the terminal table, the Grype-style match document
//! that storage's VulnerabilityManifest carries as `payload`, and the interchange formats
//! ([`sarif`], [`cyclonedx`], [`openvex`]) in their own modules.

mod cyclonedx;
mod openvex;
mod sarif;

pub use cyclonedx::cyclonedx;
pub use openvex::openvex;
pub use sarif::sarif;

use crate::{Match, ScanResult, SCANNER_NAME, SCANNER_VERSION};
use kubescape_sbom::kubescape_image::Reference;
use kubescape_vulndb::severity::{self, Severity};
use kubescape_vulndb::Finding;
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

/// The matches grouped by vulnerability id, in the order of the result (worst first): SARIF
/// rules, CycloneDX vulnerabilities and VEX statements are per vulnerability, not per package.
fn by_vulnerability(r: &ScanResult) -> Vec<(&str, Vec<&Match>)> {
    let mut groups: Vec<(&str, Vec<&Match>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for m in &r.matches {
        let id = m.finding.id.as_str();
        let i = *index.entry(id).or_insert_with(|| {
            groups.push((id, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(m);
    }
    groups
}

/// The fixed versions of a finding as one phrase: several fixes come from several release
/// branches, any of which cures the installed version.
fn fix_phrase(f: &Finding) -> Option<String> {
    (!f.fixed_in.is_empty()).then(|| f.fixed_in.join(" or "))
}

/// What to do about one finding in one package: "Upgrade idna to 3.7".
fn recommendation(package: &str, f: &Finding) -> String {
    match fix_phrase(f) {
        Some(fix) => format!("Upgrade {package} to {fix}"),
        None => format!("No fix available for {package}"),
    }
}

/// The first non-empty summary of a group's findings (aliased records may lack one).
fn summary<'a>(ms: &[&'a Match]) -> &'a str {
    ms.iter()
        .map(|m| m.finding.summary.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// Every alias of a group's findings, once, in order.
fn aliases<'a>(ms: &[&'a Match]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for a in ms.iter().flat_map(|m| &m.finding.aliases) {
        if !out.contains(&a.as_str()) {
            out.push(a);
        }
    }
    out
}

/// The highest CVSS v3 base score among a group's severity entries.
fn cvss_score(ms: &[&Match]) -> Option<f64> {
    ms.iter()
        .flat_map(|m| &m.finding.severity)
        .filter_map(|s| severity::cvss3_base_score(s))
        .reduce(f64::max)
}

/// The worst severity of a group.
fn worst(ms: &[&Match]) -> Severity {
    ms.iter()
        .map(|m| m.severity)
        .max()
        .unwrap_or(Severity::Unknown)
}

/// The image as a package URL, `pkg:oci/<name>@<digest>`, when its manifest digest is known (a
/// root-filesystem directory has none). The name comes from a registry reference when the image
/// carries one (a repo digest or a full tag), else from the file the user named.
pub fn image_purl(r: &ScanResult, target: &str) -> Option<String> {
    let src = &r.catalog.source;
    let digest = src.manifest_digest.as_deref()?;
    // A bare OCI `ref.name` annotation ("v1") is a tag, not a reference: it would parse as a
    // Docker Hub repository of that name. What the user typed is a reference only when the
    // image came from a registry (else it is a path).
    let typed = (src.source_kind == "registry").then(|| {
        target
            .strip_prefix("docker://")
            .or_else(|| target.strip_prefix("registry:"))
            .unwrap_or(target)
    });
    let references: Vec<Reference> = src
        .repo_digests
        .iter()
        .chain(&src.tags)
        .map(String::as_str)
        .filter(|s| s.contains('/') || s.contains(':'))
        .chain(typed)
        .filter_map(|s| Reference::parse(s).ok())
        .collect();
    let bare_tag = src
        .tags
        .iter()
        .find(|t| !t.contains('/') && !t.contains(':'))
        .cloned();
    let (name, repository_url, tag) = match references.first() {
        Some(rf) => {
            let name = rf.repository.rsplit('/').next().unwrap_or("").to_string();
            // A repo digest names no tag; a tag of the same repository may.
            let tag = references
                .iter()
                .filter(|x| x.name() == rf.name())
                .find_map(|x| x.tag.clone())
                .or(bare_tag);
            (name, Some(rf.name()), tag)
        }
        None => (file_image_name(target), None, bare_tag),
    };
    Some(kubescape_sbom::purl::purl(
        "oci",
        None,
        &name.to_ascii_lowercase(),
        digest,
        &[
            ("repository_url", repository_url.as_deref().unwrap_or("")),
            ("tag", tag.as_deref().unwrap_or("")),
        ],
    ))
}

/// `oci-archive:/kit/apps.oci.tar:v1` -> `apps`: the file name without source prefix, OCI
/// reference or archive extensions.
fn file_image_name(target: &str) -> String {
    let mut s = target;
    for prefix in [
        "docker-archive:",
        "oci-archive:",
        "oci-dir:",
        "oci:",
        "dir:",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
            break;
        }
    }
    let s = s.trim_end_matches('/');
    let mut base = s.rsplit('/').next().unwrap_or(s);
    if let Some((file, _reference)) = base.split_once(':') {
        base = file;
    }
    loop {
        match base.rsplit_once('.') {
            Some((stem, ext))
                if !stem.is_empty()
                    && ["tar", "oci", "gz", "tgz", "zst", "docker"].contains(&ext) =>
            {
                base = stem
            }
            _ => break,
        }
    }
    if base.is_empty() {
        "image".to_string()
    } else {
        base.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::DbVersion;
    use kubescape_sbom::kubescape_image::ImageMetadata;
    use kubescape_sbom::{Catalog, Distro, Location, Package, PkgType};

    pub(crate) fn package(
        kind: PkgType,
        name: &str,
        version: &str,
        purl: &str,
        path: &str,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            kind,
            namespace: None,
            purl: purl.into(),
            cpes: vec![format!("cpe:2.3:a:{name}:{name}:{version}:*:*:*:*:*:*:*")],
            licenses: vec!["MIT".into()],
            source_name: None,
            source_version: None,
            arch: None,
            supplier: None,
            locations: vec![Location {
                path: path.into(),
                layer: Some("sha256:2222".into()),
            }],
            files: vec![],
            found_by: "test-cataloger",
            metadata: Value::Null,
            metadata_type: Default::default(),
        }
    }

    fn finding(id: &str, aliases: &[&str], fixed: &[&str], severity: &[&str]) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            package: String::new(),
            ecosystem: String::new(),
            installed: String::new(),
            fixed_in: fixed.iter().map(|s| s.to_string()).collect(),
            severity: severity.iter().map(|s| s.to_string()).collect(),
            summary: String::new(),
        }
    }

    /// An Alpine image from a registry: one critical CVE in two packages (one fixed, one not),
    /// one medium PyPA advisory, and a package without findings.
    pub(crate) fn sample() -> ScanResult {
        let digest = format!("sha256:{}", "1".repeat(64));
        let apk = |name: &str| {
            package(
                PkgType::Apk,
                name,
                "3.0.12-r0",
                &format!("pkg:apk/alpine/{name}@3.0.12-r0?arch=x86_64"),
                "/lib/apk/db/installed",
            )
        };
        let catalog = Catalog {
            source: ImageMetadata {
                user_input: "registry.example/app:1".into(),
                source_kind: "registry",
                tags: vec!["registry.example/app:1".into()],
                repo_digests: vec![format!("registry.example/app@{digest}")],
                manifest_digest: Some(digest),
                ..Default::default()
            },
            distro: Some(Distro {
                id: "alpine".into(),
                version_id: "3.19.1".into(),
                pretty_name: "Alpine Linux v3.19".into(),
                ..Default::default()
            }),
            packages: vec![
                apk("openssl"),
                apk("libcrypto3"),
                package(
                    PkgType::Python,
                    "idna",
                    "3.6",
                    "pkg:pypi/idna@3.6",
                    "/usr/lib/python3.11/site-packages/idna-3.6.dist-info/METADATA",
                ),
                package(
                    PkgType::Apk,
                    "busybox",
                    "1.36.1-r15",
                    "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64",
                    "/lib/apk/db/installed",
                ),
            ],
            file_count: 100,
        };
        let vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let cve =
            |fixed: &[&str]| finding("CVE-2024-0001", &["GHSA-aaaa-bbbb-cccc"], fixed, &[vector]);
        let mut pysec = finding("PYSEC-2024-60", &[], &["3.7"], &["MODERATE"]);
        pysec.summary = "Resource exhaustion in idna.encode".into();
        ScanResult {
            catalog,
            matches: vec![
                Match {
                    finding: cve(&["3.0.13-r0"]),
                    severity: Severity::Critical,
                    package: 0,
                },
                Match {
                    finding: cve(&[]),
                    severity: Severity::Critical,
                    package: 1,
                },
                Match {
                    finding: pysec,
                    severity: Severity::Medium,
                    package: 2,
                },
            ],
            db: DbVersion {
                schema: 1,
                built: "2024-05-01T00:00:00Z".into(),
                records: 3,
            },
        }
    }

    #[test]
    fn image_purls() {
        let mut r = sample();
        let digest = r.catalog.source.manifest_digest.clone().unwrap();
        assert_eq!(
            image_purl(&r, "registry.example/app:1").unwrap(),
            format!(
                "pkg:oci/app@{}?repository_url=registry.example%2Fapp&tag=1",
                digest.replace(':', "%3A")
            )
        );
        // An OCI layout file with only a `ref.name` annotation.
        r.catalog.source = ImageMetadata {
            source_kind: "oci-archive",
            tags: vec!["v1".into()],
            manifest_digest: Some(digest.clone()),
            ..Default::default()
        };
        assert_eq!(
            image_purl(&r, "/kit/Apps.oci.tar").unwrap(),
            format!("pkg:oci/apps@{}?tag=v1", digest.replace(':', "%3A"))
        );
        assert_eq!(file_image_name("oci-dir:/kit/apps.oci:v1"), "apps");
        r.catalog.source.manifest_digest = None;
        assert_eq!(image_purl(&r, "/kit/apps.oci.tar"), None);
    }

    #[test]
    fn groups_keep_the_result_order() {
        let r = sample();
        let g = by_vulnerability(&r);
        let ids: Vec<(&str, usize)> = g.iter().map(|(id, ms)| (*id, ms.len())).collect();
        assert_eq!(ids, [("CVE-2024-0001", 2), ("PYSEC-2024-60", 1)]);
    }
}
