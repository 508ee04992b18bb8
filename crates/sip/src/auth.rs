//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
//!
//! - [`Challenge::parse`] reads a `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) value.
//! - [`select_challenge`] picks the strongest challenge we support (RFC 8760 §2.4: a server
//!   may offer SHA-256 and MD5 side by side; use the first we support, preferring SHA-256).
//! - [`DigestSession`] answers one challenge, counting `nc` for each reuse of the nonce
//!   (RFC 7616 §3.4); [`Authorization::to_header_value`] renders the credentials.
//!
//! The client nonce comes from the caller (sans-IO: no random source in here).

use md5::{Digest as _, Md5};
use sha2::{Sha256, Sha512_256};

/// Why a challenge could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header is not a Digest challenge.
    #[error("not a Digest challenge")]
    NotDigest,
    /// The parameter list is malformed.
    #[error("malformed challenge: {0}")]
    Malformed(String),
    /// A required parameter is missing.
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    /// The algorithm is not one we implement.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// Only qop values we do not implement were offered.
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
}

/// Digest algorithms (RFC 7616 §6.1, RFC 8760 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (the default when absent, RFC 2617).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256.
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
    /// SHA-512-256.
    Sha512_256,
    /// SHA-512-256-sess.
    Sha512_256Sess,
}

impl Algorithm {
    fn parse(s: &str) -> Result<Self, AuthError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "MD5" => Self::Md5,
            "MD5-SESS" => Self::Md5Sess,
            "SHA-256" => Self::Sha256,
            "SHA-256-SESS" => Self::Sha256Sess,
            "SHA-512-256" => Self::Sha512_256,
            "SHA-512-256-SESS" => Self::Sha512_256Sess,
            _ => return Err(AuthError::UnsupportedAlgorithm(s.to_owned())),
        })
    }

    /// The token as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Sha512_256 => "SHA-512-256",
            Self::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(
            self,
            Self::Md5Sess | Self::Sha256Sess | Self::Sha512_256Sess
        )
    }

    /// Preference when several challenges are offered (higher is better).
    fn strength(self) -> u8 {
        match self {
            Self::Md5 | Self::Md5Sess => 1,
            Self::Sha256 | Self::Sha256Sess => 2,
            Self::Sha512_256 | Self::Sha512_256Sess => 3,
        }
    }

    fn hash(self, data: &[u8]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&Md5::digest(data)),
            Self::Sha256 | Self::Sha256Sess => hex(&Sha256::digest(data)),
            Self::Sha512_256 | Self::Sha512_256Sess => hex(&Sha512_256::digest(data)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Quality of protection (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// Authentication only.
    Auth,
    /// Authentication with integrity protection of the body.
    AuthInt,
}

impl Qop {
    fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }
}

/// A parsed Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space; the realm the user's credentials belong to.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo back.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Offered qop values (empty: RFC 2069 compatibility mode).
    pub qop: Vec<Qop>,
    /// `stale=true`: the nonce expired but the credentials were right (RFC 7616 §3.3); retry
    /// with the new nonce without counting it as a failure.
    pub stale: bool,
    /// True when this came from `Proxy-Authenticate` (answer with `Proxy-Authorization`).
    pub proxy: bool,
}

/// Splits `name=value, name="quoted, value"` into pairs.
fn parse_params(s: &str) -> Result<Vec<(String, String)>, AuthError> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(out);
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b',' {
            i += 1;
        }
        let name = s[start..i].trim().to_ascii_lowercase();
        if name.is_empty() || i >= bytes.len() || bytes[i] != b'=' {
            return Err(AuthError::Malformed(crate::normalize::truncate(s)));
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let mut v = String::new();
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if i + 1 < bytes.len() => {
                        // Quoted-pair: take the next byte literally. Both bytes are ASCII or
                        // the start of a UTF-8 sequence copied whole below.
                        i += 1;
                        let ch_len = utf8_len(bytes[i]);
                        v.push_str(s.get(i..i + ch_len).unwrap_or_default());
                        i += ch_len;
                    }
                    b'"' => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    b => {
                        let ch_len = utf8_len(b);
                        v.push_str(s.get(i..i + ch_len).unwrap_or_default());
                        i += ch_len;
                    }
                }
            }
            if !closed {
                return Err(AuthError::Malformed("unterminated quoted string".into()));
            }
            v
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            s[start..i].trim().to_owned()
        };
        out.push((name, value));
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

impl Challenge {
    /// Parses a `WWW-Authenticate` (`proxy = false`) or `Proxy-Authenticate` value.
    pub fn parse(value: &str, proxy: bool) -> Result<Self, AuthError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::NotDigest);
        }
        let params = parse_params(rest)?;
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let realm = get("realm").ok_or(AuthError::Missing("realm"))?.to_owned();
        let nonce = get("nonce").ok_or(AuthError::Missing("nonce"))?.to_owned();
        let algorithm = match get("algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let mut qop = Vec::new();
        if let Some(q) = get("qop") {
            for token in q.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("auth") {
                    qop.push(Qop::Auth);
                } else if token.eq_ignore_ascii_case("auth-int") {
                    qop.push(Qop::AuthInt);
                }
            }
            if qop.is_empty() {
                return Err(AuthError::UnsupportedQop(q.to_owned()));
            }
        }
        Ok(Self {
            realm,
            nonce,
            opaque: get("opaque").map(str::to_owned),
            algorithm,
            qop,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
            proxy,
        })
    }

    /// Parses every Digest challenge of a 401/407 response, skipping ones we cannot use.
    pub fn from_response(response: &rsip::Response) -> Vec<Challenge> {
        use rsip::prelude::UntypedHeader;
        response
            .headers
            .iter()
            .filter_map(|h| match h {
                rsip::Header::WwwAuthenticate(v) => Challenge::parse(v.value(), false).ok(),
                rsip::Header::ProxyAuthenticate(v) => Challenge::parse(v.value(), true).ok(),
                _ => None,
            })
            .collect()
    }
}

/// The strongest challenge we support (RFC 8760 §2.4), `None` if none.
pub fn select_challenge(challenges: &[Challenge]) -> Option<&Challenge> {
    // max_by_key returns the last of equals; iterate reversed to keep the server's order.
    challenges
        .iter()
        .rev()
        .max_by_key(|c| c.algorithm.strength())
}

/// User credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Authentication user name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Computed credentials for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// For `Proxy-Authorization` rather than `Authorization`.
    pub proxy: bool,
    /// User name.
    pub username: String,
    /// Realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Digest URI (the Request-URI).
    pub uri: String,
    /// The response hash.
    pub response: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Echoed opaque.
    pub opaque: Option<String>,
    /// qop, with cnonce and nc, when the challenge offered one.
    pub qop: Option<(Qop, String, u32)>,
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Authorization {
    /// The header value (`Digest username="…", …`).
    pub fn to_header_value(&self) -> String {
        let mut s = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.as_str()
        );
        if let Some(opaque) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(opaque)));
        }
        if let Some((qop, cnonce, nc)) = &self.qop {
            s.push_str(&format!(
                ", qop={}, nc={nc:08x}, cnonce={}",
                qop.as_str(),
                quote(cnonce)
            ));
        }
        s
    }

    /// As an rsip header of the right kind.
    pub fn to_header(&self) -> rsip::Header {
        use rsip::prelude::UntypedHeader;
        let v = self.to_header_value();
        if self.proxy {
            rsip::headers::ProxyAuthorization::new(v).into()
        } else {
            rsip::headers::Authorization::new(v).into()
        }
    }
}

/// Answers one challenge, possibly several times (the nonce count increases each time).
#[derive(Debug, Clone)]
pub struct DigestSession {
    challenge: Challenge,
    nc: u32,
}

impl DigestSession {
    /// Starts answering `challenge`.
    pub fn new(challenge: Challenge) -> Self {
        Self { challenge, nc: 0 }
    }

    /// The challenge being answered.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Computes credentials for `method` on `uri` with client nonce `cnonce`; `body` only
    /// matters for qop=auth-int. Each call uses the next nonce count.
    pub fn authorize(
        &mut self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
        body: &[u8],
    ) -> Authorization {
        self.nc = self.nc.wrapping_add(1).max(1);
        let c = &self.challenge;
        let alg = c.algorithm;
        // Prefer auth over auth-int when both are offered: bodies may be rewritten by
        // intermediaries (SDP by ALGs), which would break auth-int.
        let qop = if c.qop.contains(&Qop::Auth) {
            Some(Qop::Auth)
        } else {
            c.qop.first().copied()
        };
        let mut ha1 = alg.hash(
            format!(
                "{}:{}:{}",
                credentials.username, c.realm, credentials.password
            )
            .as_bytes(),
        );
        if alg.is_sess() {
            ha1 = alg.hash(format!("{ha1}:{}:{cnonce}", c.nonce).as_bytes());
        }
        let ha2 = match qop {
            Some(Qop::AuthInt) => alg.hash(format!("{method}:{uri}:{}", alg.hash(body)).as_bytes()),
            _ => alg.hash(format!("{method}:{uri}").as_bytes()),
        };
        let response = match qop {
            Some(q) => alg.hash(
                format!(
                    "{ha1}:{}:{:08x}:{cnonce}:{}:{ha2}",
                    c.nonce,
                    self.nc,
                    q.as_str()
                )
                .as_bytes(),
            ),
            // RFC 2069 compatibility (RFC 2617 §3.2.2.1).
            None => alg.hash(format!("{ha1}:{}:{ha2}", c.nonce).as_bytes()),
        };
        Authorization {
            proxy: c.proxy,
            username: credentials.username.clone(),
            realm: c.realm.clone(),
            nonce: c.nonce.clone(),
            uri: uri.to_owned(),
            response,
            algorithm: alg,
            opaque: c.opaque.clone(),
            qop: qop.map(|q| (q, cnonce.to_owned(), self.nc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mufasa() -> Credentials {
        Credentials {
            username: "Mufasa".into(),
            password: "Circle of Life".into(),
        }
    }

    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616(algorithm: &str) -> Challenge {
        Challenge::parse(
            &format!(
                "Digest\n realm=\"http-auth@example.org\",\n qop=\"auth, auth-int\",\n \
                 algorithm={algorithm},\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            ),
            false,
        )
        .unwrap()
    }

    #[test]
    fn rfc7616_3_9_1_md5() {
        let mut s = DigestSession::new(rfc7616("MD5"));
        let a = s.authorize(&mufasa(), "GET", "/dir/index.html", RFC7616_CNONCE, b"");
        assert_eq!(a.response, "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(a.qop, Some((Qop::Auth, RFC7616_CNONCE.into(), 1)));
    }

    #[test]
    fn rfc7616_3_9_1_sha256() {
        let mut s = DigestSession::new(rfc7616("SHA-256"));
        let a = s.authorize(&mufasa(), "GET", "/dir/index.html", RFC7616_CNONCE, b"");
        assert_eq!(
            a.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let v = a.to_header_value();
        assert!(v.contains("nc=00000001"), "{v}");
        assert!(v.contains("algorithm=SHA-256"), "{v}");
        assert!(v.contains("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
    }

    #[test]
    fn rfc2617_3_5_example() {
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            false,
        )
        .unwrap();
        assert_eq!(c.algorithm, Algorithm::Md5);
        let creds = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let a = DigestSession::new(c).authorize(&creds, "GET", "/dir/index.html", "0a4f113b", b"");
        assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn nonce_count_increments_per_use() {
        let mut s = DigestSession::new(rfc7616("MD5"));
        let a1 = s.authorize(&mufasa(), "REGISTER", "sip:example.org", "c", b"");
        let a2 = s.authorize(&mufasa(), "REGISTER", "sip:example.org", "c", b"");
        assert_eq!(a1.qop.unwrap().2, 1);
        assert_eq!(a2.qop.as_ref().unwrap().2, 2);
        assert!(a2.to_header_value().contains("nc=00000002"));
        assert_ne!(a1.response, a2.response);
    }

    #[test]
    fn stale_proxy_and_selection() {
        let md5 = Challenge::parse(
            "Digest realm=\"sip.example.com\", nonce=\"n1\", algorithm=MD5, stale=TRUE",
            true,
        )
        .unwrap();
        assert!(md5.stale && md5.proxy);
        let sha = Challenge::parse(
            "Digest realm=\"sip.example.com\", nonce=\"n1\", algorithm=SHA-256",
            true,
        )
        .unwrap();
        let both = [md5.clone(), sha.clone()];
        assert_eq!(select_challenge(&both), Some(&sha));
        let a = DigestSession::new(md5).authorize(&mufasa(), "INVITE", "sip:b@x", "c", b"");
        assert!(matches!(a.to_header(), rsip::Header::ProxyAuthorization(_)));
        assert!(a.qop.is_none(), "no qop offered: RFC 2069 mode");
    }

    #[test]
    fn malformed_challenges_are_errors() {
        assert_eq!(
            Challenge::parse("Basic realm=\"x\"", false),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            Challenge::parse("Digest nonce=\"x\"", false),
            Err(AuthError::Missing("realm"))
        );
        assert!(matches!(
            Challenge::parse("Digest realm=\"x, nonce=1", false),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            Challenge::parse("Digest realm=x, nonce=y, algorithm=SHA-1", false),
            Err(AuthError::UnsupportedAlgorithm(_))
        ));
        // Escapes and UTF-8 in quoted strings.
        let c = Challenge::parse("Digest realm=\"a\\\"b é\", nonce=\"n\"", false).unwrap();
        assert_eq!(c.realm, "a\"b é");
    }

    /// The challenge of the CLI's sipp 407 scenario (crates/cli/tests/data/uas_407.xml) and
    /// our exact answer. Checked against sipp 3.6.1's `verifyauth` on loopback (it accepts
    /// both values when they come in `Authorization`) and against a Python hashlib
    /// computation. sipp's `verifyauth` reads only the `Authorization` header, never
    /// `Proxy-Authorization`, so it rejects every answer to a 407 (its error log says
    /// "authentication must be digest is" with an empty header): a sipp quirk, not ours.
    #[test]
    fn sipp_scenario_vectors() {
        let alice = Credentials {
            username: "alice".into(),
            password: "secret".into(),
        };
        let uri = "sip:bob@127.0.0.1:5099";
        let c = Challenge::parse(
            "Digest realm=\"homeline.test\", nonce=\"4f2b1c0d9e8a7b6c1\", algorithm=MD5",
            true,
        )
        .unwrap();
        let a = DigestSession::new(c).authorize(&alice, "INVITE", uri, "cn0nce", b"v=0");
        assert!(a.proxy);
        assert_eq!(
            a.to_header_value(),
            "Digest username=\"alice\", realm=\"homeline.test\", nonce=\"4f2b1c0d9e8a7b6c1\", \
             uri=\"sip:bob@127.0.0.1:5099\", response=\"b23398c148105616424a672c3dd0700c\", \
             algorithm=MD5"
        );
        let c = Challenge::parse(
            "Digest realm=\"homeline.test\", nonce=\"4f2b1c0d9e8a7b6c1\", algorithm=MD5, \
             qop=\"auth\", opaque=\"op1\"",
            false,
        )
        .unwrap();
        let a = DigestSession::new(c).authorize(&alice, "INVITE", uri, "cn0nce", b"v=0");
        // RFC 7616 §3.4 / RFC 3261 §25.1: qop and nc unquoted, cnonce quoted.
        assert_eq!(
            a.to_header_value(),
            "Digest username=\"alice\", realm=\"homeline.test\", nonce=\"4f2b1c0d9e8a7b6c1\", \
             uri=\"sip:bob@127.0.0.1:5099\", response=\"cfb6fa7b812d1ae5072c1c05423650d9\", \
             algorithm=MD5, opaque=\"op1\", qop=auth, nc=00000001, cnonce=\"cn0nce\""
        );
    }
}
