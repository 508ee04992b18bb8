//! SDP parser and serializer (RFC 8866 §5, §9 grammar).
//!
//! The parser is deliberately strict about structure (field order of `v=`, `o=`, `s=`; every
//! line `<type>=<value>`; known type letters only, as RFC 8866 §5 allows a parser to reject
//! unknown ones) and lenient about what real peers get wrong without harm: bare `LF` line
//! ends, a missing `t=` line, an empty `s=`. Anything it cannot understand gives an
//! [`SdpError`] that names the line; it never panics on any input.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

/// Upper bound on the size of a description we accept; a SIP body of an audio call is a few
/// hundred bytes, so anything this large is an attack or garbage.
pub const MAX_SDP_LEN: usize = 64 * 1024;
/// Upper bound on `m=` sections, for the same reason.
pub const MAX_MEDIA: usize = 32;

/// Why a session description could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP is empty")]
    Empty,
    #[error("SDP is {0} bytes, larger than the {MAX_SDP_LEN} bytes we accept")]
    TooLarge(usize),
    #[error("SDP is not valid UTF-8")]
    NotUtf8,
    #[error("SDP has more than {MAX_MEDIA} media sections")]
    TooManyMedia,
    #[error("SDP line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("SDP is missing the mandatory `{0}=` line")]
    Missing(char),
}

fn line_err(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Line {
        line,
        reason: reason.into(),
    }
}

/// `o=` (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=` (RFC 8866 §5.7). `address` keeps the text (it may be a FQDN or carry a multicast TTL);
/// [`Connection::ip`] gives the parsed unicast IP when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

impl Connection {
    /// An `IN IP4`/`IN IP6` connection line for `ip`.
    pub fn from_ip(ip: IpAddr) -> Self {
        Connection {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
        }
    }

    /// The unicast IP address, if the address is a literal IP (multicast `/ttl` suffixes and
    /// host names give `None`).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub bw_type: String,
    pub kbps: u64,
}

/// `t=<start> <stop>` (RFC 8866 §5.9) with its `r=` lines kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

/// `a=<name>[:<value>]` (RFC 8866 §5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=rtcp-mux`).
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
    /// A value attribute (`a=ptime:20`).
    pub fn value(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// One `m=` section (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    pub info: Option<String>,
    pub connections: Vec<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub info: Option<String>,
    pub uri: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub timings: Vec<Timing>,
    pub time_zones: Option<String>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
}

/// Finds an attribute by name in a list (first match).
pub(crate) fn find_attr<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl MediaDescription {
    /// The first attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find_attr(&self.attributes, name)
    }

    /// All values of the attributes called `name`.
    pub fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name.eq_ignore_ascii_case(name))
            .filter_map(|a| a.value.as_deref())
    }

    /// `a=rtpmap:<pt> <name>/<rate>[/<channels>]` for payload type `pt` (RFC 8866 §6.6):
    /// `(encoding name, clock rate, channels)`.
    pub fn rtpmap(&self, pt: u8) -> Option<(String, u32, u8)> {
        self.attribute_values("rtpmap").find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            if p.trim().parse::<u8>().ok()? != pt {
                return None;
            }
            let mut it = rest.trim().split('/');
            let name = it.next()?.to_string();
            let rate = it.next()?.trim().parse().ok()?;
            let channels = match it.next() {
                Some(c) => c.trim().parse().ok()?,
                None => 1,
            };
            Some((name, rate, channels))
        })
    }

    /// `a=fmtp:<pt> <params>` for payload type `pt` (RFC 8866 §6.15): the parameter string.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attribute_values("fmtp").find_map(|v| {
            let (p, rest) = v.split_once(' ').unwrap_or((v, ""));
            (p.trim().parse::<u8>().ok()? == pt).then_some(rest.trim())
        })
    }

    /// Payload types as numbers (formats that are not numbers are skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// The connection address in effect: this section's first `c=`, else the session's.
    pub fn effective_connection<'a>(
        &'a self,
        session: &'a SessionDescription,
    ) -> Option<&'a Connection> {
        self.connections.first().or(session.connection.as_ref())
    }
}

impl SessionDescription {
    /// A minimal description: `v=0`, the origin, `s=-`, `t=0 0`.
    pub fn new(origin: Origin) -> Self {
        SessionDescription {
            origin,
            session_name: "-".into(),
            info: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing {
                start: 0,
                stop: 0,
                repeats: Vec::new(),
            }],
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The first session-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find_attr(&self.attributes, name)
    }

    /// Parses raw bytes (a SIP body).
    pub fn parse_bytes(input: &[u8]) -> Result<Self, SdpError> {
        if input.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge(input.len()));
        }
        let s = std::str::from_utf8(input).map_err(|_| SdpError::NotUtf8)?;
        Self::parse(s)
    }

    /// Parses a session description.
    pub fn parse(input: &str) -> Result<Self, SdpError> {
        parse(input)
    }
}

fn parse_origin(n: usize, v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
    if f.len() != 6 {
        return Err(line_err(
            n,
            "o= needs 6 fields: username sess-id sess-version nettype addrtype address",
        ));
    }
    // Session ids are "numeric strings" (RFC 8866 §5.2); some peers exceed 64 bits. We keep the
    // low digits that fit rather than refusing a call over it.
    let num = |s: &str, what: &str| -> Result<u64, SdpError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(line_err(n, format!("o= {what} `{s}` is not a number")));
        }
        let tail = &s[s.len().saturating_sub(19)..];
        tail.parse::<u64>()
            .map_err(|_| line_err(n, format!("o= {what} `{s}` is not a number")))
    };
    Ok(Origin {
        username: f[0].into(),
        session_id: num(f[1], "session id")?,
        session_version: num(f[2], "session version")?,
        net_type: f[3].into(),
        addr_type: f[4].into(),
        address: f[5].into(),
    })
}

fn parse_connection(n: usize, v: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
    if f.len() != 3 {
        return Err(line_err(n, "c= needs 3 fields: nettype addrtype address"));
    }
    if f[0] == "IN" {
        let base = f[2].split('/').next().unwrap_or("");
        let ok = match f[1] {
            "IP4" => base.parse::<std::net::Ipv4Addr>().is_ok() || is_hostname(base),
            "IP6" => base.parse::<std::net::Ipv6Addr>().is_ok() || is_hostname(base),
            _ => true,
        };
        if !ok {
            return Err(line_err(
                n,
                format!("c= address `{}` is not valid for {}", f[2], f[1]),
            ));
        }
    }
    Ok(Connection {
        net_type: f[0].into(),
        addr_type: f[1].into(),
        address: f[2].into(),
    })
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn parse_bandwidth(n: usize, v: &str) -> Result<Bandwidth, SdpError> {
    let (t, bw) = v
        .split_once(':')
        .ok_or_else(|| line_err(n, "b= must be <bwtype>:<bandwidth>"))?;
    let kbps = bw
        .trim()
        .parse()
        .map_err(|_| line_err(n, format!("b= bandwidth `{bw}` is not a number")))?;
    Ok(Bandwidth {
        bw_type: t.into(),
        kbps,
    })
}

fn parse_timing(n: usize, v: &str) -> Result<Timing, SdpError> {
    let f: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
    if f.len() != 2 {
        return Err(line_err(n, "t= needs 2 fields: start stop"));
    }
    let p = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| line_err(n, format!("t= time `{s}` is not a number")))
    };
    Ok(Timing {
        start: p(f[0])?,
        stop: p(f[1])?,
        repeats: Vec::new(),
    })
}

fn parse_attribute(n: usize, v: &str) -> Result<Attribute, SdpError> {
    let (name, value) = match v.split_once(':') {
        Some((a, b)) => (a, Some(b.to_string())),
        None => (v, None),
    };
    // att-field is a token (RFC 8866 §9).
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
    {
        return Err(line_err(
            n,
            format!("a= attribute name `{name}` is not a token"),
        ));
    }
    Ok(Attribute {
        name: name.into(),
        value,
    })
}

fn parse_media(n: usize, v: &str) -> Result<MediaDescription, SdpError> {
    let f: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
    if f.len() < 3 {
        return Err(line_err(n, "m= needs <media> <port> <proto> <fmt> ..."));
    }
    let (port, num_ports) = match f[1].split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (f[1], None),
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| line_err(n, format!("m= port `{}` is not a port number", f[1])))?;
    let num_ports = num_ports
        .map(|c| {
            c.parse::<u16>()
                .map_err(|_| line_err(n, format!("m= port count `{c}` is not a number")))
        })
        .transpose()?;
    Ok(MediaDescription {
        media: f[0].into(),
        port,
        num_ports,
        proto: f[2].into(),
        formats: f[3..].iter().map(|s| s.to_string()).collect(),
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    })
}

/// Parses a session description (see the module doc for what is accepted).
pub fn parse(input: &str) -> Result<SessionDescription, SdpError> {
    if input.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge(input.len()));
    }
    if input.trim().is_empty() {
        return Err(SdpError::Empty);
    }
    let mut session: Option<SessionDescription> = None;
    let mut seen_v = false;
    let mut seen_s = false;
    for (idx, raw) in input.split('\n').enumerate() {
        let n = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            // A trailing empty line (after the final CRLF) is normal; tolerate stray blank
            // lines too, some gateways add them.
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(line_err(n, "not a `<type>=<value>` line"));
        }
        if line.contains('\0') || line.contains('\r') {
            return Err(line_err(n, "control character inside the line"));
        }
        let ty = bytes[0] as char;
        let value = &line[2..];
        if !seen_v {
            if ty != 'v' {
                return Err(line_err(n, "the first line must be `v=0`"));
            }
            if value.trim() != "0" {
                return Err(line_err(n, format!("unsupported SDP version `{value}`")));
            }
            seen_v = true;
            continue;
        }
        let Some(sd) = session.as_mut() else {
            if ty != 'o' {
                return Err(line_err(n, "the second line must be `o=`"));
            }
            session = Some(SessionDescription {
                timings: Vec::new(),
                session_name: String::new(),
                ..SessionDescription::new(parse_origin(n, value)?)
            });
            continue;
        };
        if !seen_s {
            if ty != 's' {
                return Err(line_err(n, "the third line must be `s=`"));
            }
            sd.session_name = value.into();
            seen_s = true;
            continue;
        }
        if let Some(m) = sd.media.last_mut() {
            match ty {
                'm' => {}
                'i' => {
                    m.info = Some(value.into());
                    continue;
                }
                'c' => {
                    m.connections.push(parse_connection(n, value)?);
                    continue;
                }
                'b' => {
                    m.bandwidths.push(parse_bandwidth(n, value)?);
                    continue;
                }
                'k' => {
                    m.key = Some(value.into());
                    continue;
                }
                'a' => {
                    m.attributes.push(parse_attribute(n, value)?);
                    continue;
                }
                _ => {
                    return Err(line_err(
                        n,
                        format!("`{ty}=` is not allowed inside a media section"),
                    ));
                }
            }
        }
        match ty {
            'v' | 'o' | 's' => return Err(line_err(n, format!("duplicate `{ty}=` line"))),
            'i' => sd.info = Some(value.into()),
            'u' => sd.uri = Some(value.into()),
            'e' => sd.emails.push(value.into()),
            'p' => sd.phones.push(value.into()),
            'c' => sd.connection = Some(parse_connection(n, value)?),
            'b' => sd.bandwidths.push(parse_bandwidth(n, value)?),
            't' => sd.timings.push(parse_timing(n, value)?),
            'r' => match sd.timings.last_mut() {
                Some(t) => t.repeats.push(value.into()),
                None => return Err(line_err(n, "`r=` without a preceding `t=`")),
            },
            'z' => sd.time_zones = Some(value.into()),
            'k' => sd.key = Some(value.into()),
            'a' => sd.attributes.push(parse_attribute(n, value)?),
            'm' => {
                if sd.media.len() >= MAX_MEDIA {
                    return Err(SdpError::TooManyMedia);
                }
                sd.media.push(parse_media(n, value)?);
            }
            other => return Err(line_err(n, format!("unknown line type `{other}=`"))),
        }
    }
    if !seen_v {
        return Err(SdpError::Missing('v'));
    }
    let Some(mut sd) = session else {
        return Err(SdpError::Missing('o'));
    };
    if !seen_s {
        return Err(SdpError::Missing('s'));
    }
    if sd.timings.is_empty() {
        // Lenient: RFC 8866 requires t=, but its absence changes nothing for a call.
        sd.timings.push(Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        });
    }
    Ok(sd)
}

fn write_conn(f: &mut String, c: &Connection) {
    let _ = write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address);
}

fn write_attr(f: &mut String, a: &Attribute) {
    match &a.value {
        Some(v) => {
            let _ = write!(f, "a={}:{}\r\n", a.name, v);
        }
        None => {
            let _ = write!(f, "a={}\r\n", a.name);
        }
    }
}

impl fmt::Display for SessionDescription {
    /// Serializes in the field order of RFC 8866 §5 with CRLF line ends.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Writing into a String cannot fail; the `let _` below ignore an infallible Result.
        let mut f = String::with_capacity(512);
        let o = &self.origin;
        let _ = write!(
            f,
            "v=0\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.net_type,
            o.addr_type,
            o.address,
            self.session_name
        );
        if let Some(i) = &self.info {
            let _ = write!(f, "i={i}\r\n");
        }
        if let Some(u) = &self.uri {
            let _ = write!(f, "u={u}\r\n");
        }
        for e in &self.emails {
            let _ = write!(f, "e={e}\r\n");
        }
        for p in &self.phones {
            let _ = write!(f, "p={p}\r\n");
        }
        if let Some(c) = &self.connection {
            write_conn(&mut f, c);
        }
        for b in &self.bandwidths {
            let _ = write!(f, "b={}:{}\r\n", b.bw_type, b.kbps);
        }
        for t in &self.timings {
            let _ = write!(f, "t={} {}\r\n", t.start, t.stop);
            for r in &t.repeats {
                let _ = write!(f, "r={r}\r\n");
            }
        }
        if let Some(z) = &self.time_zones {
            let _ = write!(f, "z={z}\r\n");
        }
        if let Some(k) = &self.key {
            let _ = write!(f, "k={k}\r\n");
        }
        for a in &self.attributes {
            write_attr(&mut f, a);
        }
        for m in &self.media {
            let _ = write!(f, "m={} {}", m.media, m.port);
            if let Some(n) = m.num_ports {
                let _ = write!(f, "/{n}");
            }
            let _ = write!(f, " {}", m.proto);
            for fmt in &m.formats {
                let _ = write!(f, " {fmt}");
            }
            f.push_str("\r\n");
            if let Some(i) = &m.info {
                let _ = write!(f, "i={i}\r\n");
            }
            for c in &m.connections {
                write_conn(&mut f, c);
            }
            for b in &m.bandwidths {
                let _ = write!(f, "b={}:{}\r\n", b.bw_type, b.kbps);
            }
            if let Some(k) = &m.key {
                let _ = write!(f, "k={k}\r\n");
            }
            for a in &m.attributes {
                write_attr(&mut f, a);
            }
        }
        out.write_str(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "v=0\r\n\
o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 111 0 8 101\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1;usedtx=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
m=video 0 RTP/AVP 96\r\n";

    #[test]
    fn parses_and_round_trips() {
        let sd = SessionDescription::parse(SAMPLE).unwrap();
        assert_eq!(sd.origin.session_id, 2890844526);
        assert_eq!(sd.media.len(), 2);
        let m = &sd.media[0];
        assert_eq!(m.port, 49170);
        assert_eq!(m.rtpmap(111), Some(("opus".into(), 48000, 2)));
        assert_eq!(m.rtpmap(0), Some(("PCMU".into(), 8000, 1)));
        assert_eq!(m.fmtp(111), Some("useinbandfec=1;usedtx=1"));
        assert!(m.attribute("rtcp-mux").is_some());
        assert_eq!(sd.media[1].port, 0);
        assert_eq!(sd.to_string(), SAMPLE);
        assert_eq!(SessionDescription::parse(&sd.to_string()).unwrap(), sd);
    }

    #[test]
    fn accepts_lf_and_missing_t() {
        let s = "v=0\no=- 1 1 IN IP6 ::1\ns=\nm=audio 5004 RTP/AVP 0\n";
        let sd = parse(s).unwrap();
        assert_eq!(sd.timings.len(), 1);
        assert_eq!(sd.media[0].formats, vec!["0"]);
        assert_eq!(sd.origin.address, "::1");
    }

    #[test]
    fn rejects_garbage_with_clear_errors() {
        assert_eq!(parse(""), Err(SdpError::Empty));
        assert!(matches!(
            parse("hello"),
            Err(SdpError::Line { line: 1, .. })
        ));
        assert!(matches!(
            parse("v=1\r\n"),
            Err(SdpError::Line { line: 1, .. })
        ));
        assert_eq!(parse("v=0\r\n"), Err(SdpError::Missing('o')));
        assert_eq!(
            parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"),
            Err(SdpError::Missing('s'))
        );
        let e = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 99999 RTP/AVP 0\r\n")
            .unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
        assert!(parse("v=0\r\no=- x 1 IN IP4 1.2.3.4\r\ns=-\r\n").is_err());
        assert!(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 999.1.1.1\r\n").is_err());
        assert!(
            parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n")
                .is_err()
        );
        assert!(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nx=1\r\n").is_err());
        assert!(matches!(
            SessionDescription::parse_bytes(&[b'v', b'=', 0xff]),
            Err(SdpError::NotUtf8)
        ));
        assert!(matches!(
            SessionDescription::parse_bytes(&vec![b'a'; MAX_SDP_LEN + 1]),
            Err(SdpError::TooLarge(_))
        ));
    }

    #[test]
    fn huge_session_id_is_kept_not_rejected() {
        let sd = parse("v=0\r\no=- 123456789012345678901234 1 IN IP4 1.2.3.4\r\ns=-\r\n").unwrap();
        assert_eq!(sd.origin.session_id, 6_789_012_345_678_901_234);
    }

    /// Deterministic mutation test: thousands of byte-level mutations of a valid description
    /// must parse or fail cleanly, and whatever parses must round-trip through the serializer.
    #[test]
    fn mutations_never_panic() {
        let mut rng = crate::rng::SplitMix64::new(0x5d9_c0de);
        let base = SAMPLE.as_bytes();
        for _ in 0..20_000 {
            let mut b = base.to_vec();
            for _ in 0..(1 + rng.below(6)) {
                let pos = rng.below(b.len() as u64 + 1) as usize;
                match rng.below(4) {
                    0 if pos < b.len() => b[pos] = rng.next_u64() as u8,
                    1 if pos < b.len() => {
                        b.remove(pos);
                    }
                    2 => b.insert(pos, b" =:/\r\n0a9"[rng.below(9) as usize]),
                    _ => {
                        let end = (pos + rng.below(40) as usize).min(b.len());
                        let chunk = b[pos..end].to_vec();
                        let at = rng.below(b.len() as u64 + 1) as usize;
                        b.splice(at..at, chunk);
                    }
                }
            }
            if let Ok(sd) = SessionDescription::parse_bytes(&b) {
                let again = SessionDescription::parse(&sd.to_string());
                assert!(
                    again.is_ok(),
                    "serialized form must re-parse: {:?}",
                    sd.to_string()
                );
                let _ = crate::sdp::offer_answer::answer_offer(
                    &crate::sdp::offer_answer::tests::local(),
                    &sd,
                );
            }
        }
    }
}
