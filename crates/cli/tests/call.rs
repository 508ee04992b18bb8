//! `homeline call` and `homeline answer` against each other and against sipp: on the loopback
//! (sipp needed, skipped without it) and in the lab through the Cone NAT (root; skipped
//! otherwise).
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use homeline_lab::{Lab, RouterProfile};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn prepare(cmd: &mut Command, dir: &Path) {
    cmd.env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.join("logs"));
}

fn homeline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeline"));
    prepare(&mut cmd, dir);
    cmd
}

/// A UDP port free on the loopback right now.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have_sipp() -> bool {
    Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Waits for a child with a limit; kills it when the limit passes.
fn wait_output(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("timed out: {}\n{}", text(&out.stdout), text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_answer(dir: &Path, port: u16, count: u32) -> Child {
    let child = homeline(dir)
        .args(["answer", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--count", &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The socket is bound within milliseconds of the start.
    std::thread::sleep(Duration::from_millis(500));
    child
}

#[test]
fn homeline_calls_homeline_directly_on_the_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let answer = spawn_answer(dir.path(), port, 1);
    let call = homeline(dir.path())
        .args([
            "call",
            &format!("sip:x@127.0.0.1:{port}"),
            "--duration",
            "1",
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        call.status.success(),
        "call: {}\n{}",
        text(&call.stdout),
        text(&call.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(v["end_reason"], "hung_up", "{v}");
    assert!(v["duration_secs"].as_f64().unwrap() >= 0.9, "{v}");
    // No relays configured: straight to the peer, no ICE, both times measured.
    assert_eq!(v["media_route"], "direct", "{v}");
    assert!(v["relay"].is_null(), "{v}");
    assert_eq!(v["ice"], false, "{v}");
    assert!(v["setup_ms"].as_u64().is_some(), "{v}");
    assert!(v["media_ms"].as_u64().is_some(), "{v}");
    let answer = wait_output(answer, Duration::from_secs(10));
    assert!(answer.status.success(), "answer: {}", text(&answer.stderr));
    let out = text(&answer.stdout);
    assert!(out.contains("incoming call from"), "{out}");
    assert!(out.contains("the other side hung up"), "{out}");
    assert!(out.contains("route: Direct; answered after "), "{out}");
}

/// `--stats-every 1` on a 3 s call: a line of statistics each second while it is up, the
/// counts and the call's age growing, then the final report as the last line; the answering
/// side prints them in words.
#[test]
fn stats_every_prints_the_quality_of_a_call_while_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let answer = homeline(dir.path())
        .args(["answer", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--stats-every", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let call = homeline(dir.path())
        .args(["call", &format!("sip:x@127.0.0.1:{port}")])
        .args(["--duration", "3", "--json", "--stats-every", "1"])
        .output()
        .unwrap();
    let stdout = text(&call.stdout);
    assert!(call.status.success(), "{stdout}\n{}", text(&call.stderr));
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let (last, ticks) = lines.split_last().unwrap();
    assert_eq!(last["end_reason"], "hung_up", "{last}");
    assert!(ticks.len() >= 2, "{stdout}");
    for t in ticks {
        assert_eq!(t["event"], "stats", "{t}");
        assert_eq!(t["codec"], "opus/48000", "{t}");
        assert!(t["playout_delay_ms"].as_f64().is_some(), "{t}");
        assert!(t["loss_pct"].as_f64().is_some(), "{t}");
    }
    let (first, later) = (&ticks[0], &ticks[ticks.len() - 1]);
    assert!(later["secs"].as_f64() > first["secs"].as_f64(), "{stdout}");
    assert!(
        later["packets_received"].as_u64() > first["packets_received"].as_u64(),
        "{stdout}"
    );
    let answer = wait_output(answer, Duration::from_secs(10));
    let out = text(&answer.stdout);
    assert!(answer.status.success(), "{out}\n{}", text(&answer.stderr));
    assert!(out.contains("stats: "), "{out}");
    assert!(out.contains(" ms, playout delay "), "{out}");
}

#[test]
fn calling_nobody_exits_1_with_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    // A port that nobody listens on: ICMP refuses it, Timer B (32 s) ends the call.
    let port = free_port();
    let call = homeline(dir.path())
        .args(["call", &format!("sip:x@127.0.0.1:{port}"), "--json"])
        .output()
        .unwrap();
    assert_eq!(call.status.code(), Some(1), "{}", text(&call.stderr));
    let v: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(v["end_reason"], "no_answer", "{v}");
    assert_eq!(v["sip_code"], 408, "{v}");
    assert!(text(&call.stderr).starts_with("homeline: no answer"));
}

#[test]
fn sipp_burst_of_100_calls_all_answered_and_ended() {
    if !have_sipp() {
        eprintln!("SKIP: sipp is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sipp_port = free_port();
    let answer = spawn_answer(dir.path(), port, 100);
    let sipp = Command::new("sipp")
        .args([
            "-sn",
            "uac",
            "-i",
            "127.0.0.1",
            "-p",
            &sipp_port.to_string(),
        ])
        .args(["-m", "100", "-r", "20", "-nostdin", "-timeout", "60s"])
        .args(["-timeout_error", "-trace_stat", "-stf"])
        .arg(dir.path().join("stat.csv"))
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let answer = wait_output(answer, Duration::from_secs(30));
    assert!(
        sipp.status.success(),
        "sipp: {}\n{}\nanswer: {}",
        sipp.status,
        text(&sipp.stderr),
        text(&answer.stderr)
    );
    assert!(
        answer.status.success(),
        "answer: {}\n{}",
        text(&answer.stdout),
        text(&answer.stderr)
    );
    let out = text(&answer.stdout);
    assert_eq!(out.matches("the other side hung up").count(), 100, "{out}");
    // sipp's own count: the last line of its statistics, column SuccessfulCall(C).
    let stats = std::fs::read_to_string(dir.path().join("stat.csv")).unwrap();
    let header: Vec<&str> = stats.lines().next().unwrap().split(';').collect();
    let last: Vec<&str> = stats.lines().last().unwrap().split(';').collect();
    let col = |name: &str| {
        let i = header.iter().position(|h| *h == name).unwrap();
        last[i].parse::<u64>().unwrap()
    };
    assert_eq!(col("SuccessfulCall(C)"), 100, "{stats}");
    assert_eq!(col("FailedCall(C)"), 0, "{stats}");
}

#[test]
fn calls_a_sipp_uas_through_the_cone_nat() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let uas_ip = lab.public_ip2().to_string();
    let mut uas_cmd = lab.public().command("sipp");
    uas_cmd
        .args([
            "-sn", "uas", "-i", &uas_ip, "-p", "5070", "-m", "1", "-nostdin",
        ])
        .current_dir(lab.out_dir());
    let mut uas = lab.public().spawn(&mut uas_cmd, "sipp-uas.log").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut cmd = lab.client().command(env!("CARGO_BIN_EXE_homeline"));
    prepare(&mut cmd, dir.path());
    let out = cmd
        .args([
            "call",
            &format!("sip:service@{uas_ip}:5070"),
            "--duration",
            "1",
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "call: {}\n{}\nuas: {}",
        text(&out.stdout),
        text(&out.stderr),
        uas.log()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["end_reason"], "hung_up", "{v}");
    uas.stop();
}

#[test]
fn a_407_challenge_is_answered_with_the_account_credentials() {
    if !have_sipp() {
        eprintln!("SKIP: sipp is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An account without a registrar calls directly, with its credentials for a challenge.
    let cfg = dir.path().join("homeline.toml");
    std::fs::write(
        &cfg,
        "version = 1\n[[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
         sip_address = \"sip:alice@homeline.test\"\nregistrar = \"\"\n\
         transport = \"udp\"\npassword = \"secret\"\n",
    )
    .unwrap();
    let port = free_port();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/uas_407.xml");
    let uas = Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let call = homeline(dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["call", &format!("sip:bob@127.0.0.1:{port}")])
        .args(["--account", "Alice", "--duration", "1", "--json"])
        .output()
        .unwrap();
    let uas = wait_output(uas, Duration::from_secs(20));
    assert!(
        call.status.success(),
        "call: {}\n{}\nsipp: {}",
        text(&call.stdout),
        text(&call.stderr),
        text(&uas.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(v["end_reason"], "hung_up", "{v}");
    // sipp exits 0 only when the scenario ran to its end through the 200 (authvalid).
    assert!(uas.status.success(), "sipp: {}", text(&uas.stderr));
}

#[test]
fn link_forms_call_the_echo_line() {
    // `sip:echo` is what a clicked link hands over; the CLI accepts the same forms as the app.
    let dir = tempfile::tempdir().unwrap();
    let call = homeline(dir.path())
        .arg("--config")
        .arg(dir.path().join("homeline.toml"))
        .args(["call", "sip:echo", "--duration", "1", "--json"])
        .output()
        .unwrap();
    assert!(
        call.status.success(),
        "call: {}\n{}",
        text(&call.stdout),
        text(&call.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(v["end_reason"], "hung_up", "{v}");
}
