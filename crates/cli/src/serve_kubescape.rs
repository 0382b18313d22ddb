//! `kubescape serve kubescape`: the posture service. Upstream's REST API (`/v1/scan`,
//! `/v1/status`, `/v1/results`), a bounded queue worked one scan at a time, and the results
//! published to storage as WorkloadConfigurationScan + WorkloadConfigurationScanSummary objects.
//!
//! Each scan runs as a child process of this binary (`kubescape scan ... --format json`): its
//! memory is returned to the system when it ends, and a scan that fails or is killed cannot take
//! the service down with it (upstream's in-process scans are what users see OOM-killed).

use crate::http_service::{reply, Reply};
use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use kubescape_api::posture::ResourceResult;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

const GROUP: &str = "spdx.softwarecomposition.kubescape.io";
const VERSION: &str = "v1beta1";

#[derive(Args)]
pub struct KubescapeArgs {
    /// Port of the REST API
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: String,
    /// Kubeconfig context to scan (default: in-cluster credentials or the current context)
    #[arg(long)]
    pub kube_context: Option<String>,
    /// Namespace of the platform: results of cluster-scoped objects are stored there
    #[arg(long, env = "NAMESPACE", default_value = "kubescape")]
    pub namespace: String,
    /// Scans that may wait; more get 429
    #[arg(long, default_value_t = 10)]
    pub queue_capacity: usize,
    /// Where finished reports are kept until fetched [default: a temporary directory]
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Do not publish WorkloadConfigurationScan objects to storage
    #[arg(long)]
    pub no_storage: bool,
    /// Also POST every finished JSON report here (unless its request says `"submit": false`)
    #[arg(long, env = "KS_REPORT_URL", value_name = "URL")]
    pub report_url: Option<String>,
    /// Header sent with the report, `Name: value` (repeatable), e.g. an Authorization header
    #[arg(long = "report-header", value_name = "NAME: VALUE")]
    pub report_headers: Vec<String>,
}

/// The body of `POST /v1/scan`, with upstream's field names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ScanRequest {
    format: String,
    excluded_namespaces: Vec<String>,
    include_namespaces: Vec<String>,
    target_type: String,
    target_names: Vec<String>,
    /// `false` keeps the report from `--report-url`; absent or `true` sends it.
    submit: Option<bool>,
    host_scanner: Option<bool>,
    keep_local: bool,
    use_cached_artifacts: Option<bool>,
    scan_object: Option<Value>,
    is_deleted_scan_object: bool,
    exceptions: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum JobState {
    Queued,
    Running,
    Done,
    Failed(String),
}

struct Job {
    id: String,
    /// The caller's job (the operator's jobId, from `X-Job-ID`), for the logs.
    parent: String,
    request: ScanRequest,
}

struct Service {
    args: KubescapeArgs,
    results_dir: PathBuf,
    jobs: Mutex<BTreeMap<String, JobState>>,
    queue: SyncSender<Job>,
    done: tokio::sync::watch::Sender<u64>,
    metrics: crate::service_metrics::Metrics,
}

pub fn run(args: KubescapeArgs) -> Result<ExitCode> {
    if let Some(bad) = args.report_headers.iter().find(|h| !h.contains(':')) {
        anyhow::bail!("--report-header {bad:?}: expected \"Name: value\"");
    }
    let temp;
    let results_dir = match &args.results_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a results directory")?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&results_dir)
        .with_context(|| format!("cannot create --results-dir {}", results_dir.display()))?;
    let (queue, rx) = sync_channel(args.queue_capacity.max(1));
    let service = Arc::new(Service {
        args,
        results_dir,
        jobs: Mutex::new(BTreeMap::new()),
        queue,
        done: tokio::sync::watch::channel(0).0,
        metrics: crate::service_metrics::Metrics::new(&[
            (
                "kubescape_scans_total",
                "Finished posture scans by outcome (done, failed).",
            ),
            (
                "kubescape_scan_requests_refused_total",
                "Scan requests refused because the queue was full.",
            ),
        ]),
    });
    let worker = service.clone();
    std::thread::Builder::new()
        .name("scan-worker".into())
        .spawn(move || worker_loop(worker, rx))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(service))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(service: Arc<Service>) -> Result<()> {
    let addr = format!("{}:{}", service.args.bind_address, service.args.port);
    tracing::info!(results_dir = %service.results_dir.display(), "posture service starting");
    crate::http_service::serve(&addr, service, handle).await
}

fn answer(status: StatusCode, id: &str, kind: &str, response: Value) -> Reply {
    reply(
        status,
        json!({"id": id, "type": kind, "response": response}),
    )
}

async fn handle(service: Arc<Service>, req: Request<hyper::body::Incoming>) -> Reply {
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let id = query.get("id").cloned().unwrap_or_default();
    let flag = |k: &str| query.get(k).is_some_and(|v| v == "true" || v.is_empty());
    let path = req.uri().path().trim_end_matches('/').to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/livez" | "/readyz") => reply(StatusCode::OK, json!({"status": "ok"})),
        (Method::GET, "/metrics") => {
            let (queued, running) = {
                let jobs = service.jobs.lock().expect("jobs");
                let count = |s: &JobState| jobs.values().filter(|j| *j == s).count() as f64;
                (count(&JobState::Queued), count(&JobState::Running))
            };
            crate::service_metrics::reply(service.metrics.render(&[
                crate::service_metrics::Gauge {
                    name: "kubescape_scans_queued",
                    help: "Scans waiting in the queue.",
                    value: queued,
                },
                crate::service_metrics::Gauge {
                    name: "kubescape_scans_running",
                    help: "Scans running now (0 or 1).",
                    value: running,
                },
            ]))
        }
        (Method::POST, "/v1/scan") => {
            let parent = req
                .headers()
                .get("x-job-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        "",
                        "error",
                        json!(format!("cannot read the request: {e}")),
                    )
                }
            };
            let request: ScanRequest = if body.iter().all(u8::is_ascii_whitespace) {
                ScanRequest::default()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => {
                        return answer(
                            StatusCode::BAD_REQUEST,
                            "",
                            "error",
                            json!(format!(
                                "the scan request is not valid JSON of the expected shape: {e}"
                            )),
                        )
                    }
                }
            };
            if !matches!(request.target_type.as_str(), "" | "framework" | "control") {
                return answer(
                    StatusCode::BAD_REQUEST,
                    "",
                    "error",
                    json!(format!(
                        "targetType {:?}: use framework or control",
                        request.target_type
                    )),
                );
            }
            let id = uuid::Uuid::new_v4().to_string();
            let mut done = service.done.subscribe();
            service
                .jobs
                .lock()
                .expect("jobs")
                .insert(id.clone(), JobState::Queued);
            match service.queue.try_send(Job {
                parent: parent.clone(),
                id: id.clone(),
                request,
            }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    service.jobs.lock().expect("jobs").remove(&id);
                    service
                        .metrics
                        .inc("kubescape_scan_requests_refused_total", String::new());
                    return answer(
                        StatusCode::TOO_MANY_REQUESTS,
                        &id,
                        "error",
                        json!("the scan queue is full; retry later"),
                    );
                }
            }
            tracing::info!(jobId = %id, parentId = %parent, "scan queued");
            if !flag("wait") {
                return answer(
                    StatusCode::OK,
                    &id,
                    "busy",
                    json!(format!("scanning; results at /v1/results?id={id}")),
                );
            }
            loop {
                let state = service.jobs.lock().expect("jobs").get(&id).cloned();
                match state {
                    Some(JobState::Done) => return results(&service, &id, flag("keep")),
                    Some(JobState::Failed(e)) => {
                        return answer(StatusCode::INTERNAL_SERVER_ERROR, &id, "error", json!(e))
                    }
                    None => {
                        return answer(
                            StatusCode::NOT_FOUND,
                            &id,
                            "error",
                            json!("the scan was deleted"),
                        )
                    }
                    _ => {
                        if done.changed().await.is_err() {
                            return answer(
                                StatusCode::SERVICE_UNAVAILABLE,
                                &id,
                                "error",
                                json!("the scan worker stopped"),
                            );
                        }
                    }
                }
            }
        }
        (Method::GET, "/v1/status") => {
            let jobs = service.jobs.lock().expect("jobs");
            let busy = if id.is_empty() {
                jobs.values()
                    .any(|s| matches!(s, JobState::Queued | JobState::Running))
            } else {
                match jobs.get(&id) {
                    Some(s) => matches!(s, JobState::Queued | JobState::Running),
                    None => {
                        return answer(
                            StatusCode::NOT_FOUND,
                            &id,
                            "error",
                            json!(format!("no scan with id {id}")),
                        )
                    }
                }
            };
            let failed = jobs.get(&id).and_then(|s| match s {
                JobState::Failed(e) => Some(e.clone()),
                _ => None,
            });
            match failed {
                Some(e) => answer(StatusCode::OK, &id, "error", json!(e)),
                None => answer(
                    StatusCode::OK,
                    &id,
                    if busy { "busy" } else { "notBusy" },
                    json!(if busy { "scanning" } else { "done" }),
                ),
            }
        }
        (Method::GET, "/v1/results") => {
            let id = if id.is_empty() {
                let jobs = service.jobs.lock().expect("jobs");
                match jobs.iter().rev().find(|(_, s)| **s == JobState::Done) {
                    Some((k, _)) => k.clone(),
                    None => {
                        return answer(
                            StatusCode::NOT_FOUND,
                            "",
                            "error",
                            json!("no finished scan"),
                        )
                    }
                }
            } else {
                id
            };
            results(&service, &id, flag("keep") || !query.contains_key("keep"))
        }
        (Method::DELETE, "/v1/scan" | "/v1/results") => {
            let removed = if id.is_empty() {
                let mut jobs = service.jobs.lock().expect("jobs");
                let finished: Vec<String> = jobs
                    .iter()
                    .filter(|(_, s)| matches!(s, JobState::Done | JobState::Failed(_)))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in &finished {
                    jobs.remove(k);
                    let _ = std::fs::remove_file(service.results_dir.join(format!("{k}.json")));
                }
                finished.len()
            } else {
                let existed = service.jobs.lock().expect("jobs").remove(&id).is_some();
                let _ = std::fs::remove_file(service.results_dir.join(format!("{id}.json")));
                usize::from(existed)
            };
            answer(StatusCode::OK, &id, "deleted", json!(removed))
        }
        _ => answer(
            StatusCode::NOT_FOUND,
            "",
            "error",
            json!(format!("no such endpoint: {} {path}", req.method())),
        ),
    }
}

fn results(service: &Service, id: &str, keep: bool) -> Reply {
    let state = service.jobs.lock().expect("jobs").get(id).cloned();
    match state {
        Some(JobState::Done) => {}
        Some(JobState::Failed(e)) => return answer(StatusCode::OK, id, "error", json!(e)),
        Some(_) => return answer(StatusCode::OK, id, "busy", json!("scanning")),
        None => {
            return answer(
                StatusCode::NOT_FOUND,
                id,
                "error",
                json!(format!("no results for id {id}")),
            )
        }
    }
    let path = service.results_dir.join(format!("{id}.json"));
    let report = match std::fs::read(&path) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                id,
                "error",
                json!(format!("report {}: {e}", path.display())),
            )
        }
    };
    if !keep {
        service.jobs.lock().expect("jobs").remove(id);
        let _ = std::fs::remove_file(&path);
    }
    // The report is inlined without being parsed: it can be large.
    let mut body = format!(r#"{{"id":"{id}","type":"v1results","response":"#).into_bytes();
    body.extend_from_slice(&report);
    body.push(b'}');
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

fn worker_loop(service: Arc<Service>, rx: Receiver<Job>) {
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Made on the first publication and kept: every scan publishes with the same credentials.
    let mut client: Option<kube::Client> = None;
    while let Ok(job) = rx.recv() {
        service
            .jobs
            .lock()
            .expect("jobs")
            .insert(job.id.clone(), JobState::Running);
        let span = tracing::info_span!("scan", jobId = %job.id, parentId = %job.parent);
        let _enter = span.enter();
        let started = std::time::Instant::now();
        let outcome = run_scan(&service, &job).and_then(|report| {
            if service.args.no_storage || job.request.is_deleted_scan_object {
                return Ok(0);
            }
            let c = match &client {
                Some(c) => c.clone(),
                None => {
                    let c = client_runtime.block_on(crate::http_service::kube_client(
                        service.args.kube_context.as_deref(),
                    ))?;
                    client.insert(c).clone()
                }
            };
            client_runtime.block_on(publish(&service.args, &c, &report))
        });
        let state = match outcome {
            Ok(published) => {
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    published,
                    "scan finished"
                );
                service
                    .metrics
                    .inc("kubescape_scans_total", "outcome=\"done\"".into());
                if let Some(url) = &service.args.report_url {
                    if job.request.submit != Some(false) {
                        send_report(&service, url, &job.id);
                    }
                }
                JobState::Done
            }
            Err(e) => {
                service
                    .metrics
                    .inc("kubescape_scans_total", "outcome=\"failed\"".into());
                tracing::error!(error = %format!("{e:#}"), "scan failed");
                JobState::Failed(format!("{e:#}"))
            }
        };
        if let Some(s) = service.jobs.lock().expect("jobs").get_mut(&job.id) {
            *s = state;
        }
        service.done.send_modify(|n| *n += 1);
    }
}

/// POSTs a finished report to `--report-url`, streamed from its file, retried a few times; a
/// failure is logged and the report stays available from `/v1/results`.
fn send_report(service: &Service, url: &str, id: &str) {
    let path = service.results_dir.join(format!("{id}.json"));
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(120))
        .build();
    for attempt in 1..=3 {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the report to send it");
                return;
            }
        };
        let mut request = agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("X-Job-ID", id);
        for h in &service.args.report_headers {
            if let Some((name, value)) = h.split_once(':') {
                request = request.set(name.trim(), value.trim());
            }
        }
        match request.send(std::io::BufReader::new(file)) {
            Ok(r) => {
                tracing::info!(url, status = r.status(), "report sent");
                return;
            }
            Err(e) => {
                tracing::warn!(url, attempt, error = %e, "sending the report failed");
                std::thread::sleep(std::time::Duration::from_secs(2 * attempt));
            }
        }
    }
}

/// Runs the scan as a child process and returns the report's path.
fn run_scan(service: &Service, job: &Job) -> Result<PathBuf> {
    let r = &job.request;
    let out = service.results_dir.join(format!("{}.json", job.id));
    let exe = std::env::current_exe().context("cannot find this program to run the scan")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("scan");
    let names = if r.target_names.is_empty() {
        "allcontrols,nsa,mitre".to_string()
    } else {
        r.target_names.join(",")
    };
    cmd.arg(if r.target_type == "control" {
        "control"
    } else {
        "framework"
    })
    .arg(names);
    let object_file;
    if let Some(obj) = &r.scan_object {
        // One object (the continuous scan of a changed workload): scanned as a manifest.
        object_file = service.results_dir.join(format!("{}.object.json", job.id));
        std::fs::write(&object_file, obj.to_string())?;
        cmd.arg(&object_file);
    } else if let Some(ctx) = &service.args.kube_context {
        cmd.args(["--kube-context", ctx]);
    }
    if !r.include_namespaces.is_empty() {
        cmd.arg("--include-namespaces")
            .arg(r.include_namespaces.join(","));
    }
    if !r.excluded_namespaces.is_empty() {
        cmd.arg("--exclude-namespaces")
            .arg(r.excluded_namespaces.join(","));
    }
    if !r.exceptions.is_empty() {
        let p = service
            .results_dir
            .join(format!("{}.exceptions.json", job.id));
        std::fs::write(&p, Value::Array(r.exceptions.clone()).to_string())?;
        cmd.arg("--exceptions").arg(p);
    }
    cmd.args(["--format", "json", "--output"]).arg(&out);
    cmd.env("KUBESCAPE_LOG", "warn");
    let result = cmd.output().context("cannot start the scan process")?;
    if let Some(obj) = r
        .scan_object
        .as_ref()
        .map(|_| service.results_dir.join(format!("{}.object.json", job.id)))
    {
        let _ = std::fs::remove_file(obj);
    }
    // Exit code 1 means "controls failed", which is a finished scan.
    if !out.is_file() || !matches!(result.status.code(), Some(0 | 1)) {
        anyhow::bail!(
            "the scan ended with {}: {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(out)
}

/// The part of the JSON report publishing needs besides the results; the results are skipped
/// unread in this pass and streamed in the next ([`stream_results`]).
#[derive(Deserialize)]
struct ReportHead {
    #[serde(rename = "summaryDetails")]
    summary: LeanSummary,
}

#[derive(Deserialize)]
struct LeanSummary {
    controls: BTreeMap<String, LeanControl>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanControl {
    #[serde(default)]
    score_factor: f64,
}

/// Calls `each` with every element of the report's `results`, parsed one at a time; stops
/// (with an error) when `each` returns false.
fn stream_results(path: &std::path::Path, each: impl FnMut(ResourceResult) -> bool) -> Result<()> {
    use serde::de::{DeserializeSeed, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
    struct Top<F>(F);
    struct Results<'a, F>(&'a mut F);
    impl<'de, F: FnMut(ResourceResult) -> bool> Visitor<'de> for Top<F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON report object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "results" {
                    map.next_value_seed(Results(&mut self.0))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    impl<'de, F: FnMut(ResourceResult) -> bool> DeserializeSeed<'de> for Results<'_, F> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, F: FnMut(ResourceResult) -> bool> Visitor<'de> for Results<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the results array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(r) = seq.next_element::<ResourceResult>()? {
                if !(self.0)(r) {
                    return Err(A::Error::custom("publication stopped"));
                }
            }
            Ok(())
        }
    }
    let file = std::fs::File::open(path)?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
    serde::Deserializer::deserialize_map(&mut de, Top(each))?;
    Ok(())
}

/// `<group>/<version>/<namespace>/<Kind>/<name>` of a Kubernetes object (RBAC subjects and
/// other pseudo-resources do not have all five parts).
fn workload_of(resource_id: &str) -> Option<(String, String, String, String, String)> {
    // A single object sent with the request is scanned as a manifest: `path=<hash>/api=<id>`.
    let resource_id = match resource_id.strip_prefix("path=") {
        Some(rest) => rest.split_once("/api=")?.1,
        None => resource_id,
    };
    let parts: Vec<&str> = resource_id.splitn(5, '/').collect();
    let [group, version, namespace, kind, name] = parts.as_slice() else {
        return None;
    };
    if version.is_empty() || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some((
        group.to_string(),
        version.to_string(),
        namespace.to_string(),
        kind.to_string(),
        name.to_string(),
    ))
}

/// Object name of a workload's scan: `<kind>-<name>`, lowercase, as upstream.
pub(crate) fn scan_name(kind: &str, name: &str) -> String {
    let raw = format!(
        "{}-{}",
        kind.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    );
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // A Kubernetes name starts and ends alphanumeric (the APIService of the core group is
    // named `v1.`) and has at most 253 characters; a shortened name keeps a hash of the full
    // one so that different objects stay apart.
    let trimmed = mapped.trim_matches(['-', '.']);
    if trimmed.len() <= 253 {
        return trimmed.to_string();
    }
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(raw.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let head = trimmed[..240].trim_end_matches(['-', '.']);
    format!("{head}-{hash}")
}

async fn publish(
    args: &KubescapeArgs,
    client: &kube::Client,
    report_path: &PathBuf,
) -> Result<usize> {
    // Two passes over the file rather than the whole report in memory: a 10,000-object report
    // parsed at once holds every control result of every resource (about 500 MiB), while
    // streamed it holds one resource's at a time.
    let file = std::fs::File::open(report_path)?;
    let report: ReportHead = serde_json::from_reader(std::io::BufReader::new(file))
        .with_context(|| format!("cannot read the report {}", report_path.display()))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ResourceResult>(16);
    let path = report_path.clone();
    let parser = std::thread::Builder::new()
        .name("report-reader".into())
        .spawn(move || stream_results(&path, |r| tx.blocking_send(r).is_ok()))?;
    let mut published = 0;
    let mut failed = 0;
    while let Some(result) = rx.recv().await {
        let result = &result;
        let Some((group, version, namespace, kind, name)) = workload_of(&result.resource_id) else {
            continue;
        };
        let ns = if namespace.is_empty() {
            args.namespace.clone()
        } else {
            namespace.clone()
        };
        let object_name = scan_name(&kind, &name);
        let labels = json!({
            "kubescape.io/workload-api-group": group,
            "kubescape.io/workload-api-version": version,
            "kubescape.io/workload-kind": kind,
            "kubescape.io/workload-name": name,
            "kubescape.io/workload-namespace": namespace,
        });
        let mut controls = serde_json::Map::new();
        let mut summary_controls = serde_json::Map::new();
        let mut severities: BTreeMap<&str, u64> = ["critical", "high", "medium", "low", "unknown"]
            .iter()
            .map(|s| (*s, 0))
            .collect();
        for c in &result.controls {
            let score_factor = report
                .summary
                .controls
                .get(&c.control_id)
                .map_or(0.0, |s| s.score_factor);
            let status = serde_json::to_value(&c.status).unwrap_or(Value::Null);
            controls.insert(
                c.control_id.clone(),
                json!({
                    "controlID": c.control_id,
                    "name": c.name,
                    "severity": {"severity": c.severity, "scoreFactor": score_factor},
                    "status": status,
                    "rules": c.rules,
                }),
            );
            summary_controls.insert(
                c.control_id.clone(),
                json!({"controlID": c.control_id, "status": status}),
            );
            if status["status"] == "failed" {
                let key = match c.severity.to_ascii_lowercase().as_str() {
                    "critical" => "critical",
                    "high" => "high",
                    "medium" => "medium",
                    "low" => "low",
                    _ => "unknown",
                };
                *severities.entry(key).or_default() += 1;
            }
        }
        let scan = json!({
            "apiVersion": format!("{GROUP}/{VERSION}"), "kind": "WorkloadConfigurationScan",
            "metadata": {"name": object_name, "namespace": ns, "labels": labels},
            "spec": {"controls": controls, "relatedObjects": []},
        });
        let summary = json!({
            "apiVersion": format!("{GROUP}/{VERSION}"), "kind": "WorkloadConfigurationScanSummary",
            "metadata": {"name": object_name, "namespace": ns, "labels": labels},
            "spec": {"severities": severities, "controls": summary_controls},
        });
        // One object that cannot be stored must not cost the others their results.
        let stored = async {
            upsert(
                client,
                "workloadconfigurationscans",
                "WorkloadConfigurationScan",
                &ns,
                scan,
            )
            .await?;
            upsert(
                client,
                "workloadconfigurationscansummaries",
                "WorkloadConfigurationScanSummary",
                &ns,
                summary,
            )
            .await
        };
        match stored.await {
            Ok(()) => published += 1,
            Err(e) => {
                failed += 1;
                tracing::warn!(error = %format!("{e:#}"), resource = %result.resource_id, "cannot publish a workload's results");
            }
        }
    }
    parser
        .join()
        .map_err(|_| anyhow::anyhow!("the report reader panicked"))?
        .with_context(|| format!("cannot read the report {}", report_path.display()))?;
    if failed > 0 && published == 0 {
        anyhow::bail!(
            "none of the {failed} workloads' results could be stored (see the warnings above)"
        );
    }
    if failed > 0 {
        tracing::warn!(
            published,
            failed,
            "some workloads' results could not be stored"
        );
    }
    Ok(published)
}

/// Creates the object, or replaces the stored one of that name.
pub(crate) async fn upsert(
    client: &kube::Client,
    plural: &str,
    kind: &str,
    namespace: &str,
    object: Value,
) -> Result<()> {
    use kube::api::{Api, DynamicObject, PostParams};
    let gvk = kube::api::GroupVersionKind::gvk(GROUP, VERSION, kind);
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let mut obj: DynamicObject = serde_json::from_value(object)?;
    let name = obj.metadata.name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            // Metadata only (PartialObjectMetadata): the stored object may be many MB.
            let current = api
                .get_metadata(&name)
                .await
                .with_context(|| format!("cannot read {plural}/{name} in {namespace}"))?;
            obj.metadata.resource_version = current.metadata.resource_version;
            api.replace(&name, &PostParams::default(), &obj)
                .await
                .with_context(|| format!("cannot update {plural}/{name} in {namespace}"))?;
            Ok(())
        }
        Err(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("cannot store {plural}/{name} in {namespace}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_streamed_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(
            &path,
            r#"{"summaryDetails": {"controls": {}}, "results": [
                {"resourceID": "apps/v1/a/Deployment/x", "controls": []},
                {"resourceID": "/v1/a/Pod/y", "controls": []},
                {"resourceID": "/v1/a/Pod/z", "controls": []}
            ], "metadata": {"ignored": [1, 2, 3]}}"#,
        )
        .unwrap();
        let mut seen = Vec::new();
        stream_results(&path, |r| {
            seen.push(r.resource_id);
            true
        })
        .unwrap();
        assert_eq!(
            seen,
            ["apps/v1/a/Deployment/x", "/v1/a/Pod/y", "/v1/a/Pod/z"]
        );
        // A consumer that stops ends the reading with an error, not a silent partial success.
        let mut count = 0;
        let err = stream_results(&path, |_| {
            count += 1;
            count < 2
        })
        .unwrap_err();
        assert!(err.to_string().contains("publication stopped"), "{err}");
        assert_eq!(count, 2);
    }

    #[test]
    fn workload_ids_and_names() {
        assert_eq!(
            workload_of("apps/v1/shop/Deployment/web"),
            Some((
                "apps".into(),
                "v1".into(),
                "shop".into(),
                "Deployment".into(),
                "web".into()
            ))
        );
        assert_eq!(workload_of("rbac.authorization.k8s.io///User/alice"), None);
        assert_eq!(
            workload_of("path=123/api=apps/v1/shop/Deployment/web").map(|w| w.4),
            Some("web".into())
        );
        assert_eq!(scan_name("Deployment", "Web_1"), "deployment-web-1");
        assert_eq!(scan_name("APIService", "v1."), "apiservice-v1");
        let long = scan_name("ConfigMap", &"x".repeat(300));
        assert!(long.len() <= 253 && long.ends_with(|c: char| c.is_ascii_alphanumeric()));
        assert_ne!(long, scan_name("ConfigMap", &"x".repeat(301)));
    }
}
