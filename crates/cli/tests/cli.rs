//! End-to-end tests of the `kubescape` binary on real files, a real Helm library, the real kubectl
//! (Kustomize) and a real HTTP server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kubescape_api::posture::{PostureReport, Status};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubescape"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run kubescape")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_report(args: &[&str], paths: &[&Path]) -> PostureReport {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.json");
    let mut cmd = bin();
    cmd.arg("scan")
        .args(args)
        .args(paths)
        .args(["--format", "json", "--output"])
        .arg(&out_file);
    let out = run(&mut cmd);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "scan failed: {}",
        text(&out.stderr)
    );
    let body = std::fs::read_to_string(&out_file).unwrap();
    serde_json::from_str(&body).expect("JSON report parses into the upstream report model")
}

/// Runs `kubescape policy test <dir> --ignore-messages` and checks its final summary line.
fn policy_test_ignoring_messages(dir: &Path, summary: &str) -> Output {
    let out = run(bin()
        .args(["policy", "test"])
        .arg(dir)
        .arg("--ignore-messages"));
    assert_eq!(
        text(&out.stdout).lines().last(),
        Some(summary),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Status of `control` on the resource whose ID ends with `/<Kind>/<name>`.
fn status(r: &PostureReport, control: &str, kind_name: &str) -> Option<Status> {
    r.results
        .iter()
        .find(|res| res.resource_id.ends_with(&format!("/{kind_name}")))
        .and_then(|res| res.controls.iter().find(|c| c.control_id == control))
        .map(|c| c.status.status)
}

#[test]
fn example_manifests_produce_the_expected_statuses() {
    let examples = repo().join("examples/manifests");
    let r = json_report(
        &["framework", "nsa,mitre,workloadscan,allcontrols"],
        &[&examples],
    );
    let names: Vec<&str> = r
        .summary_details
        .frameworks
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["NSA", "MITRE", "WorkloadScan", "AllControls"]);

    use Status::*;
    let expect = [
        ("C-0057", "Deployment/legacy-api", Failed), // privileged
        ("C-0057", "Deployment/web-secure", Passed),
        ("C-0016", "Deployment/legacy-api", Failed), // privilege escalation allowed
        ("C-0016", "Deployment/web-secure", Passed),
        ("C-0038", "Deployment/legacy-api", Failed), // hostPID
        ("C-0038", "Deployment/web-secure", Passed),
        ("C-0041", "Deployment/legacy-api", Failed), // hostNetwork
        ("C-0044", "Deployment/legacy-api", Failed), // hostPort
        ("C-0044", "Deployment/web-secure", Passed),
        ("C-0045", "Deployment/legacy-api", Failed), // writable hostPath
        ("C-0045", "DaemonSet/log-shipper", Passed), // read-only hostPath
        ("C-0048", "DaemonSet/log-shipper", Failed), // any hostPath
        ("C-0074", "Deployment/legacy-api", Failed), // docker socket
        ("C-0046", "Deployment/legacy-api", Failed), // SYS_ADMIN / NET_ADMIN
        ("C-0046", "Deployment/web-secure", Passed),
        ("C-0017", "Deployment/web-secure", Passed), // read-only root fs
        ("C-0017", "StatefulSet/orders-db", Failed),
        ("C-0013", "Deployment/web-secure", Passed), // non-root
        ("C-0013", "StatefulSet/orders-db", Failed),
        ("C-0012", "Deployment/legacy-api", Failed), // secrets in env
        ("C-0012", "ConfigMap/payment-settings", Failed),
        ("C-0012", "ConfigMap/shop-settings", Passed),
        ("C-0034", "Deployment/web-secure", Passed), // automount disabled
        ("C-0034", "CronJob/nightly-report", Failed),
    ];
    let mut wrong = Vec::new();
    for (control, resource, want) in expect {
        let got = status(&r, control, resource);
        if got != Some(want) {
            wrong.push(format!(
                "{control} on {resource}: expected {want:?}, got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // RBAC: the CI service account bound to cluster-admin is an administrative subject.
    assert_eq!(r.summary_details.controls["C-0035"].status, Status::Failed);
    let admin = r
        .results
        .iter()
        .find(|res| {
            res.controls
                .iter()
                .any(|c| c.control_id == "C-0035" && c.status.status == Failed)
        })
        .unwrap();
    assert!(
        admin.resource_id.contains("ServiceAccount/ci-deployer"),
        "{}",
        admin.resource_id
    );

    // Failed resources carry paths, and fixes where mechanical.
    let legacy = r
        .results
        .iter()
        .find(|res| res.resource_id.ends_with("Deployment/legacy-api"))
        .unwrap();
    let c16 = legacy
        .controls
        .iter()
        .find(|c| c.control_id == "C-0016")
        .unwrap();
    assert!(c16
        .rules
        .iter()
        .flat_map(|r| &r.paths)
        .any(|p| p.fix_path.is_some() || p.failed_path.is_some()));
    // Sources point into the files.
    let res = r
        .resources
        .iter()
        .find(|x| x.resource_id == legacy.resource_id)
        .unwrap();
    assert_eq!(
        res.source.as_ref().unwrap().relative_path,
        "legacy-api.yaml"
    );
    assert!(
        res.object.get("spec").is_some(),
        "JSON report keeps the object"
    );
}

#[test]
fn pretty_output_and_thresholds() {
    let examples = repo().join("examples/manifests");
    let out = run(bin()
        .args(["scan", "framework", "nsa"])
        .arg(&examples)
        .args(["--severity-threshold", "high"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Privileged container") && stdout.contains("NSA"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("C-0057"));

    let secure = examples.join("web-secure.yaml");
    let out = run(bin()
        .args(["scan", "control", "C-0057,C-0016"])
        .arg(&secure)
        .args(["--compliance-threshold", "100"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let out = run(bin()
        .args(["scan", "framework", "nsa"])
        .arg(&examples)
        .args(["--compliance-threshold", "99.9"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("below the threshold"));

    let out = run(bin()
        .args(["scan", "framework", "nsa"])
        .arg(&examples)
        .args(["--severity-threshold", "urgent"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--severity-threshold"));
}

#[test]
fn bad_documents_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mixed.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n  - {name: c, image: nginx, securityContext: {privileged: true}}\n---\nmetadata: {name: nokind}\n---\nkind: [\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let out = run(bin().args(["scan", "control", "C-0057"]).arg(dir.path()));
    let err = text(&out.stderr);
    assert!(
        err.contains("mixed.yaml (document 1)") && err.contains("kind and apiVersion"),
        "{err}"
    );
    assert!(
        err.contains("mixed.yaml (document 2)") && err.contains("invalid YAML"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("Privileged container"));
    assert_eq!(out.status.code(), Some(0));

    let out = run(bin()
        .args(["scan", "framework", "no-such-framework"])
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-framework") && text(&out.stderr).contains("NSA"));

    let out = run(bin().arg("scan").arg(dir.path().join("missing.yaml")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.yaml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stdin_input() {
    let mut child = bin()
        .args(["scan", "control", "C-0057", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers:\n  - {name: c, image: nginx, securityContext: {privileged: true}}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let r: PostureReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status(&r, "C-0057", "Pod/p"), Some(Status::Failed));
}

#[test]
fn kustomize_directories_are_rendered() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        panic!("kubectl is required for this test (installed on every machine of this kind)");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "namespace: kz\nresources:\n- pod.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kp}\nspec:\n  hostNetwork: true\n  containers:\n  - {name: c, image: nginx}\n",
    )
    .unwrap();
    let r = json_report(&["control", "C-0041"], &[dir.path()]);
    assert_eq!(status(&r, "C-0041", "Pod/kp"), Some(Status::Failed));
    let pod = r
        .resources
        .iter()
        .find(|x| x.resource_id.ends_with("Pod/kp"))
        .unwrap();
    assert_eq!(
        pod.object["metadata"]["namespace"], "kz",
        "rendered by kustomize"
    );
}

fn helm_python() -> Option<PathBuf> {
    let p = kubescape_testenv::cache_dir().join("venv/bin/python");
    let ok = Command::new(&p)
        .args(["-c", "import helm_python"])
        .output()
        .ok()?
        .status
        .success();
    ok.then_some(p)
}

#[test]
fn helm_charts_are_rendered_with_a_real_helm() {
    let Some(python) = helm_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "helm-python-sdk missing in CI: scripts/setup.sh should install it"
        );
        eprintln!("SKIP: run scripts/setup.sh to install the Helm library");
        return;
    };
    let chart = tempfile::tempdir().unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.path().join("values.yaml"), "privileged: true\n").unwrap();
    std::fs::write(
        chart.path().join("templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        securityContext:\n          privileged: {{ .Values.privileged }}\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.json");
    let out = run(bin()
        .env("KUBESCAPE_HELM_PYTHON", &python)
        .env("PATH", "/usr/bin:/bin")
        .args(["scan", "control", "C-0057"])
        .arg(chart.path())
        .args(["--format", "json", "--output"])
        .arg(&out_file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: PostureReport =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(
        status(&r, "C-0057", "Deployment/kubescape-scan-web"),
        Some(Status::Failed)
    );
    let src = r.resources[0].source.as_ref().unwrap();
    assert!(
        src.relative_path.ends_with("templates/deploy.yaml"),
        "{}",
        src.relative_path
    );

    // Without any Helm, the user is told how to proceed.
    let out = run(bin()
        .env("KUBESCAPE_HELM_PYTHON", "/nonexistent")
        .env("HOME", dir.path())
        .env("PATH", "/nonexistent")
        .arg("scan")
        .arg(chart.path()));
    assert!(
        text(&out.stderr).contains("helm template"),
        "{}",
        text(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn artifacts_download_from_a_mirror_and_scan_offline() {
    let mirror = tempfile::tempdir().unwrap();
    let out = run(bin().args(["library", "export"]).arg(mirror.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(mirror.path().join("nsa.json").is_file() && mirror.path().join("rules.json").is_file());

    let port = free_port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(mirror.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let local = tempfile::tempdir().unwrap();
    let a = run(bin()
        .args(["download", "artifacts", "--base-url", &base, "-o"])
        .arg(local.path()));
    let f = run(bin()
        .args(["download", "framework", "nsa", "--base-url", &base, "-o"])
        .arg(local.path()));
    let missing = run(bin()
        .args(["download", "framework", "nope", "--base-url", &base, "-o"])
        .arg(local.path()));
    let _ = server.kill();
    let _ = server.wait();
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert!(f.status.success(), "{}", text(&f.stderr));
    assert!(!missing.status.success() && text(&missing.stderr).contains("nope"));

    let examples = repo().join("examples/manifests");
    let offline = json_report(
        &[
            "framework",
            "nsa",
            "--use-artifacts-from",
            local.path().to_str().unwrap(),
        ],
        &[&examples],
    );
    let builtin = json_report(&["framework", "nsa"], &[&examples]);
    let statuses = |r: &PostureReport| {
        r.summary_details
            .controls
            .iter()
            .map(|(k, v)| (k.clone(), v.status))
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses(&offline), statuses(&builtin));
    let single_file = json_report(
        &[
            "framework",
            "nsa",
            "--use-from",
            local.path().join("nsa.json").to_str().unwrap(),
        ],
        &[&examples],
    );
    assert_eq!(statuses(&single_file), statuses(&builtin));
}

#[test]
fn policy_test_reports_passes_failures_and_diffs() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("my-rule");
    std::fs::create_dir_all(rule.join("test/fails/input")).unwrap();
    std::fs::create_dir_all(rule.join("test/clean/input")).unwrap();
    std::fs::write(rule.join("rule.metadata.json"), r#"{"name": "my-rule", "match": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["Pod"]}]}"#).unwrap();
    std::fs::write(
        rule.join("raw.rego"),
        "package armo_builtins\nimport rego.v1\ndeny contains {\"alertMessage\": \"hostNetwork\", \"failedPaths\": [\"spec.hostNetwork\"], \"alertScore\": 7, \"alertObject\": {\"k8sApiObjects\": [p]}} if { some p in input; p.spec.hostNetwork }\n",
    )
    .unwrap();
    std::fs::write(rule.join("test/fails/input/pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: {x: y}}\nspec: {hostNetwork: true}\n").unwrap();
    std::fs::write(
        rule.join("test/fails/expected.json"),
        r#"[{"alertMessage": "other words", "failedPaths": ["spec.hostNetwork"], "alertScore": 7, "alertObject": {"k8sApiObjects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "y"}}}]}}]"#,
    )
    .unwrap();
    std::fs::write(
        rule.join("test/clean/input/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {}\n",
    )
    .unwrap();
    std::fs::write(rule.join("test/clean/expected.json"), "[]").unwrap();

    let out = policy_test_ignoring_messages(dir.path(), "2 passed, 0 failed");
    assert!(out.status.success());

    let out = run(bin().args(["policy", "test"]).arg(dir.path()));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("FAIL my-rule/fails") && stdout.contains("alertmessage"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
}

/// Rego written for OPA in forms regorus alone does not run (`import data`, a `some` after an
/// iteration, a comprehension head that binds its own index) passes the reference cases; the
/// directory has only `raw.rego`, so the metadata comes from the built-in rule of that name.
#[test]
fn policy_test_runs_opa_forms_regorus_does_not_take_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let name = "ensure-https-loadbalancers-encrypted-with-tls-aws";
    let cases = repo()
        .join("../shared/reference/kubescape-regolibrary/cases")
        .join(name);
    let rule = dir.path().join(name);
    for case in std::fs::read_dir(&cases).unwrap() {
        let case = case.unwrap().path();
        let to = rule.join(case.file_name().unwrap());
        std::fs::create_dir_all(to.join("input")).unwrap();
        std::fs::copy(case.join("expected.json"), to.join("expected.json")).unwrap();
        for input in std::fs::read_dir(case.join("input")).unwrap() {
            let input = input.unwrap().path();
            std::fs::copy(&input, to.join("input").join(input.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        rule.join("raw.rego"),
        r#"package armo_builtins
import data

deny[msga] {
	svc := input[_]
	svc.kind == "Service"
	svc.spec.type == "LoadBalancer"
	some p
	svc.spec.ports[p].port == 443
	notes := object.get(svc, ["metadata", "annotations"], {})
	certs := [notes[key] | k = key; startswith(k, "service.beta.kubernetes.io/aws-load-balancer-ssl-cert")]
	count(certs) == 0
	msga := {
		"alertMessage": "no certificate",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']", "value": "AWS_LOADBALANCER_SSL_CERT"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": svc},
	}
}
"#,
    )
    .unwrap();
    let out = policy_test_ignoring_messages(dir.path(), "4 passed, 0 failed");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

/// Evaluating namespace by namespace (each namespace its own batch, cluster-scoped and RBAC
/// objects as context) gives the report of evaluating everything at once.
#[test]
fn batches_of_namespaces_give_the_report_of_one_evaluation() {
    let examples = repo().join("examples/manifests");
    // Relations the examples lack: a RoleBinding in one namespace granting a ClusterRole to a
    // service account of another (used by a workload there), Namespace objects with and without
    // objects and policies, and a namespace after the first batch.
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(
        extra.path().join("cross.yaml"),
        r#"apiVersion: v1
kind: Namespace
metadata: {name: tools}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tools-admin, namespace: tools}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tools-admin-in-ci, namespace: ci}
subjects:
- {kind: ServiceAccount, name: tools-admin, namespace: tools}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: toolbox, namespace: tools}
spec:
  selector: {matchLabels: {app: toolbox}}
  template:
    metadata: {labels: {app: toolbox}}
    spec:
      serviceAccountName: tools-admin
      containers:
      - {name: box, image: "registry.example.com/toolbox:1.0"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: toolbox-only, namespace: tools}
spec:
  podSelector: {matchLabels: {app: toolbox}}
  policyTypes: [Ingress, Egress]
"#,
    )
    .unwrap();
    let args = |batch: &'static str| ["framework", "allcontrols", "--batch-objects", batch];
    let whole = json_report(&args("0"), &[&examples, extra.path()]);
    let batched = json_report(&args("1"), &[&examples, extra.path()]);
    let admin = |r: &PostureReport| status(r, "C-0272", "Deployment/toolbox");
    assert_eq!(admin(&whole), Some(Status::Failed));
    let namespaces: std::collections::BTreeSet<&str> = whole
        .results
        .iter()
        .filter_map(|r| r.resource_id.split('/').nth(2))
        .filter(|ns| !ns.is_empty())
        .collect();
    assert!(namespaces.len() >= 3, "{namespaces:?}");
    assert_eq!(
        serde_json::to_value(&batched.results).unwrap(),
        serde_json::to_value(&whole.results).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&batched.summary_details).unwrap(),
        serde_json::to_value(&whole.summary_details).unwrap()
    );
}

#[test]
fn every_builtin_framework_reports_on_the_example_manifests() {
    let list = run(bin().args(["list", "frameworks", "--json"]));
    let frameworks: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let expected: std::collections::BTreeMap<&str, u64> = [
        ("AllControls", 281),
        ("ArmoBest", 40),
        ("cis-aks-t1.2.0", 52),
        ("cis-aks-t1.8.0", 56),
        ("cis-eks-t1.7.0", 45),
        ("cis-eks-t1.8.0", 49),
        ("cis-gke-v1.9.0", 40),
        ("cis-v1.10.0", 129),
        ("cis-v1.12.0", 131),
        ("ClusterScan", 23),
        ("DevOpsBest", 25),
        ("MITRE", 27),
        ("NSA", 26),
        ("security", 37),
        ("SOC2", 7),
        ("WorkloadScan", 19),
    ]
    .into_iter()
    .collect();
    for (name, count) in &expected {
        let f = frameworks
            .iter()
            .find(|f| f["name"] == *name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(f["controls"].as_u64(), Some(*count), "{name}");
    }
    let names: Vec<&str> = expected.keys().copied().collect();
    let examples = repo().join("examples/manifests");
    let r = json_report(&["framework", &names.join(",")], &[&examples]);
    for name in names {
        let fw = r
            .summary_details
            .frameworks
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        // Cloud-scoped controls (EKS/AKS/GKE APIs) do not apply to files; the rest must report.
        assert!(!fw.controls.is_empty(), "{name} has no results");
        assert!(
            fw.controls.values().any(|c| c.resource_counters.all() > 0),
            "{name} evaluated nothing"
        );
    }
}

#[test]
fn policy_test_of_a_library_root_uses_its_own_config_inputs() {
    let root = tempfile::tempdir().unwrap();
    let rule = root.path().join("rules/registry-check");
    std::fs::create_dir_all(rule.join("test/blocked/input")).unwrap();
    std::fs::write(rule.join("rule.metadata.json"), r#"{"name": "registry-check", "match": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["Pod"]}], "controlConfigInputs": [{"path": "settings.postureControlInputs.blocked"}]}"#).unwrap();
    std::fs::write(
        rule.join("raw.rego"),
        "package armo_builtins\nimport rego.v1\ndeny contains {\"alertScore\": 1, \"alertObject\": {\"k8sApiObjects\": [p]}} if { some p in input; some b in data.postureControlInputs.blocked; startswith(p.spec.containers[0].image, b) }\n",
    )
    .unwrap();
    std::fs::write(rule.join("test/blocked/input/pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: evil.io/x}]\n").unwrap();
    std::fs::write(rule.join("test/blocked/expected.json"), r#"[{"alertScore": 1, "alertObject": {"k8sApiObjects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}]}}]"#).unwrap();
    std::fs::write(
        root.path().join("default-config-inputs.json"),
        r#"{"settings": {"postureControlInputs": {"blocked": ["evil.io"]}}}"#,
    )
    .unwrap();
    policy_test_ignoring_messages(root.path(), "1 passed, 0 failed");
}
