//! The normalised message model that sits between the wire and rsip.
//!
//! [`RawMessage`] is what [`crate::normalize`] produces: a start line, header fields with
//! canonical (long-form) names and unfolded, trimmed values, and the body. Validation
//! ([`crate::validate`]) works on it, and it is also what we build error responses from when
//! rsip cannot represent the request (an unknown method, for instance).

/// The first line of a message, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP-Version` (RFC 3261 §7.1).
    Request {
        /// The method token exactly as received (methods are case-sensitive, §7.1).
        method: String,
        /// The Request-URI as received.
        uri: String,
        /// The version as received, e.g. `SIP/2.0`.
        version: String,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.2).
    Response {
        /// The version as received.
        version: String,
        /// The status code as received (validated later).
        code: String,
        /// The reason phrase, possibly empty.
        reason: String,
    },
}

/// One header field after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    /// Canonical long-form name (`Via`, `Call-ID`, …) for known headers; the received name
    /// otherwise.
    pub name: String,
    /// The value, unfolded and trimmed of surrounding whitespace.
    pub value: String,
}

/// A message after framing and normalisation, before rsip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The start line.
    pub start: StartLine,
    /// Header fields in received order.
    pub headers: Vec<RawHeader>,
    /// The body: every byte after the blank line (datagram) or exactly Content-Length bytes
    /// (stream). [`crate::validate`] reconciles it with Content-Length.
    pub body: Vec<u8>,
}

impl RawMessage {
    /// All values of the header `name` (canonical name, compared case-insensitively).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The first value of the header `name`, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Serialises back to wire form with canonical names and a single space after colons.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                out.extend_from_slice(method.as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri.as_bytes());
                out.push(b' ');
                out.extend_from_slice(version.as_bytes());
            }
            StartLine::Response {
                version,
                code,
                reason,
            } => {
                out.extend_from_slice(version.as_bytes());
                out.push(b' ');
                out.extend_from_slice(code.as_bytes());
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        for h in &self.headers {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// Serialises an rsip message to wire bytes.
///
/// rsip's own `Display` passes the body through `from_utf8_lossy`, which would corrupt binary
/// bodies (and change their length, breaking Content-Length), so the body is appended as bytes.
pub fn serialize(msg: &rsip::SipMessage) -> Vec<u8> {
    let head = match msg {
        rsip::SipMessage::Request(r) => {
            format!("{} {} {}\r\n{}\r\n", r.method, r.uri, r.version, r.headers)
        }
        rsip::SipMessage::Response(r) => {
            format!("{} {}\r\n{}\r\n", r.version, r.status_code, r.headers)
        }
    };
    let body = msg.body();
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a header value on commas that are outside quoted strings and angle brackets
/// (RFC 3261 §7.3.1: a header with a comma-separated list is equivalent to several header
/// fields with the same name).
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = 0u32;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            ',' if angle == 0 => {
                parts.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Reads a `;name=value` parameter (case-insensitive name) from a header value such as a Via.
/// Returns `Some("")` for a parameter without value.
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    // Parameters follow the first ';' outside of angle brackets and quotes.
    let mut in_quotes = false;
    let mut angle = 0u32;
    let mut params_at = None;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => angle += 1,
            '>' if !in_quotes => angle = angle.saturating_sub(1),
            ';' if !in_quotes && angle == 0 => {
                params_at = Some(i);
                break;
            }
            _ => {}
        }
    }
    let params = &value[params_at? + 1..];
    for p in params.split(';') {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (p.trim(), ""),
        };
        if k.eq_ignore_ascii_case(name) {
            return Some(v.trim_matches('"'));
        }
    }
    None
}

/// A short deterministic tag derived from message identifiers (FNV-1a), used where we must add a
/// To tag to a stateless error response (RFC 3261 §8.2.6.2) without a random source.
pub fn derived_tag(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        let v = r#""Doe, John" <sip:j@x;a=b,c>;q=0.5, <sip:k@y>"#;
        assert_eq!(
            split_list(v),
            vec![r#""Doe, John" <sip:j@x;a=b,c>;q=0.5"#, "<sip:k@y>"]
        );
    }

    #[test]
    fn params_are_found_case_insensitively() {
        let via = "SIP/2.0/UDP h:5060;BRANCH=z9hG4bK1;rport";
        assert_eq!(header_param(via, "branch"), Some("z9hG4bK1"));
        assert_eq!(header_param(via, "rport"), Some(""));
        assert_eq!(header_param(via, "received"), None);
        assert_eq!(header_param("<sip:a;x=1>;tag=9", "x"), None);
        assert_eq!(header_param("<sip:a;x=1>;tag=9", "tag"), Some("9"));
    }
}
