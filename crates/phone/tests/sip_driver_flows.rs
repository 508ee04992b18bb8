//! The account driver's flows against a scripted registrar on loopback (no root, no lab):
//! STUN or CRLF keep-alive as the registrar's RFC 5626 support says, the Flow-Timer, one
//! Call-ID across reconnects (RFC 3261 §10.2.4), the automatic transport fallback, and
//! network changes. RFC timers run on tokio's paused clock where the test needs them.
#![allow(clippy::unwrap_used)]

mod sip_common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeline_phone::sip::{RegistrationState, RouteProbe};
use homeline_sip::transaction::{TimerConfig, TransportKind};
use sip_common::{
    Behaviour, Udp, account, cseq, header, headers, registered, registrar, runtime, wait_status,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The RFC 5626 §4.4.2 keep-alive: the registrar applies outbound with a Flow-Timer of 20 s,
/// shorter than the configured 25 s, so a STUN Binding Request (not a CRLF) goes out every
/// 16-20 s and is answered; when the answers stop, the flow is declared dead after the
/// RFC 5389 retransmissions (39.5 s) and a new flow registers with the same Call-ID.
#[tokio::test(start_paused = true)]
async fn stun_keepalive_with_an_outbound_registrar_and_a_new_flow_when_it_dies() {
    let b = Behaviour {
        outbound_flow_timer: Some(20),
        ..Behaviour::default()
    };
    let answer_stun = b.answer_stun.clone();
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    assert_eq!(
        header(&first.text, "Supported"),
        Some("path, outbound"),
        "{}",
        first.text
    );
    let contact = header(&first.text, "Contact").unwrap();
    assert!(contact.contains(";ob>"), "{contact}");
    assert!(contact.contains("+sip.instance=\"<urn:uuid:"), "{contact}");
    assert!(contact.contains("reg-id=1"), "{contact}");
    registered(&rt, "a", Duration::from_secs(5)).await;

    // Three keep-alives, each 16-20 s after the one before (80-100 % of the Flow-Timer).
    let mut last = first.at;
    for _ in 0..3 {
        let ka = reg
            .next(Duration::from_secs(30), |s| {
                s.text == "STUN" || s.text == "CRLF"
            })
            .await;
        assert_eq!(ka.text, "STUN", "outbound on UDP means STUN keep-alives");
        let gap = ka.at - last;
        assert!(
            gap >= Duration::from_secs(16) && gap <= Duration::from_secs(20),
            "{gap:?}"
        );
        last = ka.at;
    }
    let s = rt.watch("a").unwrap().borrow().clone();
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(
        s.register_requests, 1,
        "answered keep-alives need no REGISTER"
    );

    // The registrar stops answering: 7 requests, then the flow is dead and a new one
    // registers (after the 1-2 s reconnect back-off).
    answer_stun.store(false, Ordering::SeqCst);
    let unanswered = reg
        .next(Duration::from_secs(30), |s| s.text == "STUN")
        .await;
    let again = reg.next(Duration::from_secs(60), |s| s.is_register()).await;
    let waited = again.at - unanswered.at;
    assert!(
        waited >= Duration::from_millis(39_500) && waited <= Duration::from_millis(41_600),
        "{waited:?}"
    );
    let stun_requests = reg
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.text == "STUN" && s.at >= unanswered.at && s.at < again.at)
        .count();
    assert_eq!(stun_requests, 7, "RFC 5389 §7.2.1: Rc = 7");
    // RFC 3261 §10.2.4: same Call-ID, next CSeq; a new socket, so the old Contact goes.
    assert_eq!(
        header(&again.text, "Call-ID"),
        header(&first.text, "Call-ID")
    );
    assert_eq!(cseq(&again.text), cseq(&first.text) + 1);
    assert_ne!(again.from, first.from, "a new flow");
    let old = format!("<sip:alice@{};ob>;expires=0", first.from);
    assert!(
        headers(&again.text, "Contact").contains(&old.as_str()),
        "{}",
        again.text
    );
    rt.stop_all(Duration::from_secs(5)).await;
}

/// A registrar without outbound: CRLF keep-alives on UDP at 80-100 % of the configured
/// interval, never STUN.
#[tokio::test(start_paused = true)]
async fn crlf_keepalive_without_outbound() {
    let mut reg = registrar(LOCALHOST, Behaviour::default()).await;
    let rt = runtime();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    let mut last = first.at;
    for _ in 0..3 {
        let ka = reg
            .next(Duration::from_secs(30), |s| {
                s.text == "STUN" || s.text == "CRLF"
            })
            .await;
        assert_eq!(ka.text, "CRLF");
        let gap = ka.at - last;
        assert!(
            gap >= Duration::from_secs(20) && gap <= Duration::from_secs(25),
            "{gap:?}"
        );
        last = ka.at;
    }
    rt.stop_all(Duration::from_secs(5)).await;
}

/// Keep-alive switched off, but the registrar applies outbound with a Flow-Timer: RFC 5626
/// §4.4.1 makes keep-alives a must, so they run at the Flow-Timer.
#[tokio::test(start_paused = true)]
async fn an_outbound_registrar_gets_keepalives_even_when_switched_off() {
    let b = Behaviour {
        outbound_flow_timer: Some(30),
        ..Behaviour::default()
    };
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        None,
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    let ka = reg
        .next(Duration::from_secs(40), |s| {
            s.text == "STUN" || s.text == "CRLF"
        })
        .await;
    assert_eq!(ka.text, "STUN");
    let gap = ka.at - first.at;
    assert!(
        gap >= Duration::from_secs(24) && gap <= Duration::from_secs(30),
        "{gap:?}"
    );
    rt.stop_all(Duration::from_secs(5)).await;
}

/// A TCP connection the server closes is reopened and registered again, on the same
/// registration: same Call-ID, the next CSeq, the old Contact removed (RFC 3261 §10.2.4).
#[tokio::test]
async fn a_reconnect_keeps_the_call_id_and_counts_cseq_on() {
    let b = Behaviour {
        close_tcp_after_200: true,
        ..Behaviour::default()
    };
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Tcp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    let second = reg.next(Duration::from_secs(10), |s| s.is_register()).await;
    let third = reg.next(Duration::from_secs(10), |s| s.is_register()).await;
    let call_id = header(&first.text, "Call-ID").unwrap();
    for (n, r) in [&second, &third].into_iter().enumerate() {
        assert_eq!(header(&r.text, "Call-ID"), Some(call_id), "{}", r.text);
        assert_eq!(cseq(&r.text), cseq(&first.text) + 1 + n as u32);
        assert_ne!(r.from, first.from, "a new connection");
    }
    let old = format!("<sip:alice@{};transport=tcp;ob>;expires=0", first.from);
    assert!(
        headers(&second.text, "Contact").contains(&old.as_str()),
        "{}",
        second.text
    );
    rt.stop_all(Duration::from_secs(5)).await;
}

/// Short RFC 3261 timers (T1 = 10 ms: Timer F = 640 ms) keep the fallback tests fast in real
/// time; the lab test runs the same with the real 32 s.
fn fast(mut setup: homeline_phone::sip::AccountSetup) -> homeline_phone::sip::AccountSetup {
    setup.timers = TimerConfig {
        t1: Duration::from_millis(10),
        t2: Duration::from_millis(80),
        t4: Duration::from_millis(100),
    };
    setup
}

/// The issue: `auto` with no NAPTR/SRV, UDP gets no answer: TCP to the same host registers,
/// the status says so in plain words, the Call-ID stays, and later reconnects go straight
/// to TCP.
#[tokio::test]
async fn auto_falls_back_to_tcp_when_udp_gets_no_answer_and_says_so() {
    let b = Behaviour {
        udp: Udp::Silent,
        close_tcp_after_200: true,
        ..Behaviour::default()
    };
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    let mut changes = rt.subscribe();
    // Silent UDP: nobody reads, so the REGISTER is seen by no one; the TCP one is.
    rt.start(fast(account(
        "a",
        &format!("sip:{}", reg.addr),
        None,
        Some(Duration::from_secs(25)),
    )))
    .unwrap();
    // The server closes each connection after its 200, so watch every change.
    let s = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = changes.recv().await.unwrap();
            if s.state == RegistrationState::Registered {
                return s;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        s.server.as_deref(),
        Some(format!("127.0.0.1 over TCP port {}", reg.addr.port()).as_str())
    );
    assert_eq!(
        s.note.as_deref(),
        Some("UDP got no answer; registered over TCP.")
    );
    assert!(s.summary().contains("UDP got no answer"), "{}", s.summary());
    let first = reg.next(Duration::from_secs(1), |s| s.is_register()).await;
    assert_eq!(first.transport, "TCP");
    // The UDP REGISTER went first (CSeq 1, lost); the TCP one continues the count.
    assert_eq!(cseq(&first.text), 2, "{}", first.text);
    // The server closed the connection: the reconnect goes to TCP at once, no UDP first,
    // and the status still tells why TCP.
    let again = reg.next(Duration::from_secs(10), |s| s.is_register()).await;
    assert_eq!(again.transport, "TCP");
    assert_eq!(
        header(&again.text, "Call-ID"),
        header(&first.text, "Call-ID")
    );
    assert_eq!(cseq(&again.text), 3);
    let third = reg.next(Duration::from_secs(10), |s| s.is_register()).await;
    assert_eq!(cseq(&third.text), 4);
    // Every time it was registered, the status said why TCP.
    let mut registered_states = 0;
    while let Ok(s) = changes.try_recv() {
        if s.state == RegistrationState::Registered {
            registered_states += 1;
            assert_eq!(
                s.note.as_deref(),
                Some("UDP got no answer; registered over TCP."),
                "{s:?}"
            );
        }
    }
    assert!(registered_states >= 1, "the reconnect registered too");
    rt.stop_all(Duration::from_secs(5)).await;
}

/// With the real timers (T1 = 500 ms): UDP that nothing answers costs 2.5 s (three
/// transmissions), not Timer F's 32 s, before TCP to the same host registers.
#[tokio::test]
async fn silent_udp_is_left_for_tcp_within_3_s() {
    let b = Behaviour {
        udp: Udp::Silent,
        ..Behaviour::default()
    };
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    let started = std::time::Instant::now();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        None,
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let s = registered(&rt, "a", Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        s.note.as_deref(),
        Some("UDP got no answer; registered over TCP.")
    );
    let first = reg.next(Duration::from_secs(1), |s| s.is_register()).await;
    assert_eq!(first.transport, "TCP");
    rt.stop_all(Duration::from_secs(5)).await;
}

/// UDP refused (ICMP port unreachable): TCP is tried at once, no 32 s wait.
#[tokio::test]
async fn auto_falls_back_to_tcp_at_once_when_udp_is_refused() {
    let b = Behaviour {
        udp: Udp::Closed,
        ..Behaviour::default()
    };
    let reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    let started = std::time::Instant::now();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        None,
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let s = registered(&rt, "a", Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        s.note.as_deref(),
        Some("UDP was refused; registered over TCP.")
    );
    assert!(s.server.unwrap().contains("over TCP"));
    rt.stop_all(Duration::from_secs(5)).await;
}

/// Nothing works: the failure names the UDP problem and what the fallback found.
#[tokio::test]
async fn auto_with_nothing_listening_says_what_was_tried() {
    // A port nobody listens on, TCP or UDP.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rt = runtime();
    rt.start(account(
        "a",
        &format!("sip:127.0.0.1:{port}"),
        None,
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let s = wait_status(&rt, "a", Duration::from_secs(10), |s| {
        s.state == RegistrationState::Failed
    })
    .await;
    let reason = s.reason.unwrap();
    assert!(
        reason
            .message
            .starts_with(&format!("Could not reach 127.0.0.1 over UDP port {port}")),
        "{reason:?}"
    );
    assert!(
        reason.message.ends_with(
            "Homeline also tried the other transports: UDP was refused, TCP could not connect \
             and TLS could not connect."
        ),
        "{reason:?}"
    );
    assert!(reason.hint.contains("UDP, TCP and TLS"), "{reason:?}");
    rt.stop_all(Duration::from_secs(5)).await;
}

/// A route probe the test moves by hand.
#[derive(Debug)]
struct FakeRoutes(Mutex<Option<IpAddr>>);

impl RouteProbe for FakeRoutes {
    fn source_for(&self, _: SocketAddr) -> Option<IpAddr> {
        *self.0.lock().unwrap()
    }
}

impl FakeRoutes {
    fn set(&self, ip: Option<&str>) {
        *self.0.lock().unwrap() = ip.map(|i| i.parse().unwrap());
    }
}

/// The route to the server moves to another local address (a VPN came up, another
/// network): the driver re-registers at once on a new flow, same Call-ID, and removes the
/// old binding. Offline alone changes nothing; coming back does.
#[tokio::test]
async fn a_network_change_registers_again_at_once() {
    let mut reg = registrar(LOCALHOST, Behaviour::default()).await;
    let routes = Arc::new(FakeRoutes(Mutex::new(Some(LOCALHOST))));
    let rt = runtime();
    rt.set_route_probe(routes.clone(), Duration::from_millis(50));
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    registered(&rt, "a", Duration::from_secs(5)).await;
    // Quiet while nothing changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reg.registers().len(), 1);

    routes.set(Some("10.8.0.5"));
    let changed_at = tokio::time::Instant::now();
    let again = reg.next(Duration::from_secs(2), |s| s.is_register()).await;
    assert!(
        again.at - changed_at < Duration::from_millis(500),
        "{:?}",
        again.at - changed_at
    );
    assert_eq!(
        header(&again.text, "Call-ID"),
        header(&first.text, "Call-ID")
    );
    assert_eq!(cseq(&again.text), cseq(&first.text) + 1);
    let old = format!("<sip:alice@{};ob>;expires=0", first.from);
    assert!(
        headers(&again.text, "Contact").contains(&old.as_str()),
        "{}",
        again.text
    );
    let s = wait_status(&rt, "a", Duration::from_secs(2), |s| {
        s.state == RegistrationState::Registered && s.register_requests == 2
    })
    .await;
    assert!(s.reason.is_none());

    // Offline (Wi-Fi gone): nothing to do yet; back: register again.
    routes.set(None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reg.registers().len(), 2);
    routes.set(Some("10.8.0.5"));
    let back = reg.next(Duration::from_secs(2), |s| s.is_register()).await;
    assert_eq!(cseq(&back.text), cseq(&again.text) + 1);
    rt.stop_all(Duration::from_secs(5)).await;
}

/// Waiting out a long back-off after failures, a network change ends the wait: the next
/// attempt goes out at once instead of minutes later.
#[tokio::test(start_paused = true)]
async fn a_network_change_cuts_a_back_off_short() {
    // TCP to a port nobody listens on: refused at once, every time.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let routes = Arc::new(FakeRoutes(Mutex::new(Some(LOCALHOST))));
    let rt = runtime();
    rt.set_route_probe(routes.clone(), Duration::from_secs(2));
    rt.start(account(
        "a",
        &format!("sip:127.0.0.1:{port}"),
        Some(TransportKind::Tcp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    // The back-off doubles from 2 s; wait until it is long.
    let s = wait_status(&rt, "a", Duration::from_secs(600), |s| {
        s.state == RegistrationState::Failed && s.retry_in_secs.is_some_and(|r| r >= 30)
    })
    .await;
    assert_eq!(s.reason.unwrap().code, "connect_failed");
    let retry_in = Duration::from_secs(s.retry_in_secs.unwrap());
    routes.set(Some("192.168.1.20"));
    let changed_at = tokio::time::Instant::now();
    wait_status(&rt, "a", Duration::from_secs(600), |s| {
        s.state == RegistrationState::Registering
    })
    .await;
    let waited = changed_at.elapsed();
    assert!(
        waited <= Duration::from_millis(2100) && waited < retry_in,
        "{waited:?} (the back-off was {retry_in:?})"
    );
    rt.stop_all(Duration::from_secs(5)).await;
}

/// A VPN comes up during a call while the flow's own address still works: the call keeps its
/// flow, and the registration moves as soon as the call has ended.
#[tokio::test]
async fn a_call_keeps_its_flow_through_a_route_change_and_the_move_follows() {
    use homeline_phone::sip::CallCommand;
    use homeline_sip::call::CallEvent;
    let mut reg = registrar(LOCALHOST, Behaviour::default()).await;
    let routes = Arc::new(FakeRoutes(Mutex::new(Some(LOCALHOST))));
    let rt = runtime();
    rt.set_route_probe(routes.clone(), Duration::from_millis(50));
    let mut calls = rt.subscribe_calls();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    registered(&rt, "a", Duration::from_secs(5)).await;
    let invite = format!(
        "INVITE sip:alice@{client} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-vpn-1;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@example.test>;tag=c1\r\nTo: <sip:alice@example.test>\r\n\
         Call-ID: vpn-1@example.test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\n\
         Content-Length: 0\r\n\r\n",
        client = first.from,
        me = reg.addr,
    );
    reg.send_udp(&invite, first.from).await;
    let call = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let CallEvent::Incoming { call, .. } = calls.recv().await.unwrap().event {
                return call;
            }
        }
    })
    .await
    .unwrap();
    routes.set(Some("10.8.0.5"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reg.registers().len(),
        1,
        "the call's flow stays while it lasts"
    );
    assert!(rt.call_command("a", CallCommand::Reject(call, 486)));
    let ended_at = tokio::time::Instant::now();
    let again = reg.next(Duration::from_secs(2), |s| s.is_register()).await;
    assert!(
        again.at - ended_at < Duration::from_millis(500),
        "{:?}",
        again.at - ended_at
    );
    assert_eq!(
        header(&again.text, "Call-ID"),
        header(&first.text, "Call-ID")
    );
    let answered = reg
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.text.starts_with("SIP/2.0 486"));
    assert!(answered, "the caller got the 486 on the old flow");
    rt.stop_all(Duration::from_secs(5)).await;
}

/// The flow dies (the STUN keep-alive goes unanswered) while a call is ringing on it: the
/// call is reported ended, in words, rather than left hanging in the UI, and the account
/// registers again on a new flow.
#[tokio::test(start_paused = true)]
async fn a_call_on_a_flow_that_dies_is_reported_ended() {
    use homeline_sip::call::{CallEvent, EndCause};
    let b = Behaviour {
        outbound_flow_timer: Some(20),
        ..Behaviour::default()
    };
    let answer_stun = b.answer_stun.clone();
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    let mut calls = rt.subscribe_calls();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    registered(&rt, "a", Duration::from_secs(5)).await;
    let invite = format!(
        "INVITE sip:alice@{client} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-dies-1;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@example.test>;tag=c1\r\nTo: <sip:alice@example.test>\r\n\
         Call-ID: dies-1@example.test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\n\
         Content-Length: 0\r\n\r\n",
        client = first.from,
        me = reg.addr,
    );
    reg.send_udp(&invite, first.from).await;
    answer_stun.store(false, Ordering::SeqCst);
    let (call, ended) = tokio::time::timeout(Duration::from_secs(120), async {
        let mut ringing = None;
        loop {
            match calls.recv().await.unwrap().event {
                CallEvent::Incoming { call, .. } => ringing = Some(call),
                CallEvent::Ended { call, cause } => return (ringing, (call, cause)),
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(call, Some(ended.0));
    let EndCause::Failed(failure) = ended.1 else {
        panic!("{:?}", ended.1)
    };
    assert_eq!(failure.code, 503);
    assert!(
        failure
            .message
            .contains("connection to the server was lost"),
        "{failure:?}"
    );
    let again = reg.next(Duration::from_secs(10), |s| s.is_register()).await;
    assert_eq!(
        header(&again.text, "Call-ID"),
        header(&first.text, "Call-ID")
    );
    rt.stop_all(Duration::from_secs(5)).await;
}

/// The flow dies under a connected call (RFC 5626 §5): the call is not ended with it. The
/// person hangs up before the next flow is open: the call ends at once, not when the network
/// is back, and its BYE leaves first thing on the next flow.
#[tokio::test(start_paused = true)]
async fn a_hang_up_between_flows_ends_the_call_at_once_and_its_bye_leaves_on_the_next_flow() {
    use homeline_phone::sip::CallCommand;
    use homeline_sip::call::{CallEvent, EndCause};
    let b = Behaviour {
        outbound_flow_timer: Some(20),
        ..Behaviour::default()
    };
    let answer_stun = b.answer_stun.clone();
    let mut reg = registrar(LOCALHOST, b).await;
    let rt = runtime();
    let mut calls = rt.subscribe_calls();
    rt.start(account(
        "a",
        &format!("sip:{}", reg.addr),
        Some(TransportKind::Udp),
        Some(Duration::from_secs(25)),
    ))
    .unwrap();
    let first = reg.next(Duration::from_secs(5), |s| s.is_register()).await;
    registered(&rt, "a", Duration::from_secs(5)).await;
    let invite = format!(
        "INVITE sip:alice@{client} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-between-1;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@example.test>;tag=c1\r\nTo: <sip:alice@example.test>\r\n\
         Call-ID: between-1@example.test\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\n\
         Content-Length: 0\r\n\r\n",
        client = first.from,
        me = reg.addr,
    );
    reg.send_udp(&invite, first.from).await;
    let call = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let CallEvent::Incoming { call, .. } = calls.recv().await.unwrap().event {
                return call;
            }
        }
    })
    .await
    .unwrap();
    assert!(rt.call_command("a", CallCommand::Answer(call, b"v=0\r\n".to_vec())));
    let ok = reg
        .next(Duration::from_secs(5), |s| {
            s.text.starts_with("SIP/2.0 200") && header(&s.text, "CSeq") == Some("1 INVITE")
        })
        .await;
    let ack = format!(
        "ACK sip:alice@{client} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-between-2;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@example.test>;tag=c1\r\nTo: {to}\r\n\
         Call-ID: between-1@example.test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        client = first.from,
        me = reg.addr,
        to = header(&ok.text, "To").unwrap(),
    );
    reg.send_udp(&ack, first.from).await;
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let CallEvent::Confirmed { .. } = calls.recv().await.unwrap().event {
                return;
            }
        }
    })
    .await
    .unwrap();
    // The keep-alives go unanswered: the flow is declared dead; the call goes on.
    answer_stun.store(false, Ordering::SeqCst);
    wait_status(&rt, "a", Duration::from_secs(120), |s| {
        s.state == RegistrationState::Failed
    })
    .await;
    answer_stun.store(true, Ordering::SeqCst);
    while let Ok(c) = calls.try_recv() {
        assert!(
            !matches!(c.event, CallEvent::Ended { .. }),
            "the call ended with its flow: {c:?}"
        );
    }
    // Hung up while there is no flow: ended now, before the next REGISTER.
    let registers = reg.registers().len();
    let hung_up = tokio::time::Instant::now();
    assert!(rt.call_command("a", CallCommand::Hangup(call)));
    let cause = tokio::time::timeout(Duration::from_millis(100), async {
        loop {
            if let CallEvent::Ended { cause, .. } = calls.recv().await.unwrap().event {
                return cause;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(cause, EndCause::LocalHangup);
    assert_eq!(reg.registers().len(), registers, "no new flow yet");
    // The BYE leaves on the next flow.
    let bye = reg
        .next(Duration::from_secs(60), |s| s.text.starts_with("BYE "))
        .await;
    assert!(bye.at > hung_up);
    assert_eq!(
        header(&bye.text, "Call-ID"),
        Some("between-1@example.test"),
        "{}",
        bye.text
    );
    registered(&rt, "a", Duration::from_secs(10)).await;
    assert!(reg.registers().len() > registers);
    rt.stop_all(Duration::from_secs(5)).await;
}
