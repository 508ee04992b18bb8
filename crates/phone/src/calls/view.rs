//! What the UI and the CLI see of a call (`docs/app-api.md`, "Calls").

use serde::{Deserialize, Serialize};

use crate::api::UiError;
use crate::media::MediaStats;

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Outgoing: INVITE sent.
    Dialing,
    /// Outgoing: the far end rings.
    Ringing,
    /// Incoming: ringing here.
    Incoming,
    /// Answered; waiting for the ACK.
    Connecting,
    /// Talking (also while held).
    Active,
    /// Hang-up sent; waiting for the last answers.
    Ending,
    /// Over.
    Ended,
}

pub use crate::api::{CallDirection, CallOutcome};

/// One call, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallView {
    /// `call-7`.
    pub id: String,
    /// `None`: a direct call or the echo line.
    pub account_id: Option<String>,
    pub direction: CallDirection,
    /// The other side's URI.
    pub remote: String,
    /// The other side's display name, when known.
    pub remote_name: Option<String>,
    pub state: CallStatus,
    /// Rang while another call was going on.
    pub waiting: bool,
    pub muted: bool,
    /// We put it on hold.
    pub on_hold: bool,
    /// The other side put us on hold.
    pub remote_hold: bool,
    /// Unix milliseconds.
    pub started_at: u64,
    pub answered_at: Option<u64>,
    pub ended_at: Option<u64>,
    pub outcome: Option<CallOutcome>,
    /// Who or what ended it: `local_hangup`, `remote_hangup`, `cancelled`,
    /// `caller_cancelled`, `rejected` or `failed`.
    pub end_cause: Option<String>,
    /// Why it failed or was refused.
    pub end_reason: Option<UiError>,
    /// Dead air, audio device trouble: a banner with the advice.
    pub media_problem: Option<UiError>,
    /// Live media statistics (final ones once ended).
    pub stats: Option<MediaStats>,
    /// How the audio travels: `host`, `srflx`, `prflx`, `relay-udp`, `relay-tcp`,
    /// `relay-tls`, or `direct` (no ICE, straight to the peer's SDP address); `None` until
    /// the call's media is set up (an incoming call before it is answered).
    pub media_route: Option<String>,
    /// The same in words: "Direct", "Through relay 203.0.113.5 (UDP 3478) because …".
    pub media_route_text: Option<String>,
    /// Why the audio goes through a relay, for the UI's own words: `forced`,
    /// `symmetric_nat` or `udp_blocked`; `None` when it does not.
    pub media_route_reason: Option<String>,
    /// The relay's URI when the audio goes through one.
    pub relay: Option<String>,
    /// Whether ICE ran for this call.
    pub ice: bool,
    /// From the dial (or the INVITE's arrival) to the answer, ms.
    pub setup_ms: Option<u64>,
    /// From the dial (or the INVITE's arrival) to the first audio packet from the peer, ms.
    pub media_ms: Option<u64>,
}

impl CallView {
    /// Whether the call is over.
    pub fn is_ended(&self) -> bool {
        self.state == CallStatus::Ended
    }
}

/// Now, in Unix milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The display name and URI of a From/To header value (`"Bob" <sip:bob@x>;tag=1`).
pub fn split_name_addr(value: &str) -> (Option<String>, String) {
    let v = value.trim();
    if let (Some(lt), Some(gt)) = (v.find('<'), v.find('>'))
        && lt < gt
    {
        let name = v[..lt].trim().trim_matches('"').trim();
        let uri = v[lt + 1..gt].trim().to_owned();
        return ((!name.is_empty()).then(|| name.to_owned()), uri);
    }
    // addr-spec form: parameters after ';' belong to the header, not the URI (§20.10).
    let uri = v.split(';').next().unwrap_or(v).trim().to_owned();
    (None, uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        assert_eq!(
            split_name_addr("\"Bob Smith\" <sip:bob@example.com>;tag=9"),
            (Some("Bob Smith".into()), "sip:bob@example.com".into())
        );
        assert_eq!(
            split_name_addr("<sip:bob@example.com>;tag=9"),
            (None, "sip:bob@example.com".into())
        );
        assert_eq!(
            split_name_addr("sip:bob@example.com;tag=9"),
            (None, "sip:bob@example.com".into())
        );
        assert_eq!(split_name_addr(""), (None, String::new()));
    }

    #[test]
    fn serialises_as_the_contract_says() {
        let v = CallView {
            id: "call-1".into(),
            account_id: None,
            direction: CallDirection::Outgoing,
            remote: "sip:a@b".into(),
            remote_name: None,
            state: CallStatus::Connecting,
            waiting: false,
            muted: false,
            on_hold: false,
            remote_hold: false,
            started_at: 1,
            answered_at: None,
            ended_at: None,
            outcome: Some(CallOutcome::Busy),
            end_cause: None,
            end_reason: None,
            media_problem: None,
            stats: None,
            media_route: Some("relay-tls".into()),
            media_route_text: Some("Through relay 203.0.113.5 (TLS 443)".into()),
            media_route_reason: None,
            relay: Some("turns:203.0.113.5:443?transport=tcp".into()),
            ice: false,
            setup_ms: Some(120),
            media_ms: None,
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["state"], "connecting");
        assert_eq!(j["direction"], "outgoing");
        assert_eq!(j["outcome"], "busy");
        assert!(j["account_id"].is_null());
        assert_eq!(j["media_route"], "relay-tls");
        assert_eq!(j["relay"], "turns:203.0.113.5:443?transport=tcp");
        assert_eq!(j["ice"], false);
        assert_eq!(j["setup_ms"], 120);
        assert!(j["media_ms"].is_null());
    }
}
