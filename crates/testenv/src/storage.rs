//! A `kubescape serve storage` process for tests: its own PKI (openssl), data directory, and a
//! kubeconfig with a client certificate so the real `kubectl` talks to it directly.

use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Certificates for one test server: a CA, a serving certificate for the server's address, and
/// a client certificate (CN `tester`, O `testers`) for kubectl.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (is it installed?)");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// `dns`: extra names of the serving certificate (e.g. `storage.<ns>.svc` for an APIService).
    pub fn create(dir: &Path, ip: IpAddr, dns: &[&str]) -> Pki {
        std::fs::create_dir_all(dir).expect("pki dir");
        openssl(
            dir,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "ca.key",
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-sha256",
                "-days",
                "30",
                "-subj",
                "/CN=storage-test-ca",
                "-out",
                "ca.crt",
            ],
        );
        let issue = |name: &str, subj: &str, ext: &str| {
            openssl(
                dir,
                &[
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    &format!("{name}.key"),
                ],
            );
            // PKCS#8 is what every TLS stack reads.
            openssl(
                dir,
                &[
                    "pkcs8",
                    "-topk8",
                    "-nocrypt",
                    "-in",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pk8"),
                ],
            );
            openssl(
                dir,
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{name}.key"),
                    "-subj",
                    subj,
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            std::fs::write(dir.join(format!("{name}.ext")), ext).expect("ext file");
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-sha256",
                    "-days",
                    "30",
                    "-extfile",
                    &format!("{name}.ext"),
                    "-out",
                    &format!("{name}.crt"),
                ],
            );
        };
        issue(
            "server",
            "/CN=storage",
            &format!(
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:{ip},IP:127.0.0.1,DNS:localhost{}\n",
                dns.iter().map(|d| format!(",DNS:{d}")).collect::<String>()
            ),
        );
        issue(
            "client",
            "/O=testers/CN=tester",
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
        );
        Pki {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.pk8"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.pk8"),
        }
    }
}

/// A running storage server. Killed (SIGKILL) on drop.
pub struct StorageServer {
    binary: PathBuf,
    pub dir: PathBuf,
    pub pki: Pki,
    pub ip: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub kubeconfig: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl StorageServer {
    /// Starts `binary serve storage` on `ip` with a client CA and AlwaysAllow authorization
    /// plus `extra_args`; `dir` holds PKI, data and logs.
    pub fn start(binary: &Path, dir: &Path, ip: IpAddr, extra_args: &[&str]) -> StorageServer {
        Self::start_with_names(binary, dir, ip, &[], extra_args)
    }

    /// [`StorageServer::start`] with extra DNS names in the serving certificate.
    pub fn start_with_names(
        binary: &Path,
        dir: &Path,
        ip: IpAddr,
        dns: &[&str],
        extra_args: &[&str],
    ) -> StorageServer {
        let pki = Pki::create(&dir.join("pki"), ip, dns);
        let port = free_port(ip);
        let data_dir = dir.join("data");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: storage\n  cluster:\n    server: https://{}:{port}\n    certificate-authority: {}\nusers:\n- name: tester\n  user:\n    client-certificate: {}\n    client-key: {}\ncontexts:\n- name: storage\n  context: {{cluster: storage, user: tester, namespace: default}}\ncurrent-context: storage\n",
                host(ip),
                pki.ca.display(),
                pki.client_cert.display(),
                pki.client_key.display()
            ),
        )
        .expect("write kubeconfig");
        let mut args: Vec<String> = vec![
            "serve".into(),
            "storage".into(),
            format!("--bind-address={ip}"),
            format!("--secure-port={port}"),
            format!("--data-dir={}", data_dir.display()),
            format!("--tls-cert-file={}", pki.server_cert.display()),
            format!("--tls-private-key-file={}", pki.server_key.display()),
            format!("--client-ca-file={}", pki.ca.display()),
        ];
        if !extra_args
            .iter()
            .any(|a| a.starts_with("--authorization-mode"))
        {
            args.push("--authorization-mode=AlwaysAllow".into());
        }
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let mut s = StorageServer {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            pki,
            ip,
            port,
            data_dir,
            kubeconfig,
            args,
            child: None,
            log: dir.join("storage.log"),
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("https://{}:{}", host(self.ip), self.port)
    }

    /// Starts the process (again) with the same arguments and data, and waits until it serves.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "server still running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(&self.binary)
            .args(&self.args)
            .env("KUBESCAPE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start kubescape serve storage");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((self.ip, self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("storage server exited ({status}): {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "storage server did not listen within 30 s: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        super::run_kubectl(&self.kubeconfig, args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        super::run_kubectl(&self.kubeconfig, args, Some(stdin))
    }

    /// Runs kubectl and returns stdout; panics with stderr and the server log on failure.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        if !out.status.success() {
            panic!(
                "kubectl {} failed: {}\nserver log:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                self.log_text()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// curl with the test CA and (when `authenticated`) the client certificate.
    pub fn curl(&self, authenticated: bool, args: &[&str]) -> Output {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--cacert"]).arg(&self.pki.ca);
        if authenticated {
            cmd.arg("--cert")
                .arg(&self.pki.client_cert)
                .arg("--key")
                .arg(&self.pki.client_key);
        }
        cmd.args(args).output().expect("run curl")
    }
}

impl StorageServer {
    /// An HTTP client that trusts the test CA and presents the client certificate.
    pub fn agent(&self) -> ureq::Agent {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&self.pki.ca).expect("CA file") {
            roots.add(c.expect("CA cert")).expect("usable CA");
        }
        let chain: Vec<_> = CertificateDer::pem_file_iter(&self.pki.client_cert)
            .expect("client cert")
            .map(|c| c.expect("client cert"))
            .collect();
        let key = PrivateKeyDer::from_pem_file(&self.pki.client_key).expect("client key");
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth");
        ureq::AgentBuilder::new()
            .tls_config(std::sync::Arc::new(config))
            .timeout(Duration::from_secs(60))
            .build()
    }
}

impl Drop for StorageServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
