//! `kubescape serve <role>`: the in-cluster services. Storage first.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use kubescape_apiserver::auth::{self, Auth, RequestHeaderAuth};
use kubescape_apiserver::{tls, App, ServeOptions};
use kubescape_storage::{Store, StoreOptions};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub enum ServeCommand {
    /// The aggregated API server for spdx.softwarecomposition.kubescape.io (SBOMs, vulnerability
    /// manifests, configuration scans, profiles)
    Storage(Box<StorageArgs>),
    /// The posture service: REST API for misconfiguration scans, results published to storage
    Kubescape(crate::serve_kubescape::KubescapeArgs),
    /// Command and control: authenticated triggerAction, recurring scans as CronJobs
    Operator(crate::serve_operator::OperatorArgs),
    /// The image vulnerability service: SBOMs and vulnerability manifests of images, written to
    /// storage
    Kubevuln(crate::serve_kubevuln::KubevulnArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum, Deserialize)]
pub enum AuthorizationMode {
    /// Ask kube-apiserver with a SubjectAccessReview (cached); members of system:masters are allowed
    #[value(name = "Delegated")]
    Delegated,
    /// Allow every authenticated request (development only)
    #[value(name = "AlwaysAllow")]
    AlwaysAllow,
}

#[derive(Args, Default)]
pub struct StorageArgs {
    /// Port to serve HTTPS on [default: 8443]
    #[arg(long)]
    pub secure_port: Option<u16>,
    /// Address to listen on [default: 0.0.0.0]
    #[arg(long)]
    pub bind_address: Option<String>,
    /// Serving certificate (PEM); without it and --tls-private-key-file a self-signed one is generated
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// Private key of the serving certificate (PEM)
    #[arg(long, value_name = "FILE")]
    pub tls_private_key_file: Option<PathBuf>,
    /// CA whose client certificates authenticate users (CN = user, O = groups)
    #[arg(long, value_name = "FILE")]
    pub client_ca_file: Option<PathBuf>,
    /// CA of kube-apiserver's front-proxy client certificate; only requests with such a
    /// certificate may carry X-Remote-* identity headers. Default: read from
    /// kube-system/extension-apiserver-authentication
    #[arg(long, value_name = "FILE")]
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// Common names accepted for the front-proxy certificate (comma-separated; empty = any)
    #[arg(long, value_delimiter = ',')]
    pub requestheader_allowed_names: Option<Vec<String>>,
    /// Headers carrying the user name [default: X-Remote-User]
    #[arg(long, value_delimiter = ',')]
    pub requestheader_username_headers: Option<Vec<String>>,
    /// Headers carrying the groups [default: X-Remote-Group]
    #[arg(long, value_delimiter = ',')]
    pub requestheader_group_headers: Option<Vec<String>>,
    /// Header prefixes carrying extra user attributes [default: X-Remote-Extra-]
    #[arg(long, value_delimiter = ',')]
    pub requestheader_extra_headers_prefix: Option<Vec<String>>,
    /// Kubeconfig for TokenReview and the published authentication ConfigMap (default: in-cluster)
    #[arg(long, value_name = "FILE")]
    pub authentication_kubeconfig: Option<PathBuf>,
    /// Kubeconfig for SubjectAccessReview (default: in-cluster)
    #[arg(long, value_name = "FILE")]
    pub authorization_kubeconfig: Option<PathBuf>,
    /// Serve requests without credentials as system:anonymous [default: false]
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub anonymous_auth: Option<bool>,
    /// How requests are authorized [default: Delegated]
    #[arg(long, value_enum)]
    pub authorization_mode: Option<AuthorizationMode>,
    /// Where the database lives [default: /data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// JSON configuration (the chart's ConfigMap); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seconds between watch bookmarks [default: 60]
    #[arg(long)]
    pub watch_bookmark_interval: Option<u64>,
    /// Writes that may wait for the writer before clients get 429 [default: 1024]
    #[arg(long)]
    pub write_queue_capacity: Option<usize>,
    /// Changes retained for watches to resume from [default: 10000]
    #[arg(long)]
    pub watch_window_events: Option<usize>,
}

/// The JSON configuration file: the same settings in camelCase.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StorageConfig {
    secure_port: Option<u16>,
    bind_address: Option<String>,
    tls_cert_file: Option<PathBuf>,
    tls_private_key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    requestheader_client_ca_file: Option<PathBuf>,
    requestheader_allowed_names: Option<Vec<String>>,
    authentication_kubeconfig: Option<PathBuf>,
    authorization_kubeconfig: Option<PathBuf>,
    anonymous_auth: Option<bool>,
    authorization_mode: Option<AuthorizationMode>,
    data_dir: Option<PathBuf>,
    watch_bookmark_interval: Option<u64>,
    write_queue_capacity: Option<usize>,
    watch_window_events: Option<usize>,
}

macro_rules! merge {
    ($args:ident, $cfg:ident, $($field:ident),*) => {
        $( if $args.$field.is_none() { $args.$field = $cfg.$field.take(); } )*
    };
}

pub fn run(command: ServeCommand) -> Result<ExitCode> {
    match command {
        ServeCommand::Storage(args) => {
            limit_malloc_arenas();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            rt.block_on(storage(*args))?;
            Ok(ExitCode::SUCCESS)
        }
        ServeCommand::Kubescape(args) => crate::serve_kubescape::run(args),
        ServeCommand::Operator(args) => crate::serve_operator::run(args),
        ServeCommand::Kubevuln(args) => crate::serve_kubevuln::run(args),
    }
}

/// glibc gives threads their own malloc arenas and keeps what they free: a server that parses
/// multi-MB bodies on many threads would otherwise hold hundreds of MiB it no longer uses.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called before the runtime's threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn storage(mut a: StorageArgs) -> Result<()> {
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --config {}", path.display()))?;
        let mut cfg: StorageConfig = serde_json::from_str(&text).with_context(|| {
            format!("--config {} is not a valid storage configuration (JSON with camelCase keys such as securePort, dataDir)", path.display())
        })?;
        merge!(
            a,
            cfg,
            secure_port,
            bind_address,
            tls_cert_file,
            tls_private_key_file,
            client_ca_file,
            requestheader_client_ca_file,
            requestheader_allowed_names,
            authentication_kubeconfig,
            authorization_kubeconfig,
            anonymous_auth,
            authorization_mode,
            data_dir,
            watch_bookmark_interval,
            write_queue_capacity,
            watch_window_events
        );
    }
    let port = a.secure_port.unwrap_or(8443);
    let bind = a.bind_address.clone().unwrap_or_else(|| "0.0.0.0".into());
    let addr: SocketAddr = format!("{bind}:{port}")
        .parse()
        .or_else(|_| format!("[{bind}]:{port}").parse())
        .with_context(|| format!("--bind-address {bind:?} is not an IP address"))?;
    let mode = a.authorization_mode.unwrap_or(AuthorizationMode::Delegated);
    let anonymous = a.anonymous_auth.unwrap_or(false);

    let authn_client = auth::delegation_client(a.authentication_kubeconfig.as_deref())
        .await
        .map_err(anyhow::Error::msg)?;
    let authz_client = match &a.authorization_kubeconfig {
        Some(p) => auth::delegation_client(Some(p))
            .await
            .map_err(anyhow::Error::msg)?,
        None => authn_client.clone(),
    };
    if mode == AuthorizationMode::Delegated && authz_client.is_none() {
        bail!(
            "no way to authorize requests: give --authorization-kubeconfig (or run in a cluster), \
             or --authorization-mode=AlwaysAllow for a development server"
        );
    }
    let published = match (&authn_client, &a.requestheader_client_ca_file) {
        (Some(c), None) => match auth::published_authentication(c).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "front-proxy authentication not configured from the cluster");
                None
            }
        },
        _ => None,
    };
    let requestheader_ca = match (
        &a.requestheader_client_ca_file,
        published.as_ref().and_then(|p| p.requestheader_ca.as_ref()),
    ) {
        (Some(path), _) => Some(tls::read_certs(path, "--requestheader-client-ca-file")?),
        (None, Some(pem)) => Some(tls::parse_certs(pem, "requestheader-client-ca-file")?),
        _ => None,
    };
    let client_ca = match (
        &a.client_ca_file,
        published.as_ref().and_then(|p| p.client_ca.as_ref()),
    ) {
        (Some(path), _) => Some(tls::read_certs(path, "--client-ca-file")?),
        (None, Some(pem)) => Some(tls::parse_certs(pem, "client-ca-file")?),
        _ => None,
    };
    let pick = |flag: &Option<Vec<String>>,
                published: Option<&Vec<String>>,
                default: &str|
     -> Vec<String> {
        flag.clone()
            .or_else(|| published.filter(|p| !p.is_empty()).cloned())
            .unwrap_or_else(|| vec![default.to_string()])
    };
    let request_header = match &requestheader_ca {
        Some(cas) => Some(RequestHeaderAuth {
            verifier: tls::verifier(cas, false)?,
            allowed_names: a
                .requestheader_allowed_names
                .clone()
                .or_else(|| published.as_ref().map(|p| p.allowed_names.clone()))
                .unwrap_or_default(),
            username_headers: pick(
                &a.requestheader_username_headers,
                published.as_ref().map(|p| &p.username_headers),
                "X-Remote-User",
            ),
            group_headers: pick(
                &a.requestheader_group_headers,
                published.as_ref().map(|p| &p.group_headers),
                "X-Remote-Group",
            ),
            extra_prefixes: pick(
                &a.requestheader_extra_headers_prefix,
                published.as_ref().map(|p| &p.extra_prefixes),
                "X-Remote-Extra-",
            ),
        }),
        None => None,
    };
    let client_verifier = match &client_ca {
        Some(cas) => Some(tls::verifier(cas, false)?),
        None => None,
    };
    let mut all_cas = Vec::new();
    all_cas.extend(requestheader_ca.clone().unwrap_or_default());
    all_cas.extend(client_ca.clone().unwrap_or_default());
    let hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        bind.clone(),
        "storage".into(),
        "storage.kubescape.svc".into(),
    ];
    let (chain, key) = tls::serving_identity(
        a.tls_cert_file.as_deref(),
        a.tls_private_key_file.as_deref(),
        &hosts,
    )?;
    let tls_config = tls::server_config(chain, key, &all_cas)?;

    let data_dir = a.data_dir.clone().unwrap_or_else(|| PathBuf::from("/data"));
    let mut opts = StoreOptions::default();
    if let Some(c) = a.write_queue_capacity {
        opts.queue_capacity = c;
    }
    if let Some(w) = a.watch_window_events {
        opts.watch_window_events = w;
    }
    let store = Store::open(&data_dir, kubescape_storage::kinds::registry(), opts)?;
    let auth = Arc::new(Auth::new(
        anonymous,
        mode == AuthorizationMode::AlwaysAllow,
        request_header,
        client_verifier,
        authn_client,
        authz_client,
    ));
    let serve_opts = ServeOptions {
        bookmark_interval: Duration::from_secs(a.watch_bookmark_interval.unwrap_or(60).max(1)),
        ..Default::default()
    };
    let app = App::new(store, auth, serve_opts);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--bind-address/--secure-port)"))?;
    tracing::info!(
        address = %listener.local_addr().unwrap_or(addr),
        data_dir = %data_dir.display(),
        authorization = ?mode,
        anonymous,
        front_proxy = requestheader_ca.is_some(),
        "storage serving"
    );
    if anonymous && mode == AuthorizationMode::AlwaysAllow {
        tracing::warn!(
            "anonymous requests are allowed everything: a development server, not for a cluster"
        );
    }
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
        tracing::info!("shutting down");
    };
    kubescape_apiserver::serve(listener, tls_config, app, shutdown).await;
    Ok(())
}
