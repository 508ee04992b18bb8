//! Transactions (RFC 3261 §17, amended by RFC 6026).
//!
//! Four state machines, one per file, each a plain struct driven by the
//! [`TransactionLayer`], which creates them, matches incoming messages to them (§17.1.3,
//! §17.2.3), runs their timers and collects what they want sent and told.
//!
//! ## Using the layer
//! - Client side: [`TransactionLayer::send_request`] starts a client transaction; responses
//!   come back as [`TransactionEvent::Response`] (a `503` is synthesised on a transport error,
//!   §8.1.3.1 / §17.1.4, told apart from a server's 503 by [`is_transport_error`]), and
//!   [`TransactionEvent::Timeout`] reports Timer B/F.
//! - Server side: a new request arrives as [`TransactionEvent::Request`] with the id to answer
//!   with [`TransactionLayer::send_response`]. Retransmissions are absorbed.
//! - Feed every valid message with [`TransactionLayer::handle_message`], timer expiry with
//!   [`TransactionLayer::handle_timeout`], failed sends with
//!   [`TransactionLayer::handle_transport_error`]; then drain [`TransactionLayer::poll_transmit`]
//!   and [`TransactionLayer::poll_event`] and sleep until [`TransactionLayer::poll_timeout`].
//!
//! ## Timer values (RFC 3261 Table 4, RFC 6026 §8.4)
//! | timer | meaning | value |
//! |---|---|---|
//! | A | INVITE retransmit (unreliable) | T1, doubling |
//! | B | INVITE transaction timeout | 64·T1 |
//! | D | wait for response retransmits | 32 s unreliable, 0 reliable |
//! | E | non-INVITE retransmit (unreliable) | T1, doubling to T2 |
//! | F | non-INVITE transaction timeout | 64·T1 |
//! | G | INVITE response retransmit (unreliable) | T1, doubling to T2 |
//! | H | wait for ACK | 64·T1 |
//! | I | wait for ACK retransmits | T4 unreliable, 0 reliable |
//! | J | wait for non-INVITE request retransmits | 64·T1 unreliable, 0 reliable |
//! | K | wait for response retransmits | T4 unreliable, 0 reliable |
//! | L | wait for INVITE retransmits after 2xx (RFC 6026) | 64·T1 |
//! | M | wait for 2xx retransmits (RFC 6026) | 64·T1 |

mod client_invite;
mod client_non_invite;
mod layer;
mod server_invite;
mod server_non_invite;
mod util;

pub use layer::{TransactionLayer, TransactionState};
pub use util::{TRANSPORT_ERROR_REASON, cancel_for, is_transport_error, response_for};

/// States of the four machines (RFC 3261 Figures 5–8, RFC 6026 Figures 3 and 5).
pub mod states {
    pub use super::client_invite::State as ClientInvite;
    pub use super::client_non_invite::State as ClientNonInvite;
    pub use super::server_invite::State as ServerInvite;
    pub use super::server_non_invite::State as ServerNonInvite;
}
pub use server_invite::TRYING_DELAY;

use std::net::SocketAddr;
use std::time::Duration;

/// The transport a message travels on; reliability changes the timers (§17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: unreliable, so requests and responses are retransmitted.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl TransportKind {
    /// True for every transport but UDP.
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The Via transport token (RFC 3261 §18, RFC 7118 §5.1).
    pub fn via_token(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Ws => "WS",
            Self::Wss => "WSS",
        }
    }
}

/// Where a message goes to or came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: TransportKind,
    /// The remote address.
    pub addr: SocketAddr,
}

/// The RFC 3261 timer base values (§17.1.1.1, Table 4), configurable per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s.
    pub t2: Duration,
    /// Maximum duration a message remains in the network, default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J (unreliable), L, M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }
}

/// Identifies one transaction within a [`TransactionLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Transmit {
    /// Destination.
    pub peer: Peer,
    /// The message.
    pub message: rsip::SipMessage,
    /// The transaction that sent it, to report a failed send with
    /// [`TransactionLayer::handle_transport_error`]; `None` for stateless sends.
    pub transaction: Option<TransactionId>,
}

impl Transmit {
    /// Wire bytes.
    pub fn bytes(&self) -> Vec<u8> {
        crate::message::serialize(&self.message)
    }
}

/// What the transaction layer tells the transaction user (TU).
#[derive(Debug, Clone, PartialEq)]
pub enum TransactionEvent {
    /// A new request; answer it with [`TransactionLayer::send_response`] using `id`.
    Request {
        /// The server transaction.
        id: TransactionId,
        /// The request.
        request: rsip::Request,
        /// Where it came from.
        peer: Peer,
    },
    /// An ACK for a 2xx (RFC 6026 §7.1: passed up from the Accepted state), or an ACK that
    /// matches no transaction (the 2xx ACK after the transaction ended): it belongs to a dialog.
    Ack {
        /// The INVITE server transaction it matched, if any.
        id: Option<TransactionId>,
        /// The ACK.
        request: rsip::Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A response for a client transaction: provisional, final, 2xx retransmissions in the
    /// Accepted state, or a synthesised `503` after a transport error.
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: rsip::Response,
    },
    /// A response matching no client transaction (§17.1.3: passed to the core, which may
    /// need it for a late 2xx).
    StrayResponse {
        /// The response.
        response: rsip::Response,
    },
    /// Timer B or F fired (client: no final response; the TU treats it as 408, §8.1.3.1),
    /// Timer H fired (INVITE server: no ACK arrived for a non-2xx final response), or a
    /// non-INVITE server transaction got no final response from the TU within 64·T1.
    Timeout {
        /// The transaction.
        id: TransactionId,
    },
    /// A server transaction could not send its response (§17.2.4).
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// The transaction reached Terminated and was removed.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
}

/// Errors from calls into the transaction layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// A request needs a top Via with an RFC 3261 branch (`z9hG4bK…`, §8.1.1.7).
    #[error("request has no Via with an RFC 3261 branch")]
    MissingBranch,
    /// The request lacks a well-formed CSeq.
    #[error("request has no valid CSeq")]
    BadCSeq,
    /// An ACK is not a transaction: send it with [`TransactionLayer::send_stateless`].
    #[error("ACK does not create a client transaction")]
    AckIsNotATransaction,
    /// A client transaction with this branch and method already exists.
    #[error("a transaction with this branch and method already exists")]
    Duplicate,
    /// No transaction with that id (it may have terminated).
    #[error("no such transaction")]
    NoSuchTransaction,
    /// The response does not fit the transaction's state (e.g. a second final response).
    #[error("response not allowed in state {0}")]
    InvalidState(&'static str),
}

/// The prefix of every RFC 3261 branch (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";
