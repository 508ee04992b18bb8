//! Feeds thousands of deterministic pseudo-random mutations of the torture corpus through the
//! whole receive path (datagram and stream). The only assertion is the important one: nothing
//! panics, and every stream item is one of the documented outcomes. cargo-fuzz (`fuzz/`) does
//! the same open-endedly; this keeps a bounded version in ordinary CI.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::{StreamFramer, receive_datagram};

mod common;

/// xorshift64*: tiny, seedable, good enough to pick mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const NAMES: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badinv01",
    "clerr",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "ncl",
    "insuf",
    "unkscm",
    "unksm2",
    "bext01",
    "multi01",
    "bcast",
    "zeromf",
    "scalar02",
];

const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b":",
    b";",
    b",",
    b"\"",
    b"<",
    b">",
    b" ",
    b"\t",
    b"%",
    b"\0",
    b"\xff",
    b"\xc3",
    b"Content-Length: 99999999999\r\n",
    b"l: -1\r\n",
    b"v: ",
    b"SIP/2.0",
    b"z9hG4bK",
    b"@",
    b"CSeq: 4294967296 INVITE\r\n",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let at = at.min(input.len() - 1);
                input[at] = rng.next() as u8;
            }
            1 if !input.is_empty() => {
                let end = (at + rng.below(16)).min(input.len());
                input.drain(at.min(end)..end);
            }
            2 => {
                let ins = INTERESTING[rng.below(INTERESTING.len())];
                input.splice(at..at, ins.iter().copied());
            }
            3 => input.truncate(at),
            4 if !input.is_empty() => {
                // Duplicate a slice, as a retransmission glued to itself would.
                let end = (at + rng.below(200)).min(input.len());
                let slice = input[at.min(end)..end].to_vec();
                input.splice(at..at, slice);
            }
            _ => {
                let at = at.min(input.len());
                input.insert(at, b"\r\n:; ,\"<>"[rng.below(9)]);
            }
        }
    }
}

#[test]
fn mutated_corpus_never_panics() {
    let corpus: Vec<Vec<u8>> = NAMES.iter().map(|n| common::load(n)).collect();
    let mut framer = StreamFramer::new();
    let mut outcomes = [0usize; 5];
    // Whatever the receive path accepts also goes into a transaction layer and a dialog.
    let t0 = std::time::Instant::now();
    let mut layer = homeline_sip::transaction::TransactionLayer::new(Default::default());
    let from = homeline_sip::transaction::Peer {
        transport: homeline_sip::transaction::TransportKind::Udp,
        addr: "192.0.2.9:5060".parse().unwrap(),
    };
    // HOMELINE_SIP_MUTATIONS raises the count for a longer local soak.
    let count: usize = std::env::var("HOMELINE_SIP_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let seed: u64 = std::env::var("HOMELINE_SIP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed.max(1));
    for i in 0..count {
        let mut msg = corpus[i % corpus.len()].clone();
        mutate(&mut rng, &mut msg);
        let now = t0 + std::time::Duration::from_millis(i as u64 * 10);
        let idx = match receive_datagram(&msg) {
            homeline_sip::Inbound::Request(r) => {
                let _ = homeline_sip::dialog::Dialog::new_uas(&r, "t", true);
                layer.handle_message(now, r.into(), from);
                0
            }
            homeline_sip::Inbound::Response(r) => {
                let _ = homeline_sip::auth::Challenge::from_response(&r);
                layer.handle_message(now, r.into(), from);
                1
            }
            homeline_sip::Inbound::Reject(_) => 2,
            homeline_sip::Inbound::Drop(_) => 3,
            homeline_sip::Inbound::KeepAlive => 4,
        };
        outcomes[idx] += 1;
        layer.handle_timeout(now);
        while layer.poll_transmit().is_some() {}
        while let Some(e) = layer.poll_event() {
            if let homeline_sip::transaction::TransactionEvent::Request { id, request, .. } = e {
                let resp = homeline_sip::transaction::response_for(&request, 486, "Busy");
                let _ = layer.send_response(now, id, resp);
            }
        }
        // Digest challenge parsing on mutated text.
        let mut challenge = b"Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth,auth-int\", algorithm=SHA-256, opaque=\"x\\\"y\", stale=true".to_vec();
        mutate(&mut rng, &mut challenge);
        if let Ok(text) = std::str::from_utf8(&challenge) {
            let _ = homeline_sip::auth::Challenge::parse(text, false);
        }
        // The same bytes through one long-lived stream, in random chunks; after a fatal
        // framing error the connection would be closed, so start a new one.
        let mut rest = msg.as_slice();
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(700));
            framer.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(item) = framer.next_item() {
                if matches!(item, homeline_sip::StreamItem::Fatal(_)) {
                    framer = StreamFramer::new();
                }
            }
        }
    }
    // The mutations must actually exercise every branch, or the test proves little.
    assert!(outcomes.iter().take(4).all(|n| *n > 0), "{outcomes:?}");
}
