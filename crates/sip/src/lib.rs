//! # homeline-sip — sans-IO SIP
//!
//! This crate will hold Homeline's SIP stack as a sans-IO core: message framing for datagram and
//! stream transports, parsing (rsip underneath) with normalisation and RFC 3261 validation,
//! the four transaction state machines (RFC 3261 §17), dialogs (§12), registration with digest
//! authentication and NAT keep-alive. It owns no sockets, threads or clocks: the runtime in
//! `homeline-phone` drives it with `handle_*(now, input)` and drains `poll_*()`.
//!
//! Nothing is implemented yet; see the SIP user agent issue.
#![forbid(unsafe_code)]
