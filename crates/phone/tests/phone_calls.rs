//! Calls through `Phone`, as the app and the CLI make them: the dial rules pick the account,
//! the call reaches the far end over real SIP and RTP on loopback, and every ended call lands
//! in the history journal. (Prefix rules are unit-tested in `dialplan`; a number needs an
//! account with a server, which the lab tests provide.)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use homeline_phone::api::CallOutcome;
use homeline_phone::calls::{CallStatus, CallView, Calls, CallsConfig};
use homeline_phone::media::AudioPlan;
use homeline_phone::sip::SipRuntime;
use homeline_phone::{AccountInput, Phone, PhoneOptions, SecretBackendChoice, Transport};

fn phone(dir: &std::path::Path) -> Phone {
    Phone::open(PhoneOptions {
        config_path: Some(dir.join("homeline.toml")),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

async fn wait_for(
    rx: &mut tokio::sync::broadcast::Receiver<CallView>,
    what: impl Fn(&CallView) -> bool,
) -> CallView {
    // Timer B (64·T1 = 32 s) is the longest a call without any answer can take.
    tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            match rx.recv().await {
                Ok(v) if what(&v) => return v,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("updates stopped: {e}"),
            }
        }
    })
    .await
    .expect("in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_of_an_accounts_domain_goes_out_on_that_account_and_lands_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    // The far end: an answering machine on loopback that the account's domain points at.
    let far = Calls::start(
        Arc::new(SipRuntime::default()),
        CallsConfig::default(),
        None,
    );
    let mut far_updates = far.subscribe();
    let far_addr = far
        .listen("127.0.0.1:0".parse().unwrap(), Some(AudioPlan::Silence))
        .await
        .unwrap();

    let phone = phone(dir.path());
    let office = phone
        .save_account(AccountInput {
            id: None,
            display_name: "Office".into(),
            sip_address: format!("sip:alice@{far_addr}"),
            auth_user: String::new(),
            registrar: String::new(),
            transport: Transport::Udp,
            password: None,
            dial_prefix: "9".into(),
            is_default: false,
        })
        .unwrap();
    let target = format!("sip:bob@{far_addr}");
    let preview = phone.dial_preview(&target).unwrap();
    assert_eq!(preview.account_id.as_deref(), Some(office.id.as_str()));
    assert_eq!(preview.uri, target);
    // A number on a direct-call account is refused in plain words (it needs a server).
    let e = phone.dial_preview("9 0301-234").unwrap_err();
    assert_eq!(e.code, "invalid_number");

    // The app's call manager (the CLI's, `start_calls`, keeps no history).
    phone.calls().expect("inside a runtime");
    let mut updates = phone.calls().unwrap().subscribe();
    let call = phone
        .dial(&target, None, Some(AudioPlan::Silence))
        .await
        .unwrap();
    assert_eq!(call.account_id.as_deref(), Some(office.id.as_str()));
    // The far end sees the call from the account's address.
    let arrived = wait_for(&mut far_updates, |v| v.state == CallStatus::Active).await;
    assert_eq!(arrived.remote, format!("sip:alice@{far_addr}"));
    wait_for(&mut updates, |v| {
        v.id == call.id && v.state == CallStatus::Active
    })
    .await;
    phone.calls().unwrap().hangup(&call.id).await.unwrap();
    let ended = wait_for(&mut updates, CallView::is_ended).await;
    assert_eq!(ended.outcome, Some(CallOutcome::Answered));

    // The journal is written off the call manager's task: give it a moment.
    let history = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let h = phone.call_history().unwrap();
            if !h.is_empty() {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the call is in the history");
    assert_eq!(history[0].id, call.id);
    assert_eq!(history[0].outcome, CallOutcome::Answered);
    assert_eq!(history[0].account_id.as_deref(), Some(office.id.as_str()));
    assert!(history[0].answered_at.is_some());
    // It survives a restart of the phone.
    drop(phone);
    let again = self::phone(dir.path());
    assert_eq!(again.call_history().unwrap()[0].id, call.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_at_the_address_is_a_failed_call_with_a_plain_reason() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path());
    phone.start_calls(CallsConfig::default()).unwrap();
    let mut updates = phone.calls().unwrap().subscribe();
    // A port nobody listens on: bound, then released.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let call = phone
        .dial(&format!("sip:nobody@127.0.0.1:{port}"), None, None)
        .await
        .unwrap();
    let ended = wait_for(&mut updates, |v| v.id == call.id && v.is_ended()).await;
    assert_eq!(ended.outcome, Some(CallOutcome::Failed));
    let reason = ended.end_reason.expect("a reason");
    assert!(reason.message.contains("127.0.0.1"), "{reason:?}");
    assert!(!reason.hint.is_empty());
}
