//! Per-call quality summary for the call screen and `--json`: counters from the RTP session,
//! delays from the jitter buffer, and the E-model MOS ([`crate::emodel`]).

use serde::Serialize;

use crate::emodel::{CodecImpairment, mos_from_r, mouth_to_ear_ms, r_factor};
use crate::jitter::JitterStats;
use crate::sdp::AudioCodec;
use crate::session::SessionStats;

/// A snapshot of a call's quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallQuality {
    pub codec: &'static str,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Network loss of the received stream (RFC 3550 A.3), percent.
    pub loss_pct: f64,
    /// Packets that arrived too late to be played, percent of those received.
    pub late_pct: f64,
    /// Interarrival jitter (RFC 3550 A.8), ms.
    pub jitter_ms: f64,
    /// RTCP round trip, ms, once measured.
    pub rtt_ms: Option<f64>,
    pub playout_delay_ms: f64,
    /// Estimated mouth-to-ear delay used for the E-model, ms.
    pub mouth_to_ear_ms: f64,
    pub r_factor: f64,
    pub mos: f64,
}

impl CallQuality {
    /// Builds the summary. `device_ms` is the audio device buffering the runtime knows of.
    /// Without an RTT yet the network delay counts as zero (the estimate is then optimistic).
    pub fn compute(
        codec: AudioCodec,
        ptime_ms: f64,
        session: &SessionStats,
        jitter: Option<&JitterStats>,
        device_ms: f64,
    ) -> Self {
        let loss_pct = if session.packets_expected > 0 {
            (session.packets_lost.max(0) as f64 / session.packets_expected as f64 * 100.0)
                .min(100.0)
        } else {
            0.0
        };
        let (late_pct, playout_delay_ms) = match jitter {
            Some(j) => (
                if j.pushed > 0 {
                    j.late as f64 / j.pushed as f64 * 100.0
                } else {
                    0.0
                },
                j.playout_delay_ms.max(0.0),
            ),
            None => (0.0, 0.0),
        };
        let rtt_ms = session.rtt.map(|d| d.as_secs_f64() * 1000.0);
        let m2e = mouth_to_ear_ms(
            rtt_ms.unwrap_or(0.0),
            playout_delay_ms,
            ptime_ms,
            codec,
            device_ms,
        );
        let r = r_factor(
            CodecImpairment::for_codec(codec),
            m2e,
            (loss_pct + late_pct).min(100.0),
            1.0,
        );
        CallQuality {
            codec: codec.encoding_name(),
            packets_sent: session.packets_sent,
            packets_received: session.packets_received,
            loss_pct,
            late_pct,
            jitter_ms: session.jitter_ms,
            rtt_ms,
            playout_delay_ms,
            mouth_to_ear_ms: m2e,
            r_factor: r,
            mos: mos_from_r(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn summary_of_a_lossy_call() {
        let s = SessionStats {
            packets_sent: 1000,
            packets_received: 980,
            packets_expected: 1000,
            packets_lost: 20,
            jitter_ms: 4.5,
            rtt: Some(Duration::from_millis(100)),
            ..SessionStats::default()
        };
        let j = JitterStats {
            pushed: 980,
            late: 0,
            playout_delay_ms: 40.0,
            ..JitterStats::default()
        };
        let q = CallQuality::compute(AudioCodec::Pcmu, 20.0, &s, Some(&j), 0.0);
        assert_eq!(q.codec, "PCMU");
        assert!((q.loss_pct - 2.0).abs() < 1e-9);
        assert_eq!(q.rtt_ms, Some(100.0));
        assert!((q.mouth_to_ear_ms - 110.0).abs() < 1e-9);
        // Ie,eff = 95·2/16 = 11.9 (Bpl 14, Homeline's PLC), Idd(110 ms) ≈ 0: R ≈ 81.3,
        // MOS ≈ 4.07.
        assert!((q.r_factor - 81.3).abs() < 0.2, "{}", q.r_factor);
        assert!((q.mos - 4.07).abs() < 0.03, "{}", q.mos);
        // The field names the CLI's `--json` promises (issue 4).
        let json = serde_json::to_value(&q).unwrap();
        for key in [
            "codec",
            "packets_sent",
            "packets_received",
            "loss_pct",
            "jitter_ms",
            "rtt_ms",
            "mos",
        ] {
            assert!(json.get(key).is_some(), "missing {key} in {json}");
        }
        let perfect =
            CallQuality::compute(AudioCodec::Opus, 20.0, &SessionStats::default(), None, 0.0);
        assert!((perfect.mos - 4.41).abs() < 0.005);
    }
}
