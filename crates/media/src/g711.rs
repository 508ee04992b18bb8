//! G.711 µ-law and A-law (ITU-T G.711), bit-exact with the reference algorithm (the public
//! domain Sun Microsystems `g711.c` that implements the standard's tables), and a simple
//! packet-loss concealment: the last frame repeated with a decaying gain, silence after
//! 60 ms (a lighter cousin of G.711 Appendix I).

use crate::codec::{Codec, CodecError};
use crate::sdp::AudioCodec;

const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;

fn segment(v: i32, table: &[i32; 8]) -> usize {
    table.iter().position(|&end| v <= end).unwrap_or(8)
}

/// 16-bit linear PCM → µ-law.
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    let mut v = (pcm as i32) >> 2;
    let mask = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(v, &SEG_UEND);
    if seg >= 8 {
        0x7F ^ mask
    } else {
        (((seg as i32) << 4) | ((v >> (seg + 1)) & 0xF)) as u8 ^ mask
    }
}

/// µ-law → 16-bit linear PCM.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u as i32;
    let t = (((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

/// 16-bit linear PCM → A-law.
pub fn linear_to_alaw(pcm: i16) -> u8 {
    let mut v = (pcm as i32) >> 3;
    let mask = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &SEG_AEND);
    if seg >= 8 {
        0x7F ^ mask
    } else {
        let q = if seg < 2 {
            (v >> 1) & 0xF
        } else {
            (v >> seg) & 0xF
        };
        (((seg as i32) << 4) | q) as u8 ^ mask
    }
}

/// A-law → 16-bit linear PCM.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = (a ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// G.711 in either law, 8 kHz mono, any frame size.
#[derive(Debug, Clone)]
pub struct G711 {
    law: AudioCodec,
    last: Vec<i16>,
    lost_in_row: u32,
}

impl G711 {
    /// µ-law (PCMU).
    pub fn ulaw() -> Self {
        G711 {
            law: AudioCodec::Pcmu,
            last: Vec::new(),
            lost_in_row: 0,
        }
    }
    /// A-law (PCMA).
    pub fn alaw() -> Self {
        G711 {
            law: AudioCodec::Pcma,
            ..Self::ulaw()
        }
    }
}

impl Codec for G711 {
    fn kind(&self) -> AudioCodec {
        self.law
    }

    fn sample_rate(&self) -> u32 {
        8000
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let f = if self.law == AudioCodec::Pcmu {
            linear_to_ulaw
        } else {
            linear_to_alaw
        };
        out.extend(pcm.iter().map(|&s| f(s)));
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        let f = if self.law == AudioCodec::Pcmu {
            ulaw_to_linear
        } else {
            alaw_to_linear
        };
        let start = out.len();
        out.extend(payload.iter().map(|&b| f(b)));
        self.last.clear();
        self.last.extend_from_slice(&out[start..]);
        self.lost_in_row = 0;
        Ok(payload.len())
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError> {
        self.lost_in_row += 1;
        // Gain 1, 0.5, 0.25 for the first three frames, then silence: repeating a frame for
        // longer sounds like a buzz.
        let shift = self.lost_in_row - 1;
        if self.last.is_empty() || shift >= 3 {
            out.extend(std::iter::repeat_n(0, samples));
            return Ok(());
        }
        let n = self.last.len();
        out.extend((0..samples).map(|i| self.last[i % n] >> shift));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7E);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        // The µ-law "silence" code used by many phones is 0xFF (+0) or 0x7F (-0).
        assert_eq!(ulaw_to_linear(0x7F), 0);
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            if c != 0x7F {
                assert_eq!(linear_to_ulaw(ulaw_to_linear(c)), c, "µ-law {c:#x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "A-law {c:#x}");
        }
    }

    #[test]
    fn error_is_within_half_a_step() {
        // Quantization error is bounded by half the segment step: 1/32 of the magnitude
        // at the lower edge of a segment, plus a small floor near zero.
        for x in i16::MIN..=i16::MAX {
            let m = (x as i32).abs();
            let u = (ulaw_to_linear(linear_to_ulaw(x)) as i32 - x as i32).abs();
            let a = (alaw_to_linear(linear_to_alaw(x)) as i32 - x as i32).abs();
            if m < 32_000 {
                assert!(u <= m / 30 + 8, "µ-law x={x} err={u}");
                assert!(a <= m / 30 + 16, "A-law x={x} err={a}");
            }
        }
    }

    #[test]
    fn sine_snr_is_about_38_db() {
        let pcm: Vec<i16> = (0..8000)
            .map(|i| {
                (10_000.0 * (i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin()) as i16
            })
            .collect();
        for mut c in [G711::ulaw(), G711::alaw()] {
            let mut enc = Vec::new();
            c.encode(&pcm, &mut enc).unwrap();
            assert_eq!(enc.len(), pcm.len());
            let mut dec = Vec::new();
            assert_eq!(c.decode(&enc, &mut dec).unwrap(), pcm.len());
            let sig: f64 = pcm.iter().map(|&s| (s as f64).powi(2)).sum();
            let noise: f64 = pcm
                .iter()
                .zip(&dec)
                .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                .sum();
            let snr = 10.0 * (sig / noise).log10();
            assert!(
                (35.0..45.0).contains(&snr),
                "{:?} SNR {snr:.1} dB",
                c.kind()
            );
        }
    }

    #[test]
    fn concealment_fades_out() {
        let mut c = G711::ulaw();
        let mut out = Vec::new();
        c.decode(&[linear_to_ulaw(8000); 160], &mut out).unwrap();
        let level = |v: &[i16]| v.iter().map(|&s| (s as i32).abs()).max().unwrap_or(0);
        let mut f = Vec::new();
        let mut levels = Vec::new();
        for _ in 0..4 {
            f.clear();
            c.conceal(160, &mut f).unwrap();
            assert_eq!(f.len(), 160);
            levels.push(level(&f));
        }
        assert_eq!(levels[0], level(&out));
        assert!(levels[1] < levels[0] && levels[2] < levels[1]);
        assert_eq!(levels[3], 0);
        assert!(!c.decode_fec(&[0; 160], 160, &mut f).unwrap());
    }
}
