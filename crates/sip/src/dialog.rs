//! Dialogs (RFC 3261 §12): identity, route set, remote target and CSeq bookkeeping.
//!
//! A [`Dialog`] is plain data plus the rules for building in-dialog requests (§12.2.1.1) and
//! checking received ones (§12.2.2). Forking (several early dialogs for one INVITE, RFC 3261
//! §13.2.2.4) is the caller's policy: make one `Dialog` per To tag with [`Dialog::new_uac`].

use rsip::prelude::*;

use crate::message::header_param;
use crate::transaction::TransportKind;
use crate::validate::parse_cseq;

/// Why a dialog could not be created or a request does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// A header needed to form the dialog is missing or malformed.
    #[error("cannot form a dialog: {0}")]
    Missing(&'static str),
    /// The response cannot create a dialog (no To tag, or not 101–299).
    #[error("response {0} does not create a dialog")]
    NotDialogForming(u16),
    /// The request's CSeq is lower than the last one seen (§12.2.2: answer 500).
    #[error("CSeq {got} is lower than {last}")]
    CSeqOutOfOrder {
        /// Received number.
        got: u32,
        /// Highest seen.
        last: u32,
    },
    /// The request does not belong to this dialog.
    #[error("request does not match the dialog")]
    Mismatch,
    /// The request could not be built (bad URIs in the dialog state).
    #[error("cannot build request: {0}")]
    Build(String),
}

/// Call-ID and the two tags (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Early (from a 1xx with a tag) or confirmed (2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// Dialog state (§12.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Identity.
    pub id: DialogId,
    /// Early or confirmed.
    pub state: DialogState,
    /// Last CSeq number we used.
    pub local_seq: u32,
    /// Highest CSeq number received from the peer (`None`: none yet, §12.1.2).
    pub remote_seq: Option<u32>,
    /// Our URI (From of our requests), without tag.
    pub local_uri: String,
    /// Peer's URI (To of our requests), without tag.
    pub remote_uri: String,
    /// Where requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Route set, in the order Route headers must be written.
    pub route_set: Vec<String>,
    /// True when the dialog was set up over sips.
    pub secure: bool,
}

/// `name-addr` or `addr-spec` → the URI inside.
pub(crate) fn uri_of(value: &str) -> String {
    match value.split_once('<').and_then(|(_, r)| r.split_once('>')) {
        Some((uri, _)) => uri.trim().to_owned(),
        None => value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// A From/To value with its `tag` parameter removed.
fn without_tag(value: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    // Parameters after the closing '>' (or after the URI for addr-spec).
    let split_at = value.rfind('>').map_or(0, |i| i + 1);
    let (head, params) = value.split_at(split_at);
    let (head, params) = if split_at == 0 {
        match value.split_once(';') {
            Some((h, _)) => (h, &value[h.len()..]),
            None => (value, ""),
        }
    } else {
        (head, params)
    };
    parts.push(head.trim());
    for p in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if !p.to_ascii_lowercase().starts_with("tag=") {
            parts.push(p);
        }
    }
    parts.join(";")
}

/// Every Record-Route value of a message in header order, comma-joined values split
/// (§7.3.1: `Record-Route: <a>, <b>` is the same as two header fields `<a>` then `<b>`).
fn record_routes(headers: &rsip::Headers) -> Vec<String> {
    headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::RecordRoute(v) => Some(v.value()),
            _ => None,
        })
        .flat_map(crate::message::split_list)
        .map(str::to_owned)
        .collect()
}

fn contact_uri(headers: &rsip::Headers) -> Option<String> {
    headers.iter().find_map(|h| match h {
        rsip::Header::Contact(c) => Some(uri_of(c.value())),
        _ => None,
    })
}

fn from_value(request: &rsip::Request) -> Result<&str, DialogError> {
    Ok(request
        .from_header()
        .map_err(|_| DialogError::Missing("From"))?
        .value())
}

fn to_value(message: &impl HeadersExt) -> Result<&str, DialogError> {
    Ok(message
        .to_header()
        .map_err(|_| DialogError::Missing("To"))?
        .value())
}

/// The CSeq number of `request`.
fn cseq_number(request: &rsip::Request) -> Result<u32, DialogError> {
    request
        .cseq_header()
        .ok()
        .and_then(|c| parse_cseq(c.value()).ok())
        .map(|(n, _)| n)
        .ok_or(DialogError::Missing("CSeq"))
}

fn call_id(request: &rsip::Request) -> Result<String, DialogError> {
    Ok(request
        .call_id_header()
        .map_err(|_| DialogError::Missing("Call-ID"))?
        .value()
        .to_owned())
}

/// True when the Request-URI is a `sips:` URI.
fn is_sips(request: &rsip::Request) -> bool {
    request
        .uri
        .to_string()
        .to_ascii_lowercase()
        .starts_with("sips:")
}

impl Dialog {
    /// UAC side (§12.1.2): from the INVITE we sent and a 1xx-with-tag or 2xx response.
    pub fn new_uac(
        request: &rsip::Request,
        response: &rsip::Response,
    ) -> Result<Self, DialogError> {
        let code = response.status_code.code();
        let to = to_value(response)?;
        let remote_tag = header_param(to, "tag")
            .filter(|t| !t.is_empty())
            .ok_or(DialogError::NotDialogForming(code))?;
        if !(101..300).contains(&code) {
            return Err(DialogError::NotDialogForming(code));
        }
        let from = from_value(request)?;
        let local_tag = header_param(from, "tag").ok_or(DialogError::Missing("From tag"))?;
        let local_seq = cseq_number(request)?;
        // §12.1.2: the route set is the Record-Route list of the response, reversed.
        let mut route_set = record_routes(&response.headers);
        route_set.reverse();
        Ok(Self {
            id: DialogId {
                call_id: call_id(request)?,
                local_tag: local_tag.to_owned(),
                remote_tag: remote_tag.to_owned(),
            },
            state: if code < 200 {
                DialogState::Early
            } else {
                DialogState::Confirmed
            },
            local_seq,
            remote_seq: None,
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            // §12.1.2 requires a Contact in dialog-forming responses, but some servers omit
            // it in 1xx; fall back to the Request-URI until a later response refreshes it.
            remote_target: contact_uri(&response.headers)
                .unwrap_or_else(|| request.uri.to_string()),
            route_set,
            secure: is_sips(request),
        })
    }

    /// UAS side (§12.1.1): from the request received and the To tag of our response.
    pub fn new_uas(
        request: &rsip::Request,
        local_tag: &str,
        confirmed: bool,
    ) -> Result<Self, DialogError> {
        let from = from_value(request)?;
        let to = to_value(request)?;
        let remote_tag = header_param(from, "tag").ok_or(DialogError::Missing("From tag"))?;
        let remote_seq = cseq_number(request)?;
        Ok(Self {
            id: DialogId {
                call_id: call_id(request)?,
                local_tag: local_tag.to_owned(),
                remote_tag: remote_tag.to_owned(),
            },
            state: if confirmed {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            // §12.1.1: the local sequence starts empty; any value works, we start at 0 so the
            // first request uses 1.
            local_seq: 0,
            remote_seq: Some(remote_seq),
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            remote_target: contact_uri(&request.headers).ok_or(DialogError::Missing("Contact"))?,
            // §12.1.1: Record-Route in request order.
            route_set: record_routes(&request.headers),
            secure: is_sips(request),
        })
    }

    /// A later response on the UAC side: a 2xx confirms the early dialog and fixes the route
    /// set (§12.1.2, §13.2.2.4); any dialog-forming response refreshes the remote target.
    pub fn handle_response(&mut self, response: &rsip::Response) {
        let code = response.status_code.code();
        if !(101..300).contains(&code) {
            return;
        }
        if code >= 200 && self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
            let mut rs = record_routes(&response.headers);
            rs.reverse();
            self.route_set = rs;
        }
        if let Some(target) = contact_uri(&response.headers) {
            self.remote_target = target;
        }
    }

    /// True when `request` belongs to this dialog (§12.2.2: Call-ID, To tag = ours, From tag =
    /// theirs).
    pub fn matches_request(&self, request: &rsip::Request) -> bool {
        let call_id = request.call_id_header().map(|c| c.value().to_owned());
        let to_tag = request
            .to_header()
            .ok()
            .and_then(|t| header_param(t.value(), "tag").map(str::to_owned));
        let from_tag = request
            .from_header()
            .ok()
            .and_then(|f| header_param(f.value(), "tag").map(str::to_owned));
        call_id.is_ok_and(|c| c == self.id.call_id)
            && to_tag.as_deref() == Some(self.id.local_tag.as_str())
            && from_tag.as_deref() == Some(self.id.remote_tag.as_str())
    }

    /// Checks and records an in-dialog request (§12.2.2): CSeq ordering (ACK and CANCEL carry
    /// the INVITE's number and are exempt) and target refresh for re-INVITE/UPDATE.
    pub fn handle_request(&mut self, request: &rsip::Request) -> Result<(), DialogError> {
        if !self.matches_request(request) {
            return Err(DialogError::Mismatch);
        }
        let seq = cseq_number(request)?;
        let exempt = matches!(request.method, rsip::Method::Ack | rsip::Method::Cancel);
        if !exempt {
            if let Some(last) = self.remote_seq
                && seq < last
            {
                return Err(DialogError::CSeqOutOfOrder { got: seq, last });
            }
            self.remote_seq = Some(seq);
        }
        if matches!(request.method, rsip::Method::Invite | rsip::Method::Update)
            && let Some(target) = contact_uri(&request.headers)
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// Builds an in-dialog request (§12.2.1.1) with the next CSeq. `sent_by` and `branch`
    /// make the Via; the caller adds Contact, body and anything method-specific.
    pub fn create_request(
        &mut self,
        method: rsip::Method,
        transport: TransportKind,
        sent_by: &str,
        branch: &str,
    ) -> Result<rsip::Request, DialogError> {
        self.local_seq += 1;
        self.build(method, self.local_seq, transport, sent_by, branch)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (§13.2.2.4): same CSeq
    /// number, method ACK, a new branch.
    pub fn ack(
        &self,
        invite_seq: u32,
        transport: TransportKind,
        sent_by: &str,
        branch: &str,
    ) -> Result<rsip::Request, DialogError> {
        self.build(rsip::Method::Ack, invite_seq, transport, sent_by, branch)
    }

    fn build(
        &self,
        method: rsip::Method,
        seq: u32,
        transport: TransportKind,
        sent_by: &str,
        branch: &str,
    ) -> Result<rsip::Request, DialogError> {
        // §12.2.1.1: loose routing when the first route has `lr`, else strict routing.
        let (request_uri, routes) = match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if header_param(first, "lr").is_some() || uri_of(first).contains(";lr") => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some(first) => {
                let mut routes: Vec<String> = self.route_set[1..].to_vec();
                routes.push(format!("<{}>", self.remote_target));
                // The Request-URI takes the first route's URI without its parameters that
                // are not allowed there (§19.1.1); we keep it as is, which strict routers
                // expect.
                (uri_of(first), routes)
            }
        };
        let mut text = format!(
            "{method} {request_uri} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {sent_by};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {local};tag={ltag}\r\n\
             To: {remote};tag={rtag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {seq} {method}\r\n",
            transport = transport.via_token(),
            local = self.local_uri,
            ltag = self.id.local_tag,
            remote = self.remote_uri,
            rtag = self.id.remote_tag,
            call_id = self.id.call_id,
        );
        for r in routes {
            text.push_str(&format!("Route: {r}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        match crate::receive_datagram(text.as_bytes()) {
            crate::Inbound::Request(r) => Ok(r),
            crate::Inbound::Reject(r) => Err(DialogError::Build(r.error.to_string())),
            other => Err(DialogError::Build(format!("{other:?}"))),
        }
    }
}

/// What [`AckWait`] wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckWaitAction {
    /// Send the 2xx again (through the INVITE server transaction while it is Accepted, or
    /// statelessly to the same peer after).
    Retransmit(rsip::Response),
    /// No ACK within 64·T1: the dialog is confirmed but the session should be ended with a
    /// BYE (§13.3.1.4).
    GiveUp,
}

/// The UAS core's 2xx retransmission until the ACK arrives (RFC 3261 §13.3.1.4; RFC 6026
/// leaves it to the TU). Intervals start at T1 and double up to T2; after 64·T1 without ACK
/// we give up. On reliable transports nothing is retransmitted (the transport does it), but
/// the 64·T1 limit still applies.
#[derive(Debug, Clone)]
pub struct AckWait {
    response: rsip::Response,
    reliable: bool,
    t2: std::time::Duration,
    next: Option<(std::time::Instant, std::time::Duration)>,
    deadline: Option<std::time::Instant>,
}

impl AckWait {
    /// Starts waiting after `response` (a 2xx to an INVITE) was first sent at `now`.
    pub fn new(
        now: std::time::Instant,
        response: rsip::Response,
        reliable: bool,
        timers: crate::transaction::TimerConfig,
    ) -> Self {
        Self {
            response,
            reliable,
            t2: timers.t2,
            next: (!reliable).then_some((now + timers.t1, timers.t1)),
            deadline: Some(now + timers.t1x64()),
        }
    }

    /// Retransmission of a reliable provisional response until its PRACK (RFC 3262 §3): the
    /// interval starts at T1 and doubles without the T2 cap; after 64·T1 the UAS should
    /// reject the request with a 5xx. Call [`handle_ack`](Self::handle_ack) on the PRACK.
    pub fn for_reliable_provisional(
        now: std::time::Instant,
        response: rsip::Response,
        reliable: bool,
        timers: crate::transaction::TimerConfig,
    ) -> Self {
        let mut w = Self::new(now, response, reliable, timers);
        w.t2 = std::time::Duration::MAX;
        w
    }

    /// The ACK (or, for a reliable provisional, the PRACK) arrived: stop.
    pub fn handle_ack(&mut self) {
        self.next = None;
        self.deadline = None;
    }

    /// True until the ACK arrived or we gave up.
    pub fn is_waiting(&self) -> bool {
        self.deadline.is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        [self.next.map(|(t, _)| t), self.deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: std::time::Instant) -> Option<AckWaitAction> {
        if self.deadline.is_some_and(|d| d <= now) {
            self.handle_ack();
            return Some(AckWaitAction::GiveUp);
        }
        match self.next {
            Some((at, interval)) if at <= now && !self.reliable => {
                let next = interval.saturating_mul(2).min(self.t2);
                self.next = Some((at + next, next));
                Some(AckWaitAction::Retransmit(self.response.clone()))
            }
            _ => None,
        }
    }
}
