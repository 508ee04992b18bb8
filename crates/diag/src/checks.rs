//! The decisions: each check's status, finding, fix and safe fixes from what the probes saw.
//!
//! Every function is pure (no sockets, no clock), so each decision is unit-tested from
//! simulated probe results.

use std::net::{IpAddr, SocketAddr};

use homeline_nat::behaviour::{BehaviourReport, DiscoveryMethod, Filtering, Mapping};
use serde_json::json;

use crate::model::{Check, CheckId, SafeFix, SipTransport, Status};
use crate::probes::{
    AudioProbe, DnsLookup, DnsPurpose, PortOutcome, PortProbe, RelayProbe, RtpOutcome, StunOutcome,
    StunProbe, ViaEcho,
};

/// The lowest keep-alive interval the configuration accepts (`[network] keepalive_secs`).
pub const KEEPALIVE_MIN_SECS: u16 = 20;
/// The highest keep-alive interval the configuration accepts.
pub const KEEPALIVE_MAX_SECS: u16 = 170;

/// `dns`: every name the account and the servers need.
pub fn dns(lookups: &[DnsLookup]) -> Check {
    if lookups.is_empty() {
        return Check::skipped(
            CheckId::Dns,
            "Nothing needed looking up: your servers are given by their numeric addresses.",
        );
    }
    let details = json!({
        "lookups": lookups.iter().map(|l| json!({
            "name": l.name,
            "purpose": l.purpose,
            "addresses": l.result.as_ref().ok(),
            "error": l.result.as_ref().err(),
            "elapsed_ms": l.elapsed_ms,
        })).collect::<Vec<_>>(),
    });
    let failed_sip: Vec<&DnsLookup> = lookups
        .iter()
        .filter(|l| l.purpose == DnsPurpose::Sip && l.result.is_err())
        .collect();
    let failed_other: Vec<&DnsLookup> = lookups
        .iter()
        .filter(|l| l.purpose != DnsPurpose::Sip && l.result.is_err())
        .collect();
    if let Some(l) = failed_sip.first() {
        let why = l.result.as_ref().err().cloned().unwrap_or_default();
        return Check::new(
            CheckId::Dns,
            Status::Problem,
            format!(
                "Your computer cannot find the address of your phone provider's server \"{}\" ({why}).",
                l.name
            ),
        )
        .with_fix(
            "Check that the server name in your account is spelled right. If it is, your \
             internet connection's name service may be down: restart your router or ask your \
             provider for the server's address.",
        )
        .with_details(details)
        .with_reason(format!("the provider's server \"{}\" cannot be found", l.name));
    }
    if !failed_other.is_empty() {
        let names: Vec<&str> = failed_other.iter().map(|l| l.name.as_str()).collect();
        return Check::new(
            CheckId::Dns,
            Status::Warning,
            format!(
                "The helper server{} {} could not be found, so {} cannot help your calls through the router.",
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "it" } else { "they" },
            ),
        )
        .with_fix("Check the STUN and relay server names in Settings → Network.")
        .with_details(details);
    }
    Check::new(CheckId::Dns, Status::Ok, "All server names were found.").with_details(details)
}

/// `udp`: does UDP leave and come back? From every STUN server and, when it was tried, SIP over
/// UDP (`sip_udp_answered`). `relay_works`: a relay was tested and works (over TCP/TLS it
/// carries voice where UDP is blocked), so forcing it is offered as a fix.
pub fn udp(stun: &[StunProbe], sip_udp_answered: Option<bool>, relay_works: bool) -> Check {
    let details = json!({
        "stun": stun,
        "sip_udp_answered": sip_udp_answered,
    });
    let answered = stun
        .iter()
        .filter(|p| matches!(p.outcome, StunOutcome::Mapped { .. }))
        .count();
    let garbage: Vec<&StunProbe> = stun
        .iter()
        .filter(|p| matches!(p.outcome, StunOutcome::Garbage { .. }))
        .collect();
    let tried = stun
        .iter()
        .any(|p| !matches!(p.outcome, StunOutcome::Failed { .. }))
        || sip_udp_answered.is_some();
    if !tried {
        return Check::skipped(
            CheckId::Udp,
            "UDP could not be tested: no STUN server is configured and SIP does not use UDP.",
        )
        .with_fix("Add a STUN server in Settings → Network (your provider names one).")
        .with_details(details);
    }
    let stun_tried = stun
        .iter()
        .any(|p| !matches!(p.outcome, StunOutcome::Failed { .. }));
    if answered == 0 && sip_udp_answered == Some(false) && !stun_tried {
        // Only the provider's server was asked, and it did not answer: that may be the
        // server, not the network.
        return Check::new(
            CheckId::Udp,
            Status::Warning,
            "Whether UDP works could not be confirmed: your provider's server did not answer \
             over UDP and no STUN server is configured to ask instead.",
        )
        .with_fix("Add a STUN server in Settings → Network (your provider names one).")
        .with_details(details);
    }
    if answered == 0 && sip_udp_answered != Some(true) {
        if !garbage.is_empty() && sip_udp_answered.is_none() {
            return Check::new(
                CheckId::Udp,
                Status::Warning,
                format!(
                    "The STUN server {} answered with something that is not STUN, so Homeline \
                     cannot tell whether UDP works.",
                    garbage[0].server
                ),
            )
            .with_fix("Check the STUN server's address and port in Settings → Network.")
            .with_details(details);
        }
        let c = Check::new(
            CheckId::Udp,
            Status::Problem,
            "Your network blocks UDP, the kind of traffic that carries voice. Calls would \
             connect but stay silent.",
        )
        .with_details(details)
        .with_reason("UDP is blocked on your network");
        return if relay_works {
            c.with_fix(
                "Let Homeline reach your provider over TLS and send your voice through the \
                 relay server, or ask whoever runs this network to allow UDP.",
            )
            .with_safe_fix(SafeFix::ForceRelay)
        } else {
            c.with_fix(
                "Ask whoever runs this network to allow UDP, or add a relay (TURN) server \
                 reachable over TCP or TLS from your provider in Settings → Network.",
            )
        };
    }
    if let Some(g) = garbage.first() {
        return Check::new(
            CheckId::Udp,
            Status::Warning,
            format!(
                "UDP works, but the STUN server {} answers with something that is not STUN.",
                g.server
            ),
        )
        .with_fix("Remove or correct that STUN server in Settings → Network.")
        .with_details(details);
    }
    let silent: Vec<&str> = stun
        .iter()
        .filter(|p| !matches!(p.outcome, StunOutcome::Mapped { .. }))
        .map(|p| p.server.as_str())
        .collect();
    if !silent.is_empty() && answered > 0 {
        return Check::new(
            CheckId::Udp,
            Status::Warning,
            format!("UDP works, but {} did not answer.", silent.join(", ")),
        )
        .with_fix("That server may be down; Homeline uses the ones that answer.")
        .with_details(details);
    }
    Check::new(
        CheckId::Udp,
        Status::Ok,
        "UDP, the kind of traffic that carries voice, goes out and comes back.",
    )
    .with_details(details)
}

fn outcome_words(o: &PortOutcome) -> String {
    match o {
        PortOutcome::Answered { code, rtt_ms } => format!("works (answer {code} in {rtt_ms} ms)"),
        PortOutcome::RequestLost => "blocked on the way out".into(),
        PortOutcome::ResponseLost => "no answer came back".into(),
        PortOutcome::Refused => "the server does not listen there".into(),
        PortOutcome::TlsFailed { why } => format!("secure connection refused: {why}"),
        PortOutcome::Garbage { why } => format!("answered, but not with SIP: {why}"),
    }
}

/// `sip_ports`: the transport matrix against the account's server. `configured` is the
/// transport and port the account uses today.
pub fn sip_ports(matrix: &[PortProbe], configured: (SipTransport, u16)) -> Check {
    if matrix.is_empty() {
        return Check::skipped(
            CheckId::SipPorts,
            "The connection to a phone provider was not tested: this account has no server.",
        );
    }
    let details = json!({
        "configured": { "transport": configured.0, "port": configured.1 },
        "matrix": matrix.iter().map(|p| json!({
            "transport": p.transport,
            "port": p.port,
            "works": p.outcome.works(),
            "result": p.outcome,
            "plain": outcome_words(&p.outcome),
        })).collect::<Vec<_>>(),
    });
    let name = |p: &PortProbe| format!("{} port {}", p.transport.label(), p.port);
    let working: Vec<&PortProbe> = matrix.iter().filter(|p| p.outcome.works()).collect();
    let blocked: Vec<&PortProbe> = matrix
        .iter()
        .filter(|p| {
            matches!(
                p.outcome,
                PortOutcome::RequestLost | PortOutcome::ResponseLost
            )
        })
        .collect();
    let own = matrix.iter().find(|p| (p.transport, p.port) == configured);
    let own_works = own.is_some_and(|p| p.outcome.works());
    let blocked_words: Vec<String> = blocked
        .iter()
        .map(|p| format!("{} ({})", name(p), outcome_words(&p.outcome)))
        .collect();

    if working.is_empty() {
        let tls_bad = matrix
            .iter()
            .find(|p| matches!(p.outcome, PortOutcome::TlsFailed { .. }));
        let mut finding =
            "Homeline cannot reach your phone provider's server in any way it tried".to_string();
        if !blocked_words.is_empty() {
            finding.push_str(&format!(": {}", blocked_words.join(", ")));
        }
        finding.push('.');
        if let Some(p) = tls_bad {
            finding.push_str(&format!(" {}: {}.", name(p), outcome_words(&p.outcome)));
        }
        return Check::new(CheckId::SipPorts, Status::Problem, finding)
            .with_fix(
                "Check the server address in your account. If it is right, your network or \
                 your provider blocks the connection: try another network (a phone hotspot) to \
                 tell which, and ask your provider which ports to use.",
            )
            .with_details(details)
            .with_reason("your phone provider's server cannot be reached");
    }
    if own_works {
        let mut c = Check::new(
            CheckId::SipPorts,
            Status::Ok,
            format!(
                "Your phone provider's server answers on {} {}, the way your account connects.",
                configured.0.label(),
                configured.1
            ),
        )
        .with_details(details);
        if !blocked_words.is_empty() {
            c.finding.push_str(&format!(
                " Other ways are blocked, which does not matter today: {}.",
                blocked_words.join(", ")
            ));
        }
        return c;
    }
    // The account's own way fails; pick the best alternative: TLS first (no SIP ALG can touch
    // it, and 443 passes the strictest firewalls), then TCP, then UDP on another port.
    let rank = |p: &PortProbe| match p.transport {
        SipTransport::Tls => 0,
        SipTransport::Tcp => 1,
        SipTransport::Udp => 2,
        SipTransport::Wss => 3,
    };
    let mut alternatives = working.clone();
    alternatives.sort_by_key(|p| (rank(p), p.port == 443));
    let best = alternatives[0];
    let own_words = match own {
        Some(p) => format!("{} ({})", name(p), outcome_words(&p.outcome)),
        None => format!("{} {}", configured.0.label(), configured.1),
    };
    Check::new(
        CheckId::SipPorts,
        Status::Problem,
        format!(
            "The way your account connects to your phone provider is blocked: {own_words}. \
             {} works.",
            name(best)
        ),
    )
    .with_fix(format!(
        "Let Homeline connect over {} on port {} instead.",
        best.transport.label(),
        best.port
    ))
    .with_details(details)
    .with_safe_fix(SafeFix::Transport {
        transport: best.transport,
        port: best.port,
    })
    .with_reason(format!(
        "{} {} to your provider is blocked (the fix switches to {} {})",
        configured.0.label(),
        configured.1,
        best.transport.label(),
        best.port
    ))
}

fn is_cgnat(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 100 && (64..128).contains(&o[1])
        }
        IpAddr::V6(_) => false,
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || is_cgnat(ip),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// `nat_type`: mapping and filtering. `relay_works` says whether some relay worked (the fix for
/// a symmetric NAT), `force_relay` whether calls already go through it.
pub fn nat_type(b: Option<&BehaviourReport>, relay_works: bool, force_relay: bool) -> Check {
    let Some(b) = b else {
        return Check::skipped(
            CheckId::NatType,
            "Your router's type could not be tested: no STUN server is configured.",
        )
        .with_fix("Add a STUN server in Settings → Network (your provider names one).");
    };
    let details = json!({
        "local": b.local,
        "public": b.mapped,
        "mapping": b.mapping.map(Mapping::as_str),
        "filtering": b.filtering.map(Filtering::as_str),
        "method": b.method,
        "servers_answered": b.servers_answered,
        "carrier_grade_nat": b.mapped.is_some_and(|m| is_cgnat(m.ip())),
    });
    let Some(mapped) = b.mapped else {
        return Check::skipped(
            CheckId::NatType,
            "Your router's type could not be tested because no STUN server answered over UDP.",
        )
        .with_details(details);
    };
    if !b.behind_nat() {
        return Check::new(
            CheckId::NatType,
            Status::Ok,
            format!(
                "Your computer has a public address ({}); no router translates it.",
                mapped.ip()
            ),
        )
        .with_details(details);
    }
    let cgnat_note = if is_cgnat(mapped.ip()) || is_private(mapped.ip()) {
        " Your provider puts a second translator in front of your router (double NAT), which makes \
         incoming calls less reliable."
    } else {
        ""
    };
    match b.mapping {
        Some(m) if m.is_symmetric() => {
            let (status, fix) = if force_relay {
                (
                    Status::Warning,
                    "Nothing to do: Homeline already sends your voice through the relay."
                        .to_string(),
                )
            } else if relay_works {
                (
                    Status::Problem,
                    "Let Homeline send your voice through the relay server.".to_string(),
                )
            } else {
                (
                    Status::Problem,
                    "Add a relay (TURN) server from your provider in Settings → Network and let \
                     Homeline send your voice through it, or switch your router to \
                     'endpoint-independent' / 'full cone' NAT if it offers that."
                        .to_string(),
                )
            };
            let mut c = Check::new(
                CheckId::NatType,
                status,
                format!(
                    "Your router gives every destination a different public port (a \"symmetric \
                     NAT\"). The other side cannot send your voice back directly, so calls \
                     would have no sound in one or both directions.{cgnat_note}"
                ),
            )
            .with_fix(fix)
            .with_details(details);
            if !force_relay {
                c = c
                    .with_safe_fix(SafeFix::ForceRelay)
                    .with_reason("your router is a symmetric NAT, so voice needs the relay");
            }
            c
        }
        Some(_) => {
            let filtering = match b.filtering {
                Some(Filtering::EndpointIndependent) => " and lets answers in from anywhere",
                Some(_) => " and only lets answers in from places you contacted first",
                None => "",
            };
            let status = if cgnat_note.is_empty() {
                Status::Ok
            } else {
                Status::Warning
            };
            Check::new(
                CheckId::NatType,
                status,
                format!(
                    "Your router keeps the same public address ({mapped}) for every \
                     destination{filtering}: calls can find their way back.{cgnat_note}"
                ),
            )
            .with_details(details)
        }
        None => {
            let why = match b.method {
                DiscoveryMethod::OneServer => {
                    "only one STUN server answered and it does not support the full test"
                }
                _ => "the servers' answers did not allow a conclusion",
            };
            Check::new(
                CheckId::NatType,
                Status::Warning,
                format!(
                    "Your router translates your address to {mapped}, but whether it is a \
                     symmetric NAT could not be told: {why}."
                ),
            )
            .with_fix("Add a second STUN server in Settings → Network for a complete test.")
            .with_details(details)
        }
    }
}

fn echo_json(e: &ViaEcho) -> serde_json::Value {
    json!({
        "transport": e.transport,
        "server_port": e.server_port,
        "sent_by": e.sent_by,
        "echoed_sent_by": e.echoed_sent_by,
        "received": e.received,
        "rport": e.rport,
    })
}

/// Does this echo show that the request left with a rewritten Via? We are behind a NAT (STUN
/// saw `public`, which is not our local address), yet the server saw the request's Via
/// `sent-by` equal to where the packet came from (no `received`), or echoes a `received`/`rport`
/// equal to our private address (a router rewriting the answer back, as Linux's `nf_nat_sip`
/// does).
fn rewritten(e: &ViaEcho, public: Option<SocketAddr>) -> bool {
    let behind_nat_stun = public.is_some_and(|p| p.ip() != e.sent_by.ip());
    let behind_nat = behind_nat_stun || is_private(e.sent_by.ip());
    if !behind_nat || !matches!(e.transport, SipTransport::Udp | SipTransport::Tcp) {
        return false;
    }
    match e.received {
        None => true,
        Some(r) => r == e.sent_by.ip() && public.is_some_and(|p| p.ip() != r),
    }
}

/// `sip_alg`: does something on the path rewrite SIP? `echoes` are the servers' answers to our
/// OPTIONS on several transports/ports (5060 and others); `public` is STUN's mapped address.
pub fn sip_alg(echoes: &[ViaEcho], public: Option<SocketAddr>) -> Check {
    if echoes.is_empty() {
        return Check::skipped(
            CheckId::SipAlg,
            "Router meddling could not be tested: the provider's server did not answer.",
        )
        .with_details(json!({ "detected": null }));
    }
    let hits: Vec<&ViaEcho> = echoes.iter().filter(|e| rewritten(e, public)).collect();
    let clean: Vec<&ViaEcho> = echoes.iter().filter(|e| !rewritten(e, public)).collect();
    let details = json!({
        "detected": !hits.is_empty(),
        "stun_public": public,
        "echoes": echoes.iter().map(echo_json).collect::<Vec<_>>(),
        "rewritten_on": hits.iter().map(|e| format!("{} {}", e.transport.label(), e.server_port)).collect::<Vec<_>>(),
    });
    if hits.is_empty() {
        return Check::new(
            CheckId::SipAlg,
            Status::Ok,
            "Nothing on the way to your provider changes your phone signalling.",
        )
        .with_details(details);
    }
    let mut ports: Vec<String> = Vec::new();
    for e in &hits {
        let p = e.server_port.to_string();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    let mut c = Check::new(
        CheckId::SipAlg,
        Status::Problem,
        format!(
            "Your router rewrites phone signalling (\"SIP ALG\") on port {}. This causes \
             one-way audio, calls that drop and phones that stop ringing.",
            ports.join(", ")
        ),
    )
    .with_details(details)
    .with_reason("your router rewrites phone signalling (SIP ALG)");
    // A clean path to the same server (another port or TLS) avoids it.
    if let Some(e) = clean.first() {
        c = c
            .with_fix(format!(
                "Switch off \"SIP ALG\" (sometimes \"SIP helper\" or \"SIP passthrough\") in \
                 your router's settings, or let Homeline use {} on port {}, which the router \
                 leaves alone.",
                e.transport.label(),
                e.server_port
            ))
            .with_safe_fix(SafeFix::Transport {
                transport: e.transport,
                port: e.server_port,
            });
    } else {
        c = c.with_fix(
            "Switch off \"SIP ALG\" (sometimes \"SIP helper\" or \"SIP passthrough\") in your \
             router's settings, or use TLS if your provider offers it.",
        );
    }
    c
}

/// The keep-alive interval for a measured binding lifetime: half of it, within what the
/// configuration accepts (20–170 s).
pub fn recommended_keepalive(lifetime_s: u32) -> u16 {
    let half = u16::try_from(lifetime_s / 2).unwrap_or(u16::MAX);
    half.clamp(KEEPALIVE_MIN_SECS, KEEPALIVE_MAX_SECS)
}

/// What the binding-lifetime measurement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifetimeResult {
    /// The mapping survived idle periods up to `survived_s` and was gone after `lifetime_s`
    /// (the lifetime lies between them).
    Measured {
        /// Longest idle time it survived, seconds.
        survived_s: u32,
        /// Shortest idle time it did not survive, seconds.
        lifetime_s: u32,
    },
    /// It survived the longest idle time tried.
    AtLeast {
        /// That time, seconds.
        survived_s: u32,
    },
    /// Not measured, and why.
    NotMeasured(String),
}

/// `nat_timeout`: how long the router keeps an idle mapping against the configured
/// keep-alive (`keepalive_secs`, 0 = off).
pub fn nat_timeout(result: LifetimeResult, keepalive_secs: u16) -> Check {
    match result {
        LifetimeResult::NotMeasured(ref why) => Check::skipped(
            CheckId::NatTimeout,
            format!("How long your router remembers a call was not measured: {why}."),
        ),
        LifetimeResult::AtLeast { survived_s } => {
            let rec = recommended_keepalive(survived_s);
            let details = json!({
                "binding_lifetime_s": null,
                "binding_lifetime_at_least_s": survived_s,
                "recommended_keepalive_s": rec,
                "keepalive_s": keepalive_secs,
            });
            let mut c = Check::new(
                CheckId::NatTimeout,
                Status::Ok,
                format!(
                    "Your router remembers an idle call for at least {survived_s} seconds; \
                     incoming calls will keep arriving."
                ),
            )
            .with_details(details);
            if keepalive_secs == 0 {
                c.status = Status::Warning;
                c.finding.push_str(" But keep-alives are switched off.");
                c = c
                    .with_fix(format!("Switch keep-alives back on (every {rec} seconds)."))
                    .with_safe_fix(SafeFix::KeepAlive { secs: rec });
            }
            c
        }
        LifetimeResult::Measured {
            survived_s,
            lifetime_s,
        } => {
            // The binding lifetime is reported as the idle time it first failed to survive,
            // rounded down to whole seconds by the probe design (RFC 5780 §4.6).
            let rec = recommended_keepalive(survived_s);
            let details = json!({
                "binding_lifetime_s": survived_s,
                "binding_lifetime_upper_s": lifetime_s,
                "recommended_keepalive_s": rec,
                "keepalive_s": keepalive_secs,
            });
            let base =
                format!("Your router forgets an idle call after about {survived_s} seconds.");
            if keepalive_secs == 0 || u32::from(keepalive_secs) >= survived_s {
                let now = if keepalive_secs == 0 {
                    "Keep-alives are switched off".to_string()
                } else {
                    format!("Homeline sends a keep-alive only every {keepalive_secs} seconds")
                };
                return Check::new(
                    CheckId::NatTimeout,
                    Status::Problem,
                    format!(
                        "{base} {now}, so incoming calls will stop arriving a few minutes after \
                         you connect."
                    ),
                )
                .with_fix(format!("Send a keep-alive every {rec} seconds."))
                .with_details(details)
                .with_safe_fix(SafeFix::KeepAlive { secs: rec })
                .with_reason(format!(
                    "your router forgets the line after {survived_s} s, before the next keep-alive"
                ));
            }
            if keepalive_secs > rec {
                return Check::new(
                    CheckId::NatTimeout,
                    Status::Warning,
                    format!(
                        "{base} Homeline's keep-alive every {keepalive_secs} seconds is just in \
                         time, with little to spare."
                    ),
                )
                .with_fix(format!("Send a keep-alive every {rec} seconds to be safe."))
                .with_details(details)
                .with_safe_fix(SafeFix::KeepAlive { secs: rec });
            }
            Check::new(
                CheckId::NatTimeout,
                Status::Ok,
                format!(
                    "{base} Homeline's keep-alive every {keepalive_secs} seconds keeps it open."
                ),
            )
            .with_details(details)
        }
    }
}

/// `route`: the public address seen by STUN, by the SIP server (`received`/`rport`) and by the
/// relay should be the same: otherwise calls take another way than the test (a VPN, a second
/// line).
pub fn route(
    stun_public: Option<SocketAddr>,
    sip_seen: Option<IpAddr>,
    relay_seen: Option<SocketAddr>,
    alg_detected: bool,
) -> Check {
    let details = json!({
        "stun_public": stun_public,
        "sip_received": sip_seen,
        "relay_mapped": relay_seen,
    });
    let mut seen: Vec<(&str, IpAddr)> = Vec::new();
    if let Some(s) = stun_public {
        seen.push(("the STUN server", s.ip()));
    }
    // With a SIP ALG the server's view is the ALG's rewriting, not the route: leave it out.
    if let (Some(s), false) = (sip_seen, alg_detected) {
        seen.push(("your phone provider", s));
    }
    if let Some(s) = relay_seen {
        seen.push(("the relay server", s.ip()));
    }
    if seen.len() < 2 {
        return Check::skipped(
            CheckId::Route,
            "The route of calls could not be compared: fewer than two servers told Homeline \
             where you come from.",
        )
        .with_details(details);
    }
    let first = seen[0];
    if let Some(other) = seen.iter().find(|(_, ip)| *ip != first.1) {
        return Check::new(
            CheckId::Route,
            Status::Warning,
            format!(
                "{} sees you coming from {}, but {} sees {}. Your computer sends traffic two \
                 different ways (a VPN or a second internet line), so a call's voice may go \
                 another way than its signalling and be heard in one direction only.",
                capitalise(first.0),
                first.1,
                other.0,
                other.1
            ),
        )
        .with_fix(
            "If you use a VPN, disconnect it for calls or ask IT to route your phone provider \
             through it too.",
        )
        .with_details(details);
    }
    Check::new(
        CheckId::Route,
        Status::Ok,
        format!(
            "Every server sees you coming from the same address ({}).",
            first.1
        ),
    )
    .with_details(details)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `rtp`: can media flow both ways on the path a call would take?
pub fn rtp(outcome: &RtpOutcome, relay_works: bool) -> Check {
    let details = serde_json::to_value(outcome).unwrap_or_default();
    match outcome {
        RtpOutcome::BothWays { path, rtt_ms } => Check::new(
            CheckId::Rtp,
            Status::Ok,
            format!("Voice packets go out and come back ({path}, {rtt_ms} ms there and back)."),
        )
        .with_details(details),
        RtpOutcome::NoAnswer { path } => {
            let mut c = Check::new(
                CheckId::Rtp,
                Status::Problem,
                format!(
                    "Voice packets go out but nothing comes back ({path}): calls would be silent."
                ),
            )
            .with_details(details)
            .with_reason("voice packets do not come back");
            if relay_works {
                c = c
                    .with_fix("Let Homeline send your voice through the relay server.")
                    .with_safe_fix(SafeFix::ForceRelay);
            } else {
                c = c.with_fix(
                    "Ask whoever runs this network to allow UDP, or add a relay (TURN) server \
                     from your provider in Settings → Network.",
                );
            }
            c
        }
        RtpOutcome::NotTested { why } => Check::skipped(
            CheckId::Rtp,
            format!("The voice path was not tested: {why}."),
        )
        .with_details(details),
    }
}

/// `relays`: each configured TURN relay over each transport.
pub fn relays(probe: &RelayProbe) -> Check {
    let details = serde_json::to_value(probe).unwrap_or_default();
    match probe {
        RelayProbe::NotConfigured => Check::skipped(
            CheckId::Relays,
            "No relay (TURN) server is configured, so none was tested. Most home networks do \
             not need one.",
        )
        .with_details(details),
        RelayProbe::NotRun { why } => Check::new(
            CheckId::Relays,
            Status::Warning,
            format!("A relay server is configured, but no relay test ran: {why}."),
        )
        .with_details(details),
        RelayProbe::Tested { results } => {
            let best = probe.best();
            let failed: Vec<String> = results
                .iter()
                .filter(|r| r.error.is_some())
                .map(|r| {
                    format!(
                        "{} over {} ({})",
                        r.server,
                        r.transport.to_uppercase(),
                        r.error.as_deref().unwrap_or_default()
                    )
                })
                .collect();
            let mut details = details;
            if let (Some(b), Some(obj)) = (best, details.as_object_mut()) {
                obj.insert(
                    "chosen".into(),
                    json!({ "server": b.server, "transport": b.transport, "rtt_ms": b.rtt_ms }),
                );
            }
            match best {
                None => Check::new(
                    CheckId::Relays,
                    Status::Problem,
                    format!("None of the relay servers works: {}.", failed.join("; ")),
                )
                .with_fix(
                    "Check the relay addresses, user names and passwords in Settings → Network.",
                )
                .with_details(details)
                .with_reason("no relay server works"),
                Some(b) => {
                    let mut c = Check::new(
                        CheckId::Relays,
                        if failed.is_empty() {
                            Status::Ok
                        } else {
                            Status::Warning
                        },
                        format!(
                            "Calls would use the relay {} over {} ({} ms there and back).",
                            b.server,
                            b.transport.to_uppercase(),
                            b.rtt_ms.unwrap_or_default()
                        ),
                    )
                    .with_details(details);
                    if !failed.is_empty() {
                        c.finding
                            .push_str(&format!(" These did not work: {}.", failed.join("; ")));
                        c = c.with_fix("Check those relay settings, or remove them.");
                    }
                    c
                }
            }
        }
    }
}

/// `audio`: a microphone that delivers signal and a speaker that opens.
pub fn audio(probe: Option<&AudioProbe>) -> Check {
    let Some(p) = probe else {
        return Check::skipped(CheckId::Audio, "The sound devices were not tested.");
    };
    let details = json!({
        "microphone": p.microphone.as_ref().map(|(n, l)| json!({"name": n, "peak": l})).map_err(|e| e.clone()),
        "speaker": p.speaker,
    });
    let mut troubles = Vec::new();
    match &p.microphone {
        Err(e) => troubles.push(format!("the microphone does not work ({e})")),
        Ok((name, Some(peak))) if *peak <= 0.0 => troubles.push(format!(
            "the microphone \"{name}\" delivers only silence (is it muted?)"
        )),
        Ok(_) => {}
    }
    if let Err(e) = &p.speaker {
        troubles.push(format!("the speaker does not open ({e})"));
    }
    if troubles.is_empty() {
        let finding = match (&p.microphone, &p.speaker) {
            (Ok((mic, None)), Ok(spk)) => format!(
                "A microphone (\"{mic}\") and a speaker (\"{spk}\") are there. The echo test \
                 on the Phone tab lets you hear yourself."
            ),
            _ => "Your microphone picks up sound and your speaker opens.".to_string(),
        };
        return Check::new(CheckId::Audio, Status::Ok, finding).with_details(details);
    }
    Check::new(
        CheckId::Audio,
        Status::Warning,
        format!("On this computer {}.", troubles.join(", and ")),
    )
    .with_fix(
        "Plug in your headset, check that it is not muted, and choose it in Settings → Audio. \
         The echo test on the Phone tab lets you hear yourself.",
    )
    .with_details(details)
}
