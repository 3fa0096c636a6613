//! TLS for the receiver (PS3.15 Annex B.9, the BCP 195 profiles): rustls with the *ring*
//! crypto provider, TLS 1.2 and 1.3, a server certificate and key from PEM files, and
//! optionally client certificates required and checked against a CA file.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// The receiver's TLS settings, ready to serve: set [`ReceiverConfig::tls`](super::ReceiverConfig::tls).
#[derive(Clone)]
pub struct TlsConfig {
    pub(super) server: Arc<ServerConfig>,
    /// Whether peers must present a certificate signed by the client CA.
    client_auth: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads the server's certificate chain (`cert`, PEM, the server's own first) and its
    /// private key (`key`, PEM: PKCS#8, PKCS#1 or SEC1); with `client_ca` (PEM, one or more
    /// CA certificates), every peer must present a certificate that one of them signed.
    ///
    /// # Errors
    /// A file that cannot be read or holds no usable certificate or key, or a key that does
    /// not match the certificate; the message names the file.
    pub fn from_pem_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<TlsConfig, String> {
        // rustls deprecates ring's provider for lacking post-quantum key exchange; DICOM
        // peers (BCP 195 profiles) negotiate ECDHE, which it has.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = certificates(cert)?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("{}: no private key read: {e}", key.display()))?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in certificates(ca)? {
                    roots.add(c).map_err(|e| {
                        format!("{}: not a usable CA certificate: {e}", ca.display())
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| format!("{}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let server = builder
            .with_single_cert(chain, key)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        Ok(TlsConfig {
            server: Arc::new(server),
            client_auth: client_ca.is_some(),
        })
    }

    /// Whether peers must present a certificate.
    pub fn requires_client_certificate(&self) -> bool {
        self.client_auth
    }
}

/// Every certificate of a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate (PEM) in it", path.display()));
    }
    Ok(certs)
}
