//! Peak and RMS levels in dBFS, one reading per 20 ms frame, for the UI's meters.
//!
//! [`Levels`] keeps the last reading in atomics, so the audio path writes it and the UI thread
//! reads it with neither waiting for the other. The cost is one pass over the frame.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The floor reported for digital silence (a meter needs a number, not minus infinity).
pub const SILENCE_DBFS: f32 = -120.0;

/// Peak and RMS of one frame, in dBFS (0 dBFS = full scale sine peak / square).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelReading {
    /// Highest absolute sample, in dBFS.
    pub peak_dbfs: f32,
    /// Root mean square, in dBFS (a full-scale square wave is 0 dBFS, a sine −3 dBFS).
    pub rms_dbfs: f32,
}

/// Measures one frame.
pub fn measure(frame: &[f32]) -> LevelReading {
    if frame.is_empty() {
        return LevelReading {
            peak_dbfs: SILENCE_DBFS,
            rms_dbfs: SILENCE_DBFS,
        };
    }
    let mut peak = 0.0f32;
    let mut sum = 0.0f64;
    for &s in frame {
        peak = peak.max(s.abs());
        sum += f64::from(s) * f64::from(s);
    }
    let rms = (sum / frame.len() as f64).sqrt() as f32;
    LevelReading {
        peak_dbfs: to_dbfs(peak),
        rms_dbfs: to_dbfs(rms),
    }
}

fn to_dbfs(amplitude: f32) -> f32 {
    if amplitude <= 0.0 {
        SILENCE_DBFS
    } else {
        (20.0 * amplitude.log10()).max(SILENCE_DBFS)
    }
}

/// The last level of a stream, shared between the audio path and the UI without locks.
#[derive(Debug)]
pub struct Levels {
    peak_bits: AtomicU32,
    rms_bits: AtomicU32,
    frames: AtomicU64,
}

impl Default for Levels {
    fn default() -> Self {
        Self {
            peak_bits: AtomicU32::new(SILENCE_DBFS.to_bits()),
            rms_bits: AtomicU32::new(SILENCE_DBFS.to_bits()),
            frames: AtomicU64::new(0),
        }
    }
}

impl Levels {
    /// Measures `frame` and stores the reading.
    pub fn update(&self, frame: &[f32]) -> LevelReading {
        let r = measure(frame);
        // Relaxed is enough: a meter may show peak and RMS from neighbouring frames.
        self.peak_bits
            .store(r.peak_dbfs.to_bits(), Ordering::Relaxed);
        self.rms_bits.store(r.rms_dbfs.to_bits(), Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// The last reading.
    pub fn last(&self) -> LevelReading {
        LevelReading {
            peak_dbfs: f32::from_bits(self.peak_bits.load(Ordering::Relaxed)),
            rms_dbfs: f32::from_bits(self.rms_bits.load(Ordering::Relaxed)),
        }
    }

    /// Frames measured so far (lets the UI tell "silent" from "not running").
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_and_square() {
        let sine: Vec<f32> = (0..960)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
            .collect();
        let r = measure(&sine);
        assert!(r.peak_dbfs.abs() < 0.01, "{r:?}");
        assert!((r.rms_dbfs + 3.01).abs() < 0.02, "{r:?}");
        let square: Vec<f32> = (0..960)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let r = measure(&square);
        assert!((r.peak_dbfs + 6.02).abs() < 0.01 && (r.rms_dbfs + 6.02).abs() < 0.01);
    }

    #[test]
    fn silence_is_the_floor_and_levels_are_shared() {
        assert_eq!(measure(&[0.0; 160]).rms_dbfs, SILENCE_DBFS);
        assert_eq!(measure(&[]).peak_dbfs, SILENCE_DBFS);
        let levels = Levels::default();
        assert_eq!(levels.frames(), 0);
        levels.update(&[0.1; 160]);
        assert!((levels.last().peak_dbfs + 20.0).abs() < 0.01);
        assert_eq!(levels.frames(), 1);
    }
}
