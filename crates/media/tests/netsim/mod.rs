//! A small deterministic network simulator for media tests: one sender emitting 20 ms frames
//! on its own (possibly drifting) clock, a path with latency, seeded random jitter, loss and
//! duplication, and a receiver that pops the jitter buffer every 20 ms of its own clock.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test binaries; tests may panic

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use homeline_media::jitter::{JitterBuffer, JitterConfig, Playout};
use homeline_media::rng::SplitMix64;

/// Jitter added on top of the fixed latency, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub enum Jitter {
    None,
    /// Exponential with this mean (p95 = 3 × mean), capped at 1 s.
    Exponential(f64),
    /// Uniform in [0, max).
    Uniform(f64),
}

impl Jitter {
    pub fn sample(self, rng: &mut SplitMix64) -> f64 {
        match self {
            Jitter::None => 0.0,
            Jitter::Exponential(mean) => (-mean * (1.0 - rng.next_f64()).ln()).min(1000.0),
            Jitter::Uniform(max) => rng.next_f64() * max,
        }
    }
    /// The 95th percentile of the distribution, milliseconds.
    pub fn p95(self) -> f64 {
        match self {
            Jitter::None => 0.0,
            Jitter::Exponential(mean) => mean * 20f64.ln(),
            Jitter::Uniform(max) => 0.95 * max,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Path {
    pub latency_ms: f64,
    pub jitter: Jitter,
    pub loss: f64,
    pub duplicate: f64,
}

/// One phase of a scenario: path conditions for a duration.
#[derive(Debug, Clone)]
pub struct Phase {
    pub duration: Duration,
    pub path: Path,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub clock_rate: u32,
    /// Sender clock error: +100 means the sender's 20 ms last 20 ms / 1.0001 of real time.
    pub drift_ppm: f64,
    pub phases: Vec<Phase>,
    pub jitter_config: JitterConfig,
    /// At this frame number the sender changes SSRC and restarts its timeline.
    pub restart_at_frame: Option<u64>,
}

/// What happened at each pop (one per 20 ms of receiver time).
#[derive(Debug, Clone)]
pub struct PopRecord {
    pub at: Duration,
    /// Frame number played, if a frame was played.
    pub frame: Option<u64>,
    /// End-to-end delay of the played frame: pop time − send time, ms.
    pub e2e_ms: Option<f64>,
    pub fec_for: Option<u64>,
    pub missing: bool,
    pub playout_delay_ms: f64,
    pub target_delay_ms: f64,
}

#[derive(Debug)]
pub struct Outcome {
    pub pops: Vec<PopRecord>,
    pub sent: u64,
    pub lost_in_network: Vec<u64>,
    pub delivered: u64,
    pub buffer: JitterBuffer,
}

impl Outcome {
    /// Mean of `f` over the pops in `[from, to)`.
    pub fn mean(&self, from: Duration, to: Duration, f: impl Fn(&PopRecord) -> Option<f64>) -> f64 {
        let v: Vec<f64> = self
            .pops
            .iter()
            .filter(|p| p.at >= from && p.at < to)
            .filter_map(f)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
    pub fn late_rate(&self) -> f64 {
        self.buffer.stats().late as f64 / self.delivered.max(1) as f64
    }
}

fn payload(frame: u64) -> Vec<u8> {
    frame.to_be_bytes().to_vec()
}

fn frame_of(p: &[u8]) -> u64 {
    u64::from_be_bytes(p.try_into().unwrap())
}

pub fn run(s: &Scenario) -> Outcome {
    let t0 = Instant::now();
    let mut rng = SplitMix64::new(s.seed);
    let mut jb = JitterBuffer::new(s.jitter_config.clone());
    let frame = Duration::from_millis(20);
    let frame_ts = s.clock_rate / 50;
    let send_period = frame.as_secs_f64() / (1.0 + s.drift_ppm * 1e-6);
    let total: Duration = s.phases.iter().map(|p| p.duration).sum();
    let path_at = |t: f64| -> &Path {
        let mut acc = 0.0;
        for p in &s.phases {
            acc += p.duration.as_secs_f64();
            if t < acc {
                return &p.path;
            }
        }
        &s.phases[s.phases.len() - 1].path
    };

    // (arrival in ns, frame) in a min-heap.
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut next_frame = 0u64;
    let mut lost = Vec::new();
    let mut delivered = 0u64;
    let mut pops = Vec::new();
    let mut k = 0u64;
    loop {
        let now_s = k as f64 * frame.as_secs_f64();
        if now_s >= total.as_secs_f64() {
            break;
        }
        // Everything sent up to now enters the network.
        while next_frame as f64 * send_period <= now_s {
            let sent_at = next_frame as f64 * send_period;
            let path = path_at(sent_at);
            if rng.next_f64() < path.loss {
                lost.push(next_frame);
            } else {
                let copies = if rng.next_f64() < path.duplicate {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let d = path.latency_ms + path.jitter.sample(&mut rng);
                    let at = ((sent_at + d / 1000.0) * 1e9) as u64;
                    heap.push(Reverse((at, next_frame)));
                }
            }
            next_frame += 1;
        }
        let now_ns = (now_s * 1e9) as u64;
        while let Some(&Reverse((at, f))) = heap.peek() {
            if at > now_ns {
                break;
            }
            heap.pop();
            delivered += 1;
            let (ssrc, ts_base, f_rel) = match s.restart_at_frame {
                Some(r) if f >= r => (2u32, 0x4000_0000u32, f - r),
                _ => (1u32, 0xffff_0000u32, f),
            };
            jb.push(
                t0 + Duration::from_nanos(at),
                ssrc,
                f as u16,
                ts_base.wrapping_add((f_rel as u32).wrapping_mul(frame_ts)),
                &payload(f),
            );
        }
        let now = t0 + Duration::from_nanos(now_ns);
        let out = jb.pop(now);
        let st = jb.stats();
        let mut rec = PopRecord {
            at: Duration::from_nanos(now_ns),
            frame: None,
            e2e_ms: None,
            fec_for: None,
            missing: false,
            playout_delay_ms: st.playout_delay_ms,
            target_delay_ms: st.target_delay_ms,
        };
        match out {
            Playout::Frame { payload, .. } => {
                let f = frame_of(&payload);
                rec.frame = Some(f);
                rec.e2e_ms = Some((now_s - f as f64 * send_period) * 1000.0);
            }
            Playout::Fec { next_payload, .. } => {
                rec.fec_for = Some(frame_of(&next_payload) - 1);
                rec.missing = true;
            }
            Playout::Missing { .. } => rec.missing = true,
            Playout::Silence { .. } => {}
        }
        pops.push(rec);
        k += 1;
    }
    Outcome {
        pops,
        sent: next_frame,
        lost_in_network: lost,
        delivered,
        buffer: jb,
    }
}

pub fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}
