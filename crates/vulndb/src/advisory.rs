//! The record model: OSV's, which every source is converted to.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// CVSS vectors (`CVSS:3.1/AV:N/...`) or a severity word from the source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub published: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub modified: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// Which import it came from (`osv`, `alpine-secdb`, `debian-tracker`).
    pub source: String,
    pub affected: Vec<Affected>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem, with the distro release where there is one (`PyPI`, `Go`, `Alpine:v3.10`).
    pub ecosystem: String,
    /// Package name as the ecosystem spells it (normalised for PyPI and Packagist).
    pub package: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT` (git ranges cannot be matched against package versions).
    pub kind: String,
    pub events: Vec<RangeEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl RangeEvent {
    pub fn version(&self) -> &str {
        match self {
            RangeEvent::Introduced(v)
            | RangeEvent::Fixed(v)
            | RangeEvent::LastAffected(v)
            | RangeEvent::Limit(v) => v,
        }
    }
}

/// The name a package is indexed and looked up by. PyPI names compare case-insensitively with
/// `-`, `_` and `.` equivalent (PEP 503); Packagist `vendor/package` names are case-insensitive.
/// Everything else is kept as published, Maven's `groupId:artifactId` included (Maven
/// coordinates are case-sensitive).
pub fn normalize_package(ecosystem: &str, name: &str) -> String {
    if ecosystem == "Packagist" {
        name.to_ascii_lowercase()
    } else if ecosystem == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut last_sep = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !last_sep {
                    out.push('-');
                }
                last_sep = true;
            } else {
                out.push(c.to_ascii_lowercase());
                last_sep = false;
            }
        }
        out
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_package;

    #[test]
    fn package_names_per_ecosystem() {
        assert_eq!(
            normalize_package("PyPI", "Zope.Interface"),
            "zope-interface"
        );
        assert_eq!(normalize_package("PyPI", "a__b"), "a-b");
        assert_eq!(
            normalize_package("Packagist", "Symfony/Http-Kernel"),
            "symfony/http-kernel"
        );
        assert_eq!(
            normalize_package("Maven", "org.apache.logging.log4j:log4j-core"),
            "org.apache.logging.log4j:log4j-core"
        );
        assert_eq!(
            normalize_package("Maven", "com.Example:MyLib"),
            "com.Example:MyLib",
            "Maven coordinates are case-sensitive"
        );
        assert_eq!(normalize_package("npm", "@Scope/Pkg"), "@Scope/Pkg");
    }
}
