//! # homeline-nat — NAT traversal
//!
//! This crate will hold STUN (RFC 8489), NAT behaviour discovery (RFC 5780), ICE on top of
//! webrtc-rs's sans-IO `rtc-ice`, a TURN client over UDP, TCP and TLS, and the choice of relay
//! by lowest round-trip time. Sans-IO like the other protocol crates.
//!
//! Implemented so far: [`ice`] (the ICE agent over `rtc-ice`, RFC 7983 demultiplexing) and
//! [`behaviour`] (RFC 5780 NAT behaviour discovery and the binding-lifetime probe).
#![forbid(unsafe_code)]

pub mod behaviour;
pub mod ice;
