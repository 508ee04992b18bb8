//! RFC 5780 discovery and the parallel lifetime probe against simulated NATs and a simulated
//! RFC 5780 STUN server, on simulated time (no sockets, no sleeping).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use homeline_nat::behaviour::{
    BehaviourReport, Discovery, DiscoveryMethod, Filtering, Flow, LifetimeOutcome, LifetimeProbe,
    Mapping, Timing, Transmit,
};
use stun::addr::MappedAddress;
use stun::attributes::{
    ATTR_CHANGE_REQUEST, ATTR_OTHER_ADDRESS, ATTR_RESPONSE_ORIGIN, ATTR_RESPONSE_PORT,
};
use stun::message::{BINDING_SUCCESS, Message, Setter};
use stun::xoraddr::XorMappedAddress;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

const PUBLIC: &str = "203.0.113.1";
const IP1: &str = "198.51.100.10";
const IP2: &str = "198.51.100.11";

type MappingKey = (SocketAddr, Option<SocketAddr>);
/// Public port, last activity, destinations contacted.
type MappingEntry = (u16, Instant, Vec<SocketAddr>);
/// To, from, payload, towards the server.
type InFlight = (SocketAddr, SocketAddr, Vec<u8>, bool);

/// A NAT with configurable mapping, filtering and idle timeout.
struct Nat {
    mapping: Mapping,
    filtering: Filtering,
    timeout: Duration,
    /// (internal, mapping key) → (public port, last activity, destinations contacted)
    table: HashMap<MappingKey, MappingEntry>,
    next_port: u16,
    public: IpAddr,
}

impl Nat {
    fn new(mapping: Mapping, filtering: Filtering, timeout: Duration) -> Self {
        Self {
            mapping,
            filtering,
            timeout,
            table: HashMap::new(),
            next_port: 40000,
            public: PUBLIC.parse().expect("ip"),
        }
    }

    fn key(&self, internal: SocketAddr, dest: SocketAddr) -> (SocketAddr, Option<SocketAddr>) {
        let k = match self.mapping {
            Mapping::EndpointIndependent => None,
            Mapping::AddressDependent => Some(SocketAddr::new(dest.ip(), 0)),
            Mapping::AddressAndPortDependent => Some(dest),
        };
        (internal, k)
    }

    fn expire(&mut self, now: Instant) {
        let t = self.timeout;
        self.table
            .retain(|_, (_, last, _)| now.duration_since(*last) < t);
    }

    fn outbound(&mut self, now: Instant, internal: SocketAddr, dest: SocketAddr) -> SocketAddr {
        self.expire(now);
        let key = self.key(internal, dest);
        let next = &mut self.next_port;
        let e = self.table.entry(key).or_insert_with(|| {
            *next += 7;
            (*next, now, Vec::new())
        });
        e.1 = now;
        if !e.2.contains(&dest) {
            e.2.push(dest);
        }
        SocketAddr::new(self.public, e.0)
    }

    fn inbound(&mut self, now: Instant, from: SocketAddr, to_port: u16) -> Option<SocketAddr> {
        self.expire(now);
        let filtering = self.filtering;
        for ((internal, _), (port, last, contacted)) in self.table.iter_mut() {
            if *port != to_port {
                continue;
            }
            let allowed = match filtering {
                Filtering::EndpointIndependent => true,
                Filtering::AddressDependent => contacted.iter().any(|c| c.ip() == from.ip()),
                Filtering::AddressAndPortDependent => contacted.contains(&from),
            };
            if allowed {
                *last = now;
                return Some(*internal);
            }
            return None;
        }
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerKind {
    Rfc5780,
    Plain,
    Garbage,
    Silent,
}

/// An RFC 5780 STUN server on IP1/IP2 × 3478/3479.
fn serve(
    kind: ServerKind,
    to: SocketAddr,
    from: SocketAddr,
    data: &[u8],
) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
    match kind {
        ServerKind::Silent => return None,
        ServerKind::Garbage => {
            return Some((to, from, b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()));
        }
        _ => {}
    }
    let mut req = Message::new();
    req.unmarshal_binary(data).ok()?;
    let mut src = to;
    let mut dst = from;
    if kind == ServerKind::Rfc5780 {
        if let Ok(v) = req.get(ATTR_CHANGE_REQUEST) {
            let flags = v.get(3).copied().unwrap_or(0);
            let other_ip: IpAddr = if to.ip() == IP1.parse::<IpAddr>().expect("ip") {
                IP2
            } else {
                IP1
            }
            .parse()
            .expect("ip");
            let other_port = if to.port() == 3478 { 3479 } else { 3478 };
            if flags & 0x04 != 0 {
                src.set_ip(other_ip);
            }
            if flags & 0x02 != 0 {
                src.set_port(other_port);
            }
        }
        if let Ok(v) = req.get(ATTR_RESPONSE_PORT) {
            dst.set_port(u16::from_be_bytes([v[0], v[1]]));
        }
    } else if req.contains(ATTR_CHANGE_REQUEST) || req.contains(ATTR_RESPONSE_PORT) {
        // A plain server: 420 would be right; many just ignore it. Ignore.
    }
    let mut res = Message::new();
    let setters: [Box<dyn Setter>; 2] = [Box::new(BINDING_SUCCESS), Box::new(req.transaction_id)];
    res.build(&setters).expect("build");
    XorMappedAddress {
        ip: from.ip(),
        port: from.port(),
    }
    .add_to_as(&mut res, stun::attributes::ATTR_XORMAPPED_ADDRESS)
    .expect("xor");
    if kind == ServerKind::Rfc5780 {
        MappedAddress {
            ip: IP2.parse().expect("ip"),
            port: 3479,
        }
        .add_to_as(&mut res, ATTR_OTHER_ADDRESS)
        .expect("other");
        MappedAddress {
            ip: src.ip(),
            port: src.port(),
        }
        .add_to_as(&mut res, ATTR_RESPONSE_ORIGIN)
        .expect("origin");
    }
    res.write_header();
    Some((src, dst, res.raw.clone()))
}

fn internal(flow: Flow) -> SocketAddr {
    let port = match flow {
        Flow::Mapping => 5000,
        Flow::Filtering => 5001,
        Flow::Prober => 5002,
        Flow::Lifetime(n) => 6000 + n,
    };
    SocketAddr::new("10.0.0.2".parse().expect("ip"), port)
}

fn flow_of(addr: SocketAddr) -> Flow {
    match addr.port() {
        5000 => Flow::Mapping,
        5001 => Flow::Filtering,
        5002 => Flow::Prober,
        p => Flow::Lifetime(p - 6000),
    }
}

trait Core {
    fn transmit(&mut self) -> Option<Transmit>;
    fn read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]);
    fn timeout(&self) -> Option<Instant>;
    fn on_timeout(&mut self, now: Instant);
    fn finished(&self) -> bool;
}

impl Core for Discovery {
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        self.handle_read(now, flow, from, data)
    }
    fn timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.handle_timeout(now)
    }
    fn finished(&self) -> bool {
        self.result().is_some()
    }
}

impl Core for LifetimeProbe {
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        self.handle_read(now, flow, from, data)
    }
    fn timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: Instant) {
        self.handle_timeout(now)
    }
    fn finished(&self) -> bool {
        self.outcome().is_some()
    }
}

/// Runs a core over the simulated network (10 ms each way) until it finishes; returns the
/// simulated time it took. `behind_nat = None` means no NAT at all.
fn run(
    core: &mut dyn Core,
    start: Instant,
    mut nat: Option<&mut Nat>,
    kind: ServerKind,
    servers_kind: &dyn Fn(SocketAddr) -> ServerKind,
) -> Duration {
    let one_way = Duration::from_millis(10);
    // deliver_at → (to_flow, from, payload) ; BTreeMap keyed by (time, seq)
    let mut queue: BTreeMap<(Instant, u64), InFlight> = BTreeMap::new();
    let mut seq = 0u64;
    let mut now = start;
    let _ = kind;
    for _ in 0..1_000_000 {
        while let Some(t) = core.transmit() {
            let src_int = internal(t.flow);
            let src_pub = match nat.as_deref_mut() {
                Some(n) => n.outbound(now, src_int, t.to),
                None => src_int,
            };
            seq += 1;
            // (to, from, payload, towards_server)
            queue.insert((now + one_way, seq), (t.to, src_pub, t.payload, true));
        }
        if core.finished() {
            return now - start;
        }
        let next_packet = queue.keys().next().map(|k| k.0);
        let next = match (next_packet, core.timeout()) {
            (Some(p), Some(t)) => p.min(t),
            (Some(p), None) => p,
            (None, Some(t)) => t,
            (None, None) => panic!("stalled at {:?}", now - start),
        };
        now = now.max(next);
        if next_packet == Some(next) {
            let key = *queue.keys().next().expect("packet");
            let (to, from, data, towards_server) = queue.remove(&key).expect("packet");
            if towards_server {
                if let Some((src, dst, reply)) = serve(servers_kind(to), to, from, &data) {
                    seq += 1;
                    queue.insert((now + one_way, seq), (dst, src, reply, false));
                }
            } else {
                let dest_int = match nat.as_deref_mut() {
                    Some(n) => n.inbound(now, from, to.port()),
                    None => Some(to),
                };
                if let Some(d) = dest_int {
                    core.read(now, flow_of(d), from, &data);
                }
            }
        } else {
            core.on_timeout(now);
        }
    }
    panic!("did not finish");
}

fn discover(
    nat: Option<Nat>,
    servers: &[&str],
    kinds: &dyn Fn(SocketAddr) -> ServerKind,
) -> (BehaviourReport, Duration) {
    let start = Instant::now();
    let mut nat = nat;
    let servers: Vec<SocketAddr> = servers.iter().map(|s| sa(s)).collect();
    let mut d = Discovery::new(start, servers, internal(Flow::Mapping), Timing::default());
    let took = run(&mut d, start, nat.as_mut(), ServerKind::Rfc5780, kinds);
    (d.result().expect("result"), took)
}

fn rfc(_: SocketAddr) -> ServerKind {
    ServerKind::Rfc5780
}

fn long() -> Duration {
    Duration::from_secs(120)
}

#[test]
fn rfc5780_finds_every_mapping_and_filtering_combination() {
    let mappings = [
        Mapping::EndpointIndependent,
        Mapping::AddressDependent,
        Mapping::AddressAndPortDependent,
    ];
    let filterings = [
        Filtering::EndpointIndependent,
        Filtering::AddressDependent,
        Filtering::AddressAndPortDependent,
    ];
    for m in mappings {
        for f in filterings {
            let (r, took) = discover(Some(Nat::new(m, f, long())), &["198.51.100.10:3478"], &rfc);
            assert_eq!(r.method, DiscoveryMethod::Rfc5780);
            assert_eq!(r.mapping, Some(m), "mapping for {m:?}/{f:?}");
            assert_eq!(r.filtering, Some(f), "filtering for {m:?}/{f:?}");
            assert_eq!(r.mapped.map(|a| a.ip()), Some(PUBLIC.parse().expect("ip")));
            assert!(r.behind_nat());
            // Decided within the quick verdict's budget: the filtering test waits out one
            // deadline (2.5 s) when the filter drops the changed answers.
            assert!(took < Duration::from_secs(4), "{m:?}/{f:?} took {took:?}");
        }
    }
}

#[test]
fn no_nat_is_endpoint_independent() {
    let (r, _) = discover(None, &["198.51.100.10:3478"], &rfc);
    assert!(!r.behind_nat());
    assert_eq!(r.mapping, Some(Mapping::EndpointIndependent));
    assert_eq!(r.filtering, Some(Filtering::EndpointIndependent));
}

#[test]
fn udp_blocked_means_no_mapped_address_within_the_deadline() {
    let (r, took) = discover(
        Some(Nat::new(
            Mapping::EndpointIndependent,
            Filtering::AddressAndPortDependent,
            long(),
        )),
        &["198.51.100.10:3478", "192.0.2.99:3478"],
        &|_| ServerKind::Silent,
    );
    assert!(!r.udp_works());
    assert_eq!(r.mapping, None);
    assert_eq!(r.servers_answered, 0);
    assert!(took <= Duration::from_millis(2600), "{took:?}");
}

#[test]
fn two_plain_servers_tell_cone_from_symmetric() {
    let plain = |_: SocketAddr| ServerKind::Plain;
    let (cone, _) = discover(
        Some(Nat::new(
            Mapping::EndpointIndependent,
            Filtering::AddressAndPortDependent,
            long(),
        )),
        &["198.51.100.10:3478", "192.0.2.99:3478"],
        &plain,
    );
    assert_eq!(cone.method, DiscoveryMethod::TwoServers);
    assert_eq!(cone.mapping, Some(Mapping::EndpointIndependent));
    assert_eq!(cone.filtering, None);

    let (sym, _) = discover(
        Some(Nat::new(
            Mapping::AddressAndPortDependent,
            Filtering::AddressAndPortDependent,
            long(),
        )),
        &["198.51.100.10:3478", "192.0.2.99:3478"],
        &plain,
    );
    assert_eq!(sym.method, DiscoveryMethod::TwoServers);
    assert!(sym.mapping.expect("mapping").is_symmetric());

    let (one, _) = discover(
        Some(Nat::new(
            Mapping::AddressAndPortDependent,
            Filtering::AddressAndPortDependent,
            long(),
        )),
        &["198.51.100.10:3478"],
        &plain,
    );
    assert_eq!(one.method, DiscoveryMethod::OneServer);
    assert_eq!(one.mapping, None);
    assert!(one.udp_works());
}

#[test]
fn garbage_answers_are_reported_not_fatal() {
    let start = Instant::now();
    let mut nat = Nat::new(
        Mapping::EndpointIndependent,
        Filtering::EndpointIndependent,
        long(),
    );
    let servers = vec![sa("198.51.100.10:3478"), sa("192.0.2.99:3478")];
    let mut d = Discovery::new(start, servers, internal(Flow::Mapping), Timing::default());
    let kinds = |a: SocketAddr| {
        if a.ip() == IP1.parse::<IpAddr>().expect("ip") {
            ServerKind::Garbage
        } else {
            ServerKind::Plain
        }
    };
    run(&mut d, start, Some(&mut nat), ServerKind::Plain, &kinds);
    let results = d.server_results();
    assert!(
        matches!(
            results[0].1,
            Some(homeline_nat::behaviour::BindingResult::Garbage { .. })
        ),
        "{:?}",
        results[0]
    );
    assert!(matches!(
        results[1].1,
        Some(homeline_nat::behaviour::BindingResult::Answered { .. })
    ));
    let r = d.result().expect("result");
    assert_eq!(r.servers_answered, 1);
    // Random bytes of every length never panic.
    let mut seed = 7u32;
    for len in 0..200 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            })
            .collect();
        d.handle_read(start, Flow::Mapping, sa("198.51.100.10:3478"), &bytes);
    }
}

fn lifetime(timeout: Duration, kind: ServerKind) -> (LifetimeOutcome, Duration) {
    let start = Instant::now();
    let mut nat = Nat::new(
        Mapping::EndpointIndependent,
        Filtering::AddressAndPortDependent,
        timeout,
    );
    let mut p = LifetimeProbe::new(
        start,
        sa("198.51.100.10:3478"),
        homeline_nat::behaviour::default_idle_times(),
        Timing::default(),
    );
    let took = run(&mut p, start, Some(&mut nat), kind, &|_| kind);
    (p.outcome().expect("outcome"), took)
}

#[test]
fn lifetime_of_a_30_s_router_is_measured_in_under_a_minute() {
    let (o, took) = lifetime(Duration::from_secs(30), ServerKind::Rfc5780);
    match o {
        LifetimeOutcome::Measured { survived, expired } => {
            assert_eq!(survived, Duration::from_secs(28), "{o:?}");
            assert_eq!(expired, Duration::from_secs(30), "{o:?}");
        }
        other => panic!("{other:?}"),
    }
    // Warm-up 3 s + 30 s idle + the confirmation: well under a minute, not 10–16.
    assert!(took < Duration::from_secs(40), "{took:?}");
}

#[test]
fn lifetime_of_common_routers() {
    for (secs, survived, expired) in [(60, 58, 60), (90, 85, 90), (180, 170, 180), (45, 44, 46)] {
        let (o, took) = lifetime(Duration::from_secs(secs), ServerKind::Rfc5780);
        assert_eq!(
            o,
            LifetimeOutcome::Measured {
                survived: Duration::from_secs(survived),
                expired: Duration::from_secs(expired)
            },
            "router forgetting after {secs} s"
        );
        assert!(took <= Duration::from_secs(4 * 60), "{secs}: {took:?}");
    }
}

#[test]
fn lifetime_beyond_the_longest_probe_finishes_within_four_minutes() {
    let (o, took) = lifetime(Duration::from_secs(600), ServerKind::Rfc5780);
    assert_eq!(o, LifetimeOutcome::AtLeast(Duration::from_secs(230)));
    assert!(took <= Duration::from_secs(4 * 60), "{took:?}");
}

#[test]
fn lifetime_needs_response_port_and_says_so() {
    let (o, took) = lifetime(Duration::from_secs(30), ServerKind::Plain);
    match o {
        LifetimeOutcome::NotMeasured(why) => assert!(why.contains("RESPONSE-PORT"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (o, _) = lifetime(Duration::from_secs(30), ServerKind::Silent);
    assert!(matches!(o, LifetimeOutcome::NotMeasured(_)), "{o:?}");
}
