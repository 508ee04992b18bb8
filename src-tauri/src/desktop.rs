//! Homeline as a desktop citizen: the tray icon and its menu, closing the window into the tray,
//! one instance, and `sip:`/`sips:`/`tel:` links.
//!
//! - **Tray** (Tauri's tray API): the icon carries a dot for the registrations (green: every
//!   account registered, red: one has a problem, none: nothing to register) and an orange
//!   one for missed calls; the tooltip says the same in words. Menu: Show Homeline, Echo test,
//!   Quit Homeline. A left click shows the window.
//! - **Closing the window** hides it into the tray so that calls still ring, unless
//!   Settings → General → "Quit when the window closes" is on, or no tray could be made (a
//!   desktop without a tray: then closing must quit, or Homeline would be out of reach). The
//!   first time, a notification says so.
//! - **Links and one instance**: a second start (`homeline-app sip:bob@example.com`, or the
//!   desktop opening a link) focuses the running window and hands it the link
//!   (`tauri-plugin-single-instance`); the link the first instance was started with waits in
//!   [`PendingLink`] until the UI asks for it. A link only fills the dialer
//!   ([`homeline_phone::dialplan::link_text`]): the person still presses Call.
//! - An incoming call brings the window forward; a chat message that arrives while the window
//!   is not in front shows a notification.
//! - Everything the shell says (menu, tooltip, notifications) is in the UI's language
//!   ([`crate::texts`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use homeline_phone::dialplan::link_text;
use homeline_phone::{Phone, RegistrationState, RegistrationStatus};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime, Window, WindowEvent};

use crate::texts::Texts;

/// The event that hands a clicked link's dialer text to the UI.
pub const LINK_EVENT: &str = "app://link";
const TRAY_ID: &str = "homeline";
const BASE_ICON: &[u8] = include_bytes!("../icons/32x32.png");

/// The dialer text of the link Homeline was started with, until the UI takes it.
#[derive(Debug, Default)]
pub struct PendingLink(Mutex<Option<String>>);

impl PendingLink {
    /// The link among the program's arguments, if any.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Self {
        PendingLink(Mutex::new(args.into_iter().find_map(|a| link_text(&a))))
    }

    /// The pending link (once).
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What the tray shows.
#[derive(Debug, Default)]
pub struct TrayState {
    /// The tray icon exists: closing the window may hide it there.
    made: AtomicBool,
    missed: AtomicUsize,
    registrations: Mutex<std::collections::HashMap<String, RegistrationState>>,
}

/// The tray menu's items with their message ids, to say them again when the language changes.
#[derive(Default)]
pub struct TrayMenu(Mutex<Vec<(&'static str, MenuItem<tauri::Wry>)>>);

/// Builds the tray icon and its menu. A desktop with no tray (a bare X session, some Wayland
/// desktops) leaves Homeline a window app: closing it then quits.
pub fn make_tray(app: &AppHandle) {
    match build_tray(app) {
        Ok(()) => {
            app.state::<TrayState>().made.store(true, Ordering::Relaxed);
            refresh_tray(app);
        }
        Err(e) => tracing::warn!(error = %e, "no tray icon: closing the window will quit Homeline"),
    }
}

fn build_tray(app: &AppHandle) -> tauri::Result<()> {
    let texts = app.state::<Texts>();
    let item =
        |id: &str, text: &str| MenuItem::with_id(app, id, texts.say(text, &[]), true, None::<&str>);
    let show = item("show", "tray-show")?;
    let echo = item("echo", "tray-echo")?;
    let quit = item("quit", "tray-quit")?;
    let menu = Menu::with_items(
        app,
        &[&show, &echo, &PredefinedMenuItem::separator(app)?, &quit],
    )?;
    *app.state::<TrayMenu>()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = vec![
        ("tray-show", show),
        ("tray-echo", echo),
        ("tray-quit", quit),
    ];
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(BASE_ICON)?)
        .tooltip(texts.say("tray-tooltip-idle", &[]))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => show_window(app),
            "echo" => {
                show_window(app);
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = app.state::<Phone>().echo_test().await {
                        tracing::warn!(error = %e.message, "the echo test from the tray failed");
                    }
                });
            }
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(())
}

/// Shows, restores and focuses the main window; seeing it clears the missed-call badge.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// A second start of Homeline: focus this one and fill the dialer with its link, if any.
pub fn second_start(app: &AppHandle, args: Vec<String>) {
    show_window(app);
    if let Some(text) = args.iter().skip(1).find_map(|a| link_text(a)) {
        hand_link(app, text);
    }
}

/// A link opened while Homeline runs (from the desktop or a second start).
pub fn hand_link(app: &AppHandle, text: String) {
    tracing::info!(link = %text, "a link fills the dialer");
    show_window(app);
    if let Err(e) = app.emit(LINK_EVENT, &text) {
        tracing::warn!(error = %e, "could not hand the link to the window");
    }
}

/// The window's close button: into the tray (said once), or quit.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let app = window.app_handle();
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            let tray = app.state::<TrayState>().made.load(Ordering::Relaxed);
            let phone = app.state::<Phone>();
            if !tray || phone.desktop_settings().quit_on_close {
                return;
            }
            api.prevent_close();
            let _ = window.hide();
            tracing::info!("window closed into the tray");
            if phone.first_close_to_tray() {
                let texts = app.state::<Texts>();
                notify(
                    app,
                    &texts.say("notify-tray-title", &[]),
                    &texts.say("notify-tray-body", &[]),
                );
            }
        }
        WindowEvent::Focused(true)
            if app.state::<TrayState>().missed.swap(0, Ordering::Relaxed) > 0 =>
        {
            refresh_tray(app);
        }
        _ => {}
    }
}

/// A call changed: ring the window forward, count missed calls.
pub fn on_call(app: &AppHandle, view: &homeline_phone::calls::CallView, new_incoming: bool) {
    use homeline_phone::CallOutcome;
    if new_incoming {
        show_window(app);
    }
    // Calls update about once a second while they run: ask the window only for a missed one.
    if !(view.is_ended() && view.outcome == Some(CallOutcome::Missed)) {
        return;
    }
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if !focused {
        app.state::<TrayState>()
            .missed
            .fetch_add(1, Ordering::Relaxed);
        refresh_tray(app);
    }
}

/// The UI's language changed: the menu, the tooltip and the notifications follow. `false` for
/// a language the shell does not have.
pub fn set_language(app: &AppHandle, locale: &str) -> bool {
    let texts = app.state::<Texts>();
    if !texts.set_locale(locale) {
        return false;
    }
    for (id, item) in app
        .state::<TrayMenu>()
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = item.set_text(texts.say(id, &[]));
    }
    refresh_tray(app);
    true
}

/// A chat message arrived: unless the window is in front, a notification shows it.
pub fn on_message(app: &AppHandle, message: &homeline_phone::contacts::chat_log::ChatMessage) {
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok().zip(w.is_visible().ok()))
        .is_some_and(|(focused, visible)| focused && visible);
    if focused {
        return;
    }
    let who = message
        .peer
        .strip_prefix("sip:")
        .unwrap_or(&message.peer)
        .to_owned();
    let title = app
        .state::<Texts>()
        .say("notify-message-title", &[("who", who.into())]);
    notify(app, &title, &preview(&message.text));
}

/// The start of a message for a notification: at most 200 characters, on one line.
fn preview(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A registration changed: the tray's dot follows.
pub fn on_registration(app: &AppHandle, status: &RegistrationStatus) {
    let tray = app.state::<TrayState>();
    {
        let mut regs = tray.registrations.lock().unwrap_or_else(|e| e.into_inner());
        match status.state {
            RegistrationState::Unregistered | RegistrationState::Idle => {
                regs.remove(&status.account_id);
            }
            s => {
                regs.insert(status.account_id.clone(), s);
            }
        }
    }
    refresh_tray(app);
}

/// What the tray says: (dot colour, tooltip).
fn tray_summary(tray: &TrayState, texts: &Texts) -> (Option<[u8; 3]>, String) {
    let regs = tray.registrations.lock().unwrap_or_else(|e| e.into_inner());
    let problems = regs
        .values()
        .filter(|s| matches!(s, RegistrationState::Failed | RegistrationState::Stopped))
        .count();
    let registered = regs
        .values()
        .filter(|s| **s == RegistrationState::Registered)
        .count();
    let (dot, mut text) = if problems > 0 {
        (
            Some([0xd3, 0x2f, 0x2f]),
            texts.say(
                "tray-tooltip-problems",
                &[
                    ("problems", problems.into()),
                    ("accounts", regs.len().into()),
                ],
            ),
        )
    } else if registered > 0 && registered == regs.len() {
        (
            Some([0x2e, 0x9e, 0x44]),
            texts.say("tray-tooltip-ready", &[]),
        )
    } else if regs.is_empty() {
        (None, texts.say("tray-tooltip-idle", &[]))
    } else {
        (None, texts.say("tray-tooltip-connecting", &[]))
    };
    let missed = tray.missed.load(Ordering::Relaxed);
    if missed > 0 {
        text.push_str(" · ");
        text.push_str(&texts.say("tray-tooltip-missed", &[("count", missed.into())]));
    }
    (dot, text)
}

fn refresh_tray(app: &AppHandle) {
    let state = app.state::<TrayState>();
    if !state.made.load(Ordering::Relaxed) {
        return;
    }
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let (dot, tooltip) = tray_summary(&state, &app.state::<Texts>());
    let missed = state.missed.load(Ordering::Relaxed) > 0;
    let _ = tray.set_tooltip(Some(&tooltip));
    match badged_icon(dot, missed) {
        Ok(icon) => {
            let _ = tray.set_icon(Some(icon));
        }
        Err(e) => tracing::debug!(error = %e, "tray icon not updated"),
    }
}

/// The app icon with a status dot at the bottom right and a missed-call dot at the top right.
fn badged_icon(status: Option<[u8; 3]>, missed: bool) -> tauri::Result<Image<'static>> {
    let base = Image::from_bytes(BASE_ICON)?;
    let (w, h) = (base.width(), base.height());
    let mut rgba = base.rgba().to_vec();
    let r = w.min(h) as f32 * 0.22;
    let mut dot = |cx: f32, cy: f32, colour: [u8; 3]| {
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let i = ((y * w + x) * 4) as usize;
                if d <= r {
                    rgba[i..i + 4].copy_from_slice(&[colour[0], colour[1], colour[2], 0xff]);
                } else if d <= r + 1.5 {
                    // A white ring keeps the dot visible on a dark or a light panel.
                    rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
                }
            }
        }
    };
    if let Some(c) = status {
        dot(w as f32 - r - 1.5, h as f32 - r - 1.5, c);
    }
    if missed {
        dot(w as f32 - r - 1.5, r + 1.5, [0xf5, 0x7c, 0x00]);
    }
    Ok(Image::new_owned(rgba, w, h))
}

fn notify(app: &AppHandle, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "no desktop notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, state: RegistrationState) -> (String, RegistrationState) {
        (id.to_string(), state)
    }

    #[test]
    fn tray_says_what_the_registrations_and_missed_calls_are() {
        let tray = TrayState::default();
        let texts = Texts::default();
        assert_eq!(tray_summary(&tray, &texts), (None, "Homeline".to_string()));
        tray.registrations.lock().unwrap().extend([
            status("a", RegistrationState::Registered),
            status("b", RegistrationState::Registered),
        ]);
        let (dot, text) = tray_summary(&tray, &texts);
        assert_eq!(dot, Some([0x2e, 0x9e, 0x44]));
        assert_eq!(text, "Homeline — ready for calls");
        tray.registrations
            .lock()
            .unwrap()
            .insert("b".into(), RegistrationState::Failed);
        tray.missed.store(2, Ordering::Relaxed);
        let (dot, text) = tray_summary(&tray, &texts);
        assert_eq!(dot, Some([0xd3, 0x2f, 0x2f]));
        assert_eq!(
            text,
            "Homeline — 1 of 2 accounts cannot register · 2 missed calls"
        );
        // In the UI's language, with its plural rules.
        assert!(texts.set_locale("ru"));
        assert_eq!(
            tray_summary(&tray, &texts).1,
            "Homeline — 1 из 2 учётных записей не может зарегистрироваться · 2 пропущенных звонка"
        );
        tray.missed.store(5, Ordering::Relaxed);
        tray.registrations.lock().unwrap().remove("b");
        assert_eq!(
            tray_summary(&tray, &texts).1,
            "Homeline — готов к звонкам · 5 пропущенных звонков"
        );
    }

    #[test]
    fn a_message_preview_is_one_line_of_at_most_200_characters() {
        assert_eq!(preview("Привет!\nКак дела?"), "Привет! Как дела?");
        let long = "я".repeat(300);
        let p = preview(&long);
        assert_eq!(p.chars().count(), 201);
        assert!(p.ends_with('…'));
    }

    #[test]
    fn badge_paints_dots_on_the_icon() {
        let plain = Image::from_bytes(BASE_ICON).unwrap();
        let badged = badged_icon(Some([0xd3, 0x2f, 0x2f]), true).unwrap();
        assert_eq!(
            (badged.width(), badged.height()),
            (plain.width(), plain.height())
        );
        let px = |img: &Image, x: u32, y: u32| {
            let i = ((y * img.width() + x) * 4) as usize;
            img.rgba()[i..i + 4].to_vec()
        };
        let (w, h) = (plain.width(), plain.height());
        let r = (w.min(h) as f32 * 0.22) as u32;
        assert_eq!(
            px(&badged, w - r - 2, h - r - 2),
            vec![0xd3, 0x2f, 0x2f, 0xff]
        );
        assert_eq!(px(&badged, w - r - 2, r + 1), vec![0xf5, 0x7c, 0x00, 0xff]);
        // The rest of the icon is untouched.
        assert_eq!(px(&badged, 2, h / 2), px(&plain, 2, h / 2));
    }

    #[test]
    fn start_link_is_taken_once() {
        let pending = PendingLink::from_args(
            ["homeline-app", "--verbose", "tel:+1-555-010-0199"].map(String::from),
        );
        assert_eq!(pending.take().as_deref(), Some("+15550100199"));
        assert_eq!(pending.take(), None);
        assert_eq!(
            PendingLink::from_args(["homeline-app".to_string()]).take(),
            None
        );
    }
}
