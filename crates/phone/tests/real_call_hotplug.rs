//! The headset is unplugged in the middle of a call: the call goes on, its audio moves to the
//! system default within about a second, and the call tells the UI what happened. Real
//! (virtual) devices: run under `scripts/with-pulse.sh` with `HOMELINE_REAL_AUDIO=1`, where
//! "Headset" is a null sink we can unload like a USB headset being pulled out.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use homeline_audio::{AudioRoutes, DeviceChoice};
use homeline_phone::calls::{CallStatus, CallView, Calls, CallsConfig, DialRequest, Route};
use homeline_phone::media::AudioPlan;
use homeline_phone::sip::SipRuntime;

fn pactl(args: &[&str]) -> String {
    let out = Command::new("pactl")
        .args(args)
        .output()
        .expect("run pactl");
    assert!(out.status.success(), "pactl {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn headset_module() -> Option<String> {
    pactl(&["list", "short", "modules"])
        .lines()
        .find(|l| l.contains("sink_name=headset"))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
}

/// Puts the headset back whatever happens, for the tests that run after this one.
struct Replug;

impl Drop for Replug {
    fn drop(&mut self) {
        if headset_module().is_none() {
            pactl(&[
                "load-module",
                "module-null-sink",
                "sink_name=headset",
                "sink_properties=device.description=Headset",
                "rate=48000",
                "channels=2",
            ]);
        }
    }
}

async fn next_view(
    rx: &mut tokio::sync::broadcast::Receiver<CallView>,
    what: impl Fn(&CallView) -> bool,
    limit: Duration,
) -> Option<CallView> {
    tokio::time::timeout(limit, async {
        loop {
            match rx.recv().await {
                Ok(v) if what(&v) => return v,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("updates stopped: {e}"),
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugging_the_headset_mid_call_moves_the_audio_and_the_call_goes_on() {
    if std::env::var("HOMELINE_REAL_AUDIO").as_deref() != Ok("1") {
        println!("skipped (set HOMELINE_REAL_AUDIO=1 and run under scripts/with-pulse.sh)");
        return;
    }
    let _replug = Replug;
    let bob = Calls::start(
        Arc::new(SipRuntime::default()),
        CallsConfig::default(),
        None,
    );
    let bob_addr = bob
        .listen(
            "127.0.0.1:0".parse().unwrap(),
            Some(AudioPlan::Echo {
                delay: Duration::from_millis(200),
            }),
        )
        .await
        .unwrap();
    let headset = AudioRoutes {
        microphone: DeviceChoice::Named("headset.monitor".into()),
        speaker: DeviceChoice::Named("Headset".into()),
        ring: DeviceChoice::SystemDefault,
    };
    let alice = Calls::start(
        Arc::new(SipRuntime::default()),
        CallsConfig {
            default_audio: AudioPlan::Devices(headset),
            ..CallsConfig::default()
        },
        None,
    );
    let mut updates = alice.subscribe();
    let call = alice
        .dial(DialRequest {
            uri: format!("sip:bob@{bob_addr}"),
            route: Route::Direct {
                account_id: None,
                aor: None,
                credentials: None,
            },
            audio: None,
            srtp: None,
        })
        .await
        .unwrap();
    next_view(
        &mut updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await
    .expect("connected");
    // Let the headset streams open (up to ~2 s on PulseAudio) and audio flow.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = alice.list()[0].stats.clone().expect("stats");

    let unplugged = Instant::now();
    pactl(&["unload-module", &headset_module().expect("headset loaded")]);
    let moved = next_view(
        &mut updates,
        |v| {
            v.id == call.id
                && v.media_problem
                    .as_ref()
                    .is_some_and(|p| p.code == "audio_device_changed")
        },
        Duration::from_secs(5),
    )
    .await
    .expect("the call says the audio moved");
    let took = unplugged.elapsed();
    let said = moved.media_problem.unwrap().message;
    println!("told after {} ms: {said}", took.as_millis());
    assert!(said.contains("Headset"), "names the device: {said}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // The call goes on, with audio both ways.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let live = alice.list();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].state, CallStatus::Active);
    let after = live[0].stats.clone().unwrap();
    assert!(
        after.packets_sent >= before.packets_sent + 75,
        "still sending: {} → {}",
        before.packets_sent,
        after.packets_sent
    );
    assert!(
        after.packets_received >= before.packets_received + 75,
        "still receiving: {} → {}",
        before.packets_received,
        after.packets_received
    );
    alice.hangup(&call.id).await.unwrap();
    next_view(&mut updates, CallView::is_ended, Duration::from_secs(10))
        .await
        .expect("ended");
}
