//! RFC 7983 §7 demultiplexing: what kind of packet arrived on a media socket, by its first
//! byte. One UDP port carries STUN (ICE checks, consent), DTLS (DTLS-SRTP handshakes), TURN
//! ChannelData and RTP/RTCP at once when ICE and rtcp-mux are used.

/// The kind of a datagram received on a media socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// First byte 0..=3: STUN (RFC 8489). Give it to the ICE agent.
    Stun,
    /// First byte 16..=19: ZRTP (RFC 6189) — not used by Homeline, dropped.
    Zrtp,
    /// First byte 20..=63: DTLS (RFC 9147).
    Dtls,
    /// First byte 64..=79: TURN ChannelData (RFC 8656 §12), only from a TURN server.
    TurnChannel,
    /// First byte 128..=191: RTP or RTCP (RFC 5761 §4 separates the two by payload type).
    Rtp,
    /// Anything else (empty, or a first byte no RFC 7983 range assigns): drop it.
    Unknown,
}

/// Classifies `packet` by its first byte (RFC 7983 §7, with RFC 8656's ChannelData range).
pub fn classify(packet: &[u8]) -> PacketKind {
    match packet.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(16..=19) => PacketKind::Zrtp,
        Some(20..=63) => PacketKind::Dtls,
        Some(64..=79) => PacketKind::TurnChannel,
        Some(128..=191) => PacketKind::Rtp,
        _ => PacketKind::Unknown,
    }
}

/// A STUN message (RFC 8489 §5: first byte 0..=3, the magic cookie, a length that matches):
/// stricter than [`classify`], used before handing bytes to the agent so that garbage starting
/// with 0..=3 is dropped early. The cookie test is `rtc-stun`'s own.
pub fn is_stun(packet: &[u8]) -> bool {
    classify(packet) == PacketKind::Stun
        && stun::message::is_stun_message(packet)
        && usize::from(u16::from_be_bytes([packet[2], packet[3]])) + 20 == packet.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_rfc7983() {
        assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
        assert_eq!(classify(&[3]), PacketKind::Stun);
        assert_eq!(classify(&[4]), PacketKind::Unknown);
        assert_eq!(classify(&[17]), PacketKind::Zrtp);
        assert_eq!(classify(&[22]), PacketKind::Dtls);
        assert_eq!(classify(&[0x40]), PacketKind::TurnChannel);
        assert_eq!(classify(&[0x80, 0x00]), PacketKind::Rtp);
        assert_eq!(classify(&[0x80 | 0x40, 0xc8]), PacketKind::Unknown); // version 3
        assert_eq!(classify(&[0xbf]), PacketKind::Rtp);
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&[255]), PacketKind::Unknown);
        let mut stun = vec![0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        stun.extend([7; 12]);
        assert!(is_stun(&stun));
        stun[4] = 0;
        assert!(!is_stun(&stun));
        assert!(!is_stun(&[0; 19]));
    }
}
