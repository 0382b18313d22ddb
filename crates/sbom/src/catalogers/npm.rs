//! JavaScript: every `package.json` with a name and a version (installed packages under
//! `node_modules` and application manifests).

use serde_json::{json, Value};

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::{cpe, purl};

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "javascript-package-cataloger";

/// `@scope/name` -> (`@scope`, `name`): the purl's namespace and name.
pub(super) fn split_scope(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
        _ => (None, name),
    }
}

fn licenses(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match v.get("license") {
        Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
        Some(Value::Object(o)) => {
            if let Some(Value::String(s)) = o.get("type") {
                out.push(s.clone())
            }
        }
        _ => {}
    }
    if let Some(Value::Array(a)) = v.get("licenses") {
        for l in a {
            match l {
                Value::String(s) => out.push(s.clone()),
                Value::Object(o) => {
                    if let Some(Value::String(s)) = o.get("type") {
                        out.push(s.clone())
                    }
                }
                _ => {}
            }
        }
    }
    out
}

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    for k in kept.iter().filter(|k| k.kind == Record::PackageJson) {
        let v: Value = match serde_json::from_slice(&k.data) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("{}: not JSON ({e}), skipped", k.path);
                continue;
            }
        };
        let (Some(name), Some(version)) = (
            v.get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty()),
            v.get("version")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty()),
        ) else {
            continue;
        };
        let (ns, short) = split_scope(name);
        let mut pkg = base(
            PkgType::Npm,
            name,
            version,
            purl("npm", ns, short, version, &[]),
            loc(&k.path, k.layer),
            CATALOGER,
        );
        pkg.licenses = licenses(&v);
        pkg.cpes = vec![cpe(short, short, version)];
        pkg.metadata_type = "javascript-npm-package".into();
        pkg.metadata = json!({
            "name": name, "version": version,
            "author": match v.get("author") { Some(Value::String(s)) => s.clone(), Some(Value::Object(o)) => o.get("name").and_then(Value::as_str).unwrap_or("").to_string(), _ => String::new() },
            "homepage": v.get("homepage").and_then(Value::as_str).unwrap_or(""),
            "description": v.get("description").and_then(Value::as_str).unwrap_or(""),
            "url": match v.get("repository") { Some(Value::String(s)) => s.clone(), Some(Value::Object(o)) => o.get("url").and_then(Value::as_str).unwrap_or("").to_string(), _ => String::new() },
            "private": v.get("private").and_then(Value::as_bool).unwrap_or(false),
        });
        out.push(pkg);
    }
    out
}
