//! NAT traversal drivers: tokio sockets and streams around `homeline-nat`'s sans-IO cores.
//!
//! - [`config`]: the `[network]` STUN/TURN settings;
//! - [`relay`]: a TURN allocation over UDP, TCP or TLS (certificate verified against the
//!   built-in roots plus `[network] tls_ca_file`, as for SIP);
//! - [`probe`]: [`probe::probe_relays`], every relay × transport in parallel, ranked by RTT
//!   (what `homeline relays` prints and the relay calls use);
//! - [`settings`]: Settings → Network (relay passwords in the keyring, never in the file);
//! - [`stun`]: the server-reflexive address of a socket, bounded in time.

pub mod config;
pub mod link;
mod phone_api;
pub mod probe;
pub mod relay;
pub mod settings;
pub mod stun;

pub use config::TurnServerConfig;
pub use phone_api::resolve_stun;
pub use probe::{RelayProbe, RelayReport, probe_relays};
pub use relay::{RelayError, RelayTarget};
pub use settings::{NetworkSettings, NetworkSettingsInput, TurnRelayInput, TurnRelaySettings};

use std::path::Path;

/// Warns (once per load) about TURN passwords kept in the configuration file.
pub(crate) fn warn_file_passwords(config: &crate::config::Config, path: &Path) {
    let global = config.network.turn.iter();
    let per_account = config.accounts.iter().flat_map(|a| a.turn.iter().flatten());
    for t in global.chain(per_account) {
        if t.password.is_some() {
            tracing::warn!(
                relay = %t.uri,
                file = %path.display(),
                "the configuration file holds this relay's password; prefer the system \
                 keyring (set the password in Homeline's Settings and it moves there)"
            );
        }
    }
}
