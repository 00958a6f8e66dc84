//! TLS for secure access: rustls with ring; web PKI roots, or only the CA file given.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::ConfigError;

/// A client TLS configuration trusting `ca_file`'s certificates, or the web PKI.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, ConfigError> {
    let roots = match ca_file {
        Some(path) => roots_from_file(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, ConfigError> {
    let pem = std::fs::read(path).map_err(|error| ConfigError::CaFile {
        path: path.to_owned(),
        error,
    })?;
    let bad = |reason: String| ConfigError::CaCertificates {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no PEM CERTIFICATE section".to_owned()));
    }
    Ok(roots)
}
