//! Homeline's desktop shell: Tauri commands over `homeline-phone`, nothing else.
//!
//! Each command is one line over [`homeline_phone::Phone`]; errors cross to the web UI as
//! `UiError {code, message, hint}`. Commands run on Tauri's async pool (`async`), never on the
//! main thread, so a slow keyring or device scan cannot freeze the window.
#![forbid(unsafe_code)]
// Keeps Windows release builds from opening a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::OnceLock;
use std::time::Instant;

use homeline_phone::api::{Account, AccountInput, AppInfo, AudioDevices, UiError};
use homeline_phone::{Phone, PhoneOptions, logging};
use tauri::State;

/// When `main` started: the zero of the start-up figure that `ui_ready` reports.
static STARTED: OnceLock<Instant> = OnceLock::new();

type Reply<T> = Result<T, UiError>;

#[tauri::command(async)]
fn app_info(phone: State<'_, Phone>) -> AppInfo {
    phone.app_info()
}

#[tauri::command(async)]
fn list_accounts(phone: State<'_, Phone>) -> Vec<Account> {
    phone.list_accounts()
}

#[tauri::command(async)]
fn save_account(phone: State<'_, Phone>, input: AccountInput) -> Reply<Account> {
    phone.save_account(input).map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn remove_account(phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.remove_account(&id).map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn audio_devices(phone: State<'_, Phone>) -> AudioDevices {
    phone.audio_devices()
}

#[tauri::command(async)]
fn open_log_folder(phone: State<'_, Phone>) -> Reply<()> {
    phone.open_log_folder().map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn export_logs(phone: State<'_, Phone>) -> Reply<String> {
    phone
        .export_logs()
        .map(|p| p.display().to_string())
        .map_err(|e| UiError::from(&e))
}

/// The UI calls this once its first content is on screen: the start-up time benchmark reads it.
#[tauri::command]
fn ui_ready() {
    let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    tracing::info!(ms, "first content on screen");
    if std::env::var_os("HOMELINE_STARTUP_PROBE").is_some() {
        eprintln!("homeline-app: first content after {ms} ms");
    }
}

fn main() {
    STARTED.get_or_init(Instant::now);
    // Logging first, so that what opening the phone reports (a broken configuration, a password
    // found in the file) reaches the log file. Without a log file the app still works.
    let _log_guard = logging::init_app_logging_default()
        .map_err(|e| eprintln!("homeline-app: logging to a file is off: {e}"))
        .ok();
    let opened = Phone::open(PhoneOptions::default());
    let phone = match opened {
        Ok(phone) => phone,
        Err(e) => {
            // Without its data directories the app cannot keep accounts or logs; say why.
            let e = UiError::from(&e);
            eprintln!("homeline-app: {} {}", e.message, e.hint);
            std::process::exit(1);
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "Homeline starting");

    let result = tauri::Builder::default()
        .manage(phone)
        .invoke_handler(tauri::generate_handler![
            app_info,
            list_accounts,
            save_account,
            remove_account,
            audio_devices,
            open_log_folder,
            export_logs,
            ui_ready,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the window could not be opened");
        eprintln!("homeline-app: the window could not be opened: {e}");
        std::process::exit(1);
    }
}
