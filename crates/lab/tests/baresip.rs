//! baresip as a far-end phone: two baresips on the public host call each
//! other with each codec and with SRTP, one records, and the recording is
//! compared with what the other played. Each test needs root and baresip
//! and prints `skipped: …` otherwise.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use homeline_lab::pesq::{PesqMode, pesq_audio};
use homeline_lab::signal::{Audio, Comparison, aligned, compare};
use homeline_lab::{
    AnswerMode, Baresip, BaresipConfig, KamailioConfig, Lab, Role, RouterProfile, Srtp,
};

const SECS: u64 = 4;

fn lab() -> Option<Lab> {
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["baresip"]) {
        return None;
    }
    Lab::start_or_skip(RouterProfile::Cone).unwrap()
}

/// Writes `audio` as `<out>/<name>` and returns the path.
fn wav(lab: &Lab, name: &str, audio: &Audio) -> PathBuf {
    let p = lab.out_dir().join(name);
    audio.write_wav(&p).unwrap();
    p
}

/// Caller on the public host's first address, port 5062.
fn caller(file: PathBuf) -> BaresipConfig {
    BaresipConfig::new("alice")
        .ip(homeline_lab::PUBLIC_IP)
        .port(5062)
        .play(file)
}

/// A calls B, A's file plays to its end (A then hangs up), B's recording
/// is compared with what A played.
fn call_and_compare(a: &Baresip, b: &Baresip, sent: &Audio) -> Comparison {
    let start = Instant::now();
    a.dial(&b.uri()).unwrap();
    a.wait_established(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\nA: {}\nB: {}", a.log(), b.log()));
    b.wait_established(Duration::from_secs(5)).unwrap();
    let closed = a
        .wait_closed(sent.duration() + Duration::from_secs(10))
        .unwrap();
    b.wait_closed(Duration::from_secs(5)).unwrap();
    let rec = b.wait_recording(Duration::from_secs(5)).unwrap();
    let got = Audio::read_wav(&rec).unwrap();
    let c = compare(sent, &got);
    eprintln!(
        "call of {:?} ({}), recording {} at {} Hz, {:?}: {c}",
        start.elapsed(),
        closed.param,
        rec.display(),
        got.rate,
        got.duration()
    );
    c
}

/// Bounds that hold for a working call on a loaded 2-core machine and fail
/// for missing, silent or foreign audio.
fn assert_carried(c: &Comparison, min_correlation: f64) {
    let delay = c
        .delay_ms
        .unwrap_or_else(|| panic!("nothing received: {c}"));
    assert!((-200.0..=400.0).contains(&delay), "{c}");
    assert!(c.correlation >= min_correlation, "{c}");
    assert!(c.envelope_correlation >= 0.9, "{c}");
    assert!(c.fraction_silent <= 0.05, "{c}");
    assert!(c.coverage >= 0.8, "{c}");
    assert!(c.rms_ratio_db.abs() <= 3.0, "{c}");
}

#[test]
fn baresip_calls_baresip_with_pcmu_and_the_recording_matches() {
    let Some(lab) = lab() else { return };
    let sent = Audio::test_signal(8000, Duration::from_secs(SECS), 1);
    let file = wav(&lab, "in-8k.wav", &sent);
    let a = lab
        .start_baresip(caller(file).codecs(&["PCMU/8000/1"]))
        .unwrap();
    let b = lab
        .start_baresip(BaresipConfig::new("bob").codecs(&["PCMU/8000/1"]))
        .unwrap();
    let c = call_and_compare(&a, &b, &sent);
    assert_carried(&c, 0.95);
    assert!(c.snr_db >= 25.0, "{c}");
    assert!(b.log().contains("Set audio decoder: PCMU 8000Hz 1ch"));
    // The same recording is not mistaken for another signal.
    let other = Audio::test_signal(8000, Duration::from_secs(SECS), 2);
    let rec = Audio::read_wav(&b.recording().unwrap()).unwrap();
    let wrong = compare(&other, &rec);
    assert!(wrong.correlation < 0.3, "another signal: {wrong}");
    // PESQ, where installed (scripts/install-deps.sh test).
    let (r, d) = aligned(&sent, &rec, c.delay_ms.unwrap());
    if let Some(mos) = pesq_audio(&r, &d, PesqMode::Narrowband).unwrap() {
        eprintln!("PESQ (narrowband) of the PCMU call: {mos:.2}");
        assert!(mos >= 4.0, "PESQ {mos}");
    }
}

#[test]
fn baresip_calls_baresip_with_opus_and_the_recording_matches() {
    let Some(lab) = lab() else { return };
    let sent = Audio::test_signal(48000, Duration::from_secs(SECS), 3);
    let file = wav(&lab, "in-48k.wav", &sent);
    let a = lab
        .start_baresip(caller(file).codecs(&["opus/48000/2"]))
        .unwrap();
    let b = lab
        .start_baresip(BaresipConfig::new("bob").codecs(&["opus/48000/2"]))
        .unwrap();
    let c = call_and_compare(&a, &b, &sent);
    assert_carried(&c, 0.9);
    assert!(b.log().contains("Set audio decoder: opus 48000Hz 2ch"));
    let rec = Audio::read_wav(&b.recording().unwrap()).unwrap();
    let (r, d) = aligned(&sent, &rec, c.delay_ms.unwrap());
    if let Some(mos) = pesq_audio(&r, &d, PesqMode::Wideband).unwrap() {
        eprintln!("PESQ (wideband) of the Opus call: {mos:.2}");
        assert!(mos >= 4.0, "PESQ {mos}");
    }
}

#[test]
fn baresip_calls_baresip_with_mandatory_sdes_srtp() {
    let Some(lab) = lab() else { return };
    let sent = Audio::test_signal(8000, Duration::from_secs(SECS), 4);
    let file = wav(&lab, "in-8k.wav", &sent);
    let a = lab
        .start_baresip(caller(file).codecs(&["PCMU/8000/1"]).srtp(Srtp::Mandatory))
        .unwrap();
    let b = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .codecs(&["PCMU/8000/1"])
                .srtp(Srtp::Mandatory),
        )
        .unwrap();
    let c = call_and_compare(&a, &b, &sent);
    assert_carried(&c, 0.95);
    // SDES in the SDP (RFC 4568) and both sides report the crypto suite.
    let log = a.log();
    assert!(log.contains("m=audio") && log.contains("RTP/SAVP"), "{log}");
    assert!(log.contains("a=crypto:"), "{log}");
    for side in [&a, &b] {
        let menc: Vec<_> = side
            .events()
            .into_iter()
            .filter(|e| e.kind == "CALL_MENC")
            .collect();
        assert!(!menc.is_empty(), "no CALL_MENC: {:?}", side.events());
    }
}

#[test]
fn a_call_that_carries_silence_fails_the_comparison() {
    let Some(lab) = lab() else { return };
    let reference = Audio::test_signal(8000, Duration::from_secs(2), 5);
    let file = wav(
        &lab,
        "silence-8k.wav",
        &Audio::silence(8000, Duration::from_secs(2)),
    );
    let a = lab
        .start_baresip(caller(file).codecs(&["PCMU/8000/1"]))
        .unwrap();
    let b = lab
        .start_baresip(BaresipConfig::new("bob").codecs(&["PCMU/8000/1"]))
        .unwrap();
    let c = call_and_compare(&a, &b, &reference);
    assert!(c.is_silent(), "{c}");
    assert!(c.correlation < 0.3, "{c}");
}

#[test]
fn baresip_echoes_and_answers_on_command() {
    let Some(lab) = lab() else { return };
    let sent = Audio::test_signal(8000, Duration::from_secs(SECS), 6);
    let file = wav(&lab, "in-8k.wav", &sent);
    let a = lab
        .start_baresip(caller(file).codecs(&["PCMU/8000/1"]))
        .unwrap();
    let b = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .codecs(&["PCMU/8000/1"])
                .echo()
                .answer(AnswerMode::Manual),
        )
        .unwrap();
    a.dial(&b.uri()).unwrap();
    let incoming = b.wait_incoming(Duration::from_secs(10)).unwrap();
    assert!(incoming.peer.contains("alice@"), "{incoming:?}");
    a.wait_event("CALL_RINGING", Duration::from_secs(5))
        .unwrap();
    b.accept().unwrap();
    a.wait_established(Duration::from_secs(5)).unwrap();
    b.wait_established(Duration::from_secs(5)).unwrap();
    // A's file ends, A hangs up; what A received is its own signal, echoed.
    a.wait_closed(sent.duration() + Duration::from_secs(10))
        .unwrap();
    b.wait_closed(Duration::from_secs(5)).unwrap();
    let echoed = Audio::read_wav(&a.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    let c = compare(&sent, &echoed);
    eprintln!("echo: {c}");
    let delay = c.delay_ms.unwrap_or_else(|| panic!("no echo: {c}"));
    assert!((0.0..=600.0).contains(&delay), "{c}");
    assert!(c.correlation >= 0.9, "{c}");
    assert!(c.fraction_silent <= 0.05, "{c}");
    assert!(c.coverage >= 0.7, "{c}");
}

#[test]
fn baresip_registers_with_kamailio_and_is_called_through_it() {
    let Some(lab) = lab() else { return };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("bob", "pw-bob"))
        .unwrap();
    let b = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .register(k.sip_addr(), "pw-bob")
                .tone(440),
        )
        .unwrap();
    assert!(k.log().contains("REGISTER of sip:bob@"), "{}", k.log());
    let a = lab
        .start_baresip(
            BaresipConfig::new("alice")
                .ip(homeline_lab::PUBLIC_IP)
                .port(5062)
                .tone(880),
        )
        .unwrap();
    a.dial(&format!("sip:bob@{}", k.sip_addr())).unwrap();
    a.wait_established(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\nA: {}\nkamailio: {}", a.log(), k.log()));
    b.wait_established(Duration::from_secs(5)).unwrap();
    b.wait_heard(Duration::from_secs(1), Duration::from_secs(5))
        .unwrap();
    b.hangup().unwrap();
    let closed = a.wait_closed(Duration::from_secs(5)).unwrap();
    b.wait_closed(Duration::from_secs(5)).unwrap();
    eprintln!("closed: {}", closed.param);
    // B heard A's 880 Hz tone: compare with a synthetic one (any phase
    // aligns within one period).
    let rec = Audio::read_wav(&b.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    assert!(
        rec.duration() >= Duration::from_secs(1),
        "{:?}",
        rec.duration()
    );
    let tone = Audio {
        rate: 8000,
        samples: (0..8000)
            .map(|i| (2.0 * std::f32::consts::PI * 880.0 * i as f32 / 8000.0).sin() * 0.5)
            .collect(),
    };
    let c = compare(&tone, &rec);
    eprintln!("tone through kamailio: {c}");
    assert!(c.correlation > 0.9, "{c}");
}

/// What a NATed caller without STUN/ICE gets from baresip: its audio
/// reaches baresip, but baresip (1.0.0) sends to the private address of the
/// SDP rather than latching onto where the RTP comes from, so nothing comes
/// back. A Homeline call from the client namespace to a baresip must
/// advertise its public mapping (STUN/ICE) to hear anything.
#[test]
fn baresip_does_not_latch_onto_a_natted_callers_rtp() {
    let Some(lab) = lab() else { return };
    let sent = Audio::test_signal(8000, Duration::from_secs(3), 8);
    let file = wav(&lab, "in-8k.wav", &sent);
    let a = lab
        .start_baresip(
            BaresipConfig::new("alice")
                .on(Role::Client)
                .play(file)
                .codecs(&["PCMU/8000/1"]),
        )
        .unwrap();
    let b = lab
        .start_baresip(BaresipConfig::new("bob").codecs(&["PCMU/8000/1"]).tone(440))
        .unwrap();
    // Client → public: through the NAT, B hears A.
    let c = call_and_compare(&a, &b, &sent);
    assert_carried(&c, 0.95);
    assert!(
        b.log()
            .contains(&format!("receiving from {}:", lab.router_public_ip())),
        "{}",
        b.log()
    );
    // Public → client: B's RTP went to 10.23.0.2, which the public host
    // cannot reach; A recorded nothing.
    let heard = Audio::read_wav(&a.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    assert!(heard.samples.is_empty(), "A heard {:?}", heard.duration());
}
