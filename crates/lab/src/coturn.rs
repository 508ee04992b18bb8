//! coturn (`turnserver`) on the public host: STUN and TURN on both public
//! addresses, so RFC 5780 behaviour discovery (CHANGE-REQUEST, OTHER-ADDRESS)
//! works, with long-term credentials.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::host::{Host, LabProcess};
use crate::lab::Lab;
use crate::probe;
use crate::tls::{LAB_DOMAIN, TlsFiles};

/// What the coturn of a lab should look like.
#[derive(Debug, Clone)]
pub struct CoturnConfig {
    /// (user, password) pairs for the long-term credential mechanism.
    pub users: Vec<(String, String)>,
    /// The realm.
    pub realm: String,
    /// STUN/TURN port over UDP and TCP (default 3478); the RFC 5780
    /// alternate port is this + 1.
    pub port: u16,
    /// TLS (and DTLS) port, if wanted (usually 5349).
    pub tls_port: Option<u16>,
    /// Relay port range.
    pub relay_ports: (u16, u16),
    /// Verbose log.
    pub verbose: bool,
    /// `--no-udp`: no UDP listener, so clients must reach it over TCP or TLS.
    pub no_udp: bool,
}

impl Default for CoturnConfig {
    fn default() -> Self {
        CoturnConfig {
            users: Vec::new(),
            realm: LAB_DOMAIN.to_owned(),
            port: 3478,
            tls_port: None,
            relay_ports: (49152, 49999),
            verbose: true,
            no_udp: false,
        }
    }
}

impl CoturnConfig {
    /// Defaults: port 3478 (+3479 alternate), realm `homeline.test`, no TLS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a long-term credential.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Enables TLS/DTLS on `port`.
    pub fn tls(mut self, port: u16) -> Self {
        self.tls_port = Some(port);
        self
    }

    /// No UDP listener (`--no-udp`): TURN over TCP/TLS only.
    pub fn no_udp(mut self) -> Self {
        self.no_udp = true;
        self
    }

    /// Sets the realm.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.to_owned();
        self
    }
}

/// A running coturn. Stopped when dropped (and when its lab is dropped).
#[derive(Debug)]
pub struct Coturn {
    config: CoturnConfig,
    ips: [IpAddr; 2],
    tls: Option<TlsFiles>,
    process: LabProcess,
    log: PathBuf,
}

impl Lab {
    /// Starts coturn listening on both public addresses and waits until each
    /// answers a STUN Binding request over UDP and accepts TCP.
    pub fn start_coturn(&self, config: CoturnConfig) -> Result<Coturn> {
        for (u, p) in &config.users {
            if u.contains(':') || u.is_empty() || p.is_empty() {
                return Err(LabError::Invalid(format!("unsupported TURN user {u:?}")));
            }
        }
        let dir = self.out_dir().join("coturn");
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let ips = [self.public_ip(), self.public_ip2()];
        let log = dir.join("turnserver.log");
        let host: &Host = self.public();
        let mut cmd = host.command("turnserver");
        cmd.args(["-n", "--no-cli", "--lt-cred-mech", "--fingerprint"])
            .args(["--realm", &config.realm])
            .args(["--listening-port", &config.port.to_string()])
            .args(["--alt-listening-port", &(config.port + 1).to_string()])
            .args(["--min-port", &config.relay_ports.0.to_string()])
            .args(["--max-port", &config.relay_ports.1.to_string()])
            .arg("--log-file")
            .arg(&log)
            .arg("--simple-log")
            .arg("--pidfile")
            .arg(dir.join("turnserver.pid"))
            .arg("--userdb")
            .arg(dir.join("turndb"));
        for ip in ips {
            cmd.args(["--listening-ip", &ip.to_string()]);
            cmd.args(["--relay-ip", &ip.to_string()]);
        }
        for (u, p) in &config.users {
            cmd.args(["--user", &format!("{u}:{p}")]);
        }
        if config.verbose {
            cmd.arg("--verbose");
        }
        if config.no_udp {
            cmd.arg("--no-udp");
        }
        let tls = match config.tls_port {
            Some(port) => {
                let t = self.tls_files()?;
                cmd.args(["--tls-listening-port", &port.to_string()])
                    .args(["--alt-tls-listening-port", &(port + 1).to_string()])
                    .arg("--cert")
                    .arg(&t.cert)
                    .arg("--pkey")
                    .arg(&t.key);
                Some(t)
            }
            None => {
                cmd.args(["--no-tls", "--no-dtls"]);
                None
            }
        };
        let process = host.spawn(&mut cmd, "coturn/turnserver.stdout.log")?;
        let mut c = Coturn {
            config,
            ips,
            tls,
            process,
            log,
        };
        c.wait_ready(host, Duration::from_secs(15))?;
        Ok(c)
    }
}

impl Lab {
    /// Stops `coturn` and starts it again with the same configuration: every allocation is
    /// gone and every connection to it closed, as when a relay restarts in production.
    pub fn restart_coturn(&self, coturn: &mut Coturn) -> Result<()> {
        coturn.process.stop();
        *coturn = self.start_coturn(coturn.config.clone())?;
        Ok(())
    }
}

impl Coturn {
    fn wait_ready(&mut self, host: &Host, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let both = [self.addr(), self.addr2()];
        let udp: Vec<SocketAddr> = if self.config.no_udp {
            Vec::new()
        } else {
            both.to_vec()
        };
        let mut tcp = both.to_vec();
        tcp.extend(self.tls_addrs().into_iter().flatten());
        let mut last;
        loop {
            if let Some(status) = self.process.exited() {
                return Err(LabError::NotReady {
                    server: "coturn".into(),
                    secs: limit.as_secs(),
                    detail: format!("turnserver exited ({status}): {}", self.process.log()),
                    log: self.log.clone(),
                });
            }
            let r = host.run(|| -> std::io::Result<()> {
                let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
                for &a in &udp {
                    probe::stun_binding(&sock, a, Duration::from_millis(200))?;
                }
                for a in &tcp {
                    std::net::TcpStream::connect_timeout(a, Duration::from_millis(200))?;
                }
                Ok(())
            })?;
            match r {
                Ok(()) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(LabError::NotReady {
                    server: "coturn".into(),
                    secs: limit.as_secs(),
                    detail: last,
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// STUN/TURN on the first public address (UDP and TCP). Use this one
    /// for RFC 5780 behaviour discovery: its OTHER-ADDRESS is
    /// `addr2().ip():alt_port()`. (For requests to [`Coturn::addr2`],
    /// coturn 4.6.1 answers with its own IP and the alternate port.)
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ips[0], self.config.port)
    }

    /// STUN/TURN on the second public address (UDP and TCP).
    pub fn addr2(&self) -> SocketAddr {
        SocketAddr::new(self.ips[1], self.config.port)
    }

    /// The RFC 5780 alternate port (`port + 1`) on both addresses.
    pub fn alt_port(&self) -> u16 {
        self.config.port + 1
    }

    /// TLS addresses on both public addresses, if TLS is on.
    pub fn tls_addrs(&self) -> Option<[SocketAddr; 2]> {
        self.config.tls_port.map(|p| {
            [
                SocketAddr::new(self.ips[0], p),
                SocketAddr::new(self.ips[1], p),
            ]
        })
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// The certificate files when TLS is on (trust `ca`).
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// coturn's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log text so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it now (it also stops when dropped).
    pub fn stop(&mut self) {
        self.process.stop();
    }
}
