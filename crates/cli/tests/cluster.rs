//! Cluster scans against a real kube-apiserver (crates/testenv).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kubescape_api::posture::{PostureReport, Status};
use kubescape_testenv::TestCluster;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kubescape(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .expect("run kubescape")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn report(kubeconfig: &Path, args: &[&str]) -> PostureReport {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json", "--output", file.to_str().unwrap()]);
    let out = kubescape(kubeconfig, &all);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "scan failed: {}",
        text(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

/// `kubectl apply` of a manifest, retried: test processes run in parallel and may race to create
/// the same objects.
fn apply(c: &TestCluster, yaml: &str) {
    let mut last = String::new();
    for _ in 0..5 {
        let out = c.kubectl_stdin(&["apply", "-f", "-"], yaml);
        if out.status.success() {
            return;
        }
        last = text(&out.stderr);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    panic!("kubectl apply failed: {last}");
}

/// The example manifests, applied (namespaces first). The 1.20 test server serves CronJob only as
/// batch/v1beta1, so the CronJob's apiVersion follows what the server offers.
fn cluster_with_examples() -> &'static TestCluster {
    let c = TestCluster::get();
    apply(c, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: monitoring}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ci}\n");
    let serves_v1 = text(
        &c.kubectl(&["explain", "cronjob", "--api-version=batch/v1"])
            .stdout,
    )
    .contains("CronJob");
    let dir = repo().join("examples/manifests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let mut yaml = std::fs::read_to_string(&f).unwrap();
        if !serves_v1 {
            yaml = yaml.replace(
                "apiVersion: batch/v1\nkind: CronJob",
                "apiVersion: batch/v1beta1\nkind: CronJob",
            );
        }
        apply(c, &yaml);
    }
    c
}

/// (control, "<group>/<version>/<ns>/<Kind>/<name>") -> status, with file IDs reduced to their API part.
fn statuses(r: &PostureReport) -> BTreeMap<(String, String), Status> {
    let mut m = BTreeMap::new();
    for res in &r.results {
        let id = res
            .resource_id
            .split_once("/api=")
            .map(|(_, a)| a)
            .unwrap_or(&res.resource_id)
            .to_string();
        for c in &res.controls {
            m.insert((c.control_id.clone(), id.clone()), c.status.status);
        }
    }
    m
}

#[test]
fn cluster_scan_matches_the_file_scan_of_the_same_manifests() {
    let c = cluster_with_examples();
    let frameworks = "nsa,mitre,workloadscan,allcontrols";
    let cluster_scan = [
        "scan",
        "framework",
        frameworks,
        "--include-namespaces",
        "shop,monitoring,ci,default",
    ];
    let cluster = report(c.kubeconfig(), &cluster_scan);
    let files = report(
        c.kubeconfig(),
        &[
            "scan",
            "framework",
            frameworks,
            repo().join("examples/manifests").to_str().unwrap(),
        ],
    );
    assert_eq!(cluster.metadata.scan_metadata.scanning_target, "cluster");
    assert!(!cluster.cluster_name.is_empty());
    assert!(cluster
        .results
        .iter()
        .all(|r| !r.resource_id.starts_with("path=")));

    let cs = statuses(&cluster);
    let fs = statuses(&files);
    let mut compared = 0;
    let mut differences = Vec::new();
    for (key, fstatus) in &fs {
        let Some(cstatus) = cs.get(key) else { continue };
        compared += 1;
        if cstatus != fstatus {
            differences.push(format!(
                "{} on {}: file {fstatus:?}, cluster {cstatus:?}",
                key.0, key.1
            ));
        }
    }
    assert!(
        compared > 200,
        "only {compared} (control, resource) pairs in common"
    );
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // Namespace by namespace (each its own batch, RBAC and cluster-scoped objects as context),
    // the cluster scan reports exactly what one evaluation of everything reports.
    let batched = report(
        c.kubeconfig(),
        &[&cluster_scan[..], &["--batch-objects", "1"]].concat(),
    );
    assert_eq!(
        serde_json::to_value(&batched.results).unwrap(),
        serde_json::to_value(&cluster.results).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&batched.summary_details).unwrap(),
        serde_json::to_value(&cluster.summary_details).unwrap()
    );
    // Every manifest workload was found in the cluster.
    for w in [
        "apps/v1/shop/Deployment/web-secure",
        "apps/v1/default/Deployment/legacy-api",
        "apps/v1/monitoring/DaemonSet/log-shipper",
    ] {
        assert!(
            cluster.results.iter().any(|r| r.resource_id == w),
            "{w} missing from the cluster scan"
        );
    }
}

#[test]
fn rbac_controls_find_the_over_privileged_binding() {
    let c = cluster_with_examples();
    let r = report(c.kubeconfig(), &["scan", "control", "C-0035,C-0015"]);
    let admin = r
        .results
        .iter()
        .find(|res| res.resource_id.ends_with("/ci/ServiceAccount/ci-deployer"))
        .expect("the ci-deployer subject is reported");
    let c35 = admin
        .controls
        .iter()
        .find(|c| c.control_id == "C-0035")
        .unwrap();
    assert_eq!(c35.status.status, Status::Failed);
    assert!(c35.rules[0]
        .related_resources_ids
        .iter()
        .any(|id| id.ends_with("ClusterRoleBinding/ci-deployer-admin")));
}

#[test]
fn a_user_limited_by_rbac_gets_a_partial_scan_naming_what_was_skipped() {
    let c = cluster_with_examples();
    // The limited user may read workloads, but nothing of RBAC.
    c.apply_yaml(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: kubescape-test-workload-reader}\nrules:\n- apiGroups: [\"\", \"apps\", \"batch\"]\n  resources: [\"pods\", \"deployments\", \"daemonsets\", \"statefulsets\", \"replicasets\", \"jobs\", \"cronjobs\"]\n  verbs: [\"get\", \"list\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: kubescape-test-limited-reader}\nsubjects:\n- {kind: User, name: limited, apiGroup: rbac.authorization.k8s.io}\nroleRef: {kind: ClusterRole, name: kubescape-test-workload-reader, apiGroup: rbac.authorization.k8s.io}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let out = kubescape(
        c.limited_kubeconfig(),
        &[
            "scan",
            "control",
            "C-0057,C-0035",
            "--format",
            "json",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{stderr}");
    assert!(
        stderr.contains("cannot list clusterrolebindings.rbac.authorization.k8s.io"),
        "{stderr}"
    );
    let r: PostureReport = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let c57 = &r.summary_details.controls["C-0057"];
    assert_eq!(
        c57.status,
        Status::Failed,
        "workloads were readable and legacy-api is privileged"
    );
    let c35 = &r.summary_details.controls["C-0035"];
    assert_eq!(c35.status, Status::Skipped);
    assert!(
        c35.status_info.info.contains("forbidden"),
        "{}",
        c35.status_info.info
    );
}

#[test]
fn unreachable_clusters_and_bad_credentials_are_explained() {
    let c = TestCluster::get();
    let dir = tempfile::tempdir().unwrap();
    let kc = std::fs::read_to_string(c.kubeconfig()).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = dir.path().join("unreachable");
    std::fs::write(
        &unreachable,
        kc.replace(c.server(), &format!("https://127.0.0.1:{port}")),
    )
    .unwrap();
    let out = kubescape(&unreachable, &["scan", "control", "C-0057"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot reach the cluster"),
        "{}",
        text(&out.stderr)
    );

    let bad_token = dir.path().join("bad-token");
    std::fs::write(
        &bad_token,
        kc.replace(c.admin_token(), "expired-or-wrong-token"),
    )
    .unwrap();
    let out = kubescape(&bad_token, &["scan", "control", "C-0057"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));

    let out = kubescape(
        c.kubeconfig(),
        &["scan", "control", "C-0057", "--kube-context", "nope"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope"), "{}", text(&out.stderr));
}

/// A cluster of its own for tests that leave it in a state other tests must not see.
struct PrivateCluster {
    dir: tempfile::TempDir,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(kubescape_testenv::script_path())
            .arg("start")
            .arg(dir.path())
            .args(["--watch-pid", &std::process::id().to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cannot start a private cluster: {}",
            text(&out.stderr)
        );
        PrivateCluster { dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new(kubescape_testenv::script_path())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

#[test]
fn api_server_version_rules_see_the_real_server_version_despite_a_broken_aggregated_api() {
    // An aggregated API whose backend does not exist (as with a failed metrics-server): its
    // discovery fails, the scan must go on. On this 1.20 server CVE-2022-3172 applies to it.
    let c = PrivateCluster::start();
    let manifest = "apiVersion: v1\nkind: Service\nmetadata: {name: metrics-api, namespace: default}\nspec:\n  ports:\n  - {port: 443, targetPort: 8443}\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.example.com}\nspec:\n  group: metrics.example.com\n  version: v1beta1\n  groupPriorityMinimum: 100\n  versionPriority: 100\n  insecureSkipTLSVerify: true\n  service: {name: metrics-api, namespace: default}\n";
    let mut child = Command::new("kubectl")
        .env("KUBECONFIG", c.kubeconfig())
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), manifest.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let started = std::time::Instant::now();
    let r = report(&c.kubeconfig(), &["scan", "control", "C-0089"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "scan took {:?}",
        started.elapsed()
    );
    let c89 = &r.summary_details.controls["C-0089"];
    assert_eq!(c89.status, Status::Failed, "{:?}", c89.status_info);
    assert!(r.results.iter().any(|res| res
        .resource_id
        .ends_with("/APIService/v1beta1.metrics.example.com")));
}
