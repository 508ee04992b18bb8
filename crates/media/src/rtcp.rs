//! RTCP packets (RFC 3550 §6.4-6.6): SR, RR, SDES, BYE, and compound packets (§6.1).
//! Other packet types (APP, feedback) are kept opaque as [`RtcpPacket::Other`].

/// Why bytes are not a valid RTCP (compound) packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet truncated: needs {need} bytes, has {have}")]
    Truncated { need: usize, have: usize },
    #[error("RTCP version is {0}, not 2")]
    BadVersion(u8),
    #[error("RTCP padding is invalid")]
    BadPadding,
    #[error("RTCP {0} packet body is malformed")]
    Malformed(&'static str),
    #[error("RTCP compound packet is empty")]
    Empty,
    #[error("RTCP field out of range: {0}")]
    FieldRange(&'static str),
}

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;

/// SDES item type CNAME (RFC 3550 §6.5.1).
pub const SDES_CNAME: u8 = 1;

/// A reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the last report, fixed point /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, 24-bit signed (duplicates can make it negative).
    pub cumulative_lost: i32,
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from `ssrc`.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    /// 64-bit NTP timestamp (seconds since 1900 in the high 32 bits).
    pub ntp_timestamp: u64,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    pub ssrc: u32,
    /// `(item type, value)`; type 0 (END) never appears here.
    pub items: Vec<(u8, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bye {
    pub sources: Vec<u32>,
    pub reason: Option<Vec<u8>>,
}

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    Sdes(Vec<SdesChunk>),
    Bye(Bye),
    /// Any other type, body kept verbatim (without the 4-byte header).
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_blocks(b: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    if b.len() < count * 24 {
        return Err(RtcpError::Malformed("report block"));
    }
    Ok((0..count)
        .map(|i| {
            let o = i * 24;
            let raw = be32(b, o + 4);
            // 24-bit two's complement → i32.
            let cum = ((raw << 8) as i32) >> 8;
            ReportBlock {
                ssrc: be32(b, o),
                fraction_lost: (raw >> 24) as u8,
                cumulative_lost: cum,
                extended_highest_seq: be32(b, o + 8),
                jitter: be32(b, o + 12),
                last_sr: be32(b, o + 16),
                delay_since_last_sr: be32(b, o + 20),
            }
        })
        .collect())
}

fn parse_sdes(b: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(count);
    let mut pos = 0;
    for _ in 0..count {
        if b.len() < pos + 4 {
            return Err(RtcpError::Malformed("SDES chunk"));
        }
        let ssrc = be32(b, pos);
        pos += 4;
        let mut items = Vec::new();
        loop {
            let Some(&ty) = b.get(pos) else {
                return Err(RtcpError::Malformed("SDES items"));
            };
            if ty == 0 {
                // END, then pad to the next 32-bit boundary (RFC 3550 §6.5).
                pos += 1;
                pos = pos.div_ceil(4) * 4;
                break;
            }
            let len = *b.get(pos + 1).ok_or(RtcpError::Malformed("SDES item"))? as usize;
            let end = pos + 2 + len;
            if b.len() < end {
                return Err(RtcpError::Malformed("SDES item"));
            }
            items.push((ty, b[pos + 2..end].to_vec()));
            pos = end;
        }
        if pos > b.len() {
            return Err(RtcpError::Malformed("SDES padding"));
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

fn parse_one(pt: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let count_us = count as usize;
    Ok(match pt {
        PT_SR => {
            if body.len() < 24 {
                return Err(RtcpError::Malformed("SR"));
            }
            RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(body, 0),
                ntp_timestamp: (be32(body, 4) as u64) << 32 | be32(body, 8) as u64,
                rtp_timestamp: be32(body, 12),
                packet_count: be32(body, 16),
                octet_count: be32(body, 20),
                reports: parse_blocks(&body[24..], count_us)?,
            })
        }
        PT_RR => {
            if body.len() < 4 {
                return Err(RtcpError::Malformed("RR"));
            }
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be32(body, 0),
                reports: parse_blocks(&body[4..], count_us)?,
            })
        }
        PT_SDES => RtcpPacket::Sdes(parse_sdes(body, count_us)?),
        PT_BYE => {
            if body.len() < 4 * count_us {
                return Err(RtcpError::Malformed("BYE"));
            }
            let sources = (0..count_us).map(|i| be32(body, 4 * i)).collect();
            let rest = &body[4 * count_us..];
            let reason = match rest.first() {
                Some(&len) if len > 0 => {
                    let end = 1 + len as usize;
                    if rest.len() < end {
                        return Err(RtcpError::Malformed("BYE reason"));
                    }
                    Some(rest[1..end].to_vec())
                }
                _ => None,
            };
            RtcpPacket::Bye(Bye { sources, reason })
        }
        _ => RtcpPacket::Other {
            packet_type: pt,
            count,
            body: body.to_vec(),
        },
    })
}

/// Parses a compound RTCP packet (RFC 3550 §6.1, validity checks of §A.2: version 2 on every
/// packet, lengths adding up to the datagram, padding only on the last packet). Reduced-size
/// RTCP (RFC 5506, a single non-report packet) is accepted too.
pub fn parse_compound(b: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if b.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        if b.len() < pos + 4 {
            return Err(RtcpError::Truncated {
                need: pos + 4,
                have: b.len(),
            });
        }
        let v = b[pos] >> 6;
        if v != 2 {
            return Err(RtcpError::BadVersion(v));
        }
        let padding = b[pos] & 0x20 != 0;
        let count = b[pos] & 0x1f;
        let pt = b[pos + 1];
        let len = (u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize + 1) * 4;
        let end = pos + len;
        if b.len() < end {
            return Err(RtcpError::Truncated {
                need: end,
                have: b.len(),
            });
        }
        let mut body = &b[pos + 4..end];
        if padding {
            if end != b.len() {
                return Err(RtcpError::BadPadding);
            }
            let p = *body.last().ok_or(RtcpError::BadPadding)? as usize;
            if p == 0 || p > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - p];
        }
        out.push(parse_one(pt, count, body)?);
        pos = end;
    }
    Ok(out)
}

fn write_blocks(out: &mut Vec<u8>, blocks: &[ReportBlock]) {
    for r in blocks {
        out.extend_from_slice(&r.ssrc.to_be_bytes());
        let cum = (r.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.extend_from_slice(&(((r.fraction_lost as u32) << 24) | cum).to_be_bytes());
        out.extend_from_slice(&r.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&r.jitter.to_be_bytes());
        out.extend_from_slice(&r.last_sr.to_be_bytes());
        out.extend_from_slice(&r.delay_since_last_sr.to_be_bytes());
    }
}

impl RtcpPacket {
    /// Appends the wire form (header included, no padding) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let start = out.len();
        let (pt, count) = match self {
            RtcpPacket::SenderReport(sr) => (PT_SR, sr.reports.len()),
            RtcpPacket::ReceiverReport(rr) => (PT_RR, rr.reports.len()),
            RtcpPacket::Sdes(c) => (PT_SDES, c.len()),
            RtcpPacket::Bye(b) => (PT_BYE, b.sources.len()),
            RtcpPacket::Other {
                packet_type, count, ..
            } => (*packet_type, *count as usize),
        };
        if count > 31 {
            return Err(RtcpError::FieldRange("more than 31 items in one packet"));
        }
        out.extend_from_slice(&[0x80 | count as u8, pt, 0, 0]);
        match self {
            RtcpPacket::SenderReport(sr) => {
                out.extend_from_slice(&sr.ssrc.to_be_bytes());
                out.extend_from_slice(&sr.ntp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.packet_count.to_be_bytes());
                out.extend_from_slice(&sr.octet_count.to_be_bytes());
                write_blocks(out, &sr.reports);
            }
            RtcpPacket::ReceiverReport(rr) => {
                out.extend_from_slice(&rr.ssrc.to_be_bytes());
                write_blocks(out, &rr.reports);
            }
            RtcpPacket::Sdes(chunks) => {
                for c in chunks {
                    out.extend_from_slice(&c.ssrc.to_be_bytes());
                    for (ty, v) in &c.items {
                        if *ty == 0 || v.len() > 255 {
                            return Err(RtcpError::FieldRange("SDES item type 0 or > 255 bytes"));
                        }
                        out.push(*ty);
                        out.push(v.len() as u8);
                        out.extend_from_slice(v);
                    }
                    // END item plus padding to 32 bits: at least one zero byte.
                    out.push(0);
                    while !(out.len() - start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
            }
            RtcpPacket::Bye(b) => {
                for s in &b.sources {
                    out.extend_from_slice(&s.to_be_bytes());
                }
                if let Some(r) = &b.reason {
                    if r.len() > 255 {
                        return Err(RtcpError::FieldRange("BYE reason > 255 bytes"));
                    }
                    out.push(r.len() as u8);
                    out.extend_from_slice(r);
                    while !(out.len() - start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
            }
            RtcpPacket::Other { body, .. } => {
                if body.len() % 4 != 0 {
                    return Err(RtcpError::FieldRange("body not a multiple of 4 bytes"));
                }
                out.extend_from_slice(body);
            }
        }
        let words = (out.len() - start) / 4 - 1;
        if words > u16::MAX as usize {
            return Err(RtcpError::FieldRange("packet longer than 256 KiB"));
        }
        out[start + 2..start + 4].copy_from_slice(&(words as u16).to_be_bytes());
        Ok(())
    }
}

/// Serializes a compound packet.
pub fn serialize_compound(packets: &[RtcpPacket]) -> Result<Vec<u8>, RtcpError> {
    let mut out = Vec::with_capacity(128);
    for p in packets {
        p.write_to(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: u32) -> ReportBlock {
        ReportBlock {
            ssrc: n,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_seq: 0x1_0005,
            jitter: 77,
            last_sr: 0xabcd_0123,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn compound_round_trip() {
        let pkts = vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 1,
                ntp_timestamp: 0x0123_4567_89ab_cdef,
                rtp_timestamp: 160,
                packet_count: 10,
                octet_count: 1600,
                reports: vec![block(2)],
            }),
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 1,
                reports: vec![block(3), block(4)],
            }),
            RtcpPacket::Sdes(vec![SdesChunk {
                ssrc: 1,
                items: vec![(SDES_CNAME, b"homeline@host".to_vec())],
            }]),
            RtcpPacket::Bye(Bye {
                sources: vec![1],
                reason: Some(b"bye".to_vec()),
            }),
        ];
        let b = serialize_compound(&pkts).unwrap();
        assert_eq!(b.len() % 4, 0);
        assert_eq!(&b[..4], &[0x81, 200, 0, 12]); // 28 + 24 bytes = 13 words
        assert_eq!(parse_compound(&b).unwrap(), pkts);
    }

    #[test]
    fn sdes_exact_multiple_gets_end_word() {
        // CNAME of 2 bytes: 4 (ssrc) + 2 + 2 = 8, END needs a whole extra word.
        let p = RtcpPacket::Sdes(vec![SdesChunk {
            ssrc: 9,
            items: vec![(1, b"ab".to_vec())],
        }]);
        let b = serialize_compound(std::slice::from_ref(&p)).unwrap();
        assert_eq!(b.len(), 4 + 12);
        assert_eq!(parse_compound(&b).unwrap(), vec![p]);
    }

    #[test]
    fn padding_only_on_last() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 5,
            reports: vec![],
        });
        let mut b = serialize_compound(std::slice::from_ref(&rr)).unwrap();
        b[0] |= 0x20;
        b[3] = 2; // 3 words: 4 header + 4 ssrc + 4 padding
        b.extend_from_slice(&[0, 0, 0, 4]);
        assert_eq!(parse_compound(&b).unwrap(), vec![rr.clone()]);
        let mut two = b.clone();
        two.extend_from_slice(&serialize_compound(&[rr]).unwrap());
        assert_eq!(parse_compound(&two), Err(RtcpError::BadPadding));
    }

    #[test]
    fn malformed_never_panics() {
        assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
        assert!(parse_compound(&[0x80, 200, 0, 0]).is_err());
        assert!(parse_compound(&[0x80, 201, 0, 5, 0, 0, 0, 0]).is_err());
        assert!(parse_compound(&[0x40, 201, 0, 0]).is_err());
        let valid = serialize_compound(&[
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 1,
                reports: vec![block(7)],
            }),
            RtcpPacket::Sdes(vec![SdesChunk {
                ssrc: 1,
                items: vec![(1, b"x@y".to_vec())],
            }]),
            RtcpPacket::Bye(Bye {
                sources: vec![1, 2],
                reason: None,
            }),
        ])
        .unwrap();
        let mut rng = crate::rng::SplitMix64::new(99);
        for _ in 0..50_000 {
            let mut v = valid.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(v.len() as u64) as usize;
                match rng.below(3) {
                    0 => v[i] = rng.next_u32() as u8,
                    1 => v.truncate(i),
                    _ => v[i] ^= 1 << rng.below(8),
                }
                if v.is_empty() {
                    v.push(0x80);
                }
            }
            if let Ok(p) = parse_compound(&v) {
                // Whatever parses re-serializes (Other bodies may be unaligned: skip those).
                if let Ok(bytes) = serialize_compound(&p) {
                    let _ = parse_compound(&bytes).unwrap();
                }
            }
        }
    }
}
