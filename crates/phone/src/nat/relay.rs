//! A TURN allocation driven over a real socket or stream.
//!
//! UDP: one socket per allocation. TCP: one connection. TLS: one connection wrapped in
//! tokio-rustls with the same trust as SIP over TLS (built-in roots + `tls_ca_file`), the
//! server name being the URI's host. The session itself is `homeline_nat::TurnSession`.
//!
//! Every step is bounded: name resolution, connect and the allocation share one deadline, so
//! a dead or filtered relay costs at most that long and is then skipped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_nat::{RelayTransport, TurnConfig, TurnError, TurnEvent, TurnSession, TurnUri};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Why a relay could not be used, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The relay's name does not resolve.
    #[error("the relay's name {0} could not be found (check the spelling, or the network's DNS)")]
    Resolve(String),
    /// TCP connect refused: nothing listens there.
    #[error("nothing answers on {0} (the relay is down, or this port is blocked)")]
    Refused(String),
    /// No connection or answer in time.
    #[error(
        "no answer from the relay within {0} ms (it is down, or the network blocks this transport)"
    )]
    Timeout(u128),
    /// The TLS handshake failed (certificate or protocol).
    #[error("the secure connection to the relay failed: {0}")]
    Tls(String),
    /// Other socket errors.
    #[error("the network refused the connection to the relay: {0}")]
    Io(String),
    /// The TURN exchange failed.
    #[error("{0}")]
    Turn(TurnError),
    /// The relay has no password (neither in the file nor in the keyring).
    #[error("no password is set for this relay")]
    NoPassword,
}

impl RelayError {
    /// A stable code for JSON and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Resolve(_) => "relay_name_unknown",
            Self::Refused(_) => "relay_refused",
            Self::Timeout(_) => "relay_timeout",
            Self::Tls(_) => "relay_tls_failed",
            Self::Io(_) => "relay_network_error",
            Self::Turn(TurnError::WrongCredentials) => "relay_wrong_credentials",
            Self::Turn(TurnError::Timeout(_)) => "relay_timeout",
            Self::Turn(_) => "relay_refused_request",
            Self::NoPassword => "relay_no_password",
        }
    }

    /// The next step for the user.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Turn(TurnError::WrongCredentials) | Self::NoPassword => {
                "Check the relay's user name and password in Settings → Network (they come from \
                 your provider or IT department)."
            }
            Self::Tls(_) => {
                "If the relay uses a private certificate authority, put its CA certificate in \
                 tls_ca_file."
            }
            Self::Resolve(_) => "Check the relay address in Settings → Network.",
            _ => {
                "Calls use another relay or transport if one works; if none does, ask your IT \
                 department whether this network blocks the relay."
            }
        }
    }
}

/// What to connect to.
#[derive(Clone)]
pub struct RelayTarget {
    /// The relay and transport.
    pub uri: TurnUri,
    /// Long-term credential.
    pub username: String,
    /// Long-term credential.
    pub password: String,
}

impl std::fmt::Debug for RelayTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayTarget")
            .field("uri", &self.uri.original)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A successful allocation (probe result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocated {
    /// The relayed address.
    pub relayed: SocketAddr,
    /// Our address as the relay saw it.
    pub mapped: Option<SocketAddr>,
    /// Round trip of the first TURN exchange.
    pub rtt: Duration,
    /// Resolve + connect (+ TLS handshake) time.
    pub connect: Duration,
}

/// Resolves `host:port`, preferring IPv4 (the lab and most relays), within `deadline`.
pub async fn resolve(
    host: &str,
    port: u16,
    deadline: tokio::time::Instant,
) -> Result<SocketAddr, RelayError> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found = tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| RelayError::Resolve(host.to_owned()))?
        .map_err(|_| RelayError::Resolve(host.to_owned()))?;
    let all: Vec<SocketAddr> = found.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| RelayError::Resolve(host.to_owned()))
}

fn io_error(e: std::io::Error, what: &str) -> RelayError {
    if let Some(words) = crate::sip::tls::describe_certificate_error(&e) {
        return RelayError::Tls(format!("the relay's certificate was refused: {words}"));
    }
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => RelayError::Refused(what.to_owned()),
        _ => RelayError::Io(e.to_string()),
    }
}

/// Allocates on `target` and releases the allocation again: what the prober does. Gives up
/// after `limit` in all.
pub async fn probe_once(
    target: &RelayTarget,
    tls: Arc<ClientConfig>,
    limit: Duration,
) -> Result<Allocated, RelayError> {
    let started = tokio::time::Instant::now();
    let deadline = started + limit;
    let timeout = || RelayError::Timeout(limit.as_millis());
    let server = resolve(&target.uri.host, target.uri.port, deadline).await?;
    let what = format!("{} port {}", server.ip(), server.port());
    match target.uri.transport {
        RelayTransport::Udp => {
            let bind: SocketAddr = if server.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            }
            .parse()
            .map_err(|_| RelayError::Io("bad bind address".into()))?;
            let sock = UdpSocket::bind(bind)
                .await
                .map_err(|e| io_error(e, &what))?;
            sock.connect(server).await.map_err(|e| io_error(e, &what))?;
            let local = sock.local_addr().map_err(|e| io_error(e, &what))?;
            let connect = started.elapsed();
            let cfg = config(target, server, local, deadline);
            run_udp(&sock, cfg, connect).await
        }
        RelayTransport::Tcp | RelayTransport::Tls => {
            let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(server))
                .await
                .map_err(|_| timeout())?
                .map_err(|e| io_error(e, &what))?;
            let _ = tcp.set_nodelay(true);
            let local = tcp.local_addr().map_err(|e| io_error(e, &what))?;
            if target.uri.transport == RelayTransport::Tcp {
                let connect = started.elapsed();
                let cfg = config(target, server, local, deadline);
                return run_stream(tcp, cfg, connect).await;
            }
            let name = ServerName::try_from(target.uri.host.clone()).map_err(|_| {
                RelayError::Tls(format!("{} is not a valid server name", target.uri.host))
            })?;
            let tls_stream = tokio::time::timeout_at(
                deadline,
                tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
            )
            .await
            .map_err(|_| timeout())?
            .map_err(|e| match io_error(e, &what) {
                RelayError::Io(m) => RelayError::Tls(m),
                other => other,
            })?;
            let connect = started.elapsed();
            let cfg = config(target, server, local, deadline);
            run_stream(tls_stream, cfg, connect).await
        }
    }
}

fn config(
    target: &RelayTarget,
    server: SocketAddr,
    local: SocketAddr,
    deadline: tokio::time::Instant,
) -> TurnConfig {
    let mut c = TurnConfig::new(
        server,
        local,
        target.uri.transport,
        target.username.clone(),
        target.password.clone(),
    );
    c.allocate_timeout = deadline
        .saturating_duration_since(tokio::time::Instant::now())
        .max(Duration::from_millis(1));
    c
}

/// Drives a session until it allocated (then releases it) or failed.
async fn run_udp(
    sock: &UdpSocket,
    cfg: TurnConfig,
    connect: Duration,
) -> Result<Allocated, RelayError> {
    let server = cfg.server;
    let mut s = TurnSession::new(cfg, Instant::now()).map_err(RelayError::Turn)?;
    let mut buf = vec![0u8; 2048];
    loop {
        while let Some(t) = s.poll_transmit() {
            // A send error (ICMP unreachable reported late) shows as a timeout below.
            let _ = sock.send(&t.payload).await;
        }
        if let Some(r) = outcome(&mut s, connect) {
            if r.is_ok() {
                s.close(Instant::now());
                while let Some(t) = s.poll_transmit() {
                    let _ = sock.send(&t.payload).await;
                }
            }
            return r;
        }
        let wake = s
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(50));
        tokio::select! {
            r = sock.recv(&mut buf) => match r {
                Ok(n) => s.handle_datagram(Instant::now(), server, &buf[..n]),
                // ICMP port unreachable on a connected socket: the relay is not there.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(RelayError::Refused(format!("{} port {} (UDP)", server.ip(), server.port())));
                }
                Err(_) => {}
            },
            _ = tokio::time::sleep_until(wake.into()) => s.handle_timeout(Instant::now()),
        }
    }
}

async fn run_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    cfg: TurnConfig,
    connect: Duration,
) -> Result<Allocated, RelayError> {
    let mut s = TurnSession::new(cfg, Instant::now()).map_err(RelayError::Turn)?;
    let mut buf = vec![0u8; 4096];
    loop {
        while let Some(t) = s.poll_transmit() {
            stream
                .write_all(&t.payload)
                .await
                .map_err(|e| RelayError::Io(e.to_string()))?;
        }
        if let Some(r) = outcome(&mut s, connect) {
            if r.is_ok() {
                s.close(Instant::now());
                while let Some(t) = s.poll_transmit() {
                    let _ = stream.write_all(&t.payload).await;
                }
                let _ = stream.shutdown().await;
            }
            return r;
        }
        let wake = s
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(50));
        tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) => return Err(RelayError::Io("the relay closed the connection".into())),
                Ok(n) => s.handle_stream_bytes(Instant::now(), &buf[..n]),
                Err(e) => return Err(RelayError::Io(e.to_string())),
            },
            _ = tokio::time::sleep_until(wake.into()) => s.handle_timeout(Instant::now()),
        }
    }
}

fn outcome(s: &mut TurnSession, connect: Duration) -> Option<Result<Allocated, RelayError>> {
    while let Some(e) = s.poll_event() {
        match e {
            TurnEvent::Allocated {
                relayed,
                mapped,
                rtt,
            } => {
                return Some(Ok(Allocated {
                    relayed,
                    mapped,
                    rtt,
                    connect,
                }));
            }
            TurnEvent::Failed(e) => return Some(Err(RelayError::Turn(e))),
            _ => {}
        }
    }
    None
}
