//! Strict header text (RFC 3261 §25.1): no control character in a header name or value except
//! HTAB where LWS may stand, and any octet but CR/LF escaped as a quoted-pair inside a quoted
//! string. One test per rule; each bad request is answered `400` with a reason phrase naming
//! the header, over a datagram and over a stream.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::normalize::NormalizeError;
use homeline_sip::validate::ValidateError;
use homeline_sip::{Inbound, StreamFramer, StreamItem, receive_datagram};

/// An OPTIONS whose extra header lines are `extra` (each ending in CRLF).
fn options(extra: &[u8]) -> Vec<u8> {
    let mut m = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKhdr1\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
Call-ID: hdrtext-1@192.0.2.1\r\n\
CSeq: 1 OPTIONS\r\n"
        .to_vec();
    m.extend_from_slice(extra);
    m.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    m
}

/// The 400 of a rejected message, checked to name `header` and to be clean text itself.
fn rejected(msg: &[u8], header: &str, byte: u8) -> String {
    let check = |inbound: Inbound| match inbound {
        Inbound::Reject(r) => {
            assert_eq!(r.status, 400, "{}", r.error);
            match &r.error {
                ValidateError::Normalize(NormalizeError::ControlChar { header: h, byte: b }) => {
                    assert_eq!((h.as_str(), *b), (header, byte));
                }
                other => panic!("expected a control-character error, got {other:?}"),
            }
            let resp = String::from_utf8(r.response.expect("a 400 can be built")).unwrap();
            let status_line = resp.lines().next().unwrap().to_owned();
            assert!(
                status_line.starts_with("SIP/2.0 400 Bad Request - control character")
                    && status_line.ends_with(&format!("in the {header} header")),
                "{status_line}"
            );
            assert!(
                !resp
                    .bytes()
                    .any(|b| (b < 0x20 && !b"\r\n".contains(&b)) || b == 0x7f),
                "the 400 echoes no control character: {resp:?}"
            );
            status_line
        }
        other => panic!("expected a 400, got {other:?}"),
    };
    let datagram = check(receive_datagram(msg));
    // The same over a stream, fed in two pieces, followed by a good message that must still
    // come through (a bad header costs one message, not the connection).
    let mut f = StreamFramer::new();
    let (a, b) = msg.split_at(msg.len() / 2);
    f.push(a);
    f.push(b);
    f.push(&options(b""));
    let items: Vec<_> = std::iter::from_fn(|| f.next_item()).collect();
    assert_eq!(items.len(), 2, "{items:?}");
    match items.into_iter().collect::<Vec<_>>().as_slice() {
        [
            StreamItem::Message(bad),
            StreamItem::Message(Inbound::Request(_)),
        ] => {
            assert_eq!(check(bad.clone()), datagram);
        }
        other => panic!("{other:?}"),
    }
    datagram
}

fn accepted(msg: &[u8]) -> rsip::Request {
    match receive_datagram(msg) {
        Inbound::Request(r) => r,
        other => panic!("expected the request to be accepted, got {other:?}"),
    }
}

fn header_value(r: &rsip::Request, name: &str) -> Option<String> {
    r.headers.iter().find_map(|h| {
        let line = h.to_string();
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

#[test]
fn nul_in_a_subject_is_a_400_naming_subject() {
    let line = rejected(&options(b"Subject: a\0b\r\n"), "Subject", 0);
    assert_eq!(
        line,
        "SIP/2.0 400 Bad Request - control character NUL (0x00) in the Subject header"
    );
}

#[test]
fn other_c0_controls_in_a_value_are_a_400() {
    for byte in (0x01u8..0x20).filter(|b| ![b'\t', b'\r', b'\n'].contains(b)) {
        let mut extra = b"X-Note: one".to_vec();
        extra.push(byte);
        extra.extend_from_slice(b"two\r\n");
        rejected(&options(&extra), "X-Note", byte);
    }
}

#[test]
fn del_in_a_value_is_a_400() {
    rejected(&options(b"Subject: delete\x7fme\r\n"), "Subject", 0x7f);
}

#[test]
fn a_bare_cr_inside_a_value_is_a_400() {
    // A CR not followed by LF does not end the line; it is a control character in the value.
    rejected(&options(b"Subject: carriage\rreturn\r\n"), "Subject", b'\r');
}

#[test]
fn a_control_in_a_header_name_is_a_400_naming_it() {
    rejected(&options(b"X-Bad\x01Name: v\r\n"), "X-Bad?Name", 0x01);
    rejected(&options(b"\0: v\r\n"), "?", 0);
}

#[test]
fn a_control_in_a_mandatory_header_is_a_400_that_does_not_echo_it() {
    // The 400 copies From and Call-ID: the control characters are replaced, not echoed.
    let msg = String::from_utf8(options(b""))
        .unwrap()
        .replace("Call-ID: hdrtext-1@", "Call-ID: hdr\x1btext-1@")
        .replace("From: <sip:alice", "From: \"Al\x07ice\" <sip:alice");
    let line = rejected(msg.as_bytes(), "From", 0x07);
    assert!(line.contains("From"));
}

#[test]
fn a_control_in_a_folded_continuation_line_is_a_400() {
    rejected(
        &options(b"Subject: first line\r\n \x0bsecond line\r\n"),
        "Subject",
        0x0b,
    );
    // A VT or FF at the edge of a continuation line is not LWS either.
    rejected(
        &options(b"Subject: first line\r\n second line\x0c\r\n"),
        "Subject",
        0x0c,
    );
}

#[test]
fn the_compact_form_is_named_by_its_full_name() {
    rejected(&options(b"s: a\0b\r\n"), "Subject", 0);
    rejected(&options(b"i2: a\0b\r\n"), "i2", 0);
}

#[test]
fn an_unescaped_control_inside_a_quoted_string_is_a_400() {
    let msg = String::from_utf8(options(b""))
        .unwrap()
        .replace("To: <sip:bob", "To: \"B\x00b\" <sip:bob");
    rejected(msg.as_bytes(), "To", 0);
}

#[test]
fn an_escaped_cr_or_lf_in_a_quoted_string_is_a_400() {
    // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): CR and LF cannot be escaped.
    let msg = String::from_utf8(options(b""))
        .unwrap()
        .replace("To: <sip:bob", "To: \"B\\\rb\" <sip:bob");
    rejected(msg.as_bytes(), "To", b'\r');
}

#[test]
fn an_escaped_control_in_a_quoted_string_is_valid() {
    // RFC 4475 §3.1.1.2 (intmeth): "BEL:\<07> NUL:\<00> DEL:\<7F>" in a display name is valid.
    let msg = String::from_utf8(options(b"")).unwrap().replace(
        "To: <sip:bob",
        "To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:bob",
    );
    let r = accepted(msg.as_bytes());
    assert!(header_value(&r, "To").unwrap().contains("NUL:\\\0"));
}

#[test]
fn a_backslash_escapes_nothing_in_a_subject() {
    // Subject is TEXT-UTF8-TRIM: no quoted strings, so `\<NUL>` is a bare NUL there.
    rejected(&options(b"Subject: \"a\\\0b\"\r\n"), "Subject", 0);
}

#[test]
fn htab_is_allowed_where_lws_is() {
    let r = accepted(&options(
        b"Subject\t:\tone\ttwo\r\nX-Tabbed:\tv\r\n \tfolded\r\n",
    ));
    assert_eq!(header_value(&r, "Subject").unwrap(), "one\ttwo");
    assert_eq!(header_value(&r, "X-Tabbed").unwrap(), "v folded");
}

#[test]
fn utf8_text_is_not_a_control() {
    // UTF8-NONASCII is allowed in TEXT-UTF8 and quoted strings, C1 code points included.
    let r = accepted(&options("Subject: Grüße \u{85} ☎\r\n".as_bytes()));
    assert_eq!(header_value(&r, "Subject").unwrap(), "Grüße \u{85} ☎");
}

#[test]
fn a_response_with_a_control_in_a_header_is_dropped() {
    let resp = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKhdr1\r\n\
To: <sip:bob@example.com>;tag=b\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
Call-ID: hdrtext-1@192.0.2.1\r\n\
CSeq: 1 OPTIONS\r\n\
Server: x\x00y\r\n\
Content-Length: 0\r\n\r\n";
    assert!(matches!(
        receive_datagram(resp),
        Inbound::Drop(ValidateError::Normalize(NormalizeError::ControlChar { .. }))
    ));
    let resp = String::from_utf8(resp.to_vec())
        .unwrap()
        .replace("x\0y", "x")
        .replace("200 OK", "200 O\x07K");
    assert!(matches!(
        receive_datagram(resp.as_bytes()),
        Inbound::Drop(ValidateError::Normalize(NormalizeError::ReasonControlChar(
            0x07
        )))
    ));
}
