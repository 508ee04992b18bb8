//! The probes' sockets: tokio drivers for the sans-IO cores of `homeline-nat` and
//! `homeline-diag`, each under a deadline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_diag::SipTransport;
use homeline_diag::probes::{PortOutcome, PortProbe, ViaEcho};
use homeline_diag::quality_probe::QualityProbe;
use homeline_diag::sip_probe::{OptionsRequest, options_request, read_answer};
use homeline_nat::behaviour::{Discovery, Flow, LifetimeProbe, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::sip::direct::local_ip_towards;

/// A sans-IO STUN core as the drivers see it.
pub(crate) trait StunCore {
    fn poll_transmit(&mut self) -> Option<Transmit>;
    fn handle_read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]);
    fn poll_timeout(&self) -> Option<Instant>;
    fn handle_timeout(&mut self, now: Instant);
    fn finished(&self) -> bool;
}

impl StunCore for Discovery {
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Discovery::poll_transmit(self)
    }
    fn handle_read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        Discovery::handle_read(self, now, flow, from, data);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Discovery::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Discovery::handle_timeout(self, now);
    }
    fn finished(&self) -> bool {
        self.result().is_some()
    }
}

impl StunCore for LifetimeProbe {
    fn poll_transmit(&mut self) -> Option<Transmit> {
        LifetimeProbe::poll_transmit(self)
    }
    fn handle_read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        LifetimeProbe::handle_read(self, now, flow, from, data);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        LifetimeProbe::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        LifetimeProbe::handle_timeout(self, now);
    }
    fn finished(&self) -> bool {
        self.outcome().is_some()
    }
}

/// One UDP socket per flow, bound on first use; what they receive arrives on one channel.
struct Sockets {
    sockets: HashMap<Flow, Arc<UdpSocket>>,
    readers: JoinSet<()>,
    tx: mpsc::Sender<(Flow, SocketAddr, Vec<u8>)>,
}

impl Sockets {
    fn new(tx: mpsc::Sender<(Flow, SocketAddr, Vec<u8>)>) -> Self {
        Self {
            sockets: HashMap::new(),
            readers: JoinSet::new(),
            tx,
        }
    }

    async fn get(&mut self, flow: Flow) -> std::io::Result<Arc<UdpSocket>> {
        if let Some(s) = self.sockets.get(&flow) {
            return Ok(s.clone());
        }
        let s = Arc::new(UdpSocket::bind("0.0.0.0:0").await?);
        self.insert(flow, s.clone());
        Ok(s)
    }

    fn insert(&mut self, flow: Flow, s: Arc<UdpSocket>) {
        self.sockets.insert(flow, s.clone());
        let tx = self.tx.clone();
        self.readers.spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                if tx.send((flow, from, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// Runs a STUN core over real sockets until it finishes or `deadline` passes. `mapping` is
/// an already bound socket for [`Flow::Mapping`] (its local address is what discovery
/// compares with).
pub(crate) async fn drive<C: StunCore>(
    core: &mut C,
    mapping: Option<Arc<UdpSocket>>,
    deadline: Instant,
) {
    let (tx, mut rx) = mpsc::channel(1024);
    let mut sockets = Sockets::new(tx);
    if let Some(m) = mapping {
        sockets.insert(Flow::Mapping, m);
    }
    loop {
        while let Some(t) = core.poll_transmit() {
            match sockets.get(t.flow).await {
                Ok(s) => {
                    // A send error (no route) is a lost packet: the core's deadline decides.
                    let _ = s.send_to(&t.payload, t.to).await;
                }
                Err(e) => tracing::debug!("diagnostics: no socket for {:?}: {e}", t.flow),
            }
        }
        if core.finished() {
            break;
        }
        let wake = core.poll_timeout().unwrap_or(deadline).min(deadline);
        tokio::select! {
            got = rx.recv() => match got {
                Some((flow, from, data)) => core.handle_read(Instant::now(), flow, from, &data),
                None => break,
            },
            () = tokio::time::sleep_until(wake.into()) => {
                if Instant::now() >= deadline {
                    break;
                }
                core.handle_timeout(Instant::now());
            }
        }
    }
    sockets.readers.abort_all();
}

/// A UDP socket bound like a call's RTP socket, and its local address as the route to
/// `towards` would show it.
pub(crate) async fn bind_like_rtp(
    towards: SocketAddr,
) -> std::io::Result<(Arc<UdpSocket>, SocketAddr)> {
    let s = UdpSocket::bind("0.0.0.0:0").await?;
    let port = s.local_addr()?.port();
    Ok((
        Arc::new(s),
        SocketAddr::new(local_ip_towards(towards), port),
    ))
}

/// The quality probe: `count` packets every 20 ms from `socket` to `server`, answers awaited
/// until `deadline`.
pub(crate) async fn quality(
    socket: Arc<UdpSocket>,
    server: SocketAddr,
    count: u32,
    deadline: Instant,
) -> QualityProbe {
    let mut p = QualityProbe::new(Instant::now(), server, count);
    let mut buf = vec![0u8; 2048];
    loop {
        while let Some((to, bytes)) = p.poll_transmit() {
            let _ = socket.send_to(&bytes, to).await;
        }
        if p.is_done() || Instant::now() >= deadline {
            break;
        }
        let wake = p.poll_timeout().unwrap_or(deadline).min(deadline);
        tokio::select! {
            got = socket.recv_from(&mut buf) => {
                if let Ok((n, _)) = got {
                    p.handle_read(Instant::now(), &buf[..n]);
                }
            }
            () = tokio::time::sleep_until(wake.into()) => p.handle_timeout(Instant::now()),
        }
    }
    p
}

/// One cell of the transport matrix.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub transport: SipTransport,
    pub host: String,
    pub addr: SocketAddr,
}

/// The result of one OPTIONS probe.
#[derive(Debug, Clone)]
pub(crate) struct CellResult {
    pub probe: PortProbe,
    pub echo: Option<ViaEcho>,
}

fn nonce() -> u64 {
    let mut b = [0u8; 8];
    // Without OS randomness the time still makes the Call-ID unique enough for one test.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        b = t.to_be_bytes();
    }
    u64::from_be_bytes(b)
}

/// OPTIONS over UDP: sends at 0, 0.5 and 1.5 s, waits for the answer until `limit`.
async fn options_udp(cell: &Cell, limit: Duration) -> CellResult {
    let done = |outcome, echo| CellResult {
        probe: PortProbe {
            transport: cell.transport,
            port: cell.addr.port(),
            outcome,
        },
        echo,
    };
    let sock = match UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => {
            return done(
                PortOutcome::Garbage {
                    why: format!("no local socket: {e}"),
                },
                None,
            );
        }
    };
    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let local = SocketAddr::new(local_ip_towards(cell.addr), port);
    let req = options_request(SipTransport::Udp, local, &cell.host, cell.addr, nonce());
    let start = Instant::now();
    let deadline = start + limit;
    let resend = [
        Duration::ZERO,
        Duration::from_millis(500),
        Duration::from_millis(1500),
    ];
    let mut next = 0;
    let mut garbage = None;
    let mut buf = vec![0u8; 65535];
    loop {
        let now = Instant::now();
        while next < resend.len() && start + resend[next] <= now {
            let _ = sock.send_to(&req.bytes, cell.addr).await;
            next += 1;
        }
        let wake = resend
            .get(next)
            .map(|d| start + *d)
            .unwrap_or(deadline)
            .min(deadline);
        if now >= deadline {
            break;
        }
        tokio::select! {
            got = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                if from.ip() != cell.addr.ip() {
                    continue;
                }
                match read_answer(&buf[..n], &req, SipTransport::Udp, cell.addr.port()) {
                    Ok(Some(a)) => {
                        let rtt_ms = start.elapsed().as_millis() as u64;
                        return done(PortOutcome::Answered { code: a.code, rtt_ms }, Some(a.echo));
                    }
                    Ok(None) => {}
                    Err(why) => garbage = Some(why),
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {}
        }
    }
    match garbage {
        Some(why) => done(PortOutcome::Garbage { why }, None),
        None => done(PortOutcome::ResponseLost, None),
    }
}

async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    req: &OptionsRequest,
    transport: SipTransport,
    port: u16,
) -> Result<homeline_diag::sip_probe::OptionsAnswer, Option<String>> {
    stream
        .write_all(&req.bytes)
        .await
        .map_err(|e| Some(format!("the connection broke: {e}")))?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Some(format!("the connection broke: {e}")))?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 65536 {
            return Err(Some("an endless answer that is not SIP".into()));
        }
        // One message: the head ends with a blank line; OPTIONS answers rarely have a body
        // and we only need the head.
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = &buf[..end + 4];
            match read_answer(head, req, transport, port) {
                Ok(Some(a)) => return Ok(a),
                Ok(None) => buf.drain(..end + 4),
                Err(why) => return Err(Some(why)),
            };
        }
    }
}

/// OPTIONS over TCP or TLS, all within `limit`.
async fn options_stream(
    cell: &Cell,
    limit: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> CellResult {
    let done = |outcome| CellResult {
        probe: PortProbe {
            transport: cell.transport,
            port: cell.addr.port(),
            outcome,
        },
        echo: None,
    };
    let start = Instant::now();
    let deadline = start + limit;
    let tcp = match tokio::time::timeout_at(deadline.into(), TcpStream::connect(cell.addr)).await {
        Err(_) => return done(PortOutcome::RequestLost),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return done(PortOutcome::Refused);
        }
        Ok(Err(_)) => return done(PortOutcome::RequestLost),
        Ok(Ok(s)) => s,
    };
    let local = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let req = options_request(cell.transport, local, &cell.host, cell.addr, nonce());
    let result =
        match tls {
            None => {
                let mut tcp = tcp;
                tokio::time::timeout_at(
                    deadline.into(),
                    exchange(&mut tcp, &req, cell.transport, cell.addr.port()),
                )
                .await
            }
            Some(config) => {
                let name = match rustls_pki_types::ServerName::try_from(cell.host.clone()) {
                    Ok(n) => n,
                    Err(_) => {
                        return done(PortOutcome::TlsFailed {
                            why: format!("{:?} is not a valid server name", cell.host),
                        });
                    }
                };
                let connector = tokio_rustls::TlsConnector::from(config);
                let mut stream =
                    match tokio::time::timeout_at(deadline.into(), connector.connect(name, tcp))
                        .await
                    {
                        Err(_) => return done(PortOutcome::ResponseLost),
                        Ok(Err(e)) => {
                            let why = crate::sip::tls::describe_certificate_error(&e)
                                .map(|w| format!("its certificate was refused: {w}"))
                                .unwrap_or_else(|| format!("the secure connection failed: {e}"));
                            return done(PortOutcome::TlsFailed { why });
                        }
                        Ok(Ok(s)) => s,
                    };
                tokio::time::timeout_at(
                    deadline.into(),
                    exchange(&mut stream, &req, cell.transport, cell.addr.port()),
                )
                .await
            }
        };
    match result {
        Ok(Ok(a)) => CellResult {
            probe: PortProbe {
                transport: cell.transport,
                port: cell.addr.port(),
                outcome: PortOutcome::Answered {
                    code: a.code,
                    rtt_ms: start.elapsed().as_millis() as u64,
                },
            },
            echo: Some(a.echo),
        },
        Ok(Err(Some(why))) => done(PortOutcome::Garbage { why }),
        Ok(Err(None)) | Err(_) => done(PortOutcome::ResponseLost),
    }
}

/// Probes every cell at once; each within `limit`.
pub(crate) async fn options_matrix(
    cells: Vec<Cell>,
    limit: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Vec<CellResult> {
    let mut set = JoinSet::new();
    for (i, cell) in cells.into_iter().enumerate() {
        let tls = tls.clone();
        set.spawn(async move {
            let r = match cell.transport {
                SipTransport::Udp => options_udp(&cell, limit).await,
                SipTransport::Tcp => options_stream(&cell, limit, None).await,
                SipTransport::Tls => match tls {
                    Some(t) => options_stream(&cell, limit, Some(t)).await,
                    None => CellResult {
                        probe: PortProbe {
                            transport: cell.transport,
                            port: cell.addr.port(),
                            outcome: PortOutcome::TlsFailed {
                                why: "TLS could not be set up (see tls_ca_file)".into(),
                            },
                        },
                        echo: None,
                    },
                },
                SipTransport::Wss => CellResult {
                    probe: PortProbe {
                        transport: cell.transport,
                        port: cell.addr.port(),
                        outcome: PortOutcome::Refused,
                    },
                    echo: None,
                },
            };
            (i, r)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            out.push(r);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
