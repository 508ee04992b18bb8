//! Normalisation: raw bytes of one message → [`RawMessage`].
//!
//! rsip's tokenizer is stricter than RFC 3261 in places (compact header names, whitespace
//! before the colon, folded lines) and laxer in others, so we parse the head ourselves and
//! hand rsip a canonical rendering. What we accept here, per RFC 3261:
//! - empty lines before the start line are skipped (§7.5);
//! - header names are case-insensitive and compact forms are expanded (§7.3.1, §7.3.3);
//! - whitespace around the colon is allowed (`HCOLON = *( SP / HTAB ) ":" SWS`, §25.1);
//! - a line starting with SP/HTAB continues the previous header (LWS folding, §7.3.1) and is
//!   replaced by a single space;
//! - lines may end in CRLF or a bare LF (robustness: §7.5 only mandates CRLF for senders).
//!
//! What we reject: a start line that is not exactly three SP-separated parts (RFC 4475 §3.1.2.4
//! `lwsruri`, §3.1.2.5 `lwsstart`), header lines without a colon or with an invalid name, and
//! heads beyond the size and header-count caps.

use crate::message::{RawHeader, RawMessage, StartLine, split_list};

/// Largest message we accept, head and body (issue 3: cap at 64 KiB).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Most header fields we accept in one message, after splitting comma lists.
pub const MAX_HEADERS: usize = 256;

/// Why a message could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// No bytes, or only blank lines.
    #[error("empty message")]
    Empty,
    /// The message exceeds [`MAX_MESSAGE_SIZE`].
    #[error("message of {0} bytes exceeds the 64 KiB limit")]
    TooLarge(usize),
    /// More than [`MAX_HEADERS`] header fields.
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    /// No blank line terminates the header section.
    #[error("header section is not terminated by an empty line")]
    UnterminatedHead,
    /// The head is not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// The start line is neither a request line nor a status line.
    #[error("malformed start line: {0}")]
    StartLine(String),
    /// A header line could not be parsed.
    #[error("malformed header line: {0}")]
    HeaderLine(String),
    /// A control character where RFC 3261's grammar allows none: in a header name (a
    /// `token`), or in a value outside a quoted-pair (`TEXT-UTF8`, `qdtext`, `token` … all
    /// exclude %x00-1F and %x7F; LWS allows HTAB).
    #[error("control character {} in the {header} header", control_name(*byte))]
    ControlChar {
        /// The header's name as received (controls in it shown as `?`), so the 400 names it.
        header: String,
        /// The offending octet.
        byte: u8,
    },
    /// A control character in the reason phrase of a status line (`TEXT-UTF8`, §25.1).
    #[error("control character {} in the reason phrase", control_name(*.0))]
    ReasonControlChar(u8),
}

/// A readable name for a control octet in an error text.
fn control_name(byte: u8) -> String {
    match byte {
        0x00 => "NUL (0x00)".into(),
        0x0a => "LF (0x0A)".into(),
        0x0d => "CR (0x0D)".into(),
        0x7f => "DEL (0x7F)".into(),
        b => format!("0x{b:02X}"),
    }
}

/// A control octet the grammar forbids: every C0 control but HTAB (which LWS allows
/// wherever whitespace may stand), and DEL.
fn is_forbidden_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Headers whose value is `TEXT-UTF8-TRIM` (RFC 3261 §25.1: Subject, Organization): no quoted
/// strings there, so a backslash escapes nothing.
fn is_text_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("Subject")
        || name.eq_ignore_ascii_case("s")
        || name.eq_ignore_ascii_case("Organization")
}

/// The first control octet in a header value that the grammar forbids. Inside a quoted
/// string a quoted-pair may escape any octet but CR and LF (`quoted-pair = "\" (%x00-09 /
/// %x0B-0C / %x0E-7F)`, §25.1; RFC 4475 §3.1.1.2 sends an escaped NUL, BEL and DEL in a
/// display name and calls the message valid); nowhere else may a control stand.
fn forbidden_control_in_value(value: &str, quoted_strings: bool) -> Option<u8> {
    let mut in_quotes = false;
    let mut escaped = false;
    for b in value.bytes() {
        if escaped {
            escaped = false;
            if b == b'\r' || b == b'\n' {
                return Some(b);
            }
            continue;
        }
        if quoted_strings && in_quotes && b == b'\\' {
            escaped = true;
            continue;
        }
        if quoted_strings && b == b'"' {
            in_quotes = !in_quotes;
            continue;
        }
        if is_forbidden_control(b) {
            return Some(b);
        }
    }
    None
}

/// Compact forms (RFC 3261 §7.3.3 and the registry of later RFCs) → long names.
fn expand_compact(name: &str) -> Option<&'static str> {
    if name.len() != 1 {
        return None;
    }
    Some(match name.as_bytes()[0].to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'n' => "Identity-Info",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => return None,
    })
}

/// Canonical spelling for the headers this crate looks at, so that lookups and rsip agree.
fn canonical(name: &str) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Max-Forwards",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Content-Encoding",
        "Route",
        "Record-Route",
        "Expires",
        "Min-Expires",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Allow",
        "Accept",
        "User-Agent",
        "Server",
        "Subject",
        "Event",
        "Refer-To",
        "Retry-After",
    ];
    KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

/// Headers whose comma-separated values we split into separate fields, so that "the top Via"
/// and route sets are simply the header list (§7.3.1 makes the two forms equivalent).
fn is_list_header(name: &str) -> bool {
    matches!(name, "Via" | "Route" | "Record-Route" | "Contact")
}

/// `token` characters of RFC 3261 §25.1.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Finds the end of the head: returns (head_len, body_start) where the head excludes the
/// terminating empty line. Accepts CRLFCRLF and bare-LF variants.
pub(crate) fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    find_head_end_from(buf, 0)
}

/// [`find_head_end`] resuming at `from` (a stream framer rescans only new bytes; callers pass
/// a few bytes before the old end so a terminator split across pushes is still found).
pub(crate) fn find_head_end_from(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            // A line ended at i; is the next line empty?
            let next = i + 1;
            if buf.get(next) == Some(&b'\n') {
                return Some((i, next + 1));
            }
            if buf.get(next) == Some(&b'\r') && buf.get(next + 1) == Some(&b'\n') {
                return Some((i, next + 2));
            }
        }
        i += 1;
    }
    None
}

/// Length of leading blank lines (CRLF or LF) to skip before a start line (§7.5).
pub(crate) fn leading_blank_len(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        if buf[i..].starts_with(b"\r\n") {
            i += 2;
        } else if buf[i..].starts_with(b"\n") {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Normalises the head (`head` excludes the blank line) and attaches `body`.
pub fn normalize_head(head: &[u8], body: &[u8]) -> Result<RawMessage, NormalizeError> {
    normalize_head_inner(head, body, false)
}

/// Best effort for a head that failed [`normalize_head`]: skips bad header lines and invalid
/// UTF-8, so that a 400 can still copy Via/From/To/Call-ID/CSeq from a broken request.
pub fn salvage_head(head: &[u8]) -> Option<RawMessage> {
    normalize_head_inner(head, &[], true).ok()
}

fn normalize_head_inner(
    head: &[u8],
    body: &[u8],
    lenient: bool,
) -> Result<RawMessage, NormalizeError> {
    let lossy;
    let head = match std::str::from_utf8(head) {
        Ok(h) => h,
        Err(_) if lenient => {
            lossy = String::from_utf8_lossy(head);
            &lossy
        }
        Err(_) => return Err(NormalizeError::NotUtf8),
    };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().ok_or(NormalizeError::Empty)?;
    let start = match parse_start_line(start_line) {
        Ok(s) => s,
        // A broken status line stays a response (dropped, never answered).
        Err(_)
            if lenient
                && start_line
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) =>
        {
            StartLine::Response {
                version: String::new(),
                code: String::new(),
                reason: String::new(),
            }
        }
        // Only the method matters to an error response (an ACK is never answered).
        Err(_) if lenient => StartLine::Request {
            method: start_line.split(' ').next().unwrap_or_default().to_owned(),
            uri: String::new(),
            version: String::new(),
        },
        Err(e) => return Err(e),
    };

    // Unfold: continuation lines join the previous one with a single space.
    let mut logical: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            match logical.last_mut() {
                Some(prev) => {
                    // Only SP and HTAB are LWS: `str::trim` would also eat a VT or FF at the
                    // edge of the line, hiding a control character from the check below.
                    prev.push(' ');
                    prev.push_str(line.trim_matches([' ', '\t']));
                }
                None if lenient => {}
                None => return Err(NormalizeError::HeaderLine(truncate(line))),
            }
        } else {
            logical.push(line.to_owned());
        }
    }

    let mut headers = Vec::with_capacity(logical.len());
    for line in &mut logical {
        // Control characters first, so that the 400 names the header rather than calling the
        // whole line malformed.
        let name_part = line.split(':').next().unwrap_or_default();
        if let Some(byte) = name_part.bytes().find(|b| is_forbidden_control(*b)) {
            if !lenient {
                return Err(NormalizeError::ControlChar {
                    header: truncate(&printable(name_part.trim_matches([' ', '\t']))),
                    byte,
                });
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && let Some(byte) = forbidden_control_in_value(value, !is_text_header(name.trim()))
        {
            if !lenient {
                let name = name.trim_matches([' ', '\t']);
                let name = expand_compact(name)
                    .or_else(|| canonical(name))
                    .unwrap_or(name);
                return Err(NormalizeError::ControlChar {
                    header: truncate(name),
                    byte,
                });
            }
            // Salvaging for a 400: copy the value without the control characters, so that the
            // error response does not echo them.
            *line = printable(line);
        }
        let line = &*line;
        let parsed = line.split_once(':').and_then(|(name, value)| {
            let name = name.trim_end_matches([' ', '\t']);
            (!name.is_empty() && name.bytes().all(is_token_char)).then_some((name, value))
        });
        let (name, value) = match parsed {
            Some(p) => p,
            None if lenient => continue,
            None => return Err(NormalizeError::HeaderLine(truncate(line))),
        };
        let name = expand_compact(name)
            .or_else(|| canonical(name))
            .map(str::to_owned)
            .unwrap_or_else(|| name.to_owned());
        let value = value.trim_matches([' ', '\t']);
        let compacted;
        let value = if matches!(
            name.as_str(),
            "Via" | "From" | "To" | "Contact" | "Route" | "Record-Route"
        ) {
            compacted = compact_lws(value, name == "Via");
            compacted.as_str()
        } else {
            value
        };
        if is_list_header(&name) && value != "*" {
            for part in split_list(value) {
                headers.push(RawHeader {
                    name: name.clone(),
                    value: part.to_owned(),
                });
            }
        } else {
            headers.push(RawHeader {
                name,
                value: value.to_owned(),
            });
        }
        if headers.len() > MAX_HEADERS {
            if lenient {
                break;
            }
            return Err(NormalizeError::TooManyHeaders);
        }
    }
    Ok(RawMessage {
        start,
        headers,
        body: body.to_vec(),
    })
}

/// Normalises a whole message held in one buffer (a datagram): the body is everything after
/// the blank line.
pub fn normalize(buf: &[u8]) -> Result<RawMessage, NormalizeError> {
    if buf.len() > MAX_MESSAGE_SIZE {
        return Err(NormalizeError::TooLarge(buf.len()));
    }
    let buf = &buf[leading_blank_len(buf)..];
    if buf.is_empty() {
        return Err(NormalizeError::Empty);
    }
    let (head_len, body_start) = find_head_end(buf).ok_or(NormalizeError::UnterminatedHead)?;
    normalize_head(&buf[..head_len], &buf[body_start..])
}

fn parse_start_line(line: &str) -> Result<StartLine, NormalizeError> {
    if line.is_empty() {
        return Err(NormalizeError::Empty);
    }
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        // Status-Line; the reason phrase may contain spaces or be empty (RFC 4475 §3.1.1.13).
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts
            .next()
            .ok_or_else(|| NormalizeError::StartLine(truncate(line)))?;
        let reason = parts.next().unwrap_or_default();
        if let Some(byte) = reason.bytes().find(|b| is_forbidden_control(*b)) {
            return Err(NormalizeError::ReasonControlChar(byte));
        }
        return Ok(StartLine::Response {
            version: version.to_owned(),
            code: code.to_owned(),
            reason: reason.to_owned(),
        });
    }
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(NormalizeError::StartLine(format!(
            "request line must be 'METHOD SP Request-URI SP SIP-Version', got '{}'",
            truncate(line)
        )));
    }
    if !parts[0].bytes().all(is_token_char) {
        return Err(NormalizeError::StartLine(format!(
            "invalid method '{}'",
            truncate(parts[0])
        )));
    }
    Ok(StartLine::Request {
        method: parts[0].to_owned(),
        uri: parts[1].to_owned(),
        version: parts[2].to_owned(),
    })
}

/// Removes the optional whitespace the grammar allows around `;` and `=` in parameters, and
/// for a Via also around `/` and `:` (`SLASH`, `SEMI`, `EQUAL`, `COLON` are all `SWS x SWS`,
/// RFC 3261 §25.1), outside quoted strings, so `SIP / 2.0 / UDP h ; branch = x` becomes
/// `SIP/2.0/UDP h;branch=x`. Other whitespace runs become one space.
fn compact_lws(value: &str, via: bool) -> String {
    let is_sep = |c: char| matches!(c, ';' | '=') || (via && matches!(c, '/' | ':'));
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut pending_space = false;
    for c in value.chars() {
        if in_quotes {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        if c == ' ' || c == '\t' {
            pending_space = true;
            continue;
        }
        if pending_space && !is_sep(c) && !out.ends_with(is_sep) && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        if c == '"' {
            in_quotes = true;
        }
        out.push(c);
    }
    out
}

/// `s` with every forbidden control character replaced by `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if u8::try_from(c).is_ok_and(is_forbidden_control) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Keeps error strings short: they go into reason phrases and logs.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_colon_whitespace_and_folding() {
        let msg = b"\r\nOPTIONS sip:a@b SIP/2.0\r\nv : SIP/2.0/UDP h;branch=z9hG4bK1,\r\n SIP/2.0/UDP g\r\ni:abc\r\nsubject: one\r\n\t two\r\nl: 0\r\n\r\n";
        let m = normalize(msg).unwrap();
        let vias: Vec<_> = m.header_values("Via").collect();
        assert_eq!(vias, vec!["SIP/2.0/UDP h;branch=z9hG4bK1", "SIP/2.0/UDP g"]);
        assert_eq!(m.header("Call-ID"), Some("abc"));
        assert_eq!(m.header("Subject"), Some("one two"));
        assert_eq!(m.header("content-length"), Some("0"));
    }

    #[test]
    fn extra_spaces_in_request_line_are_rejected() {
        assert!(matches!(
            normalize(b"INVITE  sip:a@b SIP/2.0\r\n\r\n"),
            Err(NormalizeError::StartLine(_))
        ));
    }
}
