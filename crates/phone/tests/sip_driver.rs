//! The registration driver against a scripted registrar on loopback (no root, no lab):
//! digest challenge, wrong password, unregister on shutdown, refused port, WebSocket.
#![allow(clippy::unwrap_used)]
// The WebSocket handshake callback must return tungstenite's large error type.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeline_phone::{
    MemoryKeyring, Phone, PhoneOptions, RegistrationState, RegistrationStatus, SecretBackendChoice,
};
use tokio::net::UdpSocket;

fn phone(dir: &std::path::Path, registrar: &str, password: &str) -> Phone {
    let config = dir.join("homeline.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[network]\nkeepalive_secs = 25\n\n[[accounts]]\nid = \"alice\"\n\
             display_name = \"Alice\"\nsip_address = \"sip:alice@example.test\"\n\
             registrar = \"{registrar}\"\ntransport = \"udp\"\npassword = \"{password}\"\n"
        ),
    )
    .unwrap();
    Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

/// What the fake registrar does with each REGISTER.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 401 with a fresh nonce, always (a wrong password).
    AlwaysChallenge,
    /// 401 to requests without Authorization, 200 to the others.
    Accept,
    /// 503 Service Unavailable, always.
    Unavailable,
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn respond(req: &str, code: u16, reason: &str, extra: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        if let Some(v) = header(req, name) {
            out.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "To: {};tag=srv1\r\n",
        header(req, "To").unwrap_or_default()
    ));
    out.push_str(extra);
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// Serves REGISTERs on a loopback UDP socket; returns its address and the requests seen.
async fn registrar(mode: Mode) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        let mut nonce = 0;
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !req.starts_with("REGISTER ") {
                continue;
            }
            log.lock().unwrap().push(req.clone());
            nonce += 1;
            let challenge = format!(
                "WWW-Authenticate: Digest realm=\"example.test\", nonce=\"n{nonce}\", \
                 algorithm=MD5, qop=\"auth\"\r\n"
            );
            let resp = match mode {
                Mode::Unavailable => respond(&req, 503, "Service Unavailable", ""),
                Mode::AlwaysChallenge => respond(&req, 401, "Unauthorized", &challenge),
                Mode::Accept if header(&req, "Authorization").is_none() => {
                    respond(&req, 401, "Unauthorized", &challenge)
                }
                Mode::Accept => {
                    let contact = header(&req, "Contact").unwrap_or_default().to_owned();
                    let expires = header(&req, "Expires").unwrap_or("600").to_owned();
                    respond(
                        &req,
                        200,
                        "OK",
                        &format!("Contact: {contact}\r\nExpires: {expires}\r\n"),
                    )
                }
            };
            let _ = sock.send_to(resp.as_bytes(), from).await;
        }
    });
    (addr, seen)
}

async fn settle(phone: &Phone, limit: Duration) -> RegistrationStatus {
    let mut w = phone.registration_watch("alice").unwrap();
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
    tokio::time::timeout(limit, wait)
        .await
        .expect("no final registration state in time")
}

#[tokio::test]
async fn registers_with_digest_and_unregisters_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, seen) = registrar(Mode::Accept).await;
    let phone = phone(dir.path(), &format!("sip:{addr}"), "right");
    let mut changes = phone.subscribe_registrations();
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(s.expires_secs, Some(600));
    assert_eq!(s.register_requests, 2);
    assert!(s.server.as_deref().unwrap().contains("over UDP"), "{s:?}");
    assert_eq!(phone.registration_states(), vec![s.clone()]);
    // The change stream saw registering, then registered.
    let first = changes.recv().await.unwrap();
    assert_eq!(first.state, RegistrationState::Registering);

    phone.stop_registrations().await;
    let requests = seen.lock().unwrap().clone();
    let last = requests.last().unwrap();
    assert_eq!(header(last, "Expires"), Some("0"), "{last}");
    assert!(header(last, "Authorization").is_some(), "{last}");
    assert!(
        header(&requests[0], "Via").unwrap().contains("rport"),
        "RFC 3581: rport in every Via"
    );
}

#[tokio::test]
async fn stopping_one_account_unregisters_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, seen) = registrar(Mode::Accept).await;
    let phone = phone(dir.path(), &format!("sip:{addr}"), "right");
    phone.start_registration("alice").unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");

    phone.stop_registration("alice").await;
    let requests = seen.lock().unwrap().clone();
    let last = requests.last().unwrap();
    assert_eq!(header(last, "Expires"), Some("0"), "{last}");
    assert_eq!(phone.registration_states(), vec![]);
    // Stopping an account that is not running is a no-op, not an error.
    phone.stop_registration("nobody").await;
}

#[tokio::test]
async fn wrong_password_stops_after_two_registers() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, seen) = registrar(Mode::AlwaysChallenge).await;
    let phone = phone(dir.path(), &format!("sip:{addr}"), "wrong");
    phone.start_registration("alice").unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Stopped, "{s:?}");
    let reason = s.reason.clone().unwrap();
    assert_eq!(reason.code, "wrong_credentials");
    assert!(
        reason.message.contains("Wrong user name or password"),
        "{reason:?}"
    );
    assert!(reason.message.contains("127.0.0.1"), "{reason:?}");
    assert_eq!(s.retry_in_secs, None);
    // Nothing more is sent: no hammering.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(s.register_requests, 2);
    phone.stop_registrations().await;
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "no unregister without a binding"
    );
}

#[tokio::test]
async fn refused_port_is_reported_at_once_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bind, learn it, close it.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let phone = phone(dir.path(), &format!("sip:127.0.0.1:{port}"), "pw");
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(5)).await;
    assert_eq!(s.state, RegistrationState::Failed, "{s:?}");
    let reason = s.reason.clone().unwrap();
    assert_eq!(reason.code, "transport_error", "{reason:?}");
    assert!(reason.message.contains("refused"), "{reason:?}");
    assert!(
        reason
            .message
            .contains(&format!("127.0.0.1 over UDP port {port}")),
        "{reason:?}"
    );
    assert!(s.retry_in_secs.is_some());
    phone.stop_registrations().await;
}

#[tokio::test]
async fn account_without_registrar_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("homeline.toml");
    std::fs::write(
        &config,
        "version = 1\n[[accounts]]\nid = \"lan\"\ndisplay_name = \"LAN\"\n\
         sip_address = \"sip:me@192.0.2.1\"\n",
    )
    .unwrap();
    let phone = Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.path().join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.path().join("history.jsonl")),
    })
    .unwrap();
    // start_registrations skips it; asking for it by name says why.
    phone.start_registrations().unwrap();
    assert!(phone.registration_states().is_empty());
    let e = homeline_phone::UiError::from(phone.start_registration("lan").unwrap_err());
    assert_eq!(e.code, "no_registrar");
}

/// A SIP-over-WebSocket registrar on loopback (RFC 7118): accepts the upgrade (offering the
/// `sip` subprotocol when `offer_sip`), answers every REGISTER 200 OK.
async fn ws_registrar(offer_sip: bool) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let callback = |req: &Request, mut resp: Response| {
                    let asked = req
                        .headers()
                        .get("Sec-WebSocket-Protocol")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    log.lock()
                        .unwrap()
                        .push(format!("upgrade protocol={asked}"));
                    if offer_sip && asked.contains("sip") {
                        resp.headers_mut()
                            .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
                    }
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = msg else { continue };
                    let req = text.to_string();
                    log.lock().unwrap().push(req.clone());
                    if req.starts_with("REGISTER ") {
                        let contact = header(&req, "Contact").unwrap_or_default().to_owned();
                        let expires = header(&req, "Expires").unwrap_or("600").to_owned();
                        let resp = respond(
                            &req,
                            200,
                            "OK",
                            &format!("Contact: {contact}\r\nExpires: {expires}\r\n"),
                        );
                        if ws.send(Message::Text(resp.into())).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn ws_phone(dir: &std::path::Path, addr: SocketAddr) -> Phone {
    let config = dir.join("homeline.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[[accounts]]\nid = \"alice\"\ndisplay_name = \"Alice\"\n\
             sip_address = \"sip:alice@example.test\"\nregistrar = \"sip:{addr}\"\n\
             transport = \"ws\"\npassword = \"pw\"\n"
        ),
    )
    .unwrap();
    Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap()
}

#[tokio::test]
async fn registers_over_websocket_with_the_sip_subprotocol() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, seen) = ws_registrar(true).await;
    let phone = ws_phone(dir.path(), addr);
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert!(s.server.as_deref().unwrap().contains("over WS"), "{s:?}");
    phone.stop_registrations().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "upgrade protocol=sip");
    assert!(
        header(&seen[1], "Via").unwrap().starts_with("SIP/2.0/WS "),
        "{seen:?}"
    );
    assert_eq!(
        header(seen.last().unwrap(), "Expires"),
        Some("0"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn websocket_without_sip_subprotocol_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _seen) = ws_registrar(false).await;
    let phone = ws_phone(dir.path(), addr);
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Failed, "{s:?}");
    let reason = s.reason.clone().unwrap();
    assert!(reason.message.contains("WebSocket handshake"), "{reason:?}");
    assert!(reason.message.contains("\"sip\" subprotocol"), "{reason:?}");
    phone.stop_registrations().await;
}

/// DNS for `pbx.test`: SRV records pointing at two loopback ports, the first preferred.
#[derive(Debug)]
struct TwoServers(u16, u16);

use homeline_phone::sip::resolve::DnsFailure;

impl homeline_phone::sip::Dns for TwoServers {
    fn naptr<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Vec<homeline_phone::sip::resolve::Naptr>, DnsFailure>,
    > {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn srv<'a>(
        &'a self,
        name: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Vec<homeline_phone::sip::resolve::Srv>, DnsFailure>,
    > {
        use homeline_phone::sip::resolve::Srv;
        let records = if name == "_sip._udp.pbx.test" {
            vec![
                Srv {
                    priority: 20,
                    weight: 0,
                    port: self.1,
                    target: "b.pbx.test.".into(),
                },
                Srv {
                    priority: 10,
                    weight: 0,
                    port: self.0,
                    target: "a.pbx.test.".into(),
                },
            ]
        } else {
            Vec::new()
        };
        Box::pin(async move { Ok(records) })
    }
    fn ips<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<std::net::IpAddr>, DnsFailure>> {
        Box::pin(async { Ok(vec![std::net::IpAddr::from([127, 0, 0, 1])]) })
    }
}

#[tokio::test]
async fn fails_over_to_the_next_srv_target_on_503() {
    let dir = tempfile::tempdir().unwrap();
    let (busy, busy_seen) = registrar(Mode::Unavailable).await;
    let (good, good_seen) = registrar(Mode::Accept).await;
    let phone = phone(dir.path(), "sip:pbx.test", "right");
    phone.set_sip_dns(Arc::new(TwoServers(busy.port(), good.port())));
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(
        s.server.as_deref(),
        Some(format!("pbx.test (127.0.0.1) over UDP port {}", good.port()).as_str())
    );
    phone.stop_registrations().await;
    // RFC 3263 §4.3: the preferred server was asked first, once.
    assert_eq!(busy_seen.lock().unwrap().len(), 1);
    assert!(good_seen.lock().unwrap().len() >= 2);
}

/// A DNS that knows no name.
#[derive(Debug)]
struct NoNames;

impl homeline_phone::sip::Dns for NoNames {
    fn naptr<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Vec<homeline_phone::sip::resolve::Naptr>, DnsFailure>,
    > {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn srv<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Vec<homeline_phone::sip::resolve::Srv>, DnsFailure>,
    > {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn ips<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<std::net::IpAddr>, DnsFailure>> {
        Box::pin(async { Err(DnsFailure::NoSuchName) })
    }
}

/// A registrar name that does not exist is said in plain words, with the name and the reason
/// the UI's catalogs translate, and retried later (the name may come back with the network).
#[tokio::test]
async fn a_registrar_name_that_does_not_exist_is_said_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path(), "sip:pbx.invalid", "pw");
    phone.set_sip_dns(Arc::new(NoNames));
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(10)).await;
    let reason = s.reason.clone().unwrap();
    assert_eq!(reason.code, "server_not_found", "{s:?}");
    assert_eq!(
        reason.message,
        "Could not find pbx.invalid in DNS: the name does not exist."
    );
    assert_eq!(
        reason.args.get("host").map(String::as_str),
        Some("pbx.invalid")
    );
    assert_eq!(
        reason.args.get("why").map(String::as_str),
        Some("no_such_name")
    );
    assert!(s.retry_in_secs.is_some(), "{s:?}");
    phone.stop_registrations().await;
}

/// Timer F (64·T1 = 32 s) on tokio's paused clock: a server that never answers is reported
/// as "no answer" with the port named, in no real time at all.
#[tokio::test(start_paused = true)]
async fn silent_server_is_no_answer_after_timer_f() {
    let dir = tempfile::tempdir().unwrap();
    // Bound and never read: datagrams vanish without an ICMP error.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let phone = phone(dir.path(), &format!("sip:{addr}"), "pw");
    let started = tokio::time::Instant::now();
    phone.start_registrations().unwrap();
    let s = settle(&phone, Duration::from_secs(60)).await;
    let waited = started.elapsed();
    assert_eq!(s.state, RegistrationState::Failed, "{s:?}");
    assert!(
        waited >= Duration::from_secs(32) && waited < Duration::from_secs(33),
        "{waited:?}"
    );
    let reason = s.reason.clone().unwrap();
    assert_eq!(reason.code, "no_answer");
    assert_eq!(
        reason.message,
        format!("No answer from 127.0.0.1 over UDP port {}.", addr.port())
    );
    assert!(
        reason
            .hint
            .contains(&format!("UDP port {} may be blocked", addr.port())),
        "{reason:?}"
    );
    assert_eq!(
        s.register_requests, 1,
        "retransmissions are not new requests"
    );
    phone.stop_registrations().await;
    drop(silent);
}
