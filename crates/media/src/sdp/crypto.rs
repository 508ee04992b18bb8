//! `a=crypto` for SDES-SRTP (RFC 4568 §9.1 grammar).
//!
//! `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]`, with key-params
//! `inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]`. Only the fields are handled
//! here; SRTP itself comes later. The key material is supplied by the caller (it must come
//! from a CSPRNG, which a sans-IO core does not own).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use std::fmt;

/// Why an `a=crypto` value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("a=crypto is malformed: {0}")]
    Malformed(&'static str),
    #[error("a=crypto tag `{0}` is not a 1-9 digit number")]
    BadTag(String),
    #[error("a=crypto key is not valid base64")]
    BadBase64,
    #[error("a=crypto key is {got} bytes, {suite} needs {want}")]
    BadKeyLength {
        suite: &'static str,
        got: usize,
        want: usize,
    },
}

/// The crypto suites we know (RFC 4568 §6.2). Others parse as [`SrtpSuite::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
    Other(String),
}

impl SrtpSuite {
    pub fn name(&self) -> &str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpSuite::Other(s) => s,
        }
    }

    fn from_name(s: &str) -> Self {
        match s {
            "AES_CM_128_HMAC_SHA1_80" => SrtpSuite::AesCm128HmacSha1_80,
            "AES_CM_128_HMAC_SHA1_32" => SrtpSuite::AesCm128HmacSha1_32,
            o => SrtpSuite::Other(o.into()),
        }
    }

    /// Master key + master salt length in bytes (128-bit key, 112-bit salt).
    pub fn key_salt_len(&self) -> Option<usize> {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 | SrtpSuite::AesCm128HmacSha1_32 => Some(30),
            SrtpSuite::Other(_) => None,
        }
    }
}

/// One parsed `a=crypto` line. Only the first `inline:` key is kept (several keys with MKIs
/// are legal but no softphone uses them).
#[derive(Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    pub tag: u32,
    pub suite: SrtpSuite,
    /// Master key followed by master salt.
    pub key_salt: Vec<u8>,
    /// `|2^31` style lifetime, verbatim.
    pub lifetime: Option<String>,
    /// `(MKI value, MKI length in bytes)`.
    pub mki: Option<(u64, u8)>,
    /// Session parameters (e.g. `UNENCRYPTED_SRTCP`), verbatim.
    pub session_params: Vec<String>,
}

impl fmt::Debug for CryptoAttribute {
    // Key material must not end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoAttribute")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field("key_salt", &format_args!("<{} bytes>", self.key_salt.len()))
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .field("session_params", &self.session_params)
            .finish()
    }
}

impl CryptoAttribute {
    /// An `AES_CM_128_HMAC_SHA1_80` line with the caller's 30 bytes of key and salt.
    pub fn aes_cm_128_hmac_sha1_80(tag: u32, key_salt: [u8; 30]) -> Self {
        CryptoAttribute {
            tag,
            suite: SrtpSuite::AesCm128HmacSha1_80,
            key_salt: key_salt.to_vec(),
            lifetime: None,
            mki: None,
            session_params: Vec::new(),
        }
    }

    /// Parses the value after `a=crypto:`.
    pub fn parse(value: &str) -> Result<Self, CryptoError> {
        let mut f = value.split_ascii_whitespace();
        let tag_s = f.next().ok_or(CryptoError::Malformed("empty"))?;
        if tag_s.is_empty() || tag_s.len() > 9 || !tag_s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoError::BadTag(tag_s.into()));
        }
        let tag = tag_s
            .parse()
            .map_err(|_| CryptoError::BadTag(tag_s.into()))?;
        let suite =
            SrtpSuite::from_name(f.next().ok_or(CryptoError::Malformed("no crypto suite"))?);
        let key_params = f
            .next()
            .ok_or(CryptoError::Malformed("no key parameters"))?;
        let first = key_params.split(';').next().unwrap_or("");
        let inline = first
            .strip_prefix("inline:")
            .ok_or(CryptoError::Malformed("key method is not inline"))?;
        let mut parts = inline.split('|');
        let b64 = parts.next().unwrap_or("");
        let key_salt = STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64))
            .map_err(|_| CryptoError::BadBase64)?;
        if let Some(want) = suite.key_salt_len()
            && key_salt.len() != want
        {
            return Err(CryptoError::BadKeyLength {
                suite: match suite {
                    SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
                    _ => "AES_CM_128_HMAC_SHA1_80",
                },
                got: key_salt.len(),
                want,
            });
        }
        let mut lifetime = None;
        let mut mki = None;
        for p in parts {
            if let Some((v, len)) = p.split_once(':') {
                let v = v.parse().map_err(|_| CryptoError::Malformed("MKI value"))?;
                let len: u8 = len
                    .parse()
                    .map_err(|_| CryptoError::Malformed("MKI length"))?;
                if !(1..=128).contains(&len) {
                    return Err(CryptoError::Malformed("MKI length out of 1..128"));
                }
                mki = Some((v, len));
            } else if lifetime.is_none() && mki.is_none() {
                lifetime = Some(p.to_string());
            } else {
                return Err(CryptoError::Malformed("unexpected key parameter"));
            }
        }
        Ok(CryptoAttribute {
            tag,
            suite,
            key_salt,
            lifetime,
            mki,
            session_params: f.map(str::to_string).collect(),
        })
    }

    /// The value to put after `a=crypto:`.
    pub fn to_value(&self) -> String {
        let mut s = format!(
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            STANDARD.encode(&self.key_salt)
        );
        if let Some(l) = &self.lifetime {
            s.push('|');
            s.push_str(l);
        }
        if let Some((v, len)) = self.mki {
            s.push_str(&format!("|{v}:{len}"));
        }
        for p in &self.session_params {
            s.push(' ');
            s.push_str(p);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc4568_example() {
        // RFC 4568 §9.1 example (key from the RFC).
        let v =
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";
        let c = CryptoAttribute::parse(v).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, SrtpSuite::AesCm128HmacSha1_80);
        assert_eq!(c.key_salt.len(), 30);
        assert_eq!(c.lifetime.as_deref(), Some("2^20"));
        assert_eq!(c.mki, Some((1, 4)));
        assert_eq!(c.to_value(), v);
        assert!(!format!("{c:?}").contains("PS1u"));
    }

    #[test]
    fn generates_and_rejects() {
        let c = CryptoAttribute::aes_cm_128_hmac_sha1_80(1, [7; 30]);
        let back = CryptoAttribute::parse(&c.to_value()).unwrap();
        assert_eq!(back, c);
        assert!(CryptoAttribute::parse("").is_err());
        assert!(CryptoAttribute::parse("x AES_CM_128_HMAC_SHA1_80 inline:AAAA").is_err());
        assert!(matches!(
            CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"),
            Err(CryptoError::BadKeyLength { got: 3, .. })
        ));
        assert!(matches!(
            CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 inline:!!!"),
            Err(CryptoError::BadBase64)
        ));
        assert!(CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 key:abc").is_err());
    }
}
