//! Fixed-ratio resampling between a device's rate and a codec's rate (48 kHz Opus, 8 kHz G.711).
//!
//! [`Resampler`] wraps rubato's FFT resampler (band-limited, so a 44.1 kHz microphone does not
//! alias into an 8 kHz call) behind a push/pop interface: push any number of mono samples, pop
//! whole frames when they are ready. Devices deliver odd-sized buffers (441, 512, 1024 samples)
//! while codecs want exact 20 ms frames, so the two sides must not be tied to each other.
//! All buffers are sized at construction: [`Resampler::push`] and [`Resampler::pop`] do not
//! allocate as long as the caller pops what it pushes (the output queue keeps a second of
//! headroom).

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _, WindowFunction};

/// Why a resampler could not be made or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// A rate of zero or one rubato cannot handle.
    #[error("cannot resample from {from} Hz to {to} Hz: {reason}")]
    Construct {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// rubato's reason.
        reason: String,
    },
    /// rubato refused a chunk (a bug here: buffer sizes are rubato's own).
    #[error("resampling failed: {0}")]
    Process(String),
}

/// Mono fixed-ratio resampler with 20 ms processing chunks.
pub struct Resampler {
    from: u32,
    to: u32,
    /// `None` when the rates are equal: samples pass through untouched.
    inner: Option<Fft<f32>>,
    in_buf: Vec<f32>,
    in_fill: usize,
    out_buf: Vec<f32>,
    out: VecDeque<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("queued", &self.out.len())
            .finish()
    }
}

/// Samples in one 20 ms frame at `rate` (rounded down for rates that are not multiples of 50).
pub fn frame_len(rate: u32) -> usize {
    (rate / 50) as usize
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz, processing 20 ms of input at a time.
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        let construct = |reason: String| ResampleError::Construct { from, to, reason };
        if from == 0 || to == 0 {
            return Err(construct("a rate of 0 Hz".into()));
        }
        let out_capacity = to as usize + frame_len(to) * 4;
        if from == to {
            return Ok(Self {
                from,
                to,
                inner: None,
                in_buf: Vec::new(),
                in_fill: 0,
                out_buf: Vec::new(),
                out: VecDeque::with_capacity(out_capacity),
            });
        }
        // 20 ms chunks keep the added delay to about one frame; FixedSync::Input lets us hand
        // rubato exactly the chunk it asked for whatever the ratio.
        let chunk = frame_len(from).max(1);
        // rubato splits a chunk into FFT sub-chunks to cut delay, but a sub-chunk of a few
        // dozen samples on the low-rate side widens the filter's transition band until it
        // dents the voice band (96 kHz → 8 kHz lost 0.8 dB at 1 kHz with rubato's default).
        // Four sub-chunks of 5 ms keep 1 kHz within 0.1 dB at every rate pair we use.
        let sub_chunks = 4;
        let inner = Fft::<f32>::new_custom(
            from as usize,
            to as usize,
            chunk,
            sub_chunks,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| construct(e.to_string()))?;
        let in_len = inner.input_frames_max();
        let out_len = inner.output_frames_max();
        Ok(Self {
            from,
            to,
            inner: Some(inner),
            in_buf: vec![0.0; in_len],
            in_fill: 0,
            out_buf: vec![0.0; out_len],
            out: VecDeque::with_capacity(out_capacity),
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// The delay the filter adds, in output samples.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Feeds mono samples at the input rate.
    pub fn push(&mut self, mut input: &[f32]) -> Result<(), ResampleError> {
        let Some(inner) = self.inner.as_mut() else {
            self.out.extend(input.iter().copied());
            return Ok(());
        };
        while !input.is_empty() {
            let need = inner.input_frames_next();
            let take = (need - self.in_fill).min(input.len());
            self.in_buf[self.in_fill..self.in_fill + take].copy_from_slice(&input[..take]);
            self.in_fill += take;
            input = &input[take..];
            if self.in_fill == need {
                let out_frames = inner.output_frames_next();
                let process = |e: rubato::audioadapter_buffers::SizeError| {
                    ResampleError::Process(e.to_string())
                };
                let src = InterleavedSlice::new(&self.in_buf[..need], 1, need).map_err(process)?;
                let mut dst =
                    InterleavedSlice::new_mut(&mut self.out_buf[..out_frames], 1, out_frames)
                        .map_err(process)?;
                let (_, produced) = inner
                    .process_into_buffer(&src, &mut dst, None)
                    .map_err(|e| ResampleError::Process(e.to_string()))?;
                self.out.extend(self.out_buf[..produced].iter().copied());
                self.in_fill = 0;
            }
        }
        Ok(())
    }

    /// Output samples ready to pop.
    pub fn available(&self) -> usize {
        self.out.len()
    }

    /// Fills `out` completely and returns true, or leaves it alone and returns false when fewer
    /// than `out.len()` samples are ready.
    pub fn pop(&mut self, out: &mut [f32]) -> bool {
        let n = out.len();
        if self.out.len() < n {
            return false;
        }
        for (o, s) in out.iter_mut().zip(self.out.drain(..n)) {
            *o = s;
        }
        true
    }

    /// Forgets queued audio and the filter's history (after a device switch, say).
    pub fn reset(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
        }
        self.in_fill = 0;
        self.out.clear();
    }
}

/// Converts codec samples to the float samples used here (full scale = 1.0).
pub fn i16_to_f32(input: &[i16], output: &mut [f32]) {
    for (o, s) in output.iter_mut().zip(input) {
        *o = f32::from(*s) / 32768.0;
    }
}

/// Converts float samples to codec samples, clipping what is out of range.
pub fn f32_to_i16(input: &[f32], output: &mut [i16]) {
    for (o, s) in output.iter_mut().zip(input) {
        // The clamp keeps the value within i16, so the cast cannot wrap.
        *o = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(rate: u32, freq: f64, amp: f64, secs: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    /// Runs `input` through a chain of rates in 20 ms frames, the way the call path does.
    fn chain(input: &[f32], rates: &[u32]) -> Vec<f32> {
        let mut signal = input.to_vec();
        for pair in rates.windows(2) {
            let mut r = Resampler::new(pair[0], pair[1]).unwrap();
            let mut out = Vec::new();
            let mut frame = vec![0.0; frame_len(pair[1])];
            for chunk in signal.chunks(frame_len(pair[0])) {
                r.push(chunk).unwrap();
                while r.pop(&mut frame) {
                    out.extend_from_slice(&frame);
                }
            }
            signal = out;
        }
        signal
    }

    /// Frequency by counting rising zero crossings with linear interpolation, over the
    /// middle of the signal (away from the filters' start-up).
    fn measure(signal: &[f32], rate: u32) -> (f64, f64) {
        let mid = &signal[signal.len() / 4..signal.len() * 3 / 4];
        let mut crossings = Vec::new();
        for i in 1..mid.len() {
            let (a, b) = (f64::from(mid[i - 1]), f64::from(mid[i]));
            if a < 0.0 && b >= 0.0 {
                crossings.push((i - 1) as f64 + a / (a - b));
            }
        }
        let periods = (crossings.len() - 1) as f64;
        let span = crossings[crossings.len() - 1] - crossings[0];
        let freq = periods * f64::from(rate) / span;
        let rms =
            (mid.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / mid.len() as f64).sqrt();
        (freq, rms)
    }

    #[test]
    fn keeps_a_1khz_tone_through_rate_chains() {
        let amp = 0.5;
        let want_rms = amp / 2f64.sqrt();
        for rates in [
            &[44_100, 48_000][..],
            &[48_000, 8_000],
            &[44_100, 48_000, 8_000],
            &[44_100, 8_000, 48_000],
            &[48_000, 16_000, 44_100],
            &[96_000, 8_000],
            &[8_000, 48_000, 8_000],
        ] {
            let input = sine(rates[0], 1000.0, amp, 1.0);
            let out = chain(&input, rates);
            let last = *rates.last().unwrap();
            let expected_len = frame_len(last) * 50;
            assert!(
                out.len() + 3 * frame_len(last) >= expected_len,
                "{rates:?}: {} samples out",
                out.len()
            );
            let (freq, rms) = measure(&out, last);
            let level_db = 20.0 * (rms / want_rms).log10();
            eprintln!("{rates:?}: {freq:.3} Hz, {level_db:+.3} dB");
            assert!((freq - 1000.0).abs() < 0.1, "{rates:?}: {freq} Hz");
            assert!(level_db.abs() < 0.1, "{rates:?}: {level_db} dB");
        }
    }

    #[test]
    fn removes_what_the_lower_rate_cannot_carry() {
        // 6 kHz cannot exist at 8 kHz (Nyquist 4 kHz): it must be filtered, not folded to 2 kHz.
        let input = sine(48_000, 6000.0, 0.5, 1.0);
        let out = chain(&input, &[48_000, 8_000]);
        let mid = &out[out.len() / 4..out.len() * 3 / 4];
        let rms = (mid.iter().map(|s| s * s).sum::<f32>() / mid.len() as f32).sqrt();
        let db = 20.0 * (rms / (0.5 / 2f32.sqrt())).log10();
        assert!(db < -40.0, "aliased 6 kHz came through at {db} dB");
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = Resampler::new(48_000, 48_000).unwrap();
        r.push(&[0.25; 960]).unwrap();
        let mut f = [0.0; 960];
        assert!(r.pop(&mut f));
        assert_eq!(f, [0.25; 960]);
        assert!(!r.pop(&mut f));
        assert_eq!(r.delay(), 0);
    }

    #[test]
    fn odd_device_buffers_make_whole_frames() {
        let mut r = Resampler::new(44_100, 48_000).unwrap();
        let mut frame = [0.0; 960];
        let mut frames = 0;
        for _ in 0..100 {
            r.push(&[0.0; 512]).unwrap();
            while r.pop(&mut frame) {
                frames += 1;
            }
        }
        // 51200 samples at 44.1 kHz = 1.161 s = 58 frames of 20 ms, less at most one chunk.
        assert!((56..=58).contains(&frames), "{frames}");
        assert!(Resampler::new(0, 8000).is_err());
    }

    #[test]
    fn i16_round_trip() {
        let s = [0i16, 1, -1, 32767, -32768, 12345];
        let mut f = [0.0; 6];
        i16_to_f32(&s, &mut f);
        let mut back = [0i16; 6];
        f32_to_i16(&f, &mut back);
        assert_eq!(s, back);
        f32_to_i16(&[2.0, -2.0], &mut back[..2]);
        assert_eq!(&back[..2], &[32767, -32768]);
    }
}
