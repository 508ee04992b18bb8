//! Call-quality estimate with the E-model (ITU-T G.107, simplified to what a softphone can
//! measure: delay and packet loss; the other inputs at their G.107 default values, which give
//! R = 93.2 for a perfect narrowband connection).
//!
//! `R = 93.2 − Idd(Ta) − Ie,eff` and `MOS = 1 + 0.035 R + R (R − 60)(100 − R) · 7·10⁻⁶`
//! (G.107 Annex B), with
//! * `Idd` the impairment of absolute one-way delay `Ta` (G.107 §7.4, the `Idd` formula: 0 up
//!   to 100 ms), echo terms left out because the far end is assumed echo-cancelled;
//! * `Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)` (G.107 §7.5) with the codec's
//!   equipment impairment `Ie` and packet-loss robustness `Bpl`, `Ppl` the loss in percent
//!   (network loss plus late loss) and `BurstR` = 1 for random loss.
//!
//! Codec values:
//! * G.711: `Ie = 0`; G.113 Appendix I (Table I.3) gives `Bpl = 4.3` without PLC and `25.1`
//!   with the G.711 Appendix I PLC. Homeline's own PLC, measured, sits between: `Bpl = 14`
//!   (below).
//! * Opus: ITU-T publishes no E-model values for Opus. `Ie = 0` (at speech bitrates Opus is
//!   at least as good as G.711 on the narrowband scale) and `Bpl = 20`, first an assumption,
//!   now measured (below) for Opus's own PLC.
//!
//! ## Calibration against PESQ
//!
//! `cargo bench -p homeline --bench media_vs_baresip -- --only emodel --talk 20` sends a
//! 20 s speech-like signal from baresip to `homeline answer` through the lab's impairment
//! relay at 0, 1, 3, 5 and 10 % random loss and scores Homeline's recording with PESQ
//! (P.862, narrowband: the E-model's scale). The `Bpl` that makes `Ie,eff` match the drop
//! of PESQ MOS-LQO from the same call without loss, `Bpl = 95·Ppl/Ie,eff − Ppl`:
//!
//! | codec, receiver conceals        | Ppl 2.7 | 4.9 | 10.0 | (second run: 2.6, 5.2, 10.2) |
//! |---------------------------------|---------|-----|------|------------------------------|
//! | PCMU, Homeline's PLC            | 13.4    |14.5 | 13.7 | 13.4, 14.6, 14.2             |
//! | Opus 32 kbit/s, no FEC sent     | 18.7    |24.9 | 21.8 |                              |
//! | Opus 32 kbit/s, FEC for 10 %    | > 400 (PESQ 4.07 → 3.99 at 10 %: the FEC recovers)  |
//!
//! PCMU: PESQ-NB 4.32 → 4.13, 3.75, 3.37, 2.53 at 0.7, 2.7, 4.9, 10 %; the old `Bpl = 4.3`
//! gave 4.02, 2.92, 2.19, 1.48 (a whole MOS point too low), `Bpl = 14` gives 4.31, 3.94,
//! 3.53, 2.77. Opus without FEC: PESQ-NB 4.41 → 4.38, 4.07, 3.93, 3.27 against 4.34, 4.09,
//! 3.80, 3.18 from `Bpl = 20`, which stays. With in-band FEC the E-model, fed the network
//! loss, is pessimistic (3.18 for PESQ 3.99 at 10 %): the loss it should see is what FEC
//! did not recover, which the receiver cannot yet tell apart from concealment (libopus
//! conceals when asked to decode FEC from a packet that carries none).

use crate::sdp::AudioCodec;

/// A codec's E-model parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor.
    pub ie: f64,
    /// Packet-loss robustness factor.
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 without PLC (G.113 Appendix I).
    pub const G711: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 4.3 };
    /// G.711 with G.711 Appendix I PLC (G.113 Appendix I).
    pub const G711_PLC: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };
    /// G.711 with Homeline's PLC, measured against PESQ (see the module doc).
    pub const G711_HOMELINE_PLC: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 14.0 };
    /// Opus with its PLC, measured against PESQ without FEC (see the module doc).
    pub const OPUS: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 20.0 };

    /// What the runtime's calls use: the receiver conceals with Homeline's PLC (G.711) or
    /// Opus's.
    pub fn for_codec(c: AudioCodec) -> Self {
        match c {
            AudioCodec::Opus => Self::OPUS,
            AudioCodec::Pcmu | AudioCodec::Pcma => Self::G711_HOMELINE_PLC,
        }
    }
}

/// G.107 default basic signal-to-noise ratio minus simultaneous impairments (Ro − Is) with
/// all parameters at their default values.
pub const R_DEFAULT: f64 = 93.2;

fn finite_or(x: f64, d: f64) -> f64 {
    if x.is_finite() { x } else { d }
}

/// `Idd`: impairment from absolute one-way delay `ta_ms` (G.107 §7.4).
pub fn delay_impairment(ta_ms: f64) -> f64 {
    let ta = finite_or(ta_ms, 0.0);
    if ta <= 100.0 {
        return 0.0;
    }
    let x = (ta / 100.0).log10() / 2f64.log10();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// `Ie,eff`: effective equipment impairment at `loss_pct` percent packet loss (G.107 §7.5).
pub fn effective_equipment_impairment(
    codec: CodecImpairment,
    loss_pct: f64,
    burst_ratio: f64,
) -> f64 {
    let ppl = finite_or(loss_pct, 0.0).clamp(0.0, 100.0);
    let burst = finite_or(burst_ratio, 1.0).max(1.0);
    let denom = ppl / burst + codec.bpl;
    if denom <= 0.0 {
        return codec.ie;
    }
    codec.ie + (95.0 - codec.ie) * ppl / denom
}

/// The transmission rating `R` for a one-way mouth-to-ear delay and a loss rate.
pub fn r_factor(
    codec: CodecImpairment,
    one_way_delay_ms: f64,
    loss_pct: f64,
    burst_ratio: f64,
) -> f64 {
    R_DEFAULT
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_pct, burst_ratio)
}

/// `R` → MOS-CQE (G.107 Annex B, eq. B-4).
pub fn mos_from_r(r: f64) -> f64 {
    let r = finite_or(r, 0.0);
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    }
}

/// Mouth-to-ear delay estimate from what the media core knows: half the RTCP round trip,
/// the jitter buffer delay, one packet of packetization, the codec's look-ahead and the audio
/// device buffers (passed in by the runtime, which knows them).
pub fn mouth_to_ear_ms(
    rtt_ms: f64,
    jitter_buffer_ms: f64,
    ptime_ms: f64,
    codec: AudioCodec,
    device_ms: f64,
) -> f64 {
    let lookahead = match codec {
        AudioCodec::Opus => 6.5, // RFC 6716 §2: 2.5 ms look-ahead + 4 ms SILK resampler delay
        _ => 0.0,
    };
    finite_or(rtt_ms, 0.0).max(0.0) / 2.0
        + finite_or(jitter_buffer_ms, 0.0).max(0.0)
        + finite_or(ptime_ms, 0.0).max(0.0)
        + lookahead
        + finite_or(device_ms, 0.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mos_table_values() {
        // G.107 Annex B / Figure B.1 reference points.
        assert!(close(mos_from_r(93.2), 4.41, 0.005), "{}", mos_from_r(93.2));
        assert!(close(mos_from_r(90.0), 4.34, 0.005), "{}", mos_from_r(90.0));
        assert!(close(mos_from_r(80.0), 4.02, 0.005), "{}", mos_from_r(80.0));
        assert!(close(mos_from_r(70.0), 3.60, 0.005), "{}", mos_from_r(70.0));
        assert!(close(mos_from_r(60.0), 3.10, 0.005), "{}", mos_from_r(60.0));
        assert!(close(mos_from_r(50.0), 2.58, 0.005), "{}", mos_from_r(50.0));
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
    }

    #[test]
    fn delay_impairment_values() {
        assert_eq!(delay_impairment(50.0), 0.0);
        assert_eq!(delay_impairment(100.0), 0.0);
        assert!(
            close(delay_impairment(150.0), 0.16, 0.01),
            "{}",
            delay_impairment(150.0)
        );
        assert!(
            close(delay_impairment(300.0), 14.75, 0.05),
            "{}",
            delay_impairment(300.0)
        );
        assert!(
            close(delay_impairment(400.0), 24.07, 0.01),
            "{}",
            delay_impairment(400.0)
        );
        assert!(delay_impairment(600.0) > delay_impairment(400.0));
    }

    #[test]
    fn loss_impairment_values() {
        let g = CodecImpairment::G711;
        assert_eq!(effective_equipment_impairment(g, 0.0, 1.0), 0.0);
        // 1 % random loss, Bpl 4.3: 95 × 1 / 5.3 = 17.9.
        assert!(close(
            effective_equipment_impairment(g, 1.0, 1.0),
            17.92,
            0.01
        ));
        // With PLC (Bpl 25.1): 95 × 1 / 26.1 = 3.64.
        assert!(close(
            effective_equipment_impairment(CodecImpairment::G711_PLC, 1.0, 1.0),
            3.64,
            0.01
        ));
        // Bursty loss hurts more.
        assert!(
            effective_equipment_impairment(g, 2.0, 2.0)
                > effective_equipment_impairment(g, 2.0, 1.0)
        );
        assert!(close(
            effective_equipment_impairment(g, 100.0, 1.0),
            91.08,
            0.01
        ));
    }

    #[test]
    fn end_to_end_estimates() {
        let perfect = r_factor(CodecImpairment::G711, 0.0, 0.0, 1.0);
        assert_eq!(perfect, 93.2);
        assert!(close(mos_from_r(perfect), 4.41, 0.005));
        // A typical good VoIP call: 80 ms, no loss → still 4.41.
        assert!(close(
            mos_from_r(r_factor(CodecImpairment::G711, 80.0, 0.0, 1.0)),
            4.41,
            0.005
        ));
        // G.711, 150 ms, 1 % loss: R = 93.2 − 0.16 − 17.9 = 75.1, MOS ≈ 3.8.
        let r = r_factor(CodecImpairment::G711, 150.0, 1.0, 1.0);
        assert!(close(r, 75.1, 0.1), "{r}");
        assert!(close(mos_from_r(r), 3.82, 0.02), "{}", mos_from_r(r));
        // Opus degrades more gracefully under the same 3 % loss.
        let opus = mos_from_r(r_factor(CodecImpairment::OPUS, 100.0, 3.0, 1.0));
        let g711 = mos_from_r(r_factor(CodecImpairment::G711, 100.0, 3.0, 1.0));
        assert!(opus > g711 + 0.5, "opus {opus} g711 {g711}");
        assert!(close(
            mouth_to_ear_ms(60.0, 40.0, 20.0, AudioCodec::Opus, 20.0),
            116.5,
            1e-9
        ));
        assert!(r_factor(CodecImpairment::OPUS, f64::NAN, f64::INFINITY, f64::NAN).is_finite());
    }
}
