//! `homeline diagnose` in every router profile of the network lab, against a plain kamailio
//! registrar (no mirror route) and coturn with two addresses (RFC 5780). Each profile gets its
//! own lab, so the profiles run side by side (root; "skipped: needs root" otherwise).
//!
//! Wall time: the quick profiles ~10 s each (lab start + < 8 s test); short-timeout ~50 s
//! (it measures the 30 s binding lifetime); all in parallel ≈ the slowest.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use homeline_lab::{CoturnConfig, KamailioConfig, Lab, RouterProfile};
use serde_json::Value;

struct Run {
    json: Value,
    exit: Option<i32>,
    took: Duration,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

fn diagnose(profile: RouterProfile, keepalive: u16, tls_port: u16, extra: &[&str]) -> Option<Run> {
    diagnose_with(profile, keepalive, tls_port, extra, |_| String::new())
}

/// [`diagnose`] with more configuration (e.g. `[[network.turn]]` tables), made from the lab.
fn diagnose_with(
    profile: RouterProfile,
    keepalive: u16,
    tls_port: u16,
    extra: &[&str],
    more_config: impl FnOnce(&Lab) -> String,
) -> Option<Run> {
    let lab = Lab::start_or_skip(profile).unwrap()?;
    let tls = lab.tls_files().unwrap();
    let kamailio = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "secret")
                .ports(&[5060, 6060])
                .tls(tls_port),
        )
        .unwrap();
    let coturn = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("homeline.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[network]\nkeepalive_secs = {keepalive}\ntls_ca_file = \"{}\"\n\
             stun_servers = [\"stun:{}\"]\n\
             [[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"sip:{}\"\n\
             transport = \"udp\"\npassword = \"secret\"\n{}",
            tls.ca.display(),
            coturn.addr(),
            kamailio.sip_addr(),
            more_config(&lab),
        ),
    )
    .unwrap();
    let mut cmd = lab.client().command(env!("CARGO_BIN_EXE_homeline"));
    cmd.env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.path().join("logs"))
        .args(["--config", config.to_str().unwrap(), "diagnose", "--json"])
        .args(extra);
    let started = Instant::now();
    let out: Output = cmd.output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not one JSON object ({e}): {stdout}\nstderr: {}",
            profile.name(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    eprintln!(
        "{}: {} in {took:?}\n{}",
        profile.name(),
        json["verdict"],
        serde_json::to_string_pretty(&json).unwrap()
    );
    Some(Run {
        json,
        exit: out.status.code(),
        took,
        config,
        _dir: dir,
    })
}

fn check<'a>(r: &'a Run, id: &str) -> &'a Value {
    r.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn problems(r: &Run) -> Vec<String> {
    r.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "problem")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn quick(r: &Run) {
    let ms = r.json["duration_ms"].as_u64().unwrap();
    assert!(ms < 8000, "the quick verdict took {ms} ms");
}

#[test]
fn cone_calls_will_work() {
    let Some(r) = diagnose(RouterProfile::Cone, 25, 5061, &["--no-background"]) else {
        return;
    };
    assert_eq!(r.json["verdict"], "Calls will work", "{:?}", problems(&r));
    assert!(problems(&r).is_empty());
    assert_eq!(r.exit, Some(0));
    let nat = check(&r, "nat_type");
    assert_eq!(nat["status"], "ok");
    assert_eq!(nat["details"]["mapping"], "endpoint-independent");
    assert_eq!(nat["details"]["method"], "rfc5780");
    assert_eq!(check(&r, "sip_alg")["details"]["detected"], false);
    assert_eq!(check(&r, "sip_ports")["status"], "ok");
    assert_eq!(check(&r, "udp")["status"], "ok");
    assert_eq!(check(&r, "rtp")["status"], "ok");
    assert_eq!(check(&r, "quality")["status"], "ok");
    assert_eq!(check(&r, "route")["status"], "ok");
    quick(&r);
    eprintln!(
        "bench: cone full verdict {} ms (process {:?})",
        r.json["duration_ms"], r.took
    );
}

#[test]
fn symmetric_nat_is_named_with_the_relay_as_the_fix() {
    let Some(r) = diagnose(RouterProfile::Symmetric, 25, 5061, &["--no-background"]) else {
        return;
    };
    assert_eq!(problems(&r), vec!["nat_type".to_string()]);
    let nat = check(&r, "nat_type");
    assert_eq!(nat["details"]["mapping"], "address-and-port-dependent");
    assert!(nat["finding"].as_str().unwrap().contains("symmetric"));
    assert!(nat["fix"].as_str().unwrap().contains("relay"));
    assert!(
        r.json["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Calls will fail: your router is a symmetric NAT"),
        "{}",
        r.json["verdict"]
    );
    assert_eq!(r.exit, Some(1));
    quick(&r);
    eprintln!("bench: symmetric full verdict {} ms", r.json["duration_ms"]);
}

#[test]
fn symmetric_nat_with_a_working_relay_calls_will_work_with_the_relay() {
    let Some(r) = diagnose_with(
        RouterProfile::Symmetric,
        25,
        5061,
        &["--no-background"],
        |lab| {
            format!(
                "[[network.turn]]\nuri = \"turn:{}:3478\"\nusername = \"alice\"\npassword = \"secret\"\n",
                lab.public_ip()
            )
        },
    ) else {
        return;
    };
    let relays = check(&r, "relays");
    assert_eq!(relays["status"], "ok", "{relays}");
    assert!(
        r.json["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Calls will work with the relay"),
        "{}",
        r.json["verdict"]
    );
    // The NAT itself is still named, with the relay as its fix.
    assert_eq!(problems(&r), vec!["nat_type".to_string()]);
    // The relay test ran for real: coturn on the lab's public host, over UDP, chosen.
    assert_eq!(relays["details"]["state"], "tested", "{relays}");
    assert_eq!(
        relays["details"]["chosen"]["server"], "turn:203.0.113.10:3478",
        "{relays}"
    );
    assert_eq!(relays["details"]["chosen"]["transport"], "udp", "{relays}");
    quick(&r);
}

#[test]
fn udp_blocked_is_named_and_tls_443_found() {
    let Some(r) = diagnose(RouterProfile::UdpBlocked, 25, 443, &["--no-background"]) else {
        return;
    };
    let mut p = problems(&r);
    p.sort();
    assert_eq!(
        p,
        vec!["rtp", "sip_ports", "udp"],
        "the fault and the two things it breaks"
    );
    assert!(
        check(&r, "udp")["finding"]
            .as_str()
            .unwrap()
            .contains("blocks UDP")
    );
    let ports = check(&r, "sip_ports");
    assert!(
        ports["fix"].as_str().unwrap().contains("TLS on port 443"),
        "{ports}"
    );
    assert_eq!(ports["safe_fixes"][0]["transport"], "tls");
    assert_eq!(ports["safe_fixes"][0]["port"], 443);
    assert!(
        r.json["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Calls will fail: UDP is blocked")
    );
    assert_eq!(r.exit, Some(1));
    quick(&r);
    eprintln!(
        "bench: udp-blocked full verdict {} ms",
        r.json["duration_ms"]
    );
}

#[test]
fn sip_port_blocked_names_5060_and_the_alternative() {
    let Some(r) = diagnose(
        RouterProfile::SipPortBlocked,
        25,
        5061,
        &["--no-background"],
    ) else {
        return;
    };
    assert_eq!(problems(&r), vec!["sip_ports".to_string()]);
    let ports = check(&r, "sip_ports");
    assert!(
        ports["finding"].as_str().unwrap().contains("UDP port 5060"),
        "{ports}"
    );
    assert_eq!(ports["safe_fixes"][0]["transport"], "tls");
    assert_eq!(ports["safe_fixes"][0]["port"], 5061);
    assert!(r.json["verdict"].as_str().unwrap().contains("5060"));
    quick(&r);
    eprintln!(
        "bench: sip-port-blocked full verdict {} ms",
        r.json["duration_ms"]
    );
}

#[test]
fn sip_alg_is_detected_against_a_plain_registrar() {
    let Some(r) = diagnose(RouterProfile::SipAlg, 25, 5061, &["--no-background"]) else {
        return;
    };
    assert_eq!(problems(&r), vec!["sip_alg".to_string()]);
    let alg = check(&r, "sip_alg");
    assert_eq!(alg["details"]["detected"], true);
    assert!(alg["finding"].as_str().unwrap().contains("SIP ALG"));
    quick(&r);
    eprintln!("bench: sip-alg full verdict {} ms", r.json["duration_ms"]);
}

#[test]
fn short_timeout_is_measured_and_apply_sets_the_keepalive() {
    let Some(r) = diagnose(RouterProfile::ShortTimeout, 60, 5061, &["--apply"]) else {
        return;
    };
    let t = check(&r, "nat_timeout");
    let lifetime = t["details"]["binding_lifetime_s"]
        .as_u64()
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        (24..=32).contains(&lifetime),
        "measured {lifetime} s for a 30 s router"
    );
    let rec = t["details"]["recommended_keepalive_s"].as_u64().unwrap();
    assert!(rec <= 25, "{rec}");
    assert_eq!(problems(&r), vec!["nat_timeout".to_string()]);
    assert_eq!(r.exit, Some(1));
    // --apply wrote it.
    let applied = r.json["fixes_applied"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let text = std::fs::read_to_string(&r.config).unwrap();
    assert!(text.contains(&format!("keepalive_secs = {rec}")), "{text}");
    let measured_ms = t["details"]["measured_in_ms"].as_u64().unwrap();
    assert!(measured_ms < 240_000);
    eprintln!(
        "bench: short-timeout lifetime {lifetime} s measured in {measured_ms} ms; whole run {:?}",
        r.took
    );
}

#[test]
fn bad_answers_become_findings_not_hangs() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    // Kamailio with TLS, but the test does not trust its CA: the certificate fails.
    let _kamailio = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "secret")
                .ports(&[5060])
                .tls(5061),
        )
        .unwrap();
    // A "STUN server" that answers garbage, and a "registrar" port that swallows everything.
    let stun = lab.public().udp_socket(lab.public_addr(3478)).unwrap();
    let silent = lab.public().udp_socket(lab.public_addr(7070)).unwrap();
    stun.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    silent
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((_, from)) = stun.recv_from(&mut buf) {
                let _ = stun.send_to(b"\x01\x01\x00\x04garbage-not-stun", from);
            }
            let _ = silent.recv_from(&mut buf);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("homeline.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[network]\nstun_servers = [\"stun:{}\"]\n\
             [[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"sip:{}\"\n\
             transport = \"udp\"\n",
            lab.public_addr(3478),
            lab.public_addr(7070),
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = lab
        .client()
        .command(env!("CARGO_BIN_EXE_homeline"))
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.path().join("logs"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "diagnose",
            "--json",
            "--no-background",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("{}", serde_json::to_string_pretty(&json).unwrap());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(out.status.code(), Some(1));
    let r = Run {
        json,
        exit: out.status.code(),
        took,
        config,
        _dir: dir,
    };
    // Garbage STUN: named, not a crash, not "UDP blocked" (SIP over UDP works).
    let udp = check(&r, "udp");
    assert_eq!(udp["status"], "warning", "{udp}");
    assert!(
        udp["finding"].as_str().unwrap().contains("not STUN"),
        "{udp}"
    );
    assert_eq!(udp["details"]["stun"][0]["outcome"]["outcome"], "garbage");
    // The silent registrar port: named as getting no answer, 5060 found instead.
    let ports = check(&r, "sip_ports");
    assert_eq!(ports["status"], "problem");
    assert!(
        ports["finding"]
            .as_str()
            .unwrap()
            .contains("UDP port 7070 (no answer came back)"),
        "{ports}"
    );
    // The untrusted certificate: said in words in the details.
    let tls = ports["details"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["transport"] == "tls" && c["port"] == 5061)
        .unwrap();
    assert_eq!(tls["result"]["outcome"], "tls_failed", "{tls}");
    assert!(
        tls["plain"].as_str().unwrap().contains("certificate"),
        "{tls}"
    );
}
