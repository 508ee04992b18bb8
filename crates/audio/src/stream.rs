//! Opening cpal capture and playback streams on one device, at the device's own preferred
//! rate, format and channel count, with the real-time callback feeding or draining a ring.
//!
//! The rest of the crate uses [`open_capture`] and [`open_playback`] through the supervisors in
//! [`crate::route`], which reopen streams on another device when one goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{BufferSize, SampleFormat, StreamConfig};
use rtrb::{Consumer, Producer};

use crate::devices::display_name;
use crate::ring::{StreamCounters, capture_into, play_from, ring};

/// How long cpal may take to set up a stream before we call the device unusable.
const BUILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a stream could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// No device of that name, and no default device either.
    #[error("no {0} device is available")]
    NoDevice(&'static str),
    /// The device would not tell its preferred configuration.
    #[error("'{device}' did not report a usable configuration: {reason}")]
    Config {
        /// The device's name.
        device: String,
        /// cpal's reason.
        reason: String,
    },
    /// The device uses a sample format this crate does not convert.
    #[error("'{device}' uses the sample format {format}, which is not supported")]
    Format {
        /// The device's name.
        device: String,
        /// The format.
        format: String,
    },
    /// cpal could not build or start the stream.
    #[error("'{device}' could not be opened: {reason}")]
    Open {
        /// The device's name.
        device: String,
        /// cpal's reason.
        reason: String,
    },
}

/// An open device stream and what it was opened with.
pub struct OpenStream {
    /// Keeps the stream running; dropping it stops the callbacks.
    pub stream: cpal::Stream,
    /// The device's shown name.
    pub device: String,
    /// The device's rate, in Hz.
    pub rate: u32,
    /// The device's channel count.
    pub channels: u16,
    /// Set by the error callback when the device failed (unplugged, server gone).
    pub failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for OpenStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStream")
            .field("device", &self.device)
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .finish()
    }
}

/// The device period: one 20 ms codec frame. 10 ms periods lost audio inside PulseAudio when
/// the machine was loaded (load 7 on 2 cores): cpal sizes PulseAudio's record buffer to one
/// period, so a capture thread late by more than a period drops audio there, unseen by us.
fn period(rate: u32) -> u32 {
    (rate / 50).max(1)
}

/// Ring size: half a second covers any device period and scheduling hiccup of the reader.
fn ring_capacity(rate: u32) -> usize {
    (rate / 2) as usize
}

fn error_callback(
    counters: Arc<StreamCounters>,
    failed: Arc<AtomicBool>,
) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| {
        counters.error();
        // An xrun is a glitch, not a lost device; everything else means the stream is dead.
        if e.kind() != cpal::ErrorKind::Xrun {
            failed.store(true, Ordering::Relaxed);
        }
    }
}

/// Expands `$build!(T)` for the sample type `T` of `$format`, or returns
/// [`StreamError::Format`] for a format this crate does not convert. One list for both
/// directions, so capture and playback always accept the same formats.
macro_rules! by_sample_format {
    ($format:expr, $name:expr, $build:ident) => {
        match $format {
            SampleFormat::F32 => $build!(f32),
            SampleFormat::I16 => $build!(i16),
            SampleFormat::I32 => $build!(i32),
            SampleFormat::U16 => $build!(u16),
            SampleFormat::U8 => $build!(u8),
            SampleFormat::F64 => $build!(f64),
            other => {
                return Err(StreamError::Format {
                    device: $name.to_string(),
                    format: other.to_string(),
                });
            }
        }
    };
}

/// Opens a capture stream on `device`. Samples arrive mono at the device rate in the
/// returned consumer.
pub fn open_capture(
    device: &cpal::Device,
    counters: Arc<StreamCounters>,
) -> Result<(OpenStream, Consumer<f32>), StreamError> {
    let supported = device.default_input_config();
    open(
        device,
        supported,
        "capture",
        |config, format, failed, name| {
            let (mut producer, consumer) = ring(ring_capacity(config.sample_rate));
            let ch = usize::from(config.channels);
            let on_error = error_callback(counters.clone(), failed.clone());
            let c = counters.clone();
            macro_rules! build {
                ($t:ty) => {
                    device.build_input_stream::<$t, _, _>(
                        config,
                        move |data: &[$t], _| capture_into(data, ch, &mut producer, &c),
                        on_error,
                        Some(BUILD_TIMEOUT),
                    )
                };
            }
            Ok(by_sample_format!(format, name, build).map(|s| (s, consumer)))
        },
    )
}

/// Opens a playback stream on `device`. Mono samples pushed into the returned producer at the
/// device rate are played on every channel.
pub fn open_playback(
    device: &cpal::Device,
    counters: Arc<StreamCounters>,
) -> Result<(OpenStream, Producer<f32>), StreamError> {
    let supported = device.default_output_config();
    open(
        device,
        supported,
        "playback",
        |config, format, failed, name| {
            let (producer, mut consumer) = ring(ring_capacity(config.sample_rate));
            let ch = usize::from(config.channels);
            let on_error = error_callback(counters.clone(), failed.clone());
            let c = counters.clone();
            let mut started = false;
            macro_rules! build {
                ($t:ty) => {
                    device.build_output_stream::<$t, _, _>(
                        config,
                        move |data: &mut [$t], _| {
                            play_from(data, ch, &mut consumer, &c, &mut started)
                        },
                        on_error,
                        Some(BUILD_TIMEOUT),
                    )
                };
            }
            Ok(by_sample_format!(format, name, build).map(|s| (s, producer)))
        },
    )
}

/// What capture and playback share: read the device's preferred configuration, then try a
/// fixed period and fall back to the device's own buffer size. `build` makes the stream for
/// one configuration and returns it with the caller's end of the ring; its outer error ends
/// the attempt (an unsupported format), its inner one tries the next buffer size.
fn open<End>(
    device: &cpal::Device,
    supported: Result<cpal::SupportedStreamConfig, cpal::Error>,
    what: &str,
    mut build: impl FnMut(
        StreamConfig,
        SampleFormat,
        &Arc<AtomicBool>,
        &str,
    ) -> Result<Result<(cpal::Stream, End), cpal::Error>, StreamError>,
) -> Result<(OpenStream, End), StreamError> {
    let name = display_name(device);
    let supported = supported.map_err(|e| StreamError::Config {
        device: name.clone(),
        reason: e.to_string(),
    })?;
    let rate = supported.sample_rate();
    let channels = supported.channels();
    let format = supported.sample_format();
    let failed = Arc::new(AtomicBool::new(false));
    let mut last_err = String::new();
    // A fixed period keeps latency bounded (PulseAudio's default record fragment is far
    // longer); some devices refuse it, so fall back to whatever the device likes.
    for buffer_size in [BufferSize::Fixed(period(rate)), BufferSize::Default] {
        let config = StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size,
        };
        match build(config, format, &failed, &name)? {
            Ok((stream, end)) => {
                stream.play().map_err(|e| StreamError::Open {
                    device: name.clone(),
                    reason: e.to_string(),
                })?;
                tracing::debug!(device = %name, rate, channels, ?format, "{what} stream open");
                return Ok((
                    OpenStream {
                        stream,
                        device: name,
                        rate,
                        channels,
                        failed,
                    },
                    end,
                ));
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    Err(StreamError::Open {
        device: name,
        reason: last_err,
    })
}
