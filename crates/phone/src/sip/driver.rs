//! The registration driver: one tokio task per account (DESIGN.md convention 2).
//!
//! It locates the server (RFC 3263), opens a [`Flow`], and drives three sans-IO cores on it —
//! the [`Registration`] client, the [`TransactionLayer`] and the [`KeepAlive`] — with the
//! discipline of the sip crate: feed one input with `now`, drain every core until nothing
//! moves, then sleep until the earliest `poll_timeout()` or the next input.
//!
//! Failover (RFC 3263 §4.3): while the first REGISTER on a target gets no answer (Timer F;
//! over UDP with more targets to try, [`UDP_FIRST_ANSWER_T1S`]), is refused, or gets a `503`,
//! the next target is tried. With the `auto` transport and no NAPTR/SRV records those next
//! targets are TCP and TLS to the same host, then TLS and TCP on 443 (see
//! [`super::resolve`]), whose connections race (RFC 8305 style, [`RACE_STAGGER`] apart) so
//! that a filtered port's connect timeout holds nothing up; the status then says which
//! transport worked ("UDP got no answer; registered over TCP.") and later reconnects try that
//! transport first.
//!
//! One [`Registration`] lives as long as the driver: a new flow (reconnect, failover, network
//! change) moves it with [`Registration::migrate_flow`], so every REGISTER of this boot
//! carries the same Call-ID and a rising CSeq (RFC 3261 §10.2.4) and the binding of the old
//! Contact is removed in the same request. REGISTERs ask for RFC 5626 outbound; when the
//! registrar applies it to a UDP flow, the keep-alive is a STUN Binding Request (§4.4.2,
//! demultiplexed from SIP on the socket), otherwise CRLF; its interval is the configured one,
//! or the registrar's `Flow-Timer` when that is shorter.
//!
//! A flow that dies (connection closed, no keep-alive answer, RFC 5626 §4.4) is reopened and
//! the account registers again. The account's calls outlive it (RFC 5626 §5): like the
//! registration, one [`CallLayer`] lives from flow to flow and is moved to each new one
//! ([`CallLayer::move_to_flow`]); once the new flow is registered, connected calls refresh
//! the peer's target with a re-INVITE. Only when no flow will follow (shutdown, a refusal
//! retrying cannot fix) do the calls end, with a plain reason. A network change (the route to
//! the server now leaves from another local address, see [`super::netwatch`]) reopens the flow
//! at once, also in the middle of a back-off. The route coming back through the same address
//! after a gap registers again at once on the same flow: its socket still works, and keeping
//! its Contact means a call the server routes to us meanwhile still arrives. Unregistering on
//! shutdown waits at most [`UNREGISTER_LIMIT`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_sip::auth::Credentials;
use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
use homeline_sip::framing::PONG;
use homeline_sip::keepalive::{DEFAULT_INTERVAL, KeepAlive, KeepAliveEvent, KeepAliveMode};
use homeline_sip::register::{
    FailureReason, Registration, RegistrationConfig, RegistrationEvent,
    RegistrationState as CoreState,
};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionId, TransactionLayer, TransportKind,
    is_transport_error, response_for,
};
use homeline_sip::{Inbound, rng::Rng};
use tokio::sync::{broadcast, mpsc, watch};

use super::clock::Clock;
use super::commands::{CallCommand, SignallingAddress, execute};
use super::netwatch::{RouteChange, RouteProbe, RouteWatch, is_local_address};
use super::resolve::{Dns, ResolveError, ServerUri, Target, locate};
use super::status::{RegistrationState, RegistrationStatus, failure_reason};
use super::transport::{Flow, FlowEvent, TransportOptions};
use crate::api::UiError;

/// The longest we wait for the answer to the unregister when shutting down.
pub const UNREGISTER_LIMIT: Duration = Duration::from_secs(5);

/// The longest a flow that is given up may take to send what is queued on it.
const FLOW_CLOSE_LIMIT: Duration = Duration::from_millis(250);

/// How long the first REGISTER over UDP waits for any answer before the next target (TCP to
/// the same host, TLS) is tried, in T1s: 5 T1 = 2.5 s, three transmissions (0, 0.5, 1.5 s).
/// Timer F (64 T1 = 32 s) is for a server that answered before; a network that drops UDP
/// (hotel, office firewall) must not cost the user half a minute at every start.
const UDP_FIRST_ANSWER_T1S: u32 = 5;

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
    /// The voicemail number; when set, the account's message summary (RFC 3842) is watched.
    pub voicemail: Option<String>,
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
    /// Instant-message events of every account (see [`crate::presence::chat`]).
    pub messages: broadcast::Sender<crate::presence::chat::AccountMessage>,
    /// Presence events of every account (see [`crate::presence::agent`]).
    pub presence: broadcast::Sender<crate::presence::agent::AccountPresence>,
    /// Which local address reaches a server now (network changes, see
    /// [`super::netwatch`]).
    pub routes: Arc<dyn RouteProbe>,
    /// How often `routes` is asked.
    pub net_poll: Duration,
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
    /// Try the next target: why (for the UI) and what happened in a few words ("UDP got no
    /// answer").
    Failover(UiError, String),
    /// The flow died; reopen it.
    Lost(UiError),
    /// The route to the server changed: reopen the flow and register at once.
    NetworkChanged,
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
    /// The one registration of this driver's life (created with the first flow).
    reg: Option<Registration>,
    /// The account's calls, carried from one flow to the next like the registration: a
    /// connected call's media never went through the server, so it outlives the flow
    /// (RFC 5626 §5; see `homeline_sip::call` flow recovery).
    calls: Option<CallLayer>,
    /// Commands that arrived between flows and wait for the next one.
    deferred: std::collections::VecDeque<CallCommand>,
    /// Own presence status and watched contacts, carried from one session to the next.
    presence: crate::presence::agent::Intent,
    /// A transport the automatic fallback found working: tried first from then on.
    preferred: Option<TransportKind>,
    /// What the fallback found, for the status of later sessions on the preferred transport.
    fallback_note: Option<String>,
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
        let presence = crate::presence::agent::Intent::new(setup.voicemail.clone());
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
            reg: None,
            calls: None,
            deferred: std::collections::VecDeque::new(),
            presence,
            preferred: None,
            fallback_note: None,
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

    /// Sleeps `d`, or less when shutdown is asked (`true`) or the route to `server` changes
    /// (`false`: the network moved, try again now).
    async fn pause(&mut self, d: Duration, server: Option<std::net::SocketAddr>) -> bool {
        if self.shutting_down() {
            return true;
        }
        let mut watch = server.map(|a| RouteWatch::new(a, self.deps.routes.source_for(a)));
        let deadline = tokio::time::Instant::now() + d;
        let mut tick = net_ticker(self.deps.net_poll);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return self.shutting_down(),
                _ = self.shutdown.changed() => return true,
                Some(c) = self.commands.recv() => self.command_between_flows(c),
                _ = tick.tick(), if watch.is_some() => {
                    if let Some(w) = watch.as_mut()
                        && matches!(
                            w.update(self.deps.routes.source_for(w.server())),
                            RouteChange::Moved | RouteChange::Back
                        )
                    {
                        tracing::info!(account = %self.setup.account_id,
                            "the network changed; trying again now");
                        self.backoff.reset();
                        return false;
                    }
                }
            }
        }
    }

    /// A command while the account has no flow: a hang-up ends its call now (the person
    /// should not watch it "ending" for the whole outage; its BYE leaves on the next flow,
    /// see [`CallLayer::hangup_without_flow`]); anything else waits for the next flow.
    fn command_between_flows(&mut self, c: CallCommand) {
        match (c, self.calls.as_mut()) {
            (CallCommand::Hangup(h) | CallCommand::Reject(h, _), Some(calls)) => {
                let now = self.deps.clock.now();
                if let Err(e) = calls.hangup_without_flow(now, h) {
                    tracing::debug!(account = %self.setup.account_id, error = %e,
                        "hang-up between flows refused");
                }
                while let Some(event) = calls.poll_event() {
                    let _ = self.deps.calls.send(AccountCall {
                        account_id: self.setup.account_id.clone(),
                        event,
                    });
                }
            }
            (c, _) => self.deferred.push_back(c),
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
        self.run_sessions().await;
        // No flow any more: calls still carried cannot go on.
        if let Some(mut calls) = self.calls.take() {
            self.end_calls_without_flow(&mut calls);
        }
    }

    /// Ends every call of `calls` with a plain reason, at once (no flow to signal on), and
    /// reports what the layer still had to say.
    fn end_calls_without_flow(&self, calls: &mut CallLayer) {
        let now = self.deps.clock.now();
        let live = calls.active_calls().len();
        if live > 0 {
            tracing::info!(account = %self.setup.account_id, calls = live,
                "the account stopped; its calls end");
        }
        calls.end_without_flow(now);
        while let Some(event) = calls.poll_event() {
            let _ = self.deps.calls.send(AccountCall {
                account_id: self.setup.account_id.clone(),
                event,
            });
        }
    }

    async fn run_sessions(&mut self) {
        let uri = match ServerUri::parse(&self.setup.registrar) {
            Ok(u) => u,
            Err(e) => {
                self.fail(
                    UiError::new(
                        "bad_registrar",
                        format!("{}.", capitalise(&e.to_string())),
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
            let mut targets = match locate(self.deps.dns.as_ref(), &uri, self.setup.transport).await
            {
                Ok(t) => t,
                Err(e) => {
                    let delay = self.backoff.next();
                    let mut error = UiError::new(
                        "server_not_found",
                        format!("{}.", capitalise(&e.to_string())),
                        "Check the registrar's name in the account settings and the internet \
                         connection.",
                    );
                    if let ResolveError::NotFound { host, why } = &e {
                        error = error.with_arg("host", host).with_arg("why", why.code());
                    }
                    self.fail(error, Some(delay));
                    if self.pause(delay, None).await {
                        return;
                    }
                    continue;
                }
            };
            if let Some(p) = self.preferred {
                // What worked last time first (a stable sort keeps the rest in order).
                targets.sort_by_key(|t| t.transport != p);
            }
            let mut attempts = Attempts::default();
            let mut lost = None;
            let mut changed = false;
            // Targets tried (or given up) in this round.
            let mut done = vec![false; targets.len()];
            while let Some(i) = done.iter().position(|d| !d) {
                let opts = &self.setup.transport_options;
                let (index, flow) = if is_raced(&targets[i]) {
                    // The fallback's connections race, so that a filtered port's connect
                    // timeout does not hold up the one that gets through (TLS on 443).
                    let group: Vec<usize> = (i..targets.len())
                        .filter(|&j| !done[j] && is_raced(&targets[j]))
                        .collect();
                    let racers: Vec<&Target> = group.iter().map(|&j| &targets[j]).collect();
                    let (winner, failures) = race_connect(&racers, opts).await;
                    for (k, e) in failures {
                        let target = racers[k];
                        done[group[k]] = true;
                        tracing::debug!(account = %self.setup.account_id,
                            target = %target.describe(), error = %e, "could not open flow");
                        // Those after the winner only lost the race.
                        if winner.as_ref().is_none_or(|(w, _)| k < *w) {
                            attempts.failed(
                                target,
                                transport_ui_error(&e.to_string(), target),
                                format!("{} could not connect", target.transport.via_token()),
                            );
                        }
                    }
                    let Some((k, flow)) = winner else {
                        continue;
                    };
                    (group[k], flow)
                } else {
                    done[i] = true;
                    match Flow::connect(&targets[i], opts).await {
                        Ok(f) => (i, f),
                        Err(e) => {
                            let target = &targets[i];
                            tracing::debug!(account = %self.setup.account_id,
                                target = %target.describe(), error = %e, "could not open flow");
                            attempts.failed(
                                target,
                                transport_ui_error(&e.to_string(), target),
                                format!("{} could not connect", target.transport.via_token()),
                            );
                            continue;
                        }
                    }
                };
                done[index] = true;
                let target = &targets[index];
                let more = done.iter().any(|d| !d);
                self.publish(|s| s.server = Some(target.describe()));
                let note = attempts.note(target);
                match self.session(flow, more, note).await {
                    SessionEnd::Failover(reason, what) => attempts.failed(target, reason, what),
                    SessionEnd::Lost(reason) => {
                        lost = Some(reason);
                        break;
                    }
                    SessionEnd::NetworkChanged => {
                        changed = true;
                        break;
                    }
                    SessionEnd::Stopped => {
                        self.wait_shutdown().await;
                        return;
                    }
                    SessionEnd::Shutdown => return,
                }
            }
            if changed {
                // A new network deserves a fresh start, at once.
                self.backoff.reset();
                continue;
            }
            let reason = lost.or_else(|| attempts.reason()).unwrap_or_else(|| {
                UiError::new(
                    "no_server_address",
                    "No server address to try.",
                    "Check the registrar in the account settings.",
                )
            });
            let delay = self.backoff.next();
            self.fail(reason, Some(delay));
            if self.pause(delay, targets.first().map(|t| t.addr)).await {
                self.publish(|s| s.state = RegistrationState::Unregistered);
                return;
            }
        }
    }

    /// The driver's registration moved to `flow` (or made for it, the first time), with a
    /// REGISTER queued.
    fn registration_for(&mut self, flow: &Flow, now: Instant) -> Result<Registration, UiError> {
        let target = flow.target();
        if let Some(mut reg) = self.reg.take() {
            // RFC 3261 §10.2.4: the same Call-ID, the CSeq going on; the old Contact's binding
            // is removed in the same REGISTER.
            reg.migrate_flow(now, flow.local(), target.transport);
            if reg.state() == CoreState::Idle {
                reg.register(now);
            }
            return Ok(reg);
        }
        let mut config = RegistrationConfig::new(
            &self.setup.registrar,
            &self.setup.aor,
            flow.local(),
            target.transport,
        );
        config.credentials = self.setup.credentials.clone();
        config.expires = self.setup.expires;
        config.user_agent = format!("Homeline/{}", crate::VERSION);
        // RFC 5626: a registrar that supports outbound tells us so (and answers STUN
        // keep-alives); one that does not ignores the extra Contact parameters.
        config.outbound = Some((instance_urn(&self.setup.account_id), 1));
        let mut reg = Registration::new(config, os_seed(self.seed)).map_err(|e| {
            UiError::new(
                "invalid_account",
                format!("{}.", capitalise(&e.to_string())),
                "Correct the SIP address and registrar in the account settings.",
            )
        })?;
        reg.register(now);
        Ok(reg)
    }

    async fn session(
        &mut self,
        flow: Flow,
        more_targets: bool,
        note: Option<String>,
    ) -> SessionEnd {
        let now = self.deps.clock.now();
        let target = flow.target().clone();
        let target_transport = target.transport;
        let reg = match self.registration_for(&flow, now) {
            Ok(r) => r,
            Err(e) => {
                self.fail(e, None);
                return SessionEnd::Stopped;
            }
        };
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut call_config = CallConfig::new(&self.setup.aor, flow.local(), target.transport);
        call_config.credentials = self.setup.credentials.clone();
        // Every call request goes through the registration's flow: the one path known to get
        // through the NAT (RFC 5626 §5.1 reuses the flow likewise).
        call_config.outbound_proxy = Some(flow.peer());
        call_config.timers = self.setup.timers;
        call_config.user_agent = format!("Homeline/{}", crate::VERSION);
        let route = RouteWatch::new(target.addr, self.deps.routes.source_for(target.addr));
        let pager = crate::presence::chat::pager_for(&call_config, self.seed ^ 0x9a9e);
        let presence = crate::presence::agent::Agent::new(
            &call_config,
            self.seed ^ 0x93e5,
            std::mem::take(&mut self.presence),
        );
        let mut layer = TransactionLayer::new(self.setup.timers);
        let calls = match self.calls.take() {
            Some(mut calls) => {
                // RFC 5626 §5: the calls go on over the new flow; what was pending on the old
                // one resolves now (reported in the first pump).
                let live = calls.active_calls().len();
                if live > 0 {
                    tracing::info!(account = %self.setup.account_id, calls = live,
                        "calls continue on the new flow");
                }
                calls.move_to_flow(
                    now,
                    &mut layer,
                    flow.local(),
                    target.transport,
                    Some(flow.peer()),
                );
                calls
            }
            None => CallLayer::new(call_config, self.seed ^ 0xca11),
        };
        let mut s = Session {
            calls,
            pager,
            presence,
            public_ip: None,
            flow,
            target,
            reg,
            layer,
            keepalive: self
                .setup
                .keepalive
                .map(|iv| KeepAlive::new(iv, target_transport, os_seed(self.seed))),
            keepalive_started: false,
            reg_tx: None,
            registered_once: false,
            more_targets,
            last_transport_error: None,
            unregister_deadline: None,
            tag_rng: Rng::new(self.seed ^ 0x7a6),
            route,
            note,
            moved: false,
            // Over UDP with somewhere else to go, silence decides quickly.
            first_answer_by: (target_transport == TransportKind::Udp && more_targets)
                .then(|| now + self.setup.timers.t1 * UDP_FIRST_ANSWER_T1S),
        };
        let end = self.drive(&mut s).await;
        self.reg = Some(s.reg);
        self.presence = s.presence.into_intent();
        match end {
            // No next flow: the calls cannot go on.
            SessionEnd::Stopped | SessionEnd::Shutdown => {
                self.end_calls_without_flow(&mut s.calls);
            }
            // The next flow carries them on.
            SessionEnd::Failover(..) | SessionEnd::Lost(_) | SessionEnd::NetworkChanged => {
                self.calls = Some(s.calls);
            }
        }
        // What the last moments queued still goes out (the 486 of a call that ended just
        // before a network move); a dead flow ends at once.
        s.flow.close(FLOW_CLOSE_LIMIT).await;
        end
    }

    async fn drive(&mut self, s: &mut Session) -> SessionEnd {
        if self.shutting_down() {
            return SessionEnd::Shutdown;
        }
        // What was asked between flows, in order, before anything new.
        while let Some(c) = self.deferred.pop_front() {
            self.on_call_command(s, c);
        }
        let mut net_tick = net_ticker(self.deps.net_poll);
        loop {
            if let Some(end) = self.pump(s) {
                return end;
            }
            let next = [
                s.reg.poll_timeout(),
                s.layer.poll_timeout(),
                s.calls.poll_timeout(),
                s.presence.poll_timeout(),
                s.keepalive.as_ref().and_then(KeepAlive::poll_timeout),
                s.unregister_deadline,
                s.first_answer_by,
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
                    if let Some(end) = self.on_flow_event(s, ev) {
                        return end;
                    }
                }
                Some(c) = self.commands.recv() => {
                    self.on_call_command(s, c);
                }
                changed = self.shutdown.changed(), if !shutting => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        let now = self.deps.clock.now();
                        if s.registered_once || s.reg_tx.is_some() {
                            self.publish(|st| st.state = RegistrationState::Unregistering);
                            s.presence.shutdown(now, &mut s.layer);
                            s.reg.unregister(now);
                            s.unregister_deadline = Some(now + UNREGISTER_LIMIT);
                        } else {
                            self.publish(|st| st.state = RegistrationState::Unregistered);
                            return SessionEnd::Shutdown;
                        }
                    }
                }
                _ = net_tick.tick(), if !shutting => {
                    let seen = self.deps.routes.source_for(s.route.server());
                    let change = s.route.update(seen);
                    let moved = change == RouteChange::Moved;
                    s.moved |= moved;
                    if change == RouteChange::Back && !s.moved {
                        tracing::info!(account = %self.setup.account_id, now = ?seen,
                            "the route to the server is back; registering again on this flow");
                        s.reg.register(self.deps.clock.now());
                    }
                    if s.moved {
                        // A call on a flow whose address still works (a VPN came up beside
                        // it) keeps its flow until it ends; otherwise move now.
                        let local = s.flow.local().ip();
                        if s.calls.active_calls().is_empty() || !is_local_address(local) {
                            tracing::info!(account = %self.setup.account_id, %local,
                                now = ?seen,
                                "the route to the server changed; registering again on a new flow");
                            return SessionEnd::NetworkChanged;
                        }
                        if moved {
                            tracing::info!(account = %self.setup.account_id, %local,
                                now = ?seen, "the route to the server changed; moving the \
                                registration once the calls on this flow have ended");
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
                    if s.first_answer_by.is_some_and(|d| d <= now) {
                        s.first_answer_by = None;
                        if s.may_fail_over() {
                            tracing::info!(account = %self.setup.account_id,
                                target = %s.target.describe(),
                                "no answer over UDP; trying the next transport");
                            let reason = failure_reason(
                                &FailureReason::Timeout,
                                &s.target,
                                self.user(),
                                None,
                            );
                            let what = format!("{} got no answer", s.target.transport.via_token());
                            return SessionEnd::Failover(reason, what);
                        }
                    }
                    s.layer.handle_timeout(now);
                    s.calls.handle_timeout(now, &mut s.layer);
                    s.presence.handle_timeout(now, &mut s.layer);
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
                // Presence first (a NOTIFY of a presence subscription is in a dialog the call
                // layer does not know and would answer 481; it hands on refer NOTIFYs).
                let Some(ev) = s.presence.handle_transaction_event(now, &mut s.layer, ev) else {
                    continue;
                };
                // Calls; what is not a call's (REGISTER answers …) goes on.
                let Some(ev) = s.calls.handle_transaction_event(now, &mut s.layer, ev) else {
                    continue;
                };
                // Then instant messages (MESSAGE, RFC 3428).
                let Some(ev) = s.pager.handle_transaction_event(now, &mut s.layer, ev) else {
                    continue;
                };
                if let Some(end) = self.on_transaction_event(s, now, ev) {
                    return Some(end);
                }
            }
            let mut call_events = false;
            while let Some(ev) = s.calls.poll_event() {
                moved = true;
                call_events = true;
                self.on_call_event(s, now, ev);
            }
            if call_events {
                // "On the phone" while calls are up, and back after.
                let active = !s.calls.active_calls().is_empty();
                s.presence.calls_changed(now, &mut s.layer, active);
            }
            moved |= s
                .presence
                .drain(&self.deps.presence, &self.setup.account_id);
            while let Some(ev) = s.pager.poll_event() {
                moved = true;
                crate::presence::chat::publish(&self.deps.messages, &self.setup.account_id, ev);
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
                if !is_transport_error(&response) {
                    // The server is there: its own timers decide from now on.
                    s.first_answer_by = None;
                }
                if code < 200 {
                    return None;
                }
                s.reg_tx = None;
                let kind = s.target.transport.via_token();
                let transport_error = is_transport_error(&response);
                if code == 503 && s.may_fail_over() {
                    let (reason, what) = match (&s.last_transport_error, transport_error) {
                        (Some(e), _) => (
                            failure_reason(
                                &FailureReason::Transport(e.clone()),
                                &s.target,
                                self.user(),
                                Some(e),
                            ),
                            failed_words(kind, e),
                        ),
                        (None, true) => (
                            failure_reason(
                                &FailureReason::Transport(String::new()),
                                &s.target,
                                self.user(),
                                None,
                            ),
                            format!("{kind} failed"),
                        ),
                        (None, false) => (
                            failure_reason(
                                &FailureReason::Rejected {
                                    code,
                                    reason: "Service Unavailable".into(),
                                },
                                &s.target,
                                self.user(),
                                None,
                            ),
                            format!("{kind} got 503 Service Unavailable"),
                        ),
                    };
                    return Some(SessionEnd::Failover(reason, what));
                }
                if transport_error {
                    // §8.1.3.1: the network failed, not the server; say what it reported.
                    let why = s.last_transport_error.clone().unwrap_or_default();
                    s.reg.handle_transport_error(now, &why);
                } else {
                    s.reg.handle_response(now, &response);
                }
            }
            TransactionEvent::Timeout { id } if Some(id) == s.reg_tx => {
                s.reg_tx = None;
                if s.may_fail_over() {
                    let reason =
                        failure_reason(&FailureReason::Timeout, &s.target, self.user(), None);
                    let what = format!("{} got no answer", s.target.transport.via_token());
                    return Some(SessionEnd::Failover(reason, what));
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
                expires,
                contact,
                outbound,
            } => {
                let first = !s.registered_once;
                s.registered_once = true;
                self.backoff.reset();
                tracing::debug!(account = %self.setup.account_id, %contact, outbound, "binding");
                // Calls advertise the Contact the registrar holds (the public one behind NAT).
                s.calls.set_contact(Some(contact.clone()));
                s.presence.set_contact(Some(contact.clone()));
                if first {
                    // A new flow: publish and watch again what the last one did.
                    s.presence.resume(now, &mut s.layer);
                }
                if first {
                    self.remember_transport(s);
                }
                let server = s.target.describe();
                let note = s.note.clone();
                self.publish(|st| {
                    st.state = RegistrationState::Registered;
                    st.reason = None;
                    st.retry_in_secs = None;
                    st.expires_secs = Some(expires.as_secs());
                    st.server = Some(server);
                    st.note = note;
                });
                self.keep_alive(s, now);
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
            FlowEvent::Stun(bytes) => {
                let ours = s
                    .keepalive
                    .as_mut()
                    .is_some_and(|k| k.handle_stun(now, &bytes));
                if !ours {
                    tracing::trace!(account = %self.setup.account_id, len = bytes.len(),
                        "ignored a STUN message that answers none of our keep-alives");
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
                s.last_transport_error = Some(reason.clone());
                // An ICMP error on UDP names no transaction: it is about the server's port,
                // so about the REGISTER if one is out.
                let id = transaction.or(s.reg_tx)?;
                if Some(id) == s.reg_tx {
                    s.reg_tx = None;
                    // §8.1.3.1: the transaction ends with its own 503, which the
                    // registration (its REGISTER failed already) then ignores.
                    s.layer.handle_transport_error(now, id);
                    if s.may_fail_over() {
                        let what = failed_words(s.target.transport.via_token(), &reason);
                        let ui = failure_reason(
                            &FailureReason::Transport(reason.clone()),
                            &s.target,
                            self.user(),
                            Some(&reason),
                        );
                        return Some(SessionEnd::Failover(ui, what));
                    }
                    s.reg.handle_transport_error(now, &reason);
                } else {
                    // §8.1.3.1: the transaction hears of it and answers itself 503.
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
            // Do not disturb (own status busy) answers 486 like a phone that is busy.
            if self.deps.calls.receiver_count() == 0 || s.presence.dnd() {
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
        let Some(c) = crate::presence::chat::execute(&mut s.pager, &mut s.layer, now, c) else {
            return;
        };
        let Some(c) = s.presence.execute(now, &mut s.layer, c) else {
            return;
        };
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

    /// Starts the keep-alive once the flow is registered, and fits it to what the registrar
    /// said (RFC 5626 §4.4): STUN on UDP when it applies outbound to our flow (it answers
    /// those), CRLF otherwise; the interval no longer than its `Flow-Timer`. A registrar
    /// that applies outbound expects keep-alives (§4.4.1), so then they run even when
    /// switched off in the settings.
    fn keep_alive(&mut self, s: &mut Session, now: Instant) {
        let outbound = s.reg.outbound_supported();
        let flow_timer = s.reg.flow_timer();
        let configured = self.setup.keepalive;
        let interval = match (configured, flow_timer) {
            (Some(c), Some(f)) => c.min(f),
            (Some(c), None) => c,
            (None, Some(f)) if outbound => f,
            (None, _) if outbound => DEFAULT_INTERVAL,
            (None, _) => return,
        };
        let transport = s.target.transport;
        let k = s
            .keepalive
            .get_or_insert_with(|| KeepAlive::new(interval, transport, os_seed(self.seed)));
        k.set_interval(interval);
        if transport == TransportKind::Udp {
            let mode = if outbound {
                KeepAliveMode::Stun
            } else {
                KeepAliveMode::Crlf
            };
            if k.mode() != mode {
                tracing::debug!(account = %self.setup.account_id, ?mode, "keep-alive mode");
            }
            // Cannot fail: STUN is refused only on streams, and this is UDP.
            let _ = k.set_mode(mode);
        }
        if !s.keepalive_started {
            k.start(now);
            s.keepalive_started = true;
        }
    }

    /// After the first 2xx on a flow: a fallback transport that worked is tried first from
    /// now on (no 32 s of UDP silence at every reconnect), and said in the status.
    fn remember_transport(&mut self, s: &mut Session) {
        let kind = s.target.transport;
        if s.target.fallback {
            if s.note.is_some() {
                self.fallback_note = s.note.clone();
                if let Some(n) = &s.note {
                    tracing::info!(account = %self.setup.account_id, "{n}");
                }
            } else if self.preferred == Some(kind) {
                s.note = self.fallback_note.clone();
            }
            self.preferred = Some(kind);
        } else {
            self.preferred = None;
            self.fallback_note = None;
        }
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
    /// Instant messages, beside the calls on the same transaction layer.
    pager: homeline_sip::pager::Pager,
    /// Own status and watched contacts.
    presence: crate::presence::agent::Agent,
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
    /// The route to the server as the flow opened (network changes).
    route: RouteWatch,
    /// Shown with the registered status (which transport the fallback found).
    note: Option<String>,
    /// The route moved while calls were on this flow: move when they end.
    moved: bool,
    /// Until the server answers anything: when to give up on this target for the next one.
    first_answer_by: Option<Instant>,
}

impl Session {
    /// The first REGISTER on this target failed and another target waits (RFC 3263 §4.3).
    fn may_fail_over(&self) -> bool {
        !self.registered_once && self.more_targets && self.unregister_deadline.is_none()
    }
}

/// The targets that failed in one round, for the words of the fallback.
#[derive(Debug, Default)]
struct Attempts {
    /// The first failure's reason (the transport the user would expect to work).
    first: Option<UiError>,
    /// The last failure's reason.
    last: Option<UiError>,
    /// What happened on each target, in a few words ("UDP got no answer").
    said: Vec<String>,
    /// A fallback target was tried.
    fell_back: bool,
}

impl Attempts {
    fn failed(&mut self, target: &Target, reason: UiError, what: String) {
        self.fell_back |= target.fallback;
        self.first.get_or_insert_with(|| reason.clone());
        self.last = Some(reason);
        if !self.said.contains(&what) {
            self.said.push(what);
        }
    }

    /// The status note if registering on `target` works after the failures so far.
    fn note(&self, target: &Target) -> Option<String> {
        (target.fallback && !self.said.is_empty()).then(|| {
            format!(
                "{}; registered over {}.",
                and_list(&self.said),
                target.transport.via_token()
            )
        })
    }

    /// Why the round failed: with the fallback, why the first transport failed and what the
    /// others did; otherwise the last target's reason.
    fn reason(&self) -> Option<UiError> {
        if !self.fell_back {
            return self.last.clone();
        }
        let mut reason = self.first.clone()?;
        reason.message = format!(
            "{} Homeline also tried the other transports: {}.",
            reason.message,
            and_list(&self.said)
        );
        reason.hint = "Check the registrar's address and port. If they are right, a firewall \
                       blocks UDP, TCP and TLS to it: ask the network's administrator, or ask \
                       the provider for a port that gets through (TLS on 443 often does)."
            .into();
        Some(reason)
    }
}

/// How far apart the connection attempts of a race start (RFC 8305's Connection Attempt
/// Delay).
const RACE_STAGGER: Duration = Duration::from_millis(250);

/// The automatic fallback's connection-oriented targets (TCP and TLS to the same host, TLS
/// and TCP on 443) are raced rather than tried one after the other.
fn is_raced(target: &Target) -> bool {
    target.fallback && target.transport != TransportKind::Udp
}

/// Connects to the first of `targets` that answers, RFC 8305 style: attempt `k` starts
/// `k × RACE_STAGGER` after the first; the first connection wins and the attempts still under
/// way are dropped. Returns the winner (its index and flow) and the failures seen until then,
/// in the order of `targets`.
async fn race_connect(
    targets: &[&Target],
    opts: &TransportOptions,
) -> (
    Option<(usize, Flow)>,
    Vec<(usize, super::transport::TransportError)>,
) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let mut racing: FuturesUnordered<_> = targets
        .iter()
        .enumerate()
        .map(|(k, t)| async move {
            tokio::time::sleep(RACE_STAGGER * k as u32).await;
            (k, Flow::connect(t, opts).await)
        })
        .collect();
    let mut failures = Vec::new();
    let mut winner = None;
    while let Some((k, result)) = racing.next().await {
        match result {
            Ok(flow) => {
                winner = Some((k, flow));
                break;
            }
            Err(e) => failures.push((k, e)),
        }
    }
    failures.sort_by_key(|(k, _)| *k);
    (winner, failures)
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "UDP was refused" / "TCP failed (…)" for a transport error.
fn failed_words(kind: &str, error: &str) -> String {
    if error.contains("refused") {
        format!("{kind} was refused")
    } else {
        format!("{kind} failed ({})", error.trim_end_matches('.'))
    }
}

/// A ticker for the network watch; a missed tick (a busy or suspended machine) is not
/// made up for.
fn net_ticker(period: Duration) -> tokio::time::Interval {
    let period = period.max(Duration::from_millis(100));
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// 64 bits from the operating system's random source (STUN transaction ids must not be
/// guessable, RFC 5389 §6); `fallback` only if the OS has none to give.
fn os_seed(fallback: u64) -> u64 {
    getrandom::u64().unwrap_or(fallback)
}

/// The RFC 5626 §4.1 instance id of this installation's account: a `urn:uuid:` that stays the
/// same across restarts, so that the registrar replaces our old binding instead of keeping it
/// beside the new one until it expires. Derived from the machine id (hashed with the account
/// and a Homeline-specific label, so it reveals neither: as systemd asks of applications);
/// a random one where there is no machine id (it then holds for this run).
fn instance_urn(account_id: &str) -> String {
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut bytes = [0u8; 16];
    match machine {
        Some(m) => {
            let input = format!("homeline-outbound-instance\0{m}\0{account_id}");
            bytes[..8]
                .copy_from_slice(&fnv1a(input.as_bytes(), 0xcbf2_9ce4_8422_2325).to_be_bytes());
            bytes[8..]
                .copy_from_slice(&fnv1a(input.as_bytes(), 0x6c62_272e_07bb_0142).to_be_bytes());
        }
        None => {
            bytes[..8].copy_from_slice(&os_seed(seed_fallback()).to_be_bytes());
            bytes[8..].copy_from_slice(&os_seed(seed_fallback().rotate_left(17)).to_be_bytes());
        }
    }
    // RFC 9562 §5.8: version 8 (custom), variant 10.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn seed_fallback() -> u64 {
    super::seed_for("instance")
}

/// FNV-1a, 64 bits, from `basis`: a stable hash (std's hashers may change between releases).
fn fnv1a(data: &[u8], basis: u64) -> u64 {
    data.iter().fold(basis, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
