//! Python: `*.dist-info/METADATA` (+ `RECORD` for files), `*.egg-info/PKG-INFO` and
//! `*.egg-info` files.

use std::collections::HashMap;

use serde_json::json;

use super::base;
use crate::catalog::{Kept, Record};
use crate::license;
use crate::model::{Location, Package, PkgType};
use crate::purl::{cpe, purl};

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "python-installed-package-cataloger";

/// PEP 503 normalization: lower case, runs of `-_.` become `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let records: HashMap<&str, &Kept> = kept
        .iter()
        .filter(|k| k.kind == Record::PythonRecord)
        .map(|k| (k.path.trim_end_matches("/RECORD"), k))
        .collect();
    let mut out = Vec::new();
    for k in kept.iter().filter(|k| k.kind == Record::PythonMetadata) {
        let text = String::from_utf8_lossy(&k.data);
        // headers end at the first blank line; the body is the long description
        let head = text.split("\n\n").next().unwrap_or("");
        let mut name = None;
        let mut version = None;
        let mut lic = None;
        let mut lic_expr = None;
        let mut classifiers = Vec::new();
        let mut author = None;
        let mut home = None;
        for line in head.lines() {
            let Some((key, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match key {
                "Name" => name = Some(v.to_string()),
                "Version" => version = Some(v.to_string()),
                "License" => lic = Some(v.to_string()),
                "License-Expression" => lic_expr = Some(v.to_string()),
                "Classifier" => classifiers.push(v.to_string()),
                "Author" => author = Some(v.to_string()),
                "Home-page" => home = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            tracing::debug!("{}: no Name/Version, skipped", k.path);
            continue;
        };
        let norm = normalize(&name);
        let mut pkg = base(
            PkgType::Python,
            &name,
            &version,
            purl("pypi", None, &norm, &version, &[]),
            loc(&k.path, k.layer),
            CATALOGER,
        );
        pkg.licenses = if let Some(e) = lic_expr {
            vec![e]
        } else if let Some(l) =
            lic.filter(|l| !l.is_empty() && l != "UNKNOWN" && l.len() < 100 && !l.contains('\n'))
        {
            vec![l]
        } else {
            classifiers
                .iter()
                .filter_map(|c| license::from_classifier(c))
                .collect()
        };
        pkg.cpes = vec![cpe(&norm, &norm, &version)];
        let dir = k.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if let Some(r) = records.get(dir) {
            let site = dir.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            pkg.files = String::from_utf8_lossy(&r.data)
                .lines()
                .filter_map(|l| l.split(',').next())
                .filter(|p| !p.is_empty())
                .map(|p| format!("{site}/{p}"))
                .collect();
            pkg.locations.push(loc(&r.path, r.layer));
        }
        pkg.metadata_type = "python-package".into();
        pkg.metadata = json!({
            "name": name, "version": version, "author": author.unwrap_or_default(),
            "homepage": home.unwrap_or_default(),
            "sitePackagesRootPath": dir.rsplit_once('/').map(|(d, _)| d).unwrap_or(""),
            "files": pkg.files.iter().map(|f| json!({"path": f})).collect::<Vec<_>>(),
        });
        out.push(pkg);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn normalizes_names() {
        assert_eq!(super::normalize("Charset_Normalizer"), "charset-normalizer");
        assert_eq!(super::normalize("zope.interface"), "zope-interface");
    }
}
