//! The password path against a real Secret Service (gnome-keyring in a private D-Bus session).
//!
//! Skipped unless `HOMELINE_REAL_KEYRING=1`. Run it with:
//!
//! ```sh
//! scripts/with-keyring.sh env HOMELINE_REAL_KEYRING=1 cargo test -p homeline-phone
//! ```
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use homeline_phone::secrets::{KEYRING_SERVICE, SecretStore};
use homeline_phone::{
    AccountInput, PasswordStorage, Phone, PhoneOptions, Secret, SecretBackendChoice, Transport,
};

fn enabled() -> bool {
    if std::env::var("HOMELINE_REAL_KEYRING").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipped: set HOMELINE_REAL_KEYRING=1 and run under scripts/with-keyring.sh");
    false
}

/// What the Secret Service itself holds for an account, asked with libsecret's own tool so
/// that the check does not go through the code under test. `None` if secret-tool is missing.
fn secret_tool_lookup(id: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", KEYRING_SERVICE, "username", id])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn password_round_trip_through_real_keyring() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("homeline.toml");
    let options = || PhoneOptions {
        config_path: Some(config_path.clone()),
        log_dir: Some(dir.path().join("logs")),
        // Auto is what the app uses: it must find the keyring here, not fall back.
        secret_backend: SecretBackendChoice::Auto,
        history_path: Some(dir.path().join("history.jsonl")),
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let password = format!("Real-Keyring-Pw-{nanos}");

    let phone = Phone::open(options()).unwrap();
    let info = phone.app_info();
    assert!(info.keyring.available, "{:?}", info.keyring);
    assert_eq!(info.keyring.backend, "Secret Service");
    let account = phone
        .save_account(AccountInput {
            id: None,
            display_name: "Keyring Test".into(),
            sip_address: "sip:keyring-test@example.com".into(),
            auth_user: String::new(),
            registrar: "sip:pbx.example.com".into(),
            transport: Transport::Udp,
            password: Some(Secret::new(password.clone())),
            dial_prefix: String::new(),
            is_default: false,
        })
        .unwrap();
    assert_eq!(account.password_storage, PasswordStorage::Keyring);
    drop(phone);

    let text = std::fs::read_to_string(&config_path).unwrap();
    assert!(text.contains(&account.id), "{text}");
    assert!(
        !text.contains(&password),
        "password in the config file:\n{text}"
    );
    if let Some(stored) = secret_tool_lookup(&account.id) {
        assert_eq!(stored, password, "the Secret Service holds something else");
    }

    // A new Phone (as after a restart) finds the account and reads the password back.
    let phone = Phone::open(options()).unwrap();
    let list = phone.list_accounts();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].password_storage, PasswordStorage::Keyring);
    assert_eq!(
        phone.password(&account.id).unwrap().unwrap().expose(),
        password
    );

    // Removing the account removes its password from the keyring.
    phone.remove_account(&account.id).unwrap();
    assert!(phone.list_accounts().is_empty());
    let store = SecretStore::open(SecretBackendChoice::Keyring).unwrap();
    assert!(store.get(&account.id).unwrap().is_none());
    if let Some(stored) = secret_tool_lookup(&account.id) {
        assert!(stored.is_empty(), "still in the Secret Service: {stored}");
    }
}
