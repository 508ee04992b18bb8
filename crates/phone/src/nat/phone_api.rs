//! [`Phone`]'s relays: which STUN/TURN servers apply to an account, with their passwords,
//! and the relay probe the CLI (`homeline relays`) and the app call.

use std::net::SocketAddr;

use homeline_nat::TurnUri;

use super::config::TurnServerConfig;
use super::probe::{PROBE_LIMIT, RelayReport, probe_relays};
use super::relay::RelayTarget;
use crate::api::UiError;
use crate::phone::Phone;

impl Phone {
    /// The TURN relays that apply to `account` (its own list if it has one, else
    /// `[[network.turn]]`), with passwords from the file or the keyring. A relay without a
    /// password is kept with an empty one (its probe then says so).
    pub fn relay_targets(&self, account: Option<&str>) -> Result<Vec<RelayTarget>, UiError> {
        let config = self.config();
        let list: Vec<TurnServerConfig> = match account {
            None => config.network.turn.clone(),
            Some(id) => {
                let acc = config
                    .accounts
                    .iter()
                    .find(|a| a.id == id || a.display_name.eq_ignore_ascii_case(id))
                    .ok_or_else(|| {
                        UiError::new(
                            "unknown_account",
                            format!("there is no account {id:?}"),
                            "Name an account by its id or display name.",
                        )
                    })?;
                acc.turn.clone().unwrap_or(config.network.turn.clone())
            }
        };
        let mut out = Vec::new();
        for t in list {
            let uri: TurnUri = t.parsed().map_err(|e| {
                UiError::new(
                    "invalid_relay",
                    e.to_string(),
                    "Fix the relay address in Settings → Network.",
                )
            })?;
            let password = match &t.password {
                Some(p) => p.expose().to_owned(),
                None => match self.secret_store().get(&t.keyring_id()) {
                    Ok(Some(p)) => p.expose().to_owned(),
                    Ok(None) => String::new(),
                    Err(e) => {
                        tracing::warn!(relay = %t.uri, error = %e, "could not ask the keyring");
                        String::new()
                    }
                },
            };
            out.push(RelayTarget {
                uri,
                username: t.username.clone(),
                password,
            });
        }
        Ok(out)
    }

    /// The STUN servers that apply to `account` (its own list, else `[network]`), as URIs.
    pub fn stun_servers(&self, account: Option<&str>) -> Vec<String> {
        let config = self.config();
        account
            .and_then(|id| config.accounts.iter().find(|a| a.id == id))
            .and_then(|a| a.stun_servers.clone())
            .unwrap_or(config.network.stun_servers)
    }

    /// Probes every relay of `account` (or the global ones) over each transport in parallel,
    /// each bounded by two seconds, and ranks them by round trip. Call inside a tokio runtime.
    pub async fn probe_relays(&self, account: Option<&str>) -> Result<RelayReport, UiError> {
        let targets = self.relay_targets(account)?;
        let ca = self.config().network.tls_ca_file;
        Ok(probe_relays(&targets, ca.as_deref(), PROBE_LIMIT).await)
    }
}

/// Resolves STUN URIs to addresses (IPv4 first), skipping those that do not resolve in time.
pub async fn resolve_stun(uris: &[String], limit: std::time::Duration) -> Vec<SocketAddr> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    for u in uris {
        if let Ok(s) = u.parse::<homeline_nat::StunUri>()
            && let Ok(a) = super::relay::resolve(&s.host, s.port, deadline).await
        {
            out.push(a);
        }
    }
    out
}
