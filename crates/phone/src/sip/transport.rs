//! Transports: one [`Flow`] is one connection (or one connected UDP socket) to one server
//! target, over UDP, TCP, TLS, WS or WSS.
//!
//! Each flow runs a reader and a writer task. The reader frames what arrives with the sip
//! crate's receive path — one message per datagram (RFC 3261 §18.3), Content-Length framing
//! with RFC 5626 §3.5.1 CRLF ping/pong on TCP/TLS, one message per WebSocket message on
//! WS/WSS (RFC 7118 §5.2), where the keep-alive ping is a WebSocket Ping frame — and hands
//! [`FlowEvent`]s to the driver. The writer sends what the driver queues and reports a failed
//! send with the transaction it belonged to, so the transaction layer can turn it into a
//! `503` (RFC 3261 §8.1.3.1).
//!
//! On UDP the reader tells STUN from SIP by the first byte ([`is_stun`]) before parsing, so
//! the RFC 5626 §4.4.2 STUN keep-alive and SIP share the flow's socket.
//!
//! UDP sockets are *connected* to the server: the kernel then reports ICMP "port
//! unreachable" as a refused connection, which becomes an immediate, plain-worded failure
//! instead of 32 s of silence; and only the server can reach us on that socket.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use homeline_sip::framing::{PING, PONG, StreamFramer};
use homeline_sip::keepalive::is_stun;
use homeline_sip::transaction::{Peer, TransactionId, TransportKind};
use homeline_sip::{Inbound, StreamItem, receive_datagram};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::resolve::Target;
use super::tls::{TlsSetupError, describe_certificate_error};

/// The largest datagram we read (a SIP message is capped at 64 KiB by the sip crate).
const MAX_DATAGRAM: usize = 65_535;

/// Why a flow could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The local port could not be bound.
    #[error("could not use local port {port} for SIP: {detail}")]
    Bind {
        /// The configured port (0 = any).
        port: u16,
        /// Why.
        detail: String,
    },
    /// The connection was refused or the network is unreachable.
    #[error("could not connect to {target}: {detail}")]
    Connect {
        /// `host (ip) over TCP port n`.
        target: String,
        /// Why, from the operating system.
        detail: String,
    },
    /// No answer while connecting.
    #[error("no answer from {target} within {secs} s (a firewall may block the port)")]
    ConnectTimeout {
        /// `host (ip) over TCP port n`.
        target: String,
        /// The limit.
        secs: u64,
    },
    /// The server's certificate failed verification.
    #[error("the certificate of {server} is not trusted: {detail}")]
    Certificate {
        /// The name we expected in the certificate.
        server: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("the TLS handshake with {target} failed: {detail}")]
    Tls {
        /// `host (ip) over TLS port n`.
        target: String,
        /// Why.
        detail: String,
    },
    /// The WebSocket upgrade failed (RFC 6455 / RFC 7118).
    #[error("the WebSocket handshake with {target} failed: {detail}")]
    WebSocket {
        /// `host (ip) over WS port n`.
        target: String,
        /// Why.
        detail: String,
    },
    /// The TLS settings are unusable.
    #[error(transparent)]
    Setup(#[from] TlsSetupError),
}

/// How flows are opened.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Local port (`[network] sip_local_port`, 0 = any).
    pub local_port: u16,
    /// TLS client settings (for TLS and WSS).
    pub tls: Arc<ClientConfig>,
    /// Limit for TCP connect, TLS and WebSocket handshakes.
    pub connect_timeout: Duration,
}

/// What a flow reports to its driver.
#[derive(Debug)]
pub enum FlowEvent {
    /// A message went through the receive path (valid, rejected or dropped).
    Message {
        /// The receive path's decision (boxed: a parsed message is large, the other events
        /// small).
        inbound: Box<Inbound>,
        /// Where it came from.
        from: SocketAddr,
    },
    /// A STUN message on a UDP flow (RFC 5626 §4.4.2 keep-alive responses), told apart
    /// from SIP by its first byte before any SIP parsing (RFC 7983 §7).
    Stun(Vec<u8>),
    /// An RFC 5626 §3.5.1 ping: answer with a pong.
    Ping,
    /// An RFC 5626 §3.5.1 pong.
    Pong,
    /// A send failed (or, on UDP, ICMP said nobody listens). `transaction` is the one that
    /// sent it, when known.
    SendFailed {
        /// The transaction of the failed message.
        transaction: Option<TransactionId>,
        /// Why, in words.
        reason: String,
    },
    /// A stream flow ended; it cannot be used any more.
    Closed {
        /// Why, in words.
        reason: String,
    },
}

#[derive(Debug)]
struct Outgoing {
    bytes: Vec<u8>,
    transaction: Option<TransactionId>,
}

/// One open flow to one server target. Dropping it stops its tasks and closes it at once,
/// discarding what is still queued; [`Flow::close`] lets the queue drain first.
#[derive(Debug)]
pub struct Flow {
    target: Target,
    local: SocketAddr,
    out: mpsc::UnboundedSender<Outgoing>,
    events: mpsc::UnboundedReceiver<FlowEvent>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Flow {
    /// The server end.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Our end (the address the operating system chose).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The server as the transaction layer names it.
    pub fn peer(&self) -> Peer {
        Peer {
            transport: self.target.transport,
            addr: self.target.addr,
        }
    }

    /// Queues bytes for sending. A failure comes back as [`FlowEvent::SendFailed`].
    pub fn send(&self, bytes: Vec<u8>, transaction: Option<TransactionId>) {
        // The writer task only ends with the flow; a send after that is reported by the
        // reader's Closed event already.
        let _ = self.out.send(Outgoing { bytes, transaction });
    }

    /// Closes the flow after sending what is queued (a final response, an ACK), waiting at
    /// most `limit` for that.
    pub async fn close(mut self, limit: Duration) {
        // With the queue closed, the writer ends once it has sent what is in it.
        drop(std::mem::replace(
            &mut self.out,
            mpsc::unbounded_channel().0,
        ));
        let _ = tokio::time::timeout(limit, &mut self.writer).await;
    }

    /// The next event; [`FlowEvent::Closed`] once the flow has ended.
    pub async fn recv(&mut self) -> FlowEvent {
        match self.events.recv().await {
            Some(e) => e,
            None => FlowEvent::Closed {
                reason: "the connection ended".into(),
            },
        }
    }

    /// Opens a flow to `target`.
    pub async fn connect(target: &Target, opts: &TransportOptions) -> Result<Flow, TransportError> {
        match target.transport {
            TransportKind::Udp => connect_udp(target, opts).await,
            TransportKind::Tcp => {
                let tcp = connect_tcp(target, opts).await?;
                let local = local_of(&tcp, target)?;
                Ok(spawn_stream(target.clone(), local, tcp))
            }
            TransportKind::Tls => {
                let tcp = connect_tcp(target, opts).await?;
                let local = local_of(&tcp, target)?;
                let tls = tls_handshake(target, opts, tcp).await?;
                Ok(spawn_stream(target.clone(), local, tls))
            }
            TransportKind::Ws => {
                let tcp = connect_tcp(target, opts).await?;
                let local = local_of(&tcp, target)?;
                ws_handshake(target, opts, local, tcp, "ws").await
            }
            TransportKind::Wss => {
                let tcp = connect_tcp(target, opts).await?;
                let local = local_of(&tcp, target)?;
                let tls = tls_handshake(target, opts, tcp).await?;
                ws_handshake(target, opts, local, tls, "wss").await
            }
        }
    }
}

fn unspecified(target: &Target, port: u16) -> SocketAddr {
    let ip = match target.addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, port)
}

fn connect_error(target: &Target, e: &io::Error) -> TransportError {
    let detail = match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            "the connection was refused (nothing listens on that port, or a firewall \
             rejects it)"
                .to_owned()
        }
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            "the network is unreachable (check the internet connection or VPN)".to_owned()
        }
        _ => e.to_string(),
    };
    TransportError::Connect {
        target: target.describe(),
        detail,
    }
}

fn local_of(tcp: &TcpStream, target: &Target) -> Result<SocketAddr, TransportError> {
    tcp.local_addr().map_err(|e| connect_error(target, &e))
}

async fn connect_udp(target: &Target, opts: &TransportOptions) -> Result<Flow, TransportError> {
    let bind = unspecified(target, opts.local_port);
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| TransportError::Bind {
            port: opts.local_port,
            detail: e.to_string(),
        })?;
    sock.connect(target.addr)
        .await
        .map_err(|e| connect_error(target, &e))?;
    let local = sock.local_addr().map_err(|e| connect_error(target, &e))?;
    let sock = Arc::new(sock);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let reader = {
        let sock = sock.clone();
        let ev_tx = ev_tx.clone();
        let from = target.addr;
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                match sock.recv(&mut buf).await {
                    Ok(n) => {
                        let bytes = &buf[..n];
                        // One socket carries SIP and the STUN keep-alive (RFC 5626 §4.4.2).
                        let ev = if is_stun(bytes) {
                            FlowEvent::Stun(bytes.to_vec())
                        } else {
                            FlowEvent::Message {
                                inbound: Box::new(receive_datagram(bytes)),
                                from,
                            }
                        };
                        if ev_tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // ICMP errors of a connected UDP socket (RFC 1122 §4.1.3.3): the
                        // socket stays usable, so report and keep reading.
                        let reason = match e.kind() {
                            io::ErrorKind::ConnectionRefused => {
                                "nothing listens on that port (the message was refused)".to_owned()
                            }
                            _ => format!("receiving failed: {e}"),
                        };
                        if ev_tx
                            .send(FlowEvent::SendFailed {
                                transaction: None,
                                reason,
                            })
                            .is_err()
                        {
                            return;
                        }
                        // Do not spin on a persistent error.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        })
    };
    let writer = {
        tokio::spawn(async move {
            while let Some(o) = out_rx.recv().await {
                if let Err(e) = sock.send(&o.bytes).await {
                    let reason = format!("sending failed: {e}");
                    let _ = ev_tx.send(FlowEvent::SendFailed {
                        transaction: o.transaction,
                        reason,
                    });
                }
            }
        })
    };
    Ok(Flow {
        target: target.clone(),
        local,
        out: out_tx,
        events: ev_rx,
        reader,
        writer,
    })
}

async fn connect_tcp(
    target: &Target,
    opts: &TransportOptions,
) -> Result<TcpStream, TransportError> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| connect_error(target, &e))?;
    if opts.local_port != 0 {
        // A fixed port for firewall rules; reuse so a quick reconnect is not refused
        // while the old connection sits in TIME_WAIT.
        let bind_err = |e: io::Error| TransportError::Bind {
            port: opts.local_port,
            detail: e.to_string(),
        };
        socket.set_reuseaddr(true).map_err(bind_err)?;
        socket
            .bind(unspecified(target, opts.local_port))
            .map_err(bind_err)?;
    }
    match tokio::time::timeout(opts.connect_timeout, socket.connect(target.addr)).await {
        Ok(Ok(s)) => {
            // Signalling is small and latency-bound.
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(connect_error(target, &e)),
        Err(_) => Err(TransportError::ConnectTimeout {
            target: target.describe(),
            secs: opts.connect_timeout.as_secs(),
        }),
    }
}

fn server_name(host: &str) -> Option<ServerName<'static>> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Some(ServerName::IpAddress(ip.into())),
        Err(_) => ServerName::try_from(host.to_owned()).ok(),
    }
}

async fn tls_handshake(
    target: &Target,
    opts: &TransportOptions,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, TransportError> {
    let name = server_name(&target.host).ok_or_else(|| TransportError::Tls {
        target: target.describe(),
        detail: format!("{:?} is not a valid server name", target.host),
    })?;
    let connector = tokio_rustls::TlsConnector::from(opts.tls.clone());
    match tokio::time::timeout(opts.connect_timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(match describe_certificate_error(&e) {
            Some(detail) => TransportError::Certificate {
                server: target.host.clone(),
                detail,
            },
            None => TransportError::Tls {
                target: target.describe(),
                detail: e.to_string(),
            },
        }),
        Err(_) => Err(TransportError::ConnectTimeout {
            target: target.describe(),
            secs: opts.connect_timeout.as_secs(),
        }),
    }
}

/// Reader and writer tasks for a TCP or TLS byte stream.
fn spawn_stream<S>(target: Target, local: SocketAddr, stream: S) -> Flow
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let from = target.addr;
    let what = target.describe();
    let reader = {
        let ev_tx = ev_tx.clone();
        let what = what.clone();
        tokio::spawn(async move {
            let mut framer = StreamFramer::new();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) => {
                        let reason = format!("{what} closed the connection");
                        let _ = ev_tx.send(FlowEvent::Closed { reason });
                        return;
                    }
                    Ok(n) => n,
                    Err(e) => {
                        let reason = format!("the connection to {what} failed: {e}");
                        let _ = ev_tx.send(FlowEvent::Closed { reason });
                        return;
                    }
                };
                framer.push(&buf[..n]);
                while let Some(item) = framer.next_item() {
                    let ev = match item {
                        StreamItem::Message(inbound) => FlowEvent::Message {
                            inbound: Box::new(inbound),
                            from,
                        },
                        StreamItem::Ping => FlowEvent::Ping,
                        StreamItem::Pong => FlowEvent::Pong,
                        StreamItem::Fatal(e) => {
                            // The next message boundary is unknowable: the connection
                            // cannot be used any more (RFC 3261 §18.3).
                            let reason = format!("{what} sent something unreadable ({e})");
                            let _ = ev_tx.send(FlowEvent::Closed { reason });
                            return;
                        }
                    };
                    if ev_tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        })
    };
    let writer = tokio::spawn(async move {
        while let Some(o) = out_rx.recv().await {
            let result = async {
                wr.write_all(&o.bytes).await?;
                wr.flush().await
            }
            .await;
            if let Err(e) = result {
                let _ = ev_tx.send(FlowEvent::SendFailed {
                    transaction: o.transaction,
                    reason: format!("sending failed: {e}"),
                });
                let reason = format!("sending to {what} failed: {e}");
                let _ = ev_tx.send(FlowEvent::Closed { reason });
                return;
            }
        }
    });
    Flow {
        target,
        local,
        out: out_tx,
        events: ev_rx,
        reader,
        writer,
    }
}

const NO_SIP_SUBPROTOCOL: &str =
    "the server did not accept the \"sip\" subprotocol (is this a SIP WebSocket address?)";

/// RFC 7118 §4: the upgrade asks for the `sip` subprotocol and the server must accept it.
async fn ws_handshake<S>(
    target: &Target,
    opts: &TransportOptions,
    local: SocketAddr,
    stream: S,
    scheme: &str,
) -> Result<Flow, TransportError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let ws_err = |detail: String| TransportError::WebSocket {
        target: target.describe(),
        detail,
    };
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let url = format!("{scheme}://{host}:{}/", target.addr.port());
    let mut request = url
        .into_client_request()
        .map_err(|e| ws_err(e.to_string()))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static("sip"),
    );
    let (ws, response) = match tokio::time::timeout(
        opts.connect_timeout,
        tokio_tungstenite::client_async(request, stream),
    )
    .await
    {
        Ok(Ok(x)) => x,
        Ok(Err(tokio_tungstenite::tungstenite::Error::Protocol(
            tokio_tungstenite::tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ))) => return Err(ws_err(NO_SIP_SUBPROTOCOL.into())),
        Ok(Err(e)) => return Err(ws_err(e.to_string())),
        Err(_) => {
            return Err(TransportError::ConnectTimeout {
                target: target.describe(),
                secs: opts.connect_timeout.as_secs(),
            });
        }
    };
    let accepted = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("sip")));
    if !accepted {
        return Err(ws_err(NO_SIP_SUBPROTOCOL.into()));
    }
    let (mut sink, mut source) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let from = target.addr;
    let what = target.describe();
    let reader = {
        let ev_tx = ev_tx.clone();
        let what = what.clone();
        tokio::spawn(async move {
            loop {
                let bytes = match source.next().await {
                    Some(Ok(WsMessage::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(WsMessage::Binary(b))) => b.to_vec(),
                    Some(Ok(WsMessage::Close(_))) | None => {
                        let reason = format!("{what} closed the WebSocket");
                        let _ = ev_tx.send(FlowEvent::Closed { reason });
                        return;
                    }
                    // The answer to our keep-alive (see the writer).
                    Some(Ok(WsMessage::Pong(_))) => {
                        if ev_tx.send(FlowEvent::Pong).is_err() {
                            return;
                        }
                        continue;
                    }
                    // Pings are answered by tungstenite itself.
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        let reason = format!("the WebSocket to {what} failed: {e}");
                        let _ = ev_tx.send(FlowEvent::Closed { reason });
                        return;
                    }
                };
                // RFC 7118 §5.2: one SIP message per WebSocket message.
                let inbound = receive_datagram(&bytes);
                if ev_tx
                    .send(FlowEvent::Message {
                        inbound: Box::new(inbound),
                        from,
                    })
                    .is_err()
                {
                    return;
                }
            }
        })
    };
    let writer = tokio::spawn(async move {
        while let Some(o) = out_rx.recv().await {
            // The keep-alive's CRLF ping (RFC 5626 §3.5.1) is not SIP and RFC 7118 has no
            // place for it: on a WebSocket it is a Ping frame (RFC 6455 §5.5.2), which every
            // server must answer with a Pong (reported as FlowEvent::Pong). SIP is text
            // (RFC 7118 §5.1 allows both frame types); binary bodies go binary.
            let msg = if o.bytes == PING {
                WsMessage::Ping(Vec::new().into())
            } else if o.bytes == PONG {
                // Only ever an answer to a CRLF ping, which a WebSocket never reports.
                continue;
            } else {
                match String::from_utf8(o.bytes) {
                    Ok(text) => WsMessage::Text(text.into()),
                    Err(e) => WsMessage::Binary(e.into_bytes().into()),
                }
            };
            if let Err(e) = sink.send(msg).await {
                let _ = ev_tx.send(FlowEvent::SendFailed {
                    transaction: o.transaction,
                    reason: format!("sending failed: {e}"),
                });
                let reason = format!("sending to {what} failed: {e}");
                let _ = ev_tx.send(FlowEvent::Closed { reason });
                return;
            }
        }
    });
    Ok(Flow {
        target: target.clone(),
        local,
        out: out_tx,
        events: ev_rx,
        reader,
        writer,
    })
}
