//! What the plain-HTTP in-cluster services (posture service, operator) share: the accept loop,
//! JSON answers, caller authentication, and the Kubernetes client they act with.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

pub type Reply = Response<Full<Bytes>>;

pub fn reply(status: StatusCode, body: Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

/// Binds `addr` and answers HTTP/1.1 requests with `handle` until Ctrl-C.
pub async fn serve<S, F, Fut>(addr: &str, state: Arc<S>, handle: F) -> Result<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<hyper::body::Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--bind-address/--port)"))?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => r?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                .await;
        });
    }
}

/// A client for the given kubeconfig context, or the inferred credentials (in-cluster service
/// account, else the current kubeconfig context).
pub async fn kube_client(context: Option<&str>) -> Result<kube::Client> {
    let config = match context {
        Some(ctx) => {
            kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
                context: Some(ctx.to_string()),
                ..Default::default()
            })
            .await?
        }
        None => kube::Config::infer()
            .await
            .context("no cluster credentials (in-cluster or kubeconfig)")?,
    };
    Ok(kube::Client::try_from(config)?)
}

/// The whole request body; the refusal is the finished 400 answer.
pub async fn body(req: Request<hyper::body::Incoming>) -> Result<Bytes, Reply> {
    use http_body_util::BodyExt;
    match req.into_body().collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": format!("cannot read the request: {e}")}),
        )),
    }
}

/// Whether `user` is on the allow-list (entries are names; a trailing `*` matches a prefix).
pub fn allowed(patterns: &[String], user: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => user.starts_with(prefix),
        None => p == user,
    })
}

/// Authenticates the caller's bearer token (TokenReview) and checks the allow-list. The
/// refusal is the finished 401/403 answer.
pub async fn authorize(
    auth: &kubescape_apiserver::auth::Auth,
    allow_list: &[String],
    headers: &hyper::HeaderMap,
) -> Result<String, Reply> {
    let user = match auth
        .authenticate(&kubescape_apiserver::auth::PeerIdentity::None, headers)
        .await
    {
        Ok(u) => u,
        Err(e) => {
            return Err(reply(
                StatusCode::from_u16(e.code).unwrap_or(StatusCode::UNAUTHORIZED),
                serde_json::json!({"error": "a valid ServiceAccount bearer token is required", "reason": e.message}),
            ))
        }
    };
    if !allowed(allow_list, &user.name) {
        tracing::warn!(user = %user.name, "request refused: identity not in the allow-list");
        return Err(reply(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": format!("{} may not call this service (allowed: {})", user.name, allow_list.join(", "))}),
        ));
    }
    Ok(user.name)
}
