//! Tiny raw probes used to tell that a server is up: a SIP OPTIONS over UDP
//! and a STUN Binding request (RFC 8489 §5, no attributes).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SEQ: AtomicU64 = AtomicU64::new(1);

/// Sends a SIP OPTIONS request from `sock` to `dest` and returns the status
/// line of the first SIP response that arrives within `timeout`.
pub fn sip_options(sock: &UdpSocket, dest: SocketAddr, timeout: Duration) -> io::Result<String> {
    let local = sock.local_addr()?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let msg = format!(
        "OPTIONS sip:{dest} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-lab-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag=lab{n}\r\n\
         To: <sip:{dest}>\r\n\
         Call-ID: lab-probe-{n}@{local}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    sock.set_read_timeout(Some(timeout))?;
    sock.send_to(msg.as_bytes(), dest)?;
    let mut buf = [0u8; 4096];
    loop {
        let (len, _) = sock.recv_from(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..len]);
        if text.starts_with("SIP/2.0 ") && text.contains(&format!("lab-probe-{n}@")) {
            return Ok(text.lines().next().unwrap_or_default().to_owned());
        }
    }
}

/// Sends a STUN Binding request from `sock` to `dest` and returns the
/// XOR-MAPPED-ADDRESS (IPv4) of the success response.
pub fn stun_binding(
    sock: &UdpSocket,
    dest: SocketAddr,
    timeout: Duration,
) -> io::Result<SocketAddr> {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut req = [0u8; 20];
    req[0..2].copy_from_slice(&0x0001u16.to_be_bytes());
    req[4..8].copy_from_slice(&MAGIC.to_be_bytes());
    req[8..16].copy_from_slice(&n.to_be_bytes());
    req[16..20].copy_from_slice(b"hlab");
    sock.set_read_timeout(Some(timeout))?;
    sock.send_to(&req, dest)?;
    let mut buf = [0u8; 1500];
    loop {
        let (len, _) = sock.recv_from(&mut buf)?;
        if len >= 20 && buf[0..2] == [0x01, 0x01] && buf[8..20] == req[8..20] {
            return xor_mapped(&buf[..len]).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "no XOR-MAPPED-ADDRESS in response",
                )
            });
        }
    }
}

const MAGIC: u32 = 0x2112_A442;

fn xor_mapped(msg: &[u8]) -> Option<SocketAddr> {
    let mut i = 20;
    while i + 4 <= msg.len() {
        let ty = u16::from_be_bytes([msg[i], msg[i + 1]]);
        let len = usize::from(u16::from_be_bytes([msg[i + 2], msg[i + 3]]));
        let v = msg.get(i + 4..i + 4 + len)?;
        if ty == 0x0020 && len == 8 && v[1] == 0x01 {
            let port = u16::from_be_bytes([v[2], v[3]]) ^ (MAGIC >> 16) as u16;
            let ip = u32::from_be_bytes([v[4], v[5], v[6], v[7]]) ^ MAGIC;
            return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port));
        }
        i += 4 + len.div_ceil(4) * 4;
    }
    None
}
