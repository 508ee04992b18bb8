//! Adaptive jitter buffer (sans-IO).
//!
//! Packets go in with [`JitterBuffer::push`] as they arrive; the audio output asks for the
//! next frame with [`JitterBuffer::pop`] whenever it needs one (every frame duration, driven by
//! the playout device's clock). Both take the current time; nothing else moves time.
//!
//! ## Model
//! Everything is in RTP timestamp units. For each packet the *transit* is
//! `arrival − timestamp` (arrival on our clock); over a sliding window (default 500 packets,
//! 10 s at 20 ms) the buffer keeps the minimum transit (*base*: the fastest path) and a high
//! quantile of `transit − base` (the jitter the buffer must absorb). The **target delay** is
//! that quantile (default p97) plus a small margin, clamped to `[min_delay, max_delay]`
//! (20-300 ms).
//!
//! The playout position `play_ts` advances by one frame per pop. The current **playout delay**
//! is `now − play_ts − base`: how long the fastest packets wait. A packet is late when its
//! transit exceeds `now − play_ts` at its pop. When the delay is below the target the buffer
//! *stretches* (one concealment frame without advancing); when it exceeds the target by more
//! than a frame it *shrinks* (skips one frame; during DTX or loss that frame is missing anyway), at
//! most once every few frames. A skipped frame of speech is an audible click, so when the
//! caller says what it plays ([`JitterBuffer::set_quiet`]), a shrink waits for a pause: it
//! skips the frame after a quiet one, or, with no pause for [`JitterConfig::shrink_wait`] frames
//! (or an excess of four frames or more), drops speech anyway. This is what keeps the delay bounded under sender clock drift:
//! a sender 100 ppm fast makes the base decrease by 0.36 s per hour, which shows up as excess
//! delay and is removed one frame at a time.
//!
//! Timestamp jumps (a sender that restarts its timeline) and SSRC changes reset the buffer.
//! A missing frame is returned as [`Playout::Fec`] when FEC is enabled and the next packet is
//! already here (Opus in-band FEC carries the previous frame), else [`Playout::Missing`] for
//! PLC.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Jitter buffer settings.
#[derive(Debug, Clone)]
pub struct JitterConfig {
    /// RTP clock rate of the stream.
    pub clock_rate: u32,
    /// Frame duration in timestamp units before the buffer learns it from the packets.
    pub frame_ts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Delay before the first frame plays, until measurements exist.
    pub initial_delay: Duration,
    /// Quantile of the jitter distribution the target covers (0.97 = 3% of packets may be
    /// late before the margin).
    pub quantile: f64,
    pub margin: Duration,
    /// Number of packets in the measurement window.
    pub window: usize,
    /// The codec can decode the previous frame from a packet (Opus in-band FEC).
    pub fec: bool,
    /// Stretch only below `target − hysteresis` (shrink at `target + frame`): the delay then
    /// lives in a band one frame plus this wide, and small moves of the window minimum do
    /// not cause adjustments back and forth.
    pub hysteresis: Duration,
    /// Minimum pops between two shrink adjustments.
    pub shrink_interval: u32,
    /// Most pops a due shrink waits for a quiet frame ([`JitterBuffer::set_quiet`]) before it
    /// skips a frame of speech; 0 = never wait.
    pub shrink_wait: u32,
}

impl JitterConfig {
    /// Defaults for 20 ms frames at `clock_rate`.
    pub fn new(clock_rate: u32) -> Self {
        JitterConfig {
            clock_rate,
            frame_ts: clock_rate / 50,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(300),
            // Below `min_delay + frame` by more than the scheduling slack of a sender and a
            // player that wake every few milliseconds: a clean network then starts inside the
            // band where the buffer neither shrinks nor stretches (at 60 ms every clean call
            // began by skipping two frames of speech). Jitter raises the target within the
            // first ten packets.
            initial_delay: Duration::from_millis(25),
            quantile: 0.97,
            margin: Duration::ZERO,
            window: 500,
            fec: false,
            hysteresis: Duration::from_millis(5),
            shrink_interval: 3,
            // 2 s at 20 ms: speech has pauses more often than that; drift needs far less.
            shrink_wait: 100,
        }
    }
}

/// What to play next. `duration` is in timestamp units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Nothing to play (before the first packet, after a reset): play silence, not a loss.
    Silence { duration: u32 },
    /// Decode this payload.
    Frame {
        payload: Vec<u8>,
        timestamp: u32,
        duration: u32,
    },
    /// This frame is missing but the next packet is here: decode its in-band FEC.
    Fec {
        next_payload: Vec<u8>,
        duration: u32,
    },
    /// This frame is missing (lost, late, DTX, or a stretch): conceal it.
    Missing { duration: u32 },
}

/// Counters and the current delays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JitterStats {
    pub pushed: u64,
    pub played: u64,
    /// Arrived after their playout time.
    pub late: u64,
    pub duplicates: u64,
    /// Frames concealed because missing at their playout time (not counting stretches).
    pub missing: u64,
    pub fec: u64,
    /// Frames dropped or skipped to reduce delay.
    pub shrinks: u64,
    /// Concealment frames inserted to increase delay.
    pub stretches: u64,
    pub resets: u64,
    pub target_delay_ms: f64,
    /// `now − play_ts − base` at the last pop.
    pub playout_delay_ms: f64,
    /// Audio buffered (last buffered timestamp − play position), at the last pop.
    pub buffered_ms: f64,
}

#[derive(Debug)]
struct Slot {
    payload: Vec<u8>,
    timestamp: u32,
}

/// The adaptive jitter buffer (see the module doc).
#[derive(Debug)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    epoch: Option<Instant>,
    ssrc: Option<u32>,
    /// Unwrapping reference: an extended timestamp and its 32-bit value.
    ref_ts: Option<(i64, u32)>,
    slots: BTreeMap<i64, Slot>,
    started: bool,
    start_at: Option<Instant>,
    play_ts: i64,
    frame_ts: u32,
    frame_candidate: Option<(u32, u32)>,
    last_seq_ts: Option<(u16, i64)>,
    seen: VecDeque<i64>,
    transits: VecDeque<i64>,
    since_recompute: u32,
    base: i64,
    target: i64,
    pops_since_adjust: u32,
    loss_recent: f64,
    jump_votes: u32,
    /// The frame played last was quiet (a pause), per [`JitterBuffer::set_quiet`].
    quiet: bool,
    /// Pops a due shrink has waited for a quiet frame.
    shrink_waited: u32,
    stats: JitterStats,
}

/// Packets further than this from the playout position are a timeline jump.
const JUMP: Duration = Duration::from_secs(2);
/// Never hold more than this many packets (garbage, floods).
const MAX_SLOTS: usize = 1000;

impl JitterBuffer {
    pub fn new(mut cfg: JitterConfig) -> Self {
        // Durations are added to `Instant`s (which panics on overflow) and converted to
        // timestamp units: keep them sane.
        let cap = Duration::from_secs(10);
        cfg.clock_rate = cfg.clock_rate.clamp(1, 192_000);
        cfg.max_delay = cfg.max_delay.min(cap);
        cfg.min_delay = cfg.min_delay.min(cfg.max_delay);
        cfg.initial_delay = cfg.initial_delay.min(cap);
        cfg.margin = cfg.margin.min(cap);
        cfg.hysteresis = cfg.hysteresis.min(cap);
        cfg.quantile = if cfg.quantile.is_finite() {
            cfg.quantile.clamp(0.0, 1.0)
        } else {
            0.97
        };
        let target = dur_units(cfg.initial_delay, cfg.clock_rate);
        JitterBuffer {
            frame_ts: cfg.frame_ts.max(1),
            cfg,
            epoch: None,
            ssrc: None,
            ref_ts: None,
            slots: BTreeMap::new(),
            started: false,
            start_at: None,
            play_ts: 0,
            frame_candidate: None,
            last_seq_ts: None,
            seen: VecDeque::new(),
            transits: VecDeque::new(),
            since_recompute: 0,
            base: 0,
            target,
            pops_since_adjust: 0,
            loss_recent: 0.0,
            jump_votes: 0,
            quiet: true,
            shrink_waited: 0,
            stats: JitterStats::default(),
        }
    }

    /// Tells the buffer whether the frame just played was quiet (a pause in speech, silence,
    /// comfort noise): shrinks then skip the frame after it rather than a frame of speech.
    /// A caller that never calls this gets shrinks as soon as they are due.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    pub fn stats(&self) -> JitterStats {
        self.stats.clone()
    }

    /// The current target delay.
    pub fn target_delay(&self) -> Duration {
        Duration::from_secs_f64(self.target.max(0) as f64 / self.cfg.clock_rate.max(1) as f64)
    }

    fn units(&self, d: Duration) -> i64 {
        dur_units(d, self.cfg.clock_rate)
    }

    fn to_ms(&self, u: i64) -> f64 {
        u as f64 * 1000.0 / self.cfg.clock_rate.max(1) as f64
    }

    fn now_units(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        self.units(now.saturating_duration_since(epoch))
    }

    fn extend_ts(&mut self, ts: u32) -> i64 {
        match self.ref_ts {
            None => {
                self.ref_ts = Some((ts as i64, ts));
                ts as i64
            }
            Some((ext, raw)) => {
                let e = ext + ts.wrapping_sub(raw) as i32 as i64;
                // Move the reference forward so long calls keep unwrapping correctly.
                if e > ext {
                    self.ref_ts = Some((e, ts));
                }
                e
            }
        }
    }

    /// Forgets the stream (keeps statistics and the delay measurements' config).
    fn reset(&mut self) {
        self.slots.clear();
        self.started = false;
        self.start_at = None;
        self.ref_ts = None;
        self.last_seq_ts = None;
        self.seen.clear();
        self.transits.clear();
        self.since_recompute = 0;
        self.target = self.units(self.cfg.initial_delay);
        self.jump_votes = 0;
        self.stats.resets += 1;
    }

    /// Adds a packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, ssrc: u32, sequence: u16, timestamp: u32, payload: &[u8]) {
        let now_u = self.now_units(now);
        if self.ssrc.is_some_and(|s| s != ssrc) {
            self.reset();
        }
        self.ssrc = Some(ssrc);
        let mut ts = self.extend_ts(timestamp);

        if self.started {
            let far = self.units(JUMP);
            if (ts - self.play_ts).abs() > far {
                // One stray packet is dropped; two in a row mean the timeline moved.
                self.jump_votes += 1;
                if self.jump_votes < 2 {
                    return;
                }
                self.reset();
                ts = self.extend_ts(timestamp);
            } else {
                self.jump_votes = 0;
            }
        }
        self.stats.pushed += 1;

        // Learn the frame duration from consecutive packets (peers may use 10-60 ms), only
        // when three pairs in a row agree: a single skipped frame (DTX, a sender hiccup)
        // must not double it.
        if let Some((s, t)) = self.last_seq_ts
            && sequence == s.wrapping_add(1)
        {
            let d = ts - t;
            if d > 0 && d <= self.units(Duration::from_millis(120)) && d as u32 != self.frame_ts {
                let n = match self.frame_candidate {
                    Some((c, n)) if c == d as u32 => n + 1,
                    _ => 1,
                };
                self.frame_candidate = Some((d as u32, n));
                if n >= 3 {
                    self.frame_ts = d as u32;
                    self.frame_candidate = None;
                }
            } else if d as u32 == self.frame_ts {
                self.frame_candidate = None;
            }
        }
        self.last_seq_ts = Some((sequence, ts));

        // A duplicate of a packet already played looks late; it must neither count as late
        // nor pull the delay estimate up.
        if self.seen.contains(&ts) {
            self.stats.duplicates += 1;
            return;
        }
        if self.seen.len() >= 128 {
            self.seen.pop_front();
        }
        self.seen.push_back(ts);
        self.record_transit(now_u - ts);

        if self.started && ts < self.play_ts {
            self.stats.late += 1;
            return;
        }
        if self.slots.len() >= MAX_SLOTS {
            // Keep the newest audio; the oldest would be dropped by shrinking anyway.
            self.slots.pop_first();
        }
        self.slots.insert(
            ts,
            Slot {
                payload: payload.to_vec(),
                timestamp,
            },
        );
        if !self.started && self.start_at.is_none() {
            self.start_at = Some(now + self.cfg.initial_delay);
        }
    }

    fn record_transit(&mut self, transit: i64) {
        self.transits.push_back(transit);
        while self.transits.len() > self.cfg.window.max(1) {
            self.transits.pop_front();
        }
        self.since_recompute += 1;
        if self.since_recompute >= 10 || self.transits.len() < 20 {
            self.since_recompute = 0;
            self.recompute();
        }
    }

    fn recompute(&mut self) {
        let Some(&base) = self.transits.iter().min() else {
            return;
        };
        self.base = base;
        if self.transits.len() < 10 {
            return;
        }
        let mut v: Vec<i64> = self.transits.iter().map(|t| t - base).collect();
        let k = ((v.len() as f64 * self.cfg.quantile.clamp(0.0, 1.0)) as usize).min(v.len() - 1);
        let (_, q, _) = v.select_nth_unstable(k);
        let target = *q + self.units(self.cfg.margin);
        self.target = target.clamp(
            self.units(self.cfg.min_delay),
            self.units(self.cfg.max_delay),
        );
    }

    /// The next frame to play. Call it each time the output needs a frame (every frame
    /// duration); the returned `duration` says how much audio it stands for.
    pub fn pop(&mut self, now: Instant) -> Playout {
        let now_u = self.now_units(now);
        let frame = self.frame_ts;
        if !self.started {
            match (self.start_at, self.slots.first_key_value()) {
                (Some(at), Some((&ts, _))) if now >= at => {
                    self.started = true;
                    self.play_ts = ts;
                }
                _ => return Playout::Silence { duration: frame },
            }
        }
        let delay = now_u - self.play_ts - self.base;
        // With FEC and recent losses, hold one more frame so the packet after a loss is
        // there when the lost frame is due.
        let mut target = self.target;
        if self.cfg.fec && self.loss_recent > 0.5 {
            target = (target + frame as i64).min(self.units(self.cfg.max_delay));
        }
        let h = self.units(self.cfg.hysteresis);
        self.stats.target_delay_ms = self.to_ms(target);
        self.stats.playout_delay_ms = self.to_ms(delay);
        self.stats.buffered_ms = self
            .slots
            .last_key_value()
            .map(|(&t, _)| self.to_ms(t + frame as i64 - self.play_ts))
            .unwrap_or(0.0);
        self.pops_since_adjust += 1;
        // Decays to half in ~700 frames (14 s at 20 ms).
        self.loss_recent *= 0.999;

        // Too little delay: insert a frame (play_ts stays), the delay grows by one frame.
        if delay < target - h && self.pops_since_adjust >= 2 {
            self.pops_since_adjust = 0;
            self.stats.stretches += 1;
            return Playout::Missing { duration: frame };
        }
        let frame = frame as i64;
        // Anything older than the play position can no longer be played.
        self.drop_before(self.play_ts);
        // Too much delay: skip one frame, in a pause if one comes soon enough.
        if delay >= target + frame && self.pops_since_adjust >= self.cfg.shrink_interval {
            let now_ok = self.quiet
                || self.shrink_waited >= self.cfg.shrink_wait
                || delay >= target + 4 * frame;
            if now_ok {
                self.pops_since_adjust = 0;
                self.shrink_waited = 0;
                self.stats.shrinks += 1;
                self.play_ts += frame;
                self.drop_before(self.play_ts);
            } else {
                self.shrink_waited += 1;
            }
        } else if delay < target + frame {
            self.shrink_waited = 0;
        }
        // The frame due now is the first packet starting within this frame's span: matching
        // by span rather than exact timestamp keeps the grid aligned with the packets even
        // when the frame size was learned late or the sender's grid shifted.
        if let Some((&t, _)) = self.slots.first_key_value()
            && t < self.play_ts + frame
            && let Some(slot) = self.slots.remove(&t)
        {
            self.play_ts = t + frame;
            self.stats.played += 1;
            return Playout::Frame {
                payload: slot.payload,
                timestamp: slot.timestamp,
                duration: frame as u32,
            };
        }
        self.play_ts += frame;
        self.stats.missing += 1;
        self.loss_recent += 1.0;
        if self.cfg.fec
            && let Some((&t, s)) = self.slots.first_key_value()
            && t < self.play_ts + frame
        {
            self.stats.fec += 1;
            return Playout::Fec {
                next_payload: s.payload.clone(),
                duration: frame as u32,
            };
        }
        Playout::Missing {
            duration: frame as u32,
        }
    }

    fn drop_before(&mut self, ts: i64) {
        while let Some((&t, _)) = self.slots.first_key_value() {
            if t >= ts {
                break;
            }
            self.slots.pop_first();
        }
    }

    /// The playout position must follow a codec change (new clock rate, frame size).
    pub fn flush(&mut self) {
        self.reset();
    }
}

fn dur_units(d: Duration, rate: u32) -> i64 {
    (d.as_nanos() * rate as u128 / 1_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn payload_of(p: &Playout) -> Option<u8> {
        match p {
            Playout::Frame { payload, .. } => payload.first().copied(),
            _ => None,
        }
    }

    /// Frames in strictly increasing order, and every gap is a lost packet or a shrink.
    fn check_order(got: &[u8], jb: &JitterBuffer, lost: &[u8]) {
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        let (Some(&first), Some(&last)) = (got.first(), got.last()) else {
            panic!("nothing played")
        };
        let gaps = (first..=last)
            .filter(|s| !got.contains(s) && !lost.contains(s))
            .count();
        assert!(
            gaps as u64 <= jb.stats().shrinks,
            "{got:?} {:?}",
            jb.stats()
        );
    }

    #[test]
    fn plays_in_order_despite_reordering_and_duplicates() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        // Packet s is sent at 20 ms × s; even ones take 25 ms, odd ones 2 ms, so every pair
        // arrives swapped; packet 4 arrives twice.
        let mut arrivals: Vec<(Duration, u16)> = (0..50u16)
            .map(|s| {
                (
                    20 * MS * s as u32 + if s % 2 == 0 { 25 * MS } else { 2 * MS },
                    s,
                )
            })
            .collect();
        arrivals.push((200 * MS, 4));
        arrivals.sort();
        let mut got = Vec::new();
        let mut a = arrivals.into_iter().peekable();
        for k in 0..70u32 {
            let now = t0 + 20 * MS * k;
            while let Some((at, s)) = a.next_if(|(at, _)| t0 + *at <= now) {
                jb.push(t0 + at, 7, s, s as u32 * 160, &[s as u8]);
            }
            got.extend(payload_of(&jb.pop(now)));
        }
        check_order(&got, &jb, &[]);
        assert!(got.len() >= 46, "{got:?}");
        assert_eq!(jb.stats().duplicates, 1);
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn silence_before_start_and_missing_with_fec() {
        let t0 = Instant::now();
        let mut cfg = JitterConfig::new(48000);
        cfg.fec = true;
        cfg.initial_delay = 60 * MS;
        let mut jb = JitterBuffer::new(cfg);
        assert_eq!(jb.pop(t0), Playout::Silence { duration: 960 });
        let mut out = Vec::new();
        for k in 0..30u32 {
            let now = t0 + 20 * MS * k;
            // Packet 12 is lost; the buffer has 60 ms of delay when it should play.
            if k != 12 {
                jb.push(now, 1, k as u16, k * 960, &[k as u8]);
            }
            out.push(jb.pop(now));
        }
        let fec: Vec<_> = out
            .iter()
            .filter(|p| matches!(p, Playout::Fec { .. }))
            .collect();
        assert_eq!(
            fec,
            vec![&Playout::Fec {
                next_payload: vec![13],
                duration: 960
            }]
        );
        assert_eq!(jb.stats().fec, 1);
        let got: Vec<u8> = out.iter().filter_map(payload_of).collect();
        assert!(got.contains(&13) && !got.contains(&12));
        check_order(&got, &jb, &[12]);
    }

    #[test]
    fn timestamp_wrap_is_seamless() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        let start = u32::MAX - 160 * 5;
        let mut got = Vec::new();
        for k in 0..40u32 {
            let now = t0 + 20 * MS * k;
            jb.push(now, 1, k as u16, start.wrapping_add(k * 160), &[k as u8]);
            got.extend(payload_of(&jb.pop(now)));
        }
        check_order(&got, &jb, &[]);
        assert!(got.len() >= 30);
        assert_eq!(jb.stats().resets, 0);
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn ssrc_change_and_jump_reset() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        let mut now = t0;
        for k in 0..20u32 {
            jb.push(now, 1, k as u16, k * 160, &[1]);
            jb.pop(now);
            now += 20 * MS;
        }
        // New SSRC with a far timestamp: reset, plays after the initial delay.
        for k in 0..10u32 {
            jb.push(now, 2, 500 + k as u16, 9_000_000 + k * 160, &[2]);
            let p = jb.pop(now);
            if k >= 4 {
                assert_eq!(payload_of(&p), Some(2), "k={k}");
            }
            now += 20 * MS;
        }
        assert_eq!(jb.stats().resets, 1);
        // One stray far packet is ignored; a real jump (two in a row) resets.
        jb.push(now, 2, 600, 1, &[9]);
        assert_eq!(jb.stats().resets, 1);
        jb.push(now, 2, 601, 161, &[3]);
        assert_eq!(jb.stats().resets, 2);
    }

    #[test]
    fn frame_duration_is_learned_but_not_from_one_gap() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        // A 30 ms peer: learned after three packets.
        let mut got = Vec::new();
        for k in 0..60u32 {
            let now = t0 + 30 * MS * k;
            jb.push(now, 1, k as u16, k * 240, &[k as u8]);
            got.extend(payload_of(&jb.pop(now)));
        }
        assert_eq!(jb.frame_ts, 240);
        check_order(&got, &jb, &[]);
        assert!(got.len() >= 55, "{got:?}");
        // A 20 ms peer skipping one frame (consecutive sequence numbers, 40 ms apart).
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        for k in 0..20u32 {
            let ts = if k < 10 { k * 160 } else { (k + 1) * 160 };
            jb.push(t0 + 20 * MS * k, 1, k as u16, ts, &[0]);
        }
        assert_eq!(jb.frame_ts, 160);
    }

    /// Steady packets with no jitter and a 60 ms initial delay, two frames too much; the
    /// caller says which played frames were quiet. Returns the pops at which it shrank.
    fn shrinks_with(quiet: impl Fn(u32) -> Option<bool>) -> Vec<u32> {
        let t0 = Instant::now();
        let mut cfg = JitterConfig::new(8000);
        cfg.shrink_wait = 50;
        cfg.initial_delay = 60 * MS;
        let mut jb = JitterBuffer::new(cfg);
        let mut at = Vec::new();
        for k in 0..200u32 {
            let now = t0 + 20 * MS * k;
            jb.push(now, 1, k as u16, k * 160, &[k as u8]);
            let before = jb.stats().shrinks;
            jb.pop(now);
            if jb.stats().shrinks > before {
                at.push(k);
            }
            if let Some(q) = quiet(k) {
                jb.set_quiet(q);
            }
        }
        at
    }

    #[test]
    fn shrinks_wait_for_a_pause_but_not_forever() {
        // Not told: both shrinks as soon as they are due.
        let eager = shrinks_with(|_| None);
        assert_eq!(eager.len(), 2, "{eager:?}");
        assert!(eager[1] < 15, "{eager:?}");
        // Speech but for a pause at frames 30-31: the first shrink skips the frame after the
        // pause; the second finds no pause and drops speech after waiting 50 frames.
        let patient = shrinks_with(|k| Some(k == 30 || k == 31));
        assert_eq!(patient, vec![31, 84]);
        // A delay four frames or more above the target does not wait.
        let t0 = Instant::now();
        let mut cfg = JitterConfig::new(8000);
        cfg.initial_delay = 120 * MS;
        let mut jb = JitterBuffer::new(cfg);
        for k in 0..40u32 {
            let now = t0 + 20 * MS * k;
            jb.push(now, 1, k as u16, k * 160, &[0]);
            jb.pop(now);
            jb.set_quiet(false);
        }
        assert_eq!(jb.stats().shrinks, 2, "{:?}", jb.stats());
    }

    #[test]
    fn garbage_is_bounded() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        let mut r = crate::rng::SplitMix64::new(5);
        for i in 0..20_000u32 {
            let now = t0 + MS * i;
            jb.push(
                now,
                r.below(3) as u32,
                r.next_u32() as u16,
                r.next_u32(),
                &[0],
            );
            if i % 20 == 0 {
                jb.pop(now);
            }
        }
        assert!(jb.slots.len() <= MAX_SLOTS);
    }
}
