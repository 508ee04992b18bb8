//! # homeline-diag — the connectivity test
//!
//! This crate will hold the probes of Homeline's connectivity test (UDP reachability, SIP port,
//! SIP ALG, NAT type, NAT binding timeout, RTP range, jitter and loss), the findings they produce
//! and the plain-language verdicts and fixes shown to the user.
//!
//! Nothing is implemented yet; see the diagnostics work.
#![forbid(unsafe_code)]
