//! What the UI and CLI see of registrations: states and plain-language reasons.

use serde::{Deserialize, Serialize};

use homeline_sip::register::FailureReason;
use homeline_sip::transaction::TransportKind;

use super::resolve::Target;
use crate::api::UiError;

/// Where one account's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// Not started.
    Idle,
    /// Looking up the server, connecting, or waiting for the answer to a REGISTER.
    Registering,
    /// Registered: incoming calls can reach us.
    Registered,
    /// The last attempt failed; another follows after `retry_in_secs`.
    Failed,
    /// Failed in a way retrying cannot fix (wrong password …): stopped until the settings
    /// change.
    Stopped,
    /// Removing the registration.
    Unregistering,
    /// The registration was removed.
    Unregistered,
}

/// One account's registration as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationStatus {
    /// The account.
    pub account_id: String,
    /// The state.
    pub state: RegistrationState,
    /// Why it failed (for `failed` and `stopped`), in plain words with a next step.
    pub reason: Option<UiError>,
    /// The server and transport in use, e.g. `pbx.example.com (192.0.2.7) over UDP port 5060`.
    pub server: Option<String>,
    /// Seconds the server granted (when registered).
    pub expires_secs: Option<u64>,
    /// Seconds until the next attempt (when failed).
    pub retry_in_secs: Option<u64>,
    /// REGISTER requests sent so far (retransmissions not counted), for diagnostics.
    pub register_requests: u32,
    /// Something the user should know about how the registration got through, in plain
    /// words, e.g. `UDP got no answer; registered over TCP.` (automatic transport fallback).
    #[serde(default)]
    pub note: Option<String>,
}

impl RegistrationStatus {
    /// The initial status of an account.
    pub fn idle(account_id: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            state: RegistrationState::Idle,
            reason: None,
            server: None,
            expires_secs: None,
            retry_in_secs: None,
            register_requests: 0,
            note: None,
        }
    }

    /// One line for people: `registered at X (expires in 600 s)` or the failure reason.
    pub fn summary(&self) -> String {
        let at = self
            .server
            .as_deref()
            .map(|s| format!(" at {s}"))
            .unwrap_or_default();
        match self.state {
            RegistrationState::Registered => format!(
                "registered{at}{}{}",
                self.expires_secs
                    .map(|s| format!(" for {s} s"))
                    .unwrap_or_default(),
                self.note
                    .as_deref()
                    .map(|n| format!(" ({})", n.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
            RegistrationState::Failed | RegistrationState::Stopped => match &self.reason {
                Some(r) => format!("{} {}", r.message, r.hint),
                None => format!("registration failed{at}"),
            },
            other => format!("{other:?}{at}").to_lowercase(),
        }
    }
}

fn port_hint(target: &Target) -> String {
    match target.transport {
        TransportKind::Udp => format!(
            "UDP port {} may be blocked by a firewall or the provider; try TCP or TLS in the \
             account's transport setting, or another port (5060, 6060, 8080).",
            target.addr.port()
        ),
        _ => format!(
            "Port {} may be blocked by a firewall; check the server address and port, or try \
             another transport.",
            target.addr.port()
        ),
    }
}

/// The UI error for a failure reported by the registration core.
pub fn failure_reason(
    reason: &FailureReason,
    target: &Target,
    user: &str,
    last_transport_error: Option<&str>,
) -> UiError {
    let server = &target.host;
    let via = target.describe();
    let e = match reason {
        FailureReason::WrongCredentials { realm } => UiError::new(
            "wrong_credentials",
            format!(
                "Wrong user name or password: {server} refused the credentials of \"{user}\" \
                 (realm \"{realm}\")."
            ),
            "Check the user name, authentication user and password in the account settings. \
             Homeline stopped trying so that the provider does not block you.",
        ),
        FailureReason::CredentialsRequired { realm } => UiError::new(
            "password_required",
            format!("{server} asks for a password (realm \"{realm}\") and none is set."),
            "Enter the account's password in the account settings.",
        ),
        FailureReason::UnsupportedChallenge => UiError::new(
            "unsupported_auth",
            format!("{server} asks for an authentication method Homeline does not support."),
            "Ask your provider whether MD5 or SHA-256 digest authentication can be used.",
        ),
        FailureReason::Timeout => UiError::new(
            "no_answer",
            format!("No answer from {via}."),
            format!("The server may be down. {}", port_hint(target)),
        ),
        FailureReason::Forbidden => UiError::new(
            "forbidden",
            format!("{server} refused the registration (403 Forbidden) over {via}."),
            "The account may be disabled or not allowed from this network; ask your provider.",
        ),
        FailureReason::Transport(detail) => UiError::new(
            "transport_error",
            format!(
                "Could not reach {via}: {}.",
                last_transport_error.unwrap_or(if detail.is_empty() {
                    "the message could not be sent"
                } else {
                    detail.as_str()
                })
            ),
            port_hint(target),
        ),
        FailureReason::Rejected { code, reason } => UiError::new(
            "rejected",
            format!("{server} answered {code} {reason} over {via}."),
            if (500..600).contains(code) {
                "The server has a problem; Homeline retries later by itself."
            } else {
                "Check the account settings; if they are right, ask your provider what this \
                 answer means."
            },
        ),
        FailureReason::IntervalTooBrief => UiError::new(
            "interval_too_brief",
            format!("{server} and Homeline could not agree on a registration interval."),
            "Ask your provider which registration interval it accepts.",
        ),
    };
    // What the UI's catalogs need to say the same in another language.
    let e = e
        .with_arg("server", server)
        .with_arg("transport", target.transport.via_token())
        .with_arg("port", target.addr.port());
    match reason {
        FailureReason::WrongCredentials { realm } => {
            e.with_arg("user", user).with_arg("realm", realm)
        }
        FailureReason::CredentialsRequired { realm } => e.with_arg("realm", realm),
        FailureReason::Transport(detail) => e.with_arg(
            "detail",
            last_transport_error.unwrap_or(if detail.is_empty() {
                "the message could not be sent"
            } else {
                detail.as_str()
            }),
        ),
        FailureReason::Rejected { code, reason } => e
            .with_arg("code", code)
            .with_arg("reason", reason)
            .with_arg(
                "server_error",
                if (500..600).contains(code) {
                    "yes"
                } else {
                    "no"
                },
            ),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(t: TransportKind) -> Target {
        Target {
            transport: t,
            addr: "192.0.2.7:5060".parse().unwrap(),
            host: "pbx.example.com".into(),
            fallback: false,
        }
    }

    #[test]
    fn reasons_name_server_transport_and_next_step() {
        let wrong = FailureReason::WrongCredentials {
            realm: "example.com".into(),
        };
        let ui = failure_reason(&wrong, &target(TransportKind::Udp), "alice", None);
        assert_eq!(ui.code, "wrong_credentials");
        // The same values for the UI's translations.
        let args: Vec<(&str, &str)> = ui
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            args,
            [
                ("port", "5060"),
                ("realm", "example.com"),
                ("server", "pbx.example.com"),
                ("transport", "UDP"),
                ("user", "alice"),
            ]
        );
        assert!(ui.message.contains("Wrong user name or password"), "{ui:?}");
        assert!(ui.message.contains("pbx.example.com"));
        let ui = failure_reason(
            &FailureReason::Timeout,
            &target(TransportKind::Udp),
            "alice",
            None,
        );
        assert_eq!(
            ui.message,
            "No answer from pbx.example.com (192.0.2.7) over UDP port 5060."
        );
        assert!(ui.hint.contains("port 5060 may be blocked"), "{}", ui.hint);
        // A transport error (RFC 3261 §8.1.3.1) says what the network reported.
        let ui = failure_reason(
            &FailureReason::Transport(String::new()),
            &target(TransportKind::Tls),
            "alice",
            Some("the certificate of pbx.example.com is not trusted: it has expired"),
        );
        assert_eq!(ui.code, "transport_error");
        assert!(ui.message.contains("it has expired"), "{}", ui.message);
        let s = RegistrationStatus {
            state: RegistrationState::Stopped,
            reason: Some(ui),
            ..RegistrationStatus::idle("a")
        };
        assert!(s.summary().contains("it has expired"));
        let s = RegistrationStatus {
            state: RegistrationState::Registered,
            server: Some("192.0.2.7 over TCP port 5060".into()),
            note: Some("UDP got no answer; registered over TCP.".into()),
            ..RegistrationStatus::idle("a")
        };
        assert_eq!(
            s.summary(),
            "registered at 192.0.2.7 over TCP port 5060 (UDP got no answer; registered over TCP)"
        );
    }
}
