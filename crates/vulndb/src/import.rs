//! Importers: OSV records (JSON or YAML, one per file, in any directory tree), Alpine secdb
//! files, and the Debian security tracker's JSON. Everything becomes [`Advisory`] records.

use crate::advisory::{normalize_package, Advisory, Affected, Range, RangeEvent};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// What one import found.
#[derive(Debug, Default)]
pub struct Imported {
    pub advisories: Vec<Advisory>,
    /// Files that were read but are not vulnerability records (licences, READMEs, ...).
    pub skipped_files: usize,
    /// Records that could not be used, with the reason.
    pub problems: Vec<String>,
}

/// Imports every record under `path` (a file or a directory, recursively).
pub fn import_path(path: &Path) -> Result<Imported, ImportError> {
    let mut out = Imported::default();
    let meta = std::fs::metadata(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| ImportError::Read {
                path: dir.clone(),
                source,
            })?;
            let mut files: Vec<PathBuf> = Vec::new();
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
            files.sort();
            for f in files {
                import_file(&f, &mut out)?;
            }
        }
    } else {
        import_file(path, &mut out)?;
    }
    Ok(out)
}

fn import_file(path: &Path, out: &mut Imported) -> Result<(), ImportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "zip" {
        return import_zip(path, out);
    }
    if !matches!(ext, "json" | "yaml" | "yml") {
        out.skipped_files += 1;
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    import_text(path, ext, &text, out)
}

/// A zip archive of records, as osv.dev publishes each ecosystem (`all.zip`).
fn import_zip(path: &Path, out: &mut Imported) -> Result<(), ImportError> {
    let invalid = |message: String| ImportError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| invalid(format!("not a readable zip archive: {e}")))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| invalid(format!("entry {i}: {e}")))?;
        let name = entry.name().to_string();
        let ext = name.rsplit('.').next().unwrap_or("").to_string();
        if entry.is_dir() || !matches!(ext.as_str(), "json" | "yaml" | "yml") {
            continue;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text)
            .map_err(|e| invalid(format!("{name}: {e}")))?;
        import_text(&path.join(&name), &ext, &text, out)?;
    }
    Ok(())
}

fn import_text(path: &Path, ext: &str, text: &str, out: &mut Imported) -> Result<(), ImportError> {
    let value = if ext == "json" {
        serde_json::from_str::<Value>(text).map_err(|e| ImportError::Invalid {
            path: path.to_path_buf(),
            message: format!("not JSON: {e}"),
        })?
    } else {
        yaml_to_json(text).map_err(|message| ImportError::Invalid {
            path: path.to_path_buf(),
            message,
        })?
    };
    if value.get("affected").is_some() && value.get("id").is_some() {
        match osv(&value) {
            Ok(a) => out.advisories.push(a),
            Err(e) => out.problems.push(format!("{}: {e}", path.display())),
        }
    } else if value.get("packages").is_some() && value.get("distroversion").is_some() {
        out.advisories.extend(alpine_secdb(&value));
    } else if looks_like_debian_tracker(&value) {
        out.advisories.extend(debian_tracker(&value));
    } else {
        out.skipped_files += 1;
    }
    Ok(())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One OSV record.
pub fn osv(v: &Value) -> Result<Advisory, String> {
    let id = v["id"].as_str().ok_or("no id")?.to_string();
    let mut severity: Vec<String> = v["severity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["score"].as_str().map(str::to_string))
        .collect();
    if let Some(s) = v["database_specific"]["severity"].as_str() {
        severity.push(s.to_string());
    }
    let summary = v["summary"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            v["details"]
                .as_str()
                .map(|d| d.lines().next().unwrap_or("").to_string())
        })
        .unwrap_or_default();
    let mut affected = Vec::new();
    for a in v["affected"].as_array().ok_or("affected is not a list")? {
        let ecosystem = a["package"]["ecosystem"].as_str().unwrap_or("").to_string();
        let name = a["package"]["name"].as_str().unwrap_or("");
        if ecosystem.is_empty() || name.is_empty() {
            continue;
        }
        let ranges = a["ranges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| Range {
                kind: r["type"].as_str().unwrap_or("ECOSYSTEM").to_string(),
                events: r["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let e = e.as_object()?;
                        let (k, v) = e.iter().next()?;
                        let v = v.as_str()?.to_string();
                        Some(match k.as_str() {
                            "introduced" => RangeEvent::Introduced(v),
                            "fixed" => RangeEvent::Fixed(v),
                            "last_affected" => RangeEvent::LastAffected(v),
                            "limit" => RangeEvent::Limit(v),
                            _ => return None,
                        })
                    })
                    .collect(),
            })
            .collect();
        affected.push(Affected {
            package: normalize_package(&ecosystem, name),
            ecosystem,
            ranges,
            versions: strings(&a["versions"]),
        });
    }
    Ok(Advisory {
        id,
        aliases: strings(&v["aliases"]),
        summary,
        severity,
        published: v["published"].as_str().unwrap_or("").to_string(),
        modified: v["modified"].as_str().unwrap_or("").to_string(),
        withdrawn: v.get("withdrawn").is_some_and(|w| !w.is_null()),
        source: "osv".into(),
        affected,
    })
}

/// An Alpine secdb file: per package, the version that fixed each CVE. A fix of `0` means the
/// package was never affected.
fn alpine_secdb(v: &Value) -> Vec<Advisory> {
    let release = v["distroversion"].as_str().unwrap_or("");
    let ecosystem = format!("Alpine:{release}");
    let mut by_id: std::collections::BTreeMap<String, Vec<Affected>> = Default::default();
    for p in v["packages"].as_array().into_iter().flatten() {
        let name = p["pkg"]["name"].as_str().unwrap_or("");
        let Some(fixes) = p["pkg"]["secfixes"].as_object() else {
            continue;
        };
        for (fixed, ids) in fixes {
            if fixed == "0" {
                continue;
            }
            for entry in ids.as_array().into_iter().flatten() {
                // Entries are "CVE-2019-1 CVE-2019-2" or "CVE-2019-1 (some note)".
                for id in entry.as_str().unwrap_or("").split_whitespace() {
                    let known =
                        id.starts_with("CVE-") || id.starts_with("GHSA-") || id.starts_with("XSA-");
                    // Placeholders such as `CVE-????-?????` name no vulnerability.
                    if !known || id.contains('?') {
                        continue;
                    }
                    by_id.entry(id.to_string()).or_default().push(Affected {
                        ecosystem: ecosystem.clone(),
                        package: name.to_string(),
                        ranges: vec![Range {
                            kind: "ECOSYSTEM".into(),
                            events: vec![
                                RangeEvent::Introduced("0".into()),
                                RangeEvent::Fixed(fixed.clone()),
                            ],
                        }],
                        versions: vec![],
                    });
                }
            }
        }
    }
    by_id
        .into_iter()
        .map(|(id, affected)| Advisory {
            id,
            aliases: vec![],
            summary: String::new(),
            severity: vec![],
            published: String::new(),
            modified: String::new(),
            withdrawn: false,
            source: "alpine-secdb".into(),
            affected,
        })
        .collect()
}

const DEBIAN_RELEASES: [(&str, &str); 6] = [
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
];

fn looks_like_debian_tracker(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.values().take(3).all(|p| {
            p.as_object().is_some_and(|cves| {
                cves.iter().take(3).all(|(k, c)| {
                    (k.starts_with("CVE-") || k.starts_with("TEMP-")) && c.get("releases").is_some()
                })
            })
        }) && !o.is_empty()
    })
}

/// The Debian security tracker's JSON: source package -> CVE -> release -> status/fix.
fn debian_tracker(v: &Value) -> Vec<Advisory> {
    let mut by_id: std::collections::BTreeMap<String, (String, Vec<Affected>)> = Default::default();
    for (package, cves) in v.as_object().into_iter().flatten() {
        for (id, cve) in cves.as_object().into_iter().flatten() {
            for (release, state) in cve["releases"].as_object().into_iter().flatten() {
                let Some((_, number)) = DEBIAN_RELEASES.iter().find(|(name, _)| name == release)
                else {
                    continue;
                };
                let status = state["status"].as_str().unwrap_or("");
                let fixed = state["fixed_version"].as_str().unwrap_or("");
                let events = match (status, fixed) {
                    ("resolved", "0") | ("undetermined", _) => continue,
                    ("resolved", f) if !f.is_empty() => vec![
                        RangeEvent::Introduced("0".into()),
                        RangeEvent::Fixed(f.to_string()),
                    ],
                    ("open", _) => vec![RangeEvent::Introduced("0".into())],
                    _ => continue,
                };
                let entry = by_id.entry(id.clone()).or_insert_with(|| {
                    (
                        cve["description"].as_str().unwrap_or("").to_string(),
                        Vec::new(),
                    )
                });
                entry.1.push(Affected {
                    ecosystem: format!("Debian:{number}"),
                    package: package.clone(),
                    ranges: vec![Range {
                        kind: "ECOSYSTEM".into(),
                        events,
                    }],
                    versions: vec![],
                });
            }
        }
    }
    by_id
        .into_iter()
        .map(|(id, (summary, affected))| Advisory {
            id,
            aliases: vec![],
            summary,
            severity: vec![],
            published: String::new(),
            modified: String::new(),
            withdrawn: false,
            source: "debian-tracker".into(),
            affected,
        })
        .collect()
}

/// YAML (one document) as JSON. Keys and scalars stay strings unless they are plainly numbers
/// or booleans; version strings like `2.8.4-r0` or `0.10` keep their text.
fn yaml_to_json(text: &str) -> Result<Value, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    fn convert(y: &Yaml) -> Value {
        match y {
            Yaml::Real(s) | Yaml::String(s) => Value::String(s.clone()),
            Yaml::Integer(i) => Value::String(i.to_string()),
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(convert).collect()),
            Yaml::Hash(h) => {
                let mut m = Map::new();
                for (k, v) in h {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => continue,
                    };
                    m.insert(key, convert(v));
                }
                Value::Object(m)
            }
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
        }
    }
    Ok(docs.first().map(convert).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_version_text() {
        let v = yaml_to_json("a:\n  0.10: [x]\n  1.2.3-r0: y\nb: 7\n").unwrap();
        assert!(v["a"]["0.10"].is_array(), "{v}");
        assert_eq!(v["b"], "7");
    }
}
