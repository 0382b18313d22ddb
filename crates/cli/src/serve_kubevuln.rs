//! `kubescape serve kubevuln`: the image vulnerability service. Upstream's REST API
//! (`/v1/scanImage`, `/v1/sbomCreation`, `/v1/scanRegistryImage`, `/v1/scanStatus/<jobID>`,
//! `/v1/liveness`, `/v1/readiness`); requests are answered at once and worked from a bounded
//! queue (429 when full), one image at a time so memory stays that of one scan.
//!
//! Per image: a stored VulnerabilityManifest from this scanner and this database is reused
//! as is; else a stored SBOM of the same digest is matched again; else the image is pulled and
//! cataloged by a child process (`kubescape sbom`, stopped after `--scan-timeout`), whose memory
//! goes back to the system when it ends. Results go to storage: SBOMSyft, VulnerabilityManifest and the OpenVEX document
//! per image (named by an image slug, in the platform namespace), and a
//! VulnerabilityManifestSummary per workload container.
//!
//! Unlike upstream, scan requests are authenticated (ServiceAccount bearer token + allow-list,
//! as the operator's triggerAction): a scan request makes this service pull from registries
//! with the credentials it carries.

use crate::http_service::{reply, Reply};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use hyper::{Method, Request, StatusCode};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kubescape_apiserver::auth::Auth;
use kubescape_image::{Credentials, Image, OpenOptions, RegistryOptions};
use kubescape_vulndb::Database;
use kubescape_vulnscan::{DbVersion, Filter};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

const GROUP: &str = "spdx.softwarecomposition.kubescape.io";
const VERSION: &str = "v1beta1";
/// Finished jobs whose status can still be asked for.
const KEPT_JOBS: usize = 1000;

#[derive(Args)]
pub struct KubevulnArgs {
    /// Port of the REST API
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: String,
    /// Namespace of the platform: image SBOMs, manifests and VEX documents are stored there
    #[arg(long, env = "NAMESPACE", default_value = "kubescape")]
    pub namespace: String,
    /// Kubeconfig context (default: in-cluster credentials or the current context)
    #[arg(long)]
    pub kube_context: Option<String>,
    /// Vulnerability database [default: $KUBESCAPE_VULNDB or ~/.cache/kubescape/vulndb.json.gz]
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Listing URL to build and refresh the database from (see `kubescape vulndb update`);
    /// without it the database file is reloaded whenever it changes
    #[arg(long, env = "KUBESCAPE_VULNDB_LISTING", value_name = "URL")]
    pub db_listing: Option<String>,
    /// Hours between database refreshes
    #[arg(long, default_value_t = 24)]
    pub db_refresh_hours: u64,
    /// Refuse to scan with a database built longer ago than this many hours
    #[arg(long)]
    pub db_max_age_hours: Option<u64>,
    /// Scans that may wait; more get 429
    #[arg(long, default_value_t = 50)]
    pub queue_capacity: usize,
    /// Largest image to scan: bytes, or with a KiB/MiB/GiB suffix (0 = no limit)
    #[arg(long, default_value = "5GiB", value_parser = crate::sbom::parse_size)]
    pub max_image_size: u64,
    /// Seconds one image may take to pull and catalog before its scan is stopped
    #[arg(long, default_value_t = 300)]
    pub scan_timeout: u64,
    /// Largest SBOM stored; a larger one is marked too-large (the image is still matched)
    #[arg(long, default_value = "20MiB", value_parser = crate::sbom::parse_size)]
    pub max_sbom_size: u64,
    /// Registries reached over plain HTTP or with unverified certificates (host[:port])
    #[arg(long, value_delimiter = ',')]
    pub insecure_registries: Vec<String>,
    /// Docker config JSON with registry credentials tried for every image (the chart mounts
    /// the registry-credentials Secret here)
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Identities allowed to request scans (user names as TokenReview reports them; a trailing
    /// `*` matches a prefix) [default: the ServiceAccounts of --namespace]
    #[arg(long, value_delimiter = ',')]
    pub allowed_users: Vec<String>,
}

/// A registry credential as upstream's operator sends it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct RegistryCredential {
    username: String,
    password: String,
    auth: String,
    registrytoken: String,
    serveraddress: String,
}

/// The body of the scan endpoints, with upstream's field names.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ScanCommand {
    image_tag: String,
    image_hash: String,
    wlid: String,
    container_name: String,
    #[serde(rename = "instanceID")]
    instance_id: String,
    #[serde(rename = "jobID")]
    job_id: String,
    #[serde(rename = "parentJobID")]
    parent_job_id: String,
    credentialslist: Vec<RegistryCredential>,
    args: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JobKind {
    /// SBOM + matching, results tied to a workload container when `wlid` is given
    Scan,
    /// SBOM only
    Sbom,
}

struct Job {
    kind: JobKind,
    command: ScanCommand,
}

#[derive(Debug, Clone)]
enum JobState {
    Queued,
    Running,
    Done(String),
    Failed(String),
}

#[derive(Default)]
struct JobTable {
    states: BTreeMap<String, (JobState, String)>,
    finished: VecDeque<String>,
}

impl JobTable {
    fn set(&mut self, id: &str, state: JobState, image: &str) {
        let done = matches!(state, JobState::Done(_) | JobState::Failed(_));
        self.states
            .insert(id.to_string(), (state, image.to_string()));
        if done {
            self.finished.push_back(id.to_string());
            while self.finished.len() > KEPT_JOBS {
                if let Some(old) = self.finished.pop_front() {
                    self.states.remove(&old);
                }
            }
        }
    }
}

struct Kubevuln {
    args: KubevulnArgs,
    db_path: PathBuf,
    auth: Auth,
    allowed: Vec<String>,
    client: kube::Client,
    runtime: tokio::runtime::Handle,
    db: RwLock<Option<Arc<Database>>>,
    jobs: Mutex<JobTable>,
    queue: SyncSender<Job>,
    metrics: crate::service_metrics::Metrics,
}

pub fn run(args: KubevulnArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = rt.block_on(crate::http_service::kube_client(
        args.kube_context.as_deref(),
    ))?;
    let allowed = if args.allowed_users.is_empty() {
        vec![format!("system:serviceaccount:{}:*", args.namespace)]
    } else {
        args.allowed_users.clone()
    };
    let (queue, rx) = sync_channel(args.queue_capacity.max(1));
    let service = Arc::new(Kubevuln {
        db_path: crate::vulndb::db_path(args.db.as_ref()),
        auth: Auth::new(false, false, None, None, Some(client.clone()), None),
        allowed,
        client,
        runtime: rt.handle().clone(),
        db: RwLock::new(None),
        jobs: Mutex::new(JobTable::default()),
        queue,
        metrics: crate::service_metrics::Metrics::new(&[
            (
                "kubevuln_scans_total",
                "Finished jobs by endpoint kind (scan, sbom) and outcome (done, failed).",
            ),
            (
                "kubevuln_requests_refused_total",
                "Scan requests refused because the queue was full.",
            ),
        ]),
        args,
    });
    let keeper = service.clone();
    std::thread::Builder::new()
        .name("vulndb".into())
        .spawn(move || keep_database(&keeper))?;
    let worker = service.clone();
    std::thread::Builder::new()
        .name("image-scan".into())
        .spawn(move || worker_loop(&worker, rx))?;
    rt.block_on(async move {
        let addr = format!("{}:{}", service.args.bind_address, service.args.port);
        tracing::info!(db = %service.db_path.display(), allowed = ?service.allowed, "kubevuln starting");
        crate::http_service::serve(&addr, service, handle).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the database, then keeps it fresh: rebuilt from the listing every
/// `--db-refresh-hours` when one is configured, else reloaded whenever the file changes (an
/// external job may replace it; replacement is atomic). Readiness waits for the first load.
fn keep_database(svc: &Kubevuln) {
    let max_age = svc
        .args
        .db_max_age_hours
        .map(|h| Duration::from_secs(h * 3600));
    let refresh = Duration::from_secs(svc.args.db_refresh_hours.max(1) * 3600);
    let mut loaded_mtime: Option<SystemTime> = None;
    let mut last_update: Option<Instant> = None;
    loop {
        let have = svc.db.read().expect("db lock").is_some();
        let update_due = svc.args.db_listing.is_some()
            && (last_update.is_none_or(|t| t.elapsed() >= refresh)
                || (!have && !svc.db_path.exists()));
        if update_due {
            let listing = svc.args.db_listing.as_deref().unwrap_or_default();
            match crate::vulndb::update_database(&svc.db_path, listing) {
                Ok(db) => {
                    loaded_mtime = mtime(&svc.db_path);
                    tracing::info!(records = db.metadata.records, built = %db.metadata.built, "vulnerability database refreshed");
                    *svc.db.write().expect("db lock") = Some(Arc::new(db));
                }
                Err(e) => {
                    tracing::error!(listing, error = %format!("{e:#}"), "vulnerability database refresh failed; keeping the current one")
                }
            }
            last_update = Some(Instant::now());
        }
        let current = mtime(&svc.db_path);
        if current.is_some() && current != loaded_mtime {
            match Database::load(&svc.db_path, max_age) {
                Ok(db) => {
                    tracing::info!(db = %svc.db_path.display(), records = db.metadata.records, built = %db.metadata.built, "vulnerability database loaded");
                    *svc.db.write().expect("db lock") = Some(Arc::new(db));
                    loaded_mtime = current;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the vulnerability database; not ready")
                }
            }
        } else if current.is_none() && !have && svc.args.db_listing.is_none() {
            tracing::warn!(db = %svc.db_path.display(), "no vulnerability database yet (pass --db-listing, or place one at this path); not ready");
        }
        // Until a database is there, look often: readiness waits on it.
        let loaded = svc.db.read().expect("db lock").is_some();
        std::thread::sleep(Duration::from_secs(if loaded { 30 } else { 2 }));
    }
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

async fn handle(svc: Arc<Kubevuln>, req: Request<hyper::body::Incoming>) -> Reply {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let method = req.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET, "/v1/liveness" | "/livez") => reply(StatusCode::OK, json!({"status": "ok"})),
        (&Method::GET, "/metrics") => {
            let queued = svc
                .jobs
                .lock()
                .expect("jobs lock")
                .states
                .values()
                .filter(|(s, _)| matches!(s, JobState::Queued))
                .count() as f64;
            let (records, built) = match svc.db.read().expect("db lock").as_ref() {
                Some(db) => (
                    db.metadata.records as f64,
                    chrono::DateTime::parse_from_rfc3339(&db.metadata.built)
                        .map_or(0.0, |t| t.timestamp() as f64),
                ),
                None => (0.0, 0.0),
            };
            use crate::service_metrics::Gauge;
            crate::service_metrics::reply(svc.metrics.render(&[
                Gauge {
                    name: "kubevuln_jobs_queued",
                    help: "Jobs waiting in the queue.",
                    value: queued,
                },
                Gauge {
                    name: "kubevuln_database_records",
                    help: "Records of the loaded vulnerability database (0: none loaded).",
                    value: records,
                },
                Gauge {
                    name: "kubevuln_database_built_timestamp_seconds",
                    help: "Build time of the loaded database (unix seconds).",
                    value: built,
                },
            ]))
        }
        (&Method::GET, "/v1/readiness" | "/readyz") => {
            match svc.db.read().expect("db lock").as_ref() {
                Some(db) => reply(
                    StatusCode::OK,
                    json!({"status": "ready", "database": {"built": db.metadata.built, "records": db.metadata.records}}),
                ),
                None => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"status": "not ready", "reason": "the vulnerability database is not loaded yet"}),
                ),
            }
        }
        (&Method::GET, p) if p.starts_with("/v1/scanStatus/") => {
            if let Err(refusal) =
                crate::http_service::authorize(&svc.auth, &svc.allowed, req.headers()).await
            {
                return refusal;
            }
            let id = &p["/v1/scanStatus/".len()..];
            match svc.jobs.lock().expect("jobs lock").states.get(id) {
                Some((state, image)) => {
                    let (status, detail) = match state {
                        JobState::Queued => ("queued", String::new()),
                        JobState::Running => ("running", String::new()),
                        JobState::Done(d) => ("done", d.clone()),
                        JobState::Failed(e) => ("failed", e.clone()),
                    };
                    reply(
                        StatusCode::OK,
                        json!({"jobID": id, "imageTag": image, "status": status, "detail": detail}),
                    )
                }
                None => reply(
                    StatusCode::NOT_FOUND,
                    json!({"error": format!("no job {id:?} (unknown, or finished long ago)")}),
                ),
            }
        }
        (&Method::POST, "/v1/scanImage" | "/v1/scanRegistryImage" | "/v1/sbomCreation") => {
            if let Err(refusal) =
                crate::http_service::authorize(&svc.auth, &svc.allowed, req.headers()).await
            {
                return refusal;
            }
            let kind = if path == "/v1/sbomCreation" {
                JobKind::Sbom
            } else {
                JobKind::Scan
            };
            let body = match crate::http_service::body(req).await {
                Ok(b) => b,
                Err(refusal) => return refusal,
            };
            let mut command: ScanCommand = match serde_json::from_slice(&body) {
                Ok(c) => c,
                Err(e) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("the body is not a scan command ({e}); expected {{\"imageTag\", \"imageHash\", \"wlid\", \"containerName\", \"jobID\", ...}}")}),
                    )
                }
            };
            if command.image_tag.is_empty() {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "imageTag is required (the image reference to scan)"}),
                );
            }
            if path == "/v1/scanRegistryImage" {
                // A registry image belongs to no workload.
                command.wlid.clear();
            }
            if command.job_id.is_empty() {
                command.job_id = uuid::Uuid::new_v4().to_string();
            }
            let id = command.job_id.clone();
            let image = command.image_tag.clone();
            svc.jobs
                .lock()
                .expect("jobs lock")
                .set(&id, JobState::Queued, &image);
            match svc.queue.try_send(Job { kind, command }) {
                Ok(()) => {
                    tracing::info!(jobId = %id, image = %image, endpoint = %path, "scan queued");
                    reply(StatusCode::OK, json!({"jobID": id, "status": "queued"}))
                }
                Err(TrySendError::Full(_)) => {
                    svc.jobs.lock().expect("jobs lock").states.remove(&id);
                    svc.metrics
                        .inc("kubevuln_requests_refused_total", String::new());
                    reply(
                        StatusCode::TOO_MANY_REQUESTS,
                        json!({"error": format!("the scan queue is full ({} waiting); retry later", svc.args.queue_capacity)}),
                    )
                }
                Err(TrySendError::Disconnected(_)) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "the scan worker has stopped"}),
                ),
            }
        }
        (&Method::POST, "/v1/applicationProfileScan") => reply(
            StatusCode::NOT_IMPLEMENTED,
            json!({"error": "relevancy scans need container profiles from the node agent, which this version does not run"}),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no such endpoint: {method} {path}")}),
        ),
    }
}

fn worker_loop(svc: &Kubevuln, rx: Receiver<Job>) {
    for job in rx {
        let id = job.command.job_id.clone();
        let image = job.command.image_tag.clone();
        let span = tracing::info_span!("scan", jobId = %id, parentId = %job.command.parent_job_id, image = %image);
        let _e = span.enter();
        svc.jobs
            .lock()
            .expect("jobs lock")
            .set(&id, JobState::Running, &image);
        let started = Instant::now();
        let kind = match job.kind {
            JobKind::Scan => "scan",
            JobKind::Sbom => "sbom",
        };
        let state = match process(svc, &job) {
            Ok(detail) => {
                svc.metrics.inc(
                    "kubevuln_scans_total",
                    format!("kind=\"{kind}\",outcome=\"done\""),
                );
                tracing::info!(seconds = started.elapsed().as_secs_f64(), %detail, "scan done");
                JobState::Done(detail)
            }
            Err(e) => {
                svc.metrics.inc(
                    "kubevuln_scans_total",
                    format!("kind=\"{kind}\",outcome=\"failed\""),
                );
                let e = format!("{e:#}");
                tracing::warn!(error = %e, "scan failed");
                JobState::Failed(e)
            }
        };
        svc.jobs.lock().expect("jobs lock").set(&id, state, &image);
    }
}

/// Where an image is pulled from: the exact digest the container runs when known.
fn pull_reference(tag: &str, hash: &str) -> (String, Option<String>) {
    let hash = hash
        .trim()
        .trim_start_matches("docker-pullable://")
        .trim_start_matches("docker://");
    // A bare `sha256:` (an image ID on some runtimes) names no manifest to pull.
    let digest = hash.rsplit_once('@').map(|(_, d)| d.to_string());
    match &digest {
        Some(d) if !tag.contains('@') => {
            let repo = strip_tag(tag);
            (format!("{repo}@{d}"), digest)
        }
        _ => (tag.to_string(), digest),
    }
}

/// `registry:5000/repo:tag` -> `registry:5000/repo` (a colon after the last slash is a tag).
fn strip_tag(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => &reference[..last_slash + i],
        None => reference,
    }
}

/// The registry host of a reference (Docker Hub when the first part is not a host).
fn registry_host(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// The name image-scoped objects get: readable (repository and tag) and unique per digest,
/// within the 253 characters of a Kubernetes name.
fn image_slug(tag: &str, digest: &str) -> String {
    let mut slug = String::new();
    for c in tag.split('@').next().unwrap_or(tag).chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let hex: String = digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect();
    let mut slug: String = slug.trim_matches(['-', '.']).chars().take(200).collect();
    while slug.ends_with(['-', '.']) {
        slug.pop();
    }
    if hex.is_empty() {
        slug
    } else {
        format!("{slug}-{hex}")
    }
}

/// The request's credentials for `host` (a matching serveraddress first, then one without an
/// address). Without them the image crate falls back to `--registry-config`.
fn credentials_for(host: &str, list: &[RegistryCredential]) -> Option<Credentials> {
    let decode = |c: &RegistryCredential| -> Option<Credentials> {
        if !c.username.is_empty() || !c.password.is_empty() {
            return Some(Credentials {
                username: c.username.clone(),
                password: c.password.clone(),
            });
        }
        if !c.auth.is_empty() {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(c.auth.trim())
                .ok()?;
            let text = String::from_utf8(raw).ok()?;
            let (u, p) = text.split_once(':')?;
            return Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            });
        }
        if !c.registrytoken.is_empty() {
            // Docker's identity tokens are sent as the password of the `<token>` user.
            return Some(Credentials {
                username: "<token>".to_string(),
                password: c.registrytoken.clone(),
            });
        }
        None
    };
    let server = |c: &RegistryCredential| {
        c.serveraddress
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    };
    list.iter()
        .filter(|c| server(c) == host)
        .chain(list.iter().filter(|c| c.serveraddress.is_empty()))
        .find_map(decode)
}

/// The workload a `wlid://cluster-<c>/namespace-<ns>/<kind>-<name>` names.
fn parse_wlid(wlid: &str) -> Option<(String, String, String)> {
    let rest = wlid.strip_prefix("wlid://")?;
    let mut namespace = None;
    let mut workload = None;
    for part in rest.split('/') {
        if let Some(ns) = part.strip_prefix("namespace-") {
            namespace = Some(ns.to_string());
        } else if !part.starts_with("cluster-") && !part.is_empty() {
            workload = Some(part);
        }
    }
    let (kind, name) = workload?.split_once('-')?;
    Some((namespace?, kind.to_ascii_lowercase(), name.to_string()))
}

/// The Kind a wlid's lower-case kind stands for (labels carry the Kind, as the posture
/// results' do).
fn canonical_kind(lower: &str) -> String {
    let known = [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "CronJob",
        "Job",
        "Pod",
    ];
    match known.iter().find(|k| k.eq_ignore_ascii_case(lower)) {
        Some(k) => k.to_string(),
        None => {
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, kind), plural)
}

fn process(svc: &Kubevuln, job: &Job) -> Result<String> {
    let cmd = &job.command;
    let db = svc
        .db
        .read()
        .expect("db lock")
        .clone()
        .ok_or_else(|| anyhow!("the vulnerability database is not loaded yet"))?;
    let (reference, known_digest) = pull_reference(&cmd.image_tag, &cmd.image_hash);
    let host = registry_host(&reference).to_string();
    let insecure = cmd.args.get("useHTTP").and_then(Value::as_bool) == Some(true)
        || cmd.args.get("skipTLSVerify").and_then(Value::as_bool) == Some(true)
        || svc.args.insecure_registries.contains(&host);
    let opts = OpenOptions {
        registry: RegistryOptions {
            credentials: credentials_for(&host, &cmd.credentialslist),
            insecure,
            docker_config: svc.args.registry_config.clone(),
        },
        platform: None,
        max_size: (svc.args.max_image_size > 0).then_some(svc.args.max_image_size),
    };
    let image = Image::open(&reference, &opts)
        .with_context(|| format!("cannot open the image {reference}"))?;
    let digest = image
        .metadata
        .manifest_digest
        .clone()
        .or(known_digest)
        .unwrap_or_default();
    // Only the manifest was read; the layers are the cataloging process's to pull.
    drop(image);
    let slug = image_slug(&cmd.image_tag, &digest);
    let ns = svc.args.namespace.as_str();
    let db_version = DbVersion::of(&db);
    let annotations = json!({
        "kubescape.io/image-id": digest,
        "kubescape.io/image-tag": cmd.image_tag,
        "kubescape.io/status": "completed",
        "kubescape.io/job-id": cmd.job_id,
    });

    if job.kind == JobKind::Scan {
        let stored: Option<Stored<StoredManifest>> =
            svc.read("vulnerabilitymanifests", ns, &slug)?;
        if let Some(m) =
            stored.filter(|m| kubescape_vulnscan::is_current(&m.spec.metadata.tool, &db_version))
        {
            let counts = severity_counts(
                m.spec
                    .payload
                    .matches
                    .iter()
                    .map(|m| m.vulnerability.severity.as_str()),
            );
            svc.write_summary(cmd, &slug, &digest, &counts)?;
            return Ok(format!(
                "{slug}: stored result of this scanner and database reused"
            ));
        }
    }

    let stored: Option<Stored<StoredSbom>> = svc.read("sbomsyfts", ns, &slug)?;
    let stored_sbom = stored.and_then(|s| {
        let tool = &s.spec.metadata.tool;
        let ours = tool["name"] == kubescape_sbom::TOOL_NAME
            && tool["version"] == kubescape_sbom::TOOL_VERSION;
        let complete = s.metadata.annotations.get("kubescape.io/status").map(String::as_str)
            == Some("completed");
        if !(ours && complete) {
            return None;
        }
        match s.spec.syft.into_catalog() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(sbom = %slug, error = %format!("{e:#}"), "stored SBOM unreadable; cataloging the image again");
                None
            }
        }
    });
    let (catalog, sbom_note) = match stored_sbom {
        Some(c) => (c, "stored SBOM reused"),
        None => {
            let started = Instant::now();
            let bytes = catalog_in_child(svc, &reference, &opts)?;
            let size = bytes.len() as u64;
            let catalog = serde_json::from_slice::<SyftLean>(&bytes)
                .context("the cataloging process wrote no valid Syft JSON")?
                .into_catalog()?;
            tracing::info!(
                packages = catalog.packages.len(),
                sbom_bytes = size,
                seconds = started.elapsed().as_secs_f64(),
                "image cataloged"
            );
            let mut sbom_annotations = annotations.clone();
            let too_large = svc.args.max_sbom_size > 0 && size > svc.args.max_sbom_size;
            if too_large {
                tracing::warn!(bytes = size, limit = svc.args.max_sbom_size, "SBOM larger than --max-sbom-size: stored as too-large, the image is still matched");
                sbom_annotations["kubescape.io/status"] = json!("too-large");
            }
            let metadata = json!({"name": slug, "namespace": ns, "annotations": sbom_annotations});
            let spec_metadata = json!({
                "tool": {"name": kubescape_sbom::TOOL_NAME, "version": kubescape_sbom::TOOL_VERSION},
                "report": {"createdAt": now()},
            });
            let syft: &[u8] = if too_large { b"{}" } else { &bytes };
            svc.put_sbom(ns, &slug, metadata, spec_metadata, syft)?;
            drop(bytes);
            (catalog, "SBOM made")
        }
    };
    if job.kind == JobKind::Sbom {
        return Ok(format!(
            "{slug}: {} packages ({sbom_note})",
            catalog.packages.len()
        ));
    }

    let result = kubescape_vulnscan::scan(catalog, &db, &Filter::default());
    let payload = kubescape_vulnscan::format::manifest(&result, &cmd.image_tag);
    let counts = severity_counts(
        payload["matches"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["vulnerability"]["severity"].as_str().unwrap_or_default()),
    );
    let found = result.matches.len();
    let vex = kubescape_vulnscan::format::openvex(&result, &cmd.image_tag, chrono::Utc::now());
    drop(result);
    svc.put(
        "vulnerabilitymanifests",
        "VulnerabilityManifest",
        ns,
        json!({
            "metadata": {"name": slug, "namespace": ns, "annotations": annotations},
            "spec": {
                "metadata": {
                    "withRelevancy": false,
                    "tool": {
                        "name": kubescape_vulnscan::SCANNER_NAME,
                        "version": kubescape_vulnscan::SCANNER_VERSION,
                        "databaseVersion": db_version.label(),
                    },
                    "report": {"createdAt": now()},
                },
                "payload": payload,
            },
        }),
    )?;
    let mut vex_object =
        json!({"metadata": {"name": slug, "namespace": ns, "annotations": annotations}});
    if let (Some(o), Value::Object(doc)) = (vex_object.as_object_mut(), vex) {
        o.insert("spec".into(), Value::Object(doc));
    }
    svc.put(
        "openvulnerabilityexchangecontainers",
        "OpenVulnerabilityExchangeContainer",
        ns,
        vex_object,
    )?;
    svc.write_summary(cmd, &slug, &digest, &counts)?;
    Ok(format!("{slug}: {found} vulnerabilities ({sbom_note})"))
}

/// A Syft JSON document read without the parts matching does not use: the `files` and
/// `artifactRelationships` lists (most of a large image's SBOM) are skipped unread instead of
/// becoming a JSON tree many times their size.
#[derive(Deserialize)]
struct SyftLean {
    artifacts: Option<Vec<Value>>,
    #[serde(default)]
    distro: Value,
    #[serde(default)]
    source: Value,
}

impl SyftLean {
    fn into_catalog(self) -> Result<kubescape_sbom::Catalog> {
        let artifacts = self
            .artifacts
            .context("not a Syft JSON document: no \"artifacts\" array")?;
        let doc = json!({"artifacts": artifacts, "distro": self.distro, "source": self.source});
        kubescape_sbom::format::from_syft(&doc).map_err(|e| anyhow!("{e}"))
    }
}

/// The parts of stored objects a scan reads back: annotations and the spec's parts below.
#[derive(Deserialize)]
struct Stored<S> {
    #[serde(default)]
    metadata: StoredMetadata,
    spec: S,
}

#[derive(Deserialize, Default)]
struct StoredMetadata {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct ToolMetadata {
    #[serde(default)]
    tool: Value,
}

#[derive(Deserialize)]
struct StoredSbom {
    #[serde(default)]
    metadata: ToolMetadata,
    syft: SyftLean,
}

#[derive(Deserialize)]
struct StoredManifest {
    #[serde(default)]
    metadata: ToolMetadata,
    #[serde(default)]
    payload: StoredMatches,
}

#[derive(Deserialize, Default)]
struct StoredMatches {
    #[serde(default)]
    matches: Vec<StoredMatch>,
}

#[derive(Deserialize)]
struct StoredMatch {
    vulnerability: StoredVulnerability,
}

#[derive(Deserialize)]
struct StoredVulnerability {
    #[serde(default)]
    severity: String,
}

/// Pulls and catalogs the image in a child process (`kubescape sbom`) and returns its Syft JSON.
/// The child's memory goes back to the system when it ends, so a large image does not leave
/// this long-running service holding it; and a scan past `--scan-timeout` is killed.
fn catalog_in_child(svc: &Kubevuln, reference: &str, opts: &OpenOptions) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory (TMPDIR)")?;
    let out = dir.path().join("sbom.json");
    let errors = dir.path().join("stderr");
    let exe = std::env::current_exe().context("cannot find this program to run the scan")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["sbom", reference, "--format", "syft-json", "--output"])
        .arg(&out)
        .arg("--max-image-size")
        .arg(opts.max_size.unwrap_or(0).to_string())
        .env("KUBESCAPE_LOG", "warn")
        .env_remove("KUBESCAPE_REGISTRY_USERNAME")
        .env_remove("KUBESCAPE_REGISTRY_PASSWORD")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&errors)?);
    if opts.registry.insecure {
        cmd.arg("--insecure");
    }
    if let Some(config) = &opts.registry.docker_config {
        cmd.arg("--docker-config").arg(config);
    }
    // Credentials go through the environment, not the command line other users can read.
    if let Some(c) = &opts.registry.credentials {
        cmd.env("KUBESCAPE_REGISTRY_USERNAME", &c.username)
            .env("KUBESCAPE_REGISTRY_PASSWORD", &c.password);
    }
    let mut child = cmd.spawn().context("cannot start the cataloging process")?;
    let deadline = Instant::now() + Duration::from_secs(svc.args.scan_timeout);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "pulling and cataloging {reference} took longer than {} s (--scan-timeout); stopped",
                svc.args.scan_timeout
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&errors).unwrap_or_default();
        let text = text.trim().trim_start_matches("error: ");
        bail!("cannot catalog {reference}: {text}");
    }
    std::fs::read(&out).with_context(|| format!("cannot read the SBOM of {reference}"))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Counts per severity (storage's lower-case keys) of the matches' severity words.
fn severity_counts<'a>(severities: impl Iterator<Item = &'a str>) -> BTreeMap<&'static str, u64> {
    let mut counts: BTreeMap<&'static str, u64> =
        ["critical", "high", "medium", "low", "negligible", "unknown"]
            .into_iter()
            .map(|s| (s, 0))
            .collect();
    for severity in severities {
        let key = match severity.to_ascii_lowercase().as_str() {
            "critical" => "critical",
            "high" => "high",
            "medium" => "medium",
            "low" => "low",
            "negligible" => "negligible",
            _ => "unknown",
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

impl Kubevuln {
    /// Reads the parts `T` names of a stored object, parsed straight from the response: a
    /// multi-MB SBOM or manifest never becomes a whole JSON tree here. `None` when it does not
    /// exist.
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Result<Option<T>> {
        let request = hyper::Request::get(format!(
            "/apis/{GROUP}/{VERSION}/namespaces/{ns}/{plural}/{name}"
        ))
        .body(Vec::new())
        .expect("valid request");
        match self.runtime.block_on(self.client.request::<T>(request)) {
            Ok(found) => Ok(Some(found)),
            Err(kube::Error::Api(e)) if e.code == 404 && e.reason == "NotFound" => Ok(None),
            // Any other 404 means the kind itself is not served.
            Err(kube::Error::Api(e)) if e.code == 404 => bail!(
                "the cluster does not serve {plural} ({GROUP}/{VERSION}): is storage registered and available? (kubectl get apiservice {VERSION}.{GROUP})"
            ),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("cannot read {plural}/{name} in {ns} from storage"))),
        }
    }

    fn put(&self, plural: &str, kind: &str, ns: &str, mut object: Value) -> Result<()> {
        object["apiVersion"] = json!(format!("{GROUP}/{VERSION}"));
        object["kind"] = json!(kind);
        self.runtime.block_on(crate::serve_kubescape::upsert(
            &self.client,
            plural,
            kind,
            ns,
            object,
        ))
    }

    /// Stores an SBOMSyft whose `spec.syft` is `syft`, the cataloging process's document as
    /// written: spliced into the request body rather than parsed and serialized again.
    fn put_sbom(
        &self,
        ns: &str,
        name: &str,
        mut metadata: Value,
        spec_metadata: Value,
        syft: &[u8],
    ) -> Result<()> {
        let collection = format!("/apis/{GROUP}/{VERSION}/namespaces/{ns}/sbomsyfts");
        let body = |metadata: &Value| -> Vec<u8> {
            let mut b = format!(
                "{{\"apiVersion\":\"{GROUP}/{VERSION}\",\"kind\":\"SBOMSyft\",\"metadata\":{metadata},\"spec\":{{\"metadata\":{spec_metadata},\"syft\":"
            )
            .into_bytes();
            b.extend_from_slice(syft);
            b.extend_from_slice(b"}}");
            b
        };
        let send = |method: &str, uri: String, body: Vec<u8>| {
            let request = hyper::Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(body)
                .expect("valid request");
            self.runtime.block_on(self.client.request_text(request))
        };
        match send("POST", collection.clone(), body(&metadata)) {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let api: Api<DynamicObject> = Api::namespaced_with(
                    self.client.clone(),
                    ns,
                    &resource("SBOMSyft", "sbomsyfts"),
                );
                let current = self
                    .runtime
                    .block_on(api.get_metadata(name))
                    .with_context(|| format!("cannot read sbomsyfts/{name} in {ns}"))?;
                metadata["resourceVersion"] = json!(current.metadata.resource_version);
                send("PUT", format!("{collection}/{name}"), body(&metadata))
                    .map(|_| ())
                    .with_context(|| format!("cannot update sbomsyfts/{name} in {ns}"))
            }
            Err(e) => {
                Err(anyhow::Error::new(e).context(format!("cannot store sbomsyfts/{name} in {ns}")))
            }
        }
    }

    /// The workload container's summary, pointing at the image's manifest.
    fn write_summary(
        &self,
        cmd: &ScanCommand,
        slug: &str,
        digest: &str,
        counts: &BTreeMap<&'static str, u64>,
    ) -> Result<()> {
        if cmd.wlid.is_empty() {
            return Ok(());
        }
        let Some((namespace, kind, name)) = parse_wlid(&cmd.wlid) else {
            bail!(
                "wlid {:?} is not wlid://cluster-<cluster>/namespace-<namespace>/<kind>-<name>",
                cmd.wlid
            );
        };
        let mut object_name = crate::serve_kubescape::scan_name(&kind, &name);
        if !cmd.container_name.is_empty() {
            object_name = format!(
                "{object_name}-{}",
                crate::serve_kubescape::scan_name("", &cmd.container_name).trim_start_matches('-')
            );
        }
        let severities: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(k, n)| (k.to_string(), json!({"all": n, "relevant": 0})))
            .collect();
        self.put(
            "vulnerabilitymanifestsummaries",
            "VulnerabilityManifestSummary",
            &namespace,
            json!({
                "metadata": {
                    "name": object_name,
                    "namespace": namespace,
                    "labels": {
                        "kubescape.io/workload-kind": canonical_kind(&kind),
                        "kubescape.io/workload-name": name,
                        "kubescape.io/workload-namespace": namespace,
                        "kubescape.io/workload-container-name": cmd.container_name,
                    },
                    "annotations": {
                        "kubescape.io/image-id": digest,
                        "kubescape.io/image-tag": cmd.image_tag,
                        "kubescape.io/wlid": cmd.wlid,
                        "kubescape.io/instance-id": cmd.instance_id,
                        "kubescape.io/status": "completed",
                    },
                },
                "spec": {
                    "severities": severities,
                    "vulnerabilitiesRef": {
                        "all": {"kind": "VulnerabilityManifest", "name": slug, "namespace": self.args.namespace},
                        "relevant": {"kind": "", "name": "", "namespace": ""},
                    },
                },
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_slugs_and_wlids() {
        assert_eq!(
            pull_reference(
                "localhost:5000/kit/python:3.11",
                "docker-pullable://localhost:5000/kit/python@sha256:abc"
            ),
            (
                "localhost:5000/kit/python@sha256:abc".to_string(),
                Some("sha256:abc".to_string())
            )
        );
        assert_eq!(
            pull_reference("nginx:1.25", "sha256:0123"),
            ("nginx:1.25".to_string(), None)
        );
        assert_eq!(strip_tag("localhost:5000/a/b:1"), "localhost:5000/a/b");
        assert_eq!(strip_tag("localhost:5000/a/b"), "localhost:5000/a/b");
        assert_eq!(registry_host("localhost:5000/a/b:1"), "localhost:5000");
        assert_eq!(registry_host("library/nginx"), "docker.io");
        assert_eq!(registry_host("quay.io/x/y"), "quay.io");
        assert_eq!(
            image_slug("localhost:5000/kit/Python:3.11", "sha256:0123456789abcdef"),
            "localhost-5000-kit-python-3.11-0123456789ab"
        );
        let long = format!("r.io/{}:1", "x".repeat(400));
        assert!(image_slug(&long, "sha256:ff").len() <= 253);
        assert_eq!(
            parse_wlid("wlid://cluster-kind/namespace-shop/deployment-web-api"),
            Some(("shop".into(), "deployment".into(), "web-api".into()))
        );
        assert_eq!(parse_wlid("cluster/x"), None);
        assert_eq!(canonical_kind("statefulset"), "StatefulSet");
        assert_eq!(canonical_kind("rollout"), "Rollout");
    }

    #[test]
    fn credentials_prefer_the_matching_server() {
        use base64::Engine;
        let list = vec![
            RegistryCredential {
                username: "other".into(),
                password: "x".into(),
                serveraddress: "quay.io".into(),
                ..Default::default()
            },
            RegistryCredential {
                auth: base64::engine::general_purpose::STANDARD.encode("me:secret"),
                serveraddress: "https://localhost:5000/".into(),
                ..Default::default()
            },
        ];
        let c = credentials_for("localhost:5000", &list).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("me", "secret"));
        assert!(credentials_for("docker.io", &list).is_none());
    }

    #[test]
    fn counts_by_severity() {
        let payload = json!({"matches": [
            {"vulnerability": {"severity": "High"}},
            {"vulnerability": {"severity": "High"}},
            {"vulnerability": {"severity": "Critical"}},
            {"vulnerability": {"severity": "whatever"}},
        ]});
        // As a stored manifest's payload is read back.
        let stored: StoredMatches = serde_json::from_value(payload).unwrap();
        let c = severity_counts(
            stored
                .matches
                .iter()
                .map(|m| m.vulnerability.severity.as_str()),
        );
        assert_eq!(
            (c["high"], c["critical"], c["unknown"], c["low"]),
            (2, 1, 1, 0)
        );
    }
}
