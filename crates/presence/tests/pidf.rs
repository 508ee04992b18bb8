//! PIDF documents as real clients send them, and bad input: malformed documents and seeded
//! mutations of good ones give an error or a status, never a panic.
#![allow(clippy::unwrap_used)]

use homeline_presence::Status;
use homeline_presence::pidf::{MAX_SIZE, PidfError, parse};

/// baresip's `presence` module (open/closed, a note; its `pres:` entity).
const BARESIP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="sip:bob@homeline.test">
  <tuple id="8d2e6a">
    <status><basic>closed</basic></status>
  </tuple>
  <dm:person id="p4159"><rpid:activities/></dm:person>
</presence>"#;

/// MicroSIP-style: plain presence, the state only in the note.
const MICROSIP_ON_PHONE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence entity="sip:carol@example.com" xmlns="urn:ietf:params:xml:ns:pidf">
 <tuple id="pj1"><status><basic>open</basic></status><note>On the phone</note></tuple>
</presence>"#;

/// RFC 4480 §3 style with another prefix for PIDF and a meal activity.
const RPID_MEAL: &str = r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf"
  xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:d="urn:ietf:params:xml:ns:pidf:data-model"
  entity="pres:dave@example.com">
 <p:tuple id="a"><p:status><p:basic>open</p:basic></p:status></p:tuple>
 <d:person id="b"><r:activities><r:meal/></r:activities><d:note xml:lang="en">Lunch &amp; back at 2</d:note></d:person>
</p:presence>"#;

/// Linphone-like: an open tuple and a busy activity with a since attribute.
const LINPHONE_BUSY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:eve@example.com">
<tuple id="tid"><status><basic>open</basic></status><contact priority="0.8">sip:eve@10.0.0.3</contact><timestamp>2026-12-04T10:00:00Z</timestamp></tuple>
<dm:person id="pid"><rpid:activities><rpid:busy/></rpid:activities></dm:person>
</presence>"#;

#[test]
fn documents_from_real_clients() {
    let p = parse(BARESIP.as_bytes()).unwrap();
    assert_eq!((p.status, p.note), (Status::Offline, None));
    assert_eq!(p.entity, "sip:bob@homeline.test");
    let p = parse(MICROSIP_ON_PHONE.as_bytes()).unwrap();
    assert_eq!(p.status, Status::OnThePhone);
    let p = parse(RPID_MEAL.as_bytes()).unwrap();
    assert_eq!(p.status, Status::Away);
    assert_eq!(p.note.as_deref(), Some("Lunch & back at 2"));
    assert_eq!(
        parse(LINPHONE_BUSY.as_bytes()).unwrap().status,
        Status::Busy
    );
    let empty = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"/>"#;
    assert_eq!(parse(empty.as_bytes()).unwrap().status, Status::Unknown);
}

#[test]
fn bad_documents_get_a_clear_error() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "empty"),
        (
            b"<presence xmlns='urn:ietf:params:xml:ns:pidf'><tuple>".to_vec(),
            "unclosed",
        ),
        (
            b"<presence xmlns='urn:ietf:params:xml:ns:pidf'></tuple></presence>".to_vec(),
            "mismatch",
        ),
        (
            b"<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info'/>".to_vec(),
            "not pidf",
        ),
        (b"<presence entity='x'/>".to_vec(), "no namespace"),
        (b"\xff\xfe<presence/>".to_vec(), "not utf-8"),
        (
            b"<presence xmlns='urn:ietf:params:xml:ns:pidf'>&bogus;</presence>".to_vec(),
            "entity",
        ),
        (vec![b' '; MAX_SIZE + 1], "too large"),
        (
            format!(
                "<presence xmlns='urn:ietf:params:xml:ns:pidf'>{}{}</presence>",
                "<a>".repeat(100),
                "</a>".repeat(100)
            )
            .into_bytes(),
            "too deep",
        ),
    ];
    for (doc, what) in cases {
        let e = parse(&doc).expect_err(what);
        let text = e.to_string();
        assert!(
            !text.is_empty() && !text.contains("Error {"),
            "{what}: {text}"
        );
        if what == "too large" {
            assert_eq!(e, PidfError::TooLarge(MAX_SIZE + 1));
        }
        if what == "too deep" {
            assert_eq!(e, PidfError::TooDeep);
        }
    }
}

/// A small deterministic generator (xorshift) so the mutations are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn seeded_mutations_never_panic() {
    let seeds: [&[u8]; 4] = [
        BARESIP.as_bytes(),
        MICROSIP_ON_PHONE.as_bytes(),
        RPID_MEAL.as_bytes(),
        LINPHONE_BUSY.as_bytes(),
    ];
    let tokens: [&[u8]; 10] = [
        b"<",
        b">",
        b"/",
        b"&",
        b"&amp;",
        b"&#0;",
        b"&#x110000;",
        b"\"",
        b"<![CDATA[",
        b"\xc3",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let (mut ok, mut err) = (0, 0);
    for i in 0..20_000 {
        let mut doc = seeds[i % seeds.len()].to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(doc.len() + 1);
            match rng.below(4) {
                0 if at < doc.len() => {
                    doc.remove(at);
                }
                1 => {
                    let t = tokens[rng.below(tokens.len())];
                    doc.splice(at..at, t.iter().copied());
                }
                2 if at < doc.len() => doc[at] = rng.next() as u8,
                _ => {
                    let end = (at + rng.below(40)).min(doc.len());
                    doc.drain(at..end);
                }
            }
        }
        match parse(&doc) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    // Both outcomes occur: the mutations reach the parser's error paths and its good ones.
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}
