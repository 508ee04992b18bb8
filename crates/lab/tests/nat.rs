//! The router profiles behave as their names say. Each test needs root and
//! prints `skipped: needs root` otherwise.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use homeline_lab::{Lab, RouterProfile};

fn new_lab(profile: RouterProfile) -> Option<Lab> {
    Lab::start_or_skip(profile).unwrap()
}

fn any() -> SocketAddr {
    "0.0.0.0:0".parse().unwrap()
}

/// Receives one datagram within `wait`, or `None`.
fn recv(sock: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = vec![0u8; 65535];
    match sock.recv_from(&mut buf) {
        Ok((n, from)) => {
            buf.truncate(n);
            Some((buf, from))
        }
        Err(_) => None,
    }
}

/// Sends `payload` from a client socket to `server`; returns the source the
/// server saw (or `None` if nothing arrived).
fn probe(client: &UdpSocket, server: &UdpSocket, payload: &[u8]) -> Option<SocketAddr> {
    let dest = server.local_addr().unwrap();
    client.send_to(payload, dest).unwrap();
    let (got, from) = recv(server, Duration::from_millis(1500))?;
    assert_eq!(got, payload);
    Some(from)
}

#[test]
fn cone_udp_probe_crosses_the_nat_and_the_reply_comes_back() {
    let Some(lab) = new_lab(RouterProfile::Cone) else {
        return;
    };
    let server = lab.public().udp_socket(lab.public_addr(4000)).unwrap();
    let client = lab.client().udp_socket(any()).unwrap();

    let seen = probe(&client, &server, b"ping").expect("probe did not cross the NAT");
    assert_eq!(
        seen.ip(),
        lab.router_public_ip(),
        "source must be the router's public address"
    );
    assert_ne!(seen.ip(), lab.client_ip());

    server.send_to(b"pong", seen).unwrap();
    let (reply, from) = recv(&client, Duration::from_secs(2)).expect("reply did not come back");
    assert_eq!(reply, b"pong");
    assert_eq!(from, lab.public_addr(4000));
}

/// The public mappings one client socket gets towards two destinations.
fn mappings(lab: &Lab) -> (SocketAddr, SocketAddr) {
    let s1 = lab.public().udp_socket(lab.public_addr(4000)).unwrap();
    let s2 = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip2(), 4001))
        .unwrap();
    let client = lab.client().udp_socket(any()).unwrap();
    let a = probe(&client, &s1, b"one").expect("first probe lost");
    let b = probe(&client, &s2, b"two").expect("second probe lost");
    assert_eq!(a.ip(), lab.router_public_ip());
    assert_eq!(b.ip(), lab.router_public_ip());
    (a, b)
}

#[test]
fn symmetric_gives_a_new_mapping_per_destination_cone_does_not() {
    let Some(sym) = new_lab(RouterProfile::Symmetric) else {
        return;
    };
    let Some(cone) = new_lab(RouterProfile::Cone) else {
        return;
    };

    let (a, b) = mappings(&sym);
    assert_ne!(
        a.port(),
        b.port(),
        "symmetric NAT must map per destination: {a} vs {b}"
    );

    let (a, b) = mappings(&cone);
    assert_eq!(a, b, "cone NAT must keep one mapping for both destinations");
}

#[test]
fn udp_blocked_drops_udp_but_tcp_443_works() {
    let Some(lab) = new_lab(RouterProfile::UdpBlocked) else {
        return;
    };
    let server = lab.public().udp_socket(lab.public_addr(3478)).unwrap();
    let client = lab.client().udp_socket(any()).unwrap();
    assert_eq!(
        probe(&client, &server, b"udp?"),
        None,
        "UDP must be dropped"
    );

    let listener = lab.public().tcp_listener(lab.public_addr(443)).unwrap();
    let conn = lab
        .client()
        .tcp_connect(lab.public_addr(443), Duration::from_secs(2))
        .unwrap();
    assert!(conn.is_ok(), "TCP 443 must pass: {conn:?}");
    let (_, from) = listener.accept().unwrap();
    assert_eq!(from.ip(), lab.router_public_ip());

    let _other = lab.public().tcp_listener(lab.public_addr(5060)).unwrap();
    let conn = lab
        .client()
        .tcp_connect(lab.public_addr(5060), Duration::from_millis(800))
        .unwrap();
    assert!(conn.is_err(), "TCP to other ports must fail");
}

#[test]
fn sip_port_blocked_drops_5060_but_not_5061() {
    let Some(lab) = new_lab(RouterProfile::SipPortBlocked) else {
        return;
    };
    let client = lab.client().udp_socket(any()).unwrap();

    let sip = lab.public().udp_socket(lab.public_addr(5060)).unwrap();
    assert_eq!(
        probe(&client, &sip, b"udp 5060"),
        None,
        "UDP 5060 must be dropped"
    );
    let other = lab.public().udp_socket(lab.public_addr(5062)).unwrap();
    assert!(
        probe(&client, &other, b"udp 5062").is_some(),
        "UDP 5062 must pass"
    );

    let _l5060 = lab.public().tcp_listener(lab.public_addr(5060)).unwrap();
    let _l5061 = lab.public().tcp_listener(lab.public_addr(5061)).unwrap();
    let c = lab.client();
    let blocked = c
        .tcp_connect(lab.public_addr(5060), Duration::from_millis(800))
        .unwrap();
    assert!(blocked.is_err(), "TCP 5060 must be dropped");
    let open = c
        .tcp_connect(lab.public_addr(5061), Duration::from_secs(2))
        .unwrap();
    assert!(open.is_ok(), "TCP 5061 must pass: {open:?}");
}

/// An INVITE whose Via, Contact and SDP carry the client's private address.
fn invite(lab: &Lab) -> String {
    let ip = lab.client_ip();
    let to = lab.public_ip();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    format!(
        "INVITE sip:bob@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK-alg-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{to}>;tag=1\r\n\
         To: <sip:bob@{to}>\r\n\
         Call-ID: alg-test-1@{ip}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:alice@{ip}:5060>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// Sends the INVITE from client port 5060 to public:5060; returns what
/// the public side received.
fn send_invite(lab: &Lab) -> String {
    let server = lab.public().udp_socket(lab.public_addr(5060)).unwrap();
    let client = lab
        .client()
        .udp_socket(SocketAddr::new(lab.client_ip(), 5060))
        .unwrap();
    client
        .send_to(invite(lab).as_bytes(), lab.public_addr(5060))
        .unwrap();
    let (got, _) = recv(&server, Duration::from_secs(2)).expect("INVITE did not arrive");
    String::from_utf8(got).unwrap()
}

#[test]
fn sip_alg_rewrites_private_addresses_and_cone_does_not() {
    let Some(alg) = new_lab(RouterProfile::SipAlg) else {
        return;
    };
    let got = send_invite(&alg);
    let private = alg.client_ip().to_string();
    let public = alg.router_public_ip().to_string();
    for line in got.lines() {
        let l = line.to_ascii_lowercase();
        if l.starts_with("via:") || l.starts_with("contact:") || l.starts_with("c=") {
            assert!(
                line.contains(&public) && !line.contains(&private),
                "ALG should have rewritten {line:?}\nwhole message:\n{got}"
            );
        }
    }
    assert!(got.contains(&format!("c=IN IP4 {public}")), "{got}");

    let Some(cone) = new_lab(RouterProfile::Cone) else {
        return;
    };
    let got = send_invite(&cone);
    assert_eq!(
        got,
        invite(&cone),
        "without the ALG the message must arrive untouched"
    );
}

#[test]
fn short_timeout_sets_udp_conntrack_timeouts_to_30s() {
    let Some(lab) = new_lab(RouterProfile::ShortTimeout) else {
        return;
    };
    assert_eq!(lab.router_udp_timeouts().unwrap(), (30, 30));

    // The conntrack entry of a live flow counts down from at most 30 s.
    let server = lab.public().udp_socket(lab.public_addr(4000)).unwrap();
    let client = lab.client().udp_socket(any()).unwrap();
    let seen = probe(&client, &server, b"a").unwrap();
    server.send_to(b"b", seen).unwrap();
    recv(&client, Duration::from_secs(1)).unwrap();
    probe(&client, &server, b"c").unwrap();
    let entries = lab.router().conntrack_entries().unwrap();
    let entry = entries
        .iter()
        .find(|l| l.contains(" udp ") && l.contains("dport=4000"))
        .unwrap_or_else(|| panic!("no conntrack entry for the flow: {entries:#?}"));
    let secs: u32 = entry.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!((25..=30).contains(&secs), "entry timeout {secs}: {entry}");

    let Some(cone) = new_lab(RouterProfile::Cone) else {
        return;
    };
    assert_eq!(
        cone.router_udp_timeouts().unwrap(),
        (
            homeline_lab::NORMAL_UDP_TIMEOUT,
            homeline_lab::NORMAL_UDP_STREAM_TIMEOUT
        )
    );
}

/// The one slow test (about 33 s): a binding idle for longer than 30 s is
/// gone behind `ShortTimeout`, still there behind `Cone`.
#[test]
fn slow_short_timeout_binding_expires_after_30s_idle() {
    let Some(short) = new_lab(RouterProfile::ShortTimeout) else {
        return;
    };
    let Some(cone) = new_lab(RouterProfile::Cone) else {
        return;
    };
    let setup = |lab: &Lab| {
        let server = lab.public().udp_socket(lab.public_addr(4000)).unwrap();
        let client = lab.client().udp_socket(any()).unwrap();
        let seen = probe(&client, &server, b"open").unwrap();
        server.send_to(b"ok", seen).unwrap();
        recv(&client, Duration::from_secs(1)).expect("positive control failed");
        (server, client, seen)
    };
    let (s1, c1, m1) = setup(&short);
    let (s2, c2, m2) = setup(&cone);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(33));
    s1.send_to(b"late", m1).unwrap();
    s2.send_to(b"late", m2).unwrap();
    assert!(
        recv(&c1, Duration::from_secs(1)).is_none(),
        "ShortTimeout binding still open after {:?}",
        start.elapsed()
    );
    assert!(
        recv(&c2, Duration::from_secs(1)).is_some(),
        "Cone binding closed too early"
    );
}
