//! Message construction and header access shared by the call modules.

use rsip::prelude::*;

use super::CallError;
use crate::message::header_param;

/// `application/sdp`: the offer/answer bodies (RFC 3264) are opaque bytes here.
pub const SDP: &str = "application/sdp";
/// DTMF in INFO (the de-facto `application/dtmf-relay` format: `Signal=`, `Duration=`).
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// RFC 3420 sipfrag, the body of a REFER's NOTIFY (RFC 3515 §2.4.5).
pub const SIPFRAG: &str = "message/sipfrag;version=2.0";

/// Methods we accept, for Allow (§20.5).
pub const ALLOW: &[&str] = &[
    "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "NOTIFY", "INFO", "PRACK",
];
/// Bodies we accept, for Accept (§20.1).
pub const ACCEPT: &[&str] = &[
    "application/sdp",
    "application/dtmf-relay",
    "message/sipfrag",
];

/// Parses a request written as text (head without Content-Length) plus a body.
pub(crate) fn request_from_text(
    mut head: String,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<rsip::Request, CallError> {
    if let Some(ct) = content_type.filter(|_| !body.is_empty()) {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    match crate::receive_datagram(&bytes) {
        crate::Inbound::Request(r) => Ok(r),
        crate::Inbound::Reject(r) => Err(CallError::Build(r.error.to_string())),
        other => Err(CallError::Build(format!("{other:?}"))),
    }
}

/// Replaces body, Content-Type and Content-Length of a message's parts.
pub(crate) fn set_body(
    headers: &mut rsip::Headers,
    body_slot: &mut Vec<u8>,
    content_type: &str,
    body: &[u8],
) {
    headers.retain(|h| {
        !matches!(
            h,
            rsip::Header::ContentLength(_) | rsip::Header::ContentType(_)
        )
    });
    if !body.is_empty() {
        headers.push(rsip::headers::ContentType::new(content_type).into());
    }
    headers.push(rsip::headers::ContentLength::new(body.len().to_string()).into());
    *body_slot = body.to_vec();
}

/// Adds a header before Content-Length (purely cosmetic: order of different names is free).
pub(crate) fn push_header(headers: &mut rsip::Headers, header: rsip::Header) {
    let at = headers
        .iter()
        .position(|h| matches!(h, rsip::Header::ContentLength(_)));
    match at {
        Some(i) => {
            let mut all: Vec<rsip::Header> = headers.iter().cloned().collect();
            all.insert(i, header);
            *headers = rsip::Headers::from(all);
        }
        None => headers.push(header),
    }
}

/// The value of the first header called `name`, typed or not (compared case-insensitively).
pub(crate) fn header(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let s = h.to_string();
        let (n, v) = s.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// All values of headers called `name`, comma lists split (§7.3.1).
pub(crate) fn header_list(headers: &rsip::Headers, name: &str) -> Vec<String> {
    headers
        .iter()
        .filter_map(|h| {
            let s = h.to_string();
            let (n, v) = s.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .flat_map(|v| {
            crate::message::split_list(&v)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The tag of a From/To value.
pub(crate) fn tag_of(value: &str) -> Option<String> {
    header_param(value, "tag")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The To tag of a message's headers.
pub(crate) fn to_tag(headers: &rsip::Headers) -> Option<String> {
    header(headers, "To").and_then(|v| tag_of(&v))
}

/// The Call-ID.
pub(crate) fn call_id(headers: &rsip::Headers) -> Option<String> {
    headers.iter().find_map(|h| match h {
        rsip::Header::CallId(c) => Some(c.value().trim().to_owned()),
        _ => None,
    })
}

/// (number, method) of the CSeq.
pub(crate) fn cseq(headers: &rsip::Headers) -> Option<(u32, String)> {
    headers.iter().find_map(|h| match h {
        rsip::Header::CSeq(c) => crate::validate::parse_cseq(c.value())
            .ok()
            .map(|(n, m)| (n, m.to_owned())),
        _ => None,
    })
}

/// The media type of the body, lowercased, without parameters.
pub(crate) fn content_type(headers: &rsip::Headers) -> Option<String> {
    header(headers, "Content-Type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// The body when it is SDP (§13.2.1: the offer or answer travels as application/sdp).
pub(crate) fn sdp_body(headers: &rsip::Headers, body: &[u8]) -> Option<Vec<u8>> {
    (!body.is_empty() && content_type(headers).is_some_and(|c| c == SDP)).then(|| body.to_vec())
}

pub(crate) use crate::dialog::uri_of;

/// A response to `request` with our To tag (not on 100, §8.2.6.2) and, for dialog-forming
/// responses, our Contact (§12.1.1). A 101–299 response to an INVITE also carries the
/// request's Record-Route values, see [`copy_record_route`].
pub(crate) fn response(
    request: &rsip::Request,
    code: u16,
    reason: &str,
    to_tag: &str,
    contact: Option<&str>,
) -> rsip::Response {
    let r = crate::transaction::response_for(request, code, reason);
    let mut r = if code > 100 {
        crate::responses::with_to_tag(r, to_tag)
    } else {
        r
    };
    if (101..300).contains(&code) && request.method == rsip::Method::Invite {
        copy_record_route(request, &mut r);
    }
    if let Some(c) = contact {
        push_header(&mut r.headers, rsip::headers::Contact::new(c).into());
    }
    r
}

/// Copies every Record-Route header of `request` into `response`, values and parameters
/// untouched and in the same order (RFC 3261 §12.1.1: a UAS MUST do so in a response that
/// establishes a dialog — a 1xx with a To tag or a 2xx to INVITE — so that the UAC's route
/// set, the reversed list, §12.1.2, names the same proxies as ours).
///
/// For a re-INVITE (§12.2) the route set is fixed and neither side changes it, whatever
/// Record-Route the request or its response carries (§12.2.1.2 updates only the remote
/// target). RFC 3261 neither requires nor forbids echoing Record-Route there; we echo it as
/// for the initial INVITE, so that a peer which wrongly rebuilds its route set from a 2xx
/// still ends up with the same one.
pub(crate) fn copy_record_route(request: &rsip::Request, response: &mut rsip::Response) {
    let routes: Vec<rsip::Header> = request
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::RecordRoute(_)))
        .cloned()
        .collect();
    for h in routes {
        push_header(&mut response.headers, h);
    }
}

/// Contact values of a 3xx ordered by `q` (highest first, §8.1.3.4; ties keep their order).
pub(crate) fn redirect_targets(response: &rsip::Response) -> Vec<String> {
    let mut contacts: Vec<(u32, usize, String)> = header_list(&response.headers, "Contact")
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let q = header_param(&v, "q")
                .and_then(|q| q.parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u32);
            (q, i, uri_of(&v))
        })
        .filter(|(_, _, uri)| !uri.is_empty())
        .collect();
    contacts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    contacts.into_iter().map(|(_, _, u)| u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_contacts_in_q_order() {
        let text = "SIP/2.0 302 Moved\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
            Contact: <sip:low@h>;q=0.1, <sip:high@h>;q=0.9\r\nContact: <sip:none@h>\r\n\
            Content-Length: 0\r\n\r\n";
        let crate::Inbound::Response(r) = crate::receive_datagram(text.as_bytes()) else {
            panic!()
        };
        assert_eq!(
            redirect_targets(&r),
            vec!["sip:none@h", "sip:high@h", "sip:low@h"]
        );
    }
}
