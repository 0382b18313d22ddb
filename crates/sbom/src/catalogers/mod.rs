//! One module per ecosystem. Parsers take bytes and never panic on malformed input: a bad
//! record is logged and skipped.

pub mod apk;
pub mod dotnet;
pub mod dpkg;
pub mod golang;
pub mod java;
pub mod lockfiles;
pub mod npm;
pub mod osrelease;
pub mod php;
pub mod python;
pub mod rpm;
pub mod ruby;
pub mod rust;

use crate::model::{Location, Package, PkgType};

/// Every `foundBy` our catalogers write, so that readers of SBOMs can tell ours from others.
pub const NAMES: &[&str] = &[
    apk::CATALOGER,
    dotnet::CATALOGER,
    dpkg::CATALOGER,
    golang::CATALOGER,
    java::CATALOGER,
    lockfiles::NPM_CATALOGER,
    lockfiles::CARGO_CATALOGER,
    npm::CATALOGER,
    php::CATALOGER,
    python::CATALOGER,
    rpm::CATALOGER,
    ruby::CATALOGER,
    rust::CATALOGER,
];

/// A package with the fields every cataloger fills.
pub(crate) fn base(
    kind: PkgType,
    name: &str,
    version: &str,
    purl: String,
    location: Location,
    found_by: &'static str,
) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        kind,
        namespace: None,
        purl,
        cpes: Vec::new(),
        licenses: Vec::new(),
        source_name: None,
        source_version: None,
        arch: None,
        supplier: None,
        locations: vec![location],
        files: Vec::new(),
        found_by,
        metadata: serde_json::Value::Null,
        metadata_type: "".into(),
    }
}

/// RFC 822-style paragraphs (`Key: value`, continuation lines start with a space), as used by
/// dpkg status and Python METADATA. Returns (key, value) pairs per paragraph.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) fn field<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}
