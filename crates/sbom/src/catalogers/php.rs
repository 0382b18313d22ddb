//! PHP: Composer's `vendor/composer/installed.json` (v1 array and v2 `{"packages": [...]}`).

use serde_json::{json, Value};

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "php-composer-installed-cataloger";

pub(crate) fn catalog(
    kept: &[Kept],
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    for k in kept.iter().filter(|k| k.kind == Record::ComposerInstalled) {
        let Ok(v) = serde_json::from_slice::<Value>(&k.data) else {
            continue;
        };
        let list = match &v {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o
                .get("packages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => continue,
        };
        for p in list {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(Value::as_str),
                p.get("version").and_then(Value::as_str),
            ) else {
                continue;
            };
            let (ns, short) = name
                .split_once('/')
                .map(|(a, b)| (Some(a), b))
                .unwrap_or((None, name));
            let mut pkg = base(
                PkgType::PhpComposer,
                name,
                version,
                purl("composer", ns, short, version, &[]),
                loc(&k.path, k.layer),
                CATALOGER,
            );
            pkg.licenses = p
                .get("license")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            pkg.metadata_type = "php-composer-installed-entry".into();
            pkg.metadata = json!({"name": name, "version": version, "type": p.get("type").cloned().unwrap_or(Value::Null)});
            out.push(pkg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_installed_json_v1_and_v2() {
        let loc = |p: &str, _| Location {
            path: p.into(),
            layer: None,
        };
        let v2 = br#"{"packages":[{"name":"monolog/monolog","version":"3.5.0","type":"library","license":["MIT"]},{"name":"broken"}],"dev":true}"#;
        let v1 = br#"[{"name":"psr/log","version":"1.1.4","license":["MIT"]}]"#;
        let kept = vec![
            Kept {
                kind: Record::ComposerInstalled,
                path: "/app/vendor/composer/installed.json".into(),
                layer: None,
                data: v2.to_vec(),
            },
            Kept {
                kind: Record::ComposerInstalled,
                path: "/old/vendor/composer/installed.json".into(),
                layer: None,
                data: v1.to_vec(),
            },
        ];
        let p = catalog(&kept, &loc);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].purl, "pkg:composer/monolog/monolog@3.5.0");
        assert_eq!(p[0].licenses, vec!["MIT"]);
        assert_eq!(p[1].purl, "pkg:composer/psr/log@1.1.4");
    }
}
