//! The app's logging set-up, end to end: a global subscriber writing through the
//! non-blocking, daily-rotating file appender must mask registered secrets. In its own test
//! binary because it installs the process-wide subscriber.
#![allow(clippy::unwrap_used)]

use homeline_phone::config::LogLevel;
use homeline_phone::logging::{init_app_logging, log_files};
use homeline_phone::{Phone, PhoneOptions, Secret, SecretBackendChoice, redact};

#[test]
fn app_log_file_never_holds_a_password() {
    const PROBE: &str = "App-Log-Probe-Pw-5511";
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let guard = init_app_logging(&log_dir, LogLevel::Trace).unwrap();

    // A scripted password in the config is registered when the config is read...
    let config_path = dir.path().join("homeline.toml");
    std::fs::write(
        &config_path,
        format!(
            "version = 1\n[[accounts]]\nid = \"bot\"\ndisplay_name = \"Bot\"\n\
             sip_address = \"sip:bot@example.com\"\npassword = \"{PROBE}\"\n"
        ),
    )
    .unwrap();
    let phone = Phone::open(PhoneOptions {
        config_path: Some(config_path),
        log_dir: Some(log_dir.clone()),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.path().join("history.jsonl")),
    })
    .unwrap();
    assert_eq!(phone.list_accounts().len(), 1);
    // ...so even a careless message that formats it is masked.
    tracing::error!("careless: REGISTER failed for bot with password {PROBE}");
    redact::register(&Secret::new("Another-Pw-7788"));
    tracing::trace!(pw = "Another-Pw-7788", "careless field");
    drop(guard); // flushes the background writer

    let files = log_files(&log_dir).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains("careless: REGISTER failed for bot with password ***"),
        "{text}"
    );
    assert!(text.contains("prefer the system keyring"), "{text}");
    assert!(!text.contains(PROBE), "{text}");
    assert!(!text.contains("Another-Pw-7788"), "{text}");

    // Exporting gives one file holding the log, still masked.
    let out = dir.path().join("downloads");
    let exported = phone.export_logs_to(&out).unwrap();
    let name = exported.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("homeline-logs-") && name.ends_with(".txt"),
        "{name}"
    );
    let all = std::fs::read_to_string(&exported).unwrap();
    assert!(all.contains("careless: REGISTER failed"));
    assert!(!all.contains(PROBE));
}
