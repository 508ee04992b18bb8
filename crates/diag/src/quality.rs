//! The quality probe's arithmetic: RTT, jitter, loss, loss bursts, reordering and the MOS.
//!
//! The probe sends a packet every 20 ms (the size and pace of a voice call) and records, per
//! sequence number, when it was sent and when its answer came back. Jitter is the mean absolute
//! difference between consecutive round-trip times (the variation a jitter buffer must absorb);
//! the MOS is Twilio's simplified E-model:
//!
//! ```text
//! EL = RTT + 2·jitter + 10
//! R  = 94.768 − EL/40            (EL < 160)
//!    = 94.768 − (EL − 120)/10    (otherwise)
//! R −= 2.5 · loss%
//! MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R)    (R clamped to 0..=100)
//! ```

use serde::{Deserialize, Serialize};

use crate::model::{Check, CheckId, Status};

/// RTT above this (ms) is worth a warning (Teams' target).
pub const RTT_WARNING_MS: f64 = 100.0;
/// RTT above this (ms) is a problem (Twilio's limit).
pub const RTT_PROBLEM_MS: f64 = 400.0;
/// Jitter above this (ms) is worth a warning (Teams, Twilio).
pub const JITTER_WARNING_MS: f64 = 30.0;
/// Loss above this (%) is worth a warning.
pub const LOSS_WARNING_PCT: f64 = 1.0;
/// Loss above this (%) is a problem.
pub const LOSS_PROBLEM_PCT: f64 = 3.0;
/// A MOS at or above this is good.
pub const MOS_OK: f64 = 4.0;
/// A MOS at or above this (and below [`MOS_OK`]) is fair; below it is poor.
pub const MOS_WARNING: f64 = 3.6;

/// One probe packet: sent at `sent_ms`, answered at `received_ms` (both from the start of the
/// probe), or never answered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Sequence number (0, 1, 2, ... in sending order).
    pub seq: u32,
    /// When it was sent, ms since the probe started.
    pub sent_ms: f64,
    /// When its answer arrived, ms since the probe started.
    pub received_ms: Option<f64>,
}

/// A run of consecutive lost packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossBurst {
    /// First lost sequence number.
    pub first_seq: u32,
    /// How many in a row.
    pub len: u32,
}

/// What the quality probe measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityStats {
    /// Packets sent.
    pub sent: u32,
    /// Answers received.
    pub received: u32,
    /// Mean round-trip time, ms.
    pub rtt_ms: f64,
    /// Mean absolute RTT difference of consecutive answers, ms.
    pub jitter_ms: f64,
    /// Lost packets, percent of sent.
    pub loss_pct: f64,
    /// Runs of two or more consecutive losses.
    pub bursts: Vec<LossBurst>,
    /// The longest run of consecutive losses.
    pub max_burst: u32,
    /// Answers that arrived after an answer to a later packet.
    pub reordered: u32,
    /// The estimated MOS (1–4.5).
    pub mos: f64,
}

/// Twilio's MOS estimate from RTT (ms), jitter (ms) and loss (%).
pub fn estimate_mos(rtt_ms: f64, jitter_ms: f64, loss_pct: f64) -> f64 {
    let el = rtt_ms.max(0.0) + 2.0 * jitter_ms.max(0.0) + 10.0;
    let mut r = if el < 160.0 {
        94.768 - el / 40.0
    } else {
        94.768 - (el - 120.0) / 10.0
    };
    r -= 2.5 * loss_pct.clamp(0.0, 100.0);
    let r = r.clamp(0.0, 100.0);
    1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
}

/// The band of a MOS: ok at ≥ 4.0, warning at ≥ 3.6, problem below — every value has a band.
pub fn mos_status(mos: f64) -> Status {
    if mos >= MOS_OK {
        Status::Ok
    } else if mos >= MOS_WARNING {
        Status::Warning
    } else {
        Status::Problem
    }
}

/// The statistics of a probe's samples; `None` when nothing was sent.
pub fn stats(samples: &[Sample]) -> Option<QualityStats> {
    if samples.is_empty() {
        return None;
    }
    let mut by_seq: Vec<Sample> = samples.to_vec();
    by_seq.sort_by_key(|s| s.seq);
    let sent = u32::try_from(by_seq.len()).unwrap_or(u32::MAX);
    let rtts: Vec<f64> = by_seq
        .iter()
        .filter_map(|s| s.received_ms.map(|r| (r - s.sent_ms).max(0.0)))
        .collect();
    let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
    let rtt_ms = if rtts.is_empty() {
        0.0
    } else {
        rtts.iter().sum::<f64>() / rtts.len() as f64
    };
    let jitter_ms = if rtts.len() < 2 {
        0.0
    } else {
        rtts.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (rtts.len() - 1) as f64
    };
    let loss_pct = 100.0 * f64::from(sent - received) / f64::from(sent);

    let mut bursts = Vec::new();
    let mut max_burst = 0;
    let mut run: Option<LossBurst> = None;
    for s in &by_seq {
        if s.received_ms.is_none() {
            let r = run.get_or_insert(LossBurst {
                first_seq: s.seq,
                len: 0,
            });
            r.len += 1;
        } else if let Some(r) = run.take() {
            max_burst = max_burst.max(r.len);
            if r.len >= 2 {
                bursts.push(r);
            }
        }
    }
    if let Some(r) = run {
        max_burst = max_burst.max(r.len);
        if r.len >= 2 {
            bursts.push(r);
        }
    }

    // Reordering: in arrival order, an answer whose seq is below one already seen.
    let mut arrivals: Vec<(f64, u32)> = by_seq
        .iter()
        .filter_map(|s| s.received_ms.map(|r| (r, s.seq)))
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut highest = None;
    let mut reordered = 0;
    for (_, seq) in arrivals {
        match highest {
            Some(h) if seq < h => reordered += 1,
            _ => highest = Some(seq),
        }
    }

    let mos = estimate_mos(rtt_ms, jitter_ms, loss_pct);
    Some(QualityStats {
        sent,
        received,
        rtt_ms,
        jitter_ms,
        loss_pct,
        bursts,
        max_burst,
        reordered,
        mos,
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Each packet as `{"seq", "sent_ms", "rtt_ms"}` in sending order, `rtt_ms` null when lost.
fn samples_detail(samples: &[Sample]) -> serde_json::Value {
    let mut by_seq = samples.to_vec();
    by_seq.sort_by_key(|s| s.seq);
    serde_json::Value::Array(
        by_seq
            .iter()
            .map(|s| {
                serde_json::json!({
                    "seq": s.seq,
                    "sent_ms": round1(s.sent_ms),
                    "rtt_ms": s.received_ms.map(|r| round1(r - s.sent_ms)),
                })
            })
            .collect(),
    )
}

/// The `quality` check from a probe's samples. `path` names where the packets went ("to the
/// STUN server stun.example.net", "through the relay").
pub fn check(samples: &[Sample], path: &str) -> Check {
    let Some(s) = stats(samples) else {
        return Check::skipped(
            CheckId::Quality,
            "The call quality test did not run because no test packets could be sent.",
        );
    };
    let details = serde_json::json!({
        "path": path,
        "sent": s.sent,
        "received": s.received,
        "rtt_ms": round1(s.rtt_ms),
        "jitter_ms": round1(s.jitter_ms),
        "loss_pct": round1(s.loss_pct),
        "max_burst": s.max_burst,
        "bursts": s.bursts,
        "reordered": s.reordered,
        "mos": (s.mos * 100.0).round() / 100.0,
        // Per packet, for the app's plot: when it was sent and its round trip (null = lost).
        "samples": samples_detail(samples),
    });
    if s.received == 0 {
        // Nothing came back: the voice path check already says so; a quality figure of
        // nothing would only repeat it.
        return Check::skipped(
            CheckId::Quality,
            "Call quality could not be measured because none of the test packets came back \
             (see the voice path check).",
        )
        .with_details(details);
    }

    let mut status = mos_status(s.mos);
    let mut troubles = Vec::new();
    if s.rtt_ms > RTT_PROBLEM_MS {
        status = status.max(Status::Problem);
        troubles.push(format!(
            "your voice takes {:.0} ms there and back, so people will talk over each other",
            s.rtt_ms
        ));
    } else if s.rtt_ms > RTT_WARNING_MS {
        status = status.max(Status::Warning);
        troubles.push(format!(
            "there is a slight delay ({:.0} ms there and back)",
            s.rtt_ms
        ));
    }
    if s.jitter_ms > JITTER_WARNING_MS {
        status = status.max(Status::Warning);
        troubles.push(format!(
            "packets arrive unevenly ({:.0} ms of jitter), which makes speech choppy",
            s.jitter_ms
        ));
    }
    if s.loss_pct > LOSS_PROBLEM_PCT {
        status = status.max(Status::Problem);
        troubles.push(format!(
            "{:.1} % of the sound is lost, so words will drop out",
            s.loss_pct
        ));
    } else if s.loss_pct > LOSS_WARNING_PCT {
        status = status.max(Status::Warning);
        troubles.push(format!(
            "{:.1} % of the sound is lost, so you may hear small gaps",
            s.loss_pct
        ));
    }
    let grade = match mos_status(s.mos) {
        Status::Ok => "good",
        Status::Warning => "fair",
        _ => "poor",
    };
    let mut finding = format!("Expected call quality is {grade} ({:.1} out of 5).", s.mos);
    if !troubles.is_empty() {
        finding.push_str(" Because ");
        finding.push_str(&troubles.join("; and "));
        finding.push('.');
    }
    let mut c = Check::new(CheckId::Quality, status, finding).with_details(details);
    if status >= Status::Warning {
        c = c.with_fix(
            "Use a cable instead of Wi-Fi if you can, move closer to the router, and pause big \
             downloads, uploads or video streams during calls.",
        );
    }
    if status == Status::Problem {
        c = c.with_reason(format!(
            "the connection is too poor for calls (quality {:.1} of 5)",
            s.mos
        ));
    }
    c
}
