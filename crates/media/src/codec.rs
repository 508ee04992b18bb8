//! The codec interface the media pipeline uses, so G.711 ([`crate::g711`]) and Opus (through
//! the `opus` crate, plugged in by the runtime) are interchangeable.
//!
//! A codec works on frames of interleaved 16-bit PCM at its own [`Codec::sample_rate`]
//! (resampling to and from the device rate happens outside). Loss is handled by the jitter
//! buffer calling [`Codec::decode_fec`] when the next packet is there and the codec can
//! recover the lost frame from it (Opus in-band FEC, RFC 6716 §2.1.7), else
//! [`Codec::conceal`] (packet-loss concealment).

use crate::sdp::AudioCodec;

/// Why a frame could not be coded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("PCM frame of {got} samples, the codec expects a multiple of {multiple}")]
    BadFrame { got: usize, multiple: usize },
    #[error("payload of {0} bytes cannot be decoded")]
    BadPayload(usize),
    #[error("codec library error: {0}")]
    Library(String),
}

/// An audio codec instance (one per direction and call: codecs keep state).
pub trait Codec: Send + std::fmt::Debug {
    /// Which SDP codec this is.
    fn kind(&self) -> AudioCodec;
    /// PCM sample rate of `encode` input and `decode` output.
    fn sample_rate(&self) -> u32;
    /// PCM channels (interleaved).
    fn channels(&self) -> u8 {
        1
    }
    /// RTP timestamp units per PCM sample frame (6 for Opus at 8 kHz PCM: RTP runs at 48 kHz).
    fn rtp_units_per_sample(&self) -> u32 {
        self.kind().clock_rate() / self.sample_rate()
    }
    /// Encodes one frame (typically 20 ms) of PCM, appending the payload to `out`.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Decodes one payload, appending PCM to `out`; returns the samples appended.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError>;
    /// Produces `samples` of concealment for a lost frame (PLC), appending to `out`.
    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError>;
    /// Recovers the frame *before* `next_payload` from its redundancy (Opus in-band FEC).
    /// Returns `Ok(false)` when the codec or the packet carries none; the caller then
    /// conceals.
    fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<bool, CodecError> {
        let _ = (next_payload, samples, out);
        Ok(false)
    }
    /// What the peer's RTCP receiver reports say about our stream: the fraction of our
    /// packets lost (0.0-1.0, RFC 3550 §6.4.1). An adaptive encoder (Opus) tunes its bitrate
    /// and in-band FEC to it; others ignore it.
    fn on_remote_loss(&mut self, fraction_lost: f64) {
        let _ = fraction_lost;
    }
}
