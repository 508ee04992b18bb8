//! One account's presence beside its calls: our publication (PUBLISH) and our subscriptions
//! to contacts (SUBSCRIBE/NOTIFY), joined with the PIDF documents of `homeline-presence`.
//! The driver owns one [`Agent`] per session and feeds it like its other cores.
//!
//! Our published status follows what the user set, except that during a call it reads
//! "on the phone" (and back after); "busy" is do-not-disturb: the driver answers incoming
//! calls 486 while it is set.
//!
//! When the account has a voicemail number, the agent also subscribes to the account's own
//! `message-summary` (RFC 3842) and reports the counts as [`PresenceEvent::Voicemail`]. Its
//! failures (a server without MWI answers 489 or 404) are logged, not shown: the indicator
//! simply stays empty, and the subscription's own back-off (30 s doubling to 30 min) keeps it
//! from looping.

use std::time::{Duration, Instant};

use homeline_presence::Status;
use homeline_presence::mwi;
use homeline_presence::pidf::{self, CONTENT_TYPE};
use homeline_sip::call::CallConfig;
use homeline_sip::publish::{Publication, PublishConfig, PublishEvent};
use homeline_sip::subscribe::{SubState, SubscribeConfig, SubscriptionEvent, Subscriptions};
use homeline_sip::transaction::{Peer, TransactionEvent, TransactionLayer};
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

use crate::api::UiError;
use crate::sip::CallCommand;

/// How long our publication and subscriptions last before they are refreshed.
const EXPIRES: u32 = 600;

/// What the API asks of an account's presence.
#[derive(Debug)]
pub enum PresenceCommand {
    /// Sets (and publishes) our status and note.
    Set {
        /// The status.
        status: Status,
        /// The note, if any.
        note: Option<String>,
        /// Done (the outcome comes as [`PresenceEvent::Published`] or `Unavailable`).
        reply: oneshot::Sender<Result<(), UiError>>,
    },
    /// Watches a contact.
    Watch {
        /// The contact's SIP URI.
        uri: String,
    },
    /// Stops watching a contact.
    Unwatch {
        /// The contact's SIP URI.
        uri: String,
    },
}

/// What happened to presence on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PresenceEvent {
    /// A contact's status (from a NOTIFY).
    Contact {
        /// The contact's URI.
        uri: String,
        /// Its status.
        status: Status,
        /// Its note.
        note: Option<String>,
    },
    /// The server holds our status.
    Published {
        /// What it holds.
        status: Status,
    },
    /// The account's voicemail summary (a NOTIFY of `message-summary`, RFC 3842).
    Voicemail {
        /// Messages are waiting (the server's `Messages-Waiting: yes`).
        waiting: bool,
        /// New voice messages (0 when the server gives no count).
        new: u32,
        /// Old (heard) voice messages.
        old: u32,
        /// Of the new ones, urgent.
        urgent_new: u32,
        /// The voicemail account the server names (`Message-Account`), if any.
        message_account: Option<String>,
        /// The number the account's settings give for voicemail (what "call voicemail" dials).
        voicemail_number: Option<String>,
    },
    /// Presence does not work with this provider right now (a retry follows).
    Unavailable {
        /// The contact concerned, or `None` for our own publication.
        uri: Option<String>,
        /// `{code, message, hint}` for the UI.
        reason: UiError,
    },
}

/// A presence event of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountPresence {
    /// The account.
    pub account_id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: PresenceEvent,
}

/// What the user asked for, kept by the driver across sessions (reconnects, network
/// changes): our status and the contacts watched.
#[derive(Debug, Default)]
pub(crate) struct Intent {
    own: Option<(Status, Option<String>)>,
    watched: Vec<String>,
    voicemail: Option<String>,
}

impl Intent {
    /// The first session's intent: nothing set yet; `voicemail` is the account's voicemail
    /// number, when it has one (its message summary is then watched).
    pub(crate) fn new(voicemail: Option<String>) -> Self {
        Self {
            voicemail,
            ..Self::default()
        }
    }
}

/// One account's presence state in a session.
#[derive(Debug)]
pub(crate) struct Agent {
    aor: String,
    publication: Publication,
    subs: Subscriptions,
    /// The `message-summary` subscription to our own AOR; `None` without a voicemail number.
    mwi: Option<Subscriptions>,
    voicemail_number: Option<String>,
    own: Option<(Status, Option<String>)>,
    watched: Vec<String>,
    on_phone: bool,
    published: Option<Status>,
}

impl Agent {
    pub(crate) fn new(calls: &CallConfig, seed: u64, intent: Intent) -> Self {
        let next_hop = calls.outbound_proxy.unwrap_or(Peer {
            transport: calls.transport,
            addr: calls.local,
        });
        let publication = Publication::new(
            PublishConfig {
                aor: calls.aor.clone(),
                local: calls.local,
                transport: calls.transport,
                credentials: calls.credentials.clone(),
                next_hop,
                user_agent: calls.user_agent.clone(),
                expires: EXPIRES,
                event: "presence".into(),
                content_type: CONTENT_TYPE.into(),
            },
            seed,
        );
        let subs = Subscriptions::new(
            SubscribeConfig {
                aor: calls.aor.clone(),
                local: calls.local,
                transport: calls.transport,
                contact: calls.contact.clone(),
                credentials: calls.credentials.clone(),
                next_hop,
                user_agent: calls.user_agent.clone(),
                expires: EXPIRES,
                event: "presence".into(),
                accept: CONTENT_TYPE.into(),
                max_body: pidf::MAX_SIZE,
            },
            seed ^ 0x5b5,
        );
        let mwi = intent.voicemail.is_some().then(|| {
            Subscriptions::new(
                SubscribeConfig {
                    aor: calls.aor.clone(),
                    local: calls.local,
                    transport: calls.transport,
                    contact: calls.contact.clone(),
                    credentials: calls.credentials.clone(),
                    next_hop,
                    user_agent: calls.user_agent.clone(),
                    expires: EXPIRES,
                    event: mwi::EVENT.into(),
                    accept: mwi::CONTENT_TYPE.into(),
                    max_body: mwi::MAX_SIZE,
                },
                seed ^ 0x3842,
            )
        });
        Self {
            aor: calls.aor.clone(),
            publication,
            subs,
            mwi,
            voicemail_number: intent.voicemail,
            own: intent.own,
            watched: intent.watched,
            on_phone: false,
            published: None,
        }
    }

    /// What to carry into the next session.
    pub(crate) fn into_intent(self) -> Intent {
        Intent {
            own: self.own,
            watched: self.watched,
            voicemail: self.voicemail_number,
        }
    }

    /// Publishes and subscribes again what an earlier session did (once registered).
    pub(crate) fn resume(&mut self, now: Instant, layer: &mut TransactionLayer) {
        self.republish(now, layer);
        for uri in self.watched.clone() {
            self.subs.subscribe(now, layer, &uri);
        }
        if let Some(mwi) = &mut self.mwi {
            mwi.subscribe(now, layer, &self.aor);
        }
    }

    /// Do not disturb: incoming calls are answered 486.
    pub(crate) fn dnd(&self) -> bool {
        matches!(self.own, Some((Status::Busy, _)))
    }

    pub(crate) fn set_contact(&mut self, contact: Option<String>) {
        if let Some(mwi) = &mut self.mwi {
            mwi.set_contact(contact.clone());
        }
        self.subs.set_contact(contact);
    }

    fn effective(&self) -> Option<(Status, Option<String>)> {
        let (status, note) = self.own.clone()?;
        if self.on_phone && status != Status::Offline {
            return Some((Status::OnThePhone, note));
        }
        Some((status, note))
    }

    fn republish(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let Some((status, note)) = self.effective() else {
            return;
        };
        let doc = pidf::build(&self.aor, status, note.as_deref(), "homeline");
        self.published = Some(status);
        self.publication.set(now, layer, doc.into_bytes());
    }

    /// Calls started or all ended: "on the phone" and back.
    pub(crate) fn calls_changed(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        active: bool,
    ) {
        if active != self.on_phone {
            self.on_phone = active;
            self.republish(now, layer);
        }
    }

    /// Runs a presence command; hands any other command back.
    pub(crate) fn execute(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        command: CallCommand,
    ) -> Option<CallCommand> {
        let CallCommand::Presence(c) = command else {
            return Some(command);
        };
        match c {
            PresenceCommand::Set {
                status,
                note,
                reply,
            } => {
                self.own = Some((status, note));
                self.republish(now, layer);
                let _ = reply.send(Ok(()));
            }
            PresenceCommand::Watch { uri } => {
                if !self.watched.contains(&uri) {
                    self.watched.push(uri.clone());
                }
                self.subs.subscribe(now, layer, &uri);
            }
            PresenceCommand::Unwatch { uri } => {
                self.watched.retain(|u| *u != uri);
                if let Some(id) = self.subs.find(&uri) {
                    self.subs.unsubscribe(now, layer, id);
                }
            }
        }
        None
    }

    /// Unpublishes and ends the subscriptions (before unregistering).
    pub(crate) fn shutdown(&mut self, now: Instant, layer: &mut TransactionLayer) {
        self.publication.remove(now, layer);
        for id in self.subs.ids() {
            self.subs.unsubscribe(now, layer, id);
        }
        if let Some(mwi) = &mut self.mwi {
            for id in mwi.ids() {
                mwi.unsubscribe(now, layer, id);
            }
        }
    }

    pub(crate) fn handle_transaction_event(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        ev: TransactionEvent,
    ) -> Option<TransactionEvent> {
        let ev = self.subs.handle_transaction_event(now, layer, ev)?;
        let ev = match &mut self.mwi {
            Some(mwi) => mwi.handle_transaction_event(now, layer, ev)?,
            None => ev,
        };
        self.publication.handle_transaction_event(now, layer, ev)
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        self.publication.handle_timeout(now, layer);
        self.subs.handle_timeout(now, layer);
        if let Some(mwi) = &mut self.mwi {
            mwi.handle_timeout(now, layer);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.publication.poll_timeout(),
            self.subs.poll_timeout(),
            self.mwi.as_ref().and_then(Subscriptions::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Hands what happened to whoever listens; true when anything did.
    pub(crate) fn drain(&mut self, tx: &broadcast::Sender<AccountPresence>, account: &str) -> bool {
        let mut moved = false;
        let send = |event: PresenceEvent| {
            let _ = tx.send(AccountPresence {
                account_id: account.to_owned(),
                event,
            });
        };
        while let Some(ev) = self.publication.poll_event() {
            moved = true;
            match ev {
                PublishEvent::Published { .. } => {
                    if let Some(status) = self.published {
                        send(PresenceEvent::Published { status });
                    }
                }
                PublishEvent::Removed => {}
                PublishEvent::Failed {
                    code,
                    reason,
                    retry_in,
                } => {
                    tracing::info!(account, code, %reason, "publishing presence failed");
                    send(PresenceEvent::Unavailable {
                        uri: None,
                        reason: unavailable(&reason, retry_in),
                    });
                }
            }
        }
        while let Some(ev) = self.subs.poll_event() {
            moved = true;
            match ev {
                SubscriptionEvent::Notify {
                    uri,
                    state,
                    content_type,
                    body,
                    ..
                } => {
                    let (status, note) = match state {
                        SubState::Pending => (Status::Unknown, None),
                        SubState::Terminated if body.is_empty() => (Status::Unknown, None),
                        _ if body.is_empty() => (Status::Offline, None),
                        _ if content_type.as_deref() != Some(CONTENT_TYPE) => {
                            tracing::debug!(account, %uri, ?content_type, "NOTIFY body not PIDF");
                            (Status::Unknown, None)
                        }
                        _ => match pidf::parse(&body) {
                            Ok(p) => (p.status, p.note),
                            Err(e) => {
                                tracing::info!(account, %uri, error = %e, "unreadable presence");
                                (Status::Unknown, None)
                            }
                        },
                    };
                    send(PresenceEvent::Contact { uri, status, note });
                }
                SubscriptionEvent::Failed {
                    uri,
                    code,
                    reason,
                    retry_in,
                    ..
                } => {
                    tracing::info!(account, %uri, code, %reason, "watching failed");
                    send(PresenceEvent::Unavailable {
                        uri: Some(uri),
                        reason: unavailable(&reason, retry_in),
                    });
                }
                SubscriptionEvent::Ended { .. } => {}
            }
        }
        while let Some(ev) = self.mwi.as_mut().and_then(Subscriptions::poll_event) {
            moved = true;
            match ev {
                SubscriptionEvent::Notify {
                    state,
                    content_type,
                    body,
                    ..
                } => {
                    let summary = if body.is_empty() {
                        // The server knows no mailbox state yet (kamailio before any
                        // PUBLISH): nothing is waiting. A final empty NOTIFY says nothing.
                        if state == SubState::Terminated {
                            continue;
                        }
                        mwi::Summary::default()
                    } else if content_type.as_deref() != Some(mwi::CONTENT_TYPE) {
                        tracing::info!(account, ?content_type, "message summary of another type");
                        continue;
                    } else {
                        match mwi::parse(&body) {
                            Ok(summary) => summary,
                            Err(e) => {
                                tracing::info!(account, error = %e, "unreadable message summary");
                                continue;
                            }
                        }
                    };
                    send(voicemail(summary, self.voicemail_number.clone()));
                }
                SubscriptionEvent::Ended { .. } => {}
                SubscriptionEvent::Failed {
                    code,
                    reason,
                    retry_in,
                    ..
                } => {
                    tracing::info!(account, code, %reason, ?retry_in, "watching voicemail failed");
                }
            }
        }
        moved
    }
}

fn voicemail(s: mwi::Summary, voicemail_number: Option<String>) -> PresenceEvent {
    let voice = s.voice.unwrap_or_default();
    PresenceEvent::Voicemail {
        waiting: s.waiting,
        new: voice.new,
        old: voice.old,
        urgent_new: voice.urgent_new,
        message_account: s.account,
        voicemail_number,
    }
}

fn unavailable(reason: &str, retry_in: Option<Duration>) -> UiError {
    let retry = retry_in.map_or(String::new(), |d| {
        format!(" Homeline tries again in {} s.", d.as_secs())
    });
    UiError::new(
        "presence_unavailable",
        format!("Presence is not available from your provider: {reason}."),
        format!("Calls and messages still work.{retry}"),
    )
}

/// Answers a command that reached an endpoint without an account (direct calls).
pub(crate) fn refuse_without_account(c: PresenceCommand) {
    if let PresenceCommand::Set { reply, .. } = c {
        let _ = reply.send(Err(UiError::new(
            "presence_unavailable",
            "Presence needs an account with a server.",
            "Choose an account that registers with a server.",
        )));
    }
}

impl crate::Phone {
    /// Presence events of every account from now on.
    pub fn subscribe_presence(&self) -> broadcast::Receiver<AccountPresence> {
        self.sip_runtime().subscribe_presence()
    }

    /// Sets and publishes our status on the account (which must be started).
    pub async fn set_presence(
        &self,
        account_id: &str,
        status: Status,
        note: Option<String>,
    ) -> Result<(), UiError> {
        let (reply, answer) = oneshot::channel();
        let cmd = CallCommand::Presence(PresenceCommand::Set {
            status,
            note,
            reply,
        });
        if !self.call_command(account_id, cmd) {
            return Err(not_running());
        }
        answer.await.map_err(|_| not_running())?
    }

    /// Watches `target` (a SIP URI, `user@host`, or a user at the account's domain); its
    /// status arrives through [`crate::Phone::subscribe_presence`]. Returns the URI watched.
    pub fn watch_presence(&self, account_id: &str, target: &str) -> Result<String, UiError> {
        let aor = self
            .list_accounts()
            .into_iter()
            .find(|a| a.id == account_id)
            .map(|a| a.sip_address)
            .unwrap_or_default();
        let uri = crate::presence::chat::message_uri(target, &aor);
        let cmd = CallCommand::Presence(PresenceCommand::Watch { uri: uri.clone() });
        if self.call_command(account_id, cmd) {
            Ok(uri)
        } else {
            Err(not_running())
        }
    }
}

fn not_running() -> UiError {
    UiError::new(
        "not_registered",
        "The account is not connected, so presence cannot be sent or watched.",
        "Wait until the account is registered, or check its settings.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeline_sip::transaction::{TimerConfig, TransportKind};

    fn published(layer: &mut TransactionLayer) -> Vec<String> {
        std::iter::from_fn(|| layer.poll_transmit())
            .map(|t| String::from_utf8_lossy(&t.bytes()).into_owned())
            .filter(|m| m.starts_with("PUBLISH "))
            .collect()
    }

    #[test]
    fn dnd_and_on_the_phone_follow_status_and_calls() {
        let now = Instant::now();
        let mut cfg = CallConfig::new(
            "sip:alice@example.com",
            "192.0.2.1:5060".parse().unwrap(),
            TransportKind::Udp,
        );
        cfg.outbound_proxy = Some(Peer {
            transport: TransportKind::Udp,
            addr: "192.0.2.9:5060".parse().unwrap(),
        });
        let mut layer = TransactionLayer::new(TimerConfig::default());
        let mut agent = Agent::new(&cfg, 1, Intent::default());
        // No status set: a call publishes nothing (the user never opted in).
        agent.calls_changed(now, &mut layer, true);
        assert!(published(&mut layer).is_empty());
        agent.calls_changed(now, &mut layer, false);

        let (reply, _) = oneshot::channel();
        let set = |status, reply| {
            CallCommand::Presence(PresenceCommand::Set {
                status,
                note: Some("desk".into()),
                reply,
            })
        };
        assert!(
            agent
                .execute(now, &mut layer, set(Status::Busy, reply))
                .is_none()
        );
        assert!(agent.dnd());
        let p = published(&mut layer);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("<rpid:busy/>") && p[0].contains("desk"),
            "{}",
            p[0]
        );

        let (reply, _) = oneshot::channel();
        agent.execute(now, &mut layer, set(Status::Available, reply));
        assert!(!agent.dnd());
        // One request at a time (RFC 3903 §4.1): the change waits for the answer, so the
        // layer shows nothing new until then; the effective status is what matters here.
        agent.calls_changed(now, &mut layer, true);
        assert_eq!(agent.effective().map(|(s, _)| s), Some(Status::OnThePhone));
        agent.calls_changed(now, &mut layer, false);
        assert_eq!(agent.effective().map(|(s, _)| s), Some(Status::Available));
        // Appearing offline stays offline during a call.
        let (reply, _) = oneshot::channel();
        agent.execute(now, &mut layer, set(Status::Offline, reply));
        agent.calls_changed(now, &mut layer, true);
        assert_eq!(agent.effective().map(|(s, _)| s), Some(Status::Offline));
    }
}
