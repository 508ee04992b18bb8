//! Which way a call's media goes, decided from the settings and what gathering found, and
//! how that route is named (`media_route` in JSON) and told to the user. Pure functions: the
//! gatherer in `homeline-phone` (`calls::gather`) feeds them.
//!
//! With a peer that does not do ICE (most providers' SBCs), one address goes into the SDP.
//! The relay's is used when plain UDP cannot work or the user asked for it:
//! - `force_relay` is set;
//! - two STUN servers saw the media socket at two different public addresses: the NAT maps
//!   per destination (symmetric, RFC 4787 "address and port dependent mapping"), so the
//!   address the peer would be told is not the one its packets could reach (DESIGN.md:
//!   "STUN fixes cone NATs, not symmetric ones");
//! - no STUN server answered at all but a relay allocated over TCP or TLS: UDP is blocked on
//!   this network, only the relay's stream gets through.
//!
//! Otherwise the call goes as before (the signalling's public address, symmetric RTP).

use std::net::SocketAddr;

use crate::uri::{RelayTransport, TurnUri};

/// How the audio travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRoute {
    /// ICE chose a pair of host candidates.
    Host,
    /// ICE chose our server-reflexive candidate.
    Srflx,
    /// ICE chose a peer-reflexive candidate.
    Prflx,
    /// Through a TURN relay reached over this transport.
    Relay(RelayTransport),
    /// Without ICE, straight to the address in the peer's SDP (symmetric RTP).
    Direct,
}

impl MediaRoute {
    /// The name in JSON: `host`, `srflx`, `prflx`, `relay-udp`, `relay-tcp`, `relay-tls`,
    /// `direct`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Srflx => "srflx",
            Self::Prflx => "prflx",
            Self::Relay(RelayTransport::Udp) => "relay-udp",
            Self::Relay(RelayTransport::Tcp) => "relay-tcp",
            Self::Relay(RelayTransport::Tls) => "relay-tls",
            Self::Direct => "direct",
        }
    }

    /// Whether the audio goes through a relay.
    pub fn is_relay(self) -> bool {
        matches!(self, Self::Relay(_))
    }
}

/// Why the relay carries a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayReason {
    /// `force_relay = true`.
    Forced,
    /// Two STUN servers saw two different public addresses.
    SymmetricNat,
    /// No STUN answer, but the relay answered over TCP/TLS.
    UdpBlocked,
}

impl RelayReason {
    /// A stable code for the UI, which says the reason in the user's language:
    /// `forced`, `symmetric_nat` or `udp_blocked`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Forced => "forced",
            Self::SymmetricNat => "symmetric_nat",
            Self::UdpBlocked => "udp_blocked",
        }
    }

    /// The reason in words, to follow "because".
    pub fn words(self) -> &'static str {
        match self {
            Self::Forced => "the settings ask for a relay",
            Self::SymmetricNat => "your router changes the port for every destination",
            Self::UdpBlocked => "UDP is blocked on this network",
        }
    }
}

/// What gathering found for one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    /// The public addresses STUN servers saw for the media socket, one per server that
    /// answered.
    pub srflx: Vec<SocketAddr>,
    /// The relay that allocated: its relayed address and how it is reached.
    pub relay: Option<(SocketAddr, RelayTransport)>,
}

impl Gathered {
    /// Two servers saw two different public addresses (RFC 5780 §4.3, the short form).
    pub fn symmetric_nat(&self) -> bool {
        self.srflx.iter().any(|a| *a != self.srflx[0])
    }
}

/// The route for a call with a peer that does not do ICE, and why the relay when it is one.
pub fn choose(force_relay: bool, g: &Gathered) -> (MediaRoute, Option<RelayReason>) {
    let Some((_, transport)) = g.relay else {
        return (MediaRoute::Direct, None);
    };
    let reason = if force_relay {
        Some(RelayReason::Forced)
    } else if g.symmetric_nat() {
        Some(RelayReason::SymmetricNat)
    } else if g.srflx.is_empty() && transport.is_stream() {
        Some(RelayReason::UdpBlocked)
    } else {
        None
    };
    match reason {
        Some(r) => (MediaRoute::Relay(transport), Some(r)),
        None => (MediaRoute::Direct, None),
    }
}

/// Whether the STUN answers settle the route without the relay's result, so the offer need
/// not wait for a relay that may be slow or dead: a public address was found and it is not
/// that of a symmetric NAT (one answer, or two that agree), and no relay was asked for.
pub fn settled_without_relay(force_relay: bool, srflx: &[SocketAddr]) -> bool {
    let g = Gathered {
        srflx: srflx.to_vec(),
        relay: None,
    };
    !force_relay && !srflx.is_empty() && !g.symmetric_nat()
}

/// Whether a relay allocation settles the route without the STUN answers: the user asked
/// for the relay.
pub fn settled_without_stun(force_relay: bool, relay_allocated: bool) -> bool {
    force_relay && relay_allocated
}

/// The route in one plain sentence: "Direct", "Through your router's public address",
/// "Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network".
pub fn describe(route: MediaRoute, relay: Option<&TurnUri>, reason: Option<RelayReason>) -> String {
    let mut s = match (route, relay) {
        (MediaRoute::Relay(t), Some(u)) => format!("Through relay {} ({t} {})", u.host, u.port),
        (MediaRoute::Relay(t), None) => format!("Through a relay ({t})"),
        (MediaRoute::Srflx, _) => "Through your router's public address".to_owned(),
        (MediaRoute::Prflx, _) => "Through your router's public address (found by ICE)".to_owned(),
        (MediaRoute::Host, _) => "Direct, on the local network".to_owned(),
        (MediaRoute::Direct, _) => "Direct".to_owned(),
    };
    if let (true, Some(r)) = (route.is_relay(), reason) {
        s.push_str(" because ");
        s.push_str(r.words());
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn relayed(t: RelayTransport) -> Option<(SocketAddr, RelayTransport)> {
        Some((a("203.0.113.5:49152"), t))
    }

    #[test]
    fn names_are_the_documented_ones() {
        let all = [
            MediaRoute::Host,
            MediaRoute::Srflx,
            MediaRoute::Prflx,
            MediaRoute::Relay(RelayTransport::Udp),
            MediaRoute::Relay(RelayTransport::Tcp),
            MediaRoute::Relay(RelayTransport::Tls),
            MediaRoute::Direct,
        ];
        let names: Vec<&str> = all.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "host",
                "srflx",
                "prflx",
                "relay-udp",
                "relay-tcp",
                "relay-tls",
                "direct"
            ]
        );
    }

    #[test]
    fn a_cone_nat_goes_direct_even_with_a_relay_at_hand() {
        let g = Gathered {
            srflx: vec![a("198.51.100.7:40000"), a("198.51.100.7:40000")],
            relay: relayed(RelayTransport::Udp),
        };
        assert!(!g.symmetric_nat());
        assert_eq!(choose(false, &g), (MediaRoute::Direct, None));
    }

    #[test]
    fn a_symmetric_nat_takes_the_relay() {
        let g = Gathered {
            srflx: vec![a("198.51.100.7:40000"), a("198.51.100.7:40007")],
            relay: relayed(RelayTransport::Udp),
        };
        assert!(g.symmetric_nat());
        assert_eq!(
            choose(false, &g),
            (
                MediaRoute::Relay(RelayTransport::Udp),
                Some(RelayReason::SymmetricNat)
            )
        );
    }

    #[test]
    fn a_symmetric_nat_without_a_relay_goes_direct_as_before() {
        let g = Gathered {
            srflx: vec![a("198.51.100.7:40000"), a("198.51.100.7:40007")],
            relay: None,
        };
        assert_eq!(choose(true, &g), (MediaRoute::Direct, None));
    }

    #[test]
    fn force_relay_wins() {
        let g = Gathered {
            srflx: vec![a("198.51.100.7:40000")],
            relay: relayed(RelayTransport::Tcp),
        };
        assert_eq!(
            choose(true, &g),
            (
                MediaRoute::Relay(RelayTransport::Tcp),
                Some(RelayReason::Forced)
            )
        );
    }

    #[test]
    fn blocked_udp_takes_a_stream_relay_but_not_a_udp_one() {
        let g = Gathered {
            srflx: vec![],
            relay: relayed(RelayTransport::Tls),
        };
        assert_eq!(
            choose(false, &g),
            (
                MediaRoute::Relay(RelayTransport::Tls),
                Some(RelayReason::UdpBlocked)
            )
        );
        // A UDP allocation means UDP works: no STUN answer is then a dead STUN server.
        let g = Gathered {
            srflx: vec![],
            relay: relayed(RelayTransport::Udp),
        };
        assert_eq!(choose(false, &g), (MediaRoute::Direct, None));
    }

    #[test]
    fn what_settles_the_route_early() {
        let cone = [a("198.51.100.7:40000"), a("198.51.100.7:40000")];
        let symmetric = [a("198.51.100.7:40000"), a("198.51.100.7:40007")];
        assert!(settled_without_relay(false, &cone));
        assert!(
            settled_without_relay(false, &cone[..1]),
            "one answer: no sign of a symmetric NAT"
        );
        assert!(!settled_without_relay(false, &symmetric), "needs the relay");
        assert!(!settled_without_relay(false, &[]), "UDP may be blocked");
        assert!(
            !settled_without_relay(true, &cone),
            "the relay was asked for"
        );
        assert!(settled_without_stun(true, true));
        assert!(!settled_without_stun(true, false));
        assert!(!settled_without_stun(false, true));
    }

    #[test]
    fn reason_codes_are_the_documented_ones() {
        // The UI keys its own words on these (docs/app-api.md, `media_route_reason`).
        let codes: Vec<&str> = [
            RelayReason::Forced,
            RelayReason::SymmetricNat,
            RelayReason::UdpBlocked,
        ]
        .map(RelayReason::code)
        .to_vec();
        assert_eq!(codes, ["forced", "symmetric_nat", "udp_blocked"]);
    }

    #[test]
    fn sentences() {
        let u: TurnUri = "turns:203.0.113.5:443?transport=tcp".parse().unwrap();
        assert_eq!(
            describe(MediaRoute::Relay(RelayTransport::Tls), Some(&u), None),
            "Through relay 203.0.113.5 (TLS 443)"
        );
        assert_eq!(
            describe(
                MediaRoute::Relay(RelayTransport::Tls),
                Some(&u),
                Some(RelayReason::UdpBlocked)
            ),
            "Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network"
        );
        assert_eq!(describe(MediaRoute::Direct, None, None), "Direct");
        assert_eq!(
            describe(MediaRoute::Srflx, None, None),
            "Through your router's public address"
        );
    }
}
