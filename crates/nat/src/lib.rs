//! # homeline-nat — NAT traversal
//!
//! Sans-IO cores for getting media through NATs and firewalls:
//!
//! - [`uri`]: STUN/TURN server URIs (RFC 7064/7065);
//! - [`binding`]: a STUN Binding transaction, bounded by a deadline (the srflx address);
//! - [`turn`]: a TURN client session (RFC 8656) over UDP, TCP or TLS on webrtc-rs's
//!   `rtc-turn`: allocate, 401/438, refresh, permissions, ChannelBind, data both ways;
//! - [`choice`]: the relay ranking by round trip and the gathering policy (the offer never
//!   waits on a dead server);
//! - [`ice`]: the ICE agent (RFC 8445) over `rtc-ice`, and RFC 7983 demultiplexing;
//! - [`route`]: which way a call's media goes (relay or not) and its name and sentence;
//! - [`behaviour`]: RFC 5780 NAT behaviour discovery and the binding-lifetime probe.
//!
//! Each core is a plain struct: `handle_*(now, input)` mutates it, `poll_transmit()`,
//! `poll_event()` and `poll_timeout()` drain it. No sockets, no clock, no async: the tokio
//! drivers live in `homeline-phone` (`nat` module). Mutate, then drain until `None`, then
//! sleep until `poll_timeout()`.
//!
//! STUN and TURN encoding is webrtc-rs's (`rtc-stun`, `rtc-turn`); nothing here writes a
//! STUN codec of its own.
#![forbid(unsafe_code)]

pub mod behaviour;
pub mod binding;
pub mod choice;
pub mod ice;
pub mod route;
pub mod turn;
pub mod uri;

pub use binding::{BindingError, BindingResult, StunBinding};
pub use choice::{GatherPolicy, ProbeOutcome, ProbeSuccess, rank_relays};
pub use route::{Gathered, MediaRoute, RelayReason};
pub use turn::{Transmit, TurnConfig, TurnError, TurnEvent, TurnSession, TurnState};
pub use uri::{RelayTransport, StunUri, TurnUri, UriError};
