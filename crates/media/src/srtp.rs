//! SDES-SRTP (RFC 4568 keys, RFC 3711 protection) through webrtc-rs's sans-IO `rtc-srtp`,
//! behind the `srtp` feature (on by default).
//!
//! One [`Srtp`] per call holds two contexts: ours (the key of our `a=crypto` line, to protect
//! what we send) and the peer's (its line's key, to unprotect what we receive), RFC 4568
//! §6.1. Incoming SRTP has replay protection (a 64-packet window, RFC 3711 §3.3.2).
//! [`RtpSession::set_srtp`](crate::session::RtpSession::set_srtp) plugs it into the session.

use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

use crate::sdp::{CryptoAttribute, SrtpSuite};

/// Why SRTP could not be set up or a packet could not be (un)protected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("SRTP crypto suite {0} is not supported")]
    UnsupportedSuite(String),
    #[error("SRTP key setup failed: {0}")]
    Key(String),
    #[error("SRTP protect failed: {0}")]
    Protect(String),
    #[error("SRTP packet rejected (authentication, replay or format): {0}")]
    Unprotect(String),
    #[error("no cryptographic random source: {0}")]
    Random(String),
}

/// The SRTP state of a call.
pub struct Srtp {
    tx: Context,
    rx: Context,
}

impl std::fmt::Debug for Srtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Srtp { .. }")
    }
}

fn profile(suite: &SrtpSuite) -> Result<ProtectionProfile, SrtpError> {
    match suite {
        SrtpSuite::AesCm128HmacSha1_80 => Ok(ProtectionProfile::Aes128CmHmacSha1_80),
        SrtpSuite::AesCm128HmacSha1_32 => Ok(ProtectionProfile::Aes128CmHmacSha1_32),
        SrtpSuite::Other(s) => Err(SrtpError::UnsupportedSuite(s.clone())),
    }
}

fn context(c: &CryptoAttribute, inbound: bool) -> Result<Context, SrtpError> {
    let p = profile(&c.suite)?;
    let (key_len, salt_len) = (p.key_len(), p.salt_len());
    if c.key_salt.len() != key_len + salt_len {
        return Err(SrtpError::Key(format!(
            "{} bytes of key and salt, {} expected",
            c.key_salt.len(),
            key_len + salt_len
        )));
    }
    let provider =
        rtc_srtp::crypto::default_provider().map_err(|e| SrtpError::Key(e.to_string()))?;
    let (key, salt) = c.key_salt.split_at(key_len);
    let (srtp_opt, srtcp_opt) = if inbound {
        (
            Some(srtp_replay_protection(64)),
            Some(srtcp_replay_protection(64)),
        )
    } else {
        (None, None)
    };
    Context::new(key, salt, p, srtp_opt, srtcp_opt, provider.crypto())
        .map_err(|e| SrtpError::Key(e.to_string()))
}

/// rtc-srtp's view of an RTP header, checked against the bytes: rtc-srtp 0.21.1 starts the
/// keystream at the header's *re-encoded* size, which differs from the header on the wire when
/// an RFC 8285 extension block carries padding or unknown ids, and slicing past the end panics
/// (fuzz target srtp_unprotect found it). Such a packet is refused instead of being encrypted
/// or decrypted at the wrong offset.
fn srtp_header(packet: &[u8]) -> Result<rtp::header::Header, String> {
    use shared::marshal::{MarshalSize, Unmarshal};
    let wire = crate::rtp::RtpPacket::header_len(packet)
        .map_err(|e| format!("malformed RTP header: {e}"))?;
    let mut buf = packet;
    let header = rtp::header::Header::unmarshal(&mut buf)
        .map_err(|e| format!("malformed RTP header: {e}"))?;
    if header.marshal_size() != wire {
        return Err(format!(
            "RTP header extension layout not supported ({wire} header bytes on the wire, {} as read)",
            header.marshal_size()
        ));
    }
    Ok(header)
}

impl Srtp {
    /// From the negotiated lines: `local` is ours (we send with its key), `remote` the peer's.
    pub fn new(local: &CryptoAttribute, remote: &CryptoAttribute) -> Result<Self, SrtpError> {
        Ok(Srtp {
            tx: context(local, false)?,
            rx: context(remote, true)?,
        })
    }

    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        crate::rtp::RtpPacket::parse(packet)
            .map_err(|e| SrtpError::Protect(format!("malformed RTP packet: {e}")))?;
        let header = srtp_header(packet).map_err(SrtpError::Protect)?;
        self.tx
            .encrypt_rtp_with_header(packet, &header)
            .map(|b| b.to_vec())
            .map_err(|e| SrtpError::Protect(e.to_string()))
    }

    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let header = srtp_header(packet).map_err(SrtpError::Unprotect)?;
        self.rx
            .decrypt_rtp_with_header(packet, &header)
            .map(|b| b.to_vec())
            .map_err(|e| SrtpError::Unprotect(e.to_string()))
    }

    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.tx
            .encrypt_rtcp(packet)
            .map(|b| b.to_vec())
            .map_err(|e| SrtpError::Protect(e.to_string()))
    }

    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.rx
            .decrypt_rtcp(packet)
            .map(|b| b.to_vec())
            .map_err(|e| SrtpError::Unprotect(e.to_string()))
    }
}

/// 30 fresh bytes of master key and salt for our `a=crypto` line, from the crypto provider's
/// CSPRNG (the one place this crate draws entropy; SDES keys must not come from a seed).
pub fn random_key() -> Result<[u8; 30], SrtpError> {
    let provider =
        rtc_srtp::crypto::default_provider().map_err(|e| SrtpError::Random(e.to_string()))?;
    let mut k = [0u8; 30];
    provider
        .random()
        .fill(&mut k)
        .map_err(|e| SrtpError::Random(e.to_string()))?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{self, ReceiverReport, RtcpPacket};
    use crate::rtp::RtpPacket;

    fn pair() -> (Srtp, Srtp) {
        let a = CryptoAttribute::aes_cm_128_hmac_sha1_80(1, random_key().unwrap());
        let b = CryptoAttribute::aes_cm_128_hmac_sha1_80(1, random_key().unwrap());
        assert_ne!(a.key_salt, b.key_salt);
        (Srtp::new(&a, &b).unwrap(), Srtp::new(&b, &a).unwrap())
    }

    #[test]
    fn protecting_a_truncated_header_is_an_error_not_a_panic() {
        // Regression (fuzz target srtp_unprotect): CC=15 claims 60 bytes of CSRCs.
        let (mut a, _) = pair();
        let mut p = vec![0x8f, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34];
        p.extend_from_slice(&[0; 8]);
        assert!(a.protect_rtp(&p).is_err());
    }

    #[test]
    fn extension_blocks_rtc_srtp_would_misread_are_refused_not_panicked_on() {
        // Regression (fuzz target srtp_unprotect, CI run of session 3): an RFC 8285 one-byte
        // extension block whose re-encoded size is not its wire size made rtc-srtp slice past
        // the packet's end. Every one-word and two-word block shape either round-trips byte
        // for byte or is refused with an error naming the header.
        let (mut alice, mut bob) = pair();
        let mut seq = 0u16;
        let mut refused = 0;
        for words in [1u8, 2] {
            for first in 0..=255u8 {
                for fill in [0x00u8, 0xff, 0x21] {
                    let mut p = vec![0x90, 0, 0, 0, 0, 0, 0, 160, 0, 0, 0x12, 0x34];
                    p[2..4].copy_from_slice(&seq.to_be_bytes());
                    seq = seq.wrapping_add(1);
                    p.extend_from_slice(&[0xbe, 0xde, 0, words, first]);
                    p.extend(std::iter::repeat_n(fill, 4 * words as usize - 1));
                    p.extend_from_slice(&[0x55; 20]);
                    match alice.protect_rtp(&p) {
                        Ok(wire) => assert_eq!(bob.unprotect_rtp(&wire).unwrap(), p),
                        Err(e) => {
                            refused += 1;
                            assert!(e.to_string().contains("RTP"), "{e}");
                        }
                    }
                    // The same bytes arriving as if protected: an error, never a panic.
                    assert!(bob.unprotect_rtp(&p).is_err());
                }
            }
        }
        assert!(
            refused < 3 * 256 * 2,
            "ordinary extension blocks must still be protected"
        );
        // An audio-level extension as Chromium and baresip send it (id 1, one byte, RFC 6464)
        // padded to the word: protected and unprotected byte for byte.
        let mut p = vec![0x90, 0, 0x7f, 0xff, 0, 0, 0, 160, 0, 0, 0x12, 0x34];
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0x8a, 0, 0]);
        p.extend_from_slice(&[0x55; 20]);
        let wire = alice.protect_rtp(&p).unwrap();
        assert_eq!(bob.unprotect_rtp(&wire).unwrap(), p);
    }

    #[test]
    fn is_send() {
        fn send<T: Send>() {}
        send::<Srtp>();
    }

    #[test]
    fn rtp_and_rtcp_round_trip_and_tamper() {
        let (mut alice, mut bob) = pair();
        for seq in 0..100u16 {
            let p = RtpPacket::new(0, seq, seq as u32 * 160, 42, vec![seq as u8; 160]);
            let clear = p.to_bytes().unwrap();
            let wire = alice.protect_rtp(&clear).unwrap();
            assert_eq!(wire.len(), clear.len() + 10, "80-bit tag");
            assert_ne!(&wire[12..172], &clear[12..]);
            assert_eq!(bob.unprotect_rtp(&wire).unwrap(), clear);
            if seq == 50 {
                // Replayed → rejected; tampered → rejected.
                assert!(bob.unprotect_rtp(&wire).is_err());
                let mut bad = wire.clone();
                bad[20] ^= 1;
                assert!(bob.unprotect_rtp(&bad).is_err());
            }
        }
        let rr = rtcp::serialize_compound(&[RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 7,
            reports: vec![],
        })])
        .unwrap();
        let wire = bob.protect_rtcp(&rr).unwrap();
        assert_eq!(alice.unprotect_rtcp(&wire).unwrap(), rr);
        // Garbage never panics.
        for n in 0..64 {
            let _ = alice.unprotect_rtp(&vec![0x80; n]);
            let _ = alice.unprotect_rtcp(&vec![0x81; n]);
        }
        let other = CryptoAttribute::parse("1 FOO_SUITE inline:AAAA").unwrap();
        assert!(matches!(
            Srtp::new(&other, &other),
            Err(SrtpError::UnsupportedSuite(_))
        ));
    }
}
