//! `kubescape http-request`: the one HTTP call a recurring-scan CronJob makes (upstream ships a
//! separate image for it; here the same binary serves every container).

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Where Kubernetes mounts a pod's ServiceAccount token.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

#[derive(Args)]
pub struct HttpRequestArgs {
    /// HTTP method
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// http or https
    #[arg(long, default_value = "http")]
    pub scheme: String,
    /// Host and port, e.g. operator:4002
    #[arg(long)]
    pub host: String,
    /// Path, e.g. v1/triggerAction
    #[arg(long, default_value = "")]
    pub path: String,
    /// File whose content is the request body (JSON)
    #[arg(long, value_name = "FILE")]
    pub path_body: Option<PathBuf>,
    /// Extra header, `Name: value` (repeatable)
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Bearer token file [default: the pod's ServiceAccount token when mounted]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds to wait for the answer
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// Upstream's CronJob templates pass Go-style flags (`-method=post`); accept them as ours.
pub fn normalize_go_flags(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_http_request = args.iter().any(|a| a == "http-request");
    if !is_http_request {
        return args;
    }
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s) if s.starts_with('-') && !s.starts_with("--") && s.len() > 2 => {
                format!("-{s}").into()
            }
            _ => a,
        })
        .collect()
}

pub fn run(a: HttpRequestArgs) -> Result<ExitCode> {
    let scheme = a.scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        bail!("--scheme {:?}: use http or https", a.scheme);
    }
    let url = format!("{scheme}://{}/{}", a.host, a.path.trim_start_matches('/'));
    let body = match &a.path_body {
        Some(p) => {
            std::fs::read(p).with_context(|| format!("cannot read --path-body {}", p.display()))?
        }
        None => Vec::new(),
    };
    let token_file = a.token_file.clone().or_else(|| {
        let p = PathBuf::from(SERVICE_ACCOUNT_TOKEN);
        p.is_file().then_some(p)
    });
    let token = match &token_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read --token-file {}", p.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(a.timeout))
        .build();
    let mut req = agent
        .request(&a.method.to_ascii_uppercase(), &url)
        .set("Content-Type", "application/json");
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?}: expected `Name: value`"))?;
        req = req.set(name.trim(), value.trim());
    }
    if let Some(t) = &token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let started = std::time::Instant::now();
    let result = if body.is_empty() {
        req.call()
    } else {
        req.send_bytes(&body)
    };
    match result {
        Ok(resp) => {
            let status = resp.status();
            let text = resp.into_string().unwrap_or_default();
            eprintln!(
                "{} {url}: {status} in {} ms",
                a.method.to_ascii_uppercase(),
                started.elapsed().as_millis()
            );
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(ureq::Error::Status(status, resp)) => {
            let text = resp.into_string().unwrap_or_default();
            eprintln!("{} {url}: {status}", a.method.to_ascii_uppercase());
            println!("{text}");
            Ok(ExitCode::from(1))
        }
        Err(e) => bail!("{} {url} failed: {e}", a.method.to_ascii_uppercase()),
    }
}
