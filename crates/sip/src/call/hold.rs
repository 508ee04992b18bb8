//! Session changes in a confirmed dialog (RFC 3261 §14): re-INVITE both ways, used for hold
//! and resume (the caller's SDP says `sendonly`/`inactive`/`sendrecv`, RFC 3264 §8.4), with
//! glare handled by `491 Request Pending` and a retry after the §14.1 random interval.

use rsip::prelude::*;
use std::time::Instant;

use super::build::{self, SDP};
use super::reason::{CallFailure, reason_phrase};
use super::{
    CallError, CallEvent, CallHandle, CallLayer, CallState, EndCause, Role, Update, glare_delay,
    send_response,
};
use crate::auth::{Challenge, DigestSession, select_challenge};
use crate::dialog::AckWait;
use crate::transaction::{TransactionId, TransactionLayer, response_for};

impl CallLayer {
    /// Sends a re-INVITE with a new SDP `offer` (hold: `a=sendonly` or `a=inactive`; resume:
    /// `a=sendrecv` — the media crate writes it). The answer comes as [`CallEvent::Updated`].
    pub fn update(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        offer: Vec<u8>,
    ) -> Result<(), CallError> {
        let call = self.calls.get(&h).ok_or(CallError::NoSuchCall)?;
        if call.state != CallState::Active {
            return Err(CallError::InvalidState("not connected"));
        }
        // §14.1: no re-INVITE while another INVITE transaction is in progress either way.
        if call.update.is_some() || call.ack_wait.is_some() {
            return Err(CallError::Busy);
        }
        self.send_reinvite(now, layer, h, offer, None)
    }

    /// Puts the call on hold: a re-INVITE with `offer` (which says `sendonly` or `inactive`).
    pub fn hold(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        offer: Vec<u8>,
    ) -> Result<(), CallError> {
        self.update(now, layer, h, offer)
    }

    /// Takes the call off hold: a re-INVITE with `offer` (which says `sendrecv`).
    pub fn resume(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        offer: Vec<u8>,
    ) -> Result<(), CallError> {
        self.update(now, layer, h, offer)
    }

    fn send_reinvite(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        offer: Vec<u8>,
        challenge: Option<Challenge>,
    ) -> Result<(), CallError> {
        let contact = self.contact();
        let mut req = self.dialog_request(h, rsip::Method::Invite, SDP, &offer)?;
        let authed = challenge.is_some();
        if let (Some(c), Some(creds)) = (challenge, self.config.credentials.clone()) {
            let cnonce = self.rng.token();
            let auth = DigestSession::new(c).authorize(
                &creds,
                "INVITE",
                &req.uri.to_string(),
                &cnonce,
                &offer,
            );
            build::push_header(&mut req.headers, auth.to_header());
        }
        let cseq = build::cseq(&req.headers).map_or(0, |(n, _)| n);
        let tx = self.send_request(now, layer, h, Role::ReInvite, req)?;
        if let Some(call) = self.calls.get_mut(&h) {
            call.glare_retry = None;
            call.update = Some(Update {
                ours: true,
                tx,
                cseq,
                offer,
                request: None,
                authed,
                contact,
            });
        }
        Ok(())
    }

    pub(super) fn on_reinvite_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        response: rsip::Response,
    ) {
        let branch = self.branch();
        let sent_by = self.sent_by();
        let transport = self.config.transport;
        let Some(peer) = self.calls.get(&h).map(|c| self.next_hop(c)) else {
            return;
        };
        let code = response.status_code.code();
        let seq = build::cseq(&response.headers).map_or(0, |(n, _)| n);
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let key = format!("reinvite:{seq}");
        if code / 100 == 2
            && let Some(ack) = call.acks.get(&key)
        {
            layer.send_stateless(peer, ack.clone());
            return;
        }
        let Some(update) = call.update.clone().filter(|u| u.ours && u.cseq == seq) else {
            return;
        };
        match code {
            100..=199 => {}
            200..=299 => {
                call.update = None;
                // §12.2.1.2: the 2xx makes the re-INVITE's Contact our remote target.
                call.advertised = Some(update.contact.clone());
                if let Some(d) = call.dialog.as_mut() {
                    d.handle_response(&response);
                    match d.ack(seq, transport, &sent_by, &branch) {
                        Ok(ack) => {
                            layer.send_stateless(peer, ack.clone());
                            call.acks.insert(key, ack);
                        }
                        Err(e) => tracing::debug!("cannot build ACK: {e}"),
                    }
                }
                let answer = response.body.clone();
                self.events
                    .push_back(CallEvent::Updated { call: h, answer });
            }
            491 => {
                // §14.1: glare. Retry after a random interval; the Call-ID's owner waits longer.
                call.update = None;
                let delay = glare_delay(&mut self.rng, call.outgoing);
                call.glare_retry = Some((now + delay, update.offer));
            }
            401 | 407 if !update.authed => {
                call.update = None;
                let challenge = select_challenge(&Challenge::from_response(&response)).cloned();
                if challenge.is_none()
                    || self
                        .send_reinvite(now, layer, h, update.offer, challenge)
                        .is_err()
                {
                    self.update_failed(h, &response);
                }
            }
            408 | 481 => {
                // §14.1 / §12.2.1.2: the dialog is gone.
                call.update = None;
                let failure =
                    CallFailure::for_status(code, &reason_phrase(&response), &call.dialled);
                if code == 481 {
                    self.end(now, h, EndCause::Failed(failure));
                } else {
                    self.terminate_with_bye(now, layer, h, EndCause::Failed(failure));
                }
            }
            _ => {
                call.update = None;
                self.update_failed(h, &response);
            }
        }
        if code >= 200 {
            self.ask_target_refresh(h);
        }
    }

    fn update_failed(&mut self, h: CallHandle, response: &rsip::Response) {
        let dialled = self
            .calls
            .get(&h)
            .map(|c| c.dialled.clone())
            .unwrap_or_default();
        let failure = CallFailure::for_status(
            response.status_code.code(),
            &reason_phrase(response),
            &dialled,
        );
        self.events
            .push_back(CallEvent::UpdateFailed { call: h, failure });
    }

    /// The glare retry is due (§14.1).
    pub(super) fn glare_timeout(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        if call.glare_retry.as_ref().is_none_or(|(t, _)| *t > now) {
            return;
        }
        let Some((_, offer)) = call.glare_retry.take() else {
            return;
        };
        if call.update.is_some() || call.ack_wait.is_some() {
            // The peer's re-INVITE is still running: try again a little later.
            let delay = glare_delay(&mut self.rng, call.outgoing);
            call.glare_retry = Some((now + delay, offer));
            return;
        }
        if let Err(e) = self.send_reinvite(now, layer, h, offer, None) {
            tracing::debug!("glare retry failed: {e}");
        }
    }

    /// A re-INVITE from the peer (§14.2).
    pub(super) fn on_reinvite(
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
        if call.update.as_ref().is_some_and(|u| u.ours) {
            // §14.2: we have our own re-INVITE outstanding: glare.
            send_response(
                now,
                layer,
                id,
                response_for(&request, 491, "Request Pending"),
            );
            return;
        }
        if call.update.is_some() || call.ack_wait.is_some() || call.state != CallState::Active {
            // §14.2: an INVITE we received is still in progress: 500 with Retry-After 0–10 s.
            let mut r = response_for(&request, 500, "Server Internal Error");
            let secs = self.rng.below(11);
            build::push_header(
                &mut r.headers,
                rsip::headers::RetryAfter::new(secs.to_string()).into(),
            );
            send_response(now, layer, id, r);
            return;
        }
        call.update = Some(Update {
            ours: false,
            tx: id,
            cseq: build::cseq(&request.headers).map_or(0, |(n, _)| n),
            offer: request.body.clone(),
            request: Some(request.clone()),
            authed: false,
            contact: String::new(),
        });
        self.txs.insert(id, (h, Role::ServerReInvite));
        self.events.push_back(CallEvent::UpdateOffered {
            call: h,
            offer: build::sdp_body(&request.headers, &request.body),
        });
    }

    fn their_update(&mut self, h: CallHandle) -> Result<(TransactionId, rsip::Request), CallError> {
        let call = self.calls.get(&h).ok_or(CallError::NoSuchCall)?;
        match &call.update {
            Some(u) if !u.ours && call.ack_wait.is_none() => u
                .request
                .clone()
                .map(|r| (u.tx, r))
                .ok_or(CallError::InvalidState("no session change offered")),
            _ => Err(CallError::InvalidState("no session change offered")),
        }
    }

    /// Answers the peer's re-INVITE with `200 OK` and our SDP `answer` (retransmitted until
    /// the ACK, §13.3.1.4).
    pub fn answer_update(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        answer: Vec<u8>,
    ) -> Result<(), CallError> {
        let (tx, req) = self.their_update(h)?;
        let contact = self.contact();
        let timers = self.config.timers;
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        let mut ok = build::response(&req, 200, "OK", &call.local_tag, Some(&contact));
        let rsip::Response { headers, body, .. } = &mut ok;
        build::set_body(headers, body, SDP, &answer);
        layer.send_response(now, tx, ok.clone())?;
        let reliable = call.peer.transport.is_reliable();
        call.ack_wait = Some((AckWait::new(now, ok, reliable, timers), Some(tx)));
        // §12.2.2: our 2xx's Contact is the peer's remote target for us from now on.
        call.advertised = Some(contact);
        Ok(())
    }

    /// Refuses the peer's re-INVITE (e.g. `488 Not Acceptable Here`); the session stays as it
    /// was.
    pub fn reject_update(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        code: u16,
    ) -> Result<(), CallError> {
        let (tx, req) = self.their_update(h)?;
        let code = if (300..700).contains(&code) {
            code
        } else {
            488
        };
        layer.send_response(now, tx, response_for(&req, code, "Not Acceptable Here"))?;
        if let Some(call) = self.calls.get_mut(&h) {
            call.update = None;
        }
        self.ask_target_refresh(h);
        Ok(())
    }
}
