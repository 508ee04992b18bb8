//! RTP session core on simulated time: two sessions, packets handed over by the test.
#![allow(clippy::unwrap_used, clippy::too_many_arguments)] // test code: a panic is the failure report

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_media::dtmf::DtmfEvent;
use homeline_media::rtcp::{self, RtcpPacket};
use homeline_media::rtp::RtpPacket;
use homeline_media::sdp::Direction;
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent, Transmit};

const MS: Duration = Duration::from_millis(1);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cfg(seed: u64, remote: &str) -> SessionConfig {
    SessionConfig {
        seed,
        payload_type: 0,
        clock_rate: 8000,
        ptime: 20 * MS,
        dtmf_payload_type: Some(101),
        remote_rtp: Some(addr(remote)),
        remote_rtcp: Some(addr(remote)),
        rtcp_mux: true,
        direction: Direction::SendRecv,
        cname: format!("test{seed}"),
        ntp_at_start: 0xe000_0000_0000_0000,
        rtcp_interval: Duration::from_secs(5),
        relatch_after: 5,
        no_media_after_start: Duration::from_secs(3),
        media_stall: Duration::from_secs(5),
        rtp_timeout: Duration::from_secs(60),
    }
}

fn drain(s: &mut RtpSession) -> (Vec<Transmit>, Vec<SessionEvent>) {
    let t = std::iter::from_fn(|| s.poll_transmit()).collect();
    let e = std::iter::from_fn(|| s.poll_event()).collect();
    (t, e)
}

fn rtp_of(t: &[Transmit]) -> Vec<RtpPacket> {
    t.iter()
        .filter(|t| !t.rtcp)
        .map(|t| RtpPacket::parse(&t.contents).unwrap())
        .collect()
}

#[test]
fn initial_values_come_from_the_seed() {
    let t0 = Instant::now();
    let a = RtpSession::new(t0, cfg(1, "10.0.0.2:4000"));
    let b = RtpSession::new(t0, cfg(1, "10.0.0.2:4000"));
    let c = RtpSession::new(t0, cfg(2, "10.0.0.2:4000"));
    assert_eq!(a.ssrc(), b.ssrc());
    assert_ne!(a.ssrc(), c.ssrc());
}

#[test]
fn timestamps_follow_frames_and_wall_clock_across_gaps_and_hold() {
    let t0 = Instant::now();
    let mut s = RtpSession::new(t0, cfg(3, "10.0.0.2:4000"));
    let mut now = t0;
    for _ in 0..3 {
        assert!(s.send_audio(now, &[0xff; 160], 160));
        now += 20 * MS;
    }
    // DTX-like silence of 1 s: nothing sent.
    now += Duration::from_secs(1);
    assert!(s.send_audio(now, &[0xff; 160], 160));
    // Hold for 10 s: sends are refused, then resume.
    s.set_direction(now, Direction::RecvOnly);
    assert!(!s.send_audio(now + 20 * MS, &[0; 160], 160));
    now += Duration::from_secs(10);
    s.set_direction(now, Direction::SendRecv);
    assert!(s.send_audio(now, &[0xff; 160], 160));
    assert!(s.send_audio(now + 20 * MS, &[0xff; 160], 160));
    let p = rtp_of(&drain(&mut s).0);
    assert_eq!(p.len(), 6);
    let seqs: Vec<u16> = p
        .iter()
        .map(|q| q.sequence.wrapping_sub(p[0].sequence))
        .collect();
    assert_eq!(
        seqs,
        vec![0, 1, 2, 3, 4, 5],
        "sequence continuous across gaps and hold"
    );
    let ts: Vec<u32> = p
        .iter()
        .map(|q| q.timestamp.wrapping_sub(p[0].timestamp))
        .collect();
    // 2 frames, then the gap: 40 ms + 20 ms + 1 s = 1060 ms = 8480 units, then 10 s on hold.
    assert_eq!(ts, vec![0, 160, 320, 8480, 8480 + 80_000, 8480 + 80_160]);
    let markers: Vec<bool> = p.iter().map(|p| p.marker).collect();
    assert_eq!(markers, vec![true, false, false, true, true, false]);
    assert!(p.iter().all(|q| q.ssrc == s.ssrc()));
}

/// Feeds `n` packets from a fake peer with `ssrc`, starting at `seq0`, skipping the sequence
/// numbers in `lost`, at 20 ms spacing plus `extra_delay(i)`.
fn feed(
    s: &mut RtpSession,
    t0: Instant,
    from: SocketAddr,
    ssrc: u32,
    seq0: u16,
    n: u32,
    lost: impl Fn(u32) -> bool,
    extra_delay: impl Fn(u32) -> Duration,
) -> Vec<SessionEvent> {
    let mut events = Vec::new();
    for i in 0..n {
        if lost(i) {
            continue;
        }
        let p = RtpPacket::new(
            0,
            seq0.wrapping_add(i as u16),
            i * 160,
            ssrc,
            vec![0xd5; 160],
        );
        let at = t0 + 20 * MS * i + extra_delay(i);
        s.handle_datagram(at, from, &p.to_bytes().unwrap()).unwrap();
        events.extend(drain(s).1);
    }
    events
}

#[test]
fn receiver_stats_follow_appendix_a_with_wrap() {
    let t0 = Instant::now();
    let mut s = RtpSession::new(t0, cfg(4, "10.0.0.2:4000"));
    let peer = addr("10.0.0.2:4000");
    // 1000 packets starting near the wrap, every 10th lost.
    let ev = feed(
        &mut s,
        t0,
        peer,
        77,
        65_000,
        1000,
        |i| i % 10 == 5,
        |_| Duration::ZERO,
    );
    let st = s.stats();
    assert_eq!(st.remote_ssrc, Some(77));
    assert_eq!(st.packets_received, 900);
    // Validation starts at the 2nd packet (A.1 probation): 999 expected, 100 lost.
    assert_eq!(st.packets_expected, 999);
    assert_eq!(st.packets_lost, 100);
    assert!(
        st.jitter_ms < 0.01,
        "constant transit: jitter {}",
        st.jitter_ms
    );
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, SessionEvent::Media { .. }))
            .count(),
        900
    );
    // The RR carries the wrapped extended sequence number and fraction lost 10% = 25/256.
    s.handle_timeout(t0 + Duration::from_secs(20));
    let (t, _) = drain(&mut s);
    let rr = t.iter().find(|t| t.rtcp).expect("an RTCP report");
    let pk = rtcp::parse_compound(&rr.contents).unwrap();
    let RtcpPacket::ReceiverReport(r) = &pk[0] else {
        panic!("receiver only: RR expected, got {pk:?}")
    };
    let b = r.reports[0];
    assert_eq!(b.ssrc, 77);
    assert_eq!(
        b.extended_highest_seq,
        (1 << 16) + ((65_000u32 + 999) % 65_536)
    );
    assert_eq!(b.cumulative_lost, 100);
    assert_eq!(b.fraction_lost, 25);
    assert!(matches!(&pk[1], RtcpPacket::Sdes(c) if c[0].items[0].1 == b"test4"));
}

#[test]
fn jitter_estimate_a8() {
    let t0 = Instant::now();
    let mut s = RtpSession::new(t0, cfg(5, "10.0.0.2:4000"));
    // Transit alternates 0 / 10 ms: |D| = 10 ms every packet, J converges to 10 ms.
    feed(
        &mut s,
        t0,
        addr("10.0.0.2:4000"),
        9,
        1,
        500,
        |_| false,
        |i| {
            if i % 2 == 1 { 10 * MS } else { Duration::ZERO }
        },
    );
    let j = s.stats().jitter_ms;
    assert!((j - 10.0).abs() < 0.2, "jitter {j}");
}

#[test]
fn latching_and_relatching() {
    let t0 = Instant::now();
    let sdp_addr = addr("192.0.2.50:4000");
    let real = addr("198.51.100.1:31000");
    let rebound = addr("198.51.100.1:31999");
    let stray = addr("203.0.113.66:5555");
    let mut s = RtpSession::new(t0, cfg(6, "192.0.2.50:4000"));
    s.send_audio(t0, &[0; 160], 160);
    assert_eq!(drain(&mut s).0[0].destination, sdp_addr);

    let ev = feed(&mut s, t0, real, 1234, 10, 3, |_| false, |_| Duration::ZERO);
    assert_eq!(ev[0], SessionEvent::Latched(real));
    s.send_audio(t0 + 60 * MS, &[0; 160], 160);
    assert_eq!(drain(&mut s).0[0].destination, real, "symmetric RTP");

    // A stray source with another SSRC never takes over.
    let ev = feed(
        &mut s,
        t0,
        stray,
        999,
        5000,
        20,
        |_| false,
        |_| Duration::ZERO,
    );
    assert!(ev.is_empty());
    assert_eq!(s.stats().foreign, 20);

    // The NAT rebinds: same SSRC from a new port, re-latched on the 5th packet.
    let mut events = Vec::new();
    for i in 0..5u32 {
        let p = RtpPacket::new(0, 13 + i as u16, (3 + i) * 160, 1234, vec![0; 160]);
        s.handle_datagram(t0 + 100 * MS, rebound, &p.to_bytes().unwrap())
            .unwrap();
        let ev = drain(&mut s).1;
        if i < 4 {
            assert!(ev.is_empty(), "packet {i} must not relatch yet");
        }
        events.extend(ev);
    }
    assert_eq!(
        events[0],
        SessionEvent::Relatched {
            from: real,
            to: rebound
        }
    );
    s.send_audio(t0 + 120 * MS, &[0; 160], 160);
    assert_eq!(drain(&mut s).0[0].destination, rebound);
}

#[test]
fn ssrc_change_is_reported_after_validation() {
    let t0 = Instant::now();
    let mut s = RtpSession::new(t0, cfg(7, "10.0.0.2:4000"));
    let peer = addr("10.0.0.2:4000");
    feed(&mut s, t0, peer, 1, 100, 10, |_| false, |_| Duration::ZERO);
    let ev = feed(
        &mut s,
        t0 + Duration::from_secs(1),
        peer,
        2,
        40_000,
        3,
        |_| false,
        |_| Duration::ZERO,
    );
    assert_eq!(ev[0], SessionEvent::RemoteSsrcChanged { old: 1, new: 2 });
    assert_eq!(s.stats().remote_ssrc, Some(2));
}

/// Two sessions with 40 ms one-way delay exchange audio for 30 s: each side's RTT from
/// LSR/DLSR is 80 ms, SRs are sent by senders.
#[test]
fn rtcp_reports_give_rtt() {
    let t0 = Instant::now();
    let a_addr = addr("10.0.0.1:4000");
    let b_addr = addr("10.0.0.2:4000");
    let mut a = RtpSession::new(t0, cfg(10, "10.0.0.2:4000"));
    let mut b = RtpSession::new(
        t0,
        SessionConfig {
            ntp_at_start: 0x1234_5678_0000_0000,
            ..cfg(11, "10.0.0.1:4000")
        },
    );
    let delay = 40 * MS;
    let mut in_flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new(); // (arrival, to_b, bytes)
    let mut srs = 0;
    for tick in 0..1500u32 {
        let now = t0 + 20 * MS * tick;
        a.send_audio(now, &[1; 160], 160);
        b.send_audio(now, &[2; 160], 160);
        a.handle_timeout(now);
        b.handle_timeout(now);
        for (s, to_b) in [(&mut a, true), (&mut b, false)] {
            while let Some(t) = s.poll_transmit() {
                if t.rtcp
                    && matches!(
                        rtcp::parse_compound(&t.contents).unwrap()[0],
                        RtcpPacket::SenderReport(_)
                    )
                {
                    srs += 1;
                }
                in_flight.push((now + delay, to_b, t.contents));
            }
            while s.poll_event().is_some() {}
        }
        in_flight.retain(|(at, to_b, bytes)| {
            if *at <= now {
                let (s, from) = if *to_b {
                    (&mut b, a_addr)
                } else {
                    (&mut a, b_addr)
                };
                s.handle_datagram(now, from, bytes).unwrap();
                false
            } else {
                true
            }
        });
    }
    for s in [&a, &b] {
        let st = s.stats();
        let rtt = st.rtt.expect("rtt measured");
        assert!(
            (rtt.as_secs_f64() * 1000.0 - 80.0).abs() < 1.0,
            "rtt {rtt:?}"
        );
        assert_eq!(st.packets_lost, 0);
        assert_eq!(st.remote_fraction_lost, Some(0.0));
    }
    // About one SR per 5 s per side over 30 s (randomized ×0.5-1.5).
    assert!((8..=16).contains(&srs), "{srs} SRs");
}

#[test]
fn dtmf_end_to_end_with_duplicates() {
    let t0 = Instant::now();
    let mut a = RtpSession::new(t0, cfg(20, "10.0.0.2:4000"));
    let mut b = RtpSession::new(t0, cfg(21, "10.0.0.1:4000"));
    a.send_dtmf(t0, '5', 100 * MS).unwrap();
    a.send_dtmf(t0, '#', 60 * MS).unwrap();
    assert!(a.send_dtmf(t0, 'x', 60 * MS).is_err());
    let mut now = t0;
    let mut events = Vec::new();
    let mut pkts = Vec::new();
    while now < t0 + Duration::from_secs(1) {
        a.handle_timeout(now);
        // Audio is held back while an event is being sent.
        a.send_audio(now, &[0; 160], 160);
        while let Some(t) = a.poll_transmit() {
            if !t.rtcp {
                let p = RtpPacket::parse(&t.contents).unwrap();
                if p.payload_type == 101 {
                    pkts.push(p);
                    // Every packet arrives twice.
                    b.handle_datagram(now, addr("10.0.0.1:4000"), &t.contents)
                        .unwrap();
                }
                b.handle_datagram(now, addr("10.0.0.1:4000"), &t.contents)
                    .unwrap();
            }
        }
        while let Some(e) = b.poll_event() {
            if let SessionEvent::Dtmf(d) = e {
                events.push(d);
            }
        }
        now = a.poll_timeout().unwrap().min(now + 20 * MS).max(now + MS);
    }
    assert_eq!(
        events,
        vec![
            DtmfEvent::Start { event: 5 },
            DtmfEvent::End {
                event: 5,
                duration: 800
            },
            DtmfEvent::Start { event: 11 },
            DtmfEvent::End {
                event: 11,
                duration: 480
            },
        ]
    );
    // 100 ms = 5 updates (last one is the first end) + 2 more ends; 60 ms = 3 + 2.
    assert_eq!(pkts.len(), 7 + 5);
    assert!(pkts[0].marker && pkts[7].marker);
    assert!(pkts[..7].iter().all(|p| p.timestamp == pkts[0].timestamp));
    assert!(pkts[7].timestamp > pkts[0].timestamp);
}

#[test]
fn dead_air_events_and_timeout() {
    let t0 = Instant::now();
    let mut s = RtpSession::new(t0, cfg(30, "10.0.0.2:4000"));
    let mut seen = Vec::new();
    let mut run = |s: &mut RtpSession, until: Instant| {
        while let Some(t) = s.poll_timeout() {
            if t > until {
                break;
            }
            s.handle_timeout(t);
            seen.extend(
                drain(s)
                    .1
                    .into_iter()
                    .map(|e| (t.duration_since(t0).as_millis(), e)),
            );
        }
    };
    run(&mut s, t0 + Duration::from_secs(4));
    let peer = addr("10.0.0.2:4000");
    let _ = feed(
        &mut s,
        t0 + Duration::from_secs(4),
        peer,
        5,
        1,
        50,
        |_| false,
        |_| Duration::ZERO,
    );
    // Last packet at 4.98 s: stall at 9.98 s, timeout at 64.98 s.
    run(&mut s, t0 + Duration::from_secs(70));
    let kinds: Vec<(u128, &SessionEvent)> = seen.iter().map(|(t, e)| (*t, e)).collect();
    assert_eq!(
        kinds,
        vec![
            (3000, &SessionEvent::NoMediaReceived),
            (9980, &SessionEvent::MediaStalled),
            (64980, &SessionEvent::RtpTimeout)
        ]
    );
    // On hold (we are sendonly) nothing is reported.
    let mut h = RtpSession::new(
        t0,
        SessionConfig {
            direction: Direction::SendOnly,
            ..cfg(31, "10.0.0.2:4000")
        },
    );
    let mut n = 0;
    while let Some(t) = h.poll_timeout() {
        if t > t0 + Duration::from_secs(120) {
            break;
        }
        h.handle_timeout(t);
        n += drain(&mut h).1.len();
    }
    assert_eq!(n, 0);
}

#[test]
fn bye_and_garbage() {
    let t0 = Instant::now();
    let mut a = RtpSession::new(t0, cfg(40, "10.0.0.2:4000"));
    let mut b = RtpSession::new(t0, cfg(41, "10.0.0.1:4000"));
    a.send_audio(t0, &[0; 160], 160);
    a.close(t0 + MS, "hangup");
    assert!(!a.send_audio(t0 + 20 * MS, &[0; 160], 160));
    assert_eq!(a.poll_timeout(), None);
    let (t, _) = drain(&mut a);
    for x in &t {
        b.handle_datagram(t0 + MS, addr("10.0.0.1:4000"), &x.contents)
            .unwrap();
    }
    let ev = drain(&mut b).1;
    assert!(
        ev.contains(&SessionEvent::Bye {
            reason: Some("hangup".into())
        }),
        "{ev:?}"
    );

    let mut rng = 12345u64;
    for len in 0..2000usize {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let bytes: Vec<u8> = (0..len % 80).map(|i| (rng >> (i % 56)) as u8).collect();
        let _ = b.handle_datagram(t0, addr("10.0.0.9:1"), &bytes);
        let mut v = bytes.clone();
        if !v.is_empty() {
            v[0] = 0x80;
        }
        let _ = b.handle_datagram(t0, addr("10.0.0.9:1"), &v);
    }
    assert!(b.stats().malformed > 0);
}

#[test]
fn codec_change_keeps_ssrc_and_sequence() {
    let t0 = Instant::now();
    let mut c = cfg(50, "10.0.0.2:4000");
    c.payload_type = 111;
    c.clock_rate = 48_000;
    let mut s = RtpSession::new(t0, c);
    s.send_audio(t0, &[1; 80], 960);
    s.send_audio(t0 + 20 * MS, &[1; 80], 960);
    // A re-INVITE switches to PCMU.
    s.set_codec(0, 8000, 20 * MS);
    s.send_audio(t0 + 40 * MS, &[0xff; 160], 160);
    s.send_audio(t0 + 60 * MS, &[0xff; 160], 160);
    let p = rtp_of(&drain(&mut s).0);
    assert_eq!(
        p.iter().map(|p| p.payload_type).collect::<Vec<_>>(),
        vec![111, 111, 0, 0]
    );
    assert!(p.iter().all(|q| q.ssrc == s.ssrc()));
    assert!(
        p.windows(2)
            .all(|w| w[1].sequence == w[0].sequence.wrapping_add(1))
    );
    assert_eq!(
        p.iter().map(|p| p.marker).collect::<Vec<_>>(),
        vec![true, false, true, false]
    );
    assert_eq!(p[3].timestamp.wrapping_sub(p[2].timestamp), 160);
    // The receiving side drops packets of the old payload type with a clear error.
    let mut r = RtpSession::new(t0, cfg(51, "10.0.0.1:4000"));
    let old = RtpPacket::new(111, 1, 0, 9, vec![0; 10])
        .to_bytes()
        .unwrap();
    assert!(matches!(
        r.handle_datagram(t0, addr("10.0.0.1:4000"), &old),
        Err(homeline_media::session::SessionError::UnexpectedPayloadType(111))
    ));
}

/// SDES-SRTP end to end: keys from offer/answer, protected on the wire, and a spoofed
/// plain-RTP packet neither plays nor steals the latch.
#[cfg(feature = "srtp")]
#[test]
fn sdes_srtp_between_two_sessions() {
    use homeline_media::sdp::{self, LocalMedia, SrtpPolicy};
    use homeline_media::srtp::{Srtp, random_key};

    let t0 = Instant::now();
    let mut la = LocalMedia::new("10.0.0.1".parse().unwrap(), 4000, 1);
    la.srtp = SrtpPolicy::Required;
    la.srtp_key = Some(random_key().unwrap());
    let mut lb = LocalMedia::new("10.0.0.2".parse().unwrap(), 4000, 2);
    lb.srtp_key = Some(random_key().unwrap());
    let offer = sdp::build_offer(&la);
    let (answer, nb) = sdp::answer_offer(&lb, &offer).unwrap();
    let na = sdp::process_answer(&la, &offer, &answer).unwrap();
    assert!(answer.to_string().contains("RTP/SAVP"));

    let mut a = RtpSession::new(t0, SessionConfig::from_negotiated(&na, 1, 0, "a"));
    let mut b = RtpSession::new(t0, SessionConfig::from_negotiated(&nb, 2, 0, "b"));
    let srtp = |n: &sdp::NegotiatedSession| {
        Srtp::new(
            n.local_crypto.as_ref().unwrap(),
            n.remote_crypto.as_ref().unwrap(),
        )
        .unwrap()
    };
    a.set_srtp(srtp(&na));
    b.set_srtp(srtp(&nb));

    let spoof = RtpPacket::new(na.payload_type, 1, 0, 666, vec![0; 80])
        .to_bytes()
        .unwrap();
    assert!(
        b.handle_datagram(t0, addr("203.0.113.66:9"), &spoof)
            .is_err()
    );
    assert!(
        drain(&mut b).1.is_empty(),
        "a plain packet must not latch or play"
    );

    let clear = vec![0x55; 80];
    for k in 0..10u32 {
        a.send_audio(t0 + 20 * MS * k, &clear, 960);
    }
    a.handle_timeout(t0 + Duration::from_secs(10));
    let (t, _) = drain(&mut a);
    let mut media = 0;
    for x in &t {
        assert!(
            !x.contents.windows(8).any(|w| w == [0x55; 8]),
            "payload is encrypted"
        );
        b.handle_datagram(
            t0 + Duration::from_secs(10),
            addr("10.0.0.1:4000"),
            &x.contents,
        )
        .unwrap();
    }
    for e in drain(&mut b).1 {
        if let SessionEvent::Media { packet, .. } = e {
            assert_eq!(packet.payload, clear);
            media += 1;
        }
    }
    assert_eq!(media, 10);
    assert_eq!(b.stats().latched, Some(addr("10.0.0.1:4000")));
}

#[test]
fn absurd_configuration_does_not_panic() {
    use homeline_media::jitter::{JitterBuffer, JitterConfig};
    let t0 = Instant::now();
    let mut c = cfg(60, "10.0.0.2:4000");
    c.clock_rate = 0;
    c.ptime = Duration::ZERO;
    c.rtcp_interval = Duration::MAX;
    c.no_media_after_start = Duration::MAX;
    c.media_stall = Duration::ZERO;
    c.rtp_timeout = Duration::MAX;
    let mut s = RtpSession::new(t0, c);
    s.send_audio(t0, &[0; 10], 0);
    s.send_dtmf(t0, '1', Duration::MAX).unwrap();
    s.handle_timeout(t0 + Duration::from_secs(3600));
    s.set_codec(0, u32::MAX, Duration::MAX);
    let _ = s.poll_timeout();
    drain(&mut s);
    let mut j = JitterConfig::new(0);
    j.max_delay = Duration::MAX;
    j.initial_delay = Duration::MAX;
    j.quantile = f64::NAN;
    let mut jb = JitterBuffer::new(j);
    jb.push(t0, 1, 1, 0, &[0]);
    let _ = jb.pop(t0 + Duration::from_secs(1));
    let _ = jb.target_delay();
}

#[test]
fn dead_air_events_carry_advice() {
    assert!(
        SessionEvent::NoMediaReceived
            .advice()
            .unwrap()
            .contains("incoming UDP")
    );
    assert!(SessionEvent::MediaStalled.advice().is_some());
    assert!(SessionEvent::RtpTimeout.advice().is_some());
    assert_eq!(SessionEvent::MediaResumed.advice(), None);
}
