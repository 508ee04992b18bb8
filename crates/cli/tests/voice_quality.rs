//! Voice quality at the codec's ceiling, on a clean network (the loopback): PESQ-WB (P.862.2)
//! of what the far end records against what was sent, for one Opus hop Homeline → Homeline and
//! for the echo line (two hops: ours to the echo and back). The bounds are the goals of
//! issue 11; these tests fail when a change costs the clean path its quality (an encoder
//! setting, a jitter buffer that moves on a clean network, a timing slip at the start).
//!
//! Needs the PESQ venv (`scripts/install-deps.sh test`); without it each test says why and
//! checks only that the call carried audio. Each takes about 15 s (two debug-build CLIs
//! and a PESQ run).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use homeline_lab::pesq::{PesqMode, pesq_audio};
use homeline_lab::signal::{Audio, aligned, compare};

const HOMELINE: &str = env!("CARGO_BIN_EXE_homeline");
/// Speech-like signal sent in each call.
const TALK: Duration = Duration::from_secs(8);
const CALL_SECS: &str = "10";

/// Goal for one Opus hop on a clean network (opusenc/opusdec alone: 3.90 at 32 kbit/s, 4.28
/// at 48 kbit/s on a speech file).
const ONE_HOP_PESQ: f64 = 4.0;
/// Goal for the echo line (two Opus encodings).
const ECHO_PESQ: f64 = 3.6;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn homeline(dir: &Path) -> Command {
    let mut cmd = Command::new(HOMELINE);
    cmd.env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.join("logs"))
        .arg("--config")
        .arg(dir.join("homeline.toml"));
    cmd
}

fn wait_output(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "timed out after {limit:?}: {}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json(out: &Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    serde_json::from_str(
        line.unwrap_or_else(|| panic!("no JSON ({}): {stdout}\n{}", out.status, text(&out.stderr))),
    )
    .unwrap()
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// PESQ-WB of `got` against `sent` from half a second in (the stream's first frames go while
/// files open), or `None` without the PESQ venv.
fn pesq_wb(what: &str, sent: &Audio, got: &Audio) -> Option<f64> {
    let whole = compare(sent, got);
    eprintln!("{what}: {whole}");
    let delay = whole.delay_ms.expect("the speech arrived");
    assert!(whole.coverage > 0.8, "{what}: too little arrived: {whole}");
    let (r, d) = aligned(sent, got, delay);
    let (r, d) = (r.delayed(-500.0), d.delayed(-500.0));
    match pesq_audio(&r, &d, PesqMode::Wideband).unwrap() {
        Some(mos) => {
            eprintln!("{what}: PESQ-WB {mos:.2}");
            Some(mos)
        }
        None => {
            eprintln!(
                "{what}: PESQ not installed ({}); audio checked only",
                homeline_lab::pesq::available().err().unwrap_or_default()
            );
            None
        }
    }
}

#[test]
fn one_opus_hop_on_a_clean_network_scores_at_the_codecs_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let says = Audio::test_signal(48_000, TALK, 61);
    let says_file = dir.path().join("says.wav");
    says.write_wav(&says_file).unwrap();
    let silence = dir.path().join("silence.wav");
    Audio::silence(48_000, Duration::from_secs(1))
        .write_wav(&silence)
        .unwrap();
    let heard_file = dir.path().join("heard.wav");
    let port = free_port();
    let answer = homeline(dir.path())
        .args(["answer", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--count", "1", "--json", "--play"])
        .arg(&silence)
        .arg("--record")
        .arg(&heard_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The listener binds before it prints anything; retrying the call covers the start-up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let call = loop {
        let out = homeline(dir.path())
            .args(["call", &format!("sip:bob@127.0.0.1:{port}")])
            .args(["--duration", CALL_SECS, "--json", "--play"])
            .arg(&says_file)
            .output()
            .unwrap();
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(call.status.success(), "call: {}", text(&call.stderr));
    let answered = wait_output(answer, Duration::from_secs(15));
    assert!(
        answered.status.success(),
        "answer: {}",
        text(&answered.stderr)
    );
    let (jc, ja) = (json(&call), json(&answered));
    eprintln!("caller: {jc}\nanswerer: {ja}");
    assert_eq!(jc["codec"], "opus/48000");
    assert_eq!(ja["loss_pct"], 0.0, "the loopback loses nothing: {ja}");
    let heard = Audio::read_wav(&heard_file).unwrap();
    if let Some(mos) = pesq_wb("Homeline → Homeline, Opus, clean", &says, &heard) {
        assert!(
            mos >= ONE_HOP_PESQ,
            "PESQ-WB {mos:.2} < {ONE_HOP_PESQ} on a clean network"
        );
    }
}

#[test]
fn the_echo_line_scores_above_two_hops_of_the_codec() {
    let dir = tempfile::tempdir().unwrap();
    let says = Audio::test_signal(48_000, TALK, 62);
    let says_file = dir.path().join("says.wav");
    says.write_wav(&says_file).unwrap();
    let heard_file = dir.path().join("heard.wav");
    let out = wait_output(
        homeline(dir.path())
            .args(["call", "echo", "--duration", CALL_SECS, "--json", "--play"])
            .arg(&says_file)
            .arg("--record")
            .arg(&heard_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "call echo: {}", text(&out.stderr));
    eprintln!("echo call: {}", json(&out));
    let heard = Audio::read_wav(&heard_file).unwrap();
    if let Some(mos) = pesq_wb("echo line (two Opus hops), clean", &says, &heard) {
        assert!(
            mos >= ECHO_PESQ,
            "PESQ-WB {mos:.2} < {ECHO_PESQ} on the echo line"
        );
    }
}
