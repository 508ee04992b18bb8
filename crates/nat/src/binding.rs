//! A STUN Binding client transaction (RFC 8489 §6.2.1): learn the server-reflexive address.
//!
//! The request, its retransmissions (RTO 200 ms doubling) and the response parsing are
//! `rtc-turn`'s client (its Binding support, on `rtc-stun`'s codec); this layer bounds the
//! whole transaction by a deadline so that a dead STUN server costs at most that long (the
//! gathering policy gives it well under a second), and measures the round trip.
//!
//! The binding is meant to share the media socket: the srflx address is then the public face
//! of the very port the call's RTP uses. Feed every datagram from the server to
//! [`StunBinding::handle_datagram`]; it returns `false` for what is not its response, so the
//! caller hands that packet on (to RTP).
//!
//! # Run loop
//! ```text
//! let mut b = StunBinding::new(server, local, now, deadline)?;
//! loop {
//!     while let Some(t) = b.poll_transmit() { send }
//!     if let Some(result) = b.result() { break }
//!     wait for a datagram or b.poll_timeout(), then b.handle_datagram / b.handle_timeout
//! }
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;
use shared::{TransportContext, TransportMessage, TransportProtocol};
use stun::message::{Message, TransactionId};

use crate::turn::Transmit;

/// Why a binding gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// No answer before the deadline (server down, or UDP blocked).
    #[error("the STUN server did not answer within {0} ms")]
    Timeout(u128),
    /// The server answered with an error or without a mapped address.
    #[error("the STUN server answered with an error: {0}")]
    Rejected(String),
    /// The request could not be built (should not happen).
    #[error("the STUN request could not be built: {0}")]
    Internal(String),
}

/// A successful binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingResult {
    /// Our address as the server saw it (XOR-MAPPED-ADDRESS).
    pub mapped: SocketAddr,
    /// From the first request to the response.
    pub rtt: Duration,
}

/// One Binding transaction to one server.
pub struct StunBinding {
    client: Client,
    server: SocketAddr,
    local: SocketAddr,
    tid: TransactionId,
    started: Instant,
    deadline: Instant,
    result: Option<Result<BindingResult, BindingError>>,
}

impl std::fmt::Debug for StunBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StunBinding")
            .field("server", &self.server)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl StunBinding {
    /// Starts the transaction: the first request is ready in [`Self::poll_transmit`].
    pub fn new(
        server: SocketAddr,
        local: SocketAddr,
        now: Instant,
        timeout: Duration,
    ) -> Result<Self, BindingError> {
        let provider = rtc_turn::crypto::default_provider()
            .map_err(|e| BindingError::Internal(e.to_string()))?;
        let mut client = Client::new(
            ClientConfig {
                stun_serv_addr: String::new(),
                turn_serv_addr: String::new(),
                local_addr: local,
                transport_protocol: TransportProtocol::UDP,
                ..Default::default()
            },
            provider,
        )
        .map_err(|e| BindingError::Internal(e.to_string()))?;
        let tid = client
            .send_binding_request_to(now, server)
            .map_err(|e| BindingError::Internal(e.to_string()))?;
        Ok(Self {
            client,
            server,
            local,
            tid,
            started: now,
            deadline: now + timeout,
            result: None,
        })
    }

    /// The STUN server this binding asks.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Offers a datagram. Returns `true` if it was this binding's response (consumed), `false`
    /// if it belongs to someone else (RTP, another STUN user) and must be handed on.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> bool {
        if self.result.is_some() || from != self.server || !stun::message::is_stun_message(data) {
            return false;
        }
        let mut msg = Message::new();
        msg.raw = data.to_vec();
        if msg.decode().is_err() || msg.transaction_id != self.tid {
            return false;
        }
        let tagged = TransportMessage {
            now,
            transport: TransportContext {
                local_addr: self.local,
                peer_addr: from,
                transport_protocol: TransportProtocol::UDP,
                ecn: None,
            },
            message: BytesMut::from(data),
        };
        if let Err(e) = self.client.handle_read(tagged) {
            self.result = Some(Err(BindingError::Rejected(e.to_string())));
        }
        self.drain(now);
        true
    }

    fn drain(&mut self, now: Instant) {
        while let Some(ev) = self.client.poll_event() {
            if self.result.is_some() {
                continue;
            }
            match ev {
                Event::BindingResponse(tid, mapped) if tid == self.tid => {
                    self.result = Some(Ok(BindingResult {
                        mapped,
                        rtt: now.saturating_duration_since(self.started),
                    }));
                }
                Event::BindingError(tid, e) if tid == self.tid => {
                    self.result = Some(Err(BindingError::Rejected(e.to_string())));
                }
                Event::TransactionTimeout(tid) if tid == self.tid => {
                    self.result = Some(Err(BindingError::Timeout(
                        now.saturating_duration_since(self.started).as_millis(),
                    )));
                }
                _ => {}
            }
        }
    }

    /// Time passed: retransmit, or give up at the deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.result.is_some() {
            return;
        }
        if now >= self.deadline {
            let _ = self.client.close();
            self.result = Some(Err(BindingError::Timeout(
                now.saturating_duration_since(self.started).as_millis(),
            )));
            return;
        }
        let _ = self.client.handle_timeout(now);
        self.drain(now);
    }

    /// The next request (or retransmission) to send to the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.result.is_some() {
            return None;
        }
        let t = self.client.poll_write()?;
        Some(Transmit {
            destination: t.transport.peer_addr,
            payload: t.message.to_vec(),
        })
    }

    /// When to call [`Self::handle_timeout`]; `None` once finished.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if self.result.is_some() {
            return None;
        }
        Some(
            self.client
                .poll_timeout()
                .map_or(self.deadline, |t| t.min(self.deadline)),
        )
    }

    /// The outcome, once there is one.
    pub fn result(&self) -> Option<&Result<BindingResult, BindingError>> {
        self.result.as_ref()
    }
}
