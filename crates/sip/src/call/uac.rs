//! Outgoing calls (RFC 3261 §13.2): INVITE, provisional responses and early dialogs, the ACK
//! for every 2xx, digest challenges, redirection, CANCEL and forking.

use std::time::Instant;

use super::build::{self, SDP};
use super::reason::{CallFailure, reason_phrase};
use super::{Call, CallError, CallEvent, CallHandle, CallLayer, CallState, Cancel, EndCause, Role};
use crate::auth::{Challenge, DigestSession, select_challenge};
use crate::dialog::Dialog;
use crate::prack::{RseqDecision, prack_for, requires_100rel, rseq};
use crate::transaction::{Peer, TransactionEvent, TransactionId, TransactionLayer, cancel_for};

impl CallLayer {
    /// Places a call to `target` (a SIP URI) with the SDP `offer`, sending the INVITE to
    /// `peer` (the resolved next hop; ignored when [`super::CallConfig::outbound_proxy`] is set).
    pub fn dial(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        target: &str,
        offer: Vec<u8>,
        peer: Peer,
    ) -> Result<CallHandle, CallError> {
        let target = target.trim();
        if rsip::Uri::try_from(target).is_err() || !target.contains(':') {
            return Err(CallError::Build(format!("not a SIP address: '{target}'")));
        }
        let h = self.alloc();
        let call_id = format!("{}{}", self.rng.token(), self.rng.token());
        let tag = self.rng.token();
        let mut call = Call::new(CallState::Dialing, true, call_id, tag, peer);
        call.local_uri = match &self.config.display_name {
            Some(n) => format!("\"{}\" <{}>", n.replace('"', ""), self.config.aor),
            None => format!("<{}>", self.config.aor),
        };
        call.remote_uri = format!("<{target}>");
        call.target = target.to_owned();
        call.dialled = target.to_owned();
        call.tried.push(target.to_owned());
        call.offer = offer;
        self.calls.insert(h, call);
        if let Err(e) = self.send_invite(now, layer, h) {
            self.calls.remove(&h);
            return Err(e);
        }
        Ok(h)
    }

    /// Hangs up whatever the call's state: CANCEL before the answer (sent once a provisional
    /// response arrived, §9.1), `603 Decline` to an incoming call not yet answered, BYE once
    /// connected (§15). Ending an ended call does nothing.
    pub fn hangup(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) -> Result<(), CallError> {
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        match call.state {
            CallState::Dialing | CallState::Ringing => {
                call.state = CallState::Ending;
                call.cancel = Cancel::Wanted;
                // §9.1: if no final response comes within 64·T1 after the CANCEL, give up.
                call.cancel_deadline = Some(now + self.config.timers.t1x64());
                self.maybe_cancel(now, layer, h);
            }
            CallState::Incoming => return self.reject(now, layer, h, 603),
            CallState::Answering => {
                // §15: the callee must not send BYE before the ACK (or giving up on it).
                call.bye_after_ack = true;
                self.end(now, h, EndCause::LocalHangup);
            }
            CallState::Active => self.terminate_with_bye(now, layer, h, EndCause::LocalHangup),
            CallState::Ending | CallState::Ended => {}
        }
        Ok(())
    }

    pub(super) fn send_invite(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) -> Result<(), CallError> {
        let branch = self.branch();
        let cnonce = self.rng.token();
        let sent_by = self.sent_by();
        let contact = self.contact();
        let transport = self.config.transport.via_token();
        let route = self.config.route.clone();
        let ua = self.config.user_agent.clone();
        let creds = self.config.credentials.clone();
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        call.cseq += 1;
        let mut head = format!(
            "INVITE {target} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {sent_by};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={tag}\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {n} INVITE\r\n\
             Contact: {contact}\r\n\
             Allow: {allow}\r\n\
             Supported: 100rel\r\n\
             User-Agent: {ua}\r\n",
            target = call.target,
            from = call.local_uri,
            tag = call.local_tag,
            to = call.remote_uri,
            cid = call.call_id,
            n = call.cseq,
            allow = super::ALLOW.join(", "),
        );
        if let Some(r) = route {
            head.push_str(&format!("Route: {r}\r\n"));
        }
        if let (Some(session), Some(creds)) = (call.digest.as_mut(), creds.as_ref()) {
            let auth = session.authorize(creds, "INVITE", &call.target, &cnonce, &call.offer);
            let name = if auth.proxy {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            head.push_str(&format!("{name}: {}\r\n", auth.to_header_value()));
        }
        let invite = build::request_from_text(head, Some(SDP), &call.offer)?;
        call.invite = Some(invite.clone());
        call.advertised = Some(contact);
        call.provisional = false;
        call.early.clear();
        call.rseq.clear();
        let id = self.send_request(now, layer, h, Role::Invite, invite)?;
        if let Some(call) = self.calls.get_mut(&h) {
            call.invite_tx = Some(id);
        }
        Ok(())
    }

    /// Sends the wanted CANCEL once a provisional response has arrived (§9.1).
    fn maybe_cancel(&mut self, now: Instant, layer: &mut TransactionLayer, h: CallHandle) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        if call.cancel != Cancel::Wanted || !call.provisional {
            return;
        }
        let Some(invite) = call.invite.as_ref() else {
            return;
        };
        let cancel = cancel_for(invite);
        call.cancel = Cancel::Sent;
        if let Err(e) = self.send_request(now, layer, h, Role::Cancel, cancel) {
            tracing::debug!("cannot send CANCEL: {e}");
        }
    }

    pub(super) fn on_invite_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        response: rsip::Response,
    ) {
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        if call.invite_tx != Some(id) {
            // An earlier attempt (before a challenge or redirection): only a late 2xx matters.
            if response.status_code.code() / 100 == 2 {
                self.on_invite_2xx(now, layer, h, response);
            }
            return;
        }
        let code = response.status_code.code();
        match code {
            100 => {
                call.provisional = true;
                self.maybe_cancel(now, layer, h);
            }
            101..=199 => self.on_provisional(now, layer, h, response),
            200..=299 => self.on_invite_2xx(now, layer, h, response),
            300..=399 => self.on_redirect(now, layer, h, &response),
            401 | 407 if call.cancel == Cancel::No => self.on_challenge(now, layer, h, &response),
            _ => {
                let reason = reason_phrase(&response);
                let failure = CallFailure::for_status(code, &reason, &call.dialled);
                let cause = if call.cancel != Cancel::No {
                    EndCause::Cancelled
                } else if matches!(code, 486 | 600 | 603) {
                    EndCause::Rejected(failure)
                } else {
                    EndCause::Failed(failure)
                };
                self.end(now, h, cause);
            }
        }
    }

    fn on_provisional(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        response: rsip::Response,
    ) {
        let branch = self.branch();
        let sent_by = self.sent_by();
        let transport = self.config.transport;
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        call.provisional = true;
        let code = response.status_code.code();
        let mut prack = None;
        if let (Some(tag), Some(invite)) = (build::to_tag(&response.headers), call.invite.as_ref())
        {
            // §13.2.2.4 / §12.1.2: one early dialog per To tag (forking).
            let dialog = match call.early.entry(tag.clone()) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    let d = e.into_mut();
                    d.handle_response(&response);
                    Some(d)
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    match Dialog::new_uac(invite, &response) {
                        Ok(d) => Some(v.insert(d)),
                        Err(e) => {
                            tracing::debug!("1xx does not form a dialog: {e}");
                            None
                        }
                    }
                }
            };
            // RFC 3262 §4: a reliable provisional is taken once, in order, and PRACKed.
            if requires_100rel(&response.headers)
                && let (Some(d), Some(n)) = (dialog, rseq(&response))
            {
                match call.rseq.entry(tag).or_default().check(n) {
                    RseqDecision::Accept => {
                        match prack_for(d, &response, transport, &sent_by, &branch) {
                            Ok(p) => prack = Some(p),
                            Err(e) => tracing::debug!("cannot build PRACK: {e}"),
                        }
                    }
                    RseqDecision::Duplicate | RseqDecision::OutOfOrder => return,
                }
            }
        }
        let report = call.cancel == Cancel::No && call.state != CallState::Ended;
        if report {
            call.state = CallState::Ringing;
            let early_media = build::sdp_body(&response.headers, &response.body);
            self.events.push_back(CallEvent::Progress {
                call: h,
                code,
                reason: reason_phrase(&response),
                early_media,
            });
        }
        if let Some(p) = prack
            && let Err(e) = self.send_request(now, layer, h, Role::Prack, p)
        {
            tracing::debug!("cannot send PRACK: {e}");
        }
        self.maybe_cancel(now, layer, h);
    }

    /// A 2xx to our INVITE: ACK it (every time, §13.2.2.4). The first one connects the call;
    /// one from another fork, or one that crossed our CANCEL, is ACKed and ended with BYE.
    fn on_invite_2xx(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        response: rsip::Response,
    ) {
        let branch = self.branch();
        let sent_by = self.sent_by();
        let transport = self.config.transport;
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let peer = self.config.outbound_proxy.unwrap_or(call.peer);
        let tag = build::to_tag(&response.headers).unwrap_or_default();
        if let Some(ack) = call.acks.get(&tag) {
            // A retransmission: our ACK was lost.
            layer.send_stateless(peer, ack.clone());
            return;
        }
        let Some(invite) = call.invite.as_ref() else {
            return;
        };
        let mut dialog = match call.early.remove(&tag) {
            Some(mut d) => {
                d.handle_response(&response);
                d
            }
            None => match Dialog::new_uac(invite, &response) {
                Ok(d) => d,
                Err(e) => {
                    tracing::debug!("2xx without a usable dialog: {e}");
                    return;
                }
            },
        };
        let invite_seq = build::cseq(&response.headers).map_or(call.cseq, |(n, _)| n);
        let ack = match dialog.ack(invite_seq, transport, &sent_by, &branch) {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!("cannot build ACK: {e}");
                return;
            }
        };
        layer.send_stateless(peer, ack.clone());
        call.acks.insert(tag, ack);
        let unwanted = call.dialog.is_some() || call.cancel != Cancel::No || call.reported;
        if unwanted {
            // Another fork won, or we hung up while this 2xx was on its way: ACK + BYE.
            let bye_branch = self.branch();
            match dialog.create_request(rsip::Method::Bye, transport, &sent_by, &bye_branch) {
                Ok(bye) => {
                    if let Err(e) = self.send_request(now, layer, h, Role::Bye, bye) {
                        tracing::debug!("cannot send BYE: {e}");
                    }
                }
                Err(e) => tracing::debug!("cannot build BYE: {e}"),
            }
            let cancelled = self.calls.get(&h).is_some_and(|c| c.cancel != Cancel::No);
            if cancelled {
                self.end(now, h, EndCause::Cancelled);
            }
            return;
        }
        call.dialog = Some(dialog);
        call.state = CallState::Active;
        // The other early dialogs end when their forks answer or the transaction ends.
        call.early.clear();
        let answer = if build::content_type(&response.headers).is_none_or(|c| c == SDP) {
            response.body.clone()
        } else {
            Vec::new()
        };
        self.events
            .push_back(CallEvent::Answered { call: h, answer });
        self.events
            .push_back(CallEvent::Confirmed { call: h, sdp: None });
    }

    /// §8.1.3.4: try the Contacts of a 3xx in `q` order, never the same URI twice, at most
    /// `max_redirects` times.
    fn on_redirect(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        response: &rsip::Response,
    ) {
        let max = self.config.max_redirects;
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        for t in build::redirect_targets(response) {
            if !call.tried.contains(&t) && !call.redirects.contains(&t) {
                call.redirects.push(t);
            }
        }
        let next =
            if call.cancel == Cancel::No && call.tried.len() <= max && !call.redirects.is_empty() {
                Some(call.redirects.remove(0))
            } else {
                None
            };
        match next {
            Some(t) => {
                call.tried.push(t.clone());
                // Without an outbound proxy, a target with a literal address is reached
                // directly (a LAN phone); a host name still goes through the current next
                // hop (resolving it is the driver's, see the module docs).
                if let Some(p) = literal_peer(&t, call.peer.transport) {
                    call.peer = p;
                }
                call.target = t;
                call.digest = None;
                call.answered_realm = None;
                call.state = CallState::Dialing;
                if let Err(e) = self.send_invite(now, layer, h) {
                    tracing::debug!("cannot follow redirection: {e}");
                    let failure = CallFailure::for_status(
                        response.status_code.code(),
                        &reason_phrase(response),
                        "",
                    );
                    self.end(now, h, EndCause::Failed(failure));
                }
            }
            None => {
                let cause = if call.cancel != Cancel::No {
                    EndCause::Cancelled
                } else {
                    EndCause::Failed(CallFailure::for_status(
                        response.status_code.code(),
                        &reason_phrase(response),
                        &call.dialled,
                    ))
                };
                self.end(now, h, cause);
            }
        }
    }

    /// §22.2: answer a 401/407 once per realm (again only for `stale=true`); a second
    /// fresh challenge means the credentials are wrong.
    fn on_challenge(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        response: &rsip::Response,
    ) {
        let has_creds = self.config.credentials.is_some();
        let Some(call) = self.calls.get_mut(&h) else {
            return;
        };
        let challenges = Challenge::from_response(response);
        let retry = match select_challenge(&challenges) {
            Some(c) if has_creds => {
                let again = call.answered_realm.as_deref() == Some(c.realm.as_str());
                if again && !c.stale {
                    false
                } else {
                    call.answered_realm = Some(c.realm.clone());
                    call.digest = Some(DigestSession::new(c.clone()));
                    true
                }
            }
            _ => false,
        };
        if retry && self.send_invite(now, layer, h).is_ok() {
            return;
        }
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
        self.end(now, h, EndCause::Failed(failure));
    }

    /// Timer B: no final response (§17.1.1.2; the TU treats it as 408, §8.1.3.1).
    pub(super) fn on_invite_timeout(&mut self, now: Instant, h: CallHandle, id: TransactionId) {
        let Some(call) = self.calls.get(&h) else {
            return;
        };
        if call.invite_tx != Some(id) || call.dialog.is_some() {
            return;
        }
        let cause = if call.cancel != Cancel::No {
            EndCause::Cancelled
        } else {
            EndCause::Failed(CallFailure::no_answer(&call.dialled))
        };
        self.end(now, h, cause);
    }

    /// The CANCEL got no final response to the INVITE within 64·T1 (§9.1).
    pub(super) fn uac_timeout(&mut self, now: Instant, h: CallHandle) {
        if self
            .calls
            .get(&h)
            .and_then(|c| c.cancel_deadline)
            .is_some_and(|t| t <= now)
        {
            self.end(now, h, EndCause::Cancelled);
        }
    }

    /// A response no transaction matched: a 2xx retransmission after the INVITE transaction
    /// ended still needs its ACK (§13.2.2.4), and a late fork's 2xx its ACK + BYE.
    pub(super) fn on_stray(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        response: rsip::Response,
    ) -> Option<TransactionEvent> {
        let is_invite_2xx = response.status_code.code() / 100 == 2
            && build::cseq(&response.headers).is_some_and(|(_, m)| m == "INVITE");
        let cid = build::call_id(&response.headers);
        let h = self
            .calls
            .iter()
            .find(|(_, c)| c.outgoing && Some(&c.call_id) == cid.as_ref())
            .map(|(h, _)| *h);
        match h {
            Some(h) if is_invite_2xx => {
                self.on_invite_2xx(now, layer, h, response);
                None
            }
            Some(_) => None,
            None => Some(TransactionEvent::StrayResponse { response }),
        }
    }
}

/// The address of a SIP URI whose host is an IP literal (`sip:bob@192.0.2.7:5090`), port 5060
/// (5061 for sips) when absent (RFC 3263 §4.2).
fn literal_peer(uri: &str, transport: crate::transaction::TransportKind) -> Option<Peer> {
    let uri = rsip::Uri::try_from(uri).ok()?;
    let ip: std::net::IpAddr = match &uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => *ip,
        rsip::Host::Domain(_) => return None,
    };
    let secure = matches!(uri.scheme, Some(rsip::Scheme::Sips));
    let port = uri
        .host_with_port
        .port
        .map(|p| *p.value())
        .unwrap_or(if secure { 5061 } else { 5060 });
    Some(Peer {
        transport,
        addr: std::net::SocketAddr::new(ip, port),
    })
}

#[cfg(test)]
mod tests {
    use crate::transaction::TransportKind;

    #[test]
    fn literal_addresses_are_reached_directly() {
        let p = super::literal_peer("sip:bob@192.0.2.7:5090", TransportKind::Udp);
        assert_eq!(p.map(|p| p.addr.to_string()), Some("192.0.2.7:5090".into()));
        let p = super::literal_peer("sip:bob@192.0.2.7", TransportKind::Udp);
        assert_eq!(p.map(|p| p.addr.port()), Some(5060));
        assert!(super::literal_peer("sip:bob@example.com", TransportKind::Udp).is_none());
    }
}
