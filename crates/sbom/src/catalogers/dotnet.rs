//! .NET: `*.deps.json` (the `libraries` of type `package`).

use serde_json::{json, Value};

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "dotnet-deps-cataloger";

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
                CATALOGER,
            );
            pkg.metadata_type = "dotnet-deps-entry".into();
            pkg.metadata = json!({"name": name, "version": version,
                "path": lib.get("path").and_then(Value::as_str).unwrap_or(""),
                "sha512": lib.get("sha512").and_then(Value::as_str).unwrap_or("")});
            out.push(pkg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deps_json_packages_only() {
        let deps = br#"{"runtimeTarget":{"name":".NETCoreApp,Version=v8.0"},"libraries":{"app/1.0.0":{"type":"project"},"Newtonsoft.Json/13.0.3":{"type":"package","sha512":"sha512-x","path":"newtonsoft.json/13.0.3"}}}"#;
        let kept = vec![Kept {
            kind: Record::DotnetDeps,
            path: "/app/app.deps.json".into(),
            layer: Some(2),
            data: deps.to_vec(),
        }];
        let p = catalog(&kept, &|p, _| Location {
            path: p.into(),
            layer: None,
        });
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].name.as_str(), p[0].version.as_str()),
            ("Newtonsoft.Json", "13.0.3")
        );
        assert_eq!(p[0].purl, "pkg:nuget/Newtonsoft.Json@13.0.3");
    }
}
