//! Settings → Network: what the app shows of `[network]` (STUN servers, ICE, `force_relay`,
//! the TURN relays) and how it saves them.
//!
//! A relay's password never crosses to the UI: [`NetworkSettings`] says only whether one is
//! stored. A password set in the app goes to the system keyring under
//! [`TurnServerConfig::keyring_id`] (or session memory when there is no keyring), never to the
//! file or the log; a scripted `password =` in the file moves to the keyring when the app sets
//! a new one. Saving goes through [`Phone::update_config`], which writes the file atomically and
//! hands the new STUN/TURN settings to the running call manager (the next call uses them).

use std::collections::HashSet;

use homeline_nat::{StunUri, TurnUri};
use serde::{Deserialize, Serialize};

use super::config::TurnServerConfig;
use super::probe::RelayReport;
use crate::api::{PasswordStorage, UiError};
use crate::phone::Phone;
use crate::secrets::Secret;

/// One TURN relay as the UI shows it: never the password, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnRelaySettings {
    /// The RFC 7065 URI (`turn:`/`turns:`).
    pub uri: String,
    /// The long-term credential user name.
    pub username: String,
    /// Whether a password is stored for it (in the keyring, session memory or the file).
    pub password_stored: bool,
    /// Where that password is: `keyring`, `session` (no keyring), `config` (the file, for
    /// scripted setups) or `none`.
    pub password_storage: PasswordStorage,
}

/// The global `[network]` settings the app edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSettings {
    /// STUN servers (RFC 7064 URIs).
    pub stun_servers: Vec<String>,
    /// Use ICE with peers that offer it.
    pub ice: bool,
    /// Always send audio through a relay.
    pub force_relay: bool,
    /// The TURN relays, in the order of the file.
    pub turn: Vec<TurnRelaySettings>,
}

/// One TURN relay to save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnRelayInput {
    /// The RFC 7065 URI.
    pub uri: String,
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// `None` keeps the stored password; `Some("")` removes it; anything else replaces it.
    #[serde(default)]
    pub password: Option<Secret>,
}

/// What Settings → Network saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSettingsInput {
    /// STUN servers; blank entries are dropped, the others trimmed.
    #[serde(default)]
    pub stun_servers: Vec<String>,
    /// Use ICE with peers that offer it.
    pub ice: bool,
    /// Always send audio through a relay.
    pub force_relay: bool,
    /// The TURN relays, in order.
    #[serde(default)]
    pub turn: Vec<TurnRelayInput>,
}

/// Ends `s` with a full stop unless it ends with punctuation already.
fn sentence(mut s: String) -> String {
    if !s.ends_with(['.', '…', '!', '?']) {
        s.push('.');
    }
    s
}

fn invalid(message: String, hint: &str) -> UiError {
    UiError::new("invalid_network_setting", message, hint)
}

/// Checks and tidies the input: every URI through the RFC 7064/7065 parsers, no relay twice.
fn validate(input: &NetworkSettingsInput) -> Result<(Vec<String>, Vec<TurnRelayInput>), UiError> {
    let mut stun = Vec::new();
    for s in input.stun_servers.iter().map(|s| s.trim()) {
        if s.is_empty() {
            continue;
        }
        s.parse::<StunUri>().map_err(|e| {
            invalid(
                sentence(format!("This STUN server address is not valid: {e}")),
                "Write each STUN server as stun:host or stun:host:port (for example \
                 stun:stun.example.net:3478), one per line, and save again.",
            )
        })?;
        if !stun.iter().any(|x: &String| x == s) {
            stun.push(s.to_owned());
        }
    }
    let mut turn: Vec<TurnRelayInput> = Vec::new();
    for t in &input.turn {
        let uri = t.uri.trim().to_owned();
        let username = t.username.trim().to_owned();
        if uri.is_empty() && username.is_empty() && t.password.as_ref().is_none_or(Secret::is_empty)
        {
            // An empty row the user added and left blank.
            continue;
        }
        if uri.is_empty() {
            return Err(invalid(
                format!("The relay of user \u{201c}{username}\u{201d} has no address."),
                "Enter the relay's address (for example turns:relay.example.net:443?transport=tcp) \
                 or remove the row, and save again.",
            ));
        }
        uri.parse::<TurnUri>().map_err(|e| {
            invalid(
                sentence(format!("This relay address is not valid: {e}")),
                "Write the relay as turn:host[:port][?transport=udp|tcp] or \
                 turns:host[:port][?transport=tcp] (for example \
                 turns:relay.example.net:443?transport=tcp) and save again.",
            )
        })?;
        if turn.iter().any(|x| x.uri == uri && x.username == username) {
            return Err(invalid(
                format!(
                    "The relay \u{201c}{uri}\u{201d} with user \u{201c}{username}\u{201d} is listed twice."
                ),
                "Remove one of the two rows and save again.",
            ));
        }
        turn.push(TurnRelayInput {
            uri,
            username,
            password: t.password.clone(),
        });
    }
    Ok((stun, turn))
}

impl Phone {
    /// The global network settings, with whether each relay has a password (asking the
    /// keyring, at most one round trip per relay; a keyring that does not answer counts as
    /// "no password" and is logged).
    pub fn network_settings(&self) -> NetworkSettings {
        let network = self.config().network;
        let turn = network
            .turn
            .iter()
            .map(|t| {
                let storage = if t.password.is_some() {
                    PasswordStorage::Config
                } else if self.relay_password_stored(t) {
                    self.secret_store().storage()
                } else {
                    PasswordStorage::None
                };
                TurnRelaySettings {
                    uri: t.uri.clone(),
                    username: t.username.clone(),
                    password_stored: storage != PasswordStorage::None,
                    password_storage: storage,
                }
            })
            .collect();
        NetworkSettings {
            stun_servers: network.stun_servers,
            ice: network.ice,
            force_relay: network.force_relay,
            turn,
        }
    }

    fn relay_password_stored(&self, t: &TurnServerConfig) -> bool {
        match self.secret_store().get(&t.keyring_id()) {
            Ok(found) => found.is_some_and(|p| !p.is_empty()),
            Err(e) => {
                tracing::warn!(relay = %t.uri, error = %e, "could not ask the keyring");
                false
            }
        }
    }

    /// Checks and saves Settings → Network: the file gets the STUN servers, ICE,
    /// `force_relay` and each relay's URI and user; a password typed in the app goes to the
    /// keyring. The running call manager gets the new settings at once (the next call uses
    /// them). Returns the settings as stored.
    pub fn save_network_settings(
        &self,
        input: NetworkSettingsInput,
    ) -> Result<NetworkSettings, UiError> {
        let (stun, relays) = validate(&input)?;
        let before = self.config();
        let store = self.secret_store();
        let mut turn = Vec::new();
        // Keyring entries made for relays new here (taken back if the file cannot be saved).
        let mut added = Vec::new();
        for r in &relays {
            let old = before
                .network
                .turn
                .iter()
                .find(|o| o.uri == r.uri && o.username == r.username);
            let mut entry = TurnServerConfig {
                uri: r.uri.clone(),
                username: r.username.clone(),
                password: old.and_then(|o| o.password.clone()),
            };
            let id = entry.keyring_id();
            match &r.password {
                None => {}
                Some(p) if p.is_empty() => {
                    store
                        .delete(&id)
                        .map_err(|e| UiError::from(&crate::Error::from(e)))?;
                    entry.password = None;
                }
                Some(p) => {
                    store
                        .set(&id, p)
                        .map_err(|e| UiError::from(&crate::Error::from(e)))?;
                    let elsewhere = before
                        .accounts
                        .iter()
                        .flat_map(|a| a.turn.iter().flatten())
                        .any(|o| o.keyring_id() == id);
                    if old.is_none() && !elsewhere {
                        added.push(id.clone());
                    }
                    if store.storage() == PasswordStorage::Keyring && entry.password.is_some() {
                        tracing::info!(relay = %entry.uri, "relay password moved from the configuration file to the keyring");
                        entry.password = None;
                    }
                }
            }
            turn.push(entry);
        }
        let kept = turn.clone();
        let saved = self
            .update_config(move |c| {
                c.network.stun_servers = stun;
                c.network.ice = input.ice;
                c.network.force_relay = input.force_relay;
                c.network.turn = kept;
            })
            .map_err(|e| {
                for id in &added {
                    let _ = store.delete(id);
                }
                UiError::from(&e)
            })?;
        // Passwords of relays no longer listed anywhere are deleted (an account's own list
        // may name the same relay and user: then the password stays).
        let in_use: HashSet<String> = saved
            .network
            .turn
            .iter()
            .chain(saved.accounts.iter().flat_map(|a| a.turn.iter().flatten()))
            .map(TurnServerConfig::keyring_id)
            .collect();
        for gone in before
            .network
            .turn
            .iter()
            .filter(|o| !in_use.contains(&o.keyring_id()))
        {
            if let Err(e) = store.delete(&gone.keyring_id()) {
                tracing::warn!(relay = %gone.uri, error = %e, "could not delete a removed relay's password");
            }
        }
        tracing::info!(
            stun_servers = saved.network.stun_servers.len(),
            relays = saved.network.turn.len(),
            ice = saved.network.ice,
            force_relay = saved.network.force_relay,
            "network settings saved"
        );
        Ok(self.network_settings())
    }

    /// Settings → Network → Test relays: the global relays probed over each transport, ranked
    /// by round trip (the same probe as `homeline relays`). Call inside a tokio runtime.
    pub async fn test_relays(&self) -> Result<RelayReport, UiError> {
        self.probe_relays(None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(stun: &[&str], turn: &[&str]) -> NetworkSettingsInput {
        NetworkSettingsInput {
            stun_servers: stun.iter().map(|s| (*s).to_owned()).collect(),
            ice: true,
            force_relay: false,
            turn: turn
                .iter()
                .map(|u| TurnRelayInput {
                    uri: (*u).to_owned(),
                    username: "u".into(),
                    password: None,
                })
                .collect(),
        }
    }

    #[test]
    fn blank_lines_dropped_and_entries_trimmed() {
        let (stun, turn) = validate(&input(
            &[" stun:a.example ", "", "stun:a.example"],
            &["turn:b.example "],
        ))
        .unwrap();
        assert_eq!(stun, vec!["stun:a.example"]);
        assert_eq!(turn[0].uri, "turn:b.example");
    }

    #[test]
    fn duplicates_and_missing_addresses_are_plain_errors() {
        let e = validate(&input(&[], &["turn:b.example", "turn:b.example"])).unwrap_err();
        assert!(e.message.contains("listed twice"), "{e:?}");
        let mut i = input(&[], &[""]);
        i.turn[0].password = Some(Secret::new("p"));
        let e = validate(&i).unwrap_err();
        assert!(e.message.contains("has no address"), "{e:?}");
    }
}
