//! TLS client settings (rustls) and certificate errors in plain words.
//!
//! Trust = the Mozilla roots shipped in `webpki-roots` (the same on every platform, so a
//! server that works on one machine works on all) plus, for private PBXs and the lab, the CA
//! certificates in `[network] tls_ca_file`. Verification is never switched off: a failure is
//! reported with the server's name and what is wrong with its certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Problems with the TLS settings themselves (not with a server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    /// The extra CA file could not be read or holds no certificate.
    #[error("the CA file {path} (tls_ca_file) could not be used: {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// rustls refused the configuration (a bug).
    #[error("TLS could not be set up: {0}")]
    Config(String),
}

/// A rustls client configuration trusting the built-in roots and the CAs in `extra_ca`.
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let ca_err = |detail: String| TlsSetupError::CaFile {
            path: path.to_path_buf(),
            detail,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_err(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| ca_err(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_err("it holds no PEM certificate".into()));
        }
        for c in certs {
            roots.add(c).map_err(|e| ca_err(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// If `error` came from certificate verification, says what is wrong in plain words.
pub fn describe_certificate_error(error: &std::io::Error) -> Option<String> {
    let inner = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    let rustls::Error::InvalidCertificate(cert) = inner else {
        return None;
    };
    Some(match cert {
        CertificateError::UnknownIssuer => "it is signed by an authority this computer does not \
             trust (a private PBX: put its CA certificate in tls_ca_file)"
            .into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it was issued for another name (check the server name in the account)".into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (check this computer's date and time)".into()
        }
        CertificateError::Revoked => "it was revoked".into(),
        CertificateError::BadSignature => "its signature is invalid".into(),
        CertificateError::BadEncoding => "it is malformed".into(),
        other => format!("it was rejected ({other:?})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = client_config(Some(&missing)).unwrap_err();
        assert!(e.to_string().contains("nope.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn certificate_errors_in_words() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert!(
            describe_certificate_error(&e)
                .unwrap()
                .contains("tls_ca_file")
        );
        let e = std::io::Error::other("plain");
        assert!(describe_certificate_error(&e).is_none());
    }
}
