const COMMANDS: &[&str] = &[
    "app_info",
    "list_accounts",
    "save_account",
    "remove_account",
    "registration_states",
    "audio_devices",
    "open_log_folder",
    "export_logs",
    "ui_ready",
    "dial",
    "echo_test",
    "answer_call",
    "reject_call",
    "hangup_call",
    "hold_call",
    "mute_call",
    "send_dtmf",
    "list_calls",
    "watch_levels",
    "dial_preview",
    "call_history",
    "clear_history",
    "audio_settings",
    "save_audio_settings",
    "network_settings",
    "save_network_settings",
    "test_relays",
    "audio_test",
    "desktop_settings",
    "save_desktop_settings",
    "autostart_enabled",
    "set_autostart",
    "take_link",
    "headset_status",
    "save_headset_settings",
    "run_diagnostics",
    "apply_diag_fixes",
    "undo_diag_fixes",
    "export_diag_report",
    "diag_history",
    "list_contacts",
    "save_contact",
    "remove_contact",
    "set_presence",
    "watch_presence",
    "chat_thread",
    "send_chat",
];

fn main() {
    // Declaring the app's commands makes them subject to the capability ACL: the webview may
    // call only what capabilities/default.json grants, and nothing else.
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to generate the Tauri build context");
}
