//! The RTP session and jitter buffer fed arbitrary datagrams from arbitrary sources at
//! arbitrary times.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_media::jitter::{JitterBuffer, JitterConfig};
use homeline_media::sdp::Direction;
use homeline_media::session::{RtpSession, SessionConfig, SessionEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        seed: 1,
        payload_type: 0,
        clock_rate: 8000,
        ptime: Duration::from_millis(20),
        dtmf_payload_type: Some(101),
        remote_rtp: Some(SocketAddr::from(([10, 0, 0, 2], 4000))),
        remote_rtcp: None,
        rtcp_mux: true,
        direction: Direction::SendRecv,
        cname: "fuzz".into(),
        ntp_at_start: 0,
        rtcp_interval: Duration::from_secs(5),
        relatch_after: 3,
        no_media_after_start: Duration::from_secs(3),
        media_stall: Duration::from_secs(5),
        rtp_timeout: Duration::from_secs(60),
    };
    let mut s = RtpSession::new(t0, cfg);
    let mut jb = JitterBuffer::new(JitterConfig::new(8000));
    let mut now = t0;
    // Each record: [time step ms, source selector, len, bytes...]
    let mut rest = data;
    while rest.len() >= 3 {
        let (step, src, len) = (rest[0], rest[1], rest[2] as usize);
        rest = &rest[3..];
        let len = len.min(rest.len());
        let (dgram, tail) = rest.split_at(len);
        rest = tail;
        now += Duration::from_millis(step as u64);
        let from = SocketAddr::from(([10, 0, 0, 2 + (src % 3)], 4000 + (src / 3) as u16 % 2));
        let _ = s.handle_datagram(now, from, dgram);
        s.handle_timeout(now);
        if src % 2 == 0 {
            s.send_audio(now, &[0; 160], 160);
        }
        while s.poll_transmit().is_some() {}
        while let Some(e) = s.poll_event() {
            if let SessionEvent::Media { packet, arrival } = e {
                jb.push(arrival, packet.ssrc, packet.sequence, packet.timestamp, &packet.payload);
            }
        }
        let _ = jb.pop(now);
        let _ = s.stats();
    }
});
