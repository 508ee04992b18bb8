//! The configuration file: one TOML file, versioned, written atomically, never lost.
//!
//! * Location: `homeline.toml` in the platform config directory (`~/.config/homeline/` on
//!   Linux, `%APPDATA%\Homeline\Homeline\config\` on Windows, `~/Library/Application
//!   Support/org.Homeline.Homeline/` on macOS), or the path in `HOMELINE_CONFIG`, or the path
//!   given to [`Phone::open`](crate::Phone::open) / the CLI's `--config`.
//! * Schema: [`Config`]; `version = 1` at the top. A file from a newer Homeline (a higher
//!   version) is not touched: the app starts with defaults and refuses to save over it.
//! * Saving writes a temporary file in the same directory, flushes it to disk and renames it
//!   over the old one, so a crash leaves either the old or the new file, never half of one.
//! * A broken file (TOML syntax or schema error) is never overwritten: [`load`] returns the
//!   defaults plus a [`ConfigProblem`] naming the line and column, and moves the file aside to
//!   `homeline.toml.broken-<unix time>` so that the next save cannot lose it. [`check`] reports
//!   the same problem without moving anything.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize};

use crate::accounts;
use crate::api::{Transport, UiError};
use crate::redact;
use crate::secrets::Secret;

/// The schema version this Homeline reads and writes.
pub const CONFIG_VERSION: u32 = 1;
/// The configuration file's name.
pub const CONFIG_FILE_NAME: &str = "homeline.toml";
/// Environment variable that overrides the configuration file's path.
pub const CONFIG_ENV: &str = "HOMELINE_CONFIG";

const HEADER: &str = "# Homeline configuration. Homeline rewrites this file when settings change: \
values you edit are kept, comments are not.\n# Reference: the Configuration section of the README.\n\n";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Schema version of the file. `1` today; a missing value is read as `1`.
    #[serde(default = "default_version")]
    pub version: u32,
    /// Network settings.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Logging settings.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Sound devices for calls; left out of the file while every role follows the system.
    #[serde(default, skip_serializing_if = "AudioConfig::is_system_default")]
    pub audio: AudioConfig,
    /// How the desktop app behaves (tray, closing the window); left out while at defaults.
    #[serde(default, skip_serializing_if = "AppConfig::is_default")]
    pub app: AppConfig,
    /// Headset integration switches; left out of the file while all are on.
    #[serde(
        default,
        skip_serializing_if = "crate::headset::HeadsetConfig::is_default"
    )]
    pub headset: crate::headset::HeadsetConfig,
    /// SIP accounts, one `[[accounts]]` table each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            network: NetworkConfig::default(),
            logging: LoggingConfig::default(),
            audio: AudioConfig::default(),
            app: AppConfig::default(),
            headset: crate::headset::HeadsetConfig::default(),
            accounts: Vec::new(),
        }
    }
}

fn default_version() -> u32 {
    CONFIG_VERSION
}

/// An account's media encryption setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaEncryption {
    /// Offer SDES-SRTP, accept plain RTP.
    #[default]
    Optional,
    /// Only encrypted media: calls without it are refused.
    Required,
    /// Never offer encryption.
    Off,
}

impl MediaEncryption {
    fn is_default(&self) -> bool {
        *self == MediaEncryption::Optional
    }

    /// The media crate's policy for it.
    pub fn policy(self) -> homeline_media::sdp::SrtpPolicy {
        match self {
            MediaEncryption::Optional => homeline_media::sdp::SrtpPolicy::Optional,
            MediaEncryption::Required => homeline_media::sdp::SrtpPolicy::Required,
            MediaEncryption::Off => homeline_media::sdp::SrtpPolicy::Off,
        }
    }
}

/// `[network]`: how Homeline uses the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Local port for SIP signalling. `0` (the default) lets the system pick a free port,
    /// which avoids clashes with other softphones and with routers' SIP ALG on 5060.
    #[serde(default)]
    pub sip_local_port: u16,
    /// Seconds between NAT keep-alives, 20 to 170 (default 25); `0` switches them off (for
    /// troubleshooting only). Home routers forget UDP mappings after 30 to 180 seconds; if
    /// incoming calls stop arriving after a few minutes, lower this value.
    #[serde(
        default = "default_keepalive",
        deserialize_with = "deserialize_keepalive"
    )]
    pub keepalive_secs: u16,
    /// Seconds a registration should last before it is refreshed, 60 to 86400 (default 600).
    /// The server may grant less (or ask for more); Homeline refreshes before it expires.
    #[serde(
        default = "default_registration_expires",
        deserialize_with = "deserialize_registration_expires"
    )]
    pub registration_expires_secs: u32,
    /// A file of PEM CA certificates trusted for TLS and WSS besides the built-in public
    /// authorities: for a private PBX with its own certificate authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// A call that receives no audio for this many seconds is ended (the other side or the
    /// network is gone); default 60, `0` never ends a call for that.
    #[serde(default = "default_rtp_timeout")]
    pub rtp_timeout_secs: u32,
    /// STUN servers (RFC 7064 URIs, `stun:host[:port]`) that tell Homeline its public address.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nat::config::deserialize_stun_uris"
    )]
    pub stun_servers: Vec<String>,
    /// Use ICE with peers that offer it (default `true`).
    #[serde(
        default = "crate::nat::config::default_true",
        skip_serializing_if = "crate::nat::config::is_true"
    )]
    pub ice: bool,
    /// Always send media through a relay (default `false`).
    #[serde(default, skip_serializing_if = "crate::nat::config::is_false")]
    pub force_relay: bool,
    /// `[[network.turn]]`: TURN relays (RFC 7065 URIs); the fastest that works is used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turn: Vec<crate::nat::config::TurnServerConfig>,
}

fn default_rtp_timeout() -> u32 {
    60
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            sip_local_port: 0,
            keepalive_secs: default_keepalive(),
            registration_expires_secs: default_registration_expires(),
            tls_ca_file: None,
            rtp_timeout_secs: default_rtp_timeout(),
            stun_servers: Vec::new(),
            ice: true,
            force_relay: false,
            turn: Vec::new(),
        }
    }
}

/// The allowed registration lifetimes in seconds: never re-register faster than every
/// minute (providers ban that), and at least once a day.
pub const REGISTRATION_EXPIRES_RANGE: std::ops::RangeInclusive<u32> = 60..=86_400;

fn default_registration_expires() -> u32 {
    600
}

fn deserialize_registration_expires<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    match u32::try_from(v) {
        Ok(v) if REGISTRATION_EXPIRES_RANGE.contains(&v) => Ok(v),
        _ => Err(serde::de::Error::custom(format!(
            "registration_expires_secs must be between {} and {} seconds, not {v}",
            REGISTRATION_EXPIRES_RANGE.start(),
            REGISTRATION_EXPIRES_RANGE.end()
        ))),
    }
}

/// The allowed keep-alive interval in seconds: faster wastes battery and provider goodwill,
/// slower lets common NAT bindings (30 s and up) expire.
pub const KEEPALIVE_RANGE: std::ops::RangeInclusive<u16> = 20..=170;

fn default_keepalive() -> u16 {
    25
}

fn deserialize_keepalive<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = i64::deserialize(d)?;
    match u16::try_from(v) {
        Ok(v) if v == 0 || KEEPALIVE_RANGE.contains(&v) => Ok(v),
        _ => Err(serde::de::Error::custom(format!(
            "keepalive_secs must be between {} and {} seconds (or 0 for off), not {v}",
            KEEPALIVE_RANGE.start(),
            KEEPALIVE_RANGE.end()
        ))),
    }
}

/// `[logging]`: how much Homeline writes to its log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// One of `error`, `warn`, `info` (default), `debug`, `trace`. The `HOMELINE_LOG`
    /// environment variable (e.g. `HOMELINE_LOG=debug`) overrides it.
    #[serde(default)]
    pub level: LogLevel,
}

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Errors and warnings.
    Warn,
    /// The default: what happens, without detail.
    #[default]
    Info,
    /// Detail for troubleshooting.
    Debug,
    /// Everything, including protocol messages.
    Trace,
}

impl LogLevel {
    /// The level's name as `tracing` filters spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// `[app]`: how the desktop app lives on the desktop.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Closing the window quits Homeline (calls end, the account unregisters). Off by default:
    /// Homeline keeps running in the system tray so that calls still arrive.
    #[serde(default, skip_serializing_if = "is_false")]
    pub quit_on_close: bool,
    /// Homeline has said once that closing the window keeps it running in the tray; it sets
    /// this itself so that the notice is not repeated.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tray_notice_shown: bool,
}

impl AppConfig {
    fn is_default(&self) -> bool {
        *self == AppConfig::default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `[audio]`: which sound device each role uses, by the name Settings and `homeline devices`
/// show. A missing key, `""` or `"default"` follows the system default, also when it changes.
/// A named device that is unplugged is replaced by the system default until it returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    /// The microphone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<String>,
    /// The speaker or headset for call audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// Where the ringtone plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
}

impl AudioConfig {
    /// Whether every role follows the system default.
    pub fn is_system_default(&self) -> bool {
        [&self.microphone, &self.speaker, &self.ring]
            .iter()
            .all(|d| device_setting(d).is_none())
    }

    /// The device choices for the call manager ([`homeline_audio::DeviceChoice::from_setting`]
    /// reads `""` and `"default"` as the system default).
    pub fn routes(&self) -> homeline_audio::AudioRoutes {
        let choice = |d: &Option<String>| {
            homeline_audio::DeviceChoice::from_setting(d.as_deref().unwrap_or(""))
        };
        homeline_audio::AudioRoutes {
            microphone: choice(&self.microphone),
            speaker: choice(&self.speaker),
            ring: choice(&self.ring),
        }
    }
}

/// A device setting as stored: trimmed, and `None` for the system default (missing, empty or
/// `default` in any case, as [`homeline_audio::DeviceChoice::from_setting`] reads them).
pub fn device_setting(setting: &Option<String>) -> Option<String> {
    match homeline_audio::DeviceChoice::from_setting(setting.as_deref().unwrap_or("")) {
        homeline_audio::DeviceChoice::SystemDefault => None,
        homeline_audio::DeviceChoice::Named(name) => Some(name),
    }
}

/// `[[accounts]]`: one SIP account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Stable identifier, e.g. `acc-3f9a1c` (generated by the app; any unique word works).
    #[serde(deserialize_with = "deserialize_id")]
    pub id: String,
    /// The name shown to people.
    pub display_name: String,
    /// The address of record: `sip:user@host[:port]` or `sips:…`.
    #[serde(deserialize_with = "deserialize_sip_address")]
    pub sip_address: String,
    /// The authentication user; empty (the default) means the user part of `sip_address`.
    #[serde(default)]
    pub auth_user: String,
    /// The registrar or proxy, `sip:host[:port]`; empty (the default) means none.
    #[serde(default, deserialize_with = "deserialize_registrar")]
    pub registrar: String,
    /// `auto` (default), `udp`, `tcp`, `tls`, `ws` or `wss`.
    #[serde(default)]
    pub transport: Transport,
    /// Numbers typed with this prefix (1 to 8 of `0-9*#`, unique among the accounts) are
    /// called from this account with the prefix stripped; empty (the default) means none.
    #[serde(default, deserialize_with = "deserialize_dial_prefix")]
    pub dial_prefix: String,
    /// Numbers without a matching prefix are called from this account; at most one account
    /// is the default (without one, the first account with a registrar is used).
    #[serde(default)]
    pub is_default: bool,
    /// Media encryption (SDES-SRTP, RFC 4568): `optional` (the default) offers it and accepts
    /// plain RTP from peers without it; `required` refuses calls without it; `off` never
    /// offers it (for a PBX that rejects `a=crypto` lines).
    #[serde(default, skip_serializing_if = "MediaEncryption::is_default")]
    pub media_encryption: MediaEncryption,
    /// The SIP password, for headless and scripted use only. Accepted with a warning: the
    /// app keeps passwords in the system keyring and moves this one there when the password
    /// is set in Settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// STUN servers for this account, replacing `[network] stun_servers`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::nat::config::deserialize_opt_stun_uris"
    )]
    pub stun_servers: Option<Vec<String>>,
    /// TURN relays for this account, replacing `[[network.turn]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<Vec<crate::nat::config::TurnServerConfig>>,
    /// The number (or SIP URI) that reaches this account's voicemail, e.g. `*97`. When set,
    /// Homeline subscribes to the account's message summary (RFC 3842) and shows waiting
    /// messages on the Phone tab; empty (the default) means no voicemail indicator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub voicemail_number: String,
}

fn deserialize_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    accounts::check_id(&id).map_err(serde::de::Error::custom)?;
    Ok(id)
}

fn deserialize_sip_address<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    accounts::check_sip_address(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn deserialize_dial_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    accounts::check_dial_prefix(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn deserialize_registrar<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    accounts::check_registrar(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

/// What kind of problem a configuration file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not valid TOML (or not UTF-8).
    Syntax,
    /// Valid TOML, but a key or value Homeline does not accept.
    Schema,
    /// Written by a newer Homeline (higher `version`).
    NewerVersion,
    /// The file exists but could not be read.
    Unreadable,
}

/// Why a configuration file could not be used, and where it was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// What went wrong.
    pub kind: ProblemKind,
    /// The file that was read.
    pub path: PathBuf,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// The 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The parser's explanation.
    pub detail: String,
    /// Where the broken file was moved (by [`load`]; [`check`] never moves it).
    pub kept_at: Option<PathBuf>,
}

impl ConfigProblem {
    /// Whether saving must be refused so as not to overwrite the file (a newer version, an
    /// unreadable file, or a broken file that could not be moved aside).
    pub fn blocks_saving(&self) -> bool {
        match self.kind {
            ProblemKind::NewerVersion | ProblemKind::Unreadable => true,
            ProblemKind::Syntax | ProblemKind::Schema => self.kept_at.is_none(),
        }
    }

    /// The problem for people, with the file, line and column.
    pub fn to_ui_error(&self) -> UiError {
        let (code, hint) = match self.kind {
            ProblemKind::Syntax | ProblemKind::Schema => (
                "config_broken",
                match &self.kept_at {
                    Some(kept) => format!(
                        "Homeline started with default settings. Your old file is kept as {}: \
                         fix the line named above and copy it back, or enter your settings again.",
                        kept.display()
                    ),
                    None => "Fix the line named above in a text editor, then try again.".into(),
                },
            ),
            ProblemKind::NewerVersion => (
                "config_newer_version",
                "Update Homeline, or use the file of this version. Homeline will not change the \
                 newer file; changes made now are not saved."
                    .into(),
            ),
            ProblemKind::Unreadable => (
                "config_unreadable",
                "Check that the file exists and that you may read and write it.".into(),
            ),
        };
        UiError::new(code, self.to_string(), hint)
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ProblemKind::Syntax => "is not valid TOML",
            ProblemKind::Schema => "has a setting Homeline does not accept",
            ProblemKind::NewerVersion => "was written by a newer version of Homeline",
            ProblemKind::Unreadable => "could not be read",
        };
        write!(f, "The configuration file {} {what}", self.path.display())?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, " (line {l}, column {c})")?,
            (Some(l), None) => write!(f, " (line {l})")?,
            _ => {}
        }
        write!(f, ": {}", self.detail.trim_end())?;
        if let Some(kept) = &self.kept_at {
            write!(f, ". It was kept as {}", kept.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigProblem {}

/// Errors of reading and writing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No home directory, so no platform config directory.
    #[error("no home directory was found, so there is no place for the configuration file")]
    NoConfigDir,
    /// Saving is refused because the existing file must not be overwritten.
    #[error("{0}")]
    SavingBlocked(ConfigProblem),
    /// Writing the file failed.
    #[error("could not write the configuration file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The configuration could not be turned into TOML (a bug).
    #[error("could not encode the configuration: {0}")]
    Encode(#[from] toml::ser::Error),
}

/// The platform directories of Homeline, or `None` without a home directory.
pub(crate) fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "Homeline", "Homeline")
}

/// The configuration file to use: `HOMELINE_CONFIG` if set, else the platform config dir.
pub fn default_config_path() -> Result<PathBuf, ConfigError> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    project_dirs()
        .map(|d| d.config_dir().join(CONFIG_FILE_NAME))
        .ok_or(ConfigError::NoConfigDir)
}

/// The result of [`load`]: the configuration to use and, if the file was not usable, why.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration (defaults when the file was missing or broken).
    pub config: Config,
    /// Set when the file existed but could not be used.
    pub problem: Option<ConfigProblem>,
}

/// The result of [`check`].
#[derive(Debug, Clone)]
pub struct Checked {
    /// The parsed configuration (defaults when the file does not exist).
    pub config: Config,
    /// Whether the file exists.
    pub exists: bool,
}

/// Loads the configuration for use. A missing file gives the defaults; a broken one gives the
/// defaults, a [`ConfigProblem`] and the file moved aside (never overwritten).
pub fn load(path: &Path) -> Loaded {
    match read_and_parse(path) {
        Ok(Some(config)) => Loaded {
            config,
            problem: None,
        },
        Ok(None) => Loaded {
            config: Config::default(),
            problem: None,
        },
        Err(mut problem) => {
            if matches!(problem.kind, ProblemKind::Syntax | ProblemKind::Schema) {
                match move_aside(path) {
                    Ok(kept) => problem.kept_at = Some(kept),
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e,
                            "could not move the broken configuration aside; saving is disabled");
                    }
                }
            }
            tracing::error!("{problem}");
            Loaded {
                config: Config::default(),
                problem: Some(problem),
            }
        }
    }
}

/// Checks the configuration file without changing anything.
pub fn check(path: &Path) -> Result<Checked, ConfigProblem> {
    read_and_parse(path).map(|c| Checked {
        exists: c.is_some(),
        config: c.unwrap_or_default(),
    })
}

/// Saves the configuration atomically (temporary file, fsync, rename).
pub fn save(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let text = format!("{HEADER}{}", toml::to_string_pretty(config)?);
    write_atomic(path, text.as_bytes(), |_| Ok(()))
}

/// Reads and parses; `Ok(None)` when the file does not exist.
fn read_and_parse(path: &Path) -> Result<Option<Config>, ConfigProblem> {
    let problem = |kind, detail: String| ConfigProblem {
        kind,
        path: path.to_path_buf(),
        line: None,
        column: None,
        detail,
        kept_at: None,
    };
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(ProblemKind::Unreadable, e.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        ConfigProblem {
            line: Some(line),
            column: Some(column),
            ..problem(ProblemKind::Syntax, "the file is not UTF-8 text".into())
        }
    })?;
    let config = parse(&text).map_err(|(kind, detail, at)| {
        let (line, column) = match at {
            Some(offset) => {
                let (l, c) = line_col(&text, offset);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigProblem {
            line,
            column,
            ..problem(kind, detail)
        }
    })?;
    crate::nat::warn_file_passwords(&config, path);
    for acc in &config.accounts {
        if acc.password.is_some() {
            tracing::warn!(
                account = %acc.id,
                file = %path.display(),
                "the configuration file holds this account's password; prefer the system \
                 keyring (set the password in Homeline's Settings and it moves there)"
            );
        }
    }
    Ok(Some(config))
}

type ParseError = (ProblemKind, String, Option<usize>);

/// Parses the text: first the version alone (so that a newer file is recognised even when
/// its schema differs), then the whole schema.
fn parse(text: &str) -> Result<Config, ParseError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: Option<i64>,
    }
    let toml_err =
        |kind, e: toml::de::Error| (kind, e.message().to_string(), e.span().map(|s| s.start));
    let v: VersionOnly = toml::from_str(text).map_err(|e| toml_err(ProblemKind::Syntax, e))?;
    if let Some(version) = v.version {
        if version > i64::from(CONFIG_VERSION) {
            let at = text.find("version");
            return Err((
                ProblemKind::NewerVersion,
                format!("it has version = {version}; this Homeline reads version {CONFIG_VERSION}"),
                at,
            ));
        }
        if version < 1 {
            return Err((
                ProblemKind::Schema,
                format!("version must be {CONFIG_VERSION}, not {version}"),
                text.find("version"),
            ));
        }
    }
    let config: Config = toml::from_str(text).map_err(|e| toml_err(ProblemKind::Schema, e))?;
    let mut seen = std::collections::HashSet::new();
    let mut defaults = 0;
    for (i, acc) in config.accounts.iter().enumerate() {
        if !seen.insert(acc.id.as_str()) {
            return Err((
                ProblemKind::Schema,
                format!("two accounts have the id {:?}; each needs its own", acc.id),
                text.rfind(&format!("\"{}\"", acc.id)),
            ));
        }
        let before = &config.accounts[..i];
        if let Err(e) = accounts::check_unique_prefix(&acc.dial_prefix, None, before) {
            let nth = before
                .iter()
                .filter(|a| a.dial_prefix == acc.dial_prefix)
                .count();
            return Err((
                ProblemKind::Schema,
                e.to_string(),
                key_at(text, "dial_prefix", &acc.dial_prefix, nth),
            ));
        }
        if acc.is_default {
            defaults += 1;
            if defaults > 1 {
                return Err((
                    ProblemKind::Schema,
                    "more than one account has is_default = true; mark only one".into(),
                    key_at(text, "is_default", "true", 1),
                ));
            }
        }
        if let Some(p) = &acc.password {
            redact::register(p);
        }
    }
    Ok(config)
}

/// Where the `n`th (from 0) line `key = value` is (quotes around the value ignored), for
/// pointing at the second of two settings that clash.
fn key_at(text: &str, key: &str, value: &str, n: usize) -> Option<usize> {
    let mut offset = 0;
    let mut found = 0;
    for line in text.split_inclusive('\n') {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            if k.trim() == key && v == value {
                if found == n {
                    return Some(offset + (line.len() - line.trim_start().len()));
                }
                found += 1;
            }
        }
        offset += line.len();
    }
    None
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn move_aside(path: &Path) -> io::Result<PathBuf> {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path.file_name().map_or_else(
        || CONFIG_FILE_NAME.into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut kept = path.with_file_name(format!("{name}.broken-{ts}"));
    let mut n = 1;
    while kept.exists() {
        kept = path.with_file_name(format!("{name}.broken-{ts}-{n}"));
        n += 1;
    }
    fs::rename(path, &kept)?;
    Ok(kept)
}

/// Writes `bytes` to `path` atomically. `before_persist` runs after the data is written and
/// before it is flushed and renamed; tests use it to simulate a failure at the worst moment.
fn write_atomic(
    path: &Path,
    bytes: &[u8],
    before_persist: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), ConfigError> {
    replace_file(path, bytes, before_persist).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces `path` with `bytes` so that a crash leaves the old file or the new one, never
/// half of one: a temporary file in the same directory, written, flushed to disk and renamed
/// over `path`. Creates the directory if needed. Also used for the call history.
pub(crate) fn replace_file(
    path: &Path,
    bytes: &[u8],
    before_persist: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "homeline".into(), |n| n.to_string_lossy().into_owned());
    // Same directory, so the rename cannot cross file systems. The temporary file is created
    // readable by the owner only (it may hold a scripted password) and is deleted on drop if
    // anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    before_persist(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable. Directories cannot be opened this way on Windows,
    // where the rename is durable enough; ignore the failure there.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str) -> AccountConfig {
        AccountConfig {
            id: id.into(),
            display_name: "Alice Example".into(),
            sip_address: "sip:alice@example.com".into(),
            auth_user: "alice-auth".into(),
            registrar: "sip:pbx.example.com:5060".into(),
            transport: Transport::Tls,
            password: None,
            dial_prefix: String::new(),
            is_default: false,
            media_encryption: MediaEncryption::default(),
            stun_servers: None,
            turn: None,
            voicemail_number: String::new(),
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(CONFIG_FILE_NAME);
        let mut config = Config::default();
        config.network.keepalive_secs = 60;
        config.network.sip_local_port = 5062;
        config.network.registration_expires_secs = 120;
        config.network.tls_ca_file = Some(PathBuf::from("/etc/pbx-ca.pem"));
        config.logging.level = LogLevel::Debug;
        config.audio.speaker = Some("USB Headset Analog Stereo".into());
        config.accounts.push(AccountConfig {
            dial_prefix: "9".into(),
            is_default: true,
            media_encryption: MediaEncryption::default(),
            ..account("acc-000001")
        });
        config.accounts.push(AccountConfig {
            transport: Transport::Auto,
            registrar: String::new(),
            dial_prefix: "*31#".into(),
            ..account("acc-000002")
        });
        save(&path, &config).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("version = 1"), "{text}");
        assert!(text.contains("dial_prefix = \"9\""), "{text}");
        assert!(text.contains("[audio]"), "{text}");
        assert!(!text.contains("microphone"), "{text}");
        let loaded = load(&path);
        assert!(loaded.problem.is_none());
        assert_eq!(loaded.config, config);
        assert_eq!(files_in(path.parent().unwrap()), vec![CONFIG_FILE_NAME]);
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(&dir.path().join("none.toml"));
        assert!(loaded.problem.is_none());
        assert_eq!(loaded.config, Config::default());
        assert!(!check(&dir.path().join("none.toml")).unwrap().exists);
    }

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        let mut config = Config::default();
        config.accounts.push(account("acc-old001"));
        save(&path, &config).unwrap();
        let before = fs::read(&path).unwrap();

        let r = write_atomic(&path, b"version = 1\n[[accounts]]\nid = \"half", |_| {
            Err(io::Error::other("disk full (simulated)"))
        });
        assert!(matches!(r, Err(ConfigError::Write { .. })));
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(files_in(dir.path()), vec![CONFIG_FILE_NAME]);
    }

    #[test]
    fn broken_syntax_is_kept_aside_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        let text = "version = 1\n\n[network]\nkeepalive_secs = 30\nsip_local_port = = 5\n";
        fs::write(&path, text).unwrap();

        // check() reports and touches nothing.
        let p = check(&path).unwrap_err();
        assert_eq!(p.kind, ProblemKind::Syntax);
        assert_eq!(p.line, Some(5));
        assert!(p.kept_at.is_none());
        assert!(path.exists());

        let loaded = load(&path);
        let p = loaded.problem.unwrap();
        assert_eq!(loaded.config, Config::default());
        assert_eq!(p.line, Some(5));
        let kept = p.kept_at.clone().unwrap();
        assert!(!path.exists());
        assert_eq!(fs::read_to_string(&kept).unwrap(), text);
        let name = kept.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("homeline.toml.broken-"), "{name}");
        let msg = p.to_string();
        assert!(msg.contains("line 5"), "{msg}");
        assert!(msg.contains(&name), "{msg}");
        assert!(!p.blocks_saving());
        let ui = p.to_ui_error();
        assert_eq!(ui.code, "config_broken");
        assert!(ui.hint.contains(&name));

        // The next save creates a fresh file and leaves the kept one alone.
        save(&path, &Config::default()).unwrap();
        assert_eq!(fs::read_to_string(&kept).unwrap(), text);
    }

    #[test]
    fn schema_errors_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        let cases = [
            (
                "version = 1\n[network]\nkeepalive_secs = 5\n",
                3,
                "between 20 and 170",
            ),
            (
                "version = 1\n[network]\nregistration_expires_secs = 30\n",
                3,
                "between 60 and 86400",
            ),
            ("version = 1\n[logging]\nlevel = \"loud\"\n", 3, "loud"),
            ("version = 1\n[network]\nkeep_alive = 30\n", 3, "keep_alive"),
            (
                "version = 1\n[[accounts]]\nid = \"a1\"\ndisplay_name = \"A\"\nsip_address = \"alice@example.com\"\n",
                5,
                "sip:",
            ),
            (
                "version = 1\n[[accounts]]\nid = \"a1\"\ndisplay_name = \"A\"\nsip_address = \"sip:a@b\"\ntransport = \"sctp\"\n",
                6,
                "sctp",
            ),
            (
                "version = 1\n[[accounts]]\nid = \"a1\"\ndisplay_name = \"A\"\nsip_address = \"sip:a@b\"\ndial_prefix = \"9x\"\n",
                6,
                "0-9, * and #",
            ),
            (
                "version = 1\n[audio]\nmicrophone = \"Mic\"\nvolume = 3\n",
                4,
                "volume",
            ),
        ];
        for (text, line, needle) in cases {
            fs::write(&path, text).unwrap();
            let p = check(&path).unwrap_err();
            assert_eq!(p.kind, ProblemKind::Schema, "{text}");
            assert_eq!(p.line, Some(line), "{text}: {p}");
            assert!(p.to_string().contains(needle), "{p}");
        }
    }

    #[test]
    fn newer_version_is_not_moved_and_blocks_saving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        fs::write(&path, "version = 2\n[shiny]\nnew = true\n").unwrap();
        let loaded = load(&path);
        let p = loaded.problem.unwrap();
        assert_eq!(p.kind, ProblemKind::NewerVersion);
        assert!(p.kept_at.is_none());
        assert!(p.blocks_saving());
        assert!(path.exists());
        assert_eq!(p.to_ui_error().code, "config_newer_version");
    }

    #[test]
    fn password_key_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        fs::write(
            &path,
            "version = 1\n[[accounts]]\nid = \"bot\"\ndisplay_name = \"Bot\"\n\
             sip_address = \"sips:bot@example.com:5061\"\npassword = \"Scripted-Pw-42\"\n",
        )
        .unwrap();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Capture(sink.clone()))
            .with_ansi(false)
            .finish();
        let c = tracing::subscriber::with_default(subscriber, || check(&path).unwrap().config);
        let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("prefer the system keyring"), "{logged}");
        assert!(logged.contains("account=bot"), "{logged}");
        assert!(!logged.contains("Scripted-Pw-42"), "{logged}");
        assert_eq!(
            c.accounts[0].password.as_ref().map(Secret::expose),
            Some("Scripted-Pw-42")
        );
        assert!(!format!("{c:?}").contains("Scripted-Pw-42"));
        // Registered for redaction as soon as it was read.
        assert_eq!(redact::redact("x Scripted-Pw-42 y"), "x *** y");
    }

    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn duplicate_ids_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        let one = "[[accounts]]\nid = \"a1\"\ndisplay_name = \"A\"\nsip_address = \"sip:a@b\"\n";
        fs::write(&path, format!("version = 1\n{one}{one}")).unwrap();
        let p = check(&path).unwrap_err();
        assert_eq!(p.line, Some(7));
    }

    #[test]
    fn dial_rules_checked_across_accounts() {
        let acc = |id: &str, extra: &str| {
            format!(
                "[[accounts]]\nid = \"{id}\"\ndisplay_name = \"Acc {id}\"\n\
                 sip_address = \"sip:a@b\"\n{extra}"
            )
        };
        let text = format!(
            "version = 1\n{}{}{}",
            acc("a1", "dial_prefix = \"9\"\n"),
            acc("a2", "dial_prefix = \"8\"\n"),
            acc("a3", "dial_prefix = \"9\"\n")
        );
        let (kind, detail, at) = parse(&text).unwrap_err();
        assert_eq!(kind, ProblemKind::Schema);
        assert!(
            detail.contains("already the prefix of \u{201c}Acc a1\u{201d}"),
            "{detail}"
        );
        assert_eq!(line_col(&text, at.unwrap()).0, 16);

        let text = format!(
            "version = 1\n{}{}",
            acc("a1", "is_default = true\n"),
            acc("a2", "is_default = true\n")
        );
        let (_, detail, at) = parse(&text).unwrap_err();
        assert!(detail.contains("mark only one"), "{detail}");
        assert_eq!(line_col(&text, at.unwrap()).0, 11);

        // Files written before dial rules load: no prefix, no default.
        let c = parse(&format!("version = 1\n{}", acc("a1", ""))).unwrap();
        assert_eq!(c.accounts[0].dial_prefix, "");
        assert!(!c.accounts[0].is_default);
        assert_eq!(c.audio, AudioConfig::default());
    }

    #[test]
    fn audio_settings_become_routes() {
        use homeline_audio::{AudioRoutes, DeviceChoice};
        let c = parse(
            "version = 1\n[audio]\nmicrophone = \"USB Headset Mono\"\nspeaker = \"default\"\n\
             ring = \"\"\n",
        )
        .unwrap();
        assert!(!c.audio.is_system_default());
        assert_eq!(
            c.audio.routes(),
            AudioRoutes {
                microphone: DeviceChoice::Named("USB Headset Mono".into()),
                speaker: DeviceChoice::SystemDefault,
                ring: DeviceChoice::SystemDefault,
            }
        );
        assert_eq!(AudioConfig::default().routes(), AudioRoutes::default());
        let only_defaults = AudioConfig {
            microphone: Some(" Default ".into()),
            speaker: Some(String::new()),
            ring: None,
        };
        assert!(only_defaults.is_system_default());
        assert_eq!(
            device_setting(&Some("  Jabra  ".into())).as_deref(),
            Some("Jabra")
        );
        assert_eq!(device_setting(&Some("DEFAULT".into())), None);
    }

    #[test]
    fn example_file_is_valid() {
        let text = include_str!("../config.example.toml");
        let c = parse(text).unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.network, NetworkConfig::default());
        assert_eq!(c.accounts[0].dial_prefix, "9");
        assert!(c.accounts[0].is_default);
        assert!(c.audio.is_system_default());
        assert!(c.headset.is_default());
    }

    #[test]
    fn keepalive_zero_means_off() {
        let c = parse("version = 1\n[network]\nkeepalive_secs = 0\n").unwrap();
        assert_eq!(c.network.keepalive_secs, 0);
        let c = parse("version = 1\n[network]\ntls_ca_file = \"/x/ca.pem\"\n").unwrap();
        assert_eq!(c.network.tls_ca_file, Some(PathBuf::from("/x/ca.pem")));
        assert_eq!(c.network.registration_expires_secs, 600);
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 7), (2, 4));
        assert_eq!(line_col("", 10), (1, 1));
    }
}
