//! # homeline-phone — the runtime
//!
//! The one API that the desktop shell (`src-tauri`) and the CLI use: [`Phone`]. Today it holds
//! accounts, the configuration file, passwords in the OS keyring, logging, the list of
//! audio devices and SIP registration ([`sip`]: transports and one driver per account); the
//! media and NAT drivers join it as those crates grow.
//!
//! ```no_run
//! use homeline_phone::{AccountInput, Phone, PhoneOptions, Secret, Transport};
//!
//! # fn main() -> Result<(), homeline_phone::Error> {
//! let phone = Phone::open(PhoneOptions::default())?;
//! if let Some(problem) = phone.app_info().config_problem {
//!     eprintln!("{}: {}", problem.message, problem.hint);
//! }
//! let account = phone.save_account(AccountInput {
//!     id: None,
//!     display_name: "Alice".into(),
//!     sip_address: "sip:alice@example.com".into(),
//!     auth_user: String::new(),
//!     registrar: "sip:pbx.example.com".into(),
//!     transport: Transport::Auto,
//!     password: Some(Secret::new("correct horse")),
//!     dial_prefix: "9".into(),
//!     is_default: true,
//! })?;
//! println!("saved {} ({:?})", account.id, account.password_storage);
//! # Ok(()) }
//! ```
//!
//! Errors are one enum per module wrapped in [`Error`]; `UiError::from(&error)` gives the
//! `{code, message, hint}` the UI shows (see `docs/app-api.md`).
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod audio_test;
pub mod calls;
pub mod config;
pub mod contacts;
pub mod diag;
pub mod dialplan;
mod error;
pub mod headset;
pub mod history;
pub mod ice;
pub mod logging;
pub mod media;
pub mod nat;
mod phone;
mod phone_calls;
pub mod presence;
pub mod redact;
pub mod secrets;
pub mod sip;

pub use api::{
    Account, AccountInput, AppInfo, AudioDevice, AudioDevices, KeyringStatus, PasswordStorage,
    Transport, UiError,
};
pub use api::{AudioSettings, CallDirection, CallOutcome, DialPreview, HistoryEntry};
pub use config::{Config, ConfigProblem};
pub use error::Error;
pub use phone::{DesktopSettings, Phone, PhoneOptions, list_audio_devices};
pub use secrets::{MemoryKeyring, Secret, SecretBackendChoice, SecretStore};
pub use sip::{RegistrationState, RegistrationStatus};

/// This Homeline's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
