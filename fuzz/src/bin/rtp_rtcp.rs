//! RTP and RTCP receive path: the packet parsers, then the whole session (latching, sequence
//! and jitter statistics, RTCP report handling, DTMF) and its jitter buffer and Opus decoder,
//! fed a stream of datagrams cut from the input.
//!
//! Input: a sequence of `len (u8), arrival step in ms (u8), bytes[len]` records.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_media::codec::Codec;
use homeline_media::jitter::{JitterBuffer, JitterConfig, Playout};
use homeline_media::opus::{OpusCodec, OpusConfig};
use homeline_media::rtcp::parse_compound;
use homeline_media::rtp::{RtpPacket, classify};
use homeline_media::sdp::Direction;
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent};
use libfuzzer_sys::fuzz_target;

fn config() -> SessionConfig {
    SessionConfig {
        seed: 7,
        payload_type: 111,
        clock_rate: 48_000,
        ptime: Duration::from_millis(20),
        dtmf_payload_type: Some(101),
        remote_rtp: Some(SocketAddr::from(([192, 0, 2, 2], 4000))),
        remote_rtcp: None,
        rtcp_mux: true,
        direction: Direction::SendRecv,
        cname: "fuzz@homeline".into(),
        ntp_at_start: 0xe000_0000_0000_0000,
        rtcp_interval: Duration::from_secs(5),
        relatch_after: 5,
        no_media_after_start: Duration::from_secs(3),
        media_stall: Duration::from_secs(5),
        rtp_timeout: Duration::from_secs(60),
    }
}

fuzz_target!(|data: &[u8]| {
    // The parsers on their own, with the whole input as one datagram.
    let _ = classify(data);
    if let Ok(p) = RtpPacket::parse(data) {
        // What we parsed must serialise.
        let _ = p.to_bytes();
    }
    if let Ok(packets) = parse_compound(data) {
        let _ = homeline_media::rtcp::serialize_compound(&packets);
    }

    // The session, its jitter buffer and the decoder, as the media engine drives them.
    let start = Instant::now();
    let mut now = start;
    let mut session = RtpSession::new(now, config());
    let mut jitter = JitterBuffer::new({
        let mut c = JitterConfig::new(48_000);
        c.fec = true;
        c
    });
    let mut codec = OpusCodec::new(48_000, &OpusConfig::default()).ok();
    let mut pcm = Vec::new();
    let from = SocketAddr::from(([192, 0, 2, 2], 4000));
    let mut rest = data;
    while let [len, step, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (datagram, after) = tail.split_at(len);
        rest = after;
        now += Duration::from_millis(u64::from(*step));
        let _ = session.handle_datagram(now, from, datagram);
        session.handle_timeout(now);
        while session.poll_transmit().is_some() {}
        while let Some(e) = session.poll_event() {
            if let SessionEvent::Media { packet, arrival } = e {
                jitter.push(
                    arrival,
                    packet.ssrc,
                    packet.sequence,
                    packet.timestamp,
                    &packet.payload,
                );
            }
        }
        pcm.clear();
        if let Some(c) = codec.as_mut() {
            let _ = match jitter.pop(now) {
                Playout::Frame { payload, .. } => c.decode(&payload, &mut pcm).map(|_| ()),
                Playout::Fec {
                    next_payload,
                    duration,
                } => c
                    .decode_fec(&next_payload, duration as usize, &mut pcm)
                    .map(|_| ()),
                Playout::Missing { duration } => c.conceal(duration as usize, &mut pcm),
                Playout::Silence { .. } => Ok(()),
            };
        }
    }
    let _ = session.stats();
    let _ = jitter.stats();
});
