//! Syft JSON: the document the storage's SBOMSyft kind carries in `spec.syft`. [`to_syft`]
//! writes it; [`from_syft`] reads it back, from us or from Syft itself, for matching.

use std::collections::BTreeMap;

use base64::Engine;
use kubescape_image::{ImageMetadata, LayerInfo};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{image_name, package_id};
use crate::catalogers::{self, dpkg, rpm};
use crate::license::spdx_id;
use crate::model::{Catalog, Distro, Location, Package, PkgType};
use crate::{TOOL_NAME, TOOL_VERSION};

/// Syft JSON schema version whose field names we write.
pub const SYFT_SCHEMA_VERSION: &str = "16.0.18";

/// Stable identifier of a file path (16 hex digits).
fn file_id(path: &str) -> String {
    let d = Sha256::digest(path.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn to_syft(c: &Catalog) -> Value {
    let b64 = |b: &Option<Vec<u8>>| {
        b.as_ref()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .unwrap_or_default()
    };
    let artifacts: Vec<Value> = c
        .packages
        .iter()
        .map(|p| {
            json!({
                "id": package_id(p),
                "name": p.name,
                "version": p.version,
                "type": p.kind.syft_type(),
                "foundBy": p.found_by,
                "locations": p.locations.iter().enumerate().map(|(i, l)| json!({
                    "path": l.path,
                    "layerID": l.layer.clone().unwrap_or_default(),
                    "accessPath": l.path,
                    "annotations": {"evidence": if i == 0 { "primary" } else { "supporting" }},
                })).collect::<Vec<_>>(),
                "licenses": p.licenses.iter().map(|l| json!({
                    "value": l,
                    "spdxExpression": spdx_id(l).unwrap_or(""),
                    "type": "declared",
                    "urls": [],
                    "locations": [],
                })).collect::<Vec<_>>(),
                "language": p.kind.language(),
                "cpes": p.cpes.iter().map(|c| json!({"cpe": c, "source": "kubescape-generated"})).collect::<Vec<_>>(),
                "purl": p.purl,
                "metadataType": p.metadata_type,
                "metadata": p.metadata,
            })
        })
        .collect();
    // files: the evidence of each package (with its layer) and the files it owns (from the
    // package manager's records; their layer is not tracked); relationships tie them together
    let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut relationships = Vec::new();
    for p in &c.packages {
        let pid = package_id(p);
        for (i, l) in p.locations.iter().enumerate() {
            let fid = file_id(&l.path);
            let entry = files
                .entry(l.path.clone())
                .or_insert_with(|| (fid.clone(), String::new()));
            if entry.1.is_empty() {
                entry.1 = l.layer.clone().unwrap_or_default();
            }
            if i == 0 {
                relationships.push(json!({"parent": pid, "child": fid, "type": "evident-by"}));
            }
        }
        for f in &p.files {
            let fid = file_id(f);
            files
                .entry(f.clone())
                .or_insert_with(|| (fid.clone(), String::new()));
            relationships.push(json!({"parent": pid, "child": fid, "type": "contains"}));
        }
    }
    let files: Vec<Value> = files
        .into_iter()
        .map(|(path, (id, layer))| json!({"id": id, "location": {"path": path, "layerID": layer}}))
        .collect();
    let s = &c.source;
    let source = json!({
        "id": s.image_id.clone().or_else(|| s.manifest_digest.clone()).unwrap_or_default(),
        "name": image_name(c),
        "version": s.manifest_digest.clone().unwrap_or_default(),
        "type": if s.source_kind == "dir" { "directory" } else { "image" },
        "metadata": if s.source_kind == "dir" {
            json!({"path": s.user_input})
        } else {
            json!({
                "userInput": s.user_input,
                "imageID": s.image_id.clone().unwrap_or_default(),
                "manifestDigest": s.manifest_digest.clone().unwrap_or_default(),
                "mediaType": s.manifest_media_type.clone().unwrap_or_default(),
                "tags": s.tags,
                "imageSize": s.size,
                "layers": s.layers.iter().map(|l| json!({
                    "mediaType": l.media_type, "digest": l.diff_id.clone().unwrap_or_else(|| l.digest.clone()), "size": l.size,
                })).collect::<Vec<_>>(),
                "manifest": b64(&s.raw_manifest),
                "config": b64(&s.raw_config),
                "repoDigests": s.repo_digests,
                "architecture": s.architecture.clone().unwrap_or_default(),
                "os": s.os.clone().unwrap_or_default(),
            })
        },
    });
    let distro = match &c.distro {
        Some(d) => json!({
            "prettyName": d.pretty_name, "name": d.name, "id": d.id, "idLike": d.id_like,
            "version": "", "versionID": d.version_id, "versionCodename": d.version_codename,
            "homeURL": d.home_url, "bugReportURL": d.bug_report_url,
        }),
        None => json!({}),
    };
    json!({
        "artifacts": artifacts,
        "artifactRelationships": relationships,
        "files": files,
        "source": source,
        "distro": distro,
        "descriptor": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "schema": {
            "version": SYFT_SCHEMA_VERSION,
            "url": format!("https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-{SYFT_SCHEMA_VERSION}.json"),
        },
    })
}

/// `foundBy` of packages read from Syft JSON that none of our catalogers would have found.
pub const SYFT_JSON_FOUND_BY: &str = "syft-json";

/// Rebuilds a catalog from a Syft JSON document (ours or Syft's own) with what vulnerability
/// matching needs: packages with their source packages, the distro and the image's identity.
/// Artifacts of types we have no ecosystem for (`binary`, `alpm`, ...) are left out. The
/// document's file list is not read: `file_count` is 0.
pub fn from_syft(doc: &Value) -> Result<Catalog, String> {
    let root = doc
        .as_object()
        .ok_or("not a Syft JSON document: not a JSON object")?;
    let artifacts = root
        .get("artifacts")
        .and_then(Value::as_array)
        .ok_or("not a Syft JSON document: no \"artifacts\" array")?;
    let mut packages = Vec::with_capacity(artifacts.len());
    for (i, a) in artifacts.iter().enumerate() {
        if let Some(p) = read_artifact(&Obj::new(a, format!("artifacts[{i}]"))?)? {
            packages.push(p);
        }
    }
    let source = match root.get("source").filter(|v| !v.is_null()) {
        Some(s) => read_source(&Obj::new(s, "source")?)?,
        None => ImageMetadata {
            source_kind: "image",
            ..Default::default()
        },
    };
    let distro = match root.get("distro").filter(|v| !v.is_null()) {
        Some(d) => read_distro(&Obj::new(d, "distro")?)?,
        None => None,
    };
    Ok(Catalog {
        source,
        distro,
        packages,
        file_count: 0,
    })
}

/// Our ecosystem for a Syft package type.
fn pkg_type(syft_type: &str) -> Option<PkgType> {
    Some(match syft_type {
        "deb" => PkgType::Deb,
        "apk" => PkgType::Apk,
        "rpm" => PkgType::Rpm,
        "python" => PkgType::Python,
        "npm" => PkgType::Npm,
        "go-module" => PkgType::GoModule,
        // Jenkins plugins (hpi/jpi) are Maven artifacts, matched like any other
        "java-archive" | "jenkins-plugin" => PkgType::JavaArchive,
        "rust-crate" => PkgType::RustCrate,
        "gem" => PkgType::Gem,
        "php-composer" => PkgType::PhpComposer,
        "dotnet" => PkgType::Dotnet,
        _ => return None,
    })
}

/// A JSON object being read, with its place in the document for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, at: impl Into<String>) -> Result<Self, String> {
        let at = at.into();
        match v {
            Value::Object(map) => Ok(Self { map, at }),
            _ => Err(format!("{at}: not an object")),
        }
    }

    /// Go's encoder writes nil slices and pointers as `null`: the same as leaving them out.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{}: \"{key}\" is not a string", self.at)),
        }
    }

    fn required_str(&self, key: &str) -> Result<&'a str, String> {
        self.str(key)?
            .ok_or_else(|| format!("{}: missing \"{key}\"", self.at))
    }

    fn text(&self, key: &str) -> Result<String, String> {
        Ok(self.str(key)?.unwrap_or_default().to_string())
    }

    /// Both writers put "" where they know nothing, which here means `None`.
    fn non_empty(&self, key: &str) -> Result<Option<String>, String> {
        Ok(self.str(key)?.filter(|s| !s.is_empty()).map(str::to_string))
    }

    fn u64(&self, key: &str) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(0),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("{}: \"{key}\" is not a non-negative integer", self.at)),
        }
    }

    fn array(&self, key: &str) -> Result<&'a [Value], String> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(format!("{}: \"{key}\" is not an array", self.at)),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{}: not a string", self.item(key, i)))
            })
            .collect()
    }

    /// Where the `i`th element of the array under `key` is.
    fn item(&self, key: &str, i: usize) -> String {
        format!("{}.{key}[{i}]", self.at)
    }
}

/// Reads an element that Syft has written as a plain string in some versions and as an object
/// in others; `from_object` takes the string out of the object.
fn string_or_object(
    v: &Value,
    at: String,
    from_object: impl Fn(&Obj) -> Result<String, String>,
) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(_) => from_object(&Obj::new(v, at)?),
        _ => Err(format!("{at}: neither a string nor an object")),
    }
}

fn read_artifact(a: &Obj) -> Result<Option<Package>, String> {
    let Some(kind) = pkg_type(a.required_str("type")?) else {
        return Ok(None);
    };
    let name = a.required_str("name")?;
    let version = a.required_str("version")?;
    let metadata = a.get("metadata").cloned().unwrap_or(Value::Null);
    // metadata of another shape is kept as it is, but tells nothing about the package
    let meta = match &metadata {
        Value::Object(map) => Some(Obj {
            map,
            at: format!("{}.metadata", a.at),
        }),
        _ => None,
    };
    let meta = meta.as_ref();
    let purl = a.text("purl")?;

    let cpes = a
        .array("cpes")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            string_or_object(c, a.item("cpes", i), |o| {
                Ok(o.required_str("cpe")?.to_string())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut licenses = Vec::new();
    for (i, l) in a.array("licenses")?.iter().enumerate() {
        let l = string_or_object(l, a.item("licenses", i), |o| {
            match o.non_empty("value")? {
                Some(v) => Ok(v),
                None => o.text("spdxExpression"),
            }
        })?;
        if !l.is_empty() {
            licenses.push(l);
        }
    }
    let locations = a
        .array("locations")?
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let l = Obj::new(l, a.item("locations", i))?;
            Ok(Location {
                path: l.required_str("path")?.to_string(),
                layer: l.non_empty("layerID")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

    let found = a.str("foundBy")?.unwrap_or_default();
    let found_by = catalogers::NAMES
        .iter()
        .copied()
        .find(|n| *n == found)
        .unwrap_or(SYFT_JSON_FOUND_BY);
    let (source_name, source_version) = source_package(kind, name, version, meta)?;
    let (arch, supplier) = if kind.is_os() {
        let supplier_key = if kind == PkgType::Rpm {
            "vendor"
        } else {
            "maintainer"
        };
        (
            meta_str(meta, "architecture")?,
            meta_str(meta, supplier_key)?,
        )
    } else {
        (None, None)
    };
    let namespace = if kind == PkgType::JavaArchive {
        maven_group(&purl, meta)
    } else {
        None
    };
    Ok(Some(Package {
        name: name.to_string(),
        version: version.to_string(),
        kind,
        namespace,
        purl,
        cpes,
        licenses,
        source_name,
        source_version,
        arch,
        supplier,
        locations,
        files: owned_files(meta),
        found_by,
        metadata_type: a.text("metadataType")?.into(),
        metadata,
    }))
}

fn meta_str(meta: Option<&Obj>, key: &str) -> Result<Option<String>, String> {
    match meta {
        Some(m) => m.non_empty(key),
        None => Ok(None),
    }
}

/// Source package name and version of an OS package, as the catalogers would have set them:
/// the package itself when the metadata names no other.
fn source_package(
    kind: PkgType,
    name: &str,
    version: &str,
    meta: Option<&Obj>,
) -> Result<(Option<String>, Option<String>), String> {
    let (n, v) = match kind {
        PkgType::Deb => {
            // Syft splits dpkg's `Source: name (version)` into `source` and `sourceVersion`;
            // older Syft versions left it whole in `source`
            let source = meta_str(meta, "source")?;
            let (n, in_source) = match source.as_deref() {
                Some(s) => dpkg::split_source(s),
                None => (name, None),
            };
            let v = match meta_str(meta, "sourceVersion")? {
                Some(v) => v,
                None => in_source.unwrap_or(version).to_string(),
            };
            (n.to_string(), v)
        }
        PkgType::Apk => (
            meta_str(meta, "originPackage")?.unwrap_or_else(|| name.to_string()),
            version.to_string(),
        ),
        PkgType::Rpm => match meta_str(meta, "sourceRpm")?
            .as_deref()
            .and_then(rpm::split_source_rpm)
        {
            Some(nv) => nv,
            // like the cataloger without a source rpm: version-release, no epoch
            None => match (meta_str(meta, "version")?, meta_str(meta, "release")?) {
                (Some(v), Some(r)) => (name.to_string(), format!("{v}-{r}")),
                _ => (name.to_string(), version.to_string()),
            },
        },
        _ => return Ok((None, None)),
    };
    Ok((Some(n), Some(v)))
}

/// The files a package manager records for the package. They only inform, so records of a
/// shape we don't know are skipped rather than failing the document.
fn owned_files(meta: Option<&Obj>) -> Vec<String> {
    let Some(Value::Array(files)) = meta.and_then(|m| m.get("files")) else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| match f {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("path")?.as_str().map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The Maven groupId: the purl's namespace, which is there whichever way the artifact was
/// identified, else `pomProperties.groupId`.
fn maven_group(purl: &str, meta: Option<&Obj>) -> Option<String> {
    let from_purl = purl
        .strip_prefix("pkg:maven/")
        .and_then(|rest| rest.split(['@', '?', '#']).next())
        .and_then(|path| path.rsplit_once('/'))
        .map(|(ns, _)| percent_decode(ns))
        .filter(|ns| !ns.is_empty());
    from_purl.or_else(|| {
        meta?
            .get("pomProperties")?
            .get("groupId")?
            .as_str()
            .filter(|g| !g.is_empty())
            .map(str::to_string)
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: Option<&u8>| c.and_then(|&c| (c as char).to_digit(16)).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_source(s: &Obj) -> Result<ImageMetadata, String> {
    let ty = s.str("type")?.unwrap_or("image");
    // older schemas called the metadata `target`, and made it the bare path for directories
    let meta = s.get("metadata").or_else(|| s.get("target"));
    if matches!(ty, "directory" | "file") {
        let path = match meta {
            Some(Value::String(p)) => p.clone(),
            Some(m) => Obj::new(m, "source.metadata")?.text("path")?,
            None => String::new(),
        };
        return Ok(ImageMetadata {
            user_input: if path.is_empty() {
                s.text("name")?
            } else {
                path
            },
            source_kind: "dir",
            ..Default::default()
        });
    }
    let mut md = ImageMetadata {
        user_input: s.text("name")?,
        source_kind: "image",
        ..Default::default()
    };
    let Some(m) = meta else {
        return Ok(md);
    };
    let m = Obj::new(m, "source.metadata")?;
    if let Some(u) = m.non_empty("userInput")? {
        md.user_input = u;
    }
    md.image_id = m.non_empty("imageID")?;
    md.manifest_digest = m.non_empty("manifestDigest")?;
    md.manifest_media_type = m.non_empty("mediaType")?;
    md.tags = m.strings("tags")?;
    md.repo_digests = m.strings("repoDigests")?;
    md.os = m.non_empty("os")?;
    md.architecture = m.non_empty("architecture")?;
    md.variant = m.non_empty("variant")?;
    md.size = m.u64("imageSize")?;
    // the raw manifest and config only inform: one that does not decode is dropped
    let blob = |key: &str| -> Result<Option<Vec<u8>>, String> {
        Ok(m.str(key)?
            .filter(|b| !b.is_empty())
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()))
    };
    md.raw_manifest = blob("manifest")?;
    md.raw_config = blob("config")?;
    for (i, l) in m.array("layers")?.iter().enumerate() {
        let l = Obj::new(l, m.item("layers", i))?;
        // Syft gives the digest of the uncompressed tar; the blob's own digest is not in the
        // document, so it stands in for that too
        let digest = l.required_str("digest")?.to_string();
        md.layers.push(LayerInfo {
            diff_id: Some(digest.clone()),
            digest,
            media_type: l.text("mediaType")?,
            size: l.u64("size")?,
        });
    }
    Ok(md)
}

fn read_distro(d: &Obj) -> Result<Option<Distro>, String> {
    let id_like = match d.get("idLike") {
        // os-release's own form, space-separated
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => d.strings("idLike")?,
    };
    let distro = Distro {
        id: d.text("id")?,
        version_id: d.text("versionID")?,
        name: d.text("name")?,
        pretty_name: d.text("prettyName")?,
        version_codename: d.text("versionCodename")?,
        id_like,
        home_url: d.text("homeURL")?,
        bug_report_url: d.text("bugReportURL")?,
    };
    // Syft writes `{}` when the image has no os-release
    let nothing = [
        &distro.id,
        &distro.version_id,
        &distro.name,
        &distro.pretty_name,
    ]
    .iter()
    .all(|s| s.is_empty())
        && distro.id_like.is_empty();
    Ok((!nothing).then_some(distro))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{Kept, Record};
    use crate::catalogers::{apk, golang, python};

    const DIFF_IDS: [&str; 2] = ["sha256:1111", "sha256:2222"];

    fn kept(kind: Record, path: &str, layer: usize, data: &str) -> Kept {
        Kept {
            kind,
            path: path.into(),
            layer: Some(layer),
            data: data.as_bytes().to_vec(),
        }
    }

    fn loc(path: &str, layer: Option<usize>) -> Location {
        Location {
            path: path.into(),
            layer: layer.map(|i| DIFF_IDS[i].to_string()),
        }
    }

    fn debian() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: "12".into(),
            name: "Debian GNU/Linux".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            version_codename: "bookworm".into(),
            id_like: Vec::new(),
            home_url: "https://www.debian.org/".into(),
            bug_report_url: "https://bugs.debian.org/".into(),
        }
    }

    /// Packages as our catalogers make them, so the round trip covers the metadata they write.
    fn cataloged() -> Catalog {
        let status = "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\nMaintainer: Debian OpenSSL Team\n\n\
            Package: libpython3.11\nStatus: install ok installed\nVersion: 3.11.2-6+b1\nArchitecture: amd64\nSource: python3.11 (3.11.2-6)\n\n\
            Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n";
        let dpkg_files = [
            kept(Record::DpkgStatus, "/var/lib/dpkg/status", 0, status),
            kept(
                Record::DpkgList,
                "/var/lib/dpkg/info/libssl3:amd64.list",
                0,
                "/.\n/usr\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n",
            ),
            kept(
                Record::DpkgCopyright,
                "/usr/share/doc/libssl3/copyright",
                0,
                "Files: *\nLicense: Apache-2.0\n",
            ),
        ];
        let installed =
            "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\nm:Timo\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
            P:busybox-binsh\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\no:busybox\n";
        let apk_files = [kept(
            Record::ApkInstalled,
            "/lib/apk/db/installed",
            1,
            installed,
        )];
        let dist_info = "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info";
        let python_files = [
            kept(
                Record::PythonMetadata,
                &format!("{dist_info}/METADATA"),
                1,
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n",
            ),
            kept(
                Record::PythonRecord,
                &format!("{dist_info}/RECORD"),
                1,
                "requests/__init__.py,sha256=x,5\n",
            ),
        ];
        let mut info = golang::parse_modinfo(
            "path\tgithub.com/example/app\nmod\tgithub.com/example/app\tv1.0.0\t\ndep\tgithub.com/google/uuid\tv1.3.0\th1:abc=\nbuild\tGOARCH=amd64\n",
        );
        info.go_version = "go1.22.1".into();

        let alpine = Distro {
            id: "alpine".into(),
            version_id: "3.18.4".into(),
            ..Default::default()
        };
        let mut packages = crate::catalogers::dpkg::catalog(&dpkg_files, Some(&debian()), &loc);
        packages.extend(apk::catalog(&apk_files, Some(&alpine), &loc));
        packages.extend(python::catalog(&python_files, &loc));
        packages.extend(golang::packages(&info, &loc("/usr/bin/app", Some(1))));
        Catalog {
            source: ImageMetadata {
                user_input: "registry.example/app:1".into(),
                source_kind: "registry",
                tags: vec!["registry.example/app:1".into()],
                repo_digests: vec!["registry.example/app@sha256:cccc".into()],
                manifest_digest: Some("sha256:cccc".into()),
                manifest_media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
                raw_manifest: Some(b"{\"schemaVersion\":2}".to_vec()),
                raw_config: Some(b"{\"os\":\"linux\"}".to_vec()),
                image_id: Some("sha256:dddd".into()),
                os: Some("linux".into()),
                architecture: Some("amd64".into()),
                variant: None,
                layers: DIFF_IDS
                    .iter()
                    .enumerate()
                    .map(|(i, d)| LayerInfo {
                        digest: format!("sha256:blob{i}"),
                        diff_id: Some(d.to_string()),
                        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                        size: 100 + i as u64,
                    })
                    .collect(),
                size: 201,
            },
            distro: Some(debian()),
            packages,
            file_count: 7,
        }
    }

    fn find<'a>(c: &'a Catalog, name: &str) -> &'a Package {
        c.packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no package {name}"))
    }

    #[test]
    fn round_trip_keeps_what_matching_uses() {
        let before = cataloged();
        let kinds: Vec<PkgType> = before.packages.iter().map(|p| p.kind).collect();
        for k in [
            PkgType::Deb,
            PkgType::Apk,
            PkgType::Python,
            PkgType::GoModule,
        ] {
            assert!(kinds.contains(&k), "fixture has no {k:?} package");
        }
        let doc = to_syft(&before);
        let after = from_syft(&doc).unwrap();

        assert_eq!(after.packages.len(), before.packages.len());
        for (b, a) in before.packages.iter().zip(&after.packages) {
            // Package has no PartialEq; its serialization holds every field
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::to_value(b).unwrap(),
                "{}",
                b.name
            );
        }
        // and the source packages really differ from the binary ones where they should
        let ssl = find(&after, "libssl3");
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(ssl.source_version.as_deref(), Some("3.0.11-1~deb12u2"));
        let py = find(&after, "libpython3.11");
        assert_eq!(py.source_name.as_deref(), Some("python3.11"));
        assert_eq!(py.source_version.as_deref(), Some("3.11.2-6"));
        assert_eq!(
            find(&after, "busybox-binsh").source_name.as_deref(),
            Some("busybox")
        );
        assert_eq!(find(&after, "musl").source_name.as_deref(), Some("musl"));
        assert_eq!(find(&after, "requests").source_name, None);

        assert_eq!(
            serde_json::to_value(&after.distro).unwrap(),
            serde_json::to_value(&before.distro).unwrap()
        );
        let (s, b) = (&after.source, &before.source);
        assert_eq!(s.source_kind, "image");
        assert_eq!(s.user_input, b.user_input);
        assert_eq!(s.tags, b.tags);
        assert_eq!(s.repo_digests, b.repo_digests);
        assert_eq!(s.manifest_digest, b.manifest_digest);
        assert_eq!(s.manifest_media_type, b.manifest_media_type);
        assert_eq!(s.raw_manifest, b.raw_manifest);
        assert_eq!(s.raw_config, b.raw_config);
        assert_eq!(s.image_id, b.image_id);
        assert_eq!(s.os, b.os);
        assert_eq!(s.architecture, b.architecture);
        assert_eq!(s.size, b.size);
        let layers: Vec<_> = s
            .layers
            .iter()
            .map(|l| (l.diff_id.as_deref(), l.media_type.as_str(), l.size))
            .collect();
        let want: Vec<_> = b
            .layers
            .iter()
            .map(|l| (l.diff_id.as_deref(), l.media_type.as_str(), l.size))
            .collect();
        assert_eq!(layers, want);
        assert_eq!(after.file_count, 0);

        // what is read back writes the same document
        assert_eq!(to_syft(&after), doc);
    }

    #[test]
    fn every_type_we_write_is_read() {
        for k in [
            PkgType::Deb,
            PkgType::Apk,
            PkgType::Rpm,
            PkgType::Python,
            PkgType::Npm,
            PkgType::GoModule,
            PkgType::JavaArchive,
            PkgType::RustCrate,
            PkgType::Gem,
            PkgType::PhpComposer,
            PkgType::Dotnet,
        ] {
            assert_eq!(pkg_type(k.syft_type()), Some(k));
        }
    }

    /// Trimmed from what Syft 1.x writes for a Debian image (plus artifacts of other images and
    /// other Syft versions).
    fn syft_document() -> Value {
        json!({
            "artifacts": [
                {
                    "id": "a1", "name": "libssl3", "version": "3.0.11-1~deb12u2", "type": "deb",
                    "foundBy": "dpkg-db-cataloger",
                    "locations": [
                        {"path": "/var/lib/dpkg/status", "layerID": "sha256:1111", "accessPath": "/var/lib/dpkg/status", "annotations": {"evidence": "primary"}},
                        {"path": "/usr/share/doc/libssl3/copyright", "layerID": "sha256:1111", "accessPath": "/usr/share/doc/libssl3/copyright", "annotations": {"evidence": "supporting"}}
                    ],
                    "licenses": [{"value": "Apache-2.0", "spdxExpression": "Apache-2.0", "type": "declared", "urls": [], "locations": []}],
                    "language": "",
                    "cpes": [
                        {"cpe": "cpe:2.3:a:libssl3:libssl3:3.0.11-1\\~deb12u2:*:*:*:*:*:*:*", "source": "syft-generated"},
                        {"cpe": "cpe:2.3:a:debian:libssl3:3.0.11-1\\~deb12u2:*:*:*:*:*:*:*", "source": "syft-generated"}
                    ],
                    "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
                    "metadataType": "dpkg-db-entry",
                    "metadata": {
                        "package": "libssl3", "source": "openssl", "version": "3.0.11-1~deb12u2",
                        "sourceVersion": "3.0.11-1~deb12u2", "architecture": "amd64",
                        "maintainer": "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>",
                        "installedSize": 6000, "provides": null,
                        "files": [{"path": "/usr/lib/x86_64-linux-gnu/libssl.so.3", "digest": {"algorithm": "md5", "value": "00"}, "isConfigFile": false}]
                    }
                },
                {
                    "name": "libpython3.11", "version": "3.11.2-6+b1", "type": "deb",
                    "foundBy": "dpkg-db-cataloger", "locations": [{"path": "/var/lib/dpkg/status"}],
                    "purl": "pkg:deb/debian/libpython3.11@3.11.2-6%2Bb1?arch=amd64",
                    "metadataType": "DpkgMetadata",
                    "metadata": {"package": "libpython3.11", "source": "python3.11 (3.11.2-6)", "version": "3.11.2-6+b1"}
                },
                {
                    "name": "tzdata", "version": "2024a-0+deb12u1", "type": "deb",
                    "foundBy": "dpkg-db-cataloger", "locations": [],
                    "metadata": {"package": "tzdata", "version": "2024a-0+deb12u1", "architecture": "all"}
                },
                {
                    "name": "busybox-binsh", "version": "1.36.1-r15", "type": "apk",
                    "foundBy": "apk-db-cataloger",
                    "locations": [{"path": "/lib/apk/db/installed", "layerID": "sha256:2222"}],
                    "licenses": [{"value": "GPL-2.0-only", "spdxExpression": "GPL-2.0-only", "type": "declared"}],
                    "cpes": [{"cpe": "cpe:2.3:a:busybox-binsh:busybox-binsh:1.36.1-r15:*:*:*:*:*:*:*", "source": "syft-generated"}],
                    "purl": "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&upstream=busybox&distro=alpine-3.19.1",
                    "metadataType": "apk-db-entry",
                    "metadata": {"originPackage": "busybox"}
                },
                {
                    "name": "openssl-libs", "version": "1:3.0.7-24.el9", "type": "rpm",
                    "foundBy": "rpm-db-cataloger", "locations": [{"path": "/var/lib/rpm/rpmdb.sqlite"}],
                    "metadataType": "rpm-db-entry",
                    "metadata": {"name": "openssl-libs", "version": "3.0.7", "epoch": 1, "architecture": "x86_64", "release": "24.el9", "sourceRpm": "openssl-3.0.7-24.el9.src.rpm", "vendor": "Red Hat, Inc."}
                },
                {
                    "name": "jackson-databind", "version": "2.15.2", "type": "java-archive",
                    "foundBy": "java-archive-cataloger", "locations": [{"path": "/app/app.jar"}],
                    "purl": "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.15.2",
                    "metadataType": "java-archive",
                    "metadata": {"virtualPath": "/app/app.jar:BOOT-INF/lib/jackson-databind-2.15.2.jar"}
                },
                {
                    "name": "git", "version": "5.2.1", "type": "jenkins-plugin",
                    "foundBy": "java-archive-cataloger", "locations": [{"path": "/var/jenkins_home/plugins/git.jpi"}],
                    "purl": "pkg:maven/org.jenkins-ci.plugins/git@5.2.1"
                },
                {
                    "name": "busybox", "version": "1.36.1", "type": "binary",
                    "foundBy": "binary-classifier-cataloger", "locations": [{"path": "/bin/busybox"}]
                },
                {
                    "name": "lodash", "version": "4.17.21", "type": "npm",
                    "foundBy": "javascript-lock-cataloger", "locations": [{"path": "/app/package-lock.json"}],
                    "licenses": ["MIT"],
                    "cpes": ["cpe:2.3:a:lodash:lodash:4.17.21:*:*:*:*:*:*:*"],
                    "purl": "pkg:npm/lodash@4.17.21",
                    "metadataType": "NpmPackageLockJsonMetadata", "metadata": {}
                },
                {
                    "name": "six", "version": "1.16.0", "type": "python",
                    "foundBy": "python-package-cataloger", "locations": [{"path": "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"}],
                    "purl": "pkg:pypi/six@1.16.0"
                }
            ],
            "artifactRelationships": [],
            "source": {
                "id": "sha256:dddd", "name": "debian", "version": "sha256:cccc", "type": "image",
                "metadata": {
                    "userInput": "debian:12", "imageID": "sha256:dddd", "manifestDigest": "sha256:cccc",
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "tags": ["debian:12"], "imageSize": 120000,
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": "sha256:1111", "size": 120000}],
                    "manifest": "e30=", "config": "eyJvcyI6ImxpbnV4In0=",
                    "repoDigests": ["debian@sha256:eeee"], "architecture": "amd64", "os": "linux"
                }
            },
            "distro": {
                "prettyName": "Debian GNU/Linux 12 (bookworm)", "name": "Debian GNU/Linux", "id": "debian",
                "version": "12 (bookworm)", "versionID": "12", "versionCodename": "bookworm",
                "homeURL": "https://www.debian.org/", "supportURL": "https://www.debian.org/support",
                "bugReportURL": "https://bugs.debian.org/"
            },
            "descriptor": {"name": "syft", "version": "1.4.1"},
            "schema": {"version": "16.0.10", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.10.json"}
        })
    }

    #[test]
    fn reads_syft_documents() {
        let c = from_syft(&syft_document()).unwrap();
        let names: Vec<(&str, PkgType)> = c
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.kind))
            .collect();
        // the `binary` artifact has no ecosystem of ours and is left out
        assert_eq!(
            names,
            vec![
                ("libssl3", PkgType::Deb),
                ("libpython3.11", PkgType::Deb),
                ("tzdata", PkgType::Deb),
                ("busybox-binsh", PkgType::Apk),
                ("openssl-libs", PkgType::Rpm),
                ("jackson-databind", PkgType::JavaArchive),
                ("git", PkgType::JavaArchive),
                ("lodash", PkgType::Npm),
                ("six", PkgType::Python),
            ]
        );
        let src = |name: &str| {
            let p = find(&c, name);
            (p.source_name.as_deref(), p.source_version.as_deref())
        };
        assert_eq!(src("libssl3"), (Some("openssl"), Some("3.0.11-1~deb12u2")));
        assert_eq!(src("libpython3.11"), (Some("python3.11"), Some("3.11.2-6")));
        assert_eq!(src("tzdata"), (Some("tzdata"), Some("2024a-0+deb12u1")));
        assert_eq!(src("busybox-binsh"), (Some("busybox"), Some("1.36.1-r15")));
        assert_eq!(src("openssl-libs"), (Some("openssl"), Some("3.0.7-24.el9")));
        assert_eq!(src("lodash"), (None, None));

        let ssl = find(&c, "libssl3");
        assert_eq!(ssl.version, "3.0.11-1~deb12u2");
        assert_eq!(ssl.found_by, crate::catalogers::dpkg::CATALOGER);
        assert_eq!(
            ssl.cpes,
            vec![
                "cpe:2.3:a:libssl3:libssl3:3.0.11-1\\~deb12u2:*:*:*:*:*:*:*",
                "cpe:2.3:a:debian:libssl3:3.0.11-1\\~deb12u2:*:*:*:*:*:*:*"
            ]
        );
        assert_eq!(ssl.licenses, vec!["Apache-2.0"]);
        assert_eq!(ssl.locations[0], loc("/var/lib/dpkg/status", Some(0)));
        assert_eq!(ssl.locations.len(), 2);
        assert_eq!(ssl.arch.as_deref(), Some("amd64"));
        assert_eq!(ssl.files, vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
        assert_eq!(ssl.metadata_type, "dpkg-db-entry");
        assert_eq!(ssl.metadata["installedSize"], 6000);
        assert_eq!(find(&c, "libpython3.11").metadata_type, "DpkgMetadata");
        assert_eq!(
            find(&c, "openssl-libs").supplier.as_deref(),
            Some("Red Hat, Inc.")
        );

        let lodash = find(&c, "lodash");
        assert_eq!(
            lodash.cpes,
            vec!["cpe:2.3:a:lodash:lodash:4.17.21:*:*:*:*:*:*:*"]
        );
        assert_eq!(lodash.licenses, vec!["MIT"]);
        assert_eq!(lodash.found_by, crate::catalogers::lockfiles::NPM_CATALOGER);
        // a cataloger of Syft's that we have no counterpart for
        assert_eq!(find(&c, "six").found_by, SYFT_JSON_FOUND_BY);
        assert_eq!(
            find(&c, "jackson-databind").namespace.as_deref(),
            Some("com.fasterxml.jackson.core")
        );
        assert_eq!(
            find(&c, "git").namespace.as_deref(),
            Some("org.jenkins-ci.plugins")
        );

        let d = c.distro.as_ref().unwrap();
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
        assert_eq!(d.version_codename, "bookworm");
        let s = &c.source;
        assert_eq!(s.source_kind, "image");
        assert_eq!(s.user_input, "debian:12");
        assert_eq!(s.image_id.as_deref(), Some("sha256:dddd"));
        assert_eq!(s.manifest_digest.as_deref(), Some("sha256:cccc"));
        assert_eq!(s.tags, vec!["debian:12"]);
        assert_eq!(s.repo_digests, vec!["debian@sha256:eeee"]);
        assert_eq!(s.raw_config.as_deref(), Some(&b"{\"os\":\"linux\"}"[..]));
        assert_eq!(s.size, 120000);
        assert_eq!(s.layers[0].diff_id.as_deref(), Some("sha256:1111"));
        assert_eq!(c.file_count, 0);
    }

    #[test]
    fn reads_directory_sources_and_empty_distros() {
        let c = from_syft(&json!({
            "artifacts": [],
            "source": {"id": "x", "name": "/src", "type": "directory", "metadata": {"path": "/src"}},
            "distro": {}
        }))
        .unwrap();
        assert_eq!(c.source.source_kind, "dir");
        assert_eq!(c.source.user_input, "/src");
        assert!(c.distro.is_none());
        assert!(c.packages.is_empty());
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |doc: Value| from_syft(&doc).unwrap_err();
        let artifact =
            |a: Value| json!({"artifacts": [{"name": "a", "version": "1", "type": "npm"}, a]});
        assert_eq!(
            err(json!([])),
            "not a Syft JSON document: not a JSON object"
        );
        assert_eq!(
            err(json!({"bomFormat": "CycloneDX", "components": []})),
            "not a Syft JSON document: no \"artifacts\" array"
        );
        assert_eq!(
            err(json!({"artifacts": {}})),
            "not a Syft JSON document: no \"artifacts\" array"
        );
        assert_eq!(err(artifact(json!(5))), "artifacts[1]: not an object");
        assert_eq!(
            err(artifact(json!({"version": "1", "type": "npm"}))),
            "artifacts[1]: missing \"name\""
        );
        assert_eq!(
            err(artifact(json!({"name": "a", "type": "npm"}))),
            "artifacts[1]: missing \"version\""
        );
        assert_eq!(
            err(artifact(json!({"name": "a", "version": "1"}))),
            "artifacts[1]: missing \"type\""
        );
        assert_eq!(
            err(artifact(json!({"name": 5, "version": "1", "type": "npm"}))),
            "artifacts[1]: \"name\" is not a string"
        );
        assert_eq!(
            err(artifact(
                json!({"name": "a", "version": "1", "type": "npm", "cpes": [true]})
            )),
            "artifacts[1].cpes[0]: neither a string nor an object"
        );
        assert_eq!(
            err(artifact(
                json!({"name": "a", "version": "1", "type": "npm", "cpes": [{"source": "x"}]})
            )),
            "artifacts[1].cpes[0]: missing \"cpe\""
        );
        assert_eq!(
            err(artifact(
                json!({"name": "a", "version": "1", "type": "npm", "locations": [{"layerID": "x"}]})
            )),
            "artifacts[1].locations[0]: missing \"path\""
        );
        assert_eq!(
            err(artifact(
                json!({"name": "a", "version": "1", "type": "deb", "metadata": {"source": 1}})
            )),
            "artifacts[1].metadata: \"source\" is not a string"
        );
        assert_eq!(
            err(json!({"artifacts": [], "source": {"type": "image", "metadata": {"tags": "x"}}})),
            "source.metadata: \"tags\" is not an array"
        );
        assert_eq!(
            err(json!({"artifacts": [], "distro": "debian"})),
            "distro: not an object"
        );
        // what we cannot match is skipped, not an error, whatever else it lacks
        assert!(from_syft(&artifact(json!({"type": "binary"})))
            .unwrap()
            .packages
            .iter()
            .all(|p| p.name == "a"));
    }
}
