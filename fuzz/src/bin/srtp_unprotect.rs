//! SDES-SRTP: the `a=crypto` attribute parser, and unprotecting SRTP and SRTCP packets with a
//! fixed key (RFC 4568 §6.1 example key). The first byte picks RTP or RTCP for each packet.
//!
//! Input: the first line (up to LF) is tried as an `a=crypto` value; the rest is a sequence
//! of `len (u8), bytes[len]` packets. A packet whose first byte has bit 1 set is first
//! protected with the same key, so the code behind the authentication check (decryption,
//! replay window, rollover counter) sees fuzzed but authentic packets too.
#![no_main]

use homeline_media::sdp::crypto::CryptoAttribute;
use homeline_media::srtp::Srtp;
use libfuzzer_sys::fuzz_target;

/// RFC 4568 §6.1's example key and salt ("inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz").
const KEY: &str = "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

fuzz_target!(|data: &[u8]| {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(text) = std::str::from_utf8(line)
        && let Ok(c) = CryptoAttribute::parse(text)
    {
        let _ = c.to_value();
        let _ = c.suite.key_salt_len();
    }
    let Ok(key) = CryptoAttribute::parse(KEY) else {
        return;
    };
    // The same key both ways, as a loop-back: what we protect we can unprotect.
    let Ok(mut srtp) = Srtp::new(&key, &key) else {
        return;
    };
    let mut rest = rest;
    while let [len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (packet, after) = tail.split_at(len);
        rest = after;
        let flags = packet.first().copied().unwrap_or(0);
        let rtcp = flags & 1 == 1;
        let authentic = flags & 2 == 2;
        let protected = match (authentic, rtcp) {
            (true, false) => srtp.protect_rtp(packet).ok(),
            (true, true) => srtp.protect_rtcp(packet).ok(),
            (false, _) => None,
        };
        let input = protected.as_deref().unwrap_or(packet);
        if rtcp {
            let _ = srtp.unprotect_rtcp(input);
        } else {
            let _ = srtp.unprotect_rtp(input);
        }
    }
});
