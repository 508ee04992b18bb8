//! IPv6 references in SIP (RFC 3261 §25.1: `sip:alice@[2001:db8::1]:5060`) go through the
//! receive path and come out again with their brackets. Upstream rsip 0.4 split host and
//! port at the first colon; the workspace patches it (`vendor/rsip/HOMELINE.md`): when these
//! pass with upstream rsip, the patch can go.
#![allow(clippy::unwrap_used)]

use homeline_sip::{Inbound, receive_datagram};

const INVITE: &str = "INVITE sip:alice@[2001:db8::1]:5062;transport=udp SIP/2.0\r\n\
Via: SIP/2.0/UDP [2001:db8::2]:5070;branch=z9hG4bKv6;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Bob\" <sip:bob@[2001:db8::2]:5070>;tag=b1\r\n\
To: <sip:alice@[2001:db8::1]>\r\n\
Call-ID: v6-call\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:bob@[2001:db8::2]:5070>\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn an_invite_with_ipv6_addresses_is_read_and_written_back_with_brackets() {
    let Inbound::Request(r) = receive_datagram(INVITE.as_bytes()) else {
        panic!("an IPv6 INVITE must be accepted")
    };
    let req: rsip::Request = r;
    match &req.uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => assert_eq!(ip.to_string(), "2001:db8::1"),
        other => panic!("host parsed as {other:?}"),
    }
    assert_eq!(req.uri.host_with_port.port.map(|p| *p.value()), Some(5062));
    let out = req.to_string();
    assert!(
        out.to_ascii_lowercase()
            .starts_with("invite sip:alice@[2001:db8::1]:5062;transport=udp sip/2.0\r\n"),
        "{out}"
    );
    assert!(
        out.contains("Via: SIP/2.0/UDP [2001:db8::2]:5070;"),
        "{out}"
    );
}

#[test]
fn ipv6_uris_and_addresses() {
    for (text, host, port) in [
        ("sip:[::1]", "::1", None),
        ("sip:[::1]:5060", "::1", Some(5060)),
        ("sips:alice@[2001:db8::1]:5061", "2001:db8::1", Some(5061)),
        ("sip:alice@192.0.2.7:5060", "192.0.2.7", Some(5060)),
        ("sip:alice@example.com", "example.com", None),
    ] {
        let u = rsip::Uri::try_from(text).unwrap();
        assert_eq!(
            u.host_with_port.host.to_string().trim_matches(['[', ']']),
            host
        );
        assert_eq!(u.host_with_port.port.map(|p| *p.value()), port, "{text}");
        assert_eq!(u.to_string(), text);
    }
}
