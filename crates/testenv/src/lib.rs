//! A real Kubernetes API server (kube-apiserver 1.20.2 + etcd, no nodes) for integration tests.
//!
//! ```no_run
//! let cluster = kubescape_testenv::TestCluster::get();
//! let ns = cluster.unique_namespace("scan");
//! cluster.apply_yaml(&format!(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}\ndata: {{a: b}}\n"
//! ));
//! let out = cluster.kubectl(&["get", "configmap", "c", "-n", &ns]);
//! assert!(out.status.success());
//! ```
//!
//! # Where the cluster comes from
//!
//! * `KUBESCAPE_TEST_ENV_DIR` set: the cluster that `scripts/k8s-testenv.sh start DIR` started
//!   there (`scripts/test.sh` does this once for the whole run), shared by every test process.
//!   Nothing is stopped by this crate.
//! * Otherwise: the first call to [`TestCluster::get`] runs `scripts/k8s-testenv.sh start` in a
//!   fresh temporary directory (running `install` first when the kube-apiserver binary is not in
//!   the cache yet: a one-off build of several minutes). That cluster belongs to this process.
//!   Every test process (nextest runs one per test) then starts its own cluster (~300 MB,
//!   several seconds), so prefer the shared one.
//!
//! # How an owned cluster is stopped
//!
//! The cluster lives in a `static` ([`OnceLock`]), and Rust never runs destructors of statics,
//! so a `Drop` guard would not work. Two mechanisms instead:
//! 1. a C `atexit` handler (registered once, after a successful start) runs
//!    `k8s-testenv.sh stop DIR --clean` when the process exits normally; the libtest harness (both
//!    `cargo test` and nextest) ends through `exit`, also when tests fail or panic;
//! 2. the script is started with `--watch-pid <this process>`, so a detached watcher stops the
//!    cluster and removes DIR after the process died without running `atexit` (a signal, a
//!    nextest timeout, `abort`).

pub mod aggregated;
pub mod storage;

use std::ffi::c_int;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Version of the kube-apiserver the script builds (keys the cached binary).
pub const K8S_VERSION: &str = "1.20.2";

/// Build revision of the cached binary, as `APISERVER_BUILD` in the script.
pub const APISERVER_BUILD: &str = "r2";

/// Environment variable naming the directory of an already running, shared cluster.
pub const ENV_DIR_VAR: &str = "KUBESCAPE_TEST_ENV_DIR";

/// A running test cluster: kube-apiserver with etcd, an admin and an unprivileged user.
#[derive(Debug)]
pub struct TestCluster {
    dir: PathBuf,
    kubeconfig: PathBuf,
    limited_kubeconfig: PathBuf,
    server: String,
    admin_token: String,
    limited_token: String,
    owned: bool,
}

static CLUSTER: OnceLock<Result<TestCluster, String>> = OnceLock::new();
/// Directory of the cluster this process started; read by the `atexit` handler.
static OWNED_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

extern "C" {
    // From the C library std already links; avoids a dependency on the `libc` crate.
    fn atexit(cb: extern "C" fn()) -> c_int;
}

extern "C" fn stop_owned_cluster_at_exit() {
    let dir = match OWNED_DIR.lock() {
        Ok(mut guard) => guard.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if let Some(dir) = dir {
        let status = Command::new(script_path())
            .arg("stop")
            .arg(&dir)
            .arg("--clean")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "kubescape-testenv: stopping the cluster in {} failed ({status:?}); the watcher \
                 process will stop it",
                dir.display()
            );
        }
    }
}

/// `scripts/k8s-testenv.sh` of this workspace (override: `KUBESCAPE_TESTENV_SCRIPT`).
pub fn script_path() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBESCAPE_TESTENV_SCRIPT") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/k8s-testenv.sh")
}

/// Cache directory shared with the scripts (`KUBESCAPE_RS_CACHE`, default `~/.cache/kubescape-rs`).
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("KUBESCAPE_RS_CACHE") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/kubescape-rs")
}

/// The cached kube-apiserver binary the script runs.
pub fn apiserver_binary() -> PathBuf {
    cache_dir()
        .join("bin")
        .join(format!("kube-apiserver-{K8S_VERSION}-{APISERVER_BUILD}"))
}

impl TestCluster {
    /// The process-wide cluster: the shared one from `KUBESCAPE_TEST_ENV_DIR`, or one started
    /// (once) for this process. Panics with the reason (which step failed, where the logs are)
    /// when no cluster is available; every later call reports the same error without retrying.
    pub fn get() -> &'static TestCluster {
        match Self::try_get() {
            Ok(c) => c,
            Err(e) => panic!("kubescape-testenv: no test cluster: {e}"),
        }
    }

    /// Like [`TestCluster::get`], returning the error instead of panicking.
    pub fn try_get() -> Result<&'static TestCluster, String> {
        CLUSTER
            .get_or_init(Self::init)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn init() -> Result<TestCluster, String> {
        match std::env::var_os(ENV_DIR_VAR) {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                let cluster = Self::from_dir(&dir, false)
                    .map_err(|e| format!("{ENV_DIR_VAR}={}: {e}", dir.display()))?;
                cluster.check_ready().map_err(|e| {
                    format!(
                        "{ENV_DIR_VAR}={}: the shared cluster does not answer ({e}); \
                         check `scripts/k8s-testenv.sh status {0}` and {0}/kube-apiserver.log",
                        dir.display()
                    )
                })?;
                Ok(cluster)
            }
            _ => Self::start_owned(),
        }
    }

    fn start_owned() -> Result<TestCluster, String> {
        let script = script_path();
        if !script.is_file() {
            return Err(format!(
                "test environment script not found at {}",
                script.display()
            ));
        }
        if !apiserver_binary().is_file() {
            eprintln!(
                "kubescape-testenv: {} missing; running `{} install` (one-off build, several minutes)",
                apiserver_binary().display(),
                script.display()
            );
            run_script(&script, &["install".as_ref()], true)?;
        }
        let dir = tempfile::Builder::new()
            .prefix("kubescape-testenv-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?
            .keep();
        let pid = std::process::id().to_string();
        let started = run_script(
            &script,
            &[
                "start".as_ref(),
                dir.as_os_str(),
                "--watch-pid".as_ref(),
                pid.as_ref(),
            ],
            false,
        );
        if let Err(e) = started {
            // Leave the logs for inspection; the processes were stopped by the script.
            return Err(format!("{e}\n(logs kept in {})", dir.display()));
        }
        *OWNED_DIR.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir.clone());
        // SAFETY: registers a plain `extern "C" fn()` with the C library; called once per process
        // because `init` runs inside `OnceLock::get_or_init`.
        if unsafe { atexit(stop_owned_cluster_at_exit) } != 0 {
            eprintln!(
                "kubescape-testenv: atexit registration failed; the watcher will stop the cluster"
            );
        }
        let cluster = Self::from_dir(&dir, true)?;
        eprintln!(
            "kubescape-testenv: started {} (in {})",
            cluster.server,
            dir.display()
        );
        Ok(cluster)
    }

    /// Reads a directory prepared by `k8s-testenv.sh start`.
    fn from_dir(dir: &Path, owned: bool) -> Result<TestCluster, String> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| {
                format!(
                    "reading {}: {e} (was the cluster started there?)",
                    dir.join(name).display()
                )
            })
        };
        let env = read("env")?;
        let server = env
            .lines()
            .filter_map(|l| l.strip_prefix("export KUBESCAPE_TEST_APISERVER="))
            .map(|v| v.trim().trim_matches('\'').to_string())
            .next()
            .ok_or_else(|| format!("{}/env has no KUBESCAPE_TEST_APISERVER", dir.display()))?;
        Ok(TestCluster {
            dir: dir.to_path_buf(),
            kubeconfig: dir.join("kubeconfig"),
            limited_kubeconfig: dir.join("kubeconfig-limited"),
            server,
            admin_token: read("admin.token")?.trim().to_string(),
            limited_token: read("limited.token")?.trim().to_string(),
            owned,
        })
    }

    fn check_ready(&self) -> Result<(), String> {
        let out = self.kubectl(&["get", "--raw", "/readyz", "--request-timeout=10s"]);
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Admin kubeconfig (token of user `admin` in group `system:masters`, context `kubescape-test`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Kubeconfig of user `limited`: authenticated, no groups beyond `system:authenticated`, no
    /// RBAC bindings (so e.g. listing secrets is forbidden).
    pub fn limited_kubeconfig(&self) -> &Path {
        &self.limited_kubeconfig
    }

    /// API server URL, `https://127.0.0.1:PORT`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Bearer token of the admin user.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Bearer token of the `limited` user.
    pub fn limited_token(&self) -> &str {
        &self.limited_token
    }

    /// The cluster's directory: `pki/` (ca.crt, apiserver.{crt,key}, sa.{key,pub},
    /// front-proxy-ca.{crt,key}, front-proxy-client.{crt,key}), `env`, logs.
    pub fn env_dir(&self) -> &Path {
        &self.dir
    }

    /// CA certificate that signed the API server's serving certificate (and client certs).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    /// CA that kube-apiserver trusts for front-proxy (requestheader) client certificates.
    pub fn front_proxy_ca(&self) -> PathBuf {
        self.dir.join("pki/front-proxy-ca.crt")
    }

    /// Client certificate (CN `front-proxy-client`) and key kube-apiserver presents to
    /// aggregated API servers.
    pub fn front_proxy_client(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.join("pki/front-proxy-client.crt"),
            self.dir.join("pki/front-proxy-client.key"),
        )
    }

    /// Whether this process started the cluster (and stops it at exit).
    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// Runs the real `kubectl` with the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        run_kubectl(&self.kubeconfig, args, None)
    }

    /// Runs `kubectl` as the `limited` user.
    pub fn kubectl_limited(&self, args: &[&str]) -> Output {
        run_kubectl(&self.limited_kubeconfig, args, None)
    }

    /// Runs `kubectl` (admin) with `stdin` as standard input.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        run_kubectl(&self.kubeconfig, args, Some(stdin))
    }

    /// Runs `kubectl` (admin) and returns its stdout; panics with stderr when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        expect_success(args, self.kubectl(args))
    }

    /// `kubectl get ... -o json`, parsed; panics when kubectl fails.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.kubectl_ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("kubectl {}: invalid JSON: {e}", all.join(" ")))
    }

    /// `kubectl apply -f -` with the given YAML or JSON (one or more documents); returns
    /// kubectl's stdout and panics with its stderr when the apply fails.
    pub fn apply_yaml(&self, yaml: &str) -> String {
        let args = ["apply", "-f", "-"];
        expect_success(&args, self.kubectl_stdin(&args, yaml))
    }

    /// Creates a namespace with a unique name starting with `prefix` (made a valid DNS label)
    /// and returns the name. Namespaces are never finalized in this cluster (no
    /// controller-manager), so deleting them is pointless; names are unique per run instead.
    pub fn unique_namespace(&self, prefix: &str) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut p: String = prefix
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        p = p.trim_matches('-').to_string();
        if p.is_empty() {
            p.push_str("test");
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let suffix = format!(
            "{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos & 0xfffff
        );
        p.truncate(63 - suffix.len() - 1);
        let name = format!("{}-{suffix}", p.trim_end_matches('-'));
        self.kubectl_ok(&["create", "namespace", &name]);
        name
    }

    /// `group/version` strings the cluster serves (`kubectl api-versions`), e.g. to pick
    /// `batch/v1beta1` vs `batch/v1` for CronJobs.
    pub fn api_versions(&self) -> Vec<String> {
        self.kubectl_ok(&["api-versions"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn run_kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    // Keep the caller's environment from redirecting kubectl elsewhere.
    cmd.env_remove("KUBECONFIG");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("running kubectl (is it on PATH?): {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let input = input.to_string();
        // A writer thread so a large input cannot deadlock against kubectl's output.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for kubectl: {e}"));
        let _ = writer.join();
        return out;
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for kubectl: {e}"))
}

fn expect_success(args: &[&str], out: Output) -> String {
    if !out.status.success() {
        panic!(
            "kubectl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the script; its stderr (the step log) is shown live (`show_progress`, for the long
/// install) or captured and returned (last 60 lines) in the error.
fn run_script(script: &Path, args: &[&std::ffi::OsStr], show_progress: bool) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if show_progress {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let cmdline: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let stderr = if show_progress {
        "(see the output above)".into()
    } else {
        String::from_utf8_lossy(&out.stderr)
    };
    let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
    Err(format!(
        "`{} {}` failed ({}):\n{}",
        script.display(),
        cmdline.join(" "),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// One HTTP request made with curl, as a client outside the services would: the status code
/// (0 when nothing answered) and the body. `token` goes as a bearer token; a body goes as JSON.
pub fn http(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    let out = cmd.arg(url).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}
