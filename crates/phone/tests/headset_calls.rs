//! An in-memory headset (the real Jabra EVOLVE LINK MS descriptor) drives whole calls through
//! the phone runtime: an incoming call over real SIP and RTP on loopback and the echo line.
//! The exact output report the headset receives is asserted after each step.
//!
//! Jabra report 2 (output): bit0 Off-Hook, bit1 Mute, bit2 Ring, bit3 Hold, bit4 Microphone,
//! bit5 Ringer. Input report 2: bit0 Hook Switch (absolute), bit2 Phone Mute (relative),
//! bit3 Flash (relative), bit4 Redial (relative).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use homeline_headset::{MemoryDevice, descriptor};
use homeline_phone::calls::{CallStatus, CallView, Calls, CallsConfig, DialRequest, Route};
use homeline_phone::headset::HeadsetConfig;
use homeline_phone::media::AudioPlan;
use homeline_phone::sip::SipRuntime;
use homeline_phone::{Phone, PhoneOptions, SecretBackendChoice};

const HOOK: u8 = 0x01;
const MUTE: u8 = 0x04;
const FLASH: u8 = 0x08;
const REDIAL: u8 = 0x10;

fn phone(dir: &Path) -> Phone {
    Phone::open(PhoneOptions {
        config_path: Some(dir.join("homeline.toml")),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

fn jabra() -> descriptor::TelephonyLayout {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../headset/tests/data/jabra-evolve-link-ms.hex");
    let text = std::fs::read_to_string(p).unwrap();
    descriptor::parse(&descriptor::decode_hex_text(&text).unwrap()).unwrap()
}

/// Waits (10 s at most) until the headset receives `want`; returns every report up to it.
async fn written(rx: &Receiver<Vec<u8>>, want: &[u8]) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(50))) {
            Ok(r) => {
                let done = r == want;
                seen.push(r);
                if done {
                    return seen;
                }
            }
            Err(_) if Instant::now() >= deadline => {
                panic!("the headset never got {want:02x?}; it got {seen:02x?}")
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

async fn wait_call(
    rx: &mut tokio::sync::broadcast::Receiver<CallView>,
    what: impl Fn(&CallView) -> bool,
) -> CallView {
    tokio::time::timeout(Duration::from_secs(15), async {
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

/// A far end that calls `addr` directly.
async fn call_in(addr: std::net::SocketAddr) -> Calls {
    let far = Calls::start(
        Arc::new(SipRuntime::default()),
        CallsConfig::default(),
        None,
    );
    far.dial(DialRequest {
        uri: format!("sip:me@{addr}"),
        route: Route::Direct {
            account_id: None,
            aor: None,
            credentials: None,
        },
        audio: Some(AudioPlan::Silence),
        srtp: None,
    })
    .await
    .unwrap();
    far
}

/// The phone takes calls on loopback without answering them (they ring).
async fn ringing_phone(dir: &Path) -> (Phone, std::net::SocketAddr) {
    let phone = phone(dir);
    let calls = phone.start_calls(CallsConfig::default()).unwrap();
    let addr = calls
        .listen("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    (phone, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_call_answered_muted_held_and_hung_up_from_the_headset() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, addr) = ringing_phone(dir.path()).await;
    let calls = phone.calls().unwrap().clone();
    let mut updates = calls.subscribe();
    let (dev, transport, out) = MemoryDevice::new();
    let _driver = phone
        .attach_headset("Jabra EVOLVE LINK MS", transport, jabra())
        .unwrap();
    // Idle: the whole state once.
    written(&out, &[2, 0x00, 0]).await;

    let far = call_in(addr).await;
    let ringing = wait_call(&mut updates, |v| v.state == CallStatus::Incoming).await;
    // Ringing: Ring LED and Ringer.
    written(&out, &[2, 0x24, 0]).await;

    // The headset button answers.
    let pressed = Instant::now();
    dev.send(&[2, HOOK, 0]);
    let active = wait_call(&mut updates, |v| {
        v.id == ringing.id && v.state == CallStatus::Active
    })
    .await;
    let answer_ms = pressed.elapsed().as_secs_f64() * 1000.0;
    println!("button press -> call answered: {answer_ms:.1} ms");
    written(&out, &[2, 0x11, 0]).await; // Off-Hook + Microphone

    // Mute on the headset mutes the call (the app's Mute shows it) and lights the LED.
    dev.send(&[2, HOOK | MUTE, 0]);
    dev.send(&[2, HOOK, 0]);
    wait_call(&mut updates, |v| v.id == active.id && v.muted).await;
    written(&out, &[2, 0x03, 0]).await; // Off-Hook + Mute

    // Unmute in the app turns the headset's mute LED off; mute in the app lights it.
    calls.mute(&active.id, false).await.unwrap();
    written(&out, &[2, 0x11, 0]).await;
    calls.mute(&active.id, true).await.unwrap();
    written(&out, &[2, 0x03, 0]).await;

    // Flash holds: Hold lit, Off-Hook kept.
    tokio::time::sleep(Duration::from_millis(60)).await; // past the debounce of Flash
    dev.send(&[2, HOOK | FLASH, 0]);
    dev.send(&[2, HOOK, 0]);
    wait_call(&mut updates, |v| v.id == active.id && v.on_hold).await;
    written(&out, &[2, 0x0B, 0]).await; // Off-Hook + Mute + Hold
    // Flash again resumes.
    tokio::time::sleep(Duration::from_millis(60)).await;
    dev.send(&[2, HOOK | FLASH, 0]);
    dev.send(&[2, HOOK, 0]);
    wait_call(&mut updates, |v| v.id == active.id && !v.on_hold).await;
    written(&out, &[2, 0x03, 0]).await;

    // The button again hangs up; everything goes dark.
    let mut far_updates = far.subscribe();
    dev.send(&[2, 0, 0]);
    wait_call(&mut updates, |v| v.id == active.id && v.is_ended()).await;
    written(&out, &[2, 0x00, 0]).await;
    if !far.list().is_empty() {
        wait_call(&mut far_updates, CallView::is_ended).await;
    }
    assert!(answer_ms < 1000.0, "answering took {answer_ms} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_line_shows_off_hook_and_the_headset_hangs_it_up() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path());
    phone.start_calls(CallsConfig::default()).unwrap();
    let calls = phone.calls().unwrap().clone();
    let mut updates = calls.subscribe();
    let (dev, transport, out) = MemoryDevice::new();
    let _driver = phone.attach_headset("Jabra", transport, jabra()).unwrap();
    written(&out, &[2, 0x00, 0]).await;
    let call = phone
        .dial("echo", None, Some(AudioPlan::Silence))
        .await
        .unwrap();
    wait_call(&mut updates, |v| {
        v.id == call.id && v.state == CallStatus::Active
    })
    .await;
    written(&out, &[2, 0x11, 0]).await;
    // The device acknowledges our Off-Hook with its hook switch: not a press.
    dev.send(&[2, HOOK, 0]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(calls.list().len(), 1, "the acknowledgement hung nothing up");
    dev.send(&[2, 0, 0]);
    wait_call(&mut updates, |v| v.id == call.id && v.is_ended()).await;
    written(&out, &[2, 0x00, 0]).await;
}

/// Redial calls again what was last called (here the echo line, through the full SIP and RTP
/// path); before any call it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redial_calls_the_last_number_again() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path());
    phone.start_calls(CallsConfig::default()).unwrap();
    let calls = phone.calls().unwrap().clone();
    let mut updates = calls.subscribe();
    let (dev, transport, out) = MemoryDevice::new();
    let _driver = phone.attach_headset("Jabra", transport, jabra()).unwrap();
    written(&out, &[2, 0x00, 0]).await;
    // Nothing called yet: nothing happens.
    dev.send(&[2, REDIAL, 0]);
    dev.send(&[2, 0, 0]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(calls.list().is_empty(), "{:?}", calls.list());

    let first = phone
        .dial("echo", None, Some(AudioPlan::Silence))
        .await
        .unwrap();
    wait_call(&mut updates, |v| {
        v.id == first.id && v.state == CallStatus::Active
    })
    .await;
    written(&out, &[2, 0x11, 0]).await;
    calls.hangup(&first.id).await.unwrap();
    wait_call(&mut updates, |v| v.id == first.id && v.is_ended()).await;
    written(&out, &[2, 0x00, 0]).await;

    tokio::time::sleep(Duration::from_millis(60)).await; // past the debounce
    dev.send(&[2, REDIAL, 0]);
    dev.send(&[2, 0, 0]);
    let again = wait_call(&mut updates, |v| {
        v.id != first.id && v.state == CallStatus::Active
    })
    .await;
    assert_eq!(again.remote, first.remote);
    written(&out, &[2, 0x11, 0]).await;
    calls.hangup(&again.id).await.unwrap();
    wait_call(&mut updates, |v| v.id == again.id && v.is_ended()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_off_acts_on_no_button_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, addr) = ringing_phone(dir.path()).await;
    phone
        .save_headset_settings(HeadsetConfig {
            enabled: false,
            ..HeadsetConfig::default()
        })
        .unwrap();
    let calls = phone.calls().unwrap().clone();
    let mut updates = calls.subscribe();
    let (dev, transport, out) = MemoryDevice::new();
    let _driver = phone.attach_headset("Jabra", transport, jabra()).unwrap();
    let _far = call_in(addr).await;
    let ringing = wait_call(&mut updates, |v| v.state == CallStatus::Incoming).await;
    dev.send(&[2, HOOK, 0]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let now = calls.list();
    assert_eq!(now.len(), 1);
    assert_eq!(
        now[0].state,
        CallStatus::Incoming,
        "the press did not answer"
    );
    // Answered in the app, mute pressed on the headset: nothing happens to the call.
    calls.answer(&ringing.id).await.unwrap();
    wait_call(&mut updates, |v| v.state == CallStatus::Active).await;
    dev.send(&[2, HOOK | MUTE, 0]);
    dev.send(&[2, 0, 0]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!calls.list()[0].muted);
    assert_eq!(calls.list()[0].state, CallStatus::Active);
    assert!(out.try_iter().next().is_none(), "no byte was written");
    assert!(dev.written().is_empty());
    // Switching it on in Settings takes effect at once, with the whole state.
    phone
        .save_headset_settings(HeadsetConfig::default())
        .unwrap();
    written(&out, &[2, 0x11, 0]).await;
    calls.hangup(&ringing.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_switch_alone() {
    // Each case: an incoming call, the headset button, then the headset's mute.
    struct Case {
        settings: HeadsetConfig,
        ring_report: Option<[u8; 3]>,
        answers: bool,
        mutes: bool,
    }
    let on = HeadsetConfig::default();
    let cases = [
        Case {
            settings: HeadsetConfig {
                call_buttons: false,
                ..on.clone()
            },
            ring_report: Some([2, 0x24, 0]),
            answers: false,
            mutes: true,
        },
        Case {
            settings: HeadsetConfig {
                mute_sync: false,
                ..on.clone()
            },
            ring_report: Some([2, 0x24, 0]),
            answers: true,
            mutes: false,
        },
        Case {
            settings: HeadsetConfig {
                leds: false,
                ..on.clone()
            },
            ring_report: None,
            answers: true,
            mutes: true,
        },
        Case {
            settings: HeadsetConfig {
                ring_on_headset: false,
                ..on.clone()
            },
            ring_report: Some([2, 0x00, 0]),
            answers: true,
            mutes: true,
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let (phone, addr) = ringing_phone(dir.path()).await;
        phone.save_headset_settings(case.settings.clone()).unwrap();
        let calls = phone.calls().unwrap().clone();
        let mut updates = calls.subscribe();
        let (dev, transport, out) = MemoryDevice::new();
        let _driver = phone.attach_headset("Jabra", transport, jabra()).unwrap();
        let _far = call_in(addr).await;
        let ringing = wait_call(&mut updates, |v| v.state == CallStatus::Incoming).await;
        if let Some(r) = case.ring_report {
            written(&out, &r).await;
        }
        dev.send(&[2, HOOK, 0]);
        if case.answers {
            wait_call(&mut updates, |v| v.state == CallStatus::Active).await;
        } else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(
                calls.list()[0].state,
                CallStatus::Incoming,
                "{:?}",
                case.settings
            );
            calls.answer(&ringing.id).await.unwrap();
            wait_call(&mut updates, |v| v.state == CallStatus::Active).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await; // past the hook acknowledgement
        dev.send(&[2, HOOK | MUTE, 0]);
        dev.send(&[2, HOOK, 0]);
        if case.mutes {
            wait_call(&mut updates, |v| v.muted).await;
        } else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!calls.list()[0].muted, "{:?}", case.settings);
            // And the app's mute does not light the headset's LED.
            calls.mute(&ringing.id, true).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(dev.written().iter().all(|r| r[1] & 0x02 == 0));
        }
        if !case.settings.leds {
            assert!(dev.written().is_empty(), "LEDs off: nothing written");
        }
        calls.hangup(&ringing.id).await.unwrap();
    }
}

#[test]
fn the_switches_persist_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = phone(dir.path());
    assert_eq!(p.headset_settings(), HeadsetConfig::default());
    let off = HeadsetConfig {
        mute_sync: false,
        ring_on_headset: false,
        device: Some("  Jabra EVOLVE LINK MS ".into()),
        ..HeadsetConfig::default()
    };
    let saved = p.save_headset_settings(off).unwrap();
    assert_eq!(saved.device.as_deref(), Some("Jabra EVOLVE LINK MS"));
    drop(p);
    let text = std::fs::read_to_string(dir.path().join("homeline.toml")).unwrap();
    assert!(
        text.contains("[headset]") && text.contains("mute_sync = false"),
        "{text}"
    );
    let again = phone(dir.path());
    assert_eq!(again.headset_settings(), saved);
    assert_eq!(again.headset_status().settings, saved);
}
