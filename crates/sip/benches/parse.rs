//! Receive-path throughput: parse + validate + serialise, in messages per second.
//! Run: `cargo bench -p homeline-sip --bench parse -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionLayer, TransportKind, response_for,
};
use homeline_sip::{Inbound, receive_datagram};
use std::hint::black_box;
use std::time::Instant;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n\
Supported: replaces, 100rel\r\n\
User-Agent: Homeline/0.1\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 151\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

const RESPONSE: &str = "SIP/2.0 180 Ringing\r\n\
v: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n\
f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
t: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n\
i: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
m: <sip:bob@client.biloxi.example.com>\r\n\
l: 0\r\n\r\n";

fn roundtrip(bytes: &[u8]) -> usize {
    match receive_datagram(bytes) {
        Inbound::Request(r) => homeline_sip::message::serialize(&r.into()).len(),
        Inbound::Response(r) => homeline_sip::message::serialize(&r.into()).len(),
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive");
    g.throughput(Throughput::Elements(1));
    g.bench_function("invite_parse_validate_serialise", |b| {
        b.iter(|| roundtrip(black_box(INVITE.as_bytes())))
    });
    g.bench_function("compact_response_parse_validate_serialise", |b| {
        b.iter(|| roundtrip(black_box(RESPONSE.as_bytes())))
    });
    g.finish();

    // The UA's local work from an INVITE datagram to the 180's bytes: receive path, server
    // transaction creation, the TU's 180, serialisation (issue 3 asks for well under 1 ms).
    let from = Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.101:5060".parse().expect("literal address"),
    };
    let now = Instant::now();
    let mut layer = TransactionLayer::new(TimerConfig::default());
    let mut n = 0u64;
    c.bench_function("invite_to_180", |b| {
        b.iter(|| {
            // A fresh branch each time so every INVITE is a new transaction.
            n += 1;
            let invite = INVITE.replace("z9hG4bK74bf9", &format!("z9hG4bK{n}"));
            let Inbound::Request(request) = receive_datagram(invite.as_bytes()) else {
                unreachable!("the benchmark INVITE is valid")
            };
            layer.handle_message(now, request.into(), from);
            let mut sent = 0;
            while let Some(event) = layer.poll_event() {
                if let TransactionEvent::Request { id, request, .. } = event {
                    let ringing = response_for(&request, 180, "Ringing");
                    layer
                        .send_response(now, id, ringing)
                        .expect("fresh transaction");
                }
            }
            while let Some(t) = layer.poll_transmit() {
                sent += black_box(t.bytes()).len();
            }
            sent
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
