//! The operator's image scanning: which containers a `scan` command selects, the workload each
//! belongs to, the pull credentials its Pod names, and the requests sent to kubevuln; plus the
//! Pod watcher that has every new container image scanned (all running Pods at start).
//!
//! Scans are requested once per (workload, container, image): the same image in many workloads
//! is pulled and matched once, since kubevuln reuses the stored result of a digest, but each
//! workload still gets its summary.

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type CommandError = (hyper::StatusCode, String);

pub struct ImageScans {
    pub client: kube::Client,
    pub kubevuln_url: String,
    /// The bearer token sent to kubevuln (the operator's ServiceAccount token).
    pub token_file: Option<std::path::PathBuf>,
    pub cluster_name: String,
    /// Pods without an owner are scanned only once they have existed this long (short-lived
    /// one-off Pods would otherwise each cost a pull).
    pub naked_pod_guard: Duration,
    pub http: ureq::Agent,
    requested: Mutex<HashSet<String>>,
    /// Top owner of a ReplicaSet or Job by its uid: Pods change often (status updates) and
    /// each change would otherwise cost a GET of the Pod's controller.
    owners: Mutex<std::collections::HashMap<String, (String, String)>>,
}

/// One container to scan and the workload it belongs to.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    wlid: String,
    container: String,
    image: String,
    /// `status.containerStatuses[].imageID` when the kubelet reported it.
    image_id: String,
    namespace: String,
    pull_secrets: Vec<String>,
}

impl ImageScans {
    pub fn new(
        client: kube::Client,
        kubevuln_url: String,
        token_file: Option<std::path::PathBuf>,
        cluster_name: String,
        naked_pod_guard: Duration,
    ) -> Self {
        ImageScans {
            client,
            kubevuln_url,
            token_file,
            cluster_name,
            naked_pod_guard,
            http: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            requested: Mutex::new(HashSet::new()),
            owners: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The `scan` command: every container of the Pods the command selects (wlid, wildWlid or
    /// namespace designators; none = the whole cluster), scanned even when scanned before.
    pub async fn scan_command(
        &self,
        command: &Value,
        job_id: &str,
    ) -> Result<String, CommandError> {
        let selection = Selection::of(command);
        let pods: Api<Pod> = match &selection.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let list = pods.list(&ListParams::default()).await.map_err(|e| {
            (
                hyper::StatusCode::BAD_GATEWAY,
                format!("cannot list Pods: {e}"),
            )
        })?;
        let mut targets = Vec::new();
        for pod in &list.items {
            for t in self.targets(pod).await {
                if selection.matches(&t.wlid) && !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        let mut sent = 0;
        let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
        for t in &targets {
            match self.request(t, job_id).await {
                Ok(()) => sent += 1,
                Err(e) => *errors.entry(e).or_default() += 1,
            }
        }
        let failed: usize = errors.values().sum();
        // The same failure for every container (kubevuln down) is said once, with its count.
        let why = errors
            .iter()
            .map(|(e, n)| {
                if *n > 1 {
                    format!("{e} ({n} containers)")
                } else {
                    e.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        if failed > 0 && sent == 0 {
            return Err((hyper::StatusCode::BAD_GATEWAY, why));
        }
        Ok(format!(
            "{sent} container image scans requested{}",
            if failed == 0 {
                String::new()
            } else {
                format!(", {failed} not: {why}")
            }
        ))
    }

    /// `scanRegistryV2`: lists the registry's repositories and their newest tags and has
    /// kubevuln scan each image (`/v1/scanRegistryImage`; results are not tied to a workload).
    pub async fn scan_registry(
        &self,
        command: &Value,
        job_id: &str,
    ) -> Result<String, CommandError> {
        let bad = |m: String| (hyper::StatusCode::BAD_REQUEST, m);
        let args = &command["args"];
        let info = args
            .get("registryInfo-v1")
            .or_else(|| args.get("registryInfo"))
            .ok_or_else(|| bad("args[\"registryInfo-v1\"] is missing: {\"registryName\": \"host[/prefix]\", ...}".into()))?;
        let info: RegistryInfo = serde_json::from_value(info.clone())
            .map_err(|e| bad(format!("args[\"registryInfo-v1\"] is not valid: {e}")))?;
        let (host, prefix) = match info.registry_name.trim_end_matches('/').split_once('/') {
            Some((h, p)) => (h.to_string(), format!("{p}/")),
            None => (
                info.registry_name.trim_end_matches('/').to_string(),
                String::new(),
            ),
        };
        if host.is_empty() {
            return Err(bad("registryInfo-v1.registryName is empty".into()));
        }
        let credentials = (info.auth_method.kind != "public"
            && !info.auth_method.username.is_empty())
        .then(|| kubescape_image::Credentials {
            username: info.auth_method.username.clone(),
            password: info.auth_method.password.clone(),
        });
        let insecure = info.is_https == Some(false) || info.skip_tls_verify;
        let opts = kubescape_image::RegistryOptions {
            credentials: credentials.clone(),
            insecure,
            docker_config: None,
        };
        let depth = info.depth.max(1);
        let listed_host = host.clone();
        let images = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
            let repos = kubescape_image::list_repositories(
                &listed_host,
                &opts,
                &kubescape_image::ListOptions::limit(REGISTRY_REPOSITORY_LIMIT),
            )
            .map_err(|e| e.to_string())?;
            let mut images = Vec::new();
            for repo in repos {
                if !repo.starts_with(&prefix)
                    || (!info.include.is_empty() && !repository_selected(&info.include, &repo))
                    || repository_selected(&info.exclude, &repo)
                {
                    continue;
                }
                let mut tags =
                    kubescape_image::list_tags(&listed_host, &repo, &opts, &Default::default())
                        .map_err(|e| e.to_string())?;
                // Registries list tags in no promised order; the newest are taken to be the
                // greatest in natural order (`v1.10` after `v1.9`).
                tags.sort_by(|a, b| natural_order(a, b));
                let newest = tags.len().saturating_sub(depth);
                images.extend(
                    tags[newest..]
                        .iter()
                        .map(|t| format!("{listed_host}/{repo}:{t}")),
                );
            }
            Ok(images)
        })
        .await
        .map_err(|e| (hyper::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| (hyper::StatusCode::BAD_GATEWAY, e))?;
        let credentials: Vec<Value> = credentials
            .iter()
            .map(|c| json!({"username": c.username, "password": c.password, "serveraddress": host}))
            .collect();
        let mut sent = 0;
        let mut errors = Vec::new();
        for image in &images {
            let job = uuid::Uuid::new_v4().to_string();
            let body = json!({
                "imageTag": image,
                "jobID": job,
                "parentJobID": job_id,
                "credentialslist": credentials,
                "args": {"useHTTP": info.is_https == Some(false), "skipTLSVerify": info.skip_tls_verify},
                "session": {"jobIDs": [job_id, job], "rootJobID": job_id, "actionTitle": "registry-scan"},
            });
            match self.post("/v1/scanRegistryImage", &job, body).await {
                Ok(()) => {
                    sent += 1;
                    tracing::info!(jobId = %job, parentId = %job_id, %image, "registry image scan requested");
                }
                Err(e) => errors.push(format!("{image}: {e}")),
            }
        }
        if sent == 0 && !errors.is_empty() {
            return Err((hyper::StatusCode::BAD_GATEWAY, errors.join("; ")));
        }
        Ok(format!(
            "{sent} of {} images of {} sent for scanning{}",
            images.len(),
            info.registry_name,
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", errors.join("; "))
            }
        ))
    }

    /// Scans the images of every Pod now, then of every Pod created or changed from then on.
    pub async fn watch_pods(self: Arc<Self>) {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let version = loop {
            match pods.list(&ListParams::default()).await {
                Ok(list) => {
                    for pod in &list.items {
                        self.consider(pod).await;
                    }
                    break list.metadata.resource_version.unwrap_or_default();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list Pods for the start-up image scan; retrying");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        };
        let api: Api<DynamicObject> = Api::all_with(
            self.client.clone(),
            &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Pod"), "pods"),
        );
        let mut changes = crate::serve_operator::follow_from(api, "Pod".into(), version);
        while let Some(change) = changes.recv().await {
            let crate::serve_operator::Change::Applied(obj) = change else {
                continue;
            };
            let Ok(pod) = serde_json::to_value(&obj).and_then(serde_json::from_value::<Pod>) else {
                continue;
            };
            self.consider(&pod).await;
        }
    }

    /// A Pod seen at start or by the watch: naked Pods wait out the guard time first.
    async fn consider(self: &Arc<Self>, pod: &Pod) {
        let naked = pod
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(|o| o.is_empty());
        if naked {
            let age = pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| {
                    let seconds = k8s_openapi::jiff::Timestamp::now().as_second() - t.0.as_second();
                    Duration::from_secs(seconds.max(0) as u64)
                })
                .unwrap_or_default();
            if age < self.naked_pod_guard {
                // Looked at again once the guard time has passed, if the Pod still exists.
                let wait = self.naked_pod_guard - age;
                let this = self.clone();
                let (ns, name) = (
                    pod.metadata.namespace.clone().unwrap_or_default(),
                    pod.metadata.name.clone().unwrap_or_default(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let pods: Api<Pod> = Api::namespaced(this.client.clone(), &ns);
                    if let Ok(Some(pod)) = pods.get_opt(&name).await {
                        this.request_new(&pod).await;
                    }
                });
                return;
            }
        }
        self.request_new(pod).await;
    }

    /// Requests the scans of the Pod's containers that were not requested before.
    async fn request_new(&self, pod: &Pod) {
        for t in self.targets(pod).await {
            let key = format!(
                "{}|{}|{}",
                t.wlid,
                t.container,
                if t.image_id.is_empty() {
                    &t.image
                } else {
                    &t.image_id
                }
            );
            {
                let mut requested = self.requested.lock().expect("lock");
                // Bounded for clusters that churn through many one-off Pods: forgetting only
                // means a repeated request, which kubevuln answers from its stored result.
                if requested.len() >= 100_000 {
                    requested.clear();
                }
                if !requested.insert(key.clone()) {
                    continue;
                }
            }
            let job = uuid::Uuid::new_v4().to_string();
            match self.request(&t, &job).await {
                Ok(()) => {}
                Err(e) => {
                    // Not marked as requested, so the next change of the Pod tries again.
                    self.requested.lock().expect("lock").remove(&key);
                    tracing::warn!(jobId = %job, error = %e, "image scan request failed");
                }
            }
        }
    }

    /// The containers of a Pod, with the workload that owns it.
    async fn targets(&self, pod: &Pod) -> Vec<Target> {
        let Some(spec) = &pod.spec else {
            return Vec::new();
        };
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let (kind, name) = self.top_owner(pod).await;
        let wlid = format!(
            "wlid://cluster-{}/namespace-{namespace}/{}-{name}",
            self.cluster_name,
            kind.to_ascii_lowercase()
        );
        let statuses = pod.status.as_ref();
        let image_id = |container: &str| -> String {
            statuses
                .into_iter()
                .flat_map(|s| {
                    s.container_statuses
                        .iter()
                        .flatten()
                        .chain(s.init_container_statuses.iter().flatten())
                })
                .find(|c| c.name == container)
                .map(|c| c.image_id.clone())
                .unwrap_or_default()
        };
        let pull_secrets: Vec<String> = spec
            .image_pull_secrets
            .iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect();
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .filter_map(|c| {
                Some(Target {
                    wlid: wlid.clone(),
                    container: c.name.clone(),
                    image: c.image.clone().filter(|i| !i.is_empty())?,
                    image_id: image_id(&c.name),
                    namespace: namespace.clone(),
                    pull_secrets: pull_secrets.clone(),
                })
            })
            .collect()
    }

    /// The workload a Pod belongs to: its controller's controller (ReplicaSet -> Deployment,
    /// Job -> CronJob), else its controller, else the Pod itself.
    async fn top_owner(&self, pod: &Pod) -> (String, String) {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let Some(owner) = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .or_else(|| pod.metadata.owner_references.iter().flatten().next())
        else {
            return ("Pod".into(), pod.metadata.name.clone().unwrap_or_default());
        };
        let (group, version) = match owner.api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), owner.api_version.clone()),
        };
        if let Some(top) = self.owners.lock().expect("lock").get(&owner.uid) {
            return top.clone();
        }
        if matches!(owner.kind.as_str(), "ReplicaSet" | "Job") {
            let plural = format!("{}s", owner.kind.to_ascii_lowercase());
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(&group, &version, &owner.kind),
                &plural,
            );
            let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &ns, &resource);
            if let Ok(Some(parent)) = api.get_opt(&owner.name).await {
                let top = parent
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .find(|o| o.controller == Some(true))
                    .map(|o| (o.kind.clone(), o.name.clone()))
                    .unwrap_or_else(|| (owner.kind.clone(), owner.name.clone()));
                let mut owners = self.owners.lock().expect("lock");
                // Bounded: forgetting only costs a GET the next time.
                if owners.len() >= 50_000 {
                    owners.clear();
                }
                owners.insert(owner.uid.clone(), top.clone());
                return top;
            }
        }
        (owner.kind.clone(), owner.name.clone())
    }

    /// Registry credentials from the Pod's imagePullSecrets, in the body's `credentialslist`
    /// shape. Unreadable secrets are skipped (the image may be public).
    async fn credentials(&self, t: &Target) -> Vec<Value> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &t.namespace);
        let mut out = Vec::new();
        for name in &t.pull_secrets {
            let secret = match secrets.get(name).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(namespace = %t.namespace, secret = %name, error = %e, "cannot read an imagePullSecret");
                    continue;
                }
            };
            let data = secret.data.unwrap_or_default();
            let raw = data
                .get(".dockerconfigjson")
                .or_else(|| data.get(".dockercfg"));
            let Some(doc) = raw.and_then(|b| serde_json::from_slice::<Value>(&b.0).ok()) else {
                continue;
            };
            // .dockerconfigjson nests entries under "auths"; the legacy .dockercfg does not.
            let auths = doc.get("auths").unwrap_or(&doc);
            for (server, entry) in auths.as_object().into_iter().flatten() {
                out.push(json!({
                    "serveraddress": server,
                    "username": entry["username"].as_str().unwrap_or_default(),
                    "password": entry["password"].as_str().unwrap_or_default(),
                    "auth": entry["auth"].as_str().unwrap_or_default(),
                    "registrytoken": entry["identitytoken"].as_str().unwrap_or_default(),
                }));
            }
        }
        out
    }

    /// Sends one request to kubevuln with the operator's token.
    async fn post(&self, path: &str, job: &str, body: Value) -> Result<(), String> {
        let url = format!("{}{path}", self.kubevuln_url.trim_end_matches('/'));
        let token = match &self.token_file {
            Some(f) => std::fs::read_to_string(f)
                .map(|t| t.trim().to_string())
                .map_err(|e| format!("cannot read --token-file {}: {e}", f.display()))?,
            None => String::new(),
        };
        let http = self.http.clone();
        let job = job.to_string();
        tokio::task::spawn_blocking(move || {
            let mut req = http
                .post(&url)
                .set("Content-Type", "application/json")
                .set("X-Job-ID", &job);
            if !token.is_empty() {
                req = req.set("Authorization", &format!("Bearer {token}"));
            }
            match req.send_string(&body.to_string()) {
                Ok(_) => Ok(()),
                Err(ureq::Error::Status(code, r)) => Err(format!(
                    "kubevuln answered {code}: {}",
                    r.into_string().unwrap_or_default()
                )),
                Err(e) => Err(format!("kubevuln is unreachable: {e}")),
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn request(&self, t: &Target, parent_job: &str) -> Result<(), String> {
        let job = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "imageTag": t.image,
            "imageHash": t.image_id,
            "wlid": t.wlid,
            "containerName": t.container,
            "jobID": job,
            "parentJobID": parent_job,
            "credentialslist": self.credentials(t).await,
            "session": {"jobIDs": [parent_job, job], "rootJobID": parent_job, "actionTitle": "vulnerability-scan"},
        });
        self.post("/v1/scanImage", &job, body).await?;
        tracing::info!(jobId = %job, parentId = %parent_job, wlid = %t.wlid, container = %t.container, image = %t.image, "image scan requested");
        Ok(())
    }
}

/// A registry scan's parameters (`args["registryInfo-v1"]`, upstream's shape).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RegistryInfo {
    /// `host[:port]` with an optional repository prefix (`quay.io/kubescape`).
    registry_name: String,
    #[serde(rename = "isHTTPS")]
    is_https: Option<bool>,
    #[serde(rename = "skipTLSVerify")]
    skip_tls_verify: bool,
    auth_method: AuthMethod,
    /// Repositories to scan (exact names, or prefixes ending in `*`); empty = all.
    include: Vec<String>,
    /// Repositories to leave out (same forms).
    exclude: Vec<String>,
    /// Tags per repository, the last ones in the registry's (lexical) order; 0 = 1.
    depth: usize,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AuthMethod {
    #[serde(rename = "type")]
    kind: String,
    username: String,
    password: String,
}

/// Compares runs of digits by value and everything else by character.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|b| b.is_ascii_digit()).count();
                let m = y.iter().take_while(|b| b.is_ascii_digit()).count();
                let trim = |v: &[u8]| -> Vec<u8> {
                    v.iter().skip_while(|b| **b == b'0').copied().collect()
                };
                let (p, q) = (trim(&x[..n]), trim(&y[..m]));
                let ord = p.len().cmp(&q.len()).then_with(|| p.cmp(&q));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn repository_selected(patterns: &[String], repo: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => repo.starts_with(prefix),
        None => p == repo,
    })
}

/// Most repositories one registry scan lists (a catalog of a large registry is paged through).
const REGISTRY_REPOSITORY_LIMIT: usize = 5000;

/// What a `scan` command selects: one workload (`wlid`), a prefix (`wildWlid`), or a
/// namespace (designator attribute).
#[derive(Debug, Default)]
struct Selection {
    namespace: Option<String>,
    wlid: Option<String>,
    prefix: Option<String>,
}

impl Selection {
    fn of(command: &Value) -> Self {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let wlid = text(&command["wlid"]);
        let prefix = text(&command["wildWlid"]).map(|w| w.trim_end_matches('*').to_string());
        let namespace = wlid
            .as_deref()
            .or(prefix.as_deref())
            .and_then(|w| {
                w.split('/')
                    .find_map(|p| p.strip_prefix("namespace-"))
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            })
            .or_else(|| {
                command["designators"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|d| text(&d["attributes"]["namespace"]))
            });
        Selection {
            namespace,
            wlid,
            prefix,
        }
    }

    fn matches(&self, wlid: &str) -> bool {
        // Cluster names differ between a backend's wlids and ours: compare from the namespace on.
        let tail = |w: &str| {
            w.find("/namespace-")
                .map_or(w.to_string(), |i| w[i..].to_string())
        };
        if let Some(w) = &self.wlid {
            return tail(w).eq_ignore_ascii_case(&tail(wlid));
        }
        if let Some(p) = &self.prefix {
            return tail(wlid)
                .to_ascii_lowercase()
                .starts_with(&tail(p).to_ascii_lowercase());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections() {
        let s = Selection::of(&json!({"wlid": "wlid://cluster-x/namespace-shop/deployment-web"}));
        assert_eq!(s.namespace.as_deref(), Some("shop"));
        assert!(s.matches("wlid://cluster-ours/namespace-shop/deployment-web"));
        assert!(!s.matches("wlid://cluster-ours/namespace-shop/deployment-web2"));
        let s = Selection::of(&json!({"wildWlid": "wlid://cluster-x/namespace-shop/*"}));
        assert!(s.matches("wlid://cluster-ours/namespace-shop/statefulset-db"));
        assert!(!s.matches("wlid://cluster-ours/namespace-other/statefulset-db"));
        let s = Selection::of(
            &json!({"designators": [{"designatorType": "Attributes", "attributes": {"namespace": "team"}}]}),
        );
        assert_eq!(s.namespace.as_deref(), Some("team"));
        assert!(s.matches("wlid://cluster-ours/namespace-team/pod-x"));
        let mut tags = vec!["v1.10", "v1.9", "2", "10", "latest", "1"];
        tags.sort_by(|a, b| natural_order(a, b));
        assert_eq!(tags, ["1", "2", "10", "latest", "v1.9", "v1.10"]);
        assert!(repository_selected(&["team/*".into()], "team/api"));
        assert!(!repository_selected(&["team/api".into()], "team/api2"));
        let all = Selection::of(&json!({}));
        assert_eq!(all.namespace, None);
        assert!(all.matches("anything"));
    }
}
