//! The SIP OPTIONS probe (RFC 3261 §11) for the transport matrix and the SIP ALG check:
//! building the request and reading what the server echoed in the response's top Via
//! (`received`, RFC 3261 §18.2.1; `rport`, RFC 3581).
//!
//! Any answer, even `404` or `401`, proves the path; what the server wrote into our Via tells
//! how the request arrived. Linux's `nf_nat_sip` (and most routers' SIP ALGs) rewrite the
//! sent-by of our Via to the public address on the way out, so the server sees no reason to
//! add `received`, and rewrite `received`/`rport` back to the private address on the way in.

use std::net::{IpAddr, SocketAddr};

use homeline_sip::message::{StartLine, header_param, split_list};
use homeline_sip::normalize::normalize;

use crate::model::SipTransport;
use crate::probes::ViaEcho;

/// One OPTIONS request, and what identifies its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsRequest {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// Its Call-ID.
    pub call_id: String,
    /// The sent-by we wrote into the Via.
    pub sent_by: SocketAddr,
}

fn via_token(t: SipTransport) -> &'static str {
    match t {
        SipTransport::Udp => "UDP",
        SipTransport::Tcp => "TCP",
        SipTransport::Tls => "TLS",
        SipTransport::Wss => "WSS",
    }
}

/// An OPTIONS to `server` (host name for the Request-URI, address for the port) from `local`
/// over `transport`; `nonce` makes the branch and Call-ID unique (any random number).
pub fn options_request(
    transport: SipTransport,
    local: SocketAddr,
    host: &str,
    server: SocketAddr,
    nonce: u64,
) -> OptionsRequest {
    let call_id = format!("hl-diag-{nonce:016x}");
    let scheme = if transport == SipTransport::Tls {
        "sips"
    } else {
        "sip"
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let uri = format!("{scheme}:{host}:{}", server.port());
    let t = via_token(transport);
    let tparam = match transport {
        SipTransport::Udp => String::new(),
        other => format!(";transport={}", via_token(other).to_ascii_lowercase()),
    };
    let bytes = format!(
        "OPTIONS {uri} SIP/2.0\r\n\
         Via: SIP/2.0/{t} {local};branch=z9hG4bK{nonce:x};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:homeline-diagnostics@{local}>;tag={nonce:x}\r\n\
         To: <{uri}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:homeline-diagnostics@{local}{tparam}>\r\n\
         Accept: application/sdp\r\n\
         User-Agent: Homeline connectivity test\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes();
    OptionsRequest {
        bytes,
        call_id,
        sent_by: local,
    }
}

/// What a response to our OPTIONS said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsAnswer {
    /// The status code.
    pub code: u16,
    /// What the top Via echoed.
    pub echo: ViaEcho,
}

/// Reads one message as the answer to `req`: `Ok(None)` when it is SIP but not our answer
/// (another Call-ID, a request), `Err` when it is not SIP at all.
pub fn read_answer(
    data: &[u8],
    req: &OptionsRequest,
    transport: SipTransport,
    server_port: u16,
) -> Result<Option<OptionsAnswer>, String> {
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let raw = normalize(data).map_err(|e| format!("not a SIP message ({e})"))?;
    let StartLine::Response { code, .. } = &raw.start else {
        return Ok(None);
    };
    if raw.header("Call-ID") != Some(req.call_id.as_str()) {
        return Ok(None);
    }
    let code: u16 = code
        .parse()
        .map_err(|_| format!("a SIP answer with a broken status code {code:?}"))?;
    // The top Via is the first value of the first Via header.
    let via = raw
        .header("Via")
        .and_then(|v| split_list(v).first().map(|s| s.to_string()));
    let (sent_by, received, rport) = match &via {
        Some(v) => {
            let sent_by = v
                .split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim())
                .map(|rest| rest.split(';').next().unwrap_or_default().trim().to_owned());
            let received = header_param(v, "received").and_then(|r| {
                r.trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .ok()
            });
            let rport = header_param(v, "rport").and_then(|r| r.parse::<u16>().ok());
            (sent_by, received, rport)
        }
        None => (None, None, None),
    };
    Ok(Some(OptionsAnswer {
        code,
        echo: ViaEcho {
            transport,
            server_port,
            sent_by: req.sent_by,
            echoed_sent_by: sent_by,
            received,
            rport,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_answer_round_trip() {
        let local: SocketAddr = "10.23.0.2:40000".parse().expect("addr");
        let server: SocketAddr = "203.0.113.10:5060".parse().expect("addr");
        let req = options_request(SipTransport::Udp, local, "sip.homeline.test", server, 7);
        let text = String::from_utf8(req.bytes.clone()).expect("utf8");
        assert!(text.starts_with("OPTIONS sip:sip.homeline.test:5060 SIP/2.0\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 10.23.0.2:40000;branch=z9hG4bK7;rport\r\n"));
        // The request is valid SIP by our own parser.
        assert!(normalize(&req.bytes).is_ok());

        let answer = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.23.0.2:40000;branch=z9hG4bK7;rport=40001;received=203.0.113.1\r\n\
             From: <sip:x@y>;tag=7\r\nTo: <sip:y>;tag=1\r\nCall-ID: {}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            req.call_id
        );
        let a = read_answer(answer.as_bytes(), &req, SipTransport::Udp, 5060)
            .expect("sip")
            .expect("ours");
        assert_eq!(a.code, 200);
        assert_eq!(a.echo.received, Some("203.0.113.1".parse().expect("ip")));
        assert_eq!(a.echo.rport, Some(40001));
        assert_eq!(a.echo.echoed_sent_by.as_deref(), Some("10.23.0.2:40000"));

        let other = answer.replace(&req.call_id, "someone-else");
        assert_eq!(
            read_answer(other.as_bytes(), &req, SipTransport::Udp, 5060),
            Ok(None)
        );
        assert!(read_answer(b"\x00\x01garbage", &req, SipTransport::Udp, 5060).is_err());
        assert_eq!(
            read_answer(b"\r\n\r\n", &req, SipTransport::Udp, 5060),
            Ok(None)
        );
    }
}
