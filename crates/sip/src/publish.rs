//! Publishing our own state (PUBLISH, RFC 3903), sans-IO.
//!
//! A [`Publication`] keeps one event state (our presence document) at the server: the first
//! PUBLISH carries the document, the server answers with a `SIP-ETag`; refreshes before the
//! granted expiry carry only `SIP-If-Match` (§4.2); a changed document is sent with
//! `SIP-If-Match` too (modify, §4.4); removal is `Expires: 0` (§4.5). A `412 Conditional
//! Request Failed` (the server forgot our entity tag) starts afresh with the document
//! (§6 step 4); `423` takes the server's `Min-Expires`; 401/407 are answered once with
//! credentials.
//!
//! Servers that do not take PUBLISH (405/489/501/403) or do not answer are retried with a
//! back-off — 30 s doubling up to 30 min, or the server's `Retry-After` — never in a tight
//! loop; [`PublishEvent::Failed`] says so each time so the UI can show "presence not
//! available from your provider".
//!
//! Drive it like the other cores: `handle_transaction_event` with what the layer emits,
//! `handle_timeout` at [`Publication::poll_timeout`], drain [`Publication::poll_event`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::auth::Credentials;
use crate::reqbuild::{self, Via};
use crate::rng::Rng;
use crate::transaction::{
    Peer, TransactionEvent, TransactionId, TransactionLayer, TransportKind, is_transport_error,
};

/// The shortest and longest waits after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_secs(30);
/// See [`BACKOFF_MIN`].
pub const BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);

/// One account's publication settings.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Our address of record: the Request-URI, From and To of PUBLISH (§4.1).
    pub aor: String,
    /// Our Via address.
    pub local: std::net::SocketAddr,
    /// Transport of our Via.
    pub transport: TransportKind,
    /// Digest credentials.
    pub credentials: Option<Credentials>,
    /// Where PUBLISH goes (the registrar's flow).
    pub next_hop: Peer,
    /// `User-Agent`.
    pub user_agent: String,
    /// Requested lifetime of the publication in seconds.
    pub expires: u32,
    /// The event package (`presence`).
    pub event: String,
    /// The document's media type (`application/pidf+xml`).
    pub content_type: String,
}

/// What the publication tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishEvent {
    /// The server holds our document for `expires`.
    Published {
        /// The granted lifetime.
        expires: Duration,
    },
    /// Our document is removed (after [`Publication::remove`]).
    Removed,
    /// Publishing failed; another attempt follows in `retry_in` when given.
    Failed {
        /// The status (408 = no answer).
        code: u16,
        /// Plain words.
        reason: String,
        /// When the next attempt is made.
        retry_in: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Initial,
    Refresh,
    Modify,
    Remove,
}

#[derive(Debug)]
struct InFlight {
    id: TransactionId,
    kind: Kind,
    request: rsip::Request,
    authed: bool,
}

/// Our published state at one server.
#[derive(Debug)]
pub struct Publication {
    config: PublishConfig,
    rng: Rng,
    cseq: u32,
    call_id: String,
    tag: String,
    etag: Option<String>,
    body: Option<Vec<u8>>,
    /// The body changed (or removal was asked) while a request was out.
    dirty: bool,
    in_flight: Option<InFlight>,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    precondition_failures: u32,
    events: VecDeque<PublishEvent>,
}

impl Publication {
    /// A publication with nothing published yet.
    pub fn new(config: PublishConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let call_id = format!("{}@{}", rng.token(), config.local.ip());
        let tag = rng.token();
        Self {
            config,
            rng,
            cseq: 0,
            call_id,
            tag,
            etag: None,
            body: None,
            dirty: false,
            in_flight: None,
            refresh_at: None,
            retry_at: None,
            failures: 0,
            precondition_failures: 0,
            events: VecDeque::new(),
        }
    }

    /// The entity tag the server gave us, while published.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PublishEvent> {
        self.events.pop_front()
    }

    /// When [`Publication::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        [self.refresh_at, self.retry_at].into_iter().flatten().min()
    }

    /// Publishes `body` (first time or a change).
    pub fn set(&mut self, now: Instant, layer: &mut TransactionLayer, body: Vec<u8>) {
        self.body = Some(body);
        self.failures = 0;
        self.retry_at = None;
        if self.in_flight.is_some() {
            self.dirty = true;
            return;
        }
        let kind = if self.etag.is_some() {
            Kind::Modify
        } else {
            Kind::Initial
        };
        self.send(now, layer, kind);
    }

    /// Removes our state from the server (§4.5); nothing is sent if nothing is published.
    pub fn remove(&mut self, now: Instant, layer: &mut TransactionLayer) {
        self.body = None;
        self.retry_at = None;
        self.refresh_at = None;
        if self.in_flight.is_some() {
            self.dirty = true;
            return;
        }
        if self.etag.is_some() {
            self.send(now, layer, Kind::Remove);
        }
    }

    /// Runs the refresh or the retry that is due.
    pub fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if self.in_flight.is_some() {
            return;
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            if self.body.is_some() {
                let kind = if self.etag.is_some() {
                    Kind::Modify
                } else {
                    Kind::Initial
                };
                self.send(now, layer, kind);
            }
        } else if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            if self.etag.is_some() && self.body.is_some() {
                self.send(now, layer, Kind::Refresh);
            }
        }
    }

    fn send(&mut self, now: Instant, layer: &mut TransactionLayer, kind: Kind) {
        self.cseq += 1;
        let via = Via::new(self.config.transport, self.config.local).with_branch(&mut self.rng);
        let aor = &self.config.aor;
        let expires = if kind == Kind::Remove {
            0
        } else {
            self.config.expires
        };
        let mut head = format!(
            "PUBLISH {aor} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <{aor}>;tag={}\r\n\
             To: <{aor}>\r\nCall-ID: {}\r\nCSeq: {} PUBLISH\r\nEvent: {}\r\nExpires: {expires}\r\n\
             User-Agent: {}\r\n",
            self.tag, self.call_id, self.cseq, self.config.event, self.config.user_agent
        );
        if kind != Kind::Initial
            && let Some(etag) = &self.etag
        {
            head.push_str(&format!("SIP-If-Match: {etag}\r\n"));
        }
        let body: &[u8] = match kind {
            Kind::Initial | Kind::Modify => self.body.as_deref().unwrap_or_default(),
            Kind::Refresh | Kind::Remove => &[],
        };
        let request = match reqbuild::build(head, Some(&self.config.content_type), body) {
            Ok(r) => r,
            Err(e) => {
                self.fail(now, 400, format!("cannot build PUBLISH: {e}"), None);
                return;
            }
        };
        match layer.send_request(now, request.clone(), self.config.next_hop) {
            Ok(id) => {
                self.in_flight = Some(InFlight {
                    id,
                    kind,
                    request,
                    authed: false,
                });
                self.dirty = false;
            }
            Err(e) => self.fail(now, 503, e.to_string(), None),
        }
    }

    fn backoff(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let base = BACKOFF_MIN
            .saturating_mul(1 << self.failures.saturating_sub(1).min(10))
            .min(BACKOFF_MAX);
        // Up to a fifth more, so that many clients that failed together spread out.
        let jitter = Duration::from_millis(self.rng.below(base.as_millis() as u64 / 5 + 1));
        retry_after.map_or(base + jitter, |r| r.max(BACKOFF_MIN))
    }

    fn fail(&mut self, now: Instant, code: u16, reason: String, retry_after: Option<Duration>) {
        let retry_in = self.body.is_some().then(|| self.backoff(retry_after));
        self.retry_at = retry_in.map(|d| now + d);
        self.refresh_at = None;
        self.events.push_back(PublishEvent::Failed {
            code,
            reason,
            retry_in,
        });
    }

    /// Takes the layer's events about our PUBLISHes; hands back the others.
    pub fn handle_transaction_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        event: TransactionEvent,
    ) -> Option<TransactionEvent> {
        let ours = |id: &TransactionId| self.in_flight.as_ref().is_some_and(|f| f.id == *id);
        match event {
            TransactionEvent::Response { id, response } if ours(&id) => {
                if response.status_code.code() >= 200 {
                    self.on_final(now, layer, &response);
                }
                None
            }
            TransactionEvent::Timeout { id } if ours(&id) => {
                let kind = self.in_flight.take().map(|f| f.kind);
                if kind == Some(Kind::Remove) {
                    self.etag = None;
                    self.events.push_back(PublishEvent::Removed);
                } else {
                    self.fail(now, 408, "the server did not answer".into(), None);
                }
                self.after(now, layer);
                None
            }
            other => Some(other),
        }
    }

    fn on_final(&mut self, now: Instant, layer: &mut TransactionLayer, r: &rsip::Response) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        let code = r.status_code.code();
        if (200..300).contains(&code) {
            self.failures = 0;
            self.precondition_failures = 0;
            if f.kind == Kind::Remove {
                self.etag = None;
                self.events.push_back(PublishEvent::Removed);
            } else {
                if let Some(e) = reqbuild::header(&r.headers, "SIP-ETag") {
                    self.etag = Some(e);
                }
                let secs = reqbuild::header(&r.headers, "Expires")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(u64::from(self.config.expires));
                let expires = Duration::from_secs(secs);
                // Refresh at about 80 % of the lifetime, at least 5 s before it ends.
                let lead = (expires / 5).max(Duration::from_secs(5)).min(expires / 2);
                self.refresh_at = Some(now + expires - lead);
                self.events.push_back(PublishEvent::Published { expires });
            }
            self.after(now, layer);
            return;
        }
        if (code == 401 || code == 407)
            && !f.authed
            && let Some(creds) = self.config.credentials.clone()
        {
            self.cseq += 1;
            let via = Via::new(self.config.transport, self.config.local).with_branch(&mut self.rng);
            let cnonce = self.rng.token();
            if let Some(req) =
                reqbuild::with_credentials(&f.request, r, &creds, &via, self.cseq, &cnonce)
                && let Ok(id) = layer.send_request(now, req.clone(), self.config.next_hop)
            {
                self.in_flight = Some(InFlight {
                    id,
                    kind: f.kind,
                    request: req,
                    authed: true,
                });
                return;
            }
        }
        if code == 412 && self.precondition_failures == 0 && self.body.is_some() {
            // §6 step 4: the server lost our state; publish the document afresh.
            self.precondition_failures += 1;
            self.etag = None;
            self.send(now, layer, Kind::Initial);
            return;
        }
        if code == 423
            && let Some(min) = reqbuild::header(&r.headers, "Min-Expires")
                .and_then(|v| v.trim().parse::<u32>().ok())
            && min > self.config.expires
        {
            self.config.expires = min;
            self.send(now, layer, f.kind);
            return;
        }
        if f.kind == Kind::Remove {
            self.etag = None;
            self.events.push_back(PublishEvent::Removed);
            return;
        }
        let retry_after = reqbuild::header(&r.headers, "Retry-After")
            .and_then(|v| v.split(';').next()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let reason = if is_transport_error(r) {
            "the network failed to carry the request".to_owned()
        } else {
            match code {
                405 | 489 | 501 => "the provider does not take presence publications".to_owned(),
                403 => "the provider does not allow you to publish presence".to_owned(),
                401 | 407 => "the provider refused the credentials".to_owned(),
                _ => format!("the provider refused it ({code})"),
            }
        };
        if code == 412 {
            self.etag = None;
        }
        self.fail(now, code, reason, retry_after);
    }

    /// Sends what changed while a request was out.
    fn after(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if !self.dirty || self.in_flight.is_some() {
            return;
        }
        self.dirty = false;
        match (&self.body, &self.etag) {
            (Some(_), Some(_)) => self.send(now, layer, Kind::Modify),
            (Some(_), None) => self.send(now, layer, Kind::Initial),
            (None, Some(_)) => self.send(now, layer, Kind::Remove),
            (None, None) => {}
        }
    }
}
