//! Plain-language reasons for failed and ended calls (DESIGN.md convention 6: errors that reach
//! the UI are `{code, message, hint}`), from the final response's status (RFC 3261 §21).

/// Why a call failed, for the UI: the SIP status, what happened in plain words, and what the
/// user can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The SIP status code (408 for a timeout without any answer, as §8.1.3.1 treats it).
    pub code: u16,
    /// What happened, in words a user understands.
    pub message: String,
    /// The next step for the user.
    pub hint: String,
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl CallFailure {
    fn new(code: u16, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// No final response before Timer B (§17.1.1.2) or Timer F: "no answer from …".
    pub fn no_answer(target: &str) -> Self {
        Self::new(
            408,
            format!("no answer from {target}"),
            "the other side or its server may be down or unreachable; check the network \
             connection and the address, then try again",
        )
    }

    /// We sent a 2xx and no ACK came back within 64·T1 (§13.3.1.4).
    pub fn no_ack() -> Self {
        Self::new(
            408,
            "the caller never confirmed the answer, so the call was ended",
            "a firewall or NAT may be dropping messages from the caller; try TCP or TLS",
        )
    }

    /// The flow to the server was lost before the call was connected: its transactions
    /// went with it (RFC 5626 §5 keeps only confirmed dialogs across flows).
    pub fn flow_lost() -> Self {
        Self::new(
            503,
            "the connection to the server was lost before the call was connected",
            "Homeline reconnects by itself; call again once it is registered",
        )
    }

    /// An in-dialog request was in flight when the flow to the server was lost.
    pub fn request_lost() -> Self {
        Self::new(
            503,
            "the connection to the server was lost while the change was under way",
            "the call goes on as it was; try again once the account is registered",
        )
    }

    /// The account stopped (removed, signed out, shut down, or refused by the registrar)
    /// under a call: there is no flow left to carry its signalling.
    pub fn account_stopped() -> Self {
        Self::new(
            503,
            "the account stopped, so the call ended",
            "check the account's registration status, then call again",
        )
    }

    /// The failure for a final response `code` with `reason` phrase to a call to `target`.
    pub fn for_status(code: u16, reason: &str, target: &str) -> Self {
        match code {
            300..=399 => Self::new(
                code,
                "the call was redirected, but none of the new addresses could be reached",
                "try calling the new number directly if you know it",
            ),
            400 => Self::new(
                code,
                "the other side could not understand the call request",
                "this is often a compatibility problem; report it with the diagnostics log",
            ),
            401 | 407 => Self::new(
                code,
                "the server did not accept the user name and password for this call",
                "check the account's user name and password in Settings",
            ),
            403 => Self::new(
                code,
                "the server refused the call",
                "your account may not be allowed to call this number; ask your provider",
            ),
            404 | 604 => Self::new(
                code,
                "that number or address does not exist",
                "check the number or address and dial again",
            ),
            408 => Self::no_answer(target),
            410 => Self::new(
                code,
                "that number or address is no longer in use",
                "check the number",
            ),
            415 | 420 | 421 => Self::new(
                code,
                "the other side does not support a feature this call needs",
                "report it with the diagnostics log",
            ),
            480 => Self::new(
                code,
                "the person you called is not available right now",
                "try again later",
            ),
            481 => Self::new(
                code,
                "the other side no longer knows this call",
                "call again",
            ),
            482 | 483 => Self::new(
                code,
                "the call went round in a loop between servers",
                "ask your provider to check the routing of this number",
            ),
            484 => Self::new(
                code,
                "the number is incomplete",
                "check the number and dial it in full",
            ),
            486 | 600 => Self::new(code, "the person you called is busy", "try again later"),
            487 => Self::new(code, "the call was cancelled", ""),
            488 | 606 => Self::new(
                code,
                "the other side accepts none of our audio codecs, or insists on encryption",
                "if the other side requires encrypted media (SRTP), set the account's \
                 media_encryption to \"required\"; otherwise it supports none of Opus, G.711",
            ),
            503 if reason.contains("transport") => Self::new(
                code,
                "the call could not be sent (network unreachable or connection refused)",
                "check the network connection; if it works, try another transport (TCP or TLS)",
            ),
            500..=599 => Self::new(
                code,
                format!("the server had a problem with the call ({code} {reason})"),
                "try again in a few minutes; if it persists, contact your provider",
            ),
            603 => Self::new(code, "the person you called declined the call", ""),
            _ => Self::new(
                code,
                format!("the call failed ({code} {reason})"),
                "try again; if it persists, report it with the diagnostics log",
            ),
        }
    }
}

/// The reason phrase of a response, in words (rsip prints known codes as `486 BusyHere`).
pub(crate) fn reason_phrase(response: &rsip::Response) -> String {
    match &response.status_code {
        rsip::StatusCode::Other(_, reason) => reason.clone(),
        other => {
            // rsip names known codes in CamelCase ("ServiceUnavailable"): make words again.
            let s = other.to_string();
            let name = s.split_once(' ').map_or(s.as_str(), |(_, r)| r);
            let mut words = String::with_capacity(name.len() + 4);
            let mut prev_lower = false;
            for c in name.chars() {
                if c.is_ascii_uppercase() && prev_lower {
                    words.push(' ');
                }
                prev_lower = c.is_ascii_lowercase();
                words.push(c);
            }
            words
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_wording() {
        let t = "sip:bob@example.com";
        assert_eq!(
            CallFailure::for_status(486, "Busy Here", t).message,
            "the person you called is busy"
        );
        assert_eq!(
            CallFailure::for_status(404, "Not Found", t).message,
            "that number or address does not exist"
        );
        assert_eq!(
            CallFailure::for_status(480, "Temporarily Unavailable", t).message,
            "the person you called is not available right now"
        );
        assert_eq!(
            CallFailure::for_status(488, "Not Acceptable Here", t).message,
            "the other side accepts none of our audio codecs, or insists on encryption"
        );
        assert_eq!(
            CallFailure::no_answer(t).message,
            "no answer from sip:bob@example.com"
        );
        assert!(!CallFailure::for_status(488, "", t).hint.is_empty());
    }
}
