//! Debian/Ubuntu dpkg: `/var/lib/dpkg/status`, `status.d/*` (distroless), `info/*.list` for the
//! files of each package, `/usr/share/doc/*/copyright` for licenses.

use std::collections::HashMap;

use serde_json::json;

use super::{base, field, paragraphs};
use crate::catalog::{Kept, Record};
use crate::model::{Distro, Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "dpkg-db-cataloger";

/// Licenses named by a copyright file: DEP-5 `License:` fields and references to
/// `/usr/share/common-licenses/NAME`.
pub fn copyright_licenses(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |l: &str| {
        let l = l.trim().trim_end_matches(['.', ',', ';']);
        if !l.is_empty() && l.len() < 80 && !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("License:") {
            // "GPL-2+ or Artistic" -> each operand
            for part in rest
                .split(" or ")
                .flat_map(|p| p.split(" and "))
                .flat_map(|p| p.split(" | "))
            {
                let p = part.trim().trim_start_matches('(').trim_end_matches(')');
                if !p.contains(' ') || p.ends_with("with exception") {
                    add(p);
                }
            }
        }
        if let Some(i) = line.find("/usr/share/common-licenses/") {
            let name: String = line[i + 27..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '+')
                .collect();
            add(name.trim_end_matches('.'));
        }
    }
    out
}

/// Splits a `Source` field, `name` or `name (version)`; the version is there only when the
/// source package's differs from the binary package's.
pub(crate) fn split_source(source: &str) -> (&str, Option<&str>) {
    match source.trim().split_once(' ') {
        Some((n, v)) => {
            let v = v
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim();
            (n, Some(v).filter(|v| !v.is_empty()))
        }
        None => (source.trim(), None),
    }
}

/// Files of a `.list`: its entries minus the directories (entries that are another's parent).
fn list_files(text: &str) -> Vec<String> {
    let all: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && *l != "/.")
        .collect();
    let mut parents = std::collections::HashSet::new();
    for p in &all {
        let mut cur = *p;
        while let Some((parent, _)) = cur.rsplit_once('/') {
            if parent.is_empty() || !parents.insert(parent) {
                break;
            }
            cur = parent;
        }
    }
    all.into_iter()
        .filter(|p| !parents.contains(p))
        .map(str::to_string)
        .collect()
}

/// (package, version) pairs installed according to a status file.
pub(crate) fn installed_set(text: &str) -> std::collections::HashSet<(String, String)> {
    paragraphs(text)
        .into_iter()
        .filter(|p| {
            field(p, "Status").is_none_or(|s| s.split_whitespace().nth(2) == Some("installed"))
        })
        .filter_map(|p| {
            Some((
                field(&p, "Package")?.to_string(),
                field(&p, "Version")?.to_string(),
            ))
        })
        .collect()
}

pub(crate) fn catalog(
    kept: &[Kept],
    distro: Option<&Distro>,
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut lists: HashMap<&str, &Kept> = HashMap::new();
    let mut copyrights: HashMap<&str, &Kept> = HashMap::new();
    for k in kept {
        match k.kind {
            Record::DpkgList => {
                let name = k.path.rsplit('/').next().unwrap_or("");
                lists.insert(name.trim_end_matches(".list"), k);
            }
            Record::DpkgCopyright => {
                let pkg = k
                    .path
                    .trim_start_matches("/usr/share/doc/")
                    .trim_end_matches("/copyright");
                copyrights.insert(pkg, k);
            }
            _ => {}
        }
    }
    let (ns, distro_q) = match distro {
        Some(d) if !d.id.is_empty() => (
            d.id.clone(),
            if d.version_id.is_empty() {
                d.id.clone()
            } else {
                format!("{}-{}", d.id, d.version_id)
            },
        ),
        _ => ("debian".to_string(), String::new()),
    };
    let mut out = Vec::new();
    for k in kept
        .iter()
        .filter(|k| matches!(k.kind, Record::DpkgStatus | Record::DpkgStatusD))
    {
        let text = String::from_utf8_lossy(&k.data);
        for p in paragraphs(&text) {
            let (Some(name), Some(version)) = (field(&p, "Package"), field(&p, "Version")) else {
                continue;
            };
            // dpkg keeps records of removed packages ("deinstall ok config-files")
            if let Some(status) = field(&p, "Status") {
                if status.split_whitespace().nth(2) != Some("installed") {
                    continue;
                }
            }
            let arch = field(&p, "Architecture").unwrap_or("");
            let (src_name, src_version) = match field(&p, "Source").map(split_source) {
                Some((n, v)) => (n.to_string(), v.unwrap_or(version).to_string()),
                None => (name.to_string(), version.to_string()),
            };
            let upstream = if src_name != name {
                if src_version != version {
                    format!("{src_name}@{src_version}")
                } else {
                    src_name.clone()
                }
            } else {
                String::new()
            };
            let p_url = purl(
                "deb",
                Some(&ns),
                name,
                version,
                &[
                    ("arch", arch),
                    ("distro", &distro_q),
                    ("upstream", &upstream),
                ],
            );
            let mut pkg = base(
                PkgType::Deb,
                name,
                version,
                p_url,
                loc(&k.path, k.layer),
                CATALOGER,
            );
            pkg.arch = Some(arch.to_string()).filter(|a| !a.is_empty());
            pkg.source_name = Some(src_name.clone());
            pkg.source_version = Some(src_version.clone());
            pkg.supplier = field(&p, "Maintainer").map(str::to_string);
            let list = lists
                .get(format!("{name}:{arch}").as_str())
                .or_else(|| lists.get(name));
            if let Some(list) = list {
                pkg.files = list_files(&String::from_utf8_lossy(&list.data));
                pkg.locations.push(loc(&list.path, list.layer));
            }
            if let Some(c) = copyrights.get(name) {
                pkg.licenses = copyright_licenses(&String::from_utf8_lossy(&c.data));
                pkg.locations.push(loc(&c.path, c.layer));
            }
            pkg.metadata_type = "dpkg-db-entry".into();
            pkg.metadata = json!({
                "package": name,
                "source": if src_name != name { src_name.as_str() } else { "" },
                "version": version,
                "sourceVersion": if src_version != version { src_version.as_str() } else { "" },
                "architecture": arch,
                "maintainer": field(&p, "Maintainer").unwrap_or(""),
                "installedSize": field(&p, "Installed-Size").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
                "files": pkg.files.iter().map(|f| json!({"path": f})).collect::<Vec<_>>(),
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
    fn reads_copyright_licenses() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ or Artistic\n\nFiles: x\nLicense: BSD-3-clause\n\nOn Debian systems, see /usr/share/common-licenses/GPL-2.\n";
        assert_eq!(
            copyright_licenses(text),
            vec!["GPL-2+", "Artistic", "BSD-3-clause", "GPL-2"]
        );
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::*;

    fn kept(kind: Record, path: &str, data: &str) -> Kept {
        Kept {
            kind,
            path: path.into(),
            layer: Some(0),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn distroless_status_d_and_removed_packages() {
        let status_d = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\nMaintainer: Debian OpenSSL Team\n";
        let status_d2 = "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n";
        let status = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\nSource: zlib (1:1.2.13.dfsg-1)\n";
        let list = "/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libz.so.1.2.13\n/usr/lib/x86_64-linux-gnu/libz.so.1\n";
        let k = vec![
            kept(
                Record::DpkgStatusD,
                "/var/lib/dpkg/status.d/libssl3",
                status_d,
            ),
            kept(
                Record::DpkgStatusD,
                "/var/lib/dpkg/status.d/tzdata",
                status_d2,
            ),
            kept(Record::DpkgStatus, "/var/lib/dpkg/status", status),
            kept(
                Record::DpkgList,
                "/var/lib/dpkg/info/zlib1g:amd64.list",
                list,
            ),
        ];
        let d = Distro {
            id: "debian".into(),
            version_id: "12".into(),
            ..Default::default()
        };
        let p = catalog(&k, Some(&d), &|p, _| Location {
            path: p.into(),
            layer: None,
        });
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["libssl3", "tzdata", "zlib1g"]);
        assert_eq!(p[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(p[0].locations[0].path, "/var/lib/dpkg/status.d/libssl3");
        assert_eq!(
            p[2].purl,
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"
        );
        assert_eq!(p[2].source_version.as_deref(), Some("1:1.2.13.dfsg-1"));
        assert_eq!(
            p[2].files,
            vec![
                "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
                "/usr/lib/x86_64-linux-gnu/libz.so.1"
            ]
        );
    }
}
