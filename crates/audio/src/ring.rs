//! The hand-off between a real-time audio callback and the rest of the program.
//!
//! A device callback runs on a thread the sound system owns, with a deadline of a few
//! milliseconds. It must never wait: no allocation, no lock, no logging, no system call. So the
//! callback and the call code exchange samples through a lock-free single-producer
//! single-consumer ring ([`rtrb`]) and report trouble through atomic counters: a capture ring
//! that is full drops the newest samples (overrun), a playback ring that is empty plays silence
//! (underrun). Both are counted, never logged, and the counters outlive device switches.
//!
//! [`capture_into`] and [`play_from`] are the callback bodies; they only touch preallocated
//! memory and atomics.

use std::sync::atomic::{AtomicU64, Ordering};

use cpal::{FromSample, Sample};
use rtrb::{Consumer, Producer};

/// Counters of one stream, shared by its callback and its readers.
#[derive(Debug, Default)]
pub struct StreamCounters {
    callbacks: AtomicU64,
    samples: AtomicU64,
    underrun_events: AtomicU64,
    underrun_samples: AtomicU64,
    overrun_events: AtomicU64,
    overrun_samples: AtomicU64,
    errors: AtomicU64,
}

/// A copy of [`StreamCounters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Device callbacks so far.
    pub callbacks: u64,
    /// Mono samples moved through the ring.
    pub samples: u64,
    /// Playback callbacks that found too little audio and played silence.
    pub underrun_events: u64,
    /// Samples of silence played for lack of audio.
    pub underrun_samples: u64,
    /// Capture callbacks (or writers) that found the ring full and dropped audio.
    pub overrun_events: u64,
    /// Samples dropped for lack of room.
    pub overrun_samples: u64,
    /// Stream errors the sound system reported.
    pub errors: u64,
}

impl StreamCounters {
    /// The counters now.
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterSnapshot {
            callbacks: get(&self.callbacks),
            samples: get(&self.samples),
            underrun_events: get(&self.underrun_events),
            underrun_samples: get(&self.underrun_samples),
            overrun_events: get(&self.overrun_events),
            overrun_samples: get(&self.overrun_samples),
            errors: get(&self.errors),
        }
    }

    pub(crate) fn overrun(&self, samples: usize) {
        self.overrun_events.fetch_add(1, Ordering::Relaxed);
        self.overrun_samples
            .fetch_add(samples as u64, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// A ring of `capacity` mono samples.
pub fn ring(capacity: usize) -> (Producer<f32>, Consumer<f32>) {
    rtrb::RingBuffer::new(capacity.max(1))
}

/// Capture callback body: downmixes interleaved `data` of `channels` channels to mono and
/// pushes it; what does not fit is dropped and counted.
pub fn capture_into<T>(
    data: &[T],
    channels: usize,
    producer: &mut Producer<f32>,
    counters: &StreamCounters,
) where
    T: Sample,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    let frames = data.len() / channels;
    let n = frames.min(producer.slots());
    if n < frames {
        counters.overrun(frames - n);
    }
    if let Ok(mut chunk) = producer.write_chunk(n) {
        let (a, b) = chunk.as_mut_slices();
        let scale = 1.0 / channels as f32;
        for (slot, frame) in a
            .iter_mut()
            .chain(b.iter_mut())
            .zip(data.chunks_exact(channels))
        {
            // Averaging keeps a mono microphone presented as stereo at its true level.
            *slot = frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() * scale;
        }
        chunk.commit_all();
    }
    counters.callbacks.fetch_add(1, Ordering::Relaxed);
    counters.samples.fetch_add(n as u64, Ordering::Relaxed);
}

/// Playback callback body: pops mono samples into every channel of interleaved `data`; what
/// the ring cannot supply is silence, counted as underrun once playback has started (`started`
/// keeps the start-up, before the first frame arrives, out of the count).
pub fn play_from<T>(
    data: &mut [T],
    channels: usize,
    consumer: &mut Consumer<f32>,
    counters: &StreamCounters,
    started: &mut bool,
) where
    T: Sample + FromSample<f32>,
{
    let channels = channels.max(1);
    let frames = data.len() / channels;
    let n = frames.min(consumer.slots());
    let mut frames_out = data.chunks_exact_mut(channels);
    if let Ok(chunk) = consumer.read_chunk(n) {
        let (a, b) = chunk.as_slices();
        for (s, frame) in a.iter().chain(b.iter()).zip(frames_out.by_ref()) {
            let v = T::from_sample(*s);
            frame.iter_mut().for_each(|o| *o = v);
        }
        chunk.commit_all();
    }
    for frame in frames_out {
        frame.iter_mut().for_each(|o| *o = T::EQUILIBRIUM);
    }
    if n > 0 {
        *started = true;
    }
    if n < frames && *started {
        counters.underrun_events.fetch_add(1, Ordering::Relaxed);
        counters
            .underrun_samples
            .fetch_add((frames - n) as u64, Ordering::Relaxed);
    }
    counters.callbacks.fetch_add(1, Ordering::Relaxed);
    counters.samples.fetch_add(n as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_downmixes_and_counts_overrun() {
        let counters = StreamCounters::default();
        let (mut p, mut c) = ring(4);
        let stereo: [i16; 12] = [16384, 0, 16384, 16384, -16384, -16384, 0, 0, 1, 1, 2, 2];
        capture_into(&stereo, 2, &mut p, &counters);
        let got: Vec<f32> = std::iter::from_fn(|| c.pop().ok()).collect();
        assert_eq!(got, vec![0.25, 0.5, -0.5, 0.0]);
        let s = counters.snapshot();
        assert_eq!((s.overrun_events, s.overrun_samples, s.samples), (1, 2, 4));
    }

    #[test]
    fn playback_fills_channels_and_counts_underrun() {
        let counters = StreamCounters::default();
        let (mut p, mut c) = ring(16);
        let mut started = false;
        let mut out = [1.0f32; 6];
        play_from(&mut out, 2, &mut c, &counters, &mut started);
        // Nothing queued yet: silence, not an underrun.
        assert_eq!(out, [0.0; 6]);
        assert_eq!(counters.snapshot().underrun_events, 0);
        p.push(0.5).unwrap();
        p.push(-0.5).unwrap();
        play_from(&mut out, 2, &mut c, &counters, &mut started);
        assert_eq!(out, [0.5, 0.5, -0.5, -0.5, 0.0, 0.0]);
        let s = counters.snapshot();
        assert_eq!((s.underrun_events, s.underrun_samples), (1, 1));
        let mut out16 = [7i16; 2];
        play_from(&mut out16, 1, &mut c, &counters, &mut started);
        assert_eq!(out16, [0, 0]);
    }
}
