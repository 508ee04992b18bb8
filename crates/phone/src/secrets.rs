//! Passwords: the [`Secret`] type that keeps them out of logs, and the [`SecretStore`] that keeps
//! them in the operating system's keyring.
//!
//! Passwords live in the OS keyring (the `keyring` crate: Secret Service over D-Bus on Linux,
//! Keychain on macOS, Credential Manager on Windows) under the service name `Homeline` and the
//! account id as user name. When no keyring answers at start-up (no D-Bus session, no Secret
//! Service running) the store falls back to keeping passwords in memory for this session only
//! and says so in plain words through [`KeyringStatus`].
//!
//! Secret Service calls are blocking D-Bus calls that can wait a long time (a daemon being
//! activated, an unlock prompt nobody answers). Every keyring call therefore runs on a helper
//! thread with a time limit so that the app never hangs on a missing keyring.

use std::collections::HashMap;
use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::api::{KeyringStatus, PasswordStorage};
use crate::redact;

/// The keyring service name under which Homeline keeps its passwords.
pub const KEYRING_SERVICE: &str = "Homeline";

/// How long the start-up probe waits for the keyring.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one keyring operation may take. Longer than the probe: the keyring may show an
/// unlock prompt that a person has to answer.
const OP_TIMEOUT: Duration = Duration::from_secs(60);

/// A password. Its `Debug` and `Display` print `***`; the memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The password itself. Call only where it is really needed (sending it to the keyring,
    /// computing a digest); never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for the empty password.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Why a password could not be stored, read or deleted.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No keyring could be reached.
    #[error("the system keyring is not available: {0}")]
    Unavailable(String),
    /// The keyring did not answer in time (e.g. an unlock prompt was not answered).
    #[error("the system keyring did not answer within {0} seconds")]
    Timeout(u64),
    /// The keyring answered with an error.
    #[error("the system keyring refused the request: {0}")]
    Keyring(String),
}

/// An in-memory stand-in for the OS keyring, for tests. Clones share their contents, so a
/// test can re-open a [`Phone`](crate::Phone) and find the passwords it stored before.
#[derive(Clone, Default)]
pub struct MemoryKeyring(Arc<Mutex<HashMap<String, Secret>>>);

impl fmt::Debug for MemoryKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "MemoryKeyring({n} entries)")
    }
}

impl MemoryKeyring {
    /// Whether the keyring holds a password for `id` (for tests).
    pub fn contains(&self, id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(id)
    }
}

/// Which secret backend to use.
#[derive(Debug, Clone, Default)]
pub enum SecretBackendChoice {
    /// The OS keyring when it answers, otherwise session-only memory (what the app uses).
    #[default]
    Auto,
    /// The OS keyring or nothing: opening fails when it does not answer.
    Keyring,
    /// Keep passwords in memory for this process only.
    SessionOnly,
    /// An in-memory keyring shared between clones (tests).
    Memory(MemoryKeyring),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Keyring,
    Session,
    Memory,
}

/// Where passwords go: the OS keyring, or memory for the session.
///
/// A keyring that answered the start-up probe can still refuse to store (no default
/// collection, a locked keyring without a prompt). Then the store degrades to session-only
/// memory for the rest of the run, as if no keyring had been found, and says so in
/// [`status`](Self::status): the password the user typed is not lost.
pub struct SecretStore {
    backend: Backend,
    /// Session-only passwords: the whole store for `Session`, the fallback after a keyring
    /// refusal for `Keyring`.
    session: Mutex<HashMap<String, Secret>>,
    /// The test keyring for `Memory`.
    memory: MemoryKeyring,
    /// Set (with the user-facing status) when the keyring refused and we fell back.
    degraded: Mutex<Option<KeyringStatus>>,
    status: KeyringStatus,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

const SESSION_MESSAGE: &str = "No system keyring was found (Secret Service). Passwords are kept \
for this session only and must be entered again after Homeline restarts.";

impl SecretStore {
    /// Opens the chosen backend. With [`SecretBackendChoice::Auto`] this probes the keyring
    /// (at most about three seconds) and falls back to session-only memory.
    pub fn open(choice: SecretBackendChoice) -> Result<Self, SecretError> {
        match choice {
            SecretBackendChoice::Auto => Ok(match probe_keyring() {
                Ok(()) => Self::keyring(),
                Err(reason) => {
                    tracing::warn!(%reason, "no system keyring; passwords kept for this session only");
                    Self::session()
                }
            }),
            SecretBackendChoice::Keyring => probe_keyring()
                .map(|()| Self::keyring())
                .map_err(SecretError::Unavailable),
            SecretBackendChoice::SessionOnly => Ok(Self::session()),
            SecretBackendChoice::Memory(mem) => Ok(Self::with(
                Backend::Memory,
                mem,
                KeyringStatus {
                    available: true,
                    backend: "memory (tests)".into(),
                    message: None,
                },
            )),
        }
    }

    fn with(backend: Backend, memory: MemoryKeyring, status: KeyringStatus) -> Self {
        Self {
            backend,
            session: Mutex::new(HashMap::new()),
            memory,
            degraded: Mutex::new(None),
            status,
        }
    }

    fn keyring() -> Self {
        Self::with(
            Backend::Keyring,
            MemoryKeyring::default(),
            KeyringStatus {
                available: true,
                backend: keyring_backend_name().into(),
                message: None,
            },
        )
    }

    fn session() -> Self {
        Self::with(
            Backend::Session,
            MemoryKeyring::default(),
            KeyringStatus {
                available: false,
                backend: "session only".into(),
                message: Some(SESSION_MESSAGE.into()),
            },
        )
    }

    /// Whether passwords survive a restart, and what to tell the user if not.
    pub fn status(&self) -> KeyringStatus {
        lock(&self.degraded)
            .clone()
            .unwrap_or_else(|| self.status.clone())
    }

    fn is_degraded(&self) -> bool {
        lock(&self.degraded).is_some()
    }

    /// Where a password put in this store ends up now.
    pub fn storage(&self) -> PasswordStorage {
        match self.backend {
            Backend::Keyring if self.is_degraded() => PasswordStorage::Session,
            Backend::Keyring | Backend::Memory => PasswordStorage::Keyring,
            Backend::Session => PasswordStorage::Session,
        }
    }

    /// The password of account `id`, if one is stored.
    pub fn get(&self, id: &str) -> Result<Option<Secret>, SecretError> {
        let found = match self.backend {
            Backend::Keyring => match lock(&self.session).get(id).cloned() {
                Some(s) => Some(s),
                None => {
                    let user = id.to_string();
                    with_timeout(OP_TIMEOUT, move || {
                        match keyring::Entry::new(KEYRING_SERVICE, &user)?.get_password() {
                            Ok(p) => Ok(Some(Secret::new(p))),
                            Err(keyring::Error::NoEntry) => Ok(None),
                            Err(e) => Err(e),
                        }
                    })?
                    .map_err(keyring_error)?
                }
            },
            Backend::Session => lock(&self.session).get(id).cloned(),
            Backend::Memory => lock(&self.memory.0).get(id).cloned(),
        };
        if let Some(secret) = &found {
            redact::register(secret);
        }
        Ok(found)
    }

    /// Stores the password of account `id`, replacing any previous one.
    pub fn set(&self, id: &str, secret: &Secret) -> Result<(), SecretError> {
        redact::register(secret);
        match self.backend {
            Backend::Keyring if !self.is_degraded() => {
                let user = id.to_string();
                let value = secret.clone();
                let result = with_timeout(OP_TIMEOUT, move || {
                    keyring::Entry::new(KEYRING_SERVICE, &user)?.set_password(value.expose())
                })?
                .map_err(keyring_error);
                match result {
                    Ok(()) => {}
                    Err(SecretError::Unavailable(reason)) => {
                        self.degrade(&reason);
                        lock(&self.session).insert(id.to_string(), secret.clone());
                    }
                    Err(e) => return Err(e),
                }
            }
            Backend::Keyring | Backend::Session => {
                lock(&self.session).insert(id.to_string(), secret.clone());
            }
            Backend::Memory => {
                lock(&self.memory.0).insert(id.to_string(), secret.clone());
            }
        }
        tracing::debug!(account = id, storage = ?self.storage(), "password stored");
        Ok(())
    }

    fn degrade(&self, reason: &str) {
        tracing::warn!(%reason, "the system keyring refused a password; keeping passwords for this session only");
        *lock(&self.degraded) = Some(KeyringStatus {
            available: false,
            backend: "session only".into(),
            message: Some(format!(
                "The system keyring ({}) did not accept the password ({reason}). Passwords \
                 are kept for this session only and must be entered again after Homeline \
                 restarts.",
                keyring_backend_name()
            )),
        });
    }

    /// Deletes the password of account `id`; deleting a missing password is not an error.
    pub fn delete(&self, id: &str) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keyring => {
                lock(&self.session).remove(id);
                let user = id.to_string();
                let result = with_timeout(OP_TIMEOUT, move || {
                    match keyring::Entry::new(KEYRING_SERVICE, &user)?.delete_credential() {
                        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                        Err(e) => Err(e),
                    }
                })?
                .map_err(keyring_error);
                match result {
                    // A keyring that cannot be reached holds nothing we could delete.
                    Err(SecretError::Unavailable(_)) if self.is_degraded() => {}
                    other => other?,
                }
            }
            Backend::Session => {
                lock(&self.session).remove(id);
            }
            Backend::Memory => {
                lock(&self.memory.0).remove(id);
            }
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the map cannot leave it half-updated (single insert/remove).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn keyring_backend_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

fn keyring_error(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::NoDefaultStore => {
            SecretError::Unavailable(e.to_string())
        }
        other => SecretError::Keyring(other.to_string()),
    }
}

/// Runs `f` on a helper thread and waits at most `timeout` for it. A call that does not come
/// back is abandoned (its thread stays blocked in D-Bus; the app goes on).
fn with_timeout<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SecretError> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("homeline-keyring".into())
        .spawn(move || {
            // The caller may have stopped waiting; then nobody needs the answer.
            let _ = tx.send(f());
        })
        .map_err(|e| SecretError::Unavailable(e.to_string()))?;
    rx.recv_timeout(timeout).map_err(|e| match e {
        mpsc::RecvTimeoutError::Timeout => SecretError::Timeout(timeout.as_secs()),
        mpsc::RecvTimeoutError::Disconnected => {
            SecretError::Keyring("the keyring call stopped unexpectedly".into())
        }
    })
}

/// Checks cheaply whether the OS keyring answers: connect, then look up an entry that does not
/// exist. Returns the reason in words when it does not.
fn probe_keyring() -> Result<(), String> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let has_env = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
        let has_socket = std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|d| std::path::Path::new(&d).join("bus").exists());
        if !has_env && !has_socket {
            return Err("there is no D-Bus session bus".into());
        }
    }
    let answer = with_timeout(PROBE_TIMEOUT, || -> Result<(), String> {
        keyring::Entry::store_status()
            .as_ref()
            .map_err(|e| e.to_string())?;
        let entry =
            keyring::Entry::new(KEYRING_SERVICE, "homeline-probe").map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    });
    match answer {
        Ok(result) => result,
        Err(SecretError::Timeout(s)) => Err(format!("the keyring did not answer within {s} s")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats() {
        let s = Secret::new("hunter2-xyz");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
        assert_eq!(s.expose(), "hunter2-xyz");
    }

    #[test]
    fn memory_backend_round_trip() {
        let mem = MemoryKeyring::default();
        let store = SecretStore::open(SecretBackendChoice::Memory(mem.clone())).unwrap();
        assert_eq!(store.storage(), PasswordStorage::Keyring);
        assert!(store.get("acc-1").unwrap().is_none());
        store.set("acc-1", &Secret::new("pw-one")).unwrap();
        let again = SecretStore::open(SecretBackendChoice::Memory(mem.clone())).unwrap();
        assert_eq!(again.get("acc-1").unwrap().unwrap().expose(), "pw-one");
        again.delete("acc-1").unwrap();
        again.delete("acc-1").unwrap();
        assert!(!mem.contains("acc-1"));
    }

    #[test]
    fn session_backend_says_so() {
        let store = SecretStore::open(SecretBackendChoice::SessionOnly).unwrap();
        assert!(!store.status().available);
        assert_eq!(store.status().backend, "session only");
        assert!(
            store
                .status()
                .message
                .as_deref()
                .unwrap()
                .starts_with("No system keyring was found")
        );
        assert_eq!(store.storage(), PasswordStorage::Session);
        store.set("a", &Secret::new("pw")).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "pw");
    }

    #[test]
    fn auto_never_hangs() {
        // Whatever this machine has (no D-Bus, D-Bus without Secret Service, a real keyring),
        // opening must come back quickly with a usable store.
        let started = std::time::Instant::now();
        let store = SecretStore::open(SecretBackendChoice::Auto).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            store.status().available,
            store.storage() == PasswordStorage::Keyring
        );
    }

    #[test]
    fn degraded_keyring_falls_back_to_session() {
        let store = SecretStore::keyring();
        store.degrade("no default collection");
        assert_eq!(store.storage(), PasswordStorage::Session);
        let status = store.status();
        assert!(!status.available);
        assert!(status.message.unwrap().contains("this session only"));
    }

    #[test]
    fn timeout_is_reported() {
        let r = with_timeout(Duration::from_millis(20), || {
            thread::sleep(Duration::from_secs(1));
        });
        assert!(matches!(r, Err(SecretError::Timeout(_))));
    }
}
