//! The connectivity test as the app uses it (`Phone::diagnose` and friends): progress events,
//! the history, the export, and the safe fixes applied to the configuration, reloaded, and
//! undone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use homeline_phone::diag::model::{Check, CheckId, Report, SafeFix, Status};
use homeline_phone::diag::{DiagEvent, DiagRunRecord};
use homeline_phone::{MemoryKeyring, Phone, PhoneOptions, SecretBackendChoice};

fn open(dir: &std::path::Path, config: &str) -> Phone {
    let path = dir.join("homeline.toml");
    std::fs::write(&path, config).unwrap();
    Phone::open(PhoneOptions {
        config_path: Some(path),
        log_dir: Some(dir.join("data").join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("data").join("history.jsonl")),
    })
    .unwrap()
}

const ACCOUNT: &str = "version = 1\n[network]\nkeepalive_secs = 30\n\n[[accounts]]\nid = \"acc-1\"\n\
display_name = \"Alice\"\nsip_address = \"sip:alice@example.com\"\nregistrar = \"sip:192.0.2.1\"\n";

fn record() -> DiagRunRecord {
    let timeout = Check::new(
        CheckId::NatTimeout,
        Status::Problem,
        "Your router forgets fast.",
    )
    .with_safe_fix(SafeFix::KeepAlive { secs: 20 });
    let nat = Check::new(CheckId::NatType, Status::Warning, "Symmetric NAT.")
        .with_safe_fix(SafeFix::ForceRelay);
    DiagRunRecord {
        finished_at: "2026-12-04T17:00:00Z".into(),
        account_id: Some("acc-1".into()),
        report: Report::new(vec![timeout, nat], 5000),
    }
}

#[test]
fn a_fix_changes_the_config_in_use_and_undo_puts_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), ACCOUNT);
    let rec = record();

    // Only the check's own fix.
    let applied = phone
        .apply_diag_fixes(&rec, Some(CheckId::NatTimeout))
        .unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].description, "keep-alive every 20 s (was 30 s)");
    assert_eq!(phone.config().network.keepalive_secs, 20, "reloaded");
    assert!(!phone.config().network.force_relay);
    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(text.contains("keepalive_secs = 20"), "{text}");

    let undone = phone.undo_diag_fixes().unwrap();
    assert_eq!(undone, applied);
    assert_eq!(phone.config().network.keepalive_secs, 30);
    let err = phone.undo_diag_fixes().unwrap_err();
    assert_eq!(err.code, "nothing_to_undo");

    // All of them; a second time changes nothing (and keeps the Undo of the first).
    let all = phone.apply_diag_fixes(&rec, None).unwrap();
    assert_eq!(all.len(), 2);
    assert!(phone.config().network.force_relay);
    assert!(phone.apply_diag_fixes(&rec, None).unwrap().is_empty());
    phone.undo_diag_fixes().unwrap();
    assert!(!phone.config().network.force_relay);
    assert_eq!(phone.config().network.keepalive_secs, 30);
}

#[test]
fn a_keep_alive_the_config_refuses_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), ACCOUNT);
    let mut rec = record();
    rec.report.checks[1].safe_fixes = vec![SafeFix::KeepAlive { secs: 5 }];
    let before = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    let err = phone.apply_diag_fixes(&rec, None).unwrap_err();
    assert_eq!(err.code, "fix_refused");
    assert!(err.message.contains("every 5 s"), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap(),
        before
    );
    assert_eq!(phone.config().network.keepalive_secs, 30);
}

#[test]
fn undo_survives_a_restart_of_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), ACCOUNT);
    phone.apply_diag_fixes(&record(), None).unwrap();
    drop(phone);
    let path = dir.path().join("homeline.toml");
    let phone = Phone::open(PhoneOptions {
        config_path: Some(path),
        log_dir: Some(dir.path().join("data").join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: None,
    })
    .unwrap();
    assert!(phone.config().network.force_relay);
    phone.undo_diag_fixes().unwrap();
    assert!(!phone.config().network.force_relay);
}

#[test]
fn exports_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), ACCOUNT);
    let rec = record();
    let out = dir.path().join("Downloads");
    let paths = phone.export_diag_report_to(&rec, &out).unwrap();
    let text = std::fs::read_to_string(&paths.text_path).unwrap();
    assert!(text.contains("Verdict: Calls will fail"), "{text}");
    assert!(
        text.contains("[problem] How long your router remembers a call: Your router forgets fast.")
    );
    let json: Report = serde_json::from_slice(&std::fs::read(&paths.json_path).unwrap()).unwrap();
    assert_eq!(json, rec.report);
    assert!(paths.json_path.ends_with(".json") && paths.text_path.ends_with(".txt"));
}

/// With no account at all the test still runs and gives findings (nothing to test against
/// is said, not hidden), reports each check as it finishes, and keeps the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_an_account_gives_findings_progress_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(dir.path(), "version = 1\n");
    let mut events = Vec::new();
    let rec = tokio::time::timeout(
        Duration::from_secs(30),
        phone.diagnose(None, false, &mut |e| events.push(e)),
    )
    .await
    .expect("the test ends by its deadlines")
    .unwrap();
    assert_eq!(rec.account_id, None);
    assert!(matches!(events.first(), Some(DiagEvent::Running { .. })));
    assert!(matches!(events.last(), Some(DiagEvent::Finished { .. })));
    let checks = events
        .iter()
        .filter(|e| matches!(e, DiagEvent::Check { .. }))
        .count();
    assert!(checks >= 5, "{events:?}");
    let ports = rec
        .report
        .check(CheckId::SipPorts)
        .expect("sip_ports reported");
    assert_eq!(ports.status, Status::Skipped, "{ports:?}");
    let history = phone.diag_history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0], rec);
}
