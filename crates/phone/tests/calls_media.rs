//! Calls with audio end to end on loopback: the call manager, SIP over UDP, SDP offer/answer,
//! RTP with Opus and SDES-SRTP, the jitter buffer, and WAV files as microphone and speaker.
//! A known tone goes in on one side; the test checks what comes out on the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use homeline_audio::{FrameSink, FrameSource, Tone, WavSink, frame_len};
use homeline_phone::calls::{CallStatus, CallView, Calls, CallsConfig, DialRequest, Route};
use homeline_phone::media::AudioPlan;
use homeline_phone::sip::SipRuntime;

fn tone_wav(path: &Path, freq: f64, secs: u32) {
    let rate = 48_000;
    let mut tone = Tone::new(rate, freq, 0.5);
    let mut sink = WavSink::create(path, rate).unwrap();
    let mut frame = vec![0.0f32; frame_len(rate)];
    for _ in 0..secs * 50 {
        tone.read_frame(&mut frame).unwrap();
        sink.write_frame(&frame).unwrap();
    }
    sink.finish().unwrap();
}

/// Goertzel power of `freq` relative to the signal's total power (0..1): how much of the
/// signal is that tone.
fn tone_share(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let n = samples.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let total: f64 = samples.iter().map(|x| f64::from(*x).powi(2)).sum();
    if total == 0.0 {
        0.0
    } else {
        (2.0 * power / n / total).min(1.0)
    }
}

fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

fn read(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let s: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => r
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect(),
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
    };
    (s, spec.sample_rate)
}

async fn wait_for(
    rx: &mut tokio::sync::broadcast::Receiver<CallView>,
    what: impl Fn(&CallView) -> bool,
    limit: Duration,
) -> CallView {
    tokio::time::timeout(limit, async {
        loop {
            match rx.recv().await {
                Ok(v) if what(&v) => return v,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("call updates stopped: {e}"),
            }
        }
    })
    .await
    .expect("the call did not get there in time")
}

fn manager(audio: AudioPlan) -> Calls {
    Calls::start(
        Arc::new(SipRuntime::default()),
        CallsConfig {
            default_audio: audio,
            ..CallsConfig::default()
        },
        None,
    )
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn files(play: &Path, record: &Path) -> AudioPlan {
    AudioPlan::Files {
        play: Some(play.to_path_buf()),
        record: Some(record.to_path_buf()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_homelines_hear_each_other() {
    let d = dir();
    let (a_in, b_in) = (d.path().join("a.wav"), d.path().join("b.wav"));
    let (a_out, b_out) = (d.path().join("a-heard.wav"), d.path().join("b-heard.wav"));
    tone_wav(&a_in, 600.0, 4);
    tone_wav(&b_in, 1500.0, 4);

    let bob = manager(AudioPlan::Silence);
    let bob_addr: SocketAddr = bob
        .listen("127.0.0.1:0".parse().unwrap(), Some(files(&b_in, &b_out)))
        .await
        .unwrap();
    let alice = manager(files(&a_in, &a_out));
    let mut a_updates = alice.subscribe();
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
    let active = wait_for(
        &mut a_updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    assert!(active.answered_at.is_some());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let live = alice.list();
    let stats = live[0].stats.clone().expect("live stats while talking");
    assert_eq!(stats.codec.as_deref(), Some("opus/48000"), "{stats:?}");
    assert!(
        stats.srtp,
        "SDES-SRTP is offered by default and both ends take it"
    );
    assert!(stats.packets_received > 50, "{stats:?}");
    assert!(stats.mos.is_some_and(|m| m > 4.0), "{stats:?}");
    alice.hangup(&call.id).await.unwrap();
    let ended = wait_for(&mut a_updates, CallView::is_ended, Duration::from_secs(10)).await;
    let last = ended.stats.expect("final stats");
    assert!(last.packets_sent >= 100, "3 s of 20 ms packets: {last:?}");
    assert_eq!(last.loss_pct, 0.0, "loopback loses nothing: {last:?}");
    // Bob's side finishes its recording when it sees the BYE.
    tokio::time::sleep(Duration::from_millis(500)).await;

    for (heard, want, other, who) in [
        (&b_out, 600.0, 1500.0, "bob hears alice"),
        (&a_out, 1500.0, 600.0, "alice hears bob"),
    ] {
        let (s, rate) = read(heard);
        assert!(s.len() > rate as usize * 2, "{who}: {} samples", s.len());
        // Skip the start (jitter buffer filling), judge one steady second.
        let steady = &s[rate as usize..2 * rate as usize];
        let level = rms(steady);
        assert!(
            level > 0.2,
            "{who}: the tone (rms 0.35) arrives, got rms {level}"
        );
        let share = tone_share(steady, rate, want);
        assert!(
            share > 0.9,
            "{who}: {want} Hz is {share:.3} of what arrives"
        );
        let leak = tone_share(steady, rate, other);
        assert!(
            leak < 0.01,
            "{who}: our own {other} Hz must not come back ({leak:.3})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_line_plays_your_voice_back_a_second_later() {
    let d = dir();
    let (input, heard) = (d.path().join("voice.wav"), d.path().join("heard.wav"));
    // Half a second of tone, then silence: the echo must come back about 1 s later.
    let rate = 48_000u32;
    {
        let mut tone = Tone::new(rate, 800.0, 0.5);
        let mut sink = WavSink::create(&input, rate).unwrap();
        let mut frame = vec![0.0f32; frame_len(rate)];
        for k in 0..150 {
            tone.read_frame(&mut frame).unwrap();
            if k >= 25 {
                frame.fill(0.0);
            }
            sink.write_frame(&frame).unwrap();
        }
        sink.finish().unwrap();
    }
    let calls = manager(files(&input, &heard));
    let mut updates = calls.subscribe();
    let call = calls.echo_test(None).await.unwrap();
    assert_eq!(call.remote_name.as_deref(), Some("Echo test"));
    assert_eq!(call.account_id, None);
    wait_for(
        &mut updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    calls.hangup(&call.id).await.unwrap();
    let ended = wait_for(&mut updates, CallView::is_ended, Duration::from_secs(10)).await;
    assert_eq!(
        ended.outcome,
        Some(homeline_phone::calls::CallOutcome::Answered)
    );
    assert!(
        calls.list().is_empty(),
        "the echo line's own side is never shown"
    );

    let (s, rate) = read(&heard);
    // Where does the tone come back? Find the first 20 ms window with clear energy.
    let win = frame_len(rate);
    let onset = s
        .chunks(win)
        .position(|w| rms(w) > 0.1)
        .expect("the voice came back") as f64
        * 0.02;
    assert!(
        (0.9..1.6).contains(&onset),
        "the echo starts {onset:.2} s into the call (1 s delay + network + jitter buffer)"
    );
    let back = &s[(onset * f64::from(rate)) as usize..][..rate as usize / 4];
    let share = tone_share(back, rate, 800.0);
    assert!(share > 0.9, "what comes back is our 800 Hz ({share:.3})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_encryption_is_honoured_and_refused_by_a_peer_without_it() {
    use homeline_media::sdp::SrtpPolicy;
    async fn call(caller: SrtpPolicy, callee: SrtpPolicy) -> CallView {
        let bob = Calls::start(
            Arc::new(SipRuntime::default()),
            CallsConfig {
                srtp: callee,
                ..CallsConfig::default()
            },
            None,
        );
        let addr = bob
            .listen("127.0.0.1:0".parse().unwrap(), Some(AudioPlan::Silence))
            .await
            .unwrap();
        let alice = manager(AudioPlan::Silence);
        let mut updates = alice.subscribe();
        let c = alice
            .dial(DialRequest {
                uri: format!("sip:bob@{addr}"),
                route: Route::Direct {
                    account_id: None,
                    aor: None,
                    credentials: None,
                },
                audio: None,
                srtp: Some(caller),
            })
            .await
            .unwrap();
        let v = wait_for(
            &mut updates,
            |v| v.id == c.id && (v.state == CallStatus::Active || v.is_ended()),
            Duration::from_secs(10),
        )
        .await;
        if !v.is_ended() {
            // Let a stats report arrive, then end it.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            alice.hangup(&c.id).await.unwrap();
            return wait_for(&mut updates, CallView::is_ended, Duration::from_secs(10)).await;
        }
        v
    }
    let both = call(SrtpPolicy::Required, SrtpPolicy::Optional).await;
    assert_eq!(
        both.outcome,
        Some(homeline_phone::calls::CallOutcome::Answered)
    );
    assert!(both.stats.unwrap().srtp, "required: the media is encrypted");

    let refused = call(SrtpPolicy::Required, SrtpPolicy::Off).await;
    assert_ne!(
        refused.outcome,
        Some(homeline_phone::calls::CallOutcome::Answered),
        "a peer that will not encrypt cannot take a call that requires it"
    );
    let reason = refused.end_reason.expect("a reason");
    assert_eq!(reason.code, "sip_488", "{reason:?}");

    let plain = call(SrtpPolicy::Off, SrtpPolicy::Optional).await;
    assert!(!plain.stats.unwrap().srtp, "off: plain RTP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_silences_us_both_ways_and_resume_brings_the_voice_back() {
    let d = dir();
    let (a_in, b_heard) = (d.path().join("a.wav"), d.path().join("b-heard.wav"));
    tone_wav(&a_in, 700.0, 12);
    let bob = manager(AudioPlan::Silence);
    let mut b_updates = bob.subscribe();
    let bob_addr = bob
        .listen(
            "127.0.0.1:0".parse().unwrap(),
            Some(AudioPlan::Files {
                play: None,
                record: Some(b_heard.clone()),
            }),
        )
        .await
        .unwrap();
    let alice = manager(AudioPlan::Files {
        play: Some(a_in.clone()),
        record: None,
    });
    let mut a_updates = alice.subscribe();
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
    wait_for(
        &mut a_updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    alice.hold(&call.id, true).await.unwrap();
    let held = wait_for(
        &mut a_updates,
        |v| v.id == call.id && v.on_hold,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(held.state, CallStatus::Active);
    wait_for(&mut b_updates, |v| v.remote_hold, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    alice.hold(&call.id, false).await.unwrap();
    wait_for(
        &mut a_updates,
        |v| v.id == call.id && !v.on_hold,
        Duration::from_secs(10),
    )
    .await;
    wait_for(&mut b_updates, |v| !v.remote_hold, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    alice.hangup(&call.id).await.unwrap();
    wait_for(&mut a_updates, CallView::is_ended, Duration::from_secs(10)).await;
    wait_for(&mut b_updates, CallView::is_ended, Duration::from_secs(10)).await;

    // Bob's recording: tone, then (on hold) silence, then the tone again.
    let (s, rate) = read(&b_heard);
    let win = frame_len(rate);
    let loud: Vec<bool> = s.chunks(win).map(|w| rms(w) > 0.1).collect();
    let first_quiet = loud
        .iter()
        .skip(25)
        .position(|l| !l)
        .map(|p| p + 25)
        .expect("the tone stops while on hold");
    let quiet_frames = loud[first_quiet..].iter().take_while(|l| !**l).count();
    assert!(
        quiet_frames >= 50,
        "about 2 s of silence on hold, got {} ms",
        quiet_frames * 20
    );
    let back = loud[first_quiet + quiet_frames..]
        .iter()
        .filter(|l| **l)
        .count();
    assert!(
        back >= 50,
        "the voice is back after resume: {} ms",
        back * 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_ipv6_carries_audio_both_ways() {
    let d = dir();
    let (a_in, b_out) = (d.path().join("a.wav"), d.path().join("b-heard.wav"));
    tone_wav(&a_in, 900.0, 3);
    let bob = manager(AudioPlan::Silence);
    let bob_addr = bob
        .listen(
            "[::1]:0".parse().unwrap(),
            Some(AudioPlan::Files {
                play: None,
                record: Some(b_out.clone()),
            }),
        )
        .await
        .unwrap();
    let alice = manager(AudioPlan::Files {
        play: Some(a_in),
        record: None,
    });
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
    assert!(call.remote.contains("[::1]"), "{}", call.remote);
    wait_for(
        &mut updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = alice.list()[0].stats.clone().unwrap();
    assert!(stats.remote.is_some_and(|r| r.is_ipv6()), "{stats:?}");
    assert!(stats.packets_received > 50, "{stats:?}");
    alice.hangup(&call.id).await.unwrap();
    wait_for(&mut updates, CallView::is_ended, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (s, rate) = read(&b_out);
    let steady = &s[rate as usize / 2..rate as usize * 3 / 2];
    assert!(
        tone_share(steady, rate, 900.0) > 0.9,
        "bob hears alice over IPv6"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_transfer_moves_the_caller_to_the_new_party() {
    let direct = || Route::Direct {
        account_id: None,
        aor: None,
        credentials: None,
    };
    // Bob answers, then transfers Alice to Carol (REFER); Alice calls Carol and both old legs end.
    let carol = manager(AudioPlan::Silence);
    let mut c_updates = carol.subscribe();
    let carol_addr = carol
        .listen("127.0.0.1:0".parse().unwrap(), Some(AudioPlan::Silence))
        .await
        .unwrap();
    let bob = manager(AudioPlan::Silence);
    let mut b_updates = bob.subscribe();
    let bob_addr = bob
        .listen("127.0.0.1:0".parse().unwrap(), Some(AudioPlan::Silence))
        .await
        .unwrap();
    let alice = manager(AudioPlan::Silence);
    let mut a_updates = alice.subscribe();
    let call = alice
        .dial(DialRequest {
            uri: format!("sip:bob@{bob_addr}"),
            route: direct(),
            audio: None,
            srtp: None,
        })
        .await
        .unwrap();
    let at_bob = wait_for(
        &mut b_updates,
        |v| v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    wait_for(
        &mut a_updates,
        |v| v.id == call.id && v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    bob.transfer(&at_bob.id, &format!("sip:carol@{carol_addr}"))
        .await
        .unwrap();
    let at_carol = wait_for(
        &mut c_updates,
        |v| v.state == CallStatus::Active,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        at_carol.direction,
        homeline_phone::api::CallDirection::Incoming
    );
    let bob_end = wait_for(&mut b_updates, CallView::is_ended, Duration::from_secs(10)).await;
    assert_eq!(bob_end.id, at_bob.id);
    let old = wait_for(
        &mut a_updates,
        |v| v.id == call.id && v.is_ended(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        old.outcome,
        Some(homeline_phone::calls::CallOutcome::Answered)
    );
    let live = alice.list();
    assert_eq!(live.len(), 1, "Alice now talks to Carol only: {live:?}");
    assert_eq!(live[0].state, CallStatus::Active);
    assert!(live[0].remote.contains("carol"), "{:?}", live[0].remote);
    alice.hangup(&live[0].id).await.unwrap();
    wait_for(&mut c_updates, CallView::is_ended, Duration::from_secs(10)).await;
}
