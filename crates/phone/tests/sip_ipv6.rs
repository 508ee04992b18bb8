//! IPv6: the account driver registers over IPv6 on every transport.
//!
//! The registrars are named (`v6.test`, `homeline.test` → `::1`) and written as IPv6
//! references (`sip:[::1]:port`, RFC 3261 §25.1): upstream rsip 0.4 could not read the latter
//! (it split host and port at the first colon); the workspace uses a patched copy
//! (`vendor/rsip`), and [`ipv6_literal_registrar_registers`] proves it.
//!
//! - Without root: our own registrar on `[::1]` answers REGISTER over UDP, TCP and WebSocket.
//! - With root: a real kamailio listening only on `[::1]` (inside a lab namespace, so its
//!   ports are its own) registers the driver over UDP, TCP, TLS, WS and WSS, TLS and WSS
//!   through a name (`homeline.test` → `::1`) that the lab's certificate carries.
#![allow(clippy::unwrap_used)]

mod sip_common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use homeline_lab::{KamailioConfig, Lab, RouterProfile};
use homeline_phone::sip::resolve::{DnsFailure, Naptr, Srv};
use homeline_phone::sip::{Dns, RegistrationState};
use homeline_sip::auth::Credentials;
use homeline_sip::transaction::TransportKind;
use sip_common::{Behaviour, account, header, registered, registrar, runtime, wait_status};

const V6_LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

#[tokio::test]
async fn registers_over_ipv6_loopback_on_udp_tcp_and_websocket() {
    // Through a name: see the module docs about `[::1]`.
    for (transport, websocket, token) in [
        (TransportKind::Udp, false, "UDP"),
        (TransportKind::Tcp, false, "TCP"),
        (TransportKind::Ws, true, "WS"),
    ] {
        let b = Behaviour {
            websocket,
            ..Behaviour::default()
        };
        let mut reg = registrar(V6_LOOPBACK, b).await;
        let rt = runtime();
        rt.set_dns(Arc::new(LabNameOnV6));
        rt.start(account(
            "v6",
            &format!("sip:v6.test:{}", reg.addr.port()),
            Some(transport),
            Some(Duration::from_secs(25)),
        ))
        .unwrap();
        let s = registered(&rt, "v6", Duration::from_secs(5)).await;
        assert_eq!(
            s.server.as_deref(),
            Some(format!("v6.test (::1) over {token} port {}", reg.addr.port()).as_str())
        );
        let r = reg.next(Duration::from_secs(1), |s| s.is_register()).await;
        assert!(r.from.is_ipv6());
        assert_eq!(
            r.text.lines().next(),
            Some(format!("REGISTER sip:v6.test:{} SIP/2.0", reg.addr.port()).as_str())
        );
        let via = header(&r.text, "Via").unwrap();
        assert!(
            via.starts_with(&format!("SIP/2.0/{token} [::1]:{}", r.from.port())),
            "{via}"
        );
        let contact = header(&r.text, "Contact").unwrap();
        assert!(
            contact.starts_with(&format!("<sip:alice@[::1]:{}", r.from.port())),
            "{contact}"
        );
        rt.stop_all(Duration::from_secs(5)).await;
        let bye = reg.next(Duration::from_secs(1), |s| s.is_register()).await;
        assert_eq!(header(&bye.text, "Expires"), Some("0"), "{token}");
    }
}

/// A registrar written as an IPv6 reference registers, and the REGISTER says `[::1]`.
#[tokio::test]
async fn ipv6_literal_registrar_registers() {
    let mut reg = registrar(V6_LOOPBACK, Behaviour::default()).await;
    let rt = runtime();
    rt.start(account(
        "v6",
        &format!("sip:[::1]:{}", reg.addr.port()),
        Some(TransportKind::Udp),
        None,
    ))
    .unwrap();
    let s = registered(&rt, "v6", Duration::from_secs(5)).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    let r = reg.next(Duration::from_secs(1), |s| s.is_register()).await;
    assert_eq!(
        r.text.lines().next(),
        Some(format!("REGISTER sip:[::1]:{} SIP/2.0", reg.addr.port()).as_str())
    );
    rt.stop_all(Duration::from_secs(1)).await;
}

/// `homeline.test` (the name in the lab's certificate) and `v6.test` are `::1`; no NAPTR or
/// SRV.
#[derive(Debug)]
struct LabNameOnV6;

impl Dns for LabNameOnV6 {
    fn naptr<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<Naptr>, DnsFailure>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn srv<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<Srv>, DnsFailure>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn ips<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Result<Vec<IpAddr>, DnsFailure>> {
        let found = host == "homeline.test" || host == "v6.test";
        Box::pin(async move {
            if found {
                Ok(vec![V6_LOOPBACK])
            } else {
                Err(DnsFailure::NoSuchName)
            }
        })
    }
}

/// kamailio's lab configuration, moved to listen on `[::1]` only.
fn start_kamailio_v6(lab: &Lab, config: &KamailioConfig) -> homeline_lab::LabProcess {
    let dir = lab.out_dir().join("kamailio6");
    std::fs::create_dir_all(&dir).unwrap();
    let tls = lab.tls_files().unwrap();
    let tls_cfg = dir.join("tls.cfg");
    std::fs::write(
        &tls_cfg,
        format!(
            "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
             require_certificate = no\nprivate_key = {}\ncertificate = {}\n",
            tls.key.display(),
            tls.cert.display()
        ),
    )
    .unwrap();
    let v4 = homeline_lab::PUBLIC_IP;
    let text = config
        .render(v4, Some(&tls_cfg))
        .replace(&format!(":{v4}:"), ":[::1]:");
    assert!(!text.contains(&v4.to_string()), "{text}");
    let cfg = dir.join("kamailio.cfg");
    std::fs::write(&cfg, text).unwrap();
    let mut cmd = lab.public().command("kamailio");
    cmd.args(["-DD", "-E", "-m", "32", "-M", "8", "-f"])
        .arg(&cfg)
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .arg("-Y")
        .arg(&dir)
        .arg("-w")
        .arg(&dir);
    let mut p = lab
        .public()
        .spawn(&mut cmd, "kamailio6/kamailio.log")
        .unwrap();
    // Ready when every TCP-based listener accepts.
    let deadline = Instant::now() + Duration::from_secs(15);
    let ports = [5060, 5061, 8080, 8443];
    loop {
        let ready = ports.iter().all(|port| {
            let a = SocketAddr::new(V6_LOOPBACK, *port);
            matches!(
                lab.public().tcp_connect(a, Duration::from_millis(200)),
                Ok(Ok(_))
            )
        });
        if ready {
            return p;
        }
        assert!(p.exited().is_none(), "kamailio exited: {}", p.log());
        assert!(Instant::now() < deadline, "kamailio not ready: {}", p.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn registers_with_kamailio_over_ipv6_on_every_transport() {
    if homeline_lab::skip_unless_installed(&["kamailio", "openssl"]) {
        return;
    }
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let users = ["alice", "bob", "carol", "dave", "erin"];
    let mut config = KamailioConfig::new()
        .tls(5061)
        .websocket(8080)
        .websocket_tls(8443);
    for u in users {
        config = config.user(u, &format!("pw-{u}"));
    }
    let k = start_kamailio_v6(&lab, &config);
    let ca = lab.tls_files().unwrap().ca;
    let accounts = [
        (
            "alice",
            "sip:homeline.test",
            TransportKind::Udp,
            "homeline.test (::1) over UDP port 5060",
        ),
        (
            "bob",
            "sip:homeline.test",
            TransportKind::Tcp,
            "homeline.test (::1) over TCP port 5060",
        ),
        (
            "carol",
            "sips:homeline.test",
            TransportKind::Tls,
            "homeline.test (::1) over TLS port 5061",
        ),
        (
            "dave",
            "sip:homeline.test:8080",
            TransportKind::Ws,
            "homeline.test (::1) over WS port 8080",
        ),
        (
            "erin",
            "sip:homeline.test:8443",
            TransportKind::Wss,
            "homeline.test (::1) over WSS port 8443",
        ),
    ];
    let states = lab
        .public()
        .run(|| {
            sip_lab_runtime().block_on(async {
                let rt = runtime();
                rt.set_dns(Arc::new(LabNameOnV6));
                for (user, registrar, transport, _) in &accounts {
                    let mut setup = account(user, registrar, Some(*transport), None);
                    setup.aor = format!("sip:{user}@homeline.test");
                    setup.credentials = Some(Credentials {
                        username: (*user).into(),
                        password: format!("pw-{user}"),
                    });
                    setup.transport_options.tls =
                        homeline_phone::sip::tls::client_config(Some(&ca)).unwrap();
                    rt.start(setup).unwrap();
                }
                let mut states = Vec::new();
                for (user, ..) in &accounts {
                    states.push(
                        wait_status(&rt, user, Duration::from_secs(20), |s| {
                            matches!(
                                s.state,
                                RegistrationState::Registered
                                    | RegistrationState::Failed
                                    | RegistrationState::Stopped
                            )
                        })
                        .await,
                    );
                }
                // A call for alice (UDP) and for dave (WebSocket) over IPv6: kamailio sends the
                // INVITE to the Contact each registered.
                let mut finals = Vec::new();
                for user in ["alice", "dave"] {
                    finals.push(call_v6(user).await);
                }
                rt.stop_all(Duration::from_secs(5)).await;
                (states, finals)
            })
        })
        .unwrap();
    let (states, finals) = states;
    for (s, (_, _, _, server)) in states.iter().zip(&accounts) {
        assert_eq!(s.state, RegistrationState::Registered, "{s:?}\n{}", k.log());
        assert_eq!(s.server.as_deref(), Some(*server), "{s:?}");
    }
    let log = k.log();
    for (user, proto) in [
        ("alice", "udp"),
        ("bob", "tcp"),
        ("carol", "tls"),
        ("dave", "ws"),
        ("erin", "wss"),
    ] {
        let saved = log
            .lines()
            .filter(|l| {
                l.contains(&format!("REGISTER of sip:{user}@homeline.test"))
                    && l.contains(&format!("({proto}): saved"))
            })
            .count();
        // The binding, and its removal at stop.
        assert!(saved >= 2, "{user} over {proto}: {log}");
    }
    // The INVITE reaches the client over IPv6 with our Contact, `sip:alice@[::1]:port`, as
    // its Request-URI; nobody listens for calls in this test, so the client answers 486.
    for (user, line) in ["alice", "dave"].iter().zip(&finals) {
        assert!(line.starts_with("SIP/2.0 486"), "{user}: {line:?}");
    }
}

/// An INVITE for `user` from another IPv6 socket through kamailio; the status line of the
/// final response (empty if none came).
async fn call_v6(user: &str) -> String {
    let sock = tokio::net::UdpSocket::bind("[::1]:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:{user}@homeline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-v6-{port};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@homeline.test>;tag=c{port}\r\n\
         To: <sip:{user}@homeline.test>\r\nCall-ID: v6-{port}-{user}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{local}>\r\nContent-Length: 0\r\n\r\n",
        port = local.port(),
    );
    sock.send_to(invite.as_bytes(), "[::1]:5060").await.unwrap();
    let mut buf = vec![0u8; 65_535];
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let line = text.lines().next().unwrap_or_default().to_owned();
            if line.starts_with("SIP/2.0 ") && !line.starts_with("SIP/2.0 1") {
                return line;
            }
        }
        String::new()
    })
    .await
    .unwrap_or_default()
}

fn sip_lab_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
