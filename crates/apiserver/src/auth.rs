//! Who is calling and may they: front-proxy client certificates (the only source of trusted
//! `X-Remote-*` headers), client certificates of the client CA, bearer tokens checked with a
//! TokenReview, anonymous access when enabled; authorization by SubjectAccessReview (cached) or
//! AlwaysAllow.

use crate::status::ApiError;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    pub fn anonymous() -> Self {
        User {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        }
    }
}

/// What the TLS handshake proved about the peer.
#[derive(Debug, Clone)]
pub enum PeerIdentity {
    None,
    /// A certificate of the request-header CA with an allowed name: kube-apiserver's proxy.
    FrontProxy,
    /// A certificate of the client CA: user = CN, groups = O.
    User(User),
}

pub struct RequestHeaderAuth {
    pub verifier: Arc<dyn ClientCertVerifier>,
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_prefixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attributes {
    pub verb: String,
    /// Resource requests: (group, version, resource, namespace, name); otherwise the path.
    pub resource: Option<(String, String, String, String, String)>,
    pub path: String,
}

const CACHE_TTL: Duration = Duration::from_secs(10);
const CACHE_MAX: usize = 10_000;

pub struct Auth {
    pub anonymous: bool,
    pub always_allow: bool,
    pub request_header: Option<RequestHeaderAuth>,
    pub client_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// Client for TokenReview (authentication) and SubjectAccessReview (authorization).
    pub authn_client: Option<kube::Client>,
    pub authz_client: Option<kube::Client>,
    tokens: Mutex<HashMap<String, (Instant, Option<User>)>>,
    decisions: Mutex<HashMap<(User, Attributes), (Instant, bool)>>,
}

impl Auth {
    pub fn new(
        anonymous: bool,
        always_allow: bool,
        request_header: Option<RequestHeaderAuth>,
        client_ca: Option<Arc<dyn ClientCertVerifier>>,
        authn_client: Option<kube::Client>,
        authz_client: Option<kube::Client>,
    ) -> Self {
        Auth {
            anonymous,
            always_allow,
            request_header,
            client_ca,
            authn_client,
            authz_client,
            tokens: Mutex::new(HashMap::new()),
            decisions: Mutex::new(HashMap::new()),
        }
    }

    /// Classifies a TLS peer from its certificate chain.
    pub fn identify_peer(&self, chain: Option<&[CertificateDer<'static>]>) -> PeerIdentity {
        let Some((end, intermediates)) = chain.and_then(|c| c.split_first()) else {
            return PeerIdentity::None;
        };
        let now = UnixTime::now();
        if let Some(rh) = &self.request_header {
            if rh
                .verifier
                .verify_client_cert(end, intermediates, now)
                .is_ok()
            {
                let (cn, _) = subject_names(end);
                if rh.allowed_names.is_empty() || rh.allowed_names.contains(&cn) {
                    return PeerIdentity::FrontProxy;
                }
                tracing::warn!(cn, "front-proxy certificate with a name that is not allowed (--requestheader-allowed-names); its X-Remote headers are ignored");
            }
        }
        if let Some(ca) = &self.client_ca {
            if ca.verify_client_cert(end, intermediates, now).is_ok() {
                let (cn, orgs) = subject_names(end);
                if !cn.is_empty() {
                    return PeerIdentity::User(User {
                        name: cn,
                        groups: orgs,
                        ..Default::default()
                    });
                }
            }
        }
        PeerIdentity::None
    }

    /// Every authenticated user is also in `system:authenticated`, as kube-apiserver adds it:
    /// RBAC's default discovery and OpenAPI permissions are granted to that group.
    pub async fn authenticate(
        &self,
        peer: &PeerIdentity,
        headers: &hyper::HeaderMap,
    ) -> Result<User, ApiError> {
        let mut user = self.identify(peer, headers).await?;
        if user.name != "system:anonymous"
            && !user.groups.iter().any(|g| g == "system:authenticated")
        {
            user.groups.push("system:authenticated".into());
        }
        Ok(user)
    }

    async fn identify(
        &self,
        peer: &PeerIdentity,
        headers: &hyper::HeaderMap,
    ) -> Result<User, ApiError> {
        if let (PeerIdentity::FrontProxy, Some(rh)) = (peer, &self.request_header) {
            if let Some(user) = from_request_headers(rh, headers) {
                return Ok(user);
            }
        }
        if let PeerIdentity::User(u) = peer {
            return Ok(u.clone());
        }
        if let Some(token) = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return match self.review_token(token.trim()).await? {
                Some(u) => Ok(u),
                None => Err(ApiError::unauthorized()),
            };
        }
        if self.anonymous {
            return Ok(User::anonymous());
        }
        Err(ApiError::unauthorized())
    }

    async fn review_token(&self, token: &str) -> Result<Option<User>, ApiError> {
        let Some(client) = &self.authn_client else {
            return Ok(None);
        };
        let key = fingerprint(token);
        if let Some((at, u)) = self.tokens.lock().expect("token cache").get(&key) {
            if at.elapsed() < CACHE_TTL {
                return Ok(u.clone());
            }
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: kube::Api<TokenReview> = kube::Api::all(client.clone());
        let result = api
            .create(&kube::api::PostParams::default(), &review)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "TokenReview failed");
                ApiError::internal(format!(
                    "authentication service unavailable: TokenReview failed: {e}"
                ))
            })?;
        let user = result.status.and_then(|s| {
            if s.authenticated != Some(true) {
                return None;
            }
            let u = s.user?;
            Some(User {
                name: u.username.unwrap_or_default(),
                uid: u.uid.unwrap_or_default(),
                groups: u.groups.unwrap_or_default(),
                extra: u.extra.unwrap_or_default().into_iter().collect(),
            })
        });
        let mut cache = self.tokens.lock().expect("token cache");
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), user.clone()));
        Ok(user)
    }

    pub async fn authorize(&self, user: &User, attrs: &Attributes) -> Result<(), ApiError> {
        if self.always_allow || user.groups.iter().any(|g| g == "system:masters") {
            return Ok(());
        }
        let key = (user.clone(), attrs.clone());
        let cached = self
            .decisions
            .lock()
            .expect("decision cache")
            .get(&key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, allowed)| *allowed);
        let allowed = match cached {
            Some(a) => a,
            None => {
                let a = self.review_access(user, attrs).await?;
                let mut cache = self.decisions.lock().expect("decision cache");
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
                cache.insert(key, (Instant::now(), a));
                a
            }
        };
        if allowed {
            return Ok(());
        }
        Err(ApiError::forbidden(match &attrs.resource {
            Some((group, _, resource, namespace, _)) => {
                let scope = if namespace.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("in the namespace \"{namespace}\"")
                };
                format!(
                    "{resource}.{group} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{group}\" {scope}",
                    user.name, attrs.verb
                )
            }
            None => format!(
                "forbidden: User \"{}\" cannot {} path \"{}\"",
                user.name, attrs.verb, attrs.path
            ),
        }))
    }

    async fn review_access(&self, user: &User, attrs: &Attributes) -> Result<bool, ApiError> {
        let Some(client) = &self.authz_client else {
            return Ok(false);
        };
        let mut spec = SubjectAccessReviewSpec {
            user: Some(user.name.clone()),
            uid: (!user.uid.is_empty()).then(|| user.uid.clone()),
            groups: Some(user.groups.clone()),
            extra: (!user.extra.is_empty()).then(|| user.extra.clone().into_iter().collect()),
            ..Default::default()
        };
        match &attrs.resource {
            Some((group, version, resource, namespace, name)) => {
                spec.resource_attributes = Some(ResourceAttributes {
                    group: Some(group.clone()),
                    version: Some(version.clone()),
                    resource: Some(resource.clone()),
                    namespace: (!namespace.is_empty()).then(|| namespace.clone()),
                    name: (!name.is_empty()).then(|| name.clone()),
                    verb: Some(attrs.verb.clone()),
                    ..Default::default()
                })
            }
            None => {
                spec.non_resource_attributes = Some(NonResourceAttributes {
                    path: Some(attrs.path.clone()),
                    verb: Some(attrs.verb.clone()),
                })
            }
        }
        let review = SubjectAccessReview {
            spec,
            ..Default::default()
        };
        let api: kube::Api<SubjectAccessReview> = kube::Api::all(client.clone());
        let result = api
            .create(&kube::api::PostParams::default(), &review)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "SubjectAccessReview failed");
                ApiError::internal(format!(
                    "authorization service unavailable: SubjectAccessReview failed: {e}"
                ))
            })?;
        Ok(result.status.is_some_and(|s| s.allowed))
    }
}

fn from_request_headers(rh: &RequestHeaderAuth, headers: &hyper::HeaderMap) -> Option<User> {
    let name = rh
        .username_headers
        .iter()
        .find_map(|h| headers.get(h.as_str()).and_then(|v| v.to_str().ok()))
        .filter(|n| !n.is_empty())?
        .to_string();
    let mut groups = Vec::new();
    for h in &rh.group_headers {
        for v in headers.get_all(h.as_str()) {
            if let Ok(v) = v.to_str() {
                groups.push(v.to_string());
            }
        }
    }
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in headers {
        let key = k.as_str();
        for prefix in &rh.extra_prefixes {
            if let Some(rest) = key.strip_prefix(&prefix.to_ascii_lowercase()) {
                if let Ok(v) = v.to_str() {
                    let rest = percent_decode(rest);
                    extra.entry(rest).or_default().push(v.to_string());
                }
            }
        }
    }
    Some(User {
        name,
        uid: String::new(),
        groups,
        extra,
    })
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("k={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Cache key of a token: a SHA-256 digest, so tokens are neither kept in memory in clear nor
/// confused with one another.
fn fingerprint(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Common name and organizations of a certificate's subject.
pub fn subject_names(cert: &CertificateDer) -> (String, Vec<String>) {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return (String::new(), Vec::new());
    };
    let subject = parsed.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let orgs = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    (cn, orgs)
}

/// A client for TokenReview / SubjectAccessReview / the authentication ConfigMap: from a
/// kubeconfig file, or the in-cluster service account when none is given and we run in a pod.
pub async fn delegation_client(
    kubeconfig: Option<&std::path::Path>,
) -> Result<Option<kube::Client>, String> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| format!("kubeconfig {} is not usable: {e}", path.display()))?
        }
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => kube::Config::incluster()
            .map_err(|e| format!("in-cluster credentials are not usable: {e}"))?,
        None => return Ok(None),
    };
    kube::Client::try_from(config)
        .map(Some)
        .map_err(|e| format!("cannot build a Kubernetes client: {e}"))
}

/// What kube-apiserver publishes for extension servers in
/// `kube-system/extension-apiserver-authentication`.
#[derive(Debug, Default, Clone)]
pub struct PublishedAuthentication {
    pub client_ca: Option<String>,
    pub requestheader_ca: Option<String>,
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_prefixes: Vec<String>,
}

pub async fn published_authentication(
    client: &kube::Client,
) -> Result<PublishedAuthentication, String> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "kube-system");
    let cm = api
        .get("extension-apiserver-authentication")
        .await
        .map_err(|e| {
            format!("cannot read ConfigMap kube-system/extension-apiserver-authentication: {e}")
        })?;
    let data = cm.data.unwrap_or_default();
    let list = |key: &str| -> Vec<String> {
        data.get(key)
            .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            .unwrap_or_default()
    };
    Ok(PublishedAuthentication {
        client_ca: data.get("client-ca-file").cloned(),
        requestheader_ca: data.get("requestheader-client-ca-file").cloned(),
        allowed_names: list("requestheader-allowed-names"),
        username_headers: list("requestheader-username-headers"),
        group_headers: list("requestheader-group-headers"),
        extra_prefixes: list("requestheader-extra-headers-prefix"),
    })
}
