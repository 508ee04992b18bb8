//! kamailio's WebSocket listeners (RFC 7118): a raw WebSocket client (RFC
//! 6455 handshake and masked frames over a TcpStream) registers through the
//! NAT over `ws://` and gets a call on its connection, and `wss://` answers
//! a REGISTER through `openssl s_client`. Needs root; prints `skipped: needs root` otherwise.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use homeline_lab::{KamailioConfig, Lab, RouterProfile};
use md5::{Digest, Md5};

/// RFC 6455 §1.3's example key and the accept value it must produce.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn upgrade(host: SocketAddr, protocol: Option<&str>) -> String {
    let proto = protocol
        .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
        .unwrap_or_default();
    format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{proto}\
         Origin: http://{host}\r\n\r\n"
    )
}

/// A masked text frame (clients must mask, RFC 6455 §5.3).
fn frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads bytes until `buf` holds a full HTTP head; returns it.
fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut b = [0u8; 4096];
        let n = s.read(&mut b).expect("handshake answer");
        assert!(n > 0, "closed during handshake");
        buf.extend_from_slice(&b[..n]);
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    String::from_utf8_lossy(&buf.drain(..end).collect::<Vec<_>>()).into_owned()
}

/// Reads the next text or binary frame's payload (unmasked, from the
/// server), skipping pings.
fn read_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    loop {
        if buf.len() >= 2 {
            let op = buf[0] & 0x0F;
            let (len, at) = match buf[1] & 0x7F {
                126 if buf.len() >= 4 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
                126 => (usize::MAX, 0),
                n => (usize::from(n), 2),
            };
            if len != usize::MAX && buf.len() >= at + len {
                let payload: Vec<u8> = buf.drain(..at + len).skip(at).collect();
                if op == 1 || op == 2 {
                    return String::from_utf8_lossy(&payload).into_owned();
                }
                continue;
            }
        }
        let mut b = [0u8; 4096];
        let n = s.read(&mut b).expect("WebSocket frame");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&b[..n]);
    }
}

fn register(server: SocketAddr, cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{host} SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{host}>;tag=ws1\r\n\
         To: <sip:alice@{host}>\r\n\
         Call-ID: ws-reg@df7jal23ls0d.invalid\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\n\
         Expires: 600\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        host = server.ip()
    )
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn param<'a>(value: &'a str, name: &str) -> &'a str {
    let start = value.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let len = value[start..].find('"').unwrap();
    &value[start..start + len]
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn kamailio_registers_a_websocket_client_through_the_nat() {
    if homeline_lab::skip_unless_installed(&["kamailio"]) {
        return;
    }
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-ws")
                .websocket(8080)
                .websocket_tls(8443),
        )
        .unwrap();
    let ws = k.ws_addr().unwrap();
    let connect = || {
        let s = lab
            .client()
            .tcp_connect(ws, Duration::from_secs(2))
            .unwrap()
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s
    };

    // Without the `sip` subprotocol the upgrade is refused.
    let mut s = connect();
    s.write_all(upgrade(ws, None).as_bytes()).unwrap();
    let head = read_head(&mut s, &mut Vec::new());
    eprintln!("without `sip`: {}", head.lines().next().unwrap_or_default());
    assert!(head.starts_with("HTTP/1.1 4"), "{head}");

    let mut s = connect();
    let mut buf = Vec::new();
    s.write_all(upgrade(ws, Some("sip")).as_bytes()).unwrap();
    let head = read_head(&mut s, &mut buf);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}\n{}", k.log());
    assert_eq!(
        header(&head, "Sec-WebSocket-Accept"),
        Some(ACCEPT),
        "{head}"
    );
    assert_eq!(header(&head, "Sec-WebSocket-Protocol"), Some("sip"));

    s.write_all(&frame(&register(ws, 1, None))).unwrap();
    let r = read_frame(&mut s, &mut buf);
    assert!(r.starts_with("SIP/2.0 401"), "{r}");
    let challenge = header(&r, "WWW-Authenticate").unwrap().to_owned();
    // kamailio saw the router's public address as the client's.
    let via = header(&r, "Via").unwrap();
    assert!(
        via.contains(&format!("received={}", lab.router_public_ip())),
        "{via}"
    );

    let (realm, nonce) = (param(&challenge, "realm"), param(&challenge, "nonce"));
    let uri = format!("sip:{}", ws.ip());
    let ha1 = md5_hex(&format!("alice:{realm}:pw-ws"));
    let ha2 = md5_hex(&format!("REGISTER:{uri}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    let auth = format!(
        "Digest username=\"alice\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""
    );
    s.write_all(&frame(&register(ws, 2, Some(&auth)))).unwrap();
    let r = read_frame(&mut s, &mut buf);
    assert!(r.starts_with("SIP/2.0 200"), "{r}\n{}", k.log());
    let contact = header(&r, "Contact").unwrap();
    assert!(contact.contains("transport=ws"), "{contact}");

    // A call from the public side reaches the client on its WebSocket.
    let caller = lab
        .public()
        .udp_socket(SocketAddr::new(lab.public_ip2(), 5080))
        .unwrap();
    let c = caller.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:alice@{host} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {c};branch=z9hG4bK-ws-inv;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:bob@{c}>;tag=bob1\r\n\
         To: <sip:alice@{host}>\r\n\
         Call-ID: ws-inv@{c}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:bob@{c}>\r\n\
         Content-Length: 0\r\n\r\n",
        host = k.sip_addr().ip()
    );
    caller.send_to(invite.as_bytes(), k.sip_addr()).unwrap();
    let got = read_frame(&mut s, &mut buf);
    assert!(
        got.starts_with("INVITE sip:alice@df7jal23ls0d.invalid"),
        "{got}\n{}",
        k.log()
    );
}

#[test]
fn kamailio_answers_a_register_over_secure_websocket() {
    if homeline_lab::skip_unless_installed(&["kamailio", "openssl"]) {
        return;
    }
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw")
                .websocket_tls(8443),
        )
        .unwrap();
    let wss = k.wss_addr().unwrap();
    let ca = k.tls_files().unwrap().ca.clone();
    // openssl s_client carries the bytes; the certificate must verify.
    let mut child: std::process::Child = lab
        .client()
        .command("openssl")
        .args(["s_client", "-quiet", "-connect", &wss.to_string()])
        .args(["-servername", "homeline.test", "-verify_return_error"])
        .arg("-CAfile")
        .arg(&ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut b) {
            if n == 0 || tx.send(b[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    let wait_for = |needle: &str, got: &mut Vec<u8>| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !String::from_utf8_lossy(got).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => got.extend(chunk),
                Err(_) => return false,
            }
        }
        true
    };
    stdin
        .write_all(upgrade(wss, Some("sip")).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let upgraded = wait_for("\r\n\r\n", &mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(
        upgraded && text.starts_with("HTTP/1.1 101"),
        "{text}\n{}",
        k.log()
    );
    stdin.write_all(&frame(&register(wss, 1, None))).unwrap();
    stdin.flush().unwrap();
    let answered = wait_for("SIP/2.0 401", &mut got);
    drop(stdin);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let _ = reader.join();
    assert!(
        answered,
        "no 401 over wss: {}\nopenssl: {}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&out.stderr)
    );
}
