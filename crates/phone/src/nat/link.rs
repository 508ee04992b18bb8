//! A long-lived TURN allocation that carries data: the building block of media through a
//! relay. A task owns the socket or stream and the `TurnSession`; the caller installs
//! permissions, sends to peers and receives what peers sent, through channels. Refreshes,
//! permission refreshes and ChannelBind happen inside. Dropping the link releases the
//! allocation.

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
        let timeout = || RelayError::Timeout(limit.as_millis());
        let server = resolve(&target.uri.host, target.uri.port, deadline).await?;
        let io = |e: std::io::Error| RelayError::Io(e.to_string());
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (data_tx, data_rx) = mpsc::channel(256);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
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
        let task = match target.uri.transport {
            RelayTransport::Udp => {
                let bind = if server.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let sock = UdpSocket::bind(bind).await.map_err(io)?;
                sock.connect(server).await.map_err(io)?;
                let s = mk(sock.local_addr().map_err(io)?)?;
                tokio::spawn(run(Io::Udp(sock), s, cmd_rx, data_tx, ready_tx))
            }
            RelayTransport::Tcp | RelayTransport::Tls => {
                let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(server))
                    .await
                    .map_err(|_| timeout())?
                    .map_err(io)?;
                let _ = tcp.set_nodelay(true);
                let s = mk(tcp.local_addr().map_err(io)?)?;
                if target.uri.transport == RelayTransport::Tcp {
                    tokio::spawn(run(Io::Stream(Box::new(tcp)), s, cmd_rx, data_tx, ready_tx))
                } else {
                    let name = ServerName::try_from(target.uri.host.clone())
                        .map_err(|_| RelayError::Tls("invalid server name".into()))?;
                    let t = tokio::time::timeout_at(
                        deadline,
                        tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
                    )
                    .await
                    .map_err(|_| timeout())?
                    .map_err(|e| RelayError::Tls(e.to_string()))?;
                    tokio::spawn(run(Io::Stream(Box::new(t)), s, cmd_rx, data_tx, ready_tx))
                }
            }
        };
        let r = tokio::time::timeout_at(deadline + Duration::from_millis(100), ready_rx).await;
        match r {
            Ok(Ok(Ok((relayed, mapped)))) => Ok(RelayLink {
                relayed,
                mapped,
                transport: target.uri.transport,
                cmd: cmd_tx,
                data: data_rx,
                task,
            }),
            Ok(Ok(Err(e))) => Err(e),
            _ => {
                task.abort();
                Err(timeout())
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

    /// The next packet a peer sent through the relay; `None` once the link is dead.
    pub async fn recv(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.data.recv().await
    }
}

enum Io {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Ready = tokio::sync::oneshot::Sender<Result<(SocketAddr, Option<SocketAddr>), RelayError>>;

async fn run(
    mut io: Io,
    mut s: TurnSession,
    mut cmd: mpsc::Receiver<Cmd>,
    data: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    ready: Ready,
) {
    let mut ready = Some(ready);
    let mut buf = vec![0u8; 4096];
    let server = s.config().server;
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
                return;
            }
        }
        while let Some(e) = s.poll_event() {
            match e {
                TurnEvent::Allocated {
                    relayed, mapped, ..
                } => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Ok((relayed, mapped)));
                    }
                }
                TurnEvent::Failed(e) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(RelayError::Turn(e.clone())));
                    }
                    tracing::warn!(relay = %server, error = %e, "the relay link failed");
                    return;
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
                Some(Cmd::Permit(peer)) => s.create_permission(Instant::now(), peer),
                Some(Cmd::Send(peer, d)) => { let _ = s.send_to(Instant::now(), peer, &d); }
                None => {
                    s.close(Instant::now());
                    while let Some(t) = s.poll_transmit() {
                        match &mut io {
                            Io::Udp(sock) => { let _ = sock.send(&t.payload).await; }
                            Io::Stream(st) => { let _ = st.write_all(&t.payload).await; }
                        }
                    }
                    return;
                }
            },
            r = read(&mut io, &mut buf) => match r {
                Some(n) => match &io {
                    Io::Udp(_) => s.handle_datagram(Instant::now(), server, &buf[..n]),
                    Io::Stream(_) => s.handle_stream_bytes(Instant::now(), &buf[..n]),
                },
                None => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(RelayError::Io("the relay closed the connection".into())));
                    }
                    return;
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
