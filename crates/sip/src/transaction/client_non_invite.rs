//! Non-INVITE client transaction (RFC 3261 §17.1.2).

use std::time::{Duration, Instant};

use super::util::{Outbox, code};
use super::{TimerConfig, TransactionEvent};

/// States of Figure 6 of RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Request sent, nothing heard.
    Trying,
    /// A provisional response arrived; retransmissions continue every T2.
    Proceeding,
    /// A final response arrived; absorbing retransmissions (Timer K).
    Completed,
    /// Finished.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    pub state: State,
    request: rsip::Request,
    reliable: bool,
    timers: TimerConfig,
    timer_e: Option<(Instant, Duration)>,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
}

impl ClientNonInvite {
    pub fn start(
        now: Instant,
        request: rsip::Request,
        reliable: bool,
        timers: TimerConfig,
        out: &mut Outbox<'_>,
    ) -> Self {
        out.send(request.clone());
        Self {
            state: State::Trying,
            request,
            reliable,
            timers,
            timer_e: (!reliable).then_some((now + timers.t1, timers.t1)),
            timer_f: Some(now + timers.t1x64()),
            timer_k: None,
        }
    }

    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    pub fn on_response(&mut self, now: Instant, response: rsip::Response, out: &mut Outbox<'_>) {
        match (self.state, code(&response)) {
            (State::Trying | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                out.response(response);
            }
            (State::Trying | State::Proceeding, _) => {
                self.timer_e = None;
                self.timer_f = None;
                out.response(response);
                if self.reliable {
                    self.terminate();
                } else {
                    self.state = State::Completed;
                    self.timer_k = Some(now + self.timers.t4);
                }
            }
            // Completed absorbs retransmitted responses (§17.1.2.2).
            _ => {}
        }
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Outbox<'_>) {
        if self.timer_f.is_some_and(|f| f <= now) {
            out.event(TransactionEvent::Timeout { id: out.id });
            self.terminate();
            return;
        }
        if let Some((at, interval)) = self.timer_e
            && at <= now
        {
            out.send(self.request.clone());
            // Trying: double up to T2; Proceeding: always T2 (§17.1.2.2).
            let next = match self.state {
                State::Proceeding => self.timers.t2,
                _ => (interval * 2).min(self.timers.t2),
            };
            self.timer_e = Some((at + next, next));
        }
        if self.timer_k.is_some_and(|k| k <= now) {
            self.terminate();
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Outbox<'_>) {
        if matches!(self.state, State::Trying | State::Proceeding) {
            out.response(super::util::transport_error_response(&self.request));
            self.terminate();
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        [self.timer_e.map(|(t, _)| t), self.timer_f, self.timer_k]
            .into_iter()
            .flatten()
            .min()
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
    }
}
