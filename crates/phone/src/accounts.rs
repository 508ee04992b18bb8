//! SIP accounts: checking what the user typed, generating ids, and turning the configuration's
//! accounts into what the UI shows.
//!
//! The checks are deliberately about form only (`sip:user@host[:port]`): whether the host
//! answers is the connectivity test's job. Each message names the field and shows the
//! expected form, because it goes straight to the user.
//!
//! Dial rules ([`crate::dialplan`]) add two settings per account: a dial prefix, unique
//! among the accounts ([`check_dial_prefix`], [`check_unique_prefix`]), and whether it is the
//! default account, which at most one account is.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::{AccountInput, Transport};
use crate::config::AccountConfig;

/// Which field of an account is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The display name.
    DisplayName,
    /// The SIP address.
    SipAddress,
    /// The authentication user.
    AuthUser,
    /// The registrar or proxy.
    Registrar,
    /// The dial prefix.
    DialPrefix,
    /// The account id.
    Id,
}

impl Field {
    /// The field's name as the Settings form labels it.
    pub fn label(self) -> &'static str {
        match self {
            Field::DisplayName => "Display name",
            Field::SipAddress => "SIP address",
            Field::AuthUser => "Authentication user",
            Field::Registrar => "Registrar / proxy",
            Field::DialPrefix => "Dial prefix",
            Field::Id => "Account id",
        }
    }
}

/// Errors about accounts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A field does not have the expected form.
    #[error("{}: {reason}", field.label())]
    Invalid {
        /// The field.
        field: Field,
        /// What is wrong, for people.
        reason: String,
    },
    /// Another account already has this dial prefix.
    #[error(
        "{}: {prefix} is already the prefix of \u{201c}{other}\u{201d}; each account needs its own",
        Field::DialPrefix.label()
    )]
    DialPrefixTaken {
        /// The prefix.
        prefix: String,
        /// The display name of the account that has it.
        other: String,
    },
    /// No account has this id.
    #[error("there is no account with the id {0:?}")]
    NotFound(String),
}

fn invalid(field: Field, reason: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks an account id: a non-empty word of letters, digits, `-`, `_` or `.`.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err("an account id must be 1 to 64 characters long".into());
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "the account id {id:?} may only use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// Splits `sip:`/`sips:` off a URI (case-insensitively), or says what is expected.
fn strip_scheme<'a>(s: &'a str, example: &str) -> Result<&'a str, String> {
    let lower = s.get(..5).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower == "sips:" {
        Ok(&s[5..])
    } else if lower.starts_with("sip:") {
        Ok(&s[4..])
    } else {
        Err(format!(
            "{s:?} must start with sip: or sips:, like {example}"
        ))
    }
}

/// Checks `host[:port]`: a domain name, an IPv4 address or a bracketed IPv6 address.
pub(crate) fn check_host_port(hp: &str, whole: &str, example: &str) -> Result<(), String> {
    let bad = || format!("{whole:?} has no valid host name; write it like {example}");
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(bad)?;
        let ip = &rest[..end];
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => ("", Some(p)),
            None if after.is_empty() => ("", None),
            None => return Err(bad()),
        }
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    if !hp.starts_with('[') {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => {}
            _ => {
                return Err(format!(
                    "{whole:?} has an invalid port {p:?}; use a number from 1 to 65535"
                ));
            }
        }
    }
    Ok(())
}

/// Checks a SIP address of record: `sip:user@host[:port]` or `sips:user@host[:port]`.
pub fn check_sip_address(s: &str) -> Result<(), String> {
    const EXAMPLE: &str = "sip:alice@example.com";
    if s.is_empty() {
        return Err(format!("a SIP address is needed, like {EXAMPLE}"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s:?} must not contain spaces"));
    }
    let rest = strip_scheme(s, EXAMPLE)?;
    if rest.contains([';', '?', '>', '<']) {
        return Err(format!(
            "{s:?} has parameters; write only sip:user@host (choose the transport separately)"
        ));
    }
    let (user, hp) = rest
        .rsplit_once('@')
        .ok_or_else(|| format!("{s:?} needs a user name before @, like {EXAMPLE}"))?;
    if user.is_empty() || user.contains(['@', ':']) {
        return Err(format!("{s:?} needs a user name before @, like {EXAMPLE}"));
    }
    check_host_port(hp, s, EXAMPLE)
}

/// Checks a registrar or proxy: empty (none), or `sip:host[:port]` / `sips:host[:port]`.
pub fn check_registrar(s: &str) -> Result<(), String> {
    const EXAMPLE: &str = "sip:pbx.example.com:5060";
    if s.is_empty() {
        return Ok(());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s:?} must not contain spaces"));
    }
    let rest = strip_scheme(s, EXAMPLE)?;
    if rest.contains('@') {
        return Err(format!(
            "{s:?} names a user; a registrar is only sip:host[:port], like {EXAMPLE}"
        ));
    }
    if rest.contains([';', '?', '>', '<']) {
        return Err(format!(
            "{s:?} has parameters; write only sip:host[:port] (choose the transport separately)"
        ));
    }
    check_host_port(rest, s, EXAMPLE)
}

/// The longest dial prefix, in characters.
pub const MAX_DIAL_PREFIX_LEN: usize = 8;

/// Checks a dial prefix: empty (none), or 1 to [`MAX_DIAL_PREFIX_LEN`] of the keys of a phone
/// pad that dial (`0`-`9`, `*`, `#`).
pub fn check_dial_prefix(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.chars().count() > MAX_DIAL_PREFIX_LEN || !s.chars().all(is_prefix_char) {
        return Err(format!(
            "{s:?} is not a dial prefix; use 1 to {MAX_DIAL_PREFIX_LEN} of 0-9, * and #, \
             like 9, or leave it empty"
        ));
    }
    Ok(())
}

fn is_prefix_char(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// Checks that no account but `own_id` has the dial prefix `prefix` (empty is never taken).
pub fn check_unique_prefix(
    prefix: &str,
    own_id: Option<&str>,
    accounts: &[AccountConfig],
) -> Result<(), AccountError> {
    if prefix.is_empty() {
        return Ok(());
    }
    match accounts
        .iter()
        .find(|a| a.dial_prefix == prefix && Some(a.id.as_str()) != own_id)
    {
        Some(other) => Err(AccountError::DialPrefixTaken {
            prefix: prefix.to_string(),
            other: other.display_name.clone(),
        }),
        None => Ok(()),
    }
}

/// An account input after checking: trimmed fields, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAccount {
    /// The display name, trimmed.
    pub display_name: String,
    /// The SIP address, trimmed.
    pub sip_address: String,
    /// The authentication user, trimmed.
    pub auth_user: String,
    /// The registrar, trimmed.
    pub registrar: String,
    /// The transport.
    pub transport: Transport,
    /// The dial prefix, trimmed (empty for none).
    pub dial_prefix: String,
    /// Whether it is to be the default account.
    pub is_default: bool,
}

/// Checks every field of an [`AccountInput`] (not the password, which may be anything).
pub fn validate(input: &AccountInput) -> Result<ValidAccount, AccountError> {
    let display_name = input.display_name.trim();
    if display_name.is_empty() {
        return Err(invalid(
            Field::DisplayName,
            "please enter a name, e.g. your own name or the company's",
        ));
    }
    if display_name.chars().any(char::is_control) || display_name.chars().count() > 100 {
        return Err(invalid(
            Field::DisplayName,
            "use up to 100 characters on one line",
        ));
    }
    let sip_address = input.sip_address.trim();
    check_sip_address(sip_address).map_err(|r| invalid(Field::SipAddress, r))?;
    let auth_user = input.auth_user.trim();
    if auth_user
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            Field::AuthUser,
            "must not contain spaces; leave it empty to use the user of the SIP address",
        ));
    }
    let registrar = input.registrar.trim();
    check_registrar(registrar).map_err(|r| invalid(Field::Registrar, r))?;
    let dial_prefix = input.dial_prefix.trim();
    check_dial_prefix(dial_prefix).map_err(|r| invalid(Field::DialPrefix, r))?;
    Ok(ValidAccount {
        display_name: display_name.to_string(),
        sip_address: sip_address.to_string(),
        auth_user: auth_user.to_string(),
        registrar: registrar.to_string(),
        transport: input.transport,
        dial_prefix: dial_prefix.to_string(),
        is_default: input.is_default,
    })
}

/// A new account id, `acc-` and six hex digits, not in `taken`.
pub fn new_id(taken: &[&str]) -> String {
    let mut salt: u64 = 0;
    loop {
        // RandomState is seeded randomly per process by the standard library; mixing in the
        // time and a counter makes ids differ between calls too. Ids need to be unique, not
        // unguessable.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u64(salt);
        let id = format!("acc-{:06x}", h.finish() & 0xff_ffff);
        if !taken.contains(&id.as_str()) {
            return id;
        }
        salt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_addresses() {
        for ok in [
            "sip:alice@example.com",
            "SIP:alice@example.com",
            "sips:alice@example.com:5061",
            "sip:1001@192.168.1.10",
            "sip:bob@[2001:db8::1]:5060",
            "sip:a.b-c_d@host",
        ] {
            assert_eq!(check_sip_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "alice@example.com",
            "sip:example.com",
            "sip:@example.com",
            "sip:alice@",
            "sip:alice@exa mple.com",
            "sip:alice@example.com:0",
            "sip:alice@example.com:99999",
            "sip:alice@example.com;transport=tcp",
            "sip:alice@-bad.com",
            "tel:+123",
            "sip:alice@[::zz]",
        ] {
            assert!(check_sip_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registrars() {
        for ok in [
            "",
            "sip:pbx.example.com",
            "sips:pbx.example.com:5061",
            "sip:10.0.0.1:5080",
        ] {
            assert_eq!(check_registrar(ok), Ok(()), "{ok}");
        }
        for bad in [
            "pbx.example.com",
            "sip:a@pbx.example.com",
            "sip:pbx:abc",
            "http://x",
        ] {
            assert!(check_registrar(bad).is_err(), "{bad}");
        }
    }

    fn input() -> AccountInput {
        AccountInput {
            id: None,
            display_name: "  Alice  ".into(),
            sip_address: " sip:alice@example.com ".into(),
            auth_user: String::new(),
            registrar: String::new(),
            transport: Transport::Auto,
            password: None,
            dial_prefix: String::new(),
            is_default: false,
        }
    }

    #[test]
    fn validate_trims_and_names_fields() {
        let v = validate(&input()).unwrap();
        assert_eq!(v.display_name, "Alice");
        assert_eq!(v.sip_address, "sip:alice@example.com");
        let e = validate(&AccountInput {
            display_name: " ".into(),
            ..input()
        })
        .unwrap_err();
        assert!(matches!(
            e,
            AccountError::Invalid {
                field: Field::DisplayName,
                ..
            }
        ));
        let e = validate(&AccountInput {
            registrar: "pbx".into(),
            ..input()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("Registrar / proxy:"), "{e}");
        let e = validate(&AccountInput {
            auth_user: "a b".into(),
            ..input()
        })
        .unwrap_err();
        assert!(matches!(
            e,
            AccountError::Invalid {
                field: Field::AuthUser,
                ..
            }
        ));
    }

    #[test]
    fn dial_prefixes() {
        for ok in ["", "9", "0", "*", "#", "*31#", "12345678"] {
            assert_eq!(check_dial_prefix(ok), Ok(()), "{ok}");
        }
        for bad in ["123456789", "a", "9 ", "+9", "9-", "١"] {
            let e = check_dial_prefix(bad).unwrap_err();
            assert!(e.contains("0-9, * and #"), "{bad}: {e}");
        }
        let v = validate(&AccountInput {
            dial_prefix: " 9 ".into(),
            is_default: true,
            ..input()
        })
        .unwrap();
        assert_eq!(v.dial_prefix, "9");
        assert!(v.is_default);
        let e = validate(&AccountInput {
            dial_prefix: "9x".into(),
            ..input()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("Dial prefix: "), "{e}");
    }

    #[test]
    fn dial_prefix_must_be_unique() {
        let account = |id: &str, name: &str, prefix: &str| AccountConfig {
            id: id.into(),
            display_name: name.into(),
            sip_address: "sip:a@example.com".into(),
            auth_user: String::new(),
            registrar: String::new(),
            transport: Transport::Auto,
            password: None,
            dial_prefix: prefix.into(),
            is_default: false,
            media_encryption: crate::config::MediaEncryption::default(),
            stun_servers: None,
            turn: None,
            voicemail_number: String::new(),
        };
        let all = [
            account("a1", "Office", "9"),
            account("a2", "Home", ""),
            account("a3", "Mobile", "90"),
        ];
        assert_eq!(check_unique_prefix("9", Some("a1"), &all), Ok(()));
        assert_eq!(check_unique_prefix("8", None, &all), Ok(()));
        assert_eq!(check_unique_prefix("", Some("a2"), &all), Ok(()));
        let e = check_unique_prefix("9", Some("a2"), &all).unwrap_err();
        assert_eq!(
            e,
            AccountError::DialPrefixTaken {
                prefix: "9".into(),
                other: "Office".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "Dial prefix: 9 is already the prefix of \u{201c}Office\u{201d}; each account needs \
             its own"
        );
        assert!(check_unique_prefix("90", None, &all).is_err());
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let a = new_id(&[]);
        let b = new_id(&[a.as_str()]);
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), 10);
            assert!(id.starts_with("acc-"));
            assert!(id[4..].chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(check_id(id), Ok(()));
        }
        assert!(check_id("").is_err());
        assert!(check_id("a b").is_err());
    }
}
