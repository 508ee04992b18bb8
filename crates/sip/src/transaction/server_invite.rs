//! INVITE server transaction (RFC 3261 §17.2.1, Accepted state from RFC 6026 §7.1).

use std::time::{Duration, Instant};

use super::util::{Outbox, code, response_for};
use super::{TimerConfig, TransactionError, TransactionEvent};

/// States of Figure 7 of RFC 3261 as amended by RFC 6026 Figure 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The INVITE was passed up; provisional responses may be sent.
    Proceeding,
    /// A 300–699 was sent; retransmitting it until the ACK (Timers G, H).
    Completed,
    /// The ACK arrived; absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// A 2xx was sent (RFC 6026); INVITE retransmissions absorbed, ACKs passed up (Timer L).
    Accepted,
    /// Finished.
    Terminated,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Confirmed => "Confirmed",
            Self::Accepted => "Accepted",
            Self::Terminated => "Terminated",
        }
    }
}

/// How long the TU has to respond before we send `100 Trying` ourselves (§17.2.1).
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub(crate) struct ServerInvite {
    pub state: State,
    request: rsip::Request,
    reliable: bool,
    timers: TimerConfig,
    last_response: Option<rsip::Response>,
    timer_trying: Option<Instant>,
    timer_g: Option<(Instant, Duration)>,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
}

impl ServerInvite {
    pub fn new(now: Instant, request: rsip::Request, reliable: bool, timers: TimerConfig) -> Self {
        Self {
            state: State::Proceeding,
            request,
            reliable,
            timers,
            last_response: None,
            timer_trying: Some(now + TRYING_DELAY),
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
        }
    }

    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    /// A retransmitted INVITE or an ACK matched this transaction.
    pub fn on_request(&mut self, now: Instant, request: rsip::Request, out: &mut Outbox<'_>) {
        let is_ack = request.method == rsip::Method::Ack;
        match (self.state, is_ack) {
            (State::Proceeding, false) | (State::Completed, false) => {
                // §17.2.1: resend the most recent provisional or final response.
                if let Some(r) = &self.last_response {
                    out.send(r.clone());
                }
            }
            (State::Completed, true) => {
                self.state = State::Confirmed;
                self.timer_g = None;
                self.timer_h = None;
                if self.reliable {
                    self.terminate();
                } else {
                    self.timer_i = Some(now + self.timers.t4);
                }
            }
            (State::Accepted, true) => {
                // RFC 6026 §7.1: the ACK for a 2xx goes to the TU.
                out.event(TransactionEvent::Ack {
                    id: Some(out.id),
                    request,
                    peer: out.peer,
                });
            }
            // Accepted absorbs INVITE retransmissions; Confirmed absorbs ACKs.
            _ => {}
        }
    }

    pub fn send_response(
        &mut self,
        now: Instant,
        response: rsip::Response,
        out: &mut Outbox<'_>,
    ) -> Result<(), TransactionError> {
        let code = code(&response);
        match (self.state, code) {
            (State::Proceeding, 100..=199) => {
                self.timer_trying = None;
                out.send(response.clone());
                self.last_response = Some(response);
            }
            (State::Proceeding, 200..=299) => {
                self.timer_trying = None;
                out.send(response.clone());
                self.last_response = Some(response);
                self.state = State::Accepted;
                self.timer_l = Some(now + self.timers.t1x64());
            }
            // RFC 6026 §7.1: the TU retransmits its 2xx through the Accepted state.
            (State::Accepted, 200..=299) => out.send(response),
            (State::Proceeding, _) => {
                self.timer_trying = None;
                out.send(response.clone());
                self.last_response = Some(response);
                self.state = State::Completed;
                if !self.reliable {
                    self.timer_g = Some((now + self.timers.t1, self.timers.t1));
                }
                self.timer_h = Some(now + self.timers.t1x64());
            }
            (state, _) => return Err(TransactionError::InvalidState(state.name())),
        }
        Ok(())
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Outbox<'_>) {
        if self.timer_trying.is_some_and(|t| t <= now) {
            self.timer_trying = None;
            let trying = response_for(&self.request, 100, "Trying");
            out.send(trying.clone());
            self.last_response = Some(trying);
        }
        if self.timer_h.is_some_and(|h| h <= now) {
            // No ACK: §17.2.1 informs the TU of a transaction failure.
            out.event(TransactionEvent::Timeout { id: out.id });
            self.terminate();
            return;
        }
        if let Some((at, interval)) = self.timer_g
            && at <= now
        {
            if let Some(r) = &self.last_response {
                out.send(r.clone());
            }
            let next = (interval * 2).min(self.timers.t2);
            self.timer_g = Some((at + next, next));
        }
        if self.timer_i.is_some_and(|i| i <= now) || self.timer_l.is_some_and(|l| l <= now) {
            self.terminate();
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Outbox<'_>) {
        out.event(TransactionEvent::TransportError { id: out.id });
        // RFC 6026 §7.1: in Accepted the TU keeps retransmitting its 2xx; stay.
        if self.state != State::Accepted {
            self.terminate();
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        [
            self.timer_trying,
            self.timer_g.map(|(t, _)| t),
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
    }
}
