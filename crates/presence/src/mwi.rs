//! Message waiting: the `application/simple-message-summary` body of the `message-summary`
//! event package (RFC 3842), which a voicemail system sends to say how many messages wait.
//!
//! ```text
//! Messages-Waiting: yes
//! Message-Account: sip:alice@vmail.example.com
//! Voice-Message: 2/8 (0/2)
//! ```
//!
//! The grammar (RFC 3842 §5.2) is a few `name: value` lines: `Messages-Waiting` (`yes`/`no`,
//! required and first), an optional `Message-Account` (the URI to call for the messages),
//! then one summary line per message context class (RFC 3458: voice, fax, pager, multimedia,
//! text, none) with `new/old` and optionally `(urgent-new/urgent-old)`; after an empty line
//! come optional message headers, which we skip. Names are case-insensitive. There is no kept
//! crate for this three-line format, so it is parsed here, strictly per that grammar: a
//! document that breaks it is a [`MwiError`], never a panic and never a guess.

use serde::Serialize;

/// The body's content type.
pub const CONTENT_TYPE: &str = "application/simple-message-summary";
/// The SIP event package.
pub const EVENT: &str = "message-summary";
/// Bodies larger than this are refused unread (a summary is a few hundred bytes).
pub const MAX_SIZE: usize = 16 * 1024;

/// Counts of one message class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages not yet heard.
    pub new: u32,
    /// Messages heard and kept.
    pub old: u32,
    /// Of the new ones, how many are urgent.
    pub urgent_new: u32,
    /// Of the old ones, how many are urgent.
    pub urgent_old: u32,
}

/// What a message summary says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `Messages-Waiting: yes`.
    pub waiting: bool,
    /// The account the messages are in (the URI to call for them), when the server names it.
    pub account: Option<String>,
    /// Voice messages (`Voice-Message`), when the server counts them.
    pub voice: Option<Counts>,
    /// Every class counted, in the order given, lower-cased (`voice-message`, `fax-message`…).
    pub classes: Vec<(String, Counts)>,
}

/// Why a summary could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MwiError {
    /// Larger than [`MAX_SIZE`].
    #[error("the message summary is too large ({0} bytes)")]
    TooLarge(usize),
    /// Not UTF-8 text.
    #[error("the message summary is not text")]
    NotUtf8,
    /// The required `Messages-Waiting` line is missing or not first.
    #[error("the message summary does not start with Messages-Waiting")]
    NoStatus,
    /// A line breaks the grammar.
    #[error("the message summary has an unreadable line: {0}")]
    BadLine(String),
}

/// The message context classes of RFC 3458 §4.
const CLASSES: &[&str] = &[
    "voice-message",
    "fax-message",
    "pager-message",
    "multimedia-message",
    "text-message",
    "none",
];

/// Parses a `simple-message-summary` body.
pub fn parse(body: &[u8]) -> Result<Summary, MwiError> {
    if body.len() > MAX_SIZE {
        return Err(MwiError::TooLarge(body.len()));
    }
    let text = std::str::from_utf8(body).map_err(|_| MwiError::NotUtf8)?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        // Leading empty lines are tolerated (some servers start the body with CRLF).
        .skip_while(|l| l.trim().is_empty());

    let (name, value) = lines.next().and_then(split).ok_or(MwiError::NoStatus)?;
    if !name.eq_ignore_ascii_case("messages-waiting") {
        return Err(MwiError::NoStatus);
    }
    let waiting = match value.to_ascii_lowercase().as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(bad(name, value)),
    };
    let mut summary = Summary {
        waiting,
        ..Summary::default()
    };
    for line in lines {
        if line.trim().is_empty() {
            // The optional message headers follow (RFC 3842 §5.2 `opt-msg-headers`).
            break;
        }
        let Some((name, value)) = split(line) else {
            return Err(MwiError::BadLine(clip(line)));
        };
        let lower = name.to_ascii_lowercase();
        if lower == "message-account" {
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                return Err(bad(name, value));
            }
            summary.account = Some(value.to_owned());
        } else if CLASSES.contains(&lower.as_str()) {
            let counts = counts(value).ok_or_else(|| bad(name, value))?;
            if lower == "voice-message" {
                summary.voice = Some(counts);
            }
            summary.classes.push((lower, counts));
        } else {
            // An extension line (RFC 3842 allows `extension-header`): skipped, not an error.
        }
    }
    Ok(summary)
}

/// `name: value` with the value trimmed; `None` without a colon or with an empty name.
fn split(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name, value.trim()))
}

/// `new/old` with an optional `(urgent-new/urgent-old)`.
fn counts(value: &str) -> Option<Counts> {
    let (main, urgent) = match value.split_once('(') {
        Some((main, rest)) => (main.trim(), Some(rest.trim().strip_suffix(')')?.trim())),
        None => (value, None),
    };
    let pair = |s: &str| -> Option<(u32, u32)> {
        let (a, b) = s.split_once('/')?;
        Some((number(a)?, number(b)?))
    };
    let (new, old) = pair(main)?;
    let (urgent_new, urgent_old) = match urgent {
        Some(u) => pair(u)?,
        None => (0, 0),
    };
    Some(Counts {
        new,
        old,
        urgent_new,
        urgent_old,
    })
}

fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn bad(name: &str, value: &str) -> MwiError {
    MwiError::BadLine(clip(&format!("{name}: {value}")))
}

/// At most 80 characters of a line, for an error message.
fn clip(line: &str) -> String {
    line.chars().take(80).collect()
}
