//! The on-disk database and matching.
//!
//! Format: one gzip-compressed JSON document (metadata + records). It is written to a temporary
//! file, fsync'd and renamed over the old one, so a reader sees the old database or the new one,
//! never half of either. At load, records are indexed by (ecosystem, package).

use crate::advisory::{normalize_package, Advisory, RangeEvent};
use crate::version::{compare, Ecosystem};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub schema_version: u32,
    /// When the database was built (RFC 3339).
    pub built: String,
    pub sources: Vec<SourceInfo>,
    pub records: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    pub location: String,
    pub records: usize,
}

#[derive(Serialize, Deserialize)]
struct File {
    metadata: Metadata,
    advisories: Vec<Advisory>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "no vulnerability database at {0}: create one with `kubescape vulndb import <records>` or `kubescape vulndb update`"
    )]
    Missing(PathBuf),
    #[error("the vulnerability database {path} is unreadable ({reason}); rebuild it with `kubescape vulndb import`")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the vulnerability database {path} has schema {found}, this program reads schema {SCHEMA_VERSION}; rebuild it")]
    Schema { path: PathBuf, found: u32 },
    #[error("the vulnerability database {path} was built {built}, more than {max_age_hours} h ago; import fresh records with `kubescape vulndb import` (or raise the allowed age)")]
    Stale {
        path: PathBuf,
        built: String,
        max_age_hours: u64,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Database {
    pub metadata: Metadata,
    advisories: Vec<Advisory>,
    index: HashMap<(String, String), Vec<(u32, u16)>>,
}

/// One installed package to look up.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// OSV ecosystem, with the distro release for OS packages (`Debian:12`, `Alpine:v3.10`).
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// For OS packages: the source package (dpkg `Source`, apk origin), which distro advisories
    /// are filed under.
    pub source_name: Option<String>,
}

/// One vulnerability of one package; records that are aliases of each other are one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    pub aliases: Vec<String>,
    pub package: String,
    pub ecosystem: String,
    pub installed: String,
    pub fixed_in: Vec<String>,
    pub severity: Vec<String>,
    pub summary: String,
}

impl Database {
    pub fn new(advisories: Vec<Advisory>, sources: Vec<SourceInfo>) -> Self {
        let metadata = Metadata {
            schema_version: SCHEMA_VERSION,
            built: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            records: advisories.len(),
            sources,
        };
        Self::indexed(metadata, advisories)
    }

    fn indexed(metadata: Metadata, advisories: Vec<Advisory>) -> Self {
        let mut index: HashMap<(String, String), Vec<(u32, u16)>> = HashMap::new();
        for (i, a) in advisories.iter().enumerate() {
            if a.withdrawn {
                continue;
            }
            for (j, aff) in a.affected.iter().enumerate() {
                index
                    .entry((aff.ecosystem.clone(), aff.package.clone()))
                    .or_default()
                    .push((i as u32, j as u16));
            }
        }
        Database {
            metadata,
            advisories,
            index,
        }
    }

    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    /// Writes atomically: temporary file, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), DbError> {
        let werr = |source| DbError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(werr)?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(werr)?;
        let mut gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::new(6),
        );
        #[derive(Serialize)]
        struct Out<'a> {
            metadata: &'a Metadata,
            advisories: &'a [Advisory],
        }
        serde_json::to_writer(
            &mut gz,
            &Out {
                metadata: &self.metadata,
                advisories: &self.advisories,
            },
        )
        .map_err(|e| werr(std::io::Error::other(e)))?;
        let buf = gz.finish().map_err(werr)?;
        let file = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(werr)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Loads the database; `max_age` refuses one built longer ago.
    pub fn load(path: &Path, max_age: Option<std::time::Duration>) -> Result<Self, DbError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DbError::Missing(path.to_path_buf()))
            }
            Err(e) => {
                return Err(DbError::Corrupt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::io::BufReader::new(file))
            .read_to_end(&mut text)
            .map_err(|e| DbError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("not a gzip stream: {e}"),
            })?;
        let parsed: File = serde_json::from_slice(&text).map_err(|e| DbError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if parsed.metadata.schema_version != SCHEMA_VERSION {
            return Err(DbError::Schema {
                path: path.to_path_buf(),
                found: parsed.metadata.schema_version,
            });
        }
        if let Some(max) = max_age {
            let built =
                chrono::DateTime::parse_from_rfc3339(&parsed.metadata.built).map_err(|e| {
                    DbError::Corrupt {
                        path: path.to_path_buf(),
                        reason: format!("build time: {e}"),
                    }
                })?;
            let age = chrono::Utc::now().signed_duration_since(built.with_timezone(&chrono::Utc));
            if age.num_seconds() > max.as_secs() as i64 {
                return Err(DbError::Stale {
                    path: path.to_path_buf(),
                    built: parsed.metadata.built,
                    max_age_hours: max.as_secs() / 3600,
                });
            }
        }
        Ok(Self::indexed(parsed.metadata, parsed.advisories))
    }

    /// The vulnerabilities affecting one package.
    pub fn matches(&self, pkg: &Package) -> Vec<Finding> {
        let Ok(scheme) = pkg.ecosystem.parse::<Ecosystem>() else {
            return Vec::new();
        };
        let mut names = vec![normalize_package(&pkg.ecosystem, &pkg.name)];
        if let Some(src) = pkg.source_name.as_ref().filter(|s| **s != pkg.name) {
            names.push(src.clone());
        }
        let mut hits: Vec<(&Advisory, Vec<String>)> = Vec::new();
        for name in &names {
            let Some(entries) = self.index.get(&(pkg.ecosystem.clone(), name.clone())) else {
                continue;
            };
            for &(i, j) in entries {
                let adv = &self.advisories[i as usize];
                let aff = &adv.affected[j as usize];
                if let Some(fixed) = affected_by(scheme, aff, &pkg.version) {
                    match hits.iter_mut().find(|(a, _)| a.id == adv.id) {
                        Some((_, f)) => f.extend(fixed),
                        None => hits.push((adv, fixed)),
                    }
                }
            }
        }
        merge_aliases(pkg, hits)
    }
}

/// Whether `version` is in the affected entry; `Some(fix versions)` when it is.
pub fn affected_by(
    scheme: Ecosystem,
    aff: &crate::advisory::Affected,
    version: &str,
) -> Option<Vec<String>> {
    if aff.versions.iter().any(|v| v == version) {
        return Some(fixes_above(scheme, aff, version));
    }
    let cmp = |a: &str, b: &str| compare(scheme, a, b).ok();
    for range in aff.ranges.iter().filter(|r| r.kind != "GIT") {
        // A range with a version this scheme cannot read (Alpine's secdb has a few such typos)
        // cannot be evaluated; it is skipped rather than guessed.
        if range
            .events
            .iter()
            .any(|e| e.version() != "0" && compare(scheme, e.version(), e.version()).is_err())
        {
            continue;
        }
        // Events in version order ("0" first); the state after the last event at or below the
        // version is the answer.
        let mut events: Vec<&RangeEvent> = range.events.iter().collect();
        let key = |e: &RangeEvent| e.version().to_string();
        events.sort_by(|a, b| {
            let (va, vb) = (key(a), key(b));
            match (va.as_str(), vb.as_str()) {
                ("0", "0") => Ordering::Equal,
                ("0", _) => Ordering::Less,
                (_, "0") => Ordering::Greater,
                _ => cmp(&va, &vb).unwrap_or(Ordering::Equal),
            }
        });
        let mut affected = false;
        for e in events {
            let at_or_above =
                |v: &str| v == "0" || cmp(version, v).is_some_and(|o| o != Ordering::Less);
            match e {
                RangeEvent::Introduced(v) if at_or_above(v) => affected = true,
                RangeEvent::Fixed(v) | RangeEvent::Limit(v) if at_or_above(v) => affected = false,
                RangeEvent::LastAffected(v) if cmp(version, v) == Some(Ordering::Greater) => {
                    affected = false
                }
                _ => {}
            }
        }
        if affected {
            return Some(fixes_above(scheme, aff, version));
        }
    }
    None
}

fn fixes_above(scheme: Ecosystem, aff: &crate::advisory::Affected, version: &str) -> Vec<String> {
    aff.ranges
        .iter()
        .flat_map(|r| r.events.iter())
        .filter_map(|e| match e {
            RangeEvent::Fixed(v)
                if compare(scheme, v, version).is_ok_and(|o| o == Ordering::Greater) =>
            {
                Some(v.clone())
            }
            _ => None,
        })
        .collect()
}

/// Records that name each other (CVE, GHSA, PYSEC, GO ids) become one finding.
fn merge_aliases(pkg: &Package, hits: Vec<(&Advisory, Vec<String>)>) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for (adv, fixed) in hits {
        let ids: Vec<&String> = std::iter::once(&adv.id).chain(adv.aliases.iter()).collect();
        match findings
            .iter_mut()
            .find(|f| ids.iter().any(|id| **id == f.id || f.aliases.contains(id)))
        {
            Some(f) => {
                for id in ids {
                    if *id != f.id && !f.aliases.contains(id) {
                        f.aliases.push(id.clone());
                    }
                }
                for v in fixed {
                    if !f.fixed_in.contains(&v) {
                        f.fixed_in.push(v);
                    }
                }
                for s in &adv.severity {
                    if !f.severity.contains(s) {
                        f.severity.push(s.clone());
                    }
                }
                if f.summary.is_empty() {
                    f.summary = adv.summary.clone();
                }
            }
            None => {
                let mut fixed_in = Vec::new();
                for v in fixed {
                    if !fixed_in.contains(&v) {
                        fixed_in.push(v);
                    }
                }
                findings.push(Finding {
                    id: adv.id.clone(),
                    aliases: adv.aliases.clone(),
                    package: pkg.name.clone(),
                    ecosystem: pkg.ecosystem.clone(),
                    installed: pkg.version.clone(),
                    fixed_in,
                    severity: adv.severity.clone(),
                    summary: adv.summary.clone(),
                })
            }
        }
    }
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    findings
}

/// The OSV ecosystem of an image's OS packages, from os-release `ID` and `VERSION_ID`.
pub fn distro_ecosystem(id: &str, version_id: &str) -> Option<String> {
    match id {
        "alpine" => {
            let mut parts = version_id.split('.');
            Some(format!("Alpine:v{}.{}", parts.next()?, parts.next()?))
        }
        "debian" => Some(format!("Debian:{}", version_id.split('.').next()?)),
        "ubuntu" => Some(format!("Ubuntu:{version_id}")),
        // Rocky and Alma publish OSV records per major release, under binary package names.
        "rocky" => Some(format!("Rocky Linux:{}", version_id.split('.').next()?)),
        "almalinux" => Some(format!("AlmaLinux:{}", version_id.split('.').next()?)),
        _ => None,
    }
}

/// Writes a database to `w` as JSON lines (one record per line), for `vulndb export`.
pub fn export_jsonl(db: &Database, w: &mut dyn Write) -> std::io::Result<()> {
    for a in db.advisories() {
        serde_json::to_writer(&mut *w, a)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{Affected, Range};

    /// An installed package without a source package.
    fn package(eco: &str, name: &str, version: &str) -> Package {
        Package {
            ecosystem: eco.into(),
            name: name.into(),
            version: version.into(),
            source_name: None,
        }
    }

    fn adv(id: &str, aliases: &[&str], eco: &str, pkg: &str, events: Vec<RangeEvent>) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            summary: String::new(),
            severity: vec![],
            published: String::new(),
            modified: String::new(),
            withdrawn: false,
            source: "test".into(),
            affected: vec![Affected {
                ecosystem: eco.into(),
                package: pkg.into(),
                ranges: vec![Range {
                    kind: "ECOSYSTEM".into(),
                    events,
                }],
                versions: vec![],
            }],
        }
    }

    #[test]
    fn ranges_aliases_and_distro_releases() {
        use RangeEvent::*;
        let db = Database::new(
            vec![
                adv(
                    "PYSEC-1",
                    &["CVE-1"],
                    "PyPI",
                    "requests",
                    vec![Introduced("0".into()), Fixed("2.20.0".into())],
                ),
                adv(
                    "GHSA-1",
                    &["CVE-1"],
                    "PyPI",
                    "requests",
                    vec![Introduced("2.0".into()), Fixed("2.20.0".into())],
                ),
                adv(
                    "GO-1",
                    &[],
                    "Go",
                    "example.com/m",
                    vec![
                        Introduced("1.2.0".into()),
                        Fixed("1.2.5".into()),
                        Introduced("1.3.0".into()),
                        LastAffected("1.3.2".into()),
                    ],
                ),
                adv(
                    "CVE-2",
                    &[],
                    "Alpine:v3.10",
                    "openssl",
                    vec![Introduced("0".into()), Fixed("1.1.1d-r0".into())],
                ),
            ],
            vec![],
        );
        let m = |eco: &str, name: &str, v: &str| db.matches(&package(eco, name, v));
        let f = m("PyPI", "Requests", "2.19.1");
        assert_eq!(f.len(), 1, "aliases merged: {f:?}");
        assert_eq!(f[0].fixed_in, ["2.20.0"]);
        assert!(m("PyPI", "requests", "2.20.0").is_empty());
        assert_eq!(m("Go", "example.com/m", "v1.2.4").len(), 1);
        assert!(m("Go", "example.com/m", "v1.2.5").is_empty());
        assert_eq!(m("Go", "example.com/m", "v1.3.2").len(), 1);
        assert!(m("Go", "example.com/m", "v1.3.3").is_empty());
        assert_eq!(m("Alpine:v3.10", "openssl", "1.1.1c-r0").len(), 1);
        assert!(
            m("Alpine:v3.11", "openssl", "1.1.1c-r0").is_empty(),
            "another release's records do not apply"
        );
        assert_eq!(
            distro_ecosystem("alpine", "3.10.5").as_deref(),
            Some("Alpine:v3.10")
        );
        assert_eq!(
            distro_ecosystem("debian", "12").as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            distro_ecosystem("rocky", "9.3").as_deref(),
            Some("Rocky Linux:9")
        );
        assert_eq!(
            distro_ecosystem("almalinux", "8.10").as_deref(),
            Some("AlmaLinux:8")
        );
    }

    #[test]
    fn maven_and_packagist_names_and_versions() {
        use RangeEvent::*;
        let db = Database::new(
            vec![
                adv(
                    "GHSA-jfh8-c2jp-5v3q",
                    &["CVE-2021-44228"],
                    "Maven",
                    "org.apache.logging.log4j:log4j-core",
                    vec![Introduced("2.0-beta9".into()), Fixed("2.15.0".into())],
                ),
                adv(
                    "GHSA-p",
                    &[],
                    "Packagist",
                    // As imported: normalize_package lowercased it.
                    &normalize_package("Packagist", "Symfony/Http-Kernel"),
                    vec![Introduced("4.0.0".into()), Fixed("4.4.13".into())],
                ),
            ],
            vec![],
        );
        let m = |eco: &str, name: &str, v: &str| db.matches(&package(eco, name, v)).len();
        let log4j = "org.apache.logging.log4j:log4j-core";
        assert_eq!(m("Maven", log4j, "2.14.1"), 1);
        assert_eq!(
            m("Maven", log4j, "2.15.0-rc1"),
            1,
            "a release candidate is older"
        );
        assert_eq!(
            m("Maven", log4j, "2.15.0.RELEASE"),
            0,
            "RELEASE is the release"
        );
        assert_eq!(m("Maven", log4j, "2.0-beta8"), 0);
        assert_eq!(
            m("Maven", "org.apache.logging.log4j:Log4j-Core", "2.14.1"),
            0
        );
        assert_eq!(m("Packagist", "Symfony/Http-Kernel", "v4.4.12"), 1);
        assert_eq!(m("Packagist", "symfony/http-kernel", "4.4.13"), 0);
        assert_eq!(m("Packagist", "symfony/http-kernel", "4.4.13-RC1"), 1);
    }
}
