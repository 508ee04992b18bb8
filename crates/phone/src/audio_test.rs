//! Settings → Audio → "Test": a tone on the chosen speaker and the chosen microphone's level,
//! for a few seconds, so a person can check the headset before a call (and tell a device
//! fault from a network fault when a call has no audio).

use std::time::{Duration, Instant};

use homeline_audio::{AudioRoutes, FrameSink, FrameSource, FrameStatus, Levels, Tone, frame_len};

use crate::api::UiError;
use crate::media::LevelReading;

const RATE: u32 = 48_000;

/// What a test heard, for its caller (and the test of the test).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AudioTestSummary {
    /// The loudest microphone reading during the test, dBFS.
    pub input_peak_dbfs: f32,
    /// The tone's level, dBFS.
    pub output_dbfs: f32,
}

/// Plays a 440 Hz tone on `routes`' speaker for `duration` while measuring its microphone;
/// `on_level` gets a reading about ten times a second. Blocking: run it on a blocking thread.
pub fn run(
    routes: &AudioRoutes,
    duration: Duration,
    mut on_level: impl FnMut(LevelReading),
) -> Result<AudioTestSummary, UiError> {
    let device = |what: &str, e: String| {
        UiError::new(
            "audio_device",
            format!("The {what} could not be opened: {e}."),
            "Check that the headset is plugged in, or choose another device.",
        )
    };
    let mut speaker = routes
        .open_speaker(RATE, None)
        .map_err(|e| device("speaker", e.to_string()))?;
    let mut mic = routes
        .open_microphone(RATE, None)
        .map_err(|e| device("microphone", e.to_string()))?;
    let _ = mic.discard();
    let mut tone = Tone::new(RATE, 440.0, 0.3);
    let n = frame_len(RATE);
    let mut out = vec![0.0f32; n];
    let mut inp = vec![0.0f32; n];
    let (in_levels, out_levels) = (Levels::default(), Levels::default());
    let mut peak = -100.0f32;
    let start = Instant::now();
    let mut next_report = start;
    while start.elapsed() < duration {
        while speaker.queued_ms() < 60 {
            tone.read_frame(&mut out)
                .map_err(|e| device("speaker", e.to_string()))?;
            out_levels.update(&out);
            speaker
                .write_frame(&out)
                .map_err(|e| device("speaker", e.to_string()))?;
        }
        while let Ok(FrameStatus::Ready) = mic.read_frame(&mut inp) {
            let r = in_levels.update(&inp);
            peak = peak.max(r.rms_dbfs);
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_millis(100);
            on_level(LevelReading {
                input_dbfs: in_levels.last().rms_dbfs,
                output_dbfs: out_levels.last().rms_dbfs,
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(AudioTestSummary {
        input_peak_dbfs: peak,
        output_dbfs: out_levels.last().rms_dbfs,
    })
}
