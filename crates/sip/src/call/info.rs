//! DTMF in INFO (RFC 6086 carries the `application/dtmf-relay` body many PBXs use:
//! `Signal=5` and `Duration=160`).

use rsip::prelude::*;
use std::time::Instant;

use super::build::{self, DTMF_RELAY};
use super::{CallError, CallEvent, CallHandle, CallLayer, CallState, Role, send_response};
use crate::transaction::{TransactionId, TransactionLayer, response_for};

impl CallLayer {
    /// Sends one DTMF `digit` (`0`–`9`, `*`, `#`, `A`–`D`) lasting `duration_ms` in an INFO.
    /// Digits are sent one INFO at a time, in order: the next leaves when the previous one
    /// is answered.
    pub fn send_dtmf(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        digit: char,
        duration_ms: u32,
    ) -> Result<(), CallError> {
        let digit = digit.to_ascii_uppercase();
        if !"0123456789*#ABCD".contains(digit) {
            return Err(CallError::Build(format!("'{digit}' is not a DTMF digit")));
        }
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        if call.state != CallState::Active {
            return Err(CallError::InvalidState("not connected"));
        }
        call.dtmf_queue.push_back((digit, duration_ms));
        if call.info_in_flight {
            return Ok(());
        }
        self.send_next_dtmf(now, layer, h)
    }

    fn send_next_dtmf(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
    ) -> Result<(), CallError> {
        let call = self.calls.get_mut(&h).ok_or(CallError::NoSuchCall)?;
        let Some((digit, duration_ms)) = call.dtmf_queue.pop_front() else {
            return Ok(());
        };
        if call.state != CallState::Active {
            call.dtmf_queue.clear();
            return Ok(());
        }
        call.info_in_flight = true;
        let body = format!("Signal={digit}\r\nDuration={duration_ms}\r\n");
        let sent = self
            .dialog_request(h, rsip::Method::Info, DTMF_RELAY, body.as_bytes())
            .and_then(|req| self.send_in_dialog(now, layer, h, Role::Info, req));
        if sent.is_err()
            && let Some(call) = self.calls.get_mut(&h)
        {
            call.info_in_flight = false;
        }
        sent.map(|_| ())
    }

    /// The INFO in flight got its final response (or timed out): send the next digit.
    pub(super) fn info_done(&mut self, now: Instant, layer: &mut TransactionLayer, h: CallHandle) {
        if let Some(call) = self.calls.get_mut(&h) {
            call.info_in_flight = false;
        }
        if let Err(e) = self.send_next_dtmf(now, layer, h) {
            tracing::debug!("cannot send DTMF: {e}");
        }
    }

    pub(super) fn on_info(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        h: CallHandle,
        id: TransactionId,
        request: rsip::Request,
    ) {
        if request.body.is_empty() {
            // An INFO without body is used as a keep-alive: fine.
            send_response(now, layer, id, response_for(&request, 200, "OK"));
            return;
        }
        let ct = build::content_type(&request.headers).unwrap_or_default();
        if ct != DTMF_RELAY {
            let mut r = response_for(&request, 415, "Unsupported Media Type");
            build::push_header(
                &mut r.headers,
                rsip::headers::Accept::new(DTMF_RELAY).into(),
            );
            send_response(now, layer, id, r);
            return;
        }
        match parse_dtmf_relay(&request.body) {
            Some((digit, duration_ms)) => {
                send_response(now, layer, id, response_for(&request, 200, "OK"));
                self.events.push_back(CallEvent::Dtmf {
                    call: h,
                    digit,
                    duration_ms,
                });
            }
            None => send_response(now, layer, id, response_for(&request, 400, "Bad DTMF Body")),
        }
    }
}

/// `Signal=5\r\nDuration=160` → ('5', 160); a missing Duration is 250 ms.
fn parse_dtmf_relay(body: &[u8]) -> Option<(char, u32)> {
    let text = String::from_utf8_lossy(body);
    let mut digit = None;
    let mut duration = 250;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "signal" => {
                let v = v.trim();
                digit = match v {
                    "10" => Some('*'),
                    "11" => Some('#'),
                    _ => v
                        .chars()
                        .next()
                        .map(|c| c.to_ascii_uppercase())
                        .filter(|c| "0123456789*#ABCD".contains(*c) && v.len() == 1),
                };
            }
            "duration" => duration = v.trim().parse().unwrap_or(duration),
            _ => {}
        }
    }
    digit.map(|d| (d, duration))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            super::parse_dtmf_relay(b"Signal=5\r\nDuration=160\r\n"),
            Some(('5', 160))
        );
        assert_eq!(super::parse_dtmf_relay(b"Signal=#\n"), Some(('#', 250)));
        assert_eq!(super::parse_dtmf_relay(b"Signal=X\n"), None);
    }
}
