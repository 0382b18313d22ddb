//! The package inventory shared by catalogers and formats.

use std::borrow::Cow;

use serde::Serialize;

/// Package ecosystems. `syft_type` / `purl_type` give the names used by Syft JSON and purls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum PkgType {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    GoModule,
    JavaArchive,
    RustCrate,
    Gem,
    PhpComposer,
    Dotnet,
}

impl PkgType {
    pub fn syft_type(self) -> &'static str {
        match self {
            PkgType::Deb => "deb",
            PkgType::Apk => "apk",
            PkgType::Rpm => "rpm",
            PkgType::Python => "python",
            PkgType::Npm => "npm",
            PkgType::GoModule => "go-module",
            PkgType::JavaArchive => "java-archive",
            PkgType::RustCrate => "rust-crate",
            PkgType::Gem => "gem",
            PkgType::PhpComposer => "php-composer",
            PkgType::Dotnet => "dotnet",
        }
    }

    pub fn purl_type(self) -> &'static str {
        match self {
            PkgType::Deb => "deb",
            PkgType::Apk => "apk",
            PkgType::Rpm => "rpm",
            PkgType::Python => "pypi",
            PkgType::Npm => "npm",
            PkgType::GoModule => "golang",
            PkgType::JavaArchive => "maven",
            PkgType::RustCrate => "cargo",
            PkgType::Gem => "gem",
            PkgType::PhpComposer => "composer",
            PkgType::Dotnet => "nuget",
        }
    }

    pub fn language(self) -> &'static str {
        match self {
            PkgType::Deb | PkgType::Apk | PkgType::Rpm => "",
            PkgType::Python => "python",
            PkgType::Npm => "javascript",
            PkgType::GoModule => "go",
            PkgType::JavaArchive => "java",
            PkgType::RustCrate => "rust",
            PkgType::Gem => "ruby",
            PkgType::PhpComposer => "php",
            PkgType::Dotnet => "dotnet",
        }
    }

    pub fn is_os(self) -> bool {
        matches!(self, PkgType::Deb | PkgType::Apk | PkgType::Rpm)
    }
}

/// Where a package was found: the file that declares it and the layer that file came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    /// Layer digest (`sha256:` of the uncompressed layer, i.e. the diff_id, when known)
    pub layer: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub kind: PkgType,
    /// Group / namespace (Maven groupId, Go module path prefix is kept in `name`)
    pub namespace: Option<String>,
    pub purl: String,
    pub cpes: Vec<String>,
    /// License strings as declared by the package
    pub licenses: Vec<String>,
    /// Source package name and version (dpkg `Source`, apk origin, rpm source rpm)
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    pub arch: Option<String>,
    pub supplier: Option<String>,
    pub locations: Vec<Location>,
    /// Files owned by the package (from the package manager's records)
    pub files: Vec<String>,
    /// Name of the cataloger that found it ([`crate::catalogers::NAMES`]), or
    /// [`crate::format::SYFT_JSON_FOUND_BY`] for a package read from someone else's Syft JSON
    pub found_by: &'static str,
    /// Ecosystem-specific facts for Syft JSON's `metadata`
    pub metadata: serde_json::Value,
    /// Syft's name for the shape of `metadata`: one of ours when cataloged here, whatever the
    /// document said when read from Syft JSON
    pub metadata_type: Cow<'static, str>,
}

/// The operating system of the image (from os-release).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Distro {
    pub id: String,
    pub version_id: String,
    pub name: String,
    pub pretty_name: String,
    pub version_codename: String,
    pub id_like: Vec<String>,
    pub home_url: String,
    pub bug_report_url: String,
}

/// A finished catalog: what formats serialize.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub source: kubescape_image::ImageMetadata,
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// Files seen in the squashed filesystem
    pub file_count: u64,
}
