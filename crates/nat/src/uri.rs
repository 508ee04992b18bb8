//! STUN and TURN server URIs (RFC 7064, RFC 7065).
//!
//! ```text
//! stun:host[:port]            stuns:host[:port]                  (RFC 7064 §3.1)
//! turn:host[:port][?transport=udp|tcp]   turns:host[:port][?transport=udp|tcp] (RFC 7065 §3.1)
//! ```
//! Default ports are 3478 for `stun:`/`turn:` and 5349 for `stuns:`/`turns:` (RFC 7064 §3.2,
//! RFC 7065 §3.2). A `turn:` URI without `transport` means UDP, a `turns:` URI means TLS over
//! TCP (`turns:…?transport=udp` would be DTLS, which no client here speaks, so it is refused
//! with a plain error). The grammar is four fields and one parameter; no URI library models
//! the `stun`/`turn` schemes, so the parse is here, strict, and never panics.

use std::fmt;
use std::str::FromStr;

/// Default port of `stun:` and `turn:` (RFC 7064 §3.2).
pub const DEFAULT_PORT: u16 = 3478;
/// Default port of `stuns:` and `turns:` (RFC 7064 §3.2).
pub const DEFAULT_TLS_PORT: u16 = 5349;

/// How the client reaches a TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelayTransport {
    /// TURN over UDP.
    Udp,
    /// TURN over a plain TCP connection (RFC 8656 §12.5 framing).
    Tcp,
    /// TURN over TLS over TCP (`turns:`), certificate verified.
    Tls,
}

impl RelayTransport {
    /// The lower-case name used in JSON and in `media_route` (`relay-udp`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    /// Whether the transport is a byte stream (TCP or TLS) that needs stream framing.
    pub fn is_stream(self) -> bool {
        !matches!(self, Self::Udp)
    }
}

impl fmt::Display for RelayTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        })
    }
}

/// A `stun:`/`stuns:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StunUri {
    /// Host name, IPv4 literal or IPv6 literal (without brackets).
    pub host: String,
    /// Port (the default when the URI names none).
    pub port: u16,
    /// `stuns:` (STUN over TLS). Kept for completeness; bindings here go over UDP only.
    pub secure: bool,
}

/// A `turn:`/`turns:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TurnUri {
    /// Host name, IPv4 literal or IPv6 literal (without brackets).
    pub host: String,
    /// Port (the default when the URI names none).
    pub port: u16,
    /// How to reach the server: UDP, TCP or TLS.
    pub transport: RelayTransport,
    /// The URI as written, for messages and JSON.
    pub original: String,
}

/// Why a STUN/TURN URI was refused. Messages are plain sentences for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The scheme is not `stun:`, `stuns:`, `turn:` or `turns:`.
    #[error(
        "'{0}' is not a STUN or TURN address: it must start with stun:, stuns:, turn: or turns:"
    )]
    Scheme(String),
    /// A STUN URI was given where a TURN URI is needed or the other way round.
    #[error("'{uri}' is a {found} address, but a {expected} address is needed here")]
    WrongKind {
        /// The URI as written.
        uri: String,
        /// What was found (`STUN` or `TURN`).
        found: &'static str,
        /// What is needed.
        expected: &'static str,
    },
    /// No host between the scheme and the port.
    #[error("'{0}' names no server")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("'{0}' has an invalid port (it must be a number from 1 to 65535)")]
    Port(String),
    /// A `transport` value other than `udp`/`tcp`, or an unknown parameter.
    #[error("'{0}' has an unknown parameter: only ?transport=udp or ?transport=tcp is allowed")]
    Parameter(String),
    /// `turns:` with `transport=udp` (DTLS), which is not supported.
    #[error(
        "'{0}' asks for TURN over DTLS, which is not supported: use turns:…?transport=tcp or turn:…"
    )]
    Dtls(String),
    /// RFC 7064 forbids user info (`user@host`) in the URI.
    #[error("'{0}' must not contain a user name: put username and password in their own settings")]
    UserInfo(String),
}

struct Parts<'a> {
    scheme: &'a str,
    host: String,
    port: Option<u16>,
    query: Option<&'a str>,
}

fn split(uri: &str) -> Result<Parts<'_>, UriError> {
    let (scheme, rest) = uri
        .split_once(':')
        .ok_or_else(|| UriError::Scheme(uri.to_owned()))?;
    let scheme_lc = scheme.to_ascii_lowercase();
    let scheme = match scheme_lc.as_str() {
        "stun" => "stun",
        "stuns" => "stuns",
        "turn" => "turn",
        "turns" => "turns",
        _ => return Err(UriError::Scheme(uri.to_owned())),
    };
    // "stun://host" is a frequent slip; RFC 7064 has no authority part.
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    if hostport.contains('@') {
        return Err(UriError::UserInfo(uri.to_owned()));
    }
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        let (h, tail) = after
            .split_once(']')
            .ok_or_else(|| UriError::NoHost(uri.to_owned()))?;
        let port = match tail {
            "" => None,
            t => Some(
                t.strip_prefix(':')
                    .ok_or_else(|| UriError::Port(uri.to_owned()))?,
            ),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() || host.contains(['/', ' ', ':']) && !hostport.starts_with('[') {
        return Err(UriError::NoHost(uri.to_owned()));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(UriError::Port(uri.to_owned())),
        },
    };
    Ok(Parts {
        scheme,
        host: host.to_owned(),
        port,
        query,
    })
}

impl FromStr for StunUri {
    type Err = UriError;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let uri = uri.trim();
        let p = split(uri)?;
        let secure = match p.scheme {
            "stun" => false,
            "stuns" => true,
            _ => {
                return Err(UriError::WrongKind {
                    uri: uri.to_owned(),
                    found: "TURN",
                    expected: "STUN",
                });
            }
        };
        if p.query.is_some() {
            return Err(UriError::Parameter(uri.to_owned()));
        }
        Ok(Self {
            host: p.host,
            port: p.port.unwrap_or(if secure {
                DEFAULT_TLS_PORT
            } else {
                DEFAULT_PORT
            }),
            secure,
        })
    }
}

impl FromStr for TurnUri {
    type Err = UriError;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let uri = uri.trim();
        let p = split(uri)?;
        let secure = match p.scheme {
            "turn" => false,
            "turns" => true,
            _ => {
                return Err(UriError::WrongKind {
                    uri: uri.to_owned(),
                    found: "STUN",
                    expected: "TURN",
                });
            }
        };
        let requested = match p.query {
            None => None,
            Some(q) => match q.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("transport") => {
                    match v.to_ascii_lowercase().as_str() {
                        "udp" => Some(RelayTransport::Udp),
                        "tcp" => Some(RelayTransport::Tcp),
                        _ => return Err(UriError::Parameter(uri.to_owned())),
                    }
                }
                _ => return Err(UriError::Parameter(uri.to_owned())),
            },
        };
        let transport = match (secure, requested) {
            (false, None | Some(RelayTransport::Udp)) => RelayTransport::Udp,
            (false, Some(_)) => RelayTransport::Tcp,
            (true, None | Some(RelayTransport::Tcp | RelayTransport::Tls)) => RelayTransport::Tls,
            (true, Some(RelayTransport::Udp)) => return Err(UriError::Dtls(uri.to_owned())),
        };
        Ok(Self {
            host: p.host,
            port: p.port.unwrap_or(if secure {
                DEFAULT_TLS_PORT
            } else {
                DEFAULT_PORT
            }),
            transport,
            original: uri.to_owned(),
        })
    }
}

impl TurnUri {
    /// `host (TLS 443)`: how the UI names a relay in a sentence.
    pub fn describe(&self) -> String {
        format!("{} ({} {})", self.host, self.transport, self.port)
    }

    /// The same server reached over another transport (the prober tries UDP, TCP and TLS of
    /// each configured relay). The port is kept when the transport family stays the same
    /// (UDP↔TCP share 3478), otherwise the default of the other family is used.
    pub fn with_transport(&self, transport: RelayTransport) -> TurnUri {
        let port = match (
            self.transport == RelayTransport::Tls,
            transport == RelayTransport::Tls,
        ) {
            (a, b) if a == b => self.port,
            (_, true) => DEFAULT_TLS_PORT,
            (_, false) => DEFAULT_PORT,
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let original = match transport {
            RelayTransport::Udp => format!("turn:{host}:{port}"),
            RelayTransport::Tcp => format!("turn:{host}:{port}?transport=tcp"),
            RelayTransport::Tls => format!("turns:{host}:{port}?transport=tcp"),
        };
        TurnUri {
            host: self.host.clone(),
            port,
            transport,
            original,
        }
    }
}

impl fmt::Display for TurnUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Display for StunUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "stuns" } else { "stun" };
        if self.host.contains(':') {
            write!(f, "{scheme}:[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}:{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(s: &str) -> Result<TurnUri, UriError> {
        s.parse()
    }

    #[test]
    fn stun_defaults_and_ports() {
        let u: StunUri = "stun:stun.example.net".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.secure),
            ("stun.example.net", 3478, false)
        );
        let u: StunUri = "stuns:stun.example.net".parse().unwrap();
        assert_eq!((u.port, u.secure), (5349, true));
        let u: StunUri = "STUN:192.0.2.1:19302".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("192.0.2.1", 19302));
        let u: StunUri = "stun:[2001:db8::1]:3479".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", 3479));
        assert_eq!(u.to_string(), "stun:[2001:db8::1]:3479");
    }

    #[test]
    fn turn_transports() {
        assert_eq!(
            turn("turn:t.example").unwrap().transport,
            RelayTransport::Udp
        );
        assert_eq!(turn("turn:t.example").unwrap().port, 3478);
        assert_eq!(
            turn("turn:t.example?transport=udp").unwrap().transport,
            RelayTransport::Udp
        );
        assert_eq!(
            turn("turn:t.example:80?transport=TCP").unwrap().transport,
            RelayTransport::Tcp
        );
        let t = turn("turns:relay.example.net:443?transport=tcp").unwrap();
        assert_eq!((t.transport, t.port), (RelayTransport::Tls, 443));
        assert_eq!(t.describe(), "relay.example.net (TLS 443)");
        let t = turn("turns:relay.example.net").unwrap();
        assert_eq!((t.transport, t.port), (RelayTransport::Tls, 5349));
    }

    #[test]
    fn refusals_are_plain() {
        assert!(matches!(turn("http://x"), Err(UriError::Scheme(_))));
        assert!(matches!(turn("stun:x"), Err(UriError::WrongKind { .. })));
        assert!(matches!(
            "turn:x".parse::<StunUri>(),
            Err(UriError::WrongKind { .. })
        ));
        assert!(matches!(turn("turn:"), Err(UriError::NoHost(_))));
        assert!(matches!(turn("turn:x:0"), Err(UriError::Port(_))));
        assert!(matches!(turn("turn:x:99999"), Err(UriError::Port(_))));
        assert!(matches!(turn("turn:x:abc"), Err(UriError::Port(_))));
        assert!(matches!(
            turn("turn:x?transport=sctp"),
            Err(UriError::Parameter(_))
        ));
        assert!(matches!(
            turn("turn:x?foo=bar"),
            Err(UriError::Parameter(_))
        ));
        assert!(matches!(
            turn("turns:x?transport=udp"),
            Err(UriError::Dtls(_))
        ));
        assert!(matches!(turn("turn:u@x"), Err(UriError::UserInfo(_))));
        assert!(matches!(turn("turn:[::1"), Err(UriError::NoHost(_))));
        let msg = turn("turns:x?transport=udp").unwrap_err().to_string();
        assert!(msg.contains("DTLS"), "{msg}");
    }

    #[test]
    fn other_transports_of_one_relay() {
        let t = turn("turn:198.51.100.7:3478").unwrap();
        let tcp = t.with_transport(RelayTransport::Tcp);
        assert_eq!(
            (tcp.port, tcp.original.as_str()),
            (3478, "turn:198.51.100.7:3478?transport=tcp")
        );
        let tls = t.with_transport(RelayTransport::Tls);
        assert_eq!((tls.port, tls.transport), (5349, RelayTransport::Tls));
        let back: TurnUri = tls.original.parse().unwrap();
        assert_eq!(back, tls);
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            ":",
            "turn:[",
            "turn:]",
            "turn:[]:",
            "turn::",
            "turn:a:b:c",
            "stun:?",
            "turns:??=",
            "turn:x?=",
            "\u{0}:\u{ff}",
        ] {
            let _ = s.parse::<TurnUri>();
            let _ = s.parse::<StunUri>();
        }
    }
}
