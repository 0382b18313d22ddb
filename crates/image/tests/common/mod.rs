//! Test helpers shared by crates/image and crates/sbom tests: the image kit (scripts/image-kit.sh,
//! built once and cached) and a real local registry (docker-registry) on a free loopback port.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("KUBESCAPE_RS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/kubescape-rs")
        })
}

/// The fixture directory; builds the kit on first use (the script is idempotent and locked).
pub fn kit() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/image-kit.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/image-kit.sh");
        assert!(out.status.success(), "scripts/image-kit.sh failed");
        let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        assert!(
            dir.join("apps.tar").is_file(),
            "kit incomplete: {}",
            dir.display()
        );
        dir
    })
}

/// A fake server's view of one HTTP request on `s`: the request target and the Authorization
/// header ("" without one); the body, if any, is left unread. `None` if the request line cannot
/// be read.
pub fn read_request(s: &std::net::TcpStream) -> Option<(String, String)> {
    use std::io::{BufRead, BufReader};
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    Some((target, auth))
}

/// Writes a whole HTTP/1.1 response (closing the connection) to `s`.
pub fn respond(s: &mut std::net::TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    use std::io::Write;
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A docker-registry process; killed on drop.
pub struct Registry {
    child: Child,
    pub addr: String,
    pub root: tempfile::TempDir,
    pub auth: Option<(String, String)>,
}

impl Registry {
    /// Starts a registry; with `auth`, htpasswd (bcrypt) basic authentication.
    pub fn start(auth: Option<(&str, &str)>) -> Self {
        Self::start_with(auth, false)
    }

    /// Starts a registry serving HTTPS with a self-signed certificate for 127.0.0.1.
    pub fn start_tls() -> Self {
        Self::start_with(None, true)
    }

    fn start_with(auth: Option<(&str, &str)>, tls: bool) -> Self {
        let root = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            root.path().join("data").display()
        );
        if let Some((u, p)) = auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("htpasswd (apache2-utils; scripts/image-kit.sh installs it)");
            assert!(out.status.success());
            std::fs::write(root.path().join("htpasswd"), out.stdout).unwrap();
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                root.path().join("htpasswd").display()
            ));
        }
        if tls {
            let (crt, key) = (root.path().join("tls.crt"), root.path().join("tls.key"));
            let st = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                ])
                .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&crt)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(st.success(), "openssl could not make a certificate");
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                crt.display(),
                key.display()
            ));
        }
        std::fs::write(root.path().join("config.yml"), cfg).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(root.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (scripts/image-kit.sh installs it)");
        let reg = Self {
            child,
            addr,
            root,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(&reg.addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    /// Pushes an OCI layout directory (tag v1 inside) as `repo:tag` with skopeo.
    pub fn push(&self, layout: &Path, repo_tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-cert-dir=/nonexistent",
        ]);
        if let Some((u, p)) = &self.auth {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        let st = cmd
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.addr))
            .status()
            .expect("skopeo");
        assert!(st.success(), "skopeo push failed");
    }

    /// Path of a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.root
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Registry {
    /// A Docker config.json in `dir` holding this registry's credentials, as `docker login`
    /// writes it (`auths.<host:port>.auth` = base64 of `user:password`).
    pub fn docker_config(&self, dir: &Path) -> PathBuf {
        use base64::Engine;
        let (user, password) = self.auth.as_ref().expect("a registry with authentication");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let path = dir.join("config.json");
        let config = serde_json::json!({"auths": {&self.addr: {"auth": auth}}});
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
