//! The Helm chart `charts/kubescape-operator`: linted and rendered with the real Helm library
//! (helm-python-sdk, in the venv `scripts/setup.sh` makes), for default and non-default values;
//! every rendered object is then accepted by a real kube-apiserver 1.20 with
//! `kubectl apply --dry-run=server` (nothing is created, in particular not the cluster-global
//! APIService). The chart's containers may only run commands and flags the `kubescape` binary
//! has: each one is checked against the binary's own `--help`, and the rendered command lines of
//! storage, the posture service, the operator, kubevuln and both CronJobs are run (with local
//! paths and ports; the operator and kubevuln as their ServiceAccounts, with the rendered RBAC).

use kubescape_testenv::TestCluster;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const APISERVICE: &str = "v1beta1.spdx.softwarecomposition.kubescape.io";

/// Lints and renders through the Helm library. `helm_python.Chart.render` (0.2.2) does not pass
/// `kube_version` / `api_versions` on, although the library's `helm_render` accepts them (the
/// same options as `helm template --kube-version --api-versions`), so the script calls it
/// directly: that is how the cluster's capabilities reach `.Capabilities` here.
const RENDER_SCRIPT: &str = r#"
import json, re, sys
import helm_python
from helm_python import _native

req = json.load(sys.stdin)
chart_dir, values = req["chart"], req["values"]
out = {"lint": helm_python.lint(chart_dir, values, strict=True, namespace=req["namespace"])}
opts = {"name": req["name"], "namespace": req["namespace"], "is_install": True}
for key in ("kube_version", "api_versions"):
    if req.get(key) is not None:
        opts[key] = req[key]
chart = helm_python.Chart.load(chart_dir)
try:
    rendered = json.loads(_native.call_string(
        "helm_render", chart._raw(), json.dumps(values), json.dumps(opts)))
except helm_python.HelmError as e:
    out["error"] = str(e)
    print(json.dumps(out))
    sys.exit(0)
objects = []
for path, text in sorted(rendered.items()):
    if path.endswith("NOTES.txt"):
        out["notes"] = text
        continue
    for doc in re.split(r"(?m)^---[ \t]*$", text):
        obj = helm_python.values_from_yaml(doc) if doc.strip() else None
        if obj:
            objects.append({"template": path, "object": obj})
out["objects"] = objects
print(json.dumps(out))
"#;

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts/kubescape-operator")
}

/// The venv Python with `helm_python` (KUBESCAPE_HELM_PYTHON, else
/// `$KUBESCAPE_RS_CACHE/venv/bin/python`, default cache `~/.cache/kubescape-rs`).
fn python() -> PathBuf {
    let python = std::env::var_os("KUBESCAPE_HELM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| kubescape_testenv::cache_dir().join("venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import helm_python"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import helm_python: run scripts/setup.sh (installs helm-python-sdk)",
        python.display()
    );
    python
}

/// What `helm install` would see of a cluster: its version and discovery as Helm lists it
/// (`group/version` and `group/version/Kind`).
struct Capabilities {
    kube_version: String,
    api_versions: Vec<String>,
}

fn cluster_capabilities(cluster: &TestCluster) -> Capabilities {
    let version: Value =
        serde_json::from_str(&cluster.kubectl_ok(&["version", "-o", "json"])).unwrap();
    let kube_version = version["serverVersion"]["gitVersion"]
        .as_str()
        .expect("server version")
        .to_string();
    let mut api_versions = cluster.api_versions();
    // `kubectl api-resources` is a table aligned on its header; take APIVERSION and KIND.
    let table = cluster.kubectl_ok(&["api-resources"]);
    let mut lines = table.lines();
    let header = lines.next().expect("api-resources header");
    let col = |name: &str| header.find(name).expect("api-resources column");
    let (gv_at, namespaced_at, kind_at) = (col("APIVERSION"), col("NAMESPACED"), col("KIND"));
    for line in lines {
        let gv = line.get(gv_at..namespaced_at).unwrap_or("").trim();
        let kind = line.get(kind_at..).unwrap_or("").trim();
        if !gv.is_empty() && !kind.is_empty() {
            api_versions.push(format!("{gv}/{kind}"));
        }
    }
    Capabilities {
        kube_version,
        api_versions,
    }
}

struct Rendered {
    lint: Value,
    objects: Vec<Value>,
    error: Option<String>,
}

fn render(values: &Value, namespace: &str, caps: Option<&Capabilities>) -> Rendered {
    let request = json!({
        "chart": chart_dir(),
        "values": values,
        "name": "kubescape",
        "namespace": namespace,
        "kube_version": caps.map(|c| c.kube_version.clone()),
        "api_versions": caps.map(|c| c.api_versions.clone()),
    });
    let mut child = Command::new(python())
        .args(["-c", RENDER_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "render script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("render script output");
    Rendered {
        lint: v["lint"].clone(),
        objects: v["objects"]
            .as_array()
            .map(|a| a.iter().map(|o| o["object"].clone()).collect())
            .unwrap_or_default(),
        error: v["error"].as_str().map(str::to_string),
    }
}

impl Rendered {
    fn assert_lint_clean(&self) {
        assert_eq!(self.lint["errors"], json!([]), "lint errors: {}", self.lint);
        for m in self.lint["messages"].as_array().unwrap() {
            // 1 = info (e.g. "icon is recommended"); warnings and errors fail.
            assert!(m["severity"].as_i64().unwrap() < 2, "lint: {m}");
        }
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name} rendered; have: {:?}", self.names()))
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    fn names(&self) -> Vec<String> {
        self.objects
            .iter()
            .map(|o| format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"]))
            .collect()
    }

    /// `kubectl apply --dry-run=server` of every object; returns kubectl's output.
    fn dry_run_apply(&self, cluster: &TestCluster) -> String {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": self.objects});
        let args = ["apply", "--dry-run=server", "-f", "-"];
        let out = cluster.kubectl_stdin(&args, &list.to_string());
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kube-apiserver refused rendered objects:\n{}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        let accepted = stdout
            .lines()
            .filter(|l| l.ends_with("(server dry run)"))
            .count();
        assert_eq!(accepted, self.objects.len(), "{stdout}");
        stdout
    }
}

fn container<'a>(pod_spec: &'a Value, name: &str) -> &'a Value {
    pod_spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn args(c: &Value) -> Vec<String> {
    c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Pod specs of the workloads (Deployments, CronJobs) with their kind/name.
fn pod_specs(r: &Rendered) -> Vec<(String, &Value)> {
    let mut specs = Vec::new();
    for o in &r.objects {
        let name = format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"]);
        match o["kind"].as_str().unwrap() {
            "Deployment" | "DaemonSet" | "StatefulSet" | "Job" => {
                specs.push((name, &o["spec"]["template"]["spec"]))
            }
            "CronJob" => specs.push((name, &o["spec"]["jobTemplate"]["spec"]["template"]["spec"])),
            _ => {}
        }
    }
    specs
}

/// Every container runs a subcommand of our binary with flags that subcommand declares.
fn assert_commands_exist(r: &Rendered) {
    let bin = env!("CARGO_BIN_EXE_kubescape");
    for (workload, spec) in pod_specs(r) {
        for c in spec["containers"].as_array().unwrap() {
            assert!(
                c["command"].is_null(),
                "{workload}: image entrypoint expected"
            );
            let args = args(c);
            let sub: Vec<&str> = args
                .iter()
                .take_while(|a| !a.starts_with('-'))
                .map(String::as_str)
                .collect();
            assert!(!sub.is_empty(), "{workload}: no subcommand in {args:?}");
            let help = Command::new(bin).args(&sub).arg("--help").output().unwrap();
            assert!(
                help.status.success(),
                "{workload}: `kubescape {}` does not exist",
                sub.join(" ")
            );
            let help = String::from_utf8_lossy(&help.stdout);
            for flag in args.iter().skip(sub.len()) {
                let name = flag.split('=').next().unwrap();
                // A flag with a value is followed by a space and its value name, a switch
                // (--no-image-scan) by the end of the line.
                let declared = [' ', '\n']
                    .iter()
                    .any(|end| help.contains(&format!("{name}{end}")));
                assert!(
                    name.starts_with("--") && declared,
                    "{workload}: `kubescape {}` has no flag {name}",
                    sub.join(" ")
                );
            }
        }
    }
}

fn assert_no_unimplemented_components(r: &Rendered) {
    for o in &r.objects {
        let name = o["metadata"]["name"].as_str().unwrap();
        for absent in ["node-agent", "synchronizer", "gateway", "kollector"] {
            assert!(
                !name.contains(absent),
                "{} {name} belongs to a component that is not implemented",
                o["kind"]
            );
        }
    }
    assert!(r.of_kind("DaemonSet").is_empty());
    assert!(r.of_kind("StatefulSet").is_empty());
}

/// The single YAML document in `text` (a CronJob template), as JSON.
fn yaml_value(text: &str) -> Value {
    match kubescape_posture::yaml::documents(text).into_iter().next() {
        Some(Ok(v)) => v,
        other => panic!("not one YAML document ({other:?}): {text}"),
    }
}

fn b64decode(s: &str) -> Vec<u8> {
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "invalid base64");
    out.stdout
}

/// The storage Secret's certificate is signed by the CA in the APIService's caBundle and names
/// the Service kube-apiserver calls.
fn assert_storage_certificate(r: &Rendered, ns: &str) {
    let apiservice = r.get("APIService", APISERVICE);
    let ca_bundle = apiservice["spec"]["caBundle"].as_str().unwrap_or("");
    assert!(!ca_bundle.is_empty(), "APIService without caBundle");
    assert!(apiservice["spec"]["insecureSkipTLSVerify"].is_null());
    let secret = r.get("Secret", "storage-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["data"]["ca.crt"], ca_bundle);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    let crt = dir.path().join("tls.crt");
    std::fs::write(&ca, b64decode(ca_bundle)).unwrap();
    std::fs::write(&crt, b64decode(secret["data"]["tls.crt"].as_str().unwrap())).unwrap();
    let key = String::from_utf8(b64decode(secret["data"]["tls.key"].as_str().unwrap())).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    let verify = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca)
        .arg(&crt)
        .output()
        .expect("openssl");
    assert!(
        verify.status.success(),
        "serving certificate not signed by the caBundle: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&crt)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("DNS:storage.{ns}.svc")),
        "certificate SANs: {text}"
    );
}

#[test]
fn default_values_lint_render_and_are_accepted_by_kube_apiserver() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-default");
    let caps = cluster_capabilities(cluster);
    let r = render(&json!({}), &ns, Some(&caps));
    assert_eq!(r.error, None);
    r.assert_lint_clean();

    // Storage: the APIService with the chart's CA, singleton Deployment, persistent data.
    let apiservice = r.get("APIService", APISERVICE);
    assert_eq!(
        apiservice["spec"]["group"],
        "spdx.softwarecomposition.kubescape.io"
    );
    assert_eq!(apiservice["spec"]["version"], "v1beta1");
    assert_eq!(apiservice["spec"]["groupPriorityMinimum"], 1000);
    assert_eq!(apiservice["spec"]["versionPriority"], 15);
    assert_eq!(
        apiservice["spec"]["service"],
        json!({"name": "storage", "namespace": ns, "port": 443})
    );
    assert_storage_certificate(&r, &ns);
    let svc = r.get("Service", "storage");
    assert_eq!(svc["spec"]["ports"][0]["port"], 443);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "https");

    let storage = r.get("Deployment", "storage");
    assert_eq!(storage["spec"]["replicas"], 1);
    assert_eq!(storage["spec"]["strategy"]["type"], "Recreate");
    let pod = &storage["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "storage");
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    let c = container(pod, "storage");
    assert_eq!(c["image"], "kubescape-rs/kubescape:0.1.0");
    let a = args(c);
    for expected in [
        "serve",
        "storage",
        "--secure-port=8443",
        "--tls-cert-file=/etc/storage-tls/tls.crt",
        "--tls-private-key-file=/etc/storage-tls/tls.key",
        "--authorization-mode=Delegated",
        "--data-dir=/data",
    ] {
        assert!(a.contains(&expected.to_string()), "storage args {a:?}");
    }
    assert_eq!(c["ports"][0]["containerPort"], 8443);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"},
               "limits": {"cpu": "1000m", "memory": "512Mi"}})
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let data = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "data")
        .unwrap();
    assert_eq!(data["persistentVolumeClaim"]["claimName"], "storage-data");
    let pvc = r.get("PersistentVolumeClaim", "storage-data");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "5Gi");
    assert!(pvc["spec"]["storageClassName"].is_null());

    // Storage RBAC: delegated authentication/authorization and the authentication ConfigMap.
    let sa_subject = json!([{"kind": "ServiceAccount", "name": "storage", "namespace": ns}]);
    let delegator = r
        .of_kind("ClusterRoleBinding")
        .into_iter()
        .find(|b| b["roleRef"]["name"] == "system:auth-delegator")
        .expect("binding to system:auth-delegator");
    assert_eq!(delegator["roleRef"]["kind"], "ClusterRole");
    assert_eq!(delegator["subjects"], sa_subject);
    let reader = r
        .of_kind("RoleBinding")
        .into_iter()
        .find(|b| b["roleRef"]["name"] == "extension-apiserver-authentication-reader")
        .expect("binding to extension-apiserver-authentication-reader");
    assert_eq!(reader["metadata"]["namespace"], "kube-system");
    assert_eq!(reader["roleRef"]["kind"], "Role");
    assert_eq!(reader["subjects"], sa_subject);

    // kubescape: the posture service, cluster-wide read without secrets, results to storage.
    let ks = r.get("Deployment", "kubescape");
    let pod = &ks["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "kubescape");
    assert_eq!(
        ks["spec"]["template"]["metadata"]["labels"]["helm.sh/revision"],
        "1"
    );
    let c = container(pod, "kubescape");
    let a = args(c);
    assert_eq!(&a[..2], ["serve", "kubescape"]);
    assert!(a.contains(&"--port=8080".to_string()), "{a:?}");
    assert_eq!(c["env"][0]["name"], "NAMESPACE");
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "100m", "memory": "128Mi"},
               "limits": {"cpu": "1000m", "memory": "512Mi"}})
    );
    let role_name = format!("{ns}-kubescape");
    let role = r.get("ClusterRole", &role_name);
    let rules = role["rules"].as_array().unwrap();
    for rule in rules {
        let resources = rule["resources"].as_array().unwrap();
        assert!(!resources.contains(&json!("secrets")), "secrets readable");
        assert!(!resources.contains(&json!("*")), "wildcard resources");
        assert!(!rule["verbs"].as_array().unwrap().contains(&json!("*")));
        if rule["apiGroups"] != json!(["spdx.softwarecomposition.kubescape.io"]) {
            assert_eq!(rule["verbs"], json!(["get", "list", "watch"]), "{rule}");
        }
    }
    let results = rules
        .iter()
        .find(|r| r["apiGroups"] == json!(["spdx.softwarecomposition.kubescape.io"]))
        .expect("rule for the results");
    assert_eq!(
        results["resources"],
        json!([
            "workloadconfigurationscans",
            "workloadconfigurationscansummaries"
        ])
    );
    assert_eq!(results["verbs"], json!(["create", "get", "update"]));
    for (group, resource) in [
        ("", "pods"),
        ("", "nodes"),
        ("", "namespaces"),
        ("apps", "deployments"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("networking.k8s.io", "networkpolicies"),
    ] {
        assert!(
            rules.iter().any(
                |r| r["apiGroups"].as_array().unwrap().contains(&json!(group))
                    && r["resources"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(resource))
            ),
            "{group}/{resource} not readable"
        );
    }
    let binding = r.get("ClusterRoleBinding", &role_name);
    assert_eq!(binding["roleRef"]["name"], role_name.as_str());
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "kubescape", "namespace": ns}])
    );

    // Recurring scans: CronJobs that post commands to the operator with their ServiceAccount's
    // token. The test cluster is 1.20, whose discovery has CronJob only in batch/v1beta1.
    assert!(caps
        .api_versions
        .contains(&"batch/v1beta1/CronJob".to_string()));
    assert!(!caps.api_versions.contains(&"batch/v1/CronJob".to_string()));
    assert_eq!(
        r.get("ServiceAccount", "scheduler")["metadata"]["namespace"],
        ns.as_str()
    );
    for (cronjob, body) in [
        (
            "kubescape-scheduler",
            json!({"commands": [{"commandName": "kubescapeScan", "args": {"scanV1": {
                "targetType": "framework", "targetNames": ["allcontrols", "nsa", "mitre"],
                "submit": false}}}]}),
        ),
        // No wlid, wildWlid or designators: every workload of the cluster.
        (
            "kubevuln-scheduler",
            json!({"commands": [{"commandName": "scan"}]}),
        ),
    ] {
        let cron = r.get("CronJob", cronjob);
        assert_eq!(cron["apiVersion"], "batch/v1beta1");
        assert_eq!(cron["spec"]["schedule"], "0 0 * * *");
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
        let job_pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(job_pod["serviceAccountName"], "scheduler");
        assert_eq!(job_pod["automountServiceAccountToken"], true);
        assert_eq!(
            args(container(job_pod, cronjob)),
            [
                "http-request",
                "--method=POST",
                "--scheme=http",
                &format!("--host=operator.{ns}.svc:4002"),
                "--path=v1/triggerAction",
                "--path-body=/home/ks/request-body.json"
            ]
        );
        assert_eq!(job_pod["volumes"][0]["configMap"]["name"], cronjob);
        let cm = r.get("ConfigMap", cronjob);
        let sent: Value =
            serde_json::from_str(cm["data"]["request-body.json"].as_str().unwrap()).unwrap();
        assert_eq!(sent, body, "{cronjob}");
    }
    // The operator's templates: a CronJob posting to the operator, whose only ConfigMap volume
    // the operator points at the schedule's body.
    for (name, app) in [
        ("kubescape-cronjob-template", "kubescape-scheduler"),
        ("kubevuln-cronjob-template", "kubevuln-scheduler"),
        ("registry-scan-cronjob-template", "registry-scan-scheduler"),
    ] {
        let template = r.get("ConfigMap", name)["data"]["cronjobTemplate"]
            .as_str()
            .unwrap();
        assert!(
            template.starts_with("apiVersion: batch/v1beta1\nkind: CronJob\n"),
            "{template}"
        );
        let cron = yaml_value(template);
        let job_pod = &cron["spec"]["jobTemplate"]["spec"]["template"];
        assert_eq!(job_pod["metadata"]["labels"]["app.kubernetes.io/name"], app);
        assert_eq!(
            job_pod["metadata"]["labels"]["app.kubernetes.io/instance"],
            "kubescape"
        );
        let job_pod = &job_pod["spec"];
        assert_eq!(job_pod["serviceAccountName"], "scheduler");
        assert_eq!(job_pod["automountServiceAccountToken"], true);
        let a = args(container(job_pod, app));
        assert!(a.contains(&"--path=v1/triggerAction".to_string()), "{a:?}");
        assert!(
            a.contains(&format!("--host=operator.{ns}.svc:4002")),
            "{a:?}"
        );
        let volumes = job_pod["volumes"].as_array().unwrap();
        assert_eq!(volumes.len(), 1, "{name}: {volumes:?}");
        assert!(volumes[0]["configMap"].is_object());
    }

    // The operator: its Service, probes, the flags that follow from the defaults, its token.
    let op = r.get("Deployment", "operator");
    assert_eq!(op["spec"]["replicas"], 1);
    let pod = &op["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "operator");
    assert_eq!(pod["automountServiceAccountToken"], true);
    let c = container(pod, "operator");
    assert_eq!(
        args(c),
        [
            "serve",
            "operator",
            "--port=4002",
            "--bind-address=0.0.0.0",
            &format!("--kubescape-url=http://kubescape.{ns}.svc:8080"),
            &format!("--kubevuln-url=http://kubevuln.{ns}.svc:8080"),
            "--log-level=info"
        ]
    );
    assert_eq!(c["env"][0]["name"], "NAMESPACE");
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(c["env"][1]["name"], "CLUSTER_NAME");
    assert_eq!(c["ports"][0]["containerPort"], 4002);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "10m", "memory": "32Mi"},
               "limits": {"cpu": "300m", "memory": "128Mi"}})
    );
    let svc = r.get("Service", "operator");
    assert_eq!(svc["spec"]["ports"][0]["port"], 4002);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    assert!(r.find("ConfigMap", "cs-matching-rules").is_none());

    // kubevuln: the database in /data (an emptyDir by default), probes, Service.
    let kv = r.get("Deployment", "kubevuln");
    assert!(kv["spec"]["strategy"].is_null());
    let pod = &kv["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "kubevuln");
    let c = container(pod, "kubevuln");
    assert_eq!(
        args(c),
        [
            "serve",
            "kubevuln",
            "--port=8080",
            "--bind-address=0.0.0.0",
            "--db=/data/vulndb.json.gz",
            "--db-refresh-hours=24",
            "--max-image-size=5GiB",
            "--max-sbom-size=20MiB",
            "--queue-capacity=50",
            "--log-level=info"
        ]
    );
    assert_eq!(c["env"][0]["name"], "NAMESPACE");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/v1/liveness");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/v1/readiness");
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "100m", "memory": "256Mi"},
               "limits": {"cpu": "1500m", "memory": "2Gi"}})
    );
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["/data", "/tmp"]);
    assert_eq!(pod["volumes"][0], json!({"name": "data", "emptyDir": {}}));
    assert!(r.find("PersistentVolumeClaim", "kubevuln-data").is_none());
    let svc = r.get("Service", "kubevuln");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8080);

    // Their RBAC, rule by rule (least privilege; the reasons are in the templates).
    let rules = |kind: &str, name: &str| -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
        r.get(kind, name)["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| {
                let list = |k: &str| -> Vec<String> {
                    rule[k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect()
                };
                (list("apiGroups"), list("resources"), list("verbs"))
            })
            .collect()
    };
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        (own(groups), own(resources), own(verbs))
    };
    let spdx = "spdx.softwarecomposition.kubescape.io";
    assert_eq!(
        rules("ClusterRole", &format!("{ns}-operator")),
        [
            rule(&[""], &["pods"], &["get", "list", "watch"]),
            rule(&["apps"], &["replicasets"], &["get", "list", "watch"]),
            rule(
                &["apps"],
                &["deployments", "statefulsets", "daemonsets"],
                &["list", "watch"]
            ),
            rule(&["batch"], &["jobs"], &["get", "list", "watch"]),
            rule(&[""], &["secrets"], &["get"]),
            rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            rule(
                &[spdx],
                &[
                    "workloadconfigurationscans",
                    "workloadconfigurationscansummaries"
                ],
                &["delete"]
            ),
            rule(
                &[spdx],
                &["vulnerabilitymanifestsummaries"],
                &["list", "delete"]
            ),
        ]
    );
    assert_eq!(
        rules("Role", "operator"),
        [
            rule(&[""], &["configmaps"], &["get", "create", "delete"]),
            rule(
                &["batch"],
                &["cronjobs"],
                &["get", "list", "create", "patch", "delete"]
            ),
            rule(
                &["kubescape.io"],
                &["operatorcommands"],
                &["get", "list", "watch"]
            ),
            rule(&["kubescape.io"], &["operatorcommands/status"], &["patch"]),
        ]
    );
    assert_eq!(
        rules("ClusterRole", &format!("{ns}-kubevuln")),
        [
            rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            rule(
                &[spdx],
                &["vulnerabilitymanifestsummaries"],
                &["get", "create", "update"]
            ),
        ]
    );
    assert_eq!(
        rules("Role", "kubevuln"),
        [rule(
            &[spdx],
            &[
                "sbomsyfts",
                "vulnerabilitymanifests",
                "openvulnerabilityexchangecontainers"
            ],
            &["get", "create", "update"]
        )]
    );
    for (kind, name, sa) in [
        ("ClusterRoleBinding", format!("{ns}-operator"), "operator"),
        ("RoleBinding", "operator".to_string(), "operator"),
        ("ClusterRoleBinding", format!("{ns}-kubevuln"), "kubevuln"),
        ("RoleBinding", "kubevuln".to_string(), "kubevuln"),
    ] {
        let binding = r.get(kind, &name);
        assert_eq!(binding["roleRef"]["name"], name.as_str());
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": sa, "namespace": ns}])
        );
    }

    // Shared configuration.
    let cloud = r.get("ConfigMap", "ks-cloud-config");
    let data: Value = serde_json::from_str(cloud["data"]["clusterData"].as_str().unwrap()).unwrap();
    assert_eq!(data["namespace"], ns.as_str());
    assert_eq!(data["storage"], true);
    assert_eq!(data["kubescapeURL"], format!("kubescape.{ns}.svc:8080"));
    assert!(data["clusterName"].is_string());
    assert_eq!(data["kubevulnURL"], format!("kubevuln.{ns}.svc:8080"));

    // Off by default.
    assert!(r.of_kind("NetworkPolicy").is_empty());
    assert!(r.of_kind("ServiceMonitor").is_empty());
    assert_no_unimplemented_components(&r);
    assert_commands_exist(&r);

    let out = r.dry_run_apply(cluster);
    assert!(out.contains(&format!("apiservice.apiregistration.k8s.io/{APISERVICE}")));
    assert!(out.contains("cronjob.batch/kubescape-scheduler"));
    assert!(out.contains("cronjob.batch/kubevuln-scheduler"));
    assert!(out.contains("deployment.apps/operator"));
    assert!(out.contains("deployment.apps/kubevuln"));
    // Dry run only: nothing was created.
    assert!(!cluster
        .kubectl(&["get", "deployment", "storage", "-n", &ns])
        .status
        .success());
}

fn non_default_values() -> Value {
    json!({
        "clusterName": "prod-eu",
        "addRevisionLabel": false,
        "imagePullSecrets": ["regcred"],
        "global": {
            "networkPolicy": {"enabled": true, "createEgressRules": true},
            "httpsProxy": "proxy.example:3128"
        },
        "customScheduling": {
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "security",
                             "effect": "NoSchedule"}]
        },
        "image": {"repository": "registry.example/kubescape-rs", "tag": "2.0.0",
                  "pullPolicy": "Always"},
        "volumes": [{"name": "extra-ca", "configMap": {"name": "extra-ca"}}],
        "volumeMounts": [{"name": "extra-ca", "mountPath": "/etc/extra-ca", "readOnly": true}],
        "storage": {
            "image": {"repository": "registry.example/storage", "tag": "1.2.3"},
            "persistence": {"enabled": false},
            "serviceMonitor": {"enabled": true},
            "authorizationMode": "AlwaysAllow",
            "nodeSelector": {"kubernetes.io/os": "linux", "pool": "system"},
            "podAnnotations": {"example.com/team": "security"},
            "resources": {"requests": {"cpu": "200m", "memory": "256Mi"},
                          "limits": {"cpu": "2", "memory": "1Gi"}}
        },
        "kubescape": {
            "queueCapacity": 3,
            "reportURL": "https://collector.example/v1/reports",
            "podLabels": {"team": "security"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "pool", "operator": "In", "values": ["scanners"]}]}]}}}
        },
        "kubescapeScheduler": {"enabled": false},
        "kubevulnScheduler": {"enabled": false},
        "capabilities": {"continuousScan": "enable"},
        "continuousScanning": {
            "configMapName": "watch-rules",
            "matchingRules": {
                "match": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                           "resources": ["deployments"]},
                          {"apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["services"]}],
                "namespaces": ["shop"]
            }
        },
        "operator": {
            "allowedUsers": ["system:serviceaccount:ci:deployer", "system:serviceaccount:prod-eu:*"],
            "logLevel": "debug"
        },
        "kubevuln": {
            "dbListingURL": "https://mirror.example/vulndb/listing.json",
            "dbRefreshHours": 6,
            "maxImageSize": "2GiB",
            "registryCredentialsSecret": "registry-creds",
            "insecureRegistries": ["registry.internal:5000", "10.0.0.5"],
            "persistence": {"enabled": true, "size": "3Gi", "storageClass": "fast"}
        }
    })
}

#[test]
fn non_default_values_render_and_are_accepted_by_kube_apiserver() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-custom");
    let caps = cluster_capabilities(cluster);
    let values = non_default_values();
    let r = render(&values, &ns, Some(&caps));
    assert_eq!(r.error, None);
    r.assert_lint_clean();

    let storage = r.get("Deployment", "storage");
    let pod = &storage["spec"]["template"]["spec"];
    let c = container(pod, "storage");
    assert_eq!(c["image"], "registry.example/storage:1.2.3");
    // Unset per-component fields fall back to the global image settings.
    assert_eq!(c["imagePullPolicy"], "Always");
    assert!(args(c).contains(&"--authorization-mode=AlwaysAllow".to_string()));
    assert_eq!(
        pod["nodeSelector"],
        json!({"kubernetes.io/os": "linux", "pool": "system"})
    );
    assert_eq!(pod["tolerations"][0]["value"], "security");
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(
        storage["spec"]["template"]["metadata"]["annotations"]["example.com/team"],
        "security"
    );
    assert!(storage["spec"]["template"]["metadata"]["labels"]
        .get("helm.sh/revision")
        .is_none());
    assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
    // Persistence off: an emptyDir, no claim.
    let data = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "data")
        .unwrap();
    assert_eq!(data["emptyDir"], json!({}));
    assert!(r.find("PersistentVolumeClaim", "storage-data").is_none());
    // Global volumes reach every container.
    assert!(pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "extra-ca"));
    assert!(c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/etc/extra-ca"));
    let env = c["env"].as_array().unwrap();
    assert!(env
        .iter()
        .any(|e| e["name"] == "HTTPS_PROXY" && e["value"] == "proxy.example:3128"));
    assert!(env.iter().any(|e| e["name"] == "NO_PROXY"));

    let ks = r.get("Deployment", "kubescape");
    let pod = &ks["spec"]["template"]["spec"];
    let c = container(pod, "kubescape");
    assert_eq!(c["image"], "registry.example/kubescape-rs:2.0.0");
    assert!(args(c).contains(&"--queue-capacity=3".to_string()));
    assert!(args(c).contains(&"--report-url=https://collector.example/v1/reports".to_string()));
    assert_eq!(
        ks["spec"]["template"]["metadata"]["labels"]["team"],
        "security"
    );
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
        json!(["scanners"])
    );
    assert!(pod.get("nodeSelector").is_none());
    assert_eq!(pod["tolerations"][0]["key"], "dedicated");

    // Schedulers disabled: no CronJob, no body; the operator's templates stay (scheduled scans
    // can still be created through it).
    assert!(r.of_kind("CronJob").is_empty());
    assert!(r.find("ConfigMap", "kubescape-scheduler").is_none());
    assert!(r.find("ConfigMap", "kubevuln-scheduler").is_none());
    for template in [
        "kubescape-cronjob-template",
        "kubevuln-cronjob-template",
        "registry-scan-cronjob-template",
    ] {
        let cron = yaml_value(
            r.get("ConfigMap", template)["data"]["cronjobTemplate"]
                .as_str()
                .unwrap(),
        );
        let job_pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        // The operator repoints every ConfigMap volume: the extra volumes stay out.
        assert_eq!(
            job_pod["volumes"].as_array().unwrap().len(),
            1,
            "{template}"
        );
        assert_eq!(job_pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    }

    // The operator: allow-list, continuous scanning with its ConfigMap and the RBAC to watch
    // what the rules name.
    let op = r.get("Deployment", "operator");
    let pod = &op["spec"]["template"]["spec"];
    let c = container(pod, "operator");
    let a = args(c);
    for expected in [
        "--continuous-scan-config=/etc/kubescape/continuous-scan/matchingRules.json",
        "--allowed-users=system:serviceaccount:ci:deployer,system:serviceaccount:prod-eu:*",
        "--log-level=debug",
    ] {
        assert!(a.contains(&expected.to_string()), "operator args {a:?}");
    }
    assert!(!a.iter().any(|f| f.starts_with("--no-")), "{a:?}");
    assert!(
        op["spec"]["template"]["metadata"]["annotations"]["checksum/continuous-scan"].is_string()
    );
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "continuous-scan")
        .unwrap();
    assert_eq!(mount["mountPath"], "/etc/kubescape/continuous-scan");
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "continuous-scan")
        .unwrap();
    assert_eq!(volume["configMap"]["name"], "watch-rules");
    let rules: Value = serde_json::from_str(
        r.get("ConfigMap", "watch-rules")["data"]["matchingRules.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rules, values["continuousScanning"]["matchingRules"]);
    let role = r.get("ClusterRole", &format!("{ns}-operator"));
    for (group, resource) in [("apps", "deployments"), ("", "services")] {
        assert!(
            role["rules"].as_array().unwrap().iter().any(|rule| {
                rule["apiGroups"] == json!([group])
                    && rule["resources"] == json!([resource])
                    && rule["verbs"] == json!(["get", "list", "watch"])
            }),
            "continuous scan of {group}/{resource} not allowed: {role}"
        );
    }

    // kubevuln: listing, registries, credentials Secret, persistence.
    let kv = r.get("Deployment", "kubevuln");
    assert_eq!(kv["spec"]["strategy"]["type"], "Recreate");
    let pod = &kv["spec"]["template"]["spec"];
    let c = container(pod, "kubevuln");
    let a = args(c);
    for expected in [
        "--db=/data/vulndb.json.gz",
        "--db-listing=https://mirror.example/vulndb/listing.json",
        "--db-refresh-hours=6",
        "--max-image-size=2GiB",
        "--insecure-registries=registry.internal:5000,10.0.0.5",
        "--registry-config=/etc/kubescape/registry-credentials/config.json",
    ] {
        assert!(a.contains(&expected.to_string()), "kubevuln args {a:?}");
    }
    let volume = |name: &str| {
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"))
            .clone()
    };
    assert_eq!(
        volume("registry-credentials")["secret"],
        json!({"secretName": "registry-creds", "optional": true,
               "items": [{"key": ".dockerconfigjson", "path": "config.json"}]})
    );
    assert_eq!(
        volume("data")["persistentVolumeClaim"]["claimName"],
        "kubevuln-data"
    );
    let pvc = r.get("PersistentVolumeClaim", "kubevuln-data");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "3Gi");
    assert_eq!(pvc["spec"]["storageClassName"], "fast");
    assert_eq!(
        pvc["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    assert!(c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/etc/kubescape/registry-credentials"));
    assert!(c["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "HTTPS_PROXY"));

    // NetworkPolicies with egress rules.
    let selects = |np: &Value, rule: usize, peer: usize| -> Value {
        np["spec"]["ingress"][rule]["from"][peer]["podSelector"].clone()
    };
    let app = |name: &str| {
        json!({"matchLabels": {"app.kubernetes.io/name": name,
                               "app.kubernetes.io/instance": "kubescape"}})
    };
    let np = r.get("NetworkPolicy", "kubescape");
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    // Only the operator calls the posture service (the scheduler goes through the operator).
    assert_eq!(selects(np, 0, 0), app("operator"));
    assert_eq!(
        np["spec"]["ingress"][0]["from"].as_array().unwrap().len(),
        1
    );
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
    let np = r.get("NetworkPolicy", "operator");
    assert_eq!(selects(np, 0, 0), json!({}));
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 4002);
    let egress = np["spec"]["egress"].as_array().unwrap();
    for target in ["kubescape", "kubevuln"] {
        assert!(
            egress
                .iter()
                .any(|e| e["to"][0]["podSelector"] == app(target) && e["ports"][0]["port"] == 8080),
            "operator egress to {target}: {egress:?}"
        );
    }
    let np = r.get("NetworkPolicy", "kubevuln");
    assert_eq!(selects(np, 0, 0), app("operator"));
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
    let registries = np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["port"] == 5000)
        })
        .expect("kubevuln egress to registries");
    assert!(registries.get("to").is_none(), "registries are anywhere");
    // The operator's template jobs exist without the chart's CronJobs: their policies too.
    for job in [
        "kubescape-scheduler",
        "kubevuln-scheduler",
        "registry-scan-scheduler",
    ] {
        let np = r.get("NetworkPolicy", job);
        assert_eq!(np["spec"]["ingress"], json!([]));
        assert_eq!(
            np["spec"]["egress"][1]["to"][0]["podSelector"],
            app("operator")
        );
        assert_eq!(np["spec"]["egress"][1]["ports"][0]["port"], 4002);
    }
    let np = r.get("NetworkPolicy", "storage");
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8443);
    assert!(np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ports"][0]["port"] == 53));

    let cloud = r.get("ConfigMap", "ks-cloud-config");
    let data: Value = serde_json::from_str(cloud["data"]["clusterData"].as_str().unwrap()).unwrap();
    assert_eq!(data["clusterName"], "prod-eu");
    for (deployment, name) in [("kubescape", "kubescape"), ("operator", "operator")] {
        let d = r.get("Deployment", deployment);
        let env = container(&d["spec"]["template"]["spec"], name)["env"]
            .as_array()
            .unwrap()
            .clone();
        assert!(
            env.iter()
                .any(|e| e["name"] == "CLUSTER_NAME" && e["value"] == "prod-eu"),
            "{deployment}: {env:?}"
        );
    }

    // The test cluster serves no monitoring.coreos.com/v1: the ServiceMonitor is left out.
    assert!(r.of_kind("ServiceMonitor").is_empty());
    assert_no_unimplemented_components(&r);
    assert_commands_exist(&r);
    r.dry_run_apply(cluster);
}

/// Capabilities decide the CronJob API version and the ServiceMonitor: a newer cluster's
/// discovery (batch/v1 CronJob, Prometheus Operator installed), and an offline render without
/// discovery (helm template: Helm's default Kubernetes version, newer than 1.21).
#[test]
fn capabilities_pick_cronjob_version_and_servicemonitor() {
    let mut values = non_default_values();
    values["kubescapeScheduler"] = json!({"enabled": true});
    let newer = Capabilities {
        kube_version: "v1.30.2".into(),
        api_versions: [
            "v1",
            "batch/v1",
            "batch/v1/CronJob",
            "monitoring.coreos.com/v1",
            "monitoring.coreos.com/v1/ServiceMonitor",
        ]
        .map(String::from)
        .to_vec(),
    };
    let r = render(&values, "kubescape", Some(&newer));
    assert_eq!(r.error, None);
    assert_eq!(
        r.get("CronJob", "kubescape-scheduler")["apiVersion"],
        "batch/v1"
    );
    let template = r.get("ConfigMap", "kubescape-cronjob-template");
    assert!(template["data"]["cronjobTemplate"]
        .as_str()
        .unwrap()
        .starts_with("apiVersion: batch/v1\n"));
    // Every role serves /metrics: each gets its ServiceMonitor when asked for one.
    let mut monitored = values.clone();
    for role in ["kubescape", "operator", "kubevuln"] {
        monitored[role]["serviceMonitor"] = json!({"enabled": true, "interval": "15s"});
    }
    monitored["kubevuln"]["enabled"] = json!(true);
    monitored["operator"]["enabled"] = json!(true);
    let m = render(&monitored, "kubescape", Some(&newer));
    assert_eq!(m.error, None);
    for role in ["kubescape", "operator", "kubevuln"] {
        let sm = m.get("ServiceMonitor", role);
        let ep = &sm["spec"]["endpoints"][0];
        assert_eq!(
            (
                ep["port"].as_str(),
                ep["path"].as_str(),
                ep["interval"].as_str()
            ),
            (Some("http"), Some("/metrics"), Some("15s")),
            "{role}: {sm}"
        );
        assert_eq!(
            sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            role
        );
    }
    let sm = r.get("ServiceMonitor", "storage");
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["path"], "/metrics");
    assert_eq!(ep["scheme"], "https");
    assert_eq!(ep["tlsConfig"]["serverName"], "storage.kubescape.svc");
    assert_eq!(ep["tlsConfig"]["ca"]["secret"]["name"], "storage-tls");
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "storage"
    );

    let offline = render(&json!({}), "kubescape", None);
    assert_eq!(offline.error, None);
    assert_eq!(
        offline.get("CronJob", "kubescape-scheduler")["apiVersion"],
        "batch/v1"
    );
    let old = Capabilities {
        kube_version: "v1.20.2".into(),
        api_versions: vec!["v1".into(), "batch/v1".into(), "batch/v1beta1".into()],
    };
    let r = render(&json!({}), "kubescape", Some(&old));
    assert_eq!(
        r.get("CronJob", "kubescape-scheduler")["apiVersion"],
        "batch/v1beta1"
    );
}

/// Without the operator: no operator objects or templates, the posture scheduler calls the
/// posture service itself (without credentials), and kubevuln is still deployed for callers of
/// its API, with no recurring image scan and no pod allowed to reach it through the policies.
#[test]
fn without_the_operator_the_scheduler_calls_the_posture_service() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-direct");
    let caps = cluster_capabilities(cluster);
    let values = json!({
        "operator": {"enabled": false},
        "global": {"networkPolicy": {"enabled": true, "createEgressRules": true}}
    });
    let r = render(&values, &ns, Some(&caps));
    assert_eq!(r.error, None);
    r.assert_lint_clean();
    for o in &r.objects {
        let name = o["metadata"]["name"].as_str().unwrap();
        assert!(!name.contains("operator"), "{} {name}", o["kind"]);
        assert!(!name.ends_with("-template"), "{} {name}", o["kind"]);
    }
    assert!(r.find("CronJob", "kubevuln-scheduler").is_none());
    assert!(r.find("ConfigMap", "kubevuln-scheduler").is_none());

    let cron = r.get("CronJob", "kubescape-scheduler");
    let job_pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(job_pod["automountServiceAccountToken"], false);
    let a = args(container(job_pod, "kubescape-scheduler"));
    assert!(
        a.contains(&format!("--host=kubescape.{ns}.svc:8080")),
        "{a:?}"
    );
    assert!(a.contains(&"--path=v1/scan".to_string()), "{a:?}");
    let body: Value = serde_json::from_str(
        r.get("ConfigMap", "kubescape-scheduler")["data"]["request-body.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"targetType": "framework", "targetNames": ["allcontrols", "nsa", "mitre"]})
    );
    // The posture service takes calls from the scheduler's jobs only.
    let np = r.get("NetworkPolicy", "kubescape");
    assert_eq!(
        np["spec"]["ingress"][0]["from"],
        json!([{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kubescape-scheduler",
                                                 "app.kubernetes.io/instance": "kubescape"}}}])
    );
    let np = r.get("NetworkPolicy", "kubescape-scheduler");
    assert_eq!(
        np["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "kubescape"
    );

    r.get("Deployment", "kubevuln");
    r.get("Service", "kubevuln");
    r.get("ClusterRole", &format!("{ns}-kubevuln"));
    assert_eq!(
        r.get("NetworkPolicy", "kubevuln")["spec"]["ingress"],
        json!([])
    );

    assert_no_unimplemented_components(&r);
    assert_commands_exist(&r);
    r.dry_run_apply(cluster);

    // Without kubevuln either: the operator neither watches Pods for images nor reads Secrets;
    // without the posture service it skips the start-up scan and ships no posture template.
    let r = render(
        &json!({"kubevuln": {"enabled": false}, "kubescape": {"enabled": false}}),
        "kubescape",
        None,
    );
    assert_eq!(r.error, None);
    let op = r.get("Deployment", "operator");
    let a = args(container(&op["spec"]["template"]["spec"], "operator"));
    assert!(a.contains(&"--no-image-scan".to_string()), "{a:?}");
    assert!(a.contains(&"--no-startup-scan".to_string()), "{a:?}");
    let role = r.get("ClusterRole", "kubescape-operator");
    assert!(!role.to_string().contains("secrets"), "{role}");
    assert!(r.of_kind("CronJob").is_empty());
    assert!(r.find("ConfigMap", "kubescape-cronjob-template").is_none());
    assert!(r.find("ConfigMap", "kubevuln-cronjob-template").is_none());
    assert_commands_exist(&r);
}

#[test]
fn components_that_are_not_implemented_refuse_to_render() {
    for key in ["nodeAgent", "synchronizer", "gateway", "kollector"] {
        let r = render(&json!({key: {"enabled": true}}), "kubescape", None);
        let error = r.error.unwrap_or_else(|| panic!("{key} rendered"));
        assert!(
            error.contains(&format!("{key}.enabled")) && error.contains("not implemented yet"),
            "{key}: {error}"
        );
    }
    // Continuous scanning needs the operator and the posture service.
    for off in ["operator", "kubescape"] {
        let r = render(
            &json!({"capabilities": {"continuousScan": "enable"}, off: {"enabled": false}}),
            "kubescape",
            None,
        );
        let error = r
            .error
            .unwrap_or_else(|| panic!("continuous scan without {off}"));
        assert!(error.contains("capabilities.continuousScan"), "{error}");
    }
    let r = render(
        &json!({"capabilities": {"continuousScan": true}}),
        "kubescape",
        None,
    );
    assert!(r.error.unwrap().contains("enable or disable"));
    // Upstream's Grype listing is another format than ours.
    let r = render(
        &json!({"kubevuln": {"config": {"grypeDbListingURL": "https://example/listing.json"}}}),
        "kubescape",
        None,
    );
    assert!(r.error.unwrap().contains("kubevuln.dbListingURL"));
}

/// A process started by the test, killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Replaces the value of `--name=...` in rendered args (the pod's paths and ports become the
/// test's); panics when the chart does not pass that flag.
fn set_flag(args: &mut [String], name: &str, value: &str) {
    let prefix = format!("{name}=");
    let arg = args
        .iter_mut()
        .find(|a| a.starts_with(&prefix))
        .unwrap_or_else(|| panic!("rendered args have no {name}"));
    *arg = format!("{prefix}{value}");
}

/// Polls `ready` for up to five minutes (a debug-build scan of a busy shared test cluster can
/// take a while).
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The ServiceAccounts and RBAC of the operator, kubevuln and the schedulers, created for real
/// (the cluster-scoped objects are deleted when the guard is dropped).
fn apply_role_rbac<'a>(cluster: &'a TestCluster, r: &Rendered, ns: &str) -> DeleteOnDrop<'a> {
    let mut objects = vec![r.get("ServiceAccount", "scheduler").clone()];
    let mut cluster_scoped = Vec::new();
    for role in ["operator", "kubevuln"] {
        let global = format!("{ns}-{role}");
        for (kind, name) in [
            ("ServiceAccount", role),
            ("ClusterRole", global.as_str()),
            ("ClusterRoleBinding", global.as_str()),
            ("Role", role),
            ("RoleBinding", role),
        ] {
            objects.push(r.get(kind, name).clone());
        }
        cluster_scoped.push(("clusterrolebinding".to_string(), global.clone()));
        cluster_scoped.push(("clusterrole".to_string(), global));
    }
    let guard = DeleteOnDrop {
        cluster,
        objects: cluster_scoped,
    };
    cluster.apply_yaml(&json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string());
    guard
}

/// A kubeconfig that acts as the ServiceAccount `sa` of `ns` (the admin impersonating it, so
/// that kube-apiserver applies exactly that ServiceAccount's RBAC).
fn service_account_kubeconfig(cluster: &TestCluster, dir: &Path, ns: &str, sa: &str) -> PathBuf {
    let path = dir.join(format!("kubeconfig-{sa}"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: sa\n  user:\n    token: {}\n    \
             as: system:serviceaccount:{ns}:{sa}\n\
             contexts:\n- name: sa\n  context: {{cluster: test, user: sa}}\ncurrent-context: sa\n",
            cluster.server(),
            cluster.ca_cert().display(),
            cluster.admin_token()
        ),
    )
    .unwrap();
    path
}

/// A real token of a ServiceAccount (TokenRequest), in a file as a pod would have it.
fn service_account_token(cluster: &TestCluster, dir: &Path, ns: &str, sa: &str) -> PathBuf {
    let token = cluster.kubectl_ok(&["create", "token", sa, "-n", ns]);
    let path = dir.join(format!("token-{sa}"));
    std::fs::write(&path, token.trim()).unwrap();
    path
}

/// Whether ServiceAccount `sa` of namespace `ns` may do `[verb, group, resource, namespace]`
/// (namespace "" = cluster-scoped), as kube-apiserver decides it (SubjectAccessReview; `kubectl
/// auth can-i` would need the storage group to be served for discovery).
fn service_account_can(cluster: &TestCluster, ns: &str, sa: &str, what: [&str; 4]) -> bool {
    let [verb, group, resource, namespace] = what;
    let mut attributes = json!({"verb": verb, "group": group, "resource": resource});
    if !namespace.is_empty() {
        attributes["namespace"] = json!(namespace);
    }
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": format!("system:serviceaccount:{ns}:{sa}"),
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"),
                       "system:authenticated"],
            "resourceAttributes": attributes
        }
    });
    let out = cluster.kubectl_stdin(&["create", "-f", "-", "-o", "json"], &review.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["status"]["allowed"] == true
}

/// The RBAC of the operator and kubevuln, asked of kube-apiserver (SubjectAccessReview): what
/// each role does is allowed, a sample of what it does not do is not, and the schedulers'
/// ServiceAccount may do nothing at all.
#[test]
fn operator_and_kubevuln_rbac_is_least_privilege() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-roles-rbac");
    let r = render(&json!({}), &ns, None);
    assert_eq!(r.error, None);
    let _cleanup = apply_role_rbac(cluster, &r, &ns);
    // (verb, group, resource, namespace; "" = cluster-scoped)
    let can = |sa: &str, verb: &str, group: &str, resource: &str, namespace: &str| {
        service_account_can(cluster, &ns, sa, [verb, group, resource, namespace])
    };
    let spdx = "spdx.softwarecomposition.kubescape.io";
    let auth = "authentication.k8s.io";
    let other = "default";
    let ns = ns.as_str();
    for (verb, group, resource, namespace, allowed) in [
        ("list", "", "pods", "", true),
        ("watch", "", "pods", other, true),
        ("get", "", "pods", other, true),
        ("get", "", "secrets", other, true),
        ("list", "", "secrets", other, false),
        ("watch", "", "secrets", "", false),
        ("create", auth, "tokenreviews", "", true),
        ("get", "apps", "replicasets", other, true),
        ("watch", "apps", "deployments", "", true),
        ("get", "apps", "deployments", other, false),
        ("get", "batch", "jobs", other, true),
        ("delete", spdx, "workloadconfigurationscans", other, true),
        (
            "delete",
            spdx,
            "workloadconfigurationscansummaries",
            other,
            true,
        ),
        ("create", spdx, "workloadconfigurationscans", other, false),
        ("list", spdx, "vulnerabilitymanifestsummaries", other, true),
        (
            "delete",
            spdx,
            "vulnerabilitymanifestsummaries",
            other,
            true,
        ),
        ("delete", spdx, "vulnerabilitymanifests", ns, false),
        ("get", "", "configmaps", ns, true),
        ("create", "", "configmaps", ns, true),
        ("delete", "", "configmaps", ns, true),
        ("update", "", "configmaps", ns, false),
        ("create", "", "configmaps", other, false),
        ("create", "batch", "cronjobs", ns, true),
        ("patch", "batch", "cronjobs", ns, true),
        ("list", "batch", "cronjobs", ns, true),
        ("create", "batch", "cronjobs", other, false),
        ("delete", "", "pods", other, false),
        ("create", "", "pods", ns, false),
    ] {
        assert_eq!(
            can("operator", verb, group, resource, namespace),
            allowed,
            "operator: {verb} {group}/{resource} in {namespace:?}"
        );
    }
    for (verb, group, resource, namespace, allowed) in [
        ("create", auth, "tokenreviews", "", true),
        ("get", spdx, "sbomsyfts", ns, true),
        ("create", spdx, "sbomsyfts", ns, true),
        ("update", spdx, "vulnerabilitymanifests", ns, true),
        (
            "create",
            spdx,
            "openvulnerabilityexchangecontainers",
            ns,
            true,
        ),
        ("create", spdx, "sbomsyfts", other, false),
        ("delete", spdx, "vulnerabilitymanifests", ns, false),
        ("list", spdx, "vulnerabilitymanifests", ns, false),
        (
            "create",
            spdx,
            "vulnerabilitymanifestsummaries",
            other,
            true,
        ),
        (
            "update",
            spdx,
            "vulnerabilitymanifestsummaries",
            other,
            true,
        ),
        (
            "delete",
            spdx,
            "vulnerabilitymanifestsummaries",
            other,
            false,
        ),
        ("list", "", "pods", "", false),
        ("get", "", "secrets", ns, false),
    ] {
        assert_eq!(
            can("kubevuln", verb, group, resource, namespace),
            allowed,
            "kubevuln: {verb} {group}/{resource} in {namespace:?}"
        );
    }
    for (verb, group, resource, namespace) in [
        ("get", "", "pods", ns),
        ("create", auth, "tokenreviews", ""),
        ("get", "", "configmaps", ns),
    ] {
        assert!(!can("scheduler", verb, group, resource, namespace));
    }
}

/// The rendered containers' command lines run as they are, with only the pod's paths, ports and
/// in-cluster credentials swapped for local ones: storage serves TLS with the Helm-generated
/// certificate (verified with the APIService's caBundle under the Service's DNS name); kubevuln is
/// unready until its database file appears, then ready; the operator and kubevuln run as their
/// ServiceAccounts with the rendered RBAC; the posture CronJob's `http-request` posts its body to
/// the operator with the scheduler's ServiceAccount token and the operator has the posture
/// service scan; the image CronJob's body makes the operator send a Pod's image to kubevuln,
/// authenticated with the operator's token.
#[test]
fn rendered_command_lines_run() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-run");
    let ns = ns.as_str();
    let r = render(&json!({}), ns, None);
    assert_eq!(r.error, None);
    let bin = env!("CARGO_BIN_EXE_kubescape");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cluster.kubeconfig().to_str().unwrap().to_string();
    let localhost: std::net::IpAddr = "127.0.0.1".parse().unwrap();

    // The vulnerability database kubevuln will be given, built while the rest starts.
    let vulndata =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/vulndata/go-osv");
    let built_db = dir.path().join("vulndb-build.json.gz");
    let mut import = Command::new(bin)
        .args(["vulndb", "--db"])
        .arg(&built_db)
        .arg("import")
        .arg(&vulndata)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("import.log")).unwrap())
        .spawn()
        .unwrap();

    // Storage with the Secret's files in place of the mounted volume.
    let secret = r.get("Secret", "storage-tls");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        std::fs::write(
            tls.join(key),
            b64decode(secret["data"][key].as_str().unwrap()),
        )
        .unwrap();
    }
    let storage = r.get("Deployment", "storage");
    let mut cmdline = args(container(&storage["spec"]["template"]["spec"], "storage"));
    let port = kubescape_testenv::storage::free_port(localhost).to_string();
    set_flag(&mut cmdline, "--secure-port", &port);
    set_flag(&mut cmdline, "--bind-address", "127.0.0.1");
    for flag in ["--tls-cert-file", "--tls-private-key-file"] {
        let value = cmdline.iter().find(|a| a.starts_with(flag)).unwrap();
        let file = value.rsplit('/').next().unwrap().to_string();
        set_flag(&mut cmdline, flag, tls.join(file).to_str().unwrap());
    }
    set_flag(
        &mut cmdline,
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
    );
    // Outside a pod there are no in-cluster credentials.
    cmdline.push(format!("--authentication-kubeconfig={kubeconfig}"));
    cmdline.push(format!("--authorization-kubeconfig={kubeconfig}"));
    let _storage = Running(
        Command::new(bin)
            .args(&cmdline)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("storage.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let host = format!("storage.{ns}.svc");
    let ca = tls.join("ca.crt");
    wait_until("storage /readyz over the chart's certificate", || {
        Command::new("curl")
            .args(["-sf", "--max-time", "2", "--cacert"])
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .arg(format!("https://{host}:{port}/readyz"))
            .output()
            .is_ok_and(|o| o.status.success())
    });

    // The posture service, scanning the test cluster with the admin kubeconfig. There is no
    // storage behind this kube-apiserver, so publishing results is switched off.
    let ks = r.get("Deployment", "kubescape");
    let c = container(&ks["spec"]["template"]["spec"], "kubescape");
    let mut cmdline = args(c);
    let ks_port = kubescape_testenv::storage::free_port(localhost).to_string();
    set_flag(&mut cmdline, "--port", &ks_port);
    set_flag(&mut cmdline, "--bind-address", "127.0.0.1");
    set_flag(
        &mut cmdline,
        "--results-dir",
        dir.path().join("results").to_str().unwrap(),
    );
    cmdline.push("--no-storage".into());
    let mut cmd = Command::new(bin);
    cmd.args(&cmdline).env("KUBECONFIG", &kubeconfig);
    for e in c["env"].as_array().unwrap() {
        if let Some(v) = e["value"].as_str() {
            cmd.env(e["name"].as_str().unwrap(), v);
        }
    }
    let _ks = Running(
        cmd.env("NAMESPACE", ns)
            .env("TMPDIR", dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("kubescape.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{ks_port}");
    wait_until("kubescape /readyz", || {
        ureq::get(&format!("{base}/readyz")).call().is_ok()
    });

    // The operator's and kubevuln's identities, with the chart's RBAC.
    let _rbac = apply_role_rbac(cluster, &r, ns);
    let log = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();

    // kubevuln as its ServiceAccount, its database file not there yet.
    let kv = r.get("Deployment", "kubevuln");
    let c = container(&kv["spec"]["template"]["spec"], "kubevuln");
    let mut cmdline = args(c);
    let kv_port = kubescape_testenv::storage::free_port(localhost).to_string();
    set_flag(&mut cmdline, "--port", &kv_port);
    set_flag(&mut cmdline, "--bind-address", "127.0.0.1");
    let db = dir.path().join("kubevuln-data/vulndb.json.gz");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    set_flag(&mut cmdline, "--db", db.to_str().unwrap());
    let _kubevuln = Running(
        Command::new(bin)
            .args(&cmdline)
            .env(
                "KUBECONFIG",
                service_account_kubeconfig(cluster, dir.path(), ns, "kubevuln"),
            )
            .env("NAMESPACE", ns)
            .env("TMPDIR", dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("kubevuln.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let kv_base = format!("http://127.0.0.1:{kv_port}");
    let readiness = || match ureq::get(&format!("{kv_base}/v1/readiness")).call() {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(code, _)) => Some(code),
        Err(_) => None,
    };
    wait_until("kubevuln /v1/liveness", || {
        ureq::get(&format!("{kv_base}/v1/liveness")).call().is_ok()
    });
    assert_eq!(readiness(), Some(503), "ready without a database");
    // The database appears as a file (as `kubectl cp` into /data would put it), and is loaded.
    let status = import.wait().unwrap();
    assert!(status.success(), "vulndb import: {}", log("import.log"));
    std::fs::rename(&built_db, &db).unwrap();
    wait_until("kubevuln /v1/readiness after the database appeared", || {
        readiness() == Some(200)
    });

    // The operator as its ServiceAccount, sending its ServiceAccount token to kubevuln.
    let op = r.get("Deployment", "operator");
    let c = container(&op["spec"]["template"]["spec"], "operator");
    let mut cmdline = args(c);
    let op_port = kubescape_testenv::storage::free_port(localhost).to_string();
    set_flag(&mut cmdline, "--port", &op_port);
    set_flag(&mut cmdline, "--bind-address", "127.0.0.1");
    set_flag(&mut cmdline, "--kubescape-url", &base);
    set_flag(&mut cmdline, "--kubevuln-url", &kv_base);
    let operator_token = service_account_token(cluster, dir.path(), ns, "operator");
    cmdline.push(format!("--token-file={}", operator_token.display()));
    // The scan the test waits for is the scheduler's, not the start-up one.
    cmdline.push("--no-startup-scan".into());
    let mut cmd = Command::new(bin);
    cmd.args(&cmdline).env(
        "KUBECONFIG",
        service_account_kubeconfig(cluster, dir.path(), ns, "operator"),
    );
    for e in c["env"].as_array().unwrap() {
        if let Some(v) = e["value"].as_str() {
            cmd.env(e["name"].as_str().unwrap(), v);
        }
    }
    let _operator = Running(
        cmd.env("NAMESPACE", ns)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("operator.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let op_base = format!("http://127.0.0.1:{op_port}");
    wait_until("operator /readyz", || {
        ureq::get(&format!("{op_base}/readyz")).call().is_ok()
    });

    // A CronJob's container with its rendered body and the scheduler's ServiceAccount token
    // (in the pod: the mounted token, http-request's default).
    let scheduler_token = service_account_token(cluster, dir.path(), ns, "scheduler");
    let run_cronjob = |name: &str| -> Value {
        let body = r.get("ConfigMap", name)["data"]["request-body.json"]
            .as_str()
            .unwrap()
            .to_string();
        let body_file = dir.path().join(format!("{name}.json"));
        std::fs::write(&body_file, body).unwrap();
        let cron = r.get("CronJob", name);
        let mut cmdline = args(container(
            &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            name,
        ));
        assert!(cmdline.contains(&format!("--host=operator.{ns}.svc:4002")));
        set_flag(&mut cmdline, "--host", &format!("127.0.0.1:{op_port}"));
        set_flag(&mut cmdline, "--path-body", body_file.to_str().unwrap());
        cmdline.push(format!("--token-file={}", scheduler_token.display()));
        let out = Command::new(bin).args(&cmdline).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{name}'s request failed: {stdout}{}\noperator: {}",
            String::from_utf8_lossy(&out.stderr),
            log("operator.log")
        );
        let answer: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        assert_eq!(answer["results"][0]["status"], "ok", "{name}: {answer}");
        answer
    };

    // The posture scan, through the operator.
    let answer = run_cronjob("kubescape-scheduler");
    let detail = answer["results"][0]["detail"].as_str().unwrap();
    let id = detail
        .strip_prefix("posture scan ")
        .and_then(|d| d.strip_suffix(" queued"))
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string();
    wait_until("the scheduled scan to finish", || {
        let status: Value = ureq::get(&format!("{base}/v1/status?id={id}"))
            .call()
            .unwrap()
            .into_string()
            .map(|s| serde_json::from_str(&s).unwrap())
            .unwrap();
        status["type"] == "notBusy"
    });
    let report: Value = ureq::get(&format!("{base}/v1/results?id={id}"))
        .call()
        .unwrap()
        .into_string()
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap();
    assert_eq!(report["type"], "v1results", "{report}");
    let frameworks: Vec<&str> = report["response"]["summaryDetails"]["frameworks"]
        .as_array()
        .expect("report with frameworks")
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in ["AllControls", "NSA", "MITRE"] {
        assert!(frameworks.contains(&name), "frameworks {frameworks:?}");
    }

    // The image scan: a Pod's image goes from the operator (listing Pods as its ServiceAccount)
    // to kubevuln (accepting the operator's token). Nothing can pull the image; the request
    // being accepted is what is checked here.
    cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: {ns}}}\n\
         spec: {{containers: [{{name: web, image: registry.invalid/chart/web:1}}]}}\n"
    ));
    let answer = run_cronjob("kubevuln-scheduler");
    let detail = answer["results"][0]["detail"].as_str().unwrap();
    let requested: usize = detail
        .strip_suffix(" container image scans requested")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "{answer}\noperator: {}\nkubevuln: {}",
                log("operator.log"),
                log("kubevuln.log")
            )
        });
    assert!(requested >= 1, "{answer}");

    // Nothing the roles did at start (watches of Pods and workloads, discovery) or since was
    // refused by kube-apiserver: the rendered RBAC covers it.
    for name in ["operator.log", "kubevuln.log"] {
        let text = log(name);
        assert!(!text.to_lowercase().contains("forbidden"), "{name}: {text}");
    }
}

/// Deletes cluster-scoped objects a test created for real, also when it fails.
struct DeleteOnDrop<'a> {
    cluster: &'a TestCluster,
    objects: Vec<(String, String)>,
}

impl Drop for DeleteOnDrop<'_> {
    fn drop(&mut self) {
        for (kind, name) in &self.objects {
            let _ = self
                .cluster
                .kubectl(&["delete", kind, name, "--ignore-not-found"]);
        }
    }
}

/// Least privilege that still works: the posture service's rendered RBAC (created for real, under
/// names unique to this test's namespace, deleted at the end) lets a cluster scan read every kind
/// the control library examines except Secrets, and lets it write its two result kinds and
/// nothing more.
#[test]
fn posture_rbac_reads_everything_the_scan_needs_but_secrets() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("chart-rbac");
    let r = render(&json!({}), &ns, None);
    assert_eq!(r.error, None);
    let role_name = format!("{ns}-kubescape");
    let rbac: Vec<Value> = [
        r.get("ServiceAccount", "kubescape"),
        r.get("ClusterRole", &role_name),
        r.get("ClusterRoleBinding", &role_name),
    ]
    .into_iter()
    .cloned()
    .collect();
    let _cleanup = DeleteOnDrop {
        cluster,
        objects: vec![
            ("clusterrolebinding".into(), role_name.clone()),
            ("clusterrole".into(), role_name.clone()),
        ],
    };
    cluster.apply_yaml(&json!({"apiVersion": "v1", "kind": "List", "items": rbac}).to_string());

    let sa = format!("system:serviceaccount:{ns}:kubescape");
    let can = |verb: &str, group: &str, resource: &str| {
        service_account_can(
            cluster,
            &ns,
            "kubescape",
            [verb, group, resource, "default"],
        )
    };
    let spdx = "spdx.softwarecomposition.kubescape.io";
    for resource in [
        "workloadconfigurationscans",
        "workloadconfigurationscansummaries",
    ] {
        assert!(can("create", spdx, resource) && can("get", spdx, resource));
        assert!(can("update", spdx, resource));
        assert!(!can("delete", spdx, resource) && !can("list", spdx, resource));
    }
    assert!(!can("create", spdx, "vulnerabilitymanifests"));
    assert!(can("list", "", "pods") && can("watch", "apps", "deployments"));
    assert!(can(
        "list",
        "rbac.authorization.k8s.io",
        "clusterrolebindings"
    ));
    assert!(!can("list", "", "secrets") && !can("get", "", "secrets"));
    assert!(!can("delete", "", "pods") && !can("create", "apps", "deployments"));
    assert!(!can("create", "", "pods/exec"));

    // A cluster scan as the ServiceAccount (the admin impersonating it).
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: sa\n  user:\n    token: {}\n    as: {sa}\n\
             contexts:\n- name: sa\n  context: {{cluster: test, user: sa}}\ncurrent-context: sa\n",
            cluster.server(),
            cluster.ca_cert().display(),
            cluster.admin_token()
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "scan",
            "framework",
            "allcontrols",
            "--format",
            "json",
            "--output",
        ])
        .arg(&report)
        .env("KUBECONFIG", &kubeconfig)
        .env("CLUSTER_NAME", "chart-rbac")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && report.is_file(),
        "scan as {sa} failed: {stderr}"
    );
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: cannot "))
        .collect();
    assert_eq!(refused.len(), 1, "{stderr}");
    assert!(
        refused[0].starts_with("warning: cannot list secrets"),
        "{stderr}"
    );
}

/// The posture ClusterRole grants read access to every kind the built-in control library's rules
/// match (derived from the rules' metadata, so new rules are caught), except Secrets, which are
/// left out on purpose, and the host scanner's pseudo-kinds, which are not API resources.
#[test]
fn posture_clusterrole_covers_every_kind_the_library_reads() {
    let r = render(&json!({}), "kubescape", None);
    let rules = r.get("ClusterRole", "kubescape-kubescape")["rules"]
        .as_array()
        .unwrap()
        .clone();
    let readable = |group: &str, plural: &str| {
        rules.iter().any(|rule| {
            (group == "*"
                || rule["apiGroups"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(group)))
                && rule["resources"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(plural))
                && rule["verbs"].as_array().unwrap().contains(&json!("list"))
        })
    };
    let plural = |kind: &str| {
        let k = kind.to_ascii_lowercase();
        if k.ends_with("ss") {
            format!("{k}es")
        } else if k.ends_with('s') {
            k
        } else if let Some(stem) = k.strip_suffix('y') {
            format!("{stem}ies")
        } else {
            format!("{k}s")
        }
    };
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("../controls/library/rules");
    let mut checked = 0;
    for entry in std::fs::read_dir(&library).unwrap() {
        let file = entry.unwrap().path().join("rule.metadata.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let meta: Value = serde_json::from_str(&text).unwrap();
        for m in meta["match"].as_array().into_iter().flatten() {
            for group in m["apiGroups"].as_array().into_iter().flatten() {
                let group = group.as_str().unwrap();
                if group == "hostdata.kubescape.cloud" {
                    continue;
                }
                for kind in m["resources"].as_array().into_iter().flatten() {
                    let p = plural(kind.as_str().unwrap());
                    if p == "secrets" {
                        assert!(!readable(group, &p));
                        continue;
                    }
                    assert!(
                        readable(group, &p),
                        "{}: {group}/{p} is not readable",
                        file.display()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} rule matches checked");
}
