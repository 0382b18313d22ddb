//! What the plain-HTTP in-cluster services (posture service, operator) share: the accept loop,
//! JSON answers, and the Kubernetes client they act with.

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
