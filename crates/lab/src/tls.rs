//! A throw-away certificate authority and server certificate for the lab's
//! TLS listeners, made with the `openssl` command.
//!
//! A real CA plus a leaf (rather than one self-signed certificate) because
//! rustls/webpki refuse a CA certificate used as an end-entity certificate:
//! tests trust [`TlsFiles::ca`] and the servers present [`TlsFiles::cert`].

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{LabError, Result, run};

/// The DNS name in the server certificate (and kamailio's domain alias).
pub const LAB_DOMAIN: &str = "homeline.test";

/// PEM files of a lab's certificates.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate a client should trust.
    pub ca: PathBuf,
    /// The server certificate (signed by the CA).
    pub cert: PathBuf,
    /// The server's private key (unencrypted).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Generates a P-256 CA and a server certificate for [`LAB_DOMAIN`] and
    /// `ips`, valid 30 days, into `dir`.
    pub fn generate(dir: &Path, ips: &[Ipv4Addr]) -> Result<TlsFiles> {
        std::fs::create_dir_all(dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let p = |f: &str| dir.join(f);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .arg("-keyout")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem"))
            .args(["-days", "30", "-subj", "/CN=Homeline Lab CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]))?;
        run(Command::new("openssl")
            .arg("req")
            .args(ec)
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr"))
            .args(["-subj", &format!("/CN={LAB_DOMAIN}")]))?;
        let mut san = format!("DNS:{LAB_DOMAIN}");
        for ip in ips {
            san.push_str(&format!(",IP:{ip}"));
        }
        let ext = format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
        );
        std::fs::write(p("server.ext"), ext).map_err(|e| LabError::io("write server.ext", e))?;
        run(Command::new("openssl")
            .args(["x509", "-req", "-in"])
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .args(["-CAcreateserial", "-days", "30", "-out"])
            .arg(p("server.pem"))
            .arg("-extfile")
            .arg(p("server.ext")))?;
        Ok(TlsFiles {
            ca: p("ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
        })
    }
}
