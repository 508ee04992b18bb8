//! SDP (RFC 4566/8866) parsing and offer/answer (RFC 3264): the bytes as an offer we answer,
//! and as the answer to our own offer, with SRTP optional so the `a=crypto` path runs.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use homeline_media::sdp::{
    LocalMedia, SessionDescription, SrtpPolicy, answer_offer, build_offer, process_answer,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(remote) = SessionDescription::parse_bytes(data) else {
        return;
    };
    // What we parsed must serialise and parse again.
    let text = remote.to_string();
    let _ = SessionDescription::parse(&text);

    let mut local = LocalMedia::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 4000, 1);
    local.srtp = SrtpPolicy::Optional;
    local.srtp_key = Some([7; 30]);
    if let Ok((answer, negotiated)) = answer_offer(&local, &remote) {
        let _ = answer.to_string();
        let _ = negotiated;
    }
    let offer = build_offer(&local);
    let _ = process_answer(&local, &offer, &remote);
});
