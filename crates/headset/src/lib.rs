//! # homeline-headset — headset call control
//!
//! This crate will hold the HID telephony page support: report descriptor parsing, the headset
//! state machine (hook switch, mute, ring, LEDs) and a hidapi backend, each integration
//! switchable off for troubleshooting.
//!
//! Nothing is implemented yet; see the headset work.
#![forbid(unsafe_code)]
