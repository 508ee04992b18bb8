//! RTP and RTCP parsers, DTMF payloads, and serializer round trips.
#![no_main]

use homeline_media::{dtmf, rtcp, rtp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rtp::classify(data);
    if let Ok(p) = rtp::RtpPacket::parse(data) {
        let bytes = p.to_bytes().expect("a parsed packet serializes");
        assert_eq!(rtp::RtpPacket::parse(&bytes).expect("re-parses"), p);
    }
    if let Ok(pkts) = rtcp::parse_compound(data)
        && let Ok(bytes) = rtcp::serialize_compound(&pkts)
    {
        rtcp::parse_compound(&bytes).expect("re-parses");
    }
    let _ = dtmf::TelephoneEvent::parse(data);
    let mut rx = dtmf::DtmfReceiver::new();
    for chunk in data.chunks(8) {
        if chunk.len() >= 4 {
            let ts = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let _ = rx.handle(ts, &chunk[4..]);
        }
    }
});
