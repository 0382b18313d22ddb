//! .NET: `*.deps.json` (the `libraries` of type `package`).

use serde_json::{json, Value};

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::purl;

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    for k in kept.iter().filter(|k| k.kind == Record::DotnetDeps) {
        let Ok(v) = serde_json::from_slice::<Value>(&k.data) else {
            continue;
        };
        let Some(libs) = v.get("libraries").and_then(Value::as_object) else {
            continue;
        };
        for (key, lib) in libs {
            if lib.get("type").and_then(Value::as_str) != Some("package") {
                continue;
            }
            let Some((name, version)) = key.split_once('/') else {
                continue;
            };
            let mut pkg = base(
                PkgType::Dotnet,
                name,
                version,
                purl("nuget", None, name, version, &[]),
                loc(&k.path, k.layer),
                "dotnet-deps-cataloger",
            );
            pkg.metadata_type = "dotnet-deps-entry";
            pkg.metadata = json!({"name": name, "version": version,
                "path": lib.get("path").and_then(Value::as_str).unwrap_or(""),
                "sha512": lib.get("sha512").and_then(Value::as_str).unwrap_or("")});
            out.push(pkg);
        }
    }
    out
}
