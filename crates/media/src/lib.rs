//! # homeline-media — the sans-IO media plane
//!
//! Everything between "the SIP layer has an SDP body" and "the audio device wants 20 ms of
//! PCM", with no sockets, threads, locks, async or clock inside: time is always an argument
//! (`now: Instant`), randomness comes from a seed the caller passes, and output is drained
//! from queues. The runtime (`homeline-phone`) owns the sockets, the audio devices and the
//! timer; tests drive the same code on simulated time.
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`sdp`] | SDP model, parser, serializer; offer/answer; `a=crypto` | RFC 8866, 3264, 4568 |
//! | [`rtp`], [`rtcp`] | packets, compound RTCP, demultiplexing | RFC 3550, 5761, 7983 |
//! | [`session`] | the RTP session: sender, receiver stats, RTCP, latching, DTMF, dead air | RFC 3550, 4961, 4733 |
//! | [`dtmf`] | telephone-event payloads, sender and deduplicating receiver | RFC 4733 |
//! | [`codec`], [`g711`] | the codec trait; G.711 µ-law/A-law with PLC | ITU-T G.711 |
//! | `opus` (feature `opus`) | Opus via libopus: FEC, PLC, DTX | RFC 6716, 7587 |
//! | `srtp` (feature `srtp`, default) | SDES-SRTP via webrtc-rs `rtc-srtp` | RFC 3711, 4568 |
//! | [`jitter`] | adaptive jitter buffer | — |
//! | [`emodel`], [`stats`] | E-model MOS, call quality summary | ITU-T G.107 |
//!
//! ## A call's media, end to end
//!
//! ```text
//! let offer = sdp::build_offer(&local);                       // → SIP INVITE body
//! let n = sdp::process_answer(&local, &offer, &answer)?;      // ← 200 OK body
//! let mut rtp = RtpSession::new(now, SessionConfig::from_negotiated(&n, seed, ntp_now, cname));
//! let mut jb = JitterBuffer::new(JitterConfig::new(n.clock_rate));
//!
//! loop {
//!     // 1. feed inputs, each with the current time
//!     on datagram(from, bytes)  => rtp.handle_datagram(now, from, &bytes)?,   // errors: log, go on
//!     on captured 20 ms frame   => { codec.encode(&pcm, &mut buf)?; rtp.send_audio(now, &buf, n) }
//!     on output needs a frame   => match jb.pop(now) {
//!         Playout::Frame { payload, .. }     => codec.decode(&payload, &mut pcm)?,
//!         Playout::Fec { next_payload, .. }  => if !codec.decode_fec(&next_payload, n, &mut pcm)? {
//!                                                   codec.conceal(n, &mut pcm)? },
//!         Playout::Missing { .. }            => codec.conceal(n, &mut pcm)?,
//!         Playout::Silence { .. }            => pcm.fill(0),
//!     },
//!     on timer                  => rtp.handle_timeout(now),
//!     // 2. drain until empty
//!     while let Some(t) = rtp.poll_transmit() { socket.send_to(&t.contents, t.destination) }
//!     while let Some(e) = rtp.poll_event() {
//!         match e { SessionEvent::Media { packet, arrival } => jb.push(arrival, packet.ssrc,
//!                       packet.sequence, packet.timestamp, &packet.payload),
//!                   other => report(other) }          // DTMF, latching, dead air, BYE
//!     }
//!     // 3. sleep until the next timeout (or the next input)
//!     sleep_until(rtp.poll_timeout());
//! }
//! ```
//!
//! Remote input never panics: every parser returns a typed error (see [`Error`]) and the
//! parsers are exercised with deterministic mutation tests.
#![forbid(unsafe_code)]

pub mod codec;
pub mod dtmf;
pub mod emodel;
pub mod g711;
pub mod jitter;
#[cfg(feature = "opus")]
pub mod opus;
pub mod rng;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod session;
#[cfg(feature = "srtp")]
pub mod srtp;
pub mod stats;

/// Every error of this crate, one variant per module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sdp(#[from] sdp::SdpError),
    #[error(transparent)]
    OfferAnswer(#[from] sdp::OfferAnswerError),
    #[error(transparent)]
    Crypto(#[from] sdp::CryptoError),
    #[error(transparent)]
    Rtp(#[from] rtp::RtpError),
    #[error(transparent)]
    Rtcp(#[from] rtcp::RtcpError),
    #[error(transparent)]
    Dtmf(#[from] dtmf::DtmfError),
    #[error(transparent)]
    Session(#[from] session::SessionError),
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
    #[cfg(feature = "srtp")]
    #[error(transparent)]
    Srtp(#[from] srtp::SrtpError),
}
