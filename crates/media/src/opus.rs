//! Opus (RFC 6716) through the `opus` crate (libopus, built from source by `opusic-sys`),
//! behind the `opus` cargo feature.
//!
//! Mono speech (the SDP still says `opus/48000/2`, RFC 7587 §7: the receiver decodes
//! whatever it gets), 20 ms frames. The encoder settings follow what WebRTC and baresip do
//! (see [`OpusConfig`] for each value and why). The decoder provides PLC (`decode` of an empty
//! packet) and FEC recovery (`decode` of the next packet with `decode_fec`).
//!
//! **Adaptation** ([`OpusCodec::on_remote_loss`], fed from the peer's RTCP receiver reports):
//! on a clean network all the bits go to the speech and no FEC is sent (FEC at an expected
//! loss of 10 % costs a clean call about a fifth of its bitrate and libopus then also weakens
//! its inter-frame prediction); once the peer reports loss, in-band FEC protects against the
//! measured loss (smoothed, with a floor while loss persists) and the bitrate rises to pay for
//! it, as WebRTC's `AudioEncoderOpusImpl` does with its packet-loss-rate steps.

use crate::codec::{Codec, CodecError};
use crate::sdp::AudioCodec;

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct OpusConfig {
    /// Bits per second on a clean network. 40 kbit/s: the top of RFC 7587 §3.1.1's range for
    /// fullband speech, where libopus reaches its transparent quality for mono speech (PESQ-WB
    /// of a speech file through opusenc: 3.90 at 32 kbit/s, 4.28 at 48 kbit/s); baresip sends
    /// OPUS_AUTO, about 51 kbit/s at 48 kHz mono 20 ms; WebRTC starts at 32 kbit/s and raises
    /// it with its bandwidth estimate. A home uplink carries either without effort.
    pub bitrate: i32,
    /// The peer decodes in-band FEC (`useinbandfec=1`): send it while the peer reports loss.
    pub fec: bool,
    /// Loss the encoder protects against before any report arrives, percent. 0: a call
    /// starts as a clean one; the first RTCP report (within 5 s) brings the measured figure.
    pub expected_loss_pct: i32,
    /// Discontinuous transmission. Off, as in WebRTC and baresip by default: with DTX the
    /// first syllable after a pause starts from comfort noise and the far end's jitter buffer
    /// sees the silent gaps as loss; we still *offer* `usedtx=1` (we decode DTX streams).
    pub dtx: bool,
    /// 0-10; 10 as baresip (WebRTC uses 9 on desktops, 5 on phones): one mono 20 ms frame is
    /// well under a millisecond of CPU at 10, and it is worth ~0.1 PESQ at this bitrate.
    pub complexity: i32,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig {
            bitrate: 40_000,
            fec: true,
            expected_loss_pct: 0,
            dtx: false,
            complexity: 10,
        }
    }
}

/// Bitrate at 10 % loss or more: FEC then carries roughly a second copy at low rate, so the
/// total rises (WebRTC raises its target with the loss steps likewise).
const LOSSY_BITRATE: i32 = 48_000;

fn lib(e: opus::Error) -> CodecError {
    CodecError::Library(e.to_string())
}

/// An Opus encoder/decoder pair at a PCM rate of 8, 12, 16, 24 or 48 kHz.
#[derive(Debug)]
pub struct OpusCodec {
    enc: opus::Encoder,
    cfg: OpusConfig,
    /// Smoothed loss the peer reports, percent.
    loss_pct: f64,
    /// The loss step the encoder is set to (0, 1, 3, 5, 10, 20 %).
    loss_step: i32,
    dec: opus::Decoder,
    rate: u32,
    out: Vec<u8>,
    pcm: Vec<i16>,
}

/// The longest Opus frame: 120 ms (RFC 6716 §2.1.4).
const MAX_FRAME_MS: usize = 120;

impl OpusCodec {
    pub fn new(sample_rate: u32, cfg: &OpusConfig) -> Result<Self, CodecError> {
        // VoIP application: speech-tuned (high-pass, SILK/hybrid preferred), as WebRTC and
        // baresip. Bandwidth: the widest the PCM rate allows (fullband at 48 kHz); libopus
        // narrows it by itself when the bitrate is low.
        let mut enc =
            opus::Encoder::new(sample_rate, opus::Channels::Mono, opus::Application::Voip)
                .map_err(lib)?;
        enc.set_complexity(cfg.complexity.clamp(0, 10))
            .map_err(lib)?;
        enc.set_max_bandwidth(opus::Bandwidth::Fullband)
            .map_err(lib)?;
        enc.set_signal(opus::Signal::Voice).map_err(lib)?;
        // Variable bitrate (libopus's default, and WebRTC's): bits go where the speech is.
        enc.set_vbr(true).map_err(lib)?;
        enc.set_dtx(cfg.dtx).map_err(lib)?;
        let dec = opus::Decoder::new(sample_rate, opus::Channels::Mono).map_err(lib)?;
        let mut codec = OpusCodec {
            enc,
            cfg: cfg.clone(),
            loss_pct: f64::from(cfg.expected_loss_pct.clamp(0, 100)),
            loss_step: -1,
            dec,
            rate: sample_rate,
            out: vec![0; 1500],
            pcm: vec![0; sample_rate as usize * MAX_FRAME_MS / 1000],
        };
        codec.apply_loss()?;
        Ok(codec)
    }

    /// The loss step for a smoothed loss: a few fixed steps with hysteresis (up at the step,
    /// down only below 80 % of it), so one report does not flip the encoder back and forth.
    fn step_for(loss_pct: f64, current: i32) -> i32 {
        const STEPS: [i32; 6] = [0, 1, 3, 5, 10, 20];
        let mut step = 0;
        for s in STEPS {
            let up = f64::from(s);
            let down = 0.8 * up;
            if loss_pct >= up || (s <= current && loss_pct >= down && s > 0) {
                step = s;
            }
        }
        step
    }

    /// Sets FEC, the loss to protect against and the bitrate for the current loss.
    fn apply_loss(&mut self) -> Result<(), CodecError> {
        let step = Self::step_for(self.loss_pct, self.loss_step);
        if step == self.loss_step {
            return Ok(());
        }
        self.loss_step = step;
        let fec = self.cfg.fec && step > 0;
        let bitrate = match step {
            0 => self.cfg.bitrate,
            s if s >= 10 => self.cfg.bitrate.max(LOSSY_BITRATE),
            // In between: part of the way, FEC needs a few kbit/s at low loss.
            _ => self.cfg.bitrate.max((self.cfg.bitrate + LOSSY_BITRATE) / 2),
        };
        self.enc.set_inband_fec(fec).map_err(lib)?;
        self.enc
            .set_packet_loss_perc(if fec { step } else { 0 })
            .map_err(lib)?;
        self.enc
            .set_bitrate(opus::Bitrate::Bits(bitrate))
            .map_err(lib)?;
        Ok(())
    }

    /// The encoder's current (FEC on, expected loss %, bitrate) — for tests and logs.
    pub fn encoder_state(&mut self) -> Result<(bool, i32, i32), CodecError> {
        let fec = self.enc.get_inband_fec().map_err(lib)?;
        let loss = self.enc.get_packet_loss_perc().map_err(lib)?;
        let bitrate = match self.enc.get_bitrate().map_err(lib)? {
            opus::Bitrate::Bits(b) => b,
            _ => 0,
        };
        Ok((fec, loss, bitrate))
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

    fn on_remote_loss(&mut self, fraction_lost: f64) {
        if !fraction_lost.is_finite() {
            return;
        }
        let pct = (fraction_lost * 100.0).clamp(0.0, 100.0);
        // Reports come every ~5 s; a rise counts at once (protect quickly), a fall is
        // smoothed (one clean interval in a lossy call is likely luck).
        self.loss_pct = if pct > self.loss_pct {
            pct
        } else {
            0.5 * self.loss_pct + 0.5 * pct
        };
        if self.loss_pct < 0.5 {
            self.loss_pct = 0.0;
        }
        // The settings are in range by construction; a failure would leave the old ones.
        let _ = self.apply_loss();
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
        // Expecting loss from the start, so the packets carry FEC.
        let lossy = OpusConfig {
            expected_loss_pct: 10,
            ..OpusConfig::default()
        };
        let mut c = OpusCodec::new(rate, &lossy).unwrap();
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
    fn clean_calls_spend_no_bits_on_fec_and_loss_turns_it_on() {
        let mut c = OpusCodec::new(48_000, &OpusConfig::default()).unwrap();
        assert_eq!(c.encoder_state().unwrap(), (false, 0, 40_000));
        c.on_remote_loss(0.0);
        assert_eq!(c.encoder_state().unwrap(), (false, 0, 40_000));
        // 3 % reported: FEC at the 3 % step, more bits to pay for it.
        c.on_remote_loss(0.03);
        assert_eq!(c.encoder_state().unwrap(), (true, 3, 44_000));
        // 2.7 % next: within the hysteresis, nothing changes.
        c.on_remote_loss(0.027);
        assert_eq!(c.encoder_state().unwrap(), (true, 3, 44_000));
        c.on_remote_loss(0.15);
        assert_eq!(c.encoder_state().unwrap(), (true, 10, 48_000));
        // Clean reports: the smoothed loss falls step by step back to none.
        for _ in 0..12 {
            c.on_remote_loss(0.0);
        }
        assert_eq!(c.encoder_state().unwrap(), (false, 0, 40_000));
        // A peer without FEC support never gets FEC, but the steps still apply.
        let mut n = OpusCodec::new(
            48_000,
            &OpusConfig {
                fec: false,
                ..OpusConfig::default()
            },
        )
        .unwrap();
        n.on_remote_loss(0.2);
        assert_eq!(n.encoder_state().unwrap(), (false, 0, 48_000));
        n.on_remote_loss(f64::NAN);
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
