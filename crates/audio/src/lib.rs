//! # homeline-audio — sound devices
//!
//! Audio devices through cpal: listing, opening, resampling, levels, a WAV file source and sink,
//! and the ring device.
#![forbid(unsafe_code)]
