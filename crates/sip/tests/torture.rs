//! Replays the RFC 4475 torture corpus in `tests/torture/` through the datagram receive path
//! and, for every message, through the stream framer in awkward chunk sizes.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::validate::ValidateError;
use homeline_sip::{Inbound, StreamFramer, StreamItem, receive_datagram};
use rsip::prelude::*;

mod common;
use common::load;

fn request(name: &str) -> rsip::Request {
    match receive_datagram(&load(name)) {
        Inbound::Request(r) => r,
        other => panic!("{name}: expected a request, got {other:?}"),
    }
}

fn rejected(name: &str, status: u16) -> (ValidateError, Option<String>) {
    match receive_datagram(&load(name)) {
        Inbound::Reject(r) => {
            assert_eq!(r.status, status, "{name}: {}", r.error);
            let resp = r.response.map(|b| String::from_utf8(b).unwrap());
            if let Some(resp) = &resp {
                let status_line = format!("SIP/2.0 {status} ");
                assert!(resp.starts_with(&status_line), "{name}: {resp}");
                assert!(
                    resp.contains(&r.error.to_string()),
                    "{name}: reason names the problem"
                );
            }
            (r.error, resp)
        }
        other => panic!("{name}: expected a {status} rejection, got {other:?}"),
    }
}

// ---- RFC 4475 §3.1.1: valid messages ----

#[test]
fn wsinv_short_tortuous_invite() {
    // §3.1.1.1: whitespace around colons, folding, compact forms, case-insensitive names.
    let r = request("wsinv");
    assert_eq!(r.method, rsip::Method::Invite);
    assert_eq!(
        r.call_id_header().unwrap().value(),
        "wsinv.ndaksdj@192.0.2.1"
    );
    let vias: Vec<_> = r
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::Via(_)))
        .collect();
    assert_eq!(vias.len(), 3, "one Via plus a compact v: with two values");
    assert_eq!(
        r.cseq_header().unwrap().value(),
        "0009\r\n  INVITE".replace("\r\n  ", " ")
    );
    assert_eq!(r.max_forwards_header().unwrap().value(), "0068");
    assert_eq!(r.body.len(), 150);
    assert!(r.headers.iter().any(
        |h| matches!(h, rsip::Header::Other(n, v) if n == "NewFangledHeader"
                && v == "newfangled value continued newfangled value")
    ));
}

#[test]
fn intmeth_unknown_method_gets_501() {
    // §3.1.1.2: the message is valid; a UA that does not know the method answers 501 (RFC 3261
    // §8.2.1) with an Allow header.
    let (error, resp) = rejected("intmeth", 501);
    assert!(matches!(error, ValidateError::UnknownMethod(_)));
    let resp = resp.expect("a 501 can be built");
    assert!(resp.contains("\r\nAllow: "));
    assert!(resp.contains("CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"));
}

#[test]
fn esc01_escapes_are_preserved() {
    // §3.1.1.3: %-escapes are kept verbatim; unescaping is for URI comparison, not parsing.
    let r = request("esc01");
    assert_eq!(
        r.uri.to_string(),
        "sip:sips%3Auser%40example.com@example.net"
    );
    assert!(r.contact_header().is_ok());
}

#[test]
fn escnull_escaped_nulls() {
    // §3.1.1.4: %00 in a URI is legal.
    let r = request("escnull");
    assert_eq!(r.method, rsip::Method::Register);
    let contacts = r
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::Contact(_)))
        .count();
    assert_eq!(contacts, 2);
}

#[test]
fn esc02_escaped_method_is_an_unknown_method() {
    // §3.1.1.5: "RE%47IST%45R" is a method token distinct from REGISTER; escapes are not
    // interpreted in methods or header names. A UA answers 501.
    let (error, _) = rejected("esc02", 501);
    assert_eq!(error, ValidateError::UnknownMethod("RE%47IST%45R".into()));
}

#[test]
fn lwsdisp_no_space_before_angle() {
    // §3.1.1.6
    let r = request("lwsdisp");
    assert_eq!(r.method, rsip::Method::Options);
}

#[test]
fn longreq_long_values() {
    // §3.1.1.7: long header values and 34 Vias written every which way.
    let r = request("longreq");
    let vias = r
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::Via(_)))
        .count();
    assert_eq!(vias, 34);
}

#[test]
fn dblreq_ignores_octets_after_content_length() {
    // §3.1.1.8: the trailing "INVITE" is noise past Content-Length: 0 in a datagram (§18.3).
    let r = request("dblreq");
    assert_eq!(r.method, rsip::Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn semiuri_semicolon_in_user_part() {
    // §3.1.1.9: the user part is "user;par=u%40example.net".
    let r = request("semiuri");
    assert_eq!(
        r.uri.to_string(),
        "sip:user;par=u%40example.net@example.com"
    );
}

#[test]
fn transports_unknown_transport_in_lower_via() {
    // §3.1.1.10
    let r = request("transports");
    let vias = r
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::Via(_)))
        .count();
    assert_eq!(vias, 5);
}

#[test]
fn mpart01_binary_body_survives() {
    // §3.1.1.11: a multipart body with binary octets; the body is bytes, never text.
    let raw = load("mpart01");
    let r = request("mpart01");
    let body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(r.body, raw[body_at..]);
    // Serialising must not mangle it either (rsip's Display would).
    let wire = homeline_sip::message::serialize(&rsip::SipMessage::Request(r));
    assert!(wire.ends_with(&raw[body_at..]));
}

#[test]
fn unreason_utf8_reason_phrase() {
    // §3.1.1.12
    match receive_datagram(&load("unreason")) {
        Inbound::Response(r) => assert_eq!(r.status_code.code(), 200),
        other => panic!("{other:?}"),
    }
}

#[test]
fn noreason_empty_reason_phrase() {
    // §3.1.1.13
    match receive_datagram(&load("noreason")) {
        Inbound::Response(r) => assert_eq!(r.status_code.code(), 100),
        other => panic!("{other:?}"),
    }
}

// ---- RFC 4475 §3.1.2: invalid messages ----

#[test]
fn badinv01_extraneous_separators_in_via() {
    // §3.1.2.1
    let (error, _) = rejected("badinv01", 400);
    assert!(matches!(error, ValidateError::Via(_)), "{error}");
}

#[test]
fn clerr_content_length_larger_than_message() {
    // §3.1.2.2
    let (error, resp) = rejected("clerr", 400);
    assert!(matches!(
        error,
        ValidateError::BodyTooShort { declared: 9999, .. }
    ));
    assert!(resp.is_some());
}

#[test]
fn scalar02_overlarge_scalars() {
    // §3.1.2.4: CSeq beyond 2^31 is caught first.
    let (error, _) = rejected("scalar02", 400);
    assert!(matches!(error, ValidateError::CSeq(_)), "{error}");
}

#[test]
fn ltgtruri_request_uri_in_angle_brackets() {
    // §3.1.2.7
    let (error, resp) = rejected("ltgtruri", 400);
    assert!(matches!(error, ValidateError::RequestUri(_)), "{error}");
    assert!(resp.is_some());
}

#[test]
fn lwsruri_whitespace_in_request_uri() {
    // §3.1.2.8: parsed as a request line with four parts; the 400 is still built from the
    // salvaged headers.
    let (_, resp) = rejected("lwsruri", 400);
    assert!(resp.unwrap().contains("Call-ID: lwsruri."));
}

#[test]
fn lwsstart_multiple_spaces_in_request_line() {
    // §3.1.2.9
    rejected("lwsstart", 400);
}

#[test]
fn trws_trailing_whitespace_after_version() {
    // §3.1.2.10
    rejected("trws", 400);
}

#[test]
fn badvers_unknown_protocol_version() {
    // §3.1.2.19: answered with 505.
    let (error, _) = rejected("badvers", 505);
    assert_eq!(error, ValidateError::Version("SIP/7.0".into()));
}

#[test]
fn mismatch01_cseq_method_differs() {
    // §3.1.2.20
    let (error, _) = rejected("mismatch01", 400);
    assert!(matches!(error, ValidateError::CSeqMethodMismatch { .. }));
}

#[test]
fn mismatch02_unknown_method_with_mismatch() {
    // §3.1.2.21: the mismatch (400) wins over the unknown method (501), as the RFC expects.
    let (error, _) = rejected("mismatch02", 400);
    assert!(matches!(error, ValidateError::CSeqMethodMismatch { .. }));
}

#[test]
fn bigcode_overlarge_status_code_is_dropped() {
    // §3.1.2.22: a response cannot be answered; it is dropped with a reason to log.
    match receive_datagram(&load("bigcode")) {
        Inbound::Drop(ValidateError::StatusCode(c)) => assert_eq!(c, "4294967301"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ncl_negative_content_length() {
    // §3.1.2.3
    let (error, _) = rejected("ncl", 400);
    assert!(matches!(error, ValidateError::ContentLength(_)));
}

#[test]
fn escruri_headers_in_request_uri() {
    // §3.1.2.11: URI headers are not allowed in a Request-URI (RFC 3261 §19.1.1).
    let (error, _) = rejected("escruri", 400);
    assert!(
        error.to_string().contains("headers are not allowed"),
        "{error}"
    );
}

#[test]
fn quotbal_unterminated_quoted_display_name() {
    // §3.1.2.12
    let (error, _) = rejected("quotbal", 400);
    assert_eq!(
        error,
        ValidateError::NameAddr {
            header: "To",
            detail: "unterminated quoted string"
        }
    );
}

#[test]
fn baddn_unquoted_display_name_with_comma() {
    // §3.1.2.18: "Bell, Alexander" must be quoted. (Our list splitting does not apply to
    // From/To, so the comma is seen as part of the display name.)
    let (error, _) = rejected("baddn", 400);
    assert!(
        matches!(error, ValidateError::NameAddr { header: "From", .. }),
        "{error}"
    );
}

#[test]
fn badaspec_spaces_inside_angle_brackets() {
    // §3.1.2.17
    let (error, _) = rejected("badaspec", 400);
    assert!(
        matches!(error, ValidateError::NameAddr { header: "To", .. }),
        "{error}"
    );
}

#[test]
fn regbadct_uri_with_headers_not_in_angle_brackets() {
    // §3.1.2.16: the '?' makes the unbracketed Contact ambiguous.
    let (error, _) = rejected("regbadct", 400);
    assert!(
        matches!(
            error,
            ValidateError::NameAddr {
                header: "Contact",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn baddate_is_accepted_and_date_ignored() {
    // §3.1.2.15: the Date has a non-GMT zone. RFC 4475 lets an element ignore such a Date;
    // we never interpret Date, so the request is accepted.
    request("baddate");
}

#[test]
fn scalarlg_overlarge_response_values_are_dropped() {
    // §3.1.2.5: a response with an overflowing CSeq cannot be matched; dropped, not answered.
    match receive_datagram(&load("scalarlg")) {
        Inbound::Drop(ValidateError::CSeq(_)) => {}
        other => panic!("{other:?}"),
    }
}

// ---- RFC 4475 §3.3: application-layer semantics ----

#[test]
fn insuf_missing_required_headers() {
    // §3.3.1: no To, From, Call-ID, Max-Forwards. No response can be built (nothing to copy
    // into To/From/Call-ID), so the request is dropped rather than answered.
    let (error, resp) = rejected("insuf", 400);
    assert!(matches!(error, ValidateError::MissingHeader(_)));
    assert!(resp.is_none());
}

#[test]
fn unkscm_unknown_request_uri_scheme() {
    // §3.3.2: 416 Unsupported URI Scheme.
    let (error, _) = rejected("unkscm", 416);
    assert!(matches!(error, ValidateError::UriScheme(_)));
}

#[test]
fn unksm2_unknown_schemes_in_headers_are_accepted() {
    // §3.3.4: well-formed; only a registrar must refuse non-SIP To/From in REGISTER. We are a
    // UA and never act as registrar, so the parser deliberately accepts it and leaves the
    // decision to the TU.
    request("unksm2");
}

#[test]
fn bext01_unknown_require_is_the_tus_decision() {
    // §3.3.5: well-formed. The answer is 420 with Unsupported, which depends on the UA's
    // supported extensions: `unsupported_requirements` computes it.
    let r = request("bext01");
    assert_eq!(
        homeline_sip::validate::unsupported_requirements(&r, &["100rel", "replaces"]),
        vec!["nothingSupportsThis", "nothingSupportsThisEither"]
    );
}

#[test]
fn multi01_multiple_values_in_single_value_headers() {
    // §3.3.9
    let (error, _) = rejected("multi01", 400);
    assert!(
        matches!(error, ValidateError::DuplicateHeader(_)),
        "{error}"
    );
}

#[test]
fn bcast_broadcast_in_lower_via_is_accepted() {
    // §3.3.11: well-formed; the danger is an element routing the response by its second Via.
    // A UA only looks at the top Via of a response (§18.1.2), so we accept it.
    assert!(matches!(
        receive_datagram(&load("bcast")),
        Inbound::Response(_)
    ));
}

#[test]
fn zeromf_max_forwards_zero_reaches_the_ua() {
    // §3.3.12: a UAS answers a request with Max-Forwards: 0 normally (only proxies say 483).
    request("zeromf");
}

// ---- Every corpus message through the stream framer ----

const ALL: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badinv01",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "unkscm",
    "unksm2",
    "bext01",
    "multi01",
    "bcast",
    "zeromf",
    "scalar02",
];

#[test]
fn stream_framing_matches_datagram_decisions() {
    // Concatenate the corpus (all of which carry a correct Content-Length) into one stream,
    // with keep-alives between, and feed it in odd chunk sizes: each message must come out
    // with the same decision as its datagram, in order, and nothing may desynchronise.
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for name in ALL {
        let bytes = load(name);
        expected.push(receive_datagram(&bytes));
        stream.extend_from_slice(&bytes);
        stream.extend_from_slice(b"\r\n\r\n");
    }
    for chunk in [1usize, 7, 64, 1500, stream.len()] {
        let mut framer = StreamFramer::new();
        let mut got = Vec::new();
        let mut pings = 0;
        for piece in stream.chunks(chunk) {
            framer.push(piece);
            while let Some(item) = framer.next_item() {
                match item {
                    StreamItem::Message(m) => got.push(m),
                    StreamItem::Ping => pings += 1,
                    // Fed one byte at a time, a ping reads as two pongs (see StreamFramer).
                    StreamItem::Pong => pings += 1,
                    StreamItem::Fatal(e) => panic!("chunk {chunk}: {e}"),
                }
            }
        }
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "chunk size {chunk}, message {}", ALL[i]);
        }
        assert_eq!(got.len(), expected.len(), "chunk size {chunk}");
        assert!(pings >= 1, "chunk size {chunk}");
        assert_eq!(framer.buffered(), 0);
    }
}
