//! # homeline-media — sans-IO media
//!
//! This crate will hold the media plane as a sans-IO core: SDP offer/answer (RFC 3264), RTP and
//! RTCP sessions (RFC 3550), codecs (Opus, G.711), the adaptive jitter buffer with packet-loss
//! concealment, SRTP, and call-quality statistics with an E-model MOS estimate.
//!
//! Nothing is implemented yet; see the media issue.
#![forbid(unsafe_code)]
