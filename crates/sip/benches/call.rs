//! The UA's local processing time from an INVITE's bytes to the 180's bytes through the
//! receive path, the transaction layer and the call layer (issue 3: well under 1 ms).
//! Run: `cargo bench -p homeline-sip --bench call -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
use homeline_sip::transaction::{Peer, TimerConfig, TransactionLayer, TransportKind};
use homeline_sip::{Inbound, receive_datagram};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn invite(n: u64) -> Vec<u8> {
    let body = "v=0\r\no=alice 1 1 IN IP4 192.0.2.101\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: Alice <sip:alice@example.com>;tag=a{n}\r\n\
         To: Bob <sip:bob@example.com>\r\nCall-ID: bench-{n}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:alice@192.0.2.101:5060>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    let from = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.101:5060".parse().expect("literal address"),
    };
    let cfg = CallConfig::new(
        "sip:bob@example.com",
        "192.0.2.2:5060".parse().expect("literal address"),
        TransportKind::Udp,
    );
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let mut calls = CallLayer::new(cfg, 1);
    let mut now = Instant::now();
    let mut n = 0u64;
    c.bench_function("invite_to_180", |b| {
        b.iter(|| {
            n += 1;
            // One call a second: a realistic steady state (ended calls linger 64·T1).
            now += Duration::from_secs(1);
            let Inbound::Request(r) = receive_datagram(&invite(n)) else {
                unreachable!("the INVITE is valid")
            };
            layer.handle_message(now, r.into(), from);
            while let Some(ev) = layer.poll_event() {
                let _ = calls.handle_transaction_event(now, &mut layer, ev);
            }
            while let Some(ev) = calls.poll_event() {
                if let CallEvent::Incoming { call, .. } = ev {
                    let _ = calls.ring(now, &mut layer, call);
                    let _ = calls.reject(now, &mut layer, call, 486);
                }
            }
            while let Some(t) = layer.poll_transmit() {
                black_box(t.bytes());
            }
            // Keep the state small: let old transactions and calls expire.
            layer.handle_timeout(now);
            calls.handle_timeout(now, &mut layer);
            while let Some(ev) = layer.poll_event() {
                let _ = calls.handle_transaction_event(now, &mut layer, ev);
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
