//! # homeline-sip — sans-IO SIP
//!
//! Homeline's SIP stack as a sans-IO core, in the manner of str0m and quinn-proto: plain
//! structs that own no sockets, threads, locks or clocks. The runtime in `homeline-phone`
//! reads sockets, feeds bytes and the current time in, and sends what comes out.
//!
//! ## Layers
//! - **Receive path** ([`framing`], [`normalize`], [`validate`]): one message per datagram, or
//!   Content-Length framing on streams with RFC 5626 CRLF keep-alives; normalisation of what
//!   rsip would reject but RFC 3261 allows (compact names, folding, whitespace before colons);
//!   validation per RFC 3261 §8.2 with a ready-made `400`/`416`/`501`/`505` for bad requests.
//! - **Transactions** ([`transaction`]): the four RFC 3261 §17 state machines with RFC 6026's
//!   Accepted state, behind a [`transaction::TransactionLayer`] that matches messages to them.
//! - **Digest authentication** ([`auth`]): RFC 2617/7616/8760, MD5 and SHA-256, qop=auth.
//! - **Dialogs** ([`dialog`]): RFC 3261 §12 identity, route sets, target refresh, CSeq rules.
//! - **Registration** ([`register`]): REGISTER with challenges, refresh, back-off and NAT
//!   address learning; [`keepalive`] keeps the flow's NAT binding open (RFC 5626 §4.4).
//!
//! ## The run loop
//! Every core follows the same discipline: **mutate, then drain until Timeout**.
//!
//! ```text
//! loop {
//!     // 1. Mutate: exactly one input, with the time it happened.
//!     match wait_for(socket, core.poll_timeout()) {
//!         Input::Datagram(bytes, from) => core.handle_message(now, receive_datagram(&bytes), from),
//!         Input::Timer                => core.handle_timeout(now),
//!     }
//!     // 2. Drain: send everything, process every event, in any order.
//!     while let Some(t) = core.poll_transmit() { socket.send_to(&t.bytes(), t.peer) }
//!     while let Some(e) = core.poll_event()    { tu.on_event(e) }
//!     // 3. Sleep until core.poll_timeout() (None: until the next input).
//! }
//! ```
//! Time is a [`std::time::Instant`] passed in by the caller; tests advance it by hand, so every
//! RFC timer is checked to the millisecond.
#![forbid(unsafe_code)]

pub mod auth;
pub mod dialog;
pub mod framing;
pub mod keepalive;
pub mod message;
pub mod normalize;
pub mod register;
pub mod rng;
pub mod transaction;
pub mod validate;

pub use framing::{StreamFramer, StreamItem, receive_datagram};
pub use validate::{Inbound, Rejection};

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Normalising a message failed.
    #[error(transparent)]
    Normalize(#[from] normalize::NormalizeError),
    /// A message failed validation.
    #[error(transparent)]
    Validate(#[from] validate::ValidateError),
    /// A stream could not be framed.
    #[error(transparent)]
    Framing(#[from] framing::FramingError),
    /// A transaction operation failed.
    #[error(transparent)]
    Transaction(#[from] transaction::TransactionError),
    /// Digest authentication failed.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// A dialog operation failed.
    #[error(transparent)]
    Dialog(#[from] dialog::DialogError),
    /// Registration could not be set up.
    #[error(transparent)]
    Register(#[from] register::RegisterError),
}
