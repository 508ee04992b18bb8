//! RTP packets (RFC 3550 §5.1) and first-byte demultiplexing (RFC 5761 §4, RFC 7983).

/// Why bytes are not a valid RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet is {0} bytes, shorter than the 12-byte header")]
    TooShort(usize),
    #[error("RTP version is {0}, not 2")]
    BadVersion(u8),
    #[error("RTP CSRC list ({0} entries) runs past the end of the packet")]
    CsrcTruncated(u8),
    #[error("RTP header extension runs past the end of the packet")]
    ExtensionTruncated,
    #[error("RTP padding count {0} is zero or larger than the payload")]
    BadPadding(u8),
    #[error("RTP header field out of range: {0}")]
    FieldRange(&'static str),
}

/// A header extension (RFC 3550 §5.3.1), kept opaque: `profile` is the 16-bit
/// "defined by profile" word, `data` a multiple of 4 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpExtension {
    pub profile: u16,
    pub data: Vec<u8>,
}

/// A parsed RTP packet. Padding is not kept: `padding` says how many bytes were (or will be)
/// appended, payload excludes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc: Vec<u32>,
    pub extension: Option<RtpExtension>,
    pub payload: Vec<u8>,
    /// Number of padding bytes including the final count byte; 0 = no padding.
    pub padding: u8,
}

impl RtpPacket {
    /// A plain packet with no CSRC, extension or padding.
    pub fn new(
        payload_type: u8,
        sequence: u16,
        timestamp: u32,
        ssrc: u32,
        payload: Vec<u8>,
    ) -> Self {
        RtpPacket {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrc: Vec::new(),
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// The length of the fixed header, the CSRC list and the header extension of `b`, read
    /// from the header alone (SRTP encrypts the payload and padding, so the header is all that
    /// can be checked before decryption).
    pub fn header_len(b: &[u8]) -> Result<usize, RtpError> {
        if b.len() < 12 {
            return Err(RtpError::TooShort(b.len()));
        }
        let version = b[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let cc = b[0] & 0x0f;
        let pos = 12 + 4 * cc as usize;
        if b.len() < pos {
            return Err(RtpError::CsrcTruncated(cc));
        }
        if b[0] & 0x10 == 0 {
            return Ok(pos);
        }
        if b.len() < pos + 4 {
            return Err(RtpError::ExtensionTruncated);
        }
        let words = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
        let end = pos + 4 + 4 * words;
        if b.len() < end {
            return Err(RtpError::ExtensionTruncated);
        }
        Ok(end)
    }

    /// Parses and validates a packet (RFC 3550 §5.1, A.1 minus the sequence checks which are
    /// the session's job).
    pub fn parse(b: &[u8]) -> Result<Self, RtpError> {
        if b.len() < 12 {
            return Err(RtpError::TooShort(b.len()));
        }
        let version = b[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b[0] & 0x20 != 0;
        let has_ext = b[0] & 0x10 != 0;
        let cc = b[0] & 0x0f;
        let mut pos = 12 + 4 * cc as usize;
        if b.len() < pos {
            return Err(RtpError::CsrcTruncated(cc));
        }
        let csrc = b[12..pos]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let extension = if has_ext {
            if b.len() < pos + 4 {
                return Err(RtpError::ExtensionTruncated);
            }
            let profile = u16::from_be_bytes([b[pos], b[pos + 1]]);
            let words = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
            let end = pos + 4 + 4 * words;
            if b.len() < end {
                return Err(RtpError::ExtensionTruncated);
            }
            let data = b[pos + 4..end].to_vec();
            pos = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let mut end = b.len();
        let mut padding = 0;
        if has_padding {
            padding = b[b.len() - 1];
            if padding == 0 || padding as usize > end - pos {
                return Err(RtpError::BadPadding(padding));
            }
            end -= padding as usize;
        }
        Ok(RtpPacket {
            marker: b[1] & 0x80 != 0,
            payload_type: b[1] & 0x7f,
            sequence: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            csrc,
            extension,
            payload: b[pos..end].to_vec(),
            padding,
        })
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        if self.csrc.len() > 15 {
            return Err(RtpError::FieldRange("more than 15 CSRCs"));
        }
        if self.payload_type > 127 {
            return Err(RtpError::FieldRange("payload type above 127"));
        }
        if let Some(e) = &self.extension
            && (e.data.len() % 4 != 0 || e.data.len() / 4 > u16::MAX as usize)
        {
            return Err(RtpError::FieldRange("extension length not a multiple of 4"));
        }
        let b0 = 0x80
            | if self.padding > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | self.csrc.len() as u8;
        out.push(b0);
        out.push(if self.marker { 0x80 } else { 0 } | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in &self.csrc {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(e) = &self.extension {
            out.extend_from_slice(&e.profile.to_be_bytes());
            out.extend_from_slice(&((e.data.len() / 4) as u16).to_be_bytes());
            out.extend_from_slice(&e.data);
        }
        out.extend_from_slice(&self.payload);
        if self.padding > 0 {
            out.extend(std::iter::repeat_n(0, self.padding as usize - 1));
            out.push(self.padding);
        }
        Ok(())
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RtpError> {
        let mut v = Vec::with_capacity(12 + self.payload.len());
        self.write_to(&mut v)?;
        Ok(v)
    }
}

/// What a datagram arriving on a media port is (RFC 7983 §7, RFC 5761 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Stun,
    Dtls,
    Rtp,
    Rtcp,
    Unknown,
}

/// Classifies a datagram by its first two bytes. With rtcp-mux, RTCP is told from RTP by the
/// second byte: RTCP packet types 192-223 (RFC 5761 §4, which is why RTP payload types 64-95
/// must not be used with mux).
pub fn classify(b: &[u8]) -> PacketKind {
    match b.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(20..=63) => PacketKind::Dtls,
        Some(128..=191) => match b.get(1) {
            Some(192..=223) => PacketKind::Rtcp,
            Some(_) => PacketKind::Rtp,
            None => PacketKind::Unknown,
        },
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_full_header() {
        let p = RtpPacket {
            marker: true,
            payload_type: 111,
            sequence: 0xfffe,
            timestamp: 0xdead_beef,
            ssrc: 0x1234_5678,
            csrc: vec![1, 2, 3],
            extension: Some(RtpExtension {
                profile: 0xbede,
                data: vec![0x10, 0xaa, 0, 0],
            }),
            payload: vec![9; 33],
            padding: 3,
        };
        let b = p.to_bytes().unwrap();
        assert_eq!(b.len(), 12 + 12 + 8 + 33 + 3);
        assert_eq!(b[0], 0x80 | 0x20 | 0x10 | 3);
        assert_eq!(b[1], 0x80 | 111);
        assert_eq!(RtpPacket::parse(&b).unwrap(), p);
    }

    #[test]
    fn known_bytes() {
        // V=2, PT=0, seq=1, ts=160, ssrc=0x01020304, payload 0xff 0xff.
        let b = [0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4, 0xff, 0xff];
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(
            (p.payload_type, p.sequence, p.timestamp, p.ssrc),
            (0, 1, 160, 0x01020304)
        );
        assert_eq!(p.payload, vec![0xff, 0xff]);
        assert_eq!(p.to_bytes().unwrap(), b);
    }

    #[test]
    fn malformed_is_an_error() {
        assert_eq!(RtpPacket::parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        let mut b = [0u8; 12];
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadVersion(0)));
        b[0] = 0x8f;
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::CsrcTruncated(15)));
        b[0] = 0x90;
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::ExtensionTruncated));
        let mut b = vec![0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5];
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadPadding(5)));
        *b.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadPadding(0)));
        let mut rng = crate::rng::SplitMix64::new(7);
        for _ in 0..50_000 {
            let len = rng.below(40) as usize;
            let mut v: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            if let Some(f) = v.first_mut() {
                *f = (*f & 0x3f) | 0x80;
            }
            if let Ok(p) = RtpPacket::parse(&v) {
                assert_eq!(RtpPacket::parse(&p.to_bytes().unwrap()).unwrap(), p);
            }
        }
    }

    #[test]
    fn demux() {
        assert_eq!(classify(&[0x80, 0x00]), PacketKind::Rtp);
        assert_eq!(classify(&[0x80, 0x80 | 111]), PacketKind::Rtp);
        assert_eq!(classify(&[0x80, 200]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x81, 201]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
        assert_eq!(classify(&[22, 0xfe]), PacketKind::Dtls);
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
    }
}
