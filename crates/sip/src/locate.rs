//! Locating SIP servers (RFC 3263), the sans-IO half.
//!
//! DNS queries are the driver's business (hickory-resolver in `homeline-phone`); this module
//! decides *what* to ask and *in which order* to try the answers:
//!
//! 1. [`plan`] reads the URI: a numeric IP needs no DNS; an explicit port or `transport`
//!    parameter skips NAPTR/SRV (§4.1, §4.2); otherwise NAPTR, then SRV, then A/AAAA.
//! 2. [`srv_queries_from_naptr`] turns NAPTR answers into SRV names (or, without NAPTR,
//!    [`default_srv_queries`] gives the names to try).
//! 3. [`order_srv`] orders SRV answers by priority and weighted-random within a priority
//!    (RFC 2782), with the random source injected.
//! 4. [`Failover`] walks the resulting targets: next target on timeout, transport error or
//!    503 (RFC 3263 §4.3).

use crate::rng::Rng;
use crate::transaction::TransportKind;
use std::net::IpAddr;

/// Why a URI cannot be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// Not a sip/sips URI with a host.
    #[error("not a SIP URI: {0}")]
    BadUri(String),
    /// A transport parameter we do not implement (e.g. sctp).
    #[error("unsupported transport '{0}'")]
    UnsupportedTransport(String),
}

/// One place to send requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP literal to resolve/connect.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: TransportKind,
}

/// What DNS work a URI needs (RFC 3263 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A numeric IP: no DNS at all.
    Direct(Target),
    /// Resolve A/AAAA for the host, then use this port and transport.
    Address(Target),
    /// Look up NAPTR for `domain` (then SRV, then A/AAAA). `secure` for sips URIs.
    Naptr {
        /// The domain.
        domain: String,
        /// Only TLS-based transports are acceptable.
        secure: bool,
    },
}

fn default_port(transport: TransportKind) -> u16 {
    match transport {
        TransportKind::Tls => 5061,
        TransportKind::Ws => 80,
        TransportKind::Wss => 443,
        _ => 5060,
    }
}

fn parse_transport(t: &str) -> Result<TransportKind, LocateError> {
    Ok(match t.to_ascii_lowercase().as_str() {
        "udp" => TransportKind::Udp,
        "tcp" => TransportKind::Tcp,
        "tls" => TransportKind::Tls,
        "ws" => TransportKind::Ws,
        "wss" => TransportKind::Wss,
        other => return Err(LocateError::UnsupportedTransport(other.to_owned())),
    })
}

/// Decides the lookups for `uri` (e.g. `sip:example.com`, `sips:pbx.example.com:5061`,
/// `sip:192.0.2.1;transport=tcp`).
pub fn plan(uri: &str) -> Result<Plan, LocateError> {
    let bad = || LocateError::BadUri(crate::normalize::truncate(uri));
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let (scheme, rest) = uri.split_once(':').ok_or_else(bad)?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "sip" => false,
        "sips" => true,
        _ => return Err(bad()),
    };
    let rest = rest.split('?').next().unwrap_or_default();
    let hostport_params = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let mut parts = hostport_params.split(';');
    let hostport = parts.next().unwrap_or_default();
    // §4.1: maddr overrides the host; transport selects the protocol.
    let mut transport = None;
    let mut maddr = None;
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if k.eq_ignore_ascii_case("transport") {
            transport = Some(parse_transport(v)?);
        } else if k.eq_ignore_ascii_case("maddr") {
            maddr = Some(v.to_owned());
        }
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None => None,
        };
        (h.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (hostport.to_owned(), None),
        }
    };
    let host = maddr.unwrap_or(host);
    if host.is_empty() {
        return Err(bad());
    }
    if secure && transport.is_some_and(|t| !matches!(t, TransportKind::Tls | TransportKind::Wss)) {
        // A sips URI over a non-TLS transport means TLS on that hop (RFC 5630); use TLS.
        transport = Some(TransportKind::Tls);
    }
    let numeric = host.parse::<IpAddr>().is_ok();
    // §4.1: numeric IP or explicit port without transport → UDP for sip, TLS for sips.
    let fallback = if secure {
        TransportKind::Tls
    } else {
        TransportKind::Udp
    };
    if numeric {
        let transport = transport.unwrap_or(fallback);
        return Ok(Plan::Direct(Target {
            port: port.unwrap_or(default_port(transport)),
            host,
            transport,
        }));
    }
    if port.is_some() || transport.is_some() {
        let transport = transport.unwrap_or(fallback);
        return Ok(Plan::Address(Target {
            port: port.unwrap_or(default_port(transport)),
            host,
            transport,
        }));
    }
    Ok(Plan::Naptr {
        domain: host,
        secure,
    })
}

/// A NAPTR answer (only the fields RFC 3263 uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Order (lower first).
    pub order: u16,
    /// Preference within an order (lower first).
    pub preference: u16,
    /// Service, e.g. `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, `SIP+D2W`, `SIPS+D2W`.
    pub service: String,
    /// The SRV name to query next.
    pub replacement: String,
}

/// SRV names to query, in order, from NAPTR answers (§4.1); services we cannot use are
/// skipped, and a sips URI keeps only TLS services.
pub fn srv_queries_from_naptr(records: &[Naptr], secure: bool) -> Vec<(String, TransportKind)> {
    let mut usable: Vec<(&Naptr, TransportKind)> = records
        .iter()
        .filter_map(|r| {
            let t = match r.service.to_ascii_uppercase().as_str() {
                "SIP+D2U" => TransportKind::Udp,
                "SIP+D2T" => TransportKind::Tcp,
                "SIPS+D2T" => TransportKind::Tls,
                "SIP+D2W" => TransportKind::Ws,
                "SIPS+D2W" => TransportKind::Wss,
                _ => return None,
            };
            (!secure || matches!(t, TransportKind::Tls | TransportKind::Wss)).then_some((r, t))
        })
        .collect();
    usable.sort_by_key(|(r, _)| (r.order, r.preference));
    usable
        .into_iter()
        .map(|(r, t)| (r.replacement.trim_end_matches('.').to_owned(), t))
        .collect()
}

/// SRV names to try without NAPTR (§4.1): TLS first for sips; otherwise UDP, TCP, TLS in
/// the order Homeline prefers for a softphone (UDP is what most providers expect).
pub fn default_srv_queries(domain: &str, secure: bool) -> Vec<(String, TransportKind)> {
    if secure {
        return vec![(format!("_sips._tcp.{domain}"), TransportKind::Tls)];
    }
    vec![
        (format!("_sip._udp.{domain}"), TransportKind::Udp),
        (format!("_sip._tcp.{domain}"), TransportKind::Tcp),
        (format!("_sips._tcp.{domain}"), TransportKind::Tls),
    ]
}

/// An SRV answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Priority (lower first).
    pub priority: u16,
    /// Weight within a priority.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host.
    pub target: String,
}

/// Orders SRV answers (RFC 2782): by priority, and within one priority by repeated
/// weighted-random selection (weight 0 entries still get a small chance, first in line).
/// A target of "." means "not available here" and is dropped.
pub fn order_srv(records: &[Srv], transport: TransportKind, rng: &mut Rng) -> Vec<Target> {
    let mut records: Vec<Srv> = records
        .iter()
        .filter(|r| r.target != "." && !r.target.is_empty())
        .cloned()
        .collect();
    records.sort_by_key(|r| (r.priority, r.weight));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let prio = records[0].priority;
        let mut group: Vec<Srv> = Vec::new();
        records.retain(|r| {
            if r.priority == prio {
                group.push(r.clone());
                false
            } else {
                true
            }
        });
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let pick = rng.below(total + 1);
            let mut running = 0u64;
            let mut idx = group.len() - 1;
            for (i, r) in group.iter().enumerate() {
                running += u64::from(r.weight);
                if running >= pick {
                    idx = i;
                    break;
                }
            }
            let r = group.remove(idx);
            out.push(Target {
                host: r.target.trim_end_matches('.').to_owned(),
                port: r.port,
                transport,
            });
        }
    }
    out
}

/// Walks targets in order, moving on when one fails (§4.3).
#[derive(Debug, Clone)]
pub struct Failover {
    targets: Vec<Target>,
    current: usize,
}

impl Failover {
    /// Starts at the first target.
    pub fn new(targets: Vec<Target>) -> Self {
        Self {
            targets,
            current: 0,
        }
    }

    /// The target to use now, `None` when all failed.
    pub fn current(&self) -> Option<&Target> {
        self.targets.get(self.current)
    }

    /// Whether a final response means "try the next server" (§4.3: 503, and a transaction
    /// timeout or transport error, which the transaction layer reports as a synthesised 503
    /// or a Timeout event).
    pub fn is_failover_response(code: u16) -> bool {
        code == 503
    }

    /// The current target failed: move to the next one and return it.
    pub fn fail(&mut self) -> Option<&Target> {
        if self.current < self.targets.len() {
            self.current += 1;
        }
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, port: u16, transport: TransportKind) -> Target {
        Target {
            host: host.into(),
            port,
            transport,
        }
    }

    #[test]
    fn plans_follow_rfc3263_4_1() {
        use TransportKind::*;
        assert_eq!(
            plan("sip:192.0.2.1").unwrap(),
            Plan::Direct(t("192.0.2.1", 5060, Udp))
        );
        assert_eq!(
            plan("sips:[2001:db8::1]").unwrap(),
            Plan::Direct(t("2001:db8::1", 5061, Tls))
        );
        assert_eq!(
            plan("sip:alice@pbx.example.com:6060").unwrap(),
            Plan::Address(t("pbx.example.com", 6060, Udp))
        );
        assert_eq!(
            plan("sip:pbx.example.com;transport=TCP").unwrap(),
            Plan::Address(t("pbx.example.com", 5060, Tcp))
        );
        assert_eq!(
            plan("sip:example.com:443;transport=tls").unwrap(),
            Plan::Address(t("example.com", 443, Tls))
        );
        assert_eq!(
            plan("sip:example.com;maddr=192.0.2.9").unwrap(),
            Plan::Direct(t("192.0.2.9", 5060, Udp))
        );
        assert_eq!(
            plan("sips:example.com").unwrap(),
            Plan::Naptr {
                domain: "example.com".into(),
                secure: true
            }
        );
        assert!(plan("tel:+123").is_err());
        assert!(plan("sip:example.com;transport=sctp").is_err());
        assert!(plan("sip:example.com:99999").is_err());
    }

    #[test]
    fn naptr_order_and_filtering() {
        let recs = vec![
            Naptr {
                order: 50,
                preference: 50,
                service: "SIPS+D2T".into(),
                replacement: "_sips._tcp.example.com.".into(),
            },
            Naptr {
                order: 90,
                preference: 50,
                service: "SIP+D2T".into(),
                replacement: "_sip._tcp.example.com.".into(),
            },
            Naptr {
                order: 10,
                preference: 50,
                service: "SIP+D2U".into(),
                replacement: "_sip._udp.example.com.".into(),
            },
            Naptr {
                order: 5,
                preference: 1,
                service: "SIP+D2S".into(),
                replacement: "_sip._sctp.example.com.".into(),
            },
        ];
        assert_eq!(
            srv_queries_from_naptr(&recs, false),
            vec![
                ("_sip._udp.example.com".into(), TransportKind::Udp),
                ("_sips._tcp.example.com".into(), TransportKind::Tls),
                ("_sip._tcp.example.com".into(), TransportKind::Tcp),
            ]
        );
        assert_eq!(
            srv_queries_from_naptr(&recs, true),
            vec![("_sips._tcp.example.com".into(), TransportKind::Tls)]
        );
    }

    #[test]
    fn srv_priority_then_weight_and_failover() {
        let recs = vec![
            Srv {
                priority: 20,
                weight: 0,
                port: 5060,
                target: "backup.example.com.".into(),
            },
            Srv {
                priority: 10,
                weight: 60,
                port: 5060,
                target: "a.example.com.".into(),
            },
            Srv {
                priority: 10,
                weight: 40,
                port: 5070,
                target: "b.example.com.".into(),
            },
        ];
        let mut rng = Rng::new(3);
        let mut a_first = 0;
        for _ in 0..1000 {
            let order = order_srv(&recs, TransportKind::Udp, &mut rng);
            assert_eq!(order.len(), 3);
            assert_eq!(
                order[2].host, "backup.example.com",
                "priority 20 comes last"
            );
            if order[0].host == "a.example.com" {
                a_first += 1;
            }
        }
        // Weight 60 vs 40: "a" first about 60 % of the time.
        assert!((520..=680).contains(&a_first), "{a_first}");

        let mut f = Failover::new(order_srv(&recs, TransportKind::Udp, &mut rng));
        let first = f.current().unwrap().clone();
        assert!(Failover::is_failover_response(503));
        let second = f.fail().unwrap().clone();
        assert_ne!(first, second);
        assert_eq!(f.fail().unwrap().host, "backup.example.com");
        assert_eq!(f.fail(), None);
        assert_eq!(f.fail(), None);
    }

    #[test]
    fn default_queries() {
        assert_eq!(default_srv_queries("example.com", false).len(), 3);
        assert_eq!(
            default_srv_queries("example.com", true),
            vec![("_sips._tcp.example.com".into(), TransportKind::Tls)]
        );
    }
}
