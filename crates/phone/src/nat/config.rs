//! The NAT traversal settings: `[network] stun_servers`, `ice`, `force_relay`,
//! `[[network.turn]]`, and the per-account `stun_servers`/`turn` that replace the global ones.
//!
//! URIs are checked when the file is read (RFC 7064/7065 via `homeline_nat::uri`), so a typo
//! is a plain configuration error naming the line, not a silent "no relay" during a call.
//! `stun_servers` stays a list of URI strings (other modules read it as `Vec<String>`).

use homeline_nat::{StunUri, TurnUri};
use serde::{Deserialize, Deserializer, Serialize};

use crate::secrets::Secret;

/// `[[network.turn]]` (or `[[accounts.turn]]`): one TURN relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnServerConfig {
    /// `turn:host[:port][?transport=udp|tcp]` or `turns:host[:port][?transport=tcp]`.
    #[serde(deserialize_with = "deserialize_turn_uri")]
    pub uri: String,
    /// The long-term credential user name.
    #[serde(default)]
    pub username: String,
    /// The password, for headless and scripted use only: accepted with a warning (the app
    /// keeps relay passwords in the system keyring, under [`TurnServerConfig::keyring_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl TurnServerConfig {
    /// The parsed URI (checked when the file was read, so this only fails for values built
    /// in code).
    pub fn parsed(&self) -> Result<TurnUri, homeline_nat::UriError> {
        self.uri.parse()
    }

    /// The keyring entry that holds this relay's password: one per URI and user.
    pub fn keyring_id(&self) -> String {
        format!("turn:{}@{}", self.username, self.uri)
    }
}

/// Checks every URI of a `stun_servers` list.
pub fn deserialize_stun_uris<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for s in &list {
        s.parse::<StunUri>().map_err(serde::de::Error::custom)?;
    }
    Ok(list)
}

/// The same for an account's optional list.
pub fn deserialize_opt_stun_uris<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    deserialize_stun_uris(d).map(Some)
}

fn deserialize_turn_uri<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<TurnUri>().map_err(serde::de::Error::custom)?;
    Ok(s)
}

/// `true`, the default of `ice`.
pub fn default_true() -> bool {
    true
}

/// Whether a bool is `true` (for `skip_serializing_if`).
pub fn is_true(b: &bool) -> bool {
    *b
}

/// Whether a bool is `false` (for `skip_serializing_if`).
pub fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn network_keys_and_account_overrides() {
        let c = parse(
            "version = 1\n[network]\nstun_servers = [\"stun:stun.example.net:3478\"]\n\
             force_relay = true\n\
             [[network.turn]]\nuri = \"turns:relay.example.net:443?transport=tcp\"\n\
             username = \"u\"\npassword = \"p\"\n\
             [[accounts]]\nid = \"a1\"\ndisplay_name = \"A\"\nsip_address = \"sip:a@example.com\"\n\
             stun_servers = [\"stun:192.0.2.1\"]\n\
             [[accounts.turn]]\nuri = \"turn:192.0.2.9\"\nusername = \"x\"\n",
        )
        .unwrap();
        assert_eq!(c.network.stun_servers, vec!["stun:stun.example.net:3478"]);
        assert!(c.network.ice, "ice defaults to true");
        assert!(c.network.force_relay);
        assert_eq!(c.network.turn.len(), 1);
        assert_eq!(
            c.network.turn[0]
                .password
                .as_ref()
                .map(|p| p.expose().to_owned()),
            Some("p".to_owned())
        );
        let acc = &c.accounts[0];
        assert_eq!(
            acc.stun_servers.as_deref(),
            Some(&["stun:192.0.2.1".to_owned()][..])
        );
        let turn = acc.turn.as_ref().unwrap();
        assert_eq!(turn[0].uri, "turn:192.0.2.9");
        assert!(turn[0].password.is_none());
        assert_eq!(turn[0].keyring_id(), "turn:x@turn:192.0.2.9");
        // Defaults are not written back (the file stays as the user wrote it).
        let plain = toml::to_string(&Config::default()).unwrap();
        assert!(!plain.contains("ice"), "{plain}");
        assert!(!plain.contains("turn"), "{plain}");
    }

    #[test]
    fn bad_uris_are_plain_errors() {
        let e = parse("version = 1\n[network]\nstun_servers = [\"turn:x\"]\n").unwrap_err();
        assert!(e.contains("a STUN address is needed"), "{e}");
        let e = parse(
            "version = 1\n[[network.turn]]\nuri = \"turns:x?transport=udp\"\nusername = \"u\"\n",
        )
        .unwrap_err();
        assert!(e.contains("DTLS"), "{e}");
        let e =
            parse("version = 1\n[[network.turn]]\nuri = \"turn:x\"\nuser = \"u\"\n").unwrap_err();
        assert!(e.contains("user"), "{e}");
    }
}
