//! Just enough STUN (RFC 5389) for the RFC 5626 §4.4.2 keep-alive, built and read by hand:
//! a Binding Request without attributes, and a Binding response read for its transaction id,
//! its class and the mapped address. No MESSAGE-INTEGRITY or FINGERPRINT: the keep-alive is
//! unauthenticated (RFC 5626 §4.4.2 uses the plain Binding usage of RFC 5389 §13).
//!
//! Everything read comes from the network, so every access is bounds-checked: malformed input
//! gives `None`, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// RFC 5389 §6: the fixed value in bytes 4–7 of every STUN message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// RFC 5389 §6: every STUN message starts with a 20-byte header.
pub const HEADER_LEN: usize = 20;

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const BINDING_ERROR: u16 = 0x0111;
const MAPPED_ADDRESS: u16 = 0x0001;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const FAMILY_V4: u8 = 0x01;
const FAMILY_V6: u8 = 0x02;

/// The 96-bit transaction id of a STUN transaction (RFC 5389 §6).
pub type TransactionId = [u8; 12];

/// True when a datagram is STUN rather than SIP, by its first byte (RFC 7983 §7: 0–3 is
/// STUN; SIP starts with a letter, or with CR/LF for a keep-alive). Lets a driver demultiplex
/// one UDP socket before handing SIP to [`crate::receive_datagram`] and STUN to
/// [`super::KeepAlive::handle_stun`].
pub fn is_stun(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0..=3))
}

/// A Binding Request with no attributes (RFC 5389 §6, §13).
pub fn binding_request(id: &TransactionId) -> Vec<u8> {
    header(BINDING_REQUEST, 0, id)
}

/// A Binding success response with an XOR-MAPPED-ADDRESS (RFC 5389 §15.2), as a STUN
/// server sends it: for tests and simulated servers.
pub fn binding_success(id: &TransactionId, mapped: SocketAddr) -> Vec<u8> {
    let port = mapped.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let (family, addr): (u8, Vec<u8>) = match mapped.ip() {
        IpAddr::V4(ip) => (FAMILY_V4, xor(&ip.octets(), id)),
        IpAddr::V6(ip) => (FAMILY_V6, xor(&ip.octets(), id)),
    };
    let value_len = 4 + addr.len();
    let mut out = header(BINDING_SUCCESS, 4 + value_len as u16, id);
    out.extend_from_slice(&XOR_MAPPED_ADDRESS.to_be_bytes());
    out.extend_from_slice(&(value_len as u16).to_be_bytes());
    out.extend_from_slice(&[0, family]);
    out.extend_from_slice(&port.to_be_bytes());
    out.extend_from_slice(&addr);
    out
}

/// What a Binding response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingResponse {
    /// The transaction it answers.
    pub transaction_id: TransactionId,
    /// Success (true) or error response (false).
    pub success: bool,
    /// XOR-MAPPED-ADDRESS (or the legacy MAPPED-ADDRESS): our address as the server sees it.
    pub mapped: Option<SocketAddr>,
}

/// Reads a Binding success or error response (RFC 5389 §7.3: the top two bits zero, the
/// magic cookie, a length that is a multiple of 4 and matches the datagram). Anything else,
/// including requests, indications and truncated or malformed messages, is `None`.
pub fn parse_binding_response(bytes: &[u8]) -> Option<BindingResponse> {
    let head = bytes.get(..HEADER_LEN)?;
    let kind = be16(head, 0)?;
    let length = usize::from(be16(head, 2)?);
    if head.first()? & 0xC0 != 0
        || be32(head, 4)? != MAGIC_COOKIE
        || length % 4 != 0
        || HEADER_LEN + length != bytes.len()
    {
        return None;
    }
    let success = match kind {
        BINDING_SUCCESS => true,
        BINDING_ERROR => false,
        _ => return None,
    };
    let transaction_id: TransactionId = head.get(8..20)?.try_into().ok()?;
    let mut mapped = None;
    let mut xor_mapped = None;
    let mut at = HEADER_LEN;
    while at + 4 <= bytes.len() {
        let attr = be16(bytes, at)?;
        let len = usize::from(be16(bytes, at + 2)?);
        let value = bytes.get(at + 4..at + 4 + len)?;
        match attr {
            XOR_MAPPED_ADDRESS => xor_mapped = address(value, Some(&transaction_id)),
            MAPPED_ADDRESS => mapped = address(value, None),
            _ => {}
        }
        // Values are padded to a multiple of 4 (RFC 5389 §15).
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(BindingResponse {
        transaction_id,
        success,
        mapped: xor_mapped.or(mapped),
    })
}

fn header(kind: u16, length: u16, id: &TransactionId) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + usize::from(length));
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(id);
    out
}

/// An address attribute value (RFC 5389 §15.1, §15.2); XORed when `xor_id` is given.
fn address(value: &[u8], xor_id: Option<&TransactionId>) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let mut port = be16(value, 2)?;
    let raw = match family {
        FAMILY_V4 => value.get(4..8)?,
        FAMILY_V6 => value.get(4..20)?,
        _ => return None,
    };
    let bytes = match xor_id {
        Some(id) => {
            port ^= (MAGIC_COOKIE >> 16) as u16;
            xor(raw, id)
        }
        None => raw.to_vec(),
    };
    let ip = match family {
        FAMILY_V4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes.as_slice()).ok()?)),
        _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes.as_slice()).ok()?)),
    };
    Some(SocketAddr::new(ip, port))
}

/// XOR with the magic cookie followed by the transaction id (RFC 5389 §15.2).
fn xor(bytes: &[u8], id: &TransactionId) -> Vec<u8> {
    MAGIC_COOKIE
        .to_be_bytes()
        .iter()
        .chain(id.iter())
        .zip(bytes)
        .map(|(k, b)| k ^ b)
        .collect()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: TransactionId = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    #[test]
    fn request_is_a_bare_20_byte_header() {
        let r = binding_request(&ID);
        assert_eq!(r.len(), HEADER_LEN);
        assert_eq!(&r[..8], &[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]);
        assert_eq!(&r[8..], &ID);
        assert!(is_stun(&r));
    }

    /// RFC 5769 §2.2/§2.3: the test vectors' XOR-MAPPED-ADDRESS values (192.0.2.1:32853 and
    /// 2001:db8:1234:5678:11:2233:4455:6677 port 32853), read without the integrity
    /// attributes we do not check.
    #[test]
    fn rfc5769_xor_mapped_addresses() {
        let v4 = [
            0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
            0xe1, 0x12, 0xa6, 0x43,
        ];
        let r = parse_binding_response(&v4).unwrap();
        assert!(r.success);
        assert_eq!(r.transaction_id, ID);
        assert_eq!(r.mapped, Some("192.0.2.1:32853".parse().unwrap()));
        let v6 = [
            0x01, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
            0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2,
            0xb9, 0xd9,
        ];
        let r = parse_binding_response(&v6).unwrap();
        assert_eq!(
            r.mapped,
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
        // Our own builder writes the same bytes.
        assert_eq!(
            binding_success(&ID, "192.0.2.1:32853".parse().unwrap()),
            v4.to_vec()
        );
        assert_eq!(
            binding_success(
                &ID,
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            ),
            v6.to_vec()
        );
    }

    #[test]
    fn plain_mapped_address_error_responses_and_unknown_attributes() {
        // An unknown attribute with padding (length 5), then MAPPED-ADDRESS 198.51.100.7:5060.
        let mut m = header(BINDING_SUCCESS, 12 + 12, &ID);
        m.extend_from_slice(&[
            0x80, 0x22, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o', 0, 0, 0,
        ]);
        m.extend_from_slice(&[
            0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x13, 0xc4, 198, 51, 100, 7,
        ]);
        let r = parse_binding_response(&m).unwrap();
        assert_eq!(r.mapped, Some("198.51.100.7:5060".parse().unwrap()));
        let e = header(BINDING_ERROR, 0, &ID);
        assert!(!parse_binding_response(&e).unwrap().success);
    }

    #[test]
    fn what_is_not_a_binding_response_is_none() {
        let ok = binding_success(&ID, "192.0.2.1:1".parse().unwrap());
        assert!(
            parse_binding_response(&binding_request(&ID)).is_none(),
            "a request"
        );
        let mut bad = ok.clone();
        bad[4] ^= 1;
        assert!(parse_binding_response(&bad).is_none(), "wrong cookie");
        assert!(
            parse_binding_response(&ok[..ok.len() - 1]).is_none(),
            "truncated"
        );
        let mut long = ok.clone();
        long.extend_from_slice(&[0; 4]);
        assert!(parse_binding_response(&long).is_none(), "length mismatch");
        let mut top = ok.clone();
        top[0] |= 0x40;
        assert!(parse_binding_response(&top).is_none(), "top bits set");
        // An attribute claiming more than there is: the message is malformed.
        let mut over = header(BINDING_SUCCESS, 4, &ID);
        over.extend_from_slice(&[0x00, 0x20, 0x00, 0x40]);
        assert!(parse_binding_response(&over).is_none());
        // An address attribute too short for its family.
        let mut short = header(BINDING_SUCCESS, 8, &ID);
        short.extend_from_slice(&[0x00, 0x20, 0x00, 0x04, 0x00, 0x02, 0x00, 0x01]);
        assert_eq!(parse_binding_response(&short).unwrap().mapped, None);
    }

    #[test]
    fn demultiplexing_by_the_first_byte() {
        assert!(is_stun(&[0x00]) && is_stun(&[0x03, 1, 2]));
        for sip in [
            &b"SIP/2.0 200 OK"[..],
            b"INVITE sip:a@b SIP/2.0",
            b"\r\n\r\n",
            b"",
        ] {
            assert!(!is_stun(sip), "{sip:?}");
        }
        assert!(
            !is_stun(&[0x04]) && !is_stun(&[0x80, 0]),
            "ZRTP/DTLS/RTP ranges"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = crate::rng::Rng::new(11);
        let ok = binding_success(&ID, "192.0.2.1:32853".parse().unwrap());
        for round in 0..20_000 {
            let len = rng.below(64) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            if round % 2 == 0 {
                // Mostly valid header, random tail: reaches the attribute walk.
                bytes = ok.clone();
                let flips = 1 + rng.below(4);
                for _ in 0..flips {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] = rng.next_u64() as u8;
                }
                bytes.truncate(HEADER_LEN + 4 * rng.below(4) as usize);
                let len = (bytes.len() - HEADER_LEN) as u16;
                bytes[2..4].copy_from_slice(&len.to_be_bytes());
            }
            let _ = is_stun(&bytes);
            let _ = parse_binding_response(&bytes);
        }
    }
}
