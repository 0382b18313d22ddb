//! `kubescape serve storage` driven by the real kubectl (and curl for raw HTTP), directly over
//! HTTPS with a client certificate.

use kubescape_testenv::storage::StorageServer;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const GV: &str = "spdx.softwarecomposition.kubescape.io/v1beta1";

fn start(dir: &tempfile::TempDir, extra: &[&str]) -> StorageServer {
    StorageServer::start(
        env!("CARGO_BIN_EXE_kubescape").as_ref(),
        dir.path(),
        LOCAL,
        extra,
    )
}

fn summary(ns: &str, name: &str, team: &str, critical: u32) -> String {
    format!(
        "apiVersion: {GV}\nkind: VulnerabilityManifestSummary\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    team: {team}\n    kubescape.io/workload-kind: Deployment\nspec:\n  severities:\n    critical: {{all: {critical}, relevant: 1}}\n    high: {{all: 5, relevant: 0}}\n    medium: {{all: 10, relevant: 3}}\n    low: {{all: 1, relevant: 0}}\n  vulnerabilitiesRef:\n    all: {{kind: VulnerabilityManifest, name: nginx, namespace: kubescape}}\n"
    )
}

fn apply(s: &StorageServer, yaml: &str) -> String {
    let out = s.kubectl_stdin(&["apply", "-f", "-"], yaml);
    assert!(
        out.status.success(),
        "kubectl apply failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log_text()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn kubectl_applies_gets_lists_patches_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir, &[]);

    // apply (create), then the table view with the kind's columns.
    assert!(apply(&s, &summary("shop", "deployment-web-nginx", "a", 2)).contains("created"));
    apply(&s, &summary("shop", "deployment-api-app", "b", 0));
    apply(&s, &summary("billing", "deployment-pay-app", "a", 4));
    let table = s.kubectl_ok(&["get", "vulnerabilitymanifestsummaries", "-n", "shop"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "CRITICAL", "HIGH", "MEDIUM", "LOW", "AGE"],
        "{table}"
    );
    let web: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("deployment-web-nginx"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&web[1..5], ["2", "5", "10", "1"], "{table}");

    // get -o yaml / json: server-set metadata.
    let yaml = s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummary",
        "deployment-web-nginx",
        "-n",
        "shop",
        "-o",
        "yaml",
    ]);
    for field in [
        "uid:",
        "creationTimestamp:",
        "resourceVersion:",
        "generation: 1",
        "critical:",
    ] {
        assert!(yaml.contains(field), "{field} missing in\n{yaml}");
    }
    let obj = json(&s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummary",
        "deployment-web-nginx",
        "-n",
        "shop",
        "-o",
        "json",
    ]));
    let rv1: u64 = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Lists across namespaces, with label and field selectors.
    let all = json(&s.kubectl_ok(&["get", "vulnerabilitymanifestsummaries", "-A", "-o", "json"]));
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert!(
        all["items"][0]["spec"]["severities"].is_object(),
        "plain LIST returns full objects"
    );
    let team_a = s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-A",
        "-l",
        "team=a",
        "-o",
        "name",
    ]);
    assert_eq!(team_a.lines().count(), 2, "{team_a}");
    let not_a = s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-A",
        "-l",
        "team!=a,kubescape.io/workload-kind in (Deployment)",
        "-o",
        "name",
    ]);
    assert_eq!(
        not_a.trim(),
        "vulnerabilitymanifestsummary.spdx.softwarecomposition.kubescape.io/deployment-api-app"
    );
    let by_name = s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-A",
        "--field-selector",
        "metadata.namespace=billing",
        "-o",
        "name",
    ]);
    assert_eq!(by_name.lines().count(), 1, "{by_name}");

    // Paging: kubectl follows continue tokens; the raw first page carries one.
    let paged = s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-A",
        "--chunk-size=1",
        "-o",
        "name",
    ]);
    assert_eq!(paged.lines().count(), 3, "{paged}");
    let page = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        &format!("/apis/{GV}/vulnerabilitymanifestsummaries?limit=2"),
    ]));
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    assert!(!token.is_empty());
    let rest = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        &format!("/apis/{GV}/vulnerabilitymanifestsummaries?limit=2&continue={token}"),
    ]));
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["metadata"]["continue"], "");
    // Upstream's metadata-only convention.
    let meta = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        &format!("/apis/{GV}/vulnerabilitymanifestsummaries?resourceVersion=metadata"),
    ]));
    assert_eq!(meta["items"].as_array().unwrap().len(), 3);
    assert!(meta["items"][0]["spec"].is_null() && meta["items"][0]["metadata"]["name"].is_string());

    // Patches: merge, JSON, and kubectl apply of a change (kubectl's own patch type).
    s.kubectl_ok(&[
        "patch",
        "vulnerabilitymanifestsummary",
        "deployment-web-nginx",
        "-n",
        "shop",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"reviewed":"yes"}}}"#,
    ]);
    s.kubectl_ok(&[
        "patch",
        "vulnerabilitymanifestsummary",
        "deployment-web-nginx",
        "-n",
        "shop",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/severities/low/all","value":7}]"#,
    ]);
    assert!(apply(&s, &summary("shop", "deployment-web-nginx", "a", 3)).contains("configured"));
    let obj = json(&s.kubectl_ok(&[
        "get",
        "vulnerabilitymanifestsummary",
        "deployment-web-nginx",
        "-n",
        "shop",
        "-o",
        "json",
    ]));
    assert_eq!(obj["spec"]["severities"]["critical"]["all"], 3);
    assert_eq!(
        obj["spec"]["severities"]["low"]["all"], 1,
        "apply restores the applied value"
    );
    assert_eq!(
        obj["metadata"]["labels"]["reviewed"], "yes",
        "apply keeps fields it does not manage"
    );
    let rv2: u64 = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rv2 > rv1 + 2,
        "one global, increasing resourceVersion: {rv1} -> {rv2}"
    );
    assert!(obj["metadata"]["generation"].as_i64().unwrap() >= 3);

    // Optimistic concurrency: a replace with a stale resourceVersion is a conflict.
    let mut stale = obj.clone();
    stale["metadata"]["resourceVersion"] = Value::String(rv1.to_string());
    let out = s.kubectl_stdin(&["replace", "-f", "-"], &stale.to_string());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Conflict") && err.contains("has been modified"),
        "{err}"
    );

    // Computed per-namespace totals.
    let totals = json(&s.kubectl_ok(&["get", "vulnerabilitysummaries", "-o", "json"]));
    let shop = totals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "shop")
        .unwrap();
    assert_eq!(shop["spec"]["severities"]["critical"]["all"], 3);
    assert_eq!(shop["spec"]["severities"]["high"]["all"], 10);
    assert_eq!(
        shop["spec"]["vulnerabilitiesRef"].as_array().unwrap().len(),
        2
    );
    let out = s.kubectl(&["delete", "vulnerabilitysummaries", "shop"]);
    assert!(!out.status.success(), "computed kinds are read-only");

    // generateName, delete, delete of a missing object.
    let out = s.kubectl_stdin(
        &["create", "-o", "name", "-f", "-"],
        &format!("apiVersion: {GV}\nkind: KnownServer\nmetadata:\n  generateName: dns-\nspec:\n- ipBlock: 10.0.0.0/8\n  name: internal\n  server: corp\n"),
    );
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success()
            && name.starts_with("knownserver.spdx.softwarecomposition.kubescape.io/dns-")
            && name.rsplit('/').next().unwrap().len() == 9,
        "{name} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.kubectl_ok(&[
        "delete",
        "vulnerabilitymanifestsummary",
        "deployment-api-app",
        "-n",
        "shop",
    ]);
    let out = s.kubectl(&[
        "get",
        "vulnerabilitymanifestsummary",
        "deployment-api-app",
        "-n",
        "shop",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // explain reads our OpenAPI v3 document.
    let explain = s.kubectl_ok(&["explain", "vulnerabilitymanifestsummaries.spec.severities"]);
    assert!(
        explain.contains("critical") && explain.contains("VulnerabilityManifestSummary"),
        "{explain}"
    );

    // Data survives a restart.
    drop(s);
}

#[test]
fn kubectl_watch_sees_create_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir, &[]);
    let mut watch = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args([
            "get",
            "workloadconfigurationscansummaries",
            "-n",
            "apps",
            "-w",
            "--output-watch-events",
            "--request-timeout=20s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let obj = |high: u32| {
        format!("apiVersion: {GV}\nkind: WorkloadConfigurationScanSummary\nmetadata:\n  name: deployment-web\n  namespace: apps\nspec:\n  severities: {{critical: 1, high: {high}, medium: 0, low: 2, unknown: 0}}\n  controls:\n    C-0017: {{controlID: C-0017, status: {{status: failed}}}}\n")
    };
    apply(&s, &obj(3));
    apply(&s, &obj(4));
    s.kubectl_ok(&[
        "delete",
        "workloadconfigurationscansummary",
        "deployment-web",
        "-n",
        "apps",
    ]);
    // Another namespace's change must not reach a namespaced watch.
    apply(&s, &obj(9).replace("namespace: apps", "namespace: other"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[3].to_string())
        })
        .collect();
    assert_eq!(
        events,
        [("ADDED", "3"), ("MODIFIED", "4"), ("DELETED", "4")]
            .map(|(a, b)| (a.to_string(), b.to_string())),
        "watch output:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn watch_resumes_within_the_window_and_reports_gone_beyond_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        &dir,
        &["--watch-window-events=5", "--watch-bookmark-interval=1"],
    );
    let create = |name: &str| {
        apply(&s, &format!("apiVersion: {GV}\nkind: KnownServer\nmetadata:\n  name: {name}\nspec:\n- ipBlock: 10.0.0.0/8\n  name: {name}\n"));
    };
    create("a");
    let rv = json(&s.kubectl_ok(&["get", "knownserver", "a", "-o", "json"]))["metadata"]
        ["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    create("b");
    create("c");
    let raw = |from: &str| {
        s.curl(true, &[&format!("{}/apis/{GV}/knownservers?watch=1&resourceVersion={from}&timeoutSeconds=2&allowWatchBookmarks=true", s.url())])
    };
    let out = raw(&rv);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(json)
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "ADDED")
        .map(|l| l["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "c"], "resumed watch: {lines:?}");
    assert!(
        lines.iter().any(|l| l["type"] == "BOOKMARK"),
        "a bookmark within 2 s at a 1 s interval: {lines:?}"
    );
    for n in ["d", "e", "f", "g", "h", "i"] {
        create(n);
    }
    let out = raw(&rv);
    let status = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(status["code"], 410, "{status}");
    assert_eq!(status["reason"], "Expired");
    // A watch without a version starts with the current state.
    let out = raw("0");
    let added = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"ADDED\""))
        .count();
    assert_eq!(added, 9);
}

#[test]
fn clear_errors_for_bad_requests_and_anonymous_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir, &[]);
    let url = s.url();
    // Only health and metrics are served without credentials.
    for path in ["/livez", "/readyz", "/metrics"] {
        let out = s.curl(false, &["-f", &format!("{url}{path}")]);
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = s.curl(
        false,
        &[
            "-w",
            "%{http_code}",
            "-o",
            "/dev/null",
            &format!("{url}/apis/{GV}/sbomsyfts"),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let metrics =
        String::from_utf8_lossy(&s.curl(false, &[&format!("{url}/metrics")]).stdout).into_owned();
    for m in [
        "storage_write_queue_depth",
        "storage_objects{resource=\"sbomsyfts\"}",
        "apiserver_request_total",
    ] {
        assert!(metrics.contains(m), "{m} missing:\n{metrics}");
    }

    let post = |path: &str, body: &str, ct: &str| -> Value {
        let out = s.curl(
            true,
            &[
                "-X",
                "POST",
                "-H",
                &format!("Content-Type: {ct}"),
                "--data-binary",
                body,
                &format!("{url}{path}"),
            ],
        );
        json(&String::from_utf8_lossy(&out.stdout))
    };
    let base = format!("/apis/{GV}/namespaces/ns1/vulnerabilitymanifestsummaries");
    let e = post(&base, "{not json", "application/json");
    assert_eq!(
        (e["code"].as_u64(), e["reason"].as_str()),
        (Some(400), Some("BadRequest")),
        "{e}"
    );
    let e = post(
        &base,
        &format!(r#"{{"apiVersion":"{GV}","kind":"SBOMSyft","metadata":{{"name":"x"}}}}"#),
        "application/json",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("does not match the expected kind"),
        "{e}"
    );
    let e = post(
        &base,
        &format!(
            r#"{{"apiVersion":"{GV}","kind":"VulnerabilityManifestSummary","metadata":{{"name":"Bad_Name"}}}}"#
        ),
        "application/json",
    );
    assert_eq!(e["code"], 422, "{e}");
    let e = post(
        &base,
        &format!(
            r#"{{"apiVersion":"{GV}","kind":"VulnerabilityManifestSummary","metadata":{{"name":"x","namespace":"ns2"}}}}"#
        ),
        "application/json",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("does not match the namespace"),
        "{e}"
    );
    let e = post(
        &format!("{base}?fieldValidation=Strict"),
        &format!(
            r#"{{"apiVersion":"{GV}","kind":"VulnerabilityManifestSummary","metadata":{{"name":"x"}},"spec":{{"severitiez":{{}}}}}}"#
        ),
        "application/json",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"spec.severitiez\""),
        "{e}"
    );
    let e = post(&base, "<xml/>", "application/xml");
    assert_eq!(e["code"], 415, "{e}");
    let out = s.kubectl(&[
        "get",
        "vulnerabilitymanifestsummaries",
        "-A",
        "-l",
        "a in b",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("labelSelector"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Aggregated discovery for clients that ask for it (kubectl does).
    let out = s.curl(true, &["-H", "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", &format!("{url}/apis")]);
    let d = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(d["kind"], "APIGroupDiscoveryList", "{d}");
    let resources = d["items"][0]["versions"][0]["resources"]
        .as_array()
        .unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r["resource"] == "vulnerabilitysummaries"
                && r["scope"] == "Cluster"
                && r["verbs"] == serde_json::json!(["get", "list", "watch"])),
        "{d}"
    );
    // kubectl's own validation (strict by default) rejects a misspelt field through our schema.
    let out = s.kubectl_stdin(&["apply", "-f", "-"], &format!("apiVersion: {GV}\nkind: VulnerabilityManifestSummary\nmetadata: {{name: typo, namespace: ns1}}\nspec:\n  severites: {{}}\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("severites"), "{err}");

    // Size limits per kind: summaries take at most 5 MiB.
    let big = format!(
        r#"{{"apiVersion":"{GV}","kind":"VulnerabilityManifestSummary","metadata":{{"name":"big"}},"spec":{{"pad":"{}"}}}}"#,
        "x".repeat(6 * 1024 * 1024)
    );
    let body = dir.path().join("big.json");
    std::fs::write(&body, big).unwrap();
    let out = s.curl(
        true,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", body.display()),
            &format!("{url}{base}"),
        ],
    );
    let e = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(e["code"], 413, "{e}");
    assert!(e["message"].as_str().unwrap().contains("5 MiB"), "{e}");
}

#[test]
fn computed_kinds_change_with_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir, &[]);
    apply(&s, &summary("other", "deployment-x", "a", 1));
    let rv = json(&s.kubectl_ok(&[
        "get",
        "--raw",
        &format!("/apis/{GV}/vulnerabilitymanifestsummaries?limit=1"),
    ]))["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!(
        "{}/apis/{GV}/vulnerabilitysummaries?watch=1&resourceVersion={rv}&timeoutSeconds=4",
        s.url()
    );
    let ca = s.pki.ca.clone();
    let (cert, key) = (s.pki.client_cert.clone(), s.pki.client_key.clone());
    let watcher = std::thread::spawn(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(ca)
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .arg(url)
            .output()
            .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    apply(&s, &summary("shop", "deployment-web", "a", 2));
    apply(&s, &summary("shop", "deployment-api", "a", 3));
    s.kubectl_ok(&[
        "delete",
        "vulnerabilitymanifestsummaries",
        "-n",
        "shop",
        "--all",
    ]);
    let out = watcher.join().unwrap();
    let events: Vec<(String, String, Value)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(json)
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                e["object"]["spec"]["severities"]["critical"]["all"].clone(),
            )
        })
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, n, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        kinds[..3],
        [
            ("ADDED", "shop"),
            ("MODIFIED", "shop"),
            ("MODIFIED", "shop")
        ],
        "{events:?}"
    );
    assert_eq!(events[0].2, 2);
    assert_eq!(events[1].2, 5, "totals of both summaries");
    assert_eq!(kinds.last().unwrap(), &("DELETED", "shop"), "{events:?}");
    assert!(
        !kinds.iter().any(|(_, n)| *n == "other"),
        "only the changed namespace: {events:?}"
    );
}
