//! Catalogs of real images (scripts/image-kit.sh), checked package by package, validated with
//! the SPDX and CycloneDX validators, and compared with Trivy's inventory of the same images.

#[path = "../../image/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use kubescape_image::{Image, OpenOptions};
use kubescape_sbom::format::{render, Format};
use kubescape_sbom::{catalog, Catalog, CatalogOptions, PkgType};
use serde_json::Value;

fn catalog_of(input: &str) -> Catalog {
    let img = Image::open(input, &OpenOptions::default()).unwrap();
    catalog(&img, &CatalogOptions::default()).unwrap()
}

fn find<'a>(c: &'a Catalog, kind: PkgType, name: &str) -> Vec<&'a kubescape_sbom::Package> {
    c.packages
        .iter()
        .filter(|p| p.kind == kind && p.name == name)
        .collect()
}

fn venv_bin(tool: &str) -> std::path::PathBuf {
    common::cache_dir().join("venv/bin").join(tool)
}

#[test]
fn apps_image_packages() {
    let kit = common::kit();
    let c = catalog_of(kit.join("apps.tar").to_str().unwrap());
    let d = c.distro.as_ref().expect("os-release");
    assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));

    let libc = &find(&c, PkgType::Deb, "libc6")[0];
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@2.36-9"),
        "{}",
        libc.purl
    );
    assert!(libc.purl.contains("upstream=glibc") && libc.purl.contains("distro=debian-12"));
    assert!(libc
        .files
        .iter()
        .any(|f| f == "/lib/x86_64-linux-gnu/libc.so.6"));
    // directories of the .list are not files of the package
    assert!(!libc
        .files
        .iter()
        .any(|f| f == "/etc" || f == "/usr/share/doc/libc6"));
    assert!(
        libc.licenses.iter().any(|l| l.starts_with("LGPL-2.1")),
        "{:?}",
        libc.licenses
    );
    let debian_layer = c.source.layers[0].diff_id.clone();
    assert_eq!(libc.locations[0].path, "/var/lib/dpkg/status");
    assert_eq!(libc.locations[0].layer, debian_layer);

    let req = &find(&c, PkgType::Python, "requests")[0];
    assert_eq!(req.version, "2.31.0");
    assert_eq!(req.purl, "pkg:pypi/requests@2.31.0");
    assert_eq!(req.licenses, vec!["Apache 2.0"]);
    assert!(req.files.iter().any(|f| f.ends_with("/requests/api.py")));
    assert_eq!(req.locations[0].layer, c.source.layers[1].diff_id);
    assert_eq!(
        find(&c, PkgType::Python, "charset-normalizer")[0].purl,
        "pkg:pypi/charset-normalizer@3.3.2"
    );
    // deleted by a whiteout in the top layer
    assert!(find(&c, PkgType::Python, "six").is_empty());

    let lodash = &find(&c, PkgType::Npm, "lodash")[0];
    assert_eq!(
        (lodash.version.as_str(), lodash.licenses.as_slice()),
        ("4.17.21", &["MIT".to_string()][..])
    );
    // /app/node_modules/ms (2.1.3... from debug 4.3.4) sat in an opaque-replaced directory
    assert!(find(&c, PkgType::Npm, "ms")
        .iter()
        .all(|p| p.locations[0].path != "/app/node_modules/ms/package.json"));
    assert!(find(&c, PkgType::Npm, "ms")
        .iter()
        .any(|p| p.locations[0].path == "/app/node_modules/send/node_modules/ms/package.json"));

    let uuid = &find(&c, PkgType::GoModule, "github.com/google/uuid")[0];
    assert_eq!(
        (uuid.version.as_str(), uuid.purl.as_str()),
        ("v1.3.0", "pkg:golang/github.com/google/uuid@v1.3.0")
    );
    assert_eq!(uuid.locations[0].path, "/usr/local/bin/hello");
    assert!(find(&c, PkgType::GoModule, "stdlib")[0]
        .version
        .starts_with("go1."));
    assert_eq!(
        find(&c, PkgType::GoModule, "example.com/kit/hello")[0].version,
        "(devel)"
    );

    let cio = &find(&c, PkgType::JavaArchive, "commons-io")[0];
    assert_eq!(cio.purl, "pkg:maven/commons-io/commons-io@2.11.0");
    assert_eq!(cio.locations[0].path, "/opt/app/app.jar");
    assert_eq!(
        cio.metadata["virtualPath"],
        "/opt/app/app.jar:BOOT-INF/lib/commons-io-2.11.0.jar"
    );
    assert_eq!(
        find(&c, PkgType::JavaArchive, "commons-lang3")[0].purl,
        "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
    );
    assert_eq!(
        find(&c, PkgType::JavaArchive, "kit-app")[0].version,
        "0.3.1"
    );
}

fn inventory(c: &Catalog) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = c
        .packages
        .iter()
        .map(|p| {
            (
                p.kind.syft_type().to_string(),
                p.name.clone(),
                p.version.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_source_kind_gives_the_same_inventory() {
    let kit = common::kit();
    let base = inventory(&catalog_of(kit.join("apps.tar").to_str().unwrap()));
    assert!(base.len() > 150);
    for f in [
        "apps.oci",
        "oci-archive:APPS/apps.oci.tar",
        "apps-zstd.oci.tar",
    ] {
        let input = if let Some(rest) = f.strip_prefix("oci-archive:APPS/") {
            format!("oci-archive:{}", kit.join(rest).display())
        } else {
            kit.join(f).display().to_string()
        };
        assert_eq!(inventory(&catalog_of(&input)), base, "{f}");
    }
}

#[test]
fn dir_source_catalogs_a_root_filesystem() {
    let kit = common::kit();
    let d = tempfile::tempdir().unwrap();
    for layer in ["python", "npm"] {
        let st = Command::new("tar")
            .arg("-xf")
            .arg(kit.join("work").join(format!("{layer}.tar")))
            .arg("-C")
            .arg(d.path())
            .status()
            .unwrap();
        assert!(st.success());
    }
    std::fs::copy(
        common::repo_root().join("Cargo.lock"),
        d.path().join("Cargo.lock"),
    )
    .unwrap();
    let c = catalog_of(&format!("dir:{}", d.path().display()));
    // lock files count in a directory: npm's (written by npm install) and this repository's
    let lock: Vec<_> = c
        .packages
        .iter()
        .filter(|p| p.found_by == "javascript-lock-cataloger")
        .collect();
    assert!(lock.iter().any(|p| p.name == "express"
        && p.version == "4.18.2"
        && p.locations[0].path == "/app/package-lock.json"));
    assert_eq!(
        lock.len(),
        c.packages
            .iter()
            .filter(|p| p.found_by == "javascript-package-cataloger"
                && p.locations[0].path.contains("node_modules"))
            .count()
    );
    let crates: Vec<_> = c
        .packages
        .iter()
        .filter(|p| p.kind == PkgType::RustCrate)
        .collect();
    assert!(crates
        .iter()
        .any(|p| p.name == "serde_json" && p.locations[0].path == "/Cargo.lock"));
    assert!(crates.iter().any(|p| p.name == "kubescape-sbom"));
    // no whiteout layer here: six is present
    assert_eq!(find(&c, PkgType::Python, "six")[0].version, "1.16.0");
    assert_eq!(find(&c, PkgType::Python, "six")[0].locations[0].layer, None);
    assert_eq!(
        c.packages
            .iter()
            .filter(|p| p.kind == PkgType::Python)
            .count(),
        6
    );
    // express: once installed (package.json) and once locked (package-lock.json)
    let express: Vec<&str> = find(&c, PkgType::Npm, "express")
        .iter()
        .map(|p| p.found_by)
        .collect();
    assert_eq!(express.len(), 2, "{express:?}");
    assert!(c.distro.is_none());
}

fn write_json(dir: &Path, name: &str, v: &Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

#[test]
fn spdx_and_cyclonedx_outputs_validate() {
    let kit = common::kit();
    let d = tempfile::tempdir().unwrap();
    for img in ["debian.tar", "apps.tar"] {
        let c = catalog_of(kit.join(img).to_str().unwrap());
        let spdx = write_json(
            d.path(),
            &format!("{img}.spdx.json"),
            &render(&c, Format::SpdxJson),
        );
        let out = Command::new(venv_bin("pyspdxtools"))
            .arg("-i")
            .arg(&spdx)
            .output()
            .expect("pyspdxtools (scripts/setup.sh installs spdx-tools)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !text.contains("ERROR") && !text.contains("invalid"),
            "{img}: SPDX invalid:\n{text}"
        );

        let cdx = write_json(
            d.path(),
            &format!("{img}.cdx.json"),
            &render(&c, Format::CycloneDxJson),
        );
        let script = "import sys\nfrom cyclonedx.validation.json import JsonStrictValidator\nfrom cyclonedx.schema import SchemaVersion\nerr = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\nif err is not None:\n    print(err)\n    sys.exit(1)\nprint('valid')\n";
        let out = Command::new(venv_bin("python"))
            .args(["-c", script])
            .arg(&cdx)
            .output()
            .expect("python venv with cyclonedx-python-lib (scripts/setup.sh)");
        assert!(
            out.status.success(),
            "{img}: CycloneDX invalid: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        let syft = render(&c, Format::SyftJson);
        assert_eq!(
            syft["artifacts"].as_array().unwrap().len(),
            c.packages.len()
        );
        assert_eq!(syft["distro"]["id"], "debian");
        assert_eq!(syft["source"]["type"], "image");
        assert_eq!(
            syft["source"]["metadata"]["layers"]
                .as_array()
                .unwrap()
                .len(),
            c.source.layers.len()
        );
    }
    // the validators do catch errors (a check that cannot fail proves nothing)
    let c = catalog_of(kit.join("debian.tar").to_str().unwrap());
    let mut bad = render(&c, Format::SpdxJson);
    bad["packages"][2]["licenseDeclared"] = Value::from("Not-A-License AND GPL-2+");
    let p = write_json(d.path(), "bad.spdx.json", &bad);
    let out = Command::new(venv_bin("pyspdxtools"))
        .arg("-i")
        .arg(&p)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unrecognized license reference"));
}

/// (purl type, namespace/name, version) of a CycloneDX document's components.
fn cdx_keys(doc: &Value) -> BTreeSet<(String, String, String)> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let purl = c["purl"].as_str()?;
            let ty = purl.strip_prefix("pkg:")?.split('/').next()?.to_string();
            let name = match c["group"].as_str() {
                Some(g) if !g.is_empty() => format!("{g}/{}", c["name"].as_str()?),
                _ => c["name"].as_str()?.to_string(),
            };
            Some((ty, name, c["version"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

fn trivy_cyclonedx(archive: &Path, cache: &Path) -> Value {
    let trivy = common::cache_dir().join("bin/trivy");
    let out_file = cache.join("trivy.cdx.json");
    let out = Command::new(&trivy)
        .args([
            "image",
            "--quiet",
            "--format",
            "cyclonedx",
            "--offline-scan",
            "--skip-db-update",
            "--skip-java-db-update",
        ])
        .arg("--cache-dir")
        .arg(cache)
        .arg("--input")
        .arg(archive)
        .arg("-o")
        .arg(&out_file)
        .output()
        .expect("trivy (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "trivy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap()
}

/// Trivy refuses to run jar analysis offline without its Java index DB; an empty one (same
/// schema as trivy-java-db) lets it run. Its sha1 lookups then find nothing, which does not
/// matter for jars that carry pom.properties (all of ours do).
fn trivy_cache() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("java-db");
    std::fs::create_dir_all(&db).unwrap();
    let script = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.executescript('''CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);\nCREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, foreign key (artifact_id) references artifacts(id));\nCREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);\nCREATE INDEX indices_artifact_idx ON indices(artifact_id);\nCREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);''')\nc.commit()\n";
    let st = Command::new(venv_bin("python"))
        .args(["-c", script])
        .arg(db.join("trivy-java.db"))
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(
        db.join("metadata.json"),
        r#"{"Version":1,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2025-01-01T00:00:00Z","DownloadedAt":"2025-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    d
}

type Key = (&'static str, &'static str, &'static str);

/// Compares our inventory with Trivy's; every difference must be one of `known`
/// ((ours|trivy), key, why), and every known difference must still occur.
fn compare_with_trivy(image: &str, min_packages: usize, known: &[(&str, Key, &str)]) {
    let kit = common::kit();
    let cache = trivy_cache();
    let theirs = cdx_keys(&trivy_cyclonedx(&kit.join(image), cache.path()));
    let ours = cdx_keys(&render(
        &catalog_of(kit.join(image).to_str().unwrap()),
        Format::CycloneDxJson,
    ));
    let own = |k: &Key| (k.0.to_string(), k.1.to_string(), k.2.to_string());
    let mut unexplained = Vec::new();
    for k in ours.difference(&theirs) {
        if !known
            .iter()
            .any(|(side, kk, _)| *side == "ours" && own(kk) == *k)
        {
            unexplained.push(format!("only ours: {k:?}"));
        }
    }
    for k in theirs.difference(&ours) {
        if !known
            .iter()
            .any(|(side, kk, _)| *side == "trivy" && own(kk) == *k)
        {
            unexplained.push(format!("only Trivy: {k:?}"));
        }
    }
    for (side, k, why) in known {
        let (a, b) = if *side == "ours" {
            (&ours, &theirs)
        } else {
            (&theirs, &ours)
        };
        assert!(
            a.contains(&own(k)) && !b.contains(&own(k)),
            "{image}: known difference no longer seen: {side} {k:?} ({why})"
        );
    }
    assert!(
        unexplained.is_empty(),
        "{image}: unexplained differences from Trivy:\n{}",
        unexplained.join("\n")
    );
    assert!(
        ours.len() >= min_packages,
        "{image}: {} packages",
        ours.len()
    );
}

#[test]
fn debian_inventory_matches_trivy() {
    compare_with_trivy("debian.tar", 80, &[]);
}

#[test]
fn apps_inventory_matches_trivy() {
    compare_with_trivy(
        "apps.tar",
        170,
        &[
            // A Go main module built from a local tree has the version "(devel)" in its build
            // info. We keep it (as Syft does); Trivy blanks it.
            (
                "ours",
                ("golang", "example.com/kit/hello", "(devel)"),
                "Go main module version kept as (devel)",
            ),
            (
                "trivy",
                ("golang", "example.com/kit/hello", ""),
                "Trivy drops (devel)",
            ),
            // The Go standard library: we use the toolchain's own spelling (go1.19.8, as Syft
            // and Grype do); Trivy rewrites it as a semver (v1.19.8).
            (
                "ours",
                ("golang", "stdlib", "go1.19.8"),
                "stdlib version spelled like the toolchain",
            ),
            (
                "trivy",
                ("golang", "stdlib", "v1.19.8"),
                "Trivy's semver spelling of the Go version",
            ),
        ],
    );
}

#[test]
fn rpm_inventory_matches_trivy() {
    compare_with_trivy("rpm.tar", 2, &[]);
}

#[test]
fn rpm_database_packages() {
    let kit = common::kit();
    let c = catalog_of(kit.join("rpm.oci").to_str().unwrap());
    assert_eq!(c.distro.as_ref().map(|d| d.id.as_str()), Some("fedora"));
    let h = &find(&c, PkgType::Rpm, "kit-hello")[0];
    assert_eq!(h.version, "1:1.2.3-4.fc39");
    assert_eq!(
        h.purl,
        "pkg:rpm/fedora/kit-hello@1.2.3-4.fc39?arch=noarch&distro=fedora-39&epoch=1&upstream=kit-hello-1.2.3-4.fc39.src.rpm"
    );
    assert_eq!(h.source_name.as_deref(), Some("kit-hello"));
    assert_eq!(h.licenses, vec!["MIT"]);
    assert_eq!(h.files, vec!["/usr/share/kit-hello/README"]);
    assert_eq!(h.supplier.as_deref(), Some("kubescape-rs image kit"));
    assert_eq!(h.locations[0].path, "/var/lib/rpm/rpmdb.sqlite");
    assert_eq!(find(&c, PkgType::Rpm, "kit-data")[0].version, "0.9-1.fc39");
    assert_eq!(c.packages.len(), 2);
}

#[test]
fn rust_auditable_binary_packages() {
    let kit = common::kit();
    let c = catalog_of(kit.join("rust.oci").to_str().unwrap());
    let rust: Vec<_> = c
        .packages
        .iter()
        .filter(|p| p.kind == PkgType::RustCrate)
        .collect();
    let mut names: Vec<(&str, &str)> = rust
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("hex", "0.4.3"), ("itoa", "1.0.11"), ("kit-rust", "0.2.0")]
    );
    let itoa = rust.iter().find(|p| p.name == "itoa").unwrap();
    assert_eq!(itoa.purl, "pkg:cargo/itoa@1.0.11");
    assert_eq!(itoa.locations[0].path, "/usr/local/bin/kit-rust");
    assert_eq!(itoa.locations[0].layer, c.source.layers[1].diff_id);
    assert_eq!(itoa.metadata["source"], "crates.io");
}

#[test]
fn rust_inventory_matches_trivy() {
    compare_with_trivy("rust.tar", 80, &[]);
}

#[test]
fn os_package_install_layers_match_trivy() {
    let kit = common::kit();
    let c = catalog_of(kit.join("deblayers.tar").to_str().unwrap());
    let l1 = c.source.layers[0].diff_id.clone().unwrap();
    let l2 = c.source.layers[1].diff_id.clone().unwrap();
    let layer_of = |name: &str| {
        find(&c, PkgType::Deb, name)[0].locations[0]
            .layer
            .clone()
            .unwrap()
    };
    // the status file visible is the second layer's, but libc6 was installed in the first
    assert_eq!(layer_of("libc6"), l1);
    assert_eq!(layer_of("libcommons-io-java"), l2);
    assert_eq!(
        find(&c, PkgType::Deb, "libc6")[0].locations[0].path,
        "/var/lib/dpkg/status"
    );

    let cache = trivy_cache();
    let trivy = trivy_cyclonedx(&kit.join("deblayers.tar"), cache.path());
    let mut compared = 0;
    for comp in trivy["components"].as_array().unwrap() {
        let props = comp["properties"].as_array().cloned().unwrap_or_default();
        let prop = |n: &str| {
            props
                .iter()
                .find(|p| p["name"] == n)
                .and_then(|p| p["value"].as_str())
                .map(str::to_string)
        };
        if prop("aquasecurity:trivy:PkgType").as_deref() != Some("debian") {
            continue;
        }
        let name = comp["name"].as_str().unwrap();
        assert_eq!(
            Some(layer_of(name)),
            prop("aquasecurity:trivy:LayerDiffID"),
            "{name}"
        );
        compared += 1;
    }
    assert!(compared > 80, "{compared}");
}

#[test]
fn java_archives_too_big_to_hold_are_read_as_streams() {
    let kit = common::kit();
    let img = Image::open(
        kit.join("apps.tar").to_str().unwrap(),
        &OpenOptions::default(),
    )
    .unwrap();
    let java = |c: &Catalog| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = c
            .packages
            .iter()
            .filter(|p| p.kind == PkgType::JavaArchive)
            .map(|p| {
                (
                    p.purl.clone(),
                    p.locations[0].path.clone(),
                    p.metadata["virtualPath"].to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let held = catalog(&img, &CatalogOptions::default()).unwrap();
    // 100 kB: both jars (about 590 kB and 330 kB) are over it and take the streaming path
    let small = CatalogOptions {
        max_archive: 100_000,
        ..Default::default()
    };
    let streamed = catalog(&img, &small).unwrap();
    assert_eq!(java(&held).len(), 3);
    assert_eq!(java(&streamed), java(&held));
}
