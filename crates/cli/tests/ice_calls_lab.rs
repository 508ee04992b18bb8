//! Calls whose audio goes through a TURN relay because the network needs it, in the lab
//! (root; skipped otherwise): Homeline behind a *symmetric* NAT (nft `fully-random`) calls a
//! non-ICE peer on the public host (`homeline answer --listen` with no NAT settings: it puts
//! its own address in its SDP and latches onto where RTP comes from). coturn on the public
//! host is both the relay and, on its two addresses, the two STUN servers that reveal the
//! symmetric NAT. Each call is judged on the audio in both directions and on the caller's
//! JSON (`media_route`, `relay`, `setup_ms`, `media_ms`).
//!
//! baresip 1.0.0 (no `ice` module) is the other non-ICE peer: it sends RTP to the SDP's
//! address and does not latch, so from behind a symmetric NAT only the relay's address in
//! the SDP lets its audio reach Homeline (the control test shows the one-way call without).
//! It calls too: Homeline registered at kamailio from behind the symmetric NAT answers with
//! the relay's address.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use homeline_lab::signal::{Audio, compare, compare_utterances};
use homeline_lab::{BaresipConfig, Coturn, CoturnConfig, Host, KamailioConfig, Lab, RouterProfile};

const CALL_SECS: u64 = 5;
const TALK: Duration = Duration::from_secs(4);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One call at a time: two calls on a 2-core machine starve each other's audio loops.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn homeline(lab: &Lab, host: &Host, name: &str, dir: &Path) -> Command {
    let mut cmd = host.command(env!("CARGO_BIN_EXE_homeline"));
    cmd.env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG", "homeline_phone=debug,info")
        .env(
            "HOMELINE_LOG_DIR",
            lab.out_dir().join(format!("logs-{name}")),
        )
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

fn wait_bound(host: &Host, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !host.udp_bound().unwrap().contains(&addr) {
        assert!(Instant::now() < deadline, "{addr} never bound");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// That `got` carries `sent` (Opus bounds of `media_lab.rs`, less PESQ): audio arrived
/// throughout, each utterance the one sent.
fn assert_heard(what: &str, sent: &Audio, got: &Audio) {
    let w = compare(sent, got);
    let u = compare_utterances(sent, got, 120.0);
    eprintln!(
        "{what}: received {:.2} s\n  whole: {w}\n  utterances: {u}",
        got.duration().as_secs_f64()
    );
    assert!(w.delay_ms.is_some(), "{what}: nothing received");
    assert!(w.fraction_silent <= 0.05, "{what}: dropouts: {w}");
    assert!(w.coverage >= 0.8, "{what}: too little received: {w}");
    assert!(w.rms_ratio_db.abs() <= 3.0, "{what}: level changed: {w}");
    assert!(u.count >= 5, "{what}: too few utterances: {u}");
    assert!(
        u.mean_correlation >= 0.8 && u.min_correlation >= 0.6,
        "{what}: utterances do not match: {u}"
    );
}

fn ipv4(ip: std::net::IpAddr) -> std::net::Ipv4Addr {
    match ip {
        std::net::IpAddr::V4(v4) => v4,
        std::net::IpAddr::V6(_) => panic!("the lab is IPv4"),
    }
}

fn head(a: &Audio, len: Duration) -> Audio {
    let n = ((len.as_secs_f64() * f64::from(a.rate)) as usize).min(a.samples.len());
    Audio {
        rate: a.rate,
        samples: a.samples[..n].to_vec(),
    }
}

/// Homeline behind the NAT calls `homeline answer --listen` on the public host with
/// `network` as its `[network]` section; both talk; returns the caller's JSON and the
/// answerer's log.
fn relayed_call(lab: &Lab, network: &str) -> (serde_json::Value, String) {
    let t0 = Instant::now();
    let answerer_dir = tempfile::tempdir().unwrap();
    let caller_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        caller_dir.path().join("homeline.toml"),
        format!("version = 1\n{network}"),
    )
    .unwrap();
    let theirs = Audio::test_signal(48000, Duration::from_secs(CALL_SECS + 2), 42);
    let theirs_file = lab.out_dir().join("answerer-says.wav");
    theirs.write_wav(&theirs_file).unwrap();
    let heard_by_answerer = lab.out_dir().join("answerer-heard.wav");
    // The primary address (see `lab_and_coturn`).
    let listen = lab.public_addr(5090);
    let answer = homeline(lab, lab.public(), "answerer", answerer_dir.path())
        .args(["answer", "--listen", &listen.to_string(), "--count", "1"])
        .args(["--json", "--play"])
        .arg(&theirs_file)
        .arg("--record")
        .arg(&heard_by_answerer)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bound(lab.public(), listen);
    let says = Audio::test_signal(48000, TALK, 41);
    let says_file = lab.out_dir().join("caller-says.wav");
    says.write_wav(&says_file).unwrap();
    let heard_by_caller = lab.out_dir().join("caller-heard.wav");
    let caller = homeline(lab, lab.client(), "caller", caller_dir.path())
        .args(["call", &format!("sip:answer@{listen}")])
        .args(["--duration", &CALL_SECS.to_string(), "--json", "--play"])
        .arg(&says_file)
        .arg("--record")
        .arg(&heard_by_caller)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(caller, Duration::from_secs(CALL_SECS + 20));
    std::fs::write(lab.out_dir().join("homeline-caller.log"), &out.stderr).unwrap();
    let j = json(&out);
    eprintln!("caller: {j}");
    assert!(
        out.status.success(),
        "call failed: {j}\n{}",
        text(&out.stderr)
    );
    let aout = wait_output(answer, Duration::from_secs(15));
    std::fs::write(lab.out_dir().join("homeline-answerer.log"), &aout.stderr).unwrap();
    eprintln!("answerer: {}", json(&aout));
    assert!(aout.status.success(), "answer: {}", text(&aout.stderr));
    let heard = Audio::read_wav(&heard_by_caller).unwrap();
    let got = Audio::read_wav(&heard_by_answerer).unwrap();
    assert_heard("caller (behind the NAT) → answerer", &says, &got);
    assert_heard(
        "answerer → caller (behind the NAT)",
        &head(&theirs, heard.duration()),
        &heard,
    );
    eprintln!("whole test: {:?}", t0.elapsed());
    (j, text(&aout.stderr))
}

/// The lab behind a symmetric NAT, and coturn on the public host.
///
/// The peers run on the public host's *first* address: a packet from the public host to a
/// relayed address (also its own) leaves with the interface's primary address as its source
/// (`ip route get 203.0.113.11` there: `local … src 203.0.113.10`) whatever the SDP said, and
/// coturn drops it unless that IP has a permission. A peer on the second address would be
/// unheard for a reason of the lab's one-namespace public side, not of the product.
fn lab_and_coturn() -> Option<(Lab, Coturn)> {
    lab_and_coturn_with(RouterProfile::Symmetric, CoturnConfig::new())
}

fn lab_and_coturn_with(profile: RouterProfile, cfg: CoturnConfig) -> Option<(Lab, Coturn)> {
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["turnserver"]) {
        return None;
    }
    let lab = Lab::start_or_skip(profile).unwrap()?;
    let c = lab.start_coturn(cfg.user("alice", "secret")).unwrap();
    Some((lab, c))
}

/// The answerer latched onto the relay (coturn's addresses), not onto the NAT's.
fn assert_latched_to_relay(lab: &Lab, log: &str) {
    let relay_ips = [lab.public_ip(), lab.public_ip2()];
    let latched: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("media latched"))
        .collect();
    assert!(
        latched
            .iter()
            .any(|l| relay_ips.iter().any(|ip| l.contains(&format!("to={ip}:")))),
        "the answerer did not latch onto the relay: {latched:?}"
    );
    assert!(
        !latched
            .iter()
            .any(|l| l.contains(&format!("to={}:", lab.router_public_ip()))),
        "the answerer latched onto the NAT: {latched:?}"
    );
}

/// Two STUN servers (coturn's two addresses) see two different ports: the caller puts the
/// relay's address in its SDP and both hear each other through it.
#[test]
fn behind_a_symmetric_nat_the_call_goes_through_the_udp_relay_both_ways() {
    let _one = serial();
    let Some((lab, c)) = lab_and_coturn() else {
        return;
    };
    let ip = lab.public_ip();
    let network = format!(
        "[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n\
         [[network.turn]]\nuri = \"turn:{ip}:3478\"\nusername = \"alice\"\npassword = \"secret\"\n",
        c.addr(),
        c.addr2()
    );
    let (j, log) = relayed_call(&lab, &network);
    assert_eq!(j["media_route"], "relay-udp", "{j}");
    assert_eq!(j["relay"], format!("turn:{ip}:3478"), "{j}");
    assert_eq!(j["ice"], false, "{j}");
    assert!(j["setup_ms"].as_u64().is_some(), "{j}");
    let media_ms = j["media_ms"].as_u64().unwrap();
    assert!(media_ms < 3000, "first audio after {media_ms} ms: {j}");
    assert_latched_to_relay(&lab, &log);
}

/// `force_relay = true` with a relay reached over TCP: the media goes through the TCP
/// allocation even though STUN alone would not ask for it.
#[test]
fn force_relay_over_tcp_carries_the_call_both_ways() {
    let _one = serial();
    let Some((lab, _c)) = lab_and_coturn() else {
        return;
    };
    let ip = lab.public_ip();
    let network = format!(
        "[network]\nforce_relay = true\n\
         [[network.turn]]\nuri = \"turn:{ip}:3478?transport=tcp\"\nusername = \"alice\"\npassword = \"secret\"\n"
    );
    let (j, log) = relayed_call(&lab, &network);
    assert_eq!(j["media_route"], "relay-tcp", "{j}");
    assert_eq!(j["relay"], format!("turn:{ip}:3478?transport=tcp"), "{j}");
    assert!(j["media_ms"].as_u64().is_some(), "{j}");
    assert_latched_to_relay(&lab, &log);
}

/// `force_relay = true` with a relay reached over TLS on 443 (certificate from the lab's
/// test CA, verified): `relay-tls`.
#[test]
fn force_relay_over_tls_443_carries_the_call_both_ways() {
    let _one = serial();
    let Some((lab, c)) =
        lab_and_coturn_with(RouterProfile::Symmetric, CoturnConfig::new().tls(443))
    else {
        return;
    };
    let ip = lab.public_ip();
    let ca = c.tls_files().unwrap().ca.display().to_string();
    let network = format!(
        "[network]\nforce_relay = true\ntls_ca_file = \"{ca}\"\n\
         [[network.turn]]\nuri = \"turns:{ip}:443?transport=tcp\"\nusername = \"alice\"\npassword = \"secret\"\n"
    );
    let (j, log) = relayed_call(&lab, &network);
    assert_eq!(j["media_route"], "relay-tls", "{j}");
    assert_eq!(j["relay"], format!("turns:{ip}:443?transport=tcp"), "{j}");
    assert!(j["media_ms"].as_u64().is_some(), "{j}");
    assert_latched_to_relay(&lab, &log);
}

/// Homeline behind the symmetric NAT calls baresip (PCMU, no ICE, no latching) with or
/// without the relay; returns Homeline's JSON, what Homeline heard of baresip and what
/// baresip heard of Homeline (with what each sent).
fn call_baresip(lab: &Lab, network: &str) -> (serde_json::Value, [(Audio, Audio); 2]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("homeline.toml"),
        format!("version = 1\n{network}"),
    )
    .unwrap();
    let says = Audio::test_signal(8000, TALK, 11);
    let theirs = Audio::test_signal(8000, Duration::from_secs(CALL_SECS + 6), 12);
    let says_file = lab.out_dir().join("homeline-says.wav");
    let theirs_file = lab.out_dir().join("baresip-says.wav");
    says.write_wav(&says_file).unwrap();
    theirs.write_wav(&theirs_file).unwrap();
    let heard_file = lab.out_dir().join("homeline-heard.wav");
    let far = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .ip(ipv4(lab.public_ip()))
                .codecs(&["PCMU/8000/1"])
                .play(&theirs_file),
        )
        .unwrap();
    let caller = homeline(lab, lab.client(), "caller", dir.path())
        .args(["call", &far.uri(), "--duration", &CALL_SECS.to_string()])
        .args(["--json", "--play"])
        .arg(&says_file)
        .arg("--record")
        .arg(&heard_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(caller, Duration::from_secs(CALL_SECS + 20));
    std::fs::write(lab.out_dir().join("homeline-caller.log"), &out.stderr).unwrap();
    let j = json(&out);
    eprintln!("homeline: {j}");
    assert!(
        out.status.success(),
        "call failed: {j}\n{}\nbaresip: {}",
        text(&out.stderr),
        far.log()
    );
    assert_eq!(j["codec"], "PCMU/8000", "{j}");
    far.wait_closed(Duration::from_secs(5)).unwrap();
    let rec = Audio::read_wav(&far.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    let heard = Audio::read_wav(&heard_file).unwrap();
    let to_us = (head(&theirs, heard.duration()), heard);
    (j, [(says, rec), to_us])
}

/// baresip does not latch: it sends to the relay's address from the SDP, and the relay
/// brings its audio through the symmetric NAT.
#[test]
fn behind_a_symmetric_nat_homeline_and_baresip_hear_each_other_through_the_relay() {
    let _one = serial();
    if homeline_lab::skip_unless_installed(&["baresip"]) {
        return;
    }
    let Some((lab, c)) = lab_and_coturn() else {
        return;
    };
    let ip = lab.public_ip();
    let network = format!(
        "[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n\
         [[network.turn]]\nuri = \"turn:{ip}:3478\"\nusername = \"alice\"\npassword = \"secret\"\n",
        c.addr(),
        c.addr2()
    );
    let (j, [(says, rec), (theirs, heard)]) = call_baresip(&lab, &network);
    assert_eq!(j["media_route"], "relay-udp", "{j}");
    assert_eq!(j["relay"], format!("turn:{ip}:3478"), "{j}");
    assert_heard("Homeline (symmetric NAT) → relay → baresip", &says, &rec);
    assert_heard(
        "baresip → relay → Homeline (symmetric NAT)",
        &theirs,
        &heard,
    );
}

/// The control: the same call without relays goes `direct`, and baresip's audio, sent to
/// the private address in Homeline's SDP, never arrives (one-way audio: the relay above is
/// what fixed it, not something else in the lab).
#[test]
fn without_a_relay_baresip_is_not_heard_behind_a_symmetric_nat() {
    let _one = serial();
    if homeline_lab::skip_unless_installed(&["baresip"]) {
        return;
    }
    let Some((lab, c)) = lab_and_coturn() else {
        return;
    };
    let network = format!(
        "[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n",
        c.addr(),
        c.addr2()
    );
    let (j, [(says, rec), _]) = call_baresip(&lab, &network);
    assert_eq!(j["media_route"], "direct", "{j}");
    assert!(j["relay"].is_null(), "{j}");
    assert_eq!(j["packets_received"], 0, "{j}");
    assert!(j["media_ms"].is_null(), "{j}");
    // Homeline → baresip still works (baresip's address is public).
    assert_heard("Homeline (symmetric NAT) → baresip", &says, &rec);
}

/// baresip calls Homeline, registered at kamailio from behind the symmetric NAT: Homeline
/// gathers when it answers, answers with the relay's address and permits baresip's, and both
/// hear each other.
#[test]
fn baresip_calls_homeline_behind_a_symmetric_nat_and_the_answer_goes_through_the_relay() {
    let _one = serial();
    if homeline_lab::skip_unless_installed(&["baresip", "kamailio"]) {
        return;
    }
    let Some((lab, c)) = lab_and_coturn() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice"))
        .unwrap();
    let ip = lab.public_ip();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("homeline.toml"),
        format!(
            "version = 1\n[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n\
             [[network.turn]]\nuri = \"turn:{ip}:3478\"\nusername = \"alice\"\npassword = \"secret\"\n\
             [[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"sip:{}\"\n\
             transport = \"udp\"\npassword = \"pw-alice\"\n",
            c.addr(),
            c.addr2(),
            k.sip_addr().ip()
        ),
    )
    .unwrap();
    let says = Audio::test_signal(8000, TALK, 21);
    let theirs = Audio::test_signal(8000, Duration::from_secs(CALL_SECS), 22);
    let says_file = lab.out_dir().join("homeline-says.wav");
    let theirs_file = lab.out_dir().join("baresip-says.wav");
    says.write_wav(&says_file).unwrap();
    theirs.write_wav(&theirs_file).unwrap();
    let heard_file = lab.out_dir().join("homeline-heard.wav");
    let answer = homeline(&lab, lab.client(), "answerer", dir.path())
        .args(["answer", "--account", "Alice", "--count", "1", "--json"])
        .arg("--play")
        .arg(&says_file)
        .arg("--record")
        .arg(&heard_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Registered when kamailio says it saved the binding.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !k.log().contains("REGISTER of sip:alice@homeline.test from")
        || !k.log().contains("saved")
    {
        assert!(Instant::now() < deadline, "no registration: {}", k.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let far = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .ip(ipv4(ip))
                .port(5070)
                .codecs(&["PCMU/8000/1"])
                .play(&theirs_file),
        )
        .unwrap();
    far.dial(&format!("sip:alice@{}", k.sip_addr())).unwrap();
    let out = wait_output(answer, Duration::from_secs(CALL_SECS + 25));
    std::fs::write(lab.out_dir().join("homeline-answerer.log"), &out.stderr).unwrap();
    let j = json(&out);
    eprintln!("homeline: {j}");
    assert!(
        out.status.success(),
        "answer failed: {j}\n{}\nbaresip: {}",
        text(&out.stderr),
        far.log()
    );
    assert_eq!(j["end_reason"], "remote_hung_up", "{j}");
    assert_eq!(j["media_route"], "relay-udp", "{j}");
    assert_eq!(j["relay"], format!("turn:{ip}:3478"), "{j}");
    assert!(j["media_ms"].as_u64().is_some(), "{j}");
    far.wait_closed(Duration::from_secs(5)).unwrap();
    let rec = Audio::read_wav(&far.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    let heard = Audio::read_wav(&heard_file).unwrap();
    assert_heard(
        "Homeline (symmetric NAT, answering) → relay → baresip",
        &says,
        &rec,
    );
    assert_heard(
        "baresip → relay → Homeline (symmetric NAT, answering)",
        &head(&theirs, heard.duration()),
        &heard,
    );
}

/// Behind a cone NAT the same settings leave the relay unused: both STUN servers see one
/// public address, so the call goes as it always did (`direct`, the answerer latching onto
/// the NAT's address), and the offer did not wait for the relay.
#[test]
fn behind_a_cone_nat_the_relay_is_left_unused() {
    let _one = serial();
    let Some((lab, c)) = lab_and_coturn_with(RouterProfile::Cone, CoturnConfig::new()) else {
        return;
    };
    let ip = lab.public_ip();
    let network = format!(
        "[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n\
         [[network.turn]]\nuri = \"turn:{ip}:3478\"\nusername = \"alice\"\npassword = \"secret\"\n",
        c.addr(),
        c.addr2()
    );
    let (j, log) = relayed_call(&lab, &network);
    assert_eq!(j["media_route"], "direct", "{j}");
    assert!(j["relay"].is_null(), "{j}");
    assert!(
        log.contains(&format!("media latched to={}:", lab.router_public_ip())),
        "the answerer did not latch onto the NAT: {log}"
    );
}

/// The TCP fallback tunnel: behind a router that lets only TCP to ports 80 and 443 out,
/// Homeline registers at kamailio over TCP 443 and baresip calls it. No STUN answer comes
/// back (UDP is blocked) but the relay answers over TCP (coturn on port 80), so the answer
/// carries the relay's address without any `force_relay`: `relay-tcp`, both ways heard.
#[test]
fn with_udp_blocked_a_call_to_homeline_goes_through_the_relay_over_tcp() {
    let _one = serial();
    if homeline_lab::skip_unless_installed(&["baresip", "kamailio"]) {
        return;
    }
    let coturn = CoturnConfig {
        port: 80,
        ..CoturnConfig::new()
    };
    let Some((lab, c)) = lab_and_coturn_with(RouterProfile::UdpBlocked, coturn) else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .ports(&[5060, 443]),
        )
        .unwrap();
    let ip = lab.public_ip();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("homeline.toml"),
        format!(
            "version = 1\n[network]\nstun_servers = [\"stun:{}\", \"stun:{}\"]\n\
             [[network.turn]]\nuri = \"turn:{ip}:80?transport=tcp\"\nusername = \"alice\"\npassword = \"secret\"\n\
             [[accounts]]\nid = \"acc-000001\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@homeline.test\"\nregistrar = \"sip:{ip}:443\"\n\
             transport = \"tcp\"\npassword = \"pw-alice\"\n",
            c.addr(),
            c.addr2(),
        ),
    )
    .unwrap();
    let says = Audio::test_signal(8000, TALK, 31);
    let theirs = Audio::test_signal(8000, Duration::from_secs(CALL_SECS), 32);
    let says_file = lab.out_dir().join("homeline-says.wav");
    let theirs_file = lab.out_dir().join("baresip-says.wav");
    says.write_wav(&says_file).unwrap();
    theirs.write_wav(&theirs_file).unwrap();
    let heard_file = lab.out_dir().join("homeline-heard.wav");
    let answer = homeline(&lab, lab.client(), "answerer", dir.path())
        .args(["answer", "--account", "Alice", "--count", "1", "--json"])
        .arg("--play")
        .arg(&says_file)
        .arg("--record")
        .arg(&heard_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !k.log().contains("(tcp): saved") {
        assert!(Instant::now() < deadline, "no registration: {}", k.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let far = lab
        .start_baresip(
            BaresipConfig::new("bob")
                .ip(ipv4(ip))
                .port(5070)
                .codecs(&["PCMU/8000/1"])
                .play(&theirs_file),
        )
        .unwrap();
    far.dial(&format!("sip:alice@{}", k.sip_addr())).unwrap();
    let out = wait_output(answer, Duration::from_secs(CALL_SECS + 25));
    std::fs::write(lab.out_dir().join("homeline-answerer.log"), &out.stderr).unwrap();
    let j = json(&out);
    eprintln!("homeline: {j}");
    assert!(
        out.status.success(),
        "answer failed: {j}\n{}\nbaresip: {}",
        text(&out.stderr),
        far.log()
    );
    assert_eq!(j["media_route"], "relay-tcp", "{j}");
    assert_eq!(j["relay"], format!("turn:{ip}:80?transport=tcp"), "{j}");
    far.wait_closed(Duration::from_secs(5)).unwrap();
    let rec = Audio::read_wav(&far.wait_recording(Duration::from_secs(5)).unwrap()).unwrap();
    let heard = Audio::read_wav(&heard_file).unwrap();
    assert_heard("Homeline (UDP blocked) → TCP relay → baresip", &says, &rec);
    assert_heard(
        "baresip → TCP relay → Homeline (UDP blocked)",
        &head(&theirs, heard.duration()),
        &heard,
    );
}
