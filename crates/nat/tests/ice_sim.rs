//! Two ICE agents in one process on simulated time, over a simulated internet with two homes
//! behind simulated NATs and a TURN relay reachable by both (over "TCP": the client-to-relay
//! leg is never blocked). Each home is one of: endpoint-independent mapping ("cone", with
//! address-and-port-dependent filtering as most home routers do), address-and-port-dependent
//! mapping ("symmetric"), or UDP blocked.
//!
//! The relay behaves like TURN (RFC 8656): an allocation forwards peer data to its owner only
//! from IP addresses the owner has sent to (a permission, §9), and sends from the relayed
//! address. Gathering is modelled as the real thing would do it: the srflx candidate is the
//! mapping the home's NAT creates towards a STUN server.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use homeline_nat::ice::{
    IceAgent, IceConfig, IceEvent, LocalCandidate, Received, RelayTransport, RouteKind,
    SelectedPair,
};

const HOST: u32 = 1;
const RELAY: u32 = 2;
const STUN_SERVER: &str = "198.51.100.3:3478";
const RELAY_IP: &str = "198.51.100.9";
const ONE_WAY: Duration = Duration::from_millis(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Endpoint-independent mapping, address-and-port-dependent filtering ("port-restricted").
    Cone,
    /// Endpoint-independent mapping, address-dependent filtering ("restricted cone").
    RestrictedCone,
    Symmetric,
    UdpBlocked,
}

struct Nat {
    kind: Kind,
    public: IpAddr,
    next_port: u16,
    /// (internal, destination or None for endpoint-independent) → public port
    map: HashMap<(SocketAddr, Option<SocketAddr>), u16>,
    /// public port → internal
    back: HashMap<u16, SocketAddr>,
    /// (public port, remote) pairs the inside has sent to (APDF filtering).
    allowed: HashSet<(u16, SocketAddr)>,
    allowed_ip: HashSet<(u16, IpAddr)>,
}

impl Nat {
    fn new(kind: Kind, public: &str) -> Self {
        Nat {
            kind,
            public: public.parse().unwrap(),
            next_port: 40_000,
            map: HashMap::new(),
            back: HashMap::new(),
            allowed: HashSet::new(),
            allowed_ip: HashSet::new(),
        }
    }
    fn outbound(&mut self, from: SocketAddr, to: SocketAddr) -> Option<SocketAddr> {
        let key = match self.kind {
            Kind::UdpBlocked => return None,
            Kind::Cone | Kind::RestrictedCone => (from, None),
            Kind::Symmetric => (from, Some(to)),
        };
        let port = match self.map.get(&key) {
            Some(p) => *p,
            None => {
                // Symmetric NATs like Linux's `fully-random` pick unrelated ports.
                self.next_port += if self.kind == Kind::Symmetric { 7 } else { 1 };
                self.map.insert(key, self.next_port);
                self.back.insert(self.next_port, from);
                self.next_port
            }
        };
        self.allowed.insert((port, to));
        self.allowed_ip.insert((port, to.ip()));
        Some(SocketAddr::new(self.public, port))
    }
    fn inbound(&self, to: SocketAddr, from: SocketAddr) -> Option<SocketAddr> {
        let ok = match self.kind {
            Kind::UdpBlocked => false,
            Kind::RestrictedCone => self.allowed_ip.contains(&(to.port(), from.ip())),
            _ => self.allowed.contains(&(to.port(), from)),
        };
        if !ok {
            return None;
        }
        self.back.get(&to.port()).copied()
    }
}

struct Home {
    nat: Nat,
    host: SocketAddr,
    relay: SocketAddr,
    relay_transport: RelayTransport,
    agent: IceAgent,
    events: Vec<(Duration, IceEvent)>,
    media_received: usize,
}

struct Packet {
    to_home: usize,
    socket: u32,
    from: SocketAddr,
    data: Vec<u8>,
}

struct World {
    start: Instant,
    now: Instant,
    homes: Vec<Home>,
    /// Relay permissions: (allocation owner) → peer IPs.
    perms: [HashSet<IpAddr>; 2],
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    inflight: HashMap<u64, Packet>,
    seq: u64,
    /// Everything on the internet is dropped (consent-loss test).
    cut: bool,
    /// One-way delay across the internet.
    one_way: Duration,
    /// Copies of real STUN datagrams, for the garbage test.
    captured: Vec<Vec<u8>>,
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl World {
    fn new(a: Kind, b: Kind, controlling_a: bool) -> Self {
        let start = Instant::now();
        let mk = |i: usize, kind: Kind, controlling: bool| {
            let nat = Nat::new(kind, ["203.0.113.10", "192.0.2.20"][i]);
            let host = sa(["10.0.1.2:5000", "10.0.2.2:6000"][i]);
            let relay = SocketAddr::new(RELAY_IP.parse().unwrap(), 50_000 + i as u16);
            let agent = IceAgent::new(
                start,
                IceConfig {
                    controlling,
                    ..Default::default()
                },
            )
            .unwrap();
            Home {
                nat,
                host,
                relay,
                relay_transport: if kind == Kind::UdpBlocked {
                    RelayTransport::Tcp
                } else {
                    RelayTransport::Udp
                },
                agent,
                events: Vec::new(),
                media_received: 0,
            }
        };
        let mut w = World {
            start,
            now: start,
            homes: vec![mk(0, a, controlling_a), mk(1, b, !controlling_a)],
            perms: [HashSet::new(), HashSet::new()],
            queue: BinaryHeap::new(),
            inflight: HashMap::new(),
            seq: 0,
            cut: false,
            one_way: ONE_WAY,
            captured: Vec::new(),
        };
        for i in 0..2 {
            let locals = w.gather(i);
            for c in locals {
                w.homes[i].agent.add_local_candidate(c).unwrap();
            }
        }
        w
    }

    /// Host, srflx (the NAT's mapping towards the STUN server) and relay candidates.
    fn gather(&mut self, i: usize) -> Vec<LocalCandidate> {
        let h = &mut self.homes[i];
        let mut v = vec![LocalCandidate::host(HOST, h.host)];
        let srflx = h.nat.outbound(h.host, sa(STUN_SERVER));
        if let Some(m) = srflx {
            v.push(LocalCandidate::server_reflexive(HOST, m, h.host));
        }
        // The TURN server's XOR-MAPPED-ADDRESS (over TCP when UDP is blocked: a made-up one).
        let mapped = srflx.unwrap_or(SocketAddr::new(h.nat.public, 1));
        v.push(LocalCandidate::relay(
            RELAY,
            h.relay,
            mapped,
            h.relay_transport,
        ));
        v
    }

    fn exchange(&mut self) {
        let a = self.homes[0].agent.local_description();
        let b = self.homes[1].agent.local_description();
        let (ca, cb) = (
            self.homes[0].agent.controlling(),
            self.homes[1].agent.controlling(),
        );
        self.homes[0].agent.set_remote(self.now, &b, ca).unwrap();
        self.homes[1].agent.set_remote(self.now, &a, cb).unwrap();
        self.flush();
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn send_internet(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>, extra: Duration) {
        if self.cut {
            return;
        }
        let dest = if to.ip() == RELAY_IP.parse::<IpAddr>().unwrap() {
            // Into a relayed address: permission check, then to the owner (over its TCP/UDP
            // leg, never blocked).
            (0..2)
                .find(|&k| self.homes[k].relay == to && self.perms[k].contains(&from.ip()))
                .map(|k| (k, RELAY))
        } else {
            (0..2)
                .find(|&k| self.homes[k].nat.public == to.ip())
                .and_then(|k| self.homes[k].nat.inbound(to, from).map(|_| (k, HOST)))
        };
        if let Some((k, socket)) = dest {
            self.push(
                self.one_way + extra,
                Packet {
                    to_home: k,
                    socket,
                    from,
                    data,
                },
            );
        }
    }

    fn push(&mut self, after: Duration, p: Packet) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + after, self.seq)));
        self.inflight.insert(self.seq, p);
    }

    /// Sends what the agents want to send.
    fn flush(&mut self) {
        for i in 0..2 {
            while let Some(t) = self.homes[i].agent.poll_transmit() {
                if self.captured.len() < 64 {
                    self.captured.push(t.payload.clone());
                }
                if t.socket == RELAY {
                    assert_eq!(t.source, self.homes[i].relay);
                    self.perms[i].insert(t.destination.ip());
                    self.send_internet(t.source, t.destination, t.payload, Duration::ZERO);
                } else {
                    assert_eq!(t.source, self.homes[i].host, "checks leave from the base");
                    // A private destination of the other home is not routable.
                    if let Some(public) = self.homes[i].nat.outbound(t.source, t.destination) {
                        self.send_internet(public, t.destination, t.payload, Duration::ZERO);
                    }
                }
            }
            while let Some(e) = self.homes[i].agent.poll_event() {
                let at = self.elapsed();
                self.homes[i].events.push((at, e));
            }
        }
    }

    /// Runs the world until `until` returns true or `limit` of simulated time passes.
    fn run_until(&mut self, limit: Duration, mut until: impl FnMut(&World) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            if until(self) {
                return true;
            }
            let mut next = deadline;
            if let Some(Reverse((t, _))) = self.queue.peek() {
                next = next.min(*t);
            }
            for i in 0..2 {
                if let Some(t) = self.homes[i].agent.poll_timeout() {
                    next = next.min(t.max(self.now));
                }
            }
            if next >= deadline && self.now >= deadline {
                return false;
            }
            // Never stand still: the agent may ask for "now" repeatedly.
            self.now = next.max(self.now);
            while let Some(Reverse((t, id))) = self.queue.peek().copied() {
                if t > self.now {
                    break;
                }
                self.queue.pop();
                let p = self.inflight.remove(&id).unwrap();
                let r = self.homes[p.to_home]
                    .agent
                    .handle_receive(self.now, p.socket, p.from, &p.data);
                if r == Received::Media {
                    self.homes[p.to_home].media_received += 1;
                }
            }
            for i in 0..2 {
                if self.homes[i]
                    .agent
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
                {
                    self.homes[i].agent.handle_timeout(self.now);
                }
            }
            self.flush();
            if self.now >= deadline {
                return until(self);
            }
            if next == self.now
                && self
                    .queue
                    .peek()
                    .is_none_or(|Reverse((t, _))| *t > self.now)
            {
                // Agents that keep asking for an immediate wake-up would spin: step 1 ms.
                let again = (0..2).any(|i| {
                    self.homes[i]
                        .agent
                        .poll_timeout()
                        .is_some_and(|t| t <= self.now)
                });
                if again {
                    self.now += Duration::from_millis(1);
                }
            }
        }
    }

    fn selected(&self, i: usize) -> Option<(Duration, SelectedPair)> {
        self.homes[i]
            .events
            .iter()
            .rev()
            .find_map(|(t, e)| match e {
                IceEvent::Selected(p) => Some((*t, *p)),
                _ => None,
            })
    }

    fn both_selected(&self) -> bool {
        self.homes[0].agent.selected().is_some() && self.homes[1].agent.selected().is_some()
    }

    /// Media both ways on the selected pairs (what the caller does with `Selected`).
    fn exchange_media(&mut self) -> bool {
        self.exchange_media_within(Duration::from_millis(200))
    }

    fn exchange_media_within(&mut self, limit: Duration) -> bool {
        let before = [self.homes[0].media_received, self.homes[1].media_received];
        for i in 0..2 {
            let p = self.homes[i].agent.selected().unwrap();
            let rtp = vec![0x80, 0x6f, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xaa, 0xbb];
            if p.socket == RELAY {
                self.perms[i].insert(p.destination.ip());
                self.send_internet(p.source, p.destination, rtp, Duration::ZERO);
            } else if let Some(public) = self.homes[i].nat.outbound(p.source, p.destination) {
                self.send_internet(public, p.destination, rtp, Duration::ZERO);
            }
        }
        self.run_until(limit, |w| {
            w.homes[0].media_received > before[0] && w.homes[1].media_received > before[1]
        })
    }
}

fn connect(a: Kind, b: Kind) -> (World, Duration) {
    let mut w = World::new(a, b, true);
    w.exchange();
    assert!(
        w.run_until(Duration::from_secs(10), World::both_selected),
        "{a:?}↔{b:?}: no pair selected in 10 s; events A {:?} B {:?}",
        w.homes[0].events,
        w.homes[1].events
    );
    let t = w.selected(0).unwrap().0.max(w.selected(1).unwrap().0);
    assert!(
        w.exchange_media(),
        "{a:?}↔{b:?}: media does not flow on the selected pair"
    );
    (w, t)
}

#[test]
fn cone_to_cone_goes_direct_without_relay() {
    let (w, t) = connect(Kind::Cone, Kind::Cone);
    let a = w.selected(0).unwrap().1;
    let b = w.selected(1).unwrap().1;
    eprintln!(
        "cone↔cone: selected after {} ms: A {} B {}",
        t.as_millis(),
        a.route,
        b.route
    );
    for p in [a, b] {
        assert!(!p.route.is_relay(), "{p:?}");
        assert!(matches!(
            p.route,
            RouteKind::Srflx | RouteKind::Prflx | RouteKind::Host
        ));
        assert_eq!(p.socket, HOST);
    }
    // A reaches B's public mapping, and B sees A's.
    assert_eq!(a.destination.ip(), w.homes[1].nat.public);
    assert_eq!(b.destination.ip(), w.homes[0].nat.public);
    assert!(t < Duration::from_secs(2), "took {t:?}");
}

#[test]
fn symmetric_to_symmetric_goes_through_the_relay() {
    let (w, t) = connect(Kind::Symmetric, Kind::Symmetric);
    let a = w.selected(0).unwrap().1;
    let b = w.selected(1).unwrap().1;
    eprintln!(
        "symmetric↔symmetric: selected after {} ms: A {} B {}",
        t.as_millis(),
        a.route,
        b.route
    );
    assert!(a.route.is_relay() && b.route.is_relay(), "{a:?} {b:?}");
    assert!(a.socket == RELAY || b.socket == RELAY);
    assert!(t < Duration::from_secs(3), "took {t:?}");
}

#[test]
fn udp_blocked_uses_its_relay_over_tcp() {
    let (w, t) = connect(Kind::UdpBlocked, Kind::Cone);
    let a = w.selected(0).unwrap().1;
    eprintln!(
        "udp-blocked↔cone: selected after {} ms: A {}",
        t.as_millis(),
        a.route
    );
    assert_eq!(a.route, RouteKind::RelayTcp);
    assert_eq!(a.socket, RELAY);
    // The controlled side behind a blocked network works the same.
    let mut w = World::new(Kind::Cone, Kind::UdpBlocked, true);
    w.exchange();
    assert!(w.run_until(Duration::from_secs(10), World::both_selected));
    assert_eq!(w.selected(1).unwrap().1.route, RouteKind::RelayTcp);
    assert!(w.exchange_media());
}

#[test]
fn symmetric_to_port_restricted_cone_needs_the_relay() {
    // NAT theory: the symmetric side's per-destination port is never one the port-restricted
    // side has sent to, so only a relay connects them.
    let (w, t) = connect(Kind::Symmetric, Kind::Cone);
    let a = w.selected(0).unwrap().1;
    let b = w.selected(1).unwrap().1;
    eprintln!(
        "symmetric↔port-restricted cone: selected after {} ms: A {} B {}",
        t.as_millis(),
        a.route,
        b.route
    );
    assert!(a.route.is_relay() && b.route.is_relay(), "{a:?} {b:?}");
}

#[test]
fn symmetric_to_restricted_cone_finds_a_peer_reflexive_path() {
    let (w, t) = connect(Kind::Symmetric, Kind::RestrictedCone);
    let a = w.selected(0).unwrap().1;
    let b = w.selected(1).unwrap().1;
    eprintln!(
        "symmetric↔restricted cone: selected after {} ms: A {} B {}",
        t.as_millis(),
        a.route,
        b.route
    );
    // B learns A's per-destination mapping during the checks: a prflx candidate, no relay.
    assert_eq!(b.route, RouteKind::Prflx, "{b:?}");
    assert_eq!(
        b.remote_type,
        homeline_media::sdp::CandidateType::PeerReflexive
    );
    assert!(!a.route.is_relay(), "{a:?}");
}

#[test]
fn far_peer_that_starts_late_still_connects() {
    // RTT 600 ms, and the answerer starts checking 1 s after the offerer (its SIP answer was
    // late): pairs must not be given up before the peer answers.
    let mut w = World::new(Kind::Symmetric, Kind::Symmetric, true);
    w.one_way = Duration::from_millis(300);
    let a = w.homes[0].agent.local_description();
    let b = w.homes[1].agent.local_description();
    let now = w.now;
    w.homes[0].agent.set_remote(now, &b, true).unwrap();
    w.flush();
    w.run_until(Duration::from_secs(1), |_| false);
    let now = w.now;
    w.homes[1].agent.set_remote(now, &a, false).unwrap();
    w.flush();
    assert!(
        w.run_until(Duration::from_secs(15), World::both_selected),
        "{:?}",
        w.homes[0].events
    );
    let t = w.selected(0).unwrap().0.max(w.selected(1).unwrap().0);
    eprintln!(
        "far and late (RTT 600 ms, +1 s): selected after {} ms",
        t.as_millis()
    );
    assert!(w.selected(0).unwrap().1.route.is_relay());
    assert!(w.exchange_media_within(Duration::from_secs(1)));
}

#[test]
fn both_controlling_is_repaired_by_tie_breaker() {
    let mut w = World::new(Kind::Cone, Kind::Cone, true);
    // A signalling bug (or a glare) makes both controlling.
    let a = w.homes[0].agent.local_description();
    let b = w.homes[1].agent.local_description();
    w.homes[0].agent.set_remote(w.now, &b, true).unwrap();
    w.homes[1].agent.set_remote(w.now, &a, true).unwrap();
    w.flush();
    assert!(w.run_until(Duration::from_secs(10), World::both_selected));
    assert_ne!(
        w.homes[0].agent.controlling(),
        w.homes[1].agent.controlling()
    );
    let changed = (0..2).any(|i| {
        w.homes[i]
            .events
            .iter()
            .any(|(_, e)| matches!(e, IceEvent::RoleChanged { controlling: false }))
    });
    assert!(changed);
    assert!(w.exchange_media());
}

#[test]
fn consent_loss_is_reported_after_30_seconds() {
    let (mut w, _) = connect(Kind::Cone, Kind::Cone);
    // Consent checks keep the pair alive while the network works.
    assert!(!w.run_until(Duration::from_secs(40), |w| {
        w.homes.iter().any(|h| {
            h.events
                .iter()
                .any(|(_, e)| matches!(e, IceEvent::ConsentLost | IceEvent::Failed))
        })
    }));
    let cut_at = w.elapsed();
    w.cut = true;
    let lost = |w: &World| {
        w.homes.iter().all(|h| {
            h.events
                .iter()
                .any(|(_, e)| matches!(e, IceEvent::ConsentLost))
        })
    };
    assert!(
        w.run_until(Duration::from_secs(60), lost),
        "{:?}",
        w.homes[0].events
    );
    for h in &w.homes {
        let (at, _) = h
            .events
            .iter()
            .find(|(_, e)| matches!(e, IceEvent::ConsentLost))
            .unwrap();
        let after = *at - cut_at;
        eprintln!("consent lost {} ms after the cut", after.as_millis());
        // RFC 7675 §5.1: 30 s after the last response, which came at most one consent
        // interval (2 s) plus a round trip before the cut.
        assert!(
            after >= Duration::from_millis(27_900) && after <= Duration::from_millis(32_500),
            "{after:?}"
        );
        assert!(h.agent.selected().is_none());
        assert!(h.events.iter().any(|(_, e)| matches!(
            e,
            IceEvent::State(homeline_nat::ice::IceState::Disconnected)
        )));
    }
}

#[test]
fn restart_after_an_address_change_reselects() {
    let (mut w, _) = connect(Kind::Cone, Kind::Cone);
    let old = w.selected(1).unwrap().1;
    // Home A moves (Wi-Fi → cable): new private address, new public address, fresh NAT.
    w.homes[0].host = sa("10.0.3.7:5002");
    w.homes[0].nat = Nat::new(Kind::Cone, "203.0.113.77");
    let restart_at = w.elapsed();
    for i in 0..2 {
        let locals = w.gather(i);
        let now = w.now;
        w.homes[i]
            .agent
            .restart(now, String::new(), String::new(), &locals)
            .unwrap();
        assert!(w.homes[i].agent.selected().is_none());
    }
    let (ua, _) = w.homes[0].agent.local_credentials();
    w.exchange();
    let reselected = |w: &World| {
        w.both_selected()
            && w.selected(1).is_some_and(|(t, _)| t >= restart_at)
            && w.selected(0).is_some_and(|(t, _)| t >= restart_at)
    };
    assert!(w.run_until(Duration::from_secs(10), reselected));
    let new = w.selected(1).unwrap();
    eprintln!(
        "restart: re-selected after {} ms",
        (new.0 - restart_at).as_millis()
    );
    assert_ne!(new.1.destination, old.destination);
    assert_eq!(
        new.1.destination.ip(),
        "203.0.113.77".parse::<IpAddr>().unwrap()
    );
    assert_ne!(ua, "", "new credentials");
    assert!(w.exchange_media());
}

#[test]
fn garbage_datagrams_are_ignored() {
    let mut w = World::new(Kind::Cone, Kind::Cone, true);
    w.exchange();
    // Let some real checks fly so we have real STUN to mutate.
    w.run_until(Duration::from_millis(100), |_| false);
    let mut seed: u64 = 0x1ce_5eed;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    assert!(!w.captured.is_empty());
    let peers = [
        SocketAddr::new(w.homes[1].nat.public, 40_001),
        sa("192.0.2.200:1234"),
        SocketAddr::new(w.homes[0].nat.public, 40_001),
    ];
    let mut stranger_learned = false;
    for round in 0..4000 {
        let base = &w.captured[(next() as usize) % w.captured.len()];
        let mut d = base.clone();
        match next() % 4 {
            0 => {
                for _ in 0..(1 + next() % 4) {
                    let i = (next() as usize) % d.len();
                    d[i] = next() as u8;
                }
            }
            1 => d.truncate((next() as usize) % d.len()),
            2 => d.extend((0..(next() % 64)).map(|_| next() as u8)),
            _ => d = (0..(next() % 200)).map(|_| next() as u8).collect(),
        }
        let home = round % 2;
        let from = peers[(next() as usize) % peers.len()];
        let now = w.now;
        let r = w.homes[home].agent.handle_receive(now, HOST, from, &d);
        // An unchanged authenticated check replayed from a new address is a legitimate
        // peer-reflexive discovery in ICE; anything altered from a stranger must be dropped.
        if from == peers[1] && w.captured.contains(&d) && r == Received::Ice {
            stranger_learned = true;
        }
        if from == peers[1] && !stranger_learned {
            assert!(matches!(r, Received::Ignored(_)), "from a stranger: {r:?}");
        }
        w.flush();
    }
    // The agents still work.
    assert!(w.run_until(Duration::from_secs(10), World::both_selected));
    assert!(w.exchange_media());
}
