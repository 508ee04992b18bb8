//! Presence figures for the report (ignored by default; root, the lab): a watcher with 500
//! contacts subscribed through kamailio — memory (VmRSS beside a one-contact watcher) and
//! idle CPU — and the median time from a status change to the watcher's line.
//!
//! `cargo test -p homeline --test presence_bench -- --ignored --nocapture`
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::config;

use homeline_lab::{Host, KamailioConfig, Lab, RouterProfile};

/// The CLI with its output piped for the test to read.
fn homeline(host: &Host, dir: &Path, cfg: &Path) -> Command {
    let mut cmd = common::homeline(host, dir, cfg);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    cmd
}

fn stdout_lines(child: &mut Child) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), l));
        }
    });
    rx
}

/// The homeline process under `ip netns exec` (the child is the wrapper or homeline itself).
fn homeline_pid(child: &Child) -> u32 {
    let me = child.id();
    let comm = std::fs::read_to_string(format!("/proc/{me}/comm")).unwrap_or_default();
    if comm.trim() == "homeline" {
        return me;
    }
    let kids =
        std::fs::read_to_string(format!("/proc/{me}/task/{me}/children")).unwrap_or_default();
    kids.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(me)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the ')'.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn watch(
    lab: &Lab,
    dir: &Path,
    cfg: &Path,
    uris: &[String],
) -> (Child, mpsc::Receiver<(Instant, String)>) {
    let n = uris.len();
    let mut child = homeline(lab.public(), dir, cfg)
        .args(["presence", "watch", "--json"])
        .args(uris)
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..n {
        let left = deadline.saturating_duration_since(Instant::now());
        rx.recv_timeout(left)
            .unwrap_or_else(|e| panic!("{i} of {n} subscriptions answered: {e}"));
    }
    (child, rx)
}

#[test]
#[ignore = "a benchmark: run by hand for the report"]
fn five_hundred_contacts_and_change_latency() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .presence(true),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registrar = format!("sip:{}", k.sip_addr());
    let alice = config(dir.path(), "alice", &registrar);
    let bob = config(dir.path(), "bob", &registrar);

    let started = Instant::now();
    let many: Vec<String> = (0..500).map(|i| format!("user{i}")).collect();
    let (mut big, _rx) = watch(&lab, dir.path(), &bob, &many);
    let subscribed_in = started.elapsed();
    let pid = homeline_pid(&big);
    let t_busy = cpu_ticks(pid);
    // Let the transactions of the burst end (Timer J/K, 32 s at most), then measure idle.
    std::thread::sleep(Duration::from_secs(35));
    let settle_ticks = cpu_ticks(pid) - t_busy;
    let rss_500 = rss_kib(pid);
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle_ticks = cpu_ticks(pid) - t0;
    let _ = big.kill();
    let _ = big.wait();

    let (mut small, w) = watch(&lab, dir.path(), &bob, &["alice".to_owned()]);
    let small_pid = homeline_pid(&small);
    std::thread::sleep(Duration::from_secs(35));
    let rss_1 = rss_kib(small_pid);
    let t1 = cpu_ticks(small_pid);
    std::thread::sleep(Duration::from_secs(10));
    let idle_ticks_1 = cpu_ticks(small_pid) - t1;
    let mut latencies = Vec::new();
    for i in 0..7 {
        let status = if i % 2 == 0 { "away" } else { "busy" };
        let mut p = homeline(lab.client(), dir.path(), &alice)
            .args(["presence", "set", status, "--duration", "0"])
            .spawn()
            .unwrap();
        let prx = stdout_lines(&mut p);
        let (published, _) = prx.recv_timeout(Duration::from_secs(20)).unwrap();
        let (seen, line) = w.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(line.contains(status), "{line}");
        latencies.push(seen.saturating_duration_since(published));
        p.wait().unwrap();
        let (_, off) = w.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(off.contains("offline"), "{off}");
    }
    let _ = small.kill();
    let _ = small.wait();
    latencies.sort();
    println!(
        "500 contacts: all answered in {subscribed_in:?}; VmRSS {rss_500} KiB vs {rss_1} KiB with one \
         contact (presence state ≈ {} KiB); idle CPU over 10 s: {idle_ticks} ticks vs {idle_ticks_1} with one contact \
         ({settle_ticks} ticks in the 35 s after subscribing; 1 tick = 10 ms)",
        rss_500.saturating_sub(rss_1)
    );
    println!(
        "status change → watcher line, from PUBLISH's 200 reaching the publisher (0 = the \
         NOTIFY came first): median {:?}, all {latencies:?}",
        latencies[latencies.len() / 2]
    );
}
