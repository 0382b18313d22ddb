//! Serving certificates and the client-certificate verifier.

use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{what} {path} holds no usable PEM {expected}")]
    Empty {
        what: &'static str,
        path: String,
        expected: &'static str,
    },
    #[error("invalid TLS set-up: {0}")]
    Config(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn read_certs(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.display().to_string(),
        source,
    })?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.display().to_string(),
            expected: "CERTIFICATE block",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        what: "--tls-private-key-file",
        path: path.display().to_string(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| TlsError::Empty {
        what: "--tls-private-key-file",
        path: path.display().to_string(),
        expected: "PRIVATE KEY block",
    })
}

/// A verifier accepting chains to the given CA certificates.
pub fn verifier(
    cas: &[CertificateDer<'static>],
    optional: bool,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in cas {
        roots
            .add(c.clone())
            .map_err(|e| TlsError::Config(format!("unusable CA certificate: {e}")))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = if optional {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| TlsError::Config(e.to_string()))
}

/// The serving certificate: from files, or a self-signed one for `hosts` when none are given.
pub fn serving_identity(
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
    hosts: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    match (cert_file, key_file) {
        (Some(c), Some(k)) => Ok((read_certs(c, "--tls-cert-file")?, read_key(k)?)),
        (None, None) => {
            let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Config(e.to_string()))?;
            let mut params = rcgen::CertificateParams::new(hosts.to_vec())
                .map_err(|e| TlsError::Config(e.to_string()))?;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "kubescape-storage");
            let cert = params
                .self_signed(&key)
                .map_err(|e| TlsError::Config(e.to_string()))?;
            Ok((
                vec![cert.der().clone()],
                PrivateKeyDer::try_from(key.serialize_der())
                    .map_err(|e| TlsError::Config(e.to_string()))?,
            ))
        }
        _ => Err(TlsError::Config(
            "--tls-cert-file and --tls-private-key-file must be given together".into(),
        )),
    }
}

/// Server configuration; `client_cas` (client CA and request-header CA together) make the
/// server ask for an optional client certificate.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_cas: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = if client_cas.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_verifier(verifier(client_cas, true)?)
    };
    let mut cfg = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::Config(format!(
            "the serving certificate and key do not form a usable pair: {e}"
        ))
    })?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Certificates from PEM text (e.g. a CA bundle published in a ConfigMap).
pub fn parse_certs(
    pem: &str,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: "(published ConfigMap)".into(),
            expected: "CERTIFICATE block",
        });
    }
    Ok(certs)
}
