//! Calls (RFC 3261 §13–§15, RFC 3262, RFC 3515, RFC 6086), sans-IO.
//!
//! A [`CallLayer`] is the call-handling transaction user (TU) of one account. It sits on top of
//! the driver's [`TransactionLayer`] (shared with [`crate::register::Registration`]) and the
//! [`Dialog`] rules, and turns the application's wishes (dial, ring, answer, hang up, hold,
//! transfer, send a DTMF digit) into requests and responses, and what arrives into
//! [`CallEvent`]s. SDP is opaque bytes here: the media crate writes offers and answers, this
//! layer carries them as `application/sdp` (RFC 3264 offer/answer in INVITE/200/ACK).
//!
//! ## Driving it
//! Every method takes the [`TransactionLayer`] it sends through, so there is nothing to
//! correlate: everything the call layer sends comes out of the transaction layer's
//! `poll_transmit()`.
//! ```text
//! let call = calls.dial(now, &mut layer, "sip:bob@example.com", offer, proxy)?;
//! loop {
//!     // mutate: one input, with the time it happened
//!     for ev in layer events { if let Some(ev) = calls.handle_transaction_event(now, &mut layer, ev)
//!                              { /* not a call's: registration, presence … */ } }
//!     calls.handle_timeout(now, &mut layer);             // when calls.poll_timeout() passed
//!     calls.answer(now, &mut layer, call, answer_sdp)?;  // or ring/hangup/hold/… from the UI
//!     // drain until nothing moves
//!     while let Some(t) = layer.poll_transmit() { socket.send(t) }
//!     while let Some(e) = calls.poll_event()    { ui.show(e) }
//!     // sleep until min(layer.poll_timeout(), calls.poll_timeout(), socket input)
//! }
//! ```
//! Requests go to [`CallConfig::outbound_proxy`] when set (the registrar's flow, as a phone
//! behind a PBX does), else to the `Peer` given to [`CallLayer::dial`] or the one an incoming
//! INVITE came from — the address that is known to get through the NAT. A 3xx target with a
//! literal address is reached directly; known limit: one with a host name goes through the
//! current next hop (right behind a proxy; without one the driver would have to resolve it,
//! which this layer does not ask for yet).
//!
//! ## What is covered
//! - Outgoing (`uac`): INVITE with offer, 1xx (early media SDP, reliable provisionals with
//!   PRACK, RFC 3262 §4), 2xx → ACK (again on every 2xx retransmission, §13.2.2.4), 401/407
//!   → INVITE with credentials (same Call-ID, CSeq + 1, §22.2), CANCEL only after a
//!   provisional (§9.1), 3xx follow in `q` order with a loop guard (§8.1.3.4), forking (every
//!   early dialog kept; the first 2xx wins, any other 2xx gets ACK + BYE, §13.2.2.4).
//! - Incoming (`uas`): ring, answer (2xx retransmitted until ACK, BYE after 64·T1 without,
//!   §13.3.1.4), reject, CANCEL → 487 + 200 (§9.2), call waiting or automatic 486. Every
//!   101–299 response to an INVITE carries the request's Record-Route values in order
//!   (§12.1.1), so the caller's route set matches ours.
//! - In dialog (`hold`, `refer`, `info`): BYE both ways (§15), re-INVITE (hold/resume) both
//!   ways with glare → 491 and a retry after the §14.1 random interval, REFER blind transfer
//!   with NOTIFY sipfrag progress both ways (RFC 3515), DTMF in INFO (`application/dtmf-relay`),
//!   OPTIONS answered with Allow and Accept (§11.2) in and outside dialogs.
//! - Flow recovery (`flow`, RFC 5626 §5): calls outlive the flow they were set up on
//!   ([`CallLayer::move_to_flow`]); pending transactions of the old flow resolve at once, and
//!   connected calls ask for a target refresh ([`CallEvent::TargetRefresh`]) once the new
//!   Contact is known.
//! - Failures reach the UI as [`CallFailure`] `{code, message, hint}`.

mod build;
mod config;
mod event;
mod flow;
mod hold;
mod info;
mod reason;
mod refer;
mod uac;
mod uas;

pub use build::{ACCEPT, ALLOW, DTMF_RELAY, SDP, SIPFRAG};
pub use config::CallConfig;
pub use event::{CallEvent, CallHandle, CallInfo, CallState, EndCause};
pub use reason::CallFailure;

use rsip::prelude::*;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::auth::DigestSession;
use crate::dialog::{AckWait, Dialog};
use crate::prack::RseqTracker;
use crate::rng::Rng;
use crate::transaction::{
    Peer, TransactionError, TransactionEvent, TransactionId, TransactionLayer, TransportKind,
};

/// Errors from calls into the call layer (the application's mistakes, not the network's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No call with that handle (it may have ended).
    #[error("no such call")]
    NoSuchCall,
    /// The operation does not fit the call's state (e.g. answering an outgoing call).
    #[error("not possible while the call is {0}")]
    InvalidState(&'static str),
    /// Another INVITE transaction is in progress in this dialog (§14.1): wait for its end.
    #[error("a session change is already in progress")]
    Busy,
    /// A message could not be built (bad URI in the settings or the dial string).
    #[error("cannot build the request: {0}")]
    Build(String),
    /// The transaction layer refused the request.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
}

impl From<crate::dialog::DialogError> for CallError {
    fn from(e: crate::dialog::DialogError) -> Self {
        Self::Build(e.to_string())
    }
}

/// What a transaction of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Our initial INVITE (client).
    Invite,
    /// Our CANCEL.
    Cancel,
    /// Our BYE.
    Bye,
    /// Our re-INVITE.
    ReInvite,
    /// Our REFER.
    Refer,
    /// Our NOTIFY about a REFER we received.
    Notify,
    /// Our INFO.
    Info,
    /// Our PRACK.
    Prack,
    /// The initial INVITE we received (server).
    ServerInvite,
    /// A re-INVITE we received (server).
    ServerReInvite,
}

/// CANCEL progress (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    No,
    /// Wanted, but no provisional yet: send it when one arrives.
    Wanted,
    Sent,
}

/// A re-INVITE in progress.
#[derive(Debug, Clone)]
struct Update {
    ours: bool,
    tx: TransactionId,
    cseq: u32,
    offer: Vec<u8>,
    /// Theirs: the request to answer.
    request: Option<rsip::Request>,
    /// Ours: answered a challenge already.
    authed: bool,
    /// Ours: the Contact it carries (the peer's remote target for us after a 2xx).
    contact: String,
}

/// One call's state. The submodules add behaviour with `impl CallLayer` blocks.
#[derive(Debug)]
struct Call {
    state: CallState,
    outgoing: bool,
    call_id: String,
    local_tag: String,
    /// From value without tag (outgoing) / To value (incoming).
    local_uri: String,
    /// To value without tag (outgoing).
    remote_uri: String,
    /// Request-URI of the current INVITE.
    target: String,
    /// What the user dialled, for messages.
    dialled: String,
    peer: Peer,
    // --- UAC ---
    invite: Option<rsip::Request>,
    invite_tx: Option<TransactionId>,
    cseq: u32,
    offer: Vec<u8>,
    provisional: bool,
    cancel: Cancel,
    cancel_deadline: Option<Instant>,
    digest: Option<DigestSession>,
    answered_realm: Option<String>,
    redirects: Vec<String>,
    tried: Vec<String>,
    early: BTreeMap<String, Dialog>,
    rseq: BTreeMap<String, RseqTracker>,
    /// ACK per answered To tag, resent on 2xx retransmissions.
    acks: BTreeMap<String, rsip::Request>,
    // --- UAS ---
    server_tx: Option<TransactionId>,
    incoming_invite: Option<rsip::Request>,
    /// Our 2xx waiting for its ACK, with its server transaction (`None` once that went with
    /// an old flow: retransmissions then go straight to the next hop).
    ack_wait: Option<(AckWait, Option<TransactionId>)>,
    bye_after_ack: bool,
    /// The caller requires reliable provisionals (RFC 3262 `Require: 100rel`).
    reliable_1xx: bool,
    /// RSeq of our last reliable provisional.
    rseq_sent: u32,
    /// Our reliable provisional, retransmitted until its PRACK (RFC 3262 §3).
    prack_wait: Option<AckWait>,
    // --- dialog ---
    dialog: Option<Dialog>,
    update: Option<Update>,
    glare_retry: Option<(Instant, Vec<u8>)>,
    /// We are the notifier for a REFER we accepted.
    refer_notifier: bool,
    /// DTMF digits waiting for the INFO in flight (one at a time, so they cannot overtake
    /// each other and be refused as out of order, §12.2.2).
    dtmf_queue: VecDeque<(char, u32)>,
    info_in_flight: bool,
    /// Keep until then to absorb late retransmissions, then forget.
    linger_until: Option<Instant>,
    /// `Ended` was reported.
    reported: bool,
    // --- flow recovery (see `flow`) ---
    /// The Contact the peer holds as our remote target (RFC 3261 §12.1), once known.
    advertised: Option<String>,
    /// The call outlived the flow it was set up on (RFC 5626 §5).
    moved: bool,
    /// The Contact for which a target refresh was asked of the application.
    refresh_asked: Option<String>,
    /// Hung up while there was no flow: the BYE leaves on the next one.
    bye_on_next_flow: bool,
}

impl Call {
    fn new(
        state: CallState,
        outgoing: bool,
        call_id: String,
        local_tag: String,
        peer: Peer,
    ) -> Self {
        Self {
            state,
            outgoing,
            call_id,
            local_tag,
            local_uri: String::new(),
            remote_uri: String::new(),
            target: String::new(),
            dialled: String::new(),
            peer,
            invite: None,
            invite_tx: None,
            cseq: 0,
            offer: Vec::new(),
            provisional: false,
            cancel: Cancel::No,
            cancel_deadline: None,
            digest: None,
            answered_realm: None,
            redirects: Vec::new(),
            tried: Vec::new(),
            early: BTreeMap::new(),
            rseq: BTreeMap::new(),
            acks: BTreeMap::new(),
            server_tx: None,
            incoming_invite: None,
            ack_wait: None,
            bye_after_ack: false,
            reliable_1xx: false,
            rseq_sent: 0,
            prack_wait: None,
            dialog: None,
            update: None,
            glare_retry: None,
            refer_notifier: false,
            dtmf_queue: VecDeque::new(),
            info_in_flight: false,
            linger_until: None,
            reported: false,
            advertised: None,
            moved: false,
            refresh_asked: None,
            bye_on_next_flow: false,
        }
    }

    fn is_live(&self) -> bool {
        !matches!(self.state, CallState::Ending | CallState::Ended)
    }
}

/// All calls of one account. See the [module docs](self).
#[derive(Debug)]
pub struct CallLayer {
    config: CallConfig,
    rng: Rng,
    next_handle: u64,
    calls: BTreeMap<CallHandle, Call>,
    txs: HashMap<TransactionId, (CallHandle, Role)>,
    /// In-dialog non-INVITE requests we sent, to answer a 401/407 once (§22.2); the flag
    /// says credentials were already added.
    sent: HashMap<TransactionId, (rsip::Request, bool)>,
    events: VecDeque<CallEvent>,
}

impl CallLayer {
    /// A call layer for `config`; `seed` feeds tags, Call-IDs, branches, nonces and the glare
    /// back-off (§14.1), so tests are reproducible.
    pub fn new(config: CallConfig, seed: u64) -> Self {
        Self {
            config,
            rng: Rng::new(seed),
            next_handle: 1,
            calls: BTreeMap::new(),
            txs: HashMap::new(),
            sent: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &CallConfig {
        &self.config
    }

    /// Updates the Contact we advertise (e.g. after registration learned the public
    /// address); applies to new requests and responses.
    /// A call that outlived its flow and whose peer holds an older Contact then asks for a
    /// target refresh ([`CallEvent::TargetRefresh`], see [`move_to_flow`](Self::move_to_flow)).
    pub fn set_contact(&mut self, contact: Option<String>) {
        self.config.contact = contact;
        self.ask_target_refreshes();
    }

    /// Turns call waiting on or off.
    pub fn set_call_waiting(&mut self, on: bool) {
        self.config.call_waiting = on;
    }

    /// The state of a call (`None` once it has been forgotten).
    pub fn state(&self, call: CallHandle) -> Option<CallState> {
        self.calls.get(&call).map(|c| c.state)
    }

    /// Who, which direction and where a call stands (`None` once it has been forgotten).
    pub fn info(&self, call: CallHandle) -> Option<CallInfo> {
        self.calls.get(&call).map(|c| CallInfo {
            outgoing: c.outgoing,
            remote: if c.outgoing {
                c.target.clone()
            } else {
                c.dialled.clone()
            },
            call_id: c.call_id.clone(),
            state: c.state,
        })
    }

    /// The dialog of a call, once there is one (confirmed, or the first early one).
    pub fn dialog(&self, call: CallHandle) -> Option<&Dialog> {
        self.calls
            .get(&call)
            .and_then(|c| c.dialog.as_ref().or_else(|| c.early.values().next()))
    }

    /// Calls that are not over.
    pub fn active_calls(&self) -> Vec<CallHandle> {
        self.calls
            .iter()
            .filter(|(_, c)| c.is_live())
            .map(|(h, _)| *h)
            .collect()
    }

    /// Number of calls still remembered (live ones and ended ones absorbing retransmissions).
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// True when no call is remembered.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The next event for the application. Call after every mutation until `None`.
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .flat_map(|c| {
                [
                    c.ack_wait.as_ref().and_then(|(w, _)| w.poll_timeout()),
                    c.prack_wait.as_ref().and_then(|w| w.poll_timeout()),
                    c.glare_retry.as_ref().map(|(t, _)| *t),
                    c.cancel_deadline,
                    c.linger_until,
                ]
            })
            .flatten()
            .min()
    }

    /// Runs the call timers due at `now`: 2xx retransmission and the no-ACK BYE
    /// (§13.3.1.4), the glare retry (§14.1), the CANCEL deadline (§9.1), forgetting ended
    /// calls.
    pub fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let handles: Vec<CallHandle> = self.calls.keys().copied().collect();
        for h in handles {
            self.uas_timeout(now, layer, h);
            self.glare_timeout(now, layer, h);
            self.uac_timeout(now, h);
            if self
                .calls
                .get(&h)
                .and_then(|c| c.linger_until)
                .is_some_and(|t| t <= now)
            {
                self.calls.remove(&h);
                self.txs.retain(|_, (c, _)| *c != h);
            }
        }
    }

    /// Feeds an event of the transaction layer. Returns it back when it is not about calls
    /// (a REGISTER's response, an out-of-dialog MESSAGE …) so the driver can pass it on.
    pub fn handle_transaction_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        event: TransactionEvent,
    ) -> Option<TransactionEvent> {
        match event {
            TransactionEvent::Request { id, request, peer } => {
                self.on_request(now, layer, id, request, peer)
            }
            TransactionEvent::Ack { request, .. } => {
                self.on_ack(now, layer, request);
                None
            }
            TransactionEvent::Response { id, response } => match self.txs.get(&id).copied() {
                Some((h, role)) => {
                    self.on_response(now, layer, h, role, id, response);
                    None
                }
                None => Some(TransactionEvent::Response { id, response }),
            },
            TransactionEvent::StrayResponse { response } => self.on_stray(now, layer, response),
            TransactionEvent::Timeout { id } => match self.txs.get(&id).copied() {
                Some((h, role)) => {
                    self.on_tx_timeout(now, layer, h, role, id);
                    None
                }
                None => Some(TransactionEvent::Timeout { id }),
            },
            TransactionEvent::TransportError { id } => {
                if self.txs.contains_key(&id) {
                    None
                } else {
                    Some(TransactionEvent::TransportError { id })
                }
            }
            TransactionEvent::Terminated { id } => match self.txs.remove(&id) {
                Some(_) if self.sent.remove(&id).is_some() => None,
                Some(_) => None,
                None => Some(TransactionEvent::Terminated { id }),
            },
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: rsip::Request,
        peer: Peer,
    ) -> Option<TransactionEvent> {
        let in_dialog = build::to_tag(&request.headers).is_some();
        match request.method {
            rsip::Method::Invite if !in_dialog => self.on_invite(now, layer, id, request, peer),
            rsip::Method::Cancel => self.on_cancel(now, layer, id, request),
            rsip::Method::Options => {
                // §11.2: the same answer in and outside a dialog.
                let tag = self.rng.token();
                let ok = crate::responses::options_ok(&request, &tag, ALLOW, ACCEPT, &["100rel"]);
                send_response(now, layer, id, ok);
            }
            _ if in_dialog => self.on_in_dialog(now, layer, id, request),
            // Not ours (MESSAGE, SUBSCRIBE … outside dialogs): the driver decides.
            _ => return Some(TransactionEvent::Request { id, request, peer }),
        }
        None
    }

    /// The call whose dialog (confirmed or early) `request` belongs to.
    fn find_dialog_call(&self, request: &rsip::Request) -> Option<CallHandle> {
        self.calls.iter().find_map(|(h, c)| {
            let hit = c
                .dialog
                .as_ref()
                .is_some_and(|d| d.matches_request(request))
                || c.early.values().any(|d| d.matches_request(request));
            hit.then_some(*h)
        })
    }

    fn on_in_dialog(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: rsip::Request,
    ) {
        let Some(h) = self.find_dialog_call(&request) else {
            // §12.2.2: a request for a dialog we do not know.
            let r =
                crate::transaction::response_for(&request, 481, "Call/Transaction Does Not Exist");
            send_response(now, layer, id, r);
            return;
        };
        // §12.2.2: CSeq must not go backwards (500); remote target refresh on re-INVITE.
        if let Some(call) = self.calls.get_mut(&h)
            && let Some(d) = call.dialog.as_mut()
            && let Err(e) = d.handle_request(&request)
        {
            tracing::debug!("in-dialog request refused: {e}");
            let r = crate::transaction::response_for(&request, 500, "CSeq Out of Order");
            send_response(now, layer, id, r);
            return;
        }
        match request.method {
            rsip::Method::Bye => self.on_bye(now, layer, h, id, request),
            rsip::Method::Invite => self.on_reinvite(now, layer, h, id, request),
            rsip::Method::Refer => self.on_refer(now, layer, h, id, request),
            rsip::Method::Notify => self.on_notify(now, layer, h, id, request),
            rsip::Method::Info => self.on_info(now, layer, h, id, request),
            rsip::Method::PRack => self.on_prack(now, layer, h, id, request),
            _ => {
                // §8.2.1: 405 with the methods we do allow.
                let mut r = crate::transaction::response_for(&request, 405, "Method Not Allowed");
                build::push_header(
                    &mut r.headers,
                    rsip::headers::Allow::new(ALLOW.join(", ")).into(),
                );
                send_response(now, layer, id, r);
            }
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        role: Role,
        id: TransactionId,
        response: rsip::Response,
    ) {
        let code = response.status_code.code();
        if code >= 200 {
            let sent = self.sent.remove(&id);
            if let Some((request, false)) = sent
                && matches!(code, 401 | 407)
                && self.retry_with_credentials(now, layer, h, role, request, &response)
            {
                return;
            }
        }
        match role {
            Role::Invite => self.on_invite_response(now, layer, h, id, response),
            Role::ReInvite => self.on_reinvite_response(now, layer, h, response),
            Role::Refer => self.on_refer_response(h, &response),
            Role::Bye => {
                if response.status_code.code() >= 200 {
                    self.forget_later(now, h);
                }
            }
            Role::Info if code >= 200 => self.info_done(now, layer, h),
            Role::Cancel
            | Role::Notify
            | Role::Info
            | Role::Prack
            | Role::ServerInvite
            | Role::ServerReInvite => {}
        }
    }

    fn on_tx_timeout(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        role: Role,
        id: TransactionId,
    ) {
        match role {
            Role::Invite => self.on_invite_timeout(now, h, id),
            Role::ReInvite => {
                // §14.1: a re-INVITE timing out (408) ends the dialog.
                if let Some(c) = self.calls.get_mut(&h) {
                    c.update = None;
                }
                self.terminate_with_bye(
                    now,
                    layer,
                    h,
                    EndCause::Failed(CallFailure::no_answer(
                        &self
                            .calls
                            .get(&h)
                            .map(|c| c.dialled.clone())
                            .unwrap_or_default(),
                    )),
                );
            }
            Role::Bye => self.forget_later(now, h),
            Role::Info => self.info_done(now, layer, h),
            Role::Refer => self.events.push_back(CallEvent::TransferProgress {
                call: h,
                code: 408,
                reason: "Request Timeout".into(),
                done: true,
            }),
            _ => {}
        }
    }

    fn alloc(&mut self) -> CallHandle {
        let h = CallHandle(self.next_handle);
        self.next_handle += 1;
        h
    }

    fn branch(&mut self) -> String {
        format!("{}{}", crate::transaction::MAGIC_COOKIE, self.rng.token())
    }

    fn sent_by(&self) -> String {
        host_port(self.config.local)
    }

    fn contact(&self) -> String {
        if let Some(c) = &self.config.contact {
            return if c.contains('<') {
                c.clone()
            } else {
                format!("<{c}>")
            };
        }
        let user = rsip::Uri::try_from(self.config.aor.as_str())
            .ok()
            .and_then(|u| u.user().map(|u| format!("{u}@")))
            .unwrap_or_default();
        let transport = match self.config.transport {
            TransportKind::Udp => "",
            TransportKind::Tcp => ";transport=tcp",
            TransportKind::Tls => ";transport=tls",
            TransportKind::Ws => ";transport=ws",
            TransportKind::Wss => ";transport=wss",
        };
        format!("<sip:{user}{}{transport}>", host_port(self.config.local))
    }

    fn next_hop(&self, call: &Call) -> Peer {
        self.config.outbound_proxy.unwrap_or(call.peer)
    }

    /// Sends a client request for call `h` and remembers what it is for.
    fn send_request(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        role: Role,
        request: rsip::Request,
    ) -> Result<TransactionId, CallError> {
        let peer = self
            .calls
            .get(&h)
            .map(|c| self.next_hop(c))
            .ok_or(CallError::NoSuchCall)?;
        let id = layer.send_request(now, request, peer)?;
        self.txs.insert(id, (h, role));
        Ok(id)
    }

    /// Sends an in-dialog non-INVITE request, remembering it for a digest challenge.
    fn send_in_dialog(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        role: Role,
        request: rsip::Request,
    ) -> Result<TransactionId, CallError> {
        let id = self.send_request(now, layer, h, role, request.clone())?;
        self.sent.insert(id, (request, false));
        Ok(id)
    }

    /// §22.2 / §8.1.3.5: a proxy challenged an in-dialog request (BYE, REFER, INFO,
    /// NOTIFY): send it again once, with the next CSeq, a new branch and credentials.
    fn retry_with_credentials(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        role: Role,
        mut request: rsip::Request,
        response: &rsip::Response,
    ) -> bool {
        let Some(creds) = self.config.credentials.clone() else {
            return false;
        };
        let challenges = crate::auth::Challenge::from_response(response);
        let Some(challenge) = crate::auth::select_challenge(&challenges).cloned() else {
            return false;
        };
        let branch = self.branch();
        let cnonce = self.rng.token();
        let via = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.config.transport.via_token(),
            self.sent_by()
        );
        let Some(seq) = self
            .calls
            .get_mut(&h)
            .and_then(|c| c.dialog.as_mut())
            .map(|d| {
                d.local_seq += 1;
                d.local_seq
            })
        else {
            return false;
        };
        let method = request.method;
        let auth = DigestSession::new(challenge).authorize(
            &creds,
            &method.to_string(),
            &request.uri.to_string(),
            &cnonce,
            &request.body,
        );
        let headers: Vec<rsip::Header> = request
            .headers
            .iter()
            .filter(|h| {
                !matches!(
                    h,
                    rsip::Header::Authorization(_) | rsip::Header::ProxyAuthorization(_)
                )
            })
            .map(|hd| match hd {
                rsip::Header::Via(_) => rsip::headers::Via::new(via.clone()).into(),
                rsip::Header::CSeq(_) => rsip::headers::CSeq::new(format!("{seq} {method}")).into(),
                other => other.clone(),
            })
            .collect();
        request.headers = headers.into();
        build::push_header(&mut request.headers, auth.to_header());
        match self.send_request(now, layer, h, role, request.clone()) {
            Ok(id) => {
                self.sent.insert(id, (request, true));
                true
            }
            Err(e) => {
                tracing::debug!("cannot resend with credentials: {e}");
                false
            }
        }
    }

    /// Builds an in-dialog request with our Contact and User-Agent.
    fn dialog_request(
        &mut self,
        h: CallHandle,
        method: rsip::Method,
        content_type: &str,
        body: &[u8],
    ) -> Result<rsip::Request, CallError> {
        let branch = self.branch();
        let sent_by = self.sent_by();
        let contact = self.contact();
        let transport = self.config.transport;
        let ua = self.config.user_agent.clone();
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        let dialog = call
            .dialog
            .as_mut()
            .ok_or(CallError::InvalidState("not connected"))?;
        let mut r = dialog.create_request(method, transport, &sent_by, &branch)?;
        if matches!(
            method,
            rsip::Method::Invite | rsip::Method::Refer | rsip::Method::Notify
        ) {
            build::push_header(&mut r.headers, rsip::headers::Contact::new(contact).into());
        }
        if method == rsip::Method::Invite {
            build::push_header(
                &mut r.headers,
                rsip::headers::Allow::new(ALLOW.join(", ")).into(),
            );
        }
        build::push_header(&mut r.headers, rsip::headers::UserAgent::new(ua).into());
        let rsip::Request {
            headers,
            body: slot,
            ..
        } = &mut r;
        build::set_body(headers, slot, content_type, body);
        Ok(r)
    }

    /// Sends BYE (when there is a confirmed dialog), reports the end and forgets the call
    /// later.
    fn terminate_with_bye(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        cause: EndCause,
    ) {
        let has_dialog = self.calls.get(&h).is_some_and(|c| c.dialog.is_some());
        if has_dialog {
            match self.dialog_request(h, rsip::Method::Bye, "", b"") {
                Ok(bye) => {
                    if let Err(e) = self.send_in_dialog(now, layer, h, Role::Bye, bye) {
                        tracing::debug!("cannot send BYE: {e}");
                    }
                }
                Err(e) => tracing::debug!("cannot build BYE: {e}"),
            }
        }
        self.end(now, h, cause);
    }

    /// Marks the call over, reports why (once) and schedules forgetting it.
    fn end(&mut self, now: Instant, h: CallHandle, cause: EndCause) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let was_reported = std::mem::replace(&mut call.reported, true);
        call.state = CallState::Ended;
        call.cancel_deadline = None;
        call.glare_retry = None;
        call.prack_wait = None;
        if !was_reported {
            self.events.push_back(CallEvent::Ended { call: h, cause });
        }
        self.forget_later(now, h);
    }

    /// Keeps an ended call for 64·T1 to absorb retransmissions (§17.1.1.2's Timer B span).
    fn forget_later(&mut self, now: Instant, h: CallHandle) {
        let span = self.config.timers.t1x64();
        if let Some(call) = self.calls.get_mut(&h)
            && !call.is_live()
        {
            call.linger_until.get_or_insert(now + span);
        }
    }
}

/// Sends a response in a server transaction; a failure only means the transaction is gone.
fn send_response(now: Instant, layer: &mut TransactionLayer, id: TransactionId, r: rsip::Response) {
    if let Err(e) = layer.send_response(now, id, r) {
        tracing::debug!("cannot send response: {e}");
    }
}

fn host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// The §14.1 glare back-off: the owner of the Call-ID (the UAC of the dialog) waits 2.1–4 s,
/// the other side 0–2 s, in units of 10 ms.
fn glare_delay(rng: &mut Rng, owns_call_id: bool) -> Duration {
    if owns_call_id {
        Duration::from_millis(2100 + 10 * rng.below(191))
    } else {
        Duration::from_millis(10 * rng.below(201))
    }
}
