//! One-to-one chat (MESSAGE, RFC 3428): the glue between the account drivers' [`Pager`]s
//! and the API (`Phone::send_message`, `Phone::subscribe_messages`).

use std::time::Instant;

use homeline_sip::call::CallConfig;
use homeline_sip::pager::{Pager, PagerConfig, PagerEvent, TEXT_PLAIN};
use homeline_sip::transaction::TransactionLayer;
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

use crate::api::UiError;
use crate::sip::CallCommand;
use crate::{Phone, RegistrationState};

/// What happened to an account's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A text message arrived (already answered `200 OK`).
    Received {
        /// The sender's SIP URI.
        from: String,
        /// The sender's display name, if the message had one.
        display_name: Option<String>,
        /// The text, exactly as sent (UTF-8).
        text: String,
        /// When it arrived here, RFC 3339 in UTC (`2026-12-04T16:05:09Z`).
        time: String,
        /// The sender's or the storing server's `Date` header, when there was one (a message
        /// kept for us while we were offline).
        date: Option<String>,
    },
    /// A message of ours was accepted (`200`; `202` = the server stores it for later).
    Delivered {
        /// The id `send_message` returned.
        id: u64,
        /// The status code.
        code: u16,
    },
    /// A message of ours was refused or got no answer.
    Failed {
        /// The id `send_message` returned.
        id: u64,
        /// The status code (408 = no answer, 503 = the network failed).
        code: u16,
        /// Why, in plain words.
        reason: String,
    },
}

/// A chat event of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountMessage {
    /// The account.
    pub account_id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: ChatEvent,
}

/// What the API asks of an account's driver about messages.
#[derive(Debug)]
pub enum ChatCommand {
    /// Sends `text` to `uri`; the reply is the message's id (its outcome comes later as
    /// [`ChatEvent::Delivered`] or [`ChatEvent::Failed`]) or why it could not be sent.
    Send {
        /// The destination, a `sip:`/`sips:` URI.
        uri: String,
        /// The text.
        text: String,
        /// The id, or why not.
        reply: oneshot::Sender<Result<u64, UiError>>,
    },
}

impl ChatCommand {
    /// Answers a command that reached an endpoint without an account (direct calls).
    pub(crate) fn refuse_without_account(self) {
        match self {
            ChatCommand::Send { reply, .. } => {
                let _ = reply.send(Err(UiError::new(
                    "message_failed",
                    "Messages need an account with a server.",
                    "Choose an account that registers with a server.",
                )));
            }
        }
    }
}

/// A pager with the settings of the account's calls (same identity, flow and credentials).
pub(crate) fn pager_for(calls: &CallConfig, seed: u64) -> Pager {
    let mut cfg = PagerConfig::new(&calls.aor, calls.local, calls.transport);
    cfg.display_name = calls.display_name.clone();
    cfg.credentials = calls.credentials.clone();
    cfg.outbound_proxy = calls.outbound_proxy;
    cfg.user_agent = calls.user_agent.clone();
    Pager::new(cfg, seed)
}

/// Runs a chat command on the driver's pager; hands any other command back.
pub(crate) fn execute(
    pager: &mut Pager,
    layer: &mut TransactionLayer,
    now: Instant,
    command: CallCommand,
) -> Option<CallCommand> {
    let CallCommand::Chat(ChatCommand::Send { uri, text, reply }) = command else {
        return Some(command);
    };
    let result = match pager.config().outbound_proxy {
        None => Err(UiError::new(
            "message_failed",
            "There is no server to send the message to.",
            "Check the account's registrar.",
        )),
        Some(proxy) => pager
            .send(now, layer, &uri, TEXT_PLAIN, text.as_bytes(), proxy)
            .map(|id| id.0)
            .map_err(|e| {
                UiError::new(
                    "message_failed",
                    format!("Cannot send the message to {uri}: {e}."),
                    "Check the address, or send a shorter message.",
                )
            }),
    };
    let _ = reply.send(result);
    None
}

/// Hands a pager event to whoever listens.
pub(crate) fn publish(tx: &broadcast::Sender<AccountMessage>, account_id: &str, event: PagerEvent) {
    let event = match event {
        PagerEvent::Received {
            from,
            display_name,
            text,
            date,
            ..
        } => {
            tracing::info!(account = account_id, %from, bytes = text.len(), "message received");
            ChatEvent::Received {
                from,
                display_name,
                text,
                time: now_rfc3339(),
                date,
            }
        }
        PagerEvent::Delivered { id, code } => ChatEvent::Delivered { id: id.0, code },
        PagerEvent::Failed { id, code, reason } => {
            tracing::info!(account = account_id, code, %reason, "message not delivered");
            ChatEvent::Failed {
                id: id.0,
                code,
                reason,
            }
        }
    };
    let _ = tx.send(AccountMessage {
        account_id: account_id.to_owned(),
        event,
    });
}

/// The current time, RFC 3339 in UTC with seconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// `sip:`/`sips:` URIs as they are; `user@host` gets `sip:`; a bare user or number is at the
/// account's domain (`aor`).
pub fn message_uri(target: &str, aor: &str) -> String {
    let t = target.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        return t.to_owned();
    }
    if t.contains('@') {
        return format!("sip:{t}");
    }
    let domain = aor
        .split_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .unwrap_or_default();
    format!("sip:{t}@{domain}")
}

impl Phone {
    /// Instant-message events of every account from now on.
    pub fn subscribe_messages(&self) -> broadcast::Receiver<AccountMessage> {
        self.sip_runtime().subscribe_messages()
    }

    /// Sends `text` to `target` (a SIP URI, `user@host`, or a user at the account's domain)
    /// from the account `account_id`, which must be started. Returns the message's id; its
    /// outcome arrives through [`Phone::subscribe_messages`].
    pub async fn send_message(
        &self,
        account_id: &str,
        target: &str,
        text: &str,
    ) -> Result<u64, UiError> {
        let aor = self
            .list_accounts()
            .into_iter()
            .find(|a| a.id == account_id)
            .map(|a| a.sip_address)
            .ok_or_else(|| {
                UiError::new(
                    "unknown_account",
                    format!("There is no account {account_id:?}."),
                    "Choose one of the accounts in Settings.",
                )
            })?;
        let uri = message_uri(target, &aor);
        let (reply, answer) = oneshot::channel();
        let command = CallCommand::Chat(ChatCommand::Send {
            uri,
            text: text.to_owned(),
            reply,
        });
        let not_running = || {
            UiError::new(
                "not_registered",
                "The account is not connected, so the message cannot go out.",
                "Wait until the account is registered, or check its settings.",
            )
        };
        if !self.call_command(account_id, command) {
            return Err(not_running());
        }
        answer.await.map_err(|_| not_running())?
    }

    /// True when the account is registered now.
    pub fn is_registered(&self, account_id: &str) -> bool {
        self.registration_watch(account_id)
            .is_some_and(|w| w.borrow().state == RegistrationState::Registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_uris() {
        let aor = "sip:alice@homeline.test";
        assert_eq!(message_uri("sip:bob@x", aor), "sip:bob@x");
        assert_eq!(message_uri("SIPS:bob@x", aor), "SIPS:bob@x");
        assert_eq!(message_uri("bob@x", aor), "sip:bob@x");
        assert_eq!(message_uri(" 1002 ", aor), "sip:1002@homeline.test");
    }

    #[test]
    fn events_serialise_flat_for_the_ui() {
        let m = AccountMessage {
            account_id: "acc-1".into(),
            event: ChatEvent::Delivered { id: 3, code: 202 },
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"account_id": "acc-1", "kind": "delivered", "id": 3, "code": 202})
        );
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
    }
}
