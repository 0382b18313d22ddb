//! `kubescape sbom` end to end: archives, layouts and a real registry with credentials.

#[path = "../../image/tests/common/mod.rs"]
mod common;

use std::process::Command;

fn kubescape() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubescape"))
}

#[test]
fn sbom_of_an_oci_layout_in_each_format() {
    let kit = common::kit();
    let d = tempfile::tempdir().unwrap();
    for (fmt, key) in [
        ("spdx-json", "packages"),
        ("cyclonedx-json", "components"),
        ("syft-json", "artifacts"),
    ] {
        let out_file = d.path().join(format!("sbom.{fmt}"));
        let out = kubescape()
            .args([
                "sbom",
                kit.join("apps.oci").to_str().unwrap(),
                "--format",
                fmt,
                "-o",
            ])
            .arg(&out_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{fmt}: {stderr}");
        // "<input>: N packages (deb .., go-module 3, java-archive 3, npm .., python 5), OS debian 12 ..."
        let n: usize = stderr
            .split(": ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no package count in {stderr}"));
        assert!(
            stderr.contains("go-module 3, java-archive 3")
                && stderr.contains("python 5), OS debian 12"),
            "{stderr}"
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
        let listed = v[key].as_array().unwrap().len();
        // SPDX adds the image and OS packages, CycloneDX the OS component
        let extra = match fmt {
            "spdx-json" => 2,
            "cyclonedx-json" => 1,
            _ => 0,
        };
        assert_eq!(listed, n + extra, "{fmt}");
        assert!(n > 150, "{fmt}: {n}");
    }
}

#[test]
fn sbom_errors_are_clear() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("notes.txt");
    std::fs::write(&f, "not an image\n".repeat(100)).unwrap();
    let out = kubescape()
        .args(["sbom", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a container image archive"), "{stderr}");
    let out = kubescape()
        .args(["sbom", "x", "--format", "xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown SBOM format"));
    let out = kubescape()
        .args([
            "sbom",
            "dir:/",
            "--max-image-size",
            "10MiB",
            "-o",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("raise --max-image-size"));
}

#[test]
fn sbom_from_a_registry_with_credentials() {
    let kit = common::kit();
    let reg = common::Registry::start(Some(("cli-user", "cli-pass")));
    reg.push(&kit.join("debian.oci"), "kit/debian:12");
    let reference = format!("{}/kit/debian:12", reg.addr);
    let d = tempfile::tempdir().unwrap();
    let run = |password: &str| {
        kubescape()
            .args([
                "sbom",
                &reference,
                "--insecure",
                "-f",
                "cyclonedx-json",
                "-o",
            ])
            .arg(d.path().join("out.json"))
            .arg("--docker-config")
            .arg(d.path().join("none.json"))
            .env("KUBESCAPE_REGISTRY_USERNAME", "cli-user")
            .env("KUBESCAPE_REGISTRY_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = run("cli-pass");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(v["metadata"]["component"]["name"], format!("{reference}"));
    let out = run("nope");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("authentication failed") && stderr.contains("wrong username or password"),
        "{stderr}"
    );
    let out = kubescape()
        .args([
            "sbom",
            &format!("{}/kit/missing:1", reg.addr),
            "--insecure",
            "--username",
            "cli-user",
            "--password",
            "cli-pass",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found in the registry"));
}
