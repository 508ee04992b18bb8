//! Helpers for the tests that use real (virtual) sound devices from scripts/with-pulse.sh.
// Test helpers: an unwrap that fails is a failed test, which is what we want.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use homeline_audio::{
    DeviceInput, DeviceOutput, FrameSink, FrameSource, FrameStatus, Resampler, frame_len,
};

/// Whether the real-device tests should run; prints why not otherwise.
pub fn real_audio(test: &str) -> bool {
    if std::env::var("HOMELINE_REAL_AUDIO").as_deref() == Ok("1") {
        true
    } else {
        println!("{test}: skipped (set HOMELINE_REAL_AUDIO=1 and run under scripts/with-pulse.sh)");
        false
    }
}

/// A linear chirp from `f0` to `f1` Hz over `secs`, with 10 ms fades so it starts cleanly.
pub fn chirp(rate: u32, f0: f64, f1: f64, secs: f64, amp: f32) -> Vec<f32> {
    let n = (f64::from(rate) * secs) as usize;
    let fade = (rate / 100) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let phase = std::f64::consts::TAU * (f0 * t + (f1 - f0) * t * t / (2.0 * secs));
            let env = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
            amp * env * phase.sin() as f32
        })
        .collect()
}

/// What [`play_and_record`] captured.
pub struct Recording {
    /// The input, at the call rate.
    pub samples: Vec<f32>,
    /// When the frame holding the signal's first sample was written to the output.
    pub signal_written: Instant,
    /// When each input frame was read: (index of its first sample, time).
    pub read_times: Vec<(usize, Instant)>,
}

impl Recording {
    /// Time from writing the signal's first sample to reading it back, given where it was
    /// found in the recording (frame granularity: within one frame plus the 5 ms poll).
    pub fn latency(&self, found_at: usize) -> Option<Duration> {
        let (_, t) = self.read_times.iter().find(|(i, _)| *i + 1 > found_at)?;
        Some(t.saturating_duration_since(self.signal_written))
    }
}

/// Plays `signal` on `out` after `lead_in` of silence (paced by its queue, kept at 40 ms)
/// while recording `input` for `total`.
pub fn play_and_record(
    out: &mut DeviceOutput,
    input: &mut DeviceInput,
    signal: &[f32],
    lead_in: Duration,
    total: Duration,
) -> Recording {
    let rate = out.rate();
    let len = frame_len(rate);
    let lead = (lead_in.as_secs_f64() * f64::from(rate)) as usize;
    let mut padded = vec![0.0; lead];
    padded.extend_from_slice(signal);
    let mut frames = padded.chunks(len);
    let mut frame = vec![0.0; len];
    let mut rec = Vec::new();
    let mut read_times = Vec::new();
    let mut signal_written = None;
    let mut written = 0;
    let mut in_frame = vec![0.0; frame_len(input.rate())];
    input.discard().unwrap();
    let start = Instant::now();
    while start.elapsed() < total {
        while out.queued_ms() < 40 {
            frame.fill(0.0);
            if let Some(chunk) = frames.next() {
                frame[..chunk.len()].copy_from_slice(chunk);
            }
            out.write_frame(&frame).unwrap();
            written += len;
            if written > lead && signal_written.is_none() {
                signal_written = Some(Instant::now());
            }
        }
        while input.read_frame(&mut in_frame).unwrap() == FrameStatus::Ready {
            read_times.push((rec.len() + in_frame.len() - 1, Instant::now()));
            rec.extend_from_slice(&in_frame);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Recording {
        samples: rec,
        signal_written: signal_written.unwrap_or(start),
        read_times,
    }
}

fn energy(s: &[f32]) -> f64 {
    s.iter().map(|v| f64::from(*v) * f64::from(*v)).sum()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// Normalised cross-correlation of `x` against `y` at `lag` (y shifted left by lag).
pub fn ncc(x: &[f32], y: &[f32], lag: usize) -> f64 {
    if lag + x.len() > y.len() {
        return 0.0;
    }
    let seg = &y[lag..lag + x.len()];
    let d = (energy(x) * energy(seg)).sqrt();
    if d == 0.0 { 0.0 } else { dot(x, seg) / d }
}

/// `s` resampled with the filter delay trimmed, so that sample positions line up.
pub fn resample_trimmed(s: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return s.to_vec();
    }
    let mut r = Resampler::new(from, to).unwrap();
    let delay = r.delay();
    r.push(s).unwrap();
    r.push(&vec![0.0; from as usize / 10]).unwrap();
    let mut out = vec![0.0; r.available()];
    r.pop(&mut out);
    out.drain(..delay.min(out.len()));
    out
}

/// Finds where `x` occurs in `y`, both at `rate` (8 kHz or 48 kHz): (lag in samples at 48 kHz,
/// normalised correlation there). Searches at 8 kHz first (cheap even in a debug build), then
/// refines at 48 kHz, so that a device path running at 48 kHz under an 8 kHz call is aligned
/// to a fraction of an 8 kHz sample (half a sample off would cost 3 kHz a 67° phase error).
pub fn locate(x: &[f32], y: &[f32], rate: u32) -> (usize, f64) {
    let (xc, yc) = (
        resample_trimmed(x, rate, 8000),
        resample_trimmed(y, rate, 8000),
    );
    let mut best = (0, f64::MIN);
    for lag in 0..yc.len().saturating_sub(xc.len()) {
        let c = ncc(&xc, &yc, lag);
        if c > best.1 {
            best = (lag, c);
        }
    }
    let (xf, yf) = (
        resample_trimmed(x, rate, 48_000),
        resample_trimmed(y, rate, 48_000),
    );
    let centre = best.0 * 6;
    let mut fine = (centre, f64::MIN);
    for lag in centre.saturating_sub(12)..=centre + 12 {
        let c = ncc(&xf, &yf, lag);
        if c > fine.1 {
            fine = (lag, c);
        }
    }
    fine
}
