//! Keep-alive on the registration flow (RFC 5626 §4.4, §3.5.1), sans-IO.
//!
//! NAT bindings expire (often after 30–180 s); a UA keeps them open by sending something
//! regularly. On streams (TCP/TLS) the CRLFCRLF ping is answered with a CRLF pong, so a missing
//! pong tells us the flow is dead (§4.4.1: wait 10 s). On UDP we send the same double CRLF,
//! which servers ignore: it refreshes the binding but proves nothing (a STUN keep-alive would,
//! and belongs to the NAT crate).
//!
//! Each interval is drawn between 80 % and 100 % of the configured value (§4.4.1), so many
//! clients behind one NAT do not ping in lock-step.

use std::time::{Duration, Instant};

use crate::framing::PING;
use crate::rng::Rng;
use crate::transaction::TransportKind;

/// Allowed keep-alive intervals (issue 3: configurable 20–170 s).
pub const INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(20), Duration::from_secs(170));
/// Default interval (issue 3).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(25);
/// How long to wait for a pong on a stream (RFC 5626 §4.4.1).
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);

/// What the keep-alive reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveEvent {
    /// No pong within [`PONG_TIMEOUT`]: the flow is dead; reconnect and re-register.
    FlowFailed,
}

/// Keep-alive state for one flow.
#[derive(Debug)]
pub struct KeepAlive {
    interval: Duration,
    reliable: bool,
    rng: Rng,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    pending_ping: bool,
    events: std::collections::VecDeque<KeepAliveEvent>,
}

impl KeepAlive {
    /// Keep-alive every `interval` (clamped to [`INTERVAL_RANGE`]) on `transport`.
    pub fn new(interval: Duration, transport: TransportKind, seed: u64) -> Self {
        Self {
            interval: interval.clamp(INTERVAL_RANGE.0, INTERVAL_RANGE.1),
            reliable: transport.is_reliable(),
            rng: Rng::new(seed),
            next_ping: None,
            pong_deadline: None,
            pending_ping: false,
            events: Default::default(),
        }
    }

    /// The interval in use after clamping.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Starts (or restarts) pinging.
    pub fn start(&mut self, now: Instant) {
        self.pong_deadline = None;
        self.schedule(now);
    }

    /// Stops pinging.
    pub fn stop(&mut self) {
        self.next_ping = None;
        self.pong_deadline = None;
        self.pending_ping = false;
    }

    /// Any traffic we sent on the flow also refreshes the binding: postpone the next ping.
    pub fn handle_sent(&mut self, now: Instant) {
        if self.next_ping.is_some() && self.pong_deadline.is_none() {
            self.schedule(now);
        }
    }

    /// A pong ([`crate::StreamItem::Pong`]) arrived.
    pub fn handle_pong(&mut self, _now: Instant) {
        self.pong_deadline = None;
    }

    /// Timers: send a ping, or declare the flow dead.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pong_deadline.is_some_and(|d| d <= now) {
            self.stop();
            self.events.push_back(KeepAliveEvent::FlowFailed);
            return;
        }
        if self.next_ping.is_some_and(|t| t <= now) {
            self.pending_ping = true;
            if self.reliable {
                self.pong_deadline = Some(now + PONG_TIMEOUT);
            }
            self.schedule(now);
        }
    }

    /// Bytes to send on the flow, if a ping is due. Call after every mutation.
    pub fn poll_transmit(&mut self) -> Option<&'static [u8]> {
        std::mem::take(&mut self.pending_ping).then_some(PING)
    }

    /// The next event. Call after every mutation.
    pub fn poll_event(&mut self) -> Option<KeepAliveEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.next_ping, self.pong_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    fn schedule(&mut self, now: Instant) {
        // 80–100 % of the interval (RFC 5626 §4.4.1).
        let ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        let low = ms / 5 * 4;
        let jittered = low + self.rng.below(ms - low + 1);
        self.next_ping = Some(now + Duration::from_millis(jittered));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_pings_within_80_to_100_percent_and_never_fails() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(Duration::from_secs(25), TransportKind::Udp, 7);
        k.start(t0);
        let mut last = t0;
        for _ in 0..50 {
            let t = k.poll_timeout().unwrap();
            let gap = t - last;
            assert!(gap >= Duration::from_secs(20) && gap <= Duration::from_secs(25));
            k.handle_timeout(t);
            assert_eq!(k.poll_transmit(), Some(PING));
            assert_eq!(k.poll_event(), None);
            last = t;
        }
    }

    #[test]
    fn stream_without_pong_fails_after_ten_seconds() {
        let t0 = Instant::now();
        let mut k = KeepAlive::new(Duration::from_secs(30), TransportKind::Tls, 7);
        k.start(t0);
        let ping_at = k.poll_timeout().unwrap();
        k.handle_timeout(ping_at);
        assert_eq!(k.poll_transmit(), Some(PING));
        // The pong arrives: all good, the next ping is scheduled.
        k.handle_pong(ping_at + Duration::from_millis(80));
        let next = k.poll_timeout().unwrap();
        assert!(next >= ping_at + Duration::from_secs(24));
        k.handle_timeout(next);
        assert!(k.poll_transmit().is_some());
        // No pong this time.
        assert_eq!(k.poll_timeout(), Some(next + PONG_TIMEOUT));
        k.handle_timeout(next + PONG_TIMEOUT);
        assert_eq!(k.poll_event(), Some(KeepAliveEvent::FlowFailed));
        assert_eq!(k.poll_timeout(), None);
    }

    #[test]
    fn interval_is_clamped() {
        let k = KeepAlive::new(Duration::from_secs(5), TransportKind::Udp, 1);
        assert_eq!(k.interval(), Duration::from_secs(20));
        let k = KeepAlive::new(Duration::from_secs(900), TransportKind::Udp, 1);
        assert_eq!(k.interval(), Duration::from_secs(170));
    }
}
