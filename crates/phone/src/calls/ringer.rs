//! The ringtone: while a call rings, a ring cadence plays on the **ring device** (Settings →
//! Audio), which may differ from the call's speaker: ring on the PC speakers, talk on the
//! headset.
//!
//! The tone is synthesised (no asset to license): 440 Hz + 480 Hz, two seconds on, four off,
//! the North American ring cadence that people everywhere recognise as "a phone rings".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use homeline_audio::{AudioRoutes, FrameSink, frame_len};

const RATE: u32 = 48_000;
/// Seconds of tone and of pause in one cadence.
const ON_SECS: f64 = 2.0;
const OFF_SECS: f64 = 4.0;
const AMPLITUDE: f32 = 0.25;

/// The ring cadence as a sample generator.
#[derive(Debug, Clone)]
pub struct Cadence {
    n: u64,
}

impl Default for Cadence {
    fn default() -> Self {
        Self::new()
    }
}

impl Cadence {
    /// From the start of a ring.
    pub fn new() -> Self {
        Self { n: 0 }
    }

    /// Fills `frame` with the next samples at 48 kHz.
    pub fn fill(&mut self, frame: &mut [f32]) {
        let period = ((ON_SECS + OFF_SECS) * f64::from(RATE)) as u64;
        let on = (ON_SECS * f64::from(RATE)) as u64;
        for s in frame.iter_mut() {
            let pos = self.n % period;
            *s = if pos < on {
                let t = self.n as f64 / f64::from(RATE);
                let v = (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    + (2.0 * std::f64::consts::PI * 480.0 * t).sin();
                // A 10 ms fade at both ends: no click when the tone starts and stops.
                let fade = (pos.min(on - pos) as f64 / (0.01 * f64::from(RATE))).min(1.0);
                (v * 0.5 * fade) as f32 * AMPLITUDE
            } else {
                0.0
            };
            self.n += 1;
        }
    }
}

/// Plays the ring cadence until dropped.
#[derive(Debug)]
pub struct Ringer {
    stop: Arc<AtomicBool>,
}

impl Ringer {
    /// Starts ringing on `routes`' ring device, in a thread of its own (opening a sound device
    /// blocks). A device that cannot be opened is logged: the call still shows on screen.
    pub fn start(routes: AudioRoutes) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("homeline-ringer".into())
            .spawn(move || {
                let mut out = match routes.open_ring(RATE, None) {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(error = %e, "the ring device could not be opened");
                        return;
                    }
                };
                let mut cadence = Cadence::new();
                let mut frame = vec![0.0f32; frame_len(RATE)];
                while !flag.load(Ordering::Relaxed) {
                    while out.queued_ms() < 60 {
                        cadence.fill(&mut frame);
                        if let Err(e) = out.write_frame(&frame) {
                            tracing::debug!(error = %e, "ring frame dropped");
                            break;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the ringer");
        }
        Self { stop }
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        // The thread sees it within 10 ms and closes the device.
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_seconds_on_four_off() {
        let mut c = Cadence::new();
        let mut buf = vec![0.0f32; RATE as usize * 12];
        c.fill(&mut buf);
        let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
        let sec = RATE as usize;
        assert!(
            rms(&buf[100..sec * 2 - 1000]) > 0.1,
            "ringing in the first 2 s"
        );
        assert_eq!(rms(&buf[sec * 2 + 10..sec * 6 - 10]), 0.0, "silent 2..6 s");
        assert!(
            rms(&buf[sec * 6 + 1000..sec * 8 - 1000]) > 0.1,
            "rings again at 6 s"
        );
        assert!(
            buf.iter().all(|s| s.abs() <= AMPLITUDE),
            "never louder than intended"
        );
        // No click: the first samples fade in.
        assert!(buf[1].abs() < 0.01);
    }
}
