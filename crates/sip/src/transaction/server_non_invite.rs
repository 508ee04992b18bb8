//! Non-INVITE server transaction (RFC 3261 §17.2.2).

use std::time::Instant;

use super::util::{Outbox, code};
use super::{TimerConfig, TransactionError, TransactionEvent};

/// States of Figure 8 of RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The request was passed up; nothing sent yet.
    Trying,
    /// A provisional response was sent.
    Proceeding,
    /// A final response was sent; answering retransmissions with it (Timer J).
    Completed,
    /// Finished.
    Terminated,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Trying => "Trying",
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Terminated => "Terminated",
        }
    }
}

#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    pub state: State,
    request: rsip::Request,
    reliable: bool,
    timers: TimerConfig,
    last_response: Option<rsip::Response>,
    timer_j: Option<Instant>,
    /// Not in RFC 3261: if the TU never sends a final response, the client gave up at Timer
    /// F (64·T1) anyway, so we do too rather than keep the transaction forever.
    give_up: Option<Instant>,
}

impl ServerNonInvite {
    pub fn new(now: Instant, request: rsip::Request, reliable: bool, timers: TimerConfig) -> Self {
        Self {
            state: State::Trying,
            request,
            reliable,
            timers,
            last_response: None,
            timer_j: None,
            give_up: Some(now + timers.t1x64()),
        }
    }

    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    /// A retransmission of the request (§17.2.2).
    pub fn on_request(&mut self, out: &mut Outbox<'_>) {
        if matches!(self.state, State::Proceeding | State::Completed)
            && let Some(r) = &self.last_response
        {
            out.send(r.clone());
        }
    }

    pub fn send_response(
        &mut self,
        now: Instant,
        response: rsip::Response,
        out: &mut Outbox<'_>,
    ) -> Result<(), TransactionError> {
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(TransactionError::InvalidState(self.state.name()));
        }
        out.send(response.clone());
        let provisional = code(&response) < 200;
        self.last_response = Some(response);
        if !provisional {
            self.give_up = None;
        }
        if provisional {
            self.state = State::Proceeding;
        } else if self.reliable {
            self.terminate();
        } else {
            self.state = State::Completed;
            self.timer_j = Some(now + self.timers.t1x64());
        }
        Ok(())
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Outbox<'_>) {
        if self.give_up.is_some_and(|g| g <= now) {
            out.event(TransactionEvent::Timeout { id: out.id });
            self.terminate();
        }
        if self.timer_j.is_some_and(|j| j <= now) {
            self.terminate();
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Outbox<'_>) {
        out.event(TransactionEvent::TransportError { id: out.id });
        self.terminate();
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        [self.timer_j, self.give_up].into_iter().flatten().min()
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_j = None;
        self.give_up = None;
    }
}
