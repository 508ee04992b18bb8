//! Settings → Network as the app uses it: the file gets the URIs and users but never a relay
//! password, which goes to the keyring (`turn:USER@URI`); a reload sees it; relays and calls
//! use it; a bad URI is a plain error naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use homeline_phone::api::PasswordStorage;
use homeline_phone::nat::{NetworkSettingsInput, TurnRelayInput, TurnServerConfig};
use homeline_phone::{MemoryKeyring, Phone, PhoneOptions, Secret, SecretBackendChoice};

const RELAY: &str = "turns:relay.example.net:443?transport=tcp";
const KEY: &str = "turn:alice@turns:relay.example.net:443?transport=tcp";

fn open(dir: &std::path::Path, keyring: &MemoryKeyring) -> Phone {
    Phone::open(PhoneOptions {
        config_path: Some(dir.join("homeline.toml")),
        log_dir: Some(dir.join("data").join("logs")),
        secret_backend: SecretBackendChoice::Memory(keyring.clone()),
        history_path: Some(dir.join("data").join("history.jsonl")),
    })
    .unwrap()
}

fn relay(uri: &str, username: &str, password: Option<&str>) -> TurnRelayInput {
    TurnRelayInput {
        uri: uri.into(),
        username: username.into(),
        password: password.map(Secret::new),
    }
}

fn input(turn: Vec<TurnRelayInput>) -> NetworkSettingsInput {
    NetworkSettingsInput {
        stun_servers: vec!["stun:stun.example.net:3478".into(), "  ".into()],
        ice: false,
        force_relay: true,
        turn,
    }
}

#[test]
fn save_writes_the_file_without_the_password_and_the_keyring_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = MemoryKeyring::default();
    let phone = open(dir.path(), &keyring);
    let saved = phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("s3cret-pw"))]))
        .unwrap();
    assert_eq!(saved.stun_servers, vec!["stun:stun.example.net:3478"]);
    assert!(!saved.ice);
    assert!(saved.force_relay);
    assert_eq!(saved.turn.len(), 1);
    assert!(saved.turn[0].password_stored);
    assert_eq!(saved.turn[0].password_storage, PasswordStorage::Keyring);

    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(text.contains(RELAY), "{text}");
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("force_relay = true"), "{text}");
    assert!(text.contains("ice = false"), "{text}");
    assert!(
        !text.contains("s3cret-pw"),
        "the password leaked into the file: {text}"
    );
    assert!(!text.contains("password"), "{text}");

    let id = TurnServerConfig {
        uri: RELAY.into(),
        username: "alice".into(),
        password: None,
    }
    .keyring_id();
    assert_eq!(id, KEY);
    assert!(keyring.contains(KEY));

    // The settings the UI reads never carry the password.
    let json = serde_json::to_string(&phone.network_settings()).unwrap();
    assert!(!json.contains("s3cret-pw"), "{json}");
    assert!(json.contains("\"password_stored\":true"), "{json}");
}

#[test]
fn a_reload_reads_the_settings_and_the_relays_get_the_keyring_password() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = MemoryKeyring::default();
    open(dir.path(), &keyring)
        .save_network_settings(input(vec![
            relay(RELAY, "alice", Some("s3cret-pw")),
            relay("turn:192.0.2.9", "bob", None),
        ]))
        .unwrap();

    let phone = open(dir.path(), &keyring);
    let settings = phone.network_settings();
    assert_eq!(settings.stun_servers, vec!["stun:stun.example.net:3478"]);
    assert!(settings.force_relay);
    assert!(!settings.ice);
    assert_eq!(settings.turn[0].uri, RELAY);
    assert!(settings.turn[0].password_stored);
    assert_eq!(settings.turn[1].username, "bob");
    assert!(!settings.turn[1].password_stored);

    let targets = phone.relay_targets(None).unwrap();
    assert_eq!(targets[0].username, "alice");
    assert_eq!(targets[0].password, "s3cret-pw");
    assert_eq!(targets[1].password, "");

    // What calls gather with (the call manager gets the same through `set_nat` on save).
    let nat = phone.nat_settings();
    assert!(nat.global.force_relay);
    assert!(!nat.global.ice);
    assert_eq!(nat.global.relays[0].password, "s3cret-pw");
}

#[test]
fn keeping_changing_and_removing_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = MemoryKeyring::default();
    let phone = open(dir.path(), &keyring);
    phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("first"))]))
        .unwrap();
    // `None` keeps it.
    let kept = phone
        .save_network_settings(input(vec![relay(RELAY, "alice", None)]))
        .unwrap();
    assert!(kept.turn[0].password_stored);
    assert_eq!(phone.relay_targets(None).unwrap()[0].password, "first");
    // A new one replaces it.
    phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("second"))]))
        .unwrap();
    assert_eq!(phone.relay_targets(None).unwrap()[0].password, "second");
    // "" removes it.
    let removed = phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some(""))]))
        .unwrap();
    assert!(!removed.turn[0].password_stored);
    assert_eq!(removed.turn[0].password_storage, PasswordStorage::None);
    assert!(!keyring.contains(KEY));
    // A relay taken off the list takes its password with it.
    phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("third"))]))
        .unwrap();
    phone.save_network_settings(input(vec![])).unwrap();
    assert!(!keyring.contains(KEY));
}

#[test]
fn a_password_from_the_file_moves_to_the_keyring_when_set_in_the_app() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("homeline.toml"),
        format!(
            "version = 1\n[[network.turn]]\nuri = \"{RELAY}\"\nusername = \"alice\"\npassword = \"from-file\"\n"
        ),
    )
    .unwrap();
    let keyring = MemoryKeyring::default();
    let phone = open(dir.path(), &keyring);
    assert!(phone.network_settings().turn[0].password_stored);
    assert_eq!(
        phone.network_settings().turn[0].password_storage,
        PasswordStorage::Config
    );
    // Saving without a new password leaves the file's password where it is.
    phone
        .save_network_settings(input(vec![relay(RELAY, "alice", None)]))
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(text.contains("from-file"), "{text}");
    // A new password in the app moves it to the keyring.
    phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("from-app"))]))
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(
        !text.contains("from-file") && !text.contains("from-app"),
        "{text}"
    );
    assert_eq!(phone.relay_targets(None).unwrap()[0].password, "from-app");
}

#[test]
fn a_bad_uri_is_a_plain_error_naming_it_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = MemoryKeyring::default();
    let phone = open(dir.path(), &keyring);

    let mut bad_stun = input(vec![]);
    bad_stun.stun_servers = vec!["turn:stun.example.net".into()];
    let e = phone.save_network_settings(bad_stun).unwrap_err();
    assert_eq!(e.code, "invalid_network_setting");
    assert!(e.message.contains("turn:stun.example.net"), "{e:?}");
    assert!(e.message.contains("STUN"), "{e:?}");
    assert!(!e.hint.is_empty());

    let e = phone
        .save_network_settings(input(vec![relay(
            "turns:relay.example.net?transport=udp",
            "alice",
            Some("pw"),
        )]))
        .unwrap_err();
    assert_eq!(e.code, "invalid_network_setting");
    assert!(
        e.message.contains("turns:relay.example.net?transport=udp"),
        "{e:?}"
    );
    assert!(
        !keyring.contains("turn:alice@turns:relay.example.net?transport=udp"),
        "a refused relay must not leave a password behind"
    );
    assert!(!dir.path().join("homeline.toml").exists());
}

#[test]
fn without_a_keyring_the_password_is_kept_for_the_session_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let phone = Phone::open(PhoneOptions {
        config_path: Some(dir.path().join("homeline.toml")),
        log_dir: Some(dir.path().join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.path().join("history.jsonl")),
    })
    .unwrap();
    let saved = phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("s3cret-pw"))]))
        .unwrap();
    assert_eq!(saved.turn[0].password_storage, PasswordStorage::Session);
    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert_eq!(phone.relay_targets(None).unwrap()[0].password, "s3cret-pw");
}

#[test]
fn when_the_file_cannot_be_saved_a_new_relay_leaves_no_password_behind() {
    let dir = tempfile::tempdir().unwrap();
    // A file from a newer Homeline is never overwritten: saving is refused.
    std::fs::write(dir.path().join("homeline.toml"), "version = 99\n").unwrap();
    let keyring = MemoryKeyring::default();
    let phone = open(dir.path(), &keyring);
    let e = phone
        .save_network_settings(input(vec![relay(RELAY, "alice", Some("s3cret-pw"))]))
        .unwrap_err();
    assert!(e.message.starts_with("Settings were not saved"), "{e:?}");
    assert!(!keyring.contains(KEY));
}
