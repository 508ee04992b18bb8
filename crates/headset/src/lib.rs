//! # homeline-headset — headset call control over the HID Telephony page
//!
//! Three layers, each usable alone:
//! - [`descriptor`]: the telephony controls of a HID report descriptor (parsed by `hidreport`,
//!   named by `hut`): every Telephony-page (0x0B) input and output and the LED-page outputs of a
//!   Telephony top-level collection, with report ID, bit offset, size, logical range,
//!   relative/absolute and the Constant flag.
//! - [`machine`]: the sans-IO state machine. `handle_input(now, report)` turns input reports into
//!   [`HeadsetEvent`]s (answer, hang up, mute, flash, redial, drop, keypad) and
//!   `apply(now, call)` turns the call state into the output reports to write (Off-Hook, Ring,
//!   Mute, Hold, Microphone LEDs and the Ringer). No device, clock or thread inside.
//! - [`transport`] and [`backend`]: the device behind a small [`Transport`] trait — hidapi for
//!   real headsets, [`MemoryDevice`] for tests — with enumeration, pairing with the audio device
//!   and the Linux permission check.
//!
//! The loop a driver runs:
//!
//! ```text
//! loop {
//!     n = transport.read(&mut buf, timeout)?;            // blocks; no busy polling
//!     for ev in machine.handle_input(now, &buf[..n]) { phone.act(ev) }
//!     on call change: for r in machine.apply(now, call) { transport.write(&r.bytes)? }
//! }
//! ```
#![forbid(unsafe_code)]

pub mod backend;
pub mod descriptor;
pub mod machine;
pub mod transport;

pub use descriptor::{Control, DescriptorError, Direction, TelephonyLayout};
pub use machine::{
    CallIndication, CallPhase, Headset, HeadsetEvent, LedState, OutputReport, Switches,
};
pub use transport::{MemoryDevice, ReportReader, ReportWriter, Transport, TransportError};
