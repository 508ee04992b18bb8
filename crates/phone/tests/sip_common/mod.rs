//! A scriptable registrar on loopback (UDP, TCP, WebSocket; IPv4 or IPv6) and helpers to run
//! one account's driver through `SipRuntime` with settings the `Phone` API does not expose
//! (timers, DNS, route probe). Shared by the `sip_*` tests that need no root.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeline_phone::sip::{
    AccountSetup, RegistrationState, RegistrationStatus, SipRuntime, TokioClock, TransportOptions,
};
use homeline_sip::keepalive::stun;
use homeline_sip::transaction::{TimerConfig, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

/// What the registrar received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `UDP`, `TCP` or `WS`.
    pub transport: &'static str,
    /// The message: SIP text, `STUN` for a Binding Request, `CRLF` for a keep-alive.
    pub text: String,
    /// Where it came from.
    pub from: SocketAddr,
    /// When (tokio's clock: virtual under paused time).
    pub at: tokio::time::Instant,
}

impl Seen {
    /// A REGISTER?
    pub fn is_register(&self) -> bool {
        self.text.starts_with("REGISTER ")
    }
}

/// How the UDP side behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Udp {
    /// Answers like the TCP side.
    Answer,
    /// Bound but never reads: requests vanish (Timer F).
    Silent,
    /// Not bound: the kernel refuses (ICMP port unreachable).
    Closed,
}

/// A registrar's behaviour.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// UDP side.
    pub udp: Udp,
    /// Listen on TCP (same port as UDP).
    pub tcp: bool,
    /// Answer WebSocket upgrades on TCP instead of plain SIP.
    pub websocket: bool,
    /// RFC 5626: answer `Supported: outbound` with `Require: outbound` and this Flow-Timer.
    pub outbound_flow_timer: Option<u64>,
    /// Answer STUN Binding Requests (switch off to let a STUN keep-alive fail).
    pub answer_stun: Arc<AtomicBool>,
    /// Close each TCP connection right after its first 200 (a server restart, a NAT reset).
    pub close_tcp_after_200: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            udp: Udp::Answer,
            tcp: true,
            websocket: false,
            outbound_flow_timer: None,
            answer_stun: Arc::new(AtomicBool::new(true)),
            close_tcp_after_200: false,
        }
    }
}

/// A running registrar.
#[derive(Debug)]
pub struct Registrar {
    /// Its address (the same port on UDP and TCP).
    pub addr: SocketAddr,
    /// Everything received so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Each arrival, as it happens.
    pub events: mpsc::UnboundedReceiver<Seen>,
    udp: Option<Arc<UdpSocket>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Registrar {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Registrar {
    /// The REGISTERs seen so far.
    pub fn registers(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.is_register())
            .cloned()
            .collect()
    }

    /// Sends `text` from the registrar's UDP socket (a request towards the client).
    pub async fn send_udp(&self, text: &str, to: SocketAddr) {
        let sock = self.udp.as_ref().expect("no UDP socket");
        sock.send_to(text.as_bytes(), to).await.unwrap();
    }

    /// Waits for the next arrival matching `pred`.
    pub async fn next(&mut self, limit: Duration, pred: impl Fn(&Seen) -> bool) -> Seen {
        let wait = async {
            loop {
                let s = self.events.recv().await.expect("registrar stopped");
                if pred(&s) {
                    return s;
                }
            }
        };
        tokio::time::timeout(limit, wait)
            .await
            .unwrap_or_else(|_| panic!("nothing matching within {limit:?}"))
    }
}

/// A header's value.
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Every value of a header (rsip writes one Contact header per binding).
pub fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

/// The CSeq number.
pub fn cseq(msg: &str) -> u32 {
    header(msg, "CSeq")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn respond(req: &str, code: u16, reason: &str, extra: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        if let Some(v) = header(req, name) {
            out.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "To: {};tag=srv1\r\n",
        header(req, "To").unwrap_or_default()
    ));
    out.push_str(extra);
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// The answer to a REGISTER: 200 with the bindings asked for.
fn answer_register(req: &str, b: &Behaviour) -> String {
    let contact = header(req, "Contact").unwrap_or_default().to_owned();
    let expires = header(req, "Expires").unwrap_or("600").to_owned();
    let mut extra = format!("Contact: {contact}\r\nExpires: {expires}\r\n");
    let outbound = header(req, "Supported").is_some_and(|s| s.contains("outbound"));
    if let (Some(ft), true) = (b.outbound_flow_timer, outbound) {
        extra.push_str(&format!("Require: outbound\r\nFlow-Timer: {ft}\r\n"));
    }
    respond(req, 200, "OK", &extra)
}

fn record(
    seen: &Arc<Mutex<Vec<Seen>>>,
    tx: &mpsc::UnboundedSender<Seen>,
    transport: &'static str,
    text: String,
    from: SocketAddr,
) {
    let s = Seen {
        transport,
        text,
        from,
        at: tokio::time::Instant::now(),
    };
    seen.lock().unwrap().push(s.clone());
    let _ = tx.send(s);
}

/// Starts a registrar on `ip` (port chosen by the system, the same for UDP and TCP).
pub async fn registrar(ip: IpAddr, b: Behaviour) -> Registrar {
    // The same port free on TCP and UDP.
    let (listener, udp) = loop {
        let l = TcpListener::bind(SocketAddr::new(ip, 0)).await.unwrap();
        let port = l.local_addr().unwrap().port();
        match b.udp {
            Udp::Closed => {
                // Make sure nobody has the UDP port (a refused datagram is the point).
                if std::net::UdpSocket::bind(SocketAddr::new(ip, port)).is_ok() {
                    break (l, None);
                }
            }
            _ => {
                if let Ok(u) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
                    break (l, Some(Arc::new(u)));
                }
            }
        }
    };
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, events) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    match (b.udp, udp.clone()) {
        (Udp::Answer, Some(sock)) => {
            let (seen, tx, b) = (seen.clone(), tx.clone(), b.clone());
            tasks.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 65_535];
                loop {
                    let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                        return;
                    };
                    let bytes = &buf[..n];
                    if stun::is_stun(bytes) {
                        record(&seen, &tx, "UDP", "STUN".into(), from);
                        if b.answer_stun.load(Ordering::SeqCst) && bytes.len() >= 20 {
                            let id: stun::TransactionId = bytes[8..20].try_into().unwrap();
                            let _ = sock.send_to(&stun::binding_success(&id, from), from).await;
                        }
                        continue;
                    }
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    if text.trim().is_empty() {
                        record(&seen, &tx, "UDP", "CRLF".into(), from);
                        continue;
                    }
                    record(&seen, &tx, "UDP", text.clone(), from);
                    if text.starts_with("REGISTER ") {
                        let _ = sock
                            .send_to(answer_register(&text, &b).as_bytes(), from)
                            .await;
                    }
                }
            }));
        }
        (Udp::Silent, Some(sock)) => {
            // Keep it bound, never read: like a firewall that drops.
            tasks.push(tokio::spawn(async move {
                let _sock = sock;
                std::future::pending::<()>().await;
            }));
        }
        _ => {}
    }
    if b.tcp {
        let (seen, tx, b) = (seen.clone(), tx.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            while let Ok((conn, from)) = listener.accept().await {
                let (seen, tx, b) = (seen.clone(), tx.clone(), b.clone());
                tokio::spawn(async move {
                    if b.websocket {
                        serve_ws(conn, from, seen, tx, b).await;
                    } else {
                        serve_tcp(conn, from, seen, tx, b).await;
                    }
                });
            }
        }));
    } else {
        drop(listener);
    }
    Registrar {
        addr,
        seen,
        events,
        udp,
        tasks,
    }
}

async fn serve_tcp(
    mut conn: tokio::net::TcpStream,
    from: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    tx: mpsc::UnboundedSender<Seen>,
    b: Behaviour,
) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok(n) = conn.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        pending.extend_from_slice(&buf[..n]);
        // Content-Length 0 everywhere: a message ends at the blank line.
        loop {
            while pending.starts_with(b"\r\n") {
                // A CRLF keep-alive ping (RFC 5626 §3.5.1): pong.
                if pending.starts_with(b"\r\n\r\n") {
                    pending.drain(..4);
                    record(&seen, &tx, "TCP", "CRLF".into(), from);
                    let _ = conn.write_all(b"\r\n").await;
                } else if pending.len() >= 4 {
                    pending.drain(..2);
                } else {
                    break;
                }
            }
            let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            let text = String::from_utf8_lossy(&pending[..end + 4]).into_owned();
            pending.drain(..end + 4);
            record(&seen, &tx, "TCP", text.clone(), from);
            if text.starts_with("REGISTER ") {
                let resp = answer_register(&text, &b);
                if conn.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
                if b.close_tcp_after_200 {
                    return;
                }
            }
        }
    }
}

async fn serve_ws(
    conn: tokio::net::TcpStream,
    from: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    tx: mpsc::UnboundedSender<Seen>,
    b: Behaviour,
) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    #[allow(clippy::result_large_err)]
    fn callback(
        _: &Request,
        mut resp: Response,
    ) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
        Ok(resp)
    }
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(conn, callback).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let text = text.to_string();
        record(&seen, &tx, "WS", text.clone(), from);
        if text.starts_with("REGISTER ")
            && ws
                .send(Message::Text(answer_register(&text, &b).into()))
                .await
                .is_err()
        {
            return;
        }
    }
}

/// An account for `registrar` (a SIP URI) with no credentials.
pub fn account(
    id: &str,
    registrar: &str,
    transport: Option<TransportKind>,
    keepalive: Option<Duration>,
) -> AccountSetup {
    AccountSetup {
        account_id: id.into(),
        aor: "sip:alice@example.test".into(),
        registrar: registrar.into(),
        credentials: None,
        transport,
        expires: 600,
        keepalive,
        transport_options: TransportOptions {
            local_port: 0,
            tls: homeline_phone::sip::tls::client_config(None).unwrap(),
            connect_timeout: Duration::from_secs(2),
        },
        timers: TimerConfig::default(),
        voicemail: None,
    }
}

/// A runtime on tokio's clock (virtual under paused time).
pub fn runtime() -> SipRuntime {
    SipRuntime::new(Arc::new(TokioClock))
}

/// Waits until `pred` holds for the account's status.
pub async fn wait_status(
    rt: &SipRuntime,
    id: &str,
    limit: Duration,
    pred: impl Fn(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    let mut w = rt.watch(id).unwrap();
    let wait = async {
        loop {
            let s = w.borrow_and_update().clone();
            if pred(&s) {
                return s;
            }
            w.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(s) => s,
        Err(_) => panic!("{id}: condition not reached in {limit:?}: {:?}", w.borrow()),
    }
}

/// Waits until the account is registered.
pub async fn registered(rt: &SipRuntime, id: &str, limit: Duration) -> RegistrationStatus {
    wait_status(rt, id, limit, |s| s.state == RegistrationState::Registered).await
}
