//! The transaction layer: owns every transaction, matches messages to them, runs timers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rsip::prelude::*;

use super::client_invite::ClientInvite;
use super::client_non_invite::ClientNonInvite;
use super::server_invite::ServerInvite;
use super::server_non_invite::ServerNonInvite;
use super::util::{Outbox, branch, cseq, sent_by};
use super::{
    MAGIC_COOKIE, Peer, TimerConfig, TransactionError, TransactionEvent, TransactionId, Transmit,
};
use crate::message::header_param;

/// The state of one transaction, for diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the RFC's names for the four machines
pub enum TransactionState {
    /// INVITE client (§17.1.1).
    ClientInvite(super::client_invite::State),
    /// Non-INVITE client (§17.1.2).
    ClientNonInvite(super::client_non_invite::State),
    /// INVITE server (§17.2.1).
    ServerInvite(super::server_invite::State),
    /// Non-INVITE server (§17.2.2).
    ServerNonInvite(super::server_non_invite::State),
}

#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // the RFC's names for the four machines
enum Tx {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Tx {
    fn state(&self) -> TransactionState {
        match self {
            Tx::ClientInvite(t) => TransactionState::ClientInvite(t.state),
            Tx::ClientNonInvite(t) => TransactionState::ClientNonInvite(t.state),
            Tx::ServerInvite(t) => TransactionState::ServerInvite(t.state),
            Tx::ServerNonInvite(t) => TransactionState::ServerNonInvite(t.state),
        }
    }

    fn is_terminated(&self) -> bool {
        use super::{client_invite as ci, client_non_invite as cn};
        use super::{server_invite as si, server_non_invite as sn};
        matches!(
            self.state(),
            TransactionState::ClientInvite(ci::State::Terminated)
                | TransactionState::ClientNonInvite(cn::State::Terminated)
                | TransactionState::ServerInvite(si::State::Terminated)
                | TransactionState::ServerNonInvite(sn::State::Terminated)
        )
    }

    fn next_timeout(&self) -> Option<Instant> {
        match self {
            Tx::ClientInvite(t) => t.next_timeout(),
            Tx::ClientNonInvite(t) => t.next_timeout(),
            Tx::ServerInvite(t) => t.next_timeout(),
            Tx::ServerNonInvite(t) => t.next_timeout(),
        }
    }

    fn on_timeout(&mut self, now: Instant, out: &mut Outbox<'_>) {
        match self {
            Tx::ClientInvite(t) => t.on_timeout(now, out),
            Tx::ClientNonInvite(t) => t.on_timeout(now, out),
            Tx::ServerInvite(t) => t.on_timeout(now, out),
            Tx::ServerNonInvite(t) => t.on_timeout(now, out),
        }
    }

    fn request(&self) -> &rsip::Request {
        match self {
            Tx::ClientInvite(t) => t.request(),
            Tx::ClientNonInvite(t) => t.request(),
            Tx::ServerInvite(t) => t.request(),
            Tx::ServerNonInvite(t) => t.request(),
        }
    }
}

/// Matching keys (§17.1.3 for clients, §17.2.3 for servers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client {
        branch: String,
        method: String,
    },
    Server {
        branch: String,
        sent_by: String,
        method: String,
    },
}

#[derive(Debug)]
struct Entry {
    tx: Tx,
    peer: Peer,
    key: Key,
}

/// All transactions of one user agent. See the [module docs](super) for the run loop.
#[derive(Debug)]
pub struct TransactionLayer {
    timers: TimerConfig,
    next_id: u64,
    // BTreeMap: timers fire in a deterministic order.
    txs: BTreeMap<TransactionId, Entry>,
    index: HashMap<Key, TransactionId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
}

impl TransactionLayer {
    /// A layer with the given timer values. A zero T1/T2 is raised to 1 ms so timers always
    /// advance.
    pub fn new(mut timers: TimerConfig) -> Self {
        let min = Duration::from_millis(1);
        timers.t1 = timers.t1.max(min);
        timers.t2 = timers.t2.max(min);
        Self {
            timers,
            next_id: 1,
            txs: BTreeMap::new(),
            index: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The timer configuration in use.
    pub fn timers(&self) -> TimerConfig {
        self.timers
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// The state of a live transaction.
    pub fn state(&self, id: TransactionId) -> Option<TransactionState> {
        self.txs.get(&id).map(|e| e.tx.state())
    }

    /// The request that created a live transaction.
    pub fn request(&self, id: TransactionId) -> Option<&rsip::Request> {
        self.txs.get(&id).map(|e| e.tx.request())
    }

    fn alloc_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Starts a client transaction for `request` towards `peer` and queues its first
    /// transmission. The request must carry a top Via with an RFC 3261 branch; an ACK is not a
    /// transaction (use [`send_stateless`](Self::send_stateless)).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: rsip::Request,
        peer: Peer,
    ) -> Result<TransactionId, TransactionError> {
        if request.method == rsip::Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let branch = branch(&request.headers)
            .filter(|b| b.starts_with(MAGIC_COOKIE))
            .ok_or(TransactionError::MissingBranch)?;
        let (_, method) = cseq(&request.headers).ok_or(TransactionError::BadCSeq)?;
        let key = Key::Client { branch, method };
        if self.index.contains_key(&key) {
            return Err(TransactionError::Duplicate);
        }
        let id = self.alloc_id();
        let reliable = peer.transport.is_reliable();
        let mut out = Outbox {
            id,
            peer,
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let tx = if request.method == rsip::Method::Invite {
            Tx::ClientInvite(ClientInvite::start(
                now,
                request,
                reliable,
                self.timers,
                &mut out,
            ))
        } else {
            Tx::ClientNonInvite(ClientNonInvite::start(
                now,
                request,
                reliable,
                self.timers,
                &mut out,
            ))
        };
        self.index.insert(key.clone(), id);
        self.txs.insert(id, Entry { tx, peer, key });
        Ok(id)
    }

    /// Queues a message outside any transaction: the ACK for a 2xx (§13.2.2.4), or a
    /// stateless response such as a [`crate::Rejection`]'s.
    pub fn send_stateless(&mut self, peer: Peer, message: impl Into<rsip::SipMessage>) {
        self.transmits.push_back(Transmit {
            peer,
            message: message.into(),
            transaction: None,
        });
    }

    /// Sends a response within server transaction `id`.
    pub fn send_response(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: rsip::Response,
    ) -> Result<(), TransactionError> {
        self.drive(id, |tx, out| match tx {
            Tx::ServerInvite(t) => t.send_response(now, response, out),
            Tx::ServerNonInvite(t) => t.send_response(now, response, out),
            _ => Err(TransactionError::InvalidState("client transaction")),
        })
        .unwrap_or(Err(TransactionError::NoSuchTransaction))
    }

    /// Feeds a valid message (from [`crate::Inbound`]) received from `from`.
    pub fn handle_message(&mut self, now: Instant, message: rsip::SipMessage, from: Peer) {
        match message {
            rsip::SipMessage::Request(r) => self.handle_request(now, r, from),
            rsip::SipMessage::Response(r) => self.handle_response(now, r),
        }
    }

    fn handle_response(&mut self, now: Instant, response: rsip::Response) {
        // §17.1.3: branch of the top Via and the CSeq method.
        let key = match (branch(&response.headers), cseq(&response.headers)) {
            (Some(branch), Some((_, method))) => Key::Client { branch, method },
            _ => {
                self.events
                    .push_back(TransactionEvent::StrayResponse { response });
                return;
            }
        };
        let Some(&id) = self.index.get(&key) else {
            self.events
                .push_back(TransactionEvent::StrayResponse { response });
            return;
        };
        self.drive(id, |tx, out| match tx {
            Tx::ClientInvite(t) => t.on_response(now, response, out),
            Tx::ClientNonInvite(t) => t.on_response(now, response, out),
            _ => {}
        });
    }

    fn handle_request(&mut self, now: Instant, mut request: rsip::Request, from: Peer) {
        stamp_via(&mut request, from);
        let key = server_key(&request);
        let is_ack = request.method == rsip::Method::Ack;
        if let Some(&id) = self.index.get(&key) {
            self.drive(id, |tx, out| match tx {
                Tx::ServerInvite(t) => t.on_request(now, request, out),
                Tx::ServerNonInvite(t) if !is_ack => t.on_request(out),
                _ => {}
            });
            return;
        }
        if is_ack {
            // The ACK for a 2xx is its own transaction-less request (§17.2.3, §13.3.1.4).
            self.events.push_back(TransactionEvent::Ack {
                id: None,
                request,
                peer: from,
            });
            return;
        }
        let id = self.alloc_id();
        let reliable = from.transport.is_reliable();
        let tx = if request.method == rsip::Method::Invite {
            Tx::ServerInvite(ServerInvite::new(
                now,
                request.clone(),
                reliable,
                self.timers,
            ))
        } else {
            Tx::ServerNonInvite(ServerNonInvite::new(
                now,
                request.clone(),
                reliable,
                self.timers,
            ))
        };
        self.index.insert(key.clone(), id);
        self.txs.insert(
            id,
            Entry {
                tx,
                peer: from,
                key,
            },
        );
        if self.is_merged(id, &request) {
            // §8.2.2.2: the same request reached us twice by different paths (a forking
            // proxy); answer the copy with 482 inside its own transaction and keep it from
            // the TU.
            tracing::debug!("merged request, answering 482");
            let resp = super::util::response_for(&request, 482, "Loop Detected");
            if let Err(e) = self.send_response(now, id, resp) {
                tracing::debug!("cannot answer merged request: {e}");
            }
            return;
        }
        self.events.push_back(TransactionEvent::Request {
            id,
            request,
            peer: from,
        });
    }

    /// A request without To tag whose From tag, Call-ID and CSeq match another live server
    /// transaction's request is a merged copy (§8.2.2.2).
    fn is_merged(&self, id: TransactionId, request: &rsip::Request) -> bool {
        let tag = |h: Result<&str, ()>| {
            h.ok()
                .and_then(|v| header_param(v, "tag"))
                .map(str::to_owned)
        };
        if tag(request.to_header().map(|t| t.value()).map_err(|_| ())).is_some() {
            return false;
        }
        let ident = |r: &rsip::Request| {
            (
                tag(r.from_header().map(|f| f.value()).map_err(|_| ())),
                r.call_id_header().map(|c| c.value().to_owned()).ok(),
                cseq(&r.headers),
            )
        };
        let mine = ident(request);
        if mine.0.is_none() || mine.1.is_none() || mine.2.is_none() {
            return false;
        }
        self.txs.iter().any(|(other, e)| {
            *other != id && matches!(e.key, Key::Server { .. }) && ident(e.tx.request()) == mine
        })
    }

    /// The INVITE server transaction a CANCEL refers to (§9.2: same branch, sent-by and
    /// Request-URI), so the TU can answer it with 487.
    pub fn find_invite_for_cancel(&self, cancel: &rsip::Request) -> Option<TransactionId> {
        let Key::Server {
            branch, sent_by, ..
        } = server_key(cancel)
        else {
            return None;
        };
        self.index
            .get(&Key::Server {
                branch,
                sent_by,
                method: "INVITE".into(),
            })
            .copied()
    }

    /// Fires every timer due at `now`. Call when [`poll_timeout`](Self::poll_timeout)'s
    /// instant has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TransactionId> = self
            .txs
            .iter()
            .filter(|(_, e)| e.tx.next_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // Several timers of one transaction may be due if we are called late; each pass
            // advances at least one of them, and the bound guards against a stuck timer.
            for _ in 0..64 {
                let Some(entry) = self.txs.get(&id) else {
                    break;
                };
                if entry.tx.next_timeout().is_none_or(|t| t > now) {
                    break;
                }
                self.drive(id, |tx, out| tx.on_timeout(now, out));
            }
        }
    }

    /// Reports that a [`Transmit`] of transaction `id` could not be sent (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, _now: Instant, id: TransactionId) {
        self.drive(id, |tx, out| match tx {
            Tx::ClientInvite(t) => t.on_transport_error(out),
            Tx::ClientNonInvite(t) => t.on_transport_error(out),
            Tx::ServerInvite(t) => t.on_transport_error(out),
            Tx::ServerNonInvite(t) => t.on_transport_error(out),
        });
    }

    /// The next message to send. Call after every `handle_*`/`send_*` until `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU. Call after every `handle_*`/`send_*` until `None`.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` when no timer
    /// runs. Ask again after every mutation.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.txs.values().filter_map(|e| e.tx.next_timeout()).min()
    }

    /// Runs `f` on transaction `id` with an [`Outbox`] for it, then removes the transaction
    /// if that terminated it. `None` (and `f` not run) if there is no such transaction.
    fn drive<R>(
        &mut self,
        id: TransactionId,
        f: impl FnOnce(&mut Tx, &mut Outbox<'_>) -> R,
    ) -> Option<R> {
        let entry = self.txs.get_mut(&id)?;
        let mut out = Outbox {
            id,
            peer: entry.peer,
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let result = f(&mut entry.tx, &mut out);
        self.reap(id);
        Some(result)
    }

    fn reap(&mut self, id: TransactionId) {
        if self.txs.get(&id).is_some_and(|e| e.tx.is_terminated())
            && let Some(entry) = self.txs.remove(&id)
        {
            self.index.remove(&entry.key);
            self.events.push_back(TransactionEvent::Terminated { id });
        }
    }
}

/// §17.2.3: branch + sent-by + method (ACK matches INVITE). Requests without an RFC 3261
/// branch (RFC 2543 peers) are keyed on what identifies them instead: Call-ID, CSeq number,
/// From tag and sent-by.
fn server_key(request: &rsip::Request) -> Key {
    let method = match &request.method {
        rsip::Method::Ack => "INVITE".to_owned(),
        m => m.to_string(),
    };
    let sent_by = sent_by(&request.headers).unwrap_or_default();
    let branch = match branch(&request.headers).filter(|b| b.starts_with(MAGIC_COOKIE)) {
        Some(b) => b,
        None => {
            let call_id = request
                .call_id_header()
                .map(|c| c.value().to_owned())
                .unwrap_or_default();
            let num = cseq(&request.headers).map_or(0, |(n, _)| n);
            let from_tag = request
                .from_header()
                .ok()
                .and_then(|f| header_param(f.value(), "tag").map(str::to_owned))
                .unwrap_or_default();
            format!("rfc2543:{call_id}:{num}:{from_tag}")
        }
    };
    Key::Server {
        branch,
        sent_by,
        method,
    }
}

/// Server transport processing of the top Via (RFC 3261 §18.2.1, RFC 3581 §4): add
/// `received` when the source address differs from sent-by, and fill in an empty `rport`.
/// Responses copy this Via, which is how the client learns its public address.
fn stamp_via(request: &mut rsip::Request, from: Peer) {
    let Some(via) = request.headers.iter_mut().find_map(|h| match h {
        rsip::Header::Via(v) => Some(v),
        _ => None,
    }) else {
        return;
    };
    let value = via.value().to_owned();
    let host = value
        .split_once(' ')
        .map(|(_, rest)| rest.split(';').next().unwrap_or_default().trim())
        .unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let ip = from.addr.ip().to_string();
    let rport = header_param(&value, "rport");
    let mut params: Vec<String> = value.split(';').map(str::to_owned).collect();
    let needs_received = host != ip || rport.is_some();
    if rport == Some("") {
        for p in params.iter_mut() {
            if p.trim().eq_ignore_ascii_case("rport") {
                *p = format!("rport={}", from.addr.port());
            }
        }
    }
    if needs_received && header_param(&value, "received").is_none() {
        params.push(format!("received={ip}"));
    }
    via.replace(params.join(";"));
}
