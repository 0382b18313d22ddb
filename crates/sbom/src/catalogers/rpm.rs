//! RPM: the SQLite package database of rpm >= 4.16 (`/var/lib/rpm/rpmdb.sqlite`,
//! `/usr/lib/sysimage/rpm/rpmdb.sqlite`). Each row of `Packages` is an RPM header blob, parsed
//! here. Berkeley DB and NDB databases (older RHEL/SUSE) are not read.

use std::collections::HashMap;

use serde_json::json;

use super::base;
use crate::catalog::{Kept, Record};
use crate::model::{Distro, Location, Package, PkgType};
use crate::purl::purl;

/// `foundBy` of the packages this cataloger finds (Syft's name for its counterpart).
pub const CATALOGER: &str = "rpm-db-cataloger";

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const SIZE: u32 = 1009;
const VENDOR: u32 = 1011;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;
const DIRINDEXES: u32 = 1116;
const BASENAMES: u32 = 1117;
const DIRNAMES: u32 = 1118;
const MODULARITYLABEL: u32 = 5096;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Strs(Vec<String>),
    Ints(Vec<i64>),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn cstr(data: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = data.get(at..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..end]).into_owned(),
        at + end + 1,
    ))
}

/// Parses an RPM header as stored in the database: index count, data length, 16-byte index
/// entries (tag, type, offset, count), then the data store. `None` for a malformed blob.
pub fn parse_header(blob: &[u8]) -> Option<HashMap<u32, Value>> {
    let il = be32(blob, 0)? as usize;
    let dl = be32(blob, 4)? as usize;
    let data_start = 8usize.checked_add(il.checked_mul(16)?)?;
    let data = blob.get(data_start..data_start.checked_add(dl)?)?;
    let mut out = HashMap::new();
    for i in 0..il {
        let e = 8 + i * 16;
        let tag = be32(blob, e)?;
        let ty = be32(blob, e + 4)?;
        let off = be32(blob, e + 8)? as usize;
        let cnt = be32(blob, e + 12)? as usize;
        if off >= data.len() && cnt > 0 {
            continue;
        }
        let v = match ty {
            6 | 9 => Value::Str(cstr(data, off)?.0),
            8 => {
                let mut v = Vec::with_capacity(cnt.min(1 << 16));
                let mut at = off;
                for _ in 0..cnt {
                    let (s, next) = cstr(data, at)?;
                    v.push(s);
                    at = next;
                }
                Value::Strs(v)
            }
            2..=5 => {
                let w = match ty {
                    2 => 1,
                    3 => 2,
                    4 => 4,
                    _ => 8,
                };
                let bytes = data.get(off..off.checked_add(cnt.checked_mul(w)?)?)?;
                Value::Ints(
                    bytes
                        .chunks(w)
                        .map(|c| c.iter().fold(0i64, |a, &b| (a << 8) | i64::from(b)))
                        .collect(),
                )
            }
            _ => continue,
        };
        out.insert(tag, v);
    }
    Some(out)
}

fn s(h: &HashMap<u32, Value>, tag: u32) -> Option<&str> {
    match h.get(&tag) {
        Some(Value::Str(s)) => Some(s),
        Some(Value::Strs(v)) => v.first().map(String::as_str),
        _ => None,
    }
}

/// Source package name and `version-release` from a source rpm file name
/// (`openssl-3.0.7-24.el9.src.rpm` -> `openssl`, `3.0.7-24.el9`).
pub(crate) fn split_source_rpm(srpm: &str) -> Option<(String, String)> {
    let n = srpm.strip_suffix(".src.rpm")?;
    let (rest, rel) = n.rsplit_once('-')?;
    let (name, ver) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{ver}-{rel}")))
}

fn headers(db: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    // SQLite needs a file: a private temporary copy of the (small) database file
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut tmp, db).map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open_with_flags(
        tmp.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

pub(crate) fn catalog(
    kept: &[Kept],
    distro: Option<&Distro>,
    loc: &dyn Fn(&str, Option<usize>) -> Location,
) -> Vec<Package> {
    let mut out = Vec::new();
    let (ns, distro_q) = match distro {
        Some(d) if !d.id.is_empty() => (d.id.clone(), format!("{}-{}", d.id, d.version_id)),
        _ => (String::new(), String::new()),
    };
    for k in kept.iter().filter(|k| k.kind == Record::RpmDb) {
        let blobs = match headers(&k.data) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("{}: cannot read the RPM database: {e}", k.path);
                continue;
            }
        };
        for blob in blobs {
            let Some(h) = parse_header(&blob) else {
                tracing::warn!("{}: malformed RPM header skipped", k.path);
                continue;
            };
            let (Some(name), Some(ver), Some(rel)) = (s(&h, NAME), s(&h, VERSION), s(&h, RELEASE))
            else {
                continue;
            };
            if name == "gpg-pubkey" {
                continue; // imported signing keys, not software
            }
            let epoch = match h.get(&EPOCH) {
                Some(Value::Ints(v)) => v.first().copied(),
                _ => None,
            };
            let arch = s(&h, ARCH).unwrap_or("");
            let version = match epoch {
                Some(e) => format!("{e}:{ver}-{rel}"),
                None => format!("{ver}-{rel}"),
            };
            let srpm = s(&h, SOURCERPM).unwrap_or("");
            let (src_name, src_version) = split_source_rpm(srpm)
                .unwrap_or_else(|| (name.to_string(), format!("{ver}-{rel}")));
            let epoch_s = epoch.map(|e| e.to_string()).unwrap_or_default();
            let p_url = purl(
                "rpm",
                Some(ns.as_str()).filter(|n| !n.is_empty()),
                name,
                &format!("{ver}-{rel}"),
                &[
                    ("arch", arch),
                    ("epoch", &epoch_s),
                    ("distro", &distro_q),
                    ("upstream", srpm),
                ],
            );
            let mut pkg = base(
                PkgType::Rpm,
                name,
                &version,
                p_url,
                loc(&k.path, k.layer),
                CATALOGER,
            );
            pkg.arch = Some(arch.to_string()).filter(|a| !a.is_empty());
            pkg.source_name = Some(src_name);
            pkg.source_version = Some(src_version);
            pkg.supplier = s(&h, VENDOR).map(str::to_string);
            if let Some(l) = s(&h, LICENSE) {
                pkg.licenses = vec![l.to_string()];
            }
            if let (Some(Value::Strs(dirs)), Some(Value::Strs(bases)), Some(Value::Ints(idx))) =
                (h.get(&DIRNAMES), h.get(&BASENAMES), h.get(&DIRINDEXES))
            {
                pkg.files = bases
                    .iter()
                    .zip(idx)
                    .filter_map(|(b, &i)| {
                        dirs.get(usize::try_from(i).ok()?)
                            .map(|d| format!("{d}{b}"))
                    })
                    .collect();
            }
            pkg.metadata_type = "rpm-db-entry".into();
            pkg.metadata = json!({
                "name": name, "version": ver, "epoch": epoch, "architecture": arch, "release": rel,
                "sourceRpm": srpm, "vendor": s(&h, VENDOR).unwrap_or(""),
                "modularityLabel": s(&h, MODULARITYLABEL).unwrap_or(""),
                "size": match h.get(&SIZE) { Some(Value::Ints(v)) => v.first().copied().unwrap_or(0), _ => 0 },
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
    fn parses_a_header_and_rejects_garbage() {
        // two entries: NAME (string) and DIRINDEXES (int32 x2)
        let mut data = b"bash\0".to_vec();
        data.extend_from_slice(&[0, 0, 0]); // padding to 8
        data.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        let mut blob = Vec::new();
        blob.extend_from_slice(&2u32.to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, ty, off, cnt) in [(NAME, 6u32, 0u32, 1u32), (DIRINDEXES, 4, 8, 2)] {
            for v in [tag, ty, off, cnt] {
                blob.extend_from_slice(&v.to_be_bytes());
            }
        }
        blob.extend_from_slice(&data);
        let h = parse_header(&blob).unwrap();
        assert_eq!(h.get(&NAME), Some(&Value::Str("bash".into())));
        assert_eq!(h.get(&DIRINDEXES), Some(&Value::Ints(vec![1, 2])));
        assert!(parse_header(&blob[..20]).is_none());
        assert!(parse_header(&[0xff; 8]).is_none());
    }
}
