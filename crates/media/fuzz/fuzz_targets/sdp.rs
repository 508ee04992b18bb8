//! SDP parser, serializer round trip, and offer/answer on whatever parses.
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
    let mut local = LocalMedia::new([192, 0, 2, 1].into(), 4000, 1);
    local.srtp_key = Some([7; 30]);
    if let Ok((answer, _)) = sdp::answer_offer(&local, &sd) {
        SessionDescription::parse(&answer.to_string()).expect("our answer must parse");
    }
    let offer = sdp::build_offer(&local);
    let _ = sdp::process_answer(&local, &offer, &sd);
});
