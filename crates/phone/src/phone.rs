//! [`Phone`]: the runtime object the shell and CLI hold. One per process; `Send + Sync` so
//! Tauri can manage it as shared state. Its methods are the app API's commands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use homeline_sip::transaction::{TimerConfig, TransportKind};

use crate::accounts::{self, AccountError};
use crate::api::{
    Account, AccountInput, AppInfo, AudioDevice, AudioDevices, KeyringStatus, PasswordStorage,
    Transport, UiError,
};
use crate::config::{self, AccountConfig, Config, ConfigError, ConfigProblem, LogLevel};
use crate::error::Error;
use crate::logging;
use crate::secrets::{Secret, SecretBackendChoice, SecretStore};
use crate::sip::{self, RegistrationStatus, SipError, SipRuntime};

mod desktop;
pub use desktop::DesktopSettings;

// Dial rules, history, audio settings.
use crate::api::{AudioSettings, DialPreview, HistoryEntry};
use crate::config::AudioConfig;
use crate::dialplan;
use crate::history::{self, History, SharedHistory};

/// How to open a [`Phone`]. `Default` is what the app uses.
#[derive(Debug, Clone, Default)]
pub struct PhoneOptions {
    /// The configuration file; `None` = `HOMELINE_CONFIG` or the platform config dir.
    pub config_path: Option<PathBuf>,
    /// The log folder; `None` = `HOMELINE_LOG_DIR` or the platform data dir.
    pub log_dir: Option<PathBuf>,
    /// Where passwords go.
    pub secret_backend: SecretBackendChoice,
    /// The call history journal; `None` = `history.jsonl` in the platform data dir (beside
    /// the default log folder).
    pub history_path: Option<PathBuf>,
}

/// The phone: accounts, configuration, passwords, logs and devices.
#[derive(Debug)]
pub struct Phone {
    config_path: PathBuf,
    log_dir: PathBuf,
    problem: Option<ConfigProblem>,
    secrets: SecretStore,
    state: Mutex<State>,
    sip: std::sync::Arc<SipRuntime>,
    calls: std::sync::OnceLock<crate::calls::Calls>,
    history: std::sync::Arc<SharedHistory>,
    headset: crate::headset::HeadsetSlot,
    contacts: crate::contacts::SharedContacts,
}

#[derive(Debug)]
struct State {
    config: Config,
    /// Where each account's password is, as far as we know. Filled lazily because asking the
    /// keyring is a D-Bus round trip (and may show an unlock prompt).
    storage: HashMap<String, PasswordStorage>,
}

impl Phone {
    /// Opens the configuration (setting a broken file aside, see [`config::load`]) and the
    /// password store (probing the keyring for at most about three seconds).
    pub fn open(options: PhoneOptions) -> Result<Phone, Error> {
        let config_path = match options.config_path {
            Some(p) => p,
            None => config::default_config_path()?,
        };
        let log_dir = match options.log_dir {
            Some(p) => p,
            None => logging::default_log_dir()?,
        };
        let loaded = config::load(&config_path);
        let secrets = SecretStore::open(options.secret_backend)?;
        tracing::debug!(
            config = %config_path.display(),
            accounts = loaded.config.accounts.len(),
            keyring = %secrets.status().backend,
            "phone opened"
        );
        Ok(Phone {
            config_path,
            log_dir,
            problem: loaded.problem,
            secrets,
            state: Mutex::new(State {
                config: loaded.config,
                storage: HashMap::new(),
            }),
            sip: std::sync::Arc::new(SipRuntime::default()),
            calls: std::sync::OnceLock::new(),
            contacts: crate::contacts::SharedContacts::beside(options.history_path.as_deref()),
            history: std::sync::Arc::new(SharedHistory::new(
                options.history_path.or_else(history::default_history_path),
            )),
            headset: crate::headset::HeadsetSlot::default(),
        })
    }

    pub(crate) fn shared_contacts(&self) -> &crate::contacts::SharedContacts {
        &self.contacts
    }

    pub(crate) fn calls_cell(&self) -> &std::sync::OnceLock<crate::calls::Calls> {
        &self.calls
    }

    pub(crate) fn headset_slot(&self) -> &crate::headset::HeadsetSlot {
        &self.headset
    }

    /// Changes the configuration and saves it (refused while a broken file is kept aside).
    pub(crate) fn update_config(&self, f: impl FnOnce(&mut Config)) -> Result<Config, Error> {
        let mut state = self.state();
        self.check_saving_allowed()?;
        let mut config = state.config.clone();
        f(&mut config);
        config::save(&self.config_path, &config)?;
        state.config = config.clone();
        drop(state);
        self.share_nat_settings();
        Ok(config)
    }

    pub(crate) fn sip_runtime(&self) -> std::sync::Arc<SipRuntime> {
        self.sip.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update builds the new config first and swaps it in at the end, so a panic
        // while the lock was held cannot have left it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Version, paths, keyring status and any configuration problem found at start-up.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: crate::VERSION.to_string(),
            config_path: self.config_path.display().to_string(),
            log_dir: self.log_dir.display().to_string(),
            keyring: self.secrets.status(),
            config_problem: self.problem.as_ref().map(ConfigProblem::to_ui_error),
        }
    }

    /// The configuration file in use.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The problem the configuration file had at start-up, if any.
    pub fn config_problem(&self) -> Option<&ConfigProblem> {
        self.problem.as_ref()
    }

    /// Whether passwords go to the system keyring.
    pub fn keyring_status(&self) -> KeyringStatus {
        self.secrets.status()
    }

    /// The password store (for the NAT module's relay passwords).
    pub(crate) fn secret_store(&self) -> &SecretStore {
        &self.secrets
    }

    /// Reads the configuration file again after another writer in this crate (the
    /// connectivity test's fixes) changed it.
    pub(crate) fn reload_config_from_disk(&self) {
        let loaded = config::load(&self.config_path);
        self.state().config = loaded.config;
        self.share_nat_settings();
    }

    /// A copy of the configuration in use.
    pub fn config(&self) -> Config {
        self.state().config.clone()
    }

    /// The configured log level (for setting up logging after opening).
    pub fn log_level(&self) -> LogLevel {
        self.state().config.logging.level
    }

    /// The accounts, in the order of the configuration file.
    pub fn list_accounts(&self) -> Vec<Account> {
        let unknown: Vec<(String, bool)> = {
            let state = self.state();
            state
                .config
                .accounts
                .iter()
                .filter(|a| !state.storage.contains_key(&a.id))
                .map(|a| (a.id.clone(), a.password.is_some()))
                .collect()
        };
        // Ask the store without holding the lock: the keyring may take its time.
        let found: Vec<(String, Option<PasswordStorage>)> = unknown
            .into_iter()
            .map(|(id, in_config)| {
                let storage = self.lookup_storage(&id, in_config);
                (id, storage)
            })
            .collect();
        let mut state = self.state();
        // Remember only real answers; after a keyring error, ask again next time (and show
        // what the config file alone says meanwhile).
        for (id, storage) in found {
            if let Some(s) = storage {
                state.storage.insert(id, s);
            }
        }
        let state = &*state;
        state
            .config
            .accounts
            .iter()
            .map(|a| to_account(a, state.storage.get(&a.id).copied()))
            .collect()
    }

    /// Where the password of an account is; `None` when the keyring could not be asked.
    fn lookup_storage(&self, id: &str, in_config: bool) -> Option<PasswordStorage> {
        match self.secrets.get(id) {
            Ok(Some(_)) => Some(self.secrets.storage()),
            Ok(None) if in_config => Some(PasswordStorage::Config),
            Ok(None) => Some(PasswordStorage::None),
            Err(e) => {
                tracing::warn!(account = id, error = %e, "could not ask the keyring");
                None
            }
        }
    }

    /// Adds (`input.id == None`) or edits an account. The password goes to the keyring (or
    /// session memory when there is none), never into the configuration file; a scripted
    /// `password =` of the account is moved out of the file when a new password is set here.
    pub fn save_account(&self, input: AccountInput) -> Result<Account, Error> {
        let valid = accounts::validate(&input)?;
        let mut state = self.state();
        self.check_saving_allowed()?;
        let mut config = state.config.clone();
        accounts::check_unique_prefix(&valid.dial_prefix, input.id.as_deref(), &config.accounts)?;
        if valid.is_default {
            // At most one default account: this one takes over.
            for a in &mut config.accounts {
                a.is_default = false;
            }
        }
        let (index, is_new) = match &input.id {
            Some(id) => {
                let i = config
                    .accounts
                    .iter()
                    .position(|a| &a.id == id)
                    .ok_or_else(|| AccountError::NotFound(id.clone()))?;
                (i, false)
            }
            None => {
                let taken: Vec<&str> = config.accounts.iter().map(|a| a.id.as_str()).collect();
                let id = accounts::new_id(&taken);
                config.accounts.push(AccountConfig {
                    id,
                    display_name: String::new(),
                    sip_address: String::new(),
                    auth_user: String::new(),
                    registrar: String::new(),
                    transport: valid.transport,
                    password: None,
                    dial_prefix: String::new(),
                    is_default: false,
                    media_encryption: crate::config::MediaEncryption::default(),
                    stun_servers: None,
                    turn: None,
                    voicemail_number: String::new(),
                });
                (config.accounts.len() - 1, true)
            }
        };
        let entry = &mut config.accounts[index];
        entry.display_name = valid.display_name;
        entry.sip_address = valid.sip_address;
        entry.auth_user = valid.auth_user;
        entry.registrar = valid.registrar;
        entry.transport = valid.transport;
        entry.dial_prefix = valid.dial_prefix;
        entry.is_default = valid.is_default;
        let id = entry.id.clone();

        let new_storage = match &input.password {
            None => None,
            Some(p) if p.is_empty() => {
                self.secrets.delete(&id)?;
                entry.password = None;
                Some(PasswordStorage::None)
            }
            Some(p) => {
                self.secrets.set(&id, p)?;
                if self.secrets.storage() == PasswordStorage::Keyring && entry.password.is_some() {
                    tracing::info!(account = %id, "password moved from the configuration file to the keyring");
                    entry.password = None;
                }
                Some(self.secrets.storage())
            }
        };
        let known = match new_storage {
            Some(s) => Some(s),
            None if is_new => Some(PasswordStorage::None),
            None => match state.storage.get(&id) {
                Some(s) => Some(*s),
                None => self.lookup_storage(&id, entry.password.is_some()),
            },
        };
        let saved = to_account(entry, known);

        if let Err(e) = config::save(&self.config_path, &config) {
            if is_new && input.password.is_some() {
                // Nothing refers to this secret now; do not leave it behind.
                let _ = self.secrets.delete(&id);
            }
            return Err(e.into());
        }
        state.config = config;
        if let Some(s) = known {
            state.storage.insert(id.clone(), s);
        }
        tracing::info!(account = %id, new = is_new, "account saved");
        Ok(saved)
    }

    /// Removes an account and its stored password.
    pub fn remove_account(&self, id: &str) -> Result<(), Error> {
        let mut state = self.state();
        self.check_saving_allowed()?;
        let mut config = state.config.clone();
        let before = config.accounts.len();
        config.accounts.retain(|a| a.id != id);
        if config.accounts.len() == before {
            return Err(AccountError::NotFound(id.to_string()).into());
        }
        // Secret first: if the keyring refuses, the account stays and the user can retry,
        // rather than leaving an orphaned password behind.
        self.secrets.delete(id)?;
        config::save(&self.config_path, &config)?;
        state.config = config;
        state.storage.remove(id);
        tracing::info!(account = %id, "account removed");
        Ok(())
    }

    /// The password of an account: the keyring (or session memory) first, then a scripted
    /// `password =` in the configuration file.
    pub fn password(&self, id: &str) -> Result<Option<Secret>, Error> {
        let from_config = {
            let state = self.state();
            let acc = state
                .config
                .accounts
                .iter()
                .find(|a| a.id == id)
                .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
            acc.password.clone()
        };
        match self.secrets.get(id)? {
            Some(s) => Ok(Some(s)),
            None => Ok(from_config),
        }
    }

    /// Starts registering every account that has a registrar (accounts without one only make
    /// direct calls). Must be called inside a tokio runtime; returns at once, and the states
    /// arrive through [`registration_states`](Self::registration_states) and
    /// [`subscribe_registrations`](Self::subscribe_registrations).
    pub fn start_registrations(&self) -> Result<(), Error> {
        let ids: Vec<String> = {
            let state = self.state();
            state
                .config
                .accounts
                .iter()
                .filter(|a| !a.registrar.is_empty())
                .map(|a| a.id.clone())
                .collect()
        };
        for id in ids {
            self.start_registration(&id)?;
        }
        Ok(())
    }

    /// Starts (or restarts, after its settings changed) registering one account.
    pub fn start_registration(&self, id: &str) -> Result<(), Error> {
        let (account, network) = {
            let state = self.state();
            let acc = state
                .config
                .accounts
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
            (acc, state.config.network.clone())
        };
        if account.registrar.is_empty() {
            return Err(SipError::NoRegistrar(account.display_name).into());
        }
        let password = self.password(id)?;
        let user = if account.auth_user.is_empty() {
            user_part(&account.sip_address)
        } else {
            account.auth_user.clone()
        };
        let credentials = password.map(|p| homeline_sip::auth::Credentials {
            username: user,
            password: p.expose().to_owned(),
        });
        let tls =
            sip::tls::client_config(network.tls_ca_file.as_deref()).map_err(SipError::from)?;
        let transport = match account.transport {
            Transport::Auto => None,
            Transport::Udp => Some(TransportKind::Udp),
            Transport::Tcp => Some(TransportKind::Tcp),
            Transport::Tls => Some(TransportKind::Tls),
            Transport::Ws => Some(TransportKind::Ws),
            Transport::Wss => Some(TransportKind::Wss),
        };
        let setup = sip::AccountSetup {
            account_id: account.id.clone(),
            aor: account.sip_address.clone(),
            registrar: account.registrar.clone(),
            credentials,
            transport,
            expires: network.registration_expires_secs,
            keepalive: (network.keepalive_secs > 0)
                .then(|| Duration::from_secs(u64::from(network.keepalive_secs))),
            transport_options: sip::TransportOptions {
                local_port: network.sip_local_port,
                tls,
                connect_timeout: Duration::from_secs(10),
            },
            timers: TimerConfig::default(),
            voicemail: (!account.voicemail_number.is_empty())
                .then(|| account.voicemail_number.clone()),
        };
        self.sip.start(setup)?;
        // The account's settings may have changed (Settings → Save restarts it).
        self.share_media_encryption();
        Ok(())
    }

    /// Every started account's registration status.
    pub fn registration_states(&self) -> Vec<RegistrationStatus> {
        self.sip.states()
    }

    /// One account's registration status as a watch (`None` if it was not started).
    pub fn registration_watch(
        &self,
        id: &str,
    ) -> Option<tokio::sync::watch::Receiver<RegistrationStatus>> {
        self.sip.watch(id)
    }

    /// Every registration status change from now on (the UI shows them).
    pub fn subscribe_registrations(&self) -> tokio::sync::broadcast::Receiver<RegistrationStatus> {
        self.sip.subscribe()
    }

    /// Incoming SIP requests (calls are answered `486 Busy Here` until calls exist).
    pub fn subscribe_incoming(&self) -> tokio::sync::broadcast::Receiver<sip::IncomingRequest> {
        self.sip.subscribe_incoming()
    }

    /// Call events of every registered account from now on (while nobody subscribes,
    /// incoming calls are answered `486 Busy Here`).
    pub fn subscribe_calls(&self) -> tokio::sync::broadcast::Receiver<sip::AccountCall> {
        self.sip.subscribe_calls()
    }

    /// Rings, answers, rejects or hangs up a call of `account_id`; `false` when that
    /// account is not running.
    pub fn call_command(&self, account_id: &str, command: sip::CallCommand) -> bool {
        self.sip.call_command(account_id, command)
    }

    /// Unregisters one account (removed, or no longer registering), waiting at most a few
    /// seconds; the others go on undisturbed.
    pub async fn stop_registration(&self, id: &str) {
        self.sip
            .stop(id, sip::driver::UNREGISTER_LIMIT + Duration::from_secs(1))
            .await;
    }

    /// Unregisters every account, waiting at most a few seconds.
    pub async fn stop_registrations(&self) {
        self.sip
            .stop_all(sip::driver::UNREGISTER_LIMIT + Duration::from_secs(1))
            .await;
    }

    /// Uses `dns` for server location instead of the system resolver.
    pub fn set_sip_dns(&self, dns: std::sync::Arc<dyn sip::Dns>) {
        self.sip.set_dns(dns);
    }

    fn check_saving_allowed(&self) -> Result<(), Error> {
        match &self.problem {
            Some(p) if p.blocks_saving() => Err(ConfigError::SavingBlocked(p.clone()).into()),
            _ => Ok(()),
        }
    }

    /// The sound devices (never hangs; see [`list_audio_devices`]).
    pub fn audio_devices(&self) -> AudioDevices {
        list_audio_devices()
    }

    /// The folder of the log files.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Writes all log files into one `homeline-logs-YYYYMMDD-HHMMSS.txt` in the Downloads
    /// folder (the home folder when there is none) and returns its path.
    pub fn export_logs(&self) -> Result<PathBuf, Error> {
        let dest = directories::UserDirs::new()
            .and_then(|u| {
                u.download_dir()
                    .map(Path::to_path_buf)
                    .or_else(|| Some(u.home_dir().to_path_buf()))
            })
            .ok_or(logging::LogError::NoLogDir)?;
        self.export_logs_to(&dest)
    }

    /// Like [`export_logs`](Self::export_logs) into a chosen folder.
    pub fn export_logs_to(&self, dest_dir: &Path) -> Result<PathBuf, Error> {
        let path = logging::export_logs(&self.log_dir, dest_dir, SystemTime::now())?;
        tracing::info!(path = %path.display(), "logs exported");
        Ok(path)
    }

    /// Shows the log folder in the file manager (creating it if needed).
    pub fn open_log_folder(&self) -> Result<(), Error> {
        let open_err = |reason: String| Error::Open {
            path: self.log_dir.clone(),
            reason,
        };
        std::fs::create_dir_all(&self.log_dir).map_err(|e| open_err(e.to_string()))?;
        opener::open(&self.log_dir).map_err(|e| open_err(e.to_string()))
    }

    // --- dial rules, history, audio settings ---

    /// What dialling `target` would do, the dial rules applied ([`dialplan::resolve`]): which
    /// account calls, and what URI. Reads only the configuration (never the keyring), so the
    /// dialer may ask at every key press.
    pub fn dial_preview(&self, target: &str) -> Result<DialPreview, UiError> {
        let accounts: Vec<Account> = {
            let state = self.state();
            state
                .config
                .accounts
                .iter()
                .map(|a| to_account(a, None))
                .collect()
        };
        dialplan::resolve(target, &accounts)
    }

    /// The finished calls, newest first, at most [`history::MAX_LISTED`].
    pub fn call_history(&self) -> Result<Vec<HistoryEntry>, Error> {
        Ok(self.history.with(|h| Ok(h.list()))?)
    }

    /// Forgets every finished call.
    pub fn clear_history(&self) -> Result<(), Error> {
        Ok(self.history.with(History::clear)?)
    }

    /// Adds a finished call to the history and flushes it to disk before returning (a few
    /// milliseconds of blocking file I/O). For the call manager, once per call, when it ends.
    #[cfg(test)]
    pub(crate) fn record_call(&self, entry: HistoryEntry) -> Result<(), Error> {
        Ok(self.history.with(|h| h.append(entry))?)
    }

    pub(crate) fn shared_history(&self) -> std::sync::Arc<SharedHistory> {
        self.history.clone()
    }

    /// The sound device of each role; `None` follows the system default.
    pub fn audio_settings(&self) -> AudioSettings {
        let audio = &self.state().config.audio;
        AudioSettings {
            microphone: config::device_setting(&audio.microphone),
            speaker: config::device_setting(&audio.speaker),
            ring: config::device_setting(&audio.ring),
        }
    }

    /// Saves the sound devices (trimmed; empty or `default` means the system default) and
    /// returns them as stored. Calls use them from the next call on.
    pub fn save_audio_settings(&self, settings: AudioSettings) -> Result<AudioSettings, Error> {
        let mut state = self.state();
        self.check_saving_allowed()?;
        let mut config = state.config.clone();
        config.audio = AudioConfig {
            microphone: config::device_setting(&settings.microphone),
            speaker: config::device_setting(&settings.speaker),
            ring: config::device_setting(&settings.ring),
        };
        config::save(&self.config_path, &config)?;
        let saved = AudioSettings {
            microphone: config.audio.microphone.clone(),
            speaker: config.audio.speaker.clone(),
            ring: config.audio.ring.clone(),
        };
        self.headset_slot()
            .push_audio(crate::headset::chosen_audio(&config.audio));
        state.config = config;
        tracing::info!(
            microphone = saved.microphone.as_deref().unwrap_or("default"),
            speaker = saved.speaker.as_deref().unwrap_or("default"),
            ring = saved.ring.as_deref().unwrap_or("default"),
            "audio devices saved"
        );
        if let Some(calls) = self.calls_cell().get() {
            let routes = self.audio_routes();
            calls.set_audio(
                crate::media::AudioPlan::Devices(routes.clone()),
                Some(routes),
            );
        }
        Ok(saved)
    }

    /// The devices a call opens, from the saved settings (for the call manager).
    pub fn audio_routes(&self) -> homeline_audio::AudioRoutes {
        self.state().config.audio.routes()
    }
}

/// The sound devices of the default audio host. Never panics, returns within a few seconds;
/// with no sound card the lists are empty (and `error` says why when the host failed).
pub fn list_audio_devices() -> AudioDevices {
    let list = homeline_audio::list_devices();
    let convert = |d: homeline_audio::DeviceInfo| AudioDevice {
        name: d.name,
        is_default: d.is_default,
        channels: d.channels,
        sample_rates: d.sample_rates,
    };
    AudioDevices {
        host: list.host,
        inputs: list.inputs.into_iter().map(convert).collect(),
        outputs: list.outputs.into_iter().map(convert).collect(),
        error: list.error.map(|e| {
            UiError::new(
                "audio_unavailable",
                format!("Sound devices could not be listed: {e}."),
                "Check that a headset or sound card is connected and that no other program \
                 holds it, then look again.",
            )
        }),
    }
}

/// The user part of `sip:user@host`, the default authentication user.
pub(crate) fn user_part(uri: &str) -> String {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    rest.split_once('@')
        .map(|(u, _)| u.to_owned())
        .unwrap_or_default()
}

fn to_account(a: &AccountConfig, storage: Option<PasswordStorage>) -> Account {
    Account {
        id: a.id.clone(),
        display_name: a.display_name.clone(),
        sip_address: a.sip_address.clone(),
        auth_user: a.auth_user.clone(),
        registrar: a.registrar.clone(),
        transport: a.transport,
        dial_prefix: a.dial_prefix.clone(),
        is_default: a.is_default,
        password_storage: storage.unwrap_or(if a.password.is_some() {
            PasswordStorage::Config
        } else {
            PasswordStorage::None
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryKeyring;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn phone_is_send_sync() {
        assert_send_sync::<Phone>();
    }

    struct Fixture {
        dir: tempfile::TempDir,
        keyring: MemoryKeyring,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
                keyring: MemoryKeyring::default(),
            }
        }
        fn config_path(&self) -> PathBuf {
            self.dir.path().join("homeline.toml")
        }
        fn history_path(&self) -> PathBuf {
            self.dir.path().join("data").join("history.jsonl")
        }
        fn open(&self) -> Phone {
            self.open_with(SecretBackendChoice::Memory(self.keyring.clone()))
        }
        fn open_with(&self, backend: SecretBackendChoice) -> Phone {
            Phone::open(PhoneOptions {
                config_path: Some(self.config_path()),
                log_dir: Some(self.dir.path().join("logs")),
                secret_backend: backend,
                history_path: Some(self.history_path()),
            })
            .unwrap()
        }
        fn config_text(&self) -> String {
            std::fs::read_to_string(self.config_path()).unwrap()
        }
    }

    fn input(password: Option<&str>) -> AccountInput {
        AccountInput {
            id: None,
            display_name: "Alice".into(),
            sip_address: "sip:alice@example.com".into(),
            auth_user: String::new(),
            registrar: "sip:pbx.example.com:5060".into(),
            transport: Transport::Tcp,
            password: password.map(Secret::new),
            dial_prefix: String::new(),
            is_default: false,
        }
    }

    #[test]
    fn add_edit_remove_with_keyring() {
        let f = Fixture::new();
        let phone = f.open();
        assert!(phone.list_accounts().is_empty());
        let acc = phone.save_account(input(Some("Pw-In-Keyring-1"))).unwrap();
        assert!(acc.id.starts_with("acc-"));
        assert_eq!(acc.password_storage, PasswordStorage::Keyring);
        assert!(f.keyring.contains(&acc.id));
        assert!(!f.config_text().contains("Pw-In-Keyring-1"));

        // Re-open: account and password are found again.
        drop(phone);
        let phone = f.open();
        let list = phone.list_accounts();
        assert_eq!(list, vec![acc.clone()]);
        assert_eq!(
            phone.password(&acc.id).unwrap().unwrap().expose(),
            "Pw-In-Keyring-1"
        );

        // Edit without a password keeps it, also right after opening (nothing cached yet).
        drop(phone);
        let phone = f.open();
        let edited = phone
            .save_account(AccountInput {
                id: Some(acc.id.clone()),
                display_name: "Alice B".into(),
                ..input(None)
            })
            .unwrap();
        assert_eq!(edited.display_name, "Alice B");
        assert_eq!(edited.password_storage, PasswordStorage::Keyring);
        assert!(f.keyring.contains(&acc.id));

        // Empty password removes it.
        let cleared = phone
            .save_account(AccountInput {
                id: Some(acc.id.clone()),
                ..input(Some(""))
            })
            .unwrap();
        assert_eq!(cleared.password_storage, PasswordStorage::None);
        assert!(!f.keyring.contains(&acc.id));

        phone
            .save_account(AccountInput {
                id: Some(acc.id.clone()),
                ..input(Some("again-1234"))
            })
            .unwrap();
        phone.remove_account(&acc.id).unwrap();
        assert!(phone.list_accounts().is_empty());
        assert!(!f.keyring.contains(&acc.id));
        let err = UiError::from(phone.remove_account(&acc.id).unwrap_err());
        assert_eq!(err.code, "account_not_found");
    }

    #[test]
    fn invalid_input_is_refused_and_nothing_written() {
        let f = Fixture::new();
        let phone = f.open();
        let err = phone
            .save_account(AccountInput {
                sip_address: "alice@example.com".into(),
                ..input(Some("pw-x-123"))
            })
            .unwrap_err();
        let ui = UiError::from(&err);
        assert_eq!(ui.code, "invalid_account");
        assert!(ui.hint.contains("SIP address"));
        assert!(!f.config_path().exists());
        let err = phone
            .save_account(AccountInput {
                id: Some("acc-nope00".into()),
                ..input(None)
            })
            .unwrap_err();
        assert_eq!(UiError::from(&err).code, "account_not_found");
    }

    #[test]
    fn config_password_moves_to_keyring() {
        let f = Fixture::new();
        std::fs::write(
            f.config_path(),
            "version = 1\n[network]\nkeepalive_secs = 40\n\n[[accounts]]\nid = \"bot\"\n\
             display_name = \"Bot\"\nsip_address = \"sip:bot@example.com\"\n\
             password = \"Scripted-Pw-1\"\n",
        )
        .unwrap();
        let phone = f.open();
        let list = phone.list_accounts();
        assert_eq!(list[0].password_storage, PasswordStorage::Config);
        assert_eq!(
            phone.password("bot").unwrap().unwrap().expose(),
            "Scripted-Pw-1"
        );
        // Editing without a password keeps the scripted one in the file.
        phone
            .save_account(AccountInput {
                id: Some("bot".into()),
                ..input(None)
            })
            .unwrap();
        assert!(f.config_text().contains("Scripted-Pw-1"));
        // Setting one in the app moves it to the keyring and out of the file.
        let acc = phone
            .save_account(AccountInput {
                id: Some("bot".into()),
                ..input(Some("App-Pw-2"))
            })
            .unwrap();
        assert_eq!(acc.password_storage, PasswordStorage::Keyring);
        let text = f.config_text();
        assert!(
            !text.contains("Scripted-Pw-1") && !text.contains("App-Pw-2"),
            "{text}"
        );
        assert!(text.contains("keepalive_secs = 40"), "{text}");
        assert_eq!(phone.password("bot").unwrap().unwrap().expose(), "App-Pw-2");
    }

    #[test]
    fn session_only_keeps_password_out_of_file() {
        let f = Fixture::new();
        let phone = f.open_with(SecretBackendChoice::SessionOnly);
        let info = phone.app_info();
        assert!(!info.keyring.available);
        assert!(info.keyring.message.unwrap().contains("this session only"));
        let acc = phone.save_account(input(Some("Session-Pw-9"))).unwrap();
        assert_eq!(acc.password_storage, PasswordStorage::Session);
        assert!(!f.config_text().contains("Session-Pw-9"));
        drop(phone);
        let phone = f.open_with(SecretBackendChoice::SessionOnly);
        assert_eq!(
            phone.list_accounts()[0].password_storage,
            PasswordStorage::None
        );
    }

    #[test]
    fn broken_config_reported_and_kept() {
        let f = Fixture::new();
        std::fs::write(f.config_path(), "version = 1\n[network\n").unwrap();
        let phone = f.open();
        let info = phone.app_info();
        let problem = info.config_problem.unwrap();
        assert_eq!(problem.code, "config_broken");
        assert!(problem.message.contains("line 2"), "{}", problem.message);
        assert!(phone.list_accounts().is_empty());
        // Saving works and does not touch the kept file.
        phone.save_account(input(None)).unwrap();
        let kept = phone.config_problem().unwrap().kept_at.clone().unwrap();
        assert_eq!(
            std::fs::read_to_string(kept).unwrap(),
            "version = 1\n[network\n"
        );
    }

    #[test]
    fn newer_config_is_never_overwritten() {
        let f = Fixture::new();
        std::fs::write(f.config_path(), "version = 7\n").unwrap();
        let phone = f.open();
        let err = UiError::from(phone.save_account(input(None)).unwrap_err());
        assert_eq!(err.code, "config_newer_version");
        assert_eq!(f.config_text(), "version = 7\n");
    }

    #[test]
    fn app_info_and_devices() {
        let f = Fixture::new();
        let phone = f.open();
        let info = phone.app_info();
        assert_eq!(info.version, crate::VERSION);
        assert!(info.config_path.ends_with("homeline.toml"));
        assert!(info.keyring.available);
        assert!(info.config_problem.is_none());
        let devices = phone.audio_devices();
        assert!(!devices.host.is_empty());
        assert!(matches!(
            UiError::from(phone.export_logs_to(f.dir.path()).unwrap_err())
                .code
                .as_str(),
            "logs_empty"
        ));
    }

    // --- dial rules, history, audio settings ---

    #[test]
    fn dial_prefixes_and_the_default_account() {
        let f = Fixture::new();
        let phone = f.open();
        let office = phone
            .save_account(AccountInput {
                display_name: "Office".into(),
                dial_prefix: "9".into(),
                is_default: true,
                ..input(None)
            })
            .unwrap();
        assert_eq!(office.dial_prefix, "9");
        assert!(office.is_default);
        let home = phone
            .save_account(AccountInput {
                display_name: "Home".into(),
                sip_address: "sip:alice@home.example.net".into(),
                registrar: "sip:sip.home.example.net".into(),
                dial_prefix: " 8 ".into(),
                ..input(None)
            })
            .unwrap();
        assert_eq!(home.dial_prefix, "8");

        // The example, through the phone.
        let preview = phone.dial_preview("90301234").unwrap();
        assert_eq!(preview.account_id.as_deref(), Some(office.id.as_str()));
        assert_eq!(preview.uri, "sip:0301234@example.com");
        assert_eq!(preview.rule.as_deref(), Some("prefix 9 \u{2192} Office"));
        let preview = phone.dial_preview("8 0301234").unwrap();
        assert_eq!(preview.account_id.as_deref(), Some(home.id.as_str()));
        assert_eq!(preview.uri, "sip:0301234@home.example.net");
        assert_eq!(
            phone.dial_preview("0301234").unwrap().account_id,
            Some(office.id.clone())
        );
        assert_eq!(phone.dial_preview("").unwrap_err().code, "invalid_number");

        // A prefix another account has: refused, naming the field and the other account.
        let err = UiError::from(
            phone
                .save_account(AccountInput {
                    id: Some(home.id.clone()),
                    dial_prefix: "9".into(),
                    ..input(None)
                })
                .unwrap_err(),
        );
        assert_eq!(err.code, "invalid_account");
        assert!(err.hint.contains("Dial prefix"), "{}", err.hint);
        assert!(err.hint.contains("Office"), "{}", err.hint);
        let err = UiError::from(
            phone
                .save_account(AccountInput {
                    dial_prefix: "9a".into(),
                    ..input(None)
                })
                .unwrap_err(),
        );
        assert_eq!(err.code, "invalid_account");
        assert!(err.hint.contains("Dial prefix"), "{}", err.hint);
        // Saving an account with its own prefix again is fine.
        phone
            .save_account(AccountInput {
                id: Some(office.id.clone()),
                display_name: "Office".into(),
                dial_prefix: "9".into(),
                is_default: true,
                ..input(None)
            })
            .unwrap();

        // Making Home the default takes it from Office, in the file too.
        phone
            .save_account(AccountInput {
                id: Some(home.id.clone()),
                display_name: "Home".into(),
                sip_address: "sip:alice@home.example.net".into(),
                registrar: "sip:sip.home.example.net".into(),
                dial_prefix: "8".into(),
                is_default: true,
                ..input(None)
            })
            .unwrap();
        drop(phone);
        let phone = f.open();
        let list = phone.list_accounts();
        let defaults: Vec<&str> = list
            .iter()
            .filter(|a| a.is_default)
            .map(|a| a.display_name.as_str())
            .collect();
        assert_eq!(defaults, ["Home"]);
        assert_eq!(
            phone.dial_preview("0301234").unwrap().account_id,
            Some(home.id.clone())
        );
        assert!(f.config_text().contains("dial_prefix = \"8\""));
    }

    fn call(n: u64) -> HistoryEntry {
        HistoryEntry {
            id: format!("call-{n}"),
            account_id: None,
            direction: crate::api::CallDirection::Outgoing,
            remote: "echo".into(),
            remote_name: None,
            started_at: n,
            answered_at: Some(n + 1),
            ended_at: n + 2,
            outcome: crate::api::CallOutcome::Answered,
            reason: None,
        }
    }

    #[test]
    fn call_history_persists_and_clears() {
        let f = Fixture::new();
        let phone = f.open();
        assert!(phone.call_history().unwrap().is_empty());
        assert!(!f.history_path().exists());
        phone.record_call(call(1)).unwrap();
        phone.record_call(call(2)).unwrap();
        drop(phone);
        let phone = f.open();
        let ids: Vec<String> = phone
            .call_history()
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["call-2", "call-1"]);
        phone.clear_history().unwrap();
        assert!(phone.call_history().unwrap().is_empty());
        drop(phone);
        assert!(f.open().call_history().unwrap().is_empty());
    }

    #[test]
    fn unreadable_history_is_a_ui_error() {
        let f = Fixture::new();
        std::fs::create_dir_all(f.history_path()).unwrap();
        let phone = f.open();
        let err = UiError::from(phone.call_history().unwrap_err());
        assert_eq!(err.code, "history_failed");
        assert!(err.message.starts_with("Could not read the call history"));
        assert!(err.hint.contains("Calls still work"), "{}", err.hint);
        assert_eq!(
            UiError::from(phone.record_call(call(1)).unwrap_err()).code,
            "history_failed"
        );
        // Fixed while running: the next use opens it.
        std::fs::remove_dir(f.history_path()).unwrap();
        phone.record_call(call(1)).unwrap();
        assert_eq!(phone.call_history().unwrap().len(), 1);
    }

    #[test]
    fn audio_settings_saved_and_routed() {
        use homeline_audio::{AudioRoutes, DeviceChoice};
        let f = Fixture::new();
        let phone = f.open();
        assert_eq!(phone.audio_settings(), AudioSettings::default());
        assert_eq!(phone.audio_routes(), AudioRoutes::default());
        let saved = phone
            .save_audio_settings(AudioSettings {
                microphone: Some("  USB Headset Mono ".into()),
                speaker: Some("Default".into()),
                ring: Some(String::new()),
            })
            .unwrap();
        assert_eq!(
            saved,
            AudioSettings {
                microphone: Some("USB Headset Mono".into()),
                speaker: None,
                ring: None,
            }
        );
        assert_eq!(
            phone.audio_routes(),
            AudioRoutes {
                microphone: DeviceChoice::Named("USB Headset Mono".into()),
                ..AudioRoutes::default()
            }
        );
        let text = f.config_text();
        assert!(
            text.contains("[audio]") && text.contains("USB Headset Mono"),
            "{text}"
        );
        drop(phone);
        let phone = f.open();
        assert_eq!(phone.audio_settings(), saved);

        // Back to the system defaults: the section leaves the file.
        phone.save_audio_settings(AudioSettings::default()).unwrap();
        assert!(!f.config_text().contains("[audio]"));
    }

    #[test]
    fn audio_settings_not_saved_over_a_newer_config() {
        let f = Fixture::new();
        std::fs::write(f.config_path(), "version = 7\n").unwrap();
        let phone = f.open();
        let err = UiError::from(
            phone
                .save_audio_settings(AudioSettings {
                    microphone: Some("Mic".into()),
                    ..AudioSettings::default()
                })
                .unwrap_err(),
        );
        assert_eq!(err.code, "config_newer_version");
        assert_eq!(phone.audio_settings(), AudioSettings::default());
        assert_eq!(f.config_text(), "version = 7\n");
    }
}
