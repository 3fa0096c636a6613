//! TLS to the PostgreSQL server, set as libpq users set it: `sslmode` and `sslrootcert` in
//! the URL's query. rustls does the TLS, with ring as its crypto provider (given explicitly,
//! never taken from a process-wide default).
//!
//! | `sslmode`            | TLS                     | the server's certificate            |
//! |----------------------|-------------------------|-------------------------------------|
//! | absent, `disable`    | never                   | —                                   |
//! | `prefer`             | if the server offers it | checked against `sslrootcert` if given |
//! | `require`            | always                  | checked against `sslrootcert` if given |
//! | `verify-ca`          | always                  | signed by `sslrootcert`             |
//! | `verify-full`        | always                  | signed by `sslrootcert`, for the host |

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// No TLS (`sslmode` absent or `disable`): as kerma always connected.
    Plain,
    /// TLS when the server offers it.
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS, and a certificate signed by the CA file.
    VerifyCa,
    /// TLS, and a certificate signed by the CA file and naming the host.
    VerifyFull,
}

/// What the URL asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Settings {
    /// The URL as the postgres crate reads it: without `sslrootcert`, with the `sslmode` it
    /// knows (`disable`, `prefer`, `require`).
    pub(super) url: String,
    pub(super) mode: Mode,
    /// The CA certificates (PEM) that sign the server's certificate.
    pub(super) root: Option<PathBuf>,
}

/// `%XX` escapes decoded (a malformed escape stays as written).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `sslmode` and `sslrootcert` from `url`. The error says what is wrong in words that
/// never quote the URL.
pub(super) fn settings(url: &str) -> Result<Settings, String> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, q),
        None => (url, ""),
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "sslmode" => {
                mode = Some(match percent_decode(v).as_str() {
                    "disable" => Mode::Plain,
                    "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                        ));
                    }
                })
            }
            "sslrootcert" => root = Some(PathBuf::from(percent_decode(v))),
            _ => kept.push(kv),
        }
    }
    let given = mode.is_some();
    let mode = mode.unwrap_or(Mode::Plain);
    if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) && root.is_none() {
        return Err(
            "sslmode=verify-ca and verify-full need sslrootcert=PATH (the CA's certificates, PEM)"
                .into(),
        );
    }
    // As libpq: with a CA file given, require checks the certificate as verify-ca does.
    let mode = match (mode, &root) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (m, _) => m,
    };
    // An absent sslmode stays absent, so that such a URL reaches the postgres crate as is.
    match mode {
        Mode::Plain if given => kept.push("sslmode=disable"),
        Mode::Plain => {}
        Mode::Prefer => kept.push("sslmode=prefer"),
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => kept.push("sslmode=require"),
    }
    let url = if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    Ok(Settings { url, mode, root })
}

/// The crypto provider: ring, always. rustls now deprecates it for lacking post-quantum key
/// exchange (aws-lc-rs has it, at the cost of a C build that needs CMake); connections to a
/// hospital's own database server keep the classical groups.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of the CA file.
fn roots(path: &std::path::Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("sslrootcert {shown} holds no CA certificate"));
    }
    Ok(store)
}

/// Checks the handshake's signatures, and the certificate chain against `roots` if any,
/// but never the host name (verify-ca), or nothing of the certificate (no CA given: the
/// connection is encrypted, not authenticated, as libpq's `require`).
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The TLS connector for `s`, or `None` for a plain connection.
pub(super) fn connector(s: &Settings) -> Result<Option<MakeRustlsConnect>, String> {
    if s.mode == Mode::Plain {
        return Ok(None);
    }
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let roots = s.root.as_deref().map(roots).transpose()?.map(Arc::new);
    let config = match (s.mode, roots) {
        (Mode::VerifyFull, Some(roots)) => {
            let full = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| e.to_string())?;
            builder.with_webpki_verifier(full)
        }
        (_, roots) => {
            let chain = roots
                .map(|r| {
                    WebPkiServerVerifier::builder_with_provider(r, provider.clone())
                        .build()
                        .map_err(|e| e.to_string())
                })
                .transpose()?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier { provider, chain }))
        }
    }
    .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// Whether `e` is the TLS layer's failure (a refused or failed handshake, a certificate
/// that did not verify), rather than the server's or the network's.
pub(super) fn is_tls_failure(e: &postgres::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        cause = c.source();
    }
    // The server's refusal of TLS is a TLS error of tokio-postgres without a rustls cause.
    e.to_string().starts_with("error performing TLS handshake")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_the_url_the_postgres_crate_reads() {
        let s = settings("postgres://u:p@h/db").unwrap();
        assert_eq!(
            (s.mode, s.url.as_str(), s.root),
            (Mode::Plain, "postgres://u:p@h/db", None)
        );
        let s = settings("postgres://u:p@h/db?sslmode=disable&connect_timeout=5").unwrap();
        assert_eq!(s.mode, Mode::Plain);
        assert_eq!(
            s.url,
            "postgres://u:p@h/db?connect_timeout=5&sslmode=disable"
        );
        let s = settings("postgres://h/db?sslmode=require").unwrap();
        assert_eq!(
            (s.mode, s.url.as_str()),
            (Mode::Require, "postgres://h/db?sslmode=require")
        );
        let s = settings("postgres://h/db?sslrootcert=%2Ftmp%2Fca%20x.pem&sslmode=verify-full")
            .unwrap();
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.url, "postgres://h/db?sslmode=require");
        assert_eq!(s.root, Some(PathBuf::from("/tmp/ca x.pem")));
        let s = settings("postgres://h/db?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(s.mode, Mode::VerifyCa);
        let s = settings("postgres://h/db?sslmode=prefer").unwrap();
        assert_eq!(
            (s.mode, s.url.as_str()),
            (Mode::Prefer, "postgres://h/db?sslmode=prefer")
        );
    }

    #[test]
    fn wrong_settings_are_refused_without_quoting_the_url() {
        let e = settings("postgres://u:hunter2@h/db?sslmode=verify-full").unwrap_err();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = settings("postgres://u:hunter2@h/db?sslmode=always").unwrap_err();
        assert!(
            e.contains("sslmode=always") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let s =
            settings("postgres://h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem").unwrap();
        let e = connector(&s).err().unwrap();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
