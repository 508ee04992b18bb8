//! Two Homeline endpoints in one process: SDP offer/answer, RTP sessions, G.711, jitter
//! buffers, over a simulated network (latency, jitter, loss, a NAT in front of Alice, clock
//! drift), on simulated time. Checks what a user would notice: audio arrives, DTMF arrives,
//! hold works, the stats and the MOS are right.

#![allow(clippy::unwrap_used)] // test code

mod netsim;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_media::codec::Codec;
use homeline_media::dtmf::{DtmfEvent, event_to_digit};
use homeline_media::g711::G711;
use homeline_media::jitter::{JitterBuffer, JitterConfig, Playout};
use homeline_media::rng::SplitMix64;
use homeline_media::sdp::{self, AudioCodec, Direction, LocalMedia, SessionDescription};
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent};
use homeline_media::stats::CallQuality;
use netsim::Jitter;

const FRAME: Duration = Duration::from_millis(20);

struct Endpoint {
    name: &'static str,
    /// Clock error: this endpoint's clock reads true time × (1 + ppm·10⁻⁶).
    ppm: f64,
    /// The source address its packets appear from on the network.
    public: SocketAddr,
    rtp: RtpSession,
    jb: JitterBuffer,
    enc: G711,
    dec: G711,
    tone_hz: f64,
    phase: u64,
    next_frame: u64,
    played: Vec<i16>,
    frames_real: u64,
    frames_concealed: u64,
    dtmf: Vec<DtmfEvent>,
    events: Vec<(Duration, SessionEvent)>,
}

impl Endpoint {
    fn clock(&self, t0: Instant, true_t: Duration) -> Instant {
        t0 + true_t.mul_f64(1.0 + self.ppm * 1e-6)
    }
    /// True time of this endpoint's k-th 20 ms tick.
    fn tick_at(&self, k: u64) -> Duration {
        (FRAME * k as u32).div_f64(1.0 + self.ppm * 1e-6)
    }
}

/// (arrival true-time ns, sequence for a stable order, to Alice?, from, bytes)
type InFlight = (u64, u64, bool, SocketAddr, Vec<u8>);

struct Net {
    rng: SplitMix64,
    latency_ms: f64,
    jitter: Jitter,
    loss: f64,
    queue: BinaryHeap<Reverse<InFlight>>,
    n: u64,
}

impl Net {
    fn send(&mut self, now: Duration, to_alice: bool, from: SocketAddr, bytes: Vec<u8>) {
        if self.rng.next_f64() < self.loss {
            return;
        }
        let d = self.latency_ms + self.jitter.sample(&mut self.rng);
        let at = (now.as_secs_f64() + d / 1000.0) * 1e9;
        self.n += 1;
        self.queue
            .push(Reverse((at as u64, self.n, to_alice, from, bytes)));
    }
}

fn goertzel_ratio(x: &[i16], hz: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    let mut energy = 0.0;
    for &v in x {
        let v = v as f64;
        energy += v * v;
        let s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    // Fraction of the energy in this bin (a pure tone gives ≈ 1).
    2.0 * power / (x.len() as f64 * energy.max(1.0))
}

fn pump(ep: &mut Endpoint, t0: Instant, now_true: Duration, net: &mut Net, to_alice: bool) {
    while let Some(t) = ep.rtp.poll_transmit() {
        // The NAT: whatever the endpoint sends appears from its public address.
        let _ = t.destination;
        net.send(now_true, to_alice, ep.public, t.contents);
    }
    while let Some(e) = ep.rtp.poll_event() {
        match e {
            SessionEvent::Media { packet, arrival } => ep.jb.push(
                arrival,
                packet.ssrc,
                packet.sequence,
                packet.timestamp,
                &packet.payload,
            ),
            SessionEvent::Dtmf(d) => ep.dtmf.push(d),
            other => ep
                .events
                .push((ep.clock(t0, now_true).duration_since(t0), other)),
        }
    }
}

#[test]
fn a_call_between_two_endpoints() {
    let t0 = Instant::now();
    // --- signalling: Alice offers, Bob answers ---
    let alice_local: SocketAddr = "192.168.1.10:4000".parse().unwrap();
    let alice_public: SocketAddr = "203.0.113.5:40000".parse().unwrap();
    let bob_addr: SocketAddr = "198.51.100.20:5000".parse().unwrap();
    let mut la = LocalMedia::new(alice_local.ip(), alice_local.port(), 1);
    la.codecs = vec![AudioCodec::Pcma, AudioCodec::Pcmu];
    let lb = LocalMedia::new(bob_addr.ip(), bob_addr.port(), 2);
    let offer = sdp::build_offer(&la);
    let offer_wire = SessionDescription::parse(&offer.to_string()).unwrap();
    let (answer, nb) = sdp::answer_offer(&lb, &offer_wire).unwrap();
    let answer_wire = SessionDescription::parse(&answer.to_string()).unwrap();
    let na = sdp::process_answer(&la, &offer, &answer_wire).unwrap();
    assert_eq!((na.codec, nb.codec), (AudioCodec::Pcma, AudioCodec::Pcma));
    assert_eq!(na.dtmf_payload_type, Some(100));
    // Bob was told Alice's private address: only latching makes the call work.
    assert_eq!(nb.remote_rtp, Some(alice_local));

    let mk = |name, ppm, public, n: &sdp::NegotiatedSession, seed, tone_hz| Endpoint {
        name,
        ppm,
        public,
        rtp: RtpSession::new(
            t0,
            SessionConfig::from_negotiated(n, seed, 0xe000_0000_0000_0000, name),
        ),
        jb: JitterBuffer::new(JitterConfig::new(n.clock_rate)),
        enc: G711::alaw(),
        dec: G711::alaw(),
        tone_hz,
        phase: 0,
        next_frame: 0,
        played: Vec::new(),
        frames_real: 0,
        frames_concealed: 0,
        dtmf: Vec::new(),
        events: Vec::new(),
    };
    let mut alice = mk("alice", 50.0, alice_public, &na, 11, 440.0);
    let mut bob = mk("bob", -50.0, bob_addr, &nb, 22, 1000.0);
    let mut net = Net {
        rng: SplitMix64::new(99),
        latency_ms: 30.0,
        jitter: Jitter::Exponential(5.0),
        loss: 0.01,
        queue: BinaryHeap::new(),
        n: 0,
    };

    let total = Duration::from_secs(60);
    let step = Duration::from_millis(1);
    let mut now_true = Duration::ZERO;
    let mut dtmf_sent = false;
    let mut before_hold: Option<(u32, u16)> = None;
    let mut after_hold: Option<(u32, u16, bool)> = None;
    while now_true < total {
        // Hold: Alice puts Bob on hold from 30 s to 35 s (re-INVITE sendonly, answered
        // recvonly): Bob stops sending, Alice keeps sending (music on hold).
        if now_true == Duration::from_secs(30) {
            alice
                .rtp
                .set_direction(alice.clock(t0, now_true), Direction::SendOnly);
            bob.rtp
                .set_direction(bob.clock(t0, now_true), Direction::RecvOnly);
        }
        if now_true == Duration::from_secs(35) {
            bob.rtp
                .set_direction(bob.clock(t0, now_true), Direction::SendRecv);
            alice
                .rtp
                .set_direction(alice.clock(t0, now_true), Direction::SendRecv);
        }
        if !dtmf_sent && now_true >= Duration::from_secs(10) {
            let c = alice.clock(t0, now_true);
            for d in ['1', '2', '3'] {
                alice
                    .rtp
                    .send_dtmf(c, d, Duration::from_millis(100))
                    .unwrap();
            }
            dtmf_sent = true;
        }
        for (ep, to_alice) in [(&mut alice, false), (&mut bob, true)] {
            let c = ep.clock(t0, now_true);
            // Capture, encode and send on this endpoint's 20 ms ticks; play out on the same.
            while ep.tick_at(ep.next_frame) <= now_true {
                let pcm: Vec<i16> = (0..160)
                    .map(|i| {
                        let n = (ep.phase + i) as f64;
                        (8000.0 * (2.0 * std::f64::consts::PI * ep.tone_hz * n / 8000.0).sin())
                            as i16
                    })
                    .collect();
                ep.phase += 160;
                let mut buf = Vec::new();
                ep.enc.encode(&pcm, &mut buf).unwrap();
                ep.rtp.send_audio(c, &buf, 160);
                let mut out = Vec::new();
                match ep.jb.pop(c) {
                    Playout::Frame { payload, .. } => {
                        ep.dec.decode(&payload, &mut out).unwrap();
                        ep.frames_real += 1;
                    }
                    Playout::Missing { duration } | Playout::Fec { duration, .. } => {
                        ep.dec.conceal(duration as usize, &mut out).unwrap();
                        ep.frames_concealed += 1;
                    }
                    Playout::Silence { duration } => out.resize(duration as usize, 0),
                }
                ep.played.extend(out);
                ep.next_frame += 1;
            }
            if ep.rtp.poll_timeout().is_some_and(|t| t <= c) {
                ep.rtp.handle_timeout(c);
            }
            pump(ep, t0, now_true, &mut net, to_alice);
        }
        // Deliver what has arrived.
        let now_ns = now_true.as_nanos() as u64;
        while net
            .queue
            .peek()
            .is_some_and(|Reverse((at, ..))| *at <= now_ns)
        {
            let Reverse((_, _, to_alice, from, bytes)) = net.queue.pop().unwrap();
            let (ep, to_alice) = if to_alice {
                (&mut alice, true)
            } else {
                (&mut bob, false)
            };
            let c = ep.clock(t0, now_true);
            if to_alice
                && homeline_media::rtp::classify(&bytes) == homeline_media::rtp::PacketKind::Rtp
                && let Ok(p) = homeline_media::rtp::RtpPacket::parse(&bytes)
            {
                // Bob's packets around the hold (the network may reorder a little).
                if now_true < Duration::from_millis(30_500) {
                    before_hold = before_hold.max(Some((p.timestamp, p.sequence)));
                } else if after_hold.is_none() {
                    after_hold = Some((p.timestamp, p.sequence, p.marker));
                }
            }
            ep.rtp.handle_datagram(c, from, &bytes).unwrap();
            pump(ep, t0, now_true, &mut net, !to_alice);
        }
        now_true += step;
    }

    // Audio went both ways: each side hears the other's tone (last 20 s, after the hold).
    for (ep, hz) in [(&alice, 1000.0), (&bob, 440.0)] {
        let tail = &ep.played[ep.played.len() - 160_000..];
        let r = goertzel_ratio(tail, hz, 8000.0);
        println!(
            "{}: tone ratio {r:.3}, frames real {} concealed {}, {:?}",
            ep.name,
            ep.frames_real,
            ep.frames_concealed,
            ep.jb.stats()
        );
        assert!(r > 0.8, "{} hears the tone at ratio {r:.3}", ep.name);
    }
    // Symmetric RTP: Bob latched onto Alice's NAT address although the SDP said otherwise.
    assert_eq!(bob.rtp.stats().latched, Some(alice_public));
    assert!(
        bob.events
            .iter()
            .any(|(_, e)| *e == SessionEvent::Latched(alice_public))
    );
    // DTMF: exactly the three digits, once each.
    let digits: String = bob
        .dtmf
        .iter()
        .filter_map(|e| match e {
            DtmfEvent::End { event, .. } => event_to_digit(*event),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "123");
    // Hold: no dead-air alarm on Alice while Bob was held (she did not expect media).
    assert!(
        !alice.events.iter().any(|(_, e)| matches!(
            e,
            SessionEvent::MediaStalled | SessionEvent::NoMediaReceived
        )),
        "{:?}",
        alice.events
    );
    // Bob resumed with the next sequence number, the marker bit and a timestamp advanced by
    // the 5 s on hold (at Bob's clock, −50 ppm: 2 units less).
    let (ts0, seq0) = before_hold.unwrap();
    let (ts1, seq1, marker) = after_hold.unwrap();
    assert!(marker, "marker bit after the hold");
    assert_eq!(seq1, seq0.wrapping_add(1));
    let gap = ts1.wrapping_sub(ts0) as i64;
    assert!(
        (gap - 40_000).abs() <= 160,
        "timestamp advanced by {gap} over the 5 s hold"
    );
    // Stats and MOS at both ends: ~1 % loss, RTT ≈ 60 ms + jitter, MOS for G.711 at 1 %.
    for ep in [&alice, &bob] {
        let q = CallQuality::compute(
            AudioCodec::Pcma,
            20.0,
            &ep.rtp.stats(),
            Some(&ep.jb.stats()),
            0.0,
        );
        println!("{}: {}", ep.name, serde_json_like(&q));
        assert!(
            q.loss_pct > 0.5 && q.loss_pct < 1.6,
            "{} loss {}",
            ep.name,
            q.loss_pct
        );
        let rtt = q.rtt_ms.unwrap();
        assert!((60.0..90.0).contains(&rtt), "{} rtt {rtt}", ep.name);
        assert!(
            q.jitter_ms > 1.0 && q.jitter_ms < 8.0,
            "{} jitter {}",
            ep.name,
            q.jitter_ms
        );
        // G.711 with Homeline's PLC (Bpl 14, measured against PESQ) at 1-2 % loss + late:
        // R ≈ 81-87, MOS ≈ 4.05-4.3.
        assert!(q.mos > 3.9 && q.mos < 4.35, "{} mos {}", ep.name, q.mos);
    }
}

fn serde_json_like(q: &CallQuality) -> String {
    format!(
        "codec {} sent {} recv {} loss {:.2}% late {:.2}% jitter {:.1} ms rtt {:?} playout {:.1} ms R {:.1} MOS {:.2}",
        q.codec,
        q.packets_sent,
        q.packets_received,
        q.loss_pct,
        q.late_pct,
        q.jitter_ms,
        q.rtt_ms,
        q.playout_delay_ms,
        q.r_factor,
        q.mos
    )
}
