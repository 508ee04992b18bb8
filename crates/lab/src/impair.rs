//! A userspace network impairment for media between two phones on one lab host: seeded
//! random loss and jitter, both directions, without touching the phones or their SDP
//! (`tc netem` does not work here).
//!
//! ## How the packets get to the relay
//!
//! Both phones run on the same host (say the public host, one on each of its addresses `a`
//! and `b`), so their packets never leave it. An nftables `nat output` chain in that
//! namespace DNATs new UDP flows to address `b` to the relay's socket `b:RELAY_B`, and those
//! to `a` to `a:RELAY_A`, leaving out the SIP ports and the relay's own ports (and, if given,
//! keeping only some destination ports). The rules look at destinations only: a phone whose
//! socket is bound to the wildcard address sends to a local address *from* that same
//! address (the kernel's source choice for a local destination), so sources say nothing.
//! The relay learns each phone's media address from the source of what it receives, and
//! sends what came in on `RELAY_B` to phone B from `RELAY_A` (and the other way), after its
//! random fate.
//!
//! ```text
//!   phone A ──RTP to b:pB──► DNAT ──► relay b:RELAY_B ─┐ loss, delay
//!                                                       ▼
//!   phone B ◄───────────────────────── relay a:RELAY_A sends to B's address
//! ```
//!
//! Where the relay's packet to B is a conntrack reply of B's own (diverted) flow to A, the
//! kernel writes A's address back as its source; otherwise B sees the relay's address, and
//! a phone that latches onto the source of its RTP (symmetric RTP) then sends straight to
//! the relay's socket for the other phone, which is where its packets belong anyway. Either
//! way every RTP packet crosses the relay, and the SDP, SIP and the phones are as in any
//! call. RTCP sent to port + 1 (no rtcp-mux) is relayed too unless [`Divert::only_ports`]
//! or [`Divert::skip_ports`] leave it out (the relay learns a phone's address from the first
//! packet it sees, so RTP and RTCP must not share a direction's relay).
//!
//! ## What it does to a packet
//!
//! Each packet is lost with probability `loss` (independently); the others are held for a
//! delay drawn uniformly from `delay ..= delay + jitter` (so with 40 ms of jitter and 20 ms
//! packets they overtake each other, as over a real congested path). Each direction draws
//! from its own generator seeded from `seed`, so two runs that send the same packets get
//! the same fate packet for packet.

use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{LabError, Result, run};
use crate::host::Host;

/// The relay's two ports (on addresses `a` and `b`).
pub const RELAY_A_PORT: u16 = 40_001;
/// See [`RELAY_A_PORT`].
pub const RELAY_B_PORT: u16 = 40_002;

/// What to do to the packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Probability that a packet is lost, 0..1.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay, uniform in `0..=jitter`.
    pub jitter: Duration,
    /// Seeds the random draws.
    pub seed: u64,
    /// Phone A's clock against phone B's, parts per million (+: A's runs fast). A's packets
    /// reach B as if sent by that clock (B's as if by the opposite one): a drifting clock
    /// shows as a one-way delay that changes by `drift_ppm` µs each second.
    pub drift_ppm: f64,
    /// How long the drift must last: a fast sender's packets come ever earlier, so they start
    /// `drift_ppm × drift_span` late and catch up over this span.
    pub drift_span: Duration,
}

impl Impairment {
    /// Nothing lost, nothing delayed (the relay alone).
    pub fn none() -> Self {
        Impairment {
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            seed: 1,
            drift_ppm: 0.0,
            drift_span: Duration::ZERO,
        }
    }

    /// `loss` (0..1) and `jitter`, no fixed delay.
    pub fn loss_jitter(loss: f64, jitter: Duration, seed: u64) -> Self {
        Impairment {
            loss,
            delay: Duration::ZERO,
            jitter,
            seed,
            drift_ppm: 0.0,
            drift_span: Duration::ZERO,
        }
    }

    /// The same with phone A's clock `ppm` off B's for `span` (see [`Impairment::drift_ppm`]).
    pub fn with_drift(self, ppm: f64, span: Duration) -> Self {
        Impairment {
            drift_ppm: ppm,
            drift_span: span,
            ..self
        }
    }

    /// The extra delay a drifting clock adds to a packet sent `since` the start, in the
    /// direction whose sender is `ppm` off the receiver.
    fn drift_delay(ppm: f64, span: Duration, since: Duration) -> Duration {
        let rate = ppm.abs() / 1e6;
        if ppm > 0.0 {
            span.saturating_sub(since).mul_f64(rate)
        } else {
            since.mul_f64(rate)
        }
    }
}

/// Which flows go through the relay.
#[derive(Debug, Clone, PartialEq)]
pub struct Divert {
    /// Phone A's address (the one in its SDP).
    pub a: Ipv4Addr,
    /// Phone B's address.
    pub b: Ipv4Addr,
    /// Ports left alone as source or destination (SIP).
    pub skip_ports: Vec<u16>,
    /// If not empty, only flows to these destination ports are diverted (e.g. the RTP ports
    /// of phones with fixed ports, leaving their RTCP on port + 1 alone).
    pub only_ports: Vec<u16>,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Packets that reached the relay.
    pub received: u64,
    /// Of those, lost on purpose.
    pub dropped: u64,
    /// Sent on.
    pub sent: u64,
    /// Held because the other phone's address was not known yet, then dropped.
    pub unknown_peer: u64,
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Phone A to phone B.
    pub a_to_b: DirectionStats,
    /// Phone B to phone A.
    pub b_to_a: DirectionStats,
}

#[derive(Debug, Default)]
struct Shared {
    /// Where phone A and phone B send from (their media addresses), once seen.
    peer_a: Mutex<Option<SocketAddr>>,
    peer_b: Mutex<Option<SocketAddr>>,
    stop: AtomicBool,
    counters: [[AtomicU64; 4]; 2],
}

/// A running relay with its nftables rules. Dropping it stops the relay and removes the
/// rules.
#[derive(Debug)]
pub struct Relay {
    host: Host,
    table: String,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Binds the relay on `host` (`a:RELAY_A_PORT`, `b:RELAY_B_PORT`), installs the
    /// diversion and starts relaying with `impairment`. Needs nftables in the namespace
    /// (the lab's hosts have it).
    pub fn start(host: &Host, divert: &Divert, impairment: Impairment) -> Result<Relay> {
        let sock_a = host.udp_socket(SocketAddr::V4(SocketAddrV4::new(divert.a, RELAY_A_PORT)))?;
        let sock_b = host.udp_socket(SocketAddr::V4(SocketAddrV4::new(divert.b, RELAY_B_PORT)))?;
        for s in [&sock_a, &sock_b] {
            s.set_read_timeout(Some(Duration::from_millis(1)))
                .map_err(|e| LabError::io("relay socket timeout", e))?;
        }
        let table = "hlab_impair".to_owned();
        let rules = ruleset(&table, divert);
        let path = host.out_dir().join("impair.nft");
        std::fs::write(&path, &rules)
            .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
        run(host.command("nft").arg("-f").arg(&path))?;
        let shared = Arc::new(Shared::default());
        let (tx_a, tx_b) = (
            sock_a
                .try_clone()
                .map_err(|e| LabError::io("clone relay socket", e))?,
            sock_b
                .try_clone()
                .map_err(|e| LabError::io("clone relay socket", e))?,
        );
        let mut threads = Vec::new();
        // Packets for B arrive on sock_b (from A) and leave from sock_a, and the other way.
        for (dir, rx, tx, seed) in [
            (0usize, sock_b, tx_a, impairment.seed),
            (
                1usize,
                sock_a,
                tx_b,
                impairment.seed ^ 0x9E37_79B9_7F4A_7C15,
            ),
        ] {
            let shared = shared.clone();
            let imp = Impairment { seed, ..impairment };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("impair-{dir}"))
                    .spawn(move || relay(dir, &rx, &tx, imp, &shared))
                    .map_err(|e| LabError::io("spawn relay thread", e))?,
            );
        }
        Ok(Relay {
            host: host.clone(),
            table,
            shared,
            threads,
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> RelayStats {
        let get = |d: usize| {
            let c = &self.shared.counters[d];
            DirectionStats {
                received: c[0].load(Ordering::Relaxed),
                dropped: c[1].load(Ordering::Relaxed),
                sent: c[2].load(Ordering::Relaxed),
                unknown_peer: c[3].load(Ordering::Relaxed),
            }
        };
        RelayStats {
            a_to_b: get(0),
            b_to_a: get(1),
        }
    }

    /// Forgets the phones' addresses (before the next call).
    pub fn reset(&self) {
        for m in [&self.shared.peer_a, &self.shared.peer_b] {
            if let Ok(mut p) = m.lock() {
                *p = None;
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let _ = self
            .host
            .command("nft")
            .args(["delete", "table", "ip", &self.table])
            .output();
    }
}

/// The nftables rules that send the phones' media to the relay.
fn ruleset(table: &str, d: &Divert) -> String {
    let set = |ports: &[u16]| {
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        format!("{{ {} }}", list.join(", "))
    };
    let mut skip = d.skip_ports.clone();
    skip.extend([RELAY_A_PORT, RELAY_B_PORT]);
    let only = if d.only_ports.is_empty() {
        String::new()
    } else {
        format!(" udp dport {}", set(&d.only_ports))
    };
    let (a, b, skip) = (d.a, d.b, set(&skip));
    format!(
        "table ip {table} {{\n  chain out {{\n    type nat hook output priority -100; policy accept;\n    \
         ip daddr {b} udp sport != {skip} udp dport != {skip}{only} \
         dnat to {b}:{RELAY_B_PORT}\n    \
         ip daddr {a} udp sport != {skip} udp dport != {skip}{only} \
         dnat to {a}:{RELAY_A_PORT}\n  }}\n}}\n"
    )
}

/// A packet waiting for its time.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    due: Instant,
    seq: u64,
    data: Vec<u8>,
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first from a max-heap.
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One direction: `dir` 0 = A to B (arrives on B's relay socket), 1 = B to A.
fn relay(dir: usize, rx: &UdpSocket, tx: &UdpSocket, imp: Impairment, shared: &Shared) {
    let (sender, receiver) = if dir == 0 {
        (&shared.peer_a, &shared.peer_b)
    } else {
        (&shared.peer_b, &shared.peer_a)
    };
    let count = |i: usize| shared.counters[dir][i].fetch_add(1, Ordering::Relaxed);
    let mut rng = SplitMix(imp.seed);
    let ppm = if dir == 0 {
        imp.drift_ppm
    } else {
        -imp.drift_ppm
    };
    let start = Instant::now();
    let mut held = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 2048];
    while !shared.stop.load(Ordering::Relaxed) {
        if let Ok((n, from)) = rx.recv_from(&mut buf) {
            count(0);
            if let Ok(mut s) = sender.lock() {
                s.get_or_insert(from);
            }
            // Both draws for every packet, so the fate of packet k does not depend on the
            // fate of the ones before.
            let lost = rng.unit() < imp.loss;
            let extra = imp.jitter.mul_f64(rng.unit())
                + Impairment::drift_delay(ppm, imp.drift_span, start.elapsed());
            if lost {
                count(1);
            } else {
                seq += 1;
                held.push(Held {
                    due: Instant::now() + imp.delay + extra,
                    seq,
                    data: buf[..n].to_vec(),
                });
            }
        }
        let now = Instant::now();
        while held.peek().is_some_and(|h: &Held| h.due <= now) {
            let Some(h) = held.pop() else { break };
            let to = receiver.lock().ok().and_then(|r| *r);
            match to {
                Some(to) => {
                    if tx.send_to(&h.data, to).is_ok() {
                        count(2);
                    }
                }
                None => {
                    count(3);
                }
            }
        }
    }
}

/// SplitMix64: small, seeded, the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_ruleset_diverts_both_directions_but_not_sip_or_itself() {
        let d = Divert {
            a: Ipv4Addr::new(203, 0, 113, 10),
            b: Ipv4Addr::new(203, 0, 113, 11),
            skip_ports: vec![5060, 5090],
            only_ports: vec![],
        };
        let r = ruleset("t", &d);
        assert!(
            r.contains(
                "ip daddr 203.0.113.11 udp sport != { 5060, 5090, 40001, 40002 } \
                 udp dport != { 5060, 5090, 40001, 40002 } dnat to 203.0.113.11:40002"
            ),
            "{r}"
        );
        assert!(r.contains("dnat to 203.0.113.10:40001"), "{r}");
        let d = Divert {
            only_ports: vec![20000, 22000],
            ..d
        };
        assert!(ruleset("t", &d).contains("udp dport { 20000, 22000 } dnat"));
    }

    #[test]
    fn held_packets_leave_earliest_first() {
        let t = Instant::now();
        let mut h = BinaryHeap::new();
        for (k, ms) in [(1u64, 30u64), (2, 10), (3, 20), (4, 10)] {
            h.push(Held {
                due: t + Duration::from_millis(ms),
                seq: k,
                data: vec![k as u8],
            });
        }
        let order: Vec<u64> = std::iter::from_fn(|| h.pop().map(|p| p.seq)).collect();
        assert_eq!(order, vec![2, 4, 3, 1]);
    }

    #[test]
    fn the_draws_are_seeded() {
        let draws = |seed| {
            let mut r = SplitMix(seed);
            (0..1000).map(|_| r.unit()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let lost = draws(7).iter().filter(|u| **u < 0.03).count();
        assert!((15..=45).contains(&lost), "{lost}");
    }

    #[test]
    fn a_drifting_clock_is_a_delay_that_moves_by_ppm() {
        let hour = Duration::from_secs(3600);
        let d = |ppm, secs| Impairment::drift_delay(ppm, hour, Duration::from_secs(secs));
        // A slow sender's packets fall behind by 100 µs a second, 360 ms in the hour.
        assert_eq!(d(-100.0, 0), Duration::ZERO);
        assert_eq!(d(-100.0, 3600), Duration::from_millis(360));
        // A fast one's start 360 ms late and catch up, never earlier than sent.
        assert_eq!(d(100.0, 0), Duration::from_millis(360));
        assert_eq!(d(100.0, 1800), Duration::from_millis(180));
        assert_eq!(d(100.0, 7200), Duration::ZERO);
        assert_eq!(d(0.0, 1800), Duration::ZERO);
    }
}
