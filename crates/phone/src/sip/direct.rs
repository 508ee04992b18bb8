//! Direct calls over UDP, without a server (as on a LAN): one tokio task owns a UDP socket,
//! a [`TransactionLayer`] and a [`CallLayer`] (DESIGN.md convention 2), and the application
//! drives it through a [`DirectCalls`] handle.
//!
//! - `homeline answer --listen 127.0.0.1:5090` binds the listening address; every INVITE
//!   that arrives becomes a [`CallEvent::Incoming`], OPTIONS get `200` with Allow and Accept
//!   (RFC 3261 §11.2, done by the call layer).
//! - `homeline call sip:bob@192.0.2.7:5090` binds an ephemeral port on the address that
//!   routes to the peer and sends the INVITE straight to the Request-URI's host and port
//!   (RFC 3263 §4.2 for a numeric address: no DNS, UDP, port 5060 by default).
//!
//! SDP is opaque here: the call manager (`crate::calls`) owns the media and writes offers and
//! answers; [`CallCommand`] carries them, as for an account's driver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use homeline_sip::auth::Credentials;
use homeline_sip::call::{CallConfig, CallLayer};
pub use homeline_sip::call::{CallEvent, CallFailure, CallHandle, EndCause};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionLayer, TransportKind, response_for,
};
use homeline_sip::{Inbound, receive_datagram};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::clock::Clock;
use super::commands::{CallCommand, SignallingAddress, execute};
use crate::api::UiError;

/// The largest datagram we read (RFC 3261 §18.1.1 lets UDP messages grow to 64 KiB).
const MAX_DATAGRAM: usize = 65_535;

/// How a [`DirectCalls`] endpoint is set up.
#[derive(Debug, Clone)]
pub struct DirectSetup {
    /// The address to bind (a specific address: it goes into Via, Contact and the SDP).
    pub bind: SocketAddr,
    /// Our address of record for From (`sip:homeline@<bind ip>` when there is no account).
    pub aor: String,
    /// Credentials for a peer that challenges (401/407).
    pub credentials: Option<Credentials>,
    /// RFC 3261 timers.
    pub timers: TimerConfig,
}

impl DirectSetup {
    /// An account-less endpoint on `bind`.
    pub fn anonymous(bind: SocketAddr) -> Self {
        Self {
            bind,
            aor: format!("sip:homeline@{}", uri_host(bind.ip())),
            credentials: None,
            timers: TimerConfig::default(),
        }
    }
}

impl DirectSetup {
    /// An endpoint on `bind` calling as an account: From is `aor`, and a peer or proxy that
    /// challenges (401/407, RFC 3261 §22.2) gets these credentials.
    pub fn for_account(bind: SocketAddr, aor: &str, username: &str, password: &str) -> Self {
        Self {
            bind,
            aor: aor.to_owned(),
            credentials: Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            }),
            timers: TimerConfig::default(),
        }
    }
}

/// A call event, as the application sees it.
pub type CallNotice = CallEvent;

/// A running direct-call endpoint. Dropping it stops its task (calls in progress end without
/// BYE; hang them up first).
#[derive(Debug)]
pub struct DirectCalls {
    local: SocketAddr,
    commands: mpsc::UnboundedSender<CallCommand>,
    events: broadcast::Sender<CallNotice>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DirectCalls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DirectCalls {
    /// Binds `setup.bind` and starts the endpoint on the current tokio runtime. Subscribe
    /// before anything can arrive: the receiver is returned with the handle.
    pub async fn start(
        setup: DirectSetup,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, broadcast::Receiver<CallNotice>), UiError> {
        let sock = UdpSocket::bind(setup.bind).await.map_err(|e| {
            UiError::new(
                "local_port_in_use",
                format!("Cannot listen on {}: {e}.", setup.bind),
                "Choose another address or port, or stop the program that uses it.",
            )
        })?;
        let local = sock.local_addr().map_err(|e| {
            UiError::new(
                "socket_failed",
                format!("The socket has no local address: {e}."),
                "This is a bug; please report it with the log.",
            )
        })?;
        let mut config = CallConfig::new(&setup.aor, local, TransportKind::Udp);
        config.credentials = setup.credentials.clone();
        config.timers = setup.timers;
        config.user_agent = format!("Homeline/{}", crate::VERSION);
        let seed = super::seed_for(&setup.aor);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = broadcast::channel(1024);
        let engine = Engine {
            sock,
            local,
            layer: TransactionLayer::new(setup.timers),
            calls: CallLayer::new(config, seed),
            clock,
            events: ev_tx.clone(),
        };
        let task = tokio::spawn(engine.run(cmd_rx));
        Ok((
            Self {
                local,
                commands: cmd_tx,
                events: ev_tx,
                task,
            },
            ev_rx,
        ))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Call events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CallNotice> {
        self.events.subscribe()
    }

    /// Calls `uri` with the SDP `offer`; the INVITE goes to the URI's host and port.
    pub async fn dial(&self, uri: &str, offer: Vec<u8>) -> Result<CallHandle, UiError> {
        let peer = direct_peer(uri).await?;
        self.dial_via(uri, offer, peer).await
    }

    /// Calls `uri` with the INVITE sent to `next_hop` (an account's proxy, RFC 3261 §8.1.2).
    pub async fn dial_via(
        &self,
        uri: &str,
        offer: Vec<u8>,
        next_hop: SocketAddr,
    ) -> Result<CallHandle, UiError> {
        let (tx, rx) = oneshot::channel();
        self.command(CallCommand::Dial {
            uri: uri.trim().to_owned(),
            offer,
            next_hop: Some(next_hop),
            reply: tx,
        })?;
        rx.await.map_err(|_| stopped())?
    }

    /// Sends any call command (ring, answer with SDP, hang up, hold …).
    pub fn command(&self, c: CallCommand) -> Result<(), UiError> {
        self.commands.send(c).map_err(|_| stopped())
    }
}

fn stopped() -> UiError {
    UiError::new(
        "calls_stopped",
        "The call engine has stopped.",
        "Restart Homeline; if this repeats, report it with the log.",
    )
}

/// The next hop of a direct call: the Request-URI's host (an address or a name resolved
/// with the system resolver) and port (5060 when absent, RFC 3263 §4.2).
pub async fn direct_peer(uri: &str) -> Result<SocketAddr, UiError> {
    let bad = |why: String| {
        UiError::new(
            "invalid_address",
            why,
            "Write the address as sip:user@host or sip:user@192.0.2.7:5090.",
        )
    };
    let parsed = rsip::Uri::try_from(uri.trim())
        .map_err(|e| bad(format!("'{uri}' is not a SIP address ({e}).")))?;
    let port = parsed.host_with_port.port.map_or(5060, |p| *p.value());
    let host = match &parsed.host_with_port.host {
        rsip::Host::IpAddr(ip) => return Ok(SocketAddr::new(*ip, port)),
        rsip::Host::Domain(d) => d.to_string(),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| bad(format!("Cannot find the address of {host}: {e}.")))?;
    addrs
        .next()
        .ok_or_else(|| bad(format!("{host} has no address.")))
}

/// The local address the system would use to reach `peer` (no packet is sent: connecting a
/// UDP socket only picks the route). Falls back to the unspecified address.
pub fn local_ip_towards(peer: SocketAddr) -> IpAddr {
    let any: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    std::net::UdpSocket::bind(any)
        .and_then(|s| {
            s.connect(peer)?;
            s.local_addr()
        })
        .map_or(any.ip(), |a| a.ip())
}

fn uri_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

struct Engine {
    sock: UdpSocket,
    local: SocketAddr,
    layer: TransactionLayer,
    calls: CallLayer,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<CallNotice>,
}

impl Engine {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<CallCommand>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            self.pump().await;
            let next = [self.layer.poll_timeout(), self.calls.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.on_datagram(&buf[..n], from),
                    // ICMP errors on an unconnected UDP socket (e.g. port unreachable from an
                    // earlier send): the socket stays usable; Timer B/F report the silence.
                    Err(e) => tracing::debug!(error = %e, "receiving failed"),
                },
                c = commands.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                () = sleep => {
                    let now = self.clock.now();
                    self.layer.handle_timeout(now);
                    self.calls.handle_timeout(now, &mut self.layer);
                }
            }
        }
    }

    fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let now = self.clock.now();
        let peer = Peer {
            transport: TransportKind::Udp,
            addr: from,
        };
        match receive_datagram(bytes) {
            Inbound::Request(r) => self.layer.handle_message(now, r.into(), peer),
            Inbound::Response(r) => self.layer.handle_message(now, r.into(), peer),
            Inbound::Reject(rejection) => {
                tracing::warn!(%from, error = %rejection.error, "rejected a malformed request");
                if let Some(bytes) = rejection.response {
                    // Best effort: a lost 400 is retransmitted by the sender's own request.
                    let _ = self.sock.try_send_to(&bytes, from);
                }
            }
            Inbound::Drop(e) => tracing::debug!(%from, error = %e, "dropped a message"),
            Inbound::KeepAlive => {}
        }
    }

    fn on_command(&mut self, c: CallCommand) {
        let now = self.clock.now();
        let address = SignallingAddress {
            local: self.local.ip(),
            public: None,
        };
        execute(&mut self.calls, &mut self.layer, now, c, address, None);
    }

    /// Drains both cores until nothing moves (the sip crate's discipline).
    async fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            let now = self.clock.now();
            while let Some(t) = self.layer.poll_transmit() {
                moved = true;
                let bytes = t.bytes();
                tracing::trace!(to = %t.peer.addr, "sending {}", String::from_utf8_lossy(&bytes));
                if let Err(e) = self.sock.send_to(&bytes, t.peer.addr).await {
                    tracing::debug!(to = %t.peer.addr, error = %e, "sending failed");
                    if let Some(id) = t.transaction {
                        self.layer.handle_transport_error(now, id);
                    }
                }
            }
            while let Some(ev) = self.layer.poll_event() {
                moved = true;
                if let Some(rest) = self
                    .calls
                    .handle_transaction_event(now, &mut self.layer, ev)
                {
                    self.not_a_call(now, rest);
                }
            }
            while let Some(ev) = self.calls.poll_event() {
                moved = true;
                // Nobody listening is fine (the handle may be gone).
                let _ = self.events.send(ev);
            }
            if !moved {
                return;
            }
        }
        tracing::error!("call cores did not settle");
    }

    /// Requests outside calls (MESSAGE, SUBSCRIBE, REGISTER …): not supported here.
    fn not_a_call(&mut self, now: Instant, ev: TransactionEvent) {
        if let TransactionEvent::Request { id, request, .. } = ev {
            let r = response_for(&request, 501, "Not Implemented");
            if let Err(e) = self.layer.send_response(now, id, r) {
                tracing::debug!(error = %e, "could not answer");
            }
        }
    }
}
