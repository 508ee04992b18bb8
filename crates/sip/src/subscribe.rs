//! Subscriptions to other users' state (SUBSCRIBE/NOTIFY, RFC 6665; the `presence` event
//! package, RFC 3856), sans-IO.
//!
//! [`Subscriptions`] keeps one subscription per watched URI. The initial SUBSCRIBE creates
//! a dialog (from its 2xx, or from a NOTIFY that arrives first, §4.1.2.4); refreshes go in
//! that dialog before the granted expiry; every NOTIFY is answered (200, or 481 for a
//! subscription we do not know, 489 for another event package, 413 for an oversized body)
//! and handed over as [`SubscriptionEvent::Notify`] with its `Subscription-State`.
//!
//! Failures never turn into a tight loop: a refused or unanswered SUBSCRIBE (403, 404, 489,
//! 501, timeout …) is retried after 30 s doubling to 30 min, or the server's `Retry-After`;
//! a `terminated` NOTIFY with reason `deactivated`/`timeout` subscribes again at once
//! (§4.1.3), `probation`/`giveup` after `retry-after`, `rejected`/`noresource` with the
//! back-off. 401/407 are answered once with credentials.
//!
//! Drive it like the other cores: feed `handle_transaction_event`, call `handle_timeout` at
//! [`Subscriptions::poll_timeout`], drain [`Subscriptions::poll_event`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::auth::Credentials;
use crate::dialog::Dialog;
use crate::message::header_param;
use crate::publish::{BACKOFF_MAX, BACKOFF_MIN};
use crate::reqbuild::{self, Via};
use crate::rng::Rng;
use crate::transaction::{
    Peer, TransactionEvent, TransactionId, TransactionLayer, TransportKind, is_transport_error,
    response_for,
};

/// One account's subscription settings.
#[derive(Debug, Clone)]
pub struct SubscribeConfig {
    /// Our address of record (From).
    pub aor: String,
    /// Our Via address.
    pub local: std::net::SocketAddr,
    /// Transport of our Via.
    pub transport: TransportKind,
    /// The Contact to advertise (the registrar's binding); `None` = from `local`.
    pub contact: Option<String>,
    /// Digest credentials.
    pub credentials: Option<Credentials>,
    /// Where every request goes (the registrar's flow).
    pub next_hop: Peer,
    /// `User-Agent`.
    pub user_agent: String,
    /// Requested subscription lifetime in seconds.
    pub expires: u32,
    /// The event package (`presence`).
    pub event: String,
    /// What we accept in NOTIFY (`application/pidf+xml`).
    pub accept: String,
    /// The largest NOTIFY body accepted.
    pub max_body: usize,
}

/// Which subscription an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// The notifier's view of the subscription (`Subscription-State`, RFC 6665 §8.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    /// Authorised: the body is the state.
    Active,
    /// Not yet authorised: the body (if any) is neutral.
    Pending,
    /// Ended by the notifier.
    Terminated,
}

/// What the subscriptions tell the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionEvent {
    /// A NOTIFY (already answered 200).
    Notify {
        /// The subscription.
        id: SubscriptionId,
        /// The watched URI.
        uri: String,
        /// Its state.
        state: SubState,
        /// The body's media type, lowercased without parameters.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// Subscribing failed; another attempt follows in `retry_in` when given.
    Failed {
        /// The subscription.
        id: SubscriptionId,
        /// The watched URI.
        uri: String,
        /// The status (408 = no answer).
        code: u16,
        /// Plain words.
        reason: String,
        /// When it is tried again.
        retry_in: Option<Duration>,
    },
    /// The subscription ended after [`Subscriptions::unsubscribe`].
    Ended {
        /// The subscription.
        id: SubscriptionId,
        /// The watched URI.
        uri: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Subscribing,
    Active,
    Waiting,
    Unsubscribing,
}

#[derive(Debug)]
struct Sub {
    uri: String,
    call_id: String,
    local_tag: String,
    cseq: u32,
    dialog: Option<Dialog>,
    phase: Phase,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
}

#[derive(Debug)]
struct Out {
    sub: SubscriptionId,
    request: rsip::Request,
    authed: bool,
}

/// The subscriptions of one account.
#[derive(Debug)]
pub struct Subscriptions {
    config: SubscribeConfig,
    rng: Rng,
    next_id: u64,
    subs: BTreeMap<SubscriptionId, Sub>,
    txs: HashMap<TransactionId, Out>,
    events: VecDeque<SubscriptionEvent>,
}

impl Subscriptions {
    /// No subscriptions yet.
    pub fn new(config: SubscribeConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            next_id: 1,
            subs: BTreeMap::new(),
            txs: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// Sets the Contact we advertise (the registrar's binding).
    pub fn set_contact(&mut self, contact: Option<String>) {
        self.config.contact = contact;
    }

    /// How many subscriptions exist (any phase).
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// True without subscriptions.
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Every subscription's id.
    pub fn ids(&self) -> Vec<SubscriptionId> {
        self.subs.keys().copied().collect()
    }

    /// The subscription watching `uri`, if any.
    pub fn find(&self, uri: &str) -> Option<SubscriptionId> {
        self.subs
            .iter()
            .find(|(_, s)| s.uri == uri && s.phase != Phase::Unsubscribing)
            .map(|(id, _)| *id)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SubscriptionEvent> {
        self.events.pop_front()
    }

    /// When [`Subscriptions::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.subs
            .values()
            .flat_map(|s| [s.refresh_at, s.retry_at])
            .flatten()
            .min()
    }

    /// Subscribes to `uri` (or returns the subscription that already watches it).
    pub fn subscribe(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        uri: &str,
    ) -> SubscriptionId {
        if let Some(id) = self.find(uri) {
            return id;
        }
        let id = SubscriptionId(self.next_id);
        self.next_id += 1;
        let sub = self.fresh_sub(uri);
        self.subs.insert(id, sub);
        self.send_initial(now, layer, id);
        id
    }

    fn fresh_sub(&mut self, uri: &str) -> Sub {
        Sub {
            uri: uri.to_owned(),
            call_id: format!("{}@{}", self.rng.token(), self.config.local.ip()),
            local_tag: self.rng.token(),
            cseq: 0,
            dialog: None,
            phase: Phase::Subscribing,
            refresh_at: None,
            retry_at: None,
            failures: 0,
        }
    }

    /// Ends a subscription (`Expires: 0` in its dialog, §4.1.2.3).
    pub fn unsubscribe(&mut self, now: Instant, layer: &mut TransactionLayer, id: SubscriptionId) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.refresh_at = None;
        sub.retry_at = None;
        if sub.dialog.is_some() {
            sub.phase = Phase::Unsubscribing;
            self.send_in_dialog(now, layer, id, 0);
        } else {
            let uri = sub.uri.clone();
            self.subs.remove(&id);
            self.txs.retain(|_, o| o.sub != id);
            self.events.push_back(SubscriptionEvent::Ended { id, uri });
        }
    }

    fn contact(&self) -> String {
        match &self.config.contact {
            Some(c) if c.contains('<') => c.clone(),
            Some(c) => format!("<{c}>"),
            None => {
                let user = self
                    .config
                    .aor
                    .split_once(':')
                    .and_then(|(_, r)| r.split_once('@'))
                    .map(|(u, _)| format!("{u}@"))
                    .unwrap_or_default();
                let t = match self.config.transport {
                    TransportKind::Udp => "",
                    TransportKind::Tcp => ";transport=tcp",
                    TransportKind::Tls => ";transport=tls",
                    TransportKind::Ws => ";transport=ws",
                    TransportKind::Wss => ";transport=wss",
                };
                format!("<sip:{user}{}{t}>", self.config.local)
            }
        }
    }

    fn extra_headers(&self, expires: u32) -> String {
        format!(
            "Event: {}\r\nExpires: {expires}\r\nAccept: {}\r\nContact: {}\r\nUser-Agent: {}\r\n",
            self.config.event,
            self.config.accept,
            self.contact(),
            self.config.user_agent
        )
    }

    fn send_initial(&mut self, now: Instant, layer: &mut TransactionLayer, id: SubscriptionId) {
        let via = Via::new(self.config.transport, self.config.local).with_branch(&mut self.rng);
        let extra = self.extra_headers(self.config.expires);
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.cseq += 1;
        sub.phase = Phase::Subscribing;
        let head = format!(
            "SUBSCRIBE {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
             From: <{aor}>;tag={tag}\r\nTo: <{uri}>\r\nCall-ID: {cid}\r\nCSeq: {seq} SUBSCRIBE\r\n{extra}",
            uri = sub.uri,
            aor = self.config.aor,
            tag = sub.local_tag,
            cid = sub.call_id,
            seq = sub.cseq,
        );
        match reqbuild::build(head, None, &[]) {
            Ok(request) => self.send(now, layer, id, request, false),
            Err(e) => self.fail(now, id, 400, format!("cannot build SUBSCRIBE: {e}"), None),
        }
    }

    fn send_in_dialog(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: SubscriptionId,
        expires: u32,
    ) {
        let via = Via::new(self.config.transport, self.config.local).with_branch(&mut self.rng);
        let extra = self.extra_headers(expires);
        let transport = self.config.transport;
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        let Some(dialog) = sub.dialog.as_mut() else {
            return;
        };
        // The Via of create_request is replaced below by ours (with rport).
        let built = dialog.create_request(rsip::Method::Subscribe, transport, "x.invalid", "x");
        sub.cseq = dialog.local_seq;
        let request = built.map_err(|e| e.to_string()).and_then(|r| {
            let head = crate::message::serialize(&r.into());
            let head = String::from_utf8_lossy(&head).into_owned();
            let head = head
                .split("\r\n")
                .filter(|l| {
                    !l.is_empty()
                        && !l.to_ascii_lowercase().starts_with("content-length")
                        && !l.to_ascii_lowercase().starts_with("via")
                })
                .map(|l| format!("{l}\r\n"))
                .collect::<String>();
            let (start, rest) = head.split_once("\r\n").unwrap_or((&head, ""));
            reqbuild::build(format!("{start}\r\nVia: {via}\r\n{rest}{extra}"), None, &[])
        });
        match request {
            Ok(request) => self.send(now, layer, id, request, false),
            Err(e) => self.fail(now, id, 400, format!("cannot build SUBSCRIBE: {e}"), None),
        }
    }

    fn send(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: SubscriptionId,
        request: rsip::Request,
        authed: bool,
    ) {
        match layer.send_request(now, request.clone(), self.config.next_hop) {
            Ok(tx) => {
                self.txs.insert(
                    tx,
                    Out {
                        sub: id,
                        request,
                        authed,
                    },
                );
            }
            Err(e) => self.fail(now, id, 503, e.to_string(), None),
        }
    }

    fn backoff(&mut self, id: SubscriptionId, retry_after: Option<Duration>) -> Duration {
        let failures = self.subs.get_mut(&id).map_or(1, |s| {
            s.failures = s.failures.saturating_add(1);
            s.failures
        });
        let base = BACKOFF_MIN
            .saturating_mul(1 << failures.saturating_sub(1).min(10))
            .min(BACKOFF_MAX);
        let jitter = Duration::from_millis(self.rng.below(base.as_millis() as u64 / 5 + 1));
        retry_after.map_or(base + jitter, |r| r.max(BACKOFF_MIN))
    }

    fn fail(
        &mut self,
        now: Instant,
        id: SubscriptionId,
        code: u16,
        reason: String,
        retry_after: Option<Duration>,
    ) {
        let retry_in = self.backoff(id, retry_after);
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.dialog = None;
        sub.phase = Phase::Waiting;
        sub.refresh_at = None;
        sub.retry_at = Some(now + retry_in);
        let uri = sub.uri.clone();
        self.events.push_back(SubscriptionEvent::Failed {
            id,
            uri,
            code,
            reason,
            retry_in: Some(retry_in),
        });
    }

    /// Starts over with a new dialog, at once.
    fn restart(&mut self, now: Instant, layer: &mut TransactionLayer, id: SubscriptionId) {
        let Some(uri) = self.subs.get(&id).map(|s| s.uri.clone()) else {
            return;
        };
        let mut fresh = self.fresh_sub(&uri);
        if let Some(old) = self.subs.get(&id) {
            fresh.failures = old.failures;
        }
        self.subs.insert(id, fresh);
        self.send_initial(now, layer, id);
    }

    /// Runs refreshes and retries that are due.
    pub fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let due: Vec<(SubscriptionId, bool)> = self
            .subs
            .iter()
            .filter_map(|(id, s)| {
                if s.retry_at.is_some_and(|t| t <= now) {
                    Some((*id, false))
                } else if s.refresh_at.is_some_and(|t| t <= now) {
                    Some((*id, true))
                } else {
                    None
                }
            })
            .collect();
        for (id, refresh) in due {
            if let Some(s) = self.subs.get_mut(&id) {
                s.retry_at = None;
                s.refresh_at = None;
            }
            if refresh {
                let expires = self.config.expires;
                self.send_in_dialog(now, layer, id, expires);
            } else {
                self.restart(now, layer, id);
            }
        }
    }

    /// Takes the layer's events about subscriptions (responses to our SUBSCRIBEs, every
    /// NOTIFY); hands back the others.
    pub fn handle_transaction_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        event: TransactionEvent,
    ) -> Option<TransactionEvent> {
        match event {
            TransactionEvent::Request { id, request, peer }
                if request.method == rsip::Method::Notify =>
            {
                if !self.on_notify(now, layer, id, &request) {
                    return Some(TransactionEvent::Request { id, request, peer });
                }
                None
            }
            TransactionEvent::Response { id, response } if self.txs.contains_key(&id) => {
                if response.status_code.code() >= 200
                    && let Some(out) = self.txs.remove(&id)
                {
                    self.on_final(now, layer, out, &response);
                }
                None
            }
            TransactionEvent::Timeout { id } if self.txs.contains_key(&id) => {
                if let Some(out) = self.txs.remove(&id) {
                    self.on_no_answer(now, out.sub);
                }
                None
            }
            other => Some(other),
        }
    }

    fn on_no_answer(&mut self, now: Instant, id: SubscriptionId) {
        if self
            .subs
            .get(&id)
            .is_some_and(|s| s.phase == Phase::Unsubscribing)
        {
            self.end(id);
            return;
        }
        self.fail(now, id, 408, "the server did not answer".into(), None);
    }

    fn end(&mut self, id: SubscriptionId) {
        if let Some(s) = self.subs.remove(&id) {
            self.events
                .push_back(SubscriptionEvent::Ended { id, uri: s.uri });
        }
    }

    fn on_final(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        out: Out,
        r: &rsip::Response,
    ) {
        let id = out.sub;
        let code = r.status_code.code();
        let Some(phase) = self.subs.get(&id).map(|s| s.phase) else {
            return;
        };
        if phase == Phase::Unsubscribing && (code < 400 || !(code == 401 || code == 407)) {
            self.end(id);
            return;
        }
        if (200..300).contains(&code) {
            let expires = reqbuild::header(&r.headers, "Expires")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(u64::from(self.config.expires));
            let Some(sub) = self.subs.get_mut(&id) else {
                return;
            };
            if sub.dialog.is_none() {
                match Dialog::new_uac(&out.request, r) {
                    Ok(d) => sub.dialog = Some(d),
                    Err(e) => tracing::debug!(error = %e, "2xx to SUBSCRIBE forms no dialog"),
                }
            } else if let Some(d) = sub.dialog.as_mut() {
                d.handle_response(r);
            }
            if expires == 0 {
                // The notifier ended it at once; a terminated NOTIFY follows.
                return;
            }
            sub.failures = 0;
            sub.phase = Phase::Active;
            sub.refresh_at = Some(now + refresh_in(Duration::from_secs(expires)));
            return;
        }
        if (code == 401 || code == 407)
            && !out.authed
            && let Some(creds) = self.config.credentials.clone()
        {
            let via = Via::new(self.config.transport, self.config.local).with_branch(&mut self.rng);
            let cnonce = self.rng.token();
            let seq = self.subs.get_mut(&id).map_or(1, |s| {
                s.cseq += 1;
                if let Some(d) = s.dialog.as_mut() {
                    d.local_seq = s.cseq;
                }
                s.cseq
            });
            if let Some(req) =
                reqbuild::with_credentials(&out.request, r, &creds, &via, seq, &cnonce)
            {
                self.send(now, layer, id, req, true);
                return;
            }
        }
        if phase == Phase::Unsubscribing {
            self.end(id);
            return;
        }
        if code == 481 || (code == 408 && phase == Phase::Active) {
            // The dialog is gone (§4.1.2.2): subscribe afresh, at once.
            self.restart(now, layer, id);
            return;
        }
        if code == 423
            && let Some(min) = reqbuild::header(&r.headers, "Min-Expires")
                .and_then(|v| v.trim().parse::<u32>().ok())
            && min > self.config.expires
        {
            self.config.expires = min;
            self.restart(now, layer, id);
            return;
        }
        let retry_after = reqbuild::header(&r.headers, "Retry-After")
            .and_then(|v| v.split(';').next()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let reason = if is_transport_error(r) {
            "the network failed to carry the request".to_owned()
        } else {
            match code {
                489 | 501 | 405 => "the provider does not offer presence".to_owned(),
                403 => "the provider does not allow you to watch this contact".to_owned(),
                404 | 604 => "there is no such user".to_owned(),
                401 | 407 => "the provider refused the credentials".to_owned(),
                _ => format!("the provider refused it ({code})"),
            }
        };
        self.fail(now, id, code, reason, retry_after);
    }

    /// Answers a NOTIFY; `false` when it is not ours to answer (an implicit REFER
    /// subscription of a call: the caller hands it on).
    fn on_notify(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        tx: TransactionId,
        request: &rsip::Request,
    ) -> bool {
        let call_id = reqbuild::header(&request.headers, "Call-ID").unwrap_or_default();
        let to_tag = reqbuild::header(&request.headers, "To")
            .and_then(|v| header_param(&v, "tag").map(str::to_owned));
        let found = self
            .subs
            .iter()
            .find(|(_, s)| s.call_id == call_id && Some(&s.local_tag) == to_tag.as_ref())
            .map(|(id, _)| *id);
        let event = reqbuild::header(&request.headers, "Event").unwrap_or_default();
        let package = event.split(';').next().unwrap_or_default().trim();
        let Some(id) = found else {
            if !package.eq_ignore_ascii_case(&self.config.event) {
                return false;
            }
            respond(
                now,
                layer,
                tx,
                response_for(request, 481, "Subscription Does Not Exist"),
            );
            return true;
        };
        if !package.eq_ignore_ascii_case(&self.config.event) {
            let mut r = response_for(request, 489, "Bad Event");
            r.headers.push(rsip::Header::Other(
                "Allow-Events".into(),
                self.config.event.clone(),
            ));
            respond(now, layer, tx, r);
            return true;
        }
        if request.body.len() > self.config.max_body {
            respond(
                now,
                layer,
                tx,
                response_for(request, 413, "Request Entity Too Large"),
            );
            return true;
        }
        let ss = reqbuild::header(&request.headers, "Subscription-State").unwrap_or_default();
        let state_word = ss
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let state = match state_word.as_str() {
            "active" => SubState::Active,
            "pending" => SubState::Pending,
            "terminated" => SubState::Terminated,
            _ => {
                respond(
                    now,
                    layer,
                    tx,
                    response_for(request, 400, "Bad Subscription-State"),
                );
                return true;
            }
        };
        // The dialog: made by this NOTIFY when the 2xx has not come yet (§4.1.2.4).
        let Some(sub) = self.subs.get_mut(&id) else {
            return true;
        };
        match sub.dialog.as_mut() {
            Some(d) => {
                if let Err(e) = d.handle_request(request) {
                    tracing::debug!(error = %e, "NOTIFY out of order");
                    respond(
                        now,
                        layer,
                        tx,
                        response_for(request, 500, "CSeq Out Of Order"),
                    );
                    return true;
                }
            }
            None => match Dialog::new_uas(request, &sub.local_tag, true) {
                Ok(mut d) => {
                    d.local_seq = sub.cseq;
                    sub.dialog = Some(d);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "NOTIFY forms no dialog");
                    respond(
                        now,
                        layer,
                        tx,
                        response_for(request, 400, "Missing Contact"),
                    );
                    return true;
                }
            },
        }
        respond(now, layer, tx, response_for(request, 200, "OK"));
        let uri = sub.uri.clone();
        let content_type = reqbuild::header(&request.headers, "Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        self.events.push_back(SubscriptionEvent::Notify {
            id,
            uri,
            state,
            content_type,
            body: request.body.clone(),
        });
        let param = |name: &str| header_param(&ss, name).map(str::to_owned);
        match state {
            SubState::Active | SubState::Pending => {
                if let Some(s) = self.subs.get_mut(&id) {
                    if s.phase == Phase::Subscribing {
                        s.phase = Phase::Active;
                    }
                    if let Some(left) = param("expires").and_then(|e| e.parse::<u64>().ok())
                        && s.phase == Phase::Active
                    {
                        let at = now + refresh_in(Duration::from_secs(left));
                        s.refresh_at = Some(s.refresh_at.map_or(at, |r| r.min(at)));
                    }
                }
            }
            SubState::Terminated => {
                if self
                    .subs
                    .get(&id)
                    .is_some_and(|s| s.phase == Phase::Unsubscribing)
                {
                    self.end(id);
                    return true;
                }
                let reason = param("reason").unwrap_or_default().to_ascii_lowercase();
                let retry_after = param("retry-after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                match reason.as_str() {
                    "" | "deactivated" | "timeout" if retry_after.is_none() => {
                        self.restart(now, layer, id)
                    }
                    _ => {
                        let words = match reason.as_str() {
                            "rejected" => "the contact or provider refused the subscription",
                            "noresource" => "there is no such user",
                            _ => "the provider ended the subscription",
                        };
                        self.fail(now, id, 0, words.to_owned(), retry_after);
                    }
                }
            }
        }
        true
    }
}

/// Refresh at about 80 % of the lifetime, at least 5 s before it ends (RFC 6665 §4.1.2.2).
fn refresh_in(expires: Duration) -> Duration {
    let lead = (expires / 5).max(Duration::from_secs(5)).min(expires / 2);
    expires - lead
}

fn respond(now: Instant, layer: &mut TransactionLayer, id: TransactionId, r: rsip::Response) {
    if let Err(e) = layer.send_response(now, id, r) {
        tracing::debug!(error = %e, "could not answer the NOTIFY");
    }
}
