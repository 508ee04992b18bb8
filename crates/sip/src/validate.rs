//! Validation of a normalised message (RFC 3261 §8.2, §16.3, §18.3) and conversion to rsip.
//!
//! The outcome is an [`Inbound`] decision: deliver a request or response, reject a request with
//! a prebuilt error response whose reason phrase names the problem, or drop a malformed
//! response (§18.1.2: a client silently discards a response it cannot use) with an error value
//! for the log.

use crate::message::{RawHeader, RawMessage, StartLine, derived_tag, header_param};
use crate::normalize::{NormalizeError, is_token_char, truncate};

/// Methods this crate understands; anything else gets 501 (RFC 3261 §8.2.1). Methods are
/// case-sensitive (§7.1), so `invite` is an unknown method.
pub const KNOWN_METHODS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Why a message failed validation. Each variant maps to the status code we answer a request
/// with ([`ValidateError::status`]); the `Display` text is the reason phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// Framing or normalisation failed.
    #[error("{0}")]
    Normalize(#[from] NormalizeError),
    /// The SIP version is not 2.0 (§8.2.2.1 … answered with 505).
    #[error("SIP version '{0}' not supported")]
    Version(String),
    /// A mandatory header is missing (§8.1.1).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// CSeq is not `1*DIGIT LWS Method` with a 32-bit number below 2^31 (§8.1.1.5).
    #[error("malformed CSeq '{0}'")]
    CSeq(String),
    /// The CSeq method differs from the request method (§8.1.1.5).
    #[error("CSeq method {cseq} does not match request method {request}")]
    CSeqMethodMismatch {
        /// The request-line method.
        request: String,
        /// The CSeq method.
        cseq: String,
    },
    /// Max-Forwards is not a number in 0..=255 (§8.1.1.6).
    #[error("malformed Max-Forwards '{0}'")]
    MaxForwards(String),
    /// Content-Length is not a non-negative integer.
    #[error("malformed Content-Length '{0}'")]
    ContentLength(String),
    /// Content-Length says more bytes than arrived (§18.3, RFC 4475 §3.1.2.7).
    #[error("Content-Length {declared} exceeds the {actual} body bytes received")]
    BodyTooShort {
        /// Declared Content-Length.
        declared: usize,
        /// Bytes actually present.
        actual: usize,
    },
    /// The Request-URI is malformed.
    #[error("malformed Request-URI '{0}'")]
    RequestUri(String),
    /// The Request-URI scheme is not sip, sips or tel (§8.2.2.1 … answered with 416).
    #[error("unsupported URI scheme '{0}'")]
    UriScheme(String),
    /// A From, To or Contact value is not a valid `name-addr` / `addr-spec` (§20.10, §25.1).
    #[error("malformed {header} header: {detail}")]
    NameAddr {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        detail: &'static str,
    },
    /// The top Via is malformed (§18.2.1 needs sent-protocol and sent-by).
    #[error("malformed Via '{0}'")]
    Via(String),
    /// The status code is not three digits in 100..=699 (§7.2).
    #[error("malformed status code '{0}'")]
    StatusCode(String),
    /// The method is well-formed but not one we implement (§8.2.1 … answered with 501).
    #[error("method {0} not implemented")]
    UnknownMethod(String),
    /// rsip could not represent the message.
    #[error("unparseable message: {0}")]
    Rsip(String),
}

impl ValidateError {
    /// Status code for a request that failed with this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Version(_) => 505,
            Self::UriScheme(_) => 416,
            Self::UnknownMethod(_) => 501,
            _ => 400,
        }
    }
}

/// A request we must answer with an error instead of passing it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong.
    pub error: ValidateError,
    /// Status code to answer with (400, 416, 501 or 505).
    pub status: u16,
    /// The response to send back to the source, or `None` when the request lacks what a
    /// response needs (Via, From, To, Call-ID, CSeq): then it is dropped (§8.2.6.2 cannot be
    /// satisfied).
    pub response: Option<Vec<u8>>,
}

/// The receive path's decision for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A valid request, for the transaction layer.
    Request(rsip::Request),
    /// A valid response, for the transaction layer.
    Response(rsip::Response),
    /// A malformed or unsupported request: send `response` (if any) and log `error`.
    Reject(Rejection),
    /// Something we drop, with the reason to log: a malformed response, or bytes that are not
    /// a SIP message at all.
    Drop(ValidateError),
    /// A keep-alive (CRLF on a datagram, RFC 5626 §3.5.1 / §4.4.1) with nothing to answer.
    KeepAlive,
}

/// Validates and converts a normalised message. A body longer than Content-Length is cut
/// (§18.3: on a datagram the extra octets are discarded).
pub fn validate(mut raw: RawMessage) -> Inbound {
    match check(&mut raw) {
        Ok(()) => {}
        Err(error) => return decide(&raw, error),
    }
    // rsip cannot tokenise some valid Request-URIs (a ';' in the user part, RFC 4475
    // §3.1.1.9); hand it a URI it can read and put the one we built back afterwards.
    let mut uri_override = None;
    if let StartLine::Request { uri, .. } = &mut raw.start {
        match rsip_request_uri(uri) {
            Ok(None) => {}
            Ok(Some((substitute, full))) => {
                *uri = substitute;
                uri_override = Some(full);
            }
            Err(e) => return decide(&raw, e),
        }
    }
    let bytes = raw.to_bytes();
    match rsip::SipMessage::try_from(bytes.as_slice()) {
        Ok(rsip::SipMessage::Request(mut r)) => {
            if let Some(uri) = uri_override {
                r.uri = uri;
            }
            Inbound::Request(r)
        }
        Ok(rsip::SipMessage::Response(r)) => Inbound::Response(r),
        Err(e) => decide(&raw, ValidateError::Rsip(truncate(&e.to_string()))),
    }
}

/// `Ok(None)` when rsip reads `uri` as is; otherwise a substitute it can read plus the full
/// URI assembled by hand (userinfo taken verbatim up to the first '@').
fn rsip_request_uri(uri: &str) -> Result<Option<(String, rsip::Uri)>, ValidateError> {
    // rsip's URI parser may stop early and still succeed, so insist on a faithful round trip.
    if rsip::Uri::try_from(uri).is_ok_and(|u| u.to_string() == uri) {
        return Ok(None);
    }
    let bad = || ValidateError::RequestUri(truncate(uri));
    let (scheme, rest) = uri.split_once(':').ok_or_else(bad)?;
    let substitute = "sip:request-uri.invalid".to_owned();
    if scheme.eq_ignore_ascii_case("tel") {
        // RFC 3966 numbers are not host names, and rsip has no tel type (and writes other
        // schemes as "tel://"): carry the whole URI verbatim in the host, with no scheme, so
        // that it is reproduced exactly on the wire. `uri.scheme` is then `None`.
        let full = rsip::Uri {
            scheme: None,
            host_with_port: rsip::Host::Domain(format!("{scheme}:{rest}").into()).into(),
            ..Default::default()
        };
        return Ok(Some((substitute, full)));
    }
    let (userinfo, hostpart) = rest.split_once('@').ok_or_else(bad)?;
    if userinfo.is_empty() {
        return Err(bad());
    }
    let mut full = rsip::Uri::try_from(format!("{scheme}:{hostpart}")).map_err(|_| bad())?;
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => (userinfo.to_owned(), None),
    };
    full.auth = Some(rsip::Auth { user, password });
    Ok(Some((substitute, full)))
}

/// Builds the decision for a failed message.
pub(crate) fn decide(raw: &RawMessage, error: ValidateError) -> Inbound {
    if raw.is_request() {
        let status = error.status();
        Inbound::Reject(Rejection {
            response: error_response(raw, status, &error),
            status,
            error,
        })
    } else {
        Inbound::Drop(error)
    }
}

const SINGLETONS: &[&str] = &[
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

fn check(raw: &mut RawMessage) -> Result<(), ValidateError> {
    let version = match &raw.start {
        StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
    };
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ValidateError::Version(truncate(version)));
    }
    if let StartLine::Response { code, .. } = &raw.start {
        let ok = code.len() == 3
            && code.bytes().all(|b| b.is_ascii_digit())
            && (b'1'..=b'6').contains(&code.as_bytes()[0]);
        if !ok {
            return Err(ValidateError::StatusCode(truncate(code)));
        }
    }
    let is_request = raw.is_request();
    let mandatory: &[&'static str] = if is_request {
        &["Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards"]
    } else {
        &["Via", "From", "To", "Call-ID", "CSeq"]
    };
    for name in mandatory {
        if raw.header(name).is_none_or(|v| v.is_empty()) {
            return Err(ValidateError::MissingHeader(name));
        }
    }
    for name in SINGLETONS {
        if raw.header_values(name).nth(1).is_some() {
            return Err(ValidateError::DuplicateHeader(name));
        }
    }
    for via in raw.header_values("Via") {
        check_via(via)?;
    }
    for header in ["From", "To", "Contact"] {
        for value in raw.header_values(header) {
            if header == "Contact" && value == "*" {
                continue;
            }
            check_name_addr(value).map_err(|detail| ValidateError::NameAddr { header, detail })?;
        }
    }
    let cseq = raw.header("CSeq").unwrap_or_default();
    let cseq_method = parse_cseq(cseq)?.1.to_owned();
    if let Some(mf) = raw.header("Max-Forwards") {
        if mf.is_empty() || mf.len() > 10 || !mf.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidateError::MaxForwards(truncate(mf)));
        }
        if mf.parse::<u32>().map_or(true, |n| n > 255) {
            return Err(ValidateError::MaxForwards(truncate(mf)));
        }
    }
    reconcile_content_length(raw)?;
    if let StartLine::Request { method, uri, .. } = &raw.start {
        if *method != cseq_method {
            return Err(ValidateError::CSeqMethodMismatch {
                request: truncate(method),
                cseq: truncate(&cseq_method),
            });
        }
        check_request_uri(uri)?;
        if !KNOWN_METHODS.contains(&method.as_str()) {
            return Err(ValidateError::UnknownMethod(truncate(method)));
        }
    }
    Ok(())
}

/// `CSeq = 1*DIGIT LWS Method` (§20.16); the number is below 2^31 (§8.1.1.5).
pub(crate) fn parse_cseq(value: &str) -> Result<(u32, &str), ValidateError> {
    let bad = || ValidateError::CSeq(truncate(value));
    let mut parts = value.split_whitespace();
    let num = parts.next().ok_or_else(bad)?;
    let method = parts.next().ok_or_else(bad)?;
    if parts.next().is_some()
        || !num.bytes().all(|b| b.is_ascii_digit())
        || !method.bytes().all(is_token_char)
    {
        return Err(bad());
    }
    let n: u32 = num.parse().map_err(|_| bad())?;
    if n >= 1 << 31 {
        return Err(bad());
    }
    Ok((n, method))
}

fn check_via(via: &str) -> Result<(), ValidateError> {
    let bad = || ValidateError::Via(truncate(via));
    let (proto, rest) = via.split_once([' ', '\t']).ok_or_else(bad)?;
    let mut p = proto.split('/').map(str::trim);
    let (name, ver, transport) = (p.next(), p.next(), p.next());
    let ok = name.is_some_and(|n| n.eq_ignore_ascii_case("SIP"))
        && ver == Some("2.0")
        && transport.is_some_and(|t| !t.is_empty() && t.bytes().all(is_token_char));
    let mut parts = rest.trim_start().split(';');
    let sent_by = parts.next().unwrap_or_default().trim();
    if !ok || sent_by.is_empty() || sent_by.contains(char::is_whitespace) {
        return Err(bad());
    }
    // `via-params = via-ttl / via-maddr / via-received / via-branch / via-extension`, each
    // `token [EQUAL gen-value]`: an empty parameter (RFC 4475 §3.1.2.1 badinv01) is invalid.
    for param in parts {
        let name = param.split('=').next().unwrap_or_default().trim();
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(bad());
        }
    }
    Ok(())
}

/// Option tags in `Require` that are not in `supported`: a UAS answers a request with any such
/// tag with `420 Bad Extension` listing them in `Unsupported` (RFC 3261 §8.2.2.3).
/// (`Proxy-Require` is for proxies and ignored here, §8.2.2.3.)
pub fn unsupported_requirements(request: &rsip::Request, supported: &[&str]) -> Vec<String> {
    request
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Require(r) => Some(r.to_string()),
            _ => None,
        })
        .flat_map(|line| {
            let value = line
                .split_once(':')
                .map_or(line.as_str(), |(_, v)| v)
                .to_owned();
            value
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|tag| !supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .collect()
}

/// `(name-addr / addr-spec) *(SEMI param)` (§20.10, §25.1), checked as far as parsing
/// needs: a display name is a quoted string or tokens; a URI in `<>` has no whitespace; an
/// addr-spec without `<>` may not contain `?` or `,` (they would be ambiguous, §20.10).
fn check_name_addr(value: &str) -> Result<(), &'static str> {
    let v = value.trim();
    let uri_part = if let Some(rest) = v.strip_prefix('"') {
        // Quoted display name with quoted-pairs.
        let mut escaped = false;
        let mut end = None;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = Some(i);
                break;
            }
        }
        let end = end.ok_or("unterminated quoted string")?;
        let after = rest[end + 1..].trim_start();
        if !after.starts_with('<') {
            return Err("quoted display name must be followed by <URI>");
        }
        after
    } else if let Some(lt) = v.find('<') {
        let display = &v[..lt];
        if !display
            .split_whitespace()
            .all(|t| t.bytes().all(is_token_char))
        {
            return Err("display name has characters that must be quoted");
        }
        &v[lt..]
    } else {
        let uri = v.split(';').next().unwrap_or_default();
        if uri.is_empty() || !uri.contains(':') || uri.contains(char::is_whitespace) {
            return Err("malformed URI");
        }
        if uri.contains(['?', ',']) {
            return Err("a URI with '?' or ',' must be enclosed in <>");
        }
        return Ok(());
    };
    // uri_part starts with '<'.
    let close = uri_part.find('>').ok_or("missing '>'")?;
    let uri = &uri_part[1..close];
    if uri.is_empty() || uri.contains(char::is_whitespace) || !uri.contains(':') {
        return Err("malformed URI in <>");
    }
    Ok(())
}

fn check_request_uri(uri: &str) -> Result<(), ValidateError> {
    let bad = || ValidateError::RequestUri(truncate(uri));
    let (scheme, rest) = uri.split_once(':').ok_or_else(bad)?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        // Covers `<sip:…>` (RFC 4475 §3.1.2.3 ltgtruri).
        return Err(bad());
    }
    if !["sip", "sips", "tel"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Err(ValidateError::UriScheme(truncate(scheme)));
    }
    if uri
        .bytes()
        .any(|b| b.is_ascii_control() || b == b'<' || b == b'>' || b == b'"')
    {
        return Err(bad());
    }
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        // §19.1.1 (Table 1): URI headers are not allowed in a Request-URI (RFC 4475
        // §3.1.2.11 escruri). The user part may contain '?' (user-unreserved), so look
        // after the host starts.
        let hostport_and_params = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        if hostport_and_params.contains('?') {
            return Err(ValidateError::RequestUri(format!(
                "{}: headers are not allowed in a Request-URI",
                truncate(uri)
            )));
        }
    }
    Ok(())
}

/// Applies Content-Length to the body (§18.3): more bytes than declared are discarded, fewer
/// is an error. Without the header the body is what arrived (allowed on datagrams; the stream
/// framer enforces its presence).
fn reconcile_content_length(raw: &mut RawMessage) -> Result<(), ValidateError> {
    let Some(value) = raw.header("Content-Length") else {
        return Ok(());
    };
    let declared = parse_content_length(value)?;
    let actual = raw.body.len();
    if declared > actual {
        return Err(ValidateError::BodyTooShort { declared, actual });
    }
    raw.body.truncate(declared);
    Ok(())
}

/// `Content-Length = 1*DIGIT` (§20.14).
pub(crate) fn parse_content_length(value: &str) -> Result<usize, ValidateError> {
    if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidateError::ContentLength(truncate(value)));
    }
    value
        .parse()
        .map_err(|_| ValidateError::ContentLength(truncate(value)))
}

/// Standard reason phrases for the codes the receive path generates.
fn default_reason(status: u16) -> &'static str {
    match status {
        416 => "Unsupported URI Scheme",
        501 => "Not Implemented",
        505 => "Version Not Supported",
        _ => "Bad Request",
    }
}

/// Reason phrases are `TEXT-UTF8` on one line (§25.1): replace anything that could break the
/// status line.
fn sanitize_reason(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Builds the stateless error response for a rejected request (§8.2.6): Via (all, in order),
/// From, To (with a tag added if absent, §8.2.6.2), Call-ID and CSeq copied; the reason phrase
/// names the problem. `None` when a needed header is missing.
pub fn error_response(raw: &RawMessage, status: u16, error: &ValidateError) -> Option<Vec<u8>> {
    if let StartLine::Request { method, .. } = &raw.start
        && method == "ACK"
    {
        // §17.2.1: an ACK is never answered.
        return None;
    }
    let from = raw.header("From")?;
    let to = raw.header("To")?;
    let call_id = raw.header("Call-ID")?;
    let cseq = raw.header("CSeq")?;
    let vias: Vec<&str> = raw.header_values("Via").collect();
    if vias.is_empty() {
        return None;
    }
    let to = if header_param(to, "tag").is_some() {
        to.to_owned()
    } else {
        let branch = header_param(vias[0], "branch").unwrap_or_default();
        format!("{to};tag={}", derived_tag(&[call_id, branch, cseq]))
    };
    let reason = sanitize_reason(&format!("{} - {}", default_reason(status), error));
    let mut headers: Vec<RawHeader> = vias
        .iter()
        .map(|v| RawHeader {
            name: "Via".into(),
            value: (*v).to_owned(),
        })
        .collect();
    for (name, value) in [
        ("From", from.to_owned()),
        ("To", to),
        ("Call-ID", call_id.to_owned()),
        ("CSeq", cseq.to_owned()),
    ] {
        headers.push(RawHeader {
            name: name.into(),
            value,
        });
    }
    if status == 501 {
        headers.push(RawHeader {
            name: "Allow".into(),
            value: KNOWN_METHODS.join(", "),
        });
    }
    if status == 505 {
        // Nothing else to add: §21.5.7 only suggests describing supported versions.
    }
    headers.push(RawHeader {
        name: "Content-Length".into(),
        value: "0".into(),
    });
    Some(
        RawMessage {
            start: StartLine::Response {
                version: "SIP/2.0".into(),
                code: status.to_string(),
                reason,
            },
            headers,
            body: Vec::new(),
        }
        .to_bytes(),
    )
}
