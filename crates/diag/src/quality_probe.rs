//! The quality probe, sans-IO: a STUN binding request every 20 ms (the pace of a voice
//! call's packets) from the socket a call would use, for a few seconds; each answer's
//! arrival time gives RTT, jitter, loss, bursts and reordering ([`crate::quality`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_nat::behaviour::{BindingResult, StunTransactionId, build_request, parse_response};

use crate::quality::Sample;

/// The pace of the probe: one packet per 20 ms, as a call's audio.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// How long after the last packet answers are still awaited.
pub const LINGER: Duration = Duration::from_millis(800);

/// The probe. Run loop: `poll_transmit` until `None`, sleep until `poll_timeout`, call
/// `handle_timeout`; feed datagrams from the socket to `handle_read`; stop when `is_done`.
#[derive(Debug)]
pub struct QualityProbe {
    server: SocketAddr,
    start: Instant,
    count: u32,
    sent: u32,
    pending: HashMap<[u8; 12], u32>,
    samples: Vec<Sample>,
    out: Option<Vec<u8>>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl QualityProbe {
    /// `count` packets (250 = 5 s) to `server`, starting at `now`.
    pub fn new(now: Instant, server: SocketAddr, count: u32) -> Self {
        let mut p = Self {
            server,
            start: now,
            count,
            sent: 0,
            pending: HashMap::new(),
            samples: Vec::new(),
            out: None,
        };
        p.handle_timeout(now);
        p
    }

    /// The next datagram for the server.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.out.take().map(|b| (self.server, b))
    }

    /// When to call [`Self::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.sent < self.count {
            Some(self.start + INTERVAL * self.sent)
        } else if self.is_done_at(None) {
            None
        } else {
            Some(self.start + INTERVAL * self.count + LINGER)
        }
    }

    /// Sends the packet that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.sent < self.count && self.start + INTERVAL * self.sent <= now {
            let (id, bytes) = build_request(&[]);
            self.pending.insert(id.0, self.sent);
            self.samples.push(Sample {
                seq: self.sent,
                sent_ms: ms(now.saturating_duration_since(self.start)),
                received_ms: None,
            });
            self.sent += 1;
            self.out = Some(bytes);
        }
        if self.sent >= self.count && now >= self.start + INTERVAL * self.count + LINGER {
            self.pending.clear();
        }
    }

    /// A datagram from the socket (anything that is not an answer to us is ignored).
    pub fn handle_read(&mut self, now: Instant, data: &[u8]) {
        let Ok((id, BindingResult::Answered { .. })) = parse_response(data, 0) else {
            return;
        };
        let id: StunTransactionId = id;
        if let Some(seq) = self.pending.remove(&id.0)
            && let Some(s) = self.samples.get_mut(seq as usize)
        {
            s.received_ms = Some(ms(now.saturating_duration_since(self.start)));
        }
    }

    fn is_done_at(&self, _now: Option<Instant>) -> bool {
        self.sent >= self.count && self.pending.is_empty()
    }

    /// True when every packet is sent and answered or given up on.
    pub fn is_done(&self) -> bool {
        self.is_done_at(None)
    }

    /// The samples so far.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}
