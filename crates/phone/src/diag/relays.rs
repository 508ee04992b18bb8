//! The connectivity test's `relays` check on the NAT traversal's relay probe: every configured
//! TURN relay over each transport in parallel, bounded (see [`crate::nat::probe_relays`]).

use std::path::PathBuf;
use std::sync::Arc;

use homeline_diag::probes::{RelayProbe, RelayResult};

use super::RelayHook;
use crate::nat::probe::PROBE_LIMIT;
use crate::nat::{RelayReport, RelayTarget, probe_relays};

/// A relay hook over `targets` (with their passwords already looked up), or `None` when there
/// is no relay to test. `tls_ca_file` is trusted for `turns:` as for SIP.
pub fn relay_hook(targets: Vec<RelayTarget>, tls_ca_file: Option<PathBuf>) -> Option<RelayHook> {
    if targets.is_empty() {
        return None;
    }
    Some(Arc::new(move |_config| {
        let targets = targets.clone();
        let ca = tls_ca_file.clone();
        Some(Box::pin(async move {
            let report = probe_relays(&targets, ca.as_deref(), PROBE_LIMIT).await;
            as_probe(&report)
        }))
    }))
}

/// The relay probe's report in the connectivity test's terms.
fn as_probe(report: &RelayReport) -> RelayProbe {
    let results = report
        .relays
        .iter()
        .map(|r| RelayResult {
            server: r.uri.clone(),
            transport: r.transport.to_string(),
            rtt_ms: if r.works { r.rtt_ms } else { None },
            mapped: r.mapped.as_deref().and_then(|m| m.parse().ok()),
            error: r
                .error
                .as_ref()
                .map(|e| format!("{} {}", e.message, e.hint).trim().to_string()),
            used: r.used,
        })
        .collect();
    RelayProbe::Tested { results }
}
