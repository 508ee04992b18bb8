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
//! - **Server location** ([`locate`]): RFC 3263 lookup plan, NAPTR/SRV ordering (RFC 2782)
//!   and failover, with DNS left to the driver.
//! - **Dialogs** ([`dialog`]): RFC 3261 §12 identity, route sets, target refresh, CSeq rules,
//!   the UAS's 2xx retransmission until ACK; [`prack`] adds RFC 3262 reliable provisionals.
//! - **Registration** ([`register`]): REGISTER with challenges, refresh, back-off and NAT
//!   address learning, flow migration, RFC 5626 outbound; [`keepalive`] keeps the flow's NAT
//!   binding open and checks it (RFC 5626 §4.4: CRLF, or STUN Binding on UDP with
//!   [`keepalive::is_stun`] to demultiplex the socket).
//! - **Calls** ([`call`]): the call TU on top of the transaction layer, dialogs and digest
//!   auth — INVITE/CANCEL/BYE, early media, forking, 3xx, re-INVITE (hold) with glare,
//!   REFER/NOTIFY, INFO DTMF, PRACK — with failures as plain `{code, message, hint}`.
//! - **Instant messages** ([`pager`]): MESSAGE in page mode (RFC 3428) beside the calls.
//! - **Presence** ([`publish`], [`subscribe`]): PUBLISH with SIP-ETag (RFC 3903) and
//!   SUBSCRIBE/NOTIFY subscriptions (RFC 6665) with refresh and back-off.
//!
//! ## The run loop
//! Every core follows the same discipline: **mutate, then drain until Timeout**. Feed one
//! input with the time it happened (`handle_*`), then drain `poll_transmit()` and
//! `poll_event()` until both return `None`, then sleep until `poll_timeout()` (or the next
//! input). Time is an [`std::time::Instant`] passed in by the caller; tests advance it by hand,
//! so every RFC timer is checked to the millisecond.
//!
//! A complete exchange between two user agents, with the network played by a `Vec`:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use homeline_sip::transaction::{
//!     Peer, TimerConfig, TransactionEvent, TransactionLayer, TransportKind, response_for,
//! };
//! use homeline_sip::{Inbound, receive_datagram};
//!
//! let alice_addr = Peer { transport: TransportKind::Udp, addr: "192.0.2.1:5060".parse().unwrap() };
//! let bob_addr = Peer { transport: TransportKind::Udp, addr: "192.0.2.2:5060".parse().unwrap() };
//! let mut alice = TransactionLayer::new(TimerConfig::default());
//! let mut bob = TransactionLayer::new(TimerConfig::default());
//! let mut now = Instant::now();
//!
//! let options = b"OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n\
//!     Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a\r\nTo: <sip:bob@192.0.2.2>\r\n\
//!     Call-ID: doc-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
//! let Inbound::Request(request) = receive_datagram(options) else { unreachable!() };
//! let id = alice.send_request(now, request, bob_addr).unwrap();
//!
//! let mut answered = false;
//! for _ in 0..10 {
//!     // Drain both cores: what they send goes on the "wire" to the other side.
//!     let mut wire = Vec::new();
//!     while let Some(t) = alice.poll_transmit() { wire.push((true, t.bytes())); }
//!     while let Some(t) = bob.poll_transmit() { wire.push((false, t.bytes())); }
//!     while let Some(e) = bob.poll_event() {
//!         if let TransactionEvent::Request { id, request, .. } = e {
//!             bob.send_response(now, id, response_for(&request, 200, "OK")).unwrap();
//!         }
//!     }
//!     while let Some(e) = alice.poll_event() {
//!         if let TransactionEvent::Response { id: rid, response } = e {
//!             assert_eq!((rid, response.status_code.code()), (id, 200));
//!             answered = true;
//!         }
//!     }
//!     // Mutate: deliver, then fire whatever timer is due next.
//!     now += Duration::from_millis(20);
//!     for (to_bob, bytes) in wire {
//!         let msg = match receive_datagram(&bytes) {
//!             Inbound::Request(r) => r.into(),
//!             Inbound::Response(r) => r.into(),
//!             _ => continue,
//!         };
//!         if to_bob { bob.handle_message(now, msg, alice_addr) } else { alice.handle_message(now, msg, bob_addr) }
//!     }
//!     alice.handle_timeout(now);
//!     bob.handle_timeout(now);
//! }
//! assert!(answered);
//! ```
//!
//! ## A call
//! The [`call::CallLayer`] shares the driver's transaction layer: feed it the layer's events
//! (it hands back those that are not about calls), call its `handle_timeout`, and drain the
//! layer's transmits and the call layer's events — the same loop as above.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
//! use homeline_sip::transaction::{Peer, TimerConfig, TransactionLayer, TransportKind};
//! use homeline_sip::{Inbound, receive_datagram};
//!
//! let udp = |a: &str| Peer { transport: TransportKind::Udp, addr: a.parse().unwrap() };
//! let (a_addr, b_addr) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
//! let cfg = |aor: &str, p: Peer| CallConfig::new(aor, p.addr, TransportKind::Udp);
//! let mut ua = [
//!     (TransactionLayer::new(TimerConfig::default()), CallLayer::new(cfg("sip:alice@example.com", a_addr), 1)),
//!     (TransactionLayer::new(TimerConfig::default()), CallLayer::new(cfg("sip:bob@example.com", b_addr), 2)),
//! ];
//! let mut now = Instant::now();
//! let (layer, calls) = &mut ua[0];
//! let call = calls.dial(now, layer, "sip:bob@192.0.2.2", b"v=0 (offer)".to_vec(), b_addr).unwrap();
//!
//! let mut answered = false;
//! for _ in 0..20 {
//!     let mut wire = Vec::new();
//!     for (i, (layer, calls)) in ua.iter_mut().enumerate() {
//!         while let Some(ev) = layer.poll_event() {
//!             let _not_a_call = calls.handle_transaction_event(now, layer, ev);
//!         }
//!         while let Some(ev) = calls.poll_event() {
//!             match ev {
//!                 // Bob's application answers at once with its SDP answer.
//!                 CallEvent::Incoming { call, .. } => {
//!                     calls.answer(now, layer, call, b"v=0 (answer)".to_vec()).unwrap()
//!                 }
//!                 CallEvent::Answered { call: c, answer } => {
//!                     assert_eq!((c, answer.as_slice()), (call, &b"v=0 (answer)"[..]));
//!                     answered = true;
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         while let Some(t) = layer.poll_transmit() { wire.push((1 - i, t.bytes())); }
//!     }
//!     now += Duration::from_millis(20);
//!     for (to, bytes) in wire {
//!         let msg = match receive_datagram(&bytes) {
//!             Inbound::Request(r) => r.into(),
//!             Inbound::Response(r) => r.into(),
//!             _ => continue,
//!         };
//!         ua[to].0.handle_message(now, msg, if to == 0 { b_addr } else { a_addr });
//!     }
//!     for (layer, calls) in ua.iter_mut() {
//!         layer.handle_timeout(now);
//!         calls.handle_timeout(now, layer);
//!     }
//! }
//! assert!(answered);
//! ```
#![forbid(unsafe_code)]

pub mod auth;
pub mod call;
pub mod dialog;
pub mod framing;
pub mod keepalive;
pub mod locate;
pub mod message;
pub mod normalize;
pub mod pager;
pub mod prack;
pub mod publish;
pub mod register;
pub(crate) mod reqbuild;
pub mod responses;
pub mod rng;
pub mod subscribe;
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
    /// A server could not be located.
    #[error(transparent)]
    Locate(#[from] locate::LocateError),
    /// Registration could not be set up.
    #[error(transparent)]
    Register(#[from] register::RegisterError),
    /// A keep-alive setting was refused.
    #[error(transparent)]
    KeepAlive(#[from] keepalive::KeepAliveError),
    /// A call operation failed.
    #[error(transparent)]
    Call(#[from] call::CallError),
}
