//! `kubescape scan image <ref>`: catalog the image's packages and match them against the
//! offline vulnerability database.

use crate::sbom::{open_and_catalog, ImageSource};
use anyhow::{bail, Context, Result};
use clap::Args;
use kubescape_vulndb::severity::Severity;
use kubescape_vulndb::Database;
use kubescape_vulnscan::{format, Filter};
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
    /// Output: table (terminal), json (a VulnerabilityManifest payload), sarif (SARIF 2.1.0,
    /// for GitHub code scanning), cyclonedx-json (CycloneDX 1.6 with vulnerabilities) or
    /// openvex (an OpenVEX v0.2.0 document)
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

/// The values of `--format`.
const FORMATS: [&str; 5] = ["table", "json", "sarif", "cyclonedx-json", "openvex"];

pub fn run(a: ImageScanArgs) -> Result<ExitCode> {
    let threshold = match &a.severity_threshold {
        Some(t) => Some(Severity::parse_word(t).with_context(|| {
            format!("--severity-threshold {t:?}: use low, medium, high or critical")
        })?),
        None => None,
    };
    if !FORMATS.contains(&a.format.as_str()) {
        bail!(
            "--format {:?}: use table, json, sarif, cyclonedx-json or openvex",
            a.format
        );
    }
    // The database first: a missing one should not cost an image read.
    let db = Database::load(
        &crate::vulndb::db_path(a.db.as_ref()),
        a.db_max_age_hours
            .map(|h| std::time::Duration::from_secs(h * 3600)),
    )?;
    let started = std::time::Instant::now();
    let catalog = open_and_catalog(&a.source)?;
    let cataloged = started.elapsed();
    let matching = std::time::Instant::now();
    let filter = Filter {
        only_fixed: a.only_fixed,
        ignore: a.ignore.clone(),
    };
    let result = kubescape_vulnscan::scan(catalog, &db, &filter);
    let matched = matching.elapsed();
    let target = a.source.image.as_str();
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&format::manifest(&result, target))?,
        "sarif" => serde_json::to_string_pretty(&format::sarif(&result, target))?,
        "cyclonedx-json" => serde_json::to_string_pretty(&format::cyclonedx(&result, target))?,
        "openvex" => {
            serde_json::to_string_pretty(&format::openvex(&result, target, chrono::Utc::now()))?
        }
        _ => format::table(&result),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => println!("{text}"),
    }
    let counts = result.counts();
    let summary: Vec<String> = counts
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {}", s.as_str().to_lowercase()))
        .collect();
    eprintln!(
        "{}: {} packages, {} vulnerabilities ({}) in {:.2}s (catalog {:.2}s, match {:.1} ms); database built {}",
        a.source.image,
        result.catalog.packages.len(),
        result.matches.len(),
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
    let breach = threshold.is_some_and(|t| result.worst().is_some_and(|w| w >= t));
    Ok(if breach {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
