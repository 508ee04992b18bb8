//! The account driver against a real kamailio behind the lab's NAT router when the network
//! is hostile or moves: the `auto` transport falling back to TCP where UDP is blocked, and a
//! new REGISTER within seconds when the client's address changes. Needs root; prints
//! `skipped: …` and passes otherwise.
#![allow(clippy::unwrap_used)]

mod sip_lab_common;

use std::time::{Duration, Instant};

use homeline_lab::{CLIENT_IP, KamailioConfig, Lab, RouterProfile};
use homeline_phone::RegistrationState;
use sip_lab_common::{
    Account, call_user, open_phone, runtime, saved, settle, wait_for, write_config,
};

/// Registers account `auto` (alice, `transport = "auto"`) on `registrar` from the client;
/// returns the settled status and how long it took.
fn register_auto(
    lab: &Lab,
    network: &str,
    registrar: String,
) -> (homeline_phone::RegistrationStatus, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        network,
        &[Account {
            id: "auto",
            user: "alice",
            password: "pw-alice",
            registrar,
            transport: "auto",
        }],
    );
    let phone = open_phone(dir.path(), config);
    let started = Instant::now();
    let (s, took) = lab
        .client()
        .run(|| {
            runtime().block_on(async {
                phone.start_registrations().unwrap();
                let s = settle(&phone, "auto", Duration::from_secs(60)).await;
                let took = started.elapsed();
                phone.stop_registrations().await;
                (s, took)
            })
        })
        .unwrap();
    eprintln!("registered after {took:?}: {}", s.summary());
    (s, took)
}

/// The issue: "`auto` transport does not fall back to TCP/TLS when UDP is blocked". The
/// router drops all UDP (only TCP to 80 and 443 leaves); kamailio listens on UDP and TCP
/// port 443. With `transport = "auto"` the first REGISTER goes over UDP, gets no answer in
/// 2.5 s (three transmissions), and the driver tries TCP to the same host and port, which
/// registers — and the status says so.
#[test]
fn auto_transport_falls_back_to_tcp_when_udp_is_blocked() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::UdpBlocked).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .ports(&[443]),
        )
        .unwrap();
    let (s, took) = register_auto(&lab, "", format!("sip:{}", k.sip_addr()));
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(
        s.server.as_deref(),
        Some(format!("{} over TCP port 443", k.sip_addr().ip()).as_str())
    );
    assert_eq!(
        s.note.as_deref(),
        Some("UDP got no answer; registered over TCP.")
    );
    // 2.5 s of silence on UDP (not Timer F's 32 s) decides, then TCP at once: the issue's
    // "< 3 s" decision; the bound leaves the TCP connection and the digest exchange a second
    // on a loaded machine (2.9 s in all on an idle one).
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let log = k.log();
    assert_eq!(saved(&log, "alice", "udp"), 0, "{log}");
    assert!(saved(&log, "alice", "tcp") >= 1, "{log}");
}

/// Only web traffic gets out (the router drops UDP and every TCP port but 80 and 443) and the
/// provider listens on the usual 5060 and on TLS 443: with `transport = "auto"` and nothing
/// but `sip:HOST` configured, UDP is given up after 2.5 s, and the fallback's connections race
/// (TCP 5060 and TLS 5061 hang in the filter, TLS 443 gets through), so the account registers
/// over TLS on 443 within a few seconds instead of after two 10 s connect timeouts.
#[test]
fn auto_transport_finds_tls_on_443_where_only_web_traffic_gets_out() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::UdpBlocked).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice").tls(443))
        .unwrap();
    let ca = lab.tls_files().unwrap().ca;
    let (s, took) = register_auto(
        &lab,
        &format!("tls_ca_file = \"{}\"", ca.display()),
        format!("sip:{}", k.sip_addr().ip()),
    );
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(
        s.server.as_deref(),
        Some(format!("{} over TLS port 443", k.sip_addr().ip()).as_str())
    );
    assert_eq!(
        s.note.as_deref(),
        Some("UDP got no answer; registered over TLS.")
    );
    // 2.5 s on UDP, TLS 443's attempt starts 0.5 s into the race: about 3.2 s on an idle
    // machine; the bound is far below one connect timeout (10 s).
    assert!(took < Duration::from_secs(5), "{took:?}");
    let log = k.log();
    assert!(saved(&log, "alice", "tls") >= 1, "{log}");
}

/// Runs `ip args…` in the client's namespace.
fn client_ip(lab: &Lab, args: &[&str]) {
    lab.client().run_output("ip", args).unwrap();
}

/// The client's address goes away and another one comes (DHCP gave a new lease, a cable was
/// replugged): within seconds both accounts (UDP and TCP) register again from the new
/// address, and a call reaches the client there.
#[test]
fn a_new_client_address_registers_again_within_seconds() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob"),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ip = k.sip_addr().ip();
    let config = write_config(
        dir.path(),
        "keepalive_secs = 25",
        &[
            Account {
                id: "udp",
                user: "alice",
                password: "pw-alice",
                registrar: format!("sip:{ip}"),
                transport: "udp",
            },
            Account {
                id: "tcp",
                user: "bob",
                password: "pw-bob",
                registrar: format!("sip:{ip}"),
                transport: "tcp",
            },
        ],
    );
    let phone = open_phone(dir.path(), config);
    let (tx_first, rx_first) = std::sync::mpsc::channel();
    let (tx_moved, rx_moved) = std::sync::mpsc::channel::<Instant>();
    let (tx_called, rx_called) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let mut incoming = phone.subscribe_incoming();
                        phone.start_registrations().unwrap();
                        let udp1 = settle(&phone, "udp", Duration::from_secs(20)).await;
                        let tcp1 = settle(&phone, "tcp", Duration::from_secs(20)).await;
                        tx_first.send((udp1.clone(), tcp1.clone())).unwrap();
                        let moved_at = tokio::task::spawn_blocking(move || rx_moved.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let again = |id: &'static str, before: u32| {
                            let phone = &phone;
                            async move {
                                wait_for(phone, id, Duration::from_secs(15), |s| {
                                    s.state == RegistrationState::Registered
                                        && s.register_requests > before
                                })
                                .await;
                                moved_at.elapsed()
                            }
                        };
                        let udp_after = again("udp", udp1.register_requests).await;
                        let tcp_after = again("tcp", tcp1.register_requests).await;
                        tx_first.send((udp1, tcp1)).unwrap();
                        tokio::task::spawn_blocking(move || rx_called.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let mut seen = Vec::new();
                        while let Ok(r) = incoming.try_recv() {
                            seen.push(r);
                        }
                        phone.stop_registrations().await;
                        (udp_after, tcp_after, seen)
                    })
                })
                .unwrap()
        });
        let (udp1, tcp1) = rx_first.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(udp1.state, RegistrationState::Registered, "{udp1:?}");
        assert_eq!(tcp1.state, RegistrationState::Registered, "{tcp1:?}");
        let saved_before = (
            saved(&k.log(), "alice", "udp"),
            saved(&k.log(), "bob", "tcp"),
        );
        // The old address goes (and with it the default route); a new one comes.
        let old = format!("{CLIENT_IP}/24");
        client_ip(&lab, &["addr", "del", &old, "dev", "eth0"]);
        client_ip(&lab, &["addr", "add", "10.23.0.3/24", "dev", "eth0"]);
        client_ip(&lab, &["route", "add", "default", "via", "10.23.0.1"]);
        tx_moved.send(Instant::now()).unwrap();
        let _ = rx_first.recv_timeout(Duration::from_secs(60)).unwrap();
        // The registrar now reaches alice on her new path.
        let codes = call_user(&lab, "alice", k.sip_addr(), Duration::from_secs(10));
        tx_called.send(()).unwrap();
        let (udp_after, tcp_after, seen) = client.join().unwrap();
        eprintln!("registered again after the move: udp {udp_after:?}, tcp {tcp_after:?}");
        // The route is polled every 2 s; the REGISTER (with its challenge) follows at once.
        assert!(udp_after < Duration::from_secs(5), "udp: {udp_after:?}");
        assert!(tcp_after < Duration::from_secs(5), "tcp: {tcp_after:?}");
        let log = k.log();
        assert!(saved(&log, "alice", "udp") > saved_before.0, "{log}");
        assert!(saved(&log, "bob", "tcp") > saved_before.1, "{log}");
        assert!(
            seen.iter()
                .any(|r| r.method == "INVITE" && r.answered == 486),
            "the client saw {seen:?}; the caller got {codes:?}"
        );
        assert!(codes.contains(&486), "caller got {codes:?}");
    });
}
