//! Calls that outlive their flow (RFC 5626 §5 flow recovery).
//!
//! An account sends every call request through its registration's flow (a TCP connection, a
//! UDP path through a NAT). When that flow dies — the server restarted, the Wi-Fi blinked —
//! the media of a connected call usually goes on untouched (it never went through the
//! server), so the call must not die with the flow. The driver keeps the [`CallLayer`], opens
//! a new flow with a new [`TransactionLayer`], and calls [`CallLayer::move_to_flow`]:
//! - new requests use the new flow: its local address (Via, default Contact), transport and
//!   next hop. The old Contact is forgotten until registration on the new flow learns the
//!   new one ([`CallLayer::set_contact`]).
//! - The old transaction layer is gone with its transactions, and the new one numbers its
//!   transactions from the start again, so every pending id is resolved here and forgotten:
//!   a call not yet connected ends ([`CallFailure::flow_lost`]: its INVITE transaction, and
//!   the answer that would come back on it, are lost); our pending re-INVITE fails
//!   ([`CallEvent::UpdateFailed`], the session stays as it was); our REFER reports a final
//!   503; DTMF digits not yet sent are dropped; a CANCEL or BYE in flight ends its call; a
//!   re-INVITE of the peer's that we had not answered is dropped with its transaction.
//!   Nothing pending hangs a call, and no old id can match a new layer's transaction.
//! - A call hung up while there was no flow ([`CallLayer::hangup_without_flow`]: the person
//!   need not wait for the reconnection to see it end) sends its BYE first thing on the new
//!   flow, if that comes within 64·T1 (§17.1.1.2, how long an ended call is remembered).
//! - Once the new Contact is known, each connected call whose peer still holds the old one
//!   asks the application for a target refresh ([`CallEvent::TargetRefresh`]): a re-INVITE
//!   with the same session carries the new Contact (RFC 3261 §12.2.1.2), so the peer's
//!   requests (its BYE, its hold) reach us on the new flow. It is asked when no other INVITE
//!   transaction runs in the dialog (§14.1), once per new Contact.
//!
//! ```text
//! // the flow died: the session ends, the call layer stays
//! calls.hangup_without_flow(now, call)?;          // the person hung up meanwhile
//! let mut layer = TransactionLayer::new(timers);   // the new flow's
//! calls.move_to_flow(now, &mut layer, new_flow.local(), new_flow.transport(), Some(peer));
//! // … REGISTER on the new flow; on its 2xx:
//! calls.set_contact(Some(registered_contact));   // → TargetRefresh for moved calls
//! // the application answers TargetRefresh with calls.update(now, &mut layer, call, same_sdp)
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use super::{CallError, CallEvent, CallFailure, CallHandle, CallLayer, CallState, EndCause, Role};
use crate::transaction::{Peer, TransactionId, TransactionLayer, TransportKind};

impl CallLayer {
    /// The flow under the calls was replaced (see flow recovery in [`crate::call`]): new
    /// requests go from `local` over `transport` to `outbound_proxy`; every transaction of the
    /// old transaction layer is resolved now. Call [`set_contact`](Self::set_contact) once
    /// registration on the new flow learns our Contact. Drain [`poll_event`](Self::poll_event)
    /// afterwards: calls that could not go on report `Ended`, pending changes `UpdateFailed`.
    /// `layer` is the new flow's: the BYEs of calls hung up without a flow leave on it.
    pub fn move_to_flow(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        local: SocketAddr,
        transport: TransportKind,
        outbound_proxy: Option<Peer>,
    ) {
        self.config.local = local;
        self.config.transport = transport;
        self.config.outbound_proxy = outbound_proxy;
        // The old Contact names the old flow; until registration tells the new one, requests
        // carry one built from the new local address.
        self.config.contact = None;
        // The ids belong to the old layer: a new layer reuses them for its own transactions.
        let pending: Vec<(TransactionId, (CallHandle, Role))> = self.txs.drain().collect();
        self.sent.clear();
        let handles: Vec<CallHandle> = self.calls.keys().copied().collect();
        for h in handles {
            let roles: Vec<Role> = pending
                .iter()
                .filter(|(_, (c, _))| *c == h)
                .map(|(_, (_, r))| *r)
                .collect();
            self.call_lost_flow(now, h, &roles, outbound_proxy);
            if self
                .calls
                .get_mut(&h)
                .is_some_and(|c| std::mem::take(&mut c.bye_on_next_flow))
            {
                self.send_bye_only(now, layer, h);
            }
        }
    }

    /// Hangs up call `h` while the account has no flow (the last one died, the next is not
    /// open yet): the call ends for the application now, as any hang-up does, instead of
    /// when the network comes back. A connected call's BYE waits for the next flow
    /// ([`move_to_flow`](Self::move_to_flow)); a call not yet connected has nothing left to
    /// send (its transaction went with the flow). Ending an ended call does nothing.
    pub fn hangup_without_flow(&mut self, now: Instant, h: CallHandle) -> Result<(), CallError> {
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        let cause = match call.state {
            CallState::Active | CallState::Answering => {
                call.bye_on_next_flow = call.dialog.is_some();
                EndCause::LocalHangup
            }
            CallState::Dialing | CallState::Ringing => EndCause::Cancelled,
            CallState::Incoming => EndCause::LocalHangup,
            CallState::Ending | CallState::Ended => return Ok(()),
        };
        call.ack_wait = None;
        call.update = None;
        call.bye_after_ack = false;
        self.end(now, h, cause);
        Ok(())
    }

    fn call_lost_flow(
        &mut self,
        now: Instant,
        h: CallHandle,
        roles: &[Role],
        outbound_proxy: Option<Peer>,
    ) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        call.invite_tx = None;
        call.server_tx = None;
        call.prack_wait = None;
        if let Some((_, tx)) = call.ack_wait.as_mut() {
            *tx = None;
        }
        if let Some(p) = outbound_proxy {
            call.peer = p;
        }
        match call.state {
            CallState::Dialing | CallState::Ringing | CallState::Incoming => {
                tracing::debug!(?h, "a call not yet connected ends with its flow");
                self.end(now, h, EndCause::Failed(CallFailure::flow_lost()));
                return;
            }
            CallState::Ending => {
                // Our CANCEL or BYE went with the flow: the call is over for us.
                let cause = if call.dialog.is_none() && call.outgoing {
                    EndCause::Cancelled
                } else {
                    EndCause::LocalHangup
                };
                self.end(now, h, cause);
                return;
            }
            CallState::Ended => {
                call.ack_wait = None;
                return;
            }
            CallState::Answering | CallState::Active => {}
        }
        call.moved = true;
        call.refresh_asked = None;
        // Digits not yet sent would arrive late, out of place: drop them with the INFO.
        call.dtmf_queue.clear();
        call.info_in_flight = false;
        match call.update.take() {
            Some(u) if u.ours => {
                self.events.push_back(CallEvent::UpdateFailed {
                    call: h,
                    failure: CallFailure::request_lost(),
                });
            }
            Some(_) if call.state == CallState::Active => {
                // The peer's re-INVITE: unanswered, its transaction is gone (the peer times it
                // out); answered, its ACK would come on the old flow, and waiting for it would
                // end the call with the no-ACK BYE (§13.3.1.4). Its session is in place.
                call.ack_wait = None;
            }
            Some(_) | None => {}
        }
        if roles.contains(&Role::Refer) {
            self.events.push_back(CallEvent::TransferProgress {
                call: h,
                code: 503,
                reason: "Service Unavailable".into(),
                done: true,
            });
        }
    }

    /// Asks the application for a target refresh of call `h` when it outlived its flow, the
    /// peer holds an older Contact than the registered one, and no INVITE transaction runs
    /// in the dialog (RFC 3261 §14.1; checked again when the running one ends).
    pub(super) fn ask_target_refresh(&mut self, h: CallHandle) {
        if self.config.contact.is_none() {
            return; // not registered on the new flow yet
        }
        let current = self.contact();
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let wanted = call.moved
            && call.state == CallState::Active
            && call.dialog.is_some()
            && call.update.is_none()
            && call.ack_wait.is_none()
            && call.glare_retry.is_none()
            && call.advertised.as_deref().is_some_and(|a| a != current)
            && call.refresh_asked.as_deref() != Some(current.as_str());
        if wanted {
            call.refresh_asked = Some(current);
            self.events.push_back(CallEvent::TargetRefresh { call: h });
        }
    }

    /// [`ask_target_refresh`](Self::ask_target_refresh) for every call.
    pub(super) fn ask_target_refreshes(&mut self) {
        let handles: Vec<CallHandle> = self.calls.keys().copied().collect();
        for h in handles {
            self.ask_target_refresh(h);
        }
    }
}

impl CallLayer {
    /// The account has no flow any more and will not get one (removed, shut down, refused by
    /// the registrar): every live call ends at once with [`CallFailure::account_stopped`],
    /// without signalling (there is nothing to send it on). Drain
    /// [`poll_event`](Self::poll_event) afterwards.
    pub fn end_without_flow(&mut self, now: Instant) {
        self.txs.clear();
        self.sent.clear();
        for h in self.active_calls() {
            if let Some(call) = self.calls.get_mut(&h) {
                call.ack_wait = None;
                call.update = None;
            }
            self.end(now, h, EndCause::Failed(CallFailure::account_stopped()));
        }
    }
}
