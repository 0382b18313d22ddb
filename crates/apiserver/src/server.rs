//! The HTTPS front: connections, routing, authentication, authorization, content negotiation,
//! and the REST verbs on top of a [`Backend`].

use crate::auth::{Attributes, Auth, PeerIdentity};
use crate::backend::{Backend, Row, Visit, WriteOp};
use crate::metrics::Metrics;
use crate::object;
use crate::patch::{self, PatchType};
use crate::resource::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::watch::{Event, EventType};
use crate::{discovery, openapi};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

#[derive(Clone)]
pub struct ServeOptions {
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Longest a watch runs before the client has to re-establish it.
    pub max_watch: Duration,
    /// Request bodies being processed at once, in MiB. A write holds up to about three copies
    /// of its object (body, parsed, serialized), so this bounds write memory whatever the
    /// number of concurrent clients; more wait.
    pub write_budget_mib: u32,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bookmark_interval: Duration::from_secs(60),
            max_watch: Duration::from_secs(1800),
            write_budget_mib: 64,
        }
    }
}

pub struct App {
    backend: Arc<dyn Backend>,
    auth: Arc<Auth>,
    pub metrics: Metrics,
    opts: ServeOptions,
    openapi_v2: Bytes,
    openapi_v3: Bytes,
    openapi_v3_root: Bytes,
    validation: Vec<Value>,
    write_budget: Arc<tokio::sync::Semaphore>,
}

impl App {
    pub fn new(backend: Arc<dyn Backend>, auth: Arc<Auth>, opts: ServeOptions) -> Arc<Self> {
        let reg = backend.registry();
        let v3 = serde_json::to_vec(&openapi::v3_document(reg)).expect("serialisable");
        let v3_root = serde_json::to_vec(&openapi::v3_root(reg, &v3)).expect("serialisable");
        let v2 = serde_json::to_vec(&openapi::v2_document(reg)).expect("serialisable");
        let validation = reg
            .resources
            .iter()
            .map(openapi::validation_schema)
            .collect();
        let metrics = Metrics::new(reg.resources.iter().map(|r| r.plural).collect());
        Arc::new(App {
            backend,
            auth,
            metrics,
            openapi_v2: v2.into(),
            openapi_v3: v3.into(),
            openapi_v3_root: v3_root.into(),
            validation,
            write_budget: Arc::new(tokio::sync::Semaphore::new(
                opts.write_budget_mib.max(1) as usize
            )),
            opts,
        })
    }
}

/// Accepts TLS connections until `shutdown` resolves; each connection speaks HTTP/1.1 or HTTP/2.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let peer = Arc::new(app.auth.identify_peer(tls.get_ref().1.peer_certificates()));
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                let peer = peer.clone();
                async move { Ok::<_, Infallible>(handle(app, peer, req).await) }
            });
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(
            Full::new(body.into())
                .map_err(|never: Infallible| match never {})
                .boxed(),
        )
        .expect("valid response")
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    full(
        status,
        "application/json",
        serde_json::to_vec(v).expect("serialisable"),
    )
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.to_status(),
    );
    if let Some(s) = e.retry_after {
        r.headers_mut()
            .insert("retry-after", s.to_string().parse().expect("digits"));
    }
    r
}

/// What the client asked the response to be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Object,
    Table,
    Metadata,
}

fn negotiate(accept: &str) -> ApiResult<Shape> {
    if accept.is_empty() {
        return Ok(Shape::Object);
    }
    let mut json_ok = false;
    for part in accept.split(',') {
        let mut it = part.split(';').map(str::trim);
        let media = it.next().unwrap_or("");
        let params: HashMap<&str, &str> = it.filter_map(|p| p.split_once('=')).collect();
        if !matches!(media, "application/json" | "*/*" | "application/*") {
            continue;
        }
        match (params.get("as"), params.get("g")) {
            (Some(&"Table"), Some(&"meta.k8s.io")) => return Ok(Shape::Table),
            (Some(a), Some(&"meta.k8s.io")) if a.starts_with("PartialObjectMetadata") => {
                return Ok(Shape::Metadata)
            }
            (None, _) => json_ok = true,
            _ => {}
        }
    }
    if json_ok {
        Ok(Shape::Object)
    } else {
        Err(ApiError::not_acceptable(format!(
            "only application/json (also as=Table or as=PartialObjectMetadata(List) of meta.k8s.io) is served; \
             the request accepted {accept:?}"
        )))
    }
}

enum Route {
    Health,
    Metrics,
    Apis,
    Group,
    Version,
    OpenApiV2,
    OpenApiV3Root,
    OpenApiV3,
    Resource {
        index: usize,
        namespace: Option<String>,
        name: Option<String>,
        watch: bool,
    },
}

fn route(app: &App, path: &str) -> Option<Route> {
    let reg = app.backend.registry();
    let path = path.trim_end_matches('/');
    match path {
        "/livez" | "/readyz" | "/healthz" => return Some(Route::Health),
        "/metrics" => return Some(Route::Metrics),
        "/apis" => return Some(Route::Apis),
        "/openapi/v2" => return Some(Route::OpenApiV2),
        "/openapi/v3" => return Some(Route::OpenApiV3Root),
        _ => {}
    }
    if path.starts_with("/livez/") || path.starts_with("/readyz/") || path.starts_with("/healthz/")
    {
        return Some(Route::Health);
    }
    if path == format!("/openapi/v3/apis/{}/{}", reg.group, reg.version) {
        return Some(Route::OpenApiV3);
    }
    let rest = path.strip_prefix("/apis/")?;
    let rest = rest.strip_prefix(reg.group)?;
    if rest.is_empty() {
        return Some(Route::Group);
    }
    let rest = rest.strip_prefix('/')?.strip_prefix(reg.version)?;
    if rest.is_empty() {
        return Some(Route::Version);
    }
    let mut segs: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    let mut watch = false;
    if segs.first() == Some(&"watch") {
        watch = true;
        segs.remove(0);
    }
    let (namespace, segs) = match segs.as_slice() {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest.to_vec()),
        _ => (None, segs),
    };
    let (plural, name) = match segs.as_slice() {
        [p] => (*p, None),
        [p, n] => (*p, Some(n.to_string())),
        _ => return None,
    };
    let (index, def) = reg.find(plural)?;
    if namespace.is_some() && !def.namespaced {
        return None;
    }
    if def.namespaced && namespace.is_none() && name.is_some() {
        return None;
    }
    Some(Route::Resource {
        index,
        namespace,
        name,
        watch,
    })
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn verb_of(method: &Method, has_name: bool, watch: bool) -> Option<&'static str> {
    Some(match (method, has_name) {
        (&Method::GET, _) if watch => "watch",
        (&Method::GET, true) => "get",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => return None,
    })
}

async fn handle(app: Arc<App>, peer: Arc<PeerIdentity>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (response, verb, resource) = dispatch(&app, &peer, req).await;
    let response = response.unwrap_or_else(|e| {
        if e.code >= 500 {
            tracing::error!(%method, %path, code = e.code, error = %e.message, "request failed");
        }
        error_response(&e)
    });
    app.metrics.observe_request(
        verb,
        resource,
        response.status().as_u16(),
        started.elapsed(),
    );
    tracing::debug!(%method, %path, code = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
    response
}

async fn dispatch(
    app: &Arc<App>,
    peer: &PeerIdentity,
    req: Request<Incoming>,
) -> (ApiResult<Response<Body>>, &'static str, &'static str) {
    let Some(route) = route(app, req.uri().path()) else {
        let path = req.uri().path().to_string();
        // Unknown paths still require an identity, so that probing reveals nothing.
        if let Err(e) = app.auth.authenticate(peer, req.headers()).await {
            return (Err(e), "get", "");
        }
        return (
            Err(ApiError::new(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({path})"),
            )),
            "get",
            "",
        );
    };
    match route {
        Route::Health => return (Ok(full(StatusCode::OK, "text/plain", "ok")), "get", ""),
        Route::Metrics => {
            let body = app.metrics.render(app.backend.as_ref());
            return (
                Ok(full(StatusCode::OK, "text/plain; version=0.0.4", body)),
                "get",
                "",
            );
        }
        _ => {}
    }
    let user = match app.auth.authenticate(peer, req.headers()).await {
        Ok(u) => u,
        Err(e) => return (Err(e), "get", ""),
    };
    let reg = app.backend.registry();
    let (verb, attrs, resource) = match &route {
        Route::Resource {
            index,
            namespace,
            name,
            watch,
        } => {
            let q = query(&req);
            let watch = *watch || matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
            let Some(verb) = verb_of(req.method(), name.is_some(), watch) else {
                return (
                    Err(ApiError::method_not_allowed(format!(
                        "{} is not supported on {}",
                        req.method(),
                        req.uri().path()
                    ))),
                    "get",
                    "",
                );
            };
            let def = &reg.resources[*index];
            (
                verb,
                Attributes {
                    verb: verb.into(),
                    resource: Some((
                        def.group.into(),
                        def.version.into(),
                        def.plural.into(),
                        namespace.clone().unwrap_or_default(),
                        name.clone().unwrap_or_default(),
                    )),
                    path: req.uri().path().into(),
                },
                def.plural,
            )
        }
        _ => (
            "get",
            Attributes {
                verb: req.method().as_str().to_ascii_lowercase(),
                resource: None,
                path: req.uri().path().into(),
            },
            "",
        ),
    };
    if let Err(e) = app.auth.authorize(&user, &attrs).await {
        tracing::info!(user = %user.name, verb, path = %req.uri().path(), "forbidden");
        return (Err(e), verb, resource);
    }
    let result = match route {
        Route::Apis => discovery_response(req.headers(), reg),
        Route::Group => Ok(json_response(StatusCode::OK, &discovery::group(reg))),
        Route::Version => Ok(json_response(
            StatusCode::OK,
            &discovery::resource_list(reg),
        )),
        Route::OpenApiV2 => Ok(full(
            StatusCode::OK,
            "application/json",
            app.openapi_v2.clone(),
        )),
        Route::OpenApiV3Root => Ok(full(
            StatusCode::OK,
            "application/json",
            app.openapi_v3_root.clone(),
        )),
        Route::OpenApiV3 => Ok(full(
            StatusCode::OK,
            "application/json",
            app.openapi_v3.clone(),
        )),
        Route::Resource {
            index,
            namespace,
            name,
            ..
        } => resource_request(app, verb, index, namespace, name, req).await,
        Route::Health | Route::Metrics => unreachable!("answered above"),
    };
    (result, verb, resource)
}

fn discovery_response(
    headers: &hyper::HeaderMap,
    reg: &crate::resource::Registry,
) -> ApiResult<Response<Body>> {
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in accept.split(',') {
        if part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            let (version, ct) = if part.contains("v=v2beta1") {
                ("v2beta1", discovery::AGGREGATED_V2BETA1)
            } else {
                ("v2", discovery::AGGREGATED_V2)
            };
            let body =
                serde_json::to_vec(&discovery::aggregated(reg, version)).expect("serialisable");
            return Ok(full(StatusCode::OK, ct, body));
        }
    }
    Ok(json_response(StatusCode::OK, &discovery::group_list(reg)))
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn content_length(req: &Request<Incoming>) -> Option<usize> {
    header(req, "content-length").and_then(|v| v.parse().ok())
}

/// The object a create or update sends: read, checked against the URL's identity and, when
/// asked, against the schema.
async fn read_object(
    app: &App,
    req: Request<Incoming>,
    index: usize,
    q: &HashMap<String, String>,
    namespace: &str,
    url_name: Option<&str>,
) -> ApiResult<Value> {
    let def = &app.backend.registry().resources[index];
    let content_type = header(&req, "content-type")
        .unwrap_or("application/json")
        .to_string();
    // The body is read before it is judged so that an error answer does not leave an unread
    // request stream behind (HTTP/2 clients see that as a reset).
    let body = read_body(req, def).await?;
    check_json_content_type(&content_type)?;
    let mut obj = object::parse_body(def, &body)?;
    drop(body);
    object::check_identity(def, &mut obj, namespace, url_name)?;
    validate_fields(app, index, q, &obj)?;
    Ok(obj)
}

/// Waits for room in the write budget for this request's body.
async fn write_permit(
    app: &App,
    req: &Request<Incoming>,
    def: &ResourceDef,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    let declared = content_length(req).unwrap_or(def.max_object_bytes);
    let mib = declared
        .min(def.max_object_bytes)
        .div_ceil(1024 * 1024)
        .max(1) as u32;
    let mib = mib.min(app.opts.write_budget_mib.max(1));
    app.write_budget
        .clone()
        .acquire_many_owned(mib)
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))
}

async fn read_body(req: Request<Incoming>, def: &ResourceDef) -> ApiResult<Bytes> {
    let limit = def.max_object_bytes;
    let too_large = || {
        ApiError::too_large(format!(
            "the request body exceeds the limit for {} ({} MiB); store smaller objects or raise the limit \
             in the server configuration",
            def.plural,
            limit / (1024 * 1024)
        ))
    };
    if content_length(&req).is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let body = http_body_util::Limited::new(req.into_body(), limit);
    match body.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// Runs a blocking store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
}

fn parse_rv(v: &Value) -> Option<u64> {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
}

async fn resource_request(
    app: &Arc<App>,
    verb: &'static str,
    index: usize,
    namespace: Option<String>,
    name: Option<String>,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let reg = app.backend.registry();
    let def = &reg.resources[index];
    let q = query(&req);
    let accept = header(&req, "accept").unwrap_or("").to_string();
    let shape = negotiate(&accept)?;
    let partial_version = if accept.contains("v=v1beta1;g=meta.k8s.io")
        || accept.contains("g=meta.k8s.io;v=v1beta1")
    {
        "v1beta1"
    } else {
        "v1"
    };
    let ns = namespace.clone().unwrap_or_default();
    let dry_run = q.get("dryRun").is_some_and(|v| v == "All");
    if def.computed && !matches!(verb, "get" | "list" | "watch") {
        return Err(ApiError::method_not_allowed(format!(
            "{} are computed from other objects and cannot be written ({verb})",
            def.plural
        )));
    }
    match verb {
        "get" => {
            let name = name.expect("routed with a name");
            let backend = app.backend.clone();
            let bytes = blocking(move || backend.get(index, &ns, &name)).await?;
            shaped_single(app, def, shape, partial_version, &q, bytes)
        }
        "list" => list(app, index, namespace, q, shape, partial_version).await,
        "watch" => watch(app, index, namespace, q, shape).await,
        "create" => {
            let _permit = write_permit(app, &req, def).await?;
            let mut obj = read_object(app, req, index, &q, &ns, None).await?;
            let name = object::prepare_create(def, &mut obj)?;
            if dry_run {
                return Ok(json_response(StatusCode::CREATED, &obj));
            }
            let backend = app.backend.clone();
            let stored = blocking(move || {
                backend.write(WriteOp::Create {
                    resource: index,
                    namespace: ns,
                    name,
                    object: obj,
                })
            })
            .await?;
            Ok(full(StatusCode::CREATED, "application/json", stored))
        }
        "update" => {
            let _permit = write_permit(app, &req, def).await?;
            let name = name.expect("routed with a name");
            let obj = read_object(app, req, index, &q, &ns, Some(&name)).await?;
            let expected_rv = parse_rv(&obj);
            if dry_run {
                return Ok(json_response(StatusCode::OK, &obj));
            }
            let backend = app.backend.clone();
            let stored = blocking(move || {
                backend.write(WriteOp::Update {
                    resource: index,
                    namespace: ns,
                    name,
                    object: obj,
                    expected_rv,
                })
            })
            .await?;
            Ok(full(StatusCode::OK, "application/json", stored))
        }
        "patch" => {
            let _permit = write_permit(app, &req, def).await?;
            let name = name.expect("routed with a name");
            let content_type = header(&req, "content-type").unwrap_or("").to_string();
            let body = read_body(req, def).await?;
            let kind = PatchType::from_content_type(&content_type)?;
            // A patch without a resourceVersion of its own applies to whatever is current:
            // retry when another writer got in between our read and our write.
            for attempt in 0.. {
                let backend = app.backend.clone();
                let (ns2, name2) = (ns.clone(), name.clone());
                let current = blocking(move || backend.get(index, &ns2, &name2)).await?;
                let mut obj: Value = serde_json::from_slice(&current)
                    .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
                let current_rv = parse_rv(&obj);
                patch::apply(kind, &mut obj, &body)?;
                if !obj.is_object() {
                    return Err(ApiError::bad_request("the patch does not leave an object"));
                }
                object::check_identity(def, &mut obj, &ns, Some(&name))?;
                validate_fields(app, index, &q, &obj)?;
                let patched_rv = parse_rv(&obj);
                let pinned = patched_rv != current_rv;
                if dry_run {
                    return Ok(json_response(StatusCode::OK, &obj));
                }
                let backend = app.backend.clone();
                let (ns2, name2) = (ns.clone(), name.clone());
                let result = blocking(move || {
                    backend.write(WriteOp::Update {
                        resource: index,
                        namespace: ns2,
                        name: name2,
                        object: obj,
                        expected_rv: patched_rv,
                    })
                })
                .await;
                match result {
                    Ok(stored) => return Ok(full(StatusCode::OK, "application/json", stored)),
                    Err(e) if e.code == 409 && !pinned && attempt < 5 => continue,
                    Err(e) => return Err(e),
                }
            }
            unreachable!("the loop returns")
        }
        "delete" => {
            let name = name.expect("routed with a name");
            let body = read_body(req, def).await?;
            let (expected_rv, expected_uid) = delete_preconditions(&body)?;
            let backend = app.backend.clone();
            if dry_run {
                let bytes = blocking(move || backend.get(index, &ns, &name)).await?;
                return Ok(full(StatusCode::OK, "application/json", bytes));
            }
            let stored = blocking(move || {
                backend.write(WriteOp::Delete {
                    resource: index,
                    namespace: ns,
                    name,
                    expected_rv,
                    expected_uid,
                })
            })
            .await?;
            Ok(full(StatusCode::OK, "application/json", stored))
        }
        "deletecollection" => {
            let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?;
            let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))?;
            let backend = app.backend.clone();
            let list_kind = def.list_kind.clone();
            let api_version = def.api_version();
            let deleted = blocking(move || {
                let mut keys = Vec::new();
                backend.list(index, namespace.as_deref(), None, &mut |row: Row| {
                    if labels.matches(row.labels) && fields.matches(row.namespace, row.name) {
                        keys.push((row.namespace.to_string(), row.name.to_string()));
                    }
                    Visit::Skip
                })?;
                let mut items = Vec::new();
                for (ns, name) in keys {
                    if dry_run {
                        items.push(Bytes::from(backend.get(index, &ns, &name)?));
                        continue;
                    }
                    match backend.write(WriteOp::Delete {
                        resource: index,
                        namespace: ns,
                        name,
                        expected_rv: None,
                        expected_uid: None,
                    }) {
                        Ok(b) => items.push(b),
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(items)
            })
            .await?;
            let mut out = format!(
                r#"{{"kind":"{list_kind}","apiVersion":"{api_version}","metadata":{{}},"items":["#
            )
            .into_bytes();
            for (i, item) in deleted.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(item);
            }
            out.extend_from_slice(b"]}");
            Ok(full(StatusCode::OK, "application/json", out))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "unsupported verb {verb}"
        ))),
    }
}

fn check_json_content_type(ct: &str) -> ApiResult<()> {
    let base = ct.split(';').next().unwrap_or("").trim();
    if base.is_empty() || base == "application/json" || base == "*/*" {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({base:?}): send application/json"
        )))
    }
}

fn delete_preconditions(body: &[u8]) -> ApiResult<(Option<u64>, Option<String>)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, None));
    }
    let opts: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "DeleteOptions in the request body are not valid JSON: {e}"
        ))
    })?;
    let pre = &opts["preconditions"];
    let rv = match pre["resourceVersion"].as_str() {
        Some(s) => Some(s.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "preconditions.resourceVersion {s:?} is not a resourceVersion of this server"
            ))
        })?),
        None => None,
    };
    Ok((rv, pre["uid"].as_str().map(str::to_string)))
}

fn validate_fields(
    app: &App,
    index: usize,
    q: &HashMap<String, String>,
    obj: &Value,
) -> ApiResult<()> {
    if q.get("fieldValidation").map(String::as_str) != Some("Strict") {
        return Ok(());
    }
    let mut unknown = Vec::new();
    object::unknown_fields(&app.validation[index], obj, "", &mut unknown);
    if unknown.is_empty() {
        return Ok(());
    }
    let def = &app.backend.registry().resources[index];
    let list: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    Err(ApiError::bad_request(format!(
        "strict decoding error: {} (fields {} does not define)",
        list.join(", "),
        def.kind
    )))
}

fn shaped_single(
    app: &App,
    def: &ResourceDef,
    shape: Shape,
    partial_version: &str,
    q: &HashMap<String, String>,
    bytes: Vec<u8>,
) -> ApiResult<Response<Body>> {
    match shape {
        Shape::Object => Ok(full(StatusCode::OK, "application/json", bytes)),
        Shape::Metadata => {
            let obj: Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut m = object::metadata_only(&obj, true);
            m["apiVersion"] = json!(format!("meta.k8s.io/{partial_version}"));
            Ok(json_response(StatusCode::OK, &m))
        }
        Shape::Table => {
            let obj: Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(e.to_string()))?;
            let include = q
                .get("includeObject")
                .map(String::as_str)
                .unwrap_or("Metadata");
            let mut t = table_header(def);
            t["rows"] = json!([table_row(def, &obj, include)]);
            t["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            let _ = app;
            Ok(json_response(StatusCode::OK, &t))
        }
    }
}

fn table_header(def: &ResourceDef) -> Value {
    let mut cols = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name of the object.", "priority": 0}),
    ];
    for c in &def.columns {
        cols.push(json!({"name": c.name, "type": c.kind, "format": "", "description": c.description, "priority": c.priority}));
    }
    cols.push(json!({"name": "Age", "type": "date", "format": "", "description": "Time since the object was created.", "priority": 0}));
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols})
}

fn table_row(def: &ResourceDef, obj: &Value, include: &str) -> Value {
    let mut cells = vec![obj["metadata"]["name"].clone()];
    for c in &def.columns {
        let v = object::lookup(obj, c.path).cloned().unwrap_or(Value::Null);
        cells.push(match (c.kind, v) {
            ("integer" | "number", Value::Null) => json!(0),
            (_, Value::Null) => json!("<none>"),
            (_, Value::Array(a)) => json!(a
                .iter()
                .map(|x| x
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string()))
                .collect::<Vec<_>>()
                .join(",")),
            (_, v) => v,
        });
    }
    cells.push(json!(object::human_age(
        obj["metadata"]["creationTimestamp"].as_str().unwrap_or("")
    )));
    let mut row = json!({"cells": cells});
    match include {
        "None" => {}
        "Object" => row["object"] = obj.clone(),
        _ => row["object"] = object::metadata_only(obj, true),
    }
    row
}

struct ContinueToken {
    rv: u64,
    namespace: String,
    name: String,
}

fn encode_continue(t: &ContinueToken) -> String {
    let v = json!({"v": "kubescape-storage/1", "rv": t.rv, "ns": t.namespace, "name": t.name});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_continue(s: &str) -> ApiResult<ContinueToken> {
    let bad = || {
        ApiError::bad_request(format!(
            "continue token {s:?} is not one this server issued; start the list again without it"
        ))
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(ContinueToken {
        rv: v["rv"].as_u64().ok_or_else(bad)?,
        namespace: v["ns"].as_str().ok_or_else(bad)?.to_string(),
        name: v["name"].as_str().ok_or_else(bad)?.to_string(),
    })
}

/// The start of a list document, up to its first item.
fn list_opening(buf: &mut Vec<u8>, shape: Shape, def: &ResourceDef, partial_version: &str) {
    let (kind, api_version) = if shape == Shape::Metadata {
        (
            "PartialObjectMetadataList".to_string(),
            format!("meta.k8s.io/{partial_version}"),
        )
    } else {
        (def.list_kind.clone(), def.api_version())
    };
    buf.extend_from_slice(
        format!(r#"{{"kind":"{kind}","apiVersion":"{api_version}","items":["#).as_bytes(),
    );
}

/// A streaming response body fed by a blocking producer through a bounded channel.
fn channel_body() -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    });
    (tx, StreamBody::new(stream).boxed())
}

async fn list(
    app: &Arc<App>,
    index: usize,
    namespace: Option<String>,
    q: HashMap<String, String>,
    shape: Shape,
    partial_version: &str,
) -> ApiResult<Response<Body>> {
    let def = app.backend.registry().resources[index].clone();
    let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))?;
    let limit = match q.get("limit").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("limit {l:?} is not a number")))?,
        ),
    };
    let token = q
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(|c| decode_continue(c))
        .transpose()?;
    // Upstream storage lists metadata only unless asked for `fullSpec`; we list full objects by
    // default and honour `metadata` for clients written against that convention.
    let metadata_only = q.get("resourceVersion").map(String::as_str) == Some("metadata");
    let include = q
        .get("includeObject")
        .cloned()
        .unwrap_or_else(|| "Metadata".into());
    let (tx, body) = channel_body();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<ApiResult<()>>();
    let backend = app.backend.clone();
    let partial_version = partial_version.to_string();
    tokio::task::spawn_blocking(move || {
        let mut first_tx = Some(first_tx);
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut taken = 0usize;
        let mut last: Option<(String, String)> = None;
        let mut more = false;
        let mut send_failed = false;
        let mut rows: Vec<Value> = Vec::new();
        let mut started = false;
        let after = token
            .as_ref()
            .map(|t| (t.namespace.as_str(), t.name.as_str()));
        let only_name = fields.exact_name().map(str::to_string);
        let result = backend.list(index, namespace.as_deref(), after, &mut |row: Row| {
            if let Some(n) = &only_name {
                if n != row.name {
                    return Visit::Skip;
                }
            }
            if !labels.matches(row.labels) || !fields.matches(row.namespace, row.name) {
                return Visit::Skip;
            }
            if limit.is_some_and(|l| taken >= l) {
                more = true;
                return Visit::Stop;
            }
            taken += 1;
            last = Some((row.namespace.to_string(), row.name.to_string()));
            if shape == Shape::Table {
                if let Ok(obj) = serde_json::from_slice::<Value>(row.object) {
                    rows.push(table_row(&def, &obj, &include));
                }
                return Visit::Take;
            }
            if !started {
                started = true;
                if let Some(tx) = first_tx.take() {
                    let _ = tx.send(Ok(()));
                }
                list_opening(&mut buf, shape, &def, &partial_version);
            } else {
                buf.push(b',');
            }
            if shape == Shape::Metadata || metadata_only {
                match serde_json::from_slice::<Value>(row.object) {
                    Ok(obj) => {
                        let mut m = object::metadata_only(&obj, shape == Shape::Metadata);
                        if shape == Shape::Metadata {
                            m["apiVersion"] = json!(format!("meta.k8s.io/{partial_version}"));
                        }
                        serde_json::to_writer(&mut buf, &m).expect("to vec");
                    }
                    Err(_) => buf.extend_from_slice(b"null"),
                }
            } else {
                buf.extend_from_slice(row.object);
            }
            if buf.len() >= 64 * 1024 {
                let chunk = Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(64 * 1024)));
                if tx.blocking_send(chunk).is_err() {
                    send_failed = true;
                    return Visit::Stop;
                }
            }
            Visit::Take
        });
        let snapshot_rv = match result {
            Ok(rv) => rv,
            Err(e) => {
                if let Some(ftx) = first_tx.take() {
                    let _ = ftx.send(Err(e));
                } else {
                    tracing::error!(error = %e.message, "list failed after the response started");
                }
                return;
            }
        };
        if send_failed {
            return;
        }
        if let Some(tx) = first_tx.take() {
            let _ = tx.send(Ok(()));
        }
        let list_rv = token.as_ref().map_or(snapshot_rv, |t| t.rv);
        let continue_token = match (more, &last) {
            (true, Some((ns, name))) => encode_continue(&ContinueToken {
                rv: list_rv,
                namespace: ns.clone(),
                name: name.clone(),
            }),
            _ => String::new(),
        };
        let meta = json!({"resourceVersion": list_rv.to_string(), "continue": continue_token});
        if shape == Shape::Table {
            let mut t = table_header(&def);
            t["rows"] = Value::Array(std::mem::take(&mut rows));
            t["metadata"] = meta;
            let _ = tx.blocking_send(Bytes::from(serde_json::to_vec(&t).expect("serialisable")));
            return;
        }
        if !started {
            list_opening(&mut buf, shape, &def, &partial_version);
        }
        buf.extend_from_slice(b"],\"metadata\":");
        serde_json::to_writer(&mut buf, &meta).expect("to vec");
        buf.push(b'}');
        let _ = tx.blocking_send(Bytes::from(buf));
    });
    match first_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(ApiError::internal("list task ended unexpectedly")),
    }
    let mut r = Response::new(body);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("static"));
    Ok(r)
}

struct WatchFilter {
    index: usize,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl WatchFilter {
    fn matches(&self, e: &Event) -> bool {
        e.resource == self.index
            && self.namespace.as_ref().is_none_or(|ns| *ns == e.namespace)
            && self.labels.matches(e.labels.as_ref())
            && self.fields.matches(&e.namespace, &e.name)
    }
}

fn watch_line(
    kind: EventType,
    object: &[u8],
    def: &ResourceDef,
    shape: Shape,
    include: &str,
) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(format!(r#"{{"type":"{}","object":"#, kind.as_str()).as_bytes());
    match shape {
        Shape::Object => out.extend_from_slice(object),
        Shape::Metadata | Shape::Table => {
            let obj: Value = serde_json::from_slice(object).unwrap_or(Value::Null);
            let v = if shape == Shape::Table {
                let mut t = table_header(def);
                t["rows"] = json!([table_row(def, &obj, include)]);
                t["metadata"] = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
                t
            } else {
                object::metadata_only(&obj, true)
            };
            serde_json::to_writer(&mut out, &v).expect("to vec");
        }
    }
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

async fn watch(
    app: &Arc<App>,
    index: usize,
    namespace: Option<String>,
    q: HashMap<String, String>,
    shape: Shape,
) -> ApiResult<Response<Body>> {
    let def = app.backend.registry().resources[index].clone();
    let filter = WatchFilter {
        index,
        namespace: namespace.clone(),
        labels: LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))?,
    };
    let bookmarks = q
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true" || v == "1");
    let send_initial = q.get("sendInitialEvents").is_some_and(|v| v == "true");
    let include = q
        .get("includeObject")
        .cloned()
        .unwrap_or_else(|| "Metadata".into());
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(app.opts.max_watch)
        .min(app.opts.max_watch);
    let requested = q.get("resourceVersion").map(String::as_str).unwrap_or("");
    let events = app.backend.events();
    // A watch without a version (or "0") starts with the current state as ADDED events.
    let (cursor, initial) = match requested {
        "" | "0" => (None, true),
        s => {
            let rv: u64 = s.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "resourceVersion {s:?} is not a resourceVersion of this server"
                ))
            })?;
            (Some(rv), send_initial)
        }
    };
    if let Some(rv) = cursor.filter(|_| !initial) {
        if let Err(too_old) = events.since(rv, &mut Vec::new()) {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} (oldest retained: {})",
                too_old.horizon
            )));
        }
    }
    let (tx, body) = channel_body();
    let app = app.clone();
    tokio::spawn(async move {
        app.metrics.watchers(1);
        run_watch(
            &app,
            &def,
            index,
            filter,
            tx,
            cursor,
            initial,
            WatchSettings {
                send_initial,
                bookmarks,
                shape,
                include,
                timeout,
            },
        )
        .await;
        app.metrics.watchers(-1);
    });
    let mut r = Response::new(body);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("static"));
    Ok(r)
}

struct WatchSettings {
    send_initial: bool,
    bookmarks: bool,
    shape: Shape,
    include: String,
    timeout: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn run_watch(
    app: &Arc<App>,
    def: &ResourceDef,
    index: usize,
    filter: WatchFilter,
    tx: mpsc::Sender<Bytes>,
    cursor: Option<u64>,
    initial: bool,
    s: WatchSettings,
) {
    // Subscribe before the initial listing so that no commit after its snapshot is missed.
    let mut latest = app.backend.events().subscribe();
    let deadline = tokio::time::Instant::now() + s.timeout;
    let mut cursor = match (initial, cursor) {
        (false, Some(rv)) => rv,
        _ => {
            // The current state as ADDED events, from one snapshot whose version the watch
            // then continues from.
            let backend = app.backend.clone();
            let labels = filter.labels.clone();
            let fields = filter.fields.clone();
            let namespace = filter.namespace.clone();
            let def2 = def.clone();
            let tx2 = tx.clone();
            let (shape, include) = (s.shape, s.include.clone());
            let listed = blocking(move || {
                backend.list(index, namespace.as_deref(), None, &mut |row: Row| {
                    if !labels.matches(row.labels) || !fields.matches(row.namespace, row.name) {
                        return Visit::Skip;
                    }
                    let line = watch_line(EventType::Added, row.object, &def2, shape, &include);
                    if tx2.blocking_send(line).is_err() {
                        return Visit::Stop;
                    }
                    Visit::Take
                })
            })
            .await;
            match listed {
                Ok(rv) => {
                    if s.send_initial && s.bookmarks {
                        let b = json!({"type": "BOOKMARK", "object": {"kind": def.kind, "apiVersion": def.api_version(),
                            "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}});
                        if tx.send(Bytes::from(format!("{b}\n"))).await.is_err() {
                            return;
                        }
                    }
                    rv
                }
                Err(e) => {
                    let line = json!({"type": "ERROR", "object": e.to_status()});
                    let _ = tx.send(Bytes::from(format!("{line}\n"))).await;
                    return;
                }
            }
        }
    };
    let mut next_bookmark = tokio::time::Instant::now() + app.opts.bookmark_interval;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        latest.mark_unchanged();
        if let Err(too_old) = app.backend.events().since(cursor, &mut batch) {
            let status = ApiError::gone(format!(
                "too old resource version: {cursor} (oldest retained: {}); relist",
                too_old.horizon
            ))
            .to_status();
            let line = json!({"type": "ERROR", "object": status});
            let _ = tx.send(Bytes::from(format!("{line}\n"))).await;
            return;
        }
        for e in &batch {
            cursor = e.rv;
            if filter.matches(e) {
                let line = watch_line(e.kind, &e.object, def, s.shape, &s.include);
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            continue;
        }
        tokio::select! {
            changed = latest.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tokio::time::sleep_until(next_bookmark), if s.bookmarks => {
                next_bookmark = tokio::time::Instant::now() + app.opts.bookmark_interval;
                let b = json!({"type": "BOOKMARK", "object": {"kind": def.kind, "apiVersion": def.api_version(),
                    "metadata": {"resourceVersion": cursor.to_string()}}});
                if tx.send(Bytes::from(format!("{b}\n"))).await.is_err() { return }
            }
            _ = tx.closed() => return,
        }
    }
}
