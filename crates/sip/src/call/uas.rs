//! Incoming calls (RFC 3261 §13.3): ring, answer with the 2xx retransmitted until the ACK,
//! reject, CANCEL, and a second call while one is in progress.

use rsip::prelude::*;
use std::time::Instant;

use super::build::{self, SDP};
use super::reason::CallFailure;
use super::{
    Call, CallError, CallEvent, CallHandle, CallLayer, CallState, EndCause, Role, send_response,
};
use crate::dialog::{AckWait, AckWaitAction, Dialog};
use crate::transaction::{Peer, TransactionId, TransactionLayer, response_for};

impl CallLayer {
    /// A new INVITE outside any dialog.
    pub(super) fn on_invite(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: rsip::Request,
        peer: Peer,
    ) {
        // §8.2.2.3: a Require we cannot meet is 420 (RFC 3262 100rel we can).
        let unsupported = crate::validate::unsupported_requirements(&request, &["100rel"]);
        let tag = self.rng.token();
        if !unsupported.is_empty() {
            let r = crate::responses::bad_extension(&request, &tag, &unsupported);
            send_response(now, layer, id, r);
            return;
        }
        let from = build::header(&request.headers, "From").unwrap_or_default();
        let busy = !self.active_calls().is_empty();
        if busy && !self.config.call_waiting {
            let r = build::response(&request, 486, "Busy Here", &tag, None);
            send_response(now, layer, id, r);
            self.events.push_back(CallEvent::AutoRejected { from });
            return;
        }
        let h = self.alloc();
        let call_id = build::call_id(&request.headers).unwrap_or_default();
        let mut call = Call::new(CallState::Incoming, false, call_id, tag, peer);
        call.local_uri = build::header(&request.headers, "To").unwrap_or_default();
        call.dialled = build::uri_of(&from);
        call.server_tx = Some(id);
        call.reliable_1xx = crate::prack::requires_100rel(&request.headers);
        call.incoming_invite = Some(request.clone());
        self.calls.insert(h, call);
        self.txs.insert(id, (h, Role::ServerInvite));
        self.events.push_back(CallEvent::Incoming {
            call: h,
            from,
            to: build::header(&request.headers, "To").unwrap_or_default(),
            offer: build::sdp_body(&request.headers, &request.body),
            waiting: busy,
        });
    }

    fn incoming(
        &mut self,
        h: CallHandle,
    ) -> Result<(&mut Call, TransactionId, rsip::Request), CallError> {
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        if call.state != CallState::Incoming {
            return Err(CallError::InvalidState("not ringing"));
        }
        let (Some(id), Some(req)) = (call.server_tx, call.incoming_invite.clone()) else {
            return Err(CallError::InvalidState("not an incoming call"));
        };
        Ok((call, id, req))
    }

    /// Rings an incoming call: `180 Ringing` (§13.3.1.1). When the caller requires it, the
    /// 180 is reliable (RFC 3262 §3): it carries `RSeq`, forms an early dialog and is
    /// retransmitted until the PRACK arrives.
    pub fn ring(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) -> Result<(), CallError> {
        let contact = self.contact();
        let timers = self.config.timers;
        let (call, id, req) = self.incoming(h)?;
        let mut r = build::response(&req, 180, "Ringing", &call.local_tag, Some(&contact));
        if call.reliable_1xx {
            if call.prack_wait.as_ref().is_some_and(AckWait::is_waiting) {
                // §3: no new reliable provisional before the previous one is PRACKed.
                return Ok(());
            }
            call.rseq_sent += 1;
            r = crate::prack::make_reliable(r, call.rseq_sent);
            let early = Dialog::new_uas(&req, &call.local_tag, false)?;
            call.early.insert(early.id.remote_tag.clone(), early);
            let reliable = call.peer.transport.is_reliable();
            call.prack_wait = Some(AckWait::for_reliable_provisional(
                now,
                r.clone(),
                reliable,
                timers,
            ));
        }
        layer.send_response(now, id, r)?;
        Ok(())
    }

    /// A PRACK for our reliable provisional (RFC 3262 §3): `200`, and stop retransmitting.
    pub(super) fn on_prack(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        request: rsip::Request,
    ) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let rack = build::header(&request.headers, "RAck").unwrap_or_default();
        let rseq = rack
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        if call.prack_wait.is_none() || rseq != Some(call.rseq_sent) {
            // §3: a PRACK that matches no unacknowledged reliable provisional.
            let r = response_for(&request, 481, "Call/Transaction Does Not Exist");
            send_response(now, layer, id, r);
            return;
        }
        if let Some(w) = call.prack_wait.as_mut() {
            w.handle_ack();
        }
        call.prack_wait = None;
        send_response(now, layer, id, response_for(&request, 200, "OK"));
    }

    /// Answers an incoming call with `200 OK` carrying `sdp` (the answer, or our offer when the
    /// INVITE had none). The 2xx is retransmitted until the ACK; without ACK in 64·T1 the
    /// call ends with BYE (§13.3.1.4).
    pub fn answer(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        sdp: Vec<u8>,
    ) -> Result<(), CallError> {
        let contact = self.contact();
        let timers = self.config.timers;
        let (call, id, req) = self.incoming(h)?;
        let mut ok = build::response(&req, 200, "OK", &call.local_tag, Some(&contact));
        build::push_header(
            &mut ok.headers,
            rsip::headers::Allow::new(super::ALLOW.join(", ")).into(),
        );
        let rsip::Response { headers, body, .. } = &mut ok;
        build::set_body(headers, body, SDP, &sdp);
        let dialog = Dialog::new_uas(&req, &call.local_tag, true)?;
        layer.send_response(now, id, ok.clone())?;
        call.prack_wait = None;
        call.early.clear();
        call.dialog = Some(dialog);
        call.state = CallState::Answering;
        call.ack_wait = Some((
            AckWait::new(now, ok, call.peer.transport.is_reliable(), timers),
            Some(id),
        ));
        call.advertised = Some(contact);
        Ok(())
    }

    /// Rejects an incoming call with `code` (486 Busy Here, 603 Decline, 488 …).
    pub fn reject(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        code: u16,
    ) -> Result<(), CallError> {
        let (call, id, req) = self.incoming(h)?;
        let code = if (300..700).contains(&code) {
            code
        } else {
            603
        };
        let reason = match code {
            486 => "Busy Here",
            488 => "Not Acceptable Here",
            480 => "Temporarily Unavailable",
            600 => "Busy Everywhere",
            603 => "Decline",
            _ => "Rejected",
        };
        let r = build::response(&req, code, reason, &call.local_tag, None);
        layer.send_response(now, id, r)?;
        call.prack_wait = None;
        self.end(now, h, EndCause::LocalHangup);
        Ok(())
    }

    /// CANCEL (§9.2): `200` to the CANCEL; if the INVITE is still unanswered, `487` to it.
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        id: TransactionId,
        request: rsip::Request,
    ) {
        let invite_tx = layer.find_invite_for_cancel(&request);
        let h = invite_tx.and_then(|tx| {
            self.calls
                .iter()
                .find(|(_, c)| c.server_tx == Some(tx))
                .map(|(h, _)| *h)
        });
        let Some(h) = h else {
            let r = response_for(&request, 481, "Call/Transaction Does Not Exist");
            send_response(now, layer, id, r);
            return;
        };
        let tag = self
            .calls
            .get(&h)
            .map(|c| c.local_tag.clone())
            .unwrap_or_default();
        send_response(
            now,
            layer,
            id,
            build::response(&request, 200, "OK", &tag, None),
        );
        let unanswered = self
            .calls
            .get(&h)
            .is_some_and(|c| c.state == CallState::Incoming);
        if let (true, Some(tx), Some(req)) = (
            unanswered,
            invite_tx,
            self.calls.get(&h).and_then(|c| c.incoming_invite.clone()),
        ) {
            let r = build::response(&req, 487, "Request Terminated", &tag, None);
            send_response(now, layer, tx, r);
            self.end(now, h, EndCause::CallerCancelled);
        }
    }

    /// An ACK: for our 2xx to the INVITE (confirms the call) or to a re-INVITE.
    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        request: rsip::Request,
    ) {
        let Some(h) = self.find_dialog_call(&request) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let waiting = call.ack_wait.as_ref().is_some_and(|(w, _)| w.is_waiting());
        if !waiting {
            return; // a retransmitted ACK
        }
        if let Some((w, _)) = call.ack_wait.as_mut() {
            w.handle_ack();
        }
        call.ack_wait = None;
        if let Some(d) = call.dialog.as_mut()
            && let Err(e) = d.handle_request(&request)
        {
            tracing::debug!("ACK does not fit the dialog: {e}");
        }
        let sdp = build::sdp_body(&request.headers, &request.body);
        if call.update.as_ref().is_some_and(|u| !u.ours) {
            // The ACK for our 2xx to their re-INVITE.
            call.update = None;
            self.ask_target_refresh(h);
            return;
        }
        if call.bye_after_ack {
            call.bye_after_ack = false;
            self.send_bye_only(now, layer, h);
            return;
        }
        if call.state == CallState::Answering {
            call.state = CallState::Active;
            self.events.push_back(CallEvent::Confirmed { call: h, sdp });
            self.ask_target_refresh(h);
        }
    }

    /// Reliable provisional retransmission; without PRACK in 64·T1 the INVITE is rejected
    /// with a 5xx (RFC 3262 §3).
    fn prack_timeout(&mut self, now: Instant, layer: &mut TransactionLayer, h: CallHandle) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let (Some(w), Some(tx)) = (call.prack_wait.as_mut(), call.server_tx) else {
            return;
        };
        match w.handle_timeout(now) {
            Some(AckWaitAction::Retransmit(r)) => send_response(now, layer, tx, r),
            Some(AckWaitAction::GiveUp) => {
                call.prack_wait = None;
                if let Some(req) = call.incoming_invite.clone() {
                    let r = build::response(&req, 504, "No PRACK", &call.local_tag, None);
                    send_response(now, layer, tx, r);
                }
                let failure = CallFailure::for_status(504, "no PRACK", &call.dialled);
                self.end(now, h, EndCause::Failed(failure));
            }
            None => {}
        }
    }

    /// 2xx retransmission and the no-ACK BYE (§13.3.1.4).
    pub(super) fn uas_timeout(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) {
        self.prack_timeout(now, layer, h);
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let Some((w, tx)) = call.ack_wait.as_mut() else {
            return;
        };
        let tx = *tx;
        let action = w.handle_timeout(now);
        let next_hop = self.config.outbound_proxy.unwrap_or(call.peer);
        match action {
            // Through the transaction while it is Accepted, else straight to the peer.
            Some(AckWaitAction::Retransmit(r))
                if tx.is_none_or(|tx| layer.send_response(now, tx, r.clone()).is_err()) =>
            {
                layer.send_stateless(next_hop, r);
            }
            Some(AckWaitAction::Retransmit(_)) => {}
            Some(AckWaitAction::GiveUp) => {
                call.ack_wait = None;
                call.update = None;
                let was_hung_up = std::mem::take(&mut call.bye_after_ack);
                if was_hung_up {
                    self.send_bye_only(now, layer, h);
                } else {
                    self.terminate_with_bye(now, layer, h, EndCause::Failed(CallFailure::no_ack()));
                }
            }
            None => {}
        }
    }

    /// BYE without reporting (the end was reported already).
    pub(super) fn send_bye_only(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) {
        match self.dialog_request(h, rsip::Method::Bye, "", b"") {
            Ok(bye) => {
                if let Err(e) = self.send_in_dialog(now, layer, h, Role::Bye, bye) {
                    tracing::debug!("cannot send BYE: {e}");
                }
            }
            Err(e) => tracing::debug!("cannot build BYE: {e}"),
        }
    }

    /// BYE from the peer (§15.1.2): `200`, and the call is over.
    pub(super) fn on_bye(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        request: rsip::Request,
    ) {
        send_response(now, layer, id, response_for(&request, 200, "OK"));
        if let Some(call) = self.calls.get_mut(&h) {
            call.ack_wait = None;
            // A BYE in an early dialog of ours (§15: the callee may not, but be lenient).
            call.early.clear();
        }
        self.end(now, h, EndCause::RemoteHangup);
    }
}
