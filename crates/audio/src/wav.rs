//! WAV files as a [`FrameSource`] and a [`FrameSink`], for `--play FILE.wav`,
//! `--record FILE.wav` and tests.
//!
//! A source accepts any PCM or float WAV (8–32 bit, any rate, any channel count): channels are
//! averaged to mono and the audio is resampled to the call's rate, with the resampler's delay
//! trimmed so that a file played and recorded keeps its timing. A sink writes 16-bit mono at
//! the call's rate (or a rate of the caller's choice), which every tool reads.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use crate::frame::{FrameError, FrameSink, FrameSource, FrameStatus, check_len};
use crate::resample::{Resampler, frame_len};

/// Why a WAV file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// Opening, reading or writing the file failed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong, from hound.
        reason: String,
    },
    /// The file's format cannot be played.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Resampling to the call's rate failed.
    #[error(transparent)]
    Resample(#[from] crate::resample::ResampleError),
}

impl From<WavError> for FrameError {
    fn from(e: WavError) -> Self {
        FrameError::Wav(e.to_string())
    }
}

/// Reads a whole WAV file as mono `f32` at the file's own rate.
pub fn read_mono(path: &Path) -> Result<(Vec<f32>, u32), WavError> {
    let file_err = |e: hound::Error| WavError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut reader = hound::WavReader::open(path).map_err(file_err)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(file_err)?,
        hound::SampleFormat::Int => {
            if !(1..=32).contains(&spec.bits_per_sample) {
                return Err(WavError::Format {
                    path: path.to_path_buf(),
                    reason: format!("{} bits per sample is not supported", spec.bits_per_sample),
                });
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(file_err)?
        }
    };
    let mono = interleaved
        .chunks(channels)
        .map(|f| f.iter().sum::<f32>() / f.len() as f32)
        .collect();
    Ok((mono, spec.sample_rate))
}

/// Resamples a whole clip, trimming the filter delay so sample `i` of the input lines up with
/// sample `i * to / from` of the output.
pub fn resample_clip(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, WavError> {
    if from == to {
        return Ok(samples.to_vec());
    }
    let mut r = Resampler::new(from, to)?;
    let delay = r.delay();
    let want = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    r.push(samples)?;
    // Feed silence until the tail (held back by the filter delay) has come out.
    let pad = vec![0.0; frame_len(from).max(1)];
    while r.available() < want + delay {
        r.push(&pad)?;
    }
    let mut out = vec![0.0; want + delay];
    // Cannot fail: the loop above made at least this many samples available.
    let _ = r.pop(&mut out);
    out.drain(..delay);
    Ok(out)
}

/// Plays a WAV file once, at the call's rate, read and resampled as it plays: an hour-long
/// file costs a few kilobytes and starts at once (read whole, it held 700 MB and took the
/// call's first seconds to resample). The samples are those of [`resample_clip`] of
/// [`read_mono`], the filter's delay trimmed the same way.
pub struct WavSource {
    rate: u32,
    path: PathBuf,
    reader: hound::WavReader<BufReader<File>>,
    channels: usize,
    /// Integer samples are scaled by this; `None` for float files.
    scale: Option<f32>,
    resampler: Resampler,
    /// Input frames read per step (20 ms at the file's rate).
    step: usize,
    /// The filter's delay, still to drop from the start of the output.
    skip: usize,
    /// Samples still to play at the call's rate.
    left: usize,
    len: usize,
    input: Vec<f32>,
    trash: Vec<f32>,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("len", &self.len)
            .field("left", &self.left)
            .finish()
    }
}

impl WavSource {
    /// Opens `path` and prepares it for frames of `rate` Hz.
    pub fn open(path: impl AsRef<Path>, rate: u32) -> Result<Self, WavError> {
        let path = path.as_ref().to_path_buf();
        let reader = hound::WavReader::open(&path).map_err(|e| WavError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let spec = reader.spec();
        let scale = match spec.sample_format {
            hound::SampleFormat::Float => None,
            hound::SampleFormat::Int if (1..=32).contains(&spec.bits_per_sample) => {
                Some(1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32)
            }
            hound::SampleFormat::Int => {
                return Err(WavError::Format {
                    path,
                    reason: format!("{} bits per sample is not supported", spec.bits_per_sample),
                });
            }
        };
        let resampler = Resampler::new(spec.sample_rate, rate)?;
        let len = (u64::from(reader.duration()) * u64::from(rate)
            / u64::from(spec.sample_rate.max(1))) as usize;
        let step = frame_len(spec.sample_rate).max(1);
        Ok(Self {
            rate,
            path,
            channels: usize::from(spec.channels.max(1)),
            scale,
            skip: resampler.delay(),
            resampler,
            step,
            left: len,
            len,
            reader,
            input: Vec::with_capacity(step),
            trash: Vec::new(),
        })
    }

    /// Length of the file in samples at the call's rate.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the file holds no audio.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Feeds the resampler the next 20 ms of the file (mono), or silence past its end (to
    /// flush the filter's tail).
    fn feed(&mut self) -> Result<(), WavError> {
        let file_err = |path: &Path, e: hound::Error| WavError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        self.input.clear();
        let wanted = self.step * self.channels;
        let mut frame_sum = 0.0f32;
        let mut in_frame = 0usize;
        let mut push = |v: f32, input: &mut Vec<f32>| {
            frame_sum += v;
            in_frame += 1;
            if in_frame == self.channels {
                input.push(frame_sum / self.channels as f32);
                frame_sum = 0.0;
                in_frame = 0;
            }
        };
        match self.scale {
            None => {
                for v in self.reader.samples::<f32>().take(wanted) {
                    push(v.map_err(|e| file_err(&self.path, e))?, &mut self.input);
                }
            }
            Some(scale) => {
                for v in self.reader.samples::<i32>().take(wanted) {
                    push(
                        v.map_err(|e| file_err(&self.path, e))? as f32 * scale,
                        &mut self.input,
                    );
                }
            }
        }
        // Past the end: silence pushes the filter's tail out.
        self.input.resize(self.step, 0.0);
        self.resampler.push(&self.input)?;
        Ok(())
    }
}

impl FrameSource for WavSource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read_frame(&mut self, frame: &mut [f32]) -> Result<FrameStatus, FrameError> {
        check_len(self.rate, frame.len())?;
        if self.left == 0 {
            return Ok(FrameStatus::Ended);
        }
        let n = frame.len().min(self.left);
        while self.resampler.available() < self.skip + n {
            self.feed()?;
        }
        if self.skip > 0 {
            self.trash.resize(self.skip, 0.0);
            self.resampler.pop(&mut self.trash);
            self.skip = 0;
        }
        self.resampler.pop(&mut frame[..n]);
        frame[n..].fill(0.0);
        self.left -= n;
        Ok(FrameStatus::Ready)
    }
}

/// Records call audio to a 16-bit mono WAV file.
pub struct WavSink {
    rate: u32,
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    resampler: Option<Resampler>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("rate", &self.rate)
            .field("path", &self.path)
            .finish()
    }
}

impl WavSink {
    /// Creates `path` for frames of `rate` Hz, stored at the same rate.
    pub fn create(path: impl AsRef<Path>, rate: u32) -> Result<Self, WavError> {
        Self::create_at(path, rate, rate)
    }

    /// Creates `path` for frames of `rate` Hz, stored at `file_rate` Hz.
    pub fn create_at(path: impl AsRef<Path>, rate: u32, file_rate: u32) -> Result<Self, WavError> {
        let path = path.as_ref().to_path_buf();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: file_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec).map_err(|e| WavError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let resampler = (rate != file_rate)
            .then(|| Resampler::new(rate, file_rate))
            .transpose()?;
        Ok(Self {
            rate,
            path,
            writer: Some(writer),
            resampler,
            scratch: vec![0.0; frame_len(file_rate)],
        })
    }

    fn write_samples(&mut self, samples: &[f32]) -> Result<(), FrameError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(FrameError::Closed);
        };
        for s in samples {
            // The clamp keeps the value within i16, so the cast cannot wrap.
            let v = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            writer.write_sample(v).map_err(|e| WavError::File {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

impl FrameSink for WavSink {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write_frame(&mut self, frame: &[f32]) -> Result<(), FrameError> {
        check_len(self.rate, frame.len())?;
        match self.resampler.as_mut() {
            None => self.write_samples(frame),
            Some(r) => {
                r.push(frame)?;
                let mut scratch = std::mem::take(&mut self.scratch);
                let mut result = Ok(());
                while result.is_ok() && self.resampler.as_mut().is_some_and(|r| r.pop(&mut scratch))
                {
                    result = self.write_samples(&scratch);
                }
                self.scratch = scratch;
                result
            }
        }
    }
    fn finish(&mut self) -> Result<(), FrameError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| WavError::File {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        // A recording that was not finished explicitly still gets a valid header; an error
        // here has nowhere to go (the caller who cared called finish()).
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Tone;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("homeline-audio-{}-{name}", std::process::id()))
    }

    #[test]
    fn records_and_plays_back_across_rates() {
        let path = temp("tone.wav");
        let mut tone = Tone::new(48_000, 1000.0, 0.5);
        let mut sink = WavSink::create_at(&path, 48_000, 44_100).unwrap();
        let mut frame = vec![0.0; 960];
        for _ in 0..50 {
            tone.read_frame(&mut frame).unwrap();
            sink.write_frame(&frame).unwrap();
        }
        sink.finish().unwrap();
        assert!(matches!(sink.write_frame(&frame), Err(FrameError::Closed)));
        let spec = hound::WavReader::open(&path).unwrap().spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (44_100, 1, 16)
        );

        let mut src = WavSource::open(&path, 8000).unwrap();
        // 50 frames at 48 kHz, through the 44.1 kHz file, less the recorder's filter tail.
        assert!((7_800..=8_000).contains(&src.len()), "{}", src.len());
        let mut f = vec![0.0; 160];
        let mut all = Vec::new();
        while src.read_frame(&mut f).unwrap() == FrameStatus::Ready {
            all.extend_from_slice(&f);
        }
        let mid = &all[2000..6000];
        let r = crate::level::measure(mid);
        assert!((r.rms_dbfs + 9.03).abs() < 0.2, "{r:?}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn stereo_float_file_is_mixed_to_mono() {
        let path = temp("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..160 {
            w.write_sample(0.5f32).unwrap();
            w.write_sample(0.0f32).unwrap();
        }
        w.finalize().unwrap();
        let mut src = WavSource::open(&path, 8000).unwrap();
        let mut f = vec![0.0; 160];
        assert_eq!(src.read_frame(&mut f).unwrap(), FrameStatus::Ready);
        assert!(f.iter().all(|s| (*s - 0.25).abs() < 1e-6));
        assert_eq!(src.read_frame(&mut f).unwrap(), FrameStatus::Ended);
        std::fs::remove_file(&path).ok();
        let missing = WavSource::open(temp("missing.wav"), 8000).unwrap_err();
        assert!(missing.to_string().contains("missing.wav"), "{missing}");
    }

    /// Read as it plays, a file gives the very samples it gives read whole: 16-bit stereo at
    /// 44.1 kHz to 48 kHz, and a rate that needs no resampling, to the last frame.
    #[test]
    fn streamed_playback_is_the_whole_file_resampled() {
        let path = temp("stream.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        // 2.5 s of a sweep with a different tone on each channel; not a whole number of frames.
        let n = 110_250 + 77;
        for i in 0..n {
            let t = i as f32 / 44_100.0;
            let l = (2.0 * std::f32::consts::PI * (300.0 + 400.0 * t) * t).sin();
            let r = (2.0 * std::f32::consts::PI * 1700.0 * t).sin();
            w.write_sample((l * 12_000.0) as i16).unwrap();
            w.write_sample((r * 9_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
        for rate in [48_000, 44_100] {
            let (mono, file_rate) = read_mono(&path).unwrap();
            let whole = resample_clip(&mono, file_rate, rate).unwrap();
            let mut src = WavSource::open(&path, rate).unwrap();
            assert_eq!(src.len(), whole.len());
            let mut f = vec![0.0; frame_len(rate)];
            let mut streamed = Vec::new();
            while src.read_frame(&mut f).unwrap() == FrameStatus::Ready {
                streamed.extend_from_slice(&f);
            }
            // The last frame is padded with silence, as a clip's is.
            assert_eq!(streamed.len(), whole.len().div_ceil(f.len()) * f.len());
            assert!(streamed[whole.len()..].iter().all(|s| *s == 0.0));
            let worst = whole
                .iter()
                .zip(&streamed)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "at {rate} Hz: off by {worst}");
        }
        std::fs::remove_file(&path).ok();
    }
}
