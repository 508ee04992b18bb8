//! Dial rules: what a typed target calls, and from which account.
//!
//! [`resolve`] is a pure function of the target and the accounts, so the dialer can show
//! what will happen ([`DialPreview`]) while the user types, and the call manager dials
//! exactly that. The rules, in order:
//!
//! 1. `echo` (any case) is the built-in echo line.
//! 2. A `sip:`/`sips:` URI, or `user@host` (read as `sip:user@host`), is called as written:
//!    through the account whose domain (the host of its SIP address) or registrar host is the
//!    URI's host, else as a direct call with no account.
//! 3. A number or a `tel:` URI: the visual separators ` -.()/` are dropped; the longest dial
//!    prefix it starts with picks that account and is stripped (`9` + `0301234` calls
//!    `0301234`); without one, the default account calls it (the one marked `is_default`,
//!    else the first account with a registrar). The number becomes `sip:<number>@<domain of
//!    the account>`. Numbers need a registrar: an account without one makes direct calls only.
//!
//! Anything else is an `invalid_number` [`UiError`] with a hint saying what can be dialled.

use crate::api::{Account, DialPreview, UiError};

/// What to type for the echo line, and the `uri` of its [`DialPreview`].
pub const ECHO_TARGET: &str = "echo";
/// The `account_name` of the echo line.
pub const ECHO_NAME: &str = "Echo test";
/// The `account_name` of a direct call.
pub const DIRECT_NAME: &str = "Direct call";

/// Characters people type to make numbers readable; they are dropped.
const SEPARATORS: [char; 6] = [' ', '-', '.', '(', ')', '/'];
const URI_EXAMPLE: &str = "sip:bob@example.com";

/// Why a target cannot be called. Becomes an `invalid_number` [`UiError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// Nothing was typed.
    #[error("there is nothing to call")]
    Empty,
    /// Neither a number nor a SIP address.
    #[error("\u{201c}{0}\u{201d} is not a phone number or a SIP address")]
    NotDialable(String),
    /// A `sip:` URI of the wrong form.
    #[error("{0}")]
    BadUri(String),
    /// Only an account's prefix was typed.
    #[error("{prefix} is the dial prefix of \u{201c}{account}\u{201d}, but no number follows it")]
    OnlyPrefix {
        /// The prefix.
        prefix: String,
        /// The account's name.
        account: String,
    },
    /// There are no accounts.
    #[error("no account to call this number from")]
    NoAccount,
    /// No account has a registrar, and none is marked default.
    #[error("no account to call this number from: none of your accounts has a registrar")]
    NoRegistrar,
    /// The account chosen for a number has a SIP address that is not one (the accounts are
    /// checked when saved and loaded, so only a caller passing unchecked ones sees this).
    #[error("the SIP address of \u{201c}{0}\u{201d} is not valid")]
    BadAccount(String),
    /// The account chosen for a number has no registrar.
    #[error(
        "\u{201c}{account}\u{201d} makes direct calls only, so it cannot call the number {number}"
    )]
    DirectOnly {
        /// The account's name.
        account: String,
        /// The number, its prefix stripped.
        number: String,
        /// The dial prefix that chose the account; `None` when it is the default account.
        prefix: Option<String>,
    },
}

impl From<&DialError> for UiError {
    fn from(e: &DialError) -> Self {
        let anything = format!(
            "Type a phone number, a SIP address like {URI_EXAMPLE}, or {ECHO_TARGET} to test \
             your sound."
        );
        let hint = match e {
            DialError::Empty | DialError::NotDialable(_) => anything,
            DialError::BadUri(_) => {
                format!("Write the address like {URI_EXAMPLE}, or type a phone number.")
            }
            DialError::BadAccount(account) => format!(
                "Correct the SIP address of \u{201c}{account}\u{201d} in Settings \u{2192} \
                 Accounts."
            ),
            DialError::OnlyPrefix { prefix, .. } => {
                format!("Type the number after the prefix {prefix}.")
            }
            DialError::NoAccount => format!(
                "Add an account in Settings \u{2192} Accounts, or dial a SIP address like \
                 {URI_EXAMPLE}, or {ECHO_TARGET} to test your sound."
            ),
            DialError::NoRegistrar => format!(
                "Numbers are called through your provider: enter the registrar of an account in \
                 Settings \u{2192} Accounts, or dial a SIP address like {URI_EXAMPLE}."
            ),
            DialError::DirectOnly {
                account,
                prefix: Some(prefix),
                ..
            } => format!(
                "Enter the registrar of \u{201c}{account}\u{201d} in Settings \u{2192} Accounts, \
                 or dial the number without the prefix {prefix} to call it from the default \
                 account."
            ),
            DialError::DirectOnly {
                account,
                prefix: None,
                ..
            } => format!(
                "Enter the registrar of \u{201c}{account}\u{201d} in Settings \u{2192} Accounts, \
                 make an account with a registrar the default, or dial a SIP address like \
                 {URI_EXAMPLE}."
            ),
        };
        UiError::new(
            "invalid_number",
            crate::error::capitalise(&e.to_string()),
            hint,
        )
    }
}

impl From<DialError> for UiError {
    fn from(e: DialError) -> Self {
        UiError::from(&e)
    }
}

/// What dialling `target` would do with these accounts; see the [module](self) for the rules.
pub fn resolve(target: &str, accounts: &[Account]) -> Result<DialPreview, UiError> {
    plan(target, accounts).map_err(UiError::from)
}

/// [`resolve`] with the reason as a [`DialError`].
pub fn plan(target: &str, accounts: &[Account]) -> Result<DialPreview, DialError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(DialError::Empty);
    }
    if target.eq_ignore_ascii_case(ECHO_TARGET) {
        return Ok(DialPreview {
            account_id: None,
            account_name: ECHO_NAME.into(),
            uri: ECHO_TARGET.into(),
            rule: None,
        });
    }
    if let Some((scheme, rest)) = split_scheme(target) {
        return match scheme {
            Scheme::Tel => number(target, rest.split(';').next().unwrap_or(rest), accounts),
            Scheme::Sip | Scheme::Sips => {
                let uri = format!("{}:{rest}", scheme.name());
                uri_call(uri, accounts)
            }
        };
    }
    if target.contains('@') {
        return uri_call(format!("sip:{target}"), accounts);
    }
    number(target, target, accounts)
}

/// What a clicked `sip:`, `sips:` or `tel:` link (a browser, a CRM, `xdg-open`) puts in the
/// dialer, or `None` when it is not such a link. The person still sees the number and presses
/// Call: a link never dials by itself.
///
/// - Percent-escapes are decoded (`sip:bob%40example.com` is `sip:bob@example.com`).
/// - `tel:` (RFC 3966): parameters (`;phone-context=`, `;ext=`…) are dropped and so are the
///   visual separators `-`, `.`, `(`, `)` and spaces: `tel:+1-555-010-0199` gives
///   `+15550100199`.
/// - `sip:`/`sips:`: URI headers (`?subject=…`) are dropped; a link with no host (`sip:echo`,
///   `sip:0301234`) gives just the name or number, so the dial rules pick the account; any
///   other is kept as the SIP address (`sips:` stays `sips:`).
pub fn link_text(link: &str) -> Option<String> {
    let (scheme, rest) = split_scheme(link.trim())?;
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?
        .trim()
        .to_string();
    if decoded.is_empty() || decoded.chars().any(char::is_control) {
        return None;
    }
    match scheme {
        Scheme::Tel => {
            let number = decoded.split(';').next().unwrap_or_default();
            let cleaned: String = number.chars().filter(|c| !SEPARATORS.contains(c)).collect();
            let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
            let dialable = !digits.is_empty()
                && digits
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#'));
            dialable.then_some(cleaned)
        }
        Scheme::Sip | Scheme::Sips => {
            let uri = decoded.split('?').next().unwrap_or_default();
            if uri.is_empty() {
                return None;
            }
            if !uri.contains('@') {
                let name = uri.split(';').next().unwrap_or_default();
                let bare = name.eq_ignore_ascii_case(ECHO_TARGET)
                    || (!name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_digit() || "+*#-.() ".contains(c)));
                if bare {
                    return Some(name.to_string());
                }
            }
            Some(format!("{}:{uri}", scheme.name()))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sip,
    Sips,
    Tel,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// The scheme (any case) and what follows its colon.
fn split_scheme(s: &str) -> Option<(Scheme, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "sip" => Scheme::Sip,
        "sips" => Scheme::Sips,
        "tel" => Scheme::Tel,
        _ => return None,
    };
    Some((scheme, rest))
}

/// The host and `host[:port]` of a `sip:`/`sips:` URI (`user@` optional, parameters and
/// headers allowed), or why it is not one. The host is lower case without a trailing dot.
fn host_of(uri: &str) -> Result<(String, &str), String> {
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("\u{201c}{uri}\u{201d} must not contain spaces"));
    }
    let Some((_, rest)) = split_scheme(uri) else {
        return Err(format!(
            "\u{201c}{uri}\u{201d} must start with sip: or sips:"
        ));
    };
    // Headers (`?`) may hold an `@`; the user part may hold a `;`, the host part's `;`
    // starts the parameters.
    let before_headers = rest.split('?').next().unwrap_or(rest);
    let host_params = match before_headers.rsplit_once('@') {
        Some(("", _)) => {
            return Err(format!(
                "\u{201c}{uri}\u{201d} has no user name before @, like {URI_EXAMPLE}"
            ));
        }
        Some((_, host)) => host,
        None => before_headers,
    };
    let hostport = host_params.split(';').next().unwrap_or(host_params);
    crate::accounts::check_host_port(hostport, uri, URI_EXAMPLE)?;
    let host = if hostport.starts_with('[') {
        hostport.split_inclusive(']').next().unwrap_or(hostport)
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    Ok((host, hostport))
}

/// A call to a SIP URI: through the account of its host, else direct.
fn uri_call(uri: String, accounts: &[Account]) -> Result<DialPreview, DialError> {
    let (host, _) = host_of(&uri).map_err(DialError::BadUri)?;
    let serves = |a: &&Account| {
        let domain = host_of(&a.sip_address).ok().map(|(h, _)| h);
        let registrar = host_of(&a.registrar).ok().map(|(h, _)| h);
        domain.as_deref() == Some(host.as_str()) || registrar.as_deref() == Some(host.as_str())
    };
    let mut serving = accounts.iter().filter(serves).peekable();
    let first = serving.peek().copied();
    let chosen = serving.find(|a| a.is_default).or(first);
    Ok(match chosen {
        Some(a) => DialPreview {
            account_id: Some(a.id.clone()),
            account_name: a.display_name.clone(),
            uri,
            rule: None,
        },
        None => DialPreview {
            account_id: None,
            account_name: DIRECT_NAME.into(),
            uri,
            rule: None,
        },
    })
}

/// A number (`typed` is what the user typed, for messages): prefix rule or default account.
fn number(typed: &str, digits: &str, accounts: &[Account]) -> Result<DialPreview, DialError> {
    let not_dialable = || DialError::NotDialable(typed.to_string());
    let cleaned: String = digits.chars().filter(|c| !SEPARATORS.contains(c)).collect();
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
    {
        return Err(not_dialable());
    }
    let by_prefix = accounts
        .iter()
        .filter(|a| !a.dial_prefix.is_empty() && cleaned.starts_with(a.dial_prefix.as_str()))
        .max_by_key(|a| a.dial_prefix.len());
    let (account, number, prefix) = match by_prefix {
        Some(a) => {
            let rest = &cleaned[a.dial_prefix.len()..];
            if rest.is_empty() {
                return Err(DialError::OnlyPrefix {
                    prefix: a.dial_prefix.clone(),
                    account: a.display_name.clone(),
                });
            }
            (a, rest, Some(a.dial_prefix.clone()))
        }
        None => {
            let default = accounts
                .iter()
                .find(|a| a.is_default)
                .or_else(|| accounts.iter().find(|a| !a.registrar.is_empty()));
            match default {
                Some(a) => (a, cleaned.as_str(), None),
                None if accounts.is_empty() => return Err(DialError::NoAccount),
                None => return Err(DialError::NoRegistrar),
            }
        }
    };
    // `+` only leads a number (`+49…`), also after a prefix (`0` + `+49…` is not a number).
    let digits_only = number.strip_prefix('+').unwrap_or(number);
    if digits_only.is_empty() || digits_only.contains('+') {
        return Err(not_dialable());
    }
    if account.registrar.is_empty() {
        return Err(DialError::DirectOnly {
            account: account.display_name.clone(),
            number: number.to_string(),
            prefix,
        });
    }
    let (scheme, domain) = match (
        split_scheme(&account.sip_address),
        host_of(&account.sip_address),
    ) {
        (Some((scheme, _)), Ok((_, hostport))) => (scheme.name(), hostport),
        _ => return Err(DialError::BadAccount(account.display_name.clone())),
    };
    Ok(DialPreview {
        account_id: Some(account.id.clone()),
        account_name: account.display_name.clone(),
        uri: format!("{scheme}:{number}@{domain}"),
        rule: prefix.map(|p| format!("prefix {p} \u{2192} {}", account.display_name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fill_the_dialer() {
        assert_eq!(
            link_text("tel:+1-555-010-0199").as_deref(),
            Some("+15550100199")
        );
        assert_eq!(
            link_text("TEL:(030) 123.45;phone-context=example.com").as_deref(),
            Some("03012345")
        );
        assert_eq!(
            link_text("tel:%2B49%20301234").as_deref(),
            Some("+49301234")
        );
        assert_eq!(link_text("sip:echo").as_deref(), Some("echo"));
        assert_eq!(link_text("sip:0301234").as_deref(), Some("0301234"));
        assert_eq!(
            link_text("sip:bob%40example.com?subject=hi").as_deref(),
            Some("sip:bob@example.com")
        );
        assert_eq!(
            link_text(" sips:alice@pbx.example.com:5061;transport=tls ").as_deref(),
            Some("sips:alice@pbx.example.com:5061;transport=tls")
        );
        // Not a phone link, or nothing to call: nothing reaches the dialer.
        for bad in [
            "https://example.com",
            "mailto:a@b",
            "tel:",
            "tel:abc",
            "sip:",
            "sip:%0a",
            "tel:%FF",
            "",
        ] {
            assert_eq!(link_text(bad), None, "{bad}");
        }
        // What a link gives is something the dial rules accept.
        let accounts = [account(
            "a",
            "Office",
            "sip:alice@pbx.example.com",
            "sip:pbx.example.com",
            "",
        )];
        for link in ["tel:+1-555-010-0199", "sip:echo", "sip:bob@example.com"] {
            let text = link_text(link).unwrap();
            assert!(plan(&text, &accounts).is_ok(), "{link} → {text}");
        }
    }
    use crate::api::{PasswordStorage, Transport};

    fn account(id: &str, name: &str, aor: &str, registrar: &str, prefix: &str) -> Account {
        Account {
            id: id.into(),
            display_name: name.into(),
            sip_address: aor.into(),
            auth_user: String::new(),
            registrar: registrar.into(),
            transport: Transport::Auto,
            password_storage: PasswordStorage::None,
            dial_prefix: prefix.into(),
            is_default: false,
        }
    }

    fn ok(id: Option<&str>, name: &str, uri: &str, rule: Option<&str>) -> DialPreview {
        DialPreview {
            account_id: id.map(Into::into),
            account_name: name.into(),
            uri: uri.into(),
            rule: rule.map(Into::into),
        }
    }

    /// The issue's example: `9xxxx` → account 1 dialling `xxxx`, `8xxxx` → account 2 dialling
    /// `xxxx`; otherwise the default account.
    #[test]
    fn the_issues_example() {
        let mut accounts = vec![
            account(
                "a1",
                "Office",
                "sip:alice@example.com",
                "sip:pbx.example.com",
                "9",
            ),
            account(
                "a2",
                "Home",
                "sip:alice@home.example.net",
                "sip:sip.home.example.net",
                "8",
            ),
        ];
        let cases = [
            (
                "90301234",
                ok(
                    Some("a1"),
                    "Office",
                    "sip:0301234@example.com",
                    Some("prefix 9 \u{2192} Office"),
                ),
            ),
            (
                "80301234",
                ok(
                    Some("a2"),
                    "Home",
                    "sip:0301234@home.example.net",
                    Some("prefix 8 \u{2192} Home"),
                ),
            ),
            (
                "0301234",
                ok(Some("a1"), "Office", "sip:0301234@example.com", None),
            ),
        ];
        for (target, want) in &cases {
            assert_eq!(resolve(target, &accounts).as_ref(), Ok(want), "{target}");
        }
        // Marking the second account default moves only the numbers without a prefix.
        accounts[1].is_default = true;
        assert_eq!(
            resolve("0301234", &accounts),
            Ok(ok(Some("a2"), "Home", "sip:0301234@home.example.net", None))
        );
        assert_eq!(
            resolve("90301234", &accounts)
                .unwrap()
                .account_id
                .as_deref(),
            Some("a1")
        );
    }

    fn accounts() -> Vec<Account> {
        vec![
            account("lab", "Lab", "sip:me@10.0.0.5", "", "7"),
            account(
                "off",
                "Office",
                "sip:alice@example.com",
                "sip:pbx.example.com:5060",
                "9",
            ),
            account(
                "mob",
                "Mobile",
                "sips:555@Mobile.Example.org:5071",
                "sip:proxy.example.org",
                "90",
            ),
            account(
                "home",
                "Home",
                "sip:alice@home.example.net",
                "sip:sip.home.example.net",
                "*31#",
            ),
        ]
    }

    #[test]
    fn table() {
        let office = |uri: &str, rule: Option<&str>| ok(Some("off"), "Office", uri, rule);
        let p9 = Some("prefix 9 \u{2192} Office");
        let cases: Vec<(&str, DialPreview)> = vec![
            // The echo line, in any case and with spaces around.
            ("echo", ok(None, ECHO_NAME, "echo", None)),
            ("  ECHO ", ok(None, ECHO_NAME, "echo", None)),
            // Numbers without a prefix: the first account with a registrar (Lab has none).
            ("0301234", office("sip:0301234@example.com", None)),
            (
                "+49 (30) 123-45.67/8",
                office("sip:+493012345678@example.com", None),
            ),
            ("*21#", office("sip:*21#@example.com", None)),
            // Prefixes: the longest wins and is stripped.
            ("9 123 4567", office("sip:1234567@example.com", p9)),
            // "90…" is Mobile's prefix, so Office cannot be reached with 9 + 0…: longest wins.
            ("9+4930123", office("sip:+4930123@example.com", p9)),
            (
                "900301234",
                ok(
                    Some("mob"),
                    "Mobile",
                    "sips:0301234@Mobile.Example.org:5071",
                    Some("prefix 90 \u{2192} Mobile"),
                ),
            ),
            (
                "*31#0301234",
                ok(
                    Some("home"),
                    "Home",
                    "sip:0301234@home.example.net",
                    Some("prefix *31# \u{2192} Home"),
                ),
            ),
            // tel: URIs are numbers (parameters dropped).
            (
                "tel:+1-201-555-0123",
                office("sip:+12015550123@example.com", None),
            ),
            (
                "TEL:91301234;phone-context=example.com",
                office("sip:1301234@example.com", p9),
            ),
            // SIP URIs: the account of the domain or the registrar, else direct.
            ("sip:bob@example.com", office("sip:bob@example.com", None)),
            (
                "SIP:bob@EXAMPLE.com.;transport=tcp",
                office("sip:bob@EXAMPLE.com.;transport=tcp", None),
            ),
            (
                "sip:bob@pbx.example.com:5080",
                office("sip:bob@pbx.example.com:5080", None),
            ),
            (
                "sips:carol@mobile.example.org",
                ok(Some("mob"), "Mobile", "sips:carol@mobile.example.org", None),
            ),
            (
                "sip:0301234@proxy.example.org",
                ok(Some("mob"), "Mobile", "sip:0301234@proxy.example.org", None),
            ),
            (
                "sip:dave@10.0.0.5:5062",
                ok(Some("lab"), "Lab", "sip:dave@10.0.0.5:5062", None),
            ),
            (
                "sip:bob@elsewhere.example",
                ok(None, DIRECT_NAME, "sip:bob@elsewhere.example", None),
            ),
            (
                "sip:bob@[2001:db8::1]:5060",
                ok(None, DIRECT_NAME, "sip:bob@[2001:db8::1]:5060", None),
            ),
            (
                "sip:192.0.2.9",
                ok(None, DIRECT_NAME, "sip:192.0.2.9", None),
            ),
            (
                "sip:bob@elsewhere.example?subject=a@b",
                ok(
                    None,
                    DIRECT_NAME,
                    "sip:bob@elsewhere.example?subject=a@b",
                    None,
                ),
            ),
            // user@host without a scheme is a sip: URI.
            (
                "bob@elsewhere.example",
                ok(None, DIRECT_NAME, "sip:bob@elsewhere.example", None),
            ),
            (" bob@example.com ", office("sip:bob@example.com", None)),
        ];
        let accounts = accounts();
        for (target, want) in cases {
            assert_eq!(resolve(target, &accounts), Ok(want), "{target:?}");
        }
    }

    #[test]
    fn default_account_wins_among_equals() {
        let mut accounts = vec![
            account("a", "First", "sip:a@example.com", "sip:pbx.example.com", ""),
            account(
                "b",
                "Second",
                "sip:b@example.com",
                "sip:pbx.example.com",
                "",
            ),
        ];
        assert_eq!(
            resolve("sip:x@example.com", &accounts)
                .unwrap()
                .account_id
                .as_deref(),
            Some("a")
        );
        accounts[1].is_default = true;
        assert_eq!(
            resolve("sip:x@example.com", &accounts)
                .unwrap()
                .account_id
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            resolve("123", &accounts).unwrap().account_id.as_deref(),
            Some("b")
        );
    }

    fn err(target: &str, accounts: &[Account]) -> UiError {
        let e = resolve(target, accounts).unwrap_err();
        assert_eq!(e.code, "invalid_number", "{target:?}: {e:?}");
        assert!(e.message.ends_with('.'), "{e:?}");
        assert!(!e.hint.is_empty());
        e
    }

    #[test]
    fn what_cannot_be_called_says_why() {
        let accounts = accounts();
        // (target, words in the message, words in the hint)
        let cases = [
            ("", "There is nothing to call", "echo"),
            ("   ", "There is nothing to call", "sip:bob@example.com"),
            (
                "bob",
                "\u{201c}bob\u{201d} is not a phone number or a SIP address",
                "phone number",
            ),
            ("12a4", "not a phone number", "phone number"),
            ("+", "not a phone number", "phone number"),
            ("-- ()", "not a phone number", "phone number"),
            ("12+34", "not a phone number", "phone number"),
            ("9++49", "not a phone number", "phone number"),
            ("tel:", "not a phone number", "phone number"),
            (
                "9",
                "9 is the dial prefix of \u{201c}Office\u{201d}, but no number follows it",
                "after the prefix 9",
            ),
            (
                "9 ",
                "dial prefix of \u{201c}Office\u{201d}",
                "after the prefix 9",
            ),
            (
                "70301234",
                "\u{201c}Lab\u{201d} makes direct calls only, so it cannot call the number 0301234",
                "without the prefix 7",
            ),
            ("sip:@example.com", "no user name", "sip:bob@example.com"),
            (
                "sip:bob@exa mple.com",
                "must not contain spaces",
                "sip:bob@example.com",
            ),
            ("sip:bob@", "no valid host", "sip:bob@example.com"),
            (
                "sip:bob@example.com:99999",
                "invalid port",
                "sip:bob@example.com",
            ),
            ("bob@", "no valid host", "sip:bob@example.com"),
            ("@example.com", "no user name", "sip:bob@example.com"),
        ];
        for (target, message, hint) in cases {
            let e = err(target, &accounts);
            assert!(e.message.contains(message), "{target:?}: {}", e.message);
            assert!(e.hint.contains(hint), "{target:?}: {}", e.hint);
        }
    }

    #[test]
    fn a_broken_account_is_named() {
        let broken = [account(
            "x",
            "Broken",
            "alice@example.com",
            "sip:pbx.example.com",
            "",
        )];
        let e = err("123", &broken);
        assert!(
            e.message.contains("\u{201c}Broken\u{201d} is not valid"),
            "{}",
            e.message
        );
        assert!(e.hint.contains("Settings"), "{}", e.hint);
    }

    #[test]
    fn numbers_need_an_account_with_a_registrar() {
        // No accounts: the brief's words, and the ways out.
        let e = err("0301234", &[]);
        assert_eq!(e.message, "No account to call this number from.");
        assert!(
            e.hint.contains("Add an account") && e.hint.contains("echo"),
            "{}",
            e.hint
        );
        // SIP addresses and the echo line need no account.
        assert_eq!(
            resolve("sip:bob@example.com", &[]).unwrap().account_name,
            DIRECT_NAME
        );
        assert_eq!(resolve("echo", &[]).unwrap().account_name, ECHO_NAME);

        // Only direct-call accounts.
        let lab = [account("lab", "Lab", "sip:me@10.0.0.5", "", "")];
        let e = err("0301234", &lab);
        assert!(
            e.message.contains("none of your accounts has a registrar"),
            "{}",
            e.message
        );
        assert!(e.hint.contains("registrar"), "{}", e.hint);

        // The default account makes direct calls only: say so rather than pick another.
        let mut two = vec![
            account("lab", "Lab", "sip:me@10.0.0.5", "", ""),
            account(
                "off",
                "Office",
                "sip:alice@example.com",
                "sip:pbx.example.com",
                "",
            ),
        ];
        assert_eq!(
            resolve("123", &two).unwrap().account_id.as_deref(),
            Some("off")
        );
        two[0].is_default = true;
        let e = err("123", &two);
        assert!(
            e.message
                .contains("\u{201c}Lab\u{201d} makes direct calls only"),
            "{}",
            e.message
        );
        assert!(
            e.hint
                .contains("make an account with a registrar the default"),
            "{}",
            e.hint
        );
    }
}
