//! Message summaries (RFC 3842) as voicemail systems send them, each grammar rule broken
//! once, and seeded mutations: a count or an error, never a panic.
#![allow(clippy::unwrap_used)]

use homeline_presence::mwi::{Counts, MAX_SIZE, MwiError, parse};

/// RFC 3842 §6's example.
const RFC: &str = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
                   Voice-Message: 2/8 (0/2)\r\n";

/// Asterisk's form: no account, a leading CRLF some versions send, LF endings mixed in.
const ASTERISK: &str = "\r\nMessages-Waiting: no\nVoice-Message: 0/3 (0/0)\r\n";

/// kamailio relaying a summary with several classes and message headers after the blank line.
const MANY: &str = "messages-waiting: YES\r\nmessage-account: sip:*97@pbx.example.net\r\n\
                    voice-message: 4/1\r\nFax-Message: 1/0 (1/0)\r\nX-Vendor: 7\r\n\r\n\
                    To: <sip:alice@example.net>\r\nFrom: <sip:bob@example.net>\r\n\
                    Subject: Voice-Message: 99/99\r\n";

#[test]
fn real_summaries_read_as_counts() {
    let s = parse(RFC.as_bytes()).unwrap();
    assert!(s.waiting);
    assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
    assert_eq!(
        s.voice,
        Some(Counts {
            new: 2,
            old: 8,
            urgent_new: 0,
            urgent_old: 2
        })
    );

    let s = parse(ASTERISK.as_bytes()).unwrap();
    assert!(!s.waiting);
    assert_eq!(s.account, None);
    assert_eq!(s.voice.map(|c| (c.new, c.old)), Some((0, 3)));

    let s = parse(MANY.as_bytes()).unwrap();
    assert!(s.waiting);
    assert_eq!(s.account.as_deref(), Some("sip:*97@pbx.example.net"));
    // The message headers after the blank line are not summary lines.
    assert_eq!(s.voice.map(|c| (c.new, c.old)), Some((4, 1)));
    let names: Vec<&str> = s.classes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["voice-message", "fax-message"]);
    assert_eq!(s.classes[1].1.urgent_new, 1);
}

#[test]
fn a_summary_without_voice_counts_says_only_whether_messages_wait() {
    let s = parse(b"Messages-Waiting: yes\r\n").unwrap();
    assert!(s.waiting);
    assert_eq!(s.voice, None);
}

#[test]
fn each_broken_rule_is_an_error_naming_the_line() {
    let cases: &[(&str, &[u8])] = &[
        ("empty", b""),
        (
            "status not first",
            b"Voice-Message: 1/0\r\nMessages-Waiting: yes\r\n",
        ),
        ("status word", b"Messages-Waiting: maybe\r\n"),
        (
            "no colon",
            b"Messages-Waiting: yes\r\nVoice-Message 1/0\r\n",
        ),
        (
            "negative",
            b"Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n",
        ),
        (
            "overflow",
            b"Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n",
        ),
        (
            "one number",
            b"Messages-Waiting: yes\r\nVoice-Message: 3\r\n",
        ),
        (
            "open paren",
            b"Messages-Waiting: yes\r\nVoice-Message: 3/1 (1/0\r\n",
        ),
        (
            "account with space",
            b"Messages-Waiting: yes\r\nMessage-Account: sip:a b\r\n",
        ),
        (
            "not utf-8",
            b"Messages-Waiting: yes\r\nVoice-Message: \xff/0\r\n",
        ),
    ];
    for (what, body) in cases {
        let e = parse(body).expect_err(what);
        match *what {
            "empty" | "status not first" => assert_eq!(e, MwiError::NoStatus, "{what}"),
            "not utf-8" => assert_eq!(e, MwiError::NotUtf8),
            _ => assert!(matches!(e, MwiError::BadLine(_)), "{what}: {e:?}"),
        }
        // The message reads as a sentence, not debug text.
        assert!(e.to_string().starts_with("the message summary"), "{e}");
    }
    let big = vec![b'a'; MAX_SIZE + 1];
    assert_eq!(parse(&big), Err(MwiError::TooLarge(MAX_SIZE + 1)));
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
    let seeds = [RFC.as_bytes(), ASTERISK.as_bytes(), MANY.as_bytes()];
    let tokens: [&[u8]; 8] = [
        b":",
        b"/",
        b"(",
        b")",
        b"\r\n",
        b"\n\n",
        b"4294967296",
        b"\xc3",
    ];
    let mut rng = Rng(0x6d77_6900_1234_5678);
    let (mut ok, mut err) = (0, 0);
    for i in 0..20_000 {
        let mut doc = seeds[i % seeds.len()].to_vec();
        for _ in 0..=rng.below(3) {
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
                    let end = (at + rng.below(12)).min(doc.len());
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
