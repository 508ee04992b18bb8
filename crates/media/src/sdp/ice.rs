//! ICE in SDP (RFC 8839): `a=ice-ufrag`, `a=ice-pwd`, `a=ice-options`, `a=ice-lite`,
//! `a=candidate`, `a=remote-candidates`, `a=end-of-candidates`, `a=ice-mismatch`.
//!
//! The attributes are read from an already parsed [`SessionDescription`]: the SDP parser keeps
//! every `a=` line, and this module types the ICE ones. **A malformed ICE attribute never fails
//! the description**: it is skipped and reported as an [`IgnoredAttribute`] with a reason, so
//! one odd candidate from a peer costs that candidate, not the call.
//!
//! The `a=candidate` grammar is small and fixed (RFC 8839 §5.1); it is parsed here rather than
//! through `rtc-ice` so that the media crate keeps no dependency on the ICE agent and so that
//! extension attributes (`generation`, `network-id`, …) survive a round trip. The ICE agent in
//! `homeline-nat` converts these typed candidates into its own.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::parse::{Attribute, Connection, MediaDescription, SessionDescription};

/// Limits on what one media section may carry; far above any real peer (Chromium sends a
/// dozen candidates), low enough that a hostile SDP cannot make the agent pair millions.
pub const MAX_CANDIDATES: usize = 64;

/// The transport of a candidate (RFC 8839 §5.1 `transport`; RFC 6544 for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateTransport {
    Udp,
    /// ICE-TCP with its `tcptype` (RFC 6544 §4.5).
    Tcp(TcpType),
}

/// RFC 6544 §4.5 `tcptype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    Active,
    Passive,
    SimultaneousOpen,
}

impl TcpType {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::SimultaneousOpen => "so",
        }
    }
}

/// RFC 8839 §5.1 `cand-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType {
    Host,
    ServerReflexive,
    PeerReflexive,
    Relay,
}

impl CandidateType {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relay => "relay",
        }
    }

    /// The type preference RFC 8445 §5.1.2.2 recommends.
    pub fn preference(self) -> u32 {
        match self {
            CandidateType::Host => 126,
            CandidateType::PeerReflexive => 110,
            CandidateType::ServerReflexive => 100,
            CandidateType::Relay => 0,
        }
    }
}

/// One `a=candidate` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// 1..32 ice-chars.
    pub foundation: String,
    /// 1 = RTP (and RTCP with rtcp-mux), 2 = RTCP.
    pub component: u16,
    pub transport: CandidateTransport,
    pub priority: u32,
    /// An IP literal, or an FQDN / mDNS `.local` name (RFC 8839 §5.1 allows them).
    pub address: String,
    pub port: u16,
    pub typ: CandidateType,
    /// `raddr`/`rport`: the base a reflexive or relayed candidate was derived from.
    pub related: Option<(String, u16)>,
    /// Extension attributes other than `tcptype`, in order (`generation 0`, `ufrag x`, …).
    pub extensions: Vec<(String, String)>,
}

/// Why an ICE attribute was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredAttribute {
    pub name: String,
    pub value: String,
    pub reason: String,
}

fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn ice_chars(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(is_ice_char)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

fn is_address(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
}

impl IceCandidate {
    /// A candidate with the RFC 8445 §5.1.2.1 priority for `typ` (local preference
    /// `local_pref`, 0..=65535) and a foundation derived from type, base IP and transport.
    pub fn new(
        typ: CandidateType,
        transport: CandidateTransport,
        addr: SocketAddr,
        related: Option<SocketAddr>,
        local_pref: u16,
        base_ip: IpAddr,
    ) -> Self {
        let priority = (typ.preference() << 24) + (u32::from(local_pref) << 8) + 255;
        // §5.1.1.3: same type, base IP, server and transport → same foundation. We hash the
        // inputs into a short ice-char string (FNV-1a, stable across runs).
        let mut h: u32 = 0x811c_9dc5;
        let key = format!("{}{}{:?}", typ.as_str(), base_ip, transport);
        for b in key.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        IceCandidate {
            foundation: h.to_string(),
            component: 1,
            transport,
            priority,
            address: addr.ip().to_string(),
            port: addr.port(),
            typ,
            related: related.map(|r| (r.ip().to_string(), r.port())),
            extensions: Vec::new(),
        }
    }

    /// The transport address when `address` is an IP literal (names give `None`).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.address.parse().ok()?;
        Some(SocketAddr::new(ip, self.port))
    }

    /// Parses the value of an `a=candidate` attribute (what follows `candidate:`).
    pub fn parse(value: &str) -> Result<Self, String> {
        let f: Vec<&str> = value.split_ascii_whitespace().collect();
        if f.len() < 8 {
            return Err(
                "needs foundation component transport priority address port typ <type>".into(),
            );
        }
        if !ice_chars(f[0], 1, 32) {
            return Err(format!("foundation `{}` is not 1-32 ice-chars", f[0]));
        }
        let component = f[1]
            .parse::<u16>()
            .ok()
            .filter(|c| (1..=256).contains(c) && f[1].len() <= 3)
            .ok_or_else(|| format!("component `{}` is not 1-256", f[1]))?;
        let is_tcp = if f[2].eq_ignore_ascii_case("udp") {
            false
        } else if f[2].eq_ignore_ascii_case("tcp") {
            true
        } else {
            return Err(format!("transport `{}` is neither UDP nor TCP", f[2]));
        };
        let priority = f[3]
            .parse::<u32>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("priority `{}` is not 1..2^32-1", f[3]))?;
        if !is_address(f[4]) {
            return Err(format!(
                "address `{}` is neither an IP nor a host name",
                f[4]
            ));
        }
        let port = f[5]
            .parse::<u16>()
            .map_err(|_| format!("port `{}` is not a port number", f[5]))?;
        if f[6] != "typ" {
            return Err(format!("expected `typ`, found `{}`", f[6]));
        }
        let typ = match f[7] {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::ServerReflexive,
            "prflx" => CandidateType::PeerReflexive,
            "relay" => CandidateType::Relay,
            t => return Err(format!("candidate type `{t}` is unknown")),
        };
        let mut rest = &f[8..];
        let mut raddr = None;
        let mut rport = None;
        let mut tcptype = None;
        let mut extensions = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(format!("extension `{}` has no value", rest[0]));
            }
            let (k, v) = (rest[0], rest[1]);
            rest = &rest[2..];
            match k {
                "raddr" if raddr.is_none() && is_address(v) => raddr = Some(v.to_string()),
                "rport" if rport.is_none() => {
                    rport = Some(
                        v.parse::<u16>()
                            .map_err(|_| format!("rport `{v}` is not a port number"))?,
                    )
                }
                "raddr" => return Err(format!("raddr `{v}` is not an address")),
                "tcptype" => {
                    tcptype = Some(match v {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::SimultaneousOpen,
                        _ => return Err(format!("tcptype `{v}` is unknown")),
                    })
                }
                _ if is_token(k) && v.bytes().all(|b| b.is_ascii_graphic()) => {
                    if extensions.len() >= 16 {
                        return Err("more than 16 extension attributes".into());
                    }
                    extensions.push((k.to_string(), v.to_string()));
                }
                _ => return Err(format!("extension `{k}` is not a token")),
            }
        }
        let transport = match (is_tcp, tcptype) {
            (false, None) => CandidateTransport::Udp,
            (false, Some(_)) => return Err("tcptype on a UDP candidate".into()),
            (true, Some(t)) => CandidateTransport::Tcp(t),
            (true, None) => return Err("TCP candidate without tcptype (RFC 6544 §4.5)".into()),
        };
        let related = match (raddr, rport) {
            (Some(a), Some(p)) => Some((a, p)),
            (None, None) => None,
            _ => return Err("raddr and rport must come together".into()),
        };
        Ok(IceCandidate {
            foundation: f[0].into(),
            component,
            transport,
            priority,
            address: f[4].into(),
            port,
            typ,
            related,
            extensions,
        })
    }
}

impl fmt::Display for IceCandidate {
    /// The attribute value (without `candidate:`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = match self.transport {
            CandidateTransport::Udp => "UDP",
            CandidateTransport::Tcp(_) => "TCP",
        };
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            proto,
            self.priority,
            self.address,
            self.port,
            self.typ.as_str()
        )?;
        if let Some((a, p)) = &self.related {
            write!(f, " raddr {a} rport {p}")?;
        }
        if let CandidateTransport::Tcp(t) = self.transport {
            write!(f, " tcptype {}", t.as_str())?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

/// One entry of `a=remote-candidates` (RFC 8839 §5.2): the remote candidate the controlling
/// agent nominated, per component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCandidate {
    pub component: u16,
    pub address: String,
    pub port: u16,
}

fn parse_remote_candidates(v: &str) -> Result<Vec<RemoteCandidate>, String> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    if f.is_empty() || !f.len().is_multiple_of(3) {
        return Err("needs triples of component address port".into());
    }
    f.chunks(3)
        .map(|c| {
            let component = c[0]
                .parse::<u16>()
                .map_err(|_| format!("component `{}` is not a number", c[0]))?;
            if !is_address(c[1]) {
                return Err(format!("address `{}` is not an address", c[1]));
            }
            let port = c[2]
                .parse::<u16>()
                .map_err(|_| format!("port `{}` is not a port number", c[2]))?;
            Ok(RemoteCandidate {
                component,
                address: c[1].into(),
                port,
            })
        })
        .collect()
}

/// The ICE parameters of one media stream, as a peer described them or as we describe ours.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceDescription {
    pub ufrag: String,
    pub pwd: String,
    /// `a=ice-options` tags (`trickle`, `ice2`, …), session and media level together.
    pub options: Vec<String>,
    /// `a=ice-lite` (session level).
    pub lite: bool,
    pub candidates: Vec<IceCandidate>,
    pub remote_candidates: Vec<RemoteCandidate>,
    pub end_of_candidates: bool,
    pub rtcp_mux: bool,
}

impl IceDescription {
    /// The peer supports Trickle ICE (RFC 8840 §4.1.1).
    pub fn trickle(&self) -> bool {
        self.options.iter().any(|o| o == "trickle")
    }
    /// The peer implements RFC 8445 (not only RFC 5245).
    pub fn ice2(&self) -> bool {
        self.options.iter().any(|o| o == "ice2")
    }

    /// Writes the media-level ICE attributes into `m` (and `a=ice-lite` into the session when
    /// `lite`). The ufrag/pwd go at media level, which RFC 8839 §5.4 allows and every peer
    /// reads.
    pub fn write_to(&self, session_attrs: &mut Vec<Attribute>, m: &mut MediaDescription) {
        if self.lite && !session_attrs.iter().any(|a| a.name == "ice-lite") {
            session_attrs.push(Attribute::flag("ice-lite"));
        }
        m.attributes
            .push(Attribute::value("ice-ufrag", self.ufrag.clone()));
        m.attributes
            .push(Attribute::value("ice-pwd", self.pwd.clone()));
        if !self.options.is_empty() {
            m.attributes
                .push(Attribute::value("ice-options", self.options.join(" ")));
        }
        for c in &self.candidates {
            m.attributes
                .push(Attribute::value("candidate", c.to_string()));
        }
        if !self.remote_candidates.is_empty() {
            let v: Vec<String> = self
                .remote_candidates
                .iter()
                .map(|r| format!("{} {} {}", r.component, r.address, r.port))
                .collect();
            m.attributes
                .push(Attribute::value("remote-candidates", v.join(" ")));
        }
        if self.end_of_candidates {
            m.attributes.push(Attribute::flag("end-of-candidates"));
        }
    }
}

/// What a media section says about ICE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceRead {
    /// `Some` when the section carries a valid ufrag and pwd.
    pub ice: Option<IceDescription>,
    /// The peer (an answerer) said our default candidate was not among our candidates.
    pub mismatch_signalled: bool,
    /// ICE attributes that were skipped, with why.
    pub ignored: Vec<IgnoredAttribute>,
}

fn ignore(ignored: &mut Vec<IgnoredAttribute>, a: &Attribute, reason: impl Into<String>) {
    if ignored.len() < MAX_CANDIDATES {
        ignored.push(IgnoredAttribute {
            name: a.name.clone(),
            value: a.value.clone().unwrap_or_default(),
            reason: reason.into(),
        });
    }
}

/// Reads the ICE attributes of media section `m` of `sd` (media level wins over session
/// level for ufrag/pwd, RFC 8839 §5.4).
pub fn read_ice(m: &MediaDescription, sd: &SessionDescription) -> IceRead {
    let mut out = IceRead::default();
    let mut ufrag = None;
    let mut pwd = None;
    let mut options = Vec::new();
    let lite = sd.attributes.iter().any(|a| a.name == "ice-lite");
    let check_cred = |a: &Attribute,
                      slot: &mut Option<String>,
                      min: usize,
                      ignored: &mut Vec<IgnoredAttribute>| {
        match a.value.as_deref().map(str::trim) {
            Some(v) if ice_chars(v, min, 256) => *slot = Some(v.to_string()),
            _ => ignore(
                ignored,
                a,
                format!("not {min}-256 ice-chars (RFC 8839 §5.4)"),
            ),
        }
    };
    // Session level first, then media level overrides.
    for attrs in [&sd.attributes, &m.attributes] {
        for a in attrs.iter() {
            match a.name.as_str() {
                "ice-ufrag" => check_cred(a, &mut ufrag, 4, &mut out.ignored),
                "ice-pwd" => check_cred(a, &mut pwd, 22, &mut out.ignored),
                "ice-options" => match a.value.as_deref() {
                    Some(v) if v.split_ascii_whitespace().all(|t| ice_chars(t, 1, 64)) => {
                        for t in v.split_ascii_whitespace() {
                            if !options.iter().any(|o| o == t) {
                                options.push(t.to_string());
                            }
                        }
                    }
                    _ => ignore(&mut out.ignored, a, "ice-options needs ice-char tags"),
                },
                "ice-mismatch" => out.mismatch_signalled = true,
                _ => {}
            }
        }
    }
    let mut desc = IceDescription {
        options,
        lite,
        rtcp_mux: m.attribute("rtcp-mux").is_some(),
        ..Default::default()
    };
    for a in &m.attributes {
        match a.name.as_str() {
            "candidate" => match a.value.as_deref().map(IceCandidate::parse) {
                Some(Ok(c)) if desc.candidates.len() < MAX_CANDIDATES => desc.candidates.push(c),
                Some(Ok(_)) => ignore(
                    &mut out.ignored,
                    a,
                    format!("more than {MAX_CANDIDATES} candidates"),
                ),
                Some(Err(e)) => ignore(&mut out.ignored, a, e),
                None => ignore(&mut out.ignored, a, "candidate without a value"),
            },
            "remote-candidates" => match a.value.as_deref().map(parse_remote_candidates) {
                Some(Ok(r)) => desc.remote_candidates = r,
                Some(Err(e)) => ignore(&mut out.ignored, a, e),
                None => ignore(&mut out.ignored, a, "remote-candidates without a value"),
            },
            "end-of-candidates" => desc.end_of_candidates = true,
            _ => {}
        }
    }
    if sd.attributes.iter().any(|a| a.name == "end-of-candidates") {
        desc.end_of_candidates = true;
    }
    match (ufrag, pwd) {
        (Some(u), Some(p)) => {
            desc.ufrag = u;
            desc.pwd = p;
            out.ice = Some(desc);
        }
        (None, None) if desc.candidates.is_empty() => {}
        _ => {
            // Candidates without credentials cannot be checked (RFC 8839 §5.4 makes both
            // mandatory): the peer is treated as ICE-unaware.
            out.ignored.push(IgnoredAttribute {
                name: "ice-ufrag".into(),
                value: String::new(),
                reason: "ICE attributes without both ice-ufrag and ice-pwd: ICE not used".into(),
            });
        }
    }
    out
}

/// RFC 8839 §4.4 (ICE mismatch): the default destination in `c=`/`m=` must be one of the
/// component-1 candidates, else something on the path (an ALG, an SBC) rewrote the SDP and the
/// peer is handled as ICE-unaware. A trickle offer with no candidates yet and the placeholder
/// `0.0.0.0`/port 9 (RFC 8840 §4.1.1) is not a mismatch.
pub fn is_mismatch(ice: &IceDescription, m: &MediaDescription, sd: &SessionDescription) -> bool {
    let conn = m.effective_connection(sd).and_then(Connection::ip);
    if ice.candidates.is_empty() {
        let placeholder = conn.is_some_and(|ip| ip.is_unspecified()) && m.port == 9;
        return !placeholder && !ice.trickle();
    }
    if m.port == 9 && conn.is_some_and(|ip| ip.is_unspecified()) && ice.trickle() {
        return false;
    }
    let Some(ip) = conn else {
        return true;
    };
    !ice.candidates.iter().any(|c| {
        c.component == 1 && c.port == m.port && c.address.parse::<IpAddr>().ok() == Some(ip)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_round_trips() {
        for line in [
            "1 1 UDP 2130706431 192.0.2.1 5000 typ host",
            "2 1 UDP 1694498815 203.0.113.5 40000 typ srflx raddr 192.0.2.1 rport 5000",
            "3 1 udp 16777215 198.51.100.9 50000 typ relay raddr 203.0.113.5 rport 40000 generation 0",
            "4 1 TCP 2105524479 192.0.2.1 9 typ host tcptype active",
            "842163049 1 udp 1677729535 2001:db8::1 61717 typ srflx raddr :: rport 0 generation 0 network-cost 999",
            "5 1 UDP 100 a1b2c3.local 6000 typ host",
        ] {
            let c = IceCandidate::parse(line).unwrap();
            let again = IceCandidate::parse(&c.to_string()).unwrap();
            assert_eq!(c, again, "{line}");
        }
        let c = IceCandidate::parse("4 1 TCP 2105524479 192.0.2.1 9 typ host tcptype passive x y")
            .unwrap();
        assert_eq!(c.transport, CandidateTransport::Tcp(TcpType::Passive));
        assert_eq!(c.extensions, vec![("x".into(), "y".into())]);
    }

    #[test]
    fn bad_candidates_say_why() {
        for (line, why) in [
            ("1 1 UDP 1 192.0.2.1 5000 typ", "needs"),
            ("1 1 SCTP 1 192.0.2.1 5000 typ host", "transport"),
            ("1 0 UDP 1 192.0.2.1 5000 typ host", "component"),
            ("1 1 UDP 0 192.0.2.1 5000 typ host", "priority"),
            ("1 1 UDP 1 192.0.2.1 70000 typ host", "port"),
            ("1 1 UDP 1 192.0.2.1 5000 type host", "typ"),
            ("1 1 UDP 1 192.0.2.1 5000 typ bogus", "type"),
            ("1 1 UDP 1 192.0.2.1 5000 typ srflx raddr", "no value"),
            (
                "1 1 UDP 1 192.0.2.1 5000 typ srflx raddr 1.2.3.4 x y",
                "together",
            ),
            ("1 1 TCP 1 192.0.2.1 5000 typ host", "tcptype"),
            ("1 1 UDP 1 192.0.2.1 5000 typ host tcptype active", "UDP"),
            ("f_o 1 UDP 1 192.0.2.1 5000 typ host", "foundation"),
            ("1 1 UDP 1 bad_host! 5000 typ host", "address"),
        ] {
            let e = IceCandidate::parse(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    #[test]
    fn new_candidate_priority_follows_rfc8445() {
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let h = IceCandidate::new(
            CandidateType::Host,
            CandidateTransport::Udp,
            a,
            None,
            65535,
            a.ip(),
        );
        assert_eq!(h.priority, 2_130_706_431);
        let r = IceCandidate::new(
            CandidateType::Relay,
            CandidateTransport::Udp,
            a,
            Some(a),
            65535,
            a.ip(),
        );
        assert_eq!(r.priority, 16_777_215);
        assert_ne!(h.foundation, r.foundation);
        assert!(IceCandidate::parse(&r.to_string()).is_ok());
    }

    use crate::sdp::offer_answer::{PeerIce, answer_offer, build_offer, process_answer};
    use crate::sdp::{LocalMedia, SessionDescription};

    /// baresip 0.6.3's offer, from baresip/baresip#765 (addresses as published there): ufrag
    /// and pwd at session level, `c=` per media, no rtcp-mux, DTLS-SRTP profile.
    const BARESIP_OFFER: &str = "v=0\r\n\
o=- 3162123951 340234518 IN IP4 192.168.3.12\r\n\
s=-\r\n\
c=IN IP4 192.168.3.12\r\n\
t=0 0\r\n\
a=tool:baresip 0.6.3\r\n\
a=ice-ufrag:xdHQ9bd\r\n\
a=ice-pwd:aVLPh8UEaZZvu3B3XXqAZZBgxZpS4NE\r\n\
a=setup:active\r\n\
m=audio 34586 UDP/TLS/RTP/SAVP 0 8 101\r\n\
c=IN IP4 223.95.81.141\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=rtcp-rsize\r\n\
a=ptime:20\r\n\
a=candidate:c0a8030c 1 UDP 2113932031 192.168.3.12 41794 typ host\r\n\
a=candidate:df5f518c 1 UDP 1677721855 223.95.81.141 34586 typ srflx raddr 192.168.3.12 rport 41794\r\n";

    /// A Chromium offer after gathering completed (the format Chrome 120+ writes: `generation`,
    /// `network-id`, `network-cost` extensions, a passive TCP host candidate, trickle).
    const CHROMIUM_OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=audio 61717 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
c=IN IP4 203.0.113.4\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 network-id 1 network-cost 10\r\n\
a=candidate:435653019 1 tcp 1845501695 192.168.0.196 9 typ host tcptype active generation 0 network-id 1 network-cost 10\r\n\
a=candidate:842163049 1 udp 1677729535 203.0.113.4 61717 typ srflx raddr 192.168.0.196 rport 46243 generation 0 network-id 1 network-cost 10\r\n\
a=ice-ufrag:Xc7Z\r\n\
a=ice-pwd:4WkzIvWj6Aq0ZDv4g6pLNfYv\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 4F:0B:36:2D:9B:0F:4D:6E:14:76:13:B1:E7:D9:1C:52:A2:07:7C:87:4A:3F:0A:8B:2D:55:19:35:9E:41:05:6C\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=end-of-candidates\r\n";

    /// An SBC's answer without ICE (the shape of a provider's Session Border Controller).
    const SBC_ANSWER: &str = "v=0\r\n\
o=SBC 1657 1658 IN IP4 198.51.100.20\r\n\
s=SBC\r\n\
c=IN IP4 198.51.100.20\r\n\
t=0 0\r\n\
m=audio 20512 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

    fn sdp(s: &str) -> SessionDescription {
        SessionDescription::parse(s).unwrap()
    }

    fn ice_of(s: &SessionDescription) -> IceRead {
        read_ice(&s.media[0], s)
    }

    fn local_ice(ufrag: &str, addrs: &[(CandidateType, &str)]) -> IceDescription {
        IceDescription {
            ufrag: ufrag.into(),
            pwd: format!("{ufrag}passwordpasswordpassword"),
            options: vec!["trickle".into()],
            candidates: addrs
                .iter()
                .map(|(t, a)| {
                    let a: SocketAddr = a.parse().unwrap();
                    IceCandidate::new(*t, CandidateTransport::Udp, a, None, 65535, a.ip())
                })
                .collect(),
            end_of_candidates: true,
            rtcp_mux: true,
            ..Default::default()
        }
    }

    #[test]
    fn reads_baresip_offer() {
        let sd = sdp(BARESIP_OFFER);
        let r = ice_of(&sd);
        assert!(r.ignored.is_empty(), "{:?}", r.ignored);
        let ice = r.ice.unwrap();
        assert_eq!((ice.ufrag.as_str(), ice.pwd.len()), ("xdHQ9bd", 31));
        assert_eq!(ice.candidates.len(), 2);
        assert_eq!(ice.candidates[1].typ, CandidateType::ServerReflexive);
        assert_eq!(
            ice.candidates[1].related,
            Some(("192.168.3.12".into(), 41794))
        );
        assert!(!ice.rtcp_mux && !ice.lite && !ice.trickle());
        // The default (m= port, media c=) is the srflx candidate: no mismatch.
        assert!(!is_mismatch(&ice, &sd.media[0], &sd));
    }

    #[test]
    fn reads_chromium_offer() {
        let sd = sdp(CHROMIUM_OFFER);
        let r = ice_of(&sd);
        assert!(r.ignored.is_empty(), "{:?}", r.ignored);
        let ice = r.ice.unwrap();
        assert!(ice.trickle() && ice.end_of_candidates && ice.rtcp_mux);
        assert_eq!(ice.candidates.len(), 3);
        assert_eq!(
            ice.candidates[1].transport,
            CandidateTransport::Tcp(TcpType::Active)
        );
        assert_eq!(ice.candidates[0].extensions.len(), 3);
        assert!(!is_mismatch(&ice, &sd.media[0], &sd));
        // Before gathering Chrome offers 0.0.0.0:9 and trickles: not a mismatch.
        let early = CHROMIUM_OFFER
            .replace("m=audio 61717", "m=audio 9")
            .replace("c=IN IP4 203.0.113.4", "c=IN IP4 0.0.0.0");
        let early: String = early
            .lines()
            .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let sd = sdp(&early);
        let ice = ice_of(&sd).ice.unwrap();
        assert!(ice.candidates.is_empty());
        assert!(!is_mismatch(&ice, &sd.media[0], &sd));
    }

    #[test]
    fn sbc_answer_without_ice_means_unaware() {
        let mut l = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        l.set_ice(local_ice(
            "aaaa",
            &[
                (CandidateType::Host, "192.0.2.1:4000"),
                (CandidateType::ServerReflexive, "203.0.113.1:40000"),
            ],
        ));
        // The default candidate became the srflx one.
        assert_eq!(
            (l.address.to_string(), l.port),
            ("203.0.113.1".into(), 40000)
        );
        let offer = build_offer(&l);
        let n = process_answer(&l, &offer, &sdp(SBC_ANSWER)).unwrap();
        assert_eq!(n.ice, PeerIce::Unaware);
        assert_eq!(n.remote_rtp, Some("198.51.100.20:20512".parse().unwrap()));
    }

    #[test]
    fn ice_offer_answer_round_trip_exposes_peer_candidates_and_roles() {
        let mut a = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        a.set_ice(local_ice(
            "aaaa",
            &[
                (CandidateType::Host, "192.0.2.1:4000"),
                (CandidateType::Relay, "198.51.100.1:50000"),
            ],
        ));
        assert_eq!(a.port, 50000, "the relay is the default candidate");
        let mut b = LocalMedia::new("192.0.2.2".parse().unwrap(), 5000, 2);
        b.set_ice(local_ice(
            "bbbb",
            &[(CandidateType::Host, "192.0.2.2:5000")],
        ));
        let offer = build_offer(&a);
        let text = offer.to_string();
        for needle in [
            "a=ice-ufrag:aaaa\r\n",
            "a=ice-pwd:aaaapassword",
            "a=ice-options:trickle\r\n",
            "typ relay",
            "a=end-of-candidates\r\n",
            "m=audio 50000 ",
            "c=IN IP4 198.51.100.1\r\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let (answer, at_b) = answer_offer(&b, &sdp(&text)).unwrap();
        let PeerIce::Ice {
            remote,
            controlling,
        } = &at_b.ice
        else {
            panic!("{:?}", at_b.ice)
        };
        assert!(!controlling);
        assert_eq!(remote.ufrag, "aaaa");
        assert_eq!(remote.candidates.len(), 2);
        let at_a = process_answer(&a, &offer, &sdp(&answer.to_string())).unwrap();
        let PeerIce::Ice {
            remote,
            controlling,
        } = &at_a.ice
        else {
            panic!("{:?}", at_a.ice)
        };
        assert!(controlling);
        assert_eq!(remote.ufrag, "bbbb");
        assert_eq!(
            remote.candidates[0].socket_addr(),
            Some("192.0.2.2:5000".parse().unwrap())
        );

        // A lite answerer: the full offerer stays controlling; a lite offerer gives up control.
        let mut lite = b.clone();
        let mut li = lite.ice.clone().unwrap();
        li.lite = true;
        lite.set_ice(li);
        let (answer, at_lite) = answer_offer(&lite, &offer).unwrap();
        assert!(answer.to_string().contains("a=ice-lite\r\n"));
        assert!(matches!(
            at_lite.ice,
            PeerIce::Ice {
                controlling: false,
                ..
            }
        ));
        let at_a = process_answer(&a, &offer, &answer).unwrap();
        assert!(matches!(
            at_a.ice,
            PeerIce::Ice {
                controlling: true,
                ..
            }
        ));
        let (answer, at_b) = answer_offer(&b, &build_offer(&lite)).unwrap();
        assert!(matches!(
            at_b.ice,
            PeerIce::Ice {
                controlling: true,
                ..
            }
        ));
        let _ = answer;
    }

    #[test]
    fn rewritten_default_address_is_an_ice_mismatch() {
        let mut a = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        a.set_ice(local_ice(
            "aaaa",
            &[(CandidateType::Host, "192.0.2.1:4000")],
        ));
        let mut b = LocalMedia::new("192.0.2.2".parse().unwrap(), 5000, 2);
        b.set_ice(local_ice(
            "bbbb",
            &[(CandidateType::Host, "192.0.2.2:5000")],
        ));
        // An ALG rewrote c= to its public address.
        let text = build_offer(&a)
            .to_string()
            .replace("c=IN IP4 192.0.2.1", "c=IN IP4 203.0.113.99");
        let offer = sdp(&text);
        let (answer, at_b) = answer_offer(&b, &offer).unwrap();
        assert_eq!(at_b.ice, PeerIce::Mismatch);
        let t = answer.to_string();
        assert!(t.contains("a=ice-mismatch\r\n"), "{t}");
        assert!(
            !t.contains("a=ice-ufrag") && !t.contains("a=candidate"),
            "{t}"
        );
        // The offerer reads the mismatch and falls back to the plain address.
        let at_a = process_answer(&a, &offer, &answer).unwrap();
        assert_eq!(at_a.ice, PeerIce::Mismatch);
        assert_eq!(at_a.remote_rtp, Some("192.0.2.2:5000".parse().unwrap()));
    }

    #[test]
    fn malformed_ice_attributes_are_ignored_with_a_reason() {
        let mut l = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        l.set_ice(local_ice(
            "aaaa",
            &[(CandidateType::Host, "192.0.2.1:4000")],
        ));
        let text = BARESIP_OFFER.replace("UDP/TLS/RTP/SAVP", "RTP/AVP").replace(
            "a=ptime:20\r\n",
            "a=ptime:20\r\na=candidate:garbage\r\na=candidate:1 1 UDP 5 10.0.0.1 99999 typ host\r\n\
a=remote-candidates:1 2\r\na=ice-options:tr@ckle\r\n",
        );
        let (_, n) = answer_offer(&l, &sdp(&text)).unwrap();
        let remote = n.ice.remote().expect("the good candidates still run ICE");
        assert_eq!(remote.candidates.len(), 2);
        assert_eq!(n.ice_ignored.len(), 4, "{:?}", n.ice_ignored);
        assert!(n.ice_ignored.iter().all(|i| !i.reason.is_empty()));
        assert!(
            n.ice_ignored[1].reason.contains("port"),
            "{:?}",
            n.ice_ignored[1]
        );

        // A pwd that is too short: credentials invalid → ICE-unaware, call still answered.
        let text = BARESIP_OFFER
            .replace("UDP/TLS/RTP/SAVP", "RTP/AVP")
            .replace(
                "a=ice-pwd:aVLPh8UEaZZvu3B3XXqAZZBgxZpS4NE",
                "a=ice-pwd:short",
            );
        let (ans, n) = answer_offer(&l, &sdp(&text)).unwrap();
        assert_eq!(n.ice, PeerIce::Unaware);
        assert!(n.ice_ignored.iter().any(|i| i.name == "ice-pwd"));
        assert!(!ans.to_string().contains("a=ice-ufrag"));
    }

    #[test]
    fn restart_changes_credentials_in_the_offer() {
        let mut a = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        a.set_ice(local_ice(
            "aaaa",
            &[(CandidateType::Host, "192.0.2.1:4000")],
        ));
        let first = build_offer(&a).to_string();
        a.set_ice(local_ice(
            "cccc",
            &[(CandidateType::Host, "192.0.2.77:4002")],
        ));
        let second = build_offer(&a).to_string();
        assert!(first.contains("a=ice-ufrag:aaaa") && second.contains("a=ice-ufrag:cccc"));
        assert!(second.contains("c=IN IP4 192.0.2.77\r\n") && second.contains("m=audio 4002 "));
    }

    /// Seeded mutations of ICE-bearing offers: parse or fail cleanly; whatever parses is read
    /// and answered without panic, and our answer parses again.
    #[test]
    fn ice_mutations_never_panic() {
        let mut rng = crate::rng::SplitMix64::new(0x1ce_1ce);
        let mut l = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 1);
        l.set_ice(local_ice(
            "aaaa",
            &[(CandidateType::Host, "192.0.2.1:4000")],
        ));
        let bases = [
            BARESIP_OFFER.replace("UDP/TLS/RTP/SAVP", "RTP/AVP"),
            CHROMIUM_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/SAVPF"),
        ];
        let mut read_some = 0;
        for i in 0..10_000 {
            let mut b = bases[i % 2].as_bytes().to_vec();
            for _ in 0..(1 + rng.below(4)) {
                let pos = rng.below(b.len() as u64) as usize;
                match rng.below(3) {
                    0 => b[pos] = b" :/0a9.Z-\r\n"[rng.below(11) as usize],
                    1 => {
                        b.remove(pos);
                    }
                    _ => b.insert(pos, rng.next_u64() as u8),
                }
            }
            let Ok(sd) = SessionDescription::parse_bytes(&b) else {
                continue;
            };
            for m in &sd.media {
                if let Some(ice) = read_ice(m, &sd).ice {
                    read_some += 1;
                    let _ = is_mismatch(&ice, m, &sd);
                    for c in &ice.candidates {
                        assert_eq!(&IceCandidate::parse(&c.to_string()).unwrap(), c);
                    }
                }
            }
            if let Ok((ans, _)) = answer_offer(&l, &sd) {
                SessionDescription::parse(&ans.to_string()).expect("our answer parses");
            }
        }
        assert!(read_some > 1000, "mutations too destructive: {read_some}");
    }
}
