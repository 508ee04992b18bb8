//! kamailio and coturn start in a lab and answer through the NAT. Each test
//! needs root and prints `skipped: needs root` otherwise.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use homeline_lab::{CoturnConfig, KamailioConfig, Lab, Role, RouterProfile, SippConfig};
use md5::{Digest, Md5};

fn any() -> SocketAddr {
    "0.0.0.0:0".parse().unwrap()
}

/// Sends `msg` and returns the first SIP message that comes back.
fn exchange(sock: &UdpSocket, dest: SocketAddr, msg: &str) -> String {
    sock.send_to(msg.as_bytes(), dest).unwrap();
    recv_text(sock, Duration::from_secs(3)).expect("no SIP response")
}

fn recv_text(sock: &UdpSocket, wait: Duration) -> Option<String> {
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let start = value.find(&format!("{name}=\""))? + name.len() + 2;
    let len = value[start..].find('"')?;
    Some(&value[start..start + len])
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn register(local: SocketAddr, registrar: SocketAddr, cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{registrar} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-reg-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{host}>;tag=reg1\r\n\
         To: <sip:alice@{host}>\r\n\
         Call-ID: reg-test@{local}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:alice@{local}>\r\n\
         Expires: 600\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        host = registrar.ip()
    )
}

fn digest(challenge: &str, user: &str, password: &str, uri: &str) -> String {
    digest_for("REGISTER", challenge, user, password, uri)
}

fn digest_for(method: &str, challenge: &str, user: &str, password: &str, uri: &str) -> String {
    let realm = param(challenge, "realm").unwrap();
    let nonce = param(challenge, "nonce").unwrap();
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let (nc, cnonce) = ("00000001", "0a4f113b");
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\""
    )
}

#[test]
fn kamailio_answers_options_challenges_registers_and_reaches_the_client_through_the_nat() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "s3cret\"x").tls(5061))
        .unwrap();
    let registrar = k.sip_addr();

    // OPTIONS from the client, through the NAT.
    let sock = lab
        .client()
        .udp_socket(SocketAddr::new(lab.client_ip(), 5070))
        .unwrap();
    let status =
        homeline_lab::probe::sip_options(&sock, registrar, Duration::from_secs(3)).unwrap();
    assert!(status.starts_with("SIP/2.0 200"), "{status}");

    // REGISTER without credentials: 401 with a digest challenge.
    let local = sock.local_addr().unwrap();
    let r = exchange(&sock, registrar, &register(local, registrar, 1, None));
    assert!(r.starts_with("SIP/2.0 401"), "{r}");
    let challenge = header(&r, "WWW-Authenticate")
        .expect("no challenge")
        .to_owned();
    assert!(challenge.starts_with("Digest "), "{challenge}");
    assert_eq!(param(&challenge, "realm"), Some("homeline.test"));
    assert!(param(&challenge, "nonce").is_some(), "{challenge}");
    // rport/received: kamailio saw the router's public address.
    let via = header(&r, "Via").unwrap();
    assert!(
        via.contains(&format!("received={}", lab.router_public_ip())),
        "{via}"
    );

    // A wrong password is challenged again.
    let uri = format!("sip:{registrar}");
    let bad = digest(&challenge, "alice", "wrong", &uri);
    let r = exchange(&sock, registrar, &register(local, registrar, 2, Some(&bad)));
    assert!(r.starts_with("SIP/2.0 401"), "{r}");

    // The right one registers.
    let challenge = header(&r, "WWW-Authenticate").unwrap().to_owned();
    let good = digest(&challenge, "alice", "s3cret\"x", &uri);
    let r = exchange(
        &sock,
        registrar,
        &register(local, registrar, 3, Some(&good)),
    );
    assert!(r.starts_with("SIP/2.0 200"), "{r}\n{}", k.log());

    // A call from the public side reaches the client through its NAT binding.
    let caller = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip2(), 5080))
        .unwrap();
    let c = caller.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:alice@{host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {c};branch=z9hG4bK-inv-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:bob@{c}>;tag=bob1\r\n\
         To: <sip:alice@{host}>\r\n\
         Call-ID: inv-test@{c}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:bob@{c}>\r\n\
         Content-Length: 0\r\n\r\n",
        host = registrar.ip()
    );
    caller.send_to(invite.as_bytes(), registrar).unwrap();
    let mut got = None;
    for _ in 0..5 {
        match recv_text(&sock, Duration::from_secs(2)) {
            Some(m) if m.starts_with("INVITE ") => {
                got = Some(m);
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    let got = got.unwrap_or_else(|| panic!("INVITE did not reach the client\n{}", k.log()));
    assert!(
        got.starts_with(&format!("INVITE sip:alice@{local}")),
        "{got}"
    );

    // TLS: the certificate verifies against the lab CA from the client.
    let ca = k.tls_files().unwrap().ca.clone();
    let tls = k.tls_addr().unwrap();
    let out = lab
        .client()
        .command("openssl")
        .args([
            "s_client",
            "-connect",
            &tls.to_string(),
            "-servername",
            "homeline.test",
        ])
        .arg("-CAfile")
        .arg(&ca)
        .args(["-verify_return_error", "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verification: OK"), "TLS handshake: {text}");
}

#[test]
fn kamailio_restarts_and_serves_other_ports() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let mut k = lab
        .start_kamailio(KamailioConfig::new().user("bob", "pw").ports(&[6060, 8080]))
        .unwrap();
    let sock = lab.client().udp_socket(any()).unwrap();
    for port in [6060, 8080] {
        let s =
            homeline_lab::probe::sip_options(&sock, k.addr(port), Duration::from_secs(3)).unwrap();
        assert!(s.starts_with("SIP/2.0 200"), "{s}");
    }
    k.restart().unwrap();
    let s = homeline_lab::probe::sip_options(&sock, k.addr(6060), Duration::from_secs(3)).unwrap();
    assert!(s.starts_with("SIP/2.0 200"), "{s}");
    k.stop();
    assert!(!k.is_running());
}

const MAGIC: u32 = 0x2112_A442;

/// A STUN request (20-byte header, RFC 8489 §5) with `attrs` appended.
fn stun_request(method: u16, id: [u8; 12], attrs: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(20 + attrs.len());
    m.extend_from_slice(&method.to_be_bytes());
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(&id);
    m.extend_from_slice(attrs);
    m
}

/// (type, value) of each attribute of a STUN message.
fn stun_attrs(msg: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 20;
    while i + 4 <= msg.len() {
        let ty = u16::from_be_bytes([msg[i], msg[i + 1]]);
        let len = u16::from_be_bytes([msg[i + 2], msg[i + 3]]) as usize;
        out.push((ty, msg[i + 4..i + 4 + len].to_vec()));
        i += 4 + len.div_ceil(4) * 4;
    }
    out
}

fn addr_attr(v: &[u8], xor: bool) -> SocketAddr {
    assert_eq!(v[1], 0x01, "IPv4");
    let mut port = u16::from_be_bytes([v[2], v[3]]);
    let mut ip = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
    if xor {
        port ^= (MAGIC >> 16) as u16;
        ip ^= MAGIC;
    }
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)
}

fn stun(sock: &UdpSocket, dest: SocketAddr, req: &[u8]) -> Vec<u8> {
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(req, dest).unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = sock.recv_from(&mut buf).expect("no STUN response");
    assert_eq!(from, dest);
    assert_eq!(&buf[8..20], &req[8..20], "transaction id");
    buf[..n].to_vec()
}

#[test]
fn coturn_answers_stun_binding_on_both_addresses_through_the_nat() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let turn = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret").tls(5349))
        .unwrap();
    let sock = lab.client().udp_socket(any()).unwrap();
    let servers = [(turn.addr(), turn.addr2()), (turn.addr2(), turn.addr())];
    for (i, (server, other)) in servers.into_iter().enumerate() {
        let resp = stun(&sock, server, &stun_request(0x0001, [i as u8; 12], &[]));
        assert_eq!(&resp[0..2], &[0x01, 0x01], "Binding success response");
        let attrs = stun_attrs(&resp);
        let mapped = attrs
            .iter()
            .find(|(t, _)| *t == 0x0020)
            .map(|(_, v)| addr_attr(v, true))
            .expect("XOR-MAPPED-ADDRESS");
        assert_eq!(mapped.ip(), lab.router_public_ip());
        // RFC 5780: OTHER-ADDRESS names the other IP and the alternate port.
        let other_addr = attrs
            .iter()
            .find(|(t, _)| *t == 0x802C)
            .map(|(_, v)| addr_attr(v, false))
            .expect("OTHER-ADDRESS (RFC 5780)");
        assert_eq!(other_addr.port(), turn.alt_port());
        if i == 0 {
            // Behaviour discovery starts at the first address; its partner is
            // the second. (coturn 4.6.1 names its own IP for the second one.)
            assert_eq!(other_addr, SocketAddr::new(other.ip(), turn.alt_port()));
        }
    }

    // TURN Allocate without credentials: 401 (long-term credentials on).
    let requested_transport = [0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0];
    let resp = stun(
        &sock,
        turn.addr(),
        &stun_request(0x0003, [9; 12], &requested_transport),
    );
    assert_eq!(&resp[0..2], &[0x01, 0x13], "Allocate error response");
    let attrs = stun_attrs(&resp);
    let code = attrs
        .iter()
        .find(|(t, _)| *t == 0x0009)
        .expect("ERROR-CODE");
    assert_eq!(u16::from(code.1[2]) * 100 + u16::from(code.1[3]), 401);
    let realm = attrs.iter().find(|(t, _)| *t == 0x0014).expect("REALM");
    assert_eq!(realm.1, b"homeline.test");

    // TURN over TLS: the certificate verifies against the lab CA.
    let ca = turn.tls_files().unwrap().ca.clone();
    for addr in turn.tls_addrs().unwrap() {
        let out = lab
            .client()
            .command("openssl")
            .args(["s_client", "-connect", &addr.to_string(), "-brief"])
            .arg("-CAfile")
            .arg(&ca)
            .arg("-verify_return_error")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("Verification: OK"), "TLS to {addr}: {text}");
    }
}

#[test]
fn kamailio_can_challenge_calls_with_407() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("alice", "pw").auth_calls(true))
        .unwrap();
    let sock = lab.client().udp_socket(any()).unwrap();
    let local = sock.local_addr().unwrap();
    let host = k.sip_addr().ip();
    let invite = format!(
        "INVITE sip:bob@{host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-407-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{host}>;tag=a1\r\n\
         To: <sip:bob@{host}>\r\n\
         Call-ID: call-407@{local}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:alice@{local}>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let r = exchange(&sock, k.sip_addr(), &invite);
    assert!(r.starts_with("SIP/2.0 407"), "{r}");
    let challenge = header(&r, "Proxy-Authenticate").unwrap().to_owned();
    assert!(challenge.starts_with("Digest "), "{challenge}");

    // With credentials the call passes auth and fails only because bob is
    // not registered.
    let auth = digest_for(
        "INVITE",
        &challenge,
        "alice",
        "pw",
        &format!("sip:bob@{host}"),
    );
    let invite = invite.replace("z9hG4bK-407-1", "z9hG4bK-407-2").replace(
        "CSeq: 1 INVITE\r\n",
        &format!("CSeq: 2 INVITE\r\nProxy-Authorization: {auth}\r\n"),
    );
    sock.send_to(invite.as_bytes(), k.sip_addr()).unwrap();
    let mut last = String::new();
    while let Some(m) = recv_text(&sock, Duration::from_secs(3)) {
        last = m;
        if !last.starts_with("SIP/2.0 100") {
            break;
        }
    }
    assert!(last.starts_with("SIP/2.0 404"), "{last}");
}

/// Reads one SIP message from a stream (headers, then Content-Length bytes).
fn read_stream_msg(stream: &mut std::net::TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let len: usize = header(&head, "Content-Length")
                .or_else(|| header(&head, "l"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if pending.len() >= end + 4 + len {
                let msg: Vec<u8> = pending.drain(..end + 4 + len).collect();
                return Some(String::from_utf8_lossy(&msg).into_owned());
            }
        }
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn kamailio_registers_over_tcp_and_calls_back_on_the_same_connection() {
    use std::io::Write;
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(KamailioConfig::new().user("carol", "pw"))
        .unwrap();
    let registrar = k.sip_addr();
    let mut tcp = lab
        .client()
        .tcp_connect(registrar, Duration::from_secs(2))
        .unwrap()
        .unwrap();
    let local = tcp.local_addr().unwrap();
    let mut pending = Vec::new();
    let reg = |cseq: u32, auth: Option<&str>| {
        register(local, registrar, cseq, auth)
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .replace("alice", "carol")
            .replace(
                &format!("<sip:carol@{local}>"),
                &format!("<sip:carol@{local};transport=tcp>"),
            )
    };
    tcp.write_all(reg(1, None).as_bytes()).unwrap();
    let r = read_stream_msg(&mut tcp, &mut pending).unwrap();
    assert!(r.starts_with("SIP/2.0 401"), "{r}");
    let challenge = header(&r, "WWW-Authenticate").unwrap().to_owned();
    let auth = digest(&challenge, "carol", "pw", &format!("sip:{registrar}"));
    tcp.write_all(reg(2, Some(&auth)).as_bytes()).unwrap();
    let r = read_stream_msg(&mut tcp, &mut pending).unwrap();
    assert!(r.starts_with("SIP/2.0 200"), "{r}\n{}", k.log());

    // A caller on the public side: kamailio must use the client's TCP
    // connection (the NAT would not let a new one in).
    let caller = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip2(), 5080))
        .unwrap();
    let c = caller.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:carol@{host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {c};branch=z9hG4bK-tcp-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:bob@{c}>;tag=bob1\r\n\
         To: <sip:carol@{host}>\r\n\
         Call-ID: tcp-inv@{c}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:bob@{c}>\r\n\
         Content-Length: 0\r\n\r\n",
        host = registrar.ip()
    );
    caller.send_to(invite.as_bytes(), registrar).unwrap();
    let got = read_stream_msg(&mut tcp, &mut pending)
        .unwrap_or_else(|| panic!("INVITE did not reach the client over TCP\n{}", k.log()));
    assert!(got.starts_with("INVITE sip:carol@"), "{got}");
}

fn attr(ty: u16, value: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend_from_slice(&ty.to_be_bytes());
    a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    a.extend_from_slice(value);
    while a.len() % 4 != 0 {
        a.push(0);
    }
    a
}

fn xor_addr(addr: SocketAddr) -> Vec<u8> {
    let IpAddr::V4(ip) = addr.ip() else {
        panic!("IPv4 only")
    };
    let mut v = vec![0, 0x01];
    v.extend_from_slice(&(addr.port() ^ (MAGIC >> 16) as u16).to_be_bytes());
    v.extend_from_slice(&(u32::from(ip) ^ MAGIC).to_be_bytes());
    v
}

/// A request with long-term credentials: USERNAME, REALM, NONCE, the
/// given attributes, then MESSAGE-INTEGRITY (RFC 8489 §9.2, §14.5).
fn signed(
    method: u16,
    id: [u8; 12],
    attrs: &[u8],
    user: &str,
    realm: &[u8],
    nonce: &[u8],
    pw: &str,
) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut body = attr(0x0006, user.as_bytes());
    body.extend(attr(0x0014, realm));
    body.extend(attr(0x0015, nonce));
    body.extend_from_slice(attrs);
    // The length in the header covers MESSAGE-INTEGRITY (24 bytes).
    let mut msg = stun_request(method, id, &body);
    msg[2..4].copy_from_slice(&((body.len() + 24) as u16).to_be_bytes());
    let key = Md5::digest(format!("{user}:{}:{pw}", String::from_utf8_lossy(realm)).as_bytes());
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&msg);
    msg.extend(attr(0x0008, &mac.finalize().into_bytes()));
    msg
}

fn find(attrs: &[(u16, Vec<u8>)], ty: u16) -> Option<&Vec<u8>> {
    attrs.iter().find(|(t, _)| *t == ty).map(|(_, v)| v)
}

#[test]
fn coturn_relays_udp_between_the_natted_client_and_a_public_peer() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let turn = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    let sock = lab.client().udp_socket(any()).unwrap();
    let server = turn.addr();
    let transport = attr(0x0019, &[17, 0, 0, 0]);

    let resp = stun(&sock, server, &stun_request(0x0003, [1; 12], &transport));
    let attrs = stun_attrs(&resp);
    let realm = find(&attrs, 0x0014).expect("REALM").clone();
    let nonce = find(&attrs, 0x0015).expect("NONCE").clone();

    let req = signed(
        0x0003, [2; 12], &transport, "alice", &realm, &nonce, "secret",
    );
    let resp = stun(&sock, server, &req);
    let attrs = stun_attrs(&resp);
    assert_eq!(&resp[0..2], &[0x01, 0x03], "Allocate success: {attrs:?}");
    let relayed = addr_attr(find(&attrs, 0x0016).expect("XOR-RELAYED-ADDRESS"), true);
    let mapped = addr_attr(find(&attrs, 0x0020).expect("XOR-MAPPED-ADDRESS"), true);
    assert_eq!(mapped.ip(), lab.router_public_ip());
    assert!(
        relayed.ip() == lab.public_ip() || relayed.ip() == lab.public_ip2(),
        "{relayed}"
    );

    let peer = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip2(), 6000))
        .unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let perm = attr(0x0012, &xor_addr(peer_addr));
    let req = signed(0x0008, [3; 12], &perm, "alice", &realm, &nonce, "secret");
    let resp = stun(&sock, server, &req);
    assert_eq!(
        &resp[0..2],
        &[0x01, 0x08],
        "CreatePermission success: {:?}",
        stun_attrs(&resp)
    );

    // Send indication → the peer gets the data from the relayed address.
    let mut ind = perm.clone();
    ind.extend(attr(0x0013, b"hello peer"));
    sock.send_to(&stun_request(0x0016, [4; 12], &ind), server)
        .unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = peer
        .recv_from(&mut buf)
        .expect("relayed data did not reach the peer");
    assert_eq!(&buf[..n], b"hello peer");
    assert_eq!(from, relayed);

    // The peer answers the relayed address → a Data indication reaches the client.
    peer.send_to(b"hello client", relayed).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("no Data indication");
    assert_eq!(&buf[0..2], &[0x00, 0x17], "Data indication");
    let attrs = stun_attrs(&buf[..n]);
    assert_eq!(
        find(&attrs, 0x0013).map(Vec::as_slice),
        Some(&b"hello client"[..])
    );
    assert_eq!(addr_attr(find(&attrs, 0x0012).unwrap(), true), peer_addr);
}

#[test]
fn sipp_uac_calls_a_sipp_uas_through_the_nat() {
    if homeline_lab::skip_unless_installed(&["sipp"]) {
        return;
    }
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    // start_sipp returns once the UAS has bound its port: no sleep.
    let uas = lab.start_sipp(SippConfig::uas().calls(1)).unwrap();
    let mut uac = lab
        .start_sipp(
            SippConfig::uac(&uas.sip_addr().to_string())
                .on(Role::Client)
                .port(5071)
                .calls(1)
                .args(&["-timeout", "15s", "-timeout_error"]),
        )
        .unwrap();
    let status = uac.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(
        status.success(),
        "sipp uac: {status}\n{}\n{}\nuas: {}",
        uac.log(),
        uac.errors(),
        uas.log()
    );
    // The UAS traced the call it answered.
    assert!(
        uas.messages().contains("INVITE sip:service@"),
        "{}",
        uas.messages()
    );
}
