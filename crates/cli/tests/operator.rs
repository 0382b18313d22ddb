//! `kubescape serve operator` against the real kube-apiserver: triggerAction refuses requests
//! without a valid token or from identities outside the allow-list; a recurring-scan command
//! creates the CronJob and its ConfigMap from the template; `kubescape http-request` with that
//! body triggers a posture scan through the operator; update and delete work.

#[path = "../../image/tests/common/mod.rs"]
mod common;

use kubescape_testenv::TestCluster;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str], kubeconfig: &std::path::Path, log: &std::path::Path) -> (Service, u16) {
    let port = kubescape_testenv::storage::free_port("127.0.0.1".parse().unwrap());
    let child = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args(args)
        .args(["--bind-address", "127.0.0.1", "--port", &port.to_string()])
        .env("KUBECONFIG", kubeconfig)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{args:?} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Service(child), port)
}

fn trigger(port: u16, token: Option<&str>, body: &Value) -> (u16, Value) {
    let (code, text) = kubescape_testenv::http(
        "POST",
        &format!("http://127.0.0.1:{port}/v1/triggerAction"),
        token,
        Some(&body.to_string()),
    );
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Requests received: lower-cased headers and body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTP endpoint that records what is POSTed to it (headers lower-cased, body de-chunked)
/// and answers 200: the posture service's `--report-url`.
fn report_receiver() -> (u16, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                headers.push_str(&line.to_ascii_lowercase());
            }
            let mut body = Vec::new();
            if headers.contains("transfer-encoding: chunked") {
                loop {
                    let mut size = String::new();
                    reader.read_line(&mut size).unwrap();
                    let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                    let mut chunk = vec![0; n + 2];
                    reader.read_exact(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            } else if let Some(len) = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                body.resize(len, 0);
                reader.read_exact(&mut body).unwrap();
            }
            sink.lock().unwrap().push((headers, body));
            let mut out = stream;
            let _ =
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// The chart's posture CronJob template, as the operator reads it.
fn apply_cronjob_template(cluster: &TestCluster, ns: &str) {
    cluster.apply_yaml(&format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: kubescape-cronjob-template, namespace: {ns}}}
data:
  cronjobTemplate: |
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: template
    spec:
      schedule: "0 0 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: scheduler
                image: kubescape:test
                args: ["http-request", "-method=post", "-scheme=http", "-host=operator:4002", "-path=v1/triggerAction", "-path-body=/home/ks/request-body.json"]
                volumeMounts: [{{name: request-body-volume, mountPath: /home/ks/request-body.json, subPath: request-body.json}}]
              volumes:
              - name: request-body-volume
                configMap: {{name: placeholder}}
"#
    ));
}

#[test]
fn recurring_scans_through_an_authenticated_operator() {
    let cluster = TestCluster::get();
    let ns = cluster.unique_namespace("operator");
    let dir = tempfile::tempdir().unwrap();
    apply_cronjob_template(cluster, &ns);
    let (report_port, reports) = report_receiver();
    let (_posture, posture_port) = start(
        &[
            "serve",
            "kubescape",
            "--no-storage",
            "--results-dir",
            dir.path().join("results").to_str().unwrap(),
            "--report-url",
            &format!("http://127.0.0.1:{report_port}/v1/reports"),
            "--report-header",
            "Authorization: Bearer report-token",
        ],
        cluster.kubeconfig(),
        &dir.path().join("posture.log"),
    );
    let (_operator, port) = start(
        &[
            "serve",
            "operator",
            "--namespace",
            &ns,
            "--kubescape-url",
            &format!("http://127.0.0.1:{posture_port}"),
            "--allowed-users",
            "admin",
            "--no-image-scan",
        ],
        cluster.kubeconfig(),
        &dir.path().join("operator.log"),
    );
    let operator_log =
        || std::fs::read_to_string(dir.path().join("operator.log")).unwrap_or_default();

    let set = json!({"commands": [{"commandName": "setKubescapeCronJob",
        "designators": [{"designatorType": "Attributes", "attributes": {"namespace": ns}}],
        "args": {"kubescapeJobParams": {"cronTabSchedule": "0 2 * * *"}, "scanV1": {"targetType": "framework", "targetNames": ["nsa"]}},
        "jobTracking": {"jobID": "job-1", "parentAction": "parent-0"}}]});
    // Authentication and the allow-list come first.
    assert_eq!(trigger(port, None, &set).0, 401);
    assert_eq!(trigger(port, Some("not-a-token"), &set).0, 401);
    let (code, body) = trigger(port, Some(cluster.limited_token()), &set);
    assert_eq!(code, 403, "{body}");
    assert!(
        cluster
            .kubectl_ok(&["get", "cronjobs", "-n", &ns, "-o", "name"])
            .trim()
            .is_empty(),
        "nothing created by refused requests"
    );

    let (code, body) = trigger(port, Some(cluster.admin_token()), &set);
    assert_eq!(code, 200, "{body} {}", operator_log());
    let cronjobs = cluster.get_json(&["cronjobs", "-n", &ns]);
    let items = cronjobs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{cronjobs}");
    let name = items[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("ks-scheduled-scan-nsa-") && name.len() <= 52,
        "{name}"
    );
    assert_eq!(items[0]["spec"]["schedule"], "0 2 * * *");
    let volume = &items[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0];
    assert_eq!(volume["configMap"]["name"], name.as_str());
    let cm = cluster.get_json(&["configmap", &name, "-n", &ns]);
    let request_body = cm["data"]["request-body.json"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        operator_log().contains("job-1") && operator_log().contains("parent-0"),
        "jobId/parentId in the logs: {}",
        operator_log()
    );

    // What the CronJob's container does: post that body to the operator.
    std::fs::write(dir.path().join("request-body.json"), &request_body).unwrap();
    std::fs::write(dir.path().join("token"), cluster.admin_token()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "http-request",
            "-method=post",
            "-scheme=http",
            &format!("-host=127.0.0.1:{port}"),
            "-path=v1/triggerAction",
        ])
        .arg(format!(
            "-path-body={}",
            dir.path().join("request-body.json").display()
        ))
        .arg(format!(
            "--token-file={}",
            dir.path().join("token").display()
        ))
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "{answer} {} {}",
        String::from_utf8_lossy(&out.stderr),
        operator_log()
    );
    let detail = answer["results"][0]["detail"].as_str().unwrap().to_string();
    // The operator's jobId reaches the posture service, which logs it as the parent.
    let operator_job = answer["results"][0]["jobID"].as_str().unwrap().to_string();
    let posture_log = std::fs::read_to_string(dir.path().join("posture.log")).unwrap_or_default();
    assert!(
        posture_log.contains(&format!("\"parentId\":\"{operator_job}\"")),
        "{posture_log}"
    );
    let scan_id = detail
        .strip_prefix("posture scan ")
        .and_then(|d| d.strip_suffix(" queued"))
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string();
    // The posture service ran it, and the operator's start-up scan before it.
    let results = |id: &str| -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let out = Command::new("curl")
                .args([
                    "-sS",
                    &format!("http://127.0.0.1:{posture_port}/v1/results?id={id}"),
                ])
                .output()
                .unwrap();
            let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if r["type"] == "v1results" {
                return r;
            }
            assert!(Instant::now() < deadline, "scan {id} did not finish: {r}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let frameworks = |r: &Value| -> Vec<String> {
        r["response"]["summaryDetails"]["frameworks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(frameworks(&results(&scan_id)), ["NSA"]);
    // Every finished report also went to --report-url, with the configured header.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let found = reports
            .lock()
            .unwrap()
            .iter()
            .find(|(h, _)| h.contains(&format!("x-job-id: {scan_id}")))
            .cloned();
        if let Some(r) = found {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the report of {scan_id} was not sent"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        sent.0.contains("authorization: bearer report-token"),
        "{}",
        sent.0
    );
    assert!(sent.0.starts_with("post /v1/reports "), "{}", sent.0);
    let report: Value = serde_json::from_slice(&sent.1).unwrap();
    assert_eq!(report["summaryDetails"]["frameworks"][0]["name"], "NSA");
    assert!(
        operator_log().contains("start-up posture scan"),
        "{}",
        operator_log()
    );

    // Update and delete by name.
    let update = json!({"commands": [{"commandName": "updateKubescapeCronJob", "args": {"kubescapeJobParams": {"name": name, "cronTabSchedule": "30 3 * * 1"}}}]});
    assert_eq!(trigger(port, Some(cluster.admin_token()), &update).0, 200);
    assert_eq!(
        cluster.get_json(&["cronjob", &name, "-n", &ns])["spec"]["schedule"],
        "30 3 * * 1"
    );
    let delete = json!({"commands": [{"commandName": "deleteKubescapeCronJob", "args": {"kubescapeJobParams": {"name": name}}}]});
    assert_eq!(trigger(port, Some(cluster.admin_token()), &delete).0, 200);
    assert!(cluster
        .kubectl_ok(&[
            "get",
            "cronjobs,configmaps",
            "-n",
            &ns,
            "-l",
            "kubescape.io/scheduled-scan",
            "-o",
            "name"
        ])
        .trim()
        .is_empty());
    // A Pod of its own, so the outcome does not depend on what else the cluster runs.
    cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: two-images, namespace: {ns}}}\nspec:\n  containers:\n  - {{name: a, image: registry.example/a:1}}\n  - {{name: b, image: registry.example/b:1}}\n"
    ));
    let (code, body) = trigger(
        port,
        Some(cluster.admin_token()),
        &json!({"commands": [{"commandName": "scan",
            "designators": [{"designatorType": "Attributes", "attributes": {"namespace": ns}}]}]}),
    );
    // No kubevuln runs here: the image scan requests cannot be delivered, and the answer says
    // so once, not once per container.
    assert_eq!(code, 502, "{body}");
    let error = body["results"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("kubevuln is unreachable") && error.matches("unreachable").count() == 1,
        "{body}"
    );
    assert!(error.ends_with("(2 containers)"), "{body}");
}

/// OperatorCommand objects (the chart's CRD, applied to the real kube-apiserver): pending ones
/// run at start, new ones as they are created, each once (a restarted operator does not run
/// them again), with the outcome in the status; an expired one is not started; an unknown
/// command records its error.
#[test]
fn operator_commands_run_once_and_record_their_outcome() {
    let cluster = TestCluster::get();
    let crd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../charts/kubescape-operator/crds/operatorcommands.yaml");
    cluster.kubectl_ok(&["apply", "-f", crd.to_str().unwrap()]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/operatorcommands.kubescape.io",
        "--timeout=30s",
    ]);
    let ns = cluster.unique_namespace("opcommands");
    let dir = tempfile::tempdir().unwrap();
    apply_cronjob_template(cluster, &ns);
    let command = |name: &str, spec: &str| {
        cluster.apply_yaml(&format!(
            "apiVersion: kubescape.io/v1alpha1\nkind: OperatorCommand\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"
        ));
    };
    command(
        "schedule-nsa",
        r#"{guid: guid-schedule, commandType: setKubescapeCronJob, args: {kubescapeJobParams: {cronTabSchedule: "0 3 * * *"}, scanV1: {targetType: framework, targetNames: [nsa]}}}"#,
    );
    command(
        "too-late",
        r#"{commandType: setKubescapeCronJob, ttl: 1s, args: {kubescapeJobParams: {cronTabSchedule: "0 4 * * *"}}}"#,
    );
    std::thread::sleep(Duration::from_secs(2));
    let operator_args = [
        "serve",
        "operator",
        "--namespace",
        &ns,
        "--no-startup-scan",
        "--no-image-scan",
        "--no-cleanup",
    ];
    let log = dir.path().join("operator.log");
    let operator = start(&operator_args, cluster.kubeconfig(), &log);
    let status = |name: &str| -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let obj = cluster.get_json(&["operatorcommand", name, "-n", &ns]);
            if obj["status"]["completed"] == json!(true) {
                return obj["status"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not complete: {obj}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let done = status("schedule-nsa");
    assert_eq!(done["started"], json!(true));
    assert!(done["error"].is_null(), "{done}");
    assert!(
        done["payload"]
            .as_str()
            .unwrap()
            .contains("scheduled \"0 3 * * *\""),
        "{done}"
    );
    assert!(done["executer"].as_str().unwrap().starts_with("operator@"));
    let expired = status("too-late");
    assert_eq!(expired["error"]["reason"], "expired", "{expired}");
    assert!(expired["started"].is_null(), "never started: {expired}");
    command("unknown", "{commandType: reticulateSplines}");
    let failed = status("unknown");
    assert_eq!(failed["error"]["errorCode"], 400, "{failed}");
    assert!(failed["error"]["message"]
        .as_str()
        .unwrap()
        .contains("reticulateSplines"));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("guid-schedule"),
        "jobId = guid"
    );
    let cronjobs = || {
        cluster
            .kubectl_ok(&[
                "get",
                "cronjobs",
                "-n",
                &ns,
                "-l",
                "kubescape.io/scheduled-scan",
                "-o",
                "name",
            ])
            .lines()
            .count()
    };
    assert_eq!(cronjobs(), 1, "the expired command created nothing");
    // A restarted operator finds every command done and runs none again.
    drop(operator);
    let _operator = start(
        &operator_args,
        cluster.kubeconfig(),
        &dir.path().join("again.log"),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(cronjobs(), 1);
    let again = std::fs::read_to_string(dir.path().join("again.log")).unwrap_or_default();
    assert!(!again.contains("OperatorCommand started"), "{again}");
}

/// kubevuln against the real kube-apiserver without storage registered: readiness waits for
/// the database; a scan fails with an error that says storage is missing, reported through
/// `/v1/scanStatus`, which needs a token too.
#[test]
fn kubevuln_readiness_status_and_a_missing_storage() {
    let cluster = TestCluster::get();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vulndb.json.gz");
    let (_kubevuln, port) = start(
        &[
            "serve",
            "kubevuln",
            "--allowed-users",
            "admin",
            "--db",
            db.to_str().unwrap(),
        ],
        cluster.kubeconfig(),
        &dir.path().join("kubevuln.log"),
    );
    let get = |path: &str, token: Option<&str>| -> (u16, Value) {
        let url = format!("http://127.0.0.1:{port}{path}");
        let (code, text) = kubescape_testenv::http("GET", &url, token, None);
        (code, serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let (code, body) = get("/v1/readiness", None);
    assert_eq!(code, 503, "no database yet: {body}");
    let vulndata = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/vulndata/go-osv");
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args(["vulndb", "--db", db.to_str().unwrap(), "import"])
        .arg(&vulndata)
        .output()
        .unwrap();
    assert!(out.status.success());
    // The database file is picked up by the background loader.
    let deadline = Instant::now() + Duration::from_secs(20);
    while get("/v1/readiness", None).0 != 200 {
        assert!(
            Instant::now() < deadline,
            "kubevuln did not load the database"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let image = format!("oci-dir:{}:v1", common::kit().join("apps.oci").display());
    let (_, text) = kubescape_testenv::http(
        "POST",
        &format!("http://127.0.0.1:{port}/v1/scanImage"),
        Some(cluster.admin_token()),
        Some(&json!({"imageTag": image, "jobID": "slow-1"}).to_string()),
    );
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["jobID"], "slow-1", "{answer}");
    assert_eq!(get("/v1/scanStatus/slow-1", None).0, 401);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (_, s) = get("/v1/scanStatus/slow-1", Some(cluster.admin_token()));
        if s["status"] == "failed" || s["status"] == "done" {
            break s;
        }
        assert!(Instant::now() < deadline, "{s}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["detail"]
            .as_str()
            .unwrap()
            .contains("is storage registered and available?"),
        "{status}"
    );
    assert_eq!(
        get("/v1/scanStatus/unknown", Some(cluster.admin_token())).0,
        404
    );
}
