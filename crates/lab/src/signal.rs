//! Measuring audio that went through a call: a known test signal, WAV files,
//! and a comparison of what was received with what was sent.
//!
//! The test signal ([`Audio::test_signal`]) is speech-like: "syllables" of a
//! harmonic voice (pitch 100-250 Hz gliding, harmonics shaped by two random
//! formants, all below 3.4 kHz) with raised-cosine envelopes, separated by
//! pauses of random length. It survives G.711 and Opus, its irregular
//! envelope has one unambiguous alignment, and the same seed gives the same
//! signal at any sample rate (it is synthesised, not resampled), so an 8 kHz
//! and a 48 kHz file of it can be compared with each other.
//!
//! [`compare`] brings both signals to an 8 kHz analysis rate (band-limited
//! resampling), finds the delay on 2 ms envelopes (robust to the phase
//! changes of a codec) over ±[`MAX_DELAY_MS`], refines it on the waveform
//! to one 8 kHz sample, and measures the aligned overlap:
//!
//! [`compare_utterances`] aligns each utterance of the reference on its own, for audio whose
//! delay moves during the call (an adaptive jitter buffer adjusting in the pauses).
//!
//! ```no_run
//! use std::time::Duration;
//! use homeline_lab::signal::{Audio, compare};
//!
//! # fn main() -> Result<(), homeline_lab::LabError> {
//! let sent = Audio::test_signal(48_000, Duration::from_secs(4), 1);
//! sent.write_wav("in.wav".as_ref())?;
//! // … play in.wav through a call, the far end records out.wav …
//! let got = Audio::read_wav("out.wav".as_ref())?;
//! let c = compare(&sent, &got);
//! assert!(c.correlation > 0.9 && c.fraction_silent < 0.05, "{c}");
//! # Ok(()) }
//! ```

use std::f64::consts::PI;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What can go wrong reading or writing a WAV file.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The file could not be read or written, or is not a WAV file.
    #[error("WAV file {}: {detail}", path.display())]
    Wav {
        /// Which file.
        path: PathBuf,
        /// What went wrong (from hound).
        detail: String,
    },
}

/// The rate [`compare`] analyses at: all telephony codecs keep 0-3.4 kHz.
pub const ANALYSIS_RATE: u32 = 8_000;
/// The largest delay (either sign) [`compare`] searches, in milliseconds.
pub const MAX_DELAY_MS: u32 = 2_000;

/// Mono audio as floats in -1..1 at `rate` samples per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second.
    pub rate: u32,
    /// The samples, -1.0..1.0.
    pub samples: Vec<f32>,
}

impl Audio {
    /// `duration` of digital silence.
    pub fn silence(rate: u32, duration: Duration) -> Audio {
        Audio {
            rate,
            samples: vec![0.0; samples_for(rate, duration)],
        }
    }

    /// Deterministic white noise at `level_db` dBFS RMS.
    pub fn noise(rate: u32, duration: Duration, level_db: f64, seed: u64) -> Audio {
        let mut rng = SplitMix(seed);
        // Uniform noise in -a..a has RMS a/√3.
        let a = 10f64.powf(level_db / 20.0) * 3f64.sqrt();
        let samples = (0..samples_for(rate, duration))
            .map(|_| ((rng.unit() * 2.0 - 1.0) * a) as f32)
            .collect();
        Audio { rate, samples }
    }

    /// The speech-like test signal (see the module docs): the same `seed`
    /// gives the same continuous signal at every `rate` ≥ 8000. Syllables are
    /// about -14 dBFS RMS at their loudest (the whole, with pauses, about
    /// -20 dBFS), peaks stay below -1 dBFS; it starts with a syllable.
    pub fn test_signal(rate: u32, duration: Duration, seed: u64) -> Audio {
        let n = samples_for(rate, duration);
        let mut out = vec![0f64; n];
        let mut rng = SplitMix(seed ^ 0x5EED_0F70_4E5E);
        let total = n as f64 / f64::from(rate);
        let mut t0 = 0.0;
        while t0 < total {
            let len = 0.08 + 0.22 * rng.unit();
            let f0_start = 100.0 + 150.0 * rng.unit();
            let f0_end = f0_start * (0.8 + 0.4 * rng.unit());
            let formants = [300.0 + 600.0 * rng.unit(), 1000.0 + 1600.0 * rng.unit()];
            let gain = 0.6 + 0.4 * rng.unit();
            let harmonics = (3400.0 / f0_start.max(f0_end)).floor() as usize;
            let phases: Vec<f64> = (0..harmonics).map(|_| 2.0 * PI * rng.unit()).collect();
            let amps: Vec<f64> = (1..=harmonics)
                .map(|k| {
                    let f = k as f64 * (f0_start + f0_end) / 2.0;
                    formants
                        .iter()
                        .map(|&fc| 1.0 / (1.0 + ((f - fc) / 250.0).powi(2)))
                        .sum::<f64>()
                        / (k as f64).sqrt()
                })
                .collect();
            // Unit RMS for the harmonic sum (random phases).
            let norm = (amps.iter().map(|a| a * a).sum::<f64>() / 2.0).sqrt();
            let first = (t0 * f64::from(rate)).ceil() as usize;
            let last = (((t0 + len) * f64::from(rate)) as usize).min(n);
            for (i, slot) in out.iter_mut().enumerate().take(last).skip(first) {
                let t = i as f64 / f64::from(rate) - t0;
                let x = t / len;
                // Raised-cosine envelope; the glide integrates to a phase.
                let env = 0.5 - 0.5 * (2.0 * PI * x).cos();
                let phase = 2.0 * PI * (f0_start * t + (f0_end - f0_start) * t * x / 2.0);
                let mut v = 0.0;
                for (k, (a, p)) in amps.iter().zip(&phases).enumerate() {
                    v += a * (phase * (k + 1) as f64 + p).sin();
                }
                *slot += 0.2 * gain * env * v / norm;
            }
            t0 += len + 0.03 + 0.22 * rng.unit();
        }
        // Keep the rare phase-aligned peaks below -1 dBFS.
        let peak = out.iter().fold(0f64, |m, v| m.max(v.abs()));
        let scale = if peak > 0.89 { 0.89 / peak } else { 1.0 };
        Audio {
            rate,
            samples: out.into_iter().map(|v| (v * scale) as f32).collect(),
        }
    }

    /// Reads a WAV file (8/16/24/32-bit integer or float), mixing channels
    /// down to mono.
    pub fn read_wav(path: &Path) -> Result<Audio, SignalError> {
        let err = |e: hound::Error| SignalError::Wav {
            path: path.to_owned(),
            detail: e.to_string(),
        };
        let mut reader = hound::WavReader::open(path).map_err(err)?;
        let spec = reader.spec();
        let channels = usize::from(spec.channels.max(1));
        let interleaved: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(err)?,
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
                reader
                    .samples::<i32>()
                    .map(|s| s.map(|v| v as f32 * scale))
                    .collect::<Result<_, _>>()
                    .map_err(err)?
            }
        };
        let samples = interleaved
            .chunks(channels)
            .map(|c| c.iter().sum::<f32>() / channels as f32)
            .collect();
        Ok(Audio {
            rate: spec.sample_rate,
            samples,
        })
    }

    /// Writes 16-bit mono PCM (what baresip's `aufile` source needs),
    /// creating parent folders.
    pub fn write_wav(&self, path: &Path) -> Result<(), SignalError> {
        let err = |detail: String| SignalError::Wav {
            path: path.to_owned(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).map_err(|e| err(e.to_string()))?;
        for &s in &self.samples {
            let v = (f64::from(s) * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
            w.write_sample(v).map_err(|e| err(e.to_string()))?;
        }
        w.finalize().map_err(|e| err(e.to_string()))
    }

    /// How long it lasts.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.rate.max(1)))
    }

    /// RMS level in dBFS (a full-scale sine is -3 dBFS); `-inf` for silence.
    pub fn rms_db(&self) -> f64 {
        db(energy(&self.samples) / self.samples.len().max(1) as f64)
    }

    /// The same audio at another rate (windowed-sinc, band-limited to the
    /// lower Nyquist frequency).
    pub fn resampled(&self, rate: u32) -> Audio {
        Audio {
            rate,
            samples: resample(&self.samples, self.rate, rate),
        }
    }

    /// The same audio `ms` later (leading silence), or earlier (cut) when
    /// negative.
    pub fn delayed(&self, ms: f64) -> Audio {
        let n = (ms.abs() * f64::from(self.rate) / 1000.0).round() as usize;
        let samples = if ms >= 0.0 {
            let mut v = vec![0.0; n];
            v.extend_from_slice(&self.samples);
            v
        } else {
            self.samples.get(n..).unwrap_or_default().to_vec()
        };
        Audio {
            rate: self.rate,
            samples,
        }
    }
}

fn samples_for(rate: u32, duration: Duration) -> usize {
    (duration.as_secs_f64() * f64::from(rate)).round() as usize
}

/// What [`compare`] measured. Delays are positive when the received audio
/// lags the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// How much later the reference appears in the received audio, in ms
    /// (resolution 0.125 ms); `None` when the received audio is silent or
    /// nothing aligns within ±[`MAX_DELAY_MS`].
    pub delay_ms: Option<f64>,
    /// Peak normalised cross-correlation of the aligned 8 kHz waveforms over
    /// their overlap, 0..1 (1 = same waveform up to a gain). Waveform codecs
    /// (G.711) keep it near 1; Opus changes phases and lowers it.
    pub correlation: f64,
    /// Pearson correlation of the aligned 2 ms RMS envelopes, 0..1: whether
    /// the syllables are there at the right times, whatever the codec did to
    /// the waveform.
    pub envelope_correlation: f64,
    /// Signal-to-noise ratio after the best gain, dB: received = g·reference
    /// + noise, over the overlap.
    pub snr_db: f64,
    /// Received level relative to the reference over the overlap, dB.
    pub rms_ratio_db: f64,
    /// Fraction of the reference's active 20 ms frames (within 35 dB of its
    /// loudest) whose received frame is more than 40 dB quieter: dropouts.
    /// 1.0 for silence.
    pub fraction_silent: f64,
    /// Fraction of the reference's active frames that the aligned received
    /// audio covers at all (a short recording covers less).
    pub coverage: f64,
}

impl Comparison {
    /// Whether nothing usable was received (no alignment, all silent).
    pub fn is_silent(&self) -> bool {
        self.delay_ms.is_none() || self.fraction_silent >= 0.99
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.delay_ms {
            Some(d) => write!(f, "delay {d:.1} ms")?,
            None => write!(f, "delay none")?,
        }
        write!(
            f,
            ", correlation {:.3}, envelope {:.3}, snr {:.1} dB, level {:+.1} dB, \
             silent {:.1} %, coverage {:.1} %",
            self.correlation,
            self.envelope_correlation,
            self.snr_db,
            self.rms_ratio_db,
            self.fraction_silent * 100.0,
            self.coverage * 100.0
        )
    }
}

/// Compares `received` with `reference` (any rates, mono): finds the delay
/// and measures the aligned overlap. See the module docs for the method.
pub fn compare(reference: &Audio, received: &Audio) -> Comparison {
    let x = resample(&reference.samples, reference.rate, ANALYSIS_RATE);
    let y = resample(&received.samples, received.rate, ANALYSIS_RATE);
    let ex = envelope(&x);
    let ey = envelope(&y);
    let silent_rx = ey.iter().all(|&e| e < 1e-5);
    let coarse = if silent_rx || ex.iter().all(|&e| e < 1e-5) {
        None
    } else {
        best_envelope_lag(&ex, &ey)
    };
    let Some(coarse) = coarse else {
        return measure(&x, &y, 0, None, &ex, &ey);
    };
    // Refine on the waveform around the envelope's answer; keep the
    // envelope's lag if the waveform does not correlate (a codec that
    // rebuilds the signal rather than the waveform).
    let centre = coarse * ENV_FRAME as isize;
    let mut best = (centre, f64::MIN);
    for lag in centre - 2 * ENV_FRAME as isize..=centre + 2 * ENV_FRAME as isize {
        let c = ncc(&x, &y, lag);
        if c > best.1 {
            best = (lag, c);
        }
    }
    let lag = if best.1 > 0.3 { best.0 } else { centre };
    measure(&x, &y, lag, Some(lag), &ex, &ey)
}

/// The parts of `reference` and `received` that overlap once `received`
/// is shifted back by `delay_ms` (from [`Comparison::delay_ms`]), each at
/// its own rate: what to hand to a full-reference score such as PESQ, so
/// that audio lost before the call's media started (or after it ended) is
/// not counted as distortion.
pub fn aligned(reference: &Audio, received: &Audio, delay_ms: f64) -> (Audio, Audio) {
    let secs = |a: &Audio| a.samples.len() as f64 / f64::from(a.rate.max(1));
    let d = delay_ms / 1000.0;
    // Overlap in reference time: [start, end).
    let start = (-d).max(0.0);
    let end = secs(reference).min(secs(received) - d);
    let cut = |a: &Audio, from: f64, to: f64| {
        let r = f64::from(a.rate);
        let i = ((from * r).round().max(0.0) as usize).min(a.samples.len());
        let j = ((to * r).round().max(0.0) as usize).clamp(i, a.samples.len());
        Audio {
            rate: a.rate,
            samples: a.samples[i..j].to_vec(),
        }
    };
    if end <= start {
        return (cut(reference, 0.0, 0.0), cut(received, 0.0, 0.0));
    }
    (
        cut(reference, start, end),
        cut(received, start + d, end + d),
    )
}

/// What [`compare_utterances`] measured: each utterance (a run of active 20 ms frames of the
/// reference, at least 40 ms long) aligned on its own. An adaptive jitter buffer moves its
/// delay in the pauses between words; [`compare`], with one delay for the whole, counts that
/// as distortion, this does not, and it shows how far the delay moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterances {
    /// Utterances of the reference that the received audio covers.
    pub count: usize,
    /// Energy-weighted mean of their waveform correlations, 0..1.
    pub mean_correlation: f64,
    /// The worst utterance's correlation, 0..1.
    pub min_correlation: f64,
    /// Energy-weighted mean of their SNRs after each one's best gain (each clamped to
    /// -20..60 dB).
    pub snr_db: f64,
    /// Smallest and largest delay of an utterance, ms (positive: received lags).
    pub delay_min_ms: f64,
    /// See `delay_min_ms`.
    pub delay_max_ms: f64,
}

impl fmt::Display for Utterances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} utterances, correlation mean {:.3} min {:.3}, snr {:.1} dB, delay {:.1}..{:.1} ms",
            self.count,
            self.mean_correlation,
            self.min_correlation,
            self.snr_db,
            self.delay_min_ms,
            self.delay_max_ms
        )
    }
}

/// Compares `received` with `reference` utterance by utterance: each is searched within
/// `max_shift_ms` of the delay [`compare`] finds for the whole; utterances that the received
/// audio does not cover at that delay are left out. Nothing received (no delay found) gives
/// `count` 0 and correlations 0.
pub fn compare_utterances(reference: &Audio, received: &Audio, max_shift_ms: f64) -> Utterances {
    let empty = Utterances {
        count: 0,
        mean_correlation: 0.0,
        min_correlation: 0.0,
        snr_db: f64::NEG_INFINITY,
        delay_min_ms: 0.0,
        delay_max_ms: 0.0,
    };
    let Some(delay) = compare(reference, received).delay_ms else {
        return empty;
    };
    let x = resample(&reference.samples, reference.rate, ANALYSIS_RATE);
    let y = resample(&received.samples, received.rate, ANALYSIS_RATE);
    let per_ms = f64::from(ANALYSIS_RATE) / 1000.0;
    let centre = (delay * per_ms).round() as isize;
    let shift = (max_shift_ms.max(0.0) * per_ms).round() as isize;
    let frame_rms = |s: &[f32]| (energy(s) / s.len().max(1) as f64).sqrt();
    let frames: Vec<f64> = x.chunks(LEVEL_FRAME).map(frame_rms).collect();
    let floor = frames.iter().copied().fold(0.0, f64::max) * 10f64.powf(-35.0 / 20.0);
    // Runs of active frames, at least two long.
    let mut spans = Vec::new();
    let mut start = None;
    for (k, &r) in frames.iter().chain([0.0].iter()).enumerate() {
        match (r > floor && r > 0.0, start) {
            (true, None) => start = Some(k),
            (false, Some(s)) => {
                if k - s >= 2 {
                    spans.push((s * LEVEL_FRAME, (k * LEVEL_FRAME).min(x.len())));
                }
                start = None;
            }
            _ => {}
        }
    }
    let (mut count, mut weight, mut corr_sum, mut snr_sum) = (0usize, 0.0, 0.0, 0.0);
    let (mut min_corr, mut dmin, mut dmax) = (f64::MAX, f64::MAX, f64::MIN);
    for (a, b) in spans {
        // Only what the received audio covers at the overall delay (a recording that ends
        // mid-utterance would otherwise match its stub anywhere).
        if a as isize + centre < 0 || b as isize + centre > y.len() as isize {
            continue;
        }
        let xs = &x[a..b];
        let sxx = energy(xs);
        let mut best: Option<(isize, f64, f64, f64)> = None;
        for lag in centre - shift..=centre + shift {
            let (Ok(from), Ok(to)) = (
                usize::try_from(a as isize + lag),
                usize::try_from(b as isize + lag),
            ) else {
                continue;
            };
            let Some(ys) = y.get(from..to) else {
                continue;
            };
            let (mut syy, mut sxy) = (0.0, 0.0);
            for (&p, &q) in xs.iter().zip(ys) {
                syy += f64::from(q) * f64::from(q);
                sxy += f64::from(p) * f64::from(q);
            }
            let c = if syy > 0.0 && sxx > 0.0 {
                sxy / (sxx * syy).sqrt()
            } else {
                0.0
            };
            if best.is_none_or(|(_, bc, _, _)| c > bc) {
                best = Some((lag, c, syy, sxy));
            }
        }
        let Some((lag, c, syy, sxy)) = best else {
            continue;
        };
        let g = sxy / sxx;
        let noise = (syy - 2.0 * g * sxy + g * g * sxx).max(sxx * 1e-12);
        let snr = if c > 0.0 {
            db(g * g * sxx / noise).clamp(-20.0, 60.0)
        } else {
            -20.0
        };
        let c = c.max(0.0);
        let d = lag as f64 / per_ms;
        count += 1;
        weight += sxx;
        corr_sum += c * sxx;
        snr_sum += snr * sxx;
        min_corr = min_corr.min(c);
        dmin = dmin.min(d);
        dmax = dmax.max(d);
    }
    if count == 0 || weight <= 0.0 {
        return empty;
    }
    Utterances {
        count,
        mean_correlation: corr_sum / weight,
        min_correlation: min_corr,
        snr_db: snr_sum / weight,
        delay_min_ms: dmin,
        delay_max_ms: dmax,
    }
}

/// Reads both files and [`compare`]s them.
pub fn compare_files(reference: &Path, received: &Path) -> Result<Comparison, SignalError> {
    Ok(compare(
        &Audio::read_wav(reference)?,
        &Audio::read_wav(received)?,
    ))
}

/// Samples per envelope frame at the analysis rate (2 ms).
const ENV_FRAME: usize = 16;
/// Samples per level frame at the analysis rate (20 ms).
const LEVEL_FRAME: usize = 160;

fn envelope(x: &[f32]) -> Vec<f64> {
    x.chunks(ENV_FRAME)
        .map(|c| (energy(c) / c.len() as f64).sqrt())
        .collect()
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

fn db(power_ratio: f64) -> f64 {
    10.0 * power_ratio.log10()
}

/// The overlap of `x[i]` with `y[i + lag]`: the range of `i`.
fn overlap(nx: usize, ny: usize, lag: isize) -> std::ops::Range<usize> {
    let start = if lag < 0 { lag.unsigned_abs() } else { 0 };
    let end = (ny as isize - lag).clamp(0, nx as isize) as usize;
    start..end.max(start)
}

/// Pearson correlation of `x[i]` and `y[i + lag]` over their overlap.
fn pearson(x: &[f64], y: &[f64], lag: isize) -> f64 {
    let r = overlap(x.len(), y.len(), lag);
    let n = r.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in r {
        let a = x[i];
        let b = y[(i as isize + lag) as usize];
        sx += a;
        sy += b;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    let cov = sxy - sx * sy / n;
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    if vx <= 1e-12 || vy <= 1e-12 {
        0.0
    } else {
        cov / (vx * vy).sqrt()
    }
}

/// Normalised cross-correlation (no mean removal) of `x[i]`, `y[i + lag]`.
fn ncc(x: &[f32], y: &[f32], lag: isize) -> f64 {
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in overlap(x.len(), y.len(), lag) {
        let a = f64::from(x[i]);
        let b = f64::from(y[(i as isize + lag) as usize]);
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// The envelope lag (frames) with the highest Pearson correlation, among
/// lags whose overlap holds at least half of the shorter signal's energy
/// frames (so a tiny overlap cannot win by chance).
fn best_envelope_lag(ex: &[f64], ey: &[f64]) -> Option<isize> {
    let max = (MAX_DELAY_MS * ANALYSIS_RATE / 1000) as isize / ENV_FRAME as isize;
    let min_overlap = ex.len().min(ey.len()) / 2;
    let mut best: Option<(isize, f64)> = None;
    for lag in -max..=max {
        if overlap(ex.len(), ey.len(), lag).len() < min_overlap.max(2) {
            continue;
        }
        let c = pearson(ex, ey, lag);
        if best.is_none_or(|(_, b)| c > b) {
            best = Some((lag, c));
        }
    }
    best.filter(|&(_, c)| c > 0.0).map(|(lag, _)| lag)
}

fn measure(
    x: &[f32],
    y: &[f32],
    lag: isize,
    delay: Option<isize>,
    ex: &[f64],
    ey: &[f64],
) -> Comparison {
    let range = overlap(x.len(), y.len(), lag);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in range.clone() {
        let a = f64::from(x[i]);
        let b = f64::from(y[(i as isize + lag) as usize]);
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    let correlation = if sxx > 0.0 && syy > 0.0 {
        (sxy / (sxx * syy).sqrt()).max(0.0)
    } else {
        0.0
    };
    let snr_db = if sxx > 0.0 {
        let g = sxy / sxx;
        let signal = g * g * sxx;
        let noise = (syy - 2.0 * g * sxy + g * g * sxx).max(0.0);
        if noise <= signal * 1e-10 {
            100.0
        } else {
            db(signal / noise)
        }
    } else {
        f64::NEG_INFINITY
    };
    let rms_ratio_db = db(syy / sxx);
    let env_lag = if lag >= 0 {
        lag / ENV_FRAME as isize
    } else {
        -((-lag) / ENV_FRAME as isize)
    };
    let envelope_correlation = if delay.is_some() {
        pearson(ex, ey, env_lag).max(0.0)
    } else {
        0.0
    };

    // Level frames of the reference, and which of them the received covers.
    let frame_rms = |s: &[f32]| (energy(s) / s.len().max(1) as f64).sqrt();
    let ref_frames: Vec<f64> = x.chunks(LEVEL_FRAME).map(frame_rms).collect();
    let loudest = ref_frames.iter().copied().fold(0.0, f64::max);
    let active_floor = loudest * 10f64.powf(-35.0 / 20.0);
    let (mut active, mut covered, mut silent) = (0usize, 0usize, 0usize);
    for (k, &r) in ref_frames.iter().enumerate() {
        if r <= active_floor || r == 0.0 {
            continue;
        }
        active += 1;
        let start = k * LEVEL_FRAME;
        let end = (start + LEVEL_FRAME).min(x.len());
        if start < range.start || end > range.end {
            continue;
        }
        covered += 1;
        let ys = (start as isize + lag) as usize;
        let got = frame_rms(&y[ys..ys + (end - start)]);
        if got < r * 0.01 {
            silent += 1;
        }
    }
    let fraction_silent = if delay.is_none() || covered == 0 {
        1.0
    } else {
        silent as f64 / covered as f64
    };
    Comparison {
        delay_ms: delay.map(|l| l as f64 * 1000.0 / f64::from(ANALYSIS_RATE)),
        correlation,
        envelope_correlation,
        snr_db,
        rms_ratio_db,
        fraction_silent,
        coverage: if active == 0 {
            0.0
        } else {
            covered as f64 / active as f64
        },
    }
}

/// Band-limited resampling with a Blackman-windowed sinc (16 zero crossings
/// each side at the lower rate's Nyquist frequency).
fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || x.is_empty() {
        return x.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    let cutoff = ratio.min(1.0) * 0.95;
    let half = (16.0 / cutoff).ceil() as isize;
    let n_out = (x.len() as f64 * ratio).floor() as usize;
    let len = x.len() as isize;
    let mut out = Vec::with_capacity(n_out);
    for n in 0..n_out {
        let t = n as f64 / ratio;
        let centre = t.floor() as isize;
        let mut acc = 0.0;
        for k in (centre - half + 1).max(0)..=(centre + half).min(len - 1) {
            let d = t - k as f64;
            let w = d / half as f64;
            if w.abs() >= 1.0 {
                continue;
            }
            // Blackman window over -1..1.
            let win = 0.42 + 0.5 * (PI * w).cos() + 0.08 * (2.0 * PI * w).cos();
            let arg = PI * cutoff * d;
            let sinc = if arg.abs() < 1e-9 {
                1.0
            } else {
                arg.sin() / arg
            };
            acc += f64::from(x[k as usize]) * cutoff * sinc * win;
        }
        out.push(acc as f32);
    }
    out
}

/// A small deterministic generator (SplitMix64): the same seed gives the same
/// signal on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..1.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
/// G.711 µ-law (ITU-T G.711 §3, the 8-bit companding of PCMU) of a
/// 16-bit sample, and back: the round trip a PCMU call does.
pub(crate) fn mulaw_round_trip(v: f32) -> f32 {
    const BIAS: i32 = 0x84;
    let s = (f64::from(v) * 32767.0).round().clamp(-32768.0, 32767.0) as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    let mag = (s.abs().min(32635)) + BIAS;
    let exp = (0..8).rev().find(|e| mag & (0x80 << e) != 0).unwrap_or(0);
    let mant = (mag >> (exp + 3)) & 0x0F;
    let byte = !(sign | (exp << 4) | mant) & 0xFF;
    // Decode.
    let b = !byte & 0xFF;
    let exp = (b >> 4) & 0x07;
    let mant = b & 0x0F;
    let mag = (((mant << 3) + BIAS) << exp) - BIAS;
    let s = if b & 0x80 != 0 { -mag } else { mag };
    s as f32 / 32768.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::signal::mulaw_round_trip;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn identical_signals_correlate_fully_with_no_delay() {
        let a = Audio::test_signal(8000, secs(3.0), 7);
        let c = compare(&a, &a);
        assert_eq!(c.delay_ms, Some(0.0), "{c}");
        assert!(c.correlation > 0.999, "{c}");
        assert!(c.envelope_correlation > 0.999, "{c}");
        assert!(c.snr_db > 60.0, "{c}");
        assert!(c.rms_ratio_db.abs() < 0.01, "{c}");
        assert_eq!(c.fraction_silent, 0.0, "{c}");
        assert!(c.coverage > 0.999, "{c}");
        assert!(!c.is_silent());
    }

    #[test]
    fn the_test_signal_is_deterministic_speech_like_and_rate_independent() {
        let a = Audio::test_signal(8000, secs(2.0), 3);
        assert_eq!(a, Audio::test_signal(8000, secs(2.0), 3));
        assert_ne!(a, Audio::test_signal(8000, secs(2.0), 4));
        let level = a.rms_db();
        assert!((-24.0..-16.0).contains(&level), "{level} dBFS");
        assert!(a.samples.iter().all(|s| s.abs() < 1.0));
        // Pauses: a good part of the 20 ms frames are (near) silent.
        let quiet = a
            .samples
            .chunks(160)
            .filter(|c| energy(c) / 160.0 < 1e-6)
            .count() as f64
            / a.samples.chunks(160).count() as f64;
        assert!((0.1..0.6).contains(&quiet), "{quiet}");
        // The 48 kHz version is the same signal.
        let b = Audio::test_signal(48000, secs(2.0), 3);
        let c = compare(&a, &b);
        assert_eq!(c.delay_ms, Some(0.0), "{c}");
        assert!(c.correlation > 0.99, "{c}");
    }

    #[test]
    fn a_300_ms_delay_is_found_to_the_sample() {
        let a = Audio::test_signal(8000, secs(4.0), 11);
        for d in [300.0, 1234.5, -250.0] {
            let c = compare(&a, &a.delayed(d));
            let got = c.delay_ms.unwrap();
            assert!((got - d).abs() <= 0.125, "{d}: {c}");
            assert!(c.correlation > 0.999, "{d}: {c}");
        }
    }

    #[test]
    fn a_48k_recording_of_an_8k_reference_aligns() {
        let a = Audio::test_signal(8000, secs(3.0), 5);
        let b = Audio::test_signal(48000, secs(3.0), 5).delayed(180.0);
        let c = compare(&a, &b);
        assert!((c.delay_ms.unwrap() - 180.0).abs() <= 0.125, "{c}");
        assert!(c.correlation > 0.99, "{c}");
        // And the other way round, through the resampler.
        let c = compare(&b, &a.resampled(48000).resampled(16000));
        assert!((c.delay_ms.unwrap() + 180.0).abs() <= 0.125, "{c}");
        assert!(c.correlation > 0.98, "{c}");
    }

    #[test]
    fn gain_and_noise_show_in_level_and_snr() {
        let a = Audio::test_signal(8000, secs(3.0), 9);
        let noise = Audio::noise(8000, secs(3.0), -45.0, 1);
        let quiet_noisy = Audio {
            rate: 8000,
            samples: a
                .samples
                .iter()
                .zip(&noise.samples)
                .map(|(s, n)| s * 0.5 + n)
                .collect(),
        };
        let c = compare(&a, &quiet_noisy);
        assert!((c.rms_ratio_db + 6.0).abs() < 0.5, "{c}");
        // The signal 6 dB down, over noise at -45 dBFS.
        let expected = a.rms_db() - 6.02 + 45.0;
        assert!(
            (c.snr_db - expected).abs() < 1.5,
            "{c} (expected {expected:.1})"
        );
        assert!(c.correlation > 0.9, "{c}");
    }

    #[test]
    fn aligned_cuts_both_to_the_overlap() {
        let a = Audio::test_signal(8000, secs(3.0), 4);
        // Received at 48 kHz, 200 ms late, and its last second lost.
        let mut b = Audio::test_signal(48000, secs(3.0), 4).delayed(200.0);
        b.samples.truncate(48000 * 2);
        let c = compare(&a, &b);
        let (ra, rb) = aligned(&a, &b, c.delay_ms.unwrap());
        assert_eq!(ra.samples.len(), 8000 * 18 / 10);
        assert_eq!(rb.samples.len(), 48000 * 18 / 10);
        let c2 = compare(&ra, &rb);
        assert!(c2.delay_ms.unwrap().abs() <= 0.125, "{c2}");
        assert!(c2.coverage > 0.99 && c2.correlation > 0.99, "{c2}");
    }

    #[test]
    fn noise_does_not_correlate() {
        let a = Audio::test_signal(8000, secs(3.0), 1);
        let c = compare(&a, &Audio::noise(8000, secs(3.0), -20.0, 2));
        assert!(c.correlation < 0.1, "{c}");
        assert!(c.envelope_correlation < 0.3, "{c}");
        assert!(c.snr_db < 0.0, "{c}");
    }

    #[test]
    fn silence_is_reported_as_silent() {
        let a = Audio::test_signal(8000, secs(3.0), 1);
        let c = compare(&a, &Audio::silence(8000, secs(3.0)));
        assert!(c.is_silent(), "{c}");
        assert_eq!(c.delay_ms, None);
        assert_eq!(c.correlation, 0.0);
        assert_eq!(c.fraction_silent, 1.0);
    }

    #[test]
    fn a_dropout_shows_as_a_silent_fraction() {
        let a = Audio::test_signal(8000, secs(4.0), 12);
        let mut b = a.delayed(100.0);
        // Lose the second half (as a one-way audio bug would).
        let half = b.samples.len() / 2;
        b.samples[half..].iter_mut().for_each(|s| *s = 0.0);
        let c = compare(&a, &b);
        assert!((c.delay_ms.unwrap() - 100.0).abs() <= 0.125, "{c}");
        assert!((0.35..0.65).contains(&c.fraction_silent), "{c}");
    }

    #[test]
    fn g711_mulaw_round_trip_keeps_a_high_correlation() {
        let a = Audio::test_signal(8000, secs(3.0), 21);
        let b = Audio {
            rate: 8000,
            samples: a.samples.iter().map(|&s| mulaw_round_trip(s)).collect(),
        };
        // The companding itself: 0 → 0, full scale stays near full scale.
        assert_eq!(mulaw_round_trip(0.0), 0.0);
        assert!((mulaw_round_trip(0.9) - 0.9).abs() < 0.03);
        let c = compare(&a, &b.delayed(40.0));
        eprintln!("µ-law round trip: {c}");
        assert!((c.delay_ms.unwrap() - 40.0).abs() <= 0.125, "{c}");
        assert!(c.correlation > 0.99, "{c}");
        assert!((25.0..45.0).contains(&c.snr_db), "{c}");
        assert!(c.fraction_silent < 0.01, "{c}");
    }

    #[test]
    fn utterances_align_on_their_own_when_the_delay_moves_in_a_pause() {
        let a = Audio::test_signal(8000, secs(4.0), 13);
        // µ-law, 60 ms late; then, as a jitter buffer shrinking in a pause would, one
        // 20 ms frame of a pause near the middle is skipped: 40 ms late from there on.
        let mut b = Audio {
            rate: 8000,
            samples: a.samples.iter().map(|&s| mulaw_round_trip(s)).collect(),
        }
        .delayed(60.0);
        let pause = (b.samples.len() / 2..b.samples.len())
            .step_by(8)
            .find(|&i| b.samples[i..i + 320].iter().all(|s| *s == 0.0))
            .unwrap();
        b.samples.drain(pause + 80..pause + 240);
        let whole = compare(&a, &b);
        let u = compare_utterances(&a, &b, 100.0);
        eprintln!("whole: {whole}\nutterances: {u}");
        // One delay for the whole: half of it is off by 20 ms.
        assert!(whole.snr_db < 10.0, "{whole}");
        assert!(u.count >= 8, "{u}");
        assert!(u.mean_correlation > 0.99 && u.min_correlation > 0.98, "{u}");
        assert!(u.snr_db > 30.0, "{u}");
        assert_eq!((u.delay_min_ms, u.delay_max_ms), (40.0, 60.0), "{u}");
    }

    #[test]
    fn utterances_of_silence_and_noise_do_not_match() {
        let a = Audio::test_signal(8000, secs(3.0), 14);
        let u = compare_utterances(&a, &Audio::silence(8000, secs(3.0)), 100.0);
        assert_eq!((u.count, u.mean_correlation), (0, 0.0), "{u}");
        let u = compare_utterances(&a, &Audio::noise(8000, secs(3.0), -20.0, 5), 100.0);
        assert!(u.mean_correlation < 0.3, "{u}");
        assert!(u.snr_db < 0.0, "{u}");
        // Another signal altogether.
        let other = Audio::test_signal(8000, secs(3.0), 15);
        let u = compare_utterances(&a, &other, 100.0);
        assert!(u.mean_correlation < 0.5, "{u}");
    }

    #[test]
    fn wav_files_round_trip_and_stereo_mixes_down() {
        let dir = std::env::temp_dir().join(format!("hlab-signal-{}", std::process::id()));
        let a = Audio::test_signal(48000, secs(1.0), 2);
        let p = dir.join("mono.wav");
        a.write_wav(&p).unwrap();
        let back = Audio::read_wav(&p).unwrap();
        assert_eq!(back.rate, 48000);
        assert_eq!(back.samples.len(), a.samples.len());
        assert!(compare(&a, &back).snr_db > 60.0);

        let stereo = dir.join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&stereo, spec).unwrap();
        for v in [1000i16, 3000, -2000, 0] {
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let s = Audio::read_wav(&stereo).unwrap();
        assert_eq!(s.samples, vec![2000.0 / 32768.0, -1000.0 / 32768.0]);
        let e = Audio::read_wav(&dir.join("missing.wav")).unwrap_err();
        assert!(e.to_string().contains("missing.wav"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
