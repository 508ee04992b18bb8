//! SDP parser, serializer round trip, ICE attributes (RFC 8839) and offer/answer on whatever
//! parses.
#![no_main]

use homeline_media::sdp::{self, LocalMedia, SessionDescription};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sd) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let text = sd.to_string();
    let again = SessionDescription::parse(&text).expect("serialized SDP must re-parse");
    assert_eq!(again.to_string(), text, "serialization must be stable");
    for m in &sd.media {
        if let Some(ice) = sdp::ice::read_ice(m, &sd).ice {
            let _ = sdp::ice::is_mismatch(&ice, m, &sd);
            for c in &ice.candidates {
                let again = sdp::IceCandidate::parse(&c.to_string());
                assert_eq!(again.as_ref(), Ok(c), "a candidate must round-trip");
            }
        }
    }
    let mut local = LocalMedia::new([192, 0, 2, 1].into(), 4000, 1);
    local.srtp_key = Some([7; 30]);
    let host: std::net::SocketAddr = ([192, 0, 2, 1], 4000).into();
    local.set_ice(sdp::IceDescription {
        ufrag: "fuzz".into(),
        pwd: "fuzzfuzzfuzzfuzzfuzzfuzz".into(),
        candidates: vec![sdp::IceCandidate::new(
            sdp::CandidateType::Host,
            sdp::CandidateTransport::Udp,
            host,
            None,
            65535,
            host.ip(),
        )],
        ..Default::default()
    });
    if let Ok((answer, _)) = sdp::answer_offer(&local, &sd) {
        SessionDescription::parse(&answer.to_string()).expect("our answer must parse");
    }
    let offer = sdp::build_offer(&local);
    let _ = sdp::process_answer(&local, &offer, &sd);
});
