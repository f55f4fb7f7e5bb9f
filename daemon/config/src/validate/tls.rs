//! `[api] tls`: the listener's certificate and key, read and tried when
//! the config is checked, so a wrong file is an error with its position
//! rather than a daemon that starts without HTTPS.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Validator, at};
use crate::ApiTlsSection;
use sitewarden_model::catalog::ApiTls;

/// The rustls server configuration for a PEM certificate chain and key
/// (ring, TLS 1.2 and 1.3, HTTP/1.1); why not, for a person.
pub fn server_tls(tls: &ApiTls) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_slice_iter(&tls.cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate file is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("the certificate file holds no certificate".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(&tls.key)
        .map_err(|e| format!("the key file holds no private key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the key does not go with the certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads and tries `[api] tls`; errors point at the file's setting.
pub(super) fn check_api_tls(
    v: &mut Validator<'_>,
    section: &ApiTlsSection,
    base_dir: &Path,
) -> Option<ApiTls> {
    let mut read = |path: &toml::Spanned<String>| {
        std::fs::read(base_dir.join(path.get_ref()))
            .map_err(|e| v.error(&at(0, path), format!("cannot read {}: {e}", path.get_ref())))
            .ok()
    };
    let tls = ApiTls {
        cert: read(&section.cert)?,
        key: read(&section.key)?,
    };
    match server_tls(&tls) {
        Ok(_) => Some(tls),
        Err(e) => {
            v.error(&at(0, &section.cert), e);
            None
        }
    }
}
