//! Keep-alive on the registration flow (RFC 5626 §4.4, §3.5.1), sans-IO.
//!
//! NAT bindings expire (often after 30–180 s); a UA keeps them open by sending something
//! regularly. Two ways ([`KeepAliveMode`]):
//! - **CRLF** (§4.4.1): on streams (TCP/TLS) the CRLFCRLF ping is answered with a CRLF pong, so
//!   a missing pong tells us the flow is dead (wait 10 s). On UDP the same double CRLF only
//!   refreshes the binding: servers ignore it, so it proves nothing. Works with any server.
//! - **STUN** (§4.4.2, UDP only): a STUN Binding Request on the flow, answered by a registrar
//!   or edge proxy that supports outbound (the driver learns it from
//!   [`crate::register::Registration::outbound_supported`]). The response proves the flow;
//!   none after the RFC 5389 §7.2.1 retransmissions (7 requests, RTO = [`STUN_RTO`] doubling,
//!   then 16·RTO), an error response, or a changed mapped address (the NAT rebound us) means
//!   the flow failed. The driver demultiplexes the socket with [`is_stun`] and hands STUN
//!   datagrams to [`KeepAlive::handle_stun`].
//!
//! Each interval is drawn between 80 % and 100 % of the configured value (§4.4.1), so many
//! clients behind one NAT do not ping in lock-step.
//!
//! ```text
//! ka.start(now);                                   // once the flow is registered
//! loop {
//!     while let Some(bytes) = ka.poll_transmit() { flow.send(bytes) }
//!     while let Some(ev) = ka.poll_event()       { /* FlowFailed: reconnect, re-register */ }
//!     // wake at ka.poll_timeout(), or on input:
//!     ka.handle_timeout(now);
//!     if is_stun(&datagram) { ka.handle_stun(now, &datagram); }   // UDP
//!     ka.handle_pong(now);                                         // stream pong
//!     ka.handle_sent(now);                                         // any SIP sent
//! }
//! ```

pub mod stun;

pub use stun::is_stun;

use std::collections::VecDeque;
use std::net::SocketAddr;
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
/// The STUN retransmission timeout's first value (RFC 5389 §7.2.1; RFC 5626 §4.4.2 equates it
/// with SIP's T1).
pub const STUN_RTO: Duration = Duration::from_millis(500);
/// Requests sent per STUN keep-alive before giving up (RFC 5389 §7.2.1 `Rc`).
const STUN_RC: u32 = 7;
/// The wait after the last request, in RTOs (RFC 5389 §7.2.1 `Rm`).
const STUN_RM: u32 = 16;

/// What the keep-alive reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveEvent {
    /// The flow is dead: no pong within [`PONG_TIMEOUT`] (CRLF on a stream), or no STUN
    /// response, an error response or a changed mapped address (STUN). Reconnect and
    /// re-register.
    FlowFailed,
}

/// How the keep-alive pings (RFC 5626 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveMode {
    /// Double CRLF (§4.4.1); the default, understood by every server.
    Crlf,
    /// STUN Binding Request (§4.4.2), on UDP flows to a server that supports outbound.
    Stun,
}

/// Why a keep-alive setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepAliveError {
    /// STUN keep-alives are for UDP (RFC 5626 §4.4.2); streams use CRLF (§4.4.1).
    #[error("STUN keep-alives are for UDP flows; streams use CRLF")]
    StunNeedsUdp,
}

/// One STUN keep-alive transaction in flight (RFC 5389 §7.2.1).
#[derive(Debug)]
struct StunProbe {
    id: stun::TransactionId,
    request: Vec<u8>,
    /// Requests sent so far.
    sent: u32,
    /// Next retransmission and the interval after it.
    next: Option<(Instant, Duration)>,
    /// No response by then: the flow failed.
    deadline: Option<Instant>,
}

/// Keep-alive state for one flow.
#[derive(Debug)]
pub struct KeepAlive {
    interval: Duration,
    reliable: bool,
    mode: KeepAliveMode,
    rng: Rng,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    probe: Option<StunProbe>,
    /// The address the STUN server saw at the first response on this flow.
    mapped: Option<SocketAddr>,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<KeepAliveEvent>,
}

impl KeepAlive {
    /// CRLF keep-alive every `interval` (clamped to [`INTERVAL_RANGE`]) on `transport`;
    /// `seed` feeds the jitter and the STUN transaction ids (from the OS in production).
    pub fn new(interval: Duration, transport: TransportKind, seed: u64) -> Self {
        Self {
            interval: interval.clamp(INTERVAL_RANGE.0, INTERVAL_RANGE.1),
            reliable: transport.is_reliable(),
            mode: KeepAliveMode::Crlf,
            rng: Rng::new(seed),
            next_ping: None,
            pong_deadline: None,
            probe: None,
            mapped: None,
            outgoing: VecDeque::new(),
            events: Default::default(),
        }
    }

    /// The interval in use after clamping.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the interval (clamped to [`INTERVAL_RANGE`]), e.g. to stay within the
    /// registrar's `Flow-Timer` (RFC 5626 §4.4); applies from the next ping on.
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval.clamp(INTERVAL_RANGE.0, INTERVAL_RANGE.1);
    }

    /// The current mode.
    pub fn mode(&self) -> KeepAliveMode {
        self.mode
    }

    /// Switches between CRLF and STUN pings (STUN only on UDP). A ping in flight is
    /// forgotten; the schedule stays.
    pub fn set_mode(&mut self, mode: KeepAliveMode) -> Result<(), KeepAliveError> {
        if mode == KeepAliveMode::Stun && self.reliable {
            return Err(KeepAliveError::StunNeedsUdp);
        }
        if mode != self.mode {
            self.mode = mode;
            self.probe = None;
            self.pong_deadline = None;
        }
        Ok(())
    }

    /// Our address as the STUN server on the flow sees it (STUN mode, after a response).
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.mapped
    }

    /// Starts (or restarts, on a new flow) pinging.
    pub fn start(&mut self, now: Instant) {
        self.pong_deadline = None;
        self.probe = None;
        self.mapped = None;
        self.schedule(now);
    }

    /// Stops pinging.
    pub fn stop(&mut self) {
        self.next_ping = None;
        self.pong_deadline = None;
        self.probe = None;
        self.outgoing.clear();
    }

    /// Any traffic we sent on the flow also refreshes the binding: postpone the next ping
    /// (not while a ping waits for its answer).
    pub fn handle_sent(&mut self, now: Instant) {
        if self.next_ping.is_some() && self.pong_deadline.is_none() && self.probe.is_none() {
            self.schedule(now);
        }
    }

    /// A pong ([`crate::StreamItem::Pong`]) arrived.
    pub fn handle_pong(&mut self, _now: Instant) {
        self.pong_deadline = None;
    }

    /// A STUN message arrived on the flow (see [`is_stun`]). Returns true when it answered
    /// our keep-alive; anything else (another transaction id, a request, garbage) is ignored
    /// and returns false.
    pub fn handle_stun(&mut self, _now: Instant, bytes: &[u8]) -> bool {
        let Some(response) = stun::parse_binding_response(bytes) else {
            return false;
        };
        if self
            .probe
            .as_ref()
            .is_none_or(|p| p.id != response.transaction_id)
        {
            return false;
        }
        self.probe = None;
        if !response.success {
            // RFC 5626 §4.4.2: an error response means the flow failed.
            self.fail();
            return true;
        }
        match (self.mapped, response.mapped) {
            // §4.4.2: a changed XOR-MAPPED-ADDRESS is a flow failure (the NAT rebound us,
            // so the registrar's binding points at a dead mapping).
            (Some(before), Some(now_seen)) if before != now_seen => self.fail(),
            (None, Some(first)) => self.mapped = Some(first),
            _ => {}
        }
        true
    }

    /// Timers: send a ping or a STUN retransmission, or declare the flow dead.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pong_deadline.is_some_and(|d| d <= now) {
            self.fail();
            return;
        }
        if let Some(p) = self.probe.as_mut() {
            if p.deadline.is_some_and(|d| d <= now) {
                self.fail();
                return;
            }
            if let Some((at, interval)) = p.next
                && at <= now
            {
                self.outgoing.push_back(p.request.clone());
                p.sent += 1;
                p.next = if p.sent < STUN_RC {
                    Some((at + interval * 2, interval * 2))
                } else {
                    p.deadline = Some(at + STUN_RTO * STUN_RM);
                    None
                };
            }
        }
        if self.next_ping.is_some_and(|t| t <= now) {
            match self.mode {
                // The retransmissions of the probe in flight keep the binding fresh.
                KeepAliveMode::Stun if self.probe.is_some() => {}
                KeepAliveMode::Stun => self.start_probe(now),
                KeepAliveMode::Crlf => {
                    self.outgoing.push_back(PING.to_vec());
                    if self.reliable {
                        self.pong_deadline = Some(now + PONG_TIMEOUT);
                    }
                }
            }
            self.schedule(now);
        }
    }

    /// Bytes to send on the flow, if a ping is due. Call after every mutation.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next event. Call after every mutation.
    pub fn poll_event(&mut self) -> Option<KeepAliveEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let probe = self.probe.as_ref();
        [
            self.next_ping,
            self.pong_deadline,
            probe.and_then(|p| p.next.map(|(t, _)| t)),
            probe.and_then(|p| p.deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn start_probe(&mut self, now: Instant) {
        let mut id = [0u8; 12];
        let (a, b) = (self.rng.next_u64().to_be_bytes(), self.rng.next_u64());
        id[..8].copy_from_slice(&a);
        id[8..].copy_from_slice(&b.to_be_bytes()[..4]);
        let request = stun::binding_request(&id);
        self.outgoing.push_back(request.clone());
        self.probe = Some(StunProbe {
            id,
            request,
            sent: 1,
            next: Some((now + STUN_RTO, STUN_RTO)),
            deadline: None,
        });
    }

    fn fail(&mut self) {
        self.stop();
        self.events.push_back(KeepAliveEvent::FlowFailed);
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
            assert_eq!(k.poll_transmit(), Some(PING.to_vec()));
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
        assert_eq!(k.poll_transmit(), Some(PING.to_vec()));
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

    fn stun_udp(seed: u64) -> KeepAlive {
        let mut k = KeepAlive::new(Duration::from_secs(25), TransportKind::Udp, seed);
        k.set_mode(KeepAliveMode::Stun).unwrap();
        k
    }

    /// The transaction id of a Binding Request we sent.
    fn id_of(request: &[u8]) -> stun::TransactionId {
        assert!(is_stun(request));
        assert_eq!(request.len(), stun::HEADER_LEN);
        assert_eq!(&request[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42]);
        request[8..20].try_into().unwrap()
    }

    fn mapped() -> SocketAddr {
        "203.0.113.7:40000".parse().unwrap()
    }

    #[test]
    fn stun_pings_every_80_to_100_percent_and_matching_responses_keep_the_flow() {
        let t0 = Instant::now();
        let mut k = stun_udp(3);
        assert_eq!(k.mode(), KeepAliveMode::Stun);
        k.start(t0);
        let mut last = t0;
        let mut ids = Vec::new();
        for _ in 0..40 {
            let t = k.poll_timeout().unwrap();
            let gap = t - last;
            assert!(
                gap >= Duration::from_secs(20) && gap <= Duration::from_secs(25),
                "{gap:?}"
            );
            k.handle_timeout(t);
            let request = k.poll_transmit().unwrap();
            assert_eq!(k.poll_transmit(), None);
            let id = id_of(&request);
            assert!(!ids.contains(&id), "a fresh transaction id each time");
            ids.push(id);
            // The first retransmission would be due at T1: the response comes before.
            assert_eq!(k.poll_timeout(), Some(t + STUN_RTO));
            let answered = t + Duration::from_millis(80);
            assert!(k.handle_stun(answered, &stun::binding_success(&id, mapped())));
            assert!(k.poll_timeout().unwrap() >= t + Duration::from_secs(20));
            assert_eq!(k.poll_event(), None);
            last = t;
        }
        assert_eq!(k.mapped_address(), Some(mapped()));
    }

    #[test]
    fn stun_retransmits_per_rfc5389_ignores_wrong_ids_and_fails_at_39_5_s() {
        let t0 = Instant::now();
        let mut k = stun_udp(5);
        k.start(t0);
        let ping = k.poll_timeout().unwrap();
        k.handle_timeout(ping);
        let request = k.poll_transmit().unwrap();
        let id = id_of(&request);
        let mut wrong = id;
        wrong[11] ^= 0xff;
        let mut sent_at = vec![0u64];
        while let Some(t) = k.poll_timeout() {
            k.handle_timeout(t);
            while let Some(bytes) = k.poll_transmit() {
                assert_eq!(bytes, request, "a retransmission is the same request");
                sent_at.push(u64::try_from((t - ping).as_millis()).unwrap());
                // Someone else's transaction (or a stale one) changes nothing.
                assert!(!k.handle_stun(t, &stun::binding_success(&wrong, mapped())));
            }
            if let Some(ev) = k.poll_event() {
                assert_eq!(ev, KeepAliveEvent::FlowFailed);
                assert_eq!(t - ping, Duration::from_millis(39_500));
                break;
            }
        }
        // RFC 5389 §7.2.1: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; no new ping meanwhile (the
        // 20–25 s ping falls inside and is absorbed by the probe in flight).
        assert_eq!(sent_at, [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
        assert_eq!(k.poll_timeout(), None, "stopped after the failure");
        // The late answer to the dead probe is not ours any more.
        assert!(!k.handle_stun(ping, &stun::binding_success(&id, mapped())));
    }

    #[test]
    fn a_response_after_retransmissions_still_counts() {
        let t0 = Instant::now();
        let mut k = stun_udp(9);
        k.start(t0);
        let ping = k.poll_timeout().unwrap();
        k.handle_timeout(ping);
        let id = id_of(&k.poll_transmit().unwrap());
        for _ in 0..3 {
            let t = k.poll_timeout().unwrap();
            k.handle_timeout(t);
            assert!(k.poll_transmit().is_some());
        }
        assert!(k.handle_stun(ping, &stun::binding_success(&id, mapped())));
        let next = k.poll_timeout().unwrap();
        assert!(
            next >= ping + Duration::from_secs(20),
            "back to the ping schedule"
        );
        assert_eq!(k.poll_event(), None);
    }

    #[test]
    fn stun_error_response_or_a_new_mapped_address_fails_the_flow() {
        let t0 = Instant::now();
        let mut k = stun_udp(4);
        k.start(t0);
        let t = k.poll_timeout().unwrap();
        k.handle_timeout(t);
        let id = id_of(&k.poll_transmit().unwrap());
        assert!(k.handle_stun(t, &stun::binding_success(&id, mapped())));
        // The NAT rebound us: RFC 5626 §4.4.2 treats it as a flow failure.
        let t = k.poll_timeout().unwrap();
        k.handle_timeout(t);
        let id = id_of(&k.poll_transmit().unwrap());
        let rebound: SocketAddr = "203.0.113.7:40002".parse().unwrap();
        assert!(k.handle_stun(t, &stun::binding_success(&id, rebound)));
        assert_eq!(k.poll_event(), Some(KeepAliveEvent::FlowFailed));
        assert_eq!(k.poll_timeout(), None);

        // A new flow: the mapped address is learnt again; an error response fails it.
        k.start(t);
        assert_eq!(k.mapped_address(), None);
        let t = k.poll_timeout().unwrap();
        k.handle_timeout(t);
        let id = id_of(&k.poll_transmit().unwrap());
        let mut error = stun::binding_request(&id);
        error[..2].copy_from_slice(&[0x01, 0x11]);
        assert!(k.handle_stun(t, &error));
        assert_eq!(k.poll_event(), Some(KeepAliveEvent::FlowFailed));
    }

    #[test]
    fn stun_is_for_udp_and_modes_switch() {
        let mut k = KeepAlive::new(Duration::from_secs(30), TransportKind::Tcp, 1);
        assert_eq!(
            k.set_mode(KeepAliveMode::Stun),
            Err(KeepAliveError::StunNeedsUdp)
        );
        assert_eq!(k.mode(), KeepAliveMode::Crlf);
        // Back to CRLF on UDP (the registrar stopped supporting outbound).
        let t0 = Instant::now();
        let mut k = stun_udp(2);
        k.start(t0);
        k.set_mode(KeepAliveMode::Crlf).unwrap();
        let t = k.poll_timeout().unwrap();
        k.handle_timeout(t);
        assert_eq!(k.poll_transmit(), Some(PING.to_vec()));
        k.set_interval(Duration::from_secs(600));
        assert_eq!(k.interval(), INTERVAL_RANGE.1);
    }

    #[test]
    fn garbage_on_the_flow_never_panics_nor_counts_as_a_response() {
        let t0 = Instant::now();
        let mut k = stun_udp(8);
        k.start(t0);
        let t = k.poll_timeout().unwrap();
        k.handle_timeout(t);
        let id = id_of(&k.poll_transmit().unwrap());
        let good = stun::binding_success(&id, mapped());
        let mut rng = Rng::new(99);
        for round in 0..20_000u32 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = usize::try_from(rng.below(80)).unwrap_or(0);
                (0..len).map(|_| rng.next_u64().to_le_bytes()[0]).collect()
            } else {
                // The good answer with its id broken plus random damage elsewhere.
                let mut b = good.clone();
                b[8 + usize::try_from(rng.below(12)).unwrap_or(0)] ^= 0x5a;
                let at = usize::try_from(rng.below(b.len() as u64)).unwrap_or(0);
                b[at] = rng.next_u64().to_le_bytes()[0];
                b
            };
            if stun::parse_binding_response(&bytes).is_some_and(|r| r.transaction_id == id) {
                continue; // the damage happened to restore the id
            }
            assert!(!k.handle_stun(t, &bytes));
        }
        assert_eq!(k.poll_event(), None);
        assert!(k.handle_stun(t, &good), "the real answer still counts");
    }
}
