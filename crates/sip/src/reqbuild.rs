//! Small helpers shared by the out-of-dialog request users (PUBLISH, SUBSCRIBE): a Via
//! with a fresh branch, a request parsed from text through the real receive path (so what
//! we send is what we would accept), header lookup, and a digest retry (RFC 3261 §22.2).

use std::net::SocketAddr;

use crate::auth::{Challenge, Credentials, DigestSession, select_challenge};
use crate::rng::Rng;
use crate::transaction::{MAGIC_COOKIE, TransportKind};

/// Our Via address and transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Via {
    transport: TransportKind,
    local: SocketAddr,
}

impl Via {
    pub(crate) fn new(transport: TransportKind, local: SocketAddr) -> Self {
        Self { transport, local }
    }

    /// The Via value with a fresh branch.
    pub(crate) fn with_branch(self, rng: &mut Rng) -> String {
        let sent_by = match self.local {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        format!(
            "SIP/2.0/{} {sent_by};branch={MAGIC_COOKIE}{};rport",
            self.transport.via_token(),
            rng.token()
        )
    }
}

/// A request from its head (start line and headers, each ending CRLF, without
/// Content-Type/Length) and body.
pub(crate) fn build(
    mut head: String,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<rsip::Request, String> {
    if let Some(ct) = content_type.filter(|_| !body.is_empty()) {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    match crate::receive_datagram(&bytes) {
        crate::Inbound::Request(r) => Ok(r),
        crate::Inbound::Reject(r) => Err(r.error.to_string()),
        other => Err(format!("{other:?}")),
    }
}

/// The first value of header `name` (typed or not), compared case-insensitively.
pub(crate) fn header(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let s = h.to_string();
        let (n, v) = s.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// `request` again with a new Via, CSeq `seq` and credentials for `response`'s challenge.
pub(crate) fn with_credentials(
    request: &rsip::Request,
    response: &rsip::Response,
    creds: &Credentials,
    via: &str,
    seq: u32,
    cnonce: &str,
) -> Option<rsip::Request> {
    let challenges = Challenge::from_response(response);
    let challenge = select_challenge(&challenges)?.clone();
    let method = request.method.to_string();
    let auth = DigestSession::new(challenge).authorize(
        creds,
        &method,
        &request.uri.to_string(),
        cnonce,
        &request.body,
    );
    let mut headers: Vec<rsip::Header> = request
        .headers
        .iter()
        .filter(|h| {
            !matches!(
                h,
                rsip::Header::Authorization(_) | rsip::Header::ProxyAuthorization(_)
            )
        })
        .map(|h| {
            use rsip::prelude::UntypedHeader;
            match h {
                rsip::Header::Via(_) => rsip::headers::Via::new(via).into(),
                rsip::Header::CSeq(_) => rsip::headers::CSeq::new(format!("{seq} {method}")).into(),
                other => other.clone(),
            }
        })
        .collect();
    headers.push(auth.to_header());
    let mut r = request.clone();
    r.headers = headers.into();
    Some(r)
}
