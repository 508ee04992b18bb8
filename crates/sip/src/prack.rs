//! Reliable provisional responses (RFC 3262: 100rel, RSeq, RAck, PRACK).
//!
//! - UAS: [`make_reliable`] marks a 1xx with `Require: 100rel` and an `RSeq`; retransmit it
//!   with [`crate::dialog::AckWait::for_reliable_provisional`] until the PRACK arrives.
//! - UAC: [`RseqTracker`] accepts each reliable 1xx once and in order (§4) and
//!   [`prack_for`] builds the PRACK with its `RAck`.

use rsip::prelude::*;

use crate::dialog::{Dialog, DialogError};
use crate::transaction::TransportKind;
use crate::validate::parse_cseq;

/// True when a response or request lists `100rel` in Require.
pub fn requires_100rel(headers: &rsip::Headers) -> bool {
    headers.iter().any(|h| match h {
        rsip::Header::Require(r) => r
            .value()
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("100rel")),
        _ => false,
    })
}

/// The RSeq of a response (RFC 3262 §7.1: 1..2^31-1).
pub fn rseq(response: &rsip::Response) -> Option<u32> {
    response.headers.iter().find_map(|h| match h {
        rsip::Header::Other(name, value) if name.eq_ignore_ascii_case("RSeq") => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..1 << 31).contains(n)),
        _ => None,
    })
}

/// Makes a 101–199 response reliable: `Require: 100rel` and `RSeq: rseq` (§3).
pub fn make_reliable(mut response: rsip::Response, rseq: u32) -> rsip::Response {
    response
        .headers
        .push(rsip::headers::Require::new("100rel").into());
    response
        .headers
        .push(rsip::Header::Other("RSeq".into(), rseq.to_string()));
    response
}

/// What to do with a reliable provisional response on the UAC side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RseqDecision {
    /// New and in order: pass it up and PRACK it.
    Accept,
    /// A retransmission of one already acknowledged: PRACK again is not needed (§4), drop.
    Duplicate,
    /// Out of order (a gap): drop; the UAS will retransmit the missing one (§4).
    OutOfOrder,
}

/// Tracks RSeq per dialog (UAC side, RFC 3262 §4).
#[derive(Debug, Clone, Default)]
pub struct RseqTracker {
    last: Option<u32>,
}

impl RseqTracker {
    /// Decides about a reliable provisional response with `rseq`.
    pub fn check(&mut self, rseq: u32) -> RseqDecision {
        match self.last {
            None => {
                self.last = Some(rseq);
                RseqDecision::Accept
            }
            Some(last) if rseq == last.wrapping_add(1) => {
                self.last = Some(rseq);
                RseqDecision::Accept
            }
            Some(last) if rseq <= last => RseqDecision::Duplicate,
            Some(_) => RseqDecision::OutOfOrder,
        }
    }
}

/// The PRACK for a reliable provisional `response` within `dialog` (§7.2:
/// `RAck: <RSeq> <CSeq number> <CSeq method>`).
pub fn prack_for(
    dialog: &mut Dialog,
    response: &rsip::Response,
    transport: TransportKind,
    sent_by: &str,
    branch: &str,
) -> Result<rsip::Request, DialogError> {
    let rseq = rseq(response).ok_or(DialogError::Missing("RSeq"))?;
    let (num, method) = response
        .cseq_header()
        .ok()
        .and_then(|c| parse_cseq(c.value()).ok().map(|(n, m)| (n, m.to_owned())))
        .ok_or(DialogError::Missing("CSeq"))?;
    let mut prack = dialog.create_request(rsip::Method::PRack, transport, sent_by, branch)?;
    prack.headers.push(rsip::Header::Other(
        "RAck".into(),
        format!("{rseq} {num} {method}"),
    ));
    Ok(prack)
}
