//! The quality probe on simulated time against a simulated STUN server with a given delay,
//! loss pattern and reordering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_diag::quality::{self, Sample};
use homeline_diag::quality_probe::{INTERVAL, QualityProbe};
use rtc_stun::message::{BINDING_SUCCESS, Message, Setter};
use rtc_stun::xoraddr::XorMappedAddress;

fn answer(req: &[u8]) -> Vec<u8> {
    let mut m = Message::new();
    m.unmarshal_binary(req).expect("request");
    let mut r = Message::new();
    let setters: [Box<dyn Setter>; 2] = [Box::new(BINDING_SUCCESS), Box::new(m.transaction_id)];
    r.build(&setters).expect("build");
    XorMappedAddress {
        ip: "203.0.113.1".parse().expect("ip"),
        port: 4000,
    }
    .add_to_as(&mut r, rtc_stun::attributes::ATTR_XORMAPPED_ADDRESS)
    .expect("xor");
    r.write_header();
    r.raw.clone()
}

/// Runs `count` packets; `rtt(seq)` is the simulated round trip (None = lost).
fn run(count: u32, rtt: impl Fn(u32) -> Option<Duration>) -> (Vec<Sample>, Duration) {
    let server: SocketAddr = "198.51.100.10:3478".parse().expect("addr");
    let start = Instant::now();
    let mut now = start;
    let mut p = QualityProbe::new(now, server, count);
    let mut in_flight: Vec<(Instant, Vec<u8>)> = Vec::new();
    let mut seq = 0;
    for _ in 0..100_000 {
        while let Some((to, bytes)) = p.poll_transmit() {
            assert_eq!(to, server);
            if let Some(d) = rtt(seq) {
                in_flight.push((now + d, answer(&bytes)));
            }
            seq += 1;
        }
        if p.is_done() {
            break;
        }
        in_flight.sort_by_key(|(t, _)| *t);
        let next_answer = in_flight.first().map(|(t, _)| *t);
        let next_timer = p.poll_timeout();
        match (next_answer, next_timer) {
            (Some(a), Some(t)) if a <= t => {
                now = a;
                let (_, bytes) = in_flight.remove(0);
                p.handle_read(now, &bytes);
            }
            (Some(a), None) => {
                now = a;
                let (_, bytes) = in_flight.remove(0);
                p.handle_read(now, &bytes);
            }
            (_, Some(t)) => {
                now = t;
                p.handle_timeout(now);
            }
            (None, None) => break,
        }
    }
    (p.samples().to_vec(), now - start)
}

#[test]
fn paces_at_20_ms_and_measures_rtt_loss_and_reordering() {
    // 250 packets (5 s); 40 ms RTT, every 25th lost, seq 100 delayed by 70 ms (reordered).
    let (samples, took) = run(250, |i| {
        if i % 25 == 24 {
            None
        } else if i == 100 {
            Some(Duration::from_millis(110))
        } else {
            Some(Duration::from_millis(40))
        }
    });
    assert_eq!(samples.len(), 250);
    // Sent every 20 ms exactly.
    for w in samples.windows(2) {
        assert!((w[1].sent_ms - w[0].sent_ms - INTERVAL.as_secs_f64() * 1000.0).abs() < 1e-6);
    }
    // It ends shortly after the last answer or the linger time, never runs away.
    assert!(took <= Duration::from_millis(250 * 20 + 800), "{took:?}");
    let s = quality::stats(&samples).expect("stats");
    assert_eq!(s.sent, 250);
    assert_eq!(s.received, 240);
    assert!((s.loss_pct - 4.0).abs() < 1e-9);
    assert!(s.reordered >= 1, "{s:?}");
    assert!((s.rtt_ms - 40.0).abs() < 1.0, "{s:?}");
    // 4 % loss is a problem by the thresholds.
    assert_eq!(
        quality::check(&samples, "sim").status,
        homeline_diag::Status::Problem
    );
}

#[test]
fn garbage_and_strangers_are_ignored() {
    let server: SocketAddr = "198.51.100.10:3478".parse().expect("addr");
    let now = Instant::now();
    let mut p = QualityProbe::new(now, server, 3);
    let _ = p.poll_transmit();
    p.handle_read(now, b"not stun at all");
    p.handle_read(now, &[0u8; 20]);
    let mut req = rtc_stun::message::Message::new();
    let setters: [Box<dyn Setter>; 2] = [
        Box::new(rtc_stun::message::BINDING_REQUEST),
        Box::new(rtc_stun::message::TransactionId::new()),
    ];
    req.build(&setters).expect("build");
    // An answer to somebody else's request.
    p.handle_read(now, &answer(&req.raw));
    assert!(p.samples().iter().all(|s| s.received_ms.is_none()));
}
