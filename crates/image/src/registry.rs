//! OCI distribution API client: manifests, indexes (platform choice) and streamed blobs.
//! Authentication: anonymous, HTTP basic, and the bearer-token flow (`WWW-Authenticate: Bearer
//! realm=...,service=...,scope=...`), with credentials from options or Docker's `config.json`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use crate::manifest::{self, ManifestDoc};
use crate::reference;
use crate::squash::{BlobSource, Layers};
use crate::verify;
use crate::{Error, ImageMetadata, LayerInfo, Platform, Reference, Result};

const MAX_DOC: u64 = 16 << 20;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Explicit credentials; otherwise Docker's config.json is consulted, then anonymous access
    pub credentials: Option<Credentials>,
    /// Talk plain HTTP (local registries without TLS)
    pub insecure: bool,
    /// Docker config file (default `$DOCKER_CONFIG/config.json`, then `~/.docker/config.json`)
    pub docker_config: Option<PathBuf>,
}

/// Looks up credentials for `registry` in a Docker config file (`auths` entries with `auth` or
/// `username`/`password`). Credential helpers (`credsStore`, `credHelpers`) are not run.
pub fn docker_config_credentials(opts: &RegistryOptions, registry: &str) -> Option<Credentials> {
    let path = opts.docker_config.clone().or_else(|| {
        std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
            })
    })?;
    let text = std::fs::read(&path).ok()?;
    let doc: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("ignoring {}: not valid JSON ({e})", path.display());
            return None;
        }
    };
    // a credential helper for this registry (credHelpers), else the default store (credsStore)
    let helper = doc
        .get("credHelpers")
        .and_then(|h| h.get(registry))
        .or_else(|| doc.get("credsStore"))
        .and_then(|h| h.as_str());
    if let Some(h) = helper {
        let server = if registry == "docker.io" {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        if let Some(c) = credential_helper(h, server) {
            return Some(c);
        }
    }
    let auths = doc.get("auths")?.as_object()?;
    let candidates: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
            format!("https://{registry}/v1/"),
            format!("https://{registry}/v2/"),
        ]
    };
    for c in candidates {
        let Some(entry) = auths.get(&c) else { continue };
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth)
                .ok()?;
            let s = String::from_utf8(decoded).ok()?;
            let (u, p) = s.split_once(':')?;
            return Some(Credentials {
                username: u.into(),
                password: p.into(),
            });
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Some(Credentials {
                username: u.into(),
                password: p.into(),
            });
        }
    }
    None
}

/// Accepts any server certificate (`--insecure`); handshake signatures are still checked so the
/// connection is a real TLS session, only the certificate's identity is not.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn insecure_tls() -> Option<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    Some(Arc::new(cfg))
}

/// Runs `docker-credential-<helper> get` (the Docker credential-helper protocol: the server on
/// stdin, `{"Username": ..., "Secret": ...}` on stdout).
fn credential_helper(helper: &str, server: &str) -> Option<Credentials> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if !helper
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        tracing::warn!("ignoring credential helper {helper:?}: not a plain program name");
        return None;
    }
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                "credential helper {program} cannot run ({e}); trying config.json auths"
            );
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        tracing::debug!(
            "{program} has no credentials for {server}: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(Credentials {
        username: v.get("Username")?.as_str()?.to_string(),
        password: v.get("Secret")?.as_str()?.to_string(),
    })
}

pub(crate) struct Client {
    agent: ureq::Agent,
    base: Mutex<String>,
    /// Registry as the user named it (`docker.io` for Docker Hub): credentials are looked up by it
    pub(crate) registry: String,
    /// Host the API is reached at
    api_host: String,
    /// Repository the requests are about; for registry-wide requests (the catalog) a description
    /// of what is asked, so that authentication errors still say what was refused
    repository: String,
    /// What errors and logs name: the image reference, `registry/repository`, or the registry
    subject: String,
    /// Bearer-token scope asked for when a challenge names none
    scope: String,
    creds: Option<Credentials>,
    auth: Mutex<Option<String>>,
    insecure: bool,
}

/// The authorization a request went out with, to tell a denial's cause.
enum AuthKind {
    None,
    Basic,
    Bearer,
}

/// `WWW-Authenticate` parsed: scheme and parameters.
fn parse_challenge(h: &str) -> (String, Vec<(String, String)>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n)
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), val));
    }
    (scheme.to_ascii_lowercase(), params)
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn registry_error_detail(resp: ureq::Response) -> String {
    let mut body = String::new();
    let _ = resp.into_reader().take(64 * 1024).read_to_string(&mut body);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
        if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
            let parts: Vec<String> = errs
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.get("code").and_then(|c| c.as_str()).unwrap_or("ERROR"),
                        e.get("message").and_then(|c| c.as_str()).unwrap_or("")
                    )
                })
                .collect();
            if !parts.is_empty() {
                return parts.join("; ");
            }
        }
    }
    body.trim().chars().take(200).collect()
}

impl Client {
    /// A client for pulling `reference`.
    fn new(reference: &Reference, opts: &RegistryOptions) -> Self {
        Self::with_scope(
            &reference.registry,
            &reference.repository,
            reference.to_string(),
            format!("repository:{}:pull", reference.repository),
            opts,
        )
    }

    /// A client for `registry` whose errors name `subject` and whose bearer tokens are asked for
    /// `scope` (unless the registry's challenge names another).
    pub(crate) fn with_scope(
        registry: &str,
        repository: &str,
        subject: String,
        scope: String,
        opts: &RegistryOptions,
    ) -> Self {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(120))
            .user_agent(concat!("kubescape-rs/", env!("CARGO_PKG_VERSION")));
        if opts.insecure {
            if let Some(tls) = insecure_tls() {
                builder = builder.tls_config(tls);
            }
        }
        let agent = builder.build();
        let creds = opts
            .credentials
            .clone()
            .or_else(|| docker_config_credentials(opts, registry));
        Self {
            agent,
            base: Mutex::new(format!("https://{}", reference::api_host(registry))),
            registry: registry.to_string(),
            api_host: reference::api_host(registry).to_string(),
            repository: repository.to_string(),
            subject,
            scope,
            creds,
            auth: Mutex::new(None),
            insecure: opts.insecure,
        }
    }

    fn unauthorized(&self, detail: impl Into<String>) -> Error {
        Error::Unauthorized {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            detail: detail.into(),
        }
    }

    fn basic(&self) -> Option<String> {
        self.creds.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    fn authenticate(&self, challenge: &str) -> Result<()> {
        let (scheme, params) = parse_challenge(challenge);
        let header = match scheme.as_str() {
            "basic" => self.basic().ok_or_else(|| {
                self.unauthorized(
                    "the registry requires credentials: pass --username/--password or log in with `docker login` (config.json)",
                )
            })?,
            "bearer" => {
                let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
                let realm = get("realm")
                    .ok_or_else(|| self.unauthorized("bearer challenge without a realm"))?;
                let scope = get("scope").unwrap_or(&self.scope);
                let mut url = format!("{realm}?scope={}", urlencode(scope));
                if let Some(s) = get("service") {
                    url.push_str(&format!("&service={}", urlencode(s)));
                }
                let mut req = self.agent.get(&url);
                if let Some(b) = self.basic() {
                    req = req.set("Authorization", &b);
                }
                let resp = match req.call() {
                    Ok(r) => r,
                    Err(ureq::Error::Status(401, _)) | Err(ureq::Error::Status(403, _)) => {
                        return Err(self.unauthorized(if self.creds.is_some() {
                            "the token service rejected the credentials (wrong username or password?)"
                        } else {
                            "the registry requires credentials: pass --username/--password or log in with `docker login`"
                        }))
                    }
                    Err(e) => {
                        return Err(self.unauthorized(format!("token request to {realm} failed: {e}")))
                    }
                };
                let mut body = Vec::new();
                resp.into_reader()
                    .take(MAX_DOC)
                    .read_to_end(&mut body)
                    .map_err(|e| Error::io(format!("token response from {realm}"), e))?;
                let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                    self.unauthorized(format!("token response from {realm} is not JSON: {e}"))
                })?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| self.unauthorized(format!("no token in the response of {realm}")))?;
                format!("Bearer {token}")
            }
            other => {
                return Err(self.unauthorized(format!(
                    "unsupported authentication scheme {other:?}"
                )))
            }
        };
        *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = Some(header);
        Ok(())
    }

    /// GET with authentication (one challenge round) and clear errors.
    pub(crate) fn get(
        &self,
        path: &str,
        accept: Option<&str>,
        what: &str,
    ) -> Result<ureq::Response> {
        let mut url = format!(
            "{}{path}",
            self.base.lock().unwrap_or_else(|p| p.into_inner())
        );
        let mut fell_back = false;
        let mut challenged = false;
        let mut retries = 0u32;
        let mut backoff = |what: &str| -> bool {
            // transient failures (rate limits, 5xx, reset connections): up to 3 retries
            retries += 1;
            if retries > 3 {
                return false;
            }
            tracing::debug!("{}: {what}; retry {retries}", self.subject);
            std::thread::sleep(Duration::from_millis(300 * 2u64.pow(retries)));
            true
        };
        loop {
            let mut req = self.agent.get(&url);
            if let Some(a) = accept {
                req = req.set("Accept", a);
            }
            let auth = self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let auth_kind = match &auth {
                None => AuthKind::None,
                Some(h) if h.starts_with("Bearer ") => AuthKind::Bearer,
                Some(_) => AuthKind::Basic,
            };
            if let Some(h) = auth {
                req = req.set("Authorization", &h);
            }
            match req.call() {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if !challenged => {
                    challenged = true;
                    let ch = r.header("www-authenticate").unwrap_or("").to_string();
                    if ch.is_empty() {
                        return Err(self.unauthorized("401 without an authentication challenge"));
                    }
                    self.authenticate(&ch)?;
                }
                Err(ureq::Error::Status(401, _)) | Err(ureq::Error::Status(403, _)) => {
                    return Err(self.unauthorized(match auth_kind {
                        // the token service took the credentials, so they are right: the token
                        // it issued just does not cover this request (token registries answer
                        // so for repositories that do not exist, too)
                        AuthKind::Bearer if self.creds.is_some() => format!(
                            "the registry refused access to the {what} with these credentials (the account lacks the permission{})",
                            if self.scope.starts_with("repository:") {
                                ", or the repository does not exist"
                            } else {
                                ""
                            }
                        ),
                        AuthKind::Basic if self.creds.is_some() => {
                            "the registry rejected the credentials (wrong username or password?)"
                                .into()
                        }
                        _ => "access denied; pass --username/--password or log in with `docker login`"
                            .into(),
                    }));
                }
                Err(ureq::Error::Status(404, r)) => {
                    return Err(Error::NotFound {
                        reference: format!("{} ({what})", self.subject),
                        detail: registry_error_detail(r),
                    })
                }
                Err(ureq::Error::Status(code, _))
                    if matches!(code, 429 | 500 | 502 | 503 | 504)
                        && backoff(&format!("HTTP {code}")) =>
                {
                    continue;
                }
                Err(ureq::Error::Transport(t))
                    if t.kind() == ureq::ErrorKind::Io
                        && !(self.insecure && !fell_back && url.starts_with("https://"))
                        && backoff(&t.to_string()) =>
                {
                    continue;
                }
                Err(ureq::Error::Status(code, r)) => {
                    return Err(Error::msg(format!(
                        "{}: {what}: registry answered {code}: {}",
                        self.subject,
                        registry_error_detail(r)
                    )))
                }
                Err(ureq::Error::Transport(t)) => {
                    if self.insecure && !fell_back && url.starts_with("https://") {
                        // --insecure: a registry without TLS is reached over plain HTTP
                        let mut base = self.base.lock().unwrap_or_else(|p| p.into_inner());
                        *base = format!("http://{}", self.api_host);
                        url = format!("{base}{path}");
                        fell_back = true;
                        tracing::debug!("{}: HTTPS failed ({t}), using plain HTTP", self.subject);
                        continue;
                    }
                    let hint = if self.insecure {
                        ""
                    } else {
                        " (for a registry without TLS or with a self-signed certificate use --insecure)"
                    };
                    return Err(Error::msg(format!(
                        "{}: cannot reach {url}: {t}{hint}",
                        self.subject
                    )));
                }
            }
        }
    }

    fn get_doc(
        &self,
        path: &str,
        accept: Option<&str>,
        what: &str,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let resp = self.get(path, accept, what)?;
        let ct = resp.header("content-type").map(str::to_string);
        let mut body = Vec::new();
        resp.into_reader()
            .take(MAX_DOC)
            .read_to_end(&mut body)
            .map_err(|e| Error::io(format!("{}: {what}", self.subject), e))?;
        Ok((body, ct))
    }
}

struct RegistryLayers {
    client: Arc<Client>,
}

impl BlobSource for RegistryLayers {
    fn open_layer(&self, _index: usize, layer: &LayerInfo) -> Result<Box<dyn Read + Send + '_>> {
        let path = format!("/v2/{}/blobs/{}", self.client.repository, layer.digest);
        let resp = self.client.get(&path, None, "layer blob")?;
        Ok(Box::new(resp.into_reader()))
    }
    fn blob_digest_known(&self, _index: usize) -> bool {
        true
    }
}

pub fn open(
    reference: &Reference,
    opts: &RegistryOptions,
    platform: &Platform,
) -> Result<(ImageMetadata, Layers)> {
    let client = Client::new(reference, opts);
    let accept = [
        manifest::OCI_MANIFEST,
        manifest::OCI_INDEX,
        manifest::DOCKER_MANIFEST,
        manifest::DOCKER_LIST,
    ]
    .join(", ");
    let repo = &reference.repository;
    let (mut bytes, mut ct) = client.get_doc(
        &format!("/v2/{repo}/manifests/{}", reference.manifest_ref()),
        Some(&accept),
        "manifest",
    )?;
    let mut digest = verify::sha256(&bytes);
    if let Some(d) = &reference.digest {
        verify::check(&bytes, d, &format!("{reference}: manifest"))?;
    }
    let what = reference.to_string();
    let mut doc = ManifestDoc::parse(&bytes, &what)?;
    if doc.is_index() {
        let list = doc.manifests.clone().unwrap_or_default();
        let d = manifest::choose(&list, platform, &what)?;
        let (b, c) = client.get_doc(
            &format!("/v2/{repo}/manifests/{}", d.digest),
            Some(&accept),
            "platform manifest",
        )?;
        verify::check(&b, &d.digest, &format!("{what}: platform manifest"))?;
        digest = d.digest.clone();
        bytes = b;
        ct = c;
        doc = ManifestDoc::parse(&bytes, &what)?;
        if doc.is_index() {
            return Err(Error::msg(format!("{what}: nested index is not supported")));
        }
    }
    let (Some(cfg), Some(layers)) = (doc.config.clone(), doc.layers.clone()) else {
        return Err(Error::msg(format!("{what}: not an image manifest")));
    };
    let (cfg_bytes, _) = client.get_doc(
        &format!("/v2/{repo}/blobs/{}", cfg.digest),
        None,
        "config blob",
    )?;
    verify::check(&cfg_bytes, &cfg.digest, &format!("{what}: config"))?;
    let mut meta = ImageMetadata {
        source_kind: "registry",
        tags: reference
            .tag
            .iter()
            .map(|t| format!("{}:{t}", reference.name()))
            .collect(),
        repo_digests: vec![format!("{}@{digest}", reference.name())],
        manifest_digest: Some(digest),
        manifest_media_type: doc.media_type.clone().or(ct),
        raw_manifest: Some(bytes),
        ..Default::default()
    };
    manifest::fill_metadata(&mut meta, &layers, &cfg_bytes, &what)?;
    Ok((
        meta,
        Layers::Blobs(Box::new(RegistryLayers {
            client: Arc::new(client),
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(
            p[0],
            ("realm".into(), "https://auth.example.com/token".into())
        );
        assert_eq!(p[1], ("service".into(), "registry.example.com".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(s, "basic");
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn reads_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.json");
        std::fs::write(
            &cfg,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"},"https://index.docker.io/v1/":{"username":"hub","password":"pw"}}}"#,
        )
        .unwrap();
        let opts = RegistryOptions {
            docker_config: Some(cfg),
            ..Default::default()
        };
        let c = docker_config_credentials(&opts, "127.0.0.1:5000").unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("user", "pass"));
        let c = docker_config_credentials(&opts, "docker.io").unwrap();
        assert_eq!(c.username, "hub");
        assert!(docker_config_credentials(&opts, "quay.io").is_none());
    }

    #[test]
    fn runs_credential_helpers() {
        // a helper speaking the credential-helper protocol, put first on PATH
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-kittest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 2\nif [ \"$server\" = reg.example.com ]; then\n  printf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // nextest runs each test in its own process: changing PATH affects this test only
        std::env::set_var("PATH", path);
        let cfg = dir.path().join("config.json");
        std::fs::write(&cfg, r#"{"credHelpers":{"reg.example.com":"kittest","other.example.com":"kittest"},"auths":{"other.example.com":{"auth":"dXNlcjpwYXNz"}}}"#).unwrap();
        let opts = RegistryOptions {
            docker_config: Some(cfg),
            ..Default::default()
        };
        let c = docker_config_credentials(&opts, "reg.example.com").unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("helper-user", "helper-secret")
        );
        // the helper has nothing for this one: auths is used
        let c = docker_config_credentials(&opts, "other.example.com").unwrap();
        assert_eq!(c.username, "user");
    }
}
