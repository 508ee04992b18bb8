//! The chat history: every message sent and received, per contact, kept across crashes.
//!
//! * File: `chat.jsonl` beside `contacts.json`. A journal like the call history: one JSON
//!   [`Line`] per line, appended and flushed to disk (`fsync`) before the call returns, so a
//!   crash loses at most the line being written; a torn last line and lines that are not
//!   [`Line`]s are skipped (and counted), never fatal.
//! * A message we send is one `message` line (state `sending`); its final response adds one
//!   `outcome` line (`delivered` or `failed` with the reason), matched by account and the id
//!   `send_message` gave. An outcome that comes before its message (a very fast answer) waits
//!   in memory for it, the same way when the file is read back.
//! * Threads are keyed by the peer's address as [`super::address_key`] sees it
//!   (`"Bob" <sip:bob@example.com;transport=tcp>` and `bob@example.com` are one thread).
//! * Text is stored as received: UTF-8, byte-exact.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::address_key;

/// The chat history file's name.
pub const CHAT_FILE_NAME: &str = "chat.jsonl";

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the peer to us.
    Incoming,
    /// From us to the peer.
    Outgoing,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Received (incoming messages).
    Received,
    /// Sent, no final response yet.
    Sending,
    /// Accepted by the server or the peer (`2xx`).
    Delivered,
    /// Refused or unanswered.
    Failed,
}

/// One chat message as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The account it went through.
    pub account_id: String,
    /// The peer's address as it was given or arrived.
    pub peer: String,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The text, UTF-8, exactly as sent.
    pub text: String,
    /// RFC 3339 UTC time it was sent or arrived here.
    pub time: String,
    /// Outgoing: the id `send_message` gave (per account); `None` for incoming.
    #[serde(default)]
    pub msg_id: Option<u64>,
    /// Where it stands.
    pub state: MessageState,
    /// Why it failed, in plain words.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// A message sent or received.
    Message(ChatMessage),
    /// The final outcome of a message we sent.
    Outcome {
        /// The account.
        account_id: String,
        /// The id `send_message` gave.
        msg_id: u64,
        /// `Delivered` or `Failed`.
        state: MessageState,
        /// Why it failed.
        #[serde(default)]
        reason: Option<String>,
    },
}

/// Errors of the chat history.
#[derive(Debug, thiserror::Error)]
pub enum ChatLogError {
    /// The file exists but could not be read.
    #[error("could not read the chat history {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Appending failed.
    #[error("could not write the chat history {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The chat history of one file, in memory and written through.
#[derive(Debug)]
pub struct ChatLog {
    path: PathBuf,
    /// Oldest first.
    messages: Vec<ChatMessage>,
    /// (account, msg_id) → index in `messages`, for outgoing messages.
    by_id: HashMap<(String, u64), usize>,
    /// Outcomes that came before their message.
    early: HashMap<(String, u64), (MessageState, Option<String>)>,
    /// The file does not end with a newline: the next append starts with one.
    torn_tail: bool,
    /// Lines skipped when the file was read.
    skipped: usize,
}

impl ChatLog {
    /// Reads the journal at `path`; a missing file is an empty history.
    pub fn open(path: impl Into<PathBuf>) -> Result<ChatLog, ChatLogError> {
        let path = path.into();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(ChatLogError::Read { path, source }),
        };
        let mut log = ChatLog {
            torn_tail: bytes.last().is_some_and(|b| *b != b'\n'),
            path,
            messages: Vec::new(),
            by_id: HashMap::new(),
            early: HashMap::new(),
            skipped: 0,
        };
        for line in bytes.split(|b| *b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Line>(line) {
                Ok(l) => log.apply(l),
                Err(_) => log.skipped += 1,
            }
        }
        if log.skipped > 0 {
            // Not the content: it is private.
            tracing::warn!(file = %log.path.display(), skipped = log.skipped,
                "chat history: skipped lines that are not messages (a crash while writing?)");
        }
        Ok(log)
    }

    /// Lines skipped when the file was read.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The thread with `peer` (any form of its address), oldest first.
    pub fn thread(&self, peer: &str) -> Vec<ChatMessage> {
        let key = address_key(peer);
        self.messages
            .iter()
            .filter(|m| address_key(&m.peer) == key)
            .cloned()
            .collect()
    }

    /// Records a message that arrived; returns it as stored.
    pub fn record_received(
        &mut self,
        account_id: &str,
        from: &str,
        text: &str,
        time: &str,
    ) -> Result<ChatMessage, ChatLogError> {
        let m = ChatMessage {
            account_id: account_id.to_owned(),
            peer: from.to_owned(),
            direction: Direction::Incoming,
            text: text.to_owned(),
            time: time.to_owned(),
            msg_id: None,
            state: MessageState::Received,
            reason: None,
        };
        self.write(Line::Message(m.clone()))?;
        Ok(m)
    }

    /// Records a message we sent (id from `send_message`); returns it as stored — already
    /// delivered or failed when its outcome came first.
    pub fn record_sent(
        &mut self,
        account_id: &str,
        peer: &str,
        text: &str,
        time: &str,
        msg_id: u64,
    ) -> Result<ChatMessage, ChatLogError> {
        let m = ChatMessage {
            account_id: account_id.to_owned(),
            peer: peer.to_owned(),
            direction: Direction::Outgoing,
            text: text.to_owned(),
            time: time.to_owned(),
            msg_id: Some(msg_id),
            state: MessageState::Sending,
            reason: None,
        };
        self.write(Line::Message(m))?;
        Ok(self.messages[self.messages.len() - 1].clone())
    }

    /// Records the final outcome of a message we sent; returns the message when it is known.
    pub fn record_outcome(
        &mut self,
        account_id: &str,
        msg_id: u64,
        delivered: bool,
        reason: Option<String>,
    ) -> Result<Option<ChatMessage>, ChatLogError> {
        let state = if delivered {
            MessageState::Delivered
        } else {
            MessageState::Failed
        };
        self.write(Line::Outcome {
            account_id: account_id.to_owned(),
            msg_id,
            state,
            reason,
        })?;
        Ok(self
            .by_id
            .get(&(account_id.to_owned(), msg_id))
            .map(|i| self.messages[*i].clone()))
    }

    /// Appends `line` to the file (fsync), then applies it in memory.
    fn write(&mut self, line: Line) -> Result<(), ChatLogError> {
        let err = |source| ChatLogError::Write {
            path: self.path.clone(),
            source,
        };
        let mut bytes = Vec::new();
        if self.torn_tail {
            bytes.push(b'\n');
        }
        serde_json::to_writer(&mut bytes, &line).map_err(|e| err(io::Error::other(e)))?;
        bytes.push(b'\n');
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = open_append(&self.path).map_err(err)?;
        file.write_all(&bytes).map_err(err)?;
        file.sync_data().map_err(err)?;
        self.torn_tail = false;
        self.apply(line);
        Ok(())
    }

    /// Applies one line to the memory (reading the file and writing alike).
    fn apply(&mut self, line: Line) {
        match line {
            Line::Message(mut m) => {
                if let Some(id) = m.msg_id {
                    let key = (m.account_id.clone(), id);
                    if let Some((state, reason)) = self.early.remove(&key) {
                        m.state = state;
                        m.reason = reason;
                    }
                    self.by_id.insert(key, self.messages.len());
                }
                self.messages.push(m);
            }
            Line::Outcome {
                account_id,
                msg_id,
                state,
                reason,
            } => {
                let key = (account_id, msg_id);
                match self.by_id.get(&key) {
                    Some(i) => {
                        let m = &mut self.messages[*i];
                        m.state = state;
                        m.reason = reason;
                    }
                    None => {
                        self.early.insert(key, (state, reason));
                    }
                }
            }
        }
    }
}

/// Opens the journal for appending, readable by its owner only when created: it holds
/// private conversations.
fn open_append(path: &std::path::Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(CHAT_FILE_NAME);
        (dir, path)
    }

    #[test]
    fn threads_per_contact_in_three_scripts_survive_a_reopen_byte_exact() {
        let (_dir, path) = fixture();
        let mut log = ChatLog::open(&path).unwrap();
        assert!(log.thread("sip:bob@example.com").is_empty());
        let t = "2026-12-04T17:00:00Z";
        log.record_received(
            "a1",
            "\"Иван\" <sip:ivan@example.ru;transport=tcp>",
            "Привет! 🙂",
            t,
        )
        .unwrap();
        log.record_sent("a1", "ivan@example.ru", "你好，世界", t, 7)
            .unwrap();
        log.record_sent("a1", "sip:bob@example.com", "hello", t, 8)
            .unwrap();
        let delivered = log.record_outcome("a1", 7, true, None).unwrap().unwrap();
        assert_eq!(delivered.state, MessageState::Delivered);
        log.record_outcome("a1", 8, false, Some("Bob is offline.".into()))
            .unwrap();

        let log = ChatLog::open(&path).unwrap();
        assert_eq!(log.skipped(), 0);
        let ivan = log.thread("sip:ivan@example.ru");
        assert_eq!(ivan.len(), 2);
        assert_eq!(ivan[0].text.as_bytes(), "Привет! 🙂".as_bytes());
        assert_eq!(ivan[0].direction, Direction::Incoming);
        assert_eq!(ivan[0].state, MessageState::Received);
        assert_eq!(ivan[1].text, "你好，世界");
        assert_eq!(ivan[1].state, MessageState::Delivered);
        let bob = log.thread("bob@EXAMPLE.com");
        assert_eq!(bob.len(), 1);
        assert_eq!(bob[0].state, MessageState::Failed);
        assert_eq!(bob[0].reason.as_deref(), Some("Bob is offline."));
    }

    #[test]
    fn an_outcome_before_its_message_is_applied_live_and_on_reading() {
        let (_dir, path) = fixture();
        let mut log = ChatLog::open(&path).unwrap();
        assert_eq!(log.record_outcome("a1", 3, true, None).unwrap(), None);
        let m = log
            .record_sent("a1", "sip:bob@example.com", "fast", "t", 3)
            .unwrap();
        assert_eq!(m.state, MessageState::Delivered);
        // Same id on another account is another message.
        let other = log
            .record_sent("a2", "sip:bob@example.com", "slow", "t", 3)
            .unwrap();
        assert_eq!(other.state, MessageState::Sending);
        let again = ChatLog::open(&path).unwrap().thread("sip:bob@example.com");
        assert_eq!(
            again.iter().map(|m| m.state).collect::<Vec<_>>(),
            vec![MessageState::Delivered, MessageState::Sending]
        );
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_append_starts_clean() {
        let (_dir, path) = fixture();
        let mut log = ChatLog::open(&path).unwrap();
        log.record_received("a1", "sip:bob@example.com", "one", "t")
            .unwrap();
        // A crash in the middle of the second write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"type":"message","account_id":"a1","peer":"sip:bo"#)
            .unwrap();
        drop(f);

        let mut log = ChatLog::open(&path).unwrap();
        assert_eq!(log.skipped(), 1);
        assert_eq!(log.thread("sip:bob@example.com").len(), 1);
        log.record_received("a1", "sip:bob@example.com", "two", "t")
            .unwrap();
        let log = ChatLog::open(&path).unwrap();
        assert_eq!(log.skipped(), 1, "the torn line stays one line");
        let texts: Vec<_> = log
            .thread("sip:bob@example.com")
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(texts, vec!["one", "two"]);
    }

    #[test]
    fn a_write_that_fails_is_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("data");
        fs::write(&blocker, b"").unwrap();
        let mut log = ChatLog {
            path: blocker.join(CHAT_FILE_NAME),
            messages: Vec::new(),
            by_id: HashMap::new(),
            early: HashMap::new(),
            torn_tail: false,
            skipped: 0,
        };
        assert!(matches!(
            log.record_received("a1", "sip:bob@example.com", "x", "t"),
            Err(ChatLogError::Write { .. })
        ));
        assert!(log.thread("sip:bob@example.com").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = fixture();
        let mut log = ChatLog::open(&path).unwrap();
        log.record_received("a1", "sip:bob@example.com", "x", "t")
            .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
