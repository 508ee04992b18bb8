//! The offer/answer model (RFC 3264) for one audio stream.
//!
//! * [`build_offer`] makes our offer (§5): Opus, PCMU, PCMA, telephone-event at 48000 and
//!   8000 Hz, `a=ptime`, `a=rtcp-mux`, a direction attribute, and optionally `a=crypto`.
//! * [`answer_offer`] answers a peer's offer (§6): one `m=` line per offered line, the first
//!   usable audio stream accepted with the codecs we support **in the offerer's order** and
//!   with the offerer's payload type numbers, every other stream rejected with port 0.
//! * [`process_answer`] turns the answer to our offer into a [`NegotiatedSession`].
//!
//! Hold (§8.4): a `sendonly` offer is answered `recvonly`, `inactive` with `inactive`; the
//! legacy form `c=0.0.0.0` is understood as "do not send to me".

use std::net::{IpAddr, SocketAddr};

use super::crypto::{CryptoAttribute, CryptoError};
use super::ice::{CandidateType, IceDescription, IgnoredAttribute, is_mismatch, read_ice};
use super::parse::{Attribute, Connection, MediaDescription, Origin, SessionDescription};

/// Why offer/answer failed. A SIP layer answers most of these with `488 Not Acceptable Here`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferAnswerError {
    #[error("the offer has no usable audio stream")]
    NoAudio,
    #[error("no codec in common (we support Opus, PCMU, PCMA)")]
    NoCommonCodec,
    #[error("the peer rejected the audio stream (port 0)")]
    Rejected,
    #[error("the answer has {answer} media lines, our offer had {offer}")]
    MediaCountMismatch { offer: usize, answer: usize },
    #[error("the audio stream has no connection address (c=)")]
    NoConnection,
    #[error("SRTP is required by the account but the peer does not offer it")]
    SrtpRequired,
    #[error("the peer requires SRTP with no crypto suite we support")]
    SrtpUnsupported,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Media direction (RFC 3264 §5.1, §6.1), always from the point of view of the side whose
/// description carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    /// The same stream seen from the other side.
    pub fn reverse(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }
    /// Both sides' wishes together.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
    pub fn attribute_name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// The direction attribute of a media section, else of the session, else `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn of(media: &MediaDescription, session: &SessionDescription) -> Self {
        let pick = |attrs: &[Attribute]| {
            attrs.iter().find_map(|a| match a.name.as_str() {
                "sendrecv" => Some(Direction::SendRecv),
                "sendonly" => Some(Direction::SendOnly),
                "recvonly" => Some(Direction::RecvOnly),
                "inactive" => Some(Direction::Inactive),
                _ => None,
            })
        };
        pick(&media.attributes)
            .or_else(|| pick(&session.attributes))
            .unwrap_or_default()
    }
}

/// The audio codecs the media core can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus, RFC 7587: always `opus/48000/2` in SDP whatever is actually coded.
    Opus,
    /// G.711 µ-law, static payload type 0 (RFC 3551 §6).
    Pcmu,
    /// G.711 A-law, static payload type 8 (RFC 3551 §6).
    Pcma,
}

impl AudioCodec {
    pub const ALL: [AudioCodec; 3] = [AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma];

    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }
    /// RTP clock rate (RFC 7587 §4.1: 48000 for Opus whatever the coded bandwidth).
    pub fn clock_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => 48_000,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8_000,
        }
    }
    pub fn channels(self) -> u8 {
        match self {
            AudioCodec::Opus => 2,
            _ => 1,
        }
    }
    /// The payload type we use in our offers.
    pub fn default_payload_type(self) -> u8 {
        match self {
            AudioCodec::Opus => 111,
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }
    /// The fmtp we put in our SDP (RFC 7587 §6.1: `useinbandfec=1` asks the peer to send
    /// in-band FEC, `usedtx=1` says we prefer DTX).
    pub fn local_fmtp(self) -> Option<&'static str> {
        match self {
            AudioCodec::Opus => Some("useinbandfec=1;usedtx=1"),
            _ => None,
        }
    }

    /// Identifies the codec of payload type `pt` in a media section: by its `a=rtpmap`, or
    /// by the static assignment of RFC 3551 when there is no rtpmap.
    pub fn identify(media: &MediaDescription, pt: u8) -> Option<AudioCodec> {
        match media.rtpmap(pt) {
            Some((name, rate, ch)) => {
                if name.eq_ignore_ascii_case("opus") && rate == 48_000 && ch == 2 {
                    Some(AudioCodec::Opus)
                } else if name.eq_ignore_ascii_case("PCMU") && rate == 8_000 && ch == 1 {
                    Some(AudioCodec::Pcmu)
                } else if name.eq_ignore_ascii_case("PCMA") && rate == 8_000 && ch == 1 {
                    Some(AudioCodec::Pcma)
                } else {
                    None
                }
            }
            None => match pt {
                0 => Some(AudioCodec::Pcmu),
                8 => Some(AudioCodec::Pcma),
                _ => None,
            },
        }
    }
}

/// Whether and how to use SDES-SRTP (RFC 4568).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SrtpPolicy {
    /// Plain RTP only.
    Off,
    /// Offer `RTP/AVP` with `a=crypto` (best effort: a peer that ignores it still gets a
    /// call); accept SRTP when offered.
    #[default]
    Optional,
    /// Offer `RTP/SAVP`; refuse a stream without crypto.
    Required,
}

/// Our side of the media: what we offer or accept.
#[derive(Debug, Clone)]
pub struct LocalMedia {
    /// Address and port we receive RTP on (with rtcp-mux, RTCP too).
    pub address: IpAddr,
    pub port: u16,
    /// Codecs in our order of preference.
    pub codecs: Vec<AudioCodec>,
    /// Offer/accept RFC 4733 telephone-event.
    pub dtmf: bool,
    pub ptime_ms: u32,
    /// What we want: `SendOnly` to put the peer on hold, `Inactive` when both hold.
    pub direction: Direction,
    pub srtp: SrtpPolicy,
    /// Our SRTP master key and salt (from a CSPRNG); without it SRTP is not offered.
    pub srtp_key: Option<[u8; 30]>,
    /// `o=` fields; increment `session_version` on every new offer or answer of the dialog.
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    /// Our ICE credentials and candidates (RFC 8839); `None` = no ICE attributes at all.
    /// Set it with [`LocalMedia::set_ice`] so that `c=`/`m=` carry the default candidate.
    pub ice: Option<IceDescription>,
}

impl LocalMedia {
    /// All codecs, DTMF, 20 ms, sendrecv, SRTP optional (when a key is given).
    pub fn new(address: IpAddr, port: u16, session_id: u64) -> Self {
        LocalMedia {
            address,
            port,
            codecs: AudioCodec::ALL.to_vec(),
            dtmf: true,
            ptime_ms: 20,
            direction: Direction::SendRecv,
            srtp: SrtpPolicy::Optional,
            srtp_key: None,
            username: "-".into(),
            session_id,
            session_version: session_id,
            ice: None,
        }
    }

    /// Offers/answers ICE with `ice`, and puts its default candidate in `c=`/`m=`: the
    /// relayed candidate if there is one (it works from anywhere, RFC 8445 §5.1.4), else the
    /// server-reflexive, else the host candidate with the highest priority. Call
    /// [`LocalMedia::set_ice`] again after a restart (new ufrag/pwd).
    pub fn set_ice(&mut self, ice: IceDescription) {
        let rank = |t: CandidateType| match t {
            CandidateType::Relay => 3,
            CandidateType::ServerReflexive => 2,
            CandidateType::Host => 1,
            CandidateType::PeerReflexive => 0,
        };
        let default = ice
            .candidates
            .iter()
            .filter(|c| c.component == 1 && c.transport == super::ice::CandidateTransport::Udp)
            .filter_map(|c| Some((c, c.socket_addr()?)))
            .max_by_key(|(c, _)| (rank(c.typ), c.priority));
        if let Some((_, addr)) = default {
            self.address = addr.ip();
            self.port = addr.port();
        }
        self.ice = Some(ice);
    }

    fn srtp_enabled(&self) -> bool {
        self.srtp != SrtpPolicy::Off && self.srtp_key.is_some()
    }

    fn origin(&self) -> Origin {
        Origin {
            username: self.username.clone(),
            session_id: self.session_id,
            session_version: self.session_version,
            net_type: "IN".into(),
            addr_type: if self.address.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: self.address.to_string(),
        }
    }
}

/// The outcome of a negotiation: what the RTP session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedSession {
    pub codec: AudioCodec,
    /// Payload type for `codec` (the offerer's number: both directions use it).
    pub payload_type: u8,
    pub clock_rate: u32,
    pub channels: u8,
    /// Where to send RTP; `None` when the peer gave `0.0.0.0` (legacy hold) or a host name.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (the RTP address with rtcp-mux, else `a=rtcp` or port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    pub rtcp_mux: bool,
    /// telephone-event payload type at the codec's clock rate, when both support it.
    pub dtmf_payload_type: Option<u8>,
    /// Our direction after negotiation.
    pub direction: Direction,
    /// Packet time to send with (the peer's `a=ptime` when sane, else ours).
    pub ptime_ms: u32,
    /// The peer wants Opus in-band FEC (`useinbandfec=1` in its fmtp, RFC 7587 §6.1).
    pub opus_fec: bool,
    /// The peer prefers Opus DTX (`usedtx=1`).
    pub opus_dtx: bool,
    /// Our crypto line (key we send with) and the peer's (key it sends with), for SDES-SRTP.
    pub local_crypto: Option<CryptoAttribute>,
    pub remote_crypto: Option<CryptoAttribute>,
    /// The peer put us on hold with `c=0.0.0.0` (RFC 3264 §8.4 legacy).
    pub remote_legacy_hold: bool,
    /// ICE with the peer (RFC 8839): whether it runs, the peer's credentials and candidates.
    pub ice: PeerIce,
    /// The peer's ICE attributes we skipped because they were malformed, with the reason.
    pub ice_ignored: Vec<IgnoredAttribute>,
}

/// The peer's side of ICE after offer/answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PeerIce {
    /// No ICE: we did not offer/accept it, or the peer's SDP has none (most SBCs). Media goes
    /// to `remote_rtp`.
    #[default]
    Unaware,
    /// RFC 8839 §4.4: the default destination is not among the peer's candidates (an ALG or
    /// SBC rewrote the SDP), or the answerer said `a=ice-mismatch`. Handled as ICE-unaware.
    Mismatch,
    /// ICE runs: check against `remote`; `controlling` is our role (RFC 8445 §6.1.1).
    Ice {
        remote: IceDescription,
        controlling: bool,
    },
}

impl PeerIce {
    /// The peer's ICE description when ICE runs.
    pub fn remote(&self) -> Option<&IceDescription> {
        match self {
            PeerIce::Ice { remote, .. } => Some(remote),
            _ => None,
        }
    }
}

/// Our role: the offerer controls, unless exactly one side is lite (the full one controls,
/// RFC 8445 §6.1.1).
fn controlling(we_offered: bool, local_lite: bool, remote_lite: bool) -> bool {
    if local_lite != remote_lite {
        !local_lite
    } else {
        we_offered
    }
}

const TE_8000: u8 = 100;
const TE_48000: u8 = 101;

/// Builds our offer (RFC 3264 §5).
pub fn build_offer(local: &LocalMedia) -> SessionDescription {
    let mut sd = SessionDescription::new(local.origin());
    sd.connection = Some(Connection::from_ip(local.address));
    let srtp = local.srtp_enabled();
    let mut m = MediaDescription {
        media: "audio".into(),
        port: local.port,
        num_ports: None,
        proto: if srtp && local.srtp == SrtpPolicy::Required {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        }
        .into(),
        formats: Vec::new(),
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    };
    for c in &local.codecs {
        let pt = c.default_payload_type();
        m.formats.push(pt.to_string());
        m.attributes
            .push(Attribute::value("rtpmap", rtpmap_value(pt, *c)));
        if let Some(f) = c.local_fmtp() {
            m.attributes
                .push(Attribute::value("fmtp", format!("{pt} {f}")));
        }
    }
    if local.dtmf {
        let rates = [(TE_48000, 48_000), (TE_8000, 8_000)];
        for (pt, rate) in rates {
            if local.codecs.iter().any(|c| c.clock_rate() == rate) {
                m.formats.push(pt.to_string());
                m.attributes.push(Attribute::value(
                    "rtpmap",
                    format!("{pt} telephone-event/{rate}"),
                ));
                m.attributes
                    .push(Attribute::value("fmtp", format!("{pt} 0-16")));
            }
        }
    }
    m.attributes
        .push(Attribute::value("ptime", local.ptime_ms.to_string()));
    if let (true, Some(key)) = (srtp, local.srtp_key) {
        m.attributes.push(Attribute::value(
            "crypto",
            CryptoAttribute::aes_cm_128_hmac_sha1_80(1, key).to_value(),
        ));
    }
    m.attributes.push(Attribute::flag("rtcp-mux"));
    m.attributes
        .push(Attribute::flag(local.direction.attribute_name()));
    if let Some(ice) = &local.ice {
        ice.write_to(&mut sd.attributes, &mut m);
    }
    sd.media.push(m);
    sd
}

fn rtpmap_value(pt: u8, c: AudioCodec) -> String {
    if c.channels() > 1 {
        format!(
            "{pt} {}/{}/{}",
            c.encoding_name(),
            c.clock_rate(),
            c.channels()
        )
    } else {
        format!("{pt} {}/{}", c.encoding_name(), c.clock_rate())
    }
}

fn telephone_event_rate(m: &MediaDescription, pt: u8) -> Option<u32> {
    let (name, rate, _) = m.rtpmap(pt)?;
    name.eq_ignore_ascii_case("telephone-event").then_some(rate)
}

fn fmtp_flag(m: &MediaDescription, pt: u8, key: &str) -> bool {
    m.fmtp(pt).is_some_and(|f| {
        f.split(';').any(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case(key) && v.trim() == "1")
        })
    })
}

fn is_unspecified(c: Option<&Connection>) -> bool {
    c.and_then(Connection::ip)
        .is_some_and(|ip| ip.is_unspecified())
}

fn sane_ptime(m: &MediaDescription, default: u32) -> u32 {
    m.attribute("ptime")
        .and_then(|a| a.value.as_deref())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|p| p.round() as u32)
        .filter(|p| (10..=120).contains(p) && p % 10 == 0)
        .unwrap_or(default)
}

fn is_audio_rtp(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio")
        && m.port != 0
        && matches!(
            m.proto.as_str(),
            "RTP/AVP" | "RTP/SAVP" | "RTP/AVPF" | "RTP/SAVPF"
        )
}

fn supported_crypto(m: &MediaDescription) -> Result<Option<CryptoAttribute>, CryptoError> {
    let mut first_err = None;
    for v in m.attribute_values("crypto") {
        match CryptoAttribute::parse(v) {
            Ok(c) if c.suite == super::crypto::SrtpSuite::AesCm128HmacSha1_80 => {
                return Ok(Some(c));
            }
            Ok(_) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Remote RTP and RTCP addresses of a media section.
fn remote_addrs(
    m: &MediaDescription,
    sd: &SessionDescription,
    mux: bool,
) -> (Option<SocketAddr>, Option<SocketAddr>, bool) {
    let conn = m.effective_connection(sd);
    let legacy_hold = is_unspecified(conn);
    let ip = conn
        .and_then(Connection::ip)
        .filter(|ip| !ip.is_unspecified());
    let rtp = ip.map(|ip| SocketAddr::new(ip, m.port));
    let rtcp = if mux {
        rtp
    } else {
        // RFC 3605: a=rtcp:<port> [IN IP4 <addr>]
        let attr = m.attribute("rtcp").and_then(|a| a.value.as_deref());
        let port = attr
            .and_then(|v| v.split_whitespace().next())
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(m.port.saturating_add(1));
        let addr = attr
            .and_then(|v| v.split_whitespace().nth(3))
            .and_then(|a| a.parse::<IpAddr>().ok())
            .or(ip);
        addr.map(|ip| SocketAddr::new(ip, port))
    };
    (rtp, rtcp, legacy_hold)
}

/// Answers `offer` (RFC 3264 §6). Returns our answer and the negotiated session, or an error
/// for which the SIP layer should reply `488` (or `606`).
pub fn answer_offer(
    local: &LocalMedia,
    offer: &SessionDescription,
) -> Result<(SessionDescription, NegotiatedSession), OfferAnswerError> {
    let mut answer = SessionDescription::new(local.origin());
    answer.connection = Some(Connection::from_ip(local.address));
    let mut negotiated: Option<NegotiatedSession> = None;
    let mut last_err = OfferAnswerError::NoAudio;

    for om in &offer.media {
        if negotiated.is_none() && is_audio_rtp(om) {
            match answer_audio(local, offer, om, &mut answer.attributes) {
                Ok((am, n)) => {
                    answer.media.push(am);
                    negotiated = Some(n);
                    continue;
                }
                Err(e) => last_err = e,
            }
        }
        answer.media.push(rejected(om));
    }
    negotiated.map(|n| (answer, n)).ok_or(last_err)
}

/// A rejected stream: the offered line with port 0 and no attributes (RFC 3264 §6).
fn rejected(om: &MediaDescription) -> MediaDescription {
    MediaDescription {
        port: 0,
        num_ports: None,
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
        formats: if om.formats.is_empty() {
            vec!["0".into()]
        } else {
            om.formats.clone()
        },
        ..om.clone()
    }
}

fn answer_audio(
    local: &LocalMedia,
    offer: &SessionDescription,
    om: &MediaDescription,
    session_attrs: &mut Vec<Attribute>,
) -> Result<(MediaDescription, NegotiatedSession), OfferAnswerError> {
    // SRTP first: it decides whether the stream can be accepted at all.
    let offered_crypto = match supported_crypto(om) {
        Ok(c) => c,
        Err(e) if om.proto.contains("SAVP") => return Err(e.into()),
        Err(_) => None,
    };
    let (local_crypto, remote_crypto) = match (offered_crypto, local.srtp_key) {
        (Some(rc), Some(key)) if local.srtp != SrtpPolicy::Off => (
            Some(CryptoAttribute::aes_cm_128_hmac_sha1_80(rc.tag, key)),
            Some(rc),
        ),
        _ if om.proto.contains("SAVP") => return Err(OfferAnswerError::SrtpUnsupported),
        _ if local.srtp == SrtpPolicy::Required => return Err(OfferAnswerError::SrtpRequired),
        _ => (None, None),
    };

    // Codecs we support, in the offerer's order, with the offerer's numbers.
    let mut accepted: Vec<(u8, AudioCodec)> = Vec::new();
    for pt in om.payload_types() {
        if let Some(c) = AudioCodec::identify(om, pt)
            && local.codecs.contains(&c)
            && !accepted.iter().any(|(_, a)| *a == c)
        {
            accepted.push((pt, c));
        }
    }
    let &(pt, codec) = accepted.first().ok_or(OfferAnswerError::NoCommonCodec)?;

    let mut te: Vec<(u8, u32)> = Vec::new();
    if local.dtmf {
        for p in om.payload_types() {
            if let Some(rate) = telephone_event_rate(om, p)
                && accepted.iter().any(|(_, c)| c.clock_rate() == rate)
                && !te.iter().any(|(_, r)| *r == rate)
            {
                te.push((p, rate));
            }
        }
    }

    let mux = om.attribute("rtcp-mux").is_some();
    let (remote_rtp, remote_rtcp, legacy_hold) = remote_addrs(om, offer, mux);
    if om.effective_connection(offer).is_none() {
        return Err(OfferAnswerError::NoConnection);
    }
    let mut offered_dir = Direction::of(om, offer);
    if legacy_hold {
        // c=0.0.0.0: the offerer does not want to receive (RFC 3264 §8.4).
        offered_dir = offered_dir.intersect(Direction::SendOnly);
    }
    let direction = local.direction.intersect(offered_dir.reverse());

    let mut am = MediaDescription {
        media: om.media.clone(),
        port: local.port,
        num_ports: None,
        proto: om.proto.clone(),
        formats: Vec::new(),
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    };
    for &(p, c) in &accepted {
        am.formats.push(p.to_string());
        am.attributes
            .push(Attribute::value("rtpmap", rtpmap_value(p, c)));
        if let Some(f) = c.local_fmtp() {
            am.attributes
                .push(Attribute::value("fmtp", format!("{p} {f}")));
        }
    }
    for &(p, rate) in &te {
        am.formats.push(p.to_string());
        am.attributes.push(Attribute::value(
            "rtpmap",
            format!("{p} telephone-event/{rate}"),
        ));
        let events = om.fmtp(p).filter(|f| !f.is_empty()).unwrap_or("0-15");
        am.attributes
            .push(Attribute::value("fmtp", format!("{p} {events}")));
    }
    am.attributes
        .push(Attribute::value("ptime", local.ptime_ms.to_string()));
    if let Some(c) = &local_crypto {
        am.attributes.push(Attribute::value("crypto", c.to_value()));
    }
    if mux {
        am.attributes.push(Attribute::flag("rtcp-mux"));
    }
    am.attributes
        .push(Attribute::flag(direction.attribute_name()));

    let read = read_ice(om, offer);
    let ice = match (&local.ice, read.ice) {
        (Some(_), Some(remote)) if is_mismatch(&remote, om, offer) => {
            // RFC 8839 §4.4: tell the offerer, and no other ICE attribute in the answer.
            am.attributes.push(Attribute::flag("ice-mismatch"));
            PeerIce::Mismatch
        }
        (Some(ours), Some(remote)) => {
            ours.write_to(session_attrs, &mut am);
            PeerIce::Ice {
                controlling: controlling(false, ours.lite, remote.lite),
                remote,
            }
        }
        _ => PeerIce::Unaware,
    };

    let n = NegotiatedSession {
        codec,
        payload_type: pt,
        clock_rate: codec.clock_rate(),
        channels: codec.channels(),
        remote_rtp,
        remote_rtcp,
        rtcp_mux: mux,
        dtmf_payload_type: te
            .iter()
            .find(|(_, r)| *r == codec.clock_rate())
            .map(|(p, _)| *p),
        direction,
        ptime_ms: sane_ptime(om, local.ptime_ms),
        opus_fec: codec == AudioCodec::Opus && fmtp_flag(om, pt, "useinbandfec"),
        opus_dtx: codec == AudioCodec::Opus && fmtp_flag(om, pt, "usedtx"),
        local_crypto,
        remote_crypto,
        remote_legacy_hold: legacy_hold,
        ice,
        ice_ignored: read.ignored,
    };
    Ok((am, n))
}

/// Processes the answer to an offer we built with [`build_offer`] from `local`.
pub fn process_answer(
    local: &LocalMedia,
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedSession, OfferAnswerError> {
    if offer.media.len() != answer.media.len() {
        return Err(OfferAnswerError::MediaCountMismatch {
            offer: offer.media.len(),
            answer: answer.media.len(),
        });
    }
    let idx = offer
        .media
        .iter()
        .position(is_audio_rtp)
        .ok_or(OfferAnswerError::NoAudio)?;
    let (om, am) = (&offer.media[idx], &answer.media[idx]);
    if am.port == 0 {
        return Err(OfferAnswerError::Rejected);
    }
    // The first answered payload type that we offered is the codec to send with.
    let (pt, codec) = am
        .payload_types()
        .filter(|pt| om.payload_types().any(|o| o == *pt))
        .find_map(|pt| {
            let c = AudioCodec::identify(om, pt)?;
            // The answer must not remap our number to another codec.
            match AudioCodec::identify(am, pt) {
                Some(a) if a == c => Some((pt, c)),
                None if am.rtpmap(pt).is_none() => Some((pt, c)),
                _ => None,
            }
        })
        .ok_or(OfferAnswerError::NoCommonCodec)?;

    let local_crypto = supported_crypto(om).ok().flatten();
    let remote_crypto = match supported_crypto(am) {
        Ok(c) => c,
        Err(e) if am.proto.contains("SAVP") => return Err(e.into()),
        Err(_) => None,
    };
    let (local_crypto, remote_crypto) = match (local_crypto, remote_crypto) {
        (Some(_), Some(rc)) => {
            // Our line with the tag the answerer picked (RFC 4568 §7.1.3).
            let ours = om
                .attribute_values("crypto")
                .filter_map(|v| CryptoAttribute::parse(v).ok())
                .find(|c| c.tag == rc.tag)
                .ok_or(OfferAnswerError::SrtpUnsupported)?;
            (Some(ours), Some(rc))
        }
        _ if local.srtp == SrtpPolicy::Required => return Err(OfferAnswerError::SrtpRequired),
        _ => (None, None),
    };

    let mux = om.attribute("rtcp-mux").is_some() && am.attribute("rtcp-mux").is_some();
    if am.effective_connection(answer).is_none() {
        return Err(OfferAnswerError::NoConnection);
    }
    let (remote_rtp, remote_rtcp, legacy_hold) = remote_addrs(am, answer, mux);
    let mut answered = Direction::of(am, answer);
    if legacy_hold {
        answered = answered.intersect(Direction::SendOnly);
    }
    let direction = local.direction.intersect(answered.reverse());
    let read = read_ice(am, answer);
    let ice = match (&local.ice, read.ice) {
        (Some(_), _) if read.mismatch_signalled => PeerIce::Mismatch,
        (Some(_), Some(remote)) if is_mismatch(&remote, am, answer) => PeerIce::Mismatch,
        (Some(ours), Some(remote)) => PeerIce::Ice {
            controlling: controlling(true, ours.lite, remote.lite),
            remote,
        },
        _ => PeerIce::Unaware,
    };
    let dtmf_payload_type = am.payload_types().find(|p| {
        om.payload_types().any(|o| o == *p)
            && telephone_event_rate(om, *p) == Some(codec.clock_rate())
    });
    Ok(NegotiatedSession {
        codec,
        payload_type: pt,
        clock_rate: codec.clock_rate(),
        channels: codec.channels(),
        remote_rtp,
        remote_rtcp,
        rtcp_mux: mux,
        dtmf_payload_type,
        direction,
        ptime_ms: sane_ptime(am, local.ptime_ms),
        opus_fec: codec == AudioCodec::Opus && fmtp_flag(am, pt, "useinbandfec"),
        opus_dtx: codec == AudioCodec::Opus && fmtp_flag(am, pt, "usedtx"),
        local_crypto,
        remote_crypto,
        remote_legacy_hold: legacy_hold,
        ice,
        ice_ignored: read.ignored,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn local() -> LocalMedia {
        LocalMedia::new("192.0.2.1".parse().unwrap(), 4000, 42)
    }

    fn sdp(s: &str) -> SessionDescription {
        SessionDescription::parse(s).unwrap()
    }

    #[test]
    fn offer_has_everything() {
        let mut l = local();
        l.srtp_key = Some([3; 30]);
        let text = build_offer(&l).to_string();
        for needle in [
            "m=audio 4000 RTP/AVP 111 0 8 101 100\r\n",
            "a=rtpmap:111 opus/48000/2\r\n",
            "a=fmtp:111 useinbandfec=1;usedtx=1\r\n",
            "a=rtpmap:0 PCMU/8000\r\n",
            "a=rtpmap:8 PCMA/8000\r\n",
            "a=rtpmap:101 telephone-event/48000\r\n",
            "a=rtpmap:100 telephone-event/8000\r\n",
            "a=ptime:20\r\n",
            "a=rtcp-mux\r\n",
            "a=sendrecv\r\n",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:",
            "c=IN IP4 192.0.2.1\r\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        l.srtp = SrtpPolicy::Required;
        l.direction = Direction::SendOnly;
        let text = build_offer(&l).to_string();
        assert!(text.contains("RTP/SAVP") && text.contains("a=sendonly"));
    }

    const PCMA_FIRST: &str = "v=0\r\no=peer 1 1 IN IP4 198.51.100.7\r\ns=-\r\n\
c=IN IP4 198.51.100.7\r\nt=0 0\r\n\
m=audio 30000 RTP/AVP 8 0 18 96 97\r\na=rtpmap:18 G729/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=rtpmap:97 opus/48000/2\r\n\
a=ptime:30\r\n\
m=video 30002 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n";

    #[test]
    fn answer_keeps_offerer_order_and_rejects_video() {
        let (ans, n) = answer_offer(&local(), &sdp(PCMA_FIRST)).unwrap();
        let text = ans.to_string();
        assert!(
            text.contains("m=audio 4000 RTP/AVP 8 0 97 96\r\n"),
            "{text}"
        );
        assert!(text.contains("m=video 0 RTP/AVP 99\r\n"), "{text}");
        assert!(!text.contains("G729"));
        assert_eq!(n.codec, AudioCodec::Pcma);
        assert_eq!(n.payload_type, 8);
        assert_eq!(n.dtmf_payload_type, Some(96));
        assert_eq!(n.remote_rtp, Some("198.51.100.7:30000".parse().unwrap()));
        assert_eq!(n.remote_rtcp, Some("198.51.100.7:30001".parse().unwrap()));
        assert!(!n.rtcp_mux);
        assert_eq!(n.ptime_ms, 30);
        assert_eq!(n.direction, Direction::SendRecv);
        // The answer must itself be valid SDP.
        assert_eq!(SessionDescription::parse(&text).unwrap(), ans);
    }

    #[test]
    fn no_common_codec_and_no_audio() {
        let g729 = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n\
m=audio 1000 RTP/AVP 18\r\n";
        assert_eq!(
            answer_offer(&local(), &sdp(g729)).unwrap_err(),
            OfferAnswerError::NoCommonCodec
        );
        let video = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\n\
m=video 1000 RTP/AVP 96\r\n";
        assert_eq!(
            answer_offer(&local(), &sdp(video)).unwrap_err(),
            OfferAnswerError::NoAudio
        );
    }

    fn round_trip(
        offerer: &LocalMedia,
        answerer: &LocalMedia,
    ) -> (NegotiatedSession, NegotiatedSession) {
        let offer = build_offer(offerer);
        let offer_wire = SessionDescription::parse(&offer.to_string()).unwrap();
        let (answer, at_answerer) = answer_offer(answerer, &offer_wire).unwrap();
        let answer_wire = SessionDescription::parse(&answer.to_string()).unwrap();
        let at_offerer = process_answer(offerer, &offer, &answer_wire).unwrap();
        (at_offerer, at_answerer)
    }

    #[test]
    fn homeline_to_homeline_negotiates_opus_with_mux() {
        let a = local();
        let mut b = LocalMedia::new("203.0.113.9".parse().unwrap(), 5000, 7);
        b.codecs = vec![AudioCodec::Pcmu, AudioCodec::Opus];
        let (x, y) = round_trip(&a, &b);
        // Offerer's order wins: Opus.
        assert_eq!((x.codec, x.payload_type), (AudioCodec::Opus, 111));
        assert_eq!((y.codec, y.payload_type), (AudioCodec::Opus, 111));
        assert_eq!(x.dtmf_payload_type, Some(101));
        assert_eq!(y.dtmf_payload_type, Some(101));
        assert!(x.rtcp_mux && y.rtcp_mux);
        assert!(x.opus_fec && y.opus_fec && x.opus_dtx);
        assert_eq!(x.remote_rtp, Some("203.0.113.9:5000".parse().unwrap()));
        assert_eq!(x.remote_rtcp, x.remote_rtp);
        assert_eq!(y.remote_rtp, Some("192.0.2.1:4000".parse().unwrap()));
        assert_eq!(x.ptime_ms, 20);
    }

    #[test]
    fn hold_directions() {
        let b = local();
        for (ours, answered, theirs) in [
            (
                Direction::SendOnly,
                Direction::RecvOnly,
                Direction::SendOnly,
            ),
            (
                Direction::Inactive,
                Direction::Inactive,
                Direction::Inactive,
            ),
            (
                Direction::RecvOnly,
                Direction::SendOnly,
                Direction::RecvOnly,
            ),
            (
                Direction::SendRecv,
                Direction::SendRecv,
                Direction::SendRecv,
            ),
        ] {
            let mut a = local();
            a.direction = ours;
            let (x, y) = round_trip(&a, &b);
            assert_eq!(y.direction, answered, "answer to {ours:?}");
            assert_eq!(x.direction, theirs);
        }
        // The answerer holding too: we offer sendrecv, they want sendonly → we recvonly.
        let mut held = local();
        held.direction = Direction::SendOnly;
        let (x, y) = round_trip(&local(), &held);
        assert_eq!(y.direction, Direction::SendOnly);
        assert_eq!(x.direction, Direction::RecvOnly);
    }

    #[test]
    fn legacy_hold_with_zero_address() {
        let offer = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n\
m=audio 1000 RTP/AVP 0\r\n";
        let (ans, n) = answer_offer(&local(), &sdp(offer)).unwrap();
        assert!(n.remote_legacy_hold);
        assert_eq!(n.remote_rtp, None);
        assert_eq!(n.direction, Direction::RecvOnly);
        assert!(ans.to_string().contains("a=recvonly"));
    }

    #[test]
    fn rejected_answer_and_mismatch() {
        let l = local();
        let offer = build_offer(&l);
        let mut ans = offer.clone();
        ans.media[0].port = 0;
        assert_eq!(
            process_answer(&l, &offer, &ans),
            Err(OfferAnswerError::Rejected)
        );
        ans.media.clear();
        assert!(matches!(
            process_answer(&l, &offer, &ans),
            Err(OfferAnswerError::MediaCountMismatch {
                offer: 1,
                answer: 0
            })
        ));
    }

    #[test]
    fn sdes_negotiation() {
        let mut a = local();
        a.srtp_key = Some([1; 30]);
        let mut b = local();
        b.srtp_key = Some([2; 30]);
        let (x, y) = round_trip(&a, &b);
        assert_eq!(x.local_crypto.as_ref().unwrap().key_salt, vec![1; 30]);
        assert_eq!(x.remote_crypto.as_ref().unwrap().key_salt, vec![2; 30]);
        assert_eq!(y.local_crypto, x.remote_crypto);
        assert_eq!(y.remote_crypto, x.local_crypto);

        // Peer without SRTP support: the best-effort offer falls back to RTP.
        let mut plain = local();
        plain.srtp = SrtpPolicy::Off;
        let (x, _) = round_trip(&a, &plain);
        assert!(x.local_crypto.is_none() && x.remote_crypto.is_none());

        // Required but not offered → refuse.
        let mut req = local();
        req.srtp = SrtpPolicy::Required;
        req.srtp_key = Some([9; 30]);
        assert_eq!(
            answer_offer(&req, &build_offer(&plain)).unwrap_err(),
            OfferAnswerError::SrtpRequired
        );
        // SAVP offered but we have no key → refuse.
        req.srtp_key = Some([9; 30]);
        let savp = build_offer(&req);
        assert_eq!(
            answer_offer(&plain, &savp).unwrap_err(),
            OfferAnswerError::SrtpUnsupported
        );
    }

    /// Property-ish: for every subset/order of codecs on both sides, negotiation either fails
    /// with NoCommonCodec (disjoint sets) or both sides agree on codec, pt and DTMF.
    #[test]
    fn both_sides_always_agree() {
        let subsets: Vec<Vec<AudioCodec>> = {
            let all = AudioCodec::ALL;
            let mut v = Vec::new();
            for mask in 1u8..8 {
                let s: Vec<_> = (0..3)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| all[i])
                    .collect();
                v.push(s.clone());
                v.push(s.into_iter().rev().collect());
            }
            v
        };
        for ca in &subsets {
            for cb in &subsets {
                for dtmf in [true, false] {
                    let mut a = local();
                    a.codecs = ca.clone();
                    let mut b = local();
                    b.codecs = cb.clone();
                    b.dtmf = dtmf;
                    let offer = build_offer(&a);
                    match answer_offer(&b, &offer) {
                        Err(e) => {
                            assert_eq!(e, OfferAnswerError::NoCommonCodec);
                            assert!(!ca.iter().any(|c| cb.contains(c)));
                        }
                        Ok((ans, y)) => {
                            let x = process_answer(&a, &offer, &ans).unwrap();
                            assert_eq!(x.codec, y.codec);
                            assert_eq!(x.payload_type, y.payload_type);
                            assert_eq!(x.dtmf_payload_type, y.dtmf_payload_type);
                            assert_eq!(x.dtmf_payload_type.is_some(), dtmf);
                            let first_common = ca.iter().find(|c| cb.contains(c)).unwrap();
                            assert_eq!(x.codec, *first_common);
                        }
                    }
                }
            }
        }
    }
}
