//! Opus over a lossy simulated network, one direction, twice with the same seed: once with the
//! jitter buffer asking for in-band FEC, once concealing every loss. FEC must recover the
//! singly-lost frames measurably better than PLC (the "FEC recovers single losses").

#![cfg(feature = "opus")]
#![allow(clippy::unwrap_used)] // test code

mod netsim;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use homeline_media::codec::Codec;
use homeline_media::jitter::{JitterBuffer, JitterConfig, Playout};
use homeline_media::opus::{OpusCodec, OpusConfig};
use homeline_media::rng::SplitMix64;
use homeline_media::sdp::Direction;
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent};
use netsim::Jitter;

const RATE: usize = 48_000;
const FRAME: usize = 960;

fn signal(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            // Two partials with a 3 Hz syllable-like envelope: not trivially extrapolated.
            let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
            (env * (7000.0 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()
                + 3000.0 * (2.0 * std::f64::consts::PI * 1170.0 * t).sin())) as i16
        })
        .collect()
}

struct Run {
    /// Decoded PCM per frame number.
    frames: Vec<Option<Vec<i16>>>,
    lost: Vec<usize>,
    fec_used: u64,
}

fn run(fec: bool) -> Run {
    let t0 = Instant::now();
    let frames = 1500; // 30 s
    let input = signal(frames * FRAME);
    let cfg = |seed| SessionConfig {
        seed,
        payload_type: 111,
        clock_rate: 48_000,
        ptime: Duration::from_millis(20),
        dtmf_payload_type: None,
        remote_rtp: Some("10.0.0.2:4000".parse().unwrap()),
        remote_rtcp: None,
        rtcp_mux: true,
        direction: Direction::SendRecv,
        cname: "opus".into(),
        ntp_at_start: 0,
        rtcp_interval: Duration::from_secs(5),
        relatch_after: 5,
        no_media_after_start: Duration::from_secs(3),
        media_stall: Duration::from_secs(5),
        rtp_timeout: Duration::from_secs(60),
    };
    let mut tx = RtpSession::new(t0, cfg(1));
    let mut rx = RtpSession::new(t0, cfg(2));
    // The encoder as the call's loss adaptation leaves it once the peer's RTCP has reported
    // this network's 5 %: a clean-start encoder (0 % expected) sends no FEC at all, and this
    // one-way simulation carries no RTCP to tell it.
    let enc_cfg = OpusConfig {
        expected_loss_pct: 5,
        ..OpusConfig::default()
    };
    let mut enc = OpusCodec::new(RATE as u32, &enc_cfg).unwrap();
    let mut dec = OpusCodec::new(RATE as u32, &OpusConfig::default()).unwrap();
    let mut jcfg = JitterConfig::new(48_000);
    jcfg.fec = fec;
    let mut jb = JitterBuffer::new(jcfg);
    let mut rng = SplitMix64::new(2024);
    let jitter = Jitter::Exponential(4.0);
    let mut net: BinaryHeap<Reverse<(Duration, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut out: Vec<Option<Vec<i16>>> = vec![None; frames];
    let mut lost = Vec::new();
    let mut first_ts = None;
    let mut last_k: Option<usize> = None;
    let mut n = 0u64;
    for k in 0..frames + 20 {
        let now_d = Duration::from_millis(20 * k as u64);
        let now = t0 + now_d;
        if k < frames {
            let mut p = Vec::new();
            enc.encode(&input[k * FRAME..(k + 1) * FRAME], &mut p)
                .unwrap();
            tx.send_audio(now, &p, FRAME as u32);
            while let Some(t) = tx.poll_transmit() {
                // 5 % random loss, never the first frames (the buffer must start).
                if k > 10 && rng.next_f64() < 0.05 {
                    lost.push(k);
                    continue;
                }
                let d = Duration::from_secs_f64((30.0 + jitter.sample(&mut rng)) / 1000.0);
                n += 1;
                net.push(Reverse((now_d + d, n, t.contents)));
            }
        }
        while net.peek().is_some_and(|Reverse((at, ..))| *at <= now_d) {
            let Reverse((at, _, bytes)) = net.pop().unwrap();
            rx.handle_datagram(t0 + at, "10.0.0.1:4000".parse().unwrap(), &bytes)
                .unwrap();
        }
        while let Some(e) = rx.poll_event() {
            if let SessionEvent::Media { packet, arrival } = e {
                first_ts.get_or_insert(packet.timestamp);
                jb.push(
                    arrival,
                    packet.ssrc,
                    packet.sequence,
                    packet.timestamp,
                    &packet.payload,
                );
            }
        }
        let stretches = jb.stats().stretches;
        let mut pcm = Vec::new();
        let frame_no = match jb.pop(now) {
            Playout::Frame {
                payload, timestamp, ..
            } => {
                dec.decode(&payload, &mut pcm).unwrap();
                let f = (timestamp.wrapping_sub(first_ts.unwrap()) / FRAME as u32) as usize;
                Some(f)
            }
            Playout::Fec {
                next_payload,
                duration,
            } => {
                assert!(
                    dec.decode_fec(&next_payload, duration as usize, &mut pcm)
                        .unwrap()
                );
                last_k.map(|k| k + 1)
            }
            Playout::Missing { duration } => {
                dec.conceal(duration as usize, &mut pcm).unwrap();
                if jb.stats().stretches > stretches {
                    None
                } else {
                    last_k.map(|k| k + 1)
                }
            }
            Playout::Silence { .. } => None,
        };
        if let Some(f) = frame_no.filter(|f| *f < frames) {
            out[f] = Some(pcm);
            last_k = Some(f);
        }
    }
    Run {
        frames: out,
        lost,
        fec_used: jb.stats().fec,
    }
}

/// SNR in dB over the given frames, with Opus's algorithmic delay compensated.
fn snr_over(input: &[i16], run: &Run, which: &[usize], delay: usize) -> f64 {
    let (mut s, mut e) = (0.0, 0.0);
    for &k in which {
        let Some(pcm) = &run.frames[k] else { continue };
        for (i, &y) in pcm.iter().enumerate() {
            let idx = (k * FRAME + i).checked_sub(delay);
            let x = idx.map(|j| input[j] as f64).unwrap_or(0.0);
            s += x * x;
            e += (x - y as f64).powi(2);
        }
    }
    10.0 * (s / e.max(1.0)).log10()
}

#[test]
fn fec_beats_plc_on_single_losses() {
    let with_fec = run(true);
    let with_plc = run(false);
    assert_eq!(with_fec.lost, with_plc.lost, "same network both times");
    let lost = &with_fec.lost;
    let single: Vec<usize> = lost
        .iter()
        .copied()
        .filter(|k| !lost.contains(&(k + 1)) && !lost.contains(&(k - 1)))
        .collect();
    let input = signal((with_fec.frames.len() + 1) * FRAME);
    // Opus's delay at 48 kHz: find it on clean frames (the best-aligned delay).
    let clean: Vec<usize> = (50..400).filter(|k| !lost.contains(k)).collect();
    let delay = (0..960).step_by(8).max_by(|a, b| {
        snr_over(&input, &with_fec, &clean, *a).total_cmp(&snr_over(&input, &with_fec, &clean, *b))
    });
    let delay = delay.unwrap();
    let clean_snr = snr_over(&input, &with_fec, &clean, delay);
    let fec_snr = snr_over(&input, &with_fec, &single, delay);
    let plc_snr = snr_over(&input, &with_plc, &single, delay);
    println!(
        "{} lost, {} single; FEC used {}; delay {delay}; SNR clean {clean_snr:.1} dB, lost frames: FEC {fec_snr:.1} dB, PLC {plc_snr:.1} dB",
        lost.len(),
        single.len(),
        with_fec.fec_used
    );
    assert!(single.len() > 40);
    assert!(with_fec.fec_used as usize >= single.len() * 9 / 10);
    assert_eq!(with_plc.fec_used, 0);
    assert!(
        fec_snr > plc_snr + 3.0,
        "FEC {fec_snr:.1} dB vs PLC {plc_snr:.1} dB"
    );
}
