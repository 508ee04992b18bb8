//! [`IceAgent`]: our sans-IO face over `rtc-ice`'s [`rtc_ice::Agent`].

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use homeline_media::sdp::{
    CandidateTransport, CandidateType, IceCandidate, IceDescription, TcpType as SdpTcpType,
};
use rtc_ice::candidate::candidate_host::CandidateHostConfig;
use rtc_ice::candidate::candidate_peer_reflexive::CandidatePeerReflexiveConfig;
use rtc_ice::candidate::candidate_relay::CandidateRelayConfig;
use rtc_ice::candidate::candidate_server_reflexive::CandidateServerReflexiveConfig;
use rtc_ice::candidate::{Candidate, CandidateConfig, CandidateType as RtcType};
use rtc_ice::mdns::MulticastDnsMode;
use rtc_ice::state::ConnectionState;
use rtc_ice::tcp_type::TcpType;
use rtc_ice::{Agent, AgentConfig, Event as RtcEvent};
use sansio::Protocol;
use shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use super::demux::is_stun;

/// The caller's handle for a socket or a TURN allocation; the agent only hands it back.
pub type SocketId = u32;

/// How a relayed candidate reaches its TURN server (RFC 8656 §3.1; the relay itself always
/// speaks UDP to the peer). Known to the caller, which made the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayTransport {
    Udp,
    Tcp,
    Tls,
}

/// What kind of local candidate this is and what the agent needs to know about its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// A bound socket's own address.
    Host,
    /// The public mapping a STUN server saw for the host socket at `base`.
    ServerReflexive { base: SocketAddr },
    /// A TURN allocation: `addr` is the relayed address, `mapped` the server-reflexive address
    /// the server saw (the candidate's `raddr`).
    Relay {
        transport: RelayTransport,
        mapped: SocketAddr,
    },
}

/// A local candidate as gathered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCandidate {
    /// The socket (host, srflx) or allocation (relay) that sends and receives for it.
    pub socket: SocketId,
    pub addr: SocketAddr,
    pub kind: LocalKind,
}

impl LocalCandidate {
    pub fn host(socket: SocketId, addr: SocketAddr) -> Self {
        LocalCandidate {
            socket,
            addr,
            kind: LocalKind::Host,
        }
    }
    pub fn server_reflexive(socket: SocketId, mapped: SocketAddr, base: SocketAddr) -> Self {
        LocalCandidate {
            socket,
            addr: mapped,
            kind: LocalKind::ServerReflexive { base },
        }
    }
    pub fn relay(
        socket: SocketId,
        relayed: SocketAddr,
        mapped: SocketAddr,
        transport: RelayTransport,
    ) -> Self {
        LocalCandidate {
            socket,
            addr: relayed,
            kind: LocalKind::Relay { transport, mapped },
        }
    }
    /// The address the agent sends from / receives on for this candidate.
    fn base(&self) -> SocketAddr {
        match self.kind {
            LocalKind::ServerReflexive { base } => base,
            _ => self.addr,
        }
    }
}

/// How the media of the selected pair travels — the `media_route` of the CLI's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// Both ends on their own interface addresses (same network).
    Host,
    /// Through a NAT's public mapping learned from STUN.
    Srflx,
    /// Through a NAT mapping learned during the checks (RFC 8445 §7.2.5.3.1).
    Prflx,
    /// Through a TURN relay (ours over UDP/TCP/TLS, or the peer's, reached over UDP).
    RelayUdp,
    RelayTcp,
    RelayTls,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Host => "host",
            RouteKind::Srflx => "srflx",
            RouteKind::Prflx => "prflx",
            RouteKind::RelayUdp => "relay-udp",
            RouteKind::RelayTcp => "relay-tcp",
            RouteKind::RelayTls => "relay-tls",
        }
    }
    pub fn is_relay(self) -> bool {
        matches!(
            self,
            RouteKind::RelayUdp | RouteKind::RelayTcp | RouteKind::RelayTls
        )
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pair ICE selected: send media from `socket`/`source` to `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectedPair {
    pub socket: SocketId,
    /// Our base address (a host socket's address, or the relayed address of an allocation).
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub local_type: CandidateType,
    pub remote_type: CandidateType,
    pub route: RouteKind,
}

/// The agent's state (RFC 8445 §6.1.3 / the W3C `RTCIceConnectionState` names rtc-ice uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    New,
    Checking,
    Connected,
    /// No STUN from the peer on the selected pair for `disconnected_timeout`; may recover.
    Disconnected,
    Failed,
    Closed,
}

/// What the agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    State(IceState),
    /// A pair was selected (nominated): send media on it from now on.
    Selected(SelectedPair),
    /// RFC 7675 §5.1: no consent response for 30 s on the selected pair. Stop sending media
    /// on it; an ICE restart (a re-INVITE with new credentials) may find a new path.
    ConsentLost,
    /// The checks ended without any working pair.
    Failed,
    /// A role conflict was repaired (RFC 8445 §7.3.1.1); `controlling` is our new role.
    RoleChanged {
        controlling: bool,
    },
}

/// A datagram (or, for ICE-TCP, a framed message) to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Send through this socket (or TURN allocation: then `source` is the relayed address
    /// and the driver wraps the payload in a Send indication or ChannelData).
    pub socket: SocketId,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub tcp: bool,
    pub payload: Vec<u8>,
}

/// What an inbound datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A STUN message the agent consumed (check, response, consent).
    Ice,
    /// Media (RTP/RTCP/DTLS) from a remote candidate: pass it on to the media session.
    Media,
    /// Dropped; the reason is for logs.
    Ignored(&'static str),
}

/// Timers and limits. The defaults follow rtc-ice's, which match RFC 8445/7675 closely.
#[derive(Debug, Clone)]
pub struct IceConfig {
    pub controlling: bool,
    /// Our credentials; empty strings are filled with random ones (RFC 8445 §5.3: ≥ 24 and
    /// ≥ 128 bits of randomness).
    pub ufrag: String,
    pub pwd: String,
    /// Pacing of connectivity checks (RFC 8445 §6.1.4.2 Ta; rtc-ice checks all pairs per tick).
    pub check_interval: Duration,
    /// Checks per pair before it counts as failed. rtc-ice has no per-transaction RTO: it
    /// re-sends on every tick, so `check_interval × max_checks` is how long a pair may take
    /// to answer (a peer that starts checking late, a far relay).
    pub max_checks: u16,
    /// Consent checks on the selected pair (RFC 7675 §5.1 wants ~5 s ± 20 %; faster is fine).
    pub consent_interval: Duration,
    /// No STUN from the peer for this long → `Disconnected`.
    pub disconnected_timeout: Duration,
    /// Then this much longer → consent lost (total 30 s, RFC 7675 §5.1) or, while checking,
    /// failed.
    pub failed_timeout: Duration,
    /// How long a pair of each kind must have been checkable before the controlling agent
    /// nominates it, so that a better pair found shortly after is not missed (RFC 8445
    /// §8.1.1 leaves the moment to the agent).
    pub host_wait: Duration,
    pub srflx_wait: Duration,
    pub prflx_wait: Duration,
    pub relay_wait: Duration,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            controlling: true,
            ufrag: String::new(),
            pwd: String::new(),
            check_interval: Duration::from_millis(100),
            max_checks: 25,
            consent_interval: Duration::from_secs(2),
            disconnected_timeout: Duration::from_secs(5),
            failed_timeout: Duration::from_secs(25),
            host_wait: Duration::ZERO,
            srflx_wait: Duration::from_millis(300),
            prflx_wait: Duration::from_millis(500),
            relay_wait: Duration::from_millis(800),
        }
    }
}

/// Why an ICE operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    #[error("the ICE agent could not start: {0}")]
    Start(String),
    #[error("candidate {0} cannot be used: {1}")]
    Candidate(String, String),
    #[error("the peer's ICE credentials are unusable: {0}")]
    Credentials(String),
}

/// The ICE agent. See the module doc for the run loop.
pub struct IceAgent {
    agent: Agent,
    config: IceConfig,
    locals: Vec<LocalCandidate>,
    selected: Option<SelectedPair>,
    had_selected: bool,
    state: IceState,
    events: VecDeque<IceEvent>,
    /// Candidates we could not hand to rtc-ice, with why (for logs and the diagnostics).
    skipped_remote: Vec<(String, String)>,
}

impl fmt::Debug for IceAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceAgent")
            .field("controlling", &self.agent.role())
            .field("state", &self.state)
            .field("locals", &self.locals)
            .field("selected", &self.selected)
            .finish()
    }
}

fn rtc_config(config: &IceConfig) -> AgentConfig {
    AgentConfig {
        local_ufrag: config.ufrag.clone(),
        local_pwd: config.pwd.clone(),
        // Homeline offers IP candidates only; peers' mDNS names cannot be resolved by a
        // sans-IO core without a socket, so they are skipped (and reported).
        multicast_dns_mode: MulticastDnsMode::Disabled,
        disconnected_timeout: Some(config.disconnected_timeout),
        failed_timeout: Some(config.failed_timeout),
        keepalive_interval: Some(config.consent_interval),
        check_interval: config.check_interval,
        max_binding_requests: Some(config.max_checks),
        is_controlling: config.controlling,
        host_acceptance_min_wait: Some(config.host_wait),
        srflx_acceptance_min_wait: Some(config.srflx_wait),
        prflx_acceptance_min_wait: Some(config.prflx_wait),
        relay_acceptance_min_wait: Some(config.relay_wait),
        ..Default::default()
    }
}

/// Local preference for relays (RFC 8445 §5.1.2.2: prefer the cheaper transport).
fn relay_priority(t: RelayTransport) -> u32 {
    let local_pref: u32 = match t {
        RelayTransport::Udp => 65_535,
        RelayTransport::Tcp => 32_767,
        RelayTransport::Tls => 16_383,
    };
    (local_pref << 8) + 255
}

fn to_rtc_local(c: &LocalCandidate) -> Result<Candidate, String> {
    let base = |addr: SocketAddr, priority: u32| CandidateConfig {
        network: "udp".into(),
        address: addr.ip().to_string(),
        port: addr.port(),
        component: 1,
        priority,
        ..Default::default()
    };
    let r = match c.kind {
        LocalKind::Host => CandidateHostConfig {
            base_config: base(c.addr, 0),
            tcp_type: TcpType::Unspecified,
        }
        .new_candidate_host(),
        LocalKind::ServerReflexive { base: b } => CandidateServerReflexiveConfig {
            base_config: base(c.addr, 0),
            rel_addr: b.ip().to_string(),
            rel_port: b.port(),
            url: None,
        }
        .new_candidate_server_reflexive(),
        LocalKind::Relay { transport, mapped } => CandidateRelayConfig {
            base_config: base(c.addr, relay_priority(transport)),
            rel_addr: mapped.ip().to_string(),
            rel_port: mapped.port(),
            url: None,
        }
        .new_candidate_relay(),
    };
    r.map_err(|e| e.to_string())
}

/// Converts a peer's SDP candidate into rtc-ice's. Only component 1 (we require rtcp-mux) and
/// IP literals are usable.
fn to_rtc_remote(c: &IceCandidate) -> Result<Candidate, String> {
    if c.component != 1 {
        return Err("component 2 (RTCP) is not used: rtcp-mux".into());
    }
    let addr = c
        .socket_addr()
        .ok_or("a host name or mDNS address cannot be resolved here")?;
    let (network, tcp_type) = match c.transport {
        CandidateTransport::Udp => ("udp", TcpType::Unspecified),
        CandidateTransport::Tcp(SdpTcpType::Passive) => ("tcp", TcpType::Passive),
        CandidateTransport::Tcp(SdpTcpType::SimultaneousOpen) => ("tcp", TcpType::SimultaneousOpen),
        CandidateTransport::Tcp(SdpTcpType::Active) => {
            return Err("an active TCP candidate is never a destination (RFC 6544 §6.2)".into());
        }
    };
    if c.transport != CandidateTransport::Udp && c.typ != CandidateType::Host {
        return Err("TCP candidates other than host are not supported".into());
    }
    let base_config = CandidateConfig {
        network: network.into(),
        address: addr.ip().to_string(),
        port: addr.port(),
        component: 1,
        priority: c.priority,
        foundation: c.foundation.clone(),
        ..Default::default()
    };
    let (rel_addr, rel_port) = c.related.clone().unwrap_or_default();
    let r = match c.typ {
        CandidateType::Host => CandidateHostConfig {
            base_config,
            tcp_type,
        }
        .new_candidate_host(),
        CandidateType::ServerReflexive => CandidateServerReflexiveConfig {
            base_config,
            rel_addr,
            rel_port,
            url: None,
        }
        .new_candidate_server_reflexive(),
        CandidateType::PeerReflexive => CandidatePeerReflexiveConfig {
            base_config,
            rel_addr,
            rel_port,
        }
        .new_candidate_peer_reflexive(),
        CandidateType::Relay => CandidateRelayConfig {
            base_config,
            rel_addr,
            rel_port,
            url: None,
        }
        .new_candidate_relay(),
    };
    r.map_err(|e| e.to_string())
}

fn sdp_type(t: RtcType) -> CandidateType {
    match t {
        RtcType::ServerReflexive => CandidateType::ServerReflexive,
        RtcType::PeerReflexive => CandidateType::PeerReflexive,
        RtcType::Relay => CandidateType::Relay,
        _ => CandidateType::Host,
    }
}

fn ice_state(s: ConnectionState) -> IceState {
    match s {
        ConnectionState::Checking => IceState::Checking,
        ConnectionState::Connected | ConnectionState::Completed => IceState::Connected,
        ConnectionState::Disconnected => IceState::Disconnected,
        ConnectionState::Failed => IceState::Failed,
        ConnectionState::Closed => IceState::Closed,
        _ => IceState::New,
    }
}

impl IceAgent {
    /// A new agent at `now`. Add local candidates, put [`IceAgent::local_description`] in the
    /// SDP, then start with [`IceAgent::set_remote`] once the peer's description is known.
    pub fn new(now: Instant, config: IceConfig) -> Result<Self, IceError> {
        let provider =
            rtc_ice::crypto::default_provider().map_err(|e| IceError::Start(e.to_string()))?;
        let agent = Agent::new(now, Arc::new(rtc_config(&config)), provider)
            .map_err(|e| IceError::Start(e.to_string()))?;
        Ok(IceAgent {
            agent,
            config,
            locals: Vec::new(),
            selected: None,
            had_selected: false,
            state: IceState::New,
            events: VecDeque::new(),
            skipped_remote: Vec::new(),
        })
    }

    /// Our ufrag and pwd (the new ones after [`IceAgent::restart`]).
    pub fn local_credentials(&self) -> (String, String) {
        let c = self.agent.get_local_credentials();
        (c.ufrag.clone(), c.pwd.clone())
    }

    /// Adds a local candidate gathered by the caller; returns its SDP form (to trickle, or to
    /// include in the next offer).
    pub fn add_local_candidate(&mut self, c: LocalCandidate) -> Result<IceCandidate, IceError> {
        let err = |e: String| IceError::Candidate(c.addr.to_string(), e);
        let rtc = to_rtc_local(&c).map_err(err)?;
        let sdp = IceCandidate::parse(&rtc.marshal()).map_err(err)?;
        if self
            .agent
            .add_local_candidate(rtc)
            .map_err(|e| err(e.to_string()))?
            && !self.locals.contains(&c)
        {
            self.locals.push(c);
        }
        Ok(sdp)
    }

    /// Our credentials and candidates, for [`homeline_media::sdp::LocalMedia::set_ice`].
    pub fn local_description(&self) -> IceDescription {
        let (ufrag, pwd) = self.local_credentials();
        IceDescription {
            ufrag,
            pwd,
            candidates: self
                .agent
                .get_local_candidates()
                .iter()
                .filter_map(|c| IceCandidate::parse(&c.marshal()).ok())
                .collect(),
            end_of_candidates: true,
            rtcp_mux: true,
            ..Default::default()
        }
    }

    /// Starts the checks against the peer's description (from the SDP offer or answer) with
    /// our role from offer/answer (`PeerIce::Ice { controlling, .. }`). Remote candidates that
    /// cannot be used are skipped and listed by [`IceAgent::skipped_remote_candidates`].
    pub fn set_remote(
        &mut self,
        now: Instant,
        remote: &IceDescription,
        controlling: bool,
    ) -> Result<(), IceError> {
        self.agent
            .start_connectivity_checks(now, controlling, remote.ufrag.clone(), remote.pwd.clone())
            .map_err(|e| IceError::Credentials(e.to_string()))?;
        for c in &remote.candidates {
            self.add_remote_candidate(c);
        }
        self.drain_events();
        Ok(())
    }

    /// Adds one remote candidate (trickled, or learned later). Returns whether it is used.
    pub fn add_remote_candidate(&mut self, c: &IceCandidate) -> bool {
        let r = to_rtc_remote(c).and_then(|rc| {
            self.agent
                .add_remote_candidate(rc)
                .map_err(|e| e.to_string())
        });
        match r {
            Ok(used) => used,
            Err(e) => {
                if self.skipped_remote.len() < 64 {
                    self.skipped_remote.push((c.to_string(), e));
                }
                false
            }
        }
    }

    /// Remote candidates that were not used, with the reason.
    pub fn skipped_remote_candidates(&self) -> &[(String, String)] {
        &self.skipped_remote
    }

    /// ICE restart (RFC 8445 §9): new credentials (empty = random), the candidate pairs and
    /// the selected pair are dropped, and `locals` (re-gathered after a network change, or the
    /// old ones) replace our candidates. Offer [`IceAgent::local_description`] in a re-INVITE
    /// and call [`IceAgent::set_remote`] with the answer's description.
    pub fn restart(
        &mut self,
        now: Instant,
        ufrag: String,
        pwd: String,
        locals: &[LocalCandidate],
    ) -> Result<(), IceError> {
        self.agent
            .restart(now, ufrag, pwd, false)
            .map_err(|e| IceError::Start(e.to_string()))?;
        self.locals.clear();
        self.selected = None;
        self.had_selected = false;
        self.skipped_remote.clear();
        for c in locals {
            self.add_local_candidate(*c)?;
        }
        self.drain_events();
        Ok(())
    }

    /// Our current role.
    pub fn controlling(&self) -> bool {
        self.agent.role()
    }

    pub fn state(&self) -> IceState {
        self.state
    }

    /// The pair media should use, once one is selected.
    pub fn selected(&self) -> Option<SelectedPair> {
        self.selected
    }

    /// A datagram arrived on `socket` (for a TURN allocation: the data the relay forwarded,
    /// with `from` the peer's address). STUN goes to the agent; media is recognised when it
    /// comes from a known remote candidate.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        socket: SocketId,
        from: SocketAddr,
        data: &[u8],
    ) -> Received {
        // The local address rtc-ice knows the candidate by: the host address of a socket or
        // the relayed address of an allocation.
        // (A srflx candidate's base is its host socket's address, so any candidate of the
        // socket names the same local address; host and relay first for clarity.)
        let mine = |c: &&LocalCandidate| c.socket == socket;
        let Some(local) = self
            .locals
            .iter()
            .filter(mine)
            .find(|c| !matches!(c.kind, LocalKind::ServerReflexive { .. }))
            .or_else(|| self.locals.iter().find(mine))
            .map(|c| c.base())
        else {
            return Received::Ignored("no local candidate on this socket");
        };
        if !is_stun(data) {
            // Once a pair is selected, media comes from its destination only; before, from
            // any remote candidate (the peer may start sending on nomination, RFC 8445 §12.1).
            let known = match self.selected {
                Some(p) => p.destination == from && p.socket == socket,
                None => self
                    .agent
                    .get_remote_candidates()
                    .iter()
                    .any(|c| c.addr() == from),
            };
            return if known {
                Received::Media
            } else {
                Received::Ignored("not STUN, and not from a remote candidate")
            };
        }
        // RFC 8445 §7.1.2/§7.2.2: every check carries FINGERPRINT; rtc-ice does not verify it,
        // so a corrupted (or non-ICE) STUN message would reach its logic. Verify it here with
        // rtc-stun's own check.
        let mut m = stun::message::Message {
            raw: data.to_vec(),
            ..Default::default()
        };
        if m.decode().is_err() {
            return Received::Ignored("STUN that does not decode");
        }
        if stun::fingerprint::FINGERPRINT.check(&m).is_err() {
            return Received::Ignored("STUN without a valid FINGERPRINT");
        }
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        let r = self.agent.handle_read(msg);
        self.drain_events();
        match r {
            Ok(()) => Received::Ice,
            Err(_) => Received::Ignored("STUN the agent refused (unknown, unauthenticated)"),
        }
    }

    /// Drives timers (checks, nomination, consent). Call when [`IceAgent::poll_timeout`] is
    /// due.
    pub fn handle_timeout(&mut self, now: Instant) {
        // rtc-ice's handle_timeout only fails through mDNS, which is disabled.
        let _ = self.agent.handle_timeout(now);
        self.drain_events();
    }

    /// The next datagram to send. Drain until `None` after every `handle_*` call.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        while let Some(t) = self.agent.poll_write() {
            let source = t.transport.local_addr;
            let Some(c) = self.locals.iter().find(|c| c.base() == source) else {
                continue;
            };
            return Some(Transmit {
                socket: c.socket,
                source,
                destination: t.transport.peer_addr,
                tcp: t.transport.transport_protocol == TransportProtocol::TCP,
                payload: t.message.to_vec(),
            });
        }
        None
    }

    /// The next event. Drain until `None` after every `handle_*` call.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When to call [`IceAgent::handle_timeout`] next (`None`: nothing scheduled, e.g.
    /// before `set_remote` or after failure).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.agent.poll_timeout()
    }

    /// The configuration this agent was made with.
    pub fn config(&self) -> &IceConfig {
        &self.config
    }

    fn route(&self, local: &Candidate, remote: &Candidate) -> Option<SelectedPair> {
        let source = local.base_addr();
        let lc = self.locals.iter().find(|c| c.base() == source)?;
        let (lt, rt) = (
            sdp_type(local.candidate_type()),
            sdp_type(remote.candidate_type()),
        );
        let route = if let LocalKind::Relay { transport, .. } = lc.kind {
            match transport {
                RelayTransport::Udp => RouteKind::RelayUdp,
                RelayTransport::Tcp => RouteKind::RelayTcp,
                RelayTransport::Tls => RouteKind::RelayTls,
            }
        } else if rt == CandidateType::Relay {
            // The peer's relay, reached from here over UDP.
            RouteKind::RelayUdp
        } else if lt == CandidateType::PeerReflexive || rt == CandidateType::PeerReflexive {
            RouteKind::Prflx
        } else if lt == CandidateType::ServerReflexive || rt == CandidateType::ServerReflexive {
            RouteKind::Srflx
        } else {
            RouteKind::Host
        };
        Some(SelectedPair {
            socket: lc.socket,
            source,
            destination: remote.addr(),
            local_type: lt,
            remote_type: rt,
            route,
        })
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.agent.poll_event() {
            match e.event {
                RtcEvent::ConnectionStateChange(s) => {
                    let s = ice_state(s);
                    self.state = s;
                    self.events.push_back(IceEvent::State(s));
                    if s == IceState::Failed {
                        self.selected = None;
                        self.events.push_back(if self.had_selected {
                            IceEvent::ConsentLost
                        } else {
                            IceEvent::Failed
                        });
                    }
                }
                RtcEvent::SelectedCandidatePairChange(l, r) => {
                    if let Some(p) = self.route(&l, &r) {
                        self.selected = Some(p);
                        self.had_selected = true;
                        self.events.push_back(IceEvent::Selected(p));
                    }
                }
                RtcEvent::RoleChange(controlling) => {
                    self.events.push_back(IceEvent::RoleChanged { controlling });
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeline_media::sdp::SessionDescription;

    #[test]
    fn peer_candidates_we_cannot_use_are_skipped_with_a_reason() {
        let now = Instant::now();
        let mut a = IceAgent::new(now, IceConfig::default()).unwrap();
        let local = a
            .add_local_candidate(LocalCandidate::host(1, "192.0.2.1:4000".parse().unwrap()))
            .unwrap();
        assert_eq!(local.typ, CandidateType::Host);
        assert_eq!(local.priority, 2_130_706_431);
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n\
m=audio 5000 RTP/AVP 0\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.9 5000 typ host\r\n\
a=candidate:1 2 UDP 2130706430 192.0.2.9 5001 typ host\r\n\
a=candidate:2 1 UDP 2130706431 f3a1.local 5002 typ host\r\n\
a=candidate:3 1 TCP 1518280447 192.0.2.9 9 typ host tcptype active\r\n\
a=candidate:4 1 TCP 1518280447 192.0.2.9 5003 typ host tcptype passive\r\n";
        let sd = SessionDescription::parse(sdp).unwrap();
        let remote = homeline_media::sdp::ice::read_ice(&sd.media[0], &sd)
            .ice
            .unwrap();
        a.set_remote(now, &remote, true).unwrap();
        let skipped = a.skipped_remote_candidates();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(skipped[0].1.contains("rtcp-mux"));
        assert!(skipped[1].1.contains("mDNS"));
        assert!(skipped[2].1.contains("active"));
        // The UDP host and the passive TCP host are checked.
        assert_eq!(a.agent.get_remote_candidates().len(), 2);
        a.handle_timeout(now);
        let t = a.poll_transmit().expect("a check goes out");
        assert_eq!(t.destination, "192.0.2.9:5000".parse().unwrap());
        assert_eq!(t.socket, 1);
        assert!(super::super::is_stun(&t.payload));
    }

    #[test]
    fn relay_candidates_are_ranked_by_transport() {
        let now = Instant::now();
        let mut a = IceAgent::new(now, IceConfig::default()).unwrap();
        let m = "203.0.113.1:40000".parse().unwrap();
        let p = |a: &mut IceAgent, port, t| {
            a.add_local_candidate(LocalCandidate::relay(
                2,
                SocketAddr::new("198.51.100.9".parse().unwrap(), port),
                m,
                t,
            ))
            .unwrap()
            .priority
        };
        let udp = p(&mut a, 1, RelayTransport::Udp);
        let tcp = p(&mut a, 2, RelayTransport::Tcp);
        let tls = p(&mut a, 3, RelayTransport::Tls);
        assert!(udp > tcp && tcp > tls, "{udp} {tcp} {tls}");
        let d = a.local_description();
        assert_eq!(d.candidates.len(), 3);
        assert!(d.candidates.iter().all(|c| c.typ == CandidateType::Relay));
        assert_eq!(d.candidates[0].related, Some(("203.0.113.1".into(), 40000)));
    }
}
