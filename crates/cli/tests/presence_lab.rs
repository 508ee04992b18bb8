//! `homeline presence set|watch` between two Homelines through kamailio's presence server in
//! the lab (root; skipped otherwise): Alice publishes from behind the Cone NAT, Bob watches
//! from the public side and sees each change within a second; when Alice quits, her status
//! is withdrawn and Bob sees her offline. kamailio challenges SUBSCRIBE (407) and both
//! PUBLISH and SUBSCRIBE answer with the account's credentials.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::config;

use homeline_lab::{Host, KamailioConfig, Lab, RouterProfile};

/// The CLI with its output piped for the test to read.
fn homeline(host: &Host, dir: &Path, cfg: &Path) -> Command {
    let mut cmd = common::homeline(host, dir, cfg);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Every line of the child's stdout and stderr with the moment it arrived.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<(Instant, bool, String)> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let t2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), true, l));
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = t2.send((Instant::now(), false, l));
        }
    });
    rx
}

/// The next stdout line (stderr lines are echoed), within `limit`.
fn next_out(rx: &mpsc::Receiver<(Instant, bool, String)>, limit: Duration) -> (Instant, String) {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((t, true, l)) => return (t, l),
            Ok((_, false, l)) => eprintln!("  {l}"),
            Err(e) => panic!("no line within {limit:?}: {e}"),
        }
    }
}

fn wait_err(rx: &mpsc::Receiver<(Instant, bool, String)>, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, false, l)) if l.starts_with(prefix) => return,
            Ok((_, _, l)) => eprintln!("  {l}"),
            Err(e) => panic!("no {prefix:?} within 20 s: {e}"),
        }
    }
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn status_changes_reach_the_watcher_within_a_second_through_kamailio() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .auth_calls(true)
                .presence(true),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registrar = format!("sip:{}", k.sip_addr());
    let alice = config(dir.path(), "alice", &registrar);
    let bob = config(dir.path(), "bob", &registrar);

    let mut watcher = homeline(lab.public(), dir.path(), &bob)
        .args([
            "presence",
            "watch",
            "alice",
            "--json",
            "--count",
            "5",
            "--timeout",
            "60",
        ])
        .spawn()
        .unwrap();
    let w = lines(&mut watcher);
    wait_err(&w, "watching 1 contact");
    // Nothing published yet: kamailio says so with an empty NOTIFY.
    let (_, first) = next_out(&w, Duration::from_secs(10));
    assert_eq!(json(&first)["status"], "offline", "{first}");

    let mut latencies = Vec::new();
    for (status, note) in [("away", "Обед до 14:00 — 午饭"), ("busy", "in a meeting")] {
        let mut publisher = homeline(lab.client(), dir.path(), &alice)
            .args(["presence", "set", status, "--note", note, "--duration", "1"])
            .spawn()
            .unwrap();
        let p = lines(&mut publisher);
        let (published_at, line) = next_out(&p, Duration::from_secs(20));
        assert_eq!(line, format!("published: {status} ({note})"));
        let (seen_at, seen) = next_out(&w, Duration::from_secs(5));
        let v = json(&seen);
        assert_eq!(v["uri"], "sip:alice@homeline.test", "{seen}");
        assert_eq!(v["status"], status, "{seen}");
        assert_eq!(v["note"], note, "{seen}");
        let latency = seen_at.saturating_duration_since(published_at);
        latencies.push(latency);
        assert!(
            latency < Duration::from_secs(1),
            "{status} seen after {latency:?}"
        );
        // Alice quits: her status is withdrawn, Bob sees her offline.
        assert!(publisher.wait().unwrap().success());
        let (_, gone) = next_out(&w, Duration::from_secs(5));
        assert_eq!(json(&gone)["status"], "offline", "{gone}");
    }
    assert!(watcher.wait().unwrap().success());
    eprintln!("status change → watcher: {latencies:?}");
}
