//! `kubescape vulndb update` from a listing served by a real HTTP server (a mirror as an
//! air-gapped cluster would run): checksums verified before anything is replaced.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn vulndata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/vulndata")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn kubescape(args: &[&str], db: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args(["vulndb", "--db"])
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn update_from_a_mirror_verifies_checksums_and_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("alpine")).unwrap();
    // The Go records as one zip (osv.dev's layout), Alpine 3.10's secdb as a YAML file.
    let zip = www.join("go-all.zip");
    let out = Command::new("python3")
        .args(["-c", "import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nfor f in sorted(os.listdir(sys.argv[2])): z.write(os.path.join(sys.argv[2],f),f)\nz.close()"])
        .arg(&zip)
        .arg(vulndata().join("go-osv/data/osv"))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::copy(
        vulndata().join("alpine-secdb/v3.10/main.yaml"),
        www.join("alpine/main.yaml"),
    )
    .unwrap();
    let listing = |alpine_sum: &str| {
        format!(
            r#"{{"sources":[{{"url":"go-all.zip","sha256":"{}"}},{{"url":"alpine/main.yaml","sha256":"{alpine_sum}"}}]}}"#,
            sha256(&zip)
        )
    };
    std::fs::write(
        www.join("listing.json"),
        listing(&sha256(&www.join("alpine/main.yaml"))),
    )
    .unwrap();
    std::fs::write(www.join("bad-listing.json"), listing(&"0".repeat(64))).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let db = dir.path().join("vulndb.json.gz");
    let base = format!("http://127.0.0.1:{port}");

    let out = kubescape(
        &["update", "--listing", &format!("{base}/listing.json")],
        &db,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = String::from_utf8_lossy(&kubescape(&["status"], &db).stdout).into_owned();
    assert!(
        status.contains("go-all.zip") && status.contains("alpine/main.yaml"),
        "{status}"
    );
    let before = std::fs::read(&db).unwrap();
    let out = kubescape(&["query", "Alpine:v3.10", "openssl", "1.1.1c-r0"], &db);
    assert!(String::from_utf8_lossy(&out.stdout).contains("CVE-2019-1547"));

    // A checksum that does not match: refused, and the database stays as it was.
    let out = kubescape(
        &["update", "--listing", &format!("{base}/bad-listing.json")],
        &db,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("checksum mismatch") && err.contains("not changed"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // An unreachable listing is named in the error.
    let out = kubescape(
        &["update", "--listing", "http://127.0.0.1:1/listing.json"],
        &db,
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot fetch the listing http://127.0.0.1:1/listing.json"));
}
