//! Lock files, for directory sources only (as Syft and Trivy do: in images the installed
//! packages are cataloged instead): npm `package-lock.json` (v1 `dependencies`, v2/v3
//! `packages`) and Cargo's `Cargo.lock`.

use serde_json::{json, Value};

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages from `package-lock.json` (Syft's name for its counterpart).
pub const NPM_CATALOGER: &str = "javascript-lock-cataloger";
/// `foundBy` of the packages from `Cargo.lock` (Syft's name for its counterpart).
pub const CARGO_CATALOGER: &str = "rust-cargo-lock-cataloger";

fn npm_package(name: &str, version: &str, loc: Location) -> Package {
    let (ns, short) = super::npm::split_scope(name);
    let mut p = base(
        PkgType::Npm,
        name,
        version,
        purl("npm", ns, short, version, &[]),
        loc,
        NPM_CATALOGER,
    );
    p.metadata_type = "javascript-npm-package-lock-entry".into();
    p.metadata = json!({"name": name, "version": version});
    p
}

fn npm_v1(deps: &serde_json::Map<String, Value>, loc: &Location, out: &mut Vec<Package>) {
    for (name, d) in deps {
        if d.get("dev").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(v) = d.get("version").and_then(Value::as_str) {
            out.push(npm_package(name, v, loc.clone()));
        }
        if let Some(inner) = d.get("dependencies").and_then(Value::as_object) {
            npm_v1(inner, loc, out);
        }
    }
}

/// Packages of a `package-lock.json` (development dependencies left out).
pub fn npm_lock(data: &[u8], loc: &Location) -> Vec<Package> {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(pkgs) = v.get("packages").and_then(Value::as_object) {
        for (key, p) in pkgs {
            let Some(pos) = key.rfind("node_modules/") else {
                continue; // "" is the project itself; workspaces are listed by path
            };
            if p.get("dev").and_then(Value::as_bool) == Some(true)
                || p.get("link").and_then(Value::as_bool) == Some(true)
            {
                continue;
            }
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&key[pos + "node_modules/".len()..]);
            if let Some(ver) = p.get("version").and_then(Value::as_str) {
                out.push(npm_package(name, ver, loc.clone()));
            }
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        npm_v1(deps, loc, &mut out);
    }
    out
}

/// Packages of a `Cargo.lock` (`[[package]]` tables with `name` and `version`).
pub fn cargo_lock(data: &[u8], loc: &Location) -> Vec<Package> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut flush =
        |name: &mut Option<String>, version: &mut Option<String>, source: &mut Option<String>| {
            if let (Some(n), Some(v)) = (name.take(), version.take()) {
                let mut p = base(
                    PkgType::RustCrate,
                    &n,
                    &v,
                    purl("cargo", None, &n, &v, &[]),
                    loc.clone(),
                    CARGO_CATALOGER,
                );
                p.metadata_type = "rust-cargo-lock-entry".into();
                p.metadata =
                    json!({"name": n, "version": v, "source": source.clone().unwrap_or_default()});
                out.push(p);
            }
            *source = None;
        };
    let (mut name, mut version, mut source) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut name, &mut version, &mut source);
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "name" => name = Some(v),
            "version" => version = Some(v),
            "source" => source = Some(v),
            _ => {}
        }
    }
    flush(&mut name, &mut version, &mut source);
    out
}

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    for k in kept {
        match k.kind {
            Record::NpmLock => out.extend(npm_lock(&k.data, &loc(&k.path, k.layer))),
            Record::CargoLock => out.extend(cargo_lock(&k.data, &loc(&k.path, k.layer))),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lock_files() {
        let loc = Location {
            path: "/x".into(),
            layer: None,
        };
        let v1 = br#"{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},"t":{"version":"9.9.9","dev":true}}}"#;
        let names: Vec<String> = npm_lock(v1, &loc)
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(names, vec!["a@1.0.0", "b@2.0.0"]);
        let v3 = br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/@s/x":{"version":"1.2.3"},"node_modules/y":{"version":"3.0.0","dev":true}}}"#;
        let p = npm_lock(v3, &loc);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].purl, "pkg:npm/%40s/x@1.2.3");
        let cargo = b"version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa\",\n]\n";
        let p = cargo_lock(cargo, &loc);
        assert_eq!(
            p.iter().map(|p| p.purl.as_str()).collect::<Vec<_>>(),
            vec!["pkg:cargo/itoa@1.0.11", "pkg:cargo/app@0.1.0"]
        );
    }
}
