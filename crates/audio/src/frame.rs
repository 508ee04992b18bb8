//! Where call audio comes from and goes to, whatever it is: a device, a WAV file, a test tone
//! or silence. The call code reads 20 ms frames from a [`FrameSource`] and writes them to a
//! [`FrameSink`] and never needs to know which.
//!
//! A frame is mono `f32` (full scale 1.0) of exactly [`frame_len`]`(rate)` samples.

use crate::resample::{ResampleError, frame_len};

/// What a [`FrameSource::read_frame`] call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// The frame holds new audio.
    Ready,
    /// Not enough audio yet (a device delivers at its own pace); the frame is untouched. Try
    /// again after a few milliseconds.
    Pending,
    /// The source has ended (end of a file); the frame is untouched.
    Ended,
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The frame does not hold exactly 20 ms at the source's or sink's rate.
    #[error("a frame must hold {expected} samples, this one holds {got}")]
    WrongLength {
        /// Samples in 20 ms at the rate.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// The resampler failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// A WAV file could not be read or written.
    #[error("{0}")]
    Wav(String),
    /// The device side is gone for good (its supervisor stopped).
    #[error("the audio device stream has stopped")]
    Closed,
}

/// Gives 20 ms mono frames at [`FrameSource::rate`].
pub trait FrameSource: Send {
    /// The rate of the frames, in Hz.
    fn rate(&self) -> u32;
    /// Fills `frame` (exactly [`frame_len`]`(self.rate())` samples).
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError>;
}

/// Takes 20 ms mono frames at [`FrameSink::rate`].
pub trait FrameSink: Send {
    /// The rate of the frames, in Hz.
    fn rate(&self) -> u32;
    /// Takes one frame (exactly [`frame_len`]`(self.rate())` samples).
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError>;
    /// Flushes what is buffered (a file's header, say). Writing after this is an error or
    /// ignored, depending on the sink.
    fn finish(&mut self) -> Result<(), FrameError> {
        Ok(())
    }
}

pub(crate) fn check_len(rate: u32, got: usize) -> Result<(), FrameError> {
    let expected = frame_len(rate);
    if got == expected {
        Ok(())
    } else {
        Err(FrameError::WrongLength { expected, got })
    }
}

/// Endless silence.
#[derive(Debug, Clone)]
pub struct Silence {
    rate: u32,
}

impl Silence {
    /// Silence at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self { rate }
    }
}

impl FrameSource for Silence {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        check_len(self.rate, frame.len())?;
        frame.fill(0.0);
        Ok(FrameStatus::Ready)
    }
}

/// A sink that throws frames away (a muted or absent speaker).
#[derive(Debug, Clone)]
pub struct Discard {
    rate: u32,
}

impl Discard {
    /// Discards frames of `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self { rate }
    }
}

impl FrameSink for Discard {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError> {
        check_len(self.rate, frame.len())
    }
}

/// An endless sine: the test tone in Settings, and a known signal for tests.
#[derive(Debug, Clone)]
pub struct Tone {
    rate: u32,
    step: f64,
    amplitude: f32,
    phase: f64,
}

impl Tone {
    /// A `freq` Hz sine of peak `amplitude` (1.0 = full scale) at `rate` Hz.
    pub fn new(rate: u32, freq: f64, amplitude: f32) -> Self {
        Self {
            rate,
            step: std::f64::consts::TAU * freq / f64::from(rate.max(1)),
            amplitude,
            phase: 0.0,
        }
    }
}

impl FrameSource for Tone {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        check_len(self.rate, frame.len())?;
        for s in frame.iter_mut() {
            *s = self.amplitude * self.phase.sin() as f32;
            // Wrapping keeps the phase small, so precision does not decay over a long call.
            self.phase = (self.phase + self.step) % std::f64::consts::TAU;
        }
        Ok(FrameStatus::Ready)
    }
}

/// A source that plays `samples` once and then ends (a generated signal in tests).
#[derive(Debug, Clone)]
pub struct Clip {
    rate: u32,
    samples: Vec<f32>,
    pos: usize,
}

impl Clip {
    /// Plays `samples` at `rate` Hz; the last frame is padded with silence.
    pub fn new(rate: u32, samples: Vec<f32>) -> Self {
        Self {
            rate,
            samples,
            pos: 0,
        }
    }
}

impl FrameSource for Clip {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        check_len(self.rate, frame.len())?;
        if self.pos >= self.samples.len() {
            return Ok(FrameStatus::Ended);
        }
        let end = (self.pos + frame.len()).min(self.samples.len());
        let n = end - self.pos;
        frame[..n].copy_from_slice(&self.samples[self.pos..end]);
        frame[n..].fill(0.0);
        self.pos = end;
        Ok(FrameStatus::Ready)
    }
}

/// A sink that keeps everything in memory (tests, the echo line's delay).
#[derive(Debug, Clone, Default)]
pub struct Collect {
    rate: u32,
    /// What was written, in order.
    pub samples: Vec<f32>,
}

impl Collect {
    /// Collects frames of `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            samples: Vec::new(),
        }
    }
}

impl FrameSink for Collect {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError> {
        check_len(self.rate, frame.len())?;
        self.samples.extend_from_slice(frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::measure;

    #[test]
    fn tone_has_its_level_and_keeps_phase_across_frames() {
        let mut tone = Tone::new(8000, 1000.0, 0.5);
        let mut a = [0.0; 160];
        let mut b = [0.0; 160];
        assert_eq!(tone.read_frame(&mut a).unwrap(), FrameStatus::Ready);
        tone.read_frame(&mut b).unwrap();
        // 1 kHz at 8 kHz repeats every 8 samples, across the frame boundary too.
        assert!((a[0] - b[0]).abs() < 1e-5 && (a[3] - b[3]).abs() < 1e-5);
        let r = measure(&a);
        assert!((r.peak_dbfs + 6.02).abs() < 0.05 && (r.rms_dbfs + 9.03).abs() < 0.05);
    }

    #[test]
    fn wrong_frame_length_is_refused() {
        let mut s = Silence::new(48_000);
        assert!(matches!(
            s.read_frame(&mut [0.0; 160]),
            Err(FrameError::WrongLength {
                expected: 960,
                got: 160
            })
        ));
        assert!(Discard::new(8000).write_frame(&[0.0; 160]).is_ok());
    }

    #[test]
    fn clip_pads_and_ends() {
        let mut c = Clip::new(8000, vec![1.0; 200]);
        let mut f = [0.5; 160];
        assert_eq!(c.read_frame(&mut f).unwrap(), FrameStatus::Ready);
        assert_eq!(c.read_frame(&mut f).unwrap(), FrameStatus::Ready);
        assert_eq!((f[39], f[40]), (1.0, 0.0));
        assert_eq!(c.read_frame(&mut f).unwrap(), FrameStatus::Ended);
        let mut sink = Collect::new(8000);
        sink.write_frame(&f).unwrap();
        assert_eq!(sink.samples.len(), 160);
    }
}
