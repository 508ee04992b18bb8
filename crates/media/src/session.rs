//! The RTP session core (RFC 3550): one audio stream, sender and receiver.
//!
//! Drive it like every sans-IO core of Homeline:
//!
//! ```text
//! loop {
//!     // inputs, each with the current time:
//!     session.send_audio(now, &encoded, samples);    // every captured frame
//!     session.handle_datagram(now, from, &bytes)?;   // every datagram on the media socket(s)
//!     session.handle_timeout(now);                   // when poll_timeout() is reached
//!     // then drain everything:
//!     while let Some(t) = session.poll_transmit() { socket.send_to(&t.contents, t.destination) }
//!     while let Some(e) = session.poll_event() { /* Media → jitter buffer, Dtmf, Latched, … */ }
//!     sleep_until(session.poll_timeout());
//! }
//! ```
//!
//! What it does:
//! * **Sender** (§5.1): SSRC, first sequence number and first timestamp are random, drawn
//!   from the caller's seed. The timestamp advances by the frame size between consecutive
//!   frames and by wall-clock time across gaps (DTX, hold, DTMF), so the receiver can keep
//!   its playout timing; the first packet after a gap carries the marker bit (RFC 3551 §4.1).
//! * **Receiver statistics** exactly as RFC 3550 Appendix A: sequence validation with
//!   probation and wrap (A.1), expected/lost and fraction lost (A.3), interarrival jitter (A.8).
//! * **RTCP**: a compound SR or RR + SDES CNAME every [`SessionConfig::rtcp_interval`]
//!   (a simplification of §6.3: fixed 5 s, randomized ×[0.5, 1.5] with the seeded RNG); RTT
//!   from LSR/DLSR of the report blocks about us (§6.4.1); BYE on [`RtpSession::close`].
//! * **Symmetric RTP** (RFC 4961) with latching: the first source address of valid RTP
//!   becomes the destination; another address takes over only after
//!   [`SessionConfig::relatch_after`] consecutive packets from it with the current SSRC
//!   (a NAT rebinding), so a stray or spoofed packet cannot steal the stream.
//! * **DTMF** as RFC 4733 events both ways ([`crate::dtmf`]).
//! * **Dead air**: events when no RTP arrives 3 s after start, when reception stops for 5 s,
//!   and after 60 s without RTP (the runtime may hang up), not while on hold.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dtmf::{DtmfError, DtmfEvent, DtmfReceiver, DtmfSender, digit_to_event};
use crate::rng::SplitMix64;
use crate::rtcp::{
    self, Bye, ReceiverReport, ReportBlock, RtcpError, RtcpPacket, SdesChunk, SenderReport,
};
use crate::rtp::{PacketKind, RtpError, RtpPacket, classify};
use crate::sdp::{Direction, NegotiatedSession};

/// Errors on session input. None of them is fatal: the driver logs and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Rtp(#[from] RtpError),
    #[error(transparent)]
    Rtcp(#[from] RtcpError),
    #[error(transparent)]
    Dtmf(#[from] DtmfError),
    #[error("datagram is neither RTP nor RTCP")]
    NotRtp,
    #[error("RTP payload type {0} was not negotiated")]
    UnexpectedPayloadType(u8),
    #[error("no telephone-event payload type was negotiated")]
    NoDtmf,
    #[cfg(feature = "srtp")]
    #[error(transparent)]
    Srtp(#[from] crate::srtp::SrtpError),
}

/// How a session is set up. [`SessionConfig::from_negotiated`] fills it from SDP.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Seed for SSRC, initial sequence number and timestamp, and RTCP interval randomization.
    /// Take it from the OS in production, a constant in tests.
    pub seed: u64,
    pub payload_type: u8,
    pub clock_rate: u32,
    pub ptime: Duration,
    pub dtmf_payload_type: Option<u8>,
    pub remote_rtp: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
    pub rtcp_mux: bool,
    pub direction: Direction,
    /// SDES CNAME (RFC 3550 §6.5.1), e.g. a random string per call (RFC 7022).
    pub cname: String,
    /// The 64-bit NTP wall-clock time corresponding to the `now` given to [`RtpSession::new`]
    /// (for SR timestamps and RTT).
    pub ntp_at_start: u64,
    pub rtcp_interval: Duration,
    pub relatch_after: u32,
    pub no_media_after_start: Duration,
    pub media_stall: Duration,
    pub rtp_timeout: Duration,
}

impl SessionConfig {
    pub fn from_negotiated(
        n: &NegotiatedSession,
        seed: u64,
        ntp_at_start: u64,
        cname: &str,
    ) -> Self {
        SessionConfig {
            seed,
            payload_type: n.payload_type,
            clock_rate: n.clock_rate,
            ptime: Duration::from_millis(n.ptime_ms as u64),
            dtmf_payload_type: n.dtmf_payload_type,
            remote_rtp: n.remote_rtp,
            remote_rtcp: n.remote_rtcp,
            rtcp_mux: n.rtcp_mux,
            direction: n.direction,
            cname: cname.into(),
            ntp_at_start,
            rtcp_interval: Duration::from_secs(5),
            relatch_after: 5,
            no_media_after_start: Duration::from_secs(3),
            media_stall: Duration::from_secs(5),
            rtp_timeout: Duration::from_secs(60),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
    /// RTCP (goes out of the RTCP socket when rtcp-mux is off).
    pub rtcp: bool,
}

/// What happened, for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// An audio packet of the current remote source: feed it to the jitter buffer.
    Media {
        packet: RtpPacket,
        arrival: Instant,
    },
    Dtmf(DtmfEvent),
    /// We now send to the address the peer's RTP comes from.
    Latched(SocketAddr),
    /// The peer's RTP moved (NAT rebinding) and we followed.
    Relatched {
        from: SocketAddr,
        to: SocketAddr,
    },
    /// The peer's SSRC changed (e.g. a transfer behind a B2BUA): reset the jitter buffer.
    RemoteSsrcChanged {
        old: u32,
        new: u32,
    },
    /// The peer left (RTCP BYE).
    Bye {
        reason: Option<String>,
    },
    /// Nothing received `no_media_after_start` after start: the far end's media does not reach
    /// us (typically a firewall or NAT blocking incoming UDP).
    NoMediaReceived,
    /// Reception stopped for `media_stall` in the middle of the call.
    MediaStalled,
    /// Reception came back after [`SessionEvent::MediaStalled`] or
    /// [`SessionEvent::NoMediaReceived`].
    MediaResumed,
    /// No RTP for `rtp_timeout`: the runtime should hang up.
    RtpTimeout,
}

impl SessionEvent {
    /// The plain-language explanation and next step for the events a user should see
    /// (the dead-air banner); `None` for the others.
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self {
            SessionEvent::NoMediaReceived => {
                "We send audio but receive none: a firewall or NAT is probably blocking incoming \
                 UDP. Try the connectivity test, or switch the account to the TCP/TLS relay."
            }
            SessionEvent::MediaStalled => {
                "The other side's audio stopped arriving. If it does not come back, the network \
                 path changed (Wi-Fi roaming, VPN) or the other side lost its connection."
            }
            SessionEvent::RtpTimeout => {
                "No audio has arrived for a minute: the call is considered lost and will be \
                 ended."
            }
            _ => return None,
        })
    }
}

/// Live statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStats {
    pub ssrc: u32,
    pub remote_ssrc: Option<u32>,
    pub packets_sent: u64,
    pub octets_sent: u64,
    pub packets_received: u64,
    pub octets_received: u64,
    /// Packets expected minus received since the remote source was validated (A.3).
    pub packets_lost: i64,
    pub packets_expected: u64,
    /// Fraction lost over the last RTCP interval, 0.0-1.0.
    pub fraction_lost: f64,
    /// Our interarrival jitter estimate (A.8), milliseconds.
    pub jitter_ms: f64,
    /// What the peer reports about our stream.
    pub remote_fraction_lost: Option<f64>,
    pub remote_jitter_ms: Option<f64>,
    pub rtt: Option<Duration>,
    pub latched: Option<SocketAddr>,
    pub malformed: u64,
    pub foreign: u64,
}

const RTP_SEQ_MOD: u32 = 1 << 16;
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u32 = 2;

/// Per-source receive state, RFC 3550 Appendix A.1.
#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    transit: Option<u32>,
    jitter: f64,
    last_sr: Option<(u32, Instant)>,
}

impl Source {
    fn new(ssrc: u32, seq: u16) -> Self {
        let mut s = Source {
            ssrc,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
            last_sr: None,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`: true when the packet is valid (counted).
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta as u32 <= RTP_SEQ_MOD - MAX_MISORDER as u32 {
            // A very large jump: accept only if the next packet continues from it (the
            // sender restarted), A.1.
            if seq as u32 == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (seq as u32 + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        }
        // else: duplicate or reordered, counted as received (A.1 does so too).
        self.received = self.received.wrapping_add(1);
        true
    }

    fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    fn expected(&self) -> u32 {
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// A.8: `arrival` in timestamp units.
    fn update_jitter(&mut self, arrival: u32, ts: u32) {
        let transit = arrival.wrapping_sub(ts);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// A.3, consumes the interval counters.
    fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, dlsr) = match self.last_sr {
            Some((mid, at)) => (mid, dur_to_q16(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost: fraction,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            extended_highest_seq: self.extended_max(),
            jitter: self.jitter as u32,
            last_sr,
            delay_since_last_sr: dlsr,
        }
    }
}

/// Duration in units of 1/65536 s (DLSR, RFC 3550 §6.4.1).
fn dur_to_q16(d: Duration) -> u32 {
    ((d.as_nanos() << 16) / 1_000_000_000).min(u32::MAX as u128) as u32
}

/// Duration as a 64-bit NTP difference.
fn dur_to_ntp(d: Duration) -> u64 {
    ((d.as_secs()) << 32).wrapping_add(((d.subsec_nanos() as u64) << 32) / 1_000_000_000)
}

#[derive(Debug)]
struct DtmfJob {
    sender: DtmfSender,
    timestamp: u32,
    next_at: Instant,
}

/// One RTP session (see the module doc).
#[derive(Debug)]
pub struct RtpSession {
    cfg: SessionConfig,
    rng: SplitMix64,
    start: Instant,
    ssrc: u32,
    seq: u16,
    /// Timestamp of the last packet sent and the instant it corresponds to.
    last_ts: Option<(u32, Instant, u32)>,
    initial_ts: u32,
    marker_next: bool,
    packets_sent: u32,
    octets_sent: u32,
    sent_since_report: bool,
    source: Option<Source>,
    candidate: Option<Source>,
    latched: Option<SocketAddr>,
    relatch: Option<(SocketAddr, u32)>,
    rtcp_latched: Option<SocketAddr>,
    dtmf_rx: DtmfReceiver,
    dtmf_tx: Option<DtmfJob>,
    dtmf_queue: VecDeque<(u8, Duration)>,
    next_rtcp: Instant,
    watch_base: Instant,
    last_rtp_at: Option<Instant>,
    no_media_reported: bool,
    stalled_reported: bool,
    timeout_reported: bool,
    closed: bool,
    #[cfg(feature = "srtp")]
    srtp: Option<crate::srtp::Srtp>,
    stats: SessionStats,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
}

impl RtpSession {
    pub fn new(now: Instant, mut cfg: SessionConfig) -> Self {
        // Durations are added to `Instant`s, which panics on overflow: keep them sane.
        let day = Duration::from_secs(86_400);
        for d in [
            &mut cfg.rtcp_interval,
            &mut cfg.no_media_after_start,
            &mut cfg.media_stall,
            &mut cfg.rtp_timeout,
        ] {
            *d = (*d).clamp(Duration::from_millis(1), day);
        }
        cfg.ptime = cfg
            .ptime
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        cfg.clock_rate = cfg.clock_rate.clamp(1, 192_000);
        let mut rng = SplitMix64::new(cfg.seed);
        let ssrc = rng.next_u32();
        let seq = rng.next_u32() as u16;
        let initial_ts = rng.next_u32();
        let first_rtcp = now + cfg.rtcp_interval.mul_f64(0.5 * (0.5 + rng.next_f64()));
        RtpSession {
            rng,
            start: now,
            ssrc,
            seq,
            last_ts: None,
            initial_ts,
            marker_next: true,
            packets_sent: 0,
            octets_sent: 0,
            sent_since_report: false,
            source: None,
            candidate: None,
            latched: None,
            relatch: None,
            rtcp_latched: None,
            dtmf_rx: DtmfReceiver::new(),
            dtmf_tx: None,
            dtmf_queue: VecDeque::new(),
            next_rtcp: first_rtcp,
            watch_base: now,
            last_rtp_at: None,
            no_media_reported: false,
            stalled_reported: false,
            timeout_reported: false,
            closed: false,
            #[cfg(feature = "srtp")]
            srtp: None,
            stats: SessionStats {
                ssrc,
                ..SessionStats::default()
            },
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            cfg,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    fn samples_per_frame(&self) -> u32 {
        (self.cfg.clock_rate as u128 * self.cfg.ptime.as_nanos() / 1_000_000_000) as u32
    }

    fn ts_units(&self, d: Duration) -> u64 {
        (d.as_nanos() * self.cfg.clock_rate as u128 / 1_000_000_000) as u64
    }

    fn ntp(&self, now: Instant) -> u64 {
        self.cfg
            .ntp_at_start
            .wrapping_add(dur_to_ntp(now.saturating_duration_since(self.start)))
    }

    /// The timestamp for a packet captured at `now` covering `samples`, and whether it
    /// follows a gap.
    fn next_timestamp(&self, now: Instant) -> (u32, bool) {
        match self.last_ts {
            None => (self.initial_ts, true),
            Some((ts, at, dur)) => {
                let elapsed = self.ts_units(now.saturating_duration_since(at));
                let frame = dur.max(1) as u64;
                if elapsed >= 2 * frame {
                    // A gap (DTX, hold, DTMF): follow the wall clock, in whole frames so the
                    // receiver's grid stays aligned.
                    let frames = (elapsed + frame / 2) / frame;
                    (ts.wrapping_add((frames * frame) as u32), true)
                } else {
                    (ts.wrapping_add(dur), false)
                }
            }
        }
    }

    fn rtp_destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.cfg.remote_rtp)
    }

    fn rtcp_destination(&self) -> Option<SocketAddr> {
        if self.cfg.rtcp_mux {
            self.rtp_destination()
        } else {
            self.rtcp_latched.or(self.cfg.remote_rtcp)
        }
    }

    fn emit_rtp(&mut self, pkt: RtpPacket) {
        let Some(dst) = self.rtp_destination() else {
            return;
        };
        let mut contents = Vec::with_capacity(12 + pkt.payload.len());
        // Our own packet has no CSRC/extension and a 7-bit payload type: it always serializes.
        if pkt.write_to(&mut contents).is_err() {
            return;
        }
        #[cfg(feature = "srtp")]
        if let Some(s) = self.srtp.as_mut() {
            match s.protect_rtp(&contents) {
                Ok(c) => contents = c,
                // Only fails on a packet it cannot parse, which ours never are.
                Err(_) => return,
            }
        }
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(pkt.payload.len() as u32);
        self.stats.packets_sent += 1;
        self.stats.octets_sent += pkt.payload.len() as u64;
        self.sent_since_report = true;
        self.transmits.push_back(Transmit {
            destination: dst,
            contents,
            rtcp: false,
        });
    }

    /// Sends one encoded frame captured at `now` that covers `samples` timestamp units (960 for
    /// 20 ms of Opus, 160 for 20 ms of G.711). Returns false when nothing was sent: on hold
    /// (direction without send), during a DTMF event, or with no destination yet.
    pub fn send_audio(&mut self, now: Instant, payload: &[u8], samples: u32) -> bool {
        if !self.cfg.direction.sends() || self.dtmf_tx.is_some() || self.closed {
            return false;
        }
        if self.rtp_destination().is_none() {
            return false;
        }
        let (ts, gap) = self.next_timestamp(now);
        let mut p = RtpPacket::new(
            self.cfg.payload_type,
            self.seq,
            ts,
            self.ssrc,
            payload.to_vec(),
        );
        p.marker = gap || self.marker_next;
        self.marker_next = false;
        self.seq = self.seq.wrapping_add(1);
        self.last_ts = Some((ts, now, samples.max(1)));
        self.emit_rtp(p);
        true
    }

    /// Queues a DTMF digit (`0-9 * # A-D`) of `duration` as RFC 4733 events. Its packets go
    /// out from [`RtpSession::handle_timeout`], one per ptime.
    pub fn send_dtmf(
        &mut self,
        now: Instant,
        digit: char,
        duration: Duration,
    ) -> Result<(), SessionError> {
        let event = digit_to_event(digit)?;
        if self.cfg.dtmf_payload_type.is_none() {
            return Err(SessionError::NoDtmf);
        }
        self.dtmf_queue.push_back((event, duration));
        self.start_next_dtmf(now);
        Ok(())
    }

    fn start_next_dtmf(&mut self, now: Instant) {
        if self.dtmf_tx.is_some() {
            return;
        }
        let Some((event, duration)) = self.dtmf_queue.pop_front() else {
            return;
        };
        let (ts, _) = self.next_timestamp(now);
        let frame = self.samples_per_frame();
        let total = self.ts_units(duration) as u32;
        // The event occupies the timeline from `ts` for its duration: audio after it continues
        // by wall clock from there.
        self.last_ts = Some((ts, now, frame.max(1)));
        self.dtmf_tx = Some(DtmfJob {
            sender: DtmfSender::new(event, 10, total, frame),
            timestamp: ts,
            next_at: now,
        });
        self.marker_next = true;
    }

    fn run_dtmf(&mut self, now: Instant) {
        while let Some(job) = self.dtmf_tx.as_mut() {
            if job.next_at > now {
                return;
            }
            let ts = job.timestamp;
            match job.sender.next_packet() {
                Some(pkt) => {
                    job.next_at += if pkt.end {
                        // The three end packets go back to back (§2.5.1.4 allows it), but not
                        // in the same instant so a single burst loss doesn't kill them all.
                        self.cfg.ptime / 4
                    } else {
                        self.cfg.ptime
                    };
                    let pt = self.cfg.dtmf_payload_type.unwrap_or(101);
                    // On hold or without a destination nothing goes out, and no sequence
                    // number is used up (the receiver would count it as lost).
                    if self.cfg.direction.sends() && self.rtp_destination().is_some() {
                        let mut p =
                            RtpPacket::new(pt, self.seq, ts, self.ssrc, pkt.payload.to_vec());
                        p.marker = pkt.marker;
                        self.seq = self.seq.wrapping_add(1);
                        self.emit_rtp(p);
                    }
                }
                None => {
                    let at = job.next_at;
                    self.dtmf_tx = None;
                    // Inter-digit pause before the next queued digit.
                    if !self.dtmf_queue.is_empty() {
                        self.start_next_dtmf(at + Duration::from_millis(60));
                        if let Some(j) = self.dtmf_tx.as_mut() {
                            j.next_at = at + Duration::from_millis(60);
                        }
                    }
                }
            }
        }
    }

    /// Feeds a datagram received on the media socket (or the RTCP socket) from `from`.
    /// Errors say why the datagram was dropped; the session is unaffected.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), SessionError> {
        let kind = classify(data);
        // With SRTP, nothing is looked at (not even for latching) before it authenticates.
        #[cfg(feature = "srtp")]
        if let Some(s) = self.srtp.as_mut()
            && matches!(kind, PacketKind::Rtp | PacketKind::Rtcp)
        {
            let clear = match kind {
                PacketKind::Rtp => s.unprotect_rtp(data),
                _ => s.unprotect_rtcp(data),
            }
            .inspect_err(|_| self.stats.malformed += 1)?;
            return match kind {
                PacketKind::Rtp => self.handle_rtp(now, from, &clear),
                _ => self.handle_rtcp(now, from, &clear),
            };
        }
        match kind {
            PacketKind::Rtp => self.handle_rtp(now, from, data),
            PacketKind::Rtcp => self.handle_rtcp(now, from, data),
            _ => {
                self.stats.malformed += 1;
                Err(SessionError::NotRtp)
            }
        }
    }

    fn handle_rtp(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), SessionError> {
        let pkt = RtpPacket::parse(data).inspect_err(|_| self.stats.malformed += 1)?;
        let is_dtmf = Some(pkt.payload_type) == self.cfg.dtmf_payload_type;
        // Comfort noise (13) is valid RTP from the peer even if not negotiated.
        if pkt.payload_type != self.cfg.payload_type && !is_dtmf && pkt.payload_type != 13 {
            self.stats.malformed += 1;
            return Err(SessionError::UnexpectedPayloadType(pkt.payload_type));
        }

        // Latching (RFC 4961 symmetric RTP).
        match self.latched {
            None => {
                self.latched = Some(from);
                self.stats.latched = Some(from);
                self.events.push_back(SessionEvent::Latched(from));
            }
            Some(l) if l == from => self.relatch = None,
            Some(l) => {
                let current = self.source.as_ref().map(|s| s.ssrc);
                if current != Some(pkt.ssrc) {
                    self.relatch = None;
                    self.stats.foreign += 1;
                    return Ok(());
                }
                let count = match self.relatch {
                    Some((a, n)) if a == from => n + 1,
                    _ => 1,
                };
                if count < self.cfg.relatch_after {
                    self.relatch = Some((from, count));
                    self.stats.foreign += 1;
                    return Ok(());
                }
                self.relatch = None;
                self.latched = Some(from);
                self.stats.latched = Some(from);
                self.events
                    .push_back(SessionEvent::Relatched { from: l, to: from });
            }
        }

        // Source tracking (A.1) and SSRC changes.
        match &mut self.source {
            Some(s) if s.ssrc == pkt.ssrc => {
                s.update_seq(pkt.sequence);
            }
            Some(s) => {
                let old = s.ssrc;
                let cand = match self.candidate.take() {
                    Some(c) if c.ssrc == pkt.ssrc => c,
                    _ => Source::new(pkt.ssrc, pkt.sequence),
                };
                let mut cand = cand;
                if !cand.update_seq(pkt.sequence) {
                    self.candidate = Some(cand);
                    return Ok(());
                }
                self.source = Some(cand);
                self.dtmf_rx = DtmfReceiver::new();
                self.stats.remote_ssrc = Some(pkt.ssrc);
                self.events
                    .push_back(SessionEvent::RemoteSsrcChanged { old, new: pkt.ssrc });
            }
            None => {
                let mut s = Source::new(pkt.ssrc, pkt.sequence);
                s.update_seq(pkt.sequence);
                self.source = Some(s);
                self.stats.remote_ssrc = Some(pkt.ssrc);
            }
        }

        self.stats.packets_received += 1;
        self.stats.octets_received += pkt.payload.len() as u64;
        if self.stalled_reported || self.no_media_reported {
            self.events.push_back(SessionEvent::MediaResumed);
        }
        self.last_rtp_at = Some(now);
        self.no_media_reported = false;
        self.stalled_reported = false;
        self.timeout_reported = false;

        if is_dtmf {
            for e in self.dtmf_rx.handle(pkt.timestamp, &pkt.payload)? {
                self.events.push_back(SessionEvent::Dtmf(e));
            }
            return Ok(());
        }
        if pkt.payload_type == self.cfg.payload_type {
            let arrival = self.ts_units(now.saturating_duration_since(self.start)) as u32;
            if let Some(s) = self.source.as_mut() {
                s.update_jitter(arrival, pkt.timestamp);
            }
            self.events.push_back(SessionEvent::Media {
                packet: pkt,
                arrival: now,
            });
        }
        Ok(())
    }

    fn handle_rtcp(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), SessionError> {
        let pkts = rtcp::parse_compound(data).inspect_err(|_| self.stats.malformed += 1)?;
        if !self.cfg.rtcp_mux && self.rtcp_latched.is_none() {
            self.rtcp_latched = Some(from);
        }
        let remote = self.source.as_ref().map(|s| s.ssrc);
        for p in pkts {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if Some(sr.ssrc) == remote
                        && let Some(s) = self.source.as_mut()
                    {
                        s.last_sr = Some(((sr.ntp_timestamp >> 16) as u32, now));
                    }
                    self.handle_blocks(now, &sr.reports);
                }
                RtcpPacket::ReceiverReport(rr) => self.handle_blocks(now, &rr.reports),
                RtcpPacket::Bye(b) if remote.is_none_or(|r| b.sources.contains(&r)) => {
                    self.events.push_back(SessionEvent::Bye {
                        reason: b.reason.map(|r| String::from_utf8_lossy(&r).into_owned()),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn handle_blocks(&mut self, now: Instant, blocks: &[ReportBlock]) {
        for b in blocks.iter().filter(|b| b.ssrc == self.ssrc) {
            self.stats.remote_fraction_lost = Some(b.fraction_lost as f64 / 256.0);
            self.stats.remote_jitter_ms =
                Some(b.jitter as f64 * 1000.0 / self.cfg.clock_rate.max(1) as f64);
            if b.last_sr != 0 {
                // RTT = A - LSR - DLSR, all in 1/65536 s (§6.4.1).
                let a = (self.ntp(now) >> 16) as u32;
                let rtt = a
                    .wrapping_sub(b.last_sr)
                    .wrapping_sub(b.delay_since_last_sr);
                if rtt < 1 << 31 {
                    self.stats.rtt =
                        Some(Duration::from_nanos(((rtt as u64) * 1_000_000_000) >> 16));
                }
            }
        }
    }

    fn build_rtcp(&mut self, now: Instant, bye: Option<&str>) -> Vec<RtcpPacket> {
        let mut blocks = Vec::new();
        if let Some(s) = self.source.as_mut()
            && s.probation == 0
        {
            let b = s.report_block(now);
            self.stats.fraction_lost = b.fraction_lost as f64 / 256.0;
            blocks.push(b);
        }
        let mut out = Vec::with_capacity(3);
        if self.sent_since_report {
            let rtp_ts = match self.last_ts {
                Some((ts, at, _)) => {
                    ts.wrapping_add(self.ts_units(now.saturating_duration_since(at)) as u32)
                }
                None => self.initial_ts,
            };
            out.push(RtcpPacket::SenderReport(SenderReport {
                ssrc: self.ssrc,
                ntp_timestamp: self.ntp(now),
                rtp_timestamp: rtp_ts,
                packet_count: self.packets_sent,
                octet_count: self.octets_sent,
                reports: blocks,
            }));
        } else {
            out.push(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.ssrc,
                reports: blocks,
            }));
        }
        self.sent_since_report = false;
        let mut cname = self.cfg.cname.as_bytes().to_vec();
        cname.truncate(255);
        out.push(RtcpPacket::Sdes(vec![SdesChunk {
            ssrc: self.ssrc,
            items: vec![(rtcp::SDES_CNAME, cname)],
        }]));
        if let Some(reason) = bye {
            let mut r = reason.as_bytes().to_vec();
            r.truncate(255);
            out.push(RtcpPacket::Bye(Bye {
                sources: vec![self.ssrc],
                reason: (!r.is_empty()).then_some(r),
            }));
        }
        out
    }

    fn emit_rtcp(&mut self, now: Instant, bye: Option<&str>) {
        let pkts = self.build_rtcp(now, bye);
        let Some(dst) = self.rtcp_destination() else {
            return;
        };
        // Our packets are built within every field limit, so serialization cannot fail.
        if let Ok(contents) = rtcp::serialize_compound(&pkts) {
            #[cfg(feature = "srtp")]
            let contents = match self.srtp.as_mut() {
                Some(s) => match s.protect_rtcp(&contents) {
                    Ok(c) => c,
                    Err(_) => return,
                },
                None => contents,
            };
            self.transmits.push_back(Transmit {
                destination: dst,
                contents,
                rtcp: true,
            });
        }
    }

    fn watchdog_deadlines(&self) -> [Option<Instant>; 3] {
        if !self.cfg.direction.receives() || self.closed {
            return [None; 3];
        }
        match self.last_rtp_at {
            None => [
                (!self.no_media_reported).then(|| self.watch_base + self.cfg.no_media_after_start),
                None,
                (!self.timeout_reported).then(|| self.watch_base + self.cfg.rtp_timeout),
            ],
            Some(last) => {
                let last = last.max(self.watch_base);
                [
                    None,
                    (!self.stalled_reported).then(|| last + self.cfg.media_stall),
                    (!self.timeout_reported).then(|| last + self.cfg.rtp_timeout),
                ]
            }
        }
    }

    /// Runs timers: RTCP reports, DTMF packets, dead-air detection. Call it when the instant of
    /// [`RtpSession::poll_timeout`] is reached (calling it earlier or more often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.run_dtmf(now);
        if now >= self.next_rtcp {
            self.emit_rtcp(now, None);
            let f = 0.5 + self.rng.next_f64();
            self.next_rtcp = now + self.cfg.rtcp_interval.mul_f64(f);
        }
        let [no_media, stall, timeout] = self.watchdog_deadlines();
        if no_media.is_some_and(|t| now >= t) {
            self.no_media_reported = true;
            self.events.push_back(SessionEvent::NoMediaReceived);
        }
        if stall.is_some_and(|t| now >= t) {
            self.stalled_reported = true;
            self.events.push_back(SessionEvent::MediaStalled);
        }
        if timeout.is_some_and(|t| now >= t) {
            self.timeout_reported = true;
            self.events.push_back(SessionEvent::RtpTimeout);
        }
    }

    /// The next instant [`RtpSession::handle_timeout`] must be called; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t = self.next_rtcp;
        if let Some(j) = &self.dtmf_tx {
            t = t.min(j.next_at);
        }
        for d in self.watchdog_deadlines().into_iter().flatten() {
            t = t.min(d);
        }
        Some(t)
    }

    /// The next datagram to send. Drain after every input.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event. Drain after every input.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Hold/resume (after the re-INVITE's offer/answer). Sending resumes with the timestamp
    /// advanced by the wall-clock time on hold and the marker bit set.
    pub fn set_direction(&mut self, now: Instant, direction: Direction) {
        if direction.receives() && !self.cfg.direction.receives() {
            self.watch_base = now;
            self.stalled_reported = false;
            self.no_media_reported = false;
            self.timeout_reported = false;
        }
        self.cfg.direction = direction;
        self.marker_next = true;
    }

    /// A new remote address from a re-INVITE: latching starts over.
    pub fn set_remote(&mut self, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) {
        self.cfg.remote_rtp = rtp;
        self.cfg.remote_rtcp = rtcp;
        self.latched = None;
        self.rtcp_latched = None;
        self.relatch = None;
        self.stats.latched = None;
    }

    /// A codec change from a re-INVITE: same SSRC and sequence, timestamp continuing by wall
    /// clock at the new rate (RFC 7160 §4.1 tolerates the rate change within a source).
    pub fn set_codec(&mut self, payload_type: u8, clock_rate: u32, ptime: Duration) {
        let clock_rate = clock_rate.clamp(1, 192_000);
        let ptime = ptime.clamp(Duration::from_millis(1), Duration::from_millis(200));
        if clock_rate != self.cfg.clock_rate
            && let Some((ts, at, _)) = self.last_ts
        {
            let frame = (clock_rate as u128 * ptime.as_nanos() / 1_000_000_000) as u32;
            self.last_ts = Some((ts, at, frame.max(1)));
        }
        self.cfg.payload_type = payload_type;
        self.cfg.clock_rate = clock_rate;
        self.cfg.ptime = ptime;
        self.marker_next = true;
        if let Some(s) = self.source.as_mut() {
            s.transit = None;
        }
    }

    /// Ends the session: queues an RTCP report with BYE (§6.6). Afterwards nothing is sent.
    pub fn close(&mut self, now: Instant, reason: &str) {
        if self.closed {
            return;
        }
        self.emit_rtcp(now, Some(reason));
        self.closed = true;
    }

    /// Turns on SDES-SRTP (from [`crate::srtp::Srtp::new`] with the negotiated `a=crypto`
    /// lines): from now on everything sent is protected and everything received must
    /// authenticate.
    #[cfg(feature = "srtp")]
    pub fn set_srtp(&mut self, srtp: crate::srtp::Srtp) {
        self.srtp = Some(srtp);
    }

    /// Current statistics.
    pub fn stats(&self) -> SessionStats {
        let mut s = self.stats.clone();
        if let Some(src) = &self.source {
            s.packets_lost = src.lost();
            s.packets_expected = if src.probation == 0 {
                src.expected() as u64
            } else {
                0
            };
            s.jitter_ms = src.jitter * 1000.0 / self.cfg.clock_rate.max(1) as f64;
        }
        s
    }
}
