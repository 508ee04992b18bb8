//! A TURN client session (RFC 8656) over UDP, TCP or TLS, sans-IO, on webrtc-rs `rtc-turn`.
//!
//! `rtc-turn` does the protocol: the unauthenticated Allocate, the 401 challenge and the
//! long-term credential (RFC 8656 §9.2), Refresh at half the lifetime, permissions refreshed
//! every 4 minutes, ChannelBind on the first send and ChannelData afterwards. This layer adds
//! what a phone needs around it:
//!
//! - a **bounded allocation**: a dead server gives [`TurnError::Timeout`] after
//!   [`TurnConfig::allocate_timeout`], never an open-ended wait;
//! - **plain errors**: a 401 to the authenticated Allocate is [`TurnError::WrongCredentials`]
//!   (not retried: providers ban clients that retry bad credentials), other codes keep their
//!   number and reason;
//! - **438 Stale Nonce** retried (RFC 8656 §9.2.4): on Allocate a fresh Allocate (twice at
//!   most), on Refresh and CreatePermission an immediate re-send with the new nonce —
//!   `rtc-turn` stores the nonce but otherwise waits for the next timer;
//! - **stream framing** for TCP/TLS (RFC 8656 §12.5) through `shared::turn_framing`;
//! - the server-reflexive address from the Allocate success (XOR-MAPPED-ADDRESS) and the
//!   round-trip time of the first exchange, which the relay choice ranks by.
//!
//! TLS itself is the driver's business: a `turns:` session is a TCP session whose bytes the
//! driver carries through a verified TLS stream.
//!
//! # Run loop
//! ```text
//! let mut s = TurnSession::new(config, now)?;       // queues the first Allocate
//! loop {
//!     while let Some(t) = s.poll_transmit() { send t.payload to t.destination }
//!     while let Some(e) = s.poll_event() { ... }     // Allocated, Data, Failed, ...
//!     wait for a datagram/stream bytes or s.poll_timeout()
//!     s.handle_datagram(now, from, &buf) | s.handle_stream_bytes(now, &buf) | s.handle_timeout(now)
//! }
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;
use shared::turn_framing::TurnStreamDecoder;
use shared::{TransportContext, TransportMessage, TransportProtocol};
use stun::error_code::ErrorCodeAttribute;
use stun::message::Getter;
use stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE, METHOD_CREATE_PERMISSION,
    METHOD_REFRESH, Message, TransactionId,
};
use stun::xoraddr::XorMappedAddress;

use crate::uri::RelayTransport;

/// 438 Stale Nonce (RFC 8656 §9.2.4 / RFC 8489 §14.8).
const CODE_STALE_NONCE: u16 = 438;
/// 401 Unauthorized.
const CODE_UNAUTHORIZED: u16 = 401;
/// How many times in a row a 438 is answered before giving up (a server that keeps saying
/// "stale" is broken; do not loop).
const MAX_STALE_RETRIES: u8 = 2;

/// What a session needs to know. Addresses are IP literals: the driver resolves names first
/// (`rtc-turn` would otherwise resolve with blocking DNS).
#[derive(Clone)]
pub struct TurnConfig {
    /// The TURN server.
    pub server: SocketAddr,
    /// The local address of the socket or stream the session is carried on.
    pub local: SocketAddr,
    /// How the server is reached; TLS is a TCP session inside the driver's TLS stream.
    pub transport: RelayTransport,
    /// Long-term credential user name.
    pub username: String,
    /// Long-term credential password.
    pub password: String,
    /// Give up the allocation (and report [`TurnError::Timeout`]) after this long.
    pub allocate_timeout: Duration,
    /// Refresh at least this often (also keeps the NAT binding to the server alive, and
    /// bounds what a lost Refresh costs).
    pub refresh_interval_cap: Duration,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never goes to a log.
        f.debug_struct("TurnConfig")
            .field("server", &self.server)
            .field("local", &self.local)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl TurnConfig {
    /// A configuration with the defaults used for calls: 2 s to allocate, refresh every 2 min.
    pub fn new(
        server: SocketAddr,
        local: SocketAddr,
        transport: RelayTransport,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            server,
            local,
            transport,
            username: username.into(),
            password: password.into(),
            allocate_timeout: Duration::from_secs(2),
            refresh_interval_cap: Duration::from_secs(120),
        }
    }
}

/// Why a TURN session or one of its requests failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnError {
    /// The server rejected the user name or password (401 to the authenticated request).
    #[error("the relay refused the user name or password")]
    WrongCredentials,
    /// No answer before the deadline: the server is down, or the network blocks this transport.
    #[error("the relay did not answer within {0} ms")]
    Timeout(u128),
    /// Another error response from the server.
    #[error("the relay refused the request (error {code}: {reason})")]
    Rejected {
        /// STUN error code.
        code: u16,
        /// The server's reason phrase.
        reason: String,
    },
    /// The server kept answering 438 Stale Nonce.
    #[error("the relay kept rejecting its own nonce")]
    StaleNonce,
    /// The TCP/TLS byte stream carried something that is not TURN; the stream cannot be
    /// resynchronised and must be closed.
    #[error("the relay connection carried data that is not TURN")]
    StreamBroken,
    /// Sending is not possible yet (no allocation, or no permission for that peer yet).
    #[error("the relay is not ready to send to that address yet")]
    NotReady,
    /// The allocation went away (a Refresh was refused).
    #[error("the relay dropped the allocation (error {0})")]
    AllocationLost(u16),
    /// The TURN library refused a request we built (should not happen; kept as text).
    #[error("the relay request could not be built: {0}")]
    Internal(String),
}

/// What [`TurnSession::poll_event`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The allocation succeeded.
    Allocated {
        /// The relayed transport address peers send to.
        relayed: SocketAddr,
        /// How the server sees us (XOR-MAPPED-ADDRESS), if it said.
        mapped: Option<SocketAddr>,
        /// Round trip to the server: the lesser of the two Allocate exchanges.
        rtt: Duration,
    },
    /// The session failed; nothing more will happen. The driver closes its socket/stream.
    Failed(TurnError),
    /// A permission for this peer's IP is installed; data can flow.
    PermissionCreated(SocketAddr),
    /// A permission was refused.
    PermissionFailed(SocketAddr, TurnError),
    /// Data from a peer through the relay.
    Data {
        /// The peer's address (as the relay sees it).
        from: SocketAddr,
        /// The payload (RTP, RTCP or STUN of the peer).
        data: Vec<u8>,
    },
}

/// A packet to send to the TURN server (over the session's socket or stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The TURN server.
    pub destination: SocketAddr,
    /// Bytes: a datagram over UDP, the next piece of the stream over TCP/TLS.
    pub payload: Vec<u8>,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    /// Allocate in progress.
    Allocating,
    /// The allocation is live.
    Allocated,
    /// Failed or closed; see the last [`TurnEvent::Failed`].
    Failed,
}

/// One TURN allocation on one server over one transport. See the module docs for the loop.
pub struct TurnSession {
    client: Client,
    config: TurnConfig,
    state: TurnState,
    started: Instant,
    deadline: Instant,
    first_response: Option<Instant>,
    alloc_tid: Option<TransactionId>,
    relayed: Option<SocketAddr>,
    mapped: Option<SocketAddr>,
    stale_allocs: u8,
    stale_refresh: u8,
    stale_perms: u8,
    /// Outstanding CreatePermission requests (rtc-turn's error event names only the id).
    perm_tids: HashMap<TransactionId, SocketAddr>,
    /// The error code and reason of the last refused CreatePermission.
    last_perm_error: Option<(u16, String)>,
    /// A 438 to Refresh was just seen; the refresh is re-sent once the client took the nonce.
    refresh_stale_seen: bool,
    decoder: Option<TurnStreamDecoder>,
    events: VecDeque<TurnEvent>,
    /// Remote packets that were not understood (never fatal on UDP); for diagnostics.
    pub ignored_packets: u64,
}

impl std::fmt::Debug for TurnSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnSession")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("relayed", &self.relayed)
            .finish_non_exhaustive()
    }
}

fn to_protocol(t: RelayTransport) -> TransportProtocol {
    match t {
        RelayTransport::Udp => TransportProtocol::UDP,
        RelayTransport::Tcp | RelayTransport::Tls => TransportProtocol::TCP,
    }
}

impl TurnSession {
    /// Creates the session and queues the first Allocate.
    pub fn new(config: TurnConfig, now: Instant) -> Result<Self, TurnError> {
        let provider =
            rtc_turn::crypto::default_provider().map_err(|e| TurnError::Internal(e.to_string()))?;
        let client = Client::new(
            ClientConfig {
                stun_serv_addr: String::new(),
                // An IP literal: `lookup_host` parses it without DNS.
                turn_serv_addr: config.server.to_string(),
                local_addr: config.local,
                transport_protocol: to_protocol(config.transport),
                username: config.username.clone(),
                password: config.password.clone(),
                realm: String::new(),
                software: "Homeline".to_owned(),
                rto_in_ms: 0,
                allocation_refresh_interval_cap: Some(config.refresh_interval_cap),
            },
            provider,
        )
        .map_err(|e| TurnError::Internal(e.to_string()))?;
        let mut s = Self {
            client,
            state: TurnState::Allocating,
            started: now,
            deadline: now + config.allocate_timeout,
            first_response: None,
            alloc_tid: None,
            relayed: None,
            mapped: None,
            stale_allocs: 0,
            stale_refresh: 0,
            stale_perms: 0,
            perm_tids: HashMap::new(),
            last_perm_error: None,
            refresh_stale_seen: false,
            decoder: config.transport.is_stream().then(TurnStreamDecoder::new),
            config,
            events: VecDeque::new(),
            ignored_packets: 0,
        };
        s.start_allocate(now)?;
        Ok(s)
    }

    fn start_allocate(&mut self, now: Instant) -> Result<(), TurnError> {
        let tid = self
            .client
            .allocate(now)
            .map_err(|e| TurnError::Internal(e.to_string()))?;
        self.alloc_tid = Some(tid);
        Ok(())
    }

    /// The session's state.
    pub fn state(&self) -> TurnState {
        self.state
    }

    /// The relayed address once allocated.
    pub fn relayed_addr(&self) -> Option<SocketAddr> {
        self.relayed
    }

    /// Our address as the server sees it, once allocated.
    pub fn mapped_addr(&self) -> Option<SocketAddr> {
        self.mapped
    }

    /// The configuration (server, transport, …).
    pub fn config(&self) -> &TurnConfig {
        &self.config
    }

    fn fail(&mut self, err: TurnError) {
        if self.state != TurnState::Failed {
            self.state = TurnState::Failed;
            let _ = self.client.close();
            self.events.push_back(TurnEvent::Failed(err));
        }
    }

    /// A datagram from the server arrived on the session's UDP socket. Anything that is not
    /// STUN/ChannelData, or does not parse, is counted and dropped.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        if from != self.config.server {
            self.ignored_packets += 1;
            return;
        }
        self.handle_message(now, data);
    }

    /// Bytes from the server's TCP/TLS stream. A stream that stops being TURN fails the
    /// session with [`TurnError::StreamBroken`] (a stream cannot resynchronise).
    pub fn handle_stream_bytes(&mut self, now: Instant, data: &[u8]) {
        let Some(decoder) = self.decoder.as_mut() else {
            self.ignored_packets += 1;
            return;
        };
        decoder.extend_from_slice(data);
        loop {
            let next = match self.decoder.as_mut() {
                Some(d) => d.next_message(),
                None => return,
            };
            match next {
                Ok(Some(msg)) => self.handle_message(now, &msg),
                Ok(None) => return,
                Err(_) => {
                    self.decoder = None;
                    self.fail(TurnError::StreamBroken);
                    return;
                }
            }
        }
    }

    /// Looks at a server response before `rtc-turn` does, for what it does not tell us: the
    /// exact error code of a failed request, the mapped address, the time of first contact.
    fn peek(&mut self, now: Instant, data: &[u8]) {
        if !stun::message::is_stun_message(data) {
            return;
        }
        let mut msg = Message::new();
        msg.raw = data.to_vec();
        if msg.decode().is_err() {
            return;
        }
        let class = msg.typ.class;
        if class != CLASS_SUCCESS_RESPONSE && class != CLASS_ERROR_RESPONSE {
            return;
        }
        if self.first_response.is_none() && self.client.has_transaction(&msg.transaction_id) {
            self.first_response = Some(now);
        }
        let method = msg.typ.method;
        if class == CLASS_SUCCESS_RESPONSE {
            if method == METHOD_ALLOCATE && Some(msg.transaction_id) == self.alloc_tid {
                let mut mapped = XorMappedAddress::default();
                if mapped.get_from(&msg).is_ok() {
                    self.mapped = Some(SocketAddr::new(mapped.ip, mapped.port));
                }
            }
            if method == METHOD_REFRESH {
                self.stale_refresh = 0;
            }
            return;
        }
        if !self.client.has_transaction(&msg.transaction_id) {
            return;
        }
        let mut code = ErrorCodeAttribute::default();
        if code.get_from(&msg).is_err() {
            return;
        }
        let number = code.code.0;
        let reason = String::from_utf8_lossy(&code.reason).into_owned();
        if method == METHOD_ALLOCATE && Some(msg.transaction_id) == self.alloc_tid {
            // The authenticated Allocate failed (the anonymous one has the id before it).
            match number {
                CODE_UNAUTHORIZED => self.fail(TurnError::WrongCredentials),
                CODE_STALE_NONCE if self.stale_allocs < MAX_STALE_RETRIES => {
                    self.stale_allocs += 1;
                    // rtc-turn reports an AllocateError for this one; a new Allocate starts
                    // over with an unauthenticated request and so learns the fresh nonce.
                    self.alloc_tid = None;
                }
                CODE_STALE_NONCE => self.fail(TurnError::StaleNonce),
                _ => self.fail(TurnError::Rejected {
                    code: number,
                    reason,
                }),
            }
        } else if method == METHOD_REFRESH {
            if number == CODE_STALE_NONCE && self.stale_refresh < MAX_STALE_RETRIES {
                self.stale_refresh += 1;
                self.refresh_stale_seen = true;
            } else if self.state == TurnState::Allocated {
                self.fail(TurnError::AllocationLost(number));
            }
        } else if method == METHOD_CREATE_PERMISSION {
            self.last_perm_error = Some((number, reason));
        }
    }

    fn handle_message(&mut self, now: Instant, data: &[u8]) {
        if self.state == TurnState::Failed {
            return;
        }
        self.peek(now, data);
        if self.state == TurnState::Failed {
            return;
        }
        let msg = TransportMessage {
            now,
            transport: TransportContext {
                local_addr: self.config.local,
                peer_addr: self.config.server,
                transport_protocol: to_protocol(self.config.transport),
                ecn: None,
            },
            message: BytesMut::from(data),
        };
        if self.client.handle_read(msg).is_err() {
            // Malformed or unexpected (e.g. a request from the server): dropped, never fatal.
            self.ignored_packets += 1;
        }
        if self.refresh_stale_seen {
            self.refresh_stale_seen = false;
            if let Err(e) = self.client.refresh_allocations(now) {
                self.fail(TurnError::Internal(e.to_string()));
            }
        }
        self.drain_client_events(now);
    }

    /// Whether `tid` is the current Allocate: the authenticated one, or the anonymous one
    /// before it (rtc-turn numbers them one apart).
    fn is_allocate(&self, tid: TransactionId) -> bool {
        self.alloc_tid.is_some_and(|a| {
            let mut anonymous = a;
            anonymous.0[11] = anonymous.0[11].wrapping_sub(1);
            a == tid || anonymous == tid
        })
    }

    fn drain_client_events(&mut self, now: Instant) {
        while let Some(ev) = self.client.poll_event() {
            match ev {
                Event::AllocateResponse(_, relayed) if self.state == TurnState::Allocating => {
                    self.state = TurnState::Allocated;
                    self.relayed = Some(relayed);
                    // The lesser of the two Allocate round trips (anonymous, then
                    // authenticated): one sample is at the mercy of a busy scheduler.
                    let first = self
                        .first_response
                        .map(|t| t.saturating_duration_since(self.started));
                    let second = self
                        .first_response
                        .map(|t| now.saturating_duration_since(t));
                    let rtt = match (first, second) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b).unwrap_or_default(),
                    };
                    self.events.push_back(TurnEvent::Allocated {
                        relayed,
                        mapped: self.mapped,
                        rtt,
                    });
                }
                Event::AllocateError(_, err) if self.state == TurnState::Allocating => {
                    if self.alloc_tid.is_none() {
                        // Our 438 retry (see `peek`).
                        if let Err(e) = self.start_allocate(now) {
                            self.fail(e);
                        }
                    } else {
                        self.fail(TurnError::Internal(err.to_string()));
                    }
                }
                Event::TransactionTimeout(tid)
                    if self.state == TurnState::Allocating && self.is_allocate(tid) =>
                {
                    self.fail(TurnError::Timeout(
                        now.saturating_duration_since(self.started).as_millis(),
                    ));
                }
                Event::CreatePermissionResponse(tid, peer) => {
                    self.perm_tids.remove(&tid);
                    self.stale_perms = 0;
                    self.events.push_back(TurnEvent::PermissionCreated(peer));
                }
                Event::CreatePermissionError(tid, err) => {
                    let Some(peer) = self.perm_tids.remove(&tid) else {
                        continue;
                    };
                    let last = self.last_perm_error.take();
                    if err == shared::error::Error::ErrTryAgain
                        && self.stale_perms < MAX_STALE_RETRIES
                    {
                        // 438: rtc-turn took the new nonce; ask again right away.
                        self.stale_perms += 1;
                        self.create_permission(now, peer);
                    } else {
                        let err = match last {
                            Some((CODE_STALE_NONCE, _)) => TurnError::StaleNonce,
                            Some((code, reason)) => TurnError::Rejected { code, reason },
                            None => TurnError::Internal(err.to_string()),
                        };
                        self.events
                            .push_back(TurnEvent::PermissionFailed(peer, err));
                    }
                }
                Event::DataIndicationOrChannelData(_, from, data) => {
                    self.events.push_back(TurnEvent::Data {
                        from,
                        data: data.to_vec(),
                    });
                }
                Event::BindingResponse(..) | Event::BindingError(..) => {}
                _ => {}
            }
        }
    }
}

impl TurnSession {
    /// Installs a permission for `peer`'s IP (RFC 8656 §9): needed before data flows either
    /// way. The answer comes as [`TurnEvent::PermissionCreated`] or
    /// [`TurnEvent::PermissionFailed`]; rtc-turn refreshes it every 4 minutes afterwards.
    pub fn create_permission(&mut self, now: Instant, peer: SocketAddr) {
        let Some(relayed) = self.relayed else {
            self.events
                .push_back(TurnEvent::PermissionFailed(peer, TurnError::NotReady));
            return;
        };
        let result = match self.client.relay(relayed) {
            Ok(mut relay) => relay.create_permission(now, peer),
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(tid)) => {
                self.perm_tids.insert(tid, peer);
            }
            // Already permitted or pending.
            Ok(None) => {}
            Err(e) => self.events.push_back(TurnEvent::PermissionFailed(
                peer,
                TurnError::Internal(e.to_string()),
            )),
        }
    }

    /// Sends `data` to `peer` through the relay (Send indication until the channel is bound,
    /// ChannelData afterwards). Fails with [`TurnError::NotReady`] before the allocation or
    /// the permission is in place: the caller drops that packet (media is loss-tolerant).
    pub fn send_to(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), TurnError> {
        let relayed = match (self.state, self.relayed) {
            (TurnState::Allocated, Some(r)) => r,
            _ => return Err(TurnError::NotReady),
        };
        let mut relay = self
            .client
            .relay(relayed)
            .map_err(|_| TurnError::NotReady)?;
        relay
            .send_to(now, data, peer)
            .map_err(|_| TurnError::NotReady)
    }

    /// Asks the relay now whether the allocation is still there (a Refresh with its current
    /// lifetime). Over UDP nothing else tells a client that the relay restarted: one that lost
    /// the allocation refuses, and the session fails with [`TurnError::AllocationLost`].
    pub fn check(&mut self, now: Instant) {
        if self.state != TurnState::Allocated {
            return;
        }
        if let Err(e) = self.client.refresh_allocations(now) {
            self.fail(TurnError::Internal(e.to_string()));
        }
    }

    /// Releases the allocation (Refresh with lifetime 0). Drain [`Self::poll_transmit`] once
    /// more afterwards to send it.
    pub fn close(&mut self, now: Instant) {
        if let Some(relayed) = self.relayed
            && self.state == TurnState::Allocated
            && let Ok(mut relay) = self.client.relay(relayed)
        {
            let _ = relay.close(now);
        }
        self.state = TurnState::Failed;
    }

    /// Time passed: retransmissions, refreshes, and the allocation deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == TurnState::Allocating && now >= self.deadline {
            self.fail(TurnError::Timeout(
                now.saturating_duration_since(self.started).as_millis(),
            ));
            return;
        }
        if self.state == TurnState::Failed {
            return;
        }
        let _ = self.client.handle_timeout(now);
        self.drain_client_events(now);
    }

    /// The next packet to send to the server. Call after every `handle_*` until `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.client.poll_write()?;
        Some(Transmit {
            destination: t.transport.peer_addr,
            payload: t.message.to_vec(),
        })
    }

    /// The next event. Call after every `handle_*` until `None`.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next (`None`: nothing is scheduled).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if self.state == TurnState::Failed {
            return None;
        }
        let inner = self.client.poll_timeout();
        if self.state == TurnState::Allocating {
            Some(inner.map_or(self.deadline, |t| t.min(self.deadline)))
        } else {
            inner
        }
    }
}
