//! Registration client (RFC 3261 §10, RFC 3581, RFC 8760), sans-IO.
//!
//! One [`Registration`] per account. It builds REGISTER requests, which the driver sends
//! through a [`crate::transaction::TransactionLayer`], and reacts to the final responses and
//! transaction timeouts the driver hands back. It keeps the binding alive, answers digest
//! challenges, backs off on failure and follows the public address the registrar sees.
//!
//! ## Driving it
//! ```text
//! reg.register(now);
//! loop {
//!     while let Some(req) = reg.poll_request() { id = layer.send_request(now, req, server)? }
//!     while let Some(ev) = reg.poll_event()    { ui.show(ev) }
//!     // wake at min(reg.poll_timeout(), layer.poll_timeout(), socket input) and then one of:
//!     reg.handle_response(now, &final_response);  // TransactionEvent::Response for `id`, ≥ 200
//!     reg.handle_transaction_timeout(now);        // TransactionEvent::Timeout for `id`
//!     reg.handle_transport_error(now, "why");      // the REGISTER could not be sent
//!     reg.handle_timeout(now);                    // reg.poll_timeout() passed
//!     reg.migrate_flow(now, local, transport);    // reconnected, maybe elsewhere
//! }
//! ```
//!
//! ## Policy (issue 3; lessons from the field)
//! - Ask for `expires` (default 600 s, never below 60 s); honour what the server grants;
//!   `423` raises the request to the server's `Min-Expires` (§10.2.8).
//! - Refresh `refresh_margin` before expiry (at most half the granted time early).
//! - A second non-stale challenge for a realm we already answered means the credentials are
//!   wrong: stop and say so, rather than hammer the server and get banned.
//! - Timeouts, transport errors, 5xx, 403 and other failures retry with exponential back-off
//!   and jitter, capped at 30 minutes; `Retry-After` is honoured within the cap. A transport
//!   error is told apart from the server's answer (RFC 3261 §8.1.3.1): the network failed,
//!   the server may be fine.
//! - One Call-ID for the whole life of the `Registration`, CSeq counting up across refreshes,
//!   flows and addresses (§10.2.4: the same Call-ID for all registrations of a boot cycle).
//! - RFC 5626 outbound when configured: `+sip.instance`/`reg-id`/`;ob`; whether the registrar
//!   took it (`Require: outbound` in the 2xx, §6) and its `Flow-Timer` tell the driver how to
//!   keep the flow alive (§4.4).
//! - `rport` in every Via (RFC 3581); when the 2xx's Via shows a different public address, the
//!   Contact is corrected and the old binding removed in the same REGISTER.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rsip::prelude::*;

use crate::auth::{Challenge, Credentials, DigestSession, select_challenge};
use crate::message::header_param;
use crate::rng::Rng;
use crate::transaction::TransportKind;
use crate::validate::parse_cseq;

/// Errors from setting up a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The account settings do not make a valid REGISTER.
    #[error("invalid account settings: {0}")]
    InvalidConfig(String),
}

/// What one account registers.
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// The registrar's URI, the Request-URI (e.g. `sip:example.com`).
    pub registrar: String,
    /// The address of record, for From and To (e.g. `sip:alice@example.com`).
    pub aor: String,
    /// Digest credentials, if the server asks.
    pub credentials: Option<Credentials>,
    /// Requested binding lifetime in seconds (raised to at least [`MIN_EXPIRES`]).
    pub expires: u32,
    /// Our local address, for Via and the first Contact.
    pub local: SocketAddr,
    /// Transport towards the registrar.
    pub transport: TransportKind,
    /// How long before expiry to refresh (capped at half the granted time).
    pub refresh_margin: Duration,
    /// First back-off delay after a failure.
    pub backoff_base: Duration,
    /// Longest back-off delay.
    pub backoff_cap: Duration,
    /// `User-Agent` value.
    pub user_agent: String,
    /// RFC 5626 outbound: the instance URN (`urn:uuid:…`, stable per installation) and
    /// `reg-id`. When set, the Contact carries `+sip.instance`/`reg-id` and `;ob`, and we
    /// announce `Supported: path, outbound`; the registrar's support is reported in
    /// [`RegistrationEvent::Registered`].
    pub outbound: Option<(String, u32)>,
}

/// The shortest binding we ask for (issue 3: never re-register faster than every 60 s).
pub const MIN_EXPIRES: u32 = 60;

impl RegistrationConfig {
    /// Settings with the defaults: 600 s, 40 s margin, back-off from 30 s up to 30 min.
    pub fn new(registrar: &str, aor: &str, local: SocketAddr, transport: TransportKind) -> Self {
        Self {
            registrar: registrar.to_owned(),
            aor: aor.to_owned(),
            credentials: None,
            expires: 600,
            local,
            transport,
            // Longer than Timer F (32 s), so a lost refresh can still be retried in time.
            refresh_margin: Duration::from_secs(40),
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(30 * 60),
            user_agent: "Homeline".into(),
            outbound: None,
        }
    }
}

/// Why a registration attempt failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The server rejected our credentials twice for this realm.
    WrongCredentials {
        /// The realm the credentials were for.
        realm: String,
    },
    /// The server asked for credentials and none are configured.
    CredentialsRequired {
        /// The realm asked for.
        realm: String,
    },
    /// The server's challenges use only algorithms we do not support.
    UnsupportedChallenge,
    /// No final response (Timer F).
    Timeout,
    /// The REGISTER could not be sent or its flow failed before an answer (§8.1.3.1: the
    /// transaction layer's transport error); the text says what the network reported.
    Transport(String),
    /// The server refused (403).
    Forbidden,
    /// Any other final response of the server (5xx, 4xx, 6xx).
    Rejected {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// `423` without a usable Min-Expires, or repeated `423`s.
    IntervalTooBrief,
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongCredentials { realm } => write!(
                f,
                "wrong user name or password (realm \"{realm}\"); check the account settings"
            ),
            Self::CredentialsRequired { realm } => write!(
                f,
                "the server asks for a user name and password (realm \"{realm}\") and none is set"
            ),
            Self::UnsupportedChallenge => write!(
                f,
                "the server asks for an authentication method Homeline does not support"
            ),
            Self::Timeout => write!(
                f,
                "the server did not answer; it may be down, or a firewall may block the port"
            ),
            Self::Forbidden => write!(f, "the server refused the registration (403 Forbidden)"),
            Self::Transport(detail) => write!(
                f,
                "the network failed ({detail}) before the server could answer; check the \
                 connection (the server itself may be fine)"
            ),
            Self::Rejected { code, reason } => {
                write!(f, "the server answered {code} {reason}")
            }
            Self::IntervalTooBrief => write!(
                f,
                "the server and Homeline could not agree on a registration interval"
            ),
        }
    }
}

/// What the registration reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationEvent {
    /// The binding is active until `expires` from now.
    Registered {
        /// Granted lifetime.
        expires: Duration,
        /// The Contact that is registered.
        contact: String,
        /// The registrar supports RFC 5626 outbound for this flow (`Require: outbound` in
        /// the 2xx, §6): keep-alives on this flow are then meaningful to it.
        outbound: bool,
    },
    /// An attempt failed. `retry_in` is `None` when we stopped (wrong credentials …).
    Failed {
        /// What went wrong.
        reason: FailureReason,
        /// Plain-language summary naming server and transport.
        message: String,
        /// When the next attempt is made.
        retry_in: Option<Duration>,
    },
    /// The registrar sees us at a different address (NAT); the Contact was corrected.
    PublicAddressChanged {
        /// The address the registrar saw.
        public: SocketAddr,
    },
    /// The binding was removed (unregister completed, or failed: it will expire anyway).
    Unregistered,
}

/// Where the registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not started or unregistered.
    Idle,
    /// A REGISTER is outstanding.
    Registering,
    /// Registered; a refresh is due at `refresh_at`.
    Registered {
        /// When the refresh REGISTER goes out.
        refresh_at: Instant,
    },
    /// Waiting to retry after a failure.
    Backoff {
        /// When the next attempt goes out.
        retry_at: Instant,
    },
    /// Stopped after an error a retry cannot fix (wrong credentials …).
    Stopped,
    /// An unregister is outstanding.
    Unregistering,
}

/// One account's registration. See the [module docs](self).
#[derive(Debug)]
pub struct Registration {
    config: RegistrationConfig,
    rng: Rng,
    call_id: String,
    from_tag: String,
    cseq: u32,
    state: RegistrationState,
    expires: u32,
    contact_addr: SocketAddr,
    /// Previous Contact URIs (`<sip:…>`) to remove in the next REGISTER (after a
    /// public-address change or a move to another flow), until a 2xx confirms it.
    stale_contacts: Vec<String>,
    /// The last 2xx had `Require: outbound` (RFC 5626 §6).
    outbound_supported: bool,
    /// The last 2xx's `Flow-Timer` (RFC 5626 §4.4).
    flow_timer: Option<Duration>,
    digest: Option<DigestSession>,
    /// Realm whose challenge we answered during the current attempt.
    answered_realm: Option<String>,
    stale_retries: u32,
    brief_retries: u32,
    failures: u32,
    outgoing: Option<rsip::Request>,
    outstanding_cseq: Option<u32>,
    events: std::collections::VecDeque<RegistrationEvent>,
}

impl Registration {
    /// A registration for `config`; `seed` feeds tags, branches, nonces and jitter.
    pub fn new(mut config: RegistrationConfig, seed: u64) -> Result<Self, RegisterError> {
        for (what, uri) in [("registrar", &config.registrar), ("aor", &config.aor)] {
            if rsip::Uri::try_from(uri.as_str()).is_err() || !uri.contains(':') {
                return Err(RegisterError::InvalidConfig(format!("{what} '{uri}'")));
            }
        }
        config.expires = config.expires.max(MIN_EXPIRES);
        let mut rng = Rng::new(seed);
        let call_id = format!("{}{}", rng.token(), rng.token());
        let from_tag = rng.token();
        let mut reg = Self {
            expires: config.expires,
            contact_addr: config.local,
            config,
            rng,
            call_id,
            from_tag,
            cseq: 0,
            state: RegistrationState::Idle,
            stale_contacts: Vec::new(),
            outbound_supported: false,
            flow_timer: None,
            digest: None,
            answered_realm: None,
            stale_retries: 0,
            brief_retries: 0,
            failures: 0,
            outgoing: None,
            outstanding_cseq: None,
            events: Default::default(),
        };
        // Validate that a REGISTER can be built from these settings.
        reg.build(reg.expires)?;
        reg.cseq = 0;
        Ok(reg)
    }

    /// Current state.
    pub fn state(&self) -> RegistrationState {
        self.state
    }

    /// The expiry we currently ask for.
    pub fn requested_expires(&self) -> u32 {
        self.expires
    }

    /// The address we currently register as Contact.
    pub fn contact_addr(&self) -> SocketAddr {
        self.contact_addr
    }

    /// The Call-ID of every REGISTER this registration sends (RFC 3261 §10.2.4: one per
    /// boot cycle, kept across refreshes, flows and address changes).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The CSeq number of the last REGISTER built (0 before the first).
    pub fn cseq(&self) -> u32 {
        self.cseq
    }

    /// The transport of the current flow (Via and Contact).
    pub fn transport(&self) -> TransportKind {
        self.config.transport
    }

    /// The local address of the current flow (Via).
    pub fn local_addr(&self) -> SocketAddr {
        self.config.local
    }

    /// True when the last 2xx showed that the registrar applies RFC 5626 outbound to our
    /// flow (`Require: outbound`, §6; only when [`RegistrationConfig::outbound`] is set).
    /// Keep-alives on the flow are then answered (§4.4): STUN on UDP, CRLF on streams.
    /// Forgotten when the flow changes, until the next 2xx.
    pub fn outbound_supported(&self) -> bool {
        self.outbound_supported
    }

    /// The registrar's `Flow-Timer` from the last 2xx (RFC 5626 §4.4: send keep-alives at
    /// least that often), if it sent one.
    pub fn flow_timer(&self) -> Option<Duration> {
        self.flow_timer
    }

    /// Starts (or restarts, e.g. after a network change) registering now.
    pub fn register(&mut self, _now: Instant) {
        self.failures = 0;
        self.start_attempt();
    }

    /// The local address changed (interface added or removed, VPN up or down): register at
    /// once from `local`, removing the binding of the old Contact in the same REGISTER.
    /// Any public address learned from `received`/`rport` is forgotten: the new path may see
    /// a different one, and the next 2xx will tell.
    pub fn network_changed(&mut self, now: Instant, local: SocketAddr) {
        self.set_flow(local, self.config.transport);
        self.register(now);
    }

    /// The flow to the registrar changed: the driver reconnected (after a flow failure,
    /// RFC 5626 §4.4, or a failover to another transport) or the local address moved.
    /// Keeps the Call-ID and continues the CSeq (RFC 3261 §10.2.4), puts `local` and
    /// `transport` in Via and Contact, and registers at once, removing the binding of the
    /// old Contact in the same REGISTER when it differs (with outbound the registrar
    /// replaces the flow of our `reg-id` anyway, RFC 5626 §6). The public address learned
    /// from `received`/`rport` is forgotten until the next 2xx, and so is the registrar's
    /// outbound support.
    ///
    /// Idle or stopped (an error a retry cannot fix, such as a wrong password): the new flow
    /// is only remembered for the next [`register`](Self::register). During an unregister,
    /// the unregister is sent again on the new flow.
    pub fn migrate_flow(&mut self, now: Instant, local: SocketAddr, transport: TransportKind) {
        self.set_flow(local, transport);
        match self.state {
            RegistrationState::Idle | RegistrationState::Stopped => {}
            RegistrationState::Unregistering => self.unregister(now),
            RegistrationState::Registering
            | RegistrationState::Registered { .. }
            | RegistrationState::Backoff { .. } => self.register(now),
        }
    }

    fn set_flow(&mut self, local: SocketAddr, transport: TransportKind) {
        let old = self.contact_uri(self.contact_addr);
        self.config.local = local;
        self.config.transport = transport;
        self.contact_addr = local;
        // Only a Contact we may have registered (a REGISTER went out) needs removing.
        if self.cseq > 0 {
            self.mark_stale(old);
        }
        self.outbound_supported = false;
        self.flow_timer = None;
    }

    /// Removes the binding (expires=0, §10.2.2).
    pub fn unregister(&mut self, _now: Instant) {
        if matches!(
            self.state,
            RegistrationState::Idle | RegistrationState::Stopped
        ) {
            return;
        }
        self.answered_realm = None;
        self.state = RegistrationState::Unregistering;
        self.send(0);
    }

    /// The next REGISTER to send through the transaction layer. Call after every mutation.
    pub fn poll_request(&mut self) -> Option<rsip::Request> {
        self.outgoing.take()
    }

    /// The next event for the UI. Call after every mutation.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            RegistrationState::Registered { refresh_at } => Some(refresh_at),
            RegistrationState::Backoff { retry_at } => Some(retry_at),
            _ => None,
        }
    }

    /// Refresh or retry when their time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            RegistrationState::Registered { refresh_at } if refresh_at <= now => {
                self.start_attempt()
            }
            RegistrationState::Backoff { retry_at } if retry_at <= now => self.start_attempt(),
            _ => {}
        }
    }

    /// The REGISTER transaction timed out (Timer F).
    pub fn handle_transaction_timeout(&mut self, now: Instant) {
        if self.outstanding_cseq.take().is_none() {
            return;
        }
        if self.state == RegistrationState::Unregistering {
            self.finish_unregister();
            return;
        }
        self.fail(now, FailureReason::Timeout, None);
    }

    /// The REGISTER in flight could not be sent, or its flow failed before the answer
    /// (RFC 3261 §8.1.3.1, §17.1.4): fails with [`FailureReason::Transport`] and retries
    /// with back-off (move to a new flow first with [`migrate_flow`](Self::migrate_flow)
    /// when the driver reconnects). `reason` is what the network said ("connection
    /// refused"). The transaction layer's synthesised 503 for the same REGISTER, fed to
    /// [`handle_response`](Self::handle_response) afterwards, is then ignored; fed alone it
    /// has the same effect with a generic reason. Ignored when no REGISTER is in flight.
    pub fn handle_transport_error(&mut self, now: Instant, reason: &str) {
        if self.outstanding_cseq.take().is_none() {
            return;
        }
        if self.state == RegistrationState::Unregistering {
            self.finish_unregister();
            return;
        }
        let reason = if reason.trim().is_empty() {
            "the request could not be sent".to_owned()
        } else {
            reason.trim().to_owned()
        };
        self.fail(now, FailureReason::Transport(reason), None);
    }

    /// A final response to our REGISTER (provisional ones are ignored).
    pub fn handle_response(&mut self, now: Instant, response: &rsip::Response) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        // Only the answer to the outstanding request counts (§10.2.4 uses CSeq ordering).
        let cseq = response
            .cseq_header()
            .ok()
            .and_then(|c| parse_cseq(c.value()).ok())
            .map(|(n, _)| n);
        let call_id_ok = response
            .call_id_header()
            .is_ok_and(|c| c.value() == self.call_id);
        if !call_id_ok || cseq.is_none() || cseq != self.outstanding_cseq {
            return;
        }
        if crate::transaction::is_transport_error(response) {
            self.handle_transport_error(now, "");
            return;
        }
        self.outstanding_cseq = None;
        let unregistering = self.state == RegistrationState::Unregistering;
        match code {
            200..=299 if unregistering => self.finish_unregister(),
            200..=299 => self.on_success(now, response),
            401 | 407 => self.on_challenge(now, response),
            423 if !unregistering => self.on_interval_too_brief(now, response),
            _ if unregistering => self.finish_unregister(),
            403 => self.fail(now, FailureReason::Forbidden, retry_after(response)),
            _ => self.fail(
                now,
                FailureReason::Rejected {
                    code,
                    reason: reason_phrase(response),
                },
                retry_after(response),
            ),
        }
    }

    fn mark_stale(&mut self, contact: String) {
        if contact != self.contact_uri(self.contact_addr) && !self.stale_contacts.contains(&contact)
        {
            self.stale_contacts.push(contact);
        }
        // The current Contact is not stale (a move back to an earlier flow).
        let current = self.contact_uri(self.contact_addr);
        self.stale_contacts.retain(|c| *c != current);
    }

    fn start_attempt(&mut self) {
        self.answered_realm = None;
        self.stale_retries = 0;
        self.brief_retries = 0;
        self.state = RegistrationState::Registering;
        self.send(self.expires);
    }

    fn send(&mut self, expires: u32) {
        match self.build(expires) {
            Ok(req) => {
                self.outstanding_cseq = Some(self.cseq);
                self.outgoing = Some(req);
            }
            Err(e) => {
                // Cannot happen after `new` validated the settings, but never panic.
                tracing::error!("cannot build REGISTER: {e}");
                self.state = RegistrationState::Stopped;
            }
        }
    }

    fn transport_param(&self) -> &'static str {
        match self.config.transport {
            TransportKind::Udp => "",
            TransportKind::Tcp => ";transport=tcp",
            TransportKind::Tls => ";transport=tls",
            TransportKind::Ws => ";transport=ws",
            TransportKind::Wss => ";transport=wss",
        }
    }

    fn contact_uri(&self, addr: SocketAddr) -> String {
        let user = rsip::Uri::try_from(self.config.aor.as_str())
            .ok()
            .and_then(|u| u.user().map(str::to_owned));
        let host = match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        let ob = if self.config.outbound.is_some() {
            ";ob"
        } else {
            ""
        };
        format!(
            "<sip:{user}{host}:{}{}{ob}>",
            addr.port(),
            self.transport_param()
        )
    }

    /// Contact header parameters for RFC 5626 §4.2.
    fn outbound_params(&self) -> String {
        match &self.config.outbound {
            Some((instance, reg_id)) => format!(";+sip.instance=\"<{instance}>\";reg-id={reg_id}"),
            None => String::new(),
        }
    }

    fn build(&mut self, expires: u32) -> Result<rsip::Request, RegisterError> {
        self.cseq += 1;
        let branch = format!("{}{}", crate::transaction::MAGIC_COOKIE, self.rng.token());
        let local = self.config.local;
        let via_host = match local.ip() {
            IpAddr::V4(ip) => format!("{ip}:{}", local.port()),
            IpAddr::V6(ip) => format!("[{ip}]:{}", local.port()),
        };
        let mut contacts = vec![format!(
            "{}{};expires={expires}",
            self.contact_uri(self.contact_addr),
            self.outbound_params()
        )];
        // Also when unregistering: after a move the old binding is the one still held.
        for old in &self.stale_contacts {
            contacts.push(format!("{old};expires=0"));
        }
        let mut text = format!(
            "REGISTER {registrar} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {via_host};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag={tag}\r\n\
             To: <{aor}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: {contacts}\r\n\
             Expires: {expires}\r\n\
             User-Agent: {ua}\r\n{supported}",
            registrar = self.config.registrar,
            transport = self.config.transport.via_token(),
            aor = self.config.aor,
            tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
            contacts = contacts.join(", "),
            ua = self.config.user_agent,
            supported = if self.config.outbound.is_some() {
                "Supported: path, outbound\r\n"
            } else {
                ""
            },
        );
        if let (Some(session), Some(creds)) = (&mut self.digest, &self.config.credentials) {
            let cnonce = self.rng.token();
            let auth = session.authorize(creds, "REGISTER", &self.config.registrar, &cnonce, b"");
            let name = if auth.proxy {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            text.push_str(&format!("{name}: {}\r\n", auth.to_header_value()));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        match crate::receive_datagram(text.as_bytes()) {
            crate::Inbound::Request(r) => Ok(r),
            crate::Inbound::Reject(r) => Err(RegisterError::InvalidConfig(r.error.to_string())),
            other => Err(RegisterError::InvalidConfig(format!("{other:?}"))),
        }
    }

    fn on_success(&mut self, now: Instant, response: &rsip::Response) {
        self.failures = 0;
        self.answered_realm = None;
        // NAT: what address did the registrar see (RFC 3581 §4)?
        if let Some(public) = public_address(response)
            && public != self.contact_addr
        {
            let old = self.contact_uri(self.contact_addr);
            self.contact_addr = public;
            self.mark_stale(old);
            self.events
                .push_back(RegistrationEvent::PublicAddressChanged { public });
            self.start_attempt();
            return;
        }
        self.stale_contacts.clear();
        let granted =
            granted_expires(response, &self.contact_uri(self.contact_addr)).unwrap_or(self.expires);
        if granted == 0 {
            self.fail(
                now,
                FailureReason::Rejected {
                    code: response.status_code.code(),
                    reason: "binding granted for 0 seconds".into(),
                },
                None,
            );
            return;
        }
        let granted = Duration::from_secs(u64::from(granted));
        let margin = self.config.refresh_margin.min(granted / 2);
        self.state = RegistrationState::Registered {
            refresh_at: now + granted - margin,
        };
        // RFC 5626 §6: a registrar that applied outbound to this binding says so with
        // `Require: outbound` in the 2xx (a `Supported` would only say it could).
        let outbound = self.config.outbound.is_some()
            && response.headers.iter().any(|h| match h {
                rsip::Header::Require(r) => r
                    .value()
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("outbound")),
                _ => false,
            });
        self.outbound_supported = outbound;
        self.flow_timer = flow_timer(response);
        self.events.push_back(RegistrationEvent::Registered {
            expires: granted,
            contact: self.contact_uri(self.contact_addr),
            outbound,
        });
    }

    fn on_challenge(&mut self, now: Instant, response: &rsip::Response) {
        let challenges = Challenge::from_response(response);
        let Some(challenge) = select_challenge(&challenges).cloned() else {
            self.stop(now, FailureReason::UnsupportedChallenge);
            return;
        };
        let Some(_) = &self.config.credentials else {
            self.stop(
                now,
                FailureReason::CredentialsRequired {
                    realm: challenge.realm,
                },
            );
            return;
        };
        if self.answered_realm.as_deref() == Some(challenge.realm.as_str()) {
            // We already answered this realm in this attempt. A stale nonce is fine
            // (RFC 7616 §3.3); a fresh challenge means the password was wrong.
            if !challenge.stale || self.stale_retries >= 3 {
                self.digest = None;
                self.stop(
                    now,
                    FailureReason::WrongCredentials {
                        realm: challenge.realm,
                    },
                );
                return;
            }
            self.stale_retries += 1;
        }
        self.answered_realm = Some(challenge.realm.clone());
        self.digest = Some(DigestSession::new(challenge));
        let expires = if self.state == RegistrationState::Unregistering {
            0
        } else {
            self.expires
        };
        self.send(expires);
    }

    fn on_interval_too_brief(&mut self, now: Instant, response: &rsip::Response) {
        // §10.2.8: retry with at least Min-Expires. One day is a sane upper bound.
        let min = response.headers.iter().find_map(|h| match h {
            rsip::Header::MinExpires(m) => m.value().trim().parse::<u32>().ok(),
            _ => None,
        });
        match min {
            Some(m) if m > self.expires && m <= 86_400 && self.brief_retries < 2 => {
                self.brief_retries += 1;
                self.expires = m;
                self.send(m);
            }
            _ => self.fail(now, FailureReason::IntervalTooBrief, None),
        }
    }

    fn backoff_delay(&mut self) -> Duration {
        // Exponential: base·2^(n-1), capped; "equal jitter": half fixed, half random, so
        // many clients that failed together do not retry together.
        let exp = self.failures.saturating_sub(1).min(20);
        let full = self
            .config
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.config.backoff_cap);
        let half_ms = u64::try_from(full.as_millis() / 2).unwrap_or(u64::MAX);
        Duration::from_millis(half_ms + self.rng.below(half_ms + 1))
    }

    fn fail(&mut self, now: Instant, reason: FailureReason, retry_after: Option<Duration>) {
        self.failures += 1;
        let mut delay = self.backoff_delay();
        if let Some(ra) = retry_after {
            delay = delay.max(ra).min(self.config.backoff_cap);
        }
        self.state = RegistrationState::Backoff {
            retry_at: now + delay,
        };
        let message = self.describe(&reason);
        self.events.push_back(RegistrationEvent::Failed {
            reason,
            message,
            retry_in: Some(delay),
        });
    }

    fn stop(&mut self, _now: Instant, reason: FailureReason) {
        let unregistering = self.state == RegistrationState::Unregistering;
        self.state = RegistrationState::Stopped;
        let message = self.describe(&reason);
        self.events.push_back(RegistrationEvent::Failed {
            reason,
            message,
            retry_in: None,
        });
        if unregistering {
            self.events.push_back(RegistrationEvent::Unregistered);
        }
    }

    fn finish_unregister(&mut self) {
        self.outstanding_cseq = None;
        self.state = RegistrationState::Idle;
        self.events.push_back(RegistrationEvent::Unregistered);
    }

    fn describe(&self, reason: &FailureReason) -> String {
        format!(
            "Registration at {} over {} failed: {reason}",
            self.config.registrar,
            self.config.transport.via_token()
        )
    }
}

fn reason_phrase(response: &rsip::Response) -> String {
    match &response.status_code {
        rsip::StatusCode::Other(_, reason) => reason.clone(),
        other => {
            // rsip prints known codes as "503 ServiceUnavailable"; keep the words.
            let s = other.to_string();
            s.split_once(' ').map_or(s.clone(), |(_, r)| r.to_owned())
        }
    }
}

fn retry_after(response: &rsip::Response) -> Option<Duration> {
    response.headers.iter().find_map(|h| match h {
        rsip::Header::RetryAfter(r) => r
            .value()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs),
        _ => None,
    })
}

/// The `Flow-Timer` of a 2xx (RFC 5626 §4.4, §10.1: seconds), if present and sane.
fn flow_timer(response: &rsip::Response) -> Option<Duration> {
    response.headers.iter().find_map(|h| match h {
        rsip::Header::Other(name, value) if name.trim().eq_ignore_ascii_case("Flow-Timer") => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        _ => None,
    })
}

/// `received` and `rport` of the top Via of a response (RFC 3581 §4).
fn public_address(response: &rsip::Response) -> Option<SocketAddr> {
    let via = response.via_header().ok()?.value().to_owned();
    let received: IpAddr = header_param(&via, "received")?
        .trim_matches(['[', ']'])
        .parse()
        .ok()?;
    let port: u16 = header_param(&via, "rport")?.parse().ok()?;
    Some(SocketAddr::new(received, port))
}

/// The lifetime granted for our contact: its `expires` param in the 2xx's Contact list,
/// else the Expires header (§10.2.4).
fn granted_expires(response: &rsip::Response, our_contact: &str) -> Option<u32> {
    let ours = our_contact.trim_matches(['<', '>']).to_ascii_lowercase();
    let from_contact = response.headers.iter().find_map(|h| match h {
        rsip::Header::Contact(c) => {
            let v = c.value();
            let uri = v
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(u, _)| u.to_ascii_lowercase())?;
            (uri == ours)
                .then(|| header_param(v, "expires").and_then(|e| e.parse().ok()))
                .flatten()
        }
        _ => None,
    });
    from_contact.or_else(|| {
        response.headers.iter().find_map(|h| match h {
            rsip::Header::Expires(e) => e.value().trim().parse().ok(),
            _ => None,
        })
    })
}
