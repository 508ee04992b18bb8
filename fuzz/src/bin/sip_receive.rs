//! The whole SIP receive path: datagram parse + validate, and the stream framer fed the same
//! bytes in chunks whose sizes come from the input itself.
//!
//! Run: `make fuzz TARGET=sip_receive SECONDS=600` (seeds: `fuzz/corpus/sip_receive/`, the
//! RFC 4475 torture messages of `crates/sip/tests/torture/` with CRLF line ends).
#![no_main]

use homeline_sip::transaction::{Peer, TimerConfig, TransactionLayer, TransportKind};
use homeline_sip::{Inbound, StreamFramer, StreamItem, receive_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Datagram path, and whatever it accepts through a transaction layer.
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let now = std::time::Instant::now();
    let from = Peer {
        transport: TransportKind::Udp,
        addr: std::net::SocketAddr::from(([192, 0, 2, 9], 5060)),
    };
    match receive_datagram(data) {
        Inbound::Request(r) => layer.handle_message(now, r.into(), from),
        Inbound::Response(r) => {
            let _ = homeline_sip::auth::Challenge::from_response(&r);
            layer.handle_message(now, r.into(), from)
        }
        _ => {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = homeline_sip::auth::Challenge::parse(text, true);
    }

    // First byte picks the chunk size so the framer sees every split point over time.
    let (chunk, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut framer = StreamFramer::new();
    for piece in rest.chunks(chunk) {
        framer.push(piece);
        while let Some(item) = framer.next_item() {
            if let StreamItem::Message(Inbound::Request(r)) = item {
                // Serialising what we accepted must give bytes we accept again.
                let wire = homeline_sip::message::serialize(&r.into());
                let _ = receive_datagram(&wire);
            }
        }
    }
});
