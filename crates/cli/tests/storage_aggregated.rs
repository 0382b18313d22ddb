//! End to end: `kubescape serve storage` registered as an APIService behind a real
//! kube-apiserver 1.20, used with the real kubectl through kube-apiserver: front-proxy
//! authentication (the CA read from kube-system/extension-apiserver-authentication),
//! authorization by SubjectAccessReview, including an RBAC denial.
//!
//! kube-apiserver refuses loopback endpoints, so the server listens on the root-namespace end
//! of a veth pair this test creates (its peer sits in a network namespace the test also
//! creates); both are removed at the end.

#[path = "../../image/tests/common/mod.rs"]
mod common;

use kubescape_testenv::storage::StorageServer;
use kubescape_testenv::TestCluster;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

const GV: &str = "spdx.softwarecomposition.kubescape.io/v1beta1";

fn assert_ok(what: &str, out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kubectl_through_kube_apiserver_with_rbac() {
    let cluster = TestCluster::get();
    let tag = std::process::id() % 10_000;
    let (_net, host) = match kubescape_testenv::aggregated::Veth::create(tag) {
        Ok(n) => n,
        Err(e) => panic!("this test needs root and iproute2 to create a veth pair: {e}"),
    };
    let ns = cluster.unique_namespace("storage-e2e");
    let dir = tempfile::tempdir().unwrap();
    let service_name = format!("storage.{ns}.svc");
    let server = StorageServer::start_with_names(
        env!("CARGO_BIN_EXE_kubescape").as_ref(),
        dir.path(),
        IpAddr::V4(host),
        &[&service_name],
        &[
            "--authorization-mode=Delegated",
            &format!(
                "--authentication-kubeconfig={}",
                cluster.kubeconfig().display()
            ),
        ],
    );

    let _registration = kubescape_testenv::aggregated::register(cluster, &server, &ns);
    // Discovery through kube-apiserver lists our kinds (register waited for the first of them).
    let kinds = cluster.kubectl_ok(&[
        "api-resources",
        "--api-group=spdx.softwarecomposition.kubescape.io",
        "-o",
        "name",
    ]);
    for kind in [
        "vulnerabilitymanifestsummaries",
        "applicationprofiles",
        "sbomsyfts",
    ] {
        assert!(
            kinds.contains(&format!("{kind}.spdx.softwarecomposition.kubescape.io")),
            "{kinds}"
        );
    }

    let summary = |name: &str, critical: u32| {
        format!("apiVersion: {GV}\nkind: VulnerabilityManifestSummary\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{app: {name}}}\nspec:\n  severities:\n    critical: {{all: {critical}, relevant: 0}}\n    high: {{all: 1, relevant: 0}}\n")
    };
    // A watch through kube-apiserver, started before the changes.
    let watch = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args([
            "get",
            "vulnerabilitymanifestsummaries",
            "-n",
            &ns,
            "-w",
            "--output-watch-events",
            "--request-timeout=30s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(cluster.apply_yaml(&summary("web", 2)).contains("created"));
    cluster.apply_yaml(&summary("api", 0));
    let table = cluster.kubectl_ok(&["get", "vulnerabilitymanifestsummaries", "-n", &ns]);
    assert!(
        table.lines().next().unwrap().contains("CRITICAL"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("web ") && l.split_whitespace().nth(1) == Some("2")),
        "{table}"
    );
    let yaml = cluster.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummary",
        "web",
        "-n",
        &ns,
        "-o",
        "yaml",
    ]);
    assert!(
        yaml.contains("resourceVersion:") && yaml.contains("uid:"),
        "{yaml}"
    );
    let all = cluster.kubectl_ok(&["get", "vulnerabilitymanifestsummaries", "-A", "-o", "name"]);
    assert_eq!(all.lines().count(), 2, "{all}");
    let selected = cluster.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-n",
        &ns,
        "-l",
        "app=api",
        "-o",
        "name",
    ]);
    assert_eq!(
        selected.trim(),
        "vulnerabilitymanifestsummary.spdx.softwarecomposition.kubescape.io/api"
    );
    cluster.kubectl_ok(&[
        "patch",
        "vulnerabilitymanifestsummary",
        "web",
        "-n",
        &ns,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"severities":{"critical":{"all":5}}}}"#,
    ]);
    cluster.kubectl_ok(&["delete", "vulnerabilitymanifestsummary", "web", "-n", &ns]);
    std::thread::sleep(Duration::from_millis(1500));
    let mut watch = watch;
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let events: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        events,
        ["ADDED web", "ADDED api", "MODIFIED web", "DELETED web"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // RBAC: the unprivileged user is denied by our server's SubjectAccessReview...
    let out = cluster.kubectl_limited(&["get", "vulnerabilitymanifestsummaries", "-n", &ns]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("Forbidden")
            && err.contains(
                "User \"limited\" cannot list resource \"vulnerabilitymanifestsummaries\""
            ),
        "{err}"
    );
    // ...and allowed once RBAC grants it, for exactly what was granted.
    cluster.apply_yaml(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: read-summaries, namespace: {ns}}}
rules:
- apiGroups: [spdx.softwarecomposition.kubescape.io]
  resources: [vulnerabilitymanifestsummaries]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: read-summaries, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-summaries}}
subjects: [{{kind: User, name: limited, apiGroup: rbac.authorization.k8s.io}}]
"
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = cluster.kubectl_limited(&[
            "get",
            "vulnerabilitymanifestsummaries",
            "-n",
            &ns,
            "-o",
            "name",
        ]);
        if out.status.success() {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "vulnerabilitymanifestsummary.spdx.softwarecomposition.kubescape.io/api"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "granted list still denied: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let out =
        cluster.kubectl_limited(&["delete", "vulnerabilitymanifestsummary", "api", "-n", &ns]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot delete resource"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // kube-apiserver merged our OpenAPI document (fetched as system:aggregator, authorized by
    // SubjectAccessReview): explain works through it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = cluster.kubectl(&["explain", "vulnerabilitymanifestsummaries.spec.severities"]);
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && text.contains("critical") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "explain through kube-apiserver: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // The identity came from kube-apiserver's front-proxy headers, not from a client certificate.
    let log = server.log_text();
    assert!(
        !log.contains("not allowed (--requestheader-allowed-names)"),
        "{log}"
    );

    posture_service_publishes_scans(cluster, &ns, dir.path());
    image_scans_publish_results(cluster, &ns, dir.path());
}

/// `kubescape serve kubescape` scans the namespace on request and publishes one
/// WorkloadConfigurationScan (+ summary) per workload through kube-apiserver into our storage.
fn posture_service_publishes_scans(cluster: &TestCluster, ns: &str, dir: &std::path::Path) {
    cluster.apply_yaml(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: risky, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: risky}}}}
  template:
    metadata: {{labels: {{app: risky}}}}
    spec:
      hostPID: true
      containers:
      - name: app
        image: nginx:1.25
        securityContext: {{privileged: true}}
"
    ));
    let port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut service = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "serve",
            "kubescape",
            "--bind-address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--namespace",
            ns,
        ])
        .arg("--results-dir")
        .arg(dir.join("results"))
        .env("KUBECONFIG", cluster.kubeconfig())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("kubescape-role.log")).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(dir.join("kubescape-role.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "posture service did not start: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://127.0.0.1:{port}");
    let post = |query: &str, body: &str| -> serde_json::Value {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
                &format!("{base}/v1/scan{query}"),
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {} {}", String::from_utf8_lossy(&out.stdout), log()))
    };
    let request = format!(
        r#"{{"targetType":"framework","targetNames":["nsa"],"includeNamespaces":["{ns}"]}}"#
    );
    let answer = post("?wait=true", &request);
    assert_eq!(answer["type"], "v1results", "{answer} {}", log());
    assert!(
        answer["response"]["summaryDetails"]["controls"]["C-0057"].is_object(),
        "the report is inlined"
    );

    let scans = cluster.kubectl_ok(&["get", "workloadconfigurationscans", "-n", ns, "-o", "name"]);
    assert!(
        scans.contains(
            "workloadconfigurationscan.spdx.softwarecomposition.kubescape.io/deployment-risky"
        ),
        "{scans}"
    );
    let scan = cluster.get_json(&["workloadconfigurationscan", "deployment-risky", "-n", ns]);
    assert_eq!(
        scan["spec"]["controls"]["C-0057"]["status"]["status"], "failed",
        "privileged container"
    );
    assert_eq!(
        scan["metadata"]["labels"]["kubescape.io/workload-kind"],
        "Deployment"
    );
    let summary = cluster.kubectl_ok(&["get", "workloadconfigurationscansummaries", "-n", ns]);
    assert!(
        summary.lines().next().unwrap().contains("CRITICAL")
            && summary.contains("deployment-risky"),
        "{summary}"
    );
    let totals = cluster.kubectl_ok(&["get", "configurationscansummaries", ns, "-o", "name"]);
    assert!(!totals.trim().is_empty());

    // Without wait: an id, a status, then the results.
    let answer = post("", &request);
    assert_eq!(answer["type"], "busy", "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("curl")
            .args(["-sS", &format!("{base}/v1/status?id={id}")])
            .output()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if status["type"] == "notBusy" {
            break;
        }
        assert!(
            Instant::now() < deadline && status["type"] == "busy",
            "{status} {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = Command::new("curl")
        .args(["-sS", &format!("{base}/v1/results?id={id}")])
        .output()
        .unwrap();
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results["type"], "v1results");
    let bad = post("", r#"{"targetType":"nonsense"}"#);
    assert_eq!(bad["type"], "error");

    // The operator removes a workload's results when the workload is deleted.
    let operator_port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let continuous = dir.join("continuous-scan.json");
    std::fs::write(
        &continuous,
        format!(r#"{{"match":[{{"apiGroups":["apps"],"apiVersions":["v1"],"resources":["deployments"]}}],"namespaces":["{ns}"]}}"#),
    )
    .unwrap();
    let mut operator = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "serve",
            "operator",
            "--bind-address",
            "127.0.0.1",
            "--port",
            &operator_port.to_string(),
            "--namespace",
            ns,
            "--allowed-users",
            "admin",
            "--no-startup-scan",
            "--no-image-scan",
            "--kubescape-url",
            &base,
        ])
        .arg("--continuous-scan-config")
        .arg(&continuous)
        .env("KUBECONFIG", cluster.kubeconfig())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("operator.log")).unwrap())
        .spawn()
        .unwrap();
    let operator_log = || std::fs::read_to_string(dir.join("operator.log")).unwrap_or_default();
    while std::net::TcpStream::connect(("127.0.0.1", operator_port)).is_err() {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Give the deletion watches a moment to be established before the deletion.
    std::thread::sleep(Duration::from_secs(2));
    cluster.kubectl_ok(&["delete", "deployment", "risky", "-n", ns]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = cluster.kubectl_ok(&[
            "get",
            "workloadconfigurationscans,workloadconfigurationscansummaries",
            "-n",
            ns,
            "-o",
            "name",
        ]);
        if !left.contains("deployment-risky") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "results of the deleted deployment still there: {left}\n{}",
            operator_log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Continuous scanning: a new workload is scanned on its own and its results published.
    cluster.apply_yaml(&format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: late, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: late}}}}
  template:
    metadata: {{labels: {{app: late}}}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        securityContext: {{privileged: true}}
"
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = cluster.kubectl(&[
            "get",
            "workloadconfigurationscan",
            "deployment-late",
            "-n",
            ns,
            "-o",
            "json",
        ]);
        if out.status.success() {
            let scan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                scan["spec"]["controls"]["C-0057"]["status"]["status"],
                "failed"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new deployment was not scanned: {}\n{}",
            operator_log(),
            log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = operator.kill();
    let _ = operator.wait();
    let _ = service.kill();
    let _ = service.wait();
}

/// Bearer tokens sent straight to the storage server are checked with a TokenReview and the
/// request authorized with a SubjectAccessReview; the settings come from a --config file; with no
/// certificate files the server serves a self-signed one.
#[test]
fn bearer_tokens_config_file_and_self_signed_certificate() {
    let cluster = TestCluster::get();
    let dir = tempfile::tempdir().unwrap();
    let port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"securePort": {port}, "bindAddress": "127.0.0.1", "dataDir": "{}", "authenticationKubeconfig": "{}", "writeQueueCapacity": 64}}"#,
            dir.path().join("data").display(),
            cluster.kubeconfig().display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args(["serve", "storage", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server did not start: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("https://127.0.0.1:{port}");
    let curl = |token: &str, method: &str, path: &str, body: Option<&str>| -> (String, String) {
        let mut cmd = Command::new("curl");
        // -k: the certificate is the self-signed one the server generated.
        cmd.args([
            "-sk",
            "-o",
            "/dev/stdout",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "-H",
            &format!("Authorization: Bearer {token}"),
        ]);
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        let out = cmd.arg(format!("{url}{path}")).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_string(), body.to_string())
    };
    let list = format!("/apis/{GV}/namespaces/tokens/vulnerabilitymanifestsummaries");
    let (code, _) = curl(cluster.admin_token(), "GET", &list, None);
    assert_eq!(code, "200", "admin token (system:masters) is allowed");
    let (code, body) = curl(cluster.limited_token(), "GET", &list, None);
    assert_eq!(code, "403", "{body}");
    assert!(body.contains("User \\\"limited\\\" cannot list"), "{body}");
    let (code, _) = curl("not-a-valid-token", "GET", &list, None);
    assert_eq!(code, "401");
    // deletecollection with a label selector, as the admin.
    for (name, team) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let obj = format!(
            r#"{{"apiVersion":"{GV}","kind":"VulnerabilityManifestSummary","metadata":{{"name":"{name}","labels":{{"team":"{team}"}}}}}}"#
        );
        let (code, body) = curl(cluster.admin_token(), "POST", &list, Some(&obj));
        assert_eq!(code, "201", "{body}");
    }
    let (code, body) = curl(
        cluster.admin_token(),
        "DELETE",
        &format!("{list}?labelSelector=team%3Dx"),
        None,
    );
    assert_eq!(code, "200", "{body}");
    let deleted: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(deleted["items"].as_array().unwrap().len(), 2);
    let (_, body) = curl(cluster.admin_token(), "GET", &list, None);
    let left: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c"]);
    let _ = child.kill();
    let _ = child.wait();
}

/// A running role process, killed on drop.
struct Role(std::process::Child);

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(
    what: &str,
    timeout: Duration,
    log: impl Fn() -> String,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what}\n{}", log());
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Image scanning end to end: the operator (ServiceAccount-style token, TokenReview) finds the
/// Pods' images at start and as new Pods appear, kubevuln pulls them from a real registry,
/// matches them against a database of the real records, and the SBOM, manifest, VEX and
/// per-container summaries are listed with kubectl through kube-apiserver. The image shared by
/// two workloads is cataloged once. A recurring image scan is created as CronJob + ConfigMap and
/// `kubescape http-request` with its body triggers a scan; deleting a workload removes its
/// summary; unauthenticated calls are refused.
fn image_scans_publish_results(cluster: &TestCluster, ns: &str, dir: &std::path::Path) {
    let kubescape = env!("CARGO_BIN_EXE_kubescape");
    // The kit first: its script also installs the registry and skopeo on a fresh machine.
    let kit = common::kit();
    let registry = common::Registry::start(None);
    registry.push(&kit.join("apps.oci"), "kit/apps:1");
    let image = format!("{}/kit/apps:1", registry.addr);
    let vulndata =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/vulndata");
    let db = dir.join("vulndb.json.gz");
    let out = Command::new(kubescape)
        .args(["vulndb", "--db"])
        .arg(&db)
        .arg("import")
        .arg(vulndata.join("pypa-osv"))
        .arg(vulndata.join("go-osv"))
        .output()
        .unwrap();
    assert_ok("vulndb import", &out);
    let token_file = dir.join("token");
    std::fs::write(&token_file, cluster.admin_token()).unwrap();

    // kubevuln
    let kubevuln_port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let kubevuln_log = dir.join("kubevuln.log");
    let _kubevuln = Role(
        Command::new(kubescape)
            .args(["serve", "kubevuln", "--bind-address", "127.0.0.1", "--port"])
            .arg(kubevuln_port.to_string())
            .args([
                "--namespace",
                ns,
                "--allowed-users",
                "admin",
                "--insecure-registries",
            ])
            .arg(&registry.addr)
            .arg("--db")
            .arg(&db)
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("KUBESCAPE_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&kubevuln_log).unwrap())
            .spawn()
            .unwrap(),
    );
    let kubevuln_text = || std::fs::read_to_string(&kubevuln_log).unwrap_or_default();
    let kubevuln_url = format!("http://127.0.0.1:{kubevuln_port}");
    let status_of = |path: &str, token: Option<&str>| -> u16 {
        kubescape_testenv::http("GET", &format!("{kubevuln_url}{path}"), token, None).0
    };
    wait_for(
        "kubevuln did not become ready (database loaded)",
        Duration::from_secs(60),
        kubevuln_text,
        || status_of("/v1/readiness", None) == 200,
    );
    assert_eq!(status_of("/v1/liveness", None), 200);
    // Scan requests need a valid token of an allowed identity.
    let post_kubevuln = |token: Option<&str>| -> u16 {
        let body = format!(r#"{{"imageTag":"{image}"}}"#);
        let url = format!("{kubevuln_url}/v1/sbomCreation");
        kubescape_testenv::http("POST", &url, token, Some(&body)).0
    };
    assert_eq!(post_kubevuln(None), 401);
    assert_eq!(post_kubevuln(Some("not-a-token")), 401);
    assert_eq!(post_kubevuln(Some(cluster.limited_token())), 403);

    // Workloads as the controllers would leave them (this cluster runs no controller manager):
    // Deployment -> ReplicaSet -> Pod, and a second Deployment with the same image.
    let workload = |name: &str| {
        cluster.apply_yaml(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: app, image: \"{image}\"}}]
"
        ));
        let uid = cluster.kubectl_ok(&[
            "get",
            "deployment",
            name,
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        cluster.apply_yaml(&format!(
            "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}-5d9f
  namespace: {ns}
  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: {name}, uid: {uid}, controller: true}}]
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: app, image: \"{image}\"}}]
"
        ));
        let rs_uid = cluster.kubectl_ok(&[
            "get",
            "replicaset",
            &format!("{name}-5d9f"),
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        cluster.apply_yaml(&format!(
            "apiVersion: v1
kind: Pod
metadata:
  name: {name}-5d9f-abcde
  namespace: {ns}
  labels: {{app: {name}}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-5d9f, uid: {rs_uid}, controller: true}}]
spec:
  containers: [{{name: app, image: \"{image}\"}}]
"
        ));
    };
    workload("shop");

    // The posture service the operator's start-up posture scan goes to.
    let posture_port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let _posture = Role(
        Command::new(kubescape)
            .args([
                "serve",
                "kubescape",
                "--bind-address",
                "127.0.0.1",
                "--port",
            ])
            .arg(posture_port.to_string())
            .args(["--namespace", ns, "--results-dir"])
            .arg(dir.join("image-phase-results"))
            .env("KUBECONFIG", cluster.kubeconfig())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("posture-images.log")).unwrap())
            .spawn()
            .unwrap(),
    );

    // The operator: a posture scan of the cluster and an image scan of the running Pods at
    // start, then the images of new Pods.
    let operator_port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let operator_log = dir.join("operator-images.log");
    let _operator = Role(
        Command::new(kubescape)
            .args(["serve", "operator", "--bind-address", "127.0.0.1", "--port"])
            .arg(operator_port.to_string())
            .args([
                "--namespace",
                ns,
                "--allowed-users",
                "admin",
                "--cluster-name",
                "e2e",
                "--kubescape-url",
                &format!("http://127.0.0.1:{posture_port}"),
                "--kubevuln-url",
                &kubevuln_url,
            ])
            .arg("--token-file")
            .arg(&token_file)
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("KUBESCAPE_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&operator_log).unwrap())
            .spawn()
            .unwrap(),
    );
    let logs = || {
        format!(
            "operator:\n{}\nkubevuln:\n{}",
            std::fs::read_to_string(&operator_log).unwrap_or_default(),
            kubevuln_text()
        )
    };
    let summary = |name: &str| -> Option<serde_json::Value> {
        let out = cluster.kubectl(&[
            "get",
            "vulnerabilitymanifestsummary",
            name,
            "-n",
            ns,
            "-o",
            "json",
        ]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    };
    wait_for(
        "the start-up image scan published no summary for deployment-shop-app",
        Duration::from_secs(120),
        logs,
        || summary("deployment-shop-app").is_some(),
    );
    // The start-up posture scan published the workload's configuration scan.
    wait_for(
        "the start-up posture scan published no WorkloadConfigurationScan for deployment-shop",
        Duration::from_secs(120),
        || {
            format!(
                "{}\nposture:\n{}",
                logs(),
                std::fs::read_to_string(dir.join("posture-images.log")).unwrap_or_default()
            )
        },
        || {
            cluster
                .kubectl(&[
                    "get",
                    "workloadconfigurationscan",
                    "deployment-shop",
                    "-n",
                    ns,
                ])
                .status
                .success()
        },
    );

    // A new workload and a naked Pod with the same image, seen by the watcher.
    workload("cart");
    cluster.apply_yaml(&format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: solo, namespace: {ns}}}
spec:
  containers: [{{name: main, image: \"{image}\"}}]
"
    ));
    wait_for(
        "the watcher's scans published no summaries for deployment-cart-app and pod-solo-main",
        Duration::from_secs(120),
        logs,
        || summary("deployment-cart-app").is_some() && summary("pod-solo-main").is_some(),
    );

    // What kubectl lists through kube-apiserver: the image's manifest, SBOM and VEX, and the
    // summaries pointing at the manifest, with counts equal to its matches.
    let manifests = cluster.get_json(&["vulnerabilitymanifests", "-n", ns]);
    let items = manifests["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one image, one manifest: {manifests}");
    let manifest = &items[0];
    let slug = manifest["metadata"]["name"].as_str().unwrap().to_string();
    assert!(slug.contains("kit-apps-1"), "{slug}");
    let matches = manifest["spec"]["payload"]["matches"].as_array().unwrap();
    assert!(
        !matches.is_empty(),
        "apps.oci holds vulnerable Python packages and a Go binary"
    );
    assert_eq!(manifest["spec"]["metadata"]["tool"]["name"], "kubescape-rs");
    assert!(manifest["spec"]["metadata"]["tool"]["databaseVersion"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
    let digest = manifest["metadata"]["annotations"]["kubescape.io/image-id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let sbom = cluster.get_json(&["sbomsyft", &slug, "-n", ns]);
    assert!(sbom["spec"]["syft"]["artifacts"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    let vex = cluster.get_json(&["openvulnerabilityexchangecontainer", &slug, "-n", ns]);
    assert_eq!(
        vex["spec"]["statements"].as_array().map(|s| !s.is_empty()),
        Some(true),
        "{vex}"
    );
    let by_severity = |sev: &str| {
        matches
            .iter()
            .filter(|m| {
                m["vulnerability"]["severity"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(sev)
            })
            .count() as u64
    };
    for name in [
        "deployment-shop-app",
        "deployment-cart-app",
        "pod-solo-main",
    ] {
        let s = summary(name).unwrap();
        assert_eq!(
            s["spec"]["vulnerabilitiesRef"]["all"]["name"],
            slug.as_str()
        );
        for sev in ["critical", "high", "medium", "low", "negligible", "unknown"] {
            assert_eq!(
                s["spec"]["severities"][sev]["all"].as_u64(),
                Some(by_severity(sev)),
                "{name} {sev}: {s}"
            );
        }
    }
    let shop = summary("deployment-shop-app").unwrap();
    assert_eq!(
        shop["metadata"]["labels"]["kubescape.io/workload-kind"],
        "Deployment"
    );
    assert_eq!(
        shop["metadata"]["annotations"]["kubescape.io/image-id"],
        digest.as_str()
    );
    // Three workloads, one image: pulled and cataloged once, the stored result reused.
    let cataloged = kubevuln_text().matches("image cataloged").count();
    assert_eq!(cataloged, 1, "{}", logs());
    // The namespace total (computed by storage) adds up every summary of the namespace.
    let total = cluster.get_json(&["vulnerabilitysummary", ns]);
    let all = cluster.get_json(&["vulnerabilitymanifestsummaries", "-n", ns]);
    for sev in ["critical", "high", "unknown"] {
        let sum: u64 = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["spec"]["severities"][sev]["all"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(
            total["spec"]["severities"][sev]["all"].as_u64(),
            Some(sum),
            "{total}"
        );
    }
    let refs = total["spec"]["vulnerabilitiesRef"].to_string();
    assert!(
        refs.contains("deployment-shop-app") && refs.contains("pod-solo-main"),
        "{refs}"
    );

    // triggerAction: refused without a token; a `scan` of one workload with one.
    let trigger = |token: Option<&str>, body: &serde_json::Value| -> (u16, serde_json::Value) {
        let url = format!("http://127.0.0.1:{operator_port}/v1/triggerAction");
        let (code, text) = kubescape_testenv::http("POST", &url, token, Some(&body.to_string()));
        (code, serde_json::from_str(&text).unwrap_or_default())
    };
    let scan = serde_json::json!({"commands": [{"commandName": "scan", "wlid": format!("wlid://cluster-e2e/namespace-{ns}/deployment-shop")}]});
    assert_eq!(trigger(None, &scan).0, 401);
    let (code, answer) = trigger(Some(cluster.admin_token()), &scan);
    assert_eq!(code, 200, "{answer}\n{}", logs());
    assert!(
        answer["results"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("1 container image scans requested"),
        "{answer}"
    );
    // The job is visible in kubevuln's status API, and it reuses the stored manifest.
    wait_for(
        "the requested rescan did not finish",
        Duration::from_secs(60),
        logs,
        || {
            kubevuln_text()
                .matches("stored result of this scanner and database reused")
                .count()
                >= 3
        },
    );

    // A recurring image scan: CronJob + ConfigMap from the chart's template, and the body the
    // CronJob would post, sent with `kubescape http-request`, triggers a scan.
    cluster.apply_yaml(&format!(
        "apiVersion: v1
kind: ConfigMap
metadata: {{name: kubevuln-cronjob-template, namespace: {ns}}}
data:
  cronjobTemplate: |
    apiVersion: batch/v1beta1
    kind: CronJob
    metadata: {{name: kubevuln-scheduler}}
    spec:
      schedule: \"0 0 * * *\"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: kubevuln-scheduler
                image: kubescape
                args: [http-request, --path-body=/home/ks/request-body.json]
                volumeMounts: [{{name: request-body, mountPath: /home/ks/request-body.json, subPath: request-body.json}}]
              volumes: [{{name: request-body, configMap: {{name: kubevuln-scheduler}}}}]
"
    ));
    let set = serde_json::json!({"commands": [{"commandName": "setVulnScanCronJob",
        "designators": [{"designatorType": "Attributes", "attributes": {"namespace": ns}}],
        "args": {"jobParams": {"cronTabSchedule": "15 3 * * *"}}}]});
    let (code, answer) = trigger(Some(cluster.admin_token()), &set);
    assert_eq!(code, 200, "{answer}\n{}", logs());
    let cronjobs = cluster.get_json(&["cronjobs", "-n", ns, "-l", "kubescape.io/scheduled-scan"]);
    let cronjob = &cronjobs["items"][0];
    let name = cronjob["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("kubevuln-schedule-") && name.len() <= 52,
        "{name}"
    );
    assert_eq!(cronjob["spec"]["schedule"], "15 3 * * *");
    let body = cluster.kubectl_ok(&[
        "get",
        "configmap",
        &name,
        "-n",
        ns,
        "-o",
        "jsonpath={.data.request-body\\.json}",
    ]);
    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(request["commands"][0]["commandName"], "scan");
    let body_file = dir.join("request-body.json");
    std::fs::write(&body_file, &body).unwrap();
    let before = std::fs::read_to_string(&operator_log)
        .unwrap_or_default()
        .matches("image scan requested")
        .count();
    let out = Command::new(kubescape)
        .args(["http-request", "--method=POST", "--scheme=http"])
        .arg(format!("--host=127.0.0.1:{operator_port}"))
        .arg("--path=v1/triggerAction")
        .arg(format!("--path-body={}", body_file.display()))
        .arg(format!("--token-file={}", token_file.display()))
        .output()
        .unwrap();
    assert_ok("http-request with the CronJob's body", &out);
    let after = std::fs::read_to_string(&operator_log)
        .unwrap_or_default()
        .matches("image scan requested")
        .count();
    assert!(
        after >= before + 3,
        "the namespace's three containers: {before} -> {after}\n{}",
        logs()
    );

    // A registry scan: the registry's repositories (filtered) and newest tags, each image scanned
    // on its own (a manifest, no workload summary).
    registry.push(&kit.join("apps.oci"), "team/api:1");
    registry.push(&kit.join("apps.oci"), "team/api:2");
    let registry_scan = serde_json::json!({"commands": [{"commandName": "scanRegistryV2",
        "args": {"registryInfo-v1": {"registryName": format!("{}/team", registry.addr), "isHTTPS": false, "depth": 1, "authMethod": {"type": "public"}}}}]});
    let (code, answer) = trigger(Some(cluster.admin_token()), &registry_scan);
    assert_eq!(code, 200, "{answer}\n{}", logs());
    assert!(
        answer["results"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("1 of 1 images"),
        "{answer}"
    );
    wait_for(
        "the registry image's manifest did not appear",
        Duration::from_secs(120),
        logs,
        || {
            cluster
                .kubectl_ok(&["get", "vulnerabilitymanifests", "-n", ns, "-o", "name"])
                .contains("team-api-2-")
        },
    );

    // A scan that takes longer than --scan-timeout is stopped and reported failed.
    let impatient_port = kubescape_testenv::storage::free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let _impatient = Role(
        Command::new(kubescape)
            .args(["serve", "kubevuln", "--bind-address", "127.0.0.1", "--port"])
            .arg(impatient_port.to_string())
            .args([
                "--namespace",
                ns,
                "--allowed-users",
                "admin",
                "--scan-timeout",
                "0",
            ])
            .args(["--insecure-registries", &registry.addr])
            .arg("--db")
            .arg(&db)
            .env("KUBECONFIG", cluster.kubeconfig())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let impatient = format!("http://127.0.0.1:{impatient_port}");
    let call = |method: &str, url: String, body: Option<String>| -> serde_json::Value {
        let token = Some(cluster.admin_token());
        let (_, text) = kubescape_testenv::http(method, &url, token, body.as_deref());
        serde_json::from_str(&text).unwrap_or_default()
    };
    wait_for(
        "the second kubevuln did not become ready",
        Duration::from_secs(30),
        logs,
        || {
            let url = format!("{impatient}/v1/readiness");
            kubescape_testenv::http("GET", &url, None, None).0 == 200
        },
    );
    // A tag not scanned before, so nothing stored can be reused.
    call(
        "POST",
        format!("{impatient}/v1/scanImage"),
        Some(serde_json::json!({"imageTag": format!("{}/team/api:1", registry.addr), "jobID": "impatient-1"}).to_string()),
    );
    let mut status = serde_json::Value::Null;
    wait_for(
        "the timed-out scan did not end",
        Duration::from_secs(30),
        logs,
        || {
            status = call(
                "GET",
                format!("{impatient}/v1/scanStatus/impatient-1"),
                None,
            );
            status["status"] == "failed" || status["status"] == "done"
        },
    );
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("--scan-timeout"),
        "{status}"
    );

    // Both roles count their work on /metrics.
    let metrics = |url: String| -> String { kubescape_testenv::http("GET", &url, None, None).1 };
    let kubevuln_metrics = metrics(format!("{kubevuln_url}/metrics"));
    let done = kubevuln_metrics
        .lines()
        .find_map(|l| l.strip_prefix("kubevuln_scans_total{kind=\"scan\",outcome=\"done\"} "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(done.is_some_and(|n| n >= 4), "{kubevuln_metrics}");
    assert!(
        kubevuln_metrics.contains("kubevuln_database_records "),
        "{kubevuln_metrics}"
    );
    assert!(kubevuln_metrics.contains("process_resident_memory_bytes "));
    let operator_metrics = metrics(format!("http://127.0.0.1:{operator_port}/metrics"));
    assert!(
        operator_metrics
            .contains("operator_commands_total{command=\"scanRegistryV2\",outcome=\"ok\"} 1"),
        "{operator_metrics}"
    );

    // Deleting a workload removes its summary (the image's manifest stays for the others).
    cluster.kubectl_ok(&["delete", "deployment", "cart", "-n", ns]);
    wait_for(
        "the deleted deployment's vulnerability summary is still there",
        Duration::from_secs(30),
        logs,
        || summary("deployment-cart-app").is_none(),
    );
    assert!(summary("deployment-shop-app").is_some());
}
