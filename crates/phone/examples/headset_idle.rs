//! Idle cost of headset integration: the CPU time this process uses while (1) a driver waits
//! on a silent in-memory headset and (2) the watcher looks for a real headset on this machine
//! (none attached: it rescans every 2 s). Run:
//! `cargo run --release -p homeline-phone --example headset_idle -- 20`
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use homeline_headset::{MemoryDevice, descriptor};
use homeline_phone::calls::CallsConfig;
use homeline_phone::{Phone, PhoneOptions, SecretBackendChoice};

/// utime + stime of this process, from /proc/self/stat (clock ticks of 10 ms).
fn cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after.split(' ').filter_map(|x| x.parse().ok()).collect();
    // Fields 14 and 15 of stat are utime and stime; `after` starts at field 3.
    Duration::from_millis((f[11] + f[12]) * 10)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let phone = Phone::open(PhoneOptions {
        config_path: Some(dir.path().join("homeline.toml")),
        log_dir: Some(dir.path().join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.path().join("history.jsonl")),
    })
    .unwrap();
    phone.start_calls(CallsConfig::default()).unwrap();
    let text = include_str!("../../headset/tests/data/jabra-evolve-link-ms.hex");
    let layout = descriptor::parse(&descriptor::decode_hex_text(text).unwrap()).unwrap();

    let (_dev, transport, _out) = MemoryDevice::new();
    let driver = phone.attach_headset("Jabra", transport, layout).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (c0, t0) = (cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (c1, t1) = (cpu(), Instant::now());
    let idle = (c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64() * 100.0;
    println!(
        "driver on a silent headset: {:?} CPU in {:?} = {idle:.3} %",
        c1 - c0,
        t1 - t0
    );
    drop(driver);

    // The watcher with no headset attached (rescans every 2 s).
    let dir2 = tempfile::tempdir().unwrap();
    let phone2 = Phone::open(PhoneOptions {
        config_path: Some(dir2.path().join("homeline.toml")),
        log_dir: Some(dir2.path().join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir2.path().join("history.jsonl")),
    })
    .unwrap();
    phone2.start_calls(CallsConfig::default()).unwrap();
    phone2.start_headset().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (c0, t0) = (cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (c1, t1) = (cpu(), Instant::now());
    let idle = (c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64() * 100.0;
    println!(
        "watcher, no headset ({}): {:?} CPU in {:?} = {idle:.3} %",
        phone2.headset_status().state,
        c1 - c0,
        t1 - t0
    );
}
