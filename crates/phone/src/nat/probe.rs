//! `probe_relays`: every configured relay over each of its transports, all in parallel;
//! the working ones ranked by round trip (`homeline_nat::rank_relays`). The CLI's
//! `homeline relays` and (later) the connectivity test call it; calls use the first.
//!
//! Transports tried per relay: the one its URI names, plus, for `turn:` over UDP or TCP, the
//! other of the two on the same port (a TURN server listens on both by default; when UDP is
//! blocked the TCP twin is the way out). A `turns:` URI is tried over TLS only: TLS lives on
//! its own port, which the URI names.

use std::path::Path;
use std::time::Duration;

use homeline_nat::{ProbeOutcome, ProbeSuccess, RelayTransport, TurnUri, rank_relays};
use serde::Serialize;

use super::relay::{RelayError, RelayTarget, probe_once};
use crate::api::UiError;

/// How long one probe (resolve + connect + TLS + allocate) may take.
pub const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// One relay over one transport, as probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayProbe {
    /// The relay URI for this transport (as configured, or its UDP/TCP twin).
    pub uri: String,
    /// The relay's host as configured.
    pub host: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: &'static str,
    /// Whether an allocation succeeded.
    pub works: bool,
    /// Round trip of the first TURN exchange, in ms, when it works.
    pub rtt_ms: Option<u64>,
    /// Resolve + connect (+ TLS handshake) time in ms, when it works.
    pub connect_ms: Option<u64>,
    /// The relayed address the server gave us.
    pub relayed: Option<String>,
    /// Our public address as the relay saw it.
    pub mapped: Option<String>,
    /// Why it does not work, in plain words.
    pub error: Option<UiError>,
    /// Whether calls use this one (the fastest that works).
    pub used: bool,
    /// Position in the fallback order (0 = used), when it works.
    pub rank: Option<usize>,
}

/// What `probe_relays` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    /// Every relay × transport, in configuration order.
    pub relays: Vec<RelayProbe>,
    /// The URI calls use, or `None` when no relay works.
    pub used: Option<String>,
    /// A sentence for people: which relay calls use and why, or why none.
    pub summary: String,
}

fn transports_of(uri: &TurnUri) -> Vec<TurnUri> {
    match uri.transport {
        RelayTransport::Udp => vec![uri.clone(), uri.with_transport(RelayTransport::Tcp)],
        RelayTransport::Tcp => vec![uri.clone(), uri.with_transport(RelayTransport::Udp)],
        RelayTransport::Tls => vec![uri.clone()],
    }
}

/// Probes every relay × transport in parallel (each bounded by `limit`), trusting the built-in
/// roots plus `tls_ca_file` for TLS, and ranks them.
pub async fn probe_relays(
    relays: &[RelayTarget],
    tls_ca_file: Option<&Path>,
    limit: Duration,
) -> RelayReport {
    let tls = crate::sip::tls::client_config(tls_ca_file);
    let mut targets: Vec<RelayTarget> = Vec::new();
    for r in relays {
        for uri in transports_of(&r.uri) {
            if !targets.iter().any(|t| t.uri == uri) {
                targets.push(RelayTarget {
                    uri,
                    username: r.username.clone(),
                    password: r.password.clone(),
                });
            }
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let t = t.clone();
        let tls = tls.clone();
        set.spawn(async move {
            let r = match tls {
                Ok(cfg) => {
                    if t.password.is_empty() {
                        Err(RelayError::NoPassword)
                    } else {
                        probe_once(&t, cfg, limit).await
                    }
                }
                Err(e) => Err(RelayError::Tls(e.to_string())),
            };
            (i, r)
        });
    }
    let mut results: Vec<Option<Result<super::relay::Allocated, RelayError>>> =
        vec![None; targets.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            results[i] = Some(r);
        }
    }
    let outcomes: Vec<ProbeOutcome> = targets
        .iter()
        .zip(&results)
        .map(|(t, r)| ProbeOutcome {
            uri: t.uri.clone(),
            result: match r {
                Some(Ok(a)) => Ok(ProbeSuccess {
                    rtt: a.rtt,
                    relayed: a.relayed,
                    mapped: a.mapped,
                }),
                // The reason is kept beside; ranking only needs "failed".
                _ => Err(homeline_nat::TurnError::NotReady),
            },
        })
        .collect();
    let order = rank_relays(&outcomes);
    let mut probes: Vec<RelayProbe> = targets
        .iter()
        .zip(results)
        .enumerate()
        .map(|(i, (t, r))| {
            let rank = order.iter().position(|&j| j == i);
            let ms = |d: Duration| d.as_millis().try_into().unwrap_or(u64::MAX);
            let base = RelayProbe {
                uri: t.uri.original.clone(),
                host: t.uri.host.clone(),
                transport: t.uri.transport.as_str(),
                works: false,
                rtt_ms: None,
                connect_ms: None,
                relayed: None,
                mapped: None,
                error: None,
                used: rank == Some(0),
                rank,
            };
            match r {
                Some(Ok(a)) => RelayProbe {
                    works: true,
                    rtt_ms: Some(ms(a.rtt)),
                    connect_ms: Some(ms(a.connect)),
                    relayed: Some(a.relayed.to_string()),
                    mapped: a.mapped.map(|m| m.to_string()),
                    ..base
                },
                Some(Err(e)) => RelayProbe {
                    error: Some(UiError::new(e.code(), e.to_string(), e.hint())),
                    ..base
                },
                None => RelayProbe {
                    error: Some(UiError::new(
                        "relay_probe_failed",
                        "the probe of this relay stopped unexpectedly",
                        "Try again.",
                    )),
                    ..base
                },
            }
        })
        .collect();
    probes.shrink_to_fit();
    let used = order.first().map(|&i| targets[i].uri.clone());
    let summary = match &used {
        Some(u) => format!("Calls that need a relay go through {}.", u.describe()),
        None if targets.is_empty() => "No relay is configured.".to_owned(),
        None => "No relay works from this network: calls behind a strict NAT or a firewall \
                 that blocks UDP may have no audio."
            .to_owned(),
    };
    RelayReport {
        relays: probes,
        used: used.map(|u| u.original),
        summary,
    }
}
