//! Locating SIP servers (RFC 3263): from a registrar URI to an ordered list of
//! (transport, address) targets to try in turn.
//!
//! - A literal IP address or an explicit port skips NAPTR and SRV (RFC 3263 §4.1, §4.2).
//! - Otherwise NAPTR records of the domain pick the transports the server prefers (§4.1),
//!   their SRV records the hosts and ports (§4.2); without NAPTR we query the SRV names of the
//!   transports we support directly, and without SRV we use the A/AAAA records of the host
//!   with the default port (5060, 5061 for TLS; 80/443 for WebSocket, RFC 7118).
//! - The account's transport, or a `;transport=` parameter in the URI, restricts the choice.
//! - With the `auto` transport and no NAPTR/SRV records (a literal address, an explicit port,
//!   or plain A/AAAA), UDP comes first and TCP and TLS to the same host follow as fallback
//!   targets (see [`Target::fallback`]), then TLS and TCP on port 443: UDP is often blocked
//!   where TCP gets through, and a network that lets only web traffic out still passes 443.
//!
//! The DNS itself sits behind [`Dns`] so the selection logic is tested without a network;
//! [`HickoryDns`] is the real one.

use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr};

use futures_util::future::BoxFuture;
use homeline_sip::transaction::TransportKind;

/// Why a server could not be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The URI is not `sip:`/`sips:` with a host.
    #[error("the server address {0:?} is not a SIP URI like sip:pbx.example.com")]
    BadUri(String),
    /// DNS gave no usable address.
    #[error("could not find {host} in DNS: {why}")]
    NotFound {
        /// The name looked up.
        host: String,
        /// Why.
        why: DnsFailure,
    },
}

/// Why a DNS lookup failed, in words a person can act on (the resolver's own text goes to the
/// debug log: hickory's carries the debug form of its query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    /// NXDOMAIN: a typo, or a name that was never registered.
    #[error("the name does not exist")]
    NoSuchName,
    /// The name exists but has no address (or no records of the kind asked).
    #[error("the name has no address")]
    NoAddress,
    /// The DNS server did not answer in time.
    #[error("the DNS server did not answer in time")]
    Timeout,
    /// No DNS server could be reached (no network, a firewall).
    #[error("no DNS server could be reached")]
    Unreachable,
    /// The DNS server answered with an error (REFUSED, SERVFAIL …).
    #[error("the DNS server refused or failed the lookup")]
    Refused,
    /// The system has no DNS configuration.
    #[error("this computer has no DNS server set up")]
    NoResolver,
    /// Anything else.
    #[error("the DNS lookup failed")]
    Failed,
}

impl DnsFailure {
    /// A stable code for the UI's catalogs (`why` of a `server_not_found` error).
    pub fn code(self) -> &'static str {
        match self {
            DnsFailure::NoSuchName => "no_such_name",
            DnsFailure::NoAddress => "no_address",
            DnsFailure::Timeout => "timeout",
            DnsFailure::Unreachable => "unreachable",
            DnsFailure::Refused => "refused",
            DnsFailure::NoResolver => "no_resolver",
            DnsFailure::Failed => "failed",
        }
    }
}

/// One place to send requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The transport.
    pub transport: TransportKind,
    /// The address.
    pub addr: SocketAddr,
    /// The host name of the URI (or the IP as text): the TLS server name (RFC 5922 §4) and
    /// the WebSocket `Host`.
    pub host: String,
    /// Not from DNS or the URI but from Homeline's automatic transport fallback: with the
    /// `auto` transport and no NAPTR/SRV records, TCP and TLS to the same host (and on 443)
    /// are tried after UDP (see [`locate`]).
    pub fallback: bool,
}

impl Target {
    /// For messages: `pbx.example.com (192.0.2.7) over UDP port 5060`.
    pub fn describe(&self) -> String {
        let ip = self.addr.ip().to_string();
        if self.host == ip {
            format!(
                "{ip} over {} port {}",
                self.transport.via_token(),
                self.addr.port()
            )
        } else {
            format!(
                "{} ({ip}) over {} port {}",
                self.host,
                self.transport.via_token(),
                self.addr.port()
            )
        }
    }
}

/// A NAPTR record (RFC 3403) reduced to what RFC 3263 §4.1 uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower first.
    pub order: u16,
    /// Lower first among equal `order`.
    pub preference: u16,
    /// `S` for SRV follow-up.
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, `SIP+D2W`, `SIPS+D2W`.
    pub service: String,
    /// The SRV name to query.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower first.
    pub priority: u16,
    /// Higher first among equal priority (see [`order_srv`]).
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Host name.
    pub target: String,
}

/// The DNS queries RFC 3263 needs. An empty answer is `Ok(vec![])`.
pub trait Dns: Send + Sync + Debug {
    /// NAPTR records of `name`.
    fn naptr<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Naptr>, DnsFailure>>;
    /// SRV records of `name` (e.g. `_sip._udp.example.com`).
    fn srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Srv>, DnsFailure>>;
    /// A and AAAA records of `host`.
    fn ips<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsFailure>>;
}

/// The parts of a SIP URI that server location needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUri {
    /// `sips:` (TLS required, RFC 3261 §19.1).
    pub secure: bool,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Explicit port.
    pub port: Option<u16>,
    /// `;transport=` parameter.
    pub transport: Option<TransportKind>,
}

impl ServerUri {
    /// Parses `sip:[user@]host[:port][;params]` or `sips:…`.
    pub fn parse(uri: &str) -> Result<Self, ResolveError> {
        let bad = || ResolveError::BadUri(uri.to_owned());
        let trimmed = uri.trim().trim_start_matches('<').trim_end_matches('>');
        let lower = trimmed.to_ascii_lowercase();
        let (secure, rest) = if lower.starts_with("sips:") {
            (true, &trimmed[5..])
        } else if lower.starts_with("sip:") {
            (false, &trimmed[4..])
        } else {
            return Err(bad());
        };
        let mut parts = rest.split(';');
        let hostport = parts.next().unwrap_or_default();
        let mut transport = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("transport")
            {
                transport = parse_transport(v.trim());
            }
        }
        let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
        let hostport = hostport.split('?').next().unwrap_or_default();
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (ip, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (ip.to_owned(), port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p.parse::<u16>().map_err(|_| bad())?)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            secure,
            host,
            port,
            transport,
        })
    }
}

fn parse_transport(v: &str) -> Option<TransportKind> {
    match v.to_ascii_lowercase().as_str() {
        "udp" => Some(TransportKind::Udp),
        "tcp" => Some(TransportKind::Tcp),
        "tls" => Some(TransportKind::Tls),
        "ws" => Some(TransportKind::Ws),
        "wss" => Some(TransportKind::Wss),
        _ => None,
    }
}

/// The default port of a transport (RFC 3261 §19.1.2, RFC 7118 §7: HTTP's ports).
pub fn default_port(transport: TransportKind) -> u16 {
    match transport {
        TransportKind::Udp | TransportKind::Tcp => 5060,
        TransportKind::Tls => 5061,
        TransportKind::Ws => 80,
        TransportKind::Wss => 443,
    }
}

/// NAPTR service field for a transport (RFC 3263 §4.1, RFC 7118 §8 for WebSocket).
fn naptr_service(service: &str) -> Option<TransportKind> {
    match service.to_ascii_uppercase().as_str() {
        "SIP+D2U" => Some(TransportKind::Udp),
        "SIP+D2T" => Some(TransportKind::Tcp),
        "SIPS+D2T" => Some(TransportKind::Tls),
        "SIP+D2W" => Some(TransportKind::Ws),
        "SIPS+D2W" => Some(TransportKind::Wss),
        _ => None,
    }
}

/// SRV prefix of a transport (RFC 3263 §4.1; `_sips._tcp` for TLS).
fn srv_prefix(transport: TransportKind) -> &'static str {
    match transport {
        TransportKind::Udp => "_sip._udp",
        TransportKind::Tcp => "_sip._tcp",
        TransportKind::Tls => "_sips._tcp",
        TransportKind::Ws => "_sip._ws",
        TransportKind::Wss => "_sips._ws",
    }
}

/// SRV records in the order to try: priority ascending, then weight descending. RFC 2782
/// asks for a weighted random choice among equal priorities; a fixed order keeps failures
/// reproducible and one client gains nothing from spreading load.
pub fn order_srv(mut records: Vec<Srv>) -> Vec<Srv> {
    records.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
    records
}

/// Finds the targets for `uri`. `wanted` is the account's transport (`None` = automatic).
pub async fn locate(
    dns: &dyn Dns,
    uri: &ServerUri,
    wanted: Option<TransportKind>,
) -> Result<Vec<Target>, ResolveError> {
    // An explicit choice wins: the account's transport, then the URI's parameter, then
    // sips: (TLS). Otherwise §4.1 lets DNS decide.
    let forced = wanted
        .or(uri.transport)
        .or(uri.secure.then_some(TransportKind::Tls));
    let allowed = |t: TransportKind| {
        forced.is_none_or(|f| f == t) && (!uri.secure || t != TransportKind::Udp)
    };
    let not_found = |why: DnsFailure| ResolveError::NotFound {
        host: uri.host.clone(),
        why,
    };
    let literal: Option<IpAddr> = uri.host.parse().ok();
    // §4.1/§4.2: a numeric address or an explicit port means no NAPTR/SRV.
    if literal.is_some() || uri.port.is_some() {
        let transport = forced.unwrap_or(TransportKind::Udp);
        let port = uri.port.unwrap_or_else(|| default_port(transport));
        let ips = match literal {
            Some(ip) => vec![ip],
            None => dns.ips(&uri.host).await.map_err(not_found)?,
        };
        if ips.is_empty() {
            return Err(not_found(DnsFailure::NoAddress));
        }
        let targets = ips
            .into_iter()
            .map(|ip| Target {
                transport,
                addr: SocketAddr::new(ip, port),
                host: uri.host.clone(),
                fallback: false,
            })
            .collect();
        return Ok(with_fallbacks(targets, forced));
    }

    let mut targets = Vec::new();
    let mut last_error = None;
    // §4.1: NAPTR first.
    let mut naptrs = match dns.naptr(&uri.host).await {
        Ok(n) => n,
        Err(e) => {
            last_error = Some(e);
            Vec::new()
        }
    };
    naptrs.sort_by(|a, b| a.order.cmp(&b.order).then(a.preference.cmp(&b.preference)));
    let mut srv_names: Vec<(TransportKind, String)> = naptrs
        .iter()
        .filter(|n| n.flags.eq_ignore_ascii_case("s"))
        .filter_map(|n| naptr_service(&n.service).map(|t| (t, n.replacement.clone())))
        .filter(|(t, _)| allowed(*t))
        .collect();
    if srv_names.is_empty() {
        // §4.1: no (usable) NAPTR: query the SRV names of the transports we support, in
        // the order of preference TLS, TCP, UDP for sips: and UDP, TCP, TLS otherwise.
        let order: &[TransportKind] = if uri.secure {
            &[TransportKind::Tls]
        } else {
            &[
                TransportKind::Udp,
                TransportKind::Tcp,
                TransportKind::Tls,
                TransportKind::Ws,
                TransportKind::Wss,
            ]
        };
        srv_names = order
            .iter()
            .filter(|t| allowed(**t))
            .map(|t| (*t, format!("{}.{}", srv_prefix(*t), uri.host)))
            .collect();
    }
    for (transport, name) in srv_names {
        let records = match dns.srv(&name).await {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        for srv in order_srv(records) {
            let host = srv.target.trim_end_matches('.').to_owned();
            match dns.ips(&host).await {
                Ok(ips) => targets.extend(ips.into_iter().map(|ip| Target {
                    transport,
                    addr: SocketAddr::new(ip, srv.port),
                    // The TLS name stays the domain of the URI (RFC 5922 §4.1).
                    host: uri.host.clone(),
                    fallback: false,
                })),
                Err(e) => last_error = Some(e),
            }
        }
    }
    if targets.is_empty() {
        // §4.2: no SRV: A/AAAA of the host itself with the default port.
        let transport = forced.unwrap_or(TransportKind::Udp);
        match dns.ips(&uri.host).await {
            Ok(ips) => targets.extend(ips.into_iter().map(|ip| Target {
                transport,
                addr: SocketAddr::new(ip, default_port(transport)),
                host: uri.host.clone(),
                fallback: false,
            })),
            Err(e) => last_error = Some(e),
        }
        if targets.is_empty() {
            return Err(not_found(last_error.unwrap_or(DnsFailure::NoAddress)));
        }
        return Ok(with_fallbacks(targets, forced));
    }
    Ok(targets)
}

/// The port TLS falls back to (RFC 3261 §26.2.2's default for `sips:`).
pub const FALLBACK_TLS_PORT: u16 = 5061;

/// The port of last resort: where only web traffic gets out, many providers take SIP over
/// TLS (and some over TCP) on 443.
pub const FALLBACK_WEB_PORT: u16 = 443;

/// Automatic transport fallback (issue: "`auto` transport does not fall back to TCP/TLS
/// when UDP is blocked"). With the `auto` transport and no NAPTR/SRV records, RFC 3263
/// §4.1 leaves only UDP, which many networks block. The server may well speak TCP or TLS,
/// so after the UDP targets come TCP to the same addresses and ports, TLS to port
/// [`FALLBACK_TLS_PORT`], then TLS and TCP to [`FALLBACK_WEB_PORT`], each marked
/// [`Target::fallback`]. The driver moves on to them when UDP gets no answer (2.5 s) or is
/// refused, races their connections, and says which transport worked.
fn with_fallbacks(targets: Vec<Target>, forced: Option<TransportKind>) -> Vec<Target> {
    if forced.is_some() || targets.iter().any(|t| t.transport != TransportKind::Udp) {
        return targets;
    }
    let mut out = targets.clone();
    for (transport, fixed_port) in [
        (TransportKind::Tcp, None),
        (TransportKind::Tls, Some(FALLBACK_TLS_PORT)),
        (TransportKind::Tls, Some(FALLBACK_WEB_PORT)),
        (TransportKind::Tcp, Some(FALLBACK_WEB_PORT)),
    ] {
        for t in &targets {
            let port = fixed_port.unwrap_or(t.addr.port());
            let candidate = Target {
                transport,
                addr: SocketAddr::new(t.addr.ip(), port),
                host: t.host.clone(),
                fallback: true,
            };
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
    }
    out
}

/// DNS through hickory-resolver with the system's configuration (and `/etc/hosts`).
#[derive(Debug, Clone)]
pub struct HickoryDns {
    resolver: hickory_resolver::TokioResolver,
}

impl HickoryDns {
    /// A resolver from the system configuration (`/etc/resolv.conf` on Unix).
    pub fn from_system() -> Result<Self, String> {
        let builder =
            hickory_resolver::TokioResolver::builder_tokio().map_err(|e| e.to_string())?;
        let resolver = builder.build().map_err(|e| e.to_string())?;
        Ok(Self { resolver })
    }
}

fn is_empty_answer(e: &hickory_resolver::net::NetError) -> bool {
    // "No records found" is an empty answer, not a failure.
    matches!(
        e,
        hickory_resolver::net::NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(_))
    )
}

/// What a failed lookup means (hickory's own text carries its query's debug form:
/// `no records found for Query { name: Name("pbx.example.") … }`; it goes to the debug log).
fn plain_dns_error(e: &hickory_resolver::net::NetError) -> DnsFailure {
    use hickory_resolver::net::{DnsError, NetError};
    use hickory_resolver::proto::op::ResponseCode;
    tracing::debug!(error = %e, "DNS lookup failed");
    match e {
        NetError::Dns(DnsError::NoRecordsFound(r)) if r.response_code == ResponseCode::NXDomain => {
            DnsFailure::NoSuchName
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => DnsFailure::NoAddress,
        NetError::Dns(DnsError::ResponseCode(_)) => DnsFailure::Refused,
        NetError::Timeout => DnsFailure::Timeout,
        NetError::NoConnections | NetError::Io(_) => DnsFailure::Unreachable,
        _ => DnsFailure::Failed,
    }
}

impl Dns for HickoryDns {
    fn naptr<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Naptr>, DnsFailure>> {
        Box::pin(async move {
            use hickory_resolver::proto::rr::{RData, RecordType};
            match self.resolver.lookup(name, RecordType::NAPTR).await {
                Ok(l) => Ok(l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::NAPTR(n) => Some(Naptr {
                            order: n.order,
                            preference: n.preference,
                            flags: String::from_utf8_lossy(&n.flags).into_owned(),
                            service: String::from_utf8_lossy(&n.services).into_owned(),
                            replacement: n.replacement.to_utf8(),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if is_empty_answer(&e) => Ok(Vec::new()),
                Err(e) => Err(plain_dns_error(&e)),
            }
        })
    }

    fn srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Srv>, DnsFailure>> {
        Box::pin(async move {
            use hickory_resolver::proto::rr::{RData, RecordType};
            match self.resolver.lookup(name, RecordType::SRV).await {
                Ok(l) => Ok(l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::SRV(s) => Some(Srv {
                            priority: s.priority,
                            weight: s.weight,
                            port: s.port,
                            target: s.target.to_utf8(),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if is_empty_answer(&e) => Ok(Vec::new()),
                Err(e) => Err(plain_dns_error(&e)),
            }
        })
    }

    fn ips<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsFailure>> {
        Box::pin(async move {
            self.resolver
                .lookup_ip(host)
                .await
                .map(|l| l.iter().collect())
                .map_err(|e| plain_dns_error(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Default)]
    struct FakeDns {
        naptr: HashMap<String, Vec<Naptr>>,
        srv: HashMap<String, Vec<Srv>>,
        a: HashMap<String, Vec<IpAddr>>,
        queries: std::sync::Mutex<Vec<String>>,
    }

    impl Dns for FakeDns {
        fn naptr<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Naptr>, DnsFailure>> {
            self.queries.lock().unwrap().push(format!("NAPTR {name}"));
            let r = self.naptr.get(name).cloned().unwrap_or_default();
            Box::pin(async move { Ok(r) })
        }
        fn srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<Srv>, DnsFailure>> {
            self.queries.lock().unwrap().push(format!("SRV {name}"));
            let r = self.srv.get(name).cloned().unwrap_or_default();
            Box::pin(async move { Ok(r) })
        }
        fn ips<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsFailure>> {
            self.queries.lock().unwrap().push(format!("A {host}"));
            let r = self.a.get(host).cloned();
            Box::pin(async move { r.ok_or(DnsFailure::NoSuchName) })
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn uri_parsing() {
        let u = ServerUri::parse("sips:alice@[2001:db8::1]:5071;transport=tcp;lr").unwrap();
        assert_eq!(
            u,
            ServerUri {
                secure: true,
                host: "2001:db8::1".into(),
                port: Some(5071),
                transport: Some(TransportKind::Tcp)
            }
        );
        let u = ServerUri::parse("SIP:pbx.example.com").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port),
            (false, "pbx.example.com", None)
        );
        for bad in ["http://x", "sip:", "sip:host:port", "sip:[::1"] {
            assert!(ServerUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_ip_skips_dns_and_uses_default_ports() {
        let dns = FakeDns::default();
        let t = run(locate(
            &dns,
            &ServerUri::parse("sip:192.0.2.7").unwrap(),
            None,
        ))
        .unwrap();
        assert_eq!(t[0].addr, "192.0.2.7:5060".parse().unwrap());
        assert_eq!(t[0].transport, TransportKind::Udp);
        let uri = ServerUri::parse("sips:192.0.2.7").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(
            (t[0].transport, t[0].addr.port()),
            (TransportKind::Tls, 5061)
        );
        let uri = ServerUri::parse("sip:192.0.2.7").unwrap();
        let t = run(locate(&dns, &uri, Some(TransportKind::Wss))).unwrap();
        assert_eq!(
            (t[0].transport, t[0].addr.port()),
            (TransportKind::Wss, 443)
        );
        assert!(dns.queries.lock().unwrap().is_empty());
    }

    fn summary(targets: &[Target]) -> Vec<(TransportKind, String, bool)> {
        targets
            .iter()
            .map(|t| (t.transport, t.addr.to_string(), t.fallback))
            .collect()
    }

    #[test]
    fn auto_without_records_falls_back_to_tcp_then_tls_on_the_same_host() {
        let mut dns = FakeDns::default();
        // Literal address, default port: UDP, then TCP 5060, TLS 5061, TLS and TCP 443.
        let uri = ServerUri::parse("sip:192.0.2.7").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(
            summary(&t),
            vec![
                (TransportKind::Udp, "192.0.2.7:5060".into(), false),
                (TransportKind::Tcp, "192.0.2.7:5060".into(), true),
                (TransportKind::Tls, "192.0.2.7:5061".into(), true),
                (TransportKind::Tls, "192.0.2.7:443".into(), true),
                (TransportKind::Tcp, "192.0.2.7:443".into(), true),
            ]
        );
        assert!(t.iter().all(|t| t.host == "192.0.2.7"));
        // An explicit port is kept for TCP (a server on 443 for blocked networks).
        let uri = ServerUri::parse("sip:[2001:db8::7]:443").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(
            summary(&t),
            vec![
                (TransportKind::Udp, "[2001:db8::7]:443".into(), false),
                (TransportKind::Tcp, "[2001:db8::7]:443".into(), true),
                (TransportKind::Tls, "[2001:db8::7]:5061".into(), true),
                (TransportKind::Tls, "[2001:db8::7]:443".into(), true),
            ]
        );
        // A name without NAPTR/SRV: every address over UDP first, then TCP, then TLS.
        dns.a.insert(
            "pbx.example.net".into(),
            vec![ip("192.0.2.1"), ip("2001:db8::1")],
        );
        let uri = ServerUri::parse("sip:pbx.example.net").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(
            summary(&t),
            vec![
                (TransportKind::Udp, "192.0.2.1:5060".into(), false),
                (TransportKind::Udp, "[2001:db8::1]:5060".into(), false),
                (TransportKind::Tcp, "192.0.2.1:5060".into(), true),
                (TransportKind::Tcp, "[2001:db8::1]:5060".into(), true),
                (TransportKind::Tls, "192.0.2.1:5061".into(), true),
                (TransportKind::Tls, "[2001:db8::1]:5061".into(), true),
                (TransportKind::Tls, "192.0.2.1:443".into(), true),
                (TransportKind::Tls, "[2001:db8::1]:443".into(), true),
                (TransportKind::Tcp, "192.0.2.1:443".into(), true),
                (TransportKind::Tcp, "[2001:db8::1]:443".into(), true),
            ]
        );
    }

    #[test]
    fn no_fallback_when_a_transport_is_chosen_or_dns_names_one() {
        let mut dns = FakeDns::default();
        for (uri, wanted) in [
            ("sip:192.0.2.7", Some(TransportKind::Udp)),
            ("sip:192.0.2.7;transport=udp", None),
            ("sips:192.0.2.7", None),
        ] {
            let t = run(locate(&dns, &ServerUri::parse(uri).unwrap(), wanted)).unwrap();
            assert_eq!(t.len(), 1, "{uri}: {t:?}");
            assert!(!t[0].fallback);
        }
        // SRV says UDP only: DNS decided, we follow it (RFC 3263 §4.1).
        dns.srv.insert(
            "_sip._udp.example.org".into(),
            vec![Srv {
                priority: 1,
                weight: 1,
                port: 5070,
                target: "sip.example.org".into(),
            }],
        );
        dns.a
            .insert("sip.example.org".into(), vec![ip("192.0.2.9")]);
        let uri = ServerUri::parse("sip:example.org").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(
            summary(&t),
            vec![(TransportKind::Udp, "192.0.2.9:5070".into(), false)]
        );
    }

    #[test]
    fn explicit_port_skips_naptr_and_srv() {
        let mut dns = FakeDns::default();
        dns.a
            .insert("pbx.example.com".into(), vec![ip("192.0.2.8")]);
        let uri = ServerUri::parse("sip:pbx.example.com:6060").unwrap();
        let t = run(locate(&dns, &uri, Some(TransportKind::Tcp))).unwrap();
        assert_eq!(t[0].addr, "192.0.2.8:6060".parse().unwrap());
        assert_eq!(*dns.queries.lock().unwrap(), vec!["A pbx.example.com"]);
    }

    #[test]
    fn naptr_then_srv_then_a_in_order() {
        let mut dns = FakeDns::default();
        let naptr = |order, service: &str, repl: &str| Naptr {
            order,
            preference: 10,
            flags: "s".into(),
            service: service.into(),
            replacement: repl.into(),
        };
        dns.naptr.insert(
            "example.com".into(),
            vec![
                naptr(20, "SIP+D2U", "_sip._udp.example.com."),
                naptr(10, "SIPS+D2T", "_sips._tcp.example.com."),
                naptr(30, "E2U+sip", "x"),
            ],
        );
        let srv = |priority, weight, port, target: &str| Srv {
            priority,
            weight,
            port,
            target: target.into(),
        };
        dns.srv.insert(
            "_sips._tcp.example.com.".into(),
            vec![
                srv(20, 0, 5061, "b.example.com."),
                srv(10, 0, 5061, "a.example.com."),
            ],
        );
        dns.srv.insert(
            "_sip._udp.example.com.".into(),
            vec![srv(10, 0, 5070, "a.example.com.")],
        );
        dns.a.insert("a.example.com".into(), vec![ip("192.0.2.1")]);
        dns.a.insert("b.example.com".into(), vec![ip("192.0.2.2")]);
        let uri = ServerUri::parse("sip:example.com").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        let got: Vec<(TransportKind, String)> = t
            .iter()
            .map(|t| (t.transport, t.addr.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (TransportKind::Tls, "192.0.2.1:5061".into()),
                (TransportKind::Tls, "192.0.2.2:5061".into()),
                (TransportKind::Udp, "192.0.2.1:5070".into()),
            ]
        );
        assert!(t.iter().all(|t| t.host == "example.com"));
        // The account's transport filters.
        let t = run(locate(&dns, &uri, Some(TransportKind::Udp))).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].addr.port(), 5070);
    }

    #[test]
    fn no_naptr_tries_srv_names_then_host() {
        let mut dns = FakeDns::default();
        dns.srv.insert(
            "_sip._tcp.example.org".into(),
            vec![Srv {
                priority: 1,
                weight: 1,
                port: 5090,
                target: "sip.example.org".into(),
            }],
        );
        dns.a
            .insert("sip.example.org".into(), vec![ip("192.0.2.9")]);
        dns.a.insert("example.org".into(), vec![ip("192.0.2.10")]);
        let uri = ServerUri::parse("sip:example.org").unwrap();
        let t = run(locate(&dns, &uri, None)).unwrap();
        assert_eq!(t[0].transport, TransportKind::Tcp);
        assert_eq!(t[0].addr, "192.0.2.9:5090".parse().unwrap());
        // No SRV for TLS: the host's own address on 5061.
        let t = run(locate(&dns, &uri, Some(TransportKind::Tls))).unwrap();
        assert_eq!(t[0].addr, "192.0.2.10:5061".parse().unwrap());
        // Nothing at all.
        let uri = ServerUri::parse("sip:nowhere.example").unwrap();
        let e = run(locate(&dns, &uri, None)).unwrap_err();
        assert!(e.to_string().contains("nowhere.example"), "{e}");
    }

    /// A failed lookup is said in words, never as hickory's debug text of its query.
    #[test]
    fn dns_failures_are_plain_words() {
        use hickory_resolver::net::{DnsError, NetError, NoRecords};
        use hickory_resolver::proto::op::{Query, ResponseCode};
        use hickory_resolver::proto::rr::{Name, RecordType};
        let query = Query::query(Name::from_ascii("pbx.example.").unwrap(), RecordType::A);
        let nx = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            query.clone(),
            ResponseCode::NXDomain,
        )));
        // What hickory itself says: the words this test keeps off the screen.
        assert!(nx.to_string().contains("Query {"), "{nx}");
        assert_eq!(plain_dns_error(&nx), DnsFailure::NoSuchName);
        let empty = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            query,
            ResponseCode::NoError,
        )));
        assert!(is_empty_answer(&empty));
        assert_eq!(plain_dns_error(&empty), DnsFailure::NoAddress);
        assert_eq!(plain_dns_error(&NetError::Timeout), DnsFailure::Timeout);
        assert_eq!(
            plain_dns_error(&NetError::NoConnections),
            DnsFailure::Unreachable
        );
        assert_eq!(
            plain_dns_error(&NetError::Dns(DnsError::ResponseCode(
                ResponseCode::Refused
            ))),
            DnsFailure::Refused
        );
        // As the account screen shows it, and the code the catalogs translate.
        let e = ResolveError::NotFound {
            host: "pbx.example".into(),
            why: plain_dns_error(&nx),
        };
        assert_eq!(
            e.to_string(),
            "could not find pbx.example in DNS: the name does not exist"
        );
        assert_eq!(DnsFailure::NoSuchName.code(), "no_such_name");
    }
}
