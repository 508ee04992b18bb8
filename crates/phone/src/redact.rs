//! A process-wide registry of secret values that must never reach a log, and the masking used by
//! the log writers ([`crate::logging`]).
//!
//! Passwords are never formatted into log messages on purpose ([`Secret`] prints `***`). This is
//! defence in depth against the accidental case (a SIP message dumped at trace level, a
//! third-party crate's debug output): every password the [`SecretStore`](crate::SecretStore)
//! or the config file hands out is registered here, and the log writers replace any
//! occurrence with `***` before the bytes leave the process.

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};

use zeroize::Zeroizing;

use crate::secrets::Secret;

/// Values shorter than this are not masked: masking every "a" of a log would make the logs
/// useless while protecting nothing.
const MIN_LEN: usize = 3;

static KNOWN: RwLock<Vec<Zeroizing<String>>> = RwLock::new(Vec::new());

/// Remembers `secret` so that the log writers mask it.
pub fn register(secret: &Secret) {
    let value = secret.expose();
    if value.len() < MIN_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k.as_str() == value) {
        known.push(Zeroizing::new(value.to_string()));
        // Longest first, so that a secret containing another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "***"));
        }
    }
    out
}

/// `bytes` with every registered secret replaced by `***` (log output is UTF-8, but a writer
/// may be handed anything: non-UTF-8 input is masked on its lossy text form).
pub fn redact_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(bytes) {
        Ok(text) => match redact(text) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        },
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            match redact(&text) {
                Cow::Borrowed(_) => Cow::Borrowed(bytes),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_values() {
        register(&Secret::new("Redact-Me-123"));
        register(&Secret::new("ab"));
        assert_eq!(
            redact("user=bob pw=Redact-Me-123 end"),
            "user=bob pw=*** end"
        );
        assert_eq!(redact("ab stays"), "ab stays");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
        assert_eq!(
            redact_bytes(b"x Redact-Me-123 \xff").as_ref(),
            "x *** \u{fffd}".as_bytes()
        );
    }
}
