//! What the call layer reports: call handles, states, end causes and events.

use super::reason::CallFailure;

/// Identifies one call within a [`super::CallLayer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing: INVITE sent, nothing or `100` heard.
    Dialing,
    /// Outgoing: a 180/183 arrived (possibly with early media).
    Ringing,
    /// Incoming: waiting for the application to ring, answer or reject.
    Incoming,
    /// Incoming: we answered; waiting for the ACK.
    Answering,
    /// The dialog is confirmed: talking.
    Active,
    /// We hung up or cancelled; waiting for the last answers.
    Ending,
    /// Over.
    Ended,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// We hung up (BYE) or rejected the incoming call.
    LocalHangup,
    /// The other side hung up (BYE).
    RemoteHangup,
    /// We cancelled our outgoing call before it was answered.
    Cancelled,
    /// The caller gave up before we answered (a missed call).
    CallerCancelled,
    /// The callee refused: 486, 600, 603 (busy, declined).
    Rejected(CallFailure),
    /// Anything else: 404, 408, 480, 487, 488, 5xx, no answer (Timer B), no ACK …
    Failed(CallFailure),
}

/// What the call layer tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new incoming call: ring it ([`super::CallLayer::ring`]), answer or reject it.
    Incoming {
        /// The call.
        call: CallHandle,
        /// The caller (From header value).
        from: String,
        /// Who was called (To header value).
        to: String,
        /// The SDP offer (`None`: the offer is ours to make in the 200, §13.2.1).
        offer: Option<Vec<u8>>,
        /// Another call is in progress: ring this one as a waiting call.
        waiting: bool,
    },
    /// An incoming call was answered `486 Busy Here` because call waiting is off.
    AutoRejected {
        /// The caller.
        from: String,
    },
    /// Outgoing: a provisional response (180 ringing, 183 session progress).
    Progress {
        /// The call.
        call: CallHandle,
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
        /// Early media SDP answer, if the response carried one.
        early_media: Option<Vec<u8>>,
    },
    /// Outgoing: the callee answered; `answer` is the SDP answer (empty if none).
    Answered {
        /// The call.
        call: CallHandle,
        /// The SDP answer.
        answer: Vec<u8>,
    },
    /// The dialog is confirmed (UAC: ACK sent; UAS: ACK received, with the SDP answer it
    /// carried if our 200 made the offer).
    Confirmed {
        /// The call.
        call: CallHandle,
        /// SDP in the ACK, if any.
        sdp: Option<Vec<u8>>,
    },
    /// The peer sent a re-INVITE (hold, resume, codec change): answer it with
    /// [`super::CallLayer::answer_update`] or [`super::CallLayer::reject_update`].
    UpdateOffered {
        /// The call.
        call: CallHandle,
        /// The new SDP offer (`None`: the peer asks us for an offer).
        offer: Option<Vec<u8>>,
    },
    /// Our re-INVITE was answered.
    Updated {
        /// The call.
        call: CallHandle,
        /// The SDP answer.
        answer: Vec<u8>,
    },
    /// Our re-INVITE failed; the session stays as it was (§14.1).
    UpdateFailed {
        /// The call.
        call: CallHandle,
        /// Why.
        failure: CallFailure,
    },
    /// The peer asks us to call someone else (REFER, blind transfer). Call `target` and
    /// report progress with [`super::CallLayer::transfer_progress`].
    TransferRequested {
        /// The call the REFER arrived in.
        call: CallHandle,
        /// The Refer-To URI.
        target: String,
    },
    /// Progress of our transfer (REFER's response, then each NOTIFY's sipfrag status).
    TransferProgress {
        /// The call being transferred.
        call: CallHandle,
        /// Status of the REFER or of the transferred call.
        code: u16,
        /// Reason phrase.
        reason: String,
        /// True when the transfer is over (final status).
        done: bool,
    },
    /// The call outlived the flow it was set up on and the peer still holds our old Contact
    /// (RFC 5626 §5): send [`super::CallLayer::update`] with the unchanged session
    /// description (same media, its `o=` version + 1, RFC 3264 §8), whose re-INVITE carries
    /// the new Contact and so refreshes the peer's remote target (RFC 3261 §12.2.1.2). The
    /// answer comes as [`CallEvent::Updated`]. Asked once per new Contact.
    TargetRefresh {
        /// The call.
        call: CallHandle,
    },
    /// A DTMF digit arrived in an INFO.
    Dtmf {
        /// The call.
        call: CallHandle,
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// Duration in milliseconds.
        duration_ms: u32,
    },
    /// The call is over.
    Ended {
        /// The call.
        call: CallHandle,
        /// Why.
        cause: EndCause,
    },
}

/// What the application may want to show about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// True for calls we placed.
    pub outgoing: bool,
    /// The other party: the URI we dialled (or were redirected to), or the caller's URI.
    pub remote: String,
    /// The SIP Call-ID (for logs and the diagnostics view).
    pub call_id: String,
    /// Where the call stands.
    pub state: CallState,
}
