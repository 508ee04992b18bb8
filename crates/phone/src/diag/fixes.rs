//! The safe fixes, written to the configuration file atomically (the config writer's
//! temporary file + rename), and undone by writing back the values they replaced.

use std::path::Path;

use homeline_diag::{AppliedFix, CheckId, SafeFix, SipTransport};

use crate::api::Transport;
use crate::config::{self, Config};
use crate::sip::resolve::ServerUri;

fn transport_of(t: SipTransport) -> Transport {
    match t {
        SipTransport::Udp => Transport::Udp,
        SipTransport::Tcp => Transport::Tcp,
        SipTransport::Tls => Transport::Tls,
        SipTransport::Wss => Transport::Wss,
    }
}

fn load(path: &Path) -> Result<Config, String> {
    config::check(path)
        .map(|c| c.config)
        .map_err(|p| format!("the configuration file cannot be changed because it is broken: {p}"))
}

/// Applies `fixes` for the account `account_id` to the file at `path`. Returns what changed
/// and the configuration as it was before (for [`undo_fixes`]).
pub fn apply_fixes(
    path: &Path,
    account_id: Option<&str>,
    fixes: &[(CheckId, SafeFix)],
) -> Result<(Vec<AppliedFix>, Config), String> {
    let before = load(path)?;
    let mut cfg = before.clone();
    let mut applied = Vec::new();
    for (check, fix) in fixes {
        let description = match fix {
            SafeFix::KeepAlive { secs } => {
                let old = cfg.network.keepalive_secs;
                if old == *secs {
                    continue;
                }
                cfg.network.keepalive_secs = *secs;
                format!("keep-alive every {secs} s (was {old} s)")
            }
            SafeFix::ForceRelay => {
                if cfg.network.force_relay {
                    continue;
                }
                cfg.network.force_relay = true;
                "voice always goes through the relay (force_relay = true)".to_string()
            }
            SafeFix::Transport { transport, port } => {
                let Some(acc) = cfg
                    .accounts
                    .iter_mut()
                    .find(|a| Some(a.id.as_str()) == account_id)
                else {
                    continue;
                };
                let Ok(uri) = ServerUri::parse(&acc.registrar) else {
                    continue;
                };
                let host = if uri.host.contains(':') {
                    format!("[{}]", uri.host)
                } else {
                    uri.host.clone()
                };
                let registrar = format!("sip:{host}:{port}");
                let old = format!("{} over {:?}", acc.registrar, acc.transport);
                acc.registrar = registrar.clone();
                acc.transport = transport_of(*transport);
                format!(
                    "account \"{}\" reaches {registrar} over {} (was {old})",
                    acc.display_name,
                    transport.label()
                )
            }
        };
        applied.push(AppliedFix {
            check: *check,
            fix: fix.clone(),
            description,
        });
    }
    if !applied.is_empty() {
        config::save(path, &cfg)
            .map_err(|e| format!("the configuration could not be saved: {e}"))?;
    }
    Ok((applied, before))
}

/// Puts back what [`apply_fixes`] changed: the keep-alive, the relay setting and the
/// account's server and transport, as they were in `before` (other edits made since are
/// kept).
pub fn undo_fixes(path: &Path, before: &Config, applied: &[AppliedFix]) -> Result<(), String> {
    let mut cfg = load(path)?;
    for a in applied {
        match &a.fix {
            SafeFix::KeepAlive { .. } => cfg.network.keepalive_secs = before.network.keepalive_secs,
            SafeFix::ForceRelay => cfg.network.force_relay = before.network.force_relay,
            SafeFix::Transport { .. } => {
                for acc in &mut cfg.accounts {
                    if let Some(old) = before.accounts.iter().find(|b| b.id == acc.id) {
                        acc.registrar = old.registrar.clone();
                        acc.transport = old.transport;
                    }
                }
            }
        }
    }
    config::save(path, &cfg).map_err(|e| format!("the configuration could not be saved: {e}"))
}
