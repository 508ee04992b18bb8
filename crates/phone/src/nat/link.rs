//! A long-lived TURN allocation that carries data: the building block of media through a
//! relay. A task owns the socket or stream and the `TurnSession`; the caller installs
//! permissions, sends to peers and receives what peers sent, through channels. Refreshes,
//! permission refreshes and ChannelBind happen inside. Dropping the link releases the
//! allocation.
//!
//! **A lost relay is re-opened.** When the connection to the relay ends (a TCP/TLS connection
//! reset by a network blip, the relay restarted) or the allocation fails later (a refresh
//! refused; over UDP, where nothing closes, a relay that stays silent for 1 s while we send is
//! asked at once, and a restarted one answers that it knows no such allocation), the task
//! connects and allocates again on the same relay, after 0.2 s and then with a growing pause
//! (at most 1 s; every 5 s after 30 s of failures), for as long as the link is held; it installs
//! the permissions again and reports the new relayed address ([`RelayLink::moved`]), which the
//! call re-offers to the peer. Meanwhile what is sent is dropped, as on any lossy path. Wrong
//! credentials end the link instead (providers ban clients that retry them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_nat::{RelayTransport, TurnEvent, TurnSession};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::relay::{RelayError, RelayTarget, resolve};

enum Cmd {
    Permit(SocketAddr),
    Send(SocketAddr, Vec<u8>),
}

/// A live allocation. See the module docs.
#[derive(Debug)]
pub struct RelayLink {
    relayed: SocketAddr,
    mapped: Option<SocketAddr>,
    transport: RelayTransport,
    cmd: mpsc::Sender<Cmd>,
    data: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
    /// The relayed address of the current allocation (changes when the link re-opens).
    relayed_now: tokio::sync::watch::Receiver<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RelayLink {
    fn drop(&mut self) {
        // The task sees the closed command channel, releases the allocation and ends; abort
        // only bounds it if the server is gone.
        let task = self.task.abort_handle();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    task.abort();
                });
            }
            // Outside a runtime the task cannot run any more anyway.
            Err(_) => task.abort(),
        }
    }
}

impl RelayLink {
    /// Connects and allocates within `limit`.
    pub async fn open(
        target: &RelayTarget,
        tls: Arc<ClientConfig>,
        limit: Duration,
    ) -> Result<RelayLink, RelayError> {
        let deadline = tokio::time::Instant::now() + limit;
        let server = resolve(&target.uri.host, target.uri.port, deadline).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (data_tx, data_rx) = mpsc::channel(256);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (io, session) = connect(target, &tls, server, deadline).await?;
        let relay = Relay {
            target: target.clone(),
            tls,
            server,
            limit,
        };
        let task = tokio::spawn(supervise(relay, io, session, cmd_rx, data_tx, ready_tx));
        let r = tokio::time::timeout_at(deadline + Duration::from_millis(100), ready_rx).await;
        match r {
            Ok(Ok(Ok((relayed, mapped, relayed_now)))) => Ok(RelayLink {
                relayed,
                mapped,
                transport: target.uri.transport,
                cmd: cmd_tx,
                data: data_rx,
                relayed_now,
                task,
            }),
            Ok(Ok(Err(e))) => Err(e),
            _ => {
                task.abort();
                Err(RelayError::Timeout(limit.as_millis()))
            }
        }
    }

    /// The relayed address (what peers send to; what goes into the SDP).
    pub fn relayed(&self) -> SocketAddr {
        self.relayed
    }

    /// Our address as the relay saw it.
    pub fn mapped(&self) -> Option<SocketAddr> {
        self.mapped
    }

    /// How the relay is reached.
    pub fn transport(&self) -> RelayTransport {
        self.transport
    }

    /// Installs a permission for `peer` (needed before data flows either way).
    pub fn permit(&self, peer: SocketAddr) {
        let _ = self.cmd.try_send(Cmd::Permit(peer));
    }

    /// Sends `data` to `peer` through the relay; dropped when the queue is full or the
    /// permission is not in place yet (media tolerates loss; it must not block).
    pub fn send_to(&self, peer: SocketAddr, data: &[u8]) {
        let _ = self.cmd.try_send(Cmd::Send(peer, data.to_vec()));
    }

    /// The next packet a peer sent through the relay; `None` once the link is dead (wrong
    /// credentials on re-opening; a lost connection is re-opened, see the module docs).
    pub async fn recv(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.data.recv().await
    }

    /// The new relayed address, once, after the link re-opened on a new allocation; the peer
    /// must be told (a re-offer) unless it latches onto where media comes from.
    pub fn moved(&mut self) -> Option<SocketAddr> {
        if !self.relayed_now.has_changed().unwrap_or(false) {
            return None;
        }
        let now = *self.relayed_now.borrow_and_update();
        (now != self.relayed).then(|| {
            self.relayed = now;
            now
        })
    }
}

/// What re-opening needs.
struct Relay {
    target: RelayTarget,
    tls: Arc<ClientConfig>,
    server: SocketAddr,
    /// The bound of one connect + allocate.
    limit: Duration,
}

/// Connects to `server` and starts a TURN session over the connection (its Allocate queued).
async fn connect(
    target: &RelayTarget,
    tls: &Arc<ClientConfig>,
    server: SocketAddr,
    deadline: tokio::time::Instant,
) -> Result<(Io, TurnSession), RelayError> {
    let limit = deadline.saturating_duration_since(tokio::time::Instant::now());
    let timeout = || RelayError::Timeout(limit.as_millis());
    let io = |e: std::io::Error| RelayError::Io(e.to_string());
    let mk = |local: SocketAddr| {
        let mut c = homeline_nat::TurnConfig::new(
            server,
            local,
            target.uri.transport,
            target.username.clone(),
            target.password.clone(),
        );
        c.allocate_timeout = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .max(Duration::from_millis(1));
        TurnSession::new(c, Instant::now()).map_err(RelayError::Turn)
    };
    match target.uri.transport {
        RelayTransport::Udp => {
            let bind = if server.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let sock = UdpSocket::bind(bind).await.map_err(io)?;
            sock.connect(server).await.map_err(io)?;
            let s = mk(sock.local_addr().map_err(io)?)?;
            Ok((Io::Udp(sock), s))
        }
        RelayTransport::Tcp | RelayTransport::Tls => {
            let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(server))
                .await
                .map_err(|_| timeout())?
                .map_err(io)?;
            let _ = tcp.set_nodelay(true);
            let s = mk(tcp.local_addr().map_err(io)?)?;
            if target.uri.transport == RelayTransport::Tcp {
                return Ok((Io::Stream(Box::new(tcp)), s));
            }
            let name = ServerName::try_from(target.uri.host.clone())
                .map_err(|_| RelayError::Tls("invalid server name".into()))?;
            let t = tokio::time::timeout_at(
                deadline,
                tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp),
            )
            .await
            .map_err(|_| timeout())?
            .map_err(|e| RelayError::Tls(e.to_string()))?;
            Ok((Io::Stream(Box::new(t)), s))
        }
    }
}

enum Io {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Ready = tokio::sync::oneshot::Sender<
    Result<
        (
            SocketAddr,
            Option<SocketAddr>,
            tokio::sync::watch::Receiver<SocketAddr>,
        ),
        RelayError,
    >,
>;

/// The first pause before re-opening a lost relay, and the longest while the call can still
/// be saved (a restarting relay is back within seconds; each try is one connection). After
/// `REOPEN_PATIENCE` of failures the relay is tried every `REOPEN_SLOW`.
const REOPEN_FIRST: Duration = Duration::from_millis(200);
const REOPEN_MAX: Duration = Duration::from_secs(1);
const REOPEN_PATIENCE: Duration = Duration::from_secs(30);
const REOPEN_SLOW: Duration = Duration::from_secs(5);

/// Over UDP: how long the relay may stay silent while we send before we ask it whether our
/// allocation is still there, and how often we ask at most (a peer on hold sends nothing, so
/// a quiet relay is not proof of a dead one; one Refresh per 2 s is a few bytes).
const UDP_CHECK_SILENCE: Duration = Duration::from_secs(1);
const UDP_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Why [`run`] returned.
enum End {
    /// The link was dropped: the allocation is released.
    Dropped,
    /// The connection or the allocation is gone.
    Lost(String),
    /// Not worth re-opening (the credentials were refused).
    Fatal,
}

/// Runs the first session, then re-opens the relay whenever it is lost, until the link is
/// dropped (see the module docs).
async fn supervise(
    relay: Relay,
    io: Io,
    session: TurnSession,
    mut cmd: mpsc::Receiver<Cmd>,
    data: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    ready: Ready,
) {
    let mut ready = Some(ready);
    let mut relayed_tx: Option<tokio::sync::watch::Sender<SocketAddr>> = None;
    let mut permitted: Vec<SocketAddr> = Vec::new();
    let mut current = Some((io, session));
    loop {
        let Some((io, session)) = current.take() else {
            return;
        };
        let mut state = RunState {
            ready: &mut ready,
            relayed_tx: &mut relayed_tx,
            permitted: &mut permitted,
        };
        let why = match run(io, session, &mut cmd, &data, &mut state).await {
            End::Dropped | End::Fatal => return,
            End::Lost(why) => why,
        };
        if relayed_tx.is_none() {
            // Lost before the first allocation: `open` reports that; nothing to re-open.
            return;
        }
        tracing::warn!(relay = %relay.target.uri.original, why, "the relay link was lost; re-opening it");
        let mut pause = REOPEN_FIRST;
        let lost = tokio::time::Instant::now();
        loop {
            // Wait out the pause while taking in what the call asks meanwhile: permissions are
            // remembered, media is dropped, a dropped link ends the wait.
            let wake = tokio::time::Instant::now() + pause;
            loop {
                tokio::select! {
                    c = cmd.recv() => match c {
                        Some(Cmd::Permit(peer)) => remember(&mut permitted, peer),
                        Some(Cmd::Send(..)) => {}
                        None => return,
                    },
                    _ = tokio::time::sleep_until(wake) => break,
                }
            }
            let deadline = tokio::time::Instant::now() + relay.limit;
            match connect(&relay.target, &relay.tls, relay.server, deadline).await {
                Ok(c) => {
                    current = Some(c);
                    break;
                }
                Err(e) => {
                    tracing::info!(relay = %relay.target.uri.original, error = %e, "the relay is not back yet");
                    pause = if lost.elapsed() < REOPEN_PATIENCE {
                        (pause * 2).min(REOPEN_MAX)
                    } else {
                        REOPEN_SLOW
                    };
                }
            }
        }
    }
}

fn remember(permitted: &mut Vec<SocketAddr>, peer: SocketAddr) {
    if !permitted.contains(&peer) {
        permitted.push(peer);
    }
}

/// What outlives one session of the link.
struct RunState<'a> {
    /// `open`'s answer, until the first allocation.
    ready: &'a mut Option<Ready>,
    /// Set at the first allocation; later allocations publish their address on it.
    relayed_tx: &'a mut Option<tokio::sync::watch::Sender<SocketAddr>>,
    /// Peers with permissions, installed again on a new allocation.
    permitted: &'a mut Vec<SocketAddr>,
}

async fn run(
    mut io: Io,
    mut s: TurnSession,
    cmd: &mut mpsc::Receiver<Cmd>,
    data: &mpsc::Sender<(SocketAddr, Vec<u8>)>,
    st: &mut RunState<'_>,
) -> End {
    let mut buf = vec![0u8; 4096];
    let server = s.config().server;
    // Over UDP a restarted relay says nothing: while we send and hear nothing from it, ask it
    // (see `UDP_CHECK_*`).
    let mut heard = Instant::now();
    let mut checked = Instant::now();
    loop {
        while let Some(t) = s.poll_transmit() {
            let ok = match &mut io {
                Io::Udp(sock) => {
                    // A lost datagram is retransmitted by the session or tolerated.
                    let _ = sock.send(&t.payload).await;
                    true
                }
                Io::Stream(st) => st.write_all(&t.payload).await.is_ok(),
            };
            if !ok {
                return End::Lost("the connection to the relay broke".into());
            }
        }
        while let Some(e) = s.poll_event() {
            match e {
                TurnEvent::Allocated {
                    relayed, mapped, ..
                } => match st.relayed_tx.as_ref() {
                    None => {
                        let (tx, rx) = tokio::sync::watch::channel(relayed);
                        *st.relayed_tx = Some(tx);
                        if let Some(r) = st.ready.take() {
                            let _ = r.send(Ok((relayed, mapped, rx)));
                        }
                    }
                    Some(tx) => {
                        tracing::info!(relay = %server, %relayed, "the relay is back, on a new allocation");
                        for &peer in st.permitted.iter() {
                            s.create_permission(Instant::now(), peer);
                        }
                        let _ = tx.send(relayed);
                    }
                },
                TurnEvent::Failed(e) => {
                    if let Some(r) = st.ready.take() {
                        let _ = r.send(Err(RelayError::Turn(e.clone())));
                    }
                    tracing::warn!(relay = %server, error = %e, "the relay link failed");
                    return match e {
                        homeline_nat::TurnError::WrongCredentials => End::Fatal,
                        e => End::Lost(e.to_string()),
                    };
                }
                TurnEvent::Data { from, data: d } => {
                    let _ = data.try_send((from, d));
                }
                TurnEvent::PermissionFailed(peer, e) => {
                    tracing::warn!(relay = %server, %peer, error = %e, "relay permission refused");
                }
                TurnEvent::PermissionCreated(_) => {}
            }
        }
        let wake = s
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(30));
        tokio::select! {
            c = cmd.recv() => match c {
                Some(Cmd::Permit(peer)) => {
                    remember(st.permitted, peer);
                    s.create_permission(Instant::now(), peer);
                }
                Some(Cmd::Send(peer, d)) => {
                    let now = Instant::now();
                    let _ = s.send_to(now, peer, &d);
                    if matches!(io, Io::Udp(_))
                        && now.duration_since(heard) >= UDP_CHECK_SILENCE
                        && now.duration_since(checked) >= UDP_CHECK_EVERY
                    {
                        checked = now;
                        s.check(now);
                    }
                }
                None => {
                    s.close(Instant::now());
                    while let Some(t) = s.poll_transmit() {
                        match &mut io {
                            Io::Udp(sock) => { let _ = sock.send(&t.payload).await; }
                            Io::Stream(st) => { let _ = st.write_all(&t.payload).await; }
                        }
                    }
                    return End::Dropped;
                }
            },
            r = read(&mut io, &mut buf) => match r {
                Some(n) => match &io {
                    Io::Udp(_) => {
                        heard = Instant::now();
                        s.handle_datagram(heard, server, &buf[..n]);
                    }
                    Io::Stream(_) => s.handle_stream_bytes(Instant::now(), &buf[..n]),
                },
                None => {
                    if let Some(r) = st.ready.take() {
                        let _ = r.send(Err(RelayError::Io("the relay closed the connection".into())));
                    }
                    return End::Lost("the relay closed the connection".into());
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => s.handle_timeout(Instant::now()),
        }
    }
}

/// Reads once; `None` when the stream ended (UDP errors such as a late ICMP are skipped).
async fn read(io: &mut Io, buf: &mut [u8]) -> Option<usize> {
    match io {
        Io::Udp(sock) => loop {
            if let Ok(n) = sock.recv(buf).await {
                return Some(n);
            }
        },
        Io::Stream(st) => match st.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
    }
}
