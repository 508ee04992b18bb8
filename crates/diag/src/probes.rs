//! What the probes observed: the plain data the checks are decided from.
//!
//! The runtime (`homeline-phone`'s diagnostics driver) fills these in from real sockets; the
//! tests fill them in by hand to simulate every kind of network.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::model::SipTransport;

/// What a name was looked up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsPurpose {
    /// The SIP server (NAPTR/SRV/A).
    Sip,
    /// A STUN server.
    Stun,
    /// A TURN relay.
    Turn,
}

/// One name lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsLookup {
    /// The name looked up.
    pub name: String,
    /// What for.
    pub purpose: DnsPurpose,
    /// The addresses found, or the failure in plain words.
    pub result: Result<Vec<SocketAddr>, String>,
    /// How long it took, ms.
    pub elapsed_ms: u64,
}

/// The answer of one STUN server to a binding request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StunOutcome {
    /// It answered with our public address.
    Mapped {
        /// The XOR-MAPPED-ADDRESS.
        mapped: SocketAddr,
        /// Round-trip time, ms.
        rtt_ms: u64,
    },
    /// No answer within the deadline.
    NoAnswer,
    /// Something answered, but not a valid STUN response.
    Garbage {
        /// What was wrong.
        why: String,
    },
    /// Could not even send (name not found, no route).
    Failed {
        /// What went wrong.
        why: String,
    },
}

/// One STUN server's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StunProbe {
    /// The server as configured (`stun:host:port`).
    pub server: String,
    /// What happened.
    pub outcome: StunOutcome,
}

/// What happened to a SIP OPTIONS request on one transport and port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PortOutcome {
    /// The server answered (any SIP status: even 404 or 401 proves the path).
    Answered {
        /// The SIP status code.
        code: u16,
        /// Round-trip time, ms.
        rtt_ms: u64,
    },
    /// TCP/TLS: the connection could not be opened (the request never got through).
    RequestLost,
    /// TCP/TLS connected, but no SIP answer came back; UDP: no answer at all.
    ResponseLost,
    /// The server refused the connection (nothing listens there).
    Refused,
    /// TLS: the server's certificate was refused.
    TlsFailed {
        /// Why, in plain words.
        why: String,
    },
    /// Something answered, but not with SIP.
    Garbage {
        /// What came back.
        why: String,
    },
}

impl PortOutcome {
    /// True when the server answered.
    pub fn works(&self) -> bool {
        matches!(self, PortOutcome::Answered { .. })
    }
}

/// One cell of the transport matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortProbe {
    /// Transport.
    pub transport: SipTransport,
    /// Server port.
    pub port: u16,
    /// What happened.
    pub outcome: PortOutcome,
}

/// What the SIP server echoed about how our request reached it (RFC 3261 §18.2.1, RFC 3581).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViaEcho {
    /// The transport and server port of the request.
    pub transport: SipTransport,
    /// The server port.
    pub server_port: u16,
    /// The sent-by address we wrote in our top Via.
    pub sent_by: SocketAddr,
    /// The sent-by host:port of the top Via in the response.
    pub echoed_sent_by: Option<String>,
    /// The `received` parameter in the response's top Via.
    pub received: Option<IpAddr>,
    /// The `rport` parameter value in the response's top Via.
    pub rport: Option<u16>,
}

/// What the relay probe (A's `probe_relays`) found for one relay and transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayResult {
    /// The relay as configured.
    pub server: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Round-trip time of the allocation, ms, when it worked.
    pub rtt_ms: Option<u64>,
    /// The address the relay saw us from, when it worked.
    pub mapped: Option<SocketAddr>,
    /// Why it failed, in plain words.
    pub error: Option<String>,
    /// The relay prober chose it for calls (its ranking weighs transports, not only RTT).
    #[serde(default)]
    pub used: bool,
}

/// The relay test's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RelayProbe {
    /// No `[[network.turn]]` relay is configured.
    NotConfigured,
    /// Relays are configured but were not tested.
    NotRun {
        /// Why, in plain words.
        why: String,
    },
    /// The relays were tested.
    Tested {
        /// One entry per relay and transport.
        results: Vec<RelayResult>,
    },
}

impl RelayProbe {
    /// The relay calls use: the one the prober chose, else the working one with the lowest
    /// RTT, if any.
    pub fn best(&self) -> Option<&RelayResult> {
        match self {
            RelayProbe::Tested { results } => {
                let working = || {
                    results
                        .iter()
                        .filter(|r| r.error.is_none() && r.rtt_ms.is_some())
                };
                working()
                    .find(|r| r.used)
                    .or_else(|| working().min_by_key(|r| r.rtt_ms))
            }
            _ => None,
        }
    }
}

/// Whether media got through on the call's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RtpOutcome {
    /// Packets went out and answers came back.
    BothWays {
        /// Where to.
        path: String,
        /// Round-trip time, ms.
        rtt_ms: u64,
    },
    /// Packets went out, nothing came back.
    NoAnswer {
        /// Where to.
        path: String,
    },
    /// Not tested, and why.
    NotTested {
        /// Why.
        why: String,
    },
}

/// What the sound devices did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioProbe {
    /// The microphone: its name and peak level (0–1) over the test (`None`: found but not
    /// recorded from), or why it failed.
    pub microphone: Result<(String, Option<f32>), String>,
    /// The speaker: its name, or why it failed to open.
    pub speaker: Result<String, String>,
}

#[cfg(test)]
mod relay_choice_tests {
    use super::*;

    fn result(transport: &str, rtt: u64, used: bool) -> RelayResult {
        RelayResult {
            server: format!("turn:relay.example.net?transport={transport}"),
            transport: transport.into(),
            rtt_ms: Some(rtt),
            mapped: None,
            error: None,
            used,
        }
    }

    #[test]
    fn the_relay_calls_use_is_the_one_the_prober_chose() {
        // TCP answered 1 ms faster, but the prober weighs TCP's head-of-line blocking and
        // chose UDP: the report names what calls will really use.
        let probe = RelayProbe::Tested {
            results: vec![result("udp", 2, true), result("tcp", 1, false)],
        };
        assert_eq!(probe.best().map(|r| r.transport.as_str()), Some("udp"));
        // Without the prober's choice, the lowest round trip.
        let probe = RelayProbe::Tested {
            results: vec![result("udp", 2, false), result("tcp", 1, false)],
        };
        assert_eq!(probe.best().map(|r| r.transport.as_str()), Some("tcp"));
    }
}
