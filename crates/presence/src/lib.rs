//! # homeline-presence — presence documents, sans-IO
//!
//! What a contact's presence is, read from and written to the documents SIP presence carries:
//! [`pidf`] parses PIDF (RFC 3863) with the RPID extensions (RFC 4480) into one [`Status`]
//! and a note, and writes our own; [`mwi`] reads the voicemail system's message summary
//! (RFC 3842). Parsing uses quick-xml with namespace resolution (never
//! string search), bounds size and depth, and turns anything malformed into a
//! [`pidf::PidfError`], never a panic.
//!
//! The SIP side (PUBLISH with SIP-ETag, SUBSCRIBE/NOTIFY dialogs, refresh and back-off) lives
//! in `homeline-sip` (`publish`, `subscribe`); the runtime (`homeline-phone`) joins them.
#![forbid(unsafe_code)]

pub mod mwi;
pub mod pidf;

pub use pidf::{Presence, Status};
