//! Instant messages in page mode (MESSAGE, RFC 3428), sans-IO.
//!
//! A [`Pager`] is the MESSAGE transaction user of one account, beside the
//! [`crate::call::CallLayer`] on the same [`TransactionLayer`]. Each message is its own
//! non-INVITE transaction outside any dialog (RFC 3428 §4): the final response says whether
//! the next hop took it (`200`, or `202 Accepted` when a server stores it for an offline
//! user), and a 401/407 is answered once with credentials (RFC 3261 §22.2).
//!
//! ## Driving it
//! ```text
//! let id = pager.send(now, &mut layer, "sip:bob@example.com", "text/plain;charset=UTF-8", body, proxy)?;
//! loop {
//!     for ev in layer events { if let Some(ev) = pager.handle_transaction_event(now, &mut layer, ev)
//!                              { /* not a message's */ } }
//!     while let Some(t) = layer.poll_transmit() { socket.send(t) }
//!     while let Some(e) = pager.poll_event()    { ui.show(e) }   // Received / Delivered / Failed
//! }
//! ```
//! The pager keeps no timers of its own: the transaction layer's Timer F ends a message that
//! gets no answer, which arrives here as [`PagerEvent::Failed`] with code 408.
//!
//! ## What arrives
//! An incoming MESSAGE outside a dialog is answered at once (RFC 3428 §7): `200 OK` and a
//! [`PagerEvent::Received`] for UTF-8 `text/plain` (the only type shown to people today);
//! `415 Unsupported Media Type` with `Accept` for other types (§7: "the UAS MAY reject it
//! with 415"), `413 Request Entity Too Large` for a body beyond [`PagerConfig::max_body`],
//! `400` for text that is not UTF-8. Nothing a peer sends can make it panic or stall.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use rsip::prelude::*;

use crate::auth::{Challenge, Credentials, DigestSession, select_challenge};
use crate::message::header_param;
use crate::rng::Rng;
use crate::transaction::{
    MAGIC_COOKIE, Peer, TransactionError, TransactionEvent, TransactionId, TransactionLayer,
    TransportKind, is_transport_error, response_for,
};

/// The media type of plain text messages, with the charset we always send.
pub const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";

/// The media types an incoming MESSAGE may carry (for `Accept` in a 415).
pub const ACCEPT: &[&str] = &["text/plain"];

/// RFC 3428 §8: a MESSAGE over UDP should stay under 1300 bytes of body unless the path is
/// known to carry more; over a congestion-controlled transport this is the limit we allow.
pub const MAX_UDP_BODY: usize = 1300;

/// The largest body we accept or send at all (RFC 3428 §8 lets a UAS refuse large ones).
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// One account's messaging settings.
#[derive(Debug, Clone)]
pub struct PagerConfig {
    /// Our address of record, for From.
    pub aor: String,
    /// Display name for From, if any.
    pub display_name: Option<String>,
    /// Our local address, for Via.
    pub local: SocketAddr,
    /// Transport of our Via.
    pub transport: TransportKind,
    /// Digest credentials for 401/407.
    pub credentials: Option<Credentials>,
    /// Where every MESSAGE goes when set (the registrar's flow).
    pub outbound_proxy: Option<Peer>,
    /// `User-Agent` value.
    pub user_agent: String,
    /// The largest body accepted or sent.
    pub max_body: usize,
}

impl PagerConfig {
    /// Settings with the defaults (no credentials, no proxy, 64 KiB bodies).
    pub fn new(aor: &str, local: SocketAddr, transport: TransportKind) -> Self {
        Self {
            aor: aor.to_owned(),
            display_name: None,
            local,
            transport,
            credentials: None,
            outbound_proxy: None,
            user_agent: "Homeline".into(),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Which message of ours an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// What the pager tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagerEvent {
    /// A text message arrived (and was answered 200).
    Received {
        /// The sender's URI (From).
        from: String,
        /// The sender's display name, if given.
        display_name: Option<String>,
        /// The text, exactly as sent.
        text: String,
        /// The Call-ID (several MESSAGEs with the same Call-ID are retransmissions of
        /// nothing: the transaction layer absorbs those; this only helps logs).
        call_id: String,
        /// The `Date` header, when the sender (or a store-and-forward server) gave one.
        date: Option<String>,
    },
    /// Our message was accepted by the peer or a server on its way (`2xx`; `202` means
    /// stored for later delivery, RFC 3428 §7).
    Delivered {
        /// Which message.
        id: MessageId,
        /// The status code.
        code: u16,
    },
    /// Our message was refused or got no answer.
    Failed {
        /// Which message.
        id: MessageId,
        /// The status code (408 for no answer, 503 when the network failed).
        code: u16,
        /// Why, in plain words.
        reason: String,
    },
}

/// The application's mistakes when sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagerError {
    /// The destination is not a SIP URI.
    #[error("{0:?} is not a SIP address")]
    BadUri(String),
    /// The body is larger than the configured limit.
    #[error("the message is {size} bytes long; at most {max} can be sent")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The request could not be built.
    #[error("cannot build the request: {0}")]
    Build(String),
    /// The transaction layer refused the request.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
}

#[derive(Debug)]
struct Outgoing {
    id: MessageId,
    request: rsip::Request,
    peer: Peer,
    authed: bool,
}

/// The MESSAGE transaction user of one account.
#[derive(Debug)]
pub struct Pager {
    config: PagerConfig,
    rng: Rng,
    next_id: u64,
    cseq: u32,
    txs: HashMap<TransactionId, Outgoing>,
    events: VecDeque<PagerEvent>,
}

impl Pager {
    /// A pager with `config`; `seed` varies tags and Call-IDs between runs.
    pub fn new(config: PagerConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            next_id: 1,
            cseq: 0,
            txs: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &PagerConfig {
        &self.config
    }

    /// Messages still waiting for their final response.
    pub fn pending(&self) -> usize {
        self.txs.len()
    }

    /// The next event, if any. Call after every input until it returns `None`.
    pub fn poll_event(&mut self) -> Option<PagerEvent> {
        self.events.pop_front()
    }

    /// Sends `body` of type `content_type` to `uri` as a MESSAGE (RFC 3428 §4), through the
    /// outbound proxy when set, else to `peer`. The outcome arrives as
    /// [`PagerEvent::Delivered`] or [`PagerEvent::Failed`] with the returned id.
    pub fn send(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        uri: &str,
        content_type: &str,
        body: &[u8],
        peer: Peer,
    ) -> Result<MessageId, PagerError> {
        let uri = uri.trim();
        let max = if self.config.transport.is_reliable() {
            self.config.max_body
        } else {
            self.config.max_body.min(MAX_UDP_BODY)
        };
        if body.len() > max {
            return Err(PagerError::TooLarge {
                size: body.len(),
                max,
            });
        }
        match rsip::Uri::try_from(uri) {
            Ok(u) if matches!(u.scheme, Some(rsip::Scheme::Sip | rsip::Scheme::Sips)) => {}
            _ => return Err(PagerError::BadUri(uri.to_owned())),
        }
        let peer = self.config.outbound_proxy.unwrap_or(peer);
        let request = self.build(uri, content_type, body)?;
        let tx = layer.send_request(now, request.clone(), peer)?;
        let id = MessageId(self.next_id);
        self.next_id += 1;
        self.txs.insert(
            tx,
            Outgoing {
                id,
                request,
                peer,
                authed: false,
            },
        );
        Ok(id)
    }

    fn branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.rng.token())
    }

    fn via(&mut self) -> String {
        let branch = self.branch();
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.config.transport.via_token(),
            host_port(self.config.local)
        )
    }

    fn build(
        &mut self,
        uri: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<rsip::Request, PagerError> {
        self.cseq += 1;
        let via = self.via();
        let tag = self.rng.token();
        let call_id = format!("{}@{}", self.rng.token(), self.config.local.ip());
        let from = match &self.config.display_name {
            Some(n) if !n.is_empty() => format!("\"{}\" <{}>", quote(n), self.config.aor),
            _ => format!("<{}>", self.config.aor),
        };
        let mut head = format!(
            "MESSAGE {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from};tag={tag}\r\n\
             To: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: {} MESSAGE\r\nUser-Agent: {}\r\n",
            self.cseq, self.config.user_agent
        );
        if !body.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        match crate::receive_datagram(&bytes) {
            crate::Inbound::Request(r) => Ok(r),
            crate::Inbound::Reject(r) => Err(PagerError::Build(r.error.to_string())),
            other => Err(PagerError::Build(format!("{other:?}"))),
        }
    }

    /// Takes the transaction layer's events that concern messages; hands back the others
    /// (feed it what the call layer handed back).
    pub fn handle_transaction_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        event: TransactionEvent,
    ) -> Option<TransactionEvent> {
        match event {
            TransactionEvent::Request { id, request, peer }
                if request.method == rsip::Method::Message =>
            {
                self.on_message(now, layer, id, &request);
                let _ = peer;
                None
            }
            TransactionEvent::Response { id, response } => match self.txs.remove(&id) {
                Some(out) => {
                    self.on_response(now, layer, out, &response);
                    None
                }
                None => Some(TransactionEvent::Response { id, response }),
            },
            TransactionEvent::Timeout { id } => match self.txs.remove(&id) {
                Some(out) => {
                    self.events.push_back(PagerEvent::Failed {
                        id: out.id,
                        code: 408,
                        reason: "nobody answered the message in time".into(),
                    });
                    None
                }
                None => Some(TransactionEvent::Timeout { id }),
            },
            // The layer then answers the transaction itself with a 503 (§8.1.3.1), which
            // ends the message above; nothing to do yet.
            other => Some(other),
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        out: Outgoing,
        response: &rsip::Response,
    ) {
        let code = response.status_code.code();
        if (200..300).contains(&code) {
            self.events
                .push_back(PagerEvent::Delivered { id: out.id, code });
            return;
        }
        if (code == 401 || code == 407) && !out.authed {
            match self.with_credentials(&out.request, response) {
                Some(request) => match layer.send_request(now, request.clone(), out.peer) {
                    Ok(tx) => {
                        self.txs.insert(
                            tx,
                            Outgoing {
                                id: out.id,
                                request,
                                peer: out.peer,
                                authed: true,
                            },
                        );
                        return;
                    }
                    Err(e) => tracing::debug!(error = %e, "cannot resend the MESSAGE"),
                },
                None => tracing::debug!(code, "challenge we cannot answer"),
            }
        }
        let reason = if is_transport_error(response) {
            "the network failed to carry the message".to_owned()
        } else {
            failure_words(code, &response.status_code.to_string())
        };
        self.events.push_back(PagerEvent::Failed {
            id: out.id,
            code,
            reason,
        });
    }

    /// §22.2: the same request with the next CSeq, a new branch and credentials.
    fn with_credentials(
        &mut self,
        request: &rsip::Request,
        response: &rsip::Response,
    ) -> Option<rsip::Request> {
        let creds = self.config.credentials.clone()?;
        let challenges = Challenge::from_response(response);
        let challenge = select_challenge(&challenges)?.clone();
        let cnonce = self.rng.token();
        let auth = DigestSession::new(challenge).authorize(
            &creds,
            "MESSAGE",
            &request.uri.to_string(),
            &cnonce,
            &request.body,
        );
        self.cseq += 1;
        let via = self.via();
        let seq = self.cseq;
        let mut headers: Vec<rsip::Header> = request
            .headers
            .iter()
            .filter(|h| {
                !matches!(
                    h,
                    rsip::Header::Authorization(_) | rsip::Header::ProxyAuthorization(_)
                )
            })
            .map(|h| match h {
                rsip::Header::Via(_) => rsip::headers::Via::new(via.clone()).into(),
                rsip::Header::CSeq(_) => rsip::headers::CSeq::new(format!("{seq} MESSAGE")).into(),
                other => other.clone(),
            })
            .collect();
        headers.push(auth.to_header());
        let mut r = request.clone();
        r.headers = headers.into();
        Some(r)
    }

    fn on_message(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: &rsip::Request,
    ) {
        let tag = self.rng.token();
        match check_incoming(request, self.config.max_body) {
            Ok(text) => {
                let ok = crate::responses::with_to_tag(response_for(request, 200, "OK"), &tag);
                respond(now, layer, id, ok);
                let from = header_value(&request.headers, "From").unwrap_or_default();
                self.events.push_back(PagerEvent::Received {
                    from: crate::dialog::uri_of(&from),
                    display_name: display_name(&from),
                    text,
                    call_id: header_value(&request.headers, "Call-ID").unwrap_or_default(),
                    date: header_value(&request.headers, "Date"),
                });
            }
            Err(Refusal { code, reason }) => {
                tracing::debug!(code, reason, "refused an incoming MESSAGE");
                let mut r =
                    crate::responses::with_to_tag(response_for(request, code, reason), &tag);
                if code == 415 {
                    r.headers
                        .push(rsip::headers::Accept::new(ACCEPT.join(", ")).into());
                }
                respond(now, layer, id, r);
            }
        }
    }
}

/// Why an incoming MESSAGE is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status code.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'static str,
}

/// Checks an incoming MESSAGE (RFC 3428 §7) and returns its text, or the status to refuse it
/// with: 413 when the body exceeds `max_body`, 415 for anything but `text/plain` in UTF-8
/// (or US-ASCII, a subset), 400 when the text is not valid UTF-8.
pub fn check_incoming(request: &rsip::Request, max_body: usize) -> Result<String, Refusal> {
    if request.body.len() > max_body {
        return Err(Refusal {
            code: 413,
            reason: "Request Entity Too Large",
        });
    }
    let ct = header_value(&request.headers, "Content-Type");
    match ct {
        None if request.body.is_empty() => return Ok(String::new()),
        None => {
            return Err(Refusal {
                code: 415,
                reason: "Unsupported Media Type",
            });
        }
        Some(ct) => {
            let media = ct.split(';').next().unwrap_or_default().trim();
            if !media.eq_ignore_ascii_case("text/plain") {
                return Err(Refusal {
                    code: 415,
                    reason: "Unsupported Media Type",
                });
            }
            if let Some(cs) = header_param(&ct, "charset") {
                let cs = cs.trim_matches('"');
                if !cs.eq_ignore_ascii_case("utf-8") && !cs.eq_ignore_ascii_case("us-ascii") {
                    return Err(Refusal {
                        code: 415,
                        reason: "Unsupported Media Type",
                    });
                }
            }
        }
    }
    String::from_utf8(request.body.clone()).map_err(|_| Refusal {
        code: 400,
        reason: "Message Text Is Not UTF-8",
    })
}

fn respond(now: Instant, layer: &mut TransactionLayer, id: TransactionId, r: rsip::Response) {
    if let Err(e) = layer.send_response(now, id, r) {
        tracing::debug!(error = %e, "could not answer the MESSAGE");
    }
}

/// The first value of header `name` (typed or not), compared case-insensitively.
fn header_value(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let s = h.to_string();
        let (n, v) = s.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The display name of a From value (`"Bob" <sip:…>` or `Bob <sip:…>`), unquoted.
fn display_name(value: &str) -> Option<String> {
    let (name, _) = value.split_once('<')?;
    let name = name.trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map_or_else(
            || name.to_owned(),
            |n| n.replace("\\\"", "\"").replace("\\\\", "\\"),
        );
    (!name.is_empty()).then_some(name)
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn host_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// A refusal in plain words.
fn failure_words(code: u16, status: &str) -> String {
    let what = match code {
        403 => "the server does not allow you to send messages there",
        404 | 604 => "there is no such user",
        405 | 501 => "the other side does not take text messages",
        408 | 480 => "the other side is not reachable now",
        413 => "the message is too long for the other side",
        415 => "the other side does not understand this kind of message",
        486 | 600 => "the other side is busy",
        488 | 606 => "the other side does not accept this message",
        401 | 407 => "the server refused the credentials",
        _ => "the message was refused",
    };
    format!("{what} ({status})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str, body: &[u8]) -> rsip::Request {
        let mut text = format!(
            "MESSAGE sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\nFrom: \"Al \\\"the\\\" Pal\" <sip:alice@a>;tag=x\r\n\
             To: <sip:bob@b>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n{extra}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        text.extend_from_slice(body);
        match crate::receive_datagram(&text) {
            crate::Inbound::Request(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_is_checked_for_type_charset_size_and_utf8() {
        let ok = request(
            "Content-Type: text/plain; charset=\"UTF-8\"\r\n",
            "Привет 你好".as_bytes(),
        );
        assert_eq!(check_incoming(&ok, 1000).unwrap(), "Привет 你好");
        let html = request("Content-Type: text/html\r\n", b"<b>x</b>");
        assert_eq!(check_incoming(&html, 1000).unwrap_err().code, 415);
        let latin = request(
            "Content-Type: text/plain;charset=ISO-8859-1\r\n",
            b"caf\xe9",
        );
        assert_eq!(check_incoming(&latin, 1000).unwrap_err().code, 415);
        let bad = request("Content-Type: text/plain\r\n", b"caf\xe9");
        assert_eq!(check_incoming(&bad, 1000).unwrap_err().code, 400);
        let big = request("Content-Type: text/plain\r\n", &[b'a'; 200]);
        assert_eq!(check_incoming(&big, 100).unwrap_err().code, 413);
        let untyped = request("", b"hello");
        assert_eq!(check_incoming(&untyped, 1000).unwrap_err().code, 415);
        assert_eq!(check_incoming(&request("", b""), 1000).unwrap(), "");
    }

    #[test]
    fn display_names_are_unquoted() {
        assert_eq!(
            display_name("\"Al \\\"the\\\" Pal\" <sip:a@b>;tag=1").as_deref(),
            Some("Al \"the\" Pal")
        );
        assert_eq!(display_name("Bob <sip:b@c>").as_deref(), Some("Bob"));
        assert_eq!(display_name("<sip:b@c>"), None);
        assert_eq!(display_name("sip:b@c"), None);
    }
}
