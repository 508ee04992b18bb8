//! Hot-plug on PulseAudio null sinks (scripts/with-pulse.sh): the "headset" sink is unloaded
//! while a speaker and a microphone stream use it; both must move to the default device within
//! a second, say so in a plain event, and move back when the headset returns. Skipped (with a
//! message) unless HOMELINE_REAL_AUDIO=1.
//!
//! This is its own test binary because it unplugs a device the other real-device tests use.

// An unwrap that fails is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use common::real_audio;
use homeline_audio::{
    DeviceChoice, DeviceEvent, DeviceEventKind, DeviceInput, DeviceOutput, FrameSink, FrameSource,
    FrameStatus, Role, Tone, frame_len,
};

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

/// Keeps both streams served (as a call would) until `until` says stop or `limit` passes.
fn serve(
    out: &mut DeviceOutput,
    input: &mut DeviceInput,
    tone: &mut Tone,
    limit: Duration,
    mut until: impl FnMut(&mut DeviceOutput, &mut DeviceInput) -> bool,
) -> bool {
    let mut frame = vec![0.0; frame_len(out.rate())];
    let mut in_frame = vec![0.0; frame_len(input.rate())];
    let start = Instant::now();
    while start.elapsed() < limit {
        while out.queued_ms() < 40 {
            tone.read_frame(&mut frame).unwrap();
            out.write_frame(&frame).unwrap();
        }
        while input.read_frame(&mut in_frame).unwrap() == FrameStatus::Ready {}
        if until(out, input) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn wait_events(
    rx: &mpsc::Receiver<DeviceEvent>,
    n: usize,
    start: Instant,
) -> Vec<(DeviceEvent, Duration)> {
    let mut got = Vec::new();
    while got.len() < n {
        match rx.recv_timeout(Duration::from_secs(3)) {
            Ok(e) => got.push((e, start.elapsed())),
            Err(_) => break,
        }
    }
    got
}

/// Both tests change the server's devices: one at a time.
static SERVER: Mutex<()> = Mutex::new(());

#[test]
fn unplugging_the_headset_moves_audio_to_the_default_and_back() {
    if !real_audio("unplugging_the_headset_moves_audio_to_the_default_and_back") {
        return;
    }
    let _one_at_a_time = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    let mut out = DeviceOutput::open(
        Role::Speaker,
        DeviceChoice::Named("Headset".into()),
        48_000,
        Some(tx.clone()),
    )
    .unwrap();
    let mut input = DeviceInput::open(
        DeviceChoice::Named("headset.monitor".into()),
        48_000,
        Some(tx),
    )
    .unwrap();
    assert_eq!(
        (out.device(), input.device()),
        ("Headset", "Monitor of Headset")
    );
    let mut tone = Tone::new(48_000, 1000.0, 0.3);
    // The tone reaches the microphone (the headset's monitor) before the unplug.
    assert!(serve(
        &mut out,
        &mut input,
        &mut tone,
        Duration::from_secs(2),
        |_, i| { i.levels().last().rms_dbfs > -20.0 }
    ));

    let module = headset_module().expect("the headset null sink is loaded");
    let unplugged = Instant::now();
    pactl(&["unload-module", &module]);
    let mut seen = Vec::new();
    let moved = serve(
        &mut out,
        &mut input,
        &mut tone,
        Duration::from_secs(3),
        |o, i| {
            while let Ok(e) = rx.try_recv() {
                seen.push((e, unplugged.elapsed()));
            }
            o.device() == "Speakers" && i.device() == "Monitor of Speakers"
        },
    );
    let took = unplugged.elapsed();
    for (e, at) in &seen {
        println!(
            "after {:.0} ms: {:?} {}",
            at.as_secs_f64() * 1000.0,
            e.role,
            e.message
        );
    }
    assert!(moved, "streams did not move: {seen:?}");
    seen.extend(wait_events(
        &rx,
        2usize.saturating_sub(seen.len()),
        unplugged,
    ));
    assert!(took < Duration::from_secs(1), "moving took {took:?}");
    let speaker = seen
        .iter()
        .find(|(e, _)| e.role == Role::Speaker)
        .expect("a speaker event");
    assert_eq!(speaker.0.kind, DeviceEventKind::Unplugged);
    assert_eq!(
        speaker.0.message,
        "Speaker 'Headset' was unplugged; audio moved to 'Speakers'."
    );
    assert!(
        speaker.1 < Duration::from_secs(1),
        "event after {:?}",
        speaker.1
    );
    let mic = seen
        .iter()
        .find(|(e, _)| e.role == Role::Microphone)
        .expect("a microphone event");
    assert_eq!(mic.0.kind, DeviceEventKind::Unplugged);
    assert_eq!(mic.0.to.as_deref(), Some("Monitor of Speakers"));
    // Audio goes on: the tone now reaches the speakers' monitor.
    assert!(
        serve(
            &mut out,
            &mut input,
            &mut tone,
            Duration::from_secs(2),
            |_, i| { i.levels().last().rms_dbfs > -20.0 }
        ),
        "no audio after the move"
    );
    println!(
        "moved in {:.0} ms; output {:?}; input {:?}",
        took.as_secs_f64() * 1000.0,
        out.counters(),
        input.counters()
    );

    // Plug the headset back in: both move back to it.
    pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=headset",
        "sink_properties=device.description=Headset",
        "rate=48000",
        "channels=2",
    ]);
    let plugged = Instant::now();
    // Opening a capture stream on an idle null sink's monitor takes PulseAudio about 2 s
    // (nothing renders into it yet), hence the longer limit for moving back.
    let back = serve(
        &mut out,
        &mut input,
        &mut tone,
        Duration::from_secs(5),
        |o, i| o.device() == "Headset" && i.device() == "Monitor of Headset",
    );
    println!(
        "moved back in {:.0} ms",
        plugged.elapsed().as_secs_f64() * 1000.0
    );
    assert!(back, "did not move back");
    let returned = wait_events(&rx, 2, plugged);
    println!("returned: {returned:?}");
    assert!(
        returned
            .iter()
            .any(|(e, _)| e.kind == DeviceEventKind::Returned
                && e.message
                    == "Speaker 'Headset' is back; audio moved back to it from 'Speakers'.")
    );
}

#[test]
fn a_default_choice_follows_the_system_default() {
    if !real_audio("a_default_choice_follows_the_system_default") {
        return;
    }
    let _one_at_a_time = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    let mut out =
        DeviceOutput::open(Role::Speaker, DeviceChoice::SystemDefault, 48_000, Some(tx)).unwrap();
    assert_eq!(out.device(), "Speakers");
    pactl(&["set-default-sink", "headset"]);
    let changed = Instant::now();
    let mut frame = vec![0.0; 960];
    let mut tone = Tone::new(48_000, 1000.0, 0.3);
    while out.device() != "Headset" && changed.elapsed() < Duration::from_secs(2) {
        while out.queued_ms() < 40 {
            tone.read_frame(&mut frame).unwrap();
            out.write_frame(&frame).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = changed.elapsed();
    pactl(&["set-default-sink", "speakers"]);
    let event = rx.recv_timeout(Duration::from_secs(1)).unwrap();
    println!(
        "followed the default in {:.0} ms: {}",
        took.as_secs_f64() * 1000.0,
        event.message
    );
    assert_eq!(out.device(), "Headset");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(event.kind, DeviceEventKind::DefaultChanged);
    assert_eq!(
        event.message,
        "The system's default changed; audio moved to 'Headset'."
    );
}

#[test]
fn a_missing_chosen_device_falls_back_to_the_default_and_says_so() {
    if !real_audio("a_missing_chosen_device_falls_back_to_the_default_and_says_so") {
        return;
    }
    let _one_at_a_time = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    let out = DeviceOutput::open(
        Role::Ring,
        DeviceChoice::Named("Jabra Evolve".into()),
        48_000,
        Some(tx),
    )
    .unwrap();
    assert_eq!(out.device(), "Speakers");
    let event = rx.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(event.kind, DeviceEventKind::Missing);
    assert_eq!(
        event.message,
        "Ring device 'Jabra Evolve' is not connected; using 'Speakers' instead."
    );
}
