//! The Helm chart `charts/kubescape-operator`: linted and rendered with the real Helm library
//! (helm-python-sdk, in the venv `scripts/setup.sh` makes), for default and non-default values;
//! every rendered object is then accepted by a real kube-apiserver 1.20 with
//! `kubectl apply --dry-run=server` (nothing is created, in particular not the cluster-global
//! APIService). The chart's containers may only run commands and flags the `kubescape` binary
//! has: each one is checked against the binary's own `--help`, and the rendered command lines of
//! storage, the posture service and the CronJob are run (with local paths and ports).

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
                assert!(
                    name.starts_with("--") && help.contains(&format!("{name} ")),
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
        for absent in [
            "operator",
            "kubevuln",
            "node-agent",
            "synchronizer",
            "gateway",
            "kollector",
        ] {
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
               "limits": {"cpu": "1000m", "memory": "768Mi"}})
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

    // Recurring scan: the template for the future operator, and the direct CronJob. The test
    // cluster is 1.20, whose discovery has CronJob only in batch/v1beta1.
    assert!(caps
        .api_versions
        .contains(&"batch/v1beta1/CronJob".to_string()));
    assert!(!caps.api_versions.contains(&"batch/v1/CronJob".to_string()));
    let cron = r.get("CronJob", "kubescape-scheduler");
    assert_eq!(cron["apiVersion"], "batch/v1beta1");
    assert_eq!(cron["spec"]["schedule"], "0 0 * * *");
    let job_pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        args(container(job_pod, "kubescape-scheduler")),
        [
            "http-request",
            "--method=POST",
            "--scheme=http",
            &format!("--host=kubescape.{ns}.svc:8080"),
            "--path=v1/scan",
            "--path-body=/home/ks/request-body.json"
        ]
    );
    assert_eq!(
        job_pod["volumes"][0]["configMap"]["name"],
        "kubescape-scheduler"
    );
    let body = r.get("ConfigMap", "kubescape-scheduler");
    let body: Value =
        serde_json::from_str(body["data"]["request-body.json"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"targetType": "framework", "targetNames": ["allcontrols", "nsa", "mitre"]})
    );
    let template = r.get("ConfigMap", "kubescape-cronjob-template");
    let template = template["data"]["cronjobTemplate"].as_str().unwrap();
    assert!(template.starts_with("apiVersion: batch/v1beta1\nkind: CronJob\n"));
    assert!(template.contains("--path=v1/triggerAction"));

    // Shared configuration.
    let cloud = r.get("ConfigMap", "ks-cloud-config");
    let data: Value = serde_json::from_str(cloud["data"]["clusterData"].as_str().unwrap()).unwrap();
    assert_eq!(data["namespace"], ns.as_str());
    assert_eq!(data["storage"], true);
    assert_eq!(data["kubescapeURL"], format!("kubescape.{ns}.svc:8080"));
    assert!(data["clusterName"].is_string());
    assert!(
        data.get("kubevulnURL").is_none(),
        "kubevuln is not deployed"
    );

    // Off by default.
    assert!(r.of_kind("NetworkPolicy").is_empty());
    assert!(r.of_kind("ServiceMonitor").is_empty());
    assert_no_unimplemented_components(&r);
    assert_commands_exist(&r);

    let out = r.dry_run_apply(cluster);
    assert!(out.contains(&format!("apiservice.apiregistration.k8s.io/{APISERVICE}")));
    assert!(out.contains("cronjob.batch/kubescape-scheduler"));
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
            "podLabels": {"team": "security"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "pool", "operator": "In", "values": ["scanners"]}]}]}}}
        },
        "kubescapeScheduler": {"enabled": false}
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
    assert!(r.of_kind("PersistentVolumeClaim").is_empty());
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

    // Schedulers disabled: no CronJob, no template, no body.
    assert!(r.of_kind("CronJob").is_empty());
    assert!(r.find("ConfigMap", "kubescape-cronjob-template").is_none());
    assert!(r.find("ConfigMap", "kubescape-scheduler").is_none());

    // NetworkPolicies with egress rules.
    let np = r.get("NetworkPolicy", "kubescape");
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        np["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "kubescape-scheduler"
    );
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], 8080);
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
    let env = container(pod, "kubescape")["env"].as_array().unwrap();
    assert!(env
        .iter()
        .any(|e| e["name"] == "CLUSTER_NAME" && e["value"] == "prod-eu"));

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

#[test]
fn components_that_are_not_implemented_refuse_to_render() {
    let r = render(&json!({"operator": {"enabled": true}}), "kubescape", None);
    let error = r.error.expect("operator rendered");
    assert!(
        error.contains("operator.enabled") && error.contains("does not deploy it yet"),
        "operator: {error}"
    );
    for key in ["kubevuln", "kubevulnScheduler", "nodeAgent", "synchronizer"] {
        let r = render(&json!({key: {"enabled": true}}), "kubescape", None);
        let error = r.error.unwrap_or_else(|| panic!("{key} rendered"));
        assert!(
            error.contains(&format!("{key}.enabled")) && error.contains("not implemented yet"),
            "{key}: {error}"
        );
    }
    let r = render(
        &json!({"kubescape": {"serviceMonitor": {"enabled": true}}}),
        "kubescape",
        None,
    );
    assert!(r.error.unwrap().contains("no /metrics endpoint"));
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

/// The rendered containers' command lines run as they are, with only the pod's paths, ports and
/// in-cluster credentials swapped for local ones: storage serves TLS with the Helm-generated
/// certificate (verified with the APIService's caBundle under the Service's DNS name), and the
/// CronJob's `http-request` with the rendered body starts a scan in the posture service.
#[test]
fn rendered_command_lines_run() {
    let cluster = TestCluster::get();
    let ns = "kubescape";
    let r = render(&json!({}), ns, None);
    assert_eq!(r.error, None);
    let bin = env!("CARGO_BIN_EXE_kubescape");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cluster.kubeconfig().to_str().unwrap().to_string();
    let localhost: std::net::IpAddr = "127.0.0.1".parse().unwrap();

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
    let port = kubescape_testenv::storage::free_port(localhost).to_string();
    set_flag(&mut cmdline, "--port", &port);
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
    let base = format!("http://127.0.0.1:{port}");
    wait_until("kubescape /readyz", || {
        ureq::get(&format!("{base}/readyz")).call().is_ok()
    });

    // The CronJob's container, with the rendered body file.
    let body = r.get("ConfigMap", "kubescape-scheduler")["data"]["request-body.json"]
        .as_str()
        .unwrap()
        .to_string();
    let body_file = dir.path().join("request-body.json");
    std::fs::write(&body_file, body).unwrap();
    let cron = r.get("CronJob", "kubescape-scheduler");
    let mut cmdline = args(container(
        &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "kubescape-scheduler",
    ));
    assert!(cmdline.contains(&format!("--host=kubescape.{ns}.svc:8080")));
    set_flag(&mut cmdline, "--host", &format!("127.0.0.1:{port}"));
    set_flag(&mut cmdline, "--path-body", body_file.to_str().unwrap());
    let out = Command::new(bin).args(&cmdline).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the CronJob's request failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty(), "{answer}");
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

    // Authorization decisions straight from kube-apiserver (SubjectAccessReview; `kubectl auth
    // can-i` would need the storage group to be served for discovery).
    let sa = format!("system:serviceaccount:{ns}:kubescape");
    let can = |verb: &str, group: &str, resource: &str| {
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": sa,
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"),
                           "system:authenticated"],
                "resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                       "namespace": "default"}
            }
        });
        let args = ["create", "-f", "-", "-o", "json"];
        let out = cluster.kubectl_stdin(&args, &review.to_string());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["status"]["allowed"] == true
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
