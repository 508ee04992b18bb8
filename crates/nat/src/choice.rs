//! Which relay calls use, and when gathering is done. Pure functions and a small sans-IO
//! state machine; the tokio prober and gatherer in `homeline-phone` feed them.
//!
//! **Relay choice** (the Bloophone ProxyServer idea, done by the client): every configured
//! relay is probed over each transport in parallel; the ones that allocated are ranked by the
//! round trip of their first exchange, the fastest is used and the rest, in order, are the
//! fallback. A stream transport (TCP/TLS) is charged a small penalty
//! ([`STREAM_PENALTY`]) so that UDP wins a near tie: over TCP one lost segment holds back
//! every audio packet behind it (head-of-line blocking), which costs more than a few ms of
//! RTT.
//!
//! **Gathering policy**: the offer goes out when host + the first srflx + the first relay are
//! in, or when the deadline passes, whichever is first. A server that fails is "in" (as
//! nothing): a dead server is skipped, never waited for beyond the deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::turn::TurnError;
use crate::uri::{RelayTransport, TurnUri};

/// Added to the RTT of a TCP/TLS relay when ranking (see the module docs).
pub const STREAM_PENALTY: Duration = Duration::from_millis(15);

/// What probing one relay over one transport found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// The relay and transport probed.
    pub uri: TurnUri,
    /// Success (allocation made, then released) or why not.
    pub result: Result<ProbeSuccess, TurnError>,
}

/// A relay that works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSuccess {
    /// Round trip of the first request/response.
    pub rtt: Duration,
    /// The relayed address the server allocated.
    pub relayed: SocketAddr,
    /// Our address as the relay saw it.
    pub mapped: Option<SocketAddr>,
}

fn rank_key(o: &ProbeOutcome) -> Option<(Duration, RelayTransport)> {
    let s = o.result.as_ref().ok()?;
    let penalty = if o.uri.transport.is_stream() {
        STREAM_PENALTY
    } else {
        Duration::ZERO
    };
    Some((s.rtt + penalty, o.uri.transport))
}

/// The order to try relays in: indices into `outcomes`, working ones first by (RTT + stream
/// penalty, then UDP < TCP < TLS), failed ones left out. Index 0 is the one calls use.
pub fn rank_relays(outcomes: &[ProbeOutcome]) -> Vec<usize> {
    let mut working: Vec<(usize, (Duration, RelayTransport))> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| rank_key(o).map(|k| (i, k)))
        .collect();
    // Stable: equal keys keep the configured order.
    working.sort_by_key(|&(_, k)| k);
    working.into_iter().map(|(i, _)| i).collect()
}

/// The state of gathering for one call.
#[derive(Debug, Clone)]
pub struct GatherPolicy {
    deadline: Instant,
    stun_pending: usize,
    stun_ok: bool,
    relay_pending: usize,
    relay_ok: bool,
}

impl GatherPolicy {
    /// Gathering starts with `stun` STUN servers and `relays` relay allocations under way; the
    /// host candidate is in from the start (it is our socket). After `budget` the offer goes
    /// out with whatever is in.
    pub fn new(now: Instant, stun: usize, relays: usize, budget: Duration) -> Self {
        Self {
            deadline: now + budget,
            stun_pending: stun,
            stun_ok: false,
            relay_pending: relays,
            relay_ok: false,
        }
    }

    /// A STUN binding finished (`ok`: it gave an address).
    pub fn stun_done(&mut self, ok: bool) {
        self.stun_pending = self.stun_pending.saturating_sub(1);
        self.stun_ok |= ok;
    }

    /// A relay allocation finished (`ok`: it allocated).
    pub fn relay_done(&mut self, ok: bool) {
        self.relay_pending = self.relay_pending.saturating_sub(1);
        self.relay_ok |= ok;
    }

    /// Whether the offer can go out now.
    pub fn is_done(&self, now: Instant) -> bool {
        let stun_in = self.stun_ok || self.stun_pending == 0;
        let relay_in = self.relay_ok || self.relay_pending == 0;
        (stun_in && relay_in) || now >= self.deadline
    }

    /// When gathering ends at the latest.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(uri: &str, rtt_ms: Option<u64>) -> ProbeOutcome {
        ProbeOutcome {
            uri: uri.parse().unwrap(),
            result: match rtt_ms {
                Some(ms) => Ok(ProbeSuccess {
                    rtt: Duration::from_millis(ms),
                    relayed: "203.0.113.1:50000".parse().unwrap(),
                    mapped: None,
                }),
                None => Err(TurnError::Timeout(500)),
            },
        }
    }

    #[test]
    fn fastest_working_first_failed_left_out() {
        let o = vec![
            outcome("turn:a.example", Some(80)),
            outcome("turn:b.example", None),
            outcome("turn:c.example", Some(20)),
            outcome("turns:d.example:443", Some(30)),
        ];
        assert_eq!(rank_relays(&o), vec![2, 3, 0]);
    }

    #[test]
    fn udp_wins_a_near_tie_but_not_a_clear_loss() {
        let o = vec![
            outcome("turns:a.example:443", Some(20)),
            outcome("turn:a.example", Some(30)),
        ];
        assert_eq!(
            rank_relays(&o),
            vec![1, 0],
            "10 ms is inside the stream penalty"
        );
        let o = vec![
            outcome("turns:a.example:443", Some(20)),
            outcome("turn:a.example", Some(60)),
        ];
        assert_eq!(rank_relays(&o), vec![0, 1]);
    }

    #[test]
    fn none_working_is_empty() {
        assert!(rank_relays(&[outcome("turn:a.example", None)]).is_empty());
        assert!(rank_relays(&[]).is_empty());
    }

    #[test]
    fn gathering_ends_on_first_srflx_and_first_relay() {
        let t0 = Instant::now();
        let mut g = GatherPolicy::new(t0, 2, 3, Duration::from_millis(600));
        assert!(!g.is_done(t0));
        g.stun_done(true);
        assert!(!g.is_done(t0), "no relay yet");
        g.relay_done(false);
        assert!(!g.is_done(t0), "a failed relay is not the first relay");
        g.relay_done(true);
        assert!(g.is_done(t0 + Duration::from_millis(50)));
    }

    #[test]
    fn dead_servers_are_skipped() {
        let t0 = Instant::now();
        let mut g = GatherPolicy::new(t0, 1, 1, Duration::from_millis(600));
        g.stun_done(false);
        g.relay_done(false);
        assert!(g.is_done(t0), "everything failed: nothing to wait for");
    }

    #[test]
    fn deadline_bounds_a_silent_server() {
        let t0 = Instant::now();
        let mut g = GatherPolicy::new(t0, 1, 1, Duration::from_millis(600));
        g.stun_done(true);
        assert!(!g.is_done(t0 + Duration::from_millis(599)));
        assert!(g.is_done(t0 + Duration::from_millis(600)));
        assert_eq!(g.deadline(), t0 + Duration::from_millis(600));
    }

    #[test]
    fn nothing_configured_is_done_at_once() {
        let t0 = Instant::now();
        assert!(GatherPolicy::new(t0, 0, 0, Duration::from_millis(600)).is_done(t0));
    }
}
