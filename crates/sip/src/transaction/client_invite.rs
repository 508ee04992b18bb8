//! INVITE client transaction (RFC 3261 §17.1.1, Accepted state from RFC 6026 §7.2).

use std::time::{Duration, Instant};

use super::util::{Outbox, ack_for, code};
use super::{TimerConfig, TransactionEvent};

/// States of Figure 5 of RFC 3261 as amended by RFC 6026 Figure 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE sent, nothing heard.
    Calling,
    /// A provisional response arrived; no more retransmissions.
    Proceeding,
    /// A 300–699 arrived and was ACKed; absorbing retransmissions (Timer D).
    Completed,
    /// A 2xx arrived; further 2xx go to the TU, which ACKs them (Timer M).
    Accepted,
    /// Finished.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientInvite {
    pub state: State,
    request: rsip::Request,
    reliable: bool,
    timers: TimerConfig,
    /// Timer A: (next fire, current interval).
    timer_a: Option<(Instant, Duration)>,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    ack: Option<rsip::Request>,
}

impl ClientInvite {
    /// Creates the transaction and sends the INVITE (§17.1.1.2).
    pub fn start(
        now: Instant,
        request: rsip::Request,
        reliable: bool,
        timers: TimerConfig,
        out: &mut Outbox<'_>,
    ) -> Self {
        out.send(request.clone());
        Self {
            state: State::Calling,
            request,
            reliable,
            timers,
            // Timer A only for unreliable transports.
            timer_a: (!reliable).then_some((now + timers.t1, timers.t1)),
            timer_b: Some(now + timers.t1x64()),
            timer_d: None,
            timer_m: None,
            ack: None,
        }
    }

    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    pub fn on_response(&mut self, now: Instant, response: rsip::Response, out: &mut Outbox<'_>) {
        let code = code(&response);
        match (self.state, code) {
            (State::Calling | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.timer_a = None;
                self.timer_b = None;
                out.response(response);
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                // RFC 6026 §8.4: Accepted, so 2xx retransmissions still reach the TU.
                self.state = State::Accepted;
                self.timer_a = None;
                self.timer_b = None;
                self.timer_m = Some(now + self.timers.t1x64());
                out.response(response);
            }
            (State::Calling | State::Proceeding, _) => {
                let ack = ack_for(&self.request, &response);
                out.send(ack.clone());
                self.ack = Some(ack);
                self.timer_a = None;
                self.timer_b = None;
                out.response(response);
                if self.reliable {
                    self.state = State::Terminated;
                } else {
                    self.state = State::Completed;
                    // Timer D: "at least 32 seconds" for unreliable transports (§17.1.1.2).
                    self.timer_d = Some(now + Duration::from_secs(32));
                }
            }
            (State::Completed, 300..) => {
                // A retransmitted final response: re-ACK, do not bother the TU.
                if let Some(ack) = &self.ack {
                    out.send(ack.clone());
                }
            }
            (State::Accepted, 200..=299) => out.response(response),
            // Anything else (a 1xx after a final response, a 2xx in Completed) is absorbed.
            _ => {}
        }
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Outbox<'_>) {
        if let Some((at, interval)) = self.timer_a
            && at <= now
        {
            // Timer A doubles without cap for INVITE (§17.1.1.2).
            out.send(self.request.clone());
            let next = interval * 2;
            self.timer_a = Some((at + next, next));
        }
        if self.timer_b.is_some_and(|b| b <= now) {
            out.event(TransactionEvent::Timeout { id: out.id });
            self.terminate();
        }
        if self.timer_d.is_some_and(|d| d <= now) || self.timer_m.is_some_and(|m| m <= now) {
            self.terminate();
        }
    }

    /// A send failed (§17.1.4): the TU gets a 503.
    pub fn on_transport_error(&mut self, out: &mut Outbox<'_>) {
        if matches!(self.state, State::Calling | State::Proceeding) {
            out.response(super::util::transport_error_response(&self.request));
            self.terminate();
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        [
            self.timer_a.map(|(t, _)| t),
            self.timer_b,
            self.timer_d,
            self.timer_m,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
    }
}
