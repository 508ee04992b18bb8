//! MESSAGE (RFC 3428) between two user agents on simulated time, through the real receive
//! path: delivery with byte-exact UTF-8, a digest challenge answered once, no answer → 408
//! after Timer F, refusals (415 with Accept, 413, 400) and oversized sends.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use std::time::{Duration, Instant};

use homeline_sip::auth::Credentials;
use homeline_sip::pager::{MessageId, Pager, PagerConfig, PagerError, PagerEvent, TEXT_PLAIN};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionLayer, TransportKind, response_for,
};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

fn peer(a: &str) -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: a.parse().unwrap(),
    }
}

struct Ua {
    layer: TransactionLayer,
    pager: Pager,
    events: Vec<PagerEvent>,
    /// Requests the pager handed back, or all requests when `bare` (a scripted server
    /// answers them itself).
    other: Vec<(homeline_sip::transaction::TransactionId, rsip::Request)>,
    bare: bool,
}

fn ua(aor: &str, at: Peer, creds: Option<Credentials>) -> Ua {
    let mut cfg = PagerConfig::new(aor, at.addr, TransportKind::Udp);
    cfg.credentials = creds;
    Ua {
        layer: TransactionLayer::new(TimerConfig::default()),
        pager: Pager::new(cfg, 7),
        events: Vec::new(),
        other: Vec::new(),
        bare: false,
    }
}

/// Runs both sides for `ms` of simulated time in 10 ms steps; `script` may answer requests
/// the second side's pager did not take. Returns every message on the wire (to_b, bytes).
fn run(
    now: &mut Instant,
    a: &mut Ua,
    b: &mut Ua,
    ms: u64,
    mut script: impl FnMut(Instant, &mut Ua),
) -> Vec<(bool, Vec<u8>)> {
    let (pa, pb) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    let mut wire_log = Vec::new();
    let mut flying: Vec<(bool, Vec<u8>)> = Vec::new();
    for _ in 0..ms / 10 {
        for (to_b, bytes) in flying.drain(..) {
            let msg = match receive_datagram(&bytes) {
                Inbound::Request(r) => r.into(),
                Inbound::Response(r) => r.into(),
                other => panic!("unparseable on the wire: {other:?}"),
            };
            if to_b {
                b.layer.handle_message(*now, msg, pa);
            } else {
                a.layer.handle_message(*now, msg, pb);
            }
        }
        for (ua, _) in [(&mut *a, 0), (&mut *b, 1)] {
            ua.layer.handle_timeout(*now);
            while let Some(ev) = ua.layer.poll_event() {
                let ev = if ua.bare {
                    Some(ev)
                } else {
                    ua.pager.handle_transaction_event(*now, &mut ua.layer, ev)
                };
                if let Some(TransactionEvent::Request { id, request, .. }) = ev {
                    ua.other.push((id, request));
                }
            }
            while let Some(ev) = ua.pager.poll_event() {
                ua.events.push(ev);
            }
        }
        script(*now, b);
        while let Some(t) = a.layer.poll_transmit() {
            wire_log.push((true, t.bytes()));
            flying.push((true, t.bytes()));
        }
        while let Some(t) = b.layer.poll_transmit() {
            wire_log.push((false, t.bytes()));
            flying.push((false, t.bytes()));
        }
        *now += Duration::from_millis(10);
    }
    wire_log
}

const TEXTS: [&str; 3] = [
    "Hello, are you free for a call?",
    "Привет! Ты свободен для звонка?",
    "你好！你现在有空通话吗？",
];

#[test]
fn english_russian_and_chinese_arrive_byte_exact_and_are_delivered() {
    let mut now = Instant::now();
    let mut a = ua("sip:alice@example.com", peer("192.0.2.1:5060"), None);
    let mut b = ua("sip:bob@example.com", peer("192.0.2.2:5060"), None);
    let mut ids = Vec::new();
    for t in TEXTS {
        ids.push(
            a.pager
                .send(
                    now,
                    &mut a.layer,
                    "sip:bob@example.com",
                    TEXT_PLAIN,
                    t.as_bytes(),
                    peer("192.0.2.2:5060"),
                )
                .unwrap(),
        );
    }
    let wire = run(&mut now, &mut a, &mut b, 500, |_, _| {});
    let got: Vec<&str> = b
        .events
        .iter()
        .map(|e| match e {
            PagerEvent::Received { text, from, .. } => {
                assert_eq!(from, "sip:alice@example.com");
                text.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, TEXTS);
    let delivered: Vec<MessageId> = a
        .events
        .iter()
        .map(|e| match e {
            PagerEvent::Delivered { id, code: 200 } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(delivered, ids);
    // RFC 3428 §4: no dialog, so no Contact; the text travels as UTF-8 text/plain.
    let first = String::from_utf8(wire[0].1.clone()).unwrap();
    assert!(
        first.starts_with("MESSAGE sip:bob@example.com SIP/2.0\r\n"),
        "{first}"
    );
    assert!(
        first.contains("Content-Type: text/plain;charset=UTF-8\r\n"),
        "{first}"
    );
    assert!(!first.contains("Contact:"), "{first}");
    assert_eq!(a.pager.pending(), 0);
}

#[test]
fn a_challenge_is_answered_once_and_a_second_one_fails() {
    for (challenges, expect) in [(1, 202), (2, 407)] {
        let mut now = Instant::now();
        let creds = Credentials {
            username: "alice".into(),
            password: "secret".into(),
        };
        let mut a = ua("sip:alice@example.com", peer("192.0.2.1:5060"), Some(creds));
        // B plays a proxy: challenge, then take the message for storage (202).
        let mut b = ua("sip:proxy@example.com", peer("192.0.2.2:5060"), None);
        let mut seen = 0;
        let id = a
            .pager
            .send(
                now,
                &mut a.layer,
                "sip:carol@example.com",
                TEXT_PLAIN,
                "Привет".as_bytes(),
                peer("192.0.2.2:5060"),
            )
            .unwrap();
        b.bare = true;
        let mut requests = Vec::new();
        run(&mut now, &mut a, &mut b, 1000, |now, b| {
            for (id, req) in b.other.drain(..) {
                requests.push(req.clone());
                seen += 1;
                let r = if seen <= challenges {
                    let mut r = response_for(&req, 407, "Proxy Authentication Required");
                    r.headers.push(rsip::Header::Other(
                        "Proxy-Authenticate".into(),
                        format!("Digest realm=\"example.com\", nonce=\"n{seen}\", qop=\"auth\""),
                    ));
                    r
                } else {
                    response_for(&req, 202, "Accepted")
                };
                b.layer.send_response(now, id, r).unwrap();
            }
        });
        assert_eq!(requests.len(), 2, "a challenge, then one retry");
        // The retry: same Call-ID, next CSeq, credentials for the challenge's realm.
        if challenges == 1 {
            let (first, second) = (&requests[0], &requests[1]);
            assert_eq!(
                first.call_id_header().unwrap(),
                second.call_id_header().unwrap()
            );
            assert_eq!(second.cseq_header().unwrap().value(), "2 MESSAGE");
            let auth = second.to_string();
            assert!(
                auth.contains(
                    "Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\""
                ),
                "{auth}"
            );
            assert_eq!(second.body, "Привет".as_bytes());
        }
        let outcome = a.events.last().cloned().unwrap();
        match (expect, outcome) {
            (202, PagerEvent::Delivered { id: got, code: 202 }) => assert_eq!(got, id),
            (
                407,
                PagerEvent::Failed {
                    id: got,
                    code: 407,
                    reason,
                },
            ) => {
                assert_eq!(got, id);
                assert!(reason.contains("credentials"), "{reason}");
            }
            (_, other) => panic!("{challenges} challenges: {other:?}"),
        }
    }
}

#[test]
fn no_answer_fails_with_408_after_timer_f() {
    let mut now = Instant::now();
    let mut a = ua("sip:alice@example.com", peer("192.0.2.1:5060"), None);
    let id = a
        .pager
        .send(
            now,
            &mut a.layer,
            "sip:bob@example.com",
            TEXT_PLAIN,
            b"anyone?",
            peer("192.0.2.2:5060"),
        )
        .unwrap();
    let start = now;
    // The far side's transaction layer never sees anything: drop its input by not running it.
    let mut last = None;
    for _ in 0..4000 {
        a.layer.handle_timeout(now);
        while a.layer.poll_transmit().is_some() {}
        while let Some(ev) = a.layer.poll_event() {
            let _ = a.pager.handle_transaction_event(now, &mut a.layer, ev);
        }
        if let Some(ev) = a.pager.poll_event() {
            last = Some((now - start, ev));
            break;
        }
        now += Duration::from_millis(10);
    }
    let (after, ev) = last.unwrap();
    assert_eq!(
        ev,
        PagerEvent::Failed {
            id,
            code: 408,
            reason: "nobody answered the message in time".into()
        }
    );
    // Timer F = 64·T1 = 32 s (RFC 3261 §17.1.2.2).
    assert!(
        after >= Duration::from_secs(32) && after < Duration::from_millis(32_100),
        "{after:?}"
    );
}

fn raw_message(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKraw{}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:mallory@example.com>;tag=m\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: raw-{}\r\nCSeq: 1 MESSAGE\r\n{content_type}Content-Length: {}\r\n\r\n",
        body.len(),
        body.len(),
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

#[test]
fn bad_messages_get_a_clear_4xx_and_nothing_breaks() {
    let now = Instant::now();
    let mut b = ua("sip:bob@example.com", peer("192.0.2.2:5060"), None);
    let mut cfg = b.pager.config().clone();
    cfg.max_body = 1000;
    b.pager = Pager::new(cfg, 3);
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            raw_message("Content-Type: text/html\r\n", b"<b>hi</b>"),
            415,
        ),
        (raw_message("Content-Type: text/plain\r\n", b"caf\xe9"), 400),
        (
            raw_message("Content-Type: text/plain\r\n", &[b'x'; 1001]),
            413,
        ),
        (raw_message("", b"untyped"), 415),
        (
            raw_message("Content-Type: text/plain;charset=koi8-r\r\n", b"\xf0\xd2"),
            415,
        ),
        (
            raw_message("Content-Type: text/plain\r\n", "ok ✓".as_bytes()),
            200,
        ),
    ];
    for (bytes, want) in cases {
        let Inbound::Request(r) = receive_datagram(&bytes) else {
            panic!("{want}: not a request")
        };
        b.layer
            .handle_message(now, r.into(), peer("192.0.2.9:5060"));
        while let Some(ev) = b.layer.poll_event() {
            assert!(
                b.pager
                    .handle_transaction_event(now, &mut b.layer, ev)
                    .is_none()
            );
        }
        let t = b.layer.poll_transmit().expect("an answer");
        let text = String::from_utf8(t.bytes()).unwrap();
        assert!(
            text.starts_with(&format!("SIP/2.0 {want} ")),
            "{want}: {text}"
        );
        assert!(text.contains("To: <sip:bob@example.com>;tag="), "{text}");
        if want == 415 {
            assert!(text.contains("Accept: text/plain\r\n"), "{text}");
        }
    }
    let received: Vec<_> = std::iter::from_fn(|| b.pager.poll_event()).collect();
    assert_eq!(received.len(), 1, "{received:?}");
}

#[test]
fn oversized_or_misaddressed_sends_are_refused_before_the_wire() {
    let now = Instant::now();
    let mut a = ua("sip:alice@example.com", peer("192.0.2.1:5060"), None);
    let p = peer("192.0.2.2:5060");
    let big = vec![b'a'; 1301];
    assert_eq!(
        a.pager
            .send(
                now,
                &mut a.layer,
                "sip:bob@example.com",
                TEXT_PLAIN,
                &big,
                p
            )
            .unwrap_err(),
        PagerError::TooLarge {
            size: 1301,
            max: 1300
        }
    );
    assert!(matches!(
        a.pager
            .send(now, &mut a.layer, "bob at example", TEXT_PLAIN, b"x", p)
            .unwrap_err(),
        PagerError::BadUri(_)
    ));
    assert!(a.layer.poll_transmit().is_none());
}
