//! Responses a UAS core sends on its own (RFC 3261 §8.2, §11.2), built from the request.

use rsip::prelude::*;

use crate::message::header_param;
use crate::transaction::response_for;

/// Adds `;tag=` to the To header if it has none (§8.2.6.2: a UAS response that is not 100
/// carries a To tag).
pub fn with_to_tag(mut response: rsip::Response, tag: &str) -> rsip::Response {
    for h in response.headers.iter_mut() {
        if let rsip::Header::To(to) = h {
            if header_param(to.value(), "tag").is_none() {
                let v = format!("{};tag={tag}", to.value());
                to.replace(v);
            }
            break;
        }
    }
    response
}

/// `200 OK` to an out-of-dialog OPTIONS (§11.2) with Allow, Accept and Supported.
pub fn options_ok(
    request: &rsip::Request,
    to_tag: &str,
    allow: &[&str],
    accept: &[&str],
    supported: &[&str],
) -> rsip::Response {
    let mut r = with_to_tag(response_for(request, 200, "OK"), to_tag);
    r.headers
        .push(rsip::headers::Allow::new(allow.join(", ")).into());
    r.headers
        .push(rsip::headers::Accept::new(accept.join(", ")).into());
    if !supported.is_empty() {
        r.headers
            .push(rsip::headers::Supported::new(supported.join(", ")).into());
    }
    r
}

/// `420 Bad Extension` listing the option tags we do not support (§8.2.2.3); compute them
/// with [`crate::validate::unsupported_requirements`].
pub fn bad_extension(
    request: &rsip::Request,
    to_tag: &str,
    unsupported: &[String],
) -> rsip::Response {
    let mut r = with_to_tag(response_for(request, 420, "Bad Extension"), to_tag);
    r.headers
        .push(rsip::headers::Unsupported::new(unsupported.join(", ")).into());
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Inbound, receive_datagram};

    fn options() -> rsip::Request {
        let text = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
                    Max-Forwards: 70\r\nFrom: <sip:alice@a>;tag=x\r\nTo: <sip:bob@b>\r\n\
                    Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nRequire: foo, 100rel\r\nContent-Length: 0\r\n\r\n";
        match receive_datagram(text.as_bytes()) {
            Inbound::Request(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn wire(r: rsip::Response) -> String {
        String::from_utf8(crate::message::serialize(&r.into())).unwrap()
    }

    #[test]
    fn options_ok_has_allow_accept_and_a_to_tag() {
        let w = wire(options_ok(
            &options(),
            "t1",
            &["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"],
            &["application/sdp"],
            &["replaces"],
        ));
        assert!(w.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(w.contains("To: <sip:bob@b>;tag=t1\r\n"));
        assert!(w.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"));
        assert!(w.contains("Accept: application/sdp\r\n"));
        assert!(matches!(
            receive_datagram(w.as_bytes()),
            Inbound::Response(_)
        ));
    }

    #[test]
    fn bad_extension_lists_unsupported() {
        let req = options();
        let missing = crate::validate::unsupported_requirements(&req, &["100rel"]);
        let w = wire(bad_extension(&req, "t2", &missing));
        assert!(w.starts_with("SIP/2.0 420 Bad Extension\r\n"));
        assert!(w.contains("Unsupported: foo\r\n"));
    }
}
