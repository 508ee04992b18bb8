//! Where a call's audio comes from and goes to: the sound devices chosen in Settings, WAV
//! files (`--play`/`--record`), the echo line's delay loop, or silence.
//!
//! Two kinds of ends, because they keep time differently:
//! - **device** ends run on the sound card's clock: the stream reads every frame the
//!   microphone has ready and keeps about [`DEVICE_QUEUE_MS`] queued for the speaker;
//! - **paced** ends (files, echo, silence) have no clock of their own: the stream reads and
//!   writes one 20 ms frame per 20 ms of wall-clock time.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use homeline_audio::{
    AudioRoutes, DeviceEvent, DeviceInput, DeviceOutput, Discard, FrameError, FrameSink,
    FrameSource, FrameStatus, Silence, WavSink, WavSource, frame_len,
};

use crate::api::UiError;

/// Audio kept queued for a playback device: less risks underruns, more adds delay.
pub const DEVICE_QUEUE_MS: u32 = 40;

/// What a call should use for audio.
#[derive(Debug, Clone)]
pub enum AudioPlan {
    /// The microphone and speaker chosen in Settings (the app's calls).
    Devices(AudioRoutes),
    /// Files: play one as our voice (then silence), record what we hear. `None` = silence /
    /// discard.
    Files {
        /// WAV file sent as our audio.
        play: Option<PathBuf>,
        /// WAV file that receives the other side's audio.
        record: Option<PathBuf>,
    },
    /// Send back what we receive, `delay` later (the echo line's far end, `answer --echo`).
    Echo {
        /// How long after hearing it the audio goes back.
        delay: Duration,
    },
    /// Send silence, discard what arrives (signalling tests, a call with no audio wanted).
    Silence,
}

/// Where captured audio comes from.
pub enum Capture {
    /// A microphone (paced by the sound card). Boxed: it is large and there is one per call.
    Device(Box<DeviceInput>),
    /// Anything else, read one frame per 20 ms.
    Paced(Box<dyn FrameSource>),
}

/// Where received audio goes.
pub enum Playback {
    /// A speaker or headset (paced by the sound card). Boxed like [`Capture::Device`].
    Device(Box<DeviceOutput>),
    /// Anything else, written one frame per 20 ms.
    Paced(Box<dyn FrameSink>),
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capture::Device(d) => write!(f, "Capture::Device({:?})", d.device()),
            Capture::Paced(_) => f.write_str("Capture::Paced"),
        }
    }
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Playback::Device(d) => write!(f, "Playback::Device({:?})", d.device()),
            Playback::Paced(_) => f.write_str("Playback::Paced"),
        }
    }
}

/// Opened audio ends, at one rate (the codec's).
#[derive(Debug)]
pub struct AudioEnds {
    /// Our voice.
    pub capture: Capture,
    /// The other side's voice.
    pub playback: Playback,
    /// Audio buffering of the devices, for the E-model's delay estimate (0 for files).
    pub device_ms: f64,
}

/// Opens the ends of `plan` for frames of `rate` Hz. Blocking (sound devices take a moment to
/// open): call it from `spawn_blocking`.
pub fn open(
    plan: &AudioPlan,
    rate: u32,
    device_events: std::sync::mpsc::Sender<DeviceEvent>,
) -> Result<AudioEnds, UiError> {
    match plan {
        AudioPlan::Devices(routes) => {
            let mut mic = routes
                .open_microphone(rate, Some(device_events.clone()))
                .map_err(|e| device_error("microphone", &e.to_string()))?;
            // The far end must not hear what was said before the call.
            let _ = mic.discard();
            let speaker = routes
                .open_speaker(rate, Some(device_events))
                .map_err(|e| device_error("speaker", &e.to_string()))?;
            Ok(AudioEnds {
                capture: Capture::Device(Box::new(mic)),
                playback: Playback::Device(Box::new(speaker)),
                device_ms: f64::from(DEVICE_QUEUE_MS) + 20.0,
            })
        }
        AudioPlan::Files { play, record } => {
            let capture: Box<dyn FrameSource> = match play {
                Some(p) => Box::new(Endless(
                    WavSource::open(p, rate).map_err(|e| file_error(p, &e.to_string()))?,
                )),
                None => Box::new(Silence::new(rate)),
            };
            let playback: Box<dyn FrameSink> = match record {
                Some(p) => {
                    Box::new(WavSink::create(p, rate).map_err(|e| file_error(p, &e.to_string()))?)
                }
                None => Box::new(Discard::new(rate)),
            };
            Ok(AudioEnds {
                capture: Capture::Paced(capture),
                playback: Playback::Paced(playback),
                device_ms: 0.0,
            })
        }
        AudioPlan::Echo { delay } => {
            let (source, sink) = echo_loop(rate, *delay);
            Ok(AudioEnds {
                capture: Capture::Paced(Box::new(source)),
                playback: Playback::Paced(Box::new(sink)),
                device_ms: 0.0,
            })
        }
        AudioPlan::Silence => Ok(AudioEnds {
            capture: Capture::Paced(Box::new(Silence::new(rate))),
            playback: Playback::Paced(Box::new(Discard::new(rate))),
            device_ms: 0.0,
        }),
    }
}

fn device_error(what: &str, detail: &str) -> UiError {
    UiError::new(
        "audio_device",
        format!("The {what} could not be opened: {detail}."),
        "Check that the headset is plugged in, or choose another device in Settings → Audio.",
    )
}

fn file_error(path: &std::path::Path, detail: &str) -> UiError {
    UiError::new(
        "audio_file",
        format!("{}: {detail}.", path.display()),
        "Give a 16-bit PCM or float WAV file that exists, and a folder you can write to.",
    )
}

/// A file that plays once and then gives silence, so the call goes on after it ends.
struct Endless<S>(S);

impl<S: FrameSource> FrameSource for Endless<S> {
    fn rate(&self) -> u32 {
        self.0.rate()
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        match self.0.read_frame(frame)? {
            FrameStatus::Ended => {
                frame.fill(0.0);
                Ok(FrameStatus::Ready)
            }
            s => Ok(s),
        }
    }
}

type Shared = Arc<Mutex<VecDeque<f32>>>;

/// The echo line's loop: what the sink receives, the source gives back `delay` later.
pub fn echo_loop(rate: u32, delay: Duration) -> (EchoSource, EchoSink) {
    let buf: Shared = Arc::new(Mutex::new(VecDeque::new()));
    let delay_samples =
        usize::try_from(u128::from(rate) * delay.as_millis() / 1000).unwrap_or(usize::MAX);
    (
        EchoSource {
            rate,
            buf: buf.clone(),
            delay_samples,
            primed: false,
        },
        EchoSink { rate, buf },
    )
}

/// The sending half of [`echo_loop`].
#[derive(Debug)]
pub struct EchoSource {
    rate: u32,
    buf: Shared,
    delay_samples: usize,
    primed: bool,
}

/// The receiving half of [`echo_loop`].
#[derive(Debug)]
pub struct EchoSink {
    rate: u32,
    buf: Shared,
}

/// At most this much audio waits in the loop (a stalled reader must not grow memory).
const ECHO_CAP_SECS: usize = 5;

impl FrameSource for EchoSource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        let mut buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        // Silence until `delay` of audio has been heard, then a steady delay line.
        if !self.primed && buf.len() >= self.delay_samples + frame.len() {
            self.primed = true;
        }
        if self.primed && buf.len() >= frame.len() {
            let n = frame.len();
            for (o, s) in frame.iter_mut().zip(buf.drain(..n)) {
                *o = s;
            }
        } else {
            frame.fill(0.0);
        }
        Ok(FrameStatus::Ready)
    }
}

impl FrameSink for EchoSink {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError> {
        let mut buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        buf.extend(frame.iter().copied());
        let cap = ECHO_CAP_SECS * frame_len(self.rate) * 50;
        if buf.len() > cap {
            let extra = buf.len() - cap;
            buf.drain(..extra);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_loop_returns_audio_after_the_delay() {
        let (mut src, mut sink) = echo_loop(8000, Duration::from_millis(100));
        let n = frame_len(8000);
        let mut out = vec![0.0f32; n];
        // Frame k carries the value k; the source must give silence for the first 100 ms
        // (5 frames) and then frame 0, 1, 2 … in order.
        let mut heard = Vec::new();
        for k in 0..20 {
            sink.write_frame(&vec![k as f32 + 1.0; n]).unwrap();
            assert_eq!(src.read_frame(&mut out).unwrap(), FrameStatus::Ready);
            heard.push(out[0]);
        }
        let first = heard.iter().position(|v| *v != 0.0).unwrap();
        assert_eq!(first, 5, "{heard:?}");
        assert_eq!(heard[first..first + 5], [1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn echo_loop_is_bounded() {
        let (_src, mut sink) = echo_loop(8000, Duration::from_millis(100));
        let n = frame_len(8000);
        for _ in 0..1000 {
            sink.write_frame(&vec![0.5; n]).unwrap();
        }
        assert!(sink.buf.lock().unwrap().len() <= ECHO_CAP_SECS * 8000);
    }

    #[test]
    fn a_missing_file_is_a_plain_error() {
        let (tx, _rx) = std::sync::mpsc::channel();
        let e = open(
            &AudioPlan::Files {
                play: Some("/nonexistent/in.wav".into()),
                record: None,
            },
            8000,
            tx,
        )
        .unwrap_err();
        assert_eq!(e.code, "audio_file");
        assert!(e.message.contains("/nonexistent/in.wav"), "{}", e.message);
    }
}
