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
//! log: they move samples through a lock-free ring and count underruns and overruns in atomics.
//! - [`resample`]: fixed-ratio band-limited resampling (rubato) between any two rates.
//! - [`level`]: peak/RMS dBFS per frame, stored in atomics for the UI.
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
    AudioRoutes, DeviceEvent, DeviceEventKind, DeviceInput, DeviceOutput, RESCAN_INTERVAL, Role,
    RouteError,
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
