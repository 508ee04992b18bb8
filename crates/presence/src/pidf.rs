//! PIDF (RFC 3863) with RPID activities (RFC 4480) and the data model's person note
//! (RFC 4479): parse a contact's document into a [`Presence`], write ours with [`build`].
//!
//! How a document becomes one [`Status`] (the most telling signal wins):
//! 1. an RPID activity `on-the-phone` → [`Status::OnThePhone`]; `busy` → [`Status::Busy`];
//!    `away`, `appointment`, `meal`, `vacation`, `sleeping`, `travel`, `steering`,
//!    `in-transit`, `meeting`… → [`Status::Away`] (meeting counts as busy, see below);
//! 2. otherwise any tuple with `<basic>open</basic>` → [`Status::Available`], all closed →
//!    [`Status::Offline`];
//! 3. a note saying "On the phone" / "Busy" / "Away" (MicroSIP, baresip and others put the
//!    state there in plain presence) refines an open tuple the same way;
//! 4. no tuple at all → [`Status::Unknown`].

use std::borrow::Cow;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde::{Deserialize, Serialize};

/// The PIDF namespace (RFC 3863 §4.1).
pub const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// The RPID namespace (RFC 4480 §5).
pub const NS_RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// The data model namespace (RFC 4479 §4), for `<dm:person>` and `<dm:note>`.
pub const NS_DM: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The media type of a PIDF document.
pub const CONTENT_TYPE: &str = "application/pidf+xml";

/// The largest document parsed (a contact with many devices stays far below).
pub const MAX_SIZE: usize = 64 * 1024;
/// The deepest element nesting parsed.
pub const MAX_DEPTH: usize = 32;

/// A contact's status, as the app shows it (and the CLI prints it, snake-case with dashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Online and free.
    Available,
    /// Away from the desk.
    Away,
    /// Busy / do not disturb.
    Busy,
    /// In a call.
    OnThePhone,
    /// Offline (or appearing offline).
    Offline,
    /// Nothing known (no subscription, or the provider gives no presence).
    Unknown,
}

impl Status {
    /// The word the CLI and the JSON use (`available`, `on-the-phone`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Away => "away",
            Status::Busy => "busy",
            Status::OnThePhone => "on-the-phone",
            Status::Offline => "offline",
            Status::Unknown => "unknown",
        }
    }

    /// Parses the CLI's words (also `dnd` and `appear-offline`/`invisible` for offline).
    pub fn parse(word: &str) -> Option<Status> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "available" | "online" | "open" => Status::Available,
            "away" => Status::Away,
            "busy" | "dnd" | "do-not-disturb" => Status::Busy,
            "on-the-phone" | "on_the_phone" => Status::OnThePhone,
            "offline" | "appear-offline" | "invisible" => Status::Offline,
            "unknown" => Status::Unknown,
            _ => return None,
        })
    }
}

/// What a document says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    /// The `entity` of the document (`pres:` or `sip:` URI).
    pub entity: String,
    /// The status derived from it.
    pub status: Status,
    /// The first note (person's, else a tuple's), trimmed; `None` when there is none.
    pub note: Option<String>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidfError {
    /// Larger than [`MAX_SIZE`].
    #[error("the presence document is {0} bytes long; at most {MAX_SIZE} are read")]
    TooLarge(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("the presence document is nested too deeply")]
    TooDeep,
    /// Not UTF-8 text.
    #[error("the presence document is not UTF-8 text")]
    NotUtf8,
    /// Not well-formed XML.
    #[error("the presence document is not well-formed XML: {0}")]
    Xml(String),
    /// Well-formed, but its root is not a PIDF `<presence>`.
    #[error("the document is not PIDF (its root is {0:?})")]
    NotPidf(String),
}

#[derive(Default)]
struct Scan {
    entity: Option<String>,
    root_seen: bool,
    open: bool,
    closed: bool,
    tuples: usize,
    activities: Vec<String>,
    person_note: Option<String>,
    tuple_note: Option<String>,
}

/// Reads a PIDF document.
pub fn parse(body: &[u8]) -> Result<Presence, PidfError> {
    if body.len() > MAX_SIZE {
        return Err(PidfError::TooLarge(body.len()));
    }
    let text = std::str::from_utf8(body).map_err(|_| PidfError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    // Whitespace is trimmed per element below (trimming chunks would eat spaces around `&amp;`).
    let mut scan = Scan::default();
    // (namespace, local name) of each open element.
    let mut stack: Vec<(Option<String>, String)> = Vec::new();
    let mut text_buf = String::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| PidfError::Xml(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => Some(n.as_ref().to_owned()),
            _ => None,
        };
        match event {
            Event::Start(e) => {
                let local = e.local_name().as_ref().to_owned();
                if stack.is_empty() {
                    check_root(&mut scan, ns.as_deref(), &local, &e)?;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(PidfError::TooDeep);
                }
                on_element(&mut scan, &stack, ns.as_deref(), &local);
                stack.push((ns, local));
                text_buf.clear();
            }
            Event::Empty(e) => {
                let local = e.local_name().as_ref().to_owned();
                if stack.is_empty() {
                    check_root(&mut scan, ns.as_deref(), &local, &e)?;
                }
                on_element(&mut scan, &stack, ns.as_deref(), &local);
            }
            Event::Text(t) => text_buf.push_str(&t.xml10_content()),
            Event::CData(t) => text_buf.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved: Option<Cow<'_, str>> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(Cow::Owned(c.to_string())),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .map(Cow::Borrowed),
                    Err(e) => return Err(PidfError::Xml(e.to_string())),
                };
                match resolved {
                    Some(s) => text_buf.push_str(&s),
                    None => {
                        return Err(PidfError::Xml(format!(
                            "unknown entity &{};",
                            r.xml10_content()
                        )));
                    }
                }
            }
            Event::End(_) => {
                let Some((ns, local)) = stack.pop() else {
                    return Err(PidfError::Xml("unbalanced end tag".into()));
                };
                on_text(&mut scan, &stack, ns.as_deref(), &local, text_buf.trim());
                text_buf.clear();
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !scan.root_seen {
        return Err(PidfError::Xml("empty document".into()));
    }
    if !stack.is_empty() {
        return Err(PidfError::Xml("the document ends inside an element".into()));
    }
    Ok(conclude(scan))
}

fn check_root(
    scan: &mut Scan,
    ns: Option<&str>,
    local: &str,
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<(), PidfError> {
    if scan.root_seen {
        return Err(PidfError::Xml("more than one root element".into()));
    }
    scan.root_seen = true;
    if local != "presence" || ns != Some(NS_PIDF) {
        return Err(PidfError::NotPidf(local.to_owned()));
    }
    for a in e.attributes() {
        let a = a.map_err(|e| PidfError::Xml(e.to_string()))?;
        if a.key.local_name().as_ref() == "entity" {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| PidfError::Xml(e.to_string()))?;
            scan.entity = Some(v.into_owned());
        }
    }
    Ok(())
}

fn inside(stack: &[(Option<String>, String)], ns: &str, local: &str) -> bool {
    stack
        .iter()
        .any(|(n, l)| n.as_deref() == Some(ns) && l == local)
}

fn on_element(scan: &mut Scan, stack: &[(Option<String>, String)], ns: Option<&str>, local: &str) {
    match (ns, local) {
        (Some(NS_PIDF), "tuple") => scan.tuples += 1,
        (Some(NS_RPID), activity)
            if stack
                .last()
                .is_some_and(|(n, l)| n.as_deref() == Some(NS_RPID) && l == "activities") =>
        {
            scan.activities.push(activity.to_owned());
        }
        _ => {}
    }
}

fn on_text(
    scan: &mut Scan,
    stack: &[(Option<String>, String)],
    ns: Option<&str>,
    local: &str,
    text: &str,
) {
    match (ns, local) {
        (Some(NS_PIDF), "basic") if inside(stack, NS_PIDF, "status") => {
            if text.eq_ignore_ascii_case("open") {
                scan.open = true;
            } else if text.eq_ignore_ascii_case("closed") {
                scan.closed = true;
            }
        }
        (Some(NS_DM | NS_RPID), "note")
            if inside(stack, NS_DM, "person") && scan.person_note.is_none() && !text.is_empty() =>
        {
            scan.person_note = Some(text.to_owned());
        }
        (Some(NS_PIDF | NS_DM), "note")
            if !inside(stack, NS_DM, "person") && scan.tuple_note.is_none() && !text.is_empty() =>
        {
            scan.tuple_note = Some(text.to_owned());
        }
        _ => {}
    }
}

fn from_note(note: &str) -> Option<Status> {
    let n = note.trim().to_ascii_lowercase();
    if n.starts_with("on the phone") || n == "on-the-phone" || n == "in a call" || n == "talking" {
        Some(Status::OnThePhone)
    } else if n == "busy" || n == "do not disturb" || n == "dnd" {
        Some(Status::Busy)
    } else if n == "away" || n == "idle" || n == "be right back" {
        Some(Status::Away)
    } else {
        None
    }
}

fn conclude(scan: Scan) -> Presence {
    let note = scan.person_note.or(scan.tuple_note);
    let has = |a: &str| scan.activities.iter().any(|x| x == a);
    let status = if has("on-the-phone") {
        Status::OnThePhone
    } else if has("busy") || has("meeting") || has("performance") || has("presentation") {
        Status::Busy
    } else if [
        "away",
        "appointment",
        "meal",
        "vacation",
        "sleeping",
        "travel",
        "steering",
        "in-transit",
        "holiday",
        "lookingForWork",
        "shopping",
    ]
    .iter()
    .any(|a| has(a))
    {
        Status::Away
    } else if scan.open {
        note.as_deref()
            .and_then(from_note)
            .unwrap_or(Status::Available)
    } else if scan.closed {
        Status::Offline
    } else {
        Status::Unknown
    };
    Presence {
        entity: scan.entity.unwrap_or_default(),
        status,
        note,
    }
}

/// Our document for `status` and `note`, for PUBLISH (RFC 3903) to `entity` (our address of
/// record): one tuple (open, closed when offline), the RPID activity for away, busy and on
/// the phone, and the note on the person (RFC 4479) and, for clients that read only
/// tuples, on the tuple too. `tuple_id` must stay the same across our publications.
pub fn build(entity: &str, status: Status, note: Option<&str>, tuple_id: &str) -> String {
    let basic = if matches!(status, Status::Offline | Status::Unknown) {
        "closed"
    } else {
        "open"
    };
    let activity = match status {
        Status::Away => Some("away"),
        Status::Busy => Some("busy"),
        Status::OnThePhone => Some("on-the-phone"),
        _ => None,
    };
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let mut s = String::with_capacity(512);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<presence xmlns=\"{NS_PIDF}\" xmlns:dm=\"{NS_DM}\" xmlns:rpid=\"{NS_RPID}\" entity=\"{}\">\n",
        escape(entity)
    ));
    s.push_str(&format!(
        "<tuple id=\"{}\"><status><basic>{basic}</basic></status>",
        escape(tuple_id)
    ));
    if let Some(n) = note {
        s.push_str(&format!("<note>{}</note>", escape(n)));
    }
    s.push_str("</tuple>\n");
    s.push_str(&format!("<dm:person id=\"p-{}\">", escape(tuple_id)));
    if let Some(a) = activity {
        s.push_str(&format!("<rpid:activities><rpid:{a}/></rpid:activities>"));
    }
    if let Some(n) = note {
        s.push_str(&format!("<dm:note>{}</dm:note>", escape(n)));
    }
    s.push_str("</dm:person>\n</presence>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_documents_read_back_for_every_status() {
        for status in [
            Status::Available,
            Status::Away,
            Status::Busy,
            Status::OnThePhone,
            Status::Offline,
        ] {
            for note in [None, Some("Обед <до> 14:00 & 你好 \"q\"")] {
                let doc = build("sip:alice@example.com", status, note, "t1");
                let p = parse(doc.as_bytes()).unwrap();
                assert_eq!(p.status, status, "{doc}");
                assert_eq!(p.note.as_deref(), note, "{doc}");
                assert_eq!(p.entity, "sip:alice@example.com");
            }
        }
    }

    #[test]
    fn words_round_trip() {
        for s in [
            "available",
            "away",
            "busy",
            "on-the-phone",
            "offline",
            "unknown",
        ] {
            assert_eq!(Status::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Status::parse("DND"), Some(Status::Busy));
        assert_eq!(Status::parse("appear-offline"), Some(Status::Offline));
        assert_eq!(Status::parse("sleepy"), None);
    }
}
