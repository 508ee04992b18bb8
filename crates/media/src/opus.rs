//! Opus (RFC 6716) through the `opus` crate (libopus, built from source by `opusic-sys`),
//! behind the `opus` cargo feature.
//!
//! Mono speech (the SDP still says `opus/48000/2`, RFC 7587 §7: the receiver decodes
//! whatever it gets), 20 ms frames, VoIP application. In-band FEC is enabled when the peer
//! asked for it (`useinbandfec=1`) and the encoder is told to expect some loss so it actually
//! spends bits on it; DTX when the peer prefers it. The decoder provides PLC (`decode` of an
//! empty packet) and FEC recovery (`decode` of the next packet with `decode_fec`).

use crate::codec::{Codec, CodecError};
use crate::sdp::AudioCodec;

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct OpusConfig {
    /// Bits per second (RFC 7587 §3.1.1 suggests 8-40 kbit/s for speech).
    pub bitrate: i32,
    /// Send in-band FEC (set from the peer's `useinbandfec=1`).
    pub fec: bool,
    /// Expected loss the encoder protects against with FEC, percent.
    pub expected_loss_pct: i32,
    /// Discontinuous transmission (set from the peer's `usedtx=1`).
    pub dtx: bool,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig {
            bitrate: 32_000,
            fec: true,
            expected_loss_pct: 10,
            dtx: false,
        }
    }
}

fn lib(e: opus::Error) -> CodecError {
    CodecError::Library(e.to_string())
}

/// An Opus encoder/decoder pair at a PCM rate of 8, 12, 16, 24 or 48 kHz.
#[derive(Debug)]
pub struct OpusCodec {
    enc: opus::Encoder,
    dec: opus::Decoder,
    rate: u32,
    out: Vec<u8>,
    pcm: Vec<i16>,
}

/// The longest Opus frame: 120 ms (RFC 6716 §2.1.4).
const MAX_FRAME_MS: usize = 120;

impl OpusCodec {
    pub fn new(sample_rate: u32, cfg: &OpusConfig) -> Result<Self, CodecError> {
        let mut enc =
            opus::Encoder::new(sample_rate, opus::Channels::Mono, opus::Application::Voip)
                .map_err(lib)?;
        enc.set_bitrate(opus::Bitrate::Bits(cfg.bitrate))
            .map_err(lib)?;
        enc.set_inband_fec(cfg.fec).map_err(lib)?;
        enc.set_packet_loss_perc(if cfg.fec {
            cfg.expected_loss_pct.clamp(0, 100)
        } else {
            0
        })
        .map_err(lib)?;
        enc.set_dtx(cfg.dtx).map_err(lib)?;
        let dec = opus::Decoder::new(sample_rate, opus::Channels::Mono).map_err(lib)?;
        Ok(OpusCodec {
            enc,
            dec,
            rate: sample_rate,
            out: vec![0; 1500],
            pcm: vec![0; sample_rate as usize * MAX_FRAME_MS / 1000],
        })
    }

    fn max_samples(&self) -> usize {
        self.pcm.len()
    }
}

impl Codec for OpusCodec {
    fn kind(&self) -> AudioCodec {
        AudioCodec::Opus
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        // Opus frames are 2.5, 5, 10, 20, 40 or 60 ms.
        let per_2_5ms = self.rate as usize / 400;
        let ok = [1, 2, 4, 8, 16, 24]
            .iter()
            .any(|m| pcm.len() == m * per_2_5ms);
        if !ok {
            return Err(CodecError::BadFrame {
                got: pcm.len(),
                multiple: per_2_5ms,
            });
        }
        let n = self.enc.encode(pcm, &mut self.out).map_err(lib)?;
        out.extend_from_slice(&self.out[..n]);
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::BadPayload(0));
        }
        let max = self.max_samples();
        let n = self
            .dec
            .decode(payload, &mut self.pcm[..max], false)
            .map_err(|_| CodecError::BadPayload(payload.len()))?;
        out.extend_from_slice(&self.pcm[..n]);
        Ok(n)
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError> {
        let n = samples.min(self.max_samples());
        let got = self
            .dec
            .decode(&[], &mut self.pcm[..n], false)
            .map_err(lib)?;
        out.extend_from_slice(&self.pcm[..got]);
        // PLC may return less than asked: pad so the timeline stays exact.
        out.extend(std::iter::repeat_n(0, samples - got.min(samples)));
        Ok(())
    }

    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<bool, CodecError> {
        if next_payload.is_empty() {
            return Ok(false);
        }
        // The output size tells libopus the duration of the lost frame.
        let n = samples.min(self.max_samples());
        let got = self
            .dec
            .decode(next_payload, &mut self.pcm[..n], true)
            .map_err(|_| CodecError::BadPayload(next_payload.len()))?;
        out.extend_from_slice(&self.pcm[..got]);
        out.extend(std::iter::repeat_n(0, samples - got.min(samples)));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, rate: f64, phase0: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + phase0) as f64 / rate;
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    + 3000.0 * (2.0 * std::f64::consts::PI * 1250.0 * t).sin())
                    as i16
            })
            .collect()
    }

    fn snr_db(reference: &[i16], got: &[i16]) -> f64 {
        // Opus has a fixed algorithmic delay; find it by cross-correlation, then compare.
        let best = (0..400usize)
            .max_by_key(|&d| {
                reference[..reference.len() - 400]
                    .iter()
                    .zip(&got[d..])
                    .map(|(&a, &b)| a as i64 * b as i64)
                    .sum::<i64>()
            })
            .unwrap_or(0);
        let (mut s, mut e) = (0.0, 0.0);
        for (&a, &b) in reference[..reference.len() - 400].iter().zip(&got[best..]) {
            s += (a as f64).powi(2);
            e += (a as f64 - b as f64).powi(2);
        }
        10.0 * (s / e.max(1.0)).log10()
    }

    #[test]
    fn round_trip_plc_and_fec() {
        let rate = 48_000;
        let frame = 960;
        let mut c = OpusCodec::new(rate, &OpusConfig::default()).unwrap();
        assert_eq!(c.rtp_units_per_sample(), 1);
        let input = tone(frame * 100, rate as f64, 0);
        let mut packets = Vec::new();
        for f in input.chunks(frame) {
            let mut p = Vec::new();
            c.encode(f, &mut p).unwrap();
            assert!(!p.is_empty() && p.len() < 400);
            packets.push(p);
        }
        let mut clean = Vec::new();
        let mut dec = OpusCodec::new(rate, &OpusConfig::default()).unwrap();
        for p in &packets {
            assert_eq!(dec.decode(p, &mut clean).unwrap(), frame);
        }
        let clean_snr = snr_db(&input, &clean);
        assert!(clean_snr > 10.0, "clean SNR {clean_snr:.1} dB");

        // Every 10th packet lost: FEC from the next packet beats plain PLC.
        let mut with_fec = Vec::new();
        let mut with_plc = Vec::new();
        let mut d1 = OpusCodec::new(rate, &OpusConfig::default()).unwrap();
        let mut d2 = OpusCodec::new(rate, &OpusConfig::default()).unwrap();
        for (i, p) in packets.iter().enumerate() {
            if i % 10 == 5 {
                assert!(
                    d1.decode_fec(&packets[i + 1], frame, &mut with_fec)
                        .unwrap()
                );
                d2.conceal(frame, &mut with_plc).unwrap();
            } else {
                d1.decode(p, &mut with_fec).unwrap();
                d2.decode(p, &mut with_plc).unwrap();
            }
        }
        assert_eq!(with_fec.len(), input.len());
        assert_eq!(with_plc.len(), input.len());
        let fec_snr = snr_db(&input, &with_fec);
        let plc_snr = snr_db(&input, &with_plc);
        println!("clean {clean_snr:.1} dB, FEC {fec_snr:.1} dB, PLC {plc_snr:.1} dB");
        assert!(
            fec_snr > plc_snr,
            "FEC {fec_snr:.1} dB vs PLC {plc_snr:.1} dB"
        );

        assert!(matches!(
            c.encode(&[0; 100], &mut Vec::new()),
            Err(CodecError::BadFrame { .. })
        ));
        let _ = dec.decode(&[0xff; 3], &mut Vec::new()); // may or may not decode; must not panic
        assert!(dec.decode(&[], &mut Vec::new()).is_err());
    }

    #[test]
    fn garbage_payloads_do_not_panic() {
        let mut d = OpusCodec::new(16_000, &OpusConfig::default()).unwrap();
        assert_eq!(d.rtp_units_per_sample(), 3);
        let mut r = crate::rng::SplitMix64::new(3);
        let mut out = Vec::new();
        for len in 0..3000usize {
            let p: Vec<u8> = (0..len % 300).map(|_| r.next_u32() as u8).collect();
            let _ = d.decode(&p, &mut out);
            let _ = d.decode_fec(&p, 320, &mut out);
            out.clear();
        }
    }
}
