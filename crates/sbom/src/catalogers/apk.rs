//! Alpine apk: `/lib/apk/db/installed`.

use serde_json::json;

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Distro, Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "apk-db-cataloger";

/// (package, version) pairs of an apk installed database.
pub(crate) fn installed_set(text: &str) -> std::collections::HashSet<(String, String)> {
    let mut out = std::collections::HashSet::new();
    for block in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("P:") {
                name = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("V:") {
                version = Some(v.to_string());
            }
        }
        if let (Some(n), Some(v)) = (name, version) {
            out.insert((n, v));
        }
    }
    out
}

pub(crate) fn catalog(
    kept: &[Kept],
    distro: Option<&Distro>,
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    let (ns, distro_q) = match distro {
        Some(d) if !d.id.is_empty() => (d.id.clone(), format!("{}-{}", d.id, d.version_id)),
        _ => ("alpine".to_string(), String::new()),
    };
    for k in kept.iter().filter(|k| k.kind == Record::ApkInstalled) {
        let text = String::from_utf8_lossy(&k.data);
        for block in text.split("\n\n") {
            let mut f = std::collections::HashMap::new();
            let mut files = Vec::new();
            let mut dir = String::new();
            for line in block.lines() {
                let Some((key, val)) = line.split_once(':') else {
                    continue;
                };
                match key {
                    "F" => dir = val.to_string(),
                    "R" => files.push(format!(
                        "/{}{}{val}",
                        dir,
                        if dir.is_empty() { "" } else { "/" }
                    )),
                    _ => {
                        f.entry(key.to_string()).or_insert_with(|| val.to_string());
                    }
                }
            }
            let (Some(name), Some(version)) = (f.get("P"), f.get("V")) else {
                continue;
            };
            let arch = f.get("A").cloned().unwrap_or_default();
            let origin = f.get("o").cloned().unwrap_or_default();
            let upstream = if !origin.is_empty() && &origin != name {
                origin.clone()
            } else {
                String::new()
            };
            let p_url = purl(
                "apk",
                Some(&ns),
                name,
                version,
                &[
                    ("arch", &arch),
                    ("distro", &distro_q),
                    ("upstream", &upstream),
                ],
            );
            let mut pkg = base(
                PkgType::Apk,
                name,
                version,
                p_url,
                loc(&k.path, k.layer),
                CATALOGER,
            );
            pkg.arch = Some(arch.clone()).filter(|a| !a.is_empty());
            pkg.source_name = Some(if origin.is_empty() {
                name.clone()
            } else {
                origin.clone()
            });
            pkg.source_version = Some(version.clone());
            if let Some(l) = f.get("L") {
                pkg.licenses = l
                    .split_whitespace()
                    .filter(|w| *w != "AND" && *w != "OR")
                    .map(str::to_string)
                    .collect();
            }
            pkg.supplier = f.get("m").cloned();
            pkg.files = files;
            pkg.metadata_type = "apk-db-entry".into();
            pkg.metadata = json!({
                "package": name, "originPackage": origin, "maintainer": f.get("m").cloned().unwrap_or_default(),
                "version": version, "architecture": arch, "url": f.get("U").cloned().unwrap_or_default(),
                "description": f.get("T").cloned().unwrap_or_default(),
                "size": f.get("S").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
                "installedSize": f.get("I").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
                "pullChecksum": f.get("C").cloned().unwrap_or_default(),
                "gitCommitOfApkPort": f.get("c").cloned().unwrap_or_default(),
                "files": pkg.files.iter().map(|p| json!({"path": p})).collect::<Vec<_>>(),
            });
            out.push(pkg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_installed_db() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Someone <x@y>\nF:lib\nR:libc.musl-x86_64.so.1\nR:ld-musl-x86_64.so.1\n\nC:Q1def=\nP:busybox-binsh\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:sh\n";
        let kept = vec![Kept {
            kind: Record::ApkInstalled,
            path: "/lib/apk/db/installed".into(),
            layer: Some(0),
            data: db.as_bytes().to_vec(),
        }];
        let d = Distro {
            id: "alpine".into(),
            version_id: "3.18.4".into(),
            ..Default::default()
        };
        let pk = catalog(&kept, Some(&d), &|p, _| Location {
            path: p.into(),
            layer: None,
        });
        assert_eq!(pk.len(), 2);
        assert_eq!(
            pk[0].purl,
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4"
        );
        assert_eq!(
            pk[0].files,
            vec!["/lib/libc.musl-x86_64.so.1", "/lib/ld-musl-x86_64.so.1"]
        );
        assert_eq!(pk[1].source_name.as_deref(), Some("busybox"));
        assert_eq!(pk[1].purl, "pkg:apk/alpine/busybox-binsh@1.36.1-r5?arch=x86_64&distro=alpine-3.18.4&upstream=busybox");
        assert_eq!(pk[1].licenses, vec!["GPL-2.0-only"]);
    }
}
