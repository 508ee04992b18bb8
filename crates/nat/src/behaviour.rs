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
