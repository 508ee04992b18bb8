//! The whole SIP receive path: datagram parse + validate, and the stream framer fed the same
//! bytes in chunks whose sizes come from the input itself.
//!
//! Run: `cargo +nightly fuzz run sip_receive fuzz/corpus/sip_receive` from the repository root
//! (seed the corpus with `crates/sip/tests/torture/*.sip`).
#![no_main]

use homeline_sip::{StreamFramer, StreamItem, receive_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = receive_datagram(data);

    // First byte picks the chunk size so the framer sees every split point over time.
    let (chunk, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut framer = StreamFramer::new();
    for piece in rest.chunks(chunk) {
        framer.push(piece);
        while let Some(item) = framer.next_item() {
            if let StreamItem::Message(homeline_sip::Inbound::Request(r)) = item {
                // Serialising what we accepted must give bytes we accept again.
                let wire = homeline_sip::message::serialize(&r.into());
                let _ = receive_datagram(&wire);
            }
        }
    }
});
