//! Java archives (jar, war, ear, jpi, hpi): `META-INF/maven/**/pom.properties`, the manifest,
//! the file name as a last resort, and archives nested inside (Spring Boot `BOOT-INF/lib`, war
//! `WEB-INF/lib`), recursively.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use serde_json::json;

use super::base;
use crate::catalog::is_java_archive;
use crate::model::{Location, Package, PkgType};
use crate::purl::{cpe, purl};

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "java-archive-cataloger";

const MAX_DEPTH: usize = 4;

fn properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('=').or_else(|| l.split_once(':')))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// MANIFEST.MF main section (continuation lines start with one space).
fn manifest(text: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some(k) = &last {
                if let Some(v) = out.get_mut(k) {
                    v.push_str(cont);
                }
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.insert(k.trim().to_string(), v.trim().to_string());
            last = Some(k.trim().to_string());
        }
    }
    out
}

/// `commons-io-2.11.0.jar` -> (`commons-io`, `2.11.0`)
fn name_version_from_file(file: &str) -> Option<(String, String)> {
    let stem = file.rsplit('/').next()?;
    let stem = stem.rsplit_once('.')?.0;
    let bytes = stem.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] == b'-' && bytes[i + 1].is_ascii_digit() {
            return Some((stem[..i].to_string(), stem[i + 1..].to_string()));
        }
    }
    None
}

fn vendor_of(group: &str) -> String {
    let parts: Vec<&str> = group.split('.').collect();
    match parts.as_slice() {
        [tld, v, ..] if ["org", "com", "net", "io"].contains(tld) => v.to_string(),
        [first, ..] => first.to_string(),
        [] => group.to_string(),
    }
}

fn package(
    group: Option<&str>,
    artifact: &str,
    version: &str,
    loc: &Location,
    virtual_path: &str,
    source: &str,
) -> Package {
    let p = purl("maven", group, artifact, version, &[]);
    let mut pkg = base(
        PkgType::JavaArchive,
        artifact,
        version,
        p,
        loc.clone(),
        CATALOGER,
    );
    pkg.namespace = group.map(str::to_string);
    let vendor = group.map(vendor_of).unwrap_or_else(|| artifact.to_string());
    pkg.cpes = vec![cpe(&vendor, artifact, version)];
    pkg.metadata_type = "java-archive".into();
    pkg.metadata = json!({
        "virtualPath": virtual_path,
        "pomProperties": if source == "pom.properties" { json!({"groupId": group.unwrap_or(""), "artifactId": artifact, "version": version}) } else { serde_json::Value::Null },
        "identifiedBy": source,
    });
    pkg
}

/// What an archive says about itself: its manifest and its pom.properties files, whichever way
/// (central directory or stream) its entries are read.
#[derive(Default)]
struct Facts {
    manifest: HashMap<String, String>,
    poms: Vec<HashMap<String, String>>,
}

impl Facts {
    /// Reads the entry when it is one of those (at most 1 MiB of it); false for other entries.
    fn take(&mut self, name: &str, f: &mut dyn Read) -> bool {
        let is_manifest = name.eq_ignore_ascii_case("META-INF/MANIFEST.MF");
        let is_pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        if !is_manifest && !is_pom {
            return false;
        }
        let mut s = String::new();
        let _ = f.take(1 << 20).read_to_string(&mut s);
        if is_manifest {
            self.manifest = manifest(&s);
        } else {
            self.poms.push(properties(&s));
        }
        true
    }
}

/// Catalogs one archive held in memory. `virtual_path` names it (outer:inner for nested ones).
pub fn catalog_archive(
    data: &[u8],
    virtual_path: &str,
    loc: &Location,
    max_nested: u64,
    depth: usize,
) -> Result<Vec<Package>, String> {
    let mut z = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| e.to_string())?;
    let mut facts = Facts::default();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = match z.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!("{virtual_path}: entry {i}: {e}");
                continue;
            }
        };
        let name = f.name().to_string();
        if facts.take(&name, &mut f) {
            continue;
        }
        if is_java_archive(&name) && depth < MAX_DEPTH {
            if f.size() > max_nested {
                tracing::warn!(
                    "{virtual_path}:{name}: nested archive larger than the limit, skipped"
                );
                continue;
            }
            let mut inner = Vec::with_capacity(f.size() as usize);
            if f.read_to_end(&mut inner).is_err() {
                continue;
            }
            let vp = format!("{virtual_path}:{name}");
            match catalog_archive(&inner, &vp, loc, max_nested, depth + 1) {
                Ok(p) => out.extend(p),
                Err(e) => tracing::debug!("{vp}: {e}"),
            }
        }
    }
    out.extend(identify(&facts.poms, &facts.manifest, virtual_path, loc));
    Ok(out)
}

/// The archive's own packages: one per complete pom.properties; else one from the manifest and
/// the file name.
fn identify(
    poms: &[HashMap<String, String>],
    mf: &HashMap<String, String>,
    virtual_path: &str,
    loc: &Location,
) -> Vec<Package> {
    let mut own = Vec::new();
    for p in poms {
        let (Some(g), Some(a), Some(v)) = (p.get("groupId"), p.get("artifactId"), p.get("version"))
        else {
            continue;
        };
        if g.is_empty() || a.is_empty() || v.is_empty() {
            continue;
        }
        own.push(package(Some(g), a, v, loc, virtual_path, "pom.properties"));
    }
    if own.is_empty() {
        let file = virtual_path
            .rsplit([':', '/'])
            .next()
            .unwrap_or(virtual_path);
        let from_name = name_version_from_file(file);
        let version = from_name
            .as_ref()
            .map(|(_, v)| v.clone())
            .or_else(|| mf.get("Implementation-Version").cloned())
            .or_else(|| mf.get("Bundle-Version").cloned())
            .or_else(|| mf.get("Specification-Version").cloned());
        let artifact = from_name.map(|(n, _)| n).unwrap_or_else(|| {
            file.rsplit_once('.')
                .map(|(s, _)| s)
                .unwrap_or(file)
                .to_string()
        });
        let group = mf
            .get("Implementation-Vendor-Id")
            .cloned()
            .filter(|g| g.contains('.'));
        if let Some(v) = version.filter(|v| !v.is_empty()) {
            own.push(package(
                group.as_deref(),
                &artifact,
                &v,
                loc,
                virtual_path,
                "manifest",
            ));
        }
    }
    own
}

/// Catalogs an archive too big to hold, reading its entries in order from the stream (local
/// file headers). Works for archives whose entries carry their sizes or are deflated, which is
/// what `jar`, Maven and Spring Boot write; nested archives are held one at a time.
pub fn catalog_stream(
    r: &mut dyn Read,
    virtual_path: &str,
    loc: &Location,
    max_nested: u64,
    depth: usize,
) -> Result<Vec<Package>, String> {
    let mut facts = Facts::default();
    let mut out = Vec::new();
    let mut r = r;
    loop {
        let mut f = match zip::read::read_zipfile_from_stream(&mut r) {
            Ok(Some(f)) => f,
            Ok(None) => break, // central directory reached
            Err(e) => {
                if out.is_empty() && facts.poms.is_empty() && facts.manifest.is_empty() {
                    return Err(e.to_string());
                }
                tracing::warn!("{virtual_path}: stopped reading at an unreadable entry: {e}");
                break;
            }
        };
        let name = f.name().to_string();
        if facts.take(&name, &mut f) {
            continue;
        }
        if is_java_archive(&name) && depth < MAX_DEPTH {
            let vp = format!("{virtual_path}:{name}");
            let found = if f.size() <= max_nested {
                let mut inner = Vec::with_capacity(f.size() as usize);
                f.read_to_end(&mut inner)
                    .map_err(|e| e.to_string())
                    .and_then(|_| catalog_archive(&inner, &vp, loc, max_nested, depth + 1))
            } else {
                catalog_stream(&mut f, &vp, loc, max_nested, depth + 1)
            };
            match found {
                Ok(p) => out.extend(p),
                Err(e) => tracing::debug!("{vp}: {e}"),
            }
        }
        // the rest of the entry is skipped when `f` is dropped
    }
    out.extend(identify(&facts.poms, &facts.manifest, virtual_path, loc));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_names_and_manifests() {
        assert_eq!(
            name_version_from_file("commons-io-2.11.0.jar"),
            Some(("commons-io".into(), "2.11.0".into()))
        );
        assert_eq!(name_version_from_file("app.jar"), None);
        let m = manifest("Manifest-Version: 1.0\r\nImplementation-Title: x\r\nExport-Package: a,\r\n b\r\n\r\nName: y\r\n");
        assert_eq!(m.get("Export-Package").map(String::as_str), Some("a,b"));
        assert_eq!(m.get("Name"), None);
        assert_eq!(vendor_of("org.apache.commons"), "apache");
    }
}
