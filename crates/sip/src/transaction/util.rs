//! Helpers shared by the state machines: header access and message construction.

use crate::message::header_param;
use crate::validate::parse_cseq;
use rsip::prelude::*;
use std::collections::VecDeque;

use super::{Peer, TransactionEvent, TransactionId, Transmit};

/// Where a state machine puts what it wants sent and told.
#[derive(Debug)]
pub(crate) struct Outbox<'a> {
    pub id: TransactionId,
    pub peer: Peer,
    pub transmits: &'a mut VecDeque<Transmit>,
    pub events: &'a mut VecDeque<TransactionEvent>,
}

impl Outbox<'_> {
    pub fn send(&mut self, message: impl Into<rsip::SipMessage>) {
        self.transmits.push_back(Transmit {
            peer: self.peer,
            message: message.into(),
            transaction: Some(self.id),
        });
    }

    pub fn event(&mut self, event: TransactionEvent) {
        self.events.push_back(event);
    }

    pub fn response(&mut self, response: rsip::Response) {
        let id = self.id;
        self.event(TransactionEvent::Response { id, response });
    }
}

/// The top Via's value.
pub(crate) fn top_via(headers: &rsip::Headers) -> Option<&str> {
    headers.iter().find_map(|h| match h {
        rsip::Header::Via(v) => Some(v.value()),
        _ => None,
    })
}

/// The branch of the top Via.
pub(crate) fn branch(headers: &rsip::Headers) -> Option<String> {
    top_via(headers)
        .and_then(|v| header_param(v, "branch"))
        .map(str::to_owned)
}

/// `sent-by` of the top Via, lowercased (host names compare case-insensitively).
pub(crate) fn sent_by(headers: &rsip::Headers) -> Option<String> {
    let via = top_via(headers)?;
    let rest = via.split_once(' ')?.1;
    Some(
        rest.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// (number, method) of the CSeq.
pub(crate) fn cseq(headers: &rsip::Headers) -> Option<(u32, String)> {
    headers.iter().find_map(|h| match h {
        rsip::Header::CSeq(c) => parse_cseq(c.value()).ok().map(|(n, m)| (n, m.to_owned())),
        _ => None,
    })
}

/// Headers holding only the INVITE's top Via (the one with its branch).
fn with_top_via(invite: &rsip::Request) -> rsip::Headers {
    let mut headers = rsip::Headers::default();
    if let Some(via) = invite
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::Via(_)))
    {
        headers.push(via.clone());
    }
    headers
}

/// Completes an ACK or CANCEL of `invite`: the INVITE's CSeq number with `method`,
/// Max-Forwards, an empty body and the INVITE's Request-URI.
fn finish_for_invite(
    invite: &rsip::Request,
    method: rsip::Method,
    mut headers: rsip::Headers,
) -> rsip::Request {
    let num = cseq(&invite.headers).map_or(1, |(n, _)| n);
    headers.push(rsip::headers::CSeq::new(format!("{num} {method}")).into());
    headers.push(rsip::headers::MaxForwards::new("70").into());
    headers.push(rsip::headers::ContentLength::new("0").into());
    rsip::Request {
        method,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): Request-URI, top Via, From, Call-ID,
/// Route and CSeq number of the INVITE; To of the response; method ACK.
pub(crate) fn ack_for(invite: &rsip::Request, response: &rsip::Response) -> rsip::Request {
    let mut headers = with_top_via(invite);
    for h in invite.headers.iter() {
        if matches!(h, rsip::Header::Route(_)) {
            headers.push(h.clone());
        }
    }
    for h in invite.headers.iter() {
        if matches!(h, rsip::Header::From(_) | rsip::Header::CallId(_)) {
            headers.push(h.clone());
        }
    }
    if let Some(to) = response
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::To(_)))
    {
        headers.push(to.clone());
    }
    finish_for_invite(invite, rsip::Method::Ack, headers)
}

/// The CANCEL for a pending INVITE (§9.1): same Request-URI, Call-ID, From, To, Route and
/// CSeq number, and only the INVITE's top Via (so it has the INVITE's branch: the server
/// matches it to the INVITE transaction, §9.2). Send it with
/// [`super::TransactionLayer::send_request`] once a provisional response has arrived.
pub fn cancel_for(invite: &rsip::Request) -> rsip::Request {
    let mut headers = with_top_via(invite);
    for h in invite.headers.iter() {
        if matches!(
            h,
            rsip::Header::Route(_)
                | rsip::Header::From(_)
                | rsip::Header::To(_)
                | rsip::Header::CallId(_)
        ) {
            headers.push(h.clone());
        }
    }
    finish_for_invite(invite, rsip::Method::Cancel, headers)
}

/// A response built from a request (§8.2.6.2): Via, From, To, Call-ID and CSeq copied.
pub fn response_for(request: &rsip::Request, code: u16, reason: &str) -> rsip::Response {
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        if matches!(
            h,
            rsip::Header::Via(_)
                | rsip::Header::From(_)
                | rsip::Header::To(_)
                | rsip::Header::CallId(_)
                | rsip::Header::CSeq(_)
        ) {
            headers.push(h.clone());
        }
    }
    headers.push(rsip::headers::ContentLength::new("0").into());
    rsip::Response {
        // `Other` keeps our reason phrase (rsip prints known codes with their enum name).
        status_code: rsip::StatusCode::Other(code, reason.to_owned()),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The reason phrase of the `503` a client transaction synthesises on a transport error.
pub const TRANSPORT_ERROR_REASON: &str = "Service Unavailable (transport error)";

/// The `503` a client transaction hands its TU when the request could not be sent (§17.1.4).
pub(crate) fn transport_error_response(request: &rsip::Request) -> rsip::Response {
    response_for(request, 503, TRANSPORT_ERROR_REASON)
}

/// True for the `503` the transaction layer synthesised after a transport error (§8.1.3.1,
/// §17.1.4), false for any 503 a server sent. Received responses cannot be mistaken for it:
/// parsing turns a known code into its named variant and drops the reason phrase, while the
/// synthesised one keeps [`TRANSPORT_ERROR_REASON`] in `StatusCode::Other`.
pub fn is_transport_error(response: &rsip::Response) -> bool {
    matches!(&response.status_code, rsip::StatusCode::Other(503, r) if r == TRANSPORT_ERROR_REASON)
}

/// Status class helpers.
pub(crate) fn code(response: &rsip::Response) -> u16 {
    response.status_code.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_synthesised_503_is_a_transport_error() {
        let register = "REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            Max-Forwards: 70\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\n\
            CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
        let crate::Inbound::Request(request) = crate::receive_datagram(register.as_bytes()) else {
            panic!("not a request")
        };
        assert!(is_transport_error(&transport_error_response(&request)));
        // A server's 503 with the very same words is still the server's.
        let text = String::from_utf8(crate::message::serialize(
            &transport_error_response(&request).into(),
        ))
        .unwrap_or_default();
        assert!(text.starts_with("SIP/2.0 503 Service Unavailable (transport error)\r\n"));
        let crate::Inbound::Response(received) = crate::receive_datagram(text.as_bytes()) else {
            panic!("not a response")
        };
        assert!(!is_transport_error(&received));
        assert!(!is_transport_error(&response_for(
            &request,
            503,
            "Service Unavailable"
        )));
    }
}
