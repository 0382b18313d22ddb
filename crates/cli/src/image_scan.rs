//! `kubescape scan image <ref>`: catalog the image's packages and match them against the
//! offline vulnerability database.

use crate::sbom::{open_and_catalog, ImageSource};
use anyhow::{bail, Context, Result};
use clap::Args;
use kubescape_sbom::{Package as SbomPackage, PkgType};
use kubescape_vulndb::severity::{self, Severity};
use kubescape_vulndb::{Database, Finding, Package};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ImageScanArgs {
    #[command(flatten)]
    pub source: ImageSource,
    /// Vulnerability database [default: $KUBESCAPE_VULNDB or ~/.cache/kubescape/vulndb.json.gz]
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Refuse a database built longer ago than this many hours
    #[arg(long)]
    pub db_max_age_hours: Option<u64>,
    /// Output: table (terminal) or json (a VulnerabilityManifest payload)
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Write the output to this file
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at least this severe (low, medium, high, critical)
    #[arg(long)]
    pub severity_threshold: Option<String>,
    /// Only report vulnerabilities that have a fix
    #[arg(long)]
    pub only_fixed: bool,
    /// Vulnerability ids to leave out (comma-separated; aliases count)
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
}

/// The OSV ecosystem and lookup version of a cataloged package.
fn lookup_package(p: &SbomPackage, distro: Option<&str>) -> Option<Package> {
    let (ecosystem, version) = match p.kind {
        PkgType::Deb => (
            distro?.to_string(),
            p.source_version
                .clone()
                .unwrap_or_else(|| p.version.clone()),
        ),
        PkgType::Apk => (distro?.to_string(), p.version.clone()),
        PkgType::Rpm => return None,
        PkgType::Python => ("PyPI".to_string(), p.version.clone()),
        PkgType::Npm => ("npm".to_string(), p.version.clone()),
        PkgType::RustCrate => ("crates.io".to_string(), p.version.clone()),
        PkgType::GoModule => {
            if p.version == "(devel)" || p.version.is_empty() {
                return None;
            }
            // The Go toolchain's standard library: `go1.19.8` -> `v1.19.8`.
            let v = match p.version.strip_prefix("go") {
                Some(rest) => format!("v{rest}"),
                None => p.version.clone(),
            };
            ("Go".to_string(), v)
        }
        PkgType::Gem => ("RubyGems".to_string(), p.version.clone()),
        PkgType::Dotnet => ("NuGet".to_string(), p.version.clone()),
        // No version ordering of ours for these yet (Maven, Composer).
        PkgType::JavaArchive | PkgType::PhpComposer => return None,
    };
    Some(Package {
        ecosystem,
        name: p.name.clone(),
        version,
        source_name: p.source_name.clone(),
    })
}

struct Row<'a> {
    finding: Finding,
    severity: Severity,
    package: &'a SbomPackage,
}

pub fn run(a: ImageScanArgs) -> Result<ExitCode> {
    let threshold = match &a.severity_threshold {
        Some(t) => Some(Severity::parse_word(t).with_context(|| {
            format!("--severity-threshold {t:?}: use low, medium, high or critical")
        })?),
        None => None,
    };
    if !matches!(a.format.as_str(), "table" | "json") {
        bail!("--format {:?}: use table or json", a.format);
    }
    // The database first: a missing one should not cost an image read.
    let db = Database::load(
        &crate::vulndb::db_path(a.db.as_ref()),
        a.db_max_age_hours
            .map(|h| std::time::Duration::from_secs(h * 3600)),
    )?;
    let started = std::time::Instant::now();
    let catalog = open_and_catalog(&a.source)?;
    let distro = catalog
        .distro
        .as_ref()
        .and_then(|d| kubescape_vulndb::db::distro_ecosystem(&d.id, &d.version_id));
    let cataloged = started.elapsed();
    let matching = std::time::Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    for p in &catalog.packages {
        let Some(lookup) = lookup_package(p, distro.as_deref()) else {
            continue;
        };
        for finding in db.matches(&lookup) {
            let ignored = a
                .ignore
                .iter()
                .any(|i| *i == finding.id || finding.aliases.contains(i));
            if ignored || (a.only_fixed && finding.fixed_in.is_empty()) {
                continue;
            }
            let severity = severity::of(&finding.severity);
            rows.push(Row {
                finding,
                severity,
                package: p,
            });
        }
    }
    let matched = matching.elapsed();
    rows.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.finding.id.cmp(&y.finding.id))
            .then_with(|| x.package.name.cmp(&y.package.name))
    });
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&manifest(&a.source.image, &catalog, &db, &rows))?,
        _ => table(&rows),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => println!("{text}"),
    }
    let mut counts: std::collections::BTreeMap<Severity, usize> = Default::default();
    for r in &rows {
        *counts.entry(r.severity).or_default() += 1;
    }
    let summary: Vec<String> = counts
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {}", s.as_str().to_lowercase()))
        .collect();
    eprintln!(
        "{}: {} packages, {} vulnerabilities ({}) in {:.2}s (catalog {:.2}s, match {:.1} ms); database built {}",
        a.source.image,
        catalog.packages.len(),
        rows.len(),
        if summary.is_empty() {
            "none".to_string()
        } else {
            summary.join(", ")
        },
        started.elapsed().as_secs_f64(),
        cataloged.as_secs_f64(),
        matched.as_secs_f64() * 1000.0,
        db.metadata.built
    );
    let breach = threshold.is_some_and(|t| rows.iter().any(|r| r.severity >= t));
    Ok(if breach {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn table(rows: &[Row]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN", "TYPE"]);
    for r in rows {
        t.add_row([
            r.severity.as_str().to_string(),
            r.finding.id.clone(),
            r.package.name.clone(),
            r.package.version.clone(),
            r.finding.fixed_in.join(", "),
            r.package.kind.syft_type().to_string(),
        ]);
    }
    if rows.is_empty() {
        return "No vulnerabilities found".to_string();
    }
    t.to_string()
}

/// A Grype-style match document, as storage's VulnerabilityManifest `payload` holds.
fn manifest(target: &str, catalog: &kubescape_sbom::Catalog, db: &Database, rows: &[Row]) -> Value {
    let matches: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "vulnerability": {
                    "id": r.finding.id,
                    "dataSource": format!("https://osv.dev/vulnerability/{}", r.finding.id),
                    "namespace": r.finding.ecosystem,
                    "severity": r.severity.as_str(),
                    "description": r.finding.summary,
                    "cvss": r.finding.severity.iter().filter(|s| s.starts_with("CVSS:")).map(|v| json!({"vector": v, "metrics": {"baseScore": severity::cvss3_base_score(v)}})).collect::<Vec<_>>(),
                    "fix": {"versions": r.finding.fixed_in, "state": if r.finding.fixed_in.is_empty() { "not-fixed" } else { "fixed" }},
                },
                "relatedVulnerabilities": r.finding.aliases.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
                "matchDetails": [{"type": "exact-direct-match", "matcher": "kubescape-osv-matcher",
                    "searchedBy": {"ecosystem": r.finding.ecosystem, "package": r.finding.package, "version": r.finding.installed}}],
                "artifact": {
                    "name": r.package.name,
                    "version": r.package.version,
                    "type": r.package.kind.syft_type(),
                    "purl": r.package.purl,
                    "cpes": r.package.cpes,
                    "locations": r.package.locations.iter().map(|l| json!({"path": l.path})).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    json!({
        "matches": matches,
        "source": {"type": "image", "target": {"userInput": target, "imageID": catalog.source.image_id, "manifestDigest": catalog.source.manifest_digest}},
        "distro": catalog.distro.as_ref().map(|d| json!({"name": d.id, "version": d.version_id})),
        "descriptor": {"name": "kubescape", "version": env!("CARGO_PKG_VERSION"),
            "db": {"built": db.metadata.built, "schemaVersion": db.metadata.schema_version, "records": db.metadata.records}},
    })
}
