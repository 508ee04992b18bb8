//! The address book: the people the user calls and chats with.
//!
//! * File: `contacts.json` in the platform's local data folder, beside `history.jsonl`
//!   (`~/.local/share/homeline/` on Linux), or a path given to [`ContactStore::open`].
//!   Readable by its owner only (the temporary file it is renamed from is created so).
//! * Format: `{"version": 1, "contacts": [Contact, …]}`, pretty-printed UTF-8 JSON.
//! * Every change is written before it returns, atomically (temporary file in the same folder,
//!   `fsync`, rename — the same [`replace_file`] as the configuration): a crash leaves the old
//!   book or the new one, never half of one. When the write fails the change is undone in
//!   memory too, so what the user sees is what is on disk.
//! * A file that cannot be understood is never overwritten: opening it fails with
//!   [`ContactsError::Unreadable`] and the user keeps the file to repair or send us.
//!
//! ```no_run
//! # use homeline_phone::contacts::{ContactInput, ContactStore};
//! # fn main() -> Result<(), homeline_phone::contacts::ContactsError> {
//! let mut book = ContactStore::open("/tmp/contacts.json")?;
//! let bob = book.save(ContactInput {
//!     id: None,
//!     name: "Bob Builder".into(),
//!     address: "sip:bob@example.com".into(),
//!     note: "Site office".into(),
//! })?;
//! assert_eq!(book.search("builder")[0].id, bob.id);
//! book.remove(&bob.id)?;
//! # Ok(()) }
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{project_dirs, replace_file};

pub mod chat_log;
mod phone;
pub(crate) use phone::SharedContacts;

/// A contact's (or our own) presence status, for the shell's presence commands.
pub use homeline_presence::Status as PresenceStatus;

/// The contacts file's name.
pub const CONTACTS_FILE_NAME: &str = "contacts.json";
/// The format version written and understood.
pub const FORMAT_VERSION: u32 = 1;
/// Most contacts the book holds (the presence goal is 500 watched contacts; this leaves room).
pub const MAX_CONTACTS: usize = 5_000;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest SIP address or number, in characters.
pub const MAX_ADDRESS_CHARS: usize = 256;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// One contact as stored and as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Stable identifier (16 hex digits), chosen when the contact is added.
    pub id: String,
    /// The name shown and searched.
    pub name: String,
    /// A SIP address (`sip:bob@example.com`, also written `bob@example.com`) or a phone number
    /// (`+44 20 7946 0958`), as the user typed it, trimmed.
    pub address: String,
    /// The user's own note about the contact (not the contact's presence note).
    #[serde(default)]
    pub note: String,
}

/// What the UI sends to add (`id: None`) or edit a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    /// `None` adds a contact; `Some(id)` replaces that contact.
    #[serde(default)]
    pub id: Option<String>,
    /// The name; required.
    pub name: String,
    /// A SIP address or a phone number; required.
    pub address: String,
    /// Optional note.
    #[serde(default)]
    pub note: String,
}

/// The field of a [`ContactInput`] that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    /// [`ContactInput::name`].
    Name,
    /// [`ContactInput::address`].
    Address,
    /// [`ContactInput::note`].
    Note,
}

impl ContactField {
    /// The field's label in the contact form.
    pub fn label(self) -> &'static str {
        match self {
            ContactField::Name => "Name",
            ContactField::Address => "SIP address or number",
            ContactField::Note => "Note",
        }
    }
}

/// Errors of the address book.
#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    /// No home directory, so no platform data directory.
    #[error("no home directory was found, so there is no place for the contacts")]
    NoDataDir,
    /// The file exists but could not be read.
    #[error("could not read the contacts {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file was read but is not a contact list Homeline understands; it is left as it is.
    #[error("the contacts file {path} is damaged or from a newer Homeline: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// Writing the file failed; nothing changed.
    #[error("could not save the contacts {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A field of the input was refused.
    #[error("{reason}")]
    Invalid {
        /// Which field.
        field: ContactField,
        /// Why, in plain words.
        reason: String,
    },
    /// No contact has this id.
    #[error("there is no contact with the id {0}")]
    NotFound(String),
    /// The book is full.
    #[error("the address book is full ({MAX_CONTACTS} contacts)")]
    Full,
}

/// The contacts file to use when none is given: `contacts.json` in the platform's local data
/// folder; `None` without a home directory.
pub fn default_contacts_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_local_dir().join(CONTACTS_FILE_NAME))
}

/// The file's layout.
#[derive(Serialize, Deserialize)]
struct ContactsFile {
    version: u32,
    #[serde(default)]
    contacts: Vec<Contact>,
}

/// The address book of one file, held in memory and written through to the file.
#[derive(Debug)]
pub struct ContactStore {
    path: PathBuf,
    /// In the order added.
    contacts: Vec<Contact>,
}

impl ContactStore {
    /// Reads the book at `path`; a missing file is an empty book (the file is created by the
    /// first change). Fails when the file cannot be read or understood — it is then left alone.
    pub fn open(path: impl Into<PathBuf>) -> Result<ContactStore, ContactsError> {
        let path = path.into();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(ContactStore {
                    path,
                    contacts: Vec::new(),
                });
            }
            Err(source) => return Err(ContactsError::Read { path, source }),
        };
        let unreadable = |reason: String| ContactsError::Unreadable {
            path: path.clone(),
            reason,
        };
        let file: ContactsFile = serde_json::from_slice(&bytes).map_err(|e| {
            unreadable(format!(
                "it is not a contact list (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.version != FORMAT_VERSION {
            return Err(unreadable(format!(
                "it has format version {}, this Homeline reads version {FORMAT_VERSION}",
                file.version
            )));
        }
        tracing::debug!(file = %path.display(), contacts = file.contacts.len(), "contacts read");
        Ok(ContactStore {
            path,
            contacts: file.contacts,
        })
    }

    /// The file this book is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All contacts, sorted by name (case-insensitively), then address.
    pub fn list(&self) -> Vec<Contact> {
        let mut all = self.contacts.clone();
        sort_by_name(&mut all);
        all
    }

    /// The contact with this id.
    pub fn get(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// The contacts whose name, address or note contains every word of `query`, ignoring
    /// case (Unicode lower case, so "иван" finds "Иван"), sorted as [`list`](Self::list). For
    /// a query with digits, numbers also match ignoring spaces, dashes, dots and brackets
    /// ("4420" finds "+44 20 7946"). An empty query lists all.
    pub fn search(&self, query: &str) -> Vec<Contact> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut found: Vec<Contact> = self
            .contacts
            .iter()
            .filter(|c| {
                let hay = format!("{}\n{}\n{}", c.name, c.address, c.note).to_lowercase();
                let digits = dial_digits(&c.address);
                words.iter().all(|w| {
                    hay.contains(w.as_str()) || {
                        let wd = dial_digits(w);
                        !wd.is_empty() && wd.len() == w.len() && digits.contains(&wd)
                    }
                })
            })
            .cloned()
            .collect();
        sort_by_name(&mut found);
        found
    }

    /// The contact whose address is `remote` (a SIP URI as it arrives in a message or a
    /// NOTIFY, or a number), if any: to name the sender of a chat message or a caller.
    pub fn find_by_address(&self, remote: &str) -> Option<&Contact> {
        let key = address_key(remote);
        self.contacts
            .iter()
            .find(|c| !key.is_empty() && address_key(&c.address) == key)
    }

    /// Adds (`input.id == None`) or replaces a contact, writes the book and returns the
    /// contact as stored.
    pub fn save(&mut self, input: ContactInput) -> Result<Contact, ContactsError> {
        if let Some(id) = &input.id {
            if self.get(id).is_none() {
                return Err(ContactsError::NotFound(id.clone()));
            }
        } else if self.contacts.len() >= MAX_CONTACTS {
            return Err(ContactsError::Full);
        }
        let contact = validate(input, || self.new_id())?;
        let mut next = self.contacts.clone();
        match next.iter_mut().find(|c| c.id == contact.id) {
            Some(slot) => *slot = contact.clone(),
            None => next.push(contact.clone()),
        }
        self.commit(next)?;
        Ok(contact)
    }

    /// Removes the contact with this id and writes the book.
    pub fn remove(&mut self, id: &str) -> Result<(), ContactsError> {
        let mut next = self.contacts.clone();
        let before = next.len();
        next.retain(|c| c.id != id);
        if next.len() == before {
            return Err(ContactsError::NotFound(id.to_owned()));
        }
        self.commit(next)
    }

    /// Writes `next` and makes it the book; on failure nothing changes.
    fn commit(&mut self, next: Vec<Contact>) -> Result<(), ContactsError> {
        self.commit_with(next, |_| Ok(()))
    }

    fn commit_with(
        &mut self,
        next: Vec<Contact>,
        before_persist: impl FnOnce(&mut fs::File) -> io::Result<()>,
    ) -> Result<(), ContactsError> {
        let file = ContactsFile {
            version: FORMAT_VERSION,
            contacts: next,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| ContactsError::Write {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        bytes.push(b'\n');
        replace_file(&self.path, &bytes, before_persist).map_err(|source| {
            ContactsError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        self.contacts = file.contacts;
        Ok(())
    }

    /// A fresh id no contact has.
    fn new_id(&self) -> String {
        loop {
            // Time and a counter are the fallback when the OS has no randomness to give.
            let fallback = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                ^ (self.contacts.len() as u64).rotate_left(32);
            let id = format!("{:016x}", getrandom::u64().unwrap_or(fallback));
            if self.get(&id).is_none() {
                return id;
            }
        }
    }
}

/// Sorts by name ignoring case, then by address, so the list reads like a phone book.
fn sort_by_name(contacts: &mut [Contact]) {
    contacts.sort_by_cached_key(|c| (c.name.to_lowercase(), c.address.to_lowercase()));
}

/// The digits (and a leading `+`) of a number, for matching numbers however they are spaced.
fn dial_digits(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .filter(char::is_ascii_digit)
        .collect()
}

/// What two addresses must share to be the same contact: for SIP the `user@host` part in
/// lower case (no scheme, no parameters, no display name), for numbers their digits.
fn address_key(address: &str) -> String {
    let a = address.trim();
    // `"Bob" <sip:bob@example.com;transport=tcp>` → `sip:bob@example.com;transport=tcp`.
    let a = match (a.find('<'), a.rfind('>')) {
        (Some(open), Some(close)) if open < close => &a[open + 1..close],
        _ => a,
    };
    if let Ok(uri) = parse_sip(a) {
        let user = uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default();
        let host = uri.host_with_port.host.to_string().to_lowercase();
        if user.is_empty() {
            return host;
        }
        // A number dialled through the provider: `sip:+4420…@pbx` is the number `+4420…`.
        if is_number(&user) {
            return dial_digits(&user);
        }
        return format!("{}@{host}", user.to_lowercase());
    }
    if is_number(a) {
        return dial_digits(a);
    }
    a.to_lowercase()
}

/// Parses a SIP address written with or without its `sip:` scheme.
fn parse_sip(a: &str) -> Result<rsip::Uri, rsip::Error> {
    let lower = a.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        rsip::Uri::try_from(a)
    } else if a.contains('@') {
        rsip::Uri::try_from(format!("sip:{a}").as_str())
    } else {
        Err(rsip::Error::ParseError("not a SIP address".into()))
    }
}

/// A phone number as people write it: digits with an optional leading `+`, spaces, dashes,
/// dots, slashes, brackets, and the keypad's `*` and `#`.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('+').unwrap_or(s);
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '*' | '#')
        })
}

/// Checks and trims an input; `new_id` gives the id of a new contact.
fn validate(
    input: ContactInput,
    new_id: impl FnOnce() -> String,
) -> Result<Contact, ContactsError> {
    let invalid = |field, reason: &str| ContactsError::Invalid {
        field,
        reason: reason.to_owned(),
    };
    let name = input.name.trim().to_owned();
    let address = input.address.trim().to_owned();
    let note = input.note.trim().to_owned();
    if name.is_empty() {
        return Err(invalid(ContactField::Name, "the name is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            ContactField::Name,
            &format!("the name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            ContactField::Name,
            "the name contains a line break or another control character",
        ));
    }
    if address.is_empty() {
        return Err(invalid(
            ContactField::Address,
            "the SIP address or number is empty",
        ));
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(invalid(
            ContactField::Address,
            &format!("the SIP address or number is longer than {MAX_ADDRESS_CHARS} characters"),
        ));
    }
    if !is_number(&address) && parse_sip(&address).is_err() {
        return Err(invalid(
            ContactField::Address,
            "this is neither a SIP address (like sip:bob@example.com) nor a phone number",
        ));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(
            ContactField::Note,
            &format!("the note is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    let id = match input.id {
        Some(id) => id,
        None => new_id(),
    };
    Ok(Contact {
        id,
        name,
        address,
        note,
    })
}

#[cfg(test)]
mod tests;
