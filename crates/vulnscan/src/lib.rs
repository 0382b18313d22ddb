//! Image vulnerability scanning: the packages of a [`Catalog`] matched against the offline
//! [`Database`], and the documents written from the result.
//!
//! `kubescape scan image` and the kubevuln service both call [`scan`]; [`DbVersion`] identifies
//! the database a result came from, so a stored result can be reused while the scanner and the
//! database are unchanged (see [`is_current`]).

pub mod format;

use kubescape_sbom::{Catalog, Package as SbomPackage, PkgType};
use kubescape_vulndb::severity::{self, Severity};
use kubescape_vulndb::{Database, Finding, Package};

/// Name and version of this matcher, as written into results.
pub const SCANNER_NAME: &str = "kubescape-rs";
pub const SCANNER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which findings to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Leave out vulnerabilities without a fixed version.
    pub only_fixed: bool,
    /// Vulnerability ids to leave out; an alias of a finding counts as its id.
    pub ignore: Vec<String>,
}

impl Filter {
    fn keeps(&self, f: &Finding) -> bool {
        let ignored = self
            .ignore
            .iter()
            .any(|i| *i == f.id || f.aliases.contains(i));
        let unfixed = f.fixed_in.is_empty();
        let dropped_unfixed = self.only_fixed && unfixed;
        !ignored && !dropped_unfixed
    }
}

/// One vulnerability of one cataloged package.
#[derive(Debug, Clone)]
pub struct Match {
    pub finding: Finding,
    pub severity: Severity,
    /// Index into the catalog's packages.
    pub package: usize,
}

/// The database a result was matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbVersion {
    pub schema: u32,
    /// Build time of the database (RFC 3339).
    pub built: String,
    pub records: usize,
}

impl DbVersion {
    pub fn of(db: &Database) -> Self {
        DbVersion {
            schema: db.metadata.schema_version,
            built: db.metadata.built.clone(),
            records: db.metadata.records,
        }
    }

    /// The `databaseVersion` written into results: schema and build time, which together
    /// change whenever the records can have changed.
    pub fn label(&self) -> String {
        format!("v{}-{}", self.schema, self.built)
    }
}

/// A finished scan: the catalog it was run on and its findings, most severe first.
pub struct ScanResult {
    pub catalog: Catalog,
    pub matches: Vec<Match>,
    pub db: DbVersion,
}

impl ScanResult {
    pub fn package(&self, m: &Match) -> &SbomPackage {
        &self.catalog.packages[m.package]
    }

    /// Finding counts per severity.
    pub fn counts(&self) -> std::collections::BTreeMap<Severity, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for m in &self.matches {
            *counts.entry(m.severity).or_default() += 1;
        }
        counts
    }

    /// The most severe finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        self.matches.iter().map(|m| m.severity).max()
    }
}

/// Matches every package of the catalog; findings sorted by severity (worst first), id, package.
pub fn scan(catalog: Catalog, db: &Database, filter: &Filter) -> ScanResult {
    let distro = catalog
        .distro
        .as_ref()
        .and_then(|d| kubescape_vulndb::db::distro_ecosystem(&d.id, &d.version_id));
    let mut matches = Vec::new();
    for (i, p) in catalog.packages.iter().enumerate() {
        let Some(lookup) = lookup_package(p, distro.as_deref()) else {
            continue;
        };
        for finding in db.matches(&lookup) {
            if filter.keeps(&finding) {
                let severity = severity::of(&finding.severity);
                matches.push(Match {
                    finding,
                    severity,
                    package: i,
                });
            }
        }
    }
    matches.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.finding.id.cmp(&y.finding.id))
            .then_with(|| {
                catalog.packages[x.package]
                    .name
                    .cmp(&catalog.packages[y.package].name)
            })
    });
    ScanResult {
        catalog,
        matches,
        db: DbVersion::of(db),
    }
}

/// The OSV ecosystem, name and version under which a cataloged package's advisories are filed.
/// `None` for packages no advisory source covers (OS packages of a distro without OSV records).
pub fn lookup_package(p: &SbomPackage, distro: Option<&str>) -> Option<Package> {
    let (ecosystem, name, version) = match p.kind {
        // Debian files advisories under the source package and its version.
        PkgType::Deb => (
            distro?.to_string(),
            p.name.clone(),
            p.source_version
                .clone()
                .unwrap_or_else(|| p.version.clone()),
        ),
        PkgType::Apk => (distro?.to_string(), p.name.clone(), p.version.clone()),
        // Rocky and Alma records name binary packages and `[epoch:]version-release`.
        PkgType::Rpm => (distro?.to_string(), p.name.clone(), p.version.clone()),
        PkgType::Python => ("PyPI".into(), p.name.clone(), p.version.clone()),
        PkgType::Npm => ("npm".into(), p.name.clone(), p.version.clone()),
        PkgType::RustCrate => ("crates.io".into(), p.name.clone(), p.version.clone()),
        PkgType::GoModule => {
            if p.version == "(devel)" || p.version.is_empty() {
                return None;
            }
            // The Go toolchain's standard library: `go1.19.8` -> `v1.19.8`.
            let v = match p.version.strip_prefix("go") {
                Some(rest) => format!("v{rest}"),
                None => p.version.clone(),
            };
            ("Go".into(), p.name.clone(), v)
        }
        PkgType::Gem => ("RubyGems".into(), p.name.clone(), p.version.clone()),
        PkgType::Dotnet => ("NuGet".into(), p.name.clone(), p.version.clone()),
        // OSV names Maven packages `groupId:artifactId`; without a group there is no name to
        // look up.
        PkgType::JavaArchive => {
            let group = p.namespace.as_deref().filter(|g| !g.is_empty())?;
            (
                "Maven".into(),
                format!("{group}:{}", p.name),
                p.version.clone(),
            )
        }
        PkgType::PhpComposer => ("Packagist".into(), p.name.clone(), p.version.clone()),
    };
    Some(Package {
        ecosystem,
        name,
        version,
        source_name: p.source_name.clone(),
    })
}

/// Whether a stored result (its `spec.metadata.tool`) came from this scanner and this database,
/// so it can be served again instead of scanning the image anew.
pub fn is_current(tool: &serde_json::Value, db: &DbVersion) -> bool {
    tool.get("name").and_then(|v| v.as_str()) == Some(SCANNER_NAME)
        && tool.get("version").and_then(|v| v.as_str()) == Some(SCANNER_VERSION)
        && tool.get("databaseVersion").and_then(|v| v.as_str()) == Some(db.label().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubescape_sbom::PkgType;
    use serde_json::json;

    fn osv(
        id: &str,
        ecosystem: &str,
        name: &str,
        introduced: &str,
        fixed: &str,
    ) -> kubescape_vulndb::Advisory {
        kubescape_vulndb::import::osv(&json!({
            "id": id,
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            }],
        }))
        .unwrap()
    }

    /// RPM packages of a Rocky Linux image are looked up in that release's records, compared
    /// with RPM ordering (epoch, release).
    #[test]
    fn rocky_rpm_packages_match_their_release() {
        let db = Database::new(
            vec![
                osv(
                    "RLSA-2023:5249",
                    "Rocky Linux:9",
                    "openssl-libs",
                    "0",
                    "1:3.0.7-24.el9",
                ),
                osv(
                    "RLSA-2023:0001",
                    "Rocky Linux:8",
                    "openssl-libs",
                    "0",
                    "1:9.9.9-1.el8",
                ),
            ],
            vec![],
        );
        let rpm = |version: &str| {
            let mut p = format::tests::package(
                PkgType::Rpm,
                "openssl-libs",
                version,
                "pkg:rpm/rocky/openssl-libs",
                "/var/lib/rpm/rpmdb.sqlite",
            );
            p.source_name = Some("openssl".into());
            p
        };
        let mut catalog = format::tests::sample().catalog;
        catalog.distro = Some(kubescape_sbom::Distro {
            id: "rocky".into(),
            version_id: "9.2".into(),
            ..Default::default()
        });
        catalog.packages = vec![
            rpm("1:3.0.7-18.el9"),
            rpm("1:3.0.7-24.el9"),
            rpm("1:3.0.7-24.el9_2.1"),
        ];
        let r = scan(catalog, &db, &Filter::default());
        let hits: Vec<(usize, &str)> = r
            .matches
            .iter()
            .map(|m| (m.package, m.finding.id.as_str()))
            .collect();
        assert_eq!(hits, [(0, "RLSA-2023:5249")]);
    }

    /// Java archives are looked up as `groupId:artifactId` in Maven's ordering, Composer
    /// packages in Packagist's (names case-insensitive); a version at the fix is clean.
    #[test]
    fn maven_and_composer_packages_match_by_their_orderings() {
        let db = Database::new(
            vec![
                osv(
                    "GHSA-jfh8-c2jp-5v3q",
                    "Maven",
                    "org.apache.logging.log4j:log4j-core",
                    "2.0-beta9",
                    "2.15.0",
                ),
                osv(
                    "GHSA-xxxx-monolog",
                    "Packagist",
                    "Monolog/Monolog",
                    "1.0.0",
                    "1.25.5",
                ),
            ],
            vec![],
        );
        let mut log4j = format::tests::package(
            PkgType::JavaArchive,
            "log4j-core",
            "2.14.1",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "/app/lib/log4j-core-2.14.1.jar",
        );
        log4j.namespace = Some("org.apache.logging.log4j".into());
        let mut patched = log4j.clone();
        patched.version = "2.15.0".into();
        let mut beta = log4j.clone();
        beta.version = "2.0-beta9".into();
        let mut no_group = log4j.clone();
        no_group.namespace = None;
        let monolog = format::tests::package(
            PkgType::PhpComposer,
            "monolog/monolog",
            "1.25.4",
            "pkg:composer/monolog/monolog@1.25.4",
            "/app/vendor/composer/installed.json",
        );
        let mut monolog_rc = monolog.clone();
        monolog_rc.version = "1.25.5-RC1".into();
        let mut catalog = format::tests::sample().catalog;
        catalog.distro = None;
        catalog.packages = vec![log4j, patched, beta, no_group, monolog, monolog_rc];
        let r = scan(catalog, &db, &Filter::default());
        let hits: std::collections::BTreeSet<(usize, &str)> = r
            .matches
            .iter()
            .map(|m| (m.package, m.finding.id.as_str()))
            .collect();
        // 2.15.0 is the fix, a group-less jar has no Maven name, 1.25.5-RC1 precedes 1.25.5.
        let want: std::collections::BTreeSet<(usize, &str)> = [
            (0, "GHSA-jfh8-c2jp-5v3q"),
            (2, "GHSA-jfh8-c2jp-5v3q"),
            (4, "GHSA-xxxx-monolog"),
            (5, "GHSA-xxxx-monolog"),
        ]
        .into_iter()
        .collect();
        assert_eq!(hits, want);
    }
}
