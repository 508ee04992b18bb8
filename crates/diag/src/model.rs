//! The report's shape: checks, statuses, safe fixes and the overall verdict.
//!
//! Serialised as the CLI's `--json` object and the app's `diag://progress` events; the field
//! names (`id`, `status`, `finding`, `fix`, `details`) are a contract with scripts and the UI.

use serde::{Deserialize, Serialize};

/// The checks of the connectivity test, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// Name lookups of the SIP domain and the STUN/TURN hosts.
    Dns,
    /// Does UDP leave and come back at all?
    Udp,
    /// Which transport/port pairs reach the SIP server.
    SipPorts,
    /// NAT mapping and filtering behaviour.
    NatType,
    /// Does something on the path rewrite SIP (a router's SIP ALG)?
    SipAlg,
    /// How long the router keeps an idle UDP mapping.
    NatTimeout,
    /// Does STUN see the same public address as the SIP server (and the relay)?
    Route,
    /// Can media flow both ways on the call's path?
    Rtp,
    /// Each configured TURN relay.
    Relays,
    /// RTT, jitter, loss and the estimated MOS.
    Quality,
    /// Microphone and speaker.
    Audio,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 11] = [
        CheckId::Dns,
        CheckId::Udp,
        CheckId::SipPorts,
        CheckId::NatType,
        CheckId::SipAlg,
        CheckId::NatTimeout,
        CheckId::Route,
        CheckId::Rtp,
        CheckId::Relays,
        CheckId::Quality,
        CheckId::Audio,
    ];

    /// The id as it appears in the JSON (`sip_ports`, `nat_type`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Dns => "dns",
            CheckId::Udp => "udp",
            CheckId::SipPorts => "sip_ports",
            CheckId::NatType => "nat_type",
            CheckId::SipAlg => "sip_alg",
            CheckId::NatTimeout => "nat_timeout",
            CheckId::Route => "route",
            CheckId::Rtp => "rtp",
            CheckId::Relays => "relays",
            CheckId::Quality => "quality",
            CheckId::Audio => "audio",
        }
    }

    /// A short title for people ("Phone signalling ports").
    pub fn title(self) -> &'static str {
        match self {
            CheckId::Dns => "Name lookup",
            CheckId::Udp => "Internet traffic for calls (UDP)",
            CheckId::SipPorts => "Connection to your phone provider",
            CheckId::NatType => "Your router's address translation",
            CheckId::SipAlg => "Router meddling with calls (SIP ALG)",
            CheckId::NatTimeout => "How long your router remembers a call",
            CheckId::Route => "Route of your calls",
            CheckId::Rtp => "Voice path",
            CheckId::Relays => "Relay servers",
            CheckId::Quality => "Call quality",
            CheckId::Audio => "Microphone and speaker",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a check came out. Ordered from best to worst (`skipped` sorts first: it says nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Could not run or does not apply; the finding says why.
    Skipped,
    /// Fine.
    Ok,
    /// Works, but something is worth knowing or improving.
    Warning,
    /// Calls will fail or suffer until this is fixed.
    Problem,
}

impl Status {
    /// `ok`, `warning`, `problem` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// A SIP transport, as the diagnostics name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
    /// SIP over secure WebSocket.
    Wss,
}

impl SipTransport {
    /// Upper-case name for people ("TLS").
    pub fn label(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Tls => "TLS",
            SipTransport::Wss => "WSS",
        }
    }
}

/// A change to the configuration that the test may apply by itself: each is safe (it can only
/// make Homeline reach the provider another way) and reversible (Undo restores the old value).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SafeFix {
    /// Set `[network] keepalive_secs`.
    KeepAlive {
        /// The new interval in seconds.
        secs: u16,
    },
    /// Make the account reach its server over this transport and port.
    Transport {
        /// The transport.
        transport: SipTransport,
        /// The server port.
        port: u16,
    },
    /// Set `[network] force_relay = true`: media always goes through the TURN relay.
    ForceRelay,
}

impl SafeFix {
    /// What applying it does, in plain words.
    pub fn describe(&self) -> String {
        match self {
            SafeFix::KeepAlive { secs } => {
                format!("Send a keep-alive every {secs} seconds so the router keeps your line open")
            }
            SafeFix::Transport { transport, port } => format!(
                "Reach your provider over {} on port {port}",
                transport.label()
            ),
            SafeFix::ForceRelay => "Send your voice through the relay server".to_string(),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Which check.
    pub id: CheckId,
    /// How it came out.
    pub status: Status,
    /// What was found, in words a non-technical person understands.
    pub finding: String,
    /// What to do about it, in plain words; `None` when nothing needs doing.
    pub fix: Option<String>,
    /// Numbers and names for IT support (stable keys per check, see the crate docs).
    pub details: serde_json::Value,
    /// The changes Homeline can make by itself for this finding (the Fix button).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safe_fixes: Vec<SafeFix>,
    /// A few words for the overall verdict when this check is a problem
    /// ("UDP is blocked on your network").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Check {
    /// A check with no fix and empty details.
    pub fn new(id: CheckId, status: Status, finding: impl Into<String>) -> Self {
        Self {
            id,
            status,
            finding: finding.into(),
            fix: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
            safe_fixes: Vec::new(),
            reason: None,
        }
    }

    /// A skipped check with the reason it did not run.
    pub fn skipped(id: CheckId, why: impl Into<String>) -> Self {
        Self::new(id, Status::Skipped, why)
    }

    /// With a fix in plain words.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// With details for IT support.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// With a change Homeline can apply.
    pub fn with_safe_fix(mut self, fix: SafeFix) -> Self {
        if !self.safe_fixes.contains(&fix) {
            self.safe_fixes.push(fix);
        }
        self
    }

    /// With the few words the overall verdict uses when this is a problem.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The overall verdict's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Nothing is a problem.
    Works,
    /// Calls get through, but only with their voice through the relay.
    WorksWithRelay,
    /// Calls fail until something is changed.
    Fails,
}

/// The overall verdict shown above the checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Its kind.
    pub kind: VerdictKind,
    /// The sentence: "Calls will work", "Calls will work with the relay", "Calls will fail: …".
    pub text: String,
}

/// A fix that was applied to the configuration, as listed after `--apply` or a Fix button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFix {
    /// The check it came from.
    pub check: CheckId,
    /// The change.
    pub fix: SafeFix,
    /// What changed, in plain words ("keep-alive every 15 s (was 60 s)").
    pub description: String,
}

/// The whole report: the CLI's `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The verdict sentence.
    pub verdict: String,
    /// Its kind (for the UI's colour).
    pub verdict_kind: VerdictKind,
    /// How long the test took, milliseconds.
    pub duration_ms: u64,
    /// Every check, in report order.
    pub checks: Vec<Check>,
    /// The fixes applied (empty unless `--apply` or a Fix button).
    pub fixes_applied: Vec<AppliedFix>,
}

impl Report {
    /// A report of these checks, with the verdict computed from them.
    pub fn new(mut checks: Vec<Check>, duration_ms: u64) -> Self {
        checks.sort_by_key(|c| c.id);
        let verdict = crate::verdict::verdict(&checks);
        Self {
            verdict: verdict.text,
            verdict_kind: verdict.kind,
            duration_ms,
            checks,
            fixes_applied: Vec::new(),
        }
    }

    /// The check with this id, if it ran.
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// True when some check is a problem (the CLI then exits 1).
    pub fn has_problem(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Problem)
    }

    /// The safe fixes of the problem and warning checks, each once, in report order.
    pub fn safe_fixes(&self) -> Vec<(CheckId, SafeFix)> {
        let mut out: Vec<(CheckId, SafeFix)> = Vec::new();
        for c in &self.checks {
            if matches!(c.status, Status::Problem | Status::Warning) {
                for f in &c.safe_fixes {
                    // One fix per setting: the first transport switch (from the most basic
                    // check) and the shortest keep-alive win.
                    let same_setting = out
                        .iter_mut()
                        .find(|(_, g)| std::mem::discriminant(g) == std::mem::discriminant(f));
                    match same_setting {
                        None => out.push((c.id, f.clone())),
                        Some((id, g)) => {
                            if let (
                                SafeFix::KeepAlive { secs: new },
                                SafeFix::KeepAlive { secs: old },
                            ) = (f, &*g)
                                && new < old
                            {
                                *id = c.id;
                                *g = f.clone();
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
