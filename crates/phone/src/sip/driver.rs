//! The registration driver: one tokio task per account (DESIGN.md convention 2).
//!
//! It locates the server (RFC 3263), opens a [`Flow`], and drives three sans-IO cores on it —
//! the [`Registration`] client, the [`TransactionLayer`] and the [`KeepAlive`] — with the
//! discipline of the sip crate: feed one input with `now`, drain every core until nothing
//! moves, then sleep until the earliest `poll_timeout()` or the next input.
//!
//! Failover (RFC 3263 §4.3): while the first REGISTER on a target gets no answer (Timer F)
//! or a `503`, the next target is tried. A flow that dies (connection closed, no keep-alive
//! pong, RFC 5626 §4.4.1) is reopened and the account registers again at once.
//! Unregistering on shutdown waits at most [`UNREGISTER_LIMIT`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_sip::auth::Credentials;
use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
use homeline_sip::framing::PONG;
use homeline_sip::keepalive::{KeepAlive, KeepAliveEvent};
use homeline_sip::register::{FailureReason, Registration, RegistrationConfig, RegistrationEvent};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionId, TransactionLayer, TransportKind,
    response_for,
};
use homeline_sip::{Inbound, rng::Rng};
use tokio::sync::{broadcast, mpsc, watch};

use super::clock::Clock;
use super::commands::{CallCommand, SignallingAddress, execute};
use super::resolve::{Dns, ServerUri, Target, locate};
use super::status::{RegistrationState, RegistrationStatus, failure_reason};
use super::transport::{Flow, FlowEvent, TransportOptions};
use crate::api::UiError;

/// The longest we wait for the answer to the unregister when shutting down.
pub const UNREGISTER_LIMIT: Duration = Duration::from_secs(5);

/// Everything one account's driver needs to know.
#[derive(Debug, Clone)]
pub struct AccountSetup {
    /// The account id.
    pub account_id: String,
    /// The address of record (`sip:alice@example.com`).
    pub aor: String,
    /// The registrar URI.
    pub registrar: String,
    /// Digest credentials.
    pub credentials: Option<Credentials>,
    /// `None` = automatic (RFC 3263).
    pub transport: Option<TransportKind>,
    /// Requested registration lifetime in seconds.
    pub expires: u32,
    /// Keep-alive interval; `None` = off.
    pub keepalive: Option<Duration>,
    /// How flows are opened.
    pub transport_options: TransportOptions,
    /// RFC 3261 timer values.
    pub timers: TimerConfig,
}

/// A request that arrived for an account (today: answered at once, see [`Session`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRequest {
    /// The account it arrived on.
    pub account_id: String,
    /// The method.
    pub method: String,
    /// The From header.
    pub from: String,
    /// The Call-ID.
    pub call_id: String,
    /// The status we answered with.
    pub answered: u16,
}

/// A call event of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCall {
    /// The account.
    pub account_id: String,
    /// What happened.
    pub event: CallEvent,
}

/// Shared services of the drivers.
#[derive(Debug, Clone)]
pub struct DriverDeps {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// DNS for RFC 3263.
    pub dns: Arc<dyn Dns>,
    /// Every status change of every account.
    pub changes: broadcast::Sender<RegistrationStatus>,
    /// Incoming requests of every account.
    pub incoming: broadcast::Sender<IncomingRequest>,
    /// Call events of every account.
    pub calls: broadcast::Sender<AccountCall>,
}

/// Back-off for failures below the registration core (DNS, connecting): 2 s doubling to
/// 30 min, with "equal jitter" so clients that failed together do not retry together.
#[derive(Debug)]
struct Backoff {
    failures: u32,
    rng: Rng,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        self.failures += 1;
        let exp = (self.failures - 1).min(12);
        let full = Duration::from_secs(2u64 << exp).min(Duration::from_secs(30 * 60));
        let half = u64::try_from(full.as_millis() / 2).unwrap_or(u64::MAX);
        Duration::from_millis(half + self.rng.below(half + 1))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

enum SessionEnd {
    /// Try the next target with this reason.
    Failover(UiError),
    /// The flow died; reopen it.
    Lost(UiError),
    /// A failure retrying cannot fix was reported: wait for shutdown.
    Stopped,
    /// Shut down (after unregistering).
    Shutdown,
}

/// One account's driver task.
pub struct Driver {
    setup: AccountSetup,
    deps: DriverDeps,
    status: watch::Sender<RegistrationStatus>,
    shutdown: watch::Receiver<bool>,
    seed: u64,
    backoff: Backoff,
    commands: mpsc::UnboundedReceiver<CallCommand>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("account", &self.setup.account_id)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver; run it with [`Driver::run`]. `shutdown` set to `true` makes it unregister
    /// and end.
    pub fn new(
        setup: AccountSetup,
        deps: DriverDeps,
        status: watch::Sender<RegistrationStatus>,
        shutdown: watch::Receiver<bool>,
        seed: u64,
        commands: mpsc::UnboundedReceiver<CallCommand>,
    ) -> Self {
        Self {
            setup,
            deps,
            status,
            shutdown,
            seed,
            commands,
            backoff: Backoff {
                failures: 0,
                rng: Rng::new(seed ^ 0x5eed),
            },
        }
    }

    fn publish(&self, f: impl FnOnce(&mut RegistrationStatus)) {
        let mut changed = None;
        let mut state_changed = false;
        self.status.send_if_modified(|s| {
            let before = s.clone();
            f(s);
            state_changed = s.state != before.state;
            if *s != before {
                changed = Some(s.clone());
                true
            } else {
                false
            }
        });
        if let Some(s) = changed {
            // Outcomes go to the app log (what support reads); the steps in between only at
            // debug level.
            let outcome = state_changed
                && matches!(
                    s.state,
                    RegistrationState::Registered
                        | RegistrationState::Failed
                        | RegistrationState::Stopped
                );
            match (&s.reason, outcome) {
                (Some(r), true) if s.state != RegistrationState::Registered => {
                    tracing::info!(account = %s.account_id, state = ?s.state,
                        retry_in_secs = ?s.retry_in_secs, "registration failed: {}", r.message);
                }
                (_, true) => tracing::info!(account = %s.account_id,
                    server = s.server.as_deref().unwrap_or_default(),
                    expires_secs = ?s.expires_secs, "registered"),
                (_, false) => tracing::debug!(account = %s.account_id, state = ?s.state,
                    server = ?s.server, "registration"),
            }
            // No receiver is fine: nobody listens yet.
            let _ = self.deps.changes.send(s);
        }
    }

    fn fail(&self, reason: UiError, retry_in: Option<Duration>) {
        self.publish(|s| {
            s.state = if retry_in.is_some() {
                RegistrationState::Failed
            } else {
                RegistrationState::Stopped
            };
            s.reason = Some(reason);
            s.expires_secs = None;
            s.retry_in_secs = retry_in.map(|d| d.as_secs());
        });
    }

    fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sleeps `d`, or less when shutdown is asked; `true` when shutting down.
    async fn sleep_or_shutdown(&mut self, d: Duration) -> bool {
        if self.shutting_down() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.shutting_down(),
            _ = self.shutdown.changed() => true,
        }
    }

    async fn wait_shutdown(&mut self) {
        while !self.shutting_down() {
            if self.shutdown.changed().await.is_err() {
                return;
            }
        }
    }

    /// Runs until shutdown.
    pub async fn run(mut self) {
        let uri = match ServerUri::parse(&self.setup.registrar) {
            Ok(u) => u,
            Err(e) => {
                self.fail(
                    UiError::new(
                        "bad_registrar",
                        capitalise(&e.to_string()),
                        "Correct the registrar in the account settings.",
                    ),
                    None,
                );
                self.wait_shutdown().await;
                return;
            }
        };
        loop {
            if self.shutting_down() {
                self.publish(|s| s.state = RegistrationState::Unregistered);
                return;
            }
            self.publish(|s| {
                s.state = RegistrationState::Registering;
                s.retry_in_secs = None;
            });
            let targets = match locate(self.deps.dns.as_ref(), &uri, self.setup.transport).await {
                Ok(t) => t,
                Err(e) => {
                    let delay = self.backoff.next();
                    self.fail(
                        UiError::new(
                            "server_not_found",
                            capitalise(&e.to_string()),
                            "Check the registrar's name in the account settings and the \
                             internet connection.",
                        ),
                        Some(delay),
                    );
                    if self.sleep_or_shutdown(delay).await {
                        return;
                    }
                    continue;
                }
            };
            let mut last_reason = None;
            let mut lost = None;
            for (i, target) in targets.iter().enumerate() {
                let more = i + 1 < targets.len();
                let flow = match Flow::connect(target, &self.setup.transport_options).await {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::debug!(account = %self.setup.account_id, target = %target.describe(),
                            error = %e, "could not open flow");
                        last_reason = Some(transport_ui_error(&e.to_string(), target));
                        continue;
                    }
                };
                self.publish(|s| s.server = Some(target.describe()));
                match self.session(flow, more).await {
                    SessionEnd::Failover(reason) => last_reason = Some(reason),
                    SessionEnd::Lost(reason) => {
                        lost = Some(reason);
                        break;
                    }
                    SessionEnd::Stopped => {
                        self.wait_shutdown().await;
                        return;
                    }
                    SessionEnd::Shutdown => return,
                }
            }
            let reason = lost.or(last_reason).unwrap_or_else(|| {
                UiError::new(
                    "server_not_found",
                    "No server address to try.",
                    "Check the registrar in the account settings.",
                )
            });
            let delay = self.backoff.next();
            self.fail(reason, Some(delay));
            if self.sleep_or_shutdown(delay).await {
                self.publish(|s| s.state = RegistrationState::Unregistered);
                return;
            }
        }
    }

    async fn session(&mut self, flow: Flow, more_targets: bool) -> SessionEnd {
        let now = self.deps.clock.now();
        let target = flow.target().clone();
        let target_transport = target.transport;
        let mut config = RegistrationConfig::new(
            &self.setup.registrar,
            &self.setup.aor,
            flow.local(),
            target.transport,
        );
        config.credentials = self.setup.credentials.clone();
        config.expires = self.setup.expires;
        config.user_agent = format!("Homeline/{}", crate::VERSION);
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let reg = match Registration::new(config, self.seed) {
            Ok(r) => r,
            Err(e) => {
                self.fail(
                    UiError::new(
                        "invalid_account",
                        capitalise(&e.to_string()),
                        "Correct the SIP address and registrar in the account settings.",
                    ),
                    None,
                );
                return SessionEnd::Stopped;
            }
        };
        let mut call_config = CallConfig::new(&self.setup.aor, flow.local(), target.transport);
        call_config.credentials = self.setup.credentials.clone();
        // Every call request goes through the registration's flow: the one path known to get
        // through the NAT (RFC 5626 §5.1 reuses the flow likewise).
        call_config.outbound_proxy = Some(flow.peer());
        call_config.timers = self.setup.timers;
        call_config.user_agent = format!("Homeline/{}", crate::VERSION);
        let mut s = Session {
            calls: CallLayer::new(call_config, self.seed ^ 0xca11),
            public_ip: None,
            flow,
            target,
            reg,
            layer: TransactionLayer::new(self.setup.timers),
            keepalive: self
                .setup
                .keepalive
                .map(|iv| KeepAlive::new(iv, target_transport, self.seed)),
            keepalive_started: false,
            reg_tx: None,
            registered_once: false,
            more_targets,
            last_transport_error: None,
            unregister_deadline: None,
            tag_rng: Rng::new(self.seed ^ 0x7a6),
        };
        s.reg.register(now);
        if self.shutting_down() {
            return SessionEnd::Shutdown;
        }
        loop {
            if let Some(end) = self.pump(&mut s) {
                return end;
            }
            let next = [
                s.reg.poll_timeout(),
                s.layer.poll_timeout(),
                s.calls.poll_timeout(),
                s.keepalive.as_ref().and_then(KeepAlive::poll_timeout),
                s.unregister_deadline,
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            let shutting = s.unregister_deadline.is_some();
            tokio::select! {
                ev = s.flow.recv() => {
                    if let Some(end) = self.on_flow_event(&mut s, ev) {
                        return end;
                    }
                }
                Some(c) = self.commands.recv() => {
                    self.on_call_command(&mut s, c);
                }
                changed = self.shutdown.changed(), if !shutting => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        let now = self.deps.clock.now();
                        if s.registered_once || s.reg_tx.is_some() {
                            self.publish(|st| st.state = RegistrationState::Unregistering);
                            s.reg.unregister(now);
                            s.unregister_deadline = Some(now + UNREGISTER_LIMIT);
                        } else {
                            self.publish(|st| st.state = RegistrationState::Unregistered);
                            return SessionEnd::Shutdown;
                        }
                    }
                }
                () = sleep => {
                    let now = self.deps.clock.now();
                    if s.unregister_deadline.is_some_and(|d| d <= now) {
                        tracing::info!(account = %self.setup.account_id,
                            "no answer to the unregister; the binding will expire by itself");
                        self.publish(|st| st.state = RegistrationState::Unregistered);
                        return SessionEnd::Shutdown;
                    }
                    s.layer.handle_timeout(now);
                    s.calls.handle_timeout(now, &mut s.layer);
                    s.reg.handle_timeout(now);
                    if let Some(k) = s.keepalive.as_mut() {
                        k.handle_timeout(now);
                    }
                }
            }
        }
    }

    /// Drains every core until nothing moves. Returns how the session ends, if it does.
    fn pump(&mut self, s: &mut Session) -> Option<SessionEnd> {
        for _ in 0..1000 {
            let mut moved = false;
            let now = self.deps.clock.now();
            while let Some(req) = s.reg.poll_request() {
                moved = true;
                match s.layer.send_request(now, req, s.flow.peer()) {
                    Ok(id) => {
                        s.reg_tx = Some(id);
                        self.publish(|st| st.register_requests += 1);
                    }
                    Err(e) => tracing::error!(account = %self.setup.account_id, error = %e,
                        "the transaction layer refused our REGISTER"),
                }
            }
            while let Some(t) = s.layer.poll_transmit() {
                moved = true;
                tracing::trace!(account = %self.setup.account_id, to = %t.peer.addr,
                    "sending {}", String::from_utf8_lossy(&t.bytes()));
                s.flow.send(t.bytes(), t.transaction);
                if let Some(k) = s.keepalive.as_mut() {
                    k.handle_sent(now);
                }
            }
            while let Some(ev) = s.layer.poll_event() {
                moved = true;
                // Calls first; what is not a call's (REGISTER answers …) goes on.
                let Some(ev) = s.calls.handle_transaction_event(now, &mut s.layer, ev) else {
                    continue;
                };
                if let Some(end) = self.on_transaction_event(s, now, ev) {
                    return Some(end);
                }
            }
            while let Some(ev) = s.calls.poll_event() {
                moved = true;
                self.on_call_event(s, now, ev);
            }
            while let Some(ev) = s.reg.poll_event() {
                moved = true;
                if let Some(end) = self.on_registration_event(s, now, ev) {
                    return Some(end);
                }
            }
            if let Some(k) = s.keepalive.as_mut() {
                while let Some(bytes) = k.poll_transmit() {
                    moved = true;
                    s.flow.send(bytes.to_vec(), None);
                }
                if let Some(ev) = k.poll_event() {
                    match ev {
                        KeepAliveEvent::FlowFailed => {
                            return Some(SessionEnd::Lost(UiError::new(
                                "flow_lost",
                                format!(
                                    "The connection to {} stopped answering keep-alives.",
                                    s.target.describe()
                                ),
                                "Homeline reconnects by itself; if this repeats, the network \
                                 drops idle connections: lower keepalive_secs.",
                            )));
                        }
                    }
                }
            }
            if !moved {
                return None;
            }
        }
        // A core that never settles is a bug; do not spin the CPU on it.
        tracing::error!(account = %self.setup.account_id, "cores did not settle");
        None
    }

    fn on_transaction_event(
        &mut self,
        s: &mut Session,
        now: Instant,
        ev: TransactionEvent,
    ) -> Option<SessionEnd> {
        match ev {
            TransactionEvent::Response { id, response } if Some(id) == s.reg_tx => {
                let code = response.status_code.code();
                if code < 200 {
                    return None;
                }
                s.reg_tx = None;
                let unregistering = s.unregister_deadline.is_some();
                if code == 503 && !s.registered_once && s.more_targets && !unregistering {
                    let reason = match &s.last_transport_error {
                        Some(e) => transport_ui_error(e, &s.target),
                        None => failure_reason(
                            &FailureReason::Rejected {
                                code,
                                reason: "Service Unavailable".into(),
                            },
                            &s.target,
                            self.user(),
                            None,
                        ),
                    };
                    return Some(SessionEnd::Failover(reason));
                }
                s.reg.handle_response(now, &response);
            }
            TransactionEvent::Timeout { id } if Some(id) == s.reg_tx => {
                s.reg_tx = None;
                if !s.registered_once && s.more_targets && s.unregister_deadline.is_none() {
                    let reason =
                        failure_reason(&FailureReason::Timeout, &s.target, self.user(), None);
                    return Some(SessionEnd::Failover(reason));
                }
                s.reg.handle_transaction_timeout(now);
            }
            TransactionEvent::Request { id, request, peer } => {
                self.answer_request(s, now, id, request, peer);
            }
            TransactionEvent::Response { .. }
            | TransactionEvent::Timeout { .. }
            | TransactionEvent::StrayResponse { .. }
            | TransactionEvent::Ack { .. }
            | TransactionEvent::TransportError { .. }
            | TransactionEvent::Terminated { .. } => {}
        }
        None
    }

    fn on_registration_event(
        &mut self,
        s: &mut Session,
        now: Instant,
        ev: RegistrationEvent,
    ) -> Option<SessionEnd> {
        match ev {
            RegistrationEvent::Registered {
                expires, contact, ..
            } => {
                s.registered_once = true;
                self.backoff.reset();
                tracing::debug!(account = %self.setup.account_id, %contact, "binding");
                // Calls advertise the Contact the registrar holds (the public one behind NAT).
                s.calls.set_contact(Some(contact.clone()));
                let server = s.target.describe();
                self.publish(|st| {
                    st.state = RegistrationState::Registered;
                    st.reason = None;
                    st.retry_in_secs = None;
                    st.expires_secs = Some(expires.as_secs());
                    st.server = Some(server);
                });
                if !s.keepalive_started
                    && let Some(k) = s.keepalive.as_mut()
                {
                    k.start(now);
                    s.keepalive_started = true;
                }
            }
            RegistrationEvent::Failed {
                reason, retry_in, ..
            } => {
                let ui = failure_reason(
                    &reason,
                    &s.target,
                    self.user(),
                    s.last_transport_error.as_deref(),
                );
                self.fail(ui, retry_in);
                if retry_in.is_none() && s.unregister_deadline.is_none() {
                    return Some(SessionEnd::Stopped);
                }
            }
            RegistrationEvent::PublicAddressChanged { public } => {
                s.public_ip = Some(public.ip());
                tracing::debug!(account = %self.setup.account_id, %public,
                    "the registrar sees us at another address (NAT); correcting the Contact");
            }
            RegistrationEvent::Unregistered => {
                self.publish(|st| {
                    st.state = RegistrationState::Unregistered;
                    st.expires_secs = None;
                });
                if s.unregister_deadline.is_some() {
                    return Some(SessionEnd::Shutdown);
                }
            }
        }
        None
    }

    fn on_flow_event(&mut self, s: &mut Session, ev: FlowEvent) -> Option<SessionEnd> {
        let now = self.deps.clock.now();
        match ev {
            FlowEvent::Message { inbound, from } => {
                let peer = Peer {
                    transport: s.target.transport,
                    addr: from,
                };
                match *inbound {
                    Inbound::Request(r) => s.layer.handle_message(now, r.into(), peer),
                    Inbound::Response(r) => s.layer.handle_message(now, r.into(), peer),
                    Inbound::Reject(rejection) => {
                        tracing::warn!(account = %self.setup.account_id, %from,
                            error = %rejection.error, status = rejection.status,
                            "rejected a malformed request");
                        if let Some(bytes) = rejection.response {
                            s.flow.send(bytes, None);
                        }
                    }
                    Inbound::Drop(e) => {
                        tracing::debug!(account = %self.setup.account_id, %from, error = %e,
                            "dropped an unusable message");
                    }
                    Inbound::KeepAlive => {}
                }
            }
            FlowEvent::Ping => s.flow.send(PONG.to_vec(), None),
            FlowEvent::Pong => {
                if let Some(k) = s.keepalive.as_mut() {
                    k.handle_pong(now);
                }
            }
            FlowEvent::SendFailed {
                transaction,
                reason,
            } => {
                tracing::debug!(account = %self.setup.account_id, %reason, "transport error");
                s.last_transport_error = Some(reason);
                // §8.1.3.1: the transaction hears of it and answers itself 503.
                if let Some(id) = transaction.or(s.reg_tx) {
                    s.layer.handle_transport_error(now, id);
                }
            }
            FlowEvent::Closed { reason } => {
                if s.unregister_deadline.is_some() {
                    self.publish(|st| st.state = RegistrationState::Unregistered);
                    return Some(SessionEnd::Shutdown);
                }
                return Some(SessionEnd::Lost(UiError::new(
                    "connection_lost",
                    format!("{}.", capitalise(&reason)),
                    "Homeline reconnects and registers again by itself.",
                )));
            }
        }
        None
    }

    /// Minimal UAS: OPTIONS gets 200 (RFC 3261 §11.2); INVITE gets 486 Busy Here until calls
    /// are implemented, so the caller hears a clear answer; anything else 501/481.
    fn answer_request(
        &mut self,
        s: &mut Session,
        now: Instant,
        id: TransactionId,
        request: rsip::Request,
        _peer: Peer,
    ) {
        use rsip::prelude::*;
        let method = request.method.to_string();
        let (code, reason) = match request.method {
            rsip::Method::Options => (200, "OK"),
            rsip::Method::Invite => (486, "Busy Here"),
            rsip::Method::Bye | rsip::Method::Cancel => (481, "Call/Transaction Does Not Exist"),
            _ => (501, "Not Implemented"),
        };
        let mut response = response_for(&request, code, reason);
        // §8.2.6.2: a response that may create or end a dialog carries a To tag.
        add_to_tag(&mut response, &s.tag_rng.token());
        if code == 200 {
            response.headers.push(rsip::Header::Allow(
                "INVITE, ACK, CANCEL, BYE, OPTIONS".into(),
            ));
            response
                .headers
                .push(rsip::Header::Accept("application/sdp".into()));
        }
        if let Err(e) = s.layer.send_response(now, id, response) {
            tracing::debug!(account = %self.setup.account_id, error = %e, "could not answer");
        }
        let from = request
            .from_header()
            .map(|h| h.value().to_owned())
            .unwrap_or_default();
        let call_id = request
            .call_id_header()
            .map(|h| h.value().to_owned())
            .unwrap_or_default();
        tracing::info!(account = %self.setup.account_id, %method, %from, code, "incoming request");
        let _ = self.deps.incoming.send(IncomingRequest {
            account_id: self.setup.account_id.clone(),
            method,
            from,
            call_id,
            answered: code,
        });
    }

    fn on_call_event(&mut self, s: &mut Session, now: Instant, ev: CallEvent) {
        if let CallEvent::Incoming {
            call, from, offer, ..
        } = &ev
        {
            if self.deps.calls.receiver_count() == 0 {
                // Nobody can ring this call (no UI or CLI listens for calls): busy, at once,
                // rather than leaving the caller to time out.
                if let Err(e) = s.calls.reject(now, &mut s.layer, *call, 486) {
                    tracing::debug!(error = %e, "could not reject");
                }
                let _ = self.deps.incoming.send(IncomingRequest {
                    account_id: self.setup.account_id.clone(),
                    method: "INVITE".into(),
                    from: from.clone(),
                    call_id: s.calls.info(*call).map(|i| i.call_id).unwrap_or_default(),
                    answered: 486,
                });
                return;
            }
            tracing::info!(account = %self.setup.account_id, %from,
                with_offer = offer.is_some(), "incoming call");
        }
        let _ = self.deps.calls.send(AccountCall {
            account_id: self.setup.account_id.clone(),
            event: ev,
        });
    }

    fn on_call_command(&mut self, s: &mut Session, c: CallCommand) {
        let now = self.deps.clock.now();
        let local = s.flow.local().ip();
        let address = SignallingAddress {
            local,
            public: s.public_ip.filter(|p| *p != local),
        };
        execute(
            &mut s.calls,
            &mut s.layer,
            now,
            c,
            address,
            Some(s.flow.peer()),
        );
    }

    fn user(&self) -> &str {
        self.setup
            .credentials
            .as_ref()
            .map_or(self.setup.aor.as_str(), |c| c.username.as_str())
    }
}

struct Session {
    calls: CallLayer,
    /// Our address as the registrar sees it (RFC 3581 `received`), once learned.
    public_ip: Option<std::net::IpAddr>,
    flow: Flow,
    target: Target,
    reg: Registration,
    layer: TransactionLayer,
    keepalive: Option<KeepAlive>,
    keepalive_started: bool,
    /// The outstanding REGISTER transaction.
    reg_tx: Option<TransactionId>,
    registered_once: bool,
    more_targets: bool,
    last_transport_error: Option<String>,
    unregister_deadline: Option<Instant>,
    tag_rng: Rng,
}

fn add_to_tag(response: &mut rsip::Response, tag: &str) {
    use rsip::prelude::*;
    for h in response.headers.iter_mut() {
        if let rsip::Header::To(to) = h
            && homeline_sip::message::header_param(to.value(), "tag").is_none()
        {
            let value = format!("{};tag={tag}", to.value());
            *h = rsip::Header::To(value.into());
        }
    }
}

/// A flow that could not be opened (or broke), as the UI shows it.
pub fn transport_ui_error(error: &str, target: &Target) -> UiError {
    let lower = error.to_ascii_lowercase();
    let (code, hint) = if lower.contains("certificate") {
        (
            "tls_certificate",
            "Check the server name; for a private PBX, set [network] tls_ca_file to its CA \
             certificate. Homeline never connects to a server it cannot verify.",
        )
    } else if lower.contains("local port") {
        (
            "local_port_in_use",
            "Another program uses this port: set [network] sip_local_port to 0 (any) or \
             another port.",
        )
    } else if lower.contains("unreachable") {
        (
            "network_unreachable",
            "Check the internet connection (and the VPN, if you use one).",
        )
    } else {
        (
            "connect_failed",
            match target.transport {
                TransportKind::Udp => {
                    "Check the server address and port; a firewall may block it. Try TCP or \
                     TLS in the account's transport setting."
                }
                _ => {
                    "Check the server address and port; a firewall may block it. Try another \
                     transport or port."
                }
            },
        )
    };
    UiError::new(code, format!("{}.", capitalise(error)), hint)
}

fn capitalise(s: &str) -> String {
    let s = s.trim_end_matches('.');
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
