//! `kubescape serve operator`: command and control. `POST /v1/triggerAction` with upstream's
//! body, **authenticated** (upstream's endpoint is open to anything that reaches the pod):
//! a bearer token checked with a TokenReview, then an allow-list of identities. Commands run
//! with a jobId (and the parent's) on every log line and forwarded request.
//!
//! Commands: `kubescapeScan` (forwarded to the posture service), `scan` (the images of the
//! selected workloads, sent to kubevuln; see `operator_images`), and
//! `set/update/delete{Kubescape,VulnScan,RegistryScan}CronJob` (recurring scans as CronJob +
//! ConfigMap from the chart's template ConfigMaps), `scanRegistryV2` (a registry's repositories
//! and newest tags, each image sent to kubevuln). Watchers: new Pods' images, changed objects (continuous posture
//! scan), deleted workloads (their results removed). Commands also arrive as OperatorCommand
//! objects (`operator_commands`).

use crate::http_service::{reply, Reply};
use anyhow::{Context, Result};
use clap::Args;
use hyper::{Method, Request, StatusCode};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kubescape_apiserver::auth::Auth;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct OperatorArgs {
    /// Port of the REST API
    #[arg(long, default_value_t = 4002)]
    pub port: u16,
    /// Address to listen on
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: String,
    /// Namespace of the platform (CronJobs and their ConfigMaps are created there)
    #[arg(long, env = "NAMESPACE", default_value = "kubescape")]
    pub namespace: String,
    /// The posture service
    #[arg(long, default_value = "http://kubescape:8080")]
    pub kubescape_url: String,
    /// Identities allowed to trigger actions (user names as TokenReview reports them; a trailing
    /// `*` matches a prefix) [default: the ServiceAccounts of --namespace]
    #[arg(long, value_delimiter = ',')]
    pub allowed_users: Vec<String>,
    /// Kubeconfig context (default: in-cluster credentials or the current context)
    #[arg(long)]
    pub kube_context: Option<String>,
    /// Do not delete a workload's scan results from storage when the workload is deleted
    #[arg(long)]
    pub no_cleanup: bool,
    /// Do not run the posture scan of allcontrols, nsa and mitre at start
    #[arg(long)]
    pub no_startup_scan: bool,
    /// Continuous posture scanning: a JSON file with the objects to rescan when they change,
    /// `{"match":[{"apiGroups":["apps"],"apiVersions":["v1"],"resources":["deployments"]}],"namespaces":["default"]}`
    #[arg(long, value_name = "FILE")]
    pub continuous_scan_config: Option<std::path::PathBuf>,
    /// The image vulnerability service
    #[arg(long, default_value = "http://kubevuln:8080")]
    pub kubevuln_url: String,
    /// Bearer token sent to kubevuln (it authenticates callers)
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )]
    pub token_file: std::path::PathBuf,
    /// Cluster name used in workload ids (wlid://cluster-<name>/...)
    #[arg(long, env = "CLUSTER_NAME", default_value = "cluster")]
    pub cluster_name: String,
    /// Do not scan the images of running Pods at start and of new Pods as they appear
    #[arg(long)]
    pub no_image_scan: bool,
    /// Seconds a Pod without an owner must exist before its images are scanned
    #[arg(long, default_value_t = 0)]
    pub naked_pod_guard_seconds: u64,
}

/// The continuous-scan matching rules (the chart's ConfigMap, mounted as a file).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ContinuousScanConfig {
    #[serde(rename = "match")]
    rules: Vec<MatchRule>,
    namespaces: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct MatchRule {
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    resources: Vec<String>,
}

pub(crate) struct Operator {
    args: OperatorArgs,
    images: Arc<crate::operator_images::ImageScans>,
    auth: Auth,
    pub(crate) client: kube::Client,
    allowed: Vec<String>,
    http: ureq::Agent,
    metrics: crate::service_metrics::Metrics,
}

pub fn run(args: OperatorArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let client = crate::http_service::kube_client(args.kube_context.as_deref()).await?;
        let allowed = if args.allowed_users.is_empty() {
            vec![format!("system:serviceaccount:{}:*", args.namespace)]
        } else {
            args.allowed_users.clone()
        };
        let images = Arc::new(crate::operator_images::ImageScans::new(
            client.clone(),
            args.kubevuln_url.clone(),
            args.token_file.exists().then(|| args.token_file.clone()),
            args.cluster_name.clone(),
            std::time::Duration::from_secs(args.naked_pod_guard_seconds),
        ));
        let operator = Arc::new(Operator {
            images,
            auth: Auth::new(false, false, None, None, Some(client.clone()), None),
            client,
            allowed,
            metrics: crate::service_metrics::Metrics::new(&[(
                "operator_commands_total",
                "Commands run (triggerAction and OperatorCommand) by name and outcome.",
            )]),
            http: ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(30))
                .build(),
            args,
        });
        if let Some(path) = &operator.args.continuous_scan_config {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read --continuous-scan-config {}", path.display()))?;
            let config: ContinuousScanConfig = serde_json::from_str(&text).with_context(|| {
                format!("--continuous-scan-config {} is not {{\"match\":[{{\"apiGroups\",\"apiVersions\",\"resources\"}}],\"namespaces\":[...]}}", path.display())
            })?;
            for rule in &config.rules {
                for group in &rule.api_groups {
                    for version in &rule.api_versions {
                        for resource in &rule.resources {
                            tokio::spawn(watch_changes(operator.clone(), group.clone(), version.clone(), resource.clone(), config.namespaces.clone()));
                        }
                    }
                }
            }
        }
        if !operator.args.no_startup_scan {
            tokio::spawn(startup_scan(operator.clone()));
        }
        tokio::spawn(crate::operator_commands::watch(
            operator.clone(),
            operator.args.namespace.clone(),
        ));
        if !operator.args.no_image_scan {
            tokio::spawn(operator.images.clone().watch_pods());
        }
        if !operator.args.no_cleanup {
            for kind in WATCHED {
                tokio::spawn(watch_deletions(operator.client.clone(), kind));
            }
        }
        serve(operator).await
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(op: Arc<Operator>) -> Result<()> {
    let addr = format!("{}:{}", op.args.bind_address, op.args.port);
    tracing::info!(allowed = ?op.allowed, "operator starting");
    crate::http_service::serve(&addr, op, handle).await
}

async fn handle(op: Arc<Operator>, req: Request<hyper::body::Incoming>) -> Reply {
    let path = req.uri().path().trim_end_matches('/').to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/livez" | "/readyz" | "/v1/liveness" | "/v1/readiness") => {
            reply(StatusCode::OK, json!({"status": "ok"}))
        }
        (Method::GET, "/metrics") => crate::service_metrics::reply(op.metrics.render(&[])),
        (Method::POST, "/v1/triggerAction") => {
            let user =
                match crate::http_service::authorize(&op.auth, &op.allowed, req.headers()).await {
                    Ok(u) => u,
                    Err(refusal) => return refusal,
                };
            let body = match crate::http_service::body(req).await {
                Ok(b) => b,
                Err(refusal) => return refusal,
            };
            let request: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("the body is not JSON: {e}")}),
                    )
                }
            };
            let Some(commands) = request["commands"].as_array() else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "expected {\"commands\": [...]}"}),
                );
            };
            let mut results = Vec::new();
            let mut status = StatusCode::OK;
            for command in commands {
                let job_id = command["jobTracking"]["jobID"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let parent_id = command["jobTracking"]["parentAction"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let name = command["commandName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let span = tracing::info_span!("command", jobId = %job_id, parentId = %parent_id, command = %name, user = %user);
                span.in_scope(|| tracing::info!("command received"));
                // Instrumented, not entered: a guard held across an await would tag other
                // tasks' log lines on this thread with this command's jobId.
                let outcome = tracing::Instrument::instrument(
                    execute(&op, &name, command, &job_id),
                    span.clone(),
                )
                .await;
                match outcome {
                    Ok(detail) => {
                        let _e = span.enter();
                        tracing::info!(%detail, "command done");
                        results.push(json!({"commandName": name, "jobID": job_id, "status": "ok", "detail": detail}));
                    }
                    Err((code, e)) => {
                        let _e = span.enter();
                        tracing::warn!(error = %e, "command failed");
                        status = code;
                        results.push(json!({"commandName": name, "jobID": job_id, "status": "error", "error": e}));
                    }
                }
            }
            reply(status, json!({"results": results}))
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no such endpoint: {} {path}", req.method())}),
        ),
    }
}

type CommandError = (StatusCode, String);

fn bad(msg: impl Into<String>) -> CommandError {
    (StatusCode::BAD_REQUEST, msg.into())
}

fn internal(e: impl std::fmt::Display) -> CommandError {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The posture scan request a kubescapeScan command stands for.
fn scan_request(command: &Value) -> Value {
    let scan = &command["args"]["scanV1"];
    let mut namespaces: Vec<Value> = Vec::new();
    for d in command["designators"].as_array().into_iter().flatten() {
        if let Some(ns) = d["attributes"]["namespace"].as_str() {
            namespaces.push(json!(ns));
        }
    }
    let mut body = json!({
        "targetType": scan["targetType"].as_str().unwrap_or("framework"),
        "targetNames": scan["targetNames"].as_array().cloned().unwrap_or_default(),
    });
    // Left out unless given: the posture service then sends the report to its --report-url.
    if let Some(submit) = scan["submit"].as_bool() {
        body["submit"] = json!(submit);
    }
    if !namespaces.is_empty() {
        body["includeNamespaces"] = json!(namespaces);
    }
    body
}

pub(crate) async fn execute(
    op: &Operator,
    name: &str,
    command: &Value,
    job_id: &str,
) -> Result<String, CommandError> {
    let outcome = run_command(op, name, command, job_id).await;
    // Only recognised command names become label values (every other name ends in the
    // "unknown commandName" refusal): a caller cannot grow the series.
    let unknown = name.is_empty()
        || matches!(&outcome, Err((StatusCode::BAD_REQUEST, m)) if m.starts_with("unknown commandName"));
    let label = if unknown { "unknown" } else { name };
    op.metrics.inc(
        "operator_commands_total",
        format!(
            "command=\"{label}\",outcome=\"{}\"",
            if outcome.is_ok() { "ok" } else { "error" }
        ),
    );
    outcome
}

async fn run_command(
    op: &Operator,
    name: &str,
    command: &Value,
    job_id: &str,
) -> Result<String, CommandError> {
    match name {
        "kubescapeScan" | "runKubescape" | "runKubescapeJob" => {
            let body = scan_request(command);
            let url = format!("{}/v1/scan", op.args.kubescape_url.trim_end_matches('/'));
            let http = op.http.clone();
            let job = job_id.to_string();
            tokio::task::spawn_blocking(move || {
                match http
                    .post(&url)
                    .set("Content-Type", "application/json")
                    .set("X-Job-ID", &job)
                    .send_string(&body.to_string())
                {
                    Ok(r) => {
                        let v: Value =
                            serde_json::from_reader(r.into_reader()).unwrap_or(Value::Null);
                        Ok(format!(
                            "posture scan {} queued",
                            v["id"].as_str().unwrap_or("?")
                        ))
                    }
                    Err(ureq::Error::Status(code, r)) => Err((
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "the posture service answered {code}: {}",
                            r.into_string().unwrap_or_default()
                        ),
                    )),
                    Err(e) => Err((
                        StatusCode::BAD_GATEWAY,
                        format!("the posture service is unreachable: {e}"),
                    )),
                }
            })
            .await
            .map_err(internal)?
        }
        "setKubescapeCronJob" => set_cronjob(op, command, &POSTURE_SCANS).await,
        "setVulnScanCronJob" => set_cronjob(op, command, &IMAGE_SCANS).await,
        "setRegistryScanCronJob" => set_cronjob(op, command, &REGISTRY_SCANS).await,
        "updateKubescapeCronJob" | "updateVulnScanCronJob" | "updateRegistryScanCronJob" => {
            update_cronjob(op, command).await
        }
        "deleteKubescapeCronJob" | "deleteVulnScanCronJob" | "deleteRegistryScanCronJob" => {
            delete_cronjob(op, command).await
        }
        "scan" => op.images.scan_command(command, job_id).await,
        "scanRegistry" | "scanRegistryV2" => op.images.scan_registry(command, job_id).await,
        "" => Err(bad("commandName is missing")),
        other => Err(bad(format!("unknown commandName {other:?}"))),
    }
}

/// CronJob is batch/v1 from Kubernetes 1.21, batch/v1beta1 before: ask the server.
async fn cronjob_resource(client: &kube::Client) -> Result<ApiResource, CommandError> {
    for version in ["v1", "v1beta1"] {
        if let Ok(list) = client
            .list_api_group_resources(&format!("batch/{version}"))
            .await
        {
            if list.resources.iter().any(|r| r.name == "cronjobs") {
                return Ok(ApiResource::from_gvk_with_plural(
                    &GroupVersionKind::gvk("batch", version, "CronJob"),
                    "cronjobs",
                ));
            }
        }
    }
    Err(internal(
        "the cluster serves no CronJob API (batch/v1 or batch/v1beta1)",
    ))
}

const SCHEDULE_LABEL: &str = "kubescape.io/scheduled-scan";

/// A kind of recurring scan: the chart's template ConfigMap it is made from, how its CronJobs
/// are named, and the command the CronJob posts back.
struct Recurring {
    template: &'static str,
    prefix: &'static str,
    posts: &'static str,
}

const POSTURE_SCANS: Recurring = Recurring {
    template: "kubescape-cronjob-template",
    prefix: "ks-scheduled-scan",
    posts: "kubescapeScan",
};
const IMAGE_SCANS: Recurring = Recurring {
    template: "kubevuln-cronjob-template",
    prefix: "kubevuln-schedule",
    posts: "scan",
};
const REGISTRY_SCANS: Recurring = Recurring {
    template: "registry-scan-cronjob-template",
    prefix: "kubescape-registry-scan",
    posts: "scanRegistryV2",
};

/// The CronJob parameters: `args.kubescapeJobParams` for posture scans, `args.jobParams` for
/// the others upstream; either is accepted.
fn job_params(command: &Value) -> &Value {
    let args = &command["args"];
    if args["kubescapeJobParams"].is_object() {
        &args["kubescapeJobParams"]
    } else {
        &args["jobParams"]
    }
}

fn schedule_of(command: &Value) -> Option<String> {
    job_params(command)["cronTabSchedule"]
        .as_str()
        .map(str::to_string)
}

async fn set_cronjob(
    op: &Operator,
    command: &Value,
    kind: &Recurring,
) -> Result<String, CommandError> {
    let ns = &op.args.namespace;
    let template_name = kind.template;
    let schedule = schedule_of(command).ok_or_else(|| {
        bad("args.kubescapeJobParams.cronTabSchedule (or args.jobParams.cronTabSchedule) is missing")
    })?;
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(op.client.clone(), ns);
    let template = configmaps.get(template_name).await.map_err(|e| {
        internal(format!(
            "cannot read ConfigMap {ns}/{template_name} (the chart's CronJob template): {e}"
        ))
    })?;
    let text = template
        .data
        .as_ref()
        .and_then(|d| d.get("cronjobTemplate"))
        .ok_or_else(|| {
            internal(format!(
                "ConfigMap {ns}/{template_name} has no cronjobTemplate key"
            ))
        })?;
    let mut cronjob = match kubescape_posture::yaml::documents(text).into_iter().next() {
        Some(Ok(v)) if v.is_object() => v,
        _ => {
            return Err(internal(format!(
                "cronjobTemplate in {ns}/{template_name} is not a CronJob manifest"
            )))
        }
    };
    let frameworks: Vec<String> = command["args"]["scanV1"]["targetNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(|s| s.to_ascii_lowercase()))
        .collect();
    let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
    let mut name = kind.prefix.to_string();
    if kind.posts == "kubescapeScan" {
        name = format!("{name}-{}", frameworks.join("-"));
    }
    // CronJob names are limited so that their Jobs' names fit.
    name.truncate(52 - 7);
    let name = format!("{}-{suffix}", name.trim_end_matches('-'));
    // What the CronJob will post: the scan command with the same targets and arguments.
    let mut args = command["args"].clone();
    if let Some(a) = args.as_object_mut() {
        a.remove("kubescapeJobParams");
        a.remove("jobParams");
    }
    let request = json!({"commands": [{"commandName": kind.posts, "wlid": command["wlid"], "wildWlid": command["wildWlid"], "designators": command["designators"], "args": args}]});
    let cm = k8s_openapi::api::core::v1::ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            labels: Some([(SCHEDULE_LABEL.to_string(), name.clone())].into()),
            ..Default::default()
        },
        data: Some([("request-body.json".to_string(), request.to_string())].into()),
        ..Default::default()
    };
    configmaps
        .create(&PostParams::default(), &cm)
        .await
        .map_err(|e| internal(format!("cannot create ConfigMap {name}: {e}")))?;
    let resource = cronjob_resource(&op.client).await?;
    cronjob["apiVersion"] = json!(resource.api_version);
    cronjob["kind"] = json!("CronJob");
    cronjob["metadata"]["name"] = json!(name);
    cronjob["metadata"]["namespace"] = json!(ns);
    cronjob["metadata"]["labels"][SCHEDULE_LABEL] = json!(name);
    cronjob["spec"]["schedule"] = json!(schedule);
    // The template's ConfigMap volume is pointed at this schedule's request body.
    let mut pointed = false;
    if let Some(volumes) =
        cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"].as_array_mut()
    {
        for v in volumes.iter_mut().filter(|v| v["configMap"].is_object()) {
            v["configMap"]["name"] = json!(name);
            pointed = true;
        }
    }
    if !pointed {
        let _ = configmaps.delete(&name, &DeleteParams::default()).await;
        return Err(internal(format!(
            "cronjobTemplate in {ns}/{template_name} mounts no ConfigMap volume for the request body"
        )));
    }
    let obj: DynamicObject = serde_json::from_value(cronjob).map_err(internal)?;
    let api: Api<DynamicObject> = Api::namespaced_with(op.client.clone(), ns, &resource);
    if let Err(e) = api.create(&PostParams::default(), &obj).await {
        let _ = configmaps.delete(&name, &DeleteParams::default()).await;
        return Err(internal(format!("cannot create CronJob {name}: {e}")));
    }
    Ok(format!(
        "CronJob {ns}/{name} ({}) scheduled \"{schedule}\"",
        resource.api_version
    ))
}

fn target_name(command: &Value) -> Result<String, CommandError> {
    job_params(command)["name"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            bad("args.kubescapeJobParams.name (or args.jobParams.name: the CronJob to change) is missing")
        })
}

async fn update_cronjob(op: &Operator, command: &Value) -> Result<String, CommandError> {
    let ns = &op.args.namespace;
    let name = target_name(command)?;
    let schedule = schedule_of(command)
        .ok_or_else(|| bad("args.kubescapeJobParams.cronTabSchedule is missing"))?;
    let resource = cronjob_resource(&op.client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(op.client.clone(), ns, &resource);
    let patch = json!({"spec": {"schedule": schedule}});
    api.patch(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .map_err(|e| internal(format!("cannot update CronJob {ns}/{name}: {e}")))?;
    Ok(format!("CronJob {ns}/{name} rescheduled \"{schedule}\""))
}

async fn delete_cronjob(op: &Operator, command: &Value) -> Result<String, CommandError> {
    let ns = &op.args.namespace;
    let name = target_name(command)?;
    let resource = cronjob_resource(&op.client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(op.client.clone(), ns, &resource);
    // Only CronJobs this operator made may be deleted through it.
    let ours = api
        .list(&ListParams::default().labels(&format!("{SCHEDULE_LABEL}={name}")))
        .await
        .map_err(internal)?;
    if ours.items.is_empty() {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no scheduled scan named {name} in {ns}"),
        ));
    }
    // Background propagation: the CronJob goes at once and its Jobs after it (the legacy default
    // for batch/v1beta1 orphans them behind a finalizer).
    api.delete(&name, &DeleteParams::background())
        .await
        .map_err(|e| internal(format!("cannot delete CronJob {ns}/{name}: {e}")))?;
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(op.client.clone(), ns);
    let _ = configmaps.delete(&name, &DeleteParams::default()).await;
    Ok(format!("CronJob {ns}/{name} and its ConfigMap deleted"))
}

/// Upstream's start-up behaviour: one posture scan of allcontrols, nsa and mitre, once the
/// posture service answers.
async fn startup_scan(op: Arc<Operator>) {
    let command = json!({"commandName": "kubescapeScan", "args": {"scanV1": {"targetType": "framework", "targetNames": ["allcontrols", "nsa", "mitre"]}}});
    let job = uuid::Uuid::new_v4().to_string();
    for attempt in 1..=30 {
        match execute(&op, "kubescapeScan", &command, &job).await {
            Ok(detail) => {
                tracing::info!(jobId = %job, %detail, "start-up posture scan");
                return;
            }
            Err((_, e)) => {
                tracing::debug!(jobId = %job, attempt, error = %e, "posture service not ready for the start-up scan");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
    tracing::warn!(jobId = %job, url = %op.args.kubescape_url, "start-up posture scan skipped: the posture service did not answer");
}

/// Continuous posture scanning of one resource: every object created or changed after the
/// watch starts is sent to the posture service on its own (`scanObject`).
async fn watch_changes(
    op: Arc<Operator>,
    group: String,
    version: String,
    plural: String,
    namespaces: Vec<String>,
) {
    let api_version = if group.is_empty() {
        version.clone()
    } else {
        format!("{group}/{version}")
    };
    let kind = match op.client.list_api_group_resources(&api_version).await {
        Ok(list) => match list.resources.iter().find(|r| r.name == plural) {
            Some(r) => r.kind.clone(),
            None => {
                tracing::warn!(%api_version, %plural, "continuous scan: the cluster does not serve this resource");
                return;
            }
        },
        Err(e) => {
            tracing::warn!(%api_version, %plural, error = %e, "continuous scan: discovery failed");
            return;
        }
    };
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(&group, &version, &kind), &plural);
    let api: Api<DynamicObject> = Api::all_with(op.client.clone(), &resource);
    let mut changes = follow(api, plural.clone());
    while let Some(change) = changes.recv().await {
        let Change::Applied(obj) = change else {
            continue;
        };
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        if !namespaces.is_empty() && !namespaces.contains(&ns) {
            continue;
        }
        let Ok(mut object) = serde_json::to_value(&obj) else {
            continue;
        };
        object["apiVersion"] = json!(api_version);
        object["kind"] = json!(kind);
        if let Some(m) = object["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        let job = uuid::Uuid::new_v4().to_string();
        let url = format!("{}/v1/scan", op.args.kubescape_url.trim_end_matches('/'));
        let body = json!({"targetType": "framework", "targetNames": ["allcontrols"], "scanObject": object});
        let http = op.http.clone();
        let name = obj.metadata.name.clone().unwrap_or_default();
        let sent = tokio::task::spawn_blocking(move || {
            http.post(&url)
                .set("Content-Type", "application/json")
                .set("X-Job-ID", &job)
                .send_string(&body.to_string())
                .map(|_| job)
                .map_err(|e| e.to_string())
        })
        .await;
        match sent {
            Ok(Ok(job)) => {
                tracing::info!(jobId = %job, namespace = %ns, %kind, %name, "changed object sent for a posture scan")
            }
            Ok(Err(e)) => {
                tracing::warn!(namespace = %ns, %kind, %name, error = %e, "continuous scan: the posture service refused the object")
            }
            Err(_) => {}
        }
    }
}

/// A change seen by [`follow`].
pub(crate) enum Change {
    Applied(DynamicObject),
    Deleted(DynamicObject),
}

/// Follows one resource from now on, for as long as the receiver is kept: starts at the current
/// version, resumes from the last version seen when a watch ends, and starts over at the current
/// version after `410 Gone` or a failed watch. The bounded channel holds the watch back while
/// the consumer is busy.
fn follow(api: Api<DynamicObject>, what: String) -> tokio::sync::mpsc::Receiver<Change> {
    follow_from(api, what, String::new())
}

/// [`follow`] from a known resourceVersion (that of a LIST just made), so nothing between the
/// list and the watch is missed.
pub(crate) fn follow_from(
    api: Api<DynamicObject>,
    what: String,
    version: String,
) -> tokio::sync::mpsc::Receiver<Change> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let what = what.as_str();
        follow_into(api, what, version, tx).await;
    });
    rx
}

async fn follow_into(
    api: Api<DynamicObject>,
    what: &str,
    mut rv: String,
    tx: tokio::sync::mpsc::Sender<Change>,
) {
    use futures_util::StreamExt;
    loop {
        if rv.is_empty() {
            match api.list_metadata(&ListParams::default().limit(1)).await {
                Ok(list) => rv = list.metadata.resource_version.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(what, error = %e, "cannot list to start a watch; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                    continue;
                }
            }
        }
        let stream = match api
            .watch(&kube::api::WatchParams::default().timeout(290), &rv)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(what, error = %e, "watch failed; retrying");
                rv.clear();
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        futures_util::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let change = match event {
                Ok(kube::api::WatchEvent::Added(o)) | Ok(kube::api::WatchEvent::Modified(o)) => {
                    Change::Applied(o)
                }
                Ok(kube::api::WatchEvent::Deleted(o)) => Change::Deleted(o),
                Ok(kube::api::WatchEvent::Bookmark(b)) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                Ok(kube::api::WatchEvent::Error(e)) => {
                    if e.code == 410 {
                        rv.clear();
                    }
                    break;
                }
                Err(e) => {
                    tracing::debug!(what, error = %e, "watch stream error");
                    break;
                }
            };
            let (Change::Applied(o) | Change::Deleted(o)) = &change;
            if let Some(v) = &o.metadata.resource_version {
                rv = v.clone();
            }
            if tx.send(change).await.is_err() {
                return;
            }
        }
    }
}

/// Workload kinds whose scan results are removed with them (group, version, kind, plural).
const WATCHED: [(&str, &str, &str, &str); 6] = [
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("batch", "v1", "Job", "jobs"),
    ("", "v1", "Pod", "pods"),
];

/// Watches one workload kind and deletes the WorkloadConfigurationScan(+Summary) of every
/// workload that goes. Reconnects (and re-lists after `410 Gone`) for as long as it runs.
async fn watch_deletions(
    client: kube::Client,
    (group, version, kind, plural): (&'static str, &'static str, &'static str, &'static str),
) {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut changes = follow(api, kind.to_string());
    while let Some(change) = changes.recv().await {
        let Change::Deleted(obj) = change else {
            continue;
        };
        // Pods made by a controller have no results of their own.
        if kind == "Pod"
            && obj
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| !o.is_empty())
        {
            continue;
        }
        if let (Some(ns), Some(name)) = (&obj.metadata.namespace, &obj.metadata.name) {
            remove_results(&client, ns, kind, name).await;
        }
    }
}

async fn remove_results(client: &kube::Client, namespace: &str, kind: &str, name: &str) {
    // Vulnerability summaries: one per container, found by the workload labels.
    let summaries: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(
                "spdx.softwarecomposition.kubescape.io",
                "v1beta1",
                "VulnerabilityManifestSummary",
            ),
            "vulnerabilitymanifestsummaries",
        ),
    );
    let selector = format!("kubescape.io/workload-kind={kind},kubescape.io/workload-name={name}");
    match summaries
        .list_metadata(&ListParams::default().labels(&selector))
        .await
    {
        Ok(list) => {
            for item in list.items {
                let Some(object) = item.metadata.name else {
                    continue;
                };
                match summaries.delete(&object, &DeleteParams::default()).await {
                    Ok(_) => {
                        tracing::info!(namespace, kind, name, summary = %object, "removed the vulnerability summary of a deleted workload")
                    }
                    Err(kube::Error::Api(e)) if e.code == 404 => {}
                    Err(e) => {
                        tracing::warn!(namespace, kind, name, error = %e, "cannot remove a vulnerability summary of a deleted workload")
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(namespace, kind, name, error = %e, "cannot list the vulnerability summaries of a deleted workload")
        }
    }
    let object = crate::serve_kubescape::scan_name(kind, name);
    for (plural, k) in [
        ("workloadconfigurationscans", "WorkloadConfigurationScan"),
        (
            "workloadconfigurationscansummaries",
            "WorkloadConfigurationScanSummary",
        ),
    ] {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("spdx.softwarecomposition.kubescape.io", "v1beta1", k),
            plural,
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        match api.delete(&object, &DeleteParams::default()).await {
            Ok(_) => tracing::info!(
                namespace,
                kind,
                name,
                resource = plural,
                "removed the scan results of a deleted workload"
            ),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                tracing::warn!(namespace, kind, name, error = %e, "cannot remove the scan results of a deleted workload")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_and_scan_request() {
        let patterns = vec![
            "system:serviceaccount:kubescape:*".to_string(),
            "admin".to_string(),
        ];
        assert!(crate::http_service::allowed(
            &patterns,
            "system:serviceaccount:kubescape:scheduler"
        ));
        assert!(crate::http_service::allowed(&patterns, "admin"));
        assert!(!crate::http_service::allowed(
            &patterns,
            "system:serviceaccount:default:x"
        ));
        let cmd = json!({"commandName": "kubescapeScan", "designators": [{"designatorType": "Attributes", "attributes": {"namespace": "shop"}}],
            "args": {"scanV1": {"targetType": "framework", "targetNames": ["nsa"]}}});
        let r = scan_request(&cmd);
        assert_eq!(r["targetNames"], json!(["nsa"]));
        assert_eq!(r["includeNamespaces"], json!(["shop"]));
    }
}
