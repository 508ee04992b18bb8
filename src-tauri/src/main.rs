//! Homeline's desktop shell: Tauri commands over `homeline-phone`, nothing else.
//!
//! Each command is one line over [`homeline_phone::Phone`]; errors cross to the web UI as
//! `UiError {code, message, hint}`. Commands run on Tauri's async pool (`async`), never on the
//! main thread, so a slow keyring or device scan cannot freeze the window.
//!
//! Registration: once the window is up, a task on Tauri's (tokio) runtime starts every account
//! that has a registrar and forwards each status change as the event
//! [`REGISTRATION_EVENT`]. Saving an account restarts its registration; removing one (or
//! clearing its registrar) stops its registration alone. On exit every account unregisters,
//! waiting at most a few seconds.
//!
//! Calls: the call manager starts before the registrations (so an incoming call rings instead
//! of being answered busy); every change of every call goes to the UI as [`CALLS_EVENT`], and
//! audio levels of the call in progress through an IPC channel (`watch_levels`).
#![forbid(unsafe_code)]
// Keeps Windows release builds from opening a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod desktop;
mod texts;

use std::sync::OnceLock;
use std::time::Instant;

use homeline_phone::api::{
    Account, AccountInput, AppInfo, AudioDevices, AudioSettings, DialPreview, HistoryEntry, UiError,
};
use homeline_phone::calls::{CallStatus, CallView};
use homeline_phone::contacts::chat_log::ChatMessage;
use homeline_phone::contacts::{Contact, ContactInput, PresenceStatus};
use homeline_phone::diag::model::{AppliedFix, CheckId};
use homeline_phone::diag::{DiagRunRecord, ExportedReport};
use homeline_phone::headset::HeadsetConfig;
use homeline_phone::media::LevelReading;
use homeline_phone::nat::{NetworkSettings, NetworkSettingsInput, RelayReport};
use homeline_phone::{DesktopSettings, Phone, PhoneOptions, RegistrationStatus, logging};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Manager, RunEvent, State};
use tauri_plugin_autostart::ManagerExt as _;
use tokio::sync::broadcast::error::RecvError;

/// The event carrying one account's [`RegistrationStatus`] (its `account_id` says which), so
/// the UI needs one listener for every account.
const REGISTRATION_EVENT: &str = "accounts://registration";

/// The event carrying one call's [`CallView`] on every change (its `id` says which).
const CALLS_EVENT: &str = "calls://update";

/// The event carrying one account's presence event (a contact's status, our own publication,
/// or presence being unavailable), `{account_id, kind, …}`.
const PRESENCE_EVENT: &str = "presence://update";

/// The event carrying one chat message as its thread now holds it (received, or ours with its
/// new state) — a [`ChatMessage`].
const CHAT_EVENT: &str = "chat://message";

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
fn save_account(app: AppHandle, phone: State<'_, Phone>, input: AccountInput) -> Reply<Account> {
    let saved = phone.save_account(input).map_err(|e| UiError::from(&e))?;
    if saved.registrar.is_empty() {
        // It may have had a registrar before: stop that registration, if any.
        stop_registration(app, saved.id.clone());
    } else if let Err(e) = phone.start_registration(&saved.id) {
        // The account is saved; the registration problem shows as the account's state later.
        tracing::warn!(account = %saved.id, error = %e, "could not start the registration");
    }
    Ok(saved)
}

#[tauri::command(async)]
fn remove_account(app: AppHandle, phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.remove_account(&id).map_err(|e| UiError::from(&e))?;
    stop_registration(app, id);
    Ok(())
}

#[tauri::command(async)]
fn registration_states(phone: State<'_, Phone>) -> Vec<RegistrationStatus> {
    phone.registration_states()
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

#[tauri::command(async)]
fn dial_preview(phone: State<'_, Phone>, target: String) -> Reply<DialPreview> {
    phone.dial_preview(&target)
}

#[tauri::command(async)]
fn call_history(phone: State<'_, Phone>) -> Reply<Vec<HistoryEntry>> {
    phone.call_history().map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn clear_history(phone: State<'_, Phone>) -> Reply<()> {
    phone.clear_history().map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn list_contacts(phone: State<'_, Phone>) -> Reply<Vec<Contact>> {
    phone.contacts().map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn save_contact(phone: State<'_, Phone>, input: ContactInput) -> Reply<Contact> {
    phone.save_contact(input).map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn remove_contact(phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.remove_contact(&id).map_err(|e| UiError::from(&e))
}

// snake_case: the UI passes `account_id`, as docs/app-api.md names it.
#[tauri::command(async, rename_all = "snake_case")]
async fn set_presence(
    phone: State<'_, Phone>,
    account_id: String,
    status: PresenceStatus,
    note: Option<String>,
) -> Reply<()> {
    phone.set_presence(&account_id, status, note).await
}

#[tauri::command(async, rename_all = "snake_case")]
fn watch_presence(phone: State<'_, Phone>, account_id: String, target: String) -> Reply<String> {
    phone.watch_presence(&account_id, &target)
}

#[tauri::command(async)]
fn chat_thread(phone: State<'_, Phone>, peer: String) -> Reply<Vec<ChatMessage>> {
    phone.chat_thread(&peer)
}

#[tauri::command(async, rename_all = "snake_case")]
async fn send_chat(
    phone: State<'_, Phone>,
    account_id: String,
    target: String,
    text: String,
) -> Reply<ChatMessage> {
    phone.send_chat(&account_id, &target, &text).await
}

#[tauri::command(async)]
fn audio_settings(phone: State<'_, Phone>) -> AudioSettings {
    phone.audio_settings()
}

#[tauri::command(async)]
fn headset_status(phone: State<'_, Phone>) -> homeline_phone::headset::HeadsetStatus {
    phone.headset_status()
}

#[tauri::command(async)]
fn save_headset_settings(phone: State<'_, Phone>, settings: HeadsetConfig) -> Reply<HeadsetConfig> {
    phone
        .save_headset_settings(settings)
        .map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn save_audio_settings(phone: State<'_, Phone>, settings: AudioSettings) -> Reply<AudioSettings> {
    phone
        .save_audio_settings(settings)
        .map_err(|e| UiError::from(&e))
}

#[tauri::command(async, rename_all = "snake_case")]
fn network_settings(phone: State<'_, Phone>) -> NetworkSettings {
    phone.network_settings()
}

#[tauri::command(async, rename_all = "snake_case")]
fn save_network_settings(
    phone: State<'_, Phone>,
    input: NetworkSettingsInput,
) -> Reply<NetworkSettings> {
    phone.save_network_settings(input)
}

/// Settings → Network → Test relays: every relay over each transport, ranked by round trip.
#[tauri::command(async, rename_all = "snake_case")]
async fn test_relays(phone: State<'_, Phone>) -> Reply<RelayReport> {
    phone.test_relays().await
}

// snake_case like every other command's arguments (docs/app-api.md): Tauri 2 would otherwise
// expect `accountId`, and the account the UI chose was dropped as a missing argument.
#[tauri::command(async, rename_all = "snake_case")]
async fn dial(
    phone: State<'_, Phone>,
    target: String,
    account_id: Option<String>,
) -> Reply<CallView> {
    phone.dial(&target, account_id.as_deref(), None).await
}

#[tauri::command(async)]
async fn echo_test(phone: State<'_, Phone>) -> Reply<CallView> {
    phone.echo_test().await
}

#[tauri::command(async)]
async fn answer_call(phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.calls()?.answer(&id).await
}

#[tauri::command(async)]
async fn reject_call(phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.calls()?.reject(&id).await
}

#[tauri::command(async)]
async fn hangup_call(phone: State<'_, Phone>, id: String) -> Reply<()> {
    phone.calls()?.hangup(&id).await
}

#[tauri::command(async)]
async fn hold_call(phone: State<'_, Phone>, id: String, on: bool) -> Reply<()> {
    phone.calls()?.hold(&id, on).await
}

#[tauri::command(async)]
async fn mute_call(phone: State<'_, Phone>, id: String, on: bool) -> Reply<()> {
    phone.calls()?.mute(&id, on).await
}

#[tauri::command(async)]
async fn send_dtmf(phone: State<'_, Phone>, id: String, digits: String) -> Reply<()> {
    phone.calls()?.send_dtmf(&id, &digits).await
}

#[tauri::command(async)]
fn list_calls(phone: State<'_, Phone>) -> Vec<CallView> {
    phone.list_calls()
}

/// Settings → Audio → Test: a tone on the chosen speaker for three seconds while the levels of
/// the tone and the chosen microphone go to the UI.
#[tauri::command(async)]
async fn audio_test(
    phone: State<'_, Phone>,
    channel: Channel<LevelReading>,
) -> Reply<homeline_phone::audio_test::AudioTestSummary> {
    phone
        .audio_test(std::time::Duration::from_secs(3), move |r| {
            let _ = channel.send(r);
        })
        .await
}

/// The event carrying the connectivity test's progress (`DiagEvent`: the checks as they finish,
/// the quick verdict, the final report).
const DIAG_EVENT: &str = "diag://progress";

/// Diagnostics → Test my connection: runs the test, each step as [`DIAG_EVENT`]. Arguments are
/// snake_case like every JSON field of the app API (`account_id`).
#[tauri::command(async, rename_all = "snake_case")]
async fn run_diagnostics(
    app: AppHandle,
    phone: State<'_, Phone>,
    account_id: Option<String>,
    background: bool,
) -> Reply<DiagRunRecord> {
    phone
        .diagnose(account_id, background, &mut |e| {
            let _ = app.emit(DIAG_EVENT, e);
        })
        .await
}

#[tauri::command(async)]
fn apply_diag_fixes(
    phone: State<'_, Phone>,
    record: DiagRunRecord,
    check: Option<CheckId>,
) -> Reply<Vec<AppliedFix>> {
    phone.apply_diag_fixes(&record, check)
}

#[tauri::command(async)]
fn undo_diag_fixes(phone: State<'_, Phone>) -> Reply<Vec<AppliedFix>> {
    phone.undo_diag_fixes()
}

#[tauri::command(async)]
fn export_diag_report(phone: State<'_, Phone>, record: DiagRunRecord) -> Reply<ExportedReport> {
    phone.export_diag_report(&record)
}

#[tauri::command(async)]
fn diag_history(phone: State<'_, Phone>) -> Vec<DiagRunRecord> {
    phone.diag_history()
}

/// Streams the levels of the call being talked on, about ten times a second, until the UI
/// drops the channel.
#[tauri::command(async)]
fn watch_levels(app: AppHandle, channel: Channel<LevelReading>) {
    tauri::async_runtime::spawn(async move {
        let phone = app.state::<Phone>();
        let Ok(calls) = phone.calls() else { return };
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let mut current: Option<(String, tokio::sync::watch::Receiver<LevelReading>)> = None;
        loop {
            tick.tick().await;
            let talking = calls
                .list()
                .into_iter()
                .find(|c| c.state == CallStatus::Active && !c.on_hold)
                .map(|c| c.id);
            let Some(id) = talking else {
                current = None;
                continue;
            };
            if current.as_ref().is_none_or(|(c, _)| *c != id) {
                current = calls.levels(&id).await.map(|w| (id.clone(), w));
            }
            if let Some((_, w)) = &current {
                let reading = *w.borrow();
                if channel.send(reading).is_err() {
                    // The page went away (reload, window closed): stop.
                    return;
                }
            }
        }
    });
}

#[tauri::command(async)]
fn desktop_settings(phone: State<'_, Phone>) -> DesktopSettings {
    phone.desktop_settings()
}

#[tauri::command(async)]
fn save_desktop_settings(
    phone: State<'_, Phone>,
    settings: DesktopSettings,
) -> Reply<DesktopSettings> {
    phone
        .save_desktop_settings(settings)
        .map_err(|e| UiError::from(&e))
}

#[tauri::command(async)]
fn autostart_enabled(app: AppHandle) -> Reply<bool> {
    app.autolaunch().is_enabled().map_err(autostart_error)
}

#[tauri::command(async)]
fn set_autostart(app: AppHandle, on: bool) -> Reply<bool> {
    let launcher = app.autolaunch();
    if on {
        launcher.enable()
    } else {
        launcher.disable()
    }
    .map_err(autostart_error)?;
    launcher.is_enabled().map_err(autostart_error)
}

/// The dialer text of the link Homeline was started with (once), for the UI to pick up.
#[tauri::command(async)]
fn take_link(pending: State<'_, desktop::PendingLink>) -> Option<String> {
    pending.take()
}

/// The UI's language: the tray and the notifications say their words in it. `false` for one
/// the shell does not have (it keeps the one in use).
#[tauri::command(async)]
fn set_language(app: AppHandle, locale: String) -> bool {
    desktop::set_language(&app, &locale)
}

fn autostart_error(e: tauri_plugin_autostart::Error) -> UiError {
    UiError::new(
        "autostart_failed",
        format!("Homeline could not change whether it starts when you log in: {e}."),
        "Check that your autostart folder (~/.config/autostart on Linux) can be written, then try again.",
    )
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

/// Unregisters one account in the background, so the command answers at once.
fn stop_registration(app: AppHandle, id: String) {
    tauri::async_runtime::spawn(async move {
        app.state::<Phone>().stop_registration(&id).await;
    });
}

/// Forwards every registration status change to the UI, then starts the registrations
/// (subscribing first, so that no early change is missed).
async fn run_registrations(app: AppHandle) {
    let phone = app.state::<Phone>();
    // Calls first: with the call manager listening, an incoming call rings instead of being
    // answered busy.
    match phone.calls() {
        Ok(calls) => {
            tauri::async_runtime::spawn(forward_calls(app.clone(), calls.subscribe()));
        }
        Err(e) => tracing::warn!(error = %e.message, "calls are unavailable"),
    }
    if let Err(e) = phone.start_headset() {
        tracing::warn!(error = %e.message, "headset integration is unavailable");
    }
    // Before the accounts start, so that no presence event of theirs is missed.
    tauri::async_runtime::spawn(forward_presence(app.clone(), phone.subscribe_presence()));
    tauri::async_runtime::spawn(forward_chat(app.clone(), phone.subscribe_messages()));
    let mut changes = phone.subscribe_registrations();
    if let Err(e) = phone.start_registrations() {
        tracing::warn!(error = %e, "could not start the registrations");
    }
    loop {
        match changes.recv().await {
            Ok(status) => {
                desktop::on_registration(&app, &status);
                if let Err(e) = app.emit(REGISTRATION_EVENT, &status) {
                    tracing::warn!(error = %e, "could not send a registration status to the UI");
                }
            }
            // Missed changes are harmless: the next one carries the whole status, and the UI
            // can ask `registration_states` for all of them.
            Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "registration events lagged"),
            Err(RecvError::Closed) => break,
        }
    }
}

/// Forwards every presence event of every account to the UI as [`PRESENCE_EVENT`].
async fn forward_presence(
    app: AppHandle,
    mut events: tokio::sync::broadcast::Receiver<homeline_phone::presence::agent::AccountPresence>,
) {
    loop {
        match events.recv().await {
            Ok(event) => {
                if let Err(e) = app.emit(PRESENCE_EVENT, &event) {
                    tracing::warn!(error = %e, "could not send a presence event to the UI");
                }
            }
            // A missed status is replaced by the contact's next NOTIFY (each carries the whole
            // state), so lagging only delays a dot.
            Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "presence events lagged"),
            Err(RecvError::Closed) => break,
        }
    }
}

/// Records every chat event of every account in the chat history (so a message is kept even
/// while its thread is not open) and forwards the message as the thread now holds it.
async fn forward_chat(
    app: AppHandle,
    mut events: tokio::sync::broadcast::Receiver<homeline_phone::presence::chat::AccountMessage>,
) {
    loop {
        match events.recv().await {
            Ok(event) => match app.state::<Phone>().record_chat_event(&event) {
                Ok(Some(message)) => {
                    if message.direction == homeline_phone::contacts::chat_log::Direction::Incoming
                    {
                        desktop::on_message(&app, &message);
                    }
                    if let Err(e) = app.emit(CHAT_EVENT, &message) {
                        tracing::warn!(error = %e, "could not send a chat message to the UI");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e.message, "a chat message was not recorded"),
            },
            Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "chat events lagged"),
            Err(RecvError::Closed) => break,
        }
    }
}

/// Forwards every change of every call to the UI, and announces each new incoming call with
/// an OS notification (the ringtone plays on the ring device meanwhile).
async fn forward_calls(app: AppHandle, mut updates: tokio::sync::broadcast::Receiver<CallView>) {
    let mut announced = std::collections::HashSet::new();
    loop {
        match updates.recv().await {
            Ok(view) => {
                let new_incoming =
                    view.state == CallStatus::Incoming && announced.insert(view.id.clone());
                if new_incoming {
                    notify_incoming(&app, &view);
                }
                desktop::on_call(&app, &view, new_incoming);
                if view.is_ended() {
                    announced.remove(&view.id);
                }
                if let Err(e) = app.emit(CALLS_EVENT, &view) {
                    tracing::warn!(error = %e, "could not send a call update to the UI");
                }
            }
            // The next update of a call carries its whole view; `list_calls` has them all.
            Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "call events lagged"),
            Err(RecvError::Closed) => break,
        }
    }
}

fn notify_incoming(app: &AppHandle, view: &CallView) {
    use tauri_plugin_notification::NotificationExt;
    let texts = app.state::<texts::Texts>();
    let who = view
        .remote_name
        .as_deref()
        .unwrap_or(&view.remote)
        .to_owned();
    let title = texts.say(
        if view.waiting {
            "notify-waiting-title"
        } else {
            "notify-incoming-title"
        },
        &[],
    );
    if let Err(e) = app
        .notification()
        .builder()
        .title(title)
        .body(texts.say("notify-incoming-body", &[("who", who.into())]))
        .show()
    {
        // No notification service (a bare X session, a test): the window and the ringtone
        // still announce the call.
        tracing::debug!(error = %e, "no desktop notification for the incoming call");
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

    let built = tauri::Builder::default()
        // First, so that a second start hands over its link and exits before doing anything.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            desktop::second_start(app, args)
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(phone)
        .manage(desktop::PendingLink::from_args(std::env::args().skip(1)))
        .manage(desktop::TrayState::default())
        .manage(desktop::TrayMenu::default())
        .manage(texts::Texts::default())
        .plugin(tauri_plugin_notification::init())
        .on_window_event(desktop::on_window_event)
        .setup(|app| {
            desktop::make_tray(app.handle());
            // Links the desktop opens while Homeline runs (macOS delivers them this way; on
            // Linux and Windows they arrive as a second start).
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let handle = app.handle().clone();
                app.deep_link().on_open_url(move |event| {
                    let link = event
                        .urls()
                        .iter()
                        .find_map(|u| homeline_phone::dialplan::link_text(u.as_str()));
                    if let Some(text) = link {
                        desktop::hand_link(&handle, text);
                    }
                });
            }
            // Off the main thread: resolving servers and connecting never delays the window.
            tauri::async_runtime::spawn(run_registrations(app.handle().clone()));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            list_accounts,
            save_account,
            remove_account,
            registration_states,
            audio_devices,
            open_log_folder,
            export_logs,
            ui_ready,
            dial,
            echo_test,
            answer_call,
            reject_call,
            hangup_call,
            hold_call,
            mute_call,
            send_dtmf,
            list_calls,
            watch_levels,
            dial_preview,
            call_history,
            clear_history,
            list_contacts,
            save_contact,
            remove_contact,
            set_presence,
            watch_presence,
            chat_thread,
            send_chat,
            audio_settings,
            save_audio_settings,
            network_settings,
            save_network_settings,
            test_relays,
            audio_test,
            desktop_settings,
            save_desktop_settings,
            autostart_enabled,
            set_autostart,
            take_link,
            set_language,
            headset_status,
            save_headset_settings,
            run_diagnostics,
            apply_diag_fixes,
            undo_diag_fixes,
            export_diag_report,
            diag_history,
        ])
        .build(tauri::generate_context!());
    match built {
        Ok(app) => app.run(|app, event| {
            if let RunEvent::Exit = event {
                // Tell the servers we are gone, so calls stop arriving at a closed app; the
                // wait is bounded (a few seconds) by `stop_registrations` itself.
                tauri::async_runtime::block_on(async {
                    let phone = app.state::<Phone>();
                    // BYE to every call first, so nobody is left talking to a closed app.
                    phone.hangup_all(std::time::Duration::from_secs(2)).await;
                    phone.stop_registrations().await;
                });
            }
        }),
        Err(e) => {
            tracing::error!(error = %e, "the window could not be opened");
            eprintln!("homeline-app: the window could not be opened: {e}");
            std::process::exit(1);
        }
    }
}
