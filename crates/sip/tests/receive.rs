//! Receive-path behaviour beyond the torture corpus: stream framing errors, keep-alives, caps,
//! error responses.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::framing::FramingError;
use homeline_sip::validate::ValidateError;
use homeline_sip::{Inbound, StreamFramer, StreamItem, receive_datagram};

const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710\r\n\
CSeq: 63104 OPTIONS\r\n";

fn drain(f: &mut StreamFramer) -> Vec<StreamItem> {
    std::iter::from_fn(|| f.next_item()).collect()
}

#[test]
fn missing_content_length_on_a_stream_is_answered_and_does_not_desynchronise() {
    let mut f = StreamFramer::new();
    let bad = format!("{OPTIONS}\r\n");
    let good = format!("{OPTIONS}Content-Length: 0\r\n\r\n");
    f.push(format!("{bad}{good}").as_bytes());
    let items = drain(&mut f);
    assert_eq!(items.len(), 2, "{items:?}");
    match &items[0] {
        StreamItem::Message(Inbound::Reject(r)) => {
            assert_eq!(r.status, 400);
            assert!(matches!(r.error, ValidateError::MissingHeader(_)));
            let resp = String::from_utf8(r.response.clone().unwrap()).unwrap();
            assert!(resp.starts_with("SIP/2.0 400 Bad Request - missing Content-Length"));
            assert!(resp.contains("Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"));
            assert!(
                resp.contains("To: <sip:bob@example.com>;tag="),
                "a To tag is added"
            );
            assert!(resp.contains("CSeq: 63104 OPTIONS\r\n"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(items[1], StreamItem::Message(Inbound::Request(_))));
}

#[test]
fn ping_and_pong() {
    let mut f = StreamFramer::new();
    f.push(b"\r\n\r\n");
    assert_eq!(drain(&mut f), vec![StreamItem::Ping]);
    f.push(b"\r\n");
    assert_eq!(drain(&mut f), vec![StreamItem::Pong]);
    // A split ping: the third byte makes the framer wait for the fourth.
    f.push(b"\r\n\r");
    assert_eq!(drain(&mut f), vec![]);
    f.push(b"\n");
    assert_eq!(drain(&mut f), vec![StreamItem::Ping]);
    assert_eq!(homeline_sip::framing::PONG, b"\r\n");
}

#[test]
fn datagram_keepalive() {
    assert_eq!(receive_datagram(b"\r\n\r\n"), Inbound::KeepAlive);
    assert_eq!(receive_datagram(b"\r\n"), Inbound::KeepAlive);
}

#[test]
fn oversized_body_is_skipped_and_the_stream_continues() {
    let mut f = StreamFramer::new();
    let big = 70 * 1024;
    f.push(format!("{OPTIONS}Content-Length: {big}\r\n\r\n").as_bytes());
    let first = drain(&mut f);
    assert_eq!(first.len(), 1);
    assert!(matches!(&first[0], StreamItem::Message(Inbound::Reject(r)) if r.status == 400));
    // The body arrives in pieces and is discarded; the next message is framed normally.
    for _ in 0..70 {
        f.push(&[b'x'; 1024]);
        assert_eq!(drain(&mut f), vec![]);
    }
    f.push(format!("{OPTIONS}Content-Length: 0\r\n\r\n").as_bytes());
    assert!(matches!(
        drain(&mut f).as_slice(),
        [StreamItem::Message(Inbound::Request(_))]
    ));
}

#[test]
fn endless_head_is_fatal() {
    let mut f = StreamFramer::new();
    f.push(b"OPTIONS sip:bob@example.com SIP/2.0\r\n");
    for _ in 0..100 {
        f.push(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(
        drain(&mut f),
        vec![StreamItem::Fatal(FramingError::HeadTooLarge)]
    );
    f.push(b"more");
    assert_eq!(drain(&mut f), vec![]);
}

#[test]
fn unparsable_content_length_on_stream_is_fatal() {
    let mut f = StreamFramer::new();
    f.push(format!("{OPTIONS}Content-Length: ten\r\n\r\n").as_bytes());
    assert!(matches!(
        drain(&mut f).as_slice(),
        [StreamItem::Fatal(FramingError::BadContentLength(_))]
    ));
}

#[test]
fn too_many_headers_is_rejected() {
    let mut msg = OPTIONS.to_owned();
    for i in 0..300 {
        msg.push_str(&format!("X-H{i}: v\r\n"));
    }
    msg.push_str("Content-Length: 0\r\n\r\n");
    match receive_datagram(msg.as_bytes()) {
        Inbound::Reject(r) => {
            assert_eq!(r.status, 400);
            assert!(r.error.to_string().contains("header fields"), "{}", r.error);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_datagram_is_rejected() {
    let mut msg = format!("{OPTIONS}Content-Length: 70000\r\n\r\n").into_bytes();
    msg.extend(std::iter::repeat_n(b'x', 70_000));
    assert!(matches!(receive_datagram(&msg), Inbound::Reject(r) if r.status == 400));
}

#[test]
fn malformed_response_is_dropped() {
    let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 OPTIONS\r\n\r\n";
    assert_eq!(
        receive_datagram(resp.as_bytes()),
        Inbound::Drop(ValidateError::MissingHeader("Call-ID"))
    );
}

#[test]
fn ack_is_never_answered() {
    let ack = "ACK sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\r\n";
    match receive_datagram(ack.as_bytes()) {
        Inbound::Reject(r) => assert!(r.response.is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tel_request_uri_round_trips() {
    let req = "INVITE tel:+1-201-555-0123;phone-context=example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <tel:+1-201-555-0123>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    match receive_datagram(req.as_bytes()) {
        Inbound::Request(r) => {
            assert_eq!(
                r.uri.to_string(),
                "tel:+1-201-555-0123;phone-context=example.com"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn serialise_round_trip() {
    let req = format!("{OPTIONS}Content-Length: 4\r\n\r\nab\0\u{7f}");
    let Inbound::Request(r) = receive_datagram(req.as_bytes()) else {
        panic!()
    };
    let wire = homeline_sip::message::serialize(&r.clone().into());
    assert_eq!(receive_datagram(&wire), Inbound::Request(r));
}

#[test]
fn body_without_content_length_does_not_swallow_the_next_message() {
    // The sender forgot Content-Length but sent a body: we assume 0 (as §18.3 leaves us no
    // other way to frame), answer 400, skip the orphaned body lines and find the next message.
    let mut f = StreamFramer::new();
    let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    f.push(format!("{OPTIONS}\r\n{body}{OPTIONS}Content-Length: 0\r\n\r\n").as_bytes());
    let items = drain(&mut f);
    assert!(
        matches!(&items[0], StreamItem::Message(Inbound::Reject(r)) if r.status == 400),
        "{items:?}"
    );
    assert!(
        matches!(&items[1], StreamItem::Message(Inbound::Drop(e)) if e.to_string().contains("non-SIP"))
    );
    assert!(matches!(items[2], StreamItem::Message(Inbound::Request(_))));
    assert_eq!(items.len(), 3);
}

#[test]
fn leading_garbage_on_a_stream_is_skipped() {
    let mut f = StreamFramer::new();
    f.push(format!("GET / HTTP/1.1\r\nHost: x\r\n{OPTIONS}Content-Length: 0\r\n\r\n").as_bytes());
    let items = drain(&mut f);
    assert!(
        matches!(
            &items[..],
            [
                StreamItem::Message(Inbound::Drop(_)),
                StreamItem::Message(Inbound::Request(_))
            ]
        ),
        "{items:?}"
    );
}

#[test]
fn a_head_trickling_in_byte_by_byte_is_linear() {
    // 60 KiB of headers pushed one byte at a time: rescanning from the start on every push
    // would be ~2·10⁹ comparisons; this must finish quickly even in a debug build.
    let mut msg = OPTIONS.to_owned();
    while msg.len() < 60 * 1024 {
        msg.push_str("X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    msg.push_str("Content-Length: 0\r\n\r\n");
    let started = std::time::Instant::now();
    let mut f = StreamFramer::new();
    let mut items = Vec::new();
    for b in msg.as_bytes() {
        f.push(std::slice::from_ref(b));
        items.extend(std::iter::from_fn(|| f.next_item()));
    }
    assert_eq!(items.len(), 1);
    // Too many headers, but framed and answered; the point is the time.
    assert!(matches!(&items[0], StreamItem::Message(Inbound::Reject(_))));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
