//! # homeline-audio — sound devices
//!
//! Everything between the sound card and the codec: device listing, real-time streams,
//! resampling, levels, WAV files, and the move to another device when one disappears.
//!
//! ## The model
//! Call audio here is **mono `f32` in 20 ms frames** at the call's rate (48 kHz for Opus,
//! 8 kHz for G.711). Devices run at their own preferred rate, format and channel count; the
//! edges convert:
//!
//! ```text
//! mic callback ─► rtrb ring ─► Resampler ─► FrameSource::read_frame ─► encoder
//! decoder ─► FrameSink::write_frame ─► Resampler ─► rtrb ring ─► speaker callback
//! ```
//!
//! The device callbacks ([`ring::capture_into`], [`ring::play_from`]) never allocate, lock or
//! log: they move samples through a lock-free ring and count underruns and overruns in atomics
//! (a test under a counting allocator proves it, and that per-frame resampling does not
//! allocate either).
//! - [`resample`]: fixed-ratio band-limited resampling (rubato) between any two rates.
//! - [`level`]: peak/RMS dBFS per frame, stored in atomics for the UI.
//! - [`frame`]: the [`FrameSource`] / [`FrameSink`] traits and the simple ones ([`Tone`] for
//!   the test tone, [`Silence`], [`Clip`], [`Collect`], [`Discard`]).
//! - [`wav`]: [`WavSource`] / [`WavSink`] for `--play FILE.wav` / `--record FILE.wav`.
//! - [`route`]: [`DeviceInput`] / [`DeviceOutput`], the device endpoints; [`AudioRoutes`]
//!   holds the three choices (microphone, speaker, ring device).
//!
//! ## The run loop
//! A call's audio task, every few milliseconds (or woken by the network):
//!
//! ```no_run
//! # use homeline_audio::*;
//! # fn main() -> Result<(), Error> {
//! let (events_tx, events) = std::sync::mpsc::channel();
//! let routes = AudioRoutes::default(); // from Settings
//! let mut mic = routes.open_microphone(48_000, Some(events_tx.clone()))?;
//! let mut speaker = routes.open_speaker(48_000, Some(events_tx))?;
//! let mut frame = vec![0.0f32; frame_len(48_000)];
//! loop {
//!     // Capture: every ready 20 ms frame goes to the encoder.
//!     while mic.read_frame(&mut frame)? == FrameStatus::Ready { /* encode and send */ }
//!     // Playout: keep about 40 ms queued for the device, from the jitter buffer.
//!     while speaker.queued_ms() < 40 { /* decode into frame */ speaker.write_frame(&frame)?; }
//!     // Device changes, in plain words for the UI.
//!     for e in events.try_iter() { println!("{}", e.message); }
//!     // Levels for the meters: mic.levels().last(), speaker.levels().last().
//!     std::thread::sleep(std::time::Duration::from_millis(5));
//! #   break;
//! }
//! # Ok(()) }
//! ```
//!
//! ## Hot-plug
//! Each endpoint has a supervisor thread that re-scans every [`RESCAN_INTERVAL`] (and watches
//! the stream's error callback). A vanished device is replaced by the system default within a
//! second, a "default" choice follows the system default, and a chosen device that returns is
//! used again; each move is a [`DeviceEvent`] whose `message` says what happened.
//!
//! ## Hosts
//! On Linux cpal's PulseAudio host is used when a PulseAudio or PipeWire-Pulse server is
//! reachable (it lists every sink and source by name); otherwise ALSA. Tests on real (virtual)
//! devices run under `scripts/with-pulse.sh` with `HOMELINE_REAL_AUDIO=1`.
//!
//! ## Listing devices
//! [`list_devices`] never panics and never hangs (see [`devices`]).
#![forbid(unsafe_code)]

pub mod devices;
pub mod frame;
pub mod level;
pub mod resample;
pub mod ring;
pub mod route;
pub mod stream;
pub mod wav;

/// cpal itself, for callers of [`stream::open_capture`] / [`stream::open_playback`] that pick a
/// host or device by hand.
pub use cpal;
pub use devices::{
    AudioError, COMMON_SAMPLE_RATES, DeviceChoice, DeviceInfo, DeviceList, Direction, LIST_TIMEOUT,
    list_devices, list_devices_with_timeout, summarise_rates,
};
pub use frame::{
    Clip, Collect, Discard, FrameError, FrameSink, FrameSource, FrameStatus, Silence, Tone,
};
pub use level::{LevelReading, Levels};
pub use resample::{ResampleError, Resampler, frame_len};
pub use ring::{CounterSnapshot, StreamCounters};
pub use route::{
    AudioRoutes, DeviceEvent, DeviceEventKind, DeviceInput, DeviceOutput, PlayRecordStats,
    RESCAN_INTERVAL, Role, RouteError, play_and_record,
};
pub use stream::StreamError;
pub use wav::{WavError, WavSink, WavSource};

/// Any error of this crate, for callers that do not care which part failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing devices failed.
    #[error(transparent)]
    Devices(#[from] AudioError),
    /// A stream could not be opened.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A device endpoint could not be set up.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// A frame could not be read or written.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A WAV file could not be used.
    #[error(transparent)]
    Wav(#[from] WavError),
}
