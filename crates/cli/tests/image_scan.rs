//! `kubescape scan image` on the test kit's real images against the real records in
//! ../shared/reference/vulndata. The expected advisories are computed from the records and the
//! image's own SBOM here, independently of the matcher.

#[path = "../../image/tests/common/mod.rs"]
mod common;

use kubescape_vulndb::version::{compare, Ecosystem};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn kubescape() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubescape"))
}

fn vulndata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/vulndata")
}

fn build_db(dir: &Path) -> PathBuf {
    let db = dir.join("vulndb.json.gz");
    let out = kubescape()
        .args(["vulndb", "--db"])
        .arg(&db)
        .arg("import")
        .arg(vulndata().join("pypa-osv"))
        .arg(vulndata().join("go-osv"))
        .arg(vulndata().join("alpine-secdb"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn records(dir: &str, ext: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![vulndata().join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                let text = std::fs::read_to_string(&p).unwrap();
                let v: Value = if ext == "json" {
                    serde_json::from_str(&text).unwrap()
                } else {
                    yaml_value(&text)
                };
                out.push(v);
            }
        }
    }
    out
}

fn yaml_value(text: &str) -> Value {
    fn conv(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
            Yaml::Integer(i) => Value::String(i.to_string()),
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(conv).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), conv(v))))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }
    conv(&yaml_rust2::YamlLoader::load_from_str(text).unwrap()[0])
}

fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// `kubescape scan image --format json`: (advisory id, package) pairs and the exit code.
fn scan(image: &str, db: &Path, extra: &[&str]) -> (BTreeSet<(String, String)>, i32) {
    let out = kubescape()
        .args(["scan", "image", image, "--format", "json", "--db"])
        .arg(db)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let pairs = doc["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["vulnerability"]["id"].as_str().unwrap().to_string(),
                m["artifact"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (pairs, out.status.code().unwrap())
}

#[test]
fn python_packages_and_a_go_binary_get_exactly_the_advisories_of_their_versions() {
    let kit = common::kit();
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let image = kit.join("apps.oci");
    let image = image.to_str().unwrap();

    // The image's own inventory.
    let out = kubescape()
        .args(["sbom", image, "-f", "syft-json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let sbom: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages: Vec<(String, String, String)> = sbom["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
                a["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    // PyPI: the records whose enumerated affected versions name the installed version.
    for r in records("pypa-osv", "yaml") {
        for aff in r["affected"].as_array().into_iter().flatten() {
            let pkg = normalize(aff["package"]["name"].as_str().unwrap_or(""));
            for (kind, name, version) in &packages {
                if kind == "python"
                    && normalize(name) == pkg
                    && aff["versions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v == version.as_str())
                {
                    expected.insert((r["id"].as_str().unwrap().to_string(), name.clone()));
                }
            }
        }
    }
    // Go: the stdlib records whose introduced/fixed pairs enclose the binary's toolchain version.
    let go_versions: Vec<(String, String)> = packages
        .iter()
        .filter(|(k, n, _)| k == "go-module" && n == "stdlib")
        .map(|(_, n, v)| (n.clone(), v.trim_start_matches("go").to_string()))
        .collect();
    assert!(
        !go_versions.is_empty(),
        "the kit's Go binary reports its standard library"
    );
    for r in records("go-osv", "json") {
        for aff in r["affected"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["package"]["name"] == "stdlib")
        {
            for range in aff["ranges"].as_array().into_iter().flatten() {
                let events: Vec<(&str, &str)> = range["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|e| {
                        e.as_object()?
                            .iter()
                            .next()
                            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                    })
                    .collect();
                for (name, v) in &go_versions {
                    let mut affected = false;
                    for pair in events.chunks(2) {
                        let intro = pair[0].1;
                        let above_intro = intro == "0"
                            || compare(Ecosystem::Go, &format!("v{v}"), &format!("v{intro}"))
                                .is_ok_and(|o| o != Ordering::Less);
                        let below_fix = match pair.get(1) {
                            Some(("fixed", f)) => {
                                compare(Ecosystem::Go, &format!("v{v}"), &format!("v{f}"))
                                    == Ok(Ordering::Less)
                            }
                            Some(_) => false,
                            None => true,
                        };
                        affected |= pair[0].0 == "introduced" && above_intro && below_fix;
                    }
                    if affected {
                        expected.insert((r["id"].as_str().unwrap().to_string(), name.clone()));
                    }
                }
            }
        }
    }
    let (got, code) = scan(image, &db, &[]);
    // Only advisories of the sources above can match python and go packages of this image.
    let got_relevant: BTreeSet<_> = got
        .iter()
        .filter(|(id, _)| id.starts_with("PYSEC-") || id.starts_with("GO-"))
        .cloned()
        .collect();
    assert!(
        expected.iter().any(|(id, _)| id.starts_with("PYSEC-")),
        "the kit pins a Python package with a PyPA advisory: {packages:?}"
    );
    assert!(expected.iter().any(|(id, _)| id.starts_with("GO-")));
    assert_eq!(got_relevant, expected);
    assert_eq!(code, 0, "no --severity-threshold, exit 0");
    let (_, code) = scan(image, &db, &["--severity-threshold", "high"]);
    assert_eq!(code, 1, "a high-severity PyPA advisory is present");
    let python_ids: Vec<String> = expected
        .iter()
        .filter(|(id, _)| id.starts_with("PYSEC-"))
        .map(|(id, _)| id.clone())
        .collect();
    let (got, _) = scan(image, &db, &["--ignore", &python_ids.join(",")]);
    assert!(got.iter().all(|(id, _)| !python_ids.contains(id)));
}

#[test]
fn a_version_just_past_the_fix_is_clean_and_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    // A root filesystem with one Python distribution at a named version.
    let site = |root: &Path, name: &str, version: &str| {
        let d = root.join(format!(
            "usr/lib/python3/dist-packages/{name}-{version}.dist-info"
        ));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .unwrap();
        std::fs::write(d.join("RECORD"), "").unwrap();
    };
    let vulnerable = dir.path().join("vulnerable");
    site(&vulnerable, "idna", "3.6");
    let fixed = dir.path().join("fixed");
    site(&fixed, "idna", "3.7");
    let (got, _) = scan(&format!("dir:{}", vulnerable.display()), &db, &[]);
    assert!(
        got.contains(&("PYSEC-2024-60".to_string(), "idna".to_string())),
        "{got:?}"
    );
    let (got, _) = scan(&format!("dir:{}", fixed.display()), &db, &[]);
    assert!(got.is_empty(), "idna 3.7 is the fix: {got:?}");
    let out = kubescape()
        .args([
            "scan",
            "image",
            "dir:/tmp",
            "--db",
            "/nonexistent/vulndb.json.gz",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubescape vulndb import"));
}

/// An Alpine 3.10 root filesystem whose apk database holds packages at versions named in the
/// Alpine secdb: exactly the CVEs fixed after each installed version are reported.
#[test]
fn alpine_packages_at_secdb_versions() {
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let secdb = yaml_value(
        &std::fs::read_to_string(vulndata().join("alpine-secdb/v3.10/main.yaml")).unwrap(),
    );
    // Three packages, each installed at the second-newest fixed version the secdb lists.
    let mut installed = Vec::new();
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for name in ["openssl", "curl", "busybox"] {
        let pkg = secdb["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pkg"]["name"] == name)
            .unwrap();
        let fixes = pkg["pkg"]["secfixes"].as_object().unwrap();
        let mut versions: Vec<&String> = fixes
            .keys()
            .filter(|v| compare(Ecosystem::Apk, v, v).is_ok() && *v != "0")
            .collect();
        versions.sort_by(|a, b| compare(Ecosystem::Apk, a, b).unwrap());
        let at = versions[versions.len() - 2].clone();
        for (fixed, cves) in fixes {
            if compare(Ecosystem::Apk, fixed, &at) == Ok(Ordering::Greater) {
                for c in cves.as_array().unwrap() {
                    for id in c
                        .as_str()
                        .unwrap()
                        .split_whitespace()
                        .filter(|w| w.starts_with("CVE-") && !w.contains('?'))
                    {
                        expected.insert((id.to_string(), name.to_string()));
                    }
                }
            }
        }
        installed.push(format!(
            "C:Q1x=\nP:{name}\nV:{at}\nA:x86_64\no:{name}\nL:MIT\n"
        ));
    }
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("lib/apk/db/installed"), installed.join("\n")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.9\n",
    )
    .unwrap();
    let (got, _) = scan(&format!("dir:{}", root.display()), &db, &[]);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}
