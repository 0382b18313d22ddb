//! Reading a live cluster for a posture scan: credentials from a kubeconfig context or the
//! in-cluster service account, discovery of what the server actually serves (no assumed
//! versions), and paged LISTs of exactly the resources the selected rules match.
//!
//! Resources the credentials may not list are not fatal: they are returned as [`Unreadable`]
//! so the scan can mark the rules that need them as skipped and say why.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use kubescape_posture::inputs::InputObject;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no usable credentials: {0} (set KUBECONFIG, pass --kube-context, or run inside a cluster)"
    )]
    Config(String),
    #[error("cannot reach the cluster at {server}: {message}")]
    Unreachable { server: String, message: String },
    #[error("the cluster at {server} rejected the credentials (401 Unauthorized): the token or certificate of the kubeconfig context is invalid or expired; refresh it and retry")]
    Unauthorized { server: String },
    #[error("cluster API error: {0}")]
    Api(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The group of the synthetic object carrying the API server's version (as upstream names it).
pub const API_SERVER_INFO_GROUP: &str = "apiserverinfo.kubescape.cloud";

/// How to reach the cluster and what to read.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Kubeconfig context (default: the current context, else in-cluster credentials).
    pub context: Option<String>,
    /// Only objects matching this label selector.
    pub label_selector: Option<String>,
    /// Objects per LIST page.
    pub page_size: u32,
}

/// A resource type the credentials cannot list.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// `list pods` (verb and plural resource, as RBAC names them).
    pub what: String,
    pub reason: String,
}

/// A resource type served by the cluster.
#[derive(Debug, Clone)]
pub struct ServedResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

#[derive(Debug, Default)]
pub struct ClusterObjects {
    pub cluster_name: String,
    pub server: String,
    /// Objects handed to the sink.
    pub objects: usize,
    pub unreadable: Vec<Unreadable>,
    /// Objects read per resource (`deployments.apps`: 120), for progress and logs.
    pub counts: BTreeMap<String, usize>,
}

/// Connects with the chosen context (or in-cluster credentials).
pub async fn connect(opts: &ClusterOptions) -> Result<(Client, String, String)> {
    let (config, cluster_name) = match Kubeconfig::read() {
        Ok(kc) => {
            let ctx_name = opts
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            let cluster_name = kc
                .contexts
                .iter()
                .find(|c| c.name == ctx_name)
                .and_then(|c| c.context.as_ref())
                .map(|c| c.cluster.clone())
                .ok_or_else(|| Error::Config(format!("kubeconfig has no context {ctx_name:?}")))?;
            let kopts = KubeConfigOptions {
                context: opts.context.clone(),
                ..Default::default()
            };
            let config = Config::from_custom_kubeconfig(kc, &kopts)
                .await
                .map_err(|e| Error::Config(e.to_string()))?;
            (config, cluster_name)
        }
        Err(kc_err) => {
            if opts.context.is_some() {
                return Err(Error::Config(format!(
                    "cannot read kubeconfig for --kube-context: {kc_err}"
                )));
            }
            let config = Config::incluster().map_err(|e| {
                Error::Config(format!(
                    "no kubeconfig ({kc_err}) and not in a cluster ({e})"
                ))
            })?;
            let name = std::env::var("CLUSTER_NAME").unwrap_or_default();
            (config, name)
        }
    };
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| Error::Config(e.to_string()))?;
    Ok((client, cluster_name, server))
}

fn classify(e: kube::Error, server: &str) -> Error {
    match e {
        kube::Error::Api(s) if s.code == 401 => Error::Unauthorized {
            server: server.to_string(),
        },
        kube::Error::Api(s) => Error::Api(format!("{} ({})", s.message, s.code)),
        other => Error::Unreachable {
            server: server.to_string(),
            message: other.to_string(),
        },
    }
}

/// Every resource type the server serves, at its preferred version. A group whose discovery
/// fails (typically an aggregated API whose backend is down) is skipped with a warning instead of
/// failing the scan.
pub async fn served_resources(
    client: &Client,
    server: &str,
) -> Result<Vec<(ServedResource, ApiResource, bool)>> {
    // One cheap call first so that connection and credential problems get a clear error.
    client
        .apiserver_version()
        .await
        .map_err(|e| classify(e, server))?;
    let mut lists: Vec<(
        String,
        String,
        Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource>,
    )> = Vec::new();
    let core = client
        .list_core_api_resources("v1")
        .await
        .map_err(|e| classify(e, server))?;
    lists.push((String::new(), "v1".into(), core.resources));
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| classify(e, server))?;
    for group in groups.groups {
        let Some(preferred) = group
            .preferred_version
            .or_else(|| group.versions.first().cloned())
        else {
            continue;
        };
        match client
            .list_api_group_resources(&preferred.group_version)
            .await
        {
            Ok(list) => lists.push((
                group.name.clone(),
                preferred.version.clone(),
                list.resources,
            )),
            Err(kube::Error::Api(s)) if s.code == 401 => {
                return Err(Error::Unauthorized {
                    server: server.to_string(),
                })
            }
            Err(e) => {
                tracing::warn!(group = %preferred.group_version, error = %e, "API group skipped: its discovery failed")
            }
        }
    }
    let mut out = Vec::new();
    for (group, version, resources) in lists {
        for r in resources {
            if r.name.contains('/') {
                continue; // subresources
            }
            let gvk = kube::api::GroupVersionKind::gvk(&group, &version, &r.kind);
            let ar = ApiResource::from_gvk_with_plural(&gvk, &r.name);
            let served = ServedResource {
                group: group.clone(),
                version: version.clone(),
                kind: r.kind.clone(),
                plural: r.name.clone(),
                namespaced: r.namespaced,
            };
            out.push((served, ar, r.verbs.iter().any(|v| v == "list")));
        }
    }
    Ok(out)
}

/// Lists every served resource for which `wanted` answers true, page by page, handing each
/// object to `sink` as soon as its page arrives (nothing is accumulated here).
pub async fn collect(
    opts: &ClusterOptions,
    wanted: impl Fn(&ServedResource) -> bool,
    progress: impl Fn(&str, usize),
    mut sink: impl FnMut(InputObject),
) -> Result<ClusterObjects> {
    let (client, cluster_name, server) = connect(opts).await?;
    let mut out = ClusterObjects {
        cluster_name,
        server: server.clone(),
        ..Default::default()
    };
    let page = if opts.page_size == 0 {
        500
    } else {
        opts.page_size
    };
    let served = served_resources(&client, &server).await?;
    // Rules about API-server versions (CVE checks) read the server's /version as an object.
    let info = ServedResource {
        group: API_SERVER_INFO_GROUP.into(),
        version: "v1beta0".into(),
        kind: "APIServerInfo".into(),
        plural: "apiserverinfos".into(),
        namespaced: false,
    };
    if wanted(&info) {
        let version = client
            .apiserver_version()
            .await
            .map_err(|e| classify(e, &server))?;
        let data = serde_json::to_value(&version).map_err(|e| Error::Api(e.to_string()))?;
        sink(InputObject {
            value: serde_json::json!({
                "apiVersion": format!("{API_SERVER_INFO_GROUP}/v1beta0"),
                "kind": "APIServerInfo",
                "metadata": {"name": "version"},
                "data": data,
            }),
            source: None,
        });
        out.objects += 1;
        out.counts.insert("apiserverinfo".into(), 1);
    }
    for (res, ar, listable) in served {
        if !listable || !wanted(&res) {
            continue;
        }
        let label = if res.group.is_empty() {
            res.plural.clone()
        } else {
            format!("{}.{}", res.plural, res.group)
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let mut params = ListParams::default().limit(page);
        if let Some(sel) = &opts.label_selector {
            params = params.labels(sel);
        }
        let mut count = 0usize;
        loop {
            match api.list(&params).await {
                Ok(list) => {
                    let next = list.metadata.continue_.clone().filter(|c| !c.is_empty());
                    for mut obj in list.items {
                        // LIST items carry no apiVersion/kind; rules need them.
                        obj.types = Some(kube::api::TypeMeta {
                            api_version: ar.api_version.clone(),
                            kind: ar.kind.clone(),
                        });
                        strip_bookkeeping(&mut obj);
                        match serde_json::to_value(&obj) {
                            Ok(value) => {
                                sink(InputObject {
                                    value,
                                    source: None,
                                });
                                out.objects += 1;
                                count += 1;
                            }
                            Err(e) => {
                                tracing::warn!(resource = %label, error = %e, "object skipped")
                            }
                        }
                    }
                    progress(&label, count);
                    match next {
                        Some(token) => params.continue_token = Some(token),
                        None => break,
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 403 || s.code == 404 || s.code == 405 => {
                    out.unreadable.push(Unreadable {
                        group: res.group.clone(),
                        version: res.version.clone(),
                        kind: res.kind.clone(),
                        what: format!("list {label}"),
                        reason: s.message.clone(),
                    });
                    break;
                }
                Err(e) => return Err(classify(e, &server)),
            }
        }
        out.counts.insert(label, count);
    }
    Ok(out)
}

/// Drops what the API server and kubectl keep for their own bookkeeping: `managedFields` and
/// the last-applied-configuration annotation are copies of the object's own content, often as
/// large as the rest of it, and no control reads them.
fn strip_bookkeeping(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(a) = obj.metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}
