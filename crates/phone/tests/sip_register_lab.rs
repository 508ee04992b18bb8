//! Registration against a real kamailio on the lab's public host, from the client behind the
//! `Cone` NAT router, through the Phone API in-process (a tokio runtime inside the client
//! namespace). Needs root; prints `skipped: …` and passes otherwise.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use homeline_lab::{KamailioConfig, Lab, RouterProfile};
use homeline_phone::{
    MemoryKeyring, Phone, PhoneOptions, RegistrationState, RegistrationStatus, SecretBackendChoice,
};

struct Account<'a> {
    id: &'a str,
    user: &'a str,
    password: &'a str,
    registrar: String,
    transport: &'a str,
}

fn write_config(dir: &Path, network: &str, accounts: &[Account<'_>]) -> std::path::PathBuf {
    let mut text = format!("version = 1\n[network]\n{network}\n");
    for a in accounts {
        text.push_str(&format!(
            "\n[[accounts]]\nid = \"{}\"\ndisplay_name = \"{}\"\n\
             sip_address = \"sip:{}@homeline.test\"\nregistrar = \"{}\"\n\
             transport = \"{}\"\npassword = \"{}\"\n",
            a.id, a.id, a.user, a.registrar, a.transport, a.password
        ));
    }
    let path = dir.join("homeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn open_phone(dir: &Path, config: std::path::PathBuf) -> Phone {
    Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `id` is registered, failed or stopped.
async fn settle(phone: &Phone, id: &str, limit: Duration) -> RegistrationStatus {
    let mut w = phone.registration_watch(id).unwrap();
    let wait = async {
        loop {
            let s = w.borrow_and_update().clone();
            if matches!(
                s.state,
                RegistrationState::Registered
                    | RegistrationState::Failed
                    | RegistrationState::Stopped
            ) {
                return s;
            }
            w.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(s) => s,
        Err(_) => panic!("{id}: no final state in {limit:?}: {:?}", w.borrow()),
    }
}

/// Waits until `pred` holds for `id`'s status.
async fn wait_for(
    phone: &Phone,
    id: &str,
    limit: Duration,
    pred: impl Fn(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    let mut w = phone.registration_watch(id).unwrap();
    let wait = async {
        loop {
            let s = w.borrow_and_update().clone();
            if pred(&s) {
                return s;
            }
            w.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(s) => s,
        Err(_) => panic!("{id}: condition not reached in {limit:?}: {:?}", w.borrow()),
    }
}

/// kamailio logs `REGISTER of <aor> … ($proto): saved` for every binding it stores.
fn saved(log: &str, user: &str, proto: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains(&format!("REGISTER of sip:{user}@homeline.test"))
                && l.contains(&format!("({proto}): saved"))
        })
        .count()
}

#[test]
fn registers_over_udp_tcp_and_tls_through_the_nat() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice").tls(5061))
        .unwrap();
    let ca = lab.tls_files().unwrap().ca;
    let dir = tempfile::tempdir().unwrap();
    let ip = k.sip_addr().ip();
    let accounts = [
        Account {
            id: "udp",
            user: "alice",
            password: "pw-alice",
            registrar: format!("sip:{ip}"),
            transport: "udp",
        },
        Account {
            id: "tcp",
            user: "alice",
            password: "pw-alice",
            registrar: format!("sip:{ip}:5060"),
            transport: "tcp",
        },
        Account {
            id: "tls",
            user: "alice",
            password: "pw-alice",
            registrar: format!("sips:{ip}"),
            transport: "tls",
        },
    ];
    let config = write_config(
        dir.path(),
        &format!("tls_ca_file = \"{}\"", ca.display()),
        &accounts,
    );
    let phone = open_phone(dir.path(), config);
    let (states, after) = lab
        .client()
        .run(|| {
            runtime().block_on(async {
                // Several accounts at once, each with its own driver.
                phone.start_registrations().unwrap();
                let mut states = Vec::new();
                for id in ["udp", "tcp", "tls"] {
                    states.push(settle(&phone, id, Duration::from_secs(20)).await);
                }
                phone.stop_registrations().await;
                (states, phone.registration_states())
            })
        })
        .unwrap();
    for s in &states {
        assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
        assert!(s.reason.is_none());
        // Challenge, answer, and behind the NAT one more with the Contact corrected to the
        // public address the registrar saw (RFC 3581).
        assert!((2..=3).contains(&s.register_requests), "{s:?}");
    }
    assert!(
        states[0]
            .server
            .as_deref()
            .unwrap()
            .contains("over UDP port 5060")
    );
    assert!(
        states[1]
            .server
            .as_deref()
            .unwrap()
            .contains("over TCP port 5060")
    );
    assert!(
        states[2]
            .server
            .as_deref()
            .unwrap()
            .contains("over TLS port 5061")
    );
    // Stopping unregistered (the states are gone from the runtime once stopped).
    assert!(after.is_empty(), "{after:?}");
    let log = k.log();
    for proto in ["udp", "tcp", "tls"] {
        // One REGISTER to bind, one (expires=0) to remove the binding.
        assert!(saved(&log, "alice", proto) >= 2, "{proto}: {log}");
    }
}

#[test]
fn untrusted_certificate_is_reported_with_the_server_name() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice").tls(5061))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ip = k.sip_addr().ip();
    // No tls_ca_file: the lab CA is not trusted, and that must be said, never ignored.
    let config = write_config(
        dir.path(),
        "",
        &[Account {
            id: "tls",
            user: "alice",
            password: "pw-alice",
            registrar: format!("sips:{ip}"),
            transport: "tls",
        }],
    );
    let phone = open_phone(dir.path(), config);
    let s = lab
        .client()
        .run(|| {
            runtime().block_on(async {
                phone.start_registrations().unwrap();
                let s = settle(&phone, "tls", Duration::from_secs(20)).await;
                phone.stop_registrations().await;
                s
            })
        })
        .unwrap();
    assert_eq!(s.state, RegistrationState::Failed, "{s:?}");
    let reason = s.reason.unwrap();
    assert_eq!(reason.code, "tls_certificate", "{reason:?}");
    assert!(
        reason
            .message
            .contains(&format!("certificate of {ip} is not trusted")),
        "{reason:?}"
    );
    assert!(reason.hint.contains("tls_ca_file"), "{reason:?}");
    assert_eq!(saved(&k.log(), "alice", "tls"), 0);
}

/// The CSeq numbers of the REGISTERs kamailio received (its log prefix carries the CSeq
/// of the message being handled at `debug=3`).
fn registers_seen(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|l| {
            let start = l.find('{')?;
            let end = l[start..].find('}')? + start;
            let prefix = &l[start + 1..end];
            let mut parts = prefix.split_whitespace();
            let _mt = parts.next()?;
            let num = parts.next()?;
            let method = parts.next()?;
            let call_id = parts.next().unwrap_or_default();
            (method == "REGISTER").then(|| format!("{num} {call_id}"))
        })
        .collect()
}

#[test]
fn wrong_password_is_reported_after_at_most_two_registers() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let mut config = KamailioConfig::new().user("alice", "pw-alice");
    config.debug = 3;
    let k = lab.start_kamailio(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ip = k.sip_addr().ip();
    let path = write_config(
        dir.path(),
        "",
        &[Account {
            id: "udp",
            user: "alice",
            password: "not-the-password",
            registrar: format!("sip:{ip}"),
            transport: "udp",
        }],
    );
    let phone = open_phone(dir.path(), path);
    let s = lab
        .client()
        .run(|| {
            runtime().block_on(async {
                phone.start_registrations().unwrap();
                let s = settle(&phone, "udp", Duration::from_secs(20)).await;
                // Give a hammering client the chance to show itself.
                tokio::time::sleep(Duration::from_secs(3)).await;
                phone.stop_registrations().await;
                s
            })
        })
        .unwrap();
    assert_eq!(s.state, RegistrationState::Stopped, "{s:?}");
    let reason = s.reason.unwrap();
    assert_eq!(reason.code, "wrong_credentials");
    assert!(
        reason.message.contains("Wrong user name or password"),
        "{reason:?}"
    );
    let seen = registers_seen(&k.log());
    assert!(!seen.is_empty(), "kamailio logged no REGISTER: {}", k.log());
    assert!(seen.len() <= 2, "kamailio saw {seen:?}");
    assert_eq!(saved(&k.log(), "alice", "udp"), 0);
}

#[test]
fn registers_again_after_kamailio_restarts() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    // 60 s bindings: the UDP account notices nothing of the restart and simply refreshes
    // (after 30 s); the TCP account sees its connection close and registers at once.
    let mut k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob")
                .expires(60, 3600),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ip = k.sip_addr().ip();
    let path = write_config(
        dir.path(),
        "registration_expires_secs = 60",
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
    let phone = open_phone(dir.path(), path);
    let (tx_first, rx_first) = std::sync::mpsc::channel();
    let (tx_restarted, rx_restarted) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        phone.start_registrations().unwrap();
                        let udp1 = settle(&phone, "udp", Duration::from_secs(20)).await;
                        let tcp1 = settle(&phone, "tcp", Duration::from_secs(20)).await;
                        tx_first.send((udp1.clone(), tcp1.clone())).unwrap();
                        tokio::task::spawn_blocking(move || rx_restarted.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        // TCP: the connection closed; a new one registers within seconds.
                        let tcp2 = wait_for(&phone, "tcp", Duration::from_secs(30), |s| {
                            s.state == RegistrationState::Registered
                                && s.register_requests > tcp1.register_requests
                        })
                        .await;
                        // UDP: the refresh (at most 30 s after the first binding).
                        let udp2 = wait_for(&phone, "udp", Duration::from_secs(45), |s| {
                            s.state == RegistrationState::Registered
                                && s.register_requests > udp1.register_requests
                        })
                        .await;
                        phone.stop_registrations().await;
                        (udp2, tcp2)
                    })
                })
                .unwrap()
        });
        let (udp1, tcp1) = rx_first.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(udp1.state, RegistrationState::Registered, "{udp1:?}");
        assert_eq!(tcp1.state, RegistrationState::Registered, "{tcp1:?}");
        assert_eq!(udp1.expires_secs, Some(60));
        k.restart().unwrap();
        tx_restarted.send(()).unwrap();
        let (udp2, tcp2) = client.join().unwrap();
        assert_eq!(udp2.state, RegistrationState::Registered, "{udp2:?}");
        assert_eq!(tcp2.state, RegistrationState::Registered, "{tcp2:?}");
    });
    // The restarted kamailio stored both bindings again.
    let log = k.log();
    assert!(saved(&log, "alice", "udp") >= 1, "{log}");
    assert!(saved(&log, "bob", "tcp") >= 1, "{log}");
}

/// Sends an INVITE for alice from the public host through kamailio and returns the status
/// codes of the responses that came back within `wait`.
fn call_alice(lab: &Lab, kamailio: std::net::SocketAddr, wait: Duration) -> Vec<u16> {
    let sock = lab
        .public()
        .udp_socket(std::net::SocketAddr::new(lab.public_ip(), 0))
        .unwrap();
    let local = sock.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:alice@homeline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-slow-{port};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@homeline.test>;tag=c{port}\r\n\
         To: <sip:alice@homeline.test>\r\nCall-ID: slow-{port}@{ip}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{local}>\r\nContent-Length: 0\r\n\r\n",
        port = local.port(),
        ip = local.ip(),
    );
    sock.send_to(invite.as_bytes(), kamailio).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + wait;
    let mut codes = Vec::new();
    let mut buf = vec![0u8; 65_535];
    while std::time::Instant::now() < deadline {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(code) = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|r| r.get(..3))
                .and_then(|c| c.parse().ok())
            {
                codes.push(code);
                if code >= 200 {
                    break;
                }
            }
        }
    }
    codes
}

/// One run of the keep-alive proof: register behind the 30 s NAT, wait `after`, call.
/// Returns (the caller's response codes, the INVITEs the client saw, the status at the end).
fn incoming_call_after(
    keepalive_secs: u16,
    after: Duration,
) -> Option<(
    Vec<u16>,
    Vec<homeline_phone::sip::IncomingRequest>,
    RegistrationStatus,
)> {
    if homeline_lab::skip_unless_root() {
        return None;
    }
    // Two labs run side by side: each needs its own output folder.
    let label = format!("slow-call-keepalive-{keepalive_secs}");
    let lab = match Lab::builder(RouterProfile::ShortTimeout)
        .label(label)
        .build()
    {
        Ok(lab) => lab,
        Err(homeline_lab::LabError::Unsupported(why)) => {
            eprintln!("skipped: {why}");
            return None;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(lab.router_udp_timeouts().unwrap(), (30, 30));
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw-alice"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &format!("keepalive_secs = {keepalive_secs}"),
        &[Account {
            id: "udp",
            user: "alice",
            password: "pw-alice",
            registrar: format!("sip:{}", k.sip_addr().ip()),
            transport: "udp",
        }],
    );
    let phone = open_phone(dir.path(), path);
    let (tx_registered, rx_registered) = std::sync::mpsc::channel();
    let (tx_done, rx_done) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let mut incoming = phone.subscribe_incoming();
                        phone.start_registrations().unwrap();
                        let s = settle(&phone, "udp", Duration::from_secs(20)).await;
                        tx_registered.send(s).unwrap();
                        tokio::task::spawn_blocking(move || rx_done.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let mut seen = Vec::new();
                        while let Ok(r) = incoming.try_recv() {
                            seen.push(r);
                        }
                        let end = phone.registration_watch("udp").unwrap().borrow().clone();
                        phone.stop_registrations().await;
                        (seen, end)
                    })
                })
                .unwrap()
        });
        let first = rx_registered.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(first.state, RegistrationState::Registered, "{first:?}");
        std::thread::sleep(after);
        let codes = call_alice(&lab, k.sip_addr(), Duration::from_secs(10));
        tx_done.send(()).unwrap();
        let (seen, end) = client.join().unwrap();
        (codes, seen, end)
    });
    Some(result)
}

/// The proof that keep-alive works (slow: 5 minutes, both runs side by side).
/// `HOMELINE_SLOW_CALL_AFTER_SECS` shortens the wait while developing (it must stay above
/// the router's 30 s for the test to mean anything).
#[test]
fn slow_incoming_call_at_minute_5_behind_30s_nat_needs_keepalive() {
    let minute_5 = Duration::from_secs(
        std::env::var("HOMELINE_SLOW_CALL_AFTER_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );
    let (with, without) = std::thread::scope(|scope| {
        let with = scope.spawn(|| incoming_call_after(25, minute_5));
        let without = scope.spawn(|| incoming_call_after(0, minute_5));
        (with.join().unwrap(), without.join().unwrap())
    });
    let (Some(with), Some(without)) = (with, without) else {
        return;
    };
    // Keep-alive every 20-25 s: the NAT binding lives, the INVITE reaches the client, which
    // answers (486 Busy Here until calls exist), and kamailio relays that to the caller.
    let (codes, seen, end) = with;
    assert_eq!(end.state, RegistrationState::Registered, "{end:?}");
    assert!(
        seen.iter()
            .any(|r| r.method == "INVITE" && r.answered == 486),
        "the client saw {seen:?}; caller got {codes:?}"
    );
    assert!(codes.contains(&486), "caller got {codes:?}");
    // No keep-alive: the router forgot the binding after 30 s; the INVITE never arrives.
    let (codes, seen, end) = without;
    assert_eq!(end.state, RegistrationState::Registered, "{end:?}");
    assert!(
        !seen.iter().any(|r| r.method == "INVITE"),
        "without keep-alive the INVITE still arrived: {seen:?}"
    );
    assert!(!codes.contains(&486), "caller got {codes:?}");
}
