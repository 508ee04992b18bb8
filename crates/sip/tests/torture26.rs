//! A 26-message torture set in the classes of RFC 4475 §3.1.1 (valid but odd: accepted) and
//! §3.1.2 (invalid: answered `400` with a reason that says what is wrong), with the strict
//! header-text rules of RFC 3261 §25.1 among them (`Subject: a<NUL>b` over OPTIONS). Every
//! message goes through the datagram path and, with a correct Content-Length, through the
//! stream framer in 1-, 7- and 64-byte pieces; none may panic and both paths must agree.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use homeline_sip::{Inbound, StreamFramer, StreamItem, receive_datagram};

const VIA: &str = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKt26";

/// A well-formed OPTIONS with `edit` applied to its text.
fn base() -> String {
    format!(
        "OPTIONS sip:bob@example.com SIP/2.0\r\n{VIA}\r\nMax-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\nFrom: \"Alice\" <sip:alice@example.com>;tag=t26\r\n\
Call-ID: t26@192.0.2.1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

fn with_header(line: &str) -> String {
    base().replace(
        "CSeq: 7 OPTIONS\r\n",
        &format!("CSeq: 7 OPTIONS\r\n{line}\r\n"),
    )
}

enum Expect {
    /// Valid but odd: delivered as a request.
    Accept,
    /// Invalid: a 400 whose reason phrase contains this text.
    Reject(&'static str),
}

struct Case {
    name: &'static str,
    /// RFC 4475 section (or RFC 3261 rule) the case stands for.
    class: &'static str,
    msg: Vec<u8>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let b = base();
    let c = |name, class, msg: String, expect| Case {
        name,
        class,
        msg: msg.into_bytes(),
        expect,
    };
    vec![
        // ---- valid but odd (RFC 4475 §3.1.1) ----
        c(
            "compact-forms-folding-whitespace",
            "4475 3.1.1.1 wsinv",
            b.replace(
                "To: <sip:bob@example.com>",
                "t :\r\n  <sip:bob@example.com>",
            )
            .replace("Call-ID: ", "i   :   ")
            .replace("Max-Forwards: 70", "Max-Forwards\t: 0070"),
            Accept,
        ),
        c(
            "case-insensitive-names",
            "3261 7.3.1",
            b.replace("Call-ID:", "cAlL-iD:").replace("Via:", "VIA:"),
            Accept,
        ),
        c(
            "htab-as-lws",
            "3261 25.1 LWS",
            with_header("Subject:\tone\ttwo"),
            Accept,
        ),
        c(
            "escaped-nul-in-display-name",
            "4475 3.1.1.2 intmeth",
            b.replace("\"Alice\"", "\"A\\\x00l\\\x07i\\\x7fce\""),
            Accept,
        ),
        c(
            "utf8-subject-and-display-name",
            "3261 25.1 UTF8-NONASCII",
            with_header("Subject: Grüße ☎").replace("\"Alice\"", "\"Алиса\""),
            Accept,
        ),
        c(
            "empty-subject",
            "3261 20.36 [TEXT-UTF8-TRIM]",
            with_header("Subject:"),
            Accept,
        ),
        c(
            "odd-extension-header-name",
            "4475 3.1.1.2 token chars",
            with_header("extensionHeader-!.%*+_`'~: value"),
            Accept,
        ),
        c(
            "leading-blank-lines",
            "3261 7.5",
            format!("\r\n\r\n{b}"),
            Accept,
        ),
        c(
            "bare-lf-line-ends",
            "3261 7.5 robustness",
            b.replace("\r\n", "\n"),
            Accept,
        ),
        c(
            "escaped-nul-in-request-uri",
            "4475 3.1.1.8 escnull",
            b.replace(
                "OPTIONS sip:bob@example.com",
                "OPTIONS sip:null-%00-null@example.com",
            ),
            Accept,
        ),
        c(
            "zero-max-forwards",
            "4475 3.1.1.10 zeromf",
            b.replace("Max-Forwards: 70", "Max-Forwards: 0"),
            Accept,
        ),
        c(
            "semicolon-in-user-part",
            "4475 3.1.1.9 semiuri",
            b.replace(
                "OPTIONS sip:bob@example.com",
                "OPTIONS sip:user;par=u%40example.net@example.com",
            ),
            Accept,
        ),
        c(
            "two-vias-in-one-line",
            "3261 7.3.1 lists",
            b.replace(VIA, &format!("{VIA},SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKx")),
            Accept,
        ),
        // ---- invalid (RFC 4475 §3.1.2 and RFC 3261 §25.1 text rules) ----
        c(
            "nul-in-subject",
            "3261 25.1 TEXT-UTF8",
            with_header("Subject: a\0b"),
            Reject("control character NUL (0x00) in the Subject header"),
        ),
        c(
            "bel-in-unquoted-display-name",
            "3261 25.1 token",
            b.replace("\"Alice\"", "Al\x07ice"),
            Reject("control character 0x07 in the From header"),
        ),
        c(
            "del-in-call-id",
            "3261 25.1 word",
            b.replace("Call-ID: t26", "Call-ID: t\x7f26"),
            Reject("control character DEL (0x7F) in the Call-ID header"),
        ),
        c(
            "nul-in-header-name",
            "3261 25.1 token",
            with_header("X-A\0B: v"),
            Reject("control character NUL (0x00) in the X-A?B header"),
        ),
        c(
            "bare-cr-in-value",
            "3261 25.1 TEXT-UTF8",
            with_header("Subject: one\rtwo"),
            Reject("control character CR (0x0D) in the Subject header"),
        ),
        c(
            "esc-in-folded-line",
            "3261 7.3.1 folding",
            with_header("X-Folded: one\r\n \x1btwo"),
            Reject("control character 0x1B in the X-Folded header"),
        ),
        c(
            "missing-call-id",
            "4475 3.1.2.15 insuf",
            b.replace("Call-ID: t26@192.0.2.1\r\n", ""),
            // Without a Call-ID no response can be built (§8.2.6.2): checked below.
            Reject("missing Call-ID"),
        ),
        c(
            "content-length-beyond-body",
            "4475 3.1.2.7 clerr",
            b.replace("Content-Length: 0", "Content-Length: 9999"),
            Reject("Content-Length 9999 exceeds"),
        ),
        c(
            "angle-brackets-in-request-uri",
            "4475 3.1.2.3 ltgtruri",
            b.replace(
                "OPTIONS sip:bob@example.com",
                "OPTIONS <sip:bob@example.com>",
            ),
            Reject("malformed Request-URI"),
        ),
        c(
            "spaces-in-request-uri",
            "4475 3.1.2.4 lwsruri",
            b.replace(
                "OPTIONS sip:bob@example.com",
                "OPTIONS sip:bob@example.com;lr ",
            ),
            Reject("malformed start line"),
        ),
        c(
            "unterminated-quoted-display-name",
            "4475 3.1.2.9 quotbal",
            b.replace("\"Alice\"", "\"Alice"),
            Reject("malformed From header: unterminated quoted string"),
        ),
        c(
            "cseq-method-mismatch",
            "4475 3.1.2.13 mismatch01",
            b.replace("CSeq: 7 OPTIONS", "CSeq: 7 INVITE"),
            Reject("CSeq method INVITE does not match request method OPTIONS"),
        ),
        c(
            "overlarge-max-forwards",
            "4475 3.1.2.12 scalar02",
            b.replace("Max-Forwards: 70", "Max-Forwards: 300"),
            Reject("malformed Max-Forwards '300'"),
        ),
    ]
}

/// The decision as comparable text (the two paths must agree).
fn summary(i: &Inbound) -> String {
    match i {
        Inbound::Request(r) => format!("request {}", r.method),
        Inbound::Reject(r) => format!("reject {} {}", r.status, r.error),
        other => format!("{other:?}"),
    }
}

/// The message with its Content-Length set right, for a stream.
fn for_stream(msg: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(msg);
    if text.contains("Content-Length: 9999") {
        return None; // on a stream that would wait for the body: its point is the datagram
    }
    Some(msg.to_vec())
}

#[test]
fn twenty_six_messages_each_handled_as_the_rfc_says() {
    let cases = cases();
    assert_eq!(cases.len(), 26);
    let valid = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Accept))
        .count();
    assert_eq!(valid, 13, "thirteen valid-but-odd, thirteen invalid");
    let mut failures = Vec::new();
    for case in &cases {
        let got = receive_datagram(&case.msg);
        let verdict = match (&case.expect, &got) {
            (Expect::Accept, Inbound::Request(r)) => (r.method == rsip::Method::Options)
                .then_some(())
                .ok_or("not an OPTIONS".into()),
            (Expect::Reject(reason), Inbound::Reject(r)) => {
                let text = r.error.to_string();
                if r.status != 400 {
                    Err(format!("status {}", r.status))
                } else if !text.contains(reason) {
                    Err(format!("reason '{text}' does not say '{reason}'"))
                } else {
                    match &r.response {
                        // Only a request without a Call-ID cannot be answered.
                        None if case.name == "missing-call-id" => Ok(()),
                        None => Err("no response built".into()),
                        Some(resp) => {
                            let resp = String::from_utf8_lossy(resp);
                            let line = resp.lines().next().unwrap_or_default();
                            if line.starts_with("SIP/2.0 400 Bad Request - ")
                                && line.contains(reason)
                            {
                                Ok(())
                            } else {
                                Err(format!("status line '{line}'"))
                            }
                        }
                    }
                }
            }
            (_, other) => Err(format!("got {}", summary(other))),
        };
        if let Err(why) = verdict {
            failures.push(format!("{} ({}): {why}", case.name, case.class));
        }
        if let Some(bytes) = for_stream(&case.msg) {
            for piece in [1, 7, 64] {
                let mut f = StreamFramer::new();
                for chunk in bytes.chunks(piece) {
                    f.push(chunk);
                }
                // Leading blank lines are a keep-alive ping on a stream (RFC 5626 §3.5.1).
                let items: Vec<_> = std::iter::from_fn(|| f.next_item())
                    .filter(|i| !matches!(i, StreamItem::Ping | StreamItem::Pong))
                    .collect();
                let stream = match items.as_slice() {
                    [StreamItem::Message(m)] => summary(m),
                    other => format!("{other:?}"),
                };
                if stream != summary(&got) {
                    failures.push(format!(
                        "{} over a stream in {piece}-byte pieces: {stream} vs datagram {}",
                        case.name,
                        summary(&got)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
