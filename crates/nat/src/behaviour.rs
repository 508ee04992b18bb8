//! NAT behaviour discovery (RFC 5780) and the NAT binding lifetime (RFC 5780 §4.6).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// How the NAT maps our socket to a public address (RFC 4787 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mapping {
    /// One public address for every destination ("cone"): STUN works.
    EndpointIndependent,
    /// A new public port per destination IP address: symmetric.
    AddressDependent,
    /// A new public port per destination IP address and port: symmetric.
    AddressAndPortDependent,
}

impl Mapping {
    /// The RFC 4787 name (`endpoint-independent`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::EndpointIndependent => "endpoint-independent",
            Mapping::AddressDependent => "address-dependent",
            Mapping::AddressAndPortDependent => "address-and-port-dependent",
        }
    }

    /// True for the mappings that defeat STUN (a "symmetric NAT").
    pub fn is_symmetric(self) -> bool {
        self != Mapping::EndpointIndependent
    }
}

/// Which inbound packets the NAT lets through to a mapping (RFC 4787 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filtering {
    /// From anyone.
    EndpointIndependent,
    /// Only from IP addresses we sent to.
    AddressDependent,
    /// Only from the exact address and port we sent to.
    AddressAndPortDependent,
}

impl Filtering {
    /// The RFC 4787 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Filtering::EndpointIndependent => "endpoint-independent",
            Filtering::AddressDependent => "address-dependent",
            Filtering::AddressAndPortDependent => "address-and-port-dependent",
        }
    }
}

/// How the behaviour was found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiscoveryMethod {
    /// RFC 5780 tests against a server that gave OTHER-ADDRESS.
    Rfc5780,
    /// The mapped addresses seen by two different STUN servers compared.
    TwoServers,
    /// One server without RFC 5780: only the public address is known.
    OneServer,
}

/// What behaviour discovery found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviourReport {
    /// Our socket's local address.
    pub local: SocketAddr,
    /// The public address the first server saw; `None` when no server answered at all.
    pub mapped: Option<SocketAddr>,
    /// Mapping behaviour, when it could be determined.
    pub mapping: Option<Mapping>,
    /// Filtering behaviour, when it could be determined (RFC 5780 servers only).
    pub filtering: Option<Filtering>,
    /// How it was found out.
    pub method: DiscoveryMethod,
    /// How many servers answered.
    pub servers_answered: usize,
}

impl BehaviourReport {
    /// True when some STUN server answered.
    pub fn udp_works(&self) -> bool {
        self.mapped.is_some()
    }

    /// True when the public address differs from the local one (a NAT is in between).
    pub fn behind_nat(&self) -> bool {
        self.mapped.is_some_and(|m| m != self.local)
    }
}

// ---------------------------------------------------------------------------------------------
// The sans-IO machinery shared by discovery and the lifetime probe.
// ---------------------------------------------------------------------------------------------

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use stun::addr::MappedAddress;
use stun::attributes::{
    ATTR_CHANGE_REQUEST, ATTR_OTHER_ADDRESS, ATTR_RESPONSE_ORIGIN, ATTR_RESPONSE_PORT,
};
use stun::error_code::ErrorCodeAttribute;
pub use stun::message::TransactionId as StunTransactionId;
use stun::message::{
    BINDING_ERROR, BINDING_REQUEST, BINDING_SUCCESS, Getter, Message, Setter, TransactionId,
    is_stun_message,
};
use stun::xoraddr::XorMappedAddress;

/// Which of the driver's UDP sockets a datagram belongs to. The driver binds one socket per
/// flow it sees in a [`Transmit`] and feeds what that socket receives back with the same flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    /// The mapping tests (and test I to every server). Use the socket whose mapping matters
    /// (the RTP socket, say) or any fresh one.
    Mapping,
    /// The filtering tests: a socket of its own, so that the mapping tests' packets to the
    /// server's other address do not open the filter being tested.
    Filtering,
    /// Lifetime probe: the n-th idle mapping.
    Lifetime(u16),
    /// Lifetime probe: the socket that asks the server to answer to another mapping.
    Prober,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// From which socket.
    pub flow: Flow,
    /// To where.
    pub to: SocketAddr,
    /// The STUN message.
    pub payload: Vec<u8>,
}

/// Retransmission and deadline of one STUN transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// When to (re)send, as offsets from the first send (the first is normally zero).
    pub sends: Vec<Duration>,
    /// When to give up, from the first send.
    pub timeout: Duration,
}

impl Default for Timing {
    /// Four sends over 1.5 s and a 2.5 s deadline: RFC 8489's 500 ms RTO doubling to 39.5 s
    /// is for robustness over minutes; the test must decide in seconds, and a server that does
    /// not answer four packets in 2.5 s is as good as unreachable for a call.
    fn default() -> Self {
        Self {
            sends: vec![
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(750),
                Duration::from_millis(1500),
            ],
            timeout: Duration::from_millis(2500),
        }
    }
}

/// How one STUN binding transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BindingResult {
    /// A success response.
    Answered {
        /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from an old server).
        mapped: SocketAddr,
        /// OTHER-ADDRESS, when the server supports RFC 5780.
        other: Option<SocketAddr>,
        /// RESPONSE-ORIGIN, when given.
        origin: Option<SocketAddr>,
        /// Round-trip time from the first send.
        rtt_ms: u64,
    },
    /// An error response.
    Error {
        /// The STUN error code (420: an attribute is not understood).
        code: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// Nothing valid came back before the deadline.
    NoAnswer,
    /// Something came back from the server's address that is not a STUN answer to us.
    Garbage {
        /// What was wrong with it.
        why: String,
    },
}

#[derive(Debug)]
struct Txn<P> {
    id: TransactionId,
    flow: Flow,
    to: SocketAddr,
    payload: Vec<u8>,
    start: Instant,
    sends_done: usize,
    purpose: P,
    garbage: Option<String>,
}

/// Outstanding transactions, their retransmissions and deadlines.
#[derive(Debug)]
struct Txns<P> {
    timing: Timing,
    live: Vec<Txn<P>>,
    out: VecDeque<Transmit>,
}

/// A STUN binding request with these extra raw attributes: its transaction id and bytes.
pub fn build_request(extra: &[(stun::attributes::AttrType, Vec<u8>)]) -> (TransactionId, Vec<u8>) {
    let id = TransactionId::new();
    let mut m = Message::new();
    let setters: [Box<dyn Setter>; 2] = [Box::new(BINDING_REQUEST), Box::new(id)];
    // Building a binding request with a fresh id cannot fail: both setters only write the
    // header.
    if m.build(&setters).is_err() {
        m = Message::new();
    }
    for (t, v) in extra {
        m.add(*t, v);
    }
    m.write_header();
    (id, m.raw.clone())
}

/// Parses a datagram as a binding response: its transaction id and result (`rtt_ms` is copied
/// into an `Answered` result). Anything else is an error in plain words.
pub fn parse_response(data: &[u8], rtt_ms: u64) -> Result<(TransactionId, BindingResult), String> {
    if !is_stun_message(data) {
        return Err(format!("{} bytes that are not a STUN message", data.len()));
    }
    let mut m = Message::new();
    m.unmarshal_binary(data)
        .map_err(|e| format!("a broken STUN message ({e})"))?;
    if m.typ == BINDING_SUCCESS {
        let mut x = XorMappedAddress::default();
        let mapped = if x.get_from(&m).is_ok() {
            SocketAddr::new(x.ip, x.port)
        } else {
            let mut a = MappedAddress::default();
            a.get_from(&m)
                .map_err(|_| "a STUN answer without our address".to_string())?;
            SocketAddr::new(a.ip, a.port)
        };
        let get = |t| {
            let mut a = MappedAddress::default();
            a.get_from_as(&m, t)
                .ok()
                .map(|()| SocketAddr::new(a.ip, a.port))
        };
        Ok((
            m.transaction_id,
            BindingResult::Answered {
                mapped,
                other: get(ATTR_OTHER_ADDRESS),
                origin: get(ATTR_RESPONSE_ORIGIN),
                rtt_ms,
            },
        ))
    } else if m.typ == BINDING_ERROR {
        let mut e = ErrorCodeAttribute::default();
        let (code, reason) = match e.get_from(&m) {
            Ok(()) => (e.code.0, String::from_utf8_lossy(&e.reason).into_owned()),
            Err(_) => (0, "an error without a code".to_string()),
        };
        Ok((m.transaction_id, BindingResult::Error { code, reason }))
    } else {
        Err(format!("a STUN message of an unexpected type ({})", m.typ))
    }
}

impl<P: Copy> Txns<P> {
    fn new(timing: Timing) -> Self {
        Self {
            timing,
            live: Vec::new(),
            out: VecDeque::new(),
        }
    }

    fn start(
        &mut self,
        now: Instant,
        flow: Flow,
        to: SocketAddr,
        extra: &[(stun::attributes::AttrType, Vec<u8>)],
        purpose: P,
    ) {
        let (id, payload) = build_request(extra);
        self.live.push(Txn {
            id,
            flow,
            to,
            payload,
            start: now,
            sends_done: 0,
            purpose,
            garbage: None,
        });
        self.send_due(now);
    }

    fn send_due(&mut self, now: Instant) {
        for t in &mut self.live {
            while t.sends_done < self.timing.sends.len()
                && t.start + self.timing.sends[t.sends_done] <= now
            {
                t.sends_done += 1;
                self.out.push_back(Transmit {
                    flow: t.flow,
                    to: t.to,
                    payload: t.payload.clone(),
                });
            }
        }
    }

    /// A datagram on `flow` from `from`: the purpose and result of the transaction it
    /// answers, or `None` (a stray or garbage packet, remembered against the transaction to
    /// that address).
    fn handle_read(
        &mut self,
        now: Instant,
        flow: Flow,
        from: SocketAddr,
        data: &[u8],
    ) -> Option<(P, Flow, BindingResult)> {
        let parsed = parse_response(data, 0);
        match parsed {
            Ok((id, result)) => {
                let i = self.live.iter().position(|t| t.id == id)?;
                let t = self.live.swap_remove(i);
                let result = match result {
                    BindingResult::Answered {
                        mapped,
                        other,
                        origin,
                        ..
                    } => BindingResult::Answered {
                        mapped,
                        other,
                        origin,
                        rtt_ms: u64::try_from(now.saturating_duration_since(t.start).as_millis())
                            .unwrap_or(u64::MAX),
                    },
                    r => r,
                };
                // The answer arrived on `flow`, which may differ from the sending flow
                // (RESPONSE-PORT); the caller decides what that means.
                Some((t.purpose, flow, result))
            }
            Err(why) => {
                if let Some(t) = self
                    .live
                    .iter_mut()
                    .find(|t| t.flow == flow && t.to.ip() == from.ip())
                {
                    t.garbage = Some(why);
                }
                None
            }
        }
    }

    /// Expired transactions, removed.
    fn expire(&mut self, now: Instant) -> Vec<(P, BindingResult)> {
        self.send_due(now);
        let timeout = self.timing.timeout;
        let mut gone = Vec::new();
        self.live.retain(|t| {
            if t.start + timeout <= now {
                gone.push((
                    t.purpose,
                    match &t.garbage {
                        Some(why) => BindingResult::Garbage { why: why.clone() },
                        None => BindingResult::NoAnswer,
                    },
                ));
                false
            } else {
                true
            }
        });
        gone
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.live
            .iter()
            .map(|t| {
                let next_send = self.timing.sends.get(t.sends_done).map(|d| t.start + *d);
                let deadline = t.start + self.timing.timeout;
                next_send.map_or(deadline, |s| s.min(deadline))
            })
            .min()
    }

    fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviour discovery (RFC 5780 §4.3, §4.4), with the two-server fallback.
// ---------------------------------------------------------------------------------------------

const CHANGE_IP: u8 = 0x04;
const CHANGE_PORT: u8 = 0x02;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    /// Test I to server n, on the mapping flow.
    One(usize),
    /// Mapping test II: to the other IP, primary port.
    MapTwo,
    /// Mapping test III: to the other IP and port.
    MapThree,
    /// Filtering test I: a plain binding on the filtering flow.
    FilterOne,
    /// Filtering test II: change IP and port.
    FilterTwo,
    /// Filtering test III: change port.
    FilterThree,
}

/// RFC 5780 NAT behaviour discovery, sans-IO.
///
/// ```text
/// let mut d = Discovery::new(now, servers, local_addr_of_mapping_socket, Timing::default());
/// loop {
///     while let Some(t) = d.poll_transmit() { socket_of(t.flow).send_to(&t.payload, t.to) }
///     if let Some(report) = d.result() { break }
///     select! { (flow, from, data) = recv() => d.handle_read(now, flow, from, &data),
///               _ = sleep_until(d.poll_timeout()) => d.handle_timeout(now) }
/// }
/// ```
///
/// Test I goes to every server at once (this is also the UDP test). The first server whose
/// answer carries a usable OTHER-ADDRESS is the primary: mapping tests II and III (§4.3) run on
/// the mapping flow, filtering tests I–III (§4.4) on a flow of their own, tests II and III in
/// parallel. Without such a server, the mapped addresses from two servers are compared (one
/// address = endpoint-independent, two = symmetric). Every transaction has the deadline of its
/// [`Timing`], so the whole discovery ends within about three deadlines.
#[derive(Debug)]
pub struct Discovery {
    servers: Vec<SocketAddr>,
    local: SocketAddr,
    txns: Txns<Test>,
    test_one: Vec<Option<BindingResult>>,
    primary: Option<(usize, SocketAddr, SocketAddr)>,
    m1: Option<SocketAddr>,
    m2: Option<SocketAddr>,
    mapping: Option<Mapping>,
    mapping_done: bool,
    filter_two: Option<bool>,
    filter_three: Option<bool>,
    filtering: Option<Filtering>,
    filtering_done: bool,
}

fn usable_other(server: SocketAddr, other: Option<SocketAddr>) -> Option<SocketAddr> {
    other.filter(|o| o.ip() != server.ip() && o.port() != server.port() && o.port() != 0)
}

impl Discovery {
    /// Starts discovery against `servers` (resolved addresses, in the user's order); `local`
    /// is the mapping socket's local address (to tell "no NAT").
    pub fn new(now: Instant, servers: Vec<SocketAddr>, local: SocketAddr, timing: Timing) -> Self {
        let mut d = Self {
            test_one: vec![None; servers.len()],
            servers,
            local,
            txns: Txns::new(timing),
            primary: None,
            m1: None,
            m2: None,
            mapping: None,
            mapping_done: false,
            filter_two: None,
            filter_three: None,
            filtering: None,
            filtering_done: false,
        };
        for (i, s) in d.servers.clone().into_iter().enumerate() {
            d.txns.start(now, Flow::Mapping, s, &[], Test::One(i));
        }
        if d.servers.is_empty() {
            d.mapping_done = true;
            d.filtering_done = true;
        }
        d
    }

    /// A datagram that arrived on `flow`'s socket from `from`.
    pub fn handle_read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        if let Some((test, _, result)) = self.txns.handle_read(now, flow, from, data) {
            self.on_result(now, test, result);
        }
    }

    /// Call at [`Self::poll_timeout`]: retransmits and deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (test, result) in self.txns.expire(now) {
            self.on_result(now, test, result);
        }
    }

    /// The next datagram to send; drain until `None` after every `handle_*`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.txns.out.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next; `None` when nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.txns.poll_timeout()
    }

    /// Test I's result per server, in the order given (`None` while pending).
    pub fn server_results(&self) -> Vec<(SocketAddr, Option<BindingResult>)> {
        self.servers
            .iter()
            .copied()
            .zip(self.test_one.iter().cloned())
            .collect()
    }

    /// The report, once every test has ended.
    pub fn result(&self) -> Option<BehaviourReport> {
        if !(self.mapping_done && self.filtering_done && self.test_one.iter().all(Option::is_some))
        {
            return None;
        }
        let answered: Vec<SocketAddr> = self
            .test_one
            .iter()
            .filter_map(|r| match r {
                Some(BindingResult::Answered { mapped, .. }) => Some(*mapped),
                _ => None,
            })
            .collect();
        let method = if self.primary.is_some() {
            DiscoveryMethod::Rfc5780
        } else if answered.len() >= 2 {
            DiscoveryMethod::TwoServers
        } else {
            DiscoveryMethod::OneServer
        };
        Some(BehaviourReport {
            local: self.local,
            mapped: self.m1.or_else(|| answered.first().copied()),
            mapping: self.mapping,
            filtering: self.filtering,
            method,
            servers_answered: answered.len(),
        })
    }

    fn on_result(&mut self, now: Instant, test: Test, result: BindingResult) {
        let mapped = match &result {
            BindingResult::Answered { mapped, .. } => Some(*mapped),
            _ => None,
        };
        match test {
            Test::One(i) => {
                let other = match &result {
                    BindingResult::Answered { other, .. } => *other,
                    _ => None,
                };
                self.test_one[i] = Some(result);
                if self.primary.is_none()
                    && let (Some(m), Some(o)) = (mapped, usable_other(self.servers[i], other))
                {
                    let p = self.servers[i];
                    self.primary = Some((i, p, o));
                    self.m1 = Some(m);
                    if m == self.local {
                        // No NAT: nothing maps, every destination sees us as we are.
                        self.mapping = Some(Mapping::EndpointIndependent);
                        self.mapping_done = true;
                    } else {
                        let to = SocketAddr::new(o.ip(), p.port());
                        self.txns.start(now, Flow::Mapping, to, &[], Test::MapTwo);
                    }
                    self.txns
                        .start(now, Flow::Filtering, p, &[], Test::FilterOne);
                }
                if self.primary.is_none() && self.test_one.iter().all(Option::is_some) {
                    self.fallback();
                }
            }
            Test::MapTwo => match mapped {
                Some(m2) if Some(m2) == self.m1 => {
                    self.mapping = Some(Mapping::EndpointIndependent);
                    self.mapping_done = true;
                }
                Some(m2) => {
                    self.m2 = Some(m2);
                    if let Some((_, _, o)) = self.primary {
                        self.txns.start(now, Flow::Mapping, o, &[], Test::MapThree);
                    }
                }
                None => self.mapping_done = true,
            },
            Test::MapThree => {
                self.mapping = mapped.map(|m3| {
                    if Some(m3) == self.m2 {
                        Mapping::AddressDependent
                    } else {
                        Mapping::AddressAndPortDependent
                    }
                });
                self.mapping_done = true;
            }
            Test::FilterOne => {
                if mapped.is_none() {
                    self.filtering_done = true;
                } else if let Some((_, p, _)) = self.primary {
                    self.txns.start(
                        now,
                        Flow::Filtering,
                        p,
                        &[(ATTR_CHANGE_REQUEST, vec![0, 0, 0, CHANGE_IP | CHANGE_PORT])],
                        Test::FilterTwo,
                    );
                    self.txns.start(
                        now,
                        Flow::Filtering,
                        p,
                        &[(ATTR_CHANGE_REQUEST, vec![0, 0, 0, CHANGE_PORT])],
                        Test::FilterThree,
                    );
                }
            }
            Test::FilterTwo | Test::FilterThree => {
                // An error answer (e.g. 420: CHANGE-REQUEST not understood) or garbage says
                // nothing about the filter: the test is inconclusive.
                let answered = match result {
                    BindingResult::Answered { .. } => true,
                    BindingResult::NoAnswer => false,
                    _ => {
                        self.filtering = None;
                        self.filtering_done = true;
                        self.txns
                            .live
                            .retain(|t| !matches!(t.purpose, Test::FilterTwo | Test::FilterThree));
                        return;
                    }
                };
                if test == Test::FilterTwo {
                    self.filter_two = Some(answered);
                } else {
                    self.filter_three = Some(answered);
                }
                match (self.filter_two, self.filter_three) {
                    (Some(true), _) => {
                        self.filtering = Some(Filtering::EndpointIndependent);
                        self.filtering_done = true;
                        self.txns.live.retain(|t| t.purpose != Test::FilterThree);
                    }
                    (Some(false), Some(three)) => {
                        self.filtering = Some(if three {
                            Filtering::AddressDependent
                        } else {
                            Filtering::AddressAndPortDependent
                        });
                        self.filtering_done = true;
                    }
                    _ => {}
                }
            }
        }
    }

    /// No RFC 5780 server: compare the mapped addresses of two servers (with different
    /// addresses). One address: endpoint-independent; two: symmetric (at least
    /// address-dependent); fewer than two answers: unknown (or no NAT at all).
    fn fallback(&mut self) {
        let answers: Vec<(SocketAddr, SocketAddr)> = self
            .servers
            .iter()
            .zip(&self.test_one)
            .filter_map(|(s, r)| match r {
                Some(BindingResult::Answered { mapped, .. }) => Some((*s, *mapped)),
                _ => None,
            })
            .collect();
        self.m1 = answers.first().map(|(_, m)| *m);
        if self.m1 == Some(self.local) {
            self.mapping = Some(Mapping::EndpointIndependent);
        } else if let (Some(a), Some(b)) = (
            answers.first(),
            answers
                .iter()
                .find(|(s, _)| Some(s.ip()) != answers.first().map(|f| f.0.ip())),
        ) {
            self.mapping = Some(if a.1 == b.1 {
                Mapping::EndpointIndependent
            } else {
                Mapping::AddressDependent
            });
        }
        self.mapping_done = true;
        self.filtering_done = true;
    }

    /// True once every transaction has ended.
    pub fn is_done(&self) -> bool {
        self.mapping_done && self.filtering_done && self.txns.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Binding lifetime (RFC 5780 §4.6), in parallel.
// ---------------------------------------------------------------------------------------------

/// The idle times the lifetime probe tries by default: every 2 s from 10 to 60 s (where most
/// home routers sit), every 5 s to 120 s, every 10 s to 230 s. All run at once, each on its
/// own mapping, so the probe ends at the first expired idle time (plus a few seconds), and at
/// the latest after about 4 minutes.
pub fn default_idle_times() -> Vec<Duration> {
    (10..=60)
        .step_by(2)
        .chain((65..=120).step_by(5))
        .chain((130..=230).step_by(10))
        .map(Duration::from_secs)
        .collect()
}

/// How long after a mapping's first exchange the second one is sent: a router treats a UDP
/// flow that answered more than once over a few seconds as a conversation (Linux: "stream",
/// with a longer timeout), as it will the phone's SIP flow; a one-shot exchange gets the short
/// timeout of a DNS lookup.
pub const WARM_UP: Duration = Duration::from_secs(3);

/// What the lifetime probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LifetimeOutcome {
    /// A mapping survived `survived` of silence and one did not survive `expired`.
    Measured {
        /// Longest idle time survived.
        survived: Duration,
        /// Shortest idle time not survived.
        expired: Duration,
    },
    /// Every idle time tried was survived, the longest being this.
    AtLeast(Duration),
    /// No measurement, and why (in plain words).
    NotMeasured(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LtPurpose {
    Establish(u16),
    Warm(u16),
    Probe(u16),
    Control(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Establishing,
    Warming {
        warm_at: Instant,
    },
    WarmSent,
    Idle {
        mapped: SocketAddr,
        probe_at: Instant,
    },
    Probing,
    Confirming,
    Alive,
    Dead,
    Inconclusive,
}

impl Slot {
    fn resolved(self) -> bool {
        matches!(self, Slot::Alive | Slot::Dead | Slot::Inconclusive)
    }
}

/// The NAT binding lifetime, measured with many mappings in parallel (RFC 5780 §4.6 runs the
/// idle times one after another, which takes 10–16 minutes).
///
/// Each idle time *T* gets its own flow (`Flow::Lifetime(n)`): a binding request makes the
/// mapping, a second one [`WARM_UP`] later makes it a conversation, then the flow is silent
/// for *T*; then the [`Flow::Prober`] socket asks the server to answer to that mapping's port
/// (RESPONSE-PORT, RFC 5780 §7.5). The answer arrives on the idle flow if the router still
/// knows the mapping. When it does not, a plain request from the prober checks that the server
/// still answers (else the result is discarded as inconclusive, not counted as expired).
/// Flow 0 is a calibration with no idle time: if even it gets no answer, the server does not
/// support RESPONSE-PORT and the result says so.
///
/// The run loop is [`Discovery`]'s; the probe ends as soon as the shortest expired idle time
/// is known and every shorter one has been decided.
#[derive(Debug)]
pub struct LifetimeProbe {
    server: SocketAddr,
    idles: Vec<Duration>,
    slots: Vec<Slot>,
    txns: Txns<LtPurpose>,
    unsupported: Option<String>,
    started: Instant,
}

impl LifetimeProbe {
    /// Starts probing `server` (an RFC 5780 STUN server's address) with these idle times
    /// (see [`default_idle_times`]).
    pub fn new(
        now: Instant,
        server: SocketAddr,
        idle_times: Vec<Duration>,
        timing: Timing,
    ) -> Self {
        let mut idles = vec![Duration::ZERO];
        idles.extend(idle_times.into_iter().filter(|d| !d.is_zero()));
        let mut p = Self {
            server,
            slots: vec![Slot::Establishing; idles.len()],
            idles,
            txns: Txns::new(timing),
            unsupported: None,
            started: now,
        };
        for n in 0..p.slots.len() {
            let n = u16::try_from(n).unwrap_or(u16::MAX);
            p.txns
                .start(now, Flow::Lifetime(n), server, &[], LtPurpose::Establish(n));
        }
        p
    }

    /// The flow of each idle time (`Flow::Lifetime(n)` ↔ `idle_time(n)`).
    pub fn idle_time(&self, n: u16) -> Option<Duration> {
        self.idles.get(usize::from(n)).copied()
    }

    /// A datagram that arrived on `flow`'s socket from `from`.
    pub fn handle_read(&mut self, now: Instant, flow: Flow, from: SocketAddr, data: &[u8]) {
        if let Some((purpose, arrived_on, result)) = self.txns.handle_read(now, flow, from, data) {
            self.on_result(now, purpose, Some(arrived_on), result);
        }
    }

    /// Call at [`Self::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        for (purpose, result) in self.txns.expire(now) {
            self.on_result(now, purpose, None, result);
        }
        for n in 0..self.slots.len() {
            let id = u16::try_from(n).unwrap_or(u16::MAX);
            match self.slots[n] {
                Slot::Warming { warm_at } if warm_at <= now => {
                    self.slots[n] = Slot::WarmSent;
                    self.txns.start(
                        now,
                        Flow::Lifetime(id),
                        self.server,
                        &[],
                        LtPurpose::Warm(id),
                    );
                }
                Slot::Idle { mapped, probe_at } if probe_at <= now => {
                    if self.done() {
                        continue;
                    }
                    self.slots[n] = Slot::Probing;
                    let mut port = mapped.port().to_be_bytes().to_vec();
                    port.extend_from_slice(&[0, 0]);
                    self.txns.start(
                        now,
                        Flow::Prober,
                        self.server,
                        &[(ATTR_RESPONSE_PORT, port)],
                        LtPurpose::Probe(id),
                    );
                }
                _ => {}
            }
        }
        if self.done() {
            self.txns.live.clear();
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.txns.out.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next; `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done() {
            return None;
        }
        let slots = self.slots.iter().filter_map(|s| match s {
            Slot::Warming { warm_at } => Some(*warm_at),
            Slot::Idle { probe_at, .. } => Some(*probe_at),
            _ => None,
        });
        slots.chain(self.txns.poll_timeout()).min()
    }

    fn done(&self) -> bool {
        self.outcome().is_some()
    }

    /// The result, once known.
    pub fn outcome(&self) -> Option<LifetimeOutcome> {
        if let Some(why) = &self.unsupported {
            return Some(LifetimeOutcome::NotMeasured(why.clone()));
        }
        match self.slots[0] {
            Slot::Alive => {}
            Slot::Dead => {
                return Some(LifetimeOutcome::NotMeasured(
                    "the STUN server's answers to another port do not reach this computer".into(),
                ));
            }
            Slot::Inconclusive => {
                return Some(LifetimeOutcome::NotMeasured(
                    "the STUN server stopped answering".into(),
                ));
            }
            _ => return None,
        }
        let first_dead = (1..self.slots.len())
            .filter(|&n| self.slots[n] == Slot::Dead)
            .min_by_key(|&n| self.idles[n]);
        let survived = |limit: Duration| {
            (1..self.slots.len())
                .filter(|&n| self.slots[n] == Slot::Alive && self.idles[n] < limit)
                .map(|n| self.idles[n])
                .max()
        };
        match first_dead {
            Some(d) => {
                let expired = self.idles[d];
                let shorter_open = (1..self.slots.len())
                    .any(|n| self.idles[n] < expired && !self.slots[n].resolved());
                if shorter_open {
                    return None;
                }
                Some(match survived(expired) {
                    Some(s) => LifetimeOutcome::Measured {
                        survived: s,
                        expired,
                    },
                    None => LifetimeOutcome::Measured {
                        survived: Duration::ZERO,
                        expired,
                    },
                })
            }
            None => {
                if self.slots.iter().all(|s| s.resolved()) {
                    Some(match survived(Duration::MAX) {
                        Some(s) => LifetimeOutcome::AtLeast(s),
                        None => {
                            LifetimeOutcome::NotMeasured("no idle mapping could be tested".into())
                        }
                    })
                } else {
                    None
                }
            }
        }
    }

    /// Time since the probe started, for the report.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    fn on_result(
        &mut self,
        now: Instant,
        purpose: LtPurpose,
        arrived_on: Option<Flow>,
        result: BindingResult,
    ) {
        let answered = match &result {
            BindingResult::Answered { mapped, .. } => Some(*mapped),
            _ => None,
        };
        match purpose {
            LtPurpose::Establish(n) => {
                let n = usize::from(n);
                self.slots[n] = match answered {
                    Some(_) => Slot::Warming {
                        warm_at: now + WARM_UP,
                    },
                    None => Slot::Inconclusive,
                };
            }
            LtPurpose::Warm(n) => {
                let i = usize::from(n);
                self.slots[i] = match answered {
                    Some(mapped) => Slot::Idle {
                        mapped,
                        probe_at: now + self.idles[i],
                    },
                    None => Slot::Inconclusive,
                };
                if self.slots[i] != Slot::Inconclusive && self.idles[i].is_zero() {
                    self.handle_timeout(now);
                }
            }
            LtPurpose::Probe(n) => {
                let i = usize::from(n);
                match (&result, arrived_on) {
                    (BindingResult::Answered { .. }, Some(Flow::Lifetime(m))) if m == n => {
                        self.slots[i] = Slot::Alive;
                    }
                    (BindingResult::Answered { .. }, _) => {
                        self.unsupported = Some(
                            "the STUN server does not support the lifetime test (it ignores \
                             RESPONSE-PORT)"
                                .into(),
                        );
                    }
                    (BindingResult::Error { code, .. }, _) => {
                        self.unsupported = Some(format!(
                            "the STUN server does not support the lifetime test (error {code})"
                        ));
                    }
                    _ => {
                        self.slots[i] = Slot::Confirming;
                        self.txns
                            .start(now, Flow::Prober, self.server, &[], LtPurpose::Control(n));
                    }
                }
            }
            LtPurpose::Control(n) => {
                self.slots[usize::from(n)] = if answered.is_some() {
                    Slot::Dead
                } else {
                    Slot::Inconclusive
                };
            }
        }
        if self.done() {
            self.txns.live.clear();
        }
    }
}
