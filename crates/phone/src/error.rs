//! The crate error and its translation into what the user reads ([`UiError`]).

use std::path::PathBuf;

use crate::accounts::{AccountError, Field};
use crate::api::UiError;
use crate::config::ConfigError;
use crate::contacts::ContactsError;
use crate::history::HistoryError;
use crate::logging::LogError;
use crate::secrets::SecretError;
use crate::sip::SipError;

/// Any error of `homeline-phone`. Convert with `UiError::from(&err)` for the UI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Storing or reading a password.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// An account was invalid or missing.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Logging or exporting logs.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Starting SIP registration.
    #[error(transparent)]
    Sip(#[from] SipError),
    /// Reading or writing the call history.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Reading or writing the address book.
    #[error(transparent)]
    Contacts(#[from] ContactsError),
    /// A folder could not be shown in the file manager.
    #[error("could not open {path} in the file manager: {reason}")]
    Open {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl From<&Error> for UiError {
    fn from(e: &Error) -> Self {
        let message = capitalise(&e.to_string());
        let (code, hint): (&str, String) = match e {
            Error::Account(AccountError::Invalid { field, .. }) => (
                "invalid_account",
                format!(
                    "Correct the \u{201c}{}\u{201d} field and save again.",
                    field.label()
                ),
            ),
            Error::Account(AccountError::DialPrefixTaken { other, .. }) => (
                "invalid_account",
                format!(
                    "Choose another \u{201c}{}\u{201d}, or first change or clear the one of \
                     \u{201c}{other}\u{201d}.",
                    Field::DialPrefix.label()
                ),
            ),
            Error::Account(AccountError::NotFound(_)) => (
                "account_not_found",
                "The account may have been removed meanwhile; reload the list.".into(),
            ),
            Error::Config(ConfigError::SavingBlocked(problem)) => {
                let ui = problem.to_ui_error();
                return UiError::new(
                    ui.code,
                    format!("Settings were not saved. {}", ui.message),
                    ui.hint,
                );
            }
            Error::Config(ConfigError::Write { path, .. }) => (
                "config_write_failed",
                format!(
                    "Check that you may write to {} and that the disk is not full, then try again.",
                    path.parent()
                        .map_or_else(|| path.display(), |p| p.display())
                ),
            ),
            Error::Config(ConfigError::NoConfigDir) => (
                "no_config_dir",
                "Set the HOMELINE_CONFIG environment variable to the file Homeline should use."
                    .into(),
            ),
            Error::Config(ConfigError::Encode(_)) => (
                "internal_error",
                "This is a bug in Homeline; please report it with the exported logs.".into(),
            ),
            Error::Secret(SecretError::Unavailable(_)) => (
                "keyring_unavailable",
                "Start your desktop's keyring (GNOME Keyring, KWallet or another Secret Service) \
                 and restart Homeline. Until then passwords are kept for this session only."
                    .into(),
            ),
            Error::Secret(SecretError::Timeout(_)) => (
                "keyring_timeout",
                "Your keyring may be locked: unlock it (a prompt may be waiting) and try again."
                    .into(),
            ),
            Error::Secret(SecretError::Keyring(_)) => (
                "keyring_failed",
                "Unlock your keyring and try again; if it keeps failing, export the logs and \
                 report the problem."
                    .into(),
            ),
            Error::Log(LogError::NoLogs(_)) => (
                "logs_empty",
                "Homeline has not written a log yet. Use the app for a moment and try again."
                    .into(),
            ),
            Error::Log(LogError::NoLogDir) => (
                "no_log_dir",
                "Set the HOMELINE_LOG_DIR environment variable to a folder for the logs.".into(),
            ),
            Error::Log(_) => (
                "logs_failed",
                "Check that the disk is not full and that you may write to your Downloads \
                 folder, then try again."
                    .into(),
            ),
            Error::Sip(SipError::NoRegistrar(_)) => (
                "no_registrar",
                "Enter the registrar (or proxy) of your provider in the account settings.".into(),
            ),
            Error::Sip(SipError::Tls(_)) => (
                "tls_ca_file",
                "Check tls_ca_file in the [network] settings: it must name a readable file of \
                 PEM certificates."
                    .into(),
            ),
            Error::Sip(SipError::NoRuntime) => (
                "internal_error",
                "This is a bug in Homeline; please report it with the exported logs.".into(),
            ),
            Error::History(HistoryError::NoDataDir) => (
                "no_data_dir",
                "Homeline needs a home folder to keep the call history in; calls still work."
                    .into(),
            ),
            Error::History(HistoryError::Read { path, .. } | HistoryError::Write { path, .. }) => (
                "history_failed",
                format!(
                    "Check that you may read and write {} and that the disk is not full. Calls \
                     still work; only the list of past calls is affected.",
                    path.display()
                ),
            ),
            Error::Contacts(e) => contacts_hint(e),
            Error::Open { path, .. } => (
                "open_failed",
                format!("Open the folder yourself: {}", path.display()),
            ),
        };
        UiError::new(code, message, hint)
    }
}

/// The code and hint of an address-book error.
fn contacts_hint(e: &ContactsError) -> (&'static str, String) {
    match e {
        ContactsError::NoDataDir => (
            "no_data_dir",
            "Homeline needs a home folder to keep contacts in; calls still work.".into(),
        ),
        ContactsError::Read { path, .. } | ContactsError::Write { path, .. } => (
            "contacts_failed",
            format!(
                "Check that you may read and write {} and that the disk is not full, then try \
                 again. Nothing was changed.",
                path.display()
            ),
        ),
        ContactsError::Unreadable { path, .. } => (
            "contacts_damaged",
            format!(
                "Homeline left the file as it is so that no contact is lost. Move {} aside to \
                 start a new address book, or repair it.",
                path.display()
            ),
        ),
        ContactsError::Invalid { field, .. } => (
            "invalid_contact",
            format!(
                "Correct the \u{201c}{}\u{201d} field and save again.",
                field.label()
            ),
        ),
        ContactsError::NotFound(_) => (
            "contact_not_found",
            "The contact may have been removed meanwhile; reload the list.".into(),
        ),
        ContactsError::Full => (
            "contacts_full",
            "Remove contacts you no longer need, then add this one again.".into(),
        ),
    }
}

impl From<Error> for UiError {
    fn from(e: Error) -> Self {
        UiError::from(&e)
    }
}

/// The sentence for people: first letter upper case, a full stop at the end.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(c.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_account_names_the_field() {
        let e = Error::Account(AccountError::Invalid {
            field: Field::SipAddress,
            reason: "\"x\" must start with sip: or sips:, like sip:alice@example.com".into(),
        });
        let ui = UiError::from(&e);
        assert_eq!(ui.code, "invalid_account");
        assert!(ui.message.starts_with("SIP address: "), "{}", ui.message);
        assert!(ui.hint.contains("SIP address"), "{}", ui.hint);
    }

    #[test]
    fn taken_dial_prefix_names_the_field_and_the_other_account() {
        let e = Error::Account(AccountError::DialPrefixTaken {
            prefix: "9".into(),
            other: "Office".into(),
        });
        let ui = UiError::from(&e);
        assert_eq!(ui.code, "invalid_account");
        assert!(
            ui.message.starts_with("Dial prefix: 9 is already"),
            "{}",
            ui.message
        );
        assert!(ui.hint.contains("Dial prefix"), "{}", ui.hint);
        assert!(ui.hint.contains("\u{201c}Office\u{201d}"), "{}", ui.hint);
    }

    #[test]
    fn keyring_errors_have_hints() {
        let ui = UiError::from(Error::Secret(SecretError::Timeout(60)));
        assert_eq!(ui.code, "keyring_timeout");
        assert!(ui.message.starts_with("The system keyring did not answer"));
        assert!(ui.hint.contains("unlock"));
    }
}
