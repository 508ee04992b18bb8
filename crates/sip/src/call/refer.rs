//! Blind transfer (RFC 3515): REFER with Refer-To, the implicit subscription, and NOTIFY with
//! a `message/sipfrag` status line (RFC 3515 §2.4.5, RFC 3420) both ways.

use rsip::prelude::*;
use std::time::Instant;

use super::build::{self, SIPFRAG};
use super::reason::reason_phrase;
use super::{CallError, CallEvent, CallHandle, CallLayer, CallState, Role, send_response};
use crate::transaction::{TransactionId, TransactionLayer, response_for};

impl CallLayer {
    /// Asks the peer to call `target` (blind transfer). Progress arrives as
    /// [`CallEvent::TransferProgress`]; hang up when it is `done` with a 2xx.
    pub fn transfer(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        target: &str,
    ) -> Result<(), CallError> {
        let call = self.calls.get(&h).ok_or(CallError::NoSuchCall)?;
        if call.state != CallState::Active {
            return Err(CallError::InvalidState("not connected"));
        }
        if rsip::Uri::try_from(target.trim()).is_err() {
            return Err(CallError::Build(format!("not a SIP address: '{target}'")));
        }
        let mut req = self.dialog_request(h, rsip::Method::Refer, "", b"")?;
        build::push_header(
            &mut req.headers,
            rsip::Header::Other("Refer-To".into(), format!("<{}>", target.trim())),
        );
        build::push_header(
            &mut req.headers,
            rsip::Header::Other("Referred-By".into(), format!("<{}>", self.config.aor)),
        );
        self.send_in_dialog(now, layer, h, Role::Refer, req)?;
        Ok(())
    }

    pub(super) fn on_refer_response(&mut self, h: CallHandle, response: &rsip::Response) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        self.events.push_back(CallEvent::TransferProgress {
            call: h,
            code,
            reason: reason_phrase(response),
            done: code >= 300,
        });
    }

    /// A NOTIFY for our REFER's implicit subscription (RFC 3515 §2.4.4).
    pub(super) fn on_notify(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        request: rsip::Request,
    ) {
        let event = build::header(&request.headers, "Event").unwrap_or_default();
        if !event.to_ascii_lowercase().starts_with("refer") {
            send_response(now, layer, id, response_for(&request, 489, "Bad Event"));
            return;
        }
        send_response(now, layer, id, response_for(&request, 200, "OK"));
        let Some((code, reason)) = parse_sipfrag(&request.body) else {
            return;
        };
        let terminated = build::header(&request.headers, "Subscription-State")
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("terminated"));
        self.events.push_back(CallEvent::TransferProgress {
            call: h,
            code,
            reason,
            done: terminated || code >= 200,
        });
    }

    /// A REFER from the peer: `202 Accepted`, the first NOTIFY (`100 Trying`, §2.4.4), and
    /// [`CallEvent::TransferRequested`] for the application, which places the new call.
    pub(super) fn on_refer(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        request: rsip::Request,
    ) {
        let Some(target) = build::header(&request.headers, "Refer-To").map(|v| build::uri_of(&v))
        else {
            send_response(
                now,
                layer,
                id,
                response_for(&request, 400, "Missing Refer-To"),
            );
            return;
        };
        let contact = self.contact();
        let tag = self
            .calls
            .get(&h)
            .map(|c| c.local_tag.clone())
            .unwrap_or_default();
        let r = build::response(&request, 202, "Accepted", &tag, Some(&contact));
        send_response(now, layer, id, r);
        if let Some(call) = self.calls.get_mut(&h) {
            call.refer_notifier = true;
        }
        self.events
            .push_back(CallEvent::TransferRequested { call: h, target });
        if let Err(e) = self.notify(now, layer, h, 100, "Trying") {
            tracing::debug!("cannot send NOTIFY: {e}");
        }
    }

    /// Reports how the call we placed for the peer's REFER is going (RFC 3515 §2.4.5): `180`,
    /// then the final status, which ends the subscription.
    pub fn transfer_progress(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        code: u16,
        reason: &str,
    ) -> Result<(), CallError> {
        let call = self.calls.get(&h).ok_or(CallError::NoSuchCall)?;
        if !call.refer_notifier {
            return Err(CallError::InvalidState("no transfer was requested"));
        }
        self.notify(now, layer, h, code, reason)
    }

    fn notify(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        code: u16,
        reason: &str,
    ) -> Result<(), CallError> {
        let body = format!("SIP/2.0 {code} {reason}\r\n");
        let mut req = self.dialog_request(h, rsip::Method::Notify, SIPFRAG, body.as_bytes())?;
        build::push_header(&mut req.headers, rsip::headers::Event::new("refer").into());
        let state = if code >= 200 {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        build::push_header(
            &mut req.headers,
            rsip::headers::SubscriptionState::new(state).into(),
        );
        self.send_in_dialog(now, layer, h, Role::Notify, req)?;
        if code >= 200
            && let Some(call) = self.calls.get_mut(&h)
        {
            call.refer_notifier = false;
        }
        Ok(())
    }
}

/// The status line of a sipfrag body: `SIP/2.0 200 OK` → (200, "OK").
fn parse_sipfrag(body: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next()?.trim();
    let mut parts = line.splitn(3, ' ');
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let code = parts
        .next()?
        .parse::<u16>()
        .ok()
        .filter(|c| (100..700).contains(c))?;
    Some((code, parts.next().unwrap_or_default().to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sipfrag_status_line() {
        assert_eq!(
            super::parse_sipfrag(b"SIP/2.0 180 Ringing\r\n"),
            Some((180, "Ringing".into()))
        );
        assert_eq!(super::parse_sipfrag(b"junk"), None);
    }
}
