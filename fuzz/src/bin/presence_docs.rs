//! Presence documents from the network: PIDF with RPID (RFC 3863/4480) and message summaries
//! (RFC 3842), the bodies of every NOTIFY a watched contact or a voicemail system sends.
#![no_main]

use homeline_presence::{mwi, pidf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = pidf::parse(data) {
        // What we read must be writable again as our own document.
        let _ = pidf::build("sip:fuzz@example.com", p.status, p.note.as_deref(), "fuzz");
    }
    let _ = mwi::parse(data);
});
