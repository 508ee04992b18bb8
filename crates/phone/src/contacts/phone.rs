//! The address book as [`Phone`](crate::Phone) offers it to the UI and the CLI.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::chat_log::{CHAT_FILE_NAME, ChatLog, ChatMessage};
use super::{Contact, ContactInput, ContactStore, ContactsError, default_contacts_path};
use crate::api::UiError;
use crate::presence::chat::{AccountMessage, ChatEvent, now_rfc3339};
use crate::{Error, Phone};

/// The book as the phone holds it: opened at first use (so opening the phone never waits for
/// it, and a damaged file is reported at each use rather than replaced), behind a lock.
#[derive(Debug)]
pub(crate) struct SharedContacts {
    path: Option<PathBuf>,
    open: Mutex<Option<ContactStore>>,
    chat: Mutex<Option<ChatLog>>,
}

impl SharedContacts {
    /// `contacts.json` beside the call history when its path is given, else in the platform
    /// data folder; `None` (no home) fails at use with [`ContactsError::NoDataDir`].
    pub(crate) fn beside(history_path: Option<&std::path::Path>) -> Self {
        let path = match history_path.and_then(|p| p.parent()) {
            Some(dir) => Some(dir.join(super::CONTACTS_FILE_NAME)),
            None => default_contacts_path(),
        };
        Self {
            path,
            open: Mutex::new(None),
            chat: Mutex::new(None),
        }
    }

    /// Runs `f` on the chat history (`chat.jsonl` beside the contacts), opening it first.
    fn chat<R>(&self, f: impl FnOnce(&mut ChatLog) -> R) -> Result<R, UiError> {
        // ChatLog changes its memory only after a successful append: a poisoned lock still
        // holds a consistent history.
        let mut slot = self.chat.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let path = self
                .path
                .as_ref()
                .and_then(|p| p.parent())
                .map(|d| d.join(CHAT_FILE_NAME))
                .ok_or_else(|| chat_error("Homeline has no data folder for the chat history."))?;
            *slot = Some(ChatLog::open(path).map_err(|e| chat_error(&e.to_string()))?);
        }
        match &mut *slot {
            Some(log) => Ok(f(log)),
            None => Err(chat_error("The chat history is not open.")),
        }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut ContactStore) -> Result<R, ContactsError>,
    ) -> Result<R, ContactsError> {
        // ContactStore changes its memory only after a successful write, so a poisoned lock
        // still holds a consistent book.
        let mut slot = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let path = self.path.clone().ok_or(ContactsError::NoDataDir)?;
            *slot = Some(ContactStore::open(path)?);
        }
        match &mut *slot {
            Some(book) => f(book),
            None => Err(ContactsError::NoDataDir),
        }
    }
}

fn chat_error(what: &str) -> UiError {
    UiError::new(
        "chat_history_failed",
        crate::error::capitalise(what),
        "Check that the disk is not full and that you may write to Homeline's data folder. \
         Messages still go out; only their history is affected.",
    )
}

impl Phone {
    /// The chat thread with `peer` (any form of its address), oldest first.
    pub fn chat_thread(&self, peer: &str) -> Result<Vec<ChatMessage>, UiError> {
        self.shared_contacts().chat(|log| log.thread(peer))
    }

    /// Sends `text` to `target` from the account and records it (state `sending`; the final
    /// response arrives through [`Phone::subscribe_messages`] and
    /// [`Phone::record_chat_event`]).
    pub async fn send_chat(
        &self,
        account_id: &str,
        target: &str,
        text: &str,
    ) -> Result<ChatMessage, UiError> {
        if text.trim().is_empty() {
            return Err(UiError::new(
                "empty_message",
                "The message is empty.",
                "Type something to send.",
            ));
        }
        let id = self.send_message(account_id, target, text).await?;
        self.shared_contacts()
            .chat(|log| log.record_sent(account_id, target, text, &now_rfc3339(), id))?
            .map_err(|e| chat_error(&e.to_string()))
    }

    /// Records a chat event of an account (a message received, or the outcome of one sent)
    /// and returns the message as the thread now holds it.
    pub fn record_chat_event(
        &self,
        event: &AccountMessage,
    ) -> Result<Option<ChatMessage>, UiError> {
        let a = event.account_id.as_str();
        let done = self.shared_contacts().chat(|log| match &event.event {
            ChatEvent::Received {
                from, text, time, ..
            } => log.record_received(a, from, text, time).map(Some),
            ChatEvent::Delivered { id, .. } => log.record_outcome(a, *id, true, None),
            ChatEvent::Failed { id, reason, .. } => {
                log.record_outcome(a, *id, false, Some(reason.clone()))
            }
        })?;
        done.map_err(|e| chat_error(&e.to_string()))
    }

    /// All contacts, sorted by name.
    pub fn contacts(&self) -> Result<Vec<Contact>, Error> {
        Ok(self.shared_contacts().with(|b| Ok(b.list()))?)
    }

    /// The contacts matching every word of `query` (see [`ContactStore::search`]).
    pub fn search_contacts(&self, query: &str) -> Result<Vec<Contact>, Error> {
        Ok(self.shared_contacts().with(|b| Ok(b.search(query)))?)
    }

    /// Adds (`id: None`) or edits a contact; written to disk before it returns.
    pub fn save_contact(&self, input: ContactInput) -> Result<Contact, Error> {
        Ok(self.shared_contacts().with(|b| b.save(input))?)
    }

    /// Removes a contact; written to disk before it returns.
    pub fn remove_contact(&self, id: &str) -> Result<(), Error> {
        Ok(self.shared_contacts().with(|b| b.remove(id))?)
    }

    /// The contact whose address is `remote` (a URI from the wire, or a number), if any.
    pub fn contact_by_address(&self, remote: &str) -> Result<Option<Contact>, Error> {
        Ok(self
            .shared_contacts()
            .with(|b| Ok(b.find_by_address(remote).cloned()))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryKeyring, PhoneOptions, SecretBackendChoice, UiError};

    fn open(dir: &std::path::Path) -> Phone {
        Phone::open(PhoneOptions {
            config_path: Some(dir.join("homeline.toml")),
            log_dir: Some(dir.join("logs")),
            secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
            history_path: Some(dir.join("data").join("history.jsonl")),
        })
        .unwrap()
    }

    fn input(name: &str, address: &str) -> ContactInput {
        ContactInput {
            id: None,
            name: name.into(),
            address: address.into(),
            note: String::new(),
        }
    }

    #[test]
    fn phone_keeps_contacts_beside_the_history_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let phone = open(dir.path());
        assert!(phone.contacts().unwrap().is_empty());
        let ivan = phone
            .save_contact(input("Иван", "sip:ivan@example.ru"))
            .unwrap();
        assert!(dir.path().join("data").join("contacts.json").exists());
        drop(phone);

        let phone = open(dir.path());
        assert_eq!(phone.contacts().unwrap(), vec![ivan.clone()]);
        assert_eq!(phone.search_contacts("ИВАН").unwrap(), vec![ivan.clone()]);
        assert_eq!(
            phone
                .contact_by_address("<sip:ivan@example.ru>;tag=1")
                .unwrap(),
            Some(ivan.clone())
        );
        phone.remove_contact(&ivan.id).unwrap();
        assert!(open(dir.path()).contacts().unwrap().is_empty());
    }

    #[test]
    fn chat_events_are_recorded_per_contact_and_survive_a_restart() {
        use crate::presence::chat::{AccountMessage, ChatEvent};
        let dir = tempfile::tempdir().unwrap();
        let phone = open(dir.path());
        let got = phone
            .record_chat_event(&AccountMessage {
                account_id: "a1".into(),
                event: ChatEvent::Received {
                    from: "sip:wang@example.cn".into(),
                    display_name: None,
                    text: "你好 — привет".into(),
                    time: "2026-12-04T17:00:00Z".into(),
                    date: None,
                },
            })
            .unwrap()
            .unwrap();
        assert_eq!(got.text, "你好 — привет");
        // An outcome for a message this history never saw is kept, not an error.
        let none = phone
            .record_chat_event(&AccountMessage {
                account_id: "a1".into(),
                event: ChatEvent::Delivered { id: 99, code: 200 },
            })
            .unwrap();
        assert_eq!(none, None);
        drop(phone);
        let thread = open(dir.path()).chat_thread("wang@example.cn").unwrap();
        assert_eq!(thread, vec![got]);
        assert!(dir.path().join("data").join("chat.jsonl").exists());
    }

    #[test]
    fn errors_reach_the_ui_in_plain_words() {
        let dir = tempfile::tempdir().unwrap();
        let phone = open(dir.path());
        let ui = UiError::from(phone.save_contact(input("", "100")).unwrap_err());
        assert_eq!(ui.code, "invalid_contact");
        assert!(
            ui.message.starts_with("The name is empty"),
            "{}",
            ui.message
        );
        assert!(ui.hint.contains("\u{201c}Name\u{201d}"), "{}", ui.hint);

        let ui = UiError::from(phone.remove_contact("nope").unwrap_err());
        assert_eq!(ui.code, "contact_not_found");

        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data").join("contacts.json"), b"{oops").unwrap();
        let phone = open(dir.path());
        let ui = UiError::from(phone.contacts().unwrap_err());
        assert_eq!(ui.code, "contacts_damaged");
        assert!(ui.hint.contains("left the file as it is"), "{}", ui.hint);
        assert_eq!(
            std::fs::read(dir.path().join("data").join("contacts.json")).unwrap(),
            b"{oops"
        );
    }
}
