//! Framing: where one message ends and the next begins.
//!
//! - Datagrams (UDP) carry one message each ([`receive_datagram`]); a datagram of nothing but
//!   CRLFs is a keep-alive (RFC 5626 §3.5.1 / §4.4.1).
//! - WebSocket (RFC 7118 §5) carries one message per WebSocket message and Content-Length is
//!   optional there, exactly datagram semantics: pass each text/binary WebSocket message to
//!   [`receive_datagram`].
//! - Streams (TCP, TLS) delimit messages by Content-Length (RFC 3261 §18.3), which is therefore
//!   mandatory there. [`StreamFramer`] takes bytes as they arrive ([`StreamFramer::push`]) and
//!   yields complete messages ([`StreamFramer::next_item`]). It also recognises the RFC 5626
//!   §3.5.1 CRLF keep-alive: a double CRLF "ping" between messages asks for a single CRLF
//!   "pong", and a lone CRLF is a pong.
//!
//! Errors that leave the stream in sync (a missing Content-Length: we assume 0, as the head is
//! fully delimited; an over-long body: we skip it) are reported and framing continues. Lines
//! that cannot begin a SIP message (say, the body of a message sent without Content-Length)
//! are skipped up to the next plausible start line, so one broken message costs one message. Errors
//! that make the next message boundary unknowable (an over-long head, an unparsable
//! Content-Length) are [`StreamItem::Fatal`]: close the connection.

use crate::normalize::{
    MAX_MESSAGE_SIZE, NormalizeError, find_head_end, find_head_end_from, normalize, normalize_head,
    salvage_head,
};
use crate::validate::{Inbound, ValidateError, decide, parse_content_length, validate};

/// Framing failures that end a stream connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The head grew past the size cap without a blank line.
    #[error("header section exceeds {MAX_MESSAGE_SIZE} bytes without terminating")]
    HeadTooLarge,
    /// The Content-Length could not be parsed, so the next boundary is unknown.
    #[error("unparsable Content-Length '{0}' on a stream")]
    BadContentLength(String),
    /// Several Content-Length headers on a stream (which one frames the body?).
    #[error("conflicting Content-Length headers on a stream")]
    ConflictingContentLength,
}

/// Parses and validates one datagram (RFC 3261 §18.3: the datagram is the message; octets
/// beyond Content-Length are discarded).
pub fn receive_datagram(datagram: &[u8]) -> Inbound {
    if datagram.iter().all(|b| *b == b'\r' || *b == b'\n') {
        return Inbound::KeepAlive;
    }
    match normalize(datagram) {
        Ok(raw) => validate(raw),
        Err(e) => reject_unnormalizable(datagram, e),
    }
}

/// Decision for bytes that could not be normalised: requests still get a 400 when enough of
/// the head can be salvaged; anything else is dropped.
fn reject_unnormalizable(bytes: &[u8], error: NormalizeError) -> Inbound {
    let start = crate::normalize::leading_blank_len(bytes);
    let bytes = &bytes[start..];
    let head = match find_head_end(bytes) {
        Some((head_len, _)) => &bytes[..head_len],
        None => &bytes[..bytes.len().min(MAX_MESSAGE_SIZE)],
    };
    match salvage_head(head) {
        Some(raw) => decide(&raw, ValidateError::Normalize(error)),
        None => Inbound::Drop(ValidateError::Normalize(error)),
    }
}

/// One item out of a stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A framed message and the receive path's decision about it.
    Message(Inbound),
    /// An RFC 5626 §3.5.1 ping (CRLFCRLF): answer with [`PONG`].
    Ping,
    /// An RFC 5626 §3.5.1 pong (CRLF): the flow is alive.
    Pong,
    /// The stream cannot be framed any more: close the connection.
    Fatal(FramingError),
}

/// The keep-alive pong to send in answer to [`StreamItem::Ping`].
pub const PONG: &[u8] = b"\r\n";
/// The keep-alive ping a client sends on a stream (RFC 5626 §3.5.1).
pub const PING: &[u8] = b"\r\n\r\n";

/// Content-Length framing for TCP/TLS byte streams. Sans-IO: feed bytes with
/// [`push`](Self::push), then call [`next_item`](Self::next_item) until it returns `None`.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Bytes of an over-long body still to discard.
    skip: usize,
    fatal: bool,
    /// Bytes already searched for the end of the head, so a head arriving in many small
    /// pieces costs O(n), not O(n²).
    head_scanned: usize,
    /// Bytes already searched for the end of the first line.
    line_scanned: usize,
    /// The first line was found plausible.
    line_ok: bool,
}

impl StreamFramer {
    /// A framer with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. After a [`StreamItem::Fatal`] further bytes are ignored.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.fatal {
            return;
        }
        let mut bytes = bytes;
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete item, or `None` until more bytes are pushed. Call after every
    /// [`push`](Self::push) until it returns `None`.
    pub fn next_item(&mut self) -> Option<StreamItem> {
        if self.fatal || self.skip > 0 {
            return None;
        }
        // Keep-alives sit between messages (RFC 5626 §3.5.1).
        if self.buf.starts_with(b"\r\n\r\n") {
            self.consume(4);
            return Some(StreamItem::Ping);
        }
        if self.buf.starts_with(b"\r\n") {
            if self.buf.len() == 3 && self.buf[2] == b'\r' {
                // Probably a ping split across segments: wait for its last byte.
                return None;
            }
            // A lone CRLF is a pong. A ping split after its first CRLF would read as two
            // pongs; acceptable, as a UA sends pings and receives pongs (§3.5.1), and the
            // alternative—waiting—would delay every pong until more bytes arrive.
            self.consume(2);
            return Some(StreamItem::Pong);
        }
        if self.buf.is_empty() {
            return None;
        }
        // Resynchronise: if the first line cannot start a SIP message (a body sent without
        // Content-Length, line noise), skip to the next line that can.
        if let Some(skipped) = self.skip_non_sip_lines() {
            return Some(StreamItem::Message(Inbound::Drop(
                ValidateError::Normalize(NormalizeError::StartLine(format!(
                    "skipped {skipped} bytes of non-SIP data on the stream"
                ))),
            )));
        }
        let Some((head_len, body_start)) =
            find_head_end_from(&self.buf, self.head_scanned.saturating_sub(3))
        else {
            self.head_scanned = self.buf.len();
            if self.buf.len() > MAX_MESSAGE_SIZE {
                return Some(self.fail(FramingError::HeadTooLarge));
            }
            return None;
        };
        let declared = {
            let mut lengths = content_lengths(&self.buf[..head_len]);
            match (lengths.next(), lengths.next()) {
                (None, _) => Ok(None),
                (Some(v), None) => parse_content_length(v.trim()).map(Some).map_err(|_| {
                    FramingError::BadContentLength(crate::normalize::truncate(v.trim()))
                }),
                (Some(_), Some(_)) => Err(FramingError::ConflictingContentLength),
            }
        };
        let declared = match declared {
            Ok(d) => d,
            Err(e) => return Some(self.fail(e)),
        };
        let body_len = declared.unwrap_or(0);
        if body_start.saturating_add(body_len) > MAX_MESSAGE_SIZE {
            // Skip the body so the stream stays in sync, and reject the message.
            let available = self.buf.len() - body_start;
            let head = self.buf[..head_len].to_vec();
            let total = body_start + body_len;
            if available >= body_len {
                self.consume(total);
            } else {
                self.skip = body_len - available;
                self.consume(self.buf.len());
            }
            let error = NormalizeError::TooLarge(total);
            return Some(StreamItem::Message(reject_unnormalizable(&head, error)));
        }
        if self.buf.len() < body_start + body_len {
            return None;
        }
        let message: Vec<u8> = self.buf[..body_start + body_len].to_vec();
        self.consume(body_start + body_len);
        let head = &message[..head_len];
        let body = &message[body_start..];
        let inbound = match normalize_head(head, body) {
            Err(e) => reject_unnormalizable(head, e),
            Ok(raw) if declared.is_none() => decide(
                &raw,
                ValidateError::MissingHeader("Content-Length (mandatory on streams)"),
            ),
            Ok(raw) => validate(raw),
        };
        Some(StreamItem::Message(inbound))
    }

    /// Drops complete leading lines that cannot be a start line; returns how many bytes were
    /// dropped, or `None` if the buffer starts plausibly (or the first line is incomplete).
    fn skip_non_sip_lines(&mut self) -> Option<usize> {
        if self.line_ok {
            return None;
        }
        if !self.buf[self.line_scanned..].contains(&b'\n') {
            self.line_scanned = self.buf.len();
            return None;
        }
        let mut skipped = 0;
        loop {
            let rest = &self.buf[skipped..];
            let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                break;
            };
            if plausible_start_line(&rest[..nl]) {
                if skipped == 0 {
                    self.line_ok = true;
                }
                break;
            }
            skipped += nl + 1;
        }
        if skipped == 0 {
            return None;
        }
        self.consume(skipped);
        Some(skipped)
    }

    /// Removes `n` bytes from the front and forgets what was scanned.
    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.head_scanned = 0;
        self.line_scanned = 0;
        self.line_ok = false;
    }

    fn fail(&mut self, error: FramingError) -> StreamItem {
        self.fatal = true;
        self.consume(self.buf.len());
        StreamItem::Fatal(error)
    }
}

/// Lenient on purpose: a malformed start line of a real message (extra spaces, a bad
/// version) must still reach validation and get its 400/505; only lines that cannot be SIP at
/// all are skipped. Empty lines are handled by the keep-alive logic before this.
fn plausible_start_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return true;
    }
    let has_sip = line.windows(4).any(|w| w.eq_ignore_ascii_case(b"SIP/"));
    has_sip && line.first().is_some_and(|b| b.is_ascii_graphic())
}

/// Content-Length values in a raw head, by long or compact name (`l`), before normalisation.
fn content_lengths(head: &[u8]) -> impl Iterator<Item = &str> {
    head.split(|b| *b == b'\n').filter_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (name, value) = line.split_once(':')?;
        let name = name.trim_end();
        (name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l"))
            .then_some(value.trim_end_matches('\r'))
    })
}
